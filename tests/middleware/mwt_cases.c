/*
 * mwt_cases.c - in-process middleware test cases: each connects to the
 * broker in AMQP_URL, checks one behaviour end to end and prints one line.
 * Resource names carry the pid so concurrent runs do not collide.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mwt.h"

/* Receives until *got reaches n, checking order and payload; gives up
 * (returns 0) on the first timeout. Returns 1 on a bad message. */
static int drain_in_order(struct mw_conn *c, long n, long size, long *got,
                          int timeout_ms)
{
    struct mw_delivery d;
    uint64_t id = 0;
    int rc;

    while (*got < n) {
        rc = mw_next(c, &d, timeout_ms);
        if (rc == MW_ERR_TIMEOUT)
            return 0;
        CHECK(rc == MW_OK, "mw_next after %ld messages: %s", *got,
              mw_strerror(rc));
        CHECK(d.len == (size_t)size && mwt_body_check(d.body, d.len, &id),
              "message %ld: corrupt payload (len %zu)", *got, d.len);
        CHECK(id == (uint64_t)*got && d.meta.seq == *got,
              "message %ld: got id %" PRIu64 " seq %" PRId64 " (out of order)",
              *got, id, d.meta.seq);
        CHECK(mw_ack(c, d.tag) == MW_OK, "ack %ld", *got);
        (*got)++;
    }
    return 0;
}

int mwt_case_queue1(int argc, char **argv)
{
    long n = mwt_opt_long(argc, argv, "--count", 2000);
    long size = mwt_opt_long(argc, argv, "--size", 4096);
    struct mw_conn *p = mwt_connect("mwt-q1-producer", 16, 10);
    struct mw_conn *c = mwt_connect("mwt-q1-consumer", 64, 10);
    struct mw_delivery d;
    struct mw_meta m;
    char q[64];
    uint8_t *buf = malloc((size_t)size);
    long sent = 0, got = 0;
    int64_t t0 = mwt_now_ms();

    CHECK(p != NULL && c != NULL && buf != NULL && size >= 8, "setup");
    mwt_name(q, sizeof(q), "q1");
    CHECK(mw_declare_queue(p, q, MW_QUEUE_DURABLE, NULL, 0) == MW_OK,
          "declare");
    CHECK(mw_consume(c, q) == MW_OK, "consume");
    /* Interleave: publish a burst, take what already arrived, repeat. */
    while (sent < n) {
        mwt_body_fill(buf, (size_t)size, (uint64_t)sent);
        mwt_meta(&m, q, "q1", sent, MW_KIND_DATA);
        CHECK(mw_publish(p, "", q, &m, buf, (size_t)size) == MW_OK,
              "publish %ld", sent);
        if (++sent % 64 == 0)
            CHECK(drain_in_order(c, n, size, &got, 0) == 0, "drain");
    }
    CHECK(mw_flush(p) == MW_OK, "flush");
    CHECK(drain_in_order(c, n, size, &got, 10000) == 0, "drain");
    CHECK(got == n, "only %ld of %ld messages arrived", got, n);
    CHECK(mw_next(c, &d, 300) == MW_ERR_TIMEOUT, "an extra message arrived");
    CHECK(mw_delete_queue(p, q) == MW_OK, "delete");
    printf("%ld x %ld B delivered in order, payloads intact (%.0f msg/s)\n", n,
           size, n * 1000.0 / (double)(mwt_now_ms() - t0 + 1));
    mw_close(p);
    mw_close(c);
    free(buf);
    return 0;
}

struct route_q {
    char name[128];
    const char *stream; /* what it must receive */
    long want, got;
};

static int routing_setup(struct mw_conn *c, const char *fan, const char *dir,
                         struct route_q *rq)
{
    int i;

