/* SPDX-License-Identifier: GPL-2.0-or-later */
/* shared/fileio: the read and write loops (short reads from a pipe, offsets
 * that leave the file position alone), atomic replacement through a directory
 * descriptor, and the refusals that keep root from writing through a planted
 * link or into a directory others may change. */
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
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "test-dir.h"

#include "shared/fileio.h"
#include "shared/macro.h"


/* A writer that hands over its data in three pieces: read() returns short,
 * the loop must go on until the end. */
static void test_read_full_pipe(void **state) {
        int p[2];
        char buf[32] = {};
        pid_t pid;
        int status;

        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                for (int i = 0; i < 3; i++) {
                        if (write(p[1], "abcd" + i, 1) != 1)
                                _exit(1);
                        usleep(20 * 1000);
                }
                _exit(0);
        }
        close(p[1]);
        assert_int_equal(fileio_read_full(p[0], buf, sizeof(buf)), 3);      /* short: end of file */
        assert_string_equal(buf, "abc");
        assert_int_equal(fileio_read_full(p[0], buf, sizeof(buf)), 0);
        close(p[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

        assert_int_equal(fileio_read_full(-1, buf, sizeof(buf)), -EBADF);
}

static void test_pread_pwrite(void **state) {
        Dir *d = *state;
        _cleanup_close_ int fd = openat(d->fd, "f", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        char buf[16] = {};

        assert_true(fd >= 0);
        assert_int_equal(fileio_write_full(fd, "0123456789", 10), 0);
        assert_int_equal(fileio_pwrite_full(fd, "xy", 2, 4), 0);
        /* Neither pwrite nor pread moves the position (10, after write). */
        assert_int_equal(lseek(fd, 0, SEEK_CUR), 10);
        assert_int_equal(fileio_pread_full(fd, buf, 4, 3), 4);
        assert_memory_equal(buf, "3xy6", 4);
        assert_int_equal(fileio_pread_full(fd, buf, sizeof(buf), 8), 2);     /* short: end of file */
        assert_memory_equal(buf, "89", 2);
        assert_int_equal(fileio_pread_full(fd, buf, sizeof(buf), 10), 0);
        assert_int_equal(lseek(fd, 0, SEEK_CUR), 10);
        assert_int_equal(fileio_pread_full(fd, buf, 1, UINT64_MAX), -EINVAL);
        assert_int_equal(fileio_pwrite_full(fd, buf, 1, UINT64_MAX), -EINVAL);
}

static void test_atomic_and_small(void **state) {
        Dir *d = *state;
        _cleanup_free_ char *text = NULL;
        struct stat st;
        size_t n;

        assert_int_equal(fileio_write_atomic_at(d->fd, "state", "one\n", 4, 0600, 0), 0);
        assert_int_equal(fstatat(d->fd, "state", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(fileio_check_private_file(&st), 0);
        assert_int_equal(fileio_write_atomic_at(d->fd, "state", "two!\n", 5, 0600, FILEIO_NOREPLACE), -EEXIST);
        assert_int_equal(fileio_write_atomic_at(d->fd, "state", "two!\n", 5, 0640, 0), 0);
        assert_int_equal(fstatat(d->fd, "state", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(fileio_check_private_file(&st), -EACCES);

        assert_int_equal(fileio_read_small_at(d->fd, "state", 64, &text, &n), 0);
        assert_int_equal(n, 5);
        assert_string_equal(text, "two!\n");            /* NUL-terminated */
        free(text);
        text = NULL;
        assert_int_equal(fileio_read_small_at(d->fd, "state", 4, &text, &n), -EFBIG);
        assert_null(text);
        assert_int_equal(fileio_read_small_at(d->fd, "missing", 4, &text, NULL), -ENOENT);

        /* A planted link is never read through. */
        assert_int_equal(symlinkat("state", d->fd, "link"), 0);
        assert_int_equal(fileio_read_small_at(d->fd, "link", 64, &text, NULL), -ELOOP);
        assert_int_equal(fstatat(d->fd, "link", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(fileio_check_private_file(&st), -ELOOP);
        assert_int_equal(fileio_read_small_at(d->fd, ".", 64, &text, NULL), -EINVAL);
}

static void test_open_dir(void **state) {
        Dir *d = *state;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        assert_int_equal(fileio_open_dir_at(d->fd, "spool", 0700, &fd), 0);
        assert_int_equal(fstat(fd, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0700);
        fd = safe_close(fd);
        assert_int_equal(fileio_open_dir_at(d->fd, "spool", 0700, &fd), 0);      /* exists: fine */
        fd = safe_close(fd);
        assert_int_equal(fileio_open_dir_at(d->fd, "absent", 0, &fd), -ENOENT); /* mode 0: no mkdir */

        assert_int_equal(mkdirat(d->fd, "loose", 0700), 0);
        assert_int_equal(fchmodat(d->fd, "loose", 0770, 0), 0);
        assert_int_equal(fileio_open_dir_at(d->fd, "loose", 0700, &fd), -EPERM);
        assert_int_equal(symlinkat("spool", d->fd, "spool-link"), 0);
        assert_int_equal(fileio_open_dir_at(d->fd, "spool-link", 0700, &fd), -ELOOP);
        assert_int_equal(fd, -EBADF);
}

static void test_tmp_files(void **state) {
        Dir *d = *state;
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        assert_int_equal(fileio_open_tmp_at(d->fd, "chain", 0600, &fd, &tmp), 0);
        assert_int_equal(strncmp(tmp, FILEIO_TMP_PREFIX "chain.", strlen(FILEIO_TMP_PREFIX "chain.")), 0);
        assert_int_equal(fileio_write_full(fd, "x", 1), 0);
        assert_int_equal(fileio_write_atomic_at(d->fd, "keep", "k", 1, 0600, 0), 0);

        /* What a crash before the rename leaves behind goes; the rest stays. */
        assert_int_equal(fileio_remove_tmp_files_at(d->fd), 0);
        assert_int_equal(fstatat(d->fd, tmp, &st, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(errno, ENOENT);
        assert_int_equal(fstatat(d->fd, "keep", &st, AT_SYMLINK_NOFOLLOW), 0);

        /* link_tmp_at with NOREPLACE onto an existing name fails and removes the temporary. */
        fd = safe_close(fd);
        free(tmp);
        tmp = NULL;
        assert_int_equal(fileio_open_tmp_at(d->fd, "keep", 0600, &fd, &tmp), 0);
        assert_int_equal(fileio_link_tmp_at(d->fd, fd, tmp, "keep", FILEIO_NOREPLACE), -EEXIST);
        assert_int_equal(fstatat(d->fd, tmp, &st, AT_SYMLINK_NOFOLLOW), -1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_read_full_pipe),
                cmocka_unit_test_setup_teardown(test_pread_pwrite, test_dir_setup, test_dir_teardown),
                cmocka_unit_test_setup_teardown(test_atomic_and_small, test_dir_setup, test_dir_teardown),
                cmocka_unit_test_setup_teardown(test_open_dir, test_dir_setup, test_dir_teardown),
                cmocka_unit_test_setup_teardown(test_tmp_files, test_dir_setup, test_dir_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
