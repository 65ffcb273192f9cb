/*
 * coord.c - the end-of-stream state machine (see coord.h).
 *
 * Every input queue of every stage gets a global index at creation (filter
 * tables first, then the shards of each sharded stage), so a session holds
 * its counts in flat arrays: expected[q], reporters[q] (bit mask of the
 * replicas that reported q) and processed[q][replica]. Sessions live in a
 * chained hash map keyed by their id; ended ids go to a ring of tombstones.
 */
#include "coord.h"
#include "clock.h"

#include "ctl.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Static_assert(PLAN_MAX_REPLICAS < 64, "replica masks are 64 bits");

#define BIT(i) (UINT64_C(1) << (i))
#define ALL_REPLICAS(n) (BIT(n) - 1)
#define SESSION_ID_MAX sizeof(((struct ctl_msg *)0)->session)
#define REPLY_TO_MAX sizeof(((struct ctl_msg *)0)->reply_to)
#define INITIAL_BUCKETS 64
/* Largest count accepted (exact in a JSON double); sums of a few thousand
 * of them cannot overflow int64_t. */
#define COUNT_MAX (INT64_C(1) << 53)

struct stage_st {
    enum coord_state state;
    uint64_t done;     /* replicas whose done arrived */
    uint64_t since_ms; /* state entry or last progress: the resend timer */
    int64_t rejected[PLAN_NTABLES];
};

struct session {
    struct session *next; /* hash chain */
    char id[SESSION_ID_MAX];
    char reply_to[REPLY_TO_MAX];
    uint64_t start_ms;
    struct stage_st st[PLAN_NSTAGES];
    int64_t *expected;   /* [nq] */
    uint64_t *reporters; /* [nq] */
    int64_t *processed;  /* [nproc]: pbase[stage] + local * replicas + r */
};

struct coord {
    struct plan plan;
    int64_t started_ms; /* wall clock at creation: older shutdowns are stale */
    int qbase[PLAN_NSTAGES]; /* global index of a stage's first queue */
    int pbase[PLAN_NSTAGES]; /* first processed[] slot of a stage */
    int nq, nproc;
    char (*qname)[PLAN_NAME_MAX]; /* [nq] */
    uint8_t *qstage;              /* [nq] */

    struct session **buckets;
    size_t nbuckets, nsessions;

    char (*tomb)[SESSION_ID_MAX]; /* ring of COORD_TOMBSTONES */
    size_t ntomb, tomb_next;

    coord_clock_fn clock;
    void *clock_arg;
    uint64_t resend_ms;
    bool stopping;
    struct coord_stats stats;

    /* The emit callback of the current coord_handle()/coord_tick() call. */
    coord_emit_fn emit_fn;
    void *emit_arg;
    bool emit_failed;
};

static uint64_t monotonic_ms(void *arg)
{
    (void)arg;
    return (uint64_t)clock_mono_ms();
}

static uint64_t now_ms(const struct coord *c)
{
    return c->clock(c->clock_arg);
}

static const char *stage_name(int s)
{
    return plan_stage_name((enum plan_stage_id)s);
}

/* ------------------------------------------------------------ lifecycle */

static void layout(struct coord *c)
{
    int s, i;

    c->nq = 0;
    c->nproc = 0;
    for (s = 0; s < PLAN_NSTAGES; s++) {
        int nq = plan_nqueues(&c->plan, (enum plan_stage_id)s);

        c->qbase[s] = c->nq;
        c->pbase[s] = c->nproc;
        c->nq += nq;
        c->nproc += nq * c->plan.replicas[s];
    }
    for (s = 0; s < PLAN_NSTAGES; s++)
        for (i = 0; i < plan_nqueues(&c->plan, (enum plan_stage_id)s); i++) {
            char key[PLAN_NAME_MAX];
            int q = c->qbase[s] + i;

            plan_queue_key(&c->plan, (enum plan_stage_id)s, i, key, sizeof(key));
            plan_queue((enum plan_stage_id)s, key, c->qname[q], sizeof(c->qname[q]));
            c->qstage[q] = (uint8_t)s;
        }
}

