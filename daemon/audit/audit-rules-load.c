/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <libaudit.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit-kernel.h"
#include "audit/audit-rules-load.h"
#include "shared/log.h"
#include "shared/fileio.h"
#include "shared/time-util.h"

#define AUGENRULES_TIMEOUT_MSEC (120 * 1000)
#define AUGENRULES_OUTPUT_MAX (64U * 1024U)
#define RULES_FILE_MODE 0640

/* libaudit's rule builder keeps its per-rule state in these globals (auditctl
 * resets them between rules the same way); they are exported, not declared. */
extern int _audit_permadded, _audit_archadded, _audit_syscalladded, _audit_exeadded, _audit_filterfsadded;
extern unsigned int _audit_elf;

int audit_rules_write(const char *path, const char *text) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        const char *base;
        int r;

        base = strrchr(path, '/');
        if (!base || !base[1] || path[0] != '/')
                return -EINVAL;
        dir = strndup(path, base == path ? 1 : (size_t) (base - path));
        if (!dir)
                return -ENOMEM;
        base++;

        /* Through the directory, without following a link planted at the
         * file's name: fileio writes a temporary file, fsyncs, renames over
         * the name and fsyncs the directory. */
        r = fileio_open_dir_at(AT_FDCWD, dir, 0, &dir_fd);
        if (r < 0)
                return r;
        return fileio_write_atomic_at(dir_fd, base, text, strlen(text), RULES_FILE_MODE, 0);
}

static void posix_spawn_file_actions_destroyp(posix_spawn_file_actions_t **p) {
        if (*p)
                (void) posix_spawn_file_actions_destroy(*p);
}

static void posix_spawnattr_destroyp(posix_spawnattr_t **p) {
        if (*p)
                (void) posix_spawnattr_destroy(*p);
}

int audit_rules_run_augenrules(const char *augenrules, char **ret_output) {
        /* No shell and no inherited environment: augenrules and the auditctl
         * it runs get a known PATH and locale. */
        char *const argv[] = { (char *) augenrules, (char *) "--load", NULL };
        char *const envp[] = { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *) "LC_ALL=C", NULL };
        _cleanup_(posix_spawn_file_actions_destroyp) posix_spawn_file_actions_t *actions = NULL;
        _cleanup_(posix_spawnattr_destroyp) posix_spawnattr_t *attr = NULL;
        posix_spawn_file_actions_t actions_storage;
        posix_spawnattr_t attr_storage;
        _cleanup_close_ int out_r = -EBADF, out_w = -EBADF;
        _cleanup_free_ char *output = NULL;
        size_t len = 0;
        sigset_t none, all;
        uint64_t deadline;
        bool timed_out = false;
        pid_t pid;
        int fds[2], status, r;

        output = malloc(AUGENRULES_OUTPUT_MAX + 1);
        if (!output)
                return -ENOMEM;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        out_r = fds[0];
        out_w = fds[1];

        r = posix_spawn_file_actions_init(&actions_storage);
        if (r != 0)
                return -r;
        actions = &actions_storage;
        if ((r = posix_spawn_file_actions_addopen(actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)) != 0 ||
            (r = posix_spawn_file_actions_adddup2(actions, out_w, STDOUT_FILENO)) != 0 ||
            (r = posix_spawn_file_actions_adddup2(actions, out_w, STDERR_FILENO)) != 0)
                return -r;

        /* fsmond blocks the signals sd-event handles; the child must not
         * inherit that, nor our ignored SIGPIPE. */
        r = posix_spawnattr_init(&attr_storage);
        if (r != 0)
                return -r;
        attr = &attr_storage;
        sigemptyset(&none);
        sigfillset(&all);
        if ((r = posix_spawnattr_setsigmask(attr, &none)) != 0 ||
            (r = posix_spawnattr_setsigdefault(attr, &all)) != 0 ||
            (r = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) != 0)
                return -r;

        r = posix_spawn(&pid, augenrules, actions, attr, argv, envp);
        if (r != 0)
                return -r;
        out_w = safe_close(out_w);

        deadline = now_msec(CLOCK_MONOTONIC) + AUGENRULES_TIMEOUT_MSEC;
        for (;;) {
                struct pollfd p = { .fd = out_r, .events = POLLIN };
                char buf[4096];
                uint64_t n = now_msec(CLOCK_MONOTONIC);
                ssize_t k;

                if (n >= deadline) {
                        timed_out = true;
                        (void) kill(pid, SIGKILL);
                        break;
                }
                r = poll(&p, 1, (int) (deadline - n));
                if (r < 0 && errno != EINTR)
                        break;
                if (r <= 0)
                        continue;
                k = read(out_r, buf, sizeof(buf));
                if (k < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        break;
                }
                if (k == 0)
                        break;
                /* Keep the beginning; the rest would only repeat it. */
                if (len < AUGENRULES_OUTPUT_MAX) {
                        size_t m = MIN((size_t) k, AUGENRULES_OUTPUT_MAX - len);
                        memcpy(output + len, buf, m);
                        len += m;
                }
        }

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;

        /* One line, so that the caller can quote it in one log message. */
        while (len > 0 && (output[len - 1] == '\n' || output[len - 1] == ' '))
                len--;
        output[len] = 0;
        for (size_t i = 0; i < len; i++)
                if (output[i] == '\n')
                        output[i] = ';';
                else if ((unsigned char) output[i] < 0x20 || output[i] == 0x7f)
                        output[i] = ' ';
        if (ret_output)
                *ret_output = TAKE_PTR(output);

        if (timed_out)
                return -ETIMEDOUT;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -EIO;
        return 0;
}

