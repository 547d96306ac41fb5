/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit-rules-load.h"
#include "core/audit-rules.h"
#include "core/config.h"
#include "fsmonctl/fsmonctl.h"
#include "shared/log.h"

/* A locked audit config (-e 2) is not a plain failure: the service runs
 * degraded, and scripts can tell. */
#define FSMONCTL_EXIT_RULES_LOCKED 3

static void help(void) {
        printf("Usage: fsmonctl rules [--config FILE] [--arch MACHINE | --load | --check | --unload]\n\n"
               "Prints the audit rules that the config renders for this machine: what\n"
               "fsmond writes to its rules file (/etc/audit/rules.d/70-fsmon.rules) and\n"
               "loads with augenrules. Needs no daemon and no root.\n\n"
               "  -c, --config FILE  config file (default " CONFIG_DEFAULT_PATH "),\n"
               "                     with its drop-ins in FILE.d/*.conf\n"
               "  -a, --arch MACHINE render them for another machine (uname -m's name:\n"
               "                     " AUDIT_RULES_MACHINES ")\n"
               "      --load         instead, write the rules file, run augenrules --load\n"
               "                     and check the kernel's rule list (root); exit status\n"
               "                     3 when the audit config is locked (-e 2)\n"
               "      --check        instead, check that the kernel has them (root);\n"
               "                     exit status 1 when not, 3 when locked without them\n"
               "      --unload       instead, remove the rules file, run augenrules --load,\n"
               "                     delete fsmon's rules left in the kernel and put back\n"
               "                     the backlog settings fsmon raised (root)\n"
               "  -h, --help         show this help\n\n"
               "augenrules --load replaces the kernel's rules by those in rules.d: a -D\n"
               "there (Debian's audit.rules has one) deletes rules loaded by hand; --load\n"
               "and --unload warn, naming their keys, when that happened.\n");
}

int verb_rules(int argc, char *argv[]) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "arch",   required_argument, NULL, 'a' },
                { "load",   no_argument,       NULL, 'l' },
                { "check",  no_argument,       NULL, 'k' },
                { "unload", no_argument,       NULL, 'u' },
                { "help",   no_argument,       NULL, 'h' },
                {}
        };
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL;
        const char *path = CONFIG_DEFAULT_PATH, *machine = NULL;
        bool load = false, check = false, unload = false;
        int c, r;

        while ((c = getopt_long(argc, argv, ":a:c:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        path = optarg;
                        break;
                case 'a':
                        machine = optarg;
                        break;
                case 'l':
                        load = true;
                        break;
                case 'k':
                        check = true;
                        break;
                case 'u':
                        unload = true;
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                default:
                        (void) log_getopt_error(c, argv, "fsmonctl rules");
                        return FSMONCTL_EXIT_USAGE;
                }
        if (load + check + unload > 1) {
                log_error("--load, --check and --unload exclude each other; see 'fsmonctl rules --help'.");
                return FSMONCTL_EXIT_USAGE;
        }
        if (machine && (load || check || unload)) {
                /* The kernel here is this machine's. */
                log_error("--arch renders only; --load, --check and --unload are for this machine's rules; see 'fsmonctl rules --help'.");
                return FSMONCTL_EXIT_USAGE;
        }
        if (optind < argc) {
                log_error("Unexpected argument '%s'; see 'fsmonctl rules --help'.", argv[optind]);
                return FSMONCTL_EXIT_USAGE;
        }

        r = config_load(path, &config, &error);
        if (r < 0) {
                if (error)
                        log_error("Invalid configuration: %s", error);
                else
                        log_error_errno(r, "Failed to load %s: %m", path);
                return EXIT_FAILURE;
        }

        if (load || check || unload) {
                _cleanup_free_ char *message = NULL, *warning = NULL;

                r = load ? audit_rules_apply_full(config, NULL, &message, &warning) :
                    unload ? audit_rules_unload(config, NULL, &message, &warning) :
                    audit_rules_verify(config, NULL, &message);
                if (warning)
                        log_warning("%s.", warning);
                if (r < 0) {
                        log_error("%s", message ?: strerror(-r));
                        return r == -EROFS ? FSMONCTL_EXIT_RULES_LOCKED : EXIT_FAILURE;
                }
                if (r == AUDIT_RULES_LOADED_DISABLED)
                        log_warning("%s", message ?: "Auditing is disabled.");
                else
                        log_info("%s", message ?: "Loaded.");
                return EXIT_SUCCESS;
        }

        r = audit_rules_render_for(config, machine, &text, &error);
        if (r < 0) {
                if (error)
                        log_error("Cannot render audit rules: %s", error);
                else
                        log_error_errno(r, "Cannot render audit rules: %m");
                return EXIT_FAILURE;
        }

        if (fputs(text, stdout) < 0 || fflush(stdout) != 0) {
                log_error_errno(errno, "Failed to write the rules: %m");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
