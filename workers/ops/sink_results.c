/*
 * sink_results.c - the result files as a table, and the one routine that
 * computes any of them (see sink_results.h).
 */
#include "sink_results.h"

#include "chunker.h"
#include "field.h"
#include "isort.h"
#include "names.h"
#include "err.h"
#include "vbuf.h"

#include <stdlib.h>
#include <string.h>

/* Record fields per source: see sink_state.h. Q2 and Q4 partials carry the
 * aggregator's rank in v[0]. */
const struct sink_result sink_results[] = {
    {
        .file = CS_Q1_CSV,
        .header = "transaction_id,final_amount",
        .src = SINK_SRC_Q1,
        .merge = SINK_MERGE_NONE,
        .order = {{SK_TEXT, 0, false}, {SK_INT, 0, false}},
        .cols = {{SK_TEXT, 0, false}, {SK_MONEY1, 0, false}},
    },
    {
        .file = CS_Q2_BEST_SELLING_CSV,
        .header = "year_month_created_at,item_name,sellings_qty",
        .src = SINK_SRC_Q2,
        .tag = {true, 0, 0},
        .merge = SINK_MERGE_TOP,
        .group = {{SK_INT, 1, false}},
        .k = 1,
        .rank = {{SK_INT, 3, true}, {SK_INT, 2, false}},
        .order = {{SK_INT, 1, false}},
        .cols = {{SK_YM, 1, false}, {SK_ITEM, 2, false}, {SK_INT, 3, false}},
    },
    {
        .file = CS_Q2_MOST_PROFITABLE_CSV,
        .header = "year_month_created_at,item_name,profit_sum",
        .src = SINK_SRC_Q2,
        .tag = {true, 0, 1},
        .merge = SINK_MERGE_TOP,
        .group = {{SK_INT, 1, false}},
        .k = 1,
        .rank = {{SK_INT, 4, true}, {SK_INT, 2, false}},
        .order = {{SK_INT, 1, false}},
        .cols = {{SK_YM, 1, false}, {SK_ITEM, 2, false}, {SK_MONEY2, 4, false}},
    },
    {
        .file = CS_Q3_CSV,
        .header = "year_half_created_at,store_name,tpv",
        .src = SINK_SRC_Q3,
        .merge = SINK_MERGE_SUM,
        .group = {{SK_INT, 0, false}, {SK_INT, 1, false}},
        .sum_v = 2,
        .order = {{SK_INT, 0, false}, {SK_STORE, 1, false}, {SK_INT, 1, false}},
        .cols = {{SK_HALF, 0, false},
                 {SK_STORE, 1, false},
                 {SK_MONEY2, 2, false}},
    },
    {
        .file = CS_Q4_CSV,
        .header = "store_name,birthdate,purchases_qty",
        .src = SINK_SRC_Q4,
        .tag = {true, 0, 0},
        .merge = SINK_MERGE_TOP,
        .group = {{SK_INT, 1, false}},
        .k = 3,
        .rank = {{SK_INT, 3, true}, {SK_INT, 2, false}},
        .order = {{SK_STORE, 1, false},
                  {SK_INT, 3, true},
                  {SK_INT, 2, false},
                  {SK_INT, 1, false}},
        .cols = {{SK_STORE, 1, false}, {SK_TEXT, 0, false}, {SK_INT, 3, false}},
    },
};

const size_t sink_nresults = sizeof(sink_results) / sizeof(sink_results[0]);
/* The files the gateway and the client expect: common/names.h. */
_Static_assert(sizeof(sink_results) / sizeof(sink_results[0]) == CS_NRESULTS,
               "one result file list");

/* Records being ordered: an index array points into recs. */
struct view {
    const struct sink *s;
    const struct sink_rec *recs;
    const struct sink_key *k1, *k2; /* compared in turn; k2 may be NULL */
};

struct out_adapter {
    sink_out_fn fn;
    void *arg;
    const char *file;
};

