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

/* One session's JSON (from SQLite when memory no longer holds it); NULL
 * with *found false when unknown (or *found true when out of memory). */
char *cp_store_get_json(struct cp_store *s, const char *id, bool *found);

/* Prometheus text exposition (docs/ARCHITECTURE.md lists the names).
 * `connected`: the broker connection is up. */
char *cp_store_metrics(struct cp_store *s, bool connected);

/* ---- the archive's side (archive.h does the files) ---- */

struct cp_result_file;

/* The gateway id the last applied snapshot named ("" if none). */
void cp_store_last_gateway(struct cp_store *s, char *buf, size_t n);

/* A session's start (wall-clock ms), -1 when unknown. */
double cp_store_started_ms(struct cp_store *s, const char *id);

/* Records the archived result files of a session: its doc gets "archive"
 * (rel, the folder under the archive) and "results" ([{file, rows, bytes,
 * url}]). A session unknown so far (the control plane was down while it
 * ran), or still running but without a snapshot for 15 s (its end was
 * missed), is recorded as done at now_ms. 0, CS_ERR_NOMEM or
 * CS_ERR_STATE_DIR. */
int cp_store_set_results(struct cp_store *s, const char *id, const char *rel,
                         const struct cp_result_file *f, int n, double now_ms)
    __attribute__((warn_unused_result));

/* rel <- the archive folder of a session's results; 0, or -1 when it has
 * none (unknown, not finished, or expired). */
int cp_store_archive_of(struct cp_store *s, const char *id, char *rel,
                        size_t relsz);

enum {
    CP_STATE_UNKNOWN,
    CP_STATE_RUNNING,
    CP_STATE_FINISHED
};
/* Whether a session is known and whether it has ended. */
int cp_store_state(struct cp_store *s, const char *id);

/* The distinct gateway ids of the sessions in memory (at most max). */
size_t cp_store_gateways(struct cp_store *s, char (*out)[64], size_t max);

/* Retention: removes the finished sessions that started more than
 * max_age_ms before now_ms (0: no age limit) and those beyond the newest
 * max_count finished ones (0: no count limit), from memory and SQLite;
 * drop(arg, rel) is called for each one's archive folder. Returns how many
 * were removed. */
typedef void (*cp_store_drop_fn)(void *arg, const char *rel);
size_t cp_store_expire(struct cp_store *s, double now_ms, double max_age_ms,
                       size_t max_count, cp_store_drop_fn drop, void *arg);

/* True for a session id as the gateway makes them: a UUID
 * (8-4-4-4-12 hex digits). */
bool cp_session_id_valid(const char *id);

#endif
