/*
 * elect.h - leader election among the monitors (pure logic: no sockets, no
 * clock of its own; the caller passes monotonic milliseconds).
 *
 * Every monitor sends, every MONITOR_HB_MS, one datagram to each peer:
 *   CSMON1 <id> <pid> <leader> <incarnation> [<host>]
 * leader: the id of the leader it follows, its own id when it leads, 0 when
 * it knows none; incarnation: its start time (wall-clock microseconds), which
 * tells a restart from a second process with the same id and orders the two;
 * host: its hostname (optional on the wire), so a backend can map the
 * monitor to its process or container like any heartbeat (hb.h).
 *
 * Rules:
 *   - a peer is live when heard within peer_timeout_ms (or until its process
 *     is seen to exit: elect_peer_exited);
 *   - leadership is sticky: a monitor follows the highest live peer that
 *     claims leadership (sends its own id as leader), and keeps following it
 *     while it lives and claims; a leader stays leader until a live peer
 *     with a higher id claims too (two leaders: the lower steps down);
 *   - with no live claimant, the highest live id claims (bully), but a
 *     monitor that just started first listens for one peer timeout, so that
 *     it joins the leader already in charge instead of taking over;
 *   - a message with our own id from another process: the younger of the
 *     two must stop (elect_on_msg says which side we are).
 */
#ifndef CS_MONITOR_ELECT_H
#define CS_MONITOR_ELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELECT_MAX_ID 9
#define ELECT_HOST_MAX 64
#define ELECT_MAX_DATAGRAM 200

struct elect_msg {
    int id;                    /* 1..ELECT_MAX_ID */
    long pid;                  /* > 0 */
    int leader;                /* 0..ELECT_MAX_ID */
    int64_t incarnation;       /* > 0 */
    char host[ELECT_HOST_MAX]; /* "" when the sender did not say */
};

/* Parses one datagram; 0, or -1 when it is not a valid CSMON1 line. */
int elect_parse(const char *buf, size_t len, struct elect_msg *m);

/* Writes m as a datagram (with a trailing newline) into buf; returns its
 * length, or -1 if it does not fit. */
int elect_format(const struct elect_msg *m, char *buf, size_t size);

/* One entry of MONITOR_PEERS ("1=127.0.0.1:7101,2=monitor-2:7100,..."). */
struct elect_addr {
    int id;
    char host[ELECT_HOST_MAX];
    char port[8];
};

/* Parses a peer list into out (up to max entries, ids distinct, 1..9,
 * ports 1..65535); returns the count, or -1 with a reason in err. */
int elect_parse_peers(const char *spec, struct elect_addr *out, size_t max,
                      char *err, size_t errsz);

struct elect_cfg {
    int self;            /* our id */
    long pid;            /* our pid */
    int64_t incarnation; /* our start time, wall-clock us */
    int64_t peer_timeout_ms;
};

struct elect;

/* A monitor that starts now (it listens before it may claim). NULL when out
 * of memory or cfg is invalid. */
struct elect *elect_create(const struct elect_cfg *cfg, int64_t now);
void elect_destroy(struct elect *e);

enum elect_verdict {
    ELECT_OK = 0,
    ELECT_IGNORED,         /* not counted (our own echo, a younger twin of a
                              peer, a message of a process seen to exit) */
    ELECT_CONFLICT_ANSWER, /* a younger process has our id: send it our
                              message so that it stops */
    ELECT_CONFLICT_EXIT,   /* an older process has our id: stop (exit 2) */
};

/* Takes a peer's message into account (call elect_tick after). */
enum elect_verdict elect_on_msg(struct elect *e, const struct elect_msg *m,
                                int64_t now);

/* Peer `id` whose process `pid` was seen to exit no longer counts as live,
 * at once, and later messages of that incarnation are ignored. A pid that is
 * not the peer's current one changes nothing. */
void elect_peer_exited(struct elect *e, int id, long pid);

/* Re-evaluates who leads; returns true when the leader changed (the term
 * then grew by one). */
bool elect_tick(struct elect *e, int64_t now);

/* The leader we follow (our own id when we lead), 0: none. */
int elect_leader(const struct elect *e);
bool elect_is_leader(const struct elect *e);
/* How many times the leader changed in this monitor's eyes. */
uint64_t elect_term(const struct elect *e);

/* The earliest time at which elect_tick may change something (a peer times
 * out, the listening period ends); INT64_MAX: none. */
int64_t elect_next_deadline(const struct elect *e, int64_t now);

/* The message this monitor sends now (host left empty: the caller's). */
void elect_self_msg(const struct elect *e, struct elect_msg *m);

struct elect_peer_info {
    int id;
    bool live;
    int64_t age_ms; /* since last heard; -1: never */
    int leader;     /* whom it follows */
    long pid;       /* 0: never heard */
};

/* Every peer heard or added with elect_add_peer, by id; returns how many
 * were written (at most max). */
size_t elect_peers(const struct elect *e, int64_t now,
                   struct elect_peer_info *out, size_t max);

/* Lists a configured peer before it is heard (for the status). */
void elect_add_peer(struct elect *e, int id);

#endif
