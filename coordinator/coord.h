/*
 * coord.h - the end-of-stream state machine of the coordinator.
 *
 * Pure logic: no sockets, no AMQP. The caller decodes control messages
 * (common/ctl.h), feeds them to coord_handle() one at a time, and publishes
 * what the machine emits through a callback. Nothing here blocks.
 *
 * Progress is counted in *flows*: the messages of one stream into one queue
 * (stream "transactions" into queue "agg-q3.1"), with ids (seqs) 0..n-1.
 * Per session, every flow has
 *   expected  n, declared by the done messages of the stage that feeds the
 *             queue (the gateway for filter queues). Declarations are
 *             idempotent: every copy declares the same n, and a different n
 *             is logged as a violation and ignored;
 *   ids       the set of ids the consuming stage reported processed, the
 *             union of every report of every replica, so duplicated, late,
 *             replayed or re-sent reports change nothing, and a replica that
 *             restarts with empty memory cannot lower what was counted.
 *
 * Per session and stage:
 *
 *   WAITING   --(every upstream stage FINISHING or
 *                COMPLETE; the gateway: COMPLETE)-------> send drain  DRAINING
 *   DRAINING  --(every upstream stage COMPLETE and every
 *                flow into the stage's queues
 *                has ids == {0..n-1})----------------------> send finish FINISHING
 *   FINISHING --(done from every replica; from any one
 *                for a stateless stage: the filter)----------------> COMPLETE
 *
 * A stage is drained while its upstream finishes (its inputs are all
 * processed then, and only its last outputs and their declarations are
 * on their way), so the stage's reports already flow when the upstream's
 * dones declare the flows: one round trip less per stage than draining it
 * after the upstream completed. Its flows are only judged once every
 * upstream stage is complete (their dones declared them all).
 *
 * The gateway stage has no drain/finish: it is COMPLETE on its done. When
 * the sink is COMPLETE the session is over and its state is freed. Rejected
 * rows come with the reports, per input id, and are added once per id.
 *
 * A replica that (re)starts sends hello: it gets drain or finish again for
 * every session its stage is draining or finishing, and abort for every
 * session it still holds that already ended.
 *
 * Messages for sessions that ended (completed or aborted) are ignored:
 * tombstones (common/tombs.h, optionally persisted by the caller) keep late,
 * redelivered messages from resurrecting state. A done or report for a
 * session not seen yet creates it (its session_start may be redelivered
 * after them when the coordinator restarts). Memory is proportional to the
 * active sessions and their flows.
 */
#ifndef CS_COORD_H
#define CS_COORD_H

#include "err.h"
#include "plan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctl_msg;
struct coord;
struct tombs;

/* How many ended session ids an own tombstone set remembers. */
#define COORD_TOMBSTONES 4096

/* The machine's range of the one error space (err.h). */
enum coord_err {
    COORD_OK = CS_OK,
    COORD_ERR_NOMEM =
        CS_ERR_NOMEM, /* a session or flow could not be allocated */
    COORD_ERR_EMIT =
        CS_ERR_COORD_EMIT, /* the emit callback failed (it reports why) */
};

enum coord_state {
    COORD_WAITING = 0, /* some upstream stage is not complete yet */
    COORD_DRAINING,    /* drain sent, waiting for every flow's ids */
    COORD_FINISHING,   /* finish sent, waiting for the replicas' done */
    COORD_COMPLETE,    /* done */
};

/* Called for every message the machine sends. `routing_key` is a stage name,
 * "<stage>.<replica>" (one replica) or PLAN_CONTROL_ALL; `m` and
 * `routing_key` are borrowed for the duration of the call. Returns 0, or a
 * negative value on failure: the machine then stops emitting for the
 * current call (its state has already advanced) and coord_handle() and
 * friends return COORD_ERR_EMIT, which the caller should treat as fatal. */
typedef int (*coord_emit_fn)(void *arg, const char *routing_key,
                             const struct ctl_msg *m);

/* Milliseconds from a monotonic clock (for elapsed times and resends). */
typedef uint64_t (*coord_clock_fn)(void *arg);

