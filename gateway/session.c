/*
 * session.c - one client session, on its own thread and an AMQP connection
 * of its own while it publishes (taken from the pool, pool.c, and given
 * back once everything is confirmed): HELLO/WELCOME, then every BATCH is
 * published to the filter stage's exchange keyed by table; DATA_END
 * confirms everything and tells the coordinator how many batches went to
 * each queue. Every frame goes through the stream checks (stream.c), whose
 * verdict this thread acts on; a client that waited in line comes with its
 * HELLO read (lobby.c). The results thread delivers the results and marks
 * the session ended; this thread then closes the socket, unlists the
 * session and drops its reference (sessobj.c frees it with the last one).
 * A client that goes away early (or breaks the protocol, or idles) gets its
 * session aborted.
 */
#include "gw.h"
#include "stream.h"

#include "clock.h"

#include "ctl.h"
#include "fault.h"
#include "log.h"
#include "mw.h"
#include "sockio.h"
#include "topo.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#define TICK_MS 2000   /* keeps the idle AMQP connection's heartbeats going */
#define LINGER_MS 1000 /* after a final ERROR: let the client read it */
/* A broker outage of up to about 45 s is ridden out (publishes wait, then
 * are republished); a broker down at HELLO is reported to the client
 * within that time, before its handshake timeout. */
#define RECONNECT_TRIES 15
#define BACKLOG_EVERY 32 /* batches between two looks at the queue depth */

enum outcome {
    OUT_OK,       /* results delivered */
    OUT_PIPELINE, /* the pipeline failed the session (ERROR sent) */
    OUT_ABORT,    /* ended early: abort the session in the pipeline */
};

struct sess {
    struct gw_server *srv;
    const struct gw_config *cfg;
    struct gw_session *s;
    struct mw_conn *conn;
    struct proto_decoder dec;
    struct gw_stream st; /* what the client sent so far, checked */
    struct proto_buf out;
    double t0, last_rx;
    bool started;  /* session_start was published */
    bool data_end; /* DATA_END done */
    bool warm;     /* the connection came from the pool's idle ones */
    bool sent_error;
    uint64_t batches[PLAN_NTABLES], bytes;
    double held_s; /* time the client was held back (backpressure) */
    char reason[300];
};

/* Sends ERROR(code, reason) to the client (best effort) and records why the
 * session ends. Returns OUT_ABORT for the caller to return. */
__attribute__((format(printf, 3, 4))) static int sess_fail(struct sess *x,
                                                           uint16_t code,
                                                           const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(x->reason, sizeof(x->reason), fmt, ap);
    va_end(ap);
    proto_buf_reset(&x->out);
    if (proto_enc_error(&x->out, code, x->reason) == 0 &&
        gw_session_send(x->s, x->out.ptr, x->out.len) == 0)
        x->sent_error = true;
    return OUT_ABORT;
}

/* Ends the session for a failing verdict of the stream checks. */
static int sess_refuse(struct sess *x, enum gw_verdict v)
{
    char why[sizeof(x->reason)];
    uint16_t code =
        gw_stream_reason(&x->st, v, x->cfg->max_frame, why, sizeof(why));

    return sess_fail(x, code, "%s", why);
}

/* Reads the end decided by another thread; GW_END_NONE if none. Once set,
 * it never changes. A pipeline failure's reason becomes the session's. */
static enum gw_end sess_end(struct sess *x, uint16_t *code)
{
    char why[256];
    enum gw_end e = gw_session_end(x->s, code, why, sizeof(why));

    if (e == GW_END_PIPELINE)
        snprintf(x->reason, sizeof(x->reason), "%s", why);
    return e;
}

/* The session was kicked: ERROR(code, reason) to the client. */
static int sess_kicked(struct sess *x)
{
    char why[256];
    uint16_t code;

    (void)gw_session_end(x->s, &code, why, sizeof(why));
    return sess_fail(x, code, "%s", why);
}

static void sess_keepalive(struct sess *x)
{
    struct mw_delivery d;
    int rc;

    if (x->conn == NULL)
        return;
    rc = mw_next(x->conn, &d, 0);
    if (rc != 0 && rc != MW_ERR_TIMEOUT && rc != MW_ERR_INTERRUPTED)
        log_debug("session keepalive session=%s rc=%s", gw_session_id(x->s),
                  mw_strerror(rc));
}

