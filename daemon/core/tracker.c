/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/macro.h"
#include "shared/path-util.h"
#include "core/syscall-table.h"
#include "core/tracker.h"

/* Linux x86 values (the same for both syscall tables): the log carries the
 * numbers the traced program passed, whatever the machine decoding it. */
#define X_O_WRONLY     00000001U
#define X_O_RDWR       00000002U
#define X_O_ACCMODE    00000003U
#define X_O_CREAT      00000100U
#define X_O_TRUNC      00001000U
#define X_O_APPEND     00002000U
#define X_O_DIRECTORY  00200000U
#define X_O_CLOEXEC    02000000U
#define X_O_PATH      010000000U
#define X_AT_FDCWD     (-100)
#define X_F_DUPFD      0
#define X_F_SETFD      2
#define X_F_SETFL      4
#define X_F_DUPFD_CLOEXEC 1030
#define X_FD_CLOEXEC   1
#define X_CLONE_FILES  0x00000400ULL
#define X_CLONE_THREAD 0x00010000ULL
#define X_CLOSE_RANGE_UNSHARE (1U << 1)
#define X_CLOSE_RANGE_CLOEXEC (1U << 2)
#define X_S_IFMT       0170000U
#define X_S_IFDIR      0040000U
#define X_AT_REMOVEDIR 0x200

/* Highest descriptor number the tracker keeps a slot for. */
#define FD_MAX (1 << 20)
/* clone3 calls whose child has not shown up yet (threads never do). */
#define PENDING_CLONES 64
/* Distinct node= names kept apart; more are counted together in the last. */
#define NODES_MAX 4096

typedef struct OpenFile {
        unsigned n_ref;
        unsigned node;          /* host (index into Tracker.nodes + 1; 0: none) */
        struct OpenFile *all_prev, *all_next;   /* every description: renames */
        char *path;             /* NULL: not known */
        size_t path_len;
        int64_t offset;         /* OFFSET_UNKNOWN: not known */
        int64_t size;           /* end of file, as far as known */
        uint32_t flags;
        bool flags_known;
        bool is_dir;
        bool listed;            /* opendir already recorded */
        bool not_file;          /* pipe, socket, ...: counted, not recorded */
        bool recorded;          /* passes the include/exclude filter */
        bool unknown;           /* never seen opened, nothing known: a snapshot may fill it */
        unsigned save_id;       /* tracker_save_state(): 1 + its number, 0: not written yet */
} OpenFile;

typedef struct FdEntry {
        OpenFile *file;
        bool cloexec;
        /* Closed, or given a known file, by an event since a snapshot of
         * the table's process was taken: the events know this slot better
         * than /proc's listing, which may have been read before them. */
        bool changed;
} FdEntry;

typedef struct FdTable {
        unsigned n_ref;         /* processes sharing it (CLONE_FILES) */
        FdEntry *fds;
        int n_fds;              /* slots allocated */
        unsigned save_id;       /* as OpenFile.save_id */
} FdTable;

typedef struct ProcSnapshot {
        uint64_t sec;
        unsigned msec;
        TrackerSnapshotFd *fds;
        size_t n_fds;
} ProcSnapshot;

typedef struct Process {
        unsigned node;          /* processes are told apart by node and pid */
        uint32_t pid, ppid;
        FdTable *table;
        bool lazy;              /* made from its parent before its fork event */
        ProcSnapshot *snapshot; /* /proc's view, applied at the first event after it */
        struct Process *hash_next;
        struct Process *lru_prev, *lru_next;
} Process;

/* A child that ran its whole life before its parent's fork call was logged:
 * whether its table was shared (CLONE_FILES) is only known then, so its
 * table and the closes its exit implies wait here for the fork event. */
typedef struct ExitedChild {
        unsigned node;
        uint32_t pid, ppid, auid, uid;
        FdTable *table;
        uint64_t sec, serial;
        unsigned msec;
        char comm[64];
} ExitedChild;

#define EXITED_CHILDREN 64

typedef struct PendingClone {
        unsigned node;
        uint32_t parent, child;
        uint64_t sec, serial;
        unsigned msec;
} PendingClone;

struct Tracker {
        TrackerEmit emit;
        void *userdata;
        TrackerFdResolver resolver;
        void *resolver_userdata;

        size_t max_processes;
        char **include, **exclude;
        bool (*path_filter)(const char *path, void *userdata);
        void *path_filter_userdata;
        bool with_ids;

        Process **buckets;
        size_t n_buckets;
        Process *lru_head, *lru_tail;   /* head: most recently used */

        PendingClone pending[PENDING_CLONES];
        unsigned pending_next;

        ExitedChild exited[EXITED_CHILDREN];
        unsigned exited_next;

        OpenFile *all_files;

        /* node= names seen, in order; an event's node is its index + 1. */
        char **nodes;
        size_t n_nodes;
        unsigned node;          /* of the event being handled */

        /* Per-event scratch. */
        const AuditEvent *ev;
        const SyscallAbi *abi;          /* ev's ABI, while ev is handled */
        char comm[64];
        bool comm_decoded;
        char name_buf[4096 + 1];

        TrackerStats stats;
};

static char **strv_copy(char *const *l) {
        size_t n = 0;
        char **c;

        if (!l)
                return NULL;
        while (l[n])
                n++;
        c = calloc(n + 1, sizeof(char *));
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(l[i]);
                if (!c[i]) {
                        for (size_t j = 0; j < i; j++)
                                free(c[j]);
                        free(c);
                        return NULL;
                }
        }
        return c;
}

static void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}

int tracker_new(const TrackerOptions *o, TrackerEmit emit, void *userdata, Tracker **ret) {
        Tracker *t;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->emit = emit;
        t->userdata = userdata;
        t->max_processes = o && o->max_processes ? o->max_processes : TRACKER_MAX_PROCESSES_DEFAULT;
        t->with_ids = o && o->with_ids;
        t->path_filter = o ? o->path_filter : NULL;
        t->path_filter_userdata = o ? o->path_filter_userdata : NULL;
        t->n_buckets = 1;
        while (t->n_buckets < t->max_processes)
                t->n_buckets <<= 1;
        t->buckets = calloc(t->n_buckets, sizeof(Process *));
        if (!t->buckets)
                goto oom;
        if (o && o->include && o->include[0] && !(t->include = strv_copy(o->include)))
                goto oom;
        if (o && o->exclude && o->exclude[0] && !(t->exclude = strv_copy(o->exclude)))
                goto oom;
        *ret = t;
        return 0;
oom:
        tracker_free(t);
        return -ENOMEM;
}

void tracker_set_fd_resolver(Tracker *t, TrackerFdResolver resolver, void *userdata) {
        t->resolver = resolver;
        t->resolver_userdata = userdata;
}

/* ---- open file descriptions ---- */

static bool path_recorded(const Tracker *t, const char *path, size_t len) {
        if (t->path_filter)
                return !path || t->path_filter(path, t->path_filter_userdata);
        if (!path)
                return !t->include;
        if (t->exclude)
                for (char **i = t->exclude; *i; i++)
                        if (path_has_prefix(path, len, *i, strlen(*i)))
                                return false;
        if (!t->include)
                return true;
        for (char **i = t->include; *i; i++)
                if (path_has_prefix(path, len, *i, strlen(*i)))
                        return true;
        return false;
}

static OpenFile *open_file_new(Tracker *t, char *path, size_t path_len) {
        OpenFile *f = calloc(1, sizeof(*f));
        if (!f) {
                free(path);
                return NULL;
        }
        f->n_ref = 1;
        f->path = path;
        f->path_len = path_len;
        f->offset = OFFSET_UNKNOWN;
        f->size = OFFSET_UNKNOWN;
        f->recorded = path_recorded(t, path, path_len);
        f->node = t->node;
        f->all_next = t->all_files;
        if (t->all_files)
                t->all_files->all_prev = f;
        t->all_files = f;
        t->stats.open_files++;
        return f;
}

static OpenFile *open_file_ref(OpenFile *f) {
        f->n_ref++;
        return f;
}

static void open_file_unref(Tracker *t, OpenFile *f) {
        if (!f || --f->n_ref > 0)
                return;
        if (f->all_prev)
                f->all_prev->all_next = f->all_next;
        else
                t->all_files = f->all_next;
        if (f->all_next)
                f->all_next->all_prev = f->all_prev;
        free(f->path);
        free(f);
        t->stats.open_files--;
}

/* ---- descriptor tables ---- */

static FdTable *fd_table_new(void) {
        FdTable *ft = calloc(1, sizeof(*ft));
        if (ft)
                ft->n_ref = 1;
        return ft;
}

static FdTable *fd_table_copy(const FdTable *src) {
        FdTable *ft = fd_table_new();
        if (!ft)
                return NULL;
        if (src && src->n_fds > 0) {
                ft->fds = calloc(src->n_fds, sizeof(FdEntry));
                if (!ft->fds) {
                        free(ft);
                        return NULL;
                }
                ft->n_fds = src->n_fds;
                for (int i = 0; i < src->n_fds; i++)
                        if (src->fds[i].file) {
                                ft->fds[i].file = open_file_ref(src->fds[i].file);
                                ft->fds[i].cloexec = src->fds[i].cloexec;
                        }
        }
        return ft;
}

static FdEntry *fd_table_get(FdTable *ft, int fd) {
        if (fd < 0 || fd >= ft->n_fds || !ft->fds[fd].file)
                return NULL;
        return &ft->fds[fd];
}

