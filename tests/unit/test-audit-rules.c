/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of daemon/core/audit-rules.c. The expectations come from the design
 * (which syscalls each action needs, never rules first, one grouped rule per
 * arch, cheap fields first) and from libaudit's own syscall tables (what
 * auditctl accepts), not from the renderer's output. The one exception is the
 * shipped rules.d/70-fsmon.rules, which must stay the x86_64 rendering of
 * the default config. The other machines' numbers come from the kernel's
 * syscall tables (arch/.../syscall.tbl, include/uapi/asm-generic/unistd.h),
 * not from libaudit. */
#include <errno.h>
#include <libaudit.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/audit-rules.h"

static const char *shipped_rules_path;

static char *render_for(const Config *c, const char *machine) {
        char *text = NULL, *error = NULL;
        int r = audit_rules_render_for(c, machine, &text, &error);
        if (r < 0)
                fail_msg("render failed: %d %s", r, error ?: "");
        assert_null(error);
        return text;
}

/* The x86_64 rendering whatever machine the test runs on (an arm64 package
 * build runs it too). */
static char *render(const Config *c) {
        return render_for(c, "x86_64");
}

/* The rule lines ("-a ...") of text, in order. */
static size_t rule_lines(const char *text, char lines[][8192], size_t max) {
        size_t n = 0;

        for (const char *l = text; *l; ) {
                const char *e = strchr(l, '\n');
                assert_non_null(e);
                if (strncmp(l, "-a ", 3) == 0) {
                        assert_true(n < max);
                        assert_true((size_t) (e - l) < 8192);
                        memcpy(lines[n], l, e - l);
                        lines[n][e - l] = 0;
                        n++;
                }
                l = e + 1;
        }
        return n;
}

/* Syscall numbers of the "-S a,b,c" list in line, for machine. */
static size_t line_syscalls(const char *line, int machine, int *nrs, size_t max) {
        const char *s = strstr(line, " -S ");
        char buf[4096];
        size_t n = 0;

        assert_non_null(s);
        s += 4;
        size_t l = strcspn(s, " ");
        assert_true(l < sizeof(buf));
        memcpy(buf, s, l);
        buf[l] = 0;
        for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                /* auditctl takes numbers too (for what its table lacks). */
                int nr = w[0] >= '0' && w[0] <= '9' ? atoi(w) : audit_name_to_syscall(w, machine);
                if (nr < 0)
                        fail_msg("auditctl does not know syscall \"%s\" on machine %d", w, machine);
                assert_true(n < max);
                nrs[n++] = nr;
        }
        return n;
}

static bool has_nr(const int *nrs, size_t n, int nr) {
        for (size_t i = 0; i < n; i++)
                if (nrs[i] == nr)
                        return true;
        return false;
}

/* The x86_64 and i386 numbers (ausyscall) of what fsmon must see. */
static const struct { const char *name; int b64, b32; } needed[] = {
        { "open", 2, 5 }, { "openat", 257, 295 }, { "openat2", 437, 437 }, { "creat", 85, 8 },
        { "close", 3, 6 }, { "close_range", 436, 436 },
        { "read", 0, 3 }, { "write", 1, 4 }, { "pread64", 17, 180 }, { "pwrite64", 18, 181 },
        { "readv", 19, 145 }, { "writev", 20, 146 }, { "preadv", 295, 333 }, { "pwritev", 296, 334 },
        { "lseek", 8, 19 }, { "_llseek", -1, 140 },
        { "dup", 32, 41 }, { "dup2", 33, 63 }, { "dup3", 292, 330 },
        { "fcntl", 72, 55 }, { "fcntl64", -1, 221 },
        { "fork", 57, 2 }, { "vfork", 58, 190 }, { "clone", 56, 120 }, { "clone3", 435, 435 },
        { "execve", 59, 11 }, { "exit_group", 231, 252 }, { "getdents64", 217, 220 },
};

