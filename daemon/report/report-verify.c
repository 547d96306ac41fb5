/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report-verify.h"

/* Gap records listed per group for the decision; more are counted. */
#define GROUP_GAPS_MAX 4096U

typedef struct Seg {
        uint64_t seq;
        uint64_t name_seq;              /* the seq its file name says */
        bool has_name_seq;
        bool valid;                     /* read as a valid segment, counts checked */
        bool open;
        bool zero_prev;
        uint32_t order;                 /* input order in the group (name order) */
        uint32_t file;                  /* index into Group.files */
        char epoch[VERIFY_EPOCH_HEX + 1];
        uint8_t hash[32], prev[32];
        uint64_t records, first_serial, last_serial;
        bool has_time;
        uint64_t first_sec, last_sec;
        uint64_t gap_records, gap_lost;
        bool gap_lost_unknown;
        uint64_t torn;
} Seg;

typedef struct GroupGap {
        uint32_t order;                 /* of the segment holding it */
        uint64_t seq;
        VerifyGap gap;
} GroupGap;

typedef struct GroupHost {
        VerifyHost *host;
        Seg *segs;
        size_t n_segs, n_alloc;
        GroupGap *gaps;
        size_t n_gaps, gaps_alloc;
        uint64_t gaps_dropped;          /* beyond GROUP_GAPS_MAX */
} GroupHost;

struct Verify {
        /* The current group. */
        bool in_group;
        char *folder;
        GroupHost *ghosts;
        size_t n_ghosts;
        char **files;                   /* paths of the group's segments */
        size_t n_files, files_alloc;
        uint32_t order;

        VerifyHost **hosts;
        size_t n_hosts;
        bool finished;
};

static const char *const status_names[_VERIFY_STATUS_MAX] = {
        [VERIFY_COMPLETE] = "complete",
        [VERIFY_INCOMPLETE] = "incomplete",
        [VERIFY_DAMAGED] = "damaged",
};

static const char *const issue_names[_VERIFY_ISSUE_MAX] = {
        [VERIFY_ISSUE_ALTERED] = "altered",
        [VERIFY_ISSUE_TRUNCATED] = "truncated",
        [VERIFY_ISSUE_NOT_SEGMENT] = "not-a-segment",
        [VERIFY_ISSUE_UNREADABLE] = "unreadable",
        [VERIFY_ISSUE_BROKEN_LINK] = "broken-link",
        [VERIFY_ISSUE_MISSING] = "missing",
        [VERIFY_ISSUE_REORDERED] = "reordered",
        [VERIFY_ISSUE_DUPLICATE] = "duplicate",
        [VERIFY_ISSUE_CONFLICT] = "conflict",
        [VERIFY_ISSUE_FOREIGN] = "foreign",
        [VERIFY_ISSUE_SYMLINK] = "symlink",
        [VERIFY_ISSUE_NOT_REGULAR] = "not-regular",
        [VERIFY_ISSUE_HEAD_MISSING] = "head-missing",
        [VERIFY_ISSUE_DROPPED] = "dropped",
        [VERIFY_ISSUE_PART] = "part",
        [VERIFY_ISSUE_TORN] = "torn",
        [VERIFY_ISSUE_SEQ_SKIPPED] = "seq-skipped",
        [VERIFY_ISSUE_KEY_EPOCH] = "key-epoch",
};

const char *verify_status_to_string(VerifyStatus s) {
        return s >= 0 && s < _VERIFY_STATUS_MAX ? status_names[s] : NULL;
}

const char *verify_issue_kind_to_string(VerifyIssueKind k) {
        return k >= 0 && k < _VERIFY_ISSUE_MAX ? issue_names[k] : NULL;
}

VerifyStatus verify_issue_kind_severity(VerifyIssueKind k) {
        switch (k) {
        case VERIFY_ISSUE_HEAD_MISSING:
        case VERIFY_ISSUE_DROPPED:
        case VERIFY_ISSUE_PART:
                return VERIFY_INCOMPLETE;
        case VERIFY_ISSUE_TORN:
        case VERIFY_ISSUE_SEQ_SKIPPED:
        case VERIFY_ISSUE_KEY_EPOCH:
                return VERIFY_COMPLETE;
        default:
                return VERIFY_DAMAGED;
        }
}

int verify_new(Verify **ret) {
        Verify *v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        *ret = v;
        return 0;
}

static void host_free(VerifyHost *h) {
        if (!h)
                return;
        for (size_t i = 0; i < h->n_issues; i++) {
                free(h->issues[i].file);
                free(h->issues[i].message);
        }
        free(h->issues);
        free(h->gaps);
        free(h->folder);
        free(h);
}

