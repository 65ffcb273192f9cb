/*
 * cli.c - the client's control plane commands, like `docker ps` and
 * `kubectl get`: `status [ID]` (every session, or one in detail), `watch`
 * (the table redrawn every second) and `results ID --out DIR` (a finished
 * session's archived result files). The HTTP is api.c's, the text view.c's;
 * this file parses the arguments, asks, prints and writes the files.
 */
#include "client.h"

#include "api.h"
#include "view.h"

#include "cfg.h"
#include "clock.h"
#include "sig.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_URL "http://127.0.0.1:8080"
#define ID_LEN 36
#define MAX_FILES 64

#define URL_OPT(dst)                                                           \
    {                                                                          \
        "CONTROLPLANE_URL", "controlplane", CFG_STR, DEFAULT_URL, 0, 0, false, \
            "the control plane's base URL", (dst)                              \
    }

void cl_cmd_usage(void)
{
    printf("usage: client COMMAND [options]   (no COMMAND: run)\n\n"
           "commands:\n"
           "  run --data-folder NAME   stream a data set to the gateway and "
           "write its results\n"
           "                           (the default: `client --data-folder "
           "NAME` is the same)\n"
           "  status [ID]              the control plane's sessions, newest "
           "first; with an ID\n"
           "                           (or a unique prefix of one), that "
           "session in detail\n"
           "  watch                    the sessions table, redrawn every "
           "second until Ctrl-C\n"
           "  results ID --out DIR     download a finished session's archived "
           "result files\n"
           "  help                     this list\n\n"
           "`client COMMAND --help` lists a command's options; status, watch "
           "and results ask\nthe control plane at CONTROLPLANE_URL (default "
           "%s).\n",
           DEFAULT_URL);
}

/* cfg_parse() after taking out up to maxpos positionals (*npos). Returns a
 * cfg_result; too many positionals is a CFG_ERROR. */
static int parse(const struct cfg_opt *opts, size_t n, int argc, char **argv,
                 const char *usage, const char *about, const char **pos,
                 int maxpos, int *npos)
{
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    int rc, nrest;

    if (rest == NULL)
        return CFG_ERROR;
    *npos = cv_split_args(opts, n, argc, argv, rest, pos, maxpos);
    for (nrest = 0; rest[nrest]; nrest++)
        ;
    rc = cfg_parse(opts, n, nrest, rest, usage, about);
    free(rest);
    if (rc == CFG_OK && *npos < 0) {
        fprintf(stderr, "error: too many arguments\n%s\n(see --help)\n", usage);
        rc = CFG_ERROR;
    }
    return rc;
}

/* Prints why a request failed: no answer, or the answer's status and
 * error text. */
static void request_failed(const struct cl_api *a, const char *what,
                           long status, const char *body, const char *err)
{
    cJSON *j;
    const char *msg;

    if (status < 0) {
        fprintf(stderr, "error: cannot reach the control plane at %s: %s\n",
                cl_api_base(a), err);
        return;
    }
    j = cJSON_Parse(body ? body : "");
    msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "error"));
    fprintf(stderr, "error: %s: HTTP %ld from the control plane at %s%s%s\n",
            what, status, cl_api_base(a), msg ? ": " : "", msg ? msg : "");
    cJSON_Delete(j);
}

/* GETs path and parses the JSON answer into *root. 0, or -1 (printed). */
static int get_json(struct cl_api *a, const char *path, const char *what,
                    cJSON **root, const char **raw)
{
    const char *body = NULL;
    char err[512] = "";
    long status = cl_api_get(a, path, &body, err, sizeof(err));

    *root = NULL;
    if (status != 200) {
        request_failed(a, what, status, body, err);
        return -1;
    }
    if ((*root = cJSON_Parse(body)) == NULL) {
        fprintf(stderr, "error: %s: the control plane at %s sent no JSON\n",
                what, cl_api_base(a));
        return -1;
    }
    if (raw)
        *raw = body;
    return 0;
}

