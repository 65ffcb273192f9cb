/*
 * test_worker.c - the worker runtime's loop and its side of the EOF
 * protocol, run in-process through worker_main() against fake_mw (no
 * broker): commit order of a stateless stage (outputs confirmed, then a
 * report of exactly the batch's ids, confirmed, then the acks), a failing
 * flush, stale acks after a reconnect, drain/abort/shutdown control
 * messages, replica claiming, unroutable results, and a handler's error
 * reaching the log line the worker stops with. The stateful log and
 * recovery are in test_worker_log.c.
 *
 * Every case asserts on fake_mw's ordered event log and on the calls the
 * test kinds (wkinds.h) recorded, and that the runtime misused nothing.
 * worker_main runs several times per process: nothing in it keeps state
 * across calls except the signal flag, which no test raises.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ctl.h"
#include "fake_mw.h"
#include "tfix.h"
#include "wkinds.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S1 "11111111-1111-4111-8111-111111111111"
#define S2 "22222222-2222-4222-8222-222222222222"
#define S3 "33333333-3333-4333-8333-333333333333"
#define FQ "filter.users"
#define FCTL "ctl.filter.0"
#define AQ "agg-q2.0"
#define ACTL "ctl.agg-q2.0"

static int setup(void **state)
{
    fake_mw_reset();
    wk_reset();
    *state = tfix_mkdtemp();
    return 0;
}

static int teardown(void **state)
{
    fake_mw_set_hook(NULL, NULL);
    fake_mw_reset();
    tfix_rmrf(*state);
    free(*state);
    return 0;
}

static void assert_no_misuse(void)
{
    if (fake_mw_misuse() != 0)
        fail_msg("middleware misused: %s", fake_mw_misuse_text());
}

/* Successful acks of every delivery from `queue_prefix` queues: each once. */
static int deliveries_acked_once(const char *queue_prefix)
{
    size_t i, n = 0;

    for (i = 0; i < fake_mw_nevents(); i++) {
        const struct fake_ev *e = fake_mw_event(i);

        if (e->op != FAKE_NEXT || e->rc != 0 ||
            strncmp(e->queue, queue_prefix, strlen(queue_prefix)) != 0)
            continue;
        assert_int_equal(fake_mw_acks(e->tag), 1);
        n++;
    }
    return (int)n;
}

/* Index of the successful ack of tag, or -1. */
static long ack_index(uint64_t tag)
{
    size_t i;

    for (i = 0; i < fake_mw_nevents(); i++) {
        const struct fake_ev *e = fake_mw_event(i);

        if (e->op == FAKE_ACK && e->tag == tag && e->rc == 0)
            return (long)i;
    }
    return -1;
}

/* Index of the successful delivery of the k-th (0-based) message on queue. */
static long nth_delivery(const char *queue, int k)
{
    long i = -1;

    while ((i = fake_mw_find((size_t)(i + 1), FAKE_NEXT, queue)) >= 0)
        if (fake_mw_event((size_t)i)->rc == 0 && k-- == 0)
            return i;
    return -1;
}

static bool report_has(const struct ctl_msg *m, int64_t seq)
{
    int f, r;

    for (f = 0; f < m->nflows; f++)
        for (r = m->flows[f].range0;
             r < m->flows[f].range0 + m->flows[f].nranges; r++)
            if (seq >= m->ranges[r].lo && seq <= m->ranges[r].hi)
                return true;
    return false;
}

/* The stateless commit order for one acked input at delivery index di:
 * its two outputs come right after it; a report holding its id follows
 * them after a confirming flush, and the ack follows that report after a
 * confirming flush. */
