/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The spool on a full file system: a 512 KiB tmpfs, mounted in a private
 * mount namespace (root; exit 77 otherwise), filled up by the spool itself.
 * ENOSPC must not crash, must not busy-loop (no write attempts while waiting
 * to retry: /proc/self/io's syscw), must not lose anything spooled before,
 * must be reported (degraded, reason), must count every dropped record in a
 * gap record, and the spool must recover by itself when space returns.
 * The drop-oldest quota policy is configured on purpose: a full disk is not
 * the quota, and segments already spooled are never deleted for it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shared/log.h"
#include "store/spool.h"

#define N_MAX 200000

static unsigned char state[N_MAX + 1];   /* 0 unused, 1 dropped, 2 accepted, 3 confirmed spooled */
static unsigned char seen[N_MAX + 1];

#define CHECK(cond, ...)                                                        \
        do {                                                                    \
                if (!(cond)) {                                                  \
                        fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
                        fprintf(stderr, __VA_ARGS__);                           \
                        fputc('\n', stderr);                                    \
                        exit(1);                                                \
                }                                                               \
        } while (0)

static int rec(char *buf, size_t size, uint64_t serial) {
        return snprintf(buf, size,
                        "{\"op\":\"pwrite\",\"time\":\"1700000000.%03u\",\"serial\":%" PRIu64 ",\"pid\":77,"
                        "\"path\":\"/full/%" PRIu64 "\",\"fd\":9,\"offset\":%" PRIu64 ",\"bytes\":8}",
                        (unsigned) (serial % 1000), serial, serial % 7, serial * 8);
}

static uint64_t syscw(void) {
        char line[128];
        uint64_t v = 0;
        FILE *f = fopen("/proc/self/io", "re");

        CHECK(f, "cannot open /proc/self/io");
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "syscw: %" SCNu64, &v) == 1)
                        break;
        fclose(f);
        return v;
}

static uint64_t mono_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

typedef struct ReadBack {
        uint64_t last, records, gap_lost;
        bool ordered;
} ReadBack;