struct coord_stats {
    uint64_t started;    /* sessions registered */
    uint64_t completed;  /* sessions whose sink completed */
    uint64_t aborted;    /* sessions dropped by an abort */
    uint64_t violations; /* ids beyond expected, or conflicting declarations */
    uint64_t ignored;    /* messages ignored (ended session, bad field) */
    uint64_t resent; /* drain/finish messages re-sent (timer, hello, resume) */
    uint64_t failed; /* sessions failed: a stage had no live replica */
};

/* Creates a machine for plan p (copied). `tombs` (borrowed, must outlive
 * the machine) holds the ended sessions, e.g. loaded from a state directory;
 * NULL: an own in-memory set of COORD_TOMBSTONES. NULL on allocation
 * failure. */
struct coord *coord_create(const struct plan *p, struct tombs *tombs);

/* Frees everything (not a borrowed tombstone set). NULL is a no-op. */
void coord_destroy(struct coord *c);

/* Replaces the clock (default: CLOCK_MONOTONIC). `arg` is borrowed until
 * the machine is destroyed or the clock replaced. For tests. */
void coord_set_clock(struct coord *c, coord_clock_fn fn, void *arg);

/* A stage that stays DRAINING or FINISHING for `ms` without progress (ids
 * added, or a new done) gets its drain or finish again on the next
 * coord_tick(). 0 (the default) disables resends. Workers treat repeated
 * drain/finish as no-ops. */
void coord_set_resend(struct coord *c, uint64_t ms);

/* Liveness of the stages: the caller reports, about once a second, whether
 * stage s has at least one live replica (e.g. a consumer on one of its
 * control queues). A session whose next stage to complete has had no live
 * replica for notice_ms gets a `status` to its gateway naming the stage
 * (and an empty one when the stage is back); after fail_ms it fails: `end`
 * with status "error" and the reason to its gateway, `abort` to every
 * stage, and it ends (tombstoned). fail_ms 0: never fail. Both 0 by
 * default (off). `end` and `status` are emitted with the session's gateway
 * id as routing key: the caller sends them to the results exchange. */
void coord_set_stage_limits(struct coord *c, uint64_t notice_ms,
                            uint64_t fail_ms);
void coord_stage_live(struct coord *c, enum plan_stage_id s, bool live);

/* Called with the id of every session that ends (completes, is aborted or
 * fails), e.g. to delete its log. NULL: none. */
typedef void (*coord_end_fn)(void *arg, const char *session);
void coord_set_end_hook(struct coord *c, coord_end_fn fn, void *arg);

/* ---- session snapshots (the control plane's view, cs.events) ----
 *
 * What the machine knows of one session, computed on demand by a pure
 * function: its phase, the processed and expected messages of every stage
 * with an input queue, and the rejected rows per table. The phase maps the
 * stages' states: streaming while the gateway stage is not complete (the
 * client still sends), finishing once the sink is finishing (results are
 * being sent), draining in between; done, failed or aborted at the end. */
enum coord_phase {
    COORD_PHASE_STREAMING = 0,
    COORD_PHASE_DRAINING,
    COORD_PHASE_FINISHING,
    COORD_PHASE_DONE,
    COORD_PHASE_FAILED,
    COORD_PHASE_ABORTED,
    COORD_NPHASES,
};

#define COORD_SNAP_ID 40      /* session id + NUL (CTL_ID_MAX) */
#define COORD_SNAP_REASON 256 /* error or abort reason + NUL */

struct coord_snap {
    char session[COORD_SNAP_ID];
    char gateway[COORD_SNAP_ID + 24]; /* the session's reply-to, or "" */
    enum coord_phase phase;
    uint64_t age_ms; /* since the machine first saw the session */
    struct {
        enum coord_state state;
        int64_t processed; /* ids reported, summed over the stage's flows */
        int64_t expected;  /* messages declared so far */
    } stage[PLAN_NSTAGES]; /* [PLAN_GATEWAY] has no input: counts are 0 */
    int64_t rejected[PLAN_NTABLES]; /* summed over the stages */
    char client[64];                /* the client's name, or "" */
    char folder[128];               /* the data folder it streams, or "" */
    int64_t rows_sent; /* rows the gateway received; -1: not known yet */
    int64_t bytes_sent;
    /* ms since the client's last batch was confirmed (the gateway's done),
     * -1 while it streams: at the end, the drain (EOF) latency */
    int64_t drain_ms;
    char reason[COORD_SNAP_REASON]; /* failed or aborted: why; else "" */
};

