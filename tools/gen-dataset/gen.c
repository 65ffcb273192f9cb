/*
 * gen.c - the monthly tables: users, transactions, transaction_items.
 *
 * Model (DATASET.md): about 20,000 transactions a day at scale 1, spread
 * uniformly over [07:00, 22:00) and written in time order; 1-3 item lines
 * each, items and quantities (1-3) uniform, so ~1% of transactions reach 75.
 * Store and payment method uniform. On voucher days a quarter of the
 * transactions use the day's voucher. 4% carry a user registered before the
 * transaction: half of them a uniform pick among all registered users, half
 * among the first `loyal` users (this gives the real data's 7-9 purchases
 * for a store's top customers). Users register in a month-by-month growing
 * stream. Every month has its own PRNG streams, so months are independent.
 */
#include "gen.h"
#include "clock.h"

#include "edge.h"
#include "fmt.h"
#include "log.h"
#include "rng.h"
#include "truth.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TX_PER_DAY 20000.0
#define USER_RATE_PERMILLE 40u
#define VOUCHER_PERCENT 25u
#define LOYAL_POOL 22000.0

/* New users per registration month at scale 1: the real 2023-07 .. 2024-03
 * figures, then +1000 a month. */
static const uint32_t users_base[9] = {580,  938,   1601,  2655, 4340,
                                       7109, 11576, 17099, 28320};

struct month {
    int m, y, mo, days;
    struct gen_file tx, items;
    struct rng rng;
    uint32_t *reg_t; /* registration times of this month's users, sorted */
    uint32_t n_reg, reg_pos;
    bool profit_tie; /* the month of the planted Q2 profit tie */
};

