/*
 * coord_internal.h - the coordinator machine's private structures, shared by
 * coord.c (the state machine) and coord_sess.c (sessions, flows, queues,
 * tombstones).
 */
#ifndef CS_COORD_INTERNAL_H
#define CS_COORD_INTERNAL_H

#include "coord.h"
#include "ctl.h"
#include "idset.h"

_Static_assert(PLAN_MAX_REPLICAS < 64, "replica masks are 64 bits");
_Static_assert(COORD_SNAP_ID == CTL_ID_MAX, "snapshot ids are session ids");
_Static_assert(sizeof(((struct coord_snap *)0)->gateway) ==
                   sizeof(((struct ctl_msg *)0)->reply_to),
               "a snapshot's gateway is the session's reply-to");

#define COORD_BIT(i) (UINT64_C(1) << (i))

/* The messages of one stream into one input queue of a session. */
struct flow {
    int q;     /* global queue index */
    int table; /* plan table of the stream (for rejects), or -1 */
    char stream[sizeof(((struct ctl_flow *)0)->stream)];
    int64_t expected; /* declared message count, -1: not declared yet */
    bool violated;    /* a violation was logged for it */
    struct idset ids; /* ids reported processed */
};

struct stage_st {
    enum coord_state state;
    uint64_t done;     /* replicas whose done arrived */
    uint64_t since_ms; /* state entry or last progress: the resend timer */
    int64_t rejected[PLAN_NTABLES];
};

struct session {
    struct session *next; /* hash chain */
    char id[CTL_ID_MAX];
    char reply_to[sizeof(((struct ctl_msg *)0)->reply_to)];
    uint64_t start_ms;
    struct stage_st st[PLAN_NSTAGES];
    struct flow *flows;
    size_t nflows, cap;
    int notice_stage; /* stage the last status named, -1: none */
    /* For the control plane: who streams what (session start) and what
     * the gateway received (its done); -1: not told yet. */
    char client[sizeof(((struct ctl_msg *)0)->client)];
    char folder[sizeof(((struct ctl_msg *)0)->folder)];
    int64_t rows_sent, bytes_sent;
    bool streamed; /* the gateway's done arrived, at streamed_ms */
    uint64_t streamed_ms;
};

struct coord {
    struct plan plan;
    int64_t started_ms; /* wall clock at creation: older shutdowns are stale */
    int qbase[PLAN_NSTAGES]; /* global index of a stage's first queue */
    int nq;
    char (*qname)[PLAN_NAME_MAX]; /* [nq] */
    uint8_t *qstage;              /* [nq] */

    struct session **buckets;
    size_t nbuckets, nsessions;

    struct tombs *tombs;
    bool own_tombs;

    coord_clock_fn clock;
    void *clock_arg;
    uint64_t resend_ms;
    uint64_t notice_ms, fail_ms;       /* stage limits, 0: off */
    uint64_t down_since[PLAN_NSTAGES]; /* 0: the stage has a live replica */
    coord_end_fn end_fn;
    void *end_arg;
    coord_final_fn final_fn;
    void *final_arg;
    struct coord_snap *snap; /* scratch for the final snapshot */
    bool stopping;
    struct coord_stats stats;

    struct ctl_msg *out; /* scratch for emitted messages (80 KiB) */

    /* The emit callback of the current call. */
    coord_emit_fn emit_fn;
    void *emit_arg;
    bool emit_failed;
};

/* coord.c */
uint64_t coord_now(const struct coord *c);
void coord_emit(struct coord *c, const char *key, const struct ctl_msg *m);

/* coord_stall.c */
void cstall_check(struct coord *c, struct session *ss, uint64_t now);
/* `end` (status error) or `status` to the session's gateway (routing key =
 * its id); s: the stage it names, -1: none. */
void cstall_to_gateway(struct coord *c, const struct session *ss,
                       enum ctl_type t, int s, const char *reason);

/* coord_sess.c */
int csess_layout(struct coord *c); /* queue names and indexes; 0 or -1 */
struct session *csess_find(const struct coord *c, const char *id);
struct session *csess_new(struct coord *c, const char *id, uint64_t now);
/* Frees ss and tombstones it, after the final hook (the session's last
 * snapshot, with phase `how` and `reason`, "" for none) and the end hook. */
void csess_drop(struct coord *c, struct session *ss, enum coord_phase how,
                const char *reason);
/* coord_snap.c: the snapshot of ss. */
void csnap_fill(const struct coord *c, const struct session *ss,
                struct coord_snap *out);
void csess_free_all(struct coord *c);
bool csess_tombstoned(const struct coord *c, const char *id);
void csess_tombstone(struct coord *c, const char *id);
int csess_queue_index(const struct coord *c, const char *name);
/* Flow (q, stream) of ss; created (expected -1) when `create`; NULL when
 * absent or out of memory. */
struct flow *csess_flow(struct session *ss, int q, const char *stream,
                        bool create);

#endif
