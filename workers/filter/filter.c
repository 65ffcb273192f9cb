/*
 * filter.c - the filter engine (see filter.h): parse, validate, evaluate,
 * project into per-shard buffers. Buffers are reused across batches.
 */
#include "filter.h"

#include "err.h"
#include "field.h"
#include "log.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Parsed value of a validated field. */
struct val {
    int64_t i;
    struct field_ts ts;
};

struct filter {
    struct plan plan;
    int nshards[64];             /* per route */
    struct filter_buf *bufs[64]; /* per route: nshards buffers */
    struct csvrows rows;
    enum plan_table table;
    unsigned session_shard;
    int64_t rejected;
    bool oom;
};

static int route_shards(const struct plan *p, const struct route *r)
{
    return p->replicas[r->dest];
}

bool filter_route_targets(const struct route *r, unsigned s,
                          unsigned session_shard)
{
    return r->shard_proj[0] >= 0 || s == session_shard;
}

/* Outputs take their input's (stream, seq) as id, so two routes of one
 * table into one stage would give two messages the same id. */
static bool routes_valid(void)
{
    int a, b;

    for (a = 0; a < filter_nroutes; a++)
        for (b = a + 1; b < filter_nroutes; b++)
            if (filter_routes[a].table == filter_routes[b].table &&
                filter_routes[a].dest == filter_routes[b].dest) {
                log_error("filter routes %s and %s both send table %s to stage "
                          "%s: their outputs would share ids",
                          filter_routes[a].name, filter_routes[b].name,
                          plan_table_name(filter_routes[a].table),
                          plan_stage_name(filter_routes[a].dest));
                return false;
            }
    return true;
}

struct filter *filter_create(const struct plan *plan)
{
    struct filter *f;
    int r;

    if (filter_nroutes > 64 || !routes_valid())
        return NULL;
    f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->plan = *plan;
    if (csvrows_init(&f->rows) != 0) {
        free(f);
        return NULL;
    }
    for (r = 0; r < filter_nroutes; r++) {
        f->nshards[r] = route_shards(plan, &filter_routes[r]);
        f->bufs[r] = calloc((size_t)f->nshards[r], sizeof(struct filter_buf));
        if (f->bufs[r] == NULL) {
            filter_destroy(f);
            return NULL;
        }
    }
    return f;
}

void filter_destroy(struct filter *f)
{
    int r, s;

    if (f == NULL)
        return;
    for (r = 0; r < filter_nroutes; r++) {
        for (s = 0; f->bufs[r] && s < f->nshards[r]; s++)
            free(f->bufs[r][s].ptr);
        free(f->bufs[r]);
    }
    csvrows_fini(&f->rows);
    free(f);
}

const struct filter_buf *filter_output(const struct filter *f, int r,
                                       unsigned s)
{
    return &f->bufs[r][s];
}

static bool validate(const struct table_schema *sc, const struct csvrow *row,
                     struct val *v)
{
    int c;

    if (row->nfields != sc->ncols)
        return false;
    for (c = 0; c < sc->ncols; c++) {
        const char *s = row->f[c];
        size_t n = row->len[c];
        bool ok = true;

        switch (sc->types[c]) {
        case COL_ANY:
            break;
        case COL_INT:
            ok = field_int(s, n, &v[c].i);
            break;
        case COL_DEC:
            ok = field_dec(s, n, &v[c].i);
            break;
        case COL_TS:
            ok = field_ts(s, n, &v[c].ts);
            break;
        case COL_USER:
            ok = field_user_id(s, n, &v[c].i);
            break;
        case COL_DATE:
            ok = field_date(s, n);
            break;
        }
        if (!ok)
            return false;
    }
    return true;
}

