/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The floor for `fsmonctl decode`: a bare libauparse feed loop that only walks
 * the records of each event, nothing else. bench/decode times it against
 * fsmonctl on the same log.
 *
 *   auparse-walk [FILE]        (stdin without FILE)
 *
 * Prints "EVENTS RECORDS" on stdout, so the bench can check the walk saw the
 * whole log. */

#include <auparse.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shared/log.h"
#include "shared/macro.h"

#define CHUNK_SIZE (64U * 1024U)

typedef struct Counts {
        uint64_t events;
        uint64_t records;
} Counts;

DEFINE_TRIVIAL_CLEANUP_FUNC(auparse_state_t *, auparse_destroy);

static void walk_event(auparse_state_t *au, auparse_cb_event_t type, void *userdata) {
        Counts *c = userdata;

        if (type != AUPARSE_CB_EVENT_READY)
                return;

        /* The cursor starts on the event's first record. */
        c->events++;
        do
                c->records++;
        while (auparse_next_record(au) > 0);
}

int main(int argc, char *argv[]) {
        _cleanup_(auparse_destroyp) auparse_state_t *au = NULL;
        _cleanup_close_ int fd = -EBADF;
        static char buf[CHUNK_SIZE];
        Counts counts = {};
        const char *name = "stdin";

        if (argc > 2) {
                log_error("usage: %s [FILE]", program_invocation_short_name);
                return 2;
        }
        if (argc == 2) {
                name = argv[1];
                fd = open(name, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        log_error_errno(-errno, "Failed to open %s: %m", name);
                        return 1;
                }
        }

        au = auparse_init(AUSOURCE_FEED, NULL);
        if (!au) {
                log_error_errno(-errno, "Failed to create the auparse state: %m");
                return 1;
        }
        auparse_add_callback(au, walk_event, &counts, NULL);

        for (;;) {
                ssize_t n = read(fd >= 0 ? fd : STDIN_FILENO, buf, sizeof buf);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        log_error_errno(-errno, "Failed to read %s: %m", name);
                        return 1;
                }
                if (n == 0)
                        break;
                if (auparse_feed(au, buf, (size_t) n) < 0) {
                        log_error("Failed to feed %s to auparse", name);
                        return 1;
                }
        }
        if (auparse_flush_feed(au) < 0) {
                log_error("Failed to flush the auparse feed");
                return 1;
        }

        printf("%" PRIu64 " %" PRIu64 "\n", counts.events, counts.records);
        return 0;
}
