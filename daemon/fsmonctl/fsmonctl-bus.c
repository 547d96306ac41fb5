/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fsmonctl status and fsmonctl upload: clients of org.fsmon1 on the system
 * bus (DBUS_SYSTEM_BUS_ADDRESS is honoured). Exit codes: see fsmonctl-bus.h. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus/bus-names.h"
#include "fsmonctl/fsmonctl-bus.h"
#include "fsmonctl/fsmonctl.h"
#include "shared/log.h"

#define PASSWORD_MAX 1024U

/* One message per error: the daemon's named errors and the bus's own. */
static int bus_error_to_exit(const sd_bus_error *e, const char *what) {
        static const struct {
                const char *name;
                int exit_code;
                const char *text;
        } table[] = {
                { SD_BUS_ERROR_SERVICE_UNKNOWN,   FSMONCTL_EXIT_NO_DAEMON,
                  "fsmond is not running (nobody owns org.fsmon1 on the system bus); start it: "
                  "systemctl start fsmon (or fsmond in a shell of its own; tools/run.sh does that "
                  "from a source tree)." },
                { SD_BUS_ERROR_NAME_HAS_NO_OWNER, FSMONCTL_EXIT_NO_DAEMON,
                  "fsmond is not running (nobody owns org.fsmon1 on the system bus); start it: "
                  "systemctl start fsmon (or fsmond in a shell of its own; tools/run.sh does that "
                  "from a source tree)." },
                { SD_BUS_ERROR_NO_REPLY,          FSMONCTL_EXIT_NO_DAEMON,
                  "fsmond did not answer." },
                { SD_BUS_ERROR_DISCONNECTED,      FSMONCTL_EXIT_NO_DAEMON,
                  "The connection to the system bus was lost." },
                { SD_BUS_ERROR_ACCESS_DENIED,     FSMONCTL_EXIT_DENIED,
                  NULL },
                { SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED, FSMONCTL_EXIT_DENIED,
                  NULL },
                { FSMON_ERROR_WRONG_PASSWORD,       FSMONCTL_EXIT_WRONG_PASSWORD,
                  "Wrong upload password." },
                { FSMON_ERROR_RATE_LIMITED,         FSMONCTL_EXIT_TRY_LATER,
                  "Too many wrong passwords; try again later." },
                { FSMON_ERROR_BUSY,                 FSMONCTL_EXIT_TRY_LATER,
                  "fsmond is busy (an upload is running); try again later." },
                { FSMON_ERROR_NOT_CONFIGURED,       FSMONCTL_EXIT_NOT_CONFIGURED,
                  "Uploading is not configured on this machine." },
                { FSMON_ERROR_HOST_KEY_MISMATCH,    FSMONCTL_EXIT_UPLOAD_FAILED,
                  "The server's host key does not match the pinned known_hosts file: nothing was sent." },
                { FSMON_ERROR_CONNECTION_FAILED,    FSMONCTL_EXIT_UPLOAD_FAILED,
                  NULL },
                { FSMON_ERROR_UPLOAD_FAILED,        FSMONCTL_EXIT_UPLOAD_FAILED,
                  NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                if (!sd_bus_error_has_name(e, table[i].name))
                        continue;
                if (table[i].text && sd_bus_error_has_name(e, FSMON_ERROR_NOT_CONFIGURED) && e->message)
                        /* fsmond names the file it read (--config or the default). */
                        log_error("%s %s", table[i].text, e->message);
                else if (table[i].text)
                        log_error("%s", table[i].text);
                else if (table[i].exit_code == FSMONCTL_EXIT_DENIED)
                        log_error("Not authorized to %s%s", what,
                                  strcmp(what, "upload") == 0 ?
                                  " (members of group \"fsmon\" may; otherwise an administrator must authenticate)." : ".");
                else
                        log_error("Cannot %s: %s", what, e->message ?: e->name);
                return table[i].exit_code;
        }

        log_error("Cannot %s: %s", what, e->message ?: e->name ?: "unknown error");
        return EXIT_FAILURE;
}

static int bus_connect(sd_bus **ret) {
        int r;

        r = sd_bus_open_system(ret);
        if (r < 0) {
                const char *address = getenv("DBUS_SYSTEM_BUS_ADDRESS");

                /* The bus itself is missing (no dbus-daemon or dbus-broker):
                 * say so, and what to start, not only the socket's errno. */
                if (r == -ENOENT || r == -ECONNREFUSED)
                        log_error_errno(r, "No system bus: nothing listens on %s (%m). fsmond serves its "
                                  "status on the D-Bus system bus; start one (systemctl start dbus, or "
                                  "without systemd: mkdir -p /run/dbus && dbus-daemon --system), then "
                                  "fsmond (systemctl start fsmon, or fsmond in a shell of its own).",
                                  address ?: "/run/dbus/system_bus_socket");
                else
                        log_error_errno(r, "Cannot connect to the system bus: %m");
                return FSMONCTL_EXIT_NO_DAEMON;
        }
        return 0;
}

/* ---- status ---- */

static void json_string(const char *s) {
        putchar('"');
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        printf("\\%c", *p);
                else if (*p < 0x20)
                        printf("\\u%04x", *p);
                else
                        putchar(*p);
        }
        putchar('"');
}

