/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "shared/fileio.h"
#include "shared/macro.h"
#include "store/segment.h"

#define JSON_DEPTH_MAX 32U
#define IO_CHUNK (128U * 1024U)
/* Refuse zstd frames that would need more than 16 MiB of window: ours use
 * far less, and damaged input must not make us allocate a lot. */
#define ZSTD_WINDOW_LOG_MAX 24

/* ---- strict JSON -------------------------------------------------------- */

typedef struct Json {
        const uint8_t *p, *end;
        unsigned depth;
} Json;

static void json_skip_ws(Json *j) {
        while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
                j->p++;
}

static bool is_hex(uint8_t c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const uint8_t *p, const uint8_t *end) {
        size_t n = (size_t) (end - p);
        uint8_t c = p[0];

        if (c >= 0xC2 && c <= 0xDF)
                return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
        if (c >= 0xE0 && c <= 0xEF) {
                if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
                        return 0;
                if (c == 0xE0 && p[1] < 0xA0)
                        return 0;
                if (c == 0xED && p[1] > 0x9F)
                        return 0;
                return 3;
        }
        if (c >= 0xF0 && c <= 0xF4) {
                if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
                        return 0;
                if (c == 0xF0 && p[1] < 0x90)
                        return 0;
                if (c == 0xF4 && p[1] > 0x8F)
                        return 0;
                return 4;
        }
        return 0;
}

/* At an opening quote; leaves p after the closing one. */
static int json_string(Json *j, const uint8_t **ret_start, size_t *ret_len, bool *ret_escaped) {
        const uint8_t *start;
        bool escaped = false;

        j->p++;
        start = j->p;
        while (j->p < j->end) {
                uint8_t c = *j->p;

                /* Plain printable ASCII: the bulk of every record. */
                if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
                        j->p++;
                        continue;
                }
                if (c == '"') {
                        if (ret_start)
                                *ret_start = start;
                        if (ret_len)
                                *ret_len = (size_t) (j->p - start);
                        if (ret_escaped)
                                *ret_escaped = escaped;
                        j->p++;
                        return 0;
                }
                if (c == '\\') {
                        escaped = true;
                        if (++j->p >= j->end)
                                return -EBADMSG;
                        switch (*j->p) {
                        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                                j->p++;
                                break;
                        case 'u':
                                if (j->end - j->p < 5 || !is_hex(j->p[1]) || !is_hex(j->p[2]) ||
                                    !is_hex(j->p[3]) || !is_hex(j->p[4]))
                                        return -EBADMSG;
                                j->p += 5;
                                break;
                        default:
                                return -EBADMSG;
                        }
                } else if (c < 0x20)
                        return -EBADMSG;
                else if (c < 0x80)
                        j->p++;
                else {
                        size_t n = utf8_len(j->p, j->end);
                        if (n == 0)
                                return -EBADMSG;
                        j->p += n;
                }
        }
        return -EBADMSG;
}

static bool json_digits(Json *j) {
        const uint8_t *s = j->p;

        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
                j->p++;
        return j->p > s;
}

static int json_number(Json *j) {
        if (j->p < j->end && *j->p == '-')
                j->p++;
        if (j->p >= j->end)
                return -EBADMSG;
        if (*j->p == '0')
                j->p++;
        else if (!json_digits(j))
                return -EBADMSG;
        if (j->p < j->end && *j->p == '.') {
                j->p++;
                if (!json_digits(j))
                        return -EBADMSG;
        }
        if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
                j->p++;
                if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
                        j->p++;
                if (!json_digits(j))
                        return -EBADMSG;
        }
        return 0;
}

static int json_literal(Json *j, const char *word) {
        size_t n = strlen(word);

        if ((size_t) (j->end - j->p) < n || memcmp(j->p, word, n) != 0)
                return -EBADMSG;
        j->p += n;
        return 0;
}

static int json_value(Json *j);

static int json_container(Json *j, uint8_t close, bool object) {
        int r;

        if (++j->depth > JSON_DEPTH_MAX)
                return -EBADMSG;
        j->p++;
        json_skip_ws(j);
        if (j->p < j->end && *j->p == close) {
                j->p++;
                j->depth--;
                return 0;
        }
        for (;;) {
                if (object) {
                        if (j->p >= j->end || *j->p != '"')
                                return -EBADMSG;
                        r = json_string(j, NULL, NULL, NULL);
                        if (r < 0)
                                return r;
                        json_skip_ws(j);
                        if (j->p >= j->end || *j->p != ':')
                                return -EBADMSG;
                        j->p++;
                        json_skip_ws(j);
                }
                r = json_value(j);
                if (r < 0)
                        return r;
                json_skip_ws(j);
                if (j->p >= j->end)
                        return -EBADMSG;
                if (*j->p == close) {
                        j->p++;
                        j->depth--;
                        return 0;
                }
                if (*j->p != ',')
                        return -EBADMSG;
                j->p++;
                json_skip_ws(j);
        }
}

