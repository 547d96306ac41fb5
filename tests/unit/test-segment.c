/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The segment format and its reader: round trips, every truncation and every
 * single-bit flip of a segment detected, strict record checks, and the
 * verdicts on the seed corpus (good-* valid, bad-* damaged; written by
 * fuzz/make-segment-corpus.py, an independent implementation in Python).
 * Usage: test-segment [CORPUS_DIR] */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "shared/macro.h"
#include "store/segment.h"

static const char *corpus_dir = NULL;

typedef struct Buf {
        char *data;
        size_t len;
} Buf;

static void buf_add(Buf *b, const char *s, size_t n) {
        b->data = realloc(b->data, b->len + n + 1);
        assert_non_null(b->data);
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = 0;
}

/* A segment built with the writer-side helpers, n records from first. */
static Buf make_segment(unsigned n, uint64_t first, bool with_footer) {
        SegmentHeader h = { .seq = 3, .first_serial = first, .created = 1700000000 };
        crypto_generichash_state st;
        Buf b = {};
        char line[SEGMENT_META_LINE_MAX];
        int k;

        strcpy(h.host, "0123456789abcdef0123456789abcdef");
        strcpy(h.key_epoch, "0011223344556677");
        strcpy(h.version, "0.1.0");
        memset(h.prev_hash, 0xab, sizeof(h.prev_hash));
        k = segment_header_format(&h, line, sizeof(line));
        assert_true(k > 0);
        buf_add(&b, line, (size_t) k);
        for (unsigned i = 0; i < n; i++) {
                k = snprintf(line, sizeof(line),
                             "{\"op\":\"write\",\"time\":\"1700000000.%03u\",\"serial\":%llu,\"pid\":7,"
                             "\"path\":\"/tok%u/x\",\"fd\":4,\"offset\":%u,\"bytes\":%u}\n",
                             i % 1000, (unsigned long long) (first + i), i, i * 10, i + 1);
                assert_int_equal(segment_record_check(line, (size_t) k - 1, NULL), 0);
                buf_add(&b, line, (size_t) k);
        }
        if (with_footer) {
                SegmentFooter f = { .seq = 3, .records = n, .last_serial = n > 0 ? first + n - 1 : first };

                assert_int_equal(crypto_generichash_init(&st, NULL, 0, SEGMENT_HASH_SIZE), 0);
                crypto_generichash_update(&st, (const uint8_t *) b.data, b.len);
                crypto_generichash_final(&st, f.hash, sizeof(f.hash));
                k = segment_footer_format(&f, line, sizeof(line));
                assert_true(k > 0);
                buf_add(&b, line, (size_t) k);
        }
        return b;
}

static int count_cb(const char *line, size_t len, uint64_t serial, void *userdata) {
        uint64_t *expect = userdata;

        assert_int_equal(serial, *expect);
        assert_int_equal(segment_record_check(line, len, NULL), 0);
        (*expect)++;
        return 0;
}

static void test_round_trip(void **state) {
        Buf b = make_segment(50, 1000, true);
        SegmentInfo info;
        uint64_t next = 1000;

        assert_int_equal(segment_read_buffer(b.data, b.len, 0, count_cb, &next, &info), 0);
        assert_int_equal(next, 1050);
        assert_true(info.has_header);
        assert_true(info.has_footer);
        assert_false(info.compressed);
        assert_int_equal(info.records, 50);
        assert_int_equal(info.first_serial, 1000);
        assert_int_equal(info.last_serial, 1049);
        assert_int_equal(info.header.seq, 3);
        assert_string_equal(info.header.host, "0123456789abcdef0123456789abcdef");
        assert_memory_equal(info.hash, info.footer.hash, SEGMENT_HASH_SIZE);
        assert_int_equal(info.valid_bytes, (size_t) (strstr(b.data, "{\"fsmon\":\"end\"") - b.data));
        free(b.data);
}

static void test_compressed(void **state) {
        Buf b = make_segment(2000, 1, true);
        int in = memfd_create("in", MFD_CLOEXEC), out = memfd_create("out", MFD_CLOEXEC);
        SegmentInfo info;
        struct stat st;
        uint64_t next = 1;

        assert_true(in >= 0 && out >= 0);
        assert_int_equal(write(in, b.data, b.len), (ssize_t) b.len);
        assert_int_equal(lseek(in, 0, SEEK_SET), 0);
        assert_int_equal(segment_compress_fd(in, out, 3, 0, 0), 0);
        assert_int_equal(fstat(out, &st), 0);
        /* JSON Lines of this kind compress well. */
        assert_true((size_t) st.st_size * 5 < b.len);
        assert_int_equal(lseek(out, 0, SEEK_SET), 0);
        assert_int_equal(segment_read_fd(out, 0, count_cb, &next, &info), 0);
        assert_true(info.compressed);
        assert_int_equal(info.records, 2000);
        assert_int_equal(next, 2001);
        close(in);
        close(out);
        free(b.data);
}

