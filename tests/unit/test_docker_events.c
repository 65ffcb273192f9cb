/*
 * test_docker_events.c - the Docker backend's pure core (monitor/dkstate.h):
 * parsing of event lines, listings and inspections as the Engine API sends
 * them, and the container table on a fake clock: a start makes a slot; a
 * die with exit 0 or followed by a stop event is deliberate; a lone
 * non-zero die is a crash once the grace ends, one after SIGKILL alone
 * (docker kill) at once; a pause is deliberate; removal; Compose's recreate
 * (temporary name, rename, start); listings standing in for missed events
 * and lagging behind them; heartbeat matching by hostname; the outcome of
 * a start racing with the event stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "monitor/dkstate.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROJ "cs-test"
#define GRACE 300
#define ID_A "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111"
#define ID_B "bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222"

/* One event line as dockerd writes it (labels among the attributes). */
static int line(char *buf, size_t size, const char *action, const char *id,
                const char *name, const char *extra)
{
    return snprintf(
        buf, size,
        "{\"status\":\"%s\",\"id\":\"%s\",\"from\":\"img\",\"Type\":"
        "\"container\","
        "\"Action\":\"%s\",\"Actor\":{\"ID\":\"%s\",\"Attributes\":{"
        "\"com.docker.compose.project\":\"" PROJ "\","
        "\"coffee-stream.keepalive\":\"true\",\"image\":\"img\","
        "\"name\":\"%s\"%s}},\"scope\":\"local\",\"time\":1795991966,"
        "\"timeNano\":1795991966123456789}",
        action, id, action, id, name, extra);
}

/* Feeds one event to the table at now. */
static void feed(struct dk_table *t, const char *action, const char *id,
                 const char *name, int code, int64_t now)
{
    char buf[1024], extra[64] = "";
    struct dk_event ev;

    if (code >= 0)
        snprintf(extra, sizeof(extra), ",\"exitCode\":\"%d\"", code);
    line(buf, sizeof(buf), action, id, name, extra);
    assert_int_equal(dk_parse_event(buf, strlen(buf), PROJ, &ev), DK_PARSE_OK);
    assert_int_equal(dkt_on_event(t, &ev, now), 0);
}

/* A kill event with signal sig at now. */
static void feed_kill(struct dk_table *t, const char *id, const char *name,
                      int sig, int64_t now)
{
    char buf[1024], extra[64];
    struct dk_event ev;

    snprintf(extra, sizeof(extra), ",\"signal\":\"%d\"", sig);
    line(buf, sizeof(buf), "kill", id, name, extra);
    assert_int_equal(dk_parse_event(buf, strlen(buf), PROJ, &ev), DK_PARSE_OK);
    assert_int_equal(ev.action, DK_KILL);
    assert_int_equal(ev.signal, sig);
    assert_int_equal(dkt_on_event(t, &ev, now), 0);
}

/* Takes the queued events: exactly `want` of them into out. */
static void take(struct dk_table *t, struct backend_event *out, size_t want)
{
    struct backend_event all[32];
    size_t n = dkt_take(t, all, 32);

    if (n != want) {
        size_t i;

        for (i = 0; i < n; i++)
            print_message("event %zu: kind %d slot %s\n", i, all[i].kind,
                          all[i].slot);
        fail_msg("%zu events, want %zu", n, want);
    }
    if (out)
        memcpy(out, all, n * sizeof(*out));
}

static void is(const struct backend_event *e, enum backend_event_kind kind,
               const char *slot, const char *ref)
{
    assert_int_equal(e->kind, kind);
    assert_string_equal(e->slot, slot);
    assert_string_equal(e->ref, ref);
}

static void is_exit(const struct backend_event *e, const char *slot,
                    const char *ref, int status, bool deliberate)
{
    is(e, BEV_EXITED, slot, ref);
    assert_int_equal(e->exit_status, status);
    assert_int_equal(e->deliberate, deliberate);
}

static struct dk_ctr ctr(const char *id, const char *name, enum dk_state st,
                         int code)
{
    struct dk_ctr c;

    memset(&c, 0, sizeof(c));
    snprintf(c.id, sizeof(c.id), "%s", id);
    snprintf(c.name, sizeof(c.name), "%s", name);
    c.state = st;
    c.exit_code = code;
    c.keep = true;
    return c;
}

/* A table where container A (slot "w-1") was seen starting at 0. */
static struct dk_table *running_a(void)
{
    struct dk_table *t = dkt_create(GRACE);
    struct backend_event ev[2];

