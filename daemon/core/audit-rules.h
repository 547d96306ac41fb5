/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "shared/macro.h"

/* fsmon's audit rules, rendered from a Config (pure: no kernel, no files).
 * The text is what goes into /etc/audit/rules.d/70-fsmon.rules and what
 * `fsmonctl rules` prints; the structured form lets the loader check the
 * kernel's rule list against what was meant. See README.md, "Audit rules and
 * kernel settings", for the order of rules and fields. */

/* The audit key on every rule fsmon loads, the one definition of it: the
 * rules carry it, the capture keeps only events with it, and the loader
 * recognises fsmon's rules in the kernel's list by it. */
#define AUDIT_RULES_KEY "fsmon"
#define AUDIT_RULE_FIELDS_MAX 4

typedef struct AuditRule {
        bool never;                     /* -a never,exit, else -a always,exit */
        const char *arch;               /* "b64" or "b32" */
        const char **syscalls;          /* names as auditctl knows them for arch */
        size_t n_syscalls;
        char *fields[AUDIT_RULE_FIELDS_MAX];    /* after arch, in order, e.g. "auid>=1000" */
        size_t n_fields;
} AuditRule;

typedef struct AuditRules {
        const char *machine;            /* libaudit's name of the native ABI: "x86_64" */
        const char *compat_machine;     /* the b32 ABI beside it ("i386"), or NULL */
        AuditRule *rules;               /* in load order: never rules first */
        size_t n_rules;
        /* [kernel] exclude_unmonitored_sessions: "-a never,task ..." lines,
         * one per span of login uids outside every range. Task rules cannot
         * carry a key, so "-D -k fsmon" does not remove them: whoever removes
         * them does so by this exact text (audit_rules_task_lines()). */
        char **task_rules;
        size_t n_task_rules;
        uint32_t backlog_limit;
        uint32_t backlog_wait_time;
} AuditRules;

/* The machines rules can be rendered for: those of libaudit's tables (3.0.9
 * has no riscv64). */
#define AUDIT_RULES_MACHINES "x86_64, i386, aarch64, arm, ppc64, ppc64le, ppc, s390x, s390"

/* Validates every value that ends up in a rule again (a Config may be built by
 * hand) and returns the rules for machine (uname -m's name or libaudit's; NULL:
 * this one): -EINVAL with a message naming the key, -EAFNOSUPPORT for a
 * machine libaudit does not know. The syscall names are those libaudit has
 * for the machine's ABIs, so the rules are for auditctl on that machine. */
int audit_rules_build_for(const Config *c, const char *machine, AuditRules **ret, char **ret_error);
/* For this machine (uname -m). */
int audit_rules_build(const Config *c, AuditRules **ret, char **ret_error);
const char *audit_rules_host_machine(void);
AuditRules *audit_rules_free(AuditRules *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(AuditRules *, audit_rules_free);

/* The rules file's text; checks the result line by line before returning it. */
int audit_rules_format(const AuditRules *r, char **ret_text);

/* The "-a never,task ..." lines of a rules file's text (as
 * audit_rules_format() writes them), in a NULL-terminated array, for removal
 * by exact text. */
int audit_rules_task_lines(const char *text, char ***ret);

/* audit_rules_build*() + audit_rules_format(). */
int audit_rules_render_for(const Config *c, const char *machine, char **ret_text, char **ret_error);
int audit_rules_render(const Config *c, char **ret_text, char **ret_error);
