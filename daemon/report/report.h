/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/macro.h"
#include "report/report-scan.h"

/* Statistics over file actions (the pure core of `fsmonctl report`).
 *
 * Memory is bounded by the number of distinct keys (files, programs, users,
 * hosts, hours, op names), never by the number of records: every record is
 * folded into counters as it streams by.
 *
 * Inputs are counted per segment file into a fresh Report (a "delta") that
 * is merged into the total only when the whole file has been read without
 * error, so that a damaged file can be skipped as a whole. The merge keeps
 * order-dependent figures (sequential vs random, re-reads) exact across
 * segment boundaries: a delta remembers its first transfer per file and its
 * ranges, and report_merge() classifies them against what came before. */

typedef struct Report Report;

/* Read ranges per file are kept exactly up to this many disjoint ranges;
 * beyond it the two closest neighbours are joined (so re-reads may then be
 * over-counted by at most the bytes of the joined gaps). Bounds memory per
 * file at about 1 KiB. */
#define REPORT_RANGES_MAX 64

typedef enum ReportOpClass {
        REPORT_OP_OTHER,
        REPORT_OP_READ,         /* read, pread, readv, preadv */
        REPORT_OP_WRITE,        /* write, pwrite, writev, pwritev */
        REPORT_OP_OPEN,         /* open */
        REPORT_OP_MAP,          /* mmap: bytes mapped, not bytes moved */
        REPORT_OP_RENAME,       /* rename */
        REPORT_OP_UNLINK,       /* unlink */
        REPORT_OP_RMDIR,        /* rmdir */
        REPORT_OP_MKDIR,        /* mkdir */
        REPORT_OP_TRUNCATE,     /* truncate */
} ReportOpClass;

typedef struct ReportCounters {
        uint64_t actions;
        uint64_t opens;
        uint64_t reads, writes;
        uint64_t bytes_read, bytes_written;    /* copies (\"via\") count in both */
        uint64_t maps, bytes_mapped;            /* kept apart: accesses are not seen */
} ReportCounters;

/* Changes to names, in their own table: they move no bytes. */
typedef struct ReportNames {
        uint64_t renames, unlinks, rmdirs, mkdirs, truncates;
} ReportNames;

/* Sequential: a transfer that starts where the previous transfer of the
 * same direction on the same file ended (the first one: at offset 0).
 * Random: any other known offset. Unknown: offset null or absent. */
typedef struct ReportPattern {
        uint64_t seq, seq_bytes;
        uint64_t rand, rand_bytes;
        uint64_t unknown, unknown_bytes;
} ReportPattern;

typedef struct ReportRange {
        int64_t start, end;     /* [start, end) */
} ReportRange;

typedef struct ReportFile {
        const char *path;
        size_t path_len;
        const char *host;
        ReportCounters c;
        ReportPattern read_pattern, write_pattern;
        uint64_t reread_bytes;
        /* Private to report.c from here on. */
        int64_t next[2];                /* expected offset per direction; <0: unknown */
        bool have_first[2];             /* delta: first transfer not yet classified */
        int64_t first_offset[2];
        uint64_t first_bytes[2];
        ReportRange *ranges;
        unsigned n_ranges;
} ReportFile;

typedef struct ReportOpStat {
        const char *name;
        uint64_t count;
        uint64_t bytes;         /* sum of "bytes" > 0 */
} ReportOpStat;

typedef struct ReportKeyed {
        const char *key;        /* program, user ("1000", "unset"), host, hour ("1763726400") */
        ReportCounters c;
        uint64_t files;         /* hosts only: distinct files */
        uint64_t lost;          /* hosts and hours: events lost (gap records) */
} ReportKeyed;

typedef struct ReportSummary {
        uint64_t inputs;                /* files read (merged) */
        uint64_t inputs_skipped;
        uint64_t input_bytes;           /* bytes of input (decompressed) */
        uint64_t records;
        uint64_t metadata_lines;
        uint64_t lost;                  /* sum of gap "lost" */
        uint64_t gaps;
        uint64_t first_sec, last_sec;   /* 0, 0: no timed record */
        ReportCounters c;
        ReportPattern read_pattern, write_pattern;
        uint64_t reread_bytes;
        uint64_t files;
        ReportNames names;
} ReportSummary;

typedef enum ReportTable {
        REPORT_TABLE_PROGRAMS,
        REPORT_TABLE_USERS,
        REPORT_TABLE_HOSTS,
        REPORT_TABLE_HOURS,
        _REPORT_TABLE_MAX,
} ReportTable;

int report_new(Report **ret);
Report *report_free(Report *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Report *, report_free);

/* Empties a report but keeps its allocations, for reuse as the next delta. */
void report_reset(Report *r);

/* Folds one scanned line in; host names the machine the line comes from
 * (NULL: unknown). Metadata lines only count. -ENOMEM on allocation failure. */
int report_add(Report *r, const ReportRecord *rec, const char *host);

/* Adds delta to r (delta is the later input) and resets delta. */
int report_merge(Report *r, Report *delta);

/* Input bookkeeping, called by the reader: a file merged (bytes: its
 * uncompressed size), or a file skipped, by name and why. */
void report_note_input(Report *r, uint64_t bytes);
int report_note_skipped(Report *r, const char *name, const char *reason);

typedef struct ReportSkipped {
        const char *name;
        const char *reason;
} ReportSkipped;
size_t report_skipped(Report *r, const ReportSkipped **ret);

/* The completeness of the hosts, by the checks of `fsmonctl verify`
 * (report-verify.h) over the same files; r takes v over (NULL: none). */
struct Verify;
void report_set_verify(Report *r, struct Verify *v);
struct Verify *report_get_verify(Report *r);

/* Results. Pointers stay valid until the next change of r. */
const ReportSummary *report_summary(Report *r);
size_t report_ops(Report *r, const ReportOpStat **ret);
/* Sorted: programs, users and hosts by bytes (read + written) then actions;
 * hours by time. */
int report_table(Report *r, ReportTable t, const ReportKeyed ***ret, size_t *ret_n);
/* Up to n files, by bytes (read + written) or by opens, largest first; ties
 * broken by host and path so that output is stable. */
int report_top_files(Report *r, bool by_opens, size_t n, const ReportFile ***ret, size_t *ret_n);

/* Op name as the report counts it: its class decides what "bytes" means. */
ReportOpClass report_op_class(const char *op, size_t len) _pure_;
