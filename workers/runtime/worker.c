/*
 * worker.c - the shared worker runtime: configuration, connection,
 * topology, and the consume -> handle -> publish -> ack loop (see worker.h).
 */
#include "cfg.h"
#include "sig.h"
#include "clock.h"
#include "ctl.h"
#include "log.h"
#include "topo.h"
#include "worker_internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    (void)sig;
    stop_signal = 1;
}

struct worker_cfg {
    const char *url, *replicas, *stage, *replica;
    long prefetch, ack_batch, heartbeat;
};

static int parse_config(struct worker_cfg *c, int argc, char **argv,
                        const char *prog)
{
    struct cfg_opt opts[] = {
        {"AMQP_URL", "amqp-url", CFG_STR, MW_DEFAULT_URL,
         0, 0, true, "broker URL", &c->url},
        {"CS_REPLICAS", "replicas", CFG_STR, "", 0, 0, false,
         "replica counts of every stage, e.g. filter=3,agg-q2=2,sink=2",
         &c->replicas},
        {"CS_STAGE", "stage", CFG_STR, "", 0, 0, false,
         "which stage this process runs (default: the binary's first)", &c->stage},
        {"CS_REPLICA_ID", "replica", CFG_STR, "0", 0, 0, false,
         "this replica's index 0..N-1 (N from CS_REPLICAS), or 'auto': claim "
         "the first free index (identical replicas, e.g. compose)",
         &c->replica},
        {"WORKER_PREFETCH", "prefetch", CFG_INT, "64", 1, 4096, false,
         "unacked deliveries the broker may push to this replica", &c->prefetch},
        {"WORKER_ACK_BATCH", "ack-batch", CFG_INT, "32", 1, WORKER_MAX_PENDING,
         false, "inputs handled before their outputs are confirmed and acked",
         &c->ack_batch},
        {"AMQP_HEARTBEAT", "heartbeat", CFG_INT, "10", 1, 600, false,
         "AMQP heartbeat in seconds", &c->heartbeat},
    };
    char usage[128];
    int rc;

    snprintf(usage, sizeof(usage), "usage: %s [options]", prog);
    rc = cfg_parse(opts, sizeof(opts) / sizeof(opts[0]), argc, argv, usage,
                   "A coffee-stream worker: consumes its stage's queues, "
                   "handles batches, publishes to the next stages.");
    if (rc == CFG_OK)
        cfg_log(opts, sizeof(opts) / sizeof(opts[0]));
    return rc;
}

static const struct worker_ops *pick_ops(const struct worker_ops *const *ops,
                                         size_t nops, const char *stage)
{
    size_t i;

    if (stage[0] == '\0')
        return ops[0];
    for (i = 0; i < nops; i++)
        if (strcmp(plan_stage_name(ops[i]->stage), stage) == 0)
            return ops[i];
    return NULL;
}

static int setup_topology(struct worker *w)
{
    char key[PLAN_NAME_MAX];
    int s, i, rc;

    rc = topo_declare_replica_control(w->conn, w->stage, w->ctl_queue,
                                      sizeof(w->ctl_queue));
    if (rc == 0)
        rc = topo_declare_stage(w->conn, &w->plan, w->stage);
    for (s = 0; rc == 0 && s < PLAN_NSTAGES; s++)
        if (plan_upstream((enum plan_stage_id)s) & (1u << w->stage))
            rc = topo_declare_stage(w->conn, &w->plan, (enum plan_stage_id)s);
    if (rc != 0)
        return rc;
    if (w->dedup) {
        plan_queue_key(&w->plan, w->stage, w->replica, key, sizeof(key));
        plan_queue(w->stage, key, w->inputs[0], sizeof(w->inputs[0]));
        w->ninputs = 1;
    } else {
        w->ninputs = plan_nqueues(&w->plan, w->stage);
        for (i = 0; i < w->ninputs; i++) {
            plan_queue_key(&w->plan, w->stage, i, key, sizeof(key));
            plan_queue(w->stage, key, w->inputs[i], sizeof(w->inputs[i]));
        }
    }
    rc = mw_consume(w->conn, w->ctl_queue);
    for (i = 0; rc == 0 && i < w->ninputs; i++)
        rc = mw_consume(w->conn, w->inputs[i]);
    return rc;
}

