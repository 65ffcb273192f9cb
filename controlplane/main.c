/*
 * main.c - the control plane (issue 12, phase 1): consumes the
 * coordinator's session snapshots from cs.events through its own exclusive
 * queue, keeps them in memory and in SQLite (store.h) and serves them over
 * HTTP (http.h).
 *
 * Exit status: 0 on SIGTERM/SIGINT, 1 when the broker, the history or the
 * HTTP port fails, 2 on a configuration error.
 */
#include "archive.h"
#include "cfg.h"
#include "clock.h"
#include "err.h"
#include "hb.h"
#include "http.h"
#include "log.h"
#include "mw.h"
#include "plan.h"
#include "qpoll.h"
#include "results.h"
#include "sessreq.h"
#include "sig.h"
#include "stages.h"
#include "state.h"
#include "store.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define POLL_MS 500
#define QUEUES_MS 2000 /* between two polls of the queue depths */

struct config {
    const char *amqp_url, *bind, *db, *state_dir, *replicas;
    const char *archive, *admin_token;
    long port, max_sessions, retain_days, retain_sessions;
};

struct cp {
    const struct config *cf;
    struct mw_conn *conn;
    struct cp_store *store;
    struct cp_stages *stages; /* replicas and queues (stages.h) */
    int64_t queues_ms;        /* monotonic: the last poll of the queues */
    struct cp_http *http;
    struct cp_archive *archive; /* result files (archive.h) */
    struct cp_results *results; /* the archive queue, aborts, retention */
    struct cp_sessreq sessreq;  /* what /api/sessions/{id}/... needs */
    struct hb *hb;
    atomic_bool connected;
    char db[4096], archive_dir[2048];
};

static int parse_config(struct config *cf, int argc, char **argv)
{
    const struct cfg_opt opts[] = {
        {"AMQP_URL", "amqp-url", CFG_STR, MW_DEFAULT_URL, 0, 0, true,
         "broker URL", &cf->amqp_url},
        {"CONTROLPLANE_PORT", "port", CFG_INT, "8080", 1, 65535, false,
         "HTTP port of the API", &cf->port},
        {"CONTROLPLANE_BIND", "bind", CFG_STR, "127.0.0.1", 0, 0, false,
         "IPv4 address the API listens on (0.0.0.0: every interface)",
         &cf->bind},
        {"CONTROLPLANE_DB", "db", CFG_STR, "", 0, 0, false,
         "SQLite file of the session history (empty: "
         "CS_STATE_DIR/controlplane/history.db)",
         &cf->db},
        {"CS_STATE_DIR", "state-dir", CFG_STR, STATE_DIR_DEFAULT, 0, 0, false,
         "state directory (the history's default place)", &cf->state_dir},
        {"CONTROLPLANE_MAX_SESSIONS", "max-sessions", CFG_INT, "10000", 1,
         10000000, false,
         "sessions held in memory (the newest; older ones stay in the "
         "history file)",
         &cf->max_sessions},
        {"CONTROLPLANE_ARCHIVE", "archive", CFG_STR, "", 0, 0, false,
         "folder of the archived result files, by date (empty: "
         "CS_STATE_DIR/controlplane/archive)",
         &cf->archive},
        {"CONTROLPLANE_RETAIN_DAYS", "retain-days", CFG_INT, "30", 0, 36500,
         false,
         "finished sessions (history and result files) are kept this many "
         "days (0: no age limit)",
         &cf->retain_days},
        {"CONTROLPLANE_RETAIN_SESSIONS", "retain-sessions", CFG_INT, "10000", 0,
         10000000, false,
         "at most this many finished sessions are kept, the newest (0: no "
         "count limit)",
         &cf->retain_sessions},
        {"ADMIN_TOKEN", "admin-token", CFG_STR, "", 0, 0, true,
         "bearer token of the admin endpoints (POST /api/sessions/{id}/abort);"
         " empty: they are off",
         &cf->admin_token},
        {"CS_REPLICAS", "replicas", CFG_STR, "", 0, 0, false,
         "replica counts of every stage (the stages' view), e.g. "
         "filter=3,agg-q2=2,sink=2",
         &cf->replicas},
    };
    size_t n = sizeof(opts) / sizeof(opts[0]);
    int rc;

    rc = cfg_parse(opts, n, argc, argv, "usage: controlplane [options]",
                   "Follows every session through the coordinator's "
                   "snapshots (cs.events), keeps their history in SQLite "
                   "and serves it over HTTP: /api/sessions, "
                   "/api/sessions/{id}, /healthz, /metrics.");
    if (rc == CFG_OK)
        cfg_log(opts, n);
    return rc;
}

