/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/action-json.h"

static char *encode(const Action *a) {
        CharBuffer b = {};
        assert_int_equal(action_json_append(&b, a, NULL), 0);
        assert_int_equal(char_buffer_reserve(&b, 1), 0);
        b.data[b.len] = 0;
        return b.data;
}

static void test_read(void **state) {
        Action a = {
                .op = ACTION_READ, .sec = 1700000000, .msec = 7, .serial = 42, .pid = 100,
                .path = "/a \"b\"\\c", .path_len = 8, .fd = 3, .offset = 4096, .bytes = 512, .flags = -1,
        };
        char *s = encode(&a);
        assert_string_equal(s, "{\"op\":\"read\",\"time\":\"1700000000.007\",\"serial\":42,\"pid\":100,"
                               "\"path\":\"/a \\\"b\\\"\\\\c\",\"fd\":3,\"offset\":4096,\"bytes\":512}");
        free(s);
}

static void test_unknowns(void **state) {
        Action a = {
                .op = ACTION_WRITE, .sec = 1, .msec = 999, .serial = 1, .pid = 1,
                .fd = 1, .offset = OFFSET_UNKNOWN, .bytes = 0, .flags = -1,
        };
        char *s = encode(&a);
        assert_string_equal(s, "{\"op\":\"write\",\"time\":\"1.999\",\"serial\":1,\"pid\":1,"
                               "\"path\":null,\"fd\":1,\"offset\":null,\"bytes\":0}");
        free(s);
}

static void test_dup_fork_gap(void **state) {
        Action d = { .op = ACTION_DUP, .sec = 5, .serial = 9, .pid = 7, .path = "/x", .path_len = 2,
                     .old_fd = 3, .new_fd = 10, .flags = -1, .offset = OFFSET_UNKNOWN };
        Action f = { .op = ACTION_FORK, .sec = 5, .serial = 10, .pid = 7, .child = 8, .flags = -1,
                     .offset = OFFSET_UNKNOWN, .has_ids = true, .ppid = 1, .auid = 1000, .uid = 1001,
                     .comm = "sh" };
        Action g = { .op = ACTION_GAP, .sec = 6, .serial = 11, .lost = 12, .lost_known = true,
                     .reason = "kernel" };
        char *s;

        s = encode(&d);
        assert_string_equal(s, "{\"op\":\"dup\",\"time\":\"5.000\",\"serial\":9,\"pid\":7,\"path\":\"/x\","
                               "\"old_fd\":3,\"new_fd\":10}");
        free(s);
        s = encode(&f);
        assert_string_equal(s, "{\"op\":\"fork\",\"time\":\"5.000\",\"serial\":10,\"pid\":7,\"child\":8,"
                               "\"ppid\":1,\"auid\":1000,\"uid\":1001,\"comm\":\"sh\"}");
        free(s);
        s = encode(&g);
        assert_string_equal(s, "{\"op\":\"gap\",\"time\":\"6.000\",\"serial\":11,\"lost\":12,\"reason\":\"kernel\"}");
        free(s);
}

