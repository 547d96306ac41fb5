/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The report's pure core: the line scanner, the statistics and their merge
 * across segments (the order-dependent figures), the bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report/report-render.h"
#include "report/report-scan.h"
#include "report/report.h"

static int scan(const char *line, ReportScanBuffer *b, ReportRecord *r) {
        return report_scan_line(line, strlen(line), b, r);
}

static void test_scan_record(void **state) {
        ReportScanBuffer b = {};
        ReportRecord r;

        assert_int_equal(scan("{\"op\":\"pread\",\"time\":\"1700000000.123\",\"serial\":18446744073709551615,"
                              "\"pid\":7,\"path\":\"/a/b\",\"fd\":3,\"offset\":4096,\"bytes\":512,"
                              "\"auid\":1000,\"uid\":0,\"comm\":\"c\\u00e9\\\"t\",\"flags\":null}", &b, &r), 0);
        assert_int_equal(r.op_len, 5);
        assert_memory_equal(r.op, "pread", 5);
        assert_true(r.has_time);
        assert_int_equal(r.sec, 1700000000);
        assert_int_equal(r.msec, 123);
        /* Serials are unsigned 64-bit, as segment.c reads them. */
        assert_true(r.has_serial);
        assert_true(r.serial == UINT64_MAX);
        assert_int_equal(r.path_len, 4);
        assert_memory_equal(r.path, "/a/b", 4);
        assert_true(r.has_offset && r.offset == 4096);
        assert_true(r.has_bytes && r.bytes == 512);
        assert_true(r.has_auid && r.auid == 1000);
        assert_true(r.has_uid && r.uid == 0);
        /* Escapes decoded: c, U+00E9 in UTF-8, a quote, t. */
        assert_int_equal(r.comm_len, 5);
        assert_memory_equal(r.comm, "c\xc3\xa9\"t", 5);

        /* null offset: not known; metadata with nested values. */
        assert_int_equal(scan("{\"op\":\"read\",\"offset\":null,\"bytes\":1e3}", &b, &r), 0);
        assert_false(r.has_offset);
        assert_false(r.has_bytes);      /* not an integer */
        assert_int_equal(scan(" {\"fsmon\":\"segment\",\"x\":[1,{\"y\":[true,false,null]}],\"host\":\"h-1\"} ", &b, &r), 0);
        assert_null(r.op);
        assert_int_equal(r.host_len, 3);
        assert_int_equal(scan("{}", &b, &r), 0);
        assert_null(r.op);
        /* A surrogate pair makes one 4-byte character. */
        assert_int_equal(scan("{\"op\":\"x\",\"path\":\"\\ud83d\\ude00\"}", &b, &r), 0);
        assert_int_equal(r.path_len, 4);
        report_scan_buffer_done(&b);
}

static void test_scan_refuses(void **state) {
        static const char *const bad[] = {
                "", "[]", "{", "{\"op\"}", "{\"op\":}", "{\"op\":\"read\",}", "{\"op\":\"read\"} x",
                "{\"op\":\"re\x01\"}", "{\"op\":\"read\\q\"}", "{\"bytes\":01}", "{\"bytes\":1.}",
                "{\"bytes\":-}", "{\"bytes\":1e}", "{\"op\":tru}", "{\"op\":\"read\"", "{\"a\":[1,]}",
                "{\"a\":{\"b\"}}", "{\"op\":\"\\u12\"}", "{'op':'read'}", "{\"op\":\"read\"}}",
        };
        ReportScanBuffer b = {};
        ReportRecord r;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (scan(bad[i], &b, &r) != -EBADMSG)
                        fail_msg("accepted: %s", bad[i]);
        }
        /* Nesting is bounded. */
        char deep[400];
        size_t n = 0;
        n += (size_t) snprintf(deep, sizeof(deep), "{\"a\":");
        for (int i = 0; i < 100; i++)
                deep[n++] = '[';
        for (int i = 0; i < 100; i++)
                deep[n++] = ']';
        deep[n++] = '}';
        deep[n] = 0;
        assert_int_equal(scan(deep, &b, &r), -EBADMSG);
        report_scan_buffer_done(&b);
}

