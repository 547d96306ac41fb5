/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/fileio.h"
#include "shared/log.h"
#include "service/upload-manager.h"
#include "upload/upload.h"

struct UploadManager {
        Manager *manager;
        Spool *spool;
        char *host_id;

        char *host, *user, *remote_dir, *known_hosts;
        uint16_t port;

        UploadJob *job;
        int state_dir_fd;               /* where "last-upload" is kept; -EBADF: nowhere */
};

#define LAST_UPLOAD_FILE "last-upload"
#define LAST_UPLOAD_MAX 128U

UploadResult upload_result_to_manager(int r) {
        switch (r) {
        case 0:
                return MANAGER_UPLOAD_SUCCESS;
        case UPLOAD_WRONG_PASSWORD:
                return MANAGER_UPLOAD_WRONG_PASSWORD;
        case UPLOAD_HOST_KEY_MISMATCH:
                return MANAGER_UPLOAD_HOST_KEY_MISMATCH;
        case UPLOAD_NOT_CONFIGURED:
                return MANAGER_UPLOAD_NOT_CONFIGURED;
        case -ECONNREFUSED:
        case -ENETUNREACH:
        case -EHOSTUNREACH:
        case -ECONNRESET:
        case -ETIMEDOUT:
                return MANAGER_UPLOAD_CONNECTION_FAILED;
        default:
                return MANAGER_UPLOAD_FAILED;
        }
}

/* The journal says what waits for the password, and since when. */
static void upload_manager_log_waiting(UploadManager *u, const char *when) {
        SpoolStats st;
        char since[64] = "?";
        struct tm tm;
        time_t t;

        spool_get_stats(u->spool, &st);
        if (st.closed_segments == 0) {
                log_info("Nothing waits for upload %s.", when);
                return;
        }
        t = (time_t) (st.oldest_usec / 1000000U);
        if (st.oldest_usec > 0 && gmtime_r(&t, &tm))
                (void) strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S UTC", &tm);
        log_info("%" PRIu32 " segment%s for upload %s, the oldest since %s (spool: %" PRIu64 " bytes on disk)%s",
                 st.closed_segments, st.closed_segments == 1 ? " waits" : "s wait", when, since, st.bytes,
                 u->host ? "; `fsmonctl upload` sends them." : "; no [upload] server is configured.");
}

static void on_progress(uint64_t sent, uint64_t total, void *userdata) {
        UploadManager *u = userdata;

        manager_upload_progress(u->manager, sent, total);
}

static void on_delivered(const char *name, uint64_t size, void *userdata) {
        UploadManager *u = userdata;
        SpoolStats st;
        int r;

        r = spool_mark_uploaded(u->spool, name);
        if (r < 0)
                /* On the server under its final name: the next upload finds
                 * it there and does not send it again. */
                log_warning_errno(r, "Uploaded %s but cannot remove it from the spool, ignoring: %m", name);
        spool_get_stats(u->spool, &st);
        manager_set_spool(u->manager, st.bytes, st.segments);
}

static void last_upload_save(UploadManager *u) {
        char line[LAST_UPLOAD_MAX];
        int n, r;

        if (u->state_dir_fd < 0)
                return;
        n = snprintf(line, sizeof(line), "%" PRIu64 " %s\n", u->manager->last_upload,
                     u->manager->last_upload_result);
        if (n < 0 || (size_t) n >= sizeof(line))
                return;
        r = fileio_write_atomic_at(u->state_dir_fd, LAST_UPLOAD_FILE, line, (size_t) n, 0600, 0);
        if (r < 0)
                log_warning_errno(r, "Cannot keep the last upload's outcome in %s, ignoring: %m", LAST_UPLOAD_FILE);
}

static void on_finished(int r, const UploadReport *report, void *userdata) {
        UploadManager *u = userdata;

        /* The job ends here; free it before the manager may start another. */
        u->job = upload_job_free(u->job);
        manager_upload_finished(u->manager, upload_result_to_manager(r), report->segments_delivered,
                                report->bytes_delivered, report->message);
        last_upload_save(u);
        upload_manager_log_waiting(u, "after this upload");
}

static bool last_upload_result_is_valid(const char *s) {
        if (strcmp(s, "failed") == 0)
                return true;
        for (int i = 0; i < _MANAGER_UPLOAD_RESULT_MAX; i++)
                if (strcmp(s, manager_upload_result_to_string(i)) == 0)
                        return true;
        return false;
}

