/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/tracker.h"

/* A process's descriptors from /proc/PID/fd and /proc/PID/fdinfo, for
 * tracker_add_snapshot(): path, position and flags of each. Regular files and
 * directories are files; pipes, sockets, terminals, devices and anonymous
 * inodes are "not files" (counted, not recorded). Descriptors that refer to
 * one open file description (kcmp(2), where permitted) are marked so.
 * ret_sec, ret_msec: CLOCK_REALTIME right after the last reading, so that an
 * event audit stamped later is provably after all of it. proc_root is
 * "/proc" but for tests. -ESRCH (or -ENOENT): the process is gone. */
int proc_fd_snapshot(const char *proc_root, uint32_t pid, TrackerSnapshotFd **ret, size_t *ret_n,
                     uint64_t *ret_sec, unsigned *ret_msec);
void proc_fd_snapshot_free(TrackerSnapshotFd *fds, size_t n);

/* The process's parent (/proc/PID/stat) and login uid (/proc/PID/loginuid). */
int proc_pid_ppid(const char *proc_root, uint32_t pid, uint32_t *ret);
int proc_pid_loginuid(const char *proc_root, uint32_t pid, uint32_t *ret);

/* The pids in proc_root (malloc'ed array). */
int proc_list_pids(const char *proc_root, uint32_t **ret, size_t *ret_n);
