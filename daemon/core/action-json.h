/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include "core/action.h"
#include "core/pseudonym.h"

/* Encodes actions as the contract's JSON Lines records. */

typedef struct CharBuffer {
        char *data;
        size_t len;
        size_t size;
} CharBuffer;

int char_buffer_reserve(CharBuffer *b, size_t extra);
void char_buffer_done(CharBuffer *b);

/* Appends one record (without the trailing newline). Paths go through the
 * pseudonymizer unless it is NULL (plain output). Returns 0 or -ENOMEM. */
int action_json_append(CharBuffer *b, const Action *a, Pseudonymizer *p);

/* Appends s as a JSON string (with quotes). Valid UTF-8 is kept; a byte
 * that is not part of valid UTF-8 becomes "\udcXX" (as Python's
 * surrogateescape), so no byte of a plain name is lost. */
int json_append_string(CharBuffer *b, const char *s, size_t n);