static void test_default(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL;
        static char lines[16][8192];
        int nrs[128];
        size_t n, k;

        assert_int_equal(config_new_default(&c), 0);
        text = render(c);

        /* Kernel settings come before the rules; "-D -k fsmon" removes only
         * fsmon's own rules. */
        assert_non_null(strstr(text, "\n-D -k fsmon\n"));
        assert_null(strstr(text, "\n-D\n"));
        assert_null(strstr(text, "\n-e"));
        assert_non_null(strstr(text, "\n-b 16384\n"));
        assert_non_null(strstr(text, "\n--backlog_wait_time 60000\n"));
        assert_true(strstr(text, "\n-b ") < strstr(text, "\n-a "));

        n = rule_lines(text, lines, 16);
        /* Two never rules (fsmond, auditd), then one rule per arch. */
        assert_int_equal(n, 4);
        assert_non_null(strstr(lines[0], "-a never,exit -F arch=b64 -S "));
        /* The login uids before exe= (costly: the kernel takes the task's
         * exe file): other users' syscalls fail at a cheap compare. */
        assert_non_null(strstr(lines[0], " -F auid!=unset -F auid>=1000 -F exe=/usr/sbin/fsmond -k fsmon"));
        assert_non_null(strstr(lines[1], "-a never,exit -F arch=b64 -S "));
        assert_non_null(strstr(lines[1], " -F auid!=unset -F auid>=1000 -F exe=/usr/sbin/auditd -k fsmon"));
        assert_true(strncmp(lines[2], "-a always,exit -F arch=b64 -S ", 30) == 0);
        assert_true(strncmp(lines[3], "-a always,exit -F arch=b32 -S ", 30) == 0);
        for (size_t i = 2; i < 4; i++) {
                const char *tail = strrchr(lines[i], ' ');
                /* Fields after the syscall list, cheapest and most selective
                 * first; the key last. */
                assert_non_null(strstr(lines[i], " -F auid!=unset -F auid>=1000 -k fsmon"));
                assert_string_equal(tail, " fsmon");
        }

        for (size_t i = 0; i < n; i++) {
                int machine = strstr(lines[i], "arch=b32") ? MACH_X86 : MACH_86_64;
                k = line_syscalls(lines[i], machine, nrs, ELEMENTSOF(nrs));
                for (size_t j = 0; j < ELEMENTSOF(needed); j++) {
                        int nr = machine == MACH_X86 ? needed[j].b32 : needed[j].b64;
                        if (nr >= 0 && !has_nr(nrs, k, nr))
                                fail_msg("rule %zu lacks %s (%d)", i, needed[j].name, nr);
                }
        }
}

/* Per machine: its rule arches and the kernel's numbers of calls that must be
 * in each (-1: the ABI has no such call, it must not be there). */
static const struct {
        const char *machine;
        int mach_b64, mach_b32;         /* -1: no such rule */
        struct { const char *name; int b64, b32; } calls[12];
} machine_cases[] = {
        { "aarch64", MACH_AARCH64, MACH_ARM, {
                /* asm-generic has no open, creat, fork, vfork, dup2; arm EABI does. */
                { "openat", 56, 322 }, { "close", 57, 6 }, { "read", 63, 3 }, { "write", 64, 4 },
                { "pread64", 67, 180 }, { "clone", 220, 120 }, { "execve", 221, 11 },
                { "exit_group", 94, 248 }, { "getdents64", 61, 217 }, { "lseek", 62, 19 },
                { "_llseek", -1, 140 }, { "fcntl64", -1, 221 } } },
        { "ppc64le", MACH_PPC64LE, -1, {
                { "open", 5, -1 }, { "openat", 286, -1 }, { "pread64", 179, -1 }, { "clone", 120, -1 },
                { "fork", 2, -1 }, { "execve", 11, -1 }, { "exit_group", 234, -1 },
                { "getdents64", 202, -1 }, { "dup2", 63, -1 } } },
        { "s390x", MACH_S390X, MACH_S390, {
                /* getdents64 (220) is not in libaudit 3.0.9's s390x table: by number. */
                { "openat", 288, 288 }, { "pread64", 180, 180 }, { "clone", 120, 120 },
                { "execve", 11, 11 }, { "exit_group", 248, 248 }, { "getdents64", 220, 220 },
                { "_llseek", -1, 140 } } },
        { "armv7l", -1, MACH_ARM, {
                { "open", -1, 5 }, { "pread64", -1, 180 }, { "_llseek", -1, 140 },
                { "clone", -1, 120 }, { "fork", -1, 2 } } },
};

