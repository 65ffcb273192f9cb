/*
 * mw_internal.h - private to middleware/: the connection handle and the
 * helpers the mw_*.c files share. Nothing outside middleware/ (except its
 * unit tests) includes this file, because it pulls in <amqp.h>.
 *
 * Internal functions return the public `enum mw_err` codes plus
 * MW_ERR_LOST, which means "the connection is gone": only the public entry
 * points react to it (mark the connection down, then recover), so recovery
 * never recurses into itself.
 */
#ifndef CS_MW_INTERNAL_H
#define CS_MW_INTERNAL_H

#include <amqp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mw.h"

/* Internal only: never returned by a public function. */
#define MW_ERR_LOST CS_ERR_MW_LOST       /* the connection is gone: reconnect */
#define MW_ERR_REFUSED CS_ERR_MW_REFUSED /* login refused: do not retry */

#define MW_SHORTSTR 256          /* AMQP short string (255) + NUL */
#define MW_BIG_BUF (1u << 20)    /* buffers above this are not kept */
#define MW_MAX_BODY (512u << 20) /* RabbitMQ's hard message size limit */
#define MW_META_ENTRIES 5
#define MW_TAG_BITS 48 /* low bits of a tag: broker's tag */
#define MW_TAG_MASK ((UINT64_C(1) << MW_TAG_BITS) - 1)
#define MW_ZIP_MIN 1024         /* bodies below this are sent plain */
#define MW_RAW_MAX (256u << 20) /* largest body compressed or decoded */
#define MW_NACK_RETRY_MS 30000  /* how long quorum-queue nacks are retried */
#define MW_NACK_PAUSE_MS 200    /* pause before publishing nacked ones again */

/* ---- growable byte buffers (mw_fifo.c) ---- */

/* Makes *buf hold at least `need` bytes. A buffer larger than MW_BIG_BUF is
 * freed when a small message comes along, so one huge message does not pin
 * memory forever. Contents are not preserved. Returns 0 or MW_ERR_NOMEM. */
int mw_buf_reserve(uint8_t **buf, size_t *cap, size_t need);

/* ---- unconfirmed publishes (mw_ring.c, no I/O) ---- */

struct mw_pending {
    char exchange[MW_SHORTSTR];
    char key[MW_SHORTSTR];
    struct mw_meta meta;
    uint8_t *body;
    size_t len, cap;
    size_t raw_len; /* 0: body is plain; else body is LZ4 of raw_len bytes */
    uint64_t seq;   /* publish sequence number on the current channel */
    bool done;      /* confirmed (acked or nacked) but not at the head yet */
};

/* Slots in publish order; seq numbers are consecutive from the head. */
struct mw_ring {
    struct mw_pending *slot;
    unsigned cap, head, count;
    uint64_t next_seq; /* seq the next push gets; 1 after confirm.select */
};

int mw_ring_init(struct mw_ring *r, unsigned cap);
void mw_ring_fini(struct mw_ring *r);
/* Forgets every pending message and restarts numbering at 1. */
void mw_ring_reset(struct mw_ring *r);
/* Frees the body buffers of the free slots (kept for reuse otherwise). */
void mw_ring_trim(struct mw_ring *r);
bool mw_ring_full(const struct mw_ring *r);
unsigned mw_ring_count(const struct mw_ring *r);
/* i-th pending message from the oldest (i < count). */
struct mw_pending *mw_ring_at(struct mw_ring *r, unsigned i);
/* Copies a message into the next slot and numbers it, as a plain body
 * (raw_len 0: the caller sets raw_len when `body` is compressed). Strings
 * must fit MW_SHORTSTR (checked by the caller). Returns 0, MW_ERR_ARG when
 * full, or MW_ERR_NOMEM. */
int mw_ring_push(struct mw_ring *r, const char *exchange, const char *key,
                 const struct mw_meta *meta, const void *body, size_t len,
                 struct mw_pending **out);
/* Applies a basic.ack/nack: `tag` alone, or every seq <= tag when
 * `multiple` (tag 0 + multiple: everything). Returns how many messages
 * became confirmed. */
unsigned mw_ring_confirm(struct mw_ring *r, uint64_t tag, bool multiple);
/* Drops confirmed slots, renumbers the rest 1..n in order for a new
 * channel and returns n. */
unsigned mw_ring_renumber(struct mw_ring *r);

/* ---- buffered deliveries (mw_fifo.c, no I/O) ---- */

struct mw_msg {
    char queue[MW_SHORTSTR];
    struct mw_meta meta;
    uint8_t *body;
    size_t len, cap;
    uint64_t tag; /* generation << MW_TAG_BITS | broker delivery tag */
    bool redelivered;
    bool lz4;        /* content_encoding "lz4": body is compressed */
    int64_t raw_len; /* its x-raw-len header, -1 when missing or odd */
};

struct mw_fifo {
    struct mw_msg *v;
    unsigned cap, head, count;
    bool reserved; /* a slot is being filled by the frame reader */
};

