/*
 * sink_state.h - what the sink collects for one session before it can
 * answer: the Q1 rows, the store and menu-item names, and the partial
 * results of the aggregators. Everything is kept as generic records (up to
 * SINK_NV integers and one text) in growable arrays, never one malloc per
 * row; sink_results.h turns them into the result files.
 *
 * Input streams (matched with rows_stream_is, so "agg-q2.1" is "agg-q2"),
 * one row per line, the integers in v[0..] in order, the text apart:
 *   transactions  transaction_id,final_amount_milli          -> Q1 (T I)
 *   agg-q2        rank,YYYYMM,item_id,qty_sum,subtotal_sum   -> Q2 (I I I I I)
 *   agg-q3        YYYYH,store_id,amount_sum                  -> Q3 (I I I)
 *   agg-q4        0,store_id,user_id,purchases,birthdate     -> Q4 (I I I I T)
 *   stores        store_id,NAME      menu_items  item_id,NAME
 * NAME is one CSV field (quoted when needed) and is stored decoded.
 */
#ifndef CS_SINK_STATE_H
#define CS_SINK_STATE_H

#include "rows.h"

#include <stddef.h>
#include <stdint.h>

#define SINK_NV 5
#define SINK_NAME_MAX 65535 /* longest name in bytes */

enum sink_src {
    SINK_SRC_Q1,
    SINK_SRC_Q2,
    SINK_SRC_Q3,
    SINK_SRC_Q4,
    SINK_NSRC
};
enum sink_names {
    SINK_NAMES_STORES,
    SINK_NAMES_ITEMS,
    SINK_NNAMES
};

struct sink_rec {
    int64_t v[SINK_NV];
    uint64_t toff; /* text: offset into the session's text arena */
    uint32_t tlen; /* and length (0: no text) */
};

struct sink;

/* New empty session state; NULL when out of memory. */
struct sink *sink_create(void);

/* Frees it; NULL is a no-op. */
void sink_destroy(struct sink *s);

/* Feeds one message body of stream `stream`. Malformed lines, and every line
 * of an unknown stream, are skipped and counted in *bad. Returns 0 or
 * CS_ERR_NOMEM (lines before the failing one are kept). */
int sink_feed(struct sink *s, const char *stream, const void *body, size_t len,
              size_t *bad) __attribute__((warn_unused_result));

/* The records of a source: *n of them (valid until the next sink_feed). */
const struct sink_rec *sink_records(const struct sink *s, enum sink_src src,
                                    size_t *n);

/* A record's text (valid until the next sink_feed). */
struct rows_span sink_text(const struct sink *s, const struct sink_rec *r);

/* The decoded name of id in a names table; empty if unknown. */
struct rows_span sink_name(const struct sink *s, enum sink_names t, int64_t id);

#endif
