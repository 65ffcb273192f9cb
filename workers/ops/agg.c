/*
 * agg.c - the generic aggregation operator (see agg.h).
 *
 * Groups live in one flat int64 array (vbuf), `stride` values per group:
 * the key values, then the measures. A hash map from the group's composite
 * key to its index finds them. With two key columns each column's values
 * are first interned to dense ids (< 2^31), so the pair packs exactly into
 * one int64 composite: no hashing collisions to resolve by hand.
 */
#include "agg.h"

#include "i64map.h"
#include "isort.h"
#include "err.h"
#include "rows.h"
#include "vbuf.h"

#include <stdlib.h>
#include <string.h>

#define DENSE_MAX ((int64_t)1 << 31)

struct agg {
    const struct agg_spec *spec;
    int stride;                       /* int64 values per group */
    struct i64map dict[AGG_MAX_KEYS]; /* key value -> dense id (nkeys > 1) */
    struct i64map groups;             /* composite key -> group index */
    struct vbuf rec;                  /* groups' keys and measures */
    size_t ngroups;
    struct i64map lookup; /* lookup key -> text offset << 8 | length */
    struct vbuf text;     /* lookup values */
};

/* Context of the group orderings. */
struct order {
    const struct agg *a;
    int meas; /* measure compared first (desc), or -1 */
};

static bool col_ok(int c, int ncols)
{
    return c >= 0 && c < ncols;
}

static bool lookup_valid(const struct agg_spec *s)
{
    const struct agg_lookup *l = &s->lookup;

    return l->stream == NULL ||
           (l->ncols > 0 && l->ncols <= AGG_MAX_COLS &&
            col_ok(l->key_col, l->ncols) && col_ok(l->val_col, l->ncols) &&
            col_ok(l->join_key, s->nkeys));
}

bool agg_spec_valid(const struct agg_spec *s)
{
    int i;

    if (s->stream == NULL || s->ncols < 1 || s->ncols > AGG_MAX_COLS ||
        s->nkeys < 1 || s->nkeys > AGG_MAX_KEYS || s->nmeasures < 0 ||
        s->nmeasures > AGG_MAX_MEASURES || !lookup_valid(s))
        return false;
    for (i = 0; i < s->nkeys; i++)
        if (!col_ok(s->keys[i], s->ncols))
            return false;
    for (i = 0; i < s->nmeasures; i++)
        if (s->measures[i].fn == AGG_SUM &&
            !col_ok(s->measures[i].col, s->ncols))
            return false;
    if (s->emit != AGG_EMIT_TOPK)
        return true;
    if (!col_ok(s->topk.part_key, s->nkeys) || s->topk.k < 1 ||
        s->topk.nranks < 1 || s->topk.nranks > AGG_MAX_RANKS)
        return false;
    for (i = 0; i < s->topk.nranks; i++)
        if (!col_ok(s->topk.rank[i], s->nmeasures))
            return false;
    return true;
}

struct agg *agg_create(const struct agg_spec *spec)
{
    struct agg *a;
    int i;

    if (!agg_spec_valid(spec))
        return NULL;
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->spec = spec;
    a->stride = spec->nkeys + spec->nmeasures;
    for (i = 0; i < AGG_MAX_KEYS; i++)
        i64map_init(&a->dict[i]);
    i64map_init(&a->groups);
    i64map_init(&a->lookup);
    vbuf_init(&a->rec);
    vbuf_init(&a->text);
    return a;
}

void agg_destroy(struct agg *a)
{
    int i;

    if (a == NULL)
        return;
    for (i = 0; i < AGG_MAX_KEYS; i++)
        i64map_fini(&a->dict[i]);
    i64map_fini(&a->groups);
    i64map_fini(&a->lookup);
    vbuf_fini(&a->rec);
    vbuf_fini(&a->text);
    free(a);
}

size_t agg_ngroups(const struct agg *a)
{
    return a->ngroups;
}

static int64_t *group_rec(const struct agg *a, size_t g)
{
    return (int64_t *)(void *)a->rec.p + g * (size_t)a->stride;
}

