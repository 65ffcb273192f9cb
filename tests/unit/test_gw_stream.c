/* test_gw_stream.c - the gateway's client-stream checks: the verdict of
 * each frame sequence and the exact words of each refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/stream.h"

#define ROWS "1,a\n2,b\n"
#define T_STORES PROTO_T_STORES
#define T_USERS PROTO_T_USERS

struct fx {
    struct gw_stream st;
    struct proto_buf b;
    struct proto_decoder d;
    struct proto_msg m;
    char why[400];
};

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));

    if (x == NULL)
        return -1;
    gw_stream_init(&x->st);
    proto_buf_init(&x->b);
    proto_decoder_init(&x->d, 4096);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;

    proto_buf_fini(&x->b);
    proto_decoder_fini(&x->d);
    free(x);
    return 0;
}

/* Decodes the frame encoded in x->b (emptied) and checks it: the HELLO
 * check when hello, else the stream check. A header the decoder refuses
 * gives gw_stream_header's verdict. */
static enum gw_verdict check(struct fx *x, bool hello)
{
    struct proto_frame f;
    int rc;

    assert_int_equal(proto_decoder_feed(&x->d, x->b.ptr, x->b.len), 0);
    proto_buf_reset(&x->b);
    rc = proto_decoder_next(&x->d, &f);
    if (rc < 0)
        return gw_stream_header(&x->st, rc);
    assert_int_equal(rc, 1);
    return hello ? gw_stream_hello(&x->st, &f, &x->m)
                 : gw_stream_frame(&x->st, &f, &x->m);
}

static void reason_is(struct fx *x, enum gw_verdict v, uint16_t code,
                      const char *text)
{
    assert_true(gw_verdict_fails(v));
    assert_int_equal(gw_stream_reason(&x->st, v, 4096, x->why, sizeof(x->why)),
                     code);
    assert_string_equal(x->why, text);
}

static void hello(struct fx *x)
{
    assert_int_equal(proto_enc_hello(&x->b, PROTO_VERSION, "t", NULL), 0);
    assert_int_equal(check(x, true), GW_V_OK);
}

static enum gw_verdict table(struct fx *x, int t, uint32_t rows, uint64_t said)
{
    enum gw_verdict v;

    assert_int_equal(proto_enc_table_begin(&x->b, (uint8_t)t), 0);
    if ((v = check(x, false)) != GW_V_OK)
        return v;
    if (rows > 0) {
        assert_int_equal(
            proto_enc_batch(&x->b, (uint8_t)t, rows, ROWS, strlen(ROWS)), 0);
        if ((v = check(x, false)) != GW_V_BATCH)
            return v;
        gw_stream_batch_done(&x->st, &x->m);
    }
    assert_int_equal(proto_enc_table_end(&x->b, (uint8_t)t, said), 0);
    return check(x, false);
}

static void test_whole_stream(void **state)
{
    struct fx *x = *state;

    hello(x);
    assert_int_equal(x->st.version, PROTO_VERSION);
    assert_int_equal(table(x, T_STORES, 2, 2), GW_V_OK);
    assert_int_equal(table(x, T_USERS, 0, 0), GW_V_OK);
    assert_int_equal(proto_enc_data_end(&x->b), 0);
    assert_int_equal(check(x, false), GW_V_DATA_END);
    assert_int_equal(x->st.rows[T_STORES], 2);
    /* nothing after DATA_END */
    assert_int_equal(proto_enc_data_end(&x->b), 0);
    reason_is(x, check(x, false), PROTO_E_PROTOCOL,
              "unexpected DATA_END after DATA_END");
}

static void test_hello_refusals(void **state)
{
    struct fx *x = *state;
    enum gw_verdict v;

    assert_int_equal(proto_enc_table_begin(&x->b, T_STORES), 0);
    reason_is(x, check(x, true), PROTO_E_PROTOCOL,
              "expected HELLO, got TABLE_BEGIN");
    assert_int_equal(proto_enc_hello(&x->b, 99, "t", NULL), 0);
    v = check(x, true);
    assert_int_equal(v, GW_V_BAD_VERSION);
    reason_is(x, v, PROTO_E_VERSION,
              "protocol version 99 is not supported "
              "(this gateway speaks versions 1 to 2)");
    assert_false(x->st.hello);
}

