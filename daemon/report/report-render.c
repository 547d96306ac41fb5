/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report-render.h"
#include "report/report-verify.h"
#include "shared/string-table.h"

static const char *const report_format_table[_REPORT_FORMAT_MAX] = {
        [REPORT_FORMAT_TEXT] = "text",
        [REPORT_FORMAT_JSON] = "json",
        [REPORT_FORMAT_CSV]  = "csv",
        [REPORT_FORMAT_SVG]  = "svg",
        [REPORT_FORMAT_HTML] = "html",
};

DEFINE_STRING_TABLE_LOOKUP(report_format, ReportFormat);

static const char *const table_names[_REPORT_TABLE_MAX] = {
        [REPORT_TABLE_PROGRAMS] = "programs",
        [REPORT_TABLE_USERS]    = "users",
        [REPORT_TABLE_HOSTS]    = "hosts",
        [REPORT_TABLE_HOURS]    = "hours",
};

/* --- small formatting helpers --- */

static const char *format_bytes(char buf[static 32], uint64_t v) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        double d = (double) v;
        size_t u = 0;

        if (v < 1024) {
                snprintf(buf, 32, "%" PRIu64 " B", v);
                return buf;
        }
        while (d >= 1024 && u + 1 < ELEMENTSOF(units)) {
                d /= 1024;
                u++;
        }
        snprintf(buf, 32, "%.1f %s", d, units[u]);
        return buf;
}

static const char *format_hour(char buf[static 32], uint64_t sec, bool iso) {
        time_t t = (time_t) sec;
        struct tm tm;

        if (!gmtime_r(&t, &tm) ||
            strftime(buf, 32, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M", &tm) == 0)
                snprintf(buf, 32, "%" PRIu64, sec);
        return buf;
}

static double percent(uint64_t part, uint64_t whole) {
        return whole ? 100.0 * (double) part / (double) whole : 0.0;
}

/* Length of the valid UTF-8 character at p (1 to 4), or 0. Surrogates
 * (U+D800..U+DFFF, as "\\udcXX" escapes of undecodable bytes decode to) are
 * not valid UTF-8. */
static size_t utf8_char_len(const unsigned char *p) {
        if (p[0] < 0x80)
                return 1;
        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                return (p[1] & 0xc0) == 0x80 ? 2 : 0;
        if (p[0] >= 0xe0 && p[0] <= 0xef) {
                if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
                        return 0;
                if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0))
                        return 0;
                return 3;
        }
        if (p[0] >= 0xf0 && p[0] <= 0xf4) {
                if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
                        return 0;
                if ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
                        return 0;
                return 4;
        }
        return 0;
}

/* Output is valid UTF-8 whatever the input held: an encoded surrogate goes
 * back to its "\\uXXXX" escape, any other invalid byte becomes U+FFFD. */
static void json_string(FILE *o, const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        fputc('"', o);
        while (*p) {
                size_t n = utf8_char_len(p);
                if (n == 0) {
                        if (p[0] == 0xed && (p[1] & 0xe0) == 0xa0 && (p[2] & 0xc0) == 0x80) {
                                fprintf(o, "\\u%04x", (unsigned) (0xd000 | (p[1] & 0x3f) << 6 | (p[2] & 0x3f)));
                                p += 3;
                        } else {
                                fputs("\\ufffd", o);
                                p++;
                        }
                        continue;
                }
                if (*p == '"' || *p == '\\')
                        fprintf(o, "\\%c", *p);
                else if (*p < 0x20)
                        fprintf(o, "\\u%04x", *p);
                else
                        fwrite(p, 1, n, o);
                p += n;
        }
        fputc('"', o);
}

static void csv_field(FILE *o, const char *s) {
        if (!strpbrk(s, ",\"\r\n")) {
                fputs(s, o);
                return;
        }
        fputc('"', o);
        for (const char *p = s; *p; p++) {
                if (*p == '"')
                        fputc('"', o);
                fputc(*p, o);
        }
        fputc('"', o);
}

static void xml_text(FILE *o, const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                size_t n = utf8_char_len(p);
                if (n == 0) {
                        fputs("\xef\xbf\xbd", o);     /* U+FFFD */
                        p++;
                        continue;
                }
                switch (*p) {
                case '&': fputs("&amp;", o); break;
                case '<': fputs("&lt;", o); break;
                case '>': fputs("&gt;", o); break;
                case '"': fputs("&quot;", o); break;
                case '\'': fputs("&apos;", o); break;
                default:
                        /* Control characters other than newline and tab
                         * are not allowed in XML 1.0. */
                        if (*p < 0x20 && *p != '\n' && *p != '\t')
                                fputc('?', o);
                        else
                                fwrite(p, 1, n, o);
                }
                p += n;
        }
}

/* Shortens s for a label: keeps its start and end. */
static const char *ellipsize(char *buf, size_t size, const char *s, size_t max) {
        size_t len = strlen(s);

        if (len <= max || max < 8) {
                snprintf(buf, size, "%s", s);
                return buf;
        }
        size_t head = (max - 3) / 3, tail = max - 3 - head;
        snprintf(buf, size, "%.*s...%s", (int) head, s, s + len - tail);
        return buf;
}

static int cmp_ops(const void *a, const void *b) {
        return strcmp(((const ReportOpStat *) a)->name, ((const ReportOpStat *) b)->name);
}