    CHECK(mw_declare_exchange(c, fan, MW_EXCHANGE_FANOUT) == MW_OK, "fanout");
    CHECK(mw_declare_exchange(c, dir, MW_EXCHANGE_DIRECT) == MW_OK, "direct");
    for (i = 0; i < 4; i++) {
        CHECK(mw_declare_queue(c, "", MW_QUEUE_EXCLUSIVE, rq[i].name,
                               sizeof(rq[i].name)) == MW_OK,
              "queue %d", i);
        CHECK(mw_consume(c, rq[i].name) == MW_OK, "consume %d", i);
    }
    CHECK(mw_bind(c, rq[0].name, fan, "") == MW_OK, "bind fan 0");
    CHECK(mw_bind(c, rq[1].name, fan, "") == MW_OK, "bind fan 1");
    CHECK(mw_bind(c, rq[2].name, dir, "a") == MW_OK, "bind a");
    CHECK(mw_bind(c, rq[3].name, dir, "b") == MW_OK, "bind b");
    return 0;
}

static int routing_publish(struct mw_conn *c, const char *ex, const char *key,
                           const char *stream, int n)
{
    struct mw_meta m;
    uint8_t body[64];
    int i;

    for (i = 0; i < n; i++) {
        mwt_body_fill(body, sizeof(body), (uint64_t)i);
        mwt_meta(&m, stream, "routing", i, MW_KIND_DATA);
        CHECK(mw_publish(c, ex, key, &m, body, sizeof(body)) == MW_OK,
              "publish");
    }
    return 0;
}

int mwt_case_routing(int argc, char **argv)
{
    struct mw_conn *c = mwt_connect("mwt-routing", 16, 10);
    struct route_q rq[4] = {
        {"", "fan", 1, 0}, {"", "fan", 1, 0}, {"", "a", 5, 0}, {"", "b", 3, 0}};
    struct mw_delivery d;
    char fan[64], dir[64];
    long total = 0;
    int i, rc;

    (void)argc;
    (void)argv;
    CHECK(c != NULL, "connect");
    mwt_name(fan, sizeof(fan), "fan");
    mwt_name(dir, sizeof(dir), "dir");
    CHECK(routing_setup(c, fan, dir, rq) == 0, "setup");
    CHECK(routing_publish(c, fan, "", "fan", 1) == 0, "fan");
    CHECK(routing_publish(c, dir, "a", "a", 5) == 0, "a");
    CHECK(routing_publish(c, dir, "b", "b", 3) == 0, "b");
    CHECK(mw_flush(c) == MW_OK, "flush");
    while (total < 10) {
        rc = mw_next(c, &d, 10000);
        CHECK(rc == MW_OK, "after %ld deliveries: %s", total, mw_strerror(rc));
        for (i = 0; i < 4 && strcmp(d.queue, rq[i].name) != 0; i++)
            ;
        CHECK(i < 4, "delivery from unknown queue %s", d.queue);
        CHECK(strcmp(d.meta.stream, rq[i].stream) == 0,
              "queue %d (%s) got a '%s' message", i, rq[i].stream,
              d.meta.stream);
        CHECK(mw_ack(c, d.tag) == MW_OK, "ack");
        rq[i].got++;
        total++;
    }
    CHECK(mw_next(c, &d, 500) == MW_ERR_TIMEOUT, "extra delivery on %s",
          d.queue);
    for (i = 0; i < 4; i++)
        CHECK(rq[i].got == rq[i].want, "queue %d got %ld, want %ld", i,
              rq[i].got, rq[i].want);
    printf("fanout reached both bound queues; direct key a -> 5 only on a, "
           "key b -> 3 only on b\n");
    mw_close(c);
    return 0;
}

static int large_one(struct mw_conn *c, const char *q, size_t size, uint64_t id,
                     char *report, size_t rsz)
{
    uint8_t *buf = malloc(size);
    struct mw_delivery d;
    uint64_t sum, got_id = 0;
    struct mw_meta m;
    int rc;

    CHECK(buf != NULL, "malloc");
    mwt_body_fill(buf, size, id);
    sum = mwt_fnv1a(buf, size);
    mwt_meta(&m, q, "large", (int64_t)id, MW_KIND_DATA);
    CHECK(mw_publish(c, "", q, &m, buf, size) == MW_OK, "publish %zu", size);
    free(buf);
    CHECK(mw_flush(c) == MW_OK, "flush %zu", size);
    rc = mw_next(c, &d, 30000);
    CHECK(rc == MW_OK, "receive %zu: %s", size, mw_strerror(rc));
    CHECK(d.len == size, "length %zu, want %zu", d.len, size);
    CHECK(mwt_fnv1a(d.body, d.len) == sum &&
              mwt_body_check(d.body, d.len, &got_id) && got_id == id,
          "checksum mismatch for %zu bytes", size);
    CHECK(mw_ack(c, d.tag) == MW_OK, "ack");
    (void)snprintf(report, rsz, "%zu B fnv1a=%016" PRIx64, size, sum);
    return 0;
}

