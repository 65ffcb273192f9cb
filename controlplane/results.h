/*
 * results.h - the control plane's broker side of the result archive and of
 * abort (the broker thread owns it; the HTTP threads only queue aborts):
 *
 *  - a durable queue (PLAN_ARCHIVE_QUEUE) bound to cs.results with the id
 *    of every gateway the sessions name, so it gets a copy of every result
 *    chunk and `end` the sinks send; chunks go to the archive (archive.h),
 *    and a successful `end` joins them and records the files in the store;
 *  - aborts queued by POST /api/sessions/{id}/abort are published to the
 *    coordinator (stage "controlplane"), which aborts the session in every
 *    stage and ends it at its gateway with the reason;
 *  - retention: finished sessions beyond the age or count limits leave the
 *    history and the archive, checked once a minute.
 *
 * Because the queue is durable, results sent while the control plane is
 * down are archived when it comes back; a gateway is bound once a session
 * event names it (a gateway's first session may lose its first chunks when
 * it is shorter than the event's way: then it is not archived, and logged).
 */
#ifndef CS_CP_RESULTS_H
#define CS_CP_RESULTS_H

#include <stdbool.h>
#include <stddef.h>

struct cp_store;
struct cp_archive;
struct mw_conn;
struct mw_delivery;
struct cp_results;

struct cp_results_cfg {
    struct cp_store *store;
    struct cp_archive *archive;
    double retain_ms;    /* 0: no age limit */
    size_t retain_count; /* 0: no count limit */
};

struct cp_results *cp_results_create(const struct cp_results_cfg *cfg);
void cp_results_destroy(struct cp_results *r);

/* Declares the archive queue on c, binds the gateways known so far and
 * consumes it. 0 or a middleware error. */
int cp_results_attach(struct cp_results *r, struct mw_conn *c);

/* True when d came from the archive queue. */
bool cp_results_owns(const struct cp_results *r, const struct mw_delivery *d);

/* Handles one archive delivery (the caller acks it). 0, or a middleware
 * error; archive errors are logged, not returned. */
int cp_results_handle(struct cp_results *r, const struct mw_delivery *d);

/* Binds the archive queue for a gateway id an event named (once). */
int cp_results_bind(struct cp_results *r, struct mw_conn *c,
                    const char *gateway);

/* From the broker thread, about every poll: publishes the queued aborts,
 * applies the retention once a minute. 0 or a middleware error. */
int cp_results_tick(struct cp_results *r, struct mw_conn *c);

/* Queues an abort (any thread): 0, or -1 when 64 are already waiting.
 * Shaped as a cp_abort_fn (sessreq.h). */
int cp_results_queue_abort(void *r, const char *id);

#endif