/* Next frame from the client: 1 with *f, 0 when another thread decided
 * the session's end (see sess_end), -1 when the session must end (reason
 * set, ERROR sent where useful). Idle time counts when `idle` is set. */
static int sess_next_frame(struct sess *x, struct proto_frame *f, bool idle)
{
    uint16_t code;

    for (;;) {
        double left =
            (double)x->cfg->idle_timeout_s - (clock_mono_s() - x->last_rx);
        int rc = proto_decoder_next(&x->dec, f), wait_ms, ready;
        uint8_t *p;
        size_t room;
        long n;

        if (rc == 1) {
            /* Progress is a whole frame, not a byte: a client trickling
             * bytes (slowloris) is as idle as a silent one. */
            x->last_rx = clock_mono_s();
            return 1;
        }
        if (rc < 0) {
            sess_refuse(x, gw_stream_header(&x->st, rc));
            return -1;
        }
        if (idle && left <= 0) {
            sess_fail(x, PROTO_E_IDLE,
                      "no complete frame from the client "
                      "for %ld s",
                      x->cfg->idle_timeout_s);
            return -1;
        }
        wait_ms =
            idle && left * 1000 < TICK_MS ? (int)(left * 1000) + 1 : TICK_MS;
        ready =
            sockio_wait(gw_session_fd(x->s), gw_session_wake_fd(x->s), wait_ms);
        if (ready == -EINTR || ready == 0) {
            sess_keepalive(x);
            continue;
        }
        if ((ready < 0 || (ready & 2)) && sess_end(x, &code) != GW_END_NONE)
            return 0;
        if (ready < 0) {
            snprintf(x->reason, sizeof(x->reason), "poll: %s",
                     strerror(-ready));
            return -1;
        }
        if (!(ready & 1))
            continue;
        rc = proto_decoder_space(&x->dec, &p, &room);
        if (rc != 0) {
            sess_refuse(x, gw_stream_header(&x->st, rc));
            return -1;
        }
        n = sockio_read(gw_session_fd(x->s), p, room);
        if (n == -EINTR)
            continue;
        if (n <= 0) {
            if (sess_end(x, &code) != GW_END_NONE)
                return 0;
            snprintf(x->reason, sizeof(x->reason), "client disconnected%s%s",
                     n < 0 ? ": " : "", n < 0 ? strerror((int)-n) : "");
            return -1;
        }
        proto_decoder_commit(&x->dec, (size_t)n);
    }
}

static struct mw_conn *sess_connect(struct sess *x, int tries)
{
    int err = 0;
    struct mw_conn *c = gw_pool_take(x->srv->pool, tries, &x->warm, &err);

    if (c == NULL)
        log_warn("broker connection failed session=%s err=%s",
                 gw_session_id(x->s), mw_strerror(err));
    return c;
}

static int sess_start(struct sess *x)
{
    struct ctl_msg msg;
    uuid_t u;
    char id[PROTO_SESSION_LEN + 1];
    int rc;

    x->conn = sess_connect(x, RECONNECT_TRIES);
    if (x->conn == NULL)
        return sess_fail(x, PROTO_E_BROKER,
                         "the gateway cannot reach the "
                         "message broker");
    uuid_generate_random(u);
    uuid_unparse_lower(u, id);
    /* Journaled first: if this gateway dies, the next one aborts it. */
    rc = gw_journal_start(x->srv->journal, id);
    if (rc != 0)
        return sess_fail(x, PROTO_E_INTERNAL,
                         "the gateway cannot write its "
                         "session journal: %s",
                         strerror(-rc));
    gw_registry_set_id(x->srv->reg, x->s, id);
    ctl_init(&msg, CTL_SESSION_START, id);
    snprintf(msg.reply_to, sizeof(msg.reply_to), "%s", x->cfg->id);
    snprintf(msg.client, sizeof(msg.client), "%s", gw_session_client(x->s));
    snprintf(msg.folder, sizeof(msg.folder), "%s", gw_session_folder(x->s));
    rc = topo_send_ctl(x->conn, NULL, &msg, x->cfg->id);
    if (rc == 0)
        rc = mw_flush(x->conn);
    if (rc != 0)
        return sess_fail(x, PROTO_E_BROKER, "starting the session failed: %s",
                         mw_strerror(rc));
    x->started = true;
    log_info("session start session=%s client=%s peer=%s connection=\"%s\" "
             "warm=%s",
             id, gw_session_client(x->s), gw_session_peer(x->s),
             mw_name(x->conn), x->warm ? "yes" : "no");
    proto_buf_reset(&x->out);
    if (proto_enc_welcome(&x->out, gw_session_version(x->s), id,
                          (uint32_t)x->cfg->max_frame) != 0 ||
        gw_session_send(x->s, x->out.ptr, x->out.len) != 0) {
        snprintf(x->reason, sizeof(x->reason), "client disconnected");
        return OUT_ABORT;
    }
    return OUT_OK;
}

