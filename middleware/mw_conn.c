/*
 * mw_conn.c - connection lifecycle: options, connect, the reconnect loop
 * with capped exponential backoff (over the URL list's addresses: one
 * round tries each once, the backoff is slept between rounds), channel
 * (re)opening and close.
 *
 * A connection is either up (c->amqp live, channel open with confirms and
 * qos), down (c->amqp NULL: the next public call reconnects) or dead
 * (reconnect_tries exhausted: every call returns MW_ERR_CLOSED).
 * Recovery re-declares the remembered topology, re-registers consumers and
 * republishes unconfirmed messages; deliveries of the lost channel are
 * dropped and their tags made stale by bumping the generation.
 */
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "mw_internal.h"

#define MW_FRAME_MAX 131072
#define MW_RPC_TIMEOUT_MS 30000
#define MW_CLOSE_WAIT_MS 5000
#define MW_CLOSE_RPC_MS 2000
#define MW_MAX_CHAN 16
#define MW_BACKOFF_MIN_MS 100

const char *mw_strerror(int err)
{
    return cs_strerror(err);
}

unsigned mw_reconnects(const struct mw_conn *c)
{
    return c != NULL ? c->reconnects : 0;
}

const char *mw_name(const struct mw_conn *c)
{
    return c != NULL ? c->name : "";
}

void mw_set_why(struct mw_conn *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(c->why, sizeof(c->why), fmt, ap);
    va_end(ap);
}

int mw_lost(struct mw_conn *c, const char *what, int amqp_status)
{
    mw_set_why(c, "%s: %s", what, amqp_error_string2(amqp_status));
    return MW_ERR_LOST;
}

static struct timeval ms_tv(int ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    return tv;
}

static int pick(int v, int def)
{
    return v != 0 ? v : def;
}

static int parse_compress(struct mw_conn *c, enum mw_compress how)
{
    const char *env = getenv("MW_COMPRESS");

    if (how == MW_COMPRESS_LZ4 || how == MW_COMPRESS_OFF) {
        c->compress = how == MW_COMPRESS_LZ4;
        return MW_OK;
    }
    if (how != MW_COMPRESS_ENV)
        return MW_ERR_ARG;
    if (mw_codec_parse(env, &c->compress) != MW_OK) {
        /* MW_ERR_ARG alone would not say which argument. */
        log_error("MW_COMPRESS=%s is not one of lz4, off", env);
        return MW_ERR_ARG;
    }
    return MW_OK;
}

void mw_set_reconnect_tries(struct mw_conn *c, int tries)
{
    if (c != NULL)
        c->reconnect_tries = pick(tries > 0 ? tries : 0, 30);
}

static int parse_options(struct mw_conn *c, const struct mw_options *o)
{
    if (o == NULL || o->url == NULL || o->heartbeat_s < 0 ||
        o->connect_timeout_ms < 0 || o->confirm_window < 0 ||
        o->reconnect_max_ms < 0 || o->reconnect_tries < 0)
        return MW_ERR_ARG;
    c->heartbeat_s = pick(o->heartbeat_s, 10);
    c->connect_timeout_ms = pick(o->connect_timeout_ms, 5000);
    c->confirm_window = pick(o->confirm_window, 256);
    c->reconnect_max_ms = pick(o->reconnect_max_ms, 5000);
    c->reconnect_tries = pick(o->reconnect_tries, 30);
    c->prefetch = o->prefetch != 0 ? o->prefetch : 16;
    c->on_wait = o->on_wait;
    c->on_wait_arg = o->on_wait_arg;
    if (parse_compress(c, o->compress) != MW_OK)
        return MW_ERR_ARG;
    if (mw_topo_queue_type(c, o->queue_type) != MW_OK)
        return MW_ERR_ARG;
    (void)snprintf(c->name, sizeof(c->name), "%s",
                   o->name != NULL && o->name[0] != '\0' ? o->name
                                                         : "coffee-stream");
    return mw_addr_parse(c, o->url);
}

