/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tracker on hand-made events; each expectation follows from the calls
 * the events describe (see README.md, "Record semantics"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/syscall-table.h"
#include "core/tracker.h"

/* x86_64 numbers */
enum { NR_read = 0, NR_write = 1, NR_open = 2, NR_close = 3, NR_lseek = 8, NR_pread = 17,
       NR_dup = 32, NR_dup2 = 33, NR_clone = 56, NR_fork = 57, NR_execve = 59, NR_fcntl = 72,
       NR_getdents64 = 217, NR_exit_group = 231, NR_openat = 257, NR_dup3 = 292,
       NR_clone3 = 435, NR_close_range = 436 };
#define AT_FDCWD_HEX 0xffffffffffffff9cULL

typedef struct Rec {
        ActionOp op;
        uint32_t pid, child;
        int fd, old_fd, new_fd;
        int64_t offset, bytes;
        char path[256];
        bool has_path;
        uint64_t serial;
} Rec;

static Rec recs[512];
static size_t n_recs;
static uint64_t serial;

static void on_action(const Action *a, void *userdata) {
        Rec *r = &recs[n_recs++];
        assert_true(n_recs < 512);
        *r = (Rec) { .op = a->op, .pid = a->pid, .child = a->child, .fd = a->fd, .old_fd = a->old_fd,
                     .new_fd = a->new_fd, .offset = a->offset, .bytes = a->bytes, .serial = a->serial };
        if (a->path) {
                r->has_path = true;
                snprintf(r->path, sizeof(r->path), "%.*s", (int) a->path_len, a->path);
        }
}

static Tracker *tracker(size_t max) {
        Tracker *t;
        TrackerOptions o = { .max_processes = max };
        n_recs = 0;
        assert_int_equal(tracker_new(&o, on_action, NULL, &t), 0);
        return t;
}

static void sc(Tracker *t, uint32_t pid, uint32_t ppid, int nr, int64_t exit,
               uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3) {
        AuditEvent ev = {
                .sec = 1700000000, .serial = ++serial, .has_syscall = true,
                .arch = AUDIT_ARCH_X86_64_VALUE, .syscall = nr, .has_exit = nr != NR_exit_group,
                .success = exit >= 0, .exit = exit, .a = { a0, a1, a2, a3 },
                .pid = pid, .ppid = ppid, .auid = 1000, .uid = 1000, .comm = "\"t\"",
                .exe = "\"/usr/bin/t\"", .cwd = "\"/home/u\"",
        };
        tracker_handle_event(t, &ev);
}

/* open-like call with a PATH record */
static void op_open(Tracker *t, uint32_t pid, int nr, int dirfd, const char *quoted_name,
                    uint32_t flags, int fd, const char *nametype, uint32_t mode) {
        AuditEvent ev = {
                .sec = 1700000000, .serial = ++serial, .has_syscall = true,
                .arch = AUDIT_ARCH_X86_64_VALUE, .syscall = nr, .has_exit = true,
                .success = fd >= 0, .exit = fd, .pid = pid, .ppid = 1, .cwd = "\"/home/u\"",
                .n_paths = 1,
        };
        if (nr == NR_openat) {
                ev.a[0] = dirfd == -100 ? AT_FDCWD_HEX : (uint64_t) dirfd;
                ev.a[2] = flags;
        } else
                ev.a[1] = flags;
        ev.paths[0] = (AuditPathRecord) { .item = 0, .name = quoted_name, .nametype = nametype,
                                          .mode = mode, .has_mode = true };
        tracker_handle_event(t, &ev);
}

#define REG 0100644
#define DIR 040755

static void expect(size_t i, ActionOp op, uint32_t pid, int fd, const char *path, int64_t offset, int64_t bytes) {
        assert_true(i < n_recs);
        assert_int_equal(recs[i].op, op);
        assert_int_equal(recs[i].pid, pid);
        if (fd != -2)
                assert_int_equal(recs[i].fd, fd);
        if (path) {
                assert_true(recs[i].has_path);
                assert_string_equal(recs[i].path, path);
        } else
                assert_false(recs[i].has_path);
        assert_int_equal(recs[i].offset, offset);
        assert_int_equal(recs[i].bytes, bytes);
}

#define U OFFSET_UNKNOWN

static void test_offsets(void **state) {
        Tracker *t = tracker(0);

        op_open(t, 10, NR_openat, -100, "\"data/f\"", 0, 3, "NORMAL", REG);
        sc(t, 10, 1, NR_read, 100, 3, 0, 100, 0);
        sc(t, 10, 1, NR_pread, 50, 3, 0, 50, 1000);      /* does not move */
        sc(t, 10, 1, NR_read, 20, 3, 0, 100, 0);
        sc(t, 10, 1, NR_lseek, 7, 3, 7, 0, 0);
        sc(t, 10, 1, NR_read, 0, 3, 0, 100, 0);          /* end of file */
        sc(t, 10, 1, NR_read, -9, 3, 0, 100, 0);         /* failed: nothing */
        sc(t, 10, 1, NR_close, 0, 3, 0, 0, 0);

        assert_int_equal(n_recs, 7);
        expect(0, ACTION_OPEN, 10, 3, "/home/u/data/f", U, 0);
        expect(1, ACTION_READ, 10, 3, "/home/u/data/f", 0, 100);
        expect(2, ACTION_PREAD, 10, 3, "/home/u/data/f", 1000, 50);
        expect(3, ACTION_READ, 10, 3, "/home/u/data/f", 100, 20);
        expect(4, ACTION_LSEEK, 10, 3, "/home/u/data/f", 7, 0);
        expect(5, ACTION_READ, 10, 3, "/home/u/data/f", 7, 0);
        expect(6, ACTION_CLOSE, 10, 3, "/home/u/data/f", U, 0);
        tracker_free(t);
}

static void test_dup_shares_offset(void **state) {
        Tracker *t = tracker(0);

        op_open(t, 10, NR_open, 0, "\"/f\"", 0, 3, "NORMAL", REG);
        sc(t, 10, 1, NR_dup, 4, 3, 0, 0, 0);
        sc(t, 10, 1, NR_read, 10, 4, 0, 10, 0);
        sc(t, 10, 1, NR_read, 10, 3, 0, 10, 0);
        op_open(t, 10, NR_open, 0, "\"/g\"", 0, 5, "NORMAL", REG);
        sc(t, 10, 1, NR_dup2, 5, 3, 5, 0, 0);            /* replaces fd 5 */
        sc(t, 10, 1, NR_read, 1, 5, 0, 1, 0);

        expect(1, ACTION_DUP, 10, -2, "/f", U, 0);
        assert_int_equal(recs[1].old_fd, 3);
        assert_int_equal(recs[1].new_fd, 4);
        expect(2, ACTION_READ, 10, 4, "/f", 0, 10);
        expect(3, ACTION_READ, 10, 3, "/f", 10, 10);
        expect(5, ACTION_CLOSE, 10, 5, "/g", U, 0);
        expect(6, ACTION_DUP, 10, -2, "/f", U, 0);
        expect(7, ACTION_READ, 10, 5, "/f", 20, 1);
        assert_int_equal(n_recs, 8);
        tracker_free(t);
}

static void test_fork_inherits(void **state) {
        Tracker *t = tracker(0);

        op_open(t, 10, NR_open, 0, "\"/f\"", 0, 3, "NORMAL", REG);
        sc(t, 10, 1, NR_fork, 11, 0, 0, 0, 0);
        sc(t, 11, 10, NR_read, 5, 3, 0, 5, 0);
        sc(t, 10, 1, NR_read, 5, 3, 0, 5, 0);            /* continues after the child */

        assert_int_equal(recs[1].op, ACTION_FORK);
        assert_int_equal(recs[1].pid, 10);
        assert_int_equal(recs[1].child, 11);
        expect(2, ACTION_READ, 11, 3, "/f", 0, 5);
        expect(3, ACTION_READ, 10, 3, "/f", 5, 5);
        tracker_free(t);
}

static void test_child_before_fork_event(void **state) {
        /* The child's first call is logged before the parent's fork returns. */
        Tracker *t = tracker(0);

        op_open(t, 10, NR_open, 0, "\"/f\"", 0, 3, "NORMAL", REG);
        sc(t, 11, 10, NR_read, 5, 3, 0, 5, 0);
        sc(t, 10, 1, NR_clone, 11, 0x1200011, 0, 0, 0);
        sc(t, 10, 1, NR_read, 5, 3, 0, 5, 0);

        assert_int_equal(n_recs, 4);
        expect(1, ACTION_READ, 11, 3, "/f", 0, 5);
        assert_int_equal(recs[2].op, ACTION_FORK);
        assert_int_equal(recs[2].child, 11);
        expect(3, ACTION_READ, 10, 3, "/f", 5, 5);
        tracker_free(t);
}

static void test_threads_and_clone3(void **state) {
        Tracker *t = tracker(0);

        sc(t, 10, 1, NR_clone, 12, 0x3d0f00 /* CLONE_THREAD|... */, 0, 0, 0);
        sc(t, 10, 1, NR_clone3, 13, 0, 88, 0, 0);        /* a thread: never shows up */
        assert_int_equal(n_recs, 0);

        op_open(t, 10, NR_open, 0, "\"/f\"", 0, 3, "NORMAL", REG);
        sc(t, 10, 1, NR_clone3, 14, 0, 88, 0, 0);        /* a process */
        uint64_t clone_serial = serial;
        sc(t, 14, 10, NR_read, 2, 3, 0, 2, 0);
        assert_int_equal(n_recs, 3);
        assert_int_equal(recs[1].op, ACTION_FORK);
        assert_int_equal(recs[1].child, 14);
        assert_int_equal(recs[1].serial, clone_serial);
        expect(2, ACTION_READ, 14, 3, "/f", 0, 2);
        tracker_free(t);
}

static void test_append(void **state) {
        Tracker *t = tracker(0);

        op_open(t, 10, NR_openat, -100, "\"new\"", 01 | 0100 | 02000, 3, "CREATE", REG);
        sc(t, 10, 1, NR_write, 4, 3, 0, 4, 0);
        sc(t, 10, 1, NR_lseek, 0, 3, 0, 0, 0);
        sc(t, 10, 1, NR_write, 6, 3, 0, 6, 0);            /* O_APPEND: at the end, 4 */
        op_open(t, 10, NR_openat, -100, "\"old\"", 01 | 02000, 4, "NORMAL", REG);
        sc(t, 10, 1, NR_write, 6, 4, 0, 6, 0);            /* end not known */

        expect(1, ACTION_WRITE, 10, 3, "/home/u/new", 0, 4);
        expect(2, ACTION_LSEEK, 10, 3, "/home/u/new", 0, 0);
        expect(3, ACTION_WRITE, 10, 3, "/home/u/new", 4, 6);
        expect(5, ACTION_WRITE, 10, 4, "/home/u/old", U, 6);
        tracker_free(t);
}

static void test_openat_dirfd(void **state) {
        Tracker *t = tracker(0);

        op_open(t, 10, NR_openat, -100, "\"/srv/d\"", 0200000, 5, "NORMAL", DIR);
        op_open(t, 10, NR_openat, 5, "\"../e/./x\"", 0, 6, "NORMAL", REG);
        sc(t, 10, 1, NR_getdents64, 100, 5, 0, 0, 0);
        sc(t, 10, 1, NR_getdents64, 0, 5, 0, 0, 0);
        sc(t, 10, 1, NR_close, 0, 5, 0, 0, 0);
        op_open(t, 10, NR_openat, -100, "\"/srv/unlisted\"", 0200000, 5, "NORMAL", DIR);
        sc(t, 10, 1, NR_close, 0, 5, 0, 0, 0);

        assert_int_equal(n_recs, 3);
        expect(0, ACTION_OPEN, 10, 6, "/srv/e/x", U, 0);
        expect(1, ACTION_OPENDIR, 10, 5, "/srv/d", U, 0);
        expect(2, ACTION_CLOSE, 10, 5, "/srv/d", U, 0);
        tracker_free(t);
}

static void test_exec_and_exit(void **state) {
        Tracker *t = tracker(0);

        op_open(t, 10, NR_open, 0, "\"/a\"", 02000000, 3, "NORMAL", REG);   /* O_CLOEXEC */
        op_open(t, 10, NR_open, 0, "\"/b\"", 0, 4, "NORMAL", REG);
        sc(t, 10, 1, NR_dup3, 7, 4, 7, 02000000, 0);
        sc(t, 10, 1, NR_fcntl, 0, 4, 2 /* F_SETFD */, 1, 0);
        sc(t, 10, 1, NR_execve, 0, 0, 0, 0, 0);
        assert_int_equal(n_recs, 7);
        assert_int_equal(recs[3].op, ACTION_EXEC);
        assert_string_equal(recs[3].path, "/usr/bin/t");
        expect(4, ACTION_CLOSE, 10, 3, "/a", U, 0);
        expect(5, ACTION_CLOSE, 10, 4, "/b", U, 0);
        expect(6, ACTION_CLOSE, 10, 7, "/b", U, 0);

        op_open(t, 10, NR_open, 0, "\"/c\"", 0, 3, "NORMAL", REG);
        sc(t, 10, 1, NR_exit_group, 0, 0, 0, 0, 0);
        assert_int_equal(recs[n_recs - 2].op, ACTION_EXIT);
        expect(n_recs - 1, ACTION_CLOSE, 10, 3, "/c", U, 0);

        TrackerStats st;
        tracker_get_stats(t, &st);
        assert_int_equal(st.processes, 0);
        assert_int_equal(st.open_files, 0);
        tracker_free(t);
}

static void test_close_range(void **state) {
        Tracker *t = tracker(0);

        for (int fd = 3; fd < 8; fd++)
                op_open(t, 10, NR_open, 0, "\"/f\"", 0, fd, "NORMAL", REG);
        sc(t, 10, 1, NR_close_range, 0, 4, 6, 0, 0);
        assert_int_equal(n_recs, 8);
        expect(5, ACTION_CLOSE, 10, 4, "/f", U, 0);
        expect(6, ACTION_CLOSE, 10, 5, "/f", U, 0);
        expect(7, ACTION_CLOSE, 10, 6, "/f", U, 0);
        sc(t, 10, 1, NR_read, 1, 3, 0, 1, 0);
        sc(t, 10, 1, NR_read, 1, 5, 0, 1, 0);
        expect(8, ACTION_READ, 10, 3, "/f", 0, 1);
        expect(9, ACTION_READ, 10, 5, NULL, U, 1);        /* closed: never seen opened now */
        tracker_free(t);
}

static void test_unknown_fd(void **state) {
        Tracker *t = tracker(0);

        sc(t, 10, 1, NR_write, 5, 1, 0, 5, 0);
        sc(t, 10, 1, NR_close, 0, 9, 0, 0, 0);
        expect(0, ACTION_WRITE, 10, 1, NULL, U, 5);
        expect(1, ACTION_CLOSE, 10, 9, NULL, U, 0);
        tracker_free(t);
}

static void test_lru_bound(void **state) {
        Tracker *t = tracker(4);
        TrackerStats st;

        for (uint32_t pid = 100; pid < 110; pid++)
                op_open(t, pid, NR_open, 0, "\"/f\"", 0, 3, "NORMAL", REG);
        tracker_get_stats(t, &st);
        assert_int_equal(st.processes, 4);
        assert_int_equal(st.evicted, 6);
        assert_int_equal(st.open_files, 4);
        /* the most recent ones are kept */
        sc(t, 109, 1, NR_read, 1, 3, 0, 1, 0);
        expect(n_recs - 1, ACTION_READ, 109, 3, "/f", 0, 1);
        sc(t, 100, 1, NR_read, 1, 3, 0, 1, 0);
        expect(n_recs - 1, ACTION_READ, 100, 3, NULL, U, 1);
        tracker_free(t);
}

static void test_pid_reuse(void **state) {
        Tracker *t = tracker(0);

        op_open(t, 1, NR_open, 0, "\"/init\"", 0, 3, "NORMAL", REG);      /* pid 1 is alive */
        op_open(t, 20, NR_open, 0, "\"/f\"", 0, 3, "NORMAL", REG);        /* parent 1 */
        /* pid 20 shows up again with another parent while 1 lives: a new process */
        AuditEvent ev = { .serial = ++serial, .has_syscall = true, .arch = AUDIT_ARCH_X86_64_VALUE,
                          .syscall = NR_read, .has_exit = true, .success = true, .exit = 1,
                          .a = { 3 }, .pid = 20, .ppid = 55 };
        tracker_handle_event(t, &ev);
        expect(n_recs - 1, ACTION_READ, 20, 3, NULL, U, 1);
        tracker_free(t);
}

static void test_reparent(void **state) {
        /* 10 forks 11, 11 opens a file and forks 12, 11 is killed (no
         * exit_group): 12 is adopted by its grandparent 10, a subreaper. */
        Tracker *t = tracker(0);

        sc(t, 10, 1, NR_fork, 11, 0, 0, 0, 0);
        AuditEvent ev = { .serial = ++serial, .has_syscall = true, .arch = AUDIT_ARCH_X86_64_VALUE,
                          .syscall = NR_open, .has_exit = true, .success = true, .exit = 5,
                          .pid = 11, .ppid = 10, .cwd = "\"/\"", .n_paths = 1 };
        ev.paths[0] = (AuditPathRecord) { .name = "\"/orphan\"", .nametype = "NORMAL", .mode = REG, .has_mode = true };
        tracker_handle_event(t, &ev);
        sc(t, 11, 10, NR_read, 2, 5, 0, 2, 0);
        sc(t, 11, 10, NR_fork, 12, 0, 0, 0, 0);
        sc(t, 12, 10, NR_read, 4, 5, 0, 4, 0);            /* reparented to 10 */
        expect(n_recs - 1, ACTION_READ, 12, 5, "/orphan", 2, 4);

        TrackerStats st;
        tracker_get_stats(t, &st);
        assert_int_equal(st.processes, 2);                /* 11 is gone */
        tracker_free(t);
}

static void test_filter(void **state) {
        char *include[] = { (char *) "/home", NULL }, *exclude[] = { (char *) "/home/u/.cache", NULL };
        TrackerOptions o = { .include = include, .exclude = exclude };
        Tracker *t;

        n_recs = 0;
        assert_int_equal(tracker_new(&o, on_action, NULL, &t), 0);
        op_open(t, 10, NR_open, 0, "\"/etc/x\"", 0, 3, "NORMAL", REG);
        op_open(t, 10, NR_open, 0, "\"/home/u/.cache/y\"", 0, 4, "NORMAL", REG);
        op_open(t, 10, NR_open, 0, "\"/home/u/z\"", 0, 5, "NORMAL", REG);
        for (int fd = 3; fd <= 6; fd++)
                sc(t, 10, 1, NR_read, 1, fd, 0, 1, 0);
        assert_int_equal(n_recs, 2);
        expect(0, ACTION_OPEN, 10, 5, "/home/u/z", U, 0);
        expect(1, ACTION_READ, 10, 5, "/home/u/z", 0, 1);
        tracker_free(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_offsets),
                cmocka_unit_test(test_dup_shares_offset),
                cmocka_unit_test(test_fork_inherits),
                cmocka_unit_test(test_child_before_fork_event),
                cmocka_unit_test(test_threads_and_clone3),
                cmocka_unit_test(test_append),
                cmocka_unit_test(test_openat_dirfd),
                cmocka_unit_test(test_exec_and_exit),
                cmocka_unit_test(test_close_range),
                cmocka_unit_test(test_unknown_fd),
                cmocka_unit_test(test_lru_bound),
                cmocka_unit_test(test_pid_reuse),
                cmocka_unit_test(test_reparent),
                cmocka_unit_test(test_filter),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
