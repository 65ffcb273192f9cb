/*
 * service.c - the coordinator process (see service.h): consumes the durable
 * `coordinator` queue, feeds every control message to the EOF state machine
 * (coord.h) and publishes what it emits on cs.control. After every commit
 * it publishes the sessions' snapshots that are due to cs.events, for the
 * control plane (events.h).
 *
 * Crash recovery: every session-scoped message it consumes is appended to
 * that session's write-ahead log (CS_STATE_DIR/coordinator/<session>.wal)
 * before its delivery is acked. Deliveries are handled in batches (group
 * commit): handle each, then one fdatasync of the logs, then the broker's
 * confirms of what was emitted, then the acks. On start the logs are
 * replayed into the machine (emitting nothing), then every drain/finish the
 * machine is waiting on is sent again (coord_resume): a crash between any
 * two steps loses nothing, and a redelivered message is harmless (the
 * machine is idempotent). A session's log is deleted when it ends, after its
 * tombstone is durable.
 *
 * Exit status: 0 on SIGTERM/SIGINT or a shutdown message, 1 when the broker
 * or the state directory fails, 2 on a configuration error.
 */
#include "service.h"

#include "cfg.h"
#include "clock.h"
#include "coord.h"
#include "ctl.h"
#include "events.h"
#include "fault.h"
#include "grow.h"
#include "hb.h"
#include "log.h"
#include "mw.h"
#include "plan.h"
#include "sig.h"
#include "state.h"
#include "tombs.h"
#include "topo.h"
#include "wal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long mw_next waits before the loop checks the stop flag, and how
 * often the resend scan runs. */
#define POLL_MS 500
#define MAX_BATCH 256

struct config {
    const char *amqp_url, *replicas, *id, *state_dir, *fsync;
    long resend_ms, prefetch, batch, notice_s, fail_s;
};

struct service {
    const struct config *cf;
    struct mw_conn *conn;
    struct coord *coord;
    struct wal_dir *dir;
    struct tombs *tombs;
    struct ctl_msg *in;
    int err;            /* the mw error that made the emit callback fail */
    uint64_t last_tick; /* ms, monotonic */
    const struct plan *plan;
    uint64_t last_probe; /* ms, monotonic: stage liveness */
    /* the current batch */
    uint64_t tags[MAX_BATCH];
    int ntags;
    char (*ended)[CTL_ID_MAX]; /* sessions that ended: logs to delete */
    size_t nended, endcap;
    struct hb *hb;
    struct cevents *events; /* session snapshots for the control plane */
};

/* A returned or nacked publish is lost, not fatal: hello, the resend timer
 * and the durable control queues cover it. */
static bool lost_publish(int rc)
{
    return rc == MW_ERR_UNROUTABLE || rc == MW_ERR_NACK;
}

/* Control messages go to the stages (cs.control, key = stage, replica or
 * "all"); `end` and `status` go to a session's gateway (cs.results, key =
 * its id). */
static int emit_ctl(void *arg, const char *key, const struct ctl_msg *m)
{
    struct service *sv = arg;
    int rc = m->type == CTL_END || m->type == CTL_STATUS
                 ? topo_publish_ctl(sv->conn, PLAN_RESULTS_EXCHANGE, key, m,
                                    sv->cf->id)
                 : topo_send_ctl(sv->conn, key, m, sv->cf->id);

    if (lost_publish(rc)) {
        log_warn("coordinator a control message was not delivered: %s "
                 "(current: %s to %s session=%s)",
                 cs_strerror(rc), ctl_type_name(m->type), key, m->session);
        return 0;
    }
    sv->err = rc;
    return rc;
}

/* The machine's end hook: the session's log goes at the next commit. */
static void on_end(void *arg, const char *session)
{
    struct service *sv = arg;

    if (grow_array((void **)&sv->ended, &sv->endcap, sv->nended + 1,
                   sizeof(*sv->ended), 16) != 0) {
        log_warn("coordinator out of memory: the log of session=%s stays until "
                 "the next start",
                 session);
        return;
    }
    snprintf(sv->ended[sv->nended++], CTL_ID_MAX, "%s", session);
}

static int discard_ctl(void *arg, const char *key, const struct ctl_msg *m)
{
    (void)arg;
    (void)key;
    (void)m;
    return 0;
}

static int flush(struct service *sv)
{
    int rc = mw_flush(sv->conn);

    if (lost_publish(rc)) {
        log_warn("coordinator a control message was not delivered: %s",
                 cs_strerror(rc));
        return 0;
    }
    return rc;
}

static bool session_scoped(const struct ctl_msg *m)
{
    return m->type == CTL_SESSION_START || m->type == CTL_DONE ||
           m->type == CTL_REPORT || m->type == CTL_ABORT;
}

