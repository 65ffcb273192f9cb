/*
 * test_coord.c - the EOF state machine (coordinator/coord.h) without sockets.
 *
 * Two kinds of tests. Scripted sessions: build_script() generates the whole
 * message flow of one session under a replica plan (gateway done, filter
 * reports and dones, each aggregator, the sink) together with the exact
 * messages the coordinator must emit after each step; play() feeds it and
 * checks. Since sessions are independent, two scripts can be interleaved
 * step by step and each step must still emit exactly its own messages.
 * Targeted tests cover lagging, duplicated and stale reports, zero inputs,
 * aborts, violations, shutdown, tombstones, resends and bad input.
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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_OUT 64
#define MAX_STEPS 160
#define MAX_STEP_OUT 8
#define REPLY_TO "gw-1"
/* Ends the (name, n) pairs of done()/report()/simple(): a typed null. */
#define END ((const char *)NULL)

/* ------------------------------------------------------------ fixture */

struct out {
    char key[32];
    struct ctl_msg m;
};

struct fx {
    struct plan plan;
    struct coord *c;
    uint64_t now;
    int fail_emit; /* emit returns -5 from this call on (1-based), 0: never */
    int ncalls;
    int nout;
    struct out out[MAX_OUT];
};

static int record(void *arg, const char *key, const struct ctl_msg *m)
{
    struct fx *f = arg;

    f->ncalls++;
    if (f->fail_emit && f->ncalls >= f->fail_emit)
        return -5;
    assert_true(f->nout < MAX_OUT);
    snprintf(f->out[f->nout].key, sizeof(f->out[0].key), "%s", key);
    f->out[f->nout].m = *m;
    f->nout++;
    return 0;
}

static uint64_t fake_clock(void *arg)
{
    return ((struct fx *)arg)->now;
}

static struct fx *fx_new(const char *spec)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[128];

    assert_non_null(f);
    assert_int_equal(plan_init(&f->plan, spec, err, sizeof(err)), 0);
    f->c = coord_create(&f->plan);
    assert_non_null(f->c);
    f->now = 1000;
    coord_set_clock(f->c, fake_clock, f);
    return f;
}

static void fx_free(struct fx *f)
{
    coord_destroy(f->c);
    free(f);
}

/* Feeds one message; the outputs of this call only are in f->out. */
static void feed(struct fx *f, const struct ctl_msg *m)
{
    f->nout = 0;
    f->ncalls = 0;
    assert_int_equal(coord_handle(f->c, m, record, f), 0);
}

/* Builds and feeds a message; varargs are (name, int n) pairs ending with
 * END; a name starting with '!' is a rejected count of that table. */
static void vsend(struct fx *f, enum ctl_type t, const char *sid,
                  const char *stage, int replica, va_list ap)
{
    struct ctl_msg *m = malloc(sizeof(*m));
    const char *name;

    assert_non_null(m);
    ctl_init(m, t, sid);
    if (stage)
        snprintf(m->stage, sizeof(m->stage), "%s", stage);
    m->replica = replica;
    if (t == CTL_SESSION_START)
        snprintf(m->reply_to, sizeof(m->reply_to), "%s", REPLY_TO);
    while ((name = va_arg(ap, const char *)) != NULL) {
        int n = va_arg(ap, int);

        assert_int_equal(ctl_add(m, name[0] == '!', name + (name[0] == '!'), n), 0);
    }
    feed(f, m);
    free(m);
}

static void done(struct fx *f, const char *sid, const char *stage, int replica, ...)
{
    va_list ap;

    va_start(ap, replica);
    vsend(f, CTL_DONE, sid, stage, replica, ap);
    va_end(ap);
}

static void report(struct fx *f, const char *sid, const char *stage, int replica, ...)
{
    va_list ap;

    va_start(ap, replica);
    vsend(f, CTL_REPORT, sid, stage, replica, ap);
    va_end(ap);
}

static void simple(struct fx *f, enum ctl_type t, const char *sid, ...)
{
    va_list ap;

    va_start(ap, sid);
    vsend(f, t, sid, NULL, 0, ap);
    va_end(ap);
}

static void start(struct fx *f, const char *sid)
{
    simple(f, CTL_SESSION_START, sid, END);
    assert_int_equal(f->nout, 0);
}

static void expect_out(const struct fx *f, int i, enum ctl_type type,
                       const char *key, const char *sid)
{
    assert_true(i < f->nout);
    assert_int_equal(f->out[i].m.type, type);
    assert_string_equal(f->out[i].key, key);
    assert_string_equal(f->out[i].m.session, sid ? sid : "");
    if (type == CTL_FINISH)
        assert_string_equal(f->out[i].m.reply_to, REPLY_TO);
}

static void expect_none(const struct fx *f)
{
    assert_int_equal(f->nout, 0);
}

static void expect_state(const struct fx *f, const char *sid,
                         enum plan_stage_id s, int state)
{
    assert_int_equal(coord_stage_state(f->c, sid, s), state);
}

