/*
 * dkstate.c - the Docker backend's pure core (see dkstate.h): parsing of
 * the Engine API's JSON, and the container table.
 */
#include "dkstate.h"

#include "log.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE (-1)
#define SHORT_ID 12

/* ------------------------------------------------------------- parsing */

static const char *str_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* Copies a name without Docker's leading '/'; false if empty or too long. */
static bool copy_name(char *dst, size_t size, const char *name)
{
    if (name == NULL)
        return false;
    if (name[0] == '/')
        name++;
    if (name[0] == '\0' || strlen(name) >= size)
        return false;
    memcpy(dst, name, strlen(name) + 1);
    return true;
}

static bool copy_id(char *dst, const char *id)
{
    size_t i, n = id ? strlen(id) : 0;

    if (n < SHORT_ID || n >= DK_ID_MAX)
        return false;
    for (i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    memcpy(dst, id, n + 1);
    return true;
}

/* Labels (an object of strings, or an event's Attributes, which hold the
 * labels among other keys): the project, and whether to keep it alive. */
static void read_labels(const cJSON *labels, char *project, size_t psize,
                        bool *keep)
{
    const char *p = str_of(labels, DK_PROJECT_LABEL);
    const char *k = str_of(labels, DK_KEEP_LABEL);
    const char *o = str_of(labels, DK_ONEOFF_LABEL);

    snprintf(project, psize, "%s", p ? p : "");
    *keep = k && strcmp(k, "true") == 0 && !(o && strcmp(o, "True") == 0);
}

/* A decimal exit code ("137"); -1 when not one. */
static int parse_code(const char *s)
{
    char *end;
    long v;

    if (s == NULL || s[0] == '\0')
        return -1;
    v = strtol(s, &end, 10);
    return *end == '\0' && v >= 0 && v <= 255 ? (int)v : -1;
}

/* A kill event's "signal": "9", or a name ("KILL", "SIGKILL"); -1 unknown. */
static int parse_signal(const char *s)
{
    if (s && (strcmp(s, "KILL") == 0 || strcmp(s, "SIGKILL") == 0))
        return 9;
    return parse_code(s);
}

static bool action_of(const char *s, enum dk_action *a)
{
    static const struct {
        const char *name;
        enum dk_action action;
    } map[] = {
        {"create", DK_CREATE}, {"start", DK_START}, {"kill", DK_KILL},
        {"die", DK_DIE},       {"stop", DK_STOP},   {"destroy", DK_DESTROY},
        {"rename", DK_RENAME}, {"pause", DK_PAUSE}, {"unpause", DK_UNPAUSE}};
    size_t i;

    for (i = 0; s && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(s, map[i].name) == 0) {
            *a = map[i].action;
            return true;
        }
    return false;
}

static int event_fields(const cJSON *root, const char *project,
                        struct dk_event *ev)
{
    const cJSON *actor = cJSON_GetObjectItemCaseSensitive(root, "Actor");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(actor, "Attributes");
    const char *type = str_of(root, "Type");
    char proj[BACKEND_NAME_MAX];
    bool keep;

    if (type == NULL || !cJSON_IsObject(attrs))
        return DK_PARSE_BAD;
    if (strcmp(type, "container") != 0 ||
        !action_of(str_of(root, "Action"), &ev->action))
        return DK_PARSE_SKIP;
    read_labels(attrs, proj, sizeof(proj), &keep);
    if (!keep || strcmp(proj, project) != 0)
        return DK_PARSE_SKIP;
    if (!copy_id(ev->id, str_of(actor, "ID")) ||
        !copy_name(ev->name, sizeof(ev->name), str_of(attrs, "name")))
        return DK_PARSE_BAD;
    ev->exit_code = parse_code(str_of(attrs, "exitCode"));
    ev->signal = parse_signal(str_of(attrs, "signal"));
    return DK_PARSE_OK;
}

int dk_parse_event(const char *line, size_t len, const char *project,
                   struct dk_event *ev)
{
    cJSON *root = cJSON_ParseWithLength(line, len);
    int rc;

    memset(ev, 0, sizeof(*ev));
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return DK_PARSE_BAD;
    }
    rc = event_fields(root, project, ev);
    cJSON_Delete(root);
    return rc;
}

