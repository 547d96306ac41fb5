/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/action.h"
#include "shared/macro.h"

/* fsmon's configuration: /etc/fsmon/fsmon.conf and then the drop-ins
 * fsmon.conf.d/NAME.conf beside it, in lexical order. Pure: reads files, knows
 * nothing of what the values are used for. Every value is validated here, with
 * file and line, so that whatever holds a Config can trust it (rule rendering
 * checks again before anything reaches the kernel). The keys are documented in
 * fsmon.conf(5) and in config/fsmon.conf. */

#define CONFIG_DEFAULT_PATH "/etc/fsmon/fsmon.conf"

/* The kernel's "unset" login uid, (uid_t) -1: never part of a range. */
#define CONFIG_AUID_UNSET UINT32_C(4294967295)
#define CONFIG_AUID_MAX (CONFIG_AUID_UNSET - 1)
#define CONFIG_UID_RANGES_MAX 8
#define CONFIG_PREFIXES_MAX 256
/* The kernel accepts up to 10 * 60 * HZ ticks; HZ is at least 100. */
#define CONFIG_BACKLOG_WAIT_TIME_MAX 60000U
#define CONFIG_BACKLOG_LIMIT_MAX (1U << 24)

/* Login uids first..last (inclusive, last <= CONFIG_AUID_MAX). */
typedef struct UidRange {
        uint32_t first, last;
} UidRange;

typedef enum SpoolFullPolicy {
        SPOOL_FULL_DROP_OLDEST,
        SPOOL_FULL_STOP,
        _SPOOL_FULL_POLICY_MAX,
} SpoolFullPolicy;

typedef enum SpoolFsyncPolicy {
        SPOOL_FSYNC_ALWAYS,     /* after every append */
        SPOOL_FSYNC_INTERVAL,   /* at most every fsync_interval_usec, and on close */
        SPOOL_FSYNC_CLOSE,      /* only when a segment is closed */
        _SPOOL_FSYNC_POLICY_MAX,
} SpoolFsyncPolicy;

typedef struct Config {
        /* [monitor] */
        UidRange uid_ranges[CONFIG_UID_RANGES_MAX];     /* sorted, merged */
        size_t n_uid_ranges;
        char **include;                 /* absolute, normalised prefixes */
        size_t n_include;
        char **exclude;
        size_t n_exclude;
        uint64_t actions;               /* bit (1 << ActionOp) for each recorded op */

        /* [spool] */
        uint64_t segment_max_bytes;
        uint64_t segment_max_age_usec;
        uint64_t spool_max_bytes;
        SpoolFullPolicy full_policy;
        SpoolFsyncPolicy fsync_policy;
        uint64_t fsync_interval_usec;

        /* [upload]: host NULL = not configured */
        char *upload_host;
        uint16_t upload_port;
        char *upload_user;
        char *upload_remote_dir;
        char *upload_known_hosts;

        /* [paths]: all absolute and normalised */
        char *state_dir;
        char *rules_file;
        char *augenrules;
        char *audit_log_dir;
        char *auditd;
        char *fsmond;

        /* [kernel] */
        uint32_t backlog_limit;
        uint32_t backlog_wait_time;     /* kernel ticks (jiffies) */
        /* Opt-in: "never,task" rules for the login uids outside every range,
         * whose processes then get no audit context at all (nor any other
         * package's syscall auditing). See README, "Unmonitored sessions". */
        bool exclude_unmonitored_sessions;
} Config;

/* The built-in defaults (what an absent config file means). */
int config_new_default(Config **ret);

/* Loads path (absent: the defaults) and then path + ".d/" *.conf in lexical
 * order; a later assignment wins. On an invalid config returns -EINVAL and, if
 * ret_error is not NULL, a message "FILE:LINE: problem" (free()); other
 * failures (-ENOMEM, -EACCES, ...) also come with a message naming the file.
 * Logs nothing: the caller decides (fsmond refuses to start; a reload keeps
 * the old config). */
int config_load(const char *path, Config **ret, char **ret_error);

/* Parses one file's text into c, as if it were the file named name. */
int config_parse_string(Config *c, const char *name, const char *text, size_t len, char **ret_error);

Config *config_free(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);

static inline bool config_records(const Config *c, ActionOp op) {
        return (unsigned) op < 64 && (c->actions & (UINT64_C(1) << op));
}

/* Whether actions on path (absolute, normalised) are recorded: the longest
 * include or exclude prefix that contains it decides; none: not recorded. */
bool config_path_is_monitored(const Config *c, const char *path);

/* Also used by rule rendering: an absolute, normalised path (no empty, "."
 * or ".." components, no trailing '/') of at most max bytes, without control
 * characters; with no_space also without whitespace. */
bool config_path_is_valid(const char *p, size_t max, bool no_space);

const char *spool_full_policy_to_string(SpoolFullPolicy p) _pure_;
const char *spool_fsync_policy_to_string(SpoolFsyncPolicy p) _pure_;
/* The value for a name, or -EINVAL. */
int spool_full_policy_from_string(const char *s) _pure_;
int spool_fsync_policy_from_string(const char *s) _pure_;
