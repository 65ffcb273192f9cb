/*
 * results.c - the results thread: consumes this gateway's exclusive results
 * queue (gateway.<id>.results, bound to cs.results with key <id>) on its
 * own AMQP connection, forwards each result chunk to its session's socket
 * in chunk order (RESULT frames, split to the frame cap), and turns the
 * sink's `end` control message into RESULT_END or ERROR. Results of unknown
 * sessions are acked and dropped. On stop it tells the coordinator
 * `shutdown`.
 */
#include "gw.h"

#include "clock.h"
#include "ctl.h"
#include "evpub.h"
#include "fault.h"
#include "log.h"
#include "mw.h"
#include "topo.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#define NEXT_WAIT_MS 500

static const char *const result_names[GW_NRESULTS] = {
    CS_RESULT_FILES(CS_NAME_STR)};

struct gw_results {
    struct gw_server *srv;
    pthread_t th;
    struct mw_conn *conn;
    struct proto_buf out;
    atomic_bool stop;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int ready;        /* 0: starting, 1: consuming, -1: failed */
    int64_t stats_ms; /* monotonic: the last stats event */
};

int gw_result_index(const char *name)
{
    int i;

    for (i = 0; i < GW_NRESULTS; i++)
        if (strcmp(result_names[i], name) == 0)
            return i;
    return -1;
}

/* Sends one chunk as RESULT frames of at most the frame cap. */
static void send_chunk(struct gw_results *r, struct gw_session *s, int file,
                       const uint8_t *data, size_t len)
{
    const char *name = result_names[file];
    size_t max =
        (size_t)r->srv->cfg->max_frame - proto_result_overhead(strlen(name));
    struct gw_rfile *rf = gw_session_rfile(s, file);

    do {
        size_t n = len < max ? len : max;
        struct iovec iov[2];
        int rc;

        proto_buf_reset(&r->out);
        if (proto_enc_result_prefix(&r->out, name, rf->out_seq, n) != 0)
            return;
        iov[0].iov_base = r->out.ptr;
        iov[0].iov_len = r->out.len;
        iov[1].iov_base = (void *)(uintptr_t)data;
        iov[1].iov_len = n;
        FAULT_POINT("gateway.mid_results");
        rc = gw_session_sendv(s, iov, n ? 2 : 1);
        if (rc != 0) {
            log_debug("result not delivered session=%s file=%s err=%s",
                      gw_session_id(s), name, strerror(-rc));
            return;
        }
        rf->out_seq++;
        gw_session_add_result_bytes(s, n);
        data += n;
        len -= n;
    } while (len > 0);
}

static void on_chunk(struct gw_results *r, struct gw_session *s,
                     const struct mw_delivery *d)
{
    int file = gw_result_index(d->meta.stream);
    struct gw_reorder *o;
    const uint8_t *data;
    size_t len;

    if (file < 0) {
        log_warn("unknown result file dropped session=%s stream=%s",
                 gw_session_id(s), d->meta.stream);
        return;
    }
    o = &gw_session_rfile(s, file)->order;
    switch (gw_reorder_offer(o, d->meta.seq, d->body, d->len)) {
    case GW_RO_DELIVER:
        break;
    case GW_RO_DUPLICATE:
        if (d->meta.seq < o->next)
            log_debug("duplicate result chunk session=%s file=%s seq=%lld",
                      gw_session_id(s), d->meta.stream, (long long)d->meta.seq);
        return;
    case GW_RO_KEPT:
        return;
    default:
        log_warn(
            "result chunk dropped session=%s file=%s seq=%lld (waiting for "
            "%lld)",
            gw_session_id(s), result_names[file], (long long)d->meta.seq,
            (long long)o->next);
        return;
    }
    send_chunk(r, s, file, d->body, d->len);
    while (gw_reorder_pop(o, &data, &len))
        send_chunk(r, s, file, data, len);
}

/* Table of a rejected-count name: "transactions" or "<stage>.transactions". */
static int rejected_table(const char *name)
{
    const char *dot = strrchr(name, '.');
    int t = proto_table_by_name(name);

    return t >= 0 || dot == NULL ? t : proto_table_by_name(dot + 1);
}