/* Confirms every output published so far, then acks the inputs that
 * produced them and counts those acked as processed. */
static int commit(struct worker *w)
{
    int i, rc;

    if (w->npending == 0)
        return 0;
    rc = mw_flush(w->conn);
    if (rc != 0)
        return rc;
    for (i = 0; i < w->npending; i++) {
        struct pending_ack *p = &w->pending[i];

        rc = mw_ack(w->conn, p->tag);
        if (rc == MW_ERR_STALE || p->ws == NULL)
            continue; /* redelivered later: counted then */
        if (rc != 0)
            return rc;
        if (w->dedup) {
            if (dedup_test(&p->ws->dedup, p->stream, p->seq, DEDUP_COUNTED))
                continue;
            if (dedup_set(&p->ws->dedup, p->stream, p->seq, DEDUP_COUNTED) != 0)
                return MW_ERR_NOMEM;
        }
        p->ws->processed[p->input]++;
        if (p->ws->draining)
            p->ws->report_due = true;
    }
    w->npending = 0;
    return wsess_send_reports(w);
}

static int input_index(const struct worker *w, const char *queue)
{
    int i;

    for (i = 0; i < w->ninputs; i++)
        if (strcmp(w->inputs[i], queue) == 0)
            return i;
    return -1;
}

static int handle_data(struct worker *w, const struct mw_delivery *d)
{
    struct pending_ack *p = &w->pending[w->npending++];
    struct worker_sess *ws;
    struct worker_msg m;
    int64_t t0;

    memset(p, 0, sizeof(*p));
    p->tag = d->tag;
    p->input = input_index(w, d->queue);
    if (d->meta.session[0] == '\0' || p->input < 0 || d->meta.seq < 0 ||
        d->meta.seq >= DEDUP_MAX_SEQ || d->meta.kind != MW_KIND_DATA) {
        log_warn("malformed data message dropped queue=%s session=%s seq=%lld",
                 d->queue, d->meta.session, (long long)d->meta.seq);
        return 0;
    }
    ws = wsess_get(w, d->meta.session, true);
    if (ws == NULL) {
        if (wsess_tombstoned(w, d->meta.session))
            return 0; /* ended or aborted: a late copy */
        return MW_ERR_NOMEM;
    }
    p->ws = ws;
    snprintf(p->stream, sizeof(p->stream), "%s", d->meta.stream);
    p->seq = d->meta.seq;
    if (w->dedup && dedup_test(&ws->dedup, p->stream, p->seq, DEDUP_APPLIED))
        return 0; /* a redelivered copy: ack (and count once) only */
    m.queue = d->queue;
    m.stream = d->meta.stream;
    m.seq = d->meta.seq;
    m.body = d->body;
    m.len = d->len;
    t0 = clock_mono_ns();
    if (ws->first_ns == 0)
        ws->first_ns = t0;
    if (w->ops->on_batch(w->ctx, ws->st, ws, &m) != 0)
        return MW_ERR_CLOSED;
    ws->busy_ns += clock_mono_ns() - t0;
    ws->in_msgs++;
    ws->in_bytes += (int64_t)d->len;
    if (w->dedup && dedup_set(&ws->dedup, p->stream, p->seq, DEDUP_APPLIED) != 0)
        return MW_ERR_NOMEM;
    return 0;
}

static int handle_one(struct worker *w, const struct mw_delivery *d)
{
    int rc;

    if (strcmp(d->queue, w->ctl_queue) == 0) {
        rc = commit(w);
        if (rc == 0)
            rc = wsess_handle_ctl(w, d->body, d->len);
        if (rc == 0)
            rc = mw_ack(w->conn, d->tag);
        return rc == MW_ERR_STALE ? 0 : rc;
    }
    rc = handle_data(w, d);
    if (rc == 0 && w->npending >= w->ack_batch)
        rc = commit(w);
    return rc;
}

static int run_loop(struct worker *w)
{
    struct mw_delivery d;
    int rc = 0;

    while (!stop_signal && !w->stop) {
        rc = mw_next(w->conn, &d, w->npending ? 0 : 250);
        if (rc == MW_ERR_TIMEOUT || rc == MW_ERR_INTERRUPTED) {
            rc = commit(w);
        } else if (rc == 0) {
            rc = handle_one(w, &d);
        }
        if (rc != 0)
            break;
    }
    if (rc == 0)
        rc = commit(w); /* hand back nothing half done */
    return rc;
}

