/*
 * edge.c - the catalogue of planted rows and edge_cases.json (see edge.h).
 *
 * Every planted row has a label; edge_cases.json lists the labels with the
 * transaction ids, what QUERIES.md decides for them, and the number of
 * malformed rows planted per table (= the expected rejected counts).
 */
#include "edge.h"

#include "fmt.h"
#include "rng.h"
#include "truth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct user_raw {
    int month;
    const char *label;
    char text[160];
};

struct edge_plan {
    struct edge_row *rows;
    size_t n, cap, pos;
    struct user_raw users[16];
    size_t n_users;
    struct rng rng;
};

enum amount {
    A_HIGH,
    A_75,
    A_74999,
    A_VOUCHER,
    A_TEXT75,
    A_TEXT76,
    A_SMALL
};

static int month_index(int y, int mo)
{
    return (y - 2023) * 12 + mo - 7;
}

static struct edge_row *add_row(struct edge_plan *p, enum edge_kind kind,
                                const char *label, int y, int mo, int d,
                                uint32_t sod)
{
    struct edge_row *r;

    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        struct edge_row *n = realloc(p->rows, cap * sizeof(*n));

        if (n == NULL)
            return NULL;
        p->rows = n;
        p->cap = cap;
    }
    r = &p->rows[p->n];
    memset(r, 0, sizeof(*r));
    r->month = month_index(y, mo);
    r->t = (uint32_t)(d - 1) * 86400u + sod;
    r->seq = (int)p->n;
    r->kind = kind;
    r->label = label;
    r->expect_q1 = -1;
    rng_uuid(&p->rng, r->tx.tid);
    r->tx.day = d;
    r->tx.sod = sod;
    r->tx.pay = 1 + (int)(p->n % 5);
    p->n++;
    return r;
}

static void set_line(struct gen_txn *tx, int i, int item, uint32_t qty)
{
    tx->lines[i].item = item;
    tx->lines[i].qty = qty;
    if (tx->nlines < i + 1)
        tx->nlines = i + 1;
}

static void set_amount(struct gen_txn *tx, enum amount a, int y, int mo, int d)
{
    switch (a) {
    case A_HIGH: /* 30 + 30 + 28.5 = 88.5 */
    case A_SMALL:
        set_line(tx, 0, 8, 3);
        set_line(tx, 1, 8, 3);
        set_line(tx, 2, 6, 3);
        if (a == A_SMALL) { /* 7.0 */
            tx->nlines = 1;
            set_line(tx, 0, 2, 1);
        }
        break;
    case A_75: /* 30 + 27 + 18 = 75.0 */
    case A_74999:
    case A_TEXT75:
        set_line(tx, 0, 8, 3);
        set_line(tx, 1, 7, 3);
        set_line(tx, 2, 1, 3);
        if (a == A_74999)
            tx->disc = 1;
        if (a == A_TEXT75)
            tx->final_text = "75";
        break;
    case A_TEXT76: /* 30 + 27 + 19 = 76.0 */
        set_line(tx, 0, 8, 3);
        set_line(tx, 1, 5, 3);
        set_line(tx, 2, 6, 2);
        tx->final_text = "076.000";
        break;
    case A_VOUCHER: /* 85.5 with 7% off = 79.515 */
        set_line(tx, 0, 8, 3);
        set_line(tx, 1, 6, 3);
        set_line(tx, 2, 7, 3);
        tx->voucher = gen_voucher_on(y, mo, d);
        tx->disc = tx->voucher ? gen_voucher_discount(tx->voucher, 85500) : 0;
        break;
    }
}

#define HMS(h, m, s) ((uint32_t)((h)*3600 + (m)*60 + (s)))

struct q1_case {
    const char *label;
    int y, mo, d;
    uint32_t sod;
    enum amount amount;
    int expect;
    bool quirk; /* planted only with --quirks */
};

