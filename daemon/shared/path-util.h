/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Audit writes a string field one of three ways: "quoted" when it has no
 * special bytes, hex-encoded (spaces, quotes, control or non-ASCII bytes), or
 * (null). Decodes raw into buf (not NUL-terminated beyond *ret_len; a NUL is
 * added when there is room). Returns 0, -ENODATA for (null), -EINVAL for a
 * malformed value, -ENOBUFS when buf is too small. */
int audit_value_decode(const char *raw, char *buf, size_t size, size_t *ret_len);

/* Joins rel to the absolute directory base (ignored when rel is absolute) and
 * normalises lexically: repeated '/', "." and ".." are removed ("/.." is "/").
 * Symbolic links are not resolved: audit shows the names a process used.
 * Returns a malloc'ed NUL-terminated string, or -EINVAL when base is needed
 * but not absolute, -ENOMEM. */
int path_resolve(const char *base, size_t base_len, const char *rel, size_t rel_len,
                 char **ret, size_t *ret_len);

/* True when path equals prefix or lies below it (component-wise: "/home/a"
 * is not under "/home/ab"). Both absolute and normalised. */
bool path_has_prefix(const char *path, size_t path_len, const char *prefix, size_t prefix_len);

/* True for an absolute, normalised path without empty, "." or ".."
 * components and without a trailing slash (except "/" itself). */
bool path_is_normalized(const char *path, size_t len);
