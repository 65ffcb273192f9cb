/*
 * plan.c - stage table, replica spec parsing and shard functions.
 */
#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIT(s) (1u << (s))

static const struct {
    const char *name;
    bool sharded;
    unsigned upstream;
} stages[PLAN_NSTAGES] = {
    [PLAN_GATEWAY] = {"gateway", false, 0},
    [PLAN_FILTER] = {"filter", false, BIT(PLAN_GATEWAY)},
    [PLAN_AGG_Q2] = {"agg-q2", true, BIT(PLAN_FILTER)},
    [PLAN_AGG_Q3] = {"agg-q3", true, BIT(PLAN_FILTER)},
    [PLAN_AGG_Q4] = {"agg-q4", true, BIT(PLAN_FILTER)},
    [PLAN_SINK] = {"sink", true,
                   BIT(PLAN_FILTER) | BIT(PLAN_AGG_Q2) | BIT(PLAN_AGG_Q3) |
                       BIT(PLAN_AGG_Q4)},
};

static const char *const tables[PLAN_NTABLES] = {CS_TABLES(CS_NAME_STR)};
_Static_assert(PLAN_NTABLES == CS_NTABLES, "one table list");

const char *plan_stage_name(enum plan_stage_id s)
{
    return (unsigned)s < PLAN_NSTAGES ? stages[s].name : NULL;
}

int plan_stage_by_name(const char *name)
{
    int i;

    for (i = 0; i < PLAN_NSTAGES; i++)
        if (strcmp(stages[i].name, name) == 0)
            return i;
    return -1;
}

const char *plan_table_name(enum plan_table t)
{
    return (unsigned)t < PLAN_NTABLES ? tables[t] : NULL;
}

int plan_table_by_name(const char *name)
{
    int i;

    for (i = 0; i < PLAN_NTABLES; i++)
        if (strcmp(tables[i], name) == 0)
            return i;
    return -1;
}

bool plan_stage_sharded(enum plan_stage_id s)
{
    return stages[s].sharded;
}

unsigned plan_upstream(enum plan_stage_id s)
{
    return stages[s].upstream;
}

static int parse_item(struct plan *p, const char *item, size_t len, char *err,
                      size_t errsz)
{
    const char *eq = memchr(item, '=', len);
    char name[32], num[16], *end;
    long v;
    int s;

    if (eq == NULL || (size_t)(eq - item) >= sizeof(name) ||
        len - (size_t)(eq - item) - 1 >= sizeof(num)) {
        snprintf(err, errsz, "replica spec item '%.*s' is not stage=N",
                 (int)len, item);
        return -1;
    }
    memcpy(name, item, (size_t)(eq - item));
    name[eq - item] = '\0';
    memcpy(num, eq + 1, len - (size_t)(eq - item) - 1);
    num[len - (size_t)(eq - item) - 1] = '\0';
    s = plan_stage_by_name(name);
    if (s < 0 || s == PLAN_GATEWAY) {
        snprintf(err, errsz, "unknown stage '%s' in replica spec", name);
        return -1;
    }
    errno = 0;
    v = strtol(num, &end, 10);
    if (errno || *end || num[0] == '\0' || v < 1 || v > PLAN_MAX_REPLICAS) {
        snprintf(err, errsz, "replicas of '%s' must be 1..%d, got '%s'", name,
                 PLAN_MAX_REPLICAS, num);
        return -1;
    }
    p->replicas[s] = (int)v;
    return 0;
}

int plan_init(struct plan *p, const char *spec, char *err, size_t errsz)
{
    const char *cur = spec;
    int i;

    for (i = 0; i < PLAN_NSTAGES; i++)
        p->replicas[i] = 1;
    if (spec == NULL)
        return 0;
    while (*cur) {
        const char *comma = strchr(cur, ',');
        size_t len = comma ? (size_t)(comma - cur) : strlen(cur);

        if (len > 0 && parse_item(p, cur, len, err, errsz) != 0)
            return -1;
        cur += len;
        if (*cur == ',')
            cur++;
    }
    return 0;
}

void plan_exchange(enum plan_stage_id s, char *out, size_t n)
{
    snprintf(out, n, "cs.%s", stages[s].name);
}

void plan_queue(enum plan_stage_id s, const char *key, char *out, size_t n)
{
    snprintf(out, n, "%s.%s", stages[s].name, key);
}

int plan_nqueues(const struct plan *p, enum plan_stage_id s)
{
    if (s == PLAN_GATEWAY)
        return 0;
    return stages[s].sharded ? p->replicas[s] : PLAN_NTABLES;
}

void plan_queue_key(const struct plan *p, enum plan_stage_id s, int i,
                    char *out, size_t n)
{
    (void)p;
    if (stages[s].sharded)
        snprintf(out, n, "%d", i);
    else
        snprintf(out, n, "%s", tables[i]);
}

/* splitmix64 finaliser: spreads consecutive ids evenly over shards. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

unsigned plan_shard_u64(uint64_t key, int n)
{
    return n <= 1 ? 0 : (unsigned)(mix64(key) % (uint64_t)n);
}

unsigned plan_shard_session(const char *session, int n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    while (*session)
        h = (h ^ (uint8_t)*session++) * 1099511628211ULL;
    return plan_shard_u64(h, n);
}
