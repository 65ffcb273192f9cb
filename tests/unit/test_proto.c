/*
 * test_proto.c - the wire codec: round trips, partial reads, truncated and
 * oversized frames, unknown types, wrong version and magic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto.h"

#include <stdlib.h>
#include <string.h>

#define SESSION "0f8fad5b-d9cb-469f-a165-70867728950e"

/* Feeds b into a fresh decoder (in pieces of `step` bytes) and decodes
 * exactly one frame into m. */
static void decode_one(const struct proto_buf *b, size_t step,
                       struct proto_frame *f, struct proto_msg *m,
                       struct proto_decoder *d)
{
    size_t off = 0;
    int got = 0;

    proto_decoder_init(d, PROTO_MAX_FRAME_DEFAULT);
    while (off < b->len) {
        size_t n = b->len - off < step ? b->len - off : step;

        assert_int_equal(got, 0);
        assert_int_equal(proto_decoder_feed(d, b->ptr + off, n), 0);
        off += n;
        got = proto_decoder_next(d, f);
        assert_true(got >= 0);
    }
    assert_int_equal(got, 1);
    assert_int_equal(proto_decoder_pending(d), 0);
    assert_int_equal(proto_decode(f, m), 0);
}

static void test_roundtrip_handshake(void **state)
{
    struct proto_buf b;
    struct proto_decoder d;
    struct proto_frame f;
    struct proto_msg m;

    (void)state;
    proto_buf_init(&b);
    assert_int_equal(proto_enc_hello(&b, PROTO_VERSION, "client-test", NULL),
                     0);
    decode_one(&b, 1, &f, &m, &d);
    assert_int_equal(m.type, PROTO_HELLO);
    assert_int_equal(m.u.hello.version, PROTO_VERSION);
    assert_string_equal(m.u.hello.name, "client-test");
    assert_string_equal(m.u.hello.folder, "");
    proto_decoder_fini(&d);

    /* with the optional data folder */
    proto_buf_reset(&b);
    assert_int_equal(proto_enc_hello(&b, PROTO_VERSION, "c", "dataset1"), 0);
    decode_one(&b, 1, &f, &m, &d);
    assert_string_equal(m.u.hello.name, "c");
    assert_string_equal(m.u.hello.folder, "dataset1");
    proto_decoder_fini(&d);

    proto_buf_reset(&b);
    assert_int_equal(proto_enc_welcome(&b, PROTO_VERSION, SESSION, 1234567), 0);
    decode_one(&b, 3, &f, &m, &d);
    assert_int_equal(m.type, PROTO_WELCOME);
    assert_string_equal(m.u.welcome.session, SESSION);
    assert_int_equal(m.u.welcome.max_frame, 1234567);
    proto_decoder_fini(&d);

    proto_buf_reset(&b);
    assert_int_equal(proto_enc_error(&b, PROTO_E_IDLE, "idle for 60 s"), 0);
    decode_one(&b, 1000, &f, &m, &d);
    assert_int_equal(m.type, PROTO_ERROR);
    assert_int_equal(m.u.error.code, PROTO_E_IDLE);
    assert_string_equal(m.u.error.text, "idle for 60 s");
    proto_decoder_fini(&d);
    proto_buf_fini(&b);
}

