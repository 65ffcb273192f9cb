/*
 * stages.c - replicas and queues of every stage (see stages.h).
 */
#include "stages.h"

#include "err.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NCOUNTERS 5 /* msgs_in, bytes_in, msgs_out, bytes_out, busy_ms */

static const char *const counter_names[NCOUNTERS] = {
    "msgs_in", "bytes_in", "msgs_out", "bytes_out", "busy_ms"};

struct replica {
    bool seen;
    char id[48]; /* the gateway's id ("" for workers) */
    int64_t pid, started_ms, last_ms, sessions;
    int64_t c[NCOUNTERS];    /* the current process's, since its start */
    int64_t base[NCOUNTERS]; /* the slot's earlier processes' last counts */
    int64_t restarts;
};

struct queue {
    char name[PLAN_NAME_MAX + 16];
    int stage;
    bool known;
    uint32_t messages, consumers;
};

struct cp_stages {
    pthread_mutex_t mu;
    int expected[PLAN_NSTAGES]; /* replica slots from the plan */
    int nslots[PLAN_NSTAGES];   /* expected, or more when seen */
    struct replica rep[PLAN_NSTAGES][PLAN_MAX_REPLICAS];
    struct queue *q;
    size_t nq;
};

struct cp_stages *cp_stages_create(const struct plan *p)
{
    struct cp_stages *s = calloc(1, sizeof(*s));
    char key[PLAN_NAME_MAX];
    size_t total = 0;
    int st, i;

    if (s == NULL)
        return NULL;
    for (st = PLAN_FILTER; st < PLAN_NSTAGES; st++) {
        s->expected[st] = s->nslots[st] = p->replicas[st];
        total += (size_t)plan_nqueues(p, (enum plan_stage_id)st);
    }
    s->q = calloc(total, sizeof(*s->q));
    if (s->q == NULL || pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s->q);
        free(s);
        return NULL;
    }
    for (st = PLAN_FILTER; st < PLAN_NSTAGES; st++)
        for (i = 0; i < plan_nqueues(p, (enum plan_stage_id)st); i++) {
            struct queue *q = &s->q[s->nq++];

            plan_queue_key(p, (enum plan_stage_id)st, i, key, sizeof(key));
            plan_queue((enum plan_stage_id)st, key, q->name, sizeof(q->name));
            q->stage = st;
        }
    return s;
}

void cp_stages_destroy(struct cp_stages *s)
{
    if (s == NULL)
        return;
    (void)pthread_mutex_destroy(&s->mu);
    free(s->q);
    free(s);
}

/* A non-negative integer member, or -1. */
static int64_t member(const cJSON *doc, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);

    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9e15)
        return -1;
    return (int64_t)v->valuedouble;
}

/* An id as GATEWAY_ID allows: letters, digits, '.', '_', '-'. */
static bool id_ok(const char *id)
{
    size_t i;

    for (i = 0; id[i] != '\0'; i++)
        if (i >= 47 || !(isalnum((unsigned char)id[i]) || id[i] == '.' ||
                         id[i] == '_' || id[i] == '-'))
            return false;
    return i > 0;
}

/* The event's values into *r (counters, pid, start, sessions, id) and its
 * stage and replica; -1 when malformed. */
static int parse(const cJSON *doc, struct replica *r, int *stage, int *replica)
{
    const cJSON *jst = cJSON_GetObjectItemCaseSensitive(doc, "stage");
    const cJSON *jid = cJSON_GetObjectItemCaseSensitive(doc, "id");
    int64_t idx = member(doc, "replica");
    int k;

    if (!cJSON_IsString(jst) || idx < 0 || idx >= PLAN_MAX_REPLICAS)
        return -1;
    if (jid != NULL && (!cJSON_IsString(jid) || !id_ok(jid->valuestring)))
        return -1;
    if (jid != NULL)
        snprintf(r->id, sizeof(r->id), "%s", jid->valuestring);
    *stage = plan_stage_by_name(jst->valuestring);
    *replica = (int)idx;
    r->pid = member(doc, "pid");
    r->started_ms = member(doc, "started_ms");
    r->sessions = member(doc, "sessions");
    if (*stage < 0 || r->pid < 0 || r->started_ms < 0 || r->sessions < 0)
        return -1;
    for (k = 0; k < NCOUNTERS; k++)
        if ((r->c[k] = member(doc, counter_names[k])) < 0)
            return -1;
    return 0;
}

/* The slot of an event with an id (gateways: one slot per id, in the
 * order first seen), or -1 when every slot is taken. */
static int slot_by_id(const struct cp_stages *s, int stage, const char *id)
{
    int i;

    for (i = 0; i < s->nslots[stage]; i++)
        if (strcmp(s->rep[stage][i].id, id) == 0)
            return i;
    return i < PLAN_MAX_REPLICAS ? i : -1;
}