static void test_machines(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        static char lines[16][8192];
        int nrs[128];

        assert_int_equal(config_new_default(&c), 0);
        for (size_t m = 0; m < ELEMENTSOF(machine_cases); m++) {
                _cleanup_free_ char *text = render_for(c, machine_cases[m].machine);
                bool b64 = machine_cases[m].mach_b64 >= 0, b32 = machine_cases[m].mach_b32 >= 0;
                size_t n = rule_lines(text, lines, 16);

                /* Two never rules for the native ABI, then one per ABI. */
                assert_int_equal(n, 2 + b64 + b32);
                for (size_t i = 0; i < n; i++) {
                        bool is32 = strstr(lines[i], "arch=b32") != NULL;
                        int machine = is32 ? machine_cases[m].mach_b32 : machine_cases[m].mach_b64;
                        size_t k;

                        assert_true(machine >= 0);
                        if (i < 2)
                                assert_true(is32 == !b64);      /* never rules: native */
                        k = line_syscalls(lines[i], machine, nrs, ELEMENTSOF(nrs));
                        for (size_t j = 0; j < ELEMENTSOF(machine_cases[m].calls) && machine_cases[m].calls[j].name; j++) {
                                int nr = is32 ? machine_cases[m].calls[j].b32 : machine_cases[m].calls[j].b64;
                                if (nr >= 0 && !has_nr(nrs, k, nr))
                                        fail_msg("%s rule %zu lacks %s (%d)", machine_cases[m].machine, i,
                                                 machine_cases[m].calls[j].name, nr);
                        }
                }
        }
        /* Not on arm64: the calls its ABI does not have (auditctl refuses the
         * names, and their numbers are other calls there). */
        {
                _cleanup_free_ char *text = render_for(c, "aarch64");
                rule_lines(text, lines, 16);
                for (size_t i = 0; i < 3; i++)
                        for (const char *const *w = (const char *const[]) { ",open,", ",creat,", ",fork,", ",vfork,", ",dup2,", NULL }; *w; w++)
                                assert_null(strstr(lines[i], *w));
        }
}

static void test_unknown_machine(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL;

        assert_int_equal(config_new_default(&c), 0);
        /* libaudit 3.0.9 has no riscv64 table. */
        assert_int_equal(audit_rules_render_for(c, "riscv64", &text, &error), -EAFNOSUPPORT);
        assert_null(text);
        assert_non_null(error);
        assert_non_null(strstr(error, "riscv64"));
}

static void test_shipped_file(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL, *shipped = NULL;
        FILE *f;
        long size;

        if (!shipped_rules_path)
                skip();
        f = fopen(shipped_rules_path, "re");
        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        size = ftell(f);
        rewind(f);
        shipped = calloc(1, size + 1);
        assert_non_null(shipped);
        assert_int_equal(fread(shipped, 1, size, f), (size_t) size);
        fclose(f);

        assert_int_equal(config_new_default(&c), 0);
        text = render(c);
        if (strcmp(text, shipped) != 0)
                fail_msg("rules.d/70-fsmon.rules is not the rendering of the default config; "
                         "regenerate it with: fsmonctl rules --config /dev/null");
}

