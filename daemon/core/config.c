/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/config.h"
#include "shared/fileio.h"
#include "shared/path-util.h"
#include "shared/string-table.h"

/* libinih reads lines into a fixed buffer of this size (its compile-time
 * INI_MAX_LINE, 200 in Debian's build) and silently splits longer lines; our
 * reader refuses them instead, so a long value can never spill into a line of
 * its own. */
#define CONFIG_FILE_MAX (1024U * 1024U)
#define RULE_PATH_MAX 1024U

static const char *const spool_full_policy_table[_SPOOL_FULL_POLICY_MAX] = {
        [SPOOL_FULL_DROP_OLDEST] = "drop-oldest",
        [SPOOL_FULL_STOP]        = "stop",
};

static const char *const spool_fsync_policy_table[_SPOOL_FSYNC_POLICY_MAX] = {
        [SPOOL_FSYNC_ALWAYS]   = "always",
        [SPOOL_FSYNC_INTERVAL] = "interval",
        [SPOOL_FSYNC_CLOSE]    = "close",
};

DEFINE_STRING_TABLE_LOOKUP(spool_full_policy, SpoolFullPolicy);
DEFINE_STRING_TABLE_LOOKUP(spool_fsync_policy, SpoolFsyncPolicy);

static void strv_free_n(char **l, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(l[i]);
        free(l);
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        strv_free_n(c->include, c->n_include);
        strv_free_n(c->exclude, c->n_exclude);
        free(c->upload_host);
        free(c->upload_user);
        free(c->upload_remote_dir);
        free(c->upload_known_hosts);
        free(c->state_dir);
        free(c->rules_file);
        free(c->augenrules);
        free(c->audit_log_dir);
        free(c->auditd);
        free(c->fsmond);
        free(c);
        return NULL;
}

static int strv_set(char ***l, size_t *n, const char *const *values, size_t n_values) {
        char **new = calloc(n_values ?: 1, sizeof(char *));
        if (!new)
                return -ENOMEM;
        for (size_t i = 0; i < n_values; i++) {
                new[i] = strdup(values[i]);
                if (!new[i]) {
                        strv_free_n(new, i);
                        return -ENOMEM;
                }
        }
        strv_free_n(*l, *n);
        *l = new;
        *n = n_values;
        return 0;
}

static int strv_push(char ***l, size_t *n, const char *value) {
        char **new;

        new = realloc(*l, (*n + 1) * sizeof(char *));
        if (!new)
                return -ENOMEM;
        *l = new;
        new[*n] = strdup(value);
        if (!new[*n])
                return -ENOMEM;
        (*n)++;
        return 0;
}

static int set_string(char **field, const char *value) {
        char *s = NULL;

        if (value) {
                s = strdup(value);
                if (!s)
                        return -ENOMEM;
        }
        free(*field);
        *field = s;
        return 0;
}

int config_new_default(Config **ret) {
        static const char *const default_exclude[] = { "/dev", "/proc", "/sys" };
        static const char *const default_include[] = { "/" };
        _cleanup_(config_freep) Config *c = NULL;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;

        /* Real logged-in users: auid >= 1000 and not unset (Debian's UID_MIN). */
        c->uid_ranges[0] = (UidRange) { 1000, CONFIG_AUID_MAX };
        c->n_uid_ranges = 1;
        if (strv_set(&c->include, &c->n_include, default_include, ELEMENTSOF(default_include)) < 0 ||
            strv_set(&c->exclude, &c->n_exclude, default_exclude, ELEMENTSOF(default_exclude)) < 0)
                return -ENOMEM;
        for (ActionOp op = 0; op < _ACTION_OP_MAX; op++)
                if (op != ACTION_GAP)
                        c->actions |= UINT64_C(1) << op;

        c->segment_max_bytes = UINT64_C(64) << 20;
        c->segment_max_age_usec = UINT64_C(3600) * 1000000;
        c->spool_max_bytes = UINT64_C(1) << 30;
        c->full_policy = SPOOL_FULL_DROP_OLDEST;
        c->fsync_policy = SPOOL_FSYNC_INTERVAL;
        c->fsync_interval_usec = UINT64_C(1000000);

        c->upload_port = 22;

        if (set_string(&c->upload_known_hosts, "/etc/fsmon/known_hosts") < 0 ||
            set_string(&c->state_dir, "/var/lib/fsmon") < 0 ||
            set_string(&c->rules_file, "/etc/audit/rules.d/70-fsmon.rules") < 0 ||
            set_string(&c->augenrules, "/usr/sbin/augenrules") < 0 ||
            set_string(&c->audit_log_dir, "/var/log/audit") < 0 ||
            set_string(&c->auditd, "/usr/sbin/auditd") < 0 ||
            set_string(&c->fsmond, "/usr/sbin/fsmond") < 0)
                return -ENOMEM;

        /* See README.md, "Audit rules and kernel settings": room for a burst of
         * a few thousand events, and a wait instead of a loss when it is full. */
        c->backlog_limit = 16384;
        c->backlog_wait_time = 60000;

        *ret = TAKE_PTR(c);
        return 0;
}

