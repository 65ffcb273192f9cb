/* test_sink.c - the sink's collection and result files (QUERIES.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "names.h"
#include "workers/ops/sink_results.h"
#include "workers/ops/sink_state.h"

#define NFILES 5

/* The result files as received: concatenated chunks per file. */
struct files {
    const char *name[NFILES];
    char *buf[NFILES];
    size_t len[NFILES];
    int64_t chunks[NFILES];
    size_t max_chunk;
};

static int files_fn(void *arg, const char *file, int64_t chunk,
                    const void *body, size_t len)
{
    struct files *f = arg;
    int i;

    for (i = 0; i < NFILES - 1 && f->name[i] && strcmp(f->name[i], file); i++)
        ;
    if (f->name[i] == NULL)
        f->name[i] = file;
    assert_string_equal(f->name[i], file);
    assert_int_equal(chunk, f->chunks[i]);
    assert_int_equal(((const char *)body)[len - 1], '\n');
    f->buf[i] = realloc(f->buf[i], f->len[i] + len + 1);
    assert_non_null(f->buf[i]);
    memcpy(f->buf[i] + f->len[i], body, len);
    f->len[i] += len;
    f->buf[i][f->len[i]] = '\0';
    f->chunks[i]++;
    if (len > f->max_chunk)
        f->max_chunk = len;
    return 0;
}

static void files_free(struct files *f)
{
    int i;

    for (i = 0; i < NFILES; i++)
        free(f->buf[i]);
    memset(f, 0, sizeof(*f));
}

static const char *file(const struct files *f, const char *name)
{
    int i;

    for (i = 0; i < NFILES; i++)
        if (f->name[i] && strcmp(f->name[i], name) == 0)
            return f->buf[i];
    fail_msg("no file %s", name);
    return NULL;
}

static void feed(struct sink *s, const char *stream, const char *body)
{
    size_t bad = 0;

    assert_int_equal(sink_feed(s, stream, body, strlen(body), &bad), 0);
    assert_int_equal(bad, 0);
}

static void write_all(const struct sink *s, struct files *f)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(sink_write_all(s, files_fn, f), 0);
}

static void test_empty_results(void **state)
{
    struct sink *s = sink_create();
    struct files f;
    int i;

    (void)state;
    write_all(s, &f);
    assert_string_equal(file(&f, "q1.csv"), "transaction_id,final_amount\n");
    assert_string_equal(file(&f, "q2_best_selling.csv"),
                        "year_month_created_at,item_name,sellings_qty\n");
    assert_string_equal(file(&f, "q2_most_profitable.csv"),
                        "year_month_created_at,item_name,profit_sum\n");
    assert_string_equal(file(&f, "q3.csv"),
                        "year_half_created_at,store_name,tpv\n");
    assert_string_equal(file(&f, "q4.csv"),
                        "store_name,birthdate,purchases_qty\n");
    for (i = 0; i < NFILES; i++)
        assert_int_equal(f.chunks[i], 1);
    assert_string_equal(f.name[0], "q1.csv"); /* sent in table order */
    assert_string_equal(f.name[4], "q4.csv");
    files_free(&f);
    sink_destroy(s);
    sink_destroy(NULL);
}

static void test_q1_order_and_amounts(void **state)
{
    struct sink *s = sink_create();
    struct files f;

    (void)state;
    feed(s, "transactions", "bb95,78000\nabcd,79515\nabc,100000\n");
    feed(s, "transactions.1", "Zed,75000\nab,75001\n");
    write_all(s, &f);
    /* byte order: uppercase first, a prefix before its extensions */
    assert_string_equal(file(&f, "q1.csv"), "transaction_id,final_amount\n"
                                            "Zed,75.0\n"
                                            "ab,75.001\n"
                                            "abc,100.0\n"
                                            "abcd,79.515\n"
                                            "bb95,78.0\n");
    files_free(&f);
    sink_destroy(s);
}