int mwt_case_large(int argc, char **argv)
{
    long s1 = mwt_opt_long(argc, argv, "--size1", 1L << 20);
    long s2 = mwt_opt_long(argc, argv, "--size2", 8L << 20);
    struct mw_conn *c = mwt_connect("mwt-large", 4, 10);
    char q[128], r1[96], r2[96];

    CHECK(c != NULL, "connect");
    CHECK(mw_declare_queue(c, "", MW_QUEUE_EXCLUSIVE, q, sizeof(q)) == MW_OK,
          "queue");
    CHECK(mw_consume(c, q) == MW_OK, "consume");
    CHECK(large_one(c, q, (size_t)s1, 1, r1, sizeof(r1)) == 0, "first");
    CHECK(large_one(c, q, (size_t)s2, 2, r2, sizeof(r2)) == 0, "second");
    printf("bodies intact: %s, %s\n", r1, r2);
    mw_close(c);
    return 0;
}

int mwt_case_confirms(int argc, char **argv)
{
    long n = mwt_opt_long(argc, argv, "--count", 5000);
    long size = mwt_opt_long(argc, argv, "--size", 16384);
    struct mw_conn *p = mwt_connect("mwt-confirms", 16, 10), *c = NULL;
    uint8_t *buf = malloc((size_t)size);
    struct mw_delivery d;
    struct mw_meta m;
    int64_t t0, dt;
    long i, got = 0;
    char q[64];
    int rc;

    CHECK(p != NULL && buf != NULL && size >= 8, "setup");
    mwt_name(q, sizeof(q), "confirms");
    CHECK(mw_declare_queue(p, q, MW_QUEUE_DURABLE, NULL, 0) == MW_OK,
          "declare");
    t0 = mwt_now_ms();
    for (i = 0; i < n; i++) {
        mwt_body_fill(buf, (size_t)size, (uint64_t)i);
        mwt_meta(&m, q, "confirms", i, MW_KIND_DATA);
        CHECK(mw_publish(p, "", q, &m, buf, (size_t)size) == MW_OK,
              "publish %ld", i);
    }
    rc = mw_flush(p);
    dt = mwt_now_ms() - t0 + 1;
    CHECK(rc == MW_OK, "mw_flush: %s", mw_strerror(rc));
    c = mwt_connect("mwt-confirms-check", 256, 10);
    CHECK(c != NULL && mw_consume(c, q) == MW_OK, "consume");
    while ((rc = mw_next(c, &d, got < n ? 10000 : 500)) == MW_OK) {
        CHECK(mw_ack(c, d.tag) == MW_OK, "ack");
        got++;
    }
    CHECK(rc == MW_ERR_TIMEOUT, "mw_next: %s", mw_strerror(rc));
    CHECK(got == n, "queue held %ld messages, want %ld", got, n);
    CHECK(mw_delete_queue(c, q) == MW_OK, "delete");
    printf("mw_flush=0 after %ld x %ld B persistent publishes, queue held "
           "exactly %ld "
           "(%.0f msg/s, %.1f MiB/s confirmed)\n",
           n, size, got, n * 1000.0 / (double)dt,
           (double)n * (double)size * 1000.0 / (double)dt / 1048576.0);
    mw_close(p);
    mw_close(c);
    free(buf);
    return 0;
}

/* Broker refusals close the channel; the handle reopens it and goes on.
 * A delivery held across that reopen gets MW_ERR_STALE and comes back. */
