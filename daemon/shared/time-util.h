/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>
#include <time.h>

#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC  1000000000ULL
#define USEC_PER_MSEC 1000ULL
#define USEC_PER_SEC  1000000ULL
#define MSEC_PER_SEC  1000ULL

/* The one clock reader: clock_gettime() cannot fail for the clocks fsmon
 * uses (CLOCK_MONOTONIC, CLOCK_REALTIME), so no error to pass on. */
static inline uint64_t timespec_to_nsec(const struct timespec *ts) {
        return (uint64_t) ts->tv_sec * NSEC_PER_SEC + (uint64_t) ts->tv_nsec;
}

static inline uint64_t now_nsec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return timespec_to_nsec(&ts);
}

static inline uint64_t now_usec(clockid_t clock) {
        return now_nsec(clock) / NSEC_PER_USEC;
}

static inline uint64_t now_msec(clockid_t clock) {
        return now_nsec(clock) / NSEC_PER_MSEC;
}