static void test_roundtrip_data(void **state)
{
    const char csv[] = "1,a,\"x,\"\"y\"\"\"\n2,b,c\n";
    struct proto_buf b;
    struct proto_decoder d;
    struct proto_frame f;
    struct proto_msg m;

    (void)state;
    proto_buf_init(&b);
    assert_int_equal(proto_enc_table_begin(&b, PROTO_T_STORES), 0);
    decode_one(&b, 2, &f, &m, &d);
    assert_int_equal(m.type, PROTO_TABLE_BEGIN);
    assert_int_equal(m.u.table_begin.table, PROTO_T_STORES);
    proto_decoder_fini(&d);

    proto_buf_reset(&b);
    assert_int_equal(proto_enc_batch(&b, PROTO_T_USERS, 2, csv, strlen(csv)),
                     0);
    decode_one(&b, 7, &f, &m, &d);
    assert_int_equal(m.type, PROTO_BATCH);
    assert_int_equal(m.u.batch.table, PROTO_T_USERS);
    assert_int_equal(m.u.batch.rows, 2);
    assert_int_equal(m.u.batch.len, strlen(csv));
    assert_memory_equal(m.u.batch.data, csv, strlen(csv));
    proto_decoder_fini(&d);

    proto_buf_reset(&b);
    assert_int_equal(proto_enc_table_end(&b, PROTO_T_MENU_ITEMS, 1ULL << 40),
                     0);
    decode_one(&b, 1, &f, &m, &d);
    assert_int_equal(m.u.table_end.table, PROTO_T_MENU_ITEMS);
    assert_true(m.u.table_end.rows == 1ULL << 40);
    proto_decoder_fini(&d);

    proto_buf_reset(&b);
    assert_int_equal(proto_enc_data_end(&b), 0);
    assert_int_equal(b.len, PROTO_HDR_LEN);
    decode_one(&b, 1, &f, &m, &d);
    assert_int_equal(m.type, PROTO_DATA_END);
    proto_decoder_fini(&d);
    proto_buf_fini(&b);
}

static void test_roundtrip_results(void **state)
{
    const char body[] = "transaction_id,final_amount\nabc,75.0\n";
    uint64_t rej[PROTO_NTABLES] = {3, 0, 1, 0, 7};
    struct proto_buf b;
    struct proto_decoder d;
    struct proto_frame f;
    struct proto_msg m;

    (void)state;
    proto_buf_init(&b);
    assert_int_equal(proto_enc_result(&b, "q1.csv", 4, body, strlen(body)), 0);
    decode_one(&b, 5, &f, &m, &d);
    assert_int_equal(m.type, PROTO_RESULT);
    assert_string_equal(m.u.result.file, "q1.csv");
    assert_int_equal(m.u.result.seq, 4);
    assert_int_equal(m.u.result.len, strlen(body));
    assert_memory_equal(m.u.result.data, body, strlen(body));
    proto_decoder_fini(&d);

    proto_buf_reset(&b);
    assert_int_equal(proto_enc_result(&b, "q4.csv", 0, "", 0), 0);
    decode_one(&b, 5, &f, &m, &d);
    assert_int_equal(m.u.result.len, 0);
    proto_decoder_fini(&d);

    proto_buf_reset(&b);
    assert_int_equal(proto_enc_result_end(&b, 0, rej), 0);
    decode_one(&b, 1, &f, &m, &d);
    assert_int_equal(m.type, PROTO_RESULT_END);
    assert_int_equal(m.u.result_end.status, 0);
    assert_memory_equal(m.u.result_end.rejected, rej, sizeof(rej));
    proto_decoder_fini(&d);

    proto_buf_reset(&b);
    assert_int_equal(proto_enc_status(&b, "waiting for stage agg-q3"), 0);
    decode_one(&b, 3, &f, &m, &d);
    assert_int_equal(m.type, PROTO_STATUS);
    assert_string_equal(m.u.status.text, "waiting for stage agg-q3");
    proto_decoder_fini(&d);

    proto_buf_reset(&b); /* nothing wrong any more */
    assert_int_equal(proto_enc_status(&b, ""), 0);
    decode_one(&b, 1, &f, &m, &d);
    assert_int_equal(m.type, PROTO_STATUS);
    assert_string_equal(m.u.status.text, "");
    proto_decoder_fini(&d);
    proto_buf_fini(&b);
}

/* The zero-copy heads produce the same bytes as the whole-frame encoders. */
static void test_prefixes(void **state)
{
    const char csv[] = "1,2\n";
    uint8_t head[PROTO_BATCH_PREFIX_LEN];
    struct proto_buf a, b;

    (void)state;
    proto_buf_init(&a);
    proto_buf_init(&b);
    assert_int_equal(proto_enc_batch(&a, 1, 1, csv, 4), 0);
    assert_int_equal(proto_batch_prefix(head, 1, 1, 4), 0);
    assert_int_equal(a.len, sizeof(head) + 4);
    assert_memory_equal(a.ptr, head, sizeof(head));
    assert_int_equal(proto_batch_prefix(head, PROTO_NTABLES, 1, 4),
                     PROTO_ERR_ARG);

    proto_buf_reset(&a);
    assert_int_equal(proto_enc_result(&a, "q3.csv", 9, csv, 4), 0);
    assert_int_equal(proto_enc_result_prefix(&b, "q3.csv", 9, 4), 0);
    assert_int_equal(a.len, b.len + 4);
    assert_memory_equal(a.ptr, b.ptr, b.len);
    assert_int_equal(b.len - PROTO_HDR_LEN, proto_result_overhead(6));
    proto_buf_fini(&a);
    proto_buf_fini(&b);
}

