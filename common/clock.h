/*
 * clock.h - the process's clocks: monotonic time for durations, deadlines
 * and rates, wall-clock time for timestamps that cross processes.
 */
#ifndef CS_CLOCK_H
#define CS_CLOCK_H

#include <stdint.h>

/* Monotonic time in nanoseconds, milliseconds and seconds. */
int64_t clock_mono_ns(void);
int64_t clock_mono_ms(void);
double clock_mono_s(void);

/* Wall-clock time in milliseconds since the epoch. */
int64_t clock_wall_ms(void);

#endif
