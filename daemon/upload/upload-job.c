/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <sodium.h>

#include "shared/macro.h"
#include "upload/upload.h"

/* upload_run() in a worker thread. The worker only queues what happened,
 * under the lock, and wakes the loop through an eventfd; every user callback
 * runs on the loop's thread, so the bus code needs no locking. */
struct UploadJob {
        sd_event_source *source;
        int event_fd;
        pthread_t thread;
        bool thread_started, thread_joined;
        bool finished;                  /* finished() was called */
        UploadCancel cancel;

        /* Owned copies, read by the worker only while it runs. */
        UploadConfig cfg;
        char *host, *user, *remote_dir, *known_hosts, *host_id, *ciphers;
        char **names;
        size_t n;
        int dir_fd;
        char *password;                 /* sodium_malloc(); the worker frees it */

        UploadCallbacks cb;
        void *userdata;

        /* Shared with the worker, under lock. */
        pthread_mutex_t lock;
        size_t *queue;                  /* indexes of delivered segments, at most n */
        uint64_t *queue_size;
        size_t queue_head, queue_len;
        bool progress_pending;
        uint64_t progress_sent, progress_total;
        bool done;
        int result;
        UploadReport report;
};

static void job_wake(UploadJob *j) {
        uint64_t one = 1;

        /* Can only fail if the counter would overflow: then it is awake anyway. */
        (void) !write(j->event_fd, &one, sizeof(one));
}

static void worker_progress(uint64_t sent, uint64_t total, void *userdata) {
        UploadJob *j = userdata;
        bool wake;

        (void) pthread_mutex_lock(&j->lock);
        wake = !j->progress_pending;
        j->progress_pending = true;
        j->progress_sent = sent;
        j->progress_total = total;
        (void) pthread_mutex_unlock(&j->lock);
        if (wake)
                job_wake(j);
}

static void worker_delivered(const char *name, uint64_t size, void *userdata) {
        UploadJob *j = userdata;
        size_t i;

        for (i = 0; i < j->n; i++)
                if (j->names[i] == name || strcmp(j->names[i], name) == 0)
                        break;
        if (i >= j->n)
                return;

        (void) pthread_mutex_lock(&j->lock);
        if (j->queue_len < j->n) {
                j->queue[j->queue_len] = i;
                j->queue_size[j->queue_len] = size;
                j->queue_len++;
        }
        (void) pthread_mutex_unlock(&j->lock);
        job_wake(j);
}

static void *worker_main(void *userdata) {
        UploadJob *j = userdata;
        static const UploadCallbacks cbs = {
                .progress = worker_progress,
                .segment_delivered = worker_delivered,
        };
        UploadReport report;
        int r;

        r = upload_run(&j->cfg, j->password, j->dir_fd, (const char *const *) j->names, j->n,
                       &cbs, j, &j->cancel, &report);

        /* The password is needed no more: zeroed and freed by sodium_free(). */
        sodium_free(j->password);
        j->password = NULL;

        (void) pthread_mutex_lock(&j->lock);
        j->done = true;
        j->result = r;
        j->report = report;
        (void) pthread_mutex_unlock(&j->lock);
        job_wake(j);
        return NULL;
}

static int job_dispatch(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        UploadJob *j = userdata;
        uint64_t counter, sent = 0, total = 0;
        size_t from, to;
        bool progress, done;
        int result = 0;

        (void) !read(j->event_fd, &counter, sizeof(counter));

        (void) pthread_mutex_lock(&j->lock);
        from = j->queue_head;
        to = j->queue_len;
        j->queue_head = to;
        progress = j->progress_pending;
        j->progress_pending = false;
        sent = j->progress_sent;
        total = j->progress_total;
        done = j->done;
        result = j->result;
        (void) pthread_mutex_unlock(&j->lock);

        /* Entries below queue_len are never written again: safe unlocked. */
        for (size_t i = from; i < to; i++)
                if (j->cb.segment_delivered)
                        j->cb.segment_delivered(j->names[j->queue[i]], j->queue_size[i], j->userdata);
        if (progress && j->cb.progress)
                j->cb.progress(sent, total, j->userdata);

        if (done && !j->finished) {
                j->finished = true;
                (void) sd_event_source_set_enabled(j->source, SD_EVENT_OFF);
                /* The worker has returned or is about to: a short wait. */
                (void) pthread_join(j->thread, NULL);
                j->thread_joined = true;
                /* Last: the callback may free the job, so it gets a copy. */
                if (j->cb.finished) {
                        UploadReport report = j->report;

                        j->cb.finished(result, &report, j->userdata);
                }
        }
        return 0;
}

