/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
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
        /* First a status request: it needs the same capability as the list
         * and passes the kernel's refusal on (-EPERM). Without it, libaudit's
         * rule conversion below asks the kernel itself and, refused, says
         * only -EINVAL. */
        fd = audit_kernel_open();
        if (fd < 0) {
                k = fd;
                goto finish;
        }
        k = audit_kernel_status_fd(fd, &(AuditKernelStatus) {});
        if (k < 0)
                goto finish;
        for (size_t i = 0; i < r->n_rules; i++) {
                k = rule_to_data(&r->rules[i], &expected[i]);
                if (k < 0)
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

void audit_rule_list_done(AuditRuleList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->rules[i]);
        free(l->rules);
        *l = (AuditRuleList) {};
}

int audit_kernel_list_rules(void *userdata, AuditRuleList *ret) {
        _cleanup_(audit_kernel_closep) int fd = -EBADF;
        AuditRuleList l = {};
        size_t a = 0;
        int k;

        fd = audit_kernel_open();
        if (fd < 0)
                return fd;
        k = audit_request_rules_list_data(fd);
        if (k <= 0)
                return k < 0 ? k : -EIO;
        for (;;) {
                struct audit_reply rep;
                size_t size;

                k = audit_get_reply(fd, &rep, GET_REPLY_BLOCKING, 0);
                if (k <= 0) {
                        k = k < 0 ? k : -EIO;
                        break;
                }
                if (rep.type == NLMSG_DONE) {
                        *ret = l;
                        return 0;
                }
                if (rep.type == NLMSG_ERROR) {
                        if (rep.error->error != 0) {
                                k = rep.error->error;
                                break;
                        }
                        continue;
                }
                if (rep.type != AUDIT_LIST_RULES || (size_t) rep.len < sizeof(struct audit_rule_data) ||
                    (size_t) rep.len < sizeof(struct audit_rule_data) + rep.ruledata->buflen)
                        continue;
                if (l.n == a) {
                        struct audit_rule_data **v;
                        a = MAX(a * 2, (size_t) 16);
                        v = reallocarray(l.rules, a, sizeof(*v));
                        if (!v) {
                                k = -ENOMEM;
                                break;
                        }
                        l.rules = v;
                }
                size = sizeof(struct audit_rule_data) + rep.ruledata->buflen;
                l.rules[l.n] = malloc(size);
                if (!l.rules[l.n]) {
                        k = -ENOMEM;
                        break;
                }
                memcpy(l.rules[l.n++], rep.ruledata, size);
        }
        audit_rule_list_done(&l);
        return k;
}

/* Fields whose value is a string in buf (of length values[i]), in order. */
static bool field_is_string(uint32_t f) {
        switch (f) {
        case AUDIT_SUBJ_USER: case AUDIT_SUBJ_ROLE: case AUDIT_SUBJ_TYPE: case AUDIT_SUBJ_SEN:
        case AUDIT_SUBJ_CLR: case AUDIT_OBJ_USER: case AUDIT_OBJ_ROLE: case AUDIT_OBJ_TYPE:
        case AUDIT_OBJ_LEV_LOW: case AUDIT_OBJ_LEV_HIGH: case AUDIT_WATCH: case AUDIT_DIR:
        case AUDIT_FILTERKEY: case AUDIT_EXE:
                return true;
        default:
                return false;
        }
}

const char *audit_rule_data_key(const struct audit_rule_data *d, size_t *ret_len) {
        size_t off = 0;

        for (uint32_t i = 0; i < d->field_count && i < AUDIT_MAX_FIELDS; i++) {
                uint32_t f = d->fields[i] & ~AUDIT_OPERATORS;

                if (!field_is_string(f))
                        continue;
                if (off + d->values[i] > d->buflen)
                        return NULL;
                if (f == AUDIT_FILTERKEY) {
                        *ret_len = d->values[i];
                        return d->buf + off;
                }
                off += d->values[i];
        }
        return NULL;
}

static bool rule_is_fsmon(const struct audit_rule_data *d) {
        size_t n = 0;
        const char *k = audit_rule_data_key(d, &n);
        /* Several keys are joined with \001 (-k a -k b). */
        return k && n >= strlen(AUDIT_RULES_KEY) && strncmp(k, AUDIT_RULES_KEY, strlen(AUDIT_RULES_KEY)) == 0 &&
               (n == strlen(AUDIT_RULES_KEY) || k[strlen(AUDIT_RULES_KEY)] == '\001');
}

