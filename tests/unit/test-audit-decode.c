/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/audit-decode.h"
#include "shared/macro.h"
#include "shared/path-util.h"

typedef struct Seen {
        uint64_t serial;
        int syscall;
        uint32_t pid;
        int64_t exit;
        uint64_t a0;
        bool malformed, has_syscall;
        char cwd[64], name[64], node[32];
        unsigned n_paths;
        bool has_mmap;
        int mmap_fd;
        uint64_t mmap_flags;
        /* what the unused-field cut must leave (the cut drops suid, fsuid,
         * ses and others with similar names) */
        uint32_t ppid, auid, uid, mode;
        bool success;
        char comm[32], exe[64], key[32], nametype[16];
        bool has_login;
        uint32_t login_pid, login_auid;
} Seen;

static Seen seen[64];
static size_t n_seen;

static void on_event(const AuditEvent *ev, void *userdata) {
        Seen *s = &seen[n_seen++];
        size_t n;

        assert_true(n_seen < 64);
        *s = (Seen) { .serial = ev->serial, .syscall = ev->syscall, .pid = ev->pid, .exit = ev->exit,
                      .a0 = ev->a[0], .malformed = ev->malformed, .has_syscall = ev->has_syscall,
                      .n_paths = ev->n_paths, .has_mmap = ev->has_mmap, .mmap_fd = ev->mmap_fd,
                      .mmap_flags = ev->mmap_flags, .has_login = ev->has_login,
                      .login_pid = ev->login_pid, .login_auid = ev->login_auid };
        snprintf(s->node, sizeof(s->node), "%s", ev->node ?: "");
        if (ev->cwd)
                assert_int_equal(audit_value_decode(ev->cwd, s->cwd, sizeof(s->cwd), &n), 0);
        if (ev->n_paths > 0 && ev->paths[0].name)
                (void) audit_value_decode(ev->paths[0].name, s->name, sizeof(s->name), &n);
        s->ppid = ev->ppid;
        s->auid = ev->auid;
        s->uid = ev->uid;
        s->success = ev->success;
        snprintf(s->comm, sizeof(s->comm), "%s", ev->comm ?: "");
        snprintf(s->exe, sizeof(s->exe), "%s", ev->exe ?: "");
        snprintf(s->key, sizeof(s->key), "%s", ev->key ?: "");
        if (ev->n_paths > 0) {
                s->mode = ev->paths[0].mode;
                snprintf(s->nametype, sizeof(s->nametype), "%s", ev->paths[0].nametype ?: "");
        }
}

#define SYSCALL(ser, pid, exit) \
        "type=SYSCALL msg=audit(1795265019.753:" #ser "): arch=c000003e syscall=257 success=yes exit=" #exit \
        " a0=ffffff9c a1=5633fae63c80 a2=241 a3=1b6 items=1 ppid=1 pid=" #pid " auid=1000 uid=1000 gid=0" \
        " euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=2 comm=\"bash\" exe=\"/usr/bin/bash\"" \
        " key=\"fsmon\"\n"
#define CWD(ser) "type=CWD msg=audit(1795265019.753:" #ser "): cwd=\"/tmp/x\"\n"
#define PATH(ser) "type=PATH msg=audit(1795265019.753:" #ser "): item=0 name=61206220C3A92E747874 inode=1 dev=fe:00" \
        " mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0\n"
#define EOE(ser) "type=EOE msg=audit(1795265019.753:" #ser "): \n"
#define EVENT(ser, pid) SYSCALL(ser, pid, 3) CWD(ser) PATH(ser) EOE(ser)

static AuditDecoder *decoder(void) {
        AuditDecoder *d;
        n_seen = 0;
        assert_int_equal(audit_decoder_new(on_event, NULL, &d), 0);
        return d;
}

/* The kernel's record of a process setting its login uid (as the kernel
 * 6.x wrote it in a fixture); a refused one (res=0) does not count. */
