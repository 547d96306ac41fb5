/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fsmond's bus side (manager, bus-manager, bus-polkit) with a scripted
 * uploader in place of SSH, so that test-bus-upload.sh can drive Upload()
 * through every outcome: success with progress, wrong password, host key
 * mismatch, a job that ends inside the hook, and a long job for Busy.
 *
 * Passwords: "right-password" uploads 3 segments / 1 MiB in 10 steps of
 * 100 ms; "hostkey" fails with a host key mismatch; "sync" succeeds at once
 * inside the hook; anything else is a wrong password (after 50 ms). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "shared/log.h"
#include "bus/manager.h"

#define STEP_USEC 100000ULL
#define TOTAL_BYTES (1024ULL * 1024)

typedef struct FakeUpload {
        Manager *manager;
        sd_event_source *timer;
        unsigned step;
        UploadResult result;
} FakeUpload;

static uint64_t now_monotonic(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static int on_step(sd_event_source *s, uint64_t usec, void *userdata) {
        FakeUpload *f = userdata;

        if (f->result != MANAGER_UPLOAD_SUCCESS) {
                manager_upload_finished(f->manager, f->result, 0, 0,
                                        f->result == MANAGER_UPLOAD_WRONG_PASSWORD ?
                                        "The server refused the password." : "Host key mismatch.");
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }

        f->step++;
        manager_upload_progress(f->manager, TOTAL_BYTES * f->step / 10, TOTAL_BYTES);
        if (f->step >= 10) {
                manager_upload_finished(f->manager, MANAGER_UPLOAD_SUCCESS, 3, TOTAL_BYTES, NULL);
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }
        return sd_event_source_set_time(s, usec + STEP_USEC);
}

static int fake_upload_start(Manager *m, const char *password, size_t len, void *userdata) {
        FakeUpload *f = userdata;
        int r;

        if (f->timer) {
                int enabled = SD_EVENT_OFF;

                (void) sd_event_source_get_enabled(f->timer, &enabled);
                if (enabled != SD_EVENT_OFF)
                        return -EBUSY;
        }

        if (strcmp(password, "sync") == 0) {
                manager_upload_finished(m, MANAGER_UPLOAD_SUCCESS, 0, 0, "Nothing to upload.");
                return 0;
        }

        f->step = 0;
        f->result = strcmp(password, "right-password") == 0 ? MANAGER_UPLOAD_SUCCESS :
                    strcmp(password, "hostkey") == 0 ? MANAGER_UPLOAD_HOST_KEY_MISMATCH :
                    MANAGER_UPLOAD_WRONG_PASSWORD;

        f->timer = sd_event_source_unref(f->timer);
        r = sd_event_add_time(m->event, &f->timer, CLOCK_MONOTONIC,
                              now_monotonic() + (f->result == MANAGER_UPLOAD_SUCCESS ? STEP_USEC : 50000),
                              0, on_step, f);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(f->timer, SD_EVENT_ON);
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        FakeUpload f = {};
        int r;

        log_set_prefix("fsmond-fake-upload");
        if (argc > 1 && strcmp(argv[1], "--debug") == 0)
                log_set_max_level(LOG_DEBUG);

        if (sodium_init() < 0)
                return EXIT_FAILURE;

        r = manager_new(&m, NULL);
        if (r < 0)
                return EXIT_FAILURE;
        f.manager = m;
        manager_attach_uploader(m, fake_upload_start, &f);

        r = manager_startup(m);
        if (r < 0)
                return EXIT_FAILURE;
        manager_set_state(m, MANAGER_RUNNING);

        r = manager_run(m);
        sd_event_source_unref(f.timer);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
