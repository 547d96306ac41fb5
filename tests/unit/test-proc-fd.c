/* SPDX-License-Identifier: GPL-2.0-or-later */
/* audit/proc-fd: snapshots of descriptors from /proc. The oracle is what this
 * test itself did to its own descriptors (opened what, how, and moved the
 * position where) read back through the real /proc; a fake /proc tree covers
 * what the kernel does not produce on demand (an fdinfo without "pos:"). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "audit/proc-fd.h"
#include "shared/macro.h"

static char dir[PATH_MAX];      /* canonical: /proc shows resolved paths */

static int setup(void **state) {
        char tmpl[] = "/tmp/fsmon-test-proc-fd.XXXXXX";

        assert_non_null(mkdtemp(tmpl));
        assert_non_null(realpath(tmpl, dir));
        return 0;
}

static int teardown(void **state) {
        char cmd[PATH_MAX + 16];

        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        return 0;
}

/* Descriptor fd of a snapshot of root's process pid (-ENOENT: not in it). */
static int snapshot_fd(const char *root, uint32_t pid, int fd, TrackerFdInfo *ret, int *ret_same_as) {
        TrackerSnapshotFd *fds = NULL;
        struct timespec before;
        uint64_t sec;
        unsigned msec;
        size_t n = 0;
        int r;

        assert_int_equal(clock_gettime(CLOCK_REALTIME, &before), 0);
        r = proc_fd_snapshot(root, pid, &fds, &n, &sec, &msec);
        if (r < 0)
                return r;
        /* Taken after the readings: never before the call began. */
        assert_true(sec > (uint64_t) before.tv_sec ||
                    (sec == (uint64_t) before.tv_sec && msec >= (unsigned) (before.tv_nsec / 1000000)));
        r = -ENOENT;
        for (size_t i = 0; i < n; i++)
                if (fds[i].fd == fd) {
                        *ret = fds[i].info;
                        fds[i].info.path = NULL;
                        if (ret_same_as)
                                *ret_same_as = fds[i].same_as < 0 ? -1 : fds[fds[i].same_as].fd;
                        r = 0;
                }
        proc_fd_snapshot_free(fds, n);
        return r;
}

static int resolve(int fd, TrackerFdInfo *ret) {
        return snapshot_fd(NULL, (uint32_t) getpid(), fd, ret, NULL);
}

static void test_regular_file(void **state) {
        char path[PATH_MAX + 16];
        TrackerFdInfo info;
        _cleanup_close_ int fd = -EBADF;

        (void) snprintf(path, sizeof(path), "%s/a file", dir);
        fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "0123456789", 10), 10);
        assert_int_equal(lseek(fd, 7, SEEK_SET), 7);

        assert_int_equal(resolve(fd, &info), 0);
        assert_string_equal(info.path, path);
        assert_int_equal(info.offset, 7);
        assert_true(info.flags_known);
        assert_int_equal(info.flags & O_ACCMODE, O_RDWR);
        assert_true(info.flags & O_APPEND);
        assert_false(info.flags & O_CLOEXEC);   /* said apart, in cloexec */
        assert_true(info.cloexec);
        assert_false(info.is_dir);
        assert_false(info.not_file);
        free(info.path);

        /* A copy is the same description (kcmp), another open is not. */
        {
                _cleanup_close_ int copy = fcntl(fd, F_DUPFD_CLOEXEC, 20), other = open(path, O_RDONLY | O_CLOEXEC);
                int same = -2;

                assert_true(copy >= 0 && other >= 0);
                assert_int_equal(snapshot_fd(NULL, (uint32_t) getpid(), copy > fd ? copy : fd, &info, &same), 0);
                assert_int_equal(same, copy > fd ? fd : -1);
                free(info.path);
                assert_int_equal(snapshot_fd(NULL, (uint32_t) getpid(), other, &info, &same), 0);
                assert_true(same == -1 || (same != fd && same != copy));
                free(info.path);
        }

        /* Deleted while open: the path it had, without " (deleted)". */
        assert_int_equal(unlink(path), 0);
        assert_int_equal(resolve(fd, &info), 0);
        assert_string_equal(info.path, path);
        free(info.path);

        fd = safe_close(fd);
        fd = open(path, O_WRONLY | O_CREAT, 0600);     /* read-only, no cloexec */
        assert_true(fd >= 0);
        assert_int_equal(resolve(fd, &info), 0);
        assert_int_equal(info.flags & O_ACCMODE, O_WRONLY);
        assert_false(info.cloexec);
        assert_int_equal(info.offset, 0);
        free(info.path);
}

static void test_directory_and_not_files(void **state) {
        TrackerFdInfo info;
        _cleanup_close_ int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int p[2];

        assert_true(d >= 0);
        assert_int_equal(resolve(d, &info), 0);
        assert_string_equal(info.path, dir);
        assert_true(info.is_dir);
        assert_false(info.not_file);
        free(info.path);

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(resolve(p[0], &info), 0);
        assert_true(info.not_file);
        assert_null(info.path);
        /* Gone: not in the snapshot (a high number, which the snapshot's own
         * directory descriptor cannot take). */
        assert_int_equal(fcntl(p[0], F_DUPFD_CLOEXEC, 200), 200);
        close(200);
        close(p[0]);
        close(p[1]);
        assert_int_equal(resolve(200, &info), -ENOENT);
}

/* A fake /proc: fd/3 links to a real file, fdinfo/3 lacks "pos:". */
static void test_fdinfo_incomplete(void **state) {
        char root[PATH_MAX + 16], p[3 * PATH_MAX], target[PATH_MAX + 16];
        TrackerFdInfo info;
        FILE *f;

        (void) snprintf(root, sizeof(root), "%s/proc", dir);
        (void) snprintf(target, sizeof(target), "%s/target", dir);
        assert_int_equal(close(open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)), 0);
        (void) snprintf(p, sizeof(p), "mkdir -p '%s/42/fd' '%s/42/fdinfo'", root, root);
        assert_int_equal(system(p), 0);
        (void) snprintf(p, sizeof(p), "%s/42/fd/3", root);
        assert_int_equal(symlink(target, p), 0);
        (void) snprintf(p, sizeof(p), "%s/42/fdinfo/3", root);
        assert_non_null(f = fopen(p, "we"));
        assert_true(fputs("flags:\t0100002\nmnt_id:\t1\n", f) >= 0);
        assert_int_equal(fclose(f), 0);

        assert_int_equal(snapshot_fd(root, 42, 3, &info, NULL), 0);
        assert_string_equal(info.path, target);         /* the path still counts */
        assert_false(info.flags_known);
        assert_int_equal(info.offset, OFFSET_UNKNOWN);
        free(info.path);
        assert_int_equal(snapshot_fd(root, 43, 3, &info, NULL), -ESRCH);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_regular_file),
                cmocka_unit_test(test_directory_and_not_files),
                cmocka_unit_test(test_fdinfo_incomplete),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