static void expect_counts(const struct fx *f, const char *sid, const char *queue,
                          int64_t processed, int64_t expected)
{
    int64_t p = -1, e = -1;

    assert_int_equal(coord_queue_counts(f->c, sid, queue, &p, &e), 0);
    assert_int_equal(p, processed);
    assert_int_equal(e, expected);
}

/* ------------------------------------------------------------ scripts */

struct exp_out {
    enum ctl_type type;
    char key[16];
    int64_t rej_tx; /* finish: rejected transactions it must carry */
};

struct step {
    struct ctl_msg in;
    int nout;
    struct exp_out out[MAX_STEP_OUT];
};

struct script {
    char sid[40];
    int n;
    struct step steps[MAX_STEPS];
};

struct gen {
    const struct plan *p;
    struct script *sc;
    unsigned seed;
    unsigned zero; /* bit s: stage s receives nothing */
    int64_t exp[PLAN_NSTAGES][PLAN_MAX_REPLICAS];
    int64_t rej_tx;
};

static struct step *add_step(struct gen *g, enum ctl_type t, int s, int replica)
{
    struct step *st;

    assert_true(g->sc->n < MAX_STEPS);
    st = &g->sc->steps[g->sc->n++];
    ctl_init(&st->in, t, g->sc->sid);
    if (s >= 0)
        snprintf(st->in.stage, sizeof(st->in.stage), "%s",
                 plan_stage_name((enum plan_stage_id)s));
    st->in.replica = replica;
    st->nout = 0;
    return st;
}

static void add_out(struct gen *g, struct step *st, enum ctl_type t, int s)
{
    struct exp_out *o;

    assert_true(st->nout < MAX_STEP_OUT);
    o = &st->out[st->nout++];
    o->type = t;
    snprintf(o->key, sizeof(o->key), "%s", plan_stage_name((enum plan_stage_id)s));
    o->rej_tx = g->rej_tx;
}

static void qname(const struct plan *p, int s, int i, char *out, size_t n)
{
    char key[PLAN_NAME_MAX];

    plan_queue_key(p, (enum plan_stage_id)s, i, key, sizeof(key));
    plan_queue((enum plan_stage_id)s, key, out, n);
}

static int64_t total(const struct gen *g, int s)
{
    int64_t t = 0;
    int i;

    for (i = 0; i < plan_nqueues(g->p, (enum plan_stage_id)s); i++)
        t += g->exp[s][i];
    return t;
}

/* Stage s has all its inputs: drain, and finish at once if it has none. */
static void ready(struct gen *g, struct step *st, int s)
{
    add_out(g, st, CTL_DRAIN, s);
    if (total(g, s) == 0)
        add_out(g, st, CTL_FINISH, s);
}

/* What replica r of stage s processes of its local queue i. */
static int64_t share(const struct gen *g, int s, int r, int i)
{
    int n = g->p->replicas[s];

    if (plan_stage_sharded((enum plan_stage_id)s))
        return r == i ? g->exp[s][i] : 0;
    return g->exp[s][i] / n + (r == n - 1 ? g->exp[s][i] % n : 0);
}

/* Every replica reports half of its share, then all of it; the last full
 * report balances the stage and releases finish. */
static void gen_reports(struct gen *g, int s)
{
    int n = g->p->replicas[s], nq = plan_nqueues(g->p, (enum plan_stage_id)s);
    struct step *st = NULL;
    int pass, r, i;

    for (pass = 0; pass < 2; pass++)
        for (r = 0; r < n; r++) {
            int64_t any = 0;

            for (i = 0; i < nq; i++)
                any += share(g, s, r, i);
            if (any == 0)
                continue;
            st = add_step(g, CTL_REPORT, s, r);
            for (i = 0; i < nq; i++) {
                char q[PLAN_NAME_MAX];
                int64_t v = share(g, s, r, i);

                qname(g->p, s, i, q, sizeof(q));
                if (v > 0)
                    assert_int_equal(ctl_add(&st->in, 0, q, pass ? v : v / 2), 0);
            }
        }
    if (st)
        add_out(g, st, CTL_FINISH, s);
}

/* Messages replica r of stage s sends to local queue i of stage d. */
static int64_t sent(const struct gen *g, int s, int r, int d, int i)
{
    if ((g->zero & (1u << d)) || total(g, s) == 0)
        return 0;
    if (s == PLAN_FILTER && d != PLAN_SINK)
        return (g->seed + (unsigned)r + 2u * (unsigned)d + (unsigned)i) % 4;
    return (g->seed + (unsigned)(s + r + i)) % 3;
}

/* The dones of stage s; the last one makes the stages in `next` ready. */
static void gen_dones(struct gen *g, int s, unsigned next)
{
    int n = g->p->replicas[s], r, d, i;

    for (r = 0; r < n; r++) {
        struct step *st = add_step(g, CTL_DONE, s, r);

        for (d = 0; d < PLAN_NSTAGES; d++) {
            if (!(plan_upstream((enum plan_stage_id)d) & (1u << s)))
                continue;
            for (i = 0; i < plan_nqueues(g->p, (enum plan_stage_id)d); i++) {
                int64_t v = sent(g, s, r, d, i);
                char q[PLAN_NAME_MAX];

                qname(g->p, d, i, q, sizeof(q));
                g->exp[d][i] += v;
                if (v > 0)
                    assert_int_equal(ctl_add(&st->in, 0, q, v), 0);
            }
        }
        if (s == PLAN_FILTER) {
            assert_int_equal(ctl_add(&st->in, 1, "transactions", r + 1), 0);
            g->rej_tx += r + 1;
        }
        if (r == n - 1)
            for (d = 0; d < PLAN_NSTAGES; d++)
                if (next & (1u << d))
                    ready(g, st, d);
    }
}

