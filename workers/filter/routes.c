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

/* Columns of the input tables, in their header's order (QUERIES.md). */
enum tx_col { /* transactions */
    TX_ID,
    TX_STORE_ID,
    TX_PAYMENT_METHOD_ID,
    TX_VOUCHER_ID,
    TX_USER_ID,
    TX_ORIGINAL_AMOUNT,
    TX_DISCOUNT_APPLIED,
    TX_FINAL_AMOUNT,
    TX_CREATED_AT,
    TX_NCOLS
};
enum ti_col { /* transaction_items */
    TI_TRANSACTION_ID,
    TI_ITEM_ID,
    TI_QUANTITY,
    TI_UNIT_PRICE,
    TI_SUBTOTAL,
    TI_CREATED_AT,
    TI_NCOLS
};
enum us_col { /* users */
    US_USER_ID,
    US_GENDER,
    US_BIRTHDATE,
    US_REGISTERED_AT,
    US_NCOLS
};
enum st_col { /* stores */
    ST_STORE_ID,
    ST_STORE_NAME,
    ST_STREET,
    ST_POSTAL_CODE,
    ST_CITY,
    ST_STATE,
    ST_LATITUDE,
    ST_LONGITUDE,
    ST_NCOLS
};
enum mi_col { /* menu_items */
    MI_ITEM_ID,
    MI_ITEM_NAME,
    MI_CATEGORY,
    MI_PRICE,
    MI_IS_SEASONAL,
    MI_AVAILABLE_FROM,
    MI_AVAILABLE_TO,
    MI_NCOLS
};

/* A route's predicates and projections, counted by the compiler. */
#define PREDS(...)                                                             \
    .npreds =                                                                  \
        (int)(sizeof((struct pred[]){__VA_ARGS__}) / sizeof(struct pred)),     \
    .preds = {__VA_ARGS__}
#define PROJS(...)                                                             \
    .nproj =                                                                   \
        (int)(sizeof((struct proj[]){__VA_ARGS__}) / sizeof(struct proj)),     \
    .proj = {__VA_ARGS__}
#define YEARS(c)                                                               \
    {                                                                          \
        .kind = PRED_YEAR_IN, .col = (c), .a = 2024, .b = 2025                 \
    }
#define HOURS(c)                                                               \
    {                                                                          \
        .kind = PRED_TIME_BETWEEN, .col = (c), .a = 6 * 3600L, .b = 23 * 3600L \
    }
#define MONEY_GE(c, milli)                                                     \
    {                                                                          \
        .kind = PRED_DEC_GE, .col = (c), .a = (milli)                          \
    }
#define PRESENT(c)                                                             \
    {                                                                          \
        .kind = PRED_PRESENT, .col = (c)                                       \
    }
#define RAW(c)                                                                 \
    {                                                                          \
        .kind = PROJ_RAW, .col = (c)                                           \
    }
#define CSV(c)                                                                 \
    {                                                                          \
        .kind = PROJ_CSV, .col = (c)                                           \
    }
#define VALUE(c)                                                               \
    {                                                                          \
        .kind = PROJ_VALUE, .col = (c)                                         \
    }
#define YEAR_MONTH(c)                                                          \
    {                                                                          \
        .kind = PROJ_YM, .col = (c)                                            \
    }
#define YEAR_HALF(c)                                                           \
    {                                                                          \
        .kind = PROJ_YH, .col = (c)                                            \
    }
/* Shard keys name projections by their index in PROJS. */
#define SHARD_BY_SESSION .shard_proj = {-1, -1}
#define SHARD_BY(p) .shard_proj = {(p), -1}
#define SHARD_BY2(p, q) .shard_proj = {(p), (q)}

