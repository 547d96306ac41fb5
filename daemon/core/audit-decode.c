/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <auparse.h>
#include <errno.h>
#include <libaudit.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/audit-decode.h"
#include "shared/macro.h"

typedef struct OpenSerial {
        uint64_t serial;
        uint64_t line;                  /* stats.lines when first seen */
        uint64_t age;                   /* ticks of audit_decoder_age() since */
} OpenSerial;

/* Live: an event auparse has not completed after this many ticks (seconds)
 * never will be (e.g. only a lost event's EOE arrived): forget it. */
#define OPEN_MAX_AGE 3U
/* The stream is current when its newest line is at most this old. */
#define AGE_CAUGHT_UP_SEC 1U

/* An event open longer than this many lines is taken as lost by auparse
 * (it must never hold the rest back for good). */
#define OPEN_MAX_LINES 100000U
/* Serials restart at boot: a drop this large means a new boot. */
#define SERIAL_REBOOT_DROP 1000000U
#define HELD_MAX 65536U

struct AuditDecoder {
        auparse_state_t *au;
        AuditEventHandler handler;
        void *userdata;
        AuditDecoderStats stats;

        /* The start of a line whose end has not arrived yet. */
        char *partial;
        size_t n_partial;
        char *crlf_line;        /* a CRLF line, fed without its '\r' */
        char *fast_line;        /* the fast path's copy of a SYSCALL line, split */
        bool discarding;        /* inside an overlong line: drop until '\n' */

        AuditLineFilter filter;
        void *filter_userdata;

        /* Events are handed over in serial order: one that completes while
         * an event with a lower serial is still open (its records were fed,
         * auparse has not completed it) waits here, deep-copied. */
        OpenSerial *open;               /* open[open_head..+n_open), sorted by serial */
        size_t open_head, n_open, open_size;
        AuditEvent **held;              /* sorted by serial */
        size_t n_held, held_size;
        uint64_t released_serial;       /* of the last event handed over */
        uint64_t lines_at_age;          /* stats.lines at the last audit_decoder_age() */
};

void audit_decoder_set_filter(AuditDecoder *d, AuditLineFilter filter, void *userdata) {
        d->filter = filter;
        d->filter_userdata = userdata;
}

/* strcmp(a, lit) == 0 for the short literal names compared below, without a
 * call per field (the libc call was most of the name comparisons' cost). */
