/*
 * status.c - the monitor's JSON documents (see status.h).
 */
#include "status.h"

#include <cjson/cJSON.h>
#include <math.h>

#include <stdbool.h>
#include <stdio.h>

static const char *role(const struct elect *e)
{
    if (elect_leader(e) == 0)
        return "electing";
    return elect_is_leader(e) ? "leader" : "follower";
}

static double secs(int64_t ms)
{
    return trunc((double)ms / 100.0) / 10.0; /* one decimal */
}

static bool add_peers(cJSON *root, const struct status_src *s, int64_t now)
{
    struct elect_peer_info info[ELECT_MAX_ID];
    cJSON *arr = cJSON_AddArrayToObject(root, "peers"), *o;
    size_t i, n = elect_peers(s->elect, now, info, ELECT_MAX_ID);

    for (i = 0; arr && i < n; i++) {
        if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(arr, o))
            return false;
        if (!cJSON_AddNumberToObject(o, "id", info[i].id) ||
            !cJSON_AddBoolToObject(o, "live", info[i].live) ||
            !cJSON_AddNumberToObject(o, "age_ms", (double)info[i].age_ms) ||
            !cJSON_AddNumberToObject(o, "leader", info[i].leader) ||
            !cJSON_AddNumberToObject(o, "pid", (double)info[i].pid))
            return false;
    }
    return arr != NULL;
}

static bool add_slot(cJSON *arr, const struct procs_info *p)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL || !cJSON_AddItemToArray(arr, o))
        return false;
    return cJSON_AddStringToObject(o, "name", p->name) &&
           cJSON_AddStringToObject(o, "state", procs_state_name(p->state)) &&
           cJSON_AddNumberToObject(o, "pid", (double)p->pid) &&
           cJSON_AddStringToObject(o, "ref", p->ref) &&
           cJSON_AddNumberToObject(o, "heartbeat_age_ms",
                                   (double)p->heartbeat_age_ms) &&
           cJSON_AddNumberToObject(o, "restarts", p->restarts) &&
           cJSON_AddNumberToObject(o, "uptime_s", secs(p->up_ms)) &&
           cJSON_AddNumberToObject(o, "down_s", secs(p->down_ms)) &&
           cJSON_AddNumberToObject(o, "last_exit", p->last_exit) &&
           cJSON_AddNumberToObject(o, "detect_ms", (double)p->detect_ms) &&
           cJSON_AddNumberToObject(o, "restart_ms", (double)p->restart_ms) &&
           cJSON_AddBoolToObject(o, "unhealthy", p->unhealthy);
}

static char *finish(cJSON *root, bool ok)
{
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;

    cJSON_Delete(root);
    return text;
}

char *status_cluster(const struct status_src *s, int64_t now, int *code)
{
    cJSON *root = cJSON_CreateObject(), *slots;
    struct procs_info info;
    size_t i;
    bool ok;

    *code = 200;
    if (root == NULL)
        return NULL;
    ok = cJSON_AddNumberToObject(root, "monitor", s->self) &&
         cJSON_AddNumberToObject(root, "leader", elect_leader(s->elect)) &&
         cJSON_AddStringToObject(root, "role", role(s->elect)) &&
         cJSON_AddNumberToObject(root, "term", (double)elect_term(s->elect)) &&
         cJSON_AddNumberToObject(root, "uptime_s", secs(now - s->started_ms)) &&
         add_peers(root, s, now);
    slots = ok ? cJSON_AddArrayToObject(root, "slots") : NULL;
    for (i = 0; slots && ok && i < procs_count(s->procs); i++)
        ok = procs_info(s->procs, i, now, &info) == 0 && add_slot(slots, &info);
    return finish(root, ok && slots);
}

char *status_health(const struct status_src *s, int64_t now, int *code)
{
    cJSON *root = cJSON_CreateObject(), *down = NULL;
    struct procs_info info;
    size_t i;
    bool ok = root != NULL, bad = elect_leader(s->elect) == 0;

    for (i = 0; ok && i < procs_count(s->procs); i++) {
        if (procs_info(s->procs, i, now, &info) != 0 || !info.unhealthy)
            continue;
        if (down == NULL)
            down = cJSON_CreateArray();
        ok = down && cJSON_AddItemToArray(down, cJSON_CreateString(info.name));
        bad = true;
    }
    *code = bad ? 503 : 200;
    if (ok && !bad) {
        cJSON_Delete(down);
        ok = cJSON_AddStringToObject(root, "status", "ok") != NULL;
    } else if (ok) {
        if (down == NULL)
            down = cJSON_CreateArray();
        ok = down && cJSON_AddStringToObject(root, "status", "unhealthy") &&
             cJSON_AddItemToObject(root, "down", down);
        if (!ok)
            cJSON_Delete(down);
        ok = ok &&
             cJSON_AddNumberToObject(root, "leader", elect_leader(s->elect));
    } else {
        cJSON_Delete(down);
    }
    return root ? finish(root, ok) : NULL;
}
