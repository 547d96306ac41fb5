/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The per-architecture mapping of daemon/core/syscall-table.c, and the
 * tracker on events of each ABI. The expected numbers come from the kernel's
 * syscall tables (arch/x86/entry/syscalls/syscall_{32,64}.tbl,
 * include/uapi/asm-generic/unistd.h for arm64, arch/arm/tools/syscall.tbl,
 * arch/powerpc/kernel/syscalls/syscall.tbl, arch/s390/kernel/syscalls/
 * syscall.tbl), the argument positions from the kernel's syscall
 * definitions (SYSCALL_DEFINE, compat wrappers, CLONE_BACKWARDS2), not from
 * libaudit or fsmon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/syscall-table.h"
#include "core/tracker.h"

#define ARCH_I386    0x40000003U
#define ARCH_X86_64  0xc000003eU
#define ARCH_ARM     0x40000028U
#define ARCH_AARCH64 0xc00000b7U
#define ARCH_PPC     0x00000014U
#define ARCH_PPC64   0x80000015U
#define ARCH_PPC64LE 0xc0000015U
#define ARCH_S390    0x00000016U
#define ARCH_S390X   0x80000016U
#define ARCH_RISCV64 0xc00000f3U

static const struct {
        uint32_t arch;
        int nr;
        SyscallKind kind;
} numbers[] = {
        /* x86_64 */
        { ARCH_X86_64, 2, SYSCALL_OPEN }, { ARCH_X86_64, 257, SYSCALL_OPENAT }, { ARCH_X86_64, 17, SYSCALL_PREAD },
        { ARCH_X86_64, 56, SYSCALL_CLONE }, { ARCH_X86_64, 57, SYSCALL_FORK }, { ARCH_X86_64, 59, SYSCALL_EXECVE },
        { ARCH_X86_64, 217, SYSCALL_GETDENTS }, { ARCH_X86_64, 231, SYSCALL_EXIT_GROUP },
        /* i386 */
        { ARCH_I386, 5, SYSCALL_OPEN }, { ARCH_I386, 295, SYSCALL_OPENAT }, { ARCH_I386, 180, SYSCALL_PREAD },
        { ARCH_I386, 140, SYSCALL_LLSEEK }, { ARCH_I386, 221, SYSCALL_FCNTL }, { ARCH_I386, 120, SYSCALL_CLONE },
        { ARCH_I386, 11, SYSCALL_EXECVE }, { ARCH_I386, 194, SYSCALL_FTRUNCATE64 },
        /* arm64: asm-generic, no open, creat, fork, vfork, dup2 */
        { ARCH_AARCH64, 56, SYSCALL_OPENAT }, { ARCH_AARCH64, 57, SYSCALL_CLOSE }, { ARCH_AARCH64, 63, SYSCALL_READ },
        { ARCH_AARCH64, 64, SYSCALL_WRITE }, { ARCH_AARCH64, 67, SYSCALL_PREAD }, { ARCH_AARCH64, 68, SYSCALL_PWRITE },
        { ARCH_AARCH64, 62, SYSCALL_LSEEK }, { ARCH_AARCH64, 23, SYSCALL_DUP }, { ARCH_AARCH64, 24, SYSCALL_DUP3 },
        { ARCH_AARCH64, 25, SYSCALL_FCNTL }, { ARCH_AARCH64, 61, SYSCALL_GETDENTS },
        { ARCH_AARCH64, 220, SYSCALL_CLONE }, { ARCH_AARCH64, 435, SYSCALL_CLONE3 },
        { ARCH_AARCH64, 221, SYSCALL_EXECVE }, { ARCH_AARCH64, 281, SYSCALL_EXECVEAT },
        { ARCH_AARCH64, 94, SYSCALL_EXIT_GROUP }, { ARCH_AARCH64, 46, SYSCALL_FTRUNCATE },
        /* x86_64's open (2), fork (57) and dup2 (33) are other calls there */
        { ARCH_AARCH64, 2, SYSCALL_OTHER }, { ARCH_AARCH64, 57 - 0, SYSCALL_CLOSE }, { ARCH_AARCH64, 33, SYSCALL_OTHER },
        /* arm EABI */
        { ARCH_ARM, 5, SYSCALL_OPEN }, { ARCH_ARM, 322, SYSCALL_OPENAT }, { ARCH_ARM, 180, SYSCALL_PREAD },
        { ARCH_ARM, 140, SYSCALL_LLSEEK }, { ARCH_ARM, 221, SYSCALL_FCNTL }, { ARCH_ARM, 2, SYSCALL_FORK },
        { ARCH_ARM, 190, SYSCALL_VFORK }, { ARCH_ARM, 120, SYSCALL_CLONE }, { ARCH_ARM, 11, SYSCALL_EXECVE },
        { ARCH_ARM, 248, SYSCALL_EXIT_GROUP }, { ARCH_ARM, 217, SYSCALL_GETDENTS }, { ARCH_ARM, 63, SYSCALL_DUP2 },
        /* powerpc: one table for ppc, ppc64 and ppc64le */
        { ARCH_PPC64LE, 5, SYSCALL_OPEN }, { ARCH_PPC64LE, 286, SYSCALL_OPENAT }, { ARCH_PPC64LE, 179, SYSCALL_PREAD },
        { ARCH_PPC64LE, 2, SYSCALL_FORK }, { ARCH_PPC64LE, 120, SYSCALL_CLONE }, { ARCH_PPC64LE, 11, SYSCALL_EXECVE },
        { ARCH_PPC64LE, 234, SYSCALL_EXIT_GROUP }, { ARCH_PPC64LE, 202, SYSCALL_GETDENTS },
        { ARCH_PPC64, 120, SYSCALL_CLONE }, { ARCH_PPC64, 11, SYSCALL_EXECVE }, { ARCH_PPC, 179, SYSCALL_PREAD },
        /* s390x and s390 */
        { ARCH_S390X, 5, SYSCALL_OPEN }, { ARCH_S390X, 288, SYSCALL_OPENAT }, { ARCH_S390X, 180, SYSCALL_PREAD },
        { ARCH_S390X, 2, SYSCALL_FORK }, { ARCH_S390X, 120, SYSCALL_CLONE }, { ARCH_S390X, 11, SYSCALL_EXECVE },
        { ARCH_S390X, 248, SYSCALL_EXIT_GROUP },
        { ARCH_S390X, 220, SYSCALL_GETDENTS },  /* getdents64: not in libaudit 3.0.9's s390x table */
        { ARCH_S390, 140, SYSCALL_LLSEEK }, { ARCH_S390, 220, SYSCALL_GETDENTS },
        /* mmap: 90 is old_mmap(struct *) on i386 and s390x (sys_old_mmap), the
         * real one on ppc64; 192 is i386's mmap2, 222 arm64's mmap */
        { ARCH_I386, 90, SYSCALL_OLD_MMAP }, { ARCH_I386, 192, SYSCALL_MMAP },
        { ARCH_S390X, 90, SYSCALL_OLD_MMAP }, { ARCH_PPC64LE, 90, SYSCALL_MMAP },
        { ARCH_AARCH64, 222, SYSCALL_MMAP }, { ARCH_X86_64, 9, SYSCALL_MMAP },
};

