/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int proc_fd_resolve(uint32_t pid, int fd, TrackerFdInfo *ret, void *userdata) {
        const ProcFdResolver *r = userdata;
        const char *root = r && r->proc_root ? r->proc_root : "/proc";
        char p[64 + PATH_MAX], target[PATH_MAX + 1];
        int64_t pos = OFFSET_UNKNOWN;
        uint32_t flags = 0;
        struct stat st;
        ssize_t n;
        int k;

        if (fd < 0)
                return -EBADF;

        snprintf(p, sizeof(p), "%s/%u/fd/%d", root, pid, fd);
        n = readlink(p, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;          /* ENOENT: the process or the fd is gone */
        target[n] = 0;
        if (stat(p, &st) < 0)
                return -errno;

        k = read_fdinfo(root, pid, fd, &pos, &flags);

        *ret = (TrackerFdInfo) { .offset = OFFSET_UNKNOWN };
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
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
        ret->is_dir = S_ISDIR(st.st_mode);
        if (k >= 0) {
                ret->flags = flags & ~(uint32_t) O_CLOEXEC;
                ret->flags_known = true;
                ret->cloexec = flags & O_CLOEXEC;
                if (r && r->position_is_current)
                        ret->offset = pos;
        }
        return 0;
}
