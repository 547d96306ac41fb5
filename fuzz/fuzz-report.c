/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fsmonctl report's input side: the line scanner and the one-pass segment
 * reader, on arbitrary bytes; every accepted record goes through the
 * statistics and all renderers. Differential check: whatever the spool's own
 * segment reader (segment.c, the reference) accepts as a closed segment, the
 * report's reader accepts too, with the same number of records. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "report/report-render.h"
#include "report/report-segment.h"
#include "report/report.h"
#include "store/segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_record(const char *line, size_t len, uint64_t serial, void *userdata) {
        (*(uint64_t *) userdata)++;
        return 0;
}

static void render_all(Report *r) {
        for (ReportFormat f = 0; f < _REPORT_FORMAT_MAX; f++) {
                char *buf = NULL;
                size_t len = 0;
                FILE *o = open_memstream(&buf, &len);
                if (!o)
                        abort();
                if (report_render(r, f, 5, o) == -ENOMEM)
                        abort();
                fclose(o);
                free(buf);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(report_freep) Report *total = NULL, *delta = NULL;
        _cleanup_(report_segment_reader_freep) ReportSegmentReader *reader = NULL;
        _cleanup_close_ int fd = -EBADF;
        ReportScanBuffer buf = {};
        uint64_t ref_records = 0;
        SegmentInfo *info;
        int r, ref;

        if (report_new(&total) < 0 || report_new(&delta) < 0 || report_segment_reader_new(&reader) < 0)
                abort();

        /* Each line on its own, as metadata or record. */
        for (const uint8_t *p = data, *end = data + size; p < end;) {
                const uint8_t *nl = memchr(p, '\n', (size_t) (end - p));
                size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);
                ReportRecord rec;
                /* A copy of exact size, so that ASan sees reads past the line. */
                char *line = malloc(len + 1);
                if (!line)
                        abort();
                memcpy(line, p, len);
                if (report_scan_line(line, len, &buf, &rec) == 0 && report_add(delta, &rec, "fuzz") < 0)
                        abort();
                free(line);
                p += len + 1;
        }
        if (report_merge(total, delta) < 0)
                abort();

        /* The whole input as a segment file, closed and unfinished. */
        fd = memfd_create("fuzz-report", MFD_CLOEXEC);
        if (fd < 0 || write(fd, data, size) != (ssize_t) size)
                abort();
        for (int open_segment = 0; open_segment < 2; open_segment++) {
                if (lseek(fd, 0, SEEK_SET) < 0)
                        abort();
                r = report_segment_read(reader, fd, open_segment, NULL, delta, &buf);
                if (r == -ENOMEM)
                        abort();
                if (r == 0) {
                        if (report_merge(total, delta) < 0)
                                abort();
                } else
                        report_reset(delta);

                if (!open_segment) {
                        info = calloc(1, sizeof(SegmentInfo));
                        if (!info)
                                abort();
                        ref = segment_read_buffer(data, size, 0, count_record, &ref_records, info);
                        if (ref == 0 && r != 0) {
                                fprintf(stderr, "segment.c accepts, report refuses: %s\n",
                                        report_segment_error(reader));
                                abort();
                        }
                        if (ref == 0 && info->records != report_segment_records(reader)) {
                                fprintf(stderr, "segment.c counts %llu records, report %llu\n",
                                        (unsigned long long) info->records,
                                        (unsigned long long) report_segment_records(reader));
                                abort();
                        }
                        free(info);
                }
        }

        render_all(total);
        report_scan_buffer_done(&buf);
        return 0;
}
