/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upload/libssh-dl.h"

#include "shared/macro.h"

/* A small SFTP (version 3) client on an open libssh channel, written for the
 * uploader. libssh 0.10 has only synchronous sftp_write() (one request per
 * round trip) and no sftp_aio_*; speaking the protocol ourselves lets us keep
 * many WRITE and READ requests in flight, bound every wait by a stall timeout,
 * and use OpenSSH's extensions (posix-rename, fsync, statvfs, limits).
 *
 * All functions return 0 or a negative errno. A server's SSH_FX_* status maps
 * to an errno (NO_SUCH_FILE -ENOENT, PERMISSION_DENIED -EACCES, FAILURE -EIO,
 * OP_UNSUPPORTED -EOPNOTSUPP, ...); a lost connection is -ECONNRESET, a stall
 * -ETIMEDOUT. sftp_conn_last_error() describes the last failure in words. */

typedef struct SftpConn SftpConn;
typedef struct SftpHandle SftpHandle;

/* Called after each acknowledged WRITE or received READ, with the bytes done
 * so far in this transfer. Returns < 0 to stop the transfer (cancel). */
typedef int (*SftpProgress)(uint64_t done, void *userdata);

/* Takes over the channel (closed and freed by sftp_conn_free()), on which
 * the "sftp" subsystem was requested. */
int sftp_conn_new(SftpConn **ret, ssh_session session, ssh_channel channel, int stall_timeout_ms);
SftpConn *sftp_conn_free(SftpConn *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(SftpConn *, sftp_conn_free);
/* The SFTP handshake: version 3 and OpenSSH's extensions and limits. */
int sftp_conn_init(SftpConn *c);

const char *sftp_conn_last_error(SftpConn *c);
/* Whether the last failure was reading the local file, not the server. */
bool sftp_conn_last_error_is_local(SftpConn *c);

/* Returns the size of path, -ENOENT when it does not exist, 0 in *ret_is_dir
 * (may be NULL) unless it is a directory. */
int sftp_conn_stat(SftpConn *c, const char *path, uint64_t *ret_size, bool *ret_is_dir);
int sftp_conn_mkdir(SftpConn *c, const char *path, uint32_t mode);
int sftp_conn_remove(SftpConn *c, const char *path);
/* Replaces newpath atomically (posix-rename@openssh.com) when the server can;
 * otherwise removes newpath first. */
int sftp_conn_rename(SftpConn *c, const char *oldpath, const char *newpath);
/* Free bytes for unprivileged users on the file system of path
 * (statvfs@openssh.com); -EOPNOTSUPP when the server cannot tell. */
int sftp_conn_statvfs_free(SftpConn *c, const char *path, uint64_t *ret_free);

/* Opens for writing (created, truncated) or for reading. */
int sftp_conn_open_write(SftpConn *c, const char *path, uint32_t mode, SftpHandle **ret);
int sftp_conn_open_read(SftpConn *c, const char *path, SftpHandle **ret);
/* Closes the handle on the server and frees it; the handle is freed even on
 * error. */
int sftp_handle_close(SftpConn *c, SftpHandle *h);
int sftp_handle_fstat_size(SftpConn *c, SftpHandle *h, uint64_t *ret_size);
/* Reads up to len bytes at offset into buf; *ret_n is less than len only
 * at the end of the file. For small ranges (one request at a time). */
int sftp_handle_pread(SftpConn *c, SftpHandle *h, void *buf, size_t len, uint64_t offset, size_t *ret_n);
/* fsync@openssh.com; -EOPNOTSUPP when the server lacks it. */
int sftp_handle_fsync(SftpConn *c, SftpHandle *h);

/* Copies size bytes from the local fd (from offset 0) to the handle, with
 * several WRITE requests in flight; returns once every write is acknowledged.
 * Each acknowledgement means the server's write(2) of that range succeeded. */
int sftp_handle_write_from_fd(SftpConn *c, SftpHandle *h, int fd, uint64_t size,
                              SftpProgress progress, void *userdata);

/* Reads the whole file with several READ requests in flight, feeding each
 * chunk in order to sink; returns the total in *ret_size. */
typedef int (*SftpSink)(const void *data, size_t len, void *userdata);
int sftp_handle_read_all(SftpConn *c, SftpHandle *h, SftpSink sink, void *userdata, uint64_t *ret_size);

/* Overrides them (0 leaves a value unchanged); clamped to the server's limits. */
void sftp_conn_set_window(SftpConn *c, size_t chunk, unsigned requests);
