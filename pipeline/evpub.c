/*
 * evpub.c - best-effort events to cs.events (see evpub.h).
 */
#include "evpub.h"

#include "log.h"
#include "plan.h"

#include <stdio.h>
#include <string.h>

bool evpub_lost(int rc)
{
    if (rc == MW_ERR_PROTOCOL)
        log_warn("an event was refused by the broker: %s", cs_strerror(rc));
    return rc == MW_ERR_UNROUTABLE || rc == MW_ERR_NACK ||
           rc == MW_ERR_PROTOCOL;
}

int evpub_publish(struct mw_conn *c, const char *stream, const char *producer,
                  const char *json)
{
    struct mw_meta meta;
    int rc;

    memset(&meta, 0, sizeof(meta));
    snprintf(meta.stream, sizeof(meta.stream), "%s", stream);
    snprintf(meta.producer, sizeof(meta.producer), "%s", producer);
    meta.kind = MW_KIND_CONTROL;
    rc = mw_publish(c, PLAN_EVENTS_EXCHANGE, "", &meta, json, strlen(json));
    return evpub_lost(rc) ? 0 : rc;
}

int evpub_flush(struct mw_conn *c)
{
    int rc = mw_flush(c);

    return evpub_lost(rc) ? 0 : rc;
}
