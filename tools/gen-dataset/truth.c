/*
 * truth.c - expected results computed while generating (see truth.h).
 */
#include "truth.h"

#include "fmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_MONTHS 24 /* 2024-01 .. 2025-12 */
#define T_HALVES 4  /* 2024-H1 .. 2025-H2 */

struct q1_row {
    char tid[40];
    int64_t final;
};

struct truth {
    uint32_t uid_slots;
    uint32_t *birth;  /* yyyymmdd per user id, 0: no valid users row */
    uint16_t *counts; /* purchases per (user, store-1) in 2024-2025 */
    struct q1_row *q1;
    size_t q1_len, q1_cap;
    int64_t qty[T_MONTHS][GEN_ITEMS + 1];
    int64_t sub[T_MONTHS][GEN_ITEMS + 1];
    bool month_seen[T_MONTHS];
    int64_t tpv[T_HALVES][GEN_STORES + 1];
    bool half_seen[T_HALVES][GEN_STORES + 1];
};

struct truth *truth_create(uint32_t uid_slots)
{
    struct truth *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->uid_slots = uid_slots;
    t->birth = calloc(uid_slots, sizeof(*t->birth));
    t->counts = calloc((size_t)uid_slots * GEN_STORES, sizeof(*t->counts));
    if (t->birth == NULL || t->counts == NULL) {
        truth_destroy(t);
        return NULL;
    }
    return t;
}

void truth_destroy(struct truth *t)
{
    if (t == NULL)
        return;
    free(t->birth);
    free(t->counts);
    free(t->q1);
    free(t);
}

void truth_user(struct truth *t, uint32_t uid, int y, int mo, int d)
{
    /* a repeated user keeps the smallest birthdate (QUERIES rule as the
     * pipeline documents it: the byte-smallest value wins) */
    uint32_t b = (uint32_t)(y * 10000 + mo * 100 + d);

    if (uid < t->uid_slots && (t->birth[uid] == 0 || b < t->birth[uid]))
        t->birth[uid] = b;
}

void truth_birthdate(const struct truth *t, uint32_t uid, char out[11])
{
    uint32_t b = uid < t->uid_slots ? t->birth[uid] : 0;

    out[0] = '\0';
    if (b)
        *fmt_date(out, (int)(b / 10000), (int)(b / 100 % 100), (int)(b % 100)) =
            '\0';
}

uint32_t truth_purchases(const struct truth *t, uint32_t uid, int store)
{
    if (uid >= t->uid_slots)
        return 0;
    return t->counts[(size_t)uid * GEN_STORES + (size_t)(store - 1)];
}

uint32_t truth_store_max(const struct truth *t, int store, uint32_t last,
                         uint32_t skip_first, uint32_t skip_last)
{
    uint32_t u, best = 0;

    for (u = 1; u <= last && u < t->uid_slots; u++) {
        uint32_t c = t->counts[(size_t)u * GEN_STORES + (size_t)(store - 1)];

        if ((u < skip_first || u > skip_last) && c > best)
            best = c;
    }
    return best;
}

static bool in_years(int y)
{
    return y == 2024 || y == 2025;
}

static bool in_hours(uint32_t sod)
{
    return sod >= 6u * 3600u && sod <= 23u * 3600u;
}

int truth_txn(struct truth *t, const char *tid, int store, int64_t final,
              uint32_t uid, int y, int mo, uint32_t sod)
{
    if (!in_years(y))
        return 0;
    if (uid != 0 && uid < t->uid_slots) {
        uint16_t *c =
            &t->counts[(size_t)uid * GEN_STORES + (size_t)(store - 1)];

        if (*c < UINT16_MAX)
            (*c)++;
    }
    if (!in_hours(sod))
        return 0;
    t->tpv[(y - 2024) * 2 + (mo > 6)][store] += final;
    t->half_seen[(y - 2024) * 2 + (mo > 6)][store] = true;
    if (final < 75000)
        return 0;
    if (t->q1_len == t->q1_cap) {
        size_t cap = t->q1_cap ? t->q1_cap * 2 : 4096;
        struct q1_row *n = realloc(t->q1, cap * sizeof(*n));

        if (n == NULL)
            return -1;
        t->q1 = n;
        t->q1_cap = cap;
    }
    snprintf(t->q1[t->q1_len].tid, sizeof(t->q1[0].tid), "%s", tid);
    t->q1[t->q1_len].final = final;
    t->q1_len++;
    return 0;
}

