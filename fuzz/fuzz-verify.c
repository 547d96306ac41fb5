/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fsmonctl verify's decision on arbitrary input: the input is cut into
 * files at each "\n%%FILE" marker; the byte after a marker says which
 * folder the file is in (none or one of three) and what it is (a segment,
 * the unfinished one, or one of the non-segment kinds). Every segment file
 * goes through the report's segment reader (from a memfd) and its facts
 * into the verifier; then both renderers run. Checks: nothing crashes, the
 * JSON output is one line per host plus a summary, every status is one of
 * the three, and a host's listed issues never exceed what it counted. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "report/report-segment.h"
#include "report/report-verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MARKER "\n%%FILE"

static void render(Verify *v) {
        for (int json = 0; json < 2; json++) {
                char *buf = NULL;
                size_t len = 0;
                FILE *o = open_memstream(&buf, &len);
                if (!o)
                        abort();
                if ((json ? verify_render_json(v, o) : verify_render_text(v, o)) < 0)
                        abort();
                fclose(o);
                free(buf);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const folders[] = { NULL, "0123456789abcdef0123456789abcdef", "hostb", "hostb" };
        static const char *const names[] = { "seg-000000000001.jsonl", "seg-000000000002.jsonl.zst",
                                             "copy.jsonl", "seg-000000000007.open" };
        _cleanup_(verify_freep) Verify *v = NULL;
        _cleanup_(report_segment_reader_freep) ReportSegmentReader *reader = NULL;
        ReportScanBuffer scan = {};
        const uint8_t *p = data, *end = data + size;
        const VerifyHost *const *hosts;
        size_t n_hosts;
        unsigned flags = 0, i = 0;

        if (verify_new(&v) < 0 || report_segment_reader_new(&reader) < 0)
                abort();

        while (p <= end && i < 64) {
                const uint8_t *m = memmem(p, (size_t) (end - p), MARKER, strlen(MARKER));
                const uint8_t *stop = m ?: end;
                const char *folder = folders[flags & 3];
                VerifyFile f = { .path = names[(flags >> 2) & 3], .name = names[(flags >> 2) & 3], .folder = folder,
                                 .size = (uint64_t) (stop - p) };
                char error[200] = "";
                unsigned kind = (flags >> 4) & 7;

                if (kind >= 2 && kind <= 5) {
                        static const VerifyFileKind other[] = { VERIFY_FILE_PART, VERIFY_FILE_SYMLINK,
                                                                VERIFY_FILE_NOT_REGULAR, VERIFY_FILE_DIRECTORY };
                        f.kind = other[kind - 2];
                } else {
                        _cleanup_close_ int fd = memfd_create("fuzz-verify", MFD_CLOEXEC);
                        int r;

                        f.kind = kind == 1 ? VERIFY_FILE_OPEN_SEGMENT : VERIFY_FILE_SEGMENT;
                        if (fd < 0 || write(fd, p, (size_t) (stop - p)) != stop - p || lseek(fd, 0, SEEK_SET) != 0)
                                abort();
                        r = report_segment_read(reader, fd, f.kind == VERIFY_FILE_OPEN_SEGMENT, NULL, NULL, &scan);
                        if (r == -ENOMEM)
                                abort();
                        if (r < 0)
                                snprintf(error, sizeof(error), "%s", report_segment_error(reader));
                        f.damage = report_segment_damage(reader);
                        f.error = error[0] ? error : NULL;
                        f.facts = report_segment_facts(reader);
                        if ((r == 0) != (f.damage == VERIFY_DAMAGE_NONE))
                                abort();
                }
                if (verify_add(v, &f) < 0)
                        abort();
                if (!m)
                        break;
                p = m + strlen(MARKER);
                flags = p < end ? *p++ : 0;
                i++;
        }
        if (verify_finish(v) < 0)
                abort();

        n_hosts = verify_hosts(v, &hosts);
        for (size_t k = 0; k < n_hosts; k++) {
                const VerifyHost *h = hosts[k];
                uint64_t sum = 0;
                if (h->status >= _VERIFY_STATUS_MAX || h->n_issues > h->issues_total ||
                    h->n_issues > VERIFY_HOST_ISSUES_MAX || h->n_gaps > VERIFY_HOST_GAPS_MAX ||
                    (h->segments > 0 && h->first_seq > h->last_seq))
                        abort();
                for (unsigned j = 0; j < _VERIFY_ISSUE_MAX; j++)
                        sum += h->count[j];
                if (sum != h->issues_total)
                        abort();
        }
        render(v);
        report_scan_buffer_done(&scan);
        return 0;
}