static void test_numbers(void **state) {
        for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
                SyscallKind k = syscall_kind_from_arch(numbers[i].arch, numbers[i].nr);
                if (k != numbers[i].kind)
                        fail_msg("arch %08x nr %d: kind %d, expected %d", numbers[i].arch, numbers[i].nr,
                                 k, numbers[i].kind);
        }
}

static void test_names(void **state) {
        const SyscallAbi *a64 = syscall_abi_from_name("aarch64"), *arm = syscall_abi_from_name("arm");
        const char *sp;

        assert_non_null(a64);
        assert_non_null(arm);
        assert_string_equal(syscall_name_from_arch(ARCH_AARCH64, 56), "openat");
        assert_string_equal(syscall_name_from_arch(ARCH_AARCH64, 221), "execve");
        /* The kernel's names, in the ABI's spelling. */
        assert_int_equal(syscall_resolve(a64, "openat", &sp), 56);
        assert_int_equal(syscall_resolve(a64, "pread64", &sp), 67);
        assert_string_equal(sp, "pread");
        assert_int_equal(syscall_resolve(a64, "open", NULL), -ENOENT);
        assert_int_equal(syscall_resolve(a64, "fork", NULL), -ENOENT);
        assert_int_equal(syscall_resolve(a64, "dup2", NULL), -ENOENT);
        assert_int_equal(syscall_resolve(a64, "creat", NULL), -ENOENT);
        assert_int_equal(syscall_resolve(arm, "_llseek", &sp), 140);
        assert_string_equal(sp, "llseek");
        assert_int_equal(syscall_resolve(arm, "pread64", &sp), 180);
        assert_string_equal(sp, "pread64");
        assert_int_equal(syscall_resolve(syscall_abi_from_name("x86_64"), "pread64", &sp), 17);
        assert_string_equal(sp, "pread");
        assert_int_equal(syscall_resolve(syscall_abi_from_name("s390x"), "getdents64", &sp), 220);
        assert_string_equal(sp, "220");
        /* uname -m's names */
        assert_ptr_equal(syscall_abi_from_name("armv7l"), arm);
        assert_ptr_equal(syscall_abi_from_name("i686"), syscall_abi_from_name("i386"));
        assert_null(syscall_abi_from_name("riscv64"));
}