static void on_end(struct gw_results *r, struct gw_session *s,
                   const struct ctl_msg *m)
{
    uint64_t rejected[PROTO_NTABLES] = {0};
    char reason[300];
    bool gaps = false;
    int i;

    for (i = 0; i < GW_NRESULTS; i++)
        gaps |= gw_reorder_has_gaps(&gw_session_rfile(s, i)->order);
    proto_buf_reset(&r->out);
    if (strcmp(m->status, "ok") == 0 && !gaps) {
        for (i = 0; i < m->nrejected; i++) {
            int t = rejected_table(m->rejected[i].name);

            if (t >= 0 && m->rejected[i].n > 0)
                rejected[t] += (uint64_t)m->rejected[i].n;
        }
        if (proto_enc_result_end(&r->out, 0, rejected) == 0)
            (void)gw_session_set_end(s, GW_END_OK, 0, NULL, r->out.ptr,
                                     r->out.len);
        return;
    }
    snprintf(reason, sizeof(reason), "the pipeline failed the session: %s",
             gaps           ? "result chunks are missing"
             : m->reason[0] ? m->reason
                            : "no reason given");
    if (proto_enc_error(&r->out, PROTO_E_PIPELINE, reason) == 0)
        (void)gw_session_set_end(s, GW_END_PIPELINE, PROTO_E_PIPELINE, reason,
                                 r->out.ptr, r->out.len);
}

/* What the session waits for, for clients that speak version 2. */
static void on_status(struct gw_results *r, struct gw_session *s,
                      const struct ctl_msg *m)
{
    log_info("session status session=%s stage=%s status=\"%s\"",
             gw_session_id(s), m->stage, m->reason);
    if (gw_session_version(s) < 2)
        return;
    proto_buf_reset(&r->out);
    if (proto_enc_status(&r->out, m->reason) == 0)
        (void)gw_session_send(s, r->out.ptr, r->out.len);
}

static void on_delivery(struct gw_results *r, const struct mw_delivery *d)
{
    struct gw_registry *reg = r->srv->reg;
    struct gw_session *s;
    struct ctl_msg m;

    if (d->meta.kind == MW_KIND_RESULT) {
        s = gw_registry_get(reg, d->meta.session);
        if (s == NULL) {
            log_debug("result for unknown session dropped session=%s stream=%s",
                      d->meta.session, d->meta.stream);
            return;
        }
        on_chunk(r, s, d);
        gw_session_unref(s);
        return;
    }
    if (d->meta.kind != MW_KIND_CONTROL ||
        ctl_decode(d->body, d->len, &m) != 0) {
        log_warn("unexpected message on the results queue dropped kind=%d "
                 "session=%s",
                 (int)d->meta.kind, d->meta.session);
        return;
    }
    if (m.type != CTL_END && m.type != CTL_STATUS) {
        log_debug("control %s on the results queue ignored session=%s",
                  ctl_type_name(m.type), m.session);
        return;
    }
    s = gw_registry_get(reg, m.session);
    if (s == NULL) {
        log_debug("%s for unknown session dropped session=%s",
                  ctl_type_name(m.type), m.session);
        return;
    }
    if (m.type == CTL_END)
        on_end(r, s, &m);
    else
        on_status(r, s, &m);
    gw_session_unref(s);
}

static void sleep_ms(int ms);

/* The results queue is durable (results survive a broker restart, and a
 * restarted gateway gets what was sent while it was down), so one gateway
 * id must be one process: an exclusive lock queue, freed by the broker
 * when its holder dies, fences a second one. A killed predecessor may
 * still hold it for a moment, so this waits up to lock_wait_s. */
static int claim_id(struct gw_results *r, struct mw_conn *c)
{
    const struct gw_config *cfg = r->srv->cfg;
    char q[GW_ID_MAX + 24];
    long waited_ms = 0;
    int err;

    snprintf(q, sizeof(q), "gateway-lock.%s", cfg->id);
    while ((err = mw_declare_queue(c, q, MW_QUEUE_EXCLUSIVE, NULL, 0)) ==
               MW_ERR_PROTOCOL &&
           waited_ms < cfg->lock_wait_s * 1000 && !atomic_load(&r->stop)) {
        if (waited_ms == 0)
            log_warn("GATEWAY_ID=%s is held by another gateway: waiting up to "
                     "%ld s for it",
                     cfg->id, cfg->lock_wait_s);
        sleep_ms(250);
        waited_ms += 250;
    }
    if (err == MW_ERR_PROTOCOL)
        log_error("another gateway runs with GATEWAY_ID=%s: give each gateway "
                  "its own id",
                  cfg->id);
    return err;
}

