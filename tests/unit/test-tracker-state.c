/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tracker's saved state: a recorded log decoded in one go gives the same
 * records as decoding it up to a serial, saving the state, loading it into a
 * new ledger and decoding the rest (at many split points of every fixture);
 * and a damaged or foreign state is refused, leaving an empty tracker.
 *   test-tracker-state FIXTURE.log... */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/ledger.h"
#include "shared/fileio.h"
#include "shared/macro.h"
#include "store/tracker-state.h"

static char **logs;
static int n_logs;

typedef struct Out {
        char *data;
        size_t len;
        FILE *f;
} Out;

static int sink(const char *record, size_t len, const Action *a, void *userdata) {
        Out *o = userdata;
        fwrite(record, 1, len, o->f);
        fputc('\n', o->f);
        return 0;
}

typedef struct Split {
        uint64_t serial;
        bool after;     /* events after serial, else up to it */
} Split;

static bool split_filter(uint64_t sec, unsigned msec, uint64_t serial, void *userdata) {
        const Split *s = userdata;
        return s->after ? serial > s->serial : serial <= s->serial;
}

static Ledger *ledger(Out *o, Split *split) {
        LedgerOptions lo = { .tracker = { .with_ids = true } };
        Ledger *l;

        o->f = open_memstream(&o->data, &o->len);
        assert_non_null(o->f);
        assert_int_equal(ledger_new(&lo, sink, o, &l), 0);
        if (split)
                audit_decoder_set_filter(ledger_get_decoder(l), split_filter, split);
        return l;
}

static void run(Ledger *l, const char *text, size_t len) {
        assert_int_equal(ledger_feed(l, text, len), 0);
        assert_int_equal(ledger_flush(l), 0);
}

static char *slurp(const char *path, size_t *len) {
        char *buf;
        assert_int_equal(fileio_read_small_at(AT_FDCWD, path, 64 * 1024 * 1024, &buf, len), 0);
        return buf;
}

/* Serials of the log's events, in order of first appearance. */
static size_t serials(const char *text, uint64_t **ret) {
        uint64_t *s = NULL;
        size_t n = 0;

        for (const char *p = text; (p = strstr(p, "msg=audit(")); p++) {
                const char *colon = strchr(p, ':');
                uint64_t v;
                if (!colon)
                        break;
                v = strtoull(colon + 1, NULL, 10);
                if (n > 0 && s[n - 1] == v)
                        continue;
                s = realloc(s, (n + 1) * sizeof(*s));
                assert_non_null(s);
                s[n++] = v;
        }
        *ret = s;
        return n;
}

/* The log with "node=NAME " before every line (as a collector writes it). */
static char *with_node(const char *text, size_t len, const char *name, size_t *ret_len) {
        char *out = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&out, &n);

        assert_non_null(f);
        for (const char *p = text; p < text + len; ) {
                const char *e = memchr(p, '\n', text + len - p);
                size_t l = e ? (size_t) (e - p) + 1 : (size_t) (text + len - p);
                fprintf(f, "node=%s ", name);
                fwrite(p, 1, l, f);
                p += l;
        }
        fclose(f);
        *ret_len = n;
        return out;
}