typedef struct Data {
        const ReportSummary *s;
        ReportOpStat *ops;              /* sorted by name, owned */
        size_t n_ops;
        const ReportSkipped *skipped;
        size_t n_skipped;
        /* Copies: report_table() reuses its buffer. */
        const ReportKeyed **tables[_REPORT_TABLE_MAX];
        size_t n_tables[_REPORT_TABLE_MAX];
        const ReportFile **by_bytes, **by_opens;
        size_t n_by_bytes, n_by_opens;
        Verify *verify;                 /* completeness per host; NULL: not checked */
} Data;

/* The host's verdict by `fsmonctl verify`'s checks, NULL when not checked. */
static const VerifyHost *host_verdict(const Data *d, const char *host) {
        return d->verify ? verify_find_host(d->verify, host) : NULL;
}

/* A host found under several paths has a verdict for each: the worst counts. */
static const char *host_status(const Data *d, const char *host) {
        const VerifyHost *const *hosts;
        bool found = false;
        VerifyStatus worst = VERIFY_COMPLETE;
        size_t n;

        if (!d->verify)
                return "unchecked";
        n = verify_hosts(d->verify, &hosts);
        for (size_t i = 0; i < n; i++)
                if (strcmp(hosts[i]->id, host) == 0) {
                        found = true;
                        worst = MAX(worst, hosts[i]->status);
                }
        return found ? verify_status_to_string(worst) : "unknown";
}

typedef struct Completeness {
        uint64_t by_status[_VERIFY_STATUS_MAX];
        uint64_t segments, issues;
} Completeness;

static Completeness completeness(const Data *d) {
        const VerifyHost *const *hosts;
        Completeness c = {};
        size_t n;

        if (!d->verify)
                return c;
        n = verify_hosts(d->verify, &hosts);
        for (size_t i = 0; i < n; i++) {
                c.by_status[hosts[i]->status]++;
                c.segments += hosts[i]->segments;
                c.issues += hosts[i]->issues_total;
        }
        return c;
}

static void data_done(Data *d) {
        free(d->ops);
        for (size_t t = 0; t < _REPORT_TABLE_MAX; t++)
                free(d->tables[t]);
        free(d->by_bytes);
        free(d->by_opens);
}

static int data_collect(Report *r, size_t top, Data *d) {
        const ReportOpStat *ops;
        const ReportFile **f;
        int e;

        d->s = report_summary(r);
        d->verify = report_get_verify(r);
        d->n_ops = report_ops(r, &ops);
        d->ops = malloc(MAX(d->n_ops, (size_t) 1) * sizeof(ReportOpStat));
        if (!d->ops)
                return -ENOMEM;
        memcpy(d->ops, ops, d->n_ops * sizeof(ReportOpStat));
        qsort(d->ops, d->n_ops, sizeof(ReportOpStat), cmp_ops);
        d->n_skipped = report_skipped(r, &d->skipped);

        for (size_t t = 0; t < _REPORT_TABLE_MAX; t++) {
                const ReportKeyed **v;
                e = report_table(r, t, &v, &d->n_tables[t]);
                if (e < 0)
                        return e;
                d->tables[t] = malloc(MAX(d->n_tables[t], (size_t) 1) * sizeof(*v));
                if (!d->tables[t])
                        return -ENOMEM;
                memcpy(d->tables[t], v, d->n_tables[t] * sizeof(*v));
        }

        e = report_top_files(r, false, top, &f, &d->n_by_bytes);
        if (e < 0)
                return e;
        d->by_bytes = malloc(MAX(d->n_by_bytes, (size_t) 1) * sizeof(*f));
        if (!d->by_bytes)
                return -ENOMEM;
        memcpy(d->by_bytes, f, d->n_by_bytes * sizeof(*f));

        e = report_top_files(r, true, top, &f, &d->n_by_opens);
        if (e < 0)
                return e;
        d->by_opens = malloc(MAX(d->n_by_opens, (size_t) 1) * sizeof(*f));
        if (!d->by_opens)
                return -ENOMEM;
        memcpy(d->by_opens, f, d->n_by_opens * sizeof(*f));
        return 0;
}

/* --- text --- */

static void text_counters_header(FILE *o, const char *what, int width) {
        fprintf(o, "  %-*s %12s %12s %12s %12s %12s\n", width, what,
                "ACTIONS", "OPENS", "READS", "READ", "WRITTEN");
}

static void text_counters_row(FILE *o, const char *key, int width, const ReportCounters *c) {
        char b1[32], b2[32], k[64];
        fprintf(o, "  %-*s %12" PRIu64 " %12" PRIu64 " %12" PRIu64 " %12s %12s\n",
                width, ellipsize(k, sizeof(k), key, (size_t) width), c->actions, c->opens, c->reads,
                format_bytes(b1, c->bytes_read), format_bytes(b2, c->bytes_written));
}

static void text_pattern_row(FILE *o, const char *what, const ReportPattern *p) {
        uint64_t n = p->seq + p->rand + p->unknown;
        char b1[32], b2[32], b3[32];

        fprintf(o, "  %-8s %10" PRIu64 " %5.1f%% %10s   %10" PRIu64 " %5.1f%% %10s   %10" PRIu64 " %10s\n",
                what,
                p->seq, percent(p->seq, n), format_bytes(b1, p->seq_bytes),
                p->rand, percent(p->rand, n), format_bytes(b2, p->rand_bytes),
                p->unknown, format_bytes(b3, p->unknown_bytes));
}

