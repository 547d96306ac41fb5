/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The spool on temporary directories (no root): append and read back,
 * rotation and the hash chain, crash recovery (torn tails, damaged closed
 * segments, the damaged-segment corpus), quota policies with exact gap
 * accounting, symlink and permission attacks, locking.
 * Usage: test-spool [CORPUS_DIR] */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "shared/log.h"
#include "store/spool.h"

static const char *corpus_dir = NULL;

#define HOST "0123456789abcdef0123456789abcdef"
#define EPOCH "0011223344556677"

typedef struct Ctx {
        char dir[256];
        char spool[300];
} Ctx;

static int setup(void **state) {
        Ctx *c = calloc(1, sizeof(Ctx));

        strcpy(c->dir, "/tmp/fsmon-test-spool.XXXXXX");
        assert_non_null(mkdtemp(c->dir));
        snprintf(c->spool, sizeof(c->spool), "%s/spool", c->dir);
        *state = c;
        return 0;
}

static int teardown(void **state) {
        Ctx *c = *state;
        char cmd[400];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->dir);
        assert_int_equal(system(cmd), 0);
        free(c);
        return 0;
}

static SpoolConfig config(const Ctx *c) {
        SpoolConfig cfg;

        spool_config_init(&cfg);
        cfg.path = c->spool;
        cfg.host_id = HOST;
        cfg.key_epoch = EPOCH;
        return cfg;
}

static int rec(char *buf, size_t size, uint64_t serial) {
        /* Variable length, so that segment boundaries move around. */
        return snprintf(buf, size,
                        "{\"op\":\"read\",\"time\":\"1700000000.%03u\",\"serial\":%" PRIu64 ",\"pid\":%u,"
                        "\"path\":\"/t%" PRIu64 "/%.*s\",\"fd\":3,\"offset\":%" PRIu64 ",\"bytes\":512}",
                        (unsigned) (serial % 1000), serial, (unsigned) (serial % 97),
                        serial % 13, (int) (serial % 17), "abcdefghijklmnopq", serial * 512);
}

static int append(Spool *s, uint64_t serial) {
        char line[256];
        int n = rec(line, sizeof(line), serial);

        /* Both ways in; what is read back must not tell them apart. */
        if (serial % 2)
                return spool_append_encoded(s, line, (size_t) n, serial);
        return spool_append(s, line, (size_t) n, serial);
}

/* Everything the closed segments hold, in order. */
typedef struct ReadBack {
        uint64_t *serials;              /* of non-gap records */
        size_t n;
        uint64_t gaps, gap_lost;
        bool gap_unknown;
        char last_gap_reason[256];
        uint64_t segments;
        uint8_t prev_hash[SEGMENT_HASH_SIZE];
        bool chained;
        bool content_ok;
} ReadBack;

