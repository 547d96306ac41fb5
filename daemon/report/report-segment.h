/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "shared/macro.h"
#include "report/report.h"
#include "report/report-verify.h"

/* Reads one spool segment (format: daemon/store/segment.h) into a report, in one
 * pass: plain or zstd (told apart by the magic number), header, records,
 * footer, the BLAKE2b-256 content hash. It checks what segment_read_fd()
 * checks (header, serials, record count, hash, nothing after the footer) but
 * scans each line once, with the report's scanner, instead of validating it
 * with a general JSON walker and then scanning it again: the segment reader
 * costs more than the whole report (README, "Reports and the fleet path").
 * The segment reader stays the reference: tests/report checks that both
 * accept and refuse the same files.
 *
 * Records are folded into the report as they are read; callers give a fresh
 * report (a delta) and throw it away when the result is -EBADMSG, or NULL
 * (`fsmonctl verify`: only the facts). */

typedef struct ReportSegmentReader ReportSegmentReader;

int report_segment_reader_new(ReportSegmentReader **ret);
ReportSegmentReader *report_segment_reader_free(ReportSegmentReader *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(ReportSegmentReader *, report_segment_reader_free);

/* Reads fd to its end. open_segment: the spool's unfinished segment, where a
 * missing footer is fine and a damaged or torn tail is left out (counted).
 * layout_host: the host when the header has none (it always has, today).
 * Returns 0, -EBADMSG when the file is damaged or not a segment (see
 * report_segment_error()), -ENOMEM, or a read error. */
int report_segment_read(ReportSegmentReader *r, int fd, bool open_segment, const char *layout_host,
                        Report *delta, ReportScanBuffer *scan);

const char *report_segment_error(ReportSegmentReader *r);
/* Uncompressed bytes of the valid part (header and records). */
uint64_t report_segment_bytes(ReportSegmentReader *r);
/* Records read (of the valid part). */
uint64_t report_segment_records(ReportSegmentReader *r);
/* Lines left out at the end of an unfinished segment. */
uint64_t report_segment_torn(ReportSegmentReader *r);
/* What the last file held, for the verifier (also for a damaged file: what
 * was read of it), and the kind of damage. */
const VerifySegmentFacts *report_segment_facts(ReportSegmentReader *r);
VerifyDamage report_segment_damage(ReportSegmentReader *r);
