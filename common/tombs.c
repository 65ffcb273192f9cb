/*
 * tombs.c - bounded set of ended session ids (see tombs.h).
 *
 * The ids live in a ring of `cap` fixed-size slots (oldest at `head`); an
 * open-addressing table with linear probing maps an id to its ring slot.
 * Evicting the oldest id deletes it from the table by backward shifting
 * (no tombstone markers in the table itself, so lookups never slow down
 * however many ids went through). The table has at least twice as many
 * slots as the ring, so probes stay short.
 *
 * The log "tombstones.wal" gets one record per id added, so it grows past
 * `cap` while the process runs; tombs_load rewrites it to the ring's content
 * when it holds more than 2 * cap records, so a restart never replays more
 * than one run's worth of ids plus the last `cap`.
 */
#include "tombs.h"

#include "wal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct tombs {
    size_t cap;                /* ring size */
    size_t n;                  /* ids in the ring */
    size_t head;               /* ring slot of the oldest id */
    char (*ids)[TOMBS_ID_MAX]; /* ring of NUL-terminated ids */
    uint64_t *hash;            /* hash of ids[i] */
    size_t *table;             /* ring slot + 1, or 0 when empty */
    size_t mask;               /* table size - 1 (a power of two) */
    struct wal *log;           /* NULL until tombs_load */
};

/* FNV-1a, then a multiply-xorshift: ids are UUIDs, but nothing checks
 * that, and sequential ids would cluster under plain FNV low bits. */
static uint64_t hash_id(const char *id, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (uint8_t)id[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 32;
    h *= 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
}

struct tombs *tombs_create(size_t cap)
{
    struct tombs *t;
    size_t tsize = 4;

    if (cap == 0 || cap > SIZE_MAX / 4 / sizeof(size_t))
        return NULL;
    while (tsize < 2 * cap)
        tsize *= 2;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->cap = cap;
    t->mask = tsize - 1;
    t->ids = calloc(cap, sizeof(*t->ids));
    t->hash = calloc(cap, sizeof(*t->hash));
    t->table = calloc(tsize, sizeof(*t->table));
    if (t->ids == NULL || t->hash == NULL || t->table == NULL) {
        tombs_destroy(t);
        return NULL;
    }
    return t;
}

void tombs_destroy(struct tombs *t)
{
    if (t == NULL)
        return;
    wal_close(t->log);
    free(t->ids);
    free(t->hash);
    free(t->table);
    free(t);
}

/* Table position of id, or of the empty position where it would go. */
static size_t probe(const struct tombs *t, const char *id, uint64_t h)
{
    size_t i = (size_t)h & t->mask;

    while (t->table[i] != 0 && (t->hash[t->table[i] - 1] != h ||
                                strcmp(t->ids[t->table[i] - 1], id) != 0))
        i = (i + 1) & t->mask;
    return i;
}

/* Empties table position i, moving later entries of its probe run back
 * into the hole so that every entry stays reachable from its home. */
static void table_delete(struct tombs *t, size_t i)
{
    size_t j = i;

    for (;;) {
        size_t home;

        j = (j + 1) & t->mask;
        if (t->table[j] == 0)
            break;
        home = (size_t)t->hash[t->table[j] - 1] & t->mask;
        /* the entry at j may fill the hole at i unless its home lies
         * cyclically in (i, j] */
        if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
            t->table[i] = t->table[j];
            i = j;
        }
    }
    t->table[i] = 0;
}

static void evict_oldest(struct tombs *t)
{
    size_t slot = t->head;

    table_delete(t, probe(t, t->ids[slot], t->hash[slot]));
    t->head = (t->head + 1) % t->cap;
    t->n--;
}

/* Adds id (len < TOMBS_ID_MAX, not present) to the memory set. */
static void remember(struct tombs *t, const char *id, size_t len, uint64_t h)
{
    size_t slot;

    if (t->n == t->cap)
        evict_oldest(t);
    slot = (t->head + t->n) % t->cap;
    memcpy(t->ids[slot], id, len);
    t->ids[slot][len] = '\0';
    t->hash[slot] = h;
    t->table[probe(t, t->ids[slot], h)] = slot + 1;
    t->n++;
}

/* Adds id to memory unless present. Returns 1 if new, 0 if known, or
 * -EINVAL for an empty or too long id. */
static int add_mem(struct tombs *t, const char *id, size_t len)
{
    uint64_t h;

    if (len == 0 || len >= TOMBS_ID_MAX || memchr(id, '\0', len) != NULL)
        return -EINVAL;
    h = hash_id(id, len);
    if (t->table[probe(t, id, h)] != 0)
        return 0;
    remember(t, id, len, h);
    return 1;
}

bool tombs_has(const struct tombs *t, const char *id)
{
    size_t len = strnlen(id, TOMBS_ID_MAX);

    if (len == 0 || len >= TOMBS_ID_MAX)
        return false;
    return t->table[probe(t, id, hash_id(id, len))] != 0;
}

size_t tombs_count(const struct tombs *t)
{
    return t->n;
}

int tombs_add(struct tombs *t, const char *id)
{
    size_t len = strnlen(id, TOMBS_ID_MAX);
    int rc = add_mem(t, id, len);

    if (rc <= 0 || t->log == NULL)
        return rc < 0 ? rc : 0;
    rc = wal_append(t->log, id, len);
    return rc != 0 ? rc : wal_sync(t->log);
}

/* Replay callback: a record is an id without its NUL. A record that is no
 * valid id (a foreign or damaged but CRC-clean log) is skipped, not fatal:
 * losing one tombstone is better than refusing to start. */
static int on_record(void *arg, const uint8_t *rec, size_t len)
{
    struct tombs *t = arg;
    char id[TOMBS_ID_MAX];

    if (len == 0 || len >= TOMBS_ID_MAX)
        return 0;
    memcpy(id, rec, len);
    id[len] = '\0';
    /* -EINVAL (an embedded NUL) is the skip described above */
    (void)add_mem(t, id, len);
    return 0;
}

/* wal_rewrite source: the ring from oldest to newest. */
struct ring_iter {
    const struct tombs *t;
    size_t i;
};

static int next_id(void *arg, const void **rec, size_t *len)
{
    struct ring_iter *it = arg;
    const struct tombs *t = it->t;
    const char *id;

    if (it->i == t->n)
        return 0;
    id = t->ids[(t->head + it->i) % t->cap];
    it->i++;
    *rec = id;
    *len = strlen(id);
    return 1;
}

int tombs_load(struct tombs *t, struct wal_dir *d)
{
    struct wal_replay_stats st;
    struct ring_iter it = {t, 0};
    int rc;

    if (t->log != NULL)
        return -EBUSY;
    rc = wal_replay(d, TOMBS_LOG, on_record, t, &st);
    if (rc != 0)
        return rc;
    if (st.records > 2 * (uint64_t)t->cap) {
        rc = wal_rewrite(d, TOMBS_LOG, next_id, &it);
        if (rc != 0)
            return rc;
    }
    t->log = wal_open(d, TOMBS_LOG, &rc);
    return t->log != NULL ? 0 : rc;
}
