/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "shared/macro.h"
#include "report/report-scan.h"

/* Nested values only appear in metadata lines; a bound keeps the recursion
 * (and a hostile input) in check. */
#define SCAN_DEPTH_MAX 64

typedef struct Scanner {
        const char *p, *end;
        size_t line_len;
        ReportScanBuffer *buf;
} Scanner;

void report_scan_buffer_done(ReportScanBuffer *b) {
        if (!b)
                return;
        free(b->data);
        *b = (ReportScanBuffer) {};
}

static inline void scan_ws(Scanner *s) {
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n'))
                s->p++;
}

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static int scan_hex4(Scanner *s, unsigned *ret) {
        unsigned v = 0;

        if (s->end - s->p < 4)
                return -EBADMSG;
        for (int i = 0; i < 4; i++) {
                int h = hex_value(s->p[i]);
                if (h < 0)
                        return -EBADMSG;
                v = v << 4 | (unsigned) h;
        }
        s->p += 4;
        *ret = v;
        return 0;
}

static char *utf8_put(char *o, unsigned cp) {
        if (cp < 0x80)
                *o++ = (char) cp;
        else if (cp < 0x800) {
                *o++ = (char) (0xc0 | cp >> 6);
                *o++ = (char) (0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
                *o++ = (char) (0xe0 | cp >> 12);
                *o++ = (char) (0x80 | (cp >> 6 & 0x3f));
                *o++ = (char) (0x80 | (cp & 0x3f));
        } else {
                *o++ = (char) (0xf0 | cp >> 18);
                *o++ = (char) (0x80 | (cp >> 12 & 0x3f));
                *o++ = (char) (0x80 | (cp >> 6 & 0x3f));
                *o++ = (char) (0x80 | (cp & 0x3f));
        }
        return o;
}

/* Decodes a string with escapes into the scratch buffer. s->p is just past the
 * opening quote. The decoded form is never longer than its source (an escape
 * of n bytes yields at most n bytes, "\uD83D\uDE00" 12 bytes yield 4), so one
 * line's strings always fit in line_len bytes. */
static int scan_string_slow(Scanner *s, const char **ret, size_t *ret_len) {
        ReportScanBuffer *b = s->buf;
        char *start, *o;

        if (b->size - b->used < s->line_len + 1) {
                /* Only grows between lines: strings of this line point into it. */
                if (b->used > 0)
                        return -ENOBUFS;
                char *n = realloc(b->data, s->line_len + 1);
                if (!n)
                        return -ENOMEM;
                b->data = n;
                b->size = s->line_len + 1;
        }
        start = o = b->data + b->used;

        for (;;) {
                if (s->p >= s->end)
                        return -EBADMSG;
                char c = *s->p++;
                if (c == '"')
                        break;
                if ((unsigned char) c < 0x20)
                        return -EBADMSG;
                if (c != '\\') {
                        *o++ = c;
                        continue;
                }
                if (s->p >= s->end)
                        return -EBADMSG;
                c = *s->p++;
                switch (c) {
                case '"': case '\\': case '/':
                        *o++ = c;
                        break;
                case 'b': *o++ = '\b'; break;
                case 'f': *o++ = '\f'; break;
                case 'n': *o++ = '\n'; break;
                case 'r': *o++ = '\r'; break;
                case 't': *o++ = '\t'; break;
                case 'u': {
                        unsigned cp, lo;
                        if (scan_hex4(s, &cp) < 0)
                                return -EBADMSG;
                        /* A surrogate pair makes one code point; a lone
                         * surrogate is kept as it is (JSON allows it). */
                        if (cp >= 0xd800 && cp < 0xdc00 && s->end - s->p >= 6 &&
                            s->p[0] == '\\' && s->p[1] == 'u') {
                                Scanner t = *s;
                                t.p += 2;
                                if (scan_hex4(&t, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                        s->p = t.p;
                                }
                        }
                        o = utf8_put(o, cp);
                        break;
                }
                default:
                        return -EBADMSG;
                }
        }

        *o = 0;
        *ret = start;
        *ret_len = (size_t) (o - start);
        b->used += *ret_len + 1;
        return 0;
}

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Bytes of w that end a plain run of string: '"', '\\' or a control
 * character; the lowest flagged byte is exact (SWAR, 8 bytes a step). */
static inline uint64_t string_stops(uint64_t w) {
        uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
        return (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((w - ONES * 0x20) & ~w)) & HIGHS;
}

/* s->p at the opening quote. */
static int scan_string(Scanner *s, const char **ret, size_t *ret_len) {
        const char *start = ++s->p, *q = start;

        for (;;) {
#ifdef __SSE2__
                /* 16 bytes a step: x86-64 always has SSE2. */
                const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
                const __m128i ctl = _mm_set1_epi8(0x1f), bias = _mm_set1_epi8((char) 0x80);
                while (s->end - q >= 16) {
                        __m128i w = _mm_loadu_si128((const __m128i *) q);
                        /* Signed compare after flipping the sign bit: bytes
                         * 0x00..0x1f are the ones <= 0x1f unsigned. */
                        __m128i c = _mm_cmpgt_epi8(_mm_xor_si128(w, bias), _mm_xor_si128(ctl, bias));
                        unsigned m = (unsigned) _mm_movemask_epi8(_mm_or_si128(
                                _mm_or_si128(_mm_cmpeq_epi8(w, quote), _mm_cmpeq_epi8(w, bslash)),
                                _mm_andnot_si128(c, _mm_set1_epi8(-1))));
                        if (m) {
                                q += __builtin_ctz(m);
                                goto stop;
                        }
                        q += 16;
                }
#endif
                while (s->end - q >= 8) {
                        uint64_t w, m;
                        memcpy(&w, q, 8);
                        m = string_stops(w);
                        if (m) {
                                q += __builtin_ctzll(m) / 8;
                                goto stop;
                        }
                        q += 8;
                }
                while (q < s->end && *q != '"' && *q != '\\' && (unsigned char) *q >= 0x20)
                        q++;
                if (q >= s->end)
                        return -EBADMSG;
        stop:
                if (*q == '"')
                        break;
                if (*q == '\\') {
                        s->p = start;
                        return scan_string_slow(s, ret, ret_len);
                }
                /* Raw control characters are not allowed in JSON strings. */
                return -EBADMSG;
        }
        *ret = start;
        *ret_len = (size_t) (q - start);
        s->p = q + 1;
        return 0;
}

typedef struct Number {
        bool integer;           /* no fraction, no exponent, fits in int64 */
        bool u64;               /* no sign, fraction, exponent; fits in uint64 */
        int64_t value;          /* integer part (saturated) */
        uint64_t uvalue;        /* with u64 */
        unsigned millis;        /* first three fraction digits */
} Number;

/* RFC 8259 number grammar; s->p at '-' or a digit. */
static int scan_number(Scanner *s, Number *ret) {
        bool neg = false, overflow = false;
        uint64_t v = 0;
        Number n = { .integer = true };

        if (*s->p == '-') {
                neg = true;
                s->p++;
        }
        if (s->p >= s->end || *s->p < '0' || *s->p > '9')
                return -EBADMSG;
        if (*s->p == '0')
                s->p++;
        else {
                /* Up to 19 digits cannot overflow 64 bits: no check inside
                 * the loop. */
                const char *q = s->p, *stop = s->p + MIN(s->end - s->p, (ptrdiff_t) 19);
                while (q < stop && (unsigned) (*q - '0') <= 9)
                        v = v * 10 + (unsigned) (*q++ - '0');
                while (q < s->end && (unsigned) (*q - '0') <= 9) {
                        unsigned d = (unsigned) (*q++ - '0');
                        if (overflow || v > (UINT64_MAX - d) / 10)
                                overflow = true;
                        else
                                v = v * 10 + d;
                }
                s->p = q;
        }
        n.u64 = !neg && !overflow;
        n.uvalue = v;
        if (overflow || v > (uint64_t) INT64_MAX) {
                overflow = true;
                v = INT64_MAX;
        }
        n.value = neg ? -(int64_t) v : (int64_t) v;
        n.integer = !overflow;

        if (s->p < s->end && *s->p == '.') {
                unsigned digits = 0;
                s->p++;
                if (s->p >= s->end || *s->p < '0' || *s->p > '9')
                        return -EBADMSG;
                while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
                        if (digits < 3)
                                n.millis = n.millis * 10 + (unsigned) (*s->p - '0');
                        digits++;
                        s->p++;
                }
                for (; digits < 3; digits++)
                        n.millis *= 10;
                n.integer = n.u64 = false;
        }
        if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
                s->p++;
                if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
                        s->p++;
                if (s->p >= s->end || *s->p < '0' || *s->p > '9')
                        return -EBADMSG;
                while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
                        s->p++;
                n.integer = n.u64 = false;
        }
        *ret = n;
        return 0;
}

