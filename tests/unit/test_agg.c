/* test_agg.c - the generic aggregation engine with the q2/q3/q4 specs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "workers/ops/agg.h"
#include "workers/ops/chunker.h"

#define CAP_MAX (4 << 20)

/* Collects chunks: their concatenation and their count. */
struct cap {
    char *buf;
    size_t len;
    int64_t chunks;
    size_t max_chunk;
};

static int cap_fn(void *arg, int64_t index, const void *body, size_t len)
{
    struct cap *c = arg;

    assert_int_equal(index, c->chunks);
    assert_true(len > 0);
    assert_int_equal(((const char *)body)[len - 1], '\n'); /* whole lines */
    assert_true(c->len + len < CAP_MAX);
    memcpy(c->buf + c->len, body, len);
    c->len += len;
    c->buf[c->len] = '\0';
    c->chunks++;
    if (len > c->max_chunk)
        c->max_chunk = len;
    return 0;
}

static void cap_init(struct cap *c)
{
    c->buf = malloc(CAP_MAX);
    assert_non_null(c->buf);
    c->buf[0] = '\0';
    c->len = 0;
    c->chunks = 0;
    c->max_chunk = 0;
}

/* Emits a's result with chunk limit `limit` into c. */
static void emit(const struct agg *a, size_t limit, struct cap *c)
{
    struct chunker ch;

    cap_init(c);
    chunker_init(&ch, limit, cap_fn, c);
    assert_int_equal(agg_emit(a, &ch), 0);
    chunker_fini(&ch);
}

static size_t feed(struct agg *a, const char *stream, const char *body)
{
    size_t bad = 0;

    assert_int_equal(agg_feed(a, stream, body, strlen(body), &bad), 0);
    return bad;
}

static void test_specs_valid(void **state)
{
    struct agg_spec bad = agg_spec_q2;

    (void)state;
    assert_true(agg_spec_valid(&agg_spec_q2));
    assert_true(agg_spec_valid(&agg_spec_q3));
    assert_true(agg_spec_valid(&agg_spec_q4));
    bad.keys[1] = 4; /* out of the 4 columns */
    assert_false(agg_spec_valid(&bad));
    assert_null(agg_create(&bad));
    bad = agg_spec_q2;
    bad.topk.rank[1] = 2; /* no third measure */
    assert_false(agg_spec_valid(&bad));
    agg_destroy(NULL);
}

static void test_q2_ties_and_months(void **state)
{
    struct agg *a = agg_create(&agg_spec_q2);
    struct cap c;

    (void)state;
    assert_non_null(a);
    /* 2024-01: items 8 and 3 tie on both measures -> item 3 */
    assert_int_equal(
        feed(a, "transaction_items", "202401,8,2,20000\n202401,3,1,10000\n"),
        0);
    assert_int_equal(feed(a, "transaction_items.2", /* suffixed stream */
                          "202401,3,1,10000\n202402,6,1,30000\n"
                          "202402,5,3,9000\n202312,7,1,1"),
                     0);
    emit(a, 1 << 16, &c);
    assert_string_equal(c.buf, "0,202312,7,1,1\n"
                               "0,202401,3,2,20000\n"
                               "0,202402,5,3,9000\n"
                               "1,202312,7,1,1\n"
                               "1,202401,3,2,20000\n"
                               "1,202402,6,1,30000\n");
    assert_int_equal(c.chunks, 1);
    assert_int_equal(agg_ngroups(a), 5);
    free(c.buf);
    agg_destroy(a);
}

static void test_q3_sums_and_order(void **state)
{
    struct agg *a = agg_create(&agg_spec_q3);
    struct cap c;

    (void)state;
    assert_non_null(a);
    feed(a, "transactions",
         "20242,5,63500\n20241,5,1\n20241,10,8075\n"
         "20241,5,999\n20251,2,0\n20242,5,500\n");
    emit(a, 1 << 16, &c);
    assert_string_equal(c.buf, "20241,5,1000\n"
                               "20241,10,8075\n"
                               "20242,5,64000\n"
                               "20251,2,0\n");
    free(c.buf);
    /* nothing fed: nothing emitted, not even an empty chunk */
    agg_destroy(a);
    a = agg_create(&agg_spec_q3);
    emit(a, 1 << 16, &c);
    assert_int_equal(c.chunks, 0);
    free(c.buf);
    agg_destroy(a);
}

