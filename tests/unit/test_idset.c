/* test_idset.c - bitmap seq set: add, ranges, union, prefix, run iteration
 * checked against a naive bool array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "idset.h"

static void test_add_has_count(void **state)
{
    struct idset s;

    (void)state;
    idset_init(&s);
    assert_int_equal(idset_count(&s), 0);
    assert_false(idset_has(&s, 0));
    assert_int_equal(idset_add(&s, 0), 1);
    assert_int_equal(idset_add(&s, 63), 1);
    assert_int_equal(idset_add(&s, 64), 1);
    assert_int_equal(idset_add(&s, 5000), 1);
    assert_int_equal(idset_add(&s, 63), 0); /* duplicate */
    assert_int_equal(idset_count(&s), 4);
    assert_true(idset_has(&s, 0));
    assert_true(idset_has(&s, 63));
    assert_true(idset_has(&s, 64));
    assert_true(idset_has(&s, 5000));
    assert_false(idset_has(&s, 1));
    assert_false(idset_has(&s, 65));
    assert_false(idset_has(&s, 1 << 20)); /* beyond the allocation */
    /* out of range: refused, nothing changes */
    assert_int_equal(idset_add(&s, -1), -1);
    assert_int_equal(idset_add(&s, INT64_MIN), -1);
    assert_int_equal(idset_add(&s, IDSET_MAX_SEQ), -1);
    assert_int_equal(idset_add(&s, INT64_MAX), -1);
    assert_false(idset_has(&s, -1));
    assert_false(idset_has(&s, IDSET_MAX_SEQ));
    assert_int_equal(idset_count(&s), 4);
    assert_int_equal(idset_add(&s, IDSET_MAX_SEQ - 1), 1);
    assert_true(idset_has(&s, IDSET_MAX_SEQ - 1));
    assert_int_equal(idset_max(&s), IDSET_MAX_SEQ - 1);
    assert_int_equal(idset_count(&s), 5);
    idset_fini(&s);
}

static void test_add_range(void **state)
{
    struct idset s;

    (void)state;
    idset_init(&s);
    assert_int_equal(idset_add_range(&s, 3, 200), 198);
    assert_int_equal(idset_count(&s), 198);
    assert_false(idset_has(&s, 2));
    assert_true(idset_has(&s, 3));
    assert_true(idset_has(&s, 63));
    assert_true(idset_has(&s, 64));
    assert_true(idset_has(&s, 200));
    assert_false(idset_has(&s, 201));
    assert_int_equal(idset_add_range(&s, 64, 127), 0); /* inside */
    assert_int_equal(idset_add_range(&s, 0, 0), 1);
    assert_int_equal(idset_add_range(&s, 0, 0), 0);
    /* partly overlapping: only 201..300 are new */
    assert_int_equal(idset_add_range(&s, 190, 300), 100);
    assert_int_equal(idset_count(&s), 1 + 298);
    assert_int_equal(idset_nranges(&s), 2); /* {0} and [3, 300] */
    /* refused: nothing changes */
    assert_int_equal(idset_add_range(&s, 10, 9), -1);
    assert_int_equal(idset_add_range(&s, -1, 5), -1);
    assert_int_equal(idset_add_range(&s, 5, IDSET_MAX_SEQ), -1);
    assert_int_equal(idset_count(&s), 299);
    assert_false(idset_has(&s, 1));
    idset_fini(&s);

    /* exactly one word, then a single bit at each word edge */
    idset_init(&s);
    assert_int_equal(idset_add_range(&s, 64, 127), 64);
    assert_false(idset_has(&s, 63));
    assert_false(idset_has(&s, 128));
    assert_int_equal(idset_add_range(&s, 63, 63), 1);
    assert_int_equal(idset_add_range(&s, 128, 128), 1);
    assert_int_equal(idset_count(&s), 66);
    assert_int_equal(idset_nranges(&s), 1);
    idset_fini(&s);

    /* the whole domain at once */
    idset_init(&s);
    assert_int_equal(idset_add_range(&s, 0, IDSET_MAX_SEQ - 1), IDSET_MAX_SEQ);
    assert_int_equal(idset_count(&s), IDSET_MAX_SEQ);
    assert_true(idset_is_prefix(&s, IDSET_MAX_SEQ));
    assert_int_equal(idset_nranges(&s), 1);
    assert_int_equal(idset_add(&s, 12345), 0);
    idset_fini(&s);
}

