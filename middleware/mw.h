/*
 * mw.h - coffee-stream's one thin library over rabbitmq-c.
 *
 * This is the only module that includes <amqp.h>. A `struct mw_conn` is one
 * AMQP connection with one channel, used by one thread. It publishes with
 * publisher confirms over a window and the mandatory flag, consumes with
 * manual acks, carries the envelope metadata (struct mw_meta) in AMQP
 * headers, keeps heartbeats alive while it waits, and on a lost connection
 * reconnects with capped exponential backoff, re-declares the topology that
 * was declared through it, re-registers its consumers and republishes every
 * message that was not yet confirmed.
 *
 * The URL may be a comma-separated list of brokers (the nodes of one
 * RabbitMQ cluster): a connection starts at a random one of them, and when
 * its node is gone it reconnects to the next one in the list (one warn line
 * "failover ..."), with the same recovery as above, so the same guarantees.
 * With CS_QUEUE_TYPE=quorum the durable queues are declared as quorum
 * queues (replicated over the cluster); see enum mw_queue_type.
 *
 * With MW_COMPRESS=lz4 (off by default, see enum mw_compress), bodies of
 * 1 KiB and more are LZ4-compressed on the wire when that shrinks them: the
 * AMQP property content_encoding is "lz4", the x-raw-len header holds the
 * original length and the body is one LZ4 block. Smaller bodies (control
 * messages) stay plain, so the management UI shows them. Consumers always
 * see the original bytes: mw_next decodes "lz4" whatever this side's own
 * setting, and passes everything else through unchanged.
 *
 * Errors are negative `enum mw_err` codes, which are the middleware's range
 * of the one error space (err.h): they pass through the layers above
 * unchanged and cs_strerror() names them. Nothing here calls exit().
 */
#ifndef CS_MW_H
#define CS_MW_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MW_WARN_UNUSED __attribute__((warn_unused_result))

enum mw_err {
    MW_OK = CS_OK,
    MW_ERR_ARG = CS_ERR_ARG,            /* bad argument (e.g. malformed URL) */
    MW_ERR_CONNECT = CS_ERR_MW_CONNECT, /* broker unreachable / login refused,
                                                   retries exhausted */
    MW_ERR_CLOSED = CS_ERR_MW_CLOSED,   /* connection lost and could not be
                                                   restored */
    MW_ERR_UNROUTABLE =
        CS_ERR_MW_UNROUTABLE,           /* a mandatory publish was returned
                                                   by the broker */
    MW_ERR_NACK = CS_ERR_MW_NACK,       /* the broker nacked a publish */
    MW_ERR_TIMEOUT = CS_ERR_MW_TIMEOUT, /* nothing arrived within the timeout */
    MW_ERR_PROTOCOL = CS_ERR_MW_PROTOCOL, /* the broker refused an operation
                                                   (e.g. 404, 406; the broker's text
                                                   is logged) and closed the channel;
                                                   the handle reopened it */
    MW_ERR_NOMEM = CS_ERR_NOMEM,
    MW_ERR_INTERRUPTED =
        CS_ERR_MW_INTERRUPTED,      /* a signal arrived while waiting
                                                   (EINTR) */
    MW_ERR_STALE = CS_ERR_MW_STALE, /* delivery tag predates a reconnect:
                                                   the broker will redeliver that
                                                   message */
};

/* Static text for an error code: cs_strerror(), kept for the callers that
 * speak only to the middleware. */
const char *mw_strerror(int err);

/* What a message is, carried in the `x-kind` header as text. */
enum mw_kind {
    MW_KIND_DATA = 0,    /* a batch of rows */
    MW_KIND_CONTROL = 1, /* a control message (JSON body) */
    MW_KIND_RESULT = 2,  /* a result file or part of one */
};

/* Envelope metadata, carried in AMQP headers (x-session, x-stream,
 * x-producer, x-seq, x-kind) so the management UI shows it. Strings are
 * NUL-terminated and truncated to fit; an empty string is not sent. */
