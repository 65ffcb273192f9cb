/*
 * wsess.c - the runtime's sessions and its side of the EOF protocol:
 * drain -> report processed counts; finish -> let the kind emit what it
 * holds, then report sent counts with done and drop the session; abort ->
 * drop. Ended sessions are remembered (a ring of tombstones) so late
 * duplicates do not bring them back.
 */
#include "ctl.h"
#include "clock.h"
#include "log.h"
#include "topo.h"
#include "worker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool wsess_tombstoned(const struct worker *w, const char *id)
{
    int i;

    for (i = 0; i < WORKER_TOMBSTONES; i++)
        if (w->tombs[i][0] && strcmp(w->tombs[i], id) == 0)
            return true;
    return false;
}

static void tombstone(struct worker *w, const char *id)
{
    snprintf(w->tombs[w->ntomb_next], sizeof(w->tombs[0]), "%s", id);
    w->ntomb_next = (w->ntomb_next + 1) % WORKER_TOMBSTONES;
}

struct worker_sess *wsess_get(struct worker *w, const char *id, bool create)
{
    struct worker_sess *ws;

    for (ws = w->sessions; ws; ws = ws->next)
        if (strcmp(ws->id, id) == 0)
            return ws;
    if (!create || wsess_tombstoned(w, id))
        return NULL;
    ws = calloc(1, sizeof(*ws));
    if (ws == NULL)
        return NULL;
    ws->w = w;
    snprintf(ws->id, sizeof(ws->id), "%s", id);
    dedup_init(&ws->dedup);
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

void wsess_drop(struct worker *w, struct worker_sess *ws)
{
    struct worker_sess **pp;

    for (pp = &w->sessions; *pp; pp = &(*pp)->next)
        if (*pp == ws) {
            *pp = ws->next;
            break;
        }
    tombstone(w, ws->id);
    w->ops->session_close(w->ctx, ws->st);
    dedup_fini(&ws->dedup);
    free(ws);
}

void wsess_drop_all(struct worker *w)
{
    while (w->sessions)
        wsess_drop(w, w->sessions);
}

static void base_msg(struct worker *w, struct ctl_msg *m, enum ctl_type t,
                     const char *session)
{
    ctl_init(m, t, session);
    snprintf(m->stage, sizeof(m->stage), "%s", plan_stage_name(w->stage));
    m->replica = w->replica;
}

static int send_report(struct worker *w, struct worker_sess *ws)
{
    struct ctl_msg *m = malloc(sizeof(*m));
    int i, rc = 0;

    if (m == NULL)
        return MW_ERR_NOMEM;
    base_msg(w, m, CTL_REPORT, ws->id);
    for (i = 0; i < w->ninputs && rc == 0; i++)
        if (ws->processed[i])
            rc = ctl_add(m, 0, w->inputs[i], ws->processed[i]);
    if (rc == 0)
        rc = topo_send_ctl(w->conn, NULL, m, w->producer);
    ws->report_due = false;
    free(m);
    return rc;
}

int wsess_send_reports(struct worker *w)
{
    struct worker_sess *ws;
    int rc;

    for (ws = w->sessions; ws; ws = ws->next)
        if (ws->report_due && (rc = send_report(w, ws)) != 0)
            return rc;
    return 0;
}

static int add_sent(struct worker *w, struct worker_sess *ws, struct ctl_msg *m)
{
    char key[PLAN_NAME_MAX], q[PLAN_NAME_MAX];
    int s, i;

    for (s = 0; s < PLAN_NSTAGES; s++)
        for (i = 0; i < PLAN_MAX_REPLICAS; i++) {
            if (ws->sent[s][i] == 0)
                continue;
            plan_queue_key(&w->plan, (enum plan_stage_id)s, i, key, sizeof(key));
            plan_queue((enum plan_stage_id)s, key, q, sizeof(q));
            if (ctl_add(m, 0, q, ws->sent[s][i]) != 0)
                return -1;
        }
    for (i = 0; i < PLAN_NTABLES; i++)
        if (ws->rejected[i] &&
            ctl_add(m, 1, plan_table_name((enum plan_table)i), ws->rejected[i]) != 0)
            return -1;
    return 0;
}

static int on_finish(struct worker *w, const struct ctl_msg *in)
{
    struct worker_sess *ws = wsess_get(w, in->session, true);
    struct ctl_msg *m;
    int64_t t0;
    int rc, i;

    if (ws == NULL)
        return wsess_tombstoned(w, in->session) ? 0 : MW_ERR_NOMEM;
    snprintf(ws->reply_to, sizeof(ws->reply_to), "%s", in->reply_to);
    for (i = 0; i < PLAN_NTABLES; i++)
        ws->up_rejected[i] = ctl_get(in, 1, plan_table_name((enum plan_table)i));
    t0 = clock_mono_ns();
    rc = w->ops->on_finish(w->ctx, ws->st, ws);
    ws->busy_ns += clock_mono_ns() - t0;
    if (rc == 0)
        rc = mw_flush(w->conn);
    if (rc != 0)
        return rc;
    m = malloc(sizeof(*m));
    if (m == NULL)
        return MW_ERR_NOMEM;
    base_msg(w, m, CTL_DONE, ws->id);
    rc = add_sent(w, ws, m) == 0 ? topo_send_ctl(w->conn, NULL, m, w->producer)
                                 : MW_ERR_ARG;
    free(m);
    if (rc == 0)
        rc = mw_flush(w->conn);
    log_info("finished session=%s stage=%s replica=%d in_msgs=%lld in_bytes=%lld "
             "out_msgs=%lld out_bytes=%lld busy_ms=%lld span_ms=%lld",
             ws->id, plan_stage_name(w->stage), w->replica, (long long)ws->in_msgs,
             (long long)ws->in_bytes, (long long)ws->out_msgs,
             (long long)ws->out_bytes, (long long)(ws->busy_ns / 1000000),
             (long long)(ws->first_ns ? (clock_mono_ns() - ws->first_ns) / 1000000 : 0));
    wsess_drop(w, ws);
    return rc;
}

int wsess_handle_ctl(struct worker *w, const uint8_t *body, size_t len)
{
    struct ctl_msg *m = malloc(sizeof(*m));
    struct worker_sess *ws;
    int rc = 0;

    if (m == NULL)
        return MW_ERR_NOMEM;
    if (ctl_decode(body, len, m) != 0) {
        log_warn("invalid control message dropped len=%zu", len);
        goto out;
    }
    switch (m->type) {
    case CTL_DRAIN:
        ws = wsess_get(w, m->session, true);
        if (ws && !ws->draining) {
            ws->draining = true;
            rc = send_report(w, ws);
        }
        break;
    case CTL_FINISH:
        rc = on_finish(w, m);
        break;
    case CTL_ABORT:
        ws = wsess_get(w, m->session, false);
        log_info("abort session=%s reason=\"%s\"", m->session, m->reason);
        if (ws)
            wsess_drop(w, ws);
        else
            tombstone(w, m->session);
        break;
    case CTL_SHUTDOWN:
        log_info("shutdown received");
        w->stop = true;
        break;
    default:
        log_warn("unexpected control message type=%s", ctl_type_name(m->type));
        break;
    }
out:
    free(m);
    return rc;
}
