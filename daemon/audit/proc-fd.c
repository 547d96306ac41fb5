/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shared/path-util.h"
#include "audit/proc-fd.h"

static int read_fdinfo(const char *root, uint32_t pid, int fd, int64_t *pos, uint32_t *flags) {
        char p[64 + PATH_MAX], buf[512];
        _cleanup_close_ int f = -EBADF;
        bool have_pos = false, have_flags = false;
        ssize_t n;

        snprintf(p, sizeof(p), "%s/%u/fdinfo/%d", root, pid, fd);
        f = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (f < 0)
                return -errno;
        n = read(f, buf, sizeof(buf) - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;

        for (char *line = buf; line && *line; ) {
                char *next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if (strncmp(line, "pos:", 4) == 0) {
                        char *e;
                        long long v = strtoll(line + 4, &e, 10);
                        if (e != line + 4 && v >= 0) {
                                *pos = v;
                                have_pos = true;
                        }
                } else if (strncmp(line, "flags:", 6) == 0) {
                        char *e;
                        unsigned long v = strtoul(line + 6, &e, 8);
                        if (e != line + 6) {
                                *flags = (uint32_t) v;
                                have_flags = true;
                        }
                }
                line = next;
        }
        return have_pos && have_flags ? 0 : -EBADMSG;
}

static int resolve_fd(const char *root, uint32_t pid, int fd, TrackerFdInfo *ret, struct stat *ret_st) {
        char p[64 + PATH_MAX], target[PATH_MAX + 1];
        int64_t pos = OFFSET_UNKNOWN;
        uint32_t flags = 0;
        ssize_t n;
        int k;

        snprintf(p, sizeof(p), "%s/%u/fd/%d", root, pid, fd);
        n = readlink(p, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;          /* ENOENT: the process or the fd is gone */
        target[n] = 0;
        if (stat(p, ret_st) < 0)
                return -errno;

        k = read_fdinfo(root, pid, fd, &pos, &flags);

        *ret = (TrackerFdInfo) { .offset = OFFSET_UNKNOWN };
        if (!S_ISREG(ret_st->st_mode) && !S_ISDIR(ret_st->st_mode)) {
                ret->not_file = true;   /* pipe, socket, tty, device, anon inode */
                return 0;
        }
        if (target[0] == '/') {
                size_t len = (size_t) n;
                char *path;
                static const char deleted[] = " (deleted)";

                if (len > sizeof(deleted) - 1 && strcmp(target + len - (sizeof(deleted) - 1), deleted) == 0)
                        len -= sizeof(deleted) - 1;
                if (path_resolve(NULL, 0, target, len, &path, &len) >= 0)
                        ret->path = path;
        }
        ret->is_dir = S_ISDIR(ret_st->st_mode);
        if (k >= 0) {
                ret->flags = flags & ~(uint32_t) O_CLOEXEC;
                ret->flags_known = true;
                ret->cloexec = flags & O_CLOEXEC;
                ret->offset = pos;
        }
        return 0;
}

void proc_fd_snapshot_free(TrackerSnapshotFd *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(fds[i].info.path);
        free(fds);
}

int proc_fd_snapshot(const char *proc_root, uint32_t pid, TrackerSnapshotFd **ret, size_t *ret_n,
                     uint64_t *ret_sec, unsigned *ret_msec) {
        const char *root = proc_root ?: "/proc";
        TrackerSnapshotFd *fds = NULL;
        struct stat *st = NULL;
        size_t n = 0, size = 0;
        struct timespec now;
        struct dirent *de;
        char p[64 + PATH_MAX];
        DIR *d;
        int r = 0;

        snprintf(p, sizeof(p), "%s/%u/fd", root, pid);
        d = opendir(p);
        if (!d)
                return errno == ENOENT ? -ESRCH : -errno;
        while ((de = readdir(d))) {
                char *e;
                long fd = strtol(de->d_name, &e, 10);
                TrackerFdInfo info;
                struct stat s;

                if (de->d_name[0] < '0' || de->d_name[0] > '9' || *e || fd < 0 || fd > INT32_MAX)
                        continue;
                if (resolve_fd(root, pid, (int) fd, &info, &s) < 0)
                        continue;       /* closed meanwhile */
                if (n >= size) {
                        size_t ns = MAX(size * 2, (size_t) 16);
                        TrackerSnapshotFd *nf = realloc(fds, ns * sizeof(*fds));
                        struct stat *nst = nf ? realloc(st, ns * sizeof(*st)) : NULL;
                        if (nf)
                                fds = nf;
                        if (nst)
                                st = nst;
                        if (!nf || !nst) {
                                free(info.path);
                                r = -ENOMEM;
                                break;
                        }
                        size = ns;
                }
                fds[n] = (TrackerSnapshotFd) { .fd = (int) fd, .same_as = -1, .info = info };
                st[n++] = s;
        }
        closedir(d);
        if (r < 0) {
                proc_fd_snapshot_free(fds, n);
                free(st);
                return r;
        }

        /* Which of them share a description (dup, inheritance): only those on
         * one inode can. kcmp() needs ptrace access; without it they stay apart. */
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < i && fds[i].same_as < 0; j++)
                        if (fds[j].same_as < 0 && !fds[i].info.not_file &&
                            st[i].st_dev == st[j].st_dev && st[i].st_ino == st[j].st_ino &&
                            syscall(SYS_kcmp, (pid_t) pid, (pid_t) pid, KCMP_FILE,
                                    (unsigned long) fds[i].fd, (unsigned long) fds[j].fd) == 0)
                                fds[i].same_as = (int) j;
        free(st);

        clock_gettime(CLOCK_REALTIME, &now);
        *ret_sec = (uint64_t) now.tv_sec;
        *ret_msec = (unsigned) (now.tv_nsec / 1000000);
        *ret = fds;
        *ret_n = n;
        return 0;
}

static int read_small(const char *path, char *buf, size_t size) {
        _cleanup_close_ int f = -EBADF;
        ssize_t n;

        f = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (f < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        n = read(f, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return 0;
}

int proc_pid_ppid(const char *proc_root, uint32_t pid, uint32_t *ret) {
        char p[64 + PATH_MAX], buf[1024], *e;
        unsigned long v;
        int r;

        snprintf(p, sizeof(p), "%s/%u/stat", proc_root ?: "/proc", pid);
        r = read_small(p, buf, sizeof(buf));
        if (r < 0)
                return r;
        /* "PID (COMM) STATE PPID ...": COMM may hold anything, even ") ". */
        e = strrchr(buf, ')');
        if (!e || e[1] != ' ' || !e[2] || e[3] != ' ')
                return -EBADMSG;
        v = strtoul(e + 4, &e, 10);
        if (*e != ' ' || v > UINT32_MAX)
                return -EBADMSG;
        *ret = (uint32_t) v;
        return 0;
}

int proc_pid_loginuid(const char *proc_root, uint32_t pid, uint32_t *ret) {
        char p[64 + PATH_MAX], buf[32], *e;
        unsigned long v;
        int r;

        snprintf(p, sizeof(p), "%s/%u/loginuid", proc_root ?: "/proc", pid);
        r = read_small(p, buf, sizeof(buf));
        if (r < 0)
                return r;
        v = strtoul(buf, &e, 10);
        if (e == buf || (*e && *e != '\n') || v > UINT32_MAX)
                return -EBADMSG;
        *ret = (uint32_t) v;
        return 0;
}

int proc_list_pids(const char *proc_root, uint32_t **ret, size_t *ret_n) {
        uint32_t *pids = NULL;
        size_t n = 0, size = 0;
        struct dirent *de;
        DIR *d;

        d = opendir(proc_root ?: "/proc");
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char *e;
                unsigned long v = strtoul(de->d_name, &e, 10);

                if (de->d_name[0] < '1' || de->d_name[0] > '9' || *e || v > UINT32_MAX)
                        continue;
                if (n >= size) {
                        size_t ns = MAX(size * 2, (size_t) 256);
                        uint32_t *np = realloc(pids, ns * sizeof(*pids));
                        if (!np) {
                                free(pids);
                                closedir(d);
                                return -ENOMEM;
                        }
                        pids = np;
                        size = ns;
                }
                pids[n++] = (uint32_t) v;
        }
        closedir(d);
        *ret = pids;
        *ret_n = n;
        return 0;
}