static void test_split_equals_whole(void **state) {
        for (int i = 0; i <= n_logs; i++) {
                _cleanup_free_ char *text = NULL;
                _cleanup_free_ uint64_t *ser = NULL;
                size_t len, n;
                Out whole = {};
                Ledger *l;
                unsigned splits = 0;

                if (i < n_logs)
                        text = slurp(logs[i], &len);
                else {
                        /* And once from a collector: the node's name is in the state. */
                        _cleanup_free_ char *plain = slurp(logs[0], &len);
                        text = with_node(plain, len, "host-a.example", &len);
                }
                l = ledger(&whole, NULL);
                run(l, text, len);
                ledger_free(l);
                fclose(whole.f);
                n = serials(text, &ser);
                assert_true(n > 10);

                /* About 60 split points, spread over the log. */
                for (size_t k = 0; k < n; k += MAX(n / 60, (size_t) 1)) {
                        Split a = { .serial = ser[k] }, b = { .serial = ser[k], .after = true };
                        Out first = {}, second = {};
                        char *saved = NULL;
                        size_t saved_len = 0;
                        FILE *f;
                        Ledger *l1, *l2;

                        l1 = ledger(&first, &a);
                        run(l1, text, len);
                        f = open_memstream(&saved, &saved_len);
                        assert_int_equal(tracker_save_state(ledger_get_tracker(l1), f), 0);
                        fclose(f);
                        ledger_free(l1);

                        l2 = ledger(&second, &b);
                        f = fmemopen(saved, saved_len, "r");
                        assert_int_equal(tracker_load_state(ledger_get_tracker(l2), f), 0);
                        fclose(f);
                        run(l2, text, len);
                        ledger_free(l2);
                        fclose(second.f);
                        fputs(second.data ? second.data : "", first.f);
                        fclose(first.f);

                        if (strcmp(first.data, whole.data) != 0 && getenv("TEST_DUMP")) {
                                FILE *d = fopen("/tmp/tts-split", "w");
                                fputs(first.data, d);
                                fclose(d);
                                d = fopen("/tmp/tts-whole", "w");
                                fputs(whole.data, d);
                                fclose(d);
                                d = fopen("/tmp/tts-state", "w");
                                fwrite(saved, 1, saved_len, d);
                                fclose(d);
                        }
                        if (strcmp(first.data, whole.data) != 0)
                                fail_msg("%s%s: split after serial %llu gives other records", logs[i % n_logs],
                                         i == n_logs ? " (with node=)" : "",
                                         (unsigned long long) ser[k]);
                        free(first.data);
                        free(second.data);
                        free(saved);
                        splits++;
                }
                assert_true(splits > 10);
                free(whole.data);
        }
}

/* A state of the first half of a log, saved; then every way of damaging it. */
static char *some_state(size_t *len) {
        _cleanup_free_ char *text = NULL;
        char *saved = NULL;
        Split a = { .serial = 0 };
        _cleanup_free_ uint64_t *ser = NULL;
        size_t tl, n;
        Out o = {};
        Ledger *l;
        FILE *f;

        text = slurp(logs[0], &tl);
        n = serials(text, &ser);
        a.serial = ser[n / 2];
        l = ledger(&o, &a);
        run(l, text, tl);
        f = open_memstream(&saved, len);
        assert_int_equal(tracker_save_state(ledger_get_tracker(l), f), 0);
        fclose(f);
        ledger_free(l);
        fclose(o.f);
        free(o.data);
        return saved;
}

static int load(const char *data, size_t len, size_t *procs) {
        Out o = {};
        Ledger *l = ledger(&o, NULL);
        TrackerStats ts;
        FILE *f = fmemopen((void *) data, len, "r");
        int r;

        assert_non_null(f);
        r = tracker_load_state(ledger_get_tracker(l), f);
        fclose(f);
        tracker_get_stats(ledger_get_tracker(l), &ts);
        *procs = ts.processes;
        if (r < 0) {
                assert_int_equal(ts.processes, 0);
                assert_int_equal(ts.open_files, 0);
        }
        ledger_free(l);
        fclose(o.f);
        free(o.data);
        return r;
}

