/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdio.h>

#include "report/report.h"

/* The report's output formats. Text is for people at a terminal; json and csv
 * carry exact integers for scripts; svg (one standalone image) and html (a
 * page with the figures and the same charts inline) are for people who want
 * the picture. */
typedef enum ReportFormat {
        REPORT_FORMAT_TEXT,
        REPORT_FORMAT_JSON,
        REPORT_FORMAT_CSV,
        REPORT_FORMAT_SVG,
        REPORT_FORMAT_HTML,
        _REPORT_FORMAT_MAX,
} ReportFormat;

#define REPORT_TOP_DEFAULT 10

const char *report_format_to_string(ReportFormat f) _pure_;
int report_format_from_string(const char *s) _pure_;

/* Writes the report; top bounds the file lists (and the rows of the text
 * tables). Returns 0, -ENOMEM, or -EIO when out could not be written. */
int report_render(Report *r, ReportFormat format, size_t top, FILE *out);
