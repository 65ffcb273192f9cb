/*
 * tables.c - the fixed tables (stores, menu_items, payment_methods,
 * vouchers) as in the real data set, the calendar, prices and vouchers.
 */
#include "gen.h"

#include "fmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct store_info {
    const char *name, *street, *postal, *city, *state, *lat, *lon;
};

static const struct store_info stores[GEN_STORES] = {
    {"G Coffee @ USJ 89q", "Jalan Dewan Bahasa 5/9", "50998", "USJ 89q",
     "Kuala Lumpur", "3.117134", "101.615027"},
    {"G Coffee @ Kondominium Putra", "Jln Yew 6X", "63826", "Kondominium Putra",
     "Selangor Darul Ehsan", "2.959571", "101.51772"},
    {"G Coffee @ USJ 57W", "Jalan Bukit Petaling 5/16C", "62094", "USJ 57W",
     "Putrajaya", "2.951038", "101.663698"},
    {"G Coffee @ Kampung Changkat", "Jln 6/6A", "62941", "Kampung Changkat",
     "Putrajaya", "2.914594", "101.704486"},
    {"G Coffee @ Seksyen 21", "Jalan Anson 4k", "62595", "Seksyen 21",
     "Putrajaya", "2.937599", "101.698478"},
    {"G Coffee @ Alam Tun Hussein Onn", "Jln Pasar Besar 63s", "63518",
     "Alam Tun Hussein Onn", "Selangor Darul Ehsan", "3.279175", "101.784923"},
    {"G Coffee @ Damansara Saujana", "Jln 8/74", "65438", "Damansara Saujana",
     "Selangor Darul Ehsan", "3.22081", "101.58459"},
    {"G Coffee @ Bandar Seri Mulia", "Jalan Wisma Putra", "58621",
     "Bandar Seri Mulia", "Kuala Lumpur", "3.140674", "101.706562"},
    {"G Coffee @ PJS8", "Jalan 7/3o", "62418", "PJS8", "Putrajaya", "2.952444",
     "101.702623"},
    {"G Coffee @ Taman Damansara", "Jln 2", "67102", "Taman Damansara",
     "Selangor Darul Ehsan", "3.497178", "101.595271"},
};

/* With quirks, store 10's name holds a comma (so it is quoted). */
static const char quirk_store10[] = "G Coffee @ Taman Damansara, PJ";

struct item_info {
    const char *name, *category, *price;
    int64_t price_th;
};

static const struct item_info items[GEN_ITEMS] = {
    {"Espresso", "coffee", "6.0", 6000},
    {"Americano", "coffee", "7.0", 7000},
    {"Latte", "coffee", "8.0", 8000},
    {"Cappuccino", "coffee", "8.0", 8000},
    {"Flat White", "coffee", "9.0", 9000},
    {"Mocha", "coffee", "9.5", 9500},
    {"Hot Chocolate", "non-coffee", "9.0", 9000},
    {"Matcha Latte", "non-coffee", "10.0", 10000},
};

struct voucher_info {
    const char *code, *type;
    int value;    /* percent, or fixed amount in units */
    int from, to; /* yyyymmdd */
};

static const struct voucher_info vouchers[] = {
    {"SALES77", "percentage", 7, 20230707, 20230709},
    {"SALES88", "percentage", 8, 20230808, 20230810},
    {"SALES99", "percentage", 9, 20230909, 20230911},
    {"SALES10", "percentage", 10, 20231010, 20231012},
    {"SALES11", "percentage", 11, 20231111, 20231113},
    {"MERDEKA", "fixed", 5, 20230831, 20230902},
    {"SALES66", "percentage", 6, 20240606, 20240608},
    {"SALES77", "percentage", 7, 20240707, 20240709},
    {"SALES88", "percentage", 8, 20240808, 20240810},
    {"SALES99", "percentage", 9, 20240909, 20240911},
    {"SALES10", "percentage", 10, 20241010, 20241012},
    {"SALES11", "percentage", 11, 20241111, 20241113},
    {"MERDEKA", "fixed", 5, 20240831, 20240902},
    {"SALES50", "percentage", 50, 20240501, 20240501},
    {"SALES66", "percentage", 6, 20250606, 20250608},
    {"SALES50", "percentage", 50, 20250501, 20250501},
};
#define N_VOUCHERS ((int)(sizeof(vouchers) / sizeof(vouchers[0])))

static const char *const payment_rows[] = {
    "1,cash,cash",   "2,credit_card,card", "3,debit_card,card",
    "4,tng,ewallet", "5,grabpay,ewallet",
};

