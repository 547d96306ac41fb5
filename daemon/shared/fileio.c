/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/fileio.h"
#include "shared/macro.h"

/* One loop for both: off UINT64_MAX writes at the file position. */
static int write_full(int fd, const uint8_t *p, size_t len, uint64_t off) {
        while (len > 0) {
                ssize_t n = off == UINT64_MAX ? write(fd, p, len) : pwrite(fd, p, len, (off_t) off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t) n;
                if (off != UINT64_MAX)
                        off += (uint64_t) n;
        }
        return 0;
}

int fileio_write_full(int fd, const void *buf, size_t len) {
        return write_full(fd, buf, len, UINT64_MAX);
}

int fileio_pwrite_full(int fd, const void *buf, size_t len, uint64_t off) {
        if (off == UINT64_MAX)  /* beyond any file; the sentinel above */
                return -EINVAL;
        return write_full(fd, buf, len, off);
}

/* The same for reading: short only at end of file. */
static ssize_t read_full(int fd, uint8_t *p, size_t len, uint64_t off) {
        size_t done = 0;

        while (done < len) {
                ssize_t n = off == UINT64_MAX ? read(fd, p + done, len - done) :
                                                pread(fd, p + done, len - done, (off_t) (off + done));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        return (ssize_t) done;
}

ssize_t fileio_read_full(int fd, void *buf, size_t len) {
        return read_full(fd, buf, len, UINT64_MAX);
}

ssize_t fileio_pread_full(int fd, void *buf, size_t len, uint64_t off) {
        if (off == UINT64_MAX)
                return -EINVAL;
        return read_full(fd, buf, len, off);
}

int fileio_fsync_dir(int dir_fd) {
        if (fsync(dir_fd) < 0)
                return -errno;
        return 0;
}

int fileio_open_dir_at(int dir_fd, const char *name, mode_t mode, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (mode != 0 && mkdirat(dir_fd, name, mode) < 0 && errno != EEXIST)
                return -errno;

        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOTDIR ? -ELOOP : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_uid != geteuid())
                return -EPERM;
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return -EPERM;

        *ret_fd = TAKE_FD(fd);
        return 0;
}

int fileio_check_private_file(const struct stat *st) {
        if (S_ISLNK(st->st_mode))
                return -ELOOP;
        if (!S_ISREG(st->st_mode))
                return -EINVAL;
        if (st->st_uid != geteuid())
                return -EPERM;
        if (st->st_mode & 077)
                return -EACCES;
        return 0;
}

int fileio_open_private_at(int dir_fd, const char *name, int *ret_fd, struct stat *ret_st) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, ret_st) < 0)
                return -errno;
        r = fileio_check_private_file(ret_st);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int fileio_open_tmp_at(int dir_fd, const char *base, mode_t mode, int *ret_fd, char **ret_name) {
        for (unsigned attempt = 0; attempt < 16; attempt++) {
                _cleanup_free_ char *name = NULL;
                uint64_t r;
                int fd;

                if (getrandom(&r, sizeof(r), 0) != sizeof(r))
                        return -errno ?: -EIO;
                if (asprintf(&name, FILEIO_TMP_PREFIX "%s.%016llx", base, (unsigned long long) r) < 0)
                        return -ENOMEM;

                fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
                if (fd < 0) {
                        if (errno == EEXIST)
                                continue;
                        return -errno;
                }
                *ret_fd = fd;
                *ret_name = TAKE_PTR(name);
                return 0;
        }
        return -EEXIST;
}

int fileio_link_tmp_at(int dir_fd, int fd, const char *tmp_name, const char *name, FileioLinkFlags flags) {
        int r;

        if (!(flags & FILEIO_NO_SYNC) && fsync(fd) < 0) {
                r = -errno;
                goto fail;
        }
        if (renameat2(dir_fd, tmp_name, dir_fd, name, (flags & FILEIO_NOREPLACE) ? RENAME_NOREPLACE : 0) < 0) {
                r = -errno;
                goto fail;
        }
        return fileio_fsync_dir(dir_fd);

fail:
        (void) unlinkat(dir_fd, tmp_name, 0);
        return r;
}

int fileio_write_atomic_at(int dir_fd, const char *name, const void *data, size_t len,
                           mode_t mode, FileioLinkFlags flags) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = fileio_open_tmp_at(dir_fd, name, mode, &fd, &tmp);
        if (r < 0)
                return r;
        /* The umask must not widen or narrow what the caller asked for. */
        if (fchmod(fd, mode) < 0) {
                r = -errno;
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }
        r = fileio_write_full(fd, data, len);
        if (r < 0) {
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }
        return fileio_link_tmp_at(dir_fd, fd, tmp, name, flags & ~FILEIO_NO_SYNC);
}

int fileio_read_small_at(int dir_fd, const char *name, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        ssize_t n;

        fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;

        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        n = fileio_read_full(fd, buf, max + 1);
        if (n < 0)
                return (int) n;
        if ((size_t) n > max)
                return -EFBIG;
        buf[n] = 0;

        if (ret_len)
                *ret_len = (size_t) n;
        *ret = TAKE_PTR(buf);
        return 0;
}

int fileio_opendir_at(int dir_fd, DIR **ret) {
        _cleanup_close_ int fd = -EBADF;
        DIR *d;

        /* fdopendir() takes the fd it is given: a new one, not dir_fd. */
        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        TAKE_FD(fd);
        *ret = d;
        return 0;
}

int fileio_remove_tmp_files_at(int dir_fd) {
        struct dirent *de;
        DIR *d;
        int r;

        r = fileio_opendir_at(dir_fd, &d);
        if (r < 0)
                return r;

        while ((errno = 0, de = readdir(d))) {
                if (strncmp(de->d_name, FILEIO_TMP_PREFIX, strlen(FILEIO_TMP_PREFIX)) != 0)
                        continue;
                if (unlinkat(dir_fd, de->d_name, 0) < 0 && errno != ENOENT && r == 0)
                        r = -errno;
        }
        if (errno != 0 && r == 0)
                r = -errno;
        closedir(d);
        return r;
}
