/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shared/fileio.h"
#include "shared/macro.h"
#include "shared/time-util.h"
#include "upload/upload-sftp.h"

/* SFTP version 3 (draft-ietf-secsh-filexfer-02), as OpenSSH's sftp-server speaks it. */
enum {
        FXP_INIT = 1,
        FXP_VERSION = 2,
        FXP_OPEN = 3,
        FXP_CLOSE = 4,
        FXP_READ = 5,
        FXP_WRITE = 6,
        FXP_FSTAT = 8,
        FXP_REMOVE = 13,
        FXP_MKDIR = 14,
        FXP_STAT = 17,
        FXP_RENAME = 18,
        FXP_STATUS = 101,
        FXP_HANDLE = 102,
        FXP_DATA = 103,
        FXP_ATTRS = 105,
        FXP_EXTENDED = 200,
        FXP_EXTENDED_REPLY = 201,
};

enum {
        FX_OK = 0,
        FX_EOF = 1,
        FX_NO_SUCH_FILE = 2,
        FX_PERMISSION_DENIED = 3,
        FX_FAILURE = 4,
        FX_BAD_MESSAGE = 5,
        FX_NO_CONNECTION = 6,
        FX_CONNECTION_LOST = 7,
        FX_OP_UNSUPPORTED = 8,
};

enum {
        FXF_READ = 0x01,
        FXF_WRITE = 0x02,
        FXF_CREAT = 0x08,
        FXF_TRUNC = 0x10,
};

enum {
        FILEXFER_ATTR_SIZE = 0x00000001,
        FILEXFER_ATTR_UIDGID = 0x00000002,
        FILEXFER_ATTR_PERMISSIONS = 0x00000004,
        FILEXFER_ATTR_ACMODTIME = 0x00000008,
        FILEXFER_ATTR_EXTENDED = 0x80000000,
};

/* OpenSSH's sftp-server accepts packets up to 256 KiB. */
#define SFTP_MAX_PACKET (256U * 1024U)
#define SFTP_MAX_REQUESTS 128U
#define SFTP_DEFAULT_CHUNK (64U * 1024U)
#define SFTP_DEFAULT_REQUESTS 64U
#define SFTP_HANDLE_MAX 256U

struct SftpHandle {
        uint32_t len;
        uint8_t data[SFTP_HANDLE_MAX];
};

struct SftpConn {
        ssh_session session;
        ssh_channel channel;
        int stall_ms;
        uint32_t next_id;
        int broken;             /* a transport error: the connection is unusable */

        uint8_t *in;
        size_t in_size, in_start, in_end;
        uint8_t *out;
        size_t out_size, out_len;

        bool ext_posix_rename, ext_fsync, ext_statvfs, ext_limits;
        size_t max_write, max_read;     /* server limits */
        size_t chunk;
        unsigned requests;

        char error[512];
        bool error_local;       /* the last failure was reading the local file */
};

typedef struct Reader {
        const uint8_t *p;
        size_t left;
} Reader;

static int conn_fail(SftpConn *c, int r, const char *fmt, ...) _printf_(3, 4);
static int conn_fail(SftpConn *c, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(c->error, sizeof(c->error), fmt, ap);
        va_end(ap);
        c->error_local = false;
        return r;
}

/* A transport failure: remembered, so later calls fail the same way at once. */
static int conn_break(SftpConn *c, int r) {
        c->broken = r;
        return r;
}

static int conn_lost(SftpConn *c) {
        (void) conn_fail(c, -ECONNRESET, "connection lost: %s", sym_ssh_get_error(c->session));
        return conn_break(c, -ECONNRESET);
}

const char *sftp_conn_last_error(SftpConn *c) {
        return c->error[0] ? c->error : "no error";
}

bool sftp_conn_last_error_is_local(SftpConn *c) {
        return c->error_local;
}

static int reader_u8(Reader *rd, uint8_t *ret) {
        if (rd->left < 1)
                return -EBADMSG;
        *ret = rd->p[0];
        rd->p++, rd->left--;
        return 0;
}

static int reader_u32(Reader *rd, uint32_t *ret) {
        uint32_t v;

        if (rd->left < 4)
                return -EBADMSG;
        memcpy(&v, rd->p, 4);
        *ret = be32toh(v);
        rd->p += 4, rd->left -= 4;
        return 0;
}