static void set_replica(struct worker *w, int replica)
{
    w->replica = replica;
    snprintf(w->producer, sizeof(w->producer), "%s-%d", plan_stage_name(w->stage),
             replica);
}

/* CS_REPLICA_ID=auto: the replica index is the first i whose lock queue
 * "replica-lock.<stage>.<i>" this connection can declare exclusively; the
 * broker refuses an exclusive queue held by another connection, and frees
 * it when that connection dies, so a restarted replica takes the index back. */
static int claim_replica(struct worker *w)
{
    char q[PLAN_NAME_MAX + 16];
    int i, rc;

    for (i = 0; i < w->plan.replicas[w->stage]; i++) {
        snprintf(q, sizeof(q), "replica-lock.%s.%d", plan_stage_name(w->stage), i);
        rc = mw_declare_queue(w->conn, q, MW_QUEUE_EXCLUSIVE, NULL, 0);
        if (rc == 0) {
            set_replica(w, i);
            log_info("claimed replica=%d of stage=%s", i, plan_stage_name(w->stage));
            return 0;
        }
        if (rc != MW_ERR_PROTOCOL)
            return rc;
    }
    log_error("no free replica index: all %d replicas of %s are running",
              w->plan.replicas[w->stage], plan_stage_name(w->stage));
    return MW_ERR_ARG;
}

static int start(struct worker *w, const struct worker_cfg *c)
{
    struct mw_options mo;
    char name[96];
    int err = 0;

    snprintf(name, sizeof(name), "%s", w->producer);
    memset(&mo, 0, sizeof(mo));
    mo.url = c->url;
    mo.name = name;
    mo.heartbeat_s = (int)c->heartbeat;
    mo.prefetch = (uint16_t)c->prefetch;
    w->conn = mw_connect(&mo, &err);
    if (w->conn == NULL) {
        log_error("cannot connect to the broker: %s", mw_strerror(err));
        return err;
    }
    if (w->replica < 0 && (err = claim_replica(w)) != 0)
        return err;
    err = setup_topology(w);
    if (err != 0)
        log_error("cannot declare topology: %s", mw_strerror(err));
    return err;
}