static const struct q1_case q1_cases[] = {
    {"q1_in_0600_first_day_of_2024", 2024, 1, 1, HMS(6, 0, 0), A_HIGH, 1, 0},
    {"q1_out_year_2023", 2023, 12, 31, HMS(22, 0, 0), A_HIGH, 0, 0},
    {"q1_out_055959", 2024, 3, 5, HMS(5, 59, 59), A_HIGH, 0, 0},
    {"q1_in_2300", 2024, 3, 5, HMS(23, 0, 0), A_HIGH, 1, 0},
    {"q1_out_230001", 2024, 3, 5, HMS(23, 0, 1), A_HIGH, 0, 0},
    {"q1_in_amount_75.0", 2024, 4, 10, HMS(12, 0, 0), A_75, 1, 0},
    {"q1_out_amount_74.999", 2024, 4, 10, HMS(12, 0, 1), A_74999, 0, 0},
    {"q1_in_h1_last_225959", 2024, 6, 30, HMS(22, 59, 59), A_HIGH, 1, 0},
    {"q1_in_h1_last_2300", 2024, 6, 30, HMS(23, 0, 0), A_HIGH, 1, 0},
    {"q1_out_h2_first_055959", 2024, 7, 1, HMS(5, 59, 59), A_HIGH, 0, 0},
    {"q1_in_h2_first_0600", 2024, 7, 1, HMS(6, 0, 0), A_HIGH, 1, 0},
    {"q1_in_voucher_79.515", 2024, 7, 8, HMS(12, 0, 0), A_VOUCHER, 1, 0},
    {"q1_in_0600_first_day_of_2025", 2025, 1, 1, HMS(6, 0, 0), A_HIGH, 1, 0},
    {"q1_in_last_day_2300", 2025, 6, 30, HMS(23, 0, 0), A_HIGH, 1, 0},
    {"q1_out_last_day_230001", 2025, 6, 30, HMS(23, 0, 1), A_HIGH, 0, 0},
    {"q1_in_amount_text_75", 2024, 5, 5, HMS(10, 0, 0), A_TEXT75, 1, 1},
    {"q1_in_amount_text_076.000", 2024, 5, 5, HMS(10, 0, 1), A_TEXT76, 1, 1},
    {"q1_in_all_fields_quoted", 2024, 5, 5, HMS(10, 0, 2), A_HIGH, 1, 1},
};

/* Malformed transactions rows: field 0..8 replaced (or the row cut/grown).
 * The other fields name the tie store and tie user 12 with 88.5 in hours,
 * so a row wrongly accepted changes q1.csv and q4.csv. */
struct raw_case {
    const char *label;
    int field;       /* -1: drop the last field, -2: add a field */
    const char *bad; /* the field's text (as written, quotes included) */
};

static const struct raw_case tx_rejects[] = {
    {"tx_reject_8_fields", -1, NULL},
    {"tx_reject_10_fields", -2, NULL},
    {"tx_reject_store_alpha", 1, "abc"},
    {"tx_reject_store_float", 1, "10.0"},
    {"tx_reject_store_empty", 1, ""},
    {"tx_reject_store_signed", 1, "+10"},
    {"tx_reject_store_10_digits", 1, "0000000010"},
    {"tx_reject_amount_4_decimals", 7, "88.5000"},
    {"tx_reject_amount_alpha", 7, "eighty"},
    {"tx_reject_amount_signed", 7, "+88.5"},
    {"tx_reject_amount_trailing_dot", 7, "88."},
    {"tx_reject_amount_leading_dot", 7, ".5"},
    {"tx_reject_amount_comma", 7, "\"88,5\""},
    {"tx_reject_amount_exponent", 7, "8.85e1"},
    {"tx_reject_amount_empty", 7, ""},
    {"tx_reject_ts_feb_30", 8, "2024-02-30 12:00:00"},
    {"tx_reject_ts_hour_24", 8, "2024-02-10 24:00:00"},
    {"tx_reject_ts_T", 8, "2024-02-10T12:00:00"},
    {"tx_reject_ts_short_month", 8, "2024-2-10 12:00:00"},
    {"tx_reject_ts_fraction", 8, "2024-02-10 12:00:00.000"},
    {"tx_reject_ts_empty", 8, ""},
    {"tx_reject_uid_alpha", 4, "abc"},
    {"tx_reject_uid_fraction", 4, "12.5"},
    {"tx_reject_uid_two_zeros", 4, "12.00"},
    {"tx_reject_uid_signed", 4, "-12.0"},
    {"tx_reject_uid_space", 4, " 12.0"},
};

