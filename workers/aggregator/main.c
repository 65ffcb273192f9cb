/*
 * main.c - the aggregator binary: agg-q2, agg-q3 or agg-q4 (CS_STAGE).
 */
#include "agg_worker.h"

int main(int argc, char **argv)
{
    static const struct worker_ops *const ops[] = {
        &aggw_q2_ops,
        &aggw_q3_ops,
        &aggw_q4_ops,
    };

    return worker_main(argc, argv, ops, sizeof(ops) / sizeof(ops[0]));
}
