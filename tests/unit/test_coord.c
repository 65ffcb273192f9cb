/*
 * test_coord.c - the EOF state machine (coordinator/coord.h) without sockets.
 *
 * Scripted sessions: build_script() generates the whole message flow of one
 * session under a replica plan (gateway done, filter reports in pieces and
 * its replicas' dones, each aggregator, the sink), with variants (zero
 * inputs, a late session_start, reports before drain, redeliveries), and
 * computes with its own small model the exact messages the coordinator must
 * emit after each step (type, routing key, and a finish's reply_to, flows
 * and rejected totals); play() feeds a script and checks. Sessions are
 * independent, so two interleaved scripts must still emit exactly their own
 * messages, and a machine rebuilt from the log of a run (with duplicates)
 * must resume with exactly the commands the original machine waits on.
 *
 * Targeted tests write messages in a small text form (see add_flows):
 *   done(f, sid, "gateway", 0, "filter.users/users=5");
 *   report(f, sid, "filter", 1, "filter.users/users@0-2,4 !3=2");
 * The fixture keeps what the machine emits until an expectation looked at
 * it, so no emitted message goes unchecked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "coordinator/coord.h"
#include "clock.h"
#include "ctl.h"
#include "log.h"
#include "plan.h"
#include "tombs.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_OUT 64
#define REPLY_TO "gw-1"
#define ALL_TABLES                                                             \
    "filter.transactions/transactions=%d filter.transaction_items/"            \
    "transaction_items=%d filter.users/users=%d filter.stores/stores=%d "      \
    "filter.menu_items/menu_items=%d"

/* ------------------------------------------------------------ messages */

static int64_t num(const char **p)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(*p, &end, 10);
    assert_true(end != *p && errno == 0);
    *p = end;
    return v;
}

/* Splits "queue/stream<sep>rest" in place. */
static void split_flow(char *tok, char sep, char **q, char **s, char **rest)
{
    char *slash = strchr(tok, '/'), *mark = strchr(tok, sep);

    assert_non_null(slash);
    assert_non_null(mark);
    assert_true(slash < mark);
    *slash = *mark = '\0';
    *q = tok;
    *s = slash + 1;
    *rest = mark + 1;
}

static void add_ids(struct ctl_msg *m, char *tok)
{
    char *q, *s, *rest;
    const char *p;

    split_flow(tok, '@', &q, &s, &rest);
    assert_true(ctl_begin_flow(m, q, s) >= 0);
    for (p = rest; *p;) {
        int64_t lo = num(&p), hi = lo;

        if (*p == '-') {
            p++;
            hi = num(&p);
        }
        assert_int_equal(ctl_add_range(m, lo, hi), 0);
        if (*p == ',')
            p++;
    }
}

static void add_rejs(struct ctl_msg *m, const char *p)
{
    while (*p) {
        int64_t seq = num(&p), rows;

        assert_true(*p == '=');
        p++;
        rows = num(&p);
        assert_int_equal(ctl_add_rej(m, seq, rows), 0);
        if (*p == ',')
            p++;
    }
}

/* Adds the flows of `spec` to m, space-separated items:
 *   q/s=N          declares flow (queue q, stream s) of N messages (done)
 *   q/s@A-B,C,...  a report flow with ids A..B, C, ... ("q/s@": no ids)
 *   !SEQ=ROWS,...  rejected rows of ids of the flow begun last */