static void test_login(void **state) {
        AuditDecoder *d = decoder();
        const char *log =
                "type=LOGIN msg=audit(1796350100.746:542732): pid=14569 uid=0 old-auid=4294967295 auid=2718281"
                " tty=(none) old-ses=4294967295 ses=48 res=1\n"
                "type=LOGIN msg=audit(1796350100.747:542733): pid=14570 uid=0 old-auid=4294967295 auid=2718282"
                " tty=(none) old-ses=4294967295 ses=49 res=0\n"
                EVENT(542734, 14569);
        bool found = false;

        assert_int_equal(audit_decoder_feed(d, log, strlen(log)), 0);
        assert_int_equal(audit_decoder_flush(d), 0);
        for (size_t i = 0; i < n_seen; i++) {
                if (seen[i].serial == 542732) {
                        assert_true(seen[i].has_login);
                        assert_int_equal(seen[i].login_pid, 14569);
                        assert_int_equal(seen[i].login_auid, 2718281);
                        found = true;
                } else
                        assert_false(seen[i].has_login);
        }
        assert_true(found);
        audit_decoder_free(d);
}

static void test_one_event(void **state) {
        AuditDecoder *d = decoder();
        const char *log = EVENT(11, 2947);

        assert_int_equal(audit_decoder_feed(d, log, strlen(log)), 0);
        assert_int_equal(audit_decoder_flush(d), 0);
        assert_int_equal(n_seen, 1);
        assert_int_equal(seen[0].serial, 11);
        assert_int_equal(seen[0].syscall, 257);
        assert_int_equal(seen[0].pid, 2947);
        assert_int_equal(seen[0].exit, 3);
        assert_int_equal(seen[0].a0, 0xffffff9c);
        assert_false(seen[0].malformed);
        assert_string_equal(seen[0].cwd, "/tmp/x");
        assert_string_equal(seen[0].name, "a b \xc3\xa9.txt");
        assert_int_equal(seen[0].ppid, 1);
        assert_int_equal(seen[0].auid, 1000);
        assert_int_equal(seen[0].uid, 1000);
        assert_true(seen[0].success);
        assert_string_equal(seen[0].comm, "\"bash\"");
        assert_string_equal(seen[0].exe, "\"/usr/bin/bash\"");
        assert_string_equal(seen[0].key, "\"fsmon\"");
        assert_int_equal(seen[0].mode, 0100644);
        assert_string_equal(seen[0].nametype, "NORMAL");
        assert_int_equal(audit_decoder_get_stats(d).malformed_lines, 0);
        audit_decoder_free(d);
}

static void test_fast_and_slow_paths_agree(void **state) {
        /* A SYSCALL line followed by its EOE (or PROCTITLE) is decoded
         * without auparse; with a CWD record between, auparse decodes it.
         * Both must give the same event; events of both kinds in one feed
         * come in serial order, none left held. */
        AuditDecoder *d = decoder();
        const char *log =
                SYSCALL(20, 200, 7) CWD(20) EOE(20)
                SYSCALL(21, 200, 7) EOE(21)
                SYSCALL(22, 200, 7)
                "type=PROCTITLE msg=audit(1795265019.753:22): proctitle=626173680000\n"
                SYSCALL(23, 201, 8) CWD(23) PATH(23) EOE(23)
                SYSCALL(24, 201, 8) "type=EOE msg=audit(1795265019.753:99): \n" EOE(24);

        assert_int_equal(audit_decoder_feed(d, log, strlen(log)), 0);
        assert_int_equal(audit_decoder_get_stats(d).held, 0);
        assert_int_equal(audit_decoder_flush(d), 0);
        assert_int_equal(n_seen, 5);
        for (size_t i = 0; i < n_seen; i++) {
                assert_int_equal(seen[i].serial, 20 + i);
                assert_false(seen[i].malformed);
                assert_true(seen[i].has_syscall);
                assert_int_equal(seen[i].syscall, 257);
                assert_int_equal(seen[i].pid, i < 3 ? 200 : 201);
                assert_int_equal(seen[i].exit, i < 3 ? 7 : 8);
                assert_int_equal(seen[i].a0, 0xffffff9c);
                assert_int_equal(seen[i].ppid, 1);
                assert_int_equal(seen[i].auid, 1000);
                assert_int_equal(seen[i].uid, 1000);
                assert_true(seen[i].success);
                assert_string_equal(seen[i].comm, "\"bash\"");
                assert_string_equal(seen[i].exe, "\"/usr/bin/bash\"");
                assert_string_equal(seen[i].key, "\"fsmon\"");
        }
        assert_string_equal(seen[0].cwd, "/tmp/x");
        assert_string_equal(seen[1].cwd, "");
        assert_int_equal(seen[3].n_paths, 1);
        assert_int_equal(audit_decoder_get_stats(d).events, 5);
        audit_decoder_free(d);
}