static int readback_cb(const char *line, size_t len, uint64_t serial, void *userdata) {
        ReadBack *rb = userdata;

        if (len > 9 && memcmp(line, "{\"op\":\"gap\"", 11) == 0) {
                const char *l = strstr(line, "\"lost\":"), *r = strstr(line, "\"reason\":\"");
                rb->gaps++;
                if (l && strncmp(l + 7, "null", 4) == 0)
                        rb->gap_unknown = true;
                else if (l)
                        rb->gap_lost += strtoull(l + 7, NULL, 10);
                if (r) {
                        size_t k = strcspn(r + 10, "\"");
                        snprintf(rb->last_gap_reason, sizeof(rb->last_gap_reason), "%.*s", (int) k, r + 10);
                }
                return 0;
        }
        {
                char expect[256];
                int n = rec(expect, sizeof(expect), serial);
                if ((size_t) n != len || memcmp(expect, line, len) != 0)
                        rb->content_ok = false;
        }
        rb->serials = realloc(rb->serials, (rb->n + 1) * sizeof(uint64_t));
        rb->serials[rb->n++] = serial;
        return 0;
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static ReadBack read_back(const char *spool) {
        ReadBack rb = { .chained = true, .content_ok = true };
        char *names[4096];
        size_t n = 0;
        struct dirent *de;
        DIR *d = opendir(spool);

        assert_non_null(d);
        while ((de = readdir(d)))
                if (strncmp(de->d_name, "seg-", 4) == 0) {
                        assert_null(strstr(de->d_name, ".open"));
                        assert_true(n < 4096);
                        names[n++] = strdup(de->d_name);
                }
        closedir(d);
        qsort(names, n, sizeof(char *), name_cmp);

        for (size_t i = 0; i < n; i++) {
                char path[600];
                SegmentInfo info;
                int fd;

                snprintf(path, sizeof(path), "%s/%s", spool, names[i]);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                assert_true(fd >= 0);
                if (segment_read_fd(fd, 0, readback_cb, &rb, &info) != 0)
                        fail_msg("%s: %s", names[i], info.error);
                close(fd);
                if (rb.segments > 0 && memcmp(rb.prev_hash, info.header.prev_hash, SEGMENT_HASH_SIZE) != 0)
                        rb.chained = false;
                memcpy(rb.prev_hash, info.footer.hash, SEGMENT_HASH_SIZE);
                rb.segments++;
                free(names[i]);
        }
        return rb;
}

static void assert_serials(const ReadBack *rb, uint64_t first, uint64_t n) {
        assert_int_equal(rb->n, n);
        for (uint64_t i = 0; i < n; i++)
                assert_int_equal(rb->serials[i], first + i);
        assert_true(rb->content_ok);
}

static void test_basic(void **state) {
        Ctx *c = *state;
        SpoolConfig cfg = config(c);
        Spool *s = NULL;
        SpoolStats st;
        SpoolSegment *list;
        size_t n;
        ReadBack rb;

        assert_int_equal(spool_open(&cfg, &s), 0);
        for (uint64_t i = 1; i <= 1000; i++)
                assert_int_equal(append(s, i), 0);
        assert_int_equal(spool_flush(s), 0);
        spool_get_stats(s, &st);
        assert_int_equal(st.records_written, 1000);
        assert_int_equal(st.last_serial, 1000);
        assert_int_equal(st.segments, 1);
        assert_int_equal(st.closed_segments, 0);
        assert_false(st.degraded);
        assert_true(st.bytes > 1000 * 100);
        assert_int_equal(spool_close(s), 0);

        rb = read_back(c->spool);
        assert_serials(&rb, 1, 1000);
        assert_int_equal(rb.gaps, 0);
        assert_int_equal(rb.segments, 1);
        free(rb.serials);

        assert_int_equal(spool_open(&cfg, &s), 0);
        assert_int_equal(spool_list(s, &list, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(list[0].name, "seg-000000000001.jsonl.zst");
        assert_true(list[0].compressed);
        assert_int_equal(list[0].records, 1000);
        assert_int_equal(list[0].first_serial, 1);
        assert_int_equal(list[0].last_serial, 1000);
        spool_get_stats(s, &st);
        assert_int_equal(st.closed_segments, 1);
        assert_int_equal(st.bytes, list[0].size);
        {
                int fd = -1;
                assert_int_equal(spool_open_segment(s, list[0].name, &fd), 0);
                assert_int_equal(segment_read_fd(fd, 0, NULL, NULL, NULL), 0);
                close(fd);
        }
        assert_int_equal(spool_mark_uploaded(s, "seg-000000000009.jsonl"), -ENOENT);
        assert_int_equal(spool_mark_uploaded(s, "../x"), -ENOENT);
        assert_int_equal(spool_mark_uploaded(s, list[0].name), 0);
        spool_get_stats(s, &st);
        assert_int_equal(st.bytes, 0);
        assert_int_equal(st.segments, 0);
        free(list);
        assert_int_equal(spool_close(s), 0);
}

static void test_bad_input(void **state) {
        Ctx *c = *state;
        SpoolConfig cfg = config(c);
        Spool *s = NULL, *s2 = NULL;
        char line[256];
        int n;

        assert_int_equal(spool_open(&cfg, &s), 0);
        /* one process per spool */
        assert_int_equal(spool_open(&cfg, &s2), -EBUSY);

        n = rec(line, sizeof(line), 5);
        assert_int_equal(spool_append(s, line, (size_t) n, 6), -EINVAL);
        assert_int_equal(spool_append(s, "{\"op\":\"read\",\"serial\":1}\n", 25, 1), -EINVAL);
        assert_int_equal(spool_append(s, "{\"op\":\"read\",\"serial\":1", 23, 1), -EINVAL);
        assert_int_equal(spool_append(s, "{\"serial\":1}", 12, 1), -EINVAL);
        /* the encoder's path checks the framing only */
        assert_int_equal(spool_append_encoded(s, "{\"op\":\"read\",\"serial\":1}\n", 25, 1), -EINVAL);
        assert_int_equal(spool_append_encoded(s, "{\"op\":\"read\",\"serial\":1", 23, 1), -EINVAL);
        assert_int_equal(spool_append_encoded(s, "{\"op\":\"read\",\n\"serial\":1}", 26, 1), -EINVAL);
        assert_int_equal(spool_append_encoded(s, "", 0, 1), -EINVAL);
        assert_int_equal(spool_close(s), 0);

        cfg.host_id = "../../etc";
        assert_int_equal(spool_open(&cfg, &s), -EINVAL);
        cfg = config(c);
        cfg.key_epoch = "short";
        assert_int_equal(spool_open(&cfg, &s), -EINVAL);
        cfg = config(c);
        cfg.max_spool_bytes = 1000;
        assert_int_equal(spool_open(&cfg, &s), -EINVAL);
}

static void test_rotation_and_chain(void **state) {
        Ctx *c = *state;
        SpoolConfig cfg = config(c);
        Spool *s = NULL;
        SpoolSegment *list;
        size_t n;
        ReadBack rb;
        uint8_t last_hash[SEGMENT_HASH_SIZE];

        cfg.max_segment_bytes = 4096;
        assert_int_equal(spool_open(&cfg, &s), 0);
        for (uint64_t i = 1; i <= 3000; i++)
                assert_int_equal(append(s, i), 0);
        assert_int_equal(spool_close(s), 0);

        rb = read_back(c->spool);
        assert_serials(&rb, 1, 3000);
        assert_true(rb.segments > 50);
        assert_true(rb.chained);
        free(rb.serials);

        /* Upload everything; the next segment still chains to the last. */
        assert_int_equal(spool_open(&cfg, &s), 0);
        assert_int_equal(spool_list(s, &list, &n), 0);
        assert_int_equal(n, rb.segments);
        for (size_t i = 0; i < n; i++) {
                assert_true(i == 0 || list[i].seq == list[i - 1].seq + 1);
                assert_true(i == 0 || strcmp(list[i - 1].name, list[i].name) < 0);
                assert_int_equal(spool_mark_uploaded(s, list[i].name), 0);
        }
        memcpy(last_hash, list[n - 1].hash, SEGMENT_HASH_SIZE);
        assert_int_equal(spool_close(s), 0);

        assert_int_equal(spool_open(&cfg, &s), 0);
        assert_int_equal(append(s, 3001), 0);
        assert_int_equal(spool_close(s), 0);
        {
                char path[600];
                SegmentInfo info;
                int fd;

                snprintf(path, sizeof(path), "%s/seg-%012zu.jsonl.zst", c->spool, n + 1);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                assert_true(fd >= 0);
                assert_int_equal(segment_read_fd(fd, 0, NULL, NULL, &info), 0);
                close(fd);
                assert_memory_equal(info.header.prev_hash, last_hash, SEGMENT_HASH_SIZE);
                assert_int_equal(info.header.seq, n + 1);
        }
        free(list);
}

static int serial_range_cb(const char *line, size_t len, uint64_t serial, void *userdata) {
        uint64_t *range = userdata;

        if (range[0] == 0)
                range[0] = serial;
        range[1] = serial;
        return 0;
}

/* A full segment is closed between events: an event's records (an exit
 * closing several descriptors) never span two segments. */
static void test_event_in_one_segment(void **state) {
        Ctx *c = *state;
        SpoolConfig cfg = config(c);
        Spool *s = NULL;
        SpoolSegment *list;
        uint64_t prev_last = 0, records = 0;
        size_t n;

        cfg.max_segment_bytes = 4096;
        cfg.compress_level = 0;
        assert_int_equal(spool_open(&cfg, &s), 0);
        for (uint64_t i = 1; i <= 600; i++)
                for (uint64_t k = 0; k < 1 + i % 4; k++)
                        assert_int_equal(append(s, i), 0);
        assert_int_equal(spool_rotate(s), 0);
        assert_int_equal(spool_list(s, &list, &n), 0);
        assert_true(n > 20);
        for (size_t i = 0; i < n; i++) {
                uint64_t range[2] = {};
                SegmentInfo info;
                int fd;

                assert_int_equal(spool_open_segment(s, list[i].name, &fd), 0);
                assert_int_equal(segment_read_fd(fd, 0, serial_range_cb, range, &info), 0);
                close(fd);
                assert_true(range[0] > prev_last);
                /* Closed at the first record after the limit, not before. */
                assert_true(i + 1 == n || info.valid_bytes >= cfg.max_segment_bytes);
                prev_last = range[1];
                records += info.records;
        }
        assert_int_equal(prev_last, 600);
        assert_int_equal(records, 600 / 4 * (1 + 2 + 3 + 4));
        free(list);
        assert_int_equal(spool_close(s), 0);
}

static void test_age_rotation(void **state) {
        Ctx *c = *state;
        SpoolConfig cfg = config(c);
        Spool *s = NULL;
        SpoolStats st;
        struct timespec ts;
        uint64_t now;

        cfg.max_segment_age_usec = 10ULL * 1000000;
        cfg.compress_level = 0;
        assert_int_equal(spool_open(&cfg, &s), 0);
        assert_int_equal(append(s, 1), 0);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
        assert_int_equal(spool_maybe_rotate(s, now), 0);
        spool_get_stats(s, &st);
        assert_int_equal(st.closed_segments, 0);
        assert_int_equal(st.records_written, 1);      /* the timer flushes */
        assert_int_equal(spool_maybe_rotate(s, now + 11ULL * 1000000), 0);
        spool_get_stats(s, &st);
        assert_int_equal(st.closed_segments, 1);
        assert_int_equal(st.segments, 1);
        assert_int_equal(spool_close(s), 0);
        {
                char path[600];
                snprintf(path, sizeof(path), "%s/seg-000000000001.jsonl", c->spool);
                assert_int_equal(access(path, F_OK), 0);
        }
}

static void append_raw(const char *path, const char *data, size_t len) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t) len);
        close(fd);
}