static void update(struct cp_stages *s, int stage, int idx,
                   const struct replica *in, int64_t now_ms)
{
    struct replica *r;
    int k;

    if (in->id[0] != '\0' && (idx = slot_by_id(s, stage, in->id)) < 0)
        return;
    r = &s->rep[stage][idx];

    if (r->seen && in->started_ms < r->started_ms)
        return; /* a late event of the slot's earlier process */
    if (r->seen && (in->pid != r->pid || in->started_ms != r->started_ms)) {
        r->restarts++;
        for (k = 0; k < NCOUNTERS; k++)
            r->base[k] += r->c[k];
    }
    r->seen = true;
    memcpy(r->id, in->id, sizeof(r->id));
    r->pid = in->pid;
    r->started_ms = in->started_ms;
    r->sessions = in->sessions;
    r->last_ms = now_ms;
    memcpy(r->c, in->c, sizeof(r->c));
    if (idx >= s->nslots[stage])
        s->nslots[stage] = idx + 1;
}

int cp_stages_apply(struct cp_stages *s, const void *body, size_t len,
                    int64_t now_ms)
{
    cJSON *doc = cJSON_ParseWithLength(body, len);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(doc, "type");
    struct replica in;
    int stage, idx, rc = 0;

    if (!cJSON_IsString(type) || strcmp(type->valuestring, "replica") != 0) {
        cJSON_Delete(doc);
        return CP_STAGES_OTHER;
    }
    memset(&in, 0, sizeof(in));
    if (parse(doc, &in, &stage, &idx) != 0) {
        rc = CS_ERR_ARG;
    } else {
        (void)pthread_mutex_lock(&s->mu);
        update(s, stage, idx, &in, now_ms);
        (void)pthread_mutex_unlock(&s->mu);
    }
    cJSON_Delete(doc);
    return rc;
}

size_t cp_stages_nqueues(const struct cp_stages *s)
{
    return s->nq;
}

const char *cp_stages_queue(const struct cp_stages *s, size_t i)
{
    return i < s->nq ? s->q[i].name : NULL;
}

void cp_stages_set_queue(struct cp_stages *s, size_t i, bool known,
                         uint32_t messages, uint32_t consumers)
{
    if (i >= s->nq)
        return;
    (void)pthread_mutex_lock(&s->mu);
    s->q[i].known = known;
    s->q[i].messages = known ? messages : 0;
    s->q[i].consumers = known ? consumers : 0;
    (void)pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------------ rendering */

static bool alive(const struct replica *r, int64_t now_ms)
{
    return r->seen && now_ms - r->last_ms <= CP_STAGES_ALIVE_MS;
}

/* A stage's totals over its slots (earlier processes included). */
struct totals {
    int64_t c[NCOUNTERS];
    int64_t restarts, sessions;
    int alive;
};

static void stage_totals(const struct cp_stages *s, int st, int64_t now_ms,
                         struct totals *t)
{
    int i, k;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < s->nslots[st]; i++) {
        const struct replica *r = &s->rep[st][i];

        for (k = 0; k < NCOUNTERS; k++)
            t->c[k] += r->base[k] + r->c[k];
        t->restarts += r->restarts;
        if (alive(r, now_ms)) {
            t->alive++;
            t->sessions += r->sessions;
        }
    }
}

static void json_replica(FILE *f, const struct replica *r, int idx,
                         int64_t now_ms)
{
    fprintf(f,
            "{\"replica\":%d,\"id\":\"%s\",\"alive\":%s,\"pid\":%lld,"
            "\"started_ms\":%lld,"
            "\"msgs_in\":%lld,\"bytes_in\":%lld,\"msgs_out\":%lld,"
            "\"bytes_out\":%lld,\"busy_s\":%.3f,\"sessions\":%lld,"
            "\"restarts\":%lld,\"last_seen_ms\":",
            idx, r->id, alive(r, now_ms) ? "true" : "false", (long long)r->pid,
            (long long)r->started_ms, (long long)r->c[0], (long long)r->c[1],
            (long long)r->c[2], (long long)r->c[3], (double)r->c[4] / 1000.0,
            (long long)r->sessions, (long long)r->restarts);
    if (r->seen)
        fprintf(f, "%lld}", (long long)r->last_ms);
    else
        fputs("null}", f);
}

static void json_queues(FILE *f, const struct cp_stages *s, int st)
{
    const char *sep = "";
    size_t i;

    for (i = 0; i < s->nq; i++) {
        const struct queue *q = &s->q[i];

        if (q->stage != st)
            continue;
        fprintf(f, "%s{\"name\":\"%s\",\"messages\":", sep, q->name);
        if (q->known)
            fprintf(f, "%u,\"consumers\":%u}", q->messages, q->consumers);
        else
            fputs("null,\"consumers\":null}", f);
        sep = ",";
    }
}

