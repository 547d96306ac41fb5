/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shared/log.h"
#include "shared/time-util.h"
#include "report/report-input.h"
#include "report/report-segment.h"
#include "report/report-verify.h"

#define WALK_DEPTH_MAX 8
#define THREADS_MAX 4
#define PROGRESS_INTERVAL_NSEC (200ULL * 1000 * 1000)

typedef struct InputFile {
        char *path;
        char *layout_host;      /* <dir>/<host id>/<segment>: the host id, or NULL */
        uint64_t size;
        dev_t dev;
        ino_t ino;
        bool open_segment;      /* the spool's unfinished segment */
        bool named;             /* given by name: told apart by content */
        bool is_stdin;          /* "-" */
} InputFile;

typedef struct InputList {
        InputFile *files;
        size_t n, n_alloc;
        uint64_t total_size;
} InputList;

static void input_list_done(InputList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->files[i].path);
                free(l->files[i].layout_host);
        }
        free(l->files);
}

static bool name_has_suffix(const char *name, const char *suffix) {
        size_t n = strlen(name), k = strlen(suffix);
        return n > k && strcmp(name + n - k, suffix) == 0;
}

static bool name_is_open_segment(const char *name) {
        return name_has_suffix(name, ".open");
}

static int input_list_add(InputList *l, const char *path, const char *layout_host, const struct stat *st,
                          bool named) {
        const char *base = strrchr(path, '/');

        if (l->n == l->n_alloc) {
                size_t a = MAX(l->n_alloc * 2, (size_t) 64);
                InputFile *f = reallocarray(l->files, a, sizeof(InputFile));
                if (!f)
                        return -ENOMEM;
                l->files = f;
                l->n_alloc = a;
        }
        InputFile f = {
                .path = strdup(path),
                .layout_host = layout_host ? strdup(layout_host) : NULL,
                .size = S_ISREG(st->st_mode) ? (uint64_t) st->st_size : 0,
                .dev = st->st_dev,
                .ino = st->st_ino,
                .open_segment = name_is_open_segment(base ? base + 1 : path),
                .named = named,
                .is_stdin = named && strcmp(path, "-") == 0,
        };
        if (!f.path || (layout_host && !f.layout_host)) {
                free(f.path);
                free(f.layout_host);
                return -ENOMEM;
        }
        l->files[l->n++] = f;
        l->total_size += f.size;
        return 0;
}

static int cmp_string(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static void strv_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

/* layout_host: the name of the directory holding dir's files, when dir is a
 * host directory below the directory that was given. */
static int walk(InputList *l, const char *dir, const char *layout_host, unsigned depth) {
        _cleanup_(closedirp) DIR *d = NULL;
        char **names = NULL;
        size_t n = 0, a = 0;
        struct dirent *de;
        int r = 0;

        if (depth > WALK_DEPTH_MAX)
                return 0;
        d = opendir(dir);
        if (!d) {
                /* A directory that was asked for is an error; one found
                 * inside it is skipped. */
                if (depth == 0)
                        return log_error_errno(errno, "%s: cannot open directory: %m", dir);
                log_warning_errno(errno, "%s: cannot open directory, skipping: %m", dir);
                return 0;
        }

        while ((errno = 0, de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (n == a) {
                        a = MAX(a * 2, (size_t) 64);
                        char **v = reallocarray(names, a, sizeof(char *));
                        if (!v) {
                                strv_free(names, n);
                                return log_oom();
                        }
                        names = v;
                }
                names[n] = strdup(de->d_name);
                if (!names[n]) {
                        strv_free(names, n);
                        return log_oom();
                }
                n++;
        }
        if (errno != 0)
                log_warning_errno(errno, "%s: cannot read directory, ignoring the rest: %m", dir);

        if (n > 0)
                qsort(names, n, sizeof(char *), cmp_string);
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *p = NULL;
                struct stat st;

                if (asprintf(&p, "%s/%s", dir, names[i]) < 0) {
                        r = log_oom();
                        break;
                }
                /* Links inside a tree are not followed: no loops, no
                 * surprises from what an uploader could plant. */
                if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        log_warning_errno(errno, "%s: cannot stat, skipping: %m", p);
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        /* The spool sets damaged segments aside there. */
                        if (strcmp(names[i], "quarantine") == 0)
                                continue;
                        r = walk(l, p, names[i], depth + 1);
                } else if (S_ISREG(st.st_mode)) {
                        /* The spool's bookkeeping of the hash chain, and
                         * uploads still in flight (upload.c writes NAME.part
                         * and renames it when complete). */
                        if (strcmp(names[i], "chain") == 0 || name_has_suffix(names[i], ".part"))
                                continue;
                        r = input_list_add(l, p, layout_host, &st, false);
                        if (r < 0)
                                log_oom();
                }
        }
        strv_free(names, n);
        return r;
}

