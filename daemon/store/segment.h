/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The on-disk format of a spool segment, its writer-side helpers and a
 * validating reader (used by the spool's recovery, the uploader and
 * `fsmonctl report`). A segment is JSON Lines throughout, so that
 * `cat`/`zstdcat` + `jq` and DuckDB's read_json() read it as it is:
 *
 *   {"fsmon":"segment","format":1,"seq":7,"host":"<id>","key_epoch":"<16 hex>",
 *    "version":"0.1.0","first_serial":1234,"created":1700000000,"prev_hash":"<64 hex>"}
 *   {"op":"open","time":"1700000000.123","serial":1234,...}     <- records, one a line
 *   ...
 *   {"fsmon":"end","seq":7,"records":N,"last_serial":5678,"gap_records":G,
 *    "gap_lost":L,"hash":"<64 hex>"}
 *
 * (each on one line). Records are the contract's action objects: a JSON
 * object with a string "op" and an unsigned integer "serial"; header and
 * footer have no "op", so `select(.op)` / `WHERE op IS NOT NULL` picks the
 * records. "hash" is BLAKE2b-256 (unkeyed) of every byte from the start of
 * the header line through the newline of the last record, i.e.
 * `zstdcat SEG | head -n -1 | b2sum -l 256`; since the header carries the
 * previous segment's hash ("prev_hash", zeros for the first ever), the hashes
 * chain: a server can tell a missing, reordered or altered segment.
 * "records" counts every line between header and footer, gap records
 * included; "gap_records" counts those, "gap_lost" sums their known "lost".
 * Closed segments are zstd-compressed (one or more frames; fsmon writes the
 * footer line as a frame of its own) or plain; the reader tells them apart
 * by the zstd magic number. The hash is over the uncompressed text. */

#define SEGMENT_FORMAT 1
#define SEGMENT_HASH_SIZE 32U
#define SEGMENT_HASH_STRING_MAX (SEGMENT_HASH_SIZE * 2 + 1)
#define SEGMENT_HOST_MAX 64U            /* host id: 1..64 of [A-Za-z0-9._-] */
#define SEGMENT_EPOCH_MAX 16U           /* key epoch: 16 hex digits */
#define SEGMENT_VERSION_MAX 31U
/* Longest line the reader accepts; a longer one is damage. */
#define SEGMENT_LINE_MAX (1024U * 1024U)
/* Longest header or footer line that segment_*_format() writes. */
#define SEGMENT_META_LINE_MAX 512U

typedef struct SegmentHeader {
        uint64_t seq;
        char host[SEGMENT_HOST_MAX + 1];
        char key_epoch[SEGMENT_EPOCH_MAX + 1];
        char version[SEGMENT_VERSION_MAX + 1];
        uint64_t first_serial;
        uint64_t created;               /* seconds since the epoch */
        uint8_t prev_hash[SEGMENT_HASH_SIZE];
} SegmentHeader;

typedef struct SegmentFooter {
        uint64_t seq;
        uint64_t records;
        uint64_t last_serial;
        uint64_t gap_records;           /* gap records among the records */
        uint64_t gap_lost;              /* the sum of their known "lost" counts */
        uint8_t hash[SEGMENT_HASH_SIZE];
} SegmentFooter;

bool segment_host_is_valid(const char *s);
bool segment_version_is_valid(const char *s);

/* Write the header/footer line, newline included, into buf (at least
 * SEGMENT_META_LINE_MAX bytes); return its length or -EINVAL. */
int segment_header_format(const SegmentHeader *h, char *buf, size_t size);
int segment_footer_format(const SegmentFooter *f, char *buf, size_t size);

/* Checks one record line (without its newline): strict JSON (RFC 8259, UTF-8,
 * nesting at most 32 deep), an object with a string "op" and an unsigned
 * integer "serial" that fits 64 bits. Returns 0 and the serial, or -EBADMSG.
 * The spool checks every record with this before it writes it, so whatever it
 * writes, the reader accepts. */
int segment_record_check(const char *line, size_t len, uint64_t *ret_serial);