static void add(Report *r, const char *line) {
        static ReportScanBuffer b;
        ReportRecord rec;

        assert_int_equal(report_scan_line(line, strlen(line), &b, &rec), 0);
        assert_int_equal(report_add(r, &rec, "h"), 0);
}

static void read_at(Report *r, const char *path, int64_t offset, int64_t bytes) {
        char line[256];
        snprintf(line, sizeof(line),
                 "{\"op\":\"read\",\"time\":\"7200.5\",\"serial\":1,\"path\":\"%s\",\"offset\":%lld,\"bytes\":%lld}",
                 path, (long long) offset, (long long) bytes);
        add(r, line);
}

/* Sequential and re-read figures are the same whether records come in one
 * segment or split over several (merged in order). */
static void test_merge_order(void **state) {
        _cleanup_(report_freep) Report *one = NULL, *total = NULL, *delta = NULL;
        const ReportSummary *s1, *s2;

        assert_int_equal(report_new(&one), 0);
        assert_int_equal(report_new(&total), 0);
        assert_int_equal(report_new(&delta), 0);

        for (int pass = 0; pass < 2; pass++) {
                Report *r = pass == 0 ? one : delta;
                read_at(r, "/f", 0, 100);       /* sequential: first, at 0 */
                if (pass == 1)
                        assert_int_equal(report_merge(total, delta), 0);
                read_at(r, "/f", 100, 100);     /* sequential, across the merge */
                read_at(r, "/f", 50, 100);      /* random, re-reads [50, 150) */
                read_at(r, "/g", 10, 5);        /* random: first, not at 0 */
                if (pass == 1)
                        assert_int_equal(report_merge(total, delta), 0);
                read_at(r, "/g", 15, 5);        /* sequential */
                read_at(r, "/f", 0, 400);       /* random, re-reads [0, 200) */
                if (pass == 1)
                        assert_int_equal(report_merge(total, delta), 0);
        }

        s1 = report_summary(one);
        s2 = report_summary(total);
        assert_int_equal(s1->read_pattern.seq, 3);
        assert_int_equal(s1->read_pattern.rand, 3);
        assert_int_equal(s1->read_pattern.seq_bytes, 205);
        assert_int_equal(s1->reread_bytes, 100 + 200);
        assert_int_equal(s1->c.bytes_read, 710);
        assert_int_equal(s1->files, 2);
        assert_memory_equal(&s1->read_pattern, &s2->read_pattern, sizeof(ReportPattern));
        assert_int_equal(s2->reread_bytes, s1->reread_bytes);
        assert_int_equal(s2->c.bytes_read, s1->c.bytes_read);
        assert_int_equal(s2->records, s1->records);
}

static void test_unknown_offsets(void **state) {
        _cleanup_(report_freep) Report *r = NULL;
        const ReportSummary *s;

        assert_int_equal(report_new(&r), 0);
        add(r, "{\"op\":\"write\",\"path\":\"/w\",\"offset\":null,\"bytes\":10}");
        add(r, "{\"op\":\"write\",\"path\":\"/w\",\"offset\":10,\"bytes\":10}");   /* after unknown: random */
        add(r, "{\"op\":\"write\",\"path\":\"/w\",\"offset\":20,\"bytes\":10}");   /* sequential */
        add(r, "{\"op\":\"write\",\"path\":null,\"offset\":0,\"bytes\":10}");     /* no file: unknown */
        add(r, "{\"op\":\"gap\",\"lost\":42,\"reason\":\"x\"}");
        s = report_summary(r);
        assert_int_equal(s->write_pattern.unknown, 2);
        assert_int_equal(s->write_pattern.rand, 1);
        assert_int_equal(s->write_pattern.seq, 1);
        assert_int_equal(s->c.bytes_written, 40);
        assert_int_equal(s->lost, 42);
        assert_int_equal(s->gaps, 1);
}

