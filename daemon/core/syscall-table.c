/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "shared/macro.h"
#include "core/syscall-table.h"

/* Numbers from arch/x86/entry/syscalls/syscall_64.tbl and syscall_32.tbl.
 * Audit logs carry the number of the table the task used (arch=). */

static const uint8_t table_x86_64[] = {
        [0] = SYSCALL_READ,
        [1] = SYSCALL_WRITE,
        [2] = SYSCALL_OPEN,
        [3] = SYSCALL_CLOSE,
        [8] = SYSCALL_LSEEK,
        [17] = SYSCALL_PREAD,
        [18] = SYSCALL_PWRITE,
        [19] = SYSCALL_READV,
        [20] = SYSCALL_WRITEV,
        [32] = SYSCALL_DUP,
        [33] = SYSCALL_DUP2,
        [56] = SYSCALL_CLONE,
        [57] = SYSCALL_FORK,
        [58] = SYSCALL_VFORK,
        [59] = SYSCALL_EXECVE,
        [72] = SYSCALL_FCNTL,
        [77] = SYSCALL_FTRUNCATE,
        [78] = SYSCALL_GETDENTS,
        [85] = SYSCALL_CREAT,
        [217] = SYSCALL_GETDENTS,
        [231] = SYSCALL_EXIT_GROUP,
        [257] = SYSCALL_OPENAT,
        [292] = SYSCALL_DUP3,
        [295] = SYSCALL_PREADV,
        [296] = SYSCALL_PWRITEV,
        [322] = SYSCALL_EXECVEAT,
        [327] = SYSCALL_PREADV2,
        [328] = SYSCALL_PWRITEV2,
        [435] = SYSCALL_CLONE3,
        [436] = SYSCALL_CLOSE_RANGE,
        [437] = SYSCALL_OPENAT2,
};

static const uint8_t table_i386[] = {
        [2] = SYSCALL_FORK,
        [3] = SYSCALL_READ,
        [4] = SYSCALL_WRITE,
        [5] = SYSCALL_OPEN,
        [6] = SYSCALL_CLOSE,
        [8] = SYSCALL_CREAT,
        [11] = SYSCALL_EXECVE,
        [19] = SYSCALL_LSEEK,
        [41] = SYSCALL_DUP,
        [55] = SYSCALL_FCNTL,
        [63] = SYSCALL_DUP2,
        [93] = SYSCALL_FTRUNCATE,
        [120] = SYSCALL_CLONE,
        [140] = SYSCALL_LLSEEK,
        [141] = SYSCALL_GETDENTS,
        [145] = SYSCALL_READV,
        [146] = SYSCALL_WRITEV,
        [180] = SYSCALL_PREAD,
        [181] = SYSCALL_PWRITE,
        [190] = SYSCALL_VFORK,
        [220] = SYSCALL_GETDENTS,
        [221] = SYSCALL_FCNTL,
        [252] = SYSCALL_EXIT_GROUP,
        [295] = SYSCALL_OPENAT,
        [330] = SYSCALL_DUP3,
        [333] = SYSCALL_PREADV,
        [334] = SYSCALL_PWRITEV,
        [358] = SYSCALL_EXECVEAT,
        [378] = SYSCALL_PREADV2,
        [379] = SYSCALL_PWRITEV2,
        [435] = SYSCALL_CLONE3,
        [436] = SYSCALL_CLOSE_RANGE,
        [437] = SYSCALL_OPENAT2,
};

SyscallKind syscall_kind_from_arch(uint32_t arch, int nr) {
        if (nr < 0)
                return SYSCALL_OTHER;

        switch (arch) {
        case AUDIT_ARCH_X86_64_VALUE:
                return (size_t) nr < ELEMENTSOF(table_x86_64) ? table_x86_64[nr] : SYSCALL_OTHER;
        case AUDIT_ARCH_I386_VALUE:
                return (size_t) nr < ELEMENTSOF(table_i386) ? table_i386[nr] : SYSCALL_OTHER;
        default:
                return SYSCALL_OTHER;
        }
}
