/*
 * test_elect.c - leader election among the monitors (monitor/elect.h)
 * without sockets: a simulated cluster of monitors on a fake clock, each
 * sending its CSMON1 every HB_MS to every other one it can reach (through
 * the real codec), in 10 ms steps. Scenarios: start-up orders, the leader's
 * death (timeout and exit seen), rejoining as follower, two leaders, a
 * second process with one id; plus the codec and the peer-list parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "monitor/elect.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define HB_MS 200
#define TIMEOUT_MS 1000
#define STEP_MS 10
#define N 4 /* ids 1..3, index 0 unused */

struct sim {
    int64_t now;
    struct elect *m[N];
    int64_t next_send[N];
    long pid[N];
    bool cut[N][N]; /* cut[a][b]: a's messages do not reach b */
    int changes[N];
};

static void sim_start(struct sim *s, int id)
{
    struct elect_cfg c = {.self = id,
                          .pid = s->pid[id] ? s->pid[id] + 100 : 1000 + id,
                          .incarnation = 1000000 + s->now * 1000 + id,
                          .peer_timeout_ms = TIMEOUT_MS};
    int j;

    s->pid[id] = c.pid;
    s->m[id] = elect_create(&c, s->now);
    assert_non_null(s->m[id]);
    for (j = 1; j < N; j++)
        elect_add_peer(s->m[id], j);
    s->next_send[id] = s->now;
}

/* kill -9: the others just stop hearing it. */
static void sim_kill(struct sim *s, int id)
{
    elect_destroy(s->m[id]);
    s->m[id] = NULL;
}

static void deliver(struct sim *s, int from)
{
    struct elect_msg msg, got;
    char buf[ELECT_MAX_DATAGRAM];
    int to, len;

    elect_self_msg(s->m[from], &msg);
    len = elect_format(&msg, buf, sizeof(buf));
    assert_true(len > 0);
    assert_int_equal(elect_parse(buf, (size_t)len, &got), 0);
    for (to = 1; to < N; to++)
        if (to != from && s->m[to] && !s->cut[from][to])
            assert_int_equal(elect_on_msg(s->m[to], &got, s->now), ELECT_OK);
}

static void sim_tick(struct sim *s)
{
    int id;

    for (id = 1; id < N; id++)
        if (s->m[id] && elect_tick(s->m[id], s->now)) {
            s->changes[id]++;
            s->next_send[id] = s->now; /* a change is told at once */
        }
    for (id = 1; id < N; id++)
        if (s->m[id] && s->now >= s->next_send[id]) {
            deliver(s, id);
            s->next_send[id] = s->now + HB_MS;
        }
}

static void sim_run(struct sim *s, int64_t ms)
{
    int64_t end = s->now + ms;

    while (s->now < end) {
        sim_tick(s);
        s->now += STEP_MS;
    }
}

/* Runs until every live monitor follows `leader`; returns the time it
 * took, or -1 after limit_ms. */
static int64_t sim_until_leader(struct sim *s, int leader, int64_t limit_ms)
{
    int64_t start = s->now;

    while (s->now - start <= limit_ms) {
        int id;
        bool all = true;

        sim_tick(s);
        for (id = 1; id < N; id++)
            if (s->m[id] && elect_leader(s->m[id]) != leader)
                all = false;
        if (all)
            return s->now - start;
        s->now += STEP_MS;
    }
    return -1;
}

static void sim_free(struct sim *s)
{
    int id;

    for (id = 1; id < N; id++)
        elect_destroy(s->m[id]);
}

/* ------------------------------------------------------------ codec */

/* A fresh cluster of monitors 1, 2 and 3, once 3 leads. */
static void sim_three(struct sim *s)
{
    memset(s, 0, sizeof(*s));
    sim_start(s, 1);
    sim_start(s, 2);
    sim_start(s, 3);
    assert_true(sim_until_leader(s, 3, 2000) >= 0);
}

