/*
 * mwt_roles.c - producer and consumer processes for the multi-process
 * cases of tests/middleware/run.sh (work queue, N->1, kill -9, broker
 * restart). They talk to run.sh through stdout lines:
 *   READY                      consumer registered
 *   PROGRESS k                 producer published k messages
 *   MSG producer seq redeliv.  consumer got a message (flushed at the end,
 *                              or before HOLDING)
 *   HOLDING k                  consumer holds k unacked messages
 *   DONE / END ...             summary
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mwt.h"

struct produce_opts {
    const char *queue, *producer;
    long count, size, rate, progress, eof;
};

static int produce_loop(struct mw_conn *c, const struct produce_opts *o,
                        uint8_t *buf)
{
    struct mw_meta m;
    int64_t t0 = mwt_now_ms(), due;
    long i;
    int rc;

    for (i = 0; i < o->count; i++) {
        mwt_body_fill(buf, (size_t)o->size, (uint64_t)i);
        mwt_meta(&m, o->queue, o->producer, i, MW_KIND_DATA);
        rc = mw_publish(c, "", o->queue, &m, buf, (size_t)o->size);
        CHECK(rc == MW_OK, "publish %ld: %s", i, mw_strerror(rc));
        if (o->progress > 0 && (i + 1) % o->progress == 0) {
            printf("PROGRESS %ld\n", i + 1);
            fflush(stdout);
        }
        if (o->rate > 0) { /* pacing, so a restart lands mid-stream */
            due = t0 + (i + 1) * 1000 / o->rate;
            if (due > mwt_now_ms())
                mwt_sleep_ms(due - mwt_now_ms());
        }
    }
    for (i = 0; i < o->eof; i++) {
        mwt_meta(&m, o->queue, o->producer, -1, MW_KIND_CONTROL);
        rc = mw_publish(c, "", o->queue, &m, "EOF", 3);
        CHECK(rc == MW_OK, "publish eof: %s", mw_strerror(rc));
    }
    return 0;
}

int mwt_role_produce(int argc, char **argv)
{
    struct produce_opts o;
    struct mw_conn *c;
    uint8_t *buf;
    char name[128];
    int rc;

    o.queue = mwt_opt_str(argc, argv, "--queue", NULL);
    o.producer = mwt_opt_str(argc, argv, "--producer", "p1");
    o.count = mwt_opt_long(argc, argv, "--count", 1000);
    o.size = mwt_opt_long(argc, argv, "--size", 1024);
    o.rate = mwt_opt_long(argc, argv, "--rate", 0);
    o.progress = mwt_opt_long(argc, argv, "--progress", 0);
    o.eof = mwt_opt_long(argc, argv, "--eof", 0);
    CHECK(o.queue != NULL && o.size >= 8,
          "usage: produce --queue Q [--size >= 8]");
    (void)snprintf(name, sizeof(name), "mwt-produce-%s", o.producer);
    c = mwt_connect(name, 16, 10);
    buf = malloc((size_t)o.size);
    CHECK(c != NULL && buf != NULL, "setup");
    CHECK(mw_declare_queue(c, o.queue, MW_QUEUE_DURABLE, NULL, 0) == MW_OK,
          "declare");
    CHECK(produce_loop(c, &o, buf) == 0, "produce");
    rc = mw_flush(c);
    CHECK(rc == MW_OK, "flush: %s", mw_strerror(rc));
    printf("DONE %ld reconnects=%u\n", o.count, mw_reconnects(c));
    mw_close(c);
    free(buf);
    return 0;
}

struct consume_state {
    long count, distinct_goal, hold, received, distinct, stale, ctl;
    bool until_eof;
    uint8_t *seen; /* [distinct_goal] */
};

/* Handles one data message; 1 when the consumer is done. */
static int consume_one(struct mw_conn *c, struct consume_state *s,
                       const struct mw_delivery *d)
{
    uint64_t id = 0;
    int rc;

    CHECK(mwt_body_check(d->body, d->len, &id) && (int64_t)id == d->meta.seq,
          "corrupt message seq=%" PRId64 " len=%zu", d->meta.seq, d->len);
    printf("MSG %s %" PRId64 " %d\n",
           d->meta.producer[0] ? d->meta.producer : "-", d->meta.seq,
           d->redelivered ? 1 : 0);
    s->received++;
    if (s->seen != NULL && d->meta.seq >= 0 && d->meta.seq < s->distinct_goal &&
        !s->seen[d->meta.seq]) {
        s->seen[d->meta.seq] = 1;
        s->distinct++;
    }
    if (s->hold > 0) {
        if (s->received == s->hold) {
            printf("HOLDING %ld\n", s->received);
            fflush(stdout);
        }
        return 0; /* never ack: we will be killed holding them */
    }
    rc = mw_ack(c, d->tag);
    if (rc == MW_ERR_STALE)
        s->stale++; /* redelivered after the reconnect: seen twice */
    else
        CHECK(rc == MW_OK, "ack: %s", mw_strerror(rc));
    if (s->count > 0 && s->received >= s->count)
        return 1;
    return s->distinct_goal > 0 && s->distinct >= s->distinct_goal;
}

static int consume_loop(struct mw_conn *c, struct consume_state *s)
{
    struct mw_delivery d;
    int rc;

    for (;;) {
        rc = mw_next(c, &d, 1000);
        if (rc == MW_ERR_TIMEOUT)
            continue; /* run.sh bounds the whole process with timeout(1) */
        CHECK(rc == MW_OK, "mw_next: %s", mw_strerror(rc));
        if (d.meta.kind == MW_KIND_CONTROL) {
            s->ctl++;
            CHECK(mw_ack(c, d.tag) == MW_OK, "ack eof");
            if (s->until_eof)
                return 0;
            continue;
        }
        rc = consume_one(c, s, &d);
        if (rc != 0)
            return rc == 1 ? 0 : 1;
    }
}

int mwt_role_consume(int argc, char **argv)
{
    const char *queue = mwt_opt_str(argc, argv, "--queue", NULL);
    long prefetch = mwt_opt_long(argc, argv, "--prefetch", 16);
    struct consume_state s;
    struct mw_conn *c;
    char name[128];

    memset(&s, 0, sizeof(s));
    s.count = mwt_opt_long(argc, argv, "--count", 0);
    s.distinct_goal = mwt_opt_long(argc, argv, "--distinct", 0);
    s.hold = mwt_opt_long(argc, argv, "--hold", 0);
    s.until_eof = mwt_opt_flag(argc, argv, "--until-eof");
    CHECK(queue != NULL && prefetch > 0 && prefetch < 65536,
          "usage: consume --queue Q");
    if (s.distinct_goal > 0) {
        s.seen = calloc((size_t)s.distinct_goal, 1);
        CHECK(s.seen != NULL, "calloc");
    }
    (void)snprintf(name, sizeof(name), "mwt-consume-%s", queue);
    c = mwt_connect(name, (uint16_t)prefetch, 10);
    CHECK(c != NULL, "connect");
    CHECK(mw_declare_queue(c, queue, MW_QUEUE_DURABLE, NULL, 0) == MW_OK,
          "declare");
    CHECK(mw_consume(c, queue) == MW_OK, "consume");
    printf("READY\n");
    fflush(stdout);
    CHECK(consume_loop(c, &s) == 0, "consume loop");
    printf("END received=%ld distinct=%ld stale=%ld eof=%ld reconnects=%u\n",
           s.received, s.distinct, s.stale, s.ctl, mw_reconnects(c));
    mw_close(c);
    free(s.seen);
    return 0;
}
