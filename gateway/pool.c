/*
 * pool.c - warm publisher connections for the sessions (see gw.h).
 *
 * Opening an AMQP connection and declaring the filter stage's topology
 * takes a few round trips (about 5 ms, and as much of the broker's CPU,
 * measured on 2026-11-30): the pool keeps up to GATEWAY_POOL of them idle
 * and ready. Its thread makes new ones when a
 * session took one, and serves the heartbeats of the idle ones (an idle
 * connection is not read by anyone else, and the broker closes one whose
 * heartbeats stop). A session gives its connection back once everything it
 * published is confirmed; one that failed closes its own.
 *
 * Given-back connections are kept up to twice GATEWAY_POOL, so that one
 * session after another reuses the same connections instead of closing
 * the one it used while the thread opened its replacement (a connection
 * opened and closed per session costs the broker about 5 ms of CPU). The
 * last one given back keeps its copy buffers: the next session takes it
 * (last in, first out) and writes into memory already mapped, where fresh
 * buffers cost about a sixth of the gateway's CPU on a 32 MB session (page
 * faults, perf). Every other idle connection is trimmed, so idle the
 * gateway holds at most one session's window of buffers.
 *
 * An idle connection fails fast when the broker goes away (one reconnect
 * try: the thread then drops it and makes another, without blocking a
 * session); the session that takes it gets the session's reconnect policy,
 * which rides an outage out.
 */
#include "gw.h"

#include "clock.h"
#include "log.h"
#include "mw.h"
#include "topo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Idle connections are served this often: AMQP_HEARTBEAT is at least 1 s. */
#define SERVE_MS 500
#define IDLE_TRIES 1  /* reconnect tries of an idle connection */
#define RETRY_MS 2000 /* after a failed connect, before the next */
/* Idle connections at most: twice the warm count (see above). */
#define IDLE_MAX (2 * GW_POOL_MAX)

struct gw_pool {
    const struct gw_config *cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct mw_conn *idle[IDLE_MAX]; /* the top was given back last */
    int nidle, warm;
    unsigned made; /* connections made: their names */
    bool stop, thread;
    pthread_t th;
};

/* A new connection with the topology a session publishes to. */
static struct mw_conn *pool_connect(struct gw_pool *p, int tries, int *err)
{
    struct mw_options o;
    char name[96];
    struct mw_conn *c;
    unsigned n;
    int rc;

    pthread_mutex_lock(&p->mu);
    n = ++p->made;
    pthread_mutex_unlock(&p->mu);
    snprintf(name, sizeof(name), "gateway %s publisher %u", p->cfg->id, n);
    memset(&o, 0, sizeof(o));
    o.url = p->cfg->amqp_url;
    o.name = name;
    o.reconnect_tries = tries;
    o.reconnect_max_ms = GW_RECONNECT_MAX_MS;
    o.heartbeat_s = (int)p->cfg->heartbeat_s;
    if ((c = mw_connect(&o, err)) == NULL)
        return NULL;
    rc = topo_declare_control(c);
    if (rc == 0)
        rc = topo_declare_stage(c, &p->cfg->plan, PLAN_FILTER);
    if (rc != 0) {
        mw_close(c);
        *err = rc;
        return NULL;
    }
    return c;
}

/* Keeps c idle if there is room (twice the warm count), else closes it
 * (without the lock: closing talks to the broker). A connection given back
 * goes on top, where the next session takes it, and alone keeps its copy
 * buffers; a new one (`fresh`) goes to the bottom, so that one made while
 * a session ran does not come before the session's own. Lock held on
 * entry and exit. */
static void pool_keep(struct gw_pool *p, struct mw_conn *c, bool fresh)
{
    if (!p->stop && p->nidle < 2 * p->warm) {
        if (fresh) {
            memmove(&p->idle[1], &p->idle[0],
                    (size_t)p->nidle * sizeof(struct mw_conn *));
            p->idle[0] = c;
        } else {
            if (p->nidle > 0)
                mw_trim(p->idle[p->nidle - 1]);
            p->idle[p->nidle] = c;
        }
        p->nidle++;
        return;
    }
    pthread_mutex_unlock(&p->mu);
    mw_close(c);
    pthread_mutex_lock(&p->mu);
}

