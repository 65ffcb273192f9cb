/*
 * i64map.h - open-addressing hash map from int64 keys to int64 values.
 *
 * Linear probing over a power-of-two table that doubles when it is 70% full,
 * so inserting allocates only when the table grows. Every int64 is a valid
 * key. There is no removal: the users (aggregation groups, dictionaries,
 * name tables) only grow until the whole map is dropped.
 */
#ifndef CS_I64MAP_H
#define CS_I64MAP_H

#include <stddef.h>
#include <stdint.h>

struct i64map {
    int64_t *keys;
    int64_t *vals;
    uint8_t *used;
    size_t cap; /* 0 or a power of two */
    size_t len;
};

/* Initialises an empty map in the caller's storage (allocates nothing). */
void i64map_init(struct i64map *m);

/* Frees the table; the map is empty (and reusable) afterwards. */
void i64map_fini(struct i64map *m);

/* Number of keys. */
size_t i64map_len(const struct i64map *m);

/* Pointer to the value of key, or NULL if absent. Valid until the next
 * insertion (which may move the table). */
int64_t *i64map_get(const struct i64map *m, int64_t key);

/* Finds key, inserting it with value dflt if absent. On success *val points
 * at its value (valid until the next insertion). Returns 1 if inserted,
 * 0 if found, -1 when out of memory (the map is unchanged). */
int i64map_upsert(struct i64map *m, int64_t key, int64_t dflt, int64_t **val)
    __attribute__((warn_unused_result));

/* Sets key to val (inserting or overwriting). Returns 0, or -1 when out of
 * memory. */
int i64map_put(struct i64map *m, int64_t key, int64_t val)
    __attribute__((warn_unused_result));

/* Iteration in table order: start with *it = 0; returns 1 and fills key/val
 * (either may be NULL) for each entry, 0 at the end. The map must not be
 * modified meanwhile. */
int i64map_next(const struct i64map *m, size_t *it, int64_t *key, int64_t *val);

#endif