int audit_kernel_get_enabled(void *userdata, uint32_t *ret_enabled) {
        AuditKernelStatus st;
        int r;

        r = audit_kernel_status(&st);
        if (r < 0)
                return r;
        *ret_enabled = st.enabled;
        return 0;
}

static void audit_rule_free_datap(struct audit_rule_data **d) {
        if (*d)
                audit_rule_free_data(*d);
}

/* The rule as auditctl would send it: built with libaudit's own parser from
 * the same option values the rules file holds. */
static int rule_to_data(const AuditRule *rule, struct audit_rule_data **ret) {
        _cleanup_(audit_rule_free_datap) struct audit_rule_data *d = NULL;
        char pair[1100];

        _audit_elf = 0;
        _audit_permadded = _audit_archadded = _audit_syscalladded = 0;
        _audit_exeadded = _audit_filterfsadded = 0;

        d = audit_rule_create_data();
        if (!d)
                return -ENOMEM;
        (void) snprintf(pair, sizeof(pair), "arch=%s", rule->arch);
        if (audit_rule_fieldpair_data(&d, pair, AUDIT_FILTER_EXIT) != 0)
                return -EINVAL;
        for (size_t i = 0; i < rule->n_syscalls; i++)
                if (audit_rule_syscallbyname_data(d, rule->syscalls[i]) != 0)
                        return -EINVAL;
        _audit_syscalladded = 1;
        for (size_t i = 0; i < rule->n_fields; i++) {
                if (strlen(rule->fields[i]) >= sizeof(pair))
                        return -EINVAL;
                strcpy(pair, rule->fields[i]);
                if (audit_rule_fieldpair_data(&d, pair, AUDIT_FILTER_EXIT) != 0)
                        return -EINVAL;
        }
        (void) snprintf(pair, sizeof(pair), "key=%s", AUDIT_RULES_KEY);
        if (audit_rule_fieldpair_data(&d, pair, AUDIT_FILTER_EXIT) != 0)
                return -EINVAL;
        d->flags = AUDIT_FILTER_EXIT;
        d->action = rule->never ? AUDIT_NEVER : AUDIT_ALWAYS;

        *ret = TAKE_PTR(d);
        return 0;
}

static bool rule_data_equal(const struct audit_rule_data *a, const struct audit_rule_data *b) {
        if (a->flags != b->flags || a->action != b->action || a->field_count != b->field_count ||
            a->buflen != b->buflen || a->field_count > AUDIT_MAX_FIELDS)
                return false;
        if (memcmp(a->mask, b->mask, sizeof(a->mask)) != 0)
                return false;
        for (uint32_t i = 0; i < a->field_count; i++)
                if (a->fields[i] != b->fields[i] || a->values[i] != b->values[i] ||
                    a->fieldflags[i] != b->fieldflags[i])
                        return false;
        return memcmp(a->buf, b->buf, a->buflen) == 0;
}

