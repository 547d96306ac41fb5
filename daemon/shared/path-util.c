/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shared/macro.h"
#include "shared/path-util.h"

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

int audit_value_decode(const char *raw, char *buf, size_t size, size_t *ret_len) {
        size_t n = strlen(raw);

        if (n == 6 && memcmp(raw, "(null)", 6) == 0)
                return -ENODATA;

        if (n >= 2 && raw[0] == '"') {
                if (raw[n - 1] != '"')
                        return -EINVAL;
                n -= 2;
                if (n >= size)
                        return -ENOBUFS;
                memcpy(buf, raw + 1, n);
                buf[n] = 0;
                *ret_len = n;
                return 0;
        }

        if (n == 0 || n % 2 != 0)
                return -EINVAL;
        if (n / 2 >= size)
                return -ENOBUFS;
        for (size_t i = 0; i < n; i += 2) {
                int hi = unhex(raw[i]), lo = unhex(raw[i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                buf[i / 2] = (char) (hi << 4 | lo);
        }
        buf[n / 2] = 0;
        *ret_len = n / 2;
        return 0;
}

/* Appends the components of s to out (which holds a normalised absolute
 * path of length *len), applying "." and "..". */
static void path_push(char *out, size_t *len, const char *s, size_t n) {
        size_t i = 0;

        while (i < n) {
                size_t j;

                while (i < n && s[i] == '/')
                        i++;
                j = i;
                while (j < n && s[j] != '/')
                        j++;
                if (j == i)
                        break;

                if (j - i == 1 && s[i] == '.')
                        ;
                else if (j - i == 2 && s[i] == '.' && s[i + 1] == '.') {
                        while (*len > 0 && out[*len - 1] != '/')
                                (*len)--;
                        if (*len > 0)
                                (*len)--;       /* the '/' before the dropped component */
                } else {
                        out[(*len)++] = '/';
                        memcpy(out + *len, s + i, j - i);
                        *len += j - i;
                }
                i = j;
        }
}

int path_resolve(const char *base, size_t base_len, const char *rel, size_t rel_len,
                 char **ret, size_t *ret_len) {
        bool absolute = rel_len > 0 && rel[0] == '/';
        size_t len = 0;
        char *out;

        if (!absolute && (!base || base_len == 0 || base[0] != '/'))
                return -EINVAL;

        /* Normalisation never makes the result longer than its inputs plus
         * one separator and the leading '/'. */
        out = malloc((absolute ? 0 : base_len) + rel_len + 3);
        if (!out)
                return -ENOMEM;

        if (!absolute)
                path_push(out, &len, base, base_len);
        path_push(out, &len, rel, rel_len);
        if (len == 0)
                out[len++] = '/';
        out[len] = 0;

        *ret = out;
        *ret_len = len;
        return 0;
}

bool path_has_prefix(const char *path, size_t path_len, const char *prefix, size_t prefix_len) {
        if (prefix_len == 1 && prefix[0] == '/')
                return path_len >= 1 && path[0] == '/';
        if (path_len < prefix_len || memcmp(path, prefix, prefix_len) != 0)
                return false;
        return path_len == prefix_len || path[prefix_len] == '/';
}

bool path_is_normalized(const char *path, size_t len) {
        if (len == 0 || path[0] != '/')
                return false;
        if (len == 1)
                return true;
        if (path[len - 1] == '/')
                return false;

        for (size_t i = 1; i <= len; ) {
                size_t j = i;
                while (j < len && path[j] != '/')
                        j++;
                if (j == i)
                        return false;
                if ((j - i == 1 && path[i] == '.') ||
                    (j - i == 2 && path[i] == '.' && path[i + 1] == '.'))
                        return false;
                i = j + 1;
        }
        return true;
}