struct coord *coord_create(const struct plan *p)
{
    struct coord *c = calloc(1, sizeof(*c));
    int s, nq = 0;

    if (c == NULL)
        return NULL;
    c->plan = *p;
    c->started_ms = clock_wall_ms();
    for (s = 0; s < PLAN_NSTAGES; s++)
        nq += plan_nqueues(p, (enum plan_stage_id)s);
    c->qname = calloc((size_t)nq, sizeof(*c->qname));
    c->qstage = calloc((size_t)nq, sizeof(*c->qstage));
    c->buckets = calloc(INITIAL_BUCKETS, sizeof(*c->buckets));
    c->tomb = calloc(COORD_TOMBSTONES, sizeof(*c->tomb));
    if (c->qname == NULL || c->qstage == NULL || c->buckets == NULL ||
        c->tomb == NULL) {
        coord_destroy(c);
        return NULL;
    }
    c->nbuckets = INITIAL_BUCKETS;
    c->clock = monotonic_ms;
    layout(c);
    return c;
}

void coord_destroy(struct coord *c)
{
    size_t b;

    if (c == NULL)
        return;
    for (b = 0; c->buckets && b < c->nbuckets; b++) {
        struct session *ss = c->buckets[b], *next;

        for (; ss; ss = next) {
            next = ss->next;
            free(ss);
        }
    }
    free(c->buckets);
    free(c->tomb);
    free(c->qname);
    free(c->qstage);
    free(c);
}

void coord_set_clock(struct coord *c, coord_clock_fn fn, void *arg)
{
    c->clock = fn ? fn : monotonic_ms;
    c->clock_arg = arg;
}

void coord_set_resend(struct coord *c, uint64_t ms)
{
    c->resend_ms = ms;
}

bool coord_stopping(const struct coord *c)
{
    return c->stopping;
}

/* ------------------------------------------------- sessions, tombstones */

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

static struct session *find(const struct coord *c, const char *id)
{
    return *find_link(c, id);
}

/* Doubles the bucket array; on allocation failure the map stays as it is
 * (longer chains, still correct). */
