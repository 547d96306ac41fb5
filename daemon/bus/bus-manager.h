/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bus/manager.h"

/* org.fsmon1.Manager at /org/fsmon1 on the system bus (sd-bus honours
 * DBUS_SYSTEM_BUS_ADDRESS). See man/org.fsmon1.5 and
 * dbus/org.fsmon1.Manager.xml. */

#define FSMON_BUS_NAME "org.fsmon1"
#define FSMON_BUS_PATH "/org/fsmon1"
#define FSMON_BUS_INTERFACE "org.fsmon1.Manager"

#define FSMON_ERROR_WRONG_PASSWORD "org.fsmon1.Error.WrongPassword"
#define FSMON_ERROR_HOST_KEY_MISMATCH "org.fsmon1.Error.HostKeyMismatch"
#define FSMON_ERROR_NOT_CONFIGURED "org.fsmon1.Error.NotConfigured"
#define FSMON_ERROR_BUSY "org.fsmon1.Error.Busy"
#define FSMON_ERROR_RATE_LIMITED "org.fsmon1.Error.RateLimited"
#define FSMON_ERROR_CONNECTION_FAILED "org.fsmon1.Error.ConnectionFailed"
#define FSMON_ERROR_UPLOAD_FAILED "org.fsmon1.Error.UploadFailed"
#define FSMON_ERROR_RELOAD_FAILED "org.fsmon1.Error.ReloadFailed"

/* Bits of Manager.dirty: which properties PropertiesChanged must name. */
enum {
        MANAGER_PROPERTY_STATE              = 1 << 0,
        MANAGER_PROPERTY_RULES_LOADED       = 1 << 1,
        MANAGER_PROPERTY_EVENTS_PROCESSED   = 1 << 2,
        MANAGER_PROPERTY_ACTIONS_RECORDED   = 1 << 3,
        MANAGER_PROPERTY_EVENTS_LOST        = 1 << 4,
        MANAGER_PROPERTY_SPOOL_BYTES        = 1 << 5,
        MANAGER_PROPERTY_SPOOL_SEGMENTS     = 1 << 6,
        MANAGER_PROPERTY_LAST_UPLOAD        = 1 << 7,
        MANAGER_PROPERTY_LAST_UPLOAD_RESULT = 1 << 8,
};

/* Connects (or schedules a retry: the daemon runs without a bus too). */
int bus_manager_connect(Manager *m);
/* Drops the connection and everything tied to it (pending checks, the
 * pending Upload() reply; a running upload goes on). */
void bus_manager_disconnect(Manager *m);

void bus_manager_emit_properties(Manager *m, uint64_t mask);
void bus_manager_emit_upload_progress(Manager *m, uint64_t sent, uint64_t total);
void bus_manager_emit_upload_finished(Manager *m, bool success, const char *message);
/* Replies to a pending Upload() call. */
void bus_manager_reply_upload(sd_bus_message *request, UploadResult result,
                              uint32_t segments, uint64_t bytes, const char *message);
