/*
 * procs.c - the slot table and its decisions (see procs.h). Each slot
 * tracks its current incarnation and at most one other (a duplicate, or a
 * silent/hung one that a newer incarnation replaced), which is killed.
 */
#include "procs.h"

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEAD_REFS 4
#define NEVER (-1)

struct inc {                   /* one incarnation of a slot */
    char ref[BACKEND_REF_MAX]; /* "" : none */
    long pid;
    int64_t started_ms; /* seen starting (BEV_RUNNING), NEVER if not */
    int64_t first_hb, last_hb;
    int64_t kill_ms; /* KILL issued at */
    bool bye;
};

struct slot {
    char name[BACKEND_NAME_MAX];
    enum procs_state state;
    struct inc cur, other;
    int64_t since_ms;   /* the current state began */
    int64_t down_since; /* not up since (NEVER when up or stopped) */
    int64_t due_ms;     /* DOWN: restart time */
    int64_t start_ms;   /* START issued and not yet seen running */
    int64_t detect_at, detect_ms, restart_ms;
    int64_t backoff_ms;
    unsigned restarts;
    bool restarting; /* died: the next incarnation is a restart */
    bool counted;    /* ... and it was counted */
    int last_exit;
    char dead[DEAD_REFS][BACKEND_REF_MAX];
    unsigned ndead;
};

struct procs {
    struct procs_cfg cfg;
    int64_t created_ms;
    bool leader;
    struct slot *slots;
    size_t n, cap;
};

static const char *const state_names[] = {
    [PROCS_UNKNOWN] = "unknown", [PROCS_STARTING] = "starting",
    [PROCS_UP] = "up",           [PROCS_HUNG] = "hung",
    [PROCS_DOWN] = "down",       [PROCS_STOPPED] = "stopped",
};

const char *procs_state_name(enum procs_state s)
{
    return (unsigned)s < sizeof(state_names) / sizeof(state_names[0])
               ? state_names[s]
               : "?";
}

/* One line per decision: info for the leader, who acts on it. */
__attribute__((format(printf, 2, 3))) static void note(const struct procs *p,
                                                       const char *fmt, ...)
{
    enum log_level lvl = p->leader ? LOG_INFO : LOG_DEBUG;
    char line[512];
    va_list ap;

    if (lvl > log_get_level())
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log_write(lvl, "%s%s", line, p->leader ? "" : " (follower: no action)");
}

static double secs(int64_t ms)
{
    return (double)ms / 1000.0;
}

static void inc_clear(struct inc *i)
{
    memset(i, 0, sizeof(*i));
    i->started_ms = i->first_hb = i->last_hb = i->kill_ms = NEVER;
}

static void inc_set(struct inc *i, const char *ref, long pid)
{
    inc_clear(i);
    snprintf(i->ref, sizeof(i->ref), "%s", ref);
    i->pid = pid;
}

/* ------------------------------------------------------------- table */

struct procs *procs_create(const struct procs_cfg *cfg, int64_t now)
{
    struct procs *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->cfg = *cfg;
    p->created_ms = now;
    return p;
}

void procs_destroy(struct procs *p)
{
    if (p == NULL)
        return;
    free(p->slots);
    free(p);
}

void procs_set_leader(struct procs *p, bool leader)
{
    p->leader = leader;
}

static struct slot *find(const struct procs *p, const char *name)
{
    size_t i;

    for (i = 0; i < p->n; i++)
        if (strcmp(p->slots[i].name, name) == 0)
            return &p->slots[i];
    return NULL;
}

bool procs_has(const struct procs *p, const char *name)
{
    return find(p, name) != NULL;
}

int procs_add(struct procs *p, const char *name)
{
    struct slot *s;

    if (name[0] == '\0' || strlen(name) >= BACKEND_NAME_MAX)
        return -1;
    if (find(p, name))
        return 0;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct slot *grown = realloc(p->slots, cap * sizeof(*grown));

        if (grown == NULL)
            return -1;
        p->slots = grown;
        p->cap = cap;
    }
    s = &p->slots[p->n++];
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->state = PROCS_UNKNOWN;
    inc_clear(&s->cur);
    inc_clear(&s->other);
    s->since_ms = s->down_since = p->created_ms;
    s->start_ms = s->detect_at = s->detect_ms = s->restart_ms = NEVER;
    s->backoff_ms = p->cfg.backoff_min_ms;
    s->last_exit = -1;
    return 0;
}

