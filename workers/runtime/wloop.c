/*
 * wloop.c - the consume -> handle -> commit loop of every worker.
 *
 * Inputs are handled one by one and acked in batches (WORKER_ACK_BATCH, or
 * when the queue runs dry). A batch is committed in this order, so that an
 * input is acked only after its effect survives any crash:
 *
 *   stateless (filter):  outputs confirmed by the broker -> report of the
 *                        batch's ids confirmed -> acks
 *   stateful (sharded):  inputs applied and logged -> one fdatasync of the
 *                        logs -> acks -> (while draining) report
 *
 * A crash before the acks redelivers the batch: a stateless stage handles
 * it again (same outputs, same ids: absorbed downstream), a stateful stage
 * finds the ids in its duplicate filter (rebuilt from the log) and only
 * acks them.
 */
#include "clock.h"
#include "fault.h"
#include "hb.h"
#include "log.h"
#include "sig.h"
#include "wal.h"
#include "worker_internal.h"

#include <string.h>

static int input_index(const struct worker *w, const char *queue)
{
    int i;

    for (i = 0; i < w->ninputs; i++)
        if (strcmp(w->inputs[i], queue) == 0)
            return i;
    return -1;
}

/* Applies one input through the kind (and, stateful, the log). */
static int apply(struct worker *w, struct pending_ack *p,
                 const struct mw_delivery *d, int input)
{
    struct worker_sess *ws = p->ws;
    struct wstream *s = &ws->streams[p->stream];
    struct worker_msg m = {d->queue, d->meta.stream, d->meta.seq, d->body,
                           d->len};
    int64_t t0 = clock_mono_ns();
    int rc;

    if (ws->first_ns == 0)
        ws->first_ns = t0;
    w->cur = p;
    rc = w->ops->on_batch(w->ctx, ws->st, ws, &m);
    w->cur = NULL;
    if (rc != 0)
        return rc;
    t0 = clock_mono_ns() - t0;
    ws->busy_ns += t0;
    ws->in_msgs++;
    ws->in_bytes += (int64_t)d->len;
    w->stats.busy_ns += t0;
    w->stats.msgs_in++;
    w->stats.bytes_in += (int64_t)d->len;
    p->fresh = true;
    if (!w->stateful)
        return 0;
    FAULT_POINT("worker.after_apply_before_log");
    rc = wlog_append(w, ws, input, &d->meta, p->rejected, d->body, d->len);
    if (rc != 0) {
        log_error("cannot append to the log of session=%s: %s", ws->id,
                  cs_strerror(rc));
        return rc;
    }
    if (idset_add(&s->ids, p->seq) < 0 ||
        (p->rejected > 0 && wsess_add_rej(s, p->seq, p->rejected) != 0))
        return MW_ERR_NOMEM;
    return 0;
}

static int handle_data(struct worker *w, const struct mw_delivery *d)
{
    struct pending_ack *p = &w->pending[w->npending++];
    int input = input_index(w, d->queue);

    memset(p, 0, sizeof(*p));
    p->tag = d->tag;
    if (d->meta.session[0] == '\0' || input < 0 || d->meta.seq < 0 ||
        d->meta.seq >= IDSET_MAX_SEQ || d->meta.kind != MW_KIND_DATA) {
        log_warn("malformed data message dropped queue=%s session=%s seq=%lld",
                 d->queue, d->meta.session, (long long)d->meta.seq);
        return 0;
    }
    p->ws = wsess_get(w, d->meta.session, true);
    if (p->ws == NULL)
        return wsess_tombstoned(w, d->meta.session) ? 0 : MW_ERR_NOMEM;
    p->stream = wsess_stream(p->ws, d->meta.stream, input);
    if (p->stream < 0) {
        p->ws = NULL;
        return MW_ERR_NOMEM;
    }
    p->seq = d->meta.seq;
    if (w->stateful && idset_has(&p->ws->streams[p->stream].ids, p->seq))
        return 0; /* a redelivered copy of an applied input: ack only */
    return apply(w, p, d, input);
}

/* What the batch's inputs add to their sessions' next reports. */
static int record(struct worker *w)
{
    int i;

    for (i = 0; i < w->npending; i++) {
        struct pending_ack *p = &w->pending[i];
        struct wstream *s;

        if (p->ws == NULL || !p->fresh)
            continue;
        p->ws->dirty = true;
        if (w->stateful)
            continue; /* the applied set is the report */
        s = &p->ws->streams[p->stream];
        if (idset_add(&s->ids, p->seq) < 0 ||
            (p->rejected > 0 && wsess_add_rej(s, p->seq, p->rejected) != 0))
            return MW_ERR_NOMEM;
    }
    return 0;
}

static int make_durable(struct worker *w)
{
    int rc;

    if (!w->stateful) {
        rc = mw_flush(w->conn); /* the outputs */
        FAULT_POINT("worker.after_publish_before_report");
        if (rc == 0)
            rc = record(w);
        if (rc == 0)
            rc = wsess_send_reports(w);
        if (rc == 0)
            rc = mw_flush(w->conn); /* the reports */
        FAULT_POINT("worker.after_report_before_ack");
        return rc;
    }
    FAULT_POINT("worker.after_log_before_fsync");
    rc = wal_dir_sync(w->dir);
    if (rc != 0) {
        log_error("cannot sync the logs in %s: %s", wal_dir_path(w->dir),
                  cs_strerror(rc));
        return rc;
    }
    FAULT_POINT("worker.after_fsync_before_ack");
    return record(w);
}

/* Makes the batch durable, then acks it (see the file comment). */
static int commit(struct worker *w)
{
    int i, rc;

    if (w->npending == 0)
        return 0;
    rc = make_durable(w);
    for (i = 0; rc == 0 && i < w->npending; i++) {
        rc = mw_ack(w->conn, w->pending[i].tag);
        if (rc == MW_ERR_STALE)
            rc = 0; /* redelivered later: absorbed as a duplicate */
    }
    if (rc != 0)
        return rc;
    w->npending = 0;
    /* Stateful reports come after the acks (the log already holds the
     * ids); confirming them surfaces a lost one now, not in on_finish. */
    if (w->stateful && (rc = wsess_send_reports(w)) == 0 && w->reports_sent)
        rc = mw_flush(w->conn);
    w->reports_sent = false;
    return rc;
}

static int handle_one(struct worker *w, const struct mw_delivery *d)
{
    int rc;

    if (strcmp(d->queue, w->ctl_queue) == 0) {
        rc = commit(w);
        if (rc == 0)
            rc = wsess_handle_ctl(w, d->body, d->len);
        if (rc == 0)
            rc = mw_ack(w->conn, d->tag);
        return rc == MW_ERR_STALE ? 0 : rc;
    }
    rc = handle_data(w, d);
    if (rc == 0 && w->npending >= w->ack_batch)
        rc = commit(w);
    return rc;
}

int wloop_run(struct worker *w)
{
    struct mw_delivery d;
    int rc = 0;

    while (!sig_stop_requested() && !w->stop) {
        hb_tick(w->hb);
        rc = mw_next(w->conn, &d, w->npending ? 0 : 250);
        if (rc == MW_ERR_TIMEOUT || rc == MW_ERR_INTERRUPTED)
            rc = commit(w);
        else if (rc == 0)
            rc = handle_one(w, &d);
        if (rc == 0 && w->npending == 0) /* everything is confirmed */
            rc = wstats_tick(w);
        if (rc != 0)
            break;
    }
    if (rc == 0)
        rc = commit(w); /* hand back nothing half done */
    if (rc == 0)
        rc = mw_flush(w->conn);
    return rc;
}