bool config_path_is_valid(const char *p, size_t max, bool no_space) {
        size_t len;

        if (!p || p[0] != '/')
                return false;
        len = strlen(p);
        if (len > max)
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char ch = p[i];
                if (ch < 0x20 || ch == 0x7f)
                        return false;
                if (no_space && (ch == ' ' || ch == '\t'))
                        return false;
        }
        if (len == 1)
                return true;
        if (p[len - 1] == '/')
                return false;
        for (size_t i = 1; i <= len; ) {
                size_t j = i;
                while (j < len && p[j] != '/')
                        j++;
                if (j == i)
                        return false;
                if ((j - i == 1 && p[i] == '.') || (j - i == 2 && p[i] == '.' && p[i + 1] == '.'))
                        return false;
                i = j + 1;
        }
        return true;
}

bool config_path_is_monitored(const Config *c, const char *path) {
        size_t best_in = 0, best_ex = 0, path_len = strlen(path);

        /* The longest matching prefix wins; prefixes are absolute and
         * normalised (parse_prefixes() checked), as path_has_prefix() wants. */
        for (size_t i = 0; i < c->n_include; i++) {
                size_t n = strlen(c->include[i]);
                if (n > best_in && path_has_prefix(path, path_len, c->include[i], n))
                        best_in = n;
        }
        for (size_t i = 0; i < c->n_exclude; i++) {
                size_t n = strlen(c->exclude[i]);
                if (n > best_ex && path_has_prefix(path, path_len, c->exclude[i], n))
                        best_ex = n;
        }
        return best_in > best_ex;
}

/* ---- parsing ---- */

typedef struct Parser {
        Config *config;
        const char *name;       /* file name, for messages */
        const char *text;
        size_t len, pos;

        unsigned line;          /* line the reader handed out last */
        bool indented;          /* ... began with whitespace */
        char prev_section[64], prev_key[64];
        bool have_prev;         /* a key was set since the last section line */

        unsigned error_line;    /* first error; 0: none */
        char *error;
        int error_r;            /* -ENOMEM beats everything */
} Parser;

_printf_(3, 4)
static void parser_error(Parser *p, unsigned line, const char *fmt, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;
        int r;

        if (p->error)
                return;
        va_start(ap, fmt);
        r = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (r < 0) {
                m = NULL;
                p->error_r = -ENOMEM;
                return;
        }
        if (asprintf(&p->error, "%s:%u: %s", p->name, line, m) < 0) {
                p->error = NULL;
                p->error_r = -ENOMEM;
                return;
        }
        p->error_line = line;
}

/* inih's line source: one whole line per call, or the end of input when a line
 * is too long or holds a NUL byte (the error is recorded here). */
