/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/action-json.h"
#include "core/ledger.h"
#include "core/pseudonym.h"
#include "fsmonctl/fsmonctl.h"
#include "store/key.h"
#include "shared/log.h"
#include "report/report-input.h"
#include "report/report-render.h"

/* The spool's default place (contract: state in /var/lib/fsmon/). */
#define REPORT_DEFAULT_PATH "/var/lib/fsmon/spool"

static void report_help(void) {
        printf("Usage: fsmonctl report [OPTIONS...] [PATH...]\n\n"
               "Statistics over spool segments: a segment file, a local spool directory\n"
               "(default: " REPORT_DEFAULT_PATH "), or a server directory holding\n"
               "<host id>/<segment> uploads; plain or zstd-compressed. A PATH given by name\n"
               "may also be action JSON Lines (what fsmonctl decode prints) or an audit log\n"
               "(decoded on the fly, as fsmonctl decode does); - is standard input, e.g.\n"
               "  fsmonctl decode audit.log | fsmonctl report -\n"
               "Damaged or foreign files are named on stderr and left out; the report\n"
               "covers the rest.\n\n"
               "  -f, --format=FORMAT  text (default), json, csv, svg (charts), html (page with charts)\n"
               "  -n, --top=N          files and rows per table (default %d)\n"
               "  -j, --threads=N      files read in parallel (default: CPUs, at most 4)\n"
               "      --progress=BOOL  progress on stderr (default: when stderr is a terminal)\n"
               "      --plain          audit logs: keep file names (no pseudonyms)\n"
               "      --key FILE       audit logs: pseudonyms with the 32-byte key in FILE;\n"
               "                       without --plain or --key, a random key for this run\n"
               "  -h, --help           show this help\n\n"
               "Exit status: 0 report written; 1 error; 2 usage; 3 report written, but some\n"
               "inputs were skipped as damaged or foreign.\n",
               REPORT_TOP_DEFAULT);
}

#define REPORT_EXIT_SKIPPED 3
#define DECODE_CHUNK (256U * 1024U)

/* Audit logs are decoded on the fly by the core ledger, as `fsmonctl decode`
 * does; each input gets a ledger and pseudonymizer of its own (the report
 * reads inputs in parallel), all with the same key. */
typedef struct AuditDecodeConfig {
        bool plain;
        uint8_t key[PSEUDONYM_KEY_SIZE];
} AuditDecodeConfig;

typedef struct AuditDecodeRun {
        ReportLineSink sink;
        void *sink_userdata;
} AuditDecodeRun;

static int audit_decode_record(const char *record, size_t len, const Action *a, void *userdata) {
        AuditDecodeRun *run = userdata;
        return run->sink(record, len, run->sink_userdata);
}

static int audit_decode(const char *prefix, size_t prefix_len, int fd, ReportLineSink sink, void *sink_userdata,
                        void *userdata, char *reason, size_t reason_size) {
        const AuditDecodeConfig *cfg = userdata;
        _cleanup_(pseudonymizer_freep) Pseudonymizer *p = NULL;
        _cleanup_(ledger_freep) Ledger *ledger = NULL;
        _cleanup_free_ char *chunk = NULL;
        AuditDecodeRun run = { .sink = sink, .sink_userdata = sink_userdata };
        LedgerOptions lo = {};
        AuditDecoderStats st;
        int r;

        if (!cfg->plain) {
                r = pseudonymizer_new(cfg->key, &p);
                if (r < 0)
                        return r;
        }
        lo.pseudonymizer = p;
        lo.tracker.with_ids = true;
        r = ledger_new(&lo, audit_decode_record, &run, &ledger);
        if (r < 0)
                return r;
        chunk = malloc(DECODE_CHUNK);
        if (!chunk)
                return -ENOMEM;

        r = ledger_feed(ledger, prefix, prefix_len);
        while (r >= 0) {
                ssize_t n = read(fd, chunk, DECODE_CHUNK);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        snprintf(reason, reason_size, "cannot read: %s", strerror(errno));
                        return r;
                }
                if (n == 0)
                        break;
                r = ledger_feed(ledger, chunk, (size_t) n);
        }
        if (r >= 0)
                r = ledger_flush(ledger);
        if (r < 0)
                return r;   /* the sink's reason, or -ENOMEM */

        st = ledger_get_decoder_stats(ledger);
        if (st.malformed_lines > 0 || st.malformed_events > 0)
                log_debug("%" PRIu64 " malformed audit line(s) and %" PRIu64 " event(s) passed over.",
                          st.malformed_lines, st.malformed_events);
        return 0;
}

