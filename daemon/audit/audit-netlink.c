/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <libaudit.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "audit/audit-netlink.h"

#ifndef AUDIT_NLGRP_READLOG
#define AUDIT_NLGRP_READLOG 1
#endif

/* Large enough to absorb a burst while the loop is busy; root can exceed
 * rmem_max with SO_RCVBUFFORCE. */
#define RCVBUF_SIZE (64 * 1024 * 1024)
/* A multiple of 16, so that each buffer of the batch is aligned for nlmsghdr. */
#define RECV_SIZE ((MAX_AUDIT_MESSAGE_LENGTH + NLMSG_HDRLEN + 64 + 15) / 16 * 16)
/* Records per recvmmsg(): one system call instead of one per record. */
#define RECV_BATCH 64

struct AuditNetlink {
        int fd;
        int rcvbuf;                     /* bytes the kernel granted */
        char *msg;                      /* RECV_BATCH buffers of RECV_SIZE */
        struct mmsghdr mmsg[RECV_BATCH];
        struct iovec iov[RECV_BATCH];
};

/* Records fsmon never reads are dropped by the kernel before they are queued
 * to the socket: PROCTITLE alone is one of the three records of every read
 * or write event. (Classic BPF loads halfwords big-endian, hence htons() of
 * the host-order nlmsg_type.) */
static int attach_filter(int fd) {
        struct sock_filter code[] = {
                BPF_STMT(BPF_LD | BPF_H | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_type)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(AUDIT_PROCTITLE), 3, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(AUDIT_EXECVE), 2, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(AUDIT_BPRM_FCAPS), 1, 0),
                BPF_STMT(BPF_RET | BPF_K, 0xffffffffU),
                BPF_STMT(BPF_RET | BPF_K, 0),
        };
        struct sock_fprog prog = { .len = ELEMENTSOF(code), .filter = code };

        return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ? -errno : 0;
}

int audit_netlink_open(AuditNetlink **ret) {
        struct sockaddr_nl sa = {
                .nl_family = AF_NETLINK,
                .nl_groups = 1U << (AUDIT_NLGRP_READLOG - 1),
        };
        _cleanup_(audit_netlink_freep) AuditNetlink *n = NULL;
        int size = RCVBUF_SIZE;

        n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        n->fd = -EBADF;
        n->msg = malloc((size_t) RECV_SIZE * RECV_BATCH);
        if (!n->msg)
                return -ENOMEM;
        n->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_AUDIT);
        if (n->fd < 0)
                return -errno;
        if (setsockopt(n->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0) {
                socklen_t l = sizeof(size);

                /* Without CAP_NET_ADMIN the kernel caps it at rmem_max. */
                (void) setsockopt(n->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
                if (getsockopt(n->fd, SOL_SOCKET, SO_RCVBUF, &size, &l) >= 0)
                        n->rcvbuf = size;
        } else
                n->rcvbuf = RCVBUF_SIZE;
        /* Only a saving: append_record() drops the same records. */
        (void) attach_filter(n->fd);
        if (bind(n->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;          /* EPERM without CAP_AUDIT_READ */
        for (unsigned i = 0; i < RECV_BATCH; i++) {
                n->iov[i] = (struct iovec) { .iov_base = n->msg + (size_t) i * RECV_SIZE, .iov_len = RECV_SIZE };
                n->mmsg[i].msg_hdr = (struct msghdr) { .msg_iov = &n->iov[i], .msg_iovlen = 1 };
        }
        *ret = TAKE_PTR(n);
        return 0;
}

AuditNetlink *audit_netlink_free(AuditNetlink *n) {
        if (!n)
                return NULL;
        safe_close(n->fd);
        free(n->msg);
        free(n);
        return NULL;
}

int audit_netlink_rcvbuf(const AuditNetlink *n) {
        return n->rcvbuf;
}

int audit_netlink_fd(const AuditNetlink *n) {
        return n->fd;
}

static int buf_reserve(char **buf, size_t *size, size_t need) {
        char *b;
        size_t s;

        if (need <= *size)
                return 0;
        s = MAX(need, *size * 2);
        b = realloc(*buf, s);
        if (!b)
                return -ENOMEM;
        *buf = b;
        *size = s;
        return 0;
}

/* Appends one record, as auditd's RAW text line, to the buffer. */
static int append_record(const char *msg, size_t k, char **buf, size_t *len, size_t *size) {
        const struct nlmsghdr *h = (const struct nlmsghdr *) msg;
        const char *type, *text;
        char unknown[32];
        size_t tlen;
        int r;

        /* The kernel sends one record per datagram; its nlmsg_len is not
         * always exact, so trust the datagram's size. */
        /* Below 1100: netlink control messages, but for LOGIN (1006), the
         * kernel's record of a process setting its login uid (the capture
         * takes the process's descriptors from /proc then). */
        if (k < NLMSG_HDRLEN || (h->nlmsg_type < AUDIT_FIRST_USER_MSG && h->nlmsg_type != AUDIT_LOGIN))
                return 0;
        /* Long records fsmon never reads (the decoder would drop them too). */
        if (h->nlmsg_type == AUDIT_PROCTITLE || h->nlmsg_type == AUDIT_EXECVE ||
            h->nlmsg_type == AUDIT_BPRM_FCAPS)
                return 0;
        text = NLMSG_DATA(h);
        tlen = k - NLMSG_HDRLEN;
        if (h->nlmsg_len >= NLMSG_HDRLEN && h->nlmsg_len - NLMSG_HDRLEN < tlen)
                tlen = h->nlmsg_len - NLMSG_HDRLEN;
        while (tlen > 0 && (text[tlen - 1] == 0 || text[tlen - 1] == '\n'))
                tlen--;
        if (memchr(text, 0, tlen))
                tlen = strnlen(text, tlen);

        type = audit_msg_type_to_name(h->nlmsg_type);
        if (!type) {
                snprintf(unknown, sizeof(unknown), "UNKNOWN[%u]", h->nlmsg_type);
                type = unknown;
        }
        r = buf_reserve(buf, size, *len + strlen(type) + tlen + 16);
        if (r < 0)
                return r;
        *len += (size_t) sprintf(*buf + *len, "type=%s msg=", type);
        memcpy(*buf + *len, text, tlen);
        *len += tlen;
        (*buf)[(*len)++] = '\n';
        return 1;
}

int audit_netlink_read(AuditNetlink *n, char **buf, size_t *len, size_t *size,
                       unsigned max_records, bool *overflowed) {
        unsigned count = 0;

        while (count < max_records) {
                unsigned want = MIN(max_records - count, (unsigned) RECV_BATCH);
                int k = recvmmsg(n->fd, n->mmsg, want, MSG_DONTWAIT, NULL);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        if (errno == ENOBUFS) {
                                *overflowed = true;
                                continue;
                        }
                        return -errno;
                }
                for (int i = 0; i < k; i++) {
                        int r = append_record(n->msg + (size_t) i * RECV_SIZE, n->mmsg[i].msg_len, buf, len, size);
                        if (r < 0)
                                return r;
                        count += r;
                }
                if (k < (int) want)
                        break;
        }
        return (int) count;
}
