/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-id128.h>
#include <time.h>
#include <unistd.h>

#include "core/action-json.h"
#include "shared/fileio.h"
#include "fsmon-build.h"
#include "shared/log.h"
#include "shared/time-util.h"
#include "store/spool.h"

#define SEG_PREFIX "seg-"
#define SEG_OPEN_SUFFIX ".open"
#define SEG_PLAIN_SUFFIX ".jsonl"
#define SEG_ZSTD_SUFFIX ".jsonl.zst"
#define CHAIN_FILE "chain"
#define QUARANTINE_DIR "quarantine"
#define BUFFER_MAX (64U * 1024U)
#define GAP_LINE_MAX 512U
#define RETRY_USEC (1000ULL * 1000)

/* sd_id128_get_machine_app_specific() application id for fsmon. */
#define FSMON_APP_ID SD_ID128_MAKE(7d,4f,0b,9e,2a,61,4c,58,93,e2,5b,1f,c8,a0,36,d4)

typedef enum DegradedKind {
        DEGRADED_NONE,
        DEGRADED_FULL,                  /* quota reached */
        DEGRADED_WRITE,                 /* a write failed */
} DegradedKind;

/* What is known of the open segment at one point: committed (on disk) or
 * pending (with the buffer). */
typedef struct WriteState {
        crypto_generichash_state hash;
        uint64_t records;
        uint64_t gap_records, gap_lost;
        uint64_t last_serial;
        uint64_t bytes;
} WriteState;

struct Spool {
        SpoolConfig cfg;
        char host_id[SEGMENT_HOST_MAX + 1];
        char key_epoch[SEGMENT_EPOCH_MAX + 1];
        char version[SEGMENT_VERSION_MAX + 1];
        int dir_fd;

        SpoolSegment *segments;         /* closed, by seq */
        size_t n_segments, n_alloc;
        uint64_t closed_bytes;

        uint64_t next_seq;
        uint8_t prev_hash[SEGMENT_HASH_SIZE];
        uint64_t prev_seq;              /* the segment prev_hash belongs to */
        uint64_t chain_seq, chain_next_seq; /* what the chain file on disk says */

        /* The open segment; fd < 0 when none. */
        int fd;
        char open_name[48];
        SegmentHeader header;
        uint64_t header_bytes;
        uint64_t opened_usec;
        WriteState committed, pending;
        uint8_t *buf;
        size_t buf_len;
        uint64_t buf_records;           /* records in buf, gap records not counted */
        uint64_t buf_gap_lost;          /* losses that gap records in buf report */
        bool buf_gap_unknown;
        bool dirty;                     /* written, not fsynced */
        uint64_t last_sync_usec;

        /* Losses not yet written in a gap record. */
        uint64_t lost_pending;
        bool lost_unknown;
        char lost_reason[128];

        DegradedKind degraded;
        char degraded_reason[192];
        uint64_t episode_lost;          /* records lost since degraded */
        uint64_t retry_usec;
        bool need_truncate;

        /* The unfinished segment of an earlier run whose tail a crash tore,
         * until the caller settles it: spool_torn_tail(). */
        bool torn_pending;
        int torn_fd;
        char torn_name[48];
        SegmentInfo torn_info;
        uint64_t torn_resume;

        uint64_t last_serial;           /* last record accepted, for gap records */
        uint64_t last_serial_spooled;
        uint64_t records_written;
        uint64_t records_lost;
        unsigned quarantined;
};

void spool_config_init(SpoolConfig *c) {
        *c = (SpoolConfig) { SPOOL_CONFIG_DEFAULTS };
}

int spool_host_id_default(char ret[SEGMENT_HOST_MAX + 1]) {
        sd_id128_t id;
        int r;

        r = sd_id128_get_machine_app_specific(FSMON_APP_ID, &id);
        if (r < 0)
                return r;
        (void) sd_id128_to_string(id, ret);
        return 0;
}

/* ---- names -------------------------------------------------------------- */

typedef enum SegKind {
        SEG_OPEN,
        SEG_PLAIN,
        SEG_ZSTD,
} SegKind;

static const char *seg_suffix(SegKind k) {
        return k == SEG_OPEN ? SEG_OPEN_SUFFIX : k == SEG_PLAIN ? SEG_PLAIN_SUFFIX : SEG_ZSTD_SUFFIX;
}

static void seg_name(char buf[48], uint64_t seq, SegKind k) {
        (void) snprintf(buf, 48, SEG_PREFIX "%012" PRIu64 "%s", seq, seg_suffix(k));
}

static bool seg_name_parse(const char *name, uint64_t *ret_seq, SegKind *ret_kind) {
        const char *p = name + strlen(SEG_PREFIX);
        uint64_t seq = 0;
        size_t digits = 0;

        if (strncmp(name, SEG_PREFIX, strlen(SEG_PREFIX)) != 0)
                return false;
        for (; *p >= '0' && *p <= '9' && digits < 19; p++, digits++)
                seq = seq * 10 + (uint64_t) (*p - '0');
        if (digits < 12)
                return false;
        for (SegKind k = SEG_OPEN; k <= SEG_ZSTD; k++)
                if (strcmp(p, seg_suffix(k)) == 0) {
                        char check[48];
                        /* Only the canonical spelling, so that names map 1:1 to seqs. */
                        seg_name(check, seq, k);
                        if (strcmp(check, name) != 0)
                                return false;
                        *ret_seq = seq;
                        *ret_kind = k;
                        return true;
                }
        return false;
}

/* ---- small pieces ------------------------------------------------------- */

static void strcpy_trunc(char *dst, size_t size, const char *src) {
        size_t n = strnlen(src, size - 1);

        memcpy(dst, src, n);
        dst[n] = 0;
}

static int quarantine_move(Spool *s, const char *name) {
        _cleanup_close_ int qfd = -EBADF;
        char target[96];
        int r;

        r = fileio_open_dir_at(s->dir_fd, QUARANTINE_DIR, 0700, &qfd);
        if (r < 0)
                return r;
        (void) snprintf(target, sizeof(target), "%s", name);
        if (renameat2(s->dir_fd, name, qfd, target, RENAME_NOREPLACE) < 0) {
                if (errno != EEXIST)
                        return -errno;
                (void) snprintf(target, sizeof(target), "%s.%" PRIu64, name, now_usec(CLOCK_REALTIME));
                if (renameat2(s->dir_fd, name, qfd, target, RENAME_NOREPLACE) < 0)
                        return -errno;
        }
        r = fileio_fsync_dir(qfd);
        if (r < 0)
                return r;
        s->quarantined++;
        return fileio_fsync_dir(s->dir_fd);
}

/* Remembers a loss for the next gap record; own: the spool lost these
 * records itself (counted in records_lost), rather than passing on a loss
 * reported to it. */
