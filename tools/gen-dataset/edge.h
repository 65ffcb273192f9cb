/*
 * edge.h - planted edge cases: the catalogue of rows to plant (valid rows
 * at the spec's bounds, malformed rows of every reject kind, Q2 and Q4 ties)
 * and the manifest edge_cases.json that lists them with their expected
 * fate. Rows are planted at their time in the time-sorted monthly files.
 */
#ifndef GEN_EDGE_H
#define GEN_EDGE_H

#include "gen.h"

#include <stddef.h>
#include <stdint.h>

/* Users who buy only in planted rows (natural picks skip them): four users
 * with the same number of purchases at one store. */
#define EDGE_TIE_UID_FIRST 9u
#define EDGE_TIE_UID_LAST 12u
#define EDGE_TIE_STORE 10
/* The month whose Q2 most profitable item is a planted tie. */
#define EDGE_PROFIT_TIE_YEAR 2024
#define EDGE_PROFIT_TIE_MONTH 10

enum edge_kind {
    EK_TXN,          /* a valid transaction (and its items) */
    EK_LEADER,       /* valid; its item is the month's best seller so far */
    EK_TOPUP_QTY,    /* valid; makes two items tie on quantity this month */
    EK_TOPUP_PROFIT, /* valid; makes two items tie on subtotal this month */
    EK_Q4_TOPUP,     /* valid; purchases that bring n_uids users from
                        tx.uid on to one count above the store's natural
                        customers */
    EK_RAW_TX,       /* a malformed transactions row */
    EK_RAW_ITEM,     /* a malformed transaction_items row */
};

struct edge_row {
    int month;  /* month index of the file it goes into */
    uint32_t t; /* position: seconds since the month's start */
    int seq;    /* catalogue order, breaks ties of t */
    enum edge_kind kind;
    const char *label;
    int expect_q1; /* 1: in q1.csv, 0: not, -1: not a Q1 case */
    struct gen_txn tx;
    char raw[160];
    uint32_t n_uids; /* EK_Q4_TOPUP */
    /* filled by the generator: EK_TOPUP_* the tied items and value,
     * EK_Q4_TOPUP the purchase count reached */
    int tie_items[2];
    int64_t tie_value;
    bool written;
};

/* The catalogue for ctx (empty unless ctx->o.edges); NULL on no memory.
 * Needs ctx->users_cum filled. */
struct edge_plan *edge_plan_create(const struct gen_ctx *ctx);
void edge_plan_destroy(struct edge_plan *p); /* NULL: no-op */

/* The next planted row of month m positioned at or before t, or NULL.
 * Rows come out in (month, t) order; each once. Valid until destroy. */
struct edge_row *edge_next(struct edge_plan *p, int m, uint32_t t);

/* Planted valid rows not yet written that name (store, uid). */
uint32_t edge_pending(const struct edge_plan *p, int store, uint32_t uid);

/* A transaction id for rows made up while generating (Q4 top-ups). */
void edge_uuid(struct edge_plan *p, char out[37]);

/* The i-th malformed users row for month m's users file, or NULL. */
const char *edge_user_row(const struct edge_plan *p, int m, size_t i);

/* Users ids planted as "named by transactions but without a valid users
 * row" (0 when edges are off). */
uint32_t edge_missing_uid(const struct gen_ctx *ctx, int which);

/* Writes OUT/edge_cases.json; 0 or -1 (error printed). */
int edge_write_manifest(const struct gen_ctx *ctx)
    __attribute__((warn_unused_result));

#endif
