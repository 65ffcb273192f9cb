/*
 * elect.c - leader election among the monitors (see elect.h): a table of
 * peers indexed by id, the CSMON1 codec and the peer-list parser.
 */
#include "elect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 7

struct peer {
    bool known; /* configured or heard */
    bool heard;
    bool exited; /* its process (dead_pid, dead_inc) was seen to exit */
    long pid;
    int64_t inc;
    int leader;
    int64_t last_ms;
    long dead_pid;
    int64_t dead_inc;
};

struct elect {
    struct elect_cfg cfg;
    int64_t learn_until;
    int leader;
    uint64_t term;
    struct peer peers[ELECT_MAX_ID + 1];
};

/* ---------------------------------------------------------------- codec */

/* Splits a line into at most max blank-separated tokens (in place). */
static int tokens(char *line, char **tok, int max)
{
    char *save = NULL, *t;
    int n = 0;

    for (t = strtok_r(line, " \t\r\n", &save); t;
         t = strtok_r(NULL, " \t\r\n", &save)) {
        if (n == max)
            return -1;
        tok[n++] = t;
    }
    return n;
}

static int num(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    long long v;

    if (s[0] < '0' || s[0] > '9')
        return -1; /* no sign, no blanks */
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int elect_parse(const char *buf, size_t len, struct elect_msg *m)
{
    char line[ELECT_MAX_DATAGRAM + 1], *tok[MAX_TOKENS];
    long long id, pid, leader, inc;
    int n;

    if (len == 0 || len > ELECT_MAX_DATAGRAM || memchr(buf, '\0', len))
        return -1;
    memcpy(line, buf, len);
    line[len] = '\0';
    n = tokens(line, tok, MAX_TOKENS);
    if ((n != 5 && n != 6) || strcmp(tok[0], "CSMON1") != 0 ||
        num(tok[1], 1, ELECT_MAX_ID, &id) ||
        num(tok[2], 1, 0x7fffffffLL, &pid) ||
        num(tok[3], 0, ELECT_MAX_ID, &leader) ||
        num(tok[4], 1, INT64_MAX, &inc))
        return -1;
    if (n == 6 && strlen(tok[5]) >= ELECT_HOST_MAX)
        return -1;
    memset(m, 0, sizeof(*m));
    m->id = (int)id;
    m->pid = (long)pid;
    m->leader = (int)leader;
    m->incarnation = inc;
    if (n == 6)
        memcpy(m->host, tok[5], strlen(tok[5]) + 1);
    return 0;
}

int elect_format(const struct elect_msg *m, char *buf, size_t size)
{
    int n;

    if (m->host[0])
        n = snprintf(buf, size, "CSMON1 %d %ld %d %lld %s\n", m->id, m->pid,
                     m->leader, (long long)m->incarnation, m->host);
    else
        n = snprintf(buf, size, "CSMON1 %d %ld %d %lld\n", m->id, m->pid,
                     m->leader, (long long)m->incarnation);
    return n < 0 || (size_t)n >= size ? -1 : n;
}

/* "id=host:port" into a; 0 or -1 with a reason. */
static int parse_addr(char *item, struct elect_addr *a, char *err, size_t errsz)
{
    char *eq = strchr(item, '='), *colon;
    long long id, port;

    if (eq == NULL || (*eq = '\0', num(item, 1, ELECT_MAX_ID, &id) != 0)) {
        snprintf(err, errsz, "'%s': expected id=host:port with id 1..%d", item,
                 ELECT_MAX_ID);
        return -1;
    }
    colon = strrchr(eq + 1, ':');
    if (colon == NULL || colon == eq + 1 ||
        (size_t)(colon - eq - 1) >= ELECT_HOST_MAX ||
        num(colon + 1, 1, 65535, &port) != 0) {
        snprintf(err, errsz, "peer %lld: expected host:port, got '%s'", id,
                 eq + 1);
        return -1;
    }
    a->id = (int)id;
    snprintf(a->host, sizeof(a->host), "%.*s", (int)(colon - eq - 1), eq + 1);
    snprintf(a->port, sizeof(a->port), "%lld", port);
    return 0;
}

int elect_parse_peers(const char *spec, struct elect_addr *out, size_t max,
                      char *err, size_t errsz)
{
    char *copy = strdup(spec), *item, *save = NULL;
    size_t n = 0, i;
    int rc = 0;

    if (copy == NULL) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    for (item = strtok_r(copy, ",", &save); item && rc == 0;
         item = strtok_r(NULL, ",", &save)) {
        if (n == max) {
            snprintf(err, errsz, "more than %zu peers", max);
            rc = -1;
        } else if ((rc = parse_addr(item, &out[n], err, errsz)) == 0) {
            for (i = 0; i < n && rc == 0; i++)
                if (out[i].id == out[n].id) {
                    snprintf(err, errsz, "peer id %d listed twice", out[n].id);
                    rc = -1;
                }
            n++;
        }
    }
    free(copy);
    if (rc == 0 && n == 0) {
        snprintf(err, errsz, "no peers");
        rc = -1;
    }
    return rc == 0 ? (int)n : -1;
}

/* ---------------------------------------------------------------- logic */

struct elect *elect_create(const struct elect_cfg *cfg, int64_t now)
{
    struct elect *e;

    if (cfg->self < 1 || cfg->self > ELECT_MAX_ID || cfg->pid <= 0 ||
        cfg->incarnation <= 0 || cfg->peer_timeout_ms <= 0)
        return NULL;
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->cfg = *cfg;
    e->learn_until = now + cfg->peer_timeout_ms;
    return e;
}

void elect_destroy(struct elect *e)
{
    free(e);
}

void elect_add_peer(struct elect *e, int id)
{
    if (id >= 1 && id <= ELECT_MAX_ID && id != e->cfg.self)
        e->peers[id].known = true;
}

static bool live(const struct elect *e, const struct peer *p, int64_t now)
{
    return p->heard && !p->exited && now < p->last_ms + e->cfg.peer_timeout_ms;
}

/* A message with our own id: who of the two is older? */
static enum elect_verdict twin(const struct elect *e, const struct elect_msg *m)
{
    if (m->pid == e->cfg.pid && m->incarnation == e->cfg.incarnation)
        return ELECT_IGNORED; /* our own message, sent to ourselves */
    if (m->incarnation < e->cfg.incarnation ||
        (m->incarnation == e->cfg.incarnation && m->pid < e->cfg.pid))
        return ELECT_CONFLICT_EXIT;
    return ELECT_CONFLICT_ANSWER;
}

enum elect_verdict elect_on_msg(struct elect *e, const struct elect_msg *m,
                                int64_t now)
{
    struct peer *p;

    if (m->id < 1 || m->id > ELECT_MAX_ID || m->leader < 0 ||
        m->leader > ELECT_MAX_ID)
        return ELECT_IGNORED;
    if (m->id == e->cfg.self)
        return twin(e, m);
    p = &e->peers[m->id];
    if (p->exited && m->pid == p->dead_pid && m->incarnation == p->dead_inc)
        return ELECT_IGNORED; /* a late datagram of a dead process */
    if (live(e, p, now) && m->incarnation != p->inc && m->incarnation > p->inc)
        return ELECT_IGNORED; /* a younger twin: the older one counts */
    p->known = p->heard = true;
    p->exited = false;
    p->pid = m->pid;
    p->inc = m->incarnation;
    p->leader = m->leader;
    p->last_ms = now;
    return ELECT_OK;
}

void elect_peer_exited(struct elect *e, int id, long pid)
{
    struct peer *p;

    if (id < 1 || id > ELECT_MAX_ID || id == e->cfg.self)
        return;
    p = &e->peers[id];
    if (!p->heard || p->exited || p->pid != pid)
        return;
    p->exited = true;
    p->dead_pid = p->pid;
    p->dead_inc = p->inc;
}

/* Who should lead, in our eyes, now. */
static int decide(const struct elect *e, int64_t now)
{
    int id, best_claim = 0, best_live = e->cfg.self;

    for (id = 1; id <= ELECT_MAX_ID; id++) {
        const struct peer *p = &e->peers[id];

        if (id == e->cfg.self || !live(e, p, now))
            continue;
        if (id > best_live)
            best_live = id;
        if (p->leader == id && id > best_claim)
            best_claim = id;
    }
    if (e->leader == e->cfg.self) /* sticky; a higher claimant wins */
        return best_claim > e->cfg.self ? best_claim : e->cfg.self;
    if (best_claim)
        return best_claim;
    if (now < e->learn_until)
        return 0; /* still listening for a leader in charge */
    return best_live == e->cfg.self ? e->cfg.self : 0;
}

bool elect_tick(struct elect *e, int64_t now)
{
    int next = decide(e, now);

    if (next == e->leader)
        return false;
    e->leader = next;
    e->term++;
    return true;
}

int elect_leader(const struct elect *e)
{
    return e->leader;
}

bool elect_is_leader(const struct elect *e)
{
    return e->leader == e->cfg.self;
}

uint64_t elect_term(const struct elect *e)
{
    return e->term;
}

int64_t elect_next_deadline(const struct elect *e, int64_t now)
{
    int64_t next = now < e->learn_until ? e->learn_until : INT64_MAX;
    int id;

    for (id = 1; id <= ELECT_MAX_ID; id++) {
        const struct peer *p = &e->peers[id];

        if (live(e, p, now) && p->last_ms + e->cfg.peer_timeout_ms < next)
            next = p->last_ms + e->cfg.peer_timeout_ms;
    }
    return next;
}

void elect_self_msg(const struct elect *e, struct elect_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->id = e->cfg.self;
    m->pid = e->cfg.pid;
    m->leader = e->leader;
    m->incarnation = e->cfg.incarnation;
}

size_t elect_peers(const struct elect *e, int64_t now,
                   struct elect_peer_info *out, size_t max)
{
    size_t n = 0;
    int id;

    for (id = 1; id <= ELECT_MAX_ID && n < max; id++) {
        const struct peer *p = &e->peers[id];

        if (id == e->cfg.self || !p->known)
            continue;
        out[n].id = id;
        out[n].live = live(e, p, now);
        out[n].age_ms = p->heard ? now - p->last_ms : -1;
        out[n].leader = p->heard ? p->leader : 0;
        out[n].pid = p->heard ? p->pid : 0;
        n++;
    }
    return n;
}