/* Columns not listed are not validated (COL_ANY). */
const struct table_schema filter_schemas[PLAN_NTABLES] = {
    [PLAN_T_TRANSACTIONS] = {.table = PLAN_T_TRANSACTIONS,
                             .ncols = TX_NCOLS,
                             .types = {[TX_STORE_ID] = COL_INT,
                                       [TX_USER_ID] = COL_USER,
                                       [TX_FINAL_AMOUNT] = COL_DEC,
                                       [TX_CREATED_AT] = COL_TS}},
    [PLAN_T_TRANSACTION_ITEMS] = {.table = PLAN_T_TRANSACTION_ITEMS,
                                  .ncols = TI_NCOLS,
                                  .types = {[TI_ITEM_ID] = COL_INT,
                                            [TI_QUANTITY] = COL_INT,
                                            [TI_SUBTOTAL] = COL_DEC,
                                            [TI_CREATED_AT] = COL_TS}},
    [PLAN_T_USERS] =
        {.table = PLAN_T_USERS,
         .ncols = US_NCOLS,
         .types = {[US_USER_ID] = COL_INT, [US_BIRTHDATE] = COL_DATE}},
    [PLAN_T_STORES] = {.table = PLAN_T_STORES,
                       .ncols = ST_NCOLS,
                       .types = {[ST_STORE_ID] = COL_INT}},
    [PLAN_T_MENU_ITEMS] = {.table = PLAN_T_MENU_ITEMS,
                           .ncols = MI_NCOLS,
                           .types = {[MI_ITEM_ID] = COL_INT}},
};

const struct route filter_routes[] = {
    {.name = "q1",
     .table = PLAN_T_TRANSACTIONS,
     .dest = PLAN_SINK,
     PREDS(YEARS(TX_CREATED_AT), HOURS(TX_CREATED_AT),
           MONEY_GE(TX_FINAL_AMOUNT, 75000)),
     PROJS(RAW(TX_ID), VALUE(TX_FINAL_AMOUNT)),
     SHARD_BY_SESSION},
    {.name = "q3",
     .table = PLAN_T_TRANSACTIONS,
     .dest = PLAN_AGG_Q3,
     PREDS(YEARS(TX_CREATED_AT), HOURS(TX_CREATED_AT)),
     PROJS(YEAR_HALF(TX_CREATED_AT), VALUE(TX_STORE_ID),
           VALUE(TX_FINAL_AMOUNT)),
     SHARD_BY(1) /* store_id */},
    {.name = "q4",
     .table = PLAN_T_TRANSACTIONS,
     .dest = PLAN_AGG_Q4,
     PREDS(YEARS(TX_CREATED_AT), PRESENT(TX_USER_ID)),
     PROJS(VALUE(TX_STORE_ID), VALUE(TX_USER_ID)),
     SHARD_BY(1) /* user_id */},
    {.name = "q4-users",
     .table = PLAN_T_USERS,
     .dest = PLAN_AGG_Q4,
     PROJS(VALUE(US_USER_ID), RAW(US_BIRTHDATE)),
     SHARD_BY(0) /* user_id */},
    {.name = "q2",
     .table = PLAN_T_TRANSACTION_ITEMS,
     .dest = PLAN_AGG_Q2,
     PREDS(YEARS(TI_CREATED_AT)),
     PROJS(YEAR_MONTH(TI_CREATED_AT), VALUE(TI_ITEM_ID), VALUE(TI_QUANTITY),
           VALUE(TI_SUBTOTAL)),
     SHARD_BY2(0, 1) /* (month, item_id) */},
    {.name = "stores",
     .table = PLAN_T_STORES,
     .dest = PLAN_SINK,
     PROJS(VALUE(ST_STORE_ID), CSV(ST_STORE_NAME)),
     SHARD_BY_SESSION},
    {.name = "menu",
     .table = PLAN_T_MENU_ITEMS,
     .dest = PLAN_SINK,
     PROJS(VALUE(MI_ITEM_ID), CSV(MI_ITEM_NAME)),
     SHARD_BY_SESSION},
};

const int filter_nroutes =
    (int)(sizeof(filter_routes) / sizeof(filter_routes[0]));
