/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of daemon/core/config.c: good configs give the values written in
 * them, bad ones are refused with the file, the line and the problem. */
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

#include "core/config.h"

static char tmpdir[] = "/tmp/fsmon-test-config.XXXXXX";
static const char *shipped_config_path;

static void write_file(const char *name, const char *text, size_t len) {
        char path[512];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, len), (ssize_t) len);
        close(fd);
}

static char *main_path(void) {
        static char p[512];
        snprintf(p, sizeof(p), "%s/fsmon.conf", tmpdir);
        return p;
}

static int setup(void **state) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf %s/fsmon.conf %s/fsmon.conf.d", tmpdir, tmpdir);
        assert_int_equal(system(cmd), 0);
        return 0;
}

/* Parses text as a whole file; returns the error message (or NULL). */
static char *parse_error(const char *text, size_t len) {
        _cleanup_(config_freep) Config *c = NULL;
        char *error = NULL;
        int r;

        assert_int_equal(config_new_default(&c), 0);
        r = config_parse_string(c, "test.conf", text, len, &error);
        if (r == 0) {
                assert_null(error);
                return NULL;
        }
        assert_int_equal(r, -EINVAL);
        assert_non_null(error);
        return error;
}

static void assert_refused(const char *text, const char *expected) {
        _cleanup_free_ char *e = parse_error(text, strlen(text));
        if (!e || !strstr(e, expected))
                fail_msg("config \"%s\": got error \"%s\", expected \"%s\"", text, e ?: "(none)", expected);
}

static void test_defaults(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        char *error = NULL;

        /* No file at all: the built-in defaults. */
        assert_int_equal(config_load(main_path(), &c, &error), 0);
        assert_null(error);
        assert_int_equal(c->n_uid_ranges, 1);
        assert_int_equal(c->uid_ranges[0].first, 1000);
        assert_int_equal(c->uid_ranges[0].last, 4294967294U);
        assert_true(config_records(c, ACTION_OPEN));
        assert_true(config_records(c, ACTION_PREAD));
        assert_true(config_records(c, ACTION_FORK));
        assert_false(config_records(c, ACTION_GAP));
        assert_string_equal(c->state_dir, "/var/lib/fsmon");
        assert_string_equal(c->rules_file, "/etc/audit/rules.d/70-fsmon.rules");
        assert_string_equal(c->augenrules, "/usr/sbin/augenrules");
        assert_string_equal(c->audit_log_dir, "/var/log/audit");
        assert_string_equal(c->auditd, "/usr/sbin/auditd");
        assert_null(c->upload_host);
        assert_int_equal(c->upload_port, 22);
        assert_int_equal(c->full_policy, SPOOL_FULL_DROP_OLDEST);
        assert_int_equal(c->backlog_limit, 16384);
        assert_int_equal(c->backlog_wait_time, 60000);
        assert_true(config_path_is_monitored(c, "/home/alice/notes.txt"));
        assert_false(config_path_is_monitored(c, "/proc/self/status"));
        assert_false(config_path_is_monitored(c, "/dev/null"));
        assert_true(config_path_is_monitored(c, "/devices"));
}

static const char full_config[] =
        "# every key, with values other than the defaults\n"
        "[monitor]\n"
        "users = 2000-2999 5000 1500-1999 ; merged with the first\n"
        "include = /home \"/srv/with space\"\n"
        "    /srv/x\"y\n"
        "exclude = /home/alice/.cache\n"
        "actions = open read write close\n"
        "[spool]\n"
        "segment_max_bytes = 8M\n"
        "segment_max_age = 10min\n"
        "max_bytes = 2G\n"
        "full_policy = stop\n"
        "fsync = always\n"
        "fsync_interval = 250ms\n"
        "[upload]\n"
        "host = collect.example.org\n"
        "port = 2222\n"
        "user = fsmon-upload\n"
        "remote_dir = incoming/fsmon\n"
        "known_hosts = /etc/fsmon/collect.known_hosts\n"
        "[paths]\n"
        "state_dir = /tmp/state\n"
        "rules_file = /tmp/rules.d/70-fsmon.rules\n"
        "augenrules = /usr/local/sbin/augenrules\n"
        "audit_log_dir = /tmp/log\n"
        "auditd = /sbin/auditd\n"
        "fsmond = /usr/libexec/fsmond\n"
        "[kernel]\n"
        "backlog_limit = 100000\n"
        "backlog_wait_time = 0\n"
        "exclude_unmonitored_sessions = yes\n";

