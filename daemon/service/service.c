/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "audit/audit-rules-load.h"
#include "core/audit-rules.h"
#include "service/capture.h"
#include "core/config.h"
#include "shared/fileio.h"
#include "store/key.h"
#include "shared/log.h"
#include "shared/string-table.h"
#include "core/pseudonym.h"
#include "service/service.h"
#include "store/spool.h"
#include "service/upload-manager.h"

#define STATS_USEC (1000U * 1000U)

/* Why fsmond runs degraded (State "degraded", STATUS=). */
typedef enum ServiceDegraded {
        SERVICE_DEGRADED_NONE,
        SERVICE_DEGRADED_RULES_MISSING,         /* not loaded, or not (all) in the kernel */
        SERVICE_DEGRADED_RULES_UNKNOWN,         /* --no-load-rules, and the kernel's list cannot be read */
        SERVICE_DEGRADED_AUDIT_DISABLED,        /* loaded, but auditctl -e 0 */
        SERVICE_DEGRADED_AUDIT_LOCKED,          /* -e 2: the rules cannot change */
        SERVICE_DEGRADED_NO_EVENTS,             /* the netlink event source failed */
        SERVICE_DEGRADED_SPOOL,                 /* the spool drops records (its reason says why) */
        _SERVICE_DEGRADED_MAX,
} ServiceDegraded;

struct Service {
        Manager *manager;
        ServiceOptions o;
        char *config_path;
        Config *config;

        int state_fd;
        int spool_fd;
        uint8_t *key;
        char key_epoch[KEY_EPOCH_STRING_MAX];
        char host_id[SEGMENT_HOST_MAX + 1];
        Pseudonymizer *pseudonymizer;
        Spool *spool;
        Capture *capture;
        ServiceDegraded degraded;       /* the first cause, SERVICE_DEGRADED_NONE while all is well */

        UploadManager *upload;

        sd_event_source *stats_source;
        CaptureStats last;
};

static int write_string_file(const char *path, const char *s) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        size_t n = strlen(s);

        if (fd < 0)
                return -errno;
        if (write(fd, s, n) != (ssize_t) n)
                return errno ? -errno : -EIO;
        return 0;
}

