/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target for the segment reader: arbitrary bytes as a closed segment,
 * as an unfinished one (the spool's recovery path) and as a single record. */
#include <stddef.h>
#include <stdint.h>

#include "segment.h"

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

        n = 0;
        r = segment_read_buffer(data, size, SEGMENT_READ_OPEN, count_record, &n, &info);
        if (r == 0 && info.valid_bytes > size && !info.compressed)
                __builtin_trap();

        (void) segment_record_check((const char *) data, size, NULL);
        return 0;
}