static int scan_literal(Scanner *s, const char *word, size_t len) {
        if ((size_t) (s->end - s->p) < len || memcmp(s->p, word, len) != 0)
                return -EBADMSG;
        s->p += len;
        return 0;
}

static int scan_value_skip(Scanner *s, unsigned depth);

static int scan_object_skip(Scanner *s, unsigned depth) {
        const char *k;
        size_t kl;
        int r;

        s->p++;
        scan_ws(s);
        if (s->p < s->end && *s->p == '}') {
                s->p++;
                return 0;
        }
        for (;;) {
                scan_ws(s);
                if (s->p >= s->end || *s->p != '"')
                        return -EBADMSG;
                /* Keys of skipped objects are not kept: decode into scratch
                 * only to validate escapes. */
                r = scan_string(s, &k, &kl);
                if (r < 0)
                        return r;
                scan_ws(s);
                if (s->p >= s->end || *s->p != ':')
                        return -EBADMSG;
                s->p++;
                r = scan_value_skip(s, depth + 1);
                if (r < 0)
                        return r;
                scan_ws(s);
                if (s->p >= s->end)
                        return -EBADMSG;
                if (*s->p == '}') {
                        s->p++;
                        return 0;
                }
                if (*s->p != ',')
                        return -EBADMSG;
                s->p++;
        }
}