static void check_stateless_input(long di, struct ctl_msg *m)
{
    const struct fake_ev *d = fake_mw_event((size_t)di);
    long a = ack_index(d->tag), r = -1, i, outs = 0;

    assert_true(a > di);
    for (i = di + 1; i < a; i++) {
        const struct fake_ev *e = fake_mw_event((size_t)i);

        if (e->op == FAKE_PUBLISH && e->meta.kind == MW_KIND_DATA &&
            e->meta.seq == d->meta.seq && r < 0) {
            assert_string_equal(e->meta.session, d->meta.session);
            assert_memory_equal(e->body, d->body, d->len);
            outs++;
        }
        if (r < 0 && tfix_pub_ctl(e, CTL_REPORT, true, m) &&
            report_has(m, d->meta.seq))
            r = i;
    }
    assert_int_equal(outs, 2);
    assert_true(r > di);
    assert_int_equal(fake_mw_unconfirmed_before((size_t)r), -1);
    assert_int_equal(fake_mw_unconfirmed_before((size_t)a), -1);
}

/* The flow of a report or done: queue/stream and its ids or count. */
static void assert_flow(const struct ctl_msg *m, int f, const char *q,
                        const char *s)
{
    assert_true(f < m->nflows);
    assert_string_equal(m->flows[f].queue, q);
    assert_string_equal(m->flows[f].stream, s);
}

static void assert_report(const struct ctl_msg *m, const char *ids,
                          const char *rejs)
{
    char buf[256];

    assert_string_equal(m->stage, "filter");
    assert_int_equal(m->replica, 0);
    assert_int_equal(m->nflows, 1);
    assert_flow(m, 0, FQ, "users");
    tfix_ranges(m, 0, buf, sizeof(buf));
    assert_string_equal(buf, ids);
    tfix_rejs(m, 0, buf, sizeof(buf));
    assert_string_equal(buf, rejs);
}

static void deliver_finish(const char *queue, const char *sess,
                           const char *reply_to, const char *flow_q, int64_t n)
{
    struct ctl_msg *m = tfix_ctl(CTL_FINISH, sess);

    snprintf(m->reply_to, sizeof(m->reply_to), "%s", reply_to);
    assert_int_equal(ctl_set_flow(m, flow_q, "users", n), 0);
    fake_mw_deliver_ctl(queue, m, false);
    free(m);
}

static void deliver_ctl(const char *queue, enum ctl_type t, const char *sess,
                        int64_t ts)
{
    struct ctl_msg *m = tfix_ctl(t, sess);

    m->ts_ms = ts;
    fake_mw_deliver_ctl(queue, m, false);
    free(m);
}

/* ------------------------------------------------------------ stateless */

/* Two batches (WORKER_ACK_BATCH=3, five inputs, one with rejected rows),
 * then a finish: each batch's outputs are confirmed before a report of
 * exactly its ids, confirmed before its acks; the done declares the flows
 * the kind derived from the finish's counts, confirmed before the finish's
 * ack. */
static void test_stateless_commit_order(void **state)
{
    const char *bodies[] = {"a", "b", "rej:3", "d", "e"};
    struct ctl_msg *m = tfix_ctl(CTL_REPORT, NULL);
    long r1, r2, dn, k;
    int i;

    wk_env("filter", *state, 3, NULL, NULL);
    for (i = 0; i < 5; i++)
        wk_deliver(FQ, S1, "users", i, bodies[i], false);
    deliver_finish(FCTL, S1, "gw-1", FQ, 5);
    fake_mw_stop_when_idle(FCTL, 1);
    assert_int_equal(wk_run(), 0);
    assert_no_misuse();

    r1 = tfix_find_ctl(0, CTL_REPORT, true, S1, m);
    assert_true(r1 >= 0);
    assert_report(m, "0-2", "2=3");
    r2 = tfix_find_ctl((size_t)r1 + 1, CTL_REPORT, true, S1, m);
    assert_true(r2 > r1);
    assert_report(m, "3-4", "");
    assert_int_equal(tfix_count_ctl(0, CTL_REPORT, true, NULL), 2);
    assert_true(nth_delivery(FQ, 3) > r1); /* batch 1 reported before batch 2 */
    for (k = 0; k < 5; k++)
        check_stateless_input(nth_delivery(FQ, (int)k), m);
    assert_int_equal(deliveries_acked_once(FQ), 5);

    dn = tfix_find_ctl(0, CTL_DONE, true, S1, m);
    assert_true(dn > r2);
    assert_int_equal(m->nflows, 2);
    assert_flow(m, 0, "agg-q2.0", "users");
    assert_flow(m, 1, "agg-q3.0", "users");
    assert_int_equal(m->flows[0].n, 5);
    assert_int_equal(m->flows[1].n, 5);
    assert_int_equal(wk_calls[wk_find(0, WK_FINISH, S1)].finish_n, 5);
    assert_int_equal(fake_mw_unconfirmed_before((size_t)ack_index(
                         fake_mw_event((size_t)nth_delivery(FCTL, 0))->tag)),
                     -1);
    free(m);
}

