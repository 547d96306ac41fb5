/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The workload behind the golden fixtures (tests/fixtures/workload*.log).
 *
 *   workload WORKDIR EXPECTED
 *
 * Inside WORKDIR (which must exist, be empty but for the helper copy
 * WORKDIR/helper-prog of this very binary, and contain no symlinks) it makes
 * known file system calls and writes the file actions that fsmon must derive
 * from them (tests/../notes semantics, see README "Test fixtures") as JSON
 * Lines to EXPECTED, which must lie outside WORKDIR.
 *
 * Expected values do not come from a second tracker: every offset the model
 * predicts is checked against the kernel's own file position (fstat +
 * FIONREAD, neither of which is audited), byte counts are the syscalls'
 * return values, descriptors are what the kernel handed out. Any mismatch
 * aborts, so a fixture is only written when the model agreed with the kernel
 * at every step.
 *
 * Calls on WORKDIR files go through syscall() so that the audited syscall is
 * the one named here, on both x86_64 and i386 (libc would pick openat for
 * open, fcntl64 on i386, and so on). arm64 (asm-generic) has no open, creat,
 * dup2, mkdir, rename, unlink, rmdir: there the sys_*() macros make them
 * openat, dup3, mkdirat, renameat and unlinkat, which give the same actions.
 * Expectations are collected in a shared anonymous mapping (children append
 * to it without any syscall) and written at the very end, to a file outside
 * WORKDIR.
 *
 * Processes: main; a fork child; a vfork child; a clone child without
 * CLONE_FILES; a clone child with CLONE_FILES; a clone(CLONE_VFORK) child
 * that execs WORKDIR/helper-prog ("--helper FD COUNT": reads COUNT bytes
 * from FD); a clone3(CLONE_VFORK) child that execs it too; a fork child that
 * execs it. With --lifecycle, only the cases of run_lifecycle().
 * Two threads share main's table.
 */
#ifndef _GNU_SOURCE
#  define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef SYS_open
#  define sys_open(path, ...) syscall(SYS_open, path, __VA_ARGS__)
#  define sys_creat(path, mode) syscall(SYS_creat, path, mode)
#  define sys_dup2(old, new) syscall(SYS_dup2, old, new)
#else
#  define sys_open(path, ...) syscall(SYS_openat, AT_FDCWD, path, __VA_ARGS__)
#  define sys_creat(path, mode) syscall(SYS_openat, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode)
/* Never called with old == new here (dup3 refuses that, dup2 does nothing). */
#  define sys_dup2(old, new) syscall(SYS_dup3, old, new, 0)
#endif
#ifdef SYS_rename
#  define sys_mkdir(path, mode) syscall(SYS_mkdir, path, mode)
#  define sys_rename(from, to) syscall(SYS_rename, from, to)
#  define sys_unlink(path) syscall(SYS_unlink, path)
#  define sys_rmdir(path) syscall(SYS_rmdir, path)
#else
#  define sys_mkdir(path, mode) syscall(SYS_mkdirat, AT_FDCWD, path, mode)
#  define sys_rename(from, to) syscall(SYS_renameat, AT_FDCWD, from, AT_FDCWD, to)
#  define sys_unlink(path) syscall(SYS_unlinkat, AT_FDCWD, path, 0)
#  define sys_rmdir(path) syscall(SYS_unlinkat, AT_FDCWD, path, AT_REMOVEDIR)
#endif

#define MAX_FD 1100
#define MAX_DESC 256
#define OUT_MAX (1024 * 1024)
#define OFF_NULL INT64_MIN

typedef struct Desc {
        char path[PATH_MAX];
        int64_t pos;            /* OFF_NULL: not known to the tracker */
        int64_t eof;            /* end of file for O_APPEND, OFF_NULL: not known */
        bool append;
        bool dir;
        bool listed;
} Desc;

/* Shared between all processes of the workload (MAP_SHARED): descriptions
 * are shared across fork, and so is the expectation buffer. */
typedef struct Shared {
        volatile int go;
        volatile int handoff;
        size_t out_len;
        char out[OUT_MAX];
        size_t n_descs;
        Desc descs[MAX_DESC];
} Shared;

/* Per process (copied by fork): the descriptor table as the tracker sees it. */
typedef struct Slot {
        Desc *desc;
        bool cloexec;
} Slot;

static Shared *shared;
static Slot table[MAX_FD];
static char workdir[PATH_MAX];

_Noreturn static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "workload[%d]: ", (int) getpid());
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        _exit(2);
}

static const char *wpath(const char *rel) {
        /* A small ring, so a few results can be used at once. */
        static char buf[8][PATH_MAX];
        static unsigned i;
        char *p = buf[i++ % 8];

        int n;

        if (rel[0] == '\0')
                n = snprintf(p, PATH_MAX, "%s", workdir);
        else
                n = snprintf(p, PATH_MAX, "%s/%s", workdir, rel);
        if (n < 0 || n >= PATH_MAX)
                die("path too long");
        return p;
}

/* ---- expectation output ---- */

static void out_raw(const char *s, size_t n) {
        if (shared->out_len + n >= OUT_MAX)
                die("expectation buffer full");
        memcpy(shared->out + shared->out_len, s, n);
        shared->out_len += n;
}

static void out_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out_fmt(const char *fmt, ...) {
        char buf[512];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= sizeof buf)
                die("format overflow");
        out_raw(buf, n);
}

static void out_json_string(const char *s) {
        out_raw("\"", 1);
        for (; *s; s++) {
                unsigned char c = *s;

                if (c == '"' || c == '\\')
                        out_fmt("\\%c", c);
                else if (c < 0x20)
                        out_fmt("\\u%04x", c);
                else
                        out_raw((const char *) &c, 1);
        }
        out_raw("\"", 1);
}

static void out_path(const Desc *d) {
        if (d)
                out_json_string(d->path);
        else
                out_raw("null", 4);
}

static void out_offset(int64_t off) {
        if (off == OFF_NULL)
                out_raw("null", 4);
        else
                out_fmt("%" PRId64, off);
}

static void expect_open(const char *op, int fd) {
        out_fmt("{\"op\":\"%s\",\"pid\":%d,\"path\":", op, (int) getpid());
        out_path(table[fd].desc);
        out_fmt(",\"fd\":%d}\n", fd);
}

static void expect_io(const char *op, int fd, int64_t offset, long bytes) {
        out_fmt("{\"op\":\"%s\",\"pid\":%d,\"path\":", op, (int) getpid());
        out_path(table[fd].desc);
        out_fmt(",\"fd\":%d,\"offset\":", fd);
        out_offset(offset);
        out_fmt(",\"bytes\":%ld}\n", bytes);
}

static void expect_lseek(int fd, int64_t offset) {
        out_fmt("{\"op\":\"lseek\",\"pid\":%d,\"path\":", (int) getpid());
        out_path(table[fd].desc);
        out_raw(",\"offset\":", 10);
        out_offset(offset);
        out_fmt(",\"fd\":%d}\n", fd);
}

static void expect_dup(int old_fd, int new_fd) {
        out_fmt("{\"op\":\"dup\",\"pid\":%d,\"old_fd\":%d,\"new_fd\":%d,\"path\":",
                (int) getpid(), old_fd, new_fd);
        out_path(table[old_fd].desc);
        out_raw("}\n", 2);
}

static void expect_fork(pid_t parent, pid_t child) {
        out_fmt("{\"op\":\"fork\",\"pid\":%d,\"child\":%d}\n", (int) parent, (int) child);
}

/* ---- checks against the kernel (fstat and ioctl are not audited) ---- */

static int64_t kernel_pos(int fd) {
        struct stat st;
        int unread;

        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                die("fstat(%d): %m", fd);
        /* FIONREAD on a regular file: i_size - f_pos. */
        if (ioctl(fd, FIONREAD, &unread) < 0)
                die("FIONREAD(%d): %m", fd);
        return (int64_t) st.st_size - unread;
}

