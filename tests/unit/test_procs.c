/*
 * test_procs.c - the monitors' slot table and decisions (monitor/procs.h)
 * on a fake clock: adoption at start, crash -> restart with a capped,
 * resetting backoff, hung -> kill + restart, start grace, bye / exit 0 /
 * deliberate stops, duplicates, stale exits and heartbeats, health, a
 * follower taking over. Every turn also checks that the next deadline lies
 * in the future (a monitor's loop never spins).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "monitor/procs.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MAX_ACT 16

static struct procs *mk(const char *const *names)
{
    struct procs_cfg cfg = PROCS_CFG_DEFAULTS;
    struct procs *p = procs_create(&cfg, 0);

    assert_non_null(p);
    procs_set_leader(p, true);
    for (; *names; names++)
        assert_int_equal(procs_add(p, *names), 0);
    return p;
}

static void event(struct procs *p, enum backend_event_kind kind,
                  const char *slot, long pid, int status, bool deliberate,
                  int64_t at)
{
    struct backend_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    snprintf(ev.slot, sizeof(ev.slot), "%s", slot);
    snprintf(ev.ref, sizeof(ev.ref), "%ld", pid);
    ev.pid = pid;
    ev.exit_status = status;
    ev.deliberate = deliberate;
    ev.at_ms = at;
    assert_int_equal(procs_on_event(p, &ev), 0);
}

static void running(struct procs *p, const char *slot, long pid, int64_t at)
{
    event(p, BEV_RUNNING, slot, pid, 0, false, at);
}

static void exited(struct procs *p, const char *slot, long pid, int status,
                   int64_t at)
{
    event(p, BEV_EXITED, slot, pid, status, false, at);
}

static void hb(struct procs *p, const char *slot, long pid, bool bye,
               int64_t at)
{
    char ref[32];

    snprintf(ref, sizeof(ref), "%ld", pid);
    procs_on_heartbeat(p, slot, ref, pid, bye, at);
}

/* One turn of a leader at now: tick, actions (into out), and the deadline
 * check. */
static size_t turn(struct procs *p, int64_t now, struct procs_action *out)
{
    size_t n;

    procs_tick(p, now);
    n = procs_due(p, now, out, MAX_ACT);
    assert_true(procs_next_deadline(p, now, true) > now);
    return n;
}

/* Expects exactly one action at now. */
static void expect(struct procs *p, int64_t now, enum procs_act_kind kind,
                   const char *slot, const char *ref)
{
    struct procs_action a[MAX_ACT];

    assert_int_equal(turn(p, now, a), 1);
    assert_int_equal(a[0].kind, kind);
    assert_string_equal(a[0].slot, slot);
    assert_string_equal(a[0].ref, ref);
}

static void expect_none(struct procs *p, int64_t now)
{
    struct procs_action a[MAX_ACT];

    assert_int_equal(turn(p, now, a), 0);
}

static struct procs_info get(const struct procs *p, const char *name,
                             int64_t now)
{
    struct procs_info in;
    size_t i;

    memset(&in, 0, sizeof(in));
    for (i = 0; i < procs_count(p); i++) {
        assert_int_equal(procs_info(p, i, now, &in), 0);
        if (strcmp(in.name, name) == 0)
            return in;
    }
    fail_msg("no slot %s", name);
    return in;
}

/* Heartbeats of pid every 500 ms in [from, to]. */
static void beat(struct procs *p, const char *slot, long pid, int64_t from,
                 int64_t to)
{
    int64_t t;

    for (t = from; t <= to; t += 500)
        hb(p, slot, pid, false, t);
}

/* ------------------------------------------------------------ tests */

