/*
 * main.c - the filter worker kind: the filter engine plugged into the
 * shared runtime. Stateless per session: every input batch yields exactly
 * one output batch (maybe empty) per route and target shard, with the
 * input's stream and seq, so outputs have deterministic ids (downstream
 * drops redelivered copies) and what was sent where is known from the
 * input counts alone, even after a restart.
 */
#include "err.h"
#include "filter.h"
#include "log.h"
#include "worker.h"

#include <stddef.h>

static void *f_init(struct worker *w)
{
    return filter_create(worker_plan(w));
}

static void *f_session_open(void *ctx, struct worker_sess *ws)
{
    (void)ws;
    return ctx; /* no per-session state */
}

static void f_session_close(void *ctx, void *st)
{
    (void)ctx;
    (void)st;
}

static int f_on_batch(void *ctx, void *st, struct worker_sess *ws,
                      const struct worker_msg *m)
{
    struct filter *f = ctx;
    const struct plan *p = worker_plan(worker_sess_worker(ws));
    int t = plan_table_by_name(m->stream);
    unsigned sshard =
        plan_shard_session(worker_sess_id(ws), p->replicas[PLAN_SINK]);
    int64_t rejected = 0;
    int r, s, rc;

    (void)st;
    if (t < 0) {
        log_warn("batch of unknown table '%s' dropped session=%s", m->stream,
                 worker_sess_id(ws));
        return 0;
    }
    rc =
        filter_batch(f, (enum plan_table)t, m->body, m->len, sshard, &rejected);
    if (rc != 0)
        return rc;
    worker_reject(ws, (enum plan_table)t, rejected);
    for (r = 0; r < filter_nroutes; r++) {
        const struct route *rt = &filter_routes[r];

        if (rt->table != (enum plan_table)t)
            continue;
        for (s = 0; s < p->replicas[rt->dest]; s++) {
            const struct filter_buf *b = filter_output(f, r, (unsigned)s);

            if (!filter_route_targets(rt, (unsigned)s, sshard))
                continue;
            rc = worker_emit(ws, rt->dest, (unsigned)s, m->stream, m->seq,
                             b->ptr, b->len);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* Nothing is held back; the done declares the outputs: n messages of each
 * table's stream to every target shard of each of its routes, n being the
 * table's input count. */
static int f_on_finish(void *ctx, void *st, struct worker_sess *ws)
{
    const struct plan *p = worker_plan(worker_sess_worker(ws));
    unsigned sshard =
        plan_shard_session(worker_sess_id(ws), p->replicas[PLAN_SINK]);
    int r, s, rc;

    (void)ctx;
    (void)st;
    for (r = 0; r < filter_nroutes; r++) {
        const struct route *rt = &filter_routes[r];
        const char *table = plan_table_name(rt->table);
        int64_t n = worker_finish_count(ws, table);

        if (n < 0) {
            log_error("finish of session=%s lacks the input count of %s",
                      worker_sess_id(ws), table);
            return CS_ERR_WK_NO_COUNT;
        }
        for (s = 0; s < p->replicas[rt->dest]; s++)
            if (filter_route_targets(rt, (unsigned)s, sshard) &&
                (rc = worker_declare_flow(ws, rt->dest, (unsigned)s, table,
                                          n)) != 0)
                return rc;
    }
    return 0;
}

static void f_fini(void *ctx)
{
    filter_destroy(ctx);
}

static const struct worker_ops filter_ops = {
    .stage = PLAN_FILTER,
    .init = f_init,
    .session_open = f_session_open,
    .session_close = f_session_close,
    .on_batch = f_on_batch,
    .on_finish = f_on_finish,
    .fini = f_fini,
};

int main(int argc, char **argv)
{
    const struct worker_ops *ops[] = {&filter_ops};

    return worker_main(argc, argv, ops, 1);
}
