/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The burst workload that bench/decode records with auditd: per iteration,
 * over FILES small files: open, write, lseek, 8 small reads, pread, pwrite,
 * dup, close (both descriptors); every 100 iterations one opendir+readdir and
 * one fork whose child reads one file and exits. The same mix as the burst
 * measured in ../shared/docs/background.md, so figures compare.
 *
 *   burst DIR ITERATIONS
 *
 * DIR must exist; the files are created in it (and left there). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shared/log.h"
#include "shared/macro.h"

#define FILES 64
#define WRITE_SIZE 512
#define READ_SIZE 64
#define READS 8
#define EVERY 100

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static int burst_file(int dir_fd, const char *name) {
        _cleanup_close_ int fd = -EBADF, fd2 = -EBADF;
        char buf[WRITE_SIZE];

        memset(buf, 'x', sizeof buf);

        fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        if (write(fd, buf, sizeof buf) != (ssize_t) sizeof buf)
                return errno > 0 ? -errno : -EIO;
        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        for (int i = 0; i < READS; i++)
                if (read(fd, buf, READ_SIZE) < 0)
                        return -errno;
        if (pread(fd, buf, READ_SIZE, 2 * READ_SIZE) < 0)
                return -errno;
        if (pwrite(fd, buf, READ_SIZE, 4 * READ_SIZE) < 0)
                return -errno;
        fd2 = dup(fd);
        if (fd2 < 0)
                return -errno;
        return 0;
}

static int burst_opendir(const char *dir) {
        _cleanup_(closedirp) DIR *d = NULL;

        d = opendir(dir);
        if (!d)
                return -errno;
        errno = 0;
        while (readdir(d))
                ;
        return -errno;
}

static int burst_fork(int dir_fd) {
        pid_t pid;
        int status;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                char buf[READ_SIZE];
                int fd = openat(dir_fd, "f0", O_RDONLY | O_CLOEXEC);
                if (fd < 0 || read(fd, buf, sizeof buf) < 0)
                        _exit(1);
                _exit(0);
        }
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

int main(int argc, char *argv[]) {
        _cleanup_close_ int dir_fd = -EBADF;
        char names[FILES][16];
        unsigned long iterations;
        char *end;
        int r;

        if (argc != 3) {
                log_error("usage: %s DIR ITERATIONS", program_invocation_short_name);
                return 2;
        }
        errno = 0;
        iterations = strtoul(argv[2], &end, 10);
        if (errno != 0 || *end || end == argv[2]) {
                log_error("Invalid iteration count: %s", argv[2]);
                return 2;
        }

        dir_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0) {
                log_error_errno(-errno, "Failed to open %s: %m", argv[1]);
                return 1;
        }
        for (int f = 0; f < FILES; f++)
                snprintf(names[f], sizeof names[f], "f%d", f);

        for (unsigned long i = 0; i < iterations; i++) {
                for (int f = 0; f < FILES; f++) {
                        r = burst_file(dir_fd, names[f]);
                        if (r < 0) {
                                log_error_errno(r, "Failed on %s/%s: %m", argv[1], names[f]);
                                return 1;
                        }
                }
                if (i % EVERY == 0) {
                        r = burst_opendir(argv[1]);
                        if (r < 0) {
                                log_error_errno(r, "Failed to list %s: %m", argv[1]);
                                return 1;
                        }
                        r = burst_fork(dir_fd);
                        if (r < 0) {
                                log_error_errno(r, "Failed to fork: %m");
                                return 1;
                        }
                }
        }
        return 0;
}
