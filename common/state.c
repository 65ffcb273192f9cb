/*
 * state.c - opening a process's state directory (see state.h).
 */
#include "state.h"

#include "log.h"
#include "wal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int state_check_fsync(const char *fsync)
{
    enum wal_fsync m;

    if (wal_fsync_parse(fsync, &m) == 0)
        return 0;
    fprintf(stderr, "error: CS_FSYNC '%s' must be batch, always, off or none\n",
            fsync);
    return -1;
}

struct wal_dir *state_open(const char *root, const char *name,
                           const char *fsync)
{
    char path[4096];
    enum wal_fsync mode = WAL_FSYNC_BATCH;
    struct wal_dir *d;
    int err = 0, n;

    if (wal_fsync_parse(fsync, &mode) != 0)
        return NULL;
    n = snprintf(path, sizeof(path), "%s/%s", root, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        log_error("state directory path too long: %s/%s", root, name);
        return NULL;
    }
    d = wal_dir_open(path, mode, &err);
    if (d == NULL && err == -EWOULDBLOCK)
        log_error("state directory %s is locked by another running process "
                  "with the same identity (a second replica with the same "
                  "index?)",
                  path);
    else if (d == NULL)
        log_error("cannot open state directory %s: %s (CS_STATE_DIR)", path,
                  strerror(-err));
    else if (mode == WAL_FSYNC_NONE)
        log_warn("state directory %s: CS_FSYNC=none, nothing is logged: a "
                 "crash of this process loses its sessions",
                 path);
    else
        log_info("state directory %s fsync=%s", path, wal_fsync_name(mode));
    return d;
}