/* Several frames arriving in one read come out one by one, in order. */
static void test_several_frames_one_read(void **state)
{
    struct proto_buf b;
    struct proto_decoder d;
    struct proto_frame f;
    struct proto_msg m;
    int i;

    (void)state;
    proto_buf_init(&b);
    for (i = 0; i < 5; i++)
        assert_int_equal(proto_enc_table_begin(&b, (uint8_t)i), 0);
    assert_int_equal(proto_enc_data_end(&b), 0);
    proto_decoder_init(&d, 1024);
    assert_int_equal(proto_decoder_feed(&d, b.ptr, b.len), 0);
    for (i = 0; i < 5; i++) {
        assert_int_equal(proto_decoder_next(&d, &f), 1);
        assert_int_equal(proto_decode(&f, &m), 0);
        assert_int_equal(m.u.table_begin.table, i);
    }
    assert_int_equal(proto_decoder_next(&d, &f), 1);
    assert_int_equal(f.type, PROTO_DATA_END);
    assert_int_equal(proto_decoder_next(&d, &f), 0);
    proto_decoder_fini(&d);
    proto_buf_fini(&b);
}

/* A frame cut short is "need more", never a frame. */
static void test_truncated_stream(void **state)
{
    struct proto_buf b;
    struct proto_decoder d;
    struct proto_frame f;

    (void)state;
    proto_buf_init(&b);
    assert_int_equal(proto_enc_hello(&b, PROTO_VERSION, "abc", NULL), 0);
    proto_decoder_init(&d, 1024);
    assert_int_equal(proto_decoder_feed(&d, b.ptr, b.len - 1), 0);
    assert_int_equal(proto_decoder_next(&d, &f), 0);
    assert_int_equal(proto_decoder_feed(&d, b.ptr + b.len - 1, 1), 0);
    assert_int_equal(proto_decoder_next(&d, &f), 1);
    proto_decoder_fini(&d);
    proto_buf_fini(&b);
}

/* A payload too short for its own fields is TRUNCATED. */
static void test_truncated_payload(void **state)
{
    /* HELLO announcing a 10-byte name but holding 2 bytes of it. */
    static const uint8_t hello[] = {'C', 'S', 'T', 'R', 0, 1, 0, 10, 'a', 'b'};
    static const uint8_t table_end[] = {2, 0, 0, 0}; /* u64 cut short */
    struct proto_frame f = {PROTO_HELLO, hello, sizeof(hello)};
    struct proto_msg m;

    (void)state;
    assert_int_equal(proto_decode(&f, &m), PROTO_ERR_TRUNCATED);
    f.type = PROTO_TABLE_END;
    f.payload = table_end;
    f.len = sizeof(table_end);
    assert_int_equal(proto_decode(&f, &m), PROTO_ERR_TRUNCATED);
    f.type = PROTO_BATCH;
    f.len = 0;
    assert_int_equal(proto_decode(&f, &m), PROTO_ERR_TRUNCATED);
}