/* HELLO (unless the waiting line read it already), then the start. */
static int sess_handshake(struct sess *x)
{
    struct proto_frame f;
    struct proto_msg m;
    enum gw_verdict v;
    int rc;

    if (x->st.hello)
        return sess_start(x);
    rc = sess_next_frame(x, &f, true);
    if (rc == 0) /* kicked (shutdown) before it started */
        return sess_kicked(x);
    if (rc < 0)
        return OUT_ABORT;
    v = gw_stream_hello(&x->st, &f, &m);
    if (v != GW_V_OK)
        return sess_refuse(x, v);
    gw_session_set_client(x->s, m.u.hello.name, m.u.hello.folder,
                          m.u.hello.version);
    return sess_start(x);
}

/* Holds the client back (its next frames are not read, so TCP slows it
 * down) while the filter queue this session feeds holds more than
 * GATEWAY_MAX_BACKLOG messages: the broker's memory stays bounded whatever
 * the input size, and a fast client cannot bury slower filters. Waiting
 * ends when the queue drains or the session's end is decided elsewhere (a
 * shutdown, the pipeline failing it). */
static int sess_backpressure(struct sess *x, const char *table)
{
    char q[PLAN_NAME_MAX];
    uint32_t msgs, consumers;
    double since = clock_mono_s();
    uint16_t code;
    bool said = false;
    struct timespec ts = {0, 20 * 1000000L};

    plan_queue(PLAN_FILTER, table, q, sizeof(q));
    /* Confirmed first, so the depth counts what this session sent. */
    int rc = mw_flush(x->conn);

    if (rc != 0)
        return rc;
    while (mw_queue_stat(x->conn, q, &msgs, &consumers) == 0 &&
           msgs > (uint32_t)x->cfg->max_backlog) {
        if (!said) {
            log_debug("backpressure session=%s queue=%s messages=%u",
                      gw_session_id(x->s), q, msgs);
            said = true;
        }
        if (sess_end(x, &code) != GW_END_NONE)
            return 0;
        sess_keepalive(x);
        nanosleep(&ts, NULL);
    }
    if (said)
        x->held_s += clock_mono_s() - since;
    return 0;
}

static int on_batch(struct sess *x, const struct proto_msg *m)
{
    char ex[PLAN_NAME_MAX];
    const char *table = plan_table_name((enum plan_table)m->u.batch.table);
    struct mw_meta meta;
    int64_t t0 = clock_mono_ns();
    int rc;

    memset(&meta, 0, sizeof(meta));
    snprintf(meta.session, sizeof(meta.session), "%s", gw_session_id(x->s));
    snprintf(meta.stream, sizeof(meta.stream), "%s", table);
    snprintf(meta.producer, sizeof(meta.producer), "%s", x->cfg->id);
    meta.seq = (int64_t)x->batches[m->u.batch.table];
    meta.kind = MW_KIND_DATA;
    plan_exchange(PLAN_FILTER, ex, sizeof(ex));
    rc = mw_publish(x->conn, ex, table, &meta, m->u.batch.data, m->u.batch.len);
    if (rc != 0)
        return sess_fail(x, PROTO_E_BROKER,
                         "publishing to the broker failed: %s",
                         mw_strerror(rc));
    x->batches[m->u.batch.table]++;
    gw_stream_batch_done(&x->st, m);
    x->bytes += m->u.batch.len;
    atomic_fetch_add(&x->srv->stats.msgs, 1);
    atomic_fetch_add(&x->srv->stats.bytes, (long long)m->u.batch.len);
    atomic_fetch_add(&x->srv->stats.busy_ns, clock_mono_ns() - t0);
    FAULT_POINT("gateway.mid_stream");
    if (x->cfg->max_backlog > 0 &&
        x->batches[m->u.batch.table] % BACKLOG_EVERY == 0 &&
        (rc = sess_backpressure(x, table)) != 0)
        return sess_fail(x, PROTO_E_BROKER,
                         "publishing to the broker failed: %s",
                         mw_strerror(rc));
    return OUT_OK;
}

