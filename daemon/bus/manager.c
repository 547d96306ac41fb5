/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "bus/bus-manager.h"
#include "bus/bus-polkit.h"
#include "shared/log.h"
#include "bus/manager.h"
#include "shared/string-table.h"
#include "shared/time-util.h"

/* Counters change with every event: announce them at most this often. */
#define EMIT_INTERVAL_USEC USEC_PER_SEC
#define PROGRESS_INTERVAL_USEC (USEC_PER_SEC / 4)
/* Wrong upload passwords: at most this many per uid and window. */
#define WRONG_PASSWORD_MAX 5U
#define WRONG_PASSWORD_WINDOW_USEC (15ULL * 60 * USEC_PER_SEC)

static const char *const manager_state_table[_MANAGER_STATE_MAX] = {
        [MANAGER_STARTING] = "starting",
        [MANAGER_RUNNING]  = "running",
        [MANAGER_DEGRADED] = "degraded",
        [MANAGER_STOPPING] = "stopping",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(manager_state, ManagerState);

static const char *const manager_upload_result_table[_MANAGER_UPLOAD_RESULT_MAX] = {
        [MANAGER_UPLOAD_SUCCESS]           = "success",
        [MANAGER_UPLOAD_WRONG_PASSWORD]    = "wrong-password",
        [MANAGER_UPLOAD_HOST_KEY_MISMATCH] = "host-key-mismatch",
        [MANAGER_UPLOAD_NOT_CONFIGURED]    = "not-configured",
        [MANAGER_UPLOAD_CONNECTION_FAILED] = "connection-failed",
        [MANAGER_UPLOAD_FAILED]            = "failed",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(manager_upload_result, UploadResult);

int manager_set_last_upload(Manager *m, uint64_t usec, const char *result) {
        char *copy = strdup(result);

        if (!copy)
                return -ENOMEM;
        free(m->last_upload_result);
        m->last_upload_result = copy;
        m->last_upload = usec;
        manager_mark_dirty(m, MANAGER_PROPERTY_LAST_UPLOAD | MANAGER_PROPERTY_LAST_UPLOAD_RESULT, false);
        return 0;
}

int manager_new(Manager **ret, const char *config_path) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;

        m->state = MANAGER_STARTING;
        m->start_time = now_usec(CLOCK_REALTIME);
        m->reconnect_delay = USEC_PER_SEC;
        m->last_upload_result = strdup("");
        if (!m->last_upload_result)
                return -ENOMEM;
        if (config_path) {
                m->config_path = strdup(config_path);
                if (!m->config_path)
                        return -ENOMEM;
        }

        r = polkit_registry_new(&m->polkit);
        if (r < 0)
                return r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        bus_manager_disconnect(m);
        m->polkit = polkit_registry_free(m->polkit);
        sd_event_source_unref(m->reconnect_event);
        sd_event_source_unref(m->emit_event);
        sd_event_source_unref(m->watchdog_event);
        sd_event_unref(m->event);
        free(m->config_path);
        free(m->last_upload_result);
        free(m);
        return NULL;
}

void manager_attach_reload(Manager *m, ManagerReloadHook hook, void *userdata) {
        m->reload_hook = hook;
        m->reload_userdata = userdata;
}

void manager_attach_stop(Manager *m, ManagerStopHook hook, void *userdata) {
        m->stop_hook = hook;
        m->stop_userdata = userdata;
}

void manager_attach_uploader(Manager *m, ManagerUploadStartHook hook, void *userdata) {
        m->upload_hook = hook;
        m->upload_userdata = userdata;
}

static void manager_notify_status(Manager *m) {
        /* No NOTIFY_SOCKET (PID 1 is not systemd, or run by hand): a no-op. */
        (void) sd_notifyf(false,
                          "STATUS=%s%s; %" PRIu64 " events processed, %" PRIu64 " actions recorded, %" PRIu64 " lost",
                          manager_state_to_string(m->state),
                          m->rules_loaded ? "" : " (rules not loaded)",
                          m->events_processed, m->actions_recorded, m->events_lost);
}

static int on_emit(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        uint64_t mask = m->dirty;

        m->dirty = 0;
        m->last_emit = now_usec(CLOCK_MONOTONIC);
        bus_manager_emit_properties(m, mask);
        manager_notify_status(m);
        return 0;
}

void manager_mark_dirty(Manager *m, uint64_t mask, bool urgent) {
        uint64_t now = now_usec(CLOCK_MONOTONIC), when, armed;
        int enabled = SD_EVENT_OFF, r;

        m->dirty |= mask;

        when = urgent ? now : MAX(now, m->last_emit + EMIT_INTERVAL_USEC);

        if (!m->emit_event) {
                r = sd_event_add_time(m->event, &m->emit_event, CLOCK_MONOTONIC, when, 0, on_emit, m);
                if (r < 0)
                        log_debug_errno(r, "Cannot schedule PropertiesChanged, ignoring: %m");
                return;
        }

        (void) sd_event_source_get_enabled(m->emit_event, &enabled);
        if (enabled != SD_EVENT_OFF && sd_event_source_get_time(m->emit_event, &armed) >= 0 && armed <= when)
                return;

        (void) sd_event_source_set_time(m->emit_event, when);
        (void) sd_event_source_set_enabled(m->emit_event, SD_EVENT_ONESHOT);
}

void manager_set_state(Manager *m, ManagerState state) {
        if (m->state == state)
                return;

        log_info("State: %s.", manager_state_to_string(state));
        m->state = state;
        if (state == MANAGER_STOPPING)
                (void) sd_notify(false, "STOPPING=1");
        manager_notify_status(m);
        manager_mark_dirty(m, MANAGER_PROPERTY_STATE, true);
        /* The loop may end before the emit timer runs: announce it now. */
        if (state == MANAGER_STOPPING)
                (void) on_emit(m->emit_event, 0, m);
}

void manager_set_rules_loaded(Manager *m, bool b) {
        if (m->rules_loaded == b)
                return;
        m->rules_loaded = b;
        manager_mark_dirty(m, MANAGER_PROPERTY_RULES_LOADED, true);
}

void manager_add_events_processed(Manager *m, uint64_t n) {
        if (n == 0)
                return;
        m->events_processed += n;
        manager_mark_dirty(m, MANAGER_PROPERTY_EVENTS_PROCESSED, false);
}

void manager_add_actions_recorded(Manager *m, uint64_t n) {
        if (n == 0)
                return;
        m->actions_recorded += n;
        manager_mark_dirty(m, MANAGER_PROPERTY_ACTIONS_RECORDED, false);
}

void manager_add_events_lost(Manager *m, uint64_t n) {
        if (n == 0)
                return;
        m->events_lost += n;
        manager_mark_dirty(m, MANAGER_PROPERTY_EVENTS_LOST, false);
}

void manager_set_spool(Manager *m, uint64_t bytes, uint32_t segments) {
        uint64_t mask = 0;

        if (m->spool_bytes != bytes)
                mask |= MANAGER_PROPERTY_SPOOL_BYTES;
        if (m->spool_segments != segments)
                mask |= MANAGER_PROPERTY_SPOOL_SEGMENTS;
        m->spool_bytes = bytes;
        m->spool_segments = segments;
        if (mask)
                manager_mark_dirty(m, mask, false);
}

int manager_reload(Manager *m) {
        int r = 0;

        log_info("Reloading configuration%s%s.", m->config_path ? " from " : "", m->config_path ?: "");
        (void) sd_notify(false, "RELOADING=1");
        m->reloads++;
        if (m->reload_hook)
                r = m->reload_hook(m, m->reload_userdata);
        (void) sd_notify(false, "READY=1");
        if (r < 0)
                log_warning_errno(r, "Reload failed, keeping the running configuration: %m");
        return r;
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received signal %u, stopping.", si->ssi_signo);
        manager_set_state(m, MANAGER_STOPPING);
        if (m->stop_hook)
                m->stop_hook(m, m->stop_userdata);
        return sd_event_exit(m->event, 0);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) manager_reload(userdata);
        return 0;
}