static void group_clear(Verify *v) {
        for (size_t i = 0; i < v->n_ghosts; i++) {
                host_free(v->ghosts[i].host);
                free(v->ghosts[i].segs);
                free(v->ghosts[i].gaps);
        }
        free(v->ghosts);
        v->ghosts = NULL;
        v->n_ghosts = 0;
        for (size_t i = 0; i < v->n_files; i++)
                free(v->files[i]);
        free(v->files);
        v->files = NULL;
        v->n_files = v->files_alloc = 0;
        free(v->folder);
        v->folder = NULL;
        v->in_group = false;
        v->order = 0;
}

Verify *verify_free(Verify *v) {
        if (!v)
                return NULL;
        group_clear(v);
        for (size_t i = 0; i < v->n_hosts; i++)
                host_free(v->hosts[i]);
        free(v->hosts);
        free(v);
        return NULL;
}

_printf_(5, 6)
static int issue(VerifyHost *h, VerifyIssueKind kind, const char *file, uint64_t seq, const char *fmt, ...) {
        VerifyIssue *i;
        va_list ap;
        int n;

        h->count[kind]++;
        h->issues_total++;
        if (verify_issue_kind_severity(kind) > h->status)
                h->status = verify_issue_kind_severity(kind);
        if (h->n_issues >= VERIFY_HOST_ISSUES_MAX)
                return 0;       /* counted, not listed */
        if (!h->issues) {
                h->issues = calloc(VERIFY_HOST_ISSUES_MAX, sizeof(VerifyIssue));
                if (!h->issues)
                        return -ENOMEM;
        }
        i = &h->issues[h->n_issues];
        *i = (VerifyIssue) { .kind = kind, .seq = seq };
        if (file) {
                i->file = strdup(file);
                if (!i->file)
                        return -ENOMEM;
        }
        va_start(ap, fmt);
        n = vasprintf(&i->message, fmt, ap);
        va_end(ap);
        if (n < 0) {
                free(i->file);
                i->message = NULL;
                return -ENOMEM;
        }
        h->n_issues++;
        return 0;
}

