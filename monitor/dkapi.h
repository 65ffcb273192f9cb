/*
 * dkapi.h - HTTP to the Docker Engine API over its unix socket (libcurl):
 * one-shot requests, and the event stream read line by line. Each object
 * belongs to one thread, except dka_stream_wakeup(). Every transfer is
 * bounded by a timeout (the stream excepted: it is meant to last) and
 * aborted soon after the shared stop flag is set.
 */
#ifndef CS_MONITOR_DKAPI_H
#define CS_MONITOR_DKAPI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* Call once before any thread uses the API (curl_global_init); 0 or -1. */
int dka_global_init(void);
void dka_global_fini(void);

struct dka;

/* A request handle for socket path `sock` (copied); stop (borrowed, must
 * outlive it) aborts transfers once true. NULL when out of memory. */
struct dka *dka_create(const char *sock, const atomic_bool *stop);
void dka_destroy(struct dka *a);

/* Sends `method` (GET or POST, no body) for `path` (query escaped, e.g.
 * "/containers/json?all=1") and waits up to timeout_ms. Returns the HTTP
 * status, or -1 when there is no answer (reason in err). *body (may be
 * NULL): the response, NUL-terminated, valid until the next call. */
long dka_request(struct dka *a, const char *method, const char *path,
                 long timeout_ms, const char **body, size_t *len, char *err,
                 size_t errsz);

/* s escaped for a URL query (malloc'd: free it); NULL when out of memory. */
char *dka_escape(const char *s);

struct dka_stream;
/* Called with each complete line (without its newline; borrowed). */
typedef void (*dka_line_fn)(void *arg, const char *line, size_t len);

struct dka_stream *dka_stream_create(const char *sock, const atomic_bool *stop,
                                     dka_line_fn fn, void *arg);
void dka_stream_destroy(struct dka_stream *s);

/* Starts GET path (closing a stream still open); 0 or -1 (err). */
int dka_stream_open(struct dka_stream *s, const char *path, char *err,
                    size_t errsz);
bool dka_stream_is_open(const struct dka_stream *s);
void dka_stream_close(struct dka_stream *s);

/* Waits up to timeout_ms for data (or a wakeup) and hands out the complete
 * lines. Returns 0, or 1 when the open stream ended (then closed; the reason
 * in err). Without an open stream it only waits. */
int dka_stream_pump(struct dka_stream *s, int timeout_ms, char *err,
                    size_t errsz);

/* Makes a pump waiting in another thread return at once. */
void dka_stream_wakeup(struct dka_stream *s);

#endif
