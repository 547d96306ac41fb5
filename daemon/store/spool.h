/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "shared/macro.h"
#include "store/segment.h"

/* The durable local spool: append-only segments (segment.h) in one directory,
 * normally /var/lib/fsmon/spool/:
 *
 *   seg-000000000042.open        the segment being written (at most one)
 *   seg-000000000041.jsonl.zst   closed segments, immutable, waiting for upload
 *   seg-000000000040.jsonl       (a closed segment left uncompressed)
 *   chain                        seq and hash of the last closed segment
 *   quarantine/                  damaged segments and torn tails, moved aside
 *
 * Names sort in order. Everything goes through the directory's fd, without
 * following symlinks; closing a segment is footer + fsync + renameat + fsync
 * of the directory. One process at a time: spool_open() takes a lock on the
 * directory (-EBUSY when another holds it).
 *
 * Records are buffered: spool_append() accepts a record, spool_flush() writes
 * what was accepted. A record is spooled (survives kill -9 of the daemon) once
 * spool_flush() returned; it survives a power cut once it is fsynced, which
 * the fsync policy decides. The daemon calls spool_flush() after each batch
 * of events, before it moves its own cursor, and spool_maybe_rotate() from a
 * timer (about once a second).
 *
 * Faults never crash and never busy-loop: when the quota is reached, or a
 * write fails (ENOSPC, EIO, ...), records are dropped and counted, the spool
 * reports itself degraded (logged once), and when it can write again the
 * first thing it writes is a gap record:
 *   {"op":"gap","time":"SEC.MSEC","serial":S,"lost":N,"reason":"..."}
 * with S the serial of the last record written before the gap (0 if none) and
 * N the records lost (null where unknown). A write that failed is retried at
 * most once a second. Records already spooled are never removed because of a
 * write error; only the quota's drop-oldest policy removes them (counted in a
 * gap record too). */

/* SpoolFullPolicy (drop-oldest, stop) and SpoolFsyncPolicy (always, interval,
 * close) come from the config module, config.h. */

#define SPOOL_DEFAULT_MAX_SEGMENT_BYTES (16ULL * 1024 * 1024)
#define SPOOL_DEFAULT_MAX_SEGMENT_AGE_USEC (3600ULL * 1000000)
#define SPOOL_DEFAULT_MAX_SPOOL_BYTES (1024ULL * 1024 * 1024)
#define SPOOL_DEFAULT_FSYNC_INTERVAL_USEC (1000ULL * 1000)
#define SPOOL_DEFAULT_COMPRESS_LEVEL 3
#define SPOOL_MIN_SPOOL_BYTES (16ULL * 1024)

typedef struct SpoolConfig {
        /* The spool directory: path (created with mode 0700 when missing, one
         * level), or when path is NULL an open directory fd (duplicated). */
        const char *path;
        int dir_fd;

        uint64_t max_segment_bytes;     /* rotate at this size (uncompressed) */
        uint64_t max_segment_age_usec;  /* rotate at this age; 0 = never */
        uint64_t max_spool_bytes;       /* quota: all segments on disk */
        SpoolFullPolicy full_policy;
        SpoolFsyncPolicy fsync_policy;
        uint64_t fsync_interval_usec;
        int compress_level;             /* zstd level for closed segments; 0 = keep them plain */

        const char *host_id;            /* segment_host_is_valid(); see host_id_get() */
        const char *key_epoch;          /* key_epoch() */
        const char *version;            /* NULL: FSMON_VERSION */
} SpoolConfig;

/* The defaults for everything but path/dir_fd, host_id and key_epoch, as a
 * function, or as designated initializers: { SPOOL_CONFIG_DEFAULTS }, then
 * assign the rest (overriding an initializer in the same braces trips
 * -Woverride-init). */
void spool_config_init(SpoolConfig *c);
#define SPOOL_CONFIG_DEFAULTS                                                   \
        .dir_fd = -EBADF,                                                       \
        .max_segment_bytes = SPOOL_DEFAULT_MAX_SEGMENT_BYTES,                   \
        .max_segment_age_usec = SPOOL_DEFAULT_MAX_SEGMENT_AGE_USEC,             \
        .max_spool_bytes = SPOOL_DEFAULT_MAX_SPOOL_BYTES,                       \
        .full_policy = SPOOL_FULL_DROP_OLDEST,                                  \
        .fsync_policy = SPOOL_FSYNC_INTERVAL,                                   \
        .fsync_interval_usec = SPOOL_DEFAULT_FSYNC_INTERVAL_USEC,               \
        .compress_level = SPOOL_DEFAULT_COMPRESS_LEVEL

typedef struct Spool Spool;

/* A closed segment, waiting for upload. */
typedef struct SpoolSegment {
        char name[48];
        uint64_t seq;
        uint64_t size;                  /* bytes on disk */
        uint64_t records;               /* gap records included */
        uint64_t gap_records;           /* gap records in it, and the losses they report */
        uint64_t gap_lost;
        uint64_t first_serial, last_serial;
        uint8_t hash[SEGMENT_HASH_SIZE]; /* the chained content hash of its footer */
        uint64_t mtime_usec;
        bool compressed;
} SpoolSegment;