static void test_damaged_refused(void **state) {
        _cleanup_free_ char *s = NULL;
        size_t len, procs;
        char *c;

        s = some_state(&len);
        assert_int_equal(load(s, len, &procs), 0);
        assert_true(procs > 0);

        /* Every cut short is refused (the "end" line counts what came). */
        for (size_t cut = 0; cut < len; cut += MAX(len / 200, (size_t) 1))
                assert_true(load(s, cut, &procs) < 0);
        /* Another version or another file. */
        c = strdup(s);
        c[strlen("fsmon-tracker-state ")] = '7';
        assert_int_equal(load(c, len, &procs), -EPROTO);
        assert_int_equal(load("SQLite format 3\n", 16, &procs), -EPROTO);
        free(c);
        /* A reference to a description that does not exist. */
        c = calloc(1, len + 16);
        assert_non_null(c);
        memcpy(c, s, len);
        {
                char *d = strstr(c, "\nd ");
                assert_non_null(d);
                /* "d FD FILE CLOEXEC": make FILE huge */
                char *sp = strchr(d + 3, ' ');
                sp[1] = '9';
                memmove(sp + 2, sp + 1, strlen(sp + 1) + 1);
                sp[1] = '9';
        }
        assert_int_equal(load(c, strlen(c), &procs), -EBADMSG);
        free(c);
        /* Something after the end. */
        c = malloc(len + 3);
        memcpy(c, s, len);
        memcpy(c + len, "t\n", 3);
        assert_int_equal(load(c, len + 2, &procs), -EBADMSG);
        free(c);
}

static void test_file(void **state) {
        char dir[] = "/tmp/test-tracker-state.XXXXXX";
        _cleanup_free_ char *s = NULL;
        TrackerStateFile f = {};
        Out o = {};
        Ledger *l;
        size_t len, size = 0;
        struct stat st;
        int dfd, fd;
        char *data;
        size_t dlen;

        assert_non_null(mkdtemp(dir));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);

        s = some_state(&len);
        l = ledger(&o, NULL);
        FILE *m = fmemopen(s, len, "r");
        assert_int_equal(tracker_load_state(ledger_get_tracker(l), m), 0);
        fclose(m);
        assert_int_equal(tracker_state_file_write(dfd, "tracker", "01234567-89ab-cdef-0123-456789abcdef", 42,
                                                  ledger_get_tracker(l), true, &size), 0);
        ledger_free(l);
        fclose(o.f);
        free(o.data);
        assert_int_equal(fstatat(dfd, "tracker", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal((size_t) st.st_size, size);

        assert_int_equal(tracker_state_file_read(dfd, "tracker", &f), 0);
        assert_int_equal(f.serial, 42);
        assert_string_equal(f.boot_id, "01234567-89ab-cdef-0123-456789abcdef");
        assert_int_equal(f.body_len, len);
        assert_memory_equal(f.body, s, len);
        tracker_state_file_done(&f);

        /* One flipped byte anywhere, or a cut: refused. */
        assert_int_equal(fileio_read_small_at(dfd, "tracker", 64 * 1024 * 1024, &data, &dlen), 0);
        for (size_t i = 0; i < dlen; i += MAX(dlen / 100, (size_t) 1)) {
                data[i] ^= 0x20;
                assert_true(tracker_state_file_parse(data, dlen, &f) < 0);
                data[i] ^= 0x20;
                assert_true(tracker_state_file_parse(data, i, &f) < 0);
        }
        assert_int_equal(tracker_state_file_parse(data, dlen, &f), 0);
        tracker_state_file_done(&f);
        free(data);

        /* Loose permissions: refused. */
        assert_int_equal(fchmodat(dfd, "tracker", 0644, 0), 0);
        assert_int_equal(tracker_state_file_read(dfd, "tracker", &f), -EACCES);

        assert_int_equal(unlinkat(dfd, "tracker", 0), 0);
        fd = openat(dfd, "tracker", O_WRONLY | O_CREAT, 0600);
        close(fd);
        assert_int_equal(tracker_state_file_read(dfd, "tracker", &f), -EPROTO);
        assert_int_equal(unlinkat(dfd, "tracker", 0), 0);
        close(dfd);
        assert_int_equal(rmdir(dir), 0);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_split_equals_whole),
                cmocka_unit_test(test_damaged_refused),
                cmocka_unit_test(test_file),
        };

        logs = argv + 1;
        n_logs = argc - 1;
        if (n_logs < 1) {
                fprintf(stderr, "usage: test-tracker-state FIXTURE.log...\n");
                return 2;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