/* Malformed transaction_items rows: 5000 x Espresso = 30000.0 otherwise. */
static const struct raw_case item_rejects[] = {
    {"items_reject_5_fields", -1, NULL},
    {"items_reject_7_fields", -2, NULL},
    {"items_reject_item_alpha", 1, "x1"},
    {"items_reject_item_empty", 1, ""},
    {"items_reject_qty_fraction", 2, "2.5"},
    {"items_reject_qty_signed", 2, "-3"},
    {"items_reject_qty_empty", 2, ""},
    {"items_reject_subtotal_4_decimals", 4, "30000.0001"},
    {"items_reject_subtotal_alpha", 4, "ten"},
    {"items_reject_ts_month_13", 5, "2024-13-01 10:00:00"},
    {"items_reject_ts_minute_60", 5, "2024-03-10 12:60:00"},
    {"items_reject_ts_2025_02_29", 5, "2025-02-29 12:00:00"},
};

/* Joins fields into out, replacing/cutting/growing per rc. */
static void build_raw(char *out, size_t outsz, const char *const *fields,
                      int nfields, const struct raw_case *rc)
{
    size_t used = 0;
    int i, n = rc->field == -1 ? nfields - 1 : nfields;

    out[0] = '\0';
    for (i = 0; i < n && used < outsz; i++) {
        const char *f = i == rc->field ? rc->bad : fields[i];
        int w = snprintf(out + used, outsz - used, "%s%s", i ? "," : "", f);

        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (rc->field == -2 && used < outsz)
        snprintf(out + used, outsz - used, ",extra");
}

static int plant_rejects(struct edge_plan *p)
{
    size_t i;

    for (i = 0; i < sizeof(tx_rejects) / sizeof(tx_rejects[0]); i++) {
        uint32_t sod = HMS(12, 0, 0) + (uint32_t)i;
        struct edge_row *r =
            add_row(p, EK_RAW_TX, tx_rejects[i].label, 2024, 2, 10, sod);
        char ts[32];
        const char *f[9];

        if (r == NULL)
            return -1;
        snprintf(ts, sizeof(ts), "2024-02-10 12:%02u:%02u", sod / 60 % 60,
                 sod % 60);
        f[0] = r->tx.tid, f[1] = "10", f[2] = "1", f[3] = "", f[4] = "12.0";
        f[5] = "88.5", f[6] = "0.0", f[7] = "88.5", f[8] = ts;
        build_raw(r->raw, sizeof(r->raw), f, 9, &tx_rejects[i]);
    }
    for (i = 0; i < sizeof(item_rejects) / sizeof(item_rejects[0]); i++) {
        bool leap =
            strcmp(item_rejects[i].label, "items_reject_ts_2025_02_29") == 0;
        uint32_t sod = HMS(12, 0, 0) + (uint32_t)i;
        struct edge_row *r =
            leap ? add_row(p, EK_RAW_ITEM, item_rejects[i].label, 2025, 2, 28,
                           sod)
                 : add_row(p, EK_RAW_ITEM, item_rejects[i].label, 2024, 3, 10,
                           sod);
        char ts[32];
        const char *f[6];

        if (r == NULL)
            return -1;
        snprintf(ts, sizeof(ts), "2024-03-10 12:%02u:%02u", sod / 60 % 60,
                 sod % 60);
        f[0] = r->tx.tid, f[1] = "1", f[2] = "5000", f[3] = "6.0";
        f[4] = "30000.0", f[5] = ts;
        build_raw(r->raw, sizeof(r->raw), f, 6, &item_rejects[i]);
    }
    return 0;
}

static void plant_user_rejects(struct edge_plan *p, const struct gen_ctx *ctx)
{
    static const struct {
        const char *label, *id_prefix, *id_suffix, *birthdate, *tail;
        bool no_id;
    } cases[] = {
        /* the first one is the only row of edge_missing_uid(ctx, 1) */
        {"users_reject_birthdate_feb_30", "", "", "1990-02-30",
         ",2024-06-10 10:00:00", 0},
        {"users_reject_3_fields", "", "", "1990-01-01", "", 0},
        {"users_reject_5_fields", "", "", "1990-01-01",
         ",2024-06-10 10:00:01,x", 0},
        {"users_reject_id_alpha", "u", "", "1990-01-01", ",2024-06-10 10:00:02",
         0},
        {"users_reject_id_float", "", ".0", "1990-01-01",
         ",2024-06-10 10:00:03", 0},
        {"users_reject_id_empty", "", "", "1990-01-01", ",2024-06-10 10:00:04",
         1},
        {"users_reject_birthdate_2023_02_29", "", "", "2023-02-29",
         ",2024-06-10 10:00:05", 0},
        {"users_reject_birthdate_empty", "", "", "", ",2024-06-10 10:00:06", 0},
        {"users_reject_birthdate_slashes", "", "", "1990/01/01",
         ",2024-06-10 10:00:07", 0},
        {"users_reject_birthdate_timestamp", "", "", "1990-01-01 00:00:00",
         ",2024-06-10 10:00:08", 0},
    };
    uint32_t base = ctx->users_cum[GEN_MONTHS] + 100;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct user_raw *u = &p->users[p->n_users++];
        char id[16] = "";

        if (!cases[i].no_id)
            snprintf(id, sizeof(id), "%u",
                     i == 0 ? edge_missing_uid(ctx, 1) : base + (uint32_t)i);
        u->month = month_index(2024, 6);
        u->label = cases[i].label;
        snprintf(u->text, sizeof(u->text), "%s%s%s,%s,%s%s", cases[i].id_prefix,
                 id, cases[i].id_suffix, i % 2 ? "male" : "female",
                 cases[i].birthdate, cases[i].tail);
    }
}