/* "running", "exited", ...: what it means for keeping it alive. */
static enum dk_state state_of(const char *s)
{
    if (s == NULL || strcmp(s, "created") == 0)
        return DK_CREATED;
    if (strcmp(s, "running") == 0)
        return DK_RUNNING;
    if (strcmp(s, "paused") == 0)
        return DK_PAUSED;
    return DK_EXITED; /* exited, restarting (dead until Docker restarts it), dead, removing */
}

/* A listing's "Status": "Exited (137) 3 seconds ago" -> 137, else -1. */
static int status_code(const char *s)
{
    const char *open = s ? strchr(s, '(') : NULL;
    char num[8];
    size_t n;

    if (open == NULL || strchr(open, ')') == NULL)
        return -1;
    n = (size_t)(strchr(open, ')') - open - 1);
    if (n == 0 || n >= sizeof(num))
        return -1;
    memcpy(num, open + 1, n);
    num[n] = '\0';
    return parse_code(num);
}

static bool list_item(const cJSON *it, struct dk_ctr *c)
{
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(it, "Names");
    const cJSON *first =
        cJSON_IsArray(names) ? cJSON_GetArrayItem(names, 0) : NULL;

    memset(c, 0, sizeof(*c));
    if (!copy_id(c->id, str_of(it, "Id")) || !cJSON_IsString(first) ||
        !copy_name(c->name, sizeof(c->name), first->valuestring))
        return false;
    read_labels(cJSON_GetObjectItemCaseSensitive(it, "Labels"), c->project,
                sizeof(c->project), &c->keep);
    c->state = state_of(str_of(it, "State"));
    c->exit_code = status_code(str_of(it, "Status"));
    return true;
}

int dk_parse_list(const char *body, size_t len, const char *project,
                  struct dk_ctr **out, size_t *n)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *it;
    struct dk_ctr *arr = NULL;
    size_t cnt = 0;
    int total;

    *out = NULL;
    *n = 0;
    if (!cJSON_IsArray(root))
        goto out_bad;
    total = cJSON_GetArraySize(root);
    if (total > 0 && (arr = calloc((size_t)total, sizeof(*arr))) == NULL)
        goto out_bad;
    cJSON_ArrayForEach(it, root) {
        if (list_item(it, &arr[cnt]) && arr[cnt].keep &&
            strcmp(arr[cnt].project, project) == 0)
            cnt++;
    }
    cJSON_Delete(root);
    *out = arr;
    *n = cnt;
    return 0;
out_bad:
    cJSON_Delete(root);
    free(arr);
    return -1;
}

int dk_parse_inspect(const char *body, size_t len, struct dk_ctr *out)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "Config");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "State");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(st, "ExitCode");
    const char *host = str_of(cfg, "Hostname");
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (cJSON_IsObject(root) && copy_id(out->id, str_of(root, "Id")) &&
        copy_name(out->name, sizeof(out->name), str_of(root, "Name"))) {
        snprintf(out->hostname, sizeof(out->hostname), "%s", host ? host : "");
        read_labels(cJSON_GetObjectItemCaseSensitive(cfg, "Labels"),
                    out->project, sizeof(out->project), &out->keep);
        out->state = state_of(str_of(st, "Status"));
        out->exit_code = cJSON_IsNumber(code) ? code->valueint : -1;
        rc = 0;
    }
    cJSON_Delete(root);
    return rc;
}

/* ------------------------------------------------------------- the table */

struct ctr {
    char id[DK_ID_MAX];
    char name[BACKEND_NAME_MAX];
    char host[HB_NAME_MAX];
    enum dk_state state;
    int exit_code;
    bool announced; /* told to the monitor as slot `name` */
    bool inspected;
    int64_t die_until; /* a die held for its stop event until; NONE */
    bool sigkill;      /* since its start: SIGKILL sent ... */
    bool other_sig;    /* ... and other signals (docker stop's) */
    int64_t event_ms;  /* the last event about it came at; NONE */
    unsigned gen;
};

