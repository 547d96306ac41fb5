/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "core/audit-rules.h"
#include "core/syscall-table.h"

/* auditctl reads rule files in lines of at most this many bytes. */
#define AUDITCTL_LINE_MAX 6144U
#define RULE_PATH_MAX 1024U

/* What the rules need for each recorded action: the call's name in 64-bit
 * ABIs (b64) and in 32-bit ones (b32), NULL where that kind of ABI has no
 * such call. For a machine, each name is looked up in libaudit's table of
 * that ABI (syscall_resolve(): its spelling, "pread" for pread64 on x86_64,
 * arm64, ppc and s390) and left out where the ABI lacks it (arm64 has no
 * open, creat, dup2, fork). */
#define NEED_ALWAYS UINT64_MAX
#define OP(x) (UINT64_C(1) << (x))
#define OFFSET_OPS (OP(ACTION_READ) | OP(ACTION_WRITE) | OP(ACTION_READV) | OP(ACTION_WRITEV) | OP(ACTION_LSEEK))
#define APPEND_OPS (OP(ACTION_WRITE) | OP(ACTION_WRITEV) | OP(ACTION_PWRITE) | OP(ACTION_PWRITEV))
/* Every op whose record names a file through a descriptor: a rename changes
 * that name. */
#define FD_PATH_OPS (~(OP(ACTION_OPEN) | OP(ACTION_FORK) | OP(ACTION_EXEC) | OP(ACTION_EXIT) | \
                       OP(ACTION_MKDIR) | OP(ACTION_UNLINK) | OP(ACTION_RMDIR) | OP(ACTION_GAP)))

static const struct {
        const char *b64, *b32;
        uint64_t needed_by;
} syscall_table[] = {
        /* The tracker follows descriptors through these whatever is recorded:
         * without them a path or an offset would be wrong, not just missing. */
        { "open",        "open",        NEED_ALWAYS },
        { "openat",      "openat",      NEED_ALWAYS },
        { "openat2",     "openat2",     NEED_ALWAYS },
        { "creat",       "creat",       NEED_ALWAYS },
        { "close",       "close",       NEED_ALWAYS },
        { "close_range", "close_range", NEED_ALWAYS },
        { "dup",         "dup",         NEED_ALWAYS },
        { "dup2",        "dup2",        NEED_ALWAYS },
        { "dup3",        "dup3",        NEED_ALWAYS },
        { "fcntl",       "fcntl",       NEED_ALWAYS },  /* F_DUPFD*, F_SETFL O_APPEND */
        { NULL,          "fcntl64",     NEED_ALWAYS },
        { "fork",        "fork",        NEED_ALWAYS },
        { "vfork",       "vfork",       NEED_ALWAYS },
        { "clone",       "clone",       NEED_ALWAYS },
        { "clone3",      "clone3",      NEED_ALWAYS },
        { "execve",      "execve",      NEED_ALWAYS },  /* closes O_CLOEXEC descriptors */
        { "execveat",    "execveat",    NEED_ALWAYS },
        { "exit_group",  "exit_group",  NEED_ALWAYS },
        /* Transfers. */
        { "read",        "read",        OP(ACTION_READ) },
        { "write",       "write",       OP(ACTION_WRITE) },
        { "pread",       "pread64",     OP(ACTION_PREAD) },
        { "pwrite",      "pwrite64",    OP(ACTION_PWRITE) },
        { "readv",       "readv",       OP(ACTION_READV) },
        { "writev",      "writev",      OP(ACTION_WRITEV) },
        { "preadv",      "preadv",      OP(ACTION_PREADV) },
        { "preadv2",     "preadv2",     OP(ACTION_PREADV) },
        { "pwritev",     "pwritev",     OP(ACTION_PWRITEV) },
        { "pwritev2",    "pwritev2",    OP(ACTION_PWRITEV) },
        /* Offsets: a read or write starts where the last lseek left it. */
        { "lseek",       "lseek",       OFFSET_OPS },
        { NULL,          "_llseek",     OFFSET_OPS },
        /* Copies in the kernel: a read and a write each, and they move
         * positions (and the end of file) like read and write. */
        { "copy_file_range", "copy_file_range", OFFSET_OPS },
        { "sendfile",    "sendfile",    OFFSET_OPS },
        { NULL,          "sendfile64",  OFFSET_OPS },
        { "splice",      "splice",      OFFSET_OPS },
        /* Files mapped into memory (32-bit programs call mmap2). */
        { "mmap",        "mmap2",       OP(ACTION_MMAP) },
        /* New names: for the rename record, and so that later records
         * through descriptors open on the old name carry the new one. */
        { "rename",      "rename",      FD_PATH_OPS },
        { "renameat",    "renameat",    FD_PATH_OPS },
        { "renameat2",   "renameat2",   FD_PATH_OPS },
        { "unlink",      "unlink",      OP(ACTION_UNLINK) },
        { "unlinkat",    "unlinkat",    OP(ACTION_UNLINK) | OP(ACTION_RMDIR) },
        { "rmdir",       "rmdir",       OP(ACTION_RMDIR) },
        { "mkdir",       "mkdir",       OP(ACTION_MKDIR) },
        { "mkdirat",     "mkdirat",     OP(ACTION_MKDIR) },
        /* Truncation; the file size is also where an O_APPEND write lands. */
        { "truncate",    "truncate",    OP(ACTION_TRUNCATE) | APPEND_OPS },
        { NULL,          "truncate64",  OP(ACTION_TRUNCATE) | APPEND_OPS },
        { "ftruncate",   "ftruncate",   OP(ACTION_TRUNCATE) | APPEND_OPS },
        { NULL,          "ftruncate64", OP(ACTION_TRUNCATE) | APPEND_OPS },
        /* Directory listings after an opendir. */
        { "getdents",    "getdents",    OP(ACTION_OPENDIR) },
        { "getdents64",  "getdents64",  OP(ACTION_OPENDIR) },
};

