/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "core/config.h"
#include "shared/macro.h"
#include "bus/manager.h"
#include "store/spool.h"

/* Plugs the uploader (upload.h) into fsmond: attaches manager.h's upload hook
 * so that Upload(password) closes the open segment (spool_rotate()), lists
 * the closed ones and starts an UploadJob on the manager's sd-event loop.
 * Each delivered segment leaves the spool at once (spool_mark_uploaded(),
 * then manager_set_spool()); progress goes to manager_upload_progress(); the
 * end to manager_upload_finished() with report->message. */

typedef struct UploadManager UploadManager;

/* Segments are read through the spool's own directory descriptor
 * (spool_get_dir_fd()), never by path again; host_id: the same one the
 * spool was given (segment.h), copied. Attaches the hook to m. */
int upload_manager_new(UploadManager **ret, Manager *m, Spool *spool, const char *host_id);
/* Takes [upload] from c (copied); the next Upload() uses it. Call at start
 * and after each reload. */
int upload_manager_set_config(UploadManager *u, const Config *c);
/* Keeps the outcome of the last upload in state_dir_fd ("last-upload", one
 * line "USEC RESULT", written atomically after each upload; the fd is
 * duplicated) and restores LastUpload/LastUploadResult from it now, so that
 * a restart does not claim "never". A damaged file is ignored with a
 * warning. */
int upload_manager_set_state_dir(UploadManager *u, int state_dir_fd);
/* Logs how much waits for upload and since when (after the config is set:
 * it says whether a server is configured). fsmond calls it once at start;
 * it is logged again after each upload. */
void upload_manager_log_startup(UploadManager *u);
/* Cancels a running job (its Upload() call ends with "cancelled") and
 * detaches the hook. */
UploadManager *upload_manager_free(UploadManager *u);
DEFINE_TRIVIAL_CLEANUP_FUNC(UploadManager *, upload_manager_free);

/* upload_run()'s result as manager.h's UploadResult. */
UploadResult upload_result_to_manager(int r);