static int span_cmp(struct rows_span x, struct rows_span y)
{
    int c = memcmp(x.p, y.p, x.n < y.n ? x.n : y.n);

    return c ? c : (x.n > y.n) - (x.n < y.n);
}

static struct rows_span key_text(const struct sink *s, const struct sink_key *k,
                                 const struct sink_rec *r)
{
    if (k->kind == SK_TEXT)
        return sink_text(s, r);
    return sink_name(s,
                     k->kind == SK_STORE ? SINK_NAMES_STORES : SINK_NAMES_ITEMS,
                     r->v[k->v]);
}

static int keys_cmp(const struct sink *s, const struct sink_key *k,
                    const struct sink_rec *a, const struct sink_rec *b)
{
    int i, c;

    for (i = 0; i < SINK_MAX_KEYS && k[i].kind != SK_END; i++) {
        if (k[i].kind == SK_TEXT || k[i].kind == SK_STORE ||
            k[i].kind == SK_ITEM)
            c = span_cmp(key_text(s, &k[i], a), key_text(s, &k[i], b));
        else
            c = (a->v[k[i].v] > b->v[k[i].v]) - (a->v[k[i].v] < b->v[k[i].v]);
        if (c)
            return k[i].desc ? -c : c;
    }
    return 0;
}

static int view_cmp(const void *ctx, uint32_t x, uint32_t y)
{
    const struct view *v = ctx;
    int c = keys_cmp(v->s, v->k1, &v->recs[x], &v->recs[y]);

    if (c != 0 || v->k2 == NULL)
        return c;
    return keys_cmp(v->s, v->k2, &v->recs[x], &v->recs[y]);
}

