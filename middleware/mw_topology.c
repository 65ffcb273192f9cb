/*
 * mw_topology.c - exchanges, queues and bindings, remembered in declaration
 * order and replayed after a reconnect (a broker restart loses exclusive
 * queues, and a node that lost its data loses everything).
 *
 * Server-named queues would come back under a new name after a reconnect,
 * breaking bindings and consumers that refer to the old one, so for
 * MW_QUEUE_EXCLUSIVE with an empty name we generate a unique name ourselves
 * (not "amq.*", which clients may not declare).
 *
 * With CS_QUEUE_TYPE=quorum the durable queues get x-queue-type=quorum, the
 * only argument any declaration here passes: quorum queues must be durable,
 * not exclusive and not auto-delete, which is what MW_QUEUE_DURABLE is.
 * Exclusive queues stay classic (a quorum queue cannot be exclusive): they
 * live on the node of their connection and die with it, which is what the
 * lock queues want (their holder lost its connection too).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mw_internal.h"
#include "clock.h"
#include "log.h"

int mw_topo_queue_type(struct mw_conn *c, enum mw_queue_type how)
{
    const char *env = getenv("CS_QUEUE_TYPE");

    if (how == MW_QUEUE_TYPE_CLASSIC || how == MW_QUEUE_TYPE_QUORUM) {
        c->quorum = how == MW_QUEUE_TYPE_QUORUM;
        return MW_OK;
    }
    if (how != MW_QUEUE_TYPE_ENV)
        return MW_ERR_ARG;
    if (env == NULL || env[0] == '\0' || strcmp(env, "classic") == 0) {
        c->quorum = false;
        return MW_OK;
    }
    if (strcmp(env, "quorum") == 0) {
        c->quorum = true;
        return MW_OK;
    }
    log_error("CS_QUEUE_TYPE=%s is not one of classic, quorum", env);
    return MW_ERR_ARG;
}

static const char *exchange_type(int t)
{
    switch (t) {
    case MW_EXCHANGE_FANOUT:
        return "fanout";
    case MW_EXCHANGE_TOPIC:
        return "topic";
    default:
        return "direct";
    }
}

static int topo_rpc(struct mw_conn *c, const struct mw_topo *t, int *code)
{
    amqp_connection_state_t st = c->amqp;
    amqp_bytes_t a = amqp_cstring_bytes(t->a);
    amqp_boolean_t excl = (t->arg & MW_QUEUE_EXCLUSIVE) != 0;
    const char *what = "queue.bind";
    amqp_table_entry_t type[1];
    amqp_table_t args = amqp_empty_table;

    switch (t->kind) {
    case MW_TOPO_EXCHANGE:
        what = "exchange.declare";
        (void)amqp_exchange_declare(st, c->chan, a,
                                    amqp_cstring_bytes(exchange_type(t->arg)),
                                    0, 1, 0, 0, amqp_empty_table);
        break;
    case MW_TOPO_QUEUE:
        what = "queue.declare";
        if (c->quorum && !excl) {
            type[0].key = amqp_cstring_bytes("x-queue-type");
            type[0].value.kind = AMQP_FIELD_KIND_UTF8;
            type[0].value.value.bytes = amqp_cstring_bytes("quorum");
            args.num_entries = 1;
            args.entries = type;
        }
        /* Exclusive already dies with the connection; auto-delete would
         * also kill it whenever a channel reset cancels its consumer. */
        (void)amqp_queue_declare(st, c->chan, a, 0, !excl, excl, 0, args);
        break;
    case MW_TOPO_BIND:
        (void)amqp_queue_bind(st, c->chan, a, amqp_cstring_bytes(t->b),
                              amqp_cstring_bytes(t->c), amqp_empty_table);
        break;
    }
    return mw_rpc_result(c, amqp_get_rpc_reply(st), what, code);
}

int mw_topo_replay(struct mw_conn *c)
{
    size_t i;
    int rc;

    for (i = 0; i < c->ntopo; i++) {
        rc = topo_rpc(c, &c->topo[i], NULL);
        if (rc != MW_OK)
            return rc;
    }
    return MW_OK;
}

void mw_topo_free(struct mw_conn *c)
{
    free(c->topo);
    c->topo = NULL;
    c->ntopo = c->topo_cap = 0;
}

static int topo_add(struct mw_conn *c, const struct mw_topo *t)
{
    struct mw_topo *nv;
    size_t i, ncap;

    for (i = 0; i < c->ntopo; i++)
        if (memcmp(&c->topo[i], t, sizeof(*t)) == 0)
            return MW_OK; /* declared twice: replay once */
    if (c->ntopo == c->topo_cap) {
        ncap = c->topo_cap ? c->topo_cap * 2 : 8;
        nv = realloc(c->topo, ncap * sizeof(*nv));
        if (nv == NULL)
            return MW_ERR_NOMEM;
        c->topo = nv;
        c->topo_cap = ncap;
    }
    c->topo[c->ntopo++] = *t;
    return MW_OK;
}

static int topo_op(struct mw_conn *c, void *t)
{
    int rc = topo_rpc(c, t, NULL);

    if (rc == MW_ERR_PROTOCOL)
        mw_refused(c);
    return rc;
}

/* Runs one declaration against a live connection and remembers it. */
static int topo_do(struct mw_conn *c, const struct mw_topo *t)
{
    int rc = mw_retry(c, topo_op, (void *)(uintptr_t)t, true);

    return rc == MW_OK ? topo_add(c, t) : rc;
}

static bool set_name(char *dst, const char *src)
{
    size_t n = strnlen(src, MW_SHORTSTR);

    if (n >= MW_SHORTSTR)
        return false;
    memset(dst, 0, MW_SHORTSTR); /* records are compared with memcmp */
    memcpy(dst, src, n);
    return true;
}