static void truncate_by(const char *path, off_t n) {
        struct stat st;

        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size > n);
        assert_int_equal(truncate(path, st.st_size - n), 0);
}

static unsigned count_dir(const char *path, const char *prefix) {
        unsigned n = 0;
        struct dirent *de;
        DIR *d = opendir(path);

        if (!d)
                return 0;
        while ((de = readdir(d)))
                if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
                        n++;
        closedir(d);
        return n;
}

static void test_crash_recovery(void **state) {
        Ctx *c = *state;
        SpoolConfig cfg = config(c);
        Spool *s = NULL;
        SpoolStats st;
        ReadBack rb;
        uint64_t resume;
        char path[600], qdir[600];

        /* Crash after a flush: nothing lost, no gap. */
        assert_int_equal(spool_open(&cfg, &s), 0);
        for (uint64_t i = 1; i <= 100; i++)
                assert_int_equal(append(s, i), 0);
        assert_int_equal(spool_flush(s), 0);
        /* accepted, never flushed: not spooled, not reported, not a loss */
        assert_int_equal(append(s, 101), 0);
        spool_free(s);

        assert_int_equal(spool_open(&cfg, &s), 0);
        spool_get_stats(s, &st);
        assert_int_equal(st.records_lost, 0);
        assert_int_equal(st.closed_segments, 1);
        for (uint64_t i = 101; i <= 200; i++)
                assert_int_equal(append(s, i), 0);
        assert_int_equal(spool_flush(s), 0);
        spool_free(s);

        /* Crash in the middle of a write: a torn line, and junk after it. */
        snprintf(path, sizeof(path), "%s/seg-000000000002.open", c->spool);
        append_raw(path, "{\"op\":\"read\",\"serial\":201}\n\0\0\0\0\n{\"op\":\"re", 40);

        assert_int_equal(spool_open(&cfg, &s), 0);
        /* To produce it all again, 201 would be needed too: its event may
         * have had more records in the torn part. */
        assert_true(spool_torn_tail(s, &resume));
        assert_int_equal(resume, 201);
        spool_get_stats(s, &st);
        assert_int_equal(st.records_lost, 0);           /* not settled yet */
        assert_int_equal(st.last_serial, 201);
        assert_false(st.degraded);
        /* Appending without settling: not produced again, the torn lines
         * are lost, what was intact stays. */
        for (uint64_t i = 202; i <= 300; i++)
                assert_int_equal(append(s, i), 0);
        assert_false(spool_torn_tail(s, NULL));
        spool_get_stats(s, &st);
        assert_int_equal(st.records_lost, 2);           /* the junk line and the torn one */
        assert_int_equal(spool_close(s), 0);

        /* The torn tail is kept aside, for the curious. */
        snprintf(qdir, sizeof(qdir), "%s/quarantine", c->spool);
        assert_int_equal(count_dir(qdir, "seg-000000000002.open.tail."), 1);

        rb = read_back(c->spool);
        assert_int_equal(rb.n, 300);
        for (uint64_t i = 0; i < 300; i++)
                assert_int_equal(rb.serials[i], i + 1);
        assert_int_equal(rb.gaps, 1);
        assert_int_equal(rb.gap_lost, 2);
        assert_false(rb.gap_unknown);
        assert_non_null(strstr(rb.last_gap_reason, "torn"));
        assert_true(rb.chained);
        free(rb.serials);
}