/* SUM: sorts by group and folds each run into one record of *folded. */
static int merge_sum(struct view *v, const struct sink_result *r, uint32_t *idx,
                     size_t *m, struct vbuf *folded)
{
    struct sink_rec *out = NULL;
    size_t i, n = 0;
    int rc;

    v->k1 = r->group;
    v->k2 = NULL;
    rc = isort(idx, *m, view_cmp, v);
    for (i = 0; rc == 0 && i < *m; i++) {
        const struct sink_rec *cur = &v->recs[idx[i]];

        if (out != NULL && keys_cmp(v->s, r->group, out, cur) == 0) {
            out->v[r->sum_v] += cur->v[r->sum_v];
            continue;
        }
        rc = vbuf_append(folded, cur, sizeof(*cur));
        if (rc == 0)
            out = (struct sink_rec *)(void *)folded->p + n++;
    }
    for (i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    *m = n;
    v->recs = (const struct sink_rec *)(const void *)folded->p;
    return rc;
}

/* TOP: sorts by partition then rank and keeps the first k of each. */
static int merge_top(struct view *v, const struct sink_result *r, uint32_t *idx,
                     size_t *m)
{
    size_t i, n = 0;
    int taken = 0, rc;

    v->k1 = r->group;
    v->k2 = r->rank;
    rc = isort(idx, *m, view_cmp, v);
    for (i = 0; rc == 0 && i < *m; i++) {
        if (i == 0 || keys_cmp(v->s, r->group, &v->recs[idx[i - 1]],
                               &v->recs[idx[i]]) != 0)
            taken = 0;
        if (taken++ < r->k)
            idx[n++] = idx[i];
    }
    if (rc == 0)
        *m = n;
    return rc;
}

/* Writes v zero-padded to at least `width` digits. */
static int put_padded(struct chunker *c, int64_t v, int width)
{
    char tmp[24];
    int n = field_fmt_int(v, tmp), rc = 0;

    for (; n < width && rc == 0; width--)
        rc = chunker_put(c, "0", 1);
    return rc ? rc : chunker_put(c, tmp, (size_t)n);
}

static int put_col(struct chunker *c, const struct sink *s,
                   const struct sink_key *k, const struct sink_rec *r)
{
    char tmp[32];
    int64_t x = r->v[k->v];
    struct rows_span t;

    switch (k->kind) {
    case SK_MONEY1:
        return chunker_put(c, tmp, (size_t)field_fmt_min1(x, tmp));
    case SK_MONEY2:
        return chunker_put(c, tmp, (size_t)field_fmt_2(x, tmp));
    case SK_YM:
        if (put_padded(c, x / 100, 4) != 0 || chunker_put(c, "-", 1) != 0)
            return CS_ERR_NOMEM;
        return put_padded(c, x % 100, 2);
    case SK_HALF:
        if (put_padded(c, x / 10, 4) != 0 || chunker_put(c, "-H", 2) != 0)
            return CS_ERR_NOMEM;
        return chunker_put_i64(c, x % 10);
    case SK_TEXT:
    case SK_STORE:
    case SK_ITEM:
        t = key_text(s, k, r);
        return chunker_put_csv(c, t.p, t.n);
    case SK_INT:
    case SK_END:
    default:
        return chunker_put_i64(c, x);
    }
}

static int print(const struct view *v, const struct sink_result *r,
                 const uint32_t *idx, size_t m, struct chunker *c)
{
    size_t i;
    int j, rc;

    rc = chunker_put_str(c, r->header);
    rc = rc ? rc : chunker_end_line(c);
    for (i = 0; rc == 0 && i < m; i++) {
        const struct sink_rec *rec = &v->recs[idx[i]];

        for (j = 0; rc == 0 && j < SINK_MAX_KEYS && r->cols[j].kind != SK_END;
             j++) {
            if (j > 0)
                rc = chunker_put(c, ",", 1);
            rc = rc ? rc : put_col(c, v->s, &r->cols[j], rec);
        }
        rc = rc ? rc : chunker_end_line(c);
    }
    return rc ? rc : chunker_finish(c);
}

static int chunk_out(void *arg, int64_t index, const void *body, size_t len)
{
    const struct out_adapter *a = arg;

    return a->fn(a->arg, a->file, index, body, len);
}

/* The indexes of the source records that pass the tag filter. */
static size_t select_recs(const struct sink_result *r,
                          const struct sink_rec *recs, size_t n, uint32_t *idx)
{
    size_t i, m = 0;

    for (i = 0; i < n; i++)
        if (!r->tag.on || recs[i].v[r->tag.v] == r->tag.value)
            idx[m++] = (uint32_t)i;
    return m;
}

int sink_write_result(const struct sink *s, const struct sink_result *r,
                      size_t limit, sink_out_fn out, void *arg)
{
    struct out_adapter ad = {out, arg, r->file};
    struct view v = {s, NULL, r->order, NULL};
    struct chunker c;
    struct vbuf folded;
    uint32_t *idx;
    size_t n, m;
    int rc = 0;

    v.recs = sink_records(s, r->src, &n);
    if (n > UINT32_MAX)
        return CS_ERR_NOMEM;
    idx = malloc((n ? n : 1) * sizeof(*idx));
    if (idx == NULL)
        return CS_ERR_NOMEM;
    vbuf_init(&folded);
    m = select_recs(r, v.recs, n, idx);
    if (r->merge == SINK_MERGE_SUM)
        rc = merge_sum(&v, r, idx, &m, &folded);
    else if (r->merge == SINK_MERGE_TOP)
        rc = merge_top(&v, r, idx, &m);
    v.k1 = r->order;
    v.k2 = NULL;
    rc = rc ? rc : isort(idx, m, view_cmp, &v);
    chunker_init(&c, limit, chunk_out, &ad);
    rc = rc ? rc : print(&v, r, idx, m, &c);
    chunker_fini(&c);
    vbuf_fini(&folded);
    free(idx);
    return rc;
}

int sink_write_all(const struct sink *s, sink_out_fn out, void *arg)
{
    size_t i;
    int rc;

    for (i = 0; i < sink_nresults; i++) {
        rc = sink_write_result(s, &sink_results[i], SINK_CHUNK_MAX, out, arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}