static FdEntry *fd_table_slot(FdTable *ft, int fd) {
        if (fd < 0 || fd >= FD_MAX)
                return NULL;
        if (fd >= ft->n_fds) {
                int n = MAX(ft->n_fds * 2, 16);
                FdEntry *e;

                while (n <= fd)
                        n *= 2;
                n = MIN(n, FD_MAX);
                e = realloc(ft->fds, n * sizeof(FdEntry));
                if (!e)
                        return NULL;
                memset(e + ft->n_fds, 0, (n - ft->n_fds) * sizeof(FdEntry));
                ft->fds = e;
                ft->n_fds = n;
        }
        return &ft->fds[fd];
}

static void fd_table_unref(Tracker *t, FdTable *ft) {
        if (!ft || --ft->n_ref > 0)
                return;
        for (int i = 0; i < ft->n_fds; i++)
                open_file_unref(t, ft->fds[i].file);
        free(ft->fds);
        free(ft);
}

/* ---- processes ---- */

static void proc_snapshot_free(ProcSnapshot *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n_fds; i++)
                free(s->fds[i].info.path);
        free(s->fds);
        free(s);
}

static size_t pid_bucket(const Tracker *t, unsigned node, uint32_t pid) {
        return ((pid ^ (node * 0x9e3779b9U)) * 2654435761U) & (t->n_buckets - 1);
}

static Process *process_find(Tracker *t, unsigned node, uint32_t pid) {
        for (Process *p = t->buckets[pid_bucket(t, node, pid)]; p; p = p->hash_next)
                if (p->pid == pid && p->node == node)
                        return p;
        return NULL;
}

/* The index + 1 of node name n (0: no node=), added when new. */
static unsigned node_intern(Tracker *t, const char *n) {
        char **l;

        if (!n)
                return 0;
        if (t->node > 0 && strcmp(t->nodes[t->node - 1], n) == 0)
                return t->node;         /* the usual case: the same host again */
        for (size_t i = 0; i < t->n_nodes; i++)
                if (strcmp(t->nodes[i], n) == 0)
                        return (unsigned) i + 1;
        if (t->n_nodes >= NODES_MAX)
                return NODES_MAX;
        l = realloc(t->nodes, (t->n_nodes + 1) * sizeof(char *));
        if (!l)
                return t->n_nodes > 0 ? (unsigned) t->n_nodes : 0;
        t->nodes = l;
        l[t->n_nodes] = strdup(n);
        if (!l[t->n_nodes])
                return t->n_nodes > 0 ? (unsigned) t->n_nodes : 0;
        return (unsigned) ++t->n_nodes;
}

static const char *node_name(const Tracker *t, unsigned node) {
        return node > 0 && node <= t->n_nodes ? t->nodes[node - 1] : NULL;
}

static void lru_unlink(Tracker *t, Process *p) {
        if (p->lru_prev)
                p->lru_prev->lru_next = p->lru_next;
        else
                t->lru_head = p->lru_next;
        if (p->lru_next)
                p->lru_next->lru_prev = p->lru_prev;
        else
                t->lru_tail = p->lru_prev;
        p->lru_prev = p->lru_next = NULL;
}

static void lru_push_front(Tracker *t, Process *p) {
        p->lru_next = t->lru_head;
        p->lru_prev = NULL;
        if (t->lru_head)
                t->lru_head->lru_prev = p;
        t->lru_head = p;
        if (!t->lru_tail)
                t->lru_tail = p;
}

static void process_touch(Tracker *t, Process *p) {
        if (t->lru_head == p)
                return;
        lru_unlink(t, p);
        lru_push_front(t, p);
}

static void process_remove(Tracker *t, Process *p) {
        Process **pp = &t->buckets[pid_bucket(t, p->node, p->pid)];

        while (*pp && *pp != p)
                pp = &(*pp)->hash_next;
        if (*pp)
                *pp = p->hash_next;
        lru_unlink(t, p);
        fd_table_unref(t, p->table);
        proc_snapshot_free(p->snapshot);
        free(p);
        t->stats.processes--;
}

/* Adds a process with the given table (ownership taken). */
static Process *process_add(Tracker *t, unsigned node, uint32_t pid, uint32_t ppid, FdTable *table) {
        Process *p;
        size_t b;

        if (!table)
                return NULL;
        p = calloc(1, sizeof(*p));
        if (!p) {
                fd_table_unref(t, table);
                return NULL;
        }
        p->node = node;
        p->pid = pid;
        p->ppid = ppid;
        p->table = table;
        b = pid_bucket(t, node, pid);
        p->hash_next = t->buckets[b];
        t->buckets[b] = p;
        lru_push_front(t, p);
        t->stats.processes++;

        /* Bounded memory: forget the least recently active process. Its
         * descriptors are unknown if it ever shows up again. */
        while (t->stats.processes > t->max_processes && t->lru_tail && t->lru_tail != p) {
                process_remove(t, t->lru_tail);
                t->stats.evicted++;
        }
        return p;
}

static void process_replace_table(Tracker *t, Process *p, FdTable *table) {
        if (!table)
                return;
        fd_table_unref(t, p->table);
        p->table = table;
}

/* ---- emitting actions ---- */

static const char *event_comm(Tracker *t) {
        size_t n;

        if (t->comm_decoded)
                return t->comm[0] ? t->comm : NULL;
        t->comm_decoded = true;
        t->comm[0] = 0;
        if (t->ev->comm && audit_value_decode(t->ev->comm, t->comm, sizeof(t->comm), &n) < 0)
                t->comm[0] = 0;
        return t->comm[0] ? t->comm : NULL;
}

static void action_init(Tracker *t, Action *a, ActionOp op) {
        const AuditEvent *ev = t->ev;

        *a = (Action) {
                .op = op,
                .sec = ev->sec,
                .msec = ev->msec,
                .serial = ev->serial,
                .pid = ev->pid,
                .fd = -1,
                .offset = OFFSET_UNKNOWN,
                .flags = -1,
                .old_fd = -1,
                .new_fd = -1,
                .prot = -1,
                .size = OFFSET_UNKNOWN,
                .node = node_name(t, t->node),
        };
        if (t->with_ids) {
                a->has_ids = true;
                a->ppid = ev->ppid;
                a->auid = ev->auid;
                a->uid = ev->uid;
                a->comm = event_comm(t);
        }
}

static void action_emit(Tracker *t, const Action *a) {
        t->stats.actions++;
        t->emit(a, t->userdata);
}

static bool file_recordable(const OpenFile *f) {
        return f && f->recorded && !f->not_file;
}

static void emit_file(Tracker *t, ActionOp op, int fd, const OpenFile *f, int64_t offset, int64_t bytes) {
        Action a;

        action_init(t, &a, op);
        a.fd = fd;
        a.path = f->path;
        a.path_len = f->path_len;
        a.offset = offset;
        a.bytes = bytes;
        action_emit(t, &a);
}

static void emit_close(Tracker *t, int fd, const OpenFile *f) {
        if (!file_recordable(f))
                return;
        if (f->is_dir && !f->listed)
                return;
        emit_file(t, ACTION_CLOSE, fd, f, OFFSET_UNKNOWN, 0);
}

static void fd_install(Tracker *t, FdTable *ft, int fd, OpenFile *f, bool cloexec);

/* The closes that a process's exit implies, for each descriptor with a
 * known path; a is the exit's context. */
static void emit_exit_closes(Tracker *t, const Action *ctx, const FdTable *ft) {
        for (int fd = 0; fd < ft->n_fds; fd++) {
                const OpenFile *f = ft->fds[fd].file;
                Action a = *ctx;

                if (!f || !f->path || !file_recordable(f) || (f->is_dir && !f->listed))
                        continue;
                a.op = ACTION_CLOSE;
                a.fd = fd;
                a.path = f->path;
                a.path_len = f->path_len;
                a.offset = OFFSET_UNKNOWN;
                a.bytes = 0;
                action_emit(t, &a);
        }
}

static void exited_child_flush(Tracker *t, ExitedChild *x, bool emit) {
        if (!x->table)
                return;
        if (emit) {
                Action a = {
                        .op = ACTION_CLOSE, .sec = x->sec, .msec = x->msec, .serial = x->serial,
                        .pid = x->pid, .fd = -1, .offset = OFFSET_UNKNOWN, .flags = -1,
                        .old_fd = -1, .new_fd = -1, .prot = -1, .size = OFFSET_UNKNOWN,
                        .node = node_name(t, x->node),
                };
                if (t->with_ids) {
                        a.has_ids = true;
                        a.ppid = x->ppid;
                        a.auid = x->auid;
                        a.uid = x->uid;
                        a.comm = x->comm[0] ? x->comm : NULL;
                }
                emit_exit_closes(t, &a, x->table);
        }
        fd_table_unref(t, x->table);
        *x = (ExitedChild) {};
}

static ExitedChild *exited_child_find(Tracker *t, unsigned node, uint32_t pid, uint32_t ppid) {
        for (unsigned i = 0; i < EXITED_CHILDREN; i++)
                if (t->exited[i].table && t->exited[i].node == node && t->exited[i].pid == pid &&
                    t->exited[i].ppid == ppid)
                        return &t->exited[i];
        return NULL;
}

/* Adds what a child did to a table it shared with its parent, but which the
 * tracker had to copy because the child's calls were logged first. */
static void fd_table_merge(Tracker *t, FdTable *into, const FdTable *from) {
        for (int fd = 0; fd < from->n_fds; fd++) {
                OpenFile *f = from->fds[fd].file;
                FdEntry *e;

                if (!f)
                        continue;
                e = fd_table_get(into, fd);
                if (e && e->file == f)
                        continue;
                fd_install(t, into, fd, open_file_ref(f), from->fds[fd].cloexec);
        }
}