static void text_files(FILE *o, const char *title, const ReportFile **v, size_t n) {
        char b1[32], b2[32], p[72], h[24];

        fprintf(o, "\n%s\n", title);
        if (n == 0) {
                fputs("  (none)\n", o);
                return;
        }
        fprintf(o, "  %3s %-20s %-60s %10s %10s %8s %8s\n", "#", "HOST", "FILE", "READ", "WRITTEN", "OPENS", "SEQ%");
        for (size_t i = 0; i < n; i++) {
                const ReportFile *f = v[i];
                uint64_t reads = f->read_pattern.seq + f->read_pattern.rand;
                fprintf(o, "  %3zu %-20s %-60s %10s %10s %8" PRIu64 " %7.1f%%\n", i + 1,
                        ellipsize(h, sizeof(h), f->host ?: "(unknown)", 20),
                        ellipsize(p, sizeof(p), f->path, 60),
                        format_bytes(b1, f->c.bytes_read), format_bytes(b2, f->c.bytes_written),
                        f->c.opens, percent(f->read_pattern.seq, reads));
        }
}

static void render_text(const Data *d, size_t top, FILE *o) {
        const ReportSummary *s = d->s;
        char b1[32], b2[32];

        fprintf(o, "fsmon report: %" PRIu64 " segment file%s, %" PRIu64 " records",
                s->inputs, s->inputs == 1 ? "" : "s", s->records);
        if (s->first_sec)
                fprintf(o, ", %s", format_hour(b1, s->first_sec, false));
        if (s->last_sec)
                fprintf(o, " to %s UTC", format_hour(b2, s->last_sec, false));
        fputc('\n', o);
        if (d->n_skipped > 0) {
                fprintf(o, "Skipped %zu damaged or foreign file%s:\n", d->n_skipped, d->n_skipped == 1 ? "" : "s");
                for (size_t i = 0; i < d->n_skipped; i++)
                        fprintf(o, "  %s: %s\n", d->skipped[i].name, d->skipped[i].reason);
        }

        fputs("\nTotals\n", o);
        fprintf(o, "  %-16s %20" PRIu64 "\n", "actions", s->c.actions);
        fprintf(o, "  %-16s %20s  (%" PRIu64 ")\n", "bytes read", format_bytes(b1, s->c.bytes_read), s->c.bytes_read);
        fprintf(o, "  %-16s %20s  (%" PRIu64 ")\n", "bytes written", format_bytes(b1, s->c.bytes_written), s->c.bytes_written);
        /* Mapped bytes are what could be accessed, not what was: apart. */
        fprintf(o, "  %-16s %20s  (%" PRIu64 ", in %" PRIu64 " map%s; accesses are not seen)\n", "bytes mapped",
                format_bytes(b1, s->c.bytes_mapped), s->c.bytes_mapped, s->c.maps, s->c.maps == 1 ? "" : "s");
        fprintf(o, "  %-16s %20" PRIu64 "\n", "files", s->files);
        fprintf(o, "  %-16s %20" PRIu64 "\n", "hosts", (uint64_t) d->n_tables[REPORT_TABLE_HOSTS]);
        if (s->gaps > 0)
                fprintf(o, "  %-16s %20" PRIu64 "  (in %" PRIu64 " gap record%s)\n", "events lost",
                        s->lost, s->gaps, s->gaps == 1 ? "" : "s");
        if (d->verify) {
                Completeness c = completeness(d);
                fprintf(o, "  %-16s %20s  (%" PRIu64 " complete, %" PRIu64 " incomplete, %" PRIu64
                        " damaged; fsmonctl verify says why)\n", "completeness",
                        verify_status_to_string(verify_status(d->verify)), c.by_status[VERIFY_COMPLETE],
                        c.by_status[VERIFY_INCOMPLETE], c.by_status[VERIFY_DAMAGED]);
        }

        fputs("\nActions per op\n", o);
        fprintf(o, "  %-10s %14s %14s %20s\n", "OP", "COUNT", "BYTES", "(EXACT)");
        for (size_t i = 0; i < d->n_ops; i++)
                fprintf(o, "  %-10s %14" PRIu64 " %14s %20" PRIu64 "\n", d->ops[i].name, d->ops[i].count,
                        format_bytes(b1, d->ops[i].bytes), d->ops[i].bytes);

        fputs("\nRenames and deletions\n", o);
        fprintf(o, "  %-10s %14" PRIu64 "\n", "rename", s->names.renames);
        fprintf(o, "  %-10s %14" PRIu64 "\n", "unlink", s->names.unlinks);
        fprintf(o, "  %-10s %14" PRIu64 "\n", "rmdir", s->names.rmdirs);
        fprintf(o, "  %-10s %14" PRIu64 "\n", "mkdir", s->names.mkdirs);
        fprintf(o, "  %-10s %14" PRIu64 "\n", "truncate", s->names.truncates);

        fputs("\nAccess patterns (a transfer is sequential when it starts where the last one on that file ended)\n", o);
        fprintf(o, "  %-8s %28s   %28s   %21s\n", "", "SEQUENTIAL", "RANDOM", "OFFSET UNKNOWN");
        text_pattern_row(o, "reads", &s->read_pattern);
        text_pattern_row(o, "writes", &s->write_pattern);
        fprintf(o, "  re-read: %s (%" PRIu64 " bytes, %.1f%% of bytes read)\n",
                format_bytes(b1, s->reread_bytes), s->reread_bytes, percent(s->reread_bytes, s->c.bytes_read));

        text_files(o, "Top files by bytes", d->by_bytes, d->n_by_bytes);
        text_files(o, "Top files by opens", d->by_opens, d->n_by_opens);

        static const char *const titles[_REPORT_TABLE_MAX] = {
                [REPORT_TABLE_PROGRAMS] = "Programs",
                [REPORT_TABLE_USERS]    = "Users (login uid)",
                [REPORT_TABLE_HOSTS]    = "Hosts",
                [REPORT_TABLE_HOURS]    = "Per hour (UTC)",
        };
        for (size_t t = 0; t < _REPORT_TABLE_MAX; t++) {
                size_t n = d->n_tables[t], shown = t == REPORT_TABLE_HOURS ? n : MIN(n, top);
                int width = t == REPORT_TABLE_HOSTS ? 34 : 18;

                fprintf(o, "\n%s\n", titles[t]);
                if (t == REPORT_TABLE_HOSTS) {
                        /* Per host: its totals, losses and completeness. */
                        fprintf(o, "  %-*s %12s %12s %12s %12s %12s %10s %10s  %s\n", width, "HOST",
                                "ACTIONS", "OPENS", "READS", "READ", "WRITTEN", "FILES", "LOST", "COMPLETENESS");
                        for (size_t i = 0; i < shown; i++) {
                                const ReportKeyed *k = d->tables[t][i];
                                char h[64];
                                fprintf(o, "  %-*s %12" PRIu64 " %12" PRIu64 " %12" PRIu64 " %12s %12s %10" PRIu64
                                        " %10" PRIu64 "  %s\n", width, ellipsize(h, sizeof(h), k->key, (size_t) width),
                                        k->c.actions, k->c.opens, k->c.reads, format_bytes(b1, k->c.bytes_read),
                                        format_bytes(b2, k->c.bytes_written), k->files, k->lost,
                                        host_status(d, k->key));
                        }
                        fprintf(o, "  %-*s %12" PRIu64 " %12" PRIu64 " %12" PRIu64 " %12s %12s %10" PRIu64
                                " %10" PRIu64 "  %s\n", width, "(fleet)", s->c.actions, s->c.opens, s->c.reads,
                                format_bytes(b1, s->c.bytes_read), format_bytes(b2, s->c.bytes_written), s->files,
                                s->lost, d->verify ? verify_status_to_string(verify_status(d->verify)) : "unchecked");
                        if (shown < n)
                                fprintf(o, "  (%zu more; --top N shows more, --format json shows all)\n", n - shown);
                        continue;
                }
                text_counters_header(o, t == REPORT_TABLE_HOURS ? "HOUR" : t == REPORT_TABLE_USERS ? "USER" :
                                     "PROGRAM", width);
                for (size_t i = 0; i < shown; i++) {
                        const ReportKeyed *k = d->tables[t][i];
                        if (t == REPORT_TABLE_HOURS)
                                text_counters_row(o, format_hour(b1, strtoull(k->key, NULL, 10), false), width, &k->c);
                        else
                                text_counters_row(o, k->key, width, &k->c);
                }
                if (shown < n)
                        fprintf(o, "  (%zu more; --top N shows more, --format json shows all)\n", n - shown);
        }
}

