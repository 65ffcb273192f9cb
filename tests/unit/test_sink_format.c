/* test_sink_format.c - the building blocks of the result files: money
 * formats, CSV field decoding/escaping, row reading, chunking, sorting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "field.h"
#include "workers/ops/chunker.h"
#include "workers/ops/isort.h"
#include "workers/ops/rows.h"

#define SPAN(x) ((struct rows_span){(x), sizeof(x) - 1})

static void check_fmt(int (*fn)(int64_t, char *), int64_t v, const char *exp)
{
    char out[32];
    int n = fn(v, out);

    assert_string_equal(out, exp);
    assert_int_equal(n, (int)strlen(exp));
}

/* The money formats the results rely on (QUERIES.md "Output"). */
static void test_money_formats(void **state)
{
    (void)state;
    check_fmt(field_fmt_min1, 0, "0.0");
    check_fmt(field_fmt_min1, 75000, "75.0");
    check_fmt(field_fmt_min1, 79500, "79.5");
    check_fmt(field_fmt_min1, 79515, "79.515");
    check_fmt(field_fmt_min1, 79510, "79.51");
    check_fmt(field_fmt_min1, 1, "0.001");
    check_fmt(field_fmt_min1, 3098440000, "3098440.0");
    check_fmt(field_fmt_2, 0, "0.00");
    check_fmt(field_fmt_2, 4, "0.00");
    check_fmt(field_fmt_2, 5, "0.01"); /* half away from zero */
    check_fmt(field_fmt_2, 994, "0.99");
    check_fmt(field_fmt_2, 995, "1.00"); /* carry into the units */
    check_fmt(field_fmt_2, 6650000, "6650.00");
    check_fmt(field_fmt_2, 12201348935, "12201348.94");
    check_fmt(field_fmt_2, 12201348934, "12201348.93");
    check_fmt(field_fmt_2, 999999995, "1000000.00");
    check_fmt(field_fmt_2, INT64_C(9000000000000000000), "9000000000000000.00");
}

static void test_csv_decode(void **state)
{
    char out[64];
    size_t n;

    (void)state;
    assert_true(rows_csv_decode(SPAN("Espresso"), out, &n));
    assert_memory_equal(out, "Espresso", n);
    assert_true(rows_csv_decode(SPAN(""), out, &n));
    assert_int_equal(n, 0);
    assert_true(rows_csv_decode(SPAN("\"\""), out, &n));
    assert_int_equal(n, 0);
    assert_true(rows_csv_decode(SPAN("\"a, b\""), out, &n));
    assert_int_equal(n, 4);
    assert_memory_equal(out, "a, b", 4);
    assert_true(rows_csv_decode(SPAN("\"say \"\"hi\"\"\""), out, &n));
    assert_int_equal(n, 8);
    assert_memory_equal(out, "say \"hi\"", 8);
    assert_true(rows_csv_decode(SPAN("\"l1\r\nl2\""), out, &n));
    assert_int_equal(n, 6);
    assert_false(rows_csv_decode(SPAN("\"open"), out, &n));
    assert_false(rows_csv_decode(SPAN("\""), out, &n));
    assert_false(rows_csv_decode(SPAN("a\"b"), out, &n));
    assert_false(rows_csv_decode(SPAN("\"a\"b\""), out, &n));
    assert_true(rows_csv_decode(SPAN("\"a\"\"\""), out, &n)); /* "a""" */
    assert_int_equal(n, 2);
    assert_memory_equal(out, "a\"", 2);
    assert_false(rows_csv_decode(SPAN("\"a\"\"\"\""), out, &n)); /* "a"""" */
}

static int sink_buf(void *arg, int64_t index, const void *body, size_t len)
{
    char *out = arg;

    (void)index;
    memcpy(out + strlen(out), body, len);
    return 0;
}

static void test_csv_escape(void **state)
{
    char out[256] = "";
    struct chunker c;

    (void)state;
    chunker_init(&c, 1024, sink_buf, out);
    assert_int_equal(chunker_put_csv(&c, "plain", 5), 0);
    assert_int_equal(chunker_put(&c, ",", 1), 0);
    assert_int_equal(chunker_put_csv(&c, "a,b", 3), 0);
    assert_int_equal(chunker_put(&c, ",", 1), 0);
    assert_int_equal(chunker_put_csv(&c, "say \"hi\"", 8), 0);
    assert_int_equal(chunker_put(&c, ",", 1), 0);
    assert_int_equal(chunker_put_csv(&c, "l1\nl2", 5), 0);
    assert_int_equal(chunker_put(&c, ",", 1), 0);
    assert_int_equal(chunker_put_csv(&c, "cr\r", 3), 0);
    assert_int_equal(chunker_put(&c, ",", 1), 0);
    assert_int_equal(chunker_put_csv(&c, "", 0), 0);
    assert_int_equal(chunker_end_line(&c), 0);
    assert_int_equal(chunker_finish(&c), 0);
    chunker_fini(&c);
    assert_string_equal(
        out, "plain,\"a,b\",\"say \"\"hi\"\"\",\"l1\nl2\",\"cr\r\",\n");
}