/* Drops descriptor fd from a table, recording the close when asked to. */
static void fd_close(Tracker *t, FdTable *ft, int fd, bool record) {
        FdEntry *e = fd_table_get(ft, fd);

        if (!e)
                return;
        if (record)
                emit_close(t, fd, e->file);
        open_file_unref(t, e->file);
        e->file = NULL;
        e->cloexec = false;
        e->changed = true;
}

static void fd_install(Tracker *t, FdTable *ft, int fd, OpenFile *f, bool cloexec) {
        FdEntry *e = fd_table_slot(ft, fd);

        if (!e) {
                open_file_unref(t, f);
                return;
        }
        open_file_unref(t, e->file);
        e->file = f;
        e->cloexec = cloexec;
        /* A copy of a descriptor nobody knows is no knowledge: a snapshot
         * may still tell what it is (the copy a login shell makes of an
         * inherited fd before redirecting the original). */
        if (!f->unknown)
                e->changed = true;
}

/* Whether an event changed slot fd since the last snapshot was taken. */
static bool fd_changed(const FdTable *ft, int fd) {
        return fd >= 0 && fd < ft->n_fds && ft->fds[fd].changed;
}

/* A descriptor the tracker never knew, closed by an event: remembered as
 * changed, so that a snapshot listed before the close does not bring it back. */
static void fd_mark_closed(FdTable *ft, int fd) {
        FdEntry *e = fd_table_slot(ft, fd);

        if (e && !e->file)
                e->changed = true;
}

static void fd_set_changed(FdTable *ft, int fd, bool changed) {
        if (fd >= 0 && fd < ft->n_fds)
                ft->fds[fd].changed = changed;
}

/* ---- the syscalls ---- */

/* Whether new_ppid is where p went when its parent died: init, or an
 * ancestor of its old parent (a subreaper); or the old parent is unknown. */
static bool process_is_reparented(Tracker *t, const Process *p, uint32_t new_ppid) {
        const Process *a = process_find(t, p->node, p->ppid);

        if (!a || new_ppid == 1)
                return true;
        for (unsigned i = 0; a && i < 64; i++) {
                if (a->ppid == new_ppid)
                        return true;
                a = process_find(t, p->node, a->ppid);
        }
        return false;
}

static Process *process_get(Tracker *t, const AuditEvent *ev) {
        Process *p = process_find(t, t->node, ev->pid), *parent;

        if (p && p->ppid != ev->ppid) {
                /* Either the parent died and the process was reparented to
                 * an ancestor (init or a subreaper; keep its table), or the
                 * pid was reused by a new process whose predecessor died
                 * without exit_group (a signal). */
                if (process_is_reparented(t, p, ev->ppid)) {
                        Process *old = process_find(t, t->node, p->ppid);
                        /* Reparenting means the old parent is gone, even if
                         * no exit_group said so (killed by a signal). */
                        if (old && old != p)
                                process_remove(t, old);
                        p->ppid = ev->ppid;
                } else {
                        process_remove(t, p);
                        p = NULL;
                }
        }
        if (p) {
                process_touch(t, p);
                return p;
        }

        /* First sight. A child can run (and be audited) before its parent's
         * fork call returns and is logged, so inherit the parent's table now. */
        parent = process_find(t, t->node, ev->ppid);
        for (unsigned i = 0; i < PENDING_CLONES; i++) {
                PendingClone *c = &t->pending[i];
                Action a;

                if (c->child != ev->pid || c->parent != ev->ppid || c->node != t->node)
                        continue;
                /* A clone3 whose child is a process after all: record the fork
                 * with the clone3 call's own time and serial. */
                action_init(t, &a, ACTION_FORK);
                a.sec = c->sec;
                a.msec = c->msec;
                a.serial = c->serial;
                a.pid = c->parent;
                a.child = c->child;
                action_emit(t, &a);
                *c = (PendingClone) {};
                p = process_add(t, t->node, ev->pid, ev->ppid, fd_table_copy(parent ? parent->table : NULL));
                return p;
        }

        p = process_add(t, t->node, ev->pid, ev->ppid, fd_table_copy(parent ? parent->table : NULL));
        if (p)
                p->lazy = parent != NULL;
        return p;
}

static void handle_fork(Tracker *t, Process *parent, uint32_t child, bool share_table) {
        ExitedChild *x;
        Process *c;
        Action a;

        if (child == parent->pid)
                return;         /* not a new process: damaged input */
        c = process_find(t, parent->node, child);
        x = c ? NULL : exited_child_find(t, parent->node, child, parent->pid);

        if (x) {
                /* The child has come and gone already: its table was the
                 * parent's (merge what it did) or its own (its exit closed
                 * what it held). */
                if (share_table)
                        fd_table_merge(t, parent->table, x->table);
                exited_child_flush(t, x, !share_table);
        } else if (c && c->lazy && c->ppid == parent->pid) {
                /* Already made from the parent on its first own event. */
                c->lazy = false;
                if (share_table && c->table != parent->table) {
                        fd_table_merge(t, parent->table, c->table);
                        fd_table_unref(t, c->table);
                        c->table = parent->table;
                        c->table->n_ref++;
                }
        } else {
                FdTable *ft;

                if (c)
                        process_remove(t, c);   /* a stale process with a reused pid */
                if (share_table) {
                        ft = parent->table;
                        ft->n_ref++;
                } else
                        ft = fd_table_copy(parent->table);
                c = process_add(t, parent->node, child, parent->pid, ft);
        }

        action_init(t, &a, ACTION_FORK);
        a.child = child;
        action_emit(t, &a);
}

static void handle_clone3(Tracker *t, Process *parent, uint32_t child) {
        Process *c;
        PendingClone *slot;

        if (child == parent->pid)
                return;
        c = process_find(t, parent->node, child);

        if ((c && c->ppid == parent->pid && c->lazy) ||
            (!c && exited_child_find(t, parent->node, child, parent->pid))) {
                handle_fork(t, parent, child, false);
                return;
        }
        /* A thread (its calls show up under the process id) or a process not
         * seen yet: wait for the child to show up. */
        slot = &t->pending[t->pending_next++ % PENDING_CLONES];
        *slot = (PendingClone) {
                .node = parent->node,
                .parent = parent->pid,
                .child = child,
                .sec = t->ev->sec,
                .msec = t->ev->msec,
                .serial = t->ev->serial,
        };
}

/* Picks the PATH record that names the file opened (not its parent). */
static const AuditPathRecord *event_target_path(const AuditEvent *ev) {
        const AuditPathRecord *best = NULL;

        for (unsigned i = 0; i < ev->n_paths; i++) {
                const AuditPathRecord *r = &ev->paths[i];
                if (!r->name)
                        continue;
                if (r->nametype && strcmp(r->nametype, "PARENT") == 0)
                        continue;
                if (!best || (r->nametype && strcmp(r->nametype, "CREATE") == 0))
                        best = r;
        }
        return best;
}

/* Resolves a name given relative to dirfd (or the working directory). */
static int resolve_name(Tracker *t, Process *p, int dirfd, const char *raw, char **ret, size_t *ret_len) {
        const char *base = NULL;
        size_t n, base_len = 0;
        char cwd[4096 + 1];
        int r;

        r = audit_value_decode(raw, t->name_buf, sizeof(t->name_buf), &n);
        if (r < 0)
                return r;

        if (n == 0 || t->name_buf[0] != '/') {
                if (dirfd == X_AT_FDCWD) {
                        if (!t->ev->cwd)
                                return -ENOENT;
                        r = audit_value_decode(t->ev->cwd, cwd, sizeof(cwd), &base_len);
                        if (r < 0)
                                return r;
                        base = cwd;
                } else {
                        FdEntry *e = fd_table_get(p->table, dirfd);
                        if (!e || !e->file->path)
                                return -ENOENT;
                        base = e->file->path;
                        base_len = e->file->path_len;
                }
        }
        return path_resolve(base, base_len, t->name_buf, n, ret, ret_len);
}

static void handle_open(Tracker *t, Process *p, SyscallKind kind) {
        const AuditEvent *ev = t->ev;
        const AuditPathRecord *target;
        int dirfd = X_AT_FDCWD, fd = (int) ev->exit;
        uint32_t flags = 0;
        bool flags_known = true;
        char *path = NULL;
        size_t len = 0;
        OpenFile *f;

        switch (kind) {
        case SYSCALL_OPEN:
                flags = (uint32_t) ev->a[1];
                break;
        case SYSCALL_OPENAT:
                dirfd = (int) (int32_t) ev->a[0];
                flags = (uint32_t) ev->a[2];
                break;
        case SYSCALL_OPENAT2:
                /* The flags live in struct open_how, which audit does not show. */
                dirfd = (int) (int32_t) ev->a[0];
                flags_known = false;
                break;
        case SYSCALL_CREAT:
                flags = X_O_CREAT | X_O_WRONLY | X_O_TRUNC;
                break;
        default:
                return;
        }

        target = event_target_path(ev);
        if (target)
                (void) resolve_name(t, p, dirfd, target->name, &path, &len);

        f = open_file_new(t, path, len);
        if (!f)
                return;
        f->offset = 0;
        f->flags = flags;
        f->flags_known = flags_known;
        f->is_dir = target && target->has_mode && (target->mode & X_S_IFMT) == X_S_IFDIR;
        /* End of file is known for a file this description created or
         * truncated; O_APPEND writes then land at known offsets. */
        if ((target && target->nametype && strcmp(target->nametype, "CREATE") == 0) ||
            (flags_known && (flags & X_O_TRUNC) && (flags & X_O_ACCMODE) != 0))
                f->size = 0;

        fd_install(t, p->table, fd, open_file_ref(f), flags_known && (flags & X_O_CLOEXEC));
        if (!f->is_dir && !(flags_known && (flags & X_O_PATH)) && file_recordable(f)) {
                Action a;

                action_init(t, &a, ACTION_OPEN);
                a.fd = fd;
                a.path = f->path;
                a.path_len = f->path_len;
                if (flags_known)
                        a.flags = flags;
                action_emit(t, &a);
        }
        open_file_unref(t, f);
}

