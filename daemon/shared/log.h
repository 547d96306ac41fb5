/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "shared/macro.h"

/* Logs go to stderr, with "<N>" priority prefixes (sd-daemon(3) style) when
 * stderr is the journal, so that `journalctl -u fsmon` keeps priorities.
 * Helpers return errors; the caller that decides logs. */

void log_set_max_level(int level);
void log_set_prefix(const char *program);

/* Returns -abs(error) so that callers can "return log_error_errno(r, ...)". */
int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) _printf_(5, 6);

#define log_full_errno(level, error, ...) \
        log_internal((level), (error), __FILE__, __LINE__, __VA_ARGS__)
#define log_full(level, ...) (void) log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...)   log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...)   log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...)   log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...)    log_full_errno(LOG_INFO, (e), __VA_ARGS__)
#define log_notice_errno(e, ...)  log_full_errno(LOG_NOTICE, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...)   log_full_errno(LOG_ERR, (e), __VA_ARGS__)

#define log_oom() log_error_errno(ENOMEM, "Out of memory.")

/* One style for every program's usage errors. Parsers call getopt_long()
 * with an optstring that starts with ':' (no messages of getopt's own, which
 * would be prefixed with argv[0] as typed, e.g. "build/daemon/fsmond/fsmond:"
 * or a verb's "decode:"), and hand its '?' or ':' here. Logs, with the
 * program's short name as prefix, e.g.
 *   fsmonctl: unrecognized option '--x'; see 'fsmonctl decode --help'.
 * help_command: what to suggest ("fsmonctl decode"). Returns -EINVAL. */
int log_getopt_error(int c, char *const argv[], const char *help_command);