/* A crash (s freed, not closed) in the middle of writing the record of
 * serial to the open segment seq: its first len bytes reached the disk. */
static void crash_tearing(Spool *s, const Ctx *c, unsigned seq, uint64_t serial, size_t len) {
        char path[600], line[256];
        int n;

        assert_int_equal(spool_flush(s), 0);
        spool_free(s);
        n = rec(line, sizeof(line), serial);
        assert_true(len < (size_t) n);
        snprintf(path, sizeof(path), "%s/seg-%012u.open", c->spool, seq);
        append_raw(path, line, len);
}

/* Opens the spool after a crash tore its tail: the caller is to produce
 * the events again from serial resume on. */
static Spool *open_torn(const SpoolConfig *cfg, uint64_t resume) {
        Spool *s = NULL;
        uint64_t found = 0;

        assert_int_equal(spool_open(cfg, &s), 0);
        assert_true(spool_torn_tail(s, &found));
        assert_int_equal(found, resume);
        return s;
}

/* A crash tore an event's records apart; the caller produces the events
 * again from the serial the spool names: every record once, no gap. */
static void test_torn_tail_replayed(void **state) {
        Ctx *c = *state;
        SpoolConfig cfg = config(c);
        Spool *s = NULL;
        SpoolStats st;
        ReadBack rb;
        char qdir[600];

        assert_int_equal(spool_open(&cfg, &s), 0);
        for (uint64_t i = 1; i <= 50; i++)
                assert_int_equal(append(s, i), 0);
        /* Event 51 has three records (an exit closing three descriptors);
         * two reach the disk whole, the third is torn. */
        for (int k = 0; k < 2; k++)
                assert_int_equal(append(s, 51), 0);
        crash_tearing(s, c, 1, 51, 40);

        /* A crash before it was settled: found again the same way. */
        spool_free(open_torn(&cfg, 51));
        s = open_torn(&cfg, 51);
        assert_int_equal(spool_torn_tail_settle(s, true), 0);
        assert_false(spool_torn_tail(s, NULL));
        spool_get_stats(s, &st);
        assert_int_equal(st.last_serial, 50);
        for (int k = 0; k < 3; k++)
                assert_int_equal(append(s, 51), 0);
        for (uint64_t i = 52; i <= 100; i++)
                assert_int_equal(append(s, i), 0);
        spool_get_stats(s, &st);
        assert_int_equal(st.records_lost, 0);
        assert_int_equal(spool_close(s), 0);

        /* What was cut, the two intact records of 51 included, is kept aside. */
        snprintf(qdir, sizeof(qdir), "%s/quarantine", c->spool);
        assert_int_equal(count_dir(qdir, "seg-000000000001.open.tail."), 1);

        rb = read_back(c->spool);
        assert_int_equal(rb.gaps, 0);
        assert_int_equal(rb.n, 102);
        for (uint64_t i = 0; i < 102; i++)
                assert_int_equal(rb.serials[i], i < 51 ? i + 1 : i < 53 ? 51 : i - 1);
        assert_true(rb.content_ok);
        assert_true(rb.chained);
        free(rb.serials);
}

