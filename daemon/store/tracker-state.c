/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/fileio.h"
#include "store/tracker-state.h"

#define MAGIC "fsmon-tracker-file 1"
#define HASH_LEN 16
/* 16384 processes with a few hundred descriptors each stay well below. */
#define STATE_MAX (512U * 1024U * 1024U)

void tracker_state_file_done(TrackerStateFile *s) {
        free(s->body);
        *s = (TrackerStateFile) {};
}

/* Covers the header up to " hash=" and the body. */
static void state_hash(const char *header, size_t header_len, const char *body, size_t len,
                       char out[2 * HASH_LEN + 1]) {
        crypto_generichash_state st;
        unsigned char h[HASH_LEN];

        crypto_generichash_init(&st, NULL, 0, sizeof(h));
        crypto_generichash_update(&st, (const unsigned char *) header, header_len);
        crypto_generichash_update(&st, (const unsigned char *) body, len);
        crypto_generichash_final(&st, h, sizeof(h));
        sodium_bin2hex(out, 2 * HASH_LEN + 1, h, sizeof(h));
}

int tracker_state_file_parse(const char *data, size_t len, TrackerStateFile *ret) {
        char header[256], boot[BOOT_ID_LEN + 1], hash[2 * HASH_LEN + 1], want[2 * HASH_LEN + 1];
        const char *nl = memchr(data, '\n', MIN(len, sizeof(header)));
        unsigned long long serial, body_len;
        size_t hl;
        int n = -1;
        char *body;

        if (!nl)
                return len >= sizeof(MAGIC) - 1 && memcmp(data, MAGIC, sizeof(MAGIC) - 1) == 0 ? -EBADMSG : -EPROTO;
        hl = nl - data;
        memcpy(header, data, hl);
        header[hl] = 0;
        if (strncmp(header, MAGIC " ", sizeof(MAGIC)) != 0)
                return -EPROTO;
        if (sscanf(header, MAGIC " boot=%36s serial=%llu length=%llu hash=%32s%n",
                   boot, &serial, &body_len, hash, &n) != 4 || header[n] != 0 ||
            strlen(boot) != BOOT_ID_LEN || strlen(hash) != 2 * HASH_LEN)
                return -EBADMSG;
        if (body_len != len - hl - 1)
                return -EBADMSG;        /* cut short, or something appended */
        state_hash(header, strstr(header, " hash=") - header, nl + 1, body_len, want);
        if (strcmp(hash, want) != 0)
                return -EBADMSG;

        body = malloc(body_len + 1);
        if (!body)
                return -ENOMEM;
        memcpy(body, nl + 1, body_len);
        body[body_len] = 0;
        *ret = (TrackerStateFile) { .serial = serial, .body = body, .body_len = body_len };
        memcpy(ret->boot_id, boot, sizeof(boot));
        return 0;
}

int tracker_state_file_read(int dir_fd, const char *name, TrackerStateFile *ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        ssize_t n;
        int r;

        r = fileio_open_private_at(dir_fd, name, &fd, &st);
        if (r < 0)
                return r;
        if ((uint64_t) st.st_size > STATE_MAX)
                return -EFBIG;
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        n = fileio_read_full(fd, buf, (size_t) st.st_size + 1);
        if (n < 0)
                return (int) n;
        if (n != st.st_size)
                return -EBADMSG;        /* changed while read: not ours to trust */
        return tracker_state_file_parse(buf, (size_t) n, ret);
}

int tracker_state_file_load(const TrackerStateFile *s, Tracker *t) {
        FILE *f;
        int r;

        if (s->body_len == 0)
                return -EBADMSG;
        f = fmemopen(s->body, s->body_len, "r");
        if (!f)
                return -errno;
        r = tracker_load_state(t, f);
        fclose(f);
        return r;
}

int tracker_state_file_write(int dir_fd, const char *name, const char *boot_id, uint64_t serial,
                             Tracker *t, bool sync, size_t *ret_size) {
        _cleanup_free_ char *body = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        char header[256], hash[2 * HASH_LEN + 1];
        size_t len = 0;
        FILE *f;
        int n, r;

        f = open_memstream(&body, &len);
        if (!f)
                return -ENOMEM;
        r = tracker_save_state(t, f);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;

        n = snprintf(header, sizeof(header), MAGIC " boot=%s serial=%" PRIu64 " length=%zu",
                     boot_id, serial, len);
        if (n < 0 || (size_t) n + 7 + 2 * HASH_LEN >= sizeof(header))
                return -EINVAL;
        state_hash(header, (size_t) n, body, len, hash);
        n += snprintf(header + n, sizeof(header) - n, " hash=%s\n", hash);

        r = fileio_open_tmp_at(dir_fd, name, 0600, &fd, &tmp);
        if (r < 0)
                return r;
        r = fileio_write_full(fd, header, (size_t) n);
        if (r >= 0)
                r = fileio_write_full(fd, body, len);
        if (r < 0) {
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }
        if (sync)
                r = fileio_link_tmp_at(dir_fd, fd, tmp, name, 0);
        else if (renameat(dir_fd, tmp, dir_fd, name) < 0) {
                r = -errno;
                (void) unlinkat(dir_fd, tmp, 0);
        }
        if (r >= 0 && ret_size)
                *ret_size = (size_t) n + len;
        return r;
}
