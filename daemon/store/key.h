/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "shared/macro.h"

/* The per-install pseudonym key: 32 random bytes in <state_dir>/key (0600,
 * owned by the daemon's user, normally root). Held only in sodium_malloc()ed,
 * locked memory, never logged, never uploaded. Segments record the key's
 * epoch id instead, a keyed hash of a constant under the key, from which the
 * key cannot be learnt. */

#define KEY_SIZE 32U
#define KEY_FILE_NAME "key"
/* 16 hex digits and a NUL */
#define KEY_EPOCH_STRING_MAX 17U

/* Loads dir_fd/KEY_FILE_NAME, or creates it atomically (temporary file, fsync,
 * renameat without replacing, fsync of the directory) when it does not exist.
 * Returns 0 (loaded) or 1 (created) and the key in *ret_key (free with
 * key_free()); on failure a negative errno, and the caller tells the operator
 * (key_strerror() has the words):
 *   -ELOOP    the key file is a symlink (never followed)
 *   -EINVAL   the key file is not a regular file
 *   -EPERM    the key file is owned by another user
 *   -EACCES   the key file grants permissions to group or others
 *   -EBADMSG  the key file does not hold exactly KEY_SIZE bytes
 *   other     errors of open/read/write/fsync/rename, or of libsodium
 * dir_fd should come from fileio_open_dir_at(), which refuses a state
 * directory that others could write to. */
int key_load_or_create(int dir_fd, uint8_t **ret_key);

/* Loads an existing key file (also for `fsmonctl decode --key FILE`), with the
 * same checks; name relative to dir_fd (AT_FDCWD for a path) or absolute. */
int key_load(int dir_fd, const char *name, uint8_t **ret_key);

/* The epoch id of key as 16 lowercase hex digits. */
int key_epoch(const uint8_t key[KEY_SIZE], char ret[KEY_EPOCH_STRING_MAX]);

/* Unlocks, zeroes and frees; accepts NULL. */
void key_free(uint8_t *key);
DEFINE_TRIVIAL_CLEANUP_FUNC(uint8_t *, key_free);
#define _cleanup_key_free_ _cleanup_(key_freep)

/* Words for the errors above, for the caller's log line. */
const char *key_strerror(int error);
