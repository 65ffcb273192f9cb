/* test_dedup.c - applied/counted bits per (stream, seq). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dedup.h"

static void test_bits(void **state)
{
    struct dedup d;
    int64_t i;

    (void)state;
    dedup_init(&d);
    assert_false(dedup_test(&d, "transactions", 0, DEDUP_APPLIED));
    assert_int_equal(dedup_set(&d, "transactions", 0, DEDUP_APPLIED), 0);
    assert_true(dedup_test(&d, "transactions", 0, DEDUP_APPLIED));
    assert_false(dedup_test(&d, "transactions", 0, DEDUP_COUNTED));
    assert_false(dedup_test(&d, "users", 0, DEDUP_APPLIED));
    for (i = 0; i < 100000; i += 7)
        assert_int_equal(dedup_set(&d, "users", i, DEDUP_COUNTED), 0);
    for (i = 0; i < 100000; i++)
        assert_int_equal(dedup_test(&d, "users", i, DEDUP_COUNTED), i % 7 == 0);
    assert_int_not_equal(dedup_set(&d, "users", -1, DEDUP_APPLIED), 0);
    assert_int_not_equal(dedup_set(&d, "users", DEDUP_MAX_SEQ, DEDUP_APPLIED), 0);
    dedup_fini(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_bits)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
