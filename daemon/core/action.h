/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A file action: one record of the contract's JSON Lines format. The tracker
 * produces them, the encoder writes them; nothing here owns memory: path and
 * comm point into the tracker's or the decoder's storage and are valid only
 * during the callback that hands the action over. */

typedef enum ActionOp {
        ACTION_OPEN,
        ACTION_OPENDIR,
        ACTION_READ,
        ACTION_WRITE,
        ACTION_PREAD,
        ACTION_PWRITE,
        ACTION_READV,
        ACTION_WRITEV,
        ACTION_PREADV,
        ACTION_PWRITEV,
        ACTION_LSEEK,
        ACTION_CLOSE,
        ACTION_DUP,
        ACTION_FORK,
        ACTION_EXEC,
        ACTION_EXIT,
        ACTION_GAP,
        _ACTION_OP_MAX,
} ActionOp;

#define OFFSET_UNKNOWN INT64_MIN

typedef struct Action {
        ActionOp op;
        uint64_t sec;           /* audit timestamp, seconds */
        unsigned msec;          /* ... and milliseconds */
        uint64_t serial;
        uint32_t pid;

        /* File ops. path == NULL: not known. */
        const char *path;
        size_t path_len;
        int fd;
        int64_t offset;         /* OFFSET_UNKNOWN: not known */
        int64_t bytes;

        /* dup */
        int old_fd, new_fd;
        /* fork */
        uint32_t child;
        /* open flags as given to the call (O_*), -1 when not applicable */
        int64_t flags;

        /* Context, optional: has_ids false leaves them out. */
        bool has_ids;
        uint32_t ppid, auid, uid;
        const char *comm;       /* decoded, NUL-terminated, or NULL */

        /* gap */
        uint64_t lost;          /* 0 with lost_known false: unknown */
        bool lost_known;
        const char *reason;
} Action;

const char *action_op_to_string(ActionOp op) __attribute__((pure));
