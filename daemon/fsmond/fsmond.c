/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fsmond: the fsmon daemon. Runs in the foreground under systemd (Type=notify)
 * or by hand; without systemd as PID 1 the sd_notify() calls are no-ops. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fsmon-build.h"
#include "shared/log.h"
#include "bus/manager.h"
#include "core/config.h"
#include "service/service.h"

static const char *arg_config = NULL;
static bool arg_load_rules = true;
static bool arg_echo = false;
static CaptureEcho arg_echo_format = CAPTURE_ECHO_JSON;

static void help(void) {
        printf("Usage: fsmond [OPTIONS]\n"
               "\n"
               "Records file actions from the kernel's audit events and serves\n"
               "org.fsmon1 on the system bus.\n"
               "\n"
               "  -c, --config FILE   read FILE instead of /etc/fsmon/fsmon.conf\n"
               "  -d, --debug         log debug messages\n"
               "      --echo[=FORMAT] also print each record on standard output: json\n"
               "                      (default, the spooled record), text (a line per\n"
               "                      action for a person) or plain (text with the\n"
               "                      file names of the audit log, for a local terminal)\n"
               "      --no-load-rules only check that fsmon's audit rules are loaded\n"
               "                      (the unit loads them outside the sandbox)\n"
               "  -h, --help          show this help\n"
               "      --version       show the version\n");
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_NO_LOAD_RULES, ARG_ECHO };
        static const struct option options[] = {
                { "config",  required_argument, NULL, 'c'         },
                { "debug",   no_argument,       NULL, 'd'         },
                { "help",    no_argument,       NULL, 'h'         },
                { "version", no_argument,       NULL, ARG_VERSION },
                { "no-load-rules", no_argument, NULL, ARG_NO_LOAD_RULES },
                { "echo",    optional_argument, NULL, ARG_ECHO    },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, ":c:dh", options, NULL)) >= 0)
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
                case ARG_ECHO:
                        arg_echo = true;
                        if (!optarg || strcmp(optarg, "json") == 0)
                                arg_echo_format = CAPTURE_ECHO_JSON;
                        else if (strcmp(optarg, "text") == 0)
                                arg_echo_format = CAPTURE_ECHO_TEXT;
                        else if (strcmp(optarg, "plain") == 0)
                                arg_echo_format = CAPTURE_ECHO_TEXT_PLAIN;
                        else {
                                log_error("--echo wants json, text or plain, not '%s'; see 'fsmond --help'.", optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_NO_LOAD_RULES:
                        arg_load_rules = false;
                        break;
                case ARG_VERSION:
                        printf("fsmond %s\n", FSMON_VERSION);
                        return 0;
                default:
                        return log_getopt_error(c, argv, "fsmond");
                }

        if (optind < argc) {
                log_error("unexpected argument '%s'; see 'fsmond --help'.", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(service_freep) Service *service = NULL;
        int r;

        log_set_prefix(program_invocation_short_name);

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        /* Locked memory for the upload password. */
        if (sodium_init() < 0) {
                log_error("Cannot initialize libsodium.");
                return EXIT_FAILURE;
        }

        /* GetStatus's ConfigFile and the errors name the file read, default or not. */
        r = manager_new(&m, arg_config ?: CONFIG_DEFAULT_PATH);
        if (r < 0) {
                log_error_errno(r, "Cannot set up the daemon: %m");
                return EXIT_FAILURE;
        }

        /* Config, key, spool, capture, reload and upload attach here. */
        r = service_new(m, &(ServiceOptions) { .config_path = arg_config, .load_rules = arg_load_rules,
                                           .echo = arg_echo, .echo_format = arg_echo_format },
                        &service);
        if (r < 0)
                return EXIT_FAILURE;

        r = manager_startup(m);
        if (r < 0)
                return EXIT_FAILURE;

        /* Sets RUNNING, or DEGRADED with the reason. */
        service_start(service);

        r = manager_run(m);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
