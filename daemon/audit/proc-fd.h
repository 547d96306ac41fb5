/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/tracker.h"

/* Fills in a descriptor the tracker never saw opened, from /proc/PID/fd/FD
 * and /proc/PID/fdinfo/FD, while the process lives: the path, the position
 * and the flags. Regular files and directories are files; pipes, sockets,
 * terminals, devices and anonymous inodes are "not files" (counted, not
 * recorded). proc_root is "/proc" but for tests. */

typedef struct ProcFdResolver {
        const char *proc_root;
        /* While replaying old events (backfill) the position /proc shows is
         * today's, not the one at the time: leave it unknown then. */
        bool position_is_current;
} ProcFdResolver;

/* A TrackerFdResolver: userdata is a ProcFdResolver. */
int proc_fd_resolve(uint32_t pid, int fd, TrackerFdInfo *ret, void *userdata);