static void test_new_ops(void **state) {
        Action c = { .op = ACTION_WRITE, .sec = 1, .serial = 2, .pid = 3, .path = "/o", .path_len = 2,
                     .fd = 4, .offset = OFFSET_UNKNOWN, .bytes = 10, .flags = -1, .via = "copy_file_range",
                     .node = "alpha" };
        Action m = { .op = ACTION_MMAP, .sec = 1, .serial = 2, .pid = 3, .path = "/db", .path_len = 3,
                     .fd = 5, .offset = OFFSET_UNKNOWN, .bytes = 8192, .flags = 1, .prot = 3 };
        Action m32 = { .op = ACTION_MMAP, .sec = 1, .serial = 2, .pid = 3, .path = "/db", .path_len = 3,
                       .fd = 5, .offset = OFFSET_UNKNOWN, .bytes = -1, .flags = 2, .prot = -1 };
        Action r = { .op = ACTION_RENAME, .sec = 1, .serial = 2, .pid = 3, .path = "/a", .path_len = 2,
                     .new_path = "/b", .new_path_len = 2, .fd = -1, .flags = -1, .exchange = true };
        Action u = { .op = ACTION_UNLINK, .sec = 1, .serial = 2, .pid = 3, .path = "/a", .path_len = 2,
                     .fd = -1, .flags = -1 };
        Action t = { .op = ACTION_TRUNCATE, .sec = 1, .serial = 2, .pid = 3, .path = "/a", .path_len = 2,
                     .fd = -1, .flags = -1, .size = 0 };
        Action ft = { .op = ACTION_TRUNCATE, .sec = 1, .serial = 2, .pid = 3, .path = "/a", .path_len = 2,
                      .fd = 7, .flags = -1, .size = OFFSET_UNKNOWN };
        Action e = { .op = ACTION_EXEC, .sec = 1, .serial = 2, .pid = 3, .path = "/usr/bin/gunzip",
                     .path_len = 15, .exe = "/usr/bin/dash", .exe_len = 13, .fd = -1, .flags = -1 };
        char *s;

        s = encode(&c);
        assert_string_equal(s, "{\"op\":\"write\",\"time\":\"1.000\",\"serial\":2,\"pid\":3,\"node\":\"alpha\","
                               "\"path\":\"/o\",\"fd\":4,\"offset\":null,\"bytes\":10,\"via\":\"copy_file_range\"}");
        free(s);
        s = encode(&m);
        assert_string_equal(s, "{\"op\":\"mmap\",\"time\":\"1.000\",\"serial\":2,\"pid\":3,\"path\":\"/db\","
                               "\"fd\":5,\"offset\":null,\"bytes\":8192,\"prot\":3,\"flags\":1}");
        free(s);
        s = encode(&m32);
        assert_string_equal(s, "{\"op\":\"mmap\",\"time\":\"1.000\",\"serial\":2,\"pid\":3,\"path\":\"/db\","
                               "\"fd\":5,\"offset\":null,\"bytes\":null,\"flags\":2}");
        free(s);
        s = encode(&r);
        assert_string_equal(s, "{\"op\":\"rename\",\"time\":\"1.000\",\"serial\":2,\"pid\":3,\"path\":\"/a\","
                               "\"new_path\":\"/b\",\"exchange\":true}");
        free(s);
        s = encode(&u);
        assert_string_equal(s, "{\"op\":\"unlink\",\"time\":\"1.000\",\"serial\":2,\"pid\":3,\"path\":\"/a\"}");
        free(s);
        s = encode(&t);
        assert_string_equal(s, "{\"op\":\"truncate\",\"time\":\"1.000\",\"serial\":2,\"pid\":3,\"path\":\"/a\","
                               "\"size\":0}");
        free(s);
        s = encode(&ft);
        assert_string_equal(s, "{\"op\":\"truncate\",\"time\":\"1.000\",\"serial\":2,\"pid\":3,\"path\":\"/a\","
                               "\"fd\":7,\"size\":null}");
        free(s);
        s = encode(&e);
        assert_string_equal(s, "{\"op\":\"exec\",\"time\":\"1.000\",\"serial\":2,\"pid\":3,"
                               "\"path\":\"/usr/bin/gunzip\",\"exe\":\"/usr/bin/dash\"}");
        free(s);
}

static void test_strings(void **state) {
        CharBuffer b = {};

        /* valid UTF-8 kept, control bytes escaped, invalid bytes as \udcXX */
        assert_int_equal(json_append_string(&b, "\xc3\xa9\n\x01\xff\xc3", 6), 0);
        assert_int_equal(char_buffer_reserve(&b, 1), 0);
        b.data[b.len] = 0;
        assert_string_equal(b.data, "\"\xc3\xa9\\u000a\\u0001\\udcff\\udcc3\"");
        b.len = 0;
        /* overlong encodings and surrogates are not valid UTF-8 */
        assert_int_equal(json_append_string(&b, "\xc0\xaf\xed\xa0\x80", 5), 0);
        b.data[b.len] = 0;
        assert_string_equal(b.data, "\"\\udcc0\\udcaf\\udced\\udca0\\udc80\"");
        char_buffer_done(&b);
}