static void test_q2_merge_ties_names(void **state)
{
    struct sink *s = sink_create();
    struct files f;

    (void)state;
    feed(s, "menu_items", "1,Espresso\n2,Americano\n8,Matcha Latte\n");
    /* shard 0 and shard 1 partials: 2024-01 ties on qty between items 8 and
     * 2 -> item 2; item 9 has no name */
    feed(s, "agg-q2.0",
         "0,202401,8,669,6650000\n1,202401,8,669,6650000\n"
         "0,202402,1,5,30000\n1,202402,1,5,30000\n");
    feed(s, "agg-q2.1",
         "0,202401,2,669,4683000\n1,202401,2,669,4683000\n"
         "0,202412,9,7,12201348935\n1,202412,9,7,12201348935\n"
         "1,202402,2,1,30000\n0,202402,2,1,30000\n");
    write_all(s, &f);
    assert_string_equal(file(&f, "q2_best_selling.csv"),
                        "year_month_created_at,item_name,sellings_qty\n"
                        "2024-01,Americano,669\n"
                        "2024-02,Espresso,5\n"
                        "2024-12,,7\n");
    assert_string_equal(file(&f, "q2_most_profitable.csv"),
                        "year_month_created_at,item_name,profit_sum\n"
                        "2024-01,Matcha Latte,6650.00\n"
                        "2024-02,Espresso,30.00\n"
                        "2024-12,,12201348.94\n");
    files_free(&f);
    sink_destroy(s);
}

static void test_q3_sum_and_order(void **state)
{
    struct sink *s = sink_create();
    struct files f;

    (void)state;
    feed(s, "stores",
         "1,G Coffee @ USJ 89q\n2,G Coffee @ Alam Tun\n"
         "3,G Coffee @ Kampung\n");
    feed(s, "agg-q3.0", "20241,1,1005\n20241,2,8762000\n20242,1,1\n");
    feed(s, "agg-q3.1", "20241,1,1000\n20251,3,0\n20241,4,10\n");
    write_all(s, &f);
    /* half asc, then store name asc (store 4 has no name: empty first) */
    assert_string_equal(file(&f, "q3.csv"),
                        "year_half_created_at,store_name,tpv\n"
                        "2024-H1,,0.01\n"
                        "2024-H1,G Coffee @ Alam Tun,8762.00\n"
                        "2024-H1,G Coffee @ USJ 89q,2.01\n"
                        "2024-H2,G Coffee @ USJ 89q,0.00\n"
                        "2025-H1,G Coffee @ Kampung,0.00\n");
    files_free(&f);
    sink_destroy(s);
}

static void test_q4_merge_top3(void **state)
{
    struct sink *s = sink_create();
    struct files f;

    (void)state;
    feed(s, "stores", "1,B store\n2,A store\n");
    /* user sets are disjoint per shard; each sends its local top 3 */
    feed(s, "agg-q4.0",
         "0,1,10,8,1973-10-31\n0,1,12,7,\n0,1,14,5,2001-01-01\n"
         "0,2,20,1,1990-01-01\n");
    feed(s, "agg-q4.1",
         "0,1,11,8,1997-08-10\n0,1,13,7,2006-01-28\n"
         "0,1,15,7,2007-07-07\n");
    feed(s, "agg-q4.2", "0,2,5,1,\n0,2,7,2,1980-02-02\n");
    write_all(s, &f);
    assert_string_equal(file(&f, "q4.csv"),
                        "store_name,birthdate,purchases_qty\n"
                        "A store,1980-02-02,2\n"
                        "A store,,1\n"
                        "A store,1990-01-01,1\n"
                        "B store,1973-10-31,8\n"
                        "B store,1997-08-10,8\n"
                        "B store,,7\n");
    files_free(&f);
    sink_destroy(s);
}

static void test_name_escaping(void **state)
{
    struct sink *s = sink_create();
    struct files f;

    (void)state;
    feed(s, "stores",
         "1,\"Coffee, Inc\"\n2,\"Say \"\"hi\"\"\"\n"
         "3,\"Line1\nLine2\"\n4,\"Plain\"\n5,Plain2");
    feed(s, "agg-q3",
         "20241,1,1000\n20241,2,1000\n20241,3,1000\n"
         "20241,4,1000\n20241,5,1000\n");
    write_all(s, &f);
    /* order by the decoded names: "C" < "L" < "P" < "S" */
    assert_string_equal(file(&f, "q3.csv"),
                        "year_half_created_at,store_name,tpv\n"
                        "2024-H1,\"Coffee, Inc\",1.00\n"
                        "2024-H1,\"Line1\nLine2\",1.00\n"
                        "2024-H1,Plain,1.00\n"
                        "2024-H1,Plain2,1.00\n"
                        "2024-H1,\"Say \"\"hi\"\"\",1.00\n");
    files_free(&f);
    sink_destroy(s);
}