static bool streq_ptr(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static GroupHost *group_host(Verify *v, const char *id) {
        GroupHost *g;
        VerifyHost *h;

        for (size_t i = 0; i < v->n_ghosts; i++)
                if (strcmp(v->ghosts[i].host->id, id) == 0)
                        return &v->ghosts[i];
        g = reallocarray(v->ghosts, v->n_ghosts + 1, sizeof(GroupHost));
        if (!g)
                return NULL;
        v->ghosts = g;
        h = calloc(1, sizeof(VerifyHost));
        if (!h)
                return NULL;
        snprintf(h->id, sizeof(h->id), "%s", id);
        if (v->folder) {
                h->folder = strdup(v->folder);
                if (!h->folder) {
                        free(h);
                        return NULL;
                }
        }
        g = &v->ghosts[v->n_ghosts++];
        *g = (GroupHost) { .host = h };
        return g;
}

static int hex_to_bin(const char *hex, uint8_t out[32]) {
        if (strlen(hex) != VERIFY_HASH_HEX)
                return -EINVAL;
        for (size_t i = 0; i < 32; i++) {
                unsigned hi, lo;
                char c = hex[2 * i], d = hex[2 * i + 1];
                hi = c >= 'a' ? (unsigned) (c - 'a' + 10) : (unsigned) (c - '0');
                lo = d >= 'a' ? (unsigned) (d - 'a' + 10) : (unsigned) (d - '0');
                out[i] = (uint8_t) (hi << 4 | lo);
        }
        return 0;
}

/* "seg-000000000041.jsonl.zst": 41. Only the spool's names say a seq. */
static bool name_seq(const char *name, uint64_t *ret) {
        uint64_t s = 0;
        size_t i;

        if (strncmp(name, "seg-", 4) != 0)
                return false;
        for (i = 4; name[i] >= '0' && name[i] <= '9'; i++) {
                if (s > UINT64_MAX / 10 - 9)
                        return false;
                s = s * 10 + (uint64_t) (name[i] - '0');
        }
        if (i != 4 + 12 || name[i] != '.')
                return false;
        *ret = s;
        return true;
}

static int group_begin(Verify *v, const char *folder) {
        group_clear(v);
        v->in_group = true;
        if (folder) {
                v->folder = strdup(folder);
                if (!v->folder)
                        return -ENOMEM;
        }
        return 0;
}

static int decide_group(Verify *v);

int verify_add(Verify *v, const VerifyFile *f) {
        const VerifySegmentFacts *facts = f->facts;
        bool is_segment = f->kind == VERIFY_FILE_SEGMENT || f->kind == VERIFY_FILE_OPEN_SEGMENT;
        bool has_header = is_segment && facts && facts->has_header;
        GroupHost *g;
        VerifyHost *h;
        int r;

        if (!v->in_group || !streq_ptr(v->folder, f->folder)) {
                if (v->in_group) {
                        r = decide_group(v);
                        if (r < 0)
                                return r;
                }
                r = group_begin(v, f->folder);
                if (r < 0)
                        return r;
        }

        /* A host folder's files all belong to its host; elsewhere the header says. */
        g = group_host(v, f->folder ?: has_header ? facts->host : "");
        if (!g)
                return -ENOMEM;
        h = g->host;
        h->files++;
        h->bytes += f->size;

        switch (f->kind) {
        case VERIFY_FILE_PART:
                return issue(h, VERIFY_ISSUE_PART, f->path, 0,
                             "an upload in flight or broken off; the next upload replaces it");
        case VERIFY_FILE_SYMLINK:
                return issue(h, VERIFY_ISSUE_SYMLINK, f->path, 0, "a symbolic link, not followed");
        case VERIFY_FILE_NOT_REGULAR:
                return issue(h, VERIFY_ISSUE_NOT_REGULAR, f->path, 0, "not a regular file, not read");
        case VERIFY_FILE_DIRECTORY:
                return issue(h, VERIFY_ISSUE_NOT_REGULAR, f->path, 0, "a directory inside a host folder, not read");
        default:
                break;
        }

        if (f->folder && has_header && strcmp(facts->host, f->folder) != 0)
                return issue(h, VERIFY_ISSUE_FOREIGN, f->path, facts->seq,
                             "a segment of host %s (seq %" PRIu64 ") in the folder of host %s",
                             facts->host, facts->seq, f->folder);

        if (f->damage != VERIFY_DAMAGE_NONE || !has_header) {
                static const VerifyIssueKind kinds[] = {
                        [VERIFY_DAMAGE_NONE] = VERIFY_ISSUE_NOT_SEGMENT,
                        [VERIFY_DAMAGE_ALTERED] = VERIFY_ISSUE_ALTERED,
                        [VERIFY_DAMAGE_TRUNCATED] = VERIFY_ISSUE_TRUNCATED,
                        [VERIFY_DAMAGE_NOT_SEGMENT] = VERIFY_ISSUE_NOT_SEGMENT,
                        [VERIFY_DAMAGE_UNREADABLE] = VERIFY_ISSUE_UNREADABLE,
                };
                VerifyIssueKind k = f->damage < ELEMENTSOF(kinds) ? kinds[f->damage] : VERIFY_ISSUE_ALTERED;
                r = issue(h, k, f->path, has_header ? facts->seq : 0, "%s", f->error ?: "not a valid segment");
                if (r < 0 || !has_header)
                        return r;
        }

        /* A segment (valid or not, its seq is known): into the chain. */
        if (g->n_segs == g->n_alloc) {
                size_t a = MAX(g->n_alloc * 2, (size_t) 16);
                Seg *s = reallocarray(g->segs, a, sizeof(Seg));
                if (!s)
                        return -ENOMEM;
                g->segs = s;
                g->n_alloc = a;
        }
        if (v->n_files == v->files_alloc) {
                size_t a = MAX(v->files_alloc * 2, (size_t) 16);
                char **p = reallocarray(v->files, a, sizeof(char *));
                if (!p)
                        return -ENOMEM;
                v->files = p;
                v->files_alloc = a;
        }
        v->files[v->n_files] = strdup(f->path);
        if (!v->files[v->n_files])
                return -ENOMEM;

        Seg *s = &g->segs[g->n_segs];
        *s = (Seg) {
                .seq = facts->seq,
                .valid = f->damage == VERIFY_DAMAGE_NONE,
                .open = f->kind == VERIFY_FILE_OPEN_SEGMENT,
                .order = v->order++,
                .file = (uint32_t) v->n_files++,
                .records = facts->records,
                .first_serial = facts->first_serial,
                .last_serial = facts->last_serial,
                .has_time = facts->has_time,
                .first_sec = facts->first_sec,
                .last_sec = facts->last_sec,
                .gap_records = facts->gap_records,
                .gap_lost = facts->gap_lost,
                .gap_lost_unknown = facts->gap_lost_unknown,
                .torn = facts->torn,
        };
        s->has_name_seq = name_seq(f->name, &s->name_seq);
        memcpy(s->epoch, facts->key_epoch, sizeof(s->epoch));
        if (s->valid) {
                if (!facts->prev_hash[0] || !facts->key_epoch[0]) {
                        s->valid = false;
                        r = issue(h, VERIFY_ISSUE_ALTERED, f->path, facts->seq,
                                  "header without a valid %s", facts->prev_hash[0] ? "key_epoch" : "prev_hash");
                        if (r < 0)
                                return r;
                } else if (facts->has_footer && facts->footer_has_gap_counts &&
                           (facts->footer_gap_records != facts->gap_records ||
                            facts->footer_gap_lost != facts->gap_lost)) {
                        s->valid = false;
                        r = issue(h, VERIFY_ISSUE_ALTERED, f->path, facts->seq,
                                  "footer counts %" PRIu64 " gap records and %" PRIu64 " lost, the records hold %"
                                  PRIu64 " and %" PRIu64, facts->footer_gap_records, facts->footer_gap_lost,
                                  facts->gap_records, facts->gap_lost);
                        if (r < 0)
                                return r;
                }
        }
        if (s->valid) {
                (void) hex_to_bin(facts->hash, s->hash);
                (void) hex_to_bin(facts->prev_hash, s->prev);
                s->zero_prev = true;
                for (size_t i = 0; i < 32; i++)
                        if (s->prev[i])
                                s->zero_prev = false;
                for (size_t i = 0; i < facts->n_gaps; i++) {
                        if (g->n_gaps >= GROUP_GAPS_MAX) {
                                g->gaps_dropped++;
                                continue;
                        }
                        if (g->n_gaps == g->gaps_alloc) {
                                size_t a = MAX(g->gaps_alloc * 2, (size_t) 16);
                                GroupGap *p = reallocarray(g->gaps, a, sizeof(GroupGap));
                                if (!p)
                                        return -ENOMEM;
                                g->gaps = p;
                                g->gaps_alloc = a;
                        }
                        g->gaps[g->n_gaps++] = (GroupGap) { .order = s->order, .seq = s->seq, .gap = facts->gaps[i] };
                }
        }
        g->n_segs++;
        return 0;
}

static int cmp_seg(const void *a, const void *b) {
        const Seg *x = a, *y = b;
        if (x->seq != y->seq)
                return x->seq < y->seq ? -1 : 1;
        /* Valid ones first: they are what the chain keeps; of those, the
         * one under its own name (a copy under another name is the
         * duplicate). */
        if (x->valid != y->valid)
                return x->valid ? -1 : 1;
        bool xn = x->has_name_seq && x->name_seq == x->seq, yn = y->has_name_seq && y->name_seq == y->seq;
        if (xn != yn)
                return xn ? -1 : 1;
        return x->order < y->order ? -1 : x->order > y->order;
}

/* Did the host say that its spool dropped or quarantined segments (in a
 * gap record of a segment from seq on)? Returns the records it counted. */
static bool drop_explained(const GroupHost *g, uint64_t from_seq, const bool *kept, uint64_t *ret_lost) {
        bool found = false;
        uint64_t lost = 0;

        for (size_t i = 0; i < g->n_gaps; i++) {
                const GroupGap *gg = &g->gaps[i];
                if (!kept[gg->order] || gg->seq < from_seq)
                        continue;
                if (strstr(gg->gap.reason, "dropped") || strstr(gg->gap.reason, "quarantined")) {
                        found = true;
                        lost += gg->gap.lost;
                }
        }
        *ret_lost = lost;
        return found;
}

static int decide_host(Verify *v, GroupHost *g) {
        VerifyHost *h = g->host;
        _cleanup_free_ bool *kept = NULL;
        const Seg *prev = NULL;
        uint32_t max_order = 0;
        int r;

        if (g->n_segs > 1)
                qsort(g->segs, g->n_segs, sizeof(Seg), cmp_seg);
        for (size_t i = 0; i < g->n_segs; i++)
                max_order = MAX(max_order, g->segs[i].order + 1);
        kept = calloc(MAX(max_order, 1U), sizeof(bool));
        if (!kept)
                return -ENOMEM;
        /* What the chain keeps: of each seq, the first valid segment (valid
         * ones sort first). */
        for (size_t i = 0; i < g->n_segs; i++)
                if (g->segs[i].valid && (i == 0 || g->segs[i - 1].seq != g->segs[i].seq))
                        kept[g->segs[i].order] = true;

        for (size_t i = 0; i < g->n_segs; i++) {
                Seg *s = &g->segs[i];
                const char *file = v->files[s->file];

                if (prev && prev->seq == s->seq) {
                        /* The same seq again: the first valid one is in the chain. */
                        if (!s->valid || !prev->valid)
                                continue;       /* damaged: reported already */
                        if (memcmp(s->hash, prev->hash, 32) == 0)
                                r = issue(h, VERIFY_ISSUE_DUPLICATE, file, s->seq,
                                          "the same segment (seq %" PRIu64 ") as %s, under another name",
                                          s->seq, v->files[prev->file]);
                        else
                                r = issue(h, VERIFY_ISSUE_CONFLICT, file, s->seq,
                                          "another segment with seq %" PRIu64 " than %s: different content",
                                          s->seq, v->files[prev->file]);
                        if (r < 0)
                                return r;
                        continue;
                }

                if (s->has_name_seq && s->name_seq != s->seq) {
                        r = issue(h, VERIFY_ISSUE_REORDERED, file, s->seq,
                                  "named for seq %" PRIu64 " but holds seq %" PRIu64, s->name_seq, s->seq);
                        if (r < 0)
                                return r;
                } else if (prev && !(prev->has_name_seq && prev->name_seq != prev->seq) && s->order < prev->order) {
                        r = issue(h, VERIFY_ISSUE_REORDERED, file, s->seq,
                                  "holds seq %" PRIu64 " but comes before %s (seq %" PRIu64 ") in name order",
                                  s->seq, v->files[prev->file], prev->seq);
                        if (r < 0)
                                return r;
                }

                if (!prev) {
                        if (s->valid && !s->zero_prev) {
                                uint64_t lost;
                                if (drop_explained(g, s->seq, kept, &lost))
                                        r = issue(h, VERIFY_ISSUE_DROPPED, file, s->seq,
                                                  "the host's first segments are not here (the first here is seq %"
                                                  PRIu64 "); its gap records say its spool dropped or quarantined "
                                                  "segments (%" PRIu64 " records lost)", s->seq, lost);
                                else
                                        r = issue(h, VERIFY_ISSUE_HEAD_MISSING, file, s->seq,
                                                  "the host's first segments are not here: seq %" PRIu64
                                                  " links to an earlier segment (never uploaded here)", s->seq);
                                if (r < 0)
                                        return r;
                        }
                } else if (s->seq > prev->seq + 1 || (s->valid && prev->valid)) {
                        bool linked = s->valid && prev->valid && memcmp(s->prev, prev->hash, 32) == 0;

                        if (linked && s->seq > prev->seq + 1)
                                r = issue(h, VERIFY_ISSUE_SEQ_SKIPPED, file, s->seq,
                                          "seq %" PRIu64 " follows seq %" PRIu64 " directly (the chain links them)",
                                          s->seq, prev->seq);
                        else if (linked)
                                r = 0;
                        else if (s->seq == prev->seq + 1)
                                r = issue(h, VERIFY_ISSUE_BROKEN_LINK, file, s->seq,
                                          "its prev_hash is not the hash of seq %" PRIu64 " (%s): one of them was "
                                          "altered or replaced", prev->seq, v->files[prev->file]);
                        else {
                                uint64_t lost;
                                /* The gap record of a drop lands in a later segment. */
                                if (drop_explained(g, s->seq, kept, &lost))
                                        r = issue(h, VERIFY_ISSUE_DROPPED, NULL, prev->seq + 1,
                                                  "seq %" PRIu64 "-%" PRIu64 " not here; the host's gap records say its "
                                                  "spool dropped or quarantined segments (%" PRIu64 " records lost)",
                                                  prev->seq + 1, s->seq - 1, lost);
                                else
                                        r = issue(h, VERIFY_ISSUE_MISSING, NULL, prev->seq + 1,
                                                  "seq %" PRIu64 "-%" PRIu64 " (between %s and %s) not here, and no gap "
                                                  "record accounts for it", prev->seq + 1, s->seq - 1,
                                                  v->files[prev->file], file);
                        }
                        if (r < 0)
                                return r;
                }
                prev = s;
                if (!s->valid)
                        continue;

                /* Figures of the chain. */
                if (h->segments == 0) {
                        h->first_seq = s->seq;
                        h->first_serial = s->first_serial;
                        h->starts_at_beginning = s->zero_prev;
                }
                h->segments++;
                h->last_seq = s->seq;
                h->last_serial = s->last_serial;
                h->records += s->records;
                h->gap_records += s->gap_records;
                h->gap_lost += s->gap_lost;
                h->gap_lost_unknown = h->gap_lost_unknown || s->gap_lost_unknown;
                if (s->has_time) {
                        if (!h->has_time || s->first_sec < h->first_sec)
                                h->first_sec = s->first_sec;
                        if (!h->has_time || s->last_sec > h->last_sec)
                                h->last_sec = s->last_sec;
                        h->has_time = true;
                }
                for (size_t k = 0; k < 32; k++)
                        snprintf(h->last_hash + 2 * k, 3, "%02x", s->hash[k]);
                if (s->open)
                        h->has_open_segment = true;
                if (s->torn > 0) {
                        r = issue(h, VERIFY_ISSUE_TORN, file, s->seq,
                                  "the unfinished segment's last %" PRIu64 " line%s are torn and left out",
                                  s->torn, s->torn == 1 ? "" : "s");
                        if (r < 0)
                                return r;
                }
                if (h->n_epochs == 0 || strcmp(h->epochs[h->n_epochs - 1].epoch, s->epoch) != 0) {
                        if (h->n_epochs > 0) {
                                r = issue(h, VERIFY_ISSUE_KEY_EPOCH, file, s->seq,
                                          "the pseudonym key changed (epoch %s to %s): pseudonyms before and "
                                          "after are not comparable", h->epochs[h->n_epochs - 1].epoch, s->epoch);
                                if (r < 0)
                                        return r;
                        }
                        if (h->n_epochs < VERIFY_HOST_EPOCHS_MAX) {
                                VerifyEpoch *e = &h->epochs[h->n_epochs++];
                                memcpy(e->epoch, s->epoch, sizeof(e->epoch));
                                e->first_seq = s->seq;
                        }
                }
                if (h->n_epochs > 0 && strcmp(h->epochs[h->n_epochs - 1].epoch, s->epoch) == 0)
                        h->epochs[h->n_epochs - 1].last_seq = s->seq;
        }

        /* The gap records of the chain, in seq order. */
        for (size_t i = 0; i < g->n_gaps; i++) {
                const GroupGap *gg = &g->gaps[i];
                if (!kept[gg->order])
                        continue;
                if (h->n_gaps >= VERIFY_HOST_GAPS_MAX)
                        break;
                if (!h->gaps) {
                        h->gaps = calloc(VERIFY_HOST_GAPS_MAX, sizeof(VerifyHostGap));
                        if (!h->gaps)
                                return -ENOMEM;
                }
                h->gaps[h->n_gaps++] = (VerifyHostGap) { .seq = gg->seq, .gap = gg->gap };
        }
        return 0;
}

static int cmp_host_gap(const void *a, const void *b) {
        const VerifyHostGap *x = a, *y = b;
        if (x->seq != y->seq)
                return x->seq < y->seq ? -1 : 1;
        return x->gap.serial < y->gap.serial ? -1 : x->gap.serial > y->gap.serial;
}

static int decide_group(Verify *v) {
        VerifyHost **p;
        int r;

        p = reallocarray(v->hosts, v->n_hosts + v->n_ghosts, sizeof(VerifyHost *));
        if (!p)
                return -ENOMEM;
        v->hosts = p;
        for (size_t i = 0; i < v->n_ghosts; i++) {
                GroupHost *g = &v->ghosts[i];
                r = decide_host(v, g);
                if (r < 0)
                        return r;
                if (g->host->n_gaps > 1)
                        qsort(g->host->gaps, g->host->n_gaps, sizeof(VerifyHostGap), cmp_host_gap);
                v->hosts[v->n_hosts++] = TAKE_PTR(g->host);
        }
        group_clear(v);
        return 0;
}

int verify_finish(Verify *v) {
        if (v->finished)
                return 0;
        v->finished = true;
        return v->in_group ? decide_group(v) : 0;
}

size_t verify_hosts(Verify *v, const VerifyHost *const **ret) {
        *ret = (const VerifyHost *const *) v->hosts;
        return v->n_hosts;
}

const VerifyHost *verify_find_host(Verify *v, const char *id) {
        for (size_t i = 0; i < v->n_hosts; i++)
                if (strcmp(v->hosts[i]->id, id) == 0)
                        return v->hosts[i];
        return NULL;
}

VerifyStatus verify_status(Verify *v) {
        VerifyStatus s = VERIFY_COMPLETE;
        for (size_t i = 0; i < v->n_hosts; i++)
                s = MAX(s, v->hosts[i]->status);
        return s;
}

/* --- rendering --- */

static const char *format_time(char buf[static 32], uint64_t sec) {
        struct tm tm;
        time_t t = (time_t) MIN(sec, (uint64_t) 253402300799ULL);   /* 9999-12-31 */

        if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, 32, "%" PRIu64, sec);
        return buf;
}

