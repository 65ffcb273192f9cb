/*
 * session.c - one client session, on its own thread and its own AMQP
 * connection: HELLO/WELCOME, then every BATCH is published to the filter
 * stage's exchange keyed by table; DATA_END confirms everything and tells
 * the coordinator how many batches went to each queue. The results thread
 * delivers the results and marks the session ended; this thread then
 * closes the socket, unlists the session and frees it. A client that goes
 * away early (or breaks the protocol, or idles) gets its session aborted.
 */
#include "gw.h"
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

_Static_assert(PROTO_NTABLES == PLAN_NTABLES, "wire table ids are plan tables");

#define TICK_MS 2000   /* keeps the idle AMQP connection's heartbeats going */
#define LINGER_MS 1000 /* after a final ERROR: let the client read it */
/* A broker outage of up to about 45 s is ridden out (publishes wait, then
 * are republished); a broker down at HELLO is reported to the client
 * within that time, before its handshake timeout. */
#define RECONNECT_TRIES 15
#define BACKLOG_EVERY 32 /* batches between two looks at the queue depth */
#define RECONNECT_MAX_MS 4000

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
    struct proto_buf out;
    double t0, last_rx;
    bool started;   /* session_start was published */
    bool data_end;  /* DATA_END done */
    bool sent_error;
    int open_table; /* -1: none */
    bool table_done[PLAN_NTABLES];
    uint64_t rows[PLAN_NTABLES], batches[PLAN_NTABLES], bytes;
    double held_s; /* time the client was held back (backpressure) */
    char reason[300];
};

/* Sends ERROR(code, reason) to the client (best effort) and records why the
 * session ends. Returns OUT_ABORT for the caller to return. */
__attribute__((format(printf, 3, 4)))
static int sess_fail(struct sess *x, uint16_t code, const char *fmt, ...)
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

/* Reads the end decided by another thread; GW_END_NONE if none. Once set,
 * s->end, s->kick_code and s->reason never change. */
static enum gw_end sess_end(struct sess *x, uint16_t *code)
{
    enum gw_end e;
    char b[64];

    while (read(x->s->wake[0], b, sizeof(b)) > 0)
        ;
    pthread_mutex_lock(&x->s->lock);
    e = x->s->end;
    *code = x->s->kick_code;
    if (e == GW_END_PIPELINE)
        snprintf(x->reason, sizeof(x->reason), "%s", x->s->reason);
    pthread_mutex_unlock(&x->s->lock);
    return e;
}

/* A frame header the decoder refused (size cap, unknown type). */
static void sess_bad_frame(struct sess *x, int err)
{
    if (!x->started)
        sess_fail(x, PROTO_E_VERSION, "the first frame is not a HELLO (%s): not "
                  "a coffee-stream client?", proto_strerror(err));
    else if (err == PROTO_ERR_TOO_BIG)
        sess_fail(x, PROTO_E_TOO_BIG, "%s (cap %ld bytes, MAX_FRAME_BYTES)",
                  proto_strerror(err), x->cfg->max_frame);
    else
        sess_fail(x, PROTO_E_PROTOCOL, "%s", proto_strerror(err));
}

static void sess_keepalive(struct sess *x)
{
    struct mw_delivery d;
    int rc;

    if (x->conn == NULL)
        return;
    rc = mw_next(x->conn, &d, 0);
    if (rc != 0 && rc != MW_ERR_TIMEOUT && rc != MW_ERR_INTERRUPTED)
        log_debug("session keepalive session=%s rc=%s", x->s->id, mw_strerror(rc));
}

/* Next frame from the client: 1 with *f, 0 when another thread decided
 * the session's end (see sess_end), -1 when the session must end (reason
 * set, ERROR sent where useful). Idle time counts when `idle` is set. */