static void test_abis(void **state) {
        static const struct {
                uint32_t arch;
                const char *name;
                bool bits32;
                unsigned clone_flags_arg;
                SyscallPosition pread, preadv;
        } abis[] = {
                { ARCH_X86_64,  "x86_64",  false, 0, SYSCALL_POS_FULL,   SYSCALL_POS_FULL },
                { ARCH_I386,    "i386",    true,  0, SYSCALL_POS_LOW32,  SYSCALL_POS_LOW32 },
                { ARCH_AARCH64, "aarch64", false, 0, SYSCALL_POS_FULL,   SYSCALL_POS_FULL },
                /* arm EABI: pread64(fd, buf, count, pad, pos_lo, pos_hi) */
                { ARCH_ARM,     "arm",     true,  0, SYSCALL_POS_HIDDEN, SYSCALL_POS_LOW32 },
                { ARCH_PPC64,   "ppc64",   false, 0, SYSCALL_POS_FULL,   SYSCALL_POS_FULL },
                { ARCH_PPC64LE, "ppc64le", false, 0, SYSCALL_POS_FULL,   SYSCALL_POS_FULL },
                /* compat_sys_ppc_pread64(fd, buf, count, pad, pos1, pos2) */
                { ARCH_PPC,     "ppc",     true,  0, SYSCALL_POS_HIDDEN, SYSCALL_POS_LOW32 },
                /* clone(newsp, flags, ...) */
                { ARCH_S390X,   "s390x",   false, 1, SYSCALL_POS_FULL,   SYSCALL_POS_FULL },
                /* compat_sys_s390_pread64(fd, buf, count, high, low) */
                { ARCH_S390,    "s390",    true,  1, SYSCALL_POS_HIDDEN, SYSCALL_POS_LOW32 },
        };

        for (size_t i = 0; i < sizeof(abis) / sizeof(abis[0]); i++) {
                const SyscallAbi *a = syscall_abi_from_arch(abis[i].arch);
                assert_non_null(a);
                assert_string_equal(a->name, abis[i].name);
                assert_ptr_equal(syscall_abi_from_name(abis[i].name), a);
                assert_int_equal(a->bits32, abis[i].bits32);
                assert_int_equal(a->clone_flags_arg, abis[i].clone_flags_arg);
                assert_int_equal(a->pread_pos, abis[i].pread);
                assert_int_equal(a->preadv_pos, abis[i].preadv);
        }
        assert_null(syscall_abi_from_arch(ARCH_RISCV64));
        assert_false(syscall_arch_known(ARCH_RISCV64));
        assert_int_equal(syscall_kind_from_arch(ARCH_RISCV64, 56), SYSCALL_OTHER);
}

/* ---- the tracker on each ABI's events ---- */

typedef struct Rec {
        ActionOp op;
        uint32_t pid, child;
        int64_t offset, bytes, size;
} Rec;
static Rec recs[64];
static size_t n_recs;
static uint64_t serial;

