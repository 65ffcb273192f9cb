/*
 * api.c - GETs to the control plane with libcurl (see api.h), loaded when
 * a handle is created and called through curl_dl.h's table.
 */
#include "api.h"

#include "curl_dl.h"
#include "sig.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BODY (64u << 20)
#define CONNECT_TIMEOUT_MS 3000L
#define JSON_TIMEOUT_MS 15000L
#define STALL_S 30L /* a download with no byte for this long fails */

struct cl_api {
    struct cl_curl curl; /* the loaded library, owned */
    CURL *h;
    char *base;
    char *body;
    size_t len, cap;
    bool overflow;
    /* downloads */
    int fd;
    uint64_t written;
    int write_errno;
};

struct cl_api *cl_api_create(const char *base_url, char *err, size_t errsz)
{
    struct cl_api *a;
    char why[512];
    size_t n;

    if ((a = calloc(1, sizeof(*a))) == NULL) {
        (void)snprintf(err, errsz, "out of memory");
        return NULL;
    }
    a->fd = -1;
    if (cl_curl_init(&a->curl, why, sizeof(why)) != 0) {
        (void)snprintf(err, errsz,
                       "status, watch and results need libcurl "
                       "(" CL_CURL_SONAME "): %s; install libcurl4",
                       why);
        goto out_free;
    }
    if (a->curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        (void)snprintf(err, errsz, "libcurl's global init failed");
        goto out_fini;
    }
    a->h = a->curl.easy_init();
    a->base = strdup(base_url);
    if (a->h == NULL || a->base == NULL) {
        (void)snprintf(err, errsz, "out of memory (libcurl handle)");
        cl_api_destroy(a);
        return NULL;
    }
    n = strlen(a->base);
    while (n > 0 && a->base[n - 1] == '/')
        a->base[--n] = '\0';
    return a;
out_fini:
    cl_curl_fini(&a->curl);
out_free:
    free(a);
    return NULL;
}

void cl_api_destroy(struct cl_api *a)
{
    if (a == NULL)
        return;
    if (a->h)
        a->curl.easy_cleanup(a->h);
    free(a->base);
    free(a->body);
    a->curl.global_cleanup();
    cl_curl_fini(&a->curl);
    free(a);
}

const char *cl_api_base(const struct cl_api *a)
{
    return a->base;
}

/* Appends to the body buffer, keeping a NUL after it. */
static bool body_add(struct cl_api *a, const char *data, size_t n)
{
    if (a->len + n + 1 > MAX_BODY)
        return false;
    if (a->len + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 8192;
        char *p;

        while (cap < a->len + n + 1)
            cap *= 2;
        if ((p = realloc(a->body, cap)) == NULL)
            return false;
        a->body = p;
        a->cap = cap;
    }
    memcpy(a->body + a->len, data, n);
    a->len += n;
    a->body[a->len] = '\0';
    return true;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct cl_api *a = arg;

    if (!body_add(a, data, size * n))
        a->overflow = true; /* the rest is dropped; the caller gets an error */
    return size * n;
}

/* A download: a 200's body goes to the file, anything else to the buffer. */
static size_t on_file(char *data, size_t size, size_t n, void *arg)
{
    struct cl_api *a = arg;
    size_t total = size * n, done = 0;
    long status = 0;

    (void)a->curl.easy_getinfo(a->h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
        return on_body(data, size, n, arg);
    while (done < total) {
        ssize_t w = write(a->fd, data + done, total - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            a->write_errno = w < 0 ? errno : EIO;
            return 0; /* aborts the transfer */
        }
        done += (size_t)w;
    }
    a->written += total;
    return total;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un)
{
    (void)arg, (void)dt, (void)dn, (void)ut, (void)un;
    return sig_stop_requested() ? 1 : 0; /* non-zero aborts the transfer */
}

/* Resets the handle for GET base+path; false when the URL is too long. */
static bool prepare(struct cl_api *a, const char *path, char *err, size_t errsz)
{
    char url[4096];
    int n = snprintf(url, sizeof(url), "%s%s", a->base, path);

    if (n < 0 || (size_t)n >= sizeof(url)) {
        snprintf(err, errsz, "URL too long");
        return false;
    }
    a->curl.easy_reset(a->h); /* keeps the connection */
    (void)a->curl.easy_setopt(a->h, CURLOPT_URL, url);
    (void)a->curl.easy_setopt(a->h, CURLOPT_NOSIGNAL, 1L);
    (void)a->curl.easy_setopt(a->h, CURLOPT_CONNECTTIMEOUT_MS,
                              CONNECT_TIMEOUT_MS);
    (void)a->curl.easy_setopt(a->h, CURLOPT_NOPROGRESS, 0L);
    (void)a->curl.easy_setopt(a->h, CURLOPT_XFERINFOFUNCTION, on_progress);
    (void)a->curl.easy_setopt(a->h, CURLOPT_PROTOCOLS_STR, "http,https");
    a->len = 0;
    a->overflow = false;
    if (!body_add(a, "", 0)) {
        snprintf(err, errsz, "out of memory");
        return false;
    }
    return true;
}

/* Runs the prepared transfer; the status or -1 (err). */
static long perform(struct cl_api *a, const char **body, char *err,
                    size_t errsz)
{
    long status = -1;
    CURLcode rc = a->curl.easy_perform(a->h);

    if (a->write_errno)
        snprintf(err, errsz, "cannot write: %s", strerror(a->write_errno));
    else if (rc == CURLE_ABORTED_BY_CALLBACK)
        snprintf(err, errsz, "interrupted");
    else if (rc != CURLE_OK)
        snprintf(err, errsz, "%s", a->curl.easy_strerror(rc));
    else if (a->overflow)
        snprintf(err, errsz, "answer over %u bytes", MAX_BODY);
    else
        (void)a->curl.easy_getinfo(a->h, CURLINFO_RESPONSE_CODE, &status);
    if (body)
        *body = a->body;
    return status;
}

long cl_api_get(struct cl_api *a, const char *path, const char **body,
                char *err, size_t errsz)
{
    if (!prepare(a, path, err, errsz))
        return -1;
    (void)a->curl.easy_setopt(a->h, CURLOPT_TIMEOUT_MS, JSON_TIMEOUT_MS);
    (void)a->curl.easy_setopt(a->h, CURLOPT_WRITEFUNCTION, on_body);
    (void)a->curl.easy_setopt(a->h, CURLOPT_WRITEDATA, a);
    a->write_errno = 0;
    return perform(a, body, err, errsz);
}

long cl_api_download(struct cl_api *a, const char *path, int fd,
                     uint64_t *bytes, const char **body, char *err,
                     size_t errsz)
{
    long status;

    if (!prepare(a, path, err, errsz))
        return -1;
    (void)a->curl.easy_setopt(a->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    (void)a->curl.easy_setopt(a->h, CURLOPT_LOW_SPEED_TIME, STALL_S);
    (void)a->curl.easy_setopt(a->h, CURLOPT_WRITEFUNCTION, on_file);
    (void)a->curl.easy_setopt(a->h, CURLOPT_WRITEDATA, a);
    a->fd = fd;
    a->written = 0;
    a->write_errno = 0;
    status = perform(a, body, err, errsz);
    *bytes = a->written;
    a->fd = -1;
    return status;
}
