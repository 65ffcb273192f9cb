/*
 * status.h - what the monitor tells over HTTP, as JSON (cJSON), rendered
 * from the election and the slot table at a given time. The caller holds
 * the lock that guards them.
 *
 *   /cluster/status: {"monitor": 2, "leader": 3, "role": "follower",
 *     "term": 4, "uptime_s": 12.3,
 *     "peers": [{"id": 1, "live": true, "age_ms": 80, "leader": 3,
 *                "pid": 123}, ...],
 *     "slots": [{"name": "filter-0", "state": "up", "pid": 456,
 *                "ref": "456", "heartbeat_age_ms": 120, "restarts": 1,
 *                "uptime_s": 8.1, "down_s": 0, "last_exit": 137,
 *                "detect_ms": 3, "restart_ms": 420, "unhealthy": false},
 *               ...]}
 *     role: "leader", "follower", or "electing" while no leader is known
 *     (leader 0); ages, detect_ms and restart_ms are -1 when unknown.
 *   /healthz: 200 {"status": "ok"}, or 503 {"status": "unhealthy",
 *     "down": [slots down longer than their bound], "leader": 0} when a
 *     slot is down too long or no leader is known.
 */
#ifndef CS_MONITOR_STATUS_H
#define CS_MONITOR_STATUS_H

#include "elect.h"
#include "procs.h"

#include <stdint.h>

struct status_src {
    int self;
    int64_t started_ms;
    const struct elect *elect;
    const struct procs *procs;
};

/* Both return a malloc'd JSON text (the caller frees it), NULL when out of
 * memory; *code is the HTTP status. */
char *status_cluster(const struct status_src *s, int64_t now, int *code);
char *status_health(const struct status_src *s, int64_t now, int *code);

#endif