static char *parser_read_line(char *buf, int size, void *userdata) {
        Parser *p = userdata;
        const char *start, *nl;
        size_t n, s;

        if (p->error || p->pos >= p->len)
                return NULL;

        start = p->text + p->pos;
        nl = memchr(start, '\n', p->len - p->pos);
        n = nl ? (size_t) (nl - start) + 1 : p->len - p->pos;
        p->line++;

        if (memchr(start, 0, n)) {
                parser_error(p, p->line, "NUL byte in line");
                return NULL;
        }
        if (size < 2 || n > (size_t) size - 1 ||
            (n == (size_t) size - 1 && start[n - 1] != '\n')) {
                parser_error(p, p->line, "line longer than %d bytes", size - 2);
                return NULL;
        }

        memcpy(buf, start, n);
        buf[n] = 0;
        p->pos += n;

        s = strspn(buf, " \t");
        p->indented = s > 0 && buf[s] != '\n' && buf[s] != '\r' && buf[s] != 0;
        if (buf[s] == '[')
                p->have_prev = false;
        return buf;
}

/* Splits value into words at whitespace; "double quotes" keep whitespace in a
 * word. Control characters are refused. */
static int split_words(const char *value, char ***ret, size_t *ret_n, const char **ret_problem) {
        char **words = NULL;
        size_t n = 0;
        const char *s = value;
        int r;

        for (const char *q = value; *q; q++)
                if ((unsigned char) *q < 0x20 || *q == 0x7f) {
                        *ret_problem = "control character in value";
                        return -EINVAL;
                }

        for (;;) {
                _cleanup_free_ char *w = NULL;
                size_t l;

                s += strspn(s, " \t");
                if (!*s)
                        break;
                if (*s == '"') {
                        const char *e = strchr(s + 1, '"');
                        if (!e) {
                                strv_free_n(words, n);
                                *ret_problem = "unterminated quote";
                                return -EINVAL;
                        }
                        l = e - (s + 1);
                        w = strndup(s + 1, l);
                        s = e + 1;
                        if (*s && *s != ' ' && *s != '\t') {
                                strv_free_n(words, n);
                                *ret_problem = "text after closing quote";
                                return -EINVAL;
                        }
                } else {
                        l = strcspn(s, " \t");
                        w = strndup(s, l);
                        s += l;
                }
                if (!w) {
                        strv_free_n(words, n);
                        return -ENOMEM;
                }
                r = strv_push(&words, &n, w);
                if (r < 0) {
                        strv_free_n(words, n);
                        return r;
                }
        }
        *ret = words;
        *ret_n = n;
        return 0;
}

static int parse_u64(const char *s, uint64_t *ret, const char **ret_end) {
        uint64_t v = 0;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++) {
                if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *ret = v;
        *ret_end = s;
        return 0;
}

typedef struct Unit {
        const char *suffix;
        uint64_t factor;
} Unit;

/* A number with one of the units' suffixes (or none, if "" is among them),
 * in the unit the factors are given in; -ERANGE on overflow. */
static int parse_with_unit(const char *s, const Unit *units, size_t n_units, uint64_t *ret) {
        const char *end;
        uint64_t v;
        int r;

        r = parse_u64(s, &v, &end);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_units; i++)
                if (strcmp(end, units[i].suffix) == 0) {
                        if (v > UINT64_MAX / units[i].factor)
                                return -ERANGE;
                        *ret = v * units[i].factor;
                        return 0;
                }
        return -EINVAL;
}

static int parse_size(const char *s, uint64_t *ret) {
        static const Unit units[] = {
                { "", 1 }, { "K", UINT64_C(1) << 10 }, { "M", UINT64_C(1) << 20 },
                { "G", UINT64_C(1) << 30 }, { "T", UINT64_C(1) << 40 },
        };
        return parse_with_unit(s, units, ELEMENTSOF(units), ret);
}

static int parse_duration_usec(const char *s, uint64_t *ret) {
        static const Unit units[] = {
                { "", 1000000 }, { "s", 1000000 }, { "ms", 1000 }, { "min", 60000000 },
                { "h", UINT64_C(3600000000) }, { "d", UINT64_C(86400000000) },
        };
        return parse_with_unit(s, units, ELEMENTSOF(units), ret);
}

