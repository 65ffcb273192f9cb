/*
 * sessobj.h - the gateway's session object: one client connection's shared
 * state, opaque, touched only through these functions.
 *
 * Ownership: reference-counted (gw_session_ref/unref); the last unref frees
 * it, whoever drops it. The session thread (session.c) owns the socket:
 * only it reads from it and takes it away (gw_session_take_fd) before
 * closing it. Every write to the socket goes through gw_session_send*,
 * serialized by the object's lock, so the results thread can write while
 * the session thread reads. How the session ends is decided once
 * (gw_session_set_end: the first call wins) and then never changes.
 */
#ifndef CS_GW_SESSOBJ_H
#define CS_GW_SESSOBJ_H

#include "reorder.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct gw_session;

/* How a session's end was decided by someone other than its own thread. */
enum gw_end {
    GW_END_NONE = 0,
    GW_END_OK,       /* RESULT_END was sent */
    GW_END_PIPELINE, /* the pipeline reported an error; ERROR was sent */
    GW_END_KICKED,   /* shutdown or lost results channel: the session thread
                        sends ERROR(code, reason) and aborts */
};

/* Result routing state of one result file: the results thread's only. */
struct gw_rfile {
    struct gw_reorder order; /* chunks from the sink, into chunk order */
    uint32_t out_seq;        /* next RESULT frame seq to the client */
};

/* A session for socket fd (owned by the object from now on: closed when it
 * is freed unless taken), one reference held by the caller; max_pending
 * bounds each result file's out-of-order chunks. NULL on failure (errno
 * set, fd not closed). */
struct gw_session *gw_session_create(int fd, const char *peer,
                                     size_t max_pending);

void gw_session_ref(struct gw_session *s);
/* Drops a reference; the last one frees s. NULL: no-op. */
void gw_session_unref(struct gw_session *s);

/* The session id: "" until set, then fixed. gw_session_set_id is called
 * once, under the lock of whoever finds sessions by id (registry.c). */
const char *gw_session_id(const struct gw_session *s);
void gw_session_set_id(struct gw_session *s, const char *id);

/* Set by the session thread before the id (then read-only): the client's
 * name and data folder from HELLO (borrowed; copied, made safe for
 * key=value logs; folder "" when not sent) and version. */
void gw_session_set_client(struct gw_session *s, const char *name,
                           const char *folder, uint16_t version);
const char *gw_session_client(const struct gw_session *s);
const char *gw_session_folder(const struct gw_session *s);
uint16_t gw_session_version(const struct gw_session *s);
const char *gw_session_peer(const struct gw_session *s);

/* Session thread only: the socket (-1 once taken) and the wake-up fd to
 * poll next to it. gw_session_take_fd ends all writes and hands the socket
 * to the caller to close. */
int gw_session_fd(const struct gw_session *s);
int gw_session_wake_fd(const struct gw_session *s);
int gw_session_take_fd(struct gw_session *s);

/* Wakes the session thread (async-signal-safe write to a self-pipe). */
void gw_session_wake(struct gw_session *s);

/* Sets s's end (the first call wins) and wakes its thread; returns true if
 * this call decided it. When `frame` is not NULL it is sent to the client
 * first, under the same lock, so it goes out only if this call decides the
 * end and always before the session thread closes the socket. */
bool gw_session_set_end(struct gw_session *s, enum gw_end end, uint16_t code,
                        const char *reason, const void *frame, size_t len);

/* Session thread: empties the wake-up pipe and reads the end decided so far
 * (GW_END_NONE if none); *code and reason (n bytes, may be NULL) with it. */
enum gw_end gw_session_end(struct gw_session *s, uint16_t *code, char *reason,
                           size_t n);

/* Sends bytes to the client under the session lock. On failure the socket
 * is shut down (which wakes the reader). 0 or a negative errno (-EPIPE
 * once the socket was taken). */
int gw_session_sendv(struct gw_session *s, struct iovec *iov, int iovcnt);
int gw_session_send(struct gw_session *s, const void *p, size_t n);

/* Past DATA_END: results may be in flight (a kick may be limited to those). */
void gw_session_set_waiting(struct gw_session *s);
bool gw_session_waiting(const struct gw_session *s);

/* Result bytes sent to the client (results thread adds, anyone reads). */
void gw_session_add_result_bytes(struct gw_session *s, uint64_t n);
uint64_t gw_session_result_bytes(const struct gw_session *s);

/* Result file i's routing state (0 <= i < CS_NRESULTS): results thread only. */
struct gw_rfile *gw_session_rfile(struct gw_session *s, int i);

#endif
