/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/action-json.h"
#include "core/ledger.h"
#include "shared/path-util.h"

struct Ledger {
        AuditDecoder *decoder;
        Tracker *tracker;
        Pseudonymizer *pseudonymizer;
        LedgerSink sink;
        void *userdata;
        CharBuffer record;
        int error;              /* first error of the sink or encoder */

        LedgerEventHook event_hook;
        char *audit_key;
};

/* Audit writes the key quoted, or hex-encoded with several keys separated
 * by 0x01 when a rule has more than one. */
static bool event_has_key(const AuditEvent *ev, const char *want) {
        char buf[512];
        size_t n, w = strlen(want);

        if (!ev->key || audit_value_decode(ev->key, buf, sizeof(buf), &n) < 0)
                return false;
        for (size_t i = 0; i < n; ) {
                const char *e = memchr(buf + i, 0x01, n - i);
                size_t l = (e ? (size_t) (e - buf) : n) - i;
                if (l == w && memcmp(buf + i, want, w) == 0)
                        return true;
                i += l + 1;
        }
        return false;
}

static void on_action(const Action *a, void *userdata) {
        Ledger *l = userdata;
        int r;

        if (l->error < 0)
                return;
        l->record.len = 0;
        r = action_json_append(&l->record, a, l->pseudonymizer);
        if (r >= 0)
                r = l->sink(l->record.data, l->record.len, a, l->userdata);
        if (r < 0)
                l->error = r;
}

static void on_event(const AuditEvent *ev, void *userdata) {
        Ledger *l = userdata;

        if (l->audit_key && ev->has_syscall && !event_has_key(ev, l->audit_key))
                return;
        if (l->event_hook)
                l->event_hook(ev, l->userdata);
        tracker_handle_event(l->tracker, ev);
}

int ledger_new(const LedgerOptions *o, LedgerSink sink, void *userdata, Ledger **ret) {
        _cleanup_(ledger_freep) Ledger *l = NULL;
        int r;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->sink = sink;
        l->userdata = userdata;
        l->pseudonymizer = o->pseudonymizer;
        l->event_hook = o->event_hook;
        if (o->audit_key && !(l->audit_key = strdup(o->audit_key)))
                return -ENOMEM;

        r = tracker_new(&o->tracker, on_action, l, &l->tracker);
        if (r < 0)
                return r;
        r = audit_decoder_new(on_event, l, &l->decoder);
        if (r < 0)
                return r;
        if (o->line_filter)
                audit_decoder_set_filter(l->decoder, o->line_filter, o->line_filter_userdata);
        if (o->fd_resolver)
                tracker_set_fd_resolver(l->tracker, o->fd_resolver, o->fd_resolver_userdata);

        *ret = TAKE_PTR(l);
        return 0;
}

Ledger *ledger_free(Ledger *l) {
        if (!l)
                return NULL;
        audit_decoder_free(l->decoder);
        tracker_free(l->tracker);
        char_buffer_done(&l->record);
        free(l->audit_key);
        free(l);
        return NULL;
}

int ledger_feed(Ledger *l, const char *data, size_t size) {
        int r = audit_decoder_feed(l->decoder, data, size);
        if (r < 0)
                return r;
        return l->error;
}

int ledger_flush(Ledger *l) {
        int r = audit_decoder_flush(l->decoder);
        if (r < 0)
                return r;
        return l->error;
}

void ledger_age(Ledger *l) {
        audit_decoder_age(l->decoder);
}

int ledger_gap(Ledger *l, uint64_t sec, unsigned msec, uint64_t serial,
               uint64_t lost, bool lost_known, const char *reason) {
        Action a = {
                .op = ACTION_GAP,
                .sec = sec,
                .msec = msec,
                .serial = serial,
                .fd = -1,
                .offset = OFFSET_UNKNOWN,
                .flags = -1,
                .lost = lost,
                .lost_known = lost_known,
                .reason = reason,
        };

        on_action(&a, l);
        return l->error;
}

Tracker *ledger_get_tracker(Ledger *l) {
        return l->tracker;
}

AuditDecoder *ledger_get_decoder(Ledger *l) {
        return l->decoder;
}

AuditDecoderStats ledger_get_decoder_stats(const Ledger *l) {
        return audit_decoder_get_stats(l->decoder);
}