static int cmp_file_id(const void *a, const void *b) {
        const InputFile *x = *(const InputFile *const *) a, *y = *(const InputFile *const *) b;
        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        if (x->ino != y->ino)
                return x->ino < y->ino ? -1 : 1;
        return x < y ? -1 : x > y;
}

/* A file named twice (or given and also found in a directory) counts once,
 * where it came first. */
static void input_list_dedup(InputList *l) {
        _cleanup_free_ InputFile **v = NULL;
        size_t k = 0;

        if (l->n < 2)
                return;
        v = reallocarray(NULL, l->n, sizeof(InputFile *));
        if (!v)
                return; /* counted twice: better than failing */
        for (size_t i = 0; i < l->n; i++)
                v[i] = &l->files[i];
        qsort(v, l->n, sizeof(InputFile *), cmp_file_id);
        for (size_t i = 1; i < l->n; i++)
                if (v[i]->dev == v[i - 1]->dev && v[i]->ino == v[i - 1]->ino) {
                        log_debug("%s: named more than once, counted once.", v[i]->path);
                        free(v[i]->path);
                        v[i]->path = NULL;
                }
        for (size_t i = 0; i < l->n; i++) {
                if (!l->files[i].path) {
                        l->total_size -= l->files[i].size;
                        free(l->files[i].layout_host);
                        continue;
                }
                l->files[k++] = l->files[i];
        }
        l->n = k;
}

static int input_list_collect(InputList *l, char *const *paths, size_t n_paths) {
        int r;

        for (size_t i = 0; i < n_paths; i++) {
                struct stat st;

                if (strcmp(paths[i], "-") == 0) {
                        if (fstat(STDIN_FILENO, &st) < 0)
                                return log_error_errno(errno, "standard input: %m");
                        r = input_list_add(l, "-", NULL, &st, true);
                        if (r < 0)
                                return log_oom();
                        continue;
                }
                if (stat(paths[i], &st) < 0)
                        return log_error_errno(errno, "%s: %m", paths[i]);
                if (S_ISDIR(st.st_mode))
                        r = walk(l, paths[i], NULL, 0);
                else {
                        /* Given by name: whatever it is, it is read (and
                         * reported when it is not a segment). */
                        r = input_list_add(l, paths[i], NULL, &st, true);
                        if (r < 0)
                                log_oom();
                }
                if (r < 0)
                        return r;
        }
        input_list_dedup(l);
        return 0;
}

/* --- workers --- */

typedef struct FileResult FileResult;
static int verify_note(Verify *v, const InputFile *f, ReportSegmentReader *reader, const FileResult *res);

typedef struct Shared {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        const InputList *list;
        const ReportInputOptions *options;
        size_t next_take, next_merge;
        Report *total;
        Verify *verify;         /* the completeness column: verify's checks */
        int error;

        bool progress;
        bool progress_shown;
        uint64_t done_bytes;
        uint64_t last_draw_nsec;
} Shared;

/* Called with the lock held. */
static void progress_draw(Shared *s, bool force) {
        uint64_t now;

        if (!s->progress)
                return;
        now = now_nsec(CLOCK_MONOTONIC);
        if (!force && now - s->last_draw_nsec < PROGRESS_INTERVAL_NSEC)
                return;
        s->last_draw_nsec = now;
        fprintf(stderr, "\rReading segments: %zu/%zu files, %" PRIu64 "/%" PRIu64 " MiB (%.0f%%)\033[K",
                s->next_merge, s->list->n, s->done_bytes >> 20, s->list->total_size >> 20,
                s->list->total_size ? 100.0 * (double) s->done_bytes / (double) s->list->total_size : 100.0);
        s->progress_shown = true;
}

static void progress_clear(Shared *s) {
        if (s->progress_shown) {
                fputs("\r\033[K", stderr);
                s->progress_shown = false;
        }
}

typedef struct FileResult {
        int r;                  /* 0, -EBADMSG (damaged: skip), other: read error (skip) */
        char reason[200];
        uint64_t bytes;
        uint64_t torn;
        bool read;              /* the reader's facts are this file's */
} FileResult;