/* The cap is enforced from the 5 header bytes, before any big allocation. */
static void test_oversized_rejected_from_header(void **state)
{
    static const uint8_t hdr[] = {0x7f, 0xff, 0xff, 0xff, PROTO_BATCH};
    static const uint8_t just_over[] = {0, 0, 0x04, 0x01, PROTO_BATCH};
    struct proto_decoder d;
    struct proto_frame f;
    uint8_t *p;
    size_t n;

    (void)state;
    proto_decoder_init(&d, PROTO_MAX_FRAME_DEFAULT);
    assert_int_equal(proto_decoder_feed(&d, hdr, sizeof(hdr)), 0);
    assert_int_equal(proto_decoder_next(&d, &f), PROTO_ERR_TOO_BIG);
    assert_true(d.cap < 1024 * 1024);
    /* sticky: no more buffer is handed out */
    assert_int_equal(proto_decoder_space(&d, &p, &n), PROTO_ERR_TOO_BIG);
    assert_int_equal(proto_decoder_next(&d, &f), PROTO_ERR_TOO_BIG);
    proto_decoder_fini(&d);

    proto_decoder_init(&d, 1024);
    assert_int_equal(proto_decoder_feed(&d, just_over, sizeof(just_over)), 0);
    assert_int_equal(proto_decoder_next(&d, &f), PROTO_ERR_TOO_BIG);
    proto_decoder_fini(&d);
}

static void test_unknown_type(void **state)
{
    static const uint8_t hdr[] = {0, 0, 0, 0, 0x7e};
    struct proto_decoder d;
    struct proto_frame f = {0x7e, hdr, 0};
    struct proto_msg m;

    (void)state;
    assert_false(proto_type_known(0x7e));
    assert_int_equal(proto_decode(&f, &m), PROTO_ERR_TYPE);
    proto_decoder_init(&d, 1024);
    assert_int_equal(proto_decoder_feed(&d, hdr, sizeof(hdr)), 0);
    assert_int_equal(proto_decoder_next(&d, &f), PROTO_ERR_TYPE);
    proto_decoder_fini(&d);
}

static void test_wrong_version_and_magic(void **state)
{
    uint8_t hello[] = {'C', 'S', 'T', 'R', 0, PROTO_VERSION + 1, 0, 1, 'x'};
    struct proto_frame f = {PROTO_HELLO, hello, sizeof(hello)};
    struct proto_msg m;

    (void)state;
    assert_int_equal(proto_decode(&f, &m), PROTO_ERR_VERSION);
    assert_int_equal(m.u.hello.version, PROTO_VERSION + 1);
    hello[5] = 0; /* below PROTO_VERSION_MIN */
    assert_int_equal(proto_decode(&f, &m), PROTO_ERR_VERSION);
    hello[5] = PROTO_VERSION;
    assert_int_equal(proto_decode(&f, &m), 0);
    hello[5] = PROTO_VERSION_MIN; /* older clients still welcome */
    assert_int_equal(proto_decode(&f, &m), 0);
    assert_int_equal(m.u.hello.version, PROTO_VERSION_MIN);
    hello[0] = 'G'; /* "GSTR": e.g. an HTTP client or another program */
    assert_int_equal(proto_decode(&f, &m), PROTO_ERR_MAGIC);
}

static void test_malformed(void **state)
{
    static const uint8_t begin_bad_table[] = {PROTO_NTABLES};
    static const uint8_t begin_trailing[] = {1, 0};
    static const uint8_t data_end_body[] = {0};
    static const uint8_t nul_name[] = {'C', 'S', 'T', 'R', 0, 1, 0, 2, 'a', 0};
    static const uint8_t end_dup[] = {0, 2, 1, 0, 0, 0, 0, 0, 0, 0,
                                      1, 1, 0, 0, 0, 0, 0, 0, 0, 2};
    static const uint8_t short_session[] = {0, 1, 0, 1, 'a', 0, 0, 0, 0};
    struct proto_frame f;
    struct proto_msg m;

    (void)state;
    f = (struct proto_frame){PROTO_TABLE_BEGIN, begin_bad_table, 1};
    assert_int_equal(proto_decode(&f, &m), PROTO_ERR_MALFORMED);
    f = (struct proto_frame){PROTO_TABLE_BEGIN, begin_trailing, 2};
    assert_int_equal(proto_decode(&f, &m), PROTO_ERR_MALFORMED);
    f = (struct proto_frame){PROTO_DATA_END, data_end_body, 1};
    assert_int_equal(proto_decode(&f, &m), PROTO_ERR_MALFORMED);
    f = (struct proto_frame){PROTO_HELLO, nul_name, sizeof(nul_name)};
    assert_int_equal(proto_decode(&f, &m), PROTO_ERR_MALFORMED);
    f = (struct proto_frame){PROTO_RESULT_END, end_dup, sizeof(end_dup)};
    assert_int_equal(proto_decode(&f, &m), PROTO_ERR_MALFORMED);
    f = (struct proto_frame){PROTO_WELCOME, short_session,
                             sizeof(short_session)};
    assert_int_equal(proto_decode(&f, &m), PROTO_ERR_MALFORMED);
}

