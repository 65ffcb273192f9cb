/*
 * mwt_lz4.c - the LZ4 compression of message bodies, end to end: what the
 * consumer gets back (byte-identical), what the broker holds (looked at by
 * a bare rabbitmq-c client, mwt_raw.c), mixed settings, poison messages
 * from a foreign publisher and republishing after a lost connection.
 */
#include <inttypes.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>

#include "mw_internal.h" /* the republish case drops the link itself */
#include "mwt.h"
#include "mwt_lz4.h"

uint8_t *mwt_csv_fill(uint8_t *b, size_t len, uint64_t seed)
{
    static const char *const stores[] = {"Coffee Shop Centro",
                                         "Coffee Shop Norte", "Coffee Shop Sur",
                                         "Coffee Shop Oeste"};
    char row[160];
    size_t off = 0, n;
    uint64_t x = seed * 2654435761u + 1;
    int k;

    while (off < len) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        k = snprintf(row, sizeof(row),
                     "%08" PRIu64 "-%04x-4a1b-9c2d-%012" PRIx64 ",%s,%u,%u,"
                     "%.2f,2024-%02u-%02u %02u:%02u:%02u\n",
                     x >> 40, (unsigned)(x >> 16) & 0xffff, x & 0xffffffffffu,
                     stores[(x >> 33) % 4], (unsigned)(x >> 20) % 9 + 1,
                     (unsigned)(x >> 8) % 90000,
                     (double)((x >> 24) % 20000) / 100,
                     (unsigned)(x >> 5) % 12 + 1, (unsigned)(x >> 11) % 28 + 1,
                     (unsigned)(x >> 17) % 24, (unsigned)(x >> 23) % 60,
                     (unsigned)(x >> 29) % 60);
        n = (size_t)k < len - off ? (size_t)k : len - off;
        memcpy(b + off, row, n);
        off += n;
    }
    return b;
}

static struct mw_conn *connect_as(const char *name, enum mw_compress how)
{
    struct mw_options o;
    int err;
    struct mw_conn *c;

    memset(&o, 0, sizeof(o));
    o.url = getenv("AMQP_URL");
    o.name = name;
    o.prefetch = 16;
    o.reconnect_max_ms = 1000;
    o.reconnect_tries = 60;
    o.compress = how;
    c = o.url != NULL ? mw_connect(&o, &err) : NULL;
    if (c == NULL)
        printf("FAIL: connect %s\n", name);
    return c;
}

/* ---- round trip, wire format, mixed settings ---- */

struct lz4_body {
    size_t size;
    bool text; /* CSV (compressible) or random */
    bool zip;  /* expected compressed by a producer with lz4 on */
};

static const struct lz4_body bodies[] = {
    {512, true, false},     /* below the threshold: plain */
    {1024, true, true},     /* at the threshold */
    {65536, true, true},    /* a gateway batch */
    {65536, false, false},  /* incompressible: plain */
    {8u << 20, true, true}, /* large */
};
#define NBODIES (sizeof(bodies) / sizeof(bodies[0]))

static uint8_t *make_body(unsigned i, uint8_t *buf)
{
    if (bodies[i].text)
        return mwt_csv_fill(buf, bodies[i].size, i);
    mwt_body_fill(buf, bodies[i].size, i);
    return buf;
}

/* Each producer sends every body to both queues, seq = 10 * producer + i. */
static int lz4_publish(struct mw_conn *p, int who, const char *qm,
                       const char *qr, uint8_t *buf)
{
    struct mw_meta m;
    unsigned i;

    for (i = 0; i < NBODIES; i++) {
        make_body(i, buf);
        mwt_meta(&m, "lz4", who ? "off" : "on", 10 * who + (int)i,
                 MW_KIND_DATA);
        CHECK(mw_publish(p, "", qm, &m, buf, bodies[i].size) == MW_OK,
              "publish");
        CHECK(mw_publish(p, "", qr, &m, buf, bodies[i].size) == MW_OK,
              "publish");
    }
    CHECK(mw_flush(p) == MW_OK, "flush");
    return 0;
}

/* Through the middleware: every body back byte for byte. */
static int lz4_check_consumer(struct mw_conn *c, uint8_t *buf)
{
    struct mw_delivery d;
    unsigned i, got = 0;

    while (got < 2 * NBODIES) {
        CHECK(mw_next(c, &d, 10000) == MW_OK, "mw_next after %u", got);
        i = (unsigned)(d.meta.seq % 10);
        CHECK(i < NBODIES && d.len == bodies[i].size &&
                  memcmp(d.body, make_body(i, buf), d.len) == 0,
              "seq %" PRId64 ": body differs (len %zu)", d.meta.seq, d.len);
        CHECK(mw_ack(c, d.tag) == MW_OK, "ack");
        got++;
    }
    CHECK(mw_next(c, &d, 300) == MW_ERR_TIMEOUT, "an extra message arrived");
    return 0;
}

