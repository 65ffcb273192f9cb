/*
 * wsess.c - the runtime's sessions and its side of the EOF protocol.
 *
 * Reports say which input ids are processed, as sets (ctl.h):
 *   stateless stages (the filter) report after every commit the ids whose
 *   outputs the broker confirmed since the last report (a delta), before
 *   acking them, so no progress dies with the process;
 *   stateful stages report their whole applied set (rebuilt from the log
 *   after a restart) when drained, and again after each commit while
 *   draining.
 * drain -> report; finish -> let the kind emit what it holds, confirm, then
 * done with the flows it sent (or declared) and drop the session; abort ->
 * drop. Ended sessions are tombstoned (persisted for stateful stages) so
 * late duplicates do not bring them back.
 */
#include "clock.h"
#include "fault.h"
#include "grow.h"
#include "log.h"
#include "tombs.h"
#include "topo.h"
#include "worker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool wsess_tombstoned(const struct worker *w, const char *id)
{
    return tombs_has(w->tombs, id);
}

static void tombstone(struct worker *w, const char *id)
{
    int rc = tombs_add(w->tombs, id);

    if (rc != 0)
        log_error("tombstone of session=%s not persisted: %s", id,
                  cs_strerror(rc));
}

struct worker_sess *wsess_get(struct worker *w, const char *id, bool create)
{
    struct worker_sess *ws;

    for (ws = w->sessions; ws; ws = ws->next)
        if (strcmp(ws->id, id) == 0)
            return ws;
    if (!create || wsess_tombstoned(w, id) || strlen(id) >= sizeof(ws->id))
        return NULL;
    ws = calloc(1, sizeof(*ws));
    if (ws == NULL)
        return NULL;
    ws->w = w;
    memcpy(ws->id, id, strlen(id) + 1);
    ws->st = w->ops->session_open(w->ctx, ws);
    if (ws->st == NULL) {
        free(ws);
        return NULL;
    }
    ws->next = w->sessions;
    w->sessions = ws;
    log_debug("session open session=%s", id);
    return ws;
}

static void sess_free(struct worker *w, struct worker_sess *ws)
{
    size_t i;

    w->ops->session_close(w->ctx, ws->st);
    for (i = 0; i < ws->nstreams; i++) {
        idset_fini(&ws->streams[i].ids);
        free(ws->streams[i].rej);
    }
    free(ws->streams);
    free(ws->outs);
    free(ws);
}

void wsess_drop(struct worker *w, struct worker_sess *ws, bool ended)
{
    struct worker_sess **pp;
    int rc;

    for (pp = &w->sessions; *pp; pp = &(*pp)->next)
        if (*pp == ws) {
            *pp = ws->next;
            break;
        }
    if (ended) {
        /* The tombstone is durable before the log goes: a crash in between
         * leaves a log that the next start drops as ended. */
        tombstone(w, ws->id);
        if (w->stateful && (rc = wlog_remove(w, ws)) != 0)
            log_warn("cannot delete the log of session=%s: %s", ws->id,
                     cs_strerror(rc));
    }
    sess_free(w, ws);
}

void wsess_drop_all(struct worker *w)
{
    while (w->sessions)
        wsess_drop(w, w->sessions, false);
}

int wsess_stream(struct worker_sess *ws, const char *name, int input)
{
    struct wstream *s;
    size_t i;

    for (i = 0; i < ws->nstreams; i++)
        if (strcmp(ws->streams[i].name, name) == 0)
            return (int)i;
    if (strlen(name) >= sizeof(s->name))
        return -1;
    if (grow_array((void **)&ws->streams, &ws->scap, ws->nstreams + 1,
                   sizeof(*s), 4) != 0)
        return -1;
    s = &ws->streams[ws->nstreams];
    memset(s, 0, sizeof(*s));
    memcpy(s->name, name, strlen(name) + 1);
    s->input = input;
    idset_init(&s->ids);
    return (int)ws->nstreams++;
}

int wsess_add_rej(struct wstream *s, int64_t seq, int64_t n)
{
    if (grow_array((void **)&s->rej, &s->rejcap, s->nrej + 1, sizeof(*s->rej),
                   8) != 0)
        return CS_ERR_NOMEM;
    s->rej[s->nrej].seq = seq;
    s->rej[s->nrej].n = n;
    s->nrej++;
    return 0;
}

/* ------------------------------------------------------------ reports */

static void base_msg(struct worker *w, struct ctl_msg *m, enum ctl_type t,
                     const char *session)
{
    ctl_init(m, t, session);
    snprintf(m->stage, sizeof(m->stage), "%s", plan_stage_name(w->stage));
    m->replica = w->replica;
}

/* Sends the report being built (if it holds anything) and starts a new one
 * that continues stream s. */
