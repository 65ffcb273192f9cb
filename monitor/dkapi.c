/*
 * dkapi.c - the Docker Engine API over its unix socket with libcurl (see
 * dkapi.h). A request handle keeps its connection to the daemon between
 * requests; the stream is a curl multi handle, so one thread can wait for
 * its data, for timers and for a wakeup in one call.
 */
#include "dkapi.h"

#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE_URL "http://localhost" /* any host: the socket is the address */
#define MAX_BODY (16u << 20)
#define MAX_LINE (1u << 20)
#define CONNECT_TIMEOUT_MS 2000L

struct buf {
    char *p;
    size_t len, cap;
    bool overflow;
};

struct dka {
    CURL *h;
    char *sock;
    const atomic_bool *stop;
    struct buf body;
};

struct dka_stream {
    CURLM *m;
    CURL *h;
    char *sock;
    const atomic_bool *stop;
    dka_line_fn fn;
    void *arg;
    struct buf line;
    bool open;
};

int dka_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void dka_global_fini(void)
{
    curl_global_cleanup();
}

/* Appends n bytes (and keeps a NUL after them); false past `limit`. */
static bool buf_add(struct buf *b, const char *data, size_t n, size_t limit)
{
    if (b->len + n + 1 > limit)
        return false;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;

        while (cap < b->len + n + 1)
            cap *= 2;
        if ((p = realloc(b->p, cap)) == NULL)
            return false;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return true;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un)
{
    const atomic_bool *stop = arg;

    (void)dt, (void)dn, (void)ut, (void)un;
    return atomic_load(stop) ? 1 : 0; /* non-zero aborts the transfer */
}

static void common_opts(CURL *h, const char *sock, const atomic_bool *stop)
{
    (void)curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
    (void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    (void)curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    (void)curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    (void)curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)stop);
}

/* ------------------------------------------------------------- requests */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;

    if (!buf_add(b, data, size * n, MAX_BODY))
        b->overflow = true; /* the rest is dropped; the caller gets an error */
    return size * n;
}

struct dka *dka_create(const char *sock, const atomic_bool *stop)
{
    struct dka *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->h = curl_easy_init();
    a->sock = strdup(sock);
    a->stop = stop;
    if (a->h == NULL || a->sock == NULL) {
        dka_destroy(a);
        return NULL;
    }
    return a;
}

void dka_destroy(struct dka *a)
{
    if (a == NULL)
        return;
    if (a->h)
        curl_easy_cleanup(a->h);
    free(a->sock);
    free(a->body.p);
    free(a);
}

long dka_request(struct dka *a, const char *method, const char *path,
                 long timeout_ms, const char **body, size_t *len, char *err,
                 size_t errsz)
{
    char url[1024];
    long status = -1;
    CURLcode rc;

    snprintf(url, sizeof(url), "%s%s", BASE_URL, path);
    curl_easy_reset(a->h); /* keeps the connection */
    common_opts(a->h, a->sock, a->stop);
    (void)curl_easy_setopt(a->h, CURLOPT_URL, url);
    (void)curl_easy_setopt(a->h, CURLOPT_TIMEOUT_MS, timeout_ms);
    (void)curl_easy_setopt(a->h, CURLOPT_WRITEFUNCTION, on_body);
    (void)curl_easy_setopt(a->h, CURLOPT_WRITEDATA, &a->body);
    if (strcmp(method, "POST") == 0) {
        (void)curl_easy_setopt(a->h, CURLOPT_POST, 1L);
        (void)curl_easy_setopt(a->h, CURLOPT_POSTFIELDS, "");
        (void)curl_easy_setopt(a->h, CURLOPT_POSTFIELDSIZE, 0L);
    }
    a->body.len = 0;
    a->body.overflow = false;
    if (!buf_add(&a->body, "", 0, MAX_BODY)) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    rc = curl_easy_perform(a->h);
    if (rc != CURLE_OK)
        snprintf(err, errsz, "%s", curl_easy_strerror(rc));
    else if (a->body.overflow)
        snprintf(err, errsz, "answer over %u bytes", MAX_BODY);
    else
        (void)curl_easy_getinfo(a->h, CURLINFO_RESPONSE_CODE, &status);
    if (body)
        *body = a->body.p;
    if (len)
        *len = a->body.len;
    return status;
}