/* For messages: "-" is a person's standard input. */
static const char *input_name(const InputFile *f) {
        return f->is_stdin ? "standard input" : f->path;
}

/* --- inputs that are not segments --- */

#define SNIFF_SIZE 4096U
#define LINES_CHUNK (256U * 1024U)

typedef enum InputKind {
        INPUT_SEGMENT,
        INPUT_JSON_LINES,
        INPUT_AUDIT_LOG,
        INPUT_UNKNOWN,
} InputKind;

static InputKind input_kind(const char *p, size_t n) {
        static const char zstd_magic[4] = { 0x28, (char) 0xb5, 0x2f, (char) 0xfd };
        static const char header[] = "{\"fsmon\":\"segment\"";

        if (n >= sizeof(zstd_magic) && memcmp(p, zstd_magic, sizeof(zstd_magic)) == 0)
                return INPUT_SEGMENT;
        if (n >= sizeof(header) - 1 && memcmp(p, header, sizeof(header) - 1) == 0)
                return INPUT_SEGMENT;
        if (n == 0 || p[0] == '{')
                return INPUT_JSON_LINES;        /* an empty file: no records */
        if ((n >= 5 && memcmp(p, "type=", 5) == 0) || (n >= 5 && memcmp(p, "node=", 5) == 0))
                return INPUT_AUDIT_LOG;
        return INPUT_UNKNOWN;
}

typedef struct LineInput {
        Report *delta;
        ReportScanBuffer *scan;
        char *pending;                  /* a line not yet ended */
        size_t pending_len, pending_size;
        uint64_t line_no, bytes;
        char *reason;
        size_t reason_size;
} LineInput;

static int line_input_line(const char *line, size_t len, void *userdata) {
        LineInput *li = userdata;
        ReportRecord rec;
        int r;

        li->line_no++;
        li->bytes += len + 1;
        if (len > 0 && line[len - 1] == '\r')
                len--;
        if (len == 0)
                return 0;
        r = report_scan_line(line, len, li->scan, &rec);
        if (r == -EBADMSG) {
                snprintf(li->reason, li->reason_size, "line %" PRIu64 " is not a JSON object of the record format",
                         li->line_no);
                return r;
        }
        if (r < 0)
                return r;
        return report_add(li->delta, &rec, NULL);
}

/* Splits data into lines; a line's start that the chunk cut off waits in
 * pending for the rest. */
static int line_input_feed(LineInput *li, const char *data, size_t n) {
        int r;

        while (n > 0) {
                const char *nl = memchr(data, '\n', n);
                size_t k = nl ? (size_t) (nl - data) : n;

                if (!nl || li->pending_len > 0) {
                        if (li->pending_len + k + 1 > li->pending_size) {
                                size_t a = MAX(li->pending_size * 2, li->pending_len + k + 1);
                                char *p = realloc(li->pending, a);
                                if (!p)
                                        return -ENOMEM;
                                li->pending = p;
                                li->pending_size = a;
                        }
                        memcpy(li->pending + li->pending_len, data, k);
                        li->pending_len += k;
                        if (!nl)
                                return 0;
                        r = line_input_line(li->pending, li->pending_len, li);
                        li->pending_len = 0;
                } else
                        r = line_input_line(data, k, li);
                if (r < 0)
                        return r;
                data += k + 1;
                n -= k + 1;
        }
        return 0;
}

static int line_input_finish(LineInput *li) {
        int r = 0;

        if (li->pending_len > 0)
                r = line_input_line(li->pending, li->pending_len, li);
        li->pending_len = 0;
        return r;
}

static int line_input_sink(const char *line, size_t len, void *userdata) {
        return line_input_line(line, len, userdata);
}

