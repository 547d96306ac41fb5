/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tracker state's parsers on arbitrary bytes: as a whole state file
 * (header, length, hash) and as the body itself. Whatever the bytes, they
 * are refused (-EPROTO, -EBADMSG) leaving an empty tracker, or loaded; a
 * loaded state saves to text that loads again and saves the same. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tracker.h"
#include "store/tracker-state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void emit(const Action *a, void *userdata) {
}

static char *save(Tracker *t, size_t *len) {
        char *s = NULL;
        FILE *f = open_memstream(&s, len);

        if (!f || tracker_save_state(t, f) < 0)
                abort();
        fclose(f);
        return s;
}

static void body(const char *data, size_t size) {
        TrackerOptions o = { .max_processes = 64 };
        Tracker *t = NULL, *u = NULL;
        TrackerStats ts;
        char *s1, *s2;
        size_t l1, l2;
        FILE *f;
        int r;

        if (size == 0 || tracker_new(&o, emit, NULL, &t) < 0)
                return;
        f = fmemopen((void *) data, size, "r");
        if (!f)
                abort();
        r = tracker_load_state(t, f);
        fclose(f);
        tracker_get_stats(t, &ts);
        if (r < 0) {
                if ((r != -EPROTO && r != -EBADMSG && r != -ENOMEM) || ts.processes != 0 || ts.open_files != 0)
                        abort();
                tracker_free(t);
                return;
        }

        s1 = save(t, &l1);
        if (tracker_new(&o, emit, NULL, &u) < 0)
                abort();
        f = fmemopen(s1, l1, "r");
        if (tracker_load_state(u, f) < 0)
                abort();
        fclose(f);
        s2 = save(u, &l2);
        if (l1 != l2 || memcmp(s1, s2, l1) != 0)
                abort();
        free(s1);
        free(s2);
        tracker_free(t);
        tracker_free(u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        TrackerStateFile s = {};
        int r;

        r = tracker_state_file_parse((const char *) data, size, &s);
        if (r < 0) {
                if (r != -EPROTO && r != -EBADMSG && r != -ENOMEM)
                        abort();
        } else {
                body(s.body, s.body_len);
                tracker_state_file_done(&s);
        }
        body((const char *) data, size);
        return 0;
}
