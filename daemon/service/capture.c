/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit-kernel.h"
#include "audit/audit-netlink.h"
#include "service/capture.h"
#include "store/checkpoint.h"
#include "core/action-text.h"
#include "store/tracker-state.h"
#include "core/audit-rules.h"
#include "core/ledger.h"
#include "shared/fileio.h"
#include "shared/log.h"
#include "shared/time-util.h"
#include "audit/proc-fd.h"

#define READ_CHUNK (256U * 1024U)
/* Records per read: the text of a batch is buffered twice (here and in
 * auparse), so this bounds fsmond's peak memory in a burst (8192 records
 * made 2 MiB of it). */
#define BATCH_RECORDS 1024U
/* Batches per dispatch, so that signals, the watchdog and the tick get turns. */
#define BATCHES_PER_DISPATCH 16U
#define TICK_USEC (1000U * 1000U)
/* After the socket was drained, the next read waits this long: the kernel
 * sends one datagram per record, and waking for every few of them cost
 * more in context switches than the reading itself. The 64 MiB buffer
 * holds far more than a burst can send meanwhile. */
#define COALESCE_USEC (10U * 1000U)
#define MAX_LOGS 256
#define STASH_MAX (256U * 1024U * 1024U)
#define TRACKER_STATE_FILE "tracker"
/* The tracker state is saved with the checkpoint at most every 100 ms (once
 * a second when it is over 1 MiB), and at every sync: a save costs ~1 ms for
 * ten processes, 13 ms for a thousand, and a burst checkpoints hundreds of
 * batches a second. The read-back replays the events between the state and
 * the checkpoint without recording them again. */
#define TRACKER_STATE_SAVE_USEC (100U * 1000U)
#define TRACKER_STATE_SAVE_BIG_USEC (1000U * 1000U)
#define TRACKER_STATE_BIG (1024U * 1024U)

typedef enum Phase {
        PHASE_BACKFILL,
        PHASE_LIVE,
} Phase;

typedef struct LogSeen {
        dev_t dev;
        ino_t ino;
        off_t offset;           /* how far it was read */
} LogSeen;

struct Capture {
        CaptureOptions o;
        char *audit_log_dir, *audit_log_name, *audit_key;
        sd_event *event;
        sd_event_source *io_source, *timer_source, *coalesce_source;

        Ledger *ledger;
        AuditNetlink *netlink;
        CheckpointFile *checkpoint;

        Phase phase;
        char boot_id[BOOT_ID_LEN + 1];
        uint64_t btime;

        /* What to skip: what an earlier run processed already. */
        bool have_cp;
        Checkpoint cp;
        uint64_t live_threshold;        /* live: events up to this serial were read from the logs */

        bool torn_replay;               /* the read-back produces the spool's torn tail again */
        /* The newest event of this boot processed, for the checkpoint. */
        uint64_t max_serial, max_sec;
        unsigned max_msec;
        uint64_t cp_written_serial;
        unsigned ticks;
        bool unknown_arch_logged;

        /* The tracker's state saved with the checkpoint, and loaded at start:
         * the read-back then begins after its serial, and what it replays up
         * to the checkpoint is recorded already (silent). */
        bool have_state;
        uint64_t state_serial;
        bool silent;
        uint64_t state_written_serial;
        uint64_t state_written_usec;    /* CLOCK_MONOTONIC */
        size_t state_size;

        /* Loss accounting. */
        bool kernel_lost_known;
        uint32_t kernel_lost;
        bool overflowed;                /* multicast reported ENOBUFS since the last batch */
        uint64_t live_max_serial;       /* highest serial seen live */
        uint64_t pending_lost;          /* serial gaps seen while overflowing */
        uint64_t bf_min_serial;         /* lowest serial of this boot in the logs */

        LogSeen logs[MAX_LOGS];
        size_t n_logs;

        char *buf;
        size_t len, size;

        /* What the kernel sent while the logs were read back: kept here so
         * that the socket does not overflow during a long backfill. */
        char *stash;
        size_t stash_len, stash_size;

        CaptureStats stats;
        CharBuffer echo_buf;            /* fsmond --echo=text */
};

static void *mfree_ptr(void *p) {
        free(p);
        return NULL;
}