static int read_some(int fd, char *buf, size_t size, size_t *ret_n) {
        size_t n = 0;

        while (n < size) {
                ssize_t k = read(fd, buf + n, size - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        *ret_n = n;
        return 0;
}

/* A named input that may be anything: returns 1 when it turned out to be a
 * segment at offset 0 of fd (the caller reads it as one), else 0 with ret
 * filled, or -ENOMEM. */
static int file_process_any(const InputFile *f, int fd, Report *delta, ReportScanBuffer *scan,
                            const ReportInputOptions *o, FileResult *ret) {
        _cleanup_free_ char *buf = NULL;
        LineInput li = { .delta = delta, .scan = scan, .reason = ret->reason, .reason_size = sizeof(ret->reason) };
        size_t n = 0;
        int r;

        buf = malloc(LINES_CHUNK);
        if (!buf)
                return -ENOMEM;
        r = read_some(fd, buf, SNIFF_SIZE, &n);
        if (r < 0) {
                ret->r = r;
                snprintf(ret->reason, sizeof(ret->reason), "cannot read: %s", strerror(-r));
                return 0;
        }

        switch (input_kind(buf, n)) {
        case INPUT_SEGMENT:
                if (lseek(fd, 0, SEEK_SET) == 0)
                        return 1;
                ret->r = -EBADMSG;
                snprintf(ret->reason, sizeof(ret->reason), "a segment on a pipe: name the file instead");
                return 0;
        case INPUT_UNKNOWN:
                ret->r = -EBADMSG;
                snprintf(ret->reason, sizeof(ret->reason),
                         "neither a segment, action JSON Lines (fsmonctl decode) nor an audit log");
                return 0;
        case INPUT_AUDIT_LOG:
                if (!o->audit_decode) {
                        ret->r = -EBADMSG;
                        snprintf(ret->reason, sizeof(ret->reason), "an audit log (decode it first)");
                        return 0;
                }
                r = o->audit_decode(buf, n, fd, line_input_sink, &li, o->audit_decode_userdata,
                                    ret->reason, sizeof(ret->reason));
                break;
        case INPUT_JSON_LINES:
                r = 0;
                for (;;) {
                        r = line_input_feed(&li, buf, n);
                        if (r < 0 || n == 0)
                                break;
                        r = read_some(fd, buf, LINES_CHUNK, &n);
                        if (r < 0) {
                                snprintf(ret->reason, sizeof(ret->reason), "cannot read: %s", strerror(-r));
                                break;
                        }
                        if (n == 0)
                                break;
                }
                if (r >= 0)
                        r = line_input_finish(&li);
                break;
        }
        free(li.pending);
        if (r == -ENOMEM)
                return r;
        ret->r = r < 0 ? (r == -EBADMSG ? r : -EIO) : 0;
        if (r < 0 && !ret->reason[0])
                snprintf(ret->reason, sizeof(ret->reason), "%s", strerror(-r));
        ret->bytes = li.bytes;
        return 0;
}

static int file_process(const InputFile *f, Report *delta, ReportScanBuffer *scan, ReportSegmentReader *reader,
                        const ReportInputOptions *o, FileResult *ret) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        *ret = (FileResult) {};
        fd = f->is_stdin ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3) : open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                ret->r = -errno;
                snprintf(ret->reason, sizeof(ret->reason), "cannot open: %s", strerror(errno));
                return 0;
        }
        if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !(f->named && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode))))) {
                ret->r = -EBADMSG;
                snprintf(ret->reason, sizeof(ret->reason), "not a regular file");
                return 0;
        }
        if (f->named) {
                r = file_process_any(f, fd, delta, scan, o, ret);
                if (r <= 0)
                        return r;
                *ret = (FileResult) {};
        }

        r = report_segment_read(reader, fd, f->open_segment, f->layout_host, delta, scan);
        if (r == -ENOMEM)
                return r;
        ret->r = r;
        ret->read = true;
        if (r == -EBADMSG)
                snprintf(ret->reason, sizeof(ret->reason), "%s", report_segment_error(reader));
        else if (r < 0)
                snprintf(ret->reason, sizeof(ret->reason), "cannot read: %s", strerror(-r));
        ret->bytes = report_segment_bytes(reader);
        ret->torn = report_segment_torn(reader);
        return 0;
}

/* The file, as `fsmonctl verify` would hand it over (called in input order). */
static int verify_note(Verify *v, const InputFile *f, ReportSegmentReader *reader, const FileResult *res) {
        const char *base = strrchr(f->path, '/');
        VerifyFile vf = {
                .path = f->path,
                .name = base ? base + 1 : f->path,
                .folder = f->layout_host,
                .kind = f->open_segment ? VERIFY_FILE_OPEN_SEGMENT : VERIFY_FILE_SEGMENT,
                .damage = res->read ? report_segment_damage(reader) : VERIFY_DAMAGE_UNREADABLE,
                .error = res->r < 0 ? res->reason : NULL,
                .facts = res->read ? report_segment_facts(reader) : NULL,
                .size = f->size,
        };
        if (!res->read && res->r == -EBADMSG)
                vf.kind = VERIFY_FILE_NOT_REGULAR;
        return verify_add(v, &vf);
}