int audit_kernel_delete_fsmon_rules(void *userdata) {
        _cleanup_(audit_rule_list_done) AuditRuleList l = {};
        _cleanup_(audit_kernel_closep) int fd = -EBADF;
        int r, n = 0;

        r = audit_kernel_list_rules(userdata, &l);
        if (r < 0)
                return r;
        fd = audit_kernel_open();
        if (fd < 0)
                return fd;
        for (size_t i = 0; i < l.n; i++) {
                if (!rule_is_fsmon(l.rules[i]))
                        continue;
                if (audit_delete_rule_data(fd, l.rules[i], l.rules[i]->flags, l.rules[i]->action) <= 0)
                        return -errno ?: -EIO;
                n++;
        }
        return n;
}

int audit_kernel_get_backlog(void *userdata, uint32_t *ret_limit, uint32_t *ret_wait_time) {
        AuditKernelStatus st;
        int r;

        r = audit_kernel_status(&st);
        if (r < 0)
                return r;
        *ret_limit = st.backlog_limit;
        *ret_wait_time = st.backlog_wait_time;
        return 0;
}

int audit_kernel_set_backlog(void *userdata, uint32_t limit, uint32_t wait_time) {
        _cleanup_(audit_kernel_closep) int fd = -EBADF;
        int r = 0;

        fd = audit_kernel_open();
        if (fd < 0)
                return fd;
        if (audit_set_backlog_limit(fd, limit) < 0)
                r = -errno ?: -EIO;
        if (audit_set_backlog_wait_time(fd, wait_time) < 0)
                r = -errno ?: -EIO;
        return r;
}

/* "-a never,task -F a -F b" as auditctl -d would send it, by libaudit's own
 * parser. Only the lines audit_rules_format() writes are accepted. */
int audit_kernel_delete_task_rule(void *userdata, const char *line) {
        static const char prefix[] = "-a never,task";
        _cleanup_(audit_rule_free_datap) struct audit_rule_data *d = NULL;
        _cleanup_(audit_kernel_closep) int fd = -EBADF;
        char pair[128];
        const char *p;
        int r;

        if (strncmp(line, prefix, sizeof(prefix) - 1) != 0)
                return -EINVAL;
        d = audit_rule_create_data();
        if (!d)
                return -ENOMEM;
        _audit_elf = 0;
        _audit_permadded = _audit_archadded = _audit_syscalladded = 0;
        _audit_exeadded = _audit_filterfsadded = 0;
        for (p = line + sizeof(prefix) - 1; *p; ) {
                size_t n;

                if (strncmp(p, " -F ", 4) != 0)
                        return -EINVAL;
                p += 4;
                n = strcspn(p, " ");
                if (n == 0 || n >= sizeof(pair))
                        return -EINVAL;
                memcpy(pair, p, n);
                pair[n] = 0;
                if (audit_rule_fieldpair_data(&d, pair, AUDIT_FILTER_TASK) != 0)
                        return -EINVAL;
                p += n;
        }
        fd = audit_kernel_open();
        if (fd < 0)
                return fd;
        r = audit_delete_rule_data(fd, d, AUDIT_FILTER_TASK, AUDIT_NEVER);
        if (r < 0 && r != -ENOENT)
                return r;
        return 0;
}

static const AuditKernel audit_kernel_real = {
        .get_enabled = audit_kernel_get_enabled,
        .check_rules = audit_kernel_check_rules,
        .raise_backlog = audit_kernel_raise_backlog,
        .list_rules = audit_kernel_list_rules,
        .get_backlog = audit_kernel_get_backlog,
        .set_backlog = audit_kernel_set_backlog,
        .delete_fsmon_rules = audit_kernel_delete_fsmon_rules,
        .delete_task_rule = audit_kernel_delete_task_rule,
};

/* Rules of before that are not in after (as a multiset) and not fsmon's:
 * what augenrules --load deleted of others'. */
