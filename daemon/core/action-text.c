/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/action-text.h"
#include "shared/macro.h"

#define COMM_WIDTH 16

static int put(CharBuffer *b, const char *s, size_t n) {
        int r = char_buffer_reserve(b, n);
        if (r < 0)
                return r;
        memcpy(b->data + b->len, s, n);
        b->len += n;
        return 0;
}

_printf_(2, 3)
static int putf(CharBuffer *b, const char *fmt, ...) {
        char tmp[256];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        return put(b, tmp, MIN((size_t) n, sizeof(tmp) - 1));
}

/* Printable as it is; everything else as \xNN, so that a name can neither
 * move the cursor nor break the line. */
static int put_name(CharBuffer *b, const char *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                int r = c >= 0x20 && c != 0x7f && c != '\\' ? put(b, s + i, 1) : putf(b, "\\x%02x", c);
                if (r < 0)
                        return r;
        }
        return 0;
}

static size_t name_width(const char *s, size_t n) {
        size_t w = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                w += c >= 0x20 && c != 0x7f && c != '\\' ? 1 : 4;
        }
        return w;
}

static int pad(CharBuffer *b, size_t have, size_t want) {
        int r = 0;
        for (size_t i = have; i < want && r >= 0; i++)
                r = put(b, " ", 1);
        return r;
}

/* The path, shortened from the left at a '/' so that the file's name and
 * its nearest directories stay: "/usr/share/doc/bash/README" in 20 columns
 * is ".../doc/bash/README". */
static int put_path(CharBuffer *b, const char *p, size_t n, size_t width) {
        size_t start = 0, w;
        int r;

        if (!p)
                return pad(b, 0, width);
        w = name_width(p, n);
        if (w > width) {
                /* Cut at the first '/' that leaves the rest short enough. */
                start = n;
                for (size_t i = 0; i < n; i++)
                        if (p[i] == '/' && name_width(p + i, n - i) + 3 <= width) {
                                start = i;
                                break;
                        }
                if (start == n) {
                        /* Even the last component is too long: its end. */
                        start = n;
                        while (start > 0 && name_width(p + start - 1, n - start + 1) + 3 <= width)
                                start--;
                }
                r = put(b, "...", 3);
                if (r < 0)
                        return r;
                w = 3 + name_width(p + start, n - start);
        }
        r = put_name(b, p + start, n - start);
        if (r < 0)
                return r;
        return pad(b, w, width);
}

static int put_offset(CharBuffer *b, int64_t offset) {
        return offset == OFFSET_UNKNOWN ? put(b, "?", 1) : putf(b, "%" PRIi64, offset);
}

int action_text_append(CharBuffer *b, const Action *a, const ActionTextOptions *o) {
        size_t width = o && o->path_width ? o->path_width : ACTION_TEXT_PATH_WIDTH;
        const char *path = a->path, *op = action_op_to_string(a->op);
        size_t path_len = a->path_len, w;
        time_t t = (time_t) a->sec;
        struct tm tm;
        int r;

        if (path && o && o->pseudonymizer) {
                path = pseudonymizer_path(o->pseudonymizer, a->path, a->path_len, &path_len);
                if (!path)
                        return -ENOMEM;
        }

        if (!(o && o->utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)))
                tm = (struct tm) {};
        r = putf(b, "%02d:%02d:%02d.%03u ", tm.tm_hour, tm.tm_min, tm.tm_sec, a->msec);
        if (r < 0)
                return r;

        /* program[pid], in a column of its own */
        w = 0;
        if (a->comm) {
                size_t n = strnlen(a->comm, COMM_WIDTH);
                r = put_name(b, a->comm, n);
                w += name_width(a->comm, n);
        }
        if (r >= 0) {
                char tmp[16];
                int n = snprintf(tmp, sizeof(tmp), "[%" PRIu32 "]", a->pid);
                r = put(b, tmp, (size_t) n);
                w += (size_t) n;
        }
        if (r >= 0)
                r = pad(b, w, COMM_WIDTH + 4);
        if (r >= 0)
                r = putf(b, " %-8s ", op ?: "?");
        if (r < 0)
                return r;

        switch (a->op) {
        case ACTION_FORK:
                r = pad(b, 0, width);
                if (r >= 0)
                        r = putf(b, " child %" PRIu32, a->child);
                break;
        case ACTION_DUP:
                r = put_path(b, path, path_len, width);
                if (r >= 0)
                        r = putf(b, " fd %d -> %d", a->old_fd, a->new_fd);
                break;
        case ACTION_GAP:
                r = pad(b, 0, width);
                if (r >= 0)
                        r = a->lost_known ? putf(b, " %" PRIu64 " events lost", a->lost) : putf(b, " events lost");
                if (r >= 0 && a->reason)
                        r = putf(b, " (%s)", a->reason);
                break;
        case ACTION_READ: case ACTION_WRITE: case ACTION_PREAD: case ACTION_PWRITE:
        case ACTION_READV: case ACTION_WRITEV: case ACTION_PREADV: case ACTION_PWRITEV:
                r = put_path(b, path, path_len, width);
                if (r >= 0)
                        r = putf(b, " %" PRIi64 " B at ", a->bytes);
                if (r >= 0)
                        r = put_offset(b, a->offset);
                if (r >= 0 && a->via)
                        r = putf(b, " (%s)", a->via);
                break;
        case ACTION_MMAP:
                r = put_path(b, path, path_len, width);
                if (r >= 0 && a->bytes >= 0)
                        r = putf(b, " %" PRIi64 " B mapped", a->bytes);
                break;
        case ACTION_TRUNCATE:
                r = put_path(b, path, path_len, width);
                if (r >= 0)
                        r = a->size == OFFSET_UNKNOWN ? put(b, " to ? B", 7) : putf(b, " to %" PRIi64 " B", a->size);
                break;
        case ACTION_RENAME: {
                const char *np = a->new_path;
                size_t np_len = a->new_path_len;

                r = put_path(b, path, path_len, width);
                if (r >= 0)
                        r = put(b, a->exchange ? " <-> " : " -> ", a->exchange ? 5 : 4);
                if (r >= 0 && np && o && o->pseudonymizer) {
                        /* Only now: the old path's pseudonym is written, and
                         * the pseudonymizer may reuse its buffer. */
                        np = pseudonymizer_path(o->pseudonymizer, a->new_path, a->new_path_len, &np_len);
                        if (!np)
                                return -ENOMEM;
                }
                if (r >= 0 && np)
                        r = put_path(b, np, np_len, width);
                break;
        }
        case ACTION_LSEEK:
                r = put_path(b, path, path_len, width);
                if (r >= 0)
                        r = put(b, " to ", 4);
                if (r >= 0)
                        r = put_offset(b, a->offset);
                break;
        case ACTION_OPEN: case ACTION_OPENDIR: case ACTION_CLOSE:
                r = put_path(b, path, path_len, width);
                if (r >= 0)
                        r = putf(b, " fd %d", a->fd);
                break;
        default:
                r = put_path(b, path, path_len, width);
                break;
        }
        if (r < 0)
                return r;
        /* No trailing blanks. */
        while (b->len > 0 && b->data[b->len - 1] == ' ')
                b->len--;
        return 0;
}