/* A flush that fails (the outputs' flush, or the report's) stops the
 * worker with status 1 before any input is acked. */
static void test_stateless_flush_failure(void **state)
{
    static const struct {
        int nth, rc;
    } cases[] = {
        {2, MW_ERR_CLOSED}, /* flush 1 is the hello's; 2 the outputs' */
        {3, MW_ERR_NACK},   /* the report's */
    };
    size_t c;
    int i;

    for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        fake_mw_reset();
        wk_reset();
        wk_env("filter", *state, 2, NULL, NULL);
        fake_mw_fail_nth(FAKE_FLUSH, cases[c].nth, cases[c].rc);
        for (i = 0; i < 4; i++)
            wk_deliver(FQ, S1, "users", i, "x", false);
        fake_mw_stop_when_idle(FCTL, 1);
        assert_int_equal(wk_run(), 1);
        assert_no_misuse();
        assert_int_equal(fake_mw_find(0, FAKE_ACK, NULL), -1);
        assert_int_equal(tfix_count_ctl(0, CTL_REPORT, true, NULL),
                         c == 0 ? 0 : 1);
        /* two inputs handled, then it stopped */
        assert_int_equal(wk_batches(S1, 0) + wk_batches(S1, 1), 2);
        assert_int_equal(wk_batches(S1, 2), 0);
    }
}

/* A reconnect while two inputs are pending: their acks are stale (not
 * counted, not fatal), the broker redelivers both, and the worker handles
 * and reports them again (the coordinator merges by union). */
static void test_stale_acks(void **state)
{
    struct ctl_msg *m = tfix_ctl(CTL_REPORT, NULL);
    long r1, r2;

    wk_env("filter", *state, 3, NULL, NULL);
    wk_deliver(FQ, S1, "users", 0, "a", false); /* tag 1 */
    wk_deliver(FQ, S1, "users", 1, "b", false); /* tag 2 */
    fake_mw_script_reconnect();                 /* requeues both: tags 3, 4 */
    fake_mw_stop_when_idle(FCTL, 1);
    assert_int_equal(wk_run(), 0);
    assert_no_misuse();

    assert_int_equal(fake_mw_acks(1), 0);
    assert_int_equal(fake_mw_acks(2), 0);
    assert_int_equal(fake_mw_acks(3), 1);
    assert_int_equal(fake_mw_acks(4), 1);
    assert_true(fake_mw_delivery(3)->redelivered);
    assert_int_equal(fake_mw_event((size_t)fake_mw_find(0, FAKE_ACK, NULL))->rc,
                     MW_ERR_STALE);
    assert_int_equal(wk_batches(S1, 0), 2);
    assert_int_equal(wk_batches(S1, 1), 2);
    r1 = tfix_find_ctl(0, CTL_REPORT, true, S1, m);
    assert_report(m, "0-1", "");
    r2 = tfix_find_ctl((size_t)r1 + 1, CTL_REPORT, true, S1, m);
    assert_true(r2 > r1);
    assert_report(m, "1", "");
    check_stateless_input(nth_delivery(FQ, 2), m); /* the redelivered copies */
    check_stateless_input(nth_delivery(FQ, 3), m);
    free(m);
}

/* ------------------------------------------------------------ control */

