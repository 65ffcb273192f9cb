/*
 * test_mw_ring.c - the middleware's pure containers: the unconfirmed-publish
 * ring (acks single / multiple / out of order / unknown tags, renumbering
 * for republish after a reconnect, buffer reuse) and the delivery FIFO
 * (growth while wrapped, buffer swapping on pop).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mw_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void push_n(struct mw_ring *r, int n, int first_id)
{
    struct mw_pending *p;
    struct mw_meta m;
    char body[32];
    int i;

    for (i = 0; i < n; i++) {
        memset(&m, 0, sizeof(m));
        m.seq = first_id + i;
        snprintf(body, sizeof(body), "msg-%d", first_id + i);
        assert_int_equal(
            mw_ring_push(r, "ex", "key", &m, body, strlen(body), &p), MW_OK);
        assert_int_equal(p->meta.seq, first_id + i);
    }
}

static void test_push_until_full(void **state)
{
    struct mw_ring r;
    struct mw_pending *p;

    (void)state;
    assert_int_equal(mw_ring_init(&r, 4), MW_OK);
    push_n(&r, 4, 0);
    assert_true(mw_ring_full(&r));
    assert_int_equal(mw_ring_push(&r, "ex", "k", NULL, "x", 1, &p), MW_ERR_ARG);
    assert_int_equal(mw_ring_at(&r, 0)->seq, 1);
    assert_int_equal(mw_ring_at(&r, 3)->seq, 4);
    assert_memory_equal(mw_ring_at(&r, 2)->body, "msg-2", 5);
    assert_string_equal(mw_ring_at(&r, 2)->exchange, "ex");
    mw_ring_fini(&r);
}

static void test_ack_single_and_multiple(void **state)
{
    struct mw_ring r;

    (void)state;
    assert_int_equal(mw_ring_init(&r, 8), MW_OK);
    push_n(&r, 6, 0); /* seq 1..6 */
    assert_int_equal(mw_ring_confirm(&r, 1, false), 1);
    assert_int_equal(mw_ring_count(&r), 5);
    assert_int_equal(mw_ring_confirm(&r, 4, true), 3); /* 2,3,4 */
    assert_int_equal(mw_ring_count(&r), 2);
    assert_int_equal(mw_ring_at(&r, 0)->seq, 5);
    assert_int_equal(mw_ring_confirm(&r, 4, true), 0);   /* old news */
    assert_int_equal(mw_ring_confirm(&r, 99, false), 0); /* unknown */
    assert_int_equal(mw_ring_count(&r), 2);
    assert_int_equal(mw_ring_confirm(&r, 0, true), 2); /* 0+multiple: all */
    assert_int_equal(mw_ring_count(&r), 0);
    mw_ring_fini(&r);
}

static void test_ack_out_of_order(void **state)
{
    struct mw_ring r;

    (void)state;
    assert_int_equal(mw_ring_init(&r, 8), MW_OK);
    push_n(&r, 4, 0);
    assert_int_equal(mw_ring_confirm(&r, 3, false), 1);
    assert_int_equal(mw_ring_count(&r), 4); /* head (1) still pending */
    assert_int_equal(mw_ring_confirm(&r, 3, false), 0);
    assert_int_equal(mw_ring_confirm(&r, 1, false), 1);
    assert_int_equal(mw_ring_count(&r), 3); /* 2 pending blocks 3 */
    assert_int_equal(mw_ring_confirm(&r, 2, false), 1);
    assert_int_equal(mw_ring_count(&r), 1); /* 3 released with 2 */
    assert_int_equal(mw_ring_at(&r, 0)->seq, 4);
    mw_ring_fini(&r);
}

static void test_wraparound_and_renumber(void **state)
{
    struct mw_ring r;
    struct mw_pending *p;

    (void)state;
    assert_int_equal(mw_ring_init(&r, 4), MW_OK);
    push_n(&r, 3, 0); /* seq 1..3 */
    assert_int_equal(mw_ring_confirm(&r, 2, true),
                     2); /* head moves to slot 2 */
    push_n(&r, 3, 3);    /* seq 4..6, wraps */
    assert_true(mw_ring_full(&r));
    assert_int_equal(mw_ring_confirm(&r, 5, false), 1); /* hole at id 4 */
    /* Reconnect: pending ids 2, 3, 5 are renumbered 1..3 in order. */
    assert_int_equal(mw_ring_renumber(&r), 3);
    assert_int_equal(mw_ring_count(&r), 3);
    assert_int_equal(mw_ring_at(&r, 0)->meta.seq, 2);
    assert_int_equal(mw_ring_at(&r, 1)->meta.seq, 3);
    assert_int_equal(mw_ring_at(&r, 2)->meta.seq, 5);
    assert_memory_equal(mw_ring_at(&r, 2)->body, "msg-5", 5);
    assert_int_equal(mw_ring_at(&r, 0)->seq, 1);
    assert_int_equal(mw_ring_at(&r, 2)->seq, 3);
    assert_int_equal(mw_ring_push(&r, "e", "k", NULL, "abcdefgh", 8, &p),
                     MW_OK);
    assert_int_equal(p->seq, 4);
    assert_int_equal(mw_ring_confirm(&r, 4, true), 4);
    assert_int_equal(mw_ring_count(&r), 0);
    mw_ring_reset(&r);
    assert_int_equal(r.next_seq, 1);
    mw_ring_fini(&r);
}