typedef struct Status {
        const char *version, *state, *last_upload_result, *config_file;
        int rules_loaded, upload_running;
        uint64_t events_processed, actions_recorded, events_lost, spool_bytes, last_upload, start_time;
        uint32_t spool_segments;
} Status;

/* Walks a{sv}: prints JSON (json) or fills st; unknown keys are kept in the
 * JSON and ignored by the human output. */
static int status_read(sd_bus_message *reply, bool json, Status *st) {
        bool first = true;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        if (json)
                putchar('{');

        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key, *contents;
                char type;

                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(reply, NULL, &contents);
                if (r < 0)
                        return r;
                r = sd_bus_message_enter_container(reply, 'v', contents);
                if (r < 0)
                        return r;

                type = contents[0];
                if (json) {
                        printf("%s", first ? "" : ",");
                        json_string(key);
                        putchar(':');
                        first = false;
                }

                if (type == 's' && contents[1] == '\0') {
                        const char *s;
                        r = sd_bus_message_read_basic(reply, 's', &s);
                        if (r < 0)
                                return r;
                        if (json)
                                json_string(s);
                        else if (strcmp(key, "Version") == 0)
                                st->version = s;
                        else if (strcmp(key, "State") == 0)
                                st->state = s;
                        else if (strcmp(key, "LastUploadResult") == 0)
                                st->last_upload_result = s;
                        else if (strcmp(key, "ConfigFile") == 0)
                                st->config_file = s;
                } else if (type == 'b' && contents[1] == '\0') {
                        int b;
                        r = sd_bus_message_read_basic(reply, 'b', &b);
                        if (r < 0)
                                return r;
                        if (json)
                                printf("%s", b ? "true" : "false");
                        else if (strcmp(key, "RulesLoaded") == 0)
                                st->rules_loaded = b;
                        else if (strcmp(key, "UploadRunning") == 0)
                                st->upload_running = b;
                } else if (type == 't' && contents[1] == '\0') {
                        uint64_t t;
                        r = sd_bus_message_read_basic(reply, 't', &t);
                        if (r < 0)
                                return r;
                        if (json)
                                printf("%" PRIu64, t);
                        else if (strcmp(key, "EventsProcessed") == 0)
                                st->events_processed = t;
                        else if (strcmp(key, "ActionsRecorded") == 0)
                                st->actions_recorded = t;
                        else if (strcmp(key, "EventsLost") == 0)
                                st->events_lost = t;
                        else if (strcmp(key, "SpoolBytes") == 0)
                                st->spool_bytes = t;
                        else if (strcmp(key, "LastUpload") == 0)
                                st->last_upload = t;
                        else if (strcmp(key, "StartTime") == 0)
                                st->start_time = t;
                } else if (type == 'u' && contents[1] == '\0') {
                        uint32_t u;
                        r = sd_bus_message_read_basic(reply, 'u', &u);
                        if (r < 0)
                                return r;
                        if (json)
                                printf("%" PRIu32, u);
                        else if (strcmp(key, "SpoolSegments") == 0)
                                st->spool_segments = u;
                } else {
                        /* A type this fsmonctl does not know: skip it. */
                        r = sd_bus_message_skip(reply, contents);
                        if (r < 0)
                                return r;
                        if (json)
                                printf("null");
                }

                r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;

        if (json)
                printf("}\n");
        return sd_bus_message_exit_container(reply);
}

