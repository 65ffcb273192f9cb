/*
 * state.h - where stateful processes keep their write-ahead logs.
 *
 * Every stateful process (coordinator, aggregator and sink replicas, the
 * gateway) owns the directory CS_STATE_DIR/<name> (e.g. state/agg-q2-1),
 * locked while it runs, so that a restarted process finds what its
 * predecessor logged and a second process with the same identity is
 * refused. CS_FSYNC picks the durability (wal.h): batch (default), always,
 * off.
 */
#ifndef CS_STATE_H
#define CS_STATE_H

#include "cfg.h"

#define STATE_DIR_DEFAULT "state"
#define STATE_FSYNC_DEFAULT "batch"

/* The two cfg_opt rows every stateful process offers. */
#define STATE_CFG_OPTS(dir_dst, fsync_dst)                                     \
    {"CS_STATE_DIR",                                                           \
     "state-dir",                                                              \
     CFG_STR,                                                                  \
     STATE_DIR_DEFAULT,                                                        \
     0,                                                                        \
     0,                                                                        \
     false,                                                                    \
     "directory for write-ahead logs (a subdirectory per process, locked)",    \
     (dir_dst)},                                                               \
    {                                                                          \
        "CS_FSYNC", "fsync", CFG_STR, STATE_FSYNC_DEFAULT, 0, 0, false,        \
            "log durability: batch (one fdatasync per ack batch), always "     \
            "(per "                                                            \
            "message), off (no fdatasync: survives a process crash, not a "    \
            "machine "                                                         \
            "crash), none (no log: no crash recovery; benchmarks only)",       \
            (fsync_dst)                                                        \
    }

struct wal_dir;

/* Checks a CS_FSYNC value; 0, or -1 with a message on stderr. */
int state_check_fsync(const char *fsync);

/* Opens (creating, locking) <root>/<name>. Logs why and returns NULL on
 * failure (another process holds it, no permission, disk full...). */
struct wal_dir *state_open(const char *root, const char *name,
                           const char *fsync);

#endif
