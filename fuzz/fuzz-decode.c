/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The whole ledger (decoder, tracker, pseudonyms, encoder) on arbitrary
 * bytes, fed in chunks whose size comes from the input's first byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ledger.h"
#include "shared/log.h"
#include "store/segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(const char *record, size_t len, const Action *a, void *userdata) {
        size_t *total = userdata;
        uint64_t serial;

        /* Every record is one JSON object on one line, and passes the
         * spool's full record check with its own serial: what lets fsmond
         * hand the encoder's records to spool_append_encoded(), which only
         * checks the framing. */
        if (len < 2 || record[0] != '{' || record[len - 1] != '}' || memchr(record, '\n', len))
                abort();
        if (segment_record_check(record, len, &serial) < 0 || serial != a->serial)
                abort();
        *total += len;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const uint8_t key[PSEUDONYM_KEY_SIZE] = { 42 };
        static Pseudonymizer *p = NULL;
        Ledger *l = NULL;
        LedgerOptions o = { .tracker = { .with_ids = true, .max_processes = 64 } };
        size_t total = 0, chunk;

        if (!p && pseudonymizer_new(key, &p) < 0)
                abort();
        o.pseudonymizer = size > 0 && (data[0] & 1) ? p : NULL;
        chunk = size > 0 ? (size_t) data[0] * 7 + 1 : 1;

        if (ledger_new(&o, sink, &total, &l) < 0)
                abort();
        for (size_t i = 0; i < size; i += chunk)
                (void) ledger_feed(l, (const char *) data + i, MIN(chunk, size - i));
        (void) ledger_flush(l);
        ledger_free(l);
        return 0;
}
