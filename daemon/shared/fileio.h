/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Small helpers for files that root writes: everything goes through a
 * directory descriptor, never follows a symlink (O_NOFOLLOW), and replaces
 * files atomically (temporary name, fsync, renameat, fsync of the directory),
 * so that a crash leaves either the old or the new content, and a link planted
 * in the directory is never written through. All return 0 or a negative errno. */

/* Writes all of buf, retrying on EINTR and short writes. */
int fileio_write_full(int fd, const void *buf, size_t len);

/* The same at offset off (pwrite(): the file position does not move). */
int fileio_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

/* Reads up to len bytes, retrying on EINTR and short reads; returns the
 * number of bytes read (less than len only at end of file). */
ssize_t fileio_read_full(int fd, void *buf, size_t len);

/* The same at offset off (pread(): the file position does not move). */
ssize_t fileio_pread_full(int fd, void *buf, size_t len, uint64_t off);

/* fsync() of a directory, so that a rename or unlink in it is durable. */
int fileio_fsync_dir(int dir_fd);

/* Opens the directory name below dir_fd (AT_FDCWD for a path), never through a
 * symlink; with mode != 0 creates it first (one level) with that mode. Refuses
 * a directory that is not owned by us or that group or others may write to
 * (-EPERM): files in it could be swapped under us otherwise. */
int fileio_open_dir_at(int dir_fd, const char *name, mode_t mode, int *ret_fd);

/* Checks that st is a regular file owned by us without any permission for
 * group or others: -ELOOP for a symlink, -EINVAL for another file type,
 * -EPERM for a wrong owner, -EACCES for loose permissions. */
int fileio_check_private_file(const struct stat *st);
/* Opens dir_fd/name read-only, never through a symlink, and checks it as
 * fileio_check_private_file() does; the fd and its stat on success. */
int fileio_open_private_at(int dir_fd, const char *name, int *ret_fd, struct stat *ret_st);

/* Creates a new temporary file in dir_fd (O_EXCL, O_NOFOLLOW, O_CLOEXEC) with a
 * name starting with FILEIO_TMP_PREFIX; returns its fd and name (free()). */
#define FILEIO_TMP_PREFIX ".#"
int fileio_open_tmp_at(int dir_fd, const char *base, mode_t mode, int *ret_fd, char **ret_name);

typedef enum FileioLinkFlags {
        FILEIO_NOREPLACE = 1 << 0,      /* fail with -EEXIST when name exists */
        FILEIO_NO_SYNC = 1 << 1,        /* caller has fsynced fd already */
} FileioLinkFlags;

/* Makes the temporary file tmp_name (open as fd) durable under name:
 * fsync(fd), renameat, fsync(dir_fd). On failure the temporary file is removed. */
int fileio_link_tmp_at(int dir_fd, int fd, const char *tmp_name, const char *name, FileioLinkFlags flags);

/* All of the above in one call: data into name below dir_fd, atomically. */
int fileio_write_atomic_at(int dir_fd, const char *name, const void *data, size_t len,
                           mode_t mode, FileioLinkFlags flags);

/* Reads a small regular file (at most max bytes, else -EFBIG) below dir_fd
 * without following symlinks; returns a NUL-terminated buffer (free()). */
int fileio_read_small_at(int dir_fd, const char *name, size_t max, char **ret, size_t *ret_len);

/* A directory stream over dir_fd's directory on a descriptor of its own
 * (dir_fd stays the caller's, for openat() and unlinkat() beside it). */
int fileio_opendir_at(int dir_fd, DIR **ret);

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Removes leftover temporary files (FILEIO_TMP_PREFIX) of an earlier crash. */
int fileio_remove_tmp_files_at(int dir_fd);
