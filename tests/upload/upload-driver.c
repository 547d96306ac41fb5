/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Test and benchmark driver for the upload module (not installed).
 *
 *   upload-driver --host H --port P --user U --remote-dir D --known-hosts F
 *                 --host-id ID --spool DIR [--async] [--readback] [--keep]
 *                 [--ciphers C] [--chunk N] [--requests N]
 *                 [--connect-timeout SEC] [--stall-timeout SEC]
 *                 [--cancel-after BYTES]  < password
 *
 * Uploads every regular file of DIR (sorted by name) and, like the spool,
 * removes each one when segment_delivered() says so (unless --keep). Prints
 * one line per delivered segment ("delivered NAME SIZE") and at the end
 * "result NAME", "error DBUS-ERROR", "message ...", "stats ..." lines. Exit
 * status 0 on success, 1 otherwise. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "shared/macro.h"
#include "bus/bus-manager.h"
#include "service/upload-manager.h"
#include "upload/upload.h"

typedef struct Driver {
        int dir_fd;
        bool keep;
        uint64_t cancel_after;
        UploadJob *job;
        sd_event *event;
        int result;
        UploadReport report;
        unsigned progress_calls;
} Driver;

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int list_segments(int dir_fd, char ***ret, size_t *ret_n) {
        DIR *d;
        struct dirent *de;
        char **v = NULL;
        size_t n = 0;
        int fd;

        fd = dup(dir_fd);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                struct stat st;
                char **nv;

                if (de->d_name[0] == '.')
                        continue;
                if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;
                nv = realloc(v, (n + 1) * sizeof(char *));
                if (!nv)
                        abort();
                v = nv;
                v[n] = strdup(de->d_name);
                if (!v[n])
                        abort();
                n++;
        }
        closedir(d);
        if (n > 0)
                qsort(v, n, sizeof(char *), name_cmp);
        *ret = v;
        *ret_n = n;
        return 0;
}

static void on_progress(uint64_t sent, uint64_t total, void *userdata) {
        Driver *d = userdata;

        d->progress_calls++;
        if (d->cancel_after > 0 && sent >= d->cancel_after && d->job)
                upload_job_cancel(d->job);
}

static void on_delivered(const char *name, uint64_t size, void *userdata) {
        Driver *d = userdata;

        /* What the spool does: the segment leaves only now. */
        if (!d->keep && unlinkat(d->dir_fd, name, 0) < 0)
                fprintf(stderr, "cannot remove %s: %m\n", name);
        printf("delivered %s %" PRIu64 "\n", name, size);
        fflush(stdout);
}

static void on_finished(int r, const UploadReport *report, void *userdata) {
        Driver *d = userdata;

        d->result = r;
        d->report = *report;
        (void) sd_event_exit(d->event, 0);
}

static const char *result_name(int r) {
        static char buf[64];

        switch (r) {
        case 0:
                return "ok";
        case UPLOAD_HOST_KEY_MISMATCH:
                return "HostKeyMismatch";
        case UPLOAD_WRONG_PASSWORD:
                return "WrongPassword";
        case UPLOAD_NOT_CONFIGURED:
                return "NotConfigured";
        default:
                (void) snprintf(buf, sizeof(buf), "%s", r < 0 ? (strerrorname_np(-r) ?: "errno") : "unknown");
                return buf;
        }
}

static double now_sec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Descriptors this process has open (the one reading /proc/self/fd aside). */
static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1;
}

