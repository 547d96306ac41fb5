/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "shared/macro.h"

/* Keyed pseudonyms for paths: each component is replaced by a token made
 * from BLAKE2b keyed with a 32-byte secret (libsodium crypto_generichash).
 * '/' separators and the number of components stay. The same key gives the
 * same token; without the key, a token says nothing about the name.
 *
 * A token is the first 12 bytes of the keyed hash in unpadded base64url:
 * 16 characters, 96 bits (collisions are negligible below ~10^12 names). */

#define PSEUDONYM_KEY_SIZE 32
#define PSEUDONYM_TOKEN_LEN 16

typedef struct Pseudonymizer Pseudonymizer;

/* The cache of pseudonymised paths: a fixed number of slots (direct-mapped,
 * a path of at most 1024 bytes each), so at most slots x 2.4 KiB. */
typedef struct PseudonymizerStats {
        uint64_t hits, misses;
        uint64_t entries, slots;
        uint64_t bytes;                 /* of the cached paths, both forms */
} PseudonymizerStats;

PseudonymizerStats pseudonymizer_get_stats(const Pseudonymizer *p);

/* The key is copied into locked memory (sodium_malloc). */
int pseudonymizer_new(const uint8_t key[PSEUDONYM_KEY_SIZE], Pseudonymizer **ret);
/* A random key, for one run of `fsmonctl decode`. */
int pseudonymizer_new_random(Pseudonymizer **ret);
Pseudonymizer *pseudonymizer_free(Pseudonymizer *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Pseudonymizer *, pseudonymizer_free);

/* Returns the pseudonymised form of an absolute path; the pointer stays valid
 * until the next call (it may come from a cache). NULL on allocation failure. */
const char *pseudonymizer_path(Pseudonymizer *p, const char *path, size_t len, size_t *ret_len);
