/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/action-text.h"

static char *text(const Action *a, size_t width) {
        CharBuffer b = {};
        ActionTextOptions o = { .utc = true, .path_width = width };

        assert_int_equal(action_text_append(&b, a, &o), 0);
        assert_int_equal(char_buffer_reserve(&b, 1), 0);
        b.data[b.len] = 0;
        return b.data;
}

static void test_read(void **state) {
        /* 2023-11-14 22:13:20 UTC */
        Action a = {
                .op = ACTION_READ, .sec = 1700000000, .msec = 7, .pid = 4711, .comm = "cat",
                .path = "/etc/os-release", .path_len = 15, .fd = 3, .offset = 4096, .bytes = 267,
        };
        char *s = text(&a, 20);
        assert_string_equal(s, "22:13:20.007 cat[4711]            read     /etc/os-release      267 B at 4096");
        free(s);
        a.offset = OFFSET_UNKNOWN;
        s = text(&a, 20);
        assert_non_null(strstr(s, " 267 B at ?"));
        free(s);
}

static void test_shortened(void **state) {
        Action a = {
                .op = ACTION_OPEN, .sec = 0, .pid = 1, .comm = "ls",
                .path = "/usr/share/doc/bash/README", .path_len = 26, .fd = 4,
        };
        char *s = text(&a, 20);
        /* Cut at a '/', the file's name and nearest directories kept. */
        assert_non_null(strstr(s, " open     .../doc/bash/README  fd 4"));
        free(s);
        /* A last component longer than the column: its end. */
        a.path = "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaz";
        a.path_len = strlen(a.path);
        s = text(&a, 10);
        assert_non_null(strstr(s, " ...aaaaaaz fd 4"));
        free(s);
}

static void test_escaped(void **state) {
        /* A name must not move the cursor or break the line. */
        Action a = {
                .op = ACTION_CLOSE, .sec = 0, .pid = 1, .comm = "x\033y",
                .path = "/a\nb\033[2J\\", .path_len = 9, .fd = 5,
        };
        char *s = text(&a, 40);
        assert_null(strchr(s, '\n'));
        assert_null(strchr(s, '\033'));
        assert_non_null(strstr(s, "x\\x1by[1]"));
        assert_non_null(strstr(s, "/a\\x0ab\\x1b[2J\\x5c"));
        free(s);
}

static void test_others(void **state) {
        Action fork = { .op = ACTION_FORK, .pid = 10, .child = 11, .comm = "sh" };
        Action dup = { .op = ACTION_DUP, .pid = 10, .old_fd = 3, .new_fd = 1, .path = "/f", .path_len = 2 };
        Action seek = { .op = ACTION_LSEEK, .pid = 10, .offset = 15, .path = "/f", .path_len = 2 };
        Action gap = { .op = ACTION_GAP, .lost = 12, .lost_known = true, .reason = "kernel" };
        char *s;

        s = text(&fork, 4);
        assert_non_null(strstr(s, " fork          child 11"));
        free(s);
        s = text(&dup, 4);
        assert_non_null(strstr(s, " dup      /f   fd 3 -> 1"));
        free(s);
        s = text(&seek, 4);
        assert_non_null(strstr(s, " lseek    /f   to 15"));
        free(s);
        s = text(&gap, 4);
        assert_non_null(strstr(s, " gap           12 events lost (kernel)"));
        free(s);
}

static void test_beyond(void **state) {
        Action copy = { .op = ACTION_WRITE, .pid = 10, .path = "/o", .path_len = 2, .offset = 40, .bytes = 20,
                        .via = "copy_file_range" };
        Action map = { .op = ACTION_MMAP, .pid = 10, .path = "/db", .path_len = 3, .bytes = 8192 };
        Action ren = { .op = ACTION_RENAME, .pid = 10, .path = "/a", .path_len = 2, .new_path = "/b",
                       .new_path_len = 2, .exchange = true };
        Action tr = { .op = ACTION_TRUNCATE, .pid = 10, .path = "/f", .path_len = 2, .size = OFFSET_UNKNOWN };
        char *s;

        s = text(&copy, 4);
        assert_non_null(strstr(s, " write    /o   20 B at 40 (copy_file_range)"));
        free(s);
        s = text(&map, 4);
        assert_non_null(strstr(s, " mmap     /db  8192 B mapped"));
        free(s);
        s = text(&ren, 4);
        assert_non_null(strstr(s, " rename   /a   <-> /b"));
        free(s);
        s = text(&tr, 4);
        assert_non_null(strstr(s, " truncate /f   to ? B"));
        free(s);
        tr.size = 0;
        s = text(&tr, 4);
        assert_non_null(strstr(s, " truncate /f   to 0 B"));
        free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_read),
                cmocka_unit_test(test_shortened),
                cmocka_unit_test(test_escaped),
                cmocka_unit_test(test_others),
                cmocka_unit_test(test_beyond),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