static void on_action(const Action *a, void *userdata) {
        assert_true(n_recs < 64);
        recs[n_recs++] = (Rec) { .op = a->op, .pid = a->pid, .child = a->child, .offset = a->offset, .bytes = a->bytes,
                                 .size = a->size };
}

static Tracker *tracker(void) {
        Tracker *t;
        TrackerOptions o = {};
        n_recs = 0;
        assert_int_equal(tracker_new(&o, on_action, NULL, &t), 0);
        return t;
}

static void sc(Tracker *t, uint32_t arch, uint32_t pid, int nr, int64_t exit,
               uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3) {
        AuditEvent ev = {
                .sec = 1700000000, .serial = ++serial, .has_syscall = true, .arch = arch, .syscall = nr,
                .has_exit = true, .success = exit >= 0, .exit = exit, .a = { a0, a1, a2, a3 },
                .pid = pid, .ppid = 1, .auid = 1000, .uid = 1000, .comm = "\"t\"",
                .exe = "\"/usr/bin/t\"", .cwd = "\"/home/u\"",
        };
        tracker_handle_event(t, &ev);
}

static void open_at(Tracker *t, uint32_t arch, uint32_t pid, int nr, int fd) {
        AuditEvent ev = {
                .sec = 1700000000, .serial = ++serial, .has_syscall = true, .arch = arch, .syscall = nr,
                .has_exit = true, .success = true, .exit = fd, .pid = pid, .ppid = 1, .cwd = "\"/home/u\"",
                .a = { arch == ARCH_AARCH64 || arch == ARCH_X86_64 ? 0xffffffffffffff9cULL : 0xffffff9cULL, 0, 0, 0 },
                .n_paths = 1,
        };
        ev.paths[0] = (AuditPathRecord) { .item = 0, .name = "\"f\"", .nametype = "NORMAL",
                                          .mode = 0100644, .has_mode = true };
        tracker_handle_event(t, &ev);
}

#define SIGCHLD 17
#define CLONE_THREAD_FLAGS 0x3d0f00ULL    /* glibc's pthread_create */

static void test_tracker_aarch64(void **state) {
        Tracker *t = tracker();

        open_at(t, ARCH_AARCH64, 10, 56, 3);
        sc(t, ARCH_AARCH64, 10, 63, 100, 3, 0, 100, 0);          /* read */
        sc(t, ARCH_AARCH64, 10, 67, 10, 3, 0, 10, 4096);         /* pread64 */
        sc(t, ARCH_AARCH64, 10, 220, 11, SIGCHLD, 0, 0, 0);      /* clone: a fork */
        sc(t, ARCH_AARCH64, 10, 220, 12, CLONE_THREAD_FLAGS, 0, 0, 0);   /* a thread */
        sc(t, ARCH_AARCH64, 10, 2, 0, 3, 0, 0, 0);               /* io_submit, not open */

        assert_int_equal(n_recs, 4);
        assert_int_equal(recs[0].op, ACTION_OPEN);
        assert_int_equal(recs[1].op, ACTION_READ);
        assert_int_equal(recs[1].offset, 0);
        assert_int_equal(recs[1].bytes, 100);
        assert_int_equal(recs[2].op, ACTION_PREAD);
        assert_int_equal(recs[2].offset, 4096);
        assert_int_equal(recs[3].op, ACTION_FORK);
        assert_int_equal(recs[3].child, 11);
        tracker_free(t);
}

static void test_tracker_s390x_clone(void **state) {
        Tracker *t = tracker();

        /* clone(newsp = 0, flags): the flags are in a1. Read from a0, the
         * thread would be a fork and the fork's flags would be 0. */
        sc(t, ARCH_S390X, 10, 120, 11, 0, SIGCHLD, 0, 0);
        sc(t, ARCH_S390X, 10, 120, 12, 0, CLONE_THREAD_FLAGS, 0, 0);
        sc(t, ARCH_S390, 20, 120, 21, 0, CLONE_THREAD_FLAGS, 0, 0);
        assert_int_equal(n_recs, 1);
        assert_int_equal(recs[0].op, ACTION_FORK);
        assert_int_equal(recs[0].child, 11);
        tracker_free(t);
}

