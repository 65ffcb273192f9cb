/*
 * agg_worker.c - glue between the runtime and the aggregation engine: a
 * session's state is one struct agg; every input batch is fed to it; on
 * finish the result lines go to the session's sink shard as stream
 * "<stage>.<replica>", seq = chunk index (deterministic: the engine emits
 * in a total order).
 */
#include "agg_worker.h"

#include "log.h"
#include "agg.h"
#include "chunker.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>

struct aggw_ctx {
    enum plan_stage_id stage;
    const struct agg_spec *spec;
};

/* Where on_finish's chunks go. */
struct aggw_out {
    struct worker_sess *ws;
    unsigned shard;
    char stream[PLAN_NAME_MAX];
};

static void *init_with(enum plan_stage_id stage, const struct agg_spec *spec)
{
    struct aggw_ctx *c = malloc(sizeof(*c));

    if (c == NULL)
        return NULL;
    c->stage = stage;
    c->spec = spec;
    return c;
}

static void *init_q2(struct worker *w)
{
    (void)w;
    return init_with(PLAN_AGG_Q2, &agg_spec_q2);
}

static void *init_q3(struct worker *w)
{
    (void)w;
    return init_with(PLAN_AGG_Q3, &agg_spec_q3);
}

static void *init_q4(struct worker *w)
{
    (void)w;
    return init_with(PLAN_AGG_Q4, &agg_spec_q4);
}

static void fini(void *ctx)
{
    free(ctx);
}

static void *session_open(void *ctx, struct worker_sess *ws)
{
    const struct aggw_ctx *c = ctx;

    (void)ws;
    return agg_create(c->spec);
}

static void session_close(void *ctx, void *st)
{
    (void)ctx;
    agg_destroy(st);
}

static int on_batch(void *ctx, void *st, struct worker_sess *ws,
                    const struct worker_msg *m)
{
    const struct aggw_ctx *c = ctx;
    size_t bad = 0;
    int rc = agg_feed(st, m->stream, m->body, m->len, &bad);

    /* internal rows are produced by us: a bad one is a bug, not a reject */
    if (bad > 0)
        log_error("malformed internal rows skipped query=%s stream=%s seq=%lld "
                  "count=%zu session=%s",
                  c->spec->name, m->stream, (long long)m->seq, bad,
                  worker_sess_id(ws));
    if (rc != 0)
        log_error("aggregation failed (out of memory) query=%s session=%s "
                  "groups=%zu",
                  c->spec->name, worker_sess_id(ws), agg_ngroups(st));
    return rc;
}

static int emit_chunk(void *arg, int64_t index, const void *body, size_t len)
{
    const struct aggw_out *o = arg;

    return worker_emit(o->ws, PLAN_SINK, o->shard, o->stream, index, body, len);
}

static int on_finish(void *ctx, void *st, struct worker_sess *ws)
{
    const struct aggw_ctx *c = ctx;
    const struct worker *w = worker_sess_worker(ws);
    struct aggw_out o;
    struct chunker ch;
    int rc;

    o.ws = ws;
    o.shard = plan_shard_session(worker_sess_id(ws),
                                 worker_plan(w)->replicas[PLAN_SINK]);
    /* "agg-qN.R" always fits PLAN_NAME_MAX */
    (void)snprintf(o.stream, sizeof(o.stream), "%s.%d",
                   plan_stage_name(c->stage), worker_replica(w));
    chunker_init(&ch, AGGW_CHUNK_MAX, emit_chunk, &o);
    rc = agg_emit(st, &ch);
    if (rc == 0)
        log_info("partials sent query=%s session=%s groups=%zu messages=%lld",
                 c->spec->name, worker_sess_id(ws), agg_ngroups(st),
                 (long long)chunker_count(&ch));
    else if (rc == CS_ERR_NOMEM)
        log_error("emit failed (out of memory) query=%s session=%s",
                  c->spec->name, worker_sess_id(ws));
    chunker_fini(&ch);
    return rc;
}

#define AGGW_OPS(st, initfn)                                                   \
    {                                                                          \
        .stage = (st), .init = (initfn), .session_open = session_open,         \
        .session_close = session_close, .on_batch = on_batch,                  \
        .on_finish = on_finish, .fini = fini,                                  \
    }

const struct worker_ops aggw_q2_ops = AGGW_OPS(PLAN_AGG_Q2, init_q2);
const struct worker_ops aggw_q3_ops = AGGW_OPS(PLAN_AGG_Q3, init_q3);
const struct worker_ops aggw_q4_ops = AGGW_OPS(PLAN_AGG_Q4, init_q4);
