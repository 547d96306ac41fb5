/* SPDX-License-Identifier: GPL-2.0-or-later */
/* core/ledger: the chain `fsmonctl decode` and fsmond both run, on a log the
 * real kernel recorded (tests/fixtures/workload-raw.log). The fixture tests
 * compare every record with the workload's own account; here: the number of
 * records on the workload's files equals that account's, however the text
 * is cut into chunks; the audit key filter; a sink's error stops the ledger;
 * gap records; pseudonyms leave no name in the output.
 *   test-ledger LOG EXPECTED */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/ledger.h"

#define WORKDIR "/tmp/fsmon-fixture-wd/tree"    /* tests/meson.build: fixture_workdir */

static char *log_text, *expected_text;
static size_t log_len;

typedef struct Out {
        char *text;             /* every record, one per line */
        size_t len, records, on_workdir, events, gaps;
        size_t stop_after;      /* 0: never */
} Out;

static int sink(const char *record, size_t len, const Action *a, void *userdata) {
        Out *o = userdata;

        if (o->stop_after && o->records == o->stop_after)
                return -ECANCELED;
        o->text = realloc(o->text, o->len + len + 2);
        assert_non_null(o->text);
        memcpy(o->text + o->len, record, len);
        o->len += len;
        o->text[o->len++] = '\n';
        o->text[o->len] = 0;
        o->records++;
        if (a->op == ACTION_GAP)
                o->gaps++;
        if (memmem(record, len, "\"path\":\"" WORKDIR "/", strlen("\"path\":\"" WORKDIR "/")))
                o->on_workdir++;
        return 0;
}

static void on_event(const AuditEvent *ev, void *userdata) {
        ((Out *) userdata)->events++;
}

/* Runs the ledger over the log in chunks of chunk bytes (0: all at once). */
static int run(Out *o, const char *audit_key, Pseudonymizer *p, size_t chunk) {
        LedgerOptions lo = { .pseudonymizer = p, .audit_key = audit_key, .event_hook = on_event };
        Ledger *l = NULL;
        int r = 0;

        assert_int_equal(ledger_new(&lo, sink, o, &l), 0);
        for (size_t off = 0; off < log_len && r >= 0; off += chunk ?: log_len) {
                size_t n = chunk ? (log_len - off < chunk ? log_len - off : chunk) : log_len;
                r = ledger_feed(l, log_text + off, n);
        }
        if (r >= 0)
                r = ledger_flush(l);
        ledger_free(l);
        return r;
}

