/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The rule lifecycle's decisions, with a stand-in kernel and a stand-in
 * augenrules: above all the locked audit config (-e 2), which the real kernel
 * cannot be put into on a shared machine (it lasts until reboot). The real
 * kernel and augenrules are in tests/rules/test-rules-load.sh. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/audit-rules-load.h"

static char tmpdir[] = "/tmp/fsmon-test-rules-load.XXXXXX";

typedef struct MockKernel {
        uint32_t enabled_before, enabled_after;
        int get_error;
        int check_result;
        size_t check_found;
        unsigned n_get, n_check;
} MockKernel;

static int mock_get_enabled(void *userdata, uint32_t *ret) {
        MockKernel *m = userdata;

        if (m->get_error)
                return m->get_error;
        *ret = m->n_get++ == 0 ? m->enabled_before : m->enabled_after;
        return 0;
}

static int mock_check_rules(void *userdata, const AuditRules *r, size_t *ret_found) {
        MockKernel *m = userdata;

        m->n_check++;
        *ret_found = m->check_result == 1 ? r->n_rules : m->check_found;
        return m->check_result;
}

static char *path_in(const char *name) {
        char *p;
        assert_true(asprintf(&p, "%s/%s", tmpdir, name) > 0);
        return p;
}

static char *read_text(const char *path) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        FILE *m = open_memstream(&buf, &size);
        int ch;
        while ((ch = fgetc(f)) != EOF)
                fputc(ch, m);
        fclose(f);
        fclose(m);
        return buf;
}

static void write_script(const char *name, const char *body) {
        _cleanup_free_ char *p = path_in(name);
        FILE *f = fopen(p, "we");
        assert_non_null(f);
        fputs(body, f);
        fclose(f);
        assert_int_equal(chmod(p, 0755), 0);
}

static Config *config_for_test(const char *augenrules) {
        Config *c = NULL;

        assert_int_equal(config_new_default(&c), 0);
        free(c->rules_file);
        c->rules_file = path_in("rules.d/70-fsmon.rules");
        free(c->augenrules);
        c->augenrules = path_in(augenrules);
        return c;
}

static int setup(void **state) {
        _cleanup_free_ char *cmd = NULL;
        assert_true(asprintf(&cmd, "rm -rf %s/rules.d %s/ran && mkdir -m 0750 %s/rules.d", tmpdir, tmpdir, tmpdir) > 0);
        assert_int_equal(system(cmd), 0);
        return 0;
}

static bool augenrules_ran(void) {
        _cleanup_free_ char *p = path_in("ran");
        return access(p, F_OK) == 0;
}