static int parse_uid(const char *s, const char **ret_end, uint32_t *ret) {
        uint64_t v;
        int r;

        r = parse_u64(s, &v, ret_end);
        if (r < 0)
                return r;
        if (v > CONFIG_AUID_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

static int uid_range_cmp(const void *a, const void *b) {
        const UidRange *x = a, *y = b;
        return x->first < y->first ? -1 : x->first > y->first;
}

typedef enum ValueKind {
        VALUE_UID_RANGES,
        VALUE_PREFIXES,
        VALUE_ACTIONS,
        VALUE_SIZE,
        VALUE_DURATION,
        VALUE_FULL_POLICY,
        VALUE_FSYNC_POLICY,
        VALUE_HOST,
        VALUE_PORT,
        VALUE_USER,
        VALUE_REMOTE_DIR,
        VALUE_PATH,
        VALUE_RULES_PATH,       /* ends in a rule: no whitespace, at most RULE_PATH_MAX */
        VALUE_RULES_FILE,       /* ... and named *.rules, or augenrules ignores it */
        VALUE_U32,
        VALUE_BOOL,
} ValueKind;

typedef struct ConfigKey {
        const char *section, *key;
        ValueKind kind;
        size_t offset;
        uint64_t min, max;      /* VALUE_U32, VALUE_SIZE, VALUE_DURATION */
} ConfigKey;

#define F(field) offsetof(Config, field)
static const ConfigKey config_keys[] = {
        { "monitor", "users",              VALUE_UID_RANGES,   0 },
        { "monitor", "include",            VALUE_PREFIXES,     F(include) },
        { "monitor", "exclude",            VALUE_PREFIXES,     F(exclude) },
        { "monitor", "actions",            VALUE_ACTIONS,      0 },
        { "spool",   "segment_max_bytes",  VALUE_SIZE,         F(segment_max_bytes), 4096, UINT64_C(1) << 40 },
        { "spool",   "segment_max_age",    VALUE_DURATION,     F(segment_max_age_usec), 1000000, UINT64_C(30) * 86400000000 },
        { "spool",   "max_bytes",          VALUE_SIZE,         F(spool_max_bytes), 65536, UINT64_MAX },
        { "spool",   "full_policy",        VALUE_FULL_POLICY,  0 },
        { "spool",   "fsync",              VALUE_FSYNC_POLICY, 0 },
        { "spool",   "fsync_interval",     VALUE_DURATION,     F(fsync_interval_usec), 1000, UINT64_C(3600000000) },
        { "upload",  "host",               VALUE_HOST,         F(upload_host) },
        { "upload",  "port",               VALUE_PORT,         0 },
        { "upload",  "user",               VALUE_USER,         F(upload_user) },
        { "upload",  "remote_dir",         VALUE_REMOTE_DIR,   F(upload_remote_dir) },
        { "upload",  "known_hosts",        VALUE_PATH,         F(upload_known_hosts) },
        { "paths",   "state_dir",          VALUE_PATH,         F(state_dir) },
        { "paths",   "rules_file",         VALUE_RULES_FILE,   F(rules_file) },
        { "paths",   "augenrules",         VALUE_PATH,         F(augenrules) },
        { "paths",   "audit_log_dir",      VALUE_PATH,         F(audit_log_dir) },
        { "paths",   "auditd",             VALUE_RULES_PATH,   F(auditd) },
        { "paths",   "fsmond",             VALUE_RULES_PATH,   F(fsmond) },
        { "kernel",  "backlog_limit",      VALUE_U32,          F(backlog_limit), 1, CONFIG_BACKLOG_LIMIT_MAX },
        { "kernel",  "backlog_wait_time",  VALUE_U32,          F(backlog_wait_time), 0, CONFIG_BACKLOG_WAIT_TIME_MAX },
        { "kernel",  "exclude_unmonitored_sessions", VALUE_BOOL, F(exclude_unmonitored_sessions) },
};
#undef F

#define FIELD(c, k, type) ((type *) ((char *) (c) + (k)->offset))

static bool host_is_valid(const char *s) {
        size_t n = strlen(s);

        /* A name or an address; a leading '-' would read as an option to
         * anything that ever gets it on a command line. */
        if (n == 0 || n > 253 || s[0] == '-')
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-:[]") == n;
}

static bool user_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 32 || s[0] == '-')
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int parse_uid_ranges(Config *c, char **words, size_t n, bool append, const char **problem) {
        UidRange r[CONFIG_UID_RANGES_MAX * 2];
        size_t m = 0;

        if (append) {
                memcpy(r, c->uid_ranges, c->n_uid_ranges * sizeof(UidRange));
                m = c->n_uid_ranges;
        }
        for (size_t i = 0; i < n; i++) {
                const char *end;
                UidRange u;

                if (m >= ELEMENTSOF(r)) {
                        *problem = "too many login uid ranges";
                        return -EINVAL;
                }
                if (parse_uid(words[i], &end, &u.first) < 0) {
                        *problem = "expected a login uid range (N, N-M or N-, N < 4294967295)";
                        return -EINVAL;
                }
                if (*end == 0)
                        u.last = u.first;
                else if (end[0] == '-' && end[1] == 0)
                        u.last = CONFIG_AUID_MAX;
                else if (end[0] != '-' || parse_uid(end + 1, &end, &u.last) < 0 || *end != 0) {
                        *problem = "expected a login uid range (N, N-M or N-, N < 4294967295)";
                        return -EINVAL;
                }
                if (u.last < u.first) {
                        *problem = "login uid range ends before it starts";
                        return -EINVAL;
                }
                r[m++] = u;
        }
        if (m == 0) {
                *problem = "at least one login uid range is needed";
                return -EINVAL;
        }

        /* Sorted and merged: overlapping ranges would only cost rules. */
        qsort(r, m, sizeof(UidRange), uid_range_cmp);
        size_t k = 0;
        for (size_t i = 1; i < m; i++)
                if ((uint64_t) r[i].first <= (uint64_t) r[k].last + 1)
                        r[k].last = MAX(r[k].last, r[i].last);
                else
                        r[++k] = r[i];
        m = k + 1;
        if (m > CONFIG_UID_RANGES_MAX) {
                *problem = "too many login uid ranges (at most 8)";
                return -EINVAL;
        }
        memcpy(c->uid_ranges, r, m * sizeof(UidRange));
        c->n_uid_ranges = m;
        return 0;
}

static int parse_actions(Config *c, char **words, size_t n, bool append, const char **problem) {
        uint64_t a = append ? c->actions : 0;

        for (size_t i = 0; i < n; i++) {
                ActionOp op;

                if (strcmp(words[i], "all") == 0) {
                        for (op = 0; op < _ACTION_OP_MAX; op++)
                                if (op != ACTION_GAP)
                                        a |= UINT64_C(1) << op;
                        continue;
                }
                for (op = 0; op < _ACTION_OP_MAX; op++)
                        if (op != ACTION_GAP && strcmp(words[i], action_op_to_string(op)) == 0)
                                break;
                if (op >= _ACTION_OP_MAX) {
                        *problem = "unknown action";
                        return -EINVAL;
                }
                a |= UINT64_C(1) << op;
        }
        if (a == 0) {
                *problem = "at least one action is needed";
                return -EINVAL;
        }
        c->actions = a;
        return 0;
}

static int parse_prefixes(char ***list, size_t *n_list, char **words, size_t n, bool append, const char **problem) {
        int r;

        for (size_t i = 0; i < n; i++)
                if (!config_path_is_valid(words[i], PATH_MAX - 1, false)) {
                        *problem = "expected absolute, normalised paths";
                        return -EINVAL;
                }
        if (!append) {
                r = strv_set(list, n_list, NULL, 0);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++) {
                if (*n_list >= CONFIG_PREFIXES_MAX) {
                        *problem = "too many path prefixes";
                        return -EINVAL;
                }
                r = strv_push(list, n_list, words[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int config_set(Config *c, const ConfigKey *k, const char *value, bool continuation, const char **problem) {
        char **words = NULL;
        size_t n = 0;
        uint64_t v;
        int r;

        switch (k->kind) {
        case VALUE_UID_RANGES:
        case VALUE_ACTIONS:
        case VALUE_PREFIXES:
                r = split_words(value, &words, &n, problem);
                if (r < 0)
                        return r;
                if (k->kind == VALUE_UID_RANGES)
                        r = parse_uid_ranges(c, words, n, continuation, problem);
                else if (k->kind == VALUE_ACTIONS)
                        r = parse_actions(c, words, n, continuation, problem);
                else
                        r = parse_prefixes(FIELD(c, k, char **), k->offset == offsetof(Config, include) ? &c->n_include : &c->n_exclude,
                                           words, n, continuation, problem);
                strv_free_n(words, n);
                return r;
        default:
                break;
        }

        if (continuation) {
                *problem = "continuation line for a key that takes a single value";
                return -EINVAL;
        }
        for (const char *q = value; *q; q++)
                if ((unsigned char) *q < 0x20 || *q == 0x7f) {
                        *problem = "control character in value";
                        return -EINVAL;
                }

        switch (k->kind) {
        case VALUE_SIZE:
                r = parse_size(value, &v);
                if (r < 0 || v < k->min || v > k->max) {
                        *problem = "expected a size in bytes (suffixes K, M, G, T), within limits";
                        return -EINVAL;
                }
                *FIELD(c, k, uint64_t) = v;
                return 0;
        case VALUE_DURATION:
                r = parse_duration_usec(value, &v);
                if (r < 0 || v < k->min || v > k->max) {
                        *problem = "expected a duration (seconds, or suffixes ms, s, min, h, d), within limits";
                        return -EINVAL;
                }
                *FIELD(c, k, uint64_t) = v;
                return 0;
        case VALUE_U32: {
                const char *end;
                r = parse_u64(value, &v, &end);
                if (r < 0 || *end || v < k->min || v > k->max) {
                        *problem = k->offset == offsetof(Config, backlog_wait_time) ?
                                "expected a number of kernel ticks from 0 to 60000" :
                                "expected a number from 1 to 16777216";
                        return -EINVAL;
                }
                *FIELD(c, k, uint32_t) = (uint32_t) v;
                return 0;
        }
        case VALUE_BOOL:
                if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
                        *FIELD(c, k, bool) = true;
                else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
                        *FIELD(c, k, bool) = false;
                else {
                        *problem = "expected yes or no";
                        return -EINVAL;
                }
                return 0;
        case VALUE_PORT: {
                const char *end;
                r = parse_u64(value, &v, &end);
                if (r < 0 || *end || v < 1 || v > 65535) {
                        *problem = "expected a port number from 1 to 65535";
                        return -EINVAL;
                }
                c->upload_port = (uint16_t) v;
                return 0;
        }
        case VALUE_FULL_POLICY:
        case VALUE_FSYNC_POLICY: {
                int policy = k->kind == VALUE_FULL_POLICY ? spool_full_policy_from_string(value) :
                                                            spool_fsync_policy_from_string(value);
                if (policy >= 0) {
                        if (k->kind == VALUE_FULL_POLICY)
                                c->full_policy = policy;
                        else
                                c->fsync_policy = policy;
                        return 0;
                }
                *problem = k->kind == VALUE_FULL_POLICY ? "expected drop-oldest or stop" :
                                                          "expected always, interval or close";
                return -EINVAL;
        }
        case VALUE_HOST:
        case VALUE_USER:
        case VALUE_REMOTE_DIR:
                /* Empty: not configured. */
                if (!*value)
                        return set_string(FIELD(c, k, char *), NULL);
                if (k->kind == VALUE_HOST && !host_is_valid(value)) {
                        *problem = "expected a host name or address";
                        return -EINVAL;
                }
                if (k->kind == VALUE_USER && !user_is_valid(value)) {
                        *problem = "expected a user name ([A-Za-z0-9._-], at most 32, not starting with '-')";
                        return -EINVAL;
                }
                if (k->kind == VALUE_REMOTE_DIR && (value[0] == '-' || strlen(value) > 1024)) {
                        *problem = "expected a directory (at most 1024 bytes, not starting with '-')";
                        return -EINVAL;
                }
                return set_string(FIELD(c, k, char *), value);
        case VALUE_PATH:
                if (!config_path_is_valid(value, PATH_MAX - 1, true)) {
                        *problem = "expected an absolute, normalised path without whitespace";
                        return -EINVAL;
                }
                return set_string(FIELD(c, k, char *), value);
        case VALUE_RULES_PATH:
        case VALUE_RULES_FILE:
                if (!config_path_is_valid(value, RULE_PATH_MAX, true)) {
                        *problem = "expected an absolute, normalised path without whitespace, at most 1024 bytes";
                        return -EINVAL;
                }
                if (k->kind == VALUE_RULES_FILE) {
                        size_t l = strlen(value);
                        const char *base = strrchr(value, '/') + 1;
                        if (l < 6 || strcmp(value + l - 6, ".rules") != 0 || strlen(base) <= 6) {
                                *problem = "the rules file must be named *.rules (augenrules reads only those)";
                                return -EINVAL;
                        }
                }
                return set_string(FIELD(c, k, char *), value);
        default:
                return -EINVAL;
        }
}

static int parser_handle(void *userdata, const char *section, const char *key, const char *value) {
        Parser *p = userdata;
        const ConfigKey *k = NULL;
        const char *problem = NULL;
        bool continuation;
        int r;

        if (p->error)
                return 0;

        /* inih hands an indented line after a key over as more of that key's
         * value; for lists it adds words, for single values it is an error. */
        continuation = p->indented && p->have_prev &&
                strcmp(p->prev_section, section) == 0 && strcmp(p->prev_key, key) == 0;

        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                if (strcmp(config_keys[i].section, section) == 0 && strcmp(config_keys[i].key, key) == 0) {
                        k = &config_keys[i];
                        break;
                }
        if (!k) {
                bool known_section = false;
                for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                        if (strcmp(config_keys[i].section, section) == 0)
                                known_section = true;
                if (!known_section)
                        parser_error(p, p->line, "unknown section [%s]", section);
                else
                        parser_error(p, p->line, "unknown key '%s' in [%s]", key, section);
                return 0;
        }

        r = config_set(p->config, k, value, continuation, &problem);
        if (r == -ENOMEM) {
                p->error_r = -ENOMEM;
                return 0;
        }
        if (r < 0) {
                parser_error(p, p->line, "%s.%s: %s", section, key, problem ?: "invalid value");
                return 0;
        }

        (void) snprintf(p->prev_section, sizeof(p->prev_section), "%s", section);
        (void) snprintf(p->prev_key, sizeof(p->prev_key), "%s", key);
        p->have_prev = true;
        return 1;
}

int config_parse_string(Config *c, const char *name, const char *text, size_t len, char **ret_error) {
        Parser p = {
                .config = c,
                .name = name,
                .text = text,
                .len = len,
        };
        int r;

        r = ini_parse_stream(parser_read_line, &p, parser_handle, &p);
        if (p.error_r < 0) {
                free(p.error);
                return p.error_r;
        }
        if (r == -2) {
                free(p.error);
                return -ENOMEM;
        }
        /* inih reports the first line it could not parse as a positive number;
         * the handler's and the reader's errors carry their own message. */
        if (r > 0 && (!p.error || (unsigned) r < p.error_line)) {
                free(p.error);
                p.error = NULL;
                parser_error(&p, (unsigned) r, "syntax error (expected [section], key = value or a # comment)");
                if (p.error_r < 0)
                        return p.error_r;
        }
        if (p.error) {
                if (ret_error)
                        *ret_error = p.error;
                else
                        free(p.error);
                return -EINVAL;
        }
        return 0;
}

static int read_file(const char *path, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        ssize_t k;
        size_t n;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        /* A character device for --config /dev/null: the defaults. */
        if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > CONFIG_FILE_MAX)
                return -EFBIG;

        buf = malloc(CONFIG_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        k = fileio_read_full(fd, buf, CONFIG_FILE_MAX + 1);
        if (k < 0)
                return (int) k;
        n = (size_t) k;
        if (n > CONFIG_FILE_MAX)
                return -EFBIG;
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = n;
        return 0;
}

static int config_load_file(Config *c, const char *path, bool missing_ok, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        r = read_file(path, &text, &len);
        if (r == -ENOENT && missing_ok)
                return 0;
        if (r < 0) {
                if (ret_error && asprintf(ret_error, "%s: cannot read: %s", path,
                                          r == -EBADFD ? "not a regular file" :
                                          r == -EFBIG ? "larger than 1 MiB" : strerror(-r)) < 0)
                        *ret_error = NULL;
                return r == -ENOMEM ? r : (r == -EBADFD || r == -EFBIG) ? -EINVAL : r;
        }
        return config_parse_string(c, path, text, len, ret_error);
}

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int config_check(const Config *c, const char *path, char **ret_error) {
        const char *problem = NULL;

        for (size_t i = 0; i < c->n_include && !problem; i++)
                for (size_t j = 0; j < c->n_exclude; j++)
                        if (strcmp(c->include[i], c->exclude[j]) == 0) {
                                problem = "a path is both included and excluded";
                                break;
                        }
        if (!problem && c->upload_host && (!c->upload_user || !c->upload_remote_dir))
                problem = "[upload] needs user and remote_dir when host is set";
        if (!problem && c->fsync_policy == SPOOL_FSYNC_INTERVAL && c->fsync_interval_usec == 0)
                problem = "[spool] fsync_interval must be positive";
        if (!problem)
                return 0;

        if (ret_error && asprintf(ret_error, "%s: %s", path, problem) < 0)
                *ret_error = NULL;
        return -EINVAL;
}

int config_load(const char *path, Config **ret, char **ret_error) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *dropin_dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        char **names = NULL;
        size_t n_names = 0;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!path)
                path = CONFIG_DEFAULT_PATH;

        r = config_new_default(&c);
        if (r < 0)
                return r;

        r = config_load_file(c, path, true, ret_error);
        if (r < 0)
                return r;

        if (asprintf(&dropin_dir, "%s.d", path) < 0) {
                dropin_dir = NULL;
                return -ENOMEM;
        }
        d = opendir(dropin_dir);
        if (!d && errno != ENOENT) {
                r = -errno;
                if (ret_error && asprintf(ret_error, "%s: cannot read: %s", dropin_dir, strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        if (d) {
                struct dirent *de;

                errno = 0;
                while ((de = readdir(d))) {
                        size_t l = strlen(de->d_name);
                        /* Hidden files are editors' and packagers' leftovers. */
                        if (de->d_name[0] == '.' || l <= 5 || strcmp(de->d_name + l - 5, ".conf") != 0)
                                continue;
                        r = strv_push(&names, &n_names, de->d_name);
                        if (r < 0) {
                                strv_free_n(names, n_names);
                                return r;
                        }
                }
                if (n_names > 0)
                        qsort(names, n_names, sizeof(char *), strcmp_ptr);

                for (size_t i = 0; i < n_names; i++) {
                        _cleanup_free_ char *p = NULL;

                        if (asprintf(&p, "%s/%s", dropin_dir, names[i]) < 0) {
                                strv_free_n(names, n_names);
                                return -ENOMEM;
                        }
                        r = config_load_file(c, p, false, ret_error);
                        if (r < 0) {
                                strv_free_n(names, n_names);
                                return r;
                        }
                }
                strv_free_n(names, n_names);
        }

        r = config_check(c, path, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}