static void test_tracker_32bit_positions(void **state) {
        Tracker *t = tracker();

        /* i386 pread64(fd, buf, count, pos_lo, pos_hi): a3 is the low half. */
        open_at(t, ARCH_I386, 10, 295, 3);
        sc(t, ARCH_I386, 10, 180, 10, 3, 0, 10, 4096);
        /* arm EABI pread64(fd, buf, count, pad, pos_lo, pos_hi): a3 is a pad
         * (0 here), the position is not logged: not known, not 0. */
        open_at(t, ARCH_ARM, 20, 322, 3);
        sc(t, ARCH_ARM, 20, 180, 10, 3, 0, 10, 0);
        sc(t, ARCH_ARM, 20, 3, 5, 3, 0, 5, 0);                  /* read: does not move */
        /* arm preadv(fd, iov, cnt, pos_l, pos_h): a3 is the low half. */
        sc(t, ARCH_ARM, 20, 361, 7, 3, 0, 1, 8192);

        assert_int_equal(n_recs, 6);
        assert_int_equal(recs[1].op, ACTION_PREAD);
        assert_int_equal(recs[1].offset, 4096);
        assert_int_equal(recs[3].op, ACTION_PREAD);
        assert_true(recs[3].offset == OFFSET_UNKNOWN);
        assert_int_equal(recs[4].op, ACTION_READ);
        assert_int_equal(recs[4].offset, 0);
        assert_int_equal(recs[5].op, ACTION_PREADV);
        assert_int_equal(recs[5].offset, 8192);
        tracker_free(t);
}

static void test_tracker_preadv2_arm(void **state) {
        Tracker *t = tracker();

        open_at(t, ARCH_ARM, 20, 322, 3);
        sc(t, ARCH_ARM, 20, 3, 5, 3, 0, 5, 0);                  /* read 5 */
        /* preadv2 with position -1 (0xffffffff in a 32-bit register): at
         * the file position, a readv. */
        sc(t, ARCH_ARM, 20, 392, 2, 3, 0, 1, 0xffffffffULL);
        assert_int_equal(n_recs, 3);
        assert_int_equal(recs[2].op, ACTION_READV);
        assert_int_equal(recs[2].offset, 5);
        tracker_free(t);
}

static void test_tracker_truncate64(void **state) {
        Tracker *t = tracker();
        /* ftruncate64's 64-bit length: i386 (fd, lo, hi); arm EABI (fd, pad,
         * lo, hi); ppc32 (fd, pad, hi, lo); s390 (fd, hi, lo). 5 GiB each. */
        open_at(t, ARCH_I386, 10, 295, 3);
        sc(t, ARCH_I386, 10, 194, 0, 3, 0x40000000, 1, 0);
        open_at(t, ARCH_ARM, 20, 322, 3);
        sc(t, ARCH_ARM, 20, 194, 0, 3, 0, 0x40000000, 1);
        open_at(t, ARCH_PPC, 30, 286, 3);
        sc(t, ARCH_PPC, 30, 194, 0, 3, 0, 1, 0x40000000);
        open_at(t, ARCH_S390, 40, 288, 3);
        sc(t, ARCH_S390, 40, 194, 0, 3, 1, 0x40000000, 0);
        assert_int_equal(n_recs, 8);
        for (size_t i = 1; i < 8; i += 2) {
                assert_int_equal(recs[i].op, ACTION_TRUNCATE);
                assert_int_equal(recs[i].size, 0x140000000LL);
        }
        tracker_free(t);
}

/* The same calls on every ABI: the same actions. Numbers from the kernel's
 * tables: openat, read, write, lseek, close, clone, execve, exit_group. */
