/*
 * test_coord_service.c - the coordinator process (coordinator/service.c)
 * run in-process through coord_service_main() against fake_mw: its group
 * commit (each message logged on disk, what it caused confirmed by the
 * broker, then the ack) and its recovery: a run that dies midway leaves
 * logs from which the next run rebuilds the machine and, before consuming
 * anything, re-sends exactly the drain/finish commands it was waiting on;
 * a session that then completes has its log deleted and a redelivered
 * session_start for it is ignored.
 *
 * Replica plan: every stage 1. Session A reaches "filter finishing" in run
 * 1, session B "filter draining" (its last message is logged but never
 * acked: the broker redelivers it to run 2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "coordinator/service.h"
#include "ctl.h"
#include "fake_mw.h"
#include "plan.h"
#include "tfix.h"
#include "tombs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SA "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define SB "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
#define CQ PLAN_COORD_QUEUE

struct probe {
    const char *root;
    int acks_logged, acks_tombstoned, acks_bad;
    int early_checked, early_on_disk;
};

static int setup(void **state)
{
    fake_mw_reset();
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

static int run_coordinator(const char *root)
{
    char prog[] = "coordinator";
    char *argv[] = {prog, NULL};

    if (setenv("CS_REPLICAS", "", 1) != 0 ||
        setenv("CS_STATE_DIR", root, 1) != 0 ||
        setenv("CS_FSYNC", "batch", 1) != 0 ||
        setenv("COORD_RESEND_MS", "0", 1) != 0 || /* no timer resends */
        setenv("COORD_BATCH", "2", 1) != 0 || unsetenv("CS_FAULT") != 0)
        abort();
    return coord_service_main(1, argv);
}

/* ------------------------------------------------------------ messages */

static void send(struct ctl_msg *m, bool redelivered)
{
    fake_mw_deliver_ctl(CQ, m, redelivered);
    free(m);
}

static void send_start(const char *sess, const char *reply_to, bool redelivered)
{
    struct ctl_msg *m = tfix_ctl(CTL_SESSION_START, sess);

    snprintf(m->reply_to, sizeof(m->reply_to), "%s", reply_to);
    send(m, redelivered);
}

/* A done from replica 0 of stage; one flow "<q>/users=n" unless q is NULL. */
static void send_done(const char *sess, const char *stage, const char *q,
                      int64_t n, bool redelivered)
{
    struct ctl_msg *m = tfix_ctl(CTL_DONE, sess);

    snprintf(m->stage, sizeof(m->stage), "%s", stage);
    if (q)
        assert_int_equal(ctl_set_flow(m, q, "users", n), 0);
    send(m, redelivered);
}

static void send_report(const char *sess, int64_t lo, int64_t hi)
{
    struct ctl_msg *m = tfix_ctl(CTL_REPORT, sess);

    snprintf(m->stage, sizeof(m->stage), "filter");
    assert_true(ctl_begin_flow(m, "filter.users", "users") >= 0);
    assert_int_equal(ctl_add_range(m, lo, hi), 0);
    send(m, false);
}

/* ------------------------------------------------------------ checks */

static bool session_scoped(enum ctl_type t)
{
    return t == CTL_SESSION_START || t == CTL_DONE || t == CTL_REPORT ||
           t == CTL_ABORT;
}

static bool on_disk(const char *root, const char *name, const void *p,
                    size_t len)
{
    struct tfix_log l;
    char path[512];
    bool has;

    tfix_log_path(path, sizeof(path), root, "coordinator", name);
    tfix_log_read(path, &l);
    has = tfix_log_has(&l, p, len);
    tfix_log_free(&l);
    return has;
}

/* At each ack, the acked message is in its session's log on disk, or its
 * session ended and the tombstone is on disk. At the second delivery of a
 * run the first message is handled but not committed: not on disk yet. */
static void probe_hook(const struct fake_ev *ev, void *arg)
{
    struct probe *p = arg;
    struct ctl_msg *m;
    const struct fake_ev *d;

    if (ev->op == FAKE_NEXT && ev->rc == 0 && ev->tag == 2) {
        d = fake_mw_delivery(1);
        p->early_checked++;
        p->early_on_disk += on_disk(p->root, d->meta.session, d->body, d->len);
    }
    if (ev->op != FAKE_ACK || ev->rc != 0 ||
        (d = fake_mw_delivery(ev->tag)) == NULL)
        return;
    m = tfix_ctl(CTL_SHUTDOWN, NULL);
    if (fake_mw_ctl(d, m) == 0 && session_scoped(m->type)) {
        if (on_disk(p->root, m->session, d->body, d->len))
            p->acks_logged++;
        else if (on_disk(p->root, TOMBS_LOG, m->session, strlen(m->session)))
            p->acks_tombstoned++;
        else
            p->acks_bad++;
    }
    free(m);
}