static void format_bytes(char *buf, size_t size, uint64_t bytes) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        double v = (double) bytes;
        size_t u = 0;

        while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
                v /= 1024;
                u++;
        }
        if (u == 0)
                snprintf(buf, size, "%" PRIu64 " B", bytes);
        else
                snprintf(buf, size, "%.1f %s", v, units[u]);
}

static void format_time(char *buf, size_t size, uint64_t usec) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, size, "never");
}

static void status_print(const Status *st) {
        char bytes[32], when[64], since[64];

        format_bytes(bytes, sizeof(bytes), st->spool_bytes);
        format_time(when, sizeof(when), st->last_upload);
        format_time(since, sizeof(since), st->start_time);

        printf("           State: %s\n", st->state ?: "unknown");
        printf("    Rules loaded: %s\n", st->rules_loaded ? "yes" : "no");
        printf("Events processed: %" PRIu64 "\n", st->events_processed);
        printf("Actions recorded: %" PRIu64 "\n", st->actions_recorded);
        printf("     Events lost: %" PRIu64 "\n", st->events_lost);
        printf("           Spool: %" PRIu32 " segment%s, %s\n", st->spool_segments,
               st->spool_segments == 1 ? "" : "s", bytes);
        if (st->last_upload == 0)
                printf("     Last upload: never\n");
        else
                printf("     Last upload: %s (%s)\n", when, st->last_upload_result ?: "");
        if (st->upload_running)
                printf("          Upload: running\n");
        printf("         Running: since %s\n", since);
        printf("         Version: %s\n", st->version ?: "unknown");
}

static void status_help(void) {
        printf("Usage: fsmonctl status [--json]\n\n"
               "Shows fsmond's state and counters (asks the daemon on the system bus).\n\n"
               "      --json   one JSON object, keys as in org.fsmon1.Manager.GetStatus()\n"
               "  -h, --help   show this help\n");
}

int verb_status(int argc, char *argv[]) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Status st = {};
        bool json = false;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'h':
                        status_help();
                        return EXIT_SUCCESS;
                default:
                        (void) log_getopt_error(c, argv, "fsmonctl status");
                        return FSMONCTL_EXIT_USAGE;
                }
        if (optind < argc) {
                log_error("unexpected argument '%s'; see 'fsmonctl status --help'.", argv[optind]);
                return FSMONCTL_EXIT_USAGE;
        }

        r = bus_connect(&bus);
        if (r != 0)
                return r;

        r = sd_bus_call_method(bus, FSMON_BUS_NAME, FSMON_BUS_PATH, FSMON_BUS_INTERFACE, "GetStatus", &error, &reply, NULL);
        if (r < 0)
                return bus_error_to_exit(&error, "read the status");

        r = status_read(reply, json, &st);
        if (r < 0) {
                log_error_errno(r, "Cannot parse the status from fsmond: %m");
                return EXIT_FAILURE;
        }
        if (!json)
                status_print(&st);
        if (fflush(stdout) != 0) {
                log_error_errno(errno, "Cannot write the status: %m");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

/* ---- upload ---- */

static struct termios saved_termios;
static volatile sig_atomic_t termios_saved = 0;

static void restore_terminal(int sig) {
        if (termios_saved)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
        signal(sig, SIG_DFL);
        raise(sig);
}

/* Reads one line into pw (PASSWORD_MAX + 1 bytes of locked memory) with
 * read(2), so that no stdio buffer keeps a copy. */
static int password_read(char *pw, size_t *ret_len) {
        bool tty = isatty(STDIN_FILENO);
        size_t n = 0;
        int r = 0;

        if (tty) {
                struct termios t;

                if (tcgetattr(STDIN_FILENO, &saved_termios) < 0)
                        return -errno;
                termios_saved = 1;
                signal(SIGINT, restore_terminal);
                signal(SIGTERM, restore_terminal);
                signal(SIGHUP, restore_terminal);

                t = saved_termios;
                t.c_lflag &= ~(tcflag_t) ECHO;
                t.c_lflag |= ECHONL;
                /* Echo off before the prompt: nothing typed after it shows. */
                if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0)
                        return -errno;
                fputs("Upload password: ", stderr);
                fflush(stderr);
        }

        for (;;) {
                char ch;
                ssize_t k = read(STDIN_FILENO, &ch, 1);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (k == 0 || ch == '\n')
                        break;
                if (n >= PASSWORD_MAX) {
                        r = -E2BIG;
                        break;
                }
                pw[n++] = ch;
        }
        sodium_memzero(pw + n, 1);
        /* Windows line ends in a password file. */
        if (n > 0 && pw[n - 1] == '\r')
                pw[--n] = '\0';

        if (tty) {
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
                termios_saved = 0;
                signal(SIGINT, SIG_DFL);
                signal(SIGTERM, SIG_DFL);
                signal(SIGHUP, SIG_DFL);
        }
        if (r < 0)
                return r;
        *ret_len = n;
        return 0;
}