/* --- json --- */

static void json_counters(FILE *o, const ReportCounters *c) {
        fprintf(o, "\"actions\":%" PRIu64 ",\"opens\":%" PRIu64 ",\"reads\":%" PRIu64 ",\"writes\":%" PRIu64
                ",\"bytes_read\":%" PRIu64 ",\"bytes_written\":%" PRIu64 ",\"maps\":%" PRIu64
                ",\"bytes_mapped\":%" PRIu64,
                c->actions, c->opens, c->reads, c->writes, c->bytes_read, c->bytes_written, c->maps,
                c->bytes_mapped);
}

static void json_pattern(FILE *o, const ReportPattern *p) {
        fprintf(o, "{\"sequential\":{\"count\":%" PRIu64 ",\"bytes\":%" PRIu64 "},"
                "\"random\":{\"count\":%" PRIu64 ",\"bytes\":%" PRIu64 "},"
                "\"unknown\":{\"count\":%" PRIu64 ",\"bytes\":%" PRIu64 "}}",
                p->seq, p->seq_bytes, p->rand, p->rand_bytes, p->unknown, p->unknown_bytes);
}

static void json_files(FILE *o, const ReportFile **v, size_t n) {
        fputc('[', o);
        for (size_t i = 0; i < n; i++) {
                const ReportFile *f = v[i];
                fputs(i ? ",\n  {" : "\n  {", o);
                fputs("\"host\":", o);
                if (f->host)
                        json_string(o, f->host);
                else
                        fputs("null", o);
                fputs(",\"path\":", o);
                json_string(o, f->path);
                fputc(',', o);
                json_counters(o, &f->c);
                fputs(",\"read_pattern\":", o);
                json_pattern(o, &f->read_pattern);
                fputs(",\"write_pattern\":", o);
                json_pattern(o, &f->write_pattern);
                fprintf(o, ",\"reread_bytes\":%" PRIu64 "}", f->reread_bytes);
        }
        fputs(n ? "\n ]" : "]", o);
}

