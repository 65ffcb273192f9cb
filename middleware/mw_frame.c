/*
 * mw_frame.c - the one frame-reading loop of a connection.
 *
 * Publishing and consuming share one channel, so every incoming frame goes
 * through mw_pump(), whoever is waiting: basic.ack/nack feed the confirm
 * ring, basic.return (+ header + body) marks a publish unroutable,
 * basic.deliver (+ header + body) is assembled into the delivery FIFO,
 * channel.close / connection.close end the channel or the connection.
 * A message may arrive across several calls (timeouts between its frames):
 * the assembly state lives in c->in.
 *
 * Waiting is our own poll() on the socket, so a signal surfaces as
 * MW_ERR_INTERRUPTED (rabbitmq-c retries EINTR internally), capped at half
 * the heartbeat interval so rabbitmq-c gets called often enough to send
 * heartbeats and to notice a silent peer.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/time.h>

#include "log.h"
#include "clock.h"
#include "mw_internal.h"

bool mw_input_pending(const struct mw_conn *c)
{
    return c->amqp != NULL &&
           (amqp_frames_enqueued(c->amqp) || amqp_data_in_buffer(c->amqp));
}

/* Waits until the socket is readable, the deadline passes or a heartbeat is
 * due. 0 (go read), MW_ERR_INTERRUPTED. */
static int wait_readable(struct mw_conn *c, int64_t deadline_ms)
{
    struct pollfd pfd;
    int64_t wait = -1;
    int hb = amqp_get_heartbeat(c->amqp);

    if (deadline_ms >= 0) {
        wait = deadline_ms - clock_mono_ms();
        if (wait < 0)
            wait = 0;
    }
    if (hb > 0 && (wait < 0 || wait > (int64_t)hb * 500))
        wait = (int64_t)hb * 500;
    pfd.fd = amqp_get_sockfd(c->amqp);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (pfd.fd < 0)
        return MW_OK; /* rabbitmq-c reports the closed socket */
    if (poll(&pfd, 1, (int)wait) < 0 && errno == EINTR)
        return MW_ERR_INTERRUPTED;
    return MW_OK;
}

static int on_deliver(struct mw_conn *c, const amqp_basic_deliver_t *m)
{
    struct mw_msg *msg = mw_fifo_reserve(&c->fifo);
    size_t n;

    if (msg == NULL) {
        /* Reconnecting makes the broker redeliver it later. */
        mw_set_why(c, "out of memory buffering a delivery");
        return MW_ERR_LOST;
    }
    n = m->consumer_tag.len < MW_SHORTSTR - 1 ? m->consumer_tag.len
                                              : MW_SHORTSTR - 1;
    if (n > 0)
        memcpy(msg->queue, m->consumer_tag.bytes, n);
    msg->queue[n] = '\0';
    msg->tag =
        ((uint64_t)c->gen << MW_TAG_BITS) | (m->delivery_tag & MW_TAG_MASK);
    msg->redelivered = m->redelivered != 0;
    c->in.msg = msg;
    c->in.st = MW_IN_DELIVER_HEADER;
    return MW_OK;
}

static void on_return(struct mw_conn *c, const amqp_basic_return_t *m)
{
    log_debug("publish returned code=%u text=\"%.*s\" exchange=%.*s key=%.*s",
              m->reply_code, (int)m->reply_text.len,
              (const char *)m->reply_text.bytes, (int)m->exchange.len,
              (const char *)m->exchange.bytes, (int)m->routing_key.len,
              (const char *)m->routing_key.bytes);
    if (c->pub_err == MW_OK)
        c->pub_err = MW_ERR_UNROUTABLE;
    c->in.st = MW_IN_RETURN_HEADER;
}

/* The broker closed our channel on its own (e.g. publish to a missing
 * exchange, ack of an unknown tag). */