static int reader_u64(Reader *rd, uint64_t *ret) {
        uint64_t v;

        if (rd->left < 8)
                return -EBADMSG;
        memcpy(&v, rd->p, 8);
        *ret = be64toh(v);
        rd->p += 8, rd->left -= 8;
        return 0;
}

static int reader_string(Reader *rd, const uint8_t **ret, uint32_t *ret_len) {
        uint32_t len;
        int r;

        r = reader_u32(rd, &len);
        if (r < 0)
                return r;
        if (rd->left < len)
                return -EBADMSG;
        *ret = rd->p;
        *ret_len = len;
        rd->p += len, rd->left -= len;
        return 0;
}

static int out_reserve(SftpConn *c, size_t more) {
        size_t need = c->out_len + more;
        uint8_t *p;

        if (need <= c->out_size)
                return 0;
        need = MAX(need, c->out_size * 2);
        p = realloc(c->out, need);
        if (!p)
                return -ENOMEM;
        c->out = p;
        c->out_size = need;
        return 0;
}

static int out_u8(SftpConn *c, uint8_t v) {
        if (out_reserve(c, 1) < 0)
                return -ENOMEM;
        c->out[c->out_len++] = v;
        return 0;
}

static int out_u32(SftpConn *c, uint32_t v) {
        v = htobe32(v);
        if (out_reserve(c, 4) < 0)
                return -ENOMEM;
        memcpy(c->out + c->out_len, &v, 4);
        c->out_len += 4;
        return 0;
}

static int out_u64(SftpConn *c, uint64_t v) {
        v = htobe64(v);
        if (out_reserve(c, 8) < 0)
                return -ENOMEM;
        memcpy(c->out + c->out_len, &v, 8);
        c->out_len += 8;
        return 0;
}

static int out_bytes(SftpConn *c, const void *p, size_t len) {
        if (len > UINT32_MAX)
                return -EINVAL;
        if (out_u32(c, (uint32_t) len) < 0 || out_reserve(c, len) < 0)
                return -ENOMEM;
        memcpy(c->out + c->out_len, p, len);
        c->out_len += len;
        return 0;
}

static int out_string(SftpConn *c, const char *s) {
        return out_bytes(c, s, strlen(s));
}

