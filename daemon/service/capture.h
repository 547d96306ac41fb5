/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "shared/macro.h"
#include "core/pseudonym.h"
#include "store/spool.h"
#include "core/tracker.h"

/* The live capture: kernel audit records from the netlink multicast group,
 * through the ledger, into the spool, with a durable checkpoint. At start it
 * first backfills from auditd's logs what happened since the checkpoint
 * (also across a reboot), then goes on live without duplicates. Losses it
 * cannot avoid (the kernel's lost counter rising, the multicast socket
 * overflowing, logs rotated away before they were read) become gap records.
 * An edge: it owns sockets, files and sd-event sources around the pure
 * ledger. */

typedef struct Capture Capture;

/* What fsmond --echo prints: the record as spooled (JSON), or a line for a
 * person (core/action-text.h) with the spooled (pseudonymised) or the plain
 * path. Plain names are what the audit log holds; only for a terminal of
 * the machine's own administrator. */
typedef enum CaptureEcho {
        CAPTURE_ECHO_JSON,
        CAPTURE_ECHO_TEXT,
        CAPTURE_ECHO_TEXT_PLAIN,
} CaptureEcho;

typedef struct CaptureOptions {
        int state_dir_fd;               /* the checkpoint lives here */
        const char *audit_log_dir;      /* auditd's logs; NULL: no backfill */
        const char *audit_log_name;     /* NULL: "audit.log" */
        const char *audit_key;          /* NULL: every syscall event */
        TrackerOptions tracker;
        Pseudonymizer *pseudonymizer;   /* borrowed */
        Spool *spool;                   /* borrowed */
        int echo_fd;                    /* >= 0: each record also goes here (fsmond --echo) */
        CaptureEcho echo_format;
        /* Whether a login uid is monitored: the processes whose descriptors
         * are taken from /proc at start and when they log in. NULL: none. */
        bool (*auid_filter)(uint32_t auid, void *userdata);
        void *auid_filter_userdata;
} CaptureOptions;

typedef struct CaptureStats {
        uint64_t events;                /* audit events handled */
        uint64_t actions;               /* records handed to the spool */
        uint64_t lost;                  /* events known lost (gap records) */
        uint64_t backfilled;            /* events read back from auditd's logs */
        uint64_t nonfile_io;
        uint64_t processes;
        uint64_t snapshots;             /* processes whose descriptors were taken from /proc */
        bool live;                      /* the multicast socket is open */
} CaptureStats;

int capture_new(const CaptureOptions *o, sd_event *event, Capture **ret);
Capture *capture_free(Capture *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Capture *, capture_free);

/* Opens the multicast socket, backfills, goes live. Errors from the
 * socket (-EPERM without CAP_AUDIT_READ, -EPROTONOSUPPORT/-ECONNREFUSED
 * where audit is unavailable, e.g. in a container) are returned and logged
 * by the caller, which runs degraded. */
int capture_start(Capture *c);

/* Drains what is queued, flushes the spool, syncs the checkpoint. */
void capture_stop(Capture *c);

void capture_get_stats(const Capture *c, CaptureStats *ret);
