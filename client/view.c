/*
 * view.c - tables and details of control plane sessions, id prefixes and
 * subcommand arguments, without I/O (see view.h).
 */
#include "view.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHORT_ID 12
#define CLIENT_W 20

/* ------------------------------------------------------------- buffer */

void cv_buf_fini(struct cv_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

const char *cv_text(const struct cv_buf *b)
{
    return b->p ? b->p : "";
}

static bool buf_reserve(struct cv_buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : 1024;
    char *p;

    if (need <= b->cap)
        return true;
    while (cap < need)
        cap *= 2;
    if ((p = realloc(b->p, cap)) == NULL) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void cv_printf(struct cv_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->oom)
        return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !buf_reserve(b, b->len + (size_t)n + 1))
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len += (size_t)n;
}

/* ------------------------------------------------------------- fields */

static const char *jstr(const cJSON *o, const char *key)
{
    const char *s =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));

    return s ? s : "";
}

int64_t cv_json_int(const cJSON *v, int64_t def)
{
    /* the bounds keep the conversion defined (no NaN, nothing past int64) */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= -9.0e18) ||
        !(v->valuedouble <= 9.0e18))
        return def;
    return (int64_t)v->valuedouble;
}

/* The number at key, or def when it is absent or not a number. */
static int64_t jnum(const cJSON *o, const char *key, int64_t def)
{
    return cv_json_int(cJSON_GetObjectItemCaseSensitive(o, key), def);
}

/* "-" for an unknown (negative: absent or null) count, else the number. */
static void fmt_count(int64_t v, char *out, size_t n)
{
    if (v < 0)
        snprintf(out, n, "-");
    else
        snprintf(out, n, "%lld", (long long)v);
}

void cv_fmt_duration(int64_t ms, char *out, size_t n)
{
    if (ms < 0)
        snprintf(out, n, "-");
    else if (ms < 1000)
        snprintf(out, n, "%lldms", (long long)ms);
    else if (ms < 60000)
        snprintf(out, n, "%lld.%llds", (long long)(ms / 1000),
                 (long long)(ms % 1000 / 100));
    else if (ms < 3600000)
        snprintf(out, n, "%lldm%02llds", (long long)(ms / 60000),
                 (long long)(ms / 1000 % 60));
    else
        snprintf(out, n, "%lldh%02lldm", (long long)(ms / 3600000),
                 (long long)(ms / 60000 % 60));
}

void cv_fmt_time(int64_t ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0 || gmtime_r(&t, &tm) == NULL ||
        strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(out, n, "-");
}

int cv_overall_percent(const cJSON *s)
{
    const cJSON *st;
    int64_t sum = 0;
    int count = 0;

    if (strcmp(jstr(s, "state"), "done") == 0)
        return 100;
    cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(s, "stages")) {
        int64_t p = jnum(st, "percent", 0);

        sum += p < 0 ? 0 : p > 100 ? 100 : p;
        count++;
    }
    return count ? (int)(sum / count) : -1;
}

bool cv_session_active(const cJSON *s)
{
    const char *st = jstr(s, "state");

    return strcmp(st, "streaming") == 0 || strcmp(st, "draining") == 0 ||
           strcmp(st, "finishing") == 0;
}

bool cv_any_active(const cJSON *sessions)
{
    const cJSON *s;

    cJSON_ArrayForEach(s, sessions) {
        if (cv_session_active(s))
            return true;
    }
    return false;
}

int64_t cv_session_duration_ms(const cJSON *s, int64_t now_ms)
{
    int64_t start = jnum(s, "started_ms", 0), end = jnum(s, "ended_ms", 0);

    if (start <= 0)
        return -1;
    if (end <= 0)
        end = now_ms;
    return end >= start ? end - start : -1;
}

/* ------------------------------------------------------------- table */

struct ranked {
    const cJSON *s;
    int64_t started;
    size_t index;
};

