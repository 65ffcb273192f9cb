/*
 * http.c - the monitor's HTTP endpoints over libmicrohttpd (see http.h).
 */
#include "http.h"

#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct http {
    struct MHD_Daemon *d;
    http_render_fn fn;
    void *arg;
};

static enum MHD_Result reply(struct MHD_Connection *c, int code, char *body)
{
    struct MHD_Response *r;
    enum MHD_Result rc;

    r = MHD_create_response_from_buffer_with_free_callback(strlen(body), body,
                                                           free);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "application/json") != MHD_YES ||
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") !=
            MHD_YES)
        rc = MHD_NO;
    else
        rc = MHD_queue_response(c, (unsigned)code, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **ctx)
{
    struct http *h = cls;
    char *body = NULL;
    int code = 404;

    (void)version, (void)upload, (void)ctx;
    if (*upload_size != 0) { /* a request body: not ours to read */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") == 0 && strcmp(url, "/healthz") == 0)
        body = h->fn(h->arg, HTTP_HEALTH, &code);
    else if (strcmp(method, "GET") == 0 && strcmp(url, "/cluster/status") == 0)
        body = h->fn(h->arg, HTTP_STATUS, &code);
    else
        body = strdup("{\"error\":\"not found\"}");
    if (body == NULL) {
        code = 500;
        body = strdup("{\"error\":\"out of memory\"}");
    }
    return body ? reply(c, code, body) : MHD_NO;
}

struct http *http_start(const char *bind, unsigned port, http_render_fn fn,
                        void *arg, char *err, size_t errsz)
{
    struct http *h = calloc(1, sizeof(*h));
    struct sockaddr_in sa;

    if (h == NULL) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, bind[0] ? bind : "0.0.0.0", &sa.sin_addr) != 1) {
        snprintf(err, errsz, "'%s' is not an IPv4 address", bind);
        free(h);
        return NULL;
    }
    h->fn = fn;
    h->arg = arg;
    errno = 0;
    h->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, (uint16_t)port, NULL,
        NULL, on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (h->d == NULL) {
        snprintf(err, errsz, "%s:%u: %s", bind, port,
                 errno ? strerror(errno) : "cannot start the HTTP server");
        free(h);
        return NULL;
    }
    return h;
}

void http_stop(struct http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->d);
    free(h);
}