static void test_header_refusals(void **state)
{
    struct fx *x = *state;
    static const uint8_t big[5] = {0x00, 0x10, 0x00, 0x00, PROTO_BATCH};

    assert_int_equal(proto_decoder_feed(&x->d, big, sizeof(big)), 0);
    {
        struct proto_frame f;
        int rc = proto_decoder_next(&x->d, &f);

        reason_is(x, gw_stream_header(&x->st, rc), PROTO_E_VERSION,
                  "the first frame is not a HELLO (frame larger than the size "
                  "cap): not a coffee-stream client?");
        x->st.hello = true;
        reason_is(
            x, gw_stream_header(&x->st, rc), PROTO_E_TOO_BIG,
            "frame larger than the size cap (cap 4096 bytes, MAX_FRAME_BYTES)");
        reason_is(x, gw_stream_header(&x->st, PROTO_ERR_TYPE), PROTO_E_PROTOCOL,
                  "unknown frame type");
    }
}

static void test_table_order(void **state)
{
    struct fx *x = *state;

    hello(x);
    assert_int_equal(proto_enc_batch(&x->b, T_STORES, 2, ROWS, strlen(ROWS)),
                     0);
    reason_is(x, check(x, false), PROTO_E_PROTOCOL,
              "BATCH of stores outside its TABLE_BEGIN/TABLE_END");
    assert_int_equal(proto_enc_table_begin(&x->b, T_STORES), 0);
    assert_int_equal(check(x, false), GW_V_OK);
    assert_int_equal(proto_enc_table_begin(&x->b, T_USERS), 0);
    reason_is(x, check(x, false), PROTO_E_PROTOCOL,
              "TABLE_BEGIN of users: another table is open");
    assert_int_equal(proto_enc_data_end(&x->b), 0);
    reason_is(x, check(x, false), PROTO_E_PROTOCOL,
              "DATA_END while table stores is open");
    assert_int_equal(proto_enc_table_end(&x->b, T_USERS, 0), 0);
    reason_is(x, check(x, false), PROTO_E_PROTOCOL,
              "TABLE_END of users, which is not open");
    assert_int_equal(proto_enc_table_end(&x->b, T_STORES, 0), 0);
    assert_int_equal(check(x, false), GW_V_OK);
    assert_int_equal(proto_enc_table_begin(&x->b, T_STORES), 0);
    reason_is(x, check(x, false), PROTO_E_PROTOCOL,
              "TABLE_BEGIN of stores: table already sent");
}

static void test_batch_and_counts(void **state)
{
    struct fx *x = *state;

    hello(x);
    assert_int_equal(proto_enc_table_begin(&x->b, T_STORES), 0);
    assert_int_equal(check(x, false), GW_V_OK);
    assert_int_equal(proto_enc_batch(&x->b, T_STORES, 2, "1,a\n2,b", 7), 0);
    reason_is(x, check(x, false), PROTO_E_PROTOCOL,
              "BATCH of stores is not whole "
              "lines (empty, no rows, or no final newline)");
    assert_int_equal(proto_enc_batch(&x->b, T_STORES, 0, ROWS, strlen(ROWS)),
                     0);
    assert_int_equal(check(x, false), GW_V_BATCH_LINES);
    /* a batch refused is not counted; one not published either */
    assert_int_equal(proto_enc_batch(&x->b, T_STORES, 2, ROWS, strlen(ROWS)),
                     0);
    assert_int_equal(check(x, false), GW_V_BATCH);
    assert_int_equal(proto_enc_table_end(&x->b, T_STORES, 2), 0);
    reason_is(x, check(x, false), PROTO_E_PROTOCOL,
              "TABLE_END of stores says 2 rows, its batches carried 0");
}

static void test_malformed_and_unexpected(void **state)
{
    struct fx *x = *state;
    static const uint8_t bad_table[6] = {
        0x00, 0x00, 0x00, 0x01, PROTO_TABLE_BEGIN, 9};

    hello(x);
    assert_int_equal(proto_decoder_feed(&x->d, bad_table, sizeof(bad_table)),
                     0);
    reason_is(x, check(x, false), PROTO_E_PROTOCOL,
              "malformed TABLE_BEGIN: malformed frame");
    assert_int_equal(proto_enc_hello(&x->b, PROTO_VERSION, "again", NULL), 0);
    reason_is(x, check(x, false), PROTO_E_PROTOCOL,
              "unexpected HELLO while streaming");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_whole_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hello_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_and_unexpected, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