static inline bool streq(const char *a, const char *lit) {
        for (; *lit; a++, lit++)
                if (*a != *lit)
                        return false;
        return *a == 0;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* Long records that fsmon never reads (the command line, hex-encoded) are
 * not handed to auparse. PROCTITLE is also how auparse knows that a syscall
 * event read from a log is complete (auditd does not log the kernel's EOE),
 * so it is replaced by a short EOE line instead of being dropped. */
typedef enum LineUse {
        LINE_KEEP,
        LINE_SYSCALL,   /* fed without the fields in syscall_unused[] */
        LINE_PATH,      /* fed without the fields in path_unused[] */
        LINE_END,       /* the kernel's EOE: fed, but never opens a serial */
        LINE_DROP,
        LINE_AS_EOE,
} LineUse;

typedef struct LineInfo {
        uint64_t sec, serial;
        unsigned msec;
        size_t type_off;        /* where "type=" begins (after a node= prefix) */
        size_t hdr_off, hdr_end;/* " msg=audit(...):" */
        LineUse use;
        bool enriched;          /* holds ENRICHED's 0x1d separator */
} LineInfo;

static LineUse type_use(const char *t, size_t n) {
        if (n == 3 && memcmp(t, "EOE", 3) == 0)
                return LINE_END;
        if (n == 9 && memcmp(t, "PROCTITLE", 9) == 0)
                return LINE_AS_EOE;
        if ((n == 6 && memcmp(t, "EXECVE", 6) == 0) || (n == 10 && memcmp(t, "BPRM_FCAPS", 10) == 0))
                return LINE_DROP;
        if (n == 7 && memcmp(t, "SYSCALL", 7) == 0)
                return LINE_SYSCALL;
        if (n == 4 && memcmp(t, "PATH", 4) == 0)
                return LINE_PATH;
        return LINE_KEEP;
}

/* Fields of SYSCALL and PATH records that nothing in fsmon reads (see
 * parse_syscall_record() and parse_path_record(): a field read there must
 * never be listed here). They are cut from the line before auparse sees
 * it: auparse splits and stores every field of every record, about 250
 * instructions a field, a tenth of decoding a syscall log. */
/* name: a field, "name=value"; n its length. */
#define IS(s) (n > sizeof(s) && memcmp(name, s "=", sizeof(s)) == 0)
static bool syscall_field_unused(const char *name, size_t n) {
        switch (name[0]) {
        case 'e': return IS("euid") || IS("egid");
        case 'f': return IS("fsuid") || IS("fsgid");
        case 'g': return IS("gid");
        case 'i': return IS("items");
        case 's': return IS("suid") || IS("sgid") || IS("ses") || IS("subj");
        case 't': return IS("tty");
        default: return false;
        }
}

static bool path_field_unused(const char *name, size_t n) {
        switch (name[0]) {
        case 'c': return IS("cap_fp") || IS("cap_fi") || IS("cap_fe") || IS("cap_fver") || IS("cap_frootid");
        case 'd': return IS("dev");
        case 'i': return IS("inode");
        case 'o': return IS("ouid") || IS("ogid") || IS("obj");
        case 'r': return IS("rdev");
        default: return false;
        }
}
#undef IS

/* Writes the line at p (n bytes, without its '\n') to out without the
 * unused fields, and without ENRICHED's interpretations (after 0x1d: fsmon
 * decodes the raw values), ending in '\n'; returns its length, at most
 * n + 1 + (a space after the header, if the line had none). */
static size_t line_strip(const char *p, size_t n, const LineInfo *info, char *out) {
        bool (*unused)(const char *, size_t) = info->use == LINE_SYSCALL ? syscall_field_unused : path_field_unused;
        const char *q = p + info->hdr_end, *e = p + n;
        size_t o = info->hdr_end;

        if (info->enriched) {
                const char *gs = memchr(q, 0x1d, e - q);
                if (gs)
                        e = gs;
        }
        memcpy(out, p, o);
        while (q < e) {
                const char *t, *te;

                while (q < e && *q == ' ')
                        q++;
                if (q == e)
                        break;
                t = q;
                te = memchr(q, ' ', e - q) ?: e;
                if (!unused(t, te - t)) {
                        out[o++] = ' ';
                        memcpy(out + o, t, te - t);
                        o += te - t;
                }
                q = te;
        }
        out[o++] = '\n';
        return o;
}

static bool has_control_bytes(const char *s, size_t n, bool *enriched) {
        size_t i = 0;

#ifdef __SSE2__
        /* Thirty-two bytes at a time: min(x, 0x1f) == x exactly for the bytes
         * below 0x20; only then look at the bytes one by one. */
        const __m128i lim = _mm_set1_epi8(0x1f);
        for (; i + 32 <= n; i += 32) {
                __m128i a = _mm_loadu_si128((const __m128i *) (s + i));
                __m128i b = _mm_loadu_si128((const __m128i *) (s + i + 16));
                __m128i m = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(a, lim), a),
                                         _mm_cmpeq_epi8(_mm_min_epu8(b, lim), b));
                if (_mm_movemask_epi8(m))
                        break;
        }
#endif
        /* Eight bytes at a time: a byte below 0x20 sets its top bit in
         * (x - 0x20..) & ~x; only then look at the bytes one by one. */
        for (; i + 8 <= n; i += 8) {
                uint64_t x;
                memcpy(&x, s + i, 8);
                if ((x - 0x2020202020202020ULL) & ~x & 0x8080808080808080ULL)
                        break;
        }
        for (; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c == 0x1d)
                        *enriched = true;
                else if (c < 0x20 && c != '\t')
                        return true;
        }
        return false;
}

static bool line_check(const char *s, size_t n, LineInfo *ret) {
        static const char msg[] = " msg=audit(";
        const char *end = s + n, *p = s, *type;
        uint64_t sec, msec, serial;

        if (n >= 5 && memcmp(p, "node=", 5) == 0) {
                p = memchr(p, ' ', n);
                if (!p)
                        return false;
                p++;
        }
        if (end - p < 5 || memcmp(p, "type=", 5) != 0)
                return false;
        ret->type_off = p - s;
        p += 5;
        if (p >= end || *p == ' ')
                return false;
        type = p;
        while (p < end && *p != ' ')
                p++;
        ret->use = type_use(type, p - type);
        ret->hdr_off = p - s;
        if ((size_t) (end - p) < sizeof(msg) - 1 || memcmp(p, msg, sizeof(msg) - 1) != 0)
                return false;
        p += sizeof(msg) - 1;

#define NUMBER(max, v)                                          \
        do {                                                    \
                const char *_b = p;                             \
                (v) = 0;                                        \
                while (p < end && is_digit(*p))                 \
                        (v) = (v) * 10 + (uint64_t) (*p++ - '0'); \
                if (p == _b || p - _b > (max))                  \
                        return false;                           \
        } while (0)

        /* 19 digits cannot overflow 64 bits. */
        NUMBER(19, sec);
        if (p >= end || *p++ != '.')
                return false;
        NUMBER(3, msec);
        if (p >= end || *p++ != ':')
                return false;
        NUMBER(19, serial);
#undef NUMBER
        if (!(end - p >= 2 && p[0] == ')' && p[1] == ':'))
                return false;
        ret->hdr_end = p + 2 - s;
        /* Control bytes (other than ENRICHED's 0x1d separator and tabs) mean
         * binary garbage; a NUL would also cut the line short in auparse.
         * Lines that are not handed to auparse need no look. */
        ret->enriched = false;
        if (ret->use != LINE_DROP && has_control_bytes(s, n, &ret->enriched))
                return false;
        ret->sec = sec;
        ret->msec = (unsigned) msec;
        ret->serial = serial;
        return true;
}

