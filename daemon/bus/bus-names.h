/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The names of org.fsmon1 on the system bus, defined once: fsmond serves
 * them (bus/bus-manager.c), fsmonctl calls them (fsmonctl/fsmonctl-bus.c),
 * man/org.fsmon1.5 documents them. Names only, no code: the one header of
 * bus/ that the client may include too (tests/layout/check-layers.py).
 * tests/bus/check-bus-names.py fails when this list, the man page's ERRORS
 * and the introspection XML's comment disagree. Renaming breaks users. */

#define FSMON_BUS_NAME "org.fsmon1"
#define FSMON_BUS_PATH "/org/fsmon1"
#define FSMON_BUS_INTERFACE "org.fsmon1.Manager"

/* Every error fsmond sends, and no other. */
#define FSMON_ERROR_WRONG_PASSWORD "org.fsmon1.Error.WrongPassword"
#define FSMON_ERROR_HOST_KEY_MISMATCH "org.fsmon1.Error.HostKeyMismatch"
#define FSMON_ERROR_NOT_CONFIGURED "org.fsmon1.Error.NotConfigured"
#define FSMON_ERROR_BUSY "org.fsmon1.Error.Busy"
#define FSMON_ERROR_RATE_LIMITED "org.fsmon1.Error.RateLimited"
#define FSMON_ERROR_CONNECTION_FAILED "org.fsmon1.Error.ConnectionFailed"
#define FSMON_ERROR_UPLOAD_FAILED "org.fsmon1.Error.UploadFailed"
#define FSMON_ERROR_RELOAD_FAILED "org.fsmon1.Error.ReloadFailed"