static void test_codec(void **state)
{
    struct elect_msg m = {
        .id = 3, .pid = 4242, .leader = 2, .incarnation = 1764000000123456};
    struct elect_msg got;
    char buf[ELECT_MAX_DATAGRAM];
    int len;

    (void)state;
    len = elect_format(&m, buf, sizeof(buf));
    assert_string_equal(buf, "CSMON1 3 4242 2 1764000000123456\n");
    assert_int_equal(elect_parse(buf, (size_t)len, &got), 0);
    assert_int_equal(got.id, 3);
    assert_int_equal(got.pid, 4242);
    assert_int_equal(got.leader, 2);
    assert_true(got.incarnation == m.incarnation);
    assert_string_equal(got.host, "");
    snprintf(m.host, sizeof(m.host), "box-1");
    len = elect_format(&m, buf, sizeof(buf));
    assert_int_equal(elect_parse(buf, (size_t)len, &got), 0);
    assert_string_equal(got.host, "box-1");
    assert_int_equal(elect_format(&m, buf, 10), -1);
}

static void test_codec_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "CSMON1",
        "CSMON1 3 4242 2",
        "CSMON2 3 4242 2 1",
        "CSMON1 0 4242 2 1",
        "CSMON1 10 4242 2 1",
        "CSMON1 3 0 2 1",
        "CSMON1 3 -5 2 1",
        "CSMON1 3 42 10 1",
        "CSMON1 3 42 2 0",
        "CSMON1 3 42 2 1 host extra",
        "CSMON1 +3 42 2 1",
        "CSMON1 3x 42 2 1",
        "CSMON1 3 42 2 99999999999999999999",
        "CSHB1 filter-0 42 host 1 up",
    };
    struct elect_msg m;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(elect_parse(bad[i], strlen(bad[i]), &m), -1);
    assert_int_equal(elect_parse("CSMON1 3 4\0 2 1", 15, &m), -1);
    assert_int_equal(elect_parse("CSMON1 3 4 2 1\n", 15, &m), 0);
}

static void test_peers(void **state)
{
    struct elect_addr a[ELECT_MAX_ID];
    char err[128];

    (void)state;
    assert_int_equal(
        elect_parse_peers("1=127.0.0.1:7101,2=monitor-2:7100,3=h:1", a,
                          ELECT_MAX_ID, err, sizeof(err)),
        3);
    assert_int_equal(a[1].id, 2);
    assert_string_equal(a[1].host, "monitor-2");
    assert_string_equal(a[1].port, "7100");
    assert_int_equal(
        elect_parse_peers("1=a:1,1=b:2", a, ELECT_MAX_ID, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "twice"));
    assert_int_equal(
        elect_parse_peers("0=a:1", a, ELECT_MAX_ID, err, sizeof(err)), -1);
    assert_int_equal(
        elect_parse_peers("1=a", a, ELECT_MAX_ID, err, sizeof(err)), -1);
    assert_int_equal(
        elect_parse_peers("1=a:70000", a, ELECT_MAX_ID, err, sizeof(err)), -1);
    assert_int_equal(
        elect_parse_peers("1=:80", a, ELECT_MAX_ID, err, sizeof(err)), -1);
    assert_int_equal(elect_parse_peers("", a, ELECT_MAX_ID, err, sizeof(err)),
                     -1);
    assert_int_equal(elect_parse_peers("1=a:1,2=b:2", a, 1, err, sizeof(err)),
                     -1);
}

/* ------------------------------------------------------------ election */

static void test_simultaneous_start(void **state)
{
    struct sim s;
    int64_t t;

    (void)state;
    memset(&s, 0, sizeof(s));
    sim_start(&s, 1);
    sim_start(&s, 2);
    sim_start(&s, 3);
    sim_run(&s, TIMEOUT_MS - 2 * STEP_MS); /* listening: nobody claims yet */
    assert_int_equal(elect_leader(s.m[1]), 0);
    assert_int_equal(elect_leader(s.m[3]), 0);
    t = sim_until_leader(&s, 3, 1000);
    assert_true(t >= 0 && t <= 300);
    assert_true(elect_is_leader(s.m[3]));
    assert_false(elect_is_leader(s.m[2]));
    sim_run(&s, 5000); /* stable */
    assert_int_equal(elect_leader(s.m[1]), 3);
    assert_int_equal(s.changes[1], 1);
    assert_int_equal(s.changes[3], 1);
    sim_free(&s);
}

static void test_staggered_start_is_sticky(void **state)
{
    struct sim s;

    (void)state;
    memset(&s, 0, sizeof(s));
    sim_start(&s, 1);
    assert_true(sim_until_leader(&s, 1, 1500) >= 0); /* alone: leads */
    sim_run(&s, 2000);
    sim_start(&s, 3); /* a higher id joins: it follows */
    sim_run(&s, 3000);
    sim_start(&s, 2);
    sim_run(&s, 3000);
    assert_int_equal(elect_leader(s.m[1]), 1);
    assert_int_equal(elect_leader(s.m[2]), 1);
    assert_int_equal(elect_leader(s.m[3]), 1);
    assert_int_equal(s.changes[3], 1);
    assert_int_equal(s.changes[2], 1);
    sim_free(&s);
}