/* Serves the heartbeats of the idle connections, dropping the dead ones.
 * Lock held on entry and exit; released while talking to the broker. */
static void pool_serve(struct gw_pool *p)
{
    struct mw_conn *c[IDLE_MAX];
    struct mw_delivery d;
    int i, n = p->nidle, rc;

    for (i = 0; i < n; i++)
        c[i] = p->idle[i];
    p->nidle = 0;
    pthread_mutex_unlock(&p->mu);
    for (i = 0; i < n; i++) {
        rc = mw_next(c[i], &d, 0);
        if (rc == 0 || rc == MW_ERR_TIMEOUT)
            continue;
        log_info("pool connection dropped gateway=%s err=%s", p->cfg->id,
                 mw_strerror(rc));
        mw_close(c[i]);
        c[i] = NULL;
    }
    pthread_mutex_lock(&p->mu);
    for (i = 0; i < n; i++)
        if (c[i] != NULL)
            pool_keep(p, c[i], false); /* in order: the top stays on top */
}

static void pool_wait(struct gw_pool *p, int ms)
{
    struct timespec ts = clock_deadline(CLOCK_MONOTONIC, ms);

    while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &ts) != ETIMEDOUT)
        if (p->nidle < p->warm)
            break;
}

static void *pool_main(void *arg)
{
    struct gw_pool *p = arg;
    struct mw_conn *c;
    int err = 0, wait_ms;

    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        wait_ms = SERVE_MS;
        if (p->nidle < p->warm) {
            pthread_mutex_unlock(&p->mu);
            c = pool_connect(p, IDLE_TRIES, &err);
            pthread_mutex_lock(&p->mu);
            if (c == NULL) {
                log_debug("pool connect failed gateway=%s err=%s", p->cfg->id,
                          mw_strerror(err));
                wait_ms = RETRY_MS;
            } else {
                pool_keep(p, c, true);
                if (p->nidle < p->warm)
                    continue; /* the next one at once */
            }
        }
        pool_wait(p, wait_ms);
        if (!p->stop)
            pool_serve(p);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct gw_pool *gw_pool_create(const struct gw_config *cfg)
{
    struct gw_pool *p = calloc(1, sizeof(*p));
    pthread_condattr_t ca;

    if (p == NULL)
        return NULL;
    p->cfg = cfg;
    p->warm = (int)cfg->pool; /* 0 .. GW_POOL_MAX (the option's bounds) */
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (p->warm > 0) {
        if (pthread_create(&p->th, NULL, pool_main, p) != 0) {
            log_error("cannot start the connection pool's thread");
            gw_pool_destroy(p);
            return NULL;
        }
        p->thread = true;
    }
    return p;
}

void gw_pool_destroy(struct gw_pool *p)
{
    int i;

    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->thread)
        pthread_join(p->th, NULL);
    for (i = 0; i < p->nidle; i++)
        mw_close(p->idle[i]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

struct mw_conn *gw_pool_take(struct gw_pool *p, int tries, bool *warm, int *err)
{
    struct mw_conn *c = NULL;

    pthread_mutex_lock(&p->mu);
    if (p->nidle > 0)
        c = p->idle[--p->nidle];
    pthread_cond_signal(&p->cv); /* one less idle: make the next */
    pthread_mutex_unlock(&p->mu);
    *warm = c != NULL;
    if (c == NULL)
        return pool_connect(p, tries, err);
    mw_set_reconnect_tries(c, tries);
    return c;
}

void gw_pool_give(struct gw_pool *p, struct mw_conn *c)
{
    if (c == NULL)
        return;
    mw_set_reconnect_tries(c, IDLE_TRIES);
    pthread_mutex_lock(&p->mu);
    pool_keep(p, c, false);
    pthread_mutex_unlock(&p->mu);
}
