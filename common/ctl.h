/*
 * ctl.h - control messages of the end-of-stream protocol, as JSON bodies
 * (readable in the management UI). See docs/ARCHITECTURE.md, "EOF protocol".
 *
 *   session_start  gateway -> coordinator  {session, reply_to}
 *   done           producer -> coordinator {session, stage, replica,
 *                                           flows: messages per (queue, stream)}
 *   report         replica -> coordinator  {session, stage, replica,
 *                                           flows: ids processed per (queue,
 *                                           stream), rejected rows per id}
 *   hello          replica -> coordinator  {stage, replica, sessions held}
 *   drain          coordinator -> stage    {session}
 *   finish         coordinator -> stage    {session, reply_to, rejected,
 *                                           flows: the stage's input counts}
 *   abort          anyone -> coordinator -> all stages {session, reason}
 *   end            sink -> gateway         {session, status, reason, rejected}
 *                  (or coordinator -> gateway, status "error", when a stage
 *                  had no live replica for too long)
 *   status         coordinator -> gateway  {session, stage, reason}: what the
 *                  session waits for ("" reason: nothing wrong any more)
 *   shutdown       coordinator -> all      {}  (global end: workers exit)
 *
 * A *flow* is the messages of one stream into one queue, e.g. stream
 * "transactions" into queue "agg-q3.1"; its messages have the ids (seqs)
 * 0..n-1. Reports carry sets of ids as ranges and are merged by union;
 * done messages declare n, the same value however often they are sent. So a
 * duplicated, replayed, late or re-sent message never changes a decision.
 *
 * Wire form (JSON):
 *   {"type":"report","session":"...","stage":"filter","replica":1,"ts":...,
 *    "flows":[{"q":"filter.users","s":"users","r":[[0,31],[40,40]],
 *              "rej":[[3,2]]}]}
 *   {"type":"done",...,"flows":[{"q":"sink.0","s":"agg-q2.1","n":4}]}
 *   {"type":"hello","stage":"agg-q2","replica":0,"sessions":["..."]}
 * "n" is present in done/finish flows, "r"/"rej" in report flows.
 */
#ifndef CS_CTL_H
#define CS_CTL_H

#include <stddef.h>
#include <stdint.h>

#define CTL_MAX_FLOWS 192    /* flows per message */
#define CTL_MAX_RANGES 2048  /* id ranges per message (all flows) */
#define CTL_MAX_REJS 1024    /* (id, rejected rows) pairs per message */
#define CTL_MAX_REJECTED 8   /* per-table rejected totals */
#define CTL_MAX_SESSIONS 128 /* session ids in a hello */
#define CTL_ID_MAX 40        /* session id + NUL */
#define CTL_COUNT_MAX (INT64_C(1) << 53) /* exact in a JSON double */

enum ctl_type {
    CTL_SESSION_START = 0,
    CTL_DONE,
    CTL_REPORT,
    CTL_DRAIN,
    CTL_FINISH,
    CTL_ABORT,
    CTL_END,
    CTL_SHUTDOWN,
    CTL_HELLO,
    CTL_STATUS,
    CTL_NTYPES,
};

/* Inclusive range of ids. */
struct ctl_range {
    int64_t lo, hi;
};

/* Rows of input message `seq` that were rejected (n > 0). */
struct ctl_rej {
    int64_t seq, n;
};

struct ctl_flow {
    char queue[64];
    char stream[48];
    int64_t n;  /* done/finish: messages in the flow (ids 0..n-1); else -1 */
    int range0; /* report: ranges[range0 .. range0 + nranges) */
    int nranges;
    int rej0; /* report: rejs[rej0 .. rej0 + nrej) */
    int nrej;
};

struct ctl_count {
    char name[64];
    int64_t n;
};

struct ctl_msg {
    enum ctl_type type;
    char session[CTL_ID_MAX];
    char stage[32];
    int replica;
    int64_t ts_ms; /* wall-clock publish time, ms since the epoch (0: now) */
    char reply_to[64];
    char status[16]; /* end: "ok" | "error" */
    char reason[256];
    char client[64];  /* session start: the client's name from HELLO */
    char folder[128]; /* session start: the data folder it streams */
    int nflows;
    struct ctl_flow flows[CTL_MAX_FLOWS];
    int nranges;
    struct ctl_range ranges[CTL_MAX_RANGES];
    int nrejs;
    struct ctl_rej rejs[CTL_MAX_REJS];
    int nrejected; /* rejected rows per table (finish, end) */
    struct ctl_count rejected[CTL_MAX_REJECTED];
    int nsent; /* gateway done: rows per table and "bytes" received */
    struct ctl_count sent[CTL_MAX_REJECTED];
    int nsessions; /* hello */
    char sessions[CTL_MAX_SESSIONS][CTL_ID_MAX];
};

/* The struct is large (about 80 KiB): allocate it, do not put it on small
 * stacks. ctl_new returns a zeroed message of `type` (NULL: no memory);
 * free it with free(). */
struct ctl_msg *ctl_new(enum ctl_type type, const char *session);

/* Zeroes m and sets its type and session (session may be NULL). */
void ctl_init(struct ctl_msg *m, enum ctl_type type, const char *session);

/* Adds n rejected rows of table `name`; returns 0 or -1 when full. */
int ctl_add_rejected(struct ctl_msg *m, const char *name, int64_t n);

/* Rejected rows of table `name` (0 when absent). */
int64_t ctl_get_rejected(const struct ctl_msg *m, const char *name);

/* Index of flow (queue, stream), or -1. */
int ctl_find_flow(const struct ctl_msg *m, const char *queue,
                  const char *stream);

/* Declares flow (queue, stream) with n messages (done/finish). Declaring it
 * again sets n again. Returns 0, or -1 when full or a name is too long. */
int ctl_set_flow(struct ctl_msg *m, const char *queue, const char *stream,
                 int64_t n);

/* Starts a report flow (queue, stream) whose ranges and rejects follow:
 * ctl_add_range / ctl_add_rej apply to the flow started last. Returns the
 * flow index, or -1 when full or a name is too long. */
int ctl_begin_flow(struct ctl_msg *m, const char *queue, const char *stream);

/* Appends [lo, hi] / (seq, n) to the last flow begun; 0 or -1 when full. */
int ctl_add_range(struct ctl_msg *m, int64_t lo, int64_t hi);
int ctl_add_rej(struct ctl_msg *m, int64_t seq, int64_t n);

/* Adds a session id to a hello; 0 or -1 when full. */
int ctl_add_session(struct ctl_msg *m, const char *id);

/* Serialises m into a malloc'ed JSON string (caller frees with free());
 * *len gets its length. NULL on allocation failure. */
char *ctl_encode(const struct ctl_msg *m, size_t *len);

/* Parses a JSON body; returns 0, or -1 if it is not a valid control message
 * (unknown type, missing session where one is required, bad types, counts
 * or ids out of range, too many entries). */
int ctl_decode(const uint8_t *body, size_t len, struct ctl_msg *m)
    __attribute__((warn_unused_result));

const char *ctl_type_name(enum ctl_type t);

#endif
