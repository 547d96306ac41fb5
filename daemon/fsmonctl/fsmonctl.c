/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "fsmon-build.h"
#include "fsmonctl/fsmonctl-bus.h"
#include "fsmonctl/fsmonctl.h"
#include "shared/log.h"

typedef struct Verb {
        const char *name;
        int (*run)(int argc, char *argv[]);
        const char *summary;
} Verb;

static const Verb verbs[] = {
        { "decode", verb_decode, "audit log text to file actions (JSON Lines)" },
        { "report", verb_report, "statistics over spool segments (text, json, csv, svg, html)" },
        { "rules",  verb_rules,  "print the audit rules that the config renders" },
        { "status", verb_status, "state and counters, from the daemon" },
        { "upload", verb_upload, "upload the spool (asks for the upload password)" },
        { "verify", verb_verify, "check segments' hash chains: complete, untouched, in order" },
};

static void help(void) {
        printf("Usage: fsmonctl COMMAND [OPTIONS...]\n\n"
               "Control fsmon, the file-action monitor, and work with its data.\n\nCommands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-8s %s\n", verbs[i].name, verbs[i].summary);
        printf("\n  -h, --help     show this help\n"
               "      --version  show the version\n\n"
               "'fsmonctl COMMAND --help' describes a command.\n");
}

int main(int argc, char *argv[]) {
        /* Messages name the program as it is called ("fsmonctl"), not the
         * path that was typed (build/daemon/fsmonctl/fsmonctl). */
        log_set_prefix(program_invocation_short_name);
        /* A closed pipe is an error to handle (EPIPE), not a reason to die. */
        signal(SIGPIPE, SIG_IGN);

        if (argc < 2) {
                help();
                return FSMONCTL_EXIT_USAGE;
        }
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
                help();
                return EXIT_SUCCESS;
        }
        if (strcmp(argv[1], "--version") == 0) {
                /* The same form for both programs (README, "Versions"). */
                printf("fsmonctl %s\n", FSMON_VERSION);
                return EXIT_SUCCESS;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(argv[1], verbs[i].name) == 0)
                        return verbs[i].run(argc - 1, argv + 1);

        if (argv[1][0] == '-')
                log_error("unrecognized option '%s'; see 'fsmonctl --help'.", argv[1]);
        else
                log_error("unknown command '%s'; see 'fsmonctl --help'.", argv[1]);
        return FSMONCTL_EXIT_USAGE;
}