static void render_json(const Data *d, FILE *o) {
        const ReportSummary *s = d->s;
        char b[32];

        fprintf(o, "{\n \"inputs\":{\"files\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"skipped\":[",
                s->inputs, s->input_bytes);
        for (size_t i = 0; i < d->n_skipped; i++) {
                fputs(i ? ",{\"file\":" : "{\"file\":", o);
                json_string(o, d->skipped[i].name);
                fputs(",\"reason\":", o);
                json_string(o, d->skipped[i].reason);
                fputc('}', o);
        }
        fprintf(o, "]},\n \"records\":%" PRIu64 ",\n \"metadata_lines\":%" PRIu64 ",\n",
                s->records, s->metadata_lines);
        if (s->first_sec)
                fprintf(o, " \"period\":{\"first\":%" PRIu64 ",\"last\":%" PRIu64 "},\n", s->first_sec, s->last_sec);
        else
                fputs(" \"period\":null,\n", o);
        fputs(" \"totals\":{", o);
        json_counters(o, &s->c);
        fprintf(o, ",\"files\":%" PRIu64 ",\"hosts\":%zu,\"gaps\":%" PRIu64 ",\"lost_events\":%" PRIu64 "},\n",
                s->files, d->n_tables[REPORT_TABLE_HOSTS], s->gaps, s->lost);
        fprintf(o, " \"names\":{\"rename\":%" PRIu64 ",\"unlink\":%" PRIu64 ",\"rmdir\":%" PRIu64
                ",\"mkdir\":%" PRIu64 ",\"truncate\":%" PRIu64 "},\n",
                s->names.renames, s->names.unlinks, s->names.rmdirs, s->names.mkdirs, s->names.truncates);
        if (d->verify) {
                Completeness c = completeness(d);
                fprintf(o, " \"completeness\":{\"status\":\"%s\",\"complete\":%" PRIu64 ",\"incomplete\":%" PRIu64
                        ",\"damaged\":%" PRIu64 ",\"segments\":%" PRIu64 ",\"issues\":%" PRIu64 "},\n",
                        verify_status_to_string(verify_status(d->verify)), c.by_status[VERIFY_COMPLETE],
                        c.by_status[VERIFY_INCOMPLETE], c.by_status[VERIFY_DAMAGED], c.segments, c.issues);
        } else
                fputs(" \"completeness\":null,\n", o);

        fputs(" \"ops\":{", o);
        for (size_t i = 0; i < d->n_ops; i++) {
                fputs(i ? ",\n  " : "\n  ", o);
                json_string(o, d->ops[i].name);
                fprintf(o, ":{\"count\":%" PRIu64 ",\"bytes\":%" PRIu64 "}", d->ops[i].count, d->ops[i].bytes);
        }
        fputs(d->n_ops ? "\n },\n" : "},\n", o);

        fputs(" \"patterns\":{\"read\":", o);
        json_pattern(o, &s->read_pattern);
        fputs(",\"write\":", o);
        json_pattern(o, &s->write_pattern);
        fprintf(o, ",\"reread_bytes\":%" PRIu64 "},\n", s->reread_bytes);

        fputs(" \"top_files_by_bytes\":", o);
        json_files(o, d->by_bytes, d->n_by_bytes);
        fputs(",\n \"top_files_by_opens\":", o);
        json_files(o, d->by_opens, d->n_by_opens);

        for (size_t t = 0; t < _REPORT_TABLE_MAX; t++) {
                fprintf(o, ",\n \"%s\":[", table_names[t]);
                for (size_t i = 0; i < d->n_tables[t]; i++) {
                        const ReportKeyed *k = d->tables[t][i];
                        fputs(i ? ",\n  {" : "\n  {", o);
                        switch (t) {
                        case REPORT_TABLE_PROGRAMS:
                                fputs("\"program\":", o);
                                json_string(o, k->key);
                                break;
                        case REPORT_TABLE_USERS:
                                fputs("\"user\":", o);
                                json_string(o, k->key);
                                break;
                        case REPORT_TABLE_HOSTS:
                                fputs("\"host\":", o);
                                json_string(o, k->key);
                                fprintf(o, ",\"files\":%" PRIu64 ",\"lost_events\":%" PRIu64, k->files, k->lost);
                                {
                                        const VerifyHost *h = host_verdict(d, k->key);
                                        fprintf(o, ",\"completeness\":\"%s\",\"segments\":", host_status(d, k->key));
                                        if (h)
                                                fprintf(o, "%" PRIu64 ",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64
                                                        ",\"issues\":%" PRIu64, h->segments, h->first_seq,
                                                        h->last_seq, h->issues_total);
                                        else
                                                fputs("null,\"first_seq\":null,\"last_seq\":null,\"issues\":null", o);
                                }
                                break;
                        case REPORT_TABLE_HOURS: {
                                uint64_t start = strtoull(k->key, NULL, 10);
                                fprintf(o, "\"start\":%" PRIu64 ",\"time\":\"%s\",\"lost_events\":%" PRIu64,
                                        start, format_hour(b, start, true), k->lost);
                                break;
                        }
                        default:
                                break;
                        }
                        fputc(',', o);
                        json_counters(o, &k->c);
                        fputc('}', o);
                }
                fputs(d->n_tables[t] ? "\n ]" : "]", o);
        }
        fputs("\n}\n", o);
}

/* --- csv: one tidy table, section,key,metric,value --- */

static void csv_row(FILE *o, const char *section, const char *key, const char *metric, uint64_t v) {
        fputs(section, o);
        fputc(',', o);
        csv_field(o, key);
        fprintf(o, ",%s,%" PRIu64 "\n", metric, v);
}

static void csv_counters(FILE *o, const char *section, const char *key, const ReportCounters *c) {
        csv_row(o, section, key, "actions", c->actions);
        csv_row(o, section, key, "opens", c->opens);
        csv_row(o, section, key, "reads", c->reads);
        csv_row(o, section, key, "writes", c->writes);
        csv_row(o, section, key, "bytes_read", c->bytes_read);
        csv_row(o, section, key, "bytes_written", c->bytes_written);
        csv_row(o, section, key, "maps", c->maps);
        csv_row(o, section, key, "bytes_mapped", c->bytes_mapped);
}