static int coord_rc(struct service *sv, int rc)
{
    /* the emit callback's own error says more than "emit failed" */
    return rc == COORD_ERR_EMIT && sv->err != 0 ? sv->err : rc;
}

/* Logs a session-scoped message of a live session; 0, 1 (not loggable: a
 * session id no log can be named after) or a negative errno. */
static int log_message(struct service *sv, const struct mw_delivery *d)
{
    int err = 0;
    struct wal *w;

    if (!session_scoped(sv->in) || coord_ended(sv->coord, sv->in->session))
        return 0;
    w = wal_open(sv->dir, sv->in->session, &err);
    if (w == NULL)
        return err == -EINVAL ? 1
                              : err; /* -EINVAL: no log can have that name */
    return wal_append(w, d->body, d->len);
}

/* Handles one delivery into the current batch; 0 or a fatal error. */
static int process(struct service *sv, const struct mw_delivery *d)
{
    int rc;

    sv->tags[sv->ntags++] = d->tag;
    if (ctl_decode(d->body, d->len, sv->in) != 0) {
        log_warn("coordinator invalid control message dropped queue=%s len=%zu "
                 "producer=%s",
                 d->queue, d->len, d->meta.producer);
        return 0;
    }
    rc = log_message(sv, d);
    if (rc == 1) {
        log_warn("coordinator message with session id '%s' dropped: not a "
                 "valid id",
                 sv->in->session);
        return 0;
    }
    if (rc != 0) {
        log_error("coordinator cannot write its log: %s", cs_strerror(rc));
        return rc;
    }
    FAULT_POINT("coord.after_log_before_handle");
    rc = coord_handle(sv->coord, sv->in, emit_ctl, sv);
    if (rc != 0)
        return coord_rc(sv, rc);
    /* e.g. an abort of a session never seen: logged, no end hook */
    if (session_scoped(sv->in) && coord_ended(sv->coord, sv->in->session))
        on_end(sv, sv->in->session);
    return 0;
}

/* The group commit: logs durable, emitted messages confirmed, ended
 * sessions' logs deleted, then the batch acked. */
static int commit(struct service *sv)
{
    size_t i;
    int rc;

    if (sv->ntags == 0 && sv->nended == 0)
        return 0;
    rc = wal_dir_sync(sv->dir);
    if (rc != 0) {
        log_error("coordinator cannot sync its log: %s", cs_strerror(rc));
        return rc;
    }
    FAULT_POINT("coord.after_sync_before_flush");
    rc = flush(sv);
    if (rc != 0)
        return rc;
    FAULT_POINT("coord.after_flush_before_ack");
    for (i = 0; i < sv->nended; i++)
        if ((rc = wal_remove(sv->dir, sv->ended[i])) != 0)
            log_warn("coordinator cannot delete the log of session=%s: %s",
                     sv->ended[i], cs_strerror(rc));
    for (i = 0; i < (size_t)sv->ntags; i++) {
        rc = mw_ack(sv->conn, sv->tags[i]);
        if (rc != 0 && rc != MW_ERR_STALE) /* stale: redelivered, harmless */
            return rc;
    }
    sv->ntags = 0;
    sv->nended = 0;
    return 0;
}

/* A stage is live while one of its replicas consumes its control queue. */
static int probe_stages(struct service *sv)
{
    char q[PLAN_NAME_MAX + 16];
    uint32_t msgs, consumers;
    int s, i, rc;

    for (s = PLAN_FILTER; s < PLAN_NSTAGES; s++) {
        bool live = false;

        for (i = 0; !live && i < sv->plan->replicas[s]; i++) {
            topo_control_queue((enum plan_stage_id)s, i, q, sizeof(q));
            rc = mw_queue_stat(sv->conn, q, &msgs, &consumers);
            if (rc != 0 && rc != MW_ERR_PROTOCOL)
                return rc;
            live = rc == 0 && consumers > 0;
        }
        coord_stage_live(sv->coord, (enum plan_stage_id)s, live);
    }
    return 0;
}

/* Runs the resend and stall scans at most every POLL_MS, the liveness
 * probe at most every second while sessions are active. */
static int tick(struct service *sv)
{
    uint64_t now = (uint64_t)clock_mono_ms();
    int rc;

    if (now - sv->last_tick < POLL_MS)
        return 0;
    sv->last_tick = now;
    if ((sv->cf->notice_s || sv->cf->fail_s) && coord_sessions(sv->coord) > 0 &&
        now - sv->last_probe >= 1000) {
        sv->last_probe = now;
        if ((rc = probe_stages(sv)) != 0)
            return rc;
    }
    rc = coord_tick(sv->coord, emit_ctl, sv);
    if (rc != 0)
        return coord_rc(sv, rc);
    rc = flush(sv);
    return rc == 0 ? commit(sv) : rc; /* logs of failed sessions */
}

