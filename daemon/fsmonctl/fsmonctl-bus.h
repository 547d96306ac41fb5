/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* fsmonctl's verbs that talk to fsmond over the system bus. Exit codes
 * beyond EXIT_SUCCESS, EXIT_FAILURE and FSMONCTL_EXIT_USAGE (2): */
#define FSMONCTL_EXIT_NO_DAEMON 3        /* no system bus, or fsmond not running */
#define FSMONCTL_EXIT_DENIED 4           /* polkit said no */
#define FSMONCTL_EXIT_WRONG_PASSWORD 5
#define FSMONCTL_EXIT_TRY_LATER 6        /* busy, or too many wrong passwords */
#define FSMONCTL_EXIT_NOT_CONFIGURED 7   /* no [upload] configured */
#define FSMONCTL_EXIT_UPLOAD_FAILED 8    /* connection, host key, server */

int verb_status(int argc, char *argv[]);
int verb_upload(int argc, char *argv[]);