/* A text polkit agent on our terminal, as systemctl does, so that polkit can
 * ask for an administrator's password when the caller needs one (e.g. over
 * ssh, where no desktop agent runs). Only on a terminal, never for root
 * (polkit is not asked about root). Returns the agent's pid, or 0. */
#define PKTTYAGENT "/usr/bin/pkttyagent"

static pid_t polkit_agent_open(void) {
        int p[2];
        pid_t pid;

        if (!isatty(STDIN_FILENO) || geteuid() == 0 || access(PKTTYAGENT, X_OK) < 0)
                return 0;
        if (pipe2(p, O_CLOEXEC) < 0)
                return 0;

        pid = fork();
        if (pid < 0) {
                safe_close(p[0]);
                safe_close(p[1]);
                return 0;
        }
        if (pid == 0) {
                char fd[16];
                int devnull, w;

                /* The agent closes --notify-fd once it is registered. */
                w = fcntl(p[1], F_DUPFD, 3);
                devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (w < 0 || devnull < 0 || dup2(devnull, STDERR_FILENO) < 0)
                        _exit(EXIT_FAILURE);
                snprintf(fd, sizeof(fd), "%d", w);
                execl(PKTTYAGENT, PKTTYAGENT, "--notify-fd", fd, "--fallback", (char *) NULL);
                _exit(EXIT_FAILURE);
        }

        safe_close(p[1]);
        /* Registered (EOF), or it gave up (EOF too): go on either way; do not
         * wait more than 5 s for it. */
        (void) poll(&(struct pollfd) { .fd = p[0], .events = POLLIN }, 1, 5000);
        safe_close(p[0]);
        return pid;
}

static void polkit_agent_close(pid_t pid) {
        if (pid <= 0)
                return;
        (void) kill(pid, SIGTERM);
        (void) waitpid(pid, NULL, 0);
}

typedef struct UploadClient {
        sd_event *event;
        bool progress_bar;
        bool bar_shown;
        int exit_code;
        uint32_t segments;
        uint64_t bytes;
} UploadClient;

static void progress_clear(UploadClient *u) {
        if (u->bar_shown) {
                fputs("\r\033[K", stderr);
                u->bar_shown = false;
        }
}

static int on_progress(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        UploadClient *u = userdata;
        uint64_t sent, total;
        char a[32], b[32], bar[41];
        unsigned pct, fill;

        if (!u->progress_bar || sd_bus_message_read(m, "tt", &sent, &total) < 0)
                return 0;

        pct = total > 0 ? (unsigned) (MIN(sent, total) * 100 / total) : 0;
        fill = pct * (sizeof(bar) - 1) / 100;
        memset(bar, '#', fill);
        memset(bar + fill, '.', sizeof(bar) - 1 - fill);
        bar[sizeof(bar) - 1] = '\0';
        format_bytes(a, sizeof(a), sent);
        format_bytes(b, sizeof(b), total);
        fprintf(stderr, "\r[%s] %3u%% %s / %s\033[K", bar, pct, a, b);
        fflush(stderr);
        u->bar_shown = true;
        return 0;
}

