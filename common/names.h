/*
 * names.h - the one source of the names the wire contract shares between
 * programs, expanded where needed (as libuv expands UV_ERRNO_MAP):
 *
 *   CS_TABLES(X)        the input tables: plan tables (plan.h), protocol
 *                       table ids (proto.h) and stream names, in the order
 *                       of both enums;
 *   CS_RESULT_FILES(X)  the result files: written by the sink, forwarded by
 *                       the gateway, written out by the client, in order.
 *
 * X(ID, "name") is called once per entry.
 */
#ifndef CS_NAMES_H
#define CS_NAMES_H

#define CS_TABLES(X)                                                           \
    X(TRANSACTIONS, "transactions")                                            \
    X(TRANSACTION_ITEMS, "transaction_items")                                  \
    X(USERS, "users")                                                          \
    X(STORES, "stores")                                                        \
    X(MENU_ITEMS, "menu_items")

#define CS_Q1_CSV "q1.csv"
#define CS_Q2_BEST_SELLING_CSV "q2_best_selling.csv"
#define CS_Q2_MOST_PROFITABLE_CSV "q2_most_profitable.csv"
#define CS_Q3_CSV "q3.csv"
#define CS_Q4_CSV "q4.csv"

#define CS_RESULT_FILES(X)                                                     \
    X(Q1, CS_Q1_CSV)                                                           \
    X(Q2_BEST_SELLING, CS_Q2_BEST_SELLING_CSV)                                 \
    X(Q2_MOST_PROFITABLE, CS_Q2_MOST_PROFITABLE_CSV)                           \
    X(Q3, CS_Q3_CSV)                                                           \
    X(Q4, CS_Q4_CSV)

/* Expanders. */
#define CS_NAME_STR(id, name) name,
#define CS_NAME_COUNT(id, name) +1
#define CS_NAME_SPACED(id, name) " " name

#define CS_NTABLES (0 CS_TABLES(CS_NAME_COUNT))
#define CS_NRESULTS (0 CS_RESULT_FILES(CS_NAME_COUNT))

/* " q1.csv q2_best_selling.csv ..." for help texts. */
#define CS_RESULT_FILES_TEXT CS_RESULT_FILES(CS_NAME_SPACED)

#endif
