/*
 * sessreq.c - result files and abort (see sessreq.h).
 */
#include "sessreq.h"

#include "archive.h"
#include "store.h"

#include "httpd.h"
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_TYPE "text/csv; charset=utf-8"
#define MAX_RESULT_BYTES (512UL << 20)

static char *error(int *code, int status, const char *msg)
{
    *code = status;
    return httpd_error_json(msg);
}

/* The whole file as a NUL-terminated string (result files hold text). */
static char *slurp(const char *path, int *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    *err = 0;
    if (f == NULL) {
        *err = errno;
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        (unsigned long)n <= MAX_RESULT_BYTES && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, f) == (size_t)n) {
            buf[n] = '\0';
        } else {
            free(buf);
            buf = NULL;
        }
    }
    if (buf == NULL && *err == 0)
        *err = EIO;
    (void)fclose(f);
    return buf;
}

static char *result_file(const struct cp_sessreq *r, const char *id,
                         const char *file, int *code, const char **type)
{
    char rel[256], path[4096 + 300];
    char *body;
    int err;

    if (!cp_archive_file_valid(file))
        return error(code, strchr(file, '/') ? 404 : 400,
                     "no such result file (q1.csv, q2_best_selling.csv, "
                     "q2_most_profitable.csv, q3.csv, q4.csv)");
    if (r->archive_dir == NULL)
        return error(code, 404, "no archive");
    if (cp_store_archive_of(r->store, id, rel, sizeof(rel)) != 0)
        return error(code, 404,
                     cp_store_state(r->store, id) == CP_STATE_UNKNOWN
                         ? "unknown session"
                         : "no archived results for this session (not "
                           "finished, failed, or expired)");
    snprintf(path, sizeof(path), "%s/%s/%s", r->archive_dir, rel, file);
    body = slurp(path, &err);
    if (body == NULL)
        return err == ENOENT ? error(code, 404, "the session has no such file")
                             : error(code, 500, "cannot read the result file");
    *code = 200;
    *type = CSV_TYPE;
    return body;
}

/* Constant-time comparison of the presented token with the configured. */
static bool token_ok(const char *want, const char *auth)
{
    static const char bearer[] = "Bearer ";
    size_t n = strlen(want), i;
    unsigned char diff = 0;

    if (auth == NULL || strncmp(auth, bearer, sizeof(bearer) - 1) != 0)
        return false;
    auth += sizeof(bearer) - 1;
    if (strlen(auth) != n)
        return false;
    for (i = 0; i < n; i++)
        diff |= (unsigned char)(want[i] ^ auth[i]);
    return diff == 0;
}

static char *abort_session(const struct cp_sessreq *r, const char *id,
                           int *code)
{
    char peer[64];

    if (r->admin_token == NULL || r->admin_token[0] == '\0')
        return error(code, 403,
                     "admin endpoints are off (set ADMIN_TOKEN to enable)");
    if (!token_ok(r->admin_token, httpd_request_header("Authorization"))) {
        httpd_request_peer(peer, sizeof(peer));
        log_warn("controlplane admin request refused: missing or wrong "
                 "token peer=%s session=%s",
                 peer, id);
        return error(code, 401, "missing or wrong bearer token");
    }
    switch (cp_store_state(r->store, id)) {
    case CP_STATE_UNKNOWN:
        return error(code, 404, "unknown session");
    case CP_STATE_FINISHED:
        return error(code, 409, "the session has already ended");
    default:
        break;
    }
    if (r->abort == NULL || r->abort(r->abort_arg, id) != 0)
        return error(code, 503, "too many aborts waiting: try again");
    httpd_request_peer(peer, sizeof(peer));
    log_info("controlplane abort requested session=%s peer=%s", id, peer);
    *code = 202;
    return strdup("{\"status\":\"aborting\"}");
}

char *cp_sessreq_handle(const struct cp_sessreq *r, const char *method,
                        const char *id, const char *rest, int *code,
                        const char **type)
{
    static const char results[] = "results/";
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

    if (strcmp(rest, "abort") == 0) {
        if (strcmp(method, "POST") != 0)
            return error(code, 405, "abort takes POST");
        return abort_session(r, id, code);
    }
    if (strncmp(rest, results, sizeof(results) - 1) == 0) {
        if (!get)
            return error(code, 405, "only GET");
        return result_file(r, id, rest + sizeof(results) - 1, code, type);
    }
    return error(code, 404, "not found");
}
