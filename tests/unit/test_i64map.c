/* test_i64map.c - open-addressing int64 map: insert, lookup, growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "i64map.h"

static void test_empty(void **state)
{
    struct i64map m;
    size_t it = 0;

    (void)state;
    i64map_init(&m);
    assert_int_equal(i64map_len(&m), 0);
    assert_null(i64map_get(&m, 0));
    assert_int_equal(i64map_next(&m, &it, NULL, NULL), 0);
    i64map_fini(&m);
    i64map_fini(&m); /* fini twice is harmless */
}

static void test_upsert_put(void **state)
{
    struct i64map m;
    int64_t *v;

    (void)state;
    i64map_init(&m);
    assert_int_equal(i64map_upsert(&m, 42, 7, &v), 1);
    assert_int_equal(*v, 7);
    *v += 1;
    assert_int_equal(i64map_upsert(&m, 42, 99, &v), 0);
    assert_int_equal(*v, 8);
    assert_int_equal(i64map_put(&m, 42, 5), 0);
    assert_int_equal(*i64map_get(&m, 42), 5);
    /* extreme keys are ordinary keys */
    assert_int_equal(i64map_put(&m, INT64_MIN, 1), 0);
    assert_int_equal(i64map_put(&m, INT64_MAX, 2), 0);
    assert_int_equal(i64map_put(&m, 0, 3), 0);
    assert_int_equal(i64map_put(&m, -1, 4), 0);
    assert_int_equal(*i64map_get(&m, INT64_MIN), 1);
    assert_int_equal(*i64map_get(&m, INT64_MAX), 2);
    assert_int_equal(*i64map_get(&m, 0), 3);
    assert_int_equal(*i64map_get(&m, -1), 4);
    assert_null(i64map_get(&m, 43));
    assert_int_equal(i64map_len(&m), 5);
    i64map_fini(&m);
}

/* Many keys, including ones that collide on the low bits: everything is
 * found after repeated growth, and iteration visits each key once. */
static void test_growth_many(void **state)
{
    enum {
        N = 200000
    };
    struct i64map m;
    int64_t i, k, v, sum = 0;
    size_t it = 0, seen = 0;

    (void)state;
    i64map_init(&m);
    for (i = 0; i < N; i++)
        assert_int_equal(i64map_put(&m, i * 1024, i), 0);
    assert_int_equal(i64map_len(&m), N);
    assert_true(m.cap >= (size_t)N && (m.cap & (m.cap - 1)) == 0);
    for (i = 0; i < N; i++) {
        const int64_t *p = i64map_get(&m, i * 1024);

        assert_non_null(p);
        assert_int_equal(*p, i);
        assert_null(i64map_get(&m, i * 1024 + 1));
    }
    while (i64map_next(&m, &it, &k, &v)) {
        assert_int_equal(k, v * 1024);
        sum += v;
        seen++;
    }
    assert_int_equal(seen, N);
    assert_int_equal(sum, (int64_t)N * (N - 1) / 2);
    i64map_fini(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_upsert_put),
        cmocka_unit_test(test_growth_many),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