static size_t count(const char *text, const char *needle) {
        size_t n = 0;
        for (const char *p = text; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

static void test_whole_and_chunks(void **state) {
        static const size_t chunks[] = { 1, 7, 100, 4096 };
        Out whole = {};

        assert_int_equal(run(&whole, NULL, NULL, 0), 0);
        /* The workload's own account: a line per action on its files. */
        assert_int_equal(whole.on_workdir, count(expected_text, "\"path\":\"" WORKDIR "/"));
        assert_true(whole.on_workdir > 100);
        assert_int_equal(whole.gaps, 0);

        for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
                Out o = {};
                assert_int_equal(run(&o, NULL, NULL, chunks[i]), 0);
                assert_int_equal(o.records, whole.records);
                assert_string_equal(o.text, whole.text);
                free(o.text);
        }
        free(whole.text);
}

static void test_audit_key(void **state) {
        Out all = {}, keyed = {}, other = {};

        assert_int_equal(run(&all, NULL, NULL, 0), 0);
        /* The recorder's rules carry this key; auditd's and auditctl's own
         * events have none and produce no file actions. */
        assert_int_equal(run(&keyed, "fsmon-fixture-rec", NULL, 0), 0);
        assert_string_equal(keyed.text, all.text);
        assert_true(keyed.events < all.events);
        /* Another key: every system call event passed over. */
        assert_int_equal(run(&other, "not-this-key", NULL, 0), 0);
        assert_int_equal(other.records, 0);
        assert_true(other.events < keyed.events);
        free(all.text);
        free(keyed.text);
        free(other.text);
}

static void test_sink_error_stops(void **state) {
        Out o = { .stop_after = 3 };

        assert_int_equal(run(&o, NULL, NULL, 512), -ECANCELED);
        assert_int_equal(o.records, 3);
        free(o.text);
}

static void test_gap(void **state) {
        LedgerOptions lo = {};
        Ledger *l = NULL;
        Out o = {};

        assert_int_equal(ledger_new(&lo, sink, &o, &l), 0);
        assert_int_equal(ledger_gap(l, 1796350100, 7, 542732, 12, true, "kernel: audit backlog full"), 0);
        assert_int_equal(ledger_gap(l, 1796350101, 0, 542733, 0, false, "unknown"), 0);
        ledger_free(l);
        assert_int_equal(o.gaps, 2);
        assert_string_equal(o.text,
                "{\"op\":\"gap\",\"time\":\"1796350100.007\",\"serial\":542732,\"lost\":12,\"reason\":\"kernel: audit backlog full\"}\n"
                "{\"op\":\"gap\",\"time\":\"1796350101.000\",\"serial\":542733,\"lost\":null,\"reason\":\"unknown\"}\n");
        free(o.text);
}

static void test_pseudonyms(void **state) {
        static const uint8_t key[PSEUDONYM_KEY_SIZE] = { 7 };
        Pseudonymizer *p = NULL;
        Out plain = {}, pseudo = {};

        assert_int_equal(pseudonymizer_new(key, &p), 0);
        assert_int_equal(run(&plain, NULL, NULL, 0), 0);
        assert_int_equal(run(&pseudo, NULL, p, 0), 0);
        assert_int_equal(pseudo.records, plain.records);
        assert_null(strstr(pseudo.text, "fsmon-fixture-wd"));
        assert_null(strstr(pseudo.text, "alpha.txt"));
        pseudonymizer_free(p);
        free(plain.text);
        free(pseudo.text);
}

static bool serial_at_most(uint64_t sec, unsigned msec, uint64_t serial, void *userdata) {
        return serial <= *(uint64_t *) userdata;
}

static int no_proc(uint32_t pid, int fd, TrackerFdInfo *ret, void *userdata) {
        (*(size_t *) userdata)++;
        return -ESRCH;
}

/* The edges' additions come as options (capture.c gives its own). */
static void test_edge_options(void **state) {
        uint64_t last = 542800;
        size_t asked = 0;
        LedgerOptions lo = { .line_filter = serial_at_most, .line_filter_userdata = &last,
                             .fd_resolver = no_proc, .fd_resolver_userdata = &asked };
        Ledger *l = NULL;
        Out all = {}, some = {};

        assert_int_equal(run(&all, NULL, NULL, 0), 0);
        assert_int_equal(ledger_new(&lo, sink, &some, &l), 0);
        assert_int_equal(ledger_feed(l, log_text, log_len), 0);
        assert_int_equal(ledger_flush(l), 0);
        ledger_free(l);
        assert_true(some.records > 0);
        assert_true(some.records < all.records);
        assert_null(strstr(some.text, "\"serial\":542801,"));
        /* bash's fd 1 was open before the recording began: asked about. */
        assert_true(asked > 0);
        free(all.text);
        free(some.text);
}

static char *slurp(const char *path, size_t *ret_len) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t len = 0;

        if (!f) {
                perror(path);
                exit(2);
        }
        if (getdelim(&buf, &len, '\0', f) < 0) {
                perror(path);
                exit(2);
        }
        len = strlen(buf);
        fclose(f);
        if (ret_len)
                *ret_len = len;
        return buf;
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_whole_and_chunks),
                cmocka_unit_test(test_audit_key),
                cmocka_unit_test(test_sink_error_stops),
                cmocka_unit_test(test_gap),
                cmocka_unit_test(test_pseudonyms),
                cmocka_unit_test(test_edge_options),
        };
        int r;

        if (argc != 3) {
                fprintf(stderr, "usage: %s LOG EXPECTED\n", argv[0]);
                return 2;
        }
        log_text = slurp(argv[1], &log_len);
        expected_text = slurp(argv[2], NULL);
        r = cmocka_run_group_tests(tests, NULL, NULL);
        free(log_text);
        free(expected_text);
        return r;
}
