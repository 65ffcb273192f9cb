/*
 * events.h - the coordinator's session snapshots for the control plane:
 * JSON (coord_snap_json) published to the fanout exchange cs.events
 * (PLAN_EVENTS_EXCHANGE) when a session changes, at most once a second per
 * session, at least every CEVENTS_REFRESH_MS while it is active (so a
 * control plane that restarts catches up), and at once when a session
 * appears or ends. Events are a view, not state: one that no queue takes
 * (no control plane running) is dropped without complaint.
 */
#ifndef CS_COORD_EVENTS_H
#define CS_COORD_EVENTS_H

#include "coord.h"
#include "mw.h"

#define CEVENTS_MIN_GAP_MS 1000 /* per session, between two changes */
#define CEVENTS_REFRESH_MS 5000 /* per session, when nothing changed */

struct cevents;

/* `producer` (copied) goes into the x-producer header. NULL when out of
 * memory. */
struct cevents *cevents_create(const char *producer);

/* NULL is a no-op. */
void cevents_destroy(struct cevents *e);

/* A coord_final_fn (coord_set_final_hook, arg = the cevents): keeps the
 * session's last snapshot for the next cevents_publish. */
void cevents_final(void *arg, const struct coord_snap *s);

/* Publishes what is due for the active sessions of c and the sessions that
 * ended since the last call, then waits for the broker's confirms. Call it
 * only when every other publish is confirmed (after a commit), so that a
 * returned publish it sees is one of its own. Returns 0, or the broker
 * error that stops the caller (MW_ERR_CLOSED, ...): an unroutable, nacked
 * or refused event is not one. */
int cevents_publish(struct cevents *e, struct mw_conn *conn,
                    const struct coord *c) MW_WARN_UNUSED;

#endif
