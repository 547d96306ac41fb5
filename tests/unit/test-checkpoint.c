/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store/checkpoint: two slots written in turn, each with its own hash, so a
 * torn or damaged slot leaves the other one; the newest valid slot wins, also
 * after reopening; the file must be private; and this boot's id and time
 * agree with what /proc says when read here independently. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "test-dir.h"

#include "store/checkpoint.h"
#include "shared/macro.h"

#define SLOT 256        /* the file's layout: two slots of 256 bytes */


static Checkpoint make(uint64_t serial) {
        Checkpoint c = { .btime = 1796300000, .sec = 1796340000 + serial, .msec = (unsigned) (serial % 1000),
                         .serial = serial };
        memcpy(c.boot_id, "0d6c3a9e-7a55-4c43-9f2b-2b8a3c1e5f01", BOOT_ID_LEN + 1);
        return c;
}

static void assert_checkpoint_equal(const Checkpoint *a, const Checkpoint *b) {
        assert_string_equal(a->boot_id, b->boot_id);
        assert_int_equal(a->btime, b->btime);
        assert_int_equal(a->sec, b->sec);
        assert_int_equal(a->msec, b->msec);
        assert_int_equal(a->serial, b->serial);
}

/* Flips one byte in the middle of slot i. */
static void damage_slot(int dir_fd, int i) {
        _cleanup_close_ int fd = openat(dir_fd, "checkpoint", O_RDWR | O_CLOEXEC);
        char ch;

        assert_true(fd >= 0);
        assert_int_equal(pread(fd, &ch, 1, i * SLOT + 40), 1);
        ch ^= 0x01;
        assert_int_equal(pwrite(fd, &ch, 1, i * SLOT + 40), 1);
}

/* Which slot holds the serial (by its text). */
static int slot_of(int dir_fd, uint64_t serial) {
        _cleanup_close_ int fd = openat(dir_fd, "checkpoint", O_RDONLY | O_CLOEXEC);
        char buf[2 * SLOT + 1] = {}, want[48];

        assert_true(fd >= 0);
        assert_int_equal(pread(fd, buf, 2 * SLOT, 0), 2 * SLOT);
        (void) snprintf(want, sizeof(want), " serial=%llu ", (unsigned long long) serial);
        for (int i = 0; i < 2; i++) {
                char slot[SLOT + 1] = {};
                memcpy(slot, buf + i * SLOT, SLOT);
                if (strstr(slot, want))
                        return i;
        }
        fail_msg("serial %llu is in no slot", (unsigned long long) serial);
        return -1;
}

static void test_newest_wins(void **state) {
        Dir *d = *state;
        _cleanup_(checkpoint_file_freep) CheckpointFile *f = NULL;
        Checkpoint c1 = make(1000), c2 = make(2000), c3 = make(3000), got;
        struct stat st;

        assert_int_equal(checkpoint_file_open(d->fd, "checkpoint", &f), 0);
        assert_int_equal(checkpoint_file_read(f, &got), -ENOENT);      /* never written */
        assert_int_equal(checkpoint_file_write(f, &c1), 0);
        assert_int_equal(checkpoint_file_write(f, &c2), 0);
        assert_int_equal(checkpoint_file_sync(f), 0);
        assert_int_equal(checkpoint_file_read(f, &got), 0);
        assert_checkpoint_equal(&got, &c2);
        assert_int_not_equal(slot_of(d->fd, 1000), slot_of(d->fd, 2000));
        assert_int_equal(fstatat(d->fd, "checkpoint", &st, 0), 0);
        assert_int_equal(st.st_size, 2 * SLOT);
        assert_int_equal(st.st_mode & 0777, 0600);

        /* Reopened (a restart): the newest again, and the next write goes
         * over the older slot, never over the newest. */
        f = checkpoint_file_free(f);
        assert_int_equal(checkpoint_file_open(d->fd, "checkpoint", &f), 0);
        assert_int_equal(checkpoint_file_read(f, &got), 0);
        assert_checkpoint_equal(&got, &c2);
        int newest = slot_of(d->fd, 2000);
        assert_int_equal(checkpoint_file_write(f, &c3), 0);
        assert_int_equal(slot_of(d->fd, 3000), 1 - newest);
        assert_int_equal(slot_of(d->fd, 2000), newest);
        assert_int_equal(checkpoint_file_read(f, &got), 0);
        assert_checkpoint_equal(&got, &c3);
}

static void test_torn_slot(void **state) {
        Dir *d = *state;
        _cleanup_(checkpoint_file_freep) CheckpointFile *f = NULL;
        Checkpoint c1 = make(1000), c2 = make(2000), got;

        assert_int_equal(checkpoint_file_open(d->fd, "checkpoint", &f), 0);
        assert_int_equal(checkpoint_file_write(f, &c1), 0);
        assert_int_equal(checkpoint_file_write(f, &c2), 0);

        /* The newest slot damaged (a torn write at a power cut): the other. */
        damage_slot(d->fd, slot_of(d->fd, 2000));
        assert_int_equal(checkpoint_file_read(f, &got), 0);
        assert_checkpoint_equal(&got, &c1);

        /* Both damaged: as if never written, not garbage. */
        damage_slot(d->fd, slot_of(d->fd, 1000));
        assert_int_equal(checkpoint_file_read(f, &got), -ENOENT);
}

static void test_refusals(void **state) {
        Dir *d = *state;
        CheckpointFile *f = NULL;

        assert_int_equal(symlinkat("elsewhere", d->fd, "link"), 0);
        assert_int_equal(checkpoint_file_open(d->fd, "link", &f), -ELOOP);
        assert_int_equal(close(openat(d->fd, "loose", O_WRONLY | O_CREAT | O_CLOEXEC, 0644)), 0);
        assert_int_equal(fchmodat(d->fd, "loose", 0644, 0), 0);
        assert_int_equal(checkpoint_file_open(d->fd, "loose", &f), -EACCES);
        assert_null(f);
}

static void test_current_boot(void **state) {
        char boot_id[BOOT_ID_LEN + 1], want[64] = {}, line[256];
        unsigned long long want_btime = 0;
        uint64_t btime = 0;
        FILE *p;

        assert_int_equal(checkpoint_current_boot(boot_id, &btime), 0);
        assert_non_null(p = fopen("/proc/sys/kernel/random/boot_id", "re"));
        assert_non_null(fgets(want, sizeof(want), p));
        fclose(p);
        want[strcspn(want, "\n")] = 0;
        assert_string_equal(boot_id, want);
        assert_non_null(p = fopen("/proc/stat", "re"));
        while (fgets(line, sizeof(line), p))
                if (sscanf(line, "btime %llu", &want_btime) == 1)
                        break;
        fclose(p);
        assert_int_equal(btime, want_btime);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_newest_wins, test_dir_setup, test_dir_teardown),
                cmocka_unit_test_setup_teardown(test_torn_slot, test_dir_setup, test_dir_teardown),
                cmocka_unit_test_setup_teardown(test_refusals, test_dir_setup, test_dir_teardown),
                cmocka_unit_test(test_current_boot),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