static void lost_add(Spool *s, uint64_t n, bool unknown, const char *reason, bool own) {
        if (s->lost_pending == 0 && !s->lost_unknown)
                strcpy_trunc(s->lost_reason, sizeof(s->lost_reason), reason);
        s->lost_pending += n;
        s->lost_unknown = s->lost_unknown || unknown;
        if (own) {
                s->records_lost += n;
                s->episode_lost += n;
        }
}

static void degraded_enter(Spool *s, DegradedKind kind, int error, const char *fmt, const char *detail) {
        if (s->degraded == kind)
                return;
        s->degraded = kind;
        if (error != 0)
                (void) snprintf(s->degraded_reason, sizeof(s->degraded_reason), "%s: %s", fmt, strerror(-error));
        else
                (void) snprintf(s->degraded_reason, sizeof(s->degraded_reason), "%s%s", fmt, detail ?: "");
        /* Logged once per episode; the records it costs go into a gap record. */
        log_warning("Spool degraded: %s; dropping records and counting them until it recovers.",
                    s->degraded_reason);
}

static void degraded_leave(Spool *s) {
        if (s->degraded == DEGRADED_NONE)
                return;
        log_notice("Spool recovered (was: %s); %" PRIu64 " records were lost, counted in a gap record.",
                   s->degraded_reason, s->episode_lost);
        s->episode_lost = 0;
        s->degraded = DEGRADED_NONE;
        s->degraded_reason[0] = 0;
}

static uint64_t spool_usage(Spool *s) {
        return s->closed_bytes + (s->fd >= 0 ? s->committed.bytes + s->buf_len : 0);
}

static int segments_add(Spool *s, const SpoolSegment *seg) {
        size_t i;

        if (s->n_segments == s->n_alloc) {
                size_t a = MAX(s->n_alloc * 2, 16U);
                SpoolSegment *n = realloc(s->segments, a * sizeof(SpoolSegment));
                if (!n)
                        return -ENOMEM;
                s->segments = n;
                s->n_alloc = a;
        }
        /* Keep them sorted by seq; nearly always an append. */
        for (i = s->n_segments; i > 0 && s->segments[i - 1].seq > seg->seq; i--)
                s->segments[i] = s->segments[i - 1];
        s->segments[i] = *seg;
        s->n_segments++;
        s->closed_bytes += seg->size;
        return 0;
}

static void segments_remove(Spool *s, size_t i) {
        s->closed_bytes -= s->segments[i].size;
        memmove(s->segments + i, s->segments + i + 1, (s->n_segments - i - 1) * sizeof(SpoolSegment));
        s->n_segments--;
}

/* The chain file remembers the last closed segment's seq and hash, and the
 * next seq, for when every segment has been uploaded and removed: the next
 * segment must still chain to the last one and must not reuse a name. */
static int chain_write(Spool *s) {
        char hash[SEGMENT_HASH_STRING_MAX], line[200];
        int n, r;

        segment_hash_to_string(s->prev_hash, hash);
        n = snprintf(line, sizeof(line), "{\"seq\":%" PRIu64 ",\"hash\":\"%s\",\"next_seq\":%" PRIu64 "}\n",
                     s->prev_seq, hash, s->next_seq);
        r = fileio_write_atomic_at(s->dir_fd, CHAIN_FILE, line, (size_t) n, 0600, 0);
        if (r < 0)
                return r;
        s->chain_seq = s->prev_seq;
        s->chain_next_seq = s->next_seq;
        return 0;
}

/* Before a segment is removed, the chain file must know it. */
static int chain_ensure(Spool *s) {
        if (s->chain_seq >= s->prev_seq && s->chain_next_seq >= s->next_seq)
                return 0;
        return chain_write(s);
}

static int chain_read(Spool *s, uint64_t *ret_seq) {
        _cleanup_free_ char *text = NULL;
        char hash[SEGMENT_HASH_STRING_MAX];
        unsigned long long seq, next_seq;
        int r;

        r = fileio_read_small_at(s->dir_fd, CHAIN_FILE, 4096, &text, NULL);
        if (r < 0)
                return r;
        if (sscanf(text, "{\"seq\":%llu,\"hash\":\"%64[0-9a-f]\",\"next_seq\":%llu}",
                   &seq, hash, &next_seq) != 3 || strlen(hash) != 64 || next_seq <= seq ||
            sodium_hex2bin(s->prev_hash, sizeof(s->prev_hash), hash, 64, NULL, NULL, NULL) < 0)
                return -EBADMSG;
        s->prev_seq = s->chain_seq = seq;
        s->chain_next_seq = next_seq;
        *ret_seq = next_seq - 1;
        return 0;
}

/* ---- writing the open segment ------------------------------------------- */

static int buf_add(Spool *s, const char *line, size_t len) {
        static const uint8_t nl = '\n';

        if (s->buf_len + len + 1 > BUFFER_MAX + SEGMENT_LINE_MAX + GAP_LINE_MAX) {
                /* Cannot happen: the buffer is flushed at BUFFER_MAX. */
                return -ENOBUFS;
        }
        memcpy(s->buf + s->buf_len, line, len);
        s->buf[s->buf_len + len] = '\n';
        s->buf_len += len + 1;
        crypto_generichash_update(&s->pending.hash, (const uint8_t *) line, len);
        crypto_generichash_update(&s->pending.hash, &nl, 1);
        s->pending.bytes += len + 1;
        return 0;
}

static int segment_begin_attempt(Spool *s, uint64_t first_serial, unsigned attempt) {
        char line[SEGMENT_META_LINE_MAX];
        int fd, n;

        seg_name(s->open_name, s->next_seq, SEG_OPEN);
        s->header = (SegmentHeader) {
                .seq = s->next_seq,
                .first_serial = first_serial,
                .created = now_usec(CLOCK_REALTIME) / 1000000ULL,
        };
        memcpy(s->header.host, s->host_id, sizeof(s->header.host));
        memcpy(s->header.key_epoch, s->key_epoch, sizeof(s->header.key_epoch));
        memcpy(s->header.version, s->version, sizeof(s->header.version));
        memcpy(s->header.prev_hash, s->prev_hash, SEGMENT_HASH_SIZE);
        n = segment_header_format(&s->header, line, sizeof(line));
        if (n < 0)
                return n;
        s->header_bytes = (uint64_t) n;

        /* O_EXCL: a file of that name appeared since the spool was opened
         * (planted, or left by something we do not know); never write into
         * it, take the next seq. */
        fd = openat(s->dir_fd, s->open_name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
                if (errno == EEXIST && attempt < 8) {
                        s->next_seq++;
                        return segment_begin_attempt(s, first_serial, attempt + 1);
                }
                return -errno;
        }

        s->fd = fd;
        s->opened_usec = now_usec(CLOCK_MONOTONIC);
        s->committed = (WriteState) {};
        crypto_generichash_init(&s->committed.hash, NULL, 0, SEGMENT_HASH_SIZE);
        s->committed.last_serial = first_serial;
        s->pending = s->committed;
        s->buf_len = 0;
        s->buf_records = s->buf_gap_lost = 0;
        s->buf_gap_unknown = false;
        s->need_truncate = false;
        /* The header goes out with the first flush: the file is empty until
         * then, and recovery treats an empty .open file as nothing. */
        return buf_add(s, line, (size_t) n - 1);   /* buf_add() adds the newline */
}