static int sess_next_frame(struct sess *x, struct proto_frame *f, bool idle)
{
    uint16_t code;

    for (;;) {
        double left = x->cfg->idle_timeout_s - (clock_mono_s() - x->last_rx);
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
            sess_bad_frame(x, rc);
            return -1;
        }
        if (idle && left <= 0) {
            sess_fail(x, PROTO_E_IDLE, "no complete frame from the client "
                      "for %ld s", x->cfg->idle_timeout_s);
            return -1;
        }
        wait_ms = idle && left * 1000 < TICK_MS ? (int)(left * 1000) + 1 : TICK_MS;
        ready = sockio_wait(x->s->fd, x->s->wake[0], wait_ms);
        if (ready == -EINTR || ready == 0) {
            sess_keepalive(x);
            continue;
        }
        if ((ready < 0 || (ready & 2)) && sess_end(x, &code) != GW_END_NONE)
            return 0;
        if (ready < 0) {
            snprintf(x->reason, sizeof(x->reason), "poll: %s", strerror(-ready));
            return -1;
        }
        if (!(ready & 1))
            continue;
        rc = proto_decoder_space(&x->dec, &p, &room);
        if (rc != 0) {
            sess_bad_frame(x, rc);
            return -1;
        }
        n = sockio_read(x->s->fd, p, room);
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

/* Makes a client-supplied name safe for key=value logs. */
static void sanitize(char *s)
{
    for (; *s; s++)
        if (*s <= ' ' || *s > '~' || *s == '"' || *s == '=')
            *s = '_';
}

static struct mw_conn *sess_connect(struct sess *x, int tries)
{
    struct mw_options o;
    char name[160];
    int err = 0;
    struct mw_conn *c;

    snprintf(name, sizeof(name), "gateway %s session %s", x->cfg->id,
             x->s->id[0] ? x->s->id : x->s->peer);
    memset(&o, 0, sizeof(o));
    o.url = x->cfg->amqp_url;
    o.name = name;
    o.reconnect_tries = tries;
    o.reconnect_max_ms = RECONNECT_MAX_MS;
    c = mw_connect(&o, &err);
    if (c == NULL)
        log_warn("broker connection failed session=%s err=%s", x->s->id,
                 mw_strerror(err));
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
        return sess_fail(x, PROTO_E_BROKER, "the gateway cannot reach the "
                         "message broker");
    rc = topo_declare_control(x->conn);
    if (rc == 0)
        rc = topo_declare_stage(x->conn, &x->cfg->plan, PLAN_FILTER);
    if (rc != 0)
        return sess_fail(x, PROTO_E_BROKER, "declaring the topology failed: %s",
                         mw_strerror(rc));
    uuid_generate_random(u);
    uuid_unparse_lower(u, id);
    /* Journaled first: if this gateway dies, the next one aborts it. */
    rc = gw_journal_start(x->srv->journal, id);
    if (rc != 0)
        return sess_fail(x, PROTO_E_INTERNAL, "the gateway cannot write its "
                         "session journal: %s", strerror(-rc));
    gw_registry_set_id(x->srv->reg, x->s, id);
    ctl_init(&msg, CTL_SESSION_START, id);
    snprintf(msg.reply_to, sizeof(msg.reply_to), "%s", x->cfg->id);
    rc = topo_send_ctl(x->conn, NULL, &msg, x->cfg->id);
    if (rc == 0)
        rc = mw_flush(x->conn);
    if (rc != 0)
        return sess_fail(x, PROTO_E_BROKER, "starting the session failed: %s",
                         mw_strerror(rc));
    x->started = true;
    log_info("session start session=%s client=%s peer=%s", id, x->s->client,
             x->s->peer);
    proto_buf_reset(&x->out);
    if (proto_enc_welcome(&x->out, x->s->version, id, (uint32_t)x->cfg->max_frame) != 0 ||
        gw_session_send(x->s, x->out.ptr, x->out.len) != 0) {
        snprintf(x->reason, sizeof(x->reason), "client disconnected");
        return OUT_ABORT;
    }
    return OUT_OK;
}

static int sess_handshake(struct sess *x)
{
    struct proto_frame f;
    struct proto_msg m;
    int rc = sess_next_frame(x, &f, true);

    if (rc == 0) /* kicked (shutdown) before it started */
        return sess_fail(x, x->s->kick_code, "%s", x->s->reason);
    if (rc < 0)
        return OUT_ABORT;
    if (f.type != PROTO_HELLO)
        return sess_fail(x, PROTO_E_PROTOCOL, "expected HELLO, got %s",
                         proto_type_name(f.type));
    rc = proto_decode(&f, &m);
    if (rc == PROTO_ERR_VERSION)
        return sess_fail(x, PROTO_E_VERSION, "protocol version %u is not "
                         "supported (this gateway speaks versions %d to %d)",
                         m.u.hello.version, PROTO_VERSION_MIN, PROTO_VERSION);
    if (rc == PROTO_ERR_MAGIC)
        return sess_fail(x, PROTO_E_VERSION, "bad magic: not a coffee-stream client");
    if (rc != 0)
        return sess_fail(x, PROTO_E_PROTOCOL, "malformed HELLO: %s",
                         proto_strerror(rc));
    x->s->version = m.u.hello.version;
    snprintf(x->s->client, sizeof(x->s->client), "%s",
             m.u.hello.name[0] ? m.u.hello.name : "-");
    sanitize(x->s->client);
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
            log_debug("backpressure session=%s queue=%s messages=%u", x->s->id,
                      q, msgs);
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
    int rc;

    if (x->open_table != m->u.batch.table)
        return sess_fail(x, PROTO_E_PROTOCOL, "BATCH of %s outside its "
                         "TABLE_BEGIN/TABLE_END", table);
    if (m->u.batch.len == 0 || m->u.batch.rows == 0 ||
        m->u.batch.data[m->u.batch.len - 1] != '\n')
        return sess_fail(x, PROTO_E_PROTOCOL, "BATCH of %s is not whole lines "
                         "(empty, no rows, or no final newline)", table);
    memset(&meta, 0, sizeof(meta));
    snprintf(meta.session, sizeof(meta.session), "%s", x->s->id);
    snprintf(meta.stream, sizeof(meta.stream), "%s", table);
    snprintf(meta.producer, sizeof(meta.producer), "%s", x->cfg->id);
    meta.seq = (int64_t)x->batches[m->u.batch.table];
    meta.kind = MW_KIND_DATA;
    plan_exchange(PLAN_FILTER, ex, sizeof(ex));
    rc = mw_publish(x->conn, ex, table, &meta, m->u.batch.data, m->u.batch.len);
    if (rc != 0)
        return sess_fail(x, PROTO_E_BROKER, "publishing to the broker failed: %s",
                         mw_strerror(rc));
    x->batches[m->u.batch.table]++;
    x->rows[m->u.batch.table] += m->u.batch.rows;
    x->bytes += m->u.batch.len;
    FAULT_POINT("gateway.mid_stream");
    if (x->cfg->max_backlog > 0 && x->batches[m->u.batch.table] % BACKLOG_EVERY == 0 &&
        (rc = sess_backpressure(x, table)) != 0)
        return sess_fail(x, PROTO_E_BROKER, "publishing to the broker failed: %s",
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

    if (x->open_table >= 0)
        return sess_fail(x, PROTO_E_PROTOCOL, "DATA_END while table %s is open",
                         plan_table_name((enum plan_table)x->open_table));
    ctl_init(msg, CTL_DONE, x->s->id);
    snprintf(msg->stage, sizeof(msg->stage), "%s", plan_stage_name(PLAN_GATEWAY));
    msg->replica = 0;
    for (t = 0; t < PLAN_NTABLES; t++) {
        const char *table = plan_table_name((enum plan_table)t);

        plan_queue(PLAN_FILTER, table, key, sizeof(key));
        if (ctl_set_flow(msg, key, table, (int64_t)x->batches[t]) != 0)
            return sess_fail(x, PROTO_E_INTERNAL, "too many counts");
    }
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
    atomic_store(&x->s->waiting, true);
    log_debug("data end session=%s", x->s->id);
    /* Nothing more to publish unless the client aborts: free the broker
     * connection while the pipeline works. */
    mw_close(x->conn);
    x->conn = NULL;
    return OUT_OK;
}

static int on_message(struct sess *x, const struct proto_msg *m)
{
    const char *name;

    switch (m->type) {
    case PROTO_TABLE_BEGIN:
        name = plan_table_name((enum plan_table)m->u.table_begin.table);
        if (x->open_table >= 0 || x->table_done[m->u.table_begin.table])
            return sess_fail(x, PROTO_E_PROTOCOL, "TABLE_BEGIN of %s: %s", name,
                             x->open_table >= 0 ? "another table is open"
                                                : "table already sent");
        x->open_table = m->u.table_begin.table;
        return OUT_OK;
    case PROTO_BATCH:
        return on_batch(x, m);
    case PROTO_TABLE_END:
        name = plan_table_name((enum plan_table)m->u.table_end.table);
        if (x->open_table != m->u.table_end.table)
            return sess_fail(x, PROTO_E_PROTOCOL, "TABLE_END of %s, which is not "
                             "open", name);
        if (m->u.table_end.rows != x->rows[x->open_table])
            return sess_fail(x, PROTO_E_PROTOCOL, "TABLE_END of %s says %llu "
                             "rows, its batches carried %llu", name,
                             (unsigned long long)m->u.table_end.rows,
                             (unsigned long long)x->rows[x->open_table]);
        x->table_done[x->open_table] = true;
        x->open_table = -1;
        return OUT_OK;
    case PROTO_DATA_END:
        return on_data_end(x);
    default:
        return sess_fail(x, PROTO_E_PROTOCOL, "unexpected %s %s",
                         proto_type_name(m->type),
                         x->data_end ? "after DATA_END" : "while streaming");
    }
}

/* After the handshake: frames until DATA_END, then wait for the results
 * thread to end the session. */
static int sess_loop(struct sess *x)
{
    struct proto_frame f;
    struct proto_msg m;
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
                return sess_fail(x, code, "%s", x->s->reason);
            default:
                continue;
            }
        }
        rc = proto_decode(&f, &m);
        if (rc != 0)
            return sess_fail(x, PROTO_E_PROTOCOL, "malformed %s: %s",
                             proto_type_name(f.type), proto_strerror(rc));
        if (on_message(x, &m) != OUT_OK)
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
    ctl_init(&msg, CTL_ABORT, x->s->id);
    snprintf(msg.reason, sizeof(msg.reason), "%.255s", x->reason);
    rc = topo_send_ctl(x->conn, NULL, &msg, x->cfg->id);
    if (rc == 0)
        rc = mw_flush(x->conn);
    if (rc != 0)
        log_warn("publishing abort failed session=%s err=%s (the next start of "
                 "this gateway aborts it)", x->s->id, mw_strerror(rc));
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
    if (rc == 0 && (rc = gw_journal_end(x->srv->journal, x->s->id)) != 0)
        log_warn("session journal not updated session=%s: %s", x->s->id,
                 strerror(-rc));
}

