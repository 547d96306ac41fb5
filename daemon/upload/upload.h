/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "shared/macro.h"

/* Upload of spool segments over SSH/SFTP with the upload password.
 *
 * Two layers:
 *   upload_run()        synchronous: connect, check the pinned host key,
 *                       authenticate, transfer; blocks for the whole upload.
 *   upload_job_start()  the same in a worker thread, with every callback
 *                       delivered on the sd-event loop thread; this is what
 *                       fsmond's Upload(password) uses, so the bus never blocks.
 *
 * Remote layout: <remote_dir>/<host_id>/<segment>. Each segment is written to
 * <segment>.part, verified (every WRITE acknowledged by the server, the size
 * read back with FSTAT, fsync@openssh.com, and with UPLOAD_VERIFY_READBACK
 * the content read back and compared by BLAKE2b hash), then renamed to its
 * final name; only then is segment_delivered() called, and only then may the
 * caller remove the segment from the local spool (spool_mark_uploaded()).
 * Exactly once: a segment whose final name already exists on the server with
 * the same size and hash is not sent again (segment_delivered() is called for
 * it, so the spool catches up after a crash between rename and removal); a
 * leftover .part is truncated and rewritten.
 *
 * Security: the server's host key must match the pinned known_hosts file
 * (the only known_hosts file read; ~/.ssh/config and the global files are
 * never read). An unknown key, a changed key or a key of another type aborts
 * before any password is sent. Password authentication is used, or
 * keyboard-interactive when the server offers only that. The password is
 * never logged nor copied by this module except into libssh's packet
 * buffers. */

typedef enum UploadVerify {
        /* Acknowledged writes + remote size + fsync (no extra transfer). */
        UPLOAD_VERIFY_SIZE,
        /* ... and the .part read back and compared by hash (costs a second
         * transfer of every byte, see README "Upload"). */
        UPLOAD_VERIFY_READBACK,
        _UPLOAD_VERIFY_MAX,
} UploadVerify;

typedef struct UploadConfig {
        const char *host;               /* name or address */
        uint16_t port;                  /* 0: 22 */
        const char *user;
        const char *remote_dir;         /* must exist on the server */
        const char *known_hosts;        /* pinned known_hosts file (OpenSSH format) */
        const char *host_id;            /* one path component: this machine's directory on the server */
        uint64_t connect_timeout_usec;  /* 0: 30 s; TCP connect, SSH handshake and authentication */
        uint64_t stall_timeout_usec;    /* 0: 60 s; longest wait for the server during the transfer */
        UploadVerify verify;
        const char *ciphers;            /* NULL: libssh's defaults (benchmarks pin one) */
        size_t chunk_size;              /* 0: default; bytes per SFTP WRITE */
        unsigned requests_in_flight;    /* 0: default */
} UploadConfig;

/* Outcomes that are not errno values; fsmond maps them and the errno values
 * to the contract's D-Bus errors (service/upload-manager.c,
 * bus/bus-manager.c). */
enum {
        UPLOAD_HOST_KEY_MISMATCH = 1,   /* unknown, changed or other-type host key */
        UPLOAD_WRONG_PASSWORD,          /* the server refused the password */
        UPLOAD_NOT_CONFIGURED,          /* [upload] lacks host, user, remote_dir, known_hosts or host id */
        _UPLOAD_OUTCOME_MAX,
};

typedef struct UploadReport {
        unsigned segments_delivered;    /* renamed to final names (includes segments_present) */
        unsigned segments_present;      /* found on the server already, not sent again */
        uint64_t bytes_delivered;       /* sizes of the delivered segments */
        uint64_t bytes_sent;            /* file bytes acknowledged by the server, this run */
        uint64_t bytes_total;           /* sizes of all segments asked for */
        /* What happened, in words, for the journal and UploadFinished; never
         * contains the password. */
        char message[512];
} UploadReport;

typedef struct UploadCallbacks {
        /* Bytes of segment data delivered or acknowledged so far / of all
         * segments. May be called often; the job coalesces it. Optional. */
        void (*progress)(uint64_t sent, uint64_t total, void *userdata);
        /* The segment is on the server under its final name: remove it from
         * the spool now. Optional (but then nothing is ever removed). */
        void (*segment_delivered)(const char *name, uint64_t size, void *userdata);
        /* upload_job_start() only: the job is over; r as upload_run() returns
         * it; report is valid during the call (a copy: upload_job_free() may
         * be called from here). Called last. */
        void (*finished)(int r, const UploadReport *report, void *userdata);
} UploadCallbacks;

/* Cancellation from another thread: upload_cancel_request() makes the running
 * upload_run() return -ECANCELED promptly (it shuts the connection down). */
typedef struct UploadCancel {
        pthread_mutex_t lock;
        bool cancelled;
        int fd;                         /* dup of the connection's socket, or -1 */
} UploadCancel;

#define UPLOAD_CANCEL_INIT { .lock = PTHREAD_MUTEX_INITIALIZER, .cancelled = false, .fd = -1 }
void upload_cancel_request(UploadCancel *c);

/* Uploads the named segments (file names relative to spool_dir_fd, in this
 * order). cb, userdata, cancel and ret_report may be NULL.
 *
 * Returns 0 when every segment was delivered; UPLOAD_HOST_KEY_MISMATCH,
 * UPLOAD_WRONG_PASSWORD or UPLOAD_NOT_CONFIGURED; or a negative errno:
 *   -ECONNREFUSED, -ENETUNREACH, -EHOSTUNREACH  server not reachable
 *   -ETIMEDOUT      connect, handshake or a transfer stalled past its timeout
 *   -ECONNRESET     connection lost mid-upload (the rest stays spooled)
 *   -ENOSPC         remote disk full
 *   -EACCES         the server refused to create a directory or file
 *   -ENOENT         remote_dir missing on the server, or a segment missing locally
 *   -EPROTO, -EBADMSG, -EIO   protocol trouble or another remote failure
 *   -ECANCELED      upload_cancel_request()
 *   -ENOMEM, -EINVAL, ...     local trouble
 * In every case ret_report->message says what happened in words. Segments
 * delivered before a failure stay delivered (segment_delivered() was called);
 * the next call continues with what is left. Logs only at debug level: the
 * caller decides and logs the outcome. */
int upload_run(const UploadConfig *cfg, const char *password, int spool_dir_fd,
               const char *const *segment_names, size_t n,
               const UploadCallbacks *cb, void *userdata,
               UploadCancel *cancel, UploadReport *ret_report);


/* The asynchronous job. upload_job_start() copies cfg, the names and the
 * password (into sodium_malloc()ed memory, zeroed and freed as soon as the
 * worker is done with it), dups spool_dir_fd, and runs upload_run() in a
 * worker thread. progress, segment_delivered and finished are called on the
 * thread running the sd-event loop e, in order; progress is coalesced (only
 * the latest value is delivered). After finished the job does nothing more;
 * free it with upload_job_free() (from finished too). Freeing a running job
 * cancels it and waits for the worker (at most a moment: cancellation shuts
 * the connection down). */
typedef struct UploadJob UploadJob;

int upload_job_start(UploadJob **ret, sd_event *e, const UploadConfig *cfg, const char *password,
                     int spool_dir_fd, const char *const *segment_names, size_t n,
                     const UploadCallbacks *cb, void *userdata);
void upload_job_cancel(UploadJob *j);
UploadJob *upload_job_free(UploadJob *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(UploadJob *, upload_job_free);
