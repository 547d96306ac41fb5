/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "shared/fileio.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/time-util.h"
#include "upload/upload-sftp.h"
#include "upload/upload.h"

#define DEFAULT_CONNECT_TIMEOUT_USEC (30ULL * 1000000ULL)
#define DEFAULT_STALL_TIMEOUT_USEC (60ULL * 1000000ULL)

DEFINE_TRIVIAL_CLEANUP_FUNC(ssh_session, sym_ssh_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(ssh_key, sym_ssh_key_free);

/* Everything one run needs, passed around instead of long argument lists. */
typedef struct Upload {
        const UploadConfig *cfg;
        int dir_fd;
        const UploadCallbacks *cb;
        void *userdata;
        UploadCancel *cancel;
        UploadReport *report;

        ssh_session session;
        SftpConn *sftp;
        char *host_dir;                 /* <remote_dir>/<host_id> */
        uint64_t sent_before;           /* progress of the segments before the current one */
} Upload;

static int report_set(UploadReport *rep, int r, const char *fmt, ...) _printf_(3, 4);
static int report_set(UploadReport *rep, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(rep->message, sizeof(rep->message), fmt, ap);
        va_end(ap);
        return r;
}

static bool is_path_component(const char *s) {
        return s && *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
               strlen(s) < 256;
}

void upload_cancel_request(UploadCancel *c) {
        if (!c)
                return;
        (void) pthread_mutex_lock(&c->lock);
        c->cancelled = true;
        /* Wakes the worker out of any blocking libssh call at once. */
        if (c->fd >= 0)
                (void) shutdown(c->fd, SHUT_RDWR);
        (void) pthread_mutex_unlock(&c->lock);
}

static bool upload_cancelled(Upload *u) {
        bool b;

        if (!u->cancel)
                return false;
        (void) pthread_mutex_lock(&u->cancel->lock);
        b = u->cancel->cancelled;
        (void) pthread_mutex_unlock(&u->cancel->lock);
        return b;
}

/* Registers a dup of the socket for upload_cancel_request(), which may run
 * in another thread at any moment: the dup stays valid until unregistered,
 * whatever happens to the original meanwhile. */
static int upload_cancel_register(Upload *u, int fd) {
        int r = 0;

        if (!u->cancel)
                return 0;
        (void) pthread_mutex_lock(&u->cancel->lock);
        if (u->cancel->cancelled)
                r = -ECANCELED;
        else {
                u->cancel->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (u->cancel->fd < 0)
                        r = -errno;
        }
        (void) pthread_mutex_unlock(&u->cancel->lock);
        return r;
}

static void upload_cancel_unregister(Upload *u) {
        if (!u->cancel)
                return;
        (void) pthread_mutex_lock(&u->cancel->lock);
        u->cancel->fd = safe_close(u->cancel->fd);
        if (u->cancel->fd < 0)
                u->cancel->fd = -1;
        (void) pthread_mutex_unlock(&u->cancel->lock);
}

static int config_check(const UploadConfig *cfg, UploadReport *rep) {
        _cleanup_close_ int fd = -EBADF;

        if (!cfg->host || !*cfg->host || strchr(cfg->host, '@'))
                return report_set(rep, UPLOAD_NOT_CONFIGURED, "upload host is not configured");
        if (!cfg->user || !*cfg->user)
                return report_set(rep, UPLOAD_NOT_CONFIGURED, "upload user is not configured");
        if (!cfg->remote_dir || !*cfg->remote_dir)
                return report_set(rep, UPLOAD_NOT_CONFIGURED, "upload remote_dir is not configured");
        if (!is_path_component(cfg->host_id))
                return report_set(rep, UPLOAD_NOT_CONFIGURED, "the host id is missing or not a plain name");
        if (!cfg->known_hosts || !*cfg->known_hosts)
                return report_set(rep, UPLOAD_NOT_CONFIGURED,
                                  "upload known_hosts is not configured: the server's host key must be pinned");
        if (cfg->verify < 0 || cfg->verify >= _UPLOAD_VERIFY_MAX)
                return report_set(rep, -EINVAL, "invalid verification mode");
        fd = open(cfg->known_hosts, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return report_set(rep, UPLOAD_NOT_CONFIGURED, "cannot read the pinned known_hosts file %s: %s",
                                  cfg->known_hosts, strerror(errno));
        return 0;
}

static int tcp_connect(Upload *u, int *ret_fd) {
        const UploadConfig *cfg = u->cfg;
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
        struct addrinfo *ai = NULL;
        uint64_t timeout = cfg->connect_timeout_usec ?: DEFAULT_CONNECT_TIMEOUT_USEC;
        uint64_t stall = cfg->stall_timeout_usec ?: DEFAULT_STALL_TIMEOUT_USEC;
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + timeout;
        char port[8];
        int r, last = -EHOSTUNREACH;

        (void) snprintf(port, sizeof(port), "%u", cfg->port ?: 22U);
        r = getaddrinfo(cfg->host, port, &hints, &ai);
        if (r != 0)
                return report_set(u->report, -EHOSTUNREACH, "cannot resolve %s: %s", cfg->host,
                                  r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));

        for (struct addrinfo *a = ai; a; a = a->ai_next) {
                _cleanup_close_ int fd = -EBADF;
                int one = 1, err = 0;
                socklen_t len = sizeof(err);

                fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
                if (fd < 0) {
                        last = -errno;
                        continue;
                }
                if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
                        struct pollfd p = { .fd = fd, .events = POLLOUT };
                        uint64_t n = now_usec(CLOCK_MONOTONIC);

                        if (errno != EINPROGRESS) {
                                last = -errno;
                                continue;
                        }
                        r = n < deadline ? poll(&p, 1, (int) ((deadline - n + 999) / 1000)) : 0;
                        if (r < 0) {
                                last = -errno;
                                continue;
                        }
                        if (r == 0) {
                                last = -ETIMEDOUT;
                                break;
                        }
                        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                                err = errno;
                        if (err != 0) {
                                last = -err;
                                continue;
                        }
                }

                /* libssh expects a blocking socket. Bound every blocking send
                 * and unacknowledged data by the stall timeout, so a dead
                 * network cannot hang the upload. */
                {
                        struct timeval tv = { .tv_sec = (time_t) (stall / 1000000U),
                                              .tv_usec = (suseconds_t) (stall % 1000000U) };
                        unsigned user_timeout = (unsigned) MIN(stall / 1000U, (uint64_t) UINT32_MAX);
                        int flags = fcntl(fd, F_GETFL);

                        if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
                                last = -errno;
                                continue;
                        }
                        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
                        (void) setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
                }
                freeaddrinfo(ai);
                *ret_fd = TAKE_FD(fd);
                return 0;
        }
        freeaddrinfo(ai);

        if (last == -ETIMEDOUT)
                return report_set(u->report, last, "connecting to %s port %u timed out after %llu s",
                                  cfg->host, cfg->port ?: 22U, (unsigned long long) (timeout / 1000000U));
        return report_set(u->report, last, "cannot connect to %s port %u: %s",
                          cfg->host, cfg->port ?: 22U, strerror(-last));
}

