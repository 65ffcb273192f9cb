/*
 * ctl.c - JSON encoding of control messages with cJSON.
 */
#include "ctl.h"
#include "clock.h"
#include "idset.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[CTL_NTYPES] = {
    "session_start", "done", "report",   "drain", "finish",
    "abort",         "end",  "shutdown", "hello", "status",
};

const char *ctl_type_name(enum ctl_type t)
{
    return (unsigned)t < CTL_NTYPES ? type_names[t] : "?";
}

void ctl_init(struct ctl_msg *m, enum ctl_type type, const char *session)
{
    /* The arrays are only read up to their counts: zeroing 80 KiB per
     * message would cost more than the message. */
    memset(m, 0, offsetof(struct ctl_msg, flows));
    m->nranges = m->nrejs = m->nrejected = m->nsent = m->nsessions = 0;
    m->type = type;
    if (session)
        snprintf(m->session, sizeof(m->session), "%s", session);
}

struct ctl_msg *ctl_new(enum ctl_type type, const char *session)
{
    struct ctl_msg *m = malloc(sizeof(*m));

    if (m != NULL)
        ctl_init(m, type, session);
    return m;
}

int ctl_add_rejected(struct ctl_msg *m, const char *name, int64_t n)
{
    int i;

    for (i = 0; i < m->nrejected; i++)
        if (strcmp(m->rejected[i].name, name) == 0) {
            m->rejected[i].n += n;
            return 0;
        }
    if (m->nrejected >= CTL_MAX_REJECTED ||
        strlen(name) >= sizeof(m->rejected[0].name))
        return -1;
    snprintf(m->rejected[i].name, sizeof(m->rejected[i].name), "%s", name);
    m->rejected[i].n = n;
    m->nrejected++;
    return 0;
}

int64_t ctl_get_rejected(const struct ctl_msg *m, const char *name)
{
    int i;

    for (i = 0; i < m->nrejected; i++)
        if (strcmp(m->rejected[i].name, name) == 0)
            return m->rejected[i].n;
    return 0;
}

int ctl_find_flow(const struct ctl_msg *m, const char *queue,
                  const char *stream)
{
    int i;

    for (i = 0; i < m->nflows; i++)
        if (strcmp(m->flows[i].queue, queue) == 0 &&
            strcmp(m->flows[i].stream, stream) == 0)
            return i;
    return -1;
}

static int new_flow(struct ctl_msg *m, const char *queue, const char *stream)
{
    struct ctl_flow *f;

    if (m->nflows >= CTL_MAX_FLOWS || strlen(queue) >= sizeof(f->queue) ||
        strlen(stream) >= sizeof(f->stream))
        return -1;
    f = &m->flows[m->nflows];
    memset(f, 0, sizeof(*f));
    memcpy(f->queue, queue, strlen(queue) + 1);
    memcpy(f->stream, stream, strlen(stream) + 1);
    f->n = -1;
    f->range0 = m->nranges;
    f->rej0 = m->nrejs;
    return m->nflows++;
}

int ctl_set_flow(struct ctl_msg *m, const char *queue, const char *stream,
                 int64_t n)
{
    int i = ctl_find_flow(m, queue, stream);

    if (n < 0 || n > CTL_COUNT_MAX)
        return -1;
    if (i < 0 && (i = new_flow(m, queue, stream)) < 0)
        return -1;
    m->flows[i].n = n;
    return 0;
}

int ctl_begin_flow(struct ctl_msg *m, const char *queue, const char *stream)
{
    return new_flow(m, queue, stream);
}

int ctl_add_range(struct ctl_msg *m, int64_t lo, int64_t hi)
{
    if (m->nflows == 0 || m->nranges >= CTL_MAX_RANGES || lo < 0 || hi < lo ||
        hi >= IDSET_MAX_SEQ)
        return -1;
    m->ranges[m->nranges].lo = lo;
    m->ranges[m->nranges].hi = hi;
    m->nranges++;
    m->flows[m->nflows - 1].nranges++;
    return 0;
}

int ctl_add_rej(struct ctl_msg *m, int64_t seq, int64_t n)
{
    if (m->nflows == 0 || m->nrejs >= CTL_MAX_REJS || seq < 0 ||
        seq >= IDSET_MAX_SEQ || n < 0 || n > CTL_COUNT_MAX)
        return -1;
    m->rejs[m->nrejs].seq = seq;
    m->rejs[m->nrejs].n = n;
    m->nrejs++;
    m->flows[m->nflows - 1].nrej++;
    return 0;
}

int ctl_add_session(struct ctl_msg *m, const char *id)
{
    if (m->nsessions >= CTL_MAX_SESSIONS || strlen(id) >= CTL_ID_MAX)
        return -1;
    memcpy(m->sessions[m->nsessions++], id, strlen(id) + 1);
    return 0;
}

/* Counts are printed exactly, as raw JSON numbers: cJSON prints a double
 * with 15 digits whenever they match it within a relative epsilon, which
 * turns CTL_COUNT_MAX (2^53) into 9.00719925474099e+15, 2 less. */