/* Starts a packet: length (filled in by conn_send()), type and request id. */
static int out_begin(SftpConn *c, uint8_t type, uint32_t *ret_id) {
        c->out_len = 0;
        if (out_u32(c, 0) < 0 || out_u8(c, type) < 0)
                return -ENOMEM;
        if (ret_id) {
                *ret_id = c->next_id++;
                if (out_u32(c, *ret_id) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int conn_write_all(SftpConn *c, const uint8_t *p, size_t len) {
        uint64_t deadline = now_msec(CLOCK_MONOTONIC) + (uint64_t) c->stall_ms;

        while (len > 0) {
                uint32_t n = (uint32_t) MIN(len, (size_t) INT32_MAX);
                int k;

                /* Blocks until the server's window opens, bounded by the
                 * session timeout (the stall timeout); a short count means
                 * the wait ran out. */
                k = sym_ssh_channel_write(c->channel, p, n);
                if (k < 0)
                        return conn_lost(c);
                if (k > 0) {
                        p += k, len -= (size_t) k;
                        deadline = now_msec(CLOCK_MONOTONIC) + (uint64_t) c->stall_ms;
                        continue;
                }
                if (sym_ssh_channel_is_closed(c->channel) || sym_ssh_channel_is_eof(c->channel)) {
                        (void) conn_fail(c, -ECONNRESET, "connection lost: the server closed the SFTP channel");
                        return conn_break(c, -ECONNRESET);
                }
                if (now_msec(CLOCK_MONOTONIC) >= deadline) {
                        (void) conn_fail(c, -ETIMEDOUT, "the server accepted no data for %d s", c->stall_ms / 1000);
                        return conn_break(c, -ETIMEDOUT);
                }
        }
        return 0;
}

static int conn_send(SftpConn *c) {
        uint32_t len;

        if (c->broken)
                return c->broken;
        len = htobe32((uint32_t) (c->out_len - 4));
        memcpy(c->out, &len, 4);
        return conn_write_all(c, c->out, c->out_len);
}

/* Makes at least want bytes available in the input buffer. */
static int conn_fill(SftpConn *c, size_t want) {
        uint64_t deadline = now_msec(CLOCK_MONOTONIC) + (uint64_t) c->stall_ms;

        if (c->in_end - c->in_start >= want)
                return 0;
        if (c->in_start > 0) {
                memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
                c->in_end -= c->in_start;
                c->in_start = 0;
        }
        if (want > c->in_size) {
                size_t size = MAX(want, c->in_size * 2);
                uint8_t *p = realloc(c->in, size);

                if (!p)
                        return -ENOMEM;
                c->in = p;
                c->in_size = size;
        }

        while (c->in_end < want) {
                int k;

                k = sym_ssh_channel_read_timeout(c->channel, c->in + c->in_end,
                                             (uint32_t) (c->in_size - c->in_end), 0, c->stall_ms);
                if (k < 0)
                        return conn_lost(c);
                if (k > 0) {
                        c->in_end += (size_t) k;
                        continue;
                }
                if (sym_ssh_channel_is_closed(c->channel) || sym_ssh_channel_is_eof(c->channel)) {
                        (void) conn_fail(c, -ECONNRESET, "connection lost: the server closed the SFTP channel");
                        return conn_break(c, -ECONNRESET);
                }
                if (now_msec(CLOCK_MONOTONIC) >= deadline) {
                        (void) conn_fail(c, -ETIMEDOUT, "no reply from the server for %d s", c->stall_ms / 1000);
                        return conn_break(c, -ETIMEDOUT);
                }
        }
        return 0;
}

/* Receives one packet; the payload (after type and id) stays valid until the
 * next receive. */
static int conn_recv(SftpConn *c, uint8_t *ret_type, uint32_t *ret_id, Reader *ret_payload) {
        uint32_t len;
        Reader rd;
        int r;

        if (c->broken)
                return c->broken;
        r = conn_fill(c, 4);
        if (r < 0)
                return r;
        memcpy(&len, c->in + c->in_start, 4);
        len = be32toh(len);
        if (len < 1 || len > SFTP_MAX_PACKET + 1024) {
                (void) conn_fail(c, -EBADMSG, "malformed SFTP reply (length %u)", len);
                return conn_break(c, -EBADMSG);
        }
        r = conn_fill(c, 4 + (size_t) len);
        if (r < 0)
                return r;

        rd = (Reader) { .p = c->in + c->in_start + 4, .left = len };
        c->in_start += 4 + (size_t) len;

        (void) reader_u8(&rd, ret_type);
        if (*ret_type != FXP_VERSION && reader_u32(&rd, ret_id) < 0) {
                (void) conn_fail(c, -EBADMSG, "malformed SFTP reply (no id)");
                return conn_break(c, -EBADMSG);
        }
        *ret_payload = rd;
        return 0;
}

static int status_to_errno(uint32_t code) {
        switch (code) {
        case FX_OK:
                return 0;
        case FX_EOF:
                return -ENODATA;
        case FX_NO_SUCH_FILE:
                return -ENOENT;
        case FX_PERMISSION_DENIED:
                return -EACCES;
        case FX_FAILURE:
                return -EIO;
        case FX_BAD_MESSAGE:
                return -EBADMSG;
        case FX_NO_CONNECTION:
        case FX_CONNECTION_LOST:
                return -ECONNRESET;
        case FX_OP_UNSUPPORTED:
                return -EOPNOTSUPP;
        default:
                return -EPROTO;
        }
}

/* Parses a STATUS payload: 0 for OK, else a negative errno and a message. */
static int conn_parse_status(SftpConn *c, Reader *rd) {
        const uint8_t *msg = NULL;
        uint32_t code, msg_len = 0;
        int r;

        if (reader_u32(rd, &code) < 0)
                return conn_fail(c, -EBADMSG, "malformed SFTP status");
        (void) reader_string(rd, &msg, &msg_len);       /* optional in old servers */
        r = status_to_errno(code);
        if (r < 0)
                (void) conn_fail(c, r, "%.*s (SFTP status %u)",
                                 msg_len ? (int) MIN(msg_len, 200U) : 7,
                                 msg_len ? (const char *) msg : "failure", code);
        return r;
}

/* Receives the reply to request id, which must be the next one. */
static int conn_reply(SftpConn *c, uint32_t id, uint8_t *ret_type, Reader *ret_payload) {
        uint32_t rid = 0;
        int r;

        r = conn_recv(c, ret_type, &rid, ret_payload);
        if (r < 0)
                return r;
        if (rid != id) {
                (void) conn_fail(c, -EBADMSG, "unexpected SFTP reply %u (waiting for %u)", rid, id);
                return conn_break(c, -EBADMSG);
        }
        return 0;
}

static int conn_expect_status(SftpConn *c, uint32_t id) {
        uint8_t type;
        Reader rd;
        int r;

        r = conn_send(c);
        if (r < 0)
                return r;
        r = conn_reply(c, id, &type, &rd);
        if (r < 0)
                return r;
        if (type != FXP_STATUS)
                return conn_fail(c, -EBADMSG, "unexpected SFTP reply type %u", type);
        return conn_parse_status(c, &rd);
}

static int attrs_parse(Reader *rd, uint64_t *ret_size, uint32_t *ret_mode) {
        uint32_t flags, u;
        uint64_t size = UINT64_MAX;
        uint32_t mode = 0;

        if (reader_u32(rd, &flags) < 0)
                return -EBADMSG;
        if (flags & FILEXFER_ATTR_SIZE && reader_u64(rd, &size) < 0)
                return -EBADMSG;
        if (flags & FILEXFER_ATTR_UIDGID && (reader_u32(rd, &u) < 0 || reader_u32(rd, &u) < 0))
                return -EBADMSG;
        if (flags & FILEXFER_ATTR_PERMISSIONS && reader_u32(rd, &mode) < 0)
                return -EBADMSG;
        /* ACMODTIME and extended attributes follow; nothing we need. */
        if (ret_size)
                *ret_size = size;
        if (ret_mode)
                *ret_mode = mode;
        return 0;
}

int sftp_conn_init(SftpConn *c) {
        uint8_t type;
        uint32_t version;
        Reader rd;
        int r;

        if (out_begin(c, FXP_INIT, NULL) < 0 || out_u32(c, 3) < 0)
                return -ENOMEM;
        r = conn_send(c);
        if (r < 0)
                return r;
        r = conn_recv(c, &type, NULL, &rd);
        if (r < 0)
                return r;
        if (type != FXP_VERSION || reader_u32(&rd, &version) < 0)
                return conn_fail(c, -EPROTO, "the server does not speak SFTP");
        if (version < 3)
                return conn_fail(c, -EPROTO, "the server speaks SFTP version %u, 3 is needed", version);

        while (rd.left > 0) {
                const uint8_t *name, *data;
                uint32_t name_len, data_len;

                if (reader_string(&rd, &name, &name_len) < 0 || reader_string(&rd, &data, &data_len) < 0)
                        break;
#define IS_EXT(s) (name_len == strlen(s) && memcmp(name, s, name_len) == 0)
                if (IS_EXT("posix-rename@openssh.com"))
                        c->ext_posix_rename = true;
                else if (IS_EXT("fsync@openssh.com"))
                        c->ext_fsync = true;
                else if (IS_EXT("statvfs@openssh.com"))
                        c->ext_statvfs = true;
                else if (IS_EXT("limits@openssh.com"))
                        c->ext_limits = true;
#undef IS_EXT
        }

        c->max_write = c->max_read = 32U * 1024U;     /* every server takes this much */
        if (c->ext_limits) {
                uint64_t max_packet, max_read, max_write;
                uint32_t id;

                if (out_begin(c, FXP_EXTENDED, &id) < 0 || out_string(c, "limits@openssh.com") < 0)
                        return -ENOMEM;
                r = conn_send(c);
                if (r < 0)
                        return r;
                r = conn_reply(c, id, &type, &rd);
                if (r < 0)
                        return r;
                if (type == FXP_EXTENDED_REPLY &&
                    reader_u64(&rd, &max_packet) >= 0 &&
                    reader_u64(&rd, &max_read) >= 0 &&
                    reader_u64(&rd, &max_write) >= 0) {
                        if (max_write > 0)
                                c->max_write = (size_t) MIN(max_write, (uint64_t) SFTP_MAX_PACKET - 1024U);
                        if (max_read > 0)
                                c->max_read = (size_t) MIN(max_read, (uint64_t) SFTP_MAX_PACKET - 1024U);
                }
        }
        c->chunk = MIN((size_t) SFTP_DEFAULT_CHUNK, MIN(c->max_write, c->max_read));
        c->requests = SFTP_DEFAULT_REQUESTS;
        return 0;
}

int sftp_conn_new(SftpConn **ret, ssh_session session, ssh_channel channel, int stall_timeout_ms) {
        SftpConn *c;

        c = calloc(1, sizeof(*c));
        if (!c) {
                sym_ssh_channel_free(channel);
                return -ENOMEM;
        }
        c->session = session;
        c->channel = channel;
        c->stall_ms = MAX(stall_timeout_ms, 1000);
        c->next_id = 1;
        *ret = c;
        return 0;
}

SftpConn *sftp_conn_free(SftpConn *c) {
        if (!c)
                return NULL;
        if (c->channel) {
                if (!c->broken && !sym_ssh_channel_is_closed(c->channel)) {
                        (void) sym_ssh_channel_send_eof(c->channel);
                        (void) sym_ssh_channel_close(c->channel);
                }
                sym_ssh_channel_free(c->channel);
        }
        free(c->in);
        free(c->out);
        free(c);
        return NULL;
}

void sftp_conn_set_window(SftpConn *c, size_t chunk, unsigned requests) {
        if (chunk > 0)
                c->chunk = MIN(chunk, MIN(c->max_write, c->max_read));
        if (requests > 0)
                c->requests = MIN(requests, SFTP_MAX_REQUESTS);
}

int sftp_conn_stat(SftpConn *c, const char *path, uint64_t *ret_size, bool *ret_is_dir) {
        uint64_t size;
        uint32_t id, mode;
        uint8_t type;
        Reader rd;
        int r;

        if (out_begin(c, FXP_STAT, &id) < 0 || out_string(c, path) < 0)
                return -ENOMEM;
        r = conn_send(c);
        if (r < 0)
                return r;
        r = conn_reply(c, id, &type, &rd);
        if (r < 0)
                return r;
        if (type == FXP_STATUS) {
                r = conn_parse_status(c, &rd);
                return r < 0 ? r : conn_fail(c, -EBADMSG, "STAT answered without attributes");
        }
        if (type != FXP_ATTRS || attrs_parse(&rd, &size, &mode) < 0)
                return conn_fail(c, -EBADMSG, "malformed reply to STAT");
        if (ret_size)
                *ret_size = size;
        if (ret_is_dir)
                *ret_is_dir = S_ISDIR(mode);
        return 0;
}

int sftp_conn_mkdir(SftpConn *c, const char *path, uint32_t mode) {
        uint32_t id;

        if (out_begin(c, FXP_MKDIR, &id) < 0 || out_string(c, path) < 0 ||
            out_u32(c, FILEXFER_ATTR_PERMISSIONS) < 0 || out_u32(c, mode) < 0)
                return -ENOMEM;
        return conn_expect_status(c, id);
}

int sftp_conn_remove(SftpConn *c, const char *path) {
        uint32_t id;

        if (out_begin(c, FXP_REMOVE, &id) < 0 || out_string(c, path) < 0)
                return -ENOMEM;
        return conn_expect_status(c, id);
}

int sftp_conn_rename(SftpConn *c, const char *oldpath, const char *newpath) {
        uint32_t id;
        int r;

        if (c->ext_posix_rename) {
                if (out_begin(c, FXP_EXTENDED, &id) < 0 || out_string(c, "posix-rename@openssh.com") < 0 ||
                    out_string(c, oldpath) < 0 || out_string(c, newpath) < 0)
                        return -ENOMEM;
                return conn_expect_status(c, id);
        }

        /* Plain SFTP rename refuses to replace: remove the target first. */
        r = sftp_conn_remove(c, newpath);
        if (r < 0 && r != -ENOENT)
                return r;
        if (out_begin(c, FXP_RENAME, &id) < 0 || out_string(c, oldpath) < 0 || out_string(c, newpath) < 0)
                return -ENOMEM;
        return conn_expect_status(c, id);
}

int sftp_conn_statvfs_free(SftpConn *c, const char *path, uint64_t *ret_free) {
        uint64_t bsize, frsize, blocks, bfree, bavail;
        uint32_t id;
        uint8_t type;
        Reader rd;
        int r;

        if (!c->ext_statvfs)
                return -EOPNOTSUPP;
        if (out_begin(c, FXP_EXTENDED, &id) < 0 || out_string(c, "statvfs@openssh.com") < 0 ||
            out_string(c, path) < 0)
                return -ENOMEM;
        r = conn_send(c);
        if (r < 0)
                return r;
        r = conn_reply(c, id, &type, &rd);
        if (r < 0)
                return r;
        if (type == FXP_STATUS) {
                r = conn_parse_status(c, &rd);
                return r < 0 ? r : -EBADMSG;
        }
        if (type != FXP_EXTENDED_REPLY ||
            reader_u64(&rd, &bsize) < 0 || reader_u64(&rd, &frsize) < 0 ||
            reader_u64(&rd, &blocks) < 0 || reader_u64(&rd, &bfree) < 0 ||
            reader_u64(&rd, &bavail) < 0)
                return conn_fail(c, -EBADMSG, "malformed reply to statvfs");
        *ret_free = bavail * (frsize ?: bsize);
        return 0;
}

static int conn_open(SftpConn *c, const char *path, uint32_t pflags, uint32_t mode, SftpHandle **ret) {
        const uint8_t *hp;
        uint32_t id, hlen;
        SftpHandle *h;
        uint8_t type;
        Reader rd;
        int r;

        if (out_begin(c, FXP_OPEN, &id) < 0 || out_string(c, path) < 0 || out_u32(c, pflags) < 0)
                return -ENOMEM;
        if (pflags & FXF_CREAT) {
                if (out_u32(c, FILEXFER_ATTR_PERMISSIONS) < 0 || out_u32(c, mode) < 0)
                        return -ENOMEM;
        } else if (out_u32(c, 0) < 0)
                return -ENOMEM;
        r = conn_send(c);
        if (r < 0)
                return r;
        r = conn_reply(c, id, &type, &rd);
        if (r < 0)
                return r;
        if (type == FXP_STATUS) {
                r = conn_parse_status(c, &rd);
                return r < 0 ? r : conn_fail(c, -EBADMSG, "OPEN answered without a handle");
        }
        if (type != FXP_HANDLE || reader_string(&rd, &hp, &hlen) < 0 || hlen > SFTP_HANDLE_MAX)
                return conn_fail(c, -EBADMSG, "malformed reply to OPEN");

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->len = hlen;
        memcpy(h->data, hp, hlen);
        *ret = h;
        return 0;
}

int sftp_conn_open_write(SftpConn *c, const char *path, uint32_t mode, SftpHandle **ret) {
        return conn_open(c, path, FXF_WRITE | FXF_CREAT | FXF_TRUNC, mode, ret);
}

int sftp_conn_open_read(SftpConn *c, const char *path, SftpHandle **ret) {
        return conn_open(c, path, FXF_READ, 0, ret);
}

int sftp_handle_close(SftpConn *c, SftpHandle *h) {
        uint32_t id;
        int r;

        if (!h)
                return 0;
        if (c->broken) {
                free(h);
                return c->broken;
        }
        if (out_begin(c, FXP_CLOSE, &id) < 0 || out_bytes(c, h->data, h->len) < 0) {
                free(h);
                return -ENOMEM;
        }
        free(h);
        r = conn_expect_status(c, id);
        return r;
}

int sftp_handle_fstat_size(SftpConn *c, SftpHandle *h, uint64_t *ret_size) {
        uint32_t id;
        uint8_t type;
        Reader rd;
        int r;

        if (out_begin(c, FXP_FSTAT, &id) < 0 || out_bytes(c, h->data, h->len) < 0)
                return -ENOMEM;
        r = conn_send(c);
        if (r < 0)
                return r;
        r = conn_reply(c, id, &type, &rd);
        if (r < 0)
                return r;
        if (type == FXP_STATUS) {
                r = conn_parse_status(c, &rd);
                return r < 0 ? r : -EBADMSG;
        }
        if (type != FXP_ATTRS || attrs_parse(&rd, ret_size, NULL) < 0)
                return conn_fail(c, -EBADMSG, "malformed reply to FSTAT");
        return 0;
}

int sftp_handle_pread(SftpConn *c, SftpHandle *h, void *buf, size_t len, uint64_t offset, size_t *ret_n) {
        uint8_t *p = buf;
        size_t done = 0;

        /* One request at a time: this reads a few KiB, not a file. */
        while (done < len) {
                uint32_t id, dlen, want = (uint32_t) MIN(len - done, c->chunk);
                const uint8_t *data;
                uint8_t type;
                Reader rd;
                int r;

                if (out_begin(c, FXP_READ, &id) < 0 || out_bytes(c, h->data, h->len) < 0 ||
                    out_u64(c, offset + done) < 0 || out_u32(c, want) < 0)
                        return -ENOMEM;
                r = conn_send(c);
                if (r < 0)
                        return r;
                r = conn_reply(c, id, &type, &rd);
                if (r < 0)
                        return r;
                if (type == FXP_STATUS) {
                        r = conn_parse_status(c, &rd);
                        if (r == -ENODATA)
                                break;          /* end of file */
                        return r < 0 ? r : conn_fail(c, -EBADMSG, "READ answered with OK");
                }
                if (type != FXP_DATA || reader_string(&rd, &data, &dlen) < 0 || dlen > want)
                        return conn_fail(c, -EBADMSG, "malformed reply to READ");
                if (dlen == 0)
                        break;
                memcpy(p + done, data, dlen);
                done += dlen;
        }
        *ret_n = done;
        return 0;
}

int sftp_handle_fsync(SftpConn *c, SftpHandle *h) {
        uint32_t id;

        if (!c->ext_fsync)
                return -EOPNOTSUPP;
        if (out_begin(c, FXP_EXTENDED, &id) < 0 || out_string(c, "fsync@openssh.com") < 0 ||
            out_bytes(c, h->data, h->len) < 0)
                return -ENOMEM;
        return conn_expect_status(c, id);
}

typedef struct Inflight {
        uint32_t id;
        uint32_t len;
        uint64_t offset;
} Inflight;

static int inflight_take(Inflight *v, unsigned *n, uint32_t id, Inflight *ret) {
        for (unsigned i = 0; i < *n; i++)
                if (v[i].id == id) {
                        *ret = v[i];
                        memmove(v + i, v + i + 1, (*n - i - 1) * sizeof(*v));
                        (*n)--;
                        return 0;
                }
        return -EBADMSG;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t offset) {
        ssize_t k = fileio_pread_full(fd, buf, len, offset);

        if (k < 0)
                return (int) k;
        return (size_t) k < len ? -ENODATA : 0;         /* short: the file shrank under us */
}

int sftp_handle_write_from_fd(SftpConn *c, SftpHandle *h, int fd, uint64_t size,
                              SftpProgress progress, void *userdata) {
        Inflight inflight[SFTP_MAX_REQUESTS];
        unsigned n_inflight = 0;
        uint64_t offset = 0, acked = 0;
        int r = 0;

        for (;;) {
                uint8_t type;
                uint32_t id = 0;
                Inflight done;
                Reader rd;
                int k;

                /* Fill the window; after the first failure only drain it, so
                 * that the connection stays usable for cleaning up. */
                while (r == 0 && offset < size && n_inflight < c->requests) {
                        size_t len = (size_t) MIN((uint64_t) c->chunk, size - offset);

                        if (out_begin(c, FXP_WRITE, &id) < 0 || out_bytes(c, h->data, h->len) < 0 ||
                            out_u64(c, offset) < 0 || out_u32(c, (uint32_t) len) < 0 ||
                            out_reserve(c, len) < 0)
                                return -ENOMEM;
                        /* Read the data straight into the packet. */
                        k = pread_full(fd, c->out + c->out_len, len, offset);
                        if (k < 0) {
                                r = conn_fail(c, k, "cannot read the local segment: %s", strerror(-k));
                                c->error_local = true;
                                break;
                        }
                        c->out_len += len;
                        k = conn_send(c);
                        if (k < 0)
                                return k;
                        inflight[n_inflight++] = (Inflight) { .id = id, .len = (uint32_t) len, .offset = offset };
                        offset += len;
                }
                if (n_inflight == 0)
                        break;

                k = conn_recv(c, &type, &id, &rd);
                if (k < 0)
                        return k;
                if (inflight_take(inflight, &n_inflight, id, &done) < 0) {
                        (void) conn_fail(c, -EBADMSG, "SFTP reply to an unknown request %u", id);
                        return conn_break(c, -EBADMSG);
                }
                if (type != FXP_STATUS) {
                        if (r == 0)
                                r = conn_fail(c, -EBADMSG, "unexpected SFTP reply type %u to WRITE", type);
                        continue;
                }
                k = conn_parse_status(c, &rd);
                if (k < 0) {
                        if (r == 0)
                                r = k;
                        continue;
                }
                acked += done.len;
                if (r == 0 && progress) {
                        k = progress(acked, userdata);
                        if (k < 0)
                                r = conn_fail(c, k, "cancelled");
                }
        }
        return r;
}

int sftp_handle_read_all(SftpConn *c, SftpHandle *h, SftpSink sink, void *userdata, uint64_t *ret_size) {
        Inflight inflight[SFTP_MAX_REQUESTS];
        unsigned n_inflight = 0;
        uint64_t offset = 0;    /* next byte to request */
        uint64_t delivered = 0; /* next byte to hand to sink */
        bool eof = false, restart = false;
        int r = 0;

        /* Replies come in request order from sftp-server; a short read or an
         * out-of-order reply drains the window and restarts from the first
         * byte not yet handed over, which keeps the data in order. */
        for (;;) {
                const uint8_t *data;
                uint32_t id, dlen;
                Inflight done;
                uint8_t type;
                Reader rd;
                int k;

                while (r == 0 && !eof && !restart && n_inflight < c->requests) {
                        if (out_begin(c, FXP_READ, &id) < 0 || out_bytes(c, h->data, h->len) < 0 ||
                            out_u64(c, offset) < 0 || out_u32(c, (uint32_t) c->chunk) < 0)
                                return -ENOMEM;
                        k = conn_send(c);
                        if (k < 0)
                                return k;
                        inflight[n_inflight++] = (Inflight) { .id = id, .len = (uint32_t) c->chunk, .offset = offset };
                        offset += c->chunk;
                }
                if (n_inflight == 0) {
                        if (r < 0 || eof)
                                break;
                        /* restart */
                        restart = false;
                        offset = delivered;
                        continue;
                }

                k = conn_recv(c, &type, &id, &rd);
                if (k < 0)
                        return k;
                if (inflight_take(inflight, &n_inflight, id, &done) < 0) {
                        (void) conn_fail(c, -EBADMSG, "SFTP reply to an unknown request %u", id);
                        return conn_break(c, -EBADMSG);
                }
                if (r < 0 || restart)
                        continue;       /* draining */
                if (done.offset != delivered) {
                        restart = true;
                        continue;
                }

                if (type == FXP_STATUS) {
                        k = conn_parse_status(c, &rd);
                        if (k == -ENODATA)
                                eof = true;
                        else
                                r = k < 0 ? k : conn_fail(c, -EBADMSG, "READ answered with OK");
                        continue;
                }
                if (type != FXP_DATA || reader_string(&rd, &data, &dlen) < 0 || dlen > done.len) {
                        r = conn_fail(c, -EBADMSG, "malformed reply to READ");
                        continue;
                }
                if (dlen == 0) {
                        eof = true;
                        continue;
                }
                k = sink(data, dlen, userdata);
                if (k < 0) {
                        r = conn_fail(c, k, "cancelled");
                        continue;
                }
                delivered += dlen;
                if (dlen < done.len)
                        restart = true;
        }
        if (r < 0)
                return r;
        if (ret_size)
                *ret_size = delivered;
        return 0;
}
