/*
 * agg_queries.c - the aggregation queries as configuration (agg.h).
 *
 * Input rows (from the filter) and output rows (to the sink) of each:
 *
 * q2  in  "transaction_items": YYYYMM,item_id,quantity,subtotal_milli
 *     out rank,YYYYMM,item_id,quantity_sum,subtotal_milli_sum
 *         per month its best item by quantity (rank 0) and by subtotal
 *         (rank 1), ties to the smaller item_id. The filter shards by
 *         (month, item), so each group is whole in one shard and a shard's
 *         best is a true candidate for the global best.
 * q3  in  "transactions": YYYYH,store_id,final_amount_milli
 *     out YYYYH,store_id,final_amount_milli_sum   (every group)
 * q4  in  "transactions": store_id,user_id   "users": user_id,YYYY-MM-DD
 *     out 0,store_id,user_id,purchases,birthdate  (empty if unknown)
 *         per store its top 3 users by purchases desc, user_id asc. Both
 *         streams are sharded by user_id, so a user's purchases and
 *         birthdate are whole in one shard.
 */
#include "agg.h"

const struct agg_spec agg_spec_q2 = {
    .name = "q2",
    .stream = "transaction_items",
    .ncols = 4,
    .nkeys = 2,
    .keys = {0, 1},
    .nmeasures = 2,
    .measures = {{AGG_SUM, 2}, {AGG_SUM, 3}},
    .emit = AGG_EMIT_TOPK,
    .topk = {.part_key = 0, .k = 1, .nranks = 2, .rank = {0, 1}},
};

const struct agg_spec agg_spec_q3 = {
    .name = "q3",
    .stream = "transactions",
    .ncols = 3,
    .nkeys = 2,
    .keys = {0, 1},
    .nmeasures = 1,
    .measures = {{AGG_SUM, 2}},
    .emit = AGG_EMIT_ALL,
};

const struct agg_spec agg_spec_q4 = {
    .name = "q4",
    .stream = "transactions",
    .ncols = 2,
    .nkeys = 2,
    .keys = {0, 1},
    .nmeasures = 1,
    .measures = {{AGG_COUNT, 0}},
    .lookup = {.stream = "users",
               .ncols = 2,
               .key_col = 0,
               .val_col = 1,
               .join_key = 1},
    .emit = AGG_EMIT_TOPK,
    .topk = {.part_key = 0, .k = 3, .nranks = 1, .rank = {0}},
};
