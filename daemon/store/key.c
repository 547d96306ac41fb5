/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/fileio.h"
#include "store/key.h"

/* Fixed context so that an epoch id can never equal a pseudonym token. */
static const char epoch_context[] = "fsmon key epoch v1";

static int key_alloc(uint8_t **ret) {
        uint8_t *k;

        if (sodium_init() < 0)
                return -EIO;
        /* sodium_malloc() puts guard pages around the key and mlock()s it,
         * so it is never swapped out; sodium_free() zeroes it. */
        k = sodium_malloc(KEY_SIZE);
        if (!k)
                return -ENOMEM;
        (void) sodium_mlock(k, KEY_SIZE);
        *ret = k;
        return 0;
}

void key_free(uint8_t *key) {
        if (!key)
                return;
        sodium_munlock(key, KEY_SIZE);
        sodium_free(key);
}

int key_load(int dir_fd, const char *name, uint8_t **ret_key) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_key_free_ uint8_t *k = NULL;
        uint8_t extra;
        struct stat st;
        ssize_t n;
        int r;

        r = fileio_open_private_at(dir_fd, name, &fd, &st);
        if (r < 0)
                return r;
        if (st.st_size != KEY_SIZE)
                return -EBADMSG;

        r = key_alloc(&k);
        if (r < 0)
                return r;
        n = fileio_read_full(fd, k, KEY_SIZE);
        if (n < 0)
                return (int) n;
        if (n != KEY_SIZE)
                return -EBADMSG;
        /* The size may have changed between fstat() and read(). */
        n = fileio_read_full(fd, &extra, 1);
        if (n != 0)
                return n < 0 ? (int) n : -EBADMSG;

        *ret_key = TAKE_PTR(k);
        return 0;
}

int key_load_or_create(int dir_fd, uint8_t **ret_key) {
        _cleanup_key_free_ uint8_t *k = NULL;
        int r;

        for (unsigned attempt = 0; attempt < 2; attempt++) {
                r = key_load(dir_fd, KEY_FILE_NAME, ret_key);
                if (r != -ENOENT)
                        return r;

                r = key_alloc(&k);
                if (r < 0)
                        return r;
                randombytes_buf(k, KEY_SIZE);

                /* Without replacing: if another instance created the key in
                 * the meantime, load that one instead. */
                r = fileio_write_atomic_at(dir_fd, KEY_FILE_NAME, k, KEY_SIZE, 0600, FILEIO_NOREPLACE);
                if (r == -EEXIST) {
                        key_free(TAKE_PTR(k));
                        continue;
                }
                if (r < 0)
                        return r;

                *ret_key = TAKE_PTR(k);
                return 1;
        }
        return -EEXIST;
}

int key_epoch(const uint8_t key[KEY_SIZE], char ret[KEY_EPOCH_STRING_MAX]) {
        uint8_t h[8];

        if (sodium_init() < 0)
                return -EIO;
        if (crypto_generichash(h, sizeof(h), (const uint8_t *) epoch_context, strlen(epoch_context),
                               key, KEY_SIZE) < 0)
                return -EIO;
        sodium_bin2hex(ret, KEY_EPOCH_STRING_MAX, h, sizeof(h));
        return 0;
}

const char *key_strerror(int error) {
        switch (error < 0 ? -error : error) {
        case ELOOP:
                return "key file is a symlink, refusing to follow it";
        case EINVAL:
                return "key file is not a regular file";
        case EPERM:
                return "key file is owned by another user";
        case EACCES:
                return "key file is readable or writable by group or others (must be 0600)";
        case EBADMSG:
                return "key file does not hold exactly 32 bytes";
        default:
                return strerror(error < 0 ? -error : error);
        }
}