static void build_script(struct script *sc, const struct plan *p,
                         const char *sid, unsigned seed, unsigned zero)
{
    struct gen g;
    struct step *st;
    int t, k, i;

    memset(&g, 0, sizeof(g));
    g.p = p;
    g.sc = sc;
    g.seed = seed;
    g.zero = zero;
    sc->n = 0;
    snprintf(sc->sid, sizeof(sc->sid), "%s", sid);
    st = add_step(&g, CTL_SESSION_START, -1, 0);
    snprintf(st->in.reply_to, sizeof(st->in.reply_to), REPLY_TO);
    st = add_step(&g, CTL_DONE, PLAN_GATEWAY, 0);
    for (t = 0; t < PLAN_NTABLES && !(zero & (1u << PLAN_FILTER)); t++) {
        char q[PLAN_NAME_MAX];

        g.exp[PLAN_FILTER][t] = (seed * 7 + (unsigned)t * 3) % 11 + (t == 0);
        qname(p, PLAN_FILTER, t, q, sizeof(q));
        if (g.exp[PLAN_FILTER][t] > 0)
            assert_int_equal(ctl_add(&st->in, 0, q, g.exp[PLAN_FILTER][t]), 0);
    }
    ready(&g, st, PLAN_FILTER);
    gen_reports(&g, PLAN_FILTER);
    gen_dones(&g, PLAN_FILTER,
              (1u << PLAN_AGG_Q2) | (1u << PLAN_AGG_Q3) | (1u << PLAN_AGG_Q4));
    /* The aggregators finish one after the other, in an order that depends
     * on the seed; the last one to complete releases the sink. */
    for (i = 0; i < 3; i++) {
        k = PLAN_AGG_Q2 + (int)((seed + (unsigned)i) % 3);
        gen_reports(&g, k);
        gen_dones(&g, k, i == 2 ? 1u << PLAN_SINK : 0);
    }
    gen_reports(&g, PLAN_SINK);
    gen_dones(&g, PLAN_SINK, 0);
}

static void play(struct fx *f, const struct script *sc, int from, int to)
{
    int i, o;

    for (i = from; i < to && i < sc->n; i++) {
        const struct step *st = &sc->steps[i];

        feed(f, &st->in);
        assert_int_equal(f->nout, st->nout);
        for (o = 0; o < st->nout; o++) {
            expect_out(f, o, st->out[o].type, st->out[o].key, sc->sid);
            if (st->out[o].type == CTL_FINISH)
                assert_int_equal(ctl_get(&f->out[o].m, 1, "transactions"),
                                 st->out[o].rej_tx);
        }
    }
}

static void play_all(struct fx *f, const struct script *sc)
{
    play(f, sc, 0, sc->n);
    assert_int_equal(coord_stage_state(f->c, sc->sid, PLAN_SINK), -1);
    assert_true(coord_ended(f->c, sc->sid));
}

static struct script *script_new(void)
{
    struct script *sc = malloc(sizeof(*sc));

    assert_non_null(sc);
    return sc;
}

/* ------------------------------------------------------------ tests */

static void run_plan(const char *spec, unsigned seed, unsigned zero)
{
    struct fx *f = fx_new(spec);
    struct script *sc = script_new();
    struct coord_stats stats;

    build_script(sc, &f->plan, "11111111-1111-4111-8111-111111111111", seed, zero);
    play_all(f, sc);
    assert_int_equal(coord_sessions(f->c), 0);
    coord_get_stats(f->c, &stats);
    assert_int_equal(stats.started, 1);
    assert_int_equal(stats.completed, 1);
    assert_int_equal(stats.violations, 0);
    assert_int_equal(stats.ignored, 0);
    free(sc);
    fx_free(f);
}

static void test_replicas_1_to_5(void **state)
{
    static const char *const mixed[] = {
        "filter=5,agg-q2=1,agg-q3=3,agg-q4=2,sink=4",
        "filter=1,agg-q2=5,agg-q3=1,agg-q4=4,sink=1",
        "filter=2,agg-q2=4,agg-q3=5,agg-q4=3,sink=5",
        "filter=4,agg-q2=2,agg-q3=2,agg-q4=5,sink=3",
        "filter=3,agg-q2=3,agg-q3=4,agg-q4=1,sink=2",
    };
    char spec[128];
    unsigned seed;
    int r;

    (void)state;
    for (r = 1; r <= 5; r++) {
        snprintf(spec, sizeof(spec), "filter=%d,agg-q2=%d,agg-q3=%d,agg-q4=%d,sink=%d",
                 r, r, r, r, r);
        for (seed = 0; seed < 4; seed++)
            run_plan(spec, seed, 0);
    }
    for (r = 0; r < 5; r++)
        for (seed = 0; seed < 4; seed++)
            run_plan(mixed[r], seed, 0);
}

