/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/tracker.h"
#include "store/checkpoint.h"

/* The tracker's state at a checkpoint, in <state>/tracker: one header line
 * (version, boot id, the serial of the last event the state includes, the
 * body's length and hash) and the body of tracker_save_state(). Replaced
 * atomically (a temporary file renamed over it, through the state
 * directory's descriptor), 0600 and root's like the checkpoint: it holds
 * plain paths, as auditd's log does. It is neither uploaded nor spooled. */

typedef struct TrackerStateFile {
        char boot_id[BOOT_ID_LEN + 1];
        uint64_t serial;
        char *body;             /* NUL-terminated; owned */
        size_t body_len;
} TrackerStateFile;

void tracker_state_file_done(TrackerStateFile *s);

/* Parses a whole file (no I/O: the fuzz target's entry): -EPROTO for a
 * file that is not a tracker state of this version, -EBADMSG for a
 * damaged one (cut short, wrong length or hash). */
int tracker_state_file_parse(const char *data, size_t len, TrackerStateFile *ret);

/* Reads and parses name below dir_fd (-ENOENT: none; -EPERM/-EACCES: not
 * private to us). */
int tracker_state_file_read(int dir_fd, const char *name, TrackerStateFile *ret);

/* Loads the body into t (see tracker_load_state()). */
int tracker_state_file_load(const TrackerStateFile *s, Tracker *t);

/* Saves t as the state after event serial. sync: fsync the file and the
 * directory (else the rename alone, which survives a kill of the daemon,
 * not necessarily a power cut: then the hash refuses what is left). */
int tracker_state_file_write(int dir_fd, const char *name, const char *boot_id, uint64_t serial,
                             Tracker *t, bool sync, size_t *ret_size);
