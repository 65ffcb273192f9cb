/*
 * fuzz_filter.c - libFuzzer harness for the worker side of the rows: the
 * CSV row splitter (common/csvrows.c, libcsv) and the filter engine
 * (workers/filter/filter.c) on each table, with arbitrary batch bytes.
 *
 * Input: byte 0 picks the table and the session shard, the rest is the
 * batch body. Checks that every field lies in the row buffer (quoted rows)
 * or in the input itself (plain rows are split in place), and that the
 * rejected count is within the number of rows.
 */
#include "csvrows.h"
#include "filter.h"
#include "plan.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static struct filter *engine;
static struct plan the_plan;

struct count {
    const struct csvrows *r;
    const char *in; /* the batch body */
    size_t size;
    int64_t rows;
};

static int within(const char *f, size_t len, const char *base, size_t size)
{
    return f >= base && len <= size && f - base <= (ptrdiff_t)(size - len);
}

static void on_row(const struct csvrow *row, void *ud)
{
    struct count *c = ud;
    int i;

    c->rows++;
    if (row->nfields < -1 || row->nfields > CSVROWS_MAX_FIELDS)
        abort();
    for (i = 0; i < row->nfields; i++)
        if (!within(row->f[i], row->len[i], c->r->buf, CSVROWS_ROW_BYTES) &&
            !within(row->f[i], row->len[i], c->in, c->size))
            abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[160];

    (void)argc;
    (void)argv;
    if (plan_init(&the_plan, "filter=2,agg-q2=2,agg-q3=3,agg-q4=2,sink=2", err,
                  sizeof(err)) != 0)
        abort();
    engine = filter_create(&the_plan);
    if (engine == NULL)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct csvrows rows;
    struct count c = {&rows, NULL, 0, 0};
    enum plan_table t;
    unsigned shard;
    int64_t rejected = -1;

    if (size < 1)
        return 0;
    t = (enum plan_table)(data[0] % PLAN_NTABLES);
    shard = (unsigned)(data[0] >> 4) % 2;
    data++;
    size--;
    c.in = (const char *)data;
    c.size = size;

    if (csvrows_init(&rows) != 0)
        return 0;
    if (csvrows_parse(&rows, data, size, on_row, &c) != 0)
        abort(); /* only "no memory" may fail */
    csvrows_fini(&rows);

    if (filter_batch(engine, t, data, size, shard, &rejected) != 0)
        abort();
    if (rejected < 0 || rejected > c.rows)
        abort();
    return 0;
}
