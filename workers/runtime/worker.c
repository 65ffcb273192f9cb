/*
 * worker.c - the shared worker runtime: configuration, start-up (connection,
 * replica index, state directory and log replay, topology, hello) and the
 * API the kinds call (see worker.h). The loop is in wloop.c, sessions and
 * the EOF protocol in wsess.c, the log of stateful stages in wlog.c.
 */
#include "cfg.h"
#include "sig.h"
#include "clock.h"
#include "ctl.h"
#include "fault.h"
#include "grow.h"
#include "hb.h"
#include "log.h"
#include "state.h"
#include "tombs.h"
#include "topo.h"
#include "wal.h"
#include "worker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct worker_cfg {
    const char *url, *replicas, *stage, *replica, *state_dir, *fsync;
    long prefetch, ack_batch, heartbeat, claim_s, stats_ms;
};

static int parse_config(struct worker_cfg *c, int argc, char **argv,
                        const char *prog)
{
    struct cfg_opt opts[] = {
        {"AMQP_URL", "amqp-url", CFG_STR, MW_DEFAULT_URL, 0, 0, true,
         "broker URL", &c->url},
        {"CS_REPLICAS", "replicas", CFG_STR, "", 0, 0, false,
         "replica counts of every stage, e.g. filter=3,agg-q2=2,sink=2",
         &c->replicas},
        {"CS_STAGE", "stage", CFG_STR, "", 0, 0, false,
         "which stage this process runs (default: the binary's first)",
         &c->stage},
        {"CS_REPLICA_ID", "replica", CFG_STR, "0", 0, 0, false,
         "this replica's index 0..N-1 (N from CS_REPLICAS), or 'auto': claim "
         "the first free index (identical replicas, e.g. compose)",
         &c->replica},
        {"WORKER_PREFETCH", "prefetch", CFG_INT, "64", 1, 4096, false,
         "unacked deliveries the broker may push to this replica",
         &c->prefetch},
        {"WORKER_ACK_BATCH", "ack-batch", CFG_INT, "32", 1, WORKER_MAX_PENDING,
         false, "inputs handled before their outputs are confirmed and acked",
         &c->ack_batch},
        {"AMQP_HEARTBEAT", "heartbeat", CFG_INT, "10", 1, 600, false,
         "AMQP heartbeat in seconds", &c->heartbeat},
        {"WORKER_CLAIM_TIMEOUT_S", "claim-timeout", CFG_INT, "60", 0, 3600,
         false,
         "how long to wait for a replica index held by a process the "
         "broker has not yet seen die",
         &c->claim_s},
        {"WORKER_STATS_MS", "stats-ms", CFG_INT, "1000", 0, 60000, false,
         "between two stats events for the control plane (cs.events); "
         "0: none",
         &c->stats_ms},
        STATE_CFG_OPTS(&c->state_dir, &c->fsync),
    };
    char usage[128];
    int rc;

    snprintf(usage, sizeof(usage), "usage: %s [options]", prog);
    rc = cfg_parse(opts, sizeof(opts) / sizeof(opts[0]), argc, argv, usage,
                   "A coffee-stream worker: consumes its stage's queues, "
                   "handles batches, publishes to the next stages.");
    if (rc == CFG_OK && (state_check_fsync(c->fsync) != 0 || fault_init() != 0))
        rc = CFG_ERROR;
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

    rc = topo_declare_replica_control(w->conn, w->stage, w->replica,
                                      w->ctl_queue, sizeof(w->ctl_queue));
    if (rc == 0)
        rc = topo_declare_stage(w->conn, &w->plan, w->stage);
    if (rc == 0) /* the stats events' (wstats.c) */
        rc = mw_declare_exchange(w->conn, PLAN_EVENTS_EXCHANGE,
                                 MW_EXCHANGE_FANOUT);
    for (s = 0; rc == 0 && s < PLAN_NSTAGES; s++)
        if (plan_upstream((enum plan_stage_id)s) & (1u << w->stage))
            rc = topo_declare_stage(w->conn, &w->plan, (enum plan_stage_id)s);
    if (rc != 0)
        return rc;
    if (w->stateful) {
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
    return 0;
}

static int start_consuming(struct worker *w)
{
    int i, rc = mw_consume(w->conn, w->ctl_queue);

    for (i = 0; rc == 0 && i < w->ninputs; i++)
        rc = mw_consume(w->conn, w->inputs[i]);
    return rc;
}

static void set_replica(struct worker *w, int replica)
{
    w->replica = replica;
    snprintf(w->producer, sizeof(w->producer), "%s-%d",
             plan_stage_name(w->stage), replica);
    hb_rename(w->hb, w->producer);
}

static void on_wait(void *arg)
{
    hb_tick(((struct worker *)arg)->hb);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* One pass over the candidate indexes: 0 (claimed), 1 (all held) or an
 * error. A replica index is held by the connection that declared the
 * exclusive queue "replica-lock.<stage>.<i>"; the broker refuses it to
 * others and frees it when that connection dies, so two processes never
 * run as the same replica, and a restarted one takes its index back. */
static int claim_once(struct worker *w, int want)
{
    char q[PLAN_NAME_MAX + 16];
    int i, rc;

    for (i = want < 0 ? 0 : want;
         i < (want < 0 ? w->plan.replicas[w->stage] : want + 1); i++) {
        snprintf(q, sizeof(q), "replica-lock.%s.%d", plan_stage_name(w->stage),
                 i);
        rc = mw_declare_queue(w->conn, q, MW_QUEUE_EXCLUSIVE, NULL, 0);
        if (rc == 0) {
            set_replica(w, i);
            log_info("claimed replica=%d of stage=%s", i,
                     plan_stage_name(w->stage));
            return 0;
        }
        if (rc != MW_ERR_PROTOCOL)
            return rc;
    }
    return 1;
}

/* Claims index `want` (CS_REPLICA_ID), or the first free one (auto, want
 * < 0). The holder of a killed replica's index may still look alive to the
 * broker for a moment, so this retries for up to claim_s seconds. */
static int claim_replica(struct worker *w, int want, long claim_s)
{
    int64_t until = clock_mono_ms() + claim_s * 1000;
    int rc, waited = 0;

    while ((rc = claim_once(w, want)) == 1 && clock_mono_ms() < until &&
           !sig_stop_requested()) {
        if (waited++ == 0)
            log_warn("replica index of %s %s is held by another process: "
                     "waiting up to %ld s for it",
                     plan_stage_name(w->stage), want < 0 ? "(any)" : "",
                     claim_s);
        hb_tick(w->hb);
        sleep_ms(250);
    }
    if (rc != 1)
        return rc;
    if (want < 0)
        log_error("no free replica index: all %d replicas of %s are running",
                  w->plan.replicas[w->stage], plan_stage_name(w->stage));
    else
        log_error("replica %d of %s is already running (CS_REPLICA_ID)", want,
                  plan_stage_name(w->stage));
    return CS_ERR_WK_REPLICA_TAKEN;
}

/* Stateful stages: lock the state directory, load the tombstones and
 * replay every session log. 0, or the error (logged with its context). */
static int recover(struct worker *w)
{
    char name[PLAN_NAME_MAX + 16];
    int rc;

    if (!w->stateful)
        return 0;
    snprintf(name, sizeof(name), "%s-%d", plan_stage_name(w->stage),
             w->replica);
    w->dir = state_open(w->state_root, name, w->fsync);
    if (w->dir == NULL)
        return CS_ERR_STATE_DIR; /* state_open logged why */
    rc = tombs_load(w->tombs, w->dir);
    if (rc == 0)
        rc = wlog_replay_all(w);
    if (rc != 0)
        log_error("cannot recover from %s: %s", wal_dir_path(w->dir),
                  cs_strerror(rc));
    return rc;
}

static int start(struct worker *w, const struct worker_cfg *c, int want)
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
    mo.on_wait = on_wait;
    mo.on_wait_arg = w;
    w->conn = mw_connect(&mo, &err);
    if (w->conn == NULL) {
        log_error("cannot connect to the broker: %s", cs_strerror(err));
        return err;
    }
    if ((err = claim_replica(w, want, c->claim_s)) != 0)
        return err;
    if ((err = setup_topology(w)) != 0) {
        log_error("cannot declare topology: %s", cs_strerror(err));
        return err;
    }
    if ((err = recover(w)) != 0)
        return err;
    err = start_consuming(w);
    if (err == 0)
        err = wsess_send_hello(w);
    if (err != 0)
        log_error("cannot start consuming: %s", cs_strerror(err));
    return err;
}

/* The replica index asked for: >= 0, or -1 for auto. -2 on a bad value. */
static int parse_replica(const struct worker_cfg *c, const struct plan *p,
                         enum plan_stage_id stage)
{
    char *end;
    long v;

    if (strcmp(c->replica, "auto") == 0)
        return -1;
    v = strtol(c->replica, &end, 10);
    if (c->replica[0] == '\0' || *end != '\0' || v < 0 ||
        v >= p->replicas[stage]) {
        fprintf(stderr,
                "error: CS_REPLICA_ID '%s' is not 'auto' or an index "
                "below the %d replicas of %s\n",
                c->replica, p->replicas[stage], plan_stage_name(stage));
        return -2;
    }
    return (int)v;
}

static int init_worker(struct worker *w, const struct worker_cfg *c,
                       const struct worker_ops *ops)
{
    char err[128];
    int want;

    if (plan_init(&w->plan, c->replicas, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: CS_REPLICAS: %s\n", err);
        return -3;
    }
    w->ops = ops;
    w->stage = ops->stage;
    w->hb = hb_create(plan_stage_name(w->stage));
    if ((want = parse_replica(c, &w->plan, w->stage)) < -1)
        return -3;
    set_replica(w, want);
    if (want < 0)
        snprintf(w->producer, sizeof(w->producer), "%s-auto",
                 plan_stage_name(w->stage));
    w->stateful = plan_stage_sharded(w->stage);
    w->ack_batch = (int)c->ack_batch;
    w->stats_ms = c->stats_ms;
    w->state_root = c->state_dir;
    w->fsync = c->fsync;
    w->started_wall_ms = clock_wall_ms();
    w->pending = calloc(WORKER_MAX_PENDING + 1, sizeof(*w->pending));
    w->out = malloc(sizeof(*w->out));
    w->tombs = tombs_create(WORKER_TOMBSTONES);
    return w->pending && w->out && w->tombs && w->hb ? want : -3;
}

static void free_worker(struct worker *w)
{
    if (w == NULL)
        return;
    wsess_drop_all(w);
    if (w->ctx)
        w->ops->fini(w->ctx);
    mw_close(w->conn);
    tombs_destroy(w->tombs);
    wal_dir_close(w->dir);
    hb_destroy(w->hb);
    free(w->pending);
    free(w->out);
    free(w);
}

int worker_main(int argc, char **argv, const struct worker_ops *const *ops,
                size_t nops)
{
    struct worker_cfg c;
    struct worker *w;
    const struct worker_ops *op;
    int rc, want;

    if (log_init(plan_stage_name(ops[0]->stage)) != 0) {
        fprintf(stderr, "error: LOG_LEVEL must be error|warn|info|debug\n");
        return 2;
    }
    rc = parse_config(&c, argc, argv, argv[0]);
    if (rc != CFG_OK)
        return rc == CFG_HELP ? 0 : 2;
    op = pick_ops(ops, nops, c.stage);
    if (op == NULL) {
        fprintf(stderr, "error: CS_STAGE '%s' is not a stage of this binary\n",
                c.stage);
        return 2;
    }
    log_init(plan_stage_name(op->stage));
    w = calloc(1, sizeof(*w));
    if (w == NULL || (want = init_worker(w, &c, op)) < -1) {
        free_worker(w);
        return 2;
    }
    if (sig_stop_install(-1) != 0) {
        log_error("cannot install signal handlers");
        free_worker(w);
        return 1;
    }
    w->ctx = op->init(w);
    rc = w->ctx ? start(w, &c, want) : CS_ERR_WK_INIT;
    if (rc == 0) {
        log_info("started stage=%s replica=%d/%d", plan_stage_name(w->stage),
                 w->replica, w->plan.replicas[w->stage]);
        rc = wloop_run(w);
    }
    if (rc != 0) /* the error as the layer that met it said it */
        log_error("worker stopped: %s", cs_strerror(rc));
    if (rc == 0)
        hb_bye(w->hb); /* a deliberate stop: not to be restarted */
    free_worker(w);
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

/* The output flow (dest, shard, stream) of ws, created at n = 0. */
static struct wout *out_flow(struct worker_sess *ws, enum plan_stage_id dest,
                             unsigned shard, const char *stream)
{
    struct wout *o;
    size_t i;

    for (i = 0; i < ws->nouts; i++) {
        o = &ws->outs[i];
        if (o->dest == dest && o->shard == shard &&
            strcmp(o->stream, stream) == 0)
            return o;
    }
    if (strlen(stream) >= sizeof(o->stream))
        return NULL;
    if (grow_array((void **)&ws->outs, &ws->ocap, ws->nouts + 1, sizeof(*o),
                   8) != 0)
        return NULL;
    o = &ws->outs[ws->nouts++];
    memset(o, 0, sizeof(*o));
    o->dest = (uint8_t)dest;
    o->shard = (uint8_t)shard;
    memcpy(o->stream, stream, strlen(stream) + 1);
    return o;
}

static bool valid_dest(const struct worker *w, enum plan_stage_id dest,
                       unsigned shard)
{
    return (unsigned)dest < PLAN_NSTAGES && shard < PLAN_MAX_REPLICAS &&
           (int)shard < plan_nqueues(&w->plan, dest);
}

int worker_emit(struct worker_sess *ws, enum plan_stage_id dest, unsigned shard,
                const char *stream, int64_t seq, const void *body, size_t len)
{
    struct worker *w = ws->w;
    char ex[PLAN_NAME_MAX], key[PLAN_NAME_MAX];
    struct mw_meta meta;
    struct wout *o = NULL;
    int rc;

    if (!valid_dest(w, dest, shard))
        return CS_ERR_WK_BAD_DEST;
    if (w->replaying)
        return CS_ERR_WK_REPLAY_EMIT; /* a bug of the kind */
    /* A stateful stage emits only in on_finish, from state it can rebuild:
     * what it emitted is the flow its done declares. */
    if (w->stateful && (o = out_flow(ws, dest, shard, stream)) == NULL)
        return MW_ERR_NOMEM;
    plan_exchange(dest, ex, sizeof(ex));
    plan_queue_key(&w->plan, dest, (int)shard, key, sizeof(key));
    fill_meta(&meta, ws, stream, seq, MW_KIND_DATA);
    FAULT_POINT("worker.mid_emit");
    rc = mw_publish(w->conn, ex, key, &meta, body, len);
    if (rc == 0) {
        if (o && seq + 1 > o->n)
            o->n = seq + 1;
        ws->out_msgs++;
        ws->out_bytes += (int64_t)len;
        w->stats.msgs_out++;
        w->stats.bytes_out += (int64_t)len;
    }
    return rc;
}

int worker_declare_flow(struct worker_sess *ws, enum plan_stage_id dest,
                        unsigned shard, const char *stream, int64_t n)
{
    struct wout *o;

    if (!valid_dest(ws->w, dest, shard))
        return CS_ERR_WK_BAD_DEST;
    if (n < 0)
        return CS_ERR_ARG;
    if ((o = out_flow(ws, dest, shard, stream)) == NULL)
        return MW_ERR_NOMEM;
    o->n = n;
    return 0;
}

int64_t worker_finish_count(const struct worker_sess *ws, const char *stream)
{
    const struct ctl_msg *m = ws->finish;
    int64_t n = -1;
    int i;

    for (i = 0; m && i < m->nflows; i++)
        if (strcmp(m->flows[i].stream, stream) == 0)
            n = (n < 0 ? 0 : n) + m->flows[i].n;
    return n;
}

void worker_reject(struct worker_sess *ws, enum plan_table t, int64_t n)
{
    struct pending_ack *p = ws->w->cur;

    (void)t; /* rows of the input being handled, of its table */
    if (p && p->ws == ws && n > 0)
        p->rejected += n;
}

int worker_send_result(struct worker_sess *ws, const char *file, int64_t chunk,
                       const void *body, size_t len)
{
    struct mw_meta meta;
    int rc;

    fill_meta(&meta, ws, file, chunk, MW_KIND_RESULT);
    FAULT_POINT("worker.mid_results");
    rc = mw_publish(ws->w->conn, PLAN_RESULTS_EXCHANGE, ws->reply_to, &meta,
                    body, len);
    if (rc == 0) {
        ws->w->stats.msgs_out++;
        ws->w->stats.bytes_out += (int64_t)len;
    }
    return rc;
}

int worker_send_end(struct worker_sess *ws, const char *status,
                    const char *reason)
{
    struct ctl_msg *m = ws->w->out;
    int i;

    ctl_init(m, CTL_END, ws->id);
    snprintf(m->status, sizeof(m->status), "%s", status);
    if (reason)
        snprintf(m->reason, sizeof(m->reason), "%s", reason);
    for (i = 0; i < PLAN_NTABLES; i++)
        if (ctl_add_rejected(m, plan_table_name((enum plan_table)i),
                             ws->up_rejected[i]) != 0)
            break;
    return topo_publish_ctl(ws->w->conn, PLAN_RESULTS_EXCHANGE, ws->reply_to, m,
                            ws->w->producer);
}