static void add_flows(struct ctl_msg *m, const char *spec)
{
    char buf[2048], *save = NULL, *tok;

    assert_true(strlen(spec) < sizeof(buf));
    snprintf(buf, sizeof(buf), "%s", spec);
    for (tok = strtok_r(buf, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        if (tok[0] == '!') {
            add_rejs(m, tok + 1);
        } else if (strchr(tok, '@')) {
            add_ids(m, tok);
        } else {
            char *q, *s, *rest;
            const char *p;

            split_flow(tok, '=', &q, &s, &rest);
            p = rest;
            assert_int_equal(ctl_set_flow(m, q, s, num(&p)), 0);
            assert_true(*p == '\0');
        }
    }
}

/* Rejected totals "table=N ..." into m. */
static void add_rejected(struct ctl_msg *m, const char *spec)
{
    char buf[256], *save = NULL, *tok;

    snprintf(buf, sizeof(buf), "%s", spec);
    for (tok = strtok_r(buf, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        const char *p;

        assert_non_null(eq);
        *eq = '\0';
        p = eq + 1;
        assert_int_equal(ctl_add_rejected(m, tok, num(&p)), 0);
    }
}

/* Copies what the counts of src cover (not the whole 80 KiB). */
static void copy_msg(struct ctl_msg *dst, const struct ctl_msg *src)
{
    assert_true(src->nflows >= 0 && src->nflows <= CTL_MAX_FLOWS);
    assert_true(src->nranges >= 0 && src->nranges <= CTL_MAX_RANGES);
    assert_true(src->nrejs >= 0 && src->nrejs <= CTL_MAX_REJS);
    assert_true(src->nrejected >= 0 && src->nrejected <= CTL_MAX_REJECTED);
    assert_true(src->nsessions >= 0 && src->nsessions <= CTL_MAX_SESSIONS);
    memcpy(dst, src, offsetof(struct ctl_msg, flows));
    memcpy(dst->flows, src->flows, (size_t)src->nflows * sizeof(src->flows[0]));
    dst->nranges = src->nranges;
    memcpy(dst->ranges, src->ranges,
           (size_t)src->nranges * sizeof(src->ranges[0]));
    dst->nrejs = src->nrejs;
    memcpy(dst->rejs, src->rejs, (size_t)src->nrejs * sizeof(src->rejs[0]));
    dst->nrejected = src->nrejected;
    memcpy(dst->rejected, src->rejected,
           (size_t)src->nrejected * sizeof(src->rejected[0]));
    dst->nsessions = src->nsessions;
    memcpy(dst->sessions, src->sessions,
           (size_t)src->nsessions * sizeof(src->sessions[0]));
}

/* A finish carries the same reply_to, input flows and rejected totals. */
static void assert_same_finish(const struct ctl_msg *got,
                               const struct ctl_msg *want)
{
    int i, j;

    assert_int_equal(got->type, CTL_FINISH);
    assert_string_equal(got->session, want->session);
    assert_string_equal(got->reply_to, want->reply_to);
    assert_int_equal(got->nflows, want->nflows);
    assert_int_equal(got->nranges, 0);
    for (i = 0; i < want->nflows; i++) {
        j = ctl_find_flow(got, want->flows[i].queue, want->flows[i].stream);
        if (j < 0)
            fail_msg("finish lacks flow %s/%s", want->flows[i].queue,
                     want->flows[i].stream);
        assert_int_equal(got->flows[j].n, want->flows[i].n);
    }
    assert_int_equal(got->nrejected, want->nrejected);
    for (i = 0; i < want->nrejected; i++)
        assert_int_equal(ctl_get_rejected(got, want->rejected[i].name),
                         want->rejected[i].n);
}

/* ------------------------------------------------------------ fixture */

struct out {
    char key[PLAN_NAME_MAX + 16];
    struct ctl_msg *m; /* allocated on first use */
};

struct fx {
    struct plan plan;
    struct coord *c;
    uint64_t now;
    int fail_emit; /* emit returns -5 from this call on (1-based), 0: never */
    int ncalls;
    int nout;
    bool seen; /* an expectation looked at out[0..nout) */
    struct out out[MAX_OUT];
    struct ctl_msg *in; /* the message being built */
};

/* The outputs since the last check are exactly n (failures show the
 * caller's line). */
#define expect_n(f, n) expect_n_at((f), (n), __FILE__, __LINE__)
#define expect_none(f) expect_n((f), 0)
static void expect_n_at(struct fx *f, int n, const char *file, int line);

static int record(void *arg, const char *key, const struct ctl_msg *m)
{
    struct fx *f = arg;
    struct out *o;

    f->ncalls++;
    if (f->fail_emit && f->ncalls >= f->fail_emit)
        return -5;
    assert_true(f->nout < MAX_OUT);
    o = &f->out[f->nout++];
    if (o->m == NULL) {
        o->m = malloc(sizeof(*o->m));
        assert_non_null(o->m);
    }
    snprintf(o->key, sizeof(o->key), "%s", key);
    copy_msg(o->m, m);
    return 0;
}

static int discard(void *arg, const char *key, const struct ctl_msg *m)
{
    (void)arg;
    (void)key;
    (void)m;
    return 0;
}

static uint64_t fake_clock(void *arg)
{
    return ((struct fx *)arg)->now;
}

static struct fx *fx_new_tombs(const char *spec, struct tombs *tombs)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[128];

    assert_non_null(f);
    assert_int_equal(plan_init(&f->plan, spec, err, sizeof(err)), 0);
    f->c = coord_create(&f->plan, tombs);
    assert_non_null(f->c);
    f->in = ctl_new(CTL_DONE, NULL);
    assert_non_null(f->in);
    f->now = 1000;
    coord_set_clock(f->c, fake_clock, f);
    return f;
}

static struct fx *fx_new(const char *spec)
{
    return fx_new_tombs(spec, NULL);
}

static void fx_free(struct fx *f)
{
    int i;

    coord_destroy(f->c);
    for (i = 0; i < MAX_OUT; i++)
        free(f->out[i].m);
    free(f->in);
    free(f);
}

/* Discards the outputs so far (setup code that does not check them). */
static void reset_out(struct fx *f)
{
    f->nout = 0;
    f->ncalls = 0;
    f->seen = false;
}

/* Outputs accumulate over calls until an expectation looked at them, so
 * that no call can emit something unnoticed: after a check, the next call
 * starts a new list. */
static void begin_call(struct fx *f)
{
    if (f->seen)
        reset_out(f);
    f->ncalls = 0;
}

static void feed(struct fx *f, const struct ctl_msg *m)
{
    begin_call(f);
    assert_int_equal(coord_handle(f->c, m, record, f), 0);
}

static void resume(struct fx *f)
{
    begin_call(f);
    assert_int_equal(coord_resume(f->c, record, f), 0);
}

static void tick(struct fx *f)
{
    begin_call(f);
    assert_int_equal(coord_tick(f->c, record, f), 0);
}

static struct ctl_msg *build(struct fx *f, enum ctl_type t, const char *sid,
                             const char *stage, int replica, const char *flows)
{
    ctl_init(f->in, t, sid);
    if (stage)
        snprintf(f->in->stage, sizeof(f->in->stage), "%s", stage);
    f->in->replica = replica;
    if (flows)
        add_flows(f->in, flows);
    return f->in;
}

static void done(struct fx *f, const char *sid, const char *stage, int replica,
                 const char *flows)
{
    feed(f, build(f, CTL_DONE, sid, stage, replica, flows));
}

static void report(struct fx *f, const char *sid, const char *stage,
                   int replica, const char *flows)
{
    feed(f, build(f, CTL_REPORT, sid, stage, replica, flows));
}

static void start_to(struct fx *f, const char *sid, const char *reply_to)
{
    build(f, CTL_SESSION_START, sid, NULL, 0, NULL);
    snprintf(f->in->reply_to, sizeof(f->in->reply_to), "%s", reply_to);
    feed(f, f->in);
}

/* A session_start with REPLY_TO: it emits nothing. */
static void start(struct fx *f, const char *sid)
{
    start_to(f, sid, REPLY_TO);
    expect_none(f);
}

static void abort_session(struct fx *f, const char *sid, const char *reason)
{
    build(f, CTL_ABORT, sid, NULL, 0, NULL);
    snprintf(f->in->reason, sizeof(f->in->reason), "%s", reason);
    feed(f, f->in);
}

/* A hello from stage.replica holding `sessions` (space-separated ids). */
static void hello(struct fx *f, const char *stage, int replica,
                  const char *sessions)
{
    char buf[512], *save = NULL, *tok;

    build(f, CTL_HELLO, NULL, stage, replica, NULL);
    snprintf(buf, sizeof(buf), "%s", sessions);
    for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        assert_int_equal(ctl_add_session(f->in, tok), 0);
    feed(f, f->in);
}

static void simple(struct fx *f, enum ctl_type t, const char *sid)
{
    feed(f, build(f, t, sid, NULL, 0, NULL));
}

/* ------------------------------------------------------------ expectations */

static void expect_n_at(struct fx *f, int n, const char *file, int line)
{
    f->seen = true;
    _assert_int_equal(cast_to_largest_integral_type(f->nout),
                      cast_to_largest_integral_type(n), file, line);
}

static const struct ctl_msg *expect_out(struct fx *f, int i, enum ctl_type type,
                                        const char *key, const char *sid)
{
    f->seen = true;
    assert_true(i >= 0 && i < f->nout);
    assert_string_equal(ctl_type_name(f->out[i].m->type), ctl_type_name(type));
    assert_string_equal(f->out[i].key, key);
    assert_string_equal(f->out[i].m->session, sid ? sid : "");
    return f->out[i].m;
}

static void expect_drain(struct fx *f, int i, const char *key, const char *sid)
{
    expect_out(f, i, CTL_DRAIN, key, sid);
}

/* Output i is a finish to `key` with reply_to, exactly the input flows
 * `flows` ("q/s=N ...") and the rejected totals `rejected` ("t=N ..."). */
static void expect_finish(struct fx *f, int i, const char *key, const char *sid,
                          const char *reply_to, const char *flows,
                          const char *rejected)
{
    const struct ctl_msg *got = expect_out(f, i, CTL_FINISH, key, sid);
    struct ctl_msg *want = ctl_new(CTL_FINISH, sid);

    assert_non_null(want);
    snprintf(want->reply_to, sizeof(want->reply_to), "%s", reply_to);
    add_flows(want, flows);
    add_rejected(want, rejected);
    assert_same_finish(got, want);
    free(want);
}

/* Outputs i..i+2 drain the aggregators: they follow the filter's finish,
 * as the filter's finishing releases them. */
static void expect_aggs_drained(struct fx *f, int i, const char *sid)
{
    expect_drain(f, i, "agg-q2", sid);
    expect_drain(f, i + 1, "agg-q3", sid);
    expect_drain(f, i + 2, "agg-q4", sid);
}

/* Index of the output (type, key, session), or -1. */
static int find_out(struct fx *f, enum ctl_type type, const char *key,
                    const char *sid)
{
    int i;

    f->seen = true;
    for (i = 0; i < f->nout; i++)
        if (f->out[i].m->type == type && strcmp(f->out[i].key, key) == 0 &&
            strcmp(f->out[i].m->session, sid) == 0)
            return i;
    return -1;
}

static void expect_state(const struct fx *f, const char *sid,
                         enum plan_stage_id s, int state)
{
    assert_string_equal(coord_state_name(coord_stage_state(f->c, sid, s)),
                        coord_state_name(state));
}

static void expect_counts(const struct fx *f, const char *sid,
                          const char *queue, int64_t processed,
                          int64_t expected)
{
    int64_t p = -1, e = -1;

    assert_int_equal(coord_queue_counts(f->c, sid, queue, &p, &e), 0);
    assert_int_equal(p, processed);
    assert_int_equal(e, expected);
}

static struct coord_stats stats_of(const struct fx *f)
{
    struct coord_stats st;

    coord_get_stats(f->c, &st);
    return st;
}

/* ------------------------------------------------------------ scripts */

#define SID "11111111-1111-4111-8111-111111111111"
#define MAX_STEPS 200
#define MAX_STEP_OUT 8
#define MAX_DECLS 64
#define MAX_IDS 16

enum {
    SC_ZERO = 1,       /* every flow has n = 0 */
    SC_LATE_START = 2, /* session_start after the gateway's done */
    SC_EARLY = 4,      /* aggregators and sink report before their drain */
    SC_DUPS = 8,       /* redelivered copies of dones and reports */
};

struct exp_out {
    enum ctl_type type;
    char key[PLAN_NAME_MAX];
    struct ctl_msg *finish; /* a finish: what it must carry */
};

struct step {
    struct ctl_msg *in;
    int nout;
    struct exp_out out[MAX_STEP_OUT];
};

struct script {
    char sid[CTL_ID_MAX];
    int n;
    struct step steps[MAX_STEPS];
};

/* One flow of the session as the script plans it. */
struct decl {
    int stage;        /* the stage that consumes it */
    int shard;        /* its queue's shard (sharded stage), or -1 */
    int from, from_r; /* producer stage and replica (-1: every replica) */
    char q[PLAN_NAME_MAX], s[48];
    int64_t n;
    bool listed; /* in the producer's done (a flow of 0 may be left out) */
    int table;   /* the table its stream names, or -1 */
    bool got[MAX_IDS]; /* the model: ids reported so far */
};

/* The script's own model of the machine: plain arrays, written from the
 * contract in coord.h, not from coord.c's structures. */
struct gen {
    const struct plan *p;
    struct script *sc;
    unsigned seed, flags;
    int sink_shard;
    char reply_to[64];
    int state[PLAN_NSTAGES];
    uint64_t done[PLAN_NSTAGES];
    int64_t rejected[PLAN_NTABLES];
    int ndecls;
    struct decl decls[MAX_DECLS];
};

/* The streams the filter sends to each stage (as the real filter does). */
static const char *const filter_streams[PLAN_NSTAGES][3] = {
    [PLAN_AGG_Q2] = {"transaction_items"},
    [PLAN_AGG_Q3] = {"transactions", "stores"},
    [PLAN_AGG_Q4] = {"transactions", "users", "stores"},
    [PLAN_SINK] = {"transactions"},
};

static const unsigned upstream[PLAN_NSTAGES] = {
    [PLAN_FILTER] = 1u << PLAN_GATEWAY,
    [PLAN_AGG_Q2] = 1u << PLAN_FILTER,
    [PLAN_AGG_Q3] = 1u << PLAN_FILTER,
    [PLAN_AGG_Q4] = 1u << PLAN_FILTER,
    [PLAN_SINK] = (1u << PLAN_FILTER) | (1u << PLAN_AGG_Q2) |
                  (1u << PLAN_AGG_Q3) | (1u << PLAN_AGG_Q4),
};

static const char *sname(int s)
{
    return plan_stage_name((enum plan_stage_id)s);
}

static struct exp_out *add_out(struct step *st, enum ctl_type t, int s)
{
    struct exp_out *o;

    assert_true(st->nout < MAX_STEP_OUT);
    o = &st->out[st->nout++];
    o->type = t;
    o->finish = NULL;
    snprintf(o->key, sizeof(o->key), "%s", sname(s));
    return o;
}

static bool m_balanced(const struct gen *g, int s)
{
    int i, id;

    for (i = 0; i < g->ndecls; i++) {
        const struct decl *d = &g->decls[i];

        /* Asked once every producer's done came: its flows are declared
         * then (a flow left out of a done has n = 0). */
        if (d->stage != s)
            continue;
        for (id = 0; id < MAX_IDS; id++)
            if (d->got[id] != (id < d->n))
                return false;
    }
    return true;
}

static bool m_declared(const struct gen *g, const struct decl *d)
{
    if (!d->listed)
        return false;
    if (d->from_r < 0)
        return g->done[d->from] != 0;
    return (g->done[d->from] >> d->from_r) & 1;
}

static void m_finish(struct gen *g, struct step *st, int s)
{
    struct ctl_msg *m = ctl_new(CTL_FINISH, g->sc->sid);
    int i;

    assert_non_null(m);
    snprintf(m->reply_to, sizeof(m->reply_to), "%s", g->reply_to);
    for (i = 0; i < PLAN_NTABLES; i++)
        if (g->rejected[i])
            assert_int_equal(
                ctl_add_rejected(m, plan_table_name((enum plan_table)i),
                                 g->rejected[i]),
                0);
    for (i = 0; i < g->ndecls; i++)
        if (g->decls[i].stage == s && m_declared(g, &g->decls[i]))
            assert_int_equal(
                ctl_set_flow(m, g->decls[i].q, g->decls[i].s, g->decls[i].n),
                0);
    add_out(st, CTL_FINISH, s)->finish = m;
}

/* Advances the model after a step, recording what it must emit. */
static void m_eval(struct gen *g, struct step *st)
{
    int s, u;

    if (g->done[PLAN_GATEWAY])
        g->state[PLAN_GATEWAY] = COORD_COMPLETE;
    for (s = PLAN_FILTER; s < PLAN_NSTAGES; s++) {
        uint64_t all = (UINT64_C(1) << g->p->replicas[s]) - 1;
        bool up = true, released = true;

        /* drain once every upstream stage finishes (the gateway: is
         * complete), finish once every one is complete and balanced */
        for (u = 0; u < PLAN_NSTAGES; u++) {
            if (!(upstream[s] >> u & 1) || g->state[u] == COORD_COMPLETE)
                continue;
            up = false;
            if (u == PLAN_GATEWAY || g->state[u] != COORD_FINISHING)
                released = false;
        }
        if (g->state[s] == COORD_WAITING && released) {
            g->state[s] = COORD_DRAINING;
            add_out(st, CTL_DRAIN, s);
        }
        if (g->state[s] == COORD_DRAINING && up && m_balanced(g, s)) {
            g->state[s] = COORD_FINISHING;
            m_finish(g, st, s);
        }
        /* The filter is stateless: one done is enough. */
        if (g->state[s] == COORD_FINISHING &&
            (s == PLAN_FILTER ? g->done[s] != 0 : g->done[s] == all))
            g->state[s] = COORD_COMPLETE;
    }
}

static struct step *g_step(struct gen *g, enum ctl_type t, int s, int replica)
{
    struct step *st;

    assert_true(g->sc->n < MAX_STEPS);
    st = &g->sc->steps[g->sc->n++];
    memset(st, 0, sizeof(*st));
    st->in = ctl_new(t, g->sc->sid);
    assert_non_null(st->in);
    if (s >= 0)
        snprintf(st->in->stage, sizeof(st->in->stage), "%s", sname(s));
    st->in->replica = replica;
    return st;
}

/* A redelivered copy of the last message: it changes nothing. */
static void g_dup(struct gen *g)
{
    const struct ctl_msg *last = g->sc->steps[g->sc->n - 1].in;

    copy_msg(g_step(g, last->type, -1, 0)->in, last);
}

static void g_start(struct gen *g)
{
    struct step *st = g_step(g, CTL_SESSION_START, -1, 0);

    snprintf(st->in->reply_to, sizeof(st->in->reply_to), "%s", REPLY_TO);
    snprintf(g->reply_to, sizeof(g->reply_to), "%s", REPLY_TO);
}

static void g_done(struct gen *g, int s, int r)
{
    struct step *st = g_step(g, CTL_DONE, s, r);
    uint64_t bit = UINT64_C(1) << r;
    int i;

    for (i = 0; i < g->ndecls; i++) {
        const struct decl *d = &g->decls[i];

        if (d->from == s && (d->from_r < 0 || d->from_r == r) && d->listed)
            assert_int_equal(ctl_set_flow(st->in, d->q, d->s, d->n), 0);
    }
    if (!(g->done[s] & bit)) {
        g->done[s] |= bit;
        m_eval(g, st);
    }
}

/* Rows rejected from input `id` of flow i: a deterministic sprinkle. */
static int64_t rej_rows(const struct gen *g, int i, int64_t id)
{
    return (g->seed + (unsigned)i * 3u + (unsigned)id * 7u) % 4 == 0
               ? 1 + id % 3
               : 0;
}

/* Adds flow i with ids[0..n) (runs of consecutive ids become ranges) and
 * their rejected rows to report st. */
static void g_report_flow(struct gen *g, struct step *st, int i,
                          const int64_t *ids, int n)
{
    struct decl *d = &g->decls[i];
    int a, b;

    assert_true(ctl_begin_flow(st->in, d->q, d->s) >= 0);
    for (a = 0; a < n; a = b) {
        for (b = a + 1; b < n && ids[b] == ids[b - 1] + 1; b++)
            ;
        assert_int_equal(ctl_add_range(st->in, ids[a], ids[b - 1]), 0);
    }
    for (a = 0; a < n; a++) {
        int64_t rows = rej_rows(g, i, ids[a]);

        assert_true(ids[a] >= 0 && ids[a] < MAX_IDS);
        if (rows > 0)
            assert_int_equal(ctl_add_rej(st->in, ids[a], rows), 0);
        if (!d->got[ids[a]] && d->table >= 0)
            g->rejected[d->table] += rows;
        d->got[ids[a]] = true;
    }
}

/* Which replica of stage d->stage processes `id` of flow i. */
static int owner(const struct gen *g, int i, int64_t id)
{
    const struct decl *d = &g->decls[i];

    if (d->shard >= 0)
        return d->shard;
    return (int)((unsigned)id + g->seed + (unsigned)i) %
           g->p->replicas[d->stage];
}

/* Replica r of stage s reports what it processed of its flows: piece 0 is
 * the upper half of each flow's ids, piece 1 the lower half. */
static void g_reports(struct gen *g, int s, int r, int piece)
{
    struct step *st = NULL;
    int64_t ids[MAX_IDS], id, half;
    int i, n;

    for (i = 0; i < g->ndecls; i++) {
        const struct decl *d = &g->decls[i];

        if (d->stage != s)
            continue;
        half = d->n / 2;
        n = 0;
        for (id = piece ? 0 : half; id < (piece ? half : d->n); id++)
            if (owner(g, i, id) == r)
                ids[n++] = id;
        if (n == 0)
            continue;
        if (st == NULL)
            st = g_step(g, CTL_REPORT, s, r);
        g_report_flow(g, st, i, ids, n);
    }
    if (st == NULL)
        return;
    m_eval(g, st);
    if ((g->flags & SC_DUPS) && r == 0)
        g_dup(g);
}

static void g_decl(struct gen *g, int stage, int shard, int from, int from_r,
                   const char *q, const char *s, int64_t n)
{
    struct decl *d;

    assert_true(g->ndecls < MAX_DECLS);
    d = &g->decls[g->ndecls++];
    memset(d, 0, sizeof(*d));
    d->stage = stage;
    d->shard = shard;
    d->from = from;
    d->from_r = from_r;
    snprintf(d->q, sizeof(d->q), "%s", q);
    snprintf(d->s, sizeof(d->s), "%s", s);
    d->n = (g->flags & SC_ZERO) ? 0 : n;
    d->listed =
        d->n > 0 || from == PLAN_GATEWAY || (g->seed + (unsigned)g->ndecls) % 2;
    d->table = plan_table_by_name(s);
}

/* Every flow of the session: the gateway's five, the filter's to each
 * aggregator shard and to the session's sink shard, each aggregator
 * replica's to the sink. Counts depend on the seed. */
static void plan_flows(struct gen *g)
{
    char q[PLAN_NAME_MAX], s[48];
    int t, d, i, k;
    unsigned u = g->seed;

    for (t = 0; t < PLAN_NTABLES; t++) {
        snprintf(q, sizeof(q), "filter.%s",
                 plan_table_name((enum plan_table)t));
        g_decl(g, PLAN_FILTER, -1, PLAN_GATEWAY, 0, q,
               plan_table_name((enum plan_table)t),
               (u * 7 + (unsigned)t * 3) % 11 + (t == 0));
    }
    for (d = PLAN_AGG_Q2; d <= PLAN_SINK; d++)
        for (i = 0; i < g->p->replicas[d]; i++) {
            if (d == PLAN_SINK && i != g->sink_shard)
                continue;
            snprintf(q, sizeof(q), "%s.%d", sname(d), i);
            for (k = 0; k < 3 && filter_streams[d][k]; k++)
                g_decl(g, d, i, PLAN_FILTER, -1, q, filter_streams[d][k],
                       (u + 2u * (unsigned)d + 3u * (unsigned)i +
                        5u * (unsigned)k) %
                           5);
        }
    snprintf(q, sizeof(q), "sink.%d", g->sink_shard);
    for (d = PLAN_AGG_Q2; d <= PLAN_AGG_Q4; d++)
        for (i = 0; i < g->p->replicas[d]; i++) {
            snprintf(s, sizeof(s), "%s.%d", sname(d), i);
            g_decl(g, PLAN_SINK, g->sink_shard, d, i, q, s,
                   (u + (unsigned)d + (unsigned)i) % 4);
        }
}

static void build_script(struct script *sc, const struct plan *p,
                         const char *sid, unsigned seed, unsigned flags)
{
    struct gen *g = calloc(1, sizeof(*g));
    int nf = p->replicas[PLAN_FILTER], first = (int)(seed % (unsigned)nf);
    int i, k, r, piece, early = (flags & SC_EARLY) ? 1 : 0;

    assert_non_null(g);
    g->p = p;
    g->sc = sc;
    g->seed = seed;
    g->flags = flags;
    g->sink_shard = (int)plan_shard_session(sid, p->replicas[PLAN_SINK]);
    sc->n = 0;
    snprintf(sc->sid, sizeof(sc->sid), "%s", sid);
    plan_flows(g);

    if (!(flags & SC_LATE_START))
        g_start(g);
    g_done(g, PLAN_GATEWAY, 0);
    if (flags & SC_DUPS)
        g_dup(g);
    if (flags & SC_LATE_START)
        g_start(g);
    for (piece = 0; piece < 2; piece++)
        for (r = 0; r < nf; r++)
            g_reports(g, PLAN_FILTER, r, piece);
    for (k = PLAN_AGG_Q2; early && k <= PLAN_SINK; k++)
        for (r = 0; r < p->replicas[k]; r++)
            g_reports(g, k, r, 0);
    g_done(g, PLAN_FILTER, first);
    /* The aggregators finish one after the other, in an order that depends
     * on the seed; the last one to complete releases the sink. */
    for (i = 0; i < 3; i++) {
        k = PLAN_AGG_Q2 + (int)((seed + (unsigned)i) % 3);
        for (piece = early; piece < 2; piece++)
            for (r = p->replicas[k] - 1; r >= 0; r--)
                g_reports(g, k, r, piece);
        for (r = 0; i == 0 && r < nf; r++)
            if (r != first)
                g_done(g, PLAN_FILTER, r); /* no-ops: the filter completed */
        for (r = p->replicas[k] - 1; r >= 0; r--) {
            g_done(g, k, r);
            if (flags & SC_DUPS)
                g_dup(g);
        }
    }
    for (piece = early; piece < 2; piece++)
        g_reports(g, PLAN_SINK, g->sink_shard, piece);
    for (r = 0; r < p->replicas[PLAN_SINK]; r++)
        g_done(g, PLAN_SINK, r);
    assert_int_equal(g->state[PLAN_SINK], COORD_COMPLETE);
    free(g);
}

static struct script *script_new(void)
{
    struct script *sc = calloc(1, sizeof(*sc));

    assert_non_null(sc);
    return sc;
}

static void script_free(struct script *sc)
{
    int i, o;

    for (i = 0; i < sc->n; i++) {
        free(sc->steps[i].in);
        for (o = 0; o < sc->steps[i].nout; o++)
            free(sc->steps[i].out[o].finish);
    }
    free(sc);
}

/* The outputs of the last call are exactly those of step st. */
static void check_step(struct fx *f, const struct script *sc,
                       const struct step *st)
{
    int o;

    expect_n(f, st->nout);
    for (o = 0; o < st->nout; o++) {
        expect_out(f, o, st->out[o].type, st->out[o].key, sc->sid);
        if (st->out[o].finish)
            assert_same_finish(f->out[o].m, st->out[o].finish);
    }
}

static void play(struct fx *f, const struct script *sc, int from, int to)
{
    int i;

    for (i = from; i < to && i < sc->n; i++) {
        feed(f, sc->steps[i].in);
        check_step(f, sc, &sc->steps[i]);
    }
}

/* Plays a whole script: every stage got one drain and one finish, and the
 * session ended. */
static void play_all(struct fx *f, const struct script *sc)
{
    int drains = 0, finishes = 0, i, o;

    for (i = 0; i < sc->n; i++)
        for (o = 0; o < sc->steps[i].nout; o++) {
            drains += sc->steps[i].out[o].type == CTL_DRAIN;
            finishes += sc->steps[i].out[o].type == CTL_FINISH;
        }
    assert_int_equal(drains, PLAN_NSTAGES - 1);
    assert_int_equal(finishes, PLAN_NSTAGES - 1);
    play(f, sc, 0, sc->n);
    assert_false(coord_active(f->c, sc->sid));
    assert_int_equal(coord_stage_state(f->c, sc->sid, PLAN_SINK), -1);
    assert_true(coord_ended(f->c, sc->sid));
}

/* ------------------------------------------------------------ whole sessions */

static void run_plan(const char *spec, unsigned seed, unsigned flags)
{
    struct fx *f = fx_new(spec);
    struct script *sc = script_new();
    struct coord_stats st;

    build_script(sc, &f->plan, SID, seed, flags);
    play_all(f, sc);
    assert_int_equal(coord_sessions(f->c), 0);
    st = stats_of(f);
    assert_int_equal(st.started, 1);
    assert_int_equal(st.completed, 1);
    assert_int_equal(st.aborted, 0);
    assert_int_equal(st.violations, 0);
    assert_int_equal(st.ignored, 0);
    script_free(sc);
    fx_free(f);
}

static void test_whole_session_plans(void **state)
{
    static const char *const specs[] = {
        "",
        "filter=3,agg-q2=2,agg-q3=2,agg-q4=3,sink=2",
        "filter=5,agg-q2=1,agg-q3=3,agg-q4=2,sink=4",
        "filter=2,agg-q2=4,agg-q3=5,agg-q4=1,sink=5",
        "filter=1,agg-q2=5,agg-q3=1,agg-q4=4,sink=3",
    };
    static const unsigned flags[] = {
        0,
        SC_EARLY | SC_DUPS,
        SC_LATE_START,
        SC_LATE_START | SC_EARLY | SC_DUPS,
        SC_ZERO,
        SC_ZERO | SC_LATE_START | SC_DUPS,
    };
    size_t i, k;
    unsigned seed;

    (void)state;
    for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
            for (seed = 0; seed < 4; seed++)
                run_plan(specs[i], seed, flags[k]);
}

/* Nothing anywhere: every stage gets drain and finish as early as the
 * rules allow (drain once its upstream stages finish, finish once they
 * are complete), and the session ends with the sink replicas' dones. */
static void test_zero_inputs(void **state)
{
    const char *sid = "s-zero";
    struct fx *f = fx_new("filter=2,agg-q2=2,sink=2");
    char flows[512];

    (void)state;
    start(f, sid);
    snprintf(flows, sizeof(flows), ALL_TABLES, 0, 0, 0, 0, 0);
    done(f, sid, "gateway", 0, flows);
    expect_n(f, 5);
    expect_drain(f, 0, "filter", sid);
    expect_finish(f, 1, "filter", sid, REPLY_TO, flows, "");
    expect_aggs_drained(f, 2, sid);
    done(f, sid, "filter", 1, "agg-q2.1/transaction_items=0");
    expect_n(f, 4);
    expect_finish(f, 0, "agg-q2", sid, REPLY_TO, "agg-q2.1/transaction_items=0",
                  "");
    expect_finish(f, 1, "agg-q3", sid, REPLY_TO, "", "");
    expect_finish(f, 2, "agg-q4", sid, REPLY_TO, "", "");
    expect_drain(f, 3, "sink", sid);
    done(f, sid, "agg-q2", 0, "");
    done(f, sid, "agg-q2", 1, "sink.0/agg-q2.1=0");
    done(f, sid, "agg-q3", 0, "");
    expect_none(f);
    done(f, sid, "agg-q4", 0, "");
    expect_n(f, 1);
    expect_finish(f, 0, "sink", sid, REPLY_TO, "sink.0/agg-q2.1=0", "");
    done(f, sid, "sink", 1, NULL);
    expect_none(f);
    assert_true(coord_active(f->c, sid));
    done(f, sid, "sink", 0, NULL);
    expect_none(f);
    assert_false(coord_active(f->c, sid));
    assert_true(coord_ended(f->c, sid));
    assert_int_equal(stats_of(f).completed, 1);
    fx_free(f);
}

/* Reports are sets merged by union: pieces in any order, duplicates and
 * overlapping ranges add each id once. */
static void test_reports_union(void **state)
{
    const char *sid = "s-union";
    struct fx *f = fx_new("filter=2");

    (void)state;
    start(f, sid);
    done(f, sid, "gateway", 0,
         "filter.transactions/transactions=10 filter.users/users=3");
    expect_n(f, 1);
    expect_drain(f, 0, "filter", sid);
    report(f, sid, "filter", 1, "filter.transactions/transactions@7-9");
    expect_none(f);
    expect_counts(f, sid, "filter.transactions", 3, 10);
    report(f, sid, "filter", 0,
           "filter.transactions/transactions@0-2,5 filter.users/users@2");
    report(f, sid, "filter", 1, "filter.transactions/transactions@7-9");
    expect_none(f);
    expect_counts(f, sid, "filter.transactions", 7, 10);
    expect_counts(f, sid, "filter.users", 1, 3);
    report(f, sid, "filter", 0, "filter.transactions/transactions@1-4,4-6");
    expect_none(f);
    expect_counts(f, sid, "filter.transactions", 10, 10);
    expect_state(f, sid, PLAN_FILTER, COORD_DRAINING);
    report(f, sid, "filter", 1, "filter.users/users@0-1,1-2");
    expect_n(f, 4);
    expect_finish(f, 0, "filter", sid, REPLY_TO,
                  "filter.transactions/transactions=10 filter.users/users=3",
                  "");
    expect_aggs_drained(f, 1, sid);
    report(f, sid, "filter", 0,
           "filter.transactions/transactions@0-9 filter.users/users@0-2");
    expect_none(f);
    expect_counts(f, sid, "filter.users", 3, 3);
    expect_state(f, sid, PLAN_FILTER, COORD_FINISHING);
    assert_int_equal(stats_of(f).violations, 0);
    fx_free(f);
}

/* A filter replica restarts: its unacknowledged messages go to another
 * replica, which processes and reports them again, rejections included.
 * Nothing counts twice; the stage finishes exactly when the set is full. */
static void test_restarted_replica_rereports(void **state)
{
    const char *sid = "s-restart";
    struct fx *f = fx_new("filter=3");

    (void)state;
    start(f, sid);
    done(f, sid, "gateway", 0, "filter.stores/stores=6");
    expect_n(f, 1);
    report(f, sid, "filter", 0, "filter.stores/stores@0-2 !1=2");
    report(f, sid, "filter", 1, "filter.stores/stores@1-3 !1=2,3=1");
    expect_none(f);
    expect_counts(f, sid, "filter.stores", 4, 6);
    report(f, sid, "filter", 0, "filter.stores/stores@2,4");
    report(f, sid, "filter", 2, "filter.stores/stores@0-4 !1=2,3=1");
    expect_none(f);
    expect_counts(f, sid, "filter.stores", 5, 6);
    expect_state(f, sid, PLAN_FILTER, COORD_DRAINING);
    assert_int_equal(coord_rejected(f->c, sid, PLAN_FILTER, PLAN_T_STORES), 3);
    report(f, sid, "filter", 2, "filter.stores/stores@5");
    expect_n(f, 4);
    expect_finish(f, 0, "filter", sid, REPLY_TO, "filter.stores/stores=6",
                  "stores=3");
    expect_aggs_drained(f, 1, sid);
    assert_int_equal(stats_of(f).violations, 0);
    fx_free(f);
}

static void test_ids_beyond_expected(void **state)
{
    struct fx *f = fx_new("");

    (void)state;
    start(f, "s-over");
    done(f, "s-over", "gateway", 0, "filter.users/users=3");
    expect_n(f, 1);
    report(f, "s-over", "filter", 0, "filter.users/users@0-3");
    expect_none(f);
    assert_int_equal(stats_of(f).violations, 1);
    expect_counts(f, "s-over", "filter.users", 4, 3);
    report(f, "s-over", "filter", 0, "filter.users/users@0-2");
    expect_none(f);
    expect_state(f, "s-over", PLAN_FILTER, COORD_DRAINING);

    /* Beyond the count before it is declared: flagged on the declaration. */
    start(f, "s-over2");
    report(f, "s-over2", "filter", 0, "filter.menu_items/menu_items@0-8");
    expect_none(f);
    assert_int_equal(stats_of(f).violations, 1);
    done(f, "s-over2", "gateway", 0, "filter.menu_items/menu_items=8");
    expect_n(f, 1);
    expect_drain(f, 0, "filter", "s-over2");
    assert_int_equal(stats_of(f).violations, 2);
    expect_state(f, "s-over2", PLAN_FILTER, COORD_DRAINING);
    fx_free(f);
}

/* A flow declared again with another count keeps its first count. */
static void test_conflicting_declarations(void **state)
{
    const char *sid = "s-conflict";
    struct fx *f = fx_new("filter=2");

    (void)state;
    start(f, sid);
    done(f, sid, "gateway", 0, "filter.users/users=3 filter.stores/stores=1");
    expect_n(f, 1);
    done(f, sid, "gateway", 0, "filter.users/users=4 filter.stores/stores=1");
    expect_none(f);
    assert_int_equal(stats_of(f).violations, 1);
    expect_counts(f, sid, "filter.users", 0, 3);
    report(f, sid, "filter", 0,
           "filter.users/users@0-2 filter.stores/stores@0");
    expect_n(f, 4);
    expect_finish(f, 0, "filter", sid, REPLY_TO,
                  "filter.users/users=3 filter.stores/stores=1", "");
    expect_aggs_drained(f, 1, sid);
    done(f, sid, "filter", 0, "agg-q2.0/stores=2 sink.0/transactions=0");
    expect_n(f, 2);
    done(f, sid, "filter", 1, "agg-q2.0/stores=5 sink.0/transactions=0");
    expect_none(f);
    assert_int_equal(stats_of(f).violations, 2);
    expect_counts(f, sid, "agg-q2.0", 0, 2);
    report(f, sid, "agg-q2", 0, "agg-q2.0/stores@0-1");
    expect_n(f, 2);
    expect_finish(f, 0, "agg-q2", sid, REPLY_TO, "agg-q2.0/stores=2", "");
    expect_drain(f, 1, "sink", sid);
    fx_free(f);
}

/* Ids in a flow nobody declared block the stage until it is declared. */
static void test_undeclared_flow_blocks(void **state)
{
    const char *sid = "s-undeclared";
    struct fx *f = fx_new("filter=2");

    (void)state;
    start(f, sid);
    done(f, sid, "gateway", 0, "filter.transactions/transactions=1");
    expect_n(f, 1);
    report(f, sid, "filter", 0, "filter.transactions/transactions@0");
    expect_n(f, 4);
    expect_aggs_drained(f, 1, sid);
    done(f, sid, "filter", 0, "agg-q2.0/transaction_items=1");
    expect_n(f, 2);
    expect_finish(f, 0, "agg-q3", sid, REPLY_TO, "", "");
    report(f, sid, "agg-q2", 0,
           "agg-q2.0/transaction_items@0 agg-q2.0/menu_items@0");
    expect_none(f);
    expect_state(f, sid, PLAN_AGG_Q2, COORD_DRAINING);
    expect_counts(f, sid, "agg-q2.0", 2, 1);
    assert_int_equal(stats_of(f).violations, 1);
    done(f, sid, "filter", 1,
         "agg-q2.0/transaction_items=1 agg-q2.0/menu_items=1");
    expect_n(f, 2);
    expect_finish(f, 0, "agg-q2", sid, REPLY_TO,
                  "agg-q2.0/transaction_items=1 agg-q2.0/menu_items=1", "");
    expect_drain(f, 1, "sink", sid);
    fx_free(f);
}

/* Rejected rows count once per id, only for ids in the same flow's ranges
 * of the message and streams that name a table; finish forwards the sum
 * over every stage. */
static void test_rejected_once_per_id(void **state)
{
    const char *sid = "s-rej";
    struct fx *f = fx_new("filter=2");

    (void)state;
    start(f, sid);
    done(f, sid, "gateway", 0,
         "filter.transactions/transactions=4 filter.users/users=2");
    expect_n(f, 1);
    report(f, sid, "filter", 0, "filter.transactions/transactions@0-1 !1=3");
    report(f, sid, "filter", 1,
           "filter.transactions/transactions@1-2 !1=3,2=1");
    expect_none(f);
    assert_int_equal(
        coord_rejected(f->c, sid, PLAN_FILTER, PLAN_T_TRANSACTIONS), 4);
    /* One id listed twice in one report (a redelivered copy processed twice
     * before the report) counts once. */
    report(f, sid, "filter", 0, "filter.transactions/transactions@3 !3=2,3=2");
    assert_int_equal(
        coord_rejected(f->c, sid, PLAN_FILTER, PLAN_T_TRANSACTIONS), 6);
    report(f, sid, "filter", 0, "filter.users/users@0 !1=7");
    report(f, sid, "filter", 1, "filter.users/users@ !1=7");
    report(f, sid, "filter", 1,
           "filter.transactions/transactions@0-3 !0=5,1=3");
    assert_int_equal(coord_rejected(f->c, sid, PLAN_FILTER, PLAN_T_USERS), 0);
    assert_int_equal(
        coord_rejected(f->c, sid, PLAN_FILTER, PLAN_T_TRANSACTIONS), 6);
    expect_none(f);
    report(f, sid, "filter", 1, "filter.users/users@1 !1=2");
    expect_n(f, 4);
    expect_finish(f, 0, "filter", sid, REPLY_TO,
                  "filter.transactions/transactions=4 filter.users/users=2",
                  "transactions=6 users=2");
    expect_aggs_drained(f, 1, sid);

    done(f, sid, "filter", 1, "agg-q3.0/transactions=1 sink.0/transactions=0");
    expect_n(f, 2);
    expect_finish(f, 0, "agg-q2", sid, REPLY_TO, "", "transactions=6 users=2");
    report(f, sid, "agg-q3", 0, "agg-q3.0/transactions@0 !0=1");
    expect_n(f, 2);
    expect_finish(f, 0, "agg-q3", sid, REPLY_TO, "agg-q3.0/transactions=1",
                  "transactions=7 users=2");
    expect_drain(f, 1, "sink", sid);
    assert_int_equal(
        coord_rejected(f->c, sid, PLAN_AGG_Q3, PLAN_T_TRANSACTIONS), 1);
    assert_int_equal(
        coord_rejected(f->c, sid, PLAN_FILTER, PLAN_T_TRANSACTIONS), 6);
    /* Streams that name no table carry no rejected rows. */
    done(f, sid, "agg-q2", 0, NULL);
    done(f, sid, "agg-q4", 0, NULL);
    done(f, sid, "agg-q3", 0, "sink.0/agg-q3.0=1");
    expect_none(f);
    report(f, sid, "sink", 0, "sink.0/agg-q3.0@0 !0=9");
    expect_n(f, 1);
    expect_finish(f, 0, "sink", sid, REPLY_TO,
                  "sink.0/agg-q3.0=1 sink.0/transactions=0",
                  "transactions=7 users=2");
    fx_free(f);
}

/* The filter (stateless) completes on its first done; a sharded stage
 * waits for every replica's; a redelivered done changes nothing. */
static void test_stage_completion_rules(void **state)
{
    const char *sid = "s-rules";
    struct fx *f = fx_new("filter=3,agg-q2=2,sink=2");

    (void)state;
    start(f, sid);
    done(f, sid, "gateway", 0, "filter.stores/stores=1");
    expect_n(f, 1);
    report(f, sid, "filter", 2, "filter.stores/stores@0");
    expect_n(f, 4);
    expect_aggs_drained(f, 1, sid);
    expect_state(f, sid, PLAN_FILTER, COORD_FINISHING);
    done(f, sid, "filter", 1, "agg-q2.0/stores=1 agg-q2.1/stores=0");
    expect_n(f, 2);
    expect_finish(f, 0, "agg-q3", sid, REPLY_TO, "", "");
    expect_finish(f, 1, "agg-q4", sid, REPLY_TO, "", "");
    expect_state(f, sid, PLAN_FILTER, COORD_COMPLETE);
    done(f, sid, "filter", 0, "agg-q2.0/stores=1 agg-q2.1/stores=0");
    done(f, sid, "filter", 2, "agg-q2.0/stores=1 agg-q2.1/stores=0");
    expect_none(f);
    report(f, sid, "agg-q2", 0, "agg-q2.0/stores@0");
    expect_n(f, 2);
    expect_finish(f, 0, "agg-q2", sid, REPLY_TO,
                  "agg-q2.0/stores=1 agg-q2.1/stores=0", "");
    expect_drain(f, 1, "sink", sid);
    done(f, sid, "agg-q2", 1, "sink.1/agg-q2.1=0");
    done(f, sid, "agg-q2", 1, "sink.1/agg-q2.1=0");
    expect_none(f);
    expect_state(f, sid, PLAN_AGG_Q2, COORD_FINISHING);
    done(f, sid, "agg-q2", 0, "sink.1/agg-q2.0=2");
    expect_none(f);
    expect_state(f, sid, PLAN_AGG_Q2, COORD_COMPLETE);
    done(f, sid, "agg-q3", 0, NULL);
    expect_none(f);
    done(f, sid, "agg-q4", 0, NULL);
    expect_none(f);
    report(f, sid, "sink", 1, "sink.1/agg-q2.0@0-1");
    expect_n(f, 1);
    expect_finish(f, 0, "sink", sid, REPLY_TO,
                  "sink.1/agg-q2.0=2 sink.1/agg-q2.1=0", "");
    done(f, sid, "sink", 0, NULL);
    done(f, sid, "sink", 0, NULL);
    expect_none(f);
    expect_state(f, sid, PLAN_SINK, COORD_FINISHING);
    done(f, sid, "sink", 1, NULL);
    expect_none(f);
    assert_true(coord_ended(f->c, sid));
    assert_int_equal(stats_of(f).completed, 1);
    assert_int_equal(stats_of(f).ignored, 0);
    fx_free(f);
}

/* A done that arrives before finish does not skip finish: the stage
 * completes right after it. */
static void test_done_before_finish(void **state)
{
    const char *sid = "s-early-done";
    struct fx *f = fx_new("");

    (void)state;
    start(f, sid);
    done(f, sid, "gateway", 0, "filter.stores/stores=2");
    expect_n(f, 1);
    done(f, sid, "filter", 0, "agg-q2.0/stores=1");
    expect_none(f);
    expect_state(f, sid, PLAN_FILTER, COORD_DRAINING);
    report(f, sid, "filter", 0, "filter.stores/stores@0-1");
    expect_n(f, 6);
    expect_finish(f, 0, "filter", sid, REPLY_TO, "filter.stores/stores=2", "");
    expect_drain(f, 1, "agg-q2", sid);
    expect_drain(f, 2, "agg-q3", sid);
    expect_out(f, 3, CTL_FINISH, "agg-q3", sid);
    expect_drain(f, 4, "agg-q4", sid);
    expect_out(f, 5, CTL_FINISH, "agg-q4", sid);
    expect_state(f, sid, PLAN_FILTER, COORD_COMPLETE);
    fx_free(f);
}

/* A report or done may come before the session_start (a restarted
 * coordinator replays its queue): it creates the session, and the start
 * then sets the reply-to that later finishes carry. */
static void test_implicit_creation(void **state)
{
    const char *sid = "s-impl";
    struct fx *f = fx_new("");

    (void)state;
    report(f, sid, "filter", 0, "filter.users/users@0-4");
    expect_none(f);
    assert_true(coord_active(f->c, sid));
    expect_state(f, sid, PLAN_FILTER, COORD_WAITING);
    start(f, sid);
    start_to(f, sid, "gw-other");
    expect_none(f);
    assert_int_equal(stats_of(f).started, 1);
    assert_int_equal(stats_of(f).ignored, 1);
    done(f, sid, "gateway", 0, "filter.users/users=5");
    expect_n(f, 5);
    expect_drain(f, 0, "filter", sid);
    expect_finish(f, 1, "filter", sid, REPLY_TO, "filter.users/users=5", "");
    expect_aggs_drained(f, 2, sid);

    /* The start after a finish: that one went without a reply-to. */
    done(f, "s-late", "gateway", 0, "filter.users/users=0");
    expect_n(f, 5);
    expect_finish(f, 1, "filter", "s-late", "", "filter.users/users=0", "");
    start(f, "s-late");
    done(f, "s-late", "filter", 0, NULL);
    expect_n(f, 4);
    expect_finish(f, 0, "agg-q2", "s-late", REPLY_TO, "", "");
    expect_drain(f, 3, "sink", "s-late");
    assert_int_equal(stats_of(f).started, 2);
    fx_free(f);
}

/* Drives one session with no input to its end. */
static void run_empty_session(struct fx *f, const char *sid)
{
    start(f, sid);
    done(f, sid, "gateway", 0, NULL);
    done(f, sid, "filter", 0, NULL);
    done(f, sid, "agg-q2", 0, NULL);
    done(f, sid, "agg-q3", 0, NULL);
    done(f, sid, "agg-q4", 0, NULL);
    done(f, sid, "sink", 0, NULL);
    assert_true(coord_ended(f->c, sid));
    reset_out(f);
}

static void send_late_messages(struct fx *f, const char *sid)
{
    report(f, sid, "filter", 0, "filter.users/users@0");
    expect_none(f);
    done(f, sid, "gateway", 0, "filter.users/users=1");
    expect_none(f);
    done(f, sid, "sink", 0, NULL);
    expect_none(f);
    start_to(f, sid, REPLY_TO);
    expect_none(f);
    assert_false(coord_active(f->c, sid));
}

static void test_ended_sessions_ignored(void **state)
{
    struct fx *f = fx_new("");

    (void)state;
    run_empty_session(f, "s-complete");
    send_late_messages(f, "s-complete");
    assert_int_equal(stats_of(f).ignored, 4);
    start(f, "s-aborted");
    done(f, "s-aborted", "gateway", 0, "filter.users/users=2");
    expect_n(f, 1);
    abort_session(f, "s-aborted", "client vanished");
    expect_n(f, 1);
    expect_out(f, 0, CTL_ABORT, PLAN_CONTROL_ALL, "s-aborted");
    send_late_messages(f, "s-aborted");
    abort_session(f, "s-aborted", "again");
    expect_none(f);
    assert_int_equal(stats_of(f).ignored, 9);
    assert_int_equal(coord_sessions(f->c), 0);
    assert_int_equal(stats_of(f).completed, 1);
    assert_int_equal(stats_of(f).aborted, 1);
    fx_free(f);
}

static void test_abort(void **state)
{
    struct fx *f = fx_new("filter=2,agg-q2=2");

    (void)state;
    start(f, "s-abort");
    start(f, "s-other");
    done(f, "s-abort", "gateway", 0, "filter.transactions/transactions=2");
    expect_n(f, 1);
    report(f, "s-abort", "filter", 0, "filter.transactions/transactions@0-1");
    expect_n(f, 4);
    abort_session(f, "s-abort", "client vanished");
    expect_n(f, 1);
    expect_out(f, 0, CTL_ABORT, PLAN_CONTROL_ALL, "s-abort");
    assert_string_equal(f->out[0].m->reason, "client vanished");
    assert_false(coord_active(f->c, "s-abort"));
    assert_true(coord_ended(f->c, "s-abort"));
    expect_state(f, "s-other", PLAN_FILTER, COORD_WAITING);
    /* Unknown session: broadcast anyway (replicas may hold it), then
     * remembered as ended. */
    abort_session(f, "s-never", "gateway lost it");
    expect_n(f, 1);
    expect_out(f, 0, CTL_ABORT, PLAN_CONTROL_ALL, "s-never");
    assert_true(coord_ended(f->c, "s-never"));
    abort_session(f, "s-never", "again");
    expect_none(f);
    assert_int_equal(coord_sessions(f->c), 1);
    assert_int_equal(stats_of(f).aborted, 1);
    fx_free(f);
}

/* A tombstone set of the caller's (e.g. loaded from disk) is used and not
 * freed by the machine. */
static void test_external_tombstones(void **state)
{
    struct tombs *t = tombs_create(8);
    struct fx *f;

    (void)state;
    assert_non_null(t);
    assert_int_equal(tombs_add(t, "s-old"), 0);
    f = fx_new_tombs("", t);
    assert_true(coord_ended(f->c, "s-old"));
    report(f, "s-old", "filter", 0, "filter.users/users@0");
    expect_none(f);
    assert_false(coord_active(f->c, "s-old"));
    run_empty_session(f, "s-new");
    assert_true(tombs_has(t, "s-new"));
    fx_free(f);
    assert_true(tombs_has(t, "s-new"));
    tombs_destroy(t);
}

static void test_tombstones_are_bounded(void **state)
{
    struct fx *f = fx_new("");
    char sid[40];
    int i;

    (void)state;
    for (i = 0; i < COORD_TOMBSTONES + 10; i++) {
        snprintf(sid, sizeof(sid), "s-%d", i);
        abort_session(f, sid, "");
        expect_n(f, 1);
    }
    assert_false(coord_ended(f->c, "s-0"));
    assert_false(coord_ended(f->c, "s-9"));
    assert_true(coord_ended(f->c, "s-10"));
    snprintf(sid, sizeof(sid), "s-%d", COORD_TOMBSTONES + 9);
    assert_true(coord_ended(f->c, sid));
    fx_free(f);
}

static void test_shutdown(void **state)
{
    struct fx *f = fx_new("");

    (void)state;
    assert_false(coord_stopping(f->c));
    start(f, "s-left");
    /* Published before this coordinator started: left in the durable queue
     * by an earlier run. */
    build(f, CTL_SHUTDOWN, NULL, NULL, 0, NULL);
    f->in->ts_ms = clock_wall_ms() - 60000;
    feed(f, f->in);
    expect_none(f);
    assert_false(coord_stopping(f->c));
    assert_int_equal(stats_of(f).ignored, 1);
    f->in->ts_ms = clock_wall_ms() + 1000;
    feed(f, f->in);
    expect_n(f, 1);
    expect_out(f, 0, CTL_SHUTDOWN, PLAN_CONTROL_ALL, NULL);
    assert_true(coord_stopping(f->c));
    fx_free(f);

    f = fx_new("");
    simple(f, CTL_SHUTDOWN, NULL); /* ts 0: now */
    expect_n(f, 1);
    assert_true(coord_stopping(f->c));
    fx_free(f);
}

/* ------------------------------------------------------------ restarts */

/* Sessions in each state, under "filter=2,agg-q2=2,sink=2":
 *   s-drain  filter DRAINING
 *   s-fin    filter FINISHING (so the aggregators DRAINING)
 *   s-agg    agg-q2 FINISHING with replica 1's done in, replica 0's missing
 *            (so the sink DRAINING)
 *   s-end    aborted */
static struct fx *states_fixture(void)
{
    struct fx *f = fx_new("filter=2,agg-q2=2,sink=2");

    start(f, "s-drain");
    done(f, "s-drain", "gateway", 0, "filter.transactions/transactions=2");
    expect_n(f, 1);
    start(f, "s-fin");
    done(f, "s-fin", "gateway", 0, "filter.users/users=1");
    report(f, "s-fin", "filter", 0, "filter.users/users@0");
    expect_n(f, 5);
    start(f, "s-agg");
    done(f, "s-agg", "gateway", 0, "filter.stores/stores=1");
    report(f, "s-agg", "filter", 1, "filter.stores/stores@0");
    done(f, "s-agg", "filter", 0, "agg-q2.0/stores=1 agg-q2.1/stores=1");
    done(f, "s-agg", "agg-q3", 0, NULL);
    done(f, "s-agg", "agg-q4", 0, NULL);
    expect_n(f, 7);
    report(f, "s-agg", "agg-q2", 0, "agg-q2.0/stores@0");
    expect_none(f);
    report(f, "s-agg", "agg-q2", 1, "agg-q2.1/stores@0");
    expect_n(f, 2);
    done(f, "s-agg", "agg-q2", 1, "sink.0/agg-q2.1=0");
    expect_none(f);
    start(f, "s-end");
    abort_session(f, "s-end", "");
    expect_n(f, 1);
    expect_state(f, "s-drain", PLAN_FILTER, COORD_DRAINING);
    expect_state(f, "s-fin", PLAN_FILTER, COORD_FINISHING);
    expect_state(f, "s-agg", PLAN_AGG_Q2, COORD_FINISHING);
    expect_state(f, "s-fin", PLAN_AGG_Q2, COORD_DRAINING);
    expect_state(f, "s-agg", PLAN_SINK, COORD_DRAINING);
    return f;
}

#define FIN_FILTER "filter.users/users=1"
#define FIN_AGG "agg-q2.0/stores=1 agg-q2.1/stores=1"

static void test_hello(void **state)
{
    struct fx *f = states_fixture();
    uint64_t resent = stats_of(f).resent, ignored = stats_of(f).ignored;
    int i;

    (void)state;
    hello(f, "filter", 1, "s-end s-drain s-unknown");
    expect_n(f, 3);
    expect_drain(f, find_out(f, CTL_DRAIN, "filter.1", "s-drain"), "filter.1",
                 "s-drain");
    i = find_out(f, CTL_FINISH, "filter.1", "s-fin");
    expect_finish(f, i, "filter.1", "s-fin", REPLY_TO, FIN_FILTER, "");
    expect_out(f, 2, CTL_ABORT, "filter.1", "s-end");
    /* Finishing: only a replica whose done is missing gets finish again;
     * draining: every replica gets drain again. */
    hello(f, "agg-q2", 0, "");
    expect_n(f, 2);
    expect_finish(f, find_out(f, CTL_FINISH, "agg-q2.0", "s-agg"), "agg-q2.0",
                  "s-agg", REPLY_TO, FIN_AGG, "");
    expect_drain(f, find_out(f, CTL_DRAIN, "agg-q2.0", "s-fin"), "agg-q2.0",
                 "s-fin");
    hello(f, "agg-q2", 1, "s-agg");
    expect_n(f, 1);
    expect_drain(f, 0, "agg-q2.1", "s-fin");
    hello(f, "sink", 1, "s-end s-agg");
    expect_n(f, 2);
    expect_drain(f, find_out(f, CTL_DRAIN, "sink.1", "s-agg"), "sink.1",
                 "s-agg");
    expect_out(f, 1, CTL_ABORT, "sink.1", "s-end");
    assert_int_equal(stats_of(f).resent, resent + 6);
    /* Not a worker replica. */
    hello(f, "gateway", 0, "s-end");
    expect_none(f);
    hello(f, "agg-q2", 2, "s-end");
    expect_none(f);
    hello(f, "nosuch", 0, "s-end");
    expect_none(f);
    assert_int_equal(stats_of(f).ignored, ignored + 2);
    fx_free(f);
}

static void test_resume(void **state)
{
    struct fx *f = states_fixture();
    uint64_t resent = stats_of(f).resent;

    (void)state;
    resume(f);
    expect_n(f, 7);
    expect_drain(f, find_out(f, CTL_DRAIN, "filter", "s-drain"), "filter",
                 "s-drain");
    expect_finish(f, find_out(f, CTL_FINISH, "filter", "s-fin"), "filter",
                  "s-fin", REPLY_TO, FIN_FILTER, "");
    expect_drain(f, find_out(f, CTL_DRAIN, "agg-q2", "s-fin"), "agg-q2",
                 "s-fin");
    expect_drain(f, find_out(f, CTL_DRAIN, "agg-q3", "s-fin"), "agg-q3",
                 "s-fin");
    expect_drain(f, find_out(f, CTL_DRAIN, "agg-q4", "s-fin"), "agg-q4",
                 "s-fin");
    expect_finish(f, find_out(f, CTL_FINISH, "agg-q2", "s-agg"), "agg-q2",
                  "s-agg", REPLY_TO, FIN_AGG, "");
    expect_drain(f, find_out(f, CTL_DRAIN, "sink", "s-agg"), "sink", "s-agg");
    assert_int_equal(stats_of(f).resent, resent + 7);
    fx_free(f);

    f = fx_new("");
    resume(f);
    expect_none(f);
    fx_free(f);
}

static void test_resend_silent_stage(void **state)
{
    const char *sid = "s-resend";
    struct fx *f = fx_new("filter=2");

    (void)state;
    start(f, sid);
    tick(f);
    expect_none(f);
    coord_set_resend(f->c, 1000);
    done(f, sid, "gateway", 0, "filter.users/users=4");
    expect_n(f, 1);

    f->now += 999;
    tick(f);
    expect_none(f);
    f->now += 1;
    tick(f);
    expect_n(f, 1);
    expect_drain(f, 0, "filter", sid);

    /* New ids reset the timer; a report that adds nothing does not. */
    f->now += 900;
    report(f, sid, "filter", 0, "filter.users/users@0-1");
    f->now += 900;
    report(f, sid, "filter", 0, "filter.users/users@0-1");
    tick(f);
    expect_none(f);
    f->now += 100;
    tick(f);
    expect_n(f, 1);
    expect_drain(f, 0, "filter", sid);

    report(f, sid, "filter", 1, "filter.users/users@2-3");
    expect_n(f, 4);
    f->now += 999;
    tick(f);
    expect_none(f);
    f->now += 1;
    tick(f);
    expect_n(f, 4); /* the filter's finish, the aggregators' drains */
    expect_finish(f, 0, "filter", sid, REPLY_TO, "filter.users/users=4", "");
    expect_aggs_drained(f, 1, sid);
    assert_int_equal(stats_of(f).resent, 6);
    fx_free(f);
}

/* Each silent stage gets its command again, complete ones nothing; a new
 * done is progress, a redelivered one is not. */
static void test_resend_scope(void **state)
{
    const char *sid = "s-resend2";
    struct fx *f = fx_new("filter=2,agg-q3=2");

    (void)state;
    coord_set_resend(f->c, 1000);
    start(f, sid);
    done(f, sid, "gateway", 0, "filter.users/users=1");
    expect_n(f, 1);
    report(f, sid, "filter", 1, "filter.users/users@0");
    expect_n(f, 4);
    done(f, sid, "filter", 0, "agg-q2.0/users=1");
    expect_n(f, 2);
    f->now += 5000;
    tick(f);
    expect_n(f, 3);
    expect_drain(f, find_out(f, CTL_DRAIN, "agg-q2", sid), "agg-q2", sid);
    expect_finish(f, find_out(f, CTL_FINISH, "agg-q3", sid), "agg-q3", sid,
                  REPLY_TO, "", "");
    expect_finish(f, find_out(f, CTL_FINISH, "agg-q4", sid), "agg-q4", sid,
                  REPLY_TO, "", "");
    assert_int_equal(stats_of(f).resent, 3);
    done(f, sid, "agg-q3", 0, NULL);
    expect_state(f, sid, PLAN_AGG_Q3, COORD_FINISHING);
    f->now += 900;
    done(f, sid, "agg-q3", 0, NULL);
    f->now += 100;
    tick(f);
    expect_n(f, 3);
    assert_true(find_out(f, CTL_FINISH, "agg-q3", sid) >= 0);
    fx_free(f);
}

static void test_emit_failure(void **state)
{
    const char *sid = "s-fail";
    struct fx *f = fx_new("");

    (void)state;
    start(f, sid);
    build(f, CTL_DONE, sid, "gateway", 0, NULL);
    f->fail_emit = 1;
    reset_out(f);
    /* drain then finish are due; the first emit fails, the second is not
     * tried, and the state has advanced. */
    assert_int_equal(coord_handle(f->c, f->in, record, f), COORD_ERR_EMIT);
    assert_int_equal(f->ncalls, 1);
    expect_state(f, sid, PLAN_FILTER, COORD_FINISHING);
    reset_out(f);
    assert_int_equal(coord_resume(f->c, record, f), COORD_ERR_EMIT);
    coord_set_resend(f->c, 10);
    f->now += 10;
    reset_out(f);
    assert_int_equal(coord_tick(f->c, record, f), COORD_ERR_EMIT);
    build(f, CTL_HELLO, NULL, "filter", 0, NULL);
    reset_out(f);
    assert_int_equal(coord_handle(f->c, f->in, record, f), COORD_ERR_EMIT);
    build(f, CTL_ABORT, sid, NULL, 0, NULL);
    reset_out(f);
    assert_int_equal(coord_handle(f->c, f->in, record, f), COORD_ERR_EMIT);
    assert_true(coord_ended(f->c, sid));
    /* The next call starts afresh. */
    f->fail_emit = 0;
    hello(f, "filter", 0, sid);
    expect_n(f, 1);
    fx_free(f);
}

static void test_invalid_input_ignored(void **state)
{
    const char *sid = "s-bad";
    struct fx *f = fx_new("filter=2,sink=2");
    int64_t p, e;
    int i;

    (void)state;
    /* Senders that are not a replica of the plan create nothing. */
    done(f, "s-unknown", "nosuch", 0, "filter.users/users=1");
    done(f, "s-unknown", "filter", 2, NULL);
    report(f, "s-unknown", "filter", -1, "filter.users/users@0");
    done(f, "s-unknown", "gateway", 1, "filter.users/users=1");
    expect_none(f);
    assert_int_equal(coord_sessions(f->c), 0);
    assert_false(coord_ended(f->c, "s-unknown"));
    assert_int_equal(stats_of(f).ignored, 4);

    /* Declarations of queues the sender does not feed, or that do not
     * exist, and negative counts are dropped; the valid ones count. */
    start(f, sid);
    build(f, CTL_DONE, sid, "gateway", 0,
          "filter.transactions/transactions=2 agg-q2.0/x=5 filter.nosuch/x=1 "
          "sink.2/transactions=1 bogus/x=1 filter.users/users=0");
    i = ctl_find_flow(f->in, "filter.users", "users");
    f->in->flows[i].n = -3;
    feed(f, f->in);
    expect_n(f, 1);
    expect_drain(f, 0, "filter", sid);
    assert_int_equal(coord_queue_counts(f->c, sid, "sink.2", &p, &e), -1);
    expect_counts(f, sid, "filter.transactions", 0, 2);
    expect_counts(f, sid, "filter.users", 0, 0);
    expect_counts(f, sid, "agg-q2.0", 0, 0);
    /* Reports about another stage's queues, or with no ids, count nothing. */
    report(f, sid, "filter", 0, "agg-q2.0/transactions@0 filter.nosuch/x@0");
    report(f, sid, "gateway", 0, "filter.transactions/transactions@0");
    report(f, sid, "filter", 1, "filter.transactions/transactions@");
    expect_none(f);
    expect_counts(f, sid, "agg-q2.0", 0, 0);
    expect_counts(f, sid, "filter.transactions", 0, 2);
    report(f, sid, "filter", 1, "filter.transactions/transactions@0-1");
    expect_n(f, 4);
    expect_finish(f, 0, "filter", sid, REPLY_TO,
                  "filter.transactions/transactions=2", "");
    expect_aggs_drained(f, 1, sid);
    /* Types the coordinator only sends. */
    simple(f, CTL_DRAIN, sid);
    simple(f, CTL_FINISH, sid);
    simple(f, CTL_END, sid);
    expect_none(f);
    assert_int_equal(stats_of(f).ignored, 7);
    assert_int_equal(stats_of(f).violations, 0);
    fx_free(f);
}

static void test_introspection(void **state)
{
    const char *sid = "s-look";
    struct fx *f = fx_new("agg-q2=2");
    int64_t p, e;

    (void)state;
    assert_int_equal(coord_sessions(f->c), 0);
    assert_false(coord_active(f->c, sid));
    assert_false(coord_ended(f->c, sid));
    assert_int_equal(coord_stage_state(f->c, sid, PLAN_FILTER), -1);
    assert_int_equal(coord_queue_counts(f->c, sid, "filter.users", &p, &e), -1);
    assert_int_equal(coord_rejected(f->c, sid, PLAN_FILTER, PLAN_T_USERS), 0);

    start(f, sid);
    done(f, sid, "gateway", 0, "filter.users/users=2");
    report(f, sid, "filter", 0, "filter.users/users@0 !0=3");
    assert_int_equal(coord_sessions(f->c), 1);
    assert_true(coord_active(f->c, sid));
    expect_state(f, sid, PLAN_GATEWAY, COORD_COMPLETE);
    expect_state(f, sid, PLAN_FILTER, COORD_DRAINING);
    expect_state(f, sid, PLAN_AGG_Q2, COORD_WAITING);
    assert_int_equal(coord_stage_state(f->c, sid, PLAN_NSTAGES), -1);
    expect_counts(f, sid, "filter.users", 1, 2);
    expect_counts(f, sid, "agg-q2.1", 0, 0);
    assert_int_equal(coord_queue_counts(f->c, sid, "agg-q2.2", &p, &e), -1);
    assert_int_equal(coord_queue_counts(f->c, sid, "filter", &p, &e), -1);
    assert_int_equal(coord_rejected(f->c, sid, PLAN_FILTER, PLAN_T_USERS), 3);
    assert_int_equal(coord_rejected(f->c, sid, PLAN_AGG_Q2, PLAN_T_USERS), 0);
    assert_int_equal(coord_rejected(f->c, sid, PLAN_FILTER, PLAN_NTABLES), 0);
    assert_int_equal(coord_rejected(f->c, sid, PLAN_NSTAGES, PLAN_T_USERS), 0);
    assert_int_equal(stats_of(f).started, 1);
    assert_string_equal(coord_state_name(COORD_WAITING), "waiting");
    assert_string_equal(coord_state_name(COORD_DRAINING), "draining");
    assert_string_equal(coord_state_name(COORD_FINISHING), "finishing");
    assert_string_equal(coord_state_name(COORD_COMPLETE), "complete");
    assert_string_equal(coord_state_name(-1), "?");
    assert_string_equal(coord_state_name(7), "?");
    coord_destroy(NULL);
    fx_free(f);
}

/* Many sessions at once (the session map grows), each independent. */
static void test_many_sessions(void **state)
{
    struct fx *f = fx_new("");
    char sid[40];
    int i;

    (void)state;
    for (i = 0; i < 300; i++) {
        snprintf(sid, sizeof(sid), "s-many-%d", i);
        done(f, sid, "gateway", 0, "filter.users/users=1");
        expect_n(f, 1);
    }
    assert_int_equal(coord_sessions(f->c), 300);
    for (i = 0; i < 300; i += 2) {
        snprintf(sid, sizeof(sid), "s-many-%d", i);
        report(f, sid, "filter", 0, "filter.users/users@0");
        expect_n(f, 4);
        expect_out(f, 0, CTL_FINISH, "filter", sid);
    }
    for (i = 0; i < 300; i++) {
        snprintf(sid, sizeof(sid), "s-many-%d", i);
        expect_state(f, sid, PLAN_FILTER,
                     i % 2 ? COORD_DRAINING : COORD_FINISHING);
        abort_session(f, sid, "");
        expect_n(f, 1);
    }
    assert_int_equal(coord_sessions(f->c), 0);
    assert_int_equal(stats_of(f).started, 300);
    fx_free(f);
}

/* ------------------------------------------------------------ interleaving, replay */

static void test_interleaved_sessions(void **state)
{
    const char *spec = "filter=3,agg-q2=2,agg-q3=3,agg-q4=1,sink=2";
    struct fx *f = fx_new(spec);
    struct script *a = script_new(), *b = script_new();
    const char *sa = "aaaaaaaa-0000-4000-8000-000000000001";
    const char *sb = "bbbbbbbb-0000-4000-8000-000000000002";
    int ia = 0, ib = 0;

    (void)state;
    build_script(a, &f->plan, sa, 3, SC_EARLY | SC_DUPS);
    build_script(b, &f->plan, sb, 5, SC_LATE_START);
    while (ia < a->n / 2 || ib < b->n / 2) {
        if (ia < a->n / 2)
            play(f, a, ia, ia + 1), ia++;
        if (ib < b->n / 2)
            play(f, b, ib, ib + 1), ib++;
    }
    assert_int_equal(coord_sessions(f->c), 2);
    /* A ends while B is still on its way. */
    play(f, a, ia, a->n);
    assert_true(coord_ended(f->c, sa));
    assert_false(coord_ended(f->c, sb));
    assert_int_equal(coord_sessions(f->c), 1);
    expect_state(f, sb, PLAN_SINK, COORD_WAITING);
    play(f, b, ib, b->n);
    assert_true(coord_ended(f->c, sb));
    assert_int_equal(coord_sessions(f->c), 0);
    assert_int_equal(stats_of(f).violations, 0);
    script_free(a);
    script_free(b);
    fx_free(f);
}

struct logent {
    const struct script *sc;
    const struct step *st;
};

/* Both machines hold the same sessions in the same states and counts. */
static void assert_same_machines(const struct fx *a, const struct fx *b,
                                 const struct script *const *scs, int nsc)
{
    char q[PLAN_NAME_MAX], key[PLAN_NAME_MAX];
    int64_t pa, ea, pb, eb;
    int k, s, i;

    assert_int_equal(coord_sessions(a->c), coord_sessions(b->c));
    for (k = 0; k < nsc; k++) {
        const char *sid = scs[k]->sid;

        assert_int_equal(coord_ended(a->c, sid), coord_ended(b->c, sid));
        for (s = 0; s < PLAN_NSTAGES; s++) {
            assert_int_equal(
                coord_stage_state(a->c, sid, (enum plan_stage_id)s),
                coord_stage_state(b->c, sid, (enum plan_stage_id)s));
            for (i = 0; i < plan_nqueues(&a->plan, (enum plan_stage_id)s);
                 i++) {
                plan_queue_key(&a->plan, (enum plan_stage_id)s, i, key,
                               sizeof(key));
                plan_queue((enum plan_stage_id)s, key, q, sizeof(q));
                assert_int_equal(coord_queue_counts(a->c, sid, q, &pa, &ea),
                                 coord_queue_counts(b->c, sid, q, &pb, &eb));
                if (coord_active(a->c, sid)) {
                    assert_int_equal(pa, pb);
                    assert_int_equal(ea, eb);
                }
            }
        }
    }
}

/* The outputs of a and b are the same commands, in any order. */
static void assert_same_outputs(struct fx *a, struct fx *b)
{
    bool used[MAX_OUT] = {false};
    int i, j;

    a->seen = b->seen = true;
    assert_int_equal(a->nout, b->nout);
    for (i = 0; i < a->nout; i++) {
        const struct ctl_msg *m = a->out[i].m;

        for (j = 0; j < b->nout; j++)
            if (!used[j] && b->out[j].m->type == m->type &&
                strcmp(b->out[j].key, a->out[i].key) == 0 &&
                strcmp(b->out[j].m->session, m->session) == 0)
                break;
        if (j == b->nout)
            fail_msg("%s %s to %s missing after the replay",
                     ctl_type_name(m->type), m->session, a->out[i].key);
        used[j] = true;
        if (m->type == CTL_FINISH)
            assert_same_finish(b->out[j].m, m);
    }
}

/* Every command pending in a: drain or finish per draining or finishing
 * stage of an active session. */
static int pending_commands(const struct fx *a, const struct script *const *scs,
                            int nsc)
{
    int k, s, n = 0, st;

    for (k = 0; k < nsc; k++)
        for (s = PLAN_FILTER; s < PLAN_NSTAGES; s++) {
            st = coord_stage_state(a->c, scs[k]->sid, (enum plan_stage_id)s);
            n += st == COORD_DRAINING || st == COORD_FINISHING;
        }
    return n;
}

/* The coordinator rebuilds itself from its write-ahead log: it replays
 * every message it handled (the log may hold some twice) with a discarding
 * emit, then resumes. After any prefix of a run, the rebuilt machine must
 * hold the same state, resume with exactly the commands the original is
 * waiting on, and go on as the original would. */
static void test_replay_resumes_pending_commands(void **state)
{
    const char *spec = "filter=3,agg-q2=2,agg-q3=2,agg-q4=3,sink=2";
    struct fx *a = fx_new(spec), *b;
    struct script *sa = script_new(), *sb = script_new();
    const struct script *scs[2];
    struct logent *log;
    int n = 0, ia = 0, ib = 0, k, i, mid;

    (void)state;
    build_script(sa, &a->plan, "aaaaaaaa-1111-4000-8000-000000000001", 1,
                 SC_EARLY | SC_DUPS);
    build_script(sb, &a->plan, "bbbbbbbb-2222-4000-8000-000000000002", 2,
                 SC_LATE_START);
    scs[0] = sa;
    scs[1] = sb;
    log = calloc((size_t)(sa->n + sb->n), sizeof(*log));
    assert_non_null(log);
    while (ia < sa->n || ib < sb->n) {
        for (k = 0; k < 2 && ia < sa->n; k++)
            log[n++] = (struct logent){sa, &sa->steps[ia++]};
        if (ib < sb->n)
            log[n++] = (struct logent){sb, &sb->steps[ib++]};
    }
    mid = n / 2;
    for (k = 0; k <= n; k++) {
        if (k > 0) {
            feed(a, log[k - 1].st->in);
            check_step(a, log[k - 1].sc, log[k - 1].st);
        }
        b = fx_new(spec);
        for (i = 0; i < k; i++)
            assert_int_equal(coord_handle(b->c, log[i].st->in, discard, NULL),
                             0);
        for (i = k - 1; i >= 0; i -= 3) /* redelivered copies, late */
            assert_int_equal(coord_handle(b->c, log[i].st->in, discard, NULL),
                             0);
        assert_same_machines(a, b, scs, 2);
        assert_int_equal(stats_of(b).violations, 0);
        resume(b);
        assert_int_equal(b->nout, pending_commands(a, scs, 2));
        resume(a);
        assert_same_outputs(a, b);
        if (k == mid)
            for (i = k; i < n; i++) {
                feed(b, log[i].st->in);
                check_step(b, log[i].sc, log[i].st);
            }
        fx_free(b);
    }
    assert_int_equal(coord_sessions(a->c), 0);
    free(log);
    script_free(sa);
    script_free(sb);
    fx_free(a);
}

/* ------------------------------------------------------------ logs */

/* The coordinator's lines for one session, in the documented shape. */
static void test_log_lines(void **state)
{
    struct fx *f = fx_new("");
    struct script *sc = script_new();
    char path[] = "/tmp/test_coord_logXXXXXX", buf[65536];
    int fd = mkstemp(path), saved = dup(2);
    enum log_level level = log_get_level();
    ssize_t n;

    (void)state;
    assert_true(fd >= 0 && saved >= 0);
    build_script(sc, &f->plan, "s-log", 1, 0);
    log_set_level(LOG_INFO);
    assert_int_equal(dup2(fd, 2), 2);
    play_all(f, sc);
    assert_int_equal(dup2(saved, 2), 2);
    log_set_level(level);
    n = pread(fd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "eof session=s-log start reply_to=gw-1"));
    assert_non_null(
        strstr(buf, "eof session=s-log stage=filter drain processed="));
    assert_non_null(strstr(buf,
                           "eof session=s-log stage=filter processed=33/33 "
                           "released: finish replicas=1"));
    assert_non_null(
        strstr(buf, "eof session=s-log stage=filter replica=0 done"));
    assert_non_null(
        strstr(buf, "eof session=s-log stage=sink complete elapsed_ms="));
    assert_non_null(strstr(buf, "eof session=s-log end elapsed_ms="));
    close(fd);
    close(saved);
    unlink(path);
    script_free(sc);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_session_plans),
        cmocka_unit_test(test_zero_inputs),
        cmocka_unit_test(test_reports_union),
        cmocka_unit_test(test_restarted_replica_rereports),
        cmocka_unit_test(test_ids_beyond_expected),
        cmocka_unit_test(test_conflicting_declarations),
        cmocka_unit_test(test_undeclared_flow_blocks),
        cmocka_unit_test(test_rejected_once_per_id),
        cmocka_unit_test(test_stage_completion_rules),
        cmocka_unit_test(test_done_before_finish),
        cmocka_unit_test(test_implicit_creation),
        cmocka_unit_test(test_ended_sessions_ignored),
        cmocka_unit_test(test_abort),
        cmocka_unit_test(test_external_tombstones),
        cmocka_unit_test(test_tombstones_are_bounded),
        cmocka_unit_test(test_shutdown),
        cmocka_unit_test(test_hello),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_resend_silent_stage),
        cmocka_unit_test(test_resend_scope),
        cmocka_unit_test(test_emit_failure),
        cmocka_unit_test(test_invalid_input_ignored),
        cmocka_unit_test(test_introspection),
        cmocka_unit_test(test_many_sessions),
        cmocka_unit_test(test_interleaved_sessions),
        cmocka_unit_test(test_replay_resumes_pending_commands),
        cmocka_unit_test(test_log_lines),
    };

    /* Quiet by default; LOG_LEVEL=info shows the coordinator's lines. */
    if (log_init("test_coord") != 0 || getenv("LOG_LEVEL") == NULL)
        log_set_level(LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
