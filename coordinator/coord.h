/*
 * coord.h - the end-of-stream state machine of the coordinator.
 *
 * Pure logic: no sockets, no AMQP. The caller decodes control messages
 * (common/ctl.h), feeds them to coord_handle() one at a time, and publishes
 * what the machine emits through a callback. Nothing here blocks.
 *
 * Per session and stage:
 *
 *   WAITING   --(every upstream stage COMPLETE)-------> send drain  DRAINING
 *   DRAINING  --(for each input queue q:
 *                sum over replicas of processed[q]
 *                == expected[q])-------------------------> send finish FINISHING
 *   FINISHING --(done from every replica 0..N-1)-------------------> COMPLETE
 *
 * expected[q] is the sum of counts[q] of the done messages of the stages
 * that feed q; processed[q][r] is the largest count replica r reported for q
 * (reports are cumulative, so duplicates and stale reports change nothing).
 * The gateway stage has no drain/finish: it is COMPLETE on its one done.
 * When the sink is COMPLETE the session is over and its state is freed.
 *
 * Messages for sessions that ended (completed or aborted) are ignored: a
 * bounded ring of recently ended ids (COORD_TOMBSTONES) keeps late,
 * redelivered messages from resurrecting state. Memory is otherwise
 * proportional to the number of active sessions.
 */
#ifndef CS_COORD_H
#define CS_COORD_H

#include "plan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctl_msg;
struct coord;

/* How many ended session ids are remembered (oldest forgotten first). */
#define COORD_TOMBSTONES 4096

enum coord_err {
    COORD_OK = 0,
    COORD_ERR_NOMEM = -1, /* a new session could not be allocated */
    COORD_ERR_EMIT = -2,  /* the emit callback failed (it reports why) */
};

enum coord_state {
    COORD_WAITING = 0, /* some upstream stage is not complete yet */
    COORD_DRAINING,    /* drain sent, waiting for processed == expected */
    COORD_FINISHING,   /* finish sent, waiting for every replica's done */
    COORD_COMPLETE,    /* every replica sent done */
};

/* Called for every message the machine sends. `routing_key` is a stage name
 * or PLAN_CONTROL_ALL; `m` and `routing_key` are borrowed for the duration
 * of the call. Returns 0, or a negative value on failure: the machine then
 * stops emitting for the current call (its state has already advanced) and
 * coord_handle()/coord_tick() return COORD_ERR_EMIT, which the caller should
 * treat as fatal. */
typedef int (*coord_emit_fn)(void *arg, const char *routing_key,
                             const struct ctl_msg *m);

/* Milliseconds from a monotonic clock (for elapsed times and resends). */
typedef uint64_t (*coord_clock_fn)(void *arg);

struct coord_stats {
    uint64_t started;    /* sessions registered */
    uint64_t completed;  /* sessions whose sink completed */
    uint64_t aborted;    /* sessions dropped by an abort */
    uint64_t violations; /* processed > expected observed */
    uint64_t ignored;    /* messages ignored (unknown/ended session, bad field) */
    uint64_t resent;     /* drain/finish messages re-sent by coord_tick */
};

/* Creates a machine for plan p (copied). NULL on allocation failure. */
struct coord *coord_create(const struct plan *p);

/* Frees everything. NULL is a no-op. */
void coord_destroy(struct coord *c);

/* Replaces the clock (default: CLOCK_MONOTONIC). `arg` is borrowed until
 * the machine is destroyed or the clock replaced. For tests. */
void coord_set_clock(struct coord *c, coord_clock_fn fn, void *arg);

/* A stage that stays DRAINING or FINISHING for `ms` without progress (a
 * report that raises a count, or a new done) gets its drain or finish again
 * on the next coord_tick(): a control message can be lost when a stage has no
 * bound control queue for a moment (replicas restarting). 0 (the default)
 * disables resends. Workers must treat repeated drain/finish as no-ops. */
void coord_set_resend(struct coord *c, uint64_t ms);

/* Applies one control message (borrowed) and emits the resulting messages
 * through emit(arg, ...), in order. Invalid fields, unknown or ended
 * sessions are logged and ignored (that is not an error).
 * Returns 0, COORD_ERR_NOMEM or COORD_ERR_EMIT. */
int coord_handle(struct coord *c, const struct ctl_msg *in, coord_emit_fn emit,
                 void *arg) __attribute__((warn_unused_result));

/* Re-sends drain/finish to stages silent for the resend interval (see
 * coord_set_resend). It scans every active session: call it about once a
 * second, not after every message. Returns 0 or COORD_ERR_EMIT. */
int coord_tick(struct coord *c, coord_emit_fn emit, void *arg)
    __attribute__((warn_unused_result));

/* True once a shutdown message was handled: the caller should exit. */
bool coord_stopping(const struct coord *c);

/* ---- introspection (tests, logs) ---- */

/* Number of active sessions. */
size_t coord_sessions(const struct coord *c);

/* State of stage s of an active session (enum coord_state), or -1 when the
 * session is not active or s is out of range. */
int coord_stage_state(const struct coord *c, const char *session,
                      enum plan_stage_id s);

/* Processed (summed over replicas) and expected counts of input queue
 * `queue` (e.g. "agg-q2.1") of an active session. Returns 0, or -1 when the
 * session is not active or the queue unknown. */
int coord_queue_counts(const struct coord *c, const char *session,
                       const char *queue, int64_t *processed, int64_t *expected);

/* Rejected rows of table t reported by the done messages of stage s so far
 * (0 when the session is not active). */
int64_t coord_rejected(const struct coord *c, const char *session,
                       enum plan_stage_id s, enum plan_table t);

/* True when the session ended (completed or aborted) recently enough to be
 * remembered among the last COORD_TOMBSTONES. */
bool coord_ended(const struct coord *c, const char *session);

void coord_get_stats(const struct coord *c, struct coord_stats *out);

/* "waiting", "draining", "finishing", "complete"; "?" if out of range. */
const char *coord_state_name(int state);

#endif
