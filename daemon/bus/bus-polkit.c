/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/bus-polkit.h"
#include "shared/log.h"

/* Enough for an interactive password prompt; a non-interactive check that
 * takes longer than sd-bus's default means polkit is stuck. */
#define POLKIT_TIMEOUT_INTERACTIVE_USEC (5ULL * 60 * 1000000)
#define POLKIT_TIMEOUT_USEC (25ULL * 1000000)

/* A caller cannot pile up work (or match rules, which the bus limits per
 * connection) without bound. */
#define POLKIT_PENDING_PER_SENDER_MAX 8U
#define POLKIT_PENDING_MAX 256U

typedef struct PolkitQuery PolkitQuery;

struct PolkitQuery {
        PolkitRegistry *registry;
        PolkitQuery *prev, *next;

        sd_bus_message *request;
        char *action;
        char *sender;
        bool interactive;
        uid_t uid;
        char cancel_id[64];

        sd_bus_slot *vanish_slot;       /* NameOwnerChanged for the sender */
        sd_bus_slot *uid_slot;          /* GetConnectionUnixUser */
        sd_bus_slot *check_slot;        /* CheckAuthorization */

        PolkitAllowed allowed;
        void *userdata;
        void (*free_userdata)(void *userdata);
};

struct PolkitRegistry {
        PolkitQuery *queries;
        unsigned n_queries;
        uint64_t n_started;
};

static void polkit_query_free(PolkitQuery *q) {
        if (!q)
                return;

        if (q->registry) {
                if (q->prev)
                        q->prev->next = q->next;
                else
                        q->registry->queries = q->next;
                if (q->next)
                        q->next->prev = q->prev;
                q->registry->n_queries--;
        }

        sd_bus_slot_unref(q->vanish_slot);
        sd_bus_slot_unref(q->uid_slot);
        sd_bus_slot_unref(q->check_slot);
        sd_bus_message_unref(q->request);
        free(q->action);
        free(q->sender);
        if (q->free_userdata)
                q->free_userdata(q->userdata);
        free(q);
}

int polkit_registry_new(PolkitRegistry **ret) {
        PolkitRegistry *reg;

        reg = calloc(1, sizeof(*reg));
        if (!reg)
                return -ENOMEM;
        *ret = reg;
        return 0;
}

void polkit_registry_clear(PolkitRegistry *reg) {
        if (!reg)
                return;
        while (reg->queries)
                polkit_query_free(reg->queries);
}

PolkitRegistry *polkit_registry_free(PolkitRegistry *reg) {
        if (!reg)
                return NULL;
        polkit_registry_clear(reg);
        free(reg);
        return NULL;
}

/* Callers can make polkit fail at will (by leaving at the right moment, or
 * while polkitd is down): warn at most every 10 s, so that an unprivileged
 * user cannot flood the journal. */
static int polkit_failure_level(void) {
        static struct timespec last;
        struct timespec now;

        (void) clock_gettime(CLOCK_MONOTONIC, &now);
        if (last.tv_sec != 0 && now.tv_sec - last.tv_sec < 10)
                return LOG_DEBUG;
        last = now;
        return LOG_WARNING;
}

static void polkit_query_deny(PolkitQuery *q, const char *name, const char *text) {
        /* The reply may fail if the caller went away meanwhile: nothing to do then. */
        (void) sd_bus_reply_method_errorf(q->request, name, "%s", text);
        polkit_query_free(q);
}

static void polkit_query_allow(PolkitQuery *q) {
        PolkitAllowed allowed = q->allowed;
        void *userdata = q->userdata;
        void (*free_userdata)(void *) = q->free_userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *request = sd_bus_message_ref(q->request);
        uid_t uid = q->uid;

        /* Free the query first: the callback may start new queries or even
         * drop the registry (bus teardown). */
        q->free_userdata = NULL;
        polkit_query_free(q);

        (void) sd_bus_message_rewind(request, true);
        allowed(request, uid, userdata);
        if (free_userdata)
                free_userdata(userdata);
}

static int on_check_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        int authorized, challenge, r;

        q->check_slot = sd_bus_slot_unref(q->check_slot);

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                /* Decided here: a failing polkit never grants anything. */
                log_full(polkit_failure_level(), "polkit check of %s for %s failed (%s), denying.",
                         q->action, q->sender, e && e->name ? e->name : "unknown error");
                polkit_query_deny(q, SD_BUS_ERROR_ACCESS_DENIED, "Authorization check failed.");
                return 0;
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                log_warning_errno(r, "Malformed reply from polkit for %s, denying: %m", q->action);
                polkit_query_deny(q, SD_BUS_ERROR_ACCESS_DENIED, "Authorization check failed.");
                return 0;
        }

        if (authorized) {
                log_debug("polkit: %s allowed for %s (uid %u).", q->action, q->sender, (unsigned) q->uid);
                polkit_query_allow(q);
                return 0;
        }

        log_debug("polkit: %s denied for %s (uid %u)%s.", q->action, q->sender, (unsigned) q->uid,
                  challenge ? ", authentication would be needed" : "");
        if (challenge && !q->interactive)
                polkit_query_deny(q, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                  "Interactive authentication required.");
        else
                polkit_query_deny(q, SD_BUS_ERROR_ACCESS_DENIED, "Access denied.");
        return 0;
}