static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        /* Pinged from the loop itself: a stuck loop stops the pings. */
        (void) sd_notify(false, "WATCHDOG=1");
        (void) sd_event_source_set_time(s, usec + m->watchdog_usec / 2);
        return 0;
}

int manager_startup(Manager *m) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Cannot block signals: %m");

        /* As important as the capture's source (SD_EVENT_PRIORITY_IMPORTANT):
         * a flood of audit events must not keep SIGTERM or the watchdog from
         * being served. */
        for (size_t i = 0; i < 3; i++) {
                static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
                sd_event_source *s = NULL;

                r = sd_event_add_signal(m->event, &s, sigs[i], sigs[i] == SIGHUP ? on_sighup : on_sigterm, m);
                if (r < 0)
                        return log_error_errno(r, "Cannot watch signals: %m");
                (void) sd_event_source_set_priority(s, SD_EVENT_PRIORITY_IMPORTANT);
                /* Owned by the event loop from now on. */
                (void) sd_event_source_set_floating(s, true);
                sd_event_source_unref(s);
        }

        r = sd_watchdog_enabled(false, &m->watchdog_usec);
        if (r < 0)
                log_warning_errno(r, "Invalid watchdog settings, ignoring: %m");
        else if (r > 0 && m->watchdog_usec > 0) {
                r = sd_event_add_time(m->event, &m->watchdog_event, CLOCK_MONOTONIC,
                                      now_usec(CLOCK_MONOTONIC) + m->watchdog_usec / 2, 0, on_watchdog, m);
                if (r < 0)
                        return log_error_errno(r, "Cannot set up the watchdog timer: %m");
                (void) sd_event_source_set_priority(m->watchdog_event, SD_EVENT_PRIORITY_IMPORTANT);
                (void) sd_event_source_set_enabled(m->watchdog_event, SD_EVENT_ON);
        }

        /* Never fatal: without a bus fsmond keeps capturing and retries. */
        (void) bus_manager_connect(m);
        return 0;
}