static void test_big_buffers_released(void **state)
{
    struct mw_ring r;
    struct mw_pending *p;
    static uint8_t big[2 * MW_BIG_BUF];

    (void)state;
    assert_int_equal(mw_ring_init(&r, 2), MW_OK);
    assert_int_equal(mw_ring_push(&r, "e", "k", NULL, big, sizeof(big), &p),
                     MW_OK);
    assert_true(p->cap >= sizeof(big));
    assert_int_equal(mw_ring_confirm(&r, 1, false), 1);
    assert_null(p->body); /* not pinned after confirmation */
    assert_int_equal(mw_ring_push(&r, "e", "k", NULL, "small", 5, &p), MW_OK);
    assert_int_equal(p->len, 5);
    mw_ring_fini(&r);
}

/* mw_ring_trim frees the kept buffers of free slots, never a pending
 * message's, and the ring goes on working. */
static void test_trim_keeps_pending(void **state)
{
    struct mw_ring r;
    struct mw_pending *p;
    unsigned i;

    (void)state;
    assert_int_equal(mw_ring_init(&r, 4), MW_OK);
    push_n(&r, 3, 0);
    assert_int_equal(mw_ring_confirm(&r, 2, true), 2); /* 1 and 2 done */
    assert_int_equal(mw_ring_count(&r), 1);
    mw_ring_trim(&r);
    assert_int_equal(mw_ring_count(&r), 1);
    p = mw_ring_at(&r, 0);
    assert_int_equal(p->seq, 3);
    assert_memory_equal(p->body, "msg-2", 5);
    for (i = 1; i < 4; i++) {
        assert_null(mw_ring_at(&r, i)->body);
        assert_int_equal(mw_ring_at(&r, i)->cap, 0);
    }
    assert_int_equal(mw_ring_confirm(&r, 3, false), 1);
    mw_ring_trim(&r); /* empty */
    assert_null(mw_ring_at(&r, 0)->body);
    push_n(&r, 2, 7);
    assert_memory_equal(mw_ring_at(&r, 1)->body, "msg-8", 5);
    mw_ring_fini(&r);
}

static void fifo_put(struct mw_fifo *q, const char *text, uint64_t tag)
{
    struct mw_msg *m = mw_fifo_reserve(q);

    assert_non_null(m);
    assert_int_equal(mw_buf_reserve(&m->body, &m->cap, strlen(text)), MW_OK);
    memcpy(m->body, text, strlen(text));
    m->len = strlen(text);
    m->tag = tag;
    mw_fifo_commit(q);
}

static void test_fifo_grows_in_order(void **state)
{
    struct mw_fifo q;
    struct mw_msg cur;
    char want[16];
    int i;

    (void)state;
    memset(&cur, 0, sizeof(cur));
    assert_int_equal(mw_fifo_init(&q, 2), MW_OK);
    fifo_put(&q, "m0", 0);
    fifo_put(&q, "m1", 1);
    mw_fifo_pop_swap(&q, &cur); /* head now 1: next puts wrap */
    assert_memory_equal(cur.body, "m0", 2);
    for (i = 2; i < 7; i++) {
        snprintf(want, sizeof(want), "m%d", i);
        fifo_put(&q, want, (uint64_t)i);
    }
    assert_int_equal(q.count, 6);
    for (i = 1; i < 7; i++) {
        snprintf(want, sizeof(want), "m%d", i);
        mw_fifo_pop_swap(&q, &cur);
        assert_int_equal(cur.tag, i);
        assert_int_equal(cur.len, 2);
        assert_memory_equal(cur.body, want, 2);
    }
    assert_int_equal(q.count, 0);
    fifo_put(&q, "again", 9);
    mw_fifo_clear(&q);
    assert_int_equal(q.count, 0);
    mw_fifo_fini(&q);
    free(cur.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_until_full),
        cmocka_unit_test(test_ack_single_and_multiple),
        cmocka_unit_test(test_ack_out_of_order),
        cmocka_unit_test(test_wraparound_and_renumber),
        cmocka_unit_test(test_big_buffers_released),
        cmocka_unit_test(test_trim_keeps_pending),
        cmocka_unit_test(test_fifo_grows_in_order),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