static void test_zero_expected_stage(void **state)
{
    static const unsigned zeros[] = {
        1u << PLAN_AGG_Q3,
        (1u << PLAN_AGG_Q2) | (1u << PLAN_AGG_Q4),
        1u << PLAN_SINK,
        1u << PLAN_FILTER, /* an empty session: nothing flows anywhere */
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(zeros) / sizeof(zeros[0]); i++) {
        run_plan("filter=3,agg-q2=2,agg-q3=2,agg-q4=2,sink=2", 1, zeros[i]);
        run_plan("", 2, zeros[i]);
    }
}

static void test_empty_session_emits_drain_finish_together(void **state)
{
    const char *sid = "s-empty";
    struct fx *f = fx_new("filter=2");

    (void)state;
    start(f, sid);
    done(f, sid, "gateway", 0, END);
    assert_int_equal(f->nout, 2);
    expect_out(f, 0, CTL_DRAIN, "filter", sid);
    expect_out(f, 1, CTL_FINISH, "filter", sid);
    expect_state(f, sid, PLAN_FILTER, COORD_FINISHING);
    /* A late report of nothing from a replica changes nothing. */
    report(f, sid, "filter", 1, END);
    expect_none(f);
    fx_free(f);
}

/* The upstream's done arrives while the stage still processes: reports lag
 * behind and finish waits until the sums match exactly. */
static void test_reports_lag_behind_done(void **state)
{
    const char *sid = "s-lag";
    struct fx *f = fx_new("filter=3,agg-q2=2");

    (void)state;
    start(f, sid);
    done(f, sid, "gateway", 0, "filter.transactions", 12, "filter.users", 3,
         "!users", 2, END);
    assert_int_equal(f->nout, 1);
    expect_out(f, 0, CTL_DRAIN, "filter", sid);
    expect_state(f, sid, PLAN_FILTER, COORD_DRAINING);
    report(f, sid, "filter", 0, "filter.transactions", 4, END);
    expect_none(f);
    report(f, sid, "filter", 1, "filter.transactions", 4, "filter.users", 3, END);
    expect_none(f);
    report(f, sid, "filter", 2, "filter.transactions", 3, END);
    expect_none(f);
    expect_counts(f, sid, "filter.transactions", 11, 12);
    expect_counts(f, sid, "filter.users", 3, 3);
    report(f, sid, "filter", 2, "filter.transactions", 4, END);
    assert_int_equal(f->nout, 1);
    expect_out(f, 0, CTL_FINISH, "filter", sid);
    /* finish carries the rejected rows of every complete stage */
    assert_int_equal(ctl_get(&f->out[0].m, 1, "users"), 2);
    assert_int_equal(f->out[0].m.nrejected, 1);
    expect_state(f, sid, PLAN_FILTER, COORD_FINISHING);

    /* Filter completes: the aggregators drain; agg-q2's reports lag. */
    done(f, sid, "filter", 0, "agg-q2.0", 2, "agg-q2.1", 1, "agg-q3.0", 1, END);
    expect_none(f);
    done(f, sid, "filter", 2, "agg-q2.1", 2, "!transactions", 4, END);
    expect_none(f);
    expect_state(f, sid, PLAN_AGG_Q2, COORD_WAITING);
    done(f, sid, "filter", 1, "agg-q4.0", 5, "sink.0", 7, "!transactions", 1, END);
    assert_int_equal(f->nout, 3);
    expect_out(f, 0, CTL_DRAIN, "agg-q2", sid);
    expect_out(f, 1, CTL_DRAIN, "agg-q3", sid);
    expect_out(f, 2, CTL_DRAIN, "agg-q4", sid);
    expect_state(f, sid, PLAN_FILTER, COORD_COMPLETE);
    expect_counts(f, sid, "agg-q2.1", 0, 3);
    report(f, sid, "agg-q2", 0, "agg-q2.0", 2, END);
    expect_none(f);
    report(f, sid, "agg-q2", 1, "agg-q2.1", 2, END);
    expect_none(f);
    report(f, sid, "agg-q2", 1, "agg-q2.1", 3, END);
    assert_int_equal(f->nout, 1);
    expect_out(f, 0, CTL_FINISH, "agg-q2", sid);
    assert_int_equal(ctl_get(&f->out[0].m, 1, "transactions"), 5);
    assert_int_equal(ctl_get(&f->out[0].m, 1, "users"), 2);
    assert_int_equal(coord_rejected(f->c, sid, PLAN_FILTER, PLAN_T_TRANSACTIONS), 5);
    assert_int_equal(coord_rejected(f->c, sid, PLAN_GATEWAY, PLAN_T_USERS), 2);
    fx_free(f);
}