/* Every ack comes after a successful flush that confirmed every publish
 * before it; every delivery is acked once. Returns the deliveries. */
static int check_commits(void)
{
    size_t i;
    int n = 0;

    for (i = 0; i < fake_mw_nevents(); i++) {
        const struct fake_ev *e = fake_mw_event(i);

        if (e->op == FAKE_ACK)
            assert_int_equal(fake_mw_unconfirmed_before(i), -1);
        if (e->op == FAKE_NEXT && e->rc == 0) {
            assert_int_equal(fake_mw_acks(e->tag), 1);
            n++;
        }
    }
    return n;
}

/* The command publishes (to cs.control) in [from, to). */
static int commands(size_t from, size_t to)
{
    int n = 0;

    for (; from < to; from++) {
        const struct fake_ev *e = fake_mw_event(from);

        n += e->op == FAKE_PUBLISH &&
             strcmp(e->exchange, PLAN_CONTROL_EXCHANGE) == 0;
    }
    return n;
}

static long first_delivery(void)
{
    size_t i;

    for (i = 0; i < fake_mw_nevents(); i++)
        if (fake_mw_event(i)->op == FAKE_NEXT && fake_mw_event(i)->rc == 0)
            return (long)i;
    return -1;
}

/* Asserts the finish of `sess` to stage `stage` published at i. */
static void assert_finish(size_t i, const char *sess, const char *stage,
                          const char *reply_to, int nflows)
{
    const struct fake_ev *e = fake_mw_event(i);
    struct ctl_msg *m = tfix_ctl(CTL_FINISH, NULL);

    assert_true(tfix_pub_ctl(e, CTL_FINISH, false, m));
    assert_string_equal(e->exchange, PLAN_CONTROL_EXCHANGE);
    assert_string_equal(e->key, stage);
    assert_string_equal(m->session, sess);
    assert_string_equal(m->reply_to, reply_to);
    assert_int_equal(m->nflows, nflows);
    free(m);
}

/* Run 1: A is started, its gateway done declares filter.users/users=2, the
 * filter reports both ids (drain, then finish to the filter); B is started
 * and its gateway done is handled (drain) but never committed: the
 * connection dies for good. */
static void first_run(const char *root, struct probe *p)
{
    struct ctl_msg *m = tfix_ctl(CTL_DRAIN, NULL);
    long dr, fin;

    send_start(SA, "gw-1", false);
    send_done(SA, "gateway", "filter.users", 2, false);
    send_report(SA, 0, 1);
    send_start(SB, "gw-2", false);
    send_done(SB, "gateway", "filter.users", 1, false);
    fake_mw_script_rc(MW_ERR_CLOSED);
    assert_int_equal(run_coordinator(root), 1);
    assert_no_misuse();

    dr = tfix_find_ctl(0, CTL_DRAIN, false, SA, m);
    assert_true(dr >= 0);
    assert_string_equal(fake_mw_event((size_t)dr)->key, "filter");
    assert_string_equal(fake_mw_event((size_t)dr)->queue, "ctl.filter.0");
    fin = tfix_find_ctl(0, CTL_FINISH, false, SA, m);
    assert_true(fin > dr);
    assert_finish((size_t)fin, SA, "filter", "gw-1", 1);
    assert_true(tfix_find_ctl(0, CTL_DRAIN, false, SB, m) > fin);
    assert_int_equal(fake_mw_acks(1) + fake_mw_acks(2) + fake_mw_acks(3) +
                         fake_mw_acks(4),
                     4);
    assert_int_equal(fake_mw_acks(5), 0);
    assert_int_equal(p->acks_logged, 4);
    assert_int_equal(p->acks_bad, 0);
    assert_int_equal(p->early_checked, 1);
    assert_int_equal(p->early_on_disk, 0);
    free(m);
}

/* Before its first delivery run 2 re-sends exactly finish(A) and drain(B)
 * to the filter and drain(A) to the three aggregators (released by A's
 * finishing filter), and confirms them. */
static void check_resume(void)
{
    struct ctl_msg *m = tfix_ctl(CTL_DRAIN, NULL);
    long first = first_delivery(), fin, dr, last;

    assert_true(first > fake_mw_find(0, FAKE_CONSUME, CQ));
    assert_int_equal(commands(0, (size_t)first), 5);
    fin = tfix_find_ctl(0, CTL_FINISH, false, SA, m);
    assert_true(fin >= 0 && fin < first);
    assert_finish((size_t)fin, SA, "filter", "gw-1", 1);
    assert_string_equal(m->flows[0].queue, "filter.users");
    assert_int_equal(m->flows[0].n, 2);
    dr = tfix_find_ctl(0, CTL_DRAIN, false, SB, m);
    assert_true(dr >= 0 && dr < first);
    assert_string_equal(fake_mw_event((size_t)dr)->key, "filter");
    assert_int_equal(fake_mw_event((size_t)dr)->routed, 1);
    last = fin > dr ? fin : dr;
    assert_true(fake_mw_find((size_t)last, FAKE_FLUSH, NULL) < first);
    assert_int_equal(fake_mw_unconfirmed_before((size_t)first), -1);
    free(m);
}

