/*
 * main.c - the sink binary.
 */
#include "sink_worker.h"

int main(int argc, char **argv)
{
    static const struct worker_ops *const ops[] = {&sinkw_ops};

    return worker_main(argc, argv, ops, 1);
}