static void *worker(void *userdata) {
        Shared *s = userdata;
        _cleanup_(report_freep) Report *delta = NULL;
        _cleanup_(report_segment_reader_freep) ReportSegmentReader *reader = NULL;
        ReportScanBuffer buf = {};
        int r;

        r = report_new(&delta);
        if (r >= 0)
                r = report_segment_reader_new(&reader);
        if (r < 0) {
                pthread_mutex_lock(&s->lock);
                s->error = s->error ?: r;
                pthread_cond_broadcast(&s->cond);
                pthread_mutex_unlock(&s->lock);
                return NULL;
        }

        for (;;) {
                const InputFile *f;
                FileResult res;
                size_t i;

                pthread_mutex_lock(&s->lock);
                if (s->error < 0 || s->next_take >= s->list->n) {
                        pthread_mutex_unlock(&s->lock);
                        break;
                }
                i = s->next_take++;
                pthread_mutex_unlock(&s->lock);
                f = &s->list->files[i];

                r = file_process(f, delta, &buf, reader, s->options, &res);

                /* Merge strictly in input order: order-dependent figures
                 * (sequential reads, re-reads) must not depend on timing. */
                pthread_mutex_lock(&s->lock);
                while (s->next_merge != i && s->error >= 0)
                        pthread_cond_wait(&s->cond, &s->lock);
                if (s->error >= 0) {
                        if (r >= 0 && res.r == 0) {
                                r = report_merge(s->total, delta);
                                if (r >= 0)
                                        report_note_input(s->total, res.bytes);
                                if (res.torn > 0) {
                                        progress_clear(s);
                                        log_notice("%s: unfinished segment, %" PRIu64 " torn line%s at its end left out.",
                                                   input_name(f), res.torn, res.torn == 1 ? "" : "s");
                                }
                        } else if (r >= 0) {
                                report_reset(delta);
                                progress_clear(s);
                                log_warning("%s: %s, skipping.", input_name(f), res.reason);
                                r = report_note_skipped(s->total, input_name(f), res.reason);
                        }
                        if (r >= 0)
                                r = verify_note(s->verify, f, reader, &res);
                        if (r < 0)
                                s->error = r;
                        s->next_merge++;
                        s->done_bytes += f->size;
                        progress_draw(s, false);
                }
                pthread_cond_broadcast(&s->cond);
                pthread_mutex_unlock(&s->lock);
        }

        report_scan_buffer_done(&buf);
        return NULL;
}

int report_input_run(Report *total, char *const *paths, size_t n_paths, const ReportInputOptions *o) {
        _cleanup_(input_list_done) InputList list = {};
        pthread_t threads[THREADS_MAX];
        unsigned n_threads = o->threads, started = 0;
        _cleanup_(verify_freep) Verify *verify = NULL;
        Shared s = {
                .lock = PTHREAD_MUTEX_INITIALIZER,
                .cond = PTHREAD_COND_INITIALIZER,
                .list = &list,
                .options = o,
                .total = total,
                .progress = o->progress,
        };
        int r;

        r = verify_new(&verify);
        if (r < 0)
                return log_oom();
        s.verify = verify;

        r = input_list_collect(&list, paths, n_paths);
        if (r < 0)
                return r;

        if (n_threads == 0) {
                long cpus = sysconf(_SC_NPROCESSORS_ONLN);
                n_threads = cpus > 0 ? (unsigned) cpus : 1;
        }
        n_threads = MIN(MIN(n_threads, (unsigned) THREADS_MAX), (unsigned) MAX(list.n, (size_t) 1));

        /* The calling thread is one of the workers. */
        for (unsigned i = 1; i < n_threads; i++) {
                r = pthread_create(&threads[i], NULL, worker, &s);
                if (r != 0) {
                        log_debug_errno(r, "Cannot start a worker thread, using fewer: %m");
                        break;
                }
                started++;
        }
        worker(&s);
        for (unsigned i = 1; i <= started; i++)
                pthread_join(threads[i], NULL);

        progress_clear(&s);
        if (s.error >= 0)
                s.error = verify_finish(verify);
        if (s.error < 0)
                return log_error_errno(s.error, "Cannot build the report: %m");
        report_set_verify(total, TAKE_PTR(verify));
        return 0;
}
