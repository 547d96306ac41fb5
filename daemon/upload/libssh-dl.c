/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "upload/libssh-dl.h"

/* The soname the headers we compiled against belong to. */
#define LIBSSH_SONAME "libssh.so.4"

#define LIBSSH_DL_DEFINE(name) __typeof__(name) *sym_##name = NULL;
LIBSSH_DL_SYMBOLS(LIBSSH_DL_DEFINE)
#undef LIBSSH_DL_DEFINE

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int open_result;
static char open_error[256];

static void libssh_dl_load(void) {
        void *dl;

        dl = dlopen(LIBSSH_SONAME, RTLD_NOW | RTLD_NODELETE);
        if (!dl) {
                snprintf(open_error, sizeof(open_error), "%s", dlerror());
                open_result = -EOPNOTSUPP;
                return;
        }
#define LIBSSH_DL_LOOKUP(name)                                                  \
        sym_##name = (__typeof__(name) *) dlsym(dl, #name);                     \
        if (!sym_##name) {                                                      \
                snprintf(open_error, sizeof(open_error), "%s: no symbol %s",    \
                         LIBSSH_SONAME, #name);                                 \
                open_result = -EOPNOTSUPP;                                      \
                return;                                                         \
        }
        LIBSSH_DL_SYMBOLS(LIBSSH_DL_LOOKUP)
#undef LIBSSH_DL_LOOKUP
        open_result = 0;
}

int libssh_dl_open(const char **ret_error) {
        (void) pthread_once(&once, libssh_dl_load);
        if (ret_error)
                *ret_error = open_result < 0 ? open_error : NULL;
        return open_result;
}
