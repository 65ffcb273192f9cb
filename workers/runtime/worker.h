/*
 * worker.h - the one runtime every worker kind runs on.
 *
 * A worker kind is a table of handlers (struct worker_ops) plugged into
 * worker_main(). The runtime owns everything else: configuration, the AMQP
 * connection, topology, the consume -> handle -> commit -> ack loop, the
 * per-session side of the EOF protocol (reports of processed ids, the
 * drain/finish/abort/shutdown control messages), crash recovery and clean
 * shutdown on SIGTERM.
 *
 * Two kinds of stages (plan_stage_sharded):
 *   stateless (the filter): holds nothing per session. Every input yields
 *     its outputs at once; an input is acked after the broker confirmed its
 *     outputs and then a report of its id. A restarted replica starts empty
 *     and loses nothing.
 *   stateful (aggregators, sink): holds per-session state, emits only in
 *     on_finish. Every applied input is logged (CS_STATE_DIR) and the log
 *     fdatasync'ed before the input is acked; on start the logs are replayed
 *     through on_batch (so on_batch must not emit, and must rebuild the same
 *     state from the same inputs in the same order), which also rebuilds the
 *     duplicate filter: a redelivered copy is acked, never applied twice.
 *
 * Message identity: every data message carries (session, stream, seq).
 * Handlers must emit deterministic ids and bytes: the same input (or state)
 * always yields the same (stream, seq) outputs with the same bodies, so a
 * consumer can drop a re-emitted copy and results stay byte-identical.
 */
#ifndef CS_WORKER_H
#define CS_WORKER_H

#include "err.h"
#include "plan.h"

#include <stddef.h>
#include <stdint.h>

struct worker;      /* the runtime (opaque) */
struct worker_sess; /* one session inside the runtime (opaque) */

/* One input data message. Pointers valid during the on_batch call. */
struct worker_msg {
    const char *queue;  /* input queue it came from, e.g. "filter.users" */
    const char *stream; /* producer's stream name, e.g. "transactions" */
    int64_t seq;
    const uint8_t *body;
    size_t len;
};

struct worker_ops {
    enum plan_stage_id stage;
    /* Creates the kind's context (reads its own env config); NULL = fail. */
    void *(*init)(struct worker *w);
    /* Per-session state of the kind; NULL = out of memory. */
    void *(*session_open)(void *ctx, struct worker_sess *ws);
    /* Frees the per-session state (also on abort). */
    void (*session_close)(void *ctx, void *st);
    /* Handles one input batch; may call worker_emit / worker_reject.
     * Returns 0, or a negative error of err.h that stops the worker (out
     * of memory, a broker error passed on from worker_emit: bad rows are
     * counted with worker_reject, never errors). The runtime passes it on
     * unchanged to the log line that says why the worker stopped. */
    int (*on_batch)(void *ctx, void *st, struct worker_sess *ws,
                    const struct worker_msg *m);
    /* Every input of the session is processed: emit what remains. */
    int (*on_finish)(void *ctx, void *st, struct worker_sess *ws);
    /* Frees the context. */
    void (*fini)(void *ctx);
};

/* Runs the worker: parses config (env + flags, --help), connects, declares
 * topology, loops until SIGTERM/SIGINT or a shutdown control message.
 * A binary may offer several kinds (e.g. the aggregator: agg-q2, agg-q3,
 * agg-q4); CS_STAGE / --stage picks one by stage name (default: ops[0]).
 * Returns the process exit status (0 clean, 1 runtime error, 2 config or
 * LOG_LEVEL). */
int worker_main(int argc, char **argv, const struct worker_ops *const *ops,
                size_t nops);

const struct plan *worker_plan(const struct worker *w);
int worker_replica(const struct worker *w);

/* Emits one batch to stage `dest`, routing key = shard index (sharded
 * stages) or table name (the filter). The body is copied (it may be
 * empty). A stateful stage's emits (in on_finish, seqs 0..n-1 per stream)
 * become the flows its done declares to the coordinator. */
int worker_emit(struct worker_sess *ws, enum plan_stage_id dest, unsigned shard,
                const char *stream, int64_t seq, const void *body, size_t len)
    __attribute__((warn_unused_result));

/* Declares, in on_finish, that queue (dest, shard) got n messages of stream
 * `stream` (ids 0..n-1) from this stage for the session: how a stateless
 * stage, which remembers nothing, tells the coordinator what its outputs
 * were (e.g. the filter: one message per input batch and route shard). */
int worker_declare_flow(struct worker_sess *ws, enum plan_stage_id dest,
                        unsigned shard, const char *stream, int64_t n)
    __attribute__((warn_unused_result));

/* In on_finish: how many input messages of stream `stream` the stage got
 * for the session (from the coordinator's finish), or -1 when unknown. */
int64_t worker_finish_count(const struct worker_sess *ws, const char *stream);

/* Counts n rejected rows of the input being handled (call it from
 * on_batch); reported with that input's id, so a row is counted once
 * however often its input is redelivered. */
void worker_reject(struct worker_sess *ws, enum plan_table t, int64_t n);

/* The session id (36-char UUID text). */
const char *worker_sess_id(const struct worker_sess *ws);

/* The session's worker. */
struct worker *worker_sess_worker(const struct worker_sess *ws);

/* --- for the last stage (sink), valid inside on_finish --- */

/* Sends one chunk of a result file to the session's gateway (RESULT kind,
 * stream = file name, seq = chunk index). */
int worker_send_result(struct worker_sess *ws, const char *file, int64_t chunk,
                       const void *body, size_t len)
    __attribute__((warn_unused_result));

/* Sends the session's end message to its gateway: status "ok" or "error"
 * (reason may be NULL), with the rejected-row counts of the finish message. */
int worker_send_end(struct worker_sess *ws, const char *status,
                    const char *reason) __attribute__((warn_unused_result));

#endif
