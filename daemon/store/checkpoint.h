/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "shared/macro.h"

/* Where fsmond stopped processing audit events: the boot (serials restart
 * at every boot), and the highest event serial and its time. Kept in
 * <state>/checkpoint as two fixed-size slots written in turn with a hash
 * each, so an update is one pwrite() without fsync (it survives kill -9; a
 * torn slot after a power cut leaves the other one), fsynced now and then. */

#define BOOT_ID_LEN 36

typedef struct Checkpoint {
        char boot_id[BOOT_ID_LEN + 1];
        uint64_t btime;         /* boot time, seconds since the epoch */
        uint64_t sec;
        unsigned msec;
        uint64_t serial;
} Checkpoint;

typedef struct CheckpointFile CheckpointFile;

int checkpoint_file_open(int dir_fd, const char *name, CheckpointFile **ret);
CheckpointFile *checkpoint_file_free(CheckpointFile *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(CheckpointFile *, checkpoint_file_free);

/* -ENOENT when no valid checkpoint was ever written. */
int checkpoint_file_read(CheckpointFile *f, Checkpoint *ret);
int checkpoint_file_write(CheckpointFile *f, const Checkpoint *c);
int checkpoint_file_sync(CheckpointFile *f);

/* This boot's id (/proc/sys/kernel/random/boot_id) and time (/proc/stat). */
int checkpoint_current_boot(char boot_id[BOOT_ID_LEN + 1], uint64_t *btime);