/* The consume loop; returns 0 on a stop request or shutdown, else the error. */
static int run(struct service *sv)
{
    struct mw_delivery d;
    int rc;

    while (!sig_stop_requested() && !coord_stopping(sv->coord)) {
        hb_tick(sv->hb);
        rc = mw_next(sv->conn, &d, sv->ntags ? 0 : POLL_MS);
        if (rc == 0) {
            rc = process(sv, &d);
            if (rc == 0 && sv->ntags >= sv->cf->batch)
                rc = commit(sv);
        } else if (rc == MW_ERR_TIMEOUT || rc == MW_ERR_INTERRUPTED) {
            rc = commit(sv);
            if (rc == 0)
                rc = tick(sv);
        }
        /* every other publish is confirmed once the batch is committed */
        if (rc == 0 && sv->ntags == 0)
            rc = cevents_publish(sv->events, sv->conn, sv->coord);
        if (rc != 0) {
            log_error("coordinator stopping on error: %s", cs_strerror(rc));
            return rc;
        }
    }
    rc = commit(sv);
    if (rc == 0)
        rc = cevents_publish(sv->events, sv->conn, sv->coord);
    log_info("coordinator stopping: %s",
             sig_stop_requested() ? "signal" : "shutdown message");
    return rc;
}

/* ------------------------------------------------------------ recovery */

static void on_wait(void *arg)
{
    hb_tick(((struct service *)arg)->hb);
}

static int replay_record(void *arg, const uint8_t *rec, size_t len)
{
    struct service *sv = arg;

    hb_tick(sv->hb);
    if (ctl_decode(rec, len, sv->in) != 0)
        return 0; /* only valid messages were logged: ignore, as then */
    return coord_handle(sv->coord, sv->in, discard_ctl, NULL) == COORD_ERR_NOMEM
               ? COORD_ERR_NOMEM
               : 0;
}

static int replay_log(void *arg, const char *name)
{
    struct service *sv = arg;
    struct wal_replay_stats st;
    int rc;

    if (strcmp(name, TOMBS_LOG) == 0)
        return 0;
    rc = wal_replay(sv->dir, name, replay_record, sv, &st);
    if (rc != 0)
        return rc;
    log_info("coordinator replayed session=%s records=%llu active=%s", name,
             (unsigned long long)st.records,
             coord_active(sv->coord, name) ? "yes" : "no");
    if (!coord_active(sv->coord, name))
        return wal_remove(sv->dir, name);
    return 0;
}

/* Opens the state directory, loads the tombstones and rebuilds the machine
 * from the session logs. 0 or -1 (logged). */
static int recover(struct service *sv, const struct plan *plan)
{
    int rc;

    sv->dir = state_open(sv->cf->state_dir, "coordinator", sv->cf->fsync);
    if (sv->dir == NULL)
        return -1;
    sv->tombs = tombs_create(COORD_TOMBSTONES);
    sv->in = malloc(sizeof(*sv->in));
    if (sv->tombs == NULL || sv->in == NULL)
        return -1;
    rc = tombs_load(sv->tombs, sv->dir);
    if (rc != 0) {
        log_error("coordinator cannot load its tombstones: %s",
                  cs_strerror(rc));
        return -1;
    }
    sv->coord = coord_create(plan, sv->tombs);
    if (sv->coord == NULL)
        return -1;
    coord_set_resend(sv->coord, (uint64_t)sv->cf->resend_ms);
    coord_set_stage_limits(sv->coord, (uint64_t)sv->cf->notice_s * 1000,
                           (uint64_t)sv->cf->fail_s * 1000);
    coord_set_end_hook(sv->coord, on_end, sv);
    coord_set_final_hook(sv->coord, cevents_final, sv->events);
    rc = wal_dir_list(sv->dir, replay_log, sv);
    if (rc != 0) {
        log_error("coordinator cannot replay its logs: %s", cs_strerror(rc));
        return -1;
    }
    log_info("coordinator recovered sessions=%zu tombstones=%zu",
             coord_sessions(sv->coord), tombs_count(sv->tombs));
    return 0;
}

