/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A scanner for one line of the record format (contract: "File actions"):
 * a JSON object per line. It validates the whole line as JSON (RFC 8259
 * grammar; nested values are walked, not kept) and picks out the keys that
 * `fsmonctl report` counts. Why not a JSON library: see README, "Reports and
 * the fleet path"; in short, a general DOM parser costs 5-10x more per line
 * than this flat scan, and the report has to keep up with DuckDB. */

typedef struct ReportRecord {
        /* Strings point into the line, or into the scan buffer when they had
         * escapes; NULL: absent or null. */
        const char *op;         /* NULL: the line is metadata (segment header or
                                 * footer, or any object without a string "op") */
        const char *path;
        const char *comm;
        const char *fsmon;      /* segment header and footer: "segment", "end" */
        const char *host;
        const char *hash;
        /* Only `fsmonctl verify` needs these: header and gap records. */
        const char *key_epoch;
        const char *prev_hash;
        const char *reason;
        size_t op_len, path_len, comm_len, fsmon_len, host_len, hash_len;
        size_t key_epoch_len, prev_hash_len, reason_len;

        /* Which values below are there (and not null). */
        bool has_time, has_offset, has_bytes, has_auid, has_uid, has_lost, has_serial;
        bool has_format, has_seq, has_first_serial, has_records, has_last_serial;
        bool has_created, has_gap_records, has_gap_lost;

        /* Values: valid only where their has_ flag says so. */
        uint64_t sec;           /* "time": "SECONDS.MILLIS" (or a number) */
        unsigned msec;
        int64_t offset;
        int64_t bytes;
        uint32_t auid, uid;
        uint64_t lost;          /* gap records */
        uint64_t serial;
        uint64_t format, seq, first_serial, records, last_serial;
        uint64_t created, gap_records, gap_lost;
} ReportRecord;

/* Everything before this is cleared for each line; the rest is read only
 * where a flag says so. */
#define REPORT_RECORD_CLEAR_SIZE offsetof(ReportRecord, sec)

/* Scratch space for strings with escapes: record fields point into the line
 * itself when it has none, else into this buffer. */
typedef struct ReportScanBuffer {
        char *data;
        size_t size;
        size_t used;
} ReportScanBuffer;

void report_scan_buffer_done(ReportScanBuffer *b);

/* Scans line[0..len) (without its newline). Returns 0 and fills *ret, whose
 * strings stay valid until the next call with the same buffer, or
 * -EBADMSG when the line is not one well-formed JSON object, -ENOMEM. */
int report_scan_line(const char *line, size_t len, ReportScanBuffer *buf, ReportRecord *ret);
