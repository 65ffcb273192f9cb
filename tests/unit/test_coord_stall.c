/*
 * test_coord_stall.c - sessions waiting on a stage with no live replica
 * (coord_set_stage_limits / coord_stage_live): the gateway is told what the
 * session waits for after the notice delay, cleared when the stage is back,
 * and the session fails with a reason naming the stage after the limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "coordinator/coord.h"
#include "ctl.h"
#include "log.h"
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SID "5d0a4a76-3d66-4d8e-9d1c-2b7b2a1f0c11"
#define MAX_OUT 16

struct fx {
    struct plan plan;
    struct coord *c;
    uint64_t now;
    int nout;
    char key[MAX_OUT][64];
    struct ctl_msg *out[MAX_OUT];
    int nended;
    char ended[4][CTL_ID_MAX];
};

static uint64_t clock_of(void *arg)
{
    return ((struct fx *)arg)->now;
}

static int record(void *arg, const char *key, const struct ctl_msg *m)
{
    struct fx *f = arg;

    assert_true(f->nout < MAX_OUT);
    snprintf(f->key[f->nout], sizeof(f->key[0]), "%s", key);
    f->out[f->nout] = malloc(sizeof(*m));
    assert_non_null(f->out[f->nout]);
    memcpy(f->out[f->nout], m, sizeof(*m));
    f->nout++;
    return 0;
}

static void on_end(void *arg, const char *session)
{
    struct fx *f = arg;

    assert_true(f->nended < 4);
    snprintf(f->ended[f->nended++], CTL_ID_MAX, "%s", session);
}

static void clear_out(struct fx *f)
{
    while (f->nout > 0)
        free(f->out[--f->nout]);
}

static void feed(struct fx *f, struct ctl_msg *m)
{
    assert_int_equal(coord_handle(f->c, m, record, f), 0);
    free(m);
}

/* A session whose gateway stage is complete: the filter is draining. */
static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct ctl_msg *m;
    char err[64];

    assert_non_null(f);
    assert_int_equal(plan_init(&f->plan, "filter=2,agg-q3=2", err, sizeof(err)),
                     0);
    f->c = coord_create(&f->plan, NULL);
    assert_non_null(f->c);
    f->now = 1000;
    coord_set_clock(f->c, clock_of, f);
    coord_set_end_hook(f->c, on_end, f);
    coord_set_stage_limits(f->c, 5000, 60000);
    m = ctl_new(CTL_SESSION_START, SID);
    snprintf(m->reply_to, sizeof(m->reply_to), "gw-1");
    feed(f, m);
    m = ctl_new(CTL_DONE, SID);
    snprintf(m->stage, sizeof(m->stage), "gateway");
    assert_int_equal(ctl_set_flow(m, "filter.transactions", "transactions", 3),
                     0);
    feed(f, m);
    assert_int_equal(coord_stage_state(f->c, SID, PLAN_FILTER), COORD_DRAINING);
    clear_out(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    clear_out(f);
    coord_destroy(f->c);
    free(f);
    return 0;
}

static void tick_at(struct fx *f, uint64_t now)
{
    f->now = now;
    assert_int_equal(coord_tick(f->c, record, f), 0);
}

/* A live stage: nothing is said, however long the session waits. */
static void test_live_stage_is_quiet(void **state)
{
    struct fx *f = *state;

    coord_stage_live(f->c, PLAN_FILTER, true);
    tick_at(f, 100000);
    assert_int_equal(f->nout, 0);
    assert_true(coord_active(f->c, SID));
}

static void test_notice_then_clear(void **state)
{
    struct fx *f = *state;

    coord_stage_live(f->c, PLAN_FILTER, false); /* down since 1000 */
    tick_at(f, 5999);
    assert_int_equal(f->nout, 0);
    tick_at(f, 6000);
    assert_int_equal(f->nout, 1);
    assert_int_equal(f->out[0]->type, CTL_STATUS);
    assert_string_equal(f->key[0], "gw-1"); /* to the session's gateway */
    assert_string_equal(f->out[0]->stage, "filter");
    assert_non_null(strstr(f->out[0]->reason, "waiting for stage filter"));
    clear_out(f);
    tick_at(f, 7000); /* said once, not every tick */
    assert_int_equal(f->nout, 0);
    coord_stage_live(f->c, PLAN_FILTER, true);
    tick_at(f, 8000);
    assert_int_equal(f->nout, 1);
    assert_int_equal(f->out[0]->type, CTL_STATUS);
    assert_string_equal(f->out[0]->reason, ""); /* cleared */
    assert_true(coord_active(f->c, SID));
}

/* Other stages being down does not concern a session waiting on the filter. */
static void test_other_stage_down(void **state)
{
    struct fx *f = *state;

    coord_stage_live(f->c, PLAN_FILTER, true);
    coord_stage_live(f->c, PLAN_AGG_Q3, false);
    tick_at(f, 200000);
    assert_int_equal(f->nout, 0);
    assert_true(coord_active(f->c, SID));
}

static void test_fail_after_limit(void **state)
{
    struct fx *f = *state;
    struct coord_stats st;
    int end = -1, abrt = -1, i;

    coord_stage_live(f->c, PLAN_FILTER, false);
    tick_at(f, 6000); /* the notice */
    clear_out(f);
    tick_at(f, 60999);
    assert_int_equal(f->nout, 0);
    tick_at(f, 61000);
    for (i = 0; i < f->nout; i++) {
        if (f->out[i]->type == CTL_END)
            end = i;
        if (f->out[i]->type == CTL_ABORT)
            abrt = i;
    }
    assert_true(end >= 0 && abrt >= 0);
    assert_string_equal(f->key[end], "gw-1");
    assert_string_equal(f->out[end]->status, "error");
    assert_non_null(
        strstr(f->out[end]->reason, "no live replica of stage filter"));
    assert_string_equal(f->key[abrt], PLAN_CONTROL_ALL);
    assert_false(coord_active(f->c, SID));
    assert_true(coord_ended(f->c, SID));
    assert_int_equal(f->nended, 1); /* the end hook: its log can go */
    assert_string_equal(f->ended[0], SID);
    coord_get_stats(f->c, &st);
    assert_int_equal(st.failed, 1);
}

/* fail 0: never fail, only tell. */
static void test_fail_off(void **state)
{
    struct fx *f = *state;

    coord_set_stage_limits(f->c, 5000, 0);
    coord_stage_live(f->c, PLAN_FILTER, false);
    tick_at(f, 10000000);
    assert_int_equal(f->nout, 1);
    assert_int_equal(f->out[0]->type, CTL_STATUS);
    assert_true(coord_active(f->c, SID));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_live_stage_is_quiet, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_notice_then_clear, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_other_stage_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_after_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_off, setup, teardown),
    };

    log_set_level(LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
