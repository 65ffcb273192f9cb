/*
 * httpd.c - HTTP over libmicrohttpd for the monitors and the control plane
 * (see httpd.h). Linked only into the programs that call it (they add
 * -lmicrohttpd).
 */
#include "httpd.h"

#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_TYPE "application/json"

struct httpd {
    struct MHD_Daemon *d;
    httpd_fn fn;
    void *arg;
};

char *httpd_error_json(const char *msg)
{
    size_t n = strlen(msg) + sizeof("{\"error\":\"\"}");
    char *body = malloc(n);

    if (body != NULL)
        snprintf(body, n, "{\"error\":\"%s\"}", msg);
    return body;
}

/* Queues body (malloc'd, taken) with the status and content type. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned code,
                             const char *type, char *body)
{
    struct MHD_Response *r;
    enum MHD_Result rc;

    r = MHD_create_response_from_buffer_with_free_callback(strlen(body), body,
                                                           free);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) !=
            MHD_YES ||
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") !=
            MHD_YES)
        rc = MHD_NO;
    else
        rc = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return rc;
}

/* The request being answered (the server has one thread). */
static _Thread_local struct MHD_Connection *current;

const char *httpd_request_header(const char *name)
{
    return current ? MHD_lookup_connection_value(current, MHD_HEADER_KIND, name)
                   : NULL;
}

void httpd_request_peer(char *buf, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        current ? MHD_get_connection_info(current,
                                          MHD_CONNECTION_INFO_CLIENT_ADDRESS)
                : NULL;
    const struct sockaddr_in *sa =
        ci ? (const struct sockaddr_in *)(const void *)ci->client_addr : NULL;

    if (sa == NULL || sa->sin_family != AF_INET ||
        inet_ntop(AF_INET, &sa->sin_addr, buf, (socklen_t)n) == NULL)
        snprintf(buf, n, "?");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **ctx)
{
    struct httpd *h = cls;
    const char *type = NULL;
    int code = 500;
    char *body;

    (void)version, (void)upload, (void)ctx;
    if (*upload_size != 0) { /* a request body: not read, not needed */
        *upload_size = 0;
        return MHD_YES;
    }
    current = c;
    body = h->fn(h->arg, method, url, &code, &type);
    current = NULL;
    if (body == NULL) {
        code = 500;
        type = NULL;
        body = httpd_error_json("out of memory");
    }
    return body ? reply(c, (unsigned)code, type ? type : JSON_TYPE, body)
                : MHD_NO;
}

struct httpd *httpd_start(const char *bind, unsigned port, size_t mem_limit,
                          httpd_fn fn, void *arg, char *err, size_t errsz)
{
    struct httpd *h = calloc(1, sizeof(*h));
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
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        mem_limit ? mem_limit : (size_t)32768, MHD_OPTION_END);
    if (h->d == NULL) {
        snprintf(err, errsz, "%s:%u: %s", bind, port,
                 errno ? strerror(errno) : "cannot start the HTTP server");
        free(h);
        return NULL;
    }
    return h;
}

void httpd_stop(struct httpd *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->d);
    free(h);
}