static void test_unused_fields_cut(void **state) {
        /* Fields in another order, the unused ones between, after and with
         * names that begin like used ones: the used ones are all read. */
        AuditDecoder *d = decoder();
        const char *log =
                "type=SYSCALL msg=audit(1795265019.753:13): fsuid=0 arch=c000003e suid=5 syscall=257 ses=3"
                " success=no exit=-2 items=1 a0=ffffff9c a1=1 a2=0 a3=0 tty=(none) ppid=9 euid=0 pid=99"
                " egid=0 auid=1001 gid=0 uid=1002 sgid=0 fsgid=0 comm=\"x\" subj=unconfined exe=\"/x\""
                " key=\"fsmon\"  \n"
                "type=PATH msg=audit(1795265019.753:13): inode=5 item=0 dev=fe:00 name=\"/etc/y\" ouid=0"
                " mode=040755 ogid=0 rdev=00:00 nametype=PARENT cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0"
                " cap_frootid=0\n"
                EOE(13);

        assert_int_equal(audit_decoder_feed(d, log, strlen(log)), 0);
        assert_int_equal(n_seen, 1);
        assert_false(seen[0].malformed);
        assert_int_equal(seen[0].syscall, 257);
        assert_int_equal(seen[0].exit, -2);
        assert_false(seen[0].success);
        assert_int_equal(seen[0].pid, 99);
        assert_int_equal(seen[0].ppid, 9);
        assert_int_equal(seen[0].auid, 1001);
        assert_int_equal(seen[0].uid, 1002);
        assert_string_equal(seen[0].comm, "\"x\"");
        assert_string_equal(seen[0].exe, "\"/x\"");
        assert_string_equal(seen[0].key, "\"fsmon\"");
        assert_int_equal(seen[0].n_paths, 1);
        assert_string_equal(seen[0].name, "/etc/y");
        assert_int_equal(seen[0].mode, 040755);
        assert_string_equal(seen[0].nametype, "PARENT");
        audit_decoder_free(d);
}

static void test_enriched(void **state) {
        AuditDecoder *d = decoder();
        const char *log =
                "type=SYSCALL msg=audit(1795265019.753:12): arch=c000003e syscall=0 success=yes exit=5 a0=3"
                " a1=7 a2=100 a3=0 items=0 ppid=1 pid=77 auid=1000 uid=1000 comm=\"cat\" exe=\"/usr/bin/cat\""
                " key=\"fsmon\"\x1d" "ARCH=x86_64 SYSCALL=read AUID=\"u\" UID=\"u\"\n"
                EOE(12);

        assert_int_equal(audit_decoder_feed(d, log, strlen(log)), 0);
        assert_int_equal(audit_decoder_flush(d), 0);
        assert_int_equal(n_seen, 1);
        assert_int_equal(seen[0].syscall, 0);
        assert_int_equal(seen[0].exit, 5);
        assert_int_equal(seen[0].pid, 77);
        assert_false(seen[0].malformed);
        audit_decoder_free(d);
}