/* Composite key of a key tuple, interning values with several keys. */
static int composite(struct agg *a, const int64_t *key, int64_t *out)
{
    int64_t *id;
    int i;

    if (a->spec->nkeys == 1) {
        *out = key[0];
        return 0;
    }
    *out = 0;
    for (i = 0; i < a->spec->nkeys; i++) {
        int64_t next = (int64_t)i64map_len(&a->dict[i]);

        if (next >= DENSE_MAX)
            return CS_ERR_NOMEM;
        if (i64map_upsert(&a->dict[i], key[i], next, &id) < 0)
            return CS_ERR_NOMEM;
        *out = (int64_t)((uint64_t)*out << 32 | (uint64_t)*id);
    }
    return 0;
}

/* The group of a key tuple, created (measures 0) if new; NULL: no memory. */
static int64_t *group_get(struct agg *a, const int64_t *key)
{
    size_t sz = (size_t)a->stride * sizeof(int64_t);
    int64_t comp, *idx, *r;
    int rc;

    /* room first, so that a new key is never left without its record */
    if (a->ngroups >= UINT32_MAX || vbuf_reserve(&a->rec, sz) != 0 ||
        composite(a, key, &comp) != 0)
        return NULL;
    rc = i64map_upsert(&a->groups, comp, (int64_t)a->ngroups, &idx);
    if (rc < 0)
        return NULL;
    if (rc == 0)
        return group_rec(a, (size_t)*idx);
    r = vbuf_push(&a->rec, sz); /* cannot fail: reserved above */
    memcpy(r, key, (size_t)a->spec->nkeys * sizeof(int64_t));
    a->ngroups++;
    return r;
}

/* Parses the columns a group row needs. */
static bool parse_group_row(const struct agg_spec *s, struct rows_span line,
                            int64_t *key, int64_t *val)
{
    struct rows_span f[AGG_MAX_COLS];
    int i;

    if (rows_split(line, f, AGG_MAX_COLS) != s->ncols)
        return false;
    for (i = 0; i < s->nkeys; i++)
        if (!rows_i64(f[s->keys[i]], &key[i]))
            return false;
    for (i = 0; i < s->nmeasures; i++) {
        val[i] = 1;
        if (s->measures[i].fn == AGG_SUM &&
            !rows_i64(f[s->measures[i].col], &val[i]))
            return false;
    }
    return true;
}

static int feed_group(struct agg *a, struct rows_span line, size_t *bad)
{
    int64_t key[AGG_MAX_KEYS], val[AGG_MAX_MEASURES], *r;
    int i;

    if (!parse_group_row(a->spec, line, key, val)) {
        (*bad)++;
        return 0;
    }
    r = group_get(a, key);
    if (r == NULL)
        return CS_ERR_NOMEM;
    for (i = 0; i < a->spec->nmeasures; i++)
        r[a->spec->nkeys + i] += val[i];
    return 0;
}

static struct rows_span lookup_text(const struct agg *a, int64_t v)
{
    struct rows_span t;

    t.p = (const char *)a->text.p + (v >> 8);
    t.n = (size_t)(v & 0xff);
    return t;
}

static int span_cmp(struct rows_span x, struct rows_span y)
{
    int c = memcmp(x.p, y.p, x.n < y.n ? x.n : y.n);

    return c ? c : (x.n > y.n) - (x.n < y.n);
}

static int feed_lookup(struct agg *a, struct rows_span line, size_t *bad)
{
    const struct agg_lookup *l = &a->spec->lookup;
    struct rows_span f[AGG_MAX_COLS];
    int64_t key, *v;

    if (rows_split(line, f, AGG_MAX_COLS) != l->ncols ||
        !rows_i64(f[l->key_col], &key) || f[l->val_col].n > AGG_LOOKUP_MAX) {
        (*bad)++;
        return 0;
    }
    v = i64map_get(&a->lookup, key);
    /* a repeated key keeps the byte-smallest value: arrival order varies */
    if (v != NULL && span_cmp(lookup_text(a, *v), f[l->val_col]) <= 0)
        return 0;
    if (vbuf_reserve(&a->text, f[l->val_col].n) != 0)
        return CS_ERR_NOMEM;
    if (i64map_put(&a->lookup, key,
                   (int64_t)(a->text.len << 8 | f[l->val_col].n)) != 0)
        return CS_ERR_NOMEM;
    return vbuf_append(&a->text, f[l->val_col].p, f[l->val_col].n);
}

