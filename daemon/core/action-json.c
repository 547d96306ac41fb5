/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/action-json.h"
#include "shared/macro.h"

int char_buffer_reserve(CharBuffer *b, size_t extra) {
        size_t need = b->len + extra;
        char *d;

        if (need <= b->size)
                return 0;
        need = MAX(need, MAX(b->size * 2, (size_t) 4096));
        d = realloc(b->data, need);
        if (!d)
                return -ENOMEM;
        b->data = d;
        b->size = need;
        return 0;
}

void char_buffer_done(CharBuffer *b) {
        free(b->data);
        *b = (CharBuffer) {};
}

/* Callers reserve first; these only write. */
static inline void put(CharBuffer *b, const char *s, size_t n) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
}
#define PUT_LITERAL(b, s) put((b), (s), sizeof(s) - 1)

static inline void put_u64(CharBuffer *b, uint64_t v) {
        char tmp[20];
        size_t n = 0;

        do {
                tmp[n++] = (char) ('0' + v % 10);
                v /= 10;
        } while (v);
        while (n)
                b->data[b->len++] = tmp[--n];
}

static inline void put_i64(CharBuffer *b, int64_t v) {
        if (v < 0) {
                b->data[b->len++] = '-';
                put_u64(b, (uint64_t) 0 - (uint64_t) v);
        } else
                put_u64(b, (uint64_t) v);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_valid_len(const unsigned char *s, size_t n) {
        unsigned char c = s[0];

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
        if (c >= 0xe0 && c <= 0xef) {
                if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
                        return 0;
                if (c == 0xe0 && s[1] < 0xa0)
                        return 0;       /* overlong */
                if (c == 0xed && s[1] >= 0xa0)
                        return 0;       /* surrogates */
                return 3;
        }
        if (c >= 0xf0 && c <= 0xf4) {
                if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
                        return 0;
                if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
                        return 0;
                return 4;
        }
        return 0;
}

static bool byte_plain(unsigned char c) {
        return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* How many bytes at s need no escaping: printable ASCII other than '"' and
 * '\\'. Eight bytes at a time: each test sets a byte's top bit exactly when
 * some byte of the word matches (bytes >= 0x80 have theirs set already). */
static size_t plain_prefix(const unsigned char *s, size_t n) {
        const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
        size_t i = 0;

        for (; i + 8 <= n; i += 8) {
                uint64_t x, q, bs;
                memcpy(&x, s + i, 8);
                q = x ^ (ones * '"');
                bs = x ^ (ones * '\\');
                if (((x - ones * 0x20) | x | ((q - ones) & ~q) | ((bs - ones) & ~bs)) & high)
                        break;
        }
        while (i < n && byte_plain(s[i]))
                i++;
        return i;
}

int json_append_string(CharBuffer *b, const char *s, size_t n) {
        static const char hex[] = "0123456789abcdef";
        const unsigned char *u = (const unsigned char *) s;
        int r;

        /* Worst case: every byte becomes \udcXX. */
        r = char_buffer_reserve(b, n * 6 + 2);
        if (r < 0)
                return r;

        b->data[b->len++] = '"';
        for (size_t i = 0; i < n; ) {
                size_t j = i + plain_prefix(u + i, n - i);
                unsigned char c;

                /* Runs that need no escaping (almost every path and comm)
                 * are copied in one piece. */
                if (j > i) {
                        put(b, s + i, j - i);
                        i = j;
                        if (i == n)
                                break;
                }
                c = u[i];
                if (c == '"' || c == '\\') {
                        b->data[b->len++] = '\\';
                        b->data[b->len++] = (char) c;
                        i++;
                } else if (c < 0x20) {
                        PUT_LITERAL(b, "\\u00");
                        b->data[b->len++] = hex[c >> 4];
                        b->data[b->len++] = hex[c & 15];
                        i++;
                } else {
                        size_t l = utf8_valid_len(u + i, n - i);
                        if (l > 0) {
                                put(b, s + i, l);
                                i += l;
                        } else {
                                PUT_LITERAL(b, "\\udc");
                                b->data[b->len++] = hex[c >> 4];
                                b->data[b->len++] = hex[c & 15];
                                i++;
                        }
                }
        }
        b->data[b->len++] = '"';
        return 0;
}

static bool op_has_fd(ActionOp op) {
        switch (op) {
        case ACTION_OPEN: case ACTION_OPENDIR: case ACTION_READ: case ACTION_WRITE:
        case ACTION_PREAD: case ACTION_PWRITE: case ACTION_READV: case ACTION_WRITEV:
        case ACTION_PREADV: case ACTION_PWRITEV: case ACTION_LSEEK: case ACTION_CLOSE:
        case ACTION_MMAP:
                return true;
        default:
                return false;
        }
}

static bool op_has_transfer(ActionOp op) {
        switch (op) {
        case ACTION_READ: case ACTION_WRITE: case ACTION_PREAD: case ACTION_PWRITE:
        case ACTION_READV: case ACTION_WRITEV: case ACTION_PREADV: case ACTION_PWRITEV:
                return true;
        default:
                return false;
        }
}

static bool op_has_path(ActionOp op) {
        switch (op) {
        case ACTION_DUP: case ACTION_EXEC: case ACTION_RENAME: case ACTION_UNLINK:
        case ACTION_RMDIR: case ACTION_MKDIR: case ACTION_TRUNCATE:
                return true;
        default:
                return op_has_fd(op);
        }
}

/* A path value: plain, or through the pseudonymizer; null when unknown. */
static int put_path(CharBuffer *b, const char *key, size_t key_len, const char *path, size_t len,
                    Pseudonymizer *p) {
        int r;

        r = char_buffer_reserve(b, key_len + 8);
        if (r < 0)
                return r;
        put(b, key, key_len);
        if (!path) {
                PUT_LITERAL(b, "null");
                return 0;
        }
        if (p) {
                path = pseudonymizer_path(p, path, len, &len);
                if (!path)
                        return -ENOMEM;
        }
        r = json_append_string(b, path, len);
        if (r < 0)
                return r;
        return char_buffer_reserve(b, 512);
}
#define PUT_PATH(b, key, path, len, p) put_path((b), (key), sizeof(key) - 1, (path), (len), (p))

int action_json_append(CharBuffer *b, const Action *a, Pseudonymizer *p) {
        const char *op = action_op_to_string(a->op);
        int r;

        if (!op)
                return -EINVAL;

        /* Everything but the strings fits in 512 bytes. */
        r = char_buffer_reserve(b, 512);
        if (r < 0)
                return r;

        PUT_LITERAL(b, "{\"op\":\"");
        put(b, op, strlen(op));
        PUT_LITERAL(b, "\",\"time\":\"");
        put_u64(b, a->sec);
        b->data[b->len++] = '.';
        b->data[b->len++] = (char) ('0' + a->msec / 100 % 10);
        b->data[b->len++] = (char) ('0' + a->msec / 10 % 10);
        b->data[b->len++] = (char) ('0' + a->msec % 10);
        PUT_LITERAL(b, "\",\"serial\":");
        put_u64(b, a->serial);

        if (a->op == ACTION_GAP) {
                PUT_LITERAL(b, ",\"lost\":");
                if (a->lost_known)
                        put_u64(b, a->lost);
                else
                        PUT_LITERAL(b, "null");
                PUT_LITERAL(b, ",\"reason\":");
                r = json_append_string(b, a->reason ?: "unknown", strlen(a->reason ?: "unknown"));
                if (r < 0)
                        return r;
                r = char_buffer_reserve(b, 1);
                if (r < 0)
                        return r;
                b->data[b->len++] = '}';
                return 0;
        }

        PUT_LITERAL(b, ",\"pid\":");
        put_u64(b, a->pid);

        if (a->node) {
                PUT_LITERAL(b, ",\"node\":");
                r = json_append_string(b, a->node, strlen(a->node));
                if (r < 0)
                        return r;
                r = char_buffer_reserve(b, 512);
                if (r < 0)
                        return r;
        }

        if (op_has_path(a->op)) {
                r = PUT_PATH(b, ",\"path\":", a->path, a->path_len, p);
                if (r < 0)
                        return r;
        }
        if (a->op == ACTION_RENAME) {
                r = PUT_PATH(b, ",\"new_path\":", a->new_path, a->new_path_len, p);
                if (r < 0)
                        return r;
                if (a->exchange)
                        PUT_LITERAL(b, ",\"exchange\":true");
        }
        if (a->op == ACTION_EXEC && a->exe) {
                r = PUT_PATH(b, ",\"exe\":", a->exe, a->exe_len, p);
                if (r < 0)
                        return r;
        }

        if (op_has_fd(a->op) || (a->op == ACTION_TRUNCATE && a->fd >= 0)) {
                PUT_LITERAL(b, ",\"fd\":");
                put_i64(b, a->fd);
        }
        if (op_has_transfer(a->op) || a->op == ACTION_LSEEK || a->op == ACTION_MMAP) {
                PUT_LITERAL(b, ",\"offset\":");
                if (a->offset == OFFSET_UNKNOWN)
                        PUT_LITERAL(b, "null");
                else
                        put_i64(b, a->offset);
        }
        if (op_has_transfer(a->op) || a->op == ACTION_MMAP) {
                PUT_LITERAL(b, ",\"bytes\":");
                if (a->op == ACTION_MMAP && a->bytes < 0)
                        PUT_LITERAL(b, "null");
                else
                        put_i64(b, a->bytes);
        }
        if (a->via && op_has_transfer(a->op)) {
                PUT_LITERAL(b, ",\"via\":");
                r = json_append_string(b, a->via, strlen(a->via));
                if (r < 0)
                        return r;
                r = char_buffer_reserve(b, 512);
                if (r < 0)
                        return r;
        }
        if (a->op == ACTION_TRUNCATE) {
                PUT_LITERAL(b, ",\"size\":");
                if (a->size == OFFSET_UNKNOWN)
                        PUT_LITERAL(b, "null");
                else
                        put_i64(b, a->size);
        }
        if (a->op == ACTION_MMAP && a->prot >= 0) {
                PUT_LITERAL(b, ",\"prot\":");
                put_i64(b, a->prot);
        }
        if (a->op == ACTION_DUP) {
                PUT_LITERAL(b, ",\"old_fd\":");
                put_i64(b, a->old_fd);
                PUT_LITERAL(b, ",\"new_fd\":");
                put_i64(b, a->new_fd);
        }
        if (a->op == ACTION_FORK) {
                PUT_LITERAL(b, ",\"child\":");
                put_u64(b, a->child);
        }
        if (a->flags >= 0) {
                PUT_LITERAL(b, ",\"flags\":");
                put_i64(b, a->flags);
        }
        if (a->has_ids) {
                PUT_LITERAL(b, ",\"ppid\":");
                put_u64(b, a->ppid);
                PUT_LITERAL(b, ",\"auid\":");
                put_u64(b, a->auid);
                PUT_LITERAL(b, ",\"uid\":");
                put_u64(b, a->uid);
                if (a->comm) {
                        PUT_LITERAL(b, ",\"comm\":");
                        r = json_append_string(b, a->comm, strlen(a->comm));
                        if (r < 0)
                                return r;
                }
        }
        r = char_buffer_reserve(b, 1);
        if (r < 0)
                return r;
        b->data[b->len++] = '}';
        return 0;
}