static void test_malformed_and_unknown(void **state)
{
    struct sink *s = sink_create();
    size_t bad = 0;
    const char *b1 = "x,1\nabc\nt1,12.5\nt2,1000\n";
    const char *b2 = "1,\"ab\"c\"d\"\ny,name\n3,ok\n";
    const char *b3 = "1,2,3\n";
    struct files f;

    (void)state;
    assert_int_equal(sink_feed(s, "transactions", b1, strlen(b1), &bad), 0);
    assert_int_equal(bad, 2); /* "abc" and "t1,12.5"; "x,1" is fine */
    bad = 0;
    assert_int_equal(sink_feed(s, "stores", b2, strlen(b2), &bad), 0);
    assert_int_equal(bad, 2);
    bad = 0;
    assert_int_equal(sink_feed(s, "payment_methods", b3, strlen(b3), &bad), 0);
    assert_int_equal(bad, 1);
    write_all(s, &f);
    assert_string_equal(file(&f, "q1.csv"),
                        "transaction_id,final_amount\nt2,1.0\nx,0.001\n");
    files_free(&f);
    sink_destroy(s);
}

/* Q1 bigger than 1 MiB: chunks of whole lines, none over 1 MiB, the
 * header only in the first, together the whole file in order. */
static void test_chunking_1mib(void **state)
{
    enum {
        N = 40000
    };
    struct sink *s = sink_create();
    struct files f;
    char *body = malloc((size_t)N * 64), *p = body,
         *exp = malloc((size_t)N * 64);
    size_t el;
    int i;

    (void)state;
    assert_non_null(body);
    assert_non_null(exp);
    for (i = N - 1; i >= 0; i--)
        p += sprintf(p, "%08d-d7e3-4251-a99a-5f152748fd78,%d\n", i, 75000 + i);
    feed(s, "transactions", body);
    el = (size_t)sprintf(exp, "transaction_id,final_amount\n");
    for (i = 0; i < N; i++) {
        char amt[32];

        snprintf(amt, sizeof(amt), "%d.%03d", 75 + i / 1000, i % 1000);
        /* fewest decimals, at least one */
        while (amt[strlen(amt) - 1] == '0' && amt[strlen(amt) - 2] != '.')
            amt[strlen(amt) - 1] = '\0';
        el += (size_t)sprintf(exp + el, "%08d-d7e3-4251-a99a-5f152748fd78,%s\n",
                              i, amt);
    }
    assert_true(el > SINK_CHUNK_MAX);
    write_all(s, &f);
    assert_int_equal(f.chunks[0], (int64_t)(el / SINK_CHUNK_MAX + 1));
    assert_true(f.max_chunk <= SINK_CHUNK_MAX);
    assert_int_equal(f.len[0], el);
    assert_string_equal(f.buf[0], exp);
    files_free(&f);
    /* a small limit: many chunks, same text */
    memset(&f, 0, sizeof(f));
    assert_int_equal(sink_write_result(s, &sink_results[0], 1000, files_fn, &f),
                     0);
    assert_true(f.chunks[0] > (int64_t)(el / 1000));
    assert_true(f.max_chunk <= 1000);
    assert_string_equal(f.buf[0], exp);
    files_free(&f);
    free(body);
    free(exp);
    sink_destroy(s);
}

/* The sink writes exactly the files the gateway and the client expect, in
 * the order of common/names.h. */
static void test_result_names(void **state)
{
    static const char *const want[] = {CS_RESULT_FILES(CS_NAME_STR)};
    size_t i;

    (void)state;
    assert_int_equal(sink_nresults, sizeof(want) / sizeof(want[0]));
    for (i = 0; i < sink_nresults; i++)
        assert_string_equal(sink_results[i].file, want[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_names),
        cmocka_unit_test(test_empty_results),
        cmocka_unit_test(test_q1_order_and_amounts),
        cmocka_unit_test(test_q2_merge_ties_names),
        cmocka_unit_test(test_q3_sum_and_order),
        cmocka_unit_test(test_q4_merge_top3),
        cmocka_unit_test(test_name_escaping),
        cmocka_unit_test(test_malformed_and_unknown),
        cmocka_unit_test(test_chunking_1mib),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
