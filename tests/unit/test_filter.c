/* test_filter.c - the filter engine: reject rules, predicates at their
 * bounds, projections, sharding, quoted fields and CRLF. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "workers/filter/filter.h"

static int route_index(const char *name)
{
    int r;

    for (r = 0; r < filter_nroutes; r++)
        if (strcmp(filter_routes[r].name, name) == 0)
            return r;
    fail_msg("no route %s", name);
    return -1;
}

/* Concatenates every shard's output of a route. */
static char *all_out(struct filter *f, const struct plan *p, const char *route)
{
    int r = route_index(route);
    static char buf[65536];
    size_t n = 0;
    int s;

    for (s = 0; s < p->replicas[filter_routes[r].dest]; s++) {
        const struct filter_buf *b = filter_output(f, r, (unsigned)s);

        memcpy(buf + n, b->ptr ? b->ptr : "", b->len);
        n += b->len;
    }
    buf[n] = '\0';
    return buf;
}

static const char tx[] =
    "a1,5,1,,,80.0,0.0,80.0,2024-03-01 06:00:00\r\n"  /* q1 q3 */
    "a2,5,1,,17272.0,75,0.0,75,2025-12-31 23:00:00\n" /* q1 q3 q4 */
    "a3,6,1,,,99.0,0.0,99.0,2024-03-01 23:00:01\n" /* hour out: q4? no user */
    "a4,6,1,,3.0,74.999,0,74.999,2024-07-01 05:59:59\n" /* q4 only */
    "a5,6,1,,,99.0,0.0,99.0,2023-12-31 12:00:00\n"      /* year out */
    "a6,6,1,,,99.0,0.0,99.0,2026-01-01 12:00:00\n"      /* year out */
    "b1,x,1,,,99.0,0.0,99.0,2024-01-01 12:00:00\n"      /* bad store */
    "b2,6,1,,12.5,99.0,0.0,99.0,2024-01-01 12:00:00\n"  /* bad user */
    "b3,6,1,,,9.9.9,0.0,9.9.9,2024-01-01 12:00:00\n"    /* bad amount */
    "b4,6,1,,,99.0,0.0,99.0,2024-01-01\n"               /* bad ts */
    "b5,6,1,,,99.0,0.0,99.0\n";                         /* field count */

static void test_transactions(void **state)
{
    struct plan p;
    char err[64];
    struct filter *f;
    int64_t rej = -1;

    (void)state;
    assert_int_equal(
        plan_init(&p, "agg-q3=3,agg-q4=2,sink=2", err, sizeof(err)), 0);
    f = filter_create(&p);
    assert_non_null(f);
    assert_int_equal(
        filter_batch(f, PLAN_T_TRANSACTIONS, tx, strlen(tx), 1, &rej), 0);
    assert_int_equal(rej, 5);
    assert_string_equal(all_out(f, &p, "q1"), "a1,80000\na2,75000\n");
    /* Q1 goes to the session's sink shard only. */
    assert_int_equal(filter_output(f, route_index("q1"), 0)->len, 0);
    assert_string_equal(all_out(f, &p, "q4"), "5,17272\n6,3\n");
    filter_destroy(f);
}

static void test_q3_sharding_and_halves(void **state)
{
    struct plan p;
    char err[64];
    struct filter *f;
    int64_t rej;
    int r, s, rows = 0;
    const char *in = "t,5,1,,,10.5,0,10.5,2024-06-30 23:00:00\n"
                     "t,5,1,,,1.25,0,1.25,2024-07-01 06:00:00\n";

    (void)state;
    assert_int_equal(plan_init(&p, "agg-q3=3", err, sizeof(err)), 0);
    f = filter_create(&p);
    assert_int_equal(
        filter_batch(f, PLAN_T_TRANSACTIONS, in, strlen(in), 0, &rej), 0);
    r = route_index("q3");
    for (s = 0; s < 3; s++) {
        const struct filter_buf *b = filter_output(f, r, (unsigned)s);

        if (b->len) {
            /* Both rows share store 5, so one shard holds both. */
            assert_int_equal(s, (int)plan_shard_u64(5, 3));
            assert_memory_equal(b->ptr, "20241,5,10500\n20242,5,1250\n",
                                b->len);
            rows++;
        }
    }
    assert_int_equal(rows, 1);
    filter_destroy(f);
}

static void test_items_users_names(void **state)
{
    struct plan p;
    char err[64];
    struct filter *f;
    int64_t rej;
    const char *items = "t,8,2,10.0,20.0,2024-01-05 07:00:00\n"
                        "t,8,2,10.0,20.0,2023-01-05 07:00:00\n"
                        "t,x,2,10.0,20.0,2024-01-05 07:00:00\n";
    const char *users = "1,female,1970-04-22,2023-07-01 08:13:07\n"
                        "2,male,1970-02-30,2023-07-01 08:13:07\n";
    const char *stores = "1,\"G Coffee @ A, B\",s,1,c,st,1.0,2.0\r\n"
                         "2,Plain,s,1,c,st,1.0,2.0\n";

    (void)state;
    assert_int_equal(plan_init(&p, "", err, sizeof(err)), 0);
    f = filter_create(&p);
    assert_int_equal(filter_batch(f, PLAN_T_TRANSACTION_ITEMS, items,
                                  strlen(items), 0, &rej),
                     0);
    assert_int_equal(rej, 1);
    assert_string_equal(all_out(f, &p, "q2"), "202401,8,2,20000\n");
    assert_int_equal(
        filter_batch(f, PLAN_T_USERS, users, strlen(users), 0, &rej), 0);
    assert_int_equal(rej, 1);
    assert_string_equal(all_out(f, &p, "q4-users"), "1,1970-04-22\n");
    assert_int_equal(
        filter_batch(f, PLAN_T_STORES, stores, strlen(stores), 0, &rej), 0);
    assert_int_equal(rej, 0);
    assert_string_equal(all_out(f, &p, "stores"),
                        "1,\"G Coffee @ A, B\"\n2,Plain\n");
    /* Buffers of other tables' routes are cleared for this batch. */
    assert_string_equal(all_out(f, &p, "q2"), "");
    filter_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_q3_sharding_and_halves),
        cmocka_unit_test(test_items_users_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