static int scan_array_skip(Scanner *s, unsigned depth) {
        int r;

        s->p++;
        scan_ws(s);
        if (s->p < s->end && *s->p == ']') {
                s->p++;
                return 0;
        }
        for (;;) {
                r = scan_value_skip(s, depth + 1);
                if (r < 0)
                        return r;
                scan_ws(s);
                if (s->p >= s->end)
                        return -EBADMSG;
                if (*s->p == ']') {
                        s->p++;
                        return 0;
                }
                if (*s->p != ',')
                        return -EBADMSG;
                s->p++;
        }
}

static int scan_value_skip(Scanner *s, unsigned depth) {
        const char *str;
        size_t len;
        Number n;

        if (depth > SCAN_DEPTH_MAX)
                return -EBADMSG;
        scan_ws(s);
        if (s->p >= s->end)
                return -EBADMSG;
        switch (*s->p) {
        case '{':
                return scan_object_skip(s, depth);
        case '[':
                return scan_array_skip(s, depth);
        case '"':
                return scan_string(s, &str, &len);
        case 't':
                return scan_literal(s, "true", 4);
        case 'f':
                return scan_literal(s, "false", 5);
        case 'n':
                return scan_literal(s, "null", 4);
        default:
                return scan_number(s, &n);
        }
}

typedef enum Key {
        KEY_OTHER,
        KEY_OP,
        KEY_TIME,
        KEY_PATH,
        KEY_OFFSET,
        KEY_BYTES,
        KEY_AUID,
        KEY_UID,
        KEY_COMM,
        KEY_LOST,
        KEY_HOST,
        KEY_SERIAL,
        KEY_FSMON,
        KEY_FORMAT,
        KEY_SEQ,
        KEY_FIRST_SERIAL,
        KEY_RECORDS,
        KEY_LAST_SERIAL,
        KEY_HASH,
        KEY_KEY_EPOCH,
        KEY_PREV_HASH,
        KEY_REASON,
        KEY_CREATED,
        KEY_GAP_RECORDS,
        KEY_GAP_LOST,
} Key;

