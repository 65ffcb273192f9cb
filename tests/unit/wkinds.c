/*
 * wkinds.c - the test worker kinds (see wkinds.h).
 */
#include "wkinds.h"

#include "fake_mw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wk_call wk_calls[WK_MAX_CALLS];
size_t wk_ncalls;
bool wk_results;

struct wk_state {
    char sess[40];
    int n;
    char cat[512];
};

static int ctx_token;

void wk_reset(void)
{
    memset(wk_calls, 0, sizeof(wk_calls));
    wk_ncalls = 0;
    wk_results = false;
}

static struct wk_call *record(enum wk_call_type t, enum plan_stage_id stage,
                              struct worker_sess *ws)
{
    struct wk_call *c;

    if (wk_ncalls == WK_MAX_CALLS) {
        fprintf(stderr, "wkinds: too many calls\n");
        abort();
    }
    c = &wk_calls[wk_ncalls++];
    memset(c, 0, sizeof(*c));
    c->type = t;
    c->stage = stage;
    c->seq = -1;
    c->ev = fake_mw_nevents();
    if (ws)
        snprintf(c->sess, sizeof(c->sess), "%s", worker_sess_id(ws));
    return c;
}

static void record_msg(enum plan_stage_id stage, struct worker_sess *ws,
                       const struct worker_msg *m)
{
    struct wk_call *c = record(WK_BATCH, stage, ws);

    snprintf(c->queue, sizeof(c->queue), "%s", m->queue);
    snprintf(c->stream, sizeof(c->stream), "%s", m->stream);
    c->seq = m->seq;
    snprintf(c->body, sizeof(c->body), "%.*s", (int)m->len,
             (const char *)m->body);
}

static void *k_init(struct worker *w)
{
    (void)w;
    return &ctx_token;
}

static void k_fini(void *ctx)
{
    (void)ctx;
}

static void *open_state(enum plan_stage_id stage, struct worker_sess *ws)
{
    struct wk_state *s = calloc(1, sizeof(*s));

    record(WK_OPEN, stage, ws);
    if (s)
        snprintf(s->sess, sizeof(s->sess), "%s", worker_sess_id(ws));
    return s;
}

static void close_state(enum plan_stage_id stage, struct wk_state *s)
{
    struct wk_call *c = record(WK_CLOSE, stage, NULL);

    snprintf(c->sess, sizeof(c->sess), "%s", s->sess);
    free(s);
}

static void *sl_open(void *ctx, struct worker_sess *ws)
{
    (void)ctx;
    return open_state(PLAN_FILTER, ws);
}

static void sl_close(void *ctx, void *st)
{
    (void)ctx;
    close_state(PLAN_FILTER, st);
}

static int sl_batch(void *ctx, void *st, struct worker_sess *ws,
                    const struct worker_msg *m)
{
    char *end;
    long rej;
    int rc;

    (void)ctx;
    (void)st;
    record_msg(PLAN_FILTER, ws, m);
    if (m->len == 4 && memcmp(m->body, "oom!", 4) == 0)
        return CS_ERR_NOMEM; /* the handler's own error */
    if (m->len > 4 && memcmp(m->body, "rej:", 4) == 0) {
        char num[16];

        snprintf(num, sizeof(num), "%.*s", (int)(m->len - 4),
                 (const char *)m->body + 4);
        rej = strtol(num, &end, 10);
        if (*end == '\0')
            worker_reject(ws, PLAN_T_USERS, rej);
    }
    rc = worker_emit(ws, PLAN_AGG_Q2, 0, m->stream, m->seq, m->body, m->len);
    if (rc == 0)
        rc =
            worker_emit(ws, PLAN_AGG_Q3, 0, m->stream, m->seq, m->body, m->len);
    return rc;
}

static int sl_finish(void *ctx, void *st, struct worker_sess *ws)
{
    struct wk_call *c = record(WK_FINISH, PLAN_FILTER, ws);
    int rc;

    (void)ctx;
    (void)st;
    c->finish_n = worker_finish_count(ws, "users");
    if (c->finish_n < 0)
        return 0;
    rc = worker_declare_flow(ws, PLAN_AGG_Q2, 0, "users", c->finish_n);
    if (rc == 0)
        rc = worker_declare_flow(ws, PLAN_AGG_Q3, 0, "users", c->finish_n);
    return rc;
}

static void *sf_open(void *ctx, struct worker_sess *ws)
{
    (void)ctx;
    return open_state(PLAN_AGG_Q2, ws);
}

static void sf_close(void *ctx, void *st)
{
    (void)ctx;
    close_state(PLAN_AGG_Q2, st);
}