/* A gap record is not an event to produce again: the cut begins after it.
 * A torn first record: the cut begins at the header's serial. */
static void test_torn_tail_after_gap_and_first(void **state) {
        Ctx *c = *state;
        SpoolConfig cfg = config(c);
        Spool *s = NULL;
        SpoolStats st;
        ReadBack rb;
        char path[600];

        assert_int_equal(spool_open(&cfg, &s), 0);
        for (uint64_t i = 1; i <= 10; i++)
                assert_int_equal(append(s, i), 0);
        assert_int_equal(spool_append_gap(s, 5, "test"), 0);
        crash_tearing(s, c, 1, 11, 100);

        s = open_torn(&cfg, 11);
        assert_int_equal(spool_torn_tail_settle(s, true), 0);
        /* The next run's first record is torn (the header is whole). */
        assert_int_equal(append(s, 11), 0);
        assert_int_equal(spool_flush(s), 0);
        spool_free(s);
        snprintf(path, sizeof(path), "%s/seg-000000000002.open", c->spool);
        truncate_by(path, 5);

        s = open_torn(&cfg, 11);
        /* Not produced again: one record lost, in a gap record. */
        assert_int_equal(spool_torn_tail_settle(s, false), 0);
        spool_get_stats(s, &st);
        assert_int_equal(st.records_lost, 1);
        assert_int_equal(append(s, 12), 0);
        assert_int_equal(spool_close(s), 0);

        rb = read_back(c->spool);
        assert_int_equal(rb.n, 11);
        for (uint64_t i = 0; i < 11; i++)
                assert_int_equal(rb.serials[i], i < 10 ? i + 1 : 12);
        assert_int_equal(rb.gaps, 2);
        assert_int_equal(rb.gap_lost, 5 + 1);
        assert_non_null(strstr(rb.last_gap_reason, "torn"));
        free(rb.serials);
}

static void test_crash_empty_and_header_only(void **state) {
        Ctx *c = *state;
        SpoolConfig cfg = config(c);
        Spool *s = NULL;
        SpoolStats st;
        char path[600];
        int fd;

        /* A crash right after creating the file. */
        assert_int_equal(mkdir(c->spool, 0700), 0);
        snprintf(path, sizeof(path), "%s/seg-000000000001.open", c->spool);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        /* A crash in the middle of the header. */
        snprintf(path, sizeof(path), "%s/seg-000000000002.open", c->spool);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_int_equal(write(fd, "{\"fsmon\":\"segm", 14), 14);
        close(fd);

        assert_int_equal(spool_open(&cfg, &s), 0);
        spool_get_stats(s, &st);
        assert_int_equal(st.quarantined, 1);            /* the torn header */
        assert_int_equal(st.records_lost, 0);
        assert_int_equal(append(s, 1), 0);
        assert_int_equal(spool_close(s), 0);
        snprintf(path, sizeof(path), "%s/seg-000000000001.open", c->spool);
        assert_int_equal(access(path, F_OK), -1);
}

static void flip_byte(const char *path, off_t off) {
        int fd = open(path, O_RDWR | O_CLOEXEC);
        uint8_t b;

        assert_true(fd >= 0);
        assert_int_equal(pread(fd, &b, 1, off), 1);
        b ^= 0x20;
        assert_int_equal(pwrite(fd, &b, 1, off), 1);
        close(fd);
}

