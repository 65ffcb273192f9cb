/*
 * wal.h - write-ahead logs in a state directory, with group commit.
 *
 * A stateful process (aggregator, sink, coordinator, gateway) owns one
 * state directory. In it, each log is a file "<name>.wal" of framed records
 *
 *     file   := header record*
 *     header := "CSWAL1\n\0"                      (8 bytes)
 *     record := len:u32le crc:u32le payload[len]
 *               (crc = zlib crc32 of len:u32le then payload, so a run of
 *               zero bytes is never a valid record)
 *
 * appended in order and replayed in order after a crash. A record is durable
 * once wal_sync (or wal_dir_sync) returned for it; a crash may leave a torn
 * or garbage tail after the last durable record: replay stops at the first
 * record that is short, oversized or fails its CRC, and truncates the file
 * there, so appending continues after the last good record.
 *
 * Group commit: appends are buffered in memory (and written to the kernel
 * when the buffer is large); wal_dir_sync writes and fdatasyncs every log
 * with unsynced records, once per ack batch, not once per message. The
 * fsync mode (CS_FSYNC) chooses:
 *   WAL_FSYNC_BATCH   fdatasync at wal_sync/wal_dir_sync (the default);
 *   WAL_FSYNC_ALWAYS  write and fdatasync inside every wal_append;
 *   WAL_FSYNC_OFF     write at wal_sync/wal_dir_sync, never fdatasync
 *                     (survives a process crash, not a machine crash);
 *   WAL_FSYNC_NONE    write nothing at all: no crash recovery (only to
 *                     measure what persistence costs).
 *
 * Fencing: wal_dir_open takes an exclusive, non-blocking flock on
 * "<dir>/LOCK"; a second process opening the same directory gets -EWOULDBLOCK
 * instead of corrupting the first one's logs. The lock dies with the process.
 *
 * Errors are negative errno values (-EIO, -ENOSPC, -ENOMEM, -EWOULDBLOCK,
 * -EINVAL, ...), the system range of the error space (err.h):
 * cs_strerror(err) describes them. Nothing here logs except
 * wal_replay, which logs (warn) what it truncated.
 */
#ifndef CS_WAL_H
#define CS_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define WAL_MAX_RECORD (256u << 20) /* larger records are refused / corrupt */
#define WAL_NAME_MAX 96             /* longest log name (without ".wal") */

enum wal_fsync {
    WAL_FSYNC_BATCH = 0,
    WAL_FSYNC_ALWAYS,
    WAL_FSYNC_OFF,
    WAL_FSYNC_NONE
};

/* Parses "batch" | "always" | "off" | "none"; returns 0 or -1. */
int wal_fsync_parse(const char *s, enum wal_fsync *out);
const char *wal_fsync_name(enum wal_fsync m);

struct wal_dir;
struct wal;

/* Creates `path` (and its parents, mode 0755) if needed and locks it.
 * Returns NULL and sets *err: -EWOULDBLOCK when another process holds the
 * lock, or the errno of the failing call. `path` is copied. */
struct wal_dir *wal_dir_open(const char *path, enum wal_fsync mode, int *err);

/* Closes every log still open (syncing nothing: call wal_dir_sync first if
 * it matters), releases the lock and frees d. NULL is a no-op. */
void wal_dir_close(struct wal_dir *d);

const char *wal_dir_path(const struct wal_dir *d);
enum wal_fsync wal_dir_mode(const struct wal_dir *d);

/* Calls fn(arg, name) for every "<name>.wal" in the directory (name without
 * the suffix; borrowed for the call), in no particular order. Stops and
 * returns fn's value when it is non-zero; else 0, or -errno. */
int wal_dir_list(struct wal_dir *d, int (*fn)(void *arg, const char *name),
                 void *arg);

/* True when a log of that name exists on disk. */
bool wal_exists(struct wal_dir *d, const char *name);

struct wal_replay_stats {
    uint64_t records; /* good records passed to fn */
    uint64_t bytes;   /* bytes of the good part of the file, header included */
    uint64_t truncated; /* bytes cut off the tail (torn or corrupt) */
};

/* Reads log `name` (a missing file is an empty log) and calls
 * fn(arg, payload, len) for every good record in order; the payload is
 * valid during the call only. A bad tail is truncated (and logged). Stops
 * and returns fn's value when it is non-zero. Returns 0 or -errno. `st` may
 * be NULL. The log must not be open for appending. */
int wal_replay(struct wal_dir *d, const char *name,
               int (*fn)(void *arg, const uint8_t *rec, size_t len), void *arg,
               struct wal_replay_stats *st) __attribute__((warn_unused_result));

/* Opens log `name` for appending, creating it (with its header) if missing.
 * Run wal_replay first when the file may have a bad tail. Names are
 * [A-Za-z0-9._-]{1,WAL_NAME_MAX}, else NULL with *err = -EINVAL. Opening a
 * name that is already open returns the same handle. */
struct wal *wal_open(struct wal_dir *d, const char *name, int *err);

/* Appends one record (copied). With WAL_FSYNC_ALWAYS it is durable on
 * return; otherwise after the next wal_sync / wal_dir_sync. */
int wal_append(struct wal *w, const void *rec, size_t len)
    __attribute__((warn_unused_result));

/* The same, the payload gathered from iov[0..n-1]. */
int wal_appendv(struct wal *w, const struct iovec *iov, int n)
    __attribute__((warn_unused_result));

/* Makes every record appended so far durable (as the mode says). */
int wal_sync(struct wal *w) __attribute__((warn_unused_result));

/* wal_sync on every open log with unsynced records: the group commit.
 * Returns 0 or the first error (every log is still tried). */
int wal_dir_sync(struct wal_dir *d) __attribute__((warn_unused_result));

/* Closes log w (unsynced records are written, not fsynced). NULL: no-op. */
void wal_close(struct wal *w);

/* Closes the log if open, deletes its file and fsyncs the directory, so the
 * deletion survives a crash. A missing file is not an error. */
int wal_remove(struct wal_dir *d, const char *name)
    __attribute__((warn_unused_result));

/* Atomically replaces log `name` with one holding exactly the records
 * produced by next(arg, &rec, &len) until it returns 0 (1 = a record; -1 =
 * error: nothing is replaced): written to "<name>.wal.tmp", fsynced, renamed
 * over the old file, directory fsynced. The log must not be open. Used to
 * compact logs (e.g. tombstones). Returns 0 or -errno. */
int wal_rewrite(struct wal_dir *d, const char *name,
                int (*next)(void *arg, const void **rec, size_t *len),
                void *arg) __attribute__((warn_unused_result));

#endif
