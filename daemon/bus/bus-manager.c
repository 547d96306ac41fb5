/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "bus/bus-manager.h"
#include "bus/bus-polkit.h"
#include "fsmon-build.h"
#include "shared/log.h"
#include "shared/time-util.h"

#define RECONNECT_DELAY_MAX_USEC (30ULL * USEC_PER_SEC)
/* Longer than any real upload password, short enough to bound memory. */
#define PASSWORD_MAX 1024U

/* ---- properties ---- */

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", FSMON_VERSION);
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", manager_state_to_string(m->state));
}

static int property_get_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", (int) *(bool *) userdata);
}

static int property_get_u64(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "t", *(uint64_t *) userdata);
}

static int property_get_u32(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "u", *(uint32_t *) userdata);
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", *(char **) userdata ?: "");
}

/* ---- methods ---- */

static void get_status_allowed(sd_bus_message *request, uid_t uid, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(request, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "a{sv}", 14,
                                "Version", "s", FSMON_VERSION,
                                "State", "s", manager_state_to_string(m->state),
                                "RulesLoaded", "b", (int) m->rules_loaded,
                                "EventsProcessed", "t", m->events_processed,
                                "ActionsRecorded", "t", m->actions_recorded,
                                "EventsLost", "t", m->events_lost,
                                "SpoolBytes", "t", m->spool_bytes,
                                "SpoolSegments", "u", m->spool_segments,
                                "LastUpload", "t", m->last_upload,
                                "LastUploadResult", "s", m->last_upload_result ?: "",
                                "UploadRunning", "b", (int) m->upload_running,
                                "StartTime", "t", m->start_time,
                                "Reloads", "t", m->reloads,
                                "ConfigFile", "s", m->config_path ?: "");
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r < 0)
                log_debug_errno(r, "Cannot reply to GetStatus(): %m");
}

static int method_get_status(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r;

        r = bus_polkit_check_async(((Manager *) userdata)->polkit, message, "org.fsmon1.status",
                                   get_status_allowed, userdata, NULL);
        if (r == -EBUSY)
                return sd_bus_error_set(error, FSMON_ERROR_BUSY, "Too many pending requests.");
        /* 0 would tell sd-bus that nobody handled the call. */
        return r < 0 ? r : 1;
}

static void reload_allowed(sd_bus_message *request, uid_t uid, void *userdata) {
        Manager *m = userdata;
        int r;

        log_info("Reload requested by uid %u.", (unsigned) uid);
        r = manager_reload(m);
        if (r < 0)
                (void) sd_bus_reply_method_errorf(request, FSMON_ERROR_RELOAD_FAILED,
                                                  "Reload failed, the running configuration was kept: %s", strerror(-r));
        else
                (void) sd_bus_reply_method_return(request, NULL);
}

static int method_reload(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r;

        r = bus_polkit_check_async(((Manager *) userdata)->polkit, message, "org.fsmon1.manage",
                                   reload_allowed, userdata, NULL);
        if (r == -EBUSY)
                return sd_bus_error_set(error, FSMON_ERROR_BUSY, "Too many pending requests.");
        /* 0 would tell sd-bus that nobody handled the call. */
        return r < 0 ? r : 1;
}

/* The password while polkit decides: in locked memory, zeroed on free. */
typedef struct UploadCall {
        Manager *manager;
        char *password;         /* sodium_malloc()ed, NUL-terminated */
        size_t len;
} UploadCall;

static void upload_call_free(void *p) {
        UploadCall *c = p;

        if (!c)
                return;
        if (c->password) {
                sodium_memzero(c->password, c->len + 1);
                sodium_free(c->password);
        }
        free(c);
}

static void upload_allowed(sd_bus_message *request, uid_t uid, void *userdata) {
        UploadCall *c = userdata;
        Manager *m = c->manager;
        int r;

        if (m->upload_running) {
                (void) sd_bus_reply_method_errorf(request, FSMON_ERROR_BUSY, "An upload is running already.");
                return;
        }
        if (manager_upload_rate_limited(m, uid)) {
                log_notice("Upload refused for uid %u: too many wrong passwords.", (unsigned) uid);
                (void) sd_bus_reply_method_errorf(request, FSMON_ERROR_RATE_LIMITED,
                                                  "Too many wrong passwords; try again later.");
                return;
        }
        if (!m->upload_hook) {
                (void) sd_bus_reply_method_errorf(request, FSMON_ERROR_NOT_CONFIGURED,
                                                  "This fsmond cannot upload: no uploader is configured.");
                return;
        }

        m->upload_uid = uid;
        m->upload_running = true;
        m->last_progress = 0;
        /* Held before the hook runs: the job may end within it. */
        m->upload_request = sd_bus_message_ref(request);
        r = m->upload_hook(m, c->password, c->len, m->upload_userdata);
        /* The hook copied what it needs: zero ours now rather than later. */
        sodium_memzero(c->password, c->len + 1);
        if (r < 0) {
                m->upload_running = false;
                m->upload_request = sd_bus_message_unref(m->upload_request);
                if (r == -ENXIO)
                        (void) sd_bus_reply_method_errorf(request, FSMON_ERROR_NOT_CONFIGURED,
                                                          "No upload is configured ([upload] in %s).",
                                                          m->config_path ?: "fsmond's configuration");
                else if (r == -EBUSY)
                        (void) sd_bus_reply_method_errorf(request, FSMON_ERROR_BUSY, "An upload is running already.");
                else {
                        log_warning_errno(r, "Cannot start the upload: %m");
                        (void) sd_bus_reply_method_errorf(request, FSMON_ERROR_UPLOAD_FAILED,
                                                          "Cannot start the upload: %s", strerror(-r));
                }
                return;
        }

        log_info("Upload started for uid %u.", (unsigned) uid);
}