static void test_damaged_closed_segment(void **state) {
        Ctx *c = *state;
        SpoolConfig cfg = config(c);
        Spool *s = NULL;
        SpoolStats st;
        SpoolSegment *list;
        size_t n;
        ReadBack rb;
        char path[600], qpath[700];
        struct stat sb;
        uint64_t seg2_records = 0;

        cfg.max_segment_bytes = 4096;
        assert_int_equal(spool_open(&cfg, &s), 0);
        for (uint64_t i = 1; i <= 200; i++)
                assert_int_equal(append(s, i), 0);
        assert_int_equal(spool_close(s), 0);

        snprintf(path, sizeof(path), "%s/seg-000000000002.jsonl.zst", c->spool);
        assert_int_equal(stat(path, &sb), 0);
        flip_byte(path, sb.st_size / 2);

        /* Damage inside: the start reads only headers and footers; the check
         * before upload finds it. */
        assert_int_equal(spool_open(&cfg, &s), 0);
        spool_get_stats(s, &st);
        assert_int_equal(st.quarantined, 0);
        assert_int_equal(spool_list(s, &list, &n), 0);
        for (size_t i = 0; i < n; i++) {
                int r = spool_verify_segment(s, list[i].name);
                assert_int_equal(r, list[i].seq == 2 ? -EBADMSG : 0);
                if (list[i].seq == 2)
                        seg2_records = list[i].records;
        }
        assert_int_equal(spool_verify_segment(s, "seg-000000000002.jsonl.zst"), -ENOENT);
        free(list);
        spool_get_stats(s, &st);
        assert_int_equal(st.quarantined, 1);
        assert_int_equal(st.records_lost, seg2_records);
        assert_int_equal(spool_list(s, &list, &n), 0);
        for (size_t i = 0; i < n; i++)
                assert_int_not_equal(list[i].seq, 2);
        free(list);
        assert_int_equal(spool_close(s), 0);

        assert_int_equal(access(path, F_OK), -1);
        snprintf(qpath, sizeof(qpath), "%s/quarantine/seg-000000000002.jsonl.zst", c->spool);
        assert_int_equal(access(qpath, F_OK), 0);

        /* The rest is intact, and a gap record says what happened. */
        rb = read_back(c->spool);
        assert_int_equal(rb.gaps, 1);
        assert_false(rb.gap_unknown);
        assert_int_equal(rb.n + rb.gap_lost, 200);
        assert_non_null(strstr(rb.last_gap_reason, "seg-000000000002.jsonl.zst quarantined"));
        assert_true(rb.n > 150 && rb.n < 200);
        for (size_t i = 1; i < rb.n; i++)
                assert_true(rb.serials[i] > rb.serials[i - 1]);
        assert_true(rb.content_ok);
        free(rb.serials);

        /* Damage at the end: found at the start already. */
        snprintf(path, sizeof(path), "%s/seg-000000000003.jsonl.zst", c->spool);
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(truncate(path, sb.st_size - 3), 0);
        assert_int_equal(spool_open(&cfg, &s), 0);
        spool_get_stats(s, &st);
        assert_int_equal(st.quarantined, 1);
        assert_int_equal(spool_close(s), 0);
        assert_int_equal(access(path, F_OK), -1);
}

/* Each damaged corpus file, planted as a closed segment, is quarantined with
 * a message; each good one is accepted. */
static void test_corpus_quarantine(void **state) {
        Ctx *c = *state;
        unsigned bad = 0, good = 0;
        struct dirent *de;
        DIR *d;

        if (!corpus_dir)
                skip();
        d = opendir(corpus_dir);
        assert_non_null(d);
        while ((de = readdir(d))) {
                SpoolConfig cfg = config(c);
                Spool *s = NULL;
                SpoolStats st;
                char cmd[4000];
                bool is_bad = strncmp(de->d_name, "bad-", 4) == 0;

                if (!is_bad && strncmp(de->d_name, "good-", 5) != 0)
                        continue;
                snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -m 0700 '%s' && cp '%s/%s' '%s/seg-000000000001.jsonl'",
                         c->spool, c->spool, corpus_dir, de->d_name, c->spool);
                assert_int_equal(system(cmd), 0);
                assert_int_equal(spool_open(&cfg, &s), 0);
                if (spool_verify_segment(s, "seg-000000000001.jsonl") == 0)
                        assert_false(is_bad);
                spool_get_stats(s, &st);
                if (st.quarantined != (is_bad ? 1u : 0u))
                        fail_msg("%s: quarantined %u", de->d_name, st.quarantined);
                assert_int_equal(st.closed_segments, is_bad ? 0 : 1);
                assert_int_equal(spool_close(s), 0);
                if (is_bad)
                        bad++;
                else
                        good++;
        }
        closedir(d);
        assert_true(bad >= 20 && good >= 5);
}