static void test_encoder_limits(void **state)
{
    char longname[PROTO_NAME_MAX + 2];
    char *text = malloc(4000);
    struct proto_buf b;
    struct proto_decoder d;
    struct proto_frame f;
    struct proto_msg m;

    (void)state;
    assert_non_null(text);
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    proto_buf_init(&b);
    assert_int_equal(proto_enc_hello(&b, PROTO_VERSION, longname, NULL),
                     PROTO_ERR_ARG);
    assert_int_equal(b.len, 0); /* a failed encode leaves nothing behind */
    assert_int_equal(proto_enc_welcome(&b, PROTO_VERSION, "short", 1),
                     PROTO_ERR_ARG);
    assert_int_equal(proto_enc_table_begin(&b, 9), PROTO_ERR_ARG);
    assert_int_equal(proto_enc_result(&b, "", 0, "", 0), PROTO_ERR_ARG);
    memset(text, 'e', 3999);
    text[3999] = '\0';
    assert_int_equal(proto_enc_error(&b, 1, text), 0); /* cut, not refused */
    decode_one(&b, 4096, &f, &m, &d);
    assert_int_equal(strlen(m.u.error.text), PROTO_TEXT_MAX);
    proto_decoder_fini(&d);
    proto_buf_fini(&b);
    free(text);
}

/* A big frame (over the read chunk) arrives through space/commit. */
static void test_big_frame_partial_reads(void **state)
{
    size_t n = 3 * 1024 * 1024 + 17, off = 0;
    uint8_t *data = malloc(n);
    struct proto_buf b;
    struct proto_decoder d;
    struct proto_frame f;
    struct proto_msg m;

    (void)state;
    assert_non_null(data);
    memset(data, 'x', n);
    data[n - 1] = '\n';
    proto_buf_init(&b);
    assert_int_equal(proto_enc_batch(&b, 0, 1, data, n), 0);
    proto_decoder_init(&d, PROTO_MAX_FRAME_DEFAULT);
    while (off < b.len) {
        uint8_t *p;
        size_t room, k;

        assert_int_equal(proto_decoder_next(&d, &f), 0);
        assert_int_equal(proto_decoder_space(&d, &p, &room), 0);
        k = b.len - off < room ? b.len - off : room;
        if (k > 100000)
            k = 100000;
        memcpy(p, b.ptr + off, k);
        proto_decoder_commit(&d, k);
        off += k;
    }
    assert_int_equal(proto_decoder_next(&d, &f), 1);
    assert_int_equal(proto_decode(&f, &m), 0);
    assert_int_equal(m.u.batch.len, n);
    assert_memory_equal(m.u.batch.data, data, n);
    assert_true(d.cap < n + 256 * 1024);
    proto_decoder_fini(&d);
    proto_buf_fini(&b);
    free(data);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(proto_type_name(PROTO_BATCH), "BATCH");
    assert_string_equal(proto_table_name(PROTO_T_TRANSACTION_ITEMS),
                        "transaction_items");
    assert_null(proto_table_name(PROTO_NTABLES));
    assert_int_equal(proto_table_by_name("menu_items"), PROTO_T_MENU_ITEMS);
    assert_int_equal(proto_table_by_name("vouchers"), -1);
    assert_string_equal(proto_strerror(PROTO_ERR_TOO_BIG),
                        "frame larger than the size cap");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_handshake),
        cmocka_unit_test(test_roundtrip_data),
        cmocka_unit_test(test_roundtrip_results),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_several_frames_one_read),
        cmocka_unit_test(test_truncated_stream),
        cmocka_unit_test(test_truncated_payload),
        cmocka_unit_test(test_oversized_rejected_from_header),
        cmocka_unit_test(test_unknown_type),
        cmocka_unit_test(test_wrong_version_and_magic),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_encoder_limits),
        cmocka_unit_test(test_big_frame_partial_reads),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