int audit_kernel_check_rules(void *userdata, const AuditRules *r, size_t *ret_found) {
        _cleanup_(audit_kernel_closep) int fd = -EBADF;
        struct audit_rule_data **expected;
        bool *found;
        size_t n_found = 0;
        int k;

        expected = calloc(r->n_rules ?: 1, sizeof(*expected));
        found = calloc(r->n_rules ?: 1, sizeof(bool));
        if (!expected || !found) {
                k = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; i < r->n_rules; i++) {
                k = rule_to_data(&r->rules[i], &expected[i]);
                if (k < 0)
                        goto finish;
        }

        fd = audit_kernel_open();
        if (fd < 0) {
                k = fd;
                goto finish;
        }
        k = audit_request_rules_list_data(fd);
        if (k <= 0) {
                k = k < 0 ? k : -EIO;
                goto finish;
        }
        for (;;) {
                struct audit_reply rep;

                k = audit_get_reply(fd, &rep, GET_REPLY_BLOCKING, 0);
                if (k <= 0) {
                        k = k < 0 ? k : -EIO;
                        goto finish;
                }
                if (rep.type == NLMSG_DONE)
                        break;
                if (rep.type == NLMSG_ERROR) {
                        if (rep.error->error != 0) {
                                k = rep.error->error;
                                goto finish;
                        }
                        continue;
                }
                if (rep.type != AUDIT_LIST_RULES)
                        continue;
                if ((size_t) rep.len < sizeof(struct audit_rule_data) ||
                    (size_t) rep.len < sizeof(struct audit_rule_data) + rep.ruledata->buflen)
                        continue;
                for (size_t i = 0; i < r->n_rules; i++)
                        if (!found[i] && rule_data_equal(expected[i], rep.ruledata)) {
                                found[i] = true;
                                n_found++;
                                break;
                        }
        }

        if (ret_found)
                *ret_found = n_found;
        k = n_found == r->n_rules;

finish:
        if (expected)
                for (size_t i = 0; i < r->n_rules; i++)
                        if (expected[i])
                                audit_rule_free_data(expected[i]);
        free(expected);
        free(found);
        return k;
}

_printf_(2, 3)
static void set_message(char **ret_message, const char *fmt, ...) {
        va_list ap;

        if (!ret_message)
                return;
        free(*ret_message);
        va_start(ap, fmt);
        if (vasprintf(ret_message, fmt, ap) < 0)
                *ret_message = NULL;
        va_end(ap);
}

int audit_kernel_raise_backlog(void *userdata, uint32_t limit, uint32_t wait_time) {
        _cleanup_(audit_kernel_closep) int fd = -EBADF;
        AuditKernelStatus st;
        int r;

        fd = audit_kernel_open();
        if (fd < 0)
                return fd;
        r = audit_kernel_status_fd(fd, &st);
        if (r < 0)
                return r;
        /* Both are tried; the last failure is returned. */
        if (st.backlog_limit < limit && audit_set_backlog_limit(fd, limit) < 0)
                r = -errno ?: -EIO;
        if (st.backlog_wait_time < wait_time && audit_set_backlog_wait_time(fd, wait_time) < 0)
                r = -errno ?: -EIO;
        return r;
}

static const AuditKernel audit_kernel_real = {
        .get_enabled = audit_kernel_get_enabled,
        .check_rules = audit_kernel_check_rules,
        .raise_backlog = audit_kernel_raise_backlog,
};