static int conn_login(struct mw_conn *c, amqp_connection_state_t st)
{
    amqp_table_entry_t e[1];
    amqp_table_t props;
    amqp_rpc_reply_t r;
    const amqp_connection_close_t *m;
    const struct amqp_connection_info *info = &mw_addr_cur(c)->info;

    e[0].key = amqp_cstring_bytes("connection_name");
    e[0].value.kind = AMQP_FIELD_KIND_UTF8;
    e[0].value.value.bytes = amqp_cstring_bytes(c->name);
    props.num_entries = 1;
    props.entries = e;
    r = amqp_login_with_properties(
        st, info->vhost, 0, MW_FRAME_MAX, c->heartbeat_s, &props,
        AMQP_SASL_METHOD_PLAIN, info->user, info->password);
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return MW_OK;
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        /* Wrong credentials or vhost: retrying cannot help. */
        m = r.reply.decoded;
        mw_set_why(c, "login refused: %u %.*s", m->reply_code,
                   (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        return MW_ERR_REFUSED;
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
        return mw_lost(c, "login", r.library_error);
    mw_set_why(c, "login: unexpected reply");
    return MW_ERR_LOST;
}

/* One connection attempt: socket, login, channel. */
static int conn_open(struct mw_conn *c)
{
    amqp_connection_state_t st;
    amqp_socket_t *sock;
    struct timeval tv = ms_tv(c->connect_timeout_ms);
    struct timeval rpc = ms_tv(MW_RPC_TIMEOUT_MS);
    int r, rc;

    st = amqp_new_connection();
    if (st == NULL)
        return MW_ERR_NOMEM;
    sock = amqp_tcp_socket_new(st);
    if (sock == NULL) {
        rc = MW_ERR_NOMEM;
        goto out_destroy;
    }
    r = amqp_socket_open_noblock(sock, mw_addr_cur(c)->info.host,
                                 mw_addr_cur(c)->info.port, &tv);
    if (r != AMQP_STATUS_OK) {
        rc = mw_lost(c, "connect", r);
        goto out_destroy;
    }
    if (amqp_set_handshake_timeout(st, &tv) != AMQP_STATUS_OK ||
        amqp_set_rpc_timeout(st, &rpc) != AMQP_STATUS_OK) {
        rc = mw_lost(c, "set timeouts", AMQP_STATUS_INVALID_PARAMETER);
        goto out_destroy;
    }
    rc = conn_login(c, st);
    if (rc != MW_OK)
        goto out_destroy;
    c->amqp = st;
    c->chan = 0;
    return mw_chan_open(c); /* on failure the caller tears c->amqp down */

out_destroy:
    amqp_destroy_connection(st);
    return rc;
}

int mw_chan_open(struct mw_conn *c)
{
    amqp_channel_t ch = (amqp_channel_t)(c->chan % MW_MAX_CHAN + 1);
    int rc;

    /* A fresh number per reopen: stray frames of the old channel are
     * then recognisable and ignored. */
    c->chan = ch;
    (void)amqp_channel_open(c->amqp, ch);
    rc = mw_rpc_result(c, amqp_get_rpc_reply(c->amqp), "channel.open", NULL);
    if (rc == MW_OK) {
        (void)amqp_confirm_select(c->amqp, ch);
        rc = mw_rpc_result(c, amqp_get_rpc_reply(c->amqp), "confirm.select",
                           NULL);
    }
    if (rc == MW_OK) {
        (void)amqp_basic_qos(c->amqp, ch, 0, c->prefetch, 0);
        rc = mw_rpc_result(c, amqp_get_rpc_reply(c->amqp), "basic.qos", NULL);
    }
    if (rc == MW_ERR_PROTOCOL) {
        mw_set_why(c, "opening the channel was refused");
        return MW_ERR_LOST;
    }
    return rc;
}

static int close_channel_reply(struct mw_conn *c, const amqp_channel_close_t *m,
                               const char *what, int *reply_code)
{
    amqp_channel_close_ok_t ok;
    int r;

    if (reply_code != NULL)
        *reply_code = m->reply_code;
    log_warn("%s refused by broker code=%u text=\"%.*s\"", what, m->reply_code,
             (int)m->reply_text.len, (const char *)m->reply_text.bytes);
    memset(&ok, 0, sizeof(ok));
    r = amqp_send_method(c->amqp, c->chan, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    if (r != AMQP_STATUS_OK)
        return mw_lost(c, "channel.close-ok", r);
    return MW_ERR_PROTOCOL;
}

int mw_rpc_result(struct mw_conn *c, amqp_rpc_reply_t r, const char *what,
                  int *reply_code)
{
    const amqp_connection_close_t *m;
    amqp_connection_close_ok_t ok;

    if (reply_code != NULL)
        *reply_code = 0;
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return MW_OK;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        return mw_lost(c, what, r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD)
            return close_channel_reply(c, r.reply.decoded, what, reply_code);
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            m = r.reply.decoded;
            mw_set_why(c, "%s: connection closed by broker: %u %.*s", what,
                       m->reply_code, (int)m->reply_text.len,
                       (const char *)m->reply_text.bytes);
            memset(&ok, 0, sizeof(ok));
            (void)amqp_send_method(c->amqp, 0, AMQP_CONNECTION_CLOSE_OK_METHOD,
                                   &ok);
            return MW_ERR_LOST;
        }
        break;
    default:
        break;
    }
    mw_set_why(c, "%s: unexpected reply", what);
    return MW_ERR_LOST;
}

void mw_new_generation(struct mw_conn *c)
{
    c->gen++;
    if (c->gen == 0)
        c->gen = 1;
    mw_fifo_clear(&c->fifo);
    c->in.st = MW_IN_IDLE;
    c->in.msg = NULL;
}

static void teardown(struct mw_conn *c)
{
    if (c->amqp != NULL) {
        amqp_destroy_connection(c->amqp);
        c->amqp = NULL;
    }
}

void mw_conn_lost(struct mw_conn *c)
{
    if (c->down)
        return;
    log_warn("connection lost url=%s reason=\"%s\" unconfirmed=%u",
             mw_addr_cur(c)->masked, c->why, mw_ring_count(&c->ring));
    teardown(c);
    c->down = true;
    c->attempts = 0;
    c->down_since = clock_mono_ms();
    /* Its node may be gone: the first attempt goes to the next broker of
     * the list (with one URL, the same one). */
    mw_addr_next(c);
    mw_new_generation(c);
}

/* Re-declares the topology, re-registers consumers and republishes the
 * unconfirmed messages on a freshly opened channel. */
static int restore(struct mw_conn *c)
{
    int rc = mw_topo_replay(c);

    if (rc == MW_OK)
        rc = mw_consumers_replay(c);
    if (rc == MW_OK)
        rc = mw_republish(c);
    return rc;
}

int mw_chan_reset(struct mw_conn *c, bool republish)
{
    int rc;

    mw_new_generation(c);
    if (!republish && mw_ring_count(&c->ring) > 0) {
        mw_ring_reset(&c->ring);
        if (c->pub_err == MW_OK)
            c->pub_err = MW_ERR_PROTOCOL;
    }
    rc = mw_chan_open(c);
    if (rc == MW_OK)
        rc = restore(c);
    if (rc == MW_ERR_PROTOCOL) {
        /* Reconnecting replays everything on a fresh connection. */
        mw_set_why(c, "restoring the channel was refused");
        return MW_ERR_LOST;
    }
    return rc;
}

/* Sleeps ms in slices of at most 250 ms, calling the on_wait hook
 * between them. */
static int pause_ms(const struct mw_conn *c, int64_t ms)
{
    int64_t slice;
    struct timespec ts;

    for (; ms > 0; ms -= slice) {
        if (c->on_wait)
            c->on_wait(c->on_wait_arg);
        slice = ms < 250 ? ms : 250;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)slice * 1000000L;
        if (nanosleep(&ts, NULL) != 0 && errno == EINTR)
            return MW_ERR_INTERRUPTED;
    }
    return MW_OK;
}