/* Malformed rows planted with the edge cases (each one is rejected). */
static const char *const store_rejects[] = {
    "11,G Coffee @ Closed Branch", /* 2 fields */
    "x12,G Coffee @ Nowhere,Jalan 1,50000,Nowhere,Kuala Lumpur,3.1,101.6",
    "13.0,G Coffee @ Float Id,Jalan 2,50000,Float,Kuala Lumpur,3.1,101.6",
};
static const char *const menu_rejects[] = {
    "9,Seasonal Special,coffee,12.0,True", /* 5 fields */
    "nine,Seasonal Special,coffee,12.0,True,2024-12-01,2024-12-31",
    ",Iced Latte,coffee,9.0,True,2024-06-01,2024-08-31",
};

void gen_month_ym(int m, int *y, int *mo)
{
    *y = 2023 + (m + 6) / 12;
    *mo = (m + 6) % 12 + 1;
}

int gen_days_in_month(int y, int mo)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (mo == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        return 29;
    return d[mo - 1];
}

int64_t gen_item_price(int item)
{
    return items[item - 1].price_th;
}

const char *gen_item_name(int item)
{
    return items[item - 1].name;
}

const char *gen_store_name(int store, bool quirks)
{
    if (quirks && store == GEN_STORES)
        return quirk_store10;
    return stores[store - 1].name;
}

int gen_voucher_on(int y, int mo, int d)
{
    int day = y * 10000 + mo * 100 + d, i;

    for (i = 0; i < N_VOUCHERS; i++)
        if (vouchers[i].from <= day && day <= vouchers[i].to)
            return i + 1;
    return 0;
}

int64_t gen_voucher_discount(int voucher, int64_t orig)
{
    const struct voucher_info *v = &vouchers[voucher - 1];
    int64_t fixed;

    if (strcmp(v->type, "fixed") == 0) {
        fixed = (int64_t)v->value * 1000;
        return fixed < orig ? fixed : orig;
    }
    /* orig is a multiple of 0.5, so orig * pct / 100 is exact in 0.001 */
    return orig * v->value / 100;
}

/* A small table assembled in memory, so that a quirk can drop the last
 * line end. */
struct small_table {
    char lines[16][320];
    int n;
};

static char *st_next(struct small_table *t)
{
    return t->lines[t->n];
}

static void st_end(struct small_table *t, const char *p)
{
    t->lines[t->n][p - t->lines[t->n]] = '\0';
    t->n++;
}

static void st_add(struct small_table *t, const char *text)
{
    snprintf(t->lines[t->n], sizeof(t->lines[0]), "%s", text);
    t->n++;
}

static void st_rejects(struct gen_ctx *ctx, struct small_table *t, int table,
                       const char *const *rows, size_t n)
{
    size_t i;

    if (!ctx->o.edges)
        return;
    for (i = 0; i < n; i++) {
        st_add(t, rows[i]);
        ctx->rejects[table]++;
    }
}

/* Writes sub/name: the header, then the lines; `crlf` line ends, and no line
 * end after the last line if `open_end`. */
static int st_write(struct gen_ctx *ctx, const struct small_table *t, int table,
                    const char *sub, const char *name, const char *header,
                    bool crlf, bool open_end)
{
    struct gen_file f;
    char dir[4096];
    int i;

    snprintf(dir, sizeof(dir), "%s/%s", ctx->o.out, sub);
    if (gf_open(&f, dir, name, crlf) != 0) {
        fprintf(stderr, "gen-dataset: %s/%s: %s\n", dir, name, strerror(errno));
        return -1;
    }
    gf_line(&f, header, strlen(header));
    for (i = 0; i < t->n; i++) {
        if (open_end && i == t->n - 1)
            gf_raw(&f, t->lines[i], strlen(t->lines[i]));
        else
            gf_line(&f, t->lines[i], strlen(t->lines[i]));
    }
    ctx->bytes[table] += f.bytes;
    if (gf_close(&f) != 0) {
        fprintf(stderr, "gen-dataset: %s: write failed\n", f.path);
        return -1;
    }
    return 0;
}

