/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "report/report-verify.h"

/* Expected offset per direction (ReportFile.next): no transfer seen yet in
 * this report, or the last one had no known offset. */
#define NEXT_FRESH   (-2)
#define NEXT_UNKNOWN (-1)

#define ARENA_CHUNK (64 * 1024)
#define OPS_MAX 64

typedef struct ArenaChunk {
        struct ArenaChunk *next;
        size_t used, size;
        char data[];
} ArenaChunk;

/* Key strings live here: one allocation per 64 KiB, freed together. */
typedef struct Arena {
        ArenaChunk *head;
} Arena;

/* Open addressing, linear probing. A slot holds an entry index + 1 (0: empty)
 * and 32 bits of the hash, so that most mismatches never touch the entry. */
typedef struct Slot {
        uint32_t index;
        uint32_t hash;
} Slot;

typedef struct Map {
        Slot *slots;
        size_t mask;            /* number of slots - 1; 0 before the first insert */
        size_t n;
} Map;

typedef struct KeyedEntry {
        uint64_t hash;
        const char *raw;        /* key bytes, in the arena */
        size_t raw_len;
        ReportKeyed pub;
} KeyedEntry;

typedef struct FileEntry {
        uint64_t hash;
        ReportFile pub;
} FileEntry;

typedef struct Keyed {
        Map map;
        KeyedEntry *entries;
        size_t n_alloc;
} Keyed;

struct Report {
        Arena arena;

        ReportSummary summary;
        ReportPattern pathless[2];      /* transfers without a path */

        ReportOpStat ops[OPS_MAX];
        size_t n_ops;
        ReportOpStat ops_other;
        size_t last_op;
        ReportOpStat ops_out[OPS_MAX + 1];

        Keyed tables[_REPORT_TABLE_MAX];

        Map files_map;
        FileEntry *files;
        size_t n_files_alloc;

        /* Per-line caches: consecutive records mostly share these. */
        size_t last_host_index;
        uint64_t last_host_hash;
        bool last_host_valid;
        size_t last_comm_index;
        bool last_comm_valid;
        unsigned char last_user[5];
        size_t last_user_index;
        bool last_user_valid;
        ReportFile *last_file;
        uint64_t last_hour;
        size_t last_hour_index;
        bool last_hour_valid;

        ReportSkipped *skipped;
        size_t n_skipped, n_skipped_alloc;

        /* Result buffers. */
        const ReportKeyed **sorted_keyed;
        const ReportFile **sorted_files;
        bool settled;

        Verify *verify;
};

/* --- helpers --- */

static uint64_t hash_bytes(const void *p, size_t len, uint64_t seed) {
        const unsigned char *s = p;
        uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);

        while (len >= 8) {
                uint64_t w;
                memcpy(&w, s, 8);
                h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
                h ^= h >> 31;
                s += 8;
                len -= 8;
        }
        if (len > 0) {
                uint64_t w = 0;
                memcpy(&w, s, len);
                h = (h ^ w) * 0x94d049bb133111ebULL;
        }
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 32;
        return h;
}

static int64_t add_sat(int64_t a, int64_t b) {
        if (b > 0 && a > INT64_MAX - b)
                return INT64_MAX;
        return a + b;
}

static void arena_free(Arena *a) {
        while (a->head) {
                ArenaChunk *c = a->head;
                a->head = c->next;
                free(c);
        }
}

/* Keeps the newest chunk for reuse: a delta is reset once per segment. */
static void arena_reset(Arena *a) {
        if (!a->head)
                return;
        ArenaChunk *keep = a->head, *c = keep->next;
        while (c) {
                ArenaChunk *n = c->next;
                free(c);
                c = n;
        }
        keep->next = NULL;
        keep->used = 0;
}

static const char *arena_strndup(Arena *a, const char *s, size_t len) {
        ArenaChunk *c = a->head;
        char *p;

        if (!c || c->size - c->used < len + 1) {
                size_t size = MAX((size_t) ARENA_CHUNK, len + 1);
                c = malloc(sizeof(ArenaChunk) + size);
                if (!c)
                        return NULL;
                c->used = 0;
                c->size = size;
                c->next = a->head;
                a->head = c;
        }
        p = c->data + c->used;
        memcpy(p, s, len);
        p[len] = 0;
        c->used += len + 1;
        return p;
}

