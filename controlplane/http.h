/*
 * http.h - the control plane's HTTP API over libmicrohttpd:
 *
 *   GET /                    the live dashboard (dash.h)
 *   GET /healthz             200 while the broker connection is up, else 503
 *   GET /metrics             Prometheus text (store.h)
 *   GET /api/sessions        {"sessions":[...]}, newest first
 *   GET /api/sessions/{id}   one session; 400 for a malformed id, 404 unknown
 *   GET /api/stages          replicas and queues of every stage (stages.h)
 *   GET /api/sessions/{id}/results/{file}, POST /api/sessions/{id}/abort
 *                            result files and abort (sessreq.h)
 *
 * Anything else is 404 (405 for a method other than GET or HEAD on a known
 * path); requests whose headers exceed the connection's memory are refused
 * by libmicrohttpd with a 4xx. The server runs its own thread.
 */
#ifndef CS_CP_HTTP_H
#define CS_CP_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct cp_store;
struct cp_stages;
struct cp_http;

/* Starts serving on bind:port (IPv4). `store` and `connected` are borrowed
 * and must outlive the server. NULL on failure, with a message in err. */
struct cp_http *cp_http_start(const char *bind, unsigned port,
                              struct cp_store *store,
                              const atomic_bool *connected, char *err,
                              size_t errsz);

/* Serves result files and abort (sessreq.h) with r (borrowed, must
 * outlive the server); until then they answer 503. */
struct cp_sessreq;
void cp_http_set_sessreq(struct cp_http *h, const struct cp_sessreq *r);

/* Serves /api/stages and the stages' metrics from `stages` (borrowed, must
 * outlive the server); until then /api/stages answers 503. */
void cp_http_set_stages(struct cp_http *h, struct cp_stages *stages);

/* Stops the server (waits for its thread). NULL is a no-op. */
void cp_http_stop(struct cp_http *h);

#endif
