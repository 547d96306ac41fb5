/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "report/report-segment.h"

#define CHUNK (256U * 1024U)
/* As segment.h's SEGMENT_LINE_MAX: a longer line is damage. */
#define LINE_MAX_BYTES (1024U * 1024U)
/* As segment.c: damaged input must not make us allocate a lot. */
#define ZSTD_WINDOW_LOG_MAX 24
#define HASH_SIZE 32U
#define HOST_MAX 64U
#define HOST_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

typedef enum State {
        STATE_HEADER,
        STATE_RECORDS,
        STATE_END,
        STATE_BROKEN,           /* unfinished segment: counting lines after the valid prefix */
        STATE_FAILED,
} State;

struct ReportSegmentReader {
        char *buf;              /* text: lines, the partial last one moved to the front */
        size_t size;
        uint8_t *in;            /* compressed input */
        ZSTD_DCtx *dctx;
        crypto_generichash_state hash;

        /* Per file. */
        Report *delta;
        ReportScanBuffer *scan;
        bool open_segment;
        bool compressed;
        size_t zstd_last;
        State state;
        bool has_header;
        int error;              /* a hard error (ENOMEM) from the report */
        uint64_t lineno;
        uint64_t seq, first_serial, records, last_serial;
        char host[HOST_MAX + 1];
        const char *layout_host;
        uint64_t valid_bytes, torn;
        const char *hash_from;  /* start of bytes to hash, in buf */
        char message[160];
        VerifySegmentFacts facts;
        VerifyDamage damage;
};

int report_segment_reader_new(ReportSegmentReader **ret) {
        _cleanup_(report_segment_reader_freep) ReportSegmentReader *r = NULL;

        if (sodium_init() < 0)
                return -EIO;
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->size = 2 * CHUNK;
        r->buf = malloc(r->size);
        r->in = malloc(CHUNK);
        r->dctx = ZSTD_createDCtx();
        if (!r->buf || !r->in || !r->dctx)
                return -ENOMEM;
        *ret = TAKE_PTR(r);
        return 0;
}

ReportSegmentReader *report_segment_reader_free(ReportSegmentReader *r) {
        if (!r)
                return NULL;
        free(r->buf);
        free(r->in);
        ZSTD_freeDCtx(r->dctx);
        free(r);
        return NULL;
}

const char *report_segment_error(ReportSegmentReader *r) {
        return r->message[0] ? r->message : "not a valid segment";
}

uint64_t report_segment_bytes(ReportSegmentReader *r) {
        return r->valid_bytes;
}

uint64_t report_segment_records(ReportSegmentReader *r) {
        return r->records;
}

uint64_t report_segment_torn(ReportSegmentReader *r) {
        return r->torn;
}

const VerifySegmentFacts *report_segment_facts(ReportSegmentReader *r) {
        return &r->facts;
}

VerifyDamage report_segment_damage(ReportSegmentReader *r) {
        return r->damage;
}