static bool is_dead(const struct slot *s, const char *ref)
{
    unsigned i;

    for (i = 0; i < DEAD_REFS; i++)
        if (strcmp(s->dead[i], ref) == 0)
            return true;
    return false;
}

static void add_dead(struct slot *s, const char *ref)
{
    snprintf(s->dead[s->ndead++ % DEAD_REFS], BACKEND_REF_MAX, "%s", ref);
}

static void clear_dead(struct slot *s, const char *ref)
{
    unsigned i;

    for (i = 0; i < DEAD_REFS; i++)
        if (strcmp(s->dead[i], ref) == 0)
            s->dead[i][0] = '\0';
}

static void set_state(struct slot *s, enum procs_state st, int64_t now)
{
    s->state = st;
    s->since_ms = now;
}

/* After a death or a hang, the first new incarnation is restart #n. */
static void count_restart(struct slot *s)
{
    if (s->restarting && !s->counted) {
        s->restarts++;
        s->counted = true;
    }
}

/* A new current incarnation (the old one, if any, is gone or moved). */
static void new_cur(struct slot *s, const char *ref, long pid)
{
    inc_set(&s->cur, ref, pid);
    count_restart(s);
}

/* The other incarnation becomes the current one; a current one that still
 * exists (silent, hung) becomes the other, to be killed. */
static void promote_other(struct slot *s)
{
    struct inc tmp = s->cur;

    s->cur = s->other;
    if (tmp.ref[0])
        s->other = tmp;
    else
        inc_clear(&s->other);
    count_restart(s);
}

/* ------------------------------------------------------------- deaths */

static void stopped(struct procs *p, struct slot *s, int64_t now,
                    const char *why)
{
    note(p, "slot=%s stopped on purpose (%s): not restarted", s->name, why);
    set_state(s, PROCS_STOPPED, now);
    s->down_since = NEVER;
    s->restarting = false;
}

/* The current incarnation died without meaning to (status: -1 unknown). */
static void crashed(struct procs *p, struct slot *s, int64_t now, int status)
{
    const struct inc *c = &s->cur;
    int64_t up = c->first_hb != NEVER ? now - c->first_hb : 0, delay;
    bool was_hung = s->state == PROCS_HUNG;
    char after[64];

    if (c->first_hb != NEVER && up >= p->cfg.stable_ms)
        s->backoff_ms = p->cfg.backoff_min_ms;
    delay = s->backoff_ms;
    s->backoff_ms = s->backoff_ms * 2 > p->cfg.backoff_max_ms
                        ? p->cfg.backoff_max_ms
                        : s->backoff_ms * 2;
    if (!was_hung) { /* a hang was detected already, when it went silent */
        s->detect_at = now;
        s->detect_ms = c->last_hb != NEVER ? now - c->last_hb : NEVER;
    }
    if (s->down_since == NEVER)
        s->down_since = now;
    if (c->first_hb != NEVER)
        snprintf(after, sizeof(after), "after %.1f s up", secs(up));
    else
        snprintf(after, sizeof(after), "before its first heartbeat");
    note(p, "slot=%s %s (exit %d) %s: restart #%u in %.1f s", s->name,
         was_hung ? "killed" : "crashed", status, after, s->restarts + 1,
         secs(delay));
    set_state(s, PROCS_DOWN, now);
    s->due_ms = now + delay;
    s->restarting = true;
    s->counted = false;
    inc_clear(&s->cur);
}

static bool other_live(const struct procs *p, const struct slot *s, int64_t now)
{
    return s->other.ref[0] && s->other.last_hb != NEVER && !s->other.bye &&
           now - s->other.last_hb < p->cfg.hung_ms;
}

static void on_exited(struct procs *p, struct slot *s,
                      const struct backend_event *ev)
{
    char why[64];

    if (s->other.ref[0] && strcmp(s->other.ref, ev->ref) == 0) {
        add_dead(s, ev->ref);
        inc_clear(&s->other);
        return;
    }
    if (s->cur.ref[0] == '\0' || strcmp(s->cur.ref, ev->ref) != 0)
        return; /* not the current incarnation: nothing to do */
    add_dead(s, ev->ref);
    s->last_exit = ev->exit_status;
    snprintf(why, sizeof(why), "exit %d%s%s", ev->exit_status,
             ev->deliberate ? ", deliberate" : "",
             s->cur.bye ? ", after bye" : "");
    if (s->state == PROCS_STOPPED) {
        inc_clear(&s->cur);
    } else if (ev->deliberate || ev->exit_status == 0 || s->cur.bye) {
        stopped(p, s, ev->at_ms, why);
        inc_clear(&s->cur);
    } else if (other_live(p, s, ev->at_ms)) {
        note(p,
             "slot=%s pid=%ld exited (exit %d): pid=%ld, running too, takes "
             "over",
             s->name, s->cur.pid, ev->exit_status, s->other.pid);
        s->cur = s->other;
        inc_clear(&s->other);
        set_state(s, PROCS_UP, ev->at_ms);
        s->down_since = NEVER;
    } else {
        crashed(p, s, ev->at_ms, ev->exit_status);
    }
}

