/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/log.h"
#include "report/report-segment.h"
#include "report/report-verify-input.h"

typedef struct Entry {
        char *name;
        struct stat st;
} Entry;

typedef struct Ctx {
        Verify *v;
        ReportSegmentReader *reader;
        ReportScanBuffer scan;
} Ctx;

static bool has_suffix(const char *name, const char *suffix) {
        size_t n = strlen(name), k = strlen(suffix);
        return n > k && strcmp(name + n - k, suffix) == 0;
}

static void entries_free(Entry *e, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(e[i].name);
        free(e);
}

static int cmp_entry(const void *a, const void *b) {
        return strcmp(((const Entry *) a)->name, ((const Entry *) b)->name);
}

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

/* The directory's entries (hidden ones left out: the spool's temporary
 * files), lstat()ed, in name order. */
static int list_dir(const char *dir, Entry **ret, size_t *ret_n) {
        _cleanup_(closedirp) DIR *d = NULL;
        Entry *e = NULL;
        size_t n = 0, a = 0;
        struct dirent *de;

        d = opendir(dir);
        if (!d)
                return -errno;
        while ((errno = 0, de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (n == a) {
                        Entry *p;
                        a = MAX(a * 2, (size_t) 64);
                        p = reallocarray(e, a, sizeof(Entry));
                        if (!p) {
                                entries_free(e, n);
                                return -ENOMEM;
                        }
                        e = p;
                }
                e[n].name = strdup(de->d_name);
                if (!e[n].name) {
                        entries_free(e, n);
                        return -ENOMEM;
                }
                if (fstatat(dirfd(d), de->d_name, &e[n].st, AT_SYMLINK_NOFOLLOW) < 0) {
                        /* Gone since the listing (an upload renamed it): nothing to check. */
                        free(e[n].name);
                        continue;
                }
                n++;
        }
        if (errno != 0) {
                int k = -errno;
                entries_free(e, n);
                return k;
        }
        if (n > 1)
                qsort(e, n, sizeof(Entry), cmp_entry);
        *ret = e;
        *ret_n = n;
        return 0;
}

static int read_file(Ctx *c, const char *path, const char *name, const char *folder, const struct stat *lst) {
        VerifyFile f = { .path = path, .name = name, .folder = folder, .size = (uint64_t) lst->st_size };
        _cleanup_close_ int fd = -EBADF;
        char error[200] = "";
        struct stat st;
        int r;

        if (S_ISLNK(lst->st_mode)) {
                f.kind = VERIFY_FILE_SYMLINK;
                return verify_add(c->v, &f);
        }
        if (S_ISDIR(lst->st_mode)) {
                f.kind = VERIFY_FILE_DIRECTORY;
                return verify_add(c->v, &f);
        }
        if (!S_ISREG(lst->st_mode)) {
                f.kind = VERIFY_FILE_NOT_REGULAR;
                return verify_add(c->v, &f);
        }
        if (has_suffix(name, ".part")) {
                f.kind = VERIFY_FILE_PART;
                return verify_add(c->v, &f);
        }

        f.kind = has_suffix(name, ".open") ? VERIFY_FILE_OPEN_SEGMENT : VERIFY_FILE_SEGMENT;
        /* O_NOFOLLOW | O_NONBLOCK: what was a regular file when listed may
         * have been replaced by a link or a FIFO since. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0) {
                snprintf(error, sizeof(error), "cannot open: %s", strerror(errno));
                f.damage = VERIFY_DAMAGE_UNREADABLE;
                f.error = error;
                return verify_add(c->v, &f);
        }
        if (!S_ISREG(st.st_mode)) {
                f.kind = VERIFY_FILE_NOT_REGULAR;
                return verify_add(c->v, &f);
        }

        r = report_segment_read(c->reader, fd, f.kind == VERIFY_FILE_OPEN_SEGMENT, NULL, NULL, &c->scan);
        if (r == -ENOMEM)
                return r;
        if (r < 0 && r != -EBADMSG)
                snprintf(error, sizeof(error), "cannot read: %s", strerror(-r));
        else if (r < 0)
                snprintf(error, sizeof(error), "%s", report_segment_error(c->reader));
        f.damage = report_segment_damage(c->reader);
        f.error = error[0] ? error : NULL;
        f.facts = report_segment_facts(c->reader);
        return verify_add(c->v, &f);
}

/* One directory: its files (a spool, or stray files of a server directory)
 * as a loose group, then each subdirectory as a host folder. */
static int walk(Ctx *c, const char *dir) {
        Entry *e = NULL;
        size_t n = 0;
        int r;

        r = list_dir(dir, &e, &n);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "%s: cannot read directory: %m", dir);

        for (int pass = 0; pass < 2 && r >= 0; pass++)
                for (size_t i = 0; i < n && r >= 0; i++) {
                        _cleanup_free_ char *p = NULL;
                        bool is_dir = S_ISDIR(e[i].st.st_mode);

                        if (is_dir != (pass == 1))
                                continue;
                        /* The spool's own bookkeeping: the chain file, and
                         * damaged segments it set aside. */
                        if ((is_dir && strcmp(e[i].name, "quarantine") == 0) ||
                            (!is_dir && strcmp(e[i].name, "chain") == 0))
                                continue;
                        if (asprintf(&p, "%s/%s", dir, e[i].name) < 0) {
                                r = log_oom();
                                break;
                        }
                        if (!is_dir) {
                                r = read_file(c, p, e[i].name, NULL, &e[i].st);
                                continue;
                        }

                        Entry *he = NULL;
                        size_t hn = 0;
                        r = list_dir(p, &he, &hn);
                        if (r == -ENOMEM)
                                break;
                        if (r < 0) {
                                log_error_errno(r, "%s: cannot read host folder: %m", p);
                                break;
                        }
                        for (size_t k = 0; k < hn && r >= 0; k++) {
                                _cleanup_free_ char *q = NULL;
                                if (asprintf(&q, "%s/%s", p, he[k].name) < 0) {
                                        r = -ENOMEM;
                                        break;
                                }
                                r = read_file(c, q, he[k].name, e[i].name, &he[k].st);
                        }
                        entries_free(he, hn);
                }
        entries_free(e, n);
        if (r == -ENOMEM)
                return log_oom();
        return r;
}

int verify_input_run(Verify *v, char *const *paths, size_t n_paths) {
        _cleanup_(report_segment_reader_freep) ReportSegmentReader *reader = NULL;
        Ctx c = { .v = v };
        int r;

        r = report_segment_reader_new(&reader);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the segment reader: %m");
        c.reader = reader;

        for (size_t i = 0; i < n_paths; i++) {
                struct stat st;
                const char *base;

                /* What was named is followed, whatever it is. */
                if (stat(paths[i], &st) < 0) {
                        r = log_error_errno(errno, "%s: %m", paths[i]);
                        break;
                }
                if (S_ISDIR(st.st_mode))
                        r = walk(&c, paths[i]);
                else {
                        base = strrchr(paths[i], '/');
                        r = read_file(&c, paths[i], base ? base + 1 : paths[i], NULL, &st);
                        if (r == -ENOMEM)
                                log_oom();
                }
                if (r < 0)
                        break;
        }
        if (r >= 0) {
                r = verify_finish(v);
                if (r < 0)
                        log_oom();
        }
        report_scan_buffer_done(&c.scan);
        return r;
}
