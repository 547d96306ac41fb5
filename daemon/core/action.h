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
        /* Appended, so that the values above keep their bits in configs. */
        ACTION_MMAP,
        ACTION_RENAME,
        ACTION_UNLINK,
        ACTION_RMDIR,
        ACTION_MKDIR,
        ACTION_TRUNCATE,
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
        int64_t bytes;          /* mmap: < 0 when the length is not known */
        /* read/write of a copy call: "copy_file_range", "sendfile", "splice" */
        const char *via;
        /* rename: the new name; exchange: RENAME_EXCHANGE swapped the two */
        const char *new_path;
        size_t new_path_len;
        bool exchange;
        /* truncate */
        int64_t size;
        /* mmap: PROT_* (flags carries MAP_*) */
        int64_t prot;
        /* exec: the kernel's resolved executable (exe=), decoded, or NULL */
        const char *exe;
        size_t exe_len;
        /* node= of the log line (a collector's host name), raw, or NULL */
        const char *node;

        /* dup */
        int old_fd, new_fd;
        /* fork */
        uint32_t child;
        /* open flags as given to the call (O_*); mmap: MAP_*; -1 when not applicable */
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
