/*
 * main.c - the coordinator process: consumes the durable `coordinator`
 * queue, feeds every control message to the EOF state machine (coord.h),
 * publishes what it emits on cs.control, waits for the broker's confirms and
 * only then acks the input, so a crash never loses an effect (a redelivered
 * input is harmless: the machine is idempotent).
 *
 * Exit status: 0 on SIGTERM/SIGINT or a shutdown message, 1 when the broker
 * is lost for good, 2 on a configuration error.
 */
#include "cfg.h"
#include "sig.h"
#include "clock.h"
#include "coord.h"
#include "ctl.h"
#include "log.h"
#include "mw.h"
#include "plan.h"
#include "topo.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long mw_next waits before the loop checks the stop flag, and how
 * often the resend scan runs. */
#define POLL_MS 500

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct config {
    const char *amqp_url;
    const char *replicas;
    const char *id;
    long resend_ms;
    long prefetch;
};

struct service {
    struct mw_conn *conn;
    struct coord *coord;
    const char *id;
    int err;            /* the mw error that made the emit callback fail */
    uint64_t last_tick; /* ms, monotonic */
};

/* A returned or nacked publish is lost, not fatal: the resend timer repeats
 * drain/finish for a stage that stays silent. */
static bool lost_publish(int rc)
{
    return rc == MW_ERR_UNROUTABLE || rc == MW_ERR_NACK;
}

static int emit_ctl(void *arg, const char *key, const struct ctl_msg *m)
{
    struct service *sv = arg;
    int rc = topo_send_ctl(sv->conn, key, m, sv->id);

    if (lost_publish(rc)) {
        log_warn("coordinator a control message was not delivered: %s "
                 "(current: %s to %s session=%s)", mw_strerror(rc),
                 ctl_type_name(m->type), key, m->session);
        return 0;
    }
    sv->err = rc;
    return rc;
}

static int flush(struct service *sv)
{
    int rc = mw_flush(sv->conn);

    if (lost_publish(rc)) {
        log_warn("coordinator a control message was not delivered: %s",
                 mw_strerror(rc));
        return 0;
    }
    return rc;
}

/* Applies one delivery; returns 0 or a fatal mw/coord error (not logged). */
static int process(struct service *sv, const struct mw_delivery *d)
{
    struct ctl_msg in;
    int rc;

    if (ctl_decode(d->body, d->len, &in) != 0) {
        log_warn("coordinator invalid control message dropped queue=%s len=%zu "
                 "producer=%s", d->queue, d->len, d->meta.producer);
    } else {
        rc = coord_handle(sv->coord, &in, emit_ctl, sv);
        if (rc == COORD_ERR_EMIT)
            return sv->err;
        if (rc == COORD_ERR_NOMEM)
            return MW_ERR_NOMEM;
        rc = flush(sv);
        if (rc != 0)
            return rc;
    }
    rc = mw_ack(sv->conn, d->tag);
    if (rc == MW_ERR_STALE) {
        log_debug("coordinator ack after a reconnect skipped: redelivery is harmless");
        rc = 0;
    }
    return rc;
}

/* Runs the resend scan at most every POLL_MS. */
static int tick(struct service *sv)
{
    uint64_t now = (uint64_t)clock_mono_ms();
    int rc;

    if (now - sv->last_tick < POLL_MS)
        return 0;
    sv->last_tick = now;
    rc = coord_tick(sv->coord, emit_ctl, sv);
    if (rc == COORD_ERR_EMIT)
        return sv->err;
    return flush(sv);
}

/* The consume loop; returns 0 on a stop request or shutdown, else the error. */
static int run(struct service *sv)
{
    struct mw_delivery d;
    int rc;

    while (!stop_requested && !coord_stopping(sv->coord)) {
        rc = mw_next(sv->conn, &d, POLL_MS);
        if (rc == 0)
            rc = process(sv, &d);
        else if (rc == MW_ERR_TIMEOUT || rc == MW_ERR_INTERRUPTED)
            rc = 0;
        if (rc == 0)
            rc = tick(sv);
        if (rc != 0) {
            log_error("coordinator stopping on error: %s", mw_strerror(rc));
            return rc;
        }
    }
    log_info("coordinator stopping: %s",
             stop_requested ? "signal" : "shutdown message");
    return 0;
}

static int parse_config(struct config *cf, struct plan *p, int argc, char **argv)
{
    const struct cfg_opt opts[] = {
        {"AMQP_URL", "amqp-url", CFG_STR, MW_DEFAULT_URL,
         0, 0, true, "broker URL", &cf->amqp_url},
        {"CS_REPLICAS", "replicas", CFG_STR, "", 0, 0, false,
         "replicas per stage, e.g. filter=3,agg-q2=2,sink=2", &cf->replicas},
        {"COORD_ID", "id", CFG_STR, "coordinator", 0, 0, false,
         "producer id in message headers and connection name", &cf->id},
        {"COORD_RESEND_MS", "resend-ms", CFG_INT, "10000", 0, 3600000, false,
         "re-send drain/finish to a stage silent this long (0: never)",
         &cf->resend_ms},
        {"COORD_PREFETCH", "prefetch", CFG_INT, "64", 1, 65535, false,
         "unacked control messages the broker may push", &cf->prefetch},
    };
    size_t n = sizeof(opts) / sizeof(opts[0]);
    char err[256];
    int rc;

    rc = cfg_parse(opts, n, argc, argv, "usage: coordinator [options]",
                   "Decides the end of every session's stream from the "
                   "producers' sent counts and the replicas' processed counts.");
    if (rc != CFG_OK)
        return rc;
    if (plan_init(p, cf->replicas, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: CS_REPLICAS: %s\n", err);
        return CFG_ERROR;
    }
    cfg_log(opts, n);
    return CFG_OK;
}

int main(int argc, char **argv)
{
    struct config cf;
    struct service sv;
    struct mw_options mo;
    struct plan plan;
    int rc, status = 1;

    if (log_init("coordinator") != 0) {
        fprintf(stderr, "error: LOG_LEVEL must be error, warn, info or debug\n");
        return 2;
    }
    rc = parse_config(&cf, &plan, argc, argv);
    if (rc != CFG_OK)
        return rc == CFG_HELP ? 0 : 2;
    if (sig_on_stop(on_signal) != 0) {
        log_error("coordinator cannot install signal handlers");
        return 1;
    }
    memset(&sv, 0, sizeof(sv));
    sv.id = cf.id;
    sv.coord = coord_create(&plan);
    if (sv.coord == NULL) {
        log_error("coordinator out of memory");
        return 1;
    }
    coord_set_resend(sv.coord, (uint64_t)cf.resend_ms);
    memset(&mo, 0, sizeof(mo));
    mo.url = cf.amqp_url;
    mo.name = cf.id;
    mo.prefetch = (uint16_t)cf.prefetch;
    sv.conn = mw_connect(&mo, &rc);
    if (sv.conn == NULL) {
        log_error("coordinator cannot connect: %s", mw_strerror(rc));
        goto out_destroy_coord;
    }
    rc = topo_declare_control(sv.conn);
    if (rc == 0)
        rc = mw_consume(sv.conn, PLAN_COORD_QUEUE);
    if (rc != 0) {
        log_error("coordinator cannot set up the control plane: %s", mw_strerror(rc));
        goto out_close_conn;
    }
    log_info("coordinator ready queue=%s", PLAN_COORD_QUEUE);
    if (run(&sv) == 0)
        status = 0;
out_close_conn:
    mw_close(sv.conn);
out_destroy_coord:
    coord_destroy(sv.coord);
    return status;
}