static void test_full(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        char *error = NULL;

        write_file("fsmon.conf", full_config, strlen(full_config));
        assert_int_equal(config_load(main_path(), &c, &error), 0);

        /* 1500-1999 and 2000-2999 are adjacent: one range. */
        assert_int_equal(c->n_uid_ranges, 2);
        assert_int_equal(c->uid_ranges[0].first, 1500);
        assert_int_equal(c->uid_ranges[0].last, 2999);
        assert_int_equal(c->uid_ranges[1].first, 5000);
        assert_int_equal(c->uid_ranges[1].last, 5000);
        /* Quotes inside a word are not special; a quoted word keeps spaces;
         * an indented line continues the list. */
        assert_int_equal(c->n_include, 3);
        assert_string_equal(c->include[0], "/home");
        assert_string_equal(c->include[1], "/srv/with space");
        assert_string_equal(c->include[2], "/srv/x\"y");
        assert_int_equal(c->n_exclude, 1);
        assert_true(config_path_is_monitored(c, "/home/bob/x"));
        assert_false(config_path_is_monitored(c, "/home/alice/.cache/y"));
        assert_true(config_path_is_monitored(c, "/home/alice/.cachet"));
        assert_false(config_path_is_monitored(c, "/etc/passwd"));
        assert_true(config_path_is_monitored(c, "/srv/with space/z"));

        assert_true(config_records(c, ACTION_OPEN));
        assert_true(config_records(c, ACTION_CLOSE));
        assert_false(config_records(c, ACTION_LSEEK));
        assert_false(config_records(c, ACTION_PREAD));

        assert_int_equal(c->segment_max_bytes, 8 << 20);
        assert_int_equal(c->segment_max_age_usec, UINT64_C(600000000));
        assert_int_equal(c->spool_max_bytes, UINT64_C(2) << 30);
        assert_int_equal(c->full_policy, SPOOL_FULL_STOP);
        assert_int_equal(c->fsync_policy, SPOOL_FSYNC_ALWAYS);
        assert_int_equal(c->fsync_interval_usec, 250000);
        assert_string_equal(c->upload_host, "collect.example.org");
        assert_int_equal(c->upload_port, 2222);
        assert_string_equal(c->upload_user, "fsmon-upload");
        assert_string_equal(c->upload_remote_dir, "incoming/fsmon");
        assert_string_equal(c->upload_known_hosts, "/etc/fsmon/collect.known_hosts");
        assert_string_equal(c->state_dir, "/tmp/state");
        assert_string_equal(c->rules_file, "/tmp/rules.d/70-fsmon.rules");
        assert_string_equal(c->augenrules, "/usr/local/sbin/augenrules");
        assert_string_equal(c->audit_log_dir, "/tmp/log");
        assert_string_equal(c->auditd, "/sbin/auditd");
        assert_string_equal(c->fsmond, "/usr/libexec/fsmond");
        assert_int_equal(c->backlog_limit, 100000);
        assert_int_equal(c->backlog_wait_time, 0);
        assert_true(c->exclude_unmonitored_sessions);
}