static void test_symlink_attacks(void **state) {
        Ctx *c = *state;
        SpoolConfig cfg = config(c);
        Spool *s = NULL;
        SpoolStats st;
        char path[600], victim[600], other[600];
        struct stat sb;
        int fd;

        /* The spool directory itself a symlink: refused. */
        snprintf(other, sizeof(other), "%s/elsewhere", c->dir);
        assert_int_equal(mkdir(other, 0700), 0);
        assert_int_equal(symlink(other, c->spool), 0);
        assert_int_equal(spool_open(&cfg, &s), -ELOOP);
        assert_int_equal(unlink(c->spool), 0);

        /* Loose permissions on the spool directory: refused. */
        assert_int_equal(mkdir(c->spool, 0700), 0);
        assert_int_equal(chmod(c->spool, 0777), 0);
        assert_int_equal(spool_open(&cfg, &s), -EPERM);
        assert_int_equal(chmod(c->spool, 0700), 0);

        /* Links planted under segment names and as the chain file. */
        snprintf(victim, sizeof(victim), "%s/victim", c->dir);
        fd = open(victim, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_int_equal(write(fd, "precious", 8), 8);
        close(fd);
        snprintf(path, sizeof(path), "%s/seg-000000000001.open", c->spool);
        assert_int_equal(symlink(victim, path), 0);
        snprintf(path, sizeof(path), "%s/seg-000000000002.jsonl", c->spool);
        assert_int_equal(symlink(victim, path), 0);
        snprintf(path, sizeof(path), "%s/chain", c->spool);
        assert_int_equal(symlink(victim, path), 0);

        assert_int_equal(spool_open(&cfg, &s), 0);
        spool_get_stats(s, &st);
        assert_int_equal(st.quarantined, 2);
        assert_int_equal(st.closed_segments, 0);
        for (uint64_t i = 1; i <= 10; i++)
                assert_int_equal(append(s, i), 0);
        assert_int_equal(spool_close(s), 0);

        /* The victim is untouched, the links were moved, never followed. */
        assert_int_equal(stat(victim, &sb), 0);
        assert_int_equal(sb.st_size, 8);
        snprintf(path, sizeof(path), "%s/quarantine/seg-000000000001.open", c->spool);
        assert_int_equal(lstat(path, &sb), 0);
        assert_true(S_ISLNK(sb.st_mode));
        /* The chain file was replaced, not written through. */
        snprintf(path, sizeof(path), "%s/chain", c->spool);
        assert_int_equal(lstat(path, &sb), 0);
        assert_true(S_ISREG(sb.st_mode));

        /* quarantine/ itself a link: a damaged segment stays put. */
        snprintf(path, sizeof(path), "%s/quarantine", c->spool);
        assert_int_equal(system("true"), 0);
        {
                char cmd[4000];
                snprintf(cmd, sizeof(cmd), "rm -rf '%s' && ln -s '%s' '%s' && echo junk > '%s/seg-000000000009.jsonl'",
                         path, other, path, c->spool);
                assert_int_equal(system(cmd), 0);
        }
        assert_int_equal(spool_open(&cfg, &s), 0);
        spool_get_stats(s, &st);
        assert_int_equal(st.quarantined, 0);

        /* A link planted, while the spool runs, under the name the next
         * segment would take: not written through, the next seq is used. */
        {
                char next[700];
                SpoolSegment *list;
                size_t n;

                assert_int_equal(spool_rotate(s), 0);
                assert_int_equal(spool_list(s, &list, &n), 0);
                snprintf(next, sizeof(next), "%s/seg-%012" PRIu64 ".open", c->spool, list[n - 1].seq + 1);
                assert_int_equal(symlink(victim, next), 0);
                assert_int_equal(append(s, 100), 0);
                assert_int_equal(spool_flush(s), 0);
                assert_int_equal(spool_close(s), 0);
                assert_int_equal(stat(victim, &sb), 0);
                assert_int_equal(sb.st_size, 8);
                snprintf(next, sizeof(next), "%s/seg-%012" PRIu64 ".jsonl.zst", c->spool, list[n - 1].seq + 2);
                assert_int_equal(access(next, F_OK), 0);
                free(list);
        }
        assert_int_equal(count_dir(other, "seg-"), 0);
}

/* Appends total records; returns how many spool_append() dropped. */
static uint64_t fill(Spool *s, uint64_t first, uint64_t total) {
        uint64_t dropped = 0;

        for (uint64_t i = first; i < first + total; i++) {
                int r = append(s, i);
                assert_true(r == 0 || r == SPOOL_DROPPED);
                if (r == SPOOL_DROPPED)
                        dropped++;
        }
        return dropped;
}

static void test_quota_drop_oldest(void **state) {
        Ctx *c = *state;
        SpoolConfig cfg = config(c);
        Spool *s = NULL;
        SpoolStats st;
        ReadBack rb;

        cfg.max_spool_bytes = 16384;
        cfg.max_segment_bytes = 4096;
        cfg.compress_level = 0;
        cfg.full_policy = SPOOL_FULL_DROP_OLDEST;
        assert_int_equal(spool_open(&cfg, &s), 0);
        assert_int_equal(fill(s, 1, 3000), 0);
        spool_get_stats(s, &st);
        assert_true(st.bytes <= 16384);
        assert_true(st.degraded);
        assert_non_null(strstr(st.degraded_reason, "oldest"));
        assert_true(st.records_lost > 2000);
        assert_int_equal(spool_close(s), 0);

        /* What is left plus what the gap records report is everything. */
        rb = read_back(c->spool);
        assert_true(rb.gaps > 0);
        assert_false(rb.gap_unknown);
        assert_int_equal(rb.n + rb.gap_lost, 3000);
        assert_int_equal(rb.serials[rb.n - 1], 3000);
        for (size_t i = 1; i < rb.n; i++)
                assert_true(rb.serials[i] > rb.serials[i - 1]);
        assert_true(rb.content_ok);
        free(rb.serials);
}

static void test_quota_stop(void **state) {
        Ctx *c = *state;
        SpoolConfig cfg = config(c);
        Spool *s = NULL;
        SpoolStats st;
        SpoolSegment *list;
        size_t n;
        uint64_t dropped, dropped2, uploaded_records = 0, uploaded_gap_lost = 0;
        ReadBack rb;

        cfg.max_spool_bytes = 16384;
        cfg.max_segment_bytes = 4096;
        cfg.compress_level = 0;
        cfg.full_policy = SPOOL_FULL_STOP;
        assert_int_equal(spool_open(&cfg, &s), 0);
        dropped = fill(s, 1, 1000);
        assert_true(dropped > 500);
        spool_get_stats(s, &st);
        assert_true(st.degraded);
        assert_non_null(strstr(st.degraded_reason, "stopped"));
        assert_int_equal(st.records_lost, dropped);
        assert_true(st.bytes <= 16384);

        /* The records accepted before the quota hit are all there: the
         * spool never drops what it has. Upload them: room returns. */
        assert_int_equal(spool_rotate(s), 0);
        assert_int_equal(spool_list(s, &list, &n), 0);
        for (size_t i = 0; i < n; i++) {
                char path[600];
                ReadBack one = { .content_ok = true };
                int fd;

                snprintf(path, sizeof(path), "%s/%s", c->spool, list[i].name);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                assert_int_equal(segment_read_fd(fd, 0, readback_cb, &one, NULL), 0);
                close(fd);
                uploaded_records += one.n;
                uploaded_gap_lost += one.gap_lost;
                free(one.serials);
                assert_int_equal(spool_mark_uploaded(s, list[i].name), 0);
        }
        free(list);
        assert_int_equal(uploaded_records + dropped, 1000);

        dropped2 = fill(s, 1001, 10);
        assert_int_equal(dropped2, 0);
        spool_get_stats(s, &st);
        assert_false(st.degraded);
        assert_int_equal(spool_close(s), 0);

        /* Closing the segment wrote the gap record (every loss is reported,
         * wherever the next record lands). */
        rb = read_back(c->spool);
        assert_int_equal(uploaded_gap_lost + rb.gap_lost, dropped);
        assert_serials(&rb, 1001, 10);
        free(rb.serials);
}

/* Full with the stop policy, then shut down: the loss is still recorded. */
static void test_quota_stop_close(void **state) {
        Ctx *c = *state;
        SpoolConfig cfg = config(c);
        Spool *s = NULL;
        uint64_t dropped;
        ReadBack rb;

        cfg.max_spool_bytes = 16384;
        cfg.max_segment_bytes = 4096;
        cfg.compress_level = 0;
        cfg.full_policy = SPOOL_FULL_STOP;
        assert_int_equal(spool_open(&cfg, &s), 0);
        dropped = fill(s, 1, 1000);
        assert_true(dropped > 0);
        assert_int_equal(spool_close(s), 0);

        rb = read_back(c->spool);
        assert_int_equal(rb.n + rb.gap_lost, 1000);
        assert_int_equal(rb.gap_lost, dropped);
        assert_serials(&rb, 1, 1000 - dropped);
        free(rb.serials);
}

static void test_caller_gaps(void **state) {
        Ctx *c = *state;
        SpoolConfig cfg = config(c);
        Spool *s = NULL;
        ReadBack rb;

        assert_int_equal(spool_open(&cfg, &s), 0);
        assert_int_equal(append(s, 1), 0);
        assert_int_equal(spool_append_gap(s, 5, "kernel \"lost\" counter"), 0);
        assert_int_equal(append(s, 2), 0);
        assert_int_equal(spool_append_gap(s, -1, "unknown"), 0);
        assert_int_equal(spool_close(s), 0);

        rb = read_back(c->spool);
        assert_serials(&rb, 1, 2);
        assert_int_equal(rb.gaps, 2);
        assert_int_equal(rb.gap_lost, 5);
        assert_true(rb.gap_unknown);
        free(rb.serials);
}

static void test_fsync_policies(void **state) {
        Ctx *c = *state;
        SpoolFsyncPolicy policies[] = { SPOOL_FSYNC_ALWAYS, SPOOL_FSYNC_INTERVAL, SPOOL_FSYNC_CLOSE };
        uint64_t serial = 1;

        for (size_t p = 0; p < 3; p++) {
                SpoolConfig cfg = config(c);
                Spool *s = NULL;

                cfg.fsync_policy = policies[p];
                assert_int_equal(spool_open(&cfg, &s), 0);
                for (unsigned i = 0; i < 50; i++) {
                        assert_int_equal(append(s, serial++), 0);
                        assert_int_equal(spool_flush(s), 0);
                }
                assert_int_equal(spool_close(s), 0);
        }
        {
                ReadBack rb = read_back(c->spool);
                assert_serials(&rb, 1, 150);
                assert_int_equal(rb.segments, 3);
                assert_true(rb.chained);
                free(rb.serials);
        }
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rotation_and_chain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_event_in_one_segment, setup, teardown),
                cmocka_unit_test_setup_teardown(test_age_rotation, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_recovery, setup, teardown),
                cmocka_unit_test_setup_teardown(test_torn_tail_replayed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_torn_tail_after_gap_and_first, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_empty_and_header_only, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damaged_closed_segment, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corpus_quarantine, setup, teardown),
                cmocka_unit_test_setup_teardown(test_symlink_attacks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_quota_drop_oldest, setup, teardown),
                cmocka_unit_test_setup_teardown(test_quota_stop, setup, teardown),
                cmocka_unit_test_setup_teardown(test_quota_stop_close, setup, teardown),
                cmocka_unit_test_setup_teardown(test_caller_gaps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fsync_policies, setup, teardown),
        };

        if (argc > 1)
                corpus_dir = argv[1];
        /* The spool logs what it recovers; keep the test output readable. */
        log_set_max_level(getenv("FSMON_TEST_VERBOSE") ? LOG_DEBUG : LOG_ERR);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