static int segment_begin(Spool *s, uint64_t first_serial) {
        return segment_begin_attempt(s, first_serial, 0);
}

static void segment_forget(Spool *s) {
        s->fd = safe_close(s->fd);
        s->open_name[0] = 0;
        s->buf_len = 0;
        s->buf_records = s->buf_gap_lost = 0;
        s->buf_gap_unknown = false;
}

/* Gap records are encoded by the core's encoder, like every other record;
 * the spool only says when, after which serial and how many. */
static int gap_format(Spool *s, char *line, size_t size, uint64_t lost, bool unknown, const char *reason) {
        _cleanup_(char_buffer_done) CharBuffer b = {};
        uint64_t t = now_usec(CLOCK_REALTIME);
        Action a = {
                .op = ACTION_GAP,
                .sec = t / USEC_PER_SEC,
                .msec = (unsigned) (t / USEC_PER_MSEC % 1000U),
                .serial = s->last_serial,
                .fd = -1,
                .offset = OFFSET_UNKNOWN,
                .flags = -1,
                .lost = lost,
                .lost_known = !unknown,
                .reason = reason,
        };
        int r;

        r = action_json_append(&b, &a, NULL);
        if (r < 0)
                return r;
        if (b.len >= size)
                return -EINVAL;
        memcpy(line, b.data, b.len);
        line[b.len] = 0;
        return (int) b.len;
}

/* Puts the pending loss into a gap record in the buffer. */
static int gap_emit(Spool *s) {
        char line[GAP_LINE_MAX];
        int n, r;

        if (s->lost_pending == 0 && !s->lost_unknown)
                return 0;
        if (s->fd < 0) {
                r = segment_begin(s, s->last_serial);
                if (r < 0)
                        return r;
        }
        n = gap_format(s, line, sizeof(line), s->lost_pending, s->lost_unknown, s->lost_reason);
        if (n < 0)
                return n;
        r = buf_add(s, line, (size_t) n);
        if (r < 0)
                return r;
        s->pending.records++;
        s->pending.gap_records++;
        s->pending.gap_lost += s->lost_pending;
        s->pending.last_serial = s->last_serial;
        s->buf_gap_lost += s->lost_pending;
        s->buf_gap_unknown = s->buf_gap_unknown || s->lost_unknown;
        s->lost_pending = 0;
        s->lost_unknown = false;
        return 0;
}

static int spool_sync(Spool *s) {
        if (s->fd < 0 || !s->dirty)
                return 0;
        if (fdatasync(s->fd) < 0)
                return -errno;
        s->dirty = false;
        s->last_sync_usec = now_usec(CLOCK_MONOTONIC);
        return 0;
}

/* A write failed: nothing of the buffer counts as spooled. Cut the file back
 * to what was committed, count the buffered records as lost, and wait a
 * second before the next attempt. */
static void write_failed(Spool *s, int error) {
        uint64_t records = s->buf_records, gap_lost = s->buf_gap_lost;
        bool gap_unknown = s->buf_gap_unknown;

        if (s->committed.bytes == 0) {
                /* Not even the header is on disk: drop the file, the next
                 * record starts the segment again. */
                (void) unlinkat(s->dir_fd, s->open_name, 0);
                segment_forget(s);
        } else {
                s->pending = s->committed;
                s->buf_len = 0;
                s->buf_records = s->buf_gap_lost = 0;
                s->buf_gap_unknown = false;
                s->need_truncate = ftruncate(s->fd, (off_t) s->committed.bytes) < 0;
        }
        lost_add(s, records, false, "spool write failed", true);
        lost_add(s, gap_lost, gap_unknown, "spool write failed", false);
        s->retry_usec = now_usec(CLOCK_MONOTONIC) + RETRY_USEC;
        degraded_enter(s, DEGRADED_WRITE, error, "cannot write the spool", NULL);
}

int spool_flush(Spool *s) {
        int r;

        if (s->fd < 0 || s->buf_len == 0)
                goto sync;

        if (s->need_truncate) {
                if (ftruncate(s->fd, (off_t) s->committed.bytes) < 0) {
                        r = -errno;
                        write_failed(s, r);
                        return r;
                }
                s->need_truncate = false;
        }
        r = fileio_pwrite_full(s->fd, s->buf, s->buf_len, s->committed.bytes);
        if (r < 0) {
                write_failed(s, r);
                return r;
        }
        s->committed = s->pending;
        s->records_written += s->buf_records;
        s->last_serial_spooled = s->committed.last_serial;
        s->buf_len = 0;
        s->buf_records = s->buf_gap_lost = 0;
        s->buf_gap_unknown = false;
        s->dirty = true;
        if (s->degraded == DEGRADED_WRITE)
                degraded_leave(s);

sync:
        if (s->dirty && (s->cfg.fsync_policy == SPOOL_FSYNC_ALWAYS ||
                         (s->cfg.fsync_policy == SPOOL_FSYNC_INTERVAL &&
                          now_usec(CLOCK_MONOTONIC) >= s->last_sync_usec + s->cfg.fsync_interval_usec))) {
                r = spool_sync(s);
                if (r < 0) {
                        /* What fdatasync() reports lost may be anywhere in
                         * the file; the page cache still has it, so go on,
                         * but say so. */
                        degraded_enter(s, DEGRADED_WRITE, r, "cannot sync the spool", NULL);
                        s->retry_usec = now_usec(CLOCK_MONOTONIC) + RETRY_USEC;
                        return r;
                }
        }
        return 0;
}

static int segment_compress(Spool *s, int fd, const char *plain, uint64_t seq, uint64_t *ret_size) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int out = -EBADF;
        char name[48];
        struct stat st;
        int r;

        seg_name(name, seq, SEG_ZSTD);
        r = fileio_open_tmp_at(s->dir_fd, name, 0600, &out, &tmp);
        if (r < 0)
                return r;
        if (lseek(fd, 0, SEEK_SET) < 0)
                r = -errno;
        else
                /* Only ever called while closing the open segment. */
                r = segment_compress_fd(fd, out, s->cfg.compress_level, s->header_bytes, s->committed.bytes);
        if (r >= 0 && fstat(out, &st) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(s->dir_fd, tmp, 0);
                return r;
        }
        r = fileio_link_tmp_at(s->dir_fd, out, tmp, name, FILEIO_NOREPLACE);
        if (r < 0)
                return r;
        if (unlinkat(s->dir_fd, plain, 0) < 0)
                return -errno;
        r = fileio_fsync_dir(s->dir_fd);
        if (r < 0)
                return r;
        *ret_size = (uint64_t) st.st_size;
        return 0;
}

/* Turns the renamed, complete plain file into a closed segment entry,
 * compressing it first when configured. */
