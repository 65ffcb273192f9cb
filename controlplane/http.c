/*
 * http.c - the control plane's HTTP API (see http.h).
 */
#include "http.h"

#include "dash.h"
#include "sessreq.h"
#include "stages.h"
#include "store.h"

#include "clock.h"
#include "httpd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTML_TYPE "text/html; charset=utf-8"
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define SESSIONS "/api/sessions"

struct cp_http {
    struct httpd *d;
    struct cp_store *store;
    const atomic_bool *connected;
    struct cp_stages *_Atomic stages;         /* NULL until set */
    const struct cp_sessreq *_Atomic sessreq; /* NULL until set */
};

static char *error(int *code, int status, const char *msg)
{
    *code = status;
    return httpd_error_json(msg);
}

/* /api/sessions/{id}[/rest] */
static char *session(struct cp_http *h, const char *method, const char *path,
                     int *code, const char **type)
{
    const struct cp_sessreq *r = atomic_load(&h->sessreq);
    const char *slash = strchr(path, '/');
    char id[40];
    bool found = false;
    char *body;

    if ((slash ? (size_t)(slash - path) : strlen(path)) >= sizeof(id))
        return error(code, 400, "malformed session id (a UUID is expected)");
    snprintf(id, sizeof(id), "%.*s",
             (int)(slash ? slash - path : (long)strlen(path)), path);
    if (!cp_session_id_valid(id))
        return error(code, 400, "malformed session id (a UUID is expected)");
    if (slash != NULL)
        return r ? cp_sessreq_handle(r, method, id, slash + 1, code, type)
                 : error(code, 503, "starting");
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return error(code, 405, "only GET");
    body = cp_store_get_json(h->store, id, &found);
    if (!found) {
        free(body);
        return error(code, 404, "unknown session");
    }
    *code = 200;
    return body;
}

/* The store's metrics, then the stages' (stages.h). */
static char *metrics(struct cp_http *h)
{
    struct cp_stages *st = atomic_load(&h->stages);
    char *text = cp_store_metrics(h->store, atomic_load(h->connected));
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (text == NULL || st == NULL || (f = open_memstream(&buf, &len)) == NULL)
        return text;
    fputs(text, f);
    free(text);
    cp_stages_metrics(st, f, clock_wall_ms());
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static char *stages_json(struct cp_http *h, int *code)
{
    struct cp_stages *st = atomic_load(&h->stages);

    if (st == NULL)
        return error(code, 503, "starting");
    return cp_stages_json(st, clock_wall_ms());
}

static char *route(void *arg, const char *method, const char *url, int *code,
                   const char **type)
{
    struct cp_http *h = arg;
    size_t n = strlen(SESSIONS);
    bool up;

    if (strncmp(url, SESSIONS "/", n + 1) == 0)
        return session(h, method, url + n + 1, code, type);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return error(code, 405, "only GET");
    *code = 200;
    if (strcmp(url, "/") == 0) {
        *type = HTML_TYPE;
        return cp_dash_page();
    }
    if (strcmp(url, "/healthz") == 0) {
        up = atomic_load(h->connected);
        *code = up ? 200 : 503;
        return strdup(up ? "{\"status\":\"ok\"}"
                         : "{\"status\":\"broker unreachable\"}");
    }
    if (strcmp(url, "/metrics") == 0) {
        *type = METRICS_TYPE;
        return metrics(h);
    }
    if (strcmp(url, "/api/stages") == 0)
        return stages_json(h, code);
    if (strcmp(url, SESSIONS) == 0)
        return cp_store_list_json(h->store);
    return error(code, 404, "not found");
}

struct cp_http *cp_http_start(const char *bind, unsigned port,
                              struct cp_store *store,
                              const atomic_bool *connected, char *err,
                              size_t errsz)
{
    struct cp_http *h = calloc(1, sizeof(*h));

    if (h == NULL) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    h->store = store;
    h->connected = connected;
    h->d = httpd_start(bind, port, 32768, route, h, err, errsz);
    if (h->d == NULL) {
        free(h);
        return NULL;
    }
    return h;
}

void cp_http_set_sessreq(struct cp_http *h, const struct cp_sessreq *r)
{
    atomic_store(&h->sessreq, r);
}

void cp_http_set_stages(struct cp_http *h, struct cp_stages *stages)
{
    atomic_store(&h->stages, stages);
}

void cp_http_stop(struct cp_http *h)
{
    if (h == NULL)
        return;
    httpd_stop(h->d);
    free(h);
}
