/*
 * coord.c - the end-of-stream state machine (see coord.h): stage
 * transitions, the handlers of each control message, resends and
 * introspection. Storage (sessions, flows, queue indexes, tombstones) is in
 * coord_sess.c.
 */
#include "coord_internal.h"

#include "clock.h"
#include "log.h"
#include "tombs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALL_REPLICAS(n) (COORD_BIT(n) - 1)
#define INITIAL_BUCKETS 64

static uint64_t monotonic_ms(void *arg)
{
    (void)arg;
    return (uint64_t)clock_mono_ms();
}

uint64_t coord_now(const struct coord *c)
{
    return c->clock(c->clock_arg);
}

static const char *stage_name(int s)
{
    return plan_stage_name((enum plan_stage_id)s);
}

static int popcount64(uint64_t v)
{
    return __builtin_popcountll(v);
}

/* A stateless stage (the filter) holds nothing per session: any one of its
 * replicas' done says all there is to say. */
static bool stateless(int s)
{
    return s != PLAN_GATEWAY && !plan_stage_sharded((enum plan_stage_id)s);
}

/* ------------------------------------------------------------ lifecycle */

struct coord *coord_create(const struct plan *p, struct tombs *tombs)
{
    struct coord *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->plan = *p;
    c->started_ms = clock_wall_ms();
    // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
    c->buckets = calloc(INITIAL_BUCKETS, sizeof(*c->buckets));
    c->nbuckets = INITIAL_BUCKETS;
    c->out = malloc(sizeof(*c->out));
    c->snap = malloc(sizeof(*c->snap));
    c->tombs = tombs;
    if (tombs == NULL) {
        c->tombs = tombs_create(COORD_TOMBSTONES);
        c->own_tombs = true;
    }
    c->clock = monotonic_ms;
    if (c->buckets == NULL || c->out == NULL || c->snap == NULL ||
        c->tombs == NULL || csess_layout(c) != 0) {
        coord_destroy(c);
        return NULL;
    }
    return c;
}

