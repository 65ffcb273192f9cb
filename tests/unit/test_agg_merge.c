/* test_agg_merge.c - aggregators sharded 1, 2 or 3 ways and merged by the
 * sink give the same files, equal to a brute-force computation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "field.h"
#include "workers/ops/agg.h"
#include "workers/ops/chunker.h"
#include "workers/ops/sink_results.h"
#include "workers/ops/sink_state.h"

#define NSTORES 10
#define NITEMS 8
#define NUSERS 300
#define NMONTHS 18
#define NHALVES 3
#define NROWS 20000

static const int months[NMONTHS] = {
    202401, 202402, 202403, 202404, 202405, 202406, 202407, 202408, 202409,
    202410, 202411, 202412, 202501, 202502, 202503, 202504, 202505, 202506};
static const int halves[NHALVES] = {20241, 20242, 20251};

/* The generated input, and brute-force tallies of it. */
struct data {
    char *q2, *q3, *q4, *users; /* row text per stream */
    int64_t qty[NMONTHS][NITEMS + 1], sub[NMONTHS][NITEMS + 1];
    int64_t tpv[NHALVES][NSTORES + 1];
    int seen3[NHALVES][NSTORES + 1];
    int64_t buys[NSTORES + 1][NUSERS + 1];
    int has_bd[NUSERS + 1];
};

static uint64_t rng = 88172645463325252ULL;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* Store names sort in the reverse of id order; items have plain names. */
static void store_name(int s, char *out, size_t n)
{
    snprintf(out, n, "G Coffee %c", 'A' + NSTORES - s);
}

static void generate(struct data *d)
{
    char *p;
    int i;

    memset(d, 0, sizeof(*d));
    d->q2 = p = calloc(NROWS, 40);
    for (i = 0; i < NROWS; i++) {
        int m = (int)rnd(NMONTHS), it = 1 + (int)rnd(NITEMS),
            q = 1 + (int)rnd(3);
        int64_t st = (int64_t)q * (6000 + 500 * it) + (rnd(4) == 0 ? 75 : 0);

        d->qty[m][it] += q;
        d->sub[m][it] += st;
        p += sprintf(p, "%d,%d,%d,%lld\n", months[m], it, q, (long long)st);
    }
    d->q3 = p = calloc(NROWS, 40);
    for (i = 0; i < NROWS; i++) {
        int h = (int)rnd(NHALVES), s = 1 + (int)rnd(NSTORES),
            a = (int)rnd(90000);

        d->tpv[h][s] += a;
        d->seen3[h][s] = 1;
        p += sprintf(p, "%d,%d,%d\n", halves[h], s, a);
    }
    d->q4 = p = calloc(NROWS, 20);
    for (i = 0; i < NROWS / 4; i++) {
        int s = 1 + (int)rnd(NSTORES), u = 1 + (int)rnd(NUSERS);

        d->buys[s][u]++;
        p += sprintf(p, "%d,%d\n", s, u);
    }
    d->users = p = calloc(NUSERS, 20);
    for (i = 1; i <= NUSERS; i++) {
        if (i % 5 == 0)
            continue; /* some users never registered */
        d->has_bd[i] = 1;
        p += sprintf(p, "%d,19%02d-01-%02d\n", i, i % 100, 1 + i % 28);
    }
}

typedef long (*key_fn)(const char *line, long index);

static long key_q2(const char *line, long index)
{
    long month, item;

    (void)index;
    assert_int_equal(sscanf(line, "%ld,%ld", &month, &item), 2);
    return month * 1000 + item; /* groups are whole in one shard */
}

static long key_index(const char *line, long index)
{
    (void)line;
    return index; /* any split works for sums */
}

static long key_col0(const char *line, long index)
{
    (void)index;
    return strtol(line, NULL, 10);
}

static long key_col1(const char *line, long index)
{
    (void)index;
    return strtol(strchr(line, ',') + 1, NULL, 10);
}

