/*
 * backend.h - how the monitor acts on the things it keeps alive: local
 * processes (local.c) or the containers of a Docker Compose project
 * (docker.c). The monitor's logic (procs.c, elect.c) decides; a backend
 * only observes and executes.
 *
 * A *slot* is one thing to keep alive, named like the heartbeats it sends
 * (hb.h): "coordinator", "gateway", "filter-0", "agg-q2-1", "sink-0", and
 * "monitor-<id>" for the monitors themselves. A backend knows its slots
 * from its configuration (the local spec file, or the Compose project's
 * containers) and reports what happens to them as events.
 *
 * Threads: backend_poll() is called from the monitor's main loop only; a
 * backend may run its own threads (e.g. Docker's event stream) and hand
 * their events over through backend_poll().
 */
#ifndef CS_MONITOR_BACKEND_H
#define CS_MONITOR_BACKEND_H

#include "hb.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BACKEND_NAME_MAX 64
#define BACKEND_REF_MAX 80 /* a pid as text, or a container id */

enum backend_event_kind {
    BEV_SLOT,    /* a slot exists (first listing, or a new container) */
    BEV_RUNNING, /* the slot runs as `ref` (a spawn, a container start) */
    BEV_EXITED,  /* the slot's process/container ended */
    BEV_GONE,    /* the slot no longer exists (container removed) */
};

struct backend_event {
    enum backend_event_kind kind;
    char slot[BACKEND_NAME_MAX];
    char ref[BACKEND_REF_MAX]; /* pid or container id of the incarnation */
    long pid;                  /* local: the pid; docker: 0 */
    int exit_status; /* BEV_EXITED: exit code, 128+signal, -1 unknown */
    bool deliberate; /* BEV_EXITED: stopped on purpose (docker stop,
                                  compose stop/down): never restart */
    int64_t at_ms;   /* monotonic ms the backend saw it */
};

struct backend;

struct backend_ops {
    const char *name; /* "local" or "docker" */
    /* Reads the configuration; NULL on error (logged). */
    struct backend *(*create)(const char *config);
    void (*destroy)(struct backend *b);
    /* Up to max pending events into out; returns how many. Waits at most
     * timeout_ms for the first one (0: poll). */
    size_t (*poll)(struct backend *b, struct backend_event *out, size_t max,
                   int timeout_ms);
    /* Starts slot (a new process / `docker start`); idempotent when it
     * already runs. 0 or -1 (logged). */
    int (*start)(struct backend *b, const char *slot);
    /* Kills the incarnation `ref` of slot (SIGKILL / docker kill); a
     * stale ref (already gone) is not an error. 0 or -1 (logged). */
    int (*kill)(struct backend *b, const char *slot, const char *ref);
    /* Maps a heartbeat to the slot and incarnation it comes from (local:
     * slot = the heartbeat's name, ref = its pid; docker: the container
     * whose hostname is the heartbeat's host). false when it belongs to
     * nothing this backend manages. */
    bool (*match)(struct backend *b, const struct hb_msg *m, char *slot,
                  size_t slotsz, char *ref, size_t refsz);
    /* A descriptor that polls readable when poll() has events to hand over
     * (local: an epoll set of pidfds; docker: e.g. a pipe its event thread
     * writes to), so that the monitor waits on it and on its socket in one
     * poll(2) and then calls poll() with timeout 0. -1: none (the monitor
     * then calls poll() at least every 100 ms). May be NULL (same as -1). */
    int (*event_fd)(struct backend *b);
};

extern const struct backend_ops backend_local;
extern const struct backend_ops backend_docker;

#endif