static void csv_pattern(FILE *o, const char *key, const ReportPattern *p) {
        csv_row(o, "pattern", key, "sequential", p->seq);
        csv_row(o, "pattern", key, "sequential_bytes", p->seq_bytes);
        csv_row(o, "pattern", key, "random", p->rand);
        csv_row(o, "pattern", key, "random_bytes", p->rand_bytes);
        csv_row(o, "pattern", key, "unknown", p->unknown);
        csv_row(o, "pattern", key, "unknown_bytes", p->unknown_bytes);
}

static void csv_files(FILE *o, const char *section, const ReportFile **v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const ReportFile *f = v[i];
                _cleanup_free_ char *key = NULL;
                /* host:path identifies a file across a fleet. */
                if (asprintf(&key, "%s:%s", f->host ?: "", f->path) < 0)
                        continue;
                csv_row(o, section, key, "rank", i + 1);
                csv_counters(o, section, key, &f->c);
                csv_row(o, section, key, "reread_bytes", f->reread_bytes);
        }
}

static void render_csv(const Data *d, FILE *o) {
        const ReportSummary *s = d->s;

        fputs("section,key,metric,value\n", o);
        csv_row(o, "inputs", "", "files", s->inputs);
        csv_row(o, "inputs", "", "skipped", s->inputs_skipped);
        csv_row(o, "inputs", "", "bytes", s->input_bytes);
        csv_row(o, "inputs", "", "records", s->records);
        csv_counters(o, "totals", "", &s->c);
        csv_row(o, "totals", "", "files", s->files);
        csv_row(o, "totals", "", "lost_events", s->lost);
        csv_row(o, "names", "rename", "count", s->names.renames);
        csv_row(o, "names", "unlink", "count", s->names.unlinks);
        csv_row(o, "names", "rmdir", "count", s->names.rmdirs);
        csv_row(o, "names", "mkdir", "count", s->names.mkdirs);
        csv_row(o, "names", "truncate", "count", s->names.truncates);
        for (size_t i = 0; i < d->n_ops; i++) {
                csv_row(o, "op", d->ops[i].name, "count", d->ops[i].count);
                csv_row(o, "op", d->ops[i].name, "bytes", d->ops[i].bytes);
        }
        csv_pattern(o, "read", &s->read_pattern);
        csv_pattern(o, "write", &s->write_pattern);
        csv_row(o, "pattern", "read", "reread_bytes", s->reread_bytes);
        csv_files(o, "top_file_by_bytes", d->by_bytes, d->n_by_bytes);
        csv_files(o, "top_file_by_opens", d->by_opens, d->n_by_opens);
        for (size_t t = 0; t < _REPORT_TABLE_MAX; t++)
                for (size_t i = 0; i < d->n_tables[t]; i++) {
                        const ReportKeyed *k = d->tables[t][i];
                        csv_counters(o, table_names[t], k->key, &k->c);
                        if (t == REPORT_TABLE_HOSTS) {
                                const VerifyHost *h = host_verdict(d, k->key);
                                csv_row(o, table_names[t], k->key, "files", k->files);
                                csv_row(o, table_names[t], k->key, "lost_events", k->lost);
                                /* 0 complete, 1 incomplete, 2 damaged (as verify's exit 0, 3, 4) */
                                if (h) {
                                        csv_row(o, table_names[t], k->key, "completeness", (uint64_t) h->status);
                                        csv_row(o, table_names[t], k->key, "segments", h->segments);
                                        csv_row(o, table_names[t], k->key, "issues", h->issues_total);
                                }
                        }
                }
}

/* --- svg --- */

#define SVG_W 960
#define COLOR_READ "#3b7dd8"
#define COLOR_WRITE "#e8833a"
#define COLOR_OTHER "#8a8f98"

static void svg_text(FILE *o, double x, double y, const char *anchor, int size, const char *weight, const char *s) {
        fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\" font-weight=\"%s\">",
                x, y, anchor, size, weight);
        xml_text(o, s);
        fputs("</text>\n", o);
}

static void svg_legend(FILE *o, double x, double y) {
        fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"" COLOR_READ "\"/>\n", x, y - 10);
        svg_text(o, x + 16, y, "start", 12, "normal", "read");
        fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"" COLOR_WRITE "\"/>\n", x + 60, y - 10);
        svg_text(o, x + 76, y, "start", 12, "normal", "written");
}

/* Bytes read and written over time, stacked; actions when no bytes moved at
 * all. One bar per hour, or per several hours (at most BARS_MAX bars) for
 * long periods. Returns the height used. */
#define BARS_MAX 400