/* Q4. Users 9..12 (the tie users; natural rows never name them) buy
 * EDGE_FIXED_PURCHASES times each at the tie store: user 9 first at
 * 2024-01-01 00:00:00, user 10 last at 2025-06-30 23:59:59 (both counted: no
 * hour filter); user 12 also at 2023-12-31 23:59:59 (not counted: 2023).
 * A top-up on 2025-06-30 after the natural rows brings all four to the same
 * count T, one more than any natural customer of the store: the top 3 are
 * 9, 10, 11 (smallest ids as numbers; as text "10" < "9"). Users
 * edge_missing_uid(0) and (1) buy at stores 4 and 6, topped up likewise, and
 * have no valid users row: they top those stores with an empty birthdate. */
#define EDGE_FIXED_PURCHASES 3u

static int plant_q4_topup(struct edge_plan *p, const char *label, int store,
                          uint32_t uid_first, uint32_t n_uids, uint32_t sod)
{
    struct edge_row *r = add_row(p, EK_Q4_TOPUP, label, 2025, 6, 30, sod);

    if (r == NULL)
        return -1;
    r->tx.store = store;
    r->tx.uid = uid_first;
    r->n_uids = n_uids;
    return 0;
}

static int plant_q4(struct edge_plan *p, const struct gen_ctx *ctx)
{
    struct edge_row *r;
    uint32_t u, k;

    for (u = EDGE_TIE_UID_FIRST; u <= EDGE_TIE_UID_LAST; u++)
        for (k = 0; k < EDGE_FIXED_PURCHASES; k++) {
            uint32_t i = u - EDGE_TIE_UID_FIRST;
            int m = 6 + (int)((k * 7 + i * 5) % 17), y, mo;
            int d = 1 + (int)((k * 11 + i * 3) % 28);
            uint32_t sod = HMS(12, 0, 0) + i * 60 + k;

            gen_month_ym(m, &y, &mo);
            if (k == 0 && u == EDGE_TIE_UID_FIRST)
                y = 2024, mo = 1, d = 1, sod = 0;
            if (k == 0 && u == EDGE_TIE_UID_FIRST + 1)
                y = 2025, mo = 6, d = 30, sod = HMS(23, 59, 59);
            r = add_row(p, EK_TXN, "q4_tie_purchase", y, mo, d, sod);
            if (r == NULL)
                return -1;
            set_amount(&r->tx, A_SMALL, y, mo, d);
            r->tx.store = EDGE_TIE_STORE;
            r->tx.uid = u;
            r->tx.uid_plain = ctx->o.quirks && k == 1;
        }
    r = add_row(p, EK_TXN, "q4_not_counted_2023", 2023, 12, 31,
                HMS(23, 59, 59));
    if (r == NULL)
        return -1;
    set_amount(&r->tx, A_SMALL, 2023, 12, 31);
    r->tx.store = EDGE_TIE_STORE;
    r->tx.uid = EDGE_TIE_UID_LAST;
    for (u = 0; u < 2; u++)
        for (k = 0; k < EDGE_FIXED_PURCHASES; k++) {
            int m = 6 + (int)((k * 5 + 3 + u) % 17), y, mo;
            int d = 1 + (int)((k * 13 + u) % 28);

            gen_month_ym(m, &y, &mo);
            r = add_row(p, EK_TXN, "q4_missing_user_purchase", y, mo, d,
                        HMS(15, 0, 0) + k);
            if (r == NULL)
                return -1;
            set_amount(&r->tx, A_SMALL, y, mo, d);
            r->tx.store = u ? 6 : 4;
            r->tx.uid = edge_missing_uid(ctx, (int)u);
        }
    if (plant_q4_topup(p, "q4_tie_topup", EDGE_TIE_STORE, EDGE_TIE_UID_FIRST,
                       EDGE_TIE_UID_LAST - EDGE_TIE_UID_FIRST + 1,
                       HMS(22, 30, 0)) != 0 ||
        plant_q4_topup(p, "q4_missing_user_topup", 4, edge_missing_uid(ctx, 0),
                       1, HMS(22, 40, 0)) != 0 ||
        plant_q4_topup(p, "q4_missing_user_topup", 6, edge_missing_uid(ctx, 1),
                       1, HMS(22, 45, 0)) != 0)
        return -1;
    return 0;
}

