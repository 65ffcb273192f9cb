/*
 * mw_consume.c - consumers, mw_next and acknowledgements.
 *
 * Consumer tags are queue names, remembered so a reconnect can re-issue
 * basic.consume. Deliveries come out of the FIFO filled by the frame loop;
 * the handed-out one lives in c->cur (its buffer swapped, not copied) and,
 * when it came LZ4-compressed, its decoded bytes in c->rawbuf; one that
 * does not decode is rejected here and never reaches the caller.
 * A tag carries the generation it was delivered in: acking a tag of an
 * older generation would ack some other message on the new channel, so it
 * is refused with MW_ERR_STALE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "mw_internal.h"

static long cons_find(const struct mw_conn *c, const char *queue)
{
    size_t i;

    for (i = 0; i < c->ncons; i++)
        if (strcmp(c->cons[i], queue) == 0)
            return (long)i;
    return -1;
}

static int cons_add(struct mw_conn *c, const char *queue)
{
    char(*nv)[MW_SHORTSTR];
    size_t ncap;

    if (c->ncons == c->cons_cap) {
        ncap = c->cons_cap ? c->cons_cap * 2 : 4;
        nv = realloc(c->cons, ncap * sizeof(*nv));
        if (nv == NULL)
            return MW_ERR_NOMEM;
        c->cons = nv;
        c->cons_cap = ncap;
    }
    (void)snprintf(c->cons[c->ncons++], MW_SHORTSTR, "%s", queue);
    return MW_OK;
}

static void cons_remove(struct mw_conn *c, size_t i)
{
    memmove(&c->cons[i], &c->cons[i + 1],
            (c->ncons - i - 1) * sizeof(c->cons[0]));
    c->ncons--;
}

void mw_consumers_free(struct mw_conn *c)
{
    free(c->cons);
    c->cons = NULL;
    c->ncons = c->cons_cap = 0;
}

static int consume_rpc(struct mw_conn *c, const char *queue)
{
    amqp_bytes_t q = amqp_cstring_bytes(queue);

    (void)amqp_basic_consume(c->amqp, c->chan, q, q, 0, 0, 0, amqp_empty_table);
    return mw_rpc_result(c, amqp_get_rpc_reply(c->amqp), "basic.consume", NULL);
}

int mw_consumers_replay(struct mw_conn *c)
{
    size_t i;
    int rc;

    for (i = 0; i < c->ncons; i++) {
        rc = consume_rpc(c, c->cons[i]);
        if (rc != MW_OK)
            return rc;
    }
    return MW_OK;
}

/* mw_retry operations: basic.consume / basic.cancel of queue `q`; a
 * refusal reopens the channel. */
static int consume_op(struct mw_conn *c, void *q)
{
    int rc = consume_rpc(c, q);

    if (rc == MW_ERR_PROTOCOL)
        mw_refused(c);
    return rc;
}

int mw_consume(struct mw_conn *c, const char *queue)
{
    int rc;

    if (c == NULL || queue == NULL || queue[0] == '\0' ||
        strnlen(queue, MW_SHORTSTR) >= MW_SHORTSTR || cons_find(c, queue) >= 0)
        return MW_ERR_ARG;
    rc = mw_retry(c, consume_op, (void *)(uintptr_t)queue, true);
    if (rc == MW_OK)
        rc = cons_add(c, queue);
    return rc;
}

static int cancel_op(struct mw_conn *c, void *q)
{
    int rc;

    (void)amqp_basic_cancel(c->amqp, c->chan, amqp_cstring_bytes(q));
    rc = mw_rpc_result(c, amqp_get_rpc_reply(c->amqp), "basic.cancel", NULL);
    if (rc == MW_ERR_PROTOCOL)
        mw_refused(c);
    return rc;
}

int mw_cancel(struct mw_conn *c, const char *queue)
{
    long i;
    int rc;

    if (c == NULL || queue == NULL)
        return MW_ERR_ARG;
    i = cons_find(c, queue);
    if (i < 0)
        return MW_ERR_ARG;
    /* Forget it first: a reconnect during the cancel must not revive it. */
    cons_remove(c, (size_t)i);
    rc = mw_retry(c, cancel_op, (void *)(uintptr_t)queue, true);
    return rc == MW_ERR_PROTOCOL ? MW_OK : rc; /* gone is what we wanted */
}