int audit_rules_verify(const Config *c, const AuditKernel *kernel, char **ret_message) {
        _cleanup_(audit_rules_freep) AuditRules *rules = NULL;
        _cleanup_free_ char *error = NULL;
        uint32_t enabled;
        size_t found = 0;
        int r;

        if (ret_message)
                *ret_message = NULL;
        if (!kernel)
                kernel = &audit_kernel_real;

        r = audit_rules_build(c, &rules, &error);
        if (r < 0) {
                set_message(ret_message, "Invalid audit rules: %s", error ?: strerror(-r));
                return r == -ENOMEM ? r : -EINVAL;
        }
        r = kernel->get_enabled(kernel->userdata, &enabled);
        if (r < 0) {
                set_message(ret_message, "Cannot read the kernel's audit status: %s", strerror(-r));
                return r;
        }
        r = kernel->check_rules(kernel->userdata, rules, &found);
        if (r < 0) {
                set_message(ret_message, "Cannot list the kernel's audit rules: %s", strerror(-r));
                return r;
        }
        if (r == 0) {
                set_message(ret_message, "%zu of fsmon's %zu audit rules are in the kernel%s", found,
                            rules->n_rules, enabled == 2 ? "; the audit config is locked (-e 2) until reboot" : "");
                return enabled == 2 ? -EROFS : -ENOENT;
        }
        if (enabled == 0) {
                set_message(ret_message, "fsmon's %zu audit rules are loaded, but auditing is disabled (auditctl -e 0)",
                            rules->n_rules);
                return AUDIT_RULES_LOADED_DISABLED;
        }
        set_message(ret_message, "fsmon's %zu audit rules are loaded", rules->n_rules);
        return 0;
}

int audit_rules_apply(const Config *c, const AuditKernel *kernel, char **ret_message) {
        _cleanup_(audit_rules_freep) AuditRules *rules = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL, *output = NULL;
        uint32_t enabled;
        size_t found = 0;
        int r;

        if (ret_message)
                *ret_message = NULL;
        if (!kernel)
                kernel = &audit_kernel_real;

        /* Everything is checked before anything is written. */
        r = audit_rules_build(c, &rules, &error);
        if (r < 0) {
                set_message(ret_message, "Audit rules not written: %s", error ?: strerror(-r));
                return r == -ENOMEM ? r : -EINVAL;
        }
        r = audit_rules_format(rules, &text);
        if (r < 0) {
                set_message(ret_message, "Audit rules not written: rendering failed its own check");
                return r == -ENOMEM ? r : -EINVAL;
        }

        r = kernel->get_enabled(kernel->userdata, &enabled);
        if (r < 0) {
                set_message(ret_message, "Cannot read the kernel's audit status: %s", strerror(-r));
                return r;
        }

        r = audit_rules_write(c->rules_file, text);
        if (r < 0) {
                set_message(ret_message, "Failed to write %s: %s", c->rules_file, strerror(-r));
                return r;
        }

        /* Locked until reboot: loading would fail half-way, and whatever is
         * in the kernel now stays. The file is right for the next boot. */
        if (enabled == 2) {
                set_message(ret_message,
                            "Audit configuration is locked (auditctl -e 2): rules written to %s "
                            "for the next boot, not loaded", c->rules_file);
                return -EROFS;
        }

        r = audit_rules_run_augenrules(c->augenrules, &output);
        if (r < 0) {
                set_message(ret_message, "%s --load failed (%s): %s", c->augenrules,
                            r == -ETIMEDOUT ? "timed out" : r == -EIO ? "exit status" : strerror(-r),
                            output && *output ? output : "(no output)");
                return r == -ETIMEDOUT ? -EIO : r;
        }

        r = kernel->check_rules(kernel->userdata, rules, &found);
        if (r < 0) {
                set_message(ret_message, "Cannot list the kernel's audit rules: %s", strerror(-r));
                return r;
        }
        if (r == 0) {
                set_message(ret_message,
                            "%s --load ran, but only %zu of fsmon's %zu audit rules are in the kernel "
                            "(augenrules: %s)", c->augenrules, found, rules->n_rules,
                            output && *output ? output : "no output");
                return -ENOENT;
        }

        if (kernel->raise_backlog) {
                r = kernel->raise_backlog(kernel->userdata, rules->backlog_limit, rules->backlog_wait_time);
                if (r < 0)
                        log_debug_errno(r, "Cannot raise the kernel's audit backlog settings, ignoring: %m");
        }

        /* Another rules file may have locked or disabled auditing meanwhile. */
        r = kernel->get_enabled(kernel->userdata, &enabled);
        if (r < 0)
                enabled = 1;
        if (enabled == 0) {
                set_message(ret_message,
                            "Loaded %zu audit rules from %s, but auditing is disabled (auditctl -e 0): "
                            "nothing is recorded", rules->n_rules, c->rules_file);
                return AUDIT_RULES_LOADED_DISABLED;
        }
        set_message(ret_message, "Loaded %zu audit rules from %s", rules->n_rules, c->rules_file);
        return 0;
}