static void test_union(void **state)
{
    struct idset a, b, e;

    (void)state;
    idset_init(&a);
    idset_init(&b);
    idset_init(&e);
    assert_int_equal(idset_add(&a, 1), 1);
    assert_int_equal(idset_add(&a, 5), 1);
    assert_int_equal(idset_add(&a, 100), 1);
    assert_int_equal(idset_add(&b, 5), 1);
    assert_int_equal(idset_add(&b, 6), 1);
    assert_int_equal(idset_add_range(&b, 2000, 2099), 100);
    assert_int_equal(idset_union(&a, &b), 101); /* 6 and 2000..2099 */
    assert_int_equal(idset_count(&a), 104);
    assert_true(idset_has(&a, 1));
    assert_true(idset_has(&a, 6));
    assert_true(idset_has(&a, 2099));
    assert_int_equal(idset_count(&b), 102); /* from is untouched */
    assert_false(idset_has(&b, 1));
    assert_int_equal(idset_union(&a, &b), 0); /* again: nothing new */
    assert_int_equal(idset_union(&a, &e), 0);
    assert_int_equal(idset_union(&e, &a), 104);
    assert_int_equal(idset_count(&e), 104);
    /* a large allocation whose high words are empty */
    assert_int_equal(idset_add(&b, 1 << 20), 1);
    idset_clear(&b);
    assert_int_equal(idset_add(&b, 7), 1);
    assert_int_equal(idset_union(&e, &b), 1);
    assert_int_equal(idset_max(&e), 2099);
    idset_fini(&a);
    idset_fini(&b);
    idset_fini(&e);
}

static void test_is_prefix(void **state)
{
    struct idset s;

    (void)state;
    idset_init(&s);
    assert_true(idset_is_prefix(&s, 0));
    assert_false(idset_is_prefix(&s, 1));
    assert_false(idset_is_prefix(&s, -1));
    assert_int_equal(idset_add_range(&s, 0, 9), 10);
    assert_true(idset_is_prefix(&s, 10));
    assert_false(idset_is_prefix(&s, 9));
    assert_false(idset_is_prefix(&s, 11));
    assert_false(idset_is_prefix(&s, 0));
    /* an element beyond n */
    assert_int_equal(idset_add(&s, 50), 1);
    assert_false(idset_is_prefix(&s, 10));
    assert_false(idset_is_prefix(&s, 11));
    /* a hole: {0..9} without 4, plus 10 -> 10 elements, not a prefix */
    idset_clear(&s);
    assert_int_equal(idset_add_range(&s, 0, 3), 4);
    assert_int_equal(idset_add_range(&s, 5, 10), 6);
    assert_int_equal(idset_count(&s), 10);
    assert_false(idset_is_prefix(&s, 10));
    assert_false(idset_is_prefix(&s, 11));
    /* word boundaries */
    idset_clear(&s);
    assert_int_equal(idset_add_range(&s, 0, 63), 64);
    assert_true(idset_is_prefix(&s, 64));
    assert_int_equal(idset_add_range(&s, 64, 128), 65);
    assert_true(idset_is_prefix(&s, 129));
    assert_false(idset_is_prefix(&s, 128));
    idset_fini(&s);
}

static void test_max_clear_fini(void **state)
{
    struct idset s;
    uint64_t *words;
    size_t nwords;

    (void)state;
    idset_init(&s);
    assert_int_equal(idset_max(&s), -1);
    assert_int_equal(idset_nranges(&s), 0);
    assert_int_equal(idset_add(&s, 5), 1);
    assert_int_equal(idset_max(&s), 5);
    assert_int_equal(idset_add(&s, 64), 1);
    assert_int_equal(idset_max(&s), 64);
    assert_int_equal(idset_add(&s, 100000), 1);
    assert_int_equal(idset_max(&s), 100000);
    words = s.words;
    nwords = s.nwords;
    assert_true(nwords * 64 > 100000);
    idset_clear(&s);
    assert_int_equal(idset_count(&s), 0);
    assert_int_equal(idset_max(&s), -1);
    assert_false(idset_has(&s, 5));
    assert_false(idset_has(&s, 100000));
    assert_true(s.words == words); /* the allocation is kept */
    assert_int_equal(s.nwords, nwords);
    assert_int_equal(idset_add(&s, 100000), 1);
    assert_true(s.words == words);
    idset_fini(&s);
    assert_null(s.words);
    assert_int_equal(s.nwords, 0);
    assert_int_equal(idset_count(&s), 0);
    idset_fini(&s);                        /* twice is harmless */
    assert_int_equal(idset_add(&s, 3), 1); /* reusable */
    idset_fini(&s);
}

