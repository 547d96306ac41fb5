/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/macro.h"

/* The kernel's audit records as they happen, from the audit netlink
 * multicast group AUDIT_NLGRP_READLOG (needs CAP_AUDIT_READ). The kernel
 * sends every record there besides auditd, best-effort: when our socket
 * buffer is full it drops, and recv() reports ENOBUFS once. Records come out
 * as auditd's RAW text lines ("type=NAME msg=audit(...): ...\n"), so the same
 * decoder reads the live stream and auditd's logs. */

typedef struct AuditNetlink AuditNetlink;

int audit_netlink_open(AuditNetlink **ret);
AuditNetlink *audit_netlink_free(AuditNetlink *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(AuditNetlink *, audit_netlink_free);

int audit_netlink_fd(const AuditNetlink *n);
/* The receive buffer the kernel granted, in bytes. */
int audit_netlink_rcvbuf(const AuditNetlink *n);

/* Reads what is queued (without blocking, at most max_records records) and
 * appends it as text to *buf at *len (realloc'ed; *size is its capacity).
 * Returns the number of records read (0: nothing queued), or a negative errno.
 * *overflowed is set when the kernel reported lost multicast records. */
int audit_netlink_read(AuditNetlink *n, char **buf, size_t *len, size_t *size,
                       unsigned max_records, bool *overflowed);