static void test_actions(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL;
        static char lines[16][8192];
        int nrs[128];
        size_t n, k;

        assert_int_equal(config_new_default(&c), 0);

        /* Only opens: no transfers and no seeks, but what follows descriptors. */
        c->actions = UINT64_C(1) << ACTION_OPEN;
        text = render(c);
        n = rule_lines(text, lines, 16);
        assert_int_equal(n, 4);
        k = line_syscalls(lines[2], MACH_86_64, nrs, ELEMENTSOF(nrs));
        assert_true(has_nr(nrs, k, 257));       /* openat */
        assert_true(has_nr(nrs, k, 3));         /* close */
        assert_true(has_nr(nrs, k, 33));        /* dup2 */
        assert_true(has_nr(nrs, k, 57));        /* fork */
        assert_true(has_nr(nrs, k, 59));        /* execve */
        assert_false(has_nr(nrs, k, 0));        /* read */
        assert_false(has_nr(nrs, k, 1));        /* write */
        assert_false(has_nr(nrs, k, 8));        /* lseek */
        assert_false(has_nr(nrs, k, 17));       /* pread64 */
        assert_false(has_nr(nrs, k, 217));      /* getdents64 */
        free(text);

        /* Reads need seeks (the offset of the next read), even when seeks are
         * not recorded themselves; preads do not. */
        c->actions = UINT64_C(1) << ACTION_READ;
        text = render(c);
        n = rule_lines(text, lines, 16);
        k = line_syscalls(lines[3], MACH_X86, nrs, ELEMENTSOF(nrs));
        assert_true(has_nr(nrs, k, 3));         /* read */
        assert_true(has_nr(nrs, k, 19));        /* lseek */
        assert_true(has_nr(nrs, k, 140));       /* _llseek */
        assert_false(has_nr(nrs, k, 180));      /* pread64 */
        free(text);

        c->actions = UINT64_C(1) << ACTION_PREAD;
        text = render(c);
        n = rule_lines(text, lines, 16);
        k = line_syscalls(lines[2], MACH_86_64, nrs, ELEMENTSOF(nrs));
        assert_true(has_nr(nrs, k, 17));
        assert_false(has_nr(nrs, k, 8));
        assert_false(has_nr(nrs, k, 0));
}

static void test_uid_ranges(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL;
        static char lines[16][8192];
        size_t n;

        assert_int_equal(config_new_default(&c), 0);
        c->uid_ranges[0] = (UidRange) { 1000, 1999 };
        c->uid_ranges[1] = (UidRange) { 4242, 4242 };
        c->uid_ranges[2] = (UidRange) { 0, CONFIG_AUID_MAX };
        c->n_uid_ranges = 3;
        text = render(c);
        n = rule_lines(text, lines, 16);
        /* 2 never rules + 2 arches x 3 ranges, arch by arch. */
        assert_int_equal(n, 8);
        assert_true(strstr(lines[2], "arch=b64") && strstr(lines[2], " -F auid>=1000 -F auid<=1999 -k fsmon"));
        assert_true(strstr(lines[3], "arch=b64") && strstr(lines[3], " -F auid=4242 -k fsmon"));
        assert_true(strstr(lines[4], "arch=b64") && strstr(lines[4], " -F auid!=unset -k fsmon"));
        assert_null(strstr(lines[4], "auid>="));
        assert_true(strstr(lines[5], "arch=b32") && strstr(lines[5], " -F auid>=1000 -F auid<=1999 -k fsmon"));
        assert_true(strstr(lines[7], "arch=b32") && strstr(lines[7], " -F auid!=unset -k fsmon"));
}

/* The opt-in: one never,task rule per span of login uids outside every
 * range (the unset login uid never in one), after the syscall rules; none by
 * default. */
static void test_session_exclusions(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        static char lines[16][8192];
        char *text, **task;
        size_t n;

        assert_int_equal(config_new_default(&c), 0);
        assert_false(c->exclude_unmonitored_sessions);
        text = render(c);
        assert_null(strstr(text, "never,task"));
        free(text);

        /* default users = 1000-: only the uids below */
        c->exclude_unmonitored_sessions = true;
        text = render(c);
        n = rule_lines(text, lines, 16);
        assert_int_equal(n, 5);
        assert_string_equal(lines[4], "-a never,task -F auid<1000");
        assert_int_equal(audit_rules_task_lines(text, &task), 0);
        assert_string_equal(task[0], "-a never,task -F auid<1000");
        assert_null(task[1]);
        free(task[0]);
        free(task);
        free(text);

        /* unsorted, overlapping, adjacent and closed ranges */
        c->uid_ranges[0] = (UidRange) { 5000, 5999 };
        c->uid_ranges[1] = (UidRange) { 1000, 1999 };
        c->uid_ranges[2] = (UidRange) { 1500, 2999 };
        c->uid_ranges[3] = (UidRange) { 3000, 3000 };
        c->n_uid_ranges = 4;
        text = render(c);
        n = rule_lines(text, lines, 16);
        assert_int_equal(n, 2 + 2 * 4 + 3);
        assert_string_equal(lines[10], "-a never,task -F auid<1000");
        assert_string_equal(lines[11], "-a never,task -F auid>=3001 -F auid<5000");
        assert_string_equal(lines[12], "-a never,task -F auid!=unset -F auid>=6000");
        free(text);

        /* from 0 to the top: nobody is outside */
        c->uid_ranges[0] = (UidRange) { 0, CONFIG_AUID_MAX };
        c->n_uid_ranges = 1;
        text = render(c);
        assert_null(strstr(text, "never,task"));
        free(text);
}