    assert_non_null(t);
    feed(t, "start", ID_A, "w-1", -1, 0);
    take(t, ev, 2);
    is(&ev[0], BEV_SLOT, "w-1", "");
    is(&ev[1], BEV_RUNNING, "w-1", ID_A);
    return t;
}

/* ------------------------------------------------------------ parsing */

static void test_parse_event(void **state)
{
    char buf[1024];
    struct dk_event ev;

    (void)state;
    line(buf, sizeof(buf), "die", ID_A, "cs-test-filter-1",
         ",\"exitCode\":\"137\"");
    assert_int_equal(dk_parse_event(buf, strlen(buf), PROJ, &ev), DK_PARSE_OK);
    assert_int_equal(ev.action, DK_DIE);
    assert_string_equal(ev.id, ID_A);
    assert_string_equal(ev.name, "cs-test-filter-1");
    assert_int_equal(ev.exit_code, 137);
    /* another project's, an action of no interest */
    assert_int_equal(dk_parse_event(buf, strlen(buf), "other", &ev),
                     DK_PARSE_SKIP);
    line(buf, sizeof(buf), "exec_start: curl", ID_A, "x", "");
    assert_int_equal(dk_parse_event(buf, strlen(buf), PROJ, &ev),
                     DK_PARSE_SKIP);
    /* a one-off container (compose run) is not kept alive */
    line(buf, sizeof(buf), "start", ID_A, "x",
         ",\"com.docker.compose.oneoff\":\"True\"");
    assert_int_equal(dk_parse_event(buf, strlen(buf), PROJ, &ev),
                     DK_PARSE_SKIP);
    /* nor one without the label */
    snprintf(
        buf, sizeof(buf),
        "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":"
        "{\"ID\":\"%s\",\"Attributes\":{\"com.docker.compose.project\":\"" PROJ
        "\",\"name\":\"rabbitmq\"}}}",
        ID_A);
    assert_int_equal(dk_parse_event(buf, strlen(buf), PROJ, &ev),
                     DK_PARSE_SKIP);
    snprintf(buf, sizeof(buf),
             "{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":"
             "{\"ID\":\"n\",\"Attributes\":{}}}");
    assert_int_equal(dk_parse_event(buf, strlen(buf), PROJ, &ev),
                     DK_PARSE_SKIP);
    /* not an event, or a broken one */
    assert_int_equal(dk_parse_event("{\"message\":", 11, PROJ, &ev),
                     DK_PARSE_BAD);
    assert_int_equal(dk_parse_event("[]", 2, PROJ, &ev), DK_PARSE_BAD);
    line(buf, sizeof(buf), "start", "not-hex-at-all!", "x", "");
    assert_int_equal(dk_parse_event(buf, strlen(buf), PROJ, &ev), DK_PARSE_BAD);
    line(buf, sizeof(buf), "start", ID_A, "", "");
    assert_int_equal(dk_parse_event(buf, strlen(buf), PROJ, &ev), DK_PARSE_BAD);
    line(buf, sizeof(buf), "die", ID_A, "x", ",\"exitCode\":\"-3\"");
    assert_int_equal(dk_parse_event(buf, strlen(buf), PROJ, &ev), DK_PARSE_OK);
    assert_int_equal(ev.exit_code, -1);
}

