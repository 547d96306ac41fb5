/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <libaudit.h>
#include <stdlib.h>
#include <string.h>

#include "shared/macro.h"
#include "core/syscall-table.h"

/* The calls the tracker follows, by name. Numbers come from libaudit's tables
 * for the machine that the event's arch= names (audit logs carry the number
 * of the table the task used), so one set of semantics serves every
 * architecture libaudit knows. A name that an architecture lacks (arm64 has
 * no open, fork or dup2) is simply not found there. */
static const struct {
        const char *name;
        SyscallKind kind;
} kind_by_name[] = {
        { "_llseek",          SYSCALL_LLSEEK },
        { "clone",            SYSCALL_CLONE },
        { "clone3",           SYSCALL_CLONE3 },
        { "close",            SYSCALL_CLOSE },
        { "close_range",      SYSCALL_CLOSE_RANGE },
        { "copy_file_range",  SYSCALL_COPY_FILE_RANGE },
        { "creat",            SYSCALL_CREAT },
        { "dup",              SYSCALL_DUP },
        { "dup2",             SYSCALL_DUP2 },
        { "dup3",             SYSCALL_DUP3 },
        { "execve",           SYSCALL_EXECVE },
        { "execveat",         SYSCALL_EXECVEAT },
        { "exit_group",       SYSCALL_EXIT_GROUP },
        { "fcntl",            SYSCALL_FCNTL },
        { "fcntl64",          SYSCALL_FCNTL },
        { "fork",             SYSCALL_FORK },
        { "ftruncate",        SYSCALL_FTRUNCATE },
        { "ftruncate64",      SYSCALL_FTRUNCATE64 },
        { "getdents",         SYSCALL_GETDENTS },
        { "getdents64",       SYSCALL_GETDENTS },
        { "lseek",            SYSCALL_LSEEK },
        { "mkdir",            SYSCALL_MKDIR },
        { "mkdirat",          SYSCALL_MKDIRAT },
        { "mmap",             SYSCALL_MMAP },
        { "mmap2",            SYSCALL_MMAP },
        { "open",             SYSCALL_OPEN },
        { "openat",           SYSCALL_OPENAT },
        { "openat2",          SYSCALL_OPENAT2 },
        { "pread",            SYSCALL_PREAD },
        { "pread64",          SYSCALL_PREAD },
        { "preadv",           SYSCALL_PREADV },
        { "preadv2",          SYSCALL_PREADV2 },
        { "pwrite",           SYSCALL_PWRITE },
        { "pwrite64",         SYSCALL_PWRITE },
        { "pwritev",          SYSCALL_PWRITEV },
        { "pwritev2",         SYSCALL_PWRITEV2 },
        { "read",             SYSCALL_READ },
        { "readv",            SYSCALL_READV },
        { "rename",           SYSCALL_RENAME },
        { "renameat",         SYSCALL_RENAMEAT },
        { "renameat2",        SYSCALL_RENAMEAT },
        { "rmdir",            SYSCALL_RMDIR },
        { "sendfile",         SYSCALL_SENDFILE },
        { "sendfile64",       SYSCALL_SENDFILE },
        { "splice",           SYSCALL_SPLICE },
        { "truncate",         SYSCALL_TRUNCATE },
        { "truncate64",       SYSCALL_TRUNCATE64 },
        { "unlink",           SYSCALL_UNLINK },
        { "unlinkat",         SYSCALL_UNLINKAT },
        { "vfork",            SYSCALL_VFORK },
        { "write",            SYSCALL_WRITE },
        { "writev",           SYSCALL_WRITEV },
};

SyscallKind syscall_kind_from_name(const char *name) {
        size_t lo = 0, hi = ELEMENTSOF(kind_by_name);

        if (!name)
                return SYSCALL_OTHER;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(name, kind_by_name[mid].name);
                if (c == 0)
                        return kind_by_name[mid].kind;
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return SYSCALL_OTHER;
}

/* One lookup array per machine, built at first use from libaudit's
 * name-to-number table: the decoder's hot path is then one index. */
#define MACHINE_SLOTS 16
#define SYSCALL_NR_MAX 1024
static uint8_t *by_machine[MACHINE_SLOTS];
static bool machine_failed[MACHINE_SLOTS];

static const uint8_t *machine_table(int machine) {
        uint8_t *t;

        if (machine < 0 || machine >= MACHINE_SLOTS || machine_failed[machine])
                return NULL;
        if (by_machine[machine])
                return by_machine[machine];

        t = calloc(SYSCALL_NR_MAX, sizeof(uint8_t));
        if (!t)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(kind_by_name); i++) {
                int nr = audit_name_to_syscall(kind_by_name[i].name, machine);
                SyscallKind k = kind_by_name[i].kind;

                /* 32-bit "mmap" (where there is also mmap2) is old_mmap(struct
                 * mmap_arg_struct *): a0 points to the arguments, the length
                 * is not in a1 (glibc calls mmap2). */
                if (k == SYSCALL_MMAP && strcmp(kind_by_name[i].name, "mmap") == 0 &&
                    audit_name_to_syscall("mmap2", machine) >= 0)
                        k = SYSCALL_OLD_MMAP;
                if (nr >= 0 && nr < SYSCALL_NR_MAX)
                        t[nr] = (uint8_t) k;
        }
        by_machine[machine] = t;
        return t;
}

int syscall_machine_from_arch(uint32_t arch) {
        int m = audit_elf_to_machine(arch);
        return m < 0 ? -EAFNOSUPPORT : m;
}

bool syscall_arch_known(uint32_t arch) {
        return syscall_machine_from_arch(arch) >= 0;
}

SyscallKind syscall_kind_from_arch(uint32_t arch, int nr) {
        const uint8_t *t;
        int machine;

        if (nr < 0)
                return SYSCALL_OTHER;
        machine = syscall_machine_from_arch(arch);
        if (machine < 0)
                return SYSCALL_OTHER;
        t = machine_table(machine);
        if (!t || nr >= SYSCALL_NR_MAX)
                return SYSCALL_OTHER;
        return (SyscallKind) t[nr];
}

const char *syscall_name_from_arch(uint32_t arch, int nr) {
        int machine = syscall_machine_from_arch(arch);
        return machine < 0 ? NULL : audit_syscall_to_name(nr, machine);
}