static int json_value(Json *j) {
        if (j->p >= j->end)
                return -EBADMSG;
        switch (*j->p) {
        case '{':
                return json_container(j, '}', true);
        case '[':
                return json_container(j, ']', false);
        case '"':
                return json_string(j, NULL, NULL, NULL);
        case 't':
                return json_literal(j, "true");
        case 'f':
                return json_literal(j, "false");
        case 'n':
                return json_literal(j, "null");
        default:
                return json_number(j);
        }
}

/* The top-level keys that segment lines use. */
enum {
        F_OP, F_SERIAL, F_FSMON, F_FORMAT, F_SEQ, F_HOST, F_KEY_EPOCH, F_VERSION,
        F_FIRST_SERIAL, F_CREATED, F_PREV_HASH, F_RECORDS, F_LAST_SERIAL, F_HASH, F_LOST,
        F_GAP_RECORDS, F_GAP_LOST,
        _F_MAX,
};

static const char *const field_names[_F_MAX] = {
        [F_OP] = "op",
        [F_SERIAL] = "serial",
        [F_FSMON] = "fsmon",
        [F_FORMAT] = "format",
        [F_SEQ] = "seq",
        [F_HOST] = "host",
        [F_KEY_EPOCH] = "key_epoch",
        [F_VERSION] = "version",
        [F_FIRST_SERIAL] = "first_serial",
        [F_CREATED] = "created",
        [F_PREV_HASH] = "prev_hash",
        [F_RECORDS] = "records",
        [F_LAST_SERIAL] = "last_serial",
        [F_HASH] = "hash",
        [F_LOST] = "lost",
        [F_GAP_RECORDS] = "gap_records",
        [F_GAP_LOST] = "gap_lost",
};

#define L(s) (sizeof(s) - 1)
static const uint8_t field_lens[_F_MAX] = {
        [F_OP] = L("op"), [F_SERIAL] = L("serial"), [F_FSMON] = L("fsmon"), [F_FORMAT] = L("format"),
        [F_SEQ] = L("seq"), [F_HOST] = L("host"), [F_KEY_EPOCH] = L("key_epoch"), [F_VERSION] = L("version"),
        [F_FIRST_SERIAL] = L("first_serial"), [F_CREATED] = L("created"), [F_PREV_HASH] = L("prev_hash"),
        [F_RECORDS] = L("records"), [F_LAST_SERIAL] = L("last_serial"), [F_HASH] = L("hash"), [F_LOST] = L("lost"),
        [F_GAP_RECORDS] = L("gap_records"), [F_GAP_LOST] = L("gap_lost"),
};
#undef L

typedef struct Field {
        const uint8_t *start;           /* string: contents without quotes; else the token */
        size_t len;
        uint8_t kind;                   /* 0: absent; '"': string without escapes; 'e': with; else first byte */
} Field;

/* Validates a line as one JSON object and picks out the known top-level keys.
 * A known key twice, or a top-level key written with escapes, is refused:
 * the line must mean the same thing to every reader. */
static int line_parse(const uint8_t *line, size_t len, Field fields[static _F_MAX]) {
        Json j = { .p = line, .end = line + len };
        int r;

        memset(fields, 0, sizeof(Field) * _F_MAX);

        json_skip_ws(&j);
        if (j.p >= j.end || *j.p != '{')
                return -EBADMSG;
        j.p++;
        j.depth = 1;
        json_skip_ws(&j);
        if (j.p < j.end && *j.p == '}')
                j.p++;
        else
                for (;;) {
                        const uint8_t *key, *vstart;
                        size_t key_len;
                        bool escaped;
                        Field *f = NULL;

                        if (j.p >= j.end || *j.p != '"')
                                return -EBADMSG;
                        r = json_string(&j, &key, &key_len, &escaped);
                        if (r < 0)
                                return r;
                        if (escaped)
                                return -EBADMSG;
                        for (size_t i = 0; i < _F_MAX; i++)
                                if (field_lens[i] == key_len && field_names[i][0] == key[0] &&
                                    memcmp(field_names[i], key, key_len) == 0) {
                                        f = &fields[i];
                                        break;
                                }
                        if (f && f->kind != 0)
                                return -EBADMSG;

                        json_skip_ws(&j);
                        if (j.p >= j.end || *j.p != ':')
                                return -EBADMSG;
                        j.p++;
                        json_skip_ws(&j);

                        vstart = j.p;
                        if (j.p < j.end && *j.p == '"') {
                                const uint8_t *s;
                                size_t n;
                                r = json_string(&j, &s, &n, &escaped);
                                if (r < 0)
                                        return r;
                                if (f)
                                        *f = (Field) { .start = s, .len = n, .kind = escaped ? 'e' : '"' };
                        } else {
                                r = json_value(&j);
                                if (r < 0)
                                        return r;
                                if (f)
                                        *f = (Field) { .start = vstart, .len = (size_t) (j.p - vstart), .kind = *vstart };
                        }

                        json_skip_ws(&j);
                        if (j.p >= j.end)
                                return -EBADMSG;
                        if (*j.p == '}') {
                                j.p++;
                                break;
                        }
                        if (*j.p != ',')
                                return -EBADMSG;
                        j.p++;
                        json_skip_ws(&j);
                }

        json_skip_ws(&j);
        return j.p == j.end ? 0 : -EBADMSG;
}