static void test_rows_reading(void **state)
{
    const char body[] = "a,1\n\n2,\"x\ny\"\n3,\"p,\"\"q\"\"\"\nlast,9";
    struct rows_iter it;
    struct rows_span l, f[4], h, t;
    int64_t v;

    (void)state;
    rows_iter_init(&it, body, sizeof(body) - 1);
    assert_true(rows_next(&it, &l));
    assert_int_equal(l.n, 3);
    assert_int_equal(rows_split(l, f, 4), 2);
    assert_false(rows_i64(f[0], &v));
    assert_true(rows_i64(f[1], &v));
    assert_int_equal(v, 1);
    assert_true(rows_next(&it, &l)); /* the empty line is skipped */
    assert_memory_equal(l.p, "2,\"x\ny\"", l.n);
    assert_true(rows_split1(l, &h, &t));
    assert_memory_equal(t.p, "\"x\ny\"", t.n);
    assert_true(rows_next(&it, &l));
    assert_memory_equal(l.p, "3,\"p,\"\"q\"\"\"", l.n);
    assert_true(rows_next(&it, &l)); /* no final newline */
    assert_memory_equal(l.p, "last,9", l.n);
    assert_false(rows_next(&it, &l));
    rows_iter_init(&it, NULL, 0);
    assert_false(rows_next(&it, &l));
    assert_int_equal(rows_split(SPAN("1,2,3,4,5"), f, 4), -1);
    assert_int_equal(rows_split(SPAN(""), f, 4), 1);
    assert_false(rows_i64(SPAN(""), &v));
    assert_false(rows_i64(SPAN("-"), &v));
    assert_false(rows_i64(SPAN("1234567890123456789"), &v));
    assert_true(rows_i64(SPAN("-42"), &v));
    assert_int_equal(v, -42);
    assert_true(rows_stream_is("agg-q2.1", "agg-q2"));
    assert_true(rows_stream_is("users", "users"));
    assert_false(rows_stream_is("users2", "users"));
    assert_false(rows_stream_is("use", "users"));
}

struct chunks {
    char text[4096];
    size_t len;
    size_t sizes[64];
    int n;
};

static int chunks_fn(void *arg, int64_t index, const void *body, size_t len)
{
    struct chunks *c = arg;

    assert_int_equal(index, c->n);
    memcpy(c->text + c->len, body, len);
    c->len += len;
    c->sizes[c->n++] = len;
    return 0;
}

static int failing_fn(void *arg, int64_t index, const void *body, size_t len)
{
    (void)arg;
    (void)index;
    (void)body;
    (void)len;
    return -77;
}

static void add_line(struct chunker *ch, const char *s)
{
    assert_int_equal(chunker_put_str(ch, s), 0);
    assert_int_equal(chunker_end_line(ch), 0);
}

static void test_chunker_limits(void **state)
{
    struct chunks c;
    struct chunker ch;

    (void)state;
    memset(&c, 0, sizeof(c));
    chunker_init(&ch, 10, chunks_fn, &c);
    add_line(&ch, "aaaa");         /* 5 */
    add_line(&ch, "bbbb");         /* 10: exactly the limit, same chunk */
    add_line(&ch, "c");            /* next chunk */
    add_line(&ch, "dddddddddddd"); /* 13 > limit: a chunk of its own */
    add_line(&ch, "e");
    assert_int_equal(chunker_finish(&ch), 0);
    assert_int_equal(chunker_finish(&ch), 0); /* nothing more to send */
    chunker_fini(&ch);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.sizes[0], 10);
    assert_int_equal(c.sizes[1], 2);
    assert_int_equal(c.sizes[2], 13);
    assert_int_equal(c.sizes[3], 2);
    assert_memory_equal(c.text, "aaaa\nbbbb\nc\ndddddddddddd\ne\n", c.len);
    /* the callback's error comes back */
    chunker_init(&ch, 4, failing_fn, NULL);
    assert_int_equal(chunker_put_str(&ch, "abc"), 0);
    assert_int_equal(chunker_end_line(&ch), 0);
    assert_int_equal(chunker_put_str(&ch, "abc"), 0);
    assert_int_equal(chunker_end_line(&ch), -77);
    chunker_fini(&ch);
}

static int by_tens(const void *ctx, uint32_t a, uint32_t b)
{
    (void)ctx;
    return (int)(a / 10) - (int)(b / 10);
}

static void test_isort_stable(void **state)
{
    uint32_t idx[1000];
    int i;

    (void)state;
    for (i = 0; i < 1000; i++)
        idx[i] = (uint32_t)((i * 7919) % 1000);
    assert_int_equal(isort(idx, 1000, by_tens, NULL), 0);
    for (i = 1; i < 1000; i++) {
        assert_true(idx[i - 1] / 10 <= idx[i] / 10);
        /* equal keys keep their input order: (k * 7919) % 1000 order */
        if (idx[i - 1] / 10 == idx[i] / 10) {
            int pa = -1, pb = -1, j;

            for (j = 0; j < 1000; j++) {
                if ((uint32_t)((j * 7919) % 1000) == idx[i - 1])
                    pa = j;
                if ((uint32_t)((j * 7919) % 1000) == idx[i])
                    pb = j;
            }
            assert_true(pa < pb);
        }
    }
    assert_int_equal(isort(idx, 0, by_tens, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_money_formats),
        cmocka_unit_test(test_csv_decode),
        cmocka_unit_test(test_csv_escape),
        cmocka_unit_test(test_rows_reading),
        cmocka_unit_test(test_chunker_limits),
        cmocka_unit_test(test_isort_stable),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