int mw_fifo_init(struct mw_fifo *q, unsigned cap);
void mw_fifo_fini(struct mw_fifo *q);
/* Slot after the last one, not yet counted (grows the array when full).
 * Valid until the next reserve or clear. NULL: out of memory. */
struct mw_msg *mw_fifo_reserve(struct mw_fifo *q);
void mw_fifo_commit(struct mw_fifo *q);
/* Moves the oldest message into *out by swapping buffers (no copy): the
 * slot keeps *out's old buffer for reuse. Requires count > 0. */
void mw_fifo_pop_swap(struct mw_fifo *q, struct mw_msg *out);
void mw_fifo_clear(struct mw_fifo *q);

/* ---- envelope headers (mw_meta.c, no I/O) ---- */

/* Fills `ent` (pointing into *m, which must outlive *out) and *out. */
void mw_meta_encode(const struct mw_meta *m,
                    amqp_table_entry_t ent[MW_META_ENTRIES], amqp_table_t *out);
/* Parses what it recognises; anything missing or odd keeps its default. */
void mw_meta_decode(const amqp_table_t *t, struct mw_meta *m);
const char *mw_kind_name(enum mw_kind k);
/* The x-raw-len header (any integer kind), or -1 when missing or not an
 * integer. */
int64_t mw_meta_raw_len(const amqp_table_t *t);

/* ---- LZ4 bodies (mw_codec.c) ----
 * On the wire a compressed body is one LZ4 block with content_encoding
 * "lz4" and the original length in the x-raw-len header. */

/* Parses MW_COMPRESS ("lz4", "off"; NULL or "": off). 0 or MW_ERR_ARG. */
int mw_codec_parse(const char *s, bool *on);
/* What to send for `body`: LZ4 in c->zbuf when compression is on, len >=
 * MW_ZIP_MIN and it shrinks (*raw_len = len), else `body` itself
 * (*raw_len = 0). *out is valid until the next call. 0 or MW_ERR_NOMEM. */
int mw_codec_pack(struct mw_conn *c, const void *body, size_t len,
                  const uint8_t **out, size_t *outlen, size_t *raw_len);
/* The original bytes of c->cur: decoded into c->rawbuf when it is LZ4,
 * else its body. 0, 1 (undecodable: a poison message; *why says why) or
 * MW_ERR_NOMEM. *body is valid until the next call. */
int mw_codec_unpack(struct mw_conn *c, const uint8_t **body, size_t *len,
                    const char **why);

/* ---- the connection ---- */

enum mw_in_state {
    MW_IN_IDLE,
    MW_IN_DELIVER_HEADER,
    MW_IN_DELIVER_BODY,
    MW_IN_RETURN_HEADER,
    MW_IN_RETURN_BODY,
};

/* A message being assembled from method + header + body frames. */
struct mw_incoming {
    enum mw_in_state st;
    struct mw_msg *msg; /* reserved FIFO slot while delivering */
    uint64_t size, got;
};

enum mw_topo_kind {
    MW_TOPO_EXCHANGE,
    MW_TOPO_QUEUE,
    MW_TOPO_BIND
};

/* One declaration, replayed in order after a reconnect. */
struct mw_topo {
    enum mw_topo_kind kind;
    int arg; /* exchange type or queue flags */
    char a[MW_SHORTSTR], b[MW_SHORTSTR], c[MW_SHORTSTR];
};

/* One broker of the URL list (mw_addr.c). */
struct mw_addr {
    char *buf; /* parsed copy of its URL; `info` points into it */
    struct amqp_connection_info info;
    char masked[256]; /* the URL with its password masked, for logs */
};

struct mw_conn {
    /* configuration */
    struct mw_addr addr[MW_MAX_ADDRS];
    int naddr;
    int at;      /* address of the live connection / of the next attempt */
    int up_addr; /* address of the last connection that came up; -1: none */
    bool quorum; /* durable queues are quorum queues (CS_QUEUE_TYPE) */
    char name[MW_SHORTSTR];
    int heartbeat_s, connect_timeout_ms, confirm_window;
    int reconnect_max_ms, reconnect_tries;
    uint16_t prefetch;
    void (*on_wait)(void *arg);
    void *on_wait_arg;

    /* link state */
    amqp_connection_state_t amqp; /* NULL while down */
    amqp_channel_t chan;
    uint16_t gen; /* bumped whenever buffered/unacked deliveries die */
    bool down, dead, ever_up;
    int attempts;       /* connection attempts in the current outage (a round
                     is one per address) */
    int64_t down_since; /* clock_mono_ms() when the outage began */
    int64_t nack_since; /* first nack since the last ack (quorum), 0: none */
    bool nack_pause;    /* reconnecting after a nack: pause first */
    unsigned reconnects;
    int pub_err;   /* first publish error since the last report */
    char why[256]; /* reason of the last connection failure, for logs */
    unsigned excl_seq;

    struct mw_ring ring;
    struct mw_fifo fifo;
    struct mw_msg cur; /* the delivery handed out by mw_next */

