/* test_ctl_plan.c - control message JSON round trips; replica specs and
 * queue naming. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ctl.h"
#include "plan.h"

static void test_roundtrip(void **state)
{
    struct ctl_msg m, out;
    size_t len;
    char *js;

    (void)state;
    ctl_init(&m, CTL_DONE, "0b8e4c0a-1111-4222-8333-444455556666");
    strcpy(m.stage, "filter");
    m.replica = 2;
    assert_int_equal(ctl_add(&m, 0, "agg-q2.1", 17), 0);
    assert_int_equal(ctl_add(&m, 0, "agg-q2.1", 3), 0);
    assert_int_equal(ctl_add(&m, 1, "users", 4), 0);
    js = ctl_encode(&m, &len);
    assert_non_null(js);
    assert_int_equal(ctl_decode((const uint8_t *)js, len, &out), 0);
    free(js);
    assert_int_equal(out.type, CTL_DONE);
    assert_string_equal(out.session, m.session);
    assert_string_equal(out.stage, "filter");
    assert_int_equal(out.replica, 2);
    assert_int_equal(ctl_get(&out, 0, "agg-q2.1"), 20);
    assert_int_equal(ctl_get(&out, 1, "users"), 4);
    assert_int_equal(ctl_get(&out, 0, "absent"), 0);
}

static void test_decode_rejects(void **state)
{
    struct ctl_msg m;
    const char *bad[] = {
        "", "{", "[]", "{\"type\":\"nope\",\"session\":\"s\"}",
        "{\"type\":\"done\"}", "{\"type\":\"done\",\"session\":5}",
        "{\"type\":\"report\",\"session\":\"s\",\"counts\":{\"q\":\"x\"}}",
        "{\"type\":\"report\",\"session\":\"s\",\"replica\":-1}",
        "{\"type\":\"report\",\"session\":\"s\",\"counts\":{\"q\":-1}}",
        "{\"type\":\"report\",\"session\":\"s\",\"counts\":{\"q\":1.5}}",
        "{\"type\":\"report\",\"session\":\"s\",\"counts\":{\"q\":1e300}}",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_not_equal(ctl_decode((const uint8_t *)bad[i], strlen(bad[i]), &m), 0);
    assert_int_equal(ctl_decode((const uint8_t *)"{\"type\":\"shutdown\"}", 19, &m), 0);
}

static void test_plan(void **state)
{
    struct plan p;
    char err[128], q[64], key[64];

    (void)state;
    assert_int_equal(plan_init(&p, "filter=3,agg-q2=2,sink=4", err, sizeof(err)), 0);
    assert_int_equal(p.replicas[PLAN_FILTER], 3);
    assert_int_equal(p.replicas[PLAN_AGG_Q3], 1);
    assert_int_equal(plan_nqueues(&p, PLAN_FILTER), PLAN_NTABLES);
    assert_int_equal(plan_nqueues(&p, PLAN_SINK), 4);
    plan_queue_key(&p, PLAN_FILTER, PLAN_T_USERS, key, sizeof(key));
    plan_queue(PLAN_FILTER, key, q, sizeof(q));
    assert_string_equal(q, "filter.users");
    plan_queue_key(&p, PLAN_AGG_Q2, 1, key, sizeof(key));
    plan_queue(PLAN_AGG_Q2, key, q, sizeof(q));
    assert_string_equal(q, "agg-q2.1");
    assert_int_not_equal(plan_init(&p, "bogus=2", err, sizeof(err)), 0);
    assert_int_not_equal(plan_init(&p, "filter=0", err, sizeof(err)), 0);
    assert_int_not_equal(plan_init(&p, "filter=33", err, sizeof(err)), 0);
    assert_int_not_equal(plan_init(&p, "filter", err, sizeof(err)), 0);
    assert_true(plan_shard_u64(12345, 3) < 3);
    assert_int_equal(plan_shard_session("abc", 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