void truth_item(struct truth *t, int item, uint32_t qty, int64_t sub, int y,
                int mo)
{
    int m;

    if (!in_years(y))
        return;
    m = (y - 2024) * 12 + mo - 1;
    t->qty[m][item] += qty;
    t->sub[m][item] += sub;
    t->month_seen[m] = true;
}

bool truth_month(const struct truth *t, int y, int mo,
                 int64_t qty[GEN_ITEMS + 1], int64_t sub[GEN_ITEMS + 1])
{
    int m;

    if (!in_years(y))
        return false;
    m = (y - 2024) * 12 + mo - 1;
    memcpy(qty, t->qty[m], sizeof(t->qty[m]));
    memcpy(sub, t->sub[m], sizeof(t->sub[m]));
    return true;
}

static int q1_cmp(const void *a, const void *b)
{
    const struct q1_row *x = a, *y = b;
    int c = strcmp(x->tid, y->tid);

    if (c)
        return c;
    return (x->final > y->final) - (x->final < y->final);
}

static FILE *open_out(const char *dir, const char *name, const char *header)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "gen-dataset: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    fputs(header, f);
    fputc('\n', f);
    return f;
}

static int close_out(FILE *f, const char *dir, const char *name)
{
    int bad = ferror(f);

    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "gen-dataset: %s/%s: write failed\n", dir, name);
        return -1;
    }
    return 0;
}

static int write_q1(struct truth *t, const char *dir)
{
    FILE *f = open_out(dir, "q1.csv", "transaction_id,final_amount");
    char line[128], *p;
    size_t i;

    if (f == NULL)
        return -1;
    qsort(t->q1, t->q1_len, sizeof(*t->q1), q1_cmp);
    for (i = 0; i < t->q1_len; i++) {
        p = fmt_csv_text(line, t->q1[i].tid);
        *p++ = ',';
        p = fmt_money(p, t->q1[i].final);
        *p++ = '\n';
        fwrite(line, 1, (size_t)(p - line), f);
    }
    return close_out(f, dir, "q1.csv");
}

/* Best item of month m by qty (by_sub false) or subtotal: the largest
 * total, ties to the smaller item id. */