static int64_t kernel_size(int fd) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                die("fstat(%d): %m", fd);
        return st.st_size;
}

static void check_pos(int fd) {
        Desc *d = table[fd].desc;
        int64_t k;

        if (!d)
                die("fd %d not in model", fd);
        /* FIONREAD reports an int: positions far past the end do not fit;
         * there the lseek return value is the kernel's word. */
        if (d->pos != OFF_NULL && d->pos > INT32_MAX)
                return;
        k = kernel_pos(fd);
        if (d->pos != OFF_NULL && d->pos != k)
                die("%s (fd %d): model position %" PRId64 ", kernel %" PRId64,
                    d->path, fd, d->pos, k);
        if (d->pos == OFF_NULL)
                d->pos = k;     /* the truth, for our own later checks only */
}

/* ---- the model ---- */

static Desc *desc_new(const char *path) {
        Desc *d;

        if (shared->n_descs >= MAX_DESC)
                die("too many descriptions");
        d = &shared->descs[shared->n_descs++];
        snprintf(d->path, sizeof d->path, "%s", path);
        d->pos = 0;
        d->eof = OFF_NULL;
        return d;
}

/* An open-type call returned fd for the file whose normalised absolute name is
 * path. created: the call created the file (PATH nametype=CREATE). */
static int track_open(long fd, const char *what, const char *path, int flags, bool created) {
        struct stat st;
        Desc *d;

        if (fd < 0)
                die("%s %s: %s", what, path, strerror(errno));
        if (fd >= MAX_FD || table[fd].desc)
                die("%s %s: unexpected fd %ld", what, path, fd);
        if (fstat(fd, &st) < 0)
                die("fstat: %m");

        d = desc_new(path);
        d->dir = S_ISDIR(st.st_mode);
        d->append = flags & O_APPEND;
        if (d->append && ((flags & O_TRUNC) || created))
                d->eof = st.st_size;
        table[fd] = (Slot) { .desc = d, .cloexec = flags & O_CLOEXEC };

        if (!d->dir) {
                if (created && st.st_size != 0)
                        die("%s: created file not empty", path);
                expect_open("open", fd);
                check_pos(fd);
        }
        return (int) fd;
}

static void track_close(int fd) {
        Desc *d = table[fd].desc;

        if (!d)
                die("close of untracked fd %d", fd);
        /* A directory that was never listed leaves no trace. */
        if (!d->dir || d->listed)
                expect_open("close", fd);
        table[fd] = (Slot) {};
}

static void w_close(int fd) {
        if (syscall(SYS_close, fd) < 0)
                die("close(%d): %m", fd);
        track_close(fd);
}

/* Position-moving transfers (read, write, readv, writev). */
static long w_xfer(const char *op, int fd, long r) {
        Desc *d = table[fd].desc;
        bool is_write = op[0] == 'w';
        int64_t offset;

        if (r < 0)
                die("%s(%d): %m", op, fd);
        if (is_write && d->append) {
                /* The write landed at the end of the file; the tracker knows
                 * where that is only for descriptions that created or
                 * truncated the file. */
                offset = d->eof;
                if (offset != OFF_NULL && kernel_size(fd) != offset + r)
                        die("%s: append model eof %" PRId64 " wrong", d->path, offset);
                if (d->eof != OFF_NULL)
                        d->eof += r;
                d->pos = d->eof;
        } else {
                offset = d->pos;
                if (d->pos != OFF_NULL)
                        d->pos += r;
        }
        expect_io(op, fd, offset, r);
        if (d->pos != OFF_NULL)
                check_pos(fd);
        return r;
}

static char iobuf[4096];

static long w_read(int fd, size_t n) {
        return w_xfer("read", fd, syscall(SYS_read, fd, iobuf, n));
}

static long w_write(int fd, const char *s, size_t n) {
        return w_xfer("write", fd, syscall(SYS_write, fd, s, n));
}

#define OFF_ARGS(off) (long) (off), (long) ((uint64_t) (off) >> 32)

static long w_positional(const char *op, int fd, int64_t off, long r) {
        Desc *d = table[fd].desc;
        int64_t before = d->pos;

        if (r < 0)
                die("%s(%d): %m", op, fd);
        expect_io(op, fd, off, r);
        if (d->pos != before)
                die("model moved");
        check_pos(fd);  /* the kernel did not move it either */
        return r;
}

static long w_lseek(int fd, long off, int whence) {
        long r = syscall(SYS_lseek, fd, off, whence);

        if (r < 0)
                die("lseek(%d): %m", fd);
        table[fd].desc->pos = r;
        expect_lseek(fd, r);
        check_pos(fd);
        return r;
}

/* dup, dup2, dup3, fcntl(F_DUPFD*): new_fd came back from the kernel. */
static int track_dup(int old_fd, long new_fd, bool cloexec) {
        if (new_fd < 0)
                die("dup(%d): %m", old_fd);
        if (new_fd >= MAX_FD)
                die("dup: fd %ld", new_fd);
        if (table[new_fd].desc && new_fd != old_fd)
                track_close(new_fd);    /* dup2/dup3 replaced an open fd */
        expect_dup(old_fd, new_fd);
        table[new_fd] = (Slot) { .desc = table[old_fd].desc, .cloexec = cloexec };
        return (int) new_fd;
}

/* exit_group of the last user of a table: close what has a known path. */
static void expect_exit(bool last_user) {
        out_fmt("{\"op\":\"exit\",\"pid\":%d}\n", (int) getpid());
        if (!last_user)
                return;
        for (int fd = 0; fd < MAX_FD; fd++)
                if (table[fd].desc) {
                        /* A directory never listed: left out on purpose. */
                        if (table[fd].desc->dir && !table[fd].desc->listed)
                                die("unlisted directory fd %d open at exit", fd);
                        expect_open("close", fd);
                }
}

/* getdents64: the first call on a description lists the directory. */
static long w_getdents(int fd) {
        static char buf[32768];
        Desc *d = table[fd].desc;
        long r = syscall(SYS_getdents64, fd, buf, sizeof buf);

        if (r < 0)
                die("getdents64(%d): %m", fd);
        if (!d->dir)
                die("getdents64 on a file");
        if (!d->listed) {
                d->listed = true;
                expect_open("opendir", fd);
        }
        return r;
}

/* Creates name (relative to the working directory) whose normalised
 * absolute name is path. */
static void write_file_at(const char *name, const char *path, const char *content) {
        int fd = track_open(syscall(SYS_openat, AT_FDCWD, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644),
                            "openat", path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, true);
        w_write(fd, content, strlen(content));
        w_close(fd);
}

static void write_file(const char *rel, const char *content) {
        write_file_at(rel, wpath(rel), content);
}

static void wait_child(pid_t pid) {
        int status;

        if (waitpid(pid, &status, 0) != pid)
                die("waitpid: %m");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                die("child %d failed (status 0x%x)", (int) pid, status);
}

/* A child spins (no syscalls, so nothing audited) until its parent's
 * fork/clone has returned: the parent's event is then logged before any of
 * the child's, as a tracker reading the log in order would like it. The
 * vfork child cannot wait, so that case covers the other order. */
static void child_wait_go(void) {
        while (!shared->go)
                sched_yield();
        shared->go = 0;
}

static void parent_go(void) {
        shared->go = 1;
}

/* ---- calls beyond open/read/write ---- */

/* An op with a path only (mkdir, unlink, rmdir). */
static void expect_name(const char *op, const char *path) {
        out_fmt("{\"op\":\"%s\",\"pid\":%d,\"path\":", op, (int) getpid());
        out_json_string(path);
        out_raw("}\n", 2);
}

static void w_mkdir(const char *name, const char *path) {
        if (sys_mkdir(name, 0755) < 0)
                die("mkdir %s: %m", name);
        expect_name("mkdir", path);
}

#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* One side of copy_file_range, sendfile or splice on a tracked file: with
 * an offset pointer (ptr) at an offset the tracker cannot know, position
 * unmoved; else as read or write. */
