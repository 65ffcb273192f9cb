/*
 * wkinds.h - two test worker kinds for the runtime's unit tests, and a way
 * to run worker_main on them against fake_mw.
 *
 *   stateless, stage filter: every input yields two outputs, one to
 *     agg-q2 shard 0 and one to agg-q3 shard 0, with the input's stream,
 *     seq and body; an input whose body is "rej:N" gets N rows rejected
 *     (worker_reject), one whose body is "oom!" fails with CS_ERR_NOMEM. on_finish declares the flows users -> agg-q2.0 and
 *     agg-q3.0 with the finish's count of "users".
 *   stateful, stage agg-q2: per session it keeps the number of inputs and
 *     the concatenation of their bodies; on_finish emits two chunks to
 *     sink shard 0, stream "q2": seq 0 "n=<count>", seq 1 the concatenation
 *     (and, with wk_results, one result chunk to the session's gateway).
 *
 * Every handler call is recorded (wk_calls), with the index of the next
 * fake_mw event at that moment, so tests can place it among the runtime's
 * calls to the middleware.
 */
#ifndef CS_WKINDS_H
#define CS_WKINDS_H

#include "worker.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wk_call_type {
    WK_OPEN,
    WK_BATCH,
    WK_FINISH,
    WK_CLOSE
};

struct wk_call {
    enum wk_call_type type;
    enum plan_stage_id stage;
    char sess[40];
    char queue[64], stream[48];
    int64_t seq;
    char body[64];
    int64_t finish_n; /* WK_FINISH: worker_finish_count(ws, "users") */
    size_t ev;        /* fake_mw_nevents() at the call */
};

#define WK_MAX_CALLS 256

extern struct wk_call wk_calls[WK_MAX_CALLS];
extern size_t wk_ncalls;
extern bool wk_results; /* stateful on_finish also sends a result chunk */

/* Forgets the recorded calls and resets wk_results. */
void wk_reset(void);

/* Configures the runtime through its environment: stage name, state root,
 * WORKER_ACK_BATCH, CS_REPLICAS (NULL: every stage 1) and CS_REPLICA_ID
 * (NULL: "0"); CS_FSYNC=batch, no claim wait, CS_FAULT unset. */
void wk_env(const char *stage, const char *state_root, int ack_batch,
            const char *replicas, const char *replica_id);

/* worker_main on the two kinds (stage from wk_env); its exit status. */
int wk_run(void);

/* Number of WK_BATCH calls for (sess, seq) (any stream). */
int wk_batches(const char *sess, int64_t seq);

/* Index of the first call of type t for sess (NULL: any) at or after from,
 * or -1. */
long wk_find(size_t from, enum wk_call_type t, const char *sess);

/* Scripts a data message (session, stream, seq; producer "upstream-0")
 * with a text body on queue. */
void wk_deliver(const char *queue, const char *sess, const char *stream,
                int64_t seq, const char *body, bool redelivered);

/* A log record of the runtime (workers/runtime/wlog.c: kind 1, input index,
 * stream, seq, rejected rows, body) into out (size n); its length. */
size_t wk_rec(uint8_t *out, size_t n, int input, const char *stream,
              int64_t seq, int64_t rejected, const char *body);

#endif