static void test_duplicates_and_redeliveries(void **state)
{
    const char *sid = "s-dup";
    struct fx *f = fx_new("filter=2,agg-q2=2");
    struct coord_stats stats;

    (void)state;
    start(f, sid);
    start(f, sid); /* redelivered session_start */
    assert_int_equal(coord_sessions(f->c), 1);
    done(f, sid, "gateway", 0, "filter.stores", 6, END);
    assert_int_equal(f->nout, 1);
    done(f, sid, "gateway", 0, "filter.stores", 6, END);
    expect_none(f);
    expect_counts(f, sid, "filter.stores", 0, 6);

    report(f, sid, "filter", 0, "filter.stores", 3, END);
    report(f, sid, "filter", 0, "filter.stores", 3, END);
    expect_none(f);
    expect_counts(f, sid, "filter.stores", 3, 6);
    report(f, sid, "filter", 1, "filter.stores", 3, END);
    assert_int_equal(f->nout, 1);
    expect_out(f, 0, CTL_FINISH, "filter", sid);
    report(f, sid, "filter", 1, "filter.stores", 3, END);
    expect_none(f);

    done(f, sid, "filter", 0, "agg-q2.0", 4, END);
    done(f, sid, "filter", 0, "agg-q2.0", 4, END);
    expect_none(f);
    expect_state(f, sid, PLAN_FILTER, COORD_FINISHING);
    done(f, sid, "filter", 1, "agg-q2.1", 1, END);
    /* agg-q3 and agg-q4 get no input: their finish follows their drain. */
    assert_int_equal(f->nout, 5);
    expect_out(f, 0, CTL_DRAIN, "agg-q2", sid);
    expect_out(f, 1, CTL_DRAIN, "agg-q3", sid);
    expect_out(f, 2, CTL_FINISH, "agg-q3", sid);
    expect_out(f, 3, CTL_DRAIN, "agg-q4", sid);
    expect_out(f, 4, CTL_FINISH, "agg-q4", sid);
    done(f, sid, "filter", 1, "agg-q2.1", 1, END);
    expect_none(f);
    expect_counts(f, sid, "agg-q2.0", 0, 4);
    expect_counts(f, sid, "agg-q2.1", 0, 1);

    /* Redelivered dones in FINISHING do not complete the stage early. */
    report(f, sid, "agg-q2", 0, "agg-q2.0", 4, END);
    report(f, sid, "agg-q2", 1, "agg-q2.1", 1, END);
    assert_int_equal(f->nout, 1);
    expect_out(f, 0, CTL_FINISH, "agg-q2", sid);
    done(f, sid, "agg-q2", 1, END);
    done(f, sid, "agg-q2", 1, END);
    expect_state(f, sid, PLAN_AGG_Q2, COORD_FINISHING);
    done(f, sid, "agg-q2", 0, END);
    expect_state(f, sid, PLAN_AGG_Q2, COORD_COMPLETE);
    coord_get_stats(f->c, &stats);
    assert_int_equal(stats.violations, 0);
    assert_int_equal(stats.ignored, 1); /* the second session_start */
    fx_free(f);
}

static void test_reports_out_of_order(void **state)
{
    const char *sid = "s-ooo";
    struct fx *f = fx_new("filter=2");

    (void)state;
    start(f, sid);
    done(f, sid, "gateway", 0, "filter.transactions", 10, END);
    report(f, sid, "filter", 0, "filter.transactions", 7, END);
    report(f, sid, "filter", 0, "filter.transactions", 3, END); /* older */
    expect_none(f);
    expect_counts(f, sid, "filter.transactions", 7, 10);
    report(f, sid, "filter", 1, "filter.transactions", 1, END);
    report(f, sid, "filter", 1, "filter.transactions", 2, END);
    expect_none(f);
    report(f, sid, "filter", 1, "filter.transactions", 3, END);
    assert_int_equal(f->nout, 1);
    expect_out(f, 0, CTL_FINISH, "filter", sid);
    report(f, sid, "filter", 1, "filter.transactions", 2, END);
    expect_none(f);
    expect_counts(f, sid, "filter.transactions", 10, 10);
    fx_free(f);
}

/* Reports that arrive before drain (possible when the stage processes the
 * session while upstream is still streaming) count once drain is sent. */
static void test_reports_before_drain(void **state)
{
    const char *sid = "s-early";
    struct fx *f = fx_new("");

    (void)state;
    start(f, sid);
    report(f, sid, "filter", 0, "filter.users", 5, END);
    expect_none(f);
    expect_state(f, sid, PLAN_FILTER, COORD_WAITING);
    done(f, sid, "gateway", 0, "filter.users", 5, END);
    assert_int_equal(f->nout, 2);
    expect_out(f, 0, CTL_DRAIN, "filter", sid);
    expect_out(f, 1, CTL_FINISH, "filter", sid);
    fx_free(f);
}

/* A done that arrives before finish (a protocol violation) is recorded
 * but does not skip finish: the stage completes right after it. */