/* An unsigned decimal integer that fits 64 bits: no sign, fraction, exponent
 * or leading zero. */
static int field_u64(const Field *f, uint64_t *ret) {
        uint64_t v = 0;

        if (f->kind < '0' || f->kind > '9' || f->len == 0 || f->len > 20)
                return -EBADMSG;
        if (f->start[0] == '0' && f->len > 1)
                return -EBADMSG;
        for (size_t i = 0; i < f->len; i++) {
                uint8_t c = f->start[i];
                if (c < '0' || c > '9')
                        return -EBADMSG;
                if (v > (UINT64_MAX - (uint64_t) (c - '0')) / 10)
                        return -EBADMSG;
                v = v * 10 + (uint64_t) (c - '0');
        }
        *ret = v;
        return 0;
}

static bool field_str_eq(const Field *f, const char *s) {
        return f->kind == '"' && f->len == strlen(s) && memcmp(f->start, s, f->len) == 0;
}

/* Copies a string field made only of allowed characters into buf. */
static int field_str(const Field *f, char *buf, size_t max, const char *allowed) {
        if (f->kind != '"' || f->len == 0 || f->len > max)
                return -EBADMSG;
        for (size_t i = 0; i < f->len; i++)
                if (!strchr(allowed, f->start[i]) || f->start[i] == 0)
                        return -EBADMSG;
        memcpy(buf, f->start, f->len);
        buf[f->len] = 0;
        return 0;
}

static int field_hash(const Field *f, uint8_t ret[SEGMENT_HASH_SIZE]) {
        if (f->kind != '"' || f->len != SEGMENT_HASH_SIZE * 2)
                return -EBADMSG;
        for (size_t i = 0; i < f->len; i++)
                if (!strchr("0123456789abcdef", f->start[i]) || f->start[i] == 0)
                        return -EBADMSG;
        if (sodium_hex2bin(ret, SEGMENT_HASH_SIZE, (const char *) f->start, f->len, NULL, NULL, NULL) < 0)
                return -EBADMSG;
        return 0;
}

#define HOST_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
#define VERSION_CHARS HOST_CHARS "+~"

static bool str_is_made_of(const char *s, size_t max, const char *allowed) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > max || strspn(s, allowed) != n)
                return false;
        return true;
}

bool segment_host_is_valid(const char *s) {
        /* Also a directory name on the upload server: no "." or "..". */
        return str_is_made_of(s, SEGMENT_HOST_MAX, HOST_CHARS) && s[0] != '.';
}

bool segment_version_is_valid(const char *s) {
        return str_is_made_of(s, SEGMENT_VERSION_MAX, VERSION_CHARS);
}

int segment_record_check(const char *line, size_t len, uint64_t *ret_serial) {
        Field f[_F_MAX];
        uint64_t serial;
        int r;

        if (len > SEGMENT_LINE_MAX || memchr(line, '\n', len))
                return -EBADMSG;
        r = line_parse((const uint8_t *) line, len, f);
        if (r < 0)
                return r;
        if (f[F_FSMON].kind != 0)
                return -EBADMSG;
        if ((f[F_OP].kind != '"' && f[F_OP].kind != 'e') || f[F_OP].len == 0)
                return -EBADMSG;
        r = field_u64(&f[F_SERIAL], &serial);
        if (r < 0)
                return r;
        if (ret_serial)
                *ret_serial = serial;
        return 0;
}

static int header_parse(const uint8_t *line, size_t len, SegmentHeader *h) {
        Field f[_F_MAX];
        uint64_t format;

        if (line_parse(line, len, f) < 0)
                return -EBADMSG;
        if (!field_str_eq(&f[F_FSMON], "segment") || f[F_OP].kind != 0)
                return -EBADMSG;
        if (field_u64(&f[F_FORMAT], &format) < 0 || format != SEGMENT_FORMAT)
                return -EBADMSG;
        if (field_u64(&f[F_SEQ], &h->seq) < 0 ||
            field_str(&f[F_HOST], h->host, SEGMENT_HOST_MAX, HOST_CHARS) < 0 ||
            !segment_host_is_valid(h->host) ||
            field_str(&f[F_KEY_EPOCH], h->key_epoch, SEGMENT_EPOCH_MAX, "0123456789abcdef") < 0 ||
            strlen(h->key_epoch) != SEGMENT_EPOCH_MAX ||
            field_str(&f[F_VERSION], h->version, SEGMENT_VERSION_MAX, VERSION_CHARS) < 0 ||
            field_u64(&f[F_FIRST_SERIAL], &h->first_serial) < 0 ||
            field_u64(&f[F_CREATED], &h->created) < 0 ||
            field_hash(&f[F_PREV_HASH], h->prev_hash) < 0)
                return -EBADMSG;
        return 0;
}