static void test_adopt_then_start(void **state)
{
    static const char *const names[] = {"a", "b", NULL};
    struct procs *p = mk(names);

    (void)state;
    hb(p, "a", 10, false, 500);
    assert_int_equal(get(p, "a", 600).state, PROCS_UP);
    assert_int_equal(get(p, "b", 600).state, PROCS_UNKNOWN);
    beat(p, "a", 10, 1000, 1500);
    expect_none(p, 1000); /* still listening for running processes */
    expect(p, 1500, PROCS_START, "b", "");
    expect_none(p, 1510); /* issued: not again */
    running(p, "b", 77, 1512);
    assert_int_equal(get(p, "b", 1600).state, PROCS_STARTING);
    assert_int_equal(get(p, "b", 1600).pid, 77);
    hb(p, "b", 77, false, 1800);
    assert_int_equal(get(p, "b", 1800).state, PROCS_UP);
    assert_int_equal(get(p, "b", 1800).restarts, 0);
    assert_false(procs_has(p, "c"));
    hb(p, "c", 5, false, 1800); /* unknown slots are ignored */
    assert_int_equal(procs_count(p), 2);
    procs_destroy(p);
}

static void test_crash_backoff_cap_reset(void **state)
{
    static const char *const names[] = {"w", NULL};
    static const int64_t delays[] = {200, 400, 800, 1600, 3200, 5000, 5000};
    struct procs *p = mk(names);
    struct procs_info in;
    int64_t t = 2000;
    long pid = 10;
    size_t i;

    (void)state;
    hb(p, "w", pid, false, 1000);
    hb(p, "w", pid, false, 1900);
    for (i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
        exited(p, "w", pid, 137, t);
        assert_int_equal(get(p, "w", t).state, PROCS_DOWN);
        expect_none(p, t + delays[i] - 1);
        expect(p, t + delays[i], PROCS_START, "w", "");
        running(p, "w", ++pid, t + delays[i]);
        hb(p, "w", pid, false, t + delays[i] + 100);
        in = get(p, "w", t + delays[i] + 100);
        assert_int_equal(in.state, PROCS_UP);
        assert_int_equal(in.restarts, i + 1);
        assert_true(in.restart_ms == delays[i] + 100);
        t += delays[i] + 200;
    }
    assert_true(get(p, "w", t).detect_ms == 100);
    /* up for stable_ms: the next crash starts over at the minimum */
    beat(p, "w", pid, t, t + 30000);
    t += 30000;
    exited(p, "w", pid, -1, t);
    expect_none(p, t + 199);
    expect(p, t + 200, PROCS_START, "w", "");
    assert_int_equal(get(p, "w", t + 200).last_exit, -1);
    procs_destroy(p);
}

static void test_hung_kill_restart(void **state)
{
    static const char *const names[] = {"w", NULL};
    struct procs *p = mk(names);
    struct procs_info in;

    (void)state;
    beat(p, "w", 10, 0, 1000);
    expect_none(p, 5999);
    assert_int_equal(get(p, "w", 5999).state, PROCS_UP);
    expect(p, 6000, PROCS_KILL, "w", "10");
    assert_int_equal(get(p, "w", 6000).state, PROCS_HUNG);
    expect_none(p, 7999);
    expect(p, 8000, PROCS_KILL, "w", "10"); /* the exit was not seen: again */
    exited(p, "w", 10, 137, 8100);
    assert_int_equal(get(p, "w", 8100).state, PROCS_DOWN);
    expect(p, 8300, PROCS_START, "w", "");
    running(p, "w", 11, 8300);
    hb(p, "w", 11, false, 8500);
    in = get(p, "w", 8500);
    assert_int_equal(in.state, PROCS_UP);
    assert_int_equal(in.restarts, 1);
    assert_true(in.detect_ms == 5000);
    assert_true(in.restart_ms ==
                2500); /* detection at 6000 -> first heartbeat */
    procs_destroy(p);
}

static void test_hung_recovers(void **state)
{
    static const char *const names[] = {"w", NULL};
    struct procs *p = mk(names);

    (void)state;
    procs_set_leader(p, false); /* a follower only watches */
    beat(p, "w", 10, 0, 1000);
    procs_tick(p, 6000);
    assert_int_equal(get(p, "w", 6000).state, PROCS_HUNG);
    assert_true(procs_next_deadline(p, 6000, false) == INT64_MAX);
    hb(p, "w", 10, false, 6100); /* SIGCONT: it talks again */
    assert_int_equal(get(p, "w", 6100).state, PROCS_UP);
    assert_true(procs_next_deadline(p, 6100, false) == 11100);
    procs_destroy(p);
}

