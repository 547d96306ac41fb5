/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* What the tracker needs to know about a system call: which of the calls it
 * follows it is, independent of the architecture's syscall table. */
typedef enum SyscallKind {
        SYSCALL_OTHER = 0,
        SYSCALL_OPEN,           /* open(path, flags, mode) */
        SYSCALL_OPENAT,         /* openat(dirfd, path, flags, mode) */
        SYSCALL_OPENAT2,        /* openat2(dirfd, path, how, size): flags not visible */
        SYSCALL_CREAT,          /* creat(path, mode) */
        SYSCALL_CLOSE,
        SYSCALL_CLOSE_RANGE,    /* close_range(first, last, flags) */
        SYSCALL_READ,
        SYSCALL_WRITE,
        SYSCALL_PREAD,          /* pread64(fd, buf, count, pos) */
        SYSCALL_PWRITE,
        SYSCALL_READV,
        SYSCALL_WRITEV,
        SYSCALL_PREADV,         /* preadv(fd, iov, cnt, pos_l, pos_h) */
        SYSCALL_PWRITEV,
        SYSCALL_PREADV2,        /* preadv2(..., pos_l, pos_h, flags): pos -1 = current */
        SYSCALL_PWRITEV2,
        SYSCALL_LSEEK,          /* returns the new position */
        SYSCALL_LLSEEK,         /* 32-bit _llseek: new position written to memory */
        SYSCALL_DUP,
        SYSCALL_DUP2,
        SYSCALL_DUP3,
        SYSCALL_FCNTL,
        SYSCALL_FORK,
        SYSCALL_VFORK,
        SYSCALL_CLONE,          /* clone(flags, ...) */
        SYSCALL_CLONE3,         /* clone3(args, size): flags not visible */
        SYSCALL_EXECVE,
        SYSCALL_EXECVEAT,
        SYSCALL_EXIT_GROUP,
        SYSCALL_GETDENTS,
        SYSCALL_FTRUNCATE,      /* ftruncate(fd, length) */
        SYSCALL_FTRUNCATE64,    /* 32-bit ftruncate64(fd, length): length in two registers */
        SYSCALL_TRUNCATE,       /* truncate(path, length) */
        SYSCALL_TRUNCATE64,
        SYSCALL_COPY_FILE_RANGE,/* copy_file_range(in, off_in, out, off_out, len, flags) */
        SYSCALL_SPLICE,         /* splice(in, off_in, out, off_out, len, flags) */
        SYSCALL_SENDFILE,       /* sendfile(out, in, offset, count), sendfile64 */
        SYSCALL_MMAP,           /* mmap(addr, length, prot, flags, fd, off) + MMAP record */
        SYSCALL_OLD_MMAP,       /* 32-bit mmap beside mmap2: a0 points to the arguments */
        SYSCALL_RENAME,         /* rename(old, new) */
        SYSCALL_RENAMEAT,       /* renameat(olddirfd, old, newdirfd, new), renameat2 */
        SYSCALL_UNLINK,
        SYSCALL_UNLINKAT,       /* unlinkat(dirfd, path, flags): AT_REMOVEDIR is rmdir */
        SYSCALL_RMDIR,
        SYSCALL_MKDIR,
        SYSCALL_MKDIRAT,
        _SYSCALL_KIND_MAX,
} SyscallKind;

#define AUDIT_ARCH_X86_64_VALUE 0xc000003eU
#define AUDIT_ARCH_I386_VALUE   0x40000003U

/* How much of a 64-bit file position an audit record shows. Audit logs the
 * first four arguments (a0..a3) only. */
typedef enum SyscallPosition {
        SYSCALL_POS_FULL,       /* 64-bit ABIs: the whole position in a3 */
        SYSCALL_POS_LOW32,      /* a3 is the low half; the high half (a4) is not logged */
        SYSCALL_POS_HIDDEN,     /* in a4/a5 (arm EABI and ppc32 pad to an even register
                                 * pair), or a3 is the high half (s390): not visible */
} SyscallPosition;

/* What differs between the ABIs (architectures and their compat tables) for
 * the calls the tracker follows; the call numbers themselves come from
 * libaudit by name. */
typedef struct SyscallAbi {
        const char *name;               /* libaudit's machine name: "x86_64", "armeb"... */
        int machine;                    /* libaudit's MACH_* */
        bool bits32;                    /* 32-bit registers (a -1 position is 0xffffffff) */
        unsigned clone_flags_arg;       /* 0, 1 on s390/s390x (CLONE_BACKWARDS2) */
        SyscallPosition pread_pos;      /* pread64, pwrite64: position after count */
        SyscallPosition preadv_pos;     /* preadv*, pwritev*: pos_l in a3, pos_h in a4 */
        unsigned len64_lo, len64_hi;    /* 32-bit (f)truncate64: the length's halves
                                         * (a1..a3; 0: 64-bit ABI, one register) */
        bool old_mmap;                  /* "mmap" is old_mmap(struct *): i386, arm, s390* */
} SyscallAbi;

/* The ABI that arch= (an AUDIT_ARCH_* value) names, NULL for one libaudit
 * does not know (riscv64 with Debian 12's libaudit 3.0.9, for instance). */
const SyscallAbi *syscall_abi_from_arch(uint32_t arch);
/* By libaudit's machine name ("aarch64", "arm", "ppc64le"...), NULL if none. */
const SyscallAbi *syscall_abi_from_name(const char *name);
/* The number of the call the kernel calls name in that ABI's table, and how
 * auditctl spells it there (libaudit's name: "pread" for pread64 on x86_64;
 * a number for a call libaudit lacks); -ENOENT when the ABI has no such call. */
int syscall_resolve(const SyscallAbi *abi, const char *name, const char **ret_spelling);
/* The kind of call nr in that ABI's table. */
SyscallKind syscall_kind_from_abi(const SyscallAbi *abi, int nr);

/* The kind of call number nr on the architecture arch= names (an AUDIT_ARCH_*
 * value); SYSCALL_OTHER for calls fsmon does not follow and for
 * architectures libaudit does not know (syscall_arch_known() tells). */
SyscallKind syscall_kind_from_arch(uint32_t arch, int nr);
/* On 32-bit machines with mmap2, "mmap" is old_mmap: SYSCALL_OLD_MMAP by
 * number, SYSCALL_MMAP by name. */
SyscallKind syscall_kind_from_name(const char *name);
bool syscall_arch_known(uint32_t arch);
/* libaudit's machine (MACH_*) for arch, or -EAFNOSUPPORT. */
int syscall_machine_from_arch(uint32_t arch);
/* The call's name on that architecture, or NULL. */
const char *syscall_name_from_arch(uint32_t arch, int nr);
