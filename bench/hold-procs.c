/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench/live's tracker workload: keeps PROCS processes alive, each holding
 * FILES open files of its own (created in DIR, a small write and a read on
 * each), so that fsmond tracks PROCS descriptor tables at once.
 *
 *   hold-procs DIR PROCS FILES
 *
 * Prints "ready" on standard output once every child holds its files, then
 * waits for standard input to reach end of file; then the children are
 * released (they close their files and exit) and reaped. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shared/log.h"
#include "shared/macro.h"

/* The child's life: open its files, touch them, tell the parent, then block
 * on the release pipe until the parent closes it. */
static int hold_child(int dir_fd, unsigned long id, unsigned long files, int ready_fd, int release_fd) {
        char name[64], buf[64];
        int fds[64];

        memset(buf, 'h', sizeof buf);
        for (unsigned long f = 0; f < files; f++) {
                snprintf(name, sizeof name, "p%lu-%lu", id, f);
                fds[f] = openat(dir_fd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
                if (fds[f] < 0)
                        return 1;
                if (write(fds[f], buf, sizeof buf) != (ssize_t) sizeof buf)
                        return 1;
                if (lseek(fds[f], 0, SEEK_SET) < 0 || read(fds[f], buf, 16) < 0)
                        return 1;
        }
        if (write(ready_fd, "r", 1) != 1)
                return 1;
        (void) read(release_fd, buf, 1);
        for (unsigned long f = 0; f < files; f++)
                (void) close(fds[f]);
        return 0;
}

static int parse_count(const char *s, unsigned long max, unsigned long *ret) {
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end || end == s || v == 0 || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_close_ int dir_fd = -EBADF;
        int ready[2], release[2];
        unsigned long procs, files, started = 0, got = 0;
        char c;
        int r = 0;

        if (argc != 4 || parse_count(argv[2], 100000, &procs) < 0 || parse_count(argv[3], 64, &files) < 0) {
                log_error("usage: %s DIR PROCS FILES (FILES at most 64)", program_invocation_short_name);
                return 2;
        }
        dir_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0) {
                log_error_errno(-errno, "Failed to open %s: %m", argv[1]);
                return 1;
        }
        if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(release, O_CLOEXEC) < 0) {
                log_error_errno(-errno, "Failed to create pipes: %m");
                return 1;
        }

        for (; started < procs; started++) {
                pid_t pid = fork();
                if (pid < 0) {
                        r = log_error_errno(-errno, "Failed to fork child %lu: %m", started);
                        break;
                }
                if (pid == 0) {
                        (void) close(ready[0]);
                        (void) close(release[1]);
                        _exit(hold_child(dir_fd, started, files, ready[1], release[0]));
                }
        }
        (void) close(ready[1]);
        (void) close(release[0]);

        /* A child that failed closes its end without a byte: read() ends at
         * EOF only when every child has either reported or died. */
        while (got < started && read(ready[0], &c, 1) == 1)
                got++;
        if (r >= 0 && got == procs) {
                printf("ready\n");
                fflush(stdout);
                while (read(STDIN_FILENO, &c, 1) > 0)
                        ;
        } else
                r = log_error_errno(-ECHILD, "Only %lu of %lu children hold their files.", got, procs);

        (void) close(release[1]);
        for (unsigned long i = 0; i < started; i++) {
                int status;
                if (wait(&status) < 0)
                        break;
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        r = -ECHILD;
        }
        return r < 0 ? 1 : 0;
}