static int footer_parse(const Field f[static _F_MAX], SegmentFooter *ft) {
        if (!field_str_eq(&f[F_FSMON], "end") || f[F_OP].kind != 0)
                return -EBADMSG;
        if (field_u64(&f[F_SEQ], &ft->seq) < 0 ||
            field_u64(&f[F_RECORDS], &ft->records) < 0 ||
            field_u64(&f[F_LAST_SERIAL], &ft->last_serial) < 0 ||
            field_u64(&f[F_GAP_RECORDS], &ft->gap_records) < 0 ||
            field_u64(&f[F_GAP_LOST], &ft->gap_lost) < 0 ||
            ft->gap_records > ft->records ||
            field_hash(&f[F_HASH], ft->hash) < 0)
                return -EBADMSG;
        return 0;
}

void segment_hash_to_string(const uint8_t hash[SEGMENT_HASH_SIZE], char ret[SEGMENT_HASH_STRING_MAX]) {
        sodium_bin2hex(ret, SEGMENT_HASH_STRING_MAX, hash, SEGMENT_HASH_SIZE);
}

int segment_header_format(const SegmentHeader *h, char *buf, size_t size) {
        char prev[SEGMENT_HASH_STRING_MAX];
        int n;

        if (!segment_host_is_valid(h->host) || !segment_version_is_valid(h->version) ||
            strlen(h->key_epoch) != SEGMENT_EPOCH_MAX ||
            strspn(h->key_epoch, "0123456789abcdef") != SEGMENT_EPOCH_MAX)
                return -EINVAL;
        segment_hash_to_string(h->prev_hash, prev);
        n = snprintf(buf, size,
                     "{\"fsmon\":\"segment\",\"format\":%d,\"seq\":%" PRIu64 ",\"host\":\"%s\","
                     "\"key_epoch\":\"%s\",\"version\":\"%s\",\"first_serial\":%" PRIu64 ","
                     "\"created\":%" PRIu64 ",\"prev_hash\":\"%s\"}\n",
                     SEGMENT_FORMAT, h->seq, h->host, h->key_epoch, h->version, h->first_serial,
                     h->created, prev);
        if (n < 0 || (size_t) n >= size)
                return -EINVAL;
        return n;
}

int segment_footer_format(const SegmentFooter *f, char *buf, size_t size) {
        char hash[SEGMENT_HASH_STRING_MAX];
        int n;

        segment_hash_to_string(f->hash, hash);
        n = snprintf(buf, size,
                     "{\"fsmon\":\"end\",\"seq\":%" PRIu64 ",\"records\":%" PRIu64 ","
                     "\"last_serial\":%" PRIu64 ",\"gap_records\":%" PRIu64 ",\"gap_lost\":%" PRIu64 ","
                     "\"hash\":\"%s\"}\n",
                     f->seq, f->records, f->last_serial, f->gap_records, f->gap_lost, hash);
        if (n < 0 || (size_t) n >= size)
                return -EINVAL;
        return n;
}

/* ---- the reader --------------------------------------------------------- */

typedef enum ReaderState {
        READER_HEADER,
        READER_RECORDS,
        READER_END,
        READER_BROKEN,          /* SEGMENT_READ_OPEN: counting lines after the valid prefix */
        READER_FAILED,
} ReaderState;

typedef struct Reader {
        SegmentReadFlags flags;
        SegmentRecordFunc func;
        void *userdata;
        SegmentInfo *info;
        ReaderState state;
        int error;                      /* first hard error (not damage) */

        uint8_t *line;
        size_t line_len, line_alloc;
        bool line_too_long;             /* skipping the rest of an overlong line */
        bool broken_partial;            /* READER_BROKEN: bytes since the last newline */
        uint8_t *last_line;             /* SEGMENT_READ_HASH_ONLY: the last record, unparsed */
        size_t last_len, last_alloc;
        bool last_fast;
        uint64_t lineno;

        bool decided;                   /* compressed or not */
        uint8_t magic[4];
        size_t magic_len;
        ZSTD_DCtx *dctx;
        size_t zstd_last;               /* last return of ZSTD_decompressStream() */
        uint8_t *zout;
} Reader;

_printf_(2, 3)
static void reader_damage(Reader *r, const char *fmt, ...) {
        va_list ap;
        char msg[sizeof(r->info->error) - 32];

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        (void) snprintf(r->info->error, sizeof(r->info->error), "line %" PRIu64 ": %s", r->lineno, msg);

        if ((r->flags & SEGMENT_READ_OPEN) && r->state != READER_FAILED) {
                /* A damaged header line is not a lost record. */
                r->info->torn_records = r->state == READER_HEADER ? 0 : 1;
                r->state = READER_BROKEN;
        } else
                r->state = READER_FAILED;
}

static void reader_hash_line(Reader *r, const uint8_t *line, size_t len) {
        static const uint8_t nl = '\n';

        crypto_generichash_update(&r->info->hash_state, line, len);
        crypto_generichash_update(&r->info->hash_state, &nl, 1);
        r->info->valid_bytes += len + 1;
}