/* No publish about A after the redelivered session_start at index i. */
static void assert_silent_about(const char *sess, size_t i)
{
    for (; i < fake_mw_nevents(); i++) {
        const struct fake_ev *e = fake_mw_event(i);

        if (e->op == FAKE_PUBLISH)
            assert_string_not_equal(e->meta.session, sess);
    }
}

/* Index of the successful delivery of a `type` message of sess that was
 * (or was not) redelivered, or -1. */
static long find_delivery(const char *type, const char *sess, bool redelivered)
{
    size_t i;

    for (i = 0; i < fake_mw_nevents(); i++) {
        const struct fake_ev *e = fake_mw_event(i);

        if (e->op == FAKE_NEXT && e->rc == 0 && e->redelivered == redelivered &&
            strcmp(e->meta.stream, type) == 0 &&
            strcmp(e->meta.session, sess) == 0)
            return (long)i;
    }
    return -1;
}

/* The finish of A to the sink (after every aggregator's done) carries the
 * session's reply_to; the session's end is followed by no command for it. */
static void check_completion(void)
{
    struct ctl_msg *m = tfix_ctl(CTL_FINISH, NULL);
    long i = -1, sink = -1, late;

    while ((i = tfix_find_ctl((size_t)(i + 1), CTL_FINISH, false, SA, m)) >= 0)
        if (strcmp(fake_mw_event((size_t)i)->key, "sink") == 0)
            sink = i;
    assert_true(sink > find_delivery("done", SA, false));
    assert_finish((size_t)sink, SA, "sink", "gw-1", 0);
    late = find_delivery("session_start", SA, true);
    assert_true(late > sink);
    assert_silent_about(SA, (size_t)late);
    assert_true(tfix_find_ctl((size_t)late, CTL_SHUTDOWN, false, NULL, m) >
                late);
    free(m);
}

static void test_replay_and_resume(void **state)
{
    struct probe p = {*state, 0, 0, 0, 0, 0};
    char path[512];

    fake_mw_set_hook(probe_hook, &p);
    first_run(*state, &p);

    fake_mw_clear_events();
    memset(&p, 0, sizeof(p));
    p.root = *state;
    fake_mw_requeue_unacked(); /* B's gateway done again */
    send_done(SA, "filter", NULL, 0, false);
    send_done(SA, "agg-q2", NULL, 0, false);
    send_done(SA, "agg-q3", NULL, 0, false);
    send_done(SA, "agg-q4", NULL, 0, false);
    send_done(SA, "sink", NULL, 0, false);
    send_start(SA, "gw-1", true);
    fake_mw_stop_when_idle(CQ, 1);
    assert_int_equal(run_coordinator(*state), 0);
    assert_no_misuse();

    check_resume();
    check_completion();
    assert_int_equal(check_commits(), 8);
    /* COORD_BATCH=2: the batch that ends A deletes its log before the acks */
    assert_int_equal(p.acks_logged, 4);
    assert_int_equal(p.acks_tombstoned, 3);
    assert_int_equal(p.acks_bad, 0);

    tfix_log_path(path, sizeof(path), *state, "coordinator", SA);
    assert_false(tfix_exists(path));
    tfix_log_path(path, sizeof(path), *state, "coordinator", SB);
    assert_true(tfix_exists(path));
    assert_true(on_disk(*state, TOMBS_LOG, SA, strlen(SA)));
}

/* A flush that fails at the commit (flush 1 is start-up's) stops the
 * coordinator with status 1 before it acks anything: the logged messages
 * come back from the broker and from the log. */
static void test_flush_failure(void **state)
{
    char path[512];

    fake_mw_fail_nth(FAKE_FLUSH, 2, MW_ERR_CLOSED);
    send_start(SA, "gw-1", false);
    send_done(SA, "gateway", "filter.users", 2, false);
    fake_mw_stop_when_idle(CQ, 1);
    assert_int_equal(run_coordinator(*state), 1);
    assert_no_misuse();
    assert_int_equal(fake_mw_find(0, FAKE_ACK, NULL), -1);
    assert_int_equal(tfix_count_ctl(0, CTL_DRAIN, false, SA), 1);
    tfix_log_path(path, sizeof(path), *state, "coordinator", SA);
    assert_true(tfix_exists(path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replay_and_resume, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_flush_failure, setup, teardown),
    };

    /* Quiet by default; LOG_LEVEL=info shows the coordinator's lines. */
    if (setenv("LOG_LEVEL", "error", 0) != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