/* Every proper prefix of a closed segment is damage; as an unfinished
 * segment, every prefix keeps exactly the complete records it holds. */
static int memfd_with(const void *data, size_t len) {
        int fd = memfd_create("seg", MFD_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t) len);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

/* The cheap listing read agrees with the full read, plain and in fsmon's
 * three-frame zstd layout, and refuses what it cannot vouch for. */
static void test_meta(void **state) {
        Buf b = make_segment(300, 40, true);
        size_t header_bytes = (size_t) (strchr(b.data, '\n') - b.data) + 1;
        size_t footer_offset = (size_t) (strstr(b.data, "{\"fsmon\":\"end\"") - b.data);
        SegmentInfo full, meta;
        int in = memfd_with(b.data, b.len), out;

        assert_int_equal(segment_read_fd(in, 0, NULL, NULL, &full), 0);
        assert_int_equal(segment_read_meta_fd(in, &meta), 0);
        assert_false(meta.compressed);
        assert_int_equal(meta.records, 300);
        assert_int_equal(meta.first_serial, 40);
        assert_int_equal(meta.last_serial, 339);
        assert_int_equal(meta.header_bytes, header_bytes);
        assert_memory_equal(meta.hash, full.hash, SEGMENT_HASH_SIZE);

        out = memfd_create("z", MFD_CLOEXEC);
        assert_int_equal(lseek(in, 0, SEEK_SET), 0);
        assert_int_equal(segment_compress_fd(in, out, 1, header_bytes, footer_offset), 0);
        assert_int_equal(segment_read_meta_fd(out, &meta), 0);
        assert_true(meta.compressed);
        assert_int_equal(meta.records, 300);
        assert_memory_equal(meta.hash, full.hash, SEGMENT_HASH_SIZE);
        assert_int_equal(lseek(out, 0, SEEK_SET), 0);
        assert_int_equal(segment_read_fd(out, 0, NULL, NULL, &full), 0);
        close(out);

        /* one frame: valid, but not readable cheaply */
        out = memfd_create("z1", MFD_CLOEXEC);
        assert_int_equal(lseek(in, 0, SEEK_SET), 0);
        assert_int_equal(segment_compress_fd(in, out, 1, 0, 0), 0);
        assert_int_equal(segment_read_meta_fd(out, &meta), -EBADMSG);
        close(out);
        close(in);

        /* truncated: no footer */
        in = memfd_with(b.data, b.len - 1);
        assert_int_equal(segment_read_meta_fd(in, &meta), -EBADMSG);
        close(in);
        in = memfd_with(b.data, footer_offset);
        assert_int_equal(segment_read_meta_fd(in, &meta), -EBADMSG);
        close(in);
        free(b.data);
}

static void test_truncations(void **state) {
        Buf b = make_segment(20, 500, true);
        const char *footer = strstr(b.data, "{\"fsmon\":\"end\"");
        size_t header_len = (size_t) (strchr(b.data, '\n') - b.data) + 1;

        for (size_t n = 0; n < b.len; n++) {
                SegmentInfo info;
                uint64_t complete = 0;
                int r;

                r = segment_read_buffer(b.data, n, 0, NULL, NULL, &info);
                assert_int_equal(r, -EBADMSG);
                assert_true(info.error[0] != 0);

                r = segment_read_buffer(b.data, n, SEGMENT_READ_OPEN, NULL, NULL, &info);
                if (n < header_len) {
                        assert_int_equal(r, -EBADMSG);
                        continue;
                }
                assert_int_equal(r, 0);
                for (size_t i = header_len; i < MIN(n, (size_t) (footer - b.data)); i++)
                        if (b.data[i] == '\n')
                                complete++;
                assert_int_equal(info.records, complete);
                assert_true(info.valid_bytes <= n);
                /* A partial last line is one torn record. */
                if (n > header_len && n < (size_t) (footer - b.data) && b.data[n - 1] != '\n')
                        assert_int_equal(info.torn_records, 1);
                else if (n <= (size_t) (footer - b.data))
                        assert_int_equal(info.torn_records, 0);
        }
        free(b.data);
}