/* A shutdown published before the worker started (durable control queue)
 * is ignored; a current one stops the loop with status 0 right away. */
static void test_shutdown(void **state)
{
    long cur, i;

    wk_env("filter", *state, 8, NULL, NULL);
    deliver_ctl(FCTL, CTL_SHUTDOWN, NULL, 1);
    wk_deliver(FQ, S1, "users", 0, "a", false);
    /* The current one is stamped when delivered (a message stamped now,
     * before the run, could predate the worker's start). After it the
     * fake returns MW_ERR_CLOSED: a worker that went on would fail. */
    fake_mw_stop_when_idle(FCTL, 0);
    assert_int_equal(wk_run(), 0);
    assert_no_misuse();
    assert_int_equal(wk_batches(S1, 0), 1);
    assert_int_equal(deliveries_acked_once(""), 3);
    cur = nth_delivery(FCTL, 1);
    assert_true(cur > nth_delivery(FQ, 0));
    for (i = cur + 1; i < (long)fake_mw_nevents(); i++)
        assert_int_not_equal(fake_mw_event((size_t)i)->op, FAKE_NEXT);
}

/* Drain makes a stateful replica report everything it applied; while
 * draining every commit that applied new inputs of the session reports the
 * whole set again. Other sessions are not reported; a drain for a session
 * the replica does not hold yet reports nothing, and opens it draining:
 * the coordinator drains a stage while its upstream finishes, so the
 * session's inputs may come after the drain, and each commit that applies
 * some reports them. */
static void test_drain_reports(void **state)
{
    struct ctl_msg *m = tfix_ctl(CTL_REPORT, NULL);
    long dr, r1, r2;
    char ids[64];

    wk_env("agg-q2", *state, 2, NULL, NULL);
    wk_deliver(AQ, S1, "users", 0, "a", false);
    wk_deliver(AQ, S1, "users", 1, "b", false);
    deliver_ctl(ACTL, CTL_DRAIN, S1, 0);
    wk_deliver(AQ, S2, "users", 0, "x", false);
    wk_deliver(AQ, S2, "users", 1, "y", false);
    wk_deliver(AQ, S1, "users", 2, "c", false);
    wk_deliver(AQ, S1, "users", 3, "d", false);
    wk_deliver(AQ, S1, "users", 3, "d", true);
    deliver_ctl(ACTL, CTL_DRAIN, S3, 0);
    wk_deliver(AQ, S3, "users", 0, "z", false);
    fake_mw_stop_when_idle(ACTL, 1);
    assert_int_equal(wk_run(), 0);
    assert_no_misuse();

    dr = nth_delivery(ACTL, 0);
    r1 = tfix_find_ctl(0, CTL_REPORT, true, S1, m);
    assert_true(r1 > dr && r1 < ack_index(fake_mw_event((size_t)dr)->tag));
    assert_string_equal(m->stage, "agg-q2");
    assert_flow(m, 0, AQ, "users");
    tfix_ranges(m, 0, ids, sizeof(ids));
    assert_string_equal(ids, "0-1");
    r2 = tfix_find_ctl((size_t)r1 + 1, CTL_REPORT, true, S1, m);
    assert_true(r2 >
                ack_index(fake_mw_event((size_t)nth_delivery(AQ, 5))->tag));
    tfix_ranges(m, 0, ids, sizeof(ids));
    assert_string_equal(ids, "0-3");
    assert_int_equal(tfix_count_ctl(0, CTL_REPORT, true, S1), 2);
    assert_int_equal(tfix_count_ctl(0, CTL_REPORT, true, S2), 0);
    assert_int_equal(tfix_count_ctl(0, CTL_REPORT, true, S3), 1);
    r1 = tfix_find_ctl(0, CTL_REPORT, true, S3, m);
    assert_true(r1 > nth_delivery(AQ, 7));
    tfix_ranges(m, 0, ids, sizeof(ids));
    assert_string_equal(ids, "0");
    assert_int_equal(deliveries_acked_once(""), 11);
    free(m);
}