bool audit_line_is_valid(const char *s, size_t n) {
        LineInfo info;

        return line_check(s, n, &info);
}

/* Numbers: audit prints pids and ids in decimal, arch and a0..a3 in hex,
 * exit as signed decimal. Reject anything else, including overflow. */
/* Each digit's value plus one; 0: not a digit. */
static const uint8_t digit_value1[256] = {
        ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
        ['8'] = 9, ['9'] = 10,
        ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
        ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

static int parse_u64(const char *s, int base, uint64_t *ret) {
        uint64_t v = 0;
        const unsigned char *p = (const unsigned char *) s;

        if (!*p)
                return -EINVAL;
        for (; *p; p++) {
                unsigned d = (unsigned) digit_value1[*p] - 1;  /* not a digit: UINT_MAX */
                if (d >= (unsigned) base)
                        return -EINVAL;
                if (__builtin_mul_overflow(v, (uint64_t) base, &v) || __builtin_add_overflow(v, d, &v))
                        return -ERANGE;
        }
        *ret = v;
        return 0;
}

static int parse_u32(const char *s, uint32_t *ret) {
        uint64_t v;
        int r = parse_u64(s, 10, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

static int parse_i64(const char *s, int64_t *ret) {
        bool neg = s[0] == '-';
        uint64_t v;
        int r = parse_u64(s + neg, 10, &v);
        if (r < 0)
                return r;
        if (v > (uint64_t) INT64_MAX + neg)
                return -ERANGE;
        *ret = neg ? (int64_t) (0 - v) : (int64_t) v;
        return 0;
}

enum {
        SEEN_ARCH = 1 << 0,
        SEEN_SYSCALL = 1 << 1,
        SEEN_PID = 1 << 2,
        SEEN_ARGS = 0xf << 3,
};

/* One field of a SYSCALL record (n and v as auparse gives them: the raw
 * value, quotes and all); for parse_syscall_record() and the fast path. */
static void syscall_field(AuditEvent *ev, const char *n, const char *v, unsigned *seen, bool *bad) {
        uint64_t u = 0;

        switch (n[0]) {
        case 'a':
                if (n[1] >= '0' && n[1] <= '3' && n[2] == 0) {
                        *bad |= parse_u64(v, 16, &ev->a[n[1] - '0']) < 0;
                        *seen |= 1u << (3 + n[1] - '0');
                } else if (streq(n, "arch")) {
                        *bad |= parse_u64(v, 16, &u) < 0 || u > UINT32_MAX;
                        ev->arch = (uint32_t) u;
                        *seen |= SEEN_ARCH;
                } else if (streq(n, "auid"))
                        *bad |= parse_u32(v, &ev->auid) < 0;
                break;
        case 's':
                if (streq(n, "syscall")) {
                        *bad |= parse_u64(v, 10, &u) < 0 || u > INT32_MAX;
                        ev->syscall = (int) u;
                        *seen |= SEEN_SYSCALL;
                } else if (streq(n, "success"))
                        ev->success = streq(v, "yes");
                break;
        case 'e':
                if (streq(n, "exit")) {
                        *bad |= parse_i64(v, &ev->exit) < 0;
                        ev->has_exit = true;
                } else if (streq(n, "exe"))
                        ev->exe = v;
                break;
        case 'p':
                if (streq(n, "pid")) {
                        *bad |= parse_u32(v, &ev->pid) < 0;
                        *seen |= SEEN_PID;
                } else if (streq(n, "ppid"))
                        *bad |= parse_u32(v, &ev->ppid) < 0;
                break;
        case 'u':
                if (streq(n, "uid"))
                        *bad |= parse_u32(v, &ev->uid) < 0;
                break;
        case 'c':
                if (streq(n, "comm"))
                        ev->comm = v;
                break;
        case 'k':
                if (streq(n, "key"))
                        ev->key = v;
                break;
        }
}

static bool syscall_fields_ok(unsigned seen, bool bad) {
        if ((seen & (SEEN_ARCH | SEEN_SYSCALL | SEEN_PID)) != (SEEN_ARCH | SEEN_SYSCALL | SEEN_PID))
                return false;
        /* Every syscall record carries a0..a3. */
        return !bad && (seen & SEEN_ARGS) == SEEN_ARGS;
}

static bool parse_syscall_record(auparse_state_t *au, AuditEvent *ev) {
        unsigned seen = 0;
        bool bad = false;

        if (auparse_first_field(au) <= 0)
                return false;
        do {
                const char *n = auparse_get_field_name(au), *v = auparse_get_field_str(au);

                if (n && v)
                        syscall_field(ev, n, v, &seen, &bad);
        } while (auparse_next_field(au) > 0);

        return syscall_fields_ok(seen, bad);
}

static bool parse_mmap_record(auparse_state_t *au, AuditEvent *ev) {
        bool bad = false, have_fd = false;

        if (auparse_first_field(au) <= 0)
                return false;
        do {
                const char *n = auparse_get_field_name(au), *v = auparse_get_field_str(au);
                uint64_t u = 0;

                if (!n || !v)
                        continue;
                if (streq(n, "fd")) {
                        bad |= parse_u64(v, 10, &u) < 0 || u > INT32_MAX;
                        ev->mmap_fd = (int) u;
                        have_fd = true;
                } else if (streq(n, "flags")) {
                        const char *x = v;
                        if (x[0] == '0' && (x[1] == 'x' || x[1] == 'X'))
                                x += 2;
                        bad |= parse_u64(x, 16, &ev->mmap_flags) < 0;
                }
        } while (auparse_next_field(au) > 0);

        if (bad || !have_fd)
                return false;
        ev->has_mmap = true;
        return true;
}

static void parse_cwd_record(auparse_state_t *au, AuditEvent *ev) {
        if (auparse_first_field(au) <= 0)
                return;
        do {
                const char *n = auparse_get_field_name(au);
                if (n && streq(n, "cwd")) {
                        ev->cwd = auparse_get_field_str(au);
                        return;
                }
        } while (auparse_next_field(au) > 0);
}

/* LOGIN: "pid=N uid=U ... old-auid=A auid=B ... res=1"; only a successful
 * one counts (res=0: the write was refused). */
static void parse_login_record(auparse_state_t *au, AuditEvent *ev) {
        bool pid = false, auid = false, ok = false;

        if (auparse_first_field(au) <= 0)
                return;
        do {
                const char *n = auparse_get_field_name(au), *v = auparse_get_field_str(au);

                if (!n || !v)
                        continue;
                if (strcmp(n, "pid") == 0)
                        pid = parse_u32(v, &ev->login_pid) >= 0;
                else if (strcmp(n, "auid") == 0)
                        auid = parse_u32(v, &ev->login_auid) >= 0;
                else if (strcmp(n, "res") == 0)
                        ok = strcmp(v, "1") == 0 || strcmp(v, "success") == 0 || strcmp(v, "yes") == 0;
        } while (auparse_next_field(au) > 0);
        ev->has_login = pid && auid && ok;
}

static bool parse_path_record(auparse_state_t *au, AuditEvent *ev) {
        AuditPathRecord p = { .item = -1 };
        bool bad = false;

        if (auparse_first_field(au) <= 0)
                return true;
        do {
                const char *n = auparse_get_field_name(au), *v = auparse_get_field_str(au);
                uint64_t u = 0;

                if (!n || !v)
                        continue;
                if (streq(n, "item")) {
                        bad |= parse_u64(v, 10, &u) < 0 || u > 1024;
                        p.item = (int) u;
                } else if (streq(n, "name"))
                        p.name = v;
                else if (streq(n, "mode")) {
                        bad |= parse_u64(v, 8, &u) < 0 || u > UINT32_MAX;
                        p.mode = (uint32_t) u;
                        p.has_mode = true;
                } else if (streq(n, "nametype"))
                        p.nametype = v;
        } while (auparse_next_field(au) > 0);

        if (bad)
                return false;
        if (ev->n_paths < AUDIT_EVENT_MAX_PATHS)
                ev->paths[ev->n_paths++] = p;
        return true;
}

/* The serials open are kept sorted, with the lowest first: lines come in
 * serial order almost always, so an add is an append and a completion takes
 * the first; the lowest is what open_min() wants. Scanning an unsorted list
 * instead made a large read (a few hundred events between two feeds, as a
 * live batch with the kernel's EOE records is) quadratic. */
static size_t open_lower_bound(const AuditDecoder *d, uint64_t serial) {
        size_t lo = d->open_head, hi = d->open_head + d->n_open;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (d->open[mid].serial < serial)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static void open_add(AuditDecoder *d, uint64_t serial) {
        size_t end = d->open_head + d->n_open, pos = end;

        if (d->n_open > 0 && d->open[end - 1].serial >= serial) {
                if (d->open[end - 1].serial == serial)
                        return;         /* the next record of the same event */
                pos = open_lower_bound(d, serial);
                if (d->open[pos].serial == serial)
                        return;
        }
        if (end == d->open_size) {
                if (d->open_head > 0) {
                        memmove(d->open, d->open + d->open_head, d->n_open * sizeof(OpenSerial));
                        pos -= d->open_head;
                        end -= d->open_head;
                        d->open_head = 0;
                } else {
                        size_t n = MAX(d->open_size * 2, (size_t) 16);
                        OpenSerial *o = realloc(d->open, n * sizeof(OpenSerial));
                        if (!o)
                                return;         /* ordering degrades, nothing is lost */
                        d->open = o;
                        d->open_size = n;
                }
        }
        memmove(d->open + pos + 1, d->open + pos, (end - pos) * sizeof(OpenSerial));
        d->open[pos] = (OpenSerial) { .serial = serial, .line = d->stats.lines };
        d->n_open++;
}

static void open_remove_at(AuditDecoder *d, size_t i) {
        size_t end = d->open_head + d->n_open;

        if (i == d->open_head)
                d->open_head++;
        else
                memmove(d->open + i, d->open + i + 1, (end - i - 1) * sizeof(OpenSerial));
        if (--d->n_open == 0)
                d->open_head = 0;
}

static void open_remove(AuditDecoder *d, uint64_t serial) {
        size_t i;

        if (d->n_open == 0)
                return;
        i = d->open[d->open_head].serial == serial ? d->open_head : open_lower_bound(d, serial);
        if (i < d->open_head + d->n_open && d->open[i].serial == serial)
                open_remove_at(d, i);
}

/* The lowest serial still open (UINT64_MAX: none); forgets stale ones. One
 * that is not the lowest holds nothing back and is looked at once it is. */
static uint64_t open_min(AuditDecoder *d) {
        while (d->n_open > 0) {
                const OpenSerial *o = d->open + d->open_head;
                if (d->stats.lines - o->line <= OPEN_MAX_LINES)
                        return o->serial;
                open_remove_at(d, d->open_head);
        }
        return UINT64_MAX;
}

static AuditEvent *event_copy(const AuditEvent *ev) {
        const char *strs[5 + 2 * AUDIT_EVENT_MAX_PATHS] = {
                ev->comm, ev->exe, ev->key, ev->cwd, ev->node,
        };
        size_t n = 5, total = sizeof(AuditEvent);
        AuditEvent *c;
        char *p;

        for (unsigned i = 0; i < ev->n_paths; i++) {
                strs[n++] = ev->paths[i].name;
                strs[n++] = ev->paths[i].nametype;
        }
        for (size_t i = 0; i < n; i++)
                if (strs[i])
                        total += strlen(strs[i]) + 1;
        c = malloc(total);
        if (!c)
                return NULL;
        *c = *ev;
        p = (char *) (c + 1);
#define COPY(field, src)                                        \
        do {                                                    \
                if (src) {                                      \
                        size_t _l = strlen(src) + 1;            \
                        memcpy(p, (src), _l);                   \
                        (field) = p;                            \
                        p += _l;                                \
                }                                               \
        } while (0)
        COPY(c->comm, ev->comm);
        COPY(c->exe, ev->exe);
        COPY(c->key, ev->key);
        COPY(c->cwd, ev->cwd);
        COPY(c->node, ev->node);
        for (unsigned i = 0; i < ev->n_paths; i++) {
                COPY(c->paths[i].name, ev->paths[i].name);
                COPY(c->paths[i].nametype, ev->paths[i].nametype);
        }
#undef COPY
        return c;
}

static void deliver(AuditDecoder *d, const AuditEvent *ev) {
        d->released_serial = ev->serial;
        d->handler(ev, d->userdata);
}

/* Hands over held events that nothing open precedes (all, with force). */
static void release_held(AuditDecoder *d, bool force) {
        uint64_t m = force ? UINT64_MAX : open_min(d);
        size_t i = 0;

        while (i < d->n_held && (force || d->held[i]->serial < m)) {
                deliver(d, d->held[i]);
                free(d->held[i]);
                i++;
        }
        if (i > 0) {
                memmove(d->held, d->held + i, (d->n_held - i) * sizeof(AuditEvent *));
                d->n_held -= i;
        }
}

static void hold(AuditDecoder *d, const AuditEvent *ev) {
        AuditEvent *c;
        size_t i;

        if (d->n_held == d->held_size) {
                size_t n = MAX(d->held_size * 2, (size_t) 64);
                AuditEvent **h = realloc(d->held, n * sizeof(AuditEvent *));
                if (!h) {
                        deliver(d, ev);         /* out of order rather than lost */
                        return;
                }
                d->held = h;
                d->held_size = n;
        }
        c = event_copy(ev);
        if (!c) {
                deliver(d, ev);
                return;
        }
        for (i = d->n_held; i > 0 && d->held[i - 1]->serial > c->serial; i--)
                ;
        memmove(d->held + i + 1, d->held + i, (d->n_held - i) * sizeof(AuditEvent *));
        d->held[i] = c;
        d->n_held++;
}

static void event_complete(AuditDecoder *d, const AuditEvent *ev) {
        uint64_t m;

        open_remove(d, ev->serial);
        /* A new boot: what is held belongs before it. */
        if (d->released_serial > SERIAL_REBOOT_DROP && ev->serial < d->released_serial - SERIAL_REBOOT_DROP)
                release_held(d, true);

        m = open_min(d);
        if (d->n_held == 0 && ev->serial < m)
                deliver(d, ev);         /* the usual case: in order already */
        else {
                hold(d, ev);
                if (d->n_held > HELD_MAX)
                        release_held(d, true);
        }
        release_held(d, false);
}

static void on_auparse_event(auparse_state_t *au, auparse_cb_event_t type, void *userdata) {
        AuditDecoder *d = userdata;
        const au_event_t *ts;
        AuditEvent ev = {};

        if (type != AUPARSE_CB_EVENT_READY)
                return;

        ts = auparse_get_timestamp(au);
        if (!ts)
                return;
        ev.sec = (uint64_t) ts->sec;
        ev.msec = ts->milli;
        ev.serial = ts->serial;
        ev.node = ts->host;

        if (auparse_first_record(au) <= 0)
                return;
        do {
                switch (auparse_get_type(au)) {
                case AUDIT_SYSCALL:
                        ev.has_syscall = true;
                        if (!parse_syscall_record(au, &ev))
                                ev.malformed = true;
                        break;
                case AUDIT_CWD:
                        parse_cwd_record(au, &ev);
                        break;
                case AUDIT_LOGIN:
                        parse_login_record(au, &ev);
                        break;
                case AUDIT_PATH:
                        if (!parse_path_record(au, &ev))
                                ev.malformed = true;
                        break;
                case AUDIT_MMAP:
                        if (!parse_mmap_record(au, &ev))
                                ev.malformed = true;
                        break;
                default:
                        break;
                }
        } while (auparse_next_record(au) > 0);

        d->stats.events++;
        if (ev.malformed)
                d->stats.malformed_events++;
        event_complete(d, &ev);
}

int audit_decoder_new(AuditEventHandler handler, void *userdata, AuditDecoder **ret) {
        AuditDecoder *d;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->handler = handler;
        d->userdata = userdata;
        d->au = auparse_init(AUSOURCE_FEED, NULL);
        if (!d->au) {
                free(d);
                return -errno ?: -ENOMEM;
        }
        /* Do not let auparse escape or interpret anything: we decode raw. */
        auparse_add_callback(d->au, on_auparse_event, d, NULL);
        *ret = d;
        return 0;
}

AuditDecoder *audit_decoder_free(AuditDecoder *d) {
        if (!d)
                return NULL;
        if (d->au) {
                auparse_flush_feed(d->au);
                auparse_destroy(d->au);
        }
        free(d->partial);
        free(d->crlf_line);
        free(d->fast_line);
        for (size_t i = 0; i < d->n_held; i++)
                free(d->held[i]);
        free(d->held);
        free(d->open);
        free(d);
        return NULL;
}

/* Feeds "[node=N ]type=EOE msg=audit(S.M:N): " for the line at p. */
static int feed_eoe(AuditDecoder *d, const char *p, const LineInfo *info) {
        char line[256];
        size_t hdr = info->hdr_end - info->hdr_off, n = 0;

        if (info->type_off + hdr + 16 > sizeof(line))
                return 0;
        memcpy(line, p, info->type_off);
        n = info->type_off;
        memcpy(line + n, "type=EOE", 8);
        n += 8;
        memcpy(line + n, p + info->hdr_off, hdr);
        n += hdr;
        line[n++] = ' ';
        line[n++] = '\n';
        return auparse_feed(d->au, line, n) < 0 ? -EIO : 0;
}

static bool open_has(const AuditDecoder *d, uint64_t serial) {
        size_t i;

        if (d->n_open == 0)
                return false;
        i = open_lower_bound(d, serial);
        return i < d->open_head + d->n_open && d->open[i].serial == serial;
}

/* The fast path, for most events of a syscall log or stream: a SYSCALL line
 * (p, n bytes, checked as info) whose next line (at next, before end) is
 * its event's end (the kernel's EOE, or PROCTITLE in auditd's logs) is a
 * whole event: decoded here, without auparse, which splits, stores and
 * groups every record at about ten times the cost. Fields are taken as
 * auparse would (split at spaces, name before the first '=', the raw value;
 * ENRICHED's interpretations after 0x1d left out). Returns the end of the
 * event's last line, or NULL when the slow path must take it (another record
 * of the serial was seen, a node= prefix, a CR, the next line is not its end
 * or not in this buffer). */
static const char *fast_event(AuditDecoder *d, const char *p, size_t n, const LineInfo *info,
                              const char *next, const char *end) {
        const char *nl, *e;
        LineInfo ni;
        AuditEvent ev = {};
        unsigned seen = 0;
        bool bad = false;
        char *q, *qe;

        if (next >= end || info->type_off != 0 || open_has(d, info->serial))
                return NULL;
        nl = memchr(next, '\n', end - next);
        if (!nl || nl == next || nl[-1] == '\r' || (size_t) (nl - next) > AUDIT_LINE_MAX)
                return NULL;
        if (!line_check(next, nl - next, &ni) || (ni.use != LINE_END && ni.use != LINE_AS_EOE) ||
            ni.type_off != 0 || ni.serial != info->serial || ni.sec != info->sec || ni.msec != info->msec)
                return NULL;
        if (!d->fast_line && !(d->fast_line = malloc(AUDIT_LINE_MAX + 1)))
                return NULL;

        e = p + n;
        if (info->enriched)
                e = memchr(p + info->hdr_end, 0x1d, e - (p + info->hdr_end)) ?: e;
        memcpy(d->fast_line, p + info->hdr_end, e - (p + info->hdr_end));
        q = d->fast_line;
        qe = q + (e - (p + info->hdr_end));
        *qe = 0;
        while (q < qe) {
                char *t, *te, *eq;

                while (q < qe && *q == ' ')
                        q++;
                if (q == qe)
                        break;
                t = q;
                te = memchr(q, ' ', qe - q) ?: qe;
                *te = 0;
                eq = memchr(t, '=', te - t);
                if (eq && eq > t) {
                        *eq = 0;
                        syscall_field(&ev, t, eq + 1, &seen, &bad);
                }
                q = te + 1;
        }

        ev.sec = info->sec;
        ev.msec = info->msec;
        ev.serial = info->serial;
        ev.has_syscall = true;
        ev.malformed = !syscall_fields_ok(seen, bad);
        d->stats.lines++;       /* the end line */
        d->stats.events++;
        if (ev.malformed)
                d->stats.malformed_events++;
        event_complete(d, &ev);
        return nl + 1;
}

static int feed_lines(AuditDecoder *d, const char *data, size_t size) {
        /* data holds whole lines, each ending in '\n'. Feed runs of valid
         * lines in one call; skip invalid ones. */
        const char *run = data, *p = data, *end = data + size;

        while (p < end) {
                const char *nl = memchr(p, '\n', end - p);
                size_t n = nl - p;
                LineInfo info;
                bool skip = false, eoe = false, cr = false, strip;

                /* CRLF line endings (a log copied through Windows or some
                 * collectors): the '\r' is not part of the record. */
                if (n > 0 && p[n - 1] == '\r') {
                        n--;
                        cr = true;
                }
                d->stats.lines++;
                if (n > AUDIT_LINE_MAX || !line_check(p, n, &info)) {
                        d->stats.malformed_lines++;
                        skip = true;
                } else if (d->filter && !d->filter(info.sec, info.msec, info.serial, d->filter_userdata)) {
                        d->stats.filtered_lines++;
                        skip = true;
                } else if (info.use == LINE_DROP || info.use == LINE_AS_EOE) {
                        skip = true;
                        eoe = info.use == LINE_AS_EOE;
                }
                /* (Its end line has the same time stamp and serial: the
                 * filter, which passed this line, passes it too.) */
                if (!skip && !cr && info.use == LINE_SYSCALL) {
                        const char *after;

                        /* What auparse was fed so far comes first, and
                         * hands over its last complete event. */
                        if (p > run && (auparse_feed(d->au, run, p - run) < 0 || auparse_feed(d->au, "", 0) < 0))
                                return -EIO;
                        run = p;
                        after = fast_event(d, p, n, &info, nl + 1, end);
                        if (after) {
                                if (info.sec > d->stats.newest_sec)
                                        d->stats.newest_sec = info.sec;
                                run = p = after;
                                continue;
                        }
                }
                /* An end of event never opens a serial: its event is open
                 * already, or was completed before it came (auparse then
                 * drops it), and a serial opened by it would hold every
                 * later event back until it aged out. */
                if (!skip && (info.use == LINE_KEEP || info.use == LINE_SYSCALL || info.use == LINE_PATH))
                        open_add(d, info.serial);
                if ((!skip || eoe) && info.sec > d->stats.newest_sec)
                        d->stats.newest_sec = info.sec;
                strip = !skip && (info.use == LINE_SYSCALL || info.use == LINE_PATH);
                if (skip || cr || strip) {
                        if (p > run && auparse_feed(d->au, run, p - run) < 0)
                                return -EIO;
                        run = nl + 1;
                        if (eoe && feed_eoe(d, p, &info) < 0)
                                return -EIO;
                }
                if (!skip && (cr || strip)) {
                        /* auparse would keep the '\r' in the last field:
                         * feed the line with a plain '\n'. */
                        size_t l = n + 1;
                        if (!d->crlf_line && !(d->crlf_line = malloc(AUDIT_LINE_MAX + 2)))
                                return -ENOMEM;
                        if (strip)
                                l = line_strip(p, n, &info, d->crlf_line);
                        else {
                                memcpy(d->crlf_line, p, n);
                                d->crlf_line[n] = '\n';
                        }
                        if (auparse_feed(d->au, d->crlf_line, l) < 0)
                                return -EIO;
                }
                p = nl + 1;
        }
        if (p > run && auparse_feed(d->au, run, p - run) < 0)
                return -EIO;
        /* auparse marks an event complete when its EOE arrives but hands it
         * over only on its next call: without this, the last event of a
         * burst would wait for the next record or tick (and at a stop, for
         * the next start's read-back). */
        if (auparse_feed(d->au, "", 0) < 0)
                return -EIO;
        return 0;
}

int audit_decoder_feed(AuditDecoder *d, const char *data, size_t size) {
        const char *end = data + size, *last_nl;
        int r;

        d->stats.bytes += size;

        while (data < end) {
                if (d->discarding) {
                        const char *nl = memchr(data, '\n', end - data);
                        if (!nl)
                                return 0;
                        d->discarding = false;
                        data = nl + 1;
                        continue;
                }

                if (d->n_partial > 0) {
                        /* Complete the line carried over from the last chunk. */
                        const char *nl = memchr(data, '\n', end - data);
                        size_t take = (nl ? nl + 1 : end) - data;

                        if (d->n_partial + take > AUDIT_LINE_MAX + 1) {
                                d->stats.lines++;
                                d->stats.malformed_lines++;
                                d->n_partial = 0;
                                d->discarding = !nl;
                                data += take;
                                continue;
                        }
                        memcpy(d->partial + d->n_partial, data, take);
                        d->n_partial += take;
                        data += take;
                        if (!nl)
                                return 0;
                        r = feed_lines(d, d->partial, d->n_partial);
                        d->n_partial = 0;
                        if (r < 0)
                                return r;
                        continue;
                }

                last_nl = memrchr(data, '\n', end - data);
                if (last_nl) {
                        r = feed_lines(d, data, last_nl + 1 - data);
                        if (r < 0)
                                return r;
                        data = last_nl + 1;
                }
                if (data < end) {
                        size_t rest = end - data;
                        if (rest > AUDIT_LINE_MAX) {
                                d->stats.lines++;
                                d->stats.malformed_lines++;
                                d->discarding = true;
                                return 0;
                        }
                        if (!d->partial) {
                                d->partial = malloc(AUDIT_LINE_MAX + 1);
                                if (!d->partial)
                                        return -ENOMEM;
                        }
                        memcpy(d->partial, data, rest);
                        d->n_partial = rest;
                        return 0;
                }
        }
        return 0;
}

int audit_decoder_flush(AuditDecoder *d) {
        if (d->n_partial > 0) {
                /* A last line without '\n': a torn write, or a file cut short. */
                if (d->n_partial < AUDIT_LINE_MAX + 1) {
                        d->partial[d->n_partial++] = '\n';
                        (void) feed_lines(d, d->partial, d->n_partial);
                }
                d->n_partial = 0;
        }
        d->discarding = false;
        if (auparse_flush_feed(d->au) < 0)
                return -EIO;
        d->n_open = d->open_head = 0;
        release_held(d, true);
        return 0;
}

void audit_decoder_age(AuditDecoder *d) {
        bool idle = d->stats.lines == d->lines_at_age;
        uint64_t now = (uint64_t) time(NULL);

        /* auparse ages events by the wall clock: when the stream runs behind
         * it (a burst queued in the socket), an event whose first records
         * were read just before this tick and whose others are still queued
         * would be completed half-way and split. So only age while the
         * stream keeps up with the clock, or when nothing came since the
         * last tick; otherwise auparse completes events by the stream's own
         * time stamps (and by their EOE). */
        d->lines_at_age = d->stats.lines;
        if (idle || now <= d->stats.newest_sec + AGE_CAUGHT_UP_SEC)
                auparse_feed_age_events(d->au);
        {
                size_t k = d->open_head;
                for (size_t i = d->open_head; i < d->open_head + d->n_open; i++)
                        if (++d->open[i].age <= OPEN_MAX_AGE)
                                d->open[k++] = d->open[i];
                d->n_open = k - d->open_head;
                if (d->n_open == 0)
                        d->open_head = 0;
        }
        release_held(d, false);
}

AuditDecoderStats audit_decoder_get_stats(const AuditDecoder *d) {
        AuditDecoderStats st = d->stats;

        st.held = d->n_held;
        st.open = d->n_open;
        return st;
}
