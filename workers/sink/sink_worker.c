/*
 * sink_worker.c - glue between the runtime and the sink's pure modules:
 * the session state is one struct sink; results are sent with
 * worker_send_result (stream = file name, seq = chunk index).
 */
#include "sink_worker.h"

#include "log.h"
#include "err.h"
#include "sink_results.h"
#include "sink_state.h"

#include <stdbool.h>
#include <stdlib.h>

struct sinkw_ctx {
    struct worker *w;
};

static void *init(struct worker *w)
{
    struct sinkw_ctx *c = malloc(sizeof(*c));

    if (c != NULL)
        c->w = w;
    return c;
}

static void fini(void *ctx)
{
    free(ctx);
}

static void *session_open(void *ctx, struct worker_sess *ws)
{
    (void)ctx;
    (void)ws;
    return sink_create();
}

static void session_close(void *ctx, void *st)
{
    (void)ctx;
    sink_destroy(st);
}

static int on_batch(void *ctx, void *st, struct worker_sess *ws,
                    const struct worker_msg *m)
{
    size_t bad = 0;
    int rc = sink_feed(st, m->stream, m->body, m->len, &bad);

    (void)ctx;
    /* internal rows are produced by us: a bad one is a bug, not a reject */
    if (bad > 0)
        log_error(
            "malformed internal rows skipped stream=%s seq=%lld count=%zu "
            "session=%s",
            m->stream, (long long)m->seq, bad, worker_sess_id(ws));
    if (rc != 0)
        log_error("sink failed (out of memory) session=%s", worker_sess_id(ws));
    return rc;
}

static int send_chunk(void *arg, const char *file, int64_t chunk,
                      const void *body, size_t len)
{
    return worker_send_result(arg, file, chunk, body, len);
}

static void log_counts(const struct sink *s, struct worker_sess *ws)
{
    size_t n[SINK_NSRC];
    int i;

    for (i = 0; i < SINK_NSRC; i++)
        (void)sink_records(s, (enum sink_src)i, &n[i]);
    log_info("results sent session=%s q1_rows=%zu q2_partials=%zu "
             "q3_partials=%zu q4_partials=%zu",
             worker_sess_id(ws), n[SINK_SRC_Q1], n[SINK_SRC_Q2], n[SINK_SRC_Q3],
             n[SINK_SRC_Q4]);
}

/* The sink is sharded by session: every replica hears `finish`, but only
 * the one that owns the session holds its data and answers the gateway. */
static bool owns(const struct worker_sess *ws)
{
    const struct worker *w = worker_sess_worker(ws);

    return plan_shard_session(worker_sess_id(ws),
                              worker_plan(w)->replicas[PLAN_SINK]) ==
           (unsigned)worker_replica(w);
}

static int on_finish(void *ctx, void *st, struct worker_sess *ws)
{
    int rc;

    (void)ctx;
    if (!owns(ws))
        return 0;
    rc = sink_write_all(st, send_chunk, ws);
    if (rc == CS_ERR_NOMEM) {
        /* the session fails, the worker carries on */
        log_error("results failed (out of memory) session=%s",
                  worker_sess_id(ws));
        return worker_send_end(ws, "error", "sink out of memory");
    }
    if (rc != 0)
        return rc;
    log_counts(st, ws);
    return worker_send_end(ws, "ok", NULL);
}

const struct worker_ops sinkw_ops = {
    .stage = PLAN_SINK,
    .init = init,
    .session_open = session_open,
    .session_close = session_close,
    .on_batch = on_batch,
    .on_finish = on_finish,
    .fini = fini,
};