/* The open file description behind fd, asking the resolver (live daemon)
 * for descriptors opened before the tracker saw them. */
static OpenFile *fd_lookup(Tracker *t, Process *p, int fd) {
        FdEntry *e = fd_table_get(p->table, fd);
        TrackerFdInfo info = { .offset = OFFSET_UNKNOWN };
        OpenFile *f;
        bool changed;

        if (e)
                return e->file;
        if (fd < 0 || fd >= FD_MAX)
                return NULL;
        changed = fd_changed(p->table, fd);

        /* /proc knows this host's processes only, not a collector's others. */
        if (t->resolver && p->node == 0 && t->resolver(p->pid, fd, &info, t->resolver_userdata) >= 0) {
                f = open_file_new(t, info.path, info.path ? strlen(info.path) : 0);
                if (!f)
                        return NULL;
                f->offset = info.offset;
                f->flags = info.flags;
                f->flags_known = info.flags_known;
                f->is_dir = info.is_dir;
                f->listed = false;
                f->not_file = info.not_file;
        } else {
                f = open_file_new(t, NULL, 0);
                if (!f)
                        return NULL;
                f->unknown = true;
        }
        fd_install(t, p->table, fd, f, info.cloexec);
        /* Not a change by an event: a pending snapshot may still fill it. */
        fd_set_changed(p->table, fd, changed);
        return fd_table_get(p->table, fd) ? f : NULL;
}

/* A transfer of bytes on f: at the position (moving it) when moves, else at
 * pos (OFFSET_UNKNOWN: where audit cannot see). */
static void transfer(Tracker *t, int fd, OpenFile *f, ActionOp op, bool is_write, bool moves, int64_t pos,
                     int64_t bytes, const char *via) {
        int64_t offset;

        if (!f)
                return;
        if (f->not_file) {
                t->stats.nonfile_io++;
                return;
        }

        if (!moves)
                offset = pos;
        else if (is_write && f->flags_known && (f->flags & X_O_APPEND))
                offset = f->size;
        else
                offset = f->offset;

        if (file_recordable(f)) {
                Action a;

                action_init(t, &a, op);
                a.fd = fd;
                a.path = f->path;
                a.path_len = f->path_len;
                a.offset = offset;
                a.bytes = bytes;
                a.via = via;
                action_emit(t, &a);
        }

        if (moves)
                f->offset = offset == OFFSET_UNKNOWN ? OFFSET_UNKNOWN : offset + bytes;
        if (is_write && f->size != OFFSET_UNKNOWN) {
                if (offset == OFFSET_UNKNOWN)
                        f->size = OFFSET_UNKNOWN;
                else if (offset + bytes > f->size)
                        f->size = offset + bytes;
        }
}

static void handle_io(Tracker *t, Process *p, SyscallKind kind) {
        const AuditEvent *ev = t->ev;
        bool is_write = false, positional = false;
        int fd = (int) (int32_t) ev->a[0];
        int64_t bytes = ev->exit, pos = 0;
        ActionOp op;

        switch (kind) {
        case SYSCALL_READ:    op = ACTION_READ; break;
        case SYSCALL_WRITE:   op = ACTION_WRITE; is_write = true; break;
        case SYSCALL_READV:   op = ACTION_READV; break;
        case SYSCALL_WRITEV:  op = ACTION_WRITEV; is_write = true; break;
        case SYSCALL_PREAD:   op = ACTION_PREAD; positional = true; break;
        case SYSCALL_PWRITE:  op = ACTION_PWRITE; is_write = true; positional = true; break;
        case SYSCALL_PREADV:  op = ACTION_PREADV; positional = true; break;
        case SYSCALL_PWRITEV: op = ACTION_PWRITEV; is_write = true; positional = true; break;
        case SYSCALL_PREADV2:
        case SYSCALL_PWRITEV2:
                is_write = kind == SYSCALL_PWRITEV2;
                /* Position -1 means "use and move the file position". */
                positional = !(ev->a[3] == UINT64_MAX || (t->abi->bits32 && ev->a[3] == UINT32_MAX));
                op = positional ? (is_write ? ACTION_PWRITEV : ACTION_PREADV)
                                : (is_write ? ACTION_WRITEV : ACTION_READV);
                break;
        default:
                return;
        }

        if (positional) {
                /* 64-bit ABIs pass the whole position in a3. 32-bit ones split
                 * it, and audit logs a0..a3 only: i386 and the preadv family
                 * show the low half in a3 (taken as the position, right below
                 * 4 GiB); arm EABI, ppc32 and s390 put pread64's position out of
                 * sight, so it is not known (null in the record). */
                SyscallPosition vis = kind == SYSCALL_PREAD || kind == SYSCALL_PWRITE ?
                                      t->abi->pread_pos : t->abi->preadv_pos;

                if (vis == SYSCALL_POS_HIDDEN)
                        pos = OFFSET_UNKNOWN;
                else {
                        pos = vis == SYSCALL_POS_LOW32 ? (int64_t) (uint32_t) ev->a[3] : (int64_t) ev->a[3];
                        if (pos < 0)
                                return;
                }
        }

        transfer(t, fd, fd_lookup(t, p, fd), op, is_write, !positional, positional ? pos : OFFSET_UNKNOWN,
                 bytes, NULL);
}

/* One side of a splice is a pipe: a description the tracker knows nothing
 * about (not seen opened, not resolved) opposite a known file is that pipe. */
static bool file_known(const OpenFile *f) {
        return f && !f->not_file && (f->path || f->flags_known);
}

static void splice_mark_pipe(OpenFile *a, OpenFile *b) {
        if (a && !file_known(a) && !a->not_file && file_known(b))
                a->not_file = true;
}

/* copy_file_range, splice, sendfile: a read on the in side and a write on
 * the out side. A side with an offset pointer transfers where audit cannot
 * see (the pointer's target) and leaves the position alone; without one it
 * uses and moves the position, as read and write do. */
static void handle_copy(Tracker *t, Process *p, SyscallKind kind) {
        const AuditEvent *ev = t->ev;
        int in, out;
        bool in_ptr, out_ptr;
        const char *via;
        OpenFile *fi, *fo;

        if (kind == SYSCALL_SENDFILE) {
                out = (int) (int32_t) ev->a[0];
                in = (int) (int32_t) ev->a[1];
                in_ptr = ev->a[2] != 0;
                out_ptr = false;
                via = "sendfile";
        } else {
                in = (int) (int32_t) ev->a[0];
                in_ptr = ev->a[1] != 0;
                out = (int) (int32_t) ev->a[2];
                out_ptr = ev->a[3] != 0;
                via = kind == SYSCALL_SPLICE ? "splice" : "copy_file_range";
        }

        fi = fd_lookup(t, p, in);
        fo = fd_lookup(t, p, out);
        if (kind == SYSCALL_SPLICE) {
                splice_mark_pipe(fi, fo);
                splice_mark_pipe(fo, fi);
        }
        transfer(t, in, fi, ACTION_READ, false, !in_ptr, OFFSET_UNKNOWN, ev->exit, via);
        transfer(t, out, fo, ACTION_WRITE, true, !out_ptr, OFFSET_UNKNOWN, ev->exit, via);
}

static void handle_lseek(Tracker *t, Process *p, SyscallKind kind) {
        const AuditEvent *ev = t->ev;
        int fd = (int) (int32_t) ev->a[0];
        OpenFile *f = fd_lookup(t, p, fd);

        if (!f || f->not_file)
                return;
        /* _llseek (i386) writes the new position to memory: not visible. */
        f->offset = kind == SYSCALL_LSEEK ? ev->exit : OFFSET_UNKNOWN;
        if (file_recordable(f))
                emit_file(t, ACTION_LSEEK, fd, f, f->offset, 0);
}

static void handle_dup(Tracker *t, Process *p, int old_fd, int new_fd, bool cloexec) {
        FdEntry *ne;
        OpenFile *f;
        Action a;

        if (old_fd == new_fd)
                return;
        f = fd_lookup(t, p, old_fd);
        if (!f)
                return;

        ne = fd_table_get(p->table, new_fd);
        if (ne)
                fd_close(t, p->table, new_fd, true);    /* dup2/dup3 replaced it */

        fd_install(t, p->table, new_fd, open_file_ref(f), cloexec);
        if (!file_recordable(f))
                return;
        action_init(t, &a, ACTION_DUP);
        a.old_fd = old_fd;
        a.new_fd = new_fd;
        a.path = f->path;
        a.path_len = f->path_len;
        action_emit(t, &a);
}