static void test_start_grace(void **state)
{
    static const char *const names[] = {"slow", "silent", NULL};
    struct procs *p = mk(names);
    struct procs_action a[MAX_ACT];

    (void)state;
    assert_int_equal(turn(p, 1500, a), 2);
    running(p, "slow", 20, 1500);
    running(p, "silent", 21, 1500);
    beat(p, "slow", 20, 25000, 31500); /* late, but within the grace */
    expect_none(p, 31499);
    assert_int_equal(get(p, "slow", 31499).state, PROCS_UP);
    expect(p, 31500, PROCS_KILL, "silent", "21");
    assert_int_equal(get(p, "silent", 31500).state, PROCS_HUNG);
    procs_destroy(p);
}

static void test_deliberate_stops(void **state)
{
    static const char *const names[] = {"bye", "zero", "docker", "back", NULL};
    struct procs *p = mk(names);
    int64_t t;

    (void)state;
    beat(p, "bye", 1, 0, 1000);
    beat(p, "zero", 2, 0, 1000);
    beat(p, "docker", 3, 0, 1000);
    beat(p, "back", 4, 0, 1000);
    hb(p, "bye", 1, true, 1200);
    assert_int_equal(get(p, "bye", 1200).state, PROCS_STOPPED);
    exited(p, "bye", 1, -1, 1300); /* not our child: status unknown */
    exited(p, "zero", 2, 0, 1300);
    event(p, BEV_EXITED, "docker", 3, 137, true, 1300);
    hb(p, "back", 4, true, 1300);
    exited(p, "back", 4, 143, 1400);
    for (t = 1400; t < 60000; t += 700) /* never restarted */
        expect_none(p, t);
    assert_int_equal(get(p, "bye", t).state, PROCS_STOPPED);
    assert_int_equal(get(p, "zero", t).state, PROCS_STOPPED);
    assert_int_equal(get(p, "docker", t).state, PROCS_STOPPED);
    assert_int_equal(get(p, "zero", t).last_exit, 0);
    assert_false(get(p, "bye", t).unhealthy); /* and healthy */
    hb(p, "back", 5, false, t);               /* someone started "back" again */
    assert_int_equal(get(p, "back", t).state, PROCS_UP);
    assert_int_equal(get(p, "back", t).pid, 5);
    procs_destroy(p);
}

static void test_duplicate_keeps_older(void **state)
{
    static const char *const names[] = {"w", NULL};
    struct procs *p = mk(names);
    struct procs_info in;

    (void)state;
    beat(p, "w", 10, 0, 2000);
    hb(p, "w", 11, false, 2000); /* a second leader started another */
    hb(p, "w", 10, false, 2500);
    hb(p, "w", 11, false, 2500);
    expect_none(p, 2999); /* it gets a moment (it may exit by itself) */
    hb(p, "w", 10, false, 3000);
    expect(p, 3000, PROCS_KILL, "w", "11");
    hb(p, "w", 11, false, 3001);
    expect_none(p, 3002);
    exited(p, "w", 11, 137, 3010); /* not the current one: nothing to do */
    in = get(p, "w", 3010);
    assert_int_equal(in.state, PROCS_UP);
    assert_string_equal(in.ref, "10");
    assert_int_equal(in.restarts, 0);
    hb(p, "w", 10, false, 3500);
    expect_none(p, 4000);
    procs_destroy(p);
}

static void test_duplicate_from_our_start(void **state)
{
    static const char *const names[] = {"w", NULL};
    struct procs *p = mk(names);

    (void)state;
    beat(p, "w", 10, 0, 1000);
    exited(p, "w", 10, 1, 1100);
    expect(p, 1300, PROCS_START, "w", "");
    running(p, "w", 12, 1300);   /* ours, still silent */
    hb(p, "w", 13, false, 1350); /* the old leader's, started before */
    assert_string_equal(get(p, "w", 1350).ref, "13");
    assert_int_equal(get(p, "w", 1350).state, PROCS_UP);
    hb(p, "w", 12, false, 1400); /* ours talks too: it is the newer */
    hb(p, "w", 13, false, 1800);
    expect_none(p, 2399);
    expect(p, 2400, PROCS_KILL, "w", "12");
    assert_string_equal(get(p, "w", 2400).ref, "13");
    procs_destroy(p);
}

