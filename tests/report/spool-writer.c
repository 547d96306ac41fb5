/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Writes a real spool with the spool module (daemon/store/spool.c), as fsmond
 * does, and prints what it wrote: the per-op counts and bytes, as JSON.
 *
 *   spool-writer DIR RECORDS SEGMENT_BYTES COMPRESS_LEVEL
 *
 * Records: open, then reads and writes of 1..4096 bytes, then close, over a
 * few files, with one gap record. The spool rotates at SEGMENT_BYTES (closed
 * segments zstd-compressed at COMPRESS_LEVEL, 0: plain); the last segment is
 * left open, as after kill -9 of the daemon. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/spool.h"

static const char *const ops[] = { "open", "read", "write", "pread", "close", "gap" };

int main(int argc, char *argv[]) {
        uint64_t count[6] = {}, bytes[6] = {}, serial = 1000;
        _cleanup_spool_free_ Spool *s = NULL;
        SpoolConfig c;
        unsigned long n;
        int r;

        if (argc != 5) {
                fprintf(stderr, "usage: %s DIR RECORDS SEGMENT_BYTES COMPRESS_LEVEL\n", argv[0]);
                return 2;
        }
        n = strtoul(argv[2], NULL, 10);

        spool_config_init(&c);
        c.path = argv[1];
        c.host_id = "spool-writer-host";
        c.key_epoch = "0123456789abcdef";
        c.version = "0.1.0";
        c.max_segment_bytes = strtoull(argv[3], NULL, 10);
        c.max_segment_age_usec = 0;
        c.compress_level = atoi(argv[4]);
        r = spool_open(&c, &s);
        if (r < 0) {
                fprintf(stderr, "spool_open: %s\n", strerror(-r));
                return 1;
        }

        for (unsigned long i = 0; i < n; i++) {
                /* open, 6 transfers, close per file visit. */
                unsigned k = (unsigned) (i % 8), op = k == 0 ? 0 : k == 7 ? 4 : 1 + (unsigned) (i % 3);
                uint64_t b = (i * 2654435761u) % 4096 + 1;
                char line[256];
                int len;

                serial++;
                if (op == 0 || op == 4)
                        len = snprintf(line, sizeof(line),
                                       "{\"op\":\"%s\",\"time\":\"%" PRIu64 ".%03u\",\"serial\":%" PRIu64 ","
                                       "\"pid\":7,\"path\":\"/t%lu/f%lu\",\"fd\":3,\"auid\":1000,\"comm\":\"w\"}",
                                       ops[op], 1700000000 + i / 10, (unsigned) (i % 1000), serial, i % 5, i / 8 % 13);
                else {
                        len = snprintf(line, sizeof(line),
                                       "{\"op\":\"%s\",\"time\":\"%" PRIu64 ".%03u\",\"serial\":%" PRIu64 ","
                                       "\"pid\":7,\"path\":\"/t%lu/f%lu\",\"fd\":3,\"offset\":%lu,\"bytes\":%" PRIu64 ","
                                       "\"auid\":1000,\"comm\":\"w\"}",
                                       ops[op], 1700000000 + i / 10, (unsigned) (i % 1000), serial, i % 5, i / 8 % 13,
                                       k * 4096UL, b);
                        bytes[op] += b;
                }
                r = spool_append(s, line, (size_t) len, serial);
                if (r != 0) {
                        fprintf(stderr, "spool_append: %d\n", r);
                        return 1;
                }
                count[op]++;
                if (i % 64 == 0 && spool_flush(s) < 0)
                        return 1;
                if (i == n / 2) {
                        if (spool_append_gap(s, 5, "test") != 0)
                                return 1;
                        count[5]++;
                }
        }
        if (spool_flush(s) < 0)
                return 1;

        printf("{\"ops\":{");
        for (size_t i = 0; i < 6; i++)
                printf("%s\"%s\":{\"count\":%" PRIu64 ",\"bytes\":%" PRIu64 "}", i ? "," : "", ops[i], count[i], bytes[i]);
        printf("},\"lost\":5}\n");
        /* spool_free(): the open segment stays as it is, as after kill -9. */
        return 0;
}