static void handle_fcntl(Tracker *t, Process *p) {
        const AuditEvent *ev = t->ev;
        int fd = (int) (int32_t) ev->a[0], cmd = (int) (int32_t) ev->a[1];
        FdEntry *e;

        switch (cmd) {
        case X_F_DUPFD:
        case X_F_DUPFD_CLOEXEC:
                handle_dup(t, p, fd, (int) ev->exit, cmd == X_F_DUPFD_CLOEXEC);
                break;
        case X_F_SETFD:
                e = fd_table_get(p->table, fd);
                if (e)
                        e->cloexec = ev->a[2] & X_FD_CLOEXEC;
                break;
        case X_F_SETFL:
                e = fd_table_get(p->table, fd);
                if (e && e->file->flags_known)
                        e->file->flags = (e->file->flags & ~X_O_APPEND) | ((uint32_t) ev->a[2] & X_O_APPEND);
                break;
        }
}

static void table_unshare(Tracker *t, Process *p) {
        if (p->table->n_ref > 1)
                process_replace_table(t, p, fd_table_copy(p->table));
}

static void handle_close_range(Tracker *t, Process *p) {
        const AuditEvent *ev = t->ev;
        uint32_t first = (uint32_t) ev->a[0], last = (uint32_t) ev->a[1], flags = (uint32_t) ev->a[2];

        if (flags & X_CLOSE_RANGE_UNSHARE)
                table_unshare(t, p);
        for (int fd = (int) MIN(first, (uint32_t) INT32_MAX); fd < p->table->n_fds && (uint32_t) fd <= last; fd++) {
                FdEntry *e = fd_table_get(p->table, fd);
                if (!e)
                        continue;
                if (flags & X_CLOSE_RANGE_CLOEXEC)
                        e->cloexec = true;
                else
                        fd_close(t, p->table, fd, true);
        }
}

static void handle_exec(Tracker *t, Process *p, SyscallKind kind) {
        const AuditEvent *ev = t->ev;
        const AuditPathRecord *first = NULL;
        char *exe = NULL, *name = NULL;
        size_t n = 0, name_len = 0;
        Action a;

        /* The name executed is the event's first PATH record (a script's
         * interpreter and the loader follow it); exe= is what the kernel
         * ended up running. Resolved before exec closes the directory
         * descriptor of an execveat. */
        for (unsigned i = 0; i < ev->n_paths; i++)
                if (ev->paths[i].name && (!first || ev->paths[i].item < first->item))
                        first = &ev->paths[i];
        if (first)
                (void) resolve_name(t, p, kind == SYSCALL_EXECVEAT ? (int) (int32_t) ev->a[0] : X_AT_FDCWD,
                                    first->name, &name, &name_len);

        /* exec gives the process its own table (other threads are gone). */
        table_unshare(t, p);

        action_init(t, &a, ACTION_EXEC);
        if (ev->exe && audit_value_decode(ev->exe, t->name_buf, sizeof(t->name_buf), &n) >= 0 &&
            n > 0 && t->name_buf[0] == '/' &&
            path_resolve(NULL, 0, t->name_buf, n, &exe, &n) >= 0) {
                a.exe = exe;
                a.exe_len = n;
        }
        a.path = name;
        a.path_len = name_len;
        action_emit(t, &a);
        free(exe);
        free(name);

        for (int fd = 0; fd < p->table->n_fds; fd++) {
                FdEntry *e = fd_table_get(p->table, fd);
                if (e && e->cloexec)
                        fd_close(t, p->table, fd, true);
        }
}

static void handle_mmap(Tracker *t, Process *p, SyscallKind kind) {
        const AuditEvent *ev = t->ev;
        OpenFile *f;
        Action a;

        /* Only a map of a file has an MMAP record (MAP_ANONYMOUS has none). */
        if (!ev->has_mmap)
                return;
        f = fd_lookup(t, p, ev->mmap_fd);
        if (!f || f->not_file || !file_recordable(f))
                return;
        action_init(t, &a, ACTION_MMAP);
        a.fd = ev->mmap_fd;
        a.path = f->path;
        a.path_len = f->path_len;
        a.flags = (int64_t) ev->mmap_flags;
        if (kind == SYSCALL_MMAP) {
                a.bytes = (int64_t) ev->a[1];
                a.prot = (int64_t) (uint32_t) ev->a[2];
        } else
                a.bytes = -1;   /* old_mmap: the arguments are in memory */
        action_emit(t, &a);
}

/* The PATH records that name files, not their parent directories, in order. */
static unsigned event_names(const AuditEvent *ev, const AuditPathRecord **ret, unsigned max) {
        unsigned n = 0;

        for (unsigned i = 0; i < ev->n_paths && n < max; i++) {
                const AuditPathRecord *r = &ev->paths[i];
                if (!r->name || (r->nametype && strcmp(r->nametype, "PARENT") == 0))
                        continue;
                ret[n++] = r;
        }
        return n;
}

static bool nametype_is(const AuditPathRecord *r, const char *type) {
        return r->nametype && strcmp(r->nametype, type) == 0;
}

/* Descriptions of this node open on from, or below it, now carry to
 * instead (and the other way round for an exchange). */
static void files_renamed(Tracker *t, const char *from, size_t from_len, const char *to, size_t to_len,
                          bool exchange) {
        for (OpenFile *f = t->all_files; f; f = f->all_next) {
                const char *new_prefix;
                size_t old_len, new_len, rest;
                char *np;

                if (f->node != t->node || !f->path)
                        continue;
                if (path_has_prefix(f->path, f->path_len, from, from_len)) {
                        old_len = from_len, new_prefix = to, new_len = to_len;
                } else if (exchange && path_has_prefix(f->path, f->path_len, to, to_len)) {
                        old_len = to_len, new_prefix = from, new_len = from_len;
                } else
                        continue;
                rest = f->path_len - old_len;
                np = malloc(new_len + rest + 1);
                if (!np) {
                        /* A stale name would be wrong: say unknown instead. */
                        free(f->path);
                        f->path = NULL;
                        f->path_len = 0;
                        continue;
                }
                memcpy(np, new_prefix, new_len);
                memcpy(np + new_len, f->path + old_len, rest);
                np[new_len + rest] = 0;
                free(f->path);
                f->path = np;
                f->path_len = new_len + rest;
        }
}

static void handle_rename(Tracker *t, Process *p, SyscallKind kind) {
        const AuditEvent *ev = t->ev;
        const AuditPathRecord *names[AUDIT_EVENT_MAX_PATHS];
        int old_dir = X_AT_FDCWD, new_dir = X_AT_FDCWD;
        _cleanup_free_ char *from = NULL, *to = NULL;
        size_t from_len = 0, to_len = 0;
        bool exchange;
        unsigned n;

        if (kind == SYSCALL_RENAMEAT) {
                old_dir = (int) (int32_t) ev->a[0];
                new_dir = (int) (int32_t) ev->a[2];
        }
        /* The kernel names the old file (DELETE), then the new one (CREATE;
         * after a DELETE of the file it replaced). RENAME_EXCHANGE, a flag
         * audit does not log (a4), shows as DELETE, DELETE, CREATE, CREATE. */
        n = event_names(ev, names, ELEMENTSOF(names));
        if (n < 2)
                return;
        exchange = n >= 4 && nametype_is(names[0], "DELETE") && nametype_is(names[1], "DELETE") &&
                   nametype_is(names[2], "CREATE") && nametype_is(names[3], "CREATE");
        (void) resolve_name(t, p, old_dir, names[0]->name, &from, &from_len);
        (void) resolve_name(t, p, new_dir, names[1]->name, &to, &to_len);

        if (path_recorded(t, from, from_len) || (to && path_recorded(t, to, to_len))) {
                Action a;

                action_init(t, &a, ACTION_RENAME);
                a.path = from;
                a.path_len = from_len;
                a.new_path = to;
                a.new_path_len = to_len;
                a.exchange = exchange;
                action_emit(t, &a);
        }
        if (from && to)
                files_renamed(t, from, from_len, to, to_len, exchange);
}

/* unlink, rmdir, mkdir: one name, relative to dirfd. */
static void handle_name_op(Tracker *t, Process *p, ActionOp op, int dirfd) {
        const AuditPathRecord *target = event_target_path(t->ev);
        _cleanup_free_ char *path = NULL;
        size_t len = 0;
        Action a;

        if (!target)
                return;
        (void) resolve_name(t, p, dirfd, target->name, &path, &len);
        if (!path_recorded(t, path, len))
                return;
        action_init(t, &a, op);
        a.path = path;
        a.path_len = len;
        action_emit(t, &a);
}

/* The length argument of (f)truncate: a long, or for the 32-bit *64 calls a
 * 64-bit value in two registers, where the ABI puts them (i386: a1, a2; arm
 * EABI and ppc32 align it to a2, a3; s390 and ppc32 pass the high half
 * first): syscall-table's SyscallAbi. */
static int64_t truncate_length(const Tracker *t, SyscallKind kind) {
        const AuditEvent *ev = t->ev;
        const SyscallAbi *abi = t->abi;

        if (!abi->bits32)
                return (int64_t) ev->a[1];
        if (kind != SYSCALL_TRUNCATE64 && kind != SYSCALL_FTRUNCATE64)
                return (int64_t) (int32_t) ev->a[1];
        if (abi->len64_lo == 0)
                return OFFSET_UNKNOWN;
        return (int64_t) ((uint64_t) (uint32_t) ev->a[abi->len64_lo] |
                          (uint64_t) (uint32_t) ev->a[abi->len64_hi] << 32);
}

static void emit_truncate(Tracker *t, int fd, const char *path, size_t len, int64_t size) {
        Action a;

        action_init(t, &a, ACTION_TRUNCATE);
        a.fd = fd;
        a.path = path;
        a.path_len = len;
        a.size = size;
        action_emit(t, &a);
}

