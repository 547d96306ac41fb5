/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <getopt.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/action-json.h"
#include "core/action-text.h"
#include "core/audit-rules.h"
#include "fsmonctl/fsmonctl.h"
#include "store/key.h"
#include "core/ledger.h"
#include "shared/log.h"
#include "core/pseudonym.h"

#define READ_CHUNK (256U * 1024U)
#define OUT_FLUSH (256U * 1024U)

typedef struct DecodeOutput {
        int fd;
        CharBuffer buf;
        bool text;                      /* --format text */
        ActionTextOptions text_options;
} DecodeOutput;

static int output_flush(DecodeOutput *o) {
        size_t done = 0;

        while (done < o->buf.len) {
                ssize_t n = write(o->fd, o->buf.data + done, o->buf.len - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += n;
        }
        o->buf.len = 0;
        return 0;
}

static int on_record(const char *record, size_t len, const Action *a, void *userdata) {
        DecodeOutput *o = userdata;
        int r;

        if (o->text) {
                r = action_text_append(&o->buf, a, &o->text_options);
                if (r >= 0)
                        r = char_buffer_reserve(&o->buf, 1);
                if (r < 0)
                        return r;
                o->buf.data[o->buf.len++] = '\n';
        } else {
                r = char_buffer_reserve(&o->buf, len + 1);
                if (r < 0)
                        return r;
                memcpy(o->buf.data + o->buf.len, record, len);
                o->buf.len += len;
                o->buf.data[o->buf.len++] = '\n';
        }
        if (o->buf.len >= OUT_FLUSH)
                return output_flush(o);
        return 0;
}

static int feed_fd(Ledger *l, int fd, const char *name, char *chunk) {
        for (;;) {
                ssize_t n = read(fd, chunk, READ_CHUNK);
                int r;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "Failed to read %s: %m", name);
                }
                if (n == 0)
                        return 0;
                r = ledger_feed(l, chunk, n);
                if (r == -EPIPE)
                        return r;
                if (r < 0)
                        return log_error_errno(r, "Failed to decode %s: %m", name);
        }
}

static void help(void) {
        printf("Usage: fsmonctl decode [--plain | --key FILE] [--format json|text] [FILE...]\n\n"
               "Turns audit log text (auditd's RAW or ENRICHED format) into file actions,\n"
               "one JSON object per line, on standard output. Reads standard input when no\n"
               "FILE is given; several FILEs are one stream (e.g. audit.log.1 audit.log).\n\n"
               "  --plain      keep file names (no pseudonyms)\n"
               "  --key FILE   pseudonyms with the 32-byte key in FILE (mode 0600);\n"
               "               without --plain or --key, a random key for this run\n"
               "  --no-ids     leave out ppid, auid, uid and comm\n"
               "  --audit-key KEY  only system call events with this audit key (fsmond\n"
               "               uses \"" AUDIT_RULES_KEY "\"); others on a shared log are passed over\n"
               "  --format FORMAT  json (default: the record format) or text (a short\n"
               "               line per action for a person; columns may change)\n"
               "  -h, --help   show this help\n");
}

int verb_decode(int argc, char *argv[]) {
        static const struct option options[] = {
                { "plain",  no_argument,       NULL, 'p' },
                { "key",    required_argument, NULL, 'k' },
                { "no-ids", no_argument,       NULL, 'n' },
                { "audit-key", required_argument, NULL, 'a' },
                { "format", required_argument, NULL, 'f' },
                { "help",   no_argument,       NULL, 'h' },
                {}
        };
        _cleanup_(pseudonymizer_freep) Pseudonymizer *pseudonymizer = NULL;
        uint8_t key[KEY_SIZE];
        _cleanup_(ledger_freep) Ledger *ledger = NULL;
        _cleanup_free_ char *chunk = NULL;
        DecodeOutput out = { .fd = STDOUT_FILENO };
        const char *key_file = NULL, *audit_key = NULL;
        bool plain = false, ids = true, failed = false;
        AuditDecoderStats st;
        TrackerStats ts;
        LedgerOptions lo = {};
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'p':
                        plain = true;
                        break;
                case 'k':
                        key_file = optarg;
                        break;
                case 'n':
                        ids = false;
                        break;
                case 'a':
                        audit_key = optarg;
                        break;
                case 'f':
                        if (strcmp(optarg, "text") == 0)
                                out.text = true;
                        else if (strcmp(optarg, "json") == 0)
                                out.text = false;
                        else {
                                log_error("--format wants json or text, not '%s'; see 'fsmonctl decode --help'.", optarg);
                                return FSMONCTL_EXIT_USAGE;
                        }
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                default:
                        (void) log_getopt_error(c, argv, "fsmonctl decode");
                        return FSMONCTL_EXIT_USAGE;
                }
        r = fsmonctl_key_setup("decode", plain, key_file, key);
        if (r != 0)
                return r;
        r = plain ? 0 : pseudonymizer_new(key, &pseudonymizer);
        sodium_memzero(key, sizeof(key));
        if (r < 0) {
                log_error_errno(r, "Failed to set up pseudonyms: %m");
                return EXIT_FAILURE;
        }

        lo.pseudonymizer = pseudonymizer;
        out.text_options.pseudonymizer = pseudonymizer;
        lo.tracker.with_ids = ids;
        lo.audit_key = audit_key;
        r = ledger_new(&lo, on_record, &out, &ledger);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the decoder: %m");
                return EXIT_FAILURE;
        }

        chunk = malloc(READ_CHUNK);
        if (!chunk) {
                log_oom();
                return EXIT_FAILURE;
        }

        if (optind >= argc)
                r = feed_fd(ledger, STDIN_FILENO, "standard input", chunk);
        else
                for (int i = optind; i < argc; i++) {
                        _cleanup_close_ int fd = -EBADF;

                        if (strcmp(argv[i], "-") == 0) {
                                r = feed_fd(ledger, STDIN_FILENO, "standard input", chunk);
                        } else {
                                fd = open(argv[i], O_RDONLY | O_CLOEXEC | O_NOCTTY);
                                if (fd < 0) {
                                        log_error_errno(errno, "Failed to open %s: %m", argv[i]);
                                        failed = true;
                                        continue;
                                }
                                r = feed_fd(ledger, fd, argv[i], chunk);
                        }
                        if (r == -EPIPE)
                                break;
                        if (r < 0)
                                failed = true;
                }

        if (r != -EPIPE) {
                r = ledger_flush(ledger);
                if (r >= 0)
                        r = output_flush(&out);
        }
        char_buffer_done(&out.buf);
        if (r == -EPIPE)
                return EXIT_SUCCESS;    /* the reader went away (e.g. `| head`) */
        if (r < 0) {
                log_error_errno(r, "Failed to write the actions: %m");
                return EXIT_FAILURE;
        }

        st = ledger_get_decoder_stats(ledger);
        if (st.malformed_lines > 0 || st.malformed_events > 0)
                log_warning("%" PRIu64 " malformed line(s) of %" PRIu64 " and %" PRIu64
                            " malformed event(s) of %" PRIu64 " skipped.",
                            st.malformed_lines, st.lines, st.malformed_events, st.events);
        tracker_get_stats(ledger_get_tracker(ledger), &ts);
        if (ts.unknown_arch_events > 0)
                log_warning("%" PRIu64 " syscall event(s) of an architecture libaudit has no table for "
                            "(first arch=%" PRIx32 ") not decoded; libaudit knows %s.",
                            ts.unknown_arch_events, ts.unknown_arch, AUDIT_RULES_MACHINES);

        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