/* ------------------------------------------------------------- events */

static void on_running(struct procs *p, struct slot *s,
                       const struct backend_event *ev)
{
    clear_dead(s, ev->ref);
    s->start_ms = NEVER;
    if (strcmp(s->cur.ref, ev->ref) == 0 &&
        (s->state == PROCS_STARTING || s->state == PROCS_UP ||
         s->state == PROCS_HUNG))
        return; /* known already */
    if ((s->state == PROCS_UP || s->state == PROCS_HUNG) && s->cur.ref[0]) {
        if (strcmp(s->other.ref, ev->ref) != 0) {
            /* a second incarnation while the current one lives */
            inc_set(&s->other, ev->ref, ev->pid);
            s->other.started_ms = ev->at_ms;
        }
        return;
    }
    if (strcmp(s->other.ref, ev->ref) == 0) {
        promote_other(s); /* e.g. our start, set aside, is running still */
    } else {
        if (s->cur.ref[0]) /* a silent one being replaced: kill it later */
            s->other = s->cur;
        new_cur(s, ev->ref, ev->pid);
    }
    if (s->cur.started_ms == NEVER)
        s->cur.started_ms = ev->at_ms;
    set_state(s, PROCS_STARTING, ev->at_ms);
    (void)p;
}

int procs_on_event(struct procs *p, const struct backend_event *ev)
{
    struct slot *s;

    if (ev->kind == BEV_SLOT)
        return procs_add(p, ev->slot);
    s = find(p, ev->slot);
    if (s == NULL)
        return 0;
    switch (ev->kind) {
    case BEV_RUNNING:
        on_running(p, s, ev);
        break;
    case BEV_EXITED:
        on_exited(p, s, ev);
        break;
    case BEV_GONE: /* removed: nothing to keep alive any more */
        note(p, "slot=%s is gone", s->name);
        memmove(s, s + 1, (size_t)(p->slots + p->n - s - 1) * sizeof(*s));
        p->n--;
        break;
    case BEV_SLOT:
        break;
    }
    return 0;
}

/* The first heartbeat of the current incarnation. */
static void first_heartbeat(struct procs *p, struct slot *s, int64_t now)
{
    s->cur.first_hb = now;
    if (s->restarting) {
        s->restart_ms = s->detect_at != NEVER ? now - s->detect_at : NEVER;
        note(p, "slot=%s restarted pid=%ld detect_ms=%lld restart_ms=%lld",
             s->name, s->cur.pid, (long long)s->detect_ms,
             (long long)s->restart_ms);
        s->restarting = false;
    } else {
        log_debug("slot=%s up pid=%ld", s->name, s->cur.pid);
    }
    set_state(s, PROCS_UP, now);
    s->down_since = NEVER;
}

static void heartbeat_cur(struct procs *p, struct slot *s, long pid, bool bye,
                          int64_t now)
{
    s->cur.last_hb = now;
    if (pid > 0)
        s->cur.pid = pid;
    if (bye) {
        s->cur.bye = true;
        if (s->state != PROCS_STOPPED)
            stopped(p, s, now, "it said bye");
        return;
    }
    if (s->state == PROCS_STOPPED)
        return; /* said bye already: let it go */
    if (s->cur.first_hb == NEVER ||
        (s->state != PROCS_UP && s->state != PROCS_HUNG)) {
        first_heartbeat(p, s, now);
    } else if (s->state == PROCS_HUNG) {
        note(p, "slot=%s heartbeats again after %.1f s", s->name,
             secs(now - s->down_since));
        set_state(s, PROCS_UP, now);
        s->down_since = NEVER;
        s->restarting = false;
    }
}

