/*
 * agg_worker.h - the aggregator worker kinds: the generic aggregation
 * operator (workers/ops/agg.h) plugged into the runtime, one struct
 * worker_ops per query stage. CS_STAGE picks one at start.
 */
#ifndef CS_AGG_WORKER_H
#define CS_AGG_WORKER_H

#include "worker.h"

/* Largest aggregator -> sink message body (whole lines). */
#define AGGW_CHUNK_MAX ((size_t)64 * 1024)

extern const struct worker_ops aggw_q2_ops; /* agg-q2: agg_spec_q2 */
extern const struct worker_ops aggw_q3_ops; /* agg-q3: agg_spec_q3 */
extern const struct worker_ops aggw_q4_ops; /* agg-q4: agg_spec_q4 */

#endif
