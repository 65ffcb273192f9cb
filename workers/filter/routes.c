/*
 * routes.c - the filter's configuration: the input schemas with their
 * reject rules, and one route per (query, table) with its predicates,
 * projection and sharding. A new query over these tables is a new route
 * here plus an aggregation spec and a sink result, not a new program.
 *
 * Line formats produced (comma separated, money in thousandths):
 *   q1        -> sink    transaction_id,final_amount
 *   q3        -> agg-q3  YYYYH,store_id,final_amount      shard: store_id
 *   q4        -> agg-q4  store_id,user_id                 shard: user_id
 *   q4-users  -> agg-q4  user_id,birthdate                shard: user_id
 *   q2        -> agg-q2  YYYYMM,item_id,quantity,subtotal shard: (month, item)
 *   stores    -> sink    store_id,store_name (CSV field)
 *   menu      -> sink    item_id,item_name (CSV field)
 */
#include "filter.h"

#define T_CREATED 8 /* transactions.created_at */
#define I_CREATED 5 /* transaction_items.created_at */
#define YEARS(col) {PRED_YEAR_IN, (col), 2024, 2025}
#define HOURS(col) {PRED_TIME_BETWEEN, (col), 6 * 3600, 23 * 3600}

const struct table_schema filter_schemas[PLAN_NTABLES] = {
    /* transaction_id,store_id,payment_method_id,voucher_id,user_id,
     * original_amount,discount_applied,final_amount,created_at */
    [PLAN_T_TRANSACTIONS] = {PLAN_T_TRANSACTIONS, 9,
                             {COL_ANY, COL_INT, COL_ANY, COL_ANY, COL_USER,
                              COL_ANY, COL_ANY, COL_DEC, COL_TS}},
    /* transaction_id,item_id,quantity,unit_price,subtotal,created_at */
    [PLAN_T_TRANSACTION_ITEMS] = {PLAN_T_TRANSACTION_ITEMS, 6,
                                  {COL_ANY, COL_INT, COL_INT, COL_ANY, COL_DEC,
                                   COL_TS}},
    /* user_id,gender,birthdate,registered_at */
    [PLAN_T_USERS] = {PLAN_T_USERS, 4, {COL_INT, COL_ANY, COL_DATE, COL_ANY}},
    /* store_id,store_name,street,postal_code,city,state,latitude,longitude */
    [PLAN_T_STORES] = {PLAN_T_STORES, 8, {COL_INT}},
    /* item_id,item_name,category,price,is_seasonal,available_from,available_to */
    [PLAN_T_MENU_ITEMS] = {PLAN_T_MENU_ITEMS, 7, {COL_INT}},
};

const struct route filter_routes[] = {
    {"q1", PLAN_T_TRANSACTIONS, PLAN_SINK, 3,
     {YEARS(T_CREATED), HOURS(T_CREATED), {PRED_DEC_GE, 7, 75000, 0}},
     2, {{PROJ_RAW, 0}, {PROJ_VALUE, 7}}, {-1, -1}},
    {"q3", PLAN_T_TRANSACTIONS, PLAN_AGG_Q3, 2,
     {YEARS(T_CREATED), HOURS(T_CREATED)},
     3, {{PROJ_YH, T_CREATED}, {PROJ_VALUE, 1}, {PROJ_VALUE, 7}}, {1, -1}},
    {"q4", PLAN_T_TRANSACTIONS, PLAN_AGG_Q4, 2,
     {YEARS(T_CREATED), {PRED_PRESENT, 4, 0, 0}},
     2, {{PROJ_VALUE, 1}, {PROJ_VALUE, 4}}, {1, -1}},
    {"q4-users", PLAN_T_USERS, PLAN_AGG_Q4, 0, {{0}},
     2, {{PROJ_VALUE, 0}, {PROJ_RAW, 2}}, {0, -1}},
    {"q2", PLAN_T_TRANSACTION_ITEMS, PLAN_AGG_Q2, 1, {YEARS(I_CREATED)},
     4, {{PROJ_YM, I_CREATED}, {PROJ_VALUE, 1}, {PROJ_VALUE, 2}, {PROJ_VALUE, 4}},
     {0, 1}},
    {"stores", PLAN_T_STORES, PLAN_SINK, 0, {{0}},
     2, {{PROJ_VALUE, 0}, {PROJ_CSV, 1}}, {-1, -1}},
    {"menu", PLAN_T_MENU_ITEMS, PLAN_SINK, 0, {{0}},
     2, {{PROJ_VALUE, 0}, {PROJ_CSV, 1}}, {-1, -1}},
};

const int filter_nroutes = (int)(sizeof(filter_routes) / sizeof(filter_routes[0]));