static int on_channel_close(struct mw_conn *c, const amqp_channel_close_t *m)
{
    amqp_channel_close_ok_t ok;
    int r;

    log_error("broker closed the channel code=%u text=\"%.*s\" "
              "failed_unconfirmed=%u",
              m->reply_code, (int)m->reply_text.len,
              (const char *)m->reply_text.bytes, mw_ring_count(&c->ring));
    memset(&ok, 0, sizeof(ok));
    r = amqp_send_method(c->amqp, c->chan, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    if (r != AMQP_STATUS_OK)
        return mw_lost(c, "channel.close-ok", r);
    /* Its unconfirmed publishes may be what the broker refused:
     * republishing them could loop, so they fail with MW_ERR_PROTOCOL. */
    return mw_chan_reset(c, false);
}

/* A nack names no reason: the message it refers to says where it went. */
static void log_nack(struct mw_conn *c, const amqp_basic_nack_t *nack)
{
    const struct mw_pending *p;
    uint64_t head;

    if (mw_ring_count(&c->ring) == 0)
        return;
    head = mw_ring_at(&c->ring, 0)->seq;
    if (nack->delivery_tag < head ||
        nack->delivery_tag - head >= mw_ring_count(&c->ring))
        return;
    p = mw_ring_at(&c->ring, (unsigned)(nack->delivery_tag - head));
    log_warn("publish nacked by the broker exchange=%s key=%s session=%s "
             "stream=%s seq=%lld multiple=%d",
             p->exchange[0] != '\0' ? p->exchange : "(default)", p->key,
             p->meta.session, p->meta.stream, (long long)p->meta.seq,
             nack->multiple != 0);
}

/* A quorum queue nacks what it cannot take while it has no leader, which
 * is the case for a moment after the node of its leader died (an
 * election). Such a nack is retried for MW_NACK_RETRY_MS: the connection
 * is treated as lost, so the nacked message (not marked confirmed) and
 * every other unconfirmed one are published again on a fresh connection,
 * after a short pause (mw_ensure_up). Duplicates are the receivers'
 * business, as after any reconnect. With classic queues, or once the
 * time is up, a nack is reported as before (MW_ERR_NACK). */
static bool nack_retry(struct mw_conn *c)
{
    int64_t now = clock_mono_ms();

    if (!c->quorum)
        return false;
    if (c->nack_since == 0)
        c->nack_since = now;
    if (now - c->nack_since >= MW_NACK_RETRY_MS)
        return false;
    mw_set_why(c, "publish nacked by the broker (a quorum queue without a "
                  "leader?): publishing again");
    c->nack_pause = true;
    return true;
}

static int on_method(struct mw_conn *c, const amqp_method_t *m)
{
    const amqp_basic_ack_t *ack;
    const amqp_basic_nack_t *nack;

    if (c->in.st != MW_IN_IDLE) {
        log_warn("content interrupted by method %s", amqp_method_name(m->id));
        c->in.st = MW_IN_IDLE;
    }
    switch (m->id) {
    case AMQP_BASIC_DELIVER_METHOD:
        return on_deliver(c, m->decoded);
    case AMQP_BASIC_RETURN_METHOD:
        on_return(c, m->decoded);
        return MW_OK;
    case AMQP_BASIC_ACK_METHOD:
        ack = m->decoded;
        if (mw_ring_confirm(&c->ring, ack->delivery_tag, ack->multiple != 0) >
            0)
            c->nack_since = 0;
        return MW_OK;
    case AMQP_BASIC_NACK_METHOD:
        nack = m->decoded;
        if (nack_retry(c))
            return MW_ERR_LOST;
        log_nack(c, nack);
        if (mw_ring_confirm(&c->ring, nack->delivery_tag, nack->multiple != 0) >
                0 &&
            c->pub_err == MW_OK)
            c->pub_err = MW_ERR_NACK;
        return MW_OK;
    case AMQP_CHANNEL_CLOSE_METHOD:
        return on_channel_close(c, m->decoded);
    default:
        log_debug("ignored method %s", amqp_method_name(m->id));
        return MW_OK;
    }
}

static int on_header(struct mw_conn *c, const amqp_frame_t *f)
{
    const amqp_basic_properties_t *p = f->payload.properties.decoded;
    uint64_t size = f->payload.properties.body_size;
    struct mw_msg *msg = c->in.msg;

    c->in.size = size;
    c->in.got = 0;
    if (c->in.st == MW_IN_RETURN_HEADER) {
        c->in.st = size > 0 ? MW_IN_RETURN_BODY : MW_IN_IDLE;
        return MW_OK;
    }
    if (c->in.st != MW_IN_DELIVER_HEADER)
        return MW_OK; /* stray header: nothing to attach it to */
    if (size > MW_MAX_BODY) {
        mw_set_why(c, "delivery of %llu bytes exceeds the limit",
                   (unsigned long long)size);
        return MW_ERR_LOST;
    }
    if (mw_buf_reserve(&msg->body, &msg->cap, (size_t)size) != MW_OK) {
        mw_set_why(c, "out of memory for a %llu byte delivery",
                   (unsigned long long)size);
        return MW_ERR_LOST;
    }
    msg->len = 0;
    if (p != NULL && (p->_flags & AMQP_BASIC_HEADERS_FLAG)) {
        mw_meta_decode(&p->headers, &msg->meta);
        msg->raw_len = mw_meta_raw_len(&p->headers);
    } else {
        mw_meta_decode(NULL, &msg->meta);
    }
    /* Decoded when handed out (mw_next): one buffer per connection, not
     * one per buffered delivery. */
    msg->lz4 = p != NULL && (p->_flags & AMQP_BASIC_CONTENT_ENCODING_FLAG) &&
               p->content_encoding.len == 3 &&
               memcmp(p->content_encoding.bytes, "lz4", 3) == 0;
    c->in.st = MW_IN_DELIVER_BODY;
    if (size == 0) {
        mw_fifo_commit(&c->fifo);
        c->in.st = MW_IN_IDLE;
    }
    return MW_OK;
}

static int on_body(struct mw_conn *c, const amqp_bytes_t *b)
{
    struct mw_msg *msg = c->in.msg;

    if (c->in.st == MW_IN_RETURN_BODY) {
        c->in.got += b->len;
        if (c->in.got >= c->in.size)
            c->in.st = MW_IN_IDLE;
        return MW_OK;
    }
    if (c->in.st != MW_IN_DELIVER_BODY)
        return MW_OK;
    if (b->len > c->in.size - c->in.got) {
        mw_set_why(c, "body frames exceed the announced size");
        return MW_ERR_LOST;
    }
    memcpy(msg->body + c->in.got, b->bytes, b->len);
    c->in.got += b->len;
    if (c->in.got == c->in.size) {
        msg->len = (size_t)c->in.size;
        mw_fifo_commit(&c->fifo);
        c->in.st = MW_IN_IDLE;
        c->in.msg = NULL;
    }
    return MW_OK;
}

static int on_connection_frame(struct mw_conn *c, const amqp_frame_t *f)
{
    const amqp_connection_close_t *m;
    amqp_connection_close_ok_t ok;

    if (f->frame_type != AMQP_FRAME_METHOD)
        return MW_OK;
    switch (f->payload.method.id) {
    case AMQP_CONNECTION_CLOSE_METHOD:
        m = f->payload.method.decoded;
        mw_set_why(c, "connection closed by broker: %u %.*s", m->reply_code,
                   (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        memset(&ok, 0, sizeof(ok));
        (void)amqp_send_method(c->amqp, 0, AMQP_CONNECTION_CLOSE_OK_METHOD,
                               &ok);
        return MW_ERR_LOST;
    case AMQP_CONNECTION_BLOCKED_METHOD:
        log_warn("broker blocked publishing (resource alarm)");
        return MW_OK;
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
        log_info("broker unblocked publishing");
        return MW_OK;
    default:
        return MW_OK;
    }
}

static int dispatch(struct mw_conn *c, const amqp_frame_t *f)
{
    if (f->channel == 0)
        return on_connection_frame(c, f);
    if (f->channel != c->chan)
        return MW_OK; /* left over from a channel we already replaced */
    switch (f->frame_type) {
    case AMQP_FRAME_METHOD:
        return on_method(c, &f->payload.method);
    case AMQP_FRAME_HEADER:
        return on_header(c, f);
    case AMQP_FRAME_BODY:
        return on_body(c, &f->payload.body_fragment);
    default:
        return MW_OK;
    }
}

int mw_pump(struct mw_conn *c, int64_t deadline_ms)
{
    amqp_frame_t f;
    /* 1 us, not 0: with a zero timeout rabbitmq-c never checks the
     * heartbeat deadline, so a dead peer would go unnoticed. */
    struct timeval tv = {0, 1};
    int r, rc;

    if (c->amqp == NULL)
        return MW_ERR_LOST;
    if (!mw_input_pending(c)) {
        rc = wait_readable(c, deadline_ms);
        if (rc != MW_OK)
            return rc;
    }
    r = amqp_simple_wait_frame_noblock(c->amqp, &f, &tv);
    if (r == AMQP_STATUS_TIMEOUT)
        return 0;
    if (r != AMQP_STATUS_OK)
        return mw_lost(c, "read", r);
    rc = dispatch(c, &f);
    /* Everything we keep was copied out of rabbitmq-c's pools. */
    if (c->amqp != NULL)
        amqp_maybe_release_buffers(c->amqp);
    return rc < 0 ? rc : 1;
}
