/*
 * test_coord_snap.c - the coordinator's session snapshots (coord.h,
 * coordinator/coord_snap.c): phases, counts, percent, rejected rows, the
 * final snapshot of a session that ends, and the JSON the control plane
 * reads. Pure: no sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "coordinator/coord.h"
#include "ctl.h"
#include "plan.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SID "0b7e6a52-4a31-4d6e-9a7e-3f2b1c0d9e8f"

struct fix {
    struct coord *c;
    struct ctl_msg *m;
    struct coord_snap final;
    int finals;
    int seen;
};

static int emit_any(void *arg, const char *key, const struct ctl_msg *m)
{
    (void)arg, (void)key, (void)m;
    return 0;
}

static void on_final(void *arg, const struct coord_snap *s)
{
    struct fix *f = arg;

    f->final = *s;
    f->finals++;
}

static void count(void *arg, const char *id)
{
    struct fix *f = arg;

    assert_string_equal(id, SID);
    f->seen++;
}

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    struct plan p;

    assert_non_null(f);
    assert_int_equal(plan_init(&p, "", NULL, 0), 0);
    f->c = coord_create(&p, NULL);
    f->m = ctl_new(CTL_HELLO, NULL);
    assert_non_null(f->c);
    assert_non_null(f->m);
    coord_set_final_hook(f->c, on_final, f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;

    coord_destroy(f->c);
    free(f->m);
    free(f);
    return 0;
}

static void handle(struct fix *f)
{
    assert_int_equal(coord_handle(f->c, f->m, emit_any, NULL), 0);
}

static void start(struct fix *f)
{
    ctl_init(f->m, CTL_SESSION_START, SID);
    snprintf(f->m->reply_to, sizeof(f->m->reply_to), "gw-1");
    handle(f);
}

/* The gateway's done: filter.users/users declared n. */
static void gateway_done(struct fix *f, int64_t n)
{
    ctl_init(f->m, CTL_DONE, SID);
    snprintf(f->m->stage, sizeof(f->m->stage), "gateway");
    assert_int_equal(ctl_set_flow(f->m, "filter.users", "users", n), 0);
    handle(f);
}

/* A filter report of ids lo..hi of filter.users, `rej` rows rejected in lo. */
static void filter_report(struct fix *f, int64_t lo, int64_t hi, int64_t rej)
{
    ctl_init(f->m, CTL_REPORT, SID);
    snprintf(f->m->stage, sizeof(f->m->stage), "filter");
    assert_true(ctl_begin_flow(f->m, "filter.users", "users") >= 0);
    assert_int_equal(ctl_add_range(f->m, lo, hi), 0);
    if (rej)
        assert_int_equal(ctl_add_rej(f->m, lo, rej), 0);
    handle(f);
}

static void test_phases_and_counts(void **state)
{
    struct fix *f = *state;
    struct coord_snap s;

    assert_int_equal(coord_snapshot(f->c, SID, &s), -1);
    start(f);
    assert_int_equal(coord_snapshot(f->c, SID, &s), 0);
    assert_string_equal(s.session, SID);
    assert_string_equal(s.gateway, "gw-1");
    assert_int_equal(s.phase, COORD_PHASE_STREAMING);
    assert_int_equal(coord_snap_percent(&s, PLAN_FILTER), 0);

    /* reports before the declaration: processed, nothing expected yet */
    filter_report(f, 0, 1, 3);
    assert_int_equal(coord_snapshot(f->c, SID, &s), 0);
    assert_int_equal(s.phase, COORD_PHASE_STREAMING);
    assert_int_equal(s.stage[PLAN_FILTER].processed, 2);
    assert_int_equal(s.stage[PLAN_FILTER].expected, 0);
    assert_int_equal(coord_snap_percent(&s, PLAN_FILTER), 0);
    assert_int_equal(s.rejected[PLAN_T_USERS], 3);

    gateway_done(f, 4);
    assert_int_equal(coord_snapshot(f->c, SID, &s), 0);
    assert_int_equal(s.phase, COORD_PHASE_DRAINING);
    assert_int_equal(s.stage[PLAN_GATEWAY].state, COORD_COMPLETE);
    assert_int_equal(s.stage[PLAN_FILTER].state, COORD_DRAINING);
    assert_int_equal(s.stage[PLAN_FILTER].expected, 4);
    assert_int_equal(coord_snap_percent(&s, PLAN_FILTER), 50);
    assert_int_equal(coord_snap_percent(&s, PLAN_SINK), 0);

    /* a repeated report changes nothing */
    filter_report(f, 0, 1, 3);
    assert_int_equal(coord_snapshot(f->c, SID, &s), 0);
    assert_int_equal(s.stage[PLAN_FILTER].processed, 2);
    assert_int_equal(s.rejected[PLAN_T_USERS], 3);

    f->seen = 0;
    coord_foreach(f->c, count, f);
    assert_int_equal(f->seen, 1);
    assert_int_equal(f->finals, 0);
}