/* When a control plane keeps an archive (its durable queue exists), the
 * queue gets this gateway's results too from before the first session on
 * (the control plane binds it as well, but only once a snapshot names the
 * gateway, which a short first session can outrun). No control plane, no
 * queue: nothing is bound, nothing piles up. */
static int bind_archive(struct mw_conn *c, const char *id)
{
    uint32_t msgs, consumers;
    int err = mw_queue_stat(c, PLAN_ARCHIVE_QUEUE, &msgs, &consumers);

    if (err == MW_ERR_PROTOCOL) /* no such queue */
        return 0;
    if (err == 0)
        err = mw_bind(c, PLAN_ARCHIVE_QUEUE, PLAN_RESULTS_EXCHANGE, id);
    if (err == 0)
        log_info("results copied to the control plane's archive queue=%s",
                 PLAN_ARCHIVE_QUEUE);
    return err;
}

static struct mw_conn *results_connect(struct gw_results *r)
{
    const struct gw_config *cfg = r->srv->cfg;
    struct mw_options o;
    char name[96];
    struct mw_conn *c;
    int err = 0;

    snprintf(name, sizeof(name), "gateway %s results", cfg->id);
    memset(&o, 0, sizeof(o));
    o.url = cfg->amqp_url;
    o.name = name;
    o.prefetch = 64;
    o.heartbeat_s = (int)cfg->heartbeat_s;
    c = mw_connect(&o, &err);
    if (c == NULL) {
        log_error("cannot connect to the broker: %s", mw_strerror(err));
        return NULL;
    }
    err = topo_declare_control(c);
    if (err == 0) /* the stats events' (publish_stats) */
        err = mw_declare_exchange(c, PLAN_EVENTS_EXCHANGE, MW_EXCHANGE_FANOUT);
    if (err == 0)
        err = claim_id(r, c);
    if (err == 0)
        err =
            mw_declare_queue(c, cfg->results_queue, MW_QUEUE_DURABLE, NULL, 0);
    if (err == 0)
        err = mw_bind(c, cfg->results_queue, PLAN_RESULTS_EXCHANGE, cfg->id);
    if (err == 0)
        err = bind_archive(c, cfg->id);
    if (err == 0)
        err = mw_consume(c, cfg->results_queue);
    if (err != 0) {
        log_error("cannot set up the results queue %s: %s", cfg->results_queue,
                  mw_strerror(err));
        mw_close(c);
        return NULL;
    }
    return c;
}

