/*
 * agg.h - the one generic aggregation operator behind agg-q2, agg-q3 and
 * agg-q4: a new query is a new struct agg_spec, not a new program.
 *
 * Input rows are the filter's internal text rows (rows.h) of integer
 * columns. Rows of the spec's stream are grouped by up to AGG_MAX_KEYS key
 * columns and each group keeps its measures (sum of a column, or a row
 * count). Optionally rows of a second, "lookup" stream map a key to a short
 * text value (Q4: user_id -> birthdate) that is joined to each emitted
 * group. Memory is bounded by the number of groups (and lookup keys), never
 * by the number of rows.
 *
 * At the end the state is emitted, in a deterministic order, as text lines:
 *   AGG_EMIT_ALL:  key...,measure...[,lookup]       every group, keys asc
 *   AGG_EMIT_TOPK: rank,key...,measure...[,lookup]  for each rank measure
 *       rank (0..nranks-1, its position in topk.rank), the k best groups
 *       of each partition (groups with the same value of key part_key),
 *       best = that measure desc, then the other keys asc.
 * Values are plain decimal integers; a missing lookup value is empty.
 *
 * The engine never calls the runtime: it writes into a struct chunker whose
 * callback decides where chunks go (worker_emit, or a test buffer).
 */
#ifndef CS_AGG_H
#define CS_AGG_H

#include "chunker.h"

#include <stddef.h>
#include <stdint.h>

#define AGG_MAX_COLS 8
#define AGG_MAX_KEYS 2
#define AGG_MAX_MEASURES 4
#define AGG_MAX_RANKS 4
#define AGG_LOOKUP_MAX 64 /* longest lookup value in bytes */

enum agg_fn {
    AGG_SUM,   /* sum of column col */
    AGG_COUNT, /* number of rows (col unused) */
};

struct agg_measure {
    enum agg_fn fn;
    int col;
};

/* Rows "key,value" (any column positions) of stream `stream` joined on the
 * group key keys[join_key]. stream == NULL: no lookup. */
struct agg_lookup {
    const char *stream;
    int ncols;
    int key_col;
    int val_col;
    int join_key;
};

enum agg_emit {
    AGG_EMIT_ALL,
    AGG_EMIT_TOPK
};

struct agg_topk {
    int part_key; /* index into keys: the partition column */
    int k;        /* groups kept per partition and rank */
    int nranks;
    int rank[AGG_MAX_RANKS]; /* measure indexes, one top-k list each */
};

struct agg_spec {
    const char *name;   /* for logs, e.g. "q2" */
    const char *stream; /* stream of the group rows, e.g. "transactions" */
    int ncols;          /* exact field count of a group row */
    int nkeys;
    int keys[AGG_MAX_KEYS]; /* column of each key */
    int nmeasures;
    struct agg_measure measures[AGG_MAX_MEASURES];
    struct agg_lookup lookup;
    enum agg_emit emit;
    struct agg_topk topk; /* AGG_EMIT_TOPK only */
};

/* The query instances (agg_queries.c); see there for their row formats. */
extern const struct agg_spec agg_spec_q2;
extern const struct agg_spec agg_spec_q3;
extern const struct agg_spec agg_spec_q4;

struct agg;

/* True if the spec is consistent (columns in range, counts in bounds). */
bool agg_spec_valid(const struct agg_spec *spec);

/* New empty state for spec (borrowed: must outlive the state). NULL when
 * out of memory or the spec is invalid. */
struct agg *agg_create(const struct agg_spec *spec);

/* Frees the state; NULL is a no-op. */
void agg_destroy(struct agg *a);

/* Feeds one message body of stream `stream` (matched with rows_stream_is
 * against the spec's stream, then the lookup stream). Malformed lines, and
 * every line of an unknown stream, are skipped and counted in *bad.
 * Returns 0 or CS_ERR_NOMEM (rows before the failing one are applied). */
int agg_feed(struct agg *a, const char *stream, const void *body, size_t len,
             size_t *bad) __attribute__((warn_unused_result));

/* Writes the result lines (see above) to out, then chunker_finish(out).
 * Returns 0, CS_ERR_NOMEM, or the chunker callback's error. */
int agg_emit(const struct agg *a, struct chunker *out)
    __attribute__((warn_unused_result));

/* Number of groups so far. */
size_t agg_ngroups(const struct agg *a);

#endif
