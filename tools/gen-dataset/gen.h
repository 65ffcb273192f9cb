/*
 * gen.h - the generator's shared state and row model.
 *
 * The data set covers 24 months, 2023-07 .. 2025-06 (month index 0 .. 23).
 * gen.c writes the monthly tables, tables.c the small fixed ones, edge.c
 * plans the planted edge cases and writes edge_cases.json, truth.c computes
 * the expected query results of what was written.
 */
#ifndef GEN_GEN_H
#define GEN_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GEN_MONTHS 24
#define GEN_STORES 10
#define GEN_ITEMS 8
/* Natural transactions happen in [07:00:00, 22:00:00). */
#define GEN_OPEN_SOD (7u * 3600u)
#define GEN_OPEN_SECS (15u * 3600u)

enum gen_table {
    GT_TX,
    GT_ITEMS,
    GT_USERS,
    GT_STORES,
    GT_MENU,
    GT_PAY,
    GT_VOUCHERS,
    GT_COUNT
};

struct gen_opts {
    const char *out;
    const char *scale_text;
    double scale;
    uint64_t seed;
    bool quirks;
    bool edges;
    bool quiet;
    const char *truth_dir; /* NULL or "": none */
};

struct truth;
struct edge_plan;

struct gen_ctx {
    struct gen_opts o;
    uint32_t users_new[GEN_MONTHS];
    uint32_t users_cum[GEN_MONTHS + 1]; /* users registered before month m */
    uint32_t loyal;                     /* size of the loyal customer pool */
    uint32_t uid_slots;                 /* user ids 0 .. uid_slots-1 exist */
    struct truth *truth;
    struct edge_plan *plan;
    uint64_t rows[GT_COUNT];    /* valid data rows written */
    uint64_t rejects[GT_COUNT]; /* malformed rows planted */
    uint64_t bytes[GT_COUNT];
    double t0;
};

struct gen_line {
    int item;
    uint32_t qty;
};

/* One transaction and its item lines, as gen_emit_txn() writes them. */
struct gen_txn {
    char tid[37];
    int store, pay, voucher; /* voucher 0: none */
    uint32_t uid;            /* 0: none */
    int nlines;
    struct gen_line lines[3];
    int64_t disc; /* discount_applied, thousandths */
    int day;
    uint32_t sod; /* seconds of the day */
    /* presentation quirks of planted rows */
    bool uid_plain;         /* "17272" instead of "17272.0" */
    bool quote_all;         /* every field in double quotes */
    const char *final_text; /* replaces the formatted final_amount */
};

/* Calendar of month index m (0 = 2023-07). */
void gen_month_ym(int m, int *y, int *mo);
int gen_days_in_month(int y, int mo);

/* Price of item 1..8 in thousandths; name; store names (quirk-aware). */
int64_t gen_item_price(int item);
const char *gen_item_name(int item);
const char *gen_store_name(int store, bool quirks);

/* Voucher valid on that day (0: none) and its discount of `orig`. */
int gen_voucher_on(int y, int mo, int d);
int64_t gen_voucher_discount(int voucher, int64_t orig);

/* Whether the file of `table` for month m (0 for single-file tables) has
 * CRLF line ends (a quirk), and its path under the data folder, e.g.
 * "transactions/transactions_202402.csv"; 0 or -1 if too long. */
bool gen_crlf(int table, int m, bool quirks);
int gen_file_name(int table, int m, char *out, size_t outsz);

/* tables.c: stores, menu_items, payment_methods, vouchers. 0 or -1. */
int gen_write_tables(struct gen_ctx *ctx) __attribute__((warn_unused_result));

/* gen.c: everything; 0 or -1 (error already printed). */
int gen_run(struct gen_ctx *ctx) __attribute__((warn_unused_result));

#endif