/* Writing it when unset already would still make the kernel log a LOGIN event. */
static bool loginuid_is_unset(void) {
        char buf[16] = {};
        _cleanup_close_ int fd = open("/proc/self/loginuid", O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
                return true;    /* no audit here: nothing to clear */
        return strncmp(buf, "4294967295", 10) == 0;
}

static const char *const service_degraded_table[_SERVICE_DEGRADED_MAX] = {
        [SERVICE_DEGRADED_RULES_MISSING]  = "audit rules not loaded",
        [SERVICE_DEGRADED_RULES_UNKNOWN]  = "audit rules cannot be checked",
        [SERVICE_DEGRADED_AUDIT_DISABLED] = "auditing is disabled in the kernel",
        [SERVICE_DEGRADED_AUDIT_LOCKED]   = "audit configuration is locked (-e 2); rules not loaded",
        [SERVICE_DEGRADED_NO_EVENTS]      = "audit events unavailable",
        [SERVICE_DEGRADED_SPOOL]          = "the spool cannot be written",
};

static DEFINE_STRING_TABLE_LOOKUP_TO_STRING(service_degraded, ServiceDegraded);

/* The first cause stays until it goes away (only the spool recovers by
 * itself); detail, when given, is said instead of the cause's words. */
static void service_degrade(Service *s, ServiceDegraded cause, const char *detail) {
        if (s->degraded != SERVICE_DEGRADED_NONE)
                return;
        s->degraded = cause;
        manager_set_state(s->manager, MANAGER_DEGRADED);
        (void) sd_notifyf(false, "STATUS=Degraded: %s", detail ?: service_degraded_to_string(cause));
}

static void stats_push(Service *s) {
        CaptureStats cs = {};
        SpoolStats ss;

        if (s->capture)
                capture_get_stats(s->capture, &cs);
        manager_add_events_processed(s->manager, cs.events - s->last.events);
        manager_add_actions_recorded(s->manager, cs.actions - s->last.actions);
        manager_add_events_lost(s->manager, cs.lost - s->last.lost);
        s->last = cs;

        spool_get_stats(s->spool, &ss);
        manager_set_spool(s->manager, ss.bytes, ss.segments);
        if (ss.degraded)
                service_degrade(s, SERVICE_DEGRADED_SPOOL, ss.degraded_reason);
        else if (s->degraded == SERVICE_DEGRADED_SPOOL) {
                /* The spool recovered by itself (space came back). */
                s->degraded = SERVICE_DEGRADED_NONE;
                manager_set_state(s->manager, MANAGER_RUNNING);
        }
}

static int on_stats(sd_event_source *es, uint64_t usec, void *userdata) {
        Service *s = userdata;

        stats_push(s);
        (void) sd_event_source_set_time(es, usec + STATS_USEC);
        return 0;
}

static void on_stop(Manager *m, void *userdata) {
        Service *s = userdata;

        s->upload = upload_manager_free(s->upload);     /* cancels a running upload */
        capture_stop(s->capture);
        stats_push(s);
        (void) spool_close(TAKE_PTR(s->spool));
}

/* ---- reload ---- */

static int load_rules(Service *s, const Config *c) {
        _cleanup_free_ char *msg = NULL, *warning = NULL;
        int r;

        if (!s->o.load_rules) {
                /* Loaded by another process in the host's namespace (the
                 * unit's ExecStartPre=+): only check that they are there. */
                AuditRules *rules = NULL;
                size_t found = 0, wanted = 0;

                r = audit_rules_build(c, &rules, &msg);
                if (r < 0)
                        log_warning_errno(r, "Cannot render fsmon's audit rules to check them: %s",
                                          msg ?: strerror(-r));
                else {
                        wanted = rules->n_rules;
                        r = audit_kernel_check_rules(NULL, rules, &found);
                        /* Not knowing is not the same as knowing they are missing. */
                        if (r < 0)
                                log_warning_errno(r, "Cannot read the kernel's audit rule list to check "
                                                  "fsmon's rules: %m%s", r == -EPERM ? " (CAP_AUDIT_CONTROL missing?)" : "");
                        else if (r == 0)
                                log_warning("fsmon's audit rules are not all in the kernel: %zu of %zu found.",
                                            found, wanted);
                }
                audit_rules_free(rules);
                manager_set_rules_loaded(s->manager, r > 0);
                if (r < 0 && wanted > 0)
                        service_degrade(s, SERVICE_DEGRADED_RULES_UNKNOWN, NULL);
                else if (r <= 0)
                        service_degrade(s, SERVICE_DEGRADED_RULES_MISSING, NULL);
                return 0;
        }
        r = audit_rules_apply_full(c, NULL, &msg, &warning);
        if (warning)
                log_warning("%s.", warning);
        if (r == 0) {
                log_info("Audit rules loaded: %s", msg ?: c->rules_file);
                manager_set_rules_loaded(s->manager, true);
                return 0;
        }
        manager_set_rules_loaded(s->manager, false);
        if (r == AUDIT_RULES_LOADED_DISABLED) {
                log_warning("%s", msg ?: "Audit rules loaded, but auditing is disabled (auditctl -e 1).");
                service_degrade(s, SERVICE_DEGRADED_AUDIT_DISABLED, NULL);
                return 0;
        }
        log_error_errno(r, "Audit rules not loaded: %s", msg ?: "(no details)");
        service_degrade(s, r == -EROFS ? SERVICE_DEGRADED_AUDIT_LOCKED : SERVICE_DEGRADED_RULES_MISSING, NULL);
        return r;
}

static int on_reload(Manager *m, void *userdata) {
        Service *s = userdata;
        _cleanup_free_ char *err = NULL;
        Config *c = NULL;
        int r;

        r = config_load(s->config_path, &c, &err);
        if (r < 0) {
                log_error("Keeping the running configuration: %s", err ?: strerror(-r));
                return r;
        }
        config_free(s->config);
        s->config = c;
        if (s->upload)
                (void) upload_manager_set_config(s->upload, c);
        log_info("Configuration reloaded from %s.", s->config_path);
        /* Capture filters and spool limits take effect at the next start. */
        return load_rules(s, s->config);
}

/* ---- setup ---- */

int service_new(Manager *m, const ServiceOptions *o, Service **ret) {
        _cleanup_(service_freep) Service *s = NULL;
        _cleanup_free_ char *err = NULL;
        SpoolConfig sc = { SPOOL_CONFIG_DEFAULTS };
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return log_oom();
        s->manager = m;
        s->o = *o;
        s->state_fd = s->spool_fd = -EBADF;
        s->config_path = strdup(o->config_path ?: CONFIG_DEFAULT_PATH);
        if (!s->config_path)
                return log_oom();

        r = config_load(s->config_path, &s->config, &err);
        if (r < 0) {
                log_error("Invalid configuration, refusing to start: %s", err ?: strerror(-r));
                return r;
        }

        /* fsmond's own file I/O must never be recorded (it would feed on
         * itself): drop a login uid inherited from an admin's session, so the
         * rules' auid filter excludes it (the "never" rules are the second
         * line of defence). */
        if (!loginuid_is_unset()) {
                r = write_string_file("/proc/self/loginuid", "4294967295");
                if (r < 0)
                        log_debug_errno(r, "Cannot clear our login uid, ignoring: %m");
        }

        r = fileio_open_dir_at(AT_FDCWD, s->config->state_dir, 0700, &s->state_fd);
        if (r < 0)
                return log_error_errno(r, "Cannot use state directory %s (it must be a directory owned by root, "
                                       "not writable by others): %m", s->config->state_dir);

        r = key_load_or_create(s->state_fd, &s->key);
        if (r < 0) {
                log_error("Refusing to start: %s/%s: %s", s->config->state_dir, KEY_FILE_NAME, key_strerror(r));
                return r;
        }
        r = key_epoch(s->key, s->key_epoch);
        if (r < 0)
                return log_error_errno(r, "Cannot derive the key epoch: %m");
        r = pseudonymizer_new(s->key, &s->pseudonymizer);
        if (r < 0)
                return log_error_errno(r, "Cannot set up pseudonyms: %m");

        r = spool_host_id_default(s->host_id);
        if (r < 0)
                return log_error_errno(r, "Cannot determine the host id (/etc/machine-id): %m");

        r = fileio_open_dir_at(s->state_fd, "spool", 0700, &s->spool_fd);
        if (r < 0)
                return log_error_errno(r, "Cannot use %s/spool: %m", s->config->state_dir);
        sc.dir_fd = s->spool_fd;
        sc.max_segment_bytes = s->config->segment_max_bytes;
        sc.max_segment_age_usec = s->config->segment_max_age_usec;
        sc.max_spool_bytes = s->config->spool_max_bytes;
        sc.full_policy = s->config->full_policy;
        sc.fsync_policy = s->config->fsync_policy;
        sc.fsync_interval_usec = s->config->fsync_interval_usec;
        sc.host_id = s->host_id;
        sc.key_epoch = s->key_epoch;
        r = spool_open(&sc, &s->spool);
        if (r < 0)
                return log_error_errno(r, "Cannot open the spool in %s/spool: %m", s->config->state_dir);

        r = upload_manager_new(&s->upload, m, s->spool, s->host_id);
        if (r >= 0)
                r = upload_manager_set_config(s->upload, s->config);
        if (r >= 0)
                r = upload_manager_set_state_dir(s->upload, s->state_fd);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the uploader: %m");
        /* After a boot a spool is typically waiting: say how much, since when. */
        upload_manager_log_startup(s->upload);

        manager_attach_stop(m, on_stop, s);
        manager_attach_reload(m, on_reload, s);

        *ret = TAKE_PTR(s);
        return 0;
}

static bool path_is_monitored(const char *path, void *userdata) {
        Service *s = userdata;
        return config_path_is_monitored(s->config, path);
}

static bool auid_is_monitored(uint32_t auid, void *userdata) {
        Service *s = userdata;

        for (size_t i = 0; i < s->config->n_uid_ranges; i++)
                if (auid >= s->config->uid_ranges[i].first && auid <= s->config->uid_ranges[i].last)
                        return true;
        return false;
}

void service_start(Service *s) {
        const Config *c = s->config;
        CaptureOptions co;
        int r;

        (void) load_rules(s, c);

        co = (CaptureOptions) {
                .state_dir_fd = s->state_fd,
                .audit_log_dir = c->audit_log_dir,
                .audit_key = AUDIT_RULES_KEY,
                .tracker = {
                        .path_filter = path_is_monitored,
                        .path_filter_userdata = s,
                        .with_ids = true,
                },
                .pseudonymizer = s->pseudonymizer,
                .spool = s->spool,
                .echo_fd = s->o.echo ? STDOUT_FILENO : -1,
                .echo_format = s->o.echo_format,
                .auid_filter = auid_is_monitored,
                .auid_filter_userdata = s,
        };
        r = capture_new(&co, s->manager->event, &s->capture);
        if (r >= 0)
                r = capture_start(s->capture);
        if (r < 0) {
                log_error_errno(r, "Cannot follow the kernel's audit events (%s), running without capture: %m",
                                r == -EPERM ? "CAP_AUDIT_READ missing" :
                                r == -EPROTONOSUPPORT || r == -ECONNREFUSED ? "audit unavailable here, "
                                "e.g. in a container" : "netlink");
                service_degrade(s, SERVICE_DEGRADED_NO_EVENTS, NULL);
                /* Nothing reads the spool's torn tail back, if there was one. */
                (void) spool_torn_tail_settle(s->spool, false);
        }

        if (s->degraded == SERVICE_DEGRADED_NONE)
                manager_set_state(s->manager, MANAGER_RUNNING);

        r = sd_event_add_time_relative(s->manager->event, &s->stats_source, CLOCK_MONOTONIC, STATS_USEC, 0,
                                       on_stats, s);
        if (r >= 0)
                (void) sd_event_source_set_enabled(s->stats_source, SD_EVENT_ON);
        stats_push(s);
}

Service *service_free(Service *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->stats_source);
        upload_manager_free(s->upload);
        capture_free(s->capture);
        spool_free(s->spool);
        pseudonymizer_free(s->pseudonymizer);
        key_free(s->key);
        config_free(s->config);
        safe_close(s->spool_fd);
        safe_close(s->state_fd);
        free(s->config_path);
        free(s);
        return NULL;
}