/* Sleeps the backoff of the current round of attempts. */
static int backoff(const struct mw_conn *c)
{
    int64_t ms = MW_BACKOFF_MIN_MS;
    int i, rounds = c->attempts / c->naddr;

    for (i = 1; i < rounds && ms < c->reconnect_max_ms; i++)
        ms *= 2;
    if (ms > c->reconnect_max_ms)
        ms = c->reconnect_max_ms;
    return pause_ms(c, ms);
}

static void came_up(struct mw_conn *c)
{
    const char *url = mw_addr_cur(c)->masked;
    long long down_ms = (long long)(clock_mono_ms() - c->down_since);

    c->down = false;
    if (c->ever_up && c->up_addr != c->at) {
        c->reconnects++;
        log_warn("failover url=%s from=%s attempt=%d down_ms=%lld "
                 "reconnects=%u republished=%u",
                 url, c->addr[c->up_addr].masked, c->attempts, down_ms,
                 c->reconnects, mw_ring_count(&c->ring));
    } else if (c->ever_up) {
        c->reconnects++;
        log_info("reconnected url=%s attempt=%d down_ms=%lld reconnects=%u "
                 "republished=%u",
                 url, c->attempts, down_ms, c->reconnects,
                 mw_ring_count(&c->ring));
    } else {
        log_info("connected url=%s name=%s heartbeat=%d channel=%u compress=%s "
                 "queues=%s brokers=%d",
                 url, c->name, amqp_get_heartbeat(c->amqp), c->chan,
                 c->compress ? "lz4" : "off", c->quorum ? "quorum" : "classic",
                 c->naddr);
    }
    c->ever_up = true;
    c->up_addr = c->at;
    c->attempts = 0;
}

