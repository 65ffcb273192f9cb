/*
 * store.c - the control plane's sessions in memory and in SQLite (see
 * store.h). One row per session (id, state, times, the last snapshot as
 * JSON); the memory holds the newest max_sessions of them.
 */
#include "store.h"

#include "archive.h"

#include "clock.h"
#include "err.h"
#include "grow.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_LEN 36

/* The coordinator's phases (coordinator/coord.h), in its order. */
static const char *const states[] = {"streaming", "draining", "finishing",
                                     "done",      "failed",   "aborted"};
#define NSTATES (int)(sizeof(states) / sizeof(states[0]))
#define FIRST_FINAL 3 /* done, failed, aborted */

/* The stages with an input queue (common/plan.h), for the metrics. */
static const char *const stages[] = {"filter", "agg-q2", "agg-q3", "agg-q4",
                                     "sink"};
#define NSTAGES (int)(sizeof(stages) / sizeof(stages[0]))

struct sess {
    char id[ID_LEN + 1];
    int state;
    double started_ms;
    double seen_ms; /* wall clock of its last snapshot; 0: loaded */
    cJSON *doc;     /* the last snapshot, "started_ms" the earliest known */
};

/* The coordinator publishes an active session's snapshot at least every
 * 5 s: one silent this long ended while the control plane was not
 * listening (or the coordinator is down). */
#define STALE_MS 15000.0

/* Histogram bucket bounds (seconds) of the session durations and of the
 * drain (EOF) latency: last batch received to the session's end. */
static const double dur_le[] = {0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600};
static const double drain_le[] = {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60};
#define NLE (int)(sizeof(dur_le) / sizeof(dur_le[0]))
_Static_assert(sizeof(drain_le) == sizeof(dur_le), "same bucket count");

struct histo {
    unsigned long long bucket[NLE + 1]; /* [NLE]: +Inf */
    unsigned long long count;
    double sum;
};

struct cp_store {
    pthread_mutex_t mu;
    sqlite3 *db;
    sqlite3_stmt *upsert;
    struct sess *v;
    size_t n, cap, max;
    unsigned long long events, rejected, db_errors, expired;
    char last_gateway[64];   /* of the last snapshot applied */
    struct histo dur, drain; /* sessions that ended while we watched */
};

bool cp_session_id_valid(const char *id)
{
    size_t i;

    for (i = 0; i < ID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (id[i] == '\0' ||
            (dash ? id[i] != '-' : !isxdigit((unsigned char)id[i])))
            return false;
    }
    return id[ID_LEN] == '\0';
}

static int state_index(const char *name)
{
    int i;

    for (i = 0; name && i < NSTATES; i++)
        if (strcmp(states[i], name) == 0)
            return i;
    return -1;
}

/* ------------------------------------------------------------ memory */

static struct sess *find(struct cp_store *s, const char *id)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (strcmp(s->v[i].id, id) == 0)
            return &s->v[i];
    return NULL;
}

/* Drops the oldest finished session from memory (it stays in SQLite), or
 * the oldest one when none finished. */
static void evict(struct cp_store *s)
{
    size_t i, victim = 0;
    bool final = false;

    for (i = 0; i < s->n; i++) {
        bool f = s->v[i].state >= FIRST_FINAL;

        if ((f && !final) ||
            (f == final && s->v[i].started_ms < s->v[victim].started_ms)) {
            victim = i;
            final = f;
        }
    }
    cJSON_Delete(s->v[victim].doc);
    s->v[victim] = s->v[--s->n];
}

/* A time in ms from a snapshot: a number from 0 to 9e15 (exact in a double,
 * and an int64 for SQLite without overflow); NaN and the rest are not. */
static bool ms_ok(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 9e15;
}

/* Checks an event and returns its id, state and start (the doc keeps its
 * fields); -1 when it is not a session snapshot. */
