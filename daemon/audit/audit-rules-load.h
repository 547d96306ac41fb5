/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/audit-rules.h"
#include "core/config.h"

/* The rule lifecycle (an edge): render the config's rules, write them
 * atomically to the rules file, run `augenrules --load`, and check in the
 * kernel's rule list that they are there. Rules stay in place when fsmond
 * stops (a restart backfills from the log); packaging removes them.
 *
 * Returns:
 *   0        loaded and found in the kernel, auditing enabled
 *   1        (AUDIT_RULES_LOADED_DISABLED) loaded, but auditing is off (enabled 0):
 *            nothing will be recorded until someone runs auditctl -e 1
 *   -EINVAL  the config renders no valid rules: nothing was written or loaded
 *   -EROFS   the kernel's audit config is locked (-e 2): the file was written
 *            (the next boot loads it), the kernel's rules were not touched
 *   -ENOENT  augenrules succeeded, but fsmon's rules are not in the kernel
 *   -EIO     augenrules failed (exit status, or killed after a timeout)
 *   other    negative errno from writing the file or from netlink
 * and with ret_message (free()) what happened, augenrules' output included:
 * the caller logs it once and decides (fsmond: degraded, RulesLoaded false). */

#define AUDIT_RULES_LOADED_DISABLED 1

/* How the loader sees the kernel; tests replace it, because a locked audit
 * config (-e 2) cannot be undone without a reboot and must never be made on
 * a shared machine. NULL: the real kernel over netlink (libaudit). */
/* The kernel's rule list, as it sends it (struct audit_rule_data, copied). */
struct audit_rule_data;
typedef struct AuditRuleList {
        struct audit_rule_data **rules;
        size_t n;
} AuditRuleList;
void audit_rule_list_done(AuditRuleList *l);

typedef struct AuditKernel {
        /* enabled: 0 off, 1 on, 2 locked. */
        int (*get_enabled)(void *userdata, uint32_t *ret_enabled);
        /* 1 when every rule of r is in the kernel's list, 0 when some are not
         * (*ret_found of r->n_rules are), or a negative errno. */
        int (*check_rules)(void *userdata, const AuditRules *r, size_t *ret_found);
        void *userdata;
        /* Raises the kernel's backlog_limit and backlog_wait_time to at least
         * these (another rules.d file sorting after fsmon's, such as Debian's
         * audit.rules with "-b 8192", would otherwise win). NULL: not done. */
        int (*raise_backlog)(void *userdata, uint32_t limit, uint32_t wait_time);
        /* The kernel's rules, before and after augenrules: what it removed
         * that is not fsmon's is named in a warning. NULL: no warning. */
        int (*list_rules)(void *userdata, AuditRuleList *ret);
        /* The backlog settings, saved before fsmon first changes them and
         * put back by audit_rules_unload(). NULL: neither. */
        int (*get_backlog)(void *userdata, uint32_t *ret_limit, uint32_t *ret_wait_time);
        int (*set_backlog)(void *userdata, uint32_t limit, uint32_t wait_time);
        /* Deletes every rule with fsmon's key (audit_rules_unload(), where
         * rules.d has no -D to do it). Returns how many, or a negative errno. */
        int (*delete_fsmon_rules)(void *userdata);
        /* Deletes the rule of this exact text ("-a never,task -F ...");
         * 0 also when it was not there. NULL: not done. */
        int (*delete_task_rule)(void *userdata, const char *line);
} AuditKernel;

int audit_rules_apply(const Config *c, const AuditKernel *kernel, char **ret_message);

/* The same, and with ret_warning (free(); NULL when nothing to say) what the
 * load cost others: augenrules --load runs rules.d in order, and a bare -D
 * there (Debian's audit.rules starts with one) deletes every rule of the
 * kernel first, so rules loaded by hand (auditctl -a) that are not in rules.d
 * are lost. The warning names how many and their keys. Before its first
 * change, the kernel's backlog_limit and backlog_wait_time are saved in
 * <state_dir>/audit-settings.saved (kept while fsmon's rules are loaded). */
int audit_rules_apply_full(const Config *c, const AuditKernel *kernel, char **ret_message, char **ret_warning);

/* The undo (fsmonctl rules --unload): removes the rules file, runs
 * augenrules --load (so the kernel gets rules.d without fsmon's), deletes
 * fsmon's rules that are still there (rules.d without -D), and puts the
 * backlog settings back to the saved ones. Returns 0, -EROFS when locked
 * (nothing done), or a negative errno; message and warning as above. */
int audit_rules_unload(const Config *c, const AuditKernel *kernel, char **ret_message, char **ret_warning);

/* The check alone, without writing or loading: for a sandboxed fsmond, whose
 * rules a privileged helper loads (fsmon.service's ExecStartPre=+), to tell
 * RulesLoaded truthfully. Needs CAP_AUDIT_CONTROL. Returns 0 (all there,
 * enabled), AUDIT_RULES_LOADED_DISABLED, -EROFS (locked and not all there:
 * they cannot come before a reboot), -ENOENT (not all there), -EINVAL, or
 * another negative errno; with a message as above. */
int audit_rules_verify(const Config *c, const AuditKernel *kernel, char **ret_message);

/* The pieces, for fsmonctl and tests. */
int audit_rules_write(const char *path, const char *text);
int audit_rules_run_augenrules(const char *augenrules, char **ret_output);
int audit_kernel_get_enabled(void *userdata, uint32_t *ret_enabled);
int audit_kernel_check_rules(void *userdata, const AuditRules *r, size_t *ret_found);
int audit_kernel_raise_backlog(void *userdata, uint32_t limit, uint32_t wait_time);
int audit_kernel_list_rules(void *userdata, AuditRuleList *ret);
int audit_kernel_get_backlog(void *userdata, uint32_t *ret_limit, uint32_t *ret_wait_time);
int audit_kernel_set_backlog(void *userdata, uint32_t limit, uint32_t wait_time);
int audit_kernel_delete_fsmon_rules(void *userdata);
/* The key of a rule (-k), NULL when it has none; points into the rule. */
const char *audit_rule_data_key(const struct audit_rule_data *d, size_t *ret_len);

#define AUDIT_SETTINGS_SAVED "audit-settings.saved"
int audit_kernel_delete_task_rule(void *userdata, const char *line);