struct dk_table {
    int64_t grace_ms;
    struct ctr *c;
    size_t n, cap;
    struct backend_event *q;
    size_t nq, capq;
};

struct dk_table *dkt_create(int64_t grace_ms)
{
    struct dk_table *t = calloc(1, sizeof(*t));

    if (t)
        t->grace_ms = grace_ms;
    return t;
}

void dkt_destroy(struct dk_table *t)
{
    if (t == NULL)
        return;
    free(t->c);
    free(t->q);
    free(t);
}

static void push(struct dk_table *t, enum backend_event_kind kind,
                 const struct ctr *c, int status, bool deliberate, int64_t now)
{
    struct backend_event *e;

    if (t->nq == t->capq) {
        size_t cap = t->capq ? t->capq * 2 : 32;
        struct backend_event *q = realloc(t->q, cap * sizeof(*q));

        if (q == NULL) {
            log_error("out of memory: event of slot=%s lost", c->name);
            return;
        }
        t->q = q;
        t->capq = cap;
    }
    e = &t->q[t->nq++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    snprintf(e->slot, sizeof(e->slot), "%s", c->name);
    if (kind != BEV_SLOT && kind != BEV_GONE)
        snprintf(e->ref, sizeof(e->ref), "%s", c->id);
    e->exit_status = status;
    e->deliberate = deliberate;
    e->at_ms = now;
}

static struct ctr *find(const struct dk_table *t, const char *id)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (strcmp(t->c[i].id, id) == 0)
            return &t->c[i];
    return NULL;
}

/* Is name announced by a container other than c? */
static bool name_taken(const struct dk_table *t, const struct ctr *c,
                       const char *name)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (&t->c[i] != c && t->c[i].announced &&
            strcmp(t->c[i].name, name) == 0)
            return true;
    return false;
}

static struct ctr *add(struct dk_table *t, const char *id, const char *name)
{
    struct ctr *c;

    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        struct ctr *grown = realloc(t->c, cap * sizeof(*grown));

        if (grown == NULL) {
            log_error("out of memory: container %.12s not tracked", id);
            return NULL;
        }
        t->c = grown;
        t->cap = cap;
    }
    c = &t->c[t->n++];
    memset(c, 0, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", id);
    snprintf(c->name, sizeof(c->name), "%s", name);
    snprintf(c->host, sizeof(c->host), "%.12s", id);
    c->state = DK_CREATED;
    c->exit_code = -1;
    c->die_until = NONE;
    c->event_ms = NONE;
    return c;
}

static void exited(struct dk_table *t, struct ctr *c, bool deliberate,
                   const char *why, int64_t now)
{
    c->die_until = NONE;
    log_info("slot=%s exited exit=%d container=%.12s: %s", c->name,
             c->exit_code, c->id, why);
    push(t, BEV_EXITED, c, c->exit_code, deliberate, now);
}

/* A held die that no stop event followed: a crash (or docker kill). */
static void flush(struct dk_table *t, struct ctr *c, int64_t now)
{
    if (c->die_until != NONE)
        exited(t, c, false, "crash (no stop event)", now);
}

static void to_running(struct dk_table *t, struct ctr *c, int64_t now)
{
    flush(t, c, now);
    if (c->state == DK_RUNNING)
        return;
    c->state = DK_RUNNING;
    c->gen++;
    c->sigkill = c->other_sig = false;
    if (!c->announced) {
        c->announced = true;
        push(t, BEV_SLOT, c, 0, false, now);
    }
    log_info("slot=%s running container=%.12s", c->name, c->id);
    push(t, BEV_RUNNING, c, 0, false, now);
}

/* Paused on purpose: stopped as far as the monitor is concerned. */
static void to_paused(struct dk_table *t, struct ctr *c, int64_t now)
{
    if (c->state == DK_CREATED)
        to_running(t, c, now);
    flush(t, c, now);
    if (c->state != DK_RUNNING)
        return;
    c->state = DK_PAUSED;
    c->gen++;
    c->exit_code = -1;
    exited(t, c, true, "deliberate (paused)", now);
}

