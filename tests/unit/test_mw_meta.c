/*
 * test_mw_meta.c - the envelope headers: encode -> AMQP wire format ->
 * decode round trip (through rabbitmq-c's own table codec), omission of
 * empty strings, and lenient decoding of foreign headers (missing keys,
 * other integer widths, unknown kinds, non-string values, over-long
 * strings).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mw_internal.h"

#include <string.h>

/* Encodes `in` with rabbitmq-c as it goes on the wire and decodes it back. */
static void wire_round_trip(const struct mw_meta *in, struct mw_meta *out)
{
    amqp_table_entry_t ent[MW_META_ENTRIES];
    amqp_table_t t, back;
    uint8_t buf[4096];
    amqp_bytes_t enc = {sizeof(buf), buf};
    amqp_pool_t pool;
    size_t off = 0;

    mw_meta_encode(in, ent, &t);
    assert_int_equal(amqp_encode_table(enc, &t, &off), AMQP_STATUS_OK);
    enc.len = off;
    off = 0;
    init_amqp_pool(&pool, 4096);
    assert_int_equal(amqp_decode_table(enc, &pool, &back, &off),
                     AMQP_STATUS_OK);
    mw_meta_decode(&back, out);
    empty_amqp_pool(&pool);
}

static void test_round_trip(void **state)
{
    struct mw_meta in, out;

    (void)state;
    memset(&in, 0, sizeof(in));
    strcpy(in.session, "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
    strcpy(in.stream, "transactions");
    strcpy(in.producer, "gateway-1");
    in.seq = -1234567890123;
    in.kind = MW_KIND_RESULT;
    wire_round_trip(&in, &out);
    assert_string_equal(out.session, in.session);
    assert_string_equal(out.stream, in.stream);
    assert_string_equal(out.producer, in.producer);
    assert_int_equal(out.seq, in.seq);
    assert_int_equal(out.kind, MW_KIND_RESULT);
}

static void test_empty_strings_omitted(void **state)
{
    amqp_table_entry_t ent[MW_META_ENTRIES];
    struct mw_meta in, out;
    amqp_table_t t;

    (void)state;
    memset(&in, 0, sizeof(in));
    in.seq = 7;
    in.kind = MW_KIND_CONTROL;
    mw_meta_encode(&in, ent, &t);
    assert_int_equal(t.num_entries, 2); /* x-seq and x-kind only */
    wire_round_trip(&in, &out);
    assert_string_equal(out.session, "");
    assert_int_equal(out.seq, 7);
    assert_int_equal(out.kind, MW_KIND_CONTROL);
}

static amqp_table_entry_t entry_str(const char *k, const char *v)
{
    amqp_table_entry_t e;

    e.key = amqp_cstring_bytes(k);
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = amqp_cstring_bytes(v);
    return e;
}

static void test_lenient_decode(void **state)
{
    char longer[200];
    amqp_table_entry_t e[6];
    amqp_table_t t = {6, e};
    struct mw_meta m;

    (void)state;
    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    e[0] = entry_str("x-kind", "no-such-kind");
    e[1] = entry_str("x-stream", longer); /* truncated */
    e[2].key = amqp_cstring_bytes("x-seq");
    e[2].value.kind = AMQP_FIELD_KIND_U16;
    e[2].value.value.u16 = 65000;
    e[3].key = amqp_cstring_bytes("x-session");
    e[3].value.kind = AMQP_FIELD_KIND_I32; /* wrong type: ignored */
    e[3].value.value.i32 = 5;
    e[4] = entry_str("unrelated", "header");
    e[5].key = amqp_cstring_bytes("x-producer");
    e[5].value.kind = AMQP_FIELD_KIND_BYTES;
    e[5].value.value.bytes = amqp_cstring_bytes("filter-2");
    mw_meta_decode(&t, &m);
    assert_int_equal(m.kind, MW_KIND_DATA);
    assert_int_equal(strlen(m.stream), sizeof(m.stream) - 1);
    assert_int_equal(m.seq, 65000);
    assert_string_equal(m.session, "");
    assert_string_equal(m.producer, "filter-2");
}

static void test_missing_and_odd(void **state)
{
    amqp_table_entry_t e[2];
    amqp_table_t t = {2, e};
    struct mw_meta m;

    (void)state;
    mw_meta_decode(NULL, &m);
    assert_int_equal(m.kind, MW_KIND_DATA);
    assert_int_equal(m.seq, 0);
    e[0].key = amqp_cstring_bytes("x-seq");
    e[0].value.kind = AMQP_FIELD_KIND_U64; /* does not fit int64: ignored */
    e[0].value.value.u64 = UINT64_MAX;
    e[1].key = amqp_cstring_bytes("x-kind");
    e[1].value.kind = AMQP_FIELD_KIND_U8; /* numeric kind accepted */
    e[1].value.value.u8 = 1;
    mw_meta_decode(&t, &m);
    assert_int_equal(m.seq, 0);
    assert_int_equal(m.kind, MW_KIND_CONTROL);
    assert_string_equal(mw_kind_name((enum mw_kind)42), "data");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_strings_omitted),
        cmocka_unit_test(test_lenient_decode),
        cmocka_unit_test(test_missing_and_odd),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