static void test_set_aside_start_taken_back(void **state)
{
    static const char *const names[] = {"w", "v", NULL};
    struct procs *p = mk(names);

    (void)state;
    beat(p, "w", 10, 0, 1000);
    beat(p, "v", 20, 0, 1000);
    exited(p, "w", 10, 1, 1100);
    exited(p, "v", 20, 1, 1100);
    expect_none(p, 1299);
    assert_int_equal(turn(p, 1300, (struct procs_action[MAX_ACT]){0}), 2);
    running(p, "w", 12, 1300); /* ours, silent for now */
    running(p, "v", 22, 1300);
    hb(p, "w", 13, false,
       1350); /* another leader's: it counts, 12 is set aside */
    hb(p, "v", 23, false, 1350);
    exited(p, "w", 13, 137, 1400); /* and dies: restart */
    exited(p, "v", 23, 137, 1400);
    /* v's set-aside incarnation talks before the restart: it is taken back */
    hb(p, "v", 22, false, 1500);
    assert_int_equal(get(p, "v", 1500).state, PROCS_UP);
    assert_string_equal(get(p, "v", 1500).ref, "22");
    assert_int_equal(get(p, "v", 1500).restarts, 2);
    expect(p, 1800, PROCS_START, "w", ""); /* the backoff doubled */
    running(p, "w", 12, 1800); /* the start is idempotent: 12 runs still */
    assert_string_equal(get(p, "w", 1800).ref, "12");
    assert_int_equal(get(p, "w", 1800).state, PROCS_STARTING);
    hb(p, "w", 12, false, 1900);
    hb(p, "v", 22, false, 1900);
    assert_int_equal(get(p, "w", 1900).state, PROCS_UP);
    expect_none(p, 1900);
    procs_destroy(p);
}

static void test_other_takes_over(void **state)
{
    static const char *const names[] = {"w", NULL};
    struct procs *p = mk(names);

    (void)state;
    procs_set_leader(p, false);
    beat(p, "w", 10, 0, 2000);
    beat(p, "w", 11, 1000, 2000);  /* a duplicate, not killed yet */
    exited(p, "w", 10, 137, 2100); /* the older dies: the other is it */
    assert_int_equal(get(p, "w", 2100).state, PROCS_UP);
    assert_string_equal(get(p, "w", 2100).ref, "11");
    procs_destroy(p);
}

static void test_stale_exit_and_heartbeat(void **state)
{
    static const char *const names[] = {"w", NULL};
    struct procs *p = mk(names);
    struct procs_info in;

    (void)state;
    beat(p, "w", 10, 0, 1000);
    exited(p, "w", 10, 137, 1100);
    expect(p, 1300, PROCS_START, "w", "");
    running(p, "w", 11, 1300);
    hb(p, "w", 10, false, 1310); /* a late datagram of the dead one */
    assert_string_equal(get(p, "w", 1310).ref, "11");
    assert_int_equal(get(p, "w", 1310).state, PROCS_STARTING);
    hb(p, "w", 11, false, 1400);
    exited(p, "w", 10, 137, 1500); /* reported twice */
    exited(p, "w", 999, 1, 1500);  /* never known */
    in = get(p, "w", 1500);
    assert_int_equal(in.state, PROCS_UP);
    assert_string_equal(in.ref, "11");
    assert_int_equal(in.restarts, 1);
    expect_none(p, 1600);
    procs_destroy(p);
}