static void handle_ftruncate(Tracker *t, Process *p, SyscallKind kind) {
        int fd = (int) (int32_t) t->ev->a[0];
        int64_t size = truncate_length(t, kind);
        OpenFile *f = fd_lookup(t, p, fd);

        if (!f || f->not_file)
                return;
        /* The end of file is known again: O_APPEND writes land there. */
        f->size = size >= 0 ? size : OFFSET_UNKNOWN;
        if (file_recordable(f))
                emit_truncate(t, fd, f->path, f->path_len, size >= 0 ? size : OFFSET_UNKNOWN);
}

static void handle_truncate(Tracker *t, Process *p, SyscallKind kind) {
        const AuditPathRecord *target = event_target_path(t->ev);
        int64_t size = truncate_length(t, kind);
        _cleanup_free_ char *path = NULL;
        size_t len = 0;

        if (!target)
                return;
        (void) resolve_name(t, p, X_AT_FDCWD, target->name, &path, &len);
        if (path) {
                /* Descriptions open on the file learn its new end. */
                for (OpenFile *f = t->all_files; f; f = f->all_next)
                        if (f->node == t->node && f->path && f->path_len == len && memcmp(f->path, path, len) == 0)
                                f->size = size >= 0 ? size : OFFSET_UNKNOWN;
        }
        if (path_recorded(t, path, len))
                emit_truncate(t, -1, path, len, size >= 0 ? size : OFFSET_UNKNOWN);
}

static void handle_exit(Tracker *t, Process *p) {
        Action a;

        action_init(t, &a, ACTION_EXIT);
        action_emit(t, &a);

        if (p->lazy) {
                /* Its fork has not been logged yet: keep the table until then. */
                ExitedChild *x = &t->exited[t->exited_next++ % EXITED_CHILDREN];

                exited_child_flush(t, x, true);
                *x = (ExitedChild) {
                        .node = p->node,
                        .pid = p->pid, .ppid = p->ppid, .auid = a.auid, .uid = a.uid,
                        .table = p->table, .sec = a.sec, .msec = a.msec, .serial = a.serial,
                };
                if (a.comm)
                        snprintf(x->comm, sizeof(x->comm), "%s", a.comm);
                p->table = fd_table_new();      /* process_remove() drops this one */
        } else if (p->table->n_ref == 1)
                emit_exit_closes(t, &a, p->table);
        process_remove(t, p);
}

static OpenFile *open_file_from_info(Tracker *t, TrackerFdInfo *info) {
        char *path = TAKE_PTR(info->path);
        OpenFile *f = open_file_new(t, path, path ? strlen(path) : 0);

        if (!f)
                return NULL;
        f->offset = info->offset;
        f->flags = info->flags;
        f->flags_known = info->flags_known;
        f->is_dir = info->is_dir;
        f->not_file = info->not_file;
        return f;
}

/* The process's first event stamped after its snapshot: the snapshot is
 * what its descriptors were then, as far as the tracker does not know
 * better (it knows every descriptor it saw opened). */
static void snapshot_apply(Tracker *t, Process *p) {
        ProcSnapshot *s = TAKE_PTR(p->snapshot);
        OpenFile **made;

        made = calloc(MAX(s->n_fds, (size_t) 1), sizeof(OpenFile *));
        if (!made) {
                proc_snapshot_free(s);
                return;
        }
        for (size_t i = 0; i < s->n_fds; i++) {
                TrackerSnapshotFd *sf = &s->fds[i];
                FdEntry *e = fd_table_get(p->table, sf->fd);
                OpenFile *f;

                if (e && !e->file->unknown)
                        continue;
                /* Closed or opened by an event stamped no later than the
                 * snapshot (audit's coarse clock): /proc's listing may predate
                 * that call; the event is right. */
                if (fd_changed(p->table, sf->fd))
                        continue;
                if (sf->same_as >= 0 && (size_t) sf->same_as < i && made[sf->same_as])
                        f = open_file_ref(made[sf->same_as]);
                else {
                        f = open_file_from_info(t, &sf->info);
                        if (!f)
                                continue;
                        /* Used before the snapshot, through an unknown entry: a
                         * call in progress then may have moved it since. */
                        if (e)
                                f->offset = OFFSET_UNKNOWN;
                        made[i] = f;
                }
                fd_install(t, p->table, sf->fd, f, sf->info.cloexec);
        }
        free(made);
        proc_snapshot_free(s);
}

int tracker_add_snapshot(Tracker *t, uint32_t pid, uint32_t ppid, uint64_t sec, unsigned msec,
                         TrackerSnapshotFd *fds, size_t n_fds) {
        ProcSnapshot *s;
        Process *p;

        s = calloc(1, sizeof(*s));
        if (!s)
                goto oom;
        s->fds = calloc(MAX(n_fds, (size_t) 1), sizeof(TrackerSnapshotFd));
        if (!s->fds)
                goto oom;
        for (size_t i = 0; i < n_fds; i++) {
                s->fds[i] = fds[i];
                fds[i].info.path = NULL;
        }
        s->n_fds = n_fds;
        s->sec = sec;
        s->msec = msec;

        p = process_find(t, 0, pid);       /* /proc is this host's */
        if (!p) {
                p = process_add(t, 0, pid, ppid, fd_table_new());
                if (!p)
                        goto oom;
        }
        proc_snapshot_free(p->snapshot);
        p->snapshot = s;
        for (int fd = 0; fd < p->table->n_fds; fd++)
                p->table->fds[fd].changed = false;
        return 0;
oom:
        proc_snapshot_free(s);
        for (size_t i = 0; i < n_fds; i++)
                free(fds[i].info.path), fds[i].info.path = NULL;
        return -ENOMEM;
}

void tracker_handle_event(Tracker *t, const AuditEvent *ev) {
        const SyscallAbi *abi;
        SyscallKind kind;
        Process *p;

        if (!ev->has_syscall || ev->malformed)
                return;
        abi = syscall_abi_from_arch(ev->arch);
        if (!abi) {
                /* Not silently: the caller reports these (fsmonctl decode on
                 * stderr, fsmond in its log). */
                if (t->stats.unknown_arch_events++ == 0)
                        t->stats.unknown_arch = ev->arch;
                return;
        }
        kind = syscall_kind_from_abi(abi, ev->syscall);
        if (kind == SYSCALL_OTHER)
                return;
        /* A failed call changed nothing (exit_group has no result). */
        if (ev->has_exit && (!ev->success || ev->exit < 0))
                return;
        if (!ev->has_exit && kind != SYSCALL_EXIT_GROUP)
                return;

        t->ev = ev;
        t->abi = abi;
        t->comm_decoded = false;
        t->node = node_intern(t, ev->node);
        t->stats.events++;

        p = process_get(t, ev);
        if (!p)
                goto finish;
        if (p->snapshot && (ev->sec > p->snapshot->sec ||
                            (ev->sec == p->snapshot->sec && ev->msec > p->snapshot->msec)))
                snapshot_apply(t, p);

        switch (kind) {
        case SYSCALL_OPEN:
        case SYSCALL_OPENAT:
        case SYSCALL_OPENAT2:
        case SYSCALL_CREAT:
                handle_open(t, p, kind);
                break;
        case SYSCALL_CLOSE:
                if (!fd_table_get(p->table, (int) (int32_t) ev->a[0])) {
                        /* Never seen opened: still a close, of an unknown file. */
                        if (path_recorded(t, NULL, 0)) {
                                Action a;
                                action_init(t, &a, ACTION_CLOSE);
                                a.fd = (int) (int32_t) ev->a[0];
                                action_emit(t, &a);
                        }
                        /* Closed now, whatever a pending snapshot listed. */
                        fd_mark_closed(p->table, (int) (int32_t) ev->a[0]);
                } else
                        fd_close(t, p->table, (int) (int32_t) ev->a[0], true);
                break;
        case SYSCALL_CLOSE_RANGE:
                handle_close_range(t, p);
                break;
        case SYSCALL_READ:
        case SYSCALL_WRITE:
        case SYSCALL_READV:
        case SYSCALL_WRITEV:
        case SYSCALL_PREAD:
        case SYSCALL_PWRITE:
        case SYSCALL_PREADV:
        case SYSCALL_PWRITEV:
        case SYSCALL_PREADV2:
        case SYSCALL_PWRITEV2:
                handle_io(t, p, kind);
                break;
        case SYSCALL_LSEEK:
        case SYSCALL_LLSEEK:
                handle_lseek(t, p, kind);
                break;
        case SYSCALL_DUP:
                handle_dup(t, p, (int) (int32_t) ev->a[0], (int) ev->exit, false);
                break;
        case SYSCALL_DUP2:
                handle_dup(t, p, (int) (int32_t) ev->a[0], (int) ev->exit, false);
                break;
        case SYSCALL_DUP3:
                handle_dup(t, p, (int) (int32_t) ev->a[0], (int) ev->exit, ev->a[2] & X_O_CLOEXEC);
                break;
        case SYSCALL_FCNTL:
                handle_fcntl(t, p);
                break;
        case SYSCALL_FORK:
        case SYSCALL_VFORK:
                if (ev->exit > 0 && ev->exit <= INT32_MAX)
                        handle_fork(t, p, (uint32_t) ev->exit, false);
                break;
        case SYSCALL_CLONE: {
                /* a0 everywhere but on s390 (clone(newsp, flags, ...)). */
                uint64_t flags = ev->a[t->abi->clone_flags_arg];

                if (ev->exit > 0 && ev->exit <= INT32_MAX && !(flags & X_CLONE_THREAD))
                        handle_fork(t, p, (uint32_t) ev->exit, flags & X_CLONE_FILES);
                break;
        }
        case SYSCALL_CLONE3:
                if (ev->exit > 0 && ev->exit <= INT32_MAX)
                        handle_clone3(t, p, (uint32_t) ev->exit);
                break;
        case SYSCALL_EXECVE:
        case SYSCALL_EXECVEAT:
                handle_exec(t, p, kind);
                break;
        case SYSCALL_COPY_FILE_RANGE:
        case SYSCALL_SPLICE:
        case SYSCALL_SENDFILE:
                handle_copy(t, p, kind);
                break;
        case SYSCALL_MMAP:
        case SYSCALL_OLD_MMAP:
                handle_mmap(t, p, kind);
                break;
        case SYSCALL_RENAME:
        case SYSCALL_RENAMEAT:
                handle_rename(t, p, kind);
                break;
        case SYSCALL_UNLINK:
                handle_name_op(t, p, ACTION_UNLINK, X_AT_FDCWD);
                break;
        case SYSCALL_UNLINKAT:
                handle_name_op(t, p, ev->a[2] & X_AT_REMOVEDIR ? ACTION_RMDIR : ACTION_UNLINK,
                               (int) (int32_t) ev->a[0]);
                break;
        case SYSCALL_RMDIR:
                handle_name_op(t, p, ACTION_RMDIR, X_AT_FDCWD);
                break;
        case SYSCALL_MKDIR:
                handle_name_op(t, p, ACTION_MKDIR, X_AT_FDCWD);
                break;
        case SYSCALL_MKDIRAT:
                handle_name_op(t, p, ACTION_MKDIR, (int) (int32_t) ev->a[0]);
                break;
        case SYSCALL_TRUNCATE:
        case SYSCALL_TRUNCATE64:
                handle_truncate(t, p, kind);
                break;
        case SYSCALL_EXIT_GROUP:
                handle_exit(t, p);
                break;
        case SYSCALL_GETDENTS: {
                int fd = (int) (int32_t) ev->a[0];
                OpenFile *f = fd_lookup(t, p, fd);
                if (f && !f->listed && !f->not_file) {
                        f->listed = true;
                        if (file_recordable(f))
                                emit_file(t, ACTION_OPENDIR, fd, f, OFFSET_UNKNOWN, 0);
                }
                break;
        }
        case SYSCALL_FTRUNCATE:
        case SYSCALL_FTRUNCATE64:
                handle_ftruncate(t, p, kind);
                break;
        default:
                break;
        }

finish:
        t->ev = NULL;
        t->abi = NULL;
}

