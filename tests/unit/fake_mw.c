/*
 * fake_mw.c - the in-memory middleware of the unit tests (see fake_mw.h):
 * every function of middleware/mw.h over a small broker model, the script
 * of what mw_next returns (fake_mw_script.c) and an ordered log of the
 * calls.
 */
#include "fake_mw_internal.h"

#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ bookkeeping */

static struct fake_ev *ev_new(enum fake_op op)
{
    struct fake_ev *e = VEC_PUSH(fake_st.ev);

    e->op = op;
    return e;
}

/* Logs e with rc, runs the hook, returns rc. A connection that returned
 * MW_ERR_CLOSED is gone for good. */
static int ev_done(struct mw_conn *c, struct fake_ev *e, int rc)
{
    e->rc = rc;
    if (rc == MW_ERR_CLOSED && c)
        c->dead = true;
    if (fake_st.hook)
        fake_st.hook(e, fake_st.hook_arg);
    return rc;
}

/* The injected result of this call of op, or 0. */
static int injected(enum fake_op op)
{
    int n = ++fake_st.calls[op];
    size_t i;

    for (i = 0; i < fake_st.inj.n; i++)
        if (fake_st.inj.p[i].op == op && fake_st.inj.p[i].nth == n)
            return fake_st.inj.p[i].rc;
    return 0;
}

/* The result a call on c gets before doing anything: injected, or closed. */
static int precheck(struct mw_conn *c, enum fake_op op)
{
    int rc = injected(op);

    if (rc == 0 && c == NULL) {
        fake_misuse("%s on a NULL connection", fake_mw_op_name(op));
        rc = MW_ERR_ARG;
    }
    if (rc == 0 && c->dead)
        rc = MW_ERR_CLOSED;
    return rc;
}

/* ------------------------------------------------------------ topology */

static struct fqueue *queue_find(const char *name)
{
    size_t i;

    for (i = 0; i < fake_st.q.n; i++)
        if (strcmp(fake_st.q.p[i].name, name) == 0)
            return &fake_st.q.p[i];
    return NULL;
}

static struct fexchange *exchange_find(const char *name)
{
    size_t i;

    for (i = 0; i < fake_st.ex.n; i++)
        if (strcmp(fake_st.ex.p[i].name, name) == 0)
            return &fake_st.ex.p[i];
    return NULL;
}

static bool consumes(const struct mw_conn *c, const char *queue)
{
    size_t i;

    for (i = 0; i < c->nconsumed; i++)
        if (strcmp(c->consumed[i], queue) == 0)
            return true;
    return false;
}

static bool bound(const char *queue, const char *exchange, const char *key)
{
    size_t i;

    for (i = 0; i < fake_st.bind.n; i++)
        if (strcmp(fake_st.bind.p[i].queue, queue) == 0 &&
            strcmp(fake_st.bind.p[i].exchange, exchange) == 0 &&
            strcmp(fake_st.bind.p[i].key, key) == 0)
            return true;
    return false;
}

/* Number of queues a publish to (exchange, key) reaches; *first gets the
 * first one. -1: no such exchange. */
static int route(const char *exchange, const char *key, char *first)
{
    const struct fexchange *x;
    int n = 0;
    size_t i;

    if (exchange[0] == '\0') {
        if (queue_find(key) == NULL)
            return 0;
        fake_set_name(first, key);
        return 1;
    }
    if ((x = exchange_find(exchange)) == NULL)
        return -1;
    for (i = 0; i < fake_st.bind.n; i++) {
        const struct fbind *b = &fake_st.bind.p[i];

        if (strcmp(b->exchange, exchange) != 0 ||
            (x->type != MW_EXCHANGE_FANOUT && strcmp(b->key, key) != 0))
            continue;
        if (n++ == 0)
            fake_set_name(first, b->queue);
    }
    return n;
}

/* ------------------------------------------------------------ mw.h */

const char *mw_strerror(int err)
{
    return cs_strerror(err);
}

struct mw_conn *mw_connect(const struct mw_options *opt, int *err)
{
    struct fake_ev *e = ev_new(FAKE_CONNECT);
    int rc = injected(FAKE_CONNECT);
    struct mw_conn *c = NULL;