struct mw_meta {
    char session[40];  /* session UUID (36 chars) or "" */
    char stream[48];   /* table or stream name, e.g. "transactions" */
    char producer[48]; /* producer id, e.g. "gateway-1", "filter-2" */
    int64_t seq;       /* sequence number within (session, stream, producer) */
    enum mw_kind kind;
};

/* The broker every program uses when AMQP_URL is not set. */
#define MW_DEFAULT_URL "amqp://guest:guest@127.0.0.1:5672/"

enum mw_exchange_type {
    MW_EXCHANGE_DIRECT,
    MW_EXCHANGE_FANOUT,
    MW_EXCHANGE_TOPIC
};

/* Compression of published bodies. Decoding does not depend on it. */
enum mw_compress {
    MW_COMPRESS_ENV = 0, /* from the environment: MW_COMPRESS=lz4|off,
                            unset or empty: off (measured slower on the
                            benchmark machine); any other value makes
                            mw_connect fail with MW_ERR_ARG (logged) */
    MW_COMPRESS_LZ4 = 1, /* LZ4 bodies >= 1 KiB when it shrinks them */
    MW_COMPRESS_OFF = 2, /* publish every body as is */
};

/* The type of the durable queues (MW_QUEUE_DURABLE) declared through a
 * connection; exclusive queues are always classic. A queue that exists
 * with the other type cannot be declared (the broker refuses it,
 * PRECONDITION_FAILED): this is a per-deployment setting, the same for
 * every process, and switching it means deleting the queues first. */
enum mw_queue_type {
    MW_QUEUE_TYPE_ENV = 0,     /* from the environment: CS_QUEUE_TYPE=classic|
                              quorum, unset or empty: classic; any other
                              value makes mw_connect fail with MW_ERR_ARG
                              (logged) */
    MW_QUEUE_TYPE_CLASSIC = 1, /* classic durable queues (one node) */
    MW_QUEUE_TYPE_QUORUM = 2,  /* x-queue-type=quorum: replicated (Raft)
                                  over the cluster's nodes */
};

/* Most brokers one URL list may name. */
#define MW_MAX_ADDRS 16

struct mw_options {
    const char *url;        /* amqp://user:pass@host:port/vhost (borrowed:
                                 read by mw_connect only), or a
                                 comma-separated list of up to MW_MAX_ADDRS
                                 of them (a cluster's nodes). An empty vhost
                                 ("...:5672/") means "/". amqps is not
                                 supported (MW_ERR_ARG). */
    const char *name;       /* connection name shown in the management UI */
    int heartbeat_s;        /* 0: default 10 */
    int connect_timeout_ms; /* 0: default 5000 */
    int confirm_window;     /* unconfirmed publishes allowed; 0: default 256 */
    uint16_t prefetch;      /* basic.qos prefetch count per consumer (so at
                                 most prefetch x consumers deliveries are
                                 buffered); 0: default 16 */
    int reconnect_max_ms; /* cap of the exponential backoff; 0: default 5000 */
    int reconnect_tries;  /* attempts per outage before MW_ERR_CLOSED, each
                            a round over every address of the list (the
                            backoff is slept between rounds); 0: default 30 */
    void (*on_wait)(void *arg); /* called at least every 250 ms while the
                                   library waits between reconnect attempts
                                   (e.g. to keep sending heartbeats to the
                                   monitors: retrying is not hanging); NULL:
                                   none */
    void *on_wait_arg;
    enum mw_compress compress;     /* 0 (MW_COMPRESS_ENV): from MW_COMPRESS */
    enum mw_queue_type queue_type; /* 0 (MW_QUEUE_TYPE_ENV): from
                                      CS_QUEUE_TYPE */
};

struct mw_conn;

/* Connects (retrying with backoff up to reconnect_tries) and opens the
 * channel with confirms enabled. Returns NULL and sets *err on failure:
 * MW_ERR_ARG (bad options/URL), MW_ERR_CONNECT (unreachable, or login
 * refused: not retried), MW_ERR_INTERRUPTED, MW_ERR_NOMEM. */
struct mw_conn *mw_connect(const struct mw_options *opt, int *err);