static int method_upload(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *password;
        UploadCall *c;
        size_t len;
        int r;

        /* Zero the message's memory when it is freed (the vtable flag does
         * this too; be explicit about it). */
        (void) sd_bus_message_sensitive(message);

        r = sd_bus_message_read(message, "s", &password);
        if (r < 0)
                return r;

        len = strlen(password);
        if (len == 0 || len > PASSWORD_MAX)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid password length.");

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->manager = m;
        c->len = len;
        c->password = sodium_malloc(len + 1);
        if (!c->password) {
                free(c);
                return -ENOMEM;
        }
        memcpy(c->password, password, len + 1);
        /* The message stays referenced while polkit decides: erase its copy
         * now (received messages live in writable heap memory). */
        sodium_memzero((char *) password, len);

        r = bus_polkit_check_async(m->polkit, message, "org.fsmon1.upload", upload_allowed, c, upload_call_free);
        if (r < 0) {
                upload_call_free(c);
                if (r == -EBUSY)
                        return sd_bus_error_set(error, FSMON_ERROR_BUSY, "Too many pending requests.");
                return r;
        }
        return 1;
}

const char *bus_manager_upload_error_name(UploadResult result) {
        static const char *const names[_MANAGER_UPLOAD_RESULT_MAX] = {
                [MANAGER_UPLOAD_WRONG_PASSWORD]    = FSMON_ERROR_WRONG_PASSWORD,
                [MANAGER_UPLOAD_HOST_KEY_MISMATCH] = FSMON_ERROR_HOST_KEY_MISMATCH,
                [MANAGER_UPLOAD_NOT_CONFIGURED]    = FSMON_ERROR_NOT_CONFIGURED,
                [MANAGER_UPLOAD_CONNECTION_FAILED] = FSMON_ERROR_CONNECTION_FAILED,
                [MANAGER_UPLOAD_FAILED]            = FSMON_ERROR_UPLOAD_FAILED,
        };

        if (result == MANAGER_UPLOAD_SUCCESS)
                return NULL;
        return result > 0 && result < _MANAGER_UPLOAD_RESULT_MAX ? names[result] : FSMON_ERROR_UPLOAD_FAILED;
}