static void grow(struct coord *c)
{
    size_t n = c->nbuckets * 2, b;
    struct session **nb = calloc(n, sizeof(*nb));

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

static struct session *session_new(struct coord *c, const struct ctl_msg *in)
{
    size_t counts = (size_t)(2 * c->nq + c->nproc) * sizeof(int64_t);
    struct session *ss = calloc(1, sizeof(*ss) + counts);
    struct session **link;
    int s;

    if (ss == NULL)
        return NULL;
    ss->expected = (int64_t *)(void *)(ss + 1);
    ss->reporters = (uint64_t *)(void *)(ss->expected + c->nq);
    ss->processed = (int64_t *)(void *)(ss->reporters + c->nq);
    snprintf(ss->id, sizeof(ss->id), "%s", in->session);
    snprintf(ss->reply_to, sizeof(ss->reply_to), "%s", in->reply_to);
    ss->start_ms = now_ms(c);
    for (s = 0; s < PLAN_NSTAGES; s++) {
        ss->st[s].state = COORD_WAITING;
        ss->st[s].since_ms = ss->start_ms;
    }
    if (c->nsessions >= c->nbuckets)
        grow(c);
    link = find_link(c, ss->id);
    ss->next = NULL;
    *link = ss;
    c->nsessions++;
    return ss;
}

static bool tombstoned(const struct coord *c, const char *id)
{
    size_t i;

    for (i = 0; i < c->ntomb; i++)
        if (strcmp(c->tomb[i], id) == 0)
            return true;
    return false;
}

static void tombstone(struct coord *c, const char *id)
{
    if (tombstoned(c, id))
        return;
    snprintf(c->tomb[c->tomb_next], sizeof(c->tomb[0]), "%s", id);
    c->tomb_next = (c->tomb_next + 1) % COORD_TOMBSTONES;
    if (c->ntomb < COORD_TOMBSTONES)
        c->ntomb++;
}

/* Unlinks and frees ss, remembering its id. */
static void session_drop(struct coord *c, struct session *ss)
{
    struct session **link = find_link(c, ss->id);

    *link = ss->next;
    c->nsessions--;
    tombstone(c, ss->id);
    free(ss);
}

bool coord_ended(const struct coord *c, const char *session)
{
    return tombstoned(c, session);
}

/* ------------------------------------------------------------ queues */

/* Global index of queue `name` ("<stage>.<key>"), or -1. */
static int queue_index(const struct coord *c, const char *name)
{
    const char *dot = strchr(name, '.');
    char sname[PLAN_NAME_MAX], *end;
    int s, local;

    if (dot == NULL || (size_t)(dot - name) >= sizeof(sname))
        return -1;
    memcpy(sname, name, (size_t)(dot - name));
    sname[dot - name] = '\0';
    s = plan_stage_by_name(sname);
    if (s <= PLAN_GATEWAY)
        return -1;
    if (plan_stage_sharded((enum plan_stage_id)s)) {
        long v;

        if (dot[1] < '0' || dot[1] > '9')
            return -1;
        v = strtol(dot + 1, &end, 10);
        if (*end != '\0' || v >= c->plan.replicas[s])
            return -1;
        local = (int)v;
    } else {
        local = plan_table_by_name(dot + 1);
        if (local < 0)
            return -1;
    }
    return c->qbase[s] + local;
}

static int64_t *processed_slot(const struct coord *c, struct session *ss, int q,
                               int replica)
{
    int s = c->qstage[q];

    return &ss->processed[c->pbase[s] + (q - c->qbase[s]) * c->plan.replicas[s] +
                          replica];
}

static int64_t processed_sum(const struct coord *c, struct session *ss, int q)
{
    int s = c->qstage[q], r;
    int64_t sum = 0;

    for (r = 0; r < c->plan.replicas[s]; r++)
        sum += *processed_slot(c, ss, q, r);
    return sum;
}

static int popcount64(uint64_t x)
{
    int n = 0;

    for (; x; x &= x - 1)
        n++;
    return n;
}

static void check_violation(struct coord *c, struct session *ss, int q)
{
    int64_t sum = processed_sum(c, ss, q);

    if (sum <= ss->expected[q])
        return;
    c->stats.violations++;
    log_error("eof session=%s stage=%s queue=%s processed=%" PRId64
              "/%" PRId64 " violation: processed more than the producers sent",
              ss->id, stage_name(c->qstage[q]), c->qname[q], sum, ss->expected[q]);
}

/* ------------------------------------------------------------ emitting */

static void emit(struct coord *c, const char *key, const struct ctl_msg *m)
{
    if (c->emit_failed)
        return;
    if (c->emit_fn(c->emit_arg, key, m) != 0)
        c->emit_failed = true;
}

static void send_drain(struct coord *c, struct session *ss, int s)
{
    struct ctl_msg m;

    ctl_init(&m, CTL_DRAIN, ss->id);
    emit(c, stage_name(s), &m);
}

/* finish carries the rejected rows of every stage complete so far (only the
 * gateway and the filter reject rows), for the sink's end message. */
static void send_finish(struct coord *c, struct session *ss, int s)
{
    struct ctl_msg m;
    int t, u;

    ctl_init(&m, CTL_FINISH, ss->id);
    snprintf(m.reply_to, sizeof(m.reply_to), "%s", ss->reply_to);
    for (t = 0; t < PLAN_NTABLES; t++) {
        int64_t n = 0;

        for (u = 0; u < PLAN_NSTAGES; u++)
            if (ss->st[u].state == COORD_COMPLETE)
                n += ss->st[u].rejected[t];
        if (n != 0 && ctl_add(&m, 1, plan_table_name((enum plan_table)t), n) != 0)
            log_error("eof session=%s rejected counts do not fit", ss->id);
    }
    emit(c, stage_name(s), &m);
}

/* ------------------------------------------------------------ evaluation */

static bool upstream_complete(const struct session *ss, int s)
{
    unsigned up = plan_upstream((enum plan_stage_id)s);
    int u;

    for (u = 0; u < PLAN_NSTAGES; u++)
        if ((up & (1u << u)) && ss->st[u].state != COORD_COMPLETE)
            return false;
    return true;
}

static bool balanced(const struct coord *c, struct session *ss, int s)
{
    int q;

    for (q = c->qbase[s]; q < c->qbase[s] + plan_nqueues(&c->plan, (enum plan_stage_id)s); q++)
        if (processed_sum(c, ss, q) != ss->expected[q])
            return false;
    return true;
}

static void enter_draining(struct coord *c, struct session *ss, int s)
{
    int nq = plan_nqueues(&c->plan, (enum plan_stage_id)s), q;
    int64_t total = 0;

    for (q = c->qbase[s]; q < c->qbase[s] + nq; q++) {
        total += ss->expected[q];
        check_violation(c, ss, q);
    }
    ss->st[s].state = COORD_DRAINING;
    ss->st[s].since_ms = now_ms(c);
    log_info("eof session=%s stage=%s drain expected=%" PRId64 " queues=%d",
             ss->id, stage_name(s), total, nq);
    send_drain(c, ss, s);
}

static void enter_finishing(struct coord *c, struct session *ss, int s)
{
    int nq = plan_nqueues(&c->plan, (enum plan_stage_id)s), q;
    int n = c->plan.replicas[s];

    /* Queues nothing was sent to are only worth a debug line. */
    for (q = c->qbase[s]; q < c->qbase[s] + nq; q++)
        log_at(ss->expected[q] ? LOG_INFO : LOG_DEBUG,
               "eof session=%s stage=%s queue=%s processed=%" PRId64 "/%" PRId64
               " replicas=%d/%d released",
               ss->id, stage_name(s), c->qname[q], processed_sum(c, ss, q),
               ss->expected[q], popcount64(ss->reporters[q]), n);
    ss->st[s].state = COORD_FINISHING;
    ss->st[s].since_ms = now_ms(c);
    log_info("eof session=%s stage=%s finish replicas=%d", ss->id, stage_name(s), n);
    send_finish(c, ss, s);
}

static void enter_complete(struct coord *c, struct session *ss, int s)
{
    ss->st[s].state = COORD_COMPLETE;
    log_info("eof session=%s stage=%s complete elapsed_ms=%" PRIu64, ss->id,
             stage_name(s), now_ms(c) - ss->start_ms);
}

/* Advances every stage as far as it goes; stages are in topological order,
 * so one pass suffices. Frees ss when the session is over. */
static void evaluate(struct coord *c, struct session *ss)
{
    int s;

    for (s = 0; s < PLAN_NSTAGES; s++) {
        struct stage_st *st = &ss->st[s];
        bool all_done = st->done == ALL_REPLICAS(c->plan.replicas[s]);

        if (s == PLAN_GATEWAY) {
            if (st->state != COORD_COMPLETE && all_done)
                enter_complete(c, ss, s);
            continue;
        }
        if (st->state == COORD_WAITING && upstream_complete(ss, s))
            enter_draining(c, ss, s);
        if (st->state == COORD_DRAINING && balanced(c, ss, s))
            enter_finishing(c, ss, s);
        if (st->state == COORD_FINISHING && all_done)
            enter_complete(c, ss, s);
    }
    if (ss->st[PLAN_SINK].state == COORD_COMPLETE) {
        log_info("eof session=%s end elapsed_ms=%" PRIu64 " sessions=%zu",
                 ss->id, now_ms(c) - ss->start_ms, c->nsessions - 1);
        c->stats.completed++;
        session_drop(c, ss);
    }
}

/* ------------------------------------------------------------ handlers */

/* The active session a done/report refers to, or NULL (logged). */
static struct session *live_session(struct coord *c, const struct ctl_msg *in)
{
    struct session *ss = find(c, in->session);

    if (ss)
        return ss;
    c->stats.ignored++;
    if (tombstoned(c, in->session))
        log_info("eof session=%s stage=%s replica=%d late %s for an ended "
                 "session ignored", in->session, in->stage, in->replica,
                 ctl_type_name(in->type));
    else
        log_warn("eof session=%s stage=%s replica=%d %s for an unknown "
                 "session ignored", in->session, in->stage, in->replica,
                 ctl_type_name(in->type));
    return NULL;
}

/* Stage of a done/report, or -1 (logged) when stage or replica is invalid. */
static int sender_stage(struct coord *c, const struct ctl_msg *in)
{
    int s = plan_stage_by_name(in->stage);

    if (s < 0 || in->replica < 0 || in->replica >= c->plan.replicas[s]) {
        c->stats.ignored++;
        log_warn("eof session=%s %s from stage='%s' replica=%d ignored: no such "
                 "replica", in->session, ctl_type_name(in->type), in->stage,
                 in->replica);
        return -1;
    }
    return s;
}

static int on_start(struct coord *c, const struct ctl_msg *in)
{
    struct session *ss;

    if (find(c, in->session) || tombstoned(c, in->session)) {
        c->stats.ignored++;
        log_info("eof session=%s duplicate session_start ignored", in->session);
        return 0;
    }
    ss = session_new(c, in);
    if (ss == NULL)
        return COORD_ERR_NOMEM;
    c->stats.started++;
    if (ss->reply_to[0] == '\0')
        log_warn("eof session=%s session_start without reply_to", ss->id);
    log_info("eof session=%s start reply_to=%s sessions=%zu", ss->id,
             ss->reply_to, c->nsessions);
    return 0;
}

/* Adds the counts of a first done of stage s to the expected counts of the
 * queues it feeds; returns the total. */
static int64_t add_sent(struct coord *c, struct session *ss, int s,
                        const struct ctl_msg *in)
{
    int64_t total = 0;
    int i, t;

    for (i = 0; i < in->ncounts; i++) {
        const struct ctl_count *k = &in->counts[i];
        int q = queue_index(c, k->name);

        if (q < 0 || !(plan_upstream((enum plan_stage_id)c->qstage[q]) & (1u << s)) ||
            k->n < 0 || k->n > COUNT_MAX) {
            if (s != PLAN_SINK) /* the sink's counts are informational */
                log_warn("eof session=%s stage=%s replica=%d done count %s=%" PRId64
                         " ignored: not an input queue it feeds",
                         ss->id, stage_name(s), in->replica, k->name, k->n);
            continue;
        }
        ss->expected[q] += k->n;
        total += k->n;
    }
    for (i = 0; i < in->nrejected; i++) {
        t = plan_table_by_name(in->rejected[i].name);
        if (t < 0)
            log_warn("eof session=%s stage=%s rejected count for unknown table "
                     "'%s' ignored", ss->id, stage_name(s), in->rejected[i].name);
        else
            ss->st[s].rejected[t] += in->rejected[i].n;
    }
    return total;
}

static int on_done(struct coord *c, const struct ctl_msg *in)
{
    struct session *ss = live_session(c, in);
    struct stage_st *st;
    int64_t sent;
    int s;

    if (ss == NULL || (s = sender_stage(c, in)) < 0)
        return 0;
    st = &ss->st[s];
    if (st->done & BIT(in->replica)) {
        log_info("eof session=%s stage=%s replica=%d duplicate done ignored",
                 ss->id, stage_name(s), in->replica);
        return 0;
    }
    if (s != PLAN_GATEWAY && st->state != COORD_FINISHING)
        log_warn("eof session=%s stage=%s replica=%d done before finish "
                 "(state=%s)", ss->id, stage_name(s), in->replica,
                 coord_state_name((int)st->state));
    st->done |= BIT(in->replica);
    st->since_ms = now_ms(c);
    sent = add_sent(c, ss, s, in);
    log_info("eof session=%s stage=%s replica=%d done sent=%" PRId64
             " replicas=%d/%d", ss->id, stage_name(s), in->replica, sent,
             popcount64(st->done), c->plan.replicas[s]);
    evaluate(c, ss);
    return 0;
}

static int on_report(struct coord *c, const struct ctl_msg *in)
{
    struct session *ss = live_session(c, in);
    int s, i;

    if (ss == NULL || (s = sender_stage(c, in)) < 0)
        return 0;
    for (i = 0; i < in->ncounts; i++) {
        const struct ctl_count *k = &in->counts[i];
        int q = queue_index(c, k->name);
        int64_t *slot;

        if (q < 0 || c->qstage[q] != s || k->n < 0 || k->n > COUNT_MAX) {
            log_warn("eof session=%s stage=%s replica=%d report %s=%" PRId64
                     " ignored: not an input of the stage, or a bad count",
                     ss->id, in->stage, in->replica, k->name, k->n);
            continue;
        }
        ss->reporters[q] |= BIT(in->replica);
        slot = processed_slot(c, ss, q, in->replica);
        if (k->n <= *slot)
            continue; /* duplicate or older report */
        *slot = k->n;
        ss->st[s].since_ms = now_ms(c);
        log_debug("eof session=%s stage=%s replica=%d queue=%s processed=%" PRId64
                  "/%" PRId64, ss->id, in->stage, in->replica, k->name,
                  processed_sum(c, ss, q), ss->expected[q]);
        if (ss->st[s].state != COORD_WAITING)
            check_violation(c, ss, q);
    }
    evaluate(c, ss);
    return 0;
}

static int on_abort(struct coord *c, const struct ctl_msg *in)
{
    struct session *ss = find(c, in->session);
    struct ctl_msg m;

    if (ss == NULL && tombstoned(c, in->session)) {
        c->stats.ignored++;
        log_info("eof session=%s abort for an ended session ignored", in->session);
        return 0;
    }
    /* Broadcast even for an unknown session: replicas may hold its state. */
    ctl_init(&m, CTL_ABORT, in->session);
    snprintf(m.reason, sizeof(m.reason), "%s", in->reason);
    log_info("eof session=%s abort reason='%s' known=%s", in->session,
             in->reason, ss ? "yes" : "no");
    emit(c, PLAN_CONTROL_ALL, &m);
    if (ss) {
        c->stats.aborted++;
        session_drop(c, ss);
    } else {
        tombstone(c, in->session);
    }
    return 0;
}

static int on_shutdown(struct coord *c, const struct ctl_msg *in)
{
    struct ctl_msg m;

    /* The coordinator queue is durable: a shutdown published for an earlier
     * run of the deployment must not stop this one. */
    if (in->ts_ms > 0 && in->ts_ms < c->started_ms) {
        c->stats.ignored++;
        log_info("eof shutdown from before this coordinator started ignored "
                 "age_ms=%lld", (long long)(c->started_ms - in->ts_ms));
        return 0;
    }
    if (c->nsessions > 0)
        log_warn("eof shutdown with %zu active sessions", c->nsessions);
    else
        log_info("eof shutdown");
    ctl_init(&m, CTL_SHUTDOWN, NULL);
    emit(c, PLAN_CONTROL_ALL, &m);
    c->stopping = true;
    return 0;
}

int coord_handle(struct coord *c, const struct ctl_msg *in, coord_emit_fn fn,
                 void *arg)
{
    int rc = 0;

    c->emit_fn = fn;
    c->emit_arg = arg;
    c->emit_failed = false;
    switch (in->type) {
    case CTL_SESSION_START:
        rc = on_start(c, in);
        break;
    case CTL_DONE:
        rc = on_done(c, in);
        break;
    case CTL_REPORT:
        rc = on_report(c, in);
        break;
    case CTL_ABORT:
        rc = on_abort(c, in);
        break;
    case CTL_SHUTDOWN:
        rc = on_shutdown(c, in);
        break;
    default:
        c->stats.ignored++;
        log_warn("eof session=%s unexpected %s at the coordinator ignored",
                 in->session, ctl_type_name(in->type));
        break;
    }
    if (rc == 0 && c->emit_failed)
        rc = COORD_ERR_EMIT;
    return rc;
}

/* ------------------------------------------------------------ resends */

static void resend(struct coord *c, struct session *ss, int s, uint64_t now)
{
    struct stage_st *st = &ss->st[s];
    int nq = plan_nqueues(&c->plan, (enum plan_stage_id)s), q;
    int64_t done = 0, expected = 0;

    for (q = c->qbase[s]; q < c->qbase[s] + nq; q++) {
        done += processed_sum(c, ss, q);
        expected += ss->expected[q];
    }
    log_info("eof session=%s stage=%s resend %s silent_ms=%" PRIu64
             " processed=%" PRId64 "/%" PRId64 " done=%d/%d",
             ss->id, stage_name(s), st->state == COORD_DRAINING ? "drain" : "finish",
             now - st->since_ms, done, expected, popcount64(st->done),
             c->plan.replicas[s]);
    st->since_ms = now;
    c->stats.resent++;
    if (st->state == COORD_DRAINING)
        send_drain(c, ss, s);
    else
        send_finish(c, ss, s);
}

int coord_tick(struct coord *c, coord_emit_fn fn, void *arg)
{
    uint64_t now;
    size_t b;
    int s;

    if (c->resend_ms == 0)
        return 0;
    c->emit_fn = fn;
    c->emit_arg = arg;
    c->emit_failed = false;
    now = now_ms(c);
    for (b = 0; b < c->nbuckets; b++) {
        struct session *ss;

        for (ss = c->buckets[b]; ss; ss = ss->next)
            for (s = PLAN_FILTER; s < PLAN_NSTAGES; s++) {
                enum coord_state state = ss->st[s].state;

                if ((state == COORD_DRAINING || state == COORD_FINISHING) &&
                    now - ss->st[s].since_ms >= c->resend_ms)
                    resend(c, ss, s, now);
            }
    }
    return c->emit_failed ? COORD_ERR_EMIT : 0;
}

/* ------------------------------------------------------------ introspection */

size_t coord_sessions(const struct coord *c)
{
    return c->nsessions;
}

int coord_stage_state(const struct coord *c, const char *session,
                      enum plan_stage_id s)
{
    const struct session *ss = find(c, session);

    if (ss == NULL || (unsigned)s >= PLAN_NSTAGES)
        return -1;
    return (int)ss->st[s].state;
}

int coord_queue_counts(const struct coord *c, const char *session,
                       const char *queue, int64_t *processed, int64_t *expected)
{
    struct session *ss = find(c, session);
    int q = queue_index(c, queue);

    if (ss == NULL || q < 0)
        return -1;
    *processed = processed_sum(c, ss, q);
    *expected = ss->expected[q];
    return 0;
}

int64_t coord_rejected(const struct coord *c, const char *session,
                       enum plan_stage_id s, enum plan_table t)
{
    const struct session *ss = find(c, session);

    if (ss == NULL || (unsigned)s >= PLAN_NSTAGES || (unsigned)t >= PLAN_NTABLES)
        return 0;
    return ss->st[s].rejected[t];
}

void coord_get_stats(const struct coord *c, struct coord_stats *out)
{
    *out = c->stats;
}

const char *coord_state_name(int state)
{
    static const char *const names[] = {"waiting", "draining", "finishing",
                                        "complete"};

    return state >= 0 && state <= COORD_COMPLETE ? names[state] : "?";
}
