/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <libaudit.h>
#include <stdint.h>

/* The kernel's audit status (AUDIT_GET over a unicast audit netlink socket,
 * CAP_AUDIT_CONTROL): one request, used by the rule loader (enabled, the
 * backlog settings) and by fsmond's capture (the lost counter). */

typedef struct AuditKernelStatus {
        uint32_t enabled;       /* 0 off, 1 on, 2 locked */
        uint32_t lost;
        uint32_t backlog;
        uint32_t backlog_limit;
        uint32_t backlog_wait_time;
        uint32_t pid;           /* of the audit daemon, 0 if none */
} AuditKernelStatus;

/* An audit netlink socket (libaudit's), with libaudit's own error messages
 * off: errors are returned and logged once by the caller. Returns the fd
 * (close with audit_close()) or a negative errno. */
int audit_kernel_open(void);

static inline void audit_kernel_closep(int *fd) {
        if (*fd >= 0)
                audit_close(*fd);
}

/* Asks on fd (from audit_kernel_open()). Returns 0, or a negative errno: the
 * kernel's refusal (-EPERM without CAP_AUDIT_CONTROL), -ENODATA when no
 * status reply came among the first replies. */
int audit_kernel_status_fd(int fd, AuditKernelStatus *ret);

/* The same on a socket of its own. */
int audit_kernel_status(AuditKernelStatus *ret);