static int session_setup(Upload *u, int fd) {
        const UploadConfig *cfg = u->cfg;
        unsigned port = cfg->port ?: 22U;
        long timeout_sec, timeout_usec;
        uint64_t timeout = cfg->connect_timeout_usec ?: DEFAULT_CONNECT_TIMEOUT_USEC;
        int verbosity = SSH_LOG_NOLOG, no = 0;
        socket_t sock = fd;

        timeout_sec = (long) (timeout / 1000000U);
        timeout_usec = (long) (timeout % 1000000U);

        u->session = sym_ssh_new();
        if (!u->session)
                return report_set(u->report, -ENOMEM, "out of memory");
        /* fd stays ours: libssh (since 0.9) never closes a socket it was
         * given with SSH_OPTIONS_FD; upload_run() closes it after ssh_free(). */
        if (sym_ssh_options_set(u->session, SSH_OPTIONS_FD, &sock) < 0)
                return report_set(u->report, -EINVAL, "libssh refused the socket");
        /* No ~/.ssh/config, no /etc/ssh/ssh_config, no default known_hosts:
         * the pinned file is the only source of trust. */
        if (sym_ssh_options_set(u->session, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
            sym_ssh_options_set(u->session, SSH_OPTIONS_LOG_VERBOSITY, &verbosity) < 0 ||
            sym_ssh_options_set(u->session, SSH_OPTIONS_HOST, cfg->host) < 0 ||
            sym_ssh_options_set(u->session, SSH_OPTIONS_PORT, &port) < 0 ||
            sym_ssh_options_set(u->session, SSH_OPTIONS_USER, cfg->user) < 0 ||
            sym_ssh_options_set(u->session, SSH_OPTIONS_KNOWNHOSTS, cfg->known_hosts) < 0 ||
            sym_ssh_options_set(u->session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, cfg->known_hosts) < 0 ||
            sym_ssh_options_set(u->session, SSH_OPTIONS_TIMEOUT, &timeout_sec) < 0 ||
            sym_ssh_options_set(u->session, SSH_OPTIONS_TIMEOUT_USEC, &timeout_usec) < 0 ||
            sym_ssh_options_set(u->session, SSH_OPTIONS_PUBKEY_AUTH, &no) < 0 ||
            sym_ssh_options_set(u->session, SSH_OPTIONS_GSSAPI_AUTH, &no) < 0)
                return report_set(u->report, -EINVAL, "cannot set SSH options: %s", sym_ssh_get_error(u->session));
        if (cfg->ciphers &&
            (sym_ssh_options_set(u->session, SSH_OPTIONS_CIPHERS_C_S, cfg->ciphers) < 0 ||
             sym_ssh_options_set(u->session, SSH_OPTIONS_CIPHERS_S_C, cfg->ciphers) < 0))
                return report_set(u->report, -EINVAL, "unsupported ciphers \"%s\": %s",
                                  cfg->ciphers, sym_ssh_get_error(u->session));
        return 0;
}

/* Called after the key exchange and before any authentication request. */
static int host_key_check(Upload *u) {
        _cleanup_(sym_ssh_key_freep) ssh_key key = NULL;
        enum ssh_known_hosts_e state;
        unsigned char *hash = NULL;
        char *fp = NULL;
        size_t hlen = 0;
        char desc[160] = "unknown key";
        int r = 0;

        if (sym_ssh_get_server_publickey(u->session, &key) == SSH_OK &&
            sym_ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0) {
                fp = sym_ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
                (void) snprintf(desc, sizeof(desc), "%s key %s",
                                sym_ssh_key_type_to_char(sym_ssh_key_type(key)) ?: "?", fp ?: "?");
                sym_ssh_string_free_char(fp);
                sym_ssh_clean_pubkey_hash(&hash);
        }

        state = sym_ssh_session_is_known_server(u->session);
        switch (state) {
        case SSH_KNOWN_HOSTS_OK:
                return 0;
        case SSH_KNOWN_HOSTS_CHANGED:
                r = report_set(u->report, UPLOAD_HOST_KEY_MISMATCH,
                               "host key mismatch: %s offered %s, which differs from the key pinned in %s",
                               u->cfg->host, desc, u->cfg->known_hosts);
                break;
        case SSH_KNOWN_HOSTS_OTHER:
                r = report_set(u->report, UPLOAD_HOST_KEY_MISMATCH,
                               "host key mismatch: %s offered %s, but %s pins a key of another type",
                               u->cfg->host, desc, u->cfg->known_hosts);
                break;
        case SSH_KNOWN_HOSTS_UNKNOWN:
        case SSH_KNOWN_HOSTS_NOT_FOUND:
                r = report_set(u->report, UPLOAD_HOST_KEY_MISMATCH,
                               "host key mismatch: %s offered %s, and %s pins no key for it",
                               u->cfg->host, desc, u->cfg->known_hosts);
                break;
        case SSH_KNOWN_HOSTS_ERROR:
        default:
                r = report_set(u->report, UPLOAD_HOST_KEY_MISMATCH,
                               "cannot check the host key of %s against %s: %s",
                               u->cfg->host, u->cfg->known_hosts, sym_ssh_get_error(u->session));
                break;
        }
        return r;
}

static int auth_failed(Upload *u, int rc) {
        if (rc == SSH_AUTH_DENIED)
                return report_set(u->report, UPLOAD_WRONG_PASSWORD, "%s refused the upload password for user %s",
                                  u->cfg->host, u->cfg->user);
        if (rc == SSH_AUTH_PARTIAL)
                return report_set(u->report, -EPERM,
                                  "%s accepted the password but asks for further authentication, which fsmon cannot give",
                                  u->cfg->host);
        return report_set(u->report, -ECONNRESET, "authentication failed: %s", sym_ssh_get_error(u->session));
}

static int auth_kbdint(Upload *u, const char *password) {
        int rc;

        /* Answer every hidden prompt with the password; a few rounds at most
         * (a server may show a banner round with no prompts). */
        for (unsigned round = 0; round < 8; round++) {
                int n;

                rc = sym_ssh_userauth_kbdint(u->session, NULL, NULL);
                if (rc != SSH_AUTH_INFO)
                        return rc;
                n = sym_ssh_userauth_kbdint_getnprompts(u->session);
                for (int i = 0; i < n; i++) {
                        char echo = 0;

                        (void) sym_ssh_userauth_kbdint_getprompt(u->session, (unsigned) i, &echo);
                        if (echo)
                                return SSH_AUTH_DENIED; /* asks for something else than a password */
                        if (sym_ssh_userauth_kbdint_setanswer(u->session, (unsigned) i, password) < 0)
                                return SSH_AUTH_ERROR;
                }
        }
        return SSH_AUTH_DENIED;
}

static int authenticate(Upload *u, const char *password) {
        int rc, methods;

        /* "none" asks which methods the server offers; it sends no secret. */
        rc = sym_ssh_userauth_none(u->session, NULL);
        if (rc == SSH_AUTH_SUCCESS)
                return 0;
        if (rc == SSH_AUTH_ERROR)
                return auth_failed(u, rc);

        methods = sym_ssh_userauth_list(u->session, NULL);
        if (methods & SSH_AUTH_METHOD_PASSWORD)
                rc = sym_ssh_userauth_password(u->session, NULL, password);
        else if (methods & SSH_AUTH_METHOD_INTERACTIVE)
                rc = auth_kbdint(u, password);
        else
                return report_set(u->report, -EPROTONOSUPPORT,
                                  "%s offers neither password nor keyboard-interactive authentication",
                                  u->cfg->host);
        if (rc != SSH_AUTH_SUCCESS)
                return auth_failed(u, rc);
        return 0;
}

static int sftp_open_session(Upload *u) {
        const UploadConfig *cfg = u->cfg;
        uint64_t stall = cfg->stall_timeout_usec ?: DEFAULT_STALL_TIMEOUT_USEC;
        long sec = (long) (stall / 1000000U), usec = (long) (stall % 1000000U);
        ssh_channel ch;
        int r;

        /* From now on, every blocking libssh call waits at most the stall timeout. */
        (void) sym_ssh_options_set(u->session, SSH_OPTIONS_TIMEOUT, &sec);
        (void) sym_ssh_options_set(u->session, SSH_OPTIONS_TIMEOUT_USEC, &usec);

        ch = sym_ssh_channel_new(u->session);
        if (!ch)
                return report_set(u->report, -ENOMEM, "out of memory");
        if (sym_ssh_channel_open_session(ch) != SSH_OK) {
                r = report_set(u->report, -ECONNRESET, "cannot open an SSH channel: %s", sym_ssh_get_error(u->session));
                sym_ssh_channel_free(ch);
                return r;
        }
        if (sym_ssh_channel_request_subsystem(ch, "sftp") != SSH_OK) {
                r = report_set(u->report, -EPROTONOSUPPORT, "%s refused the SFTP subsystem: %s",
                               cfg->host, sym_ssh_get_error(u->session));
                sym_ssh_channel_free(ch);
                return r;
        }

        r = sftp_conn_new(&u->sftp, u->session, ch, (int) MIN(stall / 1000U, (uint64_t) INT32_MAX));
        if (r < 0)
                return report_set(u->report, r, "out of memory");
        r = sftp_conn_init(u->sftp);
        if (r < 0)
                return report_set(u->report, r, "SFTP handshake with %s failed: %s",
                                  cfg->host, sftp_conn_last_error(u->sftp));
        if (cfg->chunk_size > 0 || cfg->requests_in_flight > 0)
                sftp_conn_set_window(u->sftp, cfg->chunk_size, cfg->requests_in_flight);
        return 0;
}

static int host_dir_ensure(Upload *u) {
        bool is_dir = false;
        int r;

        if (asprintf(&u->host_dir, "%s/%s", u->cfg->remote_dir, u->cfg->host_id) < 0) {
                u->host_dir = NULL;
                return report_set(u->report, -ENOMEM, "out of memory");
        }

        r = sftp_conn_stat(u->sftp, u->host_dir, NULL, &is_dir);
        if (r >= 0) {
                if (!is_dir)
                        return report_set(u->report, -ENOTDIR, "%s on the server is not a directory", u->host_dir);
                return 0;
        }
        if (r != -ENOENT)
                return report_set(u->report, r, "cannot look at %s on the server: %s",
                                  u->host_dir, sftp_conn_last_error(u->sftp));

        r = sftp_conn_mkdir(u->sftp, u->host_dir, 0750);
        if (r == -EACCES)
                return report_set(u->report, r, "permission denied: the server refuses to create %s (%s)",
                                  u->host_dir, sftp_conn_last_error(u->sftp));
        if (r == -ENOENT)
                return report_set(u->report, r, "the remote directory %s does not exist on the server",
                                  u->cfg->remote_dir);
        if (r < 0) {
                /* Somebody may have created it meanwhile. */
                if (sftp_conn_stat(u->sftp, u->host_dir, NULL, &is_dir) >= 0 && is_dir)
                        return 0;
                return report_set(u->report, r, "cannot create %s on the server: %s",
                                  u->host_dir, sftp_conn_last_error(u->sftp));
        }
        return 0;
}

typedef struct HashSink {
        crypto_generichash_state state;
        Upload *upload;
} HashSink;

static int hash_sink(const void *data, size_t len, void *userdata) {
        HashSink *h = userdata;

        if (upload_cancelled(h->upload))
                return -ECANCELED;
        return crypto_generichash_update(&h->state, data, len) < 0 ? -EIO : 0;
}

static int hash_local(int fd, uint8_t out[static crypto_generichash_BYTES]) {
        crypto_generichash_state st;
        _cleanup_free_ uint8_t *buf = NULL;
        uint64_t offset = 0;

        buf = malloc(1U << 20);
        if (!buf)
                return -ENOMEM;
        (void) crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES);
        for (;;) {
                ssize_t k = fileio_pread_full(fd, buf, 1U << 20, offset);

                if (k < 0)
                        return (int) k;
                if (k == 0)
                        break;
                (void) crypto_generichash_update(&st, buf, (size_t) k);
                offset += (uint64_t) k;
        }
        (void) crypto_generichash_final(&st, out, crypto_generichash_BYTES);
        return 0;
}