/* Copies the lines of body whose key falls in shard `shard` of n to out. */
static size_t shard_rows(const char *body, key_fn key, int n, int shard,
                         char *out)
{
    const char *p = body;
    size_t len = 0;
    long index = 0;

    while (*p) {
        const char *e = strchr(p, '\n');

        if (key(p, index++) % n == shard) {
            memcpy(out + len, p, (size_t)(e - p + 1));
            len += (size_t)(e - p + 1);
        }
        p = e + 1;
    }
    out[len] = '\0';
    return len;
}

struct to_sink {
    struct sink *s;
    const char *stream;
};

static int to_sink_fn(void *arg, int64_t index, const void *body, size_t len)
{
    struct to_sink *t = arg;
    size_t bad = 0;

    (void)index;
    assert_true(len <= 200);
    assert_int_equal(sink_feed(t->s, t->stream, body, len, &bad), 0);
    assert_int_equal(bad, 0);
    return 0;
}

/* Runs n replicas of an aggregator and feeds their outputs to s. */
static void run_stage(const struct agg_spec *spec, const char *stage, int n,
                      const char *rows, key_fn key, const char *users,
                      struct sink *s)
{
    char *part = malloc(strlen(rows) + (users ? strlen(users) : 0) + 1);
    char stream[32];
    size_t bad = 0, len;
    int i;

    assert_non_null(part);
    for (i = 0; i < n; i++) {
        struct agg *a = agg_create(spec);
        struct to_sink t = {s, stream};
        struct chunker ch;

        assert_non_null(a);
        snprintf(stream, sizeof(stream), "%s.%d", stage, i);
        if (users !=
            NULL) { /* lookup rows first for one shard, last for others */
            len = shard_rows(users, key_col0, n, i, part);
            assert_int_equal(agg_feed(a, "users", part, len, &bad), 0);
        }
        len = shard_rows(rows, key, n, i, part);
        assert_int_equal(agg_feed(a, spec->stream, part, len, &bad), 0);
        assert_int_equal(bad, 0);
        chunker_init(&ch, 200, to_sink_fn, &t); /* small: many messages */
        assert_int_equal(agg_emit(a, &ch), 0);
        chunker_fini(&ch);
        agg_destroy(a);
    }
    free(part);
}

#define NFILES 5

/* Result files by index in sink_results[]. */
struct files {
    char *buf[NFILES];
    size_t len[NFILES];
};

static int files_fn(void *arg, const char *file, int64_t chunk,
                    const void *body, size_t len)
{
    struct files *f = arg;
    size_t i;

    (void)chunk;
    for (i = 0; i < sink_nresults && strcmp(sink_results[i].file, file); i++)
        ;
    assert_true(i < NFILES);
    f->buf[i] = realloc(f->buf[i], f->len[i] + len + 1);
    assert_non_null(f->buf[i]);
    memcpy(f->buf[i] + f->len[i], body, len);
    f->len[i] += len;
    f->buf[i][f->len[i]] = '\0';
    return 0;
}

static void pipeline(const struct data *d, int n, struct files *f)
{
    struct sink *s = sink_create();
    char row[64], menu[256] = "", stores[512] = "";
    size_t bad = 0;
    int i;

    assert_non_null(s);
    for (i = 1; i <= NITEMS; i++)
        snprintf(menu + strlen(menu), sizeof(menu) - strlen(menu),
                 "%d,Item-%d\n", i, i);
    for (i = 1; i <= NSTORES; i++) {
        store_name(i, row, sizeof(row));
        snprintf(stores + strlen(stores), sizeof(stores) - strlen(stores),
                 "%d,%s\n", i, row);
    }
    assert_int_equal(sink_feed(s, "menu_items", menu, strlen(menu), &bad), 0);
    run_stage(&agg_spec_q2, "agg-q2", n, d->q2, key_q2, NULL, s);
    run_stage(&agg_spec_q4, "agg-q4", n, d->q4, key_col1, d->users, s);
    run_stage(&agg_spec_q3, "agg-q3", n, d->q3, key_index, NULL, s);
    assert_int_equal(sink_feed(s, "stores", stores, strlen(stores), &bad), 0);
    assert_int_equal(bad, 0);
    memset(f, 0, sizeof(*f));
    assert_int_equal(sink_write_all(s, files_fn, f), 0);
    sink_destroy(s);
}

