/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include "report/report-verify.h"

/* The input side of `fsmonctl verify`: a PATH is a segment file, a spool
 * directory (its files as one loose group; chain and quarantine/ passed
 * over), or a server directory, whose subdirectories are host folders
 * (<dir>/<host id>/<segment>). Nothing inside is followed through a link:
 * links, FIFOs, devices and deeper directories are reported, uploads in
 * flight (*.part) too; every other file is read as a segment (plain or
 * zstd) with report-segment.c and handed to the verifier. Errors that end
 * the run (a path that does not exist, a directory that cannot be read,
 * ENOMEM) are logged and returned; what is wrong with a file is the
 * verifier's verdict. */
int verify_input_run(Verify *v, char *const *paths, size_t n_paths);