static int init_worker(struct worker *w, const struct worker_cfg *c,
                       const struct worker_ops *ops)
{
    char err[128];

    if (plan_init(&w->plan, c->replicas, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: CS_REPLICAS: %s\n", err);
        return -1;
    }
    w->ops = ops;
    w->stage = ops->stage;
    if (strcmp(c->replica, "auto") == 0) {
        w->replica = -1; /* claimed once connected */
        snprintf(w->producer, sizeof(w->producer), "%s-auto",
                 plan_stage_name(w->stage));
    } else {
        char *end;
        long v = strtol(c->replica, &end, 10);

        if (c->replica[0] == '\0' || *end != '\0' || v < 0 ||
            v >= w->plan.replicas[w->stage]) {
            fprintf(stderr, "error: CS_REPLICA_ID '%s' is not 'auto' or an index "
                    "below the %d replicas of %s\n", c->replica,
                    w->plan.replicas[w->stage], plan_stage_name(w->stage));
            return -1;
        }
        set_replica(w, (int)v);
    }
    w->dedup = plan_stage_sharded(w->stage);
    w->ack_batch = (int)c->ack_batch;
    w->pending = calloc(WORKER_MAX_PENDING + 1, sizeof(*w->pending));
    return w->pending ? 0 : -1;
}

int worker_main(int argc, char **argv, const struct worker_ops *const *ops,
                size_t nops)
{
    struct worker_cfg c;
    struct worker *w;
    const struct worker_ops *op;
    int rc;

    if (log_init(plan_stage_name(ops[0]->stage)) != 0)
        fprintf(stderr, "warning: LOG_LEVEL must be error|warn|info|debug\n");
    rc = parse_config(&c, argc, argv, argv[0]);
    if (rc != CFG_OK)
        return rc == CFG_HELP ? 0 : 2;
    op = pick_ops(ops, nops, c.stage);
    if (op == NULL) {
        fprintf(stderr, "error: CS_STAGE '%s' is not a stage of this binary\n", c.stage);
        return 2;
    }
    log_init(plan_stage_name(op->stage));
    w = calloc(1, sizeof(*w));
    if (w == NULL || init_worker(w, &c, op) != 0) {
        if (w)
            free(w->pending);
        free(w);
        return 2;
    }
    if (sig_on_stop(on_signal) != 0) {
        log_error("cannot install signal handlers");
        free(w->pending);
        free(w);
        return 1;
    }
    w->ctx = op->init(w);
    rc = w->ctx ? start(w, &c) : -1;
    if (rc == 0) {
        log_info("started stage=%s replica=%d/%d", plan_stage_name(w->stage),
                 w->replica, w->plan.replicas[w->stage]);
        rc = run_loop(w);
        if (rc != 0)
            log_error("worker stopped: %s", mw_strerror(rc));
    }
    wsess_drop_all(w);
    if (w->ctx)
        op->fini(w->ctx);
    mw_close(w->conn);
    free(w->pending);
    free(w);
    log_info("exit status=%d", rc == 0 ? 0 : 1);
    return rc == 0 ? 0 : 1;
}

/* ---------------------------------------------------- kind-facing API */

const struct plan *worker_plan(const struct worker *w)
{
    return &w->plan;
}

int worker_replica(const struct worker *w)
{
    return w->replica;
}

const char *worker_sess_id(const struct worker_sess *ws)
{
    return ws->id;
}

struct worker *worker_sess_worker(const struct worker_sess *ws)
{
    return ws->w;
}

static void fill_meta(struct mw_meta *meta, const struct worker_sess *ws,
                      const char *stream, int64_t seq, enum mw_kind kind)
{
    memset(meta, 0, sizeof(*meta));
    snprintf(meta->session, sizeof(meta->session), "%s", ws->id);
    snprintf(meta->stream, sizeof(meta->stream), "%s", stream);
    snprintf(meta->producer, sizeof(meta->producer), "%s", ws->w->producer);
    meta->seq = seq;
    meta->kind = kind;
}

int worker_emit(struct worker_sess *ws, enum plan_stage_id dest, unsigned shard,
                const char *stream, int64_t seq, const void *body, size_t len)
{
    struct worker *w = ws->w;
    char ex[PLAN_NAME_MAX], key[PLAN_NAME_MAX];
    struct mw_meta meta;
    int rc;

    if ((unsigned)dest >= PLAN_NSTAGES || shard >= PLAN_MAX_REPLICAS ||
        (int)shard >= plan_nqueues(&w->plan, dest))
        return MW_ERR_ARG;
    plan_exchange(dest, ex, sizeof(ex));
    plan_queue_key(&w->plan, dest, (int)shard, key, sizeof(key));
    fill_meta(&meta, ws, stream, seq, MW_KIND_DATA);
    rc = mw_publish(w->conn, ex, key, &meta, body, len);
    if (rc == 0) {
        ws->sent[dest][shard]++;
        ws->out_msgs++;
        ws->out_bytes += (int64_t)len;
    }
    return rc;
}

void worker_reject(struct worker_sess *ws, enum plan_table t, int64_t n)
{
    if ((unsigned)t < PLAN_NTABLES)
        ws->rejected[t] += n;
}

int worker_send_result(struct worker_sess *ws, const char *file, int64_t chunk,
                       const void *body, size_t len)
{
    struct mw_meta meta;

    fill_meta(&meta, ws, file, chunk, MW_KIND_RESULT);
    return mw_publish(ws->w->conn, PLAN_RESULTS_EXCHANGE, ws->reply_to, &meta,
                      body, len);
}

int worker_send_end(struct worker_sess *ws, const char *status,
                    const char *reason)
{
    struct ctl_msg *m = malloc(sizeof(*m));
    int i, rc;

    if (m == NULL)
        return MW_ERR_NOMEM;
    ctl_init(m, CTL_END, ws->id);
    snprintf(m->status, sizeof(m->status), "%s", status);
    if (reason)
        snprintf(m->reason, sizeof(m->reason), "%s", reason);
    for (i = 0; i < PLAN_NTABLES; i++)
        if (ctl_add(m, 1, plan_table_name((enum plan_table)i), ws->up_rejected[i]) != 0)
            break;
    rc = topo_publish_ctl(ws->w->conn, PLAN_RESULTS_EXCHANGE, ws->reply_to, m,
                          ws->w->producer);
    free(m);
    return rc;
}
