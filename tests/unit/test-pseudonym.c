/* SPDX-License-Identifier: GPL-2.0-or-later */
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

#include "core/pseudonym.h"

static const uint8_t key1[32] = { 1, 2, 3 };
static const uint8_t key2[32] = { 3, 2, 1 };

static char *pseudo(Pseudonymizer *p, const char *path) {
        size_t n;
        const char *s = pseudonymizer_path(p, path, strlen(path), &n);
        assert_non_null(s);
        assert_int_equal(strlen(s), n);
        return strdup(s);
}

static void test_structure(void **state) {
        Pseudonymizer *p;
        char *a, *b, *c, *d;

        assert_int_equal(pseudonymizer_new(key1, &p), 0);
        a = pseudo(p, "/home/alice/secret plan.txt");
        /* three components, '/' kept, fixed-size tokens */
        assert_int_equal(strlen(a), 3 * (1 + PSEUDONYM_TOKEN_LEN));
        assert_int_equal(a[0], '/');
        assert_int_equal(a[1 + PSEUDONYM_TOKEN_LEN], '/');
        assert_int_equal(a[2 * (1 + PSEUDONYM_TOKEN_LEN)], '/');
        assert_null(strstr(a, "home"));
        assert_null(strstr(a, "alice"));
        assert_null(strstr(a, "secret"));

        /* the same component gives the same token wherever it stands */
        b = pseudo(p, "/home/bob");
        assert_memory_equal(a, b, 1 + PSEUDONYM_TOKEN_LEN);
        assert_memory_not_equal(a + 1 + PSEUDONYM_TOKEN_LEN, b + 1 + PSEUDONYM_TOKEN_LEN, PSEUDONYM_TOKEN_LEN);

        /* cached and uncached answers agree */
        c = pseudo(p, "/home/alice/secret plan.txt");
        assert_string_equal(a, c);
        d = pseudo(p, "/");
        assert_string_equal(d, "/");
        free(a); free(b); free(c); free(d);
        pseudonymizer_free(p);
}

static void test_keys(void **state) {
        Pseudonymizer *p1, *p1b, *p2;
        char *a, *b, *c;

        assert_int_equal(pseudonymizer_new(key1, &p1), 0);
        assert_int_equal(pseudonymizer_new(key1, &p1b), 0);
        assert_int_equal(pseudonymizer_new(key2, &p2), 0);
        a = pseudo(p1, "/etc/passwd");
        b = pseudo(p1b, "/etc/passwd");
        c = pseudo(p2, "/etc/passwd");
        assert_string_equal(a, b);
        assert_string_not_equal(a, c);
        free(a); free(b); free(c);
        pseudonymizer_free(p1);
        pseudonymizer_free(p1b);
        pseudonymizer_free(p2);
}

static void test_many_paths(void **state) {
        /* more paths than cache slots: answers must stay stable */
        Pseudonymizer *p;
        char path[64], *first;

        assert_int_equal(pseudonymizer_new(key1, &p), 0);
        first = pseudo(p, "/data/0");
        for (int i = 0; i < 20000; i++) {
                snprintf(path, sizeof(path), "/data/%d", i);
                free(pseudo(p, path));
        }
        char *again = pseudo(p, "/data/0");
        assert_string_equal(first, again);
        free(first);
        free(again);
        pseudonymizer_free(p);
}

/* Known answers, computed independently of libsodium from README.md's
 * definition (Python 3's hashlib; the key is the bytes 0..31):
 *
 *   import base64, hashlib
 *   key = bytes(range(32))
 *   def token(name):
 *       h = hashlib.blake2b(name, digest_size=16, key=key).digest()[:12]
 *       return base64.urlsafe_b64encode(h).decode().rstrip("=")
 *   "/" + "/".join(token(c) for c in path.split(b"/")[1:])
 */
static void test_known_answer(void **state) {
        static const struct {
                const char *path, *expected;
        } vectors[] = {
                { "/etc/passwd", "/k0Cgt9eFqvoaxKvA/HpVXsRKGmwIvGZQT" },
                { "/home/alice/secret plan.txt", "/hLAiumLuo-n9iPaM/xuonZGroUqcvPlnL/xjLVnXGsYS2Ejy8K" },
                { "/tmp/caf\xc3\xa9", "/8XwjGFCTu5VGD8GR/CdY2Uek8gDDE2cjx" },
                { "/tmp/\xff\xfe", "/8XwjGFCTu5VGD8GR/0Utp6bZTNaVr9ff8" },   /* not UTF-8: the bytes */
        };
        uint8_t key[PSEUDONYM_KEY_SIZE];
        char longpath[3 + 255 + 1] = "/x/";
        Pseudonymizer *p;

        for (size_t i = 0; i < sizeof(key); i++)
                key[i] = (uint8_t) i;
        assert_int_equal(pseudonymizer_new(key, &p), 0);
        for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
                char *s = pseudo(p, vectors[i].path);
                assert_string_equal(s, vectors[i].expected);
                free(s);
        }
        /* A name of NAME_MAX bytes. */
        memset(longpath + 3, 'n', 255);
        longpath[sizeof(longpath) - 1] = 0;
        char *s = pseudo(p, longpath);
        assert_string_equal(s, "/9Fuly2BIAqVauryq/bDu7mrrjsrEFQGec");
        free(s);
        pseudonymizer_free(p);
}

static void test_cache_stats(void **state) {
        /* The cache's figures (fsmond --debug): bounded by its slots, however
         * many distinct paths pass. */
        Pseudonymizer *p;
        PseudonymizerStats st;
        char path[64];

        assert_int_equal(pseudonymizer_new(key1, &p), 0);
        free(pseudo(p, "/a/b"));
        free(pseudo(p, "/a/b"));
        free(pseudo(p, "/a/b"));
        st = pseudonymizer_get_stats(p);
        assert_int_equal(st.hits, 2);
        assert_int_equal(st.misses, 1);
        assert_int_equal(st.entries, 1);
        assert_true(st.bytes > 4 && st.bytes < 128);
        for (int i = 0; i < 100000; i++) {
                snprintf(path, sizeof(path), "/distinct/%d", i);
                free(pseudo(p, path));
        }
        st = pseudonymizer_get_stats(p);
        assert_int_equal(st.misses, 100001);
        assert_true(st.entries <= st.slots);
        assert_true(st.entries > st.slots / 2);
        assert_true(st.bytes <= st.slots * (2 * 1024 + 1024));
        pseudonymizer_free(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_structure),
                cmocka_unit_test(test_keys),
                cmocka_unit_test(test_many_paths),
                cmocka_unit_test(test_known_answer),
                cmocka_unit_test(test_cache_stats),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
