/*
 * worker_internal.h - the runtime's private structures, shared by worker.c
 * (process, configuration, start-up, the kind-facing API), wloop.c (the
 * consume -> handle -> commit loop), wsess.c (sessions and the EOF
 * protocol) and wlog.c (the write-ahead log of stateful stages).
 */
#ifndef CS_WORKER_INTERNAL_H
#define CS_WORKER_INTERNAL_H

#include "ctl.h"
#include "idset.h"
#include "mw.h"
#include "worker.h"

#include <stdbool.h>

#define WORKER_MAX_INPUTS PLAN_NTABLES
#define WORKER_TOMBSTONES 4096
#define WORKER_MAX_PENDING 1024
#define WORKER_STREAM_MAX 48

struct wrej {
    int64_t seq, n;
};

/* One input stream of a session, e.g. "transactions" from queue
 * "agg-q4.1". Stateful stages keep every id applied (their duplicate
 * filter and their full report); stateless stages keep the ids committed
 * since their last report (a delta). */
struct wstream {
    char name[WORKER_STREAM_MAX];
    int input;        /* index into w->inputs */
    struct idset ids; /* stateful: applied; stateless: unreported */
    struct wrej
        *rej; /* rejected rows per id (stateful: all; stateless: unreported) */
    size_t nrej, rejcap;
};

/* One output flow: messages to queue (dest, shard) of one stream. */
struct wout {
    uint8_t dest, shard;
    char stream[WORKER_STREAM_MAX];
    int64_t n;
};

struct worker_sess {
    struct worker_sess *next;
    struct worker *w;
    char id[CTL_ID_MAX];
    void *st;
    bool draining;
    bool dirty; /* ids committed since the last report */
    struct wstream *streams;
    size_t nstreams, scap;
    struct wout *outs; /* stateful: emitted; any: declared by the kind */
    size_t nouts, ocap;
    struct wal *log; /* stateful: this session's log, opened on first use */
    const struct ctl_msg *finish; /* valid inside on_finish only */
    int64_t in_msgs, in_bytes, out_msgs, out_bytes;
    int64_t busy_ns;                   /* time spent in the kind's handlers */
    int64_t first_ns;                  /* monotonic time of the first input */
    char reply_to[64];                 /* from finish */
    int64_t up_rejected[PLAN_NTABLES]; /* from finish, for the end message */
};

struct pending_ack {
    uint64_t tag;
    struct worker_sess *ws; /* NULL: nothing to record (dropped message) */
    int stream;             /* index into ws->streams */
    int64_t seq;
    int64_t rejected; /* rows of this input rejected by the kind */
    bool fresh;       /* applied now (not a duplicate) */
};

/* The replica's counters since the process started (wstats.c). */
struct wcounters {
    int64_t msgs_in, bytes_in, msgs_out, bytes_out;
    int64_t busy_ns; /* in the kind's handlers */
};

struct worker {
    const struct worker_ops *ops;
    void *ctx;
    struct plan plan;
    enum plan_stage_id stage;
    int replica;
    bool stateful; /* sharded stages: state, log, duplicate filter */
    char producer[48];
    struct mw_conn *conn;
    char ctl_queue[128];
    char inputs[WORKER_MAX_INPUTS][PLAN_NAME_MAX];
    int ninputs;
    struct worker_sess *sessions;
    struct tombs *tombs;
    struct wal_dir *dir; /* stateful: the state directory */
    const char *state_root, *fsync;
    struct pending_ack *pending;
    int npending;
    struct pending_ack *cur; /* the input being handled (worker_reject) */
    int ack_batch;
    bool replaying;    /* stateful start-up: inputs come from the log */
    bool reports_sent; /* a report went out since the last commit */
    bool stop;
    int64_t started_wall_ms; /* shutdowns published before this are stale */
    struct ctl_msg *out;     /* scratch for control messages (80 KiB) */
    struct hb *hb;           /* heartbeats to the monitors (hb.h) */
    struct wcounters stats;  /* for the control plane (wstats.c) */
    int64_t stats_ms;        /* between two stats events; 0: none */
    int64_t stats_last_ms;   /* monotonic: the last one */
};

/* wsess.c */
struct worker_sess *wsess_get(struct worker *w, const char *id, bool create);
bool wsess_tombstoned(const struct worker *w, const char *id);
void wsess_drop(struct worker *w, struct worker_sess *ws, bool ended);
void wsess_drop_all(struct worker *w);
int wsess_stream(struct worker_sess *ws, const char *name, int input);
int wsess_add_rej(struct wstream *s, int64_t seq, int64_t n);
int wsess_handle_ctl(struct worker *w, const uint8_t *body, size_t len);
int wsess_send_reports(struct worker *w);
int wsess_send_hello(struct worker *w);

/* wlog.c (stateful stages) */
int wlog_append(struct worker *w, struct worker_sess *ws, int input,
                const struct mw_meta *meta, int64_t rejected,
                const uint8_t *body, size_t len);
int wlog_remove(struct worker *w, struct worker_sess *ws);
int wlog_replay_all(struct worker *w);

/* wstats.c: publishes the replica's stats event when one is due. Call it
 * only when every publish is confirmed (after a commit). 0 or the broker
 * error that stops the worker (a lost event is not one). */
int wstats_tick(struct worker *w);

/* wloop.c */
/* Runs until the stop flag (sig.h), a shutdown or an error. */
int wloop_run(struct worker *w);

#endif