static cJSON *int_item(int64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return cJSON_CreateRaw(buf);
}

static bool add_int(cJSON *obj, const char *key, int64_t v)
{
    cJSON *it = int_item(v);

    if (it == NULL || !cJSON_AddItemToObject(obj, key, it)) {
        cJSON_Delete(it);
        return false;
    }
    return true;
}

static bool add_counts(cJSON *root, const char *key,
                       const struct ctl_count *arr, int n)
{
    cJSON *obj;
    int i;

    if (n == 0)
        return true;
    obj = cJSON_AddObjectToObject(root, key);
    if (obj == NULL)
        return false;
    for (i = 0; i < n; i++)
        if (!add_int(obj, arr[i].name, arr[i].n))
            return false;
    return true;
}

static bool add_str(cJSON *root, const char *key, const char *val)
{
    return val[0] == '\0' || cJSON_AddStringToObject(root, key, val) != NULL;
}

/* [a, b], or NULL when out of memory. */
static cJSON *int_pair(int64_t a, int64_t b)
{
    cJSON *pair = cJSON_CreateArray(), *it = NULL;

    if (pair == NULL)
        return NULL;
    it = int_item(a);
    if (it == NULL || !cJSON_AddItemToArray(pair, it))
        goto out_delete;
    it = int_item(b);
    if (it == NULL || !cJSON_AddItemToArray(pair, it))
        goto out_delete;
    return pair;
out_delete:
    cJSON_Delete(it);
    cJSON_Delete(pair);
    return NULL;
}

/* [[a, b], ...] from n ranges (lo, hi) or rejects (seq, n) from `first`. */
static cJSON *pairs(const struct ctl_msg *m, int first, int n, bool rej)
{
    cJSON *arr = cJSON_CreateArray(), *pair;
    int i;

    for (i = first; arr && i < first + n; i++) {
        pair = rej ? int_pair(m->rejs[i].seq, m->rejs[i].n)
                   : int_pair(m->ranges[i].lo, m->ranges[i].hi);
        if (pair == NULL || !cJSON_AddItemToArray(arr, pair)) {
            cJSON_Delete(pair);
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

static bool add_flow(cJSON *arr, const struct ctl_msg *m,
                     const struct ctl_flow *f)
{
    cJSON *o = cJSON_CreateObject(), *p;

    if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return false;
    }
    if (cJSON_AddStringToObject(o, "q", f->queue) == NULL ||
        cJSON_AddStringToObject(o, "s", f->stream) == NULL ||
        (f->n >= 0 && !add_int(o, "n", f->n)))
        return false;
    if (f->nranges > 0) {
        p = pairs(m, f->range0, f->nranges, false);
        if (p == NULL || !cJSON_AddItemToObject(o, "r", p))
            return false;
    }
    if (f->nrej > 0) {
        p = pairs(m, f->rej0, f->nrej, true);
        if (p == NULL || !cJSON_AddItemToObject(o, "rej", p))
            return false;
    }
    return true;
}

static bool add_flows(cJSON *root, const struct ctl_msg *m)
{
    cJSON *arr;
    int i;

    if (m->nflows == 0)
        return true;
    arr = cJSON_AddArrayToObject(root, "flows");
    for (i = 0; arr && i < m->nflows; i++)
        if (!add_flow(arr, m, &m->flows[i]))
            return false;
    return arr != NULL;
}

static bool add_sessions(cJSON *root, const struct ctl_msg *m)
{
    cJSON *arr;
    int i;

    if (m->nsessions == 0)
        return true;
    arr = cJSON_AddArrayToObject(root, "sessions");
    for (i = 0; arr && i < m->nsessions; i++) {
        cJSON *s = cJSON_CreateString(m->sessions[i]);

        if (s == NULL || !cJSON_AddItemToArray(arr, s)) {
            cJSON_Delete(s);
            return false;
        }
    }
    return arr != NULL;
}

char *ctl_encode(const struct ctl_msg *m, size_t *len)
{
    cJSON *root = cJSON_CreateObject();
    char *out = NULL;
    bool ok;

    if (root == NULL)
        return NULL;
    ok = cJSON_AddStringToObject(root, "type", ctl_type_name(m->type)) &&
         add_str(root, "session", m->session) &&
         add_str(root, "stage", m->stage) &&
         (m->stage[0] == '\0' ||
          cJSON_AddNumberToObject(root, "replica", m->replica) != NULL) &&
         cJSON_AddNumberToObject(
             root, "ts", (double)(m->ts_ms ? m->ts_ms : clock_wall_ms())) !=
             NULL &&
         add_str(root, "reply_to", m->reply_to) &&
         add_str(root, "status", m->status) &&
         add_str(root, "reason", m->reason) &&
         add_str(root, "client", m->client) &&
         add_str(root, "folder", m->folder) && add_flows(root, m) &&
         add_counts(root, "rejected", m->rejected, m->nrejected) &&
         add_counts(root, "sent", m->sent, m->nsent) && add_sessions(root, m);
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

/* A whole number in [0, max]: anything else (NaN, negative, fractional,
 * huge) is not a valid count or id. */
static bool get_int(const cJSON *it, int64_t max, int64_t *out)
{
    if (!cJSON_IsNumber(it) ||
        !(it->valuedouble >= 0 && it->valuedouble <= (double)max) ||
        it->valuedouble != (double)(int64_t)it->valuedouble)
        return false;
    *out = (int64_t)it->valuedouble;
    return true;
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
        if (*n >= max || strlen(it->string) >= sizeof(arr->name) ||
            !get_int(it, CTL_COUNT_MAX, &arr[*n].n))
            return -1;
        snprintf(arr[*n].name, sizeof(arr[*n].name), "%s", it->string);
        (*n)++;
    }
    return 0;
}

/* Reads [[a, b], ...] into ranges (lo <= hi < IDSET_MAX_SEQ) or rejects. */
static int get_pairs(struct ctl_msg *m, const cJSON *arr, bool rej)
{
    const cJSON *it;
    int64_t a, b;

    if (arr == NULL)
        return 0;
    if (!cJSON_IsArray(arr))
        return -1;
    cJSON_ArrayForEach(it, arr) {
        if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2 ||
            !get_int(cJSON_GetArrayItem(it, 0), IDSET_MAX_SEQ - 1, &a) ||
            !get_int(cJSON_GetArrayItem(it, 1),
                     rej ? CTL_COUNT_MAX : IDSET_MAX_SEQ - 1, &b))
            return -1;
        if ((rej ? ctl_add_rej(m, a, b) : ctl_add_range(m, a, b)) != 0)
            return -1;
    }
    return 0;
}

static int get_flow(struct ctl_msg *m, const cJSON *o)
{
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(o, "q");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "s");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "n");
    int i;

    if (!cJSON_IsObject(o) || !cJSON_IsString(q) || !cJSON_IsString(s) ||
        ctl_find_flow(m, q->valuestring, s->valuestring) >= 0)
        return -1;
    i = ctl_begin_flow(m, q->valuestring, s->valuestring);
    if (i < 0 || (n && !get_int(n, CTL_COUNT_MAX, &m->flows[i].n)))
        return -1;
    if (get_pairs(m, cJSON_GetObjectItemCaseSensitive(o, "r"), false) != 0 ||
        get_pairs(m, cJSON_GetObjectItemCaseSensitive(o, "rej"), true) != 0)
        return -1;
    return 0;
}