static int check(const cJSON *doc, const char **id, int *state, double *started)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(doc, "type");
    const cJSON *jid = cJSON_GetObjectItemCaseSensitive(doc, "id");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "state");
    const cJSON *t0 = cJSON_GetObjectItemCaseSensitive(doc, "started_ms");

    if (!cJSON_IsObject(doc) || !cJSON_IsString(type) ||
        strcmp(type->valuestring, "session") != 0 || !cJSON_IsString(jid) ||
        !cp_session_id_valid(jid->valuestring) || !cJSON_IsString(st) ||
        !ms_ok(t0) ||
        !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "stages")))
        return -1;
    *id = jid->valuestring;
    *state = state_index(st->valuestring);
    *started = t0->valuedouble;
    return *state < 0 ? -1 : 0;
}

/* The fields the control plane adds to the coordinator's snapshot (the
 * archived results) go from the old doc to its successor. */
static void carry(const cJSON *from, cJSON *to)
{
    static const char *const keys[] = {"results", "archive"};
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, keys[i]);

        if (v && !cJSON_HasObjectItem(to, keys[i]))
            cJSON_AddItemToObject(to, keys[i], cJSON_Duplicate(v, true));
    }
}

static void observe(struct histo *h, const double *le, double v)
{
    int i;

    for (i = 0; i < NLE && v > le[i]; i++)
        ;
    h->bucket[i]++;
    h->count++;
    h->sum += v;
}

/* A session seen to end (not one loaded from the history): its duration
 * and drain latency go to the histograms. */
static void ended(struct cp_store *s, const cJSON *doc, double started)
{
    const cJSON *end = cJSON_GetObjectItemCaseSensitive(doc, "ended_ms");
    const cJSON *drain = cJSON_GetObjectItemCaseSensitive(doc, "drain_ms");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "state");

    if (!cJSON_IsString(st) || strcmp(st->valuestring, "done") != 0)
        return;
    if (cJSON_IsNumber(end) && end->valuedouble >= started)
        observe(&s->dur, dur_le, (end->valuedouble - started) / 1000.0);
    if (cJSON_IsNumber(drain) && drain->valuedouble >= 0)
        observe(&s->drain, drain_le, drain->valuedouble / 1000.0);
}

/* Puts doc (owned) in memory; false (doc freed) when an existing finished
 * session would go back to running. */
static int remember(struct cp_store *s, cJSON *doc, const char *id, int state,
                    double started)
{
    struct sess *x = find(s, id);

    if (x && x->state >= FIRST_FINAL && state < FIRST_FINAL) {
        cJSON_Delete(doc);
        return 1;
    }
    if (x && x->started_ms < started) {
        started = x->started_ms;
        cJSON_ReplaceItemInObjectCaseSensitive(doc, "started_ms",
                                               cJSON_CreateNumber(started));
    }
    if (x)
        carry(x->doc, doc);
    if (x == NULL) {
        if (s->n >= s->max)
            evict(s);
        if (grow_array((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v), 64)) {
            cJSON_Delete(doc);
            return CS_ERR_NOMEM;
        }
        x = &s->v[s->n++];
        snprintf(x->id, sizeof(x->id), "%s", id);
        x->doc = NULL;
        x->seen_ms = 0;
    }
    cJSON_Delete(x->doc);
    x->doc = doc;
    x->state = state;
    x->started_ms = started;
    return 0;
}