int agg_feed(struct agg *a, const char *stream, const void *body, size_t len,
             size_t *bad)
{
    int (*feed)(struct agg *, struct rows_span, size_t *) = NULL;
    struct rows_iter it;
    struct rows_span line;
    int rc;

    if (rows_stream_is(stream, a->spec->stream))
        feed = feed_group;
    else if (a->spec->lookup.stream &&
             rows_stream_is(stream, a->spec->lookup.stream))
        feed = feed_lookup;
    rows_iter_init(&it, body, len);
    while (rows_next(&it, &line)) {
        if (feed == NULL) {
            (*bad)++;
            continue;
        }
        rc = feed(a, line, bad);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int cmp_i64(int64_t x, int64_t y)
{
    return (x > y) - (x < y);
}

/* Partition key asc (top-k only), then the ranked measure desc, then the
 * keys asc: a total order on groups, so the output is deterministic. */
static int group_cmp(const void *ctx, uint32_t x, uint32_t y)
{
    const struct order *o = ctx;
    const struct agg_spec *s = o->a->spec;
    const int64_t *rx = group_rec(o->a, x), *ry = group_rec(o->a, y);
    int c, i;

    if (o->meas >= 0) {
        c = cmp_i64(rx[s->topk.part_key], ry[s->topk.part_key]);
        if (c)
            return c;
        c = cmp_i64(ry[s->nkeys + o->meas], rx[s->nkeys + o->meas]);
        if (c)
            return c;
    }
    for (i = 0; i < s->nkeys; i++) {
        c = cmp_i64(rx[i], ry[i]);
        if (c)
            return c;
    }
    return 0;
}

/* One output line: [rank,]keys,measures[,lookup]. */
static int put_group(const struct agg *a, struct chunker *out, int rank,
                     const int64_t *r)
{
    const struct agg_spec *s = a->spec;
    int i, rc = 0;

    if (rank >= 0)
        rc |= chunker_put_i64(out, rank) | chunker_put(out, ",", 1);
    for (i = 0; i < a->stride; i++) {
        if (i > 0)
            rc |= chunker_put(out, ",", 1);
        rc |= chunker_put_i64(out, r[i]);
    }
    if (s->lookup.stream != NULL) {
        const int64_t *v = i64map_get(&a->lookup, r[s->lookup.join_key]);

        rc |= chunker_put(out, ",", 1);
        if (v != NULL) {
            struct rows_span t = lookup_text(a, *v);

            rc |= chunker_put(out, t.p, t.n);
        }
    }
    return rc ? CS_ERR_NOMEM : chunker_end_line(out);
}

/* Sorts idx by o and writes the lines: all groups (rank < 0) or the first
 * k of each partition. */
static int emit_sorted(const struct agg *a, uint32_t *idx, struct order *o,
                       int rank, struct chunker *out)
{
    const struct agg_spec *s = a->spec;
    int64_t part = 0;
    size_t i;
    int taken = 0, rc;

    rc = isort(idx, a->ngroups, group_cmp, o);
    for (i = 0; rc == 0 && i < a->ngroups; i++) {
        const int64_t *r = group_rec(a, idx[i]);

        if (rank >= 0) {
            if (i == 0 || r[s->topk.part_key] != part) {
                part = r[s->topk.part_key];
                taken = 0;
            }
            if (taken++ >= s->topk.k)
                continue;
        }
        rc = put_group(a, out, rank, r);
    }
    return rc;
}

int agg_emit(const struct agg *a, struct chunker *out)
{
    const struct agg_spec *s = a->spec;
    struct order o = {a, -1};
    uint32_t *idx = malloc((a->ngroups ? a->ngroups : 1) * sizeof(*idx));
    size_t i;
    int r, rc = 0;

    if (idx == NULL)
        return CS_ERR_NOMEM;
    if (s->emit == AGG_EMIT_ALL) {
        for (i = 0; i < a->ngroups; i++)
            idx[i] = (uint32_t)i;
        rc = emit_sorted(a, idx, &o, -1, out);
    }
    for (r = 0; s->emit == AGG_EMIT_TOPK && rc == 0 && r < s->topk.nranks;
         r++) {
        for (i = 0; i < a->ngroups; i++)
            idx[i] = (uint32_t)i;
        o.meas = s->topk.rank[r];
        rc = emit_sorted(a, idx, &o, r, out);
    }
    free(idx);
    return rc ? rc : chunker_finish(out);
}