static void test_done_before_finish(void **state)
{
    const char *sid = "s-early-done";
    struct fx *f = fx_new("");

    (void)state;
    start(f, sid);
    done(f, sid, "gateway", 0, "filter.stores", 2, END);
    expect_out(f, 0, CTL_DRAIN, "filter", sid);
    done(f, sid, "filter", 0, "agg-q2.0", 1, END);
    expect_none(f);
    expect_state(f, sid, PLAN_FILTER, COORD_DRAINING);
    report(f, sid, "filter", 0, "filter.stores", 2, END);
    assert_int_equal(f->nout, 6);
    expect_out(f, 0, CTL_FINISH, "filter", sid);
    expect_out(f, 1, CTL_DRAIN, "agg-q2", sid);
    expect_out(f, 2, CTL_DRAIN, "agg-q3", sid);
    expect_out(f, 3, CTL_FINISH, "agg-q3", sid);
    expect_out(f, 4, CTL_DRAIN, "agg-q4", sid);
    expect_out(f, 5, CTL_FINISH, "agg-q4", sid);
    expect_state(f, sid, PLAN_FILTER, COORD_COMPLETE);
    fx_free(f);
}

static void test_interleaved_sessions(void **state)
{
    const char *spec = "filter=3,agg-q2=2,agg-q3=3,agg-q4=1,sink=2";
    struct fx *f = fx_new(spec);
    struct script *a = script_new(), *b = script_new();
    const char *sa = "aaaaaaaa-0000-4000-8000-000000000001";
    const char *sb = "bbbbbbbb-0000-4000-8000-000000000002";
    int ia = 0, ib = 0;

    (void)state;
    build_script(a, &f->plan, sa, 3, 0);
    build_script(b, &f->plan, sb, 5, 0);
    /* Step by step, alternating. */
    while (ia < a->n / 2 || ib < b->n / 2) {
        if (ia < a->n / 2) {
            play(f, a, ia, ia + 1);
            ia++;
        }
        if (ib < b->n / 2) {
            play(f, b, ib, ib + 1);
            ib++;
        }
    }
    assert_int_equal(coord_sessions(f->c), 2);
    /* A finishes while B still streams. */
    play(f, a, ia, a->n);
    assert_true(coord_ended(f->c, sa));
    assert_false(coord_ended(f->c, sb));
    assert_int_equal(coord_sessions(f->c), 1);
    assert_true(coord_stage_state(f->c, sb, PLAN_SINK) == COORD_WAITING);
    play(f, b, ib, b->n);
    assert_true(coord_ended(f->c, sb));
    assert_int_equal(coord_sessions(f->c), 0);
    free(a);
    free(b);
    fx_free(f);
}

static void test_abort_midway(void **state)
{
    const char *sid = "s-abort", *other = "s-other";
    struct fx *f = fx_new("filter=2,agg-q2=2");
    struct coord_stats stats;

    (void)state;
    start(f, sid);
    start(f, other);
    done(f, sid, "gateway", 0, "filter.transactions", 2, END);
    report(f, sid, "filter", 0, "filter.transactions", 2, END);
    expect_out(f, 0, CTL_FINISH, "filter", sid);
    done(f, sid, "filter", 0, "agg-q2.0", 1, END);

    simple(f, CTL_ABORT, sid, END);
    assert_int_equal(f->nout, 1);
    expect_out(f, 0, CTL_ABORT, "all", sid);
    assert_int_equal(coord_sessions(f->c), 1);
    assert_int_equal(coord_stage_state(f->c, sid, PLAN_FILTER), -1);
    assert_true(coord_ended(f->c, sid));

    /* Late messages are ignored and do not resurrect the session. */
    done(f, sid, "filter", 1, "agg-q2.1", 1, END);
    expect_none(f);
    report(f, sid, "agg-q2", 0, "agg-q2.0", 1, END);
    expect_none(f);
    start(f, sid);
    simple(f, CTL_ABORT, sid, END);
    expect_none(f);
    assert_int_equal(coord_sessions(f->c), 1);
    assert_int_equal(coord_stage_state(f->c, sid, PLAN_FILTER), -1);
    /* The other session is untouched. */
    expect_state(f, other, PLAN_FILTER, COORD_WAITING);
    coord_get_stats(f->c, &stats);
    assert_int_equal(stats.aborted, 1);
    assert_int_equal(stats.ignored, 4);
    fx_free(f);
}

static void test_abort_reason_and_unknown_session(void **state)
{
    struct fx *f = fx_new("");
    struct ctl_msg m;

    (void)state;
    ctl_init(&m, CTL_ABORT, "s-never");
    snprintf(m.reason, sizeof(m.reason), "client vanished");
    feed(f, &m);
    assert_int_equal(f->nout, 1);
    expect_out(f, 0, CTL_ABORT, "all", "s-never");
    assert_string_equal(f->out[0].m.reason, "client vanished");
    assert_true(coord_ended(f->c, "s-never"));
    feed(f, &m);
    expect_none(f);
    fx_free(f);
}

static void test_processed_more_than_expected(void **state)
{
    const char *sid = "s-over";
    struct fx *f = fx_new("filter=2");
    struct coord_stats stats;

    (void)state;
    start(f, sid);
    done(f, sid, "gateway", 0, "filter.menu_items", 5, END);
    report(f, sid, "filter", 0, "filter.menu_items", 4, END);
    report(f, sid, "filter", 1, "filter.menu_items", 3, END);
    expect_none(f);
    coord_get_stats(f->c, &stats);
    assert_int_equal(stats.violations, 1);
    expect_state(f, sid, PLAN_FILTER, COORD_DRAINING);
    expect_counts(f, sid, "filter.menu_items", 7, 5);
    fx_free(f);
}

