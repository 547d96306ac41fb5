/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pseudonym key file and the file helpers under it: atomic creation,
 * 0600, reloading gives the same key, the epoch id, and refusal of symlinks,
 * loose permissions, wrong sizes, other file types and unsafe directories. */
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

#include "shared/fileio.h"
#include "store/key.h"

static int setup_dir(void **state) {
        char *d = strdup("/tmp/fsmon-test-key.XXXXXX");

        assert_non_null(mkdtemp(d));
        *state = d;
        return 0;
}

static int teardown_dir(void **state) {
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *) *state);
        assert_int_equal(system(cmd), 0);
        free(*state);
        return 0;
}

static int open_dir(const char *path) {
        int fd = -1;

        assert_int_equal(fileio_open_dir_at(AT_FDCWD, path, 0, &fd), 0);
        return fd;
}

static void test_create_and_load(void **state) {
        int dfd = open_dir(*state);
        uint8_t *k1 = NULL, *k2 = NULL, *k3 = NULL;
        char e1[KEY_EPOCH_STRING_MAX], e2[KEY_EPOCH_STRING_MAX], hex[65];
        struct stat st;

        assert_int_equal(key_load_or_create(dfd, &k1), 1);
        assert_int_equal(fstatat(dfd, KEY_FILE_NAME, &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_size, KEY_SIZE);
        assert_int_equal(st.st_uid, geteuid());

        assert_int_equal(key_load_or_create(dfd, &k2), 0);
        assert_memory_equal(k1, k2, KEY_SIZE);
        assert_int_equal(key_epoch(k1, e1), 0);
        assert_int_equal(key_epoch(k2, e2), 0);
        assert_string_equal(e1, e2);
        assert_int_equal(strlen(e1), 16);
        assert_int_equal(strspn(e1, "0123456789abcdef"), 16);
        /* The epoch is not a piece of the key. */
        for (unsigned i = 0; i < KEY_SIZE; i++)
                snprintf(hex + 2 * i, 3, "%02x", k1[i]);
        assert_null(strstr(hex, e1));

        /* Another key, another epoch. */
        assert_int_equal(unlinkat(dfd, KEY_FILE_NAME, 0), 0);
        assert_int_equal(key_load_or_create(dfd, &k3), 1);
        assert_memory_not_equal(k1, k3, KEY_SIZE);
        assert_int_equal(key_epoch(k3, e2), 0);
        assert_string_not_equal(e1, e2);

        /* No temporary files left behind. */
        assert_int_equal(faccessat(dfd, ".", F_OK, 0), 0);
        key_free(k1);
        key_free(k2);
        key_free(k3);
        key_free(NULL);
        close(dfd);
}

static void write_file(int dfd, const char *name, size_t size, mode_t mode) {
        uint8_t data[64] = { 1, 2, 3 };
        int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t) size);
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static void test_refusals(void **state) {
        int dfd = open_dir(*state);
        uint8_t *k = NULL;
        struct stat st;

        /* A symlink planted as the key: refused, the target untouched. */
        write_file(dfd, "target", 5, 0600);
        assert_int_equal(symlinkat("target", dfd, KEY_FILE_NAME), 0);
        assert_int_equal(key_load_or_create(dfd, &k), -ELOOP);
        assert_int_equal(fstatat(dfd, "target", &st, 0), 0);
        assert_int_equal(st.st_size, 5);
        assert_null(k);
        /* ... also a dangling one: never created through. */
        assert_int_equal(unlinkat(dfd, KEY_FILE_NAME, 0), 0);
        assert_int_equal(symlinkat("absent", dfd, KEY_FILE_NAME), 0);
        assert_int_equal(key_load_or_create(dfd, &k), -ELOOP);
        assert_int_equal(faccessat(dfd, "absent", F_OK, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(unlinkat(dfd, KEY_FILE_NAME, 0), 0);

        write_file(dfd, KEY_FILE_NAME, KEY_SIZE, 0644);
        assert_int_equal(key_load_or_create(dfd, &k), -EACCES);
        assert_non_null(strstr(key_strerror(-EACCES), "0600"));
        write_file(dfd, KEY_FILE_NAME, KEY_SIZE, 0640);
        assert_int_equal(key_load_or_create(dfd, &k), -EACCES);
        write_file(dfd, KEY_FILE_NAME, KEY_SIZE - 1, 0600);
        assert_int_equal(key_load_or_create(dfd, &k), -EBADMSG);
        write_file(dfd, KEY_FILE_NAME, KEY_SIZE + 1, 0600);
        assert_int_equal(key_load_or_create(dfd, &k), -EBADMSG);
        write_file(dfd, KEY_FILE_NAME, 0, 0600);
        assert_int_equal(key_load_or_create(dfd, &k), -EBADMSG);
        assert_int_equal(unlinkat(dfd, KEY_FILE_NAME, 0), 0);

        assert_int_equal(mkdirat(dfd, KEY_FILE_NAME, 0700), 0);
        assert_int_equal(key_load_or_create(dfd, &k), -EINVAL);
        assert_int_equal(unlinkat(dfd, KEY_FILE_NAME, AT_REMOVEDIR), 0);

        if (geteuid() == 0) {
                write_file(dfd, KEY_FILE_NAME, KEY_SIZE, 0600);
                assert_int_equal(fchownat(dfd, KEY_FILE_NAME, 65534, 65534, 0), 0);
                assert_int_equal(key_load_or_create(dfd, &k), -EPERM);
                assert_int_equal(unlinkat(dfd, KEY_FILE_NAME, 0), 0);
        }
        assert_null(k);
        close(dfd);
}

static void test_unsafe_dirs(void **state) {
        char path[512];
        int fd = -1;

        snprintf(path, sizeof(path), "%s/open", (char *) *state);
        assert_int_equal(mkdir(path, 0700), 0);
        assert_int_equal(chmod(path, 0770), 0);
        assert_int_equal(fileio_open_dir_at(AT_FDCWD, path, 0, &fd), -EPERM);
        assert_int_equal(chmod(path, 0757), 0);
        assert_int_equal(fileio_open_dir_at(AT_FDCWD, path, 0, &fd), -EPERM);
        assert_int_equal(chmod(path, 0755), 0);
        assert_int_equal(fileio_open_dir_at(AT_FDCWD, path, 0, &fd), 0);
        close(fd);

        /* A symlink to a directory is not the directory. */
        snprintf(path, sizeof(path), "%s/link", (char *) *state);
        assert_int_equal(symlink("open", path), 0);
        assert_int_equal(fileio_open_dir_at(AT_FDCWD, path, 0700, &fd), -ELOOP);
}

static void test_atomic_write(void **state) {
        int dfd = open_dir(*state);
        char *text = NULL;
        size_t len;
        struct stat st;

        assert_int_equal(fileio_write_atomic_at(dfd, "f", "one", 3, 0640, 0), 0);
        assert_int_equal(fileio_write_atomic_at(dfd, "f", "two!", 4, 0600, 0), 0);
        assert_int_equal(fileio_write_atomic_at(dfd, "f", "three", 5, 0600, FILEIO_NOREPLACE), -EEXIST);
        assert_int_equal(fileio_read_small_at(dfd, "f", 100, &text, &len), 0);
        assert_int_equal(len, 4);
        assert_string_equal(text, "two!");
        free(text);
        assert_int_equal(fstatat(dfd, "f", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(fileio_read_small_at(dfd, "f", 3, &text, &len), -EFBIG);

        /* Replacing a planted symlink replaces the link, not its target. */
        write_file(dfd, "victim", 5, 0600);
        assert_int_equal(symlinkat("victim", dfd, "g"), 0);
        assert_int_equal(fileio_write_atomic_at(dfd, "g", "new", 3, 0600, 0), 0);
        assert_int_equal(fstatat(dfd, "victim", &st, 0), 0);
        assert_int_equal(st.st_size, 5);
        assert_int_equal(fstatat(dfd, "g", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(fileio_read_small_at(dfd, "victim", 100, &text, &len), 0);
        free(text);
        assert_int_equal(symlinkat("victim", dfd, "h"), 0);
        assert_int_equal(fileio_read_small_at(dfd, "h", 100, &text, &len), -ELOOP);

        /* Leftover temporary files are removed. */
        write_file(dfd, FILEIO_TMP_PREFIX "f.1234", 3, 0600);
        assert_int_equal(fileio_remove_tmp_files_at(dfd), 0);
        assert_int_equal(faccessat(dfd, FILEIO_TMP_PREFIX "f.1234", F_OK, AT_SYMLINK_NOFOLLOW), -1);
        close(dfd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_create_and_load, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_refusals, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_unsafe_dirs, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_atomic_write, setup_dir, teardown_dir),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