static void plan_sizes(struct gen_ctx *ctx)
{
    double s = ctx->o.scale, l;
    int m;

    ctx->users_cum[0] = 0;
    for (m = 0; m < GEN_MONTHS; m++) {
        double base = m < 9 ? users_base[m] : 28320.0 + 1000.0 * (m - 8);
        double n = floor(base * s + 0.5);

        ctx->users_new[m] = n < 2 ? 2 : (uint32_t)n;
        ctx->users_cum[m + 1] = ctx->users_cum[m] + ctx->users_new[m];
    }
    l = floor(LOYAL_POOL * s + 0.5);
    ctx->loyal = l < 1 ? 1 : (uint32_t)l;
    ctx->uid_slots = ctx->users_cum[GEN_MONTHS] + 16;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

static int open_month_file(struct gen_ctx *ctx, struct gen_file *f, int table,
                           int m, const char *header)
{
    char name[128], dir[4096];
    const char *slash;

    if (gen_file_name(table, m, name, sizeof(name)) != 0)
        return -1;
    slash = strchr(name, '/');
    snprintf(dir, sizeof(dir), "%s/%.*s", ctx->o.out, (int)(slash - name),
             name);
    if (gf_open(f, dir, slash + 1, gen_crlf(table, m, ctx->o.quirks)) != 0) {
        fprintf(stderr, "gen-dataset: %s/%s: %s\n", dir, slash + 1,
                strerror(errno));
        return -1;
    }
    gf_line(f, header, strlen(header));
    return 0;
}

static int close_month_file(struct gen_ctx *ctx, struct gen_file *f, int table)
{
    ctx->bytes[table] += f->bytes;
    if (gf_close(f) != 0) {
        fprintf(stderr, "gen-dataset: %s: write failed\n", f->path);
        return -1;
    }
    return 0;
}

/* Writes users_YYYYMM.csv and fills mo->reg_t. */
static int write_users(struct gen_ctx *ctx, struct month *mo)
{
    struct gen_file f;
    struct rng r;
    uint32_t i, n = ctx->users_new[mo->m];
    char line[128], *p;
    const char *raw;
    size_t k;

    rng_seed(&r, ctx->o.seed, 2000u + (uint64_t)mo->m);
    for (i = 0; i < n; i++)
        mo->reg_t[i] = rng_below(&r, (uint32_t)mo->days) * 86400u +
                       GEN_OPEN_SOD + rng_below(&r, GEN_OPEN_SECS);
    qsort(mo->reg_t, n, sizeof(*mo->reg_t), cmp_u32);
    mo->n_reg = n;
    mo->reg_pos = 0;
    if (open_month_file(ctx, &f, GT_USERS, mo->m,
                        "user_id,gender,birthdate,registered_at") != 0)
        return -1;
    for (i = 0; i < n; i++) {
        uint32_t uid = ctx->users_cum[mo->m] + 1 + i, t = mo->reg_t[i];
        int by = 1960 + (int)rng_below(&r, 50), bm = 1 + (int)rng_below(&r, 12);
        int bd = 1 + (int)rng_below(&r, (uint32_t)gen_days_in_month(by, bm));

        p = fmt_u64(line, uid);
        p = fmt_str(p, rng_below(&r, 2) ? ",male," : ",female,");
        p = fmt_date(p, by, bm, bd);
        *p++ = ',';
        p = fmt_ts(p, mo->y, mo->mo, (int)(t / 86400u) + 1, t % 86400u);
        gf_line(&f, line, (size_t)(p - line));
        truth_user(ctx->truth, uid, by, bm, bd);
        ctx->rows[GT_USERS]++;
    }
    for (k = 0; (raw = edge_user_row(ctx->plan, mo->m, k)) != NULL; k++) {
        gf_line(&f, raw, strlen(raw));
        ctx->rejects[GT_USERS]++;
    }
    if (ctx->o.quirks && mo->m == 5)
        gf_raw(&f, f.eol, strlen(f.eol)); /* a blank line: not a row */
    return close_month_file(ctx, &f, GT_USERS);
}

/* Rewrites a line of plain fields (no commas inside) with every field
 * enclosed in double quotes; returns the new length. */
static size_t quote_fields(char *line, size_t len, size_t cap)
{
    char tmp[1024];
    size_t i, o = 0;

    if (2 * len + 2 > sizeof(tmp) || 2 * len + 2 > cap)
        return len;
    tmp[o++] = '"';
    for (i = 0; i < len; i++) {
        if (line[i] == ',') {
            tmp[o++] = '"';
            tmp[o++] = ',';
            tmp[o++] = '"';
        } else {
            tmp[o++] = line[i];
        }
    }
    tmp[o++] = '"';
    memcpy(line, tmp, o);
    return o;
}

/* Writes a valid transaction and its item lines, and reports them. */
static int emit_txn(struct gen_ctx *ctx, struct month *mo,
                    const struct gen_txn *tx)
{
    char line[1024], ts[20], *p;
    int64_t orig = 0, final;
    int i;

    for (i = 0; i < tx->nlines; i++)
        orig += (int64_t)tx->lines[i].qty * gen_item_price(tx->lines[i].item);
    final = orig - tx->disc;
    fmt_ts(ts, mo->y, mo->mo, tx->day, tx->sod);

    p = fmt_str(line, tx->tid);
    *p++ = ',';
    p = fmt_u64(p, (uint64_t)tx->store);
    *p++ = ',';
    p = fmt_u64(p, (uint64_t)tx->pay);
    *p++ = ',';
    if (tx->voucher)
        p = fmt_u64(p, (uint64_t)tx->voucher);
    *p++ = ',';
    if (tx->uid) {
        p = fmt_u64(p, tx->uid);
        if (!tx->uid_plain)
            p = fmt_str(p, ".0");
    }
    *p++ = ',';
    p = fmt_money(p, orig);
    *p++ = ',';
    p = fmt_money(p, tx->disc);
    *p++ = ',';
    p = tx->final_text ? fmt_str(p, tx->final_text) : fmt_money(p, final);
    *p++ = ',';
    memcpy(p, ts, sizeof(ts) - 1);
    p += sizeof(ts) - 1;
    if (tx->quote_all)
        gf_line(&mo->tx, line,
                quote_fields(line, (size_t)(p - line), sizeof(line)));
    else
        gf_line(&mo->tx, line, (size_t)(p - line));
    ctx->rows[GT_TX]++;
    if (truth_txn(ctx->truth, tx->tid, tx->store, final, tx->uid, mo->y, mo->mo,
                  tx->sod) != 0) {
        fprintf(stderr, "gen-dataset: out of memory\n");
        return -1;
    }

    for (i = 0; i < tx->nlines; i++) {
        const struct gen_line *l = &tx->lines[i];
        int64_t price = gen_item_price(l->item);

        p = fmt_str(line, tx->tid);
        *p++ = ',';
        p = fmt_u64(p, (uint64_t)l->item);
        *p++ = ',';
        p = fmt_u64(p, l->qty);
        *p++ = ',';
        p = fmt_money(p, price);
        *p++ = ',';
        p = fmt_money(p, price * l->qty);
        *p++ = ',';
        memcpy(p, ts, sizeof(ts) - 1);
        p += sizeof(ts) - 1;
        gf_line(&mo->items, line, (size_t)(p - line));
        ctx->rows[GT_ITEMS]++;
        truth_item(ctx->truth, l->item, l->qty, price * l->qty, mo->y, mo->mo);
    }
    return 0;
}

/* The best item of this month so far (ties: smaller id). */
static int best_of(const int64_t v[GEN_ITEMS + 1])
{
    int best = 1, i;

    for (i = 2; i <= GEN_ITEMS; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

/* Lines that make item j tie with the quantity leader L (j < L when L > 1,
 * so the tie-break decides). */
static void topup_qty(struct gen_ctx *ctx, struct month *mo, struct edge_row *r)
{
    int64_t qty[GEN_ITEMS + 1], sub[GEN_ITEMS + 1];
    int lead, j;

    if (!truth_month(ctx->truth, mo->y, mo->mo, qty, sub))
        return;
    lead = best_of(qty);
    j = lead > 1 ? lead - 1 : 2;
    r->tie_items[0] = j;
    r->tie_items[1] = lead;
    r->tie_value = qty[lead];
    r->tx.nlines = 0;
    if (qty[lead] > qty[j]) {
        r->tx.lines[0].item = j;
        r->tx.lines[0].qty = (uint32_t)(qty[lead] - qty[j]);
        r->tx.nlines = 1;
    }
}

/* Lines that make an item k tie with the subtotal leader P: a units of k
 * and b of P with sub[k] + a*price(k) == sub[P] + b*price(P), for the k
 * needing the fewest units. (In that month natural rows move 5% of the
 * Matcha Latte lines to other items, so Mocha and Matcha Latte end close.) */
static void topup_profit(struct gen_ctx *ctx, struct month *mo,
                         struct edge_row *r)
{
    int64_t qty[GEN_ITEMS + 1], sub[GEN_ITEMS + 1], best_a = 0, best_b = 0;
    int lead, k, best_k = 0;

    if (!truth_month(ctx->truth, mo->y, mo->mo, qty, sub))
        return;
    lead = best_of(sub);
    for (k = 1; k <= GEN_ITEMS; k++) {
        int64_t pk = gen_item_price(k), pl = gen_item_price(lead), a, a0;

        if (k == lead)
            continue;
        a0 = (sub[lead] - sub[k] + pk - 1) / pk;
        for (a = a0; a < a0 + 1000; a++) {
            int64_t rem = sub[k] + a * pk - sub[lead];

            if (rem % pl != 0)
                continue;
            if (best_k == 0 || a + rem / pl < best_a + best_b) {
                best_k = k;
                best_a = a;
                best_b = rem / pl;
            }
            break;
        }
    }
    r->tx.nlines = 0;
    if (best_k == 0)
        return;
    r->tie_items[0] = best_k;
    r->tie_items[1] = lead;
    r->tie_value = sub[best_k] + best_a * gen_item_price(best_k);
    if (best_a > 0) {
        r->tx.lines[r->tx.nlines].item = best_k;
        r->tx.lines[r->tx.nlines++].qty = (uint32_t)best_a;
    }
    if (best_b > 0) {
        r->tx.lines[r->tx.nlines].item = lead;
        r->tx.lines[r->tx.nlines++].qty = (uint32_t)best_b;
    }
}

/* Purchases that bring r->n_uids users (ids from r->tx.uid on) at
 * r->tx.store to T = one more than the store's best natural customer (at
 * least EDGE_MIN_TOP), counting the planted rows still to come. */
#define EDGE_MIN_TOP 4u

static int topup_q4(struct gen_ctx *ctx, struct month *mo, struct edge_row *r)
{
    uint32_t target, u, k, have;
    struct gen_txn tx = r->tx;

    target =
        truth_store_max(ctx->truth, r->tx.store, ctx->users_cum[GEN_MONTHS],
                        EDGE_TIE_UID_FIRST, EDGE_TIE_UID_LAST) +
        1;
    if (target < EDGE_MIN_TOP)
        target = EDGE_MIN_TOP;
    r->tie_value = target;
    tx.nlines = 1;
    tx.lines[0].item = 2;
    tx.lines[0].qty = 1;
    for (u = 0; u < r->n_uids; u++) {
        tx.uid = r->tx.uid + u;
        have = truth_purchases(ctx->truth, tx.uid, tx.store) +
               edge_pending(ctx->plan, tx.store, tx.uid);
        for (k = have; k < target; k++) {
            edge_uuid(ctx->plan, tx.tid);
            if (emit_txn(ctx, mo, &tx) != 0)
                return -1;
            tx.sod++;
        }
    }
    return 0;
}

static int emit_planted(struct gen_ctx *ctx, struct month *mo,
                        struct edge_row *r)
{
    int64_t qty[GEN_ITEMS + 1], sub[GEN_ITEMS + 1];

    r->written = true;
    switch (r->kind) {
    case EK_RAW_TX:
        gf_line(&mo->tx, r->raw, strlen(r->raw));
        ctx->rejects[GT_TX]++;
        return 0;
    case EK_RAW_ITEM:
        gf_line(&mo->items, r->raw, strlen(r->raw));
        ctx->rejects[GT_ITEMS]++;
        return 0;
    case EK_LEADER:
        if (truth_month(ctx->truth, mo->y, mo->mo, qty, sub))
            r->tx.lines[0].item = best_of(qty);
        break;
    case EK_TOPUP_QTY:
        topup_qty(ctx, mo, r);
        break;
    case EK_TOPUP_PROFIT:
        topup_profit(ctx, mo, r);
        break;
    case EK_Q4_TOPUP:
        return topup_q4(ctx, mo, r);
    case EK_TXN:
        break;
    }
    if (r->tx.nlines == 0)
        return 0; /* a tie that needed no row */
    return emit_txn(ctx, mo, &r->tx);
}

static int flush_planted(struct gen_ctx *ctx, struct month *mo, uint32_t t)
{
    struct edge_row *r;

    while ((r = edge_next(ctx->plan, mo->m, t)) != NULL)
        if (emit_planted(ctx, mo, r) != 0)
            return -1;
    return 0;
}

/* A natural transaction at time t (seconds since the month's start). */
static void natural_txn(struct gen_ctx *ctx, struct month *mo, uint32_t t,
                        int voucher, struct gen_txn *tx)
{
    struct rng *r = &mo->rng;
    uint32_t regd;
    int i;

    memset(tx, 0, sizeof(*tx));
    tx->day = (int)(t / 86400u) + 1;
    tx->sod = t % 86400u;
    tx->store = 1 + (int)rng_below(r, GEN_STORES);
    tx->pay = 1 + (int)rng_below(r, 5);
    tx->nlines = 1 + (int)rng_below(r, 3);
    for (i = 0; i < tx->nlines; i++) {
        static const int others[6] = {1, 2, 3, 4, 5, 7};

        tx->lines[i].item = 1 + (int)rng_below(r, GEN_ITEMS);
        tx->lines[i].qty = 1 + rng_below(r, 3);
        /* see topup_profit() */
        if (tx->lines[i].item == 8 && mo->profit_tie && rng_below(r, 20) == 0)
            tx->lines[i].item = others[rng_below(r, 6)];
    }
    while (mo->reg_pos < mo->n_reg && mo->reg_t[mo->reg_pos] < t)
        mo->reg_pos++;
    regd = ctx->users_cum[mo->m] + mo->reg_pos;
    if (rng_below(r, 1000) < USER_RATE_PERMILLE && regd > 0) {
        uint32_t pool = regd;

        if (rng_below(r, 2) == 0 && ctx->loyal < regd)
            pool = ctx->loyal;
        tx->uid = 1 + rng_below(r, pool);
        if (tx->uid >= EDGE_TIE_UID_FIRST && tx->uid <= EDGE_TIE_UID_LAST)
            tx->uid -= 4; /* the tie users buy only in planted rows */
    }
    if (voucher && rng_below(r, 100) < VOUCHER_PERCENT) {
        int64_t orig = 0;

        for (i = 0; i < tx->nlines; i++)
            orig +=
                (int64_t)tx->lines[i].qty * gen_item_price(tx->lines[i].item);
        tx->voucher = voucher;
        tx->disc = gen_voucher_discount(voucher, orig);
    }
    rng_uuid(r, tx->tid);
}

static int month_body(struct gen_ctx *ctx, struct month *mo, uint32_t *hist)
{
    uint64_t n = (uint64_t)llround(TX_PER_DAY * ctx->o.scale * mo->days);
    struct gen_txn tx;
    int d;

    rng_seed(&mo->rng, ctx->o.seed, 1000u + (uint64_t)mo->m);
    for (d = 1; d <= mo->days; d++) {
        uint64_t nd = n * (uint64_t)d / (uint64_t)mo->days -
                      n * (uint64_t)(d - 1) / (uint64_t)mo->days;
        int voucher = gen_voucher_on(mo->y, mo->mo, d);
        uint32_t s, c;
        uint64_t i;

        memset(hist, 0, (size_t)GEN_OPEN_SECS * sizeof(*hist));
        for (i = 0; i < nd; i++)
            hist[rng_below(&mo->rng, GEN_OPEN_SECS)]++;
        for (s = 0; s < GEN_OPEN_SECS; s++)
            for (c = 0; c < hist[s]; c++) {
                uint32_t t = (uint32_t)(d - 1) * 86400u + GEN_OPEN_SOD + s;

                if (flush_planted(ctx, mo, t) != 0)
                    return -1;
                natural_txn(ctx, mo, t, voucher, &tx);
                if (emit_txn(ctx, mo, &tx) != 0)
                    return -1;
            }
    }
    return flush_planted(ctx, mo, UINT32_MAX);
}

static int gen_month(struct gen_ctx *ctx, int m, uint32_t *hist,
                     uint32_t *reg_t)
{
    struct month mo;
    uint64_t tx0 = ctx->rows[GT_TX], it0 = ctx->rows[GT_ITEMS];
    int rc;

    memset(&mo, 0, sizeof(mo));
    mo.m = m;
    gen_month_ym(m, &mo.y, &mo.mo);
    mo.days = gen_days_in_month(mo.y, mo.mo);
    mo.reg_t = reg_t;
    mo.profit_tie = ctx->o.edges && mo.y == EDGE_PROFIT_TIE_YEAR &&
                    mo.mo == EDGE_PROFIT_TIE_MONTH;
    if (write_users(ctx, &mo) != 0)
        return -1;
    if (open_month_file(ctx, &mo.tx, GT_TX, m,
                        "transaction_id,store_id,payment_method_id,voucher_id,"
                        "user_id,original_amount,discount_applied,final_amount,"
                        "created_at") != 0)
        return -1;
    if (open_month_file(ctx, &mo.items, GT_ITEMS, m,
                        "transaction_id,item_id,quantity,unit_price,subtotal,"
                        "created_at") != 0) {
        if (gf_close(&mo.tx) != 0)
            fprintf(stderr, "gen-dataset: %s: write failed\n", mo.tx.path);
        return -1;
    }
    rc = month_body(ctx, &mo, hist);
    if (close_month_file(ctx, &mo.tx, GT_TX) != 0)
        rc = -1;
    if (close_month_file(ctx, &mo.items, GT_ITEMS) != 0)
        rc = -1;
    if (rc == 0 && !ctx->o.quiet)
        log_info("month %04d-%02d transactions=%llu items=%llu users=%u "
                 "elapsed=%.1fs",
                 mo.y, mo.mo, (unsigned long long)(ctx->rows[GT_TX] - tx0),
                 (unsigned long long)(ctx->rows[GT_ITEMS] - it0),
                 ctx->users_new[m], clock_mono_s() - ctx->t0);
    return rc;
}

int gen_run(struct gen_ctx *ctx)
{
    uint32_t *hist = NULL, *reg_t = NULL, max_new = 0;
    int m, rc = -1;

    ctx->t0 = clock_mono_s();
    plan_sizes(ctx);
    for (m = 0; m < GEN_MONTHS; m++)
        if (ctx->users_new[m] > max_new)
            max_new = ctx->users_new[m];
    ctx->truth = truth_create(ctx->uid_slots);
    ctx->plan = edge_plan_create(ctx);
    hist = malloc((size_t)GEN_OPEN_SECS * sizeof(*hist));
    reg_t = malloc((size_t)max_new * sizeof(*reg_t));
    if (ctx->truth == NULL || ctx->plan == NULL || hist == NULL ||
        reg_t == NULL) {
        fprintf(stderr, "gen-dataset: out of memory\n");
        goto out_free;
    }
    if (gen_mkdirs(ctx->o.out) != 0) {
        fprintf(stderr, "gen-dataset: %s: %s\n", ctx->o.out, strerror(errno));
        goto out_free;
    }
    if (gen_write_tables(ctx) != 0)
        goto out_free;
    for (m = 0; m < GEN_MONTHS; m++)
        if (gen_month(ctx, m, hist, reg_t) != 0)
            goto out_free;
    if (edge_write_manifest(ctx) != 0)
        goto out_free;
    if (ctx->o.truth_dir && ctx->o.truth_dir[0] &&
        truth_write(ctx->truth, ctx->o.truth_dir, ctx->o.quirks,
                    ctx->rejects) != 0)
        goto out_free;
    rc = 0;
out_free:
    free(hist);
    free(reg_t);
    edge_plan_destroy(ctx->plan);
    ctx->plan = NULL;
    truth_destroy(ctx->truth);
    ctx->truth = NULL;
    return rc;
}