static struct mw_topo topo_new(enum mw_topo_kind kind, int arg)
{
    struct mw_topo t;

    memset(&t, 0, sizeof(t));
    t.kind = kind;
    t.arg = arg;
    return t;
}

int mw_declare_exchange(struct mw_conn *c, const char *name,
                        enum mw_exchange_type type)
{
    struct mw_topo t = topo_new(MW_TOPO_EXCHANGE, (int)type);

    if (c == NULL || name == NULL || name[0] == '\0' || !set_name(t.a, name) ||
        type < MW_EXCHANGE_DIRECT || type > MW_EXCHANGE_TOPIC)
        return MW_ERR_ARG;
    return topo_do(c, &t);
}

static void gen_queue_name(struct mw_conn *c, char *out)
{
    char buf[MW_SHORTSTR];

    (void)snprintf(buf, sizeof(buf), "mw.excl.%.160s.%ld.%lld.%u", c->name,
                   (long)getpid(), (long long)clock_mono_ms(), ++c->excl_seq);
    (void)set_name(out, buf);
}

int mw_declare_queue(struct mw_conn *c, const char *name, int flags,
                     char *out_name, size_t outsz)
{
    struct mw_topo t = topo_new(MW_TOPO_QUEUE, flags & MW_QUEUE_EXCLUSIVE);
    int rc;

    if (c == NULL || name == NULL || (flags & ~MW_QUEUE_EXCLUSIVE) != 0)
        return MW_ERR_ARG;
    if (name[0] == '\0') {
        if (!(flags & MW_QUEUE_EXCLUSIVE))
            return MW_ERR_ARG;
        gen_queue_name(c, t.a);
    } else if (!set_name(t.a, name)) {
        return MW_ERR_ARG;
    }
    if (out_name != NULL && strlen(t.a) >= outsz)
        return MW_ERR_ARG;
    rc = topo_do(c, &t);
    if (rc == MW_OK && out_name != NULL)
        memcpy(out_name, t.a, strlen(t.a) + 1);
    return rc;
}

int mw_bind(struct mw_conn *c, const char *queue, const char *exchange,
            const char *routing_key)
{
    struct mw_topo t = topo_new(MW_TOPO_BIND, 0);

    if (c == NULL || queue == NULL || exchange == NULL || routing_key == NULL ||
        !set_name(t.a, queue) || !set_name(t.b, exchange) ||
        !set_name(t.c, routing_key))
        return MW_ERR_ARG;
    return topo_do(c, &t);
}

/* Forgets the queue, its bindings and its consumer. */
static void topo_forget_queue(struct mw_conn *c, const char *queue)
{
    size_t i, j = 0;

    for (i = 0; i < c->ntopo; i++) {
        const struct mw_topo *t = &c->topo[i];

        if ((t->kind == MW_TOPO_QUEUE || t->kind == MW_TOPO_BIND) &&
            strcmp(t->a, queue) == 0)
            continue;
        c->topo[j++] = *t;
    }
    c->ntopo = j;
    for (i = 0, j = 0; i < c->ncons; i++)
        if (strcmp(c->cons[i], queue) != 0)
            memcpy(c->cons[j++], c->cons[i], MW_SHORTSTR);
    c->ncons = j;
}

static int delete_rpc(struct mw_conn *c, void *queue)
{
    int code, rc;

    (void)amqp_queue_delete(c->amqp, c->chan, amqp_cstring_bytes(queue), 0, 0);
    rc = mw_rpc_result(c, amqp_get_rpc_reply(c->amqp), "queue.delete", &code);
    if (rc == MW_ERR_PROTOCOL) {
        if (mw_chan_reset(c, true) == MW_ERR_LOST)
            return MW_ERR_LOST;
        if (code == 404)
            rc = MW_OK; /* already gone */
    }
    return rc;
}

struct stat_args {
    const char *queue;
    uint32_t *messages, *consumers;
};

static int stat_rpc(struct mw_conn *c, void *arg)
{
    const struct stat_args *a = arg;
    amqp_queue_declare_ok_t *ok;
    int code, rc;

    ok = amqp_queue_declare(c->amqp, c->chan, amqp_cstring_bytes(a->queue), 1,
                            0, 0, 0, amqp_empty_table);
    rc = mw_rpc_result(c, amqp_get_rpc_reply(c->amqp), "queue.declare passive",
                       &code);
    if (rc == MW_OK && ok != NULL) {
        *a->messages = ok->message_count;
        *a->consumers = ok->consumer_count;
    } else if (rc == MW_ERR_PROTOCOL && mw_chan_reset(c, true) == MW_ERR_LOST) {
        rc = MW_ERR_LOST;
    }
    return rc;
}

int mw_queue_stat(struct mw_conn *c, const char *queue, uint32_t *messages,
                  uint32_t *consumers)
{
    struct stat_args a = {queue, messages, consumers};

    if (c == NULL || queue == NULL || queue[0] == '\0' || messages == NULL ||
        consumers == NULL || strnlen(queue, MW_SHORTSTR) >= MW_SHORTSTR)
        return MW_ERR_ARG;
    return mw_retry(c, stat_rpc, &a, true);
}

int mw_delete_queue(struct mw_conn *c, const char *queue)
{
    if (c == NULL || queue == NULL || queue[0] == '\0' ||
        strnlen(queue, MW_SHORTSTR) >= MW_SHORTSTR)
        return MW_ERR_ARG;
    topo_forget_queue(c, queue);
    return mw_retry(c, delete_rpc, (void *)(uintptr_t)queue, true);
}