/* The history file: CONTROLPLANE_DB, or CS_STATE_DIR/controlplane/
 * history.db (directories created). 0 or -1 (logged). */
static int db_path(struct cp *cp)
{
    char dir[4000];

    if (cp->cf->db[0] != '\0') {
        snprintf(cp->db, sizeof(cp->db), "%s", cp->cf->db);
        return 0;
    }
    snprintf(dir, sizeof(dir), "%s/controlplane", cp->cf->state_dir);
    if ((mkdir(cp->cf->state_dir, 0755) != 0 && errno != EEXIST) ||
        (mkdir(dir, 0755) != 0 && errno != EEXIST)) {
        log_error("controlplane cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    if (snprintf(cp->db, sizeof(cp->db), "%.4000s/history.db", dir) >=
        (int)sizeof(cp->db)) {
        log_error("controlplane CS_STATE_DIR is too long");
        return -1;
    }
    return 0;
}

/* Called while the middleware waits to reconnect. */
static void on_wait(void *arg)
{
    struct cp *cp = arg;

    atomic_store(&cp->connected, false);
    hb_tick(cp->hb);
}

/* Connects, declares cs.events and an exclusive queue bound to it, and
 * consumes it. */
static int connect_broker(struct cp *cp)
{
    struct mw_options mo;
    char q[256];
    int rc;

    memset(&mo, 0, sizeof(mo));
    mo.url = cp->cf->amqp_url;
    mo.name = "controlplane";
    mo.prefetch = 64;
    mo.on_wait = on_wait;
    mo.on_wait_arg = cp;
    cp->conn = mw_connect(&mo, &rc);
    if (cp->conn == NULL) {
        log_error("controlplane cannot connect: %s", cs_strerror(rc));
        return rc;
    }
    rc =
        mw_declare_exchange(cp->conn, PLAN_EVENTS_EXCHANGE, MW_EXCHANGE_FANOUT);
    if (rc == 0)
        rc = mw_declare_queue(cp->conn, "", MW_QUEUE_EXCLUSIVE, q, sizeof(q));
    if (rc == 0)
        rc = mw_bind(cp->conn, q, PLAN_EVENTS_EXCHANGE, "");
    if (rc == 0)
        rc = mw_consume(cp->conn, q);
    if (rc == 0)
        rc = cp_results_attach(cp->results, cp->conn);
    if (rc != 0)
        log_error("controlplane cannot consume %s: %s", PLAN_EVENTS_EXCHANGE,
                  cs_strerror(rc));
    else
        log_info("controlplane consuming exchange=%s queue=%s",
                 PLAN_EVENTS_EXCHANGE, q);
    return rc;
}

/* One delivery: a replica's stats to the stages, anything else to the
 * store (a malformed one is dropped), acked. */
static int handle(struct cp *cp, const struct mw_delivery *d)
{
    char gw[64];
    int rc;

    if (cp_results_owns(cp->results, d)) {
        rc = cp_results_handle(cp->results, d);
        if (rc == 0)
            rc = mw_ack(cp->conn, d->tag);
        return rc == MW_ERR_STALE ? 0 : rc;
    }
    rc = cp_stages_apply(cp->stages, d->body, d->len, clock_wall_ms());
    if (rc == CP_STAGES_OTHER) {
        rc = cp_store_apply(cp->store, d->body, d->len);
        cp_store_last_gateway(cp->store, gw, sizeof(gw));
        if (rc != CS_ERR_ARG && cp_results_bind(cp->results, cp->conn, gw) != 0)
            log_warn("controlplane cannot bind the archive to gateway=%s", gw);
    }

    if (rc == CS_ERR_ARG)
        log_warn("controlplane event dropped: not a session snapshot "
                 "len=%zu producer=%s",
                 d->len, d->meta.producer);
    else if (rc != 0)
        log_warn("controlplane event kept in memory only: %s", cs_strerror(rc));
    rc = mw_ack(cp->conn, d->tag);
    return rc == MW_ERR_STALE ? 0 : rc;
}

static int run(struct cp *cp)
{
    struct mw_delivery d;
    int rc;

    while (!sig_stop_requested()) {
        hb_tick(cp->hb);
        rc = mw_next(cp->conn, &d, POLL_MS);
        if (rc == 0 || rc == MW_ERR_TIMEOUT)
            atomic_store(&cp->connected, true);
        if (rc == 0)
            rc = handle(cp, &d);
        else if (rc == MW_ERR_TIMEOUT || rc == MW_ERR_INTERRUPTED)
            rc = 0;
        if (rc == 0)
            rc = cp_results_tick(cp->results, cp->conn);
        if (rc == 0 && clock_mono_ms() - cp->queues_ms >= QUEUES_MS) {
            cp->queues_ms = clock_mono_ms();
            rc = cp_qpoll(cp->stages, cp->conn);
        }
        if (rc != 0) {
            log_error("controlplane stopping on error: %s", cs_strerror(rc));
            return rc;
        }
    }
    log_info("controlplane stopping: signal");
    return 0;
}

/* The archive folder and the module that feeds it. 0 or -1 (logged). */
static int open_archive(struct cp *cp)
{
    const struct config *cf = cp->cf;
    struct cp_results_cfg rc;
    char err[512];

    snprintf(cp->archive_dir, sizeof(cp->archive_dir), "%.1000s%s",
             cf->archive[0] ? cf->archive : cf->state_dir,
             cf->archive[0] ? "" : "/controlplane/archive");
    cp->archive = cp_archive_open(cp->archive_dir, err, sizeof(err));
    if (cp->archive == NULL) {
        log_error("controlplane cannot open its archive: %s", err);
        return -1;
    }
    memset(&rc, 0, sizeof(rc));
    rc.store = cp->store;
    rc.archive = cp->archive;
    rc.retain_ms = (double)cf->retain_days * 86400000.0;
    rc.retain_count = (size_t)cf->retain_sessions;
    cp->results = cp_results_create(&rc);
    if (cp->results == NULL) {
        log_error("controlplane out of memory");
        return -1;
    }
    cp->sessreq.store = cp->store;
    cp->sessreq.archive_dir = cp_archive_dir(cp->archive);
    cp->sessreq.admin_token = cf->admin_token;
    cp->sessreq.abort = cp_results_queue_abort;
    cp->sessreq.abort_arg = cp->results;
    return 0;
}

static int start(struct cp *cp)
{
    char err[512];
    struct plan plan;

    if (plan_init(&plan, cp->cf->replicas, err, sizeof(err)) != 0) {
        log_error("controlplane CS_REPLICAS: %s", err);
        return -1;
    }
    cp->stages = cp_stages_create(&plan);
    if (cp->stages == NULL || db_path(cp) != 0)
        return -1;
    cp->store =
        cp_store_open(cp->db, (size_t)cp->cf->max_sessions, err, sizeof(err));
    if (cp->store == NULL) {
        log_error("controlplane cannot open its history: %s", err);
        return -1;
    }
    cp->http = cp_http_start(cp->cf->bind, (unsigned)cp->cf->port, cp->store,
                             &cp->connected, err, sizeof(err));
    if (cp->http == NULL) {
        log_error("controlplane cannot serve HTTP: %s", err);
        return -1;
    }
    cp_http_set_stages(cp->http, cp->stages);
    if (open_archive(cp) != 0)
        return -1;
    cp_http_set_sessreq(cp->http, &cp->sessreq);
    if (connect_broker(cp) != 0)
        return -1;
    atomic_store(&cp->connected, true);
    log_info("controlplane ready http=%s:%ld history=%s", cp->cf->bind,
             cp->cf->port, cp->db);
    return 0;
}

int main(int argc, char **argv)
{
    struct config cf;
    struct cp cp;
    int rc, status = 1;

    if (log_init("controlplane") != 0) {
        fprintf(stderr,
                "error: LOG_LEVEL must be error, warn, info or debug\n");
        return 2;
    }
    rc = parse_config(&cf, argc, argv);
    if (rc != CFG_OK)
        return rc == CFG_HELP ? 0 : 2;
    if (sig_stop_install(-1) != 0) {
        log_error("controlplane cannot install signal handlers");
        return 1;
    }
    memset(&cp, 0, sizeof(cp));
    cp.cf = &cf;
    atomic_init(&cp.connected, false);
    cp.hb = hb_create("controlplane");
    if (cp.hb != NULL && start(&cp) == 0 && run(&cp) == 0) {
        status = 0;
        hb_bye(cp.hb); /* a deliberate stop: not to be restarted */
    }
    cp_http_stop(cp.http);
    mw_close(cp.conn);
    cp_results_destroy(cp.results);
    cp_archive_close(cp.archive);
    cp_store_close(cp.store);
    cp_stages_destroy(cp.stages);
    hb_destroy(cp.hb);
    return status;
}
