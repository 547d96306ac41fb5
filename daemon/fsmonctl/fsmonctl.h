/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The verbs of fsmonctl. Each gets argv with argv[0] = the verb's name and
 * returns the process exit code: EXIT_SUCCESS, EXIT_FAILURE, or
 * FSMONCTL_EXIT_USAGE; verbs may document further codes in fsmonctl(1). */

#define FSMONCTL_EXIT_USAGE 2
/* fsmonctl verify */
#define FSMONCTL_EXIT_INCOMPLETE 3
#define FSMONCTL_EXIT_DAMAGED 4

int verb_decode(int argc, char *argv[]);
int verb_report(int argc, char *argv[]);
int verb_rules(int argc, char *argv[]);
int verb_verify(int argc, char *argv[]);

/* The pseudonym key of decode and report: none with --plain, the key file's
 * with --key FILE, else a random one for this run. Returns 0, or the exit code
 * after saying why (--plain with --key; an unsafe key file). The caller zeroes
 * key after use. */
int fsmonctl_key_setup(const char *verb, bool plain, const char *key_file, uint8_t key[32]);
