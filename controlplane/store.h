/*
 * store.h - the control plane's sessions: the last snapshot of every
 * session the coordinator published on cs.events (JSON, see
 * docs/ARCHITECTURE.md, "Control plane"), in memory and in SQLite, so that
 * finished sessions are still listed after a restart.
 *
 * Thread-safe: the broker thread applies events while the HTTP threads
 * render. Every rendering returns a malloc'd NUL-terminated string the
 * caller frees (NULL when out of memory).
 */
#ifndef CS_CP_STORE_H
#define CS_CP_STORE_H

#include <stdbool.h>
#include <stddef.h>

struct cp_store;

/* Opens (creates) the SQLite database at `path` and loads the newest
 * `max_sessions` sessions of its history. NULL on failure, with a message
 * in err (size errsz). */
struct cp_store *cp_store_open(const char *path, size_t max_sessions, char *err,
                               size_t errsz);

/* Closes the database and frees everything. NULL is a no-op. */
void cp_store_close(struct cp_store *s);

/* Applies one event (body of a cs.events message, borrowed). Returns 0;
 * CS_ERR_ARG when it is not a valid session snapshot (nothing changed);
 * CS_ERR_STATE_DIR when the history could not be written (memory is up to
 * date: the event is shown, and lost only at a restart); CS_ERR_NOMEM.
 * A snapshot does not take a finished session (done, failed, aborted)
 * back to a running state, and the earliest start time known is kept. */
int cp_store_apply(struct cp_store *s, const void *body, size_t len)
    __attribute__((warn_unused_result));

/* {"sessions":[...]}, newest first. */
char *cp_store_list_json(struct cp_store *s);

/* One session's JSON; NULL with *found false when unknown (or *found true
 * when out of memory). */
char *cp_store_get_json(struct cp_store *s, const char *id, bool *found);

/* Prometheus text exposition (docs/ARCHITECTURE.md lists the names).
 * `connected`: the broker connection is up. */
char *cp_store_metrics(struct cp_store *s, bool connected);

/* True for a session id as the gateway makes them: a UUID
 * (8-4-4-4-12 hex digits). */
bool cp_session_id_valid(const char *id);

#endif
