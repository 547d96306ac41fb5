/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "fsmonctl/fsmonctl.h"
#include "shared/log.h"
#include "store/key.h"

int fsmonctl_key_setup(const char *verb, bool plain, const char *key_file, uint8_t key[KEY_SIZE]) {
        _cleanup_key_free_ uint8_t *k = NULL;
        int r;

        if (plain && key_file) {
                log_error("--plain and --key exclude each other; see 'fsmonctl %s --help'.", verb);
                return FSMONCTL_EXIT_USAGE;
        }
        if (plain) {
                sodium_memzero(key, KEY_SIZE);
                return 0;
        }
        if (!key_file) {
                randombytes_buf(key, KEY_SIZE);
                return 0;
        }
        r = key_load(AT_FDCWD, key_file, &k);
        if (r < 0) {
                log_error("Refusing key file %s: %s.", key_file, key_strerror(r));
                return EXIT_FAILURE;
        }
        memcpy(key, k, KEY_SIZE);
        return 0;
}
