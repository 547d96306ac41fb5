/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "shared/macro.h"
#include "bus/manager.h"
#include "service/capture.h"

/* What fsmond does besides serving the bus: the config, the key, the spool,
 * the audit rules, the live capture and the uploader, attached to the
 * Manager through its hooks. */

typedef struct Service Service;

typedef struct ServiceOptions {
        const char *config_path;        /* NULL: CONFIG_DEFAULT_PATH */
        bool load_rules;                /* false: rules are loaded by another unit (fsmon-rules) */
        bool echo;                      /* also print each record on stdout */
        CaptureEcho echo_format;
} ServiceOptions;

/* Loads the config, opens the state directory, the key and the spool.
 * Errors here are fatal for fsmond (and logged here, with what to do). */
int service_new(Manager *m, const ServiceOptions *o, Service **ret);
Service *service_free(Service *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Service *, service_free);

/* Loads the rules and starts the capture; what fails here leaves fsmond
 * running degraded (logged, and said in State and STATUS=). */
void service_start(Service *s);
