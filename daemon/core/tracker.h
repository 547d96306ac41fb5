/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/action.h"
#include "core/audit-event.h"
#include "shared/macro.h"

/* The descriptor tracker: per-process descriptor tables pointing to shared
 * open file descriptions (path, position, flags, reference count), driven by
 * the syscall events of audit, turned into file actions. Pure: no /proc, no
 * disk; the live daemon plugs in a resolver for descriptors opened before it
 * started. The semantics are documented in README.md ("Record semantics"). */

typedef struct Tracker Tracker;

typedef void (*TrackerEmit)(const Action *a, void *userdata);

/* What the resolver found out about a descriptor the tracker never saw
 * opened. path is malloc'ed (ownership passes to the tracker) or NULL. */
typedef struct TrackerFdInfo {
        char *path;
        int64_t offset;         /* OFFSET_UNKNOWN when not known */
        uint32_t flags;         /* O_* of the open file description */
        bool flags_known;
        bool is_dir;
        bool not_file;          /* pipe, socket, terminal, anonymous inode */
        bool cloexec;
} TrackerFdInfo;

/* Returns 0 with *ret filled, or a negative errno (e.g. -ESRCH: process is
 * gone), in which case the descriptor stays unknown. */
typedef int (*TrackerFdResolver)(uint32_t pid, int fd, TrackerFdInfo *ret, void *userdata);

typedef struct TrackerOptions {
        size_t max_processes;           /* 0: TRACKER_MAX_PROCESSES_DEFAULT */
        char *const *include;           /* path prefixes, NULL-terminated; NULL or empty: all */
        char *const *exclude;           /* path prefixes never recorded, NULL-terminated */
        /* Instead of include/exclude: whether actions on a file are recorded
         * (the daemon passes config_path_is_monitored()). */
        bool (*path_filter)(const char *path, void *userdata);
        void *path_filter_userdata;
        bool with_ids;                  /* add ppid, auid, uid, comm to records */
} TrackerOptions;

#define TRACKER_MAX_PROCESSES_DEFAULT 16384U

typedef struct TrackerStats {
        uint64_t events;                /* syscall events handled */
        uint64_t actions;               /* actions emitted */
        uint64_t nonfile_io;            /* reads/writes on pipes, sockets, ... */
        uint64_t evicted;               /* processes dropped by the LRU cap */
        uint64_t processes;             /* tracked now */
        uint64_t open_files;            /* open file descriptions now */
        uint64_t unknown_arch_events;   /* syscall events of an arch= libaudit does not know */
        uint32_t unknown_arch;          /* the first such arch= value */
} TrackerStats;

int tracker_new(const TrackerOptions *o, TrackerEmit emit, void *userdata, Tracker **ret);
Tracker *tracker_free(Tracker *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Tracker *, tracker_free);

void tracker_set_fd_resolver(Tracker *t, TrackerFdResolver resolver, void *userdata);

/* One descriptor of a snapshot; same_as: the index of an earlier entry of
 * the same snapshot that refers to the same open file description (-1:
 * none known), so that they share one position. */
typedef struct TrackerSnapshotFd {
        int fd;
        int same_as;
        TrackerFdInfo info;
} TrackerSnapshotFd;

/* A process's descriptors as /proc showed them at wall-clock time sec.msec
 * (CLOCK_REALTIME), for descriptors the tracker never saw opened. Audit
 * stamps an event with the (coarse, never later) time its call began, so
 * only an event stamped after the snapshot is provably after it: the
 * snapshot is applied at the process's first such event, filling the
 * descriptors the tracker does not know (one used before that keeps only
 * its path, not /proc's position). Until then they stay unknown, null in
 * records: /proc is never asked about the past. The paths in fds pass to the
 * tracker (also on error). */
int tracker_add_snapshot(Tracker *t, uint32_t pid, uint32_t ppid, uint64_t sec, unsigned msec,
                         TrackerSnapshotFd *fds, size_t n_fds);

void tracker_handle_event(Tracker *t, const AuditEvent *ev);

void tracker_get_stats(const Tracker *t, TrackerStats *ret);

/* The tracker's whole state (processes, descriptor tables, open file
 * descriptions, exits and clones still waiting for their fork event) as
 * versioned text, so that a restarted daemon continues exactly where it
 * stopped (paths in it are plain: the file is as private as auditd's log).
 * tracker_load_state() needs a tracker without processes and refuses a
 * state of another version (-EPROTO) or a damaged one (-EBADMSG), leaving
 * the tracker empty then. */
int tracker_save_state(Tracker *t, FILE *f);
int tracker_load_state(Tracker *t, FILE *f);
