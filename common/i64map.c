/*
 * i64map.c - open-addressing int64 -> int64 hash map (see i64map.h).
 */
#include "i64map.h"

#include <stdlib.h>

#define I64MAP_MIN_CAP 16

/* splitmix64 finaliser: spreads consecutive ids over the whole table. */
static uint64_t mix(int64_t key)
{
    uint64_t x = (uint64_t)key;

    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

void i64map_init(struct i64map *m)
{
    m->keys = NULL;
    m->vals = NULL;
    m->used = NULL;
    m->cap = 0;
    m->len = 0;
}

void i64map_fini(struct i64map *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    i64map_init(m);
}

size_t i64map_len(const struct i64map *m)
{
    return m->len;
}

/* Slot of key, or of the empty slot where it would go. Needs cap > 0. */
static size_t probe(const struct i64map *m, int64_t key)
{
    size_t mask = m->cap - 1, i = (size_t)mix(key) & mask;

    while (m->used[i] && m->keys[i] != key)
        i = (i + 1) & mask;
    return i;
}

static int grow(struct i64map *m)
{
    struct i64map n;
    size_t i, j;

    n.cap = m->cap ? m->cap * 2 : I64MAP_MIN_CAP;
    if (n.cap < m->cap)
        return -1;
    n.len = m->len;
    n.keys = malloc(n.cap * sizeof(*n.keys));
    n.vals = malloc(n.cap * sizeof(*n.vals));
    n.used = calloc(n.cap, 1);
    if (n.keys == NULL || n.vals == NULL || n.used == NULL) {
        i64map_fini(&n);
        return -1;
    }
    for (i = 0; i < m->cap; i++) {
        if (!m->used[i])
            continue;
        j = probe(&n, m->keys[i]);
        n.used[j] = 1;
        n.keys[j] = m->keys[i];
        n.vals[j] = m->vals[i];
    }
    i64map_fini(m);
    *m = n;
    return 0;
}

int64_t *i64map_get(const struct i64map *m, int64_t key)
{
    size_t i;

    if (m->cap == 0)
        return NULL;
    i = probe(m, key);
    return m->used[i] ? &m->vals[i] : NULL;
}

int i64map_upsert(struct i64map *m, int64_t key, int64_t dflt, int64_t **val)
{
    size_t i;

    if (m->cap != 0) {
        i = probe(m, key);
        if (m->used[i]) {
            *val = &m->vals[i];
            return 0;
        }
    }
    /* keep the load factor <= 0.7 so probes stay short */
    if ((m->len + 1) * 10 > m->cap * 7 && grow(m) != 0)
        return -1;
    i = probe(m, key);
    m->used[i] = 1;
    m->keys[i] = key;
    m->vals[i] = dflt;
    m->len++;
    *val = &m->vals[i];
    return 1;
}

int i64map_put(struct i64map *m, int64_t key, int64_t val)
{
    int64_t *v;
    int rc = i64map_upsert(m, key, val, &v);

    if (rc < 0)
        return -1;
    *v = val;
    return 0;
}

int i64map_next(const struct i64map *m, size_t *it, int64_t *key, int64_t *val)
{
    while (*it < m->cap) {
        size_t i = (*it)++;

        if (!m->used[i])
            continue;
        if (key)
            *key = m->keys[i];
        if (val)
            *val = m->vals[i];
        return 1;
    }
    return 0;
}