static void test_dropins(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        char dir[512], *error = NULL;
        static const char base[] = "[monitor]\nusers = 1000-\nexclude = /a /b\n[kernel]\nbacklog_limit = 100\n";

        write_file("fsmon.conf", base, strlen(base));
        snprintf(dir, sizeof(dir), "%s/fsmon.conf.d", tmpdir);
        assert_int_equal(mkdir(dir, 0755), 0);
        /* Lexical order: 10 before 20 before 9; later wins. */
        write_file("fsmon.conf.d/20-b.conf", "[kernel]\nbacklog_limit = 300\n", 29);
        write_file("fsmon.conf.d/10-a.conf", "[kernel]\nbacklog_limit = 200\n[monitor]\nexclude =\n", 49);
        write_file("fsmon.conf.d/9-c.conf", "[monitor]\nusers = 4242\n", 23);
        /* Not *.conf, or hidden: ignored, though invalid. */
        write_file("fsmon.conf.d/30-x.conf.bak", "garbage\n", 8);
        write_file("fsmon.conf.d/.40-y.conf", "garbage\n", 8);

        assert_int_equal(config_load(main_path(), &c, &error), 0);
        assert_null(error);
        assert_int_equal(c->backlog_limit, 300);
        assert_int_equal(c->n_exclude, 0);
        assert_int_equal(c->n_uid_ranges, 1);
        assert_int_equal(c->uid_ranges[0].first, 4242);
        assert_int_equal(c->uid_ranges[0].last, 4242);

        /* An error in a drop-in names the drop-in and its line. */
        c = config_free(c);
        write_file("fsmon.conf.d/50-bad.conf", "[kernel]\n\nbacklog_wait_time = 60001\n", 36);
        assert_int_equal(config_load(main_path(), &c, &error), -EINVAL);
        assert_null(c);
        assert_non_null(error);
        assert_non_null(strstr(error, "fsmon.conf.d/50-bad.conf:3: kernel.backlog_wait_time"));
        free(error);
}

static void test_empty_dropin_dir(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        char dir[512], *error = NULL;

        snprintf(dir, sizeof(dir), "%s/fsmon.conf.d", tmpdir);
        assert_int_equal(mkdir(dir, 0755), 0);
        assert_int_equal(config_load(main_path(), &c, &error), 0);
        assert_null(error);
        assert_int_equal(c->backlog_limit, 16384);
}

static void test_bad(void **state) {
        assert_refused("[monitor]\nusers = 999-100\n", "test.conf:2: monitor.users: login uid range ends before it starts");
        assert_refused("[monitor]\nusers = 4294967295\n", "test.conf:2: monitor.users");
        assert_refused("[monitor]\nusers = root\n", "test.conf:2: monitor.users");
        assert_refused("[monitor]\nusers =\n", "at least one login uid range");
        assert_refused("[monitor]\nusers = 1 3 5 7 9 11 13 15 17\n", "too many login uid ranges");
        assert_refused("[monitor]\nactions = read chmod\n", "test.conf:2: monitor.actions: unknown action");
        assert_refused("[monitor]\nactions = gap\n", "unknown action");
        assert_refused("[monitor]\ninclude = home\n", "expected absolute, normalised paths");
        assert_refused("[monitor]\nexclude = /home/../etc\n", "expected absolute, normalised paths");
        assert_refused("[monitor]\nexclude = /home//x\n", "expected absolute, normalised paths");
        assert_refused("[monitor]\nexclude = /home/\n", "expected absolute, normalised paths");
        assert_refused("[monitor]\nexclude = \"/home\n", "unterminated quote");
        assert_refused("[spool]\nmax_bytes = 12X\n", "test.conf:2: spool.max_bytes");
        assert_refused("[spool]\nmax_bytes = 99999999999999999999\n", "spool.max_bytes");
        /* Overflow through the unit: 2^24 T is 2^64 bytes; 10^12 d is past 2^64 us. */
        assert_refused("[spool]\nmax_bytes = 16777216T\n", "spool.max_bytes");
        assert_refused("[spool]\nsegment_max_age = 1000000000000d\n", "spool.segment_max_age");
        assert_refused("[spool]\nsegment_max_age = 10 min\n", "spool.segment_max_age");
        assert_refused("[spool]\nfull_policy = drop-newest\n", "expected drop-oldest or stop");
        assert_refused("[spool]\nfsync = sometimes\n", "expected always, interval or close");
        assert_refused("[spool]\nsegment_max_age = -1\n", "spool.segment_max_age");
        assert_refused("[upload]\nport = 0\n", "upload.port");
        assert_refused("[upload]\nport = 65536\n", "upload.port");
        assert_refused("[upload]\nhost = -oProxyCommand=x\n", "upload.host");
        assert_refused("[upload]\nuser = a b\n", "upload.user");
        assert_refused("[paths]\nstate_dir = relative\n", "test.conf:2: paths.state_dir");
        assert_refused("[paths]\nrules_file = /etc/audit/rules.d/70-fsmon.conf\n", "named *.rules");
        assert_refused("[kernel]\nbacklog_limit = 0\n", "kernel.backlog_limit");
        assert_refused("[kernel]\nbacklog_wait_time = 60001\n", "kernel.backlog_wait_time");
        assert_refused("[kernel]\nbacklog_wait_time = 10 # no\n", "kernel.backlog_wait_time");
        assert_refused("[kernel]\nexclude_unmonitored_sessions = maybe\n",
                       "kernel.exclude_unmonitored_sessions: expected yes or no");
        assert_refused("[kernel]\nbacklog_limit = 100\n  200\n", "test.conf:3: kernel.backlog_limit: continuation line");
        /* Typos must not pass silently. */
        assert_refused("[monitor]\nexlude = /x\n", "test.conf:2: unknown key 'exlude' in [monitor]");
        assert_refused("[monitr]\nusers = 1000-\n", "unknown section [monitr]");
        assert_refused("[monitor]\n\nusers\n", "test.conf:3: syntax error");
        assert_refused("[monitor\n", "test.conf:1: syntax error");
        /* The first error is the one reported. */
        assert_refused("[monitor]\nusers = x\nfoo\n", "test.conf:2:");
        assert_refused("[monitor]\nfoo\nusers = x\n", "test.conf:2: syntax error");
}