/* ---- descriptors from /proc ---- */

static void snapshot_process(Capture *c, uint32_t pid) {
        TrackerSnapshotFd *fds = NULL;
        uint32_t ppid = 0;
        uint64_t sec;
        unsigned msec;
        size_t n = 0;
        int r;

        if (pid == 0 || pid == (uint32_t) getpid())
                return;
        r = proc_pid_ppid(NULL, pid, &ppid);
        if (r >= 0)
                r = proc_fd_snapshot(NULL, pid, &fds, &n, &sec, &msec);
        if (r < 0) {
                log_debug_errno(r, "Cannot take the descriptors of process %" PRIu32 " from /proc, ignoring: %m", pid);
                return;
        }
        r = tracker_add_snapshot(ledger_get_tracker(c->ledger), pid, ppid, sec, msec, fds, n);
        proc_fd_snapshot_free(fds, n);
        if (r < 0) {
                log_oom();
                return;
        }
        c->stats.snapshots++;
}

/* Every monitored process alive now: what it holds was opened before fsmond
 * could see it (or while it was not running). */
static void snapshot_monitored(Capture *c) {
        _cleanup_free_ uint32_t *pids = NULL;
        uint64_t before = c->stats.snapshots;
        size_t n;

        if (!c->o.auid_filter)
                return;
        if (proc_list_pids(NULL, &pids, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                uint32_t auid;
                if (proc_pid_loginuid(NULL, pids[i], &auid) >= 0 &&
                    c->o.auid_filter(auid, c->o.auid_filter_userdata))
                        snapshot_process(c, pids[i]);
        }
        log_info("Took the descriptors of %" PRIu64 " monitored processes from /proc.", c->stats.snapshots - before);
}

static int on_record(const char *record, size_t len, const Action *a, void *userdata) {
        Capture *c = userdata;
        int r;

        if (c->silent)
                return 0;       /* spooled before the restart */

        r = spool_append_encoded(c->o.spool, record, len, a->serial);
        if (r < 0)
                return r;
        if (c->o.echo_fd >= 0 && c->o.echo_format == CAPTURE_ECHO_JSON) {
                struct iovec iov[2] = {
                        { .iov_base = (void *) record, .iov_len = len },
                        { .iov_base = (void *) "\n", .iov_len = 1 },
                };
                /* Best effort: a slow terminal must not stall the capture. */
                (void) writev(c->o.echo_fd, iov, 2);
        } else if (c->o.echo_fd >= 0) {
                ActionTextOptions to = {
                        .pseudonymizer = c->o.echo_format == CAPTURE_ECHO_TEXT ? c->o.pseudonymizer : NULL,
                };

                c->echo_buf.len = 0;
                if (action_text_append(&c->echo_buf, a, &to) >= 0 && char_buffer_reserve(&c->echo_buf, 1) >= 0) {
                        c->echo_buf.data[c->echo_buf.len++] = '\n';
                        (void) write(c->o.echo_fd, c->echo_buf.data, c->echo_buf.len);
                }
        }
        if (r == 0)
                c->stats.actions++;
        return 0;
}

static void on_event(const AuditEvent *ev, void *userdata) {
        Capture *c = userdata;

        /* Between the tracker state and the checkpoint: the tracker needs
         * the event, the spool has its records. */
        c->silent = c->phase == PHASE_BACKFILL && c->have_state && ev->sec >= c->btime &&
                ev->serial <= c->cp.serial;
        if (c->silent)
                return;
        /* A process just set its login uid: its descriptors now, before its
         * session opens anything (what it does meanwhile stays unknown). */
        if (ev->has_login && c->phase == PHASE_LIVE && c->o.auid_filter &&
            c->o.auid_filter(ev->login_auid, c->o.auid_filter_userdata))
                snapshot_process(c, ev->login_pid);
        c->stats.events++;
        if (c->phase == PHASE_BACKFILL)
                c->stats.backfilled++;
        /* Events of this boot move the checkpoint; a previous boot's tail
         * (backfilled after a reboot) does not. */
        if (ev->sec >= c->btime && ev->serial > c->max_serial) {
                c->max_serial = ev->serial;
                c->max_sec = ev->sec;
                c->max_msec = ev->msec;
        }
}

/* Which lines (events) to decode. */
static bool line_filter(uint64_t sec, unsigned msec, uint64_t serial, void *userdata) {
        Capture *c = userdata;

        if (c->phase == PHASE_LIVE) {
                if (serial > c->live_max_serial) {
                        if (c->overflowed && c->live_max_serial > 0)
                                c->pending_lost += serial - c->live_max_serial - 1;
                        c->live_max_serial = serial;
                }
                return serial > c->live_threshold;
        }

        /* Backfill: no checkpoint means a first start: nothing to catch up. */
        if (!c->have_cp)
                return false;
        if (sec >= c->btime && (c->bf_min_serial == 0 || serial < c->bf_min_serial))
                c->bf_min_serial = serial;
        if (sec >= c->btime) {
                /* This boot. A checkpoint with serial 0 is the time of a
                 * first start that was cut short before any event was done. */
                if (strcmp(c->cp.boot_id, c->boot_id) == 0)
                        return c->cp.serial > 0 ? serial > (c->have_state ? c->state_serial : c->cp.serial) :
                               sec > c->cp.sec || (sec == c->cp.sec && msec >= c->cp.msec);
                return true;
        }
        /* The tail of the boot the checkpoint was written in. */
        if (strcmp(c->cp.boot_id, c->boot_id) != 0 && sec >= c->cp.btime)
                return serial > c->cp.serial;
        return false;
}

static void checkpoint_update(Capture *c, bool sync) {
        Checkpoint cp = {
                .btime = c->btime,
                .sec = c->max_sec,
                .msec = c->max_msec,
                .serial = c->max_serial,
        };
        int r;

        if (!c->checkpoint || c->max_serial == 0)
                return;
        /* The state first: a kill between the two leaves it at the
         * checkpoint or behind it, never ahead. */
        if (c->max_serial != c->state_written_serial &&
            (sync || now_usec(CLOCK_MONOTONIC) - c->state_written_usec >=
                     (c->state_size > TRACKER_STATE_BIG ? TRACKER_STATE_SAVE_BIG_USEC : TRACKER_STATE_SAVE_USEC))) {
                r = tracker_state_file_write(c->o.state_dir_fd, TRACKER_STATE_FILE, c->boot_id, c->max_serial,
                                             ledger_get_tracker(c->ledger), sync, &c->state_size);
                if (r < 0)
                        log_warning_errno(r, "Failed to save the tracker state, ignoring: %m");
                else {
                        c->state_written_serial = c->max_serial;
                        c->state_written_usec = now_usec(CLOCK_MONOTONIC);
                }
        }
        if (c->max_serial != c->cp_written_serial) {
                memcpy(cp.boot_id, c->boot_id, sizeof(cp.boot_id));
                r = checkpoint_file_write(c->checkpoint, &cp);
                if (r < 0)
                        log_warning_errno(r, "Failed to write the checkpoint, ignoring: %m");
                else
                        c->cp_written_serial = c->max_serial;
        }
        if (sync)
                (void) checkpoint_file_sync(c->checkpoint);
}

static void gap(Capture *c, int64_t lost, const char *reason) {
        log_warning("Audit events lost (%s): %" PRIi64 ".", reason, lost);
        if (lost > 0)
                c->stats.lost += (uint64_t) lost;
        (void) spool_append_gap(c->o.spool, lost, reason);
}

/* After each batch: what was accepted is spooled before the checkpoint
 * moves past it. */
static void batch_done(Capture *c) {
        (void) spool_flush(c->o.spool);
        checkpoint_update(c, false);
}

static int feed(Capture *c, const char *data, size_t n) {
        int r = ledger_feed(c->ledger, data, n);
        if (r < 0)
                return log_error_errno(r, "Failed to process audit records: %m");
        return 0;
}

/* ---- backfill from auditd's logs ---- */

static void stash_live(Capture *c) {
        bool overflow = false;
        int n;

        if (!c->netlink)
                return;
        do {
                if (c->stash_len >= STASH_MAX)
                        return;         /* the socket overflows from here: a gap */
                n = audit_netlink_read(c->netlink, &c->stash, &c->stash_len, &c->stash_size,
                                       BATCH_RECORDS, &overflow);
        } while (n == (int) BATCH_RECORDS);
        if (overflow)
                c->overflowed = true;
}

static LogSeen *log_seen(Capture *c, const struct stat *st) {
        for (size_t i = 0; i < c->n_logs; i++)
                if (c->logs[i].dev == st->st_dev && c->logs[i].ino == st->st_ino)
                        return &c->logs[i];
        if (c->n_logs >= MAX_LOGS)
                return NULL;
        c->logs[c->n_logs] = (LogSeen) { .dev = st->st_dev, .ino = st->st_ino };
        return &c->logs[c->n_logs++];
}

/* Reads one log file from where an earlier pass stopped (the same inode may
 * show up under another name after a rotation). */
static int backfill_file(Capture *c, int dir_fd, const char *name, char *chunk) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        LogSeen *seen;

        fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return 0;
        seen = log_seen(c, &st);
        if (!seen)
                return 0;
        if (seen->offset > st.st_size)
                seen->offset = 0;       /* truncated and rewritten */

        for (;;) {
                ssize_t n = pread(fd, chunk, READ_CHUNK, seen->offset);
                int r;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return 0;
                /* Whole lines only: the rest is read on the next pass. */
                if (chunk[n - 1] != '\n') {
                        char *nl = memrchr(chunk, '\n', n);
                        if (!nl)
                                return 0;
                        n = nl + 1 - chunk;
                }
                r = feed(c, chunk, n);
                if (r < 0)
                        return r;
                seen->offset += n;
                batch_done(c);
                stash_live(c);
        }
}