/* ------------------------------------------------------------ SQLite */

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS sessions ("
    " id TEXT PRIMARY KEY, state TEXT NOT NULL, started_ms INTEGER,"
    " ended_ms INTEGER, doc TEXT NOT NULL);";

static const char upsert_sql[] =
    "INSERT INTO sessions (id, state, started_ms, ended_ms, doc)"
    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO UPDATE SET"
    " state = ?2, started_ms = ?3, ended_ms = ?4, doc = ?5";

static int save(struct cp_store *s, const struct sess *x)
{
    const cJSON *end = cJSON_GetObjectItemCaseSensitive(x->doc, "ended_ms");
    char *text = cJSON_PrintUnformatted(x->doc);
    int rc;

    if (text == NULL)
        return CS_ERR_NOMEM;
    rc = sqlite3_bind_text(s->upsert, 1, x->id, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s->upsert, 2, states[x->state], -1,
                               SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s->upsert, 3, (sqlite3_int64)x->started_ms);
    if (rc == SQLITE_OK)
        rc = ms_ok(end) ? sqlite3_bind_int64(s->upsert, 4,
                                             (sqlite3_int64)end->valuedouble)
                        : sqlite3_bind_null(s->upsert, 4);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(s->upsert, 5, text, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s->upsert) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    (void)sqlite3_reset(s->upsert);
    (void)sqlite3_clear_bindings(s->upsert);
    free(text);
    if (rc != SQLITE_OK) {
        s->db_errors++;
        return CS_ERR_STATE_DIR;
    }
    return 0;
}

static int load(struct cp_store *s, char *err, size_t errsz)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(
        s->db, "SELECT doc FROM sessions ORDER BY started_ms DESC LIMIT ?1", -1,
        &st, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)s->max);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        cJSON *doc = text ? cJSON_Parse(text) : NULL;
        const char *id;
        double started;
        int state;

        if (doc && check(doc, &id, &state, &started) == 0)
            rc = remember(s, doc, id, state, started) < 0 ? SQLITE_NOMEM
                                                          : SQLITE_OK;
        else
            cJSON_Delete(doc); /* a row we cannot read: skipped */
    }
    (void)sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        snprintf(err, errsz, "cannot read the history: %s",
                 sqlite3_errmsg(s->db));
        return -1;
    }
    return 0;
}

struct cp_store *cp_store_open(const char *path, size_t max_sessions, char *err,
                               size_t errsz)
{
    struct cp_store *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    s->max = max_sessions ? max_sessions : 1;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        snprintf(err, errsz, "cannot create a mutex");
        free(s);
        return NULL;
    }
    if (sqlite3_open(path, &s->db) != SQLITE_OK ||
        sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, upsert_sql, -1, &s->upsert, NULL) !=
            SQLITE_OK) {
        snprintf(err, errsz, "%s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        cp_store_close(s);
        return NULL;
    }
    if (load(s, err, errsz) != 0) {
        cp_store_close(s);
        return NULL;
    }
    return s;
}

void cp_store_close(struct cp_store *s)
{
    size_t i;

    if (s == NULL)
        return;
    (void)sqlite3_finalize(s->upsert);
    (void)sqlite3_close(s->db);
    for (i = 0; i < s->n; i++)
        cJSON_Delete(s->v[i].doc);
    free(s->v);
    (void)pthread_mutex_destroy(&s->mu);
    free(s);
}

int cp_store_apply(struct cp_store *s, const void *body, size_t len)
{
    cJSON *doc = cJSON_ParseWithLength(body, len);
    const struct sess *x;
    const cJSON *gw;
    const char *id;
    double started;
    int state, rc;
    char key[ID_LEN + 1];

    (void)pthread_mutex_lock(&s->mu);
    s->events++;
    if (doc == NULL || check(doc, &id, &state, &started) != 0) {
        cJSON_Delete(doc);
        s->rejected++;
        (void)pthread_mutex_unlock(&s->mu);
        return CS_ERR_ARG;
    }
    snprintf(key, sizeof(key), "%s", id); /* id dies with doc */
    gw = cJSON_GetObjectItemCaseSensitive(doc, "gateway");
    snprintf(s->last_gateway, sizeof(s->last_gateway), "%s",
             cJSON_IsString(gw) &&
                     strlen(gw->valuestring) < sizeof(s->last_gateway)
                 ? gw->valuestring
                 : "");
    x = find(s, key);
    if (state >= FIRST_FINAL && (x == NULL || x->state < FIRST_FINAL))
        ended(s, doc, x && x->started_ms < started ? x->started_ms : started);
    rc = remember(s, doc, key, state, started);
    if (rc == 0) {
        struct sess *y = find(s, key);

        y->seen_ms = (double)clock_wall_ms();
        rc = save(s, y);
    }
    (void)pthread_mutex_unlock(&s->mu);
    return rc < 0 ? rc : 0;
}

