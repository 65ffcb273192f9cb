/*
 * gw.h - internal interfaces of the gateway.
 *
 * Threads: main accepts connections (main.c); one thread per client session
 * reads frames and publishes batches on its own AMQP connection
 * (session.c); one results thread consumes this gateway's results queue on
 * its own connection and writes RESULT frames to the sessions' sockets
 * (results.c). The session table (registry.c) connects them: sessions are
 * found by id and reference-counted, socket writes are serialized by a
 * per-session lock, and a session is only ever freed by its own thread
 * after it left the table and the last reference was dropped.
 */
#ifndef CS_GW_H
#define CS_GW_H

#include "plan.h"
#include "proto.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define GW_ID_MAX 40 /* GATEWAY_ID length: fits mw_meta.producer and queue names */
#define GW_NRESULTS CS_NRESULTS

struct gw_config {
    const char *amqp_url, *bind_addr, *id_opt, *replicas, *state_dir, *fsync;
    long port, max_frame, idle_timeout_s, max_sessions, lock_wait_s, max_backlog;
    char id[GW_ID_MAX + 1];   /* effective GATEWAY_ID */
    char results_queue[96];   /* gateway.<id>.results */
    struct plan plan;
};

/* How a session's end was decided by someone other than its own thread. */
enum gw_end {
    GW_END_NONE = 0,
    GW_END_OK,       /* RESULT_END was sent */
    GW_END_PIPELINE, /* the pipeline reported an error; ERROR was sent */
    GW_END_KICKED,   /* shutdown or lost results channel: the session thread
                        sends ERROR(kick_code, reason) and aborts */
};

/* Result routing state of one result file (results thread only). */
struct gw_pending;
struct gw_rfile {
    int64_t next;             /* next expected chunk index from the sink */
    uint32_t out_seq;         /* next RESULT frame seq to the client */
    struct gw_pending *pending; /* out-of-order chunks, sorted by seq */
    size_t npending;
};

struct gw_session {
    /* id: written once under the registry lock (gw_registry_set_id) */
    char id[PROTO_SESSION_LEN + 1];
    /* set before the session thread starts, then read-only */
    char client[PROTO_NAME_MAX + 1];
    uint16_t version; /* the client's protocol version (set before the id) */
    char peer[80];
    int wake[2]; /* self-pipe: others -> session thread */

    /* guarded by lock */
    pthread_mutex_t lock;
    int fd;      /* -1 once closed or unusable */
    enum gw_end end;
    uint16_t kick_code;
    char reason[256];

    atomic_bool waiting; /* past DATA_END: results may be in flight */

    /* results thread only */
    struct gw_rfile rfiles[GW_NRESULTS];
    atomic_uint_least64_t result_bytes; /* read by the session thread */

    /* registry only */
    int refs;
    bool listed;
    struct gw_session *next;
};

/* ---- registry.c: the session table ---- */

struct gw_registry;

struct gw_registry *gw_registry_create(void);
void gw_registry_destroy(struct gw_registry *r);

/* A session thread starts / ends; counts live session threads. */
void gw_registry_enter(struct gw_registry *r);
void gw_registry_leave(struct gw_registry *r);
int gw_registry_active(struct gw_registry *r);

/* Waits until no session thread is alive or timeout_ms passed; returns the
 * number still alive. */
int gw_registry_wait_idle(struct gw_registry *r, int timeout_ms);

/* Allocates a session for an accepted socket (fd owned by it from now on);
 * one reference, held by the caller. NULL on failure (fd not closed). */
struct gw_session *gw_session_create(int fd, const char *peer);

/* Lists s (still without id: not found by gw_registry_get, but kicked by
 * gw_registry_kick_all); takes a reference. */
void gw_registry_add(struct gw_registry *r, struct gw_session *s);

/* Gives a listed session its id, making it visible to gw_registry_get. */
void gw_registry_set_id(struct gw_registry *r, struct gw_session *s,
                        const char *id);

/* Unlists s (no-op if not listed) and drops the table's reference. */
void gw_registry_remove(struct gw_registry *r, struct gw_session *s);

/* Finds a listed session by id and takes a reference, or NULL. */
struct gw_session *gw_registry_get(struct gw_registry *r, const char *id);

/* Drops a reference; the last one frees the session. */
void gw_registry_put(struct gw_registry *r, struct gw_session *s);

/* Marks every listed session that has no end yet (only those past DATA_END
 * when only_waiting) as kicked and wakes it. */
void gw_registry_kick(struct gw_registry *r, bool only_waiting, uint16_t code,
                      const char *reason);

/* Wakes the session thread (async-signal-safe write to the self-pipe). */
void gw_session_wake(struct gw_session *s);

/* Sets s's end (the first call wins) and wakes its thread; returns true if
 * this call decided it. When `frame` is not NULL it is sent to the client
 * first, under the same lock, so it goes out only if this call decides the
 * end and always before the session thread closes the socket. */
bool gw_session_set_end(struct gw_session *s, enum gw_end end, uint16_t code,
                        const char *reason, const void *frame, size_t len);

/* Sends bytes to the client under the session lock. On failure the socket
 * is marked unusable. Returns 0 or a negative errno (-EPIPE if closed). */
int gw_session_sendv(struct gw_session *s, struct iovec *iov, int iovcnt);
int gw_session_send(struct gw_session *s, const void *p, size_t n);

/* ---- journal.c: open sessions, for recovery after a crash ---- */

struct gw_journal;

/* Opens (locking) CS_STATE_DIR/gateway-<id> and reads the journal the
 * previous run left. NULL on failure (logged). */
struct gw_journal *gw_journal_open(const struct gw_config *cfg);

/* The sessions the previous run left open (up to max ids into `ids`,
 * borrowed until the next journal call); returns how many there are. */
size_t gw_journal_orphans(const struct gw_journal *j, const char **ids, size_t max);

/* Records that session `id` starts / ended (durable on return). 0 or
 * -errno. Thread-safe. */
int gw_journal_start(struct gw_journal *j, const char *id);
int gw_journal_end(struct gw_journal *j, const char *id);

void gw_journal_close(struct gw_journal *j);

/* ---- session.c ---- */

struct hb;

struct gw_server {
    const struct gw_config *cfg;
    struct gw_registry *reg;
    struct gw_journal *journal;
    struct hb *hb; /* heartbeats from the accept loop (main thread only) */
};

struct gw_session_arg {
    struct gw_server *srv;
    struct gw_session *s;
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

/* Frees the out-of-order chunks kept for s (when s is freed). */
void gw_results_forget(struct gw_session *s);

#endif