/* Length of a valid UTF-8 sequence at p (at most n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *p, size_t n) {
        size_t k;
        uint32_t c;

        if (p[0] < 0x80)
                return 1;
        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                k = 2, c = p[0] & 0x1f;
        else if (p[0] >= 0xe0 && p[0] <= 0xef)
                k = 3, c = p[0] & 0x0f;
        else if (p[0] >= 0xf0 && p[0] <= 0xf4)
                k = 4, c = p[0] & 0x07;
        else
                return 0;
        if (k > n)
                return 0;
        for (size_t i = 1; i < k; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                c = c << 6 | (p[i] & 0x3f);
        }
        if ((k == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (k == 4 && (c < 0x10000 || c > 0x10ffff)))
                return 0;
        return k;
}

/* A JSON string; bytes that are not UTF-8 (file names can hold anything)
 * become U+FFFD, so the output is always valid JSON. */
static void json_string(FILE *o, const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        size_t n = strlen(s);

        fputc('"', o);
        while (n > 0) {
                size_t k = utf8_len(p, n);
                if (k == 0) {
                        fputs("\\ufffd", o);
                        k = 1;
                } else if (*p == '"' || *p == '\\')
                        fprintf(o, "\\%c", *p);
                else if (*p < 0x20)
                        fprintf(o, "\\u%04x", *p);
                else
                        fwrite(p, 1, k, o);
                p += k;
                n -= k;
        }
        fputc('"', o);
}