/* Everything is confirmed by the broker, then the coordinator learns how
 * many batches each filter queue got. */
static int on_data_end(struct sess *x)
{
    struct ctl_msg msgbuf, *msg = &msgbuf;
    char key[PLAN_NAME_MAX];
    int t, rc;

    ctl_init(msg, CTL_DONE, gw_session_id(x->s));
    snprintf(msg->stage, sizeof(msg->stage), "%s",
             plan_stage_name(PLAN_GATEWAY));
    msg->replica = 0;
    for (t = 0; t < PLAN_NTABLES; t++) {
        const char *table = plan_table_name((enum plan_table)t);

        plan_queue(PLAN_FILTER, table, key, sizeof(key));
        if (ctl_set_flow(msg, key, table, (int64_t)x->batches[t]) != 0)
            return sess_fail(x, PROTO_E_INTERNAL, "too many counts");
        /* what the client sent, for the control plane */
        snprintf(msg->sent[t].name, sizeof(msg->sent[t].name), "%s", table);
        msg->sent[t].n = (int64_t)x->st.rows[t];
    }
    _Static_assert(PLAN_NTABLES < CTL_MAX_REJECTED, "sent counts fit");
    snprintf(msg->sent[t].name, sizeof(msg->sent[t].name), "bytes");
    msg->sent[t].n = (int64_t)x->bytes;
    msg->nsent = t + 1;
    rc = mw_flush(x->conn);
    FAULT_POINT("gateway.after_confirm_before_done");
    if (rc == 0)
        rc = topo_send_ctl(x->conn, NULL, msg, x->cfg->id);
    if (rc == 0)
        rc = mw_flush(x->conn);
    FAULT_POINT("gateway.after_done");
    if (rc != 0)
        return sess_fail(x, PROTO_E_BROKER, "confirming the data failed: %s",
                         mw_strerror(rc));
    x->data_end = true;
    gw_session_set_waiting(x->s);
    log_debug("data end session=%s", gw_session_id(x->s));
    /* Nothing more to publish unless the client aborts: the broker
     * connection, all confirmed, goes back to the pool. */
    gw_pool_give(x->srv->pool, x->conn);
    x->conn = NULL;
    return OUT_OK;
}

/* After the handshake: frames until DATA_END, then wait for the results
 * thread to end the session. */
static int sess_loop(struct sess *x)
{
    struct proto_frame f;
    struct proto_msg m;
    enum gw_verdict v;
    uint16_t code;
    int rc;

    for (;;) {
        rc = sess_next_frame(x, &f, !x->data_end);
        if (rc < 0)
            return OUT_ABORT;
        if (rc == 0) {
            switch (sess_end(x, &code)) {
            case GW_END_OK:
                return OUT_OK;
            case GW_END_PIPELINE:
                return OUT_PIPELINE;
            case GW_END_KICKED:
                return sess_kicked(x);
            default:
                continue;
            }
        }
        v = gw_stream_frame(&x->st, &f, &m);
        if (v == GW_V_BATCH)
            rc = on_batch(x, &m);
        else if (v == GW_V_DATA_END)
            rc = on_data_end(x);
        else
            rc = gw_verdict_fails(v) ? sess_refuse(x, v) : OUT_OK;
        if (rc != OUT_OK)
            return OUT_ABORT;
    }
}

