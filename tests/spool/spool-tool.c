/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helper of tests/spool/kill9.sh.
 *
 *   spool-tool write DIR BASE COUNT SEGMENT_BYTES
 *      appends records BASE+1 .. BASE+COUNT in random batches, flushing after
 *      each and then printing "F <last serial>" on stdout: from then on the
 *      record counts as spooled.
 *   spool-tool verify DIR STATE BASE REPORTED
 *      opens the spool (recovery), closes the open segment, and checks every
 *      closed segment: valid, chained to the last one verified (STATE), the
 *      records of this round exactly BASE+1 .. BASE+M with M >= REPORTED-BASE
 *      and the expected content, every torn tail counted in a gap record;
 *      then removes them (as an upload would) and updates STATE.
 * Record content is a function of the serial, so nothing can be altered
 * unnoticed. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/log.h"
#include "store/spool.h"

#define HOST "killtest"
#define EPOCH "0123456789abcdef"

static int rec(char *buf, size_t size, uint64_t serial) {
        return snprintf(buf, size,
                        "{\"op\":\"write\",\"time\":\"1700000000.%03u\",\"serial\":%" PRIu64 ",\"pid\":%u,"
                        "\"path\":\"/k%" PRIu64 "/%.*s\",\"fd\":5,\"offset\":%" PRIu64 ",\"bytes\":100}",
                        (unsigned) (serial % 1000), serial, (unsigned) (serial % 1009),
                        serial % 31, (int) (serial % 23), "zyxwvutsrqponmlkjihgfedcba", serial * 100);
}

static SpoolConfig config(const char *dir, uint64_t segment_bytes) {
        SpoolConfig cfg;

        spool_config_init(&cfg);
        cfg.path = dir;
        cfg.host_id = HOST;
        cfg.key_epoch = EPOCH;
        cfg.max_segment_bytes = segment_bytes;
        cfg.compress_level = 1;
        return cfg;
}

static int do_write(const char *dir, uint64_t base, uint64_t count, uint64_t segment_bytes) {
        SpoolConfig cfg = config(dir, segment_bytes);
        Spool *s = NULL;
        uint64_t serial = base;
        int r;

        srandom((unsigned) getpid());
        r = spool_open(&cfg, &s);
        if (r < 0) {
                fprintf(stderr, "spool_open: %s\n", strerror(-r));
                return 1;
        }
        while (serial < base + count) {
                unsigned batch = 1 + (unsigned) (random() % 300);
                char out[64];
                int n;

                for (unsigned i = 0; i < batch && serial < base + count; i++) {
                        char line[256];
                        serial++;
                        n = rec(line, sizeof(line), serial);
                        r = spool_append(s, line, (size_t) n, serial);
                        if (r != 0) {
                                fprintf(stderr, "spool_append: %d\n", r);
                                return 1;
                        }
                }
                r = spool_flush(s);
                if (r < 0) {
                        fprintf(stderr, "spool_flush: %s\n", strerror(-r));
                        return 1;
                }
                n = snprintf(out, sizeof(out), "F %" PRIu64 "\n", serial);
                if (write(STDOUT_FILENO, out, (size_t) n) != n)
                        return 1;
        }
        return spool_close(s) < 0;
}

typedef struct Check {
        uint64_t base, next;            /* next expected serial of this round */
        uint64_t gaps, gap_lost;
        int bad;
} Check;

static int check_record(const char *line, size_t len, uint64_t serial, void *userdata) {
        Check *c = userdata;
        char expect[256];
        int n;

        if (len > 11 && memcmp(line, "{\"op\":\"gap\"", 11) == 0) {
                const char *l = strstr(line, "\"lost\":");
                uint64_t lost = l ? strtoull(l + 7, NULL, 10) : 0;
                /* A write cut by kill -9 leaves one partial line. */
                if (!strstr(line, "torn") || lost != 1) {
                        fprintf(stderr, "unexpected gap record: %.*s\n", (int) len, line);
                        c->bad = 1;
                }
                c->gaps++;
                c->gap_lost += lost;
                return 0;
        }
        if (serial != c->next) {
                fprintf(stderr, "record %" PRIu64 " where %" PRIu64 " was expected\n", serial, c->next);
                c->bad = 1;
                c->next = serial;
        }
        n = rec(expect, sizeof(expect), serial);
        if ((size_t) n != len || memcmp(expect, line, len) != 0) {
                fprintf(stderr, "record %" PRIu64 " altered: %.*s\n", serial, (int) len, line);
                c->bad = 1;
        }
        c->next++;
        return 0;
}