int mw_ensure_up(struct mw_conn *c)
{
    int rc;

    if (c->dead)
        return c->ever_up ? MW_ERR_CLOSED : MW_ERR_CONNECT;
    while (c->down) {
        if (c->attempts >= c->reconnect_tries * c->naddr) {
            c->dead = true;
            return c->ever_up ? MW_ERR_CLOSED : MW_ERR_CONNECT;
        }
        /* Every address once per round; the backoff between rounds. */
        if (c->attempts > 0 && c->attempts % c->naddr == 0 &&
            backoff(c) != MW_OK)
            return MW_ERR_INTERRUPTED;
        if (c->nack_pause) { /* give a quorum queue's election time */
            c->nack_pause = false;
            if (pause_ms(c, MW_NACK_PAUSE_MS) != MW_OK)
                return MW_ERR_INTERRUPTED;
        }
        c->attempts++;
        rc = conn_open(c);
        if (rc == MW_OK)
            rc = restore(c);
        if (rc == MW_OK) {
            came_up(c);
            return MW_OK;
        }
        teardown(c);
        log_warn("%s attempt=%d/%d failed url=%s reason=\"%s\"",
                 c->ever_up ? "reconnect" : "connect", c->attempts,
                 c->reconnect_tries * c->naddr, mw_addr_cur(c)->masked, c->why);
        if (rc == MW_ERR_REFUSED) /* the cluster shares its users */
            c->attempts = c->reconnect_tries * c->naddr; /* give up */
        else
            mw_addr_next(c);
    }
    return MW_OK;
}