    /* LZ4 (mw_codec.c): reusable buffers, no malloc per message */
    bool compress; /* compress what we publish (MW_COMPRESS) */
    uint8_t *zbuf; /* compressed body being published */
    size_t zcap;
    uint8_t *rawbuf; /* decoded body of c->cur, handed out */
    size_t rawcap;
    struct mw_stats stats;
    struct mw_incoming in;

    struct mw_topo *topo;
    size_t ntopo, topo_cap;
    char (*cons)[MW_SHORTSTR]; /* consumed queues == consumer tags */
    size_t ncons, cons_cap;
};

/* mw_addr.c */
/* Parses `urls` (one URL or a comma-separated list; blanks around items
 * are ignored) into c->addr / c->naddr and picks a random start c->at.
 * MW_ERR_ARG (empty item, bad URL, amqps, more than MW_MAX_ADDRS) or
 * MW_ERR_NOMEM; what was parsed is freed by mw_addr_free either way. */
int mw_addr_parse(struct mw_conn *c, const char *urls);
void mw_addr_free(struct mw_conn *c);
/* The address of the current or next attempt. */
const struct mw_addr *mw_addr_cur(const struct mw_conn *c);
/* Moves to the next address of the list (wrapping). */
void mw_addr_next(struct mw_conn *c);

/* mw_conn.c */
/* Makes sure the connection is up, reconnecting with backoff and restoring
 * topology, consumers and unconfirmed publishes. 0, MW_ERR_CLOSED,
 * MW_ERR_CONNECT (first connect) or MW_ERR_INTERRUPTED. */
int mw_ensure_up(struct mw_conn *c);
/* The one recovery policy of the public calls: runs op(c, arg) on a live
 * connection (mw_ensure_up first: reconnect with capped backoff). When op
 * returns MW_ERR_LOST the connection is marked down (mw_conn_lost) and,
 * when `again`, restored and op run again; without `again` MW_ERR_LOST is
 * returned, for a caller whose loop re-checks its condition first.
 * Returns op's answer, or mw_ensure_up's error. */
int mw_retry(struct mw_conn *c, int (*op)(struct mw_conn *c, void *arg),
             void *arg, bool again);
/* mw_pump(c, deadline_ms) through mw_retry. */
int mw_pump_live(struct mw_conn *c, int64_t deadline_ms, bool again);
/* After MW_ERR_PROTOCOL: reopens the channel (republishing), marking the
 * connection lost when that fails. */
void mw_refused(struct mw_conn *c);
/* Records the reason of a failure (logged when the connection is lost). */
void mw_set_why(struct mw_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* mw_set_why("what: <rabbitmq-c status text>"); returns MW_ERR_LOST. */
int mw_lost(struct mw_conn *c, const char *what, int amqp_status);
/* Logs c->why and tears the dead connection down; buffered deliveries are
 * dropped. The next mw_ensure_up reconnects. */
void mw_conn_lost(struct mw_conn *c);
/* Starts a new delivery generation: drops buffered deliveries. */
void mw_new_generation(struct mw_conn *c);
/* Translates an RPC reply: 0, MW_ERR_PROTOCOL (channel closed by the
 * broker: logged, close-ok sent, caller must mw_chan_reset) or MW_ERR_LOST. */
int mw_rpc_result(struct mw_conn *c, amqp_rpc_reply_t r, const char *what,
                  int *reply_code);
/* Opens a fresh channel after the broker closed ours: new generation,
 * consumers re-registered, unconfirmed publishes republished or, when
 * `republish` is false, failed with MW_ERR_PROTOCOL. */
int mw_chan_reset(struct mw_conn *c, bool republish);
/* Opens a channel with confirms and qos on the live connection. */
int mw_chan_open(struct mw_conn *c);

/* mw_frame.c */
/* Waits for one frame until deadline (clock_mono_ms() scale, -1: forever) and
 * dispatches it. 1: a frame was handled, 0: timeout, or an error. */
int mw_pump(struct mw_conn *c, int64_t deadline_ms);
/* True when a frame can be read without touching the socket. */
bool mw_input_pending(const struct mw_conn *c);

/* mw_publish.c */
/* Sends one ring slot; the same slot always gives the same bytes and
 * properties (a republished copy is identical). */
int mw_send_pending(struct mw_conn *c, const struct mw_pending *p);
/* Renumbers and resends every unconfirmed message on the new channel. */
int mw_republish(struct mw_conn *c);

/* mw_topology.c */
/* The option, or CS_QUEUE_TYPE for MW_QUEUE_TYPE_ENV, into c->quorum: 0 or
 * MW_ERR_ARG (logged). */
int mw_topo_queue_type(struct mw_conn *c, enum mw_queue_type how);
int mw_topo_replay(struct mw_conn *c);
void mw_topo_free(struct mw_conn *c);

/* mw_consume.c */
int mw_consumers_replay(struct mw_conn *c);
void mw_consumers_free(struct mw_conn *c);

#endif
