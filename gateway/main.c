/*
 * main.c - the coffee-stream gateway: configuration, start-up and the
 * graceful shutdown. The lobby (lobby.c) accepts clients and gives each a
 * session thread (session.c), or a place in line while MAX_SESSIONS run;
 * results come back through the results thread (results.c).
 *
 * SIGTERM/SIGINT: stop accepting (the waiting clients get ERROR 8 and
 * retry elsewhere or later), let the active sessions finish and get
 * their results, tell the coordinator `shutdown`, exit 0. A second signal
 * ends the remaining sessions at once (ERROR to their clients, abort to the
 * pipeline).
 */
#include "gw.h"
#include "lobby.h"
#include "sig.h"

#include "cfg.h"
#include "clock.h"
#include "ctl.h"
#include "fault.h"
#include "hb.h"
#include "state.h"
#include "topo.h"
#include "log.h"
#include "mw.h"
#include "sockio.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static bool id_ok(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > GW_ID_MAX)
        return false;
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789-_.") == n;
}

/* Effective id, results queue name and plan; 0 or -1 (printed). */
static int finish_config(struct gw_config *cfg)
{
    char host[64] = "host", err[160];

    if (cfg->id_opt[0]) {
        snprintf(cfg->id, sizeof(cfg->id), "%.*s", GW_ID_MAX, cfg->id_opt);
        if (strlen(cfg->id_opt) > GW_ID_MAX || !id_ok(cfg->id_opt)) {
            fprintf(stderr,
                    "error: GATEWAY_ID '%s' must be 1..%d characters of "
                    "[A-Za-z0-9._-]\n",
                    cfg->id_opt, GW_ID_MAX);
            return -1;
        }
    } else {
        if (gethostname(host, sizeof(host)) != 0)
            snprintf(host, sizeof(host), "host");
        host[24] = '\0';
        host[strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789-_.")] = '\0';
        /* Stable across restarts: a restarted gateway takes over its
         * predecessor's results queue and session journal. */
        snprintf(cfg->id, sizeof(cfg->id), "gw-%.24s", host[0] ? host : "host");
    }
    snprintf(cfg->results_queue, sizeof(cfg->results_queue),
             "gateway.%s.results", cfg->id);
    if (plan_init(&cfg->plan, cfg->replicas, err, sizeof(err)) != 0) {
        fprintf(stderr, "error: CS_REPLICAS: %s\n", err);
        return -1;
    }
    return 0;
}

/* Waits for the sessions; a second signal ends them at once. */
static void drain_sessions(struct gw_server *srv)
{
    bool kicked = false;
    int n = gw_registry_active(srv->reg);

    if (n > 0)
        log_info("shutting down: waiting for %d session%s to finish (signal "
                 "again to end them now)",
                 n, n == 1 ? "" : "s");
    while (gw_registry_wait_idle(srv->reg, 250) > 0) {
        hb_tick(srv->hb); /* finishing sessions is not hanging */
        if (sig_stop_count() >= 2 && !kicked) {
            log_warn("second signal: ending the remaining sessions");
            gw_registry_kick(srv->reg, false, PROTO_E_SHUTDOWN,
                             "the gateway is shutting down");
            kicked = true;
        }
    }
}

static int listen_port(int lfd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[NI_MAXHOST], port[NI_MAXSERV];

    if (getsockname(lfd, (struct sockaddr *)&ss, &len) != 0 ||
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port,
                    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return -1;
    {
        char *end;
        long v = strtol(port, &end, 10);

        return *end == '\0' && v > 0 && v <= 65535 ? (int)v : -1;
    }
}

/* Publishes abort for up to n orphan sessions and waits for the confirms. */
static int publish_aborts(struct gw_server *srv, struct mw_conn *c,
                          struct ctl_msg *m, const char **ids, size_t n)
{
    size_t i;
    int rc = 0;

    for (i = 0; rc == 0 && i < n; i++) {
        ctl_init(m, CTL_ABORT, ids[i]);
        snprintf(m->reason, sizeof(m->reason),
                 "the gateway serving the session "
                 "restarted: its client lost the connection");
        rc = topo_send_ctl(c, NULL, m, srv->cfg->id);
        log_info("session abort session=%s reason=\"left open by the previous "
                 "run of this gateway\"",
                 ids[i]);
    }
    return rc == 0 ? mw_flush(c) : rc;
}

/* Aborts the sessions a previous run of this gateway left open (their
 * clients lost their connection with it), then forgets them. 0 or -1
 * (logged). */
static int abort_orphans(struct gw_server *srv)
{
    const char *ids[256];
    size_t n, i;
    struct mw_options o;
    struct ctl_msg *m = NULL;
    struct mw_conn *c = NULL;
    int rc = 0;

    if (gw_journal_orphans(srv->journal, ids, 256) == 0)
        return 0;
    memset(&o, 0, sizeof(o));
    o.url = srv->cfg->amqp_url;
    o.name = "gateway recovery";
    if ((c = mw_connect(&o, &rc)) == NULL ||
        (m = ctl_new(CTL_ABORT, NULL)) == NULL) {
        log_error("cannot abort the sessions left open by the previous run: %s",
                  c ? "out of memory" : mw_strerror(rc));
        mw_close(c);
        return -1;
    }
    while (rc == 0 && (n = gw_journal_orphans(srv->journal, ids, 256)) > 0) {
        n = n < 256 ? n : 256;
        if ((rc = publish_aborts(srv, c, m, ids, n)) != 0) {
            log_error("cannot publish aborts: %s", mw_strerror(rc));
            break;
        }
        /* From the last: ids[] points into the journal's list. */
        for (i = n; rc == 0 && i-- > 0;)
            if ((rc = gw_journal_end(srv->journal, ids[i])) != 0)
                log_error("cannot update the session journal: %s",
                          strerror(-rc));
    }
    free(m);
    mw_close(c);
    return rc == 0 ? 0 : -1;
}

static int serve(struct gw_server *srv)
{
    char port[16];
    struct gw_results *res;
    struct gw_lobby *lobby = NULL;
    int lfd;

    snprintf(port, sizeof(port), "%ld", srv->cfg->port);
    lfd = sockio_listen(srv->cfg->bind_addr, port, 128);
    if (lfd < 0) {
        log_error("cannot listen on %s:%s: %s", srv->cfg->bind_addr, port,
                  strerror(-lfd));
        return 1;
    }
    srv->journal = gw_journal_open(srv->cfg);
    if (srv->journal == NULL) {
        close(lfd);
        return 1;
    }
    gw_block_stop_signals(true);
    res = gw_results_start(srv);
    if (res != NULL)
        srv->pool = gw_pool_create(srv->cfg);
    gw_block_stop_signals(false);
    if (res == NULL || srv->pool == NULL || abort_orphans(srv) != 0 ||
        (lobby = gw_lobby_create(srv)) == NULL) {
        gw_pool_destroy(srv->pool);
        gw_results_stop(res);
        gw_journal_close(srv->journal);
        close(lfd);
        return 1;
    }
    log_info("gateway ready id=%s listen=%s:%d", srv->cfg->id,
             srv->cfg->bind_addr, listen_port(lfd));
    gw_lobby_run(lobby, lfd);
    close(lfd);
    drain_sessions(srv);
    gw_lobby_destroy(lobby);
    gw_pool_destroy(srv->pool);
    gw_results_stop(res);
    gw_journal_close(srv->journal);
    hb_bye(srv->hb); /* a deliberate stop: not to be restarted */
    log_info("gateway stopped id=%s", srv->cfg->id);
    return 0;
}

int main(int argc, char **argv)
{
    struct gw_config cfg;
    struct gw_server srv;
    const struct cfg_opt opts[] = {
        {"AMQP_URL", "amqp-url", CFG_STR, MW_DEFAULT_URL, 0, 0, true,
         "message broker URL", &cfg.amqp_url},
        {"GATEWAY_PORT", "port", CFG_INT, "9000", 0, 65535, false,
         "TCP port for clients (0: any free port, logged)", &cfg.port},
        {"GATEWAY_BIND", "bind", CFG_STR, "0.0.0.0", 0, 0, false,
         "address to listen on", &cfg.bind_addr},
        {"GATEWAY_ID", "id", CFG_STR, "", 0, 0, false,
         "gateway id: results routing key, producer name, state directory; "
         "one running gateway per id (empty: gw-<host>)",
         &cfg.id_opt},
        {"GATEWAY_LOCK_WAIT_S", "lock-wait", CFG_INT, "60", 0, 3600, false,
         "how long to wait for the id of a gateway that died but still looks "
         "alive to the broker",
         &cfg.lock_wait_s},
        STATE_CFG_OPTS(&cfg.state_dir, &cfg.fsync),
        {"CS_REPLICAS", "replicas", CFG_STR, "", 0, 0, false,
         "replica spec, e.g. filter=3,agg-q2=2,sink=2 (unnamed stages: 1)",
         &cfg.replicas},
        {"MAX_FRAME_BYTES", "max-frame-bytes", CFG_INT, "8388608",
         PROTO_MAX_FRAME_MIN, PROTO_MAX_FRAME_LIMIT, false,
         "largest frame payload accepted from (and sent to) a client",
         &cfg.max_frame},
        {"IDLE_TIMEOUT_S", "idle-timeout", CFG_INT, "60", 1, 86400, false,
         "disconnect a client that completes no frame for this long while "
         "streaming (also the socket send timeout)",
         &cfg.idle_timeout_s},
        {"MAX_SESSIONS", "max-sessions", CFG_INT, "64", 1, 4096, false,
         "concurrent sessions; more clients wait in line (first come, first "
         "served; a client shows its place)",
         &cfg.max_sessions},
        {"GATEWAY_MAX_WAITING", "max-waiting", CFG_INT, "4096", 0, 100000,
         false,
         "clients that may wait in line for a session (a socket and about "
         "400 bytes each: no thread, no broker connection); more get a BUSY "
         "error and retry",
         &cfg.max_waiting},
        {"GATEWAY_MAX_BACKLOG", "max-backlog", CFG_INT, "128", 0, 1000000,
         false,
         "batches a filter queue may hold before the sessions feeding it "
         "wait (bounds the broker's memory; 0: no bound)",
         &cfg.max_backlog},
        {"AMQP_HEARTBEAT", "heartbeat", CFG_INT, "10", 1, 600, false,
         "AMQP heartbeat in seconds of the broker connections",
         &cfg.heartbeat_s},
        {"GATEWAY_POOL", "pool", CFG_INT, "2", 0, GW_POOL_MAX, false,
         "broker connections kept open and idle for the next sessions, "
         "which then start without connecting (0: each session connects "
         "and closes its own)",
         &cfg.pool},
    };
    size_t nopts = sizeof(opts) / sizeof(opts[0]);
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    if (log_init("gateway") != 0) {
        fprintf(stderr, "error: LOG_LEVEL must be error|warn|info|debug\n");
        return 2;
    }
    rc = cfg_parse(opts, nopts, argc, argv, "usage: gateway [options]",
                   "Accepts coffee-stream clients over TCP (docs/PROTOCOL.md), "
                   "publishes their batches\nto the pipeline on RabbitMQ and "
                   "sends the results back. SIGTERM/SIGINT: finish the\nactive "
                   "sessions, then exit (a second signal ends them at once). "
                   "LOG_LEVEL\n(error|warn|info|debug) sets the log level.");
    if (rc == CFG_HELP)
        return 0;
    if (rc != CFG_OK || finish_config(&cfg) != 0 ||
        state_check_fsync(cfg.fsync) != 0 || fault_init() != 0)
        return 2;
    cfg_log(opts, nopts);
    if (sig_stop_install(-1) != 0) {
        log_error("cannot install signal handlers");
        return 1;
    }
    memset(&srv, 0, sizeof(srv));
    srv.cfg = &cfg;
    srv.stats.started_ms = clock_wall_ms();
    srv.reg = gw_registry_create();
    srv.hb = hb_create("gateway");
    if (srv.reg == NULL || srv.hb == NULL) {
        log_error("out of memory");
        gw_registry_destroy(srv.reg);
        hb_destroy(srv.hb);
        return 1;
    }
    rc = serve(&srv);
    gw_registry_destroy(srv.reg);
    hb_destroy(srv.hb);
    return rc;
}