/* Hashes a remote file; *ret_size is what was read. */
static int hash_remote(Upload *u, const char *path, uint8_t out[static crypto_generichash_BYTES], uint64_t *ret_size) {
        SftpHandle *h = NULL;
        HashSink sink = { .upload = u };
        int r, q;

        r = sftp_conn_open_read(u->sftp, path, &h);
        if (r < 0)
                return r;
        (void) crypto_generichash_init(&sink.state, NULL, 0, crypto_generichash_BYTES);
        r = sftp_handle_read_all(u->sftp, h, hash_sink, &sink, ret_size);
        q = sftp_handle_close(u->sftp, h);
        if (r < 0)
                return r;
        if (q < 0)
                return q;
        (void) crypto_generichash_final(&sink.state, out, crypto_generichash_BYTES);
        return 0;
}

static int write_progress(uint64_t done, void *userdata) {
        Upload *u = userdata;

        if (upload_cancelled(u))
                return -ECANCELED;
        if (u->cb && u->cb->progress)
                u->cb->progress(u->sent_before + done, u->report->bytes_total, u->userdata);
        return 0;
}

/* After a remote failure that may be a full disk: tells. */
static int remote_failure(Upload *u, int r, const char *what, const char *path, uint64_t need) {
        char err[512];
        uint64_t avail;

        (void) snprintf(err, sizeof(err), "%s", sftp_conn_last_error(u->sftp));
        if (r == -EIO && sftp_conn_statvfs_free(u->sftp, u->host_dir, &avail) >= 0 && avail < need)
                return report_set(u->report, -ENOSPC,
                                  "remote disk full: cannot %s %s (%llu bytes free on the server, %llu needed)",
                                  what, path, (unsigned long long) avail, (unsigned long long) need);
        if (r == -EACCES)
                return report_set(u->report, r, "permission denied: the server refuses to %s %s (%s)",
                                  what, path, err);
        if (r == -ECONNRESET || r == -ETIMEDOUT)
                return report_set(u->report, r, "cannot %s %s: %s", what, path, err);
        return report_set(u->report, r, "cannot %s %s on the server: %s", what, path, err);
}