void coord_destroy(struct coord *c)
{
    if (c == NULL)
        return;
    csess_free_all(c);
    free(c->buckets);
    if (c->own_tombs)
        tombs_destroy(c->tombs);
    free(c->out);
    free(c->snap);
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

void coord_set_end_hook(struct coord *c, coord_end_fn fn, void *arg)
{
    c->end_fn = fn;
    c->end_arg = arg;
}

void coord_set_final_hook(struct coord *c, coord_final_fn fn, void *arg)
{
    c->final_fn = fn;
    c->final_arg = arg;
}

/* ------------------------------------------------------------ emitting */

void coord_emit(struct coord *c, const char *key, const struct ctl_msg *m)
{
    if (c->emit_failed)
        return;
    if (c->emit_fn(c->emit_arg, key, m) != 0)
        c->emit_failed = true;
}

static void begin_call(struct coord *c, coord_emit_fn fn, void *arg)
{
    c->emit_fn = fn;
    c->emit_arg = arg;
    c->emit_failed = false;
}

static void send_drain(struct coord *c, const struct session *ss,
                       const char *key)
{
    ctl_init(c->out, CTL_DRAIN, ss->id);
    coord_emit(c, key, c->out);
}

/* finish carries the session's reply-to, the rejected rows counted so far
 * (the sink forwards them to the gateway) and the stage's input flows (a
 * stateless stage derives its output flows from them). */
static void send_finish(struct coord *c, const struct session *ss, int s,
                        const char *key)
{
    struct ctl_msg *m = c->out;
    size_t i;
    int t, u;

    ctl_init(m, CTL_FINISH, ss->id);
    snprintf(m->reply_to, sizeof(m->reply_to), "%s", ss->reply_to);
    for (t = 0; t < PLAN_NTABLES; t++) {
        int64_t n = 0;

        for (u = 0; u < PLAN_NSTAGES; u++)
            n += ss->st[u].rejected[t];
        if (n != 0 &&
            ctl_add_rejected(m, plan_table_name((enum plan_table)t), n) != 0)
            log_error("eof session=%s rejected counts do not fit", ss->id);
    }
    for (i = 0; i < ss->nflows; i++) {
        const struct flow *f = &ss->flows[i];

        if (c->qstage[f->q] == s && f->expected >= 0 &&
            ctl_set_flow(m, c->qname[f->q], f->stream, f->expected) != 0)
            log_error("eof session=%s stage=%s input flows do not fit a finish",
                      ss->id, stage_name(s));
    }
    coord_emit(c, key, m);
}

/* ------------------------------------------------------------ evaluation */

static void violation(struct coord *c, const struct session *ss, struct flow *f,
                      const char *what)
{
    if (f->violated)
        return;
    f->violated = true;
    c->stats.violations++;
    log_error("eof session=%s queue=%s stream=%s %s (ids=%" PRId64
              " max=%" PRId64 " expected=%" PRId64 ")",
              ss->id, c->qname[f->q], f->stream, what, idset_count(&f->ids),
              idset_max(&f->ids), f->expected);
}

static void check_flow(struct coord *c, const struct session *ss,
                       struct flow *f)
{
    if (f->expected >= 0 && idset_max(&f->ids) >= f->expected)
        violation(c, ss, f, "processed ids beyond the expected count");
}

/* Every upstream stage of s is at least at `state` (states only move
 * forward, WAITING < DRAINING < FINISHING < COMPLETE; the gateway goes from
 * WAITING to COMPLETE on its done). FINISHING: s may drain, its inputs are
 * all processed and its reports flow while the upstream emits its last
 * outputs and declares them (one round trip less than draining s once the
 * upstream is complete); COMPLETE: every flow into s is declared. */
static bool upstream_at(const struct session *ss, int s, enum coord_state state)
{
    unsigned up = plan_upstream((enum plan_stage_id)s);
    int u;

    for (u = 0; u < PLAN_NSTAGES; u++)
        if ((up & (1u << u)) && ss->st[u].state < state)
            return false;
    return true;
}

/* Every flow into the stage's queues has exactly the ids 0..n-1 (only
 * meaningful once every upstream stage is complete: their done messages
 * declare the flows). */
static bool balanced(struct coord *c, struct session *ss, int s)
{
    size_t i;

    for (i = 0; i < ss->nflows; i++) {
        struct flow *f = &ss->flows[i];

        if (c->qstage[f->q] != s)
            continue;
        if (f->expected < 0) {
            if (idset_count(&f->ids) > 0)
                violation(c, ss, f,
                          "ids processed for a flow no upstream declared");
            return false;
        }
        if (!idset_is_prefix(&f->ids, f->expected))
            return false;
    }
    return true;
}

/* Processed and expected messages of stage s (for logs). */
static void stage_totals(const struct coord *c, const struct session *ss, int s,
                         int64_t *done, int64_t *expected)
{
    size_t i;

    *done = *expected = 0;
    for (i = 0; i < ss->nflows; i++)
        if (c->qstage[ss->flows[i].q] == s) {
            *done += idset_count(&ss->flows[i].ids);
            *expected += ss->flows[i].expected > 0 ? ss->flows[i].expected : 0;
        }
}

static void enter_draining(struct coord *c, struct session *ss, int s)
{
    int64_t done, expected;
    size_t i;

    for (i = 0; i < ss->nflows; i++)
        if (c->qstage[ss->flows[i].q] == s)
            check_flow(c, ss, &ss->flows[i]);
    stage_totals(c, ss, s, &done, &expected);
    ss->st[s].state = COORD_DRAINING;
    ss->st[s].since_ms = coord_now(c);
    log_info("eof session=%s stage=%s drain processed=%" PRId64 "/%" PRId64,
             ss->id, stage_name(s), done, expected);
    send_drain(c, ss, stage_name(s));
}

static void enter_finishing(struct coord *c, struct session *ss, int s)
{
    int64_t done, expected;

    stage_totals(c, ss, s, &done, &expected);
    ss->st[s].state = COORD_FINISHING;
    ss->st[s].since_ms = coord_now(c);
    log_info("eof session=%s stage=%s processed=%" PRId64 "/%" PRId64
             " released: finish replicas=%d",
             ss->id, stage_name(s), done, expected, c->plan.replicas[s]);
    send_finish(c, ss, s, stage_name(s));
}

static void enter_complete(struct coord *c, struct session *ss, int s)
{
    ss->st[s].state = COORD_COMPLETE;
    log_info("eof session=%s stage=%s complete elapsed_ms=%" PRIu64, ss->id,
             stage_name(s), coord_now(c) - ss->start_ms);
}

static bool dones_complete(const struct coord *c, const struct session *ss,
                           int s)
{
    uint64_t done = ss->st[s].done;

    return stateless(s) ? done != 0 : done == ALL_REPLICAS(c->plan.replicas[s]);
}

/* Advances every stage as far as it goes; stages are in topological order,
 * so one pass suffices. Frees ss when the session is over. */
static void evaluate(struct coord *c, struct session *ss)
{
    int s;

    for (s = 0; s < PLAN_NSTAGES; s++) {
        struct stage_st *st = &ss->st[s];

        if (s == PLAN_GATEWAY) {
            if (st->state != COORD_COMPLETE && st->done)
                enter_complete(c, ss, s);
            continue;
        }
        if (st->state == COORD_WAITING && upstream_at(ss, s, COORD_FINISHING))
            enter_draining(c, ss, s);
        if (st->state == COORD_DRAINING && upstream_at(ss, s, COORD_COMPLETE) &&
            balanced(c, ss, s))
            enter_finishing(c, ss, s);
        if (st->state == COORD_FINISHING && dones_complete(c, ss, s))
            enter_complete(c, ss, s);
    }
    if (ss->st[PLAN_SINK].state == COORD_COMPLETE) {
        log_info("eof session=%s end elapsed_ms=%" PRIu64 " sessions=%zu",
                 ss->id, coord_now(c) - ss->start_ms, c->nsessions - 1);
        c->stats.completed++;
        csess_drop(c, ss, COORD_PHASE_DONE, "");
    }
}

/* ------------------------------------------------------------ handlers */

/* The session a done/report/start refers to, created when it is new; NULL
 * (logged) when it ended, or when out of memory (*nomem set). */
static struct session *session_for(struct coord *c, const struct ctl_msg *in,
                                   bool *nomem)
{
    struct session *ss = csess_find(c, in->session);

    if (ss)
        return ss;
    if (csess_tombstoned(c, in->session)) {
        c->stats.ignored++;
        log_info("eof session=%s stage=%s replica=%d late %s for an ended "
                 "session ignored",
                 in->session, in->stage, in->replica, ctl_type_name(in->type));
        return NULL;
    }
    ss = csess_new(c, in->session, coord_now(c));
    if (ss == NULL) {
        *nomem = true;
        return NULL;
    }
    c->stats.started++;
    if (in->type != CTL_SESSION_START)
        log_info("eof session=%s first seen in a %s from stage=%s replica=%d",
                 ss->id, ctl_type_name(in->type), in->stage, in->replica);
    return ss;
}

/* Stage of a done/report/hello, or -1 (logged) for an invalid sender. */
static int sender_stage(struct coord *c, const struct ctl_msg *in)
{
    int s = plan_stage_by_name(in->stage);

    if (s < 0 || in->replica < 0 || in->replica >= c->plan.replicas[s]) {
        c->stats.ignored++;
        log_warn(
            "eof session=%s %s from stage='%s' replica=%d ignored: no such "
            "replica",
            in->session, ctl_type_name(in->type), in->stage, in->replica);
        return -1;
    }
    return s;
}

static int on_start(struct coord *c, const struct ctl_msg *in)
{
    bool nomem = false;
    struct session *ss = csess_find(c, in->session);

    if (ss && ss->reply_to[0]) {
        c->stats.ignored++;
        log_info("eof session=%s duplicate session_start ignored", in->session);
        return 0;
    }
    if (ss == NULL && (ss = session_for(c, in, &nomem)) == NULL)
        return nomem ? COORD_ERR_NOMEM : 0;
    snprintf(ss->reply_to, sizeof(ss->reply_to), "%s", in->reply_to);
    snprintf(ss->client, sizeof(ss->client), "%s", in->client);
    snprintf(ss->folder, sizeof(ss->folder), "%s", in->folder);
    if (ss->reply_to[0] == '\0')
        log_warn("eof session=%s session_start without reply_to", ss->id);
    log_info("eof session=%s start reply_to=%s sessions=%zu", ss->id,
             ss->reply_to, c->nsessions);
    return 0;
}

/* Declares the flows of a done from stage s; returns how many messages they
 * hold, or -1 when out of memory. */
static int64_t declare_flows(struct coord *c, struct session *ss, int s,
                             const struct ctl_msg *in)
{
    int64_t total = 0;
    int i;

    for (i = 0; i < in->nflows; i++) {
        const struct ctl_flow *k = &in->flows[i];
        int q = csess_queue_index(c, k->queue);
        struct flow *f;

        if (q < 0 || k->n < 0 ||
            !(plan_upstream((enum plan_stage_id)c->qstage[q]) & (1u << s))) {
            log_warn(
                "eof session=%s stage=%s replica=%d done flow %s/%s=%" PRId64
                " ignored: not a queue it feeds",
                ss->id, stage_name(s), in->replica, k->queue, k->stream, k->n);
            continue;
        }
        f = csess_flow(ss, q, k->stream, true);
        if (f == NULL)
            return -1;
        if (f->expected < 0)
            f->expected = k->n;
        else if (f->expected != k->n)
            violation(c, ss, f, "declared again with another count");
        check_flow(c, ss, f);
        total += k->n;
    }
    return total;
}

/* The gateway's counts of what the client sent (rows per table, bytes). */
static void note_sent(struct session *ss, const struct ctl_msg *in)
{
    int i;

    if (in->nsent == 0)
        return;
    ss->rows_sent = ss->bytes_sent = 0;
    for (i = 0; i < in->nsent; i++) {
        if (strcmp(in->sent[i].name, "bytes") == 0)
            ss->bytes_sent += in->sent[i].n;
        else
            ss->rows_sent += in->sent[i].n;
    }
}

static int on_done(struct coord *c, const struct ctl_msg *in)
{
    bool nomem = false;
    struct session *ss;
    struct stage_st *st;
    int64_t sent;
    int s;

    if ((s = sender_stage(c, in)) < 0)
        return 0;
    if ((ss = session_for(c, in, &nomem)) == NULL)
        return nomem ? COORD_ERR_NOMEM : 0;
    st = &ss->st[s];
    if (s == PLAN_GATEWAY && !ss->streamed) {
        ss->streamed = true;
        ss->streamed_ms = coord_now(c);
        note_sent(ss, in);
    }
    sent = declare_flows(c, ss, s, in);
    if (sent < 0)
        return COORD_ERR_NOMEM;
    if (st->done & COORD_BIT(in->replica)) {
        log_info("eof session=%s stage=%s replica=%d duplicate done ignored",
                 ss->id, stage_name(s), in->replica);
        return 0;
    }
    /* A stateless stage completes on its first done: the others' come
     * after, as expected. */
    if (s != PLAN_GATEWAY && st->state != COORD_FINISHING &&
        !(stateless(s) && st->state == COORD_COMPLETE))
        log_warn("eof session=%s stage=%s replica=%d done before finish "
                 "(state=%s)",
                 ss->id, stage_name(s), in->replica,
                 coord_state_name((int)st->state));
    st->done |= COORD_BIT(in->replica);
    st->since_ms = coord_now(c);
    log_info("eof session=%s stage=%s replica=%d done sent=%" PRId64
             " replicas=%d/%d",
             ss->id, stage_name(s), in->replica, sent, popcount64(st->done),
             stateless(s) ? 1 : c->plan.replicas[s]);
    evaluate(c, ss);
    return 0;
}

/* Whether seq lies in one of report flow k's ranges. */
static bool in_ranges(const struct ctl_msg *in, const struct ctl_flow *k,
                      int64_t seq)
{
    int r;

    for (r = k->range0; r < k->range0 + k->nranges; r++)
        if (seq >= in->ranges[r].lo && seq <= in->ranges[r].hi)
            return true;
    return false;
}

/* Merges one report flow into the session; returns the ids it added, or -1
 * when out of memory. Rejected rows count once per new id. */
static int64_t merge_flow(struct coord *c, struct session *ss, int s,
                          const struct ctl_msg *in, const struct ctl_flow *k)
{
    int q = csess_queue_index(c, k->queue);
    struct flow *f;
    int64_t added = 0, n;
    int r;

    if (q < 0 || c->qstage[q] != s) {
        log_warn(
            "eof session=%s stage=%s replica=%d report for %s ignored: not "
            "an input of the stage",
            ss->id, in->stage, in->replica, k->queue);
        return 0;
    }
    if (k->nranges == 0)
        return 0;
    if ((f = csess_flow(ss, q, k->stream, true)) == NULL)
        return -1;
    /* Each rejected id joins the set here, so that an id listed twice (a
     * redelivered copy processed twice before the report) counts once. */
    for (r = k->rej0; r < k->rej0 + k->nrej; r++) {
        if (!in_ranges(in, k, in->rejs[r].seq))
            continue;
        if ((n = idset_add(&f->ids, in->rejs[r].seq)) < 0)
            return -1;
        added += n;
        if (n > 0 && f->table >= 0)
            ss->st[s].rejected[f->table] += in->rejs[r].n;
    }
    for (r = k->range0; r < k->range0 + k->nranges; r++) {
        n = idset_add_range(&f->ids, in->ranges[r].lo, in->ranges[r].hi);
        if (n < 0)
            return -1;
        added += n;
    }
    check_flow(c, ss, f);
    return added;
}

static int on_report(struct coord *c, const struct ctl_msg *in)
{
    bool nomem = false;
    struct session *ss;
    int64_t added = 0, n;
    int s, i;

    if ((s = sender_stage(c, in)) < 0)
        return 0;
    if ((ss = session_for(c, in, &nomem)) == NULL)
        return nomem ? COORD_ERR_NOMEM : 0;
    for (i = 0; i < in->nflows; i++) {
        n = merge_flow(c, ss, s, in, &in->flows[i]);
        if (n < 0)
            return COORD_ERR_NOMEM;
        added += n;
    }
    if (added == 0)
        return 0;
    ss->st[s].since_ms = coord_now(c);
    log_debug("eof session=%s stage=%s replica=%d report new_ids=%" PRId64,
              ss->id, in->stage, in->replica, added);
    evaluate(c, ss);
    return 0;
}

/* Commands for one stage of one session, to routing key `key`: drain or
 * finish again where the stage waits for them. A replica whose done
 * arrived already gets no finish (`replica` < 0: any replica). */
static bool resend_stage(struct coord *c, struct session *ss, int s,
                         const char *key, int replica)
{
    struct stage_st *st = &ss->st[s];

    if (st->state == COORD_DRAINING) {
        send_drain(c, ss, key);
    } else if (st->state == COORD_FINISHING &&
               (replica < 0 || !(st->done & COORD_BIT(replica)))) {
        send_finish(c, ss, s, key);
    } else {
        return false;
    }
    c->stats.resent++;
    return true;
}

static int on_hello(struct coord *c, const struct ctl_msg *in)
{
    char key[PLAN_NAME_MAX + 16];
    int s, i, resent = 0, aborted = 0;
    size_t b;

    if ((s = sender_stage(c, in)) < 0 || s == PLAN_GATEWAY)
        return 0;
    snprintf(key, sizeof(key), "%s.%d", stage_name(s), in->replica);
    for (b = 0; b < c->nbuckets; b++) {
        struct session *ss;

        for (ss = c->buckets[b]; ss; ss = ss->next)
            resent += resend_stage(c, ss, s, key, in->replica);
    }
    for (i = 0; i < in->nsessions; i++) {
        if (!csess_tombstoned(c, in->sessions[i]))
            continue;
        ctl_init(c->out, CTL_ABORT, in->sessions[i]);
        snprintf(c->out->reason, sizeof(c->out->reason), "the session ended");
        coord_emit(c, key, c->out);
        aborted++;
    }
    log_info("eof hello stage=%s replica=%d sessions_held=%d resent=%d "
             "ended_dropped=%d",
             stage_name(s), in->replica, in->nsessions, resent, aborted);
    return 0;
}

static int on_abort(struct coord *c, const struct ctl_msg *in)
{
    struct session *ss = csess_find(c, in->session);

    if (ss == NULL && csess_tombstoned(c, in->session)) {
        c->stats.ignored++;
        log_info("eof session=%s abort for an ended session ignored",
                 in->session);
        return 0;
    }
    /* Broadcast even for an unknown session: replicas may hold its state. */
    ctl_init(c->out, CTL_ABORT, in->session);
    snprintf(c->out->reason, sizeof(c->out->reason), "%s", in->reason);
    log_info("eof session=%s abort reason='%s' known=%s", in->session,
             in->reason, ss ? "yes" : "no");
    coord_emit(c, PLAN_CONTROL_ALL, c->out);
    /* An operator's abort (the control plane): the gateway still serves
     * the client, which is told why. A gateway's own abort needs no end. */
    if (ss && strcmp(in->stage, PLAN_CONTROLPLANE_STAGE) == 0)
        cstall_to_gateway(c, ss, CTL_END, -1, in->reason);
    if (ss) {
        c->stats.aborted++;
        csess_drop(c, ss, COORD_PHASE_ABORTED, in->reason);
    } else {
        csess_tombstone(c, in->session);
    }
    return 0;
}

static int on_shutdown(struct coord *c, const struct ctl_msg *in)
{
    /* The coordinator queue is durable: a shutdown published for an earlier
     * run of the deployment must not stop this one. */
    if (in->ts_ms > 0 && in->ts_ms < c->started_ms) {
        c->stats.ignored++;
        log_info("eof shutdown from before this coordinator started ignored "
                 "age_ms=%lld",
                 (long long)(c->started_ms - in->ts_ms));
        return 0;
    }
    if (c->nsessions > 0)
        log_warn("eof shutdown with %zu active sessions", c->nsessions);
    else
        log_info("eof shutdown");
    ctl_init(c->out, CTL_SHUTDOWN, NULL);
    coord_emit(c, PLAN_CONTROL_ALL, c->out);
    c->stopping = true;
    return 0;
}

int coord_handle(struct coord *c, const struct ctl_msg *in, coord_emit_fn fn,
                 void *arg)
{
    int rc = 0;

    begin_call(c, fn, arg);
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
    case CTL_HELLO:
        rc = on_hello(c, in);
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

int coord_resume(struct coord *c, coord_emit_fn fn, void *arg)
{
    uint64_t now = coord_now(c);
    size_t b, n = 0;
    int s;

    begin_call(c, fn, arg);
    for (b = 0; b < c->nbuckets; b++) {
        struct session *ss;

        for (ss = c->buckets[b]; ss; ss = ss->next)
            for (s = PLAN_FILTER; s < PLAN_NSTAGES; s++) {
                ss->st[s].since_ms = now;
                n += resend_stage(c, ss, s, stage_name(s), -1);
            }
    }
    log_info("eof resumed sessions=%zu commands_resent=%zu", c->nsessions, n);
    return c->emit_failed ? COORD_ERR_EMIT : 0;
}

static void resend_silent(struct coord *c, struct session *ss, uint64_t now)
{
    int s;

    for (s = PLAN_FILTER; s < PLAN_NSTAGES; s++) {
        struct stage_st *st = &ss->st[s];
        int64_t done, expected;

        if ((st->state != COORD_DRAINING && st->state != COORD_FINISHING) ||
            now - st->since_ms < c->resend_ms)
            continue;
        stage_totals(c, ss, s, &done, &expected);
        log_info("eof session=%s stage=%s resend %s silent_ms=%" PRIu64
                 " processed=%" PRId64 "/%" PRId64 " done=%d/%d",
                 ss->id, stage_name(s), coord_state_name((int)st->state),
                 now - st->since_ms, done, expected, popcount64(st->done),
                 c->plan.replicas[s]);
        st->since_ms = now;
        resend_stage(c, ss, s, stage_name(s), -1);
    }
}

int coord_tick(struct coord *c, coord_emit_fn fn, void *arg)
{
    uint64_t now;
    size_t b;

    if (c->resend_ms == 0 && c->notice_ms == 0 && c->fail_ms == 0)
        return 0;
    begin_call(c, fn, arg);
    now = coord_now(c);
    for (b = 0; b < c->nbuckets; b++) {
        struct session *ss, *next;

        for (ss = c->buckets[b]; ss; ss = next) {
            next = ss->next; /* check_stalled may free ss */
            if (c->resend_ms)
                resend_silent(c, ss, now);
            cstall_check(c, ss, now);
        }
    }
    return c->emit_failed ? COORD_ERR_EMIT : 0;
}

/* ------------------------------------------------------------ introspection */

size_t coord_sessions(const struct coord *c)
{
    return c->nsessions;
}

bool coord_active(const struct coord *c, const char *session)
{
    return csess_find(c, session) != NULL;
}

int coord_stage_state(const struct coord *c, const char *session,
                      enum plan_stage_id s)
{
    const struct session *ss = csess_find(c, session);

    if (ss == NULL || (unsigned)s >= PLAN_NSTAGES)
        return -1;
    return (int)ss->st[s].state;
}

int coord_queue_counts(const struct coord *c, const char *session,
                       const char *queue, int64_t *processed, int64_t *expected)
{
    const struct session *ss = csess_find(c, session);
    int q = csess_queue_index(c, queue);
    size_t i;

    if (ss == NULL || q < 0)
        return -1;
    *processed = *expected = 0;
    for (i = 0; i < ss->nflows; i++)
        if (ss->flows[i].q == q) {
            *processed += idset_count(&ss->flows[i].ids);
            *expected += ss->flows[i].expected > 0 ? ss->flows[i].expected : 0;
        }
    return 0;
}

int64_t coord_rejected(const struct coord *c, const char *session,
                       enum plan_stage_id s, enum plan_table t)
{
    const struct session *ss = csess_find(c, session);

    if (ss == NULL || (unsigned)s >= PLAN_NSTAGES ||
        (unsigned)t >= PLAN_NTABLES)
        return 0;
    return ss->st[s].rejected[t];
}

bool coord_ended(const struct coord *c, const char *session)
{
    return csess_tombstoned(c, session);
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