/* Flushes pending confirms (best effort: waits up to 5 s, does not
 * reconnect; call mw_flush first when it matters), closes channel and
 * connection and frees everything. NULL is a no-op. */
void mw_close(struct mw_conn *c);

/* ---- topology (remembered and re-declared after a reconnect) ----
 * These return 0, MW_ERR_ARG (e.g. a name over 255 bytes), MW_ERR_PROTOCOL
 * (refused, e.g. redeclared with other properties: not remembered),
 * MW_ERR_CLOSED or MW_ERR_INTERRUPTED (while reconnecting). A lost
 * connection during the call is restored and the call retried. */

/* Declares a durable exchange. */
int mw_declare_exchange(struct mw_conn *c, const char *name,
                        enum mw_exchange_type type) MW_WARN_UNUSED;

enum mw_queue_flags {
    MW_QUEUE_DURABLE = 0,        /* durable, shared work queue (default) */
    MW_QUEUE_EXCLUSIVE = 1 << 0, /* exclusive: dies with this connection
                                    (re-declared, empty, after a reconnect) */
};

/* Declares a queue. `name` may be "" with MW_QUEUE_EXCLUSIVE for a
 * generated unique name ("mw.excl.<conn name>.<pid>.<ms>.<n>", made here
 * rather than by the server so it survives reconnects); the actual name is
 * written to out_name (size outsz, 256 always fits) when out_name is not
 * NULL. */
int mw_declare_queue(struct mw_conn *c, const char *name, int flags,
                     char *out_name, size_t outsz) MW_WARN_UNUSED;

int mw_bind(struct mw_conn *c, const char *queue, const char *exchange,
            const char *routing_key) MW_WARN_UNUSED;

/* Deletes a queue (and forgets it for re-declaration). Missing is not an error. */
int mw_delete_queue(struct mw_conn *c, const char *queue) MW_WARN_UNUSED;

/* Messages ready in a queue and consumers attached to it (a passive
 * declare: nothing is created). MW_ERR_PROTOCOL when the queue does not
 * exist (the channel is reopened). */
int mw_queue_stat(struct mw_conn *c, const char *queue, uint32_t *messages,
                  uint32_t *consumers) MW_WARN_UNUSED;

/* ---- publishing ---- */

/* Publishes one message, persistent and mandatory, to `exchange` ("" is
 * the default exchange) with `routing_key`; meta may be NULL (all
 * defaults). The body is copied, so it may be reused on return. When
 * `confirm_window` publishes are unconfirmed this waits for confirms first
 * (keeping heartbeats and buffering deliveries that arrive meanwhile).
 * Returns 0, or an error for this or an earlier publish since the last
 * report (e.g. MW_ERR_UNROUTABLE when an earlier message was returned,
 * MW_ERR_PROTOCOL when the broker closed the channel, e.g. publish to a
 * missing exchange, which fails every then-unconfirmed publish). Such an
 * earlier-publish error is reported once, by mw_publish or mw_flush, and
 * this message was accepted anyway. MW_ERR_ARG, MW_ERR_INTERRUPTED and
 * MW_ERR_NOMEM mean this message was not accepted; MW_ERR_CLOSED that the
 * connection is gone for good. An accepted message is delivered at least
 * once: after a reconnect unconfirmed ones are republished. */
int mw_publish(struct mw_conn *c, const char *exchange, const char *routing_key,
               const struct mw_meta *meta, const void *body,
               size_t len) MW_WARN_UNUSED;

/* Waits until every publish so far is confirmed (reconnecting and
 * republishing if needed). Returns 0 when all were acked and routed;
 * MW_ERR_UNROUTABLE / MW_ERR_NACK / MW_ERR_PROTOCOL if any since the last
 * report was returned, nacked or dropped with a closed channel (the error
 * is then cleared); MW_ERR_INTERRUPTED (call again) or MW_ERR_CLOSED. */
int mw_flush(struct mw_conn *c) MW_WARN_UNUSED;

/* Frees the memory kept to copy the next publishes into (the buffers of
 * confirmed ones), for a connection about to sit idle; unconfirmed
 * publishes are kept. The next publishes allocate again. NULL: no-op. */
