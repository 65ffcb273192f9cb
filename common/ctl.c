/*
 * ctl.c - JSON encoding of control messages with cJSON.
 */
#include "ctl.h"
#include "clock.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[CTL_NTYPES] = {
    "session_start", "done", "report", "drain",
    "finish",        "abort", "end",    "shutdown",
};

const char *ctl_type_name(enum ctl_type t)
{
    return (unsigned)t < CTL_NTYPES ? type_names[t] : "?";
}

void ctl_init(struct ctl_msg *m, enum ctl_type type, const char *session)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
    if (session)
        snprintf(m->session, sizeof(m->session), "%s", session);
}

static struct ctl_count *find(struct ctl_count *arr, int n, const char *name)
{
    int i;

    for (i = 0; i < n; i++)
        if (strcmp(arr[i].name, name) == 0)
            return &arr[i];
    return NULL;
}

int ctl_add(struct ctl_msg *m, int rejected, const char *name, int64_t n)
{
    struct ctl_count *arr = rejected ? m->rejected : m->counts;
    int *cnt = rejected ? &m->nrejected : &m->ncounts;
    int max = rejected ? CTL_MAX_REJECTED : CTL_MAX_COUNTS;
    struct ctl_count *c = find(arr, *cnt, name);

    if (c == NULL) {
        if (*cnt >= max)
            return -1;
        c = &arr[(*cnt)++];
        snprintf(c->name, sizeof(c->name), "%s", name);
        c->n = 0;
    }
    c->n += n;
    return 0;
}

int64_t ctl_get(const struct ctl_msg *m, int rejected, const char *name)
{
    const struct ctl_count *arr = rejected ? m->rejected : m->counts;
    int n = rejected ? m->nrejected : m->ncounts;
    int i;

    for (i = 0; i < n; i++)
        if (strcmp(arr[i].name, name) == 0)
            return arr[i].n;
    return 0;
}

static bool add_counts(cJSON *root, const char *key, const struct ctl_count *arr,
                       int n)
{
    cJSON *obj;
    int i;

    if (n == 0)
        return true;
    obj = cJSON_AddObjectToObject(root, key);
    if (obj == NULL)
        return false;
    for (i = 0; i < n; i++)
        if (cJSON_AddNumberToObject(obj, arr[i].name, (double)arr[i].n) == NULL)
            return false;
    return true;
}

static bool add_str(cJSON *root, const char *key, const char *val)
{
    return val[0] == '\0' || cJSON_AddStringToObject(root, key, val) != NULL;
}

char *ctl_encode(const struct ctl_msg *m, size_t *len)
{
    cJSON *root = cJSON_CreateObject();
    char *out = NULL;
    bool ok;

    if (root == NULL)
        return NULL;
    ok = cJSON_AddStringToObject(root, "type", ctl_type_name(m->type)) &&
         add_str(root, "session", m->session) && add_str(root, "stage", m->stage) &&
         (m->stage[0] == '\0' ||
          cJSON_AddNumberToObject(root, "replica", m->replica) != NULL) &&
         cJSON_AddNumberToObject(root, "ts",
                                 (double)(m->ts_ms ? m->ts_ms : clock_wall_ms())) != NULL &&
         add_str(root, "reply_to", m->reply_to) &&
         add_str(root, "status", m->status) && add_str(root, "reason", m->reason) &&
         add_counts(root, "counts", m->counts, m->ncounts) &&
         add_counts(root, "rejected", m->rejected, m->nrejected);
    if (ok)
        out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (out && len)
        *len = strlen(out);
    return out;
}

static int get_str(const cJSON *root, const char *key, char *dst, size_t n)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);

    if (it == NULL)
        return 0;
    if (!cJSON_IsString(it) || strlen(it->valuestring) >= n)
        return -1;
    memcpy(dst, it->valuestring, strlen(it->valuestring) + 1);
    return 0;
}

static int get_counts(const cJSON *root, const char *key, struct ctl_count *arr,
                      int *n, int max)
{
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, key);
    const cJSON *it;

    *n = 0;
    if (obj == NULL)
        return 0;
    if (!cJSON_IsObject(obj))
        return -1;
    cJSON_ArrayForEach(it, obj) {
        /* Counts are whole numbers in [0, 2^53]: anything else (NaN,
         * negative, fractional, huge) is not a valid count. */
        if (!cJSON_IsNumber(it) || *n >= max || strlen(it->string) >= sizeof(arr->name) ||
            !(it->valuedouble >= 0 && it->valuedouble <= 9007199254740992.0) ||
            it->valuedouble != (double)(int64_t)it->valuedouble)
            return -1;
        snprintf(arr[*n].name, sizeof(arr[*n].name), "%s", it->string);
        arr[*n].n = (int64_t)it->valuedouble;
        (*n)++;
    }
    return 0;
}

static int decode_root(const cJSON *root, struct ctl_msg *m)
{
    char type[32] = "";
    const cJSON *rep;
    int i;

    if (!cJSON_IsObject(root) || get_str(root, "type", type, sizeof(type)) != 0)
        return -1;
    for (i = 0; i < CTL_NTYPES; i++)
        if (strcmp(type, type_names[i]) == 0)
            break;
    if (i == CTL_NTYPES)
        return -1;
    m->type = (enum ctl_type)i;
    rep = cJSON_GetObjectItemCaseSensitive(root, "ts");
    if (rep) {
        if (!cJSON_IsNumber(rep) || !(rep->valuedouble >= 0 && rep->valuedouble < 1e15))
            return -1;
        m->ts_ms = (int64_t)rep->valuedouble;
    }
    rep = cJSON_GetObjectItemCaseSensitive(root, "replica");
    if (rep) {
        if (!cJSON_IsNumber(rep) || rep->valuedouble < 0 || rep->valuedouble > 1e6)
            return -1;
        m->replica = (int)rep->valuedouble;
    }
    if (get_str(root, "session", m->session, sizeof(m->session)) ||
        get_str(root, "stage", m->stage, sizeof(m->stage)) ||
        get_str(root, "reply_to", m->reply_to, sizeof(m->reply_to)) ||
        get_str(root, "status", m->status, sizeof(m->status)) ||
        get_str(root, "reason", m->reason, sizeof(m->reason)) ||
        get_counts(root, "counts", m->counts, &m->ncounts, CTL_MAX_COUNTS) ||
        get_counts(root, "rejected", m->rejected, &m->nrejected, CTL_MAX_REJECTED))
        return -1;
    if (m->type != CTL_SHUTDOWN && m->session[0] == '\0')
        return -1;
    return 0;
}

int ctl_decode(const uint8_t *body, size_t len, struct ctl_msg *m)
{
    cJSON *root;
    int rc;

    memset(m, 0, sizeof(*m));
    root = cJSON_ParseWithLength((const char *)body, len);
    if (root == NULL)
        return -1;
    rc = decode_root(root, m);
    cJSON_Delete(root);
    return rc;
}
