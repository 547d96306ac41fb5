/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <libaudit.h>
#include <linux/netlink.h>

#include "audit/audit-kernel.h"
#include "shared/macro.h"

/* Replies that are neither the status nor an error (another request's
 * leftovers) are skipped, but not forever: a blocking read after the last
 * reply would never return. */
#define STATUS_REPLIES_MAX 50

int audit_kernel_open(void) {
        int fd;

        set_aumessage_mode(MSG_QUIET, DBG_NO);
        fd = audit_open();
        if (fd < 0)
                return -errno ?: -EIO;
        return fd;
}

int audit_kernel_status_fd(int fd, AuditKernelStatus *ret) {
        int r;

        r = audit_request_status(fd);
        if (r <= 0)
                return r < 0 ? r : -EIO;
        for (unsigned i = 0; i < STATUS_REPLIES_MAX; i++) {
                struct audit_reply rep = {};

                r = audit_get_reply(fd, &rep, GET_REPLY_BLOCKING, 0);
                if (r < 0)
                        return r;
                if (r == 0)
                        return -EIO;
                if (rep.type == NLMSG_ERROR) {
                        if (rep.error->error != 0)
                                return rep.error->error;
                        continue;       /* an ACK */
                }
                if (rep.type == AUDIT_GET && rep.status) {
                        *ret = (AuditKernelStatus) {
                                .enabled = rep.status->enabled,
                                .lost = rep.status->lost,
                                .backlog = rep.status->backlog,
                                .backlog_limit = rep.status->backlog_limit,
                                .backlog_wait_time = rep.status->backlog_wait_time,
                                .pid = rep.status->pid,
                        };
                        return 0;
                }
        }
        return -ENODATA;
}

int audit_kernel_status(AuditKernelStatus *ret) {
        _cleanup_(audit_kernel_closep) int fd = -EBADF;

        fd = audit_kernel_open();
        if (fd < 0)
                return fd;
        return audit_kernel_status_fd(fd, ret);
}