void mw_trim(struct mw_conn *c);

/* ---- consuming ---- */

/* Starts consuming `queue` with manual acks; the consumer tag is the queue
 * name. Several queues may be consumed on one connection; consuming the
 * same queue twice is MW_ERR_ARG. Re-registered after a reconnect. */
int mw_consume(struct mw_conn *c, const char *queue) MW_WARN_UNUSED;

/* Stops consuming `queue` (deliveries already buffered are still returned). */
int mw_cancel(struct mw_conn *c, const char *queue) MW_WARN_UNUSED;

struct mw_delivery {
    const char *queue; /* queue it came from; valid until the next mw_next */
    struct mw_meta meta;
    const uint8_t *body; /* the original bytes (decoded if it came as
                            LZ4); valid until the next mw_next / mw_close */
    size_t len;
    uint64_t tag; /* pass to mw_ack / mw_nack */
    bool redelivered;
};

/* Waits up to timeout_ms (-1: forever, 0: poll) for the next delivery.
 * Returns 0 and fills *d, MW_ERR_TIMEOUT when none arrived, or another
 * error. Heartbeats and publisher confirms are processed while waiting.
 * Returns MW_ERR_INTERRUPTED if a signal interrupted the wait, so a caller
 * can check its stop flag (a signal that lands while the library is not
 * waiting is only seen at the next wait: prefer a finite timeout).
 * A lost connection is restored inside the call, which may then block
 * longer than timeout_ms (bounded by the backoff policy); deliveries
 * buffered from the lost channel are dropped (the broker redelivers them)
 * and MW_ERR_CLOSED is returned once reconnect_tries are exhausted.
 * A poison message, one that says "lz4" but does not decode (corrupt
 * block, x-raw-len missing, wrong, or over 256 MiB), is never handed out:
 * it is logged (error, with queue, session, stream, producer, seq) and
 * rejected without requeue (basic.nack: dropped, or dead-lettered where the
 * queue has a dead-letter exchange), like the callers drop the malformed
 * messages they cannot decode, and mw_next goes on with the next one.
 * MW_ERR_NOMEM when decoding found no memory (the delivery is requeued). */
int mw_next(struct mw_conn *c, struct mw_delivery *d,
            int timeout_ms) MW_WARN_UNUSED;

/* Acknowledges a delivery. A tag from before a reconnect (or a channel
 * reset after MW_ERR_PROTOCOL) is not sent and MW_ERR_STALE is returned:
 * the broker will redeliver that message, so the caller must not count it
 * as done. MW_ERR_CLOSED once the connection is gone for good. */
int mw_ack(struct mw_conn *c, uint64_t tag) MW_WARN_UNUSED;

/* Rejects a delivery, requeueing it or not (dead-letter/drop). */
int mw_nack(struct mw_conn *c, uint64_t tag, bool requeue) MW_WARN_UNUSED;

/* Changes reconnect_tries (see mw_options; 0 or less: the default) for the
 * next outages, e.g. a connection that waits idle in a pool fails fast and
 * the one a session took rides an outage out. NULL: no-op. */
void mw_set_reconnect_tries(struct mw_conn *c, int tries);

/* How many times this connection has reconnected (for logs and tests). */
unsigned mw_reconnects(const struct mw_conn *c);

/* The connection's name (mw_options.name; valid until mw_close), "" for
 * NULL. */
const char *mw_name(const struct mw_conn *c);

/* Bytes through the codec since mw_connect (for logs, tests, benchmarks).
 * mw_close logs them at info level when anything was compressed or
 * decoded. */
struct mw_stats {
    uint64_t pub_msgs, pub_raw, pub_wire; /* accepted by mw_publish: original
                                             bytes, bytes on the wire */
    uint64_t pub_lz4;                     /* of which compressed */
    uint64_t got_msgs, got_raw, got_wire; /* handed out by mw_next */
    uint64_t got_lz4;                     /* of which decoded */
    uint64_t poison;                      /* undecodable, rejected */
};

/* Copies the counters into *s (zeroes for NULL c). */
void mw_get_stats(const struct mw_conn *c, struct mw_stats *s);

#endif