static int do_verify(const char *dir, const char *state, uint64_t base, uint64_t reported) {
        SpoolConfig cfg = config(dir, 1 << 20);
        Spool *s = NULL;
        SpoolSegment *list = NULL;
        SpoolStats st;
        Check c = { .base = base, .next = base + 1 };
        uint8_t prev[SEGMENT_HASH_SIZE] = {};
        unsigned long long prev_seq = 0;
        bool have_prev = false;
        size_t n;
        FILE *f;
        int r;

        f = fopen(state, "re");
        if (f) {
                char hex[SEGMENT_HASH_STRING_MAX];
                if (fscanf(f, "%llu %64s", &prev_seq, hex) != 2 ||
                    sodium_hex2bin(prev, sizeof(prev), hex, 64, NULL, NULL, NULL) < 0) {
                        fprintf(stderr, "bad state file\n");
                        return 1;
                }
                have_prev = true;
                fclose(f);
        }

        r = spool_open(&cfg, &s);
        if (r < 0) {
                fprintf(stderr, "spool_open: %s\n", strerror(-r));
                return 1;
        }
        spool_get_stats(s, &st);
        if (st.quarantined > 0) {
                fprintf(stderr, "recovery quarantined %u segments\n", st.quarantined);
                c.bad = 1;
        }
        r = spool_rotate(s);
        if (r < 0) {
                fprintf(stderr, "spool_rotate: %s\n", strerror(-r));
                return 1;
        }
        r = spool_list(s, &list, &n);
        if (r < 0)
                return 1;
        for (size_t i = 0; i < n; i++) {
                SegmentInfo info;
                int fd = -1;

                r = spool_open_segment(s, list[i].name, &fd);
                if (r < 0)
                        return 1;
                r = segment_read_fd(fd, 0, check_record, &c, &info);
                close(fd);
                if (r < 0) {
                        fprintf(stderr, "%s: invalid: %s\n", list[i].name, info.error);
                        c.bad = 1;
                        continue;
                }
                if (have_prev && (info.header.seq != prev_seq + 1 ||
                                  memcmp(info.header.prev_hash, prev, SEGMENT_HASH_SIZE) != 0)) {
                        fprintf(stderr, "%s: does not chain to seq %llu\n", list[i].name, prev_seq);
                        c.bad = 1;
                }
                memcpy(prev, info.footer.hash, SEGMENT_HASH_SIZE);
                prev_seq = info.header.seq;
                have_prev = true;
                if (spool_mark_uploaded(s, list[i].name) < 0)
                        return 1;
        }
        free(list);
        if (spool_close(s) < 0)
                return 1;

        if (c.next - 1 < reported) {
                fprintf(stderr, "records up to %" PRIu64 " were reported spooled, only up to %" PRIu64 " are there\n",
                        reported, c.next - 1);
                c.bad = 1;
        }
        if (have_prev) {
                char hex[SEGMENT_HASH_STRING_MAX];
                segment_hash_to_string(prev, hex);
                f = fopen(state, "we");
                if (!f || fprintf(f, "%llu %s\n", prev_seq, hex) < 0 || fclose(f) != 0)
                        return 1;
        }
        printf("base %" PRIu64 " records %" PRIu64 " reported %" PRIu64 " segments %zu gaps %" PRIu64
               " lost %" PRIu64 "\n",
               base, c.next - 1 - base, reported > base ? reported - base : 0, n, c.gaps, c.gap_lost);
        return c.bad;
}

int main(int argc, char *argv[]) {
        log_set_max_level(LOG_WARNING);
        if (argc == 6 && strcmp(argv[1], "write") == 0)
                return do_write(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
                                strtoull(argv[5], NULL, 10));
        if (argc == 6 && strcmp(argv[1], "verify") == 0)
                return do_verify(argv[2], argv[3], strtoull(argv[4], NULL, 10), strtoull(argv[5], NULL, 10));
        fprintf(stderr, "Usage: %s write DIR BASE COUNT SEGMENT_BYTES | verify DIR STATE BASE REPORTED\n", argv[0]);
        return 2;
}