static int write_stores(struct gen_ctx *ctx)
{
    struct small_table t = {.n = 0};
    bool q = ctx->o.quirks;
    int i;

    st_rejects(ctx, &t, GT_STORES, store_rejects, 1);
    for (i = 0; i < GEN_STORES; i++) {
        const struct store_info *s = &stores[i];
        char *p = st_next(&t);

        p = fmt_u64(p, (uint64_t)i + 1);
        *p++ = ',';
        if (q && i + 1 == GEN_STORES - 1) {
            /* quoted although it needs no quotes */
            *p++ = '"';
            p = fmt_str(p, s->name);
            *p++ = '"';
        } else {
            p = fmt_csv_text(p, gen_store_name(i + 1, q));
        }
        p += snprintf(p, 200, ",%s,%s,%s,%s,%s,%s", s->street, s->postal,
                      s->city, s->state, s->lat, s->lon);
        st_end(&t, p);
        ctx->rows[GT_STORES]++;
    }
    st_rejects(ctx, &t, GT_STORES, store_rejects + 1, 2);
    return st_write(ctx, &t, GT_STORES, "stores", "stores.csv",
                    "store_id,store_name,street,postal_code,city,state,"
                    "latitude,longitude",
                    false, q);
}

static int write_menu(struct gen_ctx *ctx)
{
    struct small_table t = {.n = 0};
    bool q = ctx->o.quirks;
    int i;

    for (i = 0; i < GEN_ITEMS; i++) {
        const struct item_info *it = &items[i];
        char *p = st_next(&t);

        /* with quirks, Matcha Latte is quoted although it needs no quotes */
        p += snprintf(p, 200,
                      q && i + 1 == GEN_ITEMS ? "%d,\"%s\",%s,%s,False,,"
                                              : "%d,%s,%s,%s,False,,",
                      i + 1, it->name, it->category, it->price);
        st_end(&t, p);
        ctx->rows[GT_MENU]++;
    }
    st_rejects(ctx, &t, GT_MENU, menu_rejects, 3);
    return st_write(ctx, &t, GT_MENU, "menu_items", "menu_items.csv",
                    "item_id,item_name,category,price,is_seasonal,"
                    "available_from,available_to",
                    gen_crlf(GT_MENU, 0, q), false);
}

static int write_payments(struct gen_ctx *ctx)
{
    struct small_table t = {.n = 0};
    size_t i;

    for (i = 0; i < sizeof(payment_rows) / sizeof(payment_rows[0]); i++) {
        st_add(&t, payment_rows[i]);
        ctx->rows[GT_PAY]++;
    }
    return st_write(ctx, &t, GT_PAY, "payment_methods", "payment_methods.csv",
                    "method_id,method_name,category", false, false);
}

bool gen_crlf(int table, int m, bool quirks)
{
    if (!quirks)
        return false;
    switch (table) {
    case GT_TX:
    case GT_ITEMS:
        return m == 7; /* 2024-02 */
    case GT_USERS:
        return m == 6; /* 2024-01 */
    case GT_MENU:
        return m == 0;
    default:
        return false;
    }
}

int gen_file_name(int table, int m, char *out, size_t outsz)
{
    static const char *const dirs[GT_COUNT] = {
        "transactions", "transaction_items", "users",   "stores",
        "menu_items",   "payment_methods",   "vouchers"};
    int y, mo, n;

    if (table < 0 || table >= GT_COUNT)
        return -1;
    gen_month_ym(m, &y, &mo);
    if (table <= GT_USERS)
        n = snprintf(out, outsz, "%s/%s_%04d%02d.csv", dirs[table], dirs[table],
                     y, mo);
    else
        n = snprintf(out, outsz, "%s/%s.csv", dirs[table], dirs[table]);
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

static char *fmt_yyyymmdd(char *p, int day)
{
    return fmt_date(p, day / 10000, day / 100 % 100, day % 100);
}

static int write_vouchers(struct gen_ctx *ctx)
{
    struct small_table t = {.n = 0};
    int i;

    for (i = 0; i < N_VOUCHERS; i++) {
        const struct voucher_info *v = &vouchers[i];
        char *p = st_next(&t);

        p += snprintf(p, 200, "%d,%s,%s,%d.0,", i + 1, v->code, v->type,
                      v->value);
        p = fmt_yyyymmdd(p, v->from);
        *p++ = ',';
        p = fmt_yyyymmdd(p, v->to);
        st_end(&t, p);
        ctx->rows[GT_VOUCHERS]++;
    }
    return st_write(ctx, &t, GT_VOUCHERS, "vouchers", "vouchers.csv",
                    "voucher_id,voucher_code,discount_type,discount_value,"
                    "valid_from,valid_to",
                    false, false);
}

int gen_write_tables(struct gen_ctx *ctx)
{
    if (write_stores(ctx) != 0 || write_menu(ctx) != 0 ||
        write_payments(ctx) != 0 || write_vouchers(ctx) != 0)
        return -1;
    return 0;
}