static void test_loaded(void **state) {
        _cleanup_(config_freep) Config *c = config_for_test("augenrules-ok");
        _cleanup_free_ char *msg = NULL, *text = NULL, *written = NULL, *ran = NULL, *ran_path = path_in("ran");
        MockKernel m = { .enabled_before = 1, .enabled_after = 1, .check_result = 1 };
        AuditKernel k = { mock_get_enabled, mock_check_rules, &m };
        struct stat st;

        assert_int_equal(audit_rules_apply(c, &k, &msg), 0);
        assert_non_null(strstr(msg, "Loaded 4 audit rules"));
        assert_int_equal(m.n_check, 1);

        /* The file is the rendering, mode 0640; augenrules ran with --load. */
        assert_int_equal(audit_rules_render(c, &text, NULL), 0);
        written = read_text(c->rules_file);
        assert_non_null(written);
        assert_string_equal(written, text);
        assert_int_equal(stat(c->rules_file, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        ran = read_text(ran_path);
        assert_non_null(ran);
        assert_string_equal(ran, "--load\n");
}

static void test_locked(void **state) {
        _cleanup_(config_freep) Config *c = config_for_test("augenrules-ok");
        _cleanup_free_ char *msg = NULL, *written = NULL;
        MockKernel m = { .enabled_before = 2, .enabled_after = 2, .check_result = 1 };
        AuditKernel k = { mock_get_enabled, mock_check_rules, &m };

        /* A distinct error, never success; the kernel is not asked to load
         * or list anything; the file is there for the next boot. */
        assert_int_equal(audit_rules_apply(c, &k, &msg), -EROFS);
        assert_non_null(strstr(msg, "locked"));
        assert_non_null(strstr(msg, "not loaded"));
        assert_false(augenrules_ran());
        assert_int_equal(m.n_check, 0);
        written = read_text(c->rules_file);
        assert_non_null(written);
        assert_non_null(strstr(written, "-a always,exit -F arch=b64 "));
}

static void test_disabled(void **state) {
        _cleanup_(config_freep) Config *c = config_for_test("augenrules-ok");
        _cleanup_free_ char *msg = NULL;
        MockKernel m = { .enabled_before = 0, .enabled_after = 0, .check_result = 1 };
        AuditKernel k = { mock_get_enabled, mock_check_rules, &m };

        assert_int_equal(audit_rules_apply(c, &k, &msg), AUDIT_RULES_LOADED_DISABLED);
        assert_non_null(strstr(msg, "auditing is disabled"));
        assert_true(augenrules_ran());
}

static void test_missing_in_kernel(void **state) {
        _cleanup_(config_freep) Config *c = config_for_test("augenrules-ok");
        _cleanup_free_ char *msg = NULL;
        MockKernel m = { .enabled_before = 1, .enabled_after = 1, .check_result = 0, .check_found = 2 };
        AuditKernel k = { mock_get_enabled, mock_check_rules, &m };

        assert_int_equal(audit_rules_apply(c, &k, &msg), -ENOENT);
        assert_non_null(strstr(msg, "only 2 of fsmon's 4 audit rules are in the kernel"));
}

static void test_augenrules_fails(void **state) {
        _cleanup_(config_freep) Config *c = config_for_test("augenrules-fail");
        _cleanup_free_ char *msg = NULL;
        MockKernel m = { .enabled_before = 1, .enabled_after = 1, .check_result = 1 };
        AuditKernel k = { mock_get_enabled, mock_check_rules, &m };

        assert_int_equal(audit_rules_apply(c, &k, &msg), -EIO);
        assert_non_null(strstr(msg, "--load failed (exit status): line one;line two"));
        assert_int_equal(m.n_check, 0);
}

static void test_invalid_config(void **state) {
        _cleanup_(config_freep) Config *c = config_for_test("augenrules-ok");
        _cleanup_free_ char *msg = NULL;
        MockKernel m = { .enabled_before = 1, .enabled_after = 1, .check_result = 1 };
        AuditKernel k = { mock_get_enabled, mock_check_rules, &m };
        char *saved = c->auditd;

        c->auditd = (char *) "/usr/sbin/auditd\n-e 0";
        assert_int_equal(audit_rules_apply(c, &k, &msg), -EINVAL);
        c->auditd = saved;
        assert_non_null(strstr(msg, "paths.auditd"));
        /* Nothing written, nothing run, the kernel not even asked. */
        assert_int_equal(access(c->rules_file, F_OK), -1);
        assert_false(augenrules_ran());
        assert_int_equal(m.n_get, 0);
}

static void test_status_unreadable(void **state) {
        _cleanup_(config_freep) Config *c = config_for_test("augenrules-ok");
        _cleanup_free_ char *msg = NULL;
        MockKernel m = { .get_error = -EPERM };
        AuditKernel k = { mock_get_enabled, mock_check_rules, &m };

        assert_int_equal(audit_rules_apply(c, &k, &msg), -EPERM);
        assert_non_null(strstr(msg, "audit status"));
        assert_int_equal(access(c->rules_file, F_OK), -1);
        assert_false(augenrules_ran());
}

static void test_verify(void **state) {
        _cleanup_(config_freep) Config *c = config_for_test("augenrules-ok");
        MockKernel m = { .enabled_before = 1, .enabled_after = 1, .check_result = 1 };
        AuditKernel k = { mock_get_enabled, mock_check_rules, &m };
        char *msg = NULL;

        /* Only looks: nothing written, nothing run. */
        assert_int_equal(audit_rules_verify(c, &k, &msg), 0);
        assert_non_null(strstr(msg, "4 audit rules are loaded"));
        free(msg);
        assert_int_equal(access(c->rules_file, F_OK), -1);
        assert_false(augenrules_ran());

        m = (MockKernel) { .enabled_before = 1, .check_result = 0, .check_found = 1 };
        assert_int_equal(audit_rules_verify(c, &k, &msg), -ENOENT);
        assert_non_null(strstr(msg, "1 of fsmon's 4"));
        free(msg);

        /* Locked without the rules: they cannot come before a reboot. */
        m = (MockKernel) { .enabled_before = 2, .check_result = 0 };
        assert_int_equal(audit_rules_verify(c, &k, &msg), -EROFS);
        assert_non_null(strstr(msg, "locked"));
        free(msg);

        /* Locked with the rules in place: loaded. */
        m = (MockKernel) { .enabled_before = 2, .check_result = 1 };
        assert_int_equal(audit_rules_verify(c, &k, &msg), 0);
        free(msg);

        m = (MockKernel) { .enabled_before = 0, .check_result = 1 };
        assert_int_equal(audit_rules_verify(c, &k, &msg), AUDIT_RULES_LOADED_DISABLED);
        free(msg);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_loaded, setup),
                cmocka_unit_test_setup(test_locked, setup),
                cmocka_unit_test_setup(test_disabled, setup),
                cmocka_unit_test_setup(test_missing_in_kernel, setup),
                cmocka_unit_test_setup(test_augenrules_fails, setup),
                cmocka_unit_test_setup(test_invalid_config, setup),
                cmocka_unit_test_setup(test_status_unreadable, setup),
                cmocka_unit_test_setup(test_verify, setup),
        };
        char script[1024];
        _cleanup_free_ char *cmd = NULL;
        int r;

        if (!mkdtemp(tmpdir))
                return 1;
        snprintf(script, sizeof(script), "#!/bin/sh\necho \"$@\" >%s/ran\necho loaded\n", tmpdir);
        write_script("augenrules-ok", script);
        write_script("augenrules-fail", "#!/bin/sh\necho line one\necho line two >&2\nexit 3\n");

        r = cmocka_run_group_tests(tests, NULL, NULL);
        if (asprintf(&cmd, "rm -rf %s", tmpdir) > 0)
                (void) !system(cmd);
        return r;
}