static Key key_lookup(const char *k, size_t len) {
#define KEY_IS(lit) (len == sizeof(lit) - 1 && memcmp(k, lit, sizeof(lit) - 1) == 0)
        switch (len ? k[0] : 0) {
        case 'o':
                if (KEY_IS("op"))
                        return KEY_OP;
                if (KEY_IS("offset"))
                        return KEY_OFFSET;
                break;
        case 't':
                if (KEY_IS("time"))
                        return KEY_TIME;
                break;
        case 's':
                if (KEY_IS("serial"))
                        return KEY_SERIAL;
                if (KEY_IS("seq"))
                        return KEY_SEQ;
                break;
        case 'f':
                if (KEY_IS("fsmon"))
                        return KEY_FSMON;
                if (KEY_IS("format"))
                        return KEY_FORMAT;
                if (KEY_IS("first_serial"))
                        return KEY_FIRST_SERIAL;
                break;
        case 'r':
                if (KEY_IS("records"))
                        return KEY_RECORDS;
                if (KEY_IS("reason"))
                        return KEY_REASON;
                break;
        case 'p':
                if (KEY_IS("path"))
                        return KEY_PATH;
                if (KEY_IS("prev_hash"))
                        return KEY_PREV_HASH;
                break;
        case 'b':
                if (KEY_IS("bytes"))
                        return KEY_BYTES;
                break;
        case 'a':
                if (KEY_IS("auid"))
                        return KEY_AUID;
                break;
        case 'u':
                if (KEY_IS("uid"))
                        return KEY_UID;
                break;
        case 'c':
                if (KEY_IS("comm"))
                        return KEY_COMM;
                if (KEY_IS("created"))
                        return KEY_CREATED;
                break;
        case 'l':
                if (KEY_IS("lost"))
                        return KEY_LOST;
                if (KEY_IS("last_serial"))
                        return KEY_LAST_SERIAL;
                break;
        case 'k':
                if (KEY_IS("key_epoch"))
                        return KEY_KEY_EPOCH;
                break;
        case 'g':
                if (KEY_IS("gap_records"))
                        return KEY_GAP_RECORDS;
                if (KEY_IS("gap_lost"))
                        return KEY_GAP_LOST;
                break;
        case 'h':
                if (KEY_IS("host"))
                        return KEY_HOST;
                if (KEY_IS("hash"))
                        return KEY_HASH;
                break;
        }
        return KEY_OTHER;
#undef KEY_IS
}

/* "SECONDS.MILLIS" as the kernel wrote it. */
static bool parse_time_string(const char *t, size_t len, uint64_t *sec, unsigned *msec) {
        uint64_t v = 0;
        unsigned m = 0, digits = 0;
        size_t i = 0;

        if (len == 0)
                return false;
        for (; i < len && t[i] >= '0' && t[i] <= '9'; i++) {
                if (v > UINT64_MAX / 10 - 9)
                        return false;
                v = v * 10 + (unsigned) (t[i] - '0');
        }
        if (i == 0)
                return false;
        if (i < len) {
                if (t[i] != '.')
                        return false;
                for (i++; i < len; i++) {
                        if (t[i] < '0' || t[i] > '9')
                                return false;
                        if (digits < 3)
                                m = m * 10 + (unsigned) (t[i] - '0');
                        digits++;
                }
        }
        for (; digits < 3; digits++)
                m *= 10;
        *sec = v;
        *msec = m;
        return true;
}

