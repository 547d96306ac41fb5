/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "shared/macro.h"

/* Lookups over a table of names indexed by an enum, as in systemd:
 *
 *     static const char *const color_table[_COLOR_MAX] = { [COLOR_RED] = "red", ... };
 *     DEFINE_STRING_TABLE_LOOKUP(color, Color);
 *
 * defines color_to_string(Color) (NULL when out of range or unnamed) and
 * color_from_string(const char *) (the index, or -EINVAL for NULL or an
 * unknown name). The _TO_STRING and _FROM_STRING halves exist on their own. */

#define DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type)                        \
        const char *name##_to_string(type i) {                                  \
                if ((size_t) i >= ELEMENTSOF(name##_table))                     \
                        return NULL;                                            \
                return name##_table[i];                                         \
        }

#define DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)                      \
        int name##_from_string(const char *s) {                                 \
                if (!s)                                                         \
                        return -EINVAL;                                         \
                for (size_t i = 0; i < ELEMENTSOF(name##_table); i++)           \
                        if (name##_table[i] && strcmp(name##_table[i], s) == 0) \
                                return (int) i;                                 \
                return -EINVAL;                                                 \
        }

#define DEFINE_STRING_TABLE_LOOKUP(name, type)                                  \
        DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type)                        \
        DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)