/* ------------------------------------------------------------ archive */

/* A session's doc from SQLite (malloc'd text), NULL when absent. */
static char *db_doc(struct cp_store *s, const char *id, bool *found)
{
    sqlite3_stmt *st;
    char *out = NULL;

    *found = false;
    if (sqlite3_prepare_v2(s->db, "SELECT doc FROM sessions WHERE id = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return NULL;
    if (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);

        *found = true;
        out = text ? strdup(text) : NULL;
    }
    (void)sqlite3_finalize(st);
    return out;
}

/* The doc of a session in memory, else loaded from SQLite into memory;
 * NULL when unknown. */
static struct sess *find_or_load(struct cp_store *s, const char *id)
{
    struct sess *x = find(s, id);
    bool found;
    char *text;
    cJSON *doc;
    const char *did;
    double started;
    int state;

    if (x != NULL)
        return x;
    text = db_doc(s, id, &found);
    doc = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (doc == NULL || check(doc, &did, &state, &started) != 0 ||
        remember(s, doc, id, state, started) != 0) {
        cJSON_Delete(doc);
        return NULL;
    }
    return find(s, id);
}

/* A session the control plane learns of only by its results (it was down
 * while the session ran): a done session without stages. */
static cJSON *bare_doc(const char *id, double now_ms)
{
    cJSON *doc = cJSON_CreateObject();

    if (doc == NULL || !cJSON_AddStringToObject(doc, "type", "session") ||
        !cJSON_AddStringToObject(doc, "id", id) ||
        !cJSON_AddStringToObject(doc, "gateway", "") ||
        !cJSON_AddStringToObject(doc, "state", "done") ||
        !cJSON_AddNumberToObject(doc, "started_ms", now_ms) ||
        !cJSON_AddNumberToObject(doc, "ended_ms", now_ms) ||
        !cJSON_AddStringToObject(doc, "error", "") ||
        !cJSON_AddArrayToObject(doc, "stages") ||
        !cJSON_AddObjectToObject(doc, "rejected")) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

void cp_store_last_gateway(struct cp_store *s, char *buf, size_t n)
{
    (void)pthread_mutex_lock(&s->mu);
    snprintf(buf, n, "%s", s->last_gateway);
    (void)pthread_mutex_unlock(&s->mu);
}

double cp_store_started_ms(struct cp_store *s, const char *id)
{
    struct sess *x;
    double v;

    (void)pthread_mutex_lock(&s->mu);
    x = find_or_load(s, id);
    v = x ? x->started_ms : -1;
    (void)pthread_mutex_unlock(&s->mu);
    return v;
}

static cJSON *results_json(const char *id, const struct cp_result_file *f,
                           int n)
{
    cJSON *arr = cJSON_CreateArray();
    char url[200];
    int i;

    for (i = 0; arr && i < n; i++) {
        cJSON *o = cJSON_CreateObject();

        if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            break;
        }
        snprintf(url, sizeof(url), "/api/sessions/%s/results/%s", id,
                 f[i].name);
        if (!cJSON_AddStringToObject(o, "file", f[i].name) ||
            !cJSON_AddNumberToObject(o, "rows", (double)f[i].rows) ||
            !cJSON_AddNumberToObject(o, "bytes", (double)f[i].bytes) ||
            !cJSON_AddStringToObject(o, "url", url))
            break;
    }
    if (arr && i < n) {
        cJSON_Delete(arr);
        arr = NULL;
    }
    return arr;
}

/* A session whose end the control plane missed (no snapshot for
 * STALE_MS) but whose results arrived: done, ended now. */
static void mark_done(struct sess *x, double now_ms)
{
    const cJSON *end = cJSON_GetObjectItemCaseSensitive(x->doc, "ended_ms");

    x->state = FIRST_FINAL;
    cJSON_ReplaceItemInObjectCaseSensitive(x->doc, "state",
                                           cJSON_CreateString("done"));
    if (!cJSON_IsNumber(end))
        cJSON_ReplaceItemInObjectCaseSensitive(x->doc, "ended_ms",
                                               cJSON_CreateNumber(now_ms));
}

int cp_store_set_results(struct cp_store *s, const char *id, const char *rel,
                         const struct cp_result_file *f, int n, double now_ms)
{
    cJSON *arr = results_json(id, f, n), *doc;
    struct sess *x;
    int rc = 0;

    if (arr == NULL)
        return CS_ERR_NOMEM;
    (void)pthread_mutex_lock(&s->mu);
    x = find_or_load(s, id);
    if (x == NULL) {
        doc = bare_doc(id, now_ms);
        rc = doc ? remember(s, doc, id, FIRST_FINAL, now_ms) : CS_ERR_NOMEM;
        x = rc == 0 ? find(s, id) : NULL;
    }
    if (x != NULL && x->state < FIRST_FINAL && now_ms - x->seen_ms > STALE_MS)
        mark_done(x, now_ms); /* its end was missed: the results say done */
    if (x != NULL) {
        cJSON_DeleteItemFromObjectCaseSensitive(x->doc, "results");
        cJSON_DeleteItemFromObjectCaseSensitive(x->doc, "archive");
        cJSON_AddItemToObject(x->doc, "results", arr);
        arr = NULL;
        if (cJSON_AddStringToObject(x->doc, "archive", rel) == NULL)
            rc = CS_ERR_NOMEM;
        if (rc == 0)
            rc = save(s, x);
    }
    (void)pthread_mutex_unlock(&s->mu);
    cJSON_Delete(arr);
    return rc;
}

/* rel <- the doc's "archive" string; 0 or -1. */
static int doc_archive(const cJSON *doc, char *rel, size_t relsz)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(doc, "archive");

    if (!cJSON_IsString(a) || strlen(a->valuestring) >= relsz)
        return -1;
    snprintf(rel, relsz, "%s", a->valuestring);
    return 0;
}

