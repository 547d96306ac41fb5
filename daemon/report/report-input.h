/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "report/report.h"

/* The input side of `fsmonctl report`: finds segment files under the given
 * paths, reads and validates each with the spool's segment reader
 * (segment.h: plain or zstd, header, footer, chained hash), and folds each
 * valid one into the report. A damaged or foreign file is logged by name,
 * listed in the report's "skipped" and left out whole; the rest still counts.
 *
 * A path may be a segment file, a local spool directory (its open segment,
 * seg-*.open, is read as unfinished: a missing footer is fine, a torn tail is
 * left out), or a server directory <dir>/<host id>/<segment>. Directories are
 * walked in name order (segment names sort in time order); hidden names (the
 * spool's temporary files), uploads in flight (*.part), the spool's "chain"
 * file and its quarantine/ are passed over.
 *
 * Files are read by up to `threads` workers in parallel (0: one per CPU, at
 * most 4) and merged strictly in input order, so results do not depend on
 * timing. */

/* Besides segments, a file named on the command line (not one found in a
 * directory) may be, told apart by its first bytes:
 *   - action JSON Lines, as `fsmonctl decode` prints them (a line that is
 *     not one JSON object makes the whole file skipped, as a damaged
 *     segment is);
 *   - an audit log (lines starting "type=" or "node="), turned into records
 *     by the audit_decode hook: the caller's (fsmonctl runs the core ledger;
 *     this layer knows nothing of audit). Without a hook they are skipped.
 * "-" is standard input, read as one such file (a segment there must be a
 * regular file: `fsmonctl report - <SEGMENT`). */

/* One record line (without its newline). Returns 0 or a negative errno. */
typedef int (*ReportLineSink)(const char *line, size_t len, void *sink_userdata);

/* Decodes audit log text: first the bytes read already (prefix), then the
 * rest of fd; each record goes to sink. Returns 0, or a negative errno with
 * a reason (which skips the file; -ENOMEM ends the run). Called from the
 * reader's threads, several at once: must keep no shared mutable state. */
typedef int (*ReportAuditDecoder)(const char *prefix, size_t prefix_len, int fd, ReportLineSink sink,
                                  void *sink_userdata, void *userdata, char *reason, size_t reason_size);

typedef struct ReportInputOptions {
        bool progress;          /* draw a progress line on stderr */
        unsigned threads;
        ReportAuditDecoder audit_decode;        /* NULL: audit logs are skipped */
        void *audit_decode_userdata;
} ReportInputOptions;

/* Returns 0 when every input was read (some may have been skipped as
 * damaged), or a negative errno for an error that ends the run (-ENOMEM, a
 * path that does not exist: -ENOENT, logged). */
int report_input_run(Report *r, char *const *paths, size_t n_paths, const ReportInputOptions *o);