/* The escaping, byte by byte, as json_append_string() did before it copied
 * plain runs in one piece: the oracle for the fast path. */
static size_t escape_slow(const unsigned char *s, size_t n, char *out) {
        static const char hex[] = "0123456789abcdef";
        size_t o = 0;

        out[o++] = '"';
        for (size_t i = 0; i < n; i++) {
                unsigned char c = s[i];
                if (c >= 0x20 && c < 0x7f + 1 && c != '"' && c != '\\')
                        out[o++] = (char) c;
                else if (c == '"' || c == '\\') {
                        out[o++] = '\\';
                        out[o++] = (char) c;
                } else if (c < 0x20) {
                        memcpy(out + o, "\\u00", 4);
                        o += 4;
                        out[o++] = hex[c >> 4];
                        out[o++] = hex[c & 15];
                } else {
                        /* only lone bytes >= 0x80 in this test: never valid UTF-8 */
                        memcpy(out + o, "\\udc", 4);
                        o += 4;
                        out[o++] = hex[c >> 4];
                        out[o++] = hex[c & 15];
                }
        }
        out[o++] = '"';
        return o;
}

static void test_strings_runs(void **state) {
        /* Each special byte at every position of strings up to 40 bytes long,
         * so that it falls in and across the 8-byte words of the fast path. */
        static const unsigned char special[] = { '"', '\\', 0x00, 0x01, '\n', 0x1f, 0x7f, 0x80, 0xff, 0x20, 0x7e };
        CharBuffer b = {};
        unsigned char in[40];
        char want[40 * 6 + 2];

        for (size_t n = 1; n <= sizeof(in); n++)
                for (size_t at = 0; at < n; at++)
                        for (size_t k = 0; k < sizeof(special); k++) {
                                size_t w;
                                for (size_t i = 0; i < n; i++)
                                        in[i] = (unsigned char) ('a' + i % 26);
                                in[at] = special[k];
                                if (at + 3 < n)
                                        in[at + 3] = special[(k + 1) % sizeof(special)];
                                w = escape_slow(in, n, want);
                                b.len = 0;
                                assert_int_equal(json_append_string(&b, (const char *) in, n), 0);
                                assert_int_equal(b.len, w);
                                assert_memory_equal(b.data, want, w);
                        }
        char_buffer_done(&b);
}

static void test_pseudonymised(void **state) {
        static const uint8_t key[32] = { 9 };
        Pseudonymizer *p;
        CharBuffer b = {};
        Action a = { .op = ACTION_OPEN, .sec = 1, .serial = 1, .pid = 1, .path = "/home/alice/x",
                     .path_len = 13, .fd = 3, .flags = 0, .offset = OFFSET_UNKNOWN };

        assert_int_equal(pseudonymizer_new(key, &p), 0);
        assert_int_equal(action_json_append(&b, &a, p), 0);
        assert_int_equal(char_buffer_reserve(&b, 1), 0);
        b.data[b.len] = 0;
        assert_null(strstr(b.data, "alice"));
        assert_null(strstr(b.data, "home"));
        assert_non_null(strstr(b.data, "\"fd\":3,\"flags\":0}"));
        char_buffer_done(&b);
        pseudonymizer_free(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_read),
                cmocka_unit_test(test_new_ops),
                cmocka_unit_test(test_unknowns),
                cmocka_unit_test(test_dup_fork_gap),
                cmocka_unit_test(test_strings),
                cmocka_unit_test(test_strings_runs),
                cmocka_unit_test(test_pseudonymised),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