static void test_split_reads(void **state) {
        const char *log = EVENT(1, 10) EVENT(2, 11) EVENT(3, 12);
        size_t len = strlen(log);

        for (size_t chunk = 1; chunk < 200; chunk += 37) {
                AuditDecoder *d = decoder();
                for (size_t i = 0; i < len; i += chunk)
                        assert_int_equal(audit_decoder_feed(d, log + i, MIN(chunk, len - i)), 0);
                assert_int_equal(audit_decoder_flush(d), 0);
                assert_int_equal(n_seen, 3);
                for (size_t i = 0; i < 3; i++) {
                        assert_int_equal(seen[i].serial, i + 1);
                        assert_int_equal(seen[i].pid, 10 + i);
                        assert_string_equal(seen[i].name, "a b \xc3\xa9.txt");
                }
                assert_int_equal(audit_decoder_get_stats(d).malformed_lines, 0);
                audit_decoder_free(d);
        }
}

static void test_interleaved_and_no_eoe(void **state) {
        AuditDecoder *d = decoder();
        const char *log =
                SYSCALL(5, 50, 3) SYSCALL(6, 60, 4) CWD(6) CWD(5) PATH(5) PATH(6) EOE(6) EOE(5)
                SYSCALL(7, 70, 5) SYSCALL(8, 80, 6);    /* the last two never get an EOE */

        assert_int_equal(audit_decoder_feed(d, log, strlen(log)), 0);
        assert_int_equal(audit_decoder_flush(d), 0);
        assert_int_equal(n_seen, 4);
        for (size_t i = 0; i < 4; i++) {
                Seen *s = NULL;
                for (size_t j = 0; j < n_seen; j++)
                        if (seen[j].serial == 5 + i)
                                s = &seen[j];
                assert_non_null(s);
                assert_int_equal(s->pid, 50 + 10 * i);
                assert_int_equal(s->exit, 3 + i);
                assert_int_equal(s->n_paths, i < 2 ? 1 : 0);
        }
        audit_decoder_free(d);
}

static void test_serial_order(void **state) {
        /* 6 completes (its EOE) before 5: 5 must still come first. */
        AuditDecoder *d = decoder();
        const char *log =
                SYSCALL(5, 50, 3) SYSCALL(6, 60, 4) CWD(6) PATH(6) EOE(6) CWD(5) PATH(5) EOE(5)
                EVENT(7, 70);

        assert_int_equal(audit_decoder_feed(d, log, strlen(log)), 0);
        assert_int_equal(audit_decoder_flush(d), 0);
        assert_int_equal(n_seen, 3);
        assert_int_equal(seen[0].serial, 5);
        assert_int_equal(seen[1].serial, 6);
        assert_int_equal(seen[2].serial, 7);
        /* the held event kept its strings */
        assert_string_equal(seen[1].cwd, "/tmp/x");
        assert_string_equal(seen[1].name, "a b \xc3\xa9.txt");
        audit_decoder_free(d);
}

static void test_serial_order_many_open(void **state) {
        /* Forty events open at once in one feed (a live batch), their
         * records and EOEs in two other orders: handed over in serial order,
         * each once, by the feed (none is left held for the flush). */
        AuditDecoder *d = decoder();
        char log[40 * 700], *p = log;

        for (unsigned i = 0; i < 40; i++)
                p += sprintf(p, SYSCALL(%u, %u, 3), 100 + (i * 7) % 40, 1000 + (i * 7) % 40);
        for (unsigned i = 0; i < 40; i++)
                p += sprintf(p, EOE(%u), 100 + (i * 11) % 40);
        assert_int_equal(audit_decoder_feed(d, log, p - log), 0);
        assert_int_equal(n_seen, 40);
        assert_int_equal(audit_decoder_get_stats(d).open, 0);
        assert_int_equal(audit_decoder_get_stats(d).held, 0);
        assert_int_equal(audit_decoder_flush(d), 0);
        assert_int_equal(n_seen, 40);
        for (size_t i = 0; i < n_seen; i++) {
                assert_int_equal(seen[i].serial, 100 + i);
                assert_int_equal(seen[i].pid, 1000 + i);
        }
        audit_decoder_free(d);
}

static void test_lost_records_do_not_block(void **state) {
        /* Live, after a multicast overflow: only the EOE of event 10 arrived.
         * Event 11 must not wait for it for good. */
        AuditDecoder *d = decoder();
        const char *log = EOE(10) EVENT(11, 110);
        bool seen11 = false;

        assert_int_equal(audit_decoder_feed(d, log, strlen(log)), 0);
        for (int i = 0; i < 5; i++)
                audit_decoder_age(d);
        for (size_t i = 0; i < n_seen; i++)
                seen11 |= seen[i].serial == 11;
        assert_true(seen11);
        audit_decoder_free(d);
}