static int by_newest(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;

    if (x->started != y->started)
        return x->started < y->started ? 1 : -1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void table_row(struct cv_buf *b, const cJSON *s, int64_t now_ms,
                      int id_w)
{
    char started[32], dur[32], pct[16], rows[32];
    const char *client = jstr(s, "client");
    int p = cv_overall_percent(s);

    cv_fmt_time(jnum(s, "started_ms", 0), started, sizeof(started));
    cv_fmt_duration(cv_session_duration_ms(s, now_ms), dur, sizeof(dur));
    if (p < 0)
        snprintf(pct, sizeof(pct), "-");
    else
        snprintf(pct, sizeof(pct), "%d%%", p);
    fmt_count(jnum(s, "rows_sent", -1), rows, sizeof(rows));
    cv_printf(b, "%-*.*s  %-*.*s  %-9s  %-19s  %8s  %8s  %12s\n", id_w, id_w,
              jstr(s, "id"), CLIENT_W, CLIENT_W, client[0] ? client : "-",
              jstr(s, "state"), started, dur, pct, rows);
}

void cv_sessions_table(struct cv_buf *b, const cJSON *sessions, int64_t now_ms,
                       bool full_ids)
{
    int id_w = full_ids ? 36 : SHORT_ID;
    size_t n = (size_t)cJSON_GetArraySize(sessions), i = 0;
    struct ranked *r;
    const cJSON *s;

    cv_printf(b, "%-*s  %-*s  %-9s  %-19s  %8s  %8s  %12s\n", id_w, "ID",
              CLIENT_W, "CLIENT", "STATE", "STARTED (UTC)", "DURATION",
              "PROGRESS", "ROWS");
    if (n == 0) {
        cv_printf(b, "no sessions\n");
        return;
    }
    if ((r = calloc(n, sizeof(*r))) == NULL) {
        b->oom = true;
        return;
    }
    cJSON_ArrayForEach(s, sessions) {
        if (i < n)
            r[i] = (struct ranked){s, jnum(s, "started_ms", 0), i};
        i++;
    }
    qsort(r, n, sizeof(*r), by_newest);
    for (i = 0; i < n; i++)
        table_row(b, r[i].s, now_ms, id_w);
    free(r);
}

/* ------------------------------------------------------------- details */

static void detail_stages(struct cv_buf *b, const cJSON *s)
{
    const cJSON *st;

    cv_printf(b, "\n%-10s  %-9s  %12s  %12s  %8s\n", "STAGE", "STATE",
              "PROCESSED", "EXPECTED", "PROGRESS");
    cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(s, "stages")) {
        cv_printf(b, "%-10s  %-9s  %12lld  %12lld  %7lld%%\n",
                  jstr(st, "stage"), jstr(st, "state"),
                  (long long)jnum(st, "processed", 0),
                  (long long)jnum(st, "expected", 0),
                  (long long)jnum(st, "percent", 0));
    }
}

static void detail_rejected(struct cv_buf *b, const cJSON *s)
{
    const cJSON *t;
    long long total = 0;

    cv_printf(b, "\n%-20s  %10s\n", "TABLE", "REJECTED");
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(s, "rejected")) {
        long long v = (long long)cv_json_int(t, 0);

        cv_printf(b, "%-20s  %10lld\n", t->string ? t->string : "?", v);
        if (__builtin_add_overflow(total, v, &total))
            total = v < 0 ? LLONG_MIN : LLONG_MAX; /* saturates */
    }
    cv_printf(b, "%-20s  %10lld\n", "total", total);
}

static void detail_results(struct cv_buf *b, const cJSON *s)
{
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(s, "results"), *f;

    if (cJSON_GetArraySize(res) == 0) {
        cv_printf(b, "\nresults     %s\n",
                  strcmp(jstr(s, "state"), "done") == 0
                      ? "none archived"
                      : "archived once the session is done");
        return;
    }
    cv_printf(b, "\n%-24s  %12s  %12s\n", "RESULT", "ROWS", "BYTES");
    cJSON_ArrayForEach(f, res) {
        cv_printf(b, "%-24s  %12lld  %12lld\n", jstr(f, "file"),
                  (long long)jnum(f, "rows", 0),
                  (long long)jnum(f, "bytes", 0));
    }
}

