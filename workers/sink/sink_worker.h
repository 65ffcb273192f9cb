/*
 * sink_worker.h - the sink worker kind: collects a session's Q1 rows,
 * names and aggregator partials (workers/ops/sink_state.h) and, once every
 * upstream is done, computes and sends the five result files
 * (workers/ops/sink_results.h) and the session's end message.
 */
#ifndef CS_SINK_WORKER_H
#define CS_SINK_WORKER_H

#include "worker.h"

extern const struct worker_ops sinkw_ops;

#endif