static void json_stage(FILE *f, const struct cp_stages *s, int st,
                       int64_t now_ms)
{
    struct totals t;
    int i;

    stage_totals(s, st, now_ms, &t);
    fprintf(f,
            "{\"stage\":\"%s\",\"replicas_expected\":%d,\"alive\":%d,"
            "\"msgs_in\":%lld,\"bytes_in\":%lld,\"msgs_out\":%lld,"
            "\"bytes_out\":%lld,\"busy_s\":%.3f,\"sessions\":%lld,"
            "\"restarts\":%lld,\"replicas\":[",
            plan_stage_name((enum plan_stage_id)st), s->expected[st], t.alive,
            (long long)t.c[0], (long long)t.c[1], (long long)t.c[2],
            (long long)t.c[3], (double)t.c[4] / 1000.0, (long long)t.sessions,
            (long long)t.restarts);
    for (i = 0; i < s->nslots[st]; i++) {
        if (i > 0)
            fputc(',', f);
        json_replica(f, &s->rep[st][i], i, now_ms);
    }
    fputs("],\"queues\":[", f);
    json_queues(f, s, st);
    fputs("]}", f);
}

char *cp_stages_json(struct cp_stages *s, int64_t now_ms)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int st;

    if (f == NULL)
        return NULL;
    fputs("{\"stages\":[", f);
    (void)pthread_mutex_lock(&s->mu);
    for (st = 0; st < PLAN_NSTAGES; st++) {
        if (st > 0)
            fputc(',', f);
        json_stage(f, s, st, now_ms);
    }
    (void)pthread_mutex_unlock(&s->mu);
    fprintf(f, "],\"now_ms\":%lld}", (long long)now_ms);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ------------------------------------------------------------ metrics */

static const struct {
    const char *name, *type, *help;
    int counter; /* index into the totals, or -1..-4 for the others */
} metrics[] = {
    {"cs_stage_messages_in_total", "counter",
     "Input messages handled, summed over the stage's replicas.", 0},
    {"cs_stage_bytes_in_total", "counter",
     "Input bytes handled, summed over the stage's replicas.", 1},
    {"cs_stage_messages_out_total", "counter",
     "Messages published (data and result files).", 2},
    {"cs_stage_bytes_out_total", "counter", "Bytes published.", 3},
    {"cs_stage_busy_seconds_total", "counter",
     "Time the stage's replicas spent handling messages.", 4},
    {"cs_stage_replicas", "gauge", "Replica slots configured (CS_REPLICAS).",
     -1},
    {"cs_stage_replicas_alive", "gauge",
     "Replicas whose stats arrived within the last 3 s.", -2},
    {"cs_stage_restarts_total", "counter",
     "Times a replica slot was seen with a new process.", -3},
    {"cs_stage_sessions", "gauge",
     "Sessions held by the stage's live replicas.", -4},
};

static int64_t metric_value(const struct cp_stages *s, int st, int which,
                            const struct totals *t)
{
    switch (which) {
    case -1:
        return s->expected[st];
    case -2:
        return t->alive;
    case -3:
        return t->restarts;
    case -4:
        return t->sessions;
    default:
        return t->c[which];
    }
}

static void queue_metrics(FILE *f, const struct cp_stages *s)
{
    size_t i;

    fputs("# HELP cs_queue_messages Messages ready in a stage's input queue "
          "(polled every 2 s).\n# TYPE cs_queue_messages gauge\n",
          f);
    for (i = 0; i < s->nq; i++)
        if (s->q[i].known)
            fprintf(f, "cs_queue_messages{queue=\"%s\",stage=\"%s\"} %u\n",
                    s->q[i].name,
                    plan_stage_name((enum plan_stage_id)s->q[i].stage),
                    s->q[i].messages);
    fputs("# HELP cs_queue_consumers Consumers of a stage's input queue.\n"
          "# TYPE cs_queue_consumers gauge\n",
          f);
    for (i = 0; i < s->nq; i++)
        if (s->q[i].known)
            fprintf(f, "cs_queue_consumers{queue=\"%s\",stage=\"%s\"} %u\n",
                    s->q[i].name,
                    plan_stage_name((enum plan_stage_id)s->q[i].stage),
                    s->q[i].consumers);
}

void cp_stages_metrics(struct cp_stages *s, FILE *f, int64_t now_ms)
{
    struct totals t[PLAN_NSTAGES];
    size_t m;
    int st;

    (void)pthread_mutex_lock(&s->mu);
    for (st = 0; st < PLAN_NSTAGES; st++)
        stage_totals(s, st, now_ms, &t[st]);
    for (m = 0; m < sizeof(metrics) / sizeof(metrics[0]); m++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", metrics[m].name,
                metrics[m].help, metrics[m].name, metrics[m].type);
        for (st = 0; st < PLAN_NSTAGES; st++) {
            int64_t v = metric_value(s, st, metrics[m].counter, &t[st]);

            if (metrics[m].counter == 4)
                fprintf(f, "%s{stage=\"%s\"} %.3f\n", metrics[m].name,
                        plan_stage_name((enum plan_stage_id)st),
                        (double)v / 1000.0);
            else
                fprintf(f, "%s{stage=\"%s\"} %lld\n", metrics[m].name,
                        plan_stage_name((enum plan_stage_id)st), (long long)v);
        }
    }
    queue_metrics(f, s);
    (void)pthread_mutex_unlock(&s->mu);
}