/* audit.log.N sorts before audit.log.M for N > M (older first); audit.log last. */
static long log_rank(const char *name, const char *base) {
        size_t bl = strlen(base);
        char *e;
        long n;

        if (strncmp(name, base, bl) != 0)
                return -1;
        if (name[bl] == 0)
                return 0;
        if (name[bl] != '.' || !name[bl + 1])
                return -1;
        n = strtol(name + bl + 1, &e, 10);
        if (*e || n <= 0)
                return -1;
        return n;
}

static int backfill_pass(Capture *c, char *chunk) {
        _cleanup_close_ int dir_fd = -EBADF;
        long ranks[MAX_LOGS];
        size_t n = 0;
        DIR *d;
        struct dirent *de;
        int r = 0;

        dir_fd = open(c->audit_log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        r = fileio_opendir_at(dir_fd, &d);
        if (r < 0)
                return r;
        while ((de = readdir(d)) && n < MAX_LOGS) {
                long k = log_rank(de->d_name, c->audit_log_name);
                if (k >= 0)
                        ranks[n++] = k;
        }
        closedir(d);

        /* Oldest first. */
        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        if (ranks[j] > ranks[i]) {
                                long t = ranks[i];
                                ranks[i] = ranks[j];
                                ranks[j] = t;
                        }

        for (size_t i = 0; i < n; i++) {
                char name[512];

                if (ranks[i] == 0)
                        snprintf(name, sizeof(name), "%s", c->audit_log_name);
                else
                        snprintf(name, sizeof(name), "%s.%ld", c->audit_log_name, ranks[i]);
                r = backfill_file(c, dir_fd, name, chunk);
                if (r < 0) {
                        log_warning_errno(r, "Failed to read %s/%s, ignoring: %m", c->audit_log_dir, name);
                        r = 0;
                }
        }
        return r;
}

static void backfill(Capture *c) {
        _cleanup_free_ char *chunk = NULL;
        uint64_t before = c->stats.events;
        struct timespec ts = { .tv_nsec = 100 * 1000 * 1000 };

        if (!c->audit_log_dir || !c->have_cp)
                return;
        chunk = malloc(READ_CHUNK);
        if (!chunk) {
                log_oom();
                return;
        }

        log_info("Reading back audit events since %" PRIu64 ".%03u:%" PRIu64 " from %s/%s*.",
                 c->cp.sec, c->cp.msec, c->cp.serial, c->audit_log_dir, c->audit_log_name);
        (void) backfill_pass(c, chunk);
        /* auditd may still be writing what the kernel sent before our
         * socket opened: one more pass a moment later. */
        (void) nanosleep(&ts, NULL);
        (void) backfill_pass(c, chunk);
        (void) ledger_flush(c->ledger);
        batch_done(c);

        /* The logs of this boot begin after the checkpoint: what came between
         * was rotated away before fsmond could read it. */
        if (strcmp(c->cp.boot_id, c->boot_id) == 0 && c->bf_min_serial > c->cp.serial + 1)
                gap(c, (int64_t) (c->bf_min_serial - c->cp.serial - 1),
                    "audit log rotated away before it was read");
        log_info("Read back %" PRIu64 " audit events.", c->stats.events - before);
}

/* ---- live ---- */

static void check_kernel_lost(Capture *c) {
        AuditKernelStatus st;

        if (audit_kernel_status(&st) < 0)
                return;
        if (c->kernel_lost_known && st.lost != c->kernel_lost)
                gap(c, (int64_t) (uint32_t) (st.lost - c->kernel_lost),
                    "kernel: audit backlog full (auditctl -s: lost)");
        c->kernel_lost = st.lost;
        c->kernel_lost_known = true;
}

/* Returns true when the socket was drained. */
static bool live_read(Capture *c) {
        bool overflow = false;
        unsigned rounds = 0;
        int n;

        /* At most a few batches per dispatch: under a steady flood the loop
         * must still get to signals, the watchdog and the tick, which have
         * the same priority (the socket stays readable, so sd-event comes
         * back here right after them). */
        do {
                c->len = 0;
                n = audit_netlink_read(c->netlink, &c->buf, &c->len, &c->size, BATCH_RECORDS, &overflow);
                if (n < 0) {
                        log_warning_errno(n, "Failed to read from the audit netlink socket, ignoring: %m");
                        break;
                }
                if (overflow)
                        c->overflowed = true;
                if (c->len > 0 && feed(c, c->buf, c->len) < 0)
                        break;
        } while (n == (int) BATCH_RECORDS && ++rounds < BATCHES_PER_DISPATCH);

        if (c->overflowed) {
                gap(c, c->pending_lost > 0 ? (int64_t) c->pending_lost : -1,
                    "netlink: multicast socket overflowed");
                c->overflowed = false;
                c->pending_lost = 0;
        }
        batch_done(c);
        return n >= 0 && n < (int) BATCH_RECORDS;
}

static int on_coalesced(sd_event_source *s, uint64_t usec, void *userdata) {
        Capture *c = userdata;

        (void) sd_event_source_set_enabled(c->io_source, SD_EVENT_ON);
        return 0;
}

static int on_netlink(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Capture *c = userdata;

        /* Not drained (a flood): the socket stays readable, sd-event comes
         * back here at once. Drained: let records gather for a moment
         * before the next read. */
        if (!live_read(c))
                return 0;
        if (!c->coalesce_source) {
                if (sd_event_add_time_relative(c->event, &c->coalesce_source, CLOCK_MONOTONIC, COALESCE_USEC, 0,
                                               on_coalesced, c) < 0)
                        return 0;       /* then without the pause */
                (void) sd_event_source_set_priority(c->coalesce_source, SD_EVENT_PRIORITY_IMPORTANT);
        } else if (sd_event_source_set_time_relative(c->coalesce_source, COALESCE_USEC) < 0 ||
                   sd_event_source_set_enabled(c->coalesce_source, SD_EVENT_ONESHOT) < 0)
                return 0;
        (void) sd_event_source_set_enabled(c->io_source, SD_EVENT_OFF);
        return 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Capture *c = userdata;
        TrackerStats ts;

        ledger_age(c->ledger);
        check_kernel_lost(c);
        (void) spool_maybe_rotate(c->o.spool, now_usec(CLOCK_MONOTONIC));
        batch_done(c);
        checkpoint_update(c, true);

        tracker_get_stats(ledger_get_tracker(c->ledger), &ts);
        c->stats.nonfile_io = ts.nonfile_io;
        c->stats.processes = ts.processes;
        if (ts.unknown_arch_events > 0 && !c->unknown_arch_logged) {
                /* Once: a machine that runs such a binary runs it all day. */
                c->unknown_arch_logged = true;
                log_warning("Capture: %" PRIu64 " syscall event(s) of arch=%" PRIx32 ", which libaudit has no "
                            "table for, not decoded (of %" PRIu64 " events so far); libaudit knows %s.",
                            ts.unknown_arch_events, ts.unknown_arch, ledger_get_decoder_stats(c->ledger).events,
                            AUDIT_RULES_MACHINES);
        }

        if (++c->ticks % 10 == 0) {
                AuditDecoderStats ds = ledger_get_decoder_stats(c->ledger);
                struct timespec wall;

                clock_gettime(CLOCK_REALTIME, &wall);
                log_debug("Capture: %" PRIu64 " lines, %" PRIu64 " events, %" PRIu64 " actions, "
                          "%" PRIu64 " held, %" PRIu64 " open, %" PRIu64 " processes, newest event %" PRIi64 " s old.",
                          ds.lines, ds.events, c->stats.actions, ds.held, ds.open, ts.processes,
                          ds.newest_sec > 0 ? (int64_t) wall.tv_sec - (int64_t) ds.newest_sec : (int64_t) -1);
                /* What holds memory, each with its cap (see README, "Memory"). */
                if (c->o.pseudonymizer) {
                        PseudonymizerStats ps = pseudonymizer_get_stats(c->o.pseudonymizer);
                        uint64_t lookups = ps.hits + ps.misses;
                        log_debug("Caches: pseudonyms %" PRIu64 " of %" PRIu64 " slots, %" PRIu64 " KiB, hit rate %.1f%% "
                                  "of %" PRIu64 "; processes %" PRIu64 " of %zu, %" PRIu64 " evicted, %" PRIu64
                                  " open files; held events %" PRIu64 ".",
                                  ps.entries, ps.slots, ps.bytes / 1024,
                                  lookups > 0 ? 100.0 * (double) ps.hits / (double) lookups : 0.0, lookups,
                                  ts.processes, c->o.tracker.max_processes ?: (size_t) TRACKER_MAX_PROCESSES_DEFAULT,
                                  ts.evicted, ts.open_files, ds.held);
                }
        }

        (void) sd_event_source_set_time(s, usec + TICK_USEC);
        return 0;
}

/* ---- setup ---- */

/* Continues from the tracker state saved with the checkpoint, when it is of
 * this boot and not ahead of where the read-back resumes. Otherwise the
 * descriptors opened before are unknown, as on a first start. */
static void state_restore(Capture *c) {
        TrackerStateFile s = {};
        TrackerStats ts;
        int r;

        if (c->o.state_dir_fd < 0)
                return;
        /* What a kill during a save left behind. */
        (void) fileio_remove_tmp_files_at(c->o.state_dir_fd);
        r = tracker_state_file_read(c->o.state_dir_fd, TRACKER_STATE_FILE, &s);
        if (r == -ENOENT)
                return;
        if (r < 0) {
                log_warning_errno(r, "Refusing the tracker state in %s (%s): %m; descriptors opened before "
                                  "the restart are unknown.", TRACKER_STATE_FILE,
                                  r == -EPROTO ? "not a tracker state of this version" :
                                  r == -EBADMSG ? "damaged" : "unreadable");
                return;
        }
        if (!c->have_cp || c->cp.serial == 0 || strcmp(s.boot_id, c->boot_id) != 0 ||
            strcmp(c->cp.boot_id, c->boot_id) != 0)
                log_info("The tracker state is of another boot or of no checkpoint, ignoring it.");
        else if (s.serial > c->cp.serial)
                log_warning("The tracker state (serial %" PRIu64 ") is ahead of where the read-back resumes "
                            "(%" PRIu64 "), ignoring it; descriptors opened before the restart are unknown.",
                            s.serial, c->cp.serial);
        else if ((r = tracker_state_file_load(&s, ledger_get_tracker(c->ledger))) < 0)
                log_warning_errno(r, "Refusing the tracker state in %s (%s): %m; descriptors opened before "
                                  "the restart are unknown.", TRACKER_STATE_FILE,
                                  r == -EPROTO ? "not a tracker state of this version" : "damaged");
        else {
                c->have_state = true;
                c->state_serial = s.serial;
                tracker_get_stats(ledger_get_tracker(c->ledger), &ts);
                log_info("Continuing from the tracker state after serial %" PRIu64 " (%" PRIu64 " processes, %"
                         PRIu64 " open files; checkpoint %" PRIu64 ").",
                         s.serial, ts.processes, ts.open_files, c->cp.serial);
        }
        tracker_state_file_done(&s);
}

int capture_new(const CaptureOptions *o, sd_event *event, Capture **ret) {
        _cleanup_(capture_freep) Capture *c = NULL;
        LedgerOptions lo;
        uint64_t resume;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->o = *o;
        c->event = sd_event_ref(event);
        c->audit_log_name = strdup(o->audit_log_name ?: "audit.log");
        if (!c->audit_log_name)
                return -ENOMEM;
        if (o->audit_log_dir && !(c->audit_log_dir = strdup(o->audit_log_dir)))
                return -ENOMEM;
        if (o->audit_key && !(c->audit_key = strdup(o->audit_key)))
                return -ENOMEM;

        r = checkpoint_current_boot(c->boot_id, &c->btime);
        if (r < 0)
                return r;

        /* No fd resolver: /proc is read ahead of the events (snapshots),
         * never about an event that is already past. */
        lo = (LedgerOptions) {
                .tracker = o->tracker,
                .pseudonymizer = o->pseudonymizer,
                .audit_key = c->audit_key,
                .event_hook = on_event,
                .line_filter = line_filter,
                .line_filter_userdata = c,
        };
        r = ledger_new(&lo, on_record, c, &c->ledger);
        if (r < 0)
                return r;

        if (o->state_dir_fd >= 0) {
                r = checkpoint_file_open(o->state_dir_fd, "checkpoint", &c->checkpoint);
                if (r < 0)
                        return r;
                c->have_cp = checkpoint_file_read(c->checkpoint, &c->cp) >= 0;
        }
        /* (Only after a real serial checkpoint: a time checkpoint means the
         * first run was cut short before it finished a batch, and an open
         * segment's header names the serial of a record that may never have
         * reached the disk.) */
        if (c->have_cp && c->cp.serial > 0 && strcmp(c->cp.boot_id, c->boot_id) == 0) {
                SpoolStats ss;

                /* The checkpoint moves right after each spool flush; a kill
                 * between the two leaves the spool one batch ahead. What is
                 * spooled was processed: resume after it, so nothing is
                 * spooled twice. (A spool far ahead is from an older boot.) */
                spool_get_stats(o->spool, &ss);
                if (ss.last_serial > c->cp.serial && ss.last_serial - c->cp.serial < 1000000) {
                        log_debug("Spool is ahead of the checkpoint (%" PRIu64 " > %" PRIu64 "), resuming after it.",
                                  ss.last_serial, c->cp.serial);
                        c->cp.serial = ss.last_serial;
                }
        }
        /* A crash tore the spool's last write; recovery cut it back to the
         * start of an event. Reading back from that event on produces what
         * was cut again, in both directions: the checkpoint may be ahead of
         * what reached the disk. (A serial far off is from another boot.) */
        if (spool_torn_tail(o->spool, &resume)) {
                bool this_boot = c->have_cp && strcmp(c->cp.boot_id, c->boot_id) == 0;
                uint64_t after = resume > 0 ? resume - 1 : 0;

                if (c->have_cp && c->audit_log_dir && resume > 0 && (c->cp.serial > 0 || this_boot) &&
                    (c->cp.serial == 0 || (after > c->cp.serial ? after - c->cp.serial : c->cp.serial - after) < 1000000)) {
                        log_debug("Spool's torn tail cut from serial %" PRIu64 ", reading back from there "
                                  "(checkpoint %" PRIu64 ").", resume, c->cp.serial);
                        c->cp.serial = after;
                        c->torn_replay = true;
                } else
                        (void) spool_torn_tail_settle(o->spool, false);
        }

        state_restore(c);

        *ret = TAKE_PTR(c);
        return 0;
}

Capture *capture_free(Capture *c) {
        if (!c)
                return NULL;
        sd_event_source_disable_unref(c->io_source);
        sd_event_source_disable_unref(c->timer_source);
        sd_event_source_disable_unref(c->coalesce_source);
        ledger_free(c->ledger);
        audit_netlink_free(c->netlink);
        checkpoint_file_free(c->checkpoint);
        sd_event_unref(c->event);
        free(c->audit_log_dir);
        free(c->audit_log_name);
        free(c->audit_key);
        free(c->buf);
        free(c->stash);
        char_buffer_done(&c->echo_buf);
        free(c);
        return NULL;
}

int capture_start(Capture *c) {
        int r;

        /* The socket first: from now on the kernel queues what happens, while
         * the logs are read back. */
        r = audit_netlink_open(&c->netlink);
        if (r < 0)
                return r;
        /* Now the read-back happens. The checkpoint goes back first: a
         * crash after the cut must read back from there, too. */
        if (c->torn_replay) {
                r = checkpoint_file_write(c->checkpoint, &c->cp);
                if (r >= 0)
                        r = checkpoint_file_sync(c->checkpoint);
                if (r < 0)
                        log_warning_errno(r, "Failed to write the checkpoint, ignoring: %m");
                (void) spool_torn_tail_settle(c->o.spool, true);
        }

        /* A first start records from now on. Say so in the checkpoint at
         * once: a crash before the first batch is done must still resume
         * from here, not begin afresh (and lose what came between). */
        if (!c->have_cp && c->checkpoint) {
                struct timespec now;
                Checkpoint cp = { .btime = c->btime };

                clock_gettime(CLOCK_REALTIME, &now);
                cp.sec = (uint64_t) now.tv_sec;
                cp.msec = (unsigned) (now.tv_nsec / 1000000);
                memcpy(cp.boot_id, c->boot_id, sizeof(cp.boot_id));
                if (checkpoint_file_write(c->checkpoint, &cp) >= 0)
                        (void) checkpoint_file_sync(c->checkpoint);
        }
        if (audit_netlink_rcvbuf(c->netlink) < 16 * 1024 * 1024)
                log_warning("The audit multicast socket got a receive buffer of only %d bytes "
                            "(CAP_NET_ADMIN missing?): bursts may overflow it and become gap records.",
                            audit_netlink_rcvbuf(c->netlink));
        c->stats.live = true;
        check_kernel_lost(c);

        /* Before the read-back: the snapshots apply to events after them. */
        snapshot_monitored(c);

        c->phase = PHASE_BACKFILL;
        backfill(c);

        stash_live(c);
        c->phase = PHASE_LIVE;
        /* What the logs held of this boot is done; the live stream repeats it. */
        c->live_threshold = c->max_serial;
        if (c->have_cp && strcmp(c->cp.boot_id, c->boot_id) == 0 && c->cp.serial > c->live_threshold)
                c->live_threshold = c->cp.serial;
        if (c->stash_len > 0) {
                log_debug("Processing %zu bytes received during the read-back.", c->stash_len);
                (void) feed(c, c->stash, c->stash_len);
                batch_done(c);
        }
        c->stash = mfree_ptr(c->stash);
        c->stash_len = c->stash_size = 0;

        r = sd_event_add_io(c->event, &c->io_source, audit_netlink_fd(c->netlink), EPOLLIN, on_netlink, c);
        if (r < 0)
                return r;
        /* Drain the queue before anything else the loop has to do. */
        (void) sd_event_source_set_priority(c->io_source, SD_EVENT_PRIORITY_IMPORTANT);
        r = sd_event_add_time_relative(c->event, &c->timer_source, CLOCK_MONOTONIC, TICK_USEC, 0, on_tick, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(c->timer_source, SD_EVENT_ON);
        /* As important as the socket: under a flood fsmond cannot keep up
         * with, the socket is always pending, and sd-event would never get to
         * a lower priority; the tick (once a second, cheap) must still age
         * the decoder, count kernel losses and rotate segments. */
        (void) sd_event_source_set_priority(c->timer_source, SD_EVENT_PRIORITY_IMPORTANT);
        log_info("Following the kernel's audit events live (after serial %" PRIu64 ").", c->live_threshold);
        live_read(c);
        return 0;
}

void capture_stop(Capture *c) {
        if (!c)
                return;
        if (c->netlink && c->phase == PHASE_LIVE) {
                live_read(c);
                check_kernel_lost(c);
        }
        (void) spool_flush(c->o.spool);
        checkpoint_update(c, true);
}

void capture_get_stats(const Capture *c, CaptureStats *ret) {
        *ret = c->stats;
}