void tracker_get_stats(const Tracker *t, TrackerStats *ret) {
        *ret = t->stats;
}

Tracker *tracker_free(Tracker *t) {
        if (!t)
                return NULL;
        while (t->lru_head)
                process_remove(t, t->lru_head);
        for (unsigned i = 0; i < EXITED_CHILDREN; i++)
                exited_child_flush(t, &t->exited[i], false);
        free(t->buckets);
        for (size_t i = 0; i < t->n_nodes; i++)
                free(t->nodes[i]);
        free(t->nodes);
        strv_free(t->include);
        strv_free(t->exclude);
        free(t);
        return NULL;
}

/* ---- the state, saved and loaded ----
 *
 * One item a line, every number decimal, strings hex-encoded ("-": none):
 *   fsmon-tracker-state 2
 *   N NAME                                                         a node= name (the first is node 1)
 *   f NODE OFFSET SIZE FLAGS FLAGS_KNOWN IS_DIR LISTED NOT_FILE UNKNOWN PATH   an open file description
 *   t                                                              a descriptor table
 *   d FD FILE CLOEXEC                                              a descriptor of the last t
 *   p NODE PID PPID TABLE LAZY                                          a process (least recently used first)
 *   x SLOT NODE PID PPID AUID UID TABLE SEC MSEC SERIAL COMM                 an exit waiting for its fork event
 *   c SLOT NODE PARENT CHILD SEC MSEC SERIAL                                 a clone3 waiting for its child
 *   n PENDING_NEXT EXITED_NEXT
 *   end PROCESSES FILES
 * Descriptions and tables are numbered in the order they appear (from 0) and
 * are referred to only after they appeared, so the loader needs no lookahead.
 * Whether a description is recorded is not saved: the filter may have changed
 * in the config since. */

#define STATE_MAGIC "fsmon-tracker-state 2"

static void hex_put(FILE *f, const char *s, size_t n) {
        static const char digits[] = "0123456789abcdef";

        if (!s) {
                fputc('-', f);
                return;
        }
        if (n == 0) {
                fputs("\"\"", f);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                fputc(digits[(unsigned char) s[i] >> 4], f);
                fputc(digits[(unsigned char) s[i] & 15], f);
        }
}

typedef struct SaveContext {
        FILE *f;
        unsigned n_files, n_tables;
} SaveContext;

static void state_clear_ids(FdTable *ft) {
        if (!ft)
                return;
        ft->save_id = 0;
        for (int i = 0; i < ft->n_fds; i++)
                if (ft->fds[i].file)
                        ft->fds[i].file->save_id = 0;
}

static unsigned state_put_table(SaveContext *s, FdTable *ft) {
        if (ft->save_id > 0)
                return ft->save_id - 1;
        /* Its descriptions first: a line refers only to what came before. */
        for (int i = 0; i < ft->n_fds; i++) {
                OpenFile *o = ft->fds[i].file;
                if (!o || o->save_id > 0)
                        continue;
                o->save_id = ++s->n_files;
                fprintf(s->f, "f %u %" PRId64 " %" PRId64 " %" PRIu32 " %d %d %d %d %d ",
                        o->node, o->offset, o->size, o->flags, o->flags_known, o->is_dir, o->listed, o->not_file,
                        o->unknown);
                hex_put(s->f, o->path, o->path_len);
                fputc('\n', s->f);
        }
        ft->save_id = ++s->n_tables;
        fputs("t\n", s->f);
        for (int i = 0; i < ft->n_fds; i++)
                if (ft->fds[i].file)
                        fprintf(s->f, "d %d %u %d\n", i, ft->fds[i].file->save_id - 1, ft->fds[i].cloexec);
        return ft->save_id - 1;
}

int tracker_save_state(Tracker *t, FILE *f) {
        SaveContext s = { .f = f };

        for (Process *p = t->lru_head; p; p = p->lru_next)
                state_clear_ids(p->table);
        for (unsigned i = 0; i < EXITED_CHILDREN; i++)
                state_clear_ids(t->exited[i].table);

        fputs(STATE_MAGIC "\n", f);
        for (size_t i = 0; i < t->n_nodes; i++) {
                fputs("N ", f);
                hex_put(f, t->nodes[i], strlen(t->nodes[i]));
                fputc('\n', f);
        }
        /* Least recently used first: loading pushes each to the front. */
        for (Process *p = t->lru_tail; p; p = p->lru_prev) {
                unsigned id = state_put_table(&s, p->table);
                fprintf(f, "p %u %" PRIu32 " %" PRIu32 " %u %d\n", p->node, p->pid, p->ppid, id, p->lazy);
        }
        for (unsigned i = 0; i < EXITED_CHILDREN; i++) {
                ExitedChild *x = &t->exited[i];
                unsigned id;

                if (!x->table)
                        continue;
                id = state_put_table(&s, x->table);
                fprintf(f, "x %u %u %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32 " %u %" PRIu64 " %u %" PRIu64 " ",
                        i, x->node, x->pid, x->ppid, x->auid, x->uid, id, x->sec, x->msec, x->serial);
                hex_put(f, x->comm[0] ? x->comm : NULL, strlen(x->comm));
                fputc('\n', f);
        }
        for (unsigned i = 0; i < PENDING_CLONES; i++) {
                PendingClone *c = &t->pending[i];
                if (c->child == 0)
                        continue;
                fprintf(f, "c %u %u %" PRIu32 " %" PRIu32 " %" PRIu64 " %u %" PRIu64 "\n",
                        i, c->node, c->parent, c->child, c->sec, c->msec, c->serial);
        }
        fprintf(f, "n %u %u\n", t->pending_next, t->exited_next);
        fprintf(f, "end %" PRIu64 " %u\n", t->stats.processes, s.n_files);
        if (fflush(f) != 0 || ferror(f))
                return errno > 0 ? -errno : -EIO;
        return 0;
}

/* Everything the loader made so far, so that a refused state leaves nothing. */
typedef struct LoadContext {
        OpenFile **files;
        size_t n_files, size_files;
        FdTable **tables;
        size_t n_tables, size_tables;
} LoadContext;

static void load_context_done(Tracker *t, LoadContext *l) {
        for (size_t i = 0; i < l->n_files; i++)
                open_file_unref(t, l->files[i]);
        for (size_t i = 0; i < l->n_tables; i++)
                fd_table_unref(t, l->tables[i]);
        free(l->files);
        free(l->tables);
}

static char **mfree_nodes(char **l) {
        free(l);
        return NULL;
}

static void tracker_clear(Tracker *t) {
        while (t->lru_head)
                process_remove(t, t->lru_head);
        for (unsigned i = 0; i < EXITED_CHILDREN; i++)
                exited_child_flush(t, &t->exited[i], false);
        memset(t->pending, 0, sizeof(t->pending));
        t->pending_next = t->exited_next = 0;
        for (size_t i = 0; i < t->n_nodes; i++)
                free(t->nodes[i]);
        t->nodes = mfree_nodes(t->nodes);
        t->n_nodes = 0;
        t->node = 0;
}