static int refusals(struct mw_conn *c, const char *q)
{
    uint8_t body[16] = "refusal";
    struct mw_delivery d;
    char missing[64];
    uint64_t old;
    int rc;

    mwt_name(missing, sizeof(missing), "missing");
    CHECK(mw_publish(c, missing, "k", NULL, body, sizeof(body)) == MW_OK,
          "publish");
    rc = mw_flush(c);
    CHECK(rc == MW_ERR_PROTOCOL, "publish to a missing exchange: flush %s",
          mw_strerror(rc));
    CHECK(mw_consume(c, q) == MW_OK, "consume");
    CHECK(mw_publish(c, "", q, NULL, body, sizeof(body)) == MW_OK, "publish");
    CHECK(mw_flush(c) == MW_OK, "flush after the channel came back");
    CHECK(mw_next(c, &d, 10000) == MW_OK && !d.redelivered, "first delivery");
    old = d.tag;
    rc = mw_declare_queue(c, q, MW_QUEUE_DURABLE, NULL, 0); /* inequivalent */
    CHECK(rc == MW_ERR_PROTOCOL, "conflicting declare: %s", mw_strerror(rc));
    rc = mw_ack(c, old);
    CHECK(rc == MW_ERR_STALE, "ack across the channel reset: %s",
          mw_strerror(rc));
    CHECK(mw_next(c, &d, 10000) == MW_OK && d.redelivered, "redelivery");
    CHECK(mw_ack(c, d.tag) == MW_OK, "ack of the redelivery");
    return 0;
}

int mwt_case_unroutable(int argc, char **argv)
{
    struct mw_conn *c = mwt_connect("mwt-unroutable", 16, 10);
    uint8_t body[32] = "unroutable";
    char ex[64], q[128];
    int rc;

    (void)argc;
    (void)argv;
    CHECK(c != NULL, "connect");
    mwt_name(ex, sizeof(ex), "nobind");
    CHECK(mw_declare_exchange(c, ex, MW_EXCHANGE_DIRECT) == MW_OK, "exchange");
    CHECK(mw_publish(c, ex, "nowhere", NULL, body, sizeof(body)) == MW_OK,
          "publish");
    rc = mw_flush(c);
    CHECK(rc == MW_ERR_UNROUTABLE, "mw_flush returned %s, want unroutable",
          mw_strerror(rc));
    /* The error is reported once, then the handle works normally. */
    CHECK(mw_declare_queue(c, "", MW_QUEUE_EXCLUSIVE, q, sizeof(q)) == MW_OK,
          "queue");
    CHECK(mw_publish(c, "", q, NULL, body, sizeof(body)) == MW_OK,
          "publish ok");
    rc = mw_flush(c);
    CHECK(rc == MW_OK, "flush after a routable publish: %s", mw_strerror(rc));
    /* An earlier return is also reported by the next mw_publish. */
    CHECK(mw_publish(c, ex, "nowhere", NULL, body, sizeof(body)) == MW_OK,
          "publish");
    rc = mw_flush(c);
    CHECK(rc == MW_ERR_UNROUTABLE, "second unroutable: %s", mw_strerror(rc));
    CHECK(refusals(c, q) == 0, "refusals");
    printf("publish to an exchange without bindings -> mw_flush = "
           "MW_ERR_UNROUTABLE "
           "(reported once); missing exchange / conflicting declare -> "
           "MW_ERR_PROTOCOL, channel reopened, held tag MW_ERR_STALE + "
           "redelivered\n");
    mw_close(c);
    return 0;
}

static int meta_equal(const struct mw_meta *a, const struct mw_meta *b)
{
    return strcmp(a->session, b->session) == 0 &&
           strcmp(a->stream, b->stream) == 0 &&
           strcmp(a->producer, b->producer) == 0 && a->seq == b->seq &&
           a->kind == b->kind;
}

