/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shared/path-util.h"

static void test_decode_quoted(void **state) {
        char buf[64];
        size_t n;

        assert_int_equal(audit_value_decode("\"/etc/passwd\"", buf, sizeof(buf), &n), 0);
        assert_int_equal(n, 11);
        assert_string_equal(buf, "/etc/passwd");
        assert_int_equal(audit_value_decode("\"\"", buf, sizeof(buf), &n), 0);
        assert_int_equal(n, 0);
}

static void test_decode_hex(void **state) {
        char buf[64];
        size_t n;

        /* "a b é.txt" as the kernel wrote it */
        assert_int_equal(audit_value_decode("61206220C3A92E747874", buf, sizeof(buf), &n), 0);
        assert_int_equal(n, 10);
        assert_memory_equal(buf, "a b \xc3\xa9.txt", 10);
        assert_int_equal(audit_value_decode("2f61", buf, sizeof(buf), &n), 0);
        assert_string_equal(buf, "/a");
}

static void test_decode_bad(void **state) {
        char buf[4];
        size_t n;

        assert_int_equal(audit_value_decode("(null)", buf, sizeof(buf), &n), -ENODATA);
        assert_int_equal(audit_value_decode("", buf, sizeof(buf), &n), -EINVAL);
        assert_int_equal(audit_value_decode("616", buf, sizeof(buf), &n), -EINVAL);
        assert_int_equal(audit_value_decode("6G", buf, sizeof(buf), &n), -EINVAL);
        assert_int_equal(audit_value_decode("\"abc", buf, sizeof(buf), &n), -EINVAL);
        assert_int_equal(audit_value_decode("\"abcd\"", buf, sizeof(buf), &n), -ENOBUFS);
        assert_int_equal(audit_value_decode("61626364", buf, sizeof(buf), &n), -ENOBUFS);
}

static void check_resolve(const char *base, const char *rel, const char *expect) {
        char *p = NULL;
        size_t n;

        assert_int_equal(path_resolve(base, base ? strlen(base) : 0, rel, strlen(rel), &p, &n), 0);
        assert_string_equal(p, expect);
        assert_int_equal(n, strlen(expect));
        free(p);
}

static void test_resolve(void **state) {
        check_resolve("/home/u", "f", "/home/u/f");
        check_resolve("/home/u", "./a/../b//c/.", "/home/u/b/c");
        check_resolve("/home/u", "../../../x", "/x");
        check_resolve("/home/u", "/abs//p/./q/..", "/abs/p");
        check_resolve("/", "..", "/");
        check_resolve("/a/b", "", "/a/b");
        check_resolve(NULL, "/", "/");
        check_resolve("/a", "...", "/a/...");
        check_resolve("/a", "b c/\xc3\xa9", "/a/b c/\xc3\xa9");
}

static void test_resolve_bad(void **state) {
        char *p = NULL;
        size_t n;

        assert_int_equal(path_resolve(NULL, 0, "rel", 3, &p, &n), -EINVAL);
        assert_int_equal(path_resolve("rel/base", 8, "x", 1, &p, &n), -EINVAL);
        assert_null(p);
}

static void test_prefix(void **state) {
        assert_true(path_has_prefix("/home/a", 7, "/home/a", 7));
        assert_true(path_has_prefix("/home/a/x", 9, "/home/a", 7));
        assert_false(path_has_prefix("/home/ab", 8, "/home/a", 7));
        assert_false(path_has_prefix("/home", 5, "/home/a", 7));
        assert_true(path_has_prefix("/x", 2, "/", 1));
}

static void test_normalized(void **state) {
        assert_true(path_is_normalized("/", 1));
        assert_true(path_is_normalized("/a/b", 4));
        assert_false(path_is_normalized("a/b", 3));
        assert_false(path_is_normalized("/a/", 3));
        assert_false(path_is_normalized("/a//b", 5));
        assert_false(path_is_normalized("/a/./b", 6));
        assert_false(path_is_normalized("/a/..", 5));
        assert_false(path_is_normalized("", 0));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_decode_quoted),
                cmocka_unit_test(test_decode_hex),
                cmocka_unit_test(test_decode_bad),
                cmocka_unit_test(test_resolve),
                cmocka_unit_test(test_resolve_bad),
                cmocka_unit_test(test_prefix),
                cmocka_unit_test(test_normalized),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