int main(int argc, char *argv[]) {
        enum { ARG_HOST = 0x100, ARG_PORT, ARG_USER, ARG_REMOTE_DIR, ARG_KNOWN_HOSTS, ARG_HOST_ID,
               ARG_SPOOL, ARG_ASYNC, ARG_READBACK, ARG_KEEP, ARG_CIPHERS, ARG_CHUNK, ARG_REQUESTS,
               ARG_CONNECT_TIMEOUT, ARG_STALL_TIMEOUT, ARG_CANCEL_AFTER };
        static const struct option options[] = {
                { "host", required_argument, NULL, ARG_HOST },
                { "port", required_argument, NULL, ARG_PORT },
                { "user", required_argument, NULL, ARG_USER },
                { "remote-dir", required_argument, NULL, ARG_REMOTE_DIR },
                { "known-hosts", required_argument, NULL, ARG_KNOWN_HOSTS },
                { "host-id", required_argument, NULL, ARG_HOST_ID },
                { "spool", required_argument, NULL, ARG_SPOOL },
                { "async", no_argument, NULL, ARG_ASYNC },
                { "readback", no_argument, NULL, ARG_READBACK },
                { "keep", no_argument, NULL, ARG_KEEP },
                { "ciphers", required_argument, NULL, ARG_CIPHERS },
                { "chunk", required_argument, NULL, ARG_CHUNK },
                { "requests", required_argument, NULL, ARG_REQUESTS },
                { "connect-timeout", required_argument, NULL, ARG_CONNECT_TIMEOUT },
                { "stall-timeout", required_argument, NULL, ARG_STALL_TIMEOUT },
                { "cancel-after", required_argument, NULL, ARG_CANCEL_AFTER },
                {}
        };
        UploadConfig cfg = {};
        UploadCallbacks cb = { .progress = on_progress, .segment_delivered = on_delivered,
                               .finished = on_finished };
        Driver d = { .dir_fd = -1 };
        const char *spool = NULL;
        bool async = false;
        char **names = NULL;
        size_t n = 0, len;
        char *password;
        double t0, t1;
        int fds_before;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case ARG_HOST: cfg.host = optarg; break;
                case ARG_PORT: cfg.port = (uint16_t) atoi(optarg); break;
                case ARG_USER: cfg.user = optarg; break;
                case ARG_REMOTE_DIR: cfg.remote_dir = optarg; break;
                case ARG_KNOWN_HOSTS: cfg.known_hosts = optarg; break;
                case ARG_HOST_ID: cfg.host_id = optarg; break;
                case ARG_SPOOL: spool = optarg; break;
                case ARG_ASYNC: async = true; break;
                case ARG_READBACK: cfg.verify = UPLOAD_VERIFY_READBACK; break;
                case ARG_KEEP: d.keep = true; break;
                case ARG_CIPHERS: cfg.ciphers = optarg; break;
                case ARG_CHUNK: cfg.chunk_size = (size_t) strtoull(optarg, NULL, 0); break;
                case ARG_REQUESTS: cfg.requests_in_flight = (unsigned) atoi(optarg); break;
                case ARG_CONNECT_TIMEOUT: cfg.connect_timeout_usec = strtoull(optarg, NULL, 0) * 1000000ULL; break;
                case ARG_STALL_TIMEOUT: cfg.stall_timeout_usec = strtoull(optarg, NULL, 0) * 1000000ULL; break;
                case ARG_CANCEL_AFTER: d.cancel_after = strtoull(optarg, NULL, 0); break;
                default: return 2;
                }
        if (!spool) {
                fprintf(stderr, "--spool is needed\n");
                return 2;
        }
        if (sodium_init() < 0)
                return 2;

        d.dir_fd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d.dir_fd < 0) {
                fprintf(stderr, "cannot open %s: %m\n", spool);
                return 2;
        }
        r = list_segments(d.dir_fd, &names, &n);
        if (r < 0)
                return 2;

        /* The password from stdin, never from the command line. */
        password = sodium_malloc(1024);
        if (!password)
                return 2;
        if (!fgets(password, 1024, stdin))
                password[0] = 0;
        len = strlen(password);
        if (len > 0 && password[len - 1] == '\n')
                password[len - 1] = 0;

        fds_before = count_fds();
        t0 = now_sec();
        if (async) {
                r = sd_event_new(&d.event);
                if (r >= 0)
                        r = upload_job_start(&d.job, d.event, &cfg, password, d.dir_fd,
                                             (const char *const *) names, n, &cb, &d);
                /* The job holds its own copy. */
                sodium_free(password);
                password = NULL;
                if (r < 0) {
                        fprintf(stderr, "cannot start the job: %s\n", strerror(-r));
                        return 2;
                }
                r = sd_event_loop(d.event);
                if (r < 0) {
                        fprintf(stderr, "event loop: %s\n", strerror(-r));
                        return 2;
                }
                d.job = upload_job_free(d.job);
                d.event = sd_event_unref(d.event);
        } else {
                UploadCancel cancel = UPLOAD_CANCEL_INIT;

                d.result = upload_run(&cfg, password, d.dir_fd, (const char *const *) names, n,
                                      &cb, &d, &cancel, &d.report);
                sodium_free(password);
        }
        t1 = now_sec();

        /* Whatever the outcome, the upload leaves no descriptor behind (the
         * socket given to libssh is ours to close). */
        printf("fds_leaked %d\n", count_fds() - fds_before);
        printf("result %s\n", result_name(d.result));
        /* The D-Bus error fsmond answers Upload() with for this outcome. */
        printf("error %s\n", bus_manager_upload_error_name(upload_result_to_manager(d.result)) ?: "none");
        printf("message %s\n", d.report.message);
        printf("stats delivered=%u present=%u bytes_delivered=%" PRIu64 " bytes_sent=%" PRIu64
               " bytes_total=%" PRIu64 " seconds=%.3f progress_calls=%u\n",
               d.report.segments_delivered, d.report.segments_present, d.report.bytes_delivered,
               d.report.bytes_sent, d.report.bytes_total, t1 - t0, d.progress_calls);

        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        close(d.dir_fd);
        return d.result == 0 ? 0 : 1;
}
