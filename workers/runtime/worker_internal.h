/*
 * worker_internal.h - the runtime's private structures, shared by worker.c
 * (process, connection, loop) and wsess.c (sessions and the EOF protocol).
 */
#ifndef CS_WORKER_INTERNAL_H
#define CS_WORKER_INTERNAL_H

#include "dedup.h"
#include "mw.h"
#include "worker.h"

#include <stdbool.h>

#define WORKER_MAX_INPUTS PLAN_NTABLES
#define WORKER_TOMBSTONES 1024
#define WORKER_MAX_PENDING 1024

struct worker_sess {
    struct worker_sess *next;
    struct worker *w;
    char id[40];
    void *st;
    bool draining;
    bool report_due;
    int64_t processed[WORKER_MAX_INPUTS];
    int64_t sent[PLAN_NSTAGES][PLAN_MAX_REPLICAS];
    int64_t rejected[PLAN_NTABLES];
    struct dedup dedup;
    int64_t in_msgs, in_bytes, out_msgs, out_bytes;
    int64_t busy_ns;                /* time spent in the kind's handlers */
    int64_t first_ns;               /* monotonic time of the first input */
    char reply_to[64];              /* from finish */
    int64_t up_rejected[PLAN_NTABLES]; /* from finish, for the end message */
};

struct pending_ack {
    uint64_t tag;
    struct worker_sess *ws; /* NULL: not counted (dropped message) */
    int input;              /* index into w->inputs */
    char stream[48];
    int64_t seq;
};

struct worker {
    const struct worker_ops *ops;
    void *ctx;
    struct plan plan;
    enum plan_stage_id stage;
    int replica;
    bool dedup;              /* stateful (sharded) stages suppress duplicates */
    char producer[48];
    struct mw_conn *conn;
    char ctl_queue[128];
    char inputs[WORKER_MAX_INPUTS][PLAN_NAME_MAX];
    int ninputs;
    struct worker_sess *sessions;
    char tombs[WORKER_TOMBSTONES][40];
    int ntomb_next;
    struct pending_ack *pending;
    int npending;
    int ack_batch;
    bool stop;
};

/* wsess.c */
struct worker_sess *wsess_get(struct worker *w, const char *id, bool create);
bool wsess_tombstoned(const struct worker *w, const char *id);
void wsess_drop(struct worker *w, struct worker_sess *ws);
void wsess_drop_all(struct worker *w);
int wsess_handle_ctl(struct worker *w, const uint8_t *body, size_t len);
int wsess_send_reports(struct worker *w);

#endif
