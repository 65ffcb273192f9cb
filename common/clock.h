/*
 * clock.h - the process's clocks: monotonic time for durations, deadlines
 * and rates, wall-clock time for timestamps that cross processes.
 */
#ifndef CS_CLOCK_H
#define CS_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic time in nanoseconds, milliseconds and seconds. */
int64_t clock_mono_ns(void);
int64_t clock_mono_ms(void);
double clock_mono_s(void);

/* Wall-clock time in milliseconds since the epoch. */
int64_t clock_wall_ms(void);

/* The time ms milliseconds from now on clock `id`, as an absolute
 * deadline for pthread_cond_timedwait (the clock the condition variable
 * was made with: CLOCK_REALTIME by default). */
struct timespec clock_deadline(clockid_t id, int ms);

#endif