static void to_exited(struct dk_table *t, struct ctr *c, int code, int64_t now)
{
    if (c->state == DK_CREATED)
        to_running(t, c, now);   /* it ran in between */
    if (c->state == DK_PAUSED) { /* reported as stopped already */
        c->state = DK_EXITED;
        c->gen++;
        c->exit_code = code;
        return;
    }
    if (c->state != DK_RUNNING)
        return; /* seen already */
    c->state = DK_EXITED;
    c->gen++;
    c->exit_code = code;
    if (code == 0)
        exited(t, c, true, "deliberate (exit 0)", now);
    else if (c->sigkill && !c->other_sig)
        exited(t, c, false, "crash (killed by SIGKILL)", now);
    else if (t->grace_ms <= 0)
        exited(t, c, false, "crash", now);
    else
        c->die_until = now + t->grace_ms;
}

static void on_stop(struct dk_table *t, struct ctr *c, int64_t now)
{
    if (c->die_until != NONE)
        exited(t, c, true, "deliberate (stop event)", now);
}

/* c no longer exists: forget it (c is invalid afterwards). A die still
 * held was a removal (docker rm -f, compose down), not a crash. */
static void gone(struct dk_table *t, struct ctr *c, int64_t now)
{
    if (c->die_until != NONE)
        exited(t, c, true, "deliberate (removed)", now);
    if (c->announced && !name_taken(t, c, c->name)) {
        log_info("slot=%s removed container=%.12s", c->name, c->id);
        push(t, BEV_GONE, c, 0, false, now);
    }
    *c = t->c[--t->n];
}

static void rename_to(struct dk_table *t, struct ctr *c, const char *name,
                      int64_t now)
{
    if (strcmp(c->name, name) == 0)
        return;
    flush(t, c, now);
    if (c->announced && !name_taken(t, c, c->name)) {
        log_info("slot=%s renamed to %s container=%.12s", c->name, name, c->id);
        push(t, BEV_GONE, c, 0, false, now);
    }
    c->announced = false;
    snprintf(c->name, sizeof(c->name), "%s", name);
    if (c->state == DK_RUNNING) { /* a slot under its new name */
        c->state = DK_CREATED;
        to_running(t, c, now);
    }
}

int dkt_on_event(struct dk_table *t, const struct dk_event *ev, int64_t now)
{
    struct ctr *c = find(t, ev->id);

    if (c == NULL && (ev->action == DK_STOP || ev->action == DK_DESTROY))
        return 0; /* nothing known to end */
    if (c == NULL && (c = add(t, ev->id, ev->name)) == NULL)
        return -1;
    c->event_ms = now;
    if (ev->action != DK_DESTROY)
        rename_to(t, c, ev->name, now); /* a missed rename */
    switch (ev->action) {
    case DK_CREATE:
    case DK_RENAME:
        break;
    case DK_KILL:
        if (ev->signal == 9)
            c->sigkill = true;
        else
            c->other_sig = true;
        break;
    case DK_START:
        to_running(t, c, now);
        break;
    case DK_DIE:
        to_exited(t, c, ev->exit_code, now);
        break;
    case DK_PAUSE:
        to_paused(t, c, now);
        break;
    case DK_UNPAUSE:
        to_running(t, c, now);
        break;
    case DK_STOP:
        on_stop(t, c, now);
        break;
    case DK_DESTROY:
        gone(t, c, now);
        break;
    }
    return 0;
}

static const struct dk_ctr *listed(const struct dk_ctr *l, size_t n,
                                   const char *id)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(l[i].id, id) == 0)
            return &l[i];
    return NULL;
}

/* dockerd sends an event before its listings show the change: a listing
 * does not overrule what an event said about a container shortly before. */
static bool fresh(const struct ctr *c, int64_t now)
{
    return c->event_ms != NONE && now - c->event_ms < DK_LIST_LAG_MS;
}