static int segment_finish(Spool *s, int fd, uint64_t seq, uint64_t records,
                          uint64_t gap_records, uint64_t gap_lost,
                          uint64_t first_serial, uint64_t last_serial,
                          const uint8_t hash[SEGMENT_HASH_SIZE]) {
        SpoolSegment seg = {
                .seq = seq,
                .records = records,
                .gap_records = gap_records,
                .gap_lost = gap_lost,
                .first_serial = first_serial,
                .last_serial = last_serial,
        };
        char plain[48];
        struct stat st;
        int r;

        seg_name(plain, seq, SEG_PLAIN);
        memcpy(seg.hash, hash, SEGMENT_HASH_SIZE);

        if (fstat(fd, &st) < 0)
                return -errno;
        seg.size = (uint64_t) st.st_size;
        seg_name(seg.name, seq, SEG_PLAIN);

        if (s->cfg.compress_level > 0) {
                uint64_t size = 0;

                r = segment_compress(s, fd, plain, seq, &size);
                if (r < 0)
                        log_warning_errno(r, "Cannot compress spool segment %s, keeping it uncompressed: %m", plain);
                else {
                        seg.size = size;
                        seg.compressed = true;
                        seg_name(seg.name, seq, SEG_ZSTD);
                }
        }
        seg.mtime_usec = now_usec(CLOCK_REALTIME);

        memcpy(s->prev_hash, hash, SEGMENT_HASH_SIZE);
        s->prev_seq = seq;
        if (s->next_seq <= seq)
                s->next_seq = seq + 1;
        r = chain_write(s);
        if (r < 0)
                /* The chain file only matters once every segment is uploaded;
                 * the segments themselves carry the chain. */
                log_warning_errno(r, "Cannot write %s in the spool, ignoring: %m", CHAIN_FILE);

        return segments_add(s, &seg);
}

/* Closes the open segment: flush, footer, fsync, rename to its closed name,
 * fsync of the directory, then compression. On failure it stays open. */
static int segment_close_current(Spool *s) {
        char line[SEGMENT_META_LINE_MAX], plain[48];
        crypto_generichash_state st;
        SegmentFooter f;
        int r, n;

        if (s->fd < 0)
                return 0;

        r = gap_emit(s);
        if (r < 0)
                return r;
        r = spool_flush(s);
        if (r < 0)
                return r;
        if (s->fd < 0)
                return 0;

        f = (SegmentFooter) {
                .seq = s->header.seq,
                .records = s->committed.records,
                .last_serial = s->committed.last_serial,
                .gap_records = s->committed.gap_records,
                .gap_lost = s->committed.gap_lost,
        };
        st = s->committed.hash;
        crypto_generichash_final(&st, f.hash, sizeof(f.hash));
        n = segment_footer_format(&f, line, sizeof(line));
        if (n < 0)
                return n;

        r = fileio_pwrite_full(s->fd, line, (size_t) n, s->committed.bytes);
        if (r >= 0 && fdatasync(s->fd) < 0)
                r = -errno;
        if (r < 0) {
                s->need_truncate = ftruncate(s->fd, (off_t) s->committed.bytes) < 0;
                s->retry_usec = now_usec(CLOCK_MONOTONIC) + RETRY_USEC;
                degraded_enter(s, DEGRADED_WRITE, r, "cannot close a spool segment", NULL);
                return r;
        }

        seg_name(plain, s->header.seq, SEG_PLAIN);
        if (renameat2(s->dir_fd, s->open_name, s->dir_fd, plain, RENAME_NOREPLACE) < 0) {
                r = -errno;
                (void) ftruncate(s->fd, (off_t) s->committed.bytes);
                return r;
        }
        r = fileio_fsync_dir(s->dir_fd);
        if (r < 0)
                log_warning_errno(r, "Cannot fsync the spool directory, ignoring: %m");

        r = segment_finish(s, s->fd, s->header.seq, f.records,
                           s->committed.gap_records, s->committed.gap_lost,
                           s->header.first_serial, f.last_serial, f.hash);
        s->dirty = false;
        segment_forget(s);
        return r;
}

int spool_rotate(Spool *s) {
        if (s->torn_pending)
                (void) spool_torn_tail_settle(s, false);
        return segment_close_current(s);
}

/* ---- quota -------------------------------------------------------------- */

static int spool_drop_oldest(Spool *s) {
        SpoolSegment *seg = &s->segments[0];
        int r;

        r = chain_ensure(s);
        if (r < 0)
                return r;
        if (unlinkat(s->dir_fd, seg->name, 0) < 0)
                return -errno;
        r = fileio_fsync_dir(s->dir_fd);
        if (r < 0)
                return r;
        log_debug("Spool full, dropped oldest segment %s (%" PRIu64 " records).", seg->name, seg->records);
        /* Its records are lost, and so are the losses its gap records reported. */
        lost_add(s, seg->records - seg->gap_records, false, "spool full, oldest segment dropped", true);
        lost_add(s, seg->gap_lost, false, "spool full, oldest segment dropped", false);
        segments_remove(s, 0);
        return 0;
}

/* Makes room for need more bytes; false when the record must be dropped. */
static bool spool_make_room(Spool *s, uint64_t need) {
        uint64_t quota = s->cfg.max_spool_bytes;
        /* Leave a margin before leaving the full state, so that it does not
         * flap with every record. */
        uint64_t headroom = MIN(s->cfg.max_segment_bytes, quota / 4);

        if (s->degraded == DEGRADED_FULL) {
                if (spool_usage(s) + need + headroom <= quota || s->cfg.full_policy == SPOOL_FULL_DROP_OLDEST)
                        ;
                else
                        return false;
        }
        if (spool_usage(s) + need <= quota) {
                if (s->degraded == DEGRADED_FULL && spool_usage(s) + need + headroom <= quota)
                        degraded_leave(s);
                return true;
        }

        if (s->cfg.full_policy == SPOOL_FULL_STOP) {
                degraded_enter(s, DEGRADED_FULL, 0, "spool full, recording stopped (max spool bytes reached)", NULL);
                return false;
        }

        degraded_enter(s, DEGRADED_FULL, 0, "spool full, dropping the oldest segments (max spool bytes reached)", NULL);
        while (spool_usage(s) + need > quota) {
                if (s->n_segments == 0) {
                        /* Only the open segment is left: close it, then it
                         * is the oldest. */
                        if (s->fd < 0 || segment_close_current(s) < 0 || s->n_segments == 0)
                                return false;
                        continue;
                }
                if (spool_drop_oldest(s) < 0)
                        return false;
        }
        return true;
}

/* ---- appending ---------------------------------------------------------- */

static bool spool_blocked(Spool *s) {
        /* After a failed write, wait before trying again: no busy loop. */
        return s->degraded == DEGRADED_WRITE && now_usec(CLOCK_MONOTONIC) < s->retry_usec;
}

