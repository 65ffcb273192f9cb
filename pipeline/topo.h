/*
 * topo.h - declares the pipeline's exchanges, queues and bindings (names in
 * common/plan.h). Every process declares what it publishes to and consumes
 * from (declarations are idempotent), so no message is unroutable because
 * its consumer has not started yet. The middleware re-declares all of it
 * after a reconnect.
 */
#ifndef CS_TOPO_H
#define CS_TOPO_H

#include "mw.h"
#include "plan.h"

/* Declares stage s's exchange "cs.<stage>", its durable input queues
 * "<stage>.<key>" and their bindings under plan p. */
int topo_declare_stage(struct mw_conn *c, const struct plan *p,
                       enum plan_stage_id s) MW_WARN_UNUSED;

/* Declares the control plane: exchanges cs.control and cs.results and the
 * durable coordinator queue. */
int topo_declare_control(struct mw_conn *c) MW_WARN_UNUSED;

/* Name of the durable control queue of replica `replica` of stage s:
 * "ctl.<stage>.<replica>". */
void topo_control_queue(enum plan_stage_id s, int replica, char *out, size_t n);

/* Declares the control queue of one replica of stage s: durable (control
 * messages wait there while the replica is down, so a restarted replica
 * gets what was sent meanwhile), bound to cs.control with the keys
 * "<stage>" (the whole stage), "<stage>.<replica>" (this replica) and "all".
 * Also declares the control plane (topo_declare_control). The queue name is
 * written to out (size n). */
int topo_declare_replica_control(struct mw_conn *c, enum plan_stage_id s,
                                 int replica, char *out,
                                 size_t n) MW_WARN_UNUSED;

/* Declares the control queues of every replica of every stage of plan p, so
 * that no control message is unroutable even while every replica of a stage
 * is down (or has never started). */
int topo_declare_all_control(struct mw_conn *c,
                             const struct plan *p) MW_WARN_UNUSED;

struct ctl_msg;

/* Publishes a control message (see common/ctl.h) as JSON to `exchange` with
 * `key`: kind control, stream = the message type, producer as given. */
int topo_publish_ctl(struct mw_conn *c, const char *exchange, const char *key,
                     const struct ctl_msg *m,
                     const char *producer) MW_WARN_UNUSED;

/* topo_publish_ctl to the coordinator queue, or, when `stage_key` is not
 * NULL, to cs.control with that routing key. */
int topo_send_ctl(struct mw_conn *c, const char *stage_key,
                  const struct ctl_msg *m, const char *producer) MW_WARN_UNUSED;

#endif