static int sf_batch(void *ctx, void *st, struct worker_sess *ws,
                    const struct worker_msg *m)
{
    struct wk_state *s = st;
    size_t used = strlen(s->cat);

    (void)ctx;
    record_msg(PLAN_AGG_Q2, ws, m);
    s->n++;
    snprintf(s->cat + used, sizeof(s->cat) - used, "%.*s", (int)m->len,
             (const char *)m->body);
    return 0;
}

static int sf_finish(void *ctx, void *st, struct worker_sess *ws)
{
    struct wk_call *c = record(WK_FINISH, PLAN_AGG_Q2, ws);
    struct wk_state *s = st;
    char n[32];
    int rc;

    (void)ctx;
    c->finish_n = worker_finish_count(ws, "users");
    snprintf(n, sizeof(n), "n=%d", s->n);
    rc = worker_emit(ws, PLAN_SINK, 0, "q2", 0, n, strlen(n));
    if (rc == 0)
        rc = worker_emit(ws, PLAN_SINK, 0, "q2", 1, s->cat, strlen(s->cat));
    if (rc == 0 && wk_results)
        rc = worker_send_result(ws, "q2.csv", 0, "r", 1);
    return rc;
}

static const struct worker_ops stateless_ops = {
    .stage = PLAN_FILTER,
    .init = k_init,
    .session_open = sl_open,
    .session_close = sl_close,
    .on_batch = sl_batch,
    .on_finish = sl_finish,
    .fini = k_fini,
};

static const struct worker_ops stateful_ops = {
    .stage = PLAN_AGG_Q2,
    .init = k_init,
    .session_open = sf_open,
    .session_close = sf_close,
    .on_batch = sf_batch,
    .on_finish = sf_finish,
    .fini = k_fini,
};

void wk_env(const char *stage, const char *state_root, int ack_batch,
            const char *replicas, const char *replica_id)
{
    char n[16];

    snprintf(n, sizeof(n), "%d", ack_batch);
    if (setenv("CS_STAGE", stage, 1) != 0 ||
        setenv("CS_STATE_DIR", state_root, 1) != 0 ||
        setenv("WORKER_ACK_BATCH", n, 1) != 0 ||
        setenv("CS_REPLICAS", replicas ? replicas : "", 1) != 0 ||
        setenv("CS_REPLICA_ID", replica_id ? replica_id : "0", 1) != 0 ||
        setenv("CS_FSYNC", "batch", 1) != 0 ||
        setenv("WORKER_CLAIM_TIMEOUT_S", "0", 1) != 0 ||
        unsetenv("CS_FAULT") != 0)
        abort();
}

int wk_run(void)
{
    static const struct worker_ops *const ops[] = {&stateless_ops,
                                                   &stateful_ops};
    char prog[] = "test-worker";
    char *argv[] = {prog, NULL};

    return worker_main(1, argv, ops, 2);
}

int wk_batches(const char *sess, int64_t seq)
{
    size_t i;
    int n = 0;

    for (i = 0; i < wk_ncalls; i++)
        n += wk_calls[i].type == WK_BATCH && wk_calls[i].seq == seq &&
             strcmp(wk_calls[i].sess, sess) == 0;
    return n;
}

long wk_find(size_t from, enum wk_call_type t, const char *sess)
{
    size_t i;

    for (i = from; i < wk_ncalls; i++)
        if (wk_calls[i].type == t &&
            (sess == NULL || strcmp(wk_calls[i].sess, sess) == 0))
            return (long)i;
    return -1;
}

void wk_deliver(const char *queue, const char *sess, const char *stream,
                int64_t seq, const char *body, bool redelivered)
{
    struct mw_meta meta;

    memset(&meta, 0, sizeof(meta));
    snprintf(meta.session, sizeof(meta.session), "%s", sess);
    snprintf(meta.stream, sizeof(meta.stream), "%s", stream);
    snprintf(meta.producer, sizeof(meta.producer), "upstream-0");
    meta.seq = seq;
    meta.kind = MW_KIND_DATA;
    fake_mw_deliver(queue, &meta, body, strlen(body), redelivered);
}

size_t wk_rec(uint8_t *out, size_t n, int input, const char *stream,
              int64_t seq, int64_t rejected, const char *body)
{
    size_t sl = strlen(stream), bl = strlen(body), i;

    if (n < 19 + sl + bl)
        abort();
    out[0] = 1;
    out[1] = (uint8_t)input;
    out[2] = (uint8_t)sl;
    memcpy(out + 3, stream, sl);
    for (i = 0; i < 8; i++) {
        out[3 + sl + i] = (uint8_t)((uint64_t)seq >> (8 * i));
        out[11 + sl + i] = (uint8_t)((uint64_t)rejected >> (8 * i));
    }
    memcpy(out + 19 + sl, body, bl);
    return 19 + sl + bl;
}