static int segment_send(Upload *u, const char *name, int fd, uint64_t size, const char *part, const char *final) {
        uint8_t local_hash[crypto_generichash_BYTES], remote_hash[crypto_generichash_BYTES];
        SftpHandle *h = NULL;
        uint64_t rsize = 0;
        int r, q;

        r = sftp_conn_open_write(u->sftp, part, 0640, &h);
        if (r < 0)
                return remote_failure(u, r, "create", part, size);

        r = sftp_handle_write_from_fd(u->sftp, h, fd, size, write_progress, u);
        if (r >= 0) {
                r = sftp_handle_fstat_size(u->sftp, h, &rsize);
                if (r >= 0 && rsize != size)
                        r = report_set(u->report, -EIO, "%s has %llu bytes on the server after writing %llu",
                                       part, (unsigned long long) rsize, (unsigned long long) size);
                else if (r < 0)
                        r = remote_failure(u, r, "check the size of", part, 0);
        } else if (r == -ECANCELED)
                r = report_set(u->report, r, "upload cancelled");
        else if (sftp_conn_last_error_is_local(u->sftp))
                r = report_set(u->report, r, "%s: %s", name, sftp_conn_last_error(u->sftp));
        else
                r = remote_failure(u, r, "write", part, size);

        if (r >= 0) {
                /* Durable before it gets its final name; servers without the
                 * extension get only the close. */
                q = sftp_handle_fsync(u->sftp, h);
                if (q < 0 && q != -EOPNOTSUPP)
                        r = remote_failure(u, q, "sync", part, size);
        }
        q = sftp_handle_close(u->sftp, h);
        if (r >= 0 && q < 0)
                r = remote_failure(u, q, "close", part, size);
        if (r >= 0)
                u->report->bytes_sent += size;

        if (r >= 0 && u->cfg->verify == UPLOAD_VERIFY_READBACK) {
                r = hash_local(fd, local_hash);
                if (r < 0)
                        r = report_set(u->report, r, "cannot read the local segment %s: %s", name, strerror(-r));
                else {
                        r = hash_remote(u, part, remote_hash, &rsize);
                        if (r < 0)
                                r = remote_failure(u, r, "read back", part, 0);
                        else if (rsize != size || memcmp(local_hash, remote_hash, sizeof(local_hash)) != 0)
                                r = report_set(u->report, -EIO, "%s differs from the local segment after upload",
                                               part);
                }
        }

        if (r >= 0) {
                r = sftp_conn_rename(u->sftp, part, final);
                if (r < 0)
                        r = remote_failure(u, r, "rename", part, 0);
        }

        /* Don't leave a .part eating the space of a full disk; any other
         * leftover is replaced by the next upload anyway. */
        if (r == -ENOSPC)
                (void) sftp_conn_remove(u->sftp, part);
        return r;
}

