/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A fresh directory per cmocka test, open as a directory descriptor, for the
 * unit tests of modules that work through one (fileio, checkpoint). Use as
 * cmocka_unit_test_setup_teardown(test, test_dir_setup, test_dir_teardown);
 * the test gets a Dir * in *state. */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct Dir {
        char path[64];
        int fd;
} Dir;

static inline int test_dir_setup(void **state) {
        Dir *d = calloc(1, sizeof(Dir));

        assert_non_null(d);
        strcpy(d->path, "/tmp/fsmon-test-dir.XXXXXX");
        assert_non_null(mkdtemp(d->path));
        d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(d->fd >= 0);
        *state = d;
        return 0;
}

static inline int test_dir_teardown(void **state) {
        Dir *d = *state;
        char cmd[128];

        close(d->fd);
        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
        assert_int_equal(system(cmd), 0);
        free(d);
        return 0;
}