int mw_retry(struct mw_conn *c, int (*op)(struct mw_conn *c, void *arg),
             void *arg, bool again)
{
    int rc;

    for (;;) {
        rc = mw_ensure_up(c);
        if (rc != MW_OK)
            return rc;
        rc = op(c, arg);
        if (rc != MW_ERR_LOST)
            return rc;
        mw_conn_lost(c);
        if (!again)
            return rc;
    }
}

void mw_refused(struct mw_conn *c)
{
    if (mw_chan_reset(c, true) == MW_ERR_LOST)
        mw_conn_lost(c);
}

static int pump_op(struct mw_conn *c, void *deadline_ms)
{
    return mw_pump(c, *(const int64_t *)deadline_ms);
}

int mw_pump_live(struct mw_conn *c, int64_t deadline_ms, bool again)
{
    return mw_retry(c, pump_op, &deadline_ms, again);
}

struct mw_conn *mw_connect(const struct mw_options *opt, int *err)
{
    struct mw_conn *c;
    int rc, dummy;

    if (err == NULL)
        err = &dummy;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        *err = MW_ERR_NOMEM;
        return NULL;
    }
    c->gen = 1;
    c->down = true;
    c->down_since = clock_mono_ms();
    rc = parse_options(c, opt);
    if (rc == MW_OK)
        rc = mw_ring_init(&c->ring, (unsigned)c->confirm_window);
    if (rc == MW_OK)
        rc = mw_fifo_init(&c->fifo, c->prefetch);
    if (rc == MW_OK)
        rc = mw_ensure_up(c);
    if (rc != MW_OK) {
        mw_close(c);
        *err = rc;
        return NULL;
    }
    *err = MW_OK;
    return c;
}

static void close_gracefully(struct mw_conn *c)
{
    int64_t deadline = clock_mono_ms() + MW_CLOSE_WAIT_MS;
    struct timeval tv = ms_tv(MW_CLOSE_RPC_MS);
    int rc = 1;

    while (mw_ring_count(&c->ring) > 0 && rc >= 0 && clock_mono_ms() < deadline)
        rc = mw_pump(c, deadline);
    if (rc == MW_ERR_LOST || c->amqp == NULL)
        return;
    if (mw_ring_count(&c->ring) > 0)
        log_warn("closing with %u unconfirmed publishes",
                 mw_ring_count(&c->ring));
    (void)amqp_set_rpc_timeout(c->amqp, &tv);
    (void)amqp_channel_close(c->amqp, c->chan, AMQP_REPLY_SUCCESS);
    (void)amqp_connection_close(c->amqp, AMQP_REPLY_SUCCESS);
}

/* The codec's counters, for benchmarks: what the broker really carried. */
static void log_stats(const struct mw_conn *c)
{
    const struct mw_stats *s = &c->stats;

    if (s->pub_lz4 == 0 && s->got_lz4 == 0 && s->poison == 0)
        return;
    log_info(
        "codec name=%s pub_msgs=%llu pub_raw=%llu pub_wire=%llu pub_lz4=%llu "
        "got_msgs=%llu got_raw=%llu got_wire=%llu got_lz4=%llu poison=%llu",
        c->name, (unsigned long long)s->pub_msgs,
        (unsigned long long)s->pub_raw, (unsigned long long)s->pub_wire,
        (unsigned long long)s->pub_lz4, (unsigned long long)s->got_msgs,
        (unsigned long long)s->got_raw, (unsigned long long)s->got_wire,
        (unsigned long long)s->got_lz4, (unsigned long long)s->poison);
}

void mw_close(struct mw_conn *c)
{
    if (c == NULL)
        return;
    if (c->amqp != NULL && !c->down)
        close_gracefully(c);
    log_stats(c);
    teardown(c);
    mw_ring_fini(&c->ring);
    mw_fifo_fini(&c->fifo);
    free(c->cur.body);
    free(c->zbuf);
    free(c->rawbuf);
    mw_topo_free(c);
    mw_consumers_free(c);
    mw_addr_free(c);
    free(c);
}
