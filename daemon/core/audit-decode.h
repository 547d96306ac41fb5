/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/audit-event.h"
#include "shared/macro.h"

/* Turns audit log text (auditd's RAW or ENRICHED format, in chunks of any
 * size) into AuditEvents, with libauparse's feed API. Lines that are not
 * audit records (garbage, binary, overlong, torn) are counted and skipped
 * before they reach auparse; events whose SYSCALL record lacks a needed
 * field or has an out-of-range number are counted and flagged malformed. */

typedef struct AuditDecoder AuditDecoder;

typedef void (*AuditEventHandler)(const AuditEvent *ev, void *userdata);

typedef struct AuditDecoderStats {
        uint64_t bytes;
        uint64_t lines;
        uint64_t malformed_lines;
        uint64_t events;
        uint64_t malformed_events;
        uint64_t filtered_lines;        /* passed over by the line filter */
        uint64_t newest_sec;            /* time stamp of the newest line decoded */
        uint64_t held;                  /* events waiting for a lower serial (now) */
        uint64_t open;                  /* serials fed but not complete (now) */
} AuditDecoderStats;

/* Decides per line, from its time stamp and serial, whether it is decoded
 * (the records of one event share them): the daemon skips what it has
 * processed already when it reads auditd's logs again. */
typedef bool (*AuditLineFilter)(uint64_t sec, unsigned msec, uint64_t serial, void *userdata);

/* Longest line accepted; the kernel's records are far shorter (8970 bytes at
 * most, plus ENRICHED interpretations). */
#define AUDIT_LINE_MAX (64U * 1024U)

int audit_decoder_new(AuditEventHandler handler, void *userdata, AuditDecoder **ret);
AuditDecoder *audit_decoder_free(AuditDecoder *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(AuditDecoder *, audit_decoder_free);

int audit_decoder_feed(AuditDecoder *d, const char *data, size_t size);
/* End of input: completes events still waiting for their EOE or for later
 * records. */
int audit_decoder_flush(AuditDecoder *d);
/* Live use, once a second: completes events older than auditd's
 * end-of-event timeout while the stream keeps up with the clock or is idle,
 * and stops waiting for serials whose events never completed. */
void audit_decoder_age(AuditDecoder *d);

AuditDecoderStats audit_decoder_get_stats(const AuditDecoder *d);

void audit_decoder_set_filter(AuditDecoder *d, AuditLineFilter filter, void *userdata);

/* Exposed for tests: whether one line (without its '\n') looks like an audit
 * record: "[node=N ]type=T msg=audit(S.M:N): ..." without control bytes. */
bool audit_line_is_valid(const char *line, size_t n);
