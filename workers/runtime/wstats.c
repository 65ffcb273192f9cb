/*
 * wstats.c - the replica's stats for the control plane: about once a
 * second, one JSON event on cs.events (pipeline/evpub.h),
 *
 *   {"type":"replica","stage":"filter","replica":0,"pid":N,
 *    "started_ms":N,"msgs_in":N,"bytes_in":N,"msgs_out":N,"bytes_out":N,
 *    "busy_ms":N,"sessions":N,"ts_ms":N}
 *
 * with counters cumulative since the process started (inputs handled,
 * outputs published: data and result files, not control messages; busy =
 * time in the kind's handlers). Best effort: published only between two
 * batches, when every other publish is confirmed (the loop calls it after a
 * commit), so it costs the data path one confirm round trip a second at
 * most; an event no control plane takes is dropped.
 */
#include "clock.h"
#include "evpub.h"
#include "worker_internal.h"

#include <stdio.h>
#include <unistd.h>

static int count_sessions(const struct worker *w)
{
    const struct worker_sess *ws;
    int n = 0;

    for (ws = w->sessions; ws; ws = ws->next)
        n++;
    return n;
}

int wstats_tick(struct worker *w)
{
    int64_t now = clock_mono_ms(), wall;
    char json[512];
    int rc;

    if (w->stats_ms <= 0 ||
        (w->stats_last_ms != 0 && now - w->stats_last_ms < w->stats_ms))
        return 0;
    w->stats_last_ms = now;
    /* Nothing may be unconfirmed but the event (see evpub.h): after a
     * commit this returns at once. */
    if ((rc = mw_flush(w->conn)) != 0)
        return rc;
    wall = clock_wall_ms();
    snprintf(json, sizeof(json),
             "{\"type\":\"replica\",\"stage\":\"%s\",\"replica\":%d,"
             "\"pid\":%ld,\"started_ms\":%lld,\"msgs_in\":%lld,"
             "\"bytes_in\":%lld,\"msgs_out\":%lld,\"bytes_out\":%lld,"
             "\"busy_ms\":%lld,\"sessions\":%d,\"ts_ms\":%lld}",
             plan_stage_name(w->stage), w->replica, (long)getpid(),
             (long long)w->started_wall_ms, (long long)w->stats.msgs_in,
             (long long)w->stats.bytes_in, (long long)w->stats.msgs_out,
             (long long)w->stats.bytes_out,
             (long long)(w->stats.busy_ns / 1000000), count_sessions(w),
             (long long)wall);
    rc = evpub_publish(w->conn, "replica", w->producer, json);
    return rc == 0 ? evpub_flush(w->conn) : rc;
}
