/*
 * procs.h - the table of slots the monitors keep alive, and the decisions
 * (pure logic: no processes, no sockets, no clock of its own; times are
 * monotonic milliseconds passed by the caller).
 *
 * Every monitor keeps the same table from what it observes: backend events
 * (backend.h: a slot exists, runs as a ref, exited) and heartbeats matched
 * to (slot, ref). Only the leader asks procs_due() what to do and executes
 * it; a follower's table is as fresh as the leader's, so it can take over at
 * once.
 *
 * States of a slot:
 *   UNKNOWN   nothing heard yet (the monitor just started): after adopt_ms
 *             the leader starts it
 *   STARTING  started (by us: START; or seen running), no heartbeat yet: it
 *             has start_grace_ms to send its first one, or it is hung
 *   UP        heartbeats arrive; none for hung_ms -> HUNG
 *   HUNG      silent: the leader kills it (again every kill_retry_ms until
 *             its exit is seen), then it is DOWN
 *   DOWN      exited without meaning to: restarted after a backoff that
 *             starts at backoff_min_ms, doubles per crash up to
 *             backoff_max_ms, and resets once the slot stayed up stable_ms
 *   STOPPED   stopped on purpose (a "bye" heartbeat, an exit status 0 or a
 *             deliberate backend event): never restarted; a new incarnation
 *             that heartbeats (started by someone else) brings it back UP
 *
 * Two incarnations heartbeating for one slot (a second leader started one
 * for a moment): the older one (first heard earlier) stays, the newer is
 * killed once it has heartbeated for dup_grace_ms. An exit of a ref that is
 * not the current one changes nothing; heartbeats of refs seen to exit are
 * ignored.
 *
 * A slot is unhealthy while it has been DOWN, HUNG or not yet up for longer
 * than down_bound_ms (a deliberate stop is healthy).
 *
 * Decisions are logged (info for the leader, debug for a follower), one
 * line each.
 */
#ifndef CS_MONITOR_PROCS_H
#define CS_MONITOR_PROCS_H

#include "backend.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct procs_cfg {
    int64_t backoff_min_ms;
    int64_t backoff_max_ms;
    int64_t stable_ms;
    int64_t hung_ms;
    int64_t start_grace_ms;
    int64_t down_bound_ms;
    int64_t adopt_ms;
    int64_t kill_retry_ms;
    int64_t dup_grace_ms;
};

/* The defaults named in the monitor's --help. */
#define PROCS_CFG_DEFAULTS                                                     \
    {                                                                          \
        .backoff_min_ms = 200, .backoff_max_ms = 5000, .stable_ms = 30000,     \
        .hung_ms = 5000, .start_grace_ms = 30000, .down_bound_ms = 10000,      \
        .adopt_ms = 1500, .kill_retry_ms = 2000, .dup_grace_ms = 1000          \
    }

enum procs_state {
    PROCS_UNKNOWN,
    PROCS_STARTING,
    PROCS_UP,
    PROCS_HUNG,
    PROCS_DOWN,
    PROCS_STOPPED,
};

const char *procs_state_name(enum procs_state s);

enum procs_act_kind {
    PROCS_START,
    PROCS_KILL
};

struct procs_action {
    enum procs_act_kind kind;
    char slot[BACKEND_NAME_MAX];
    char ref[BACKEND_REF_MAX]; /* KILL: the incarnation to kill */
};

struct procs;

/* An empty table at time now (adopt_ms counts from here). NULL when out of
 * memory. */
struct procs *procs_create(const struct procs_cfg *cfg, int64_t now);
void procs_destroy(struct procs *p);

/* Leaders log their decisions at info, followers at debug. */
void procs_set_leader(struct procs *p, bool leader);

/* Adds slot `name` (idempotent); 0, or -1 when out of memory or the name
 * is empty or too long. */
int procs_add(struct procs *p, const char *name)
    __attribute__((warn_unused_result));

/* A backend event (BEV_SLOT adds the slot); events for unknown slots other
 * than BEV_SLOT are ignored. 0, or -1 when out of memory. */
int procs_on_event(struct procs *p, const struct backend_event *ev)
    __attribute__((warn_unused_result));

/* A heartbeat of incarnation `ref` (pid, 0 if unknown) of slot `slot`. */
void procs_on_heartbeat(struct procs *p, const char *slot, const char *ref,
                        long pid, bool bye, int64_t now);

/* Moves slots along with time (UP -> HUNG, a start that never showed up ->
 * DOWN); every monitor calls it. */
void procs_tick(struct procs *p, int64_t now);

/* The leader's actions due at `now`, at most max (the rest come next
 * time); marks them issued, so they are not repeated before their retry
 * time. */
size_t procs_due(struct procs *p, int64_t now, struct procs_action *out,
                 size_t max);

/* START of slot failed at once (logged by the backend): a crash for the
 * backoff. */
void procs_start_failed(struct procs *p, const char *slot, int64_t now);

/* The earliest time at which procs_tick (and, for a leader, procs_due) has
 * something to do; INT64_MAX: nothing. */
int64_t procs_next_deadline(const struct procs *p, int64_t now, bool leader);

struct procs_info {
    char name[BACKEND_NAME_MAX];
    enum procs_state state;
    char ref[BACKEND_REF_MAX]; /* "" when none */
    long pid;
    int64_t heartbeat_age_ms; /* -1: no heartbeat from this incarnation */
    unsigned restarts;        /* new incarnations after a death or a hang */
    int64_t up_ms;            /* UP: since the first heartbeat; else 0 */
    int64_t down_ms;          /* not up: since when; else 0 */
    int last_exit;            /* last exit status seen, -1: unknown/none */
    int64_t detect_ms;        /* last death: detection delay, -1: none */
    int64_t restart_ms;       /* last restart: detection -> first heartbeat */
    bool unhealthy;
};

size_t procs_count(const struct procs *p);
/* Slot i (0..count-1, in the order added) at time now; 0 or -1. */
int procs_info(const struct procs *p, size_t i, int64_t now,
               struct procs_info *out);
/* Is slot `name` known? */
bool procs_has(const struct procs *p, const char *name);

#endif