    fake_set_name(e->key, opt && opt->name ? opt->name : "");
    if (rc == 0 && (c = calloc(1, sizeof(*c))) == NULL)
        rc = MW_ERR_NOMEM;
    if (c) {
        c->id = ++fake_st.conn_ids;
        fake_st.epoch++; /* tags of earlier connections are stale */
    }
    if (rc != 0 && err)
        *err = rc;
    ev_done(NULL, e, rc);
    return c;
}

void mw_close(struct mw_conn *c)
{
    size_t i, j;

    if (c == NULL)
        return;
    ev_done(NULL, ev_new(FAKE_CLOSE), 0);
    for (i = j = 0; i < fake_st.q.n; i++) /* its exclusive queues die with it */
        if (fake_st.q.p[i].owner != c->id)
            fake_st.q.p[j++] = fake_st.q.p[i];
    fake_st.q.n = j;
    free(c->consumed);
    free(c);
}

int mw_declare_exchange(struct mw_conn *c, const char *name,
                        enum mw_exchange_type type)
{
    struct fake_ev *e = ev_new(FAKE_DECLARE_EXCHANGE);
    int rc = precheck(c, FAKE_DECLARE_EXCHANGE);
    struct fexchange *x;

    fake_set_name(e->exchange, name);
    if (rc == 0 && (x = exchange_find(name)) == NULL) {
        x = VEC_PUSH(fake_st.ex);
        fake_set_name(x->name, name);
        x->type = type;
    } else if (rc == 0 && x->type != type) {
        rc = MW_ERR_PROTOCOL; /* 406: redeclared with another type */
    }
    return ev_done(c, e, rc);
}

int mw_declare_queue(struct mw_conn *c, const char *name, int flags,
                     char *out_name, size_t outsz)
{
    struct fake_ev *e = ev_new(FAKE_DECLARE_QUEUE);
    int rc = precheck(c, FAKE_DECLARE_QUEUE);
    bool excl = (flags & MW_QUEUE_EXCLUSIVE) != 0;
    struct fqueue *q;

    fake_set_name(e->queue, name);
    e->flags = flags;
    if (rc == 0 && name[0] == '\0') {
        fake_misuse("declare_queue with a generated name is not modelled");
        rc = MW_ERR_ARG;
    }
    if (rc == 0 && (q = queue_find(name)) != NULL) {
        if (q->owner != (excl ? c->id : 0))
            rc = MW_ERR_PROTOCOL; /* 405 locked, or 406 other properties */
    } else if (rc == 0) {
        q = VEC_PUSH(fake_st.q);
        fake_set_name(q->name, name);
        q->owner = excl ? c->id : 0;
    }
    if (rc == 0 && out_name && outsz)
        snprintf(out_name, outsz, "%s", name);
    return ev_done(c, e, rc);
}

int mw_bind(struct mw_conn *c, const char *queue, const char *exchange,
            const char *routing_key)
{
    struct fake_ev *e = ev_new(FAKE_BIND);
    int rc = precheck(c, FAKE_BIND);
    struct fbind *b;

    fake_set_name(e->queue, queue);
    fake_set_name(e->exchange, exchange);
    fake_set_name(e->key, routing_key);
    if (rc == 0 &&
        (queue_find(queue) == NULL || exchange_find(exchange) == NULL)) {
        fake_misuse("bind %s to %s: not declared", queue, exchange);
        rc = MW_ERR_PROTOCOL;
    }
    if (rc == 0 && !bound(queue, exchange, routing_key)) { /* idempotent */
        b = VEC_PUSH(fake_st.bind);
        fake_set_name(b->queue, queue);
        fake_set_name(b->exchange, exchange);
        fake_set_name(b->key, routing_key);
    }
    return ev_done(c, e, rc);
}

int mw_delete_queue(struct mw_conn *c, const char *queue)
{
    struct fake_ev *e = ev_new(FAKE_DELETE_QUEUE);
    int rc = precheck(c, FAKE_DELETE_QUEUE);
    size_t i, j;

    fake_set_name(e->queue, queue);
    if (rc == 0) {
        for (i = j = 0; i < fake_st.q.n; i++)
            if (strcmp(fake_st.q.p[i].name, queue) != 0)
                fake_st.q.p[j++] = fake_st.q.p[i];
        fake_st.q.n = j;
        for (i = j = 0; i < fake_st.bind.n; i++)
            if (strcmp(fake_st.bind.p[i].queue, queue) != 0)
                fake_st.bind.p[j++] = fake_st.bind.p[i];
        fake_st.bind.n = j;
    }
    return ev_done(c, e, rc);
}