static int best_item(const struct truth *t, int m, bool by_sub)
{
    const int64_t *v = by_sub ? t->sub[m] : t->qty[m];
    int best = 1, i;

    for (i = 2; i <= GEN_ITEMS; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

static int write_q2(const struct truth *t, const char *dir, bool by_sub)
{
    const char *name =
        by_sub ? "q2_most_profitable.csv" : "q2_best_selling.csv";
    FILE *f = open_out(dir, name,
                       by_sub ? "year_month_created_at,item_name,profit_sum"
                              : "year_month_created_at,item_name,sellings_qty");
    char line[256], *p;
    int m, b;

    if (f == NULL)
        return -1;
    for (m = 0; m < T_MONTHS; m++) {
        if (!t->month_seen[m])
            continue;
        b = best_item(t, m, by_sub);
        p = fmt_uint_w(line, (uint32_t)(2024 + m / 12), 4);
        *p++ = '-';
        p = fmt_uint_w(p, (uint32_t)(m % 12 + 1), 2);
        *p++ = ',';
        p = fmt_csv_text(p, gen_item_name(b));
        *p++ = ',';
        if (by_sub)
            p = fmt_money2(p, t->sub[m][b]);
        else
            p = fmt_u64(p, (uint64_t)t->qty[m][b]);
        *p++ = '\n';
        fwrite(line, 1, (size_t)(p - line), f);
    }
    return close_out(f, dir, name);
}

/* Store ids ordered by name (byte order), then id. */
static void stores_by_name(bool quirks, int order[GEN_STORES])
{
    int i, j;

    for (i = 0; i < GEN_STORES; i++)
        order[i] = i + 1;
    for (i = 1; i < GEN_STORES; i++)
        for (j = i; j > 0 && strcmp(gen_store_name(order[j - 1], quirks),
                                    gen_store_name(order[j], quirks)) > 0;
             j--) {
            int tmp = order[j];

            order[j] = order[j - 1];
            order[j - 1] = tmp;
        }
}

static int write_q3(const struct truth *t, const char *dir, bool quirks)
{
    FILE *f = open_out(dir, "q3.csv", "year_half_created_at,store_name,tpv");
    int order[GEN_STORES], h, i;
    char line[256], *p;

    if (f == NULL)
        return -1;
    stores_by_name(quirks, order);
    for (h = 0; h < T_HALVES; h++)
        for (i = 0; i < GEN_STORES; i++) {
            int s = order[i];

            if (!t->half_seen[h][s])
                continue;
            p = fmt_u64(line, (uint64_t)2024 + (uint64_t)(h / 2));
            p = fmt_str(p, h % 2 ? "-H2," : "-H1,");
            p = fmt_csv_text(p, gen_store_name(s, quirks));
            *p++ = ',';
            p = fmt_money2(p, t->tpv[h][s]);
            *p++ = '\n';
            fwrite(line, 1, (size_t)(p - line), f);
        }
    return close_out(f, dir, "q3.csv");
}

static int write_q4(const struct truth *t, const char *dir, bool quirks)
{
    FILE *f = open_out(dir, "q4.csv", "store_name,birthdate,purchases_qty");
    int order[GEN_STORES], i, k;
    char line[256], *p;

    if (f == NULL)
        return -1;
    stores_by_name(quirks, order);
    for (i = 0; i < GEN_STORES; i++) {
        int s = order[i];
        uint32_t top[3] = {0, 0, 0}, u;
        uint16_t topc[3] = {0, 0, 0};

        /* ids ascending: a later user enters only with a larger count */
        for (u = 1; u < t->uid_slots; u++) {
            uint16_t c = t->counts[(size_t)u * GEN_STORES + (size_t)(s - 1)];

            if (c == 0 || c <= topc[2])
                continue;
            for (k = 2; k > 0 && c > topc[k - 1]; k--) {
                topc[k] = topc[k - 1];
                top[k] = top[k - 1];
            }
            topc[k] = c;
            top[k] = u;
        }
        for (k = 0; k < 3 && topc[k]; k++) {
            uint32_t b = t->birth[top[k]];

            p = fmt_csv_text(line, gen_store_name(s, quirks));
            *p++ = ',';
            if (b)
                p = fmt_date(p, (int)(b / 10000), (int)(b / 100 % 100),
                             (int)(b % 100));
            *p++ = ',';
            p = fmt_u64(p, topc[k]);
            *p++ = '\n';
            fwrite(line, 1, (size_t)(p - line), f);
        }
    }
    return close_out(f, dir, "q4.csv");
}

static int write_rejected(const char *dir, const uint64_t rejects[GT_COUNT])
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/rejected.json", dir);
    f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "gen-dataset: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f,
            "{\"transactions\": %llu, \"transaction_items\": %llu, "
            "\"users\": %llu, \"stores\": %llu, \"menu_items\": %llu}\n",
            (unsigned long long)rejects[GT_TX],
            (unsigned long long)rejects[GT_ITEMS],
            (unsigned long long)rejects[GT_USERS],
            (unsigned long long)rejects[GT_STORES],
            (unsigned long long)rejects[GT_MENU]);
    return close_out(f, dir, "rejected.json");
}

int truth_write(struct truth *t, const char *dir, bool quirks,
                const uint64_t rejects[GT_COUNT])
{
    if (gen_mkdirs(dir) != 0) {
        fprintf(stderr, "gen-dataset: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if (write_q1(t, dir) != 0 || write_q2(t, dir, false) != 0 ||
        write_q2(t, dir, true) != 0 || write_q3(t, dir, quirks) != 0 ||
        write_q4(t, dir, quirks) != 0 || write_rejected(dir, rejects) != 0)
        return -1;
    return 0;
}