static double svg_activity(FILE *o, const Data *d, double y0) {
        const ReportKeyed **v = d->tables[REPORT_TABLE_HOURS];
        size_t n = d->n_tables[REPORT_TABLE_HOURS];
        double left = 80, right = SVG_W - 20, top = y0 + 40, h = 200, bottom = top + h;
        uint64_t max = 1, first, last, span, per, nb;
        bool by_bytes = d->s->c.bytes_read + d->s->c.bytes_written > 0;
        _cleanup_free_ uint64_t *bars = NULL;
        char b[32], title[96];

        if (n == 0) {
                svg_text(o, 20, y0 + 22, "start", 16, "bold", "Activity over time");
                svg_text(o, SVG_W / 2.0, top + h / 2, "middle", 14, "normal", "no timed records");
                return 40 + h + 40;
        }

        first = strtoull(v[0]->key, NULL, 10);
        last = strtoull(v[n - 1]->key, NULL, 10);
        span = (last - first) / 3600 + 1;       /* hours on the axis, gaps included */
        per = span > BARS_MAX ? (span + BARS_MAX - 1) / BARS_MAX : 1;
        nb = (span + per - 1) / per;

        /* Per bar: read, written (or actions). */
        bars = calloc(nb * 2, sizeof(uint64_t));
        if (!bars)
                return 0;
        for (size_t i = 0; i < n; i++) {
                uint64_t k = (strtoull(v[i]->key, NULL, 10) - first) / 3600 / per;
                bars[2 * k] += by_bytes ? v[i]->c.bytes_read : v[i]->c.actions;
                bars[2 * k + 1] += by_bytes ? v[i]->c.bytes_written : 0;
        }
        for (uint64_t k = 0; k < nb; k++)
                max = MAX(max, bars[2 * k] + bars[2 * k + 1]);

        if (per == 1)
                snprintf(title, sizeof(title), "Activity over time: %s per hour (UTC)", by_bytes ? "bytes" : "actions");
        else
                snprintf(title, sizeof(title), "Activity over time: %s per %" PRIu64 " hours (UTC)",
                         by_bytes ? "bytes" : "actions", per);
        svg_text(o, 20, y0 + 22, "start", 16, "bold", title);
        if (by_bytes)
                svg_legend(o, right - 140, y0 + 22);

        fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", left, bottom, right, bottom);
        fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", left, top, left, bottom);
        for (int g = 0; g <= 4; g++) {
                double gy = bottom - h * g / 4.0;
                uint64_t val = max / 4 * (uint64_t) g;
                if (g > 0)
                        fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, gy, right, gy);
                if (by_bytes)
                        format_bytes(b, val);
                else
                        snprintf(b, sizeof(b), "%" PRIu64, val);
                svg_text(o, left - 6, gy + 4, "end", 11, "normal", b);
        }

        double slot = (right - left) / (double) nb, bw = MAX(slot * 0.8, 1.0);
        for (uint64_t k = 0; k < nb; k++) {
                double x = left + slot * (double) k + (slot - bw) / 2;
                double h0 = h * (double) bars[2 * k] / (double) max;
                double h1 = h * (double) bars[2 * k + 1] / (double) max;
                if (bars[2 * k] + bars[2 * k + 1] == 0)
                        continue;
                fprintf(o, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n",
                        x, bottom - h0, bw, h0, by_bytes ? COLOR_READ : COLOR_OTHER);
                if (h1 > 0)
                        fprintf(o, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"" COLOR_WRITE "\"/>\n",
                                x, bottom - h0 - h1, bw, h1);
        }
        /* About six labels on the time axis. */
        uint64_t every = nb / 6 + 1;
        for (uint64_t k = 0; k < nb; k += every) {
                double x = left + slot * ((double) k + 0.5);
                svg_text(o, x, bottom + 16, "middle", 11, "normal", format_hour(b, first + k * per * 3600, false));
        }
        return 40 + h + 40;
}

static double svg_top_files(FILE *o, const Data *d, double y0) {
        size_t n = d->n_by_bytes;
        double left = 330, right = SVG_W - 110, row = 22, top = y0 + 40;
        uint64_t max = 1;
        char b[32], p[64];

        svg_text(o, 20, y0 + 22, "start", 16, "bold", "Top files by bytes (pseudonyms)");
        svg_legend(o, SVG_W - 160, y0 + 22);
        if (n == 0) {
                svg_text(o, SVG_W / 2.0, top + 20, "middle", 14, "normal", "no file transferred bytes");
                return 40 + 40;
        }
        for (size_t i = 0; i < n; i++)
                max = MAX(max, d->by_bytes[i]->c.bytes_read + d->by_bytes[i]->c.bytes_written);
        for (size_t i = 0; i < n; i++) {
                const ReportFile *f = d->by_bytes[i];
                double y = top + row * (double) i;
                double wr = (right - left) * (double) f->c.bytes_read / (double) max;
                double ww = (right - left) * (double) f->c.bytes_written / (double) max;
                svg_text(o, left - 8, y + 15, "end", 11, "normal", ellipsize(p, sizeof(p), f->path, 42));
                fprintf(o, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"16\" fill=\"" COLOR_READ "\"/>\n", left, y + 3, wr);
                fprintf(o, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"16\" fill=\"" COLOR_WRITE "\"/>\n", left + wr, y + 3, ww);
                svg_text(o, left + wr + ww + 6, y + 15, "start", 11, "normal",
                         format_bytes(b, f->c.bytes_read + f->c.bytes_written));
        }
        return 40 + row * (double) n + 20;
}