static void set_ready(struct gw_results *r, int v)
{
    pthread_mutex_lock(&r->lock);
    r->ready = v;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The connection is gone for good: fail the sessions waiting on it, then
 * reconnect with capped backoff until stopped. */
static void results_recover(struct gw_results *r, int err, unsigned *reconnects)
{
    int delay = 500;

    log_error("results connection lost: %s", mw_strerror(err));
    gw_registry_kick(r->srv->reg, false, PROTO_E_BROKER,
                     "the gateway lost its connection to the broker");
    mw_close(r->conn);
    r->conn = NULL;
    while (!atomic_load(&r->stop)) {
        r->conn = results_connect(r);
        if (r->conn != NULL) {
            *reconnects = 0;
            log_info("results connection restored queue=%s",
                     r->srv->cfg->results_queue);
            return;
        }
        sleep_ms(delay);
        delay = delay * 2 > 10000 ? 10000 : delay * 2;
    }
}

static void send_shutdown(struct gw_results *r)
{
    struct ctl_msg m;
    int rc;

    if (r->conn == NULL)
        return;
    ctl_init(&m, CTL_SHUTDOWN, NULL);
    rc = topo_send_ctl(r->conn, NULL, &m, r->srv->cfg->id);
    if (rc == 0)
        rc = mw_flush(r->conn);
    if (rc != 0)
        log_warn("publishing shutdown failed: %s", mw_strerror(rc));
    else
        log_info("shutdown sent to the coordinator");
}

/* The results queue is durable: results in flight wait there while the
 * connection is restored, so sessions keep waiting for theirs. */
static void check_reconnect(struct gw_results *r, unsigned *seen)
{
    unsigned n = mw_reconnects(r->conn);

    if (n == *seen)
        return;
    *seen = n;
    log_warn("results connection was restored queue=%s",
             r->srv->cfg->results_queue);
}

/* The gateway's stats for the control plane (stage "gateway", its slot
 * named by its id), about once a second: the shape of the workers' events
 * (workers/runtime/wstats.c). This thread publishes nothing else while it
 * runs, so a returned or nacked publish is the event's (evpub.h): dropped.
 * Best effort: a failure is logged, never stops the thread. */
static void publish_stats(struct gw_results *r)
{
    const struct gw_server *srv = r->srv;
    int64_t now = clock_mono_ms();
    long long msgs = atomic_load(&srv->stats.msgs);
    long long bytes = atomic_load(&srv->stats.bytes);
    char json[512];
    int rc;

    if (now - r->stats_ms < 1000)
        return;
    r->stats_ms = now;
    snprintf(json, sizeof(json),
             "{\"type\":\"replica\",\"stage\":\"gateway\",\"replica\":0,"
             "\"id\":\"%s\",\"pid\":%ld,\"started_ms\":%lld,"
             "\"msgs_in\":%lld,\"bytes_in\":%lld,\"msgs_out\":%lld,"
             "\"bytes_out\":%lld,\"busy_ms\":%lld,\"sessions\":%d,"
             "\"ts_ms\":%lld}",
             srv->cfg->id, (long)getpid(), (long long)srv->stats.started_ms,
             msgs, bytes, msgs, bytes,
             (long long)(atomic_load(&srv->stats.busy_ns) / 1000000),
             gw_registry_active(srv->reg), (long long)clock_wall_ms());
    rc = evpub_publish(r->conn, "replica", srv->cfg->id, json);
    if (rc == 0)
        rc = evpub_flush(r->conn);
    if (rc != 0)
        log_warn("gateway stats event not published: %s", mw_strerror(rc));
}

static void *results_main(void *arg)
{
    struct gw_results *r = arg;
    struct mw_delivery d;
    unsigned reconnects = 0;
    int rc, errors = 0;

    r->conn = results_connect(r);
    set_ready(r, r->conn ? 1 : -1);
    if (r->conn == NULL)
        return NULL;
    while (!atomic_load(&r->stop)) {
        rc = mw_next(r->conn, &d, NEXT_WAIT_MS);
        check_reconnect(r, &reconnects);
        publish_stats(r);
        if (rc == MW_ERR_TIMEOUT || rc == MW_ERR_INTERRUPTED)
            continue;
        if (rc != 0) {
            /* The library restores lost connections itself: start over only
             * when it gave up, or keeps failing. */
            if (rc == MW_ERR_CLOSED || ++errors >= 10) {
                results_recover(r, rc, &reconnects);
                errors = 0;
            } else {
                log_warn("results queue: %s", mw_strerror(rc));
                sleep_ms(100);
            }
            continue;
        }
        errors = 0;
        on_delivery(r, &d);
        rc = mw_ack(r->conn, d.tag);
        if (rc != 0 && rc != MW_ERR_STALE)
            log_warn("ack failed on the results queue: %s", mw_strerror(rc));
    }
    send_shutdown(r);
    mw_close(r->conn);
    r->conn = NULL;
    return NULL;
}

struct gw_results *gw_results_start(struct gw_server *srv)
{
    struct gw_results *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->srv = srv;
    atomic_init(&r->stop, false);
    proto_buf_init(&r->out);
    if (pthread_mutex_init(&r->lock, NULL) != 0)
        goto out_free;
    if (pthread_cond_init(&r->cond, NULL) != 0)
        goto out_mutex;
    if (pthread_create(&r->th, NULL, results_main, r) != 0) {
        log_error("cannot start the results thread");
        goto out_cond;
    }
    pthread_mutex_lock(&r->lock);
    while (r->ready == 0)
        pthread_cond_wait(&r->cond, &r->lock);
    pthread_mutex_unlock(&r->lock);
    if (r->ready < 0) {
        pthread_join(r->th, NULL);
        goto out_cond;
    }
    log_info("results queue ready queue=%s", srv->cfg->results_queue);
    return r;

out_cond:
    pthread_cond_destroy(&r->cond);
out_mutex:
    pthread_mutex_destroy(&r->lock);
out_free:
    proto_buf_fini(&r->out);
    free(r);
    return NULL;
}

void gw_results_stop(struct gw_results *r)
{
    if (r == NULL)
        return;
    atomic_store(&r->stop, true);
    pthread_join(r->th, NULL);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    proto_buf_fini(&r->out);
    free(r);
}
