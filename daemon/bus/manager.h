/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "shared/macro.h"

/* The daemon's state: what fsmond reports on the bus, the event loop, the bus
 * connection, and the hooks through which the capture, reload and upload
 * modules plug in. The capture never depends on the bus: the bus may be
 * missing or reconnecting while everything else goes on. */

typedef enum ManagerState {
        MANAGER_STARTING,
        MANAGER_RUNNING,
        MANAGER_DEGRADED,
        MANAGER_STOPPING,
        _MANAGER_STATE_MAX,
        _MANAGER_STATE_INVALID = -EINVAL,
} ManagerState;

/* How an upload ended: the uploader reports one of these, the bus maps it to
 * the reply (org.fsmon1.Error.*) and LastUploadResult. */
typedef enum UploadResult {
        MANAGER_UPLOAD_SUCCESS,
        MANAGER_UPLOAD_WRONG_PASSWORD,
        MANAGER_UPLOAD_HOST_KEY_MISMATCH,
        MANAGER_UPLOAD_NOT_CONFIGURED,
        MANAGER_UPLOAD_CONNECTION_FAILED,
        MANAGER_UPLOAD_FAILED,
        _MANAGER_UPLOAD_RESULT_MAX,
        _MANAGER_UPLOAD_RESULT_INVALID = -EINVAL,
} UploadResult;

typedef struct Manager Manager;
typedef struct PolkitRegistry PolkitRegistry;

/* Re-reads the config and re-renders/reloads the rules (SIGHUP, Reload()).
 * Returns 0 or a negative errno; on failure the old config must keep running.
 * The hook logs its own details. */
typedef int (*ManagerReloadHook)(Manager *m, void *userdata);

/* Called on SIGTERM/SIGINT before the loop exits: flush and close the open
 * segment. */
typedef void (*ManagerStopHook)(Manager *m, void *userdata);

/* Starts an upload asynchronously on m's sd_event. The password is valid only
 * during the call (it lives in locked memory that is zeroed right after):
 * copy it into locked memory (sodium_malloc) if it is needed later, and zero
 * it after use. Returns 0 when the job started; it must then end with exactly
 * one manager_upload_finished() (possibly from within the hook), and may call
 * manager_upload_progress().
 * Returns -ENXIO when no upload is configured, -EBUSY when a job already
 * runs, another negative errno otherwise. */
typedef int (*ManagerUploadStartHook)(Manager *m, const char *password, size_t password_len, void *userdata);

struct Manager {
        sd_event *event;
        sd_bus *bus;                    /* NULL while disconnected */
        char *config_path;              /* NULL: built-in default */

        ManagerState state;
        bool rules_loaded;
        uint64_t events_processed;
        uint64_t actions_recorded;
        uint64_t events_lost;
        uint64_t spool_bytes;
        uint32_t spool_segments;
        uint64_t last_upload;           /* CLOCK_REALTIME µs, 0 = never */
        char *last_upload_result;       /* "" = never */
        uint64_t start_time;            /* CLOCK_REALTIME µs */
        uint64_t reloads;

        /* Properties changed but not yet announced: bit n = property n in
         * bus-manager.c's list. Counters are announced at most once a second. */
        uint64_t dirty;
        sd_event_source *emit_event;
        uint64_t last_emit;             /* CLOCK_MONOTONIC µs */

        /* Bus connection, reconnected by timer when it goes away. */
        sd_event_source *reconnect_event;
        uint64_t reconnect_delay;
        sd_bus_slot *name_slot;
        bool name_acquired;
        PolkitRegistry *polkit;

        /* The Upload() call being served; NULL when no upload runs. */
        bool upload_running;
        sd_bus_message *upload_request;
        uid_t upload_uid;
        uint64_t last_progress;         /* CLOCK_MONOTONIC µs of the last UploadProgress */
        struct {
                uid_t uid;
                unsigned failures;
                uint64_t window_start;  /* CLOCK_MONOTONIC µs */
        } wrong_password[16];

        sd_event_source *watchdog_event;
        uint64_t watchdog_usec;

        ManagerReloadHook reload_hook;
        void *reload_userdata;
        ManagerStopHook stop_hook;
        void *stop_userdata;
        ManagerUploadStartHook upload_hook;
        void *upload_userdata;
};

int manager_new(Manager **ret, const char *config_path);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Signals, watchdog, bus (connects now or keeps retrying), READY=1. */
int manager_startup(Manager *m);
/* Runs the loop until SIGTERM/SIGINT; returns the exit code from sd_event. */
int manager_run(Manager *m);

/* Hooks for the other modules; each replaces the previous one. */
void manager_attach_reload(Manager *m, ManagerReloadHook hook, void *userdata);
void manager_attach_stop(Manager *m, ManagerStopHook hook, void *userdata);
void manager_attach_uploader(Manager *m, ManagerUploadStartHook hook, void *userdata);

/* Setters: update, tell systemd (STATUS=) where it matters, and announce
 * PropertiesChanged on the bus (coalesced; no-ops without a bus). */
void manager_set_state(Manager *m, ManagerState state);
void manager_set_rules_loaded(Manager *m, bool b);
void manager_add_events_processed(Manager *m, uint64_t n);
void manager_add_actions_recorded(Manager *m, uint64_t n);
void manager_add_events_lost(Manager *m, uint64_t n);
void manager_set_spool(Manager *m, uint64_t bytes, uint32_t segments);
/* LastUpload and LastUploadResult as an earlier run left them (fsmond keeps
 * them in its state directory across restarts). */
int manager_set_last_upload(Manager *m, uint64_t usec, const char *result);

/* SIGHUP and Reload(): runs the reload hook. Returns its result. */
int manager_reload(Manager *m);

/* For the uploader: progress (throttled to a few signals per second) and the
 * end of the job. message: short, human, no secrets; may be NULL. */
void manager_upload_progress(Manager *m, uint64_t sent, uint64_t total);
void manager_upload_finished(Manager *m, UploadResult result, uint32_t segments, uint64_t bytes, const char *message);

/* Per-uid limit on wrong upload passwords. */
bool manager_upload_rate_limited(Manager *m, uid_t uid);

const char *manager_state_to_string(ManagerState s) _pure_;
const char *manager_upload_result_to_string(UploadResult r) _pure_;

/* Internal to manager.c and bus-manager.c: marks properties changed. */
void manager_mark_dirty(Manager *m, uint64_t mask, bool urgent);