static void test_late_eoe_does_not_hold(void **state) {
        /* Event 5 was completed before its EOE came (a tick cut it: its
         * blocking syscall was stamped at entry, seconds before). The late
         * EOE must not open serial 5 again and hold event 6 back (bench/live
         * saw 2,000 events and 37 MiB held until the serial aged out). */
        AuditDecoder *d = decoder();
        const char *first = EVENT(5, 50);
        const char *later = EOE(5) EVENT(6, 60);

        assert_int_equal(audit_decoder_feed(d, first, strlen(first)), 0);
        assert_int_equal(audit_decoder_feed(d, later, strlen(later)), 0);
        assert_int_equal(n_seen, 2);
        assert_int_equal(seen[1].serial, 6);
        audit_decoder_free(d);
}

static void test_eoe_hands_over_at_once(void **state) {
        /* The last event of a burst, complete with its EOE, is handed over
         * by the feed that brought the EOE: not only by a later feed, tick
         * or flush (a stop would otherwise leave it to the next start). */
        AuditDecoder *d = decoder();
        const char *log = EVENT(5, 50);

        assert_int_equal(audit_decoder_feed(d, log, strlen(log)), 0);
        assert_int_equal(n_seen, 1);
        assert_int_equal(seen[0].serial, 5);
        audit_decoder_free(d);
}

static void test_lagging_stream_is_not_split(void **state) {
        /* Live, behind the clock (these time stamps are long past): the tick
         * comes between the first records of event 5 and the rest, which
         * were still queued in the socket. Event 5 must stay whole. */
        AuditDecoder *d = decoder();
        const char *first = SYSCALL(5, 50, 3) CWD(5);
        const char *rest = PATH(5) EOE(5) EVENT(6, 60);

        assert_int_equal(audit_decoder_feed(d, first, strlen(first)), 0);
        audit_decoder_age(d);
        assert_int_equal(audit_decoder_feed(d, rest, strlen(rest)), 0);
        audit_decoder_age(d);
        assert_int_equal(audit_decoder_flush(d), 0);
        assert_int_equal(n_seen, 2);
        assert_int_equal(seen[0].serial, 5);
        assert_string_equal(seen[0].name, "a b \xc3\xa9.txt");
        assert_string_equal(seen[0].cwd, "/tmp/x");
        assert_int_equal(seen[1].serial, 6);
        audit_decoder_free(d);
}