/* On the broker: compressed exactly when expected, x-raw-len right. */
static int lz4_check_wire(struct mwt_raw *r, const char *qr, size_t *zip_wire)
{
    struct mwt_wire w;
    unsigned i, got = 0;
    bool zip;
    int rc;

    while ((rc = mwt_raw_get(r, qr, &w)) == 1) {
        i = (unsigned)(w.seq % 10);
        zip = w.seq < 10 && bodies[i].zip;
        CHECK(i < NBODIES, "seq %" PRId64, w.seq);
        CHECK(strcmp(w.encoding, zip ? "lz4" : "") == 0 &&
                  w.raw_len == (zip ? (int64_t)bodies[i].size : -1) &&
                  (zip ? w.len < bodies[i].size : w.len == bodies[i].size),
              "seq %" PRId64 " (%zu B): encoding '%s' x-raw-len %" PRId64
              " wire %zu B",
              w.seq, bodies[i].size, w.encoding, w.raw_len, w.len);
        if (zip && i == 2)
            *zip_wire = w.len;
        free(w.body);
        got++;
    }
    CHECK(rc == 0 && got == 2 * NBODIES, "raw get: %u messages", got);
    return 0;
}

int mwt_case_lz4(int argc, char **argv)
{
    struct mw_conn *on = connect_as("mwt-lz4-on", MW_COMPRESS_LZ4);
    struct mw_conn *off = connect_as("mwt-lz4-off", MW_COMPRESS_OFF);
    struct mwt_raw *r = mwt_raw_open();
    uint8_t *buf = malloc(8u << 20);
    char qm[64], qr[64];
    size_t batch_wire = 0;
    struct mw_stats s;

    (void)argc;
    (void)argv;
    CHECK(on != NULL && off != NULL && r != NULL && buf != NULL, "setup");
    mwt_name(qm, sizeof(qm), "lz4m");
    mwt_name(qr, sizeof(qr), "lz4r");
    CHECK(mw_declare_queue(on, qm, MW_QUEUE_DURABLE, NULL, 0) == MW_OK &&
              mw_declare_queue(on, qr, MW_QUEUE_DURABLE, NULL, 0) == MW_OK,
          "declare");
    CHECK(lz4_publish(on, 0, qm, qr, buf) == 0 &&
              lz4_publish(off, 1, qm, qr, buf) == 0,
          "publish");
    /* The consumer has compression off: decoding must not depend on it. */
    CHECK(mw_consume(off, qm) == MW_OK, "consume");
    CHECK(lz4_check_consumer(off, buf) == 0, "consumer");
    CHECK(lz4_check_wire(r, qr, &batch_wire) == 0, "wire");
    mw_get_stats(on, &s);
    CHECK(mw_delete_queue(on, qm) == MW_OK && mw_delete_queue(on, qr) == MW_OK,
          "delete");
    printf(
        "byte-identical through lz4-on and -off producers to an -off consumer; "
        "on the wire lz4 only for text >= 1 KiB; RATIO csv 64 KiB %zu -> %zu B "
        "(%.2fx), lz4 producer overall %.2fx\n",
        bodies[2].size, batch_wire, (double)bodies[2].size / (double)batch_wire,
        (double)s.pub_raw / (double)s.pub_wire);
    mwt_raw_close(r);
    mw_close(on);
    mw_close(off);
    free(buf);
    return 0;
}

/* ---- poison messages from a foreign publisher ---- */

