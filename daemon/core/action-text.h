/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/action-json.h"
#include "core/action.h"
#include "core/pseudonym.h"

/* One short line per action, for a person watching (fsmond --echo=text,
 * fsmonctl decode --format text): local time, program[pid], op, the path
 * shortened from the left to its last components, and what moved:
 *
 *   14:02:11.352 cat[4711]        read     /etc/os-release          267 B at 0
 *   14:02:11.352 cat[4711]        lseek    /etc/os-release          to 0
 *   14:02:11.353 bash[4700]       fork                              child 4711
 *
 * Not a format for scripts (that is the JSON record); columns may change.
 * Bytes that are not printable in a name are shown as \xNN. */

#define ACTION_TEXT_PATH_WIDTH 40

typedef struct ActionTextOptions {
        Pseudonymizer *pseudonymizer;   /* NULL: plain paths */
        size_t path_width;              /* 0: ACTION_TEXT_PATH_WIDTH */
        bool utc;                       /* times in UTC instead of local time */
} ActionTextOptions;

/* Appends the line (without its newline). Returns 0 or -ENOMEM. */
int action_text_append(CharBuffer *b, const Action *a, const ActionTextOptions *o);