int cp_store_archive_of(struct cp_store *s, const char *id, char *rel,
                        size_t relsz)
{
    bool found;
    char *text;
    cJSON *doc;
    int rc;

    (void)pthread_mutex_lock(&s->mu);
    text = db_doc(s, id, &found);
    (void)pthread_mutex_unlock(&s->mu);
    doc = text ? cJSON_Parse(text) : NULL;
    rc = doc ? doc_archive(doc, rel, relsz) : -1;
    cJSON_Delete(doc);
    free(text);
    return rc;
}

int cp_store_state(struct cp_store *s, const char *id)
{
    struct sess *x;
    int st;

    (void)pthread_mutex_lock(&s->mu);
    x = find_or_load(s, id);
    st = x ? x->state : -1;
    (void)pthread_mutex_unlock(&s->mu);
    return st < 0              ? CP_STATE_UNKNOWN
           : st >= FIRST_FINAL ? CP_STATE_FINISHED
                               : CP_STATE_RUNNING;
}

size_t cp_store_gateways(struct cp_store *s, char (*out)[64], size_t max)
{
    size_t i, k, n = 0;

    (void)pthread_mutex_lock(&s->mu);
    for (i = 0; i < s->n && n < max; i++) {
        const cJSON *g =
            cJSON_GetObjectItemCaseSensitive(s->v[i].doc, "gateway");

        if (!cJSON_IsString(g) || g->valuestring[0] == '\0' ||
            strlen(g->valuestring) >= sizeof(out[0]))
            continue;
        for (k = 0; k < n && strcmp(out[k], g->valuestring) != 0; k++)
            ;
        if (k == n)
            snprintf(out[n++], sizeof(out[0]), "%s", g->valuestring);
    }
    (void)pthread_mutex_unlock(&s->mu);
    return n;
}