static void json_opt_string(FILE *o, const char *s) {
        if (s)
                json_string(o, s);
        else
                fputs("null", o);
}

static void json_time(FILE *o, bool has, uint64_t sec) {
        char b[32];
        if (has) {
                fputc('"', o);
                fputs(format_time(b, sec), o);
                fputc('"', o);
        } else
                fputs("null", o);
}

typedef struct Totals {
        uint64_t hosts, by_status[_VERIFY_STATUS_MAX];
        uint64_t segments, files, bytes, records, gap_records, gap_lost, issues;
} Totals;

static Totals totals(Verify *v) {
        Totals t = {};
        for (size_t i = 0; i < v->n_hosts; i++) {
                const VerifyHost *h = v->hosts[i];
                t.hosts++;
                t.by_status[h->status]++;
                t.segments += h->segments;
                t.files += h->files;
                t.bytes += h->bytes;
                t.records += h->records;
                t.gap_records += h->gap_records;
                t.gap_lost += h->gap_lost;
                t.issues += h->issues_total;
        }
        return t;
}

static const char *host_label(const VerifyHost *h) {
        return h->id[0] ? h->id : "(files that name no host)";
}

int verify_render_text(Verify *v, FILE *o) {
        Totals t = totals(v);
        char b1[32], b2[32];

        for (size_t i = 0; i < v->n_hosts; i++) {
                const VerifyHost *h = v->hosts[i];

                fprintf(o, "host %s: %s\n", host_label(h), verify_status_to_string(h->status));
                if (h->folder && strcmp(h->folder, h->id) != 0)
                        fprintf(o, "  folder %s\n", h->folder);
                if (h->segments > 0) {
                        fprintf(o, "  segments %" PRIu64 " (seq %" PRIu64 "-%" PRIu64 ")%s%s, records %" PRIu64
                                ", serials %" PRIu64 "-%" PRIu64 "\n",
                                h->segments, h->first_seq, h->last_seq,
                                h->starts_at_beginning ? ", from the host's first" : "",
                                h->has_open_segment ? ", the last unfinished" : "",
                                h->records, h->first_serial, h->last_serial);
                        if (h->has_time)
                                fprintf(o, "  time %s to %s\n", format_time(b1, h->first_sec), format_time(b2, h->last_sec));
                        fprintf(o, "  chain head %s\n", h->last_hash);
                } else
                        fprintf(o, "  no valid segment\n");
                for (size_t k = 0; k < h->n_epochs; k++)
                        fprintf(o, "  key epoch %s: seq %" PRIu64 "-%" PRIu64 "\n",
                                h->epochs[k].epoch, h->epochs[k].first_seq, h->epochs[k].last_seq);
                if (h->gap_records > 0) {
                        fprintf(o, "  gap records %" PRIu64 ", events lost %" PRIu64 "%s\n", h->gap_records, h->gap_lost,
                                h->gap_lost_unknown ? " and an unknown number" : "");
                        for (size_t k = 0; k < h->n_gaps; k++) {
                                const VerifyHostGap *g = &h->gaps[k];
                                if (g->gap.lost_known)
                                        fprintf(o, "    seq %" PRIu64 " after serial %" PRIu64 ": %" PRIu64 " lost: %s\n",
                                                g->seq, g->gap.serial, g->gap.lost, g->gap.reason);
                                else
                                        fprintf(o, "    seq %" PRIu64 " after serial %" PRIu64 ": unknown number lost: %s\n",
                                                g->seq, g->gap.serial, g->gap.reason);
                        }
                        if (h->n_gaps < h->gap_records)
                                fprintf(o, "    (%" PRIu64 " more)\n", h->gap_records - h->n_gaps);
                }
                for (size_t k = 0; k < h->n_issues; k++) {
                        const VerifyIssue *is = &h->issues[k];
                        fprintf(o, "  %s: ", verify_issue_kind_to_string(is->kind));
                        if (is->file)
                                fprintf(o, "%s: ", is->file);
                        fprintf(o, "%s\n", is->message);
                }
                if (h->n_issues < h->issues_total)
                        fprintf(o, "  (%" PRIu64 " more issues)\n", h->issues_total - h->n_issues);
        }
        fprintf(o, "%s: %" PRIu64 " host%s (%" PRIu64 " complete, %" PRIu64 " incomplete, %" PRIu64 " damaged), %"
                PRIu64 " segments, %" PRIu64 " records, %" PRIu64 " events lost\n",
                verify_status_to_string(verify_status(v)), t.hosts, t.hosts == 1 ? "" : "s",
                t.by_status[VERIFY_COMPLETE], t.by_status[VERIFY_INCOMPLETE], t.by_status[VERIFY_DAMAGED],
                t.segments, t.records, t.gap_lost);
        fflush(o);
        return ferror(o) ? -EIO : 0;
}

