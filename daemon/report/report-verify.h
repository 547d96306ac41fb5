/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shared/macro.h"

/* The collector's check (`fsmonctl verify`, and the completeness column of
 * `fsmonctl report`): is every host's data complete, untouched and in order?
 * Pure: it is handed what a reader found in each file (VerifyFile) and
 * decides; reading is report-segment.c's, walking is report-verify-input.c's.
 *
 * Files come in groups: a host folder of a server directory (<dir>/<host
 * id>/...; every segment in it must carry that host id), or a loose group
 * (a spool, files named one by one), where the header's host decides. A
 * group is decided when the next begins, so memory holds one group's
 * segments (about 120 bytes each) plus a bounded verdict per host.
 *
 * Per host the segments are ordered by seq and linked: each header's
 * prev_hash must be the content hash of the segment before it. What the
 * verdict says (kinds, README "Verifying a fleet"):
 *   damaged:    altered (hash, counts or compressed data do not match),
 *               truncated, not-a-segment (in a host folder), broken-link
 *               (prev_hash is not the previous segment's hash), missing (a
 *               segment absent in the middle that no gap record accounts
 *               for), reordered (file names out of seq order), duplicate
 *               (the same segment twice), conflict (two different segments
 *               with one seq), foreign (another host's segment in this
 *               folder), symlink, not-regular;
 *   incomplete: head-missing (the first segment here is not the host's
 *               first: its prev_hash is not zero), dropped (segments absent
 *               where the host's own gap records say the spool dropped or
 *               quarantined them), part (an upload in flight or broken off);
 *   notes:      torn (the unfinished segment's torn tail, left out),
 *               seq-skipped (a seq the spool never used; the chain links
 *               across it), key-epoch (the key changed).
 * Gap records are listed with their losses and reasons; losses alone do not
 * make a host incomplete: the host said what it lost, and the chain shows
 * nothing else is missing. */

#define VERIFY_HASH_HEX 64U
#define VERIFY_HOST_MAX 64U
#define VERIFY_EPOCH_HEX 16U
#define VERIFY_REASON_MAX 120U
/* Gap records kept per segment by the reader; more are counted, not listed. */
#define VERIFY_SEGMENT_GAPS_MAX 8U
/* Listed per host (the rest are counted). */
#define VERIFY_HOST_GAPS_MAX 64U
#define VERIFY_HOST_ISSUES_MAX 64U
#define VERIFY_HOST_EPOCHS_MAX 16U

typedef enum VerifyDamage {
        VERIFY_DAMAGE_NONE,
        VERIFY_DAMAGE_ALTERED,          /* hash, counts, compressed data or a line */
        VERIFY_DAMAGE_TRUNCATED,        /* no footer, torn last line, zstd frame cut */
        VERIFY_DAMAGE_NOT_SEGMENT,      /* no valid header */
        VERIFY_DAMAGE_UNREADABLE,       /* a read error */
} VerifyDamage;

typedef struct VerifyGap {
        uint64_t serial;
        uint64_t lost;
        bool lost_known;
        char reason[VERIFY_REASON_MAX];
} VerifyGap;

/* What a reader found in one segment file. Header fields are valid when
 * has_header; the rest describe the valid part. */
typedef struct VerifySegmentFacts {
        bool has_header, has_footer;
        uint64_t seq;
        char host[VERIFY_HOST_MAX + 1];
        char key_epoch[VERIFY_EPOCH_HEX + 1];   /* "" when absent or malformed */
        char prev_hash[VERIFY_HASH_HEX + 1];    /* "" when absent or malformed */
        uint64_t first_serial, created;
        /* From the footer (when has_footer). */
        uint64_t footer_gap_records, footer_gap_lost;
        bool footer_has_gap_counts;
        /* Computed: BLAKE2b-256 of the valid part (for a valid closed segment:
         * the footer's "hash"). */
        char hash[VERIFY_HASH_HEX + 1];
        uint64_t records, last_serial;
        uint64_t gap_records, gap_lost;
        bool gap_lost_unknown;
        bool has_time;
        uint64_t first_sec, last_sec;
        VerifyGap gaps[VERIFY_SEGMENT_GAPS_MAX];
        size_t n_gaps;                          /* listed; gap_records counts all */
        uint64_t torn;                          /* unfinished segment: lines left out */
} VerifySegmentFacts;

typedef enum VerifyFileKind {
        VERIFY_FILE_SEGMENT,            /* read: result and facts say what it holds */
        VERIFY_FILE_OPEN_SEGMENT,       /* the spool's unfinished seg-*.open, read */
        VERIFY_FILE_PART,               /* NAME.part: an upload in flight */
        VERIFY_FILE_SYMLINK,
        VERIFY_FILE_NOT_REGULAR,
        VERIFY_FILE_DIRECTORY,          /* below a host folder: not read */
} VerifyFileKind;

