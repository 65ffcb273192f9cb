/*
 * httpd.h - the small HTTP server of the programs that answer HTTP (the
 * monitors, the control plane): libmicrohttpd in its own thread, one
 * handler that maps a request to a status, a content type and a body.
 * Request bodies are not read; headers beyond the connection's memory get
 * a 4xx from libmicrohttpd.
 */
#ifndef CS_HTTPD_H
#define CS_HTTPD_H

#include <stddef.h>

/* Answers one request (runs in the server's thread): returns a malloc'd
 * body (taken by the server) and sets *code and *type (a static string;
 * left NULL: application/json). NULL: 500 "out of memory". */
typedef char *(*httpd_fn)(void *arg, const char *method, const char *url,
                          int *code, const char **type);

struct httpd;

/* Serves on bind:port (IPv4; "" means every address), with mem_limit bytes
 * per connection (0: libmicrohttpd's default). NULL with a reason in err
 * when the port cannot be had. arg is borrowed until httpd_stop. */
struct httpd *httpd_start(const char *bind, unsigned port, size_t mem_limit,
                          httpd_fn fn, void *arg, char *err, size_t errsz);

/* Stops the thread and closes the socket. NULL is a no-op. */
void httpd_stop(struct httpd *h);

/* While a handler runs (in the server's thread): the value of request
 * header `name` (case-insensitive), or NULL; the peer's address as text in
 * buf. Outside a handler: NULL / "?". */
const char *httpd_request_header(const char *name);
void httpd_request_peer(char *buf, size_t n);

/* {"error":"msg"} as a malloc'd string (msg must need no JSON escaping);
 * NULL when out of memory. */
char *httpd_error_json(const char *msg);

#endif