static int parse_config(struct config *cf, struct plan *p, int argc,
                        char **argv)
{
    const struct cfg_opt opts[] = {
        {"AMQP_URL", "amqp-url", CFG_STR, MW_DEFAULT_URL, 0, 0, true,
         "broker URL", &cf->amqp_url},
        {"CS_REPLICAS", "replicas", CFG_STR, "", 0, 0, false,
         "replicas per stage, e.g. filter=3,agg-q2=2,sink=2", &cf->replicas},
        {"COORD_ID", "id", CFG_STR, "coordinator", 0, 0, false,
         "producer id in message headers and connection name", &cf->id},
        {"COORD_RESEND_MS", "resend-ms", CFG_INT, "10000", 0, 3600000, false,
         "re-send drain/finish to a stage silent this long (0: never)",
         &cf->resend_ms},
        {"COORD_PREFETCH", "prefetch", CFG_INT, "256", 1, 65535, false,
         "unacked control messages the broker may push", &cf->prefetch},
        {"COORD_BATCH", "batch", CFG_INT, "64", 1, MAX_BATCH, false,
         "control messages handled per group commit (one fdatasync)",
         &cf->batch},
        {"COORD_STAGE_NOTICE_S", "stage-notice", CFG_INT, "5", 0, 86400, false,
         "tell a session's client which stage it waits for once that stage "
         "has had no live replica this long (0: never)",
         &cf->notice_s},
        {"COORD_STAGE_FAIL_S", "stage-fail", CFG_INT, "60", 0, 86400, false,
         "fail the sessions waiting on a stage that has had no live replica "
         "this long, with an error naming it (0: never)",
         &cf->fail_s},
        STATE_CFG_OPTS(&cf->state_dir, &cf->fsync),
    };
    size_t n = sizeof(opts) / sizeof(opts[0]);
    char err[256];
    int rc;

    rc =
        cfg_parse(opts, n, argc, argv, "usage: coordinator [options]",
                  "Decides the end of every session's stream from the "
                  "producers' declared flows and the replicas' processed ids.");
    if (rc != CFG_OK)
        return rc;
    if (plan_init(p, cf->replicas, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: CS_REPLICAS: %s\n", err);
        return CFG_ERROR;
    }
    if (state_check_fsync(cf->fsync) != 0 || fault_init() != 0)
        return CFG_ERROR;
    cfg_log(opts, n);
    return CFG_OK;
}

/* Connects, declares the control plane (every replica's control queue
 * too), starts consuming and re-sends what the machine waits on. */
static int start(struct service *sv, const struct plan *plan)
{
    struct mw_options mo;
    int rc;

    memset(&mo, 0, sizeof(mo));
    mo.url = sv->cf->amqp_url;
    mo.name = sv->cf->id;
    mo.prefetch = (uint16_t)sv->cf->prefetch;
    mo.on_wait = on_wait;
    mo.on_wait_arg = sv;
    sv->conn = mw_connect(&mo, &rc);
    if (sv->conn == NULL) {
        log_error("coordinator cannot connect: %s", cs_strerror(rc));
        return rc;
    }
    rc = topo_declare_control(sv->conn);
    if (rc == 0)
        rc = topo_declare_all_control(sv->conn, plan);
    if (rc == 0)
        rc = mw_declare_exchange(sv->conn, PLAN_EVENTS_EXCHANGE,
                                 MW_EXCHANGE_FANOUT);
    if (rc == 0)
        rc = mw_consume(sv->conn, PLAN_COORD_QUEUE);
    if (rc == 0)
        rc = coord_rc(sv, coord_resume(sv->coord, emit_ctl, sv));
    if (rc == 0)
        rc = flush(sv);
    if (rc != 0)
        log_error("coordinator cannot set up the control plane: %s",
                  cs_strerror(rc));
    return rc;
}

static void cleanup(struct service *sv)
{
    mw_close(sv->conn);
    coord_destroy(sv->coord);
    tombs_destroy(sv->tombs);
    wal_dir_close(sv->dir);
    hb_destroy(sv->hb);
    cevents_destroy(sv->events);
    free(sv->in);
    free(sv->ended);
}

int coord_service_main(int argc, char **argv)
{
    struct config cf;
    struct service sv;
    struct plan plan;
    int rc, status = 1;

    if (log_init("coordinator") != 0) {
        fprintf(stderr,
                "error: LOG_LEVEL must be error, warn, info or debug\n");
        return 2;
    }
    rc = parse_config(&cf, &plan, argc, argv);
    if (rc != CFG_OK)
        return rc == CFG_HELP ? 0 : 2;
    if (sig_stop_install(-1) != 0) {
        log_error("coordinator cannot install signal handlers");
        return 1;
    }
    memset(&sv, 0, sizeof(sv));
    sv.cf = &cf;
    sv.plan = &plan;
    sv.hb = hb_create("coordinator");
    sv.events = cevents_create(cf.id);
    if (sv.hb != NULL && sv.events != NULL && recover(&sv, &plan) == 0 &&
        start(&sv, &plan) == 0) {
        log_info("coordinator ready queue=%s", PLAN_COORD_QUEUE);
        if (run(&sv) == 0) {
            status = 0;
            hb_bye(sv.hb); /* a deliberate stop: not to be restarted */
        }
    }
    cleanup(&sv);
    return status;
}