static void test_bit_flips(void **state) {
        Buf b = make_segment(6, 77, true);

        SegmentInfo info;

        for (size_t i = 0; i < b.len; i++)
                for (unsigned bit = 0; bit < 8; bit++) {

                        b.data[i] ^= (char) (1u << bit);
                        assert_int_equal(segment_read_buffer(b.data, b.len, 0, NULL, NULL, &info), -EBADMSG);
                        assert_int_equal(segment_read_buffer(b.data, b.len, SEGMENT_READ_HASH_ONLY, NULL, NULL, &info),
                                         -EBADMSG);
                        b.data[i] ^= (char) (1u << bit);
                }
        assert_int_equal(segment_read_buffer(b.data, b.len, 0, NULL, NULL, NULL), 0);
        assert_int_equal(segment_read_buffer(b.data, b.len, SEGMENT_READ_HASH_ONLY, NULL, NULL, &info), 0);
        assert_int_equal(info.records, 6);
        assert_int_equal(info.last_serial, 82);
        free(b.data);
}

static void test_open_segment_damage(void **state) {
        Buf b = make_segment(10, 1, false);
        SegmentInfo info;
        size_t good = b.len;

        buf_add(&b, "{\"op\":\"read\",\"serial\":11}\n", 26);
        buf_add(&b, "\0\0\0\0\0\0\n", 7);
        buf_add(&b, "{\"op\":\"read\",\"serial\":12}\n", 26);
        buf_add(&b, "{\"op\":\"re", 9);
        assert_int_equal(segment_read_buffer(b.data, b.len, SEGMENT_READ_OPEN, NULL, NULL, &info), 0);
        assert_int_equal(info.records, 11);
        assert_int_equal(info.valid_bytes, good + 26);
        /* the zeros line, the record after it, the partial line */
        assert_int_equal(info.torn_records, 3);
        assert_int_equal(segment_read_buffer(b.data, b.len, 0, NULL, NULL, &info), -EBADMSG);
        free(b.data);
}