static void test_parse_list_and_inspect(void **state)
{
    static const char list[] =
        "[{\"Id\":\"" ID_A "\",\"Names\":[\"/cs-test-sink-1\"],\"Labels\":{"
        "\"com.docker.compose.project\":\"cs-test\",\"coffee-stream."
        "keepalive\":\"true\"},"
        "\"State\":\"exited\",\"Status\":\"Exited (137) 3 seconds ago\"},"
        "{\"Id\":\"" ID_B "\",\"Names\":[\"/cs-test-gateway-1\"],\"Labels\":{"
        "\"com.docker.compose.project\":\"cs-test\",\"coffee-stream."
        "keepalive\":\"true\"},"
        "\"State\":\"paused\",\"Status\":\"Up 2 minutes (Paused)\"},"
        "{\"Id\":\"" ID_B "\",\"Names\":[\"/other\"],\"Labels\":{"
        "\"com.docker.compose.project\":\"other\",\"coffee-stream.keepalive\":"
        "\"true\"},"
        "\"State\":\"running\",\"Status\":\"Up\"},"
        "{\"Id\":\"" ID_B "\",\"Names\":[\"/cs-test-rabbitmq-1\"],\"Labels\":{"
        "\"com.docker.compose.project\":\"cs-test\"},\"State\":\"running\"}]";
    static const char insp[] =
        "{\"Id\":\"" ID_A
        "\",\"Name\":\"/cs-test-monitor-1-1\",\"State\":{\"Status\":"
        "\"running\",\"ExitCode\":0},\"Config\":{\"Hostname\":\"mon1\","
        "\"Labels\":{"
        "\"com.docker.compose.project\":\"cs-test\",\"coffee-stream."
        "keepalive\":\"true\"}}}";
    struct dk_ctr *c;
    struct dk_ctr one;
    size_t n;

    (void)state;
    assert_int_equal(dk_parse_list(list, strlen(list), PROJ, &c, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(c[0].name, "cs-test-sink-1");
    assert_int_equal(c[0].state, DK_EXITED);
    assert_int_equal(c[0].exit_code, 137);
    assert_string_equal(c[1].name, "cs-test-gateway-1");
    assert_int_equal(c[1].state, DK_PAUSED);
    free(c);
    assert_int_equal(dk_parse_list("[]", 2, PROJ, &c, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(dk_parse_list("{\"message\":\"x\"}", 15, PROJ, &c, &n),
                     -1);
    assert_int_equal(dk_parse_inspect(insp, strlen(insp), &one), 0);
    assert_string_equal(one.hostname, "mon1");
    assert_string_equal(one.project, "cs-test");
    assert_string_equal(one.name, "cs-test-monitor-1-1");
    assert_true(one.keep);
    assert_int_equal(one.state, DK_RUNNING);
    assert_int_equal(dk_parse_inspect("{}", 2, &one), -1);
}

/* ------------------------------------------------------------ deaths */

/* A death without a kill event (a crash; the kill event missed). */
static void test_kill_is_a_crash_after_the_grace(void **state)
{
    struct dk_table *t = running_a();
    struct backend_event ev[2];

    (void)state;
    feed(t, "start", ID_A, "w-1", -1, 10); /* seen again: nothing new */
    take(t, NULL, 0);
    feed(t, "die", ID_A, "w-1", 137, 1000);
    take(t, NULL, 0);
    assert_int_equal(dkt_next_deadline(t), 1000 + GRACE);
    dkt_tick(t, 1000 + GRACE - 1);
    take(t, NULL, 0);
    dkt_tick(t, 1000 + GRACE);
    take(t, ev, 1);
    is_exit(&ev[0], "w-1", ID_A, 137, false);
    assert_int_equal(dkt_next_deadline(t), INT64_MAX);
    feed(t, "stop", ID_A, "w-1", -1, 1400); /* too late: it was a crash */
    feed(t, "die", ID_A, "w-1", 137, 1401); /* a repeat: nothing */
    take(t, NULL, 0);
    dkt_destroy(t);
}

/* docker kill sends SIGKILL alone: no stop event can follow the die. */
static void test_sigkill_is_a_crash_at_once(void **state)
{
    struct dk_table *t = running_a();
    struct backend_event ev[2];

    (void)state;
    feed_kill(t, ID_A, "w-1", 9, 1000);
    feed(t, "die", ID_A, "w-1", 137, 1040);
    take(t, ev, 1);
    is_exit(&ev[0], "w-1", ID_A, 137, false);
    assert_int_equal(dkt_next_deadline(t), INT64_MAX);
    /* started again: the next death is judged afresh (docker stop that had
     * to escalate to SIGKILL: held, then deliberate) */
    feed(t, "start", ID_A, "w-1", -1, 2000);
    take(t, NULL, 1);
    feed_kill(t, ID_A, "w-1", 15, 3000);
    feed_kill(t, ID_A, "w-1", 9, 13000);
    feed(t, "die", ID_A, "w-1", 137, 13010);
    take(t, NULL, 0);
    feed(t, "stop", ID_A, "w-1", -1, 13020);
    take(t, ev, 1);
    is_exit(&ev[0], "w-1", ID_A, 137, true);
    /* docker kill -s TERM: not SIGKILL, held, no stop: a crash */
    feed(t, "start", ID_A, "w-1", -1, 14000);
    take(t, NULL, 1);
    feed_kill(t, ID_A, "w-1", 15, 15000);
    feed(t, "die", ID_A, "w-1", 143, 15010);
    take(t, NULL, 0);
    dkt_tick(t, 15010 + GRACE);
    take(t, ev, 1);
    is_exit(&ev[0], "w-1", ID_A, 143, false);
    dkt_destroy(t);
}

static void test_stop_is_deliberate(void **state)
{
    struct dk_table *t = running_a();
    struct backend_event ev[2];

    (void)state;
    feed(t, "die", ID_A, "w-1", 143,
         1000); /* docker stop of one that ignores TERM */
    feed(t, "stop", ID_A, "w-1", -1, 1070);
    take(t, ev, 1);
    is_exit(&ev[0], "w-1", ID_A, 143, true);
    dkt_tick(t, 5000);
    take(t, NULL, 0);
    /* exit 0: deliberate at once */
    feed(t, "start", ID_A, "w-1", -1, 6000);
    take(t, ev, 1);
    is(&ev[0], BEV_RUNNING, "w-1", ID_A);
    feed(t, "die", ID_A, "w-1", 0, 7000);
    take(t, ev, 1);
    is_exit(&ev[0], "w-1", ID_A, 0, true);
    dkt_destroy(t);
}

static void test_restart_ends_the_grace(void **state)
{
    struct dk_table *t = running_a();
    struct backend_event ev[2];

    (void)state;
    feed(t, "die", ID_A, "w-1", 1, 1000); /* a crash Docker restarts itself */
    feed(t, "start", ID_A, "w-1", -1, 1100);
    take(t, ev, 2);
    is_exit(&ev[0], "w-1", ID_A, 1, false);
    is(&ev[1], BEV_RUNNING, "w-1", ID_A);
    dkt_destroy(t);
}

static void test_removal(void **state)
{
    struct dk_table *t = running_a();
    struct backend_event ev[2];

    (void)state;
    feed(t, "die", ID_A, "w-1", 137,
         1000); /* docker rm -f: kill, die, destroy */
    feed(t, "destroy", ID_A, "w-1", -1, 1050);
    take(t, ev, 2);
    is_exit(&ev[0], "w-1", ID_A, 137, true);
    is(&ev[1], BEV_GONE, "w-1", "");
    feed(t, "destroy", ID_A, "w-1", -1, 1060); /* unknown: nothing */
    take(t, NULL, 0);
    dkt_destroy(t);
}

/* Compose recreates a service: the new container is created under a
 * temporary name, the old one stopped and removed, the new one renamed and
 * started. The slot goes on under the same name. */
static void test_compose_recreate(void **state)
{
    struct dk_table *t = running_a();
    struct backend_event ev[3];
    char slot[64], ref[80], id[DK_ID_MAX];
    unsigned gen;

    (void)state;
    feed(t, "create", ID_B, "bbbbbbbbbbbb_w-1", -1, 1000);
    take(t, NULL, 0); /* never ran: not a slot */
    assert_int_equal(dkt_lookup(t, "bbbbbbbbbbbb_w-1", id, sizeof(id), &gen),
                     -1);
    feed(t, "die", ID_A, "w-1", 0, 1100);
    feed(t, "stop", ID_A, "w-1", -1, 1101);
    feed(t, "destroy", ID_A, "w-1", -1, 1200);
    take(t, ev, 2);
    is_exit(&ev[0], "w-1", ID_A, 0, true);
    is(&ev[1], BEV_GONE, "w-1", "");
    feed(t, "rename", ID_B, "w-1", -1, 1300);
    take(t, NULL, 0);
    feed(t, "start", ID_B, "w-1", -1, 1400);
    take(t, ev, 2);
    is(&ev[0], BEV_SLOT, "w-1", "");
    is(&ev[1], BEV_RUNNING, "w-1", ID_B);
    assert_true(
        dkt_match(t, "bbbbbbbbbbbb", slot, sizeof(slot), ref, sizeof(ref)));
    assert_string_equal(slot, "w-1");
    assert_string_equal(ref, ID_B);
    assert_false(
        dkt_match(t, "aaaaaaaaaaaa", slot, sizeof(slot), ref, sizeof(ref)));
    dkt_destroy(t);
}

/* A container removed after another took its name keeps the slot alive. */
static void test_name_taken_over(void **state)
{
    struct dk_table *t = running_a();
    struct backend_event ev[3];

    (void)state;
    feed(t, "die", ID_A, "w-1", 0, 100);
    feed(t, "rename", ID_A, "old_w-1", -1, 110); /* renamed away while exited */
    take(t, ev, 2);
    is_exit(&ev[0], "w-1", ID_A, 0, true);
    is(&ev[1], BEV_GONE, "w-1", "");
    feed(t, "start", ID_B, "w-1", -1, 200);
    take(t, ev, 2);
    is(&ev[1], BEV_RUNNING, "w-1", ID_B);
    feed(t, "destroy", ID_A, "old_w-1", -1,
         300); /* never a slot under that name */
    take(t, NULL, 0);
    dkt_destroy(t);
}

/* docker pause / compose pause are deliberate: not a hang to kill. */
static void test_pause_is_deliberate(void **state)
{
    struct dk_table *t = running_a();
    struct dk_ctr l[1];
    struct backend_event ev[2];
    char slot[64], ref[80];

    (void)state;
    feed(t, "pause", ID_A, "w-1", -1, 1000);
    take(t, ev, 1);
    is_exit(&ev[0], "w-1", ID_A, -1, true);
    assert_false(
        dkt_match(t, "aaaaaaaaaaaa", slot, sizeof(slot), ref, sizeof(ref)));
    feed(t, "unpause", ID_A, "w-1", -1, 2000);
    take(t, ev, 1);
    is(&ev[0], BEV_RUNNING, "w-1", ID_A);
    /* a missed pause, from a listing; then killed while paused: stays stopped */
    l[0] = ctr(ID_A, "w-1", DK_PAUSED, -1);
    assert_int_equal(dkt_on_list(t, l, 1, 2000 + DK_LIST_LAG_MS), 0);
    take(t, ev, 1);
    is_exit(&ev[0], "w-1", ID_A, -1, true);
    feed(t, "die", ID_A, "w-1", 137, 4000);
    dkt_tick(t, 4000 + GRACE);
    take(t, NULL, 0);
    feed(t, "start", ID_A, "w-1", -1, 5000); /* started again by someone */
    take(t, ev, 1);
    is(&ev[0], BEV_RUNNING, "w-1", ID_A);
    dkt_destroy(t);
}

/* ------------------------------------------------------------ listings */

static void test_first_listing(void **state)
{
    struct dk_table *t = dkt_create(GRACE);
    struct dk_ctr l[3];
    struct backend_event ev[8];

    (void)state;
    l[0] = ctr(ID_A, "w-1", DK_RUNNING, -1);
    l[1] = ctr(ID_B, "w-2", DK_EXITED, 0);
    l[2] = ctr("cccccccccccc", "w-3", DK_CREATED, -1);
    assert_int_equal(dkt_on_list(t, l, 3, 0), 0);
    take(t, ev, 5);
    is(&ev[0], BEV_SLOT, "w-1", "");
    is(&ev[1], BEV_RUNNING, "w-1", ID_A);
    is(&ev[2], BEV_SLOT, "w-2",
       ""); /* exited: it ran, and stopped on purpose */
    is(&ev[3], BEV_RUNNING, "w-2", ID_B);
    is_exit(&ev[4], "w-2", ID_B, 0, true);
    assert_int_equal(dkt_on_list(t, l, 3, 10), 0); /* the same again: nothing */
    take(t, NULL, 0);
    dkt_destroy(t);
}

static void test_listing_repairs_missed_events(void **state)
{
    struct dk_table *t = running_a();
    struct dk_ctr l[1];
    struct backend_event ev[4];

    (void)state;
    l[0] = ctr(ID_A, "w-1", DK_EXITED, 137); /* its die was missed */
    assert_int_equal(dkt_on_list(t, l, 1, 1000), 0);
    take(t, NULL, 0);
    dkt_tick(t, 1000 + GRACE);
    take(t, ev, 1);
    is_exit(&ev[0], "w-1", ID_A, 137, false);
    l[0].state = DK_RUNNING; /* started again by someone */
    assert_int_equal(dkt_on_list(t, l, 1, 3000), 0);
    take(t, ev, 1);
    is(&ev[0], BEV_RUNNING, "w-1", ID_A);
    assert_int_equal(dkt_on_list(t, NULL, 0, 5000), 0); /* removed */
    take(t, ev, 1);
    is(&ev[0], BEV_GONE, "w-1", "");
    dkt_destroy(t);
}

/* A listing taken just after an event may not show it yet. */
static void test_listing_lags_behind_events(void **state)
{
    struct dk_table *t = running_a();
    struct dk_ctr l[1];
    struct backend_event ev[2];

    (void)state;
    feed(t, "die", ID_A, "w-1", 137, 5000);
    l[0] = ctr(ID_A, "w-1", DK_RUNNING, -1); /* stale: still running */
    assert_int_equal(dkt_on_list(t, l, 1, 5100), 0);
    take(t, NULL, 0);
    assert_int_equal(dkt_on_list(t, NULL, 0, 5100), 0); /* nor removed */
    take(t, NULL, 0);
    dkt_tick(t, 5000 + GRACE); /* the grace still ends as it should */
    take(t, ev, 1);
    is_exit(&ev[0], "w-1", ID_A, 137, false);
    /* later, the listing counts again: it was started behind our back */
    assert_int_equal(dkt_on_list(t, l, 1, 5000 + DK_LIST_LAG_MS), 0);
    take(t, ev, 1);
    is(&ev[0], BEV_RUNNING, "w-1", ID_A);
    dkt_destroy(t);
}

/* ------------------------------------------------------------ matching, starts */

static void test_match_by_hostname(void **state)
{
    struct dk_table *t = running_a();
    char slot[64], ref[80], id[DK_ID_MAX];

    (void)state;
    assert_true(dkt_uninspected(t, id, sizeof(id)));
    assert_string_equal(id, ID_A);
    assert_true(
        dkt_match(t, "aaaaaaaaaaaa", slot, sizeof(slot), ref, sizeof(ref)));
    dkt_set_hostname(t, ID_A, "worker-a");
    assert_false(dkt_uninspected(t, id, sizeof(id)));
    assert_false(
        dkt_match(t, "aaaaaaaaaaaa", slot, sizeof(slot), ref, sizeof(ref)));
    assert_true(dkt_match(t, "worker-a", slot, sizeof(slot), ref, sizeof(ref)));
    feed(t, "die", ID_A, "w-1", 137,
         100); /* dead: its late heartbeats match nothing */
    assert_false(
        dkt_match(t, "worker-a", slot, sizeof(slot), ref, sizeof(ref)));
    dkt_destroy(t);
}

static void test_start_outcomes(void **state)
{
    struct dk_table *t = running_a();
    struct backend_event ev[3];
    char id[DK_ID_MAX];
    unsigned gen, gen2;

    (void)state;
    feed(t, "die", ID_A, "w-1", 137, 100);
    dkt_tick(t, 100 + GRACE);
    take(t, NULL, 1);
    assert_int_equal(dkt_lookup(t, "w-1", id, sizeof(id), &gen), 0);
    assert_string_equal(id, ID_A);
    dkt_start_done(t, ID_A, gen, false, 500); /* refused: a start that died */
    take(t, ev, 2);
    is(&ev[0], BEV_RUNNING, "w-1", ID_A);
    is_exit(&ev[1], "w-1", ID_A, -1, false);
    dkt_start_done(t, ID_A, gen, true, 600); /* 204 before its start event */
    take(t, ev, 1);
    is(&ev[0], BEV_RUNNING, "w-1", ID_A);
    feed(t, "start", ID_A, "w-1", -1, 610); /* then the event: nothing new */
    take(t, NULL, 0);
    /* the stream saw it start and die before the start call returned */
    feed(t, "die", ID_A, "w-1", 137, 700);
    dkt_tick(t, 700 + GRACE);
    take(t, NULL, 1);
    assert_int_equal(dkt_lookup(t, "w-1", id, sizeof(id), &gen2), 0);
    feed(t, "start", ID_A, "w-1", -1, 1100);
    feed(t, "die", ID_A, "w-1", 0, 1200);
    take(t, NULL, 2);
    dkt_start_done(t, ID_A, gen2, true, 1300);
    take(t, NULL, 0);
    assert_int_equal(dkt_lookup(t, "nope", id, sizeof(id), &gen), -1);
    dkt_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_event),
        cmocka_unit_test(test_parse_list_and_inspect),
        cmocka_unit_test(test_kill_is_a_crash_after_the_grace),
        cmocka_unit_test(test_sigkill_is_a_crash_at_once),
        cmocka_unit_test(test_stop_is_deliberate),
        cmocka_unit_test(test_restart_ends_the_grace),
        cmocka_unit_test(test_removal),
        cmocka_unit_test(test_compose_recreate),
        cmocka_unit_test(test_name_taken_over),
        cmocka_unit_test(test_pause_is_deliberate),
        cmocka_unit_test(test_first_listing),
        cmocka_unit_test(test_listing_repairs_missed_events),
        cmocka_unit_test(test_listing_lags_behind_events),
        cmocka_unit_test(test_match_by_hostname),
        cmocka_unit_test(test_start_outcomes),
    };

    log_set_level(LOG_ERROR); /* transitions are logged at info */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
