/*
 * clock.c - thin wrappers over clock_gettime (see clock.h).
 */
#include "clock.h"

#include <time.h>

static int64_t ns_of(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t clock_mono_ns(void)
{
    return ns_of(CLOCK_MONOTONIC);
}

int64_t clock_mono_ms(void)
{
    return ns_of(CLOCK_MONOTONIC) / 1000000;
}

double clock_mono_s(void)
{
    return (double)ns_of(CLOCK_MONOTONIC) / 1e9;
}

int64_t clock_wall_ms(void)
{
    return ns_of(CLOCK_REALTIME) / 1000000;
}

struct timespec clock_deadline(clockid_t id, int ms)
{
    struct timespec ts = {0, 0};

    (void)clock_gettime(id, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}
