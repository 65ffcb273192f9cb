/*
 * mw_publish.c - persistent, mandatory publishing with publisher confirms
 * over a window.
 *
 * Every publish is first compressed when that pays (mw_codec.c) and copied,
 * as it goes on the wire, into the unconfirmed ring (mw_ring.c), then
 * sent; it leaves the ring when the broker acks it. Only a full window
 * makes mw_publish wait, and waiting runs the shared frame loop, so
 * deliveries arriving meanwhile are buffered, not lost. After a reconnect
 * the ring is renumbered for the new channel and resent in order.
 */
#include <string.h>

#include "log.h"
#include "mw_internal.h"

int mw_send_pending(struct mw_conn *c, const struct mw_pending *p)
{
    amqp_basic_properties_t props;
    amqp_table_entry_t ent[MW_META_ENTRIES + 1];
    amqp_bytes_t body;
    int r;

    memset(&props, 0, sizeof(props));
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG;
    props.delivery_mode = 2; /* persistent */
    mw_meta_encode(&p->meta, ent, &props.headers);
    if (p->raw_len > 0) {
        props._flags |= AMQP_BASIC_CONTENT_ENCODING_FLAG;
        props.content_encoding = amqp_cstring_bytes("lz4");
        ent[props.headers.num_entries].key = amqp_cstring_bytes("x-raw-len");
        ent[props.headers.num_entries].value.kind = AMQP_FIELD_KIND_I64;
        ent[props.headers.num_entries].value.value.i64 = (int64_t)p->raw_len;
        props.headers.num_entries++;
    }
    body.len = p->len;
    body.bytes = p->body;
    r = amqp_basic_publish(c->amqp, c->chan, amqp_cstring_bytes(p->exchange),
                           amqp_cstring_bytes(p->key), 1, 0, &props, body);
    if (r != AMQP_STATUS_OK)
        return mw_lost(c, "publish", r);
    return MW_OK;
}

int mw_republish(struct mw_conn *c)
{
    unsigned i, n = mw_ring_renumber(&c->ring);
    int rc;

    for (i = 0; i < n; i++) {
        rc = mw_send_pending(c, mw_ring_at(&c->ring, i));
        if (rc != MW_OK)
            return rc;
    }
    return MW_OK;
}

/* Reports (and clears) the first publish error seen since the last one. */
static int take_pub_err(struct mw_conn *c)
{
    int rc = c->pub_err;

    c->pub_err = MW_OK;
    return rc;
}

/* Runs the frame loop until the window has room. */
static int wait_window(struct mw_conn *c)
{
    int rc;

    /* A lost connection: restored, then the window checked again (the
     * reconnect drops confirmed slots). */
    while (mw_ring_full(&c->ring)) {
        rc = mw_pump_live(c, -1, false);
        if (rc < 0 && rc != MW_ERR_LOST)
            return rc;
    }
    /* Take whatever else already arrived (acks come in bursts). */
    while (c->amqp != NULL && mw_input_pending(c)) {
        rc = mw_pump(c, 0);
        if (rc == MW_ERR_LOST)
            mw_conn_lost(c);
        if (rc <= 0)
            break;
    }
    return MW_OK;
}

static void count_publish(struct mw_stats *s, size_t raw, size_t wire, bool lz4)
{
    s->pub_msgs++;
    s->pub_raw += raw;
    s->pub_wire += wire;
    s->pub_lz4 += lz4;
}

static bool fits_shortstr(const char *s)
{
    return strnlen(s, MW_SHORTSTR) < MW_SHORTSTR;
}

int mw_publish(struct mw_conn *c, const char *exchange, const char *routing_key,
               const struct mw_meta *meta, const void *body, size_t len)
{
    struct mw_pending *p;
    const uint8_t *wire;
    size_t wire_len, raw_len;
    int rc;

    if (c == NULL || exchange == NULL || routing_key == NULL ||
        (body == NULL && len > 0) || len > MW_MAX_BODY ||
        !fits_shortstr(exchange) || !fits_shortstr(routing_key))
        return MW_ERR_ARG;
    rc = mw_ensure_up(c);
    if (rc == MW_OK)
        rc = wait_window(c);
    if (rc != MW_OK)
        return rc; /* not accepted */
    rc = mw_codec_pack(c, body, len, &wire, &wire_len, &raw_len);
    if (rc == MW_OK)
        rc = mw_ring_push(&c->ring, exchange, routing_key, meta, wire, wire_len,
                          &p);
    if (rc != MW_OK)
        return rc;
    p->raw_len = raw_len;
    count_publish(&c->stats, len, wire_len, raw_len > 0);
    /* From here the message is accepted: if sending fails it stays in the
     * ring and is republished by the reconnect. */
    if (c->amqp == NULL || mw_send_pending(c, p) != MW_OK) {
        mw_conn_lost(c);
        rc = mw_ensure_up(c);
        if (rc == MW_ERR_CLOSED)
            return rc;
    }
    return take_pub_err(c);
}

int mw_flush(struct mw_conn *c)
{
    int rc;

    if (c == NULL)
        return MW_ERR_ARG;
    /* A channel the broker closed fails the unconfirmed publishes, so the
     * ring is checked again after every step, on a live connection. */
    while ((rc = mw_ensure_up(c)) == MW_OK && mw_ring_count(&c->ring) > 0) {
        rc = mw_pump_live(c, -1, false);
        if (rc < 0 && rc != MW_ERR_LOST)
            return rc;
    }
    return rc != MW_OK ? rc : take_pub_err(c);
}

void mw_trim(struct mw_conn *c)
{
    if (c != NULL)
        mw_ring_trim(&c->ring);
}