static int plant_q1_q2(struct edge_plan *p, const struct gen_ctx *ctx)
{
    struct edge_row *r;
    size_t i;

    for (i = 0; i < sizeof(q1_cases) / sizeof(q1_cases[0]); i++) {
        const struct q1_case *c = &q1_cases[i];

        if (c->quirk && !ctx->o.quirks)
            continue;
        r = add_row(p, EK_TXN, c->label, c->y, c->mo, c->d, c->sod);
        if (r == NULL)
            return -1;
        set_amount(&r->tx, c->amount, c->y, c->mo, c->d);
        r->tx.store = 1 + (int)(i % GEN_STORES);
        r->tx.quote_all = strcmp(c->label, "q1_in_all_fields_quoted") == 0;
        r->expect_q1 = c->expect;
    }
    /* Q2 month bounds: the last second of January goes to January (its
     * item is January's best seller so far), the first of February to
     * February; neither is in Q1 (hours). */
    r = add_row(p, EK_LEADER, "q2_month_last_second", 2024, 1, 31,
                HMS(23, 59, 59));
    if (r == NULL)
        return -1;
    set_line(&r->tx, 0, 1, 3);
    r->tx.store = 2;
    r->expect_q1 = 0;
    r = add_row(p, EK_TXN, "q2_month_first_second", 2024, 2, 1, 0);
    if (r == NULL)
        return -1;
    set_line(&r->tx, 0, 8, 3);
    r->tx.store = 3;
    r->expect_q1 = 0;
    /* the same at the half-year bound (amount 88.5: out of Q1 by hours) */
    r = add_row(p, EK_LEADER, "q2_h1_last_second", 2024, 6, 30,
                HMS(23, 59, 59));
    if (r == NULL)
        return -1;
    set_line(&r->tx, 0, 1, 3);
    r->tx.store = 4;
    r->expect_q1 = 0;
    r = add_row(p, EK_TXN, "q1_out_h2_first_second", 2024, 7, 1, 0);
    if (r == NULL)
        return -1;
    set_amount(&r->tx, A_HIGH, 2024, 7, 1);
    r->tx.store = 5;
    r->expect_q1 = 0;
    /* Q2 ties, planted after every natural row of the month */
    r = add_row(p, EK_TOPUP_QTY, "q2_tie_sellings_qty", 2024, 9, 30,
                HMS(22, 50, 0));
    if (r == NULL)
        return -1;
    r->tx.store = 1;
    r = add_row(p, EK_TOPUP_PROFIT, "q2_tie_profit_sum", EDGE_PROFIT_TIE_YEAR,
                EDGE_PROFIT_TIE_MONTH, 31, HMS(22, 50, 0));
    if (r == NULL)
        return -1;
    r->tx.store = 1;
    return 0;
}

