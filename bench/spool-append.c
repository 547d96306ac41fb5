/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench/spool's worker: appends the action records of a JSON Lines file (the
 * output of `fsmonctl decode`) to a fresh spool in DIR, in batches of BATCH
 * records with a spool_flush() after each (as fsmond does after each read from
 * the kernel), closes it, and prints one line of figures:
 *
 *   spool-append FILE DIR FSYNC(always|interval|close) COMPRESS_LEVEL BATCH [open]
 *
 * "open" then times spool_open() on the result (the start: headers and
 * footers of the closed segments) and spool_verify_segment() on each (the
 * full check before upload). The input is read into memory first, so
 * only the spool is timed. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shared/log.h"
#include "store/spool.h"

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int main(int argc, char *argv[]) {
        SpoolConfig cfg;
        Spool *s = NULL;
        SpoolStats st;
        SpoolSegment *list = NULL;
        size_t n_segments = 0, n_lines = 0, alloc = 0, input_bytes = 0;
        char **lines = NULL;
        size_t *lens = NULL;
        uint64_t *serials = NULL, disk = 0, rejected = 0;
        unsigned batch;
        char *line = NULL;
        size_t cap = 0;
        ssize_t k;
        double t0, t_append, t_close, t_open = 0, t_verify = 0;
        FILE *f;
        int r;

        if (argc < 6) {
                fprintf(stderr, "Usage: %s FILE DIR always|interval|close LEVEL BATCH [open]\n", argv[0]);
                return 2;
        }
        log_set_max_level(LOG_WARNING);

        f = fopen(argv[1], "re");
        if (!f) {
                fprintf(stderr, "%s: %m\n", argv[1]);
                return 2;
        }
        while ((k = getline(&line, &cap, f)) > 0) {
                uint64_t serial;

                if (line[k - 1] == '\n')
                        line[--k] = 0;
                if (segment_record_check(line, (size_t) k, &serial) < 0) {
                        if (rejected++ < 3)
                                fprintf(stderr, "record the spool refuses: %s\n", line);
                        continue;
                }
                if (n_lines == alloc) {
                        alloc = alloc ? alloc * 2 : 1 << 16;
                        lines = realloc(lines, alloc * sizeof(char *));
                        lens = realloc(lens, alloc * sizeof(size_t));
                        serials = realloc(serials, alloc * sizeof(uint64_t));
                        if (!lines || !lens || !serials)
                                return 2;
                }
                lines[n_lines] = strndup(line, (size_t) k);
                lens[n_lines] = (size_t) k;
                serials[n_lines] = serial;
                input_bytes += (size_t) k + 1;
                n_lines++;
        }
        fclose(f);
        free(line);

        spool_config_init(&cfg);
        cfg.path = argv[2];
        cfg.host_id = "bench";
        cfg.key_epoch = "0000000000000000";
        r = -1;
        for (int i = 0; i < _SPOOL_FSYNC_POLICY_MAX; i++)
                if (strcmp(argv[3], spool_fsync_policy_to_string(i)) == 0)
                        r = i;
        if (r < 0)
                return 2;
        cfg.fsync_policy = r;
        cfg.compress_level = atoi(argv[4]);
        cfg.max_spool_bytes = UINT64_MAX / 2;
        batch = (unsigned) atoi(argv[5]);
        if (batch == 0)
                return 2;

        r = spool_open(&cfg, &s);
        if (r < 0) {
                fprintf(stderr, "spool_open: %s\n", strerror(-r));
                return 2;
        }
        t0 = now();
        for (size_t i = 0; i < n_lines; i++) {
                r = spool_append(s, lines[i], lens[i], serials[i]);
                if (r != 0) {
                        fprintf(stderr, "spool_append: %d\n", r);
                        return 2;
                }
                if ((i + 1) % batch == 0 && spool_flush(s) < 0)
                        return 2;
        }
        if (spool_flush(s) < 0)
                return 2;
        t_append = now() - t0;
        spool_get_stats(s, &st);
        if (st.records_lost > 0)
                return 2;
        r = spool_close(s);
        t_close = now() - t0;
        if (r < 0)
                return 2;

        t0 = now();
        r = spool_open(&cfg, &s);
        if (r < 0)
                return 2;
        if (argc > 6)
                t_open = now() - t0;
        if (spool_list(s, &list, &n_segments) < 0)
                return 2;
        for (size_t i = 0; i < n_segments; i++)
                disk += list[i].size;
        if (argc > 6) {
                /* The full check the uploader runs before sending. */
                t0 = now();
                for (size_t i = 0; i < n_segments; i++)
                        if (spool_verify_segment(s, list[i].name) < 0)
                                return 2;
                t_verify = now() - t0;
        }
        spool_free(s);

        /* records/s counts the whole job: appends, flushes, fsyncs, rotation,
         * compression and the final close. */
        printf("records %zu input_bytes %zu disk_bytes %" PRIu64 " segments %zu append_s %.3f total_s %.3f "
               "records_per_s %.0f bytes_per_record %.1f open_s %.3f verify_s %.3f rejected %" PRIu64 "\n",
               n_lines, input_bytes, disk, n_segments, t_append, t_close,
               (double) n_lines / t_close, (double) disk / (double) n_lines, t_open, t_verify, rejected);
        for (size_t i = 0; i < n_lines; i++)
                free(lines[i]);
        free(lines);
        free(lens);
        free(serials);
        free(list);
        return rejected > 0 ? 1 : 0;
}
