/*
 * evpub.h - best-effort JSON events to the fanout exchange cs.events
 * (PLAN_EVENTS_EXCHANGE), read by the control plane: the coordinator's
 * session snapshots and every worker replica's stats. Events are a view,
 * not state: one that no queue takes (no control plane running), that the
 * broker nacks or refuses is lost without stopping the publisher.
 *
 * The middleware reports a returned publish at the next mw_publish or
 * mw_flush, whichever message it was, so publish events only when every
 * other publish on the connection is confirmed (right after a flush), and
 * flush them before publishing anything else: then a returned or nacked
 * publish these functions see is an event's.
 */
#ifndef CS_EVPUB_H
#define CS_EVPUB_H

#include "mw.h"

#include <stdbool.h>

/* True for the errors that mean only that an event was lost (unroutable,
 * nacked, refused by the broker: the latter logged at warn). */
bool evpub_lost(int rc);

/* Publishes one event (JSON text, NUL-terminated) to cs.events: kind
 * control, stream `stream` (e.g. "session", "replica"), producer as given.
 * Returns 0 (also when an event was lost) or the error that stops the
 * caller (MW_ERR_CLOSED, ...). */
int evpub_publish(struct mw_conn *c, const char *stream, const char *producer,
                  const char *json) MW_WARN_UNUSED;

/* mw_flush, with a lost event not an error. */
int evpub_flush(struct mw_conn *c) MW_WARN_UNUSED;

#endif
