/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsmonctl/fsmonctl.h"
#include "shared/log.h"
#include "report/report-input.h"
#include "report/report-render.h"

/* The spool's default place (contract: state in /var/lib/fsmon/). */
#define REPORT_DEFAULT_PATH "/var/lib/fsmon/spool"

static void report_help(void) {
        printf("Usage: fsmonctl report [OPTIONS...] [PATH...]\n\n"
               "Statistics over spool segments: a segment file, a local spool directory\n"
               "(default: " REPORT_DEFAULT_PATH "), or a server directory holding\n"
               "<host id>/<segment> uploads; plain or zstd-compressed. Damaged or foreign\n"
               "files are named on stderr and left out; the report covers the rest.\n\n"
               "  -f, --format=FORMAT  text (default), json, csv, svg (charts), html (page with charts)\n"
               "  -n, --top=N          files and rows per table (default %d)\n"
               "  -j, --threads=N      files read in parallel (default: CPUs, at most 4)\n"
               "      --progress=BOOL  progress on stderr (default: when stderr is a terminal)\n"
               "  -h, --help           show this help\n\n"
               "Exit status: 0 report written; 1 error; 2 usage; 3 report written, but some\n"
               "inputs were skipped as damaged or foreign.\n",
               REPORT_TOP_DEFAULT);
}

#define REPORT_EXIT_SKIPPED 3

static int parse_bool(const char *s) {
        if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcmp(s, "on") == 0)
                return 1;
        if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0 || strcmp(s, "0") == 0 || strcmp(s, "off") == 0)
                return 0;
        return -EINVAL;
}

int verb_report(int argc, char *argv[]) {
        enum { ARG_PROGRESS = 0x100 };
        static const struct option options[] = {
                { "format",   required_argument, NULL, 'f' },
                { "top",      required_argument, NULL, 'n' },
                { "threads",  required_argument, NULL, 'j' },
                { "progress", required_argument, NULL, ARG_PROGRESS },
                { "help",     no_argument,       NULL, 'h' },
                {}
        };
        static char *const default_paths[] = { (char *) REPORT_DEFAULT_PATH };
        _cleanup_(report_freep) Report *report = NULL;
        ReportFormat format = REPORT_FORMAT_TEXT;
        ReportInputOptions o = { .progress = isatty(STDERR_FILENO) };
        unsigned long top = REPORT_TOP_DEFAULT;
        const ReportSkipped *skipped;
        char *end;
        int c, r;

        while ((c = getopt_long(argc, argv, ":f:n:j:h", options, NULL)) >= 0)
                switch (c) {
                case 'f':
                        r = report_format_from_string(optarg);
                        if (r < 0) {
                                log_error("Unknown format '%s': text, json, csv, svg or html.", optarg);
                                return FSMONCTL_EXIT_USAGE;
                        }
                        format = r;
                        break;
                case 'n':
                        errno = 0;
                        top = strtoul(optarg, &end, 10);
                        if (errno != 0 || *end || !*optarg || top == 0 || top > 100000) {
                                log_error("--top wants a number from 1 to 100000, not '%s'.", optarg);
                                return FSMONCTL_EXIT_USAGE;
                        }
                        break;
                case 'j': {
                        unsigned long j;
                        errno = 0;
                        j = strtoul(optarg, &end, 10);
                        if (errno != 0 || *end || !*optarg || j > 64) {
                                log_error("--threads wants a number from 0 (automatic) to 64, not '%s'.", optarg);
                                return FSMONCTL_EXIT_USAGE;
                        }
                        o.threads = (unsigned) j;
                        break;
                }
                case ARG_PROGRESS:
                        r = parse_bool(optarg);
                        if (r < 0) {
                                log_error("--progress wants yes or no, not '%s'.", optarg);
                                return FSMONCTL_EXIT_USAGE;
                        }
                        o.progress = r;
                        break;
                case 'h':
                        report_help();
                        return EXIT_SUCCESS;
                default:
                        (void) log_getopt_error(c, argv, "fsmonctl report");
                        return FSMONCTL_EXIT_USAGE;
                }

        r = report_new(&report);
        if (r < 0)
                return log_oom(), EXIT_FAILURE;

        if (optind < argc)
                r = report_input_run(report, argv + optind, (size_t) (argc - optind), &o);
        else if (access(REPORT_DEFAULT_PATH, F_OK) < 0) {
                log_error("No spool at " REPORT_DEFAULT_PATH "; name segment files or directories.");
                return EXIT_FAILURE;
        } else
                r = report_input_run(report, default_paths, 1, &o);
        if (r < 0)
                return EXIT_FAILURE;

        r = report_render(report, format, top, stdout);
        if (r < 0) {
                log_error_errno(r, "Cannot write the report: %m");
                return EXIT_FAILURE;
        }
        return report_skipped(report, &skipped) > 0 ? REPORT_EXIT_SKIPPED : EXIT_SUCCESS;
}
