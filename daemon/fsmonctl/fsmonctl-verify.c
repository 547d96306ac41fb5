/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsmonctl/fsmonctl.h"
#include "shared/log.h"
#include "report/report-verify-input.h"

#define VERIFY_DEFAULT_PATH "/var/lib/fsmon/spool"

static void verify_help(void) {
        printf("Usage: fsmonctl verify [OPTIONS...] [DIR|FILE...]\n\n"
               "Check that every host's segments are complete, untouched and in order: a\n"
               "server directory holding <host id>/<segment> uploads, a spool directory\n"
               "(default: " VERIFY_DEFAULT_PATH "), or segment files. Per host: the hash\n"
               "chain (content hashes, prev_hash links, seq order, key epochs), missing,\n"
               "reordered, altered and duplicated segments, uploads in flight (*.part), gap\n"
               "records with their losses and reasons, first and last time and serial.\n\n"
               "  -f, --format=FORMAT  text (default) or json\n"
               "  -h, --help           show this help\n\n"
               "Exit status: 0 complete; 1 error; 2 usage; 3 incomplete (segments not here\n"
               "that the hosts' gap records account for, the first segments never uploaded,\n"
               "uploads in flight); 4 damaged (altered, truncated, missing, reordered,\n"
               "duplicated, foreign or stray files).\n");
}

int verb_verify(int argc, char *argv[]) {
        static const struct option options[] = {
                { "format", required_argument, NULL, 'f' },
                { "help",   no_argument,       NULL, 'h' },
                {}
        };
        static char *const default_paths[] = { (char *) VERIFY_DEFAULT_PATH };
        _cleanup_(verify_freep) Verify *v = NULL;
        bool json = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "f:h", options, NULL)) >= 0)
                switch (c) {
                case 'f':
                        if (strcmp(optarg, "json") == 0)
                                json = true;
                        else if (strcmp(optarg, "text") == 0)
                                json = false;
                        else {
                                log_error("unknown format '%s': text or json; see 'fsmonctl verify --help'.", optarg);
                                return FSMONCTL_EXIT_USAGE;
                        }
                        break;
                case 'h':
                        verify_help();
                        return EXIT_SUCCESS;
                default:
                        return FSMONCTL_EXIT_USAGE;
                }

        r = verify_new(&v);
        if (r < 0)
                return log_oom(), EXIT_FAILURE;
        if (optind < argc)
                r = verify_input_run(v, argv + optind, (size_t) (argc - optind));
        else if (access(VERIFY_DEFAULT_PATH, F_OK) < 0) {
                log_error("No spool at " VERIFY_DEFAULT_PATH "; name a server directory, a spool or segment files.");
                return EXIT_FAILURE;
        } else
                r = verify_input_run(v, default_paths, 1);
        if (r < 0)
                return EXIT_FAILURE;

        r = json ? verify_render_json(v, stdout) : verify_render_text(v, stdout);
        if (r < 0) {
                log_error_errno(r, "Cannot write the result: %m");
                return EXIT_FAILURE;
        }
        switch (verify_status(v)) {
        case VERIFY_COMPLETE:
                return EXIT_SUCCESS;
        case VERIFY_INCOMPLETE:
                return FSMONCTL_EXIT_INCOMPLETE;
        default:
                return FSMONCTL_EXIT_DAMAGED;
        }
}