int verify_render_json(Verify *v, FILE *o) {
        Totals t = totals(v);

        fprintf(o, "{\"status\":\"%s\",\"summary\":{\"hosts\":%" PRIu64 ",\"complete\":%" PRIu64 ",\"incomplete\":%"
                PRIu64 ",\"damaged\":%" PRIu64 ",\"files\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"segments\":%" PRIu64
                ",\"records\":%" PRIu64 ",\"gap_records\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"issues\":%" PRIu64 "},\"hosts\":[",
                verify_status_to_string(verify_status(v)), t.hosts, t.by_status[VERIFY_COMPLETE],
                t.by_status[VERIFY_INCOMPLETE], t.by_status[VERIFY_DAMAGED], t.files, t.bytes, t.segments, t.records,
                t.gap_records, t.gap_lost, t.issues);
        for (size_t i = 0; i < v->n_hosts; i++) {
                const VerifyHost *h = v->hosts[i];

                fputs(i ? ",\n{\"host\":" : "\n{\"host\":", o);
                json_opt_string(o, h->id[0] ? h->id : NULL);
                fputs(",\"folder\":", o);
                json_opt_string(o, h->folder);
                fprintf(o, ",\"status\":\"%s\",\"files\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"segments\":%" PRIu64,
                        verify_status_to_string(h->status), h->files, h->bytes, h->segments);
                if (h->segments > 0)
                        fprintf(o, ",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64 ",\"first_serial\":%" PRIu64
                                ",\"last_serial\":%" PRIu64 ",\"chain_head\":\"%s\"", h->first_seq, h->last_seq,
                                h->first_serial, h->last_serial, h->last_hash);
                else
                        fputs(",\"first_seq\":null,\"last_seq\":null,\"first_serial\":null,\"last_serial\":null,"
                              "\"chain_head\":null", o);
                fprintf(o, ",\"starts_at_beginning\":%s,\"open_segment\":%s,\"records\":%" PRIu64 ",\"first_time\":",
                        h->starts_at_beginning ? "true" : "false", h->has_open_segment ? "true" : "false", h->records);
                json_time(o, h->has_time, h->first_sec);
                fputs(",\"last_time\":", o);
                json_time(o, h->has_time, h->last_sec);
                fputs(",\"key_epochs\":[", o);
                for (size_t k = 0; k < h->n_epochs; k++)
                        fprintf(o, "%s{\"epoch\":\"%s\",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64 "}", k ? "," : "",
                                h->epochs[k].epoch, h->epochs[k].first_seq, h->epochs[k].last_seq);
                fprintf(o, "],\"gap_records\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"lost_unknown\":%s,\"gaps\":[",
                        h->gap_records, h->gap_lost, h->gap_lost_unknown ? "true" : "false");
                for (size_t k = 0; k < h->n_gaps; k++) {
                        const VerifyHostGap *g = &h->gaps[k];
                        fprintf(o, "%s{\"seq\":%" PRIu64 ",\"serial\":%" PRIu64 ",\"lost\":", k ? "," : "", g->seq,
                                g->gap.serial);
                        if (g->gap.lost_known)
                                fprintf(o, "%" PRIu64, g->gap.lost);
                        else
                                fputs("null", o);
                        fputs(",\"reason\":", o);
                        json_string(o, g->gap.reason);
                        fputc('}', o);
                }
                fprintf(o, "],\"issues_total\":%" PRIu64 ",\"issues\":[", h->issues_total);
                for (size_t k = 0; k < h->n_issues; k++) {
                        const VerifyIssue *is = &h->issues[k];
                        fprintf(o, "%s{\"kind\":\"%s\",\"severity\":\"%s\",\"file\":", k ? "," : "",
                                verify_issue_kind_to_string(is->kind),
                                verify_status_to_string(verify_issue_kind_severity(is->kind)));
                        json_opt_string(o, is->file);
                        if (is->seq > 0)
                                fprintf(o, ",\"seq\":%" PRIu64, is->seq);
                        else
                                fputs(",\"seq\":null", o);
                        fputs(",\"message\":", o);
                        json_string(o, is->message);
                        fputc('}', o);
                }
                fputs("]}", o);
        }
        fputs("\n]}\n", o);
        fflush(o);
        return ferror(o) ? -EIO : 0;
}