int upload_manager_set_state_dir(UploadManager *u, int state_dir_fd) {
        _cleanup_free_ char *text = NULL;
        char result[LAST_UPLOAD_MAX];
        unsigned long long usec;
        size_t len;
        int n = -1, r;

        safe_close(u->state_dir_fd);
        u->state_dir_fd = fcntl(state_dir_fd, F_DUPFD_CLOEXEC, 3);
        if (u->state_dir_fd < 0)
                return -errno;

        r = fileio_read_small_at(u->state_dir_fd, LAST_UPLOAD_FILE, LAST_UPLOAD_MAX, &text, &len);
        if (r == -ENOENT)
                return 0;       /* never uploaded */
        if (r < 0) {
                log_warning_errno(r, "Cannot read %s, ignoring: %m", LAST_UPLOAD_FILE);
                return 0;
        }
        /* Exactly "DIGITS RESULT\n" (%llu alone would take a sign or spaces). */
        if (!isdigit((unsigned char) text[0]) ||
            sscanf(text, "%llu %127[a-z-]%n", &usec, result, &n) != 2 ||
            (size_t) n + 1 != len || text[n] != '\n' || !last_upload_result_is_valid(result)) {
                log_warning("Ignoring %s: not \"USEC RESULT\".", LAST_UPLOAD_FILE);
                return 0;
        }
        return manager_set_last_upload(u->manager, (uint64_t) usec, result);
}

static int upload_manager_start(Manager *m, const char *password, size_t password_len, void *userdata) {
        UploadManager *u = userdata;
        static const UploadCallbacks cb = {
                .progress = on_progress,
                .segment_delivered = on_delivered,
                .finished = on_finished,
        };
        UploadConfig cfg = {
                .host = u->host,
                .port = u->port,
                .user = u->user,
                .remote_dir = u->remote_dir,
                .known_hosts = u->known_hosts,
                .host_id = u->host_id,
        };
        _cleanup_free_ SpoolSegment *segs = NULL;
        _cleanup_free_ const char **names = NULL;
        size_t n = 0;
        int r;

        if (!u->host)
                return -ENXIO;
        if (u->job)
                return -EBUSY;

        /* What was recorded up to now goes too. */
        r = spool_rotate(u->spool);
        if (r < 0)
                log_warning_errno(r, "Cannot close the open segment before the upload, ignoring: %m");
        r = spool_list(u->spool, &segs, &n);
        if (r < 0)
                return log_error_errno(r, "Cannot list the spool: %m");
        /* Nothing waiting still connects: the password and host key are checked. */
        names = calloc(n + 1, sizeof(char *));
        if (!names)
                return log_oom();
        {
                size_t k = 0;

                /* Start-up reads only headers and footers: check each segment
                 * whole before it leaves. A damaged one is quarantined by the
                 * spool (and counted in a gap record), not sent. */
                for (size_t i = 0; i < n; i++) {
                        r = spool_verify_segment(u->spool, segs[i].name);
                        if (r == -EBADMSG)
                                continue;
                        if (r < 0) {
                                log_warning_errno(r, "Cannot check segment %s, not uploading it now: %m",
                                                  segs[i].name);
                                continue;
                        }
                        names[k++] = segs[i].name;
                }
                n = k;
        }

        log_info("Uploading %zu segments to %s.", n, u->host);
        /* The job copies the names and the password (into locked memory). */
        return upload_job_start(&u->job, m->event, &cfg, password, spool_get_dir_fd(u->spool), names, n, &cb, u);
}

int upload_manager_new(UploadManager **ret, Manager *m, Spool *spool, const char *host_id) {
        _cleanup_(upload_manager_freep) UploadManager *u = NULL;

        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        u->manager = m;
        u->spool = spool;
        u->state_dir_fd = -EBADF;
        u->host_id = strdup(host_id);
        if (!u->host_id)
                return -ENOMEM;

        manager_attach_uploader(m, upload_manager_start, u);
        *ret = TAKE_PTR(u);
        return 0;
}

static int strdup_or_null(const char *s, char **ret) {
        char *c = NULL;

        if (s) {
                c = strdup(s);
                if (!c)
                        return -ENOMEM;
        }
        free(*ret);
        *ret = c;
        return 0;
}

int upload_manager_set_config(UploadManager *u, const Config *c) {
        if (strdup_or_null(c->upload_host, &u->host) < 0 ||
            strdup_or_null(c->upload_user, &u->user) < 0 ||
            strdup_or_null(c->upload_remote_dir, &u->remote_dir) < 0 ||
            strdup_or_null(c->upload_known_hosts, &u->known_hosts) < 0)
                return -ENOMEM;
        u->port = c->upload_port;
        return 0;
}

void upload_manager_log_startup(UploadManager *u) {
        upload_manager_log_waiting(u, "at startup");
}

UploadManager *upload_manager_free(UploadManager *u) {
        if (!u)
                return NULL;
        if (u->manager && u->manager->upload_hook == upload_manager_start)
                manager_attach_uploader(u->manager, NULL, NULL);
        if (u->job) {
                u->job = upload_job_free(u->job);
                manager_upload_finished(u->manager, MANAGER_UPLOAD_FAILED, 0, 0, "upload cancelled: fsmond is stopping");
        }
        safe_close(u->state_dir_fd);
        free(u->host_id);
        free(u->host);
        free(u->user);
        free(u->remote_dir);
        free(u->known_hosts);
        free(u);
        return NULL;
}