static int strdup_opt(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int upload_job_start(UploadJob **ret, sd_event *e, const UploadConfig *cfg, const char *password,
                     int spool_dir_fd, const char *const *segment_names, size_t n,
                     const UploadCallbacks *cb, void *userdata) {
        _cleanup_(upload_job_freep) UploadJob *j = NULL;
        sigset_t all, saved;
        size_t len;
        int r;

        if (!ret || !e || !cfg || !password || (n > 0 && !segment_names))
                return -EINVAL;
        if (sodium_init() < 0)
                return -EIO;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->event_fd = -EBADF;
        j->dir_fd = -EBADF;
        j->cancel = (UploadCancel) UPLOAD_CANCEL_INIT;
        (void) pthread_mutex_init(&j->lock, NULL);
        if (cb)
                j->cb = *cb;
        j->userdata = userdata;

        len = strlen(password);
        j->password = sodium_malloc(len + 1);
        if (!j->password)
                return -ENOMEM;
        memcpy(j->password, password, len + 1);

        j->cfg = *cfg;
        if (strdup_opt(cfg->host, &j->host) < 0 || strdup_opt(cfg->user, &j->user) < 0 ||
            strdup_opt(cfg->remote_dir, &j->remote_dir) < 0 ||
            strdup_opt(cfg->known_hosts, &j->known_hosts) < 0 ||
            strdup_opt(cfg->host_id, &j->host_id) < 0 || strdup_opt(cfg->ciphers, &j->ciphers) < 0)
                return -ENOMEM;
        j->cfg.host = j->host;
        j->cfg.user = j->user;
        j->cfg.remote_dir = j->remote_dir;
        j->cfg.known_hosts = j->known_hosts;
        j->cfg.host_id = j->host_id;
        j->cfg.ciphers = j->ciphers;

        j->names = calloc(n + 1, sizeof(char *));
        j->queue = calloc(n + 1, sizeof(size_t));
        j->queue_size = calloc(n + 1, sizeof(uint64_t));
        if (!j->names || !j->queue || !j->queue_size)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                j->names[i] = strdup(segment_names[i]);
                if (!j->names[i])
                        return -ENOMEM;
                j->n = i + 1;
        }

        j->dir_fd = fcntl(spool_dir_fd, F_DUPFD_CLOEXEC, 3);
        if (j->dir_fd < 0)
                return -errno;
        j->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (j->event_fd < 0)
                return -errno;
        r = sd_event_add_io(e, &j->source, j->event_fd, EPOLLIN, job_dispatch, j);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(j->source, "upload-job");

        /* The worker must not take the daemon's signals. */
        (void) sigfillset(&all);
        (void) pthread_sigmask(SIG_SETMASK, &all, &saved);
        r = -pthread_create(&j->thread, NULL, worker_main, j);
        (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r < 0)
                return r;
        j->thread_started = true;

        *ret = TAKE_PTR(j);
        return 0;
}

void upload_job_cancel(UploadJob *j) {
        if (j)
                upload_cancel_request(&j->cancel);
}

UploadJob *upload_job_free(UploadJob *j) {
        if (!j)
                return NULL;

        if (j->thread_started && !j->thread_joined) {
                upload_cancel_request(&j->cancel);
                (void) pthread_join(j->thread, NULL);
        }
        sd_event_source_disable_unref(j->source);
        safe_close(j->event_fd);
        safe_close(j->dir_fd);
        safe_close(j->cancel.fd);

        sodium_free(j->password);       /* NULL when the worker ran */
        for (size_t i = 0; i < j->n; i++)
                free(j->names[i]);
        free(j->names);
        free(j->queue);
        free(j->queue_size);
        free(j->host);
        free(j->user);
        free(j->remote_dir);
        free(j->known_hosts);
        free(j->host_id);
        free(j->ciphers);
        (void) pthread_mutex_destroy(&j->lock);
        (void) pthread_mutex_destroy(&j->cancel.lock);
        free(j);
        return NULL;
}