/* A pie of bytes read vs written, and bars of actions per op. */
static double svg_mix(FILE *o, const Data *d, double y0) {
        const ReportSummary *s = d->s;
        uint64_t total = s->c.bytes_read + s->c.bytes_written, max = 1;
        double cx = 150, cy = y0 + 150, rad = 100;
        char b[64], b2[32];

        svg_text(o, 20, y0 + 22, "start", 16, "bold", "Read/write mix");
        if (total == 0)
                fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"#eee\"/>\n", cx, cy, rad);
        else if (s->c.bytes_read == 0 || s->c.bytes_written == 0)
                fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\"/>\n", cx, cy, rad,
                        s->c.bytes_read ? COLOR_READ : COLOR_WRITE);
        else {
                double frac = (double) s->c.bytes_read / (double) total, a = 2 * 3.141592653589793 * frac;
                double x1 = cx + rad * sin(a), y1 = cy - rad * cos(a);
                int large = frac > 0.5;
                fprintf(o, "<path d=\"M%.2f,%.2f L%.2f,%.2f A%.1f,%.1f 0 %d,1 %.2f,%.2f Z\" fill=\"" COLOR_READ "\"/>\n",
                        cx, cy, cx, cy - rad, rad, rad, large, x1, y1);
                fprintf(o, "<path d=\"M%.2f,%.2f L%.2f,%.2f A%.1f,%.1f 0 %d,1 %.2f,%.2f Z\" fill=\"" COLOR_WRITE "\"/>\n",
                        cx, cy, x1, y1, rad, rad, !large, cx, cy - rad);
        }
        snprintf(b, sizeof(b), "read %s (%.1f%%)", format_bytes(b2, s->c.bytes_read), percent(s->c.bytes_read, total));
        svg_text(o, cx, cy + rad + 22, "middle", 12, "normal", b);
        snprintf(b, sizeof(b), "written %s (%.1f%%)", format_bytes(b2, s->c.bytes_written), percent(s->c.bytes_written, total));
        svg_text(o, cx, cy + rad + 40, "middle", 12, "normal", b);

        double left = 420, right = SVG_W - 90, top = y0 + 40, row = 20;
        svg_text(o, left, y0 + 22 + 18, "start", 12, "normal", "actions per op");
        for (size_t i = 0; i < d->n_ops; i++)
                max = MAX(max, d->ops[i].count);
        for (size_t i = 0; i < d->n_ops && i < 12; i++) {
                ReportOpClass c = report_op_class(d->ops[i].name, strlen(d->ops[i].name));
                double y = top + 10 + row * (double) i, w = (right - left - 70) * (double) d->ops[i].count / (double) max;
                svg_text(o, left + 60, y + 13, "end", 11, "normal", d->ops[i].name);
                fprintf(o, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"14\" fill=\"%s\"/>\n", left + 66, y + 2,
                        MAX(w, 1.0), c == REPORT_OP_READ ? COLOR_READ : c == REPORT_OP_WRITE ? COLOR_WRITE : COLOR_OTHER);
                snprintf(b, sizeof(b), "%" PRIu64, d->ops[i].count);
                svg_text(o, left + 72 + w, y + 13, "start", 11, "normal", b);
        }
        return MAX(2 * rad + 100, 40 + row * (double) MIN(d->n_ops, (size_t) 12) + 30);
}

static void render_svg(const Data *d, FILE *o, bool inline_svg) {
        /* Heights are known only after drawing: draw into a buffer first. */
        _cleanup_free_ char *body = NULL;
        size_t body_len = 0;
        double y = 10;
        FILE *m = open_memstream(&body, &body_len);
        char b1[32], b2[32], line[256];

        if (!m) {
                fputs("<!-- out of memory -->\n", o);
                return;
        }
        snprintf(line, sizeof(line), "fsmon report: %" PRIu64 " records from %zu host%s, %s read, %s written",
                 d->s->records, d->n_tables[REPORT_TABLE_HOSTS], d->n_tables[REPORT_TABLE_HOSTS] == 1 ? "" : "s",
                 format_bytes(b1, d->s->c.bytes_read), format_bytes(b2, d->s->c.bytes_written));
        svg_text(m, 20, y + 24, "start", 20, "bold", line);
        y += 44;
        fprintf(m, "<g id=\"activity\">\n");
        y += svg_activity(m, d, y);
        fprintf(m, "</g>\n<g id=\"top-files\">\n");
        y += svg_top_files(m, d, y);
        fprintf(m, "</g>\n<g id=\"mix\">\n");
        y += svg_mix(m, d, y);
        fprintf(m, "</g>\n");
        fclose(m);

        if (!inline_svg)
                fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", o);
        fprintf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" "
                "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n", SVG_W, y + 10, SVG_W, y + 10);
        fprintf(o, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
        fwrite(body, 1, body_len, o);
        fputs("</svg>\n", o);
}

static void render_html(const Data *d, size_t top, FILE *o) {
        _cleanup_free_ char *text = NULL;
        size_t text_len = 0;
        FILE *m;

        fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<title>fsmon report</title>\n<style>body{font-family:sans-serif;margin:1em}"
              "pre{font-size:12px;background:#f6f6f6;padding:1em}</style></head>\n<body>\n", o);
        render_svg(d, o, true);
        m = open_memstream(&text, &text_len);
        if (m) {
                render_text(d, top, m);
                fclose(m);
                fputs("<pre>", o);
                xml_text(o, text);
                fputs("</pre>\n", o);
        }
        fputs("</body></html>\n", o);
}

int report_render(Report *r, ReportFormat format, size_t top, FILE *out) {
        _cleanup_(data_done) Data d = {};
        int e;

        e = data_collect(r, top, &d);
        if (e < 0)
                return e;

        switch (format) {
        case REPORT_FORMAT_TEXT:
                render_text(&d, top, out);
                break;
        case REPORT_FORMAT_JSON:
                render_json(&d, out);
                break;
        case REPORT_FORMAT_CSV:
                render_csv(&d, out);
                break;
        case REPORT_FORMAT_SVG:
                render_svg(&d, out, false);
                break;
        case REPORT_FORMAT_HTML:
                render_html(&d, top, out);
                break;
        default:
                return -EINVAL;
        }
        if (fflush(out) != 0 || ferror(out))
                return -EIO;
        return 0;
}