static int on_upload_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        UploadClient *u = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        progress_clear(u);
        if (e)
                u->exit_code = bus_error_to_exit(e, "upload");
        else if (sd_bus_message_read(reply, "ut", &u->segments, &u->bytes) < 0) {
                log_error("Unexpected reply from fsmond.");
                u->exit_code = EXIT_FAILURE;
        } else {
                char b[32];

                format_bytes(b, sizeof(b), u->bytes);
                printf("Uploaded %" PRIu32 " segment%s (%s).\n", u->segments, u->segments == 1 ? "" : "s", b);
                u->exit_code = EXIT_SUCCESS;
        }
        return sd_event_exit(u->event, 0);
}

static void upload_help(void) {
        printf("Usage: fsmonctl upload\n\n"
               "Asks for the upload password (without echo on a terminal; otherwise\n"
               "one line from standard input) and has fsmond upload the spool.\n"
               "The password is never taken as an argument.\n\n"
               "  -h, --help   show this help\n");
}

int verb_upload(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                {}
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        UploadClient u = { .exit_code = EXIT_FAILURE };
        pid_t agent;
        char *pw;
        size_t len = 0;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        upload_help();
                        return EXIT_SUCCESS;
                default:
                        (void) log_getopt_error(c, argv, "fsmonctl upload");
                        return FSMONCTL_EXIT_USAGE;
                }
        if (optind < argc) {
                log_error("fsmonctl upload takes no arguments (never give the password on the command line); see 'fsmonctl upload --help'.");
                return FSMONCTL_EXIT_USAGE;
        }

        if (sodium_init() < 0) {
                log_error("Cannot initialize libsodium.");
                return EXIT_FAILURE;
        }

        r = bus_connect(&bus);
        if (r != 0)
                return r;

        pw = sodium_malloc(PASSWORD_MAX + 1);
        if (!pw) {
                log_oom();
                return EXIT_FAILURE;
        }
        r = password_read(pw, &len);
        if (r == -E2BIG || (r >= 0 && len == 0)) {
                sodium_free(pw);
                log_error(r < 0 ? "The password is too long (at most %u bytes)." : "No password given.", PASSWORD_MAX);
                return FSMONCTL_EXIT_USAGE;
        }
        if (r < 0) {
                sodium_free(pw);
                log_error_errno(r, "Cannot read the password: %m");
                return EXIT_FAILURE;
        }

        r = sd_bus_message_new_method_call(bus, &call, FSMON_BUS_NAME, FSMON_BUS_PATH, FSMON_BUS_INTERFACE, "Upload");
        if (r >= 0)
                /* sd-bus zeroes the message's memory when it is freed. */
                r = sd_bus_message_sensitive(call);
        if (r >= 0)
                r = sd_bus_message_set_allow_interactive_authorization(call, isatty(STDIN_FILENO));
        if (r >= 0)
                r = sd_bus_message_append(call, "s", pw);
        sodium_free(pw);        /* zeroes it */
        if (r < 0) {
                log_error_errno(r, "Cannot build the request: %m");
                return EXIT_FAILURE;
        }

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                log_error_errno(r, "Cannot set up the event loop: %m");
                return EXIT_FAILURE;
        }
        u.event = event;
        u.progress_bar = isatty(STDERR_FILENO);

        /* Progress signals only from the daemon that owns the name. */
        r = sd_bus_match_signal(bus, NULL, FSMON_BUS_NAME, FSMON_BUS_PATH, FSMON_BUS_INTERFACE, "UploadProgress", on_progress, &u);
        if (r < 0) {
                log_error_errno(r, "Cannot subscribe to upload progress: %m");
                return EXIT_FAILURE;
        }

        agent = polkit_agent_open();

        /* No timeout: an upload takes as long as the network needs; fsmond
         * answers when it ends, and bus disconnection ends the wait. */
        r = sd_bus_call_async(bus, NULL, call, on_upload_reply, &u, UINT64_MAX);
        if (r < 0) {
                polkit_agent_close(agent);
                log_error_errno(r, "Cannot send the request: %m");
                return EXIT_FAILURE;
        }
        call = sd_bus_message_unref(call);

        r = sd_event_loop(event);
        polkit_agent_close(agent);
        if (r < 0) {
                progress_clear(&u);
                log_error_errno(r, "Event loop failed: %m");
                return EXIT_FAILURE;
        }
        return u.exit_code;
}