/* A segment's first and last bytes: its header (host, key epoch, seq) and
 * its footer (seq, record count, last serial and the hash chained over every
 * record; store/segment.h), as lines or as zstd frames of their own. */
#define SEGMENT_ENDS_BYTES (16U * 1024U)

/* Compares the remote file's first and last SEGMENT_ENDS_BYTES with the
 * local segment's: 1 when both agree, 0 when not. */
static int segment_ends_match(Upload *u, int fd, uint64_t size, const char *final) {
        _cleanup_free_ uint8_t *local = NULL, *remote = NULL;
        const uint64_t offsets[2] = { 0, size - SEGMENT_ENDS_BYTES };
        SftpHandle *h = NULL;
        int r = 1, q;

        local = malloc(SEGMENT_ENDS_BYTES);
        remote = malloc(SEGMENT_ENDS_BYTES);
        if (!local || !remote)
                return report_set(u->report, -ENOMEM, "out of memory");
        q = sftp_conn_open_read(u->sftp, final, &h);
        if (q < 0)
                return remote_failure(u, q, "read back", final, 0);
        for (size_t i = 0; i < ELEMENTSOF(offsets) && r > 0; i++) {
                ssize_t k = fileio_pread_full(fd, local, SEGMENT_ENDS_BYTES, offsets[i]);
                size_t n = 0;

                if (k < 0) {
                        r = report_set(u->report, (int) k, "cannot read the local segment: %s", strerror((int) -k));
                        break;
                }
                q = sftp_handle_pread(u->sftp, h, remote, SEGMENT_ENDS_BYTES, offsets[i], &n);
                if (q < 0) {
                        r = remote_failure(u, q, "read back", final, 0);
                        break;
                }
                if ((size_t) k != SEGMENT_ENDS_BYTES || n != SEGMENT_ENDS_BYTES ||
                    memcmp(local, remote, SEGMENT_ENDS_BYTES) != 0)
                        r = 0;
        }
        q = sftp_handle_close(u->sftp, h);
        if (r > 0 && q < 0)
                r = remote_failure(u, q, "close", final, 0);
        return r;
}