static char *lost_rules_warning(const AuditRuleList *before, const AuditRuleList *after) {
        _cleanup_free_ bool *used = NULL;
        _cleanup_free_ char *keys = NULL;
        size_t n_lost = 0, keys_len = 0;
        char *w = NULL;

        used = calloc(after->n ?: 1, sizeof(bool));
        if (!used)
                return NULL;
        for (size_t i = 0; i < before->n; i++) {
                const char *k;
                size_t klen = 0;
                bool found = false;

                if (rule_is_fsmon(before->rules[i]))
                        continue;
                for (size_t j = 0; j < after->n && !found; j++)
                        if (!used[j] && rule_data_equal(before->rules[i], after->rules[j]))
                                used[j] = found = true;
                if (found)
                        continue;
                n_lost++;
                k = audit_rule_data_key(before->rules[i], &klen);
                /* Each key once, the first few only. */
                if (k && klen > 0 && keys_len < 200) {
                        _cleanup_free_ char *one = strndup(k, klen);
                        char *p;
                        if (!one)
                                continue;
                        for (p = one; *p; p++)
                                if (*p == '\001')
                                        *p = ',';
                        if (keys && strstr(keys, one))
                                continue;
                        p = NULL;
                        if (asprintf(&p, "%s%s%s", keys ?: "", keys ? ", " : "", one) < 0)
                                continue;
                        free(keys);
                        keys = p;
                        keys_len = strlen(keys);
                }
        }
        if (n_lost == 0)
                return NULL;
        if (asprintf(&w, "augenrules --load deleted %zu audit rule%s that %s loaded in the kernel but not in "
                     "/etc/audit/rules.d%s%s%s (a -D in rules.d, such as the one at the top of Debian's "
                     "audit.rules, deletes every rule); to keep rules, put them in a rules.d file",
                     n_lost, n_lost == 1 ? "" : "s", n_lost == 1 ? "was" : "were",
                     keys ? " (keys: " : " (without keys)", keys ?: "", keys ? ")" : "") < 0)
                return NULL;
        return w;
}

/* The backlog settings before fsmon's first change, once: a later load
 * (a reload, a restart) must not save fsmon's own values as "before". */
