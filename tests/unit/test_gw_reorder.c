/* test_gw_reorder.c - the gateway's in-order result delivery: in order,
 * duplicates, gaps closed by later chunks, the pending cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/reorder.h"

/* Offers chunk seq (its body is "c<seq>") and appends what is delivered,
 * chunk by chunk, to out; returns the verdict. */
static enum gw_ro_verdict offer(struct gw_reorder *o, int64_t seq, char *out,
                                size_t n)
{
    char body[32];
    const uint8_t *data;
    size_t len;
    enum gw_ro_verdict v;
    int k = snprintf(body, sizeof(body), "c%lld,", (long long)seq);

    v = gw_reorder_offer(o, seq, (const uint8_t *)body, (size_t)k);
    if (v != GW_RO_DELIVER)
        return v;
    strncat(out, body, n - strlen(out) - 1);
    while (gw_reorder_pop(o, &data, &len))
        strncat(out, (const char *)data,
                len < n - strlen(out) - 1 ? len : n - strlen(out) - 1);
    return v;
}

static void test_in_order(void **state)
{
    struct gw_reorder o;
    char out[256] = "";
    int64_t i;

    (void)state;
    gw_reorder_init(&o, 8);
    for (i = 0; i < 4; i++)
        assert_int_equal(offer(&o, i, out, sizeof(out)), GW_RO_DELIVER);
    assert_string_equal(out, "c0,c1,c2,c3,");
    assert_false(gw_reorder_has_gaps(&o));
    assert_int_equal(o.next, 4);
    gw_reorder_fini(&o);
}

static void test_duplicates(void **state)
{
    struct gw_reorder o;
    char out[256] = "";

    (void)state;
    gw_reorder_init(&o, 8);
    assert_int_equal(offer(&o, 0, out, sizeof(out)), GW_RO_DELIVER);
    assert_int_equal(offer(&o, 0, out, sizeof(out)), GW_RO_DUPLICATE);
    assert_int_equal(offer(&o, 2, out, sizeof(out)), GW_RO_KEPT);
    assert_int_equal(offer(&o, 2, out, sizeof(out)), GW_RO_DUPLICATE);
    assert_int_equal(offer(&o, 1, out, sizeof(out)), GW_RO_DELIVER);
    assert_int_equal(offer(&o, 1, out, sizeof(out)), GW_RO_DUPLICATE);
    assert_int_equal(offer(&o, 2, out, sizeof(out)), GW_RO_DUPLICATE);
    assert_string_equal(out, "c0,c1,c2,");
    gw_reorder_fini(&o);
}

static void test_gaps_reordered(void **state)
{
    struct gw_reorder o;
    char out[256] = "";

    (void)state;
    gw_reorder_init(&o, 8);
    assert_int_equal(offer(&o, 3, out, sizeof(out)), GW_RO_KEPT);
    assert_int_equal(offer(&o, 1, out, sizeof(out)), GW_RO_KEPT);
    assert_int_equal(offer(&o, 5, out, sizeof(out)), GW_RO_KEPT);
    assert_true(gw_reorder_has_gaps(&o));
    assert_string_equal(out, "");
    assert_int_equal(offer(&o, 0, out, sizeof(out)), GW_RO_DELIVER);
    assert_string_equal(out, "c0,c1,");
    assert_true(gw_reorder_has_gaps(&o)); /* 3 and 5 wait for 2 and 4 */
    assert_int_equal(offer(&o, 2, out, sizeof(out)), GW_RO_DELIVER);
    assert_string_equal(out, "c0,c1,c2,c3,");
    assert_int_equal(offer(&o, 4, out, sizeof(out)), GW_RO_DELIVER);
    assert_string_equal(out, "c0,c1,c2,c3,c4,c5,");
    assert_false(gw_reorder_has_gaps(&o));
    assert_int_equal(o.next, 6);
    gw_reorder_fini(&o);
}

static void test_pending_cap(void **state)
{
    struct gw_reorder o;
    char out[256] = "";

    (void)state;
    gw_reorder_init(&o, 2);
    assert_int_equal(offer(&o, 1, out, sizeof(out)), GW_RO_KEPT);
    assert_int_equal(offer(&o, 2, out, sizeof(out)), GW_RO_KEPT);
    assert_int_equal(offer(&o, 3, out, sizeof(out)), GW_RO_FULL);
    assert_int_equal(offer(&o, 2, out, sizeof(out)), GW_RO_DUPLICATE);
    assert_int_equal(offer(&o, 0, out, sizeof(out)), GW_RO_DELIVER);
    assert_string_equal(out, "c0,c1,c2,");
    assert_false(gw_reorder_has_gaps(&o));
    /* room again: the dropped chunk is delivered when it comes back */
    assert_int_equal(offer(&o, 3, out, sizeof(out)), GW_RO_DELIVER);
    assert_string_equal(out, "c0,c1,c2,c3,");
    gw_reorder_fini(&o);
}

static void test_empty_chunks_and_fini_with_pending(void **state)
{
    struct gw_reorder o;
    const uint8_t *data;
    size_t len = 99;

    (void)state;
    gw_reorder_init(&o, 4);
    assert_int_equal(gw_reorder_offer(&o, 1, NULL, 0), GW_RO_KEPT);
    assert_int_equal(gw_reorder_offer(&o, 3, (const uint8_t *)"x", 1),
                     GW_RO_KEPT);
    assert_false(gw_reorder_pop(&o, &data, &len));
    assert_int_equal(gw_reorder_offer(&o, 0, NULL, 0), GW_RO_DELIVER);
    assert_true(gw_reorder_pop(&o, &data, &len));
    assert_int_equal(len, 0);
    assert_false(gw_reorder_pop(&o, &data, &len));
    assert_true(gw_reorder_has_gaps(&o));
    gw_reorder_fini(&o); /* frees chunk 3 (checked under valgrind/asan) */
    assert_false(gw_reorder_has_gaps(&o));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_gaps_reordered),
        cmocka_unit_test(test_pending_cap),
        cmocka_unit_test(test_empty_chunks_and_fini_with_pending),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