void bus_manager_reply_upload(sd_bus_message *request, UploadResult result,
                              uint32_t segments, uint64_t bytes, const char *message) {
        if (result == MANAGER_UPLOAD_SUCCESS) {
                (void) sd_bus_reply_method_return(request, "ut", segments, bytes);
                return;
        }
        (void) sd_bus_reply_method_errorf(request, bus_manager_upload_error_name(result),
                                          "%s", message ?: manager_upload_result_to_string(result) ?: "Upload failed.");
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),

        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RulesLoaded", "b", property_get_bool, offsetof(Manager, rules_loaded),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("EventsProcessed", "t", property_get_u64, offsetof(Manager, events_processed),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ActionsRecorded", "t", property_get_u64, offsetof(Manager, actions_recorded),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("EventsLost", "t", property_get_u64, offsetof(Manager, events_lost),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SpoolBytes", "t", property_get_u64, offsetof(Manager, spool_bytes),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SpoolSegments", "u", property_get_u32, offsetof(Manager, spool_segments),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastUpload", "t", property_get_u64, offsetof(Manager, last_upload),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastUploadResult", "s", property_get_string, offsetof(Manager, last_upload_result),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        SD_BUS_METHOD_WITH_ARGS("GetStatus",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a{sv}", status),
                                method_get_status,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Upload",
                                SD_BUS_ARGS("s", password),
                                SD_BUS_RESULT("u", segments, "t", bytes),
                                method_upload,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("Reload",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_reload,
                                SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_ARGS("UploadProgress", SD_BUS_ARGS("t", sent, "t", total), 0),
        SD_BUS_SIGNAL_WITH_ARGS("UploadFinished", SD_BUS_ARGS("b", success, "s", message), 0),

        SD_BUS_VTABLE_END
};

/* ---- signals and PropertiesChanged ---- */

static bool bus_manager_can_emit(Manager *m) {
        return m->bus && sd_bus_is_open(m->bus) > 0;
}

void bus_manager_emit_properties(Manager *m, uint64_t mask) {
        static const char *const names[] = {
                "State", "RulesLoaded", "EventsProcessed", "ActionsRecorded", "EventsLost",
                "SpoolBytes", "SpoolSegments", "LastUpload", "LastUploadResult",
        };
        char *l[ELEMENTSOF(names) + 1];
        size_t n = 0;
        int r;

        if (!bus_manager_can_emit(m))
                return;

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (mask & (1ULL << i))
                        l[n++] = (char *) names[i];
        l[n] = NULL;
        if (n == 0)
                return;

        r = sd_bus_emit_properties_changed_strv(m->bus, FSMON_BUS_PATH, FSMON_BUS_INTERFACE, l);
        if (r < 0)
                log_debug_errno(r, "Cannot emit PropertiesChanged, ignoring: %m");
}

void bus_manager_emit_upload_progress(Manager *m, uint64_t sent, uint64_t total) {
        if (bus_manager_can_emit(m))
                (void) sd_bus_emit_signal(m->bus, FSMON_BUS_PATH, FSMON_BUS_INTERFACE,
                                          "UploadProgress", "tt", sent, total);
}

void bus_manager_emit_upload_finished(Manager *m, bool success, const char *message) {
        if (bus_manager_can_emit(m))
                (void) sd_bus_emit_signal(m->bus, FSMON_BUS_PATH, FSMON_BUS_INTERFACE,
                                          "UploadFinished", "bs", (int) success, message ?: "");
}

/* ---- connection ---- */

static int on_reconnect(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        bus_manager_disconnect(m);
        (void) bus_manager_connect(m);
        return 0;
}

static void bus_manager_schedule_reconnect(Manager *m) {
        uint64_t when = now_usec(CLOCK_MONOTONIC) + m->reconnect_delay;
        int r;

        if (m->state == MANAGER_STOPPING)
                return;

        if (!m->reconnect_event) {
                r = sd_event_add_time(m->event, &m->reconnect_event, CLOCK_MONOTONIC, when, 0, on_reconnect, m);
                if (r < 0) {
                        log_error_errno(r, "Cannot schedule a reconnection to the bus: %m");
                        return;
                }
        } else {
                (void) sd_event_source_set_time(m->reconnect_event, when);
                (void) sd_event_source_set_enabled(m->reconnect_event, SD_EVENT_ONESHOT);
        }

        m->reconnect_delay = MIN(m->reconnect_delay * 2, RECONNECT_DELAY_MAX_USEC);
}

static int on_bus_filter(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        if (!sd_bus_message_is_signal(message, "org.freedesktop.DBus.Local", "Disconnected"))
                return 0;

        /* Tear down from the timer, not from inside the bus's own dispatch. */
        log_warning("Lost the connection to the system bus; capture goes on, reconnecting.");
        m->name_acquired = false;
        m->reconnect_delay = USEC_PER_SEC;
        bus_manager_schedule_reconnect(m);
        return 0;
}

static int on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const sd_bus_error *e;

        m->name_slot = sd_bus_slot_unref(m->name_slot);

        e = sd_bus_message_get_error(reply);
        if (e) {
                log_error("Cannot own the bus name " FSMON_BUS_NAME ": %s. The bus API is unavailable; capture goes on.",
                          e->message ?: e->name);
                return 0;
        }

        m->name_acquired = true;
        m->reconnect_delay = USEC_PER_SEC;
        log_info("Serving " FSMON_BUS_NAME " on the system bus.");
        return 0;
}

int bus_manager_connect(Manager *m) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (m->bus)
                return 0;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                /* Loud the first time, quiet while retrying. */
                log_full_errno(m->reconnect_delay <= USEC_PER_SEC ? LOG_WARNING : LOG_DEBUG, r,
                               "Cannot connect to the system bus, retrying: %m");
                bus_manager_schedule_reconnect(m);
                return r;
        }

        /* The capture's priority: sd-event alternates between sources of
         * equal priority, so a flood of audit events cannot make the bus
         * unresponsive (one bus message costs far less than one batch). */
        r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_IMPORTANT);
        if (r >= 0)
                r = sd_bus_add_filter(bus, NULL, on_bus_filter, m);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, FSMON_BUS_PATH, FSMON_BUS_INTERFACE, manager_vtable, m);
        if (r >= 0)
                r = sd_bus_request_name_async(bus, &m->name_slot, FSMON_BUS_NAME, 0, on_name_acquired, m);
        if (r < 0) {
                log_warning_errno(r, "Cannot set up the bus connection, retrying: %m");
                m->name_slot = sd_bus_slot_unref(m->name_slot);
                (void) sd_bus_detach_event(bus);
                bus_manager_schedule_reconnect(m);
                return r;
        }

        m->bus = TAKE_PTR(bus);
        return 0;
}

void bus_manager_disconnect(Manager *m) {
        if (!m->bus)
                return;

        /* Everything that holds a reference to this connection goes first. */
        polkit_registry_clear(m->polkit);
        m->name_slot = sd_bus_slot_unref(m->name_slot);
        m->upload_request = sd_bus_message_unref(m->upload_request);
        m->name_acquired = false;

        (void) sd_bus_detach_event(m->bus);
        m->bus = sd_bus_flush_close_unref(m->bus);
}