/* Per file, memory is bounded: past REPORT_RANGES_MAX disjoint ranges the
 * closest are joined; re-reads may then be over-counted, never lost. */
static void test_ranges_bound(void **state) {
        _cleanup_(report_freep) Report *r = NULL;
        const ReportFile **top;
        size_t n;

        assert_int_equal(report_new(&r), 0);
        for (int i = 0; i < 1000; i++)
                read_at(r, "/big", (int64_t) i * 100, 10);
        for (int i = 0; i < 1000; i++)
                read_at(r, "/big", (int64_t) i * 100, 10);
        assert_int_equal(report_top_files(r, false, 1, &top, &n), 0);
        assert_int_equal(n, 1);
        assert_true(top[0]->n_ranges <= REPORT_RANGES_MAX);
        assert_true(top[0]->reread_bytes >= 10000);
        assert_true(top[0]->reread_bytes <= 20000);
}

static void test_tables_and_render(void **state) {
        _cleanup_(report_freep) Report *r = NULL;
        const ReportKeyed **v;
        const ReportOpStat *ops;
        size_t n;
        char line[128];

        assert_int_equal(report_new(&r), 0);
        add(r, "{\"op\":\"open\",\"time\":\"3600.0\",\"path\":\"/a\",\"auid\":4294967295,\"comm\":\"sh\"}");
        add(r, "{\"op\":\"open\",\"time\":\"7300.0\",\"path\":\"/a\",\"uid\":5}");
        /* An undecodable byte as fsmonctl decode escapes it, and a plain
         * non-ASCII name: both come out as valid UTF-8 JSON. */
        add(r, "{\"op\":\"open\",\"path\":\"/x\\udc80y/\\u00e9\"}");
        /* More op names than the table holds: the rest in "(other)". */
        for (int i = 0; i < 70; i++) {
                snprintf(line, sizeof(line), "{\"op\":\"op%d\",\"bytes\":1}", i);
                add(r, line);
        }
        n = report_ops(r, &ops);
        assert_int_equal(n, 65);
        assert_string_equal(ops[64].name, "(other)");
        assert_int_equal(ops[64].count, 7);

        assert_int_equal(report_table(r, REPORT_TABLE_USERS, &v, &n), 0);
        assert_int_equal(n, 3);
        bool unset = false, uid = false;
        for (size_t i = 0; i < n; i++) {
                unset = unset || strcmp(v[i]->key, "unset") == 0;
                uid = uid || strcmp(v[i]->key, "uid 5") == 0;
        }
        assert_true(unset && uid);
        assert_int_equal(report_table(r, REPORT_TABLE_HOURS, &v, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(v[0]->key, "3600");
        assert_string_equal(v[1]->key, "7200");

        for (ReportFormat f = 0; f < _REPORT_FORMAT_MAX; f++) {
                char *buf = NULL;
                size_t len = 0;
                FILE *o = open_memstream(&buf, &len);
                assert_non_null(o);
                assert_int_equal(report_render(r, f, 10, o), 0);
                fclose(o);
                assert_true(len > 100);
                if (f == REPORT_FORMAT_JSON) {
                        assert_non_null(strstr(buf, "\"(other)\":{\"count\":7,\"bytes\":7}"));
                        assert_non_null(strstr(buf, "\"path\":\"/x\\udc80y/\xc3\xa9\""));
                }
                if (f == REPORT_FORMAT_SVG)
                        assert_non_null(strstr(buf, "</svg>"));
                free(buf);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_scan_record),
                cmocka_unit_test(test_scan_refuses),
                cmocka_unit_test(test_merge_order),
                cmocka_unit_test(test_unknown_offsets),
                cmocka_unit_test(test_ranges_bound),
                cmocka_unit_test(test_tables_and_render),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