static void test_leader_dies_timeout(void **state)
{
    struct sim s;
    int64_t t;

    (void)state;
    sim_three(&s);
    sim_run(&s, 3000);
    sim_kill(&s, 3);
    t = sim_until_leader(&s, 2, 5000);
    print_message(
        "      new leader %lld ms after the old one died (peer timeout %d)\n",
        (long long)t, TIMEOUT_MS);
    assert_true(t >= TIMEOUT_MS - HB_MS && t <= TIMEOUT_MS + HB_MS);
    assert_true(t < 3000); /* the requirement */
    assert_true(elect_is_leader(s.m[2]));
    sim_free(&s);
}

static void test_leader_exit_seen(void **state)
{
    struct sim s;
    int64_t t;

    (void)state;
    sim_three(&s);
    sim_run(&s, 1000);
    sim_kill(&s, 3);
    elect_peer_exited(s.m[1], 3, s.pid[3]);
    elect_peer_exited(s.m[2], 3, s.pid[3]);
    elect_peer_exited(s.m[2], 1, 999); /* not its pid: nothing */
    t = sim_until_leader(&s, 2, 5000);
    assert_true(t >= 0 && t <= 2 * STEP_MS); /* no timeout to wait for */
    sim_free(&s);
}

static void test_rejoin_as_follower(void **state)
{
    struct sim s;

    (void)state;
    sim_three(&s);
    sim_kill(&s, 3);
    assert_true(sim_until_leader(&s, 2, 3000) >= 0);
    sim_run(&s, 500);
    sim_start(&s, 3); /* revived: learns the leader, does not take over */
    s.changes[2] = 0;
    sim_run(&s, HB_MS + STEP_MS); /* one message of the leader is enough */
    assert_int_equal(elect_leader(s.m[3]), 2);
    sim_run(&s, 5000);
    assert_int_equal(elect_leader(s.m[1]), 2);
    assert_int_equal(elect_leader(s.m[3]), 2);
    assert_true(elect_is_leader(s.m[2]));
    assert_int_equal(s.changes[2], 0);
    /* a follower that dies and comes back changes nothing either */
    sim_kill(&s, 1);
    sim_run(&s, 2000);
    sim_start(&s, 1);
    sim_run(&s, 3000);
    assert_int_equal(elect_leader(s.m[1]), 2);
    assert_int_equal(s.changes[2], 0);
    sim_free(&s);
}

static void test_two_leaders(void **state)
{
    struct sim s;
    int a, b;

    (void)state;
    memset(&s, 0, sizeof(s));
    for (a = 1; a < N; a++) /* a partition: nobody hears anybody */
        for (b = 1; b < N; b++)
            s.cut[a][b] = true;
    sim_start(&s, 1);
    sim_start(&s, 2);
    sim_run(&s, 1500);
    assert_true(elect_is_leader(s.m[1]));
    assert_true(elect_is_leader(s.m[2]));
    memset(s.cut, 0, sizeof(s.cut)); /* healed: the lower steps down at once */
    sim_run(&s, HB_MS + STEP_MS);
    assert_false(elect_is_leader(s.m[1]));
    assert_int_equal(elect_leader(s.m[1]), 2);
    assert_true(elect_is_leader(s.m[2]));
    sim_free(&s);
}

static void test_same_id(void **state)
{
    struct elect_cfg c = {
        .self = 2, .pid = 500, .incarnation = 2000, .peer_timeout_ms = 1000};
    struct elect_msg older = {
        .id = 2, .pid = 400, .leader = 0, .incarnation = 1000};
    struct elect_msg younger = {
        .id = 2, .pid = 600, .leader = 0, .incarnation = 3000};
    struct elect_msg echo = {
        .id = 2, .pid = 500, .leader = 0, .incarnation = 2000};
    struct elect_msg twin = {
        .id = 2, .pid = 501, .leader = 0, .incarnation = 2000};
    struct elect *e = elect_create(&c, 0);

    (void)state;
    assert_non_null(e);
    assert_int_equal(elect_on_msg(e, &older, 10), ELECT_CONFLICT_EXIT);
    assert_int_equal(elect_on_msg(e, &younger, 10), ELECT_CONFLICT_ANSWER);
    assert_int_equal(elect_on_msg(e, &echo, 10), ELECT_IGNORED);
    assert_int_equal(elect_on_msg(e, &twin, 10), ELECT_CONFLICT_ANSWER);
    elect_destroy(e);
}

