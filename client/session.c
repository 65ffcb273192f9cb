/*
 * session.c - runs the client's session, and runs it again when its gateway
 * is lost.
 *
 * One attempt connects (cl_conn_open, with its own connect retries), gets a
 * session id in WELCOME, streams the whole data set and receives the
 * results. An attempt that ends CL_LOST (the connection broke, or the
 * gateway reported losing the broker or shutting down) is run again from
 * scratch under a new session id: the partial results are discarded (they
 * only ever were in hidden temporary files), the data set is streamed
 * again, and the pipeline aborts the abandoned session. An unreachable
 * gateway (CL_UNREACHABLE) counts as lost only after the first attempt: at
 * the start CONNECT_RETRIES alone decides, so that a wrong --gateway fails
 * fast. Re-runs are bounded by SESSION_RETRIES and spaced by a capped
 * exponential backoff; SIGINT/SIGTERM stop at once.
 */
#include "client.h"

#include "log.h"

#include <stdio.h>
#include <string.h>

#define RERUN_FIRST_MS 500
#define RERUN_MAX_MS 8000
#define MB (1024.0 * 1024.0)

/* One attempt: returns 0 or an enum cl_status. c needs cl_conn_close()
 * afterwards either way. */
static int attempt(const struct cl_session_cfg *cfg, struct cl_dataset *ds,
                   struct cl_results *r, struct cl_conn *c)
{
    struct cl_progress p;
    size_t batch = cfg->batch_bytes;
    const char *slash = strrchr(ds->path, '/');
    int rc = cl_conn_open(c, cfg->gateway, cfg->connect_retries,
                          cfg->connect_timeout_ms, cfg->name,
                          slash ? slash + 1 : ds->path);

    if (rc != 0)
        return rc;
    log_info("session started session=%s gateway=%s folder=%s bytes=%llu",
             c->session, cfg->gateway, ds->path,
             (unsigned long long)ds->total_bytes);
    if (batch + PROTO_BATCH_PREFIX_LEN - PROTO_HDR_LEN > c->max_frame) {
        batch = c->max_frame - (PROTO_BATCH_PREFIX_LEN - PROTO_HDR_LEN);
        cl_warn(
            "batch size lowered to %zu bytes: the gateway's frame cap is %u",
            batch, c->max_frame);
    }
    cl_progress_init(&p, ds->total_bytes, cfg->progress);
    rc = cl_send_dataset(c, ds, batch, &p);
    if (rc == 0)
        rc = cl_results_receive(r, c, cfg->result_timeout_s, &p);
    cl_progress_end(&p);
    return rc;
}

/* Says in words what ended an attempt with CL_LOST or CL_UNREACHABLE. */
static void describe(const struct cl_conn *c, int rc, char *out, size_t n)
{
    if (rc == CL_UNREACHABLE)
        snprintf(out, n, "the gateway at %s %s after %d connection attempt%s",
                 c->addr, c->why, c->attempts, c->attempts == 1 ? "" : "s");
    else if (c->session[0])
        snprintf(out, n,
                 "session %s lost its gateway connection (%s) after "
                 "%.1f MB sent",
                 c->session, c->why, (double)c->sent / MB);
    else
        snprintf(out, n,
                 "the gateway at %s failed before a session started "
                 "(%s)",
                 c->addr, c->why);
}

/* After a failed attempt: 1 to run the session again in delay_ms (logged,
 * results reset), 0 to stop (logged, unless the attempt's CL_FAIL already
 * was). */
static int again(const struct cl_conn *c, int rc, int retries, int delay_ms,
                 struct cl_session_log *sl, struct cl_results *r)
{
    char what[1024];

    if (rc == CL_FAIL)
        return 0;
    if (rc == CL_UNREACHABLE && sl->attempts == 1) {
        cl_error("cannot start a session: the gateway at %s %s after %d "
                 "attempt%s (see --gateway / GATEWAY_ADDR, --connect-retries)",
                 c->addr, c->why, c->attempts, c->attempts == 1 ? "" : "s");
        return 0;
    }
    describe(c, rc, what, sizeof(what));
    if (sig_stop_requested()) {
        cl_error("interrupted: %s", what);
        return 0;
    }
    if (sl->attempts > retries) {
        cl_error("giving up after %d session attempt%s (see --session-retries "
                 "/ SESSION_RETRIES): %s",
                 sl->attempts, sl->attempts == 1 ? "" : "s", what);
        return 0;
    }
    cl_warn("%s: running %s again in %.1f s (attempt %d of %d)", what,
            c->session[0] ? "it" : "the session", delay_ms / 1000.0,
            sl->attempts + 1, retries + 1);
    cl_results_reset(r);
    return 1;
}

int cl_session_run(const struct cl_session_cfg *cfg, struct cl_dataset *ds,
                   struct cl_results *r, struct cl_session_log *sl)
{
    struct cl_conn c;
    int rc, delay = RERUN_FIRST_MS;
    int retries = cfg->retries < 0 ? 0
                  : cfg->retries > CL_SESSION_RETRIES_MAX
                      ? CL_SESSION_RETRIES_MAX
                      : cfg->retries;

    memset(sl, 0, sizeof(*sl));
    for (;;) {
        sl->attempts++;
        rc = attempt(cfg, ds, r, &c);
        cl_conn_close(&c);
        if (c.session[0])
            memcpy(sl->ids[sl->nids++], c.session, sizeof(c.session));
        if (rc == 0)
            return 0;
        if (!again(&c, rc, retries, delay, sl, r))
            return -1;
        cl_sleep_ms(delay);
        if (sig_stop_requested()) {
            cl_error("interrupted while waiting to run the session again");
            return -1;
        }
        delay = delay * 2 > RERUN_MAX_MS ? RERUN_MAX_MS : delay * 2;
    }
}
