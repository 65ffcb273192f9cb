/*
 * results.c - the archive queue, aborts and retention (see results.h).
 */
#include "results.h"

#include "archive.h"
#include "store.h"

#include "clock.h"
#include "ctl.h"
#include "err.h"
#include "log.h"
#include "mw.h"
#include "plan.h"
#include "topo.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ABORTS 64
#define MAX_GATEWAYS 256
#define RETAIN_EVERY_MS 60000
#define PRODUCER PLAN_CONTROLPLANE_STAGE

struct cp_results {
    struct cp_results_cfg cf;
    char gateways[MAX_GATEWAYS][64]; /* bound so far */
    size_t ngateways;
    int64_t retained_ms; /* monotonic: the last retention pass, 0: never */
    struct ctl_msg *msg; /* scratch (80 KiB) */

    pthread_mutex_t mu; /* aborts only */
    char aborts[MAX_ABORTS][40];
    size_t naborts;
};

struct cp_results *cp_results_create(const struct cp_results_cfg *cfg)
{
    struct cp_results *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->cf = *cfg;
    r->msg = ctl_new(CTL_ABORT, NULL);
    if (r->msg == NULL || pthread_mutex_init(&r->mu, NULL) != 0) {
        free(r->msg);
        free(r);
        return NULL;
    }
    return r;
}

void cp_results_destroy(struct cp_results *r)
{
    if (r == NULL)
        return;
    (void)pthread_mutex_destroy(&r->mu);
    free(r->msg);
    free(r);
}

static bool bound(const struct cp_results *r, const char *gw)
{
    size_t i;

    for (i = 0; i < r->ngateways; i++)
        if (strcmp(r->gateways[i], gw) == 0)
            return true;
    return false;
}

int cp_results_bind(struct cp_results *r, struct mw_conn *c,
                    const char *gateway)
{
    int rc;

    if (gateway[0] == '\0' || strlen(gateway) >= sizeof(r->gateways[0]) ||
        bound(r, gateway))
        return 0;
    if (r->ngateways >= MAX_GATEWAYS) {
        log_warn("controlplane archive: more than %d gateways: results of "
                 "gateway %s are not archived",
                 MAX_GATEWAYS, gateway);
        return 0;
    }
    rc = mw_bind(c, PLAN_ARCHIVE_QUEUE, PLAN_RESULTS_EXCHANGE, gateway);
    if (rc != 0)
        return rc;
    snprintf(r->gateways[r->ngateways++], sizeof(r->gateways[0]), "%s",
             gateway);
    log_info("controlplane archiving the results of gateway=%s", gateway);
    return 0;
}

int cp_results_attach(struct cp_results *r, struct mw_conn *c)
{
    char gws[MAX_GATEWAYS][64];
    size_t n, i;
    int rc;

    r->ngateways = 0;
    rc = mw_declare_exchange(c, PLAN_RESULTS_EXCHANGE, MW_EXCHANGE_DIRECT);
    if (rc == 0)
        rc = mw_declare_queue(c, PLAN_ARCHIVE_QUEUE, MW_QUEUE_DURABLE, NULL, 0);
    n = cp_store_gateways(r->cf.store, gws, MAX_GATEWAYS);
    for (i = 0; rc == 0 && i < n; i++)
        rc = cp_results_bind(r, c, gws[i]);
    if (rc == 0)
        rc = mw_consume(c, PLAN_ARCHIVE_QUEUE);
    return rc;
}

bool cp_results_owns(const struct cp_results *r, const struct mw_delivery *d)
{
    (void)r;
    return d->queue != NULL && strcmp(d->queue, PLAN_ARCHIVE_QUEUE) == 0;
}