/* The session list's array (borrowed from root), or NULL (printed). */
static const cJSON *sessions_of(const struct cl_api *a, const cJSON *root)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "sessions");

    if (!cJSON_IsArray(s))
        fprintf(stderr, "error: the control plane at %s sent no session list\n",
                cl_api_base(a));
    return cJSON_IsArray(s) ? s : NULL;
}

static bool id_chars_ok(const char *id)
{
    size_t i, n = strlen(id);

    for (i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') ||
              (id[i] >= 'a' && id[i] <= 'f') || id[i] == '-'))
            return false;
    return n > 0 && n <= ID_LEN;
}

/* The full id of the session `arg` names (an id or a unique prefix of
 * one) into id. 0, or -1 (printed: unknown, ambiguous, no answer). */
static int resolve(struct cl_api *a, const char *arg, char id[ID_LEN + 1])
{
    const cJSON *list, *s = NULL;
    cJSON *root;
    int m = CV_NONE;

    if (get_json(a, "/api/sessions", "listing the sessions", &root, NULL) != 0)
        return -1;
    if ((list = sessions_of(a, root)) == NULL)
        goto out_root;
    if (id_chars_ok(arg))
        m = cv_find_session(list, arg, &s);
    if (m == CV_NONE)
        fprintf(stderr, "error: no session %s at the control plane at %s\n",
                arg, cl_api_base(a));
    else if (m == CV_AMBIGUOUS)
        fprintf(stderr,
                "error: %s names several sessions: give more of the "
                "id\n",
                arg);
    else
        snprintf(
            id, ID_LEN + 1, "%s",
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "id")));
out_root:
    cJSON_Delete(root);
    return m == CV_FOUND && id_chars_ok(id) ? 0 : -1;
}

/* Writes the buffer to stdout; 0, or -1 when it ran out of memory. */
static int print_buf(struct cv_buf *b)
{
    int rc = b->oom ? -1 : 0;

    if (b->oom)
        fprintf(stderr, "error: out of memory\n");
    else if (fputs(cv_text(b), stdout) == EOF || fflush(stdout) != 0)
        rc = -1;
    cv_buf_fini(b);
    return rc;
}

/* ------------------------------------------------------------- status */

static int status_all(struct cl_api *a, bool json, bool full)
{
    struct cv_buf b = {0};
    const cJSON *list;
    const char *raw;
    cJSON *root;
    int rc = 1;

    if (get_json(a, "/api/sessions", "listing the sessions", &root, &raw) != 0)
        return 1;
    if (json) {
        rc = printf("%s\n", raw) < 0 ? 1 : 0;
    } else if ((list = sessions_of(a, root)) != NULL) {
        cv_sessions_table(&b, list, clock_wall_ms(), full);
        rc = print_buf(&b) == 0 ? 0 : 1;
    }
    cJSON_Delete(root);
    return rc;
}

static int status_one(struct cl_api *a, const char *arg, bool json)
{
    char id[ID_LEN + 1], path[128];
    struct cv_buf b = {0};
    const char *raw;
    cJSON *s;
    int rc;

    if (resolve(a, arg, id) != 0)
        return 1;
    snprintf(path, sizeof(path), "/api/sessions/%s", id);
    if (get_json(a, path, id, &s, &raw) != 0)
        return 1;
    if (json) {
        rc = printf("%s\n", raw) < 0 ? 1 : 0;
    } else {
        cv_session_detail(&b, s, clock_wall_ms());
        rc = print_buf(&b) == 0 ? 0 : 1;
    }
    cJSON_Delete(s);
    return rc;
}