typedef struct VerifyFile {
        const char *path;               /* as shown */
        const char *name;               /* its last component */
        const char *folder;             /* the host folder it is in, NULL: a loose group */
        VerifyFileKind kind;
        VerifyDamage damage;            /* segments: NONE when valid */
        const char *error;              /* why damaged */
        const VerifySegmentFacts *facts;/* segments (also damaged ones: what was read) */
        uint64_t size;                  /* on disk */
} VerifyFile;

typedef enum VerifyStatus {
        VERIFY_COMPLETE,
        VERIFY_INCOMPLETE,
        VERIFY_DAMAGED,
        _VERIFY_STATUS_MAX,
} VerifyStatus;

typedef enum VerifyIssueKind {
        VERIFY_ISSUE_ALTERED,
        VERIFY_ISSUE_TRUNCATED,
        VERIFY_ISSUE_NOT_SEGMENT,
        VERIFY_ISSUE_UNREADABLE,
        VERIFY_ISSUE_BROKEN_LINK,
        VERIFY_ISSUE_MISSING,
        VERIFY_ISSUE_REORDERED,
        VERIFY_ISSUE_DUPLICATE,
        VERIFY_ISSUE_CONFLICT,
        VERIFY_ISSUE_FOREIGN,
        VERIFY_ISSUE_SYMLINK,
        VERIFY_ISSUE_NOT_REGULAR,
        VERIFY_ISSUE_HEAD_MISSING,
        VERIFY_ISSUE_DROPPED,
        VERIFY_ISSUE_PART,
        VERIFY_ISSUE_TORN,
        VERIFY_ISSUE_SEQ_SKIPPED,
        VERIFY_ISSUE_KEY_EPOCH,
        _VERIFY_ISSUE_MAX,
} VerifyIssueKind;

typedef struct VerifyIssue {
        VerifyIssueKind kind;
        char *file;                     /* NULL: not about one file */
        uint64_t seq;                   /* 0: none */
        char *message;
} VerifyIssue;

typedef struct VerifyHostGap {
        uint64_t seq;                   /* of the segment holding the gap record */
        VerifyGap gap;
} VerifyHostGap;

typedef struct VerifyEpoch {
        char epoch[VERIFY_EPOCH_HEX + 1];
        uint64_t first_seq, last_seq;
} VerifyEpoch;

typedef struct VerifyHost {
        char id[VERIFY_HOST_MAX + 1];   /* "" for files that name no host */
        char *folder;                   /* the folder it was found in, NULL: loose */
        VerifyStatus status;
        uint64_t segments;              /* valid segments in the chain */
        uint64_t files, bytes;          /* files looked at, their size on disk */
        uint64_t first_seq, last_seq;
        uint64_t records;               /* of the valid segments, gap records included */
        uint64_t first_serial, last_serial;
        bool has_time;
        uint64_t first_sec, last_sec;
        bool starts_at_beginning;       /* the first segment's prev_hash is zero */
        char last_hash[VERIFY_HASH_HEX + 1];
        bool has_open_segment;
        uint64_t gap_records, gap_lost;
        bool gap_lost_unknown;
        VerifyHostGap *gaps;
        size_t n_gaps;                  /* listed, at most VERIFY_HOST_GAPS_MAX */
        VerifyEpoch epochs[VERIFY_HOST_EPOCHS_MAX];
        size_t n_epochs;
        VerifyIssue *issues;
        size_t n_issues;                /* listed */
        uint64_t issues_total;          /* listed and counted */
        uint64_t count[_VERIFY_ISSUE_MAX];
} VerifyHost;

typedef struct Verify Verify;

int verify_new(Verify **ret);
Verify *verify_free(Verify *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(Verify *, verify_free);

/* Hands one file over; a file of another group than the previous one decides
 * the previous group first. -ENOMEM. */
int verify_add(Verify *v, const VerifyFile *f);
/* Decides the last group. Call once, before the results. */
int verify_finish(Verify *v);

size_t verify_hosts(Verify *v, const VerifyHost *const **ret);
/* The first host entry with that id, NULL if none. */
const VerifyHost *verify_find_host(Verify *v, const char *id);
/* The worst host status (COMPLETE when there are no hosts). */
VerifyStatus verify_status(Verify *v);

const char *verify_status_to_string(VerifyStatus s) _pure_;
const char *verify_issue_kind_to_string(VerifyIssueKind k) _pure_;
VerifyStatus verify_issue_kind_severity(VerifyIssueKind k) _pure_;

int verify_render_text(Verify *v, FILE *o);
int verify_render_json(Verify *v, FILE *o);