static void copy_side(const char *op, const char *via, int fd, bool ptr, long r) {
        Desc *d = table[fd].desc;
        bool is_write = op[0] == 'w';
        int64_t offset;

        if (ptr)
                offset = OFF_NULL;
        else if (is_write && d->append)
                offset = d->eof;
        else
                offset = d->pos;
        out_fmt("{\"op\":\"%s\",\"pid\":%d,\"path\":", op, (int) getpid());
        out_path(d);
        out_fmt(",\"fd\":%d,\"offset\":", fd);
        out_offset(offset);
        out_fmt(",\"bytes\":%ld,\"via\":\"%s\"}\n", r, via);
        if (!ptr && d->pos != OFF_NULL)
                d->pos = offset == OFF_NULL ? OFF_NULL : offset + r;
        if (is_write && d->eof != OFF_NULL)
                d->eof = offset == OFF_NULL ? OFF_NULL : MAX(d->eof, offset + r);
        if (d->pos != OFF_NULL)
                check_pos(fd);
}

/* A rename of from to to (normalised absolute names): every description on
 * from, or below it, is on to now. */
static void model_rename(const char *from, const char *to) {
        size_t n = strlen(from);

        out_fmt("{\"op\":\"rename\",\"pid\":%d,\"path\":", (int) getpid());
        out_json_string(from);
        out_raw(",\"new_path\":", 12);
        out_json_string(to);
        out_raw("}\n", 2);
        for (size_t i = 0; i < shared->n_descs; i++) {
                Desc *d = &shared->descs[i];
                char tmp[PATH_MAX];

                if (strncmp(d->path, from, n) != 0 || (d->path[n] != 0 && d->path[n] != '/'))
                        continue;
                if (snprintf(tmp, sizeof tmp, "%s%s", to, d->path + n) >= (int) sizeof tmp)
                        die("path too long");
                memcpy(d->path, tmp, sizeof tmp);
        }
}

static void expect_truncate(int fd, const char *path, int64_t size) {
        out_fmt("{\"op\":\"truncate\",\"pid\":%d,\"path\":", (int) getpid());
        out_json_string(path);
        if (fd >= 0)
                out_fmt(",\"fd\":%d", fd);
        out_fmt(",\"size\":%" PRId64 "}\n", size);
}

/* ---- the threads ---- */

static int thread_fd = -1;

static void *thread_open(void *arg) {
        thread_fd = track_open(syscall(SYS_openat, AT_FDCWD, "thread.txt", O_RDWR | O_CREAT | O_TRUNC, 0644),
                               "openat", wpath("thread.txt"), O_RDWR | O_CREAT | O_TRUNC, true);
        w_write(thread_fd, "twenty bytes, thread", 20);
        return NULL;
}

static void *thread_read(void *arg) {
        w_lseek(thread_fd, 0, SEEK_SET);
        w_read(thread_fd, 15);
        return NULL;
}

static void run_thread(void *(*fn)(void *)) {
        pthread_t t;

        if (pthread_create(&t, NULL, fn, NULL) != 0 || pthread_join(t, NULL) != 0)
                die("thread");
}


/* In a child about to exec the helper (argv "--helper FD COUNT"): the exec,
 * its closing of close-on-exec fds, the helper's read of count bytes from fd
 * at the shared position, its exit. */
static void expect_exec(pid_t pid, const char *name, const char *exe) {
        out_fmt("{\"op\":\"exec\",\"pid\":%d,\"path\":", (int) pid);
        out_json_string(name);
        out_raw(",\"exe\":", 7);
        out_json_string(exe);
        out_raw("}\n", 2);
}

static void expect_exec_helper(const char *helper, int fd, int count) {
        expect_exec(getpid(), helper, helper);
        for (int i = 0; i < MAX_FD; i++)
                if (table[i].desc && table[i].cloexec)
                        track_close(i);
        out_fmt("{\"op\":\"read\",\"pid\":%d,\"path\":", (int) getpid());
        out_path(table[fd].desc);
        out_fmt(",\"fd\":%d,\"offset\":%" PRId64 ",\"bytes\":%d}\n", fd, table[fd].desc->pos, count);
        expect_exit(true);
}

/* clone3 with CLONE_VFORK and no CLONE_VM: the parent waits until the child
 * execs or exits, the child runs on a copy of the parent's memory. */
static pid_t clone3_vfork(void) {
        struct clone_args ca = { .flags = CLONE_VFORK, .exit_signal = SIGCHLD };
        long pid = syscall(SYS_clone3, &ca, sizeof ca);

        if (pid < 0)
                die("clone3: %m");
        return (pid_t) pid;
}

static void write_expected(const char *name) {
        long fd = sys_open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0)
                die("%s: %m", name);
        if (write(fd, shared->out, shared->out_len) != (ssize_t) shared->out_len || close(fd) < 0)
                die("%s: %m", name);
}

/* --lifecycle: children whose whole lives are logged before their
 * parent's clone event (the kernel stamps an event's time at syscall entry
 * and logs it at exit; CLONE_VFORK holds the parent until the child has
 * exited): a clone3 child, and a clone(CLONE_FILES) child that opens a file
 * the parent then writes through; and an orphan. A fixture of its own, so
 * that the main ones stay green while a decoder gets these wrong. */
static void run_lifecycle(const char *expected) {
        pid_t main_pid = getpid(), pid;
        int f, h;

        f = track_open(syscall(SYS_openat, AT_FDCWD, "c3.txt", O_RDWR | O_CREAT | O_EXCL, 0644), "openat",
                       wpath("c3.txt"), O_RDWR | O_CREAT | O_EXCL, true);
        w_write(f, "0123456789abcdefghij", 20);
        w_lseek(f, 0, SEEK_SET);
        pid = clone3_vfork();
        if (pid == 0) {
                w_read(f, 3);
                w_lseek(f, 2, SEEK_CUR);
                expect_exit(true);
                syscall(SYS_exit_group, 0);
        }
        expect_fork(main_pid, pid);
        wait_child(pid);
        w_read(f, 4);                   /* at 5, where the child left it */

        pid = syscall(SYS_clone, CLONE_FILES | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0);
        if (pid < 0)
                die("clone: %m");
        if (pid == 0) {
                int fd = track_open(syscall(SYS_openat, AT_FDCWD, "shared-vfork.txt", O_WRONLY | O_CREAT | O_EXCL, 0644),
                                    "openat", wpath("shared-vfork.txt"), O_WRONLY | O_CREAT | O_EXCL, true);

                w_write(fd, "abc", 3);
                shared->handoff = fd;
                expect_exit(false);     /* the parent still uses the table */
                syscall(SYS_exit_group, 0);
        }
        expect_fork(main_pid, pid);
        wait_child(pid);
        h = shared->handoff;
        table[h] = (Slot) { .desc = &shared->descs[shared->n_descs - 1] };
        w_write(h, "defg", 4);
        w_close(h);

        /* An orphan keeps its descriptors: A forks B and is killed (no
         * exit_group, so no exit record); B, adopted by this process (a
         * subreaper, so its ppid changes to ours), reads through the fd it
         * inherited via A. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                die("PR_SET_CHILD_SUBREAPER: %m");
        shared->handoff = 0;
        pid = fork();
        if (pid < 0)
                die("fork: %m");
        if (pid == 0) {
                pid_t b;
                int o;

                child_wait_go();
                /* A file only A and B have: this process never had it. */
                o = track_open(syscall(SYS_openat, AT_FDCWD, "orphan.txt", O_RDWR | O_CREAT | O_EXCL, 0644),
                               "openat", wpath("orphan.txt"), O_RDWR | O_CREAT | O_EXCL, true);
                w_write(o, "orphaned", 8);
                w_lseek(o, 2, SEEK_SET);
                b = fork();
                if (b < 0)
                        die("fork: %m");
                if (b == 0) {
                        while (getppid() != main_pid)
                                sched_yield();
                        w_read(f, 2);
                        w_read(o, 4);
                        expect_exit(true);
                        syscall(SYS_exit_group, 0);
                }
                expect_fork(getpid(), b);
                shared->handoff = b;
                kill(getpid(), SIGKILL);
                _exit(7);
        }
        expect_fork(main_pid, pid);
        parent_go();
        {
                int status;

                if (waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
                        die("orphaning parent did not die by SIGKILL");
        }
        wait_child(shared->handoff);
        w_read(f, 1);                   /* at 12: after B's 2 bytes */

        expect_exit(true);
        write_expected(expected);
        syscall(SYS_exit_group, 0);
}