static void test_tracker_same_actions(void **state) {
        static const struct {
                uint32_t arch;
                int openat, read, write, lseek, close, clone, execve, exit_group;
                bool s390;
        } abis[] = {
                { ARCH_X86_64,  257,  0,  1,  8,  3,  56,  59, 231, false },
                { ARCH_I386,    295,  3,  4, 19,  6, 120,  11, 252, false },
                { ARCH_AARCH64,  56, 63, 64, 62, 57, 220, 221,  94, false },
                { ARCH_ARM,     322,  3,  4, 19,  6, 120,  11, 248, false },
                { ARCH_PPC64,   286,  3,  4, 19,  6, 120,  11, 234, false },
                { ARCH_PPC64LE, 286,  3,  4, 19,  6, 120,  11, 234, false },
                { ARCH_PPC,     286,  3,  4, 19,  6, 120,  11, 234, false },
                { ARCH_S390X,   288,  3,  4, 19,  6, 120,  11, 248, true },
                { ARCH_S390,    288,  3,  4, 19,  6, 120,  11, 248, true },
        };
        static const ActionOp ops[] = { ACTION_OPEN, ACTION_WRITE, ACTION_LSEEK, ACTION_READ, ACTION_CLOSE,
                                        ACTION_FORK, ACTION_EXEC, ACTION_EXIT };
        static const int64_t offsets[] = { OFFSET_UNKNOWN, 0, 10, 10, OFFSET_UNKNOWN };

        for (size_t i = 0; i < sizeof(abis) / sizeof(abis[0]); i++) {
                Tracker *t = tracker();
                uint32_t arch = abis[i].arch;

                open_at(t, arch, 10, abis[i].openat, 3);
                sc(t, arch, 10, abis[i].write, 100, 3, 0, 100, 0);
                sc(t, arch, 10, abis[i].lseek, 10, 3, 10, 0, 0);
                sc(t, arch, 10, abis[i].read, 20, 3, 0, 20, 0);
                sc(t, arch, 10, abis[i].close, 0, 3, 0, 0, 0);
                if (abis[i].s390)
                        sc(t, arch, 10, abis[i].clone, 11, 0, SIGCHLD, 0, 0);
                else
                        sc(t, arch, 10, abis[i].clone, 11, SIGCHLD, 0, 0, 0);
                sc(t, arch, 11, abis[i].execve, 0, 0, 0, 0, 0);
                {
                        AuditEvent ev = {
                                .sec = 1700000000, .serial = ++serial, .has_syscall = true, .arch = arch,
                                .syscall = abis[i].exit_group, .pid = 11, .ppid = 10, .auid = 1000, .uid = 1000,
                                .a = { 0 },
                        };
                        tracker_handle_event(t, &ev);
                }
                if (n_recs != sizeof(ops) / sizeof(ops[0]))
                        fail_msg("arch %08x: %zu actions", arch, n_recs);
                for (size_t k = 0; k < n_recs; k++) {
                        if (recs[k].op != ops[k])
                                fail_msg("arch %08x: action %zu is %d, expected %d", arch, k, recs[k].op, ops[k]);
                        if (k < 5 && recs[k].offset != offsets[k])
                                fail_msg("arch %08x: action %zu offset %lld", arch, k, (long long) recs[k].offset);
                }
                assert_int_equal(recs[5].child, 11);
                tracker_free(t);
        }
}

static void test_tracker_unknown_arch(void **state) {
        Tracker *t = tracker();
        TrackerStats st;

        sc(t, ARCH_RISCV64, 10, 220, 11, SIGCHLD, 0, 0, 0);
        sc(t, ARCH_RISCV64, 10, 221, 0, 0, 0, 0, 0);
        sc(t, ARCH_AARCH64, 10, 220, 11, SIGCHLD, 0, 0, 0);
        tracker_get_stats(t, &st);
        assert_int_equal(n_recs, 1);
        assert_int_equal(st.unknown_arch_events, 2);
        assert_int_equal(st.unknown_arch, ARCH_RISCV64);
        tracker_free(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_numbers),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_abis),
                cmocka_unit_test(test_tracker_aarch64),
                cmocka_unit_test(test_tracker_s390x_clone),
                cmocka_unit_test(test_tracker_32bit_positions),
                cmocka_unit_test(test_tracker_preadv2_arm),
                cmocka_unit_test(test_tracker_truncate64),
                cmocka_unit_test(test_tracker_same_actions),
                cmocka_unit_test(test_tracker_unknown_arch),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