typedef struct SpoolStats {
        uint64_t bytes;                 /* SpoolBytes: all segments on disk, open one included */
        uint32_t segments;              /* SpoolSegments: closed ones and the open one */
        uint32_t closed_segments;       /* waiting for upload */
        uint64_t records_written;       /* spooled since spool_open() */
        uint64_t records_lost;          /* dropped since spool_open() (in gap records, or about to be) */
        uint64_t last_serial;           /* of the last record spooled, 0 if none */
        uint64_t oldest_usec;           /* mtime of the oldest closed segment, 0 if none */
        unsigned quarantined;           /* segments moved aside since spool_open() */
        bool degraded;
        const char *degraded_reason;    /* NULL when not degraded; valid until the next spool call */
} SpoolStats;

/* Expected outcome of spool_append()/spool_append_gap(), not a failure: the
 * record was dropped and counted, it will be reported in a gap record. */
#define SPOOL_DROPPED 1

/* Opens the spool, recovers what an earlier run left: an unfinished segment
 * is closed, unless a crash tore its tail: that waits for the caller
 * (spool_torn_tail()); a closed segment whose header or footer is damaged is
 * quarantined and reported (damage inside: spool_verify_segment()). Logs
 * what it recovered. Errors: -EBUSY (another process has the spool), -EINVAL
 * (bad config), -EPERM/-ELOOP (unsafe directory), I/O errors; they are
 * returned, not logged (the file they concern is said at debug level): the
 * caller decides and logs once. */
int spool_open(const SpoolConfig *config, Spool **ret);

/* The spool's directory: owned by the spool, valid until spool_free(). Who
 * reads segments (the uploader) goes through it, not through the path. */
int spool_get_dir_fd(Spool *s);

/* After spool_open(): true when recovery found the segment an earlier run
 * was writing torn by a crash. The tear may have taken part of the last
 * event's records: *ret_resume is the serial of that event (or the one after
 * the last record, when that is a gap record), from which on the caller
 * would have to produce the events again for nothing to be lost. */
bool spool_torn_tail(Spool *s, uint64_t *ret_resume);

/* Settles the torn tail: replayed, the caller produces the events from that
 * serial on again (fsmond reads them back from auditd's log); the torn lines
 * and the intact records of that event are cut (saved under quarantine/),
 * nothing is counted as lost. Otherwise the torn lines are cut and counted
 * in a gap record, the intact records kept. Until then the segment is neither
 * open nor closed (a crash finds it as it was); the first record appended,
 * spool_rotate(), spool_maybe_rotate() or spool_close() settle it as not
 * replayed. */
int spool_torn_tail_settle(Spool *s, bool replayed);

/* Accepts one record: a JSON object on one line, without the newline, whose
 * "serial" is serial (checked: -EINVAL otherwise, nothing written). Returns 0,
 * or SPOOL_DROPPED when the spool is full or failing. */
int spool_append(Spool *s, const char *line, size_t len, uint64_t serial);

/* The same for a record of fsmon's own encoder (action_json_append()),
 * whose output is one JSON object with the action's serial (the ledger's
 * fuzz target checks it against spool_append()'s parse): only the framing
 * is checked here, the parse is spared on the live path. */
int spool_append_encoded(Spool *s, const char *line, size_t len, uint64_t serial);

/* Records a loss that happened before the spool (lost < 0: unknown count). */
int spool_append_gap(Spool *s, int64_t lost, const char *reason);

/* Writes what was accepted. Returns 0 (everything accepted is spooled, or was
 * counted as lost: see stats), or a negative errno for a failed write, which
 * the spool has dealt with already (degraded, records counted as lost):
 * callers may log at debug level and go on. */
int spool_flush(Spool *s);

/* Timer work, now in CLOCK_MONOTONIC microseconds: closes the open segment
 * when it is older than max_segment_age_usec, fsyncs per policy, retries
 * after a fault so that the spool recovers by itself. */
int spool_maybe_rotate(Spool *s, uint64_t now_usec);

/* Closes the open segment now (e.g. before an upload). 0 when none is open. */
int spool_rotate(Spool *s);

/* Closed segments, oldest first; free(*ret) when done. */
int spool_list(Spool *s, SpoolSegment **ret, size_t *ret_n);

/* Opens a closed segment for reading (O_RDONLY, O_NOFOLLOW, via the dir fd). */
int spool_open_segment(Spool *s, const char *name, int *ret_fd);

/* Reads a closed segment fully and checks it (its structure, the hash over
 * every record, the footer against the listing). Call it before uploading a segment: the start
 * of the spool reads only the segments' headers and footers. A damaged one is
 * quarantined, logged, removed from the list, its records counted in a gap
 * record: returns -EBADMSG, and the caller skips it. -ENOENT when name is not
 * a closed segment of this spool. */
int spool_verify_segment(Spool *s, const char *name);

/* Removes a closed segment after a successful upload (unlink + fsync of the
 * directory). -ENOENT when name is not a closed segment of this spool. */
int spool_mark_uploaded(Spool *s, const char *name);

void spool_get_stats(Spool *s, SpoolStats *ret);

/* Flushes, closes the open segment (SIGTERM path) and frees. Returns the first
 * error; the spool is freed in any case (what could not be closed is
 * recovered by the next spool_open()). Accepts NULL. */
int spool_close(Spool *s);

/* Frees without writing anything more: buffered records are lost, the open
 * segment stays as it is on disk, as after kill -9. Accepts NULL. */
void spool_free(Spool *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Spool *, spool_free);
#define _cleanup_spool_free_ _cleanup_(spool_freep)

/* The host id segments carry by default: the machine id hashed with an
 * fsmon-specific application id (sd_id128_get_machine_app_specific()), so
 * that the machine id itself never leaves the host. 32 hex digits. */
int spool_host_id_default(char ret[SEGMENT_HOST_MAX + 1]);