int mwt_case_lz4_poison(int argc, char **argv)
{
    struct mw_conn *c = connect_as("mwt-lz4-poison", MW_COMPRESS_LZ4);
    struct mwt_raw *r = mwt_raw_open();
    enum {
        RAW = 65536
    };
    uint8_t *text = malloc(RAW), *z = malloc(LZ4_compressBound(RAW)),
            junk[2000];
    struct mw_delivery d;
    struct mw_stats s;
    uint32_t ready = 1, consumers;
    char q[64];
    int zn;

    (void)argc;
    (void)argv;
    CHECK(c != NULL && r != NULL && text != NULL && z != NULL, "setup");
    mwt_name(q, sizeof(q), "lz4p");
    CHECK(mw_declare_queue(c, q, MW_QUEUE_DURABLE, NULL, 0) == MW_OK,
          "declare");
    mwt_csv_fill(text, RAW, 7);
    zn = LZ4_compress_default((const char *)text, (char *)z, RAW,
                              LZ4_compressBound(RAW));
    memset(junk, 0xff, sizeof(junk));
    CHECK(zn > 0 &&
              mwt_raw_publish(r, q, junk, sizeof(junk), "lz4", 100000) == 0 &&
              mwt_raw_publish(r, q, z, (size_t)zn, "lz4", -1) == 0 &&
              mwt_raw_publish(r, q, z, (size_t)zn, "lz4", INT64_C(1) << 30) ==
                  0 &&
              mwt_raw_publish(r, q, z, (size_t)zn / 2, "lz4", RAW) == 0 &&
              mwt_raw_publish(r, q, z, (size_t)zn, "lz4", RAW + 1) == 0 &&
              mwt_raw_publish(r, q, z, (size_t)zn, "lz4", RAW) == 0 &&
              mwt_raw_publish(r, q, "after", 5, NULL, -1) == 0,
          "raw publish");
    CHECK(mw_consume(c, q) == MW_OK, "consume");
    /* Five poison messages are skipped; the good foreign one decodes. */
    CHECK(mw_next(c, &d, 10000) == MW_OK && d.len == RAW &&
              memcmp(d.body, text, RAW) == 0,
          "the valid lz4 message (len %zu)", d.len);
    CHECK(mw_ack(c, d.tag) == MW_OK, "ack");
    CHECK(mw_next(c, &d, 10000) == MW_OK && d.len == 5 &&
              memcmp(d.body, "after", 5) == 0,
          "the plain message after the poison");
    CHECK(mw_ack(c, d.tag) == MW_OK, "ack");
    CHECK(mw_next(c, &d, 300) == MW_ERR_TIMEOUT,
          "a poison message was handed out");
    mw_get_stats(c, &s);
    CHECK(s.poison == 5, "poison counted %" PRIu64 ", want 5", s.poison);
    /* Rejected, not left unacked: nothing comes back once we stop. */
    CHECK(mw_cancel(c, q) == MW_OK, "cancel");
    mw_close(c);
    c = connect_as("mwt-lz4-poison-2", MW_COMPRESS_LZ4);
    CHECK(c != NULL && mw_queue_stat(c, q, &ready, &consumers) == MW_OK &&
              ready == 0,
          "%u messages left in the queue", ready);
    CHECK(mw_delete_queue(c, q) == MW_OK, "delete");
    printf("5 undecodable lz4 bodies (corrupt, no x-raw-len, 1 GiB x-raw-len, "
           "truncated, wrong x-raw-len) logged and rejected, none handed out; "
           "a foreign valid lz4 body and a plain one delivered intact\n");
    mwt_raw_close(r);
    mw_close(c);
    free(text);
    free(z);
    return 0;
}

/* ---- republish after a lost connection ---- */

/* Every message on the wire: lz4 with the right x-raw-len, decoding to its
 * body, copies of one seq byte-identical. Returns how many duplicates. */
static int republish_check_wire(struct mwt_raw *r, const char *q, long n,
                                long *dups, uint8_t *buf)
{
    enum {
        SZ = 65536
    };
    uint8_t **first = calloc((size_t)n, sizeof(*first));
    size_t *flen = calloc((size_t)n, sizeof(*flen));
    uint8_t *dec = malloc(SZ);
    struct mwt_wire w;
    long seen = 0, i;
    int rc;

    CHECK(first != NULL && flen != NULL && dec != NULL, "alloc");
    while ((rc = mwt_raw_get(r, q, &w)) == 1) {
        CHECK(w.seq >= 0 && w.seq < n && strcmp(w.encoding, "lz4") == 0 &&
                  w.raw_len == SZ,
              "seq %" PRId64 ": encoding '%s' x-raw-len %" PRId64, w.seq,
              w.encoding, w.raw_len);
        CHECK(LZ4_decompress_safe((const char *)w.body, (char *)dec, (int)w.len,
                                  SZ) == SZ &&
                  memcmp(dec, mwt_csv_fill(buf, SZ, (uint64_t)w.seq), SZ) == 0,
              "seq %" PRId64 ": does not decode to its body", w.seq);
        if (first[w.seq] != NULL) {
            CHECK(flen[w.seq] == w.len &&
                      memcmp(first[w.seq], w.body, w.len) == 0,
                  "seq %" PRId64 ": republished copy differs", w.seq);
            (*dups)++;
            free(w.body);
        } else {
            first[w.seq] = w.body;
            flen[w.seq] = w.len;
            seen++;
        }
    }
    CHECK(rc == 0 && seen == n, "%ld of %ld seqs on the wire", seen, n);
    for (i = 0; i < n; i++)
        free(first[i]);
    free(first);
    free(flen);
    free(dec);
    return 0;
}