/* Logs and rejects c->cur, which cannot be decoded: handing it out would
 * give the caller bytes that are not the message, and requeueing it would
 * bring it back forever. */
static void reject_poison(struct mw_conn *c, const char *why)
{
    const struct mw_msg *m = &c->cur;
    int rc;

    c->stats.poison++;
    log_error("undecodable message rejected queue=%s session=%s stream=%s "
              "producer=%s seq=%lld len=%zu raw_len=%lld reason=\"%s\"",
              m->queue, m->meta.session, m->meta.stream, m->meta.producer,
              (long long)m->meta.seq, m->len, (long long)m->raw_len, why);
    rc = mw_nack(c, m->tag, false);
    if (rc != MW_OK) /* stale: it comes back and is rejected then */
        log_warn("reject of an undecodable message failed queue=%s: %s",
                 m->queue, mw_strerror(rc));
}

/* Moves the oldest buffered delivery into c->cur and *d, decoded. 0, 1
 * (it was poison and is gone: take the next one) or MW_ERR_NOMEM. */
static int hand_out(struct mw_conn *c, struct mw_delivery *d)
{
    const char *why = "";
    int rc;

    mw_fifo_pop_swap(&c->fifo, &c->cur);
    rc = mw_codec_unpack(c, &d->body, &d->len, &why);
    if (rc == MW_ERR_NOMEM) {
        /* Not the message's fault: let the broker hand it out again (a
         * stale tag is redelivered anyway). */
        if (mw_nack(c, c->cur.tag, true) != MW_OK)
            log_debug("requeue after out of memory failed queue=%s",
                      c->cur.queue);
        return rc;
    }
    if (rc == 1) {
        reject_poison(c, why);
        return 1;
    }
    c->stats.got_msgs++;
    c->stats.got_wire += c->cur.len;
    c->stats.got_raw += d->len;
    c->stats.got_lz4 += c->cur.lz4;
    d->queue = c->cur.queue;
    d->meta = c->cur.meta;
    d->tag = c->cur.tag;
    d->redelivered = c->cur.redelivered;
    return MW_OK;
}

int mw_next(struct mw_conn *c, struct mw_delivery *d, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : clock_mono_ms() + timeout_ms;
    int rc;

    if (c == NULL || d == NULL)
        return MW_ERR_ARG;
    for (;;) {
        while (c->fifo.count > 0) {
            rc = hand_out(c, d);
            if (rc != 1)
                return rc;
        }
        rc = mw_pump_live(c, deadline, true);
        if (rc < 0)
            return rc;
        if (c->fifo.count == 0 && deadline >= 0 &&
            clock_mono_ms() >= deadline && (rc == 0 || !mw_input_pending(c)))
            return MW_ERR_TIMEOUT;
    }
}

/* 0 when `tag` belongs to the live channel, else why not. */
static int tag_check(const struct mw_conn *c, uint64_t tag)
{
    if (c->dead)
        return MW_ERR_CLOSED;
    if (c->down || c->amqp == NULL || (uint16_t)(tag >> MW_TAG_BITS) != c->gen)
        return MW_ERR_STALE;
    return MW_OK;
}

int mw_ack(struct mw_conn *c, uint64_t tag)
{
    int rc, r;

    if (c == NULL || (tag & MW_TAG_MASK) == 0)
        return MW_ERR_ARG;
    rc = tag_check(c, tag);
    if (rc != MW_OK)
        return rc;
    r = amqp_basic_ack(c->amqp, c->chan, tag & MW_TAG_MASK, 0);
    if (r != AMQP_STATUS_OK) {
        (void)mw_lost(c, "ack", r);
        mw_conn_lost(c);
        return MW_ERR_STALE; /* the broker will redeliver it */
    }
    return MW_OK;
}

int mw_nack(struct mw_conn *c, uint64_t tag, bool requeue)
{
    int rc, r;

    if (c == NULL || (tag & MW_TAG_MASK) == 0)
        return MW_ERR_ARG;
    rc = tag_check(c, tag);
    if (rc != MW_OK)
        return rc;
    r = amqp_basic_nack(c->amqp, c->chan, tag & MW_TAG_MASK, 0,
                        requeue ? 1 : 0);
    if (r != AMQP_STATUS_OK) {
        (void)mw_lost(c, "nack", r);
        mw_conn_lost(c);
        return MW_ERR_STALE;
    }
    return MW_OK;
}