/* The calls beyond the old tool's ten (see the contract): in-kernel copies,
 * maps, renames, deletions, truncation, a script executed by name. */
static void run_beyond(const char *helper) {
        pid_t main_pid = getpid(), pid;
        int src, dst, p[2], m, r1, r2, rf, tl, sc;
        loff_t off;
        long r;
        void *map;
        char line[PATH_MAX + 32];

        src = track_open(syscall(SYS_openat, AT_FDCWD, "copy-src.txt", O_RDWR | O_CREAT | O_EXCL, 0644),
                         "openat", wpath("copy-src.txt"), O_RDWR | O_CREAT | O_EXCL, true);
        for (int i = 0; i < 4; i++)
                w_write(src, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 62);
        w_lseek(src, 0, SEEK_SET);
        dst = track_open(syscall(SYS_openat, AT_FDCWD, "copy-dst.txt", O_RDWR | O_CREAT | O_EXCL, 0644),
                         "openat", wpath("copy-dst.txt"), O_RDWR | O_CREAT | O_EXCL, true);

        /* copy_file_range: both positions; an off_in pointer; an off_out pointer. */
        r = syscall(SYS_copy_file_range, src, NULL, dst, NULL, 40, 0);
        if (r != 40)
                die("copy_file_range: %ld %m", r);
        copy_side("read", "copy_file_range", src, false, r);
        copy_side("write", "copy_file_range", dst, false, r);
        off = 100;
        r = syscall(SYS_copy_file_range, src, &off, dst, NULL, 20, 0);
        if (r != 20)
                die("copy_file_range: %ld %m", r);
        copy_side("read", "copy_file_range", src, true, r);
        copy_side("write", "copy_file_range", dst, false, r);
        off = 200;
        r = syscall(SYS_copy_file_range, src, NULL, dst, &off, 15, 0);
        if (r != 15)
                die("copy_file_range: %ld %m", r);
        copy_side("read", "copy_file_range", src, false, r);
        copy_side("write", "copy_file_range", dst, true, r);
        w_write(dst, "after", 5);       /* at 60: the pointer did not move it */

        /* sendfile(out, in, NULL, n), and with an offset pointer (i386:
         * sendfile64 with a 64-bit one). */
        r = syscall(SYS_sendfile, dst, src, NULL, 10);
        if (r != 10)
                die("sendfile: %ld %m", r);
        copy_side("read", "sendfile", src, false, r);
        copy_side("write", "sendfile", dst, false, r);
        off = 7;
#ifdef SYS_sendfile64
        r = syscall(SYS_sendfile64, dst, src, &off, 12);
#else
        r = syscall(SYS_sendfile, dst, src, &off, 12);
#endif
        if (r != 12)
                die("sendfile: %ld %m", r);
        copy_side("read", "sendfile", src, true, r);
        copy_side("write", "sendfile", dst, false, r);

        /* splice through a pipe the tracker never saw made (pipe2 is not
         * audited): the file sides only, with and without pointers. */
        if (syscall(SYS_pipe2, p, O_CLOEXEC) < 0)
                die("pipe2: %m");
        r = syscall(SYS_splice, src, NULL, p[1], NULL, 8, 0);
        if (r != 8)
                die("splice: %ld %m", r);
        copy_side("read", "splice", src, false, r);
        r = syscall(SYS_splice, p[0], NULL, dst, NULL, 8, 0);
        if (r != 8)
                die("splice: %ld %m", r);
        copy_side("write", "splice", dst, false, r);
        off = 3;
        r = syscall(SYS_splice, src, &off, p[1], NULL, 6, 0);
        if (r != 6)
                die("splice: %ld %m", r);
        copy_side("read", "splice", src, true, r);
        off = 500;
        r = syscall(SYS_splice, p[0], NULL, dst, &off, 6, 0);
        if (r != 6)
                die("splice: %ld %m", r);
        copy_side("write", "splice", dst, true, r);
        if (syscall(SYS_close, p[0]) < 0 || syscall(SYS_close, p[1]) < 0)
                die("close pipe: %m");
        w_read(src, 5);

        /* mmap: a shared writable map of the whole file, a read-only private
         * map of its second page; an anonymous map gives nothing. */
        m = track_open(syscall(SYS_openat, AT_FDCWD, "map.dat", O_RDWR | O_CREAT | O_EXCL, 0644),
                       "openat", wpath("map.dat"), O_RDWR | O_CREAT | O_EXCL, true);
        memset(iobuf, 'm', sizeof iobuf);
        w_write(m, iobuf, 4096);
        w_write(m, iobuf, 4096);
#ifdef SYS_mmap2
#  define MMAP_CALL(len, prot, flags, fd, pages) syscall(SYS_mmap2, NULL, (len), (prot), (flags), (fd), (pages))
#else
#  define MMAP_CALL(len, prot, flags, fd, pages) syscall(SYS_mmap, NULL, (len), (prot), (flags), (fd), (pages) * 4096L)
#endif
        map = (void *) MMAP_CALL(8192, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
        if (map == MAP_FAILED)
                die("mmap: %m");
        out_fmt("{\"op\":\"mmap\",\"pid\":%d,\"path\":", (int) getpid());
        out_path(table[m].desc);
        out_fmt(",\"fd\":%d,\"offset\":null,\"bytes\":8192}\n", m);
        memcpy(map, "through memory", 14);      /* invisible to audit */
        if (munmap(map, 8192) < 0)
                die("munmap: %m");
        map = (void *) MMAP_CALL(4096, PROT_READ, MAP_PRIVATE, m, 1);
        if (map == MAP_FAILED)
                die("mmap: %m");
        out_fmt("{\"op\":\"mmap\",\"pid\":%d,\"path\":", (int) getpid());
        out_path(table[m].desc);
        out_fmt(",\"fd\":%d,\"offset\":null,\"bytes\":4096}\n", m);
        if (munmap(map, 4096) < 0)
                die("munmap: %m");
        map = (void *) MMAP_CALL(4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (map == MAP_FAILED || munmap(map, 4096) < 0)
                die("anonymous mmap: %m");
        check_pos(m);                   /* maps do not move it */
        w_close(m);

        /* rename over a file that is open, then written through the old fd
         * (the new name); the replaced file's own fd keeps its name. */
        r1 = track_open(syscall(SYS_openat, AT_FDCWD, "ren-old.txt", O_RDWR | O_CREAT | O_EXCL, 0644),
                        "openat", wpath("ren-old.txt"), O_RDWR | O_CREAT | O_EXCL, true);
        w_write(r1, "old", 3);
        r2 = track_open(syscall(SYS_openat, AT_FDCWD, "ren-target.txt", O_RDWR | O_CREAT | O_EXCL, 0644),
                        "openat", wpath("ren-target.txt"), O_RDWR | O_CREAT | O_EXCL, true);
        w_write(r2, "target", 6);
        if (sys_rename("ren-old.txt", "ren-target.txt") < 0)
                die("rename: %m");
        {
                /* r2's description is not on ren-old.txt: its name stays. */
                char keep[PATH_MAX];

                snprintf(keep, sizeof keep, "%s", table[r2].desc->path);
                model_rename(wpath("ren-old.txt"), wpath("ren-target.txt"));
                snprintf(table[r2].desc->path, sizeof keep, "%s", keep);
        }
        w_write(r1, " written after", 14);
        w_close(r2);

        /* A directory renamed (renameat2, RENAME_NOREPLACE) with a file
         * open below it; mkdirat relative to a directory fd. */
        w_mkdir("rdir", wpath("rdir"));
        {
                int dfd = track_open(syscall(SYS_openat, AT_FDCWD, "rdir", O_RDONLY | O_DIRECTORY), "openat",
                                     wpath("rdir"), O_RDONLY | O_DIRECTORY, false);

                if (syscall(SYS_mkdirat, dfd, "inner", 0755) < 0)
                        die("mkdirat: %m");
                expect_name("mkdir", wpath("rdir/inner"));
                rf = track_open(syscall(SYS_openat, dfd, "inner/f.txt", O_WRONLY | O_CREAT | O_EXCL, 0644),
                                "openat", wpath("rdir/inner/f.txt"), O_WRONLY | O_CREAT | O_EXCL, true);
                w_write(rf, "before ", 7);
                if (syscall(SYS_renameat2, AT_FDCWD, "rdir", AT_FDCWD, "rdir-moved", 1 /* RENAME_NOREPLACE */) < 0)
                        die("renameat2: %m");
                model_rename(wpath("rdir"), wpath("rdir-moved"));
                w_write(rf, "after", 5);
                w_close(rf);
                /* renameat relative to the moved directory's fd */
                if (syscall(SYS_renameat, dfd, "inner/f.txt", AT_FDCWD, "rdir-moved/f2.txt") < 0)
                        die("renameat: %m");
                model_rename(wpath("rdir-moved/inner/f.txt"), wpath("rdir-moved/f2.txt"));
                w_close(dfd);
        }

        /* Deletions: unlink, unlinkat, unlinkat(AT_REMOVEDIR), rmdir. */
        if (sys_unlink("rdir-moved/f2.txt") < 0)
                die("unlink: %m");
        expect_name("unlink", wpath("rdir-moved/f2.txt"));
        if (syscall(SYS_unlinkat, AT_FDCWD, "rdir-moved/inner", AT_REMOVEDIR) < 0)
                die("unlinkat: %m");
        expect_name("rmdir", wpath("rdir-moved/inner"));
        if (sys_rmdir("rdir-moved") < 0)
                die("rmdir: %m");
        expect_name("rmdir", wpath("rdir-moved"));
        w_close(dst);
        if (syscall(SYS_unlinkat, AT_FDCWD, "copy-dst.txt", 0) < 0)
                die("unlinkat: %m");
        expect_name("unlink", wpath("copy-dst.txt"));
        if (sys_rmdir("no-such-dir") >= 0 || errno != ENOENT)
                die("rmdir no-such-dir succeeded");

        /* ftruncate, then O_APPEND writes: on an existing file the end is
         * not known until the truncation says it; truncate(path) too. */
        write_file("trunc.log", "seventeen bytes..");
        tl = track_open(syscall(SYS_openat, AT_FDCWD, "trunc.log", O_WRONLY | O_APPEND), "openat",
                        wpath("trunc.log"), O_WRONLY | O_APPEND, false);
        w_write(tl, "x", 1);            /* end not known: offset null */
#ifdef SYS_ftruncate64
        if (syscall(SYS_ftruncate64, tl, OFF_ARGS(4)) < 0)
#else
        if (syscall(SYS_ftruncate, tl, 4L) < 0)
#endif
                die("ftruncate: %m");
        expect_truncate(tl, wpath("trunc.log"), 4);
        table[tl].desc->eof = 4;
        w_write(tl, "yz", 2);           /* at 4 */
        if (syscall(SYS_truncate, "trunc.log", 2L) < 0)
                die("truncate: %m");
        expect_truncate(-1, wpath("trunc.log"), 2);
        table[tl].desc->eof = 2;
        w_write(tl, "w", 1);            /* at 2 */
        w_close(tl);
        w_close(src);

        /* A #! script executed by its name: the exec record names the
         * script, exe the interpreter (this program, --script). */
        snprintf(line, sizeof line, "#!%s --script\n", helper);
        sc = track_open(syscall(SYS_openat, AT_FDCWD, "script.sh", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755),
                        "openat", wpath("script.sh"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, true);
        w_write(sc, line, strlen(line));
        w_close(sc);
        pid = fork();
        if (pid < 0)
                die("fork: %m");
        if (pid == 0) {
                char *args[] = { (char *) "script.sh", NULL };
                char *noenv[] = { NULL };

                child_wait_go();
                syscall(SYS_execve, "script.sh", args, noenv);
                _exit(6);
        }
        expect_fork(main_pid, pid);
        {
                Slot copy[MAX_FD];

                memcpy(copy, table, sizeof copy);
                expect_exec(pid, wpath("script.sh"), helper);
                for (int i = 0; i < MAX_FD; i++)
                        if (copy[i].desc && copy[i].cloexec) {
                                out_fmt("{\"op\":\"close\",\"pid\":%d,\"path\":", (int) pid);
                                out_path(copy[i].desc);
                                out_fmt(",\"fd\":%d}\n", i);
                                copy[i].desc = NULL;
                        }
                out_fmt("{\"op\":\"exit\",\"pid\":%d}\n", (int) pid);
                for (int i = 0; i < MAX_FD; i++)
                        if (copy[i].desc) {
                                out_fmt("{\"op\":\"close\",\"pid\":%d,\"path\":", (int) pid);
                                out_path(copy[i].desc);
                                out_fmt(",\"fd\":%d}\n", i);
                        }
        }
        parent_go();
        wait_child(pid);
}

/* ---- main ---- */

static int helper_main(int argc, char **argv) {
        long r;

        if (argc >= 2 && strcmp(argv[1], "--script") == 0)
                return 0;       /* the interpreter of script.sh */
        if (argc != 4)
                return 3;
        r = syscall(SYS_read, atoi(argv[2]), iobuf, (size_t) atoi(argv[3]));
        return r == atoi(argv[3]) ? 0 : 4;
}

int main(int argc, char **argv) {
        const char *fill = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                           "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        int a, b, c, d, x, g, f, h, t, ap1, ap1d, ap2, ap3, subfd, d1, d2, d3, d4, d5, e;
        int ea, eb, ec, ed, ee, ef;
        struct iovec iov[2];
        char helper[PATH_MAX];
        pid_t pid, main_pid;
        struct open_how how;
        DIR *dir;

        if (argc >= 2 && (strcmp(argv[1], "--helper") == 0 || strcmp(argv[1], "--script") == 0))
                return helper_main(argc, argv);
        if (argc != 3 && !(argc == 4 && strcmp(argv[3], "--lifecycle") == 0))
                die("usage: workload WORKDIR EXPECTED [--lifecycle]");
        if (!realpath(argv[1], workdir) || strcmp(workdir, argv[1]) != 0)
                die("WORKDIR must be an absolute path without symlinks");
        if (strncmp(argv[2], workdir, strlen(workdir)) == 0)
                die("EXPECTED must be outside WORKDIR");
        snprintf(helper, sizeof helper, "%s", wpath("helper-prog"));
        if (access(helper, X_OK) < 0)
                die("%s: %m", helper);
        if (chdir(workdir) < 0)
                die("chdir: %m");

        shared = mmap(NULL, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED)
                die("mmap: %m");
        main_pid = getpid();
        if (argc == 4)
                run_lifecycle(argv[2]);

        /* open (the syscall) with an absolute name, creating the file. */
        a = track_open(sys_open(wpath("alpha.txt"), O_RDWR | O_CREAT | O_EXCL, 0644),
                       "open", wpath("alpha.txt"), O_RDWR | O_CREAT | O_EXCL, true);
        w_write(a, fill, 100);
        w_lseek(a, 0, SEEK_SET);
        w_read(a, 10);
        w_lseek(a, 5, SEEK_CUR);
        w_read(a, 10);
        w_lseek(a, -10, SEEK_END);
        w_read(a, 64);                  /* short read: 10 of 64 */
        w_read(a, 64);                  /* at end of file: 0 */
        w_read(a, 0);                   /* asks for nothing: 0 */
        w_positional("pread", a, 30, syscall(SYS_pread64, a, iobuf, 20, OFF_ARGS(30)));
        w_positional("pwrite", a, 40, syscall(SYS_pwrite64, a, "PWRITTEN", 8, OFF_ARGS(40)));
        w_lseek(a, 0, SEEK_SET);
        iov[0] = (struct iovec) { iobuf, 7 };
        iov[1] = (struct iovec) { iobuf + 100, 13 };
        w_xfer("readv", a, syscall(SYS_readv, a, iov, 2));
        iov[0] = (struct iovec) { (void *) "WRITV", 5 };
        iov[1] = (struct iovec) { (void *) "ECTORS", 6 };
        w_xfer("writev", a, syscall(SYS_writev, a, iov, 2));
        iov[0] = (struct iovec) { iobuf, 16 };
        w_positional("preadv", a, 50, syscall(SYS_preadv, a, iov, 1, OFF_ARGS(50)));
        iov[0] = (struct iovec) { (void *) "PWRV", 4 };
        iov[1] = (struct iovec) { (void *) "ECTO", 4 };
        w_positional("pwritev", a, 100, syscall(SYS_pwritev, a, iov, 2, OFF_ARGS(100)));
        w_read(a, 9);                   /* at 31: pwritev did not move it */
        if (syscall(SYS_lseek, a, -1000L, SEEK_SET) >= 0 || errno != EINVAL)
                die("lseek to -1000 succeeded");
#if defined(__x86_64__) || defined(__aarch64__)
        /* Offsets past 4 GiB (a3 and exit do not fit 32 bits). i386 passes
         * the high half of pread64's offset in a4, which audit does not log,
         * so this is for b64 only. */
        w_lseek(a, 5368709120L, SEEK_SET);
        w_read(a, 10);                  /* 0 bytes, far past the end */
        w_positional("pread", a, 5368709136L, syscall(SYS_pread64, a, iobuf, 10, OFF_ARGS(5368709136L)));
        w_lseek(a, 40, SEEK_SET);
        w_read(a, 0);
#else
        w_lseek(a, 40, SEEK_SET);
        w_read(a, 0);
#endif

        /* Failed calls leave no record (and move nothing). */
        if (sys_open(wpath("missing.txt"), O_RDONLY) >= 0 || errno != ENOENT)
                die("open missing.txt succeeded");
        if (syscall(SYS_read, 99, iobuf, 1) >= 0 || errno != EBADF)
                die("read(99) succeeded");
        if (syscall(SYS_close, 99) >= 0 || errno != EBADF)
                die("close(99) succeeded");

        /* creat */
        b = track_open(sys_creat("beta.dat", 0644), "creat", wpath("beta.dat"),
                       O_WRONLY | O_CREAT | O_TRUNC, true);
        w_write(b, fill, 50);
        if (syscall(SYS_read, b, iobuf, 1) >= 0 || errno != EBADF)      /* write-only */
                die("read on O_WRONLY succeeded");

        /* openat relative to a directory descriptor; a directory that is
         * opened and closed unlisted leaves no record. */
        w_mkdir("sub", wpath("sub"));
        subfd = track_open(sys_open(wpath("sub"), O_RDONLY | O_DIRECTORY), "open",
                           wpath("sub"), O_RDONLY | O_DIRECTORY, false);
        c = track_open(syscall(SYS_openat, subfd, "gamma.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644),
                       "openat", wpath("sub/gamma.txt"), O_WRONLY | O_CREAT | O_TRUNC, true);
        w_write(c, fill, 30);
        d = track_open(syscall(SYS_openat, subfd, "../alpha.txt", O_RDONLY), "openat",
                       wpath("alpha.txt"), O_RDONLY, false);
        w_read(d, 10);
        if (syscall(SYS_write, d, "x", 1) >= 0 || errno != EBADF)      /* read-only */
                die("write on O_RDONLY succeeded");
        w_close(d);
        /* An absolute name ignores the directory fd. */
        d = track_open(syscall(SYS_openat, subfd, wpath("beta.dat"), O_RDONLY), "openat",
                       wpath("beta.dat"), O_RDONLY, false);
        w_read(d, 7);
        w_close(d);

        /* openat2, relative to the working directory and to a directory fd */
        how = (struct open_how) { .flags = O_RDONLY };
        x = track_open(syscall(SYS_openat2, AT_FDCWD, "sub/gamma.txt", &how, sizeof how), "openat2",
                       wpath("sub/gamma.txt"), O_RDONLY, false);
        w_read(x, 100);                 /* short: 30 */
        w_close(x);
        how = (struct open_how) { .flags = O_RDWR | O_CREAT, .mode = 0644 };
        x = track_open(syscall(SYS_openat2, subfd, "delta.txt", &how, sizeof how), "openat2",
                       wpath("sub/delta.txt"), O_RDWR | O_CREAT, true);
        w_write(x, fill, 17);
        w_close(x);
        w_close(subfd);

        /* Names the kernel hex-encodes: space, quote, non-ASCII (UTF-8). */
        write_file("sp ace \"\xc3\xa9t\xc3\xa9\".txt", "hex-encoded name");
        x = track_open(sys_open(wpath("sp ace \"\xc3\xa9t\xc3\xa9\".txt"), O_RDONLY), "open",
                       wpath("sp ace \"\xc3\xa9t\xc3\xa9\".txt"), O_RDONLY, false);
        w_read(x, 4);
        w_close(x);

        /* Relative names after chdir, and .. in names. */
        if (chdir("sub") < 0)
                die("chdir: %m");
        x = track_open(sys_open("rel.txt", O_WRONLY | O_CREAT | O_EXCL, 0644), "open",
                       wpath("sub/rel.txt"), O_WRONLY | O_CREAT | O_EXCL, true);
        w_write(x, "relative", 8);
        w_close(x);
        x = track_open(syscall(SYS_openat, AT_FDCWD, "../sub/./rel.txt", O_RDONLY), "openat",
                       wpath("sub/rel.txt"), O_RDONLY, false);
        w_read(x, 8);
        w_close(x);
        if (chdir(workdir) < 0)
                die("chdir: %m");
        x = track_open(sys_open(wpath("sub/../alpha.txt"), O_RDONLY), "open",
                       wpath("alpha.txt"), O_RDONLY, false);
        w_lseek(x, 0, SEEK_END);
        w_close(x);

        /* A working directory the kernel hex-encodes in the CWD record, and
         * a newline in a name. */
        w_mkdir("d\xc3\xafr x", wpath("d\xc3\xafr x"));
        if (chdir("d\xc3\xafr x") < 0)
                die("dir: %m");
        write_file_at("f.txt", wpath("d\xc3\xafr x/f.txt"), "in a hex-encoded cwd");
        write_file_at("new\nline.txt", wpath("d\xc3\xafr x/new\nline.txt"), "newline");
        x = track_open(sys_open("./f.txt", O_RDONLY), "open", wpath("d\xc3\xafr x/f.txt"), O_RDONLY, false);
        w_read(x, 100);
        w_close(x);
        if (chdir(workdir) < 0)
                die("chdir: %m");

        /* Directories: each open file description is listed once; a second
         * getdents64 on it, and its dup'ed fds' calls, add nothing. */
        {
                int da, db;

                da = track_open(sys_open(wpath("sub"), O_RDONLY | O_DIRECTORY), "open",
                                wpath("sub"), O_RDONLY | O_DIRECTORY, false);
                db = track_open(syscall(SYS_openat, AT_FDCWD, "sub/", O_RDONLY | O_DIRECTORY), "openat",
                                wpath("sub"), O_RDONLY | O_DIRECTORY, false);
                w_getdents(da);
                w_getdents(da);
                w_getdents(db);
                w_close(da);
                w_close(db);
        }

        /* O_APPEND: on a file it creates (end known, also through a dup), on
         * an existing file without O_TRUNC (end not known), with O_TRUNC. */
        ap1 = track_open(syscall(SYS_openat, AT_FDCWD, "append-new.log", O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0644),
                         "openat", wpath("append-new.log"), O_WRONLY | O_CREAT | O_EXCL | O_APPEND, true);
        w_write(ap1, "first line\n", 11);
        w_write(ap1, "second\n", 7);
        ap1d = track_dup(ap1, syscall(SYS_dup, ap1), false);
        w_write(ap1d, "third\n", 6);
        w_write(ap1, "4\n", 2);
        ap2 = track_open(syscall(SYS_openat, AT_FDCWD, "beta.dat", O_WRONLY | O_APPEND), "openat",
                         wpath("beta.dat"), O_WRONLY | O_APPEND, false);
        w_write(ap2, "appended", 8);
        w_write(ap2, "again", 5);
        ap3 = track_open(syscall(SYS_openat, AT_FDCWD, "sub/gamma.txt", O_WRONLY | O_APPEND | O_TRUNC), "openat",
                         wpath("sub/gamma.txt"), O_WRONLY | O_APPEND | O_TRUNC, false);
        w_write(ap3, "truncated, then appended", 24);
        w_write(ap3, "!", 1);
        w_close(ap3);
        w_close(ap2);
        w_close(ap1d);
        /* O_CREAT on a file that exists creates nothing: end not known. */
        ap2 = track_open(syscall(SYS_openat, AT_FDCWD, "append-new.log", O_WRONLY | O_CREAT | O_APPEND, 0644),
                         "openat", wpath("append-new.log"), O_WRONLY | O_CREAT | O_APPEND, false);
        w_write(ap2, "5\n", 2);
        w_close(ap2);

        /* dup, dup2 over an open fd, dup2 to a free number, dup3 O_CLOEXEC,
         * fcntl F_DUPFD and F_DUPFD_CLOEXEC: all share a's position. */
        d1 = track_dup(a, syscall(SYS_dup, a), false);
        w_read(d1, 5);
        w_read(a, 5);
        x = track_open(syscall(SYS_openat, AT_FDCWD, "beta.dat", O_RDONLY), "openat",
                       wpath("beta.dat"), O_RDONLY, false);
        w_read(x, 3);
        d2 = track_dup(a, sys_dup2(a, x), false);     /* closes x first */
        w_read(d2, 2);
        d3 = track_dup(a, sys_dup2(a, 30), false);
        d4 = track_dup(a, syscall(SYS_dup3, a, 31, O_CLOEXEC), true);
        d5 = track_dup(a, syscall(SYS_fcntl, a, F_DUPFD, 20), false);
        e = track_dup(a, syscall(SYS_fcntl, a, F_DUPFD_CLOEXEC, 20), true);
        if (sys_dup2(99, 32) >= 0 || errno != EBADF)
                die("dup2(99) succeeded");
        w_lseek(d3, 3, SEEK_CUR);
        w_read(d4, 4);
        w_read(d5, 1);
        w_read(e, 1);
        w_close(d1);
        w_close(d3);
        w_close(d4);
        w_close(d5);
        w_close(e);

        /* close_range: closes 40, 41 and 43, ascending; 42 is not open. */
        track_dup(a, sys_dup2(a, 43), false);
        track_dup(b, sys_dup2(b, 41), false);
        track_dup(a, sys_dup2(a, 40), false);
        if (syscall(SYS_close_range, 40, 45, 0) < 0)
                die("close_range: %m");
        track_close(40);
        track_close(41);
        track_close(43);
        w_close(d2);

        /* A high descriptor number. */
        x = track_dup(a, sys_dup2(a, 1000), false);
        w_read(x, 3);
        w_close(x);

        /* Names that normalise: doubled slashes, "/." and ".." at the root. */
        {
                char name[PATH_MAX + 32];

                snprintf(name, sizeof name, "/..%s//sub/.///gamma.txt", workdir);
                x = track_open(sys_open(name, O_RDONLY), "open", wpath("sub/gamma.txt"), O_RDONLY, false);
                w_read(x, 5);
                w_close(x);
        }

        /* fork: the child reads through inherited descriptors and moves the
         * shared position; it closes g, which stays open in the parent. */
        f = track_open(syscall(SYS_openat, AT_FDCWD, "fork.txt", O_RDWR | O_CREAT | O_TRUNC, 0644),
                       "openat", wpath("fork.txt"), O_RDWR | O_CREAT | O_TRUNC, true);
        w_write(f, fill, 120);
        w_lseek(f, 0, SEEK_SET);
        w_read(f, 10);
        g = track_open(syscall(SYS_openat, AT_FDCWD, "beta.dat", O_RDONLY), "openat",
                       wpath("beta.dat"), O_RDONLY, false);
        pid = fork();
        if (pid < 0)
                die("fork: %m");
        if (pid == 0) {
                child_wait_go();
                w_read(f, 20);
                w_lseek(f, 5, SEEK_CUR);
                w_close(g);
                w_read(a, 1);
                expect_exit(true);
                _exit(0);
        }
        expect_fork(main_pid, pid);
        parent_go();
        wait_child(pid);
        w_read(f, 10);                  /* at 35, where the child left it */
        w_read(g, 6);

        /* vfork: the child runs before vfork returns in the parent, so its
         * events come before the parent's vfork event. The child only makes
         * one read and _exits; the parent writes the child's expectations. */
        {
                int64_t off = table[f].desc->pos;

                pid = vfork();
                if (pid < 0)
                        die("vfork: %m");
                if (pid == 0) {
                        syscall(SYS_read, f, iobuf, 7);
                        _exit(0);
                }
                wait_child(pid);
                expect_fork(main_pid, pid);
                out_fmt("{\"op\":\"read\",\"pid\":%d,\"path\":", (int) pid);
                out_path(table[f].desc);
                out_fmt(",\"fd\":%d,\"offset\":%" PRId64 ",\"bytes\":7}\n", f, off);
                out_fmt("{\"op\":\"exit\",\"pid\":%d}\n", (int) pid);
                for (int i = 0; i < MAX_FD; i++)
                        if (table[i].desc) {
                                out_fmt("{\"op\":\"close\",\"pid\":%d,\"path\":", (int) pid);
                                out_path(table[i].desc);
                                out_fmt(",\"fd\":%d}\n", i);
                        }
                table[f].desc->pos += 7;
                check_pos(f);
        }
        w_read(f, 5);

        /* clone without CLONE_FILES: a copy of the table, as with fork. */
        pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
        if (pid < 0)
                die("clone: %m");
        if (pid == 0) {
                child_wait_go();
                w_close(g);
                w_read(f, 8);
                expect_exit(true);
                syscall(SYS_exit_group, 0);
        }
        expect_fork(main_pid, pid);
        parent_go();
        wait_child(pid);
        w_read(g, 4);                   /* still open here */
        w_read(f, 3);

        /* clone with CLONE_FILES: one table for two processes. The child
         * opens and writes; the parent writes through the child's fd. */
        pid = syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);
        if (pid < 0)
                die("clone: %m");
        if (pid == 0) {
                int fd;

                child_wait_go();
                fd = track_open(syscall(SYS_openat, AT_FDCWD, "shared-table.txt", O_WRONLY | O_CREAT | O_EXCL, 0644),
                                "openat", wpath("shared-table.txt"), O_WRONLY | O_CREAT | O_EXCL, true);
                w_write(fd, "abc", 3);
                shared->handoff = fd;   /* the fd number, for the parent */
                expect_exit(false);     /* the parent still uses the table */
                syscall(SYS_exit_group, 0);
        }
        expect_fork(main_pid, pid);
        parent_go();
        wait_child(pid);
        h = shared->handoff;
        /* The child's table entry, in the parent's copy of the model. */
        table[h] = (Slot) { .desc = &shared->descs[shared->n_descs - 1] };
        w_write(h, "defg", 4);
        w_close(h);

        /* clone(CLONE_VFORK) without CLONE_VM, as posix_spawn does it: the
         * parent's clone returns only when the child has exec'd, so the
         * child's file actions, its exec and the new program's first calls
         * come before the parent's clone event. The child opens a file,
         * moves it to fd 1 (never seen opened: its close has no path), closes
         * an inherited fd, writes, reads, then execs the helper by a relative
         * name; the helper reads 6 bytes from f. */
        pid = syscall(SYS_clone, CLONE_VFORK | SIGCHLD, 0, 0, 0, 0);
        if (pid < 0)
                die("clone: %m");
        if (pid == 0) {
                char fdarg[16];
                char *args[] = { (char *) "helper-prog", (char *) "--helper", fdarg, (char *) "6", NULL };
                char *noenv[] = { NULL };
                int n;

                n = track_open(syscall(SYS_openat, AT_FDCWD, "spawn-out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644),
                               "openat", wpath("spawn-out.txt"), O_WRONLY | O_CREAT | O_TRUNC, true);
                if (table[1].desc)
                        die("fd 1 tracked");
                track_dup(n, sys_dup2(n, 1), false);
                w_close(n);
                w_close(g);
                w_write(1, "spawned\n", 8);
                w_read(f, 4);
                snprintf(fdarg, sizeof fdarg, "%d", f);
                expect_exec_helper(helper, f, 6);
                syscall(SYS_execve, "helper-prog", args, noenv);
                _exit(6);
        }
        expect_fork(main_pid, pid);
        wait_child(pid);
        table[f].desc->pos += 6;        /* the helper's read */
        check_pos(f);
        w_read(f, 2);

        /* clone3(CLONE_VFORK), as glibc's posix_spawn does it (with
         * CLONE_VM): the flags are behind a pointer, so only the child
         * showing up as a process tells that one was created. The child
         * reads, seeks and execs the helper, which reads 2 bytes from f. */
        pid = clone3_vfork();
        if (pid == 0) {
                char fdarg[16];
                char *args[] = { helper, (char *) "--helper", fdarg, (char *) "2", NULL };
                char *noenv[] = { NULL };

                w_read(f, 3);
                w_lseek(f, 2, SEEK_CUR);
                snprintf(fdarg, sizeof fdarg, "%d", f);
                expect_exec_helper(helper, f, 2);
                syscall(SYS_execve, helper, args, noenv);
                _exit(6);
        }
        expect_fork(main_pid, pid);
        wait_child(pid);
        table[f].desc->pos += 2;        /* the helper's read */
        check_pos(f);
        w_read(f, 1);

        /* Two threads, one table: one opens and writes, the other reads. */
        run_thread(thread_open);
        run_thread(thread_read);
        t = thread_fd;
        w_read(t, 10);                  /* at 15: 5 bytes */
        w_close(t);

        /* execve: close-on-exec descriptors (O_CLOEXEC, dup3, F_SETFD) are
         * closed at exec; others (including one whose FD_CLOEXEC was set and
         * cleared) survive, and the new program reads through one. */
        ea = track_open(syscall(SYS_openat, AT_FDCWD, "exec-a.txt", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644),
                        "openat", wpath("exec-a.txt"), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, true);
        eb = track_open(syscall(SYS_openat, AT_FDCWD, "exec-b.txt", O_RDWR | O_CREAT | O_EXCL, 0644),
                        "openat", wpath("exec-b.txt"), O_RDWR | O_CREAT | O_EXCL, true);
        w_write(eb, fill, 64);
        w_lseek(eb, 8, SEEK_SET);
        ec = track_dup(eb, syscall(SYS_dup3, eb, 50, O_CLOEXEC), true);
        ed = track_open(syscall(SYS_openat, AT_FDCWD, "alpha.txt", O_RDONLY), "openat",
                        wpath("alpha.txt"), O_RDONLY, false);
        /* A listed directory, close-on-exec as opendir(3) makes it. */
        ef = track_open(syscall(SYS_openat, AT_FDCWD, "sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC), "openat",
                        wpath("sub"), O_RDONLY | O_DIRECTORY | O_CLOEXEC, false);
        w_getdents(ef);
#ifdef SYS_fcntl64
        /* i386 libc uses fcntl64; so does this on b32. */
#  define SYS_FCNTL SYS_fcntl64
#else
#  define SYS_FCNTL SYS_fcntl
#endif
        if (syscall(SYS_FCNTL, ed, F_SETFD, FD_CLOEXEC) < 0)
                die("F_SETFD: %m");
        table[ed].cloexec = true;
        ee = track_dup(eb, syscall(SYS_FCNTL, eb, F_DUPFD_CLOEXEC, 0), true);
        if (syscall(SYS_FCNTL, ee, F_SETFD, 0) < 0)
                die("F_SETFD: %m");
        table[ee].cloexec = false;
        pid = fork();
        if (pid < 0)
                die("fork: %m");
        if (pid == 0) {
                char fdarg[16];
                char *args[] = { helper, (char *) "--helper", fdarg, (char *) "11", NULL };
                char *noenv[] = { NULL };

                child_wait_go();
                snprintf(fdarg, sizeof fdarg, "%d", eb);
                /* A failed execve changes nothing. */
                if (syscall(SYS_execve, wpath("no-such-program"), args, noenv) >= 0 || errno != ENOENT)
                        _exit(5);
                syscall(SYS_execve, helper, args, noenv);
                _exit(6);
        }
        expect_fork(main_pid, pid);
        {
                /* What the exec'd helper does, written by the parent: exec,
                 * close-on-exec fds closed (ascending), read 11 bytes from
                 * eb at the shared position, exit, the rest closed. */
                Slot copy[MAX_FD];
                int64_t off = table[eb].desc->pos;

                memcpy(copy, table, sizeof copy);
                expect_exec(pid, helper, helper);
                for (int i = 0; i < MAX_FD; i++)
                        if (copy[i].desc && copy[i].cloexec) {
                                if (copy[i].desc->dir && !copy[i].desc->listed)
                                        die("unlisted directory at exec");
                                out_fmt("{\"op\":\"close\",\"pid\":%d,\"path\":", (int) pid);
                                out_path(copy[i].desc);
                                out_fmt(",\"fd\":%d}\n", i);
                                copy[i].desc = NULL;
                        }
                out_fmt("{\"op\":\"read\",\"pid\":%d,\"path\":", (int) pid);
                out_path(copy[eb].desc);
                out_fmt(",\"fd\":%d,\"offset\":%" PRId64 ",\"bytes\":11}\n", eb, off);
                out_fmt("{\"op\":\"exit\",\"pid\":%d}\n", (int) pid);
                for (int i = 0; i < MAX_FD; i++)
                        if (copy[i].desc) {
                                out_fmt("{\"op\":\"close\",\"pid\":%d,\"path\":", (int) pid);
                                out_path(copy[i].desc);
                                out_fmt(",\"fd\":%d}\n", i);
                        }
        }
        parent_go();
        wait_child(pid);
        table[eb].desc->pos += 11;
        check_pos(eb);
        w_read(ee, 5);                  /* 19: after the helper's read */
        w_close(ea);
        w_close(ec);
        w_close(ed);
        w_close(ee);
        w_close(ef);

        run_beyond(helper);

        /* opendir + readdir: opendir(3) opens the directory (no record); the
         * first getdents64 gives the opendir record, the second (end of
         * directory) nothing, closedir the close. */
        dir = opendir(".");
        if (!dir)
                die("opendir: %m");
        track_open(dirfd(dir), "opendir", workdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, false);
        table[dirfd(dir)].desc->listed = true;
        expect_open("opendir", dirfd(dir));
        {
                unsigned n = 0;

                errno = 0;
                while (readdir(dir))
                        n++;
                if (errno != 0 || n < 10)
                        die("readdir: %m (%u entries)", n);
        }
        x = dirfd(dir);
        if (closedir(dir) < 0)
                die("closedir: %m");
        track_close(x);

        /* Exit with a, b, ap1, f, g, eb still open: exit_group closes them. */
        expect_exit(true);

        write_expected(argv[2]);
        syscall(SYS_exit_group, 0);
        return 0;
}
