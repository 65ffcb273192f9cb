/*
 * fault.h - deterministic crash points, for tests.
 *
 * CS_FAULT="point[:n][,point[:n]...]" makes the process kill itself with
 * SIGKILL (exactly what `kill -9` does: no exit handlers, no flushing) the
 * n-th time (default: the first) it passes the named point. Points are
 * named "<component>.<where>", e.g. "worker.after_fsync_before_ack"; the
 * list of points is in docs/ARCHITECTURE.md ("Crash points"). Unset, a
 * point costs one predictable branch.
 */
#ifndef CS_FAULT_H
#define CS_FAULT_H

#include <stdbool.h>

extern bool fault_armed;

/* Reads CS_FAULT; returns 0, or -1 (message on stderr) when malformed. */
int fault_init(void);

void fault_hit(const char *point);

/* Marks a crash point. */
#define FAULT_POINT(name)                                                      \
    do {                                                                       \
        if (fault_armed)                                                       \
            fault_hit(name);                                                   \
    } while (0)

#endif