static void test_peer_twins_and_late_messages(void **state)
{
    struct elect_cfg c = {
        .self = 1, .pid = 100, .incarnation = 5, .peer_timeout_ms = 1000};
    struct elect_msg p3 = {.id = 3, .pid = 300, .leader = 3, .incarnation = 10};
    struct elect_msg twin3 = {
        .id = 3, .pid = 301, .leader = 0, .incarnation = 20};
    struct elect_peer_info info[ELECT_MAX_ID];
    struct elect *e = elect_create(&c, 0);

    (void)state;
    assert_int_equal(elect_on_msg(e, &p3, 1100), ELECT_OK);
    assert_true(elect_tick(e, 1100));
    assert_int_equal(elect_leader(e), 3);
    /* a younger process with id 3 does not unseat the live one */
    assert_int_equal(elect_on_msg(e, &twin3, 1150), ELECT_IGNORED);
    assert_false(elect_tick(e, 1150));
    assert_int_equal(elect_peers(e, 1150, info, ELECT_MAX_ID), 1);
    assert_int_equal(info[0].pid, 300);
    /* its exit is seen: a late datagram of it changes nothing */
    elect_peer_exited(e, 3, 300);
    assert_true(elect_tick(e, 1160));
    assert_int_equal(elect_leader(e), 1); /* alone, past listening */
    assert_int_equal(elect_on_msg(e, &p3, 1170), ELECT_IGNORED);
    /* the new incarnation counts (and leads no more: it follows 1) */
    twin3.leader = 1;
    assert_int_equal(elect_on_msg(e, &twin3, 1180), ELECT_OK);
    assert_false(elect_tick(e, 1180));
    assert_true(elect_is_leader(e));
    elect_destroy(e);
}

static void test_deadlines_and_peers(void **state)
{
    struct elect_cfg c = {
        .self = 1, .pid = 100, .incarnation = 5, .peer_timeout_ms = 1000};
    struct elect_msg p2 = {.id = 2, .pid = 200, .leader = 0, .incarnation = 10};
    struct elect_peer_info info[ELECT_MAX_ID];
    struct elect *e = elect_create(&c, 0);

    (void)state;
    elect_add_peer(e, 1); /* itself: not a peer */
    elect_add_peer(e, 3);
    assert_true(elect_next_deadline(e, 0) == 1000); /* end of listening */
    assert_int_equal(elect_on_msg(e, &p2, 400), ELECT_OK);
    assert_true(elect_next_deadline(e, 400) == 1000);
    assert_int_equal(elect_on_msg(e, &p2, 900), ELECT_OK);
    assert_false(elect_tick(e, 1000)); /* 2 is higher: it will claim */
    assert_int_equal(elect_leader(e), 0);
    assert_true(elect_next_deadline(e, 1000) == 1900);
    assert_true(elect_tick(e, 1900)); /* 2 never claimed and is gone */
    assert_true(elect_is_leader(e));
    assert_true(elect_next_deadline(e, 1900) == INT64_MAX);
    assert_int_equal(elect_peers(e, 1900, info, ELECT_MAX_ID), 2);
    assert_int_equal(info[0].id, 2);
    assert_false(info[0].live);
    assert_true(info[0].age_ms == 1000);
    assert_int_equal(info[1].id, 3);
    assert_true(info[1].age_ms == -1);
    assert_int_equal(elect_term(e), 1);
    elect_destroy(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec),
        cmocka_unit_test(test_codec_rejects),
        cmocka_unit_test(test_peers),
        cmocka_unit_test(test_simultaneous_start),
        cmocka_unit_test(test_staggered_start_is_sticky),
        cmocka_unit_test(test_leader_dies_timeout),
        cmocka_unit_test(test_leader_exit_seen),
        cmocka_unit_test(test_rejoin_as_follower),
        cmocka_unit_test(test_two_leaders),
        cmocka_unit_test(test_same_id),
        cmocka_unit_test(test_peer_twins_and_late_messages),
        cmocka_unit_test(test_deadlines_and_peers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
