/*
 * coord_snap.c - session snapshots for the control plane (see coord.h):
 * what the machine knows of a session, and its JSON form. Pure: the
 * service publishes the JSON to cs.events; nothing here does I/O.
 */
#include "coord_internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

void csnap_fill(const struct coord *c, const struct session *ss,
                struct coord_snap *out)
{
    bool streaming, finishing;
    size_t i;
    int s, t;

    memset(out, 0, sizeof(*out));
    snprintf(out->session, sizeof(out->session), "%s", ss->id);
    snprintf(out->gateway, sizeof(out->gateway), "%s", ss->reply_to);
    out->age_ms = coord_now(c) - ss->start_ms;
    snprintf(out->client, sizeof(out->client), "%s", ss->client);
    snprintf(out->folder, sizeof(out->folder), "%s", ss->folder);
    out->rows_sent = ss->rows_sent;
    out->bytes_sent = ss->bytes_sent;
    out->drain_ms =
        ss->streamed ? (int64_t)(coord_now(c) - ss->streamed_ms) : -1;
    for (s = 0; s < PLAN_NSTAGES; s++) {
        out->stage[s].state = ss->st[s].state;
        for (t = 0; t < PLAN_NTABLES; t++)
            out->rejected[t] += ss->st[s].rejected[t];
    }
    for (i = 0; i < ss->nflows; i++) {
        const struct flow *f = &ss->flows[i];

        s = c->qstage[f->q];
        out->stage[s].processed += idset_count(&f->ids);
        out->stage[s].expected += f->expected > 0 ? f->expected : 0;
    }
    streaming = ss->st[PLAN_GATEWAY].state != COORD_COMPLETE;
    finishing = ss->st[PLAN_SINK].state >= COORD_FINISHING;
    out->phase = streaming   ? COORD_PHASE_STREAMING
                 : finishing ? COORD_PHASE_FINISHING
                             : COORD_PHASE_DRAINING;
}

int coord_snapshot(const struct coord *c, const char *session,
                   struct coord_snap *out)
{
    const struct session *ss = csess_find(c, session);

    if (ss == NULL)
        return -1;
    csnap_fill(c, ss, out);
    return 0;
}

void coord_foreach(const struct coord *c, coord_each_fn fn, void *arg)
{
    const struct session *ss;
    size_t b;

    for (b = 0; b < c->nbuckets; b++)
        for (ss = c->buckets[b]; ss; ss = ss->next)
            fn(arg, ss->id);
}

const char *coord_phase_name(int phase)
{
    static const char *const names[COORD_NPHASES] = {
        "streaming", "draining", "finishing", "done", "failed", "aborted"};

    return phase >= 0 && phase < COORD_NPHASES ? names[phase] : "?";
}

int coord_snap_percent(const struct coord_snap *snap, enum plan_stage_id s)
{
    int64_t done = snap->stage[s].processed, n = snap->stage[s].expected;

    if (snap->stage[s].state == COORD_COMPLETE)
        return 100;
    if (n <= 0 || done <= 0)
        return 0;
    return done >= n ? 99 : (int)(done * 100 / n);
}

/* One element of "stages": every stage with an input queue. */
static bool add_stage(cJSON *arr, const struct coord_snap *snap, int s)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return false;
    }
    return cJSON_AddStringToObject(o, "stage",
                                   plan_stage_name((enum plan_stage_id)s)) &&
           cJSON_AddStringToObject(
               o, "state", coord_state_name((int)snap->stage[s].state)) &&
           cJSON_AddNumberToObject(o, "processed",
                                   (double)snap->stage[s].processed) &&
           cJSON_AddNumberToObject(o, "expected",
                                   (double)snap->stage[s].expected) &&
           cJSON_AddNumberToObject(
               o, "percent", coord_snap_percent(snap, (enum plan_stage_id)s));
}

static bool add_rejected(cJSON *root, const struct coord_snap *snap)
{
    cJSON *o = cJSON_AddObjectToObject(root, "rejected");
    int t;

    for (t = 0; o && t < PLAN_NTABLES; t++)
        if (!cJSON_AddNumberToObject(o, plan_table_name((enum plan_table)t),
                                     (double)snap->rejected[t]))
            return false;
    return o != NULL;
}

/* A count, or null when not known (negative). */
static bool add_count(cJSON *root, const char *key, int64_t v)
{
    return v < 0 ? cJSON_AddNullToObject(root, key) != NULL
                 : cJSON_AddNumberToObject(root, key, (double)v) != NULL;
}

char *coord_snap_json(const struct coord_snap *snap, int64_t started_ms,
                      int64_t ended_ms)
{
    cJSON *root = cJSON_CreateObject(), *stages;
    char *out = NULL;
    bool ok;
    int s;

    ok = root && cJSON_AddStringToObject(root, "type", "session") &&
         cJSON_AddStringToObject(root, "id", snap->session) &&
         cJSON_AddStringToObject(root, "gateway", snap->gateway) &&
         cJSON_AddStringToObject(root, "state",
                                 coord_phase_name((int)snap->phase)) &&
         cJSON_AddNumberToObject(root, "started_ms", (double)started_ms) &&
         (ended_ms < 0 ? cJSON_AddNullToObject(root, "ended_ms") != NULL
                       : cJSON_AddNumberToObject(root, "ended_ms",
                                                 (double)ended_ms) != NULL) &&
         cJSON_AddStringToObject(root, "error", snap->reason) &&
         cJSON_AddStringToObject(root, "client", snap->client) &&
         cJSON_AddStringToObject(root, "data_folder", snap->folder) &&
         add_count(root, "rows_sent", snap->rows_sent) &&
         add_count(root, "bytes_sent", snap->bytes_sent) &&
         add_count(root, "drain_ms", snap->drain_ms);
    stages = ok ? cJSON_AddArrayToObject(root, "stages") : NULL;
    for (s = PLAN_FILTER; stages && s < PLAN_NSTAGES; s++)
        if (!add_stage(stages, snap, s))
            stages = NULL;
    if (stages && add_rejected(root, snap))
        out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}
