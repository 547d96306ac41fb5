/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

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

typedef struct ReportInputOptions {
        bool progress;          /* draw a progress line on stderr */
        unsigned threads;
} ReportInputOptions;

/* Returns 0 when every input was read (some may have been skipped as
 * damaged), or a negative errno for an error that ends the run (-ENOMEM, a
 * path that does not exist: -ENOENT, logged). */
int report_input_run(Report *r, char *const *paths, size_t n_paths, const ReportInputOptions *o);