/* Every declared queue counts as consumed (the stages are live): the
 * coordinator's liveness probe sees nothing to report. Not an event. */
int mw_queue_stat(struct mw_conn *c, const char *queue, uint32_t *messages,
                  uint32_t *consumers)
{
    if (c == NULL || queue == NULL || queue_find(queue) == NULL)
        return MW_ERR_PROTOCOL;
    *messages = 0;
    *consumers = 1;
    return 0;
}

int mw_publish(struct mw_conn *c, const char *exchange, const char *routing_key,
               const struct mw_meta *meta, const void *body, size_t len)
{
    struct fake_ev *e = ev_new(FAKE_PUBLISH);
    int rc = precheck(c, FAKE_PUBLISH);

    fake_set_name(e->exchange, exchange);
    fake_set_name(e->key, routing_key);
    if (meta)
        e->meta = *meta;
    e->body = fake_copy(body, len);
    e->len = len;
    if (rc == 0) {
        e->routed = route(exchange, routing_key, e->queue);
        if (e->routed < 0) {
            fake_misuse("publish to undeclared exchange '%s'", exchange);
            rc = MW_ERR_PROTOCOL;
        } else if (e->routed == 0) {
            c->unroutable = true; /* mandatory: returned, reported by a flush */
        }
    }
    return ev_done(c, e, rc);
}

int mw_flush(struct mw_conn *c)
{
    struct fake_ev *e = ev_new(FAKE_FLUSH);
    int rc = precheck(c, FAKE_FLUSH);

    if (rc == 0 && c->unroutable) {
        c->unroutable = false;
        rc = MW_ERR_UNROUTABLE;
    }
    return ev_done(c, e, rc);
}

int mw_consume(struct mw_conn *c, const char *queue)
{
    struct fake_ev *e = ev_new(FAKE_CONSUME);
    int rc = precheck(c, FAKE_CONSUME);

    fake_set_name(e->queue, queue);
    if (rc == 0 && queue_find(queue) == NULL) {
        fake_misuse("consume of undeclared queue '%s'", queue);
        rc = MW_ERR_PROTOCOL;
    } else if (rc == 0 && consumes(c, queue)) {
        fake_misuse("queue '%s' consumed twice", queue);
        rc = MW_ERR_ARG;
    }
    if (rc == 0) {
        c->consumed = fake_grow(c->consumed, &c->ccap, c->nconsumed + 1,
                                sizeof(*c->consumed));
        fake_set_name(c->consumed[c->nconsumed++], queue);
    }
    return ev_done(c, e, rc);
}

int mw_cancel(struct mw_conn *c, const char *queue)
{
    struct fake_ev *e = ev_new(FAKE_CANCEL);
    int rc = precheck(c, FAKE_CANCEL);
    size_t i;

    fake_set_name(e->queue, queue);
    for (i = 0; rc == 0 && i < c->nconsumed; i++)
        if (strcmp(c->consumed[i], queue) == 0) {
            memmove(&c->consumed[i], &c->consumed[i + 1],
                    (c->nconsumed - i - 1) * sizeof(*c->consumed));
            c->nconsumed--;
            break;
        }
    return ev_done(c, e, rc);
}

/* The next step of the script, or what an empty script yields. */
static struct step next_step(void)
{
    struct step s;
    struct ctl_msg *m;

    if (fake_st.script.n > 0) {
        s = fake_st.script.p[0];
        memmove(&fake_st.script.p[0], &fake_st.script.p[1],
                (fake_st.script.n - 1) * sizeof(*fake_st.script.p));
        fake_st.script.n--;
        return s;
    }
    memset(&s, 0, sizeof(s));
    s.kind = STEP_RC;
    s.rc = MW_ERR_CLOSED;
    if (fake_st.stop_queue[0] == '\0' || fake_st.stop_sent)
        return s;
    s.rc = MW_ERR_TIMEOUT;
    if (fake_st.idle_seen++ < fake_st.stop_timeouts)
        return s;
    if ((m = ctl_new(CTL_SHUTDOWN, NULL)) == NULL)
        abort();
    fake_encode_ctl(&s, fake_st.stop_queue, m); /* ts 0: stamped now */
    free(m);
    fake_st.stop_sent = true;
    return s;
}