static void test_health(void **state)
{
    static const char *const names[] = {"never", "loop", "ok", NULL};
    struct procs *p = mk(names);
    struct procs_action a[MAX_ACT];
    int64_t t = 1500;
    long pid = 100;
    size_t i, n;

    (void)state;
    beat(p, "ok", 1, 0, 30000);
    assert_false(get(p, "never", 10000).unhealthy);
    assert_true(get(p, "never", 10001).unhealthy);
    assert_true(get(p, "never", 10001).down_ms == 10001);
    /* "loop" exits 1 at once, every time: down since its first start */
    procs_set_leader(p, true);
    while (t < 30000) {
        n = turn(p, t, a);
        for (i = 0; i < n; i++)
            if (a[i].kind == PROCS_START && strcmp(a[i].slot, "loop") == 0) {
                running(p, "loop", ++pid, t);
                exited(p, "loop", pid, 1, t + 1);
            } else if (a[i].kind == PROCS_START) {
                running(p, a[i].slot, ++pid, t); /* "never": starts, silent */
            }
        t += 50;
    }
    assert_true(get(p, "loop", t).unhealthy);
    assert_true(get(p, "loop", t).restarts >= 6);
    assert_int_equal(get(p, "loop", t).last_exit, 1);
    assert_false(get(p, "ok", 30000).unhealthy);
    assert_int_equal(get(p, "ok", 30000).state, PROCS_UP);
    assert_true(get(p, "ok", 30000).up_ms == 30000);
    procs_destroy(p);
}

static void test_follower_takes_over(void **state)
{
    static const char *const names[] = {"w", "x", NULL};
    struct procs *p = mk(names);

    (void)state;
    procs_set_leader(p, false);
    beat(p, "w", 10, 0, 1000);
    beat(p, "x", 20, 0, 3000);
    exited(p, "w", 10, -1, 1100);
    procs_tick(p, 5000);
    assert_int_equal(get(p, "w", 5000).state, PROCS_DOWN);
    /* a follower has no action deadlines: only x's hang */
    assert_true(procs_next_deadline(p, 5000, false) == 8000);
    procs_set_leader(p, true); /* the leader died: this one takes over */
    expect(p, 5000, PROCS_START, "w", "");
    procs_destroy(p);
}

static void test_start_failed_and_gone(void **state)
{
    static const char *const names[] = {"w", "x", NULL};
    struct procs *p = mk(names);
    struct procs_action a[MAX_ACT];
    struct backend_event ev;

    (void)state;
    assert_int_equal(turn(p, 1500, a), 2);
    procs_start_failed(p, "w", 1500);
    assert_int_equal(get(p, "w", 1500).state, PROCS_DOWN);
    running(p, "x", 30, 1500);
    expect(p, 1700, PROCS_START, "w", "");
    memset(&ev, 0, sizeof(ev));
    ev.kind = BEV_GONE;
    snprintf(ev.slot, sizeof(ev.slot), "x");
    assert_int_equal(procs_on_event(p, &ev), 0);
    assert_int_equal(procs_count(p), 1);
    assert_false(procs_has(p, "x"));
    ev.kind = BEV_SLOT;
    snprintf(ev.slot, sizeof(ev.slot), "y");
    assert_int_equal(procs_on_event(p, &ev), 0);
    assert_true(procs_has(p, "y"));
    assert_int_equal(procs_add(p, ""), -1);
    assert_string_equal(procs_state_name(PROCS_HUNG), "hung");
    procs_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adopt_then_start),
        cmocka_unit_test(test_crash_backoff_cap_reset),
        cmocka_unit_test(test_hung_kill_restart),
        cmocka_unit_test(test_hung_recovers),
        cmocka_unit_test(test_start_grace),
        cmocka_unit_test(test_deliberate_stops),
        cmocka_unit_test(test_duplicate_keeps_older),
        cmocka_unit_test(test_duplicate_from_our_start),
        cmocka_unit_test(test_set_aside_start_taken_back),
        cmocka_unit_test(test_other_takes_over),
        cmocka_unit_test(test_stale_exit_and_heartbeat),
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_follower_takes_over),
        cmocka_unit_test(test_start_failed_and_gone),
    };

    log_set_level(LOG_ERROR); /* decisions are logged at info */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