struct abort_probe {
    const char *root;
    int checked, ok;
};

/* At the abort's ack: the session's log is gone, its tombstone on disk. */
static void abort_hook(const struct fake_ev *ev, void *arg)
{
    struct abort_probe *p = arg;
    const struct fake_ev *d;
    struct tfix_log l;
    char path[512];

    if (ev->op != FAKE_ACK || (d = fake_mw_delivery(ev->tag)) == NULL ||
        strcmp(d->meta.stream, "abort") != 0 ||
        strcmp(d->meta.session, S1) != 0)
        return;
    p->checked++;
    tfix_log_path(path, sizeof(path), p->root, "agg-q2-0", S1);
    tfix_log_read(path, &l);
    p->ok += !l.exists;
    tfix_log_free(&l);
    tfix_log_path(path, sizeof(path), p->root, "agg-q2-0", "tombstones");
    tfix_log_read(path, &l);
    p->ok += tfix_log_has(&l, S1, strlen(S1));
    tfix_log_free(&l);
}

/* Abort drops a session's state and log; its later messages are acked and
 * dropped. An abort for a session never seen tombstones it too. */
static void test_abort(void **state)
{
    struct abort_probe probe = {*state, 0, 0};
    struct tfix_log l;
    char path[512];
    long ab, cl;

    wk_env("agg-q2", *state, 2, NULL, NULL);
    fake_mw_set_hook(abort_hook, &probe);
    wk_deliver(AQ, S1, "users", 0, "a", false);
    wk_deliver(AQ, S1, "users", 1, "b", false);
    deliver_ctl(ACTL, CTL_ABORT, S1, 0);
    wk_deliver(AQ, S1, "users", 2, "c", false);
    deliver_ctl(ACTL, CTL_ABORT, S2, 0);
    wk_deliver(AQ, S2, "users", 0, "x", false);
    fake_mw_stop_when_idle(ACTL, 1);
    assert_int_equal(wk_run(), 0);
    assert_no_misuse();

    assert_int_equal(probe.checked, 1);
    assert_int_equal(probe.ok, 2);
    ab = nth_delivery(ACTL, 0);
    cl = wk_find(0, WK_CLOSE, S1);
    assert_true(cl >= 0 && (long)wk_calls[cl].ev > ab);
    assert_int_equal(wk_batches(S1, 2), 0);
    assert_int_equal(wk_find(0, WK_OPEN, S2), -1);
    assert_int_equal(deliveries_acked_once(""), 7);
    tfix_log_path(path, sizeof(path), *state, "agg-q2-0", S1);
    assert_false(tfix_exists(path));
    tfix_log_path(path, sizeof(path), *state, "agg-q2-0", S2);
    assert_false(tfix_exists(path));
    tfix_log_path(path, sizeof(path), *state, "agg-q2-0", "tombstones");
    tfix_log_read(path, &l);
    assert_true(tfix_log_has(&l, S1, strlen(S1)));
    assert_true(tfix_log_has(&l, S2, strlen(S2)));
    tfix_log_free(&l);
}

/* Results whose gateway queue is gone are unroutable: dropped with a
 * warning, and the done still goes out (the session's client is gone). */
static void test_unroutable_results(void **state)
{
    struct ctl_msg *m = tfix_ctl(CTL_DONE, NULL);
    const struct fake_ev *fin;
    long res, fl, dn;

    wk_env("agg-q2", *state, 4, NULL, NULL);
    wk_results = true;
    wk_deliver(AQ, S1, "users", 0, "a", false);
    deliver_finish(ACTL, S1, "gw-gone", AQ, 1);
    fake_mw_stop_when_idle(ACTL, 1);
    assert_int_equal(wk_run(), 0);
    assert_no_misuse();

    res = fake_mw_find(0, FAKE_PUBLISH, "cs.results");
    assert_true(res >= 0);
    assert_string_equal(fake_mw_event((size_t)res)->key, "gw-gone");
    assert_int_equal(fake_mw_event((size_t)res)->routed, 0);
    fl = fake_mw_find((size_t)res, FAKE_FLUSH, NULL);
    assert_int_equal(fake_mw_event((size_t)fl)->rc, MW_ERR_UNROUTABLE);
    dn = tfix_find_ctl((size_t)fl, CTL_DONE, true, S1, m);
    assert_true(dn > fl);
    fin = fake_mw_event((size_t)nth_delivery(ACTL, 0));
    assert_int_equal(fake_mw_unconfirmed_before((size_t)ack_index(fin->tag)),
                     -1);
    assert_int_equal(deliveries_acked_once(""), 3);
    free(m);
}