static void reconnect(void)
{
    fake_st.epoch++;
    fake_st.reconnects++;
    fake_mw_requeue_unacked();
}

/* Hands out delivery step s as tag; the dlv record owns its bytes. */
static void hand_out(struct mw_conn *c, struct step *s, struct fake_ev *e,
                     struct mw_delivery *d)
{
    struct dlv *r = calloc(1, sizeof(*r));

    if (r == NULL)
        abort();
    if (!consumes(c, s->queue))
        fake_misuse("delivery scripted on '%s', which is not consumed",
                    s->queue);
    r->tag = ++fake_st.next_tag;
    r->epoch = fake_st.epoch;
    r->s = *s;
    *VEC_PUSH(fake_st.dlv) = r;
    fake_set_name(e->queue, s->queue);
    e->meta = s->meta;
    e->body = fake_copy(s->body, s->len);
    e->len = s->len;
    e->tag = r->tag;
    e->redelivered = s->redelivered;
    memset(d, 0, sizeof(*d));
    d->queue = r->s.queue;
    d->meta = r->s.meta;
    d->body = r->s.body;
    d->len = r->s.len;
    d->tag = r->tag;
    d->redelivered = r->s.redelivered;
}

int mw_next(struct mw_conn *c, struct mw_delivery *d, int timeout_ms)
{
    struct fake_ev *e = ev_new(FAKE_NEXT);
    int rc = precheck(c, FAKE_NEXT);
    struct step s;

    (void)timeout_ms; /* nothing waits here */
    if (rc == 0 && ++fake_st.next_calls > MAX_NEXT_CALLS) {
        fake_misuse("mw_next called %d times: a loop that does not stop",
                    MAX_NEXT_CALLS);
        rc = MW_ERR_CLOSED;
    }
    while (rc == 0) {
        s = next_step();
        if (s.kind == STEP_RECONNECT) {
            reconnect();
            continue;
        }
        if (s.kind == STEP_RC) {
            rc = s.rc;
            break;
        }
        hand_out(c, &s, e, d);
        break;
    }
    return ev_done(c, e, rc);
}

static int settle(struct mw_conn *c, struct fake_ev *e, enum fake_op op,
                  uint64_t tag)
{
    int rc = precheck(c, op);
    struct dlv *r = fake_dlv_find(tag);

    e->tag = tag;
    if (rc != 0)
        return rc;
    if (r == NULL) {
        fake_misuse("%s of unknown tag %llu", fake_mw_op_name(op),
                    (unsigned long long)tag);
        return MW_ERR_PROTOCOL;
    }
    if (r->epoch != fake_st.epoch)
        return MW_ERR_STALE;
    if (r->settled) {
        fake_misuse("%s of tag %llu settled already", fake_mw_op_name(op),
                    (unsigned long long)tag);
        return MW_ERR_PROTOCOL;
    }
    r->settled = true;
    r->acks += op == FAKE_ACK;
    return 0;
}

int mw_ack(struct mw_conn *c, uint64_t tag)
{
    struct fake_ev *e = ev_new(FAKE_ACK);

    return ev_done(c, e, settle(c, e, FAKE_ACK, tag));
}

int mw_nack(struct mw_conn *c, uint64_t tag, bool requeue)
{
    struct fake_ev *e = ev_new(FAKE_NACK);
    int rc = settle(c, e, FAKE_NACK, tag);
    struct dlv *r = fake_dlv_find(tag);

    e->requeue = requeue;
    if (rc == 0 && requeue) {
        struct step *s = fake_script_insert(0);

        *s = r->s;
        s->body = fake_copy(r->s.body, r->s.len);
        s->redelivered = true;
    }
    return ev_done(c, e, rc);
}

unsigned mw_reconnects(const struct mw_conn *c)
{
    (void)c;
    return fake_st.reconnects;
}