static int spool_add_line(Spool *s, const char *line, size_t len, uint64_t serial, bool is_gap,
                          int64_t gap_lost) {
        uint64_t need;
        int r;

        /* A caller that did not settle a torn tail does not produce it
         * again; it must be closed before another segment begins. */
        if (s->torn_pending)
                (void) spool_torn_tail_settle(s, false);

        if (spool_blocked(s))
                goto drop;

        /* A full segment is closed before the next event's first record, not
         * after a record: an event's records never span two segments, so a
         * torn tail can be cut back to the start of its event. */
        if (s->fd >= 0 && s->pending.bytes >= s->cfg.max_segment_bytes && (is_gap || serial != s->last_serial))
                (void) segment_close_current(s);

        need = len + 1 + GAP_LINE_MAX + SEGMENT_META_LINE_MAX + (s->fd < 0 ? SEGMENT_META_LINE_MAX : 0);
        if (!spool_make_room(s, need))
                goto drop;

        if (s->fd < 0) {
                r = segment_begin(s, (s->lost_pending > 0 || s->lost_unknown || is_gap) ? s->last_serial : serial);
                if (r < 0) {
                        s->retry_usec = now_usec(CLOCK_MONOTONIC) + RETRY_USEC;
                        degraded_enter(s, DEGRADED_WRITE, r, "cannot create a spool segment", NULL);
                        goto drop;
                }
        }
        r = gap_emit(s);
        if (r < 0)
                goto drop;

        r = buf_add(s, line, len);
        if (r < 0)
                goto drop;
        s->pending.records++;
        if (is_gap) {
                s->pending.gap_records++;
                s->pending.gap_lost += gap_lost > 0 ? (uint64_t) gap_lost : 0;
                if (gap_lost < 0)
                        s->buf_gap_unknown = true;
                else
                        s->buf_gap_lost += (uint64_t) gap_lost;
        } else {
                s->buf_records++;
                s->last_serial = serial;
        }
        s->pending.last_serial = s->last_serial;

        if (s->buf_len >= BUFFER_MAX)
                (void) spool_flush(s);
        return 0;

drop:
        if (is_gap)
                lost_add(s, gap_lost < 0 ? 0 : (uint64_t) gap_lost, gap_lost < 0, "events lost before the spool", false);
        else
                lost_add(s, 1, false, s->degraded == DEGRADED_FULL ? "spool full" : "spool write failed", true);
        return SPOOL_DROPPED;
}

int spool_append(Spool *s, const char *line, size_t len, uint64_t serial) {
        uint64_t found;

        if (segment_record_check(line, len, &found) < 0 || found != serial)
                return -EINVAL;
        return spool_add_line(s, line, len, serial, false, 0);
}

int spool_append_encoded(Spool *s, const char *line, size_t len, uint64_t serial) {
        if (len < 2 || len > SEGMENT_LINE_MAX || line[0] != '{' || line[len - 1] != '}' ||
            memchr(line, '\n', len))
                return -EINVAL;
        return spool_add_line(s, line, len, serial, false, 0);
}

int spool_append_gap(Spool *s, int64_t lost, const char *reason) {
        char line[GAP_LINE_MAX];
        int n;

        n = gap_format(s, line, sizeof(line), lost < 0 ? 0 : (uint64_t) lost, lost < 0, reason ?: "unknown");
        if (n < 0)
                return n;
        return spool_add_line(s, line, (size_t) n, s->last_serial, true, lost);
}