static void test_bad_input(void **state) {
        AuditDecoder *d = decoder();
        char *big = malloc(1024 * 1024 + 2);
        static const char binary[] = "\x00\x01\x02\xff\xfe garbage\x7f\n";
        const char *lines[] = {
                "type=SYSCALL msg=audit(1795265019.753:\n",                 /* truncated */
                "hello world\n",                                             /* garbage */
                "type=UNKNOWN[9999] msg=audit(1795265019.753:30): foo=bar\n",/* unknown type: valid line */
                "type=SYSCALL msg=audit(1795265019.753:31): arch=c000003e syscall=0 success=yes exit=1 "
                        "a0=3 a1=0 a2=1 a3=0 items=0 ppid=1 pid=99999999999999999999999 auid=1 uid=1\n",
                "type=SYSCALL msg=audit(1795265019.753:32): arch=c000003e syscall=0 success=yes "
                        "exit=99999999999999999999 a0=3 a1=0 a2=1 a3=0 items=0 ppid=1 pid=9 auid=1 uid=1\n",
                "type=SYSCALL msg=audit(1795265019.753:33): arch=c000003e syscall=0 success=yes exit=1 "
                        "a0=fffffffffffffffffff a1=0 a2=1 a3=0 items=0 ppid=1 pid=9 auid=1 uid=1\n",
                "type=SYSCALL msg=audit(1795265019.753:34): syscall=0 success=yes exit=1 "
                        "a0=3 a1=0 a2=1 a3=0 items=0 ppid=1 pid=9 auid=1 uid=1\n",  /* no arch */
                "type=SYSCALL msg=audit(99999999999999999999999.753:35): arch=c000003e\n",
                "type=SYSCALL msg=audit(1795265019.75312:36): arch=c000003e\n",
                "type=PATH msg=audit(1795265019.753:40): item=0 name=\"/x\" mode=0100644\n", /* before its SYSCALL */
                "type=SYSCALL msg=audit(1795265019.753:40): arch=c000003e syscall=2 success=yes exit=3 "
                        "a0=1 a1=0 a2=0 a3=0 items=1 ppid=1 pid=40 auid=1 uid=1\n",
        };

        memset(big, 'A', 1024 * 1024);
        memcpy(big, "type=SYSCALL msg=audit(1795265019.753:20): ", 44);
        big[1024 * 1024] = '\n';

        for (size_t i = 0; i < ELEMENTSOF(lines); i++)
                assert_int_equal(audit_decoder_feed(d, lines[i], strlen(lines[i])), 0);
        assert_int_equal(audit_decoder_feed(d, binary, sizeof(binary) - 1), 0);
        assert_int_equal(audit_decoder_feed(d, big, 1024 * 1024 + 1), 0);
        /* a good event after all that, and a torn last line */
        const char *good = EVENT(50, 500) "type=SYSCALL msg=audit(1795265019.7";
        assert_int_equal(audit_decoder_feed(d, good, strlen(good)), 0);
        assert_int_equal(audit_decoder_flush(d), 0);

        const AuditDecoderStats st = audit_decoder_get_stats(d);
        /* truncated, garbage, 2 bad timestamps, binary, 1 MB, torn tail */
        assert_int_equal(st.malformed_lines, 7);
        /* pid, exit, a0 overflow; missing arch */
        assert_int_equal(st.malformed_events, 4);

        bool good_seen = false, path_first_seen = false;
        for (size_t i = 0; i < n_seen; i++) {
                if (seen[i].serial == 50) {
                        good_seen = true;
                        assert_int_equal(seen[i].pid, 500);
                        assert_false(seen[i].malformed);
                }
                if (seen[i].serial == 40) {
                        path_first_seen = true;
                        assert_int_equal(seen[i].pid, 40);
                        assert_int_equal(seen[i].n_paths, 1);
                        assert_string_equal(seen[i].name, "/x");
                }
        }
        assert_true(good_seen);
        assert_true(path_first_seen);
        free(big);
        audit_decoder_free(d);
}

/* s with every "\n" made "\r\n". */
static char *crlf(const char *s) {
        char *c = malloc(strlen(s) * 2 + 1), *p = c;

        assert_non_null(c);
        for (; *s; s++) {
                if (*s == '\n')
                        *p++ = '\r';
                *p++ = *s;
        }
        *p = 0;
        return c;
}

static void test_crlf(void **state) {
        _cleanup_free_ char *log = crlf(EVENT(11, 2947) EVENT(12, 2947));
        size_t n = strlen(log), cut;
        AuditDecoder *d = decoder();

        /* One chunk boundary between a '\r' and its '\n'. */
        cut = strchr(log, '\n') - log;
        assert_int_equal(audit_decoder_feed(d, log, cut), 0);
        assert_int_equal(audit_decoder_feed(d, log + cut, n - cut), 0);
        assert_int_equal(audit_decoder_flush(d), 0);
        assert_int_equal(n_seen, 2);
        for (unsigned i = 0; i < 2; i++) {
                assert_false(seen[i].malformed);
                assert_int_equal(seen[i].exit, 3);
                assert_string_equal(seen[i].cwd, "/tmp/x");
                assert_string_equal(seen[i].name, "a b \xc3\xa9.txt");
        }
        assert_int_equal(audit_decoder_get_stats(d).malformed_lines, 0);
        audit_decoder_free(d);
}