static int sess_publish_abort(struct sess *x)
{
    struct ctl_msg msg;
    int rc;

    if (x->conn == NULL)
        x->conn = sess_connect(x, 3);
    if (x->conn == NULL)
        return MW_ERR_CONNECT;
    ctl_init(&msg, CTL_ABORT, gw_session_id(x->s));
    snprintf(msg.reason, sizeof(msg.reason), "%.255s", x->reason);
    rc = topo_send_ctl(x->conn, NULL, &msg, x->cfg->id);
    if (rc == 0)
        rc = mw_flush(x->conn);
    if (rc != 0)
        log_warn("publishing abort failed session=%s err=%s (the next start of "
                 "this gateway aborts it)",
                 gw_session_id(x->s), mw_strerror(rc));
    return rc;
}

/* The session's outcome is settled: it leaves the journal (an aborted one
 * only once the pipeline was told). */
static void sess_settle(struct sess *x, int out)
{
    int rc = 0;

    if (!x->started)
        return;
    if (out == OUT_ABORT)
        rc = sess_publish_abort(x);
    if (rc == 0 &&
        (rc = gw_journal_end(x->srv->journal, gw_session_id(x->s))) != 0)
        log_warn("session journal not updated session=%s: %s",
                 gw_session_id(x->s), strerror(-rc));
}

/* Takes the socket from the session (no more writes by anyone) and closes
 * it; after an ERROR, lingers briefly so the client can read it. */
static void sess_close_socket(struct sess *x)
{
    char sink[4096];
    double until = clock_mono_s() + LINGER_MS / 1000.0;
    int fd = gw_session_take_fd(x->s);

    if (fd < 0)
        return;
    if (x->sent_error && shutdown(fd, SHUT_WR) == 0)
        while (clock_mono_s() < until && sockio_wait(fd, -1, 100) > 0 &&
               sockio_read(fd, sink, sizeof(sink)) > 0)
            ;
    close(fd);
}

static void sess_log_end(struct sess *x, const char *status)
{
    const char *id = gw_session_id(x->s), *client = gw_session_client(x->s);
    uint64_t rows = 0, batches = 0;
    int t;

    for (t = 0; t < PLAN_NTABLES; t++) {
        rows += x->st.rows[t];
        batches += x->batches[t];
    }
    log_info("session end session=%s client=%s peer=%s status=%s rows=%llu "
             "batches=%llu bytes=%llu result_bytes=%llu seconds=%.2f "
             "held_back_s=%.2f%s%s%s",
             id[0] ? id : "-", client[0] ? client : "-", gw_session_peer(x->s),
             status, (unsigned long long)rows, (unsigned long long)batches,
             (unsigned long long)x->bytes,
             (unsigned long long)gw_session_result_bytes(x->s),
             clock_mono_s() - x->t0, x->held_s,
             x->reason[0] ? " reason=\"" : "", x->reason,
             x->reason[0] ? "\"" : "");
}

void *gw_session_main(void *arg)
{
    struct gw_session_arg *a = arg;
    struct sess x;
    const char *status;
    int out;

    memset(&x, 0, sizeof(x));
    x.srv = a->srv;
    x.cfg = a->srv->cfg;
    x.s = a->s;
    x.st = a->st;
    free(a);
    x.t0 = x.last_rx = clock_mono_s();
    proto_decoder_init(&x.dec, (uint32_t)x.cfg->max_frame);
    proto_buf_init(&x.out);

    out = sess_handshake(&x);
    if (out == OUT_OK)
        out = sess_loop(&x);
    gw_registry_remove(x.srv->reg, x.s);
    sess_close_socket(&x);
    if (out == OUT_OK)
        status = "ok";
    else if (out == OUT_PIPELINE)
        status = "failed";
    else
        status = x.started ? "aborted" : "rejected";
    sess_settle(&x, out);
    sess_log_end(&x, status);

    mw_close(x.conn);
    proto_decoder_fini(&x.dec);
    proto_buf_fini(&x.out);
    gw_session_unref(x.s);
    gw_registry_leave(x.srv->reg);
    return NULL;
}
