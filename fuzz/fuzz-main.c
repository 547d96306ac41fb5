/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Runs a fuzz target over files and directories of inputs, so that every
 * corpus also runs as a plain test (and under ASan/UBSan in CI). */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
        FILE *f = fopen(path, "re");
        uint8_t *buf = NULL;
        size_t size = 0, n;
        uint8_t chunk[65536];

        if (!f) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
                uint8_t *b = realloc(buf, size + n);
                if (!b) {
                        free(buf);
                        fclose(f);
                        return -1;
                }
                buf = b;
                memcpy(buf + size, chunk, n);
                size += n;
        }
        fclose(f);
        /* An exact-size heap copy, so ASan sees reads past the end. */
        (void) LLVMFuzzerTestOneInput(buf ? buf : (const uint8_t *) "", size);
        free(buf);
        return 0;
}

static int run_path(const char *path, unsigned *count) {
        struct stat st;
        struct dirent **names;
        int n, r = 0;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
                (*count)++;
                return run_file(path);
        }
        n = scandir(path, &names, NULL, alphasort);
        if (n < 0)
                return -1;
        for (int i = 0; i < n; i++) {
                char sub[4096];
                if (names[i]->d_name[0] != '.') {
                        snprintf(sub, sizeof(sub), "%s/%s", path, names[i]->d_name);
                        if (run_path(sub, count) < 0)
                                r = -1;
                }
                free(names[i]);
        }
        free(names);
        return r;
}

int main(int argc, char *argv[]) {
        unsigned count = 0;
        int r = 0;

        for (int i = 1; i < argc; i++)
                if (run_path(argv[i], &count) < 0)
                        r = 1;
        printf("%u input(s) run\n", count);
        if (count == 0)
                return 1;       /* an empty corpus is a broken test */
        return r;
}
