/*
 * ctl.h - control messages of the end-of-stream protocol, as JSON bodies
 * (readable in the management UI). See docs/ARCHITECTURE.md, "EOF protocol".
 *
 *   session_start  gateway -> coordinator  {session, reply_to}
 *   done           producer -> coordinator {session, stage, replica,
 *                                           counts: sent per queue,
 *                                           rejected: per table}
 *   report         replica -> coordinator  {session, stage, replica,
 *                                           counts: processed per queue}
 *   drain          coordinator -> stage    {session}
 *   finish         coordinator -> stage    {session, reply_to, rejected}
 *   abort          anyone -> coordinator -> all stages {session, reason}
 *   end            sink -> gateway         {session, status, reason, rejected}
 *   shutdown       coordinator -> all      {}  (global end: workers exit)
 *
 * Counts are cumulative per (session, queue), so a newer report replaces an
 * older one and a duplicated control message changes nothing.
 */
#ifndef CS_CTL_H
#define CS_CTL_H

#include <stddef.h>
#include <stdint.h>

#define CTL_MAX_COUNTS 160
#define CTL_MAX_REJECTED 8

enum ctl_type {
    CTL_SESSION_START = 0,
    CTL_DONE,
    CTL_REPORT,
    CTL_DRAIN,
    CTL_FINISH,
    CTL_ABORT,
    CTL_END,
    CTL_SHUTDOWN,
    CTL_NTYPES,
};

struct ctl_count {
    char name[64];
    int64_t n;
};

struct ctl_msg {
    enum ctl_type type;
    char session[40];
    char stage[32];
    int replica;
    int64_t ts_ms; /* wall-clock publish time, ms since the epoch (0: now) */
    char reply_to[64];
    char status[16]; /* end: "ok" | "error" */
    char reason[256];
    int ncounts;
    struct ctl_count counts[CTL_MAX_COUNTS];
    int nrejected;
    struct ctl_count rejected[CTL_MAX_REJECTED];
};

/* Zeroes m and sets its type and session (session may be NULL). */
void ctl_init(struct ctl_msg *m, enum ctl_type type, const char *session);

/* Adds n to the count `name` in counts (or rejected when `rejected`),
 * creating it; returns 0 or -1 when full. */
int ctl_add(struct ctl_msg *m, int rejected, const char *name, int64_t n);

/* Value of a count (0 when absent). */
int64_t ctl_get(const struct ctl_msg *m, int rejected, const char *name);

/* Serialises m into a malloc'ed JSON string (caller frees with free());
 * *len gets its length. NULL on allocation failure. */
char *ctl_encode(const struct ctl_msg *m, size_t *len);

/* Parses a JSON body; returns 0, or -1 if it is not a valid control message
 * (unknown type, missing session where one is required, bad types). */
int ctl_decode(const uint8_t *body, size_t len, struct ctl_msg *m)
    __attribute__((warn_unused_result));

const char *ctl_type_name(enum ctl_type t);

#endif