static int report_cut(struct worker *w, struct worker_sess *ws,
                      const struct wstream *s)
{
    int rc = 0;

    if (w->out->nflows > 0) {
        rc = topo_send_ctl(w->conn, NULL, w->out, w->producer);
        w->reports_sent = true;
    }
    base_msg(w, w->out, CTL_REPORT, ws->id);
    if (rc == 0 && s &&
        ctl_begin_flow(w->out, w->inputs[s->input], s->name) < 0)
        rc = CS_ERR_WK_BAD_CONTROL;
    return rc;
}

/* Adds one rejected count. The coordinator takes a count only with an id of
 * the same message's ranges: once the stream was cut over several messages,
 * the id is repeated with it (merging by union makes that harmless). */
static int report_rej(struct worker *w, struct worker_sess *ws,
                      const struct wstream *s, const struct wrej *r, bool *cut)
{
    int tries, rc;

    for (tries = 0; tries < 2; tries++) {
        if ((!*cut || ctl_add_range(w->out, r->seq, r->seq) == 0) &&
            ctl_add_rej(w->out, r->seq, r->n) == 0)
            return 0;
        if ((rc = report_cut(w, ws, s)) != 0)
            return rc;
        *cut = true;
    }
    return CS_ERR_WK_BAD_CONTROL;
}

static int report_stream(struct worker *w, struct worker_sess *ws,
                         const struct wstream *s)
{
    int64_t lo, hi = -2;
    bool cut = false;
    size_t i;
    int rc;

    if (ctl_begin_flow(w->out, w->inputs[s->input], s->name) < 0 &&
        (rc = report_cut(w, ws, s)) != 0)
        return rc;
    while (idset_next_range(&s->ids, hi + 2, &lo, &hi)) {
        if (ctl_add_range(w->out, lo, hi) == 0)
            continue;
        if ((rc = report_cut(w, ws, s)) != 0)
            return rc;
        cut = true;
        if (ctl_add_range(w->out, lo, hi) != 0)
            return CS_ERR_WK_BAD_CONTROL;
    }
    for (i = 0; i < s->nrej; i++)
        if ((rc = report_rej(w, ws, s, &s->rej[i], &cut)) != 0)
            return rc;
    return 0;
}

/* A report of ws: the delta (stateless, then forgotten) or the whole
 * applied set (stateful). Split over several messages when large: the
 * coordinator merges by union, so the parts need no order. */
static int send_report(struct worker *w, struct worker_sess *ws)
{
    size_t i;
    int rc = 0;

    base_msg(w, w->out, CTL_REPORT, ws->id);
    for (i = 0; rc == 0 && i < ws->nstreams; i++) {
        struct wstream *s = &ws->streams[i];

        if (idset_count(&s->ids) == 0)
            continue;
        rc = report_stream(w, ws, s);
        if (rc == 0 && !w->stateful) {
            idset_clear(&s->ids);
            s->nrej = 0;
        }
    }
    if (rc == 0)
        rc = report_cut(w, ws, NULL);
    ws->dirty = false;
    return rc;
}

int wsess_send_reports(struct worker *w)
{
    struct worker_sess *ws;
    int rc;

    for (ws = w->sessions; ws; ws = ws->next)
        if (ws->dirty && (!w->stateful || ws->draining) &&
            (rc = send_report(w, ws)) != 0)
            return rc;
    return 0;
}

int wsess_send_hello(struct worker *w)
{
    struct worker_sess *ws;
    int rc = 0, n = 0;

    base_msg(w, w->out, CTL_HELLO, NULL);
    for (ws = w->sessions; rc == 0 && ws; ws = ws->next, n++)
        if (ctl_add_session(w->out, ws->id) != 0) {
            rc = topo_send_ctl(w->conn, NULL, w->out, w->producer);
            base_msg(w, w->out, CTL_HELLO, NULL);
            if (rc == 0 && ctl_add_session(w->out, ws->id) != 0)
                rc = CS_ERR_WK_BAD_CONTROL;
        }
    if (rc == 0)
        rc = topo_send_ctl(w->conn, NULL, w->out, w->producer);
    if (rc == 0)
        rc = mw_flush(w->conn);
    log_info("hello sent stage=%s replica=%d sessions_held=%d",
             plan_stage_name(w->stage), w->replica, n);
    return rc;
}

/* ------------------------------------------------------------ finish */

static int add_outs(struct worker *w, struct worker_sess *ws, struct ctl_msg *m)
{
    char key[PLAN_NAME_MAX], q[PLAN_NAME_MAX];
    size_t i;

    for (i = 0; i < ws->nouts; i++) {
        const struct wout *o = &ws->outs[i];

        plan_queue_key(&w->plan, (enum plan_stage_id)o->dest, o->shard, key,
                       sizeof(key));
        plan_queue((enum plan_stage_id)o->dest, key, q, sizeof(q));
        if (ctl_set_flow(m, q, o->stream, o->n) != 0)
            return CS_ERR_WK_BAD_CONTROL;
    }
    return 0;
}