/* Through the middleware: every seq, decoded. */
static int republish_check_consumer(struct mw_conn *c, long n, uint8_t *buf)
{
    struct mw_delivery d;
    char *seen = calloc((size_t)n, 1);
    long distinct = 0;
    int rc;

    CHECK(seen != NULL, "alloc");
    while ((rc = mw_next(c, &d, 2000)) == MW_OK) {
        CHECK(d.meta.seq >= 0 && d.meta.seq < n && d.len == 65536 &&
                  memcmp(d.body, mwt_csv_fill(buf, 65536, (uint64_t)d.meta.seq),
                         65536) == 0,
              "seq %" PRId64 ": body differs", d.meta.seq);
        if (!seen[d.meta.seq]++)
            distinct++;
        CHECK(mw_ack(c, d.tag) == MW_OK, "ack");
    }
    CHECK(rc == MW_ERR_TIMEOUT && distinct == n, "consumer got %ld of %ld (%s)",
          distinct, n, mw_strerror(rc));
    free(seen);
    return 0;
}

int mwt_case_lz4_republish(int argc, char **argv)
{
    long n = mwt_opt_long(argc, argv, "--count", 400), i, dups = 0;
    struct mw_conn *p = connect_as("mwt-lz4-rep-p", MW_COMPRESS_LZ4);
    struct mw_conn *c = connect_as("mwt-lz4-rep-c", MW_COMPRESS_OFF);
    struct mwt_raw *r = mwt_raw_open();
    uint8_t *buf = malloc(65536);
    unsigned unconfirmed = 0;
    char ex[64], qa[64], qb[64];
    struct mw_meta m;

    CHECK(p != NULL && c != NULL && r != NULL && buf != NULL && n > 2, "setup");
    mwt_name(ex, sizeof(ex), "lz4x");
    mwt_name(qa, sizeof(qa), "lz4a");
    mwt_name(qb, sizeof(qb), "lz4b");
    CHECK(mw_declare_exchange(p, ex, MW_EXCHANGE_FANOUT) == MW_OK &&
              mw_declare_queue(p, qa, MW_QUEUE_DURABLE, NULL, 0) == MW_OK &&
              mw_declare_queue(p, qb, MW_QUEUE_DURABLE, NULL, 0) == MW_OK &&
              mw_bind(p, qa, ex, "") == MW_OK &&
              mw_bind(p, qb, ex, "") == MW_OK,
          "topology");
    for (i = 0; i < n; i++) {
        mwt_meta(&m, "lz4", "rep", i, MW_KIND_DATA);
        CHECK(mw_publish(p, ex, "", &m, mwt_csv_fill(buf, 65536, (uint64_t)i),
                         65536) == MW_OK,
              "publish %ld", i);
        /* Past the middle, with publishes unconfirmed: cut the link the
         * way a dead socket does; the next publish reconnects and
         * republishes them. */
        if (i >= n / 2 && unconfirmed == 0 && mw_ring_count(&p->ring) > 0) {
            unconfirmed = mw_ring_count(&p->ring);
            mw_set_why(p, "test: simulated loss");
            mw_conn_lost(p);
        }
    }
    CHECK(mw_flush(p) == MW_OK, "flush");
    CHECK(unconfirmed > 0 && mw_reconnects(p) == 1,
          "no loss with unconfirmed "
          "publishes (unconfirmed %u, reconnects %u)",
          unconfirmed, mw_reconnects(p));
    CHECK(republish_check_wire(r, qa, n, &dups, buf) == 0, "wire");
    CHECK(mw_consume(c, qb) == MW_OK, "consume");
    CHECK(republish_check_consumer(c, n, buf) == 0, "consumer");
    CHECK(mw_delete_queue(p, qa) == MW_OK && mw_delete_queue(p, qb) == MW_OK,
          "delete");
    printf("%ld x 64 KiB csv, link cut with %u unconfirmed: republished as lz4 "
           "with the same x-raw-len and bytes (%ld duplicates byte-identical), "
           "all decode\n",
           n, unconfirmed, dups);
    mwt_raw_close(r);
    mw_close(p);
    mw_close(c);
    free(buf);
    return 0;
}