static bool eval(const struct route *r, const struct val *v)
{
    int i;

    for (i = 0; i < r->npreds; i++) {
        const struct pred *p = &r->preds[i];
        const struct val *x = &v[p->col];
        bool ok = false;

        switch (p->kind) {
        case PRED_YEAR_IN:
            ok = x->ts.year >= p->a && x->ts.year <= p->b;
            break;
        case PRED_TIME_BETWEEN:
            ok = x->ts.sec_of_day >= p->a && x->ts.sec_of_day <= p->b;
            break;
        case PRED_DEC_GE:
            ok = x->i >= p->a;
            break;
        case PRED_PRESENT:
            ok = x->i >= 0;
            break;
        }
        if (!ok)
            return false;
    }
    return true;
}

static int reserve(struct filter_buf *b, size_t more)
{
    size_t cap;
    char *np;

    if (b->len + more <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    np = realloc(b->ptr, cap);
    if (np == NULL)
        return -1;
    b->ptr = np;
    b->cap = cap;
    return 0;
}

/* Integer value of projection p (for sharding). */
static int64_t proj_value(const struct proj *p, const struct val *v)
{
    switch (p->kind) {
    case PROJ_YM:
        return (int64_t)v[p->col].ts.year * 100 + v[p->col].ts.month;
    case PROJ_YH:
        return (int64_t)v[p->col].ts.year * 10 +
               (v[p->col].ts.month <= 6 ? 1 : 2);
    default:
        return v[p->col].i;
    }
}

static unsigned pick_shard(const struct filter *f, int ri, const struct val *v)
{
    const struct route *r = &filter_routes[ri];
    uint64_t key;

    if (r->shard_proj[0] < 0)
        return f->session_shard;
    key = (uint64_t)proj_value(&r->proj[r->shard_proj[0]], v);
    if (r->shard_proj[1] >= 0)
        key = key * 1000003u +
              (uint64_t)proj_value(&r->proj[r->shard_proj[1]], v);
    return plan_shard_u64(key, f->nshards[ri]);
}

static int project(struct filter *f, int ri, const struct csvrow *row,
                   const struct val *v)
{
    const struct route *r = &filter_routes[ri];
    struct filter_buf *b = &f->bufs[ri][pick_shard(f, ri, v)];
    size_t need = 2;
    int i;

    for (i = 0; i < r->nproj; i++)
        need += 2 * row->len[r->proj[i].col] + 24;
    if (reserve(b, need) != 0)
        return -1;
    for (i = 0; i < r->nproj; i++) {
        const struct proj *p = &r->proj[i];
        char *out = b->ptr + b->len;

        if (i > 0)
            *out++ = ',';
        if (p->kind == PROJ_RAW) {
            memcpy(out, row->f[p->col], row->len[p->col]);
            out += row->len[p->col];
        } else if (p->kind == PROJ_CSV) {
            out += csvrows_quote(out, row->f[p->col], row->len[p->col]);
        } else {
            out += field_fmt_int(proj_value(p, v), out);
        }
        b->len = (size_t)(out - b->ptr);
    }
    b->ptr[b->len++] = '\n';
    return 0;
}

static void on_row(const struct csvrow *row, void *ud)
{
    struct filter *f = ud;
    struct val v[CSVROWS_MAX_FIELDS];
    int r;

    if (!validate(&filter_schemas[f->table], row, v)) {
        f->rejected++;
        return;
    }
    for (r = 0; r < filter_nroutes; r++)
        if (filter_routes[r].table == f->table && eval(&filter_routes[r], v) &&
            project(f, r, row, v) != 0)
            f->oom = true;
}

int filter_batch(struct filter *f, enum plan_table t, const void *buf,
                 size_t len, unsigned session_shard, int64_t *rejected)
{
    int r, s;

    for (r = 0; r < filter_nroutes; r++)
        for (s = 0; s < f->nshards[r]; s++)
            f->bufs[r][s].len = 0;
    f->table = t;
    f->session_shard = session_shard;
    f->rejected = 0;
    f->oom = false;
    if (csvrows_parse(&f->rows, buf, len, on_row, f) != 0 || f->oom)
        return CS_ERR_NOMEM;
    *rejected = f->rejected;
    return 0;
}
