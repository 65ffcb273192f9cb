/*
 * store.c - the control plane's sessions in memory and in SQLite (see
 * store.h). One row per session (id, state, times, the last snapshot as
 * JSON); the memory holds the newest max_sessions of them.
 */
#include "store.h"

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
    cJSON *doc; /* the last snapshot, "started_ms" the earliest known */
};

struct cp_store {
    pthread_mutex_t mu;
    sqlite3 *db;
    sqlite3_stmt *upsert;
    struct sess *v;
    size_t n, cap, max;
    unsigned long long events, rejected, db_errors;
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
        !cJSON_IsNumber(t0) ||
        !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "stages")))
        return -1;
    *id = jid->valuestring;
    *state = state_index(st->valuestring);
    *started = t0->valuedouble;
    return *state < 0 ? -1 : 0;
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
        rc = cJSON_IsNumber(end)
                 ? sqlite3_bind_int64(s->upsert, 4,
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
    rc = remember(s, doc, key, state, started);
    if (rc == 0)
        rc = save(s, find(s, key));
    (void)pthread_mutex_unlock(&s->mu);
    return rc < 0 ? rc : 0;
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