static int readback_cb(const char *line, size_t len, uint64_t serial, void *userdata) {
        ReadBack *rb = userdata;
        char expect[256];
        int n;

        if (len > 11 && memcmp(line, "{\"op\":\"gap\"", 11) == 0) {
                const char *l = strstr(line, "\"lost\":");
                CHECK(l && l[7] != 'n', "gap with unknown loss: %.*s", (int) len, line);
                rb->gap_lost += strtoull(l + 7, NULL, 10);
                return 0;
        }
        CHECK(serial <= N_MAX, "serial %" PRIu64, serial);
        n = rec(expect, sizeof(expect), serial);
        CHECK((size_t) n == len && memcmp(expect, line, len) == 0, "record %" PRIu64 " altered", serial);
        CHECK(!seen[serial], "record %" PRIu64 " twice", serial);
        if (serial <= rb->last)
                rb->ordered = false;
        rb->last = serial;
        seen[serial] = 1;
        rb->records++;
        return 0;
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static ReadBack read_back(const char *dir) {
        ReadBack rb = { .ordered = true };
        char *names[1024];
        size_t n = 0;
        struct dirent *de;
        DIR *d = opendir(dir);

        CHECK(d, "opendir %s", dir);
        while ((de = readdir(d))) {
                CHECK(strncmp(de->d_name, ".#", 2) != 0, "temporary file left: %s", de->d_name);
                if (strncmp(de->d_name, "seg-", 4) == 0) {
                        CHECK(!strstr(de->d_name, ".open"), "open segment left after close");
                        CHECK(n < 1024, "too many segments");
                        names[n++] = strdup(de->d_name);
                }
        }
        closedir(d);
        qsort(names, n, sizeof(char *), name_cmp);
        for (size_t i = 0; i < n; i++) {
                char path[1024];
                SegmentInfo info;
                int fd, r;

                snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                CHECK(fd >= 0, "open %s", path);
                r = segment_read_fd(fd, 0, readback_cb, &rb, &info);
                CHECK(r == 0, "%s: %s", names[i], info.error);
                close(fd);
                free(names[i]);
        }
        return rb;
}

int main(void) {
        char dir[] = "/tmp/fsmon-enospc.XXXXXX", spool_dir[64], filler[64];
        SpoolConfig cfg;
        Spool *s = NULL;
        SpoolStats st;
        uint64_t serial = 0, dropped = 0, w0, segments_before_full;
        ReadBack rb;
        char zeros[4096] = {};
        int fd, r;

        if (geteuid() != 0) {
                fprintf(stderr, "needs root (mount), skipping\n");
                return 77;
        }
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                fprintf(stderr, "no private mount namespace (%m), skipping\n");
                return 77;
        }
        CHECK(mkdtemp(dir), "mkdtemp");
        CHECK(mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=512k,mode=0700") == 0, "mount: %m");
        snprintf(spool_dir, sizeof(spool_dir), "%s/spool", dir);
        snprintf(filler, sizeof(filler), "%s/filler", dir);
        spool_config_init(&cfg);
        cfg.path = spool_dir;
        cfg.host_id = "enospc-test";
        cfg.key_epoch = "fedcba9876543210";
        cfg.max_segment_bytes = 64 * 1024;
        cfg.max_spool_bytes = 64ULL * 1024 * 1024;      /* far above the disk */
        cfg.full_policy = SPOOL_FULL_DROP_OLDEST;
        log_set_max_level(LOG_NOTICE);

        /* Room that can be given back later. */
        fd = open(filler, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        CHECK(fd >= 0, "filler");
        for (int i = 0; i < 32; i++)
                CHECK(write(fd, zeros, sizeof(zeros)) == (ssize_t) sizeof(zeros), "filler write");
        close(fd);

        CHECK(spool_open(&cfg, &s) == 0, "spool_open");

        /* Fill the disk, in batches as the daemon does. */
        segments_before_full = 0;
        for (;;) {
                uint64_t first = serial + 1, lost_before;

                spool_get_stats(s, &st);
                lost_before = st.records_lost;
                if (!st.degraded)
                        segments_before_full = st.closed_segments;
                for (int i = 0; i < 100; i++) {
                        char line[256];
                        int n = rec(line, sizeof(line), ++serial);

                        r = spool_append(s, line, (size_t) n, serial);
                        CHECK(r == 0 || r == SPOOL_DROPPED, "append returned %d", r);
                        state[serial] = r == 0 ? 2 : 1;
                }
                r = spool_flush(s);
                spool_get_stats(s, &st);
                if (r == 0 && st.records_lost == lost_before)
                        for (uint64_t i = first; i <= serial; i++)
                                if (state[i] == 2)
                                        state[i] = 3;
                if (st.degraded)
                        break;
                CHECK(serial < N_MAX / 2, "the disk never filled up");
        }
        CHECK(strstr(st.degraded_reason, "No space left"), "reason: %s", st.degraded_reason);
        printf("disk full after %" PRIu64 " records: %s\n", serial, st.degraded_reason);

        /* While it waits to retry: drops and counts, without touching the
         * disk. */
        w0 = syscw();
        for (int i = 0; i < 5000; i++) {
                char line[256];
                int n = rec(line, sizeof(line), ++serial);

                r = spool_append(s, line, (size_t) n, serial);
                CHECK(r == SPOOL_DROPPED, "append while full returned %d", r);
                state[serial] = 1;
                (void) spool_flush(s);
        }
        CHECK(syscw() - w0 <= 2, "%" PRIu64 " write calls while waiting to retry", syscw() - w0);

        /* Still full a second later: one more attempt, still degraded. */
        usleep(1100 * 1000);
        (void) spool_maybe_rotate(s, mono_usec());
        spool_get_stats(s, &st);
        CHECK(st.degraded, "recovered without space");
        CHECK(st.closed_segments >= segments_before_full, "segments were deleted for a full disk");

        /* Space returns: the spool recovers by itself. */
        CHECK(unlink(filler) == 0, "unlink filler");
        usleep(1100 * 1000);
        r = spool_maybe_rotate(s, mono_usec());
        spool_get_stats(s, &st);
        CHECK(!st.degraded, "still degraded after space returned (%d): %s", r, st.degraded_reason);
        printf("recovered; %" PRIu64 " records lost so far\n", st.records_lost);

        for (int i = 0; i < 100; i++) {
                char line[256];
                int n = rec(line, sizeof(line), ++serial);

                CHECK(spool_append(s, line, (size_t) n, serial) == 0, "append after recovery");
                state[serial] = 2;
        }
        CHECK(spool_close(s) == 0, "spool_close");

        rb = read_back(spool_dir);
        CHECK(rb.ordered, "records out of order");
        for (uint64_t i = 1; i <= serial; i++) {
                CHECK(state[i] != 3 || seen[i], "record %" PRIu64 " was spooled and is gone", i);
                CHECK(state[i] != 1 || !seen[i], "record %" PRIu64 " was dropped and is there", i);
                if (state[i] == 1)
                        dropped++;
        }
        CHECK(rb.records + rb.gap_lost == serial,
              "%" PRIu64 " records + %" PRIu64 " counted lost != %" PRIu64 " appended", rb.records, rb.gap_lost, serial);
        printf("ok: %" PRIu64 " appended, %" PRIu64 " on disk, %" PRIu64 " counted in gap records (%" PRIu64
               " refused by append)\n", serial, rb.records, rb.gap_lost, dropped);

        CHECK(umount2(dir, MNT_DETACH) == 0, "umount: %m");
        CHECK(rmdir(dir) == 0, "rmdir: %m");
        return 0;
}
