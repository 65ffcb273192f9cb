/* test_field.c - field parsers (reject rules) and money formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "field.h"

#define S(x) x, strlen(x)

static void test_int(void **state)
{
    int64_t v;

    (void)state;
    assert_true(field_int(S("17272"), &v));
    assert_int_equal(v, 17272);
    assert_false(field_int(S(""), &v));
    assert_false(field_int(S("-1"), &v));
    assert_false(field_int(S("1.0"), &v));
    assert_false(field_int(S("12a"), &v));
    assert_false(field_int(S(" 1"), &v));
    assert_true(field_int(S("007"), &v));
    assert_int_equal(v, 7);
    assert_true(field_int(S("999999999"), &v));
    assert_false(field_int(S("0000000010"), &v)); /* 10 digits */
    assert_false(field_int(S("1234567890123456789"), &v));
}

static void test_dec(void **state)
{
    int64_t v;

    (void)state;
    assert_true(field_dec(S("63.5"), &v));
    assert_int_equal(v, 63500);
    assert_true(field_dec(S("8.075"), &v));
    assert_int_equal(v, 8075);
    assert_true(field_dec(S("75"), &v));
    assert_int_equal(v, 75000);
    assert_true(field_dec(S("0.0"), &v));
    assert_int_equal(v, 0);
    assert_false(field_dec(S("1.2345"), &v));
    assert_false(field_dec(S("1."), &v));
    assert_false(field_dec(S(".5"), &v));
    assert_false(field_dec(S("abc"), &v));
    assert_false(field_dec(S(""), &v));
    assert_false(field_dec(S("1e3"), &v));
    assert_false(field_dec(S("+88.5"), &v));
    assert_false(field_dec(S("-1.0"), &v));
    assert_false(field_dec(S("1234567890.5"), &v));
    assert_true(field_dec(S("076.000"), &v));
    assert_int_equal(v, 76000);
}

static void test_ts(void **state)
{
    struct field_ts ts;

    (void)state;
    assert_true(field_ts(S("2024-01-01 10:06:50"), &ts));
    assert_int_equal(ts.year, 2024);
    assert_int_equal(ts.month, 1);
    assert_int_equal(ts.sec_of_day, 10 * 3600 + 6 * 60 + 50);
    assert_true(field_ts(S("2024-02-29 23:00:00"), &ts));
    assert_false(field_ts(S("2023-02-29 23:00:00"), &ts));
    assert_false(field_ts(S("2024-13-01 00:00:00"), &ts));
    assert_false(field_ts(S("2024-04-31 00:00:00"), &ts));
    assert_false(field_ts(S("2024-01-01 24:00:00"), &ts));
    assert_false(field_ts(S("2024-01-01 10:60:00"), &ts));
    assert_false(field_ts(S("2024-01-01T10:00:00"), &ts));
    assert_false(field_ts(S("2024-01-01 10:00"), &ts));
    assert_false(field_ts(S("not a timestamp!!!!"), &ts));
}

static void test_user_and_date(void **state)
{
    int64_t v;

    (void)state;
    assert_true(field_user_id(S(""), &v));
    assert_int_equal(v, -1);
    assert_true(field_user_id(S("17272.0"), &v));
    assert_int_equal(v, 17272);
    assert_true(field_user_id(S("17272"), &v));
    assert_false(field_user_id(S("12.5"), &v));
    assert_false(field_user_id(S("abc"), &v));
    assert_false(field_user_id(S(".0"), &v));
    assert_true(field_date(S("1970-04-22")));
    assert_false(field_date(S("1970-04-31")));
    assert_false(field_date(S("1970-4-22")));
}

static void test_formats(void **state)
{
    char out[32];

    (void)state;
    field_fmt_min1(75000, out);
    assert_string_equal(out, "75.0");
    field_fmt_min1(79500, out);
    assert_string_equal(out, "79.5");
    field_fmt_min1(79515, out);
    assert_string_equal(out, "79.515");
    field_fmt_min1(80, out);
    assert_string_equal(out, "0.08");
    field_fmt_2(12201348935, out);
    assert_string_equal(out, "12201348.94");
    field_fmt_2(12201348934, out);
    assert_string_equal(out, "12201348.93");
    field_fmt_2(5, out);
    assert_string_equal(out, "0.01");
    field_fmt_2(4, out);
    assert_string_equal(out, "0.00");
    field_fmt_2(-5, out);
    assert_string_equal(out, "-0.01");
    field_fmt_2(3098440000, out);
    assert_string_equal(out, "3098440.00");
    field_fmt_int(-42, out);
    assert_string_equal(out, "-42");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int),     cmocka_unit_test(test_dec),
        cmocka_unit_test(test_ts),      cmocka_unit_test(test_user_and_date),
        cmocka_unit_test(test_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
