/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fsmond's upload glue (daemon/service/upload-manager.c) with the real manager and a
 * real spool, against test-upload.sh's sshd (not installed):
 *
 *   test-upload-manager right|wrong STATE_DIR PORT USER REMOTE_DIR KNOWN_HOSTS < password
 *
 * Fills a fresh spool under STATE_DIR/spool with three closed segments
 * (copied to STATE_DIR/expected/ before the upload) and an open one, then
 * starts the upload through manager.h's hook, as Upload(password) does, and
 * runs the event loop until manager_upload_finished().
 *   right: the result is success, the spool is empty afterwards (the open
 *          segment was closed and sent too); the shell compares the files.
 *   wrong: the result is wrong-password and the spool still holds every
 *          segment. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "shared/log.h"
#include "bus/manager.h"
#include "store/spool.h"
#include "service/upload-manager.h"

static int copy_file(const char *from, const char *to) {
        char buf[65536];
        ssize_t k;
        int in, out, r = 0;

        in = open(from, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return -errno;
        out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (out < 0) {
                r = -errno;
                close(in);
                return r;
        }
        while ((k = read(in, buf, sizeof(buf))) > 0)
                if (write(out, buf, (size_t) k) != k) {
                        r = -EIO;
                        break;
                }
        if (k < 0)
                r = -errno;
        close(in);
        close(out);
        return r;
}

static int append_records(Spool *s, uint64_t *serial, unsigned n) {
        char line[256];
        int r;

        for (unsigned i = 0; i < n; i++) {
                int len;

                (*serial)++;
                len = snprintf(line, sizeof(line),
                               "{\"op\":\"read\",\"time\":\"1700000000.%03u\",\"serial\":%" PRIu64
                               ",\"pid\":4242,\"path\":\"/a/b/c\",\"fd\":3,\"offset\":%u,\"bytes\":4096}",
                               i % 1000, *serial, i * 4096);
                r = spool_append(s, line, (size_t) len, *serial);
                if (r != 0)
                        return r < 0 ? r : -ENOSPC;
        }
        return spool_flush(s);
}

int main(int argc, char *argv[]) {
        _cleanup_free_ char *spool_dir = NULL, *expected_dir = NULL;
        _cleanup_free_ SpoolSegment *segs = NULL;
        UploadManager *um = NULL;
        Manager *m = NULL;
        Spool *spool = NULL;
        SpoolConfig sc;
        SpoolStats st;
        Config cfg = {};
        char password[256];
        uint64_t serial = 0;
        size_t n = 0, len;
        bool right;
        int state_fd, r;

        if (argc != 7 || (strcmp(argv[1], "right") != 0 && strcmp(argv[1], "wrong") != 0)) {
                fprintf(stderr, "usage: %s right|wrong STATE_DIR PORT USER REMOTE_DIR KNOWN_HOSTS < password\n", argv[0]);
                return 2;
        }
        right = strcmp(argv[1], "right") == 0;
        log_set_max_level(LOG_DEBUG);
        if (sodium_init() < 0)
                return 2;
        if (!fgets(password, sizeof(password), stdin))
                return 2;
        len = strcspn(password, "\n");
        password[len] = 0;

        if (asprintf(&spool_dir, "%s/spool", argv[2]) < 0 || asprintf(&expected_dir, "%s/expected", argv[2]) < 0)
                return 2;
        if (mkdir(expected_dir, 0700) < 0 && errno != EEXIST)
                return 2;

        spool_config_init(&sc);
        sc.path = spool_dir;
        sc.host_id = "manager-test";
        sc.key_epoch = "0123456789abcdef";
        r = spool_open(&sc, &spool);
        if (r < 0) {
                log_error_errno(r, "spool_open: %m");
                return 2;
        }

        /* Three closed segments, copied for the comparison ... */
        for (unsigned i = 0; i < 3; i++) {
                r = append_records(spool, &serial, 2000 + 500 * i);
                if (r < 0 || spool_rotate(spool) < 0) {
                        log_error_errno(r, "cannot fill the spool: %m");
                        return 2;
                }
        }
        r = spool_list(spool, &segs, &n);
        if (r < 0 || n != 3) {
                log_error("spool_list: %d segments, r=%d", (int) n, r);
                return 1;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *from = NULL, *to = NULL;

                if (asprintf(&from, "%s/%s", spool_dir, segs[i].name) < 0 ||
                    asprintf(&to, "%s/%s", expected_dir, segs[i].name) < 0 ||
                    copy_file(from, to) < 0)
                        return 2;
        }
        /* ... and an open one, which Upload() closes and sends too. */
        r = append_records(spool, &serial, 100);
        if (r < 0)
                return 2;
        spool_get_stats(spool, &st);
        printf("before: %" PRIu32 " segments (%" PRIu32 " closed)\n", st.segments, st.closed_segments);

        r = manager_new(&m, NULL);
        if (r < 0) {
                log_error_errno(r, "manager_new: %m");
                return 2;
        }
        r = upload_manager_new(&um, m, spool, "manager-test");
        if (r < 0) {
                log_error_errno(r, "upload_manager_new: %m");
                return 2;
        }
        cfg.upload_host = (char *) "127.0.0.1";
        cfg.upload_port = (uint16_t) atoi(argv[3]);
        cfg.upload_user = argv[4];
        cfg.upload_remote_dir = argv[5];
        cfg.upload_known_hosts = argv[6];
        if (upload_manager_set_config(um, &cfg) < 0)
                return 2;
        state_fd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (state_fd < 0 || upload_manager_set_state_dir(um, state_fd) < 0)
                return 2;
        upload_manager_log_startup(um);

        /* What bus-manager.c does for Upload(password) once polkit said yes. */
        if (!m->upload_hook) {
                log_error("upload_manager_new() attached no hook");
                return 1;
        }
        m->upload_running = true;
        r = m->upload_hook(m, password, len, m->upload_userdata);
        sodium_memzero(password, sizeof(password));
        if (r < 0) {
                log_error_errno(r, "the upload hook failed: %m");
                return 1;
        }
        while (m->upload_running) {
                r = sd_event_run(m->event, UINT64_MAX);
                if (r < 0) {
                        log_error_errno(r, "sd_event_run: %m");
                        return 2;
                }
        }

        free(segs);
        segs = NULL;
        r = spool_list(spool, &segs, &n);
        spool_get_stats(spool, &st);
        printf("result %s\n", m->last_upload_result);
        printf("after: %zu closed segments listed, %" PRIu32 " segments\n", n, st.segments);
        printf("manager: spool_segments=%" PRIu32 " last_upload=%" PRIu64 "\n", m->spool_segments, m->last_upload);

        if (right)
                r = strcmp(m->last_upload_result, manager_upload_result_to_string(MANAGER_UPLOAD_SUCCESS)) == 0 &&
                    n == 0 && st.segments == 0 && m->spool_segments == 0 && m->last_upload > 0 ? 0 : 1;
        else
                r = strcmp(m->last_upload_result,
                           manager_upload_result_to_string(MANAGER_UPLOAD_WRONG_PASSWORD)) == 0 &&
                    n > 0 && m->last_upload > 0 ? 0 : 1;

        /* The outcome is kept for the next start: a new manager restores
         * LastUpload and LastUploadResult from the state directory. */
        {
                Manager *m2 = NULL;
                UploadManager *um2 = NULL;

                if (manager_new(&m2, NULL) < 0 || upload_manager_new(&um2, m2, spool, "manager-test") < 0 ||
                    upload_manager_set_state_dir(um2, state_fd) < 0)
                        return 2;
                printf("restored: last_upload=%" PRIu64 " result=%s\n", m2->last_upload, m2->last_upload_result);
                if (m2->last_upload != m->last_upload || m->last_upload == 0 ||
                    strcmp(m2->last_upload_result, m->last_upload_result) != 0) {
                        log_error("LastUpload not restored: %" PRIu64 " %s, want %" PRIu64 " %s",
                                  m2->last_upload, m2->last_upload_result, m->last_upload, m->last_upload_result);
                        r = 1;
                }
                um2 = upload_manager_free(um2);
                m2 = manager_free(m2);

                /* A damaged file is ignored: "never", not garbage. */
                {
                        static const char junk[] = "12x wrong-password\n";
                        int fd = openat(state_fd, "last-upload", O_WRONLY | O_TRUNC | O_CLOEXEC);

                        if (fd < 0 || write(fd, junk, sizeof(junk) - 1) != (ssize_t) sizeof(junk) - 1)
                                return 2;
                        close(fd);
                }
                if (manager_new(&m2, NULL) < 0 || upload_manager_new(&um2, m2, spool, "manager-test") < 0 ||
                    upload_manager_set_state_dir(um2, state_fd) < 0)
                        return 2;
                if (m2->last_upload != 0 || strcmp(m2->last_upload_result, "") != 0) {
                        log_error("a damaged last-upload file was taken: %" PRIu64 " %s",
                                  m2->last_upload, m2->last_upload_result);
                        r = 1;
                }
                um2 = upload_manager_free(um2);
                m2 = manager_free(m2);
        }
        safe_close(state_fd);

        /* The spool goes on after an upload (fsmond keeps capturing): a new
         * segment can be created, written and closed. */
        um = upload_manager_free(um);
        if (append_records(spool, &serial, 100) < 0 || spool_rotate(spool) < 0) {
                log_error("the spool cannot go on after the upload");
                r = 1;
        }
        spool_get_stats(spool, &st);
        if (st.degraded) {
                log_error("the spool is degraded after the upload: %s", st.degraded_reason);
                r = 1;
        }
        (void) spool_close(spool);
        m = manager_free(m);
        return r;
}
