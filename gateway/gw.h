/*
 * gw.h - internal interfaces of the gateway.
 *
 * Threads: main accepts connections and keeps the clients over
 * MAX_SESSIONS in a waiting line (lobby.c); one thread per admitted client
 * session reads frames, checks them (stream.c) and publishes batches on its
 * own AMQP connection (session.c); one results thread consumes this
 * gateway's results queue on its own connection and writes RESULT frames,
 * in chunk order (reorder.c), to the sessions' sockets (results.c). The
 * session object (sessobj.c: opaque, reference-counted, its socket writes
 * serialized by its lock) is shared through the session table
 * (registry.c), which finds sessions by id. Dependencies point one way:
 * lobby, session, results -> registry -> sessobj -> reorder.
 */
#ifndef CS_GW_H
#define CS_GW_H

#include "plan.h"
#include "proto.h"
#include "sessobj.h"
#include "stream.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_ID_MAX                                                              \
    40 /* GATEWAY_ID length: fits mw_meta.producer and queue names */
#define GW_NRESULTS CS_NRESULTS
#define GW_MAX_PENDING 4096      /* out-of-order result chunks kept per file */
#define GW_RECONNECT_MAX_MS 4000 /* backoff cap of the broker connections */
#define GW_POOL_MAX 64           /* bound of GATEWAY_POOL */

struct gw_config {
    const char *amqp_url, *bind_addr, *id_opt, *replicas, *state_dir, *fsync;
    long port, max_frame, idle_timeout_s, max_sessions, lock_wait_s,
        max_backlog;
    long max_waiting, pool, heartbeat_s;
    char id[GW_ID_MAX + 1]; /* effective GATEWAY_ID */
    char results_queue[96]; /* gateway.<id>.results */
    struct plan plan;
};

/* ---- registry.c: the session table ---- */

struct gw_registry;

struct gw_registry *gw_registry_create(void);
void gw_registry_destroy(struct gw_registry *r);

/* A session thread starts / ends; counts live session threads. An end
 * writes a byte to the notify descriptor (non-blocking; -1: none). */
void gw_registry_enter(struct gw_registry *r);
void gw_registry_leave(struct gw_registry *r);
void gw_registry_set_notify(struct gw_registry *r, int fd);
int gw_registry_active(struct gw_registry *r);

/* Waits until no session thread is alive or timeout_ms passed; returns the
 * number still alive. */
int gw_registry_wait_idle(struct gw_registry *r, int timeout_ms);

/* Lists s (still without id: not found by gw_registry_get, but kicked by
 * gw_registry_kick); takes a reference. 0, or -1 when out of memory. */
int gw_registry_add(struct gw_registry *r, struct gw_session *s)
    __attribute__((warn_unused_result));

/* Gives a listed session its id, making it visible to gw_registry_get. */
void gw_registry_set_id(struct gw_registry *r, struct gw_session *s,
                        const char *id);

/* Unlists s (no-op if not listed) and drops the table's reference. */
void gw_registry_remove(struct gw_registry *r, struct gw_session *s);

/* Finds a listed session by id and takes a reference (drop it with
 * gw_session_unref), or NULL. */
struct gw_session *gw_registry_get(struct gw_registry *r, const char *id);

/* Marks every listed session that has no end yet (only those past DATA_END
 * when only_waiting) as kicked and wakes it. */
void gw_registry_kick(struct gw_registry *r, bool only_waiting, uint16_t code,
                      const char *reason);

/* ---- journal.c: open sessions, for recovery after a crash ---- */

struct gw_journal;

/* Opens (locking) CS_STATE_DIR/gateway-<id> and reads the journal the
 * previous run left. NULL on failure (logged). */
struct gw_journal *gw_journal_open(const struct gw_config *cfg);

/* The sessions the previous run left open (up to max ids into `ids`,
 * borrowed until the next journal call); returns how many there are. */
size_t gw_journal_orphans(const struct gw_journal *j, const char **ids,
                          size_t max);

/* Records that session `id` starts / ended (durable on return). 0 or
 * -errno. Thread-safe. */
int gw_journal_start(struct gw_journal *j, const char *id);
int gw_journal_end(struct gw_journal *j, const char *id);

void gw_journal_close(struct gw_journal *j);

/* ---- session.c ---- */

struct hb;

/* The gateway's counters since it started, for the control plane's stages
 * view (results.c publishes them to cs.events about once a second). */
struct gw_stats {
    atomic_llong msgs, bytes; /* batches from clients, each published */
    atomic_llong busy_ns;     /* publishing them */
    int64_t started_ms;       /* wall clock */
};

/* ---- pool.c: warm publisher connections ---- */

struct gw_pool;

/* Keeps cfg->pool (GATEWAY_POOL) publisher connections idle and ready,
 * the filter stage's topology declared, their heartbeats served by the
 * pool's thread (0: none; every session connects). NULL when out of memory
 * or the thread cannot start (logged). cfg is borrowed for the pool's
 * life. */
struct gw_pool *gw_pool_create(const struct gw_config *cfg);

/* Stops the thread and closes the idle connections. NULL is a no-op. */
void gw_pool_destroy(struct gw_pool *p);

/* A publisher connection for a session, reconnecting up to `tries` times
 * per outage from now on: an idle one (*warm true), else a new one. The
 * caller owns it until gw_pool_give or mw_close. NULL with *err (an
 * MW_ERR_*) when the broker cannot be reached. */
struct mw_conn *gw_pool_take(struct gw_pool *p, int tries, bool *warm,
                             int *err);

/* Takes back c (transferred; NULL is a no-op), whose publishes are all
 * confirmed (mw_flush returned 0): kept idle while fewer than twice
 * GATEWAY_POOL are, with its copy buffers until another comes back, else
 * closed. A connection in an unknown state is mw_close'd instead. */
void gw_pool_give(struct gw_pool *p, struct mw_conn *c);

struct gw_server {
    const struct gw_config *cfg;
    struct gw_pool *pool;
    struct gw_registry *reg;
    struct gw_journal *journal;
    struct hb *hb; /* heartbeats from the accept loop (main thread only) */
    struct gw_stats stats;
};

struct gw_session_arg {
    struct gw_server *srv;
    struct gw_session *s;
    struct gw_stream st; /* the stream so far (the HELLO, if already read) */
};

/* Thread body of one session; arg is a malloc'ed struct gw_session_arg
 * (freed by the thread), the session reference is the thread's. */
void *gw_session_main(void *arg);

/* ---- results.c ---- */

struct gw_results;

/* Starts the results thread: connects, declares the results queue and
 * starts consuming before returning, so no result can be unroutable once a
 * session has started. NULL on failure (logged). */
struct gw_results *gw_results_start(struct gw_server *srv);

/* Stops the thread, publishes ctl `shutdown` to the coordinator, closes its
 * connection and frees everything. */
void gw_results_stop(struct gw_results *r);

/* Index of a result file name in the canonical list, or -1. */
int gw_result_index(const char *name);

#endif
