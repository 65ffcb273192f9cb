/*
 * api.h - HTTP GETs to the control plane's JSON API (libcurl), for the
 * client's status, watch and results commands (cli.c). One handle keeps
 * its connection between requests. Every request is bounded: a connect
 * timeout, and a total timeout for JSON (a download instead fails when no
 * byte arrives for a while); a stop signal (sig.h) aborts it.
 */
#ifndef CS_CLIENT_API_H
#define CS_CLIENT_API_H

#include <stddef.h>
#include <stdint.h>

struct cl_api;

/* A handle for the control plane at base_url ("http://host:port", copied;
 * a trailing '/' is dropped). NULL with the reason in err (errsz bytes)
 * when out of memory or libcurl cannot be loaded or set up. */
struct cl_api *cl_api_create(const char *base_url, char *err, size_t errsz);
/* NULL is a no-op. */
void cl_api_destroy(struct cl_api *a);

/* The base URL as given (without a trailing '/'), valid until destroy. */
const char *cl_api_base(const struct cl_api *a);

/* GETs path (which starts with '/'). Returns the HTTP status, or -1 when
 * there is no answer (err says why: connection refused, timeout, ...).
 * *body: the answer, NUL-terminated, valid until the next call. */
long cl_api_get(struct cl_api *a, const char *path, const char **body,
                char *err, size_t errsz);

/* GETs path and writes the body of a 200 to fd (*bytes: how many). Any
 * other status's body (the error JSON) goes to *body instead, as above.
 * Returns the status, or -1 (err: no answer, or writing fd failed). */
long cl_api_download(struct cl_api *a, const char *path, int fd,
                     uint64_t *bytes, const char **body, char *err,
                     size_t errsz);

#endif