static int parse_bool(const char *s) {
        if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcmp(s, "on") == 0)
                return 1;
        if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0 || strcmp(s, "0") == 0 || strcmp(s, "off") == 0)
                return 0;
        return -EINVAL;
}

int verb_report(int argc, char *argv[]) {
        enum { ARG_PROGRESS = 0x100, ARG_PLAIN, ARG_KEY };
        static const struct option options[] = {
                { "format",   required_argument, NULL, 'f' },
                { "top",      required_argument, NULL, 'n' },
                { "threads",  required_argument, NULL, 'j' },
                { "progress", required_argument, NULL, ARG_PROGRESS },
                { "plain",    no_argument,       NULL, ARG_PLAIN },
                { "key",      required_argument, NULL, ARG_KEY },
                { "help",     no_argument,       NULL, 'h' },
                {}
        };
        static char *const default_paths[] = { (char *) REPORT_DEFAULT_PATH };
        _cleanup_(report_freep) Report *report = NULL;
        ReportFormat format = REPORT_FORMAT_TEXT;
        ReportInputOptions o = { .progress = isatty(STDERR_FILENO) };
        AuditDecodeConfig decode = {};
        const char *key_file = NULL;
        unsigned long top = REPORT_TOP_DEFAULT;
        const ReportSkipped *skipped;
        char *end;
        int c, r;

        while ((c = getopt_long(argc, argv, ":f:n:j:h", options, NULL)) >= 0)
                switch (c) {
                case 'f':
                        r = report_format_from_string(optarg);
                        if (r < 0) {
                                log_error("unknown format '%s': text, json, csv, svg or html; see 'fsmonctl report --help'.", optarg);
                                return FSMONCTL_EXIT_USAGE;
                        }
                        format = r;
                        break;
                case 'n':
                        errno = 0;
                        top = strtoul(optarg, &end, 10);
                        if (errno != 0 || *end || !*optarg || top == 0 || top > 100000) {
                                log_error("--top wants a number from 1 to 100000, not '%s'; see 'fsmonctl report --help'.", optarg);
                                return FSMONCTL_EXIT_USAGE;
                        }
                        break;
                case 'j': {
                        unsigned long j;
                        errno = 0;
                        j = strtoul(optarg, &end, 10);
                        if (errno != 0 || *end || !*optarg || j > 64) {
                                log_error("--threads wants a number from 0 (automatic) to 64, not '%s'; see 'fsmonctl report --help'.", optarg);
                                return FSMONCTL_EXIT_USAGE;
                        }
                        o.threads = (unsigned) j;
                        break;
                }
                case ARG_PROGRESS:
                        r = parse_bool(optarg);
                        if (r < 0) {
                                log_error("--progress wants yes or no, not '%s'; see 'fsmonctl report --help'.", optarg);
                                return FSMONCTL_EXIT_USAGE;
                        }
                        o.progress = r;
                        break;
                case ARG_PLAIN:
                        decode.plain = true;
                        break;
                case ARG_KEY:
                        key_file = optarg;
                        break;
                case 'h':
                        report_help();
                        return EXIT_SUCCESS;
                default:
                        (void) log_getopt_error(c, argv, "fsmonctl report");
                        return FSMONCTL_EXIT_USAGE;
                }

        r = fsmonctl_key_setup("report", decode.plain, key_file, decode.key);
        if (r != 0)
                return r;
        o.audit_decode = audit_decode;
        o.audit_decode_userdata = &decode;

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

        sodium_memzero(decode.key, sizeof(decode.key));
        r = report_render(report, format, top, stdout);
        if (r < 0) {
                log_error_errno(r, "Cannot write the report: %m");
                return EXIT_FAILURE;
        }
        return report_skipped(report, &skipped) > 0 ? REPORT_EXIT_SKIPPED : EXIT_SUCCESS;
}