/* Forgets session id: memory and SQLite. */
static void forget(struct cp_store *s, const char *id)
{
    struct sess *x = find(s, id);
    sqlite3_stmt *st;

    if (x != NULL) {
        cJSON_Delete(x->doc);
        *x = s->v[--s->n];
    }
    if (sqlite3_prepare_v2(s->db, "DELETE FROM sessions WHERE id = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return;
    if (sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_DONE)
        s->db_errors++;
    (void)sqlite3_finalize(st);
}

size_t cp_store_expire(struct cp_store *s, double now_ms, double max_age_ms,
                       size_t max_count, cp_store_drop_fn drop, void *arg)
{
    sqlite3_stmt *st;
    size_t kept = 0, gone = 0;
    char(*ids)[ID_LEN + 1] = NULL;
    size_t nids = 0, cap = 0, i;
    char rel[256];

    (void)pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, started_ms, doc FROM sessions WHERE "
                           "state IN ('done','failed','aborted') "
                           "ORDER BY started_ms DESC",
                           -1, &st, NULL) != SQLITE_OK) {
        (void)pthread_mutex_unlock(&s->mu);
        return 0;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        double started = (double)sqlite3_column_int64(st, 1);
        const char *text = (const char *)sqlite3_column_text(st, 2);
        bool old = max_age_ms > 0 && started < now_ms - max_age_ms;
        cJSON *doc;

        if (id == NULL || strlen(id) != ID_LEN)
            continue;
        if (!old && (max_count == 0 || kept < max_count)) {
            kept++;
            continue;
        }
        doc = text ? cJSON_Parse(text) : NULL;
        if (drop && doc && doc_archive(doc, rel, sizeof(rel)) == 0)
            drop(arg, rel);
        cJSON_Delete(doc);
        if (grow_array((void **)&ids, &cap, nids + 1, sizeof(*ids), 64) == 0)
            snprintf(ids[nids++], sizeof(ids[0]), "%s", id);
    }
    (void)sqlite3_finalize(st);
    for (i = 0; i < nids; i++, gone++)
        forget(s, ids[i]);
    s->expired += gone;
    (void)pthread_mutex_unlock(&s->mu);
    free(ids);
    return gone;
}

/* ------------------------------------------------------------ rendering */

static int newest_first(const void *a, const void *b)
{
    double x = ((const struct sess *)a)->started_ms;
    double y = ((const struct sess *)b)->started_ms;

    return (x < y) - (x > y);
}

char *cp_store_list_json(struct cp_store *s)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "sessions") : NULL;
    char *out = NULL;
    size_t i;

    (void)pthread_mutex_lock(&s->mu);
    /* the table's order is free: kept newest first */
    if (s->n > 1)
        qsort(s->v, s->n, sizeof(*s->v), newest_first);
    for (i = 0; arr && i < s->n; i++) {
        cJSON *copy = cJSON_Duplicate(s->v[i].doc, true);

        if (copy == NULL || !cJSON_AddItemToArray(arr, copy)) {
            cJSON_Delete(copy);
            arr = NULL;
        }
    }
    if (arr)
        out = cJSON_PrintUnformatted(root);
    (void)pthread_mutex_unlock(&s->mu);
    cJSON_Delete(root);
    return out;
}

char *cp_store_get_json(struct cp_store *s, const char *id, bool *found)
{
    struct sess *x;
    char *out = NULL;

    (void)pthread_mutex_lock(&s->mu);
    x = find(s, id);
    *found = x != NULL;
    if (x)
        out = cJSON_PrintUnformatted(x->doc);
    else
        out = db_doc(s, id, found); /* older than the memory holds */
    (void)pthread_mutex_unlock(&s->mu);
    return out;
}

/* Adds every session's processed and expected counts per stage. */
static void stage_sums(const struct cp_store *s, double *proc, double *exp)
{
    const cJSON *st, *name;
    size_t i;
    int k;

    for (i = 0; i < s->n; i++) {
        cJSON_ArrayForEach(
            st, cJSON_GetObjectItemCaseSensitive(s->v[i].doc, "stages")) {
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(st, "processed");
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(st, "expected");

            name = cJSON_GetObjectItemCaseSensitive(st, "stage");
            for (k = 0; cJSON_IsString(name) && k < NSTAGES; k++)
                if (strcmp(name->valuestring, stages[k]) == 0) {
                    proc[k] += cJSON_IsNumber(p) ? p->valuedouble : 0;
                    exp[k] += cJSON_IsNumber(e) ? e->valuedouble : 0;
                }
        }
    }
}