/* The compat ABI of each 64-bit machine's kernel, for its b32 rules; a
 * 32-bit machine has its own ABI only. A compat rule loads on a kernel
 * built without compat too (the kernel does not check arch= values), it
 * just never matches. */
static const struct {
        const char *b64, *b32;
} compat_abis[] = {
        { "x86_64",  "i386" },
        { "aarch64", "arm" },
        { "ppc64",   "ppc" },
        { "ppc64le", NULL },    /* no 32-bit little-endian powerpc userland */
        { "s390x",   "s390" },
};

AuditRules *audit_rules_free(AuditRules *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_rules; i++) {
                free(r->rules[i].syscalls);
                for (size_t j = 0; j < r->rules[i].n_fields; j++)
                        free(r->rules[i].fields[j]);
        }
        free(r->rules);
        for (size_t i = 0; i < r->n_task_rules; i++)
                free(r->task_rules[i]);
        free(r->task_rules);
        free(r);
        return NULL;
}

#define RULE_NR_MAX 1024

static int rule_set_syscalls(AuditRule *rule, const SyscallAbi *abi, uint64_t actions) {
        bool seen[RULE_NR_MAX] = {};

        rule->arch = abi->bits32 ? "b32" : "b64";
        rule->syscalls = calloc(ELEMENTSOF(syscall_table), sizeof(char *));
        if (!rule->syscalls)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(syscall_table); i++) {
                const char *name = abi->bits32 ? syscall_table[i].b32 : syscall_table[i].b64, *spelling;
                int nr;

                if (!name || !(syscall_table[i].needed_by & actions))
                        continue;
                nr = syscall_resolve(abi, name, &spelling);
                if (nr < 0 || nr >= RULE_NR_MAX || seen[nr])
                        continue;
                seen[nr] = true;
                rule->syscalls[rule->n_syscalls++] = spelling;
        }
        return 0;
}