static void test_next_range_basic(void **state)
{
    struct idset s;
    int64_t lo = -7, hi = -7;

    (void)state;
    idset_init(&s);
    assert_false(idset_next_range(&s, 0, &lo, &hi));
    assert_int_equal(idset_add_range(&s, 10, 20), 11);
    assert_int_equal(idset_add_range(&s, 30, 130), 101);
    assert_true(idset_next_range(&s, -5, &lo, &hi));
    assert_int_equal(lo, 10);
    assert_int_equal(hi, 20);
    assert_true(idset_next_range(&s, 10, &lo, &hi));
    assert_int_equal(lo, 10);
    /* from inside a run: the run starts before from, the next one is it */
    assert_true(idset_next_range(&s, 15, &lo, &hi));
    assert_int_equal(lo, 30);
    assert_int_equal(hi, 130);
    assert_true(idset_next_range(&s, 22, &lo, &hi));
    assert_int_equal(lo, 30);
    assert_false(idset_next_range(&s, 64, &lo, &hi));
    assert_false(idset_next_range(&s, 132, &lo, &hi));
    assert_false(idset_next_range(&s, IDSET_MAX_SEQ, &lo, &hi));
    assert_int_equal(idset_nranges(&s), 2);
    idset_fini(&s);
}

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64*: a fixed sequence, so failures reproduce */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Fills s and ref with the same random mix of single seqs and ranges. */
static void fill_random(struct idset *s, bool *ref, int64_t n)
{
    int64_t i, k, lo, hi, count = 0, added;

    for (k = 0; k < 300; k++) {
        lo = (int64_t)(rng() % (uint64_t)n);
        hi = lo + (int64_t)(rng() % (rng() % 4 == 0 ? 200 : 3));
        if (hi >= n)
            hi = n - 1;
        if (k % 2 == 0) {
            hi = lo;
            added = idset_add(s, lo);
        } else {
            added = idset_add_range(s, lo, hi);
        }
        for (i = lo; i <= hi; i++) {
            count += !ref[i];
            added -= !ref[i];
            ref[i] = true;
        }
        assert_int_equal(added, 0);
    }
    assert_int_equal(idset_count(s), count);
}

/* The first maximal run starting at or after from, computed naively. */
static bool naive_next(const bool *ref, int64_t n, int64_t from, int64_t *lo,
                       int64_t *hi)
{
    int64_t i = from < 0 ? 0 : from;

    while (i < n && (!ref[i] || (i > 0 && ref[i - 1])))
        i++;
    if (i >= n)
        return false;
    *lo = i;
    while (i + 1 < n && ref[i + 1])
        i++;
    *hi = i;
    return true;
}

static void test_next_range_random(void **state)
{
    enum {
        N = 5000
    };
    static bool ref[N], seen[N];
    struct idset s;
    int64_t from, lo, hi, nlo, nhi, i, max = -1;
    size_t runs = 0;
    int round;

    (void)state;
    rng_state = 0x9e3779b97f4a7c15ULL;
    for (round = 0; round < 20; round++) {
        memset(ref, 0, sizeof(ref));
        memset(seen, 0, sizeof(seen));
        idset_init(&s);
        fill_random(&s, ref, N);
        runs = 0;
        for (from = 0; idset_next_range(&s, from, &lo, &hi); from = hi + 2) {
            assert_true(naive_next(ref, N, from, &nlo, &nhi));
            assert_int_equal(lo, nlo);
            assert_int_equal(hi, nhi);
            for (i = lo; i <= hi; i++)
                seen[i] = true;
            runs++;
        }
        assert_false(naive_next(ref, N, from, &nlo, &nhi));
        assert_memory_equal(seen, ref, sizeof(ref));
        assert_int_equal(idset_nranges(&s), runs);
        /* arbitrary starting points, including inside a run */
        for (i = 0; i < 200; i++) {
            bool found;

            from = (int64_t)(rng() % (N + 100)) - 50;
            found = idset_next_range(&s, from, &lo, &hi);
            assert_int_equal(found, naive_next(ref, N, from, &nlo, &nhi));
            if (found) {
                assert_int_equal(lo, nlo);
                assert_int_equal(hi, nhi);
            }
        }
        for (max = -1, i = 0; i < N; i++)
            if (ref[i])
                max = i;
        assert_int_equal(idset_max(&s), max);
        idset_fini(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_has_count),
        cmocka_unit_test(test_add_range),
        cmocka_unit_test(test_union),
        cmocka_unit_test(test_is_prefix),
        cmocka_unit_test(test_max_clear_fini),
        cmocka_unit_test(test_next_range_basic),
        cmocka_unit_test(test_next_range_random),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