/* Returns 1 when the final name holds this very segment already. What is
 * there was renamed into place only after a complete, size-checked write
 * (segment_send()), so the same size and the same header and footer (whose
 * hash is chained over every record) prove it is this segment without
 * reading it all back. With verify = readback, or where the ends are most
 * of the file, the whole file is compared. */
static int segment_present(Upload *u, int fd, uint64_t size, const char *final) {
        uint8_t local_hash[crypto_generichash_BYTES], remote_hash[crypto_generichash_BYTES];
        uint64_t rsize;
        int r;

        r = sftp_conn_stat(u->sftp, final, &rsize, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return remote_failure(u, r, "look at", final, 0);
        if (rsize != size) {
                log_debug("%s exists on the server with another size, replacing it.", final);
                return 0;
        }

        if (u->cfg->verify != UPLOAD_VERIFY_READBACK && size >= 4 * SEGMENT_ENDS_BYTES) {
                r = segment_ends_match(u, fd, size, final);
                if (r == 0)
                        log_debug("%s exists on the server with another header or footer, replacing it.", final);
                return r;
        }

        r = hash_local(fd, local_hash);
        if (r < 0)
                return report_set(u->report, r, "cannot read the local segment: %s", strerror(-r));
        r = hash_remote(u, final, remote_hash, &rsize);
        if (r < 0)
                return remote_failure(u, r, "read back", final, 0);
        if (rsize != size || memcmp(local_hash, remote_hash, sizeof(local_hash)) != 0) {
                log_debug("%s exists on the server with other content, replacing it.", final);
                return 0;
        }
        return 1;
}

static int segment_upload(Upload *u, const char *name, uint64_t size) {
        _cleanup_free_ char *final = NULL, *part = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        fd = openat(u->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return report_set(u->report, -errno, "cannot open the local segment %s: %m", name);
        if (fstat(fd, &st) < 0)
                return report_set(u->report, -errno, "cannot stat the local segment %s: %m", name);
        if ((uint64_t) st.st_size != size)
                return report_set(u->report, -ESTALE, "the local segment %s changed size during the upload", name);

        if (asprintf(&final, "%s/%s", u->host_dir, name) < 0 ||
            asprintf(&part, "%s/%s.part", u->host_dir, name) < 0) {
                final = part = NULL;
                return report_set(u->report, -ENOMEM, "out of memory");
        }

        r = segment_present(u, fd, size, final);
        if (r < 0)
                return r;
        if (r > 0) {
                log_debug("%s is on the server already, not sending it again.", final);
                u->report->segments_present++;
                /* A .part beside it is from an attempt before the one that
                 * completed: nothing needs it. */
                r = sftp_conn_remove(u->sftp, part);
                if (r < 0 && r != -ENOENT)
                        log_debug("Cannot remove %s, ignoring: %s", part, sftp_conn_last_error(u->sftp));
        } else {
                r = segment_send(u, name, fd, size, part, final);
                if (r < 0)
                        return r;
        }

        u->report->segments_delivered++;
        u->report->bytes_delivered += size;
        u->sent_before += size;
        if (u->cb && u->cb->segment_delivered)
                u->cb->segment_delivered(name, size, u->userdata);
        if (u->cb && u->cb->progress)
                u->cb->progress(u->sent_before, u->report->bytes_total, u->userdata);
        return 0;
}

static int upload_connected(Upload *u, const char *const *names, const uint64_t *sizes, size_t n) {
        int r;

        r = sftp_open_session(u);
        if (r < 0)
                return r;
        r = host_dir_ensure(u);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                if (upload_cancelled(u))
                        return report_set(u->report, -ECANCELED, "upload cancelled");
                r = segment_upload(u, names[i], sizes[i]);
                if (r < 0)
                        return r;
        }
        return report_set(u->report, 0, "%u segments (%llu bytes) delivered to %s:%s, %u of them already there",
                          u->report->segments_delivered, (unsigned long long) u->report->bytes_delivered,
                          u->cfg->host, u->host_dir, u->report->segments_present);
}

int upload_run(const UploadConfig *cfg, const char *password, int spool_dir_fd,
               const char *const *segment_names, size_t n,
               const UploadCallbacks *cb, void *userdata,
               UploadCancel *cancel, UploadReport *ret_report) {
        UploadReport dummy;
        Upload u = {
                .cfg = cfg,
                .dir_fd = spool_dir_fd,
                .cb = cb,
                .userdata = userdata,
                .cancel = cancel,
                .report = ret_report ?: &dummy,
        };
        _cleanup_free_ uint64_t *sizes = NULL;
        const char *dl_error;
        uint64_t started;
        int fd = -EBADF, r;

        *u.report = (UploadReport) {};

        if (!cfg)
                return report_set(u.report, UPLOAD_NOT_CONFIGURED, "upload is not configured");
        r = config_check(cfg, u.report);
        if (r != 0)
                return r;
        if (!password)
                return report_set(u.report, UPLOAD_WRONG_PASSWORD, "no upload password given");
        if (sodium_init() < 0)
                return report_set(u.report, -EIO, "cannot initialize libsodium");
        r = libssh_dl_open(&dl_error);
        if (r < 0)
                return report_set(u.report, r, "cannot load libssh: %s", dl_error);

        sizes = calloc(n ?: 1, sizeof(uint64_t));
        if (!sizes)
                return report_set(u.report, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                struct stat st;

                if (!is_path_component(segment_names[i]))
                        return report_set(u.report, -EINVAL, "invalid segment name");
                if (fstatat(spool_dir_fd, segment_names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return report_set(u.report, -errno, "cannot stat the local segment %s: %m",
                                          segment_names[i]);
                if (!S_ISREG(st.st_mode))
                        return report_set(u.report, -EBADFD, "the local segment %s is not a regular file",
                                          segment_names[i]);
                sizes[i] = (uint64_t) st.st_size;
                u.report->bytes_total += sizes[i];
        }
        /* Even with nothing waiting, connect and authenticate: whoever asks
         * learns whether the host key and the password are right. */
        started = now_usec(CLOCK_MONOTONIC);
        r = tcp_connect(&u, &fd);
        if (r < 0)
                goto finish;
        r = upload_cancel_register(&u, fd);
        if (r < 0)
                goto finish;
        r = session_setup(&u, fd);
        if (r < 0)
                goto finish;

        if (sym_ssh_connect(u.session) != SSH_OK) {
                uint64_t timeout = cfg->connect_timeout_usec ?: DEFAULT_CONNECT_TIMEOUT_USEC;

                if (now_usec(CLOCK_MONOTONIC) - started >= timeout)
                        r = report_set(u.report, -ETIMEDOUT, "SSH handshake with %s timed out", cfg->host);
                else
                        r = report_set(u.report, -ECONNRESET, "SSH handshake with %s failed: %s",
                                       cfg->host, sym_ssh_get_error(u.session));
                goto finish;
        }

        /* The host key decides before a single authentication request. */
        r = host_key_check(&u);
        if (r != 0)
                goto finish;
        r = authenticate(&u, password);
        if (r != 0)
                goto finish;

        r = upload_connected(&u, segment_names, sizes, n);

finish:
        if (r != 0 && upload_cancelled(&u))
                r = report_set(u.report, -ECANCELED, "upload cancelled");
        u.sftp = sftp_conn_free(u.sftp);
        if (u.session) {
                sym_ssh_disconnect(u.session);
                sym_ssh_free(u.session);
        }
        upload_cancel_unregister(&u);
        safe_close(fd);
        free(u.host_dir);
        return r;
}