int cl_cmd_status(int argc, char **argv)
{
    const char *url, *pos[1];
    bool json = false, full = false;
    const struct cfg_opt opts[] = {
        URL_OPT(&url),
        {NULL, "json", CFG_BOOL, "0", 0, 0, false,
         "print the control plane's JSON as is", &json},
        {NULL, "no-trunc", CFG_BOOL, "0", 0, 0, false,
         "whole session ids in the table", &full},
    };
    struct cl_api *a;
    char err[512];
    int npos, rc;

    rc = parse(opts, sizeof(opts) / sizeof(opts[0]), argc, argv,
               "usage: client status [ID] [options]",
               "Without ID: a table of every session the control plane knows, "
               "newest first (id,\nclient, state, start, duration, progress, "
               "rows sent). With ID (a session id or\na unique prefix of one): "
               "that session's details, per stage progress, rejected\nrows, "
               "error and archived result files. Exit status: 0, 1 when the "
               "control\nplane is unreachable or the session unknown, 2 on "
               "bad arguments.",
               pos, 1, &npos);
    if (rc != CFG_OK)
        return rc == CFG_HELP ? 0 : 2;
    if ((a = cl_api_create(url, err, sizeof(err))) == NULL) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    rc = npos == 0 ? status_all(a, json, full) : status_one(a, pos[0], json);
    cl_api_destroy(a);
    return rc;
}

/* ------------------------------------------------------------- watch */

struct watch_cfg {
    const char *url;
    long interval_ms, count;
    bool until_done, full;
};

/* One frame: a title line, then the table or why there is none. Returns 1
 * when the control plane answered and no session is active, 0 when it
 * answered, -1 when it did not. */
static int watch_frame(struct cl_api *a, const struct watch_cfg *w,
                       struct cv_buf *b)
{
    int64_t now = clock_wall_ms();
    const char *body = NULL;
    const cJSON *list;
    char err[512] = "", t[32];
    cJSON *root = NULL;
    long status = cl_api_get(a, "/api/sessions", &body, err, sizeof(err));
    int rc = -1;

    cv_fmt_time(now, t, sizeof(t));
    cv_printf(b, "sessions at %s, every %.1f s (Ctrl-C stops)  %s UTC\n\n",
              cl_api_base(a), (double)w->interval_ms / 1000.0, t);
    if (status < 0)
        cv_printf(b, "cannot reach the control plane at %s: %s\n",
                  cl_api_base(a), err);
    else if (status != 200)
        cv_printf(b, "the control plane answered HTTP %ld\n", status);
    else if ((root = cJSON_Parse(body)) == NULL ||
             !cJSON_IsArray(
                 list = cJSON_GetObjectItemCaseSensitive(root, "sessions")))
        cv_printf(b, "the control plane sent no session list\n");
    else {
        cv_sessions_table(b, list, now, w->full);
        rc = cv_any_active(list) ? 0 : 1;
    }
    cJSON_Delete(root);
    return rc;
}

static int watch_loop(struct cl_api *a, const struct watch_cfg *w)
{
    bool tty = isatty(STDOUT_FILENO) == 1;
    long i;
    int r = 0;

    for (i = 0; w->count == 0 || i < w->count; i++) {
        struct cv_buf b = {0};

        if (i > 0)
            cl_sleep_ms((int)w->interval_ms);
        if (sig_stop_requested())
            break;
        if (tty)
            cv_printf(&b, "\033[H\033[2J"); /* home, clear the screen */
        else if (i > 0)
            cv_printf(&b, "\n");
        r = watch_frame(a, w, &b);
        if (print_buf(&b) != 0)
            return 1;
        if (w->until_done && r == 1)
            break;
    }
    return r < 0 ? 1 : 0;
}