static void reader_line(Reader *r, const uint8_t *line, size_t len) {
        SegmentInfo *info = r->info;
        Field f[_F_MAX];
        uint64_t serial;
        bool is_gap;
        int k;

        r->lineno++;

        switch (r->state) {
        case READER_HEADER:
                if (header_parse(line, len, &info->header) < 0)
                        return reader_damage(r, "not a valid fsmon segment header");
                info->has_header = true;
                info->header_bytes = len + 1;
                reader_hash_line(r, line, len);
                info->last_event_bytes = info->valid_bytes;
                r->state = READER_RECORDS;
                return;

        case READER_RECORDS:
                if ((r->flags & SEGMENT_READ_HASH_ONLY) && info->records > 0 &&
                    !(len >= 9 && memcmp(line, "{\"fsmon\":", 9) == 0) && !memmem(line, len, "\"gap\"", 5)) {
                        /* The hash vouches for the records (the writer
                         * checked each before writing it): parse only the
                         * first, the gap records and, at the footer, the
                         * last one. */
                        if (len > r->last_alloc) {
                                uint8_t *b = realloc(r->last_line, len);
                                if (!b) {
                                        r->error = -ENOMEM;
                                        r->state = READER_FAILED;
                                        return;
                                }
                                r->last_line = b;
                                r->last_alloc = len;
                        }
                        memcpy(r->last_line, line, len);
                        r->last_len = len;
                        r->last_fast = true;
                        info->records++;
                        reader_hash_line(r, line, len);
                        return;
                }
                if (line_parse(line, len, f) < 0)
                        return reader_damage(r, "not a valid JSON object");

                if (f[F_FSMON].kind != 0) {
                        crypto_generichash_state st = info->hash_state;
                        uint8_t h[SEGMENT_HASH_SIZE];

                        if (footer_parse(f, &info->footer) < 0)
                                return reader_damage(r, "not a valid footer");
                        if (info->footer.seq != info->header.seq)
                                return reader_damage(r, "footer's seq %" PRIu64 " differs from header's %" PRIu64,
                                                     info->footer.seq, info->header.seq);
                        if (info->footer.records != info->records)
                                return reader_damage(r, "footer counts %" PRIu64 " records, segment has %" PRIu64,
                                                     info->footer.records, info->records);
                        if (r->last_fast) {
                                Field g[_F_MAX];
                                if (line_parse(r->last_line, r->last_len, g) < 0 ||
                                    field_u64(&g[F_SERIAL], &info->last_serial) < 0)
                                        return reader_damage(r, "last record is not valid");
                        }
                        if (info->footer.last_serial != (info->records > 0 ? info->last_serial : info->header.first_serial))
                                return reader_damage(r, "footer's last serial does not match the records");
                        if (info->footer.gap_records != info->gap_records || info->footer.gap_lost != info->gap_lost)
                                return reader_damage(r, "footer's gap counts do not match the records");
                        crypto_generichash_final(&st, h, sizeof(h));
                        if (sodium_memcmp(h, info->footer.hash, sizeof(h)) != 0)
                                return reader_damage(r, "hash mismatch: content altered");
                        info->has_footer = true;
                        r->state = READER_END;
                        return;
                }

                r->last_fast = false;
                if ((f[F_OP].kind != '"' && f[F_OP].kind != 'e') || f[F_OP].len == 0)
                        return reader_damage(r, "record without \"op\"");
                if (field_u64(&f[F_SERIAL], &serial) < 0)
                        return reader_damage(r, "record without a valid \"serial\"");
                if (info->records == 0) {
                        if (serial != info->header.first_serial)
                                return reader_damage(r, "first record's serial differs from the header's");
                        info->first_serial = serial;
                }
                is_gap = field_str_eq(&f[F_OP], "gap");
                if (is_gap) {
                        uint64_t lost;

                        info->gap_records++;
                        if (field_u64(&f[F_LOST], &lost) >= 0 && info->gap_lost + lost >= lost)
                                info->gap_lost += lost;
                        else
                                info->gap_lost_unknown = true;
                }
                if (is_gap || info->last_event_records == 0 || serial != info->last_serial) {
                        info->last_event_records = 0;
                        info->last_event_bytes = info->valid_bytes;
                }
                info->last_serial = serial;
                info->records++;
                reader_hash_line(r, line, len);
                if (is_gap)
                        info->last_event_bytes = info->valid_bytes;
                else
                        info->last_event_records++;
                if (r->func) {
                        k = r->func((const char *) line, len, serial, r->userdata);
                        if (k < 0) {
                                r->error = k;
                                r->state = READER_FAILED;
                        }
                }
                return;

        case READER_END:
                return reader_damage(r, "data after the footer");

        case READER_BROKEN:
        case READER_FAILED:
                return;
        }
}

static void reader_overlong(Reader *r) {
        r->lineno++;
        if (r->state == READER_HEADER || r->state == READER_RECORDS || r->state == READER_END)
                reader_damage(r, "line longer than %u bytes", SEGMENT_LINE_MAX);
}