int report_scan_line(const char *line, size_t len, ReportScanBuffer *buf, ReportRecord *ret) {
        Scanner s = { .p = line, .end = line + len, .line_len = len, .buf = buf };
        ReportRecord *rec = ret;
        int r;

        memset(rec, 0, REPORT_RECORD_CLEAR_SIZE);

        buf->used = 0;

        scan_ws(&s);
        if (s.p >= s.end || *s.p != '{')
                return -EBADMSG;
        s.p++;
        scan_ws(&s);
        if (s.p < s.end && *s.p == '}') {
                s.p++;
                goto tail;
        }

        for (;;) {
                const char *k, *str;
                size_t kl, sl;
                Number n;
                Key key;

                scan_ws(&s);
                if (s.p >= s.end || *s.p != '"')
                        return -EBADMSG;
                r = scan_string(&s, &k, &kl);
                if (r < 0)
                        return r;
                key = key_lookup(k, kl);
                scan_ws(&s);
                if (s.p >= s.end || *s.p != ':')
                        return -EBADMSG;
                s.p++;
                scan_ws(&s);
                if (s.p >= s.end)
                        return -EBADMSG;

                switch (*s.p) {
                case '"':
                        r = scan_string(&s, &str, &sl);
                        if (r < 0)
                                return r;
                        switch (key) {
                        case KEY_OP:
                                rec->op = str;
                                rec->op_len = sl;
                                break;
                        case KEY_TIME:
                                rec->has_time = parse_time_string(str, sl, &rec->sec, &rec->msec);
                                break;
                        case KEY_PATH:
                                rec->path = str;
                                rec->path_len = sl;
                                break;
                        case KEY_COMM:
                                rec->comm = str;
                                rec->comm_len = sl;
                                break;
                        case KEY_HOST:
                                rec->host = str;
                                rec->host_len = sl;
                                break;
                        case KEY_FSMON:
                                rec->fsmon = str;
                                rec->fsmon_len = sl;
                                break;
                        case KEY_HASH:
                                rec->hash = str;
                                rec->hash_len = sl;
                                break;
                        case KEY_KEY_EPOCH:
                                rec->key_epoch = str;
                                rec->key_epoch_len = sl;
                                break;
                        case KEY_PREV_HASH:
                                rec->prev_hash = str;
                                rec->prev_hash_len = sl;
                                break;
                        case KEY_REASON:
                                rec->reason = str;
                                rec->reason_len = sl;
                                break;
                        default:
                                break;
                        }
                        break;

                case '-': case '0': case '1': case '2': case '3': case '4':
                case '5': case '6': case '7': case '8': case '9':
                        r = scan_number(&s, &n);
                        if (r < 0)
                                return r;
                        switch (key) {
                        case KEY_TIME:
                                rec->has_time = n.value >= 0;
                                rec->sec = (uint64_t) MAX(n.value, 0);
                                rec->msec = n.millis;
                                break;
                        case KEY_OFFSET:
                                rec->has_offset = n.integer;
                                rec->offset = n.value;
                                break;
                        case KEY_BYTES:
                                rec->has_bytes = n.integer;
                                rec->bytes = n.value;
                                break;
                        case KEY_AUID:
                                rec->has_auid = n.integer && n.value >= 0 && n.value <= UINT32_MAX;
                                rec->auid = (uint32_t) n.value;
                                break;
                        case KEY_UID:
                                rec->has_uid = n.integer && n.value >= 0 && n.value <= UINT32_MAX;
                                rec->uid = (uint32_t) n.value;
                                break;
                        case KEY_LOST:
                                rec->has_lost = n.integer && n.value >= 0;
                                rec->lost = (uint64_t) MAX(n.value, 0);
                                break;
#define U64_FIELD(key, field)                                                   \
                        case key:                                               \
                                rec->has_##field = n.u64;                        \
                                rec->field = n.uvalue;                           \
                                break;
                        U64_FIELD(KEY_SERIAL, serial)
                        U64_FIELD(KEY_FORMAT, format)
                        U64_FIELD(KEY_SEQ, seq)
                        U64_FIELD(KEY_FIRST_SERIAL, first_serial)
                        U64_FIELD(KEY_RECORDS, records)
                        U64_FIELD(KEY_LAST_SERIAL, last_serial)
                        U64_FIELD(KEY_CREATED, created)
                        U64_FIELD(KEY_GAP_RECORDS, gap_records)
                        U64_FIELD(KEY_GAP_LOST, gap_lost)
#undef U64_FIELD
                        default:
                                break;
                        }
                        break;

                case 'n':
                        r = scan_literal(&s, "null", 4);
                        if (r < 0)
                                return r;
                        /* null: "cannot be known"; the has_ flags stay false.
                         * A later duplicate key wins, as in most parsers. */
                        switch (key) {
                        case KEY_OP:     rec->op = NULL; break;
                        case KEY_PATH:   rec->path = NULL; break;
                        case KEY_COMM:   rec->comm = NULL; break;
                        case KEY_OFFSET: rec->has_offset = false; break;
                        case KEY_BYTES:  rec->has_bytes = false; break;
                        default: break;
                        }
                        break;

                default:
                        /* Objects, arrays, booleans: never part of a record's
                         * counted keys. */
                        r = scan_value_skip(&s, 1);
                        if (r < 0)
                                return r;
                        if (key == KEY_OP)
                                rec->op = NULL;
                        break;
                }

                scan_ws(&s);
                if (s.p >= s.end)
                        return -EBADMSG;
                if (*s.p == '}') {
                        s.p++;
                        break;
                }
                if (*s.p != ',')
                        return -EBADMSG;
                s.p++;
        }

tail:
        scan_ws(&s);
        if (s.p != s.end)
                return -EBADMSG;
        return 0;
}
