/*
 * sink_results.h - the result files, declared as data: each file is one
 * struct sink_result row (source records, filter, merge rule, order,
 * columns) and one generic routine turns the collected state (sink_state.h)
 * into the file's CSV text exactly as docs/QUERIES.md specifies.
 *
 * Pipeline of a result: take the records of `src` (those whose v[tag.v] is
 * tag.value when tag.on) -> merge (none; SUM: one record per `group` with
 * v[sum_v] summed; TOP: the first k of each `group` partition in `rank`
 * order) -> sort by `order` -> print `cols` under `header`.
 *
 * Key and column kinds read v[k.v] (or the record's text) and print it:
 *   SK_INT 123   SK_MONEY1 75.0 (min. decimals)   SK_MONEY2 12.35
 *   SK_YM 202401 -> 2024-01   SK_HALF 20242 -> 2024-H2
 *   SK_TEXT the text, SK_STORE / SK_ITEM the name of id v[k.v] (empty if
 *   unknown); texts and names are CSV-escaped and compare by bytes.
 */
#ifndef CS_SINK_RESULTS_H
#define CS_SINK_RESULTS_H

#include "sink_state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SINK_CHUNK_MAX ((size_t)1 << 20) /* result chunk limit: 1 MiB */
#define SINK_MAX_KEYS 6

enum sink_kind {
    SK_END = 0, /* terminates key and column lists */
    SK_INT,
    SK_MONEY1,
    SK_MONEY2,
    SK_YM,
    SK_HALF,
    SK_TEXT,
    SK_STORE,
    SK_ITEM,
};

struct sink_key {
    enum sink_kind kind;
    int v;     /* index into the record's v[] (unused by SK_TEXT) */
    bool desc; /* orderings only */
};

enum sink_merge {
    SINK_MERGE_NONE,
    SINK_MERGE_SUM,
    SINK_MERGE_TOP
};

struct sink_result {
    const char *file;
    const char *header; /* without the newline */
    enum sink_src src;
    struct {
        bool on;
        int v;
        int64_t value;
    } tag;
    enum sink_merge merge;
    struct sink_key group[SINK_MAX_KEYS]; /* SUM groups / TOP partitions */
    int sum_v;                            /* SUM: the summed field */
    int k;                                /* TOP: kept per partition */
    struct sink_key rank[SINK_MAX_KEYS];  /* TOP: order in a partition */
    struct sink_key order[SINK_MAX_KEYS]; /* output order */
    struct sink_key cols[SINK_MAX_KEYS];  /* output columns */
};

/* The five result files, in the order they are sent. */
extern const struct sink_result sink_results[];
extern const size_t sink_nresults;

/* Receives chunk `chunk` of result file `file` (body borrowed for the
 * call). Returns 0 or a negative error, which is passed back. */
typedef int (*sink_out_fn)(void *arg, const char *file, int64_t chunk,
                           const void *body, size_t len);

/* Computes one result and sends it in chunks of whole lines of at most
 * `limit` bytes (the header counts; a result that fits is one chunk).
 * Returns 0, CS_ERR_NOMEM or out's error. */
int sink_write_result(const struct sink *s, const struct sink_result *r,
                      size_t limit, sink_out_fn out, void *arg)
    __attribute__((warn_unused_result));

/* Every result of sink_results[] with limit SINK_CHUNK_MAX. */
int sink_write_all(const struct sink *s, sink_out_fn out, void *arg)
    __attribute__((warn_unused_result));

#endif
