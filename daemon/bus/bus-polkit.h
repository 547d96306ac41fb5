/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <sys/types.h>

#include <systemd/sd-bus.h>

#include "shared/macro.h"

/* Asynchronous authorization of bus method calls by polkit.
 *
 * The caller's uid comes from the bus driver (GetConnectionUnixUser); uid 0
 * is allowed without asking polkit. Everyone else is checked with
 * CheckAuthorization on org.freedesktop.PolicyKit1, with the caller's unique
 * bus name as a "system-bus-name" subject (never "unix-process", whose pid
 * can be recycled) and the call's allow-interactive-authorization flag.
 * An unreachable or failing polkit means "denied". If the caller leaves the
 * bus while the decision is pending, the query is dropped: nothing runs. */

typedef struct PolkitRegistry PolkitRegistry;

/* Called once, only when the call is authorized. The request has been
 * rewound; the callback replies to it. */
typedef void (*PolkitAllowed)(sd_bus_message *request, uid_t uid, void *userdata);

int polkit_registry_new(PolkitRegistry **ret);
/* Drops all pending queries (no reply: their bus is going away). */
PolkitRegistry *polkit_registry_free(PolkitRegistry *reg);
DEFINE_TRIVIAL_CLEANUP_FUNC(PolkitRegistry *, polkit_registry_free);
/* Drops the queries, as above, and keeps the registry. */
void polkit_registry_clear(PolkitRegistry *reg);

/* Starts the check for request. On success (0) exactly one of these follows:
 * allowed() is called; or request gets an error reply (AccessDenied,
 * InteractiveAuthorizationRequired); or the caller vanished and nothing
 * happens. In all cases free_userdata(userdata) is called at the end.
 * On failure (negative errno) nothing was sent and userdata is still the
 * caller's: -EBUSY means too many checks are pending for this sender. */
int bus_polkit_check_async(
                PolkitRegistry *reg,
                sd_bus_message *request,
                const char *action,
                PolkitAllowed allowed,
                void *userdata,
                void (*free_userdata)(void *userdata));