static void test_percent(void **state)
{
    struct coord_snap s;

    (void)state;
    memset(&s, 0, sizeof(s));
    s.stage[PLAN_SINK].processed = 3;
    s.stage[PLAN_SINK].expected = 3;
    s.stage[PLAN_SINK].state = COORD_DRAINING;
    assert_int_equal(coord_snap_percent(&s, PLAN_SINK), 99);
    s.stage[PLAN_SINK].state = COORD_COMPLETE;
    assert_int_equal(coord_snap_percent(&s, PLAN_SINK), 100);
    s.stage[PLAN_SINK].state = COORD_WAITING;
    s.stage[PLAN_SINK].processed = 1;
    assert_int_equal(coord_snap_percent(&s, PLAN_SINK), 33);
    assert_string_equal(coord_phase_name(COORD_PHASE_ABORTED), "aborted");
    assert_string_equal(coord_phase_name(COORD_NPHASES), "?");
}

static void test_final_on_abort(void **state)
{
    struct fix *f = *state;
    struct coord_snap s;

    start(f);
    gateway_done(f, 4);
    filter_report(f, 0, 2, 1);
    ctl_init(f->m, CTL_ABORT, SID);
    snprintf(f->m->reason, sizeof(f->m->reason), "client gone");
    handle(f);
    assert_int_equal(f->finals, 1);
    assert_int_equal(f->final.phase, COORD_PHASE_ABORTED);
    assert_string_equal(f->final.reason, "client gone");
    assert_int_equal(f->final.stage[PLAN_FILTER].processed, 3);
    assert_int_equal(f->final.rejected[PLAN_T_USERS], 1);
    assert_int_equal(coord_snapshot(f->c, SID, &s), -1);
    /* a late message of the ended session makes no second end */
    filter_report(f, 3, 3, 0);
    assert_int_equal(f->finals, 1);
}

static void test_json(void **state)
{
    struct fix *f = *state;
    struct coord_snap s;
    const cJSON *st, *rej;
    cJSON *doc;
    char *text;

    start(f);
    gateway_done(f, 4);
    filter_report(f, 0, 0, 2);
    assert_int_equal(coord_snapshot(f->c, SID, &s), 0);
    text = coord_snap_json(&s, 1000, -1);
    assert_non_null(text);
    doc = cJSON_Parse(text);
    assert_non_null(doc);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(doc, "type")->valuestring, "session");
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(doc, "id")->valuestring, SID);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(doc, "state")->valuestring,
        "draining");
    assert_true(
        cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "ended_ms")));
    assert_int_equal(
        cJSON_GetObjectItemCaseSensitive(doc, "started_ms")->valuedouble, 1000);
    st = cJSON_GetObjectItemCaseSensitive(doc, "stages");
    assert_int_equal(cJSON_GetArraySize(st), PLAN_NSTAGES - 1);
    st = cJSON_GetArrayItem(st, 0);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(st, "stage")->valuestring, "filter");
    assert_int_equal(
        cJSON_GetObjectItemCaseSensitive(st, "percent")->valuedouble, 25);
    rej = cJSON_GetObjectItemCaseSensitive(doc, "rejected");
    assert_int_equal(cJSON_GetArraySize(rej), PLAN_NTABLES);
    assert_int_equal(
        cJSON_GetObjectItemCaseSensitive(rej, "users")->valuedouble, 2);
    cJSON_Delete(doc);
    free(text);

    text = coord_snap_json(&s, 1000, 2000);
    assert_non_null(strstr(text, "\"ended_ms\":2000"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_phases_and_counts, setup,
                                        teardown),
        cmocka_unit_test(test_percent),
        cmocka_unit_test_setup_teardown(test_final_on_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