typedef enum SegmentReadFlags {
        /* An unfinished segment (the spool's open file): a missing footer is
         * fine, and instead of failing at the first damaged line the reader
         * reports the valid prefix and how many lines follow it. */
        SEGMENT_READ_OPEN = 1 << 0,
        /* A closed segment that this spool wrote: check structure, counts and
         * the hash (which vouches for every byte of the records, checked when
         * they were written), without parsing each record: about twice as
         * fast. The record callback is not called. */
        SEGMENT_READ_HASH_ONLY = 1 << 1,
} SegmentReadFlags;

typedef struct SegmentInfo {
        bool compressed;
        bool has_header;
        bool has_footer;
        uint64_t header_bytes;          /* length of the header line */
        SegmentHeader header;
        SegmentFooter footer;

        uint64_t records;               /* valid records */
        uint64_t gap_records;           /* ... of which "op":"gap" */
        uint64_t gap_lost;              /* sum of their "lost" counts */
        bool gap_lost_unknown;          /* some gap had "lost":null (or none) */
        uint64_t first_serial;          /* of the first and last valid record */
        uint64_t last_serial;
        /* The records at the end of the valid prefix that belong to its last
         * event (same serial, not a gap record), and where they begin: a
         * crash may have torn off the rest of that event. 0 and valid_bytes
         * when the last record is a gap record. Not with
         * SEGMENT_READ_HASH_ONLY. */
        uint64_t last_event_records;
        uint64_t last_event_bytes;
        /* Uncompressed length of the valid prefix: header and valid records
         * (the footer not included). */
        uint64_t valid_bytes;
        /* With SEGMENT_READ_OPEN: lines (complete or not) after the valid
         * prefix, not counting a damaged header line; 0 when undamaged. */
        uint64_t torn_records;
        /* BLAKE2b-256 of the valid prefix, and the state to continue it. */
        uint8_t hash[SEGMENT_HASH_SIZE];
        crypto_generichash_state hash_state;

        char error[160];                /* why the segment is not valid */
} SegmentInfo;

/* Called for each valid record, in order, without its newline. A negative
 * return stops reading and is returned. Records of a closed segment are
 * handed over as they are read, before the footer's hash is checked: a
 * caller that must not see records of a damaged segment reads it twice (or
 * buffers). */
typedef int (*SegmentRecordFunc)(const char *line, size_t len, uint64_t serial, void *userdata);

/* Read and validate a whole segment, from the current offset of fd to its end,
 * or from a buffer. Returns 0 when valid (for SEGMENT_READ_OPEN: when the
 * header is valid, whatever follows the valid prefix), -EBADMSG when damaged
 * (info->error says where and why), or another negative errno (read errors,
 * ENOMEM, or what func returned). info may be NULL. */
int segment_read_fd(int fd, SegmentReadFlags flags, SegmentRecordFunc func, void *userdata, SegmentInfo *info);
int segment_read_buffer(const void *buf, size_t size, SegmentReadFlags flags,
                        SegmentRecordFunc func, void *userdata, SegmentInfo *info);

/* Compresses everything from in_fd's current offset to its end into out_fd:
 * zstd, checksummed; the header line (header_bytes), the records (up to
 * footer_offset) and the footer line each in a frame of their own, so that
 * segment_read_meta_fd() finds header and footer by reading the file's head
 * and tail (header_bytes 0: one frame). */
int segment_compress_fd(int in_fd, int out_fd, int level, uint64_t header_bytes, uint64_t footer_offset);

/* Reads only a closed segment's header and footer: the first line, and the
 * last line (plain) or the last frame (compressed) from the file's tail, so
 * that listing a large spool costs a few reads per segment. Fills the header,
 * footer, records, first/last serial and gap fields of info (hash = the
 * footer's); checks that header and footer agree, not the content: that is
 * segment_read_fd()'s job. Returns 0, -EBADMSG (info->error says why; the
 * file may still be valid, e.g. compressed by another tool: read it fully),
 * or another negative errno. */
int segment_read_meta_fd(int fd, SegmentInfo *info);

void segment_hash_to_string(const uint8_t hash[SEGMENT_HASH_SIZE], char ret[SEGMENT_HASH_STRING_MAX]);