static void assert_render_refused(Config *c, const char *expected) {
        char *text = NULL, *error = NULL;

        assert_int_equal(audit_rules_render(c, &text, &error), -EINVAL);
        assert_null(text);
        assert_non_null(error);
        if (!strstr(error, expected))
                fail_msg("error \"%s\", expected \"%s\"", error, expected);
        free(error);
}

/* A Config built by hand (not through config_load) gets the same checks. */
static void test_injection(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        static const char *const bad_paths[] = {
                "/usr/sbin/fsmond\n-D",
                "/usr/sbin/fsmond -k x",
                "/usr/sbin/fsmond\t-e 0",
                "-D",
                "-e 0",
                "usr/sbin/fsmond",
                "/usr/sbin/../fsmond",
                "/usr/sbin/fsmond/",
                "/usr/sbin\x7f/fsmond",
                "",
        };
        _cleanup_free_ char *huge = NULL;
        char *saved;

        assert_int_equal(config_new_default(&c), 0);
        saved = c->fsmond;
        for (size_t i = 0; i < ELEMENTSOF(bad_paths); i++) {
                c->fsmond = (char *) bad_paths[i];
                assert_render_refused(c, "paths.fsmond");
        }
        huge = malloc(7001);
        assert_non_null(huge);
        for (size_t i = 0; i < 7000; i++)
                huge[i] = i % 50 == 0 ? '/' : 'x';
        huge[7000] = 0;
        c->fsmond = huge;
        assert_render_refused(c, "paths.fsmond");
        c->fsmond = saved;

        saved = c->auditd;
        c->auditd = (char *) "/sbin/auditd\n-a always,exit -S all";
        assert_render_refused(c, "paths.auditd");
        c->auditd = saved;

        c->uid_ranges[0] = (UidRange) { 5, 4 };
        assert_render_refused(c, "monitor.users");
        c->uid_ranges[0] = (UidRange) { 0, CONFIG_AUID_UNSET };
        assert_render_refused(c, "monitor.users");
        c->uid_ranges[0] = (UidRange) { 1000, CONFIG_AUID_MAX };
        c->n_uid_ranges = 0;
        assert_render_refused(c, "monitor.users");
        c->n_uid_ranges = 1;

        c->actions = 0;
        assert_render_refused(c, "monitor.actions");
        c->actions = UINT64_C(1) << ACTION_GAP;
        assert_render_refused(c, "monitor.actions");
        c->actions = UINT64_C(1) << ACTION_READ;

        c->backlog_limit = 0;
        assert_render_refused(c, "kernel.backlog_limit");
        c->backlog_limit = 100;
        c->backlog_wait_time = 60001;
        assert_render_refused(c, "kernel.backlog_wait_time");
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default),
                cmocka_unit_test(test_shipped_file),
                cmocka_unit_test(test_machines),
                cmocka_unit_test(test_unknown_machine),
                cmocka_unit_test(test_actions),
                cmocka_unit_test(test_uid_ranges),
                cmocka_unit_test(test_session_exclusions),
                cmocka_unit_test(test_injection),
        };

        if (argc > 1)
                shipped_rules_path = argv[1];
        return cmocka_run_group_tests(tests, NULL, NULL);
}
