/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "core/pseudonym.h"

/* Paths repeat a lot (every read names its file), so pseudonymised paths are
 * cached in a small direct-mapped table: a miss costs one hash per
 * component, a hit one cheap hash of the path and a compare. */
#define CACHE_SLOTS 4096
#define CACHE_MAX_PATH 1024

typedef struct CacheSlot {
        char *plain;
        size_t plain_len;
        char *pseudo;
        size_t pseudo_len;
} CacheSlot;

struct Pseudonymizer {
        unsigned char *key;     /* sodium_malloc'ed, locked */
        CacheSlot *cache;
        PseudonymizerStats stats;
        char *scratch;
        size_t scratch_size;
};

int pseudonymizer_new(const uint8_t key[PSEUDONYM_KEY_SIZE], Pseudonymizer **ret) {
        _cleanup_(pseudonymizer_freep) Pseudonymizer *p = NULL;

        if (sodium_init() < 0)
                return -EIO;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->key = sodium_malloc(PSEUDONYM_KEY_SIZE);
        p->cache = calloc(CACHE_SLOTS, sizeof(CacheSlot));
        if (!p->key || !p->cache)
                return -ENOMEM;
        memcpy(p->key, key, PSEUDONYM_KEY_SIZE);
        (void) sodium_mprotect_readonly(p->key);
        *ret = TAKE_PTR(p);
        return 0;
}

int pseudonymizer_new_random(Pseudonymizer **ret) {
        uint8_t key[PSEUDONYM_KEY_SIZE];
        int r;

        if (sodium_init() < 0)
                return -EIO;
        randombytes_buf(key, sizeof(key));
        r = pseudonymizer_new(key, ret);
        sodium_memzero(key, sizeof(key));
        return r;
}

Pseudonymizer *pseudonymizer_free(Pseudonymizer *p) {
        if (!p)
                return NULL;
        if (p->cache)
                for (size_t i = 0; i < CACHE_SLOTS; i++) {
                        free(p->cache[i].plain);
                        free(p->cache[i].pseudo);
                }
        free(p->cache);
        free(p->scratch);
        sodium_free(p->key);
        free(p);
        return NULL;
}

static void token_make(const Pseudonymizer *p, const char *name, size_t n, char out[PSEUDONYM_TOKEN_LEN + 1]) {
        unsigned char h[crypto_generichash_BYTES_MIN];

        crypto_generichash(h, sizeof(h), (const unsigned char *) name, n, p->key, PSEUDONYM_KEY_SIZE);
        /* 12 bytes encode to exactly 16 base64 characters, no padding. */
        sodium_bin2base64(out, PSEUDONYM_TOKEN_LEN + 1, h, 12, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void *memdup(const void *p, size_t n) {
        void *q = malloc(n ? n : 1);
        if (q)
                memcpy(q, p, n);
        return q;
}

static uint64_t hash_path(const char *s, size_t n) {
        /* FNV-1a: only picks a cache slot; the key protects the names. */
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t i = 0; i < n; i++)
                h = (h ^ (unsigned char) s[i]) * 0x100000001b3ULL;
        return h;
}

static const char *pseudonymize(Pseudonymizer *p, const char *path, size_t len, size_t *ret_len) {
        size_t components = 0, need, o = 0;

        for (size_t i = 0; i < len; i++)
                if (path[i] == '/' && i + 1 < len && path[i + 1] != '/')
                        components++;
        need = components * (PSEUDONYM_TOKEN_LEN + 1) + 2;
        if (need > p->scratch_size) {
                char *s = realloc(p->scratch, need);
                if (!s)
                        return NULL;
                p->scratch = s;
                p->scratch_size = need;
        }

        for (size_t i = 0; i < len; ) {
                size_t j;
                while (i < len && path[i] == '/')
                        i++;
                if (i >= len)
                        break;
                j = i;
                while (j < len && path[j] != '/')
                        j++;
                p->scratch[o++] = '/';
                token_make(p, path + i, j - i, p->scratch + o);
                o += PSEUDONYM_TOKEN_LEN;
                i = j;
        }
        if (o == 0)
                p->scratch[o++] = '/';
        p->scratch[o] = 0;
        *ret_len = o;
        return p->scratch;
}

PseudonymizerStats pseudonymizer_get_stats(const Pseudonymizer *p) {
        PseudonymizerStats st = p->stats;

        st.slots = CACHE_SLOTS;
        return st;
}

const char *pseudonymizer_path(Pseudonymizer *p, const char *path, size_t len, size_t *ret_len) {
        CacheSlot *slot;
        const char *s;
        size_t n;

        if (len > CACHE_MAX_PATH) {
                p->stats.misses++;
                return pseudonymize(p, path, len, ret_len);
        }

        slot = &p->cache[hash_path(path, len) % CACHE_SLOTS];
        if (slot->plain && slot->plain_len == len && memcmp(slot->plain, path, len) == 0) {
                p->stats.hits++;
                *ret_len = slot->pseudo_len;
                return slot->pseudo;
        }
        p->stats.misses++;

        s = pseudonymize(p, path, len, &n);
        if (!s)
                return NULL;

        if (slot->plain) {
                p->stats.entries--;
                p->stats.bytes -= slot->plain_len + slot->pseudo_len + 1;
        }
        free(slot->plain);
        free(slot->pseudo);
        slot->plain = memdup(path, len);
        slot->pseudo = memdup(s, n + 1);
        if (!slot->plain || !slot->pseudo) {
                free(slot->plain);
                free(slot->pseudo);
                *slot = (CacheSlot) {};
        } else {
                slot->plain_len = len;
                slot->pseudo_len = n;
                p->stats.entries++;
                p->stats.bytes += len + n + 1;
        }
        *ret_len = n;
        return s;
}
