/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bus/bus-names.h"
#include "bus/manager.h"

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
/* The D-Bus error an Upload() call that ended in result is answered with
 * (NULL for success). */
const char *bus_manager_upload_error_name(UploadResult result);
/* Replies to a pending Upload() call. */
void bus_manager_reply_upload(sd_bus_message *request, UploadResult result,
                              uint32_t segments, uint64_t bytes, const char *message);