/* The sink's end: join the parts (ok) or drop them (error). */
static void on_end(struct cp_results *r, const struct ctl_msg *m)
{
    struct cp_result_file files[CP_ARCHIVE_MAX_FILES];
    char rel[128];
    double started, now = (double)clock_wall_ms();
    int n, rc;

    if (strcmp(m->status, "ok") != 0) {
        cp_archive_discard(r->cf.archive, m->session);
        return;
    }
    started = cp_store_started_ms(r->cf.store, m->session);
    rc = cp_archive_finish(r->cf.archive, m->session,
                           (int64_t)(started >= 0 ? started : now), rel,
                           sizeof(rel), files, &n);
    if (rc == -ENODATA) {
        log_warn("controlplane archive session=%s: result chunks missing "
                 "(the archive queue was bound after they were sent): not "
                 "archived",
                 m->session);
        cp_archive_discard(r->cf.archive, m->session);
        return;
    }
    if (rc != 0)
        return; /* logged */
    rc = cp_store_set_results(r->cf.store, m->session, rel, files, n, now);
    if (rc != 0)
        log_warn("controlplane archive session=%s: recorded in memory only: "
                 "%s",
                 m->session, cs_strerror(rc));
    else
        log_info("controlplane archived session=%s files=%d folder=%s",
                 m->session, n, rel);
}

int cp_results_handle(struct cp_results *r, const struct mw_delivery *d)
{
    if (d->meta.kind == MW_KIND_RESULT) {
        if (cp_archive_chunk(r->cf.archive, d->meta.session, d->meta.stream,
                             d->meta.seq, d->body, d->len) == CS_ERR_ARG)
            log_warn("controlplane archive: chunk dropped session=%s "
                     "stream=%s seq=%lld",
                     d->meta.session, d->meta.stream, (long long)d->meta.seq);
        return 0;
    }
    if (d->meta.kind == MW_KIND_CONTROL &&
        ctl_decode(d->body, d->len, r->msg) == 0 && r->msg->type == CTL_END)
        on_end(r, r->msg);
    return 0; /* status messages and the rest: not for the archive */
}

int cp_results_queue_abort(void *arg, const char *id)
{
    struct cp_results *r = arg;
    int rc = -1;

    (void)pthread_mutex_lock(&r->mu);
    if (r->naborts < MAX_ABORTS) {
        snprintf(r->aborts[r->naborts++], sizeof(r->aborts[0]), "%s", id);
        rc = 0;
    }
    (void)pthread_mutex_unlock(&r->mu);
    return rc;
}

static int publish_aborts(struct cp_results *r, struct mw_conn *c)
{
    char ids[MAX_ABORTS][40];
    size_t n, i;
    int rc = 0;

    (void)pthread_mutex_lock(&r->mu);
    n = r->naborts;
    memcpy(ids, r->aborts, n * sizeof(ids[0]));
    r->naborts = 0;
    (void)pthread_mutex_unlock(&r->mu);
    for (i = 0; i < n && rc == 0; i++) {
        ctl_init(r->msg, CTL_ABORT, ids[i]);
        snprintf(r->msg->stage, sizeof(r->msg->stage), "%s", PRODUCER);
        snprintf(r->msg->reason, sizeof(r->msg->reason),
                 "aborted by the operator (control plane)");
        rc = topo_send_ctl(c, NULL, r->msg, PRODUCER);
        log_info("controlplane abort published session=%s", ids[i]);
    }
    if (rc == 0 && n > 0)
        rc = mw_flush(c);
    if (rc == MW_ERR_UNROUTABLE || rc == MW_ERR_NACK) {
        log_warn("controlplane an abort was not delivered: %s (is the "
                 "coordinator's queue there?)",
                 cs_strerror(rc));
        rc = 0;
    }
    return rc;
}

static void drop_archive(void *arg, const char *rel)
{
    cp_archive_remove(arg, rel);
}

int cp_results_tick(struct cp_results *r, struct mw_conn *c)
{
    int64_t now = clock_mono_ms();
    size_t gone;

    if ((r->cf.retain_ms > 0 || r->cf.retain_count > 0) &&
        (r->retained_ms == 0 || now - r->retained_ms >= RETAIN_EVERY_MS)) {
        r->retained_ms = now ? now : 1;
        gone = cp_store_expire(r->cf.store, (double)clock_wall_ms(),
                               r->cf.retain_ms, r->cf.retain_count,
                               drop_archive, r->cf.archive);
        if (gone > 0)
            log_info("controlplane retention removed %zu finished sessions",
                     gone);
    }
    return publish_aborts(r, c);
}
