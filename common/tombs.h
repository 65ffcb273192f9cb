/*
 * tombs.h - tombstones: a bounded set of ended session ids (completed or
 * aborted), so that late or redelivered messages of a session that ended
 * cannot bring it back to life.
 *
 * In memory it is a ring of the last `cap` ids plus a hash index (O(1)
 * lookups); adding a (cap+1)-th id forgets the oldest. Optionally it is
 * persisted in a state directory as the log "tombstones.wal" (one record
 * per id): tombs_load replays it (and compacts it to the last `cap` ids when
 * it holds more than 2 * cap records), tombs_add appends and syncs, so a
 * tombstone survives the crash of its process.
 */
#ifndef CS_TOMBS_H
#define CS_TOMBS_H

#include <stdbool.h>
#include <stddef.h>

#define TOMBS_ID_MAX 40 /* longest id + NUL (a UUID is 36 characters) */
#define TOMBS_LOG "tombstones"

struct wal_dir;
struct tombs;

/* An empty set remembering up to `cap` ids (cap >= 1). NULL when out of
 * memory. Not persisted until tombs_load attaches a directory. */
struct tombs *tombs_create(size_t cap);

/* Frees t (and closes its log). NULL is a no-op. */
void tombs_destroy(struct tombs *t);

/* Attaches state directory d (borrowed: must outlive t): replays
 * "tombstones.wal" into t, compacts it when large, and keeps it open for
 * tombs_add. Returns 0 or -errno. */
int tombs_load(struct tombs *t, struct wal_dir *d)
    __attribute__((warn_unused_result));

/* True when id is remembered. */
bool tombs_has(const struct tombs *t, const char *id);

/* Remembers id (a no-op when already there; ids longer than
 * TOMBS_ID_MAX - 1 are refused with -EINVAL). When a directory is
 * attached, the id is appended to the log and synced (as the directory's
 * fsync mode says) before this returns. Returns 0 or -errno; on a log error
 * the id is still remembered in memory. */
int tombs_add(struct tombs *t, const char *id)
    __attribute__((warn_unused_result));

/* Number of ids remembered (<= cap). */
size_t tombs_count(const struct tombs *t);

#endif
