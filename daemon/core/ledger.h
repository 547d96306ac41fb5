/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/action.h"
#include "core/audit-decode.h"
#include "shared/macro.h"
#include "core/pseudonym.h"
#include "core/tracker.h"

/* The core ledger: audit log text in, encoded file actions out. It chains
 * the decoder, the tracker and the encoder; `fsmonctl decode` and fsmond
 * run the same ledger, fsmond only adds edges around it. */

typedef struct Ledger Ledger;

/* Receives each record, encoded as one JSON object without newline. A
 * negative return stops the ledger: ledger_feed() returns it. */
typedef int (*LedgerSink)(const char *record, size_t len, const Action *a, void *userdata);

/* Sees each complete event (that passed the key filter) before the tracker;
 * gets the sink's userdata. */
typedef void (*LedgerEventHook)(const AuditEvent *ev, void *userdata);

typedef struct LedgerOptions {
        TrackerOptions tracker;
        Pseudonymizer *pseudonymizer;   /* borrowed; NULL: plain paths */
        const char *audit_key;          /* only syscall events with this audit key; NULL: all */
        LedgerEventHook event_hook;     /* NULL: none */
        /* What an edge adds, given here rather than set on the decoder and
         * tracker behind the ledger's back: */
        AuditLineFilter line_filter;    /* which lines are decoded (true); NULL: all */
        void *line_filter_userdata;
        TrackerFdResolver fd_resolver;  /* descriptors never seen opened (fsmond: /proc); NULL: none */
        void *fd_resolver_userdata;
} LedgerOptions;

int ledger_new(const LedgerOptions *o, LedgerSink sink, void *userdata, Ledger **ret);
Ledger *ledger_free(Ledger *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(Ledger *, ledger_free);

int ledger_feed(Ledger *l, const char *data, size_t size);
int ledger_flush(Ledger *l);
void ledger_age(Ledger *l);

/* Records a gap: events lost (lost_known false: how many is not known). */
int ledger_gap(Ledger *l, uint64_t sec, unsigned msec, uint64_t serial,
               uint64_t lost, bool lost_known, const char *reason);

Tracker *ledger_get_tracker(Ledger *l);
AuditDecoder *ledger_get_decoder(Ledger *l);
AuditDecoderStats ledger_get_decoder_stats(const Ledger *l);