int cl_cmd_watch(int argc, char **argv)
{
    struct watch_cfg w;
    const char *pos[1];
    const struct cfg_opt opts[] = {
        URL_OPT(&w.url),
        {NULL, "interval", CFG_INT, "1000", 100, 3600000, false,
         "milliseconds between refreshes", &w.interval_ms},
        {NULL, "count", CFG_INT, "0", 0, 1000000000, false,
         "stop after this many refreshes (0: until Ctrl-C)", &w.count},
        {NULL, "until-done", CFG_BOOL, "0", 0, 0, false,
         "stop once no session is streaming, draining or finishing",
         &w.until_done},
        {NULL, "no-trunc", CFG_BOOL, "0", 0, 0, false,
         "whole session ids in the table", &w.full},
    };
    struct cl_api *a;
    char err[512];
    int npos, rc;

    rc = parse(opts, sizeof(opts) / sizeof(opts[0]), argc, argv,
               "usage: client watch [options]",
               "Redraws the table of every session (as `client status` "
               "prints it) every second\nuntil Ctrl-C: in place on a "
               "terminal, else one table per refresh after a blank\nline. "
               "Exit status: 0, 1 when the last refresh could not reach "
               "the control\nplane, 2 on bad arguments.",
               pos, 0, &npos);
    if (rc != CFG_OK)
        return rc == CFG_HELP ? 0 : 2;
    if (sig_stop_install(-1) != 0) {
        fprintf(stderr, "error: cannot install signal handlers\n");
        return 1;
    }
    if ((a = cl_api_create(w.url, err, sizeof(err))) == NULL) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    rc = watch_loop(a, &w);
    cl_api_destroy(a);
    return rc;
}

/* ------------------------------------------------------------- results */

struct rfile {
    const char *name, *url; /* borrowed from the session's JSON */
    int64_t rows, bytes;    /* bytes -1: not given */
    char tmp[4400], dst[4400];
};

/* Checks the session's `results` into files; the count, or -1 (printed). */
static int result_list(const cJSON *s, const char *id, struct rfile *f, int max)
{
    const char *state =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "state"));
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(s, "results"), *r;
    int n = 0;

    if (state == NULL || strcmp(state, "done") != 0) {
        fprintf(stderr,
                "error: session %s is %s: only a done session has "
                "results\n",
                id, state ? state : "in an unknown state");
        return -1;
    }
    if (cJSON_GetArraySize(res) == 0) {
        fprintf(stderr, "error: session %s has no archived results\n", id);
        return -1;
    }
    cJSON_ArrayForEach(r, res) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(r, "bytes");
        const cJSON *rows = cJSON_GetObjectItemCaseSensitive(r, "rows");

        if (n == max)
            break;
        f[n].name =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "file"));
        f[n].url =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "url"));
        if (f[n].name == NULL || !cv_safe_file_name(f[n].name) ||
            f[n].url == NULL || f[n].url[0] != '/') {
            fprintf(stderr,
                    "error: session %s lists a result with a bad file "
                    "name or url\n",
                    id);
            return -1;
        }
        f[n].bytes = cv_json_int(b, -1);
        f[n].rows = cv_json_int(rows, 0);
        n++;
    }
    return n;
}

