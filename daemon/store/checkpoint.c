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

#include "store/checkpoint.h"
#include "shared/fileio.h"

#define SLOT_SIZE 256
#define MAGIC "fsmon-checkpoint-1"

struct CheckpointFile {
        int fd;
        uint64_t seq;           /* of the slot written last */
};

int checkpoint_file_open(int dir_fd, const char *name, CheckpointFile **ret) {
        CheckpointFile *f;
        struct stat st;
        int fd, r;

        fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        r = fileio_check_private_file(&st);
        if (r < 0) {
                close(fd);
                return r;
        }
        f = calloc(1, sizeof(*f));
        if (!f) {
                close(fd);
                return -ENOMEM;
        }
        f->fd = fd;
        *ret = f;
        return 0;
}

CheckpointFile *checkpoint_file_free(CheckpointFile *f) {
        if (!f)
                return NULL;
        safe_close(f->fd);
        free(f);
        return NULL;
}

static void slot_hash(const char *s, size_t n, char out[17]) {
        unsigned char h[8];

        crypto_generichash(h, sizeof(h), (const unsigned char *) s, n, NULL, 0);
        sodium_bin2hex(out, 17, h, sizeof(h));
}

static int slot_parse(const char *slot, uint64_t *seq, Checkpoint *c) {
        char body[SLOT_SIZE], hash[17], want[17];
        const char *nl = memchr(slot, '\n', SLOT_SIZE);
        unsigned long long q, bt, sec, serial;
        unsigned msec;
        char boot[BOOT_ID_LEN + 1];
        size_t n;

        if (!nl)
                return -EBADMSG;
        n = nl - slot;
        if (n < 18 || n >= SLOT_SIZE)
                return -EBADMSG;
        memcpy(body, slot, n);
        body[n] = 0;
        /* "... hash=<16 hex>" at the end covers everything before it */
        if (n < 22 || strncmp(body + n - 22, " hash=", 6) != 0)
                return -EBADMSG;
        memcpy(hash, body + n - 16, 16);
        hash[16] = 0;
        slot_hash(body, n - 22, want);
        if (strcmp(hash, want) != 0)
                return -EBADMSG;
        body[n - 22] = 0;
        if (sscanf(body, MAGIC " seq=%llu boot=%36s btime=%llu time=%llu.%3u serial=%llu",
                   &q, boot, &bt, &sec, &msec, &serial) != 6)
                return -EBADMSG;
        *seq = q;
        *c = (Checkpoint) { .btime = bt, .sec = sec, .msec = msec, .serial = serial };
        memcpy(c->boot_id, boot, sizeof(boot));
        return 0;
}

int checkpoint_file_read(CheckpointFile *f, Checkpoint *ret) {
        char buf[2 * SLOT_SIZE];
        uint64_t best_seq = 0;
        bool found = false;
        ssize_t n;

        n = pread(f->fd, buf, sizeof(buf), 0);
        if (n < 0)
                return -errno;
        if (n < (ssize_t) sizeof(buf))
                memset(buf + n, 0, sizeof(buf) - n);
        for (int i = 0; i < 2; i++) {
                Checkpoint c;
                uint64_t seq;

                if (slot_parse(buf + i * SLOT_SIZE, &seq, &c) < 0)
                        continue;
                if (!found || seq > best_seq) {
                        best_seq = seq;
                        *ret = c;
                        found = true;
                }
        }
        if (!found)
                return -ENOENT;
        f->seq = best_seq;
        return 0;
}

int checkpoint_file_write(CheckpointFile *f, const Checkpoint *c) {
        char slot[SLOT_SIZE], hash[17];
        uint64_t seq = f->seq + 1;
        int n;

        n = snprintf(slot, sizeof(slot), MAGIC " seq=%" PRIu64 " boot=%s btime=%" PRIu64
                     " time=%" PRIu64 ".%03u serial=%" PRIu64,
                     seq, c->boot_id, c->btime, c->sec, c->msec % 1000, c->serial);
        if (n < 0 || n + 23 >= (int) sizeof(slot))
                return -EINVAL;
        slot_hash(slot, n, hash);
        n += snprintf(slot + n, sizeof(slot) - n, " hash=%s\n", hash);
        memset(slot + n, 0, sizeof(slot) - n);

        if (pwrite(f->fd, slot, sizeof(slot), (off_t) (seq % 2) * SLOT_SIZE) != (ssize_t) sizeof(slot))
                return errno ? -errno : -EIO;
        f->seq = seq;
        return 0;
}

int checkpoint_file_sync(CheckpointFile *f) {
        return fsync(f->fd) < 0 ? -errno : 0;
}

int checkpoint_current_boot(char boot_id[BOOT_ID_LEN + 1], uint64_t *btime) {
        char line[256];
        FILE *f;
        bool found = false;

        f = fopen("/proc/sys/kernel/random/boot_id", "re");
        if (!f)
                return -errno;
        if (!fgets(line, sizeof(line), f) || strlen(line) < BOOT_ID_LEN) {
                fclose(f);
                return -EIO;
        }
        fclose(f);
        memcpy(boot_id, line, BOOT_ID_LEN);
        boot_id[BOOT_ID_LEN] = 0;

        f = fopen("/proc/stat", "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                unsigned long long v;
                if (sscanf(line, "btime %llu", &v) == 1) {
                        *btime = v;
                        found = true;
                        break;
                }
        }
        fclose(f);
        return found ? 0 : -EIO;
}