static int push_ptr(void ***a, size_t *n, size_t *size, void *p) {
        if (*n >= *size) {
                size_t ns = MAX(*size * 2, (size_t) 64);
                void **na = realloc(*a, ns * sizeof(void *));
                if (!na)
                        return -ENOMEM;
                *a = na;
                *size = ns;
        }
        (*a)[(*n)++] = p;
        return 0;
}

static int unhexchar(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* A hex string (or "-": NULL, "\"\"": empty) into a malloc'ed buffer. */
static int hex_get(const char *s, size_t max, char **ret, size_t *ret_len) {
        size_t n = strlen(s);
        char *b;

        if (strcmp(s, "-") == 0) {
                *ret = NULL;
                *ret_len = 0;
                return 0;
        }
        if (strcmp(s, "\"\"") == 0)
                n = 0;
        else if (n == 0 || n % 2 != 0 || n / 2 > max)
                return -EBADMSG;
        b = malloc(n / 2 + 1);
        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < n / 2; i++) {
                int hi = unhexchar(s[2 * i]), lo = unhexchar(s[2 * i + 1]);
                /* A NUL would cut the string short where the length says otherwise. */
                if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                        free(b);
                        return -EBADMSG;
                }
                b[i] = (char) (hi << 4 | lo);
        }
        b[n / 2] = 0;
        *ret = b;
        *ret_len = n / 2;
        return 0;
}

static bool flag_ok(int v) {
        return v == 0 || v == 1;
}

static int load_line(Tracker *t, LoadContext *l, char *line, bool *done, uint64_t *want_procs, size_t *want_files) {
        FdTable *cur = l->n_tables > 0 ? l->tables[l->n_tables - 1] : NULL;
        char str[2 * 4096 + 4];        /* "%8194s": one more than 4096 bytes in hex, and the NUL */
        int n = -1, r;

        if (line[0] == 'N' && line[1] == ' ') {
                char *name, **nl;
                size_t len;

                if (sscanf(line, "N %8194s%n", str, &n) != 1 || line[n] != 0 || l->n_files > 0 ||
                    l->n_tables > 0 || t->n_nodes >= NODES_MAX)
                        return -EBADMSG;        /* names come first */
                r = hex_get(str, 4096, &name, &len);
                if (r < 0)
                        return r;
                if (!name || len == 0) {
                        free(name);
                        return -EBADMSG;
                }
                nl = realloc(t->nodes, (t->n_nodes + 1) * sizeof(char *));
                if (!nl) {
                        free(name);
                        return -ENOMEM;
                }
                t->nodes = nl;
                t->nodes[t->n_nodes++] = name;
                return 0;
        }
        if (line[0] == 'f' && line[1] == ' ') {
                unsigned node;
                long long off, size;
                unsigned long flags;
                int fk, dir, listed, nf, unk;
                char *path;
                size_t len;
                OpenFile *o;

                if (sscanf(line, "f %u %lld %lld %lu %d %d %d %d %d %8194s%n",
                           &node, &off, &size, &flags, &fk, &dir, &listed, &nf, &unk, str, &n) != 10 || line[n] != 0)
                        return -EBADMSG;
                if (node > t->n_nodes)
                        return -EBADMSG;
                if ((off < 0 && off != OFFSET_UNKNOWN) || (size < 0 && size != OFFSET_UNKNOWN) ||
                    flags > UINT32_MAX || !flag_ok(fk) || !flag_ok(dir) || !flag_ok(listed) || !flag_ok(nf) ||
                    !flag_ok(unk))
                        return -EBADMSG;
                r = hex_get(str, 4096, &path, &len);
                if (r < 0)
                        return r;
                o = open_file_new(t, path, len);
                if (!o)
                        return -ENOMEM;
                o->node = node;
                o->offset = off;
                o->size = size;
                o->flags = (uint32_t) flags;
                o->flags_known = fk;
                o->is_dir = dir;
                o->listed = listed;
                o->not_file = nf;
                o->unknown = unk;
                r = push_ptr((void ***) &l->files, &l->n_files, &l->size_files, o);
                if (r < 0)
                        open_file_unref(t, o);
                return r;
        }
        if (strcmp(line, "t") == 0) {
                FdTable *ft = fd_table_new();
                if (!ft)
                        return -ENOMEM;
                r = push_ptr((void ***) &l->tables, &l->n_tables, &l->size_tables, ft);
                if (r < 0)
                        fd_table_unref(t, ft);
                return r;
        }
        if (line[0] == 'd' && line[1] == ' ') {
                unsigned file;
                int fd, cloexec;
                FdEntry *e;

                if (sscanf(line, "d %d %u %d%n", &fd, &file, &cloexec, &n) != 3 || line[n] != 0)
                        return -EBADMSG;
                if (!cur || fd < 0 || fd >= FD_MAX || file >= l->n_files || !flag_ok(cloexec) ||
                    fd_table_get(cur, fd))
                        return -EBADMSG;
                e = fd_table_slot(cur, fd);
                if (!e)
                        return -ENOMEM;
                e->file = open_file_ref(l->files[file]);
                e->cloexec = cloexec;
                return 0;
        }
        if (line[0] == 'p' && line[1] == ' ') {
                unsigned node, pid, ppid, table;
                int lazy;
                Process *p;

                if (sscanf(line, "p %u %u %u %u %d%n", &node, &pid, &ppid, &table, &lazy, &n) != 5 || line[n] != 0)
                        return -EBADMSG;
                if (node > t->n_nodes || table >= l->n_tables || !flag_ok(lazy) || process_find(t, node, pid) ||
                    t->stats.processes >= t->max_processes)
                        return -EBADMSG;
                l->tables[table]->n_ref++;
                p = process_add(t, node, pid, ppid, l->tables[table]);
                if (!p)
                        return -ENOMEM;
                p->lazy = lazy;
                return 0;
        }
        if (line[0] == 'x' && line[1] == ' ') {
                unsigned slot, node, pid, ppid, auid, uid, table, msec;
                unsigned long long sec, serial;
                char *comm;
                size_t len;
                ExitedChild *x;

                if (sscanf(line, "x %u %u %u %u %u %u %u %llu %u %llu %130s%n",
                           &slot, &node, &pid, &ppid, &auid, &uid, &table, &sec, &msec, &serial, str, &n) != 11 ||
                    line[n] != 0)
                        return -EBADMSG;
                if (slot >= EXITED_CHILDREN || t->exited[slot].table || node > t->n_nodes ||
                    table >= l->n_tables || msec > 999)
                        return -EBADMSG;
                r = hex_get(str, sizeof(x->comm) - 1, &comm, &len);
                if (r < 0)
                        return r;
                x = &t->exited[slot];
                *x = (ExitedChild) {
                        .node = node, .pid = pid, .ppid = ppid, .auid = auid, .uid = uid, .table = l->tables[table],
                        .sec = sec, .msec = msec, .serial = serial,
                };
                x->table->n_ref++;
                if (comm)
                        memcpy(x->comm, comm, len + 1);
                free(comm);
                return 0;
        }
        if (line[0] == 'c' && line[1] == ' ') {
                unsigned slot, node, parent, child, msec;
                unsigned long long sec, serial;

                if (sscanf(line, "c %u %u %u %u %llu %u %llu%n", &slot, &node, &parent, &child, &sec, &msec, &serial,
                           &n) != 7 || line[n] != 0)
                        return -EBADMSG;
                if (slot >= PENDING_CLONES || t->pending[slot].child != 0 || child == 0 || node > t->n_nodes ||
                    msec > 999)
                        return -EBADMSG;
                t->pending[slot] = (PendingClone) {
                        .node = node, .parent = parent, .child = child, .sec = sec, .msec = msec, .serial = serial,
                };
                return 0;
        }
        if (line[0] == 'n' && line[1] == ' ') {
                unsigned pn, xn;
                if (sscanf(line, "n %u %u%n", &pn, &xn, &n) != 2 || line[n] != 0)
                        return -EBADMSG;
                t->pending_next = pn;
                t->exited_next = xn;
                return 0;
        }
        if (strncmp(line, "end ", 4) == 0) {
                unsigned long long procs;
                size_t files;
                if (sscanf(line, "end %llu %zu%n", &procs, &files, &n) != 2 || line[n] != 0)
                        return -EBADMSG;
                *want_procs = procs;
                *want_files = files;
                *done = true;
                return 0;
        }
        return -EBADMSG;
}

int tracker_load_state(Tracker *t, FILE *f) {
        _cleanup_free_ char *line = NULL;
        LoadContext l = {};
        size_t size = 0, want_files = 0;
        uint64_t want_procs = 0;
        bool done = false, first = true;
        ssize_t n;
        int r = 0;

        if (t->stats.processes > 0 || t->n_nodes > 0)
                return -EBUSY;

        while ((n = getline(&line, &size, f)) >= 0) {
                if (n == 0 || line[n - 1] != '\n' || memchr(line, 0, n)) {
                        r = -EBADMSG;   /* a torn last line, or a NUL */
                        break;
                }
                line[n - 1] = 0;
                if (first) {
                        first = false;
                        if (strcmp(line, STATE_MAGIC) != 0) {
                                r = -EPROTO;    /* not ours, or another version */
                                break;
                        }
                        continue;
                }
                if (done) {
                        r = -EBADMSG;   /* something after the end */
                        break;
                }
                r = load_line(t, &l, line, &done, &want_procs, &want_files);
                if (r < 0)
                        break;
        }
        if (r >= 0 && ferror(f))
                r = -EIO;
        if (r >= 0 && (!done || want_procs != t->stats.processes || want_files != l.n_files))
                r = -EBADMSG;   /* cut short */
        load_context_done(t, &l);
        if (r < 0)
                tracker_clear(t);
        return r;
}