static int settings_save(const Config *c, const AuditKernel *kernel) {
        _cleanup_close_ int dir_fd = -EBADF;
        char text[80];
        uint32_t limit, wait_time;
        int r, n;

        if (!kernel->get_backlog || !c->state_dir)
                return 0;
        r = fileio_open_dir_at(AT_FDCWD, c->state_dir, 0700, &dir_fd);
        if (r < 0)
                return r;
        if (faccessat(dir_fd, AUDIT_SETTINGS_SAVED, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return 0;
        r = kernel->get_backlog(kernel->userdata, &limit, &wait_time);
        if (r < 0)
                return r;
        n = snprintf(text, sizeof(text), "backlog_limit %" PRIu32 "\nbacklog_wait_time %" PRIu32 "\n",
                     limit, wait_time);
        return fileio_write_atomic_at(dir_fd, AUDIT_SETTINGS_SAVED, text, (size_t) n, 0600, FILEIO_NOREPLACE);
}

/* Returns 1 and the saved values, 0 when nothing was saved. */
static int settings_load(const Config *c, int *ret_dir_fd, uint32_t *ret_limit, uint32_t *ret_wait_time) {
        _cleanup_close_ int dir_fd = -EBADF;
        _cleanup_free_ char *text = NULL;
        unsigned long limit, wait_time;
        int r;

        if (!c->state_dir)
                return 0;
        r = fileio_open_dir_at(AT_FDCWD, c->state_dir, 0, &dir_fd);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = fileio_read_small_at(dir_fd, AUDIT_SETTINGS_SAVED, 256, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (sscanf(text, "backlog_limit %lu\nbacklog_wait_time %lu", &limit, &wait_time) != 2 ||
            limit > UINT32_MAX || wait_time > UINT32_MAX)
                return -EBADMSG;
        *ret_limit = (uint32_t) limit;
        *ret_wait_time = (uint32_t) wait_time;
        *ret_dir_fd = TAKE_FD(dir_fd);
        return 1;
}

/* The task rules of the rules file as it is now (before it is rewritten),
 * deleted from the kernel by their exact text: they have no key for
 * "-D -k fsmon", and a reload without a general -D would meet them as
 * "rule exists"; the load that follows adds the ones the config still
 * wants. A missing or unreadable file has none. */
static void task_rules_delete_old(const Config *c, const AuditKernel *kernel) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *text = NULL;
        char **lines = NULL;
        ssize_t n;

        if (!kernel->delete_task_rule)
                return;
        fd = open(c->rules_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return;
        text = malloc(65536 + 1);
        if (!text)
                return;
        n = fileio_read_full(fd, text, 65536);
        if (n < 0)
                return;
        text[n] = 0;
        if (audit_rules_task_lines(text, &lines) < 0)
                return;
        for (char **l = lines; *l; l++) {
                int r = kernel->delete_task_rule(kernel->userdata, *l);
                if (r < 0)
                        log_warning_errno(r, "Cannot delete the audit rule \"%s\": %m", *l);
                free(*l);
        }
        free(lines);
}

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
        return audit_rules_apply_full(c, kernel, ret_message, NULL);
}

int audit_rules_apply_full(const Config *c, const AuditKernel *kernel, char **ret_message, char **ret_warning) {
        _cleanup_(audit_rules_freep) AuditRules *rules = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL, *output = NULL;
        _cleanup_(audit_rule_list_done) AuditRuleList before = {}, after = {};
        bool have_before = false;
        uint32_t enabled;
        size_t found = 0;
        int r;

        if (ret_message)
                *ret_message = NULL;
        if (ret_warning)
                *ret_warning = NULL;
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

        if (enabled != 2)
                task_rules_delete_old(c, kernel);

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

        if (kernel->list_rules && ret_warning)
                have_before = kernel->list_rules(kernel->userdata, &before) >= 0;
        r = settings_save(c, kernel);
        if (r < 0)
                log_debug_errno(r, "Cannot save the kernel's audit backlog settings, ignoring: %m");

        r = audit_rules_run_augenrules(c->augenrules, &output);
        if (have_before && kernel->list_rules(kernel->userdata, &after) >= 0)
                *ret_warning = lost_rules_warning(&before, &after);
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

int audit_rules_unload(const Config *c, const AuditKernel *kernel, char **ret_message, char **ret_warning) {
        _cleanup_(audit_rule_list_done) AuditRuleList before = {}, after = {};
        _cleanup_free_ char *output = NULL, *dir = NULL, *settings = NULL;
        _cleanup_close_ int saved_fd = -EBADF;
        bool have_before = false, removed_file = true;
        uint32_t enabled, limit = 0, wait_time = 0;
        int r, deleted = 0;

        if (ret_message)
                *ret_message = NULL;
        if (ret_warning)
                *ret_warning = NULL;
        if (!kernel)
                kernel = &audit_kernel_real;

        r = kernel->get_enabled(kernel->userdata, &enabled);
        if (r < 0) {
                set_message(ret_message, "Cannot read the kernel's audit status: %s", strerror(-r));
                return r;
        }
        if (enabled == 2) {
                set_message(ret_message, "Audit configuration is locked (auditctl -e 2): nothing unloaded; "
                            "remove %s and reboot", c->rules_file);
                return -EROFS;
        }

        /* The opt-in's task rules carry no key: by the file's exact text,
         * before the file goes. */
        task_rules_delete_old(c, kernel);

        if (unlink(c->rules_file) < 0) {
                if (errno != ENOENT) {
                        set_message(ret_message, "Cannot remove %s: %s", c->rules_file, strerror(errno));
                        return -errno;
                }
                removed_file = false;
        }

        if (kernel->list_rules && ret_warning)
                have_before = kernel->list_rules(kernel->userdata, &before) >= 0;
        r = audit_rules_run_augenrules(c->augenrules, &output);
        if (r < 0) {
                set_message(ret_message, "%s removed, but %s --load failed (%s): %s", c->rules_file, c->augenrules,
                            r == -ETIMEDOUT ? "timed out" : r == -EIO ? "exit status" : strerror(-r),
                            output && *output ? output : "(no output)");
                return r == -ETIMEDOUT ? -EIO : r;
        }
        if (have_before && kernel->list_rules(kernel->userdata, &after) >= 0)
                *ret_warning = lost_rules_warning(&before, &after);

        /* Without a -D in rules.d, augenrules leaves fsmon's rules in. */
        if (kernel->delete_fsmon_rules) {
                deleted = kernel->delete_fsmon_rules(kernel->userdata);
                if (deleted < 0) {
                        set_message(ret_message, "Cannot delete fsmon's rules from the kernel: %s", strerror(-deleted));
                        return deleted;
                }
        }

        r = settings_load(c, &saved_fd, &limit, &wait_time);
        if (r < 0) {
                set_message(ret_message, "Cannot read %s/%s: %s", c->state_dir, AUDIT_SETTINGS_SAVED, strerror(-r));
                return r;
        }
        if (r > 0 && kernel->set_backlog) {
                r = kernel->set_backlog(kernel->userdata, limit, wait_time);
                if (r < 0) {
                        set_message(ret_message, "Cannot put the kernel's backlog settings back: %s", strerror(-r));
                        return r;
                }
                (void) unlinkat(saved_fd, AUDIT_SETTINGS_SAVED, 0);
                (void) fileio_fsync_dir(saved_fd);
                if (asprintf(&settings, "; backlog_limit %" PRIu32 " and backlog_wait_time %" PRIu32
                             " put back", limit, wait_time) < 0)
                        settings = NULL;
        }

        set_message(ret_message, "%s %s, %s --load run%s%s", c->rules_file,
                    removed_file ? "removed" : "was not there", c->augenrules,
                    deleted > 0 ? ", fsmon's remaining rules deleted" : "", settings ?: "");
        return 0;
}