int manager_run(Manager *m) {
        int r;

        (void) sd_notify(false, "READY=1");
        manager_notify_status(m);

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}

static unsigned *manager_wrong_password_slot(Manager *m, uid_t uid, bool create) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        size_t oldest = 0;

        for (size_t i = 0; i < ELEMENTSOF(m->wrong_password); i++) {
                if (m->wrong_password[i].failures > 0 &&
                    now - m->wrong_password[i].window_start > WRONG_PASSWORD_WINDOW_USEC)
                        m->wrong_password[i].failures = 0;
                if (m->wrong_password[i].failures > 0 && m->wrong_password[i].uid == uid)
                        return &m->wrong_password[i].failures;
                if (m->wrong_password[i].failures < m->wrong_password[oldest].failures ||
                    (m->wrong_password[oldest].failures > 0 &&
                     m->wrong_password[i].window_start < m->wrong_password[oldest].window_start))
                        oldest = i;
        }
        if (!create)
                return NULL;

        m->wrong_password[oldest].uid = uid;
        m->wrong_password[oldest].failures = 0;
        m->wrong_password[oldest].window_start = now;
        return &m->wrong_password[oldest].failures;
}

bool manager_upload_rate_limited(Manager *m, uid_t uid) {
        unsigned *failures = manager_wrong_password_slot(m, uid, false);

        return failures && *failures >= WRONG_PASSWORD_MAX;
}

void manager_upload_progress(Manager *m, uint64_t sent, uint64_t total) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (!m->upload_running)
                return;
        if (sent < total && now - m->last_progress < PROGRESS_INTERVAL_USEC)
                return;
        m->last_progress = now;
        bus_manager_emit_upload_progress(m, sent, total);
}

void manager_upload_finished(Manager *m, UploadResult result, uint32_t segments, uint64_t bytes, const char *message) {
        const char *s = manager_upload_result_to_string(result) ?: "failed";
        char *copy;

        if (!m->upload_running)
                return;
        m->upload_running = false;

        if (result == MANAGER_UPLOAD_SUCCESS)
                log_info("Upload finished: %" PRIu32 " segments, %" PRIu64 " bytes.", segments, bytes);
        else
                log_warning("Upload failed (%s)%s%s", s, message ? ": " : ".", message ?: "");

        if (result == MANAGER_UPLOAD_WRONG_PASSWORD) {
                unsigned *failures = manager_wrong_password_slot(m, m->upload_uid, true);
                (*failures)++;
        }

        m->last_upload = now_usec(CLOCK_REALTIME);
        copy = strdup(s);
        if (copy) {
                free(m->last_upload_result);
                m->last_upload_result = copy;
        }
        manager_mark_dirty(m, MANAGER_PROPERTY_LAST_UPLOAD | MANAGER_PROPERTY_LAST_UPLOAD_RESULT, true);

        bus_manager_emit_upload_finished(m, result == MANAGER_UPLOAD_SUCCESS, message ?: s);
        if (m->upload_request) {
                bus_manager_reply_upload(m->upload_request, result, segments, bytes, message);
                m->upload_request = sd_bus_message_unref(m->upload_request);
        }
}
