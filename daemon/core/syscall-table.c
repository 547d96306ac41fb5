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
 * no open, fork or dup2) is simply not found there. Spellings are libaudit's:
 * x86_64, arm64, ppc and s390 call pread64 "pread", arm calls _llseek
 * "llseek", arm64 calls getdents64 "getdents". (Sorted: binary search.) */
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
        { "llseek",           SYSCALL_LLSEEK },     /* _llseek in libaudit's arm table */
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

/* Calls that libaudit 3.0.9's tables lack although the kernel has them:
 * s390x's getdents64. Rules name them by number (auditctl takes numbers). */
static const struct {
        int machine;
        const char *name;
        int nr;
        const char *nr_text;
} table_gaps[] = {
        { MACH_S390X, "getdents64", 220, "220" },
};

/* Names that tables spell differently for the same call. */
static const char *const spellings[][2] = {
        { "pread64",  "pread" },
        { "pwrite64", "pwrite" },
        { "_llseek",  "llseek" },
};

/* What differs between ABIs, by libaudit machine. 64-bit ABIs pass a
 * position in one register. The 32-bit ones split it: i386 and the generic
 * preadv family put the low half in a3 (logged) and the high half in a4 (not
 * logged); arm EABI and ppc32 align pread64's 64-bit position to an even
 * register pair (a4/a5, after a pad in a3); s390's compat pread64 takes
 * (high, low) in a3/a4. (f)truncate64's length: (lo, hi) in a1/a2 on i386,
 * in a2/a3 after a pad on arm EABI; (hi, lo) in a2/a3 after a pad on ppc32,
 * in a1/a2 on s390. s390 has clone(newsp, flags, ...) (CLONE_BACKWARDS2);
 * every other ABI has the flags in a0. The open and fcntl flag bits the
 * tracker reads (O_ACCMODE, O_CREAT, O_TRUNC, O_APPEND, O_CLOEXEC, O_PATH)
 * have the same values on all of these; O_DIRECTORY, which differs on arm and
 * ppc, is not read. */
static const SyscallAbi abis[] = {
        /* name      machine       bits32 clone pread64            preadv            truncate64 old_mmap */
        { "i386",    MACH_X86,     true,  0, SYSCALL_POS_LOW32,  SYSCALL_POS_LOW32, 1, 2, true },
        { "x86_64",  MACH_86_64,   false, 0, SYSCALL_POS_FULL,   SYSCALL_POS_FULL,  0, 0, false },
        { "ppc64",   MACH_PPC64,   false, 0, SYSCALL_POS_FULL,   SYSCALL_POS_FULL,  0, 0, false },
        { "ppc",     MACH_PPC,     true,  0, SYSCALL_POS_HIDDEN, SYSCALL_POS_LOW32, 3, 2, false },
        { "ppc64le", MACH_PPC64LE, false, 0, SYSCALL_POS_FULL,   SYSCALL_POS_FULL,  0, 0, false },
        { "s390x",   MACH_S390X,   false, 1, SYSCALL_POS_FULL,   SYSCALL_POS_FULL,  0, 0, true },
        { "s390",    MACH_S390,    true,  1, SYSCALL_POS_HIDDEN, SYSCALL_POS_LOW32, 2, 1, true },
        { "arm",     MACH_ARM,     true,  0, SYSCALL_POS_HIDDEN, SYSCALL_POS_LOW32, 2, 3, true },
        { "aarch64", MACH_AARCH64, false, 0, SYSCALL_POS_FULL,   SYSCALL_POS_FULL,  0, 0, false },
};

static const SyscallAbi *abi_from_machine(int machine) {
        for (size_t i = 0; i < ELEMENTSOF(abis); i++)
                if (abis[i].machine == machine)
                        return &abis[i];
        return NULL;
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

                /* "mmap" is old_mmap(struct mmap_arg_struct *) on i386, arm
                 * (OABI) and s390/s390x: a0 points to the arguments, the
                 * length is not in a1 (glibc calls mmap2 there, but s390x's
                 * only mmap is this one). ppc's and ppc64's is the real one. */
                if (k == SYSCALL_MMAP && strcmp(kind_by_name[i].name, "mmap") == 0 &&
                    abi_from_machine(machine) && abi_from_machine(machine)->old_mmap)
                        k = SYSCALL_OLD_MMAP;
                if (nr >= 0 && nr < SYSCALL_NR_MAX)
                        t[nr] = (uint8_t) k;
        }
        for (size_t i = 0; i < ELEMENTSOF(table_gaps); i++)
                if (table_gaps[i].machine == machine)
                        t[table_gaps[i].nr] = (uint8_t) syscall_kind_from_name(table_gaps[i].name);
        by_machine[machine] = t;
        return t;
}

const SyscallAbi *syscall_abi_from_name(const char *name) {
        if (!name)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(abis); i++)
                if (strcmp(abis[i].name, name) == 0)
                        return &abis[i];
        /* uname -m's spellings too: i686, armv7l, armeb... */
        return abi_from_machine(audit_name_to_machine(name));
}

const SyscallAbi *syscall_abi_from_arch(uint32_t arch) {
        int machine = audit_elf_to_machine(arch);
        return machine < 0 ? NULL : abi_from_machine(machine);
}

int syscall_machine_from_arch(uint32_t arch) {
        const SyscallAbi *abi = syscall_abi_from_arch(arch);
        return abi ? abi->machine : -EAFNOSUPPORT;
}

bool syscall_arch_known(uint32_t arch) {
        return syscall_abi_from_arch(arch) != NULL;
}

SyscallKind syscall_kind_from_abi(const SyscallAbi *abi, int nr) {
        const uint8_t *t;

        if (!abi || nr < 0 || nr >= SYSCALL_NR_MAX)
                return SYSCALL_OTHER;
        t = machine_table(abi->machine);
        return t ? (SyscallKind) t[nr] : SYSCALL_OTHER;
}

SyscallKind syscall_kind_from_arch(uint32_t arch, int nr) {
        return syscall_kind_from_abi(syscall_abi_from_arch(arch), nr);
}

const char *syscall_name_from_arch(uint32_t arch, int nr) {
        const SyscallAbi *abi = syscall_abi_from_arch(arch);
        return abi ? audit_syscall_to_name(nr, abi->machine) : NULL;
}

int syscall_resolve(const SyscallAbi *abi, const char *name, const char **ret_spelling) {
        int nr;

        if (!abi || !name)
                return -EINVAL;
        nr = audit_name_to_syscall(name, abi->machine);
        if (nr >= 0) {
                if (ret_spelling)
                        *ret_spelling = name;
                return nr;
        }
        for (size_t i = 0; i < ELEMENTSOF(spellings); i++)
                for (unsigned k = 0; k < 2; k++)
                        if (strcmp(name, spellings[i][k]) == 0) {
                                nr = audit_name_to_syscall(spellings[i][!k], abi->machine);
                                if (nr >= 0) {
                                        if (ret_spelling)
                                                *ret_spelling = spellings[i][!k];
                                        return nr;
                                }
                        }
        for (size_t i = 0; i < ELEMENTSOF(table_gaps); i++)
                if (table_gaps[i].machine == abi->machine && strcmp(name, table_gaps[i].name) == 0) {
                        if (ret_spelling)
                                *ret_spelling = table_gaps[i].nr_text;
                        return table_gaps[i].nr;
                }
        return -ENOENT;
}
