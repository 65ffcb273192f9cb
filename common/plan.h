/*
 * plan.h - the shape of the pipeline, shared by every process so that
 * producers shard exactly the way consumers listen.
 *
 *   gateway --> filter --+--> agg-q2 --+
 *                        +--> agg-q3 --+--> sink --> gateway (results)
 *                        +--> agg-q4 --+
 *                        +-------------+  (Q1 rows, stores, menu items)
 *
 * Every stage S has a direct exchange "cs.S" and input queues "S.KEY" bound
 * with routing key KEY. Unsharded stages (filter) have one shared work queue
 * per input table (KEY = table name) consumed by every replica; sharded
 * stages (aggregators, sink) have one queue per replica (KEY = replica index)
 * consumed by that replica only, and producers pick the shard from the row's
 * key (or, for the sink, from the session id).
 *
 * Replica counts come from one spec string (env CS_REPLICAS), e.g.
 * "filter=3,agg-q2=2,agg-q3=2,agg-q4=2,sink=2"; stages not named get 1.
 */
#ifndef CS_PLAN_H
#define CS_PLAN_H

#include "names.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLAN_MAX_REPLICAS 32
#define PLAN_NAME_MAX 64

enum plan_stage_id {
    PLAN_GATEWAY = 0,
    PLAN_FILTER,
    PLAN_AGG_Q2,
    PLAN_AGG_Q3,
    PLAN_AGG_Q4,
    PLAN_SINK,
    PLAN_NSTAGES,
};

/* The input tables (common/names.h), in the order the gateway announces
 * them. */
#define PLAN_TABLE_ID(id, name) PLAN_T_##id,
enum plan_table {
    CS_TABLES(PLAN_TABLE_ID) PLAN_NTABLES,
};
#undef PLAN_TABLE_ID

struct plan {
    int replicas[PLAN_NSTAGES];
};

/* Parses a replica spec (NULL or "" -> all 1). Returns 0, or -1 with a
 * message in err (size errsz) for an unknown stage or a count outside
 * [1, PLAN_MAX_REPLICAS]. The gateway stage is always 1 per session. */
int plan_init(struct plan *p, const char *spec, char *err, size_t errsz)
    __attribute__((warn_unused_result));

/* Stage name ("filter", "agg-q2", ...); NULL if out of range. */
const char *plan_stage_name(enum plan_stage_id s);

/* Stage id by name, or -1. */
int plan_stage_by_name(const char *name);

/* Table name ("transactions", ...) and lookup by name (-1 if unknown). */
const char *plan_table_name(enum plan_table t);
int plan_table_by_name(const char *name);

/* True when the stage's inputs are per-replica shard queues. */
bool plan_stage_sharded(enum plan_stage_id s);

/* Bit mask of the stages that feed stage s (bit i = stage i). */
unsigned plan_upstream(enum plan_stage_id s);

/* Exchange of a stage: "cs.<stage>". */
void plan_exchange(enum plan_stage_id s, char *out, size_t n);

/* Input queue of stage s for routing key `key`: "<stage>.<key>". */
void plan_queue(enum plan_stage_id s, const char *key, char *out, size_t n);

/* Number of input queues of stage s under plan p, and the i-th one's
 * routing key (table name, or shard index as text). */
int plan_nqueues(const struct plan *p, enum plan_stage_id s);
void plan_queue_key(const struct plan *p, enum plan_stage_id s, int i,
                    char *out, size_t n);

/* Shard of an integer key among n replicas (stable across processes). */
unsigned plan_shard_u64(uint64_t key, int n);

/* Shard of a session among n replicas. */
unsigned plan_shard_session(const char *session, int n);

/* Exchange/queue/routing names of the control plane. */
#define PLAN_CONTROL_EXCHANGE "cs.control" /* direct: key = stage or "all" */
#define PLAN_COORD_QUEUE "coordinator"     /* via the default exchange */
#define PLAN_RESULTS_EXCHANGE "cs.results" /* direct: key = gateway id */
#define PLAN_CONTROL_ALL "all"
/* fanout: the coordinator's session snapshots (JSON), for the control plane */
#define PLAN_EVENTS_EXCHANGE "cs.events"
/* durable: a copy of the results (bound to cs.results per gateway id) for
 * the control plane's archive */
#define PLAN_ARCHIVE_QUEUE "controlplane.archive"
/* the `stage` of the control messages the control plane sends (abort) */
#define PLAN_CONTROLPLANE_STAGE "controlplane"

#endif
