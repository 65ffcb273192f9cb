/*
 * events.c - publishes the coordinator's session snapshots to cs.events
 * (see events.h). The machine computes them (coord_snapshot, pure); this
 * module decides when each is due and publishes it.
 */
#include "events.h"

#include "clock.h"
#include "err.h"
#include "evpub.h"
#include "grow.h"
#include "log.h"
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Between two scans of the active sessions (ended ones go at once). */
#define SCAN_MS 200

struct entry {
    char id[COORD_SNAP_ID];
    int64_t started_ms; /* wall clock */
    uint64_t last_ms;   /* monotonic: last publish */
    char *json;         /* last published */
    bool seen;          /* active at the current scan */
};

struct cevents {
    char producer[48];
    struct entry *v;
    size_t n, cap;
    char **finals; /* JSON of sessions that ended, to publish */
    size_t nfinal, fcap;
    uint64_t last_scan;
    /* the current scan */
    struct mw_conn *conn;
    const struct coord *coord;
    struct coord_snap snap;
    uint64_t now;
    int err;
    int sent;
};

struct cevents *cevents_create(const char *producer)
{
    struct cevents *e = calloc(1, sizeof(*e));

    if (e != NULL)
        snprintf(e->producer, sizeof(e->producer), "%s", producer);
    return e;
}

void cevents_destroy(struct cevents *e)
{
    size_t i;

    if (e == NULL)
        return;
    for (i = 0; i < e->n; i++)
        free(e->v[i].json);
    for (i = 0; i < e->nfinal; i++)
        free(e->finals[i]);
    free(e->v);
    free(e->finals);
    free(e);
}

static struct entry *find(struct cevents *e, const char *id)
{
    size_t i;

    for (i = 0; i < e->n; i++)
        if (strcmp(e->v[i].id, id) == 0)
            return &e->v[i];
    return NULL;
}

static void drop(struct cevents *e, struct entry *x)
{
    free(x->json);
    *x = e->v[--e->n];
}

void cevents_final(void *arg, const struct coord_snap *s)
{
    struct cevents *e = arg;
    struct entry *x = find(e, s->session);
    int64_t now = clock_wall_ms();
    int64_t started = x ? x->started_ms : now - (int64_t)s->age_ms;
    char *json = coord_snap_json(s, started, now);

    if (x)
        drop(e, x);
    if (json == NULL || grow_array((void **)&e->finals, &e->fcap, e->nfinal + 1,
                                   sizeof(char *), 8) != 0) {
        log_warn("coordinator out of memory: no end event for session=%s",
                 s->session);
        free(json);
        return;
    }
    e->finals[e->nfinal++] = json;
}

/* Nothing else is unconfirmed while events are published, so a returned,
 * nacked or refused publish is an event's: a view, not state, it is not
 * worth stopping the coordinator for (the next snapshot replaces it). */
static int publish_one(struct cevents *e, const char *json)
{
    int rc = evpub_publish(e->conn, "session", e->producer, json);

    if (rc == 0)
        e->sent++;
    return rc;
}

/* Due: new, changed and quiet for CEVENTS_MIN_GAP_MS, or quiet for
 * CEVENTS_REFRESH_MS. */
static bool due(const struct cevents *e, const struct entry *x,
                const char *json, bool fresh)
{
    uint64_t quiet = e->now - x->last_ms;

    return fresh || quiet >= CEVENTS_REFRESH_MS ||
           (quiet >= CEVENTS_MIN_GAP_MS && strcmp(x->json, json) != 0);
}

static void visit(void *arg, const char *id)
{
    struct cevents *e = arg;
    struct entry *x = find(e, id);
    bool fresh = x == NULL;
    char *json;

    if (e->err != 0 || coord_snapshot(e->coord, id, &e->snap) != 0)
        return;
    if (fresh) {
        if (grow_array((void **)&e->v, &e->cap, e->n + 1, sizeof(*e->v), 16))
            return; /* out of memory: tried again at the next scan */
        x = &e->v[e->n++];
        memset(x, 0, sizeof(*x));
        snprintf(x->id, sizeof(x->id), "%s", id);
        x->started_ms = clock_wall_ms() - (int64_t)e->snap.age_ms;
    }
    x->seen = true;
    json = coord_snap_json(&e->snap, x->started_ms, -1);
    if (json == NULL || !due(e, x, json, fresh)) {
        free(json);
        return;
    }
    e->err = publish_one(e, json);
    free(x->json);
    x->json = json;
    x->last_ms = e->now;
}

static void scan(struct cevents *e)
{
    size_t i;

    for (i = 0; i < e->n; i++)
        e->v[i].seen = false;
    coord_foreach(e->coord, visit, e);
    for (i = e->n; i-- > 0;)
        if (!e->v[i].seen) /* ended without a final (should not happen) */
            drop(e, &e->v[i]);
}

int cevents_publish(struct cevents *e, struct mw_conn *conn,
                    const struct coord *c)
{
    size_t i;

    e->now = (uint64_t)clock_mono_ms();
    if (e->nfinal == 0 && e->now - e->last_scan < SCAN_MS)
        return 0;
    e->conn = conn;
    e->coord = c;
    e->err = 0;
    e->sent = 0;
    if (e->now - e->last_scan >= SCAN_MS) {
        e->last_scan = e->now;
        scan(e);
    }
    for (i = 0; i < e->nfinal; i++) {
        if (e->err == 0)
            e->err = publish_one(e, e->finals[i]);
        free(e->finals[i]);
    }
    e->nfinal = 0;
    if (e->err != 0 || e->sent == 0)
        return e->err;
    return evpub_flush(conn);
}
