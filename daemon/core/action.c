/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "core/action.h"
#include "shared/macro.h"
#include "shared/string-table.h"

static const char *const action_op_table[_ACTION_OP_MAX] = {
        [ACTION_OPEN]    = "open",
        [ACTION_OPENDIR] = "opendir",
        [ACTION_READ]    = "read",
        [ACTION_WRITE]   = "write",
        [ACTION_PREAD]   = "pread",
        [ACTION_PWRITE]  = "pwrite",
        [ACTION_READV]   = "readv",
        [ACTION_WRITEV]  = "writev",
        [ACTION_PREADV]  = "preadv",
        [ACTION_PWRITEV] = "pwritev",
        [ACTION_LSEEK]   = "lseek",
        [ACTION_CLOSE]   = "close",
        [ACTION_DUP]     = "dup",
        [ACTION_FORK]    = "fork",
        [ACTION_EXEC]    = "exec",
        [ACTION_EXIT]    = "exit",
        [ACTION_GAP]     = "gap",
        [ACTION_MMAP]    = "mmap",
        [ACTION_RENAME]  = "rename",
        [ACTION_UNLINK]  = "unlink",
        [ACTION_RMDIR]   = "rmdir",
        [ACTION_MKDIR]   = "mkdir",
        [ACTION_TRUNCATE] = "truncate",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(action_op, ActionOp);