static int reader_feed_text(Reader *r, const uint8_t *p, size_t n) {
        while (n > 0) {
                const uint8_t *nl;
                size_t take;

                if (r->state == READER_FAILED)
                        return 0;

                if (r->state == READER_BROKEN) {
                        /* Count the lines that are lost; keep nothing. */
                        for (const uint8_t *q = p; (q = memchr(q, '\n', (size_t) (p + n - q))); q++)
                                r->info->torn_records++;
                        r->broken_partial = p[n - 1] != '\n';
                        return 0;
                }

                nl = memchr(p, '\n', n);
                take = nl ? (size_t) (nl - p) : n;

                if (r->line_too_long) {
                        if (!nl)
                                return 0;
                        /* End of the overlong line: it is the damage. */
                        r->line_too_long = false;
                        r->line_len = 0;
                        reader_overlong(r);
                } else if (r->line_len + take > SEGMENT_LINE_MAX) {
                        r->line_len = 0;
                        if (nl)
                                reader_overlong(r);
                        else {
                                r->line_too_long = true;
                                return 0;
                        }
                } else if (r->line_len == 0 && nl) {
                        /* Common case: the whole line is in the chunk. */
                        reader_line(r, p, take);
                } else {
                        if (r->line_len + take > r->line_alloc) {
                                size_t a = MAX(r->line_alloc * 2, r->line_len + take);
                                uint8_t *b = realloc(r->line, a);
                                if (!b)
                                        return -ENOMEM;
                                r->line = b;
                                r->line_alloc = a;
                        }
                        memcpy(r->line + r->line_len, p, take);
                        r->line_len += take;
                        if (!nl)
                                return 0;
                        reader_line(r, r->line, r->line_len);
                        r->line_len = 0;
                }
                p += take + 1;
                n -= take + 1;
        }
        return 0;
}

static int reader_feed_compressed(Reader *r, const uint8_t *p, size_t n) {
        ZSTD_inBuffer in = { p, n, 0 };

        for (;;) {
                ZSTD_outBuffer out = { r->zout, IO_CHUNK, 0 };
                size_t k;
                int q;

                if (r->state == READER_FAILED)
                        return 0;
                k = ZSTD_decompressStream(r->dctx, &out, &in);
                if (ZSTD_isError(k)) {
                        (void) snprintf(r->info->error, sizeof(r->info->error),
                                        "damaged compressed data: %s", ZSTD_getErrorName(k));
                        r->state = READER_FAILED;
                        return 0;
                }
                r->zstd_last = k;
                q = reader_feed_text(r, r->zout, out.pos);
                if (q < 0)
                        return q;
                /* Done when all input is consumed and the output was not
                 * full (a full buffer may hide more pending output). */
                if (in.pos == in.size && out.pos < out.size)
                        return 0;
        }
}

static int reader_decide(Reader *r) {
        static const uint8_t zstd_magic[4] = { 0x28, 0xB5, 0x2F, 0xFD };

        r->decided = true;
        if (r->magic_len == 4 && memcmp(r->magic, zstd_magic, 4) == 0) {
                r->info->compressed = true;
                r->dctx = ZSTD_createDCtx();
                r->zout = malloc(IO_CHUNK);
                if (!r->dctx || !r->zout)
                        return -ENOMEM;
                if (ZSTD_isError(ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX)))
                        return -EIO;
                /* Damage in closed segments is found; never "recover" a prefix
                 * out of a compressed one. */
                r->flags &= ~SEGMENT_READ_OPEN;
                return reader_feed_compressed(r, r->magic, r->magic_len);
        }
        return reader_feed_text(r, r->magic, r->magic_len);
}

static int reader_feed(Reader *r, const uint8_t *p, size_t n) {
        if (!r->decided) {
                size_t k = MIN(n, sizeof(r->magic) - r->magic_len);
                int q;

                memcpy(r->magic + r->magic_len, p, k);
                r->magic_len += k;
                p += k;
                n -= k;
                if (r->magic_len < sizeof(r->magic))
                        return 0;
                q = reader_decide(r);
                if (q < 0)
                        return q;
        }
        if (n == 0)
                return 0;
        return r->info->compressed ? reader_feed_compressed(r, p, n) : reader_feed_text(r, p, n);
}