/* Fills *out with the snapshot of an active session. 0, or -1 when the
 * session is not active. */
int coord_snapshot(const struct coord *c, const char *session,
                   struct coord_snap *out);

/* Calls fn(arg, id) for every active session (id borrowed for the call).
 * fn must not change the machine. */
typedef void (*coord_each_fn)(void *arg, const char *session);
void coord_foreach(const struct coord *c, coord_each_fn fn, void *arg);

/* Called with the last snapshot of every session that ends (done, failed
 * or aborted), before the end hook; `s` is borrowed for the call. NULL:
 * none. */
typedef void (*coord_final_fn)(void *arg, const struct coord_snap *s);
void coord_set_final_hook(struct coord *c, coord_final_fn fn, void *arg);

/* "streaming", "draining", "finishing", "done", "failed", "aborted"; "?"
 * if out of range. */
const char *coord_phase_name(int phase);

/* Percent of stage s of a snapshot: 100 when the stage is complete, else
 * processed of expected (declared so far), at most 99; 0 while nothing is
 * declared. */
int coord_snap_percent(const struct coord_snap *snap, enum plan_stage_id s);

/* The snapshot as one JSON object (docs/ARCHITECTURE.md, "Control plane"):
 * started_ms and ended_ms are wall-clock milliseconds (ended_ms < 0: not
 * ended), given by the caller. Returns a malloc'd NUL-terminated string
 * (the caller frees it), or NULL when out of memory. */
char *coord_snap_json(const struct coord_snap *snap, int64_t started_ms,
                      int64_t ended_ms);

/* Applies one control message (borrowed) and emits the resulting messages
 * through emit(arg, ...), in order. Invalid fields and ended sessions are
 * logged and ignored (that is not an error).
 * Returns 0, COORD_ERR_NOMEM or COORD_ERR_EMIT. */
int coord_handle(struct coord *c, const struct ctl_msg *in, coord_emit_fn emit,
                 void *arg) __attribute__((warn_unused_result));

/* Re-sends drain/finish to every stage of every active session that is
 * draining or finishing: after the machine was rebuilt by replaying its log
 * (with an emit that discards), so that commands lost with the previous
 * process reach the workers. Returns 0 or COORD_ERR_EMIT. */
int coord_resume(struct coord *c, coord_emit_fn emit, void *arg)
    __attribute__((warn_unused_result));

/* Re-sends drain/finish to stages silent for the resend interval (see
 * coord_set_resend) and applies the stage limits (coord_set_stage_limits).
 * It scans every active session: call it about once a second, not after
 * every message. Returns 0 or COORD_ERR_EMIT. */
int coord_tick(struct coord *c, coord_emit_fn emit, void *arg)
    __attribute__((warn_unused_result));

/* True once a shutdown message was handled: the caller should exit. */
bool coord_stopping(const struct coord *c);

/* ---- introspection (tests, logs) ---- */

/* Number of active sessions. */
size_t coord_sessions(const struct coord *c);

/* True when `session` is active. */
bool coord_active(const struct coord *c, const char *session);

/* State of stage s of an active session (enum coord_state), or -1 when the
 * session is not active or s is out of range. */
int coord_stage_state(const struct coord *c, const char *session,
                      enum plan_stage_id s);

/* Processed ids (summed over the queue's flows) and expected messages
 * (declared so far) of input queue `queue` (e.g. "agg-q2.1") of an active
 * session. Returns 0, or -1 when the session is not active or the queue
 * unknown. */
int coord_queue_counts(const struct coord *c, const char *session,
                       const char *queue, int64_t *processed,
                       int64_t *expected);

/* Rejected rows of table t reported by stage s so far (0 when the session
 * is not active). */
int64_t coord_rejected(const struct coord *c, const char *session,
                       enum plan_stage_id s, enum plan_table t);

/* True when the session ended (completed or aborted) and is remembered. */
bool coord_ended(const struct coord *c, const char *session);

void coord_get_stats(const struct coord *c, struct coord_stats *out);

/* "waiting", "draining", "finishing", "complete"; "?" if out of range. */
const char *coord_state_name(int state);

#endif