static void heartbeat_other(struct slot *s, long pid, bool bye, int64_t now)
{
    struct inc tmp;

    if (s->other.first_hb == NEVER)
        s->other.first_hb = now;
    s->other.last_hb = now;
    s->other.bye = s->other.bye || bye;
    if (pid > 0)
        s->other.pid = pid;
    /* keep the older (first heard earlier) as the current one */
    if (s->state == PROCS_UP && s->cur.first_hb != NEVER &&
        s->other.first_hb < s->cur.first_hb && !s->other.bye) {
        tmp = s->cur;
        s->cur = s->other;
        s->other = tmp;
    }
}

void procs_on_heartbeat(struct procs *p, const char *slot, const char *ref,
                        long pid, bool bye, int64_t now)
{
    struct slot *s = find(p, slot);
    bool cur_live;

    if (s == NULL || ref[0] == '\0' || is_dead(s, ref))
        return;
    if (strcmp(s->cur.ref, ref) == 0) {
        heartbeat_cur(p, s, pid, bye, now);
        return;
    }
    cur_live = s->cur.ref[0] && s->cur.last_hb != NEVER && !s->cur.bye &&
               now - s->cur.last_hb < p->cfg.hung_ms &&
               s->state != PROCS_STOPPED;
    if (strcmp(s->other.ref, ref) == 0) {
        if (cur_live || bye) {
            heartbeat_other(s, pid, bye, now);
        } else { /* the current one is silent or gone: this one is it */
            promote_other(s);
            heartbeat_cur(p, s, pid, bye, now);
        }
        return;
    }
    if (cur_live) { /* a second incarnation: track it (it will be killed) */
        if (!other_live(p, s, now)) {
            inc_set(&s->other, ref, pid);
            heartbeat_other(s, pid, bye, now);
            log_debug("slot=%s second incarnation pid=%ld", s->name, pid);
        }
        return;
    }
    if (bye)
        return;        /* an unknown incarnation on its way out */
    if (s->cur.ref[0]) /* silent or hung: replaced, killed later */
        s->other = s->cur;
    new_cur(s, ref, pid);
    first_heartbeat(p, s, now);
    s->cur.last_hb = now;
}

/* ------------------------------------------------------------- time */

/* Silent too long: the next incarnation will be a restart. */
static void hung(struct slot *s, int64_t now)
{
    set_state(s, PROCS_HUNG, now);
    s->restarting = true;
    s->counted = false;
}

void procs_tick(struct procs *p, int64_t now)
{
    size_t i;

    for (i = 0; i < p->n; i++) {
        struct slot *s = &p->slots[i];

        if (s->state == PROCS_UP && now - s->cur.last_hb >= p->cfg.hung_ms) {
            s->detect_at = now;
            s->detect_ms = now - s->cur.last_hb;
            s->down_since = s->cur.last_hb;
            note(p, "slot=%s hung (no heartbeat for %.1f s): kill, restart",
                 s->name, secs(s->detect_ms));
            hung(s, now);
        } else if (s->state == PROCS_STARTING && s->cur.ref[0] &&
                   now - s->cur.started_ms >= p->cfg.start_grace_ms) {
            s->detect_at = now;
            s->detect_ms = now - s->cur.started_ms;
            note(p,
                 "slot=%s sent no heartbeat within %.1f s of its start: kill, "
                 "restart",
                 s->name, secs(s->detect_ms));
            hung(s, now);
        } else if (s->state == PROCS_STARTING && s->cur.ref[0] == '\0' &&
                   s->start_ms != NEVER &&
                   now - s->start_ms >= p->cfg.start_grace_ms) {
            s->start_ms = NEVER;
            crashed(p, s, now, -1); /* the start never showed up */
        }
    }
}

void procs_start_failed(struct procs *p, const char *slot, int64_t now)
{
    struct slot *s = find(p, slot);

    if (s && s->state == PROCS_STARTING && s->cur.ref[0] == '\0') {
        s->start_ms = NEVER;
        crashed(p, s, now, -1);
    }
}

/* When the other incarnation of s is to be killed (INT64_MAX: not). */
static int64_t other_kill_at(const struct procs *p, const struct slot *s)
{
    const struct inc *o = &s->other;
    int64_t t = INT64_MAX;

    if (o->ref[0] == '\0' || o->bye)
        return INT64_MAX; /* none, or on its way out */
    if (o->first_hb != NEVER)
        t = o->first_hb + p->cfg.dup_grace_ms;
    else if (o->started_ms != NEVER)
        t = o->started_ms + p->cfg.start_grace_ms;
    if (o->last_hb != NEVER && o->last_hb + p->cfg.hung_ms < t)
        t = o->last_hb + p->cfg.hung_ms;
    if (t != INT64_MAX && o->kill_ms != NEVER &&
        o->kill_ms + p->cfg.kill_retry_ms > t)
        t = o->kill_ms + p->cfg.kill_retry_ms;
    return t;
}

