/*
 * dkstate.h - the pure core of the Docker backend (docker.c): parses what
 * the Docker Engine API says about a Compose project's containers and keeps
 * the table of the containers to keep alive, turning what it learns into
 * the monitor's backend events (backend.h). No sockets, no clock, no locks:
 * times are monotonic milliseconds passed by the caller, and docker.c
 * serializes every call with one mutex.
 *
 * Containers kept alive: those of the project carrying the label
 * coffee-stream.keepalive=true, except one-off containers (`compose run`).
 * A slot is one container, named by its container name, and it becomes a
 * slot when it first runs: Compose creates containers before it starts
 * them, and gives a recreated container its final name only just before
 * starting it, so a container that never ran is not the monitor's to start.
 *
 * What each observation becomes (per container, in order):
 *   start              BEV_SLOT (first time under this name), BEV_RUNNING
 *   die, exit code 0   BEV_EXITED, deliberate
 *   die, other code    held for grace_ms: a `stop` event of the container
 *                      within it (docker stop, compose stop/down emit one
 *                      after the die; docker kill and crashes do not) makes
 *                      it deliberate, and so does its removal (docker
 *                      rm -f); anything else, or the end of the grace,
 *                      makes it a crash. Not held when the only signal sent
 *                      since its start was SIGKILL (docker kill, compose
 *                      kill, a monitor's kill of a hung one): docker stop
 *                      always sends its stop signal first, so no stop
 *                      event can follow: a crash at once
 *   pause              BEV_EXITED, deliberate, status -1 (docker pause and
 *                      compose pause are deliberate: a paused container is
 *                      not hung, and a monitor must not kill it)
 *   unpause            BEV_RUNNING
 *   destroy            BEV_GONE (unless another container has the name now)
 *   rename             BEV_GONE under the old name; the container is a new
 *                      slot under the new one once it runs
 * A listing of the project's containers (the backup for missed events) is
 * compared with the table and produces the same events; it says nothing
 * about a container an event spoke of less than DK_LIST_LAG_MS before
 * (dockerd sends an event before its listings show the change, so a listing
 * taken just after an event may still show the old state). A container
 * first seen exited reads as started and died (exit 0: deliberately).
 *
 * Heartbeats belong to the running container whose hostname (Config.
 * Hostname; the first 12 digits of its id unless set) is the heartbeat's
 * host; the incarnation's ref is the container id.
 */
#ifndef CS_MONITOR_DKSTATE_H
#define CS_MONITOR_DKSTATE_H

#include "backend.h"
#include "hb.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DK_ID_MAX 65 /* 64 hex digits */
#define DK_LIST_LAG_MS 1000
#define DK_KEEP_LABEL "coffee-stream.keepalive"
#define DK_PROJECT_LABEL "com.docker.compose.project"
#define DK_ONEOFF_LABEL "com.docker.compose.oneoff"

enum dk_action {
    DK_CREATE,
    DK_START,
    DK_KILL,
    DK_DIE,
    DK_STOP,
    DK_DESTROY,
    DK_RENAME,
    DK_PAUSE,
    DK_UNPAUSE
};
enum dk_state {
    DK_CREATED,
    DK_RUNNING,
    DK_PAUSED,
    DK_EXITED
};

/* One line of GET /events. */
struct dk_event {
    enum dk_action action;
    char id[DK_ID_MAX];
    char name[BACKEND_NAME_MAX]; /* the container's name, no leading '/' */
    int exit_code;               /* DK_DIE: exitCode, -1 unknown */
    int signal;                  /* DK_KILL: the signal sent, -1 unknown */
};

/* One container of GET /containers/json or GET /containers/<id>/json. */
struct dk_ctr {
    char id[DK_ID_MAX];
    char name[BACKEND_NAME_MAX];
    char hostname[HB_NAME_MAX];     /* inspection only, else "" */
    char project[BACKEND_NAME_MAX]; /* its Compose project, "" if none */
    enum dk_state state;            /* restarting, dead, removing: exited */
    int exit_code;                  /* -1 unknown */
    bool keep;                      /* to keep alive (label, not a one-off) */
};

enum {
    DK_PARSE_OK = 0,
    DK_PARSE_SKIP = 1,
    DK_PARSE_BAD = -1
};

/* Parses one event line. DK_PARSE_OK: *ev filled; DK_PARSE_SKIP: not an
 * event of interest (another type, action or project, a container not kept
 * alive); DK_PARSE_BAD: not a Docker event. project: borrowed. */
int dk_parse_event(const char *line, size_t len, const char *project,
                   struct dk_event *ev);

/* Parses a container listing: the containers to keep alive of `project`
 * into *out (malloc'd, the caller frees; NULL when none) and their count.
 * 0, or -1 when it is not a listing or out of memory. */
int dk_parse_list(const char *body, size_t len, const char *project,
                  struct dk_ctr **out, size_t *n);

/* Parses one container's inspection; 0 or -1. */
int dk_parse_inspect(const char *body, size_t len, struct dk_ctr *out);

struct dk_table;

/* An empty table; grace_ms: how long a non-zero die waits for its stop
 * event. NULL when out of memory. */
struct dk_table *dkt_create(int64_t grace_ms);
void dkt_destroy(struct dk_table *t);

/* Observations. 0, or -1 when out of memory (the table stays consistent;
 * the next listing repairs what was lost). */
int dkt_on_event(struct dk_table *t, const struct dk_event *ev, int64_t now)
    __attribute__((warn_unused_result));
int dkt_on_list(struct dk_table *t, const struct dk_ctr *c, size_t n,
                int64_t now) __attribute__((warn_unused_result));

/* Ends the grace of held dies that are due (they become crashes). */
void dkt_tick(struct dk_table *t, int64_t now);
/* When dkt_tick has something to do; INT64_MAX: nothing. */
int64_t dkt_next_deadline(const struct dk_table *t);

/* Moves up to max pending backend events (oldest first) into out. */
size_t dkt_take(struct dk_table *t, struct backend_event *out, size_t max);
size_t dkt_queued(const struct dk_table *t);

/* A container whose hostname was not looked up yet: true and its id. */
bool dkt_uninspected(const struct dk_table *t, char *id, size_t idsz);
/* Its hostname ("" : keep the default, the id's first 12 digits). */
void dkt_set_hostname(struct dk_table *t, const char *id, const char *hostname);

/* The slot and ref of a heartbeat from host (see above); false: none. */
bool dkt_match(const struct dk_table *t, const char *host, char *slot,
               size_t slotsz, char *ref, size_t refsz);

/* The container of slot (a running one first): its id and generation (bumped
 * at each start or death seen). 0, or -1 when no container is that slot. */
int dkt_lookup(const struct dk_table *t, const char *slot, char *id,
               size_t idsz, unsigned *gen);

/* The outcome of a start of container id asked at generation gen. Nothing
 * seen in between: ok makes it running (BEV_RUNNING), a failure reads as a
 * start that died at once (BEV_RUNNING + BEV_EXITED -1: restarted later). */
void dkt_start_done(struct dk_table *t, const char *id, unsigned gen, bool ok,
                    int64_t now);

#endif