/* Values that would end up in an audit rule and could add one of their own. */
static void test_injection(void **state) {
        _cleanup_free_ char *long_line = NULL, *e = NULL;
        static const char nul[] = "[paths]\nfsmond = /usr/sbin/fsmond\0\n-D\n";
        size_t n = 7000;

        assert_refused("[paths]\nfsmond = /usr/sbin/fsmond -F auid=0\n", "test.conf:2: paths.fsmond");
        assert_refused("[paths]\nauditd = -D\n", "test.conf:2: paths.auditd");
        assert_refused("[paths]\nauditd = /sbin/auditd\t-e 0\n", "paths.auditd");
        assert_refused("[paths]\nauditd = /sbin/auditd\r-e 0\n", "control character");
        assert_refused("[paths]\nfsmond = /usr/sbin/../../tmp/x\n", "paths.fsmond");
        /* A newline ends the value; what follows is a line of its own and
         * not a key. */
        assert_refused("[paths]\nfsmond = /usr/sbin/fsmond\n-e 0\n", "test.conf:3: syntax error");
        assert_refused("[paths]\nfsmond = /usr/sbin/fsmond\n-D -k x = 1\n", "test.conf:3: unknown key");

        e = parse_error(nul, sizeof(nul) - 1);
        assert_non_null(e);
        assert_non_null(strstr(e, "test.conf:2: NUL byte"));
        free(e);
        e = NULL;

        /* 7000 bytes of path: refused as a whole, not cut into pieces that
         * would be read as lines of their own. */
        long_line = malloc(n + 64);
        assert_non_null(long_line);
        strcpy(long_line, "[paths]\nfsmond = /");
        for (size_t i = strlen(long_line); i < n; i++)
                long_line[i] = i % 100 == 0 ? '/' : 'a';
        strcpy(long_line + n, "\n[kernel]\nbacklog_limit = 5\n");
        e = parse_error(long_line, strlen(long_line));
        assert_non_null(e);
        assert_non_null(strstr(e, "test.conf:2: line longer than"));
}

static void test_unreadable(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        char *error = NULL, dir[512];

        /* A directory where the file should be. */
        snprintf(dir, sizeof(dir), "%s/fsmon.conf", tmpdir);
        assert_int_equal(mkdir(dir, 0755), 0);
        assert_int_equal(config_load(main_path(), &c, &error), -EINVAL);
        assert_non_null(error);
        assert_non_null(strstr(error, "fsmon.conf: cannot read"));
        free(error);
        rmdir(dir);
}

static void test_check(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        char *error = NULL;
        static const char both[] = "[monitor]\ninclude = /home\nexclude = /home\n";
        static const char upload[] = "[upload]\nhost = example.org\n";

        write_file("fsmon.conf", both, strlen(both));
        assert_int_equal(config_load(main_path(), &c, &error), -EINVAL);
        assert_non_null(strstr(error, "both included and excluded"));
        free(error);

        write_file("fsmon.conf", upload, strlen(upload));
        assert_int_equal(config_load(main_path(), &c, &error), -EINVAL);
        assert_non_null(strstr(error, "needs user and remote_dir"));
        free(error);
}

