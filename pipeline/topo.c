/*
 * topo.c - topology declarations shared by gateway, workers and coordinator.
 */
#include "topo.h"

#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int topo_declare_stage(struct mw_conn *c, const struct plan *p,
                       enum plan_stage_id s)
{
    char ex[PLAN_NAME_MAX], key[PLAN_NAME_MAX], q[PLAN_NAME_MAX];
    int i, n = plan_nqueues(p, s);
    int rc;

    plan_exchange(s, ex, sizeof(ex));
    rc = mw_declare_exchange(c, ex, MW_EXCHANGE_DIRECT);
    for (i = 0; rc == 0 && i < n; i++) {
        plan_queue_key(p, s, i, key, sizeof(key));
        plan_queue(s, key, q, sizeof(q));
        rc = mw_declare_queue(c, q, MW_QUEUE_DURABLE, NULL, 0);
        if (rc == 0)
            rc = mw_bind(c, q, ex, key);
    }
    return rc;
}

int topo_declare_control(struct mw_conn *c)
{
    int rc = mw_declare_exchange(c, PLAN_CONTROL_EXCHANGE, MW_EXCHANGE_DIRECT);

    if (rc == 0)
        rc = mw_declare_exchange(c, PLAN_RESULTS_EXCHANGE, MW_EXCHANGE_DIRECT);
    if (rc == 0)
        rc = mw_declare_queue(c, PLAN_COORD_QUEUE, MW_QUEUE_DURABLE, NULL, 0);
    return rc;
}

void topo_control_queue(enum plan_stage_id s, int replica, char *out, size_t n)
{
    snprintf(out, n, "ctl.%s.%d", plan_stage_name(s), replica);
}

int topo_declare_replica_control(struct mw_conn *c, enum plan_stage_id s,
                                 int replica, char *out, size_t n)
{
    char key[PLAN_NAME_MAX + 16];
    int rc = topo_declare_control(c);

    topo_control_queue(s, replica, out, n);
    snprintf(key, sizeof(key), "%s.%d", plan_stage_name(s), replica);
    if (rc == 0)
        rc = mw_declare_queue(c, out, MW_QUEUE_DURABLE, NULL, 0);
    if (rc == 0)
        rc = mw_bind(c, out, PLAN_CONTROL_EXCHANGE, plan_stage_name(s));
    if (rc == 0)
        rc = mw_bind(c, out, PLAN_CONTROL_EXCHANGE, key);
    if (rc == 0)
        rc = mw_bind(c, out, PLAN_CONTROL_EXCHANGE, PLAN_CONTROL_ALL);
    return rc;
}

int topo_declare_all_control(struct mw_conn *c, const struct plan *p)
{
    char q[PLAN_NAME_MAX + 16];
    int s, i, rc = 0;

    for (s = PLAN_FILTER; rc == 0 && s < PLAN_NSTAGES; s++)
        for (i = 0; rc == 0 && i < p->replicas[s]; i++)
            rc = topo_declare_replica_control(c, (enum plan_stage_id)s, i, q,
                                              sizeof(q));
    return rc;
}

int topo_publish_ctl(struct mw_conn *c, const char *exchange, const char *key,
                     const struct ctl_msg *m, const char *producer)
{
    struct mw_meta meta;
    size_t len = 0;
    char *body = ctl_encode(m, &len);
    int rc;

    if (body == NULL)
        return MW_ERR_NOMEM;
    memset(&meta, 0, sizeof(meta));
    snprintf(meta.session, sizeof(meta.session), "%s", m->session);
    snprintf(meta.stream, sizeof(meta.stream), "%s", ctl_type_name(m->type));
    snprintf(meta.producer, sizeof(meta.producer), "%s", producer);
    meta.kind = MW_KIND_CONTROL;
    rc = mw_publish(c, exchange, key, &meta, body, len);
    free(body);
    return rc;
}

int topo_send_ctl(struct mw_conn *c, const char *stage_key,
                  const struct ctl_msg *m, const char *producer)
{
    if (stage_key)
        return topo_publish_ctl(c, PLAN_CONTROL_EXCHANGE, stage_key, m,
                                producer);
    return topo_publish_ctl(c, "", PLAN_COORD_QUEUE, m, producer);
}