/* A handler's error travels unchanged through the runtime to the line that
 * says why the worker stopped: "out of memory", not a broker error. */
static void test_handler_error_propagates(void **state)
{
    char path[512], buf[16384];
    FILE *f;
    size_t n;
    int saved, fd;

    wk_env("filter", *state, 4, NULL, NULL);
    wk_deliver(FQ, S1, "users", 0, "x", false);
    wk_deliver(FQ, S1, "users", 1, "oom!", false);
    fake_mw_stop_when_idle(FCTL, 1);
    snprintf(path, sizeof(path), "%s/stderr.txt", (char *)*state);
    fflush(stderr);
    saved = dup(2);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
    assert_int_equal(wk_run(), 1);
    fflush(stderr);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    assert_no_misuse();
    assert_int_equal(fake_mw_find(0, FAKE_ACK, NULL),
                     -1); /* nothing half done */
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (strstr(buf, "worker stopped: out of memory") == NULL)
        fail_msg("the handler's error did not reach the log:\n%s", buf);
    assert_null(strstr(buf, "connection"));
}

/* CS_REPLICA_ID=auto takes the first index whose exclusive lock queue no
 * other process holds; an explicit index that is held fails (no wait with
 * WORKER_CLAIM_TIMEOUT_S=0). */
static void test_claim_replica(void **state)
{
    struct ctl_msg *m = tfix_ctl(CTL_HELLO, NULL);
    char path[512];
    long lock;

    wk_env("agg-q2", *state, 4, "agg-q2=3", "auto");
    fake_mw_hold_exclusive("replica-lock.agg-q2.0");
    wk_deliver("agg-q2.1", S1, "users", 0, "a", false);
    fake_mw_stop_when_idle("ctl.agg-q2.1", 1);
    assert_int_equal(wk_run(), 0);
    assert_no_misuse();
    lock = fake_mw_find(0, FAKE_DECLARE_QUEUE, "replica-lock.agg-q2.0");
    assert_int_equal(fake_mw_event((size_t)lock)->rc, MW_ERR_PROTOCOL);
    assert_true(fake_mw_find(0, FAKE_CONSUME, "agg-q2.1") >= 0);
    assert_int_equal(fake_mw_find(0, FAKE_CONSUME, "agg-q2.0"), -1);
    assert_true(tfix_find_ctl(0, CTL_HELLO, true, NULL, m) >= 0);
    assert_int_equal(m->replica, 1);
    snprintf(path, sizeof(path), "%s/agg-q2-1", (char *)*state);
    assert_true(tfix_exists(path));
    assert_int_equal(wk_batches(S1, 0), 1);

    fake_mw_reset();
    wk_env("agg-q2", *state, 4, "agg-q2=3", "0");
    fake_mw_hold_exclusive("replica-lock.agg-q2.0");
    assert_int_equal(wk_run(), 1);
    assert_no_misuse();
    assert_int_equal(fake_mw_find(0, FAKE_CONSUME, NULL), -1);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stateless_commit_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stateless_flush_failure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_handler_error_propagates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stale_acks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unroutable_results, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_claim_replica, setup, teardown),
    };

    /* Quiet by default; LOG_LEVEL=info shows the runtime's lines. */
    if (setenv("LOG_LEVEL", "error", 0) != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