static bool is_lower_hex(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

/* Copies a fixed-length lowercase hex field, or leaves "" when it is not one. */
static void copy_hex(char *dst, const char *s, size_t n, size_t want) {
        dst[0] = 0;
        if (s && n == want && is_lower_hex(s, n)) {
                memcpy(dst, s, n);
                dst[n] = 0;
        }
}

/* A gap record's facts, for `fsmonctl verify`: losses and the reason. */
static void note_gap(ReportSegmentReader *r, const ReportRecord *rec) {
        VerifySegmentFacts *f = &r->facts;

        f->gap_records++;
        if (rec->has_lost)
                f->gap_lost += rec->lost;
        else
                f->gap_lost_unknown = true;
        if (f->n_gaps < VERIFY_SEGMENT_GAPS_MAX) {
                VerifyGap *g = &f->gaps[f->n_gaps++];
                size_t n = rec->reason ? MIN(rec->reason_len, sizeof(g->reason) - 1) : 0;

                *g = (VerifyGap) { .serial = rec->serial, .lost = rec->lost, .lost_known = rec->has_lost };
                /* Shown to people, cut to length: anything but printable
                 * ASCII becomes '?', so a cut never splits a character. */
                for (size_t i = 0; i < n; i++) {
                        unsigned char c = (unsigned char) rec->reason[i];
                        g->reason[i] = c < 0x20 || c >= 0x7f ? '?' : (char) c;
                }
                g->reason[n] = 0;
        }
}

_printf_(2, 3)
static void damage(ReportSegmentReader *r, const char *fmt, ...) {
        char msg[sizeof(r->message) - 32];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        (void) snprintf(r->message, sizeof(r->message), "line %" PRIu64 ": %s", r->lineno, msg);

        if (r->open_segment && r->state != STATE_FAILED) {
                /* A damaged header line is not a lost record. */
                r->torn = r->state == STATE_HEADER ? 0 : 1;
                r->state = STATE_BROKEN;
        } else
                r->state = STATE_FAILED;
}

/* Hashes the pending span up to end (exclusive) and restarts it at next. */
static void hash_flush(ReportSegmentReader *r, const char *end, const char *next) {
        if (end > r->hash_from) {
                crypto_generichash_update(&r->hash, (const unsigned char *) r->hash_from,
                                          (unsigned long long) (end - r->hash_from));
                r->valid_bytes += (uint64_t) (end - r->hash_from);
        }
        r->hash_from = next;
}

static bool host_is_valid(const char *s, size_t n) {
        if (n == 0 || n > HOST_MAX || s[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!s[i] || !strchr(HOST_CHARS, s[i]))
                        return false;
        return true;
}

static bool str_eq(const char *s, size_t n, const char *lit) {
        return s && n == strlen(lit) && memcmp(s, lit, n) == 0;
}

static void footer(ReportSegmentReader *r, const ReportRecord *rec, const char *line, const char *next) {
        crypto_generichash_state st;
        unsigned char h[HASH_SIZE];
        char hex[HASH_SIZE * 2 + 1];

        /* The footer itself is not hashed. */
        hash_flush(r, line, next);
        if (!str_eq(rec->fsmon, rec->fsmon_len, "end") || rec->op || !rec->has_seq || !rec->has_records ||
            !rec->has_last_serial || !rec->hash || rec->hash_len != HASH_SIZE * 2)
                return damage(r, "not a valid footer");
        if (rec->seq != r->seq)
                return damage(r, "footer's seq %" PRIu64 " differs from header's %" PRIu64, rec->seq, r->seq);
        if (rec->records != r->records)
                return damage(r, "footer counts %" PRIu64 " records, segment has %" PRIu64, rec->records, r->records);
        if (rec->last_serial != (r->records > 0 ? r->last_serial : r->first_serial))
                return damage(r, "footer's last serial does not match the records");
        st = r->hash;
        crypto_generichash_final(&st, h, sizeof(h));
        sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
        if (memcmp(hex, rec->hash, HASH_SIZE * 2) != 0)
                return damage(r, "hash mismatch: content altered");
        r->state = STATE_END;
        r->facts.has_footer = true;
        r->facts.footer_has_gap_counts = rec->has_gap_records && rec->has_gap_lost;
        r->facts.footer_gap_records = rec->gap_records;
        r->facts.footer_gap_lost = rec->gap_lost;
}

/* One complete line [line, line + len); next: just past its newline. */
static void line(ReportSegmentReader *r, const char *line, size_t len, const char *next) {
        ReportRecord rec;
        int k;

        r->lineno++;
        if (r->state == STATE_FAILED)
                return;
        if (r->state == STATE_BROKEN) {
                r->torn++;
                return;
        }

        if (len > LINE_MAX_BYTES) {
                hash_flush(r, line, next);
                return damage(r, "line longer than %u bytes", LINE_MAX_BYTES);
        }

        k = report_scan_line(line, len, r->scan, &rec);
        if (k == -ENOMEM) {
                r->error = k;
                r->state = STATE_FAILED;
                return;
        }

        switch (r->state) {
        case STATE_HEADER:
                if (k < 0 || !str_eq(rec.fsmon, rec.fsmon_len, "segment") || rec.op ||
                    !rec.has_format || rec.format != 1 || !rec.has_seq || !rec.has_first_serial ||
                    !host_is_valid(rec.host, rec.host_len)) {
                        hash_flush(r, line, next);
                        return damage(r, "not a valid fsmon segment header");
                }
                r->seq = rec.seq;
                r->first_serial = rec.first_serial;
                memcpy(r->host, rec.host, rec.host_len);
                r->host[rec.host_len] = 0;
                r->has_header = true;
                r->state = STATE_RECORDS;
                r->facts.has_header = true;
                r->facts.seq = rec.seq;
                r->facts.first_serial = rec.first_serial;
                r->facts.created = rec.has_created ? rec.created : 0;
                memcpy(r->facts.host, r->host, rec.host_len + 1);
                copy_hex(r->facts.key_epoch, rec.key_epoch, rec.key_epoch_len, VERIFY_EPOCH_HEX);
                copy_hex(r->facts.prev_hash, rec.prev_hash, rec.prev_hash_len, VERIFY_HASH_HEX);
                return;

        case STATE_RECORDS:
                if (k < 0) {
                        hash_flush(r, line, next);
                        return damage(r, "not a valid JSON object");
                }
                if (rec.fsmon)
                        return footer(r, &rec, line, next);
                if (!rec.op || rec.op_len == 0) {
                        hash_flush(r, line, next);
                        return damage(r, "record without \"op\"");
                }
                if (!rec.has_serial) {
                        hash_flush(r, line, next);
                        return damage(r, "record without a valid \"serial\"");
                }
                if (r->records == 0 && rec.serial != r->first_serial) {
                        hash_flush(r, line, next);
                        return damage(r, "first record's serial differs from the header's");
                }
                r->last_serial = rec.serial;
                r->records++;
                if (rec.has_time) {
                        if (!r->facts.has_time || rec.sec < r->facts.first_sec)
                                r->facts.first_sec = rec.sec;
                        if (!r->facts.has_time || rec.sec > r->facts.last_sec)
                                r->facts.last_sec = rec.sec;
                        r->facts.has_time = true;
                }
                if (str_eq(rec.op, rec.op_len, "gap"))
                        note_gap(r, &rec);
                /* No report: `fsmonctl verify` reads for the facts alone. */
                k = r->delta ? report_add(r->delta, &rec, r->host[0] ? r->host : r->layout_host) : 0;
                if (k < 0) {
                        r->error = k;
                        r->state = STATE_FAILED;
                }
                return;

        case STATE_END:
                hash_flush(r, line, next);
                return damage(r, "data after the footer");

        default:
                return;
        }
}

/* Processes the complete lines of buf[0..n); returns how many bytes are
 * left over (a partial last line). */
static size_t lines(ReportSegmentReader *r, size_t n) {
        const char *p = r->buf, *end = r->buf + n;

        r->hash_from = r->buf;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                if (!nl)
                        break;
                line(r, p, (size_t) (nl - p), nl + 1);
                p = nl + 1;
        }
        /* Complete lines of the records part are hashed in one go. */
        if (r->state == STATE_RECORDS || r->state == STATE_HEADER)
                hash_flush(r, p, p);
        return (size_t) (end - p);
}

static int feed(ReportSegmentReader *r, size_t *have) {
        size_t rest;

        rest = lines(r, *have);
        if (rest > 0 && rest < *have)
                memmove(r->buf, r->buf + *have - rest, rest);
        if (rest == r->size) {
                /* A line fills the buffer: grow, up to the longest line. */
                if (r->size >= LINE_MAX_BYTES + CHUNK) {
                        r->lineno++;
                        damage(r, "line longer than %u bytes", LINE_MAX_BYTES);
                        if (r->state == STATE_BROKEN)
                                r->torn = 1;
                        /* Nothing of it can be used: drop it. */
                        rest = 0;
                } else {
                        char *b = realloc(r->buf, r->size * 2);
                        if (!b)
                                return -ENOMEM;
                        r->buf = b;
                        r->size *= 2;
                }
        }
        *have = rest;
        return 0;
}

static ssize_t read_some(int fd, void *p, size_t n) {
        for (;;) {
                ssize_t k = read(fd, p, n);
                if (k >= 0 || errno != EINTR)
                        return k < 0 ? -errno : k;
        }
}

static int read_segment(ReportSegmentReader *r, int fd);
static void facts_finish(ReportSegmentReader *r, int e);

int report_segment_read(ReportSegmentReader *r, int fd, bool open_segment, const char *layout_host,
                        Report *delta, ReportScanBuffer *scan) {
        int e;

        r->delta = delta;
        r->scan = scan;
        r->open_segment = open_segment;
        r->compressed = false;
        r->zstd_last = 0;
        r->state = STATE_HEADER;
        r->has_header = false;
        r->error = 0;
        r->lineno = r->seq = r->first_serial = r->records = r->last_serial = 0;
        r->host[0] = 0;
        r->layout_host = layout_host;
        r->valid_bytes = r->torn = 0;
        r->message[0] = 0;
        memset(&r->facts, 0, sizeof(r->facts));
        r->damage = VERIFY_DAMAGE_NONE;
        crypto_generichash_init(&r->hash, NULL, 0, HASH_SIZE);

        e = read_segment(r, fd);
        facts_finish(r, e);
        return e;
}

/* What the file's facts say at the end, and why it is damaged. */
static void facts_finish(ReportSegmentReader *r, int e) {
        VerifySegmentFacts *f = &r->facts;
        crypto_generichash_state st = r->hash;
        unsigned char h[HASH_SIZE];

        f->records = r->records;
        f->last_serial = r->records > 0 ? r->last_serial : r->first_serial;
        f->torn = r->torn;
        crypto_generichash_final(&st, h, sizeof(h));
        sodium_bin2hex(f->hash, sizeof(f->hash), h, sizeof(h));

        if (e == 0)
                r->damage = VERIFY_DAMAGE_NONE;
        else if (e != -EBADMSG)
                r->damage = VERIFY_DAMAGE_UNREADABLE;
        else if (!r->has_header)
                r->damage = VERIFY_DAMAGE_NOT_SEGMENT;
        else if (strstr(r->message, "truncated") || strstr(r->message, "torn"))
                r->damage = VERIFY_DAMAGE_TRUNCATED;
        else
                r->damage = VERIFY_DAMAGE_ALTERED;
}

static int read_segment(ReportSegmentReader *r, int fd) {
        static const uint8_t zstd_magic[4] = { 0x28, 0xB5, 0x2F, 0xFD };
        ZSTD_inBuffer zin = {};
        size_t have = 0;
        bool first = true, eof = false, out_full = false;
        ssize_t k;
        int e;

        while (!eof && r->state != STATE_FAILED) {
                if (!r->compressed) {
                        k = read_some(fd, r->buf + have, MIN(r->size - have, (size_t) CHUNK));
                        if (k < 0)
                                return (int) k;
                        if (k == 0)
                                eof = true;
                        if (first && have + (size_t) k >= 4 && memcmp(r->buf, zstd_magic, 4) == 0) {
                                /* Compressed: what we read is compressed input. */
                                r->compressed = true;
                                memcpy(r->in, r->buf, (size_t) k);
                                zin = (ZSTD_inBuffer) { r->in, (size_t) k, 0 };
                                ZSTD_DCtx_reset(r->dctx, ZSTD_reset_session_only);
                                if (ZSTD_isError(ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX)))
                                        return -EIO;
                                /* Damage in closed segments is found; never
                                 * "recover" a prefix out of a compressed one. */
                                r->open_segment = false;
                                first = false;
                                continue;
                        }
                        first = false;
                        have += (size_t) k;
                } else {
                        /* A full output buffer may hide more output:
                         * drain it before reading more input. */
                        if (zin.pos == zin.size && !out_full) {
                                k = read_some(fd, r->in, CHUNK);
                                if (k < 0)
                                        return (int) k;
                                if (k == 0) {
                                        eof = true;
                                        break;
                                }
                                zin = (ZSTD_inBuffer) { r->in, (size_t) k, 0 };
                        }
                        ZSTD_outBuffer out = { r->buf + have, MIN(r->size - have, (size_t) CHUNK), 0 };
                        size_t z = ZSTD_decompressStream(r->dctx, &out, &zin);
                        if (ZSTD_isError(z)) {
                                snprintf(r->message, sizeof(r->message), "damaged compressed data: %s",
                                         ZSTD_getErrorName(z));
                                r->state = STATE_FAILED;
                                break;
                        }
                        r->zstd_last = z;
                        out_full = out.pos == out.size;
                        have += out.pos;
                }
                e = feed(r, &have);
                if (e < 0)
                        return e;
        }
        if (r->error < 0)
                return r->error;
        if (r->state == STATE_FAILED)
                return -EBADMSG;

        if (r->compressed && r->zstd_last != 0) {
                snprintf(r->message, sizeof(r->message), "compressed data truncated");
                return -EBADMSG;
        }
        if (have > 0) {
                /* A last line without its newline. */
                if (r->state == STATE_BROKEN)
                        r->torn++;
                else {
                        r->lineno++;
                        damage(r, "last line is incomplete (torn)");
                        if (r->state == STATE_FAILED)
                                return -EBADMSG;
                }
        }
        if (!r->has_header) {
                if (!r->message[0])
                        snprintf(r->message, sizeof(r->message), "no header (empty or truncated)");
                return -EBADMSG;
        }
        if (r->state == STATE_END || r->open_segment)
                return 0;
        snprintf(r->message, sizeof(r->message), "no footer: segment truncated");
        return -EBADMSG;
}