/* Downloads one file into its temporary file, made durable. 0 or -1. */
static int fetch_file(struct cl_api *a, struct rfile *f)
{
    const char *body = NULL;
    char err[512] = "";
    uint64_t got = 0;
    long status;
    int fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0) {
        fprintf(stderr, "error: cannot create %s: %s\n", f->tmp,
                strerror(errno));
        return -1;
    }
    status = cl_api_download(a, f->url, fd, &got, &body, err, sizeof(err));
    if (status != 200) {
        (void)close(fd);
        request_failed(a, f->name, status, body, err);
        return -1;
    }
    if (f->bytes >= 0 && (uint64_t)f->bytes != got) {
        (void)close(fd);
        fprintf(stderr, "error: %s: got %llu bytes, the session lists %lld\n",
                f->name, (unsigned long long)got, (long long)f->bytes);
        return -1;
    }
    f->bytes = (int64_t)got;
    if (fsync(fd) != 0 || close(fd) != 0) {
        fprintf(stderr, "error: cannot write %s: %s\n", f->tmp,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* Downloads every file, then renames them all into place. 0 or -1. */
static int fetch_all(struct cl_api *a, struct rfile *f, int n, char *dir)
{
    struct stat st;
    bool existed = stat(dir, &st) == 0;
    int i, done = 0, dfd;

    if (cl_make_dirs(dir) != 0) {
        fprintf(stderr, "error: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (i = 0; i < n; i++) {
        snprintf(f[i].tmp, sizeof(f[i].tmp), "%s/.%s.part-%ld", dir, f[i].name,
                 (long)getpid());
        snprintf(f[i].dst, sizeof(f[i].dst), "%s/%s", dir, f[i].name);
    }
    for (done = 0; done < n; done++)
        if (fetch_file(a, &f[done]) != 0)
            goto out_tmp;
    for (i = 0; i < n; i++)
        if (rename(f[i].tmp, f[i].dst) != 0) {
            fprintf(stderr, "error: cannot rename %s: %s\n", f[i].tmp,
                    strerror(errno));
            goto out_tmp;
        }
    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        (void)fsync(dfd); /* the renames, durable (best effort) */
        (void)close(dfd);
    }
    return 0;
out_tmp:
    for (i = 0; i < n && i <= done; i++)
        (void)unlink(f[i].tmp); /* those renamed already are gone: ENOENT */
    if (!existed)
        (void)rmdir(dir); /* only if it stayed empty */
    return -1;
}

static int results_run(struct cl_api *a, const char *arg, const char *out)
{
    char id[ID_LEN + 1], path[128], dir[4096];
    struct rfile *f = calloc(MAX_FILES, sizeof(*f));
    cJSON *s = NULL;
    int n, i, rc = 1;

    if (f == NULL) {
        fprintf(stderr, "error: out of memory\n");
        return 1;
    }
    if (resolve(a, arg, id) != 0)
        goto out_files;
    snprintf(path, sizeof(path), "/api/sessions/%s", id);
    if (get_json(a, path, id, &s, NULL) != 0)
        goto out_files;
    snprintf(dir, sizeof(dir), "%s", out);
    if ((n = result_list(s, id, f, MAX_FILES)) < 0 ||
        fetch_all(a, f, n, dir) != 0)
        goto out_json;
    for (i = 0; i < n; i++)
        printf("wrote %s (%lld rows, %lld bytes)\n", f[i].dst,
               (long long)f[i].rows, (long long)f[i].bytes);
    rc = fflush(stdout) == 0 ? 0 : 1;
out_json:
    cJSON_Delete(s);
out_files:
    free(f);
    return rc;
}

int cl_cmd_results(int argc, char **argv)
{
    const char *url, *out, *pos[1];
    const struct cfg_opt opts[] = {
        URL_OPT(&url),
        {NULL, "out", CFG_STR, NULL, 0, 0, false,
         "folder the files go into (created)", &out},
    };
    struct cl_api *a;
    char err[512];
    int npos, rc;

    rc = parse(opts, sizeof(opts) / sizeof(opts[0]), argc, argv,
               "usage: client results ID --out DIR [options]",
               "Downloads every result file the control plane archived for "
               "the finished session\nID (or a unique prefix of one) into "
               "DIR: each into a temporary file, made\ndurable, then all "
               "renamed into place. Exit status: 0, 1 when the control "
               "plane\nis unreachable, the session unknown, not done or "
               "without archive, or a\ndownload fails, 2 on bad arguments.",
               pos, 1, &npos);
    if (rc == CFG_OK && npos != 1) {
        fprintf(stderr, "error: which session? usage: client results ID "
                        "--out DIR\n");
        rc = CFG_ERROR;
    }
    if (rc != CFG_OK)
        return rc == CFG_HELP ? 0 : 2;
    if (sig_stop_install(-1) != 0) {
        fprintf(stderr, "error: cannot install signal handlers\n");
        return 1;
    }
    if ((a = cl_api_create(url, err, sizeof(err))) == NULL) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    rc = results_run(a, pos[0], out);
    cl_api_destroy(a);
    return rc;
}
