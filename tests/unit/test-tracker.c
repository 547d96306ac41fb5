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
       NR_clone3 = 435, NR_close_range = 436, NR_mmap = 9, NR_sendfile = 40, NR_rename = 82,
       NR_mkdir = 83, NR_rmdir = 84, NR_unlink = 87, NR_truncate = 76, NR_ftruncate = 77,
       NR_mkdirat = 258, NR_unlinkat = 263, NR_renameat = 264, NR_splice = 275, NR_renameat2 = 316,
       NR_copy_file_range = 326 };
/* i386 numbers */
enum { NR32_ftruncate64 = 194, NR32_mmap2 = 192, NR32_sendfile64 = 239 };
#define AT_FDCWD_HEX 0xffffffffffffff9cULL

typedef struct Rec {
        ActionOp op;
        uint32_t pid, child;
        int fd, old_fd, new_fd;
        int64_t offset, bytes;
        char path[256];
        bool has_path;
        uint64_t serial;
        char new_path[256], exe[256], node[64], via[32];
        bool exchange;
        int64_t size, prot, flags;
} Rec;

static Rec recs[512];
static size_t n_recs;
static uint64_t serial;
static unsigned now_msec;       /* the time stamp of the events sc() makes */

static void on_action(const Action *a, void *userdata) {
        Rec *r = &recs[n_recs++];
        assert_true(n_recs < 512);
        *r = (Rec) { .op = a->op, .pid = a->pid, .child = a->child, .fd = a->fd, .old_fd = a->old_fd,
                     .new_fd = a->new_fd, .offset = a->offset, .bytes = a->bytes, .serial = a->serial };
        if (a->path) {
                r->has_path = true;
                snprintf(r->path, sizeof(r->path), "%.*s", (int) a->path_len, a->path);
        }
        if (a->new_path)
                snprintf(r->new_path, sizeof(r->new_path), "%.*s", (int) a->new_path_len, a->new_path);
        if (a->exe)
                snprintf(r->exe, sizeof(r->exe), "%.*s", (int) a->exe_len, a->exe);
        snprintf(r->node, sizeof(r->node), "%s", a->node ?: "");
        snprintf(r->via, sizeof(r->via), "%s", a->via ?: "");
        r->exchange = a->exchange;
        r->size = a->size;
        r->prot = a->prot;
        r->flags = a->flags;
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
                .sec = 1700000000, .msec = now_msec, .serial = ++serial, .has_syscall = true,
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
        sc(t, 10, 1, NR_execve, 0, 0, 0, 0, 0);           /* no PATH record: name unknown */
        assert_int_equal(n_recs, 7);
        assert_int_equal(recs[3].op, ACTION_EXEC);
        assert_false(recs[3].has_path);
        assert_string_equal(recs[3].exe, "/usr/bin/t");
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

/* /proc's view at 100 ms applies from the first event stamped after it;
 * before, unknown descriptors stay unknown (never the later file). */
static void test_snapshot(void **state) {
        Tracker *t = tracker(0);
        TrackerSnapshotFd fds[] = {
                { .fd = 2, .same_as = -1, .info = { .path = strdup("/home/u/later.txt"), .offset = 40,
                                                    .flags = 1, .flags_known = true } },
                { .fd = 7, .same_as = -1, .info = { .path = strdup("/home/u/inherited.txt"), .offset = 10,
                                                    .flags = 1, .flags_known = true } },
                { .fd = 9, .same_as = -1, .info = { .path = strdup("/home/u/other"), .offset = 5 } },
                { .fd = 10, .same_as = 2, .info = { .path = strdup("/home/u/other"), .offset = 5 } },
                { .fd = 11, .same_as = -1, .info = { .path = strdup("/elsewhere"), .offset = 0 } },
                { .fd = 12, .same_as = -1, .info = { .not_file = true } },
        };

        now_msec = 100;
        op_open(t, 10, NR_open, -100, "\"opened\"", 0, 11, "NORMAL", REG);
        sc(t, 10, 1, NR_dup2, 7, 2, 7, 0, 0);              /* the copy of the inherited fd 2 */
        assert_int_equal(tracker_add_snapshot(t, 10, 1, 1700000000, 100, fds, ELEMENTSOF(fds)), 0);
        sc(t, 10, 1, NR_write, 3, 7, 0, 3, 0);             /* the same millisecond: maybe before */
        now_msec = 101;
        sc(t, 10, 1, NR_write, 3, 7, 0, 3, 0);             /* after: the snapshot, no position */
        sc(t, 10, 1, NR_read, 4, 9, 0, 4, 0);              /* never used before: /proc's position */
        sc(t, 10, 1, NR_read, 1, 10, 0, 1, 0);             /* the same description as fd 9 */
        sc(t, 10, 1, NR_read, 2, 11, 0, 2, 0);             /* opened as fsmon saw: its own path */
        sc(t, 10, 1, NR_write, 2, 12, 0, 2, 0);            /* a pipe: not recorded */
        sc(t, 10, 1, NR_write, 1, 2, 0, 1, 0);

        expect(0, ACTION_OPEN, 10, 11, "/home/u/opened", U, 0);
        assert_int_equal(recs[1].op, ACTION_DUP);
        assert_false(recs[1].has_path);
        expect(2, ACTION_WRITE, 10, 7, NULL, U, 3);
        expect(3, ACTION_WRITE, 10, 7, "/home/u/inherited.txt", U, 3);
        expect(4, ACTION_READ, 10, 9, "/home/u/other", 5, 4);
        expect(5, ACTION_READ, 10, 10, "/home/u/other", 9, 1);
        expect(6, ACTION_READ, 10, 11, "/home/u/opened", 0, 2);
        expect(7, ACTION_WRITE, 10, 2, "/home/u/later.txt", U, 1);
        assert_int_equal(n_recs, 8);
        tracker_free(t);
        now_msec = 0;
}

/* A call in the snapshot's millisecond is taken as before it (audit's clock
 * is coarse), but /proc may have been listed before the call ran: the events
 * win for every slot they closed or opened (seen: a close of fd 1000 listed
 * by /proc came back as an extra close at exit). */
static void test_snapshot_after_close(void **state) {
        Tracker *t = tracker(0);
        TrackerSnapshotFd fds[] = {
                { .fd = 5, .same_as = -1, .info = { .path = strdup("/home/u/gone"), .offset = 0 } },
                { .fd = 6, .same_as = -1, .info = { .path = strdup("/home/u/replaced"), .offset = 0 } },
                { .fd = 8, .same_as = -1, .info = { .path = strdup("/home/u/kept"), .offset = 3 } },
        };

        now_msec = 100;
        assert_int_equal(tracker_add_snapshot(t, 10, 1, 1700000000, 100, fds, ELEMENTSOF(fds)), 0);
        sc(t, 10, 1, NR_close, 0, 5, 0, 0, 0);             /* unknown until now: a close of null */
        op_open(t, 10, NR_open, 0, "\"/home/u/new\"", 0, 6, "NORMAL", REG);
        now_msec = 101;
        sc(t, 10, 1, NR_read, 1, 5, 0, 1, 0);              /* closed: not /proc's "gone" */
        sc(t, 10, 1, NR_read, 1, 6, 0, 1, 0);              /* the event's file */
        sc(t, 10, 1, NR_read, 1, 8, 0, 1, 0);              /* untouched: /proc's */

        expect(0, ACTION_CLOSE, 10, 5, NULL, U, 0);
        expect(1, ACTION_OPEN, 10, 6, "/home/u/new", U, 0);
        expect(2, ACTION_READ, 10, 5, NULL, U, 1);
        expect(3, ACTION_READ, 10, 6, "/home/u/new", 0, 1);
        expect(4, ACTION_READ, 10, 8, "/home/u/kept", 3, 1);
        assert_int_equal(n_recs, 5);
        tracker_free(t);
        now_msec = 0;
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


/* An event with PATH records: names[i] (quoted) with nametypes[i]. */
static AuditEvent named(uint32_t pid, int nr, int64_t exit, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                        unsigned n, const char *const *names, const char *const *types) {
        AuditEvent ev = {
                .sec = 1700000000, .serial = ++serial, .has_syscall = true,
                .arch = AUDIT_ARCH_X86_64_VALUE, .syscall = nr, .has_exit = true,
                .success = exit >= 0, .exit = exit, .a = { a0, a1, a2, a3 },
                .pid = pid, .ppid = 1, .cwd = "\"/home/u\"", .exe = "\"/usr/bin/t\"", .n_paths = n,
        };
        for (unsigned i = 0; i < n; i++)
                ev.paths[i] = (AuditPathRecord) { .item = (int) i, .name = names[i], .nametype = types[i],
                                                  .mode = REG, .has_mode = true };
        return ev;
}

static void test_copy_calls(void **state) {
        Tracker *t = tracker(0);

        op_open(t, 10, NR_open, 0, "\"/src\"", 0, 3, "NORMAL", REG);
        op_open(t, 10, NR_open, 0, "\"/dst\"", 01 | 0100 | 01000, 4, "CREATE", REG);
        n_recs = 0;
        /* NULL pointers: at the positions, which move */
        sc(t, 10, 1, NR_copy_file_range, 100, 3, 0, 4, 0);
        /* an off_in pointer: in side at an unknown offset, its position stays */
        sc(t, 10, 1, NR_copy_file_range, 10, 3, 0x7ffd0000, 4, 0);
        sc(t, 10, 1, NR_read, 5, 3, 0, 5, 0);
        /* an off_out pointer: the out position stays, the end of file is lost */
        sc(t, 10, 1, NR_copy_file_range, 7, 3, 0, 4, 0x7ffd0008);
        sc(t, 10, 1, NR_write, 1, 4, 0, 1, 0);
        /* sendfile(out, in, NULL, n) and with an offset pointer */
        sc(t, 10, 1, NR_sendfile, 20, 4, 3, 0, 20);
        sc(t, 10, 1, NR_sendfile, 30, 4, 3, 0x7ffd0010, 30);
        sc(t, 10, 1, NR_copy_file_range, -9, 3, 0, 4, 0);  /* failed: nothing */

        assert_int_equal(n_recs, 12);
        expect(0, ACTION_READ, 10, 3, "/src", 0, 100);
        expect(1, ACTION_WRITE, 10, 4, "/dst", 0, 100);
        assert_string_equal(recs[0].via, "copy_file_range");
        assert_string_equal(recs[1].via, "copy_file_range");
        assert_int_equal(recs[0].serial, recs[1].serial);
        expect(2, ACTION_READ, 10, 3, "/src", U, 10);
        expect(3, ACTION_WRITE, 10, 4, "/dst", 100, 10);
        expect(4, ACTION_READ, 10, 3, "/src", 100, 5);
        assert_string_equal(recs[4].via, "");
        expect(5, ACTION_READ, 10, 3, "/src", 105, 7);
        expect(6, ACTION_WRITE, 10, 4, "/dst", U, 7);
        expect(7, ACTION_WRITE, 10, 4, "/dst", 110, 1);
        expect(8, ACTION_READ, 10, 3, "/src", 112, 20);
        expect(9, ACTION_WRITE, 10, 4, "/dst", 111, 20);
        assert_string_equal(recs[9].via, "sendfile");
        expect(10, ACTION_READ, 10, 3, "/src", U, 30);
        expect(11, ACTION_WRITE, 10, 4, "/dst", 131, 30);

        /* i386 sendfile64 */
        AuditEvent ev = { .serial = ++serial, .has_syscall = true, .arch = AUDIT_ARCH_I386_VALUE,
                          .syscall = NR32_sendfile64, .has_exit = true, .success = true, .exit = 2,
                          .a = { 4, 3, 0, 2 }, .pid = 10, .ppid = 1 };
        tracker_handle_event(t, &ev);
        expect(12, ACTION_READ, 10, 3, "/src", 132, 2);
        expect(13, ACTION_WRITE, 10, 4, "/dst", 161, 2);
        tracker_free(t);
}

static void test_splice_pipe_sides(void **state) {
        Tracker *t = tracker(0);

        op_open(t, 10, NR_open, 0, "\"/f\"", 02 | 02000, 3, "NORMAL", REG);  /* O_RDWR|O_APPEND */
        n_recs = 0;
        /* fds 5, 6: a pipe the tracker never saw made */
        sc(t, 10, 1, NR_splice, 4, 3, 0, 6, 0);          /* file -> pipe */
        sc(t, 10, 1, NR_splice, 4, 5, 0, 3, 0);          /* pipe (unknown) -> file: end unknown */
        sc(t, 10, 1, NR_write, 1, 6, 0, 1, 0);           /* the pipe: known as one now */
        sc(t, 10, 1, NR_splice, 8, 3, 0x7ffd0000, 6, 0); /* off_in pointer */
        assert_int_equal(n_recs, 3);
        expect(0, ACTION_READ, 10, 3, "/f", 0, 4);
        assert_string_equal(recs[0].via, "splice");
        expect(1, ACTION_WRITE, 10, 3, "/f", U, 4);
        expect(2, ACTION_READ, 10, 3, "/f", U, 8);

        TrackerStats st;
        tracker_get_stats(t, &st);
        assert_int_equal(st.nonfile_io, 4);
        tracker_free(t);
}

static void test_mmap(void **state) {
        Tracker *t = tracker(0);
        AuditEvent ev;

        op_open(t, 10, NR_open, 0, "\"/db\"", 02, 3, "NORMAL", REG);
        n_recs = 0;
        ev = named(10, NR_mmap, 0x7f0000000000, 0, 8192, 3 /* RW */, 1 /* SHARED */, 0, NULL, NULL);
        ev.has_mmap = true;
        ev.mmap_fd = 3;
        ev.mmap_flags = 1;
        tracker_handle_event(t, &ev);
        /* anonymous: no MMAP record, nothing */
        ev = named(10, NR_mmap, 0x7f0000100000, 0, 4096, 3, 0x22, 0, NULL, NULL);
        tracker_handle_event(t, &ev);
        /* i386 mmap2 of the same file, read-only and private */
        ev = named(10, NR32_mmap2, 0x70000000, 0, 100, 1, 2, 0, NULL, NULL);
        ev.arch = AUDIT_ARCH_I386_VALUE;
        ev.has_mmap = true;
        ev.mmap_fd = 3;
        ev.mmap_flags = 2;
        tracker_handle_event(t, &ev);

        assert_int_equal(n_recs, 2);
        expect(0, ACTION_MMAP, 10, 3, "/db", U, 8192);
        assert_int_equal(recs[0].prot, 3);
        assert_int_equal(recs[0].flags, 1);
        expect(1, ACTION_MMAP, 10, 3, "/db", U, 100);
        assert_int_equal(recs[1].prot, 1);
        assert_int_equal(recs[1].flags, 2);
        tracker_free(t);
}

static void test_rename(void **state) {
        Tracker *t = tracker(0);
        AuditEvent ev;

        op_open(t, 10, NR_open, 0, "\"/home/u/a\"", 01 | 0100, 3, "CREATE", REG);
        op_open(t, 10, NR_open, 0, "\"/home/u/d/sub/x\"", 0, 4, "NORMAL", REG);
        op_open(t, 10, NR_open, 0, "\"/home/u/dx\"", 0, 5, "NORMAL", REG);   /* not below d */
        n_recs = 0;
        /* rename("a", "b") over an existing b: DELETE a, DELETE b, CREATE b */
        ev = named(10, NR_rename, 0, 0, 0, 0, 0, 5,
                   (const char *[]) { "\"/home/u\"", "\"/home/u\"", "\"a\"", "\"b\"", "\"b\"" },
                   (const char *[]) { "PARENT", "PARENT", "DELETE", "DELETE", "CREATE" });
        tracker_handle_event(t, &ev);
        sc(t, 10, 1, NR_write, 3, 3, 0, 3, 0);            /* through the old fd: b now */
        /* renameat(AT_FDCWD, "d", AT_FDCWD, "/srv/e"): a directory */
        ev = named(10, NR_renameat, 0, AT_FDCWD_HEX, 0, AT_FDCWD_HEX, 0, 4,
                   (const char *[]) { "\"/home/u\"", "\"/srv\"", "\"d\"", "\"/srv/e\"" },
                   (const char *[]) { "PARENT", "PARENT", "DELETE", "CREATE" });
        tracker_handle_event(t, &ev);
        sc(t, 10, 1, NR_read, 1, 4, 0, 1, 0);
        sc(t, 10, 1, NR_read, 1, 5, 0, 1, 0);
        /* renameat2 RENAME_EXCHANGE of b and dx */
        ev = named(10, NR_renameat2, 0, AT_FDCWD_HEX, 0, AT_FDCWD_HEX, 0, 6,
                   (const char *[]) { "\"/home/u\"", "\"/home/u\"", "\"b\"", "\"dx\"", "\"dx\"", "\"b\"" },
                   (const char *[]) { "PARENT", "PARENT", "DELETE", "DELETE", "CREATE", "CREATE" });
        tracker_handle_event(t, &ev);
        sc(t, 10, 1, NR_close, 0, 3, 0, 0, 0);
        sc(t, 10, 1, NR_close, 0, 5, 0, 0, 0);

        assert_int_equal(n_recs, 8);
        expect(0, ACTION_RENAME, 10, -1, "/home/u/a", U, 0);
        assert_string_equal(recs[0].new_path, "/home/u/b");
        assert_false(recs[0].exchange);
        expect(1, ACTION_WRITE, 10, 3, "/home/u/b", 0, 3);
        expect(2, ACTION_RENAME, 10, -1, "/home/u/d", U, 0);
        assert_string_equal(recs[2].new_path, "/srv/e");
        expect(3, ACTION_READ, 10, 4, "/srv/e/sub/x", 0, 1);
        expect(4, ACTION_READ, 10, 5, "/home/u/dx", 0, 1);
        expect(5, ACTION_RENAME, 10, -1, "/home/u/b", U, 0);
        assert_string_equal(recs[5].new_path, "/home/u/dx");
        assert_true(recs[5].exchange);
        expect(6, ACTION_CLOSE, 10, 3, "/home/u/dx", U, 0);
        expect(7, ACTION_CLOSE, 10, 5, "/home/u/b", U, 0);
        tracker_free(t);
}

static void test_names(void **state) {
        Tracker *t = tracker(0);
        AuditEvent ev;

        op_open(t, 10, NR_openat, -100, "\"/home/u/w\"", 0200000, 7, "NORMAL", DIR);
        n_recs = 0;
        ev = named(10, NR_mkdir, 0, 0, 0755, 0, 0, 2, (const char *[]) { "\"/home/u\"", "\"dd\"" },
                   (const char *[]) { "PARENT", "CREATE" });
        tracker_handle_event(t, &ev);
        ev = named(10, NR_mkdirat, 0, 7, 0, 0755, 0, 2, (const char *[]) { "\"/home/u/w\"", "\"x\"" },
                   (const char *[]) { "PARENT", "CREATE" });
        tracker_handle_event(t, &ev);
        ev = named(10, NR_unlinkat, 0, 7, 0, 0x200, 0, 2, (const char *[]) { "\"/home/u/w\"", "\"x\"" },
                   (const char *[]) { "PARENT", "DELETE" });
        tracker_handle_event(t, &ev);
        ev = named(10, NR_unlinkat, 0, AT_FDCWD_HEX, 0, 0, 0, 2, (const char *[]) { "\"/home/u\"", "\"f\"" },
                   (const char *[]) { "PARENT", "DELETE" });
        tracker_handle_event(t, &ev);
        ev = named(10, NR_unlink, 0, 0, 0, 0, 0, 2, (const char *[]) { "\"/tmp\"", "\"/tmp/g\"" },
                   (const char *[]) { "PARENT", "DELETE" });
        tracker_handle_event(t, &ev);
        ev = named(10, NR_rmdir, 0, 0, 0, 0, 0, 2, (const char *[]) { "\"/home/u\"", "\"dd\"" },
                   (const char *[]) { "PARENT", "DELETE" });
        tracker_handle_event(t, &ev);
        ev = named(10, NR_rmdir, -39, 0, 0, 0, 0, 0, NULL, NULL);   /* ENOTEMPTY: nothing */
        tracker_handle_event(t, &ev);

        assert_int_equal(n_recs, 6);
        expect(0, ACTION_MKDIR, 10, -1, "/home/u/dd", U, 0);
        expect(1, ACTION_MKDIR, 10, -1, "/home/u/w/x", U, 0);
        expect(2, ACTION_RMDIR, 10, -1, "/home/u/w/x", U, 0);
        expect(3, ACTION_UNLINK, 10, -1, "/home/u/f", U, 0);
        expect(4, ACTION_UNLINK, 10, -1, "/tmp/g", U, 0);
        expect(5, ACTION_RMDIR, 10, -1, "/home/u/dd", U, 0);
        tracker_free(t);
}

static void test_truncate(void **state) {
        Tracker *t = tracker(0);
        AuditEvent ev;

        op_open(t, 10, NR_open, 0, "\"/log\"", 01 | 02000, 3, "NORMAL", REG);  /* O_APPEND, end unknown */
        n_recs = 0;
        sc(t, 10, 1, NR_write, 5, 3, 0, 5, 0);
        sc(t, 10, 1, NR_ftruncate, 0, 3, 2, 0, 0);
        sc(t, 10, 1, NR_write, 4, 3, 0, 4, 0);            /* lands at the new end, 2 */
        ev = named(10, NR_truncate, 0, 0, 100, 0, 0, 1, (const char *[]) { "\"/log\"" },
                   (const char *[]) { "NORMAL" });
        tracker_handle_event(t, &ev);
        sc(t, 10, 1, NR_write, 1, 3, 0, 1, 0);            /* at 100 */
        /* i386 ftruncate64(fd, low, high): 0x1_00000010 */
        ev = (AuditEvent) { .serial = ++serial, .has_syscall = true, .arch = AUDIT_ARCH_I386_VALUE,
                            .syscall = NR32_ftruncate64, .has_exit = true, .success = true, .exit = 0,
                            .a = { 3, 0x10, 1, 0 }, .pid = 10, .ppid = 1 };
        tracker_handle_event(t, &ev);
        sc(t, 10, 1, NR_write, 1, 3, 0, 1, 0);

        assert_int_equal(n_recs, 7);
        expect(0, ACTION_WRITE, 10, 3, "/log", U, 5);
        expect(1, ACTION_TRUNCATE, 10, 3, "/log", U, 0);
        assert_int_equal(recs[1].size, 2);
        expect(2, ACTION_WRITE, 10, 3, "/log", 2, 4);
        expect(3, ACTION_TRUNCATE, 10, -1, "/log", U, 0);
        assert_int_equal(recs[3].size, 100);
        expect(4, ACTION_WRITE, 10, 3, "/log", 100, 1);
        assert_int_equal(recs[5].size, 0x100000010LL);
        expect(6, ACTION_WRITE, 10, 3, "/log", 0x100000010LL, 1);
        tracker_free(t);
}

static void test_exec_name(void **state) {
        Tracker *t = tracker(0);
        AuditEvent ev;

        /* ./gunzip, a #! script run by dash: the name, then the interpreter */
        ev = named(10, NR_execve, 0, 0, 0, 0, 0, 3,
                   (const char *[]) { "\"./bin/gunzip\"", "\"/bin/sh\"", "\"/lib64/ld-linux-x86-64.so.2\"" },
                   (const char *[]) { "NORMAL", "NORMAL", "NORMAL" });
        ev.exe = "\"/usr/bin/dash\"";
        tracker_handle_event(t, &ev);
        assert_int_equal(n_recs, 1);
        expect(0, ACTION_EXEC, 10, -1, "/home/u/bin/gunzip", U, 0);
        assert_string_equal(recs[0].exe, "/usr/bin/dash");
        tracker_free(t);
}

static void test_nodes(void **state) {
        /* Two hosts of one collector's log, both with a pid 10 and fd 3. */
        Tracker *t = tracker(0);
        AuditEvent ev;

        ev = named(10, NR_open, 3, 0, 0, 0, 0, 1, (const char *[]) { "\"/a\"" }, (const char *[]) { "NORMAL" });
        ev.node = "alpha";
        tracker_handle_event(t, &ev);
        ev = named(10, NR_open, 3, 0, 0, 0, 0, 1, (const char *[]) { "\"/b\"" }, (const char *[]) { "NORMAL" });
        ev.node = "beta";
        tracker_handle_event(t, &ev);
        ev = named(10, NR_read, 7, 3, 0, 7, 0, 0, NULL, NULL);
        ev.node = "alpha";
        tracker_handle_event(t, &ev);
        ev = named(10, NR_read, 9, 3, 0, 9, 0, 0, NULL, NULL);
        ev.node = "beta";
        tracker_handle_event(t, &ev);
        ev = named(10, NR_read, 1, 3, 0, 1, 0, 0, NULL, NULL);
        ev.node = "alpha";
        tracker_handle_event(t, &ev);
        sc(t, 10, 1, NR_read, 1, 3, 0, 1, 0);             /* no node=: a third host */
        /* a rename on beta does not touch alpha's /a */
        ev = named(10, NR_rename, 0, 0, 0, 0, 0, 2, (const char *[]) { "\"/a\"", "\"/c\"" },
                   (const char *[]) { "DELETE", "CREATE" });
        ev.node = "beta";
        tracker_handle_event(t, &ev);
        ev = named(10, NR_read, 1, 3, 0, 1, 0, 0, NULL, NULL);
        ev.node = "alpha";
        tracker_handle_event(t, &ev);

        assert_int_equal(n_recs, 8);
        expect(2, ACTION_READ, 10, 3, "/a", 0, 7);
        assert_string_equal(recs[2].node, "alpha");
        expect(3, ACTION_READ, 10, 3, "/b", 0, 9);
        assert_string_equal(recs[3].node, "beta");
        expect(4, ACTION_READ, 10, 3, "/a", 7, 1);
        expect(5, ACTION_READ, 10, 3, NULL, U, 1);
        assert_string_equal(recs[5].node, "");
        expect(7, ACTION_READ, 10, 3, "/a", 8, 1);
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
                cmocka_unit_test(test_copy_calls),
                cmocka_unit_test(test_splice_pipe_sides),
                cmocka_unit_test(test_mmap),
                cmocka_unit_test(test_rename),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_truncate),
                cmocka_unit_test(test_exec_name),
                cmocka_unit_test(test_nodes),
                cmocka_unit_test(test_snapshot),
                cmocka_unit_test(test_snapshot_after_close),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