static void test_nodes(void **state) {
        /* A collector's log: two hosts, the same serial on both. */
        const char *log =
                "node=alpha " SYSCALL(11, 100, 3) "node=alpha " CWD(11)
                "node=beta " SYSCALL(11, 100, 4) "node=beta " CWD(11)
                "node=alpha " EOE(11) "node=beta " EOE(11);
        AuditDecoder *d = decoder();

        assert_int_equal(audit_decoder_feed(d, log, strlen(log)), 0);
        assert_int_equal(audit_decoder_flush(d), 0);
        assert_int_equal(n_seen, 2);
        assert_string_equal(seen[0].node, "alpha");
        assert_int_equal(seen[0].exit, 3);
        assert_string_equal(seen[1].node, "beta");
        assert_int_equal(seen[1].exit, 4);
        assert_false(seen[0].malformed || seen[1].malformed);
        audit_decoder_free(d);
}

static void test_mmap_record(void **state) {
        const char *log =
                "type=SYSCALL msg=audit(1795265019.753:20): arch=c000003e syscall=9 success=yes"
                " exit=140313006333952 a0=0 a1=c a2=1 a3=1 items=0 ppid=1 pid=5 auid=1000 uid=1000 gid=0"
                " euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=2 comm=\"x\" exe=\"/x\" key=\"k\"\n"
                "type=MMAP msg=audit(1795265019.753:20): fd=3 flags=0x1\n"
                "type=EOE msg=audit(1795265019.753:20): \n"
                "type=SYSCALL msg=audit(1795265019.753:21): arch=c000003e syscall=9 success=yes"
                " exit=140313006333952 a0=0 a1=c a2=1 a3=1 items=0 ppid=1 pid=5 auid=1000 uid=1000 gid=0"
                " euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=2 comm=\"x\" exe=\"/x\" key=\"k\"\n"
                "type=MMAP msg=audit(1795265019.753:21): fd=zz flags=0x1\n"
                "type=EOE msg=audit(1795265019.753:21): \n";
        AuditDecoder *d = decoder();

        assert_int_equal(audit_decoder_feed(d, log, strlen(log)), 0);
        assert_int_equal(audit_decoder_flush(d), 0);
        assert_int_equal(n_seen, 2);
        assert_true(seen[0].has_mmap);
        assert_int_equal(seen[0].mmap_fd, 3);
        assert_int_equal(seen[0].mmap_flags, 1);
        assert_false(seen[0].malformed);
        assert_true(seen[1].malformed);         /* a bad fd is not a guess */
        audit_decoder_free(d);
}

static void test_line_validity(void **state) {
        assert_true(audit_line_is_valid("type=EOE msg=audit(1.2:3): ", 27));
        assert_true(audit_line_is_valid("node=h1 type=EOE msg=audit(1.2:3): ", 35));
        assert_false(audit_line_is_valid("type=EOE msg=audit(1.2:3)", 25));
        assert_false(audit_line_is_valid("type= msg=audit(1.2:3): ", 24));
        assert_false(audit_line_is_valid("type=EOE msg=audit(.2:3): ", 26));
        assert_false(audit_line_is_valid("type=EOE msg=audit(1.2:3):\x01", 27));
        assert_false(audit_line_is_valid("", 0));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_crlf),
                cmocka_unit_test(test_nodes),
                cmocka_unit_test(test_mmap_record),
                cmocka_unit_test(test_one_event),
                cmocka_unit_test(test_enriched),
                cmocka_unit_test(test_unused_fields_cut),
                cmocka_unit_test(test_fast_and_slow_paths_agree),
                cmocka_unit_test(test_split_reads),
                cmocka_unit_test(test_interleaved_and_no_eoe),
                cmocka_unit_test(test_serial_order),
                cmocka_unit_test(test_serial_order_many_open),
                cmocka_unit_test(test_lost_records_do_not_block),
                cmocka_unit_test(test_lagging_stream_is_not_split),
                cmocka_unit_test(test_eoe_hands_over_at_once),
                cmocka_unit_test(test_late_eoe_does_not_hold),
                cmocka_unit_test(test_bad_input),
                cmocka_unit_test(test_line_validity),
                cmocka_unit_test(test_login),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