int spool_maybe_rotate(Spool *s, uint64_t now) {
        int r = 0, k;

        if (s->torn_pending)
                (void) spool_torn_tail_settle(s, false);

        if (s->degraded != DEGRADED_NONE && (s->lost_pending > 0 || s->lost_unknown) && !spool_blocked(s) &&
            spool_make_room(s, GAP_LINE_MAX + 2 * SEGMENT_META_LINE_MAX)) {
                /* Recover while idle too: write the gap record now. */
                if (s->fd >= 0 || segment_begin(s, s->last_serial) >= 0) {
                        k = gap_emit(s);
                        if (k >= 0)
                                k = spool_flush(s);
                        if (k < 0)
                                r = k;
                }
        }

        if (s->fd >= 0 && s->cfg.max_segment_age_usec > 0 && now >= s->opened_usec + s->cfg.max_segment_age_usec) {
                k = segment_close_current(s);
                if (k < 0 && r == 0)
                        r = k;
        }
        if (s->fd >= 0 && s->buf_len > 0) {
                k = spool_flush(s);
                if (k < 0 && r == 0)
                        r = k;
        }
        if (s->dirty && s->cfg.fsync_policy == SPOOL_FSYNC_INTERVAL && now >= s->last_sync_usec + s->cfg.fsync_interval_usec) {
                k = spool_sync(s);
                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}

/* ---- listing ------------------------------------------------------------ */

static int spool_open_file(Spool *s, const char *name, int flags, int *ret_fd);
static void spool_quarantine(Spool *s, const char *name, const char *why);

int spool_list(Spool *s, SpoolSegment **ret, size_t *ret_n) {
        SpoolSegment *copy = NULL;

        if (s->n_segments > 0) {
                copy = malloc(s->n_segments * sizeof(SpoolSegment));
                if (!copy)
                        return -ENOMEM;
                memcpy(copy, s->segments, s->n_segments * sizeof(SpoolSegment));
        }
        *ret = copy;
        *ret_n = s->n_segments;
        return 0;
}

static ssize_t segments_find(Spool *s, const char *name) {
        for (size_t i = 0; i < s->n_segments; i++)
                if (strcmp(s->segments[i].name, name) == 0)
                        return (ssize_t) i;
        return -ENOENT;
}

int spool_open_segment(Spool *s, const char *name, int *ret_fd) {
        int fd;

        if (segments_find(s, name) < 0)
                return -ENOENT;
        fd = openat(s->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

int spool_mark_uploaded(Spool *s, const char *name) {
        ssize_t i = segments_find(s, name);

        int r;

        if (i < 0)
                return (int) i;
        /* Refuse rather than forget the chain: the segment stays, and the
         * uploader finds it on the server next time. */
        r = chain_ensure(s);
        if (r < 0)
                return r;
        if (unlinkat(s->dir_fd, name, 0) < 0 && errno != ENOENT)
                return -errno;
        segments_remove(s, (size_t) i);
        return fileio_fsync_dir(s->dir_fd);
}

int spool_verify_segment(Spool *s, const char *name) {
        _cleanup_close_ int fd = -EBADF;
        ssize_t i = segments_find(s, name);
        SpoolSegment seg;
        SegmentInfo info;
        char why[200], reason[300];
        int r;

        if (i < 0)
                return (int) i;
        seg = s->segments[i];
        r = spool_open_file(s, name, O_RDONLY, &fd);
        if (r < 0)
                return r;
        r = segment_read_fd(fd, SEGMENT_READ_HASH_ONLY, NULL, NULL, &info);
        if (r < 0 && r != -EBADMSG)
                return r;
        if (r == 0 && (info.records != seg.records || memcmp(info.hash, seg.hash, SEGMENT_HASH_SIZE) != 0)) {
                r = -EBADMSG;
                (void) snprintf(info.error, sizeof(info.error), "changed since the spool listed it");
        }
        if (r == 0)
                return 0;

        (void) snprintf(why, sizeof(why), "%s", info.error);
        spool_quarantine(s, name, why);
        segments_remove(s, (size_t) i);
        (void) snprintf(reason, sizeof(reason), "spool segment %s quarantined: %s", name, why);
        /* Its footer said what it held: that much is lost for the upload. */
        lost_add(s, seg.records - seg.gap_records, false, reason, true);
        lost_add(s, seg.gap_lost, false, reason, false);
        return -EBADMSG;
}

void spool_get_stats(Spool *s, SpoolStats *ret) {
        *ret = (SpoolStats) {
                .bytes = spool_usage(s),
                .segments = (uint32_t) (s->n_segments + (s->fd >= 0 ? 1 : 0)),
                .closed_segments = (uint32_t) s->n_segments,
                .records_written = s->records_written,
                .records_lost = s->records_lost,
                .last_serial = s->last_serial_spooled,
                .oldest_usec = s->n_segments > 0 ? s->segments[0].mtime_usec : 0,
                .quarantined = s->quarantined,
                .degraded = s->degraded != DEGRADED_NONE,
                .degraded_reason = s->degraded != DEGRADED_NONE ? s->degraded_reason : NULL,
        };
}

/* ---- opening and recovery ----------------------------------------------- */

typedef struct Entry {
        uint64_t seq;
        SegKind kind;
        char name[48];
} Entry;

static int entry_cmp(const void *a, const void *b) {
        const Entry *x = a, *y = b;

        if (x->seq != y->seq)
                return x->seq < y->seq ? -1 : 1;
        return (int) x->kind - (int) y->kind;
}

static int spool_scan(Spool *s, Entry **ret, size_t *ret_n) {
        Entry *list = NULL;
        size_t n = 0, alloc = 0;
        struct dirent *de;
        DIR *d;
        int r;

        r = fileio_opendir_at(s->dir_fd, &d);
        if (r < 0)
                return r;

        while ((errno = 0, de = readdir(d))) {
                Entry e;

                if (!seg_name_parse(de->d_name, &e.seq, &e.kind))
                        continue;
                strcpy_trunc(e.name, sizeof(e.name), de->d_name);
                if (n == alloc) {
                        Entry *l;
                        alloc = MAX(alloc * 2, 16U);
                        l = realloc(list, alloc * sizeof(Entry));
                        if (!l) {
                                free(list);
                                closedir(d);
                                return -ENOMEM;
                        }
                        list = l;
                }
                list[n++] = e;
        }
        closedir(d);
        if (n > 0)
                qsort(list, n, sizeof(Entry), entry_cmp);
        *ret = list;
        *ret_n = n;
        return 0;
}

static void spool_quarantine(Spool *s, const char *name, const char *why) {
        int r;

        r = quarantine_move(s, name);
        if (r < 0)
                log_error_errno(r, "Spool segment %s is damaged (%s) and cannot be moved to %s/: %m",
                                name, why, QUARANTINE_DIR);
        else
                log_warning("Spool segment %s is damaged (%s), moved to %s/%s.", name, why, QUARANTINE_DIR, name);
}

/* Opens a spool file for validation: a regular file of ours, never a link. */
static int spool_open_file(Spool *s, const char *name, int flags, int *ret_fd) {
        struct stat st;
        int fd;

        fd = openat(s->dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
                safe_close(fd);
                return -EPERM;
        }
        *ret_fd = fd;
        return 0;
}

static int recover_closed(Spool *s, const Entry *e) {
        _cleanup_close_ int fd = -EBADF;
        SegmentInfo info;
        char why[200];
        int r;

        r = spool_open_file(s, e->name, O_RDONLY, &fd);
        if (r < 0) {
                (void) snprintf(why, sizeof(why), "not a regular file of ours: %s", strerror(-r));
                goto bad;
        }
        /* Header and footer only: a full check of every segment would make
         * the start of a large spool take minutes. The content is checked
         * before upload (spool_verify_segment()). A file whose ends cannot
         * be read that way (compressed by another tool, say) is read fully. */
        r = segment_read_meta_fd(fd, &info);
        if (r == -EBADMSG) {
                if (lseek(fd, 0, SEEK_SET) < 0)
                        return -errno;
                r = segment_read_fd(fd, 0, NULL, NULL, &info);
        }
        if (r == -EBADMSG) {
                (void) snprintf(why, sizeof(why), "%s", info.error);
                goto bad;
        }
        if (r < 0)
                return log_debug_errno(r, "Cannot read spool segment %s: %m", e->name);
        if (info.header.seq != e->seq) {
                (void) snprintf(why, sizeof(why), "its header names seq %" PRIu64, info.header.seq);
                goto bad;
        }

        {
                SpoolSegment seg = {
                        .seq = e->seq,
                        .records = info.records,
                        .gap_records = info.gap_records,
                        .gap_lost = info.gap_lost,
                        .first_serial = info.header.first_serial,
                        .last_serial = info.footer.last_serial,
                        .compressed = info.compressed,
                };
                struct stat st;

                if (fstat(fd, &st) < 0)
                        return -errno;
                (void) snprintf(seg.name, sizeof(seg.name), "%s", e->name);
                memcpy(seg.hash, info.footer.hash, SEGMENT_HASH_SIZE);
                seg.size = (uint64_t) st.st_size;
                seg.mtime_usec = (uint64_t) st.st_mtim.tv_sec * 1000000ULL + (uint64_t) st.st_mtim.tv_nsec / 1000ULL;

                if (s->n_segments > 0) {
                        const SpoolSegment *prev = &s->segments[s->n_segments - 1];
                        if (prev->seq + 1 == seg.seq && memcmp(prev->hash, info.header.prev_hash, SEGMENT_HASH_SIZE) != 0)
                                log_warning("Spool segment %s does not chain to %s (hash mismatch), keeping both.",
                                            seg.name, prev->name);
                }
                r = segments_add(s, &seg);
                if (r < 0)
                        return r;
                memcpy(s->prev_hash, info.footer.hash, SEGMENT_HASH_SIZE);
                s->prev_seq = seg.seq;
        }
        return 0;

bad:
        spool_quarantine(s, e->name, why);
        {
                char reason[512];
                (void) snprintf(reason, sizeof(reason), "spool segment %s quarantined: %s", e->name, why);
                lost_add(s, 0, true, reason, false);
        }
        return 0;
}

static int save_tail(Spool *s, int fd, const char *name, uint64_t from) {
        _cleanup_close_ int qfd = -EBADF, out = -EBADF;
        _cleanup_free_ uint8_t *buf = NULL;
        char target[96];
        int r;

        r = fileio_open_dir_at(s->dir_fd, QUARANTINE_DIR, 0700, &qfd);
        if (r < 0)
                return r;
        (void) snprintf(target, sizeof(target), "%s.tail.%" PRIu64, name, now_usec(CLOCK_REALTIME));
        out = openat(qfd, target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
                return -errno;
        buf = malloc(64 * 1024);
        if (!buf)
                return -ENOMEM;
        if (lseek(fd, (off_t) from, SEEK_SET) < 0)
                return -errno;
        for (;;) {
                ssize_t n = fileio_read_full(fd, buf, 64 * 1024);
                if (n < 0)
                        return (int) n;
                if (n == 0)
                        break;
                r = fileio_write_full(out, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
        if (fsync(out) < 0)
                return -errno;
        return fileio_fsync_dir(qfd);
}

/* Takes fd (cut to info->valid_bytes) as the open segment, then closes it
 * properly. */
static int adopt_and_close(Spool *s, int fd, const char *name, const SegmentInfo *info) {
        int r;

        s->fd = fd;
        (void) snprintf(s->open_name, sizeof(s->open_name), "%s", name);
        s->header = info->header;
        s->header_bytes = info->header_bytes;
        s->committed = (WriteState) {
                .hash = info->hash_state,
                .records = info->records,
                .gap_records = info->gap_records,
                .gap_lost = info->gap_lost,
                .last_serial = info->records > 0 ? info->last_serial : info->header.first_serial,
                .bytes = info->valid_bytes,
        };
        s->pending = s->committed;
        s->opened_usec = now_usec(CLOCK_MONOTONIC);
        s->dirty = true;
        s->last_serial = s->last_serial_spooled = s->committed.last_serial;
        if (s->next_seq <= info->header.seq)
                s->next_seq = info->header.seq + 1;

        r = segment_close_current(s);
        if (r < 0)
                return log_debug_errno(r, "Cannot close recovered spool segment %s: %m", name);
        log_info("Recovered unfinished spool segment %s (%" PRIu64 " records).", name, info->records);
        return 0;
}

static int recover_open(Spool *s, const Entry *e) {
        _cleanup_close_ int fd = -EBADF;
        SegmentInfo info;
        struct stat st;
        int r;

        /* Segments are closed in order: one torn before this one is not
         * produced again. */
        if (s->torn_pending)
                (void) spool_torn_tail_settle(s, false);

        /* Unless it turns out empty, its seq is used. */
        if (s->next_seq <= e->seq)
                s->next_seq = e->seq + 1;

        r = spool_open_file(s, e->name, O_RDWR, &fd);
        if (r < 0) {
                spool_quarantine(s, e->name, "not a regular file of ours");
                lost_add(s, 0, true, "unfinished spool segment quarantined", true);
                return 0;
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size == 0) {
                /* Created, nothing flushed: nothing was spooled in it. */
                if (s->next_seq == e->seq + 1 && s->prev_seq < e->seq)
                        s->next_seq = e->seq;
                if (unlinkat(s->dir_fd, e->name, 0) < 0)
                        return -errno;
                return fileio_fsync_dir(s->dir_fd);
        }

        r = segment_read_fd(fd, SEGMENT_READ_OPEN, NULL, NULL, &info);
        if (r < 0 && r != -EBADMSG)
                return log_debug_errno(r, "Cannot read spool segment %s: %m", e->name);
        if (r == -EBADMSG || info.header.seq != e->seq || info.compressed) {
                spool_quarantine(s, e->name, info.error[0] ? info.error : "header does not match its name");
                /* A torn header alone means nothing after it was written. */
                if (info.torn_records > 0)
                        lost_add(s, info.torn_records, false, "unfinished spool segment without a valid header", true);
                return 0;
        }

        if (info.torn_records > 0) {
                /* Left as it is until the caller says whether it produces
                 * the tail again (then the last event's intact records are
                 * cut too), or a crash before that finds it the same way. */
                log_warning("Spool segment %s was cut short by a crash: %s; %" PRIu64 " records intact, "
                            "%" PRIu64 " damaged or incomplete lines after them.",
                            e->name, info.error, info.records, info.torn_records);
                s->torn_pending = true;
                s->torn_fd = TAKE_FD(fd);
                (void) snprintf(s->torn_name, sizeof(s->torn_name), "%s", e->name);
                s->torn_info = info;
                s->torn_resume = info.last_event_records > 0 ? info.last_serial :
                                 info.records > 0 ? info.last_serial + 1 : info.header.first_serial;
                s->last_serial = s->last_serial_spooled = info.records > 0 ? info.last_serial : info.header.first_serial;
                return 0;
        }
        /* Drops a footer that made it to disk before the rename did: closing
         * writes the same one again. */
        if (ftruncate(fd, (off_t) info.valid_bytes) < 0)
                return log_debug_errno(errno, "Cannot truncate spool segment %s: %m", e->name);
        return adopt_and_close(s, TAKE_FD(fd), e->name, &info);
}

bool spool_torn_tail(Spool *s, uint64_t *ret_resume) {
        if (!s->torn_pending)
                return false;
        if (ret_resume)
                *ret_resume = s->torn_resume;
        return true;
}

int spool_torn_tail_settle(Spool *s, bool replayed) {
        _cleanup_close_ int fd = -EBADF;
        SegmentInfo *info = &s->torn_info;
        uint64_t torn = info->torn_records, cut_records = replayed ? info->last_event_records : 0;
        uint64_t cut = replayed ? info->last_event_bytes : info->valid_bytes;
        char name[sizeof(s->torn_name)];
        int r;

        if (!s->torn_pending)
                return 0;
        s->torn_pending = false;
        fd = TAKE_FD(s->torn_fd);
        memcpy(name, s->torn_name, sizeof(name));

        r = save_tail(s, fd, name, cut);
        if (r < 0)
                log_warning_errno(r, "Cannot save the torn tail of %s under %s/, cutting it anyway: %m",
                                  name, QUARANTINE_DIR);
        if (ftruncate(fd, (off_t) cut) < 0) {
                r = log_error_errno(errno, "Cannot truncate spool segment %s: %m", name);
                goto fail;
        }
        if (cut != info->valid_bytes) {
                /* The hash and counts of what is left. */
                if (lseek(fd, 0, SEEK_SET) < 0) {
                        r = -errno;
                        goto fail;
                }
                r = segment_read_fd(fd, SEGMENT_READ_OPEN, NULL, NULL, info);
                if (r >= 0 && (info->torn_records != 0 || info->valid_bytes != cut))
                        r = -EBADMSG;
                if (r < 0) {
                        log_error_errno(r, "Cannot read spool segment %s after cutting it: %m", name);
                        goto fail;
                }
        }
        if (replayed)
                log_info("Cut %" PRIu64 " torn lines and %" PRIu64 " intact records of their event from spool "
                         "segment %s (saved under %s/): produced again from serial %" PRIu64 " on.",
                         torn, cut_records, name, QUARANTINE_DIR, s->torn_resume);
        else {
                log_warning("Cut %" PRIu64 " torn lines from spool segment %s (saved under %s/), counted in a gap record.",
                            torn, name, QUARANTINE_DIR);
                lost_add(s, torn, false, "torn tail of the spool cut after a crash", true);
        }
        r = adopt_and_close(s, TAKE_FD(fd), name, info);
        if (r >= 0 && (s->lost_pending > 0 || s->lost_unknown) && !spool_blocked(s)) {
                r = gap_emit(s);
                if (r >= 0)
                        r = spool_flush(s);
        }
        return r < 0 ? r : 0;

fail:
        spool_quarantine(s, name, "torn tail could not be cut");
        lost_add(s, info->records - info->gap_records + torn, false, "unfinished spool segment quarantined", true);
        return r;
}

static int spool_recover(Spool *s) {
        _cleanup_free_ Entry *list = NULL;
        uint64_t chain_seq = 0;
        size_t n = 0;
        int r;

        r = fileio_remove_tmp_files_at(s->dir_fd);
        if (r < 0)
                log_warning_errno(r, "Cannot remove temporary files in the spool, ignoring: %m");

        r = chain_read(s, &chain_seq);
        if (r == -ENOENT)
                chain_seq = 0;
        else if (r < 0)
                log_warning_errno(r, "Cannot read %s in the spool, the next segment will not chain to the last: %m",
                                  CHAIN_FILE);
        s->next_seq = chain_seq + 1;

        r = spool_scan(s, &list, &n);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                Entry *e = &list[i];

                if (e->kind == SEG_OPEN)
                        continue;       /* an empty one is removed, its seq reused */
                if (s->next_seq <= e->seq)
                        s->next_seq = e->seq + 1;
                if (e->kind == SEG_PLAIN && i + 1 < n && list[i + 1].seq == e->seq && list[i + 1].kind == SEG_ZSTD) {
                        /* A crash between compressing and removing the plain
                         * file: both are complete; keep the compressed one if
                         * it is good. */
                        _cleanup_close_ int zfd = -EBADF;
                        if (spool_open_file(s, list[i + 1].name, O_RDONLY, &zfd) >= 0 &&
                            segment_read_fd(zfd, 0, NULL, NULL, NULL) >= 0) {
                                if (unlinkat(s->dir_fd, e->name, 0) < 0)
                                        return -errno;
                        } else {
                                if (unlinkat(s->dir_fd, list[i + 1].name, 0) < 0)
                                        return -errno;
                                r = recover_closed(s, e);
                                if (r < 0)
                                        return r;
                                i++;
                        }
                        continue;
                }
                r = recover_closed(s, e);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++) {
                if (list[i].kind != SEG_OPEN)
                        continue;
                if (list[i].seq < s->next_seq - 1 && s->n_segments > 0)
                        log_warning("Unfinished spool segment %s is older than closed ones.", list[i].name);
                r = recover_open(s, &list[i]);
                if (r < 0)
                        return r;
        }

        s->episode_lost = 0;

        r = chain_ensure(s);
        if (r < 0)
                log_warning_errno(r, "Cannot write %s in the spool, ignoring for now: %m", CHAIN_FILE);

        /* Report what recovery found in a gap record now (with a torn tail
         * pending, when that is settled: no segment can begin before). */
        if (!s->torn_pending && (s->lost_pending > 0 || s->lost_unknown)) {
                r = gap_emit(s);
                if (r >= 0)
                        r = spool_flush(s);
                if (r < 0)
                        log_warning_errno(r, "Cannot write the gap record after recovery, will retry: %m");
        }
        return 0;
}

int spool_open(const SpoolConfig *config, Spool **ret) {
        _cleanup_spool_free_ Spool *s = NULL;
        int r;

        if (!config || !ret)
                return -EINVAL;
        if (!segment_host_is_valid(config->host_id) || !config->key_epoch ||
            strlen(config->key_epoch) != SEGMENT_EPOCH_MAX)
                return -EINVAL;
        if (config->version && !segment_version_is_valid(config->version))
                return -EINVAL;
        if (config->max_spool_bytes < SPOOL_MIN_SPOOL_BYTES ||
            config->full_policy < 0 || config->full_policy >= _SPOOL_FULL_POLICY_MAX ||
            config->fsync_policy < 0 || config->fsync_policy >= _SPOOL_FSYNC_POLICY_MAX ||
            config->compress_level < 0 || config->compress_level > 19)
                return -EINVAL;

        if (sodium_init() < 0)
                return -EIO;

        s = calloc(1, sizeof(Spool));
        if (!s)
                return -ENOMEM;
        s->dir_fd = s->fd = s->torn_fd = -EBADF;
        s->cfg = *config;
        s->cfg.path = NULL;
        s->cfg.host_id = s->cfg.key_epoch = s->cfg.version = NULL;
        /* A segment must fit the quota with room to spare, or drop-oldest
         * could never make room. */
        s->cfg.max_segment_bytes = MAX(MIN(s->cfg.max_segment_bytes, s->cfg.max_spool_bytes / 4), 4096U);
        (void) snprintf(s->host_id, sizeof(s->host_id), "%s", config->host_id);
        (void) snprintf(s->key_epoch, sizeof(s->key_epoch), "%s", config->key_epoch);
        (void) snprintf(s->version, sizeof(s->version), "%s", config->version ?: FSMON_VERSION);

        s->buf = malloc(BUFFER_MAX + SEGMENT_LINE_MAX + GAP_LINE_MAX);
        if (!s->buf)
                return -ENOMEM;

        if (config->path)
                r = fileio_open_dir_at(AT_FDCWD, config->path, 0700, &s->dir_fd);
        else if (config->dir_fd >= 0) {
                /* A new open file description, so that the lock below goes
                 * with this spool, not with the caller's fd. */
                s->dir_fd = openat(config->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                r = s->dir_fd < 0 ? -errno : 0;
        } else
                r = -EINVAL;
        if (r < 0)
                return r;

        if (flock(s->dir_fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;

        r = spool_recover(s);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

int spool_get_dir_fd(Spool *s) {
        return s->dir_fd;
}

void spool_free(Spool *s) {
        if (!s)
                return;
        /* An unsettled torn tail stays as it is: the next start finds it. */
        safe_close(s->torn_fd);
        safe_close(s->fd);
        safe_close(s->dir_fd);
        free(s->segments);
        free(s->buf);
        free(s);
}

int spool_close(Spool *s) {
        int r = 0;

        if (!s)
                return 0;
        if (s->torn_pending)
                (void) spool_torn_tail_settle(s, false);
        if (s->lost_pending > 0 || s->lost_unknown) {
                uint64_t lost = s->lost_pending;

                /* The last chance to record the loss: a gap record is worth
                 * a few hundred bytes over the quota. */
                r = gap_emit(s);
                if (r >= 0)
                        r = segment_close_current(s);
                if (r < 0 || s->lost_pending > 0)
                        log_error_errno(r < 0 ? r : -EIO, "Cannot record in the spool that %" PRIu64 " records were lost: %m", lost);
        }
        if (r >= 0)
                r = segment_close_current(s);
        spool_free(s);
        return r;
}