static int reader_finish(Reader *r) {
        SegmentInfo *info = r->info;
        int q;

        if (!r->decided) {
                q = reader_decide(r);
                if (q < 0)
                        return q;
        }
        if (r->error < 0)
                return r->error;

        if (info->compressed && r->state != READER_FAILED && r->zstd_last != 0) {
                (void) snprintf(info->error, sizeof(info->error), "compressed data truncated");
                r->state = READER_FAILED;
        }

        if (r->state != READER_FAILED && r->state != READER_BROKEN && (r->line_len > 0 || r->line_too_long)) {
                r->lineno++;
                reader_damage(r, "last line is incomplete (torn)");
                if (r->state == READER_BROKEN)
                        r->broken_partial = false;      /* counted already */
        }
        if (r->state == READER_BROKEN && r->broken_partial)
                info->torn_records++;

        crypto_generichash_state st = info->hash_state;
        crypto_generichash_final(&st, info->hash, sizeof(info->hash));

        if (r->state == READER_FAILED)
                return -EBADMSG;
        if (!info->has_header) {
                if (!info->error[0])
                        (void) snprintf(info->error, sizeof(info->error), "no header (empty or truncated)");
                return -EBADMSG;
        }
        if (r->flags & SEGMENT_READ_OPEN)
                return 0;
        if (!info->has_footer) {
                (void) snprintf(info->error, sizeof(info->error), "no footer: segment truncated");
                return -EBADMSG;
        }
        return 0;
}

static void reader_done(Reader *r) {
        free(r->line);
        free(r->last_line);
        free(r->zout);
        ZSTD_freeDCtx(r->dctx);
}

static void reader_init(Reader *r, SegmentReadFlags flags, SegmentRecordFunc func, void *userdata, SegmentInfo *info) {
        *r = (Reader) { .flags = flags, .func = func, .userdata = userdata, .info = info };
        *info = (SegmentInfo) {};
        crypto_generichash_init(&info->hash_state, NULL, 0, SEGMENT_HASH_SIZE);
}

int segment_read_buffer(const void *buf, size_t size, SegmentReadFlags flags,
                        SegmentRecordFunc func, void *userdata, SegmentInfo *info) {
        SegmentInfo dummy;
        Reader r;
        int q;

        if (sodium_init() < 0)
                return -EIO;
        reader_init(&r, flags, func, userdata, info ?: &dummy);
        q = reader_feed(&r, buf, size);
        if (q >= 0)
                q = reader_finish(&r);
        reader_done(&r);
        return q;
}

int segment_read_fd(int fd, SegmentReadFlags flags, SegmentRecordFunc func, void *userdata, SegmentInfo *info) {
        _cleanup_free_ uint8_t *buf = NULL;
        SegmentInfo dummy;
        Reader r;
        int q = 0;

        if (sodium_init() < 0)
                return -EIO;
        buf = malloc(IO_CHUNK);
        if (!buf)
                return -ENOMEM;

        reader_init(&r, flags, func, userdata, info ?: &dummy);
        for (;;) {
                ssize_t n = read(fd, buf, IO_CHUNK);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        q = -errno;
                        break;
                }
                if (n == 0) {
                        q = reader_finish(&r);
                        break;
                }
                q = reader_feed(&r, buf, (size_t) n);
                if (q < 0)
                        break;
                if (r.state == READER_FAILED) {
                        q = reader_finish(&r);
                        break;
                }
        }
        reader_done(&r);
        return q;
}

static int compress_frame(ZSTD_CCtx *c, int in_fd, int out_fd, uint64_t len, uint8_t *ibuf, uint8_t *obuf) {
        int q = 0;

        for (bool eof = false; !eof;) {
                size_t want = (size_t) MIN((uint64_t) IO_CHUNK, len);
                ssize_t n = want > 0 ? fileio_read_full(in_fd, ibuf, want) : 0;
                ZSTD_inBuffer in;

                if (n < 0)
                        return (int) n;
                len -= (uint64_t) n;
                eof = (size_t) n < want || len == 0;
                in = (ZSTD_inBuffer) { ibuf, (size_t) n, 0 };
                for (;;) {
                        ZSTD_outBuffer out = { obuf, ZSTD_CStreamOutSize(), 0 };
                        size_t left = ZSTD_compressStream2(c, &out, &in, eof ? ZSTD_e_end : ZSTD_e_continue);

                        if (ZSTD_isError(left))
                                return -EIO;
                        q = fileio_write_full(out_fd, obuf, out.pos);
                        if (q < 0)
                                return q;
                        if (eof ? left == 0 : in.pos == in.size)
                                break;
                }
        }
        return 0;
}

int segment_compress_fd(int in_fd, int out_fd, int level, uint64_t header_bytes, uint64_t footer_offset) {
        _cleanup_free_ uint8_t *ibuf = NULL, *obuf = NULL;
        ZSTD_CCtx *c;
        int q;

        ibuf = malloc(IO_CHUNK);
        obuf = malloc(ZSTD_CStreamOutSize());
        c = ZSTD_createCCtx();
        if (!ibuf || !obuf || !c) {
                ZSTD_freeCCtx(c);
                return -ENOMEM;
        }
        if (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1))) {
                ZSTD_freeCCtx(c);
                return -EINVAL;
        }
        if (header_bytes > 0 && footer_offset >= header_bytes) {
                q = compress_frame(c, in_fd, out_fd, header_bytes, ibuf, obuf);
                if (q >= 0)
                        q = compress_frame(c, in_fd, out_fd, footer_offset - header_bytes, ibuf, obuf);
                if (q >= 0)
                        q = compress_frame(c, in_fd, out_fd, UINT64_MAX, ibuf, obuf);
        } else
                q = compress_frame(c, in_fd, out_fd, UINT64_MAX, ibuf, obuf);
        ZSTD_freeCCtx(c);
        return q;
}