void cv_session_detail(struct cv_buf *b, const cJSON *s, int64_t now_ms)
{
    char t[32], dur[32], rows[32], bytes[32];
    const char *v;
    int p = cv_overall_percent(s);

    cv_printf(b, "session     %s\n", jstr(s, "id"));
    v = jstr(s, "client");
    cv_printf(b, "client      %s\n", v[0] ? v : "-");
    v = jstr(s, "data_folder");
    if (v[0])
        cv_printf(b, "data        %s\n", v);
    cv_printf(b, "gateway     %s\n", jstr(s, "gateway"));
    cv_printf(b, "state       %s\n", jstr(s, "state"));
    cv_fmt_time(jnum(s, "started_ms", 0), t, sizeof(t));
    cv_printf(b, "started     %s UTC\n", t);
    cv_fmt_time(jnum(s, "ended_ms", 0), t, sizeof(t));
    cv_printf(b, "ended       %s%s\n", t, t[0] == '-' ? "" : " UTC");
    cv_fmt_duration(cv_session_duration_ms(s, now_ms), dur, sizeof(dur));
    cv_printf(b, "duration    %s\n", dur);
    if (p >= 0)
        cv_printf(b, "progress    %d %%\n", p);
    fmt_count(jnum(s, "rows_sent", -1), rows, sizeof(rows));
    fmt_count(jnum(s, "bytes_sent", -1), bytes, sizeof(bytes));
    cv_printf(b, "sent        %s rows, %s bytes\n", rows, bytes);
    if (cv_session_active(s) && jnum(s, "drain_ms", -1) >= 0) {
        cv_fmt_duration(jnum(s, "drain_ms", -1), dur, sizeof(dur));
        cv_printf(b, "drain       %s since the last batch\n", dur);
    }
    v = jstr(s, "error");
    if (v[0])
        cv_printf(b, "error       %s\n", v);
    detail_stages(b, s);
    detail_rejected(b, s);
    detail_results(b, s);
}

/* ------------------------------------------------------------- ids, args */

int cv_find_session(const cJSON *sessions, const char *prefix,
                    const cJSON **out)
{
    size_t len = strlen(prefix);
    const cJSON *s;
    int found = 0;

    *out = NULL;
    if (len == 0)
        return CV_NONE;
    cJSON_ArrayForEach(s, sessions) {
        const char *id = jstr(s, "id");

        if (strcmp(id, prefix) == 0) { /* an exact id wins */
            *out = s;
            return CV_FOUND;
        }
        if (strncmp(id, prefix, len) == 0 && found++ == 0)
            *out = s;
    }
    return found == 0 ? CV_NONE : found == 1 ? CV_FOUND : CV_AMBIGUOUS;
}

bool cv_safe_file_name(const char *name)
{
    size_t i, n = strlen(name);

    if (n == 0 || n > 128 || name[0] == '.')
        return false;
    for (i = 0; i < n; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* True when the option argument a ("--name" without "=") takes the next
 * argument as its value. */
static bool takes_value(const struct cfg_opt *opts, size_t n, const char *a)
{
    size_t i;

    if (strncmp(a, "--", 2) != 0 || strchr(a, '=') != NULL)
        return false;
    for (i = 0; i < n; i++)
        if (opts[i].flag && strcmp(opts[i].flag, a + 2) == 0)
            return opts[i].type != CFG_BOOL;
    return false;
}

int cv_split_args(const struct cfg_opt *opts, size_t n, int argc, char **argv,
                  char **rest, const char **pos, int maxpos)
{
    int i, nrest = 0, npos = 0;
    bool options = true;

    rest[nrest++] = argv[0];
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (options && strcmp(a, "--") == 0) {
            options = false;
        } else if (options && a[0] == '-' && a[1] != '\0') {
            rest[nrest++] = argv[i];
            if (takes_value(opts, n, a) && i + 1 < argc)
                rest[nrest++] = argv[++i];
        } else {
            if (npos == maxpos)
                return -1;
            pos[npos++] = a;
        }
    }
    rest[nrest] = NULL;
    return npos;
}