static int grow_array(void **p, size_t *n_alloc, size_t need, size_t size) {
        size_t n;
        void *q;

        if (need <= *n_alloc)
                return 0;
        n = MAX(*n_alloc * 2, MAX(need, (size_t) 16));
        if (n > UINT32_MAX - 1)
                return -ENOMEM;
        q = realloc(*p, n * size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *n_alloc = n;
        return 0;
}

/* Makes room for one more entry (load factor at most 1/2). */
static int map_reserve(Map *m, const uint64_t *(*hash_of)(const void *entries, size_t i), const void *entries) {
        size_t n_slots, mask;
        Slot *slots;

        if (m->mask != 0 && (m->n + 1) * 2 <= m->mask + 1)
                return 0;
        n_slots = m->mask ? (m->mask + 1) * 2 : 64;
        slots = calloc(n_slots, sizeof(Slot));
        if (!slots)
                return -ENOMEM;
        mask = n_slots - 1;
        for (size_t i = 0; i < m->n; i++) {
                uint64_t h = *hash_of(entries, i);
                size_t j = h & mask;
                while (slots[j].index)
                        j = (j + 1) & mask;
                slots[j] = (Slot) { .index = (uint32_t) i + 1, .hash = (uint32_t) (h >> 32) };
        }
        free(m->slots);
        m->slots = slots;
        m->mask = mask;
        return 0;
}

static void map_reset(Map *m) {
        if (m->slots && m->n > 0)
                memset(m->slots, 0, (m->mask + 1) * sizeof(Slot));
        m->n = 0;
}

static const uint64_t *keyed_hash_of(const void *entries, size_t i) {
        return &((const KeyedEntry *) entries)[i].hash;
}

static const uint64_t *file_hash_of(const void *entries, size_t i) {
        return &((const FileEntry *) entries)[i].hash;
}

/* Finds or creates the entry for raw[0..len). */
static int keyed_get(Report *r, Keyed *k, const void *raw, size_t len, size_t *ret) {
        uint64_t h = hash_bytes(raw, len, 0);
        size_t j;
        int e;

        if (k->map.mask) {
                for (j = h & k->map.mask; k->map.slots[j].index; j = (j + 1) & k->map.mask) {
                        KeyedEntry *x;
                        if (k->map.slots[j].hash != (uint32_t) (h >> 32))
                                continue;
                        x = &k->entries[k->map.slots[j].index - 1];
                        if (x->raw_len == len && memcmp(x->raw, raw, len) == 0) {
                                *ret = k->map.slots[j].index - 1;
                                return 0;
                        }
                }
        }

        e = map_reserve(&k->map, keyed_hash_of, k->entries);
        if (e < 0)
                return e;
        e = grow_array((void **) &k->entries, &k->n_alloc, k->map.n + 1, sizeof(KeyedEntry));
        if (e < 0)
                return e;
        const char *copy = arena_strndup(&r->arena, raw, len);
        if (!copy)
                return -ENOMEM;
        k->entries[k->map.n] = (KeyedEntry) { .hash = h, .raw = copy, .raw_len = len };
        for (j = h & k->map.mask; k->map.slots[j].index; j = (j + 1) & k->map.mask)
                ;
        k->map.slots[j] = (Slot) { .index = (uint32_t) k->map.n + 1, .hash = (uint32_t) (h >> 32) };
        *ret = k->map.n++;
        return 0;
}

static uint64_t file_hash(const char *path, size_t len, const char *host) {
        return hash_bytes(path, len, host ? hash_bytes(host, strlen(host), 1) : 0);
}

/* The same, with the host's hash known. */
static uint64_t file_hash_seeded(const char *path, size_t len, uint64_t host_hash) {
        return hash_bytes(path, len, host_hash);
}

static bool host_eq(const char *a, const char *b) {
        if (a == b)
                return true;
        if (!a || !b)
                return false;
        return strcmp(a, b) == 0;
}

/* host must already be interned in r (or NULL). */
static int file_get(Report *r, const char *path, size_t len, const char *host, uint64_t h, ReportFile **ret) {
        Map *m = &r->files_map;
        size_t j;
        int e;

        if (m->mask) {
                for (j = h & m->mask; m->slots[j].index; j = (j + 1) & m->mask) {
                        FileEntry *x;
                        if (m->slots[j].hash != (uint32_t) (h >> 32))
                                continue;
                        x = &r->files[m->slots[j].index - 1];
                        if (x->pub.path_len == len && memcmp(x->pub.path, path, len) == 0 &&
                            host_eq(x->pub.host, host)) {
                                *ret = &x->pub;
                                return 0;
                        }
                }
        }

        /* The entries may move below. */
        r->last_file = NULL;
        e = map_reserve(m, file_hash_of, r->files);
        if (e < 0)
                return e;
        e = grow_array((void **) &r->files, &r->n_files_alloc, m->n + 1, sizeof(FileEntry));
        if (e < 0)
                return e;
        const char *copy = arena_strndup(&r->arena, path, len);
        if (!copy)
                return -ENOMEM;
        r->files[m->n] = (FileEntry) {
                .hash = h,
                .pub = {
                        .path = copy,
                        .path_len = len,
                        .host = host,
                        .next = { NEXT_FRESH, NEXT_FRESH },
                },
        };
        for (j = h & m->mask; m->slots[j].index; j = (j + 1) & m->mask)
                ;
        m->slots[j] = (Slot) { .index = (uint32_t) m->n + 1, .hash = (uint32_t) (h >> 32) };
        *ret = &r->files[m->n++].pub;
        return 0;
}

static void counters_add(ReportCounters *a, const ReportCounters *b) {
        a->actions += b->actions;
        a->opens += b->opens;
        a->reads += b->reads;
        a->writes += b->writes;
        a->bytes_read += b->bytes_read;
        a->bytes_written += b->bytes_written;
        a->maps += b->maps;
        a->bytes_mapped += b->bytes_mapped;
}

static void names_add(ReportNames *a, const ReportNames *b) {
        a->renames += b->renames;
        a->unlinks += b->unlinks;
        a->rmdirs += b->rmdirs;
        a->mkdirs += b->mkdirs;
        a->truncates += b->truncates;
}

static void pattern_add(ReportPattern *a, const ReportPattern *b) {
        a->seq += b->seq;
        a->seq_bytes += b->seq_bytes;
        a->rand += b->rand;
        a->rand_bytes += b->rand_bytes;
        a->unknown += b->unknown;
        a->unknown_bytes += b->unknown_bytes;
}

static void pattern_count(ReportPattern *p, bool seq, uint64_t bytes) {
        if (seq) {
                p->seq++;
                p->seq_bytes += bytes;
        } else {
                p->rand++;
                p->rand_bytes += bytes;
        }
}

/* --- read ranges --- */

/* Joins the two closest neighbours: keeps memory per file bounded. */
static void ranges_shrink(ReportFile *f) {
        unsigned best = 0;
        int64_t best_gap = INT64_MAX;

        for (unsigned i = 0; i + 1 < f->n_ranges; i++) {
                int64_t gap = f->ranges[i + 1].start - f->ranges[i].end;
                if (gap < best_gap) {
                        best_gap = gap;
                        best = i;
                }
        }
        f->ranges[best].end = f->ranges[best + 1].end;
        memmove(f->ranges + best + 1, f->ranges + best + 2,
                (f->n_ranges - best - 2) * sizeof(ReportRange));
        f->n_ranges--;
}

/* Adds [start, end) to the file's disjoint, sorted ranges; returns how many of
 * its bytes were covered already. */
static int ranges_add(ReportFile *f, int64_t start, int64_t end, uint64_t *ret_overlap) {
        unsigned lo = 0, hi = f->n_ranges, i, k;
        uint64_t overlap = 0;

        if (end <= start) {
                *ret_overlap = 0;
                return 0;
        }

        /* First range that ends at or after start (touching ranges join). */
        while (lo < hi) {
                unsigned mid = (lo + hi) / 2;
                if (f->ranges[mid].end < start)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        i = lo;

        for (k = i; k < f->n_ranges && f->ranges[k].start <= end; k++) {
                int64_t a = MAX(start, f->ranges[k].start), b = MIN(end, f->ranges[k].end);
                if (b > a)
                        overlap += (uint64_t) (b - a);
        }

        if (k > i) {
                /* Ranges i..k-1 touch or overlap: replace them by their union. */
                f->ranges[i].start = MIN(start, f->ranges[i].start);
                f->ranges[i].end = MAX(end, f->ranges[k - 1].end);
                memmove(f->ranges + i + 1, f->ranges + k, (f->n_ranges - k) * sizeof(ReportRange));
                f->n_ranges -= k - i - 1;
        } else {
                if (f->n_ranges == REPORT_RANGES_MAX + 1)
                        return -EINVAL; /* cannot happen: shrunk below */
                /* Grow in powers of two up to the bound (+1 for the insert). */
                if ((f->n_ranges & (f->n_ranges - 1)) == 0 || f->n_ranges == 0) {
                        size_t n = f->n_ranges ? MIN((size_t) f->n_ranges * 2, (size_t) REPORT_RANGES_MAX + 1) : 1;
                        if (n > f->n_ranges) {
                                ReportRange *q = realloc(f->ranges, n * sizeof(ReportRange));
                                if (!q)
                                        return -ENOMEM;
                                f->ranges = q;
                        }
                }
                memmove(f->ranges + i + 1, f->ranges + i, (f->n_ranges - i) * sizeof(ReportRange));
                f->ranges[i] = (ReportRange) { start, end };
                f->n_ranges++;
                if (f->n_ranges > REPORT_RANGES_MAX)
                        ranges_shrink(f);
        }

        *ret_overlap = overlap;
        return 0;
}

/* --- lifecycle --- */

int report_new(Report **ret) {
        Report *r = calloc(1, sizeof(Report));
        if (!r)
                return -ENOMEM;
        *ret = r;
        return 0;
}

static void files_free_ranges(Report *r) {
        for (size_t i = 0; i < r->files_map.n; i++)
                free(r->files[i].pub.ranges);
}

Report *report_free(Report *r) {
        if (!r)
                return NULL;
        files_free_ranges(r);
        free(r->files);
        free(r->files_map.slots);
        for (size_t t = 0; t < _REPORT_TABLE_MAX; t++) {
                free(r->tables[t].entries);
                free(r->tables[t].map.slots);
        }
        free(r->sorted_keyed);
        free(r->sorted_files);
        free(r->skipped);
        verify_free(r->verify);
        arena_free(&r->arena);
        free(r);
        return NULL;
}

void report_reset(Report *r) {
        files_free_ranges(r);
        map_reset(&r->files_map);
        for (size_t t = 0; t < _REPORT_TABLE_MAX; t++)
                map_reset(&r->tables[t].map);
        arena_reset(&r->arena);
        r->summary = (ReportSummary) {};
        r->n_skipped = 0;
        memset(r->pathless, 0, sizeof(r->pathless));
        r->n_ops = 0;
        r->ops_other = (ReportOpStat) {};
        r->last_host_valid = r->last_hour_valid = r->last_comm_valid = r->last_user_valid = false;
        r->last_file = NULL;
        r->settled = false;
}

void report_set_verify(Report *r, Verify *v) {
        verify_free(r->verify);
        r->verify = v;
}

Verify *report_get_verify(Report *r) {
        return r->verify;
}

/* --- adding --- */

ReportOpClass report_op_class(const char *op, size_t len) {
        switch (len) {
        case 4:
                if (memcmp(op, "read", 4) == 0)
                        return REPORT_OP_READ;
                if (memcmp(op, "open", 4) == 0)
                        return REPORT_OP_OPEN;
                if (memcmp(op, "mmap", 4) == 0)
                        return REPORT_OP_MAP;
                break;
        case 5:
                if (memcmp(op, "write", 5) == 0)
                        return REPORT_OP_WRITE;
                if (memcmp(op, "pread", 5) == 0 || memcmp(op, "readv", 5) == 0)
                        return REPORT_OP_READ;
                if (memcmp(op, "rmdir", 5) == 0)
                        return REPORT_OP_RMDIR;
                if (memcmp(op, "mkdir", 5) == 0)
                        return REPORT_OP_MKDIR;
                break;
        case 6:
                if (memcmp(op, "pwrite", 6) == 0 || memcmp(op, "writev", 6) == 0)
                        return REPORT_OP_WRITE;
                if (memcmp(op, "preadv", 6) == 0)
                        return REPORT_OP_READ;
                if (memcmp(op, "rename", 6) == 0)
                        return REPORT_OP_RENAME;
                if (memcmp(op, "unlink", 6) == 0)
                        return REPORT_OP_UNLINK;
                break;
        case 7:
                if (memcmp(op, "pwritev", 7) == 0)
                        return REPORT_OP_WRITE;
                break;
        case 8:
                if (memcmp(op, "truncate", 8) == 0)
                        return REPORT_OP_TRUNCATE;
                break;
        }
        return REPORT_OP_OTHER;
}

static int op_count(Report *r, const char *op, size_t len, uint64_t bytes) {
        ReportOpStat *o = NULL;

        /* Mostly the same op as the record before. */
        if (r->last_op < r->n_ops && strncmp(r->ops[r->last_op].name, op, len) == 0 &&
            r->ops[r->last_op].name[len] == 0) {
                r->ops[r->last_op].count++;
                r->ops[r->last_op].bytes += bytes;
                return 0;
        }
        for (size_t i = 0; i < r->n_ops; i++)
                if (strncmp(r->ops[i].name, op, len) == 0 && r->ops[i].name[len] == 0) {
                        o = &r->ops[i];
                        r->last_op = i;
                        break;
                }
        if (!o) {
                if (r->n_ops == OPS_MAX)
                        /* A flood of invented op names is not worth a
                         * table: one entry collects them. */
                        o = &r->ops_other;
                else {
                        const char *name = arena_strndup(&r->arena, op, len);
                        if (!name)
                                return -ENOMEM;
                        o = &r->ops[r->n_ops++];
                        *o = (ReportOpStat) { .name = name };
                }
        }
        o->count++;
        o->bytes += bytes;
        return 0;
}

static int host_index(Report *r, const char *host, size_t *ret) {
        const char *key = host ?: "";
        int e;

        if (r->last_host_valid &&
            strcmp(r->tables[REPORT_TABLE_HOSTS].entries[r->last_host_index].raw, key) == 0) {
                *ret = r->last_host_index;
                return 0;
        }
        e = keyed_get(r, &r->tables[REPORT_TABLE_HOSTS], key, strlen(key), ret);
        if (e < 0)
                return e;
        r->last_host_index = *ret;
        r->last_host_hash = host ? hash_bytes(key, strlen(key), 1) : 0;
        r->last_host_valid = true;
        return 0;
}

static void classify(ReportFile *f, ReportPattern *p, int dir, int64_t offset, uint64_t bytes) {
        int64_t next = f->next[dir];

        if (next == NEXT_FRESH) {
                /* The first transfer is classified when we know what came
                 * before it: at merge time (or against offset 0). */
                f->have_first[dir] = true;
                f->first_offset[dir] = offset;
                f->first_bytes[dir] = bytes;
        } else
                pattern_count(p, next >= 0 && offset == next, bytes);
        f->next[dir] = add_sat(offset, (int64_t) bytes);
}

int report_add(Report *r, const ReportRecord *rec, const char *host) {
        ReportCounters d = { .actions = 1 };
        ReportOpClass cls;
        uint64_t bytes;
        size_t hi, i;
        int e;

        if (!rec->op) {
                r->summary.metadata_lines++;
                return 0;
        }
        r->settled = false;
        r->summary.records++;

        bytes = rec->has_bytes && rec->bytes > 0 ? (uint64_t) rec->bytes : 0;
        e = op_count(r, rec->op, rec->op_len, bytes);
        if (e < 0)
                return e;

        cls = report_op_class(rec->op, rec->op_len);
        switch (cls) {
        case REPORT_OP_READ:
                d.reads = 1;
                d.bytes_read = bytes;
                break;
        case REPORT_OP_WRITE:
                d.writes = 1;
                d.bytes_written = bytes;
                break;
        case REPORT_OP_OPEN:
                d.opens = 1;
                break;
        case REPORT_OP_MAP:
                d.maps = 1;
                d.bytes_mapped = bytes;
                break;
        case REPORT_OP_RENAME:
                r->summary.names.renames++;
                break;
        case REPORT_OP_UNLINK:
                r->summary.names.unlinks++;
                break;
        case REPORT_OP_RMDIR:
                r->summary.names.rmdirs++;
                break;
        case REPORT_OP_MKDIR:
                r->summary.names.mkdirs++;
                break;
        case REPORT_OP_TRUNCATE:
                r->summary.names.truncates++;
                break;
        default:
                break;
        }
        counters_add(&r->summary.c, &d);

        e = host_index(r, host, &hi);
        if (e < 0)
                return e;
        ReportKeyed *hk = &r->tables[REPORT_TABLE_HOSTS].entries[hi].pub;
        counters_add(&hk->c, &d);
        /* The interned name: files point at it. */
        const char *ihost = host ? r->tables[REPORT_TABLE_HOSTS].entries[hi].raw : NULL;

        bool gap = rec->op_len == 3 && memcmp(rec->op, "gap", 3) == 0;
        if (gap) {
                r->summary.gaps++;
                r->summary.lost += rec->has_lost ? rec->lost : 0;
                hk->lost += rec->has_lost ? rec->lost : 0;
        }

        if (rec->has_time) {
                uint64_t hour = rec->sec / 3600;
                if (!r->last_hour_valid || r->last_hour != hour) {
                        e = keyed_get(r, &r->tables[REPORT_TABLE_HOURS], &hour, sizeof(hour), &i);
                        if (e < 0)
                                return e;
                        r->last_hour = hour;
                        r->last_hour_index = i;
                        r->last_hour_valid = true;
                }
                ReportKeyed *h = &r->tables[REPORT_TABLE_HOURS].entries[r->last_hour_index].pub;
                counters_add(&h->c, &d);
                if (gap)
                        h->lost += rec->has_lost ? rec->lost : 0;
                if (r->summary.first_sec == 0 || rec->sec < r->summary.first_sec)
                        r->summary.first_sec = rec->sec;
                if (rec->sec > r->summary.last_sec)
                        r->summary.last_sec = rec->sec;
        }

        {
                /* A key no comm can be: comm is at most 16 bytes. */
                static const char unknown[18] = "\0unknown";
                const char *k = rec->comm ?: unknown;
                size_t kl = rec->comm ? rec->comm_len : sizeof(unknown);
                Keyed *t = &r->tables[REPORT_TABLE_PROGRAMS];

                /* Consecutive records mostly come from one program. */
                if (r->last_comm_valid && t->entries[r->last_comm_index].raw_len == kl &&
                    memcmp(t->entries[r->last_comm_index].raw, k, kl) == 0)
                        i = r->last_comm_index;
                else {
                        e = keyed_get(r, t, k, kl, &i);
                        if (e < 0)
                                return e;
                        r->last_comm_index = i;
                        r->last_comm_valid = true;
                }
                counters_add(&t->entries[i].pub.c, &d);
        }

        {
                /* Users by login uid (auid): who logged in, whatever they
                 * became; uid where there is no auid. */
                unsigned char key[5];
                if (rec->has_auid) {
                        key[0] = 'a';
                        memcpy(key + 1, &rec->auid, 4);
                } else if (rec->has_uid) {
                        key[0] = 'u';
                        memcpy(key + 1, &rec->uid, 4);
                } else
                        memset(key, 0, sizeof(key));
                if (r->last_user_valid && memcmp(r->last_user, key, sizeof(key)) == 0)
                        i = r->last_user_index;
                else {
                        e = keyed_get(r, &r->tables[REPORT_TABLE_USERS], key, sizeof(key), &i);
                        if (e < 0)
                                return e;
                        memcpy(r->last_user, key, sizeof(key));
                        r->last_user_index = i;
                        r->last_user_valid = true;
                }
                counters_add(&r->tables[REPORT_TABLE_USERS].entries[i].pub.c, &d);
        }

        int dir = cls == REPORT_OP_READ ? 0 : cls == REPORT_OP_WRITE ? 1 : -1;
        bool known = rec->has_offset && rec->offset >= 0;

        if (!rec->path) {
                if (dir >= 0) {
                        r->pathless[dir].unknown++;
                        r->pathless[dir].unknown_bytes += bytes;
                }
                return 0;
        }

        ReportFile *f = r->last_file;
        /* A file is mostly read or written many times in a row. */
        if (!f || f->path_len != rec->path_len || f->host != ihost || memcmp(f->path, rec->path, rec->path_len) != 0) {
                e = file_get(r, rec->path, rec->path_len, ihost,
                             file_hash_seeded(rec->path, rec->path_len, ihost ? r->last_host_hash : 0), &f);
                if (e < 0)
                        return e;
                r->last_file = f;
        }
        counters_add(&f->c, &d);
        if (dir < 0)
                return 0;

        ReportPattern *p = dir == 0 ? &f->read_pattern : &f->write_pattern;
        if (!known) {
                p->unknown++;
                p->unknown_bytes += bytes;
                f->next[dir] = NEXT_UNKNOWN;
                return 0;
        }
        classify(f, p, dir, rec->offset, bytes);
        if (dir == 0) {
                uint64_t overlap;
                e = ranges_add(f, rec->offset, add_sat(rec->offset, (int64_t) bytes), &overlap);
                if (e < 0)
                        return e;
                f->reread_bytes += overlap;
        }
        return 0;
}

void report_note_input(Report *r, uint64_t bytes) {
        r->summary.inputs++;
        r->summary.input_bytes += bytes;
}

int report_note_skipped(Report *r, const char *name, const char *reason) {
        int e;

        e = grow_array((void **) &r->skipped, &r->n_skipped_alloc, r->n_skipped + 1, sizeof(ReportSkipped));
        if (e < 0)
                return e;
        ReportSkipped s = {
                .name = arena_strndup(&r->arena, name, strlen(name)),
                .reason = arena_strndup(&r->arena, reason, strlen(reason)),
        };
        if (!s.name || !s.reason)
                return -ENOMEM;
        r->skipped[r->n_skipped++] = s;
        r->summary.inputs_skipped++;
        return 0;
}

size_t report_skipped(Report *r, const ReportSkipped **ret) {
        *ret = r->skipped;
        return r->n_skipped;
}

/* --- merging --- */

static void keyed_merge_into(ReportKeyed *a, const ReportKeyed *b) {
        counters_add(&a->c, &b->c);
        a->lost += b->lost;
}

/* Classifies a delta's pending first transfer against what r has seen. */
static void settle_first(ReportFile *into, ReportFile *d, int dir) {
        ReportPattern *p = dir == 0 ? &into->read_pattern : &into->write_pattern;
        int64_t expected = into->next[dir] == NEXT_FRESH ? 0 : into->next[dir];

        if (!d->have_first[dir])
                return;
        pattern_count(p, expected >= 0 && d->first_offset[dir] == expected, d->first_bytes[dir]);
        d->have_first[dir] = false;
}

int report_merge(Report *r, Report *delta) {
        const char *last_dhost = NULL, *last_rhost = NULL;
        bool last_valid = false;
        int e;

        r->settled = false;

        for (size_t i = 0; i < delta->n_ops; i++) {
                const ReportOpStat *o = &delta->ops[i];
                ReportOpStat *into = NULL;
                for (size_t j = 0; j < r->n_ops; j++)
                        if (strcmp(r->ops[j].name, o->name) == 0) {
                                into = &r->ops[j];
                                break;
                        }
                if (!into) {
                        if (r->n_ops == OPS_MAX)
                                into = &r->ops_other;
                        else {
                                const char *name = arena_strndup(&r->arena, o->name, strlen(o->name));
                                if (!name)
                                        return -ENOMEM;
                                into = &r->ops[r->n_ops++];
                                *into = (ReportOpStat) { .name = name };
                        }
                }
                into->count += o->count;
                into->bytes += o->bytes;
        }
        r->ops_other.count += delta->ops_other.count;
        r->ops_other.bytes += delta->ops_other.bytes;

        for (size_t t = 0; t < _REPORT_TABLE_MAX; t++) {
                Keyed *dk = &delta->tables[t];
                for (size_t i = 0; i < dk->map.n; i++) {
                        size_t j;
                        e = keyed_get(r, &r->tables[t], dk->entries[i].raw, dk->entries[i].raw_len, &j);
                        if (e < 0)
                                return e;
                        keyed_merge_into(&r->tables[t].entries[j].pub, &dk->entries[i].pub);
                }
        }

        for (size_t i = 0; i < delta->files_map.n; i++) {
                ReportFile *d = &delta->files[i].pub, *f;
                const char *host = NULL;

                if (d->host) {
                        if (!last_valid || d->host != last_dhost) {
                                size_t j;
                                e = keyed_get(r, &r->tables[REPORT_TABLE_HOSTS], d->host, strlen(d->host), &j);
                                if (e < 0)
                                        return e;
                                last_dhost = d->host;
                                last_rhost = r->tables[REPORT_TABLE_HOSTS].entries[j].raw;
                                last_valid = true;
                        }
                        host = last_rhost;
                }

                e = file_get(r, d->path, d->path_len, host, file_hash(d->path, d->path_len, host), &f);
                if (e < 0)
                        return e;

                counters_add(&f->c, &d->c);
                pattern_add(&f->read_pattern, &d->read_pattern);
                pattern_add(&f->write_pattern, &d->write_pattern);
                f->reread_bytes += d->reread_bytes;
                for (int dir = 0; dir < 2; dir++) {
                        settle_first(f, d, dir);
                        if (d->next[dir] != NEXT_FRESH)
                                f->next[dir] = d->next[dir];
                }
                for (unsigned k = 0; k < d->n_ranges; k++) {
                        uint64_t overlap;
                        e = ranges_add(f, d->ranges[k].start, d->ranges[k].end, &overlap);
                        if (e < 0)
                                return e;
                        f->reread_bytes += overlap;
                }
        }

        ReportSummary *s = &r->summary, *ds = &delta->summary;
        s->records += ds->records;
        s->metadata_lines += ds->metadata_lines;
        s->lost += ds->lost;
        s->gaps += ds->gaps;
        if (ds->first_sec && (!s->first_sec || ds->first_sec < s->first_sec))
                s->first_sec = ds->first_sec;
        s->last_sec = MAX(s->last_sec, ds->last_sec);
        counters_add(&s->c, &ds->c);
        names_add(&s->names, &ds->names);
        pattern_add(&r->pathless[0], &delta->pathless[0]);
        pattern_add(&r->pathless[1], &delta->pathless[1]);

        report_reset(delta);
        return 0;
}

/* --- results --- */

/* Pending first transfers of a report that was never merged into another:
 * nothing came before them. */
static void report_settle(Report *r) {
        ReportSummary *s = &r->summary;

        if (r->settled)
                return;
        for (size_t i = 0; i < r->files_map.n; i++) {
                ReportFile *f = &r->files[i].pub;
                for (int dir = 0; dir < 2; dir++)
                        if (f->have_first[dir]) {
                                ReportPattern *p = dir == 0 ? &f->read_pattern : &f->write_pattern;
                                pattern_count(p, f->first_offset[dir] == 0, f->first_bytes[dir]);
                                f->have_first[dir] = false;
                        }
        }

        s->read_pattern = r->pathless[0];
        s->write_pattern = r->pathless[1];
        s->reread_bytes = 0;
        for (size_t i = 0; i < r->files_map.n; i++) {
                ReportFile *f = &r->files[i].pub;
                pattern_add(&s->read_pattern, &f->read_pattern);
                pattern_add(&s->write_pattern, &f->write_pattern);
                s->reread_bytes += f->reread_bytes;
        }
        s->files = r->files_map.n;
        r->settled = true;
}

const ReportSummary *report_summary(Report *r) {
        report_settle(r);
        return &r->summary;
}

size_t report_ops(Report *r, const ReportOpStat **ret) {
        size_t n = r->n_ops;

        memcpy(r->ops_out, r->ops, n * sizeof(ReportOpStat));
        if (r->ops_other.count > 0) {
                r->ops_out[n] = r->ops_other;
                r->ops_out[n++].name = "(other)";
        }
        *ret = r->ops_out;
        return n;
}

static int keyed_cmp_bytes(const void *a, const void *b) {
        const ReportKeyed *x = *(const ReportKeyed *const *) a, *y = *(const ReportKeyed *const *) b;
        uint64_t bx = x->c.bytes_read + x->c.bytes_written, by = y->c.bytes_read + y->c.bytes_written;

        if (bx != by)
                return bx > by ? -1 : 1;
        if (x->c.actions != y->c.actions)
                return x->c.actions > y->c.actions ? -1 : 1;
        return strcmp(x->key, y->key);
}

static int keyed_cmp_number(const void *a, const void *b) {
        const ReportKeyed *x = *(const ReportKeyed *const *) a, *y = *(const ReportKeyed *const *) b;
        const KeyedEntry *ex = (const KeyedEntry *) ((const char *) x - offsetof(KeyedEntry, pub));
        const KeyedEntry *ey = (const KeyedEntry *) ((const char *) y - offsetof(KeyedEntry, pub));
        uint64_t hx, hy;

        memcpy(&hx, ex->raw, sizeof(hx));
        memcpy(&hy, ey->raw, sizeof(hy));
        return hx < hy ? -1 : hx > hy;
}

/* Display names, made once the raw keys are final. */
static int keyed_name(Report *r, ReportTable t, KeyedEntry *e) {
        char buf[64];

        if (e->pub.key)
                return 0;
        switch (t) {
        case REPORT_TABLE_PROGRAMS:
                if (e->raw_len == 18 && e->raw[0] == 0)
                        e->pub.key = "(unknown)";
                else
                        e->pub.key = e->raw;
                return 0;
        case REPORT_TABLE_HOSTS:
                e->pub.key = e->raw[0] ? e->raw : "(unknown)";
                return 0;
        case REPORT_TABLE_USERS: {
                uint32_t id;
                memcpy(&id, e->raw + 1, 4);
                if (e->raw[0] == 0)
                        e->pub.key = "(unknown)";
                else if (e->raw[0] == 'a' && id == UINT32_MAX)
                        e->pub.key = "unset";
                else {
                        snprintf(buf, sizeof(buf), "%s%u", e->raw[0] == 'u' ? "uid " : "", id);
                        e->pub.key = arena_strndup(&r->arena, buf, strlen(buf));
                        if (!e->pub.key)
                                return -ENOMEM;
                }
                return 0;
        }
        case REPORT_TABLE_HOURS: {
                uint64_t hour;
                memcpy(&hour, e->raw, sizeof(hour));
                snprintf(buf, sizeof(buf), "%llu", (unsigned long long) (hour * 3600));
                e->pub.key = arena_strndup(&r->arena, buf, strlen(buf));
                return e->pub.key ? 0 : -ENOMEM;
        }
        default:
                return -EINVAL;
        }
}

int report_table(Report *r, ReportTable t, const ReportKeyed ***ret, size_t *ret_n) {
        Keyed *k = &r->tables[t];
        const ReportKeyed **v;
        int e;

        if ((unsigned) t >= _REPORT_TABLE_MAX)
                return -EINVAL;
        report_settle(r);

        if (t == REPORT_TABLE_HOSTS) {
                for (size_t i = 0; i < k->map.n; i++)
                        k->entries[i].pub.files = 0;
                for (size_t i = 0; i < r->files_map.n; i++) {
                        const char *h = r->files[i].pub.host ?: "";
                        size_t j;
                        e = keyed_get(r, k, h, strlen(h), &j);
                        if (e < 0)
                                return e;
                        k->entries[j].pub.files++;
                }
        }

        v = reallocarray(r->sorted_keyed, MAX(k->map.n, (size_t) 1), sizeof(*v));
        if (!v)
                return -ENOMEM;
        r->sorted_keyed = v;
        for (size_t i = 0; i < k->map.n; i++) {
                e = keyed_name(r, t, &k->entries[i]);
                if (e < 0)
                        return e;
                v[i] = &k->entries[i].pub;
        }
        qsort(v, k->map.n, sizeof(*v), t == REPORT_TABLE_HOURS ? keyed_cmp_number : keyed_cmp_bytes);
        *ret = v;
        *ret_n = k->map.n;
        return 0;
}

static int file_cmp_tail(const ReportFile *x, const ReportFile *y) {
        int c = strcmp(x->host ?: "", y->host ?: "");
        if (c != 0)
                return c;
        return strcmp(x->path, y->path);
}

static int file_cmp_bytes(const void *a, const void *b) {
        const ReportFile *x = *(const ReportFile *const *) a, *y = *(const ReportFile *const *) b;
        uint64_t bx = x->c.bytes_read + x->c.bytes_written, by = y->c.bytes_read + y->c.bytes_written;

        if (bx != by)
                return bx > by ? -1 : 1;
        return file_cmp_tail(x, y);
}

static int file_cmp_opens(const void *a, const void *b) {
        const ReportFile *x = *(const ReportFile *const *) a, *y = *(const ReportFile *const *) b;

        if (x->c.opens != y->c.opens)
                return x->c.opens > y->c.opens ? -1 : 1;
        return file_cmp_tail(x, y);
}

int report_top_files(Report *r, bool by_opens, size_t n, const ReportFile ***ret, size_t *ret_n) {
        const ReportFile **v;
        size_t m = 0;

        report_settle(r);
        v = reallocarray(r->sorted_files, MAX(r->files_map.n, (size_t) 1), sizeof(*v));
        if (!v)
                return -ENOMEM;
        r->sorted_files = v;
        for (size_t i = 0; i < r->files_map.n; i++) {
                const ReportFile *f = &r->files[i].pub;
                /* Files that were never opened have no place in "by opens",
                 * nor files without bytes in "by bytes". */
                if (by_opens ? f->c.opens == 0 : f->c.bytes_read + f->c.bytes_written == 0)
                        continue;
                v[m++] = f;
        }
        qsort(v, m, sizeof(*v), by_opens ? file_cmp_opens : file_cmp_bytes);
        *ret = v;
        *ret_n = MIN(m, n);
        return 0;
}
