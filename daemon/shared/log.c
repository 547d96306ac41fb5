/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/log.h"

static int max_level = LOG_INFO;
static const char *prefix = NULL;
static int use_priority_prefix = -1;

void log_set_max_level(int level) {
        max_level = level;
}

void log_set_prefix(const char *program) {
        prefix = program;
}

int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) {
        int saved = errno;
        char buf[2048];
        va_list ap;

        if (error < 0)
                error = -error;

        if (level > max_level) {
                errno = saved;
                return -error;
        }

        /* %m in fmt refers to the error we were given, not a stale errno. */
        errno = error;
        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);

        if (use_priority_prefix < 0)
                use_priority_prefix = !!getenv("JOURNAL_STREAM");

        if (use_priority_prefix)
                fprintf(stderr, "<%d>%s%s%s\n", level, prefix ?: "", prefix ? ": " : "", buf);
        else
                fprintf(stderr, "%s%s%s\n", prefix ?: "", prefix ? ": " : "", buf);

        (void) file;
        (void) line;
        errno = saved;
        return -error;
}

int log_getopt_error(int c, char *const argv[], const char *help_command) {
        const char *arg = optind > 0 ? argv[optind - 1] : "";

        if (c == ':')
                log_error("option '%s' needs a value; see '%s --help'.", arg, help_command);
        else if (optopt != 0 && !(arg[0] == '-' && arg[1] == '-'))
                log_error("unknown option '-%c'; see '%s --help'.", optopt, help_command);
        else
                log_error("unrecognized option '%s'; see '%s --help'.", arg, help_command);
        return -EINVAL;
}
