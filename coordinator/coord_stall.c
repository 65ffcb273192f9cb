/*
 * coord_stall.c - sessions that wait on a stage with no live replica: the
 * gateway is told what the session waits for, and after the limit the
 * session fails with a reason naming the stage instead of waiting for the
 * client's timeout (see coord_set_stage_limits in coord.h).
 */
#include "coord_internal.h"

#include "log.h"

#include <inttypes.h>
#include <stdio.h>

static const char *stage_name(int s)
{
    return plan_stage_name((enum plan_stage_id)s);
}

void coord_set_stage_limits(struct coord *c, uint64_t notice_ms,
                            uint64_t fail_ms)
{
    c->notice_ms = notice_ms;
    c->fail_ms = fail_ms;
}

void coord_stage_live(struct coord *c, enum plan_stage_id s, bool live)
{
    if ((unsigned)s >= PLAN_NSTAGES)
        return;
    if (live) {
        if (c->down_since[s])
            log_info("eof stage=%s has a live replica again", stage_name(s));
        c->down_since[s] = 0;
    } else if (c->down_since[s] == 0) {
        c->down_since[s] = coord_now(c) ? coord_now(c) : 1;
        log_warn("eof stage=%s has no live replica", stage_name(s));
    }
}

/* The first stage the session still needs (gateway excluded), or -1. */
static int waiting_stage(const struct session *ss)
{
    int s;

    for (s = PLAN_FILTER; s < PLAN_NSTAGES; s++)
        if (ss->st[s].state != COORD_COMPLETE)
            return s;
    return -1;
}

void cstall_to_gateway(struct coord *c, const struct session *ss,
                       enum ctl_type t, int s, const char *reason)
{
    if (ss->reply_to[0] == '\0')
        return;
    ctl_init(c->out, t, ss->id);
    snprintf(c->out->reply_to, sizeof(c->out->reply_to), "%s", ss->reply_to);
    snprintf(c->out->stage, sizeof(c->out->stage), "%s",
             s >= 0 ? stage_name(s) : "");
    snprintf(c->out->reason, sizeof(c->out->reason), "%s", reason);
    if (t == CTL_END)
        snprintf(c->out->status, sizeof(c->out->status), "error");
    coord_emit(c, ss->reply_to, c->out);
}

static void fail_session(struct coord *c, struct session *ss, int s,
                         uint64_t down)
{
    char reason[200];

    snprintf(reason, sizeof(reason),
             "no live replica of stage %s for %" PRIu64
             " s: the session cannot finish (COORD_STAGE_FAIL_S)",
             stage_name(s), down / 1000);
    log_error("eof session=%s failed: %s", ss->id, reason);
    cstall_to_gateway(c, ss, CTL_END, s, reason);
    ctl_init(c->out, CTL_ABORT, ss->id);
    snprintf(c->out->reason, sizeof(c->out->reason), "%s", reason);
    coord_emit(c, PLAN_CONTROL_ALL, c->out);
    c->stats.failed++;
    csess_drop(c, ss, COORD_PHASE_FAILED, reason);
}

/* Tells the gateway what a stalled session waits for, or fails it. */
void cstall_check(struct coord *c, struct session *ss, uint64_t now)
{
    int w = waiting_stage(ss);
    uint64_t down = w >= 0 && c->down_since[w] ? now - c->down_since[w] : 0;
    char reason[200];

    if (c->fail_ms && w >= 0 && c->down_since[w] && down >= c->fail_ms) {
        fail_session(c, ss, w, down);
    } else if (c->notice_ms && w >= 0 && c->down_since[w] &&
               down >= c->notice_ms) {
        if (ss->notice_stage == w)
            return;
        snprintf(reason, sizeof(reason),
                 "waiting for stage %s: no live replica "
                 "since %" PRIu64 " s",
                 stage_name(w), down / 1000);
        cstall_to_gateway(c, ss, CTL_STATUS, w, reason);
        ss->notice_stage = w;
    } else if (ss->notice_stage >= 0) {
        cstall_to_gateway(c, ss, CTL_STATUS, -1, "");
        ss->notice_stage = -1;
    }
}
