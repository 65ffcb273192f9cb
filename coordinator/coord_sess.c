/*
 * coord_sess.c - the coordinator machine's storage: the global index of
 * every input queue, sessions in a chained hash map keyed by id, each
 * session's flows (a small array: a few dozen per session), and the
 * tombstones of ended sessions.
 */
#include "coord_internal.h"

#include "grow.h"
#include "log.h"
#include "tombs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int csess_layout(struct coord *c)
{
    int s, i, nq = 0;

    for (s = 0; s < PLAN_NSTAGES; s++) {
        c->qbase[s] = nq;
        nq += plan_nqueues(&c->plan, (enum plan_stage_id)s);
    }
    c->nq = nq;
    c->qname = calloc((size_t)nq, sizeof(*c->qname));
    c->qstage = calloc((size_t)nq, sizeof(*c->qstage));
    if (c->qname == NULL || c->qstage == NULL)
        return -1;
    for (s = 0; s < PLAN_NSTAGES; s++)
        for (i = 0; i < plan_nqueues(&c->plan, (enum plan_stage_id)s); i++) {
            char key[PLAN_NAME_MAX];
            int q = c->qbase[s] + i;

            plan_queue_key(&c->plan, (enum plan_stage_id)s, i, key,
                           sizeof(key));
            plan_queue((enum plan_stage_id)s, key, c->qname[q],
                       sizeof(c->qname[q]));
            c->qstage[q] = (uint8_t)s;
        }
    return 0;
}

/* Global index of queue `name` ("<stage>.<key>"), or -1. */
int csess_queue_index(const struct coord *c, const char *name)
{
    int q;

    for (q = 0; q < c->nq; q++)
        if (strcmp(c->qname[q], name) == 0)
            return q;
    return -1;
}

/* ------------------------------------------------------------ sessions */

static size_t hash_id(const char *id)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    while (*id)
        h = (h ^ (uint8_t)*id++) * 1099511628211ULL;
    return (size_t)h;
}

/* The link that points at session `id`, or at the NULL ending its chain. */
static struct session **find_link(const struct coord *c, const char *id)
{
    struct session **link = &c->buckets[hash_id(id) & (c->nbuckets - 1)];

    while (*link && strcmp((*link)->id, id) != 0)
        link = &(*link)->next;
    return link;
}

struct session *csess_find(const struct coord *c, const char *id)
{
    return *find_link(c, id);
}

/* Doubles the bucket array; on allocation failure the map stays as it is
 * (longer chains, still correct). */
static void grow(struct coord *c)
{
    size_t n = c->nbuckets * 2, b;
    struct session **nb =
        calloc(n, sizeof(*nb)); // NOLINT(bugprone-sizeof-expression)

    if (nb == NULL)
        return;
    for (b = 0; b < c->nbuckets; b++) {
        struct session *ss = c->buckets[b], *next;

        for (; ss; ss = next) {
            size_t i = hash_id(ss->id) & (n - 1);

            next = ss->next;
            ss->next = nb[i];
            nb[i] = ss;
        }
    }
    free(c->buckets);
    c->buckets = nb;
    c->nbuckets = n;
}

struct session *csess_new(struct coord *c, const char *id, uint64_t now)
{
    struct session *ss = calloc(1, sizeof(*ss));
    struct session **link;
    int s;

    if (ss == NULL)
        return NULL;
    snprintf(ss->id, sizeof(ss->id), "%s", id);
    ss->start_ms = now;
    ss->notice_stage = -1;
    ss->rows_sent = ss->bytes_sent = -1;
    for (s = 0; s < PLAN_NSTAGES; s++) {
        ss->st[s].state = COORD_WAITING;
        ss->st[s].since_ms = now;
    }
    if (c->nsessions >= c->nbuckets)
        grow(c);
    link = find_link(c, ss->id);
    ss->next = NULL;
    *link = ss;
    c->nsessions++;
    return ss;
}

static void session_free(struct session *ss)
{
    size_t i;

    for (i = 0; i < ss->nflows; i++)
        idset_fini(&ss->flows[i].ids);
    free(ss->flows);
    free(ss);
}

void csess_drop(struct coord *c, struct session *ss, enum coord_phase how,
                const char *reason)
{
    struct session **link = find_link(c, ss->id);

    if (c->final_fn) {
        csnap_fill(c, ss, c->snap);
        c->snap->phase = how;
        snprintf(c->snap->reason, sizeof(c->snap->reason), "%s", reason);
        c->final_fn(c->final_arg, c->snap);
    }
    *link = ss->next;
    c->nsessions--;
    csess_tombstone(c, ss->id);
    if (c->end_fn)
        c->end_fn(c->end_arg, ss->id);
    session_free(ss);
}

void csess_free_all(struct coord *c)
{
    size_t b;

    for (b = 0; c->buckets && b < c->nbuckets; b++) {
        struct session *ss = c->buckets[b], *next;

        for (; ss; ss = next) {
            next = ss->next;
            session_free(ss);
        }
        c->buckets[b] = NULL;
    }
    c->nsessions = 0;
}

/* ------------------------------------------------------------ flows */

struct flow *csess_flow(struct session *ss, int q, const char *stream,
                        bool create)
{
    struct flow *f;
    size_t i;

    for (i = 0; i < ss->nflows; i++)
        if (ss->flows[i].q == q && strcmp(ss->flows[i].stream, stream) == 0)
            return &ss->flows[i];
    if (!create || strlen(stream) >= sizeof(f->stream))
        return NULL;
    if (grow_array((void **)&ss->flows, &ss->cap, ss->nflows + 1, sizeof(*f),
                   16) != 0)
        return NULL;
    f = &ss->flows[ss->nflows++];
    memset(f, 0, sizeof(*f));
    f->q = q;
    f->table = plan_table_by_name(stream);
    memcpy(f->stream, stream, strlen(stream) + 1);
    f->expected = -1;
    idset_init(&f->ids);
    return f;
}

/* ------------------------------------------------------------ tombstones */

bool csess_tombstoned(const struct coord *c, const char *id)
{
    return tombs_has(c->tombs, id);
}

void csess_tombstone(struct coord *c, const char *id)
{
    int rc;

    if (tombs_has(c->tombs, id))
        return;
    rc = tombs_add(c->tombs, id);

    /* Still remembered in memory: only a restart could forget it. */
    if (rc != 0)
        log_error("eof session=%s tombstone not persisted: %s", id,
                  cs_strerror(rc));
}