/* ---- cheap metadata ----------------------------------------------------- */

#define META_READ 1024U

_printf_(2, 3)
static int meta_damage(SegmentInfo *info, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(info->error, sizeof(info->error), fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

/* Decompresses exactly one whole frame of at most META_READ bytes of text. */
static ssize_t meta_frame(const uint8_t *p, size_t n, uint8_t *out, size_t out_size) {
        size_t k;

        if (n < 4 || p[0] != 0x28 || p[1] != 0xB5 || p[2] != 0x2F || p[3] != 0xFD)
                return -EBADMSG;
        k = ZSTD_findFrameCompressedSize(p, n);
        if (ZSTD_isError(k))
                return -EBADMSG;
        k = ZSTD_decompress(out, out_size, p, k);
        if (ZSTD_isError(k))
                return -EBADMSG;
        return (ssize_t) k;
}

/* A single complete line: its length without the newline, or -EBADMSG. */
static ssize_t one_line(const uint8_t *p, size_t n) {
        const uint8_t *nl;

        if (n == 0 || p[n - 1] != '\n')
                return -EBADMSG;
        nl = memchr(p, '\n', n);
        return nl == p + n - 1 ? (ssize_t) (n - 1) : -EBADMSG;
}

int segment_read_meta_fd(int fd, SegmentInfo *info) {
        static const uint8_t zstd_magic[4] = { 0x28, 0xB5, 0x2F, 0xFD };
        uint8_t head[META_READ], tail[META_READ], text[META_READ];
        ssize_t hn, tn, len;
        size_t tail_len;
        struct stat st;
        Field f[_F_MAX];

        *info = (SegmentInfo) {};
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size < 8)
                return meta_damage(info, "too short for a segment");

        hn = pread(fd, head, MIN(sizeof(head), (size_t) st.st_size), 0);
        if (hn < 0)
                return -errno;
        tail_len = MIN(sizeof(tail), (size_t) st.st_size);
        tn = pread(fd, tail, tail_len, st.st_size - (off_t) tail_len);
        if (tn < 0)
                return -errno;
        if ((size_t) tn != tail_len || hn < 8)
                return meta_damage(info, "short read");
        info->compressed = memcmp(head, zstd_magic, 4) == 0;

        /* Header: the first line, or (compressed) the whole first frame. */
        if (info->compressed) {
                ssize_t k = meta_frame(head, (size_t) hn, text, sizeof(text));
                if (k < 0 || (len = one_line(text, (size_t) k)) < 0)
                        return meta_damage(info, "no header frame");
        } else {
                const uint8_t *nl = memchr(head, '\n', (size_t) hn);
                if (!nl)
                        return meta_damage(info, "no header line");
                len = nl - head;
                memcpy(text, head, (size_t) len);
        }
        if (header_parse(text, (size_t) len, &info->header) < 0)
                return meta_damage(info, "not a valid fsmon segment header");
        info->has_header = true;
        info->header_bytes = (uint64_t) len + 1;

        /* Footer: the last line, or the last frame, found from the end. */
        len = -EBADMSG;
        if (info->compressed) {
                for (size_t i = tail_len - 4; i-- > 0 && len < 0;) {
                        ssize_t k;
                        if (memcmp(tail + i, zstd_magic, 4) != 0)
                                continue;
                        if (ZSTD_findFrameCompressedSize(tail + i, tail_len - i) != tail_len - i)
                                continue;
                        k = meta_frame(tail + i, tail_len - i, text, sizeof(text));
                        if (k >= 0)
                                len = one_line(text, (size_t) k);
                }
        } else if (tail[tail_len - 1] == '\n') {
                size_t i = tail_len - 1;
                while (i > 0 && tail[i - 1] != '\n')
                        i--;
                if (i > 0 || (size_t) st.st_size == tail_len) {
                        len = (ssize_t) (tail_len - 1 - i);
                        memmove(text, tail + i, (size_t) len);
                }
        }
        if (len < 0)
                return meta_damage(info, "no footer found at the end");
        if (line_parse(text, (size_t) len, f) < 0 || footer_parse(f, &info->footer) < 0)
                return meta_damage(info, "not a valid footer");
        if (info->footer.seq != info->header.seq)
                return meta_damage(info, "footer's seq %" PRIu64 " differs from header's %" PRIu64,
                                   info->footer.seq, info->header.seq);
        if (info->footer.records == 0 && info->footer.last_serial != info->header.first_serial)
                return meta_damage(info, "empty segment with differing serials");
        info->has_footer = true;
        info->records = info->footer.records;
        info->first_serial = info->header.first_serial;
        info->last_serial = info->footer.last_serial;
        info->gap_records = info->footer.gap_records;
        info->gap_lost = info->footer.gap_lost;
        memcpy(info->hash, info->footer.hash, SEGMENT_HASH_SIZE);
        return 0;
}
