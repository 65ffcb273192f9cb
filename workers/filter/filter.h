/*
 * filter.h - the filter operator: validates the rows of one input table,
 * evaluates each route's predicates on the typed fields and writes the
 * route's projection to an output buffer per destination shard.
 *
 * Routes are configuration (see routes.c): which table, which predicates,
 * which projected columns, which stage receives them and how rows are
 * sharded. The engine knows nothing about the queries.
 *
 * Pure: no broker; filter_batch() fills buffers that the caller publishes.
 */
#ifndef CS_FILTER_H
#define CS_FILTER_H

#include "csvrows.h"
#include "plan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a column is validated (QUERIES.md reject rules). */
enum col_type {
    COL_ANY,
    COL_INT,
    COL_DEC,
    COL_TS,
    COL_USER,
    COL_DATE
};

struct table_schema {
    enum plan_table table;
    int ncols;
    enum col_type types[CSVROWS_MAX_FIELDS];
};

enum pred_kind {
    PRED_YEAR_IN,      /* a <= year(ts col) <= b */
    PRED_TIME_BETWEEN, /* a <= second of day(ts col) <= b */
    PRED_DEC_GE,       /* dec col (milli) >= a */
    PRED_PRESENT,      /* user col is not empty */
};

struct pred {
    enum pred_kind kind;
    int col;
    int64_t a, b;
};

enum proj_kind {
    PROJ_RAW,   /* the field's bytes as they are (must not need quoting) */
    PROJ_CSV,   /* the field as one RFC 4180 field, quoted when needed */
    PROJ_VALUE, /* the parsed integer value (ints, user ids, money milli) */
    PROJ_YM,    /* ts col -> YYYYMM */
    PROJ_YH,    /* ts col -> YYYY*10 + half (1 or 2) */
};

struct proj {
    enum proj_kind kind;
    int col;
};

#define FILTER_MAX_PREDS 4
#define FILTER_MAX_PROJ 6

struct route {
    const char *name;
    enum plan_table table;
    enum plan_stage_id dest;
    int npreds;
    struct pred preds[FILTER_MAX_PREDS];
    int nproj;
    struct proj proj[FILTER_MAX_PROJ];
    /* Shard key: -1 entries unused; both -1 means "by session". The key
     * combines the projections' integer values at these indexes. */
    int shard_proj[2];
};

/* The configured plan (routes.c). */
extern const struct table_schema filter_schemas[PLAN_NTABLES];
extern const struct route filter_routes[];
extern const int filter_nroutes;

struct filter;

/* Output buffers of one route and shard, filled by filter_batch(). */
struct filter_buf {
    char *ptr;
    size_t len, cap;
};

/* Creates the engine for the given replica counts; NULL on no memory or an
 * invalid route table (logged). */
struct filter *filter_create(const struct plan *plan);
void filter_destroy(struct filter *f);

/* Processes one batch of table t (whole CSV lines, no header). Afterwards
 * filter_output() gives each route's buffer per shard; *rejected gets the
 * number of rejected rows. session_shard is the sink shard of the session.
 * Returns 0 or CS_ERR_NOMEM. */
int filter_batch(struct filter *f, enum plan_table t, const void *buf,
                 size_t len, unsigned session_shard, int64_t *rejected)
    __attribute__((warn_unused_result));

/* The buffer of route r for shard s after the last filter_batch (empty
 * when the route did not apply to that table). */
const struct filter_buf *filter_output(const struct filter *f, int r,
                                       unsigned s);

/* Whether route r sends to shard s of its stage for a session whose sink
 * shard is session_shard: every shard for a route sharded by key, only the
 * session's shard for one sharded by session. Each input batch yields one
 * output message (maybe empty) per target: what the filter emits is then a
 * function of its inputs alone, so a replica that restarts knows it. */
bool filter_route_targets(const struct route *r, unsigned s,
                          unsigned session_shard);

#endif