static void test_q4_top3_ties_birthdates(void **state)
{
    struct agg *a = agg_create(&agg_spec_q4);
    struct cap c;

    (void)state;
    assert_non_null(a);
    feed(a, "users", "10,1990-01-01\n12,1985-05-05\n");
    /* store 1: 10 x3, 11 x2, 12 x2, 13 x2, 9 x1; store 2: 13 x1 */
    feed(a, "transactions",
         "1,10\n1,10\n1,10\n1,11\n1,11\n1,12\n1,12\n"
         "1,13\n1,13\n1,9\n2,13\n");
    /* a birthdate after the purchases still joins; a repeated user keeps
     * the byte-smallest date whatever the arrival order */
    feed(a, "users", "13,2000-02-02\n12,1999-09-09\n");
    emit(a, 1 << 16, &c);
    assert_string_equal(c.buf, "0,1,10,3,1990-01-01\n"
                               "0,1,11,2,\n"
                               "0,1,12,2,1985-05-05\n"
                               "0,2,13,1,2000-02-02\n");
    free(c.buf);
    agg_destroy(a);
}

static void test_malformed_lines(void **state)
{
    struct agg *a = agg_create(&agg_spec_q2);
    struct cap c;

    (void)state;
    assert_non_null(a);
    assert_int_equal(feed(a, "transaction_items",
                          "abc\n202401,1,2\n202401,x,1,1\n202401,1,1,1,1\n"
                          "\n\n202401,1,1,1\n,,,\n202401,1,1,1.5\n"),
                     6);
    assert_int_equal(feed(a, "users", "1,2\n3,4\n"), 2); /* not q2's */
    assert_int_equal(feed(a, "transaction_itemsX", "202401,1,1,1\n"), 1);
    emit(a, 1 << 16, &c);
    assert_string_equal(c.buf, "0,202401,1,1,1\n1,202401,1,1,1\n");
    free(c.buf);
    agg_destroy(a);
}

/* Deterministic output whatever the batch split and row order. */
static void test_deterministic(void **state)
{
    struct agg *a = agg_create(&agg_spec_q4), *b = agg_create(&agg_spec_q4);
    char row[64];
    struct cap ca, cb;
    int i;

    (void)state;
    for (i = 0; i < 3000; i++) {
        snprintf(row, sizeof(row), "%d,%d\n", i % 7, (i * 37) % 101);
        feed(a, "transactions", row);
    }
    for (i = 2999; i >= 0; i--) {
        snprintf(row, sizeof(row), "%d,%d\n", i % 7, (i * 37) % 101);
        feed(b, "transactions", row);
    }
    emit(a, 1 << 16, &ca);
    emit(b, 1 << 16, &cb);
    assert_string_equal(ca.buf, cb.buf);
    free(ca.buf);
    free(cb.buf);
    agg_destroy(a);
    agg_destroy(b);
}

/* Many groups, small chunks: every chunk within the limit, whole lines,
 * and the same text as one big chunk. */
static void test_many_groups_chunked(void **state)
{
    struct agg *a = agg_create(&agg_spec_q3);
    struct cap big, small;
    char row[64];
    int i;

    (void)state;
    for (i = 0; i < 50000; i++) {
        snprintf(row, sizeof(row), "2024%d,%d,%d\n", 1 + i % 2, i, i);
        feed(a, "transactions", row);
        feed(a, "transactions", row);
    }
    assert_int_equal(agg_ngroups(a), 50000);
    emit(a, 1 << 30, &big);
    emit(a, 4096, &small);
    assert_int_equal(big.chunks, 1);
    assert_true(small.chunks > 100);
    assert_true(small.max_chunk <= 4096);
    assert_string_equal(big.buf, small.buf);
    assert_non_null(strstr(big.buf, "\n20242,49999,99998\n"));
    assert_memory_equal(big.buf, "20241,0,0\n20241,2,4\n", 20);
    free(big.buf);
    free(small.buf);
    agg_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_specs_valid),
        cmocka_unit_test(test_q2_ties_and_months),
        cmocka_unit_test(test_q3_sums_and_order),
        cmocka_unit_test(test_q4_top3_ties_birthdates),
        cmocka_unit_test(test_malformed_lines),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_many_groups_chunked),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