/* More processed than expected already before drain: flagged on drain. */
static void test_violation_detected_on_drain(void **state)
{
    const char *sid = "s-over2";
    struct fx *f = fx_new("");
    struct coord_stats stats;

    (void)state;
    start(f, sid);
    report(f, sid, "filter", 0, "filter.users", 9, END);
    coord_get_stats(f->c, &stats);
    assert_int_equal(stats.violations, 0);
    done(f, sid, "gateway", 0, "filter.users", 8, END);
    assert_int_equal(f->nout, 1);
    expect_out(f, 0, CTL_DRAIN, "filter", sid);
    coord_get_stats(f->c, &stats);
    assert_int_equal(stats.violations, 1);
    fx_free(f);
}

static void test_shutdown(void **state)
{
    struct fx *f = fx_new("");

    (void)state;
    assert_false(coord_stopping(f->c));
    start(f, "s-left");
    simple(f, CTL_SHUTDOWN, NULL, END);
    assert_int_equal(f->nout, 1);
    expect_out(f, 0, CTL_SHUTDOWN, "all", NULL);
    assert_true(coord_stopping(f->c));
    fx_free(f);
}

/* A shutdown published before this coordinator started (left in the durable
 * queue by an earlier run) is ignored; a current one is obeyed. */
static void test_stale_shutdown_ignored(void **state)
{
    struct fx *f = fx_new("");
    struct ctl_msg m;
    int rc;

    (void)state;
    ctl_init(&m, CTL_SHUTDOWN, NULL);
    m.ts_ms = clock_wall_ms() - 60000;
    f->nout = 0;
    rc = coord_handle(f->c, &m, record, f);
    assert_int_equal(rc, 0);
    assert_int_equal(f->nout, 0);
    assert_false(coord_stopping(f->c));
    m.ts_ms = clock_wall_ms() + 1000;
    rc = coord_handle(f->c, &m, record, f);
    assert_int_equal(rc, 0);
    expect_out(f, 0, CTL_SHUTDOWN, "all", NULL);
    assert_true(coord_stopping(f->c));
    fx_free(f);
}

static void test_unknown_session_and_bad_fields(void **state)
{
    const char *sid = "s-bad";
    struct fx *f = fx_new("filter=2,sink=2");
    struct coord_stats stats;

    (void)state;
    done(f, "s-unknown", "gateway", 0, "filter.users", 1, END);
    report(f, "s-unknown", "filter", 0, "filter.users", 1, END);
    expect_none(f);
    assert_int_equal(coord_sessions(f->c), 0);
    assert_false(coord_ended(f->c, "s-unknown"));

    start(f, sid);
    done(f, sid, "nosuch", 0, END);
    done(f, sid, "filter", 2, END); /* replica out of range */
    done(f, sid, "gateway", 1, END);
    expect_none(f);
    /* Counts for queues the sender does not feed, or that do not exist,
     * are dropped; the valid ones still count. */
    done(f, sid, "gateway", 0, "filter.transactions", 2, "agg-q2.0", 5,
         "filter.nosuch", 1, "sink.2", 1, "bogus", 1, "filter.users", -1, END);
    assert_int_equal(f->nout, 1);
    expect_out(f, 0, CTL_DRAIN, "filter", sid);
    assert_int_equal(coord_queue_counts(f->c, sid, "sink.2", &(int64_t){0},
                                        &(int64_t){0}), -1);
    expect_counts(f, sid, "filter.transactions", 0, 2);
    expect_counts(f, sid, "filter.users", 0, 0);
    expect_counts(f, sid, "agg-q2.0", 0, 0);
    /* Negative counts and reports about another stage's queue are dropped. */
    report(f, sid, "filter", 0, "filter.transactions", -3, END);
    expect_none(f);
    expect_counts(f, sid, "filter.transactions", 0, 2);
    report(f, sid, "filter", 0, "agg-q2.0", 5, "filter.transactions", 2, END);
    assert_int_equal(f->nout, 1);
    expect_out(f, 0, CTL_FINISH, "filter", sid);
    expect_counts(f, sid, "agg-q2.0", 0, 0);
    /* Types the coordinator only sends are ignored. */
    simple(f, CTL_DRAIN, sid, END);
    simple(f, CTL_END, sid, END);
    expect_none(f);
    coord_get_stats(f->c, &stats);
    assert_int_equal(stats.ignored, 7);
    fx_free(f);
}

static void test_tombstones_are_bounded(void **state)
{
    struct fx *f = fx_new("");
    char sid[40];
    int i;

    (void)state;
    for (i = 0; i < COORD_TOMBSTONES + 10; i++) {
        snprintf(sid, sizeof(sid), "s-%d", i);
        start(f, sid);
        simple(f, CTL_ABORT, sid, END);
        assert_int_equal(f->nout, 1);
    }
    assert_int_equal(coord_sessions(f->c), 0);
    assert_false(coord_ended(f->c, "s-0"));
    assert_false(coord_ended(f->c, "s-9"));
    assert_true(coord_ended(f->c, "s-10"));
    snprintf(sid, sizeof(sid), "s-%d", COORD_TOMBSTONES + 9);
    assert_true(coord_ended(f->c, sid));
    /* A forgotten session still is not resurrected by a late done. */
    done(f, "s-0", "gateway", 0, "filter.users", 1, END);
    expect_none(f);
    assert_int_equal(coord_sessions(f->c), 0);
    fx_free(f);
}