char *dka_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0), *copy;

    if (e == NULL)
        return NULL;
    copy = strdup(e); /* freed with free(), not curl_free() */
    curl_free(e);
    return copy;
}

/* ------------------------------------------------------------- stream */

static size_t on_stream(char *data, size_t size, size_t n, void *arg)
{
    struct dka_stream *s = arg;
    size_t total = size * n, i, start = 0;

    for (i = 0; i < total; i++) {
        if (data[i] != '\n')
            continue;
        if (!s->line.overflow &&
            buf_add(&s->line, data + start, i - start, MAX_LINE) &&
            s->line.len > 0)
            s->fn(s->arg, s->line.p, s->line.len);
        s->line.len = 0;
        s->line.overflow = false;
        start = i + 1;
    }
    if (start < total &&
        !buf_add(&s->line, data + start, total - start, MAX_LINE))
        s->line.overflow = true; /* a line that long is dropped */
    return total;
}

struct dka_stream *dka_stream_create(const char *sock, const atomic_bool *stop,
                                     dka_line_fn fn, void *arg)
{
    struct dka_stream *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->m = curl_multi_init();
    s->h = curl_easy_init();
    s->sock = strdup(sock);
    s->stop = stop;
    s->fn = fn;
    s->arg = arg;
    if (s->m == NULL || s->h == NULL || s->sock == NULL) {
        dka_stream_destroy(s);
        return NULL;
    }
    return s;
}

void dka_stream_close(struct dka_stream *s)
{
    if (!s->open)
        return;
    (void)curl_multi_remove_handle(s->m, s->h);
    s->open = false;
    s->line.len = 0;
    s->line.overflow = false;
}

void dka_stream_destroy(struct dka_stream *s)
{
    if (s == NULL)
        return;
    if (s->m && s->h)
        dka_stream_close(s);
    if (s->h)
        curl_easy_cleanup(s->h);
    if (s->m)
        curl_multi_cleanup(s->m);
    free(s->sock);
    free(s->line.p);
    free(s);
}

int dka_stream_open(struct dka_stream *s, const char *path, char *err,
                    size_t errsz)
{
    char url[2048];

    dka_stream_close(s);
    snprintf(url, sizeof(url), "%s%s", BASE_URL, path);
    curl_easy_reset(s->h);
    common_opts(s->h, s->sock, s->stop);
    (void)curl_easy_setopt(s->h, CURLOPT_URL, url);
    (void)curl_easy_setopt(s->h, CURLOPT_FAILONERROR, 1L);
    (void)curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_stream);
    (void)curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
    if (curl_multi_add_handle(s->m, s->h) != CURLM_OK) {
        snprintf(err, errsz, "curl_multi_add_handle failed");
        return -1;
    }
    s->open = true;
    return 0;
}

bool dka_stream_is_open(const struct dka_stream *s)
{
    return s->open;
}

/* Runs the transfer; 1 when it ended (closed, reason in err). */
static int advance(struct dka_stream *s, char *err, size_t errsz)
{
    CURLMsg *msg;
    int running = 0, left;

    (void)curl_multi_perform(s->m, &running);
    while ((msg = curl_multi_info_read(s->m, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        if (msg->data.result == CURLE_OK)
            snprintf(err, errsz, "the daemon ended the stream");
        else
            snprintf(err, errsz, "%s", curl_easy_strerror(msg->data.result));
        dka_stream_close(s);
        return 1;
    }
    return 0;
}

int dka_stream_pump(struct dka_stream *s, int timeout_ms, char *err,
                    size_t errsz)
{
    if (s->open && advance(s, err, errsz))
        return 1;
    if (curl_multi_poll(s->m, NULL, 0, timeout_ms < 0 ? 0 : timeout_ms, NULL) !=
        CURLM_OK) {
        bool was_open = s->open;

        snprintf(err, errsz, "curl_multi_poll failed");
        dka_stream_close(s);
        return was_open ? 1 : 0;
    }
    return s->open ? advance(s, err, errsz) : 0;
}

void dka_stream_wakeup(struct dka_stream *s)
{
    (void)curl_multi_wakeup(s->m);
}