static void histogram(FILE *f, const char *name, const char *help,
                      const struct histo *h, const double *le)
{
    unsigned long long cum = 0;
    int i;

    fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (i = 0; i < NLE; i++) {
        cum += h->bucket[i];
        fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, le[i], cum);
    }
    fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.3f\n%s_count %llu\n",
            name, h->count, name, h->sum, name, h->count);
}

static void metrics_body(FILE *f, const struct cp_store *s, bool connected)
{
    double proc[NSTAGES] = {0}, exp[NSTAGES] = {0};
    size_t count[NSTATES] = {0}, i;
    int k;

    for (i = 0; i < s->n; i++)
        count[s->v[i].state]++;
    stage_sums(s, proc, exp);
    fprintf(f,
            "# HELP cs_controlplane_broker_connected 1 while the "
            "control plane's broker connection is up.\n"
            "# TYPE cs_controlplane_broker_connected gauge\n"
            "cs_controlplane_broker_connected %d\n",
            connected ? 1 : 0);
    fprintf(f, "# HELP cs_sessions Sessions the control plane holds, by "
               "state.\n# TYPE cs_sessions gauge\n");
    for (k = 0; k < NSTATES; k++)
        fprintf(f, "cs_sessions{state=\"%s\"} %zu\n", states[k], count[k]);
    fprintf(f, "# HELP cs_stage_processed_messages Input messages processed "
               "per stage, summed over the sessions held.\n"
               "# TYPE cs_stage_processed_messages gauge\n");
    for (k = 0; k < NSTAGES; k++)
        fprintf(f, "cs_stage_processed_messages{stage=\"%s\"} %.0f\n",
                stages[k], proc[k]);
    fprintf(f, "# HELP cs_stage_expected_messages Input messages declared "
               "per stage, summed over the sessions held.\n"
               "# TYPE cs_stage_expected_messages gauge\n");
    for (k = 0; k < NSTAGES; k++)
        fprintf(f, "cs_stage_expected_messages{stage=\"%s\"} %.0f\n", stages[k],
                exp[k]);
    fprintf(f,
            "# HELP cs_controlplane_events_total Events consumed from "
            "cs.events.\n# TYPE cs_controlplane_events_total counter\n"
            "cs_controlplane_events_total %llu\n"
            "# HELP cs_controlplane_events_rejected_total Events dropped: "
            "not a session snapshot.\n"
            "# TYPE cs_controlplane_events_rejected_total counter\n"
            "cs_controlplane_events_rejected_total %llu\n"
            "# HELP cs_controlplane_history_errors_total Failed writes to "
            "the SQLite history.\n"
            "# TYPE cs_controlplane_history_errors_total counter\n"
            "cs_controlplane_history_errors_total %llu\n",
            s->events, s->rejected, s->db_errors);
    fprintf(f,
            "# HELP cs_controlplane_sessions_expired_total Finished "
            "sessions removed from the history by the retention settings.\n"
            "# TYPE cs_controlplane_sessions_expired_total counter\n"
            "cs_controlplane_sessions_expired_total %llu\n",
            s->expired);
    histogram(f, "cs_session_duration_seconds",
              "Start to end of the sessions that ended done while the "
              "control plane ran.",
              &s->dur, dur_le);
    histogram(f, "cs_session_drain_seconds",
              "EOF latency: the client's last batch confirmed to the "
              "session's end (done sessions).",
              &s->drain, drain_le);
}

char *cp_store_metrics(struct cp_store *s, bool connected)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (f == NULL)
        return NULL;
    (void)pthread_mutex_lock(&s->mu);
    metrics_body(f, s, connected);
    (void)pthread_mutex_unlock(&s->mu);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