static int row_cmp(const void *a, const void *b)
{
    const struct edge_row *x = a, *y = b;

    if (x->month != y->month)
        return x->month < y->month ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

struct edge_plan *edge_plan_create(const struct gen_ctx *ctx)
{
    struct edge_plan *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    rng_seed(&p->rng, ctx->o.seed, 0xed9e);
    if (!ctx->o.edges)
        return p;
    if (plant_q1_q2(p, ctx) != 0 || plant_q4(p, ctx) != 0 ||
        plant_rejects(p) != 0) {
        edge_plan_destroy(p);
        return NULL;
    }
    plant_user_rejects(p, ctx);
    qsort(p->rows, p->n, sizeof(*p->rows), row_cmp);
    return p;
}

void edge_plan_destroy(struct edge_plan *p)
{
    if (p == NULL)
        return;
    free(p->rows);
    free(p);
}

struct edge_row *edge_next(struct edge_plan *p, int m, uint32_t t)
{
    struct edge_row *r;

    if (p->pos >= p->n)
        return NULL;
    r = &p->rows[p->pos];
    if (r->month > m || (r->month == m && r->t > t))
        return NULL;
    p->pos++;
    return r;
}

uint32_t edge_pending(const struct edge_plan *p, int store, uint32_t uid)
{
    uint32_t n = 0;
    size_t i;

    for (i = p->pos; i < p->n; i++)
        if (p->rows[i].kind == EK_TXN && p->rows[i].tx.store == store &&
            p->rows[i].tx.uid == uid)
            n++;
    return n;
}

void edge_uuid(struct edge_plan *p, char out[37])
{
    rng_uuid(&p->rng, out);
}

const char *edge_user_row(const struct edge_plan *p, int m, size_t i)
{
    size_t j;

    for (j = 0; j < p->n_users; j++)
        if (p->users[j].month == m && i-- == 0)
            return p->users[j].text;
    return NULL;
}

uint32_t edge_missing_uid(const struct gen_ctx *ctx, int which)
{
    if (!ctx->o.edges)
        return 0;
    return ctx->users_cum[GEN_MONTHS] + (which ? 3u : 7u);
}

/* ---------------------------------------------------------- manifest */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", (unsigned)(unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static int64_t row_final(const struct gen_txn *tx)
{
    int64_t sum = 0;
    int i;

    for (i = 0; i < tx->nlines; i++)
        sum += (int64_t)tx->lines[i].qty * gen_item_price(tx->lines[i].item);
    return sum - tx->disc;
}

static void json_q1_cases(FILE *f, const struct edge_plan *p)
{
    const char *sep = "";
    size_t i;

    fprintf(f, "  \"q1_cases\": [");
    for (i = 0; i < p->n; i++) {
        const struct edge_row *r = &p->rows[i];
        char ts[32], amount[32];
        int y, mo;

        if (r->expect_q1 < 0 || !r->written)
            continue;
        gen_month_ym(r->month, &y, &mo);
        *fmt_ts(ts, y, mo, r->tx.day, r->tx.sod) = '\0';
        if (r->tx.final_text)
            snprintf(amount, sizeof(amount), "%s", r->tx.final_text);
        else
            *fmt_money(amount, row_final(&r->tx)) = '\0';
        fprintf(f, "%s\n    {\"label\": ", sep);
        json_str(f, r->label);
        fprintf(f,
                ", \"transaction_id\": \"%s\", \"created_at\": \"%s\", "
                "\"final_amount\": \"%s\", \"in_q1\": %s}",
                r->tx.tid, ts, amount, r->expect_q1 ? "true" : "false");
        sep = ",";
    }
    fprintf(f, "\n  ],\n");
}

static void json_q2_ties(FILE *f, const struct edge_plan *p)
{
    const char *sep = "";
    size_t i;

    fprintf(f, "  \"q2_ties\": [");
    for (i = 0; i < p->n; i++) {
        const struct edge_row *r = &p->rows[i];
        bool profit = r->kind == EK_TOPUP_PROFIT;
        int y, mo, a = r->tie_items[0], b = r->tie_items[1];
        char value[32];

        if ((r->kind != EK_TOPUP_QTY && !profit) || a == 0)
            continue;
        gen_month_ym(r->month, &y, &mo);
        if (profit)
            *fmt_money2(value, r->tie_value) = '\0';
        else
            *fmt_u64(value, (uint64_t)r->tie_value) = '\0';
        fprintf(f,
                "%s\n    {\"label\": \"%s\", \"month\": \"%04d-%02d\", "
                "\"file\": \"%s\", \"items\": [%d, %d], \"winner\": \"%s\", "
                "\"value\": \"%s\"}",
                sep, r->label, y, mo,
                profit ? "q2_most_profitable.csv" : "q2_best_selling.csv", a, b,
                gen_item_name(a < b ? a : b), value);
        sep = ",";
    }
    fprintf(f, "\n  ],\n");
}

static int64_t topup_count(const struct edge_plan *p, int store)
{
    size_t i;

    for (i = 0; i < p->n; i++)
        if (p->rows[i].kind == EK_Q4_TOPUP && p->rows[i].tx.store == store)
            return p->rows[i].tie_value;
    return 0;
}

static void json_q4(FILE *f, const struct gen_ctx *ctx)
{
    const struct edge_plan *p = ctx->plan;
    char bd[16];
    uint32_t u;
    int i;

    fprintf(f, "  \"q4\": {\"tie_store_id\": %d, \"tie_store_name\": ",
            EDGE_TIE_STORE);
    json_str(f, gen_store_name(EDGE_TIE_STORE, ctx->o.quirks));
    fprintf(f,
            ", \"tie_users\": [%u, %u, %u, %u], \"purchases\": %lld,\n"
            "    \"top3\": [",
            EDGE_TIE_UID_FIRST, EDGE_TIE_UID_FIRST + 1, EDGE_TIE_UID_FIRST + 2,
            EDGE_TIE_UID_LAST, (long long)topup_count(p, EDGE_TIE_STORE));
    for (u = EDGE_TIE_UID_FIRST; u < EDGE_TIE_UID_FIRST + 3; u++) {
        truth_birthdate(ctx->truth, u, bd);
        fprintf(f, "%s{\"user_id\": %u, \"birthdate\": \"%s\"}",
                u > EDGE_TIE_UID_FIRST ? ", " : "", u, bd);
    }
    fprintf(f, "],\n    \"missing_users\": [");
    for (i = 0; i < 2; i++) {
        int store = i ? 6 : 4;

        fprintf(f,
                "%s\n      {\"user_id\": %u, \"store_id\": %d, "
                "\"store_name\": ",
                i ? "," : "", edge_missing_uid(ctx, i), store);
        json_str(f, gen_store_name(store, ctx->o.quirks));
        fprintf(f, ", \"purchases\": %lld, \"why\": \"%s\"}",
                (long long)topup_count(p, store),
                i ? "only a malformed users row" : "no users row");
    }
    fprintf(f, "\n    ]},\n");
}

static void json_rejects(FILE *f, const struct edge_plan *p)
{
    const char *sep = "";
    size_t i;

    fprintf(f, "  \"reject_rows\": [");
    for (i = 0; i < p->n; i++) {
        const struct edge_row *r = &p->rows[i];

        if (r->kind != EK_RAW_TX && r->kind != EK_RAW_ITEM)
            continue;
        fprintf(f,
                "%s\n    {\"table\": \"%s\", \"label\": \"%s\", \"row\": ", sep,
                r->kind == EK_RAW_TX ? "transactions" : "transaction_items",
                r->label);
        json_str(f, r->raw);
        fputc('}', f);
        sep = ",";
    }
    for (i = 0; i < p->n_users; i++) {
        fprintf(f,
                "%s\n    {\"table\": \"users\", \"label\": \"%s\", \"row\": ",
                sep, p->users[i].label);
        json_str(f, p->users[i].text);
        fputc('}', f);
        sep = ",";
    }
    fprintf(f, "\n  ],\n");
}

static void json_quirks(FILE *f, const struct gen_ctx *ctx)
{
    const char *sep = "";
    int t, m;

    fprintf(f, "  \"crlf_files\": [");
    for (t = 0; t < GT_COUNT; t++)
        for (m = 0; m < GEN_MONTHS; m++) {
            char name[64];

            if (!gen_crlf(t, m, ctx->o.quirks) ||
                gen_file_name(t, m, name, sizeof(name)) != 0)
                continue;
            fprintf(f, "%s\"%s\"", sep, name);
            sep = ", ";
        }
    fprintf(f, "],\n  \"quoted_store\": {\"store_id\": %d, \"store_name\": ",
            GEN_STORES);
    json_str(f, gen_store_name(GEN_STORES, ctx->o.quirks));
    fprintf(f, "}\n");
}

int edge_write_manifest(const struct gen_ctx *ctx)
{
    const struct edge_plan *p = ctx->plan;
    const uint64_t *rj = ctx->rejects;
    char path[4096];
    FILE *f;
    int bad;

    snprintf(path, sizeof(path), "%s/edge_cases.json", ctx->o.out);
    f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "gen-dataset: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "{\n  \"seed\": %llu,\n  \"scale\": ",
            (unsigned long long)ctx->o.seed);
    json_str(f, ctx->o.scale_text);
    fprintf(f, ",\n  \"edge_cases\": %s,\n  \"quirks\": %s,\n",
            ctx->o.edges ? "true" : "false", ctx->o.quirks ? "true" : "false");
    fprintf(f,
            "  \"rejected\": {\"transactions\": %llu, \"transaction_items\": "
            "%llu, \"users\": %llu, \"stores\": %llu, \"menu_items\": %llu},\n",
            (unsigned long long)rj[GT_TX], (unsigned long long)rj[GT_ITEMS],
            (unsigned long long)rj[GT_USERS], (unsigned long long)rj[GT_STORES],
            (unsigned long long)rj[GT_MENU]);
    json_q1_cases(f, p);
    json_q2_ties(f, p);
    if (ctx->o.edges)
        json_q4(f, ctx);
    json_rejects(f, p);
    json_quirks(f, ctx);
    fprintf(f, "}\n");
    bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "gen-dataset: %s: write failed\n", path);
        return -1;
    }
    return 0;
}
