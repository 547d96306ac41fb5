/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define AUDIT_EVENT_MAX_PATHS 8

/* One PATH record. Strings are the raw field values as audit wrote them
 * (quoted, hex-encoded or "(null)"); decode with audit_value_decode(). */
typedef struct AuditPathRecord {
        int item;
        const char *name;
        const char *nametype;   /* NORMAL, CREATE, PARENT, DELETE, UNKNOWN, or NULL */
        uint32_t mode;
        bool has_mode;
} AuditPathRecord;

/* The parts of one audit event that fsmon uses. Pointers refer to the
 * decoder's storage and are valid only during the handler call. */
typedef struct AuditEvent {
        uint64_t sec;
        unsigned msec;
        uint64_t serial;

        bool has_syscall;       /* a SYSCALL record was seen */
        bool malformed;         /* ... but a field it needs was missing or invalid */
        uint32_t arch;
        int syscall;
        bool has_exit;          /* exit_group has neither success nor exit */
        bool success;
        int64_t exit;
        uint64_t a[4];
        uint32_t pid, ppid, auid, uid;
        const char *comm;       /* raw */
        const char *exe;        /* raw */
        const char *key;        /* raw */

        const char *cwd;        /* raw, from the CWD record, or NULL */
        const char *node;       /* node= of the lines (a collector's host name), or NULL */

        /* The MMAP record of an mmap of a file: its descriptor and MAP_* flags. */
        bool has_mmap;
        int mmap_fd;
        uint64_t mmap_flags;

        unsigned n_paths;
        AuditPathRecord paths[AUDIT_EVENT_MAX_PATHS];

        /* A LOGIN record: the process login_pid set its login uid. */
        bool has_login;
        uint32_t login_pid, login_auid;
} AuditEvent;