/* Takes the socket from the session (no more writes by anyone) and closes
 * it; after an ERROR, lingers briefly so the client can read it. */
static void sess_close_socket(struct sess *x)
{
    char sink[4096];
    double until = clock_mono_s() + LINGER_MS / 1000.0;
    int fd;

    pthread_mutex_lock(&x->s->lock);
    fd = x->s->fd;
    x->s->fd = -1;
    pthread_mutex_unlock(&x->s->lock);
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
    uint64_t rows = 0, batches = 0;
    int t;

    for (t = 0; t < PLAN_NTABLES; t++) {
        rows += x->rows[t];
        batches += x->batches[t];
    }
    log_info("session end session=%s client=%s peer=%s status=%s rows=%llu "
             "batches=%llu bytes=%llu result_bytes=%llu seconds=%.2f "
             "held_back_s=%.2f%s%s%s",
             x->s->id[0] ? x->s->id : "-", x->s->client[0] ? x->s->client : "-",
             x->s->peer, status, (unsigned long long)rows,
             (unsigned long long)batches, (unsigned long long)x->bytes,
             (unsigned long long)atomic_load(&x->s->result_bytes),
             clock_mono_s() - x->t0, x->held_s, x->reason[0] ? " reason=\"" : "",
             x->reason,
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
    free(a);
    x.open_table = -1;
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
    gw_registry_put(x.srv->reg, x.s);
    gw_registry_leave(x.srv->reg);
    return NULL;
}
