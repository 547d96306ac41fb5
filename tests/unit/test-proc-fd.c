/* SPDX-License-Identifier: GPL-2.0-or-later */
/* audit/proc-fd: descriptors filled in from /proc. The oracle is what this
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

static int resolve(int fd, bool current, TrackerFdInfo *ret) {
        ProcFdResolver r = { .proc_root = "/proc", .position_is_current = current };

        return proc_fd_resolve((uint32_t) getpid(), fd, ret, &r);
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

        assert_int_equal(resolve(fd, true, &info), 0);
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

        /* Replaying old events: today's position says nothing about then. */
        assert_int_equal(resolve(fd, false, &info), 0);
        assert_int_equal(info.offset, OFFSET_UNKNOWN);
        assert_true(info.flags_known);
        free(info.path);

        /* Deleted while open: the path it had, without " (deleted)". */
        assert_int_equal(unlink(path), 0);
        assert_int_equal(resolve(fd, true, &info), 0);
        assert_string_equal(info.path, path);
        free(info.path);

        fd = safe_close(fd);
        fd = open(path, O_WRONLY | O_CREAT, 0600);     /* read-only, no cloexec */
        assert_true(fd >= 0);
        assert_int_equal(resolve(fd, true, &info), 0);
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
        assert_int_equal(resolve(d, true, &info), 0);
        assert_string_equal(info.path, dir);
        assert_true(info.is_dir);
        assert_false(info.not_file);
        free(info.path);

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(resolve(p[0], true, &info), 0);
        assert_true(info.not_file);
        assert_null(info.path);
        close(p[0]);
        close(p[1]);

        /* Gone: the caller leaves the descriptor unknown. */
        assert_int_equal(resolve(p[0], true, &info), -ENOENT);
        assert_int_equal(resolve(-1, true, &info), -EBADF);
}

/* A fake /proc: fd/3 links to a real file, fdinfo/3 lacks "pos:". */
static void test_fdinfo_incomplete(void **state) {
        char root[PATH_MAX + 16], p[3 * PATH_MAX], target[PATH_MAX + 16];
        ProcFdResolver r = { .proc_root = root, .position_is_current = true };
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

        assert_int_equal(proc_fd_resolve(42, 3, &info, &r), 0);
        assert_string_equal(info.path, target);         /* the path still counts */
        assert_false(info.flags_known);
        assert_int_equal(info.offset, OFFSET_UNKNOWN);
        free(info.path);
        assert_int_equal(proc_fd_resolve(43, 3, &info, &r), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_regular_file),
                cmocka_unit_test(test_directory_and_not_files),
                cmocka_unit_test(test_fdinfo_incomplete),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
