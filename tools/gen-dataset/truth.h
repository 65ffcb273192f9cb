/*
 * truth.h - the expected query results of a generated data set.
 *
 * The generator reports every valid row it writes (malformed rows are never
 * reported); truth_write() then writes what QUERIES.md says the system must
 * answer: q1.csv q2_best_selling.csv q2_most_profitable.csv q3.csv q4.csv
 * and rejected.json, in the same bytes as tests/reference/reference.py.
 * It is the generator's own, independent, reading of the spec.
 */
#ifndef GEN_TRUTH_H
#define GEN_TRUTH_H

#include "gen.h"

#include <stdbool.h>
#include <stdint.h>

/* User ids 0 .. uid_slots-1 may be reported. NULL on out of memory. */
struct truth *truth_create(uint32_t uid_slots);
void truth_destroy(struct truth *t); /* NULL: no-op */

/* A valid users row. */
void truth_user(struct truth *t, uint32_t uid, int y, int mo, int d);

/* The birthdate of uid as "YYYY-MM-DD", or "" without a valid users row. */
void truth_birthdate(const struct truth *t, uint32_t uid, char out[11]);

/* Purchases so far at store (1..10) in 2024-2025 of uid. */
uint32_t truth_purchases(const struct truth *t, uint32_t uid, int store);

/* The most purchases so far at store of one user with id in [1, last],
 * ignoring ids in [skip_first, skip_last]. */
uint32_t truth_store_max(const struct truth *t, int store, uint32_t last,
                         uint32_t skip_first, uint32_t skip_last);

/* A valid transactions row; uid 0: no user. tid is copied. */
int truth_txn(struct truth *t, const char *tid, int store, int64_t final,
              uint32_t uid, int y, int mo, uint32_t sod)
    __attribute__((warn_unused_result));

/* A valid transaction_items row. */
void truth_item(struct truth *t, int item, uint32_t qty, int64_t sub, int y,
                int mo);

/* Totals so far of month y-mo (2024/2025 only; false otherwise), indexed by
 * item id 1..GEN_ITEMS. */
bool truth_month(const struct truth *t, int y, int mo,
                 int64_t qty[GEN_ITEMS + 1], int64_t sub[GEN_ITEMS + 1]);

/* Writes the result files into dir; 0 or -1 (error printed). */
int truth_write(struct truth *t, const char *dir, bool quirks,
                const uint64_t rejects[GT_COUNT])
    __attribute__((warn_unused_result));

#endif
