/*
 * http.c - the monitor's HTTP endpoints (see http.h) on common/httpd.
 */
#include "http.h"

#include "httpd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct http {
    struct httpd *d;
    http_render_fn fn;
    void *arg;
};

static char *route(void *arg, const char *method, const char *url, int *code,
                   const char **type)
{
    struct http *h = arg;

    (void)type;
    if (strcmp(method, "GET") == 0 && strcmp(url, "/healthz") == 0)
        return h->fn(h->arg, HTTP_HEALTH, code);
    if (strcmp(method, "GET") == 0 && strcmp(url, "/cluster/status") == 0)
        return h->fn(h->arg, HTTP_STATUS, code);
    *code = 404;
    return httpd_error_json("not found");
}

struct http *http_start(const char *bind, unsigned port, http_render_fn fn,
                        void *arg, char *err, size_t errsz)
{
    struct http *h = calloc(1, sizeof(*h));

    if (h == NULL) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    h->fn = fn;
    h->arg = arg;
    h->d = httpd_start(bind, port, 0, route, h, err, errsz);
    if (h->d == NULL) {
        free(h);
        return NULL;
    }
    return h;
}

void http_stop(struct http *h)
{
    if (h == NULL)
        return;
    httpd_stop(h->d);
    free(h);
}