/* The installed config/fsmon.conf documents the defaults as commented-out
 * assignments: as is, it must parse; uncommented, it must change nothing. */
static void test_shipped_config(void **state) {
        _cleanup_(config_freep) Config *shipped = NULL, *uncommented = NULL, *d = NULL;
        _cleanup_free_ char *text = NULL;
        char *error = NULL, line[512];
        size_t size = 0, n_uncommented = 0;
        FILE *in, *out;

        if (!shipped_config_path)
                skip();
        assert_int_equal(config_load(shipped_config_path, &shipped, &error), 0);
        assert_int_equal(config_new_default(&d), 0);

        in = fopen(shipped_config_path, "re");
        assert_non_null(in);
        out = open_memstream(&text, &size);
        assert_non_null(out);
        while (fgets(line, sizeof(line), in)) {
                size_t k = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz_");
                if (line[0] == '#' && k > 0 && strncmp(line + 1 + k, " =", 2) == 0) {
                        fputs(line + 1, out);
                        n_uncommented++;
                } else
                        fputs(line, out);
        }
        fclose(in);
        fclose(out);
        /* Every key of every section is shown. */
        assert_int_equal(n_uncommented, 24);
        write_file("fsmon.conf", text, strlen(text));
        assert_int_equal(config_load(main_path(), &uncommented, &error), 0);

        for (const Config *c = shipped; c; c = c == shipped ? uncommented : NULL) {
                assert_int_equal(c->n_uid_ranges, d->n_uid_ranges);
                assert_memory_equal(c->uid_ranges, d->uid_ranges, d->n_uid_ranges * sizeof(UidRange));
                assert_int_equal(c->n_include, d->n_include);
                for (size_t i = 0; i < d->n_include; i++)
                        assert_string_equal(c->include[i], d->include[i]);
                assert_int_equal(c->n_exclude, d->n_exclude);
                for (size_t i = 0; i < d->n_exclude; i++)
                        assert_string_equal(c->exclude[i], d->exclude[i]);
                assert_int_equal(c->actions, d->actions);
                assert_int_equal(c->segment_max_bytes, d->segment_max_bytes);
                assert_int_equal(c->segment_max_age_usec, d->segment_max_age_usec);
                assert_int_equal(c->spool_max_bytes, d->spool_max_bytes);
                assert_int_equal(c->full_policy, d->full_policy);
                assert_int_equal(c->fsync_policy, d->fsync_policy);
                assert_int_equal(c->fsync_interval_usec, d->fsync_interval_usec);
                assert_null(c->upload_host);
                assert_null(c->upload_user);
                assert_null(c->upload_remote_dir);
                assert_int_equal(c->upload_port, d->upload_port);
                assert_string_equal(c->upload_known_hosts, d->upload_known_hosts);
                assert_string_equal(c->state_dir, d->state_dir);
                assert_string_equal(c->rules_file, d->rules_file);
                assert_string_equal(c->augenrules, d->augenrules);
                assert_string_equal(c->audit_log_dir, d->audit_log_dir);
                assert_string_equal(c->auditd, d->auditd);
                assert_string_equal(c->fsmond, d->fsmond);
                assert_int_equal(c->backlog_limit, d->backlog_limit);
                assert_int_equal(c->backlog_wait_time, d->backlog_wait_time);
                assert_int_equal(c->exclude_unmonitored_sessions, d->exclude_unmonitored_sessions);
        }
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_defaults, setup),
                cmocka_unit_test_setup(test_full, setup),
                cmocka_unit_test_setup(test_dropins, setup),
                cmocka_unit_test_setup(test_empty_dropin_dir, setup),
                cmocka_unit_test_setup(test_bad, setup),
                cmocka_unit_test_setup(test_injection, setup),
                cmocka_unit_test_setup(test_unreadable, setup),
                cmocka_unit_test_setup(test_check, setup),
                cmocka_unit_test_setup(test_shipped_config, setup),
        };
        char cmd[600];
        int r;

        if (argc > 1)
                shipped_config_path = argv[1];
        if (!mkdtemp(tmpdir))
                return 1;
        r = cmocka_run_group_tests(tests, NULL, NULL);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
        (void) !system(cmd);
        return r;
}
