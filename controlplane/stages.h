/*
 * stages.h - the control plane's view of the stages: every replica's last
 * stats event (workers/runtime/wstats.c: {"type":"replica","stage":..,
 * "replica":i,"pid":..,"started_ms":..,"msgs_in":..,"bytes_in":..,
 * "msgs_out":..,"bytes_out":..,"busy_ms":..,"sessions":n,"ts_ms":..}) and
 * the depth of every stage's input queues, rendered as /api/stages JSON and
 * as Prometheus text (docs/ARCHITECTURE.md, "Control plane").
 *
 * A replica is alive while its last event arrived within CP_STAGES_ALIVE_MS
 * (the control plane's clock: the publishers' clocks may differ). A slot
 * seen with a new (pid, started_ms) counts a restart; the counters of the
 * slot's earlier processes stay in the stage's totals, so those only grow.
 *
 * Pure (no I/O) and thread-safe: the broker thread applies events and queue
 * depths while the HTTP threads render. Times are wall-clock milliseconds
 * passed by the caller. Renderings are malloc'd NUL-terminated strings the
 * caller frees (NULL when out of memory).
 */
#ifndef CS_CP_STAGES_H
#define CS_CP_STAGES_H

#include "plan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CP_STAGES_ALIVE_MS 3000
#define CP_STAGES_OTHER 1 /* cp_stages_apply: not a replica event */

struct cp_stages;

/* The stages of plan p (copied): gateway (its replicas as seen), filter,
 * agg-q2, agg-q3, agg-q4, sink, each with p's replica slots and input
 * queues. NULL when out of memory. */
struct cp_stages *cp_stages_create(const struct plan *p);

/* NULL is a no-op. */
void cp_stages_destroy(struct cp_stages *s);

/* Applies one cs.events message body (borrowed) received at now_ms.
 * Returns 0; CP_STAGES_OTHER when its "type" is not "replica" (for the
 * session store); CS_ERR_ARG for a malformed replica event (unknown stage,
 * replica out of range, a counter missing or negative). An event of an
 * older process of the slot than the one known is ignored. */
int cp_stages_apply(struct cp_stages *s, const void *body, size_t len,
                    int64_t now_ms);

/* The input queues whose depth the caller polls: n of them, named by
 * cp_stages_queue(s, i) (valid while s lives). */
size_t cp_stages_nqueues(const struct cp_stages *s);
const char *cp_stages_queue(const struct cp_stages *s, size_t i);

/* Sets queue i's depth (known false: the queue could not be asked, e.g.
 * it does not exist yet). */
void cp_stages_set_queue(struct cp_stages *s, size_t i, bool known,
                         uint32_t messages, uint32_t consumers);

/* {"stages":[...],"now_ms":N} (the shape is in docs/ARCHITECTURE.md). */
char *cp_stages_json(struct cp_stages *s, int64_t now_ms);

/* Writes the stages' Prometheus metrics (cs_stage_*, cs_queue_*) to f. */
void cp_stages_metrics(struct cp_stages *s, FILE *f, int64_t now_ms);

#endif