static void test_record_check(void **state) {
        static const struct {
                const char *line;
                int ret;
                uint64_t serial;
        } cases[] = {
                { "{\"op\":\"read\",\"serial\":5}", 0, 5 },
                { " { \"serial\" : 0 , \"op\" : \"x\" } ", 0, 0 },
                { "{\"op\":\"read\",\"serial\":18446744073709551615}", 0, UINT64_MAX },
                { "{\"op\":\"r\\u00e9\",\"serial\":1,\"a\":[{},[],\"\",-1.5e-3,true,false,null]}", 0, 1 },
                { "{\"op\":\"read\",\"serial\":18446744073709551616}", -EBADMSG, 0 },
                { "{\"op\":\"read\",\"serial\":-1}", -EBADMSG, 0 },
                { "{\"op\":\"read\",\"serial\":01}", -EBADMSG, 0 },
                { "{\"op\":\"read\",\"serial\":1.0}", -EBADMSG, 0 },
                { "{\"op\":\"read\",\"serial\":\"1\"}", -EBADMSG, 0 },
                { "{\"op\":\"read\"}", -EBADMSG, 0 },
                { "{\"serial\":1}", -EBADMSG, 0 },
                { "{\"op\":\"\",\"serial\":1}", -EBADMSG, 0 },
                { "{\"op\":5,\"serial\":1}", -EBADMSG, 0 },
                { "{\"op\":\"read\",\"serial\":1,\"op\":\"write\"}", -EBADMSG, 0 },
                { "{\"o\\u0070\":\"read\",\"serial\":1}", -EBADMSG, 0 },
                { "{\"op\":\"read\",\"serial\":1,\"fsmon\":\"end\"}", -EBADMSG, 0 },
                { "{\"op\":\"read\",\"serial\":1", -EBADMSG, 0 },
                { "{\"op\":\"read\",\"serial\":1}}", -EBADMSG, 0 },
                { "{\"op\":\"read\",\"serial\":1,}", -EBADMSG, 0 },
                { "{\"op\":\"read\",\"serial\":1,\"x\":01}", -EBADMSG, 0 },
                { "{\"op\":\"read\",\"serial\":1,\"x\":\"\\x\"}", -EBADMSG, 0 },
                { "{\"op\":\"read\",\"serial\":1,\"x\":\"\\u12\"}", -EBADMSG, 0 },
                { "{\"op\":\"read\",\"serial\":1,\"x\":tru}", -EBADMSG, 0 },
                { "{\"op\":\"read\",\"serial\":1,\"x\":\"\xc3\"}", -EBADMSG, 0 },
                { "{\"op\":\"read\",\"serial\":1,\"x\":\"\xed\xa0\x80\"}", -EBADMSG, 0 },   /* surrogate */
                { "{\"op\":\"read\",\"serial\":1,\"x\":\"\xc0\xaf\"}", -EBADMSG, 0 },       /* overlong */
                { "{\"op\":\"read\",\"serial\":1,\"x\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"}", 0, 1 },
                { "[1]", -EBADMSG, 0 },
                { "", -EBADMSG, 0 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint64_t serial = 12345;
                int r = segment_record_check(cases[i].line, strlen(cases[i].line), &serial);

                if (r != cases[i].ret)
                        fail_msg("case %zu (%s): got %d", i, cases[i].line, r);
                if (r == 0)
                        assert_int_equal(serial, cases[i].serial);
        }

        /* nesting */
        {
                char deep[200];
                int n;

                n = snprintf(deep, sizeof(deep), "{\"op\":\"a\",\"serial\":1,\"x\":%.*s%.*s}",
                             31, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
                             31, "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
                assert_int_equal(segment_record_check(deep, (size_t) n, NULL), 0);
                n = snprintf(deep, sizeof(deep), "{\"op\":\"a\",\"serial\":1,\"x\":%.*s%.*s}",
                             32, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
                             32, "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
                assert_int_equal(segment_record_check(deep, (size_t) n, NULL), -EBADMSG);
        }
        /* embedded newline or NUL */
        assert_int_equal(segment_record_check("{\"op\":\"a\",\"serial\":1}\n", 22, NULL), -EBADMSG);
        assert_int_equal(segment_record_check("{\"op\":\"a\",\"serial\":1}\0", 22, NULL), -EBADMSG);
}

static void test_long_line(void **state) {
        Buf b = make_segment(1, 1, false);
        size_t n = SEGMENT_LINE_MAX + 10;
        char *big = malloc(n);
        SegmentInfo info;

        assert_non_null(big);
        memset(big, 'a', n);
        buf_add(&b, big, n);
        buf_add(&b, "\n", 1);
        assert_int_equal(segment_read_buffer(b.data, b.len, 0, NULL, NULL, &info), -EBADMSG);
        assert_non_null(strstr(info.error, "longer"));
        assert_int_equal(segment_read_buffer(b.data, b.len, SEGMENT_READ_OPEN, NULL, NULL, &info), 0);
        assert_int_equal(info.records, 1);
        assert_int_equal(info.torn_records, 1);
        free(big);
        free(b.data);
}

static void test_format_refuses_bad_header(void **state) {
        SegmentHeader h = { .seq = 1 };
        char line[SEGMENT_META_LINE_MAX];

        strcpy(h.key_epoch, "0011223344556677");
        strcpy(h.version, "0.1.0");
        strcpy(h.host, "../x");
        assert_int_equal(segment_header_format(&h, line, sizeof(line)), -EINVAL);
        strcpy(h.host, "a b");
        assert_int_equal(segment_header_format(&h, line, sizeof(line)), -EINVAL);
        strcpy(h.host, "my-host.example");
        assert_true(segment_header_format(&h, line, sizeof(line)) > 0);
        strcpy(h.key_epoch, "001122334455667");
        assert_int_equal(segment_header_format(&h, line, sizeof(line)), -EINVAL);
}

static void test_corpus(void **state) {
        unsigned good = 0, bad = 0;
        struct dirent *de;
        DIR *d;

        if (!corpus_dir)
                skip();
        d = opendir(corpus_dir);
        assert_non_null(d);
        while ((de = readdir(d))) {
                char path[4096];
                SegmentInfo info;
                int fd, r;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s", corpus_dir, de->d_name);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                assert_true(fd >= 0);
                r = segment_read_fd(fd, 0, NULL, NULL, &info);
                close(fd);
                if (strncmp(de->d_name, "good-", 5) == 0) {
                        if (r != 0)
                                fail_msg("%s: expected valid, got %d (%s)", de->d_name, r, info.error);
                        good++;
                } else if (strncmp(de->d_name, "bad-", 4) == 0) {
                        if (r != -EBADMSG)
                                fail_msg("%s: expected damage, got %d", de->d_name, r);
                        assert_true(info.error[0] != 0);
                        bad++;
                }
        }
        closedir(d);
        assert_true(good >= 5);
        assert_true(bad >= 20);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_compressed),
                cmocka_unit_test(test_meta),
                cmocka_unit_test(test_truncations),
                cmocka_unit_test(test_bit_flips),
                cmocka_unit_test(test_open_segment_damage),
                cmocka_unit_test(test_record_check),
                cmocka_unit_test(test_long_line),
                cmocka_unit_test(test_format_refuses_bad_header),
                cmocka_unit_test(test_corpus),
        };

        if (argc > 1)
                corpus_dir = argv[1];
        return cmocka_run_group_tests(tests, NULL, NULL);
}
