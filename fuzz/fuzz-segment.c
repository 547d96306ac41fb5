/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target for the segment reader: arbitrary bytes as a closed segment,
 * as an unfinished one (the spool's recovery path), as a single record, and
 * through the cheap header-and-footer read that lists a spool. */
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store/segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_record(const char *line, size_t len, uint64_t serial, void *userdata) {
        uint64_t *n = userdata;

        /* What the reader hands over must pass the writer's own check. */
        if (segment_record_check(line, len, NULL) < 0)
                __builtin_trap();
        (*n)++;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        SegmentInfo info;
        uint64_t n = 0;
        int r;

        r = segment_read_buffer(data, size, 0, count_record, &n, &info);
        if (r == 0 && (!info.has_header || !info.has_footer || info.records != n))
                __builtin_trap();

        (void) segment_read_buffer(data, size, SEGMENT_READ_HASH_ONLY, NULL, NULL, &info);

        n = 0;
        r = segment_read_buffer(data, size, SEGMENT_READ_OPEN, count_record, &n, &info);
        if (r == 0 && info.valid_bytes > size && !info.compressed)
                __builtin_trap();
        if (r == 0 && !info.compressed && info.has_header) {
                /* What the spool's recovery cuts back to: the prefix before
                 * the last event's records, which reads as whole. */
                SegmentInfo cut;
                uint64_t keep = info.records - info.last_event_records;

                if (info.last_event_bytes > info.valid_bytes || info.last_event_bytes < info.header_bytes ||
                    info.last_event_records > info.records - info.gap_records)
                        __builtin_trap();
                n = 0;
                if (segment_read_buffer(data, info.last_event_bytes, SEGMENT_READ_OPEN, count_record, &n, &cut) != 0 ||
                    cut.records != keep || n != keep || cut.torn_records != 0 || cut.valid_bytes != info.last_event_bytes)
                        __builtin_trap();
        }

        (void) segment_record_check((const char *) data, size, NULL);

        /* The cheap listing read, on a file of these bytes. */
        {
                static int fd = -1;

                if (fd < 0)
                        fd = memfd_create("fuzz-segment", MFD_CLOEXEC);
                if (fd >= 0 && ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0) == (ssize_t) size)
                        (void) segment_read_meta_fd(fd, &info);
        }
        return 0;
}
