/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fsmond: the fsmon daemon. Runs in the foreground under systemd (Type=notify)
 * or by hand; without systemd as PID 1 the sd_notify() calls are no-ops. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "manager.h"

static const char *arg_config = NULL;

static void help(void) {
        printf("Usage: fsmond [OPTIONS]\n"
               "\n"
               "Records file actions from the kernel's audit events and serves\n"
               "org.fsmon1 on the system bus.\n"
               "\n"
               "  -c, --config FILE   read FILE instead of /etc/fsmon/fsmon.conf\n"
               "  -d, --debug         log debug messages\n"
               "  -h, --help          show this help\n"
               "      --version       show the version\n");
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100 };
        static const struct option options[] = {
                { "config",  required_argument, NULL, 'c'         },
                { "debug",   no_argument,       NULL, 'd'         },
                { "help",    no_argument,       NULL, 'h'         },
                { "version", no_argument,       NULL, ARG_VERSION },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:dh", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        arg_config = optarg;
                        break;
                case 'd':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("fsmond %s\n", FSMON_VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }

        if (optind < argc) {
                log_error("Unexpected argument: %s", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        log_set_prefix("fsmond");

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        /* Locked memory for the upload password. */
        if (sodium_init() < 0) {
                log_error("Cannot initialize libsodium.");
                return EXIT_FAILURE;
        }

        r = manager_new(&m, arg_config);
        if (r < 0) {
                log_error_errno(r, "Cannot set up the daemon: %m");
                return EXIT_FAILURE;
        }

        /* Capture, spool, reload and upload attach here (manager_attach_*()). */

        r = manager_startup(m);
        if (r < 0)
                return EXIT_FAILURE;

        manager_set_state(m, MANAGER_RUNNING);

        r = manager_run(m);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