static int64_t hung_kill_at(const struct procs *p, const struct slot *s)
{
    if (s->state != PROCS_HUNG || s->cur.ref[0] == '\0')
        return INT64_MAX;
    return s->cur.kill_ms == NEVER ? s->since_ms
                                   : s->cur.kill_ms + p->cfg.kill_retry_ms;
}

/* When the leader starts s (INT64_MAX: not). */
static int64_t start_at(const struct procs *p, const struct slot *s)
{
    if (s->state == PROCS_UNKNOWN)
        return p->created_ms + p->cfg.adopt_ms;
    if (s->state == PROCS_DOWN)
        return s->due_ms;
    return INT64_MAX;
}

static void act(struct procs_action *a, enum procs_act_kind kind,
                const struct slot *s, const char *ref)
{
    a->kind = kind;
    snprintf(a->slot, sizeof(a->slot), "%s", s->name);
    snprintf(a->ref, sizeof(a->ref), "%s", ref);
}

/* Appends the actions due for s; returns how many (at most room). */
static size_t slot_due(struct procs *p, struct slot *s, int64_t now,
                       struct procs_action *out, size_t room)
{
    size_t n = 0;

    if (n < room && now >= start_at(p, s)) {
        if (s->state == PROCS_UNKNOWN)
            note(p, "slot=%s shows no sign of life: start", s->name);
        act(&out[n++], PROCS_START, s, "");
        set_state(s, PROCS_STARTING, now);
        s->start_ms = now;
    }
    if (n < room && now >= hung_kill_at(p, s)) {
        act(&out[n++], PROCS_KILL, s, s->cur.ref);
        s->cur.kill_ms = now;
    }
    if (n < room && now >= other_kill_at(p, s)) {
        note(p, "slot=%s runs twice (pid=%ld and pid=%ld): kill pid=%ld",
             s->name, s->cur.pid, s->other.pid, s->other.pid);
        act(&out[n++], PROCS_KILL, s, s->other.ref);
        s->other.kill_ms = now;
    }
    return n;
}

size_t procs_due(struct procs *p, int64_t now, struct procs_action *out,
                 size_t max)
{
    size_t i, n = 0;

    for (i = 0; i < p->n && n < max; i++)
        n += slot_due(p, &p->slots[i], now, out + n, max - n);
    return n;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int64_t procs_next_deadline(const struct procs *p, int64_t now, bool leader)
{
    int64_t next = INT64_MAX;
    size_t i;

    (void)now;
    for (i = 0; i < p->n; i++) {
        const struct slot *s = &p->slots[i];

        if (s->state == PROCS_UP)
            next = min64(next, s->cur.last_hb + p->cfg.hung_ms);
        else if (s->state == PROCS_STARTING && s->cur.ref[0])
            next = min64(next, s->cur.started_ms + p->cfg.start_grace_ms);
        else if (s->state == PROCS_STARTING && s->start_ms != NEVER)
            next = min64(next, s->start_ms + p->cfg.start_grace_ms);
        if (leader) {
            next = min64(next, start_at(p, s));
            next = min64(next, hung_kill_at(p, s));
            next = min64(next, other_kill_at(p, s));
        }
    }
    return next;
}

/* ------------------------------------------------------------- status */

size_t procs_count(const struct procs *p)
{
    return p->n;
}

int procs_info(const struct procs *p, size_t i, int64_t now,
               struct procs_info *out)
{
    const struct slot *s;
    bool down;

    if (i >= p->n)
        return -1;
    s = &p->slots[i];
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", s->name);
    out->state = s->state;
    snprintf(out->ref, sizeof(out->ref), "%s", s->cur.ref);
    out->pid = s->cur.ref[0] ? s->cur.pid : 0;
    out->heartbeat_age_ms = s->cur.last_hb != NEVER ? now - s->cur.last_hb : -1;
    out->restarts = s->restarts;
    out->up_ms = s->state == PROCS_UP ? now - s->cur.first_hb : 0;
    down = s->state != PROCS_UP && s->state != PROCS_STOPPED &&
           s->down_since != NEVER;
    out->down_ms = down ? now - s->down_since : 0;
    out->last_exit = s->last_exit;
    out->detect_ms = s->detect_ms;
    out->restart_ms = s->restart_ms;
    out->unhealthy = down && now - s->down_since > p->cfg.down_bound_ms;
    return 0;
}
