/*
 * wlog.c - the write-ahead log of a stateful stage (aggregators, sink).
 *
 * Each session's applied inputs are appended to CS_STATE_DIR/<stage>-<i>/
 * <session>.wal before their deliveries are acked (the fdatasync is the
 * loop's group commit). A record is one applied input message:
 *
 *     u8 kind (1) | u8 input | u8 stream length | stream | i64le seq |
 *     i64le rejected rows | body
 *
 * On start every log is replayed through the kind's on_batch, in order,
 * which rebuilds the session's state and its duplicate filter exactly as
 * they were when the last durable record was written; a torn tail is cut
 * off (wal.h). The log of a session that ended is deleted.
 */
#include "fault.h"
#include "hb.h"
#include "log.h"
#include "tombs.h"
#include "wal.h"
#include "worker_internal.h"

#include <errno.h>
#include <string.h>

#define REC_INPUT 1
#define HDR_MAX (3 + WORKER_STREAM_MAX + 16)

static void put_i64(uint8_t *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    int i;

    for (i = 0; i < 8; i++)
        p[i] = (uint8_t)(u >> (8 * i));
}

static int64_t get_i64(const uint8_t *p)
{
    uint64_t u = 0;
    int i;

    for (i = 0; i < 8; i++)
        u |= (uint64_t)p[i] << (8 * i);
    return (int64_t)u;
}

int wlog_append(struct worker *w, struct worker_sess *ws, int input,
                const struct mw_meta *meta, int64_t rejected,
                const uint8_t *body, size_t len)
{
    uint8_t hdr[HDR_MAX];
    size_t sl = strlen(meta->stream);
    struct iovec iov[2];
    int err = 0;

    if (sl >= WORKER_STREAM_MAX)
        return -EINVAL;
    if (ws->log == NULL && (ws->log = wal_open(w->dir, ws->id, &err)) == NULL)
        return err;
    hdr[0] = REC_INPUT;
    hdr[1] = (uint8_t)input;
    hdr[2] = (uint8_t)sl;
    memcpy(hdr + 3, meta->stream, sl);
    put_i64(hdr + 3 + sl, meta->seq);
    put_i64(hdr + 11 + sl, rejected);
    iov[0].iov_base = hdr;
    iov[0].iov_len = 19 + sl;
    iov[1].iov_base = (void *)(uintptr_t)body;
    iov[1].iov_len = len;
    return wal_appendv(ws->log, iov, len ? 2 : 1);
}

int wlog_remove(struct worker *w, struct worker_sess *ws)
{
    ws->log = NULL;
    return wal_remove(w->dir, ws->id);
}

/* ------------------------------------------------------------ replay */

struct replay {
    struct worker *w;
    struct worker_sess *ws;
    uint64_t applied, bad;
};

/* Applies one logged input: 0, 1 when the record does not apply (bad
 * fields), or the error of the kind's on_batch or of an allocation. */
static int replay_input(struct replay *r, const uint8_t *rec, size_t len)
{
    struct worker *w = r->w;
    struct worker_msg m;
    char stream[WORKER_STREAM_MAX];
    size_t sl = rec[2];
    int64_t rejected;
    int si;

    if (len < 19 + sl || sl >= sizeof(stream) || rec[1] >= w->ninputs)
        return 1;
    memcpy(stream, rec + 3, sl);
    stream[sl] = '\0';
    m.queue = w->inputs[rec[1]];
    m.stream = stream;
    m.seq = get_i64(rec + 3 + sl);
    rejected = get_i64(rec + 11 + sl);
    m.body = rec + 19 + sl;
    m.len = len - 19 - sl;
    si = wsess_stream(r->ws, stream, rec[1]);
    if (si < 0)
        return CS_ERR_NOMEM; /* the name fits: checked above */
    if (idset_add(&r->ws->streams[si].ids, m.seq) != 1)
        return 0; /* logged twice (a copy applied before a crash): once */
    if (rejected > 0 &&
        wsess_add_rej(&r->ws->streams[si], m.seq, rejected) != 0)
        return CS_ERR_NOMEM;
    r->ws->in_msgs++;
    r->ws->in_bytes += (int64_t)m.len;
    r->applied++;
    return w->ops->on_batch(w->ctx, r->ws->st, r->ws, &m);
}

static int replay_record(void *arg, const uint8_t *rec, size_t len)
{
    struct replay *r = arg;
    int rc = 1;

    hb_tick(r->w->hb); /* a long replay is not a hang */
    if (len >= 3 && rec[0] == REC_INPUT)
        rc = replay_input(r, rec, len);
    if (rc <= 0)
        return rc; /* applied, or an error that stops the replay */
    /* A record that passed its CRC but does not apply: a bug, or a state
     * directory of another configuration. Skip it loudly. */
    r->bad++;
    return 0;
}

static int replay_session(void *arg, const char *name)
{
    struct worker *w = arg;
    struct replay r = {w, NULL, 0, 0};
    struct wal_replay_stats st;
    int rc;

    if (strcmp(name, TOMBS_LOG) == 0)
        return 0;
    if (wsess_tombstoned(w, name)) {
        log_info("log of ended session=%s deleted", name);
        return wal_remove(w->dir, name);
    }
    r.ws = wsess_get(w, name, true);
    if (r.ws == NULL)
        return CS_ERR_NOMEM;
    rc = wal_replay(w->dir, name, replay_record, &r, &st);
    if (rc != 0)
        return rc;
    if (r.bad > 0)
        log_error("replay session=%s skipped %llu records that do not apply",
                  name, (unsigned long long)r.bad);
    log_info("replayed session=%s records=%llu applied=%llu bytes=%llu "
             "truncated=%llu",
             name, (unsigned long long)st.records,
             (unsigned long long)r.applied, (unsigned long long)st.bytes,
             (unsigned long long)st.truncated);
    return 0;
}

int wlog_replay_all(struct worker *w)
{
    int rc;

    w->replaying = true;
    rc = wal_dir_list(w->dir, replay_session, w);
    w->replaying = false;
    FAULT_POINT("worker.after_replay");
    return rc;
}
