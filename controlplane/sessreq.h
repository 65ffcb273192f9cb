/*
 * sessreq.h - the requests on one session beyond its JSON (http.c routes
 * them here):
 *
 *   GET  /api/sessions/{id}/results/{file}   a finished session's result
 *        file from the archive (archive.h): 200 text/csv; 404 when the
 *        session, its archive or the file is unknown; 400 for a malformed
 *        name
 *   POST /api/sessions/{id}/abort            admin: asks the coordinator to
 *        abort a running session: 202; needs "Authorization: Bearer
 *        <ADMIN_TOKEN>"; 403 when no token is configured (admin endpoints
 *        off), 401 (logged with the peer's address) for a missing or wrong
 *        token, 404 unknown session, 409 finished session
 */
#ifndef CS_CP_SESSREQ_H
#define CS_CP_SESSREQ_H

struct cp_store;

/* Queues an abort of session id for the broker thread; 0, or -1 when it
 * cannot (the queue is full). */
typedef int (*cp_abort_fn)(void *arg, const char *id);

struct cp_sessreq {
    struct cp_store *store;
    const char *archive_dir; /* NULL: no archive (404) */
    const char *admin_token; /* NULL or "": admin endpoints off */
    cp_abort_fn abort;
    void *abort_arg;
};

/* Answers `method` on /api/sessions/{id}/{rest} (id and rest as in the
 * URL: rest is "results/<file>" or "abort"), like an httpd_fn. NULL when
 * out of memory. */
char *cp_sessreq_handle(const struct cp_sessreq *r, const char *method,
                        const char *id, const char *rest, int *code,
                        const char **type);

#endif