/* The expected files, computed the obvious way. */
static void reference(const struct data *d, struct files *f)
{
    char *p, m2[32], name[64];
    int m, i, h, s, u, k, best;

    memset(f, 0, sizeof(*f));
    for (k = 0; k < NFILES; k++)
        f->buf[k] = calloc(1, 1 << 16);
    sprintf(f->buf[0], "transaction_id,final_amount\n");
    p = f->buf[1] +
        sprintf(f->buf[1], "year_month_created_at,item_name,sellings_qty\n");
    for (m = 0; m < NMONTHS; m++) {
        for (best = 1, i = 2; i <= NITEMS; i++)
            if (d->qty[m][i] > d->qty[m][best])
                best = i;
        p += sprintf(p, "%d-%02d,Item-%d,%lld\n", months[m] / 100,
                     months[m] % 100, best, (long long)d->qty[m][best]);
    }
    p = f->buf[2] +
        sprintf(f->buf[2], "year_month_created_at,item_name,profit_sum\n");
    for (m = 0; m < NMONTHS; m++) {
        for (best = 1, i = 2; i <= NITEMS; i++)
            if (d->sub[m][i] > d->sub[m][best])
                best = i;
        field_fmt_2(d->sub[m][best], m2);
        p += sprintf(p, "%d-%02d,Item-%d,%s\n", months[m] / 100,
                     months[m] % 100, best, m2);
    }
    /* store names sort in reverse id order */
    p = f->buf[3] + sprintf(f->buf[3], "year_half_created_at,store_name,tpv\n");
    for (h = 0; h < NHALVES; h++)
        for (s = NSTORES; s >= 1; s--) {
            if (!d->seen3[h][s])
                continue;
            store_name(s, name, sizeof(name));
            field_fmt_2(d->tpv[h][s], m2);
            p += sprintf(p, "%d-H%d,%s,%s\n", halves[h] / 10, halves[h] % 10,
                         name, m2);
        }
    p = f->buf[4] + sprintf(f->buf[4], "store_name,birthdate,purchases_qty\n");
    for (s = NSTORES; s >= 1; s--) {
        int64_t left[NUSERS + 1];

        memcpy(left, d->buys[s], sizeof(left));
        store_name(s, name, sizeof(name));
        for (k = 0; k < 3; k++) {
            for (best = 0, u = 1; u <= NUSERS; u++)
                if (left[u] > left[best])
                    best = u;
            if (best == 0)
                break;
            if (d->has_bd[best])
                p += sprintf(p, "%s,19%02d-01-%02d,%lld\n", name, best % 100,
                             1 + best % 28, (long long)left[best]);
            else
                p += sprintf(p, "%s,,%lld\n", name, (long long)left[best]);
            left[best] = 0;
        }
    }
    for (k = 0; k < NFILES; k++)
        f->len[k] = strlen(f->buf[k]);
}

static void files_free(struct files *f)
{
    int i;

    for (i = 0; i < NFILES; i++)
        free(f->buf[i]);
}

static int count_lines(const char *s)
{
    int n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_shards_merge_equal(void **state)
{
    struct data *d = malloc(sizeof(*d));
    struct files ref, got;
    int n, i;

    (void)state;
    assert_non_null(d);
    generate(d);
    reference(d, &ref);
    /* not vacuous: every store has 3 buyers, every (half, store) sales */
    assert_int_equal(count_lines(ref.buf[4]), 1 + 3 * NSTORES);
    assert_int_equal(count_lines(ref.buf[3]), 1 + NHALVES * NSTORES);
    assert_int_equal(count_lines(ref.buf[1]), 1 + NMONTHS);
    for (n = 1; n <= 3; n++) {
        pipeline(d, n, &got);
        for (i = 0; i < NFILES; i++)
            assert_string_equal(got.buf[i], ref.buf[i]);
        files_free(&got);
    }
    files_free(&ref);
    free(d->q2);
    free(d->q3);
    free(d->q4);
    free(d->users);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shards_merge_equal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
