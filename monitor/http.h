/*
 * http.h - the monitor's HTTP server (libmicrohttpd, in its own thread):
 * GET /healthz and GET /cluster/status, anything else 404. The documents
 * come from a callback that runs in the server's thread (it takes the lock
 * that guards the monitor's state).
 */
#ifndef CS_MONITOR_HTTP_H
#define CS_MONITOR_HTTP_H

#include <stddef.h>

enum http_doc {
    HTTP_HEALTH,
    HTTP_STATUS
};

/* Returns a malloc'd JSON body (freed by the server) and its HTTP status
 * in *code; NULL when out of memory (500). */
typedef char *(*http_render_fn)(void *arg, enum http_doc doc, int *code);

struct http;

/* Serves on bind:port (bind "" or "0.0.0.0": every address). NULL with a
 * reason in err when the port cannot be had. */
struct http *http_start(const char *bind, unsigned port, http_render_fn fn,
                        void *arg, char *err, size_t errsz);

/* Stops the thread and closes the socket. NULL is a no-op. */
void http_stop(struct http *h);

#endif