static int polkit_query_send_check(PolkitQuery *q) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *c = NULL;
        sd_bus *bus = sd_bus_message_get_bus(q->request);
        int r;

        r = sd_bus_message_new_method_call(bus, &c,
                        "org.freedesktop.PolicyKit1",
                        "/org/freedesktop/PolicyKit1/Authority",
                        "org.freedesktop.PolicyKit1.Authority",
                        "CheckAuthorization");
        if (r < 0)
                return r;

        r = sd_bus_message_append(c, "(sa{sv})s",
                        "system-bus-name", 1, "name", "s", q->sender,
                        q->action);
        if (r < 0)
                return r;

        /* details: none; flags: 1 = AllowUserInteraction; cancellation id */
        r = sd_bus_message_append(c, "a{ss}us", 0, (uint32_t) (q->interactive ? 1 : 0), q->cancel_id);
        if (r < 0)
                return r;

        return sd_bus_call_async(bus, &q->check_slot, c, on_check_reply, q,
                                 q->interactive ? POLKIT_TIMEOUT_INTERACTIVE_USEC : POLKIT_TIMEOUT_USEC);
}

static int on_uid_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        uint32_t uid;
        int r;

        q->uid_slot = sd_bus_slot_unref(q->uid_slot);

        if (sd_bus_message_is_method_error(reply, NULL)) {
                /* Most likely the caller is gone already. */
                log_debug("Cannot get the uid of %s, denying.", q->sender);
                polkit_query_deny(q, SD_BUS_ERROR_ACCESS_DENIED, "Cannot identify the caller.");
                return 0;
        }

        r = sd_bus_message_read(reply, "u", &uid);
        if (r < 0) {
                polkit_query_deny(q, SD_BUS_ERROR_ACCESS_DENIED, "Cannot identify the caller.");
                return 0;
        }
        q->uid = (uid_t) uid;

        if (q->uid == 0) {
                polkit_query_allow(q);
                return 0;
        }

        r = polkit_query_send_check(q);
        if (r < 0) {
                log_warning_errno(r, "Cannot ask polkit about %s, denying: %m", q->action);
                polkit_query_deny(q, SD_BUS_ERROR_ACCESS_DENIED, "Authorization check failed.");
        }
        return 0;
}

static int on_sender_vanished(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (strcmp(name, q->sender) != 0 || new_owner[0] != '\0')
                return 0;

        log_debug("%s left while polkit decided about %s: dropping the call.", q->sender, q->action);

        /* Let polkit close an authentication dialog it may have opened. */
        if (q->check_slot)
                (void) sd_bus_call_method_async(sd_bus_message_get_bus(m), NULL,
                                "org.freedesktop.PolicyKit1",
                                "/org/freedesktop/PolicyKit1/Authority",
                                "org.freedesktop.PolicyKit1.Authority",
                                "CancelCheckAuthorization",
                                NULL, NULL, "s", q->cancel_id);

        polkit_query_free(q);
        return 0;
}

static int on_match_installed(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;

        if (!sd_bus_message_is_method_error(reply, NULL))
                return 0;

        /* Without the match we could not notice the caller leaving: refuse. */
        log_debug("Cannot watch %s on the bus, refusing %s.", q->sender, q->action);
        polkit_query_deny(q, SD_BUS_ERROR_LIMITS_EXCEEDED, "Too many pending requests.");
        return 0;
}

int bus_polkit_check_async(
                PolkitRegistry *reg,
                sd_bus_message *request,
                const char *action,
                PolkitAllowed allowed,
                void *userdata,
                void (*free_userdata)(void *userdata)) {

        sd_bus *bus = sd_bus_message_get_bus(request);
        const char *sender;
        char match[256];
        PolkitQuery *q;
        unsigned same = 0;
        int r;

        if (!reg || !request || !action || !allowed)
                return -EINVAL;

        sender = sd_bus_message_get_sender(request);
        if (!sender || sender[0] != ':')
                return -EBADMSG;

        if (reg->n_queries >= POLKIT_PENDING_MAX)
                return -EBUSY;
        for (PolkitQuery *i = reg->queries; i; i = i->next)
                if (strcmp(i->sender, sender) == 0)
                        same++;
        if (same >= POLKIT_PENDING_PER_SENDER_MAX)
                return -EBUSY;

        /* A unique name is short (":1.12345"), so the rule always fits. */
        r = snprintf(match, sizeof(match),
                     "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='%s'", sender);
        if (r < 0 || (size_t) r >= sizeof(match))
                return -EINVAL;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->request = sd_bus_message_ref(request);
        q->action = strdup(action);
        q->sender = strdup(sender);
        q->interactive = sd_bus_message_get_allow_interactive_authorization(request) > 0;
        q->uid = (uid_t) -1;
        (void) snprintf(q->cancel_id, sizeof(q->cancel_id), "fsmon-%d-%" PRIu64, (int) getpid(), ++reg->n_started);
        if (!q->action || !q->sender) {
                polkit_query_free(q);
                return -ENOMEM;
        }

        /* The match goes out first: the bus handles our messages in order, so
         * from the moment polkit sees the question, a departure of the caller
         * reaches us before polkit's answer does. */
        r = sd_bus_add_match_async(bus, &q->vanish_slot, match, on_sender_vanished, on_match_installed, q);
        if (r < 0)
                goto fail;

        r = sd_bus_call_method_async(bus, &q->uid_slot,
                        "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                        "GetConnectionUnixUser", on_uid_reply, q, "s", sender);
        if (r < 0)
                goto fail;

        q->registry = reg;
        q->next = reg->queries;
        if (q->next)
                q->next->prev = q;
        reg->queries = q;
        reg->n_queries++;

        q->allowed = allowed;
        q->userdata = userdata;
        q->free_userdata = free_userdata;
        return 0;

fail:
        polkit_query_free(q);
        return r;
}