int mwt_case_meta(int argc, char **argv)
{
    struct mw_conn *c = mwt_connect("mwt-meta", 16, 10);
    struct mw_meta m[3];
    struct mw_delivery d;
    uint8_t body[16] = "meta";
    char q[128];
    int i, rc;

    (void)argc;
    (void)argv;
    CHECK(c != NULL, "connect");
    mwt_meta(&m[0], "transactions", "gateway-1", INT64_C(1234567890123),
             MW_KIND_RESULT);
    (void)snprintf(m[0].session, sizeof(m[0].session), "%s",
                   "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
    mwt_meta(&m[1], "", "", -7, MW_KIND_CONTROL);
    mwt_meta(&m[2], "s23456789012345678901234567890123456789012345678",
             "filter-2", INT64_MAX,
             MW_KIND_DATA); /* stream truncated to 47 chars */
    CHECK(mw_declare_queue(c, "", MW_QUEUE_EXCLUSIVE, q, sizeof(q)) == MW_OK,
          "queue");
    CHECK(mw_consume(c, q) == MW_OK, "consume");
    for (i = 0; i < 3; i++)
        CHECK(mw_publish(c, "", q, &m[i], body, sizeof(body)) == MW_OK,
              "publish");
    CHECK(mw_flush(c) == MW_OK, "flush");
    for (i = 0; i < 3; i++) {
        rc = mw_next(c, &d, 10000);
        CHECK(rc == MW_OK, "receive %d: %s", i, mw_strerror(rc));
        CHECK(meta_equal(&d.meta, &m[i]),
              "message %d: got session='%s' stream='%s' producer='%s' "
              "seq=%" PRId64 " kind=%d",
              i, d.meta.session, d.meta.stream, d.meta.producer, d.meta.seq,
              (int)d.meta.kind);
        CHECK(mw_ack(c, d.tag) == MW_OK, "ack");
    }
    printf("session/stream/producer/seq/kind round-trip (incl. empty strings, "
           "negative and max seq, data/control/result)\n");
    mw_close(c);
    return 0;
}

static void on_alarm(int sig)
{
    (void)sig;
}

/* A signal during mw_next ends the wait with MW_ERR_INTERRUPTED. */
static int interrupted(struct mw_conn *c)
{
    struct sigaction sa;
    struct mw_delivery d;
    int64_t t0;
    int rc;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction");
    t0 = mwt_now_ms();
    alarm(1);
    rc = mw_next(c, &d, 10000);
    CHECK(rc == MW_ERR_INTERRUPTED && mwt_now_ms() - t0 < 3000,
          "mw_next under SIGALRM: %s after %lld ms", mw_strerror(rc),
          (long long)(mwt_now_ms() - t0));
    return 0;
}

int mwt_case_heartbeat(int argc, char **argv)
{
    long idle = mwt_opt_long(argc, argv, "--idle-ms", 8000);
    struct mw_conn *c;
    struct mw_delivery d;
    uint8_t body[16] = "after idle";
    char name[64], q[128];
    int64_t t0, slept;
    int rc;

    (void)snprintf(name, sizeof(name), "mwt-hb-%ld", (long)getpid());
    c = mwt_connect(name, 16, 2);
    CHECK(c != NULL, "connect");
    CHECK(mw_declare_queue(c, "", MW_QUEUE_EXCLUSIVE, q, sizeof(q)) == MW_OK,
          "queue");
    CHECK(mw_consume(c, q) == MW_OK, "consume");
    printf("IDLE %s\n", name);
    fflush(stdout);
    t0 = mwt_now_ms();
    rc = mw_next(c, &d, (int)idle);
    slept = mwt_now_ms() - t0;
    CHECK(rc == MW_ERR_TIMEOUT, "idle mw_next returned %s", mw_strerror(rc));
    CHECK(slept >= idle - 5 && slept < idle + 2000,
          "mw_next waited %lld ms, asked %ld", (long long)slept, idle);
    CHECK(mw_publish(c, "", q, NULL, body, sizeof(body)) == MW_OK, "publish");
    CHECK(mw_flush(c) == MW_OK, "flush after idle");
    rc = mw_next(c, &d, 5000);
    CHECK(rc == MW_OK && d.len == sizeof(body), "receive after idle: %s",
          mw_strerror(rc));
    CHECK(mw_ack(c, d.tag) == MW_OK, "ack");
    CHECK(mw_reconnects(c) == 0, "the connection was re-established %u times",
          mw_reconnects(c));
    CHECK(interrupted(c) == 0, "signal");
    printf("idle %lld ms with heartbeat 2 s, then publish/consume on the same "
           "connection, 0 reconnects; SIGALRM -> MW_ERR_INTERRUPTED\n",
           (long long)slept);
    mw_close(c);
    return 0;
}