int dkt_on_list(struct dk_table *t, const struct dk_ctr *l, size_t n,
                int64_t now)
{
    struct ctr *c;
    size_t i;
    int rc = 0;

    for (i = t->n; i-- > 0;) /* removed ones first: their names may be reused */
        if (listed(l, n, t->c[i].id) == NULL && !fresh(&t->c[i], now))
            gone(t, &t->c[i], now);
    for (i = 0; i < n; i++) {
        c = find(t, l[i].id);
        if (c == NULL && (c = add(t, l[i].id, l[i].name)) == NULL) {
            rc = -1;
            continue;
        }
        if (fresh(c, now))
            continue;
        rename_to(t, c, l[i].name, now);
        if (l[i].state == DK_RUNNING)
            to_running(t, c, now);
        else if (l[i].state == DK_PAUSED)
            to_paused(t, c, now);
        else if (l[i].state == DK_EXITED)
            to_exited(t, c, l[i].exit_code, now);
    }
    return rc;
}

void dkt_tick(struct dk_table *t, int64_t now)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (t->c[i].die_until != NONE && now >= t->c[i].die_until)
            flush(t, &t->c[i], now);
}

int64_t dkt_next_deadline(const struct dk_table *t)
{
    int64_t next = INT64_MAX;
    size_t i;

    for (i = 0; i < t->n; i++)
        if (t->c[i].die_until != NONE && t->c[i].die_until < next)
            next = t->c[i].die_until;
    return next;
}

size_t dkt_take(struct dk_table *t, struct backend_event *out, size_t max)
{
    size_t n = t->nq < max ? t->nq : max;

    if (n == 0)
        return 0; /* (t->q may be NULL) */
    memcpy(out, t->q, n * sizeof(*out));
    memmove(t->q, t->q + n, (t->nq - n) * sizeof(*t->q));
    t->nq -= n;
    return n;
}

size_t dkt_queued(const struct dk_table *t)
{
    return t->nq;
}

bool dkt_uninspected(const struct dk_table *t, char *id, size_t idsz)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (!t->c[i].inspected) {
            snprintf(id, idsz, "%s", t->c[i].id);
            return true;
        }
    return false;
}

void dkt_set_hostname(struct dk_table *t, const char *id, const char *hostname)
{
    struct ctr *c = find(t, id);

    if (c == NULL)
        return;
    c->inspected = true;
    if (hostname && hostname[0])
        snprintf(c->host, sizeof(c->host), "%s", hostname);
}

bool dkt_match(const struct dk_table *t, const char *host, char *slot,
               size_t slotsz, char *ref, size_t refsz)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        const struct ctr *c = &t->c[i];

        if (c->announced && c->state == DK_RUNNING &&
            strcmp(c->host, host) == 0) {
            snprintf(slot, slotsz, "%s", c->name);
            snprintf(ref, refsz, "%s", c->id);
            return true;
        }
    }
    return false;
}

int dkt_lookup(const struct dk_table *t, const char *slot, char *id,
               size_t idsz, unsigned *gen)
{
    const struct ctr *best = NULL;
    size_t i;

    for (i = 0; i < t->n; i++) {
        const struct ctr *c = &t->c[i];

        if (!c->announced || strcmp(c->name, slot) != 0)
            continue;
        if (best == NULL || c->state == DK_RUNNING)
            best = c;
    }
    if (best == NULL)
        return -1;
    snprintf(id, idsz, "%s", best->id);
    *gen = best->gen;
    return 0;
}

void dkt_start_done(struct dk_table *t, const char *id, unsigned gen, bool ok,
                    int64_t now)
{
    struct ctr *c = find(t, id);

    if (c == NULL || c->gen != gen || c->state == DK_RUNNING)
        return; /* gone, or its start or death was seen meanwhile */
    if (ok) {
        c->event_ms = now; /* as good as its start event */
        to_running(t, c, now);
        return;
    }
    push(t, BEV_RUNNING, c, 0, false, now);
    push(t, BEV_EXITED, c, -1, false, now);
}