static void log_finished(const struct worker *w, const struct worker_sess *ws)
{
    log_info(
        "finished session=%s stage=%s replica=%d in_msgs=%lld in_bytes=%lld "
        "out_msgs=%lld out_bytes=%lld busy_ms=%lld span_ms=%lld",
        ws->id, plan_stage_name(w->stage), w->replica, (long long)ws->in_msgs,
        (long long)ws->in_bytes, (long long)ws->out_msgs,
        (long long)ws->out_bytes, (long long)(ws->busy_ns / 1000000),
        (long long)(ws->first_ns ? (clock_mono_ns() - ws->first_ns) / 1000000
                                 : 0));
}

static int on_finish(struct worker *w, const struct ctl_msg *in)
{
    struct worker_sess *ws = wsess_get(w, in->session, true);
    int64_t t0;
    int rc, i;

    if (ws == NULL)
        return wsess_tombstoned(w, in->session) ? 0 : MW_ERR_NOMEM;
    snprintf(ws->reply_to, sizeof(ws->reply_to), "%s", in->reply_to);
    for (i = 0; i < PLAN_NTABLES; i++)
        ws->up_rejected[i] =
            ctl_get_rejected(in, plan_table_name((enum plan_table)i));
    t0 = clock_mono_ns();
    ws->finish = in;
    rc = w->ops->on_finish(w->ctx, ws->st, ws);
    ws->finish = NULL;
    t0 = clock_mono_ns() - t0;
    ws->busy_ns += t0;
    w->stats.busy_ns += t0;
    if (rc == 0)
        rc = mw_flush(w->conn);
    if (rc == MW_ERR_UNROUTABLE) {
        /* Only results can be unroutable (data queues are declared by
         * their producers): their gateway's queue is gone, and so is the
         * session's client. */
        log_warn("results of session=%s could not be routed to gateway %s: "
                 "dropped",
                 ws->id, ws->reply_to);
        rc = 0;
    }
    FAULT_POINT("worker.after_emit_before_done");
    base_msg(w, w->out, CTL_DONE, ws->id);
    if (rc == 0)
        rc = add_outs(w, ws, w->out);
    if (rc == 0)
        rc = topo_send_ctl(w->conn, NULL, w->out, w->producer);
    if (rc == 0)
        rc = mw_flush(w->conn);
    if (rc != 0)
        return rc;
    FAULT_POINT("worker.after_done_before_drop");
    log_finished(w, ws);
    wsess_drop(w, ws, true);
    return 0;
}

/* ------------------------------------------------------------ control */

static int on_drain(struct worker *w, const struct ctl_msg *in)
{
    struct worker_sess *ws;
    int rc;

    /* A stateless replica reported everything already. */
    if (!w->stateful)
        return 0;
    /* The coordinator drains a stage while its upstream finishes, so a
     * drain may come before the session's first input here: the session
     * opens, and what it applies from now on is reported as it goes. */
    if ((ws = wsess_get(w, in->session, true)) == NULL)
        return wsess_tombstoned(w, in->session) ? 0 : MW_ERR_NOMEM;
    ws->draining = true;
    if (ws->nstreams == 0)
        return 0; /* nothing applied: nothing to report yet */
    rc = send_report(w, ws);
    /* confirmed before the drain is acked */
    return rc == 0 ? mw_flush(w->conn) : rc;
}

static void on_abort(struct worker *w, const struct ctl_msg *in)
{
    struct worker_sess *ws = wsess_get(w, in->session, false);

    log_info("abort session=%s reason=\"%s\"", in->session, in->reason);
    if (ws)
        wsess_drop(w, ws, true);
    else if (!wsess_tombstoned(w, in->session))
        tombstone(w, in->session);
}

static void on_shutdown(struct worker *w, const struct ctl_msg *in)
{
    /* Control queues are durable: a shutdown sent while this replica was
     * down belongs to an earlier run. */
    if (in->ts_ms > 0 && in->ts_ms < w->started_wall_ms) {
        log_info(
            "shutdown from before this replica started ignored age_ms=%lld",
            (long long)(w->started_wall_ms - in->ts_ms));
        return;
    }
    log_info("shutdown received");
    w->stop = true;
}

int wsess_handle_ctl(struct worker *w, const uint8_t *body, size_t len)
{
    struct ctl_msg *m = ctl_new(CTL_SHUTDOWN, NULL);
    int rc = 0;

    if (m == NULL)
        return MW_ERR_NOMEM;
    if (ctl_decode(body, len, m) != 0) {
        log_warn("invalid control message dropped len=%zu", len);
        goto out;
    }
    switch (m->type) {
    case CTL_DRAIN:
        rc = on_drain(w, m);
        break;
    case CTL_FINISH:
        rc = on_finish(w, m);
        break;
    case CTL_ABORT:
        on_abort(w, m);
        break;
    case CTL_SHUTDOWN:
        on_shutdown(w, m);
        break;
    default:
        log_warn("unexpected control message type=%s", ctl_type_name(m->type));
        break;
    }
out:
    free(m);
    return rc;
}