_printf_(2, 3)
static int rule_add_field(AuditRule *rule, const char *fmt, ...) {
        va_list ap;
        char *f;
        int r;

        if (rule->n_fields >= AUDIT_RULE_FIELDS_MAX)
                return -E2BIG;
        va_start(ap, fmt);
        r = vasprintf(&f, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        rule->fields[rule->n_fields++] = f;
        return 0;
}

_printf_(2, 3)
static int fail(char **ret_error, const char *fmt, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return -EINVAL;
}

static int rules_validate(const Config *c, char **ret_error) {
        uint64_t known = 0;

        for (ActionOp op = 0; op < _ACTION_OP_MAX; op++)
                if (op != ACTION_GAP)
                        known |= OP(op);
        if (c->actions == 0 || (c->actions & ~known))
                return fail(ret_error, "monitor.actions: no action, or an unknown one");

        if (c->n_uid_ranges < 1 || c->n_uid_ranges > CONFIG_UID_RANGES_MAX)
                return fail(ret_error, "monitor.users: between 1 and %d login uid ranges are needed",
                            CONFIG_UID_RANGES_MAX);
        for (size_t i = 0; i < c->n_uid_ranges; i++)
                if (c->uid_ranges[i].first > c->uid_ranges[i].last ||
                    c->uid_ranges[i].last > CONFIG_AUID_MAX)
                        return fail(ret_error, "monitor.users: invalid login uid range %" PRIu32 "-%" PRIu32,
                                    c->uid_ranges[i].first, c->uid_ranges[i].last);

        /* These end up verbatim in a rule line: a space, a newline or a
         * leading '-' could start another option or another rule. */
        if (!config_path_is_valid(c->fsmond, RULE_PATH_MAX, true))
                return fail(ret_error, "paths.fsmond: not an absolute, normalised path without whitespace of at most %u bytes",
                            RULE_PATH_MAX);
        if (!config_path_is_valid(c->auditd, RULE_PATH_MAX, true))
                return fail(ret_error, "paths.auditd: not an absolute, normalised path without whitespace of at most %u bytes",
                            RULE_PATH_MAX);

        if (c->backlog_limit < 1 || c->backlog_limit > CONFIG_BACKLOG_LIMIT_MAX)
                return fail(ret_error, "kernel.backlog_limit: out of range 1-%u", CONFIG_BACKLOG_LIMIT_MAX);
        if (c->backlog_wait_time > CONFIG_BACKLOG_WAIT_TIME_MAX)
                return fail(ret_error, "kernel.backlog_wait_time: out of range 0-%u", CONFIG_BACKLOG_WAIT_TIME_MAX);
        return 0;
}

/* The login uid fields of a range, cheapest and most selective first:
 * "auid!=unset" first for an open range, since most syscalls on a machine
 * come from daemons, whose login uid is unset (and would pass "auid>=1000"). */
static int rule_add_auid_range(AuditRule *rule, uint32_t first, uint32_t last) {
        int k;

        if (last == CONFIG_AUID_MAX) {
                k = rule_add_field(rule, "auid!=unset");
                if (k >= 0 && first > 0)
                        k = rule_add_field(rule, "auid>=%" PRIu32, first);
                return k;
        }
        if (first == last)
                return rule_add_field(rule, "auid=%" PRIu32, first);
        k = rule_add_field(rule, "auid>=%" PRIu32, first);
        if (k >= 0)
                k = rule_add_field(rule, "auid<=%" PRIu32, last);
        return k;
}

static AuditRule *rules_add(AuditRules *r) {
        AuditRule *n = realloc(r->rules, (r->n_rules + 1) * sizeof(AuditRule));
        if (!n)
                return NULL;
        r->rules = n;
        n[r->n_rules] = (AuditRule) {};
        return &n[r->n_rules++];
}

const char *audit_rules_host_machine(void) {
        static struct utsname u;

        if (uname(&u) < 0)
                return NULL;
        return u.machine;
}

static int task_rule_add(AuditRules *r, const char *fmt, ...) _printf_(2, 3);
static int task_rule_add(AuditRules *r, const char *fmt, ...) {
        char **n, *line;
        va_list ap;
        int k;

        n = realloc(r->task_rules, (r->n_task_rules + 1) * sizeof(char *));
        if (!n)
                return -ENOMEM;
        r->task_rules = n;
        va_start(ap, fmt);
        k = vasprintf(&line, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        r->task_rules[r->n_task_rules++] = line;
        return 0;
}

static int uid_range_cmp(const void *a, const void *b) {
        const UidRange *x = a, *y = b;
        return x->first < y->first ? -1 : x->first > y->first;
}

/* The opt-in [kernel] exclude_unmonitored_sessions: a task forked under a
 * login uid outside every monitored range gets no audit context at all, so
 * that its syscalls pay nothing for audit (any syscall rule otherwise gives
 * every task a context that collects names on each path lookup). One
 * "never,task" rule per span of login uids between and around the ranges;
 * the unset login uid (daemons, services) is never in one. */
static int rules_add_session_exclusions(const Config *c, AuditRules *r) {
        _cleanup_free_ UidRange *u = NULL;
        uint64_t next = 0;      /* the lowest login uid not yet covered */
        int k = 0;

        if (!c->exclude_unmonitored_sessions || c->n_uid_ranges == 0)
                return 0;
        u = malloc(c->n_uid_ranges * sizeof(UidRange));
        if (!u)
                return -ENOMEM;
        memcpy(u, c->uid_ranges, c->n_uid_ranges * sizeof(UidRange));
        qsort(u, c->n_uid_ranges, sizeof(UidRange), uid_range_cmp);
        for (size_t i = 0; i < c->n_uid_ranges && k >= 0; i++) {
                if (u[i].first > next) {
                        if (next == 0)
                                k = task_rule_add(r, "-a never,task -F auid<%" PRIu32, u[i].first);
                        else
                                k = task_rule_add(r, "-a never,task -F auid>=%" PRIu64 " -F auid<%" PRIu32,
                                                  next, u[i].first);
                }
                next = MAX(next, (uint64_t) u[i].last + 1);
        }
        if (k >= 0 && next <= CONFIG_AUID_MAX)
                k = task_rule_add(r, "-a never,task -F auid!=unset -F auid>=%" PRIu64, next);
        return k;
}

int audit_rules_build(const Config *c, AuditRules **ret, char **ret_error) {
        return audit_rules_build_for(c, NULL, ret, ret_error);
}

int audit_rules_build_for(const Config *c, const char *machine, AuditRules **ret, char **ret_error) {
        _cleanup_(audit_rules_freep) AuditRules *r = NULL;
        const char *const never_exe[] = { c->fsmond, c->auditd };
        const SyscallAbi *abi, *abis[2] = {};
        size_t n_abis = 0;
        uint32_t lo = UINT32_MAX, hi = 0;
        AuditRule *rule;
        int k;

        if (ret_error)
                *ret_error = NULL;
        k = rules_validate(c, ret_error);
        if (k < 0)
                return k;

        if (!machine)
                machine = audit_rules_host_machine();
        abi = syscall_abi_from_name(machine);
        if (!abi) {
                (void) fail(ret_error, "machine %s: libaudit has no syscall table for it (it has: %s)",
                            machine ?: "(unknown)", AUDIT_RULES_MACHINES);
                return -EAFNOSUPPORT;
        }
        abis[n_abis++] = abi;
        for (size_t i = 0; i < ELEMENTSOF(compat_abis) && !abi->bits32; i++)
                if (strcmp(compat_abis[i].b64, abi->name) == 0 && compat_abis[i].b32) {
                        abis[n_abis] = syscall_abi_from_name(compat_abis[i].b32);
                        if (abis[n_abis])
                                n_abis++;
                }

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->backlog_limit = c->backlog_limit;
        r->backlog_wait_time = c->backlog_wait_time;
        r->machine = abis[0]->name;
        r->compat_machine = n_abis > 1 ? abis[1]->name : NULL;

        /* The first matching rule decides, so the exclusions come first. Both
         * programs are native; a daemon started by systemd has no login
         * uid at all, so these only matter when one is started from a login
         * session. The exe= test is costly (it takes the task's exe file on
         * every syscall), so the login uids come first: only a process the
         * rules below would record gets that far. (The span of all ranges:
         * a process between two ranges is tested in vain, never wrongly.) */
        for (size_t i = 0; i < c->n_uid_ranges; i++) {
                lo = MIN(lo, c->uid_ranges[i].first);
                hi = MAX(hi, c->uid_ranges[i].last);
        }
        for (size_t i = 0; i < ELEMENTSOF(never_exe); i++) {
                rule = rules_add(r);
                if (!rule)
                        return -ENOMEM;
                rule->never = true;
                if (rule_set_syscalls(rule, abis[0], c->actions) < 0 ||
                    rule_add_auid_range(rule, lo, hi) < 0 ||
                    rule_add_field(rule, "exe=%s", never_exe[i]) < 0)
                        return -ENOMEM;
        }

        /* One rule per arch and login uid range, all syscalls grouped: the
         * kernel tests the syscall bitmap first, then the fields in order, and
         * stops at the first that does not match. */
        for (size_t a = 0; a < n_abis; a++)
                for (size_t i = 0; i < c->n_uid_ranges; i++) {
                        const UidRange *u = &c->uid_ranges[i];

                        rule = rules_add(r);
                        if (!rule)
                                return -ENOMEM;
                        if (rule_set_syscalls(rule, abis[a], c->actions) < 0 ||
                            rule_add_auid_range(rule, u->first, u->last) < 0)
                                return -ENOMEM;
                }

        if (rules_add_session_exclusions(c, r) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(r);
        return 0;
}

/* The last line of defence against a rule injected through a value: every
 * line is a comment or one option line we wrote, printable, and short enough
 * for auditctl. */
static int text_check(const char *text, size_t expected_lines) {
        size_t lines = 0;

        for (const char *l = text; *l; ) {
                const char *e = strchr(l, '\n');
                if (!e || (size_t) (e - l) >= AUDITCTL_LINE_MAX)
                        return -EINVAL;
                for (const char *q = l; q < e; q++)
                        if ((unsigned char) *q < 0x20 || *q == 0x7f)
                                return -EINVAL;
                if (e > l && l[0] != '#') {
                        if (l[0] != '-')
                                return -EINVAL;
                        lines++;
                }
                l = e + 1;
        }
        return lines == expected_lines ? 0 : -EINVAL;
}

int audit_rules_format(const AuditRules *r, char **ret_text) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int k;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        fputs("## fsmon's audit rules, rendered from fsmon.conf by fsmond; `fsmonctl rules`\n"
              "## shows them. Do not edit: fsmond rewrites this file. See fsmon.conf(5).\n"
              "\n"
              "## Replace earlier fsmon rules, so a reload never meets \"rule exists\".\n", f);
        fprintf(f, "-D -k %s\n\n", AUDIT_RULES_KEY);
        fprintf(f, "## For %s machines: %s is %s", r->machine, r->rules[0].arch, r->machine);
        if (r->compat_machine)
                fprintf(f, ", b32 is %s (compat)", r->compat_machine);
        fputs(". Not for another machine's auditctl.\n\n", f);
        fputs("## Room for bursts; when full, audited processes wait instead of losing events.\n", f);
        fprintf(f, "-b %" PRIu32 "\n", r->backlog_limit);
        fprintf(f, "--backlog_wait_time %" PRIu32 "\n", r->backlog_wait_time);

        for (size_t i = 0; i < r->n_rules; i++) {
                const AuditRule *rule = &r->rules[i];

                if (i == 0 || rule->never != r->rules[i - 1].never)
                        fputs(rule->never ? "\n## Not fsmon itself, nor auditd.\n" :
                                            "\n## What monitored users do, one rule per arch and login uid range.\n", f);
                fprintf(f, "-a %s,exit -F arch=%s -S ", rule->never ? "never" : "always", rule->arch);
                for (size_t j = 0; j < rule->n_syscalls; j++)
                        fprintf(f, "%s%s", j > 0 ? "," : "", rule->syscalls[j]);
                for (size_t j = 0; j < rule->n_fields; j++)
                        fprintf(f, " -F %s", rule->fields[j]);
                fprintf(f, " -k %s\n", AUDIT_RULES_KEY);
        }
        if (r->n_task_rules > 0)
                fputs("\n## exclude_unmonitored_sessions = yes: no audit context for tasks of login\n"
                      "## sessions outside the monitored ranges. This switches off every other\n"
                      "## package's syscall auditing for those sessions too. No key is possible on\n"
                      "## task rules: fsmon removes them by this exact text.\n", f);
        for (size_t i = 0; i < r->n_task_rules; i++)
                fprintf(f, "%s\n", r->task_rules[i]);

        if (fclose(f) != 0)
                return -ENOMEM;

        /* -D, -b, --backlog_wait_time and the rules. */
        k = text_check(buf, 3 + r->n_rules + r->n_task_rules);
        if (k < 0)
                return k;

        *ret_text = TAKE_PTR(buf);
        return 0;
}

int audit_rules_task_lines(const char *text, char ***ret) {
        static const char prefix[] = "-a never,task ";
        char **lines = NULL;
        size_t n = 0;

        for (const char *l = text; l && *l; ) {
                const char *e = strchrnul(l, '\n');
                if (strncmp(l, prefix, sizeof(prefix) - 1) == 0) {
                        char **m = realloc(lines, (n + 2) * sizeof(char *));
                        if (!m)
                                goto oom;
                        lines = m;
                        lines[n] = strndup(l, e - l);
                        if (!lines[n])
                                goto oom;
                        lines[++n] = NULL;
                }
                l = *e ? e + 1 : e;
        }
        if (!lines) {
                lines = calloc(1, sizeof(char *));
                if (!lines)
                        return -ENOMEM;
        }
        *ret = lines;
        return 0;
oom:
        for (size_t i = 0; i < n; i++)
                free(lines[i]);
        free(lines);
        return -ENOMEM;
}

int audit_rules_render(const Config *c, char **ret_text, char **ret_error) {
        return audit_rules_render_for(c, NULL, ret_text, ret_error);
}

int audit_rules_render_for(const Config *c, const char *machine, char **ret_text, char **ret_error) {
        _cleanup_(audit_rules_freep) AuditRules *r = NULL;
        int k;

        k = audit_rules_build_for(c, machine, &r, ret_error);
        if (k < 0)
                return k;
        k = audit_rules_format(r, ret_text);
        if (k < 0)
                return fail(ret_error, "rendered rules failed their own check");
        return 0;
}
