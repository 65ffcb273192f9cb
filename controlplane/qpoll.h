/*
 * qpoll.h - the depth of every stage's input queue (stages.h) asked of the
 * broker: one passive queue declare per queue (messages ready, consumers).
 */
#ifndef CS_CP_QPOLL_H
#define CS_CP_QPOLL_H

#include "mw.h"

struct cp_stages;

/* Asks the broker for every queue of s and records the answers; a queue
 * that does not exist (yet) is recorded as unknown. Returns 0, or the
 * broker error that stops the caller (MW_ERR_CLOSED, ...);
 * MW_ERR_INTERRUPTED leaves the remaining queues as they were. */
int cp_qpoll(struct cp_stages *s, struct mw_conn *c) MW_WARN_UNUSED;

#endif
