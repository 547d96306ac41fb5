/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The config parser and the rule renderer on arbitrary bytes: whatever a
 * config file holds, it is refused with "FILE:LINE: ..." or it renders rules
 * in which every line is one of fsmon's own (no injected rule, option or
 * control character), every rule keyed "fsmon". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit-rules.h"
#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Config *c = NULL;
        char *error = NULL, *text = NULL;
        size_t rules = 0;
        int r;

        if (config_new_default(&c) < 0)
                abort();
        r = config_parse_string(c, "fuzz.conf", (const char *) data, size, &error);
        if (r < 0) {
                if (r != -EINVAL || !error || strncmp(error, "fuzz.conf:", 10) != 0)
                        abort();
                goto finish;
        }
        if (error)
                abort();

        r = audit_rules_render(c, &text, &error);
        if (r < 0) {
                /* Values were checked when read: rendering must not refuse them. */
                abort();
        }
        for (const char *l = text; *l; ) {
                const char *e = strchr(l, '\n');
                if (!e)
                        abort();
                for (const char *q = l; q < e; q++)
                        if ((unsigned char) *q < 0x20 || *q == 0x7f)
                                abort();
                if (e > l && l[0] != '#') {
                        if (strncmp(l, "-a ", 3) == 0) {
                                rules++;
                                if (strncmp(l, "-a never,exit -F arch=b64 -S ", 29) != 0 &&
                                    strncmp(l, "-a always,exit -F arch=b64 -S ", 30) != 0 &&
                                    strncmp(l, "-a always,exit -F arch=b32 -S ", 30) != 0)
                                        abort();
                                if (e - l < 9 || memcmp(e - 9, " -k fsmon", 9) != 0)
                                        abort();
                                /* Options only where fsmon puts them. */
                                for (const char *q = l + 3; q < e; q++)
                                        if (q[0] == ' ' && q[1] == '-' &&
                                            !(q[2] == 'F' || q[2] == 'S' || q[2] == 'k'))
                                                abort();
                        } else if (!(e - l == 11 && memcmp(l, "-D -k fsmon", 11) == 0) &&
                                   strncmp(l, "-b ", 3) != 0 && strncmp(l, "--backlog_wait_time ", 20) != 0)
                                abort();
                }
                l = e + 1;
        }
        if (rules != 2 + 2 * c->n_uid_ranges)
                abort();

finish:
        free(error);
        free(text);
        config_free(c);
        return 0;
}