static void test_resend_silent_stage(void **state)
{
    const char *sid = "s-resend";
    struct fx *f = fx_new("filter=2");
    struct coord_stats stats;

    (void)state;
    start(f, sid);
    f->nout = 0;
    assert_int_equal(coord_tick(f->c, record, f), 0); /* disabled */
    coord_set_resend(f->c, 1000);
    done(f, sid, "gateway", 0, "filter.users", 4, END);
    expect_out(f, 0, CTL_DRAIN, "filter", sid);

    f->nout = 0;
    f->now += 999;
    assert_int_equal(coord_tick(f->c, record, f), 0);
    expect_none(f);
    f->now += 1;
    assert_int_equal(coord_tick(f->c, record, f), 0);
    assert_int_equal(f->nout, 1);
    expect_out(f, 0, CTL_DRAIN, "filter", sid);

    /* Progress resets the timer. */
    f->now += 900;
    report(f, sid, "filter", 0, "filter.users", 2, END);
    f->now += 900;
    assert_int_equal(coord_tick(f->c, record, f), 0);
    expect_none(f);
    report(f, sid, "filter", 1, "filter.users", 2, END);
    expect_out(f, 0, CTL_FINISH, "filter", sid);
    done(f, sid, "filter", 0, END);
    f->nout = 0;
    f->now += 1000;
    assert_int_equal(coord_tick(f->c, record, f), 0);
    assert_int_equal(f->nout, 1);
    expect_out(f, 0, CTL_FINISH, "filter", sid);
    coord_get_stats(f->c, &stats);
    assert_int_equal(stats.resent, 2);
    fx_free(f);
}

static void test_emit_failure(void **state)
{
    const char *sid = "s-fail";
    struct fx *f = fx_new("");
    struct ctl_msg m;

    (void)state;
    start(f, sid);
    ctl_init(&m, CTL_DONE, sid);
    snprintf(m.stage, sizeof(m.stage), "gateway");
    f->fail_emit = 1;
    f->nout = 0;
    f->ncalls = 0;
    /* drain then finish are due; the first emit fails, the second is skipped. */
    assert_int_equal(coord_handle(f->c, &m, record, f), COORD_ERR_EMIT);
    assert_int_equal(f->ncalls, 1);
    fx_free(f);
}

/* One log line per step, in the documented shape. */
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
    assert_non_null(strstr(buf, "eof session=s-log stage=filter drain"));
    assert_non_null(strstr(buf, "eof session=s-log stage=filter queue=filter.transactions "
                                "processed=8/8 replicas=1/1 released"));
    assert_non_null(strstr(buf, "eof session=s-log stage=agg-q2 finish"));
    assert_non_null(strstr(buf, "eof session=s-log stage=sink complete elapsed_ms="));
    assert_non_null(strstr(buf, "eof session=s-log end elapsed_ms="));
    close(fd);
    close(saved);
    unlink(path);
    free(sc);
    fx_free(f);
}

static void test_destroy_null_and_state_names(void **state)
{
    (void)state;
    coord_destroy(NULL);
    assert_string_equal(coord_state_name(COORD_WAITING), "waiting");
    assert_string_equal(coord_state_name(COORD_COMPLETE), "complete");
    assert_string_equal(coord_state_name(7), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replicas_1_to_5),
        cmocka_unit_test(test_zero_expected_stage),
        cmocka_unit_test(test_empty_session_emits_drain_finish_together),
        cmocka_unit_test(test_reports_lag_behind_done),
        cmocka_unit_test(test_duplicates_and_redeliveries),
        cmocka_unit_test(test_reports_out_of_order),
        cmocka_unit_test(test_reports_before_drain),
        cmocka_unit_test(test_done_before_finish),
        cmocka_unit_test(test_interleaved_sessions),
        cmocka_unit_test(test_abort_midway),
        cmocka_unit_test(test_abort_reason_and_unknown_session),
        cmocka_unit_test(test_processed_more_than_expected),
        cmocka_unit_test(test_violation_detected_on_drain),
        cmocka_unit_test(test_shutdown),
        cmocka_unit_test(test_stale_shutdown_ignored),
        cmocka_unit_test(test_unknown_session_and_bad_fields),
        cmocka_unit_test(test_tombstones_are_bounded),
        cmocka_unit_test(test_resend_silent_stage),
        cmocka_unit_test(test_emit_failure),
        cmocka_unit_test(test_log_lines),
        cmocka_unit_test(test_destroy_null_and_state_names),
    };

    /* Quiet by default; LOG_LEVEL=info shows the coordinator's lines. */
    if (log_init("test_coord") != 0 || getenv("LOG_LEVEL") == NULL)
        log_set_level(LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
