/*
 * fake_mw.h - an in-memory stand-in for middleware/mw.h, for unit tests of
 * the code above it (the worker runtime, the coordinator process).
 *
 * fake_mw.c defines every function of mw.h; a test binary links it instead
 * of libmw.a, so the real runtime runs unchanged without a broker. The fake
 * keeps a small broker model and a script:
 *
 *   topology   declared exchanges, queues and bindings (direct exchanges:
 *              routing key -> bound queues; the default exchange "" routes
 *              to the queue named by the key) and exclusive queues, which
 *              another connection may hold (fake_mw_hold_exclusive), so
 *              declaring them fails with MW_ERR_PROTOCOL;
 *   script     what mw_next returns, in order: deliveries the test pushes,
 *              error codes (MW_ERR_TIMEOUT: the queue ran dry, MW_ERR_CLOSED:
 *              the connection died for good) and simulated reconnects;
 *   events     an ordered log of every call the code under test made, with
 *              copies of what it passed (a publish's exchange, key, meta and
 *              body) and what the fake returned.
 *
 * Deliveries get increasing tags. A reconnect makes every tag delivered so
 * far stale (mw_ack returns MW_ERR_STALE, as the real library does) and, as
 * a broker would, requeues every unacked delivery at the front of the
 * script, marked redelivered, with a new tag.
 *
 * When the script is empty mw_next returns MW_ERR_CLOSED, or, after
 * fake_mw_stop_when_idle(queue, n), MW_ERR_TIMEOUT n times and then a
 * shutdown control message (ts "now") on `queue`, then MW_ERR_CLOSED.
 *
 * Misuse the real broker would refuse (acking an unknown or acked tag,
 * consuming an undeclared queue or one twice, publishing to an undeclared
 * exchange, a delivery scripted for a queue nobody consumes, calls on a
 * closed connection) is counted: tests assert fake_mw_misuse() == 0.
 *
 * Not thread-safe; one process-wide broker. Everything is freed by
 * fake_mw_reset().
 */
#ifndef CS_FAKE_MW_H
#define CS_FAKE_MW_H

#include "mw.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctl_msg;

enum fake_op {
    FAKE_CONNECT = 0,
    FAKE_CLOSE,
    FAKE_DECLARE_EXCHANGE,
    FAKE_DECLARE_QUEUE,
    FAKE_BIND,
    FAKE_DELETE_QUEUE,
    FAKE_PUBLISH,
    FAKE_FLUSH,
    FAKE_CONSUME,
    FAKE_CANCEL,
    FAKE_NEXT,
    FAKE_ACK,
    FAKE_NACK,
    FAKE_NOPS,
};

#define FAKE_NAME_MAX 256

/* One call of the code under test. Which fields are set depends on op. */
struct fake_ev {
    enum fake_op op;
    int rc;                       /* what the fake returned */
    char queue[FAKE_NAME_MAX];    /* declare/bind/delete/consume/cancel/next;
                                      publish: the first queue it reached */
    char exchange[FAKE_NAME_MAX]; /* declare_exchange/bind/publish */
    char key[FAKE_NAME_MAX];      /* bind/publish: routing key */
    int flags;                    /* declare_queue */
    struct mw_meta meta;          /* publish/next */
    uint8_t *body;                /* publish/next: a copy (NULL when empty) */
    size_t len;
    uint64_t tag;     /* next/ack/nack */
    bool redelivered; /* next */
    bool requeue;     /* nack */
    int routed;       /* publish: queues it reached */
};

/* Forgets everything: topology, script, events, injections, hooks. */
void fake_mw_reset(void);

/* Forgets the events, the injections and the idle stop only (the topology,
 * the script, the deliveries and their tags stay): for a second run of a
 * program against the same broker. */
void fake_mw_clear_events(void);

/* ---- script ---- */

/* Appends a delivery of a copy of body (len bytes) with meta on queue. */
void fake_mw_deliver(const char *queue, const struct mw_meta *meta,
                     const void *body, size_t len, bool redelivered);

/* Appends a control message, encoded as the programs do (ctl_encode; kind
 * control, stream = its type name, session from m). */
void fake_mw_deliver_ctl(const char *queue, const struct ctl_msg *m,
                         bool redelivered);

/* Appends one return of rc from mw_next (e.g. MW_ERR_TIMEOUT, MW_ERR_CLOSED). */
void fake_mw_script_rc(int rc);

/* Appends a simulated reconnect (see the file comment); mw_next goes on with
 * the next step. */
void fake_mw_script_reconnect(void);

/* Requeues every unacked delivery at the front of the script, redelivered
 * (what the broker does when a connection closes). */
void fake_mw_requeue_unacked(void);

/* Once the script is empty: n times MW_ERR_TIMEOUT, then a shutdown control
 * message on `queue`. */
void fake_mw_stop_when_idle(const char *queue, int n);

/* ---- broker state and injected failures ---- */

/* Another connection holds exclusive queue `name`. */
void fake_mw_hold_exclusive(const char *name);

/* The nth (1-based, counted since the last reset/clear) call of op returns
 * rc instead of doing anything (mw_connect: returns NULL, *err = rc). */
void fake_mw_fail_nth(enum fake_op op, int nth, int rc);

/* Called after every event is logged (also for failed calls). ev is valid
 * during the call. NULL removes the hook. */
void fake_mw_set_hook(void (*fn)(const struct fake_ev *ev, void *arg),
                      void *arg);

/* ---- what happened ---- */

size_t fake_mw_nevents(void);
const struct fake_ev *fake_mw_event(size_t i);

/* Index of the first event at or after `from` with op (and, when queue is
 * not NULL, that queue; for a publish, that exchange), or -1. */
long fake_mw_find(size_t from, enum fake_op op, const char *name);

/* The successful mw_next event that delivered tag, or NULL. */
const struct fake_ev *fake_mw_delivery(uint64_t tag);

/* Successful acks of tag (0 or 1 unless misused). */
int fake_mw_acks(uint64_t tag);

/* Deliveries not acked (nor nacked) yet. */
size_t fake_mw_unacked(void);

/* Index of the last publish before event i that no successful mw_flush
 * between it and i confirmed, or -1 when every earlier publish was. */
long fake_mw_unconfirmed_before(size_t i);

/* True when ev is a publish to the coordinator queue (default exchange). */
bool fake_mw_to_coordinator(const struct fake_ev *ev);

/* Decodes ev's body as a control message; 0 or -1. */
int fake_mw_ctl(const struct fake_ev *ev, struct ctl_msg *out);

/* Misuses counted so far, and a description of the first one ("" if none). */
unsigned fake_mw_misuse(void);
const char *fake_mw_misuse_text(void);

const char *fake_mw_op_name(enum fake_op op);

#endif