static int get_flows(struct ctl_msg *m, const cJSON *root)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "flows"), *it;

    if (arr == NULL)
        return 0;
    if (!cJSON_IsArray(arr))
        return -1;
    cJSON_ArrayForEach(it, arr)
        if (get_flow(m, it) != 0)
            return -1;
    return 0;
}

static int get_sessions(struct ctl_msg *m, const cJSON *root)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "sessions"), *it;

    if (arr == NULL)
        return 0;
    if (!cJSON_IsArray(arr))
        return -1;
    cJSON_ArrayForEach(it, arr)
        if (!cJSON_IsString(it) || ctl_add_session(m, it->valuestring) != 0)
            return -1;
    return 0;
}

static int get_header(const cJSON *root, struct ctl_msg *m)
{
    char type[32] = "";
    const cJSON *rep;
    int64_t v;
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
        if (!get_int(rep, INT64_C(999999999999999), &v))
            return -1;
        m->ts_ms = v;
    }
    rep = cJSON_GetObjectItemCaseSensitive(root, "replica");
    if (rep) {
        if (!get_int(rep, 1000000, &v))
            return -1;
        m->replica = (int)v;
    }
    return 0;
}

static int decode_root(const cJSON *root, struct ctl_msg *m)
{
    if (get_header(root, m) != 0 ||
        get_str(root, "session", m->session, sizeof(m->session)) ||
        get_str(root, "stage", m->stage, sizeof(m->stage)) ||
        get_str(root, "reply_to", m->reply_to, sizeof(m->reply_to)) ||
        get_str(root, "status", m->status, sizeof(m->status)) ||
        get_str(root, "reason", m->reason, sizeof(m->reason)) ||
        get_str(root, "client", m->client, sizeof(m->client)) ||
        get_str(root, "folder", m->folder, sizeof(m->folder)) ||
        get_flows(m, root) ||
        get_counts(root, "rejected", m->rejected, &m->nrejected,
                   CTL_MAX_REJECTED) ||
        get_counts(root, "sent", m->sent, &m->nsent, CTL_MAX_REJECTED) ||
        get_sessions(m, root))
        return -1;
    if (m->type != CTL_SHUTDOWN && m->type != CTL_HELLO &&
        m->session[0] == '\0')
        return -1;
    if (m->type == CTL_HELLO && m->stage[0] == '\0')
        return -1;
    return 0;
}

int ctl_decode(const uint8_t *body, size_t len, struct ctl_msg *m)
{
    cJSON *root;
    int rc;

    ctl_init(m, CTL_SESSION_START, NULL);
    root = cJSON_ParseWithLength((const char *)body, len);
    if (root == NULL)
        return -1;
    rc = decode_root(root, m);
    cJSON_Delete(root);
    return rc;
}
