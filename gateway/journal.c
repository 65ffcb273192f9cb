/*
 * journal.c - the gateway's journal of open sessions, so that a gateway
 * that dies does not leave its sessions hanging in the pipeline.
 *
 * A session's id is logged (CS_STATE_DIR/gateway-<id>/sessions.wal, synced)
 * before its session_start is published, and its end after its outcome is
 * settled (results delivered, or abort published). A gateway that starts
 * finds in the journal the sessions its predecessor left open: their clients
 * lost the connection with it (and run their sessions again, see the
 * client), so it aborts them in the pipeline, which frees their state.
 *
 * Records are "S<id>" and "E<id>". The log is compacted (rewritten with the
 * open sessions only) when it holds many records. Thread-safe: every session
 * thread writes through one mutex.
 */
#include "gw.h"

#include "grow.h"
#include "log.h"
#include "state.h"
#include "wal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define LOG_NAME "sessions"
#define COMPACT_AT 4096 /* records */

struct gw_journal {
    pthread_mutex_t lock;
    struct wal_dir *dir;
    struct wal *log;
    char (*open)[PROTO_SESSION_LEN + 1]; /* ids of open sessions */
    size_t nopen, cap;
    size_t records;
};

static ssize_t find_open(const struct gw_journal *j, const char *id)
{
    size_t i;

    for (i = 0; i < j->nopen; i++)
        if (strcmp(j->open[i], id) == 0)
            return (ssize_t)i;
    return -1;
}

static int add_open(struct gw_journal *j, const char *id)
{
    if (find_open(j, id) >= 0 || strlen(id) > PROTO_SESSION_LEN)
        return 0;
    if (grow_array((void **)&j->open, &j->cap, j->nopen + 1, sizeof(*j->open),
                   64) != 0)
        return -ENOMEM;
    memcpy(j->open[j->nopen++], id, strlen(id) + 1);
    return 0;
}

static void del_open(struct gw_journal *j, const char *id)
{
    ssize_t i = find_open(j, id);

    if (i >= 0)
        memmove(j->open[i], j->open[--j->nopen], sizeof(j->open[0]));
}

static int replay_one(void *arg, const uint8_t *rec, size_t len)
{
    struct gw_journal *j = arg;
    char id[PROTO_SESSION_LEN + 1];

    if (len < 2 || len - 1 > PROTO_SESSION_LEN)
        return 0;
    memcpy(id, rec + 1, len - 1);
    id[len - 1] = '\0';
    if (rec[0] == 'S')
        return add_open(j, id);
    if (rec[0] == 'E')
        del_open(j, id);
    return 0;
}

/* Iterator for wal_rewrite: the open sessions as S records. */
struct rewrite_it {
    struct gw_journal *j;
    size_t i;
    char rec[PROTO_SESSION_LEN + 2];
};

static int next_open(void *arg, const void **rec, size_t *len)
{
    struct rewrite_it *it = arg;

    if (it->i >= it->j->nopen)
        return 0;
    it->rec[0] = 'S';
    *len = strlen(it->j->open[it->i]) + 1;
    memcpy(it->rec + 1, it->j->open[it->i++], *len - 1);
    *rec = it->rec;
    return 1;
}

/* Rewrites the log with the open sessions only, and reopens it. */
static int compact(struct gw_journal *j)
{
    struct rewrite_it it = {j, 0, {0}};
    int rc, err = 0;

    wal_close(j->log);
    j->log = NULL;
    rc = wal_rewrite(j->dir, LOG_NAME, next_open, &it);
    j->log = wal_open(j->dir, LOG_NAME, &err);
    j->records = j->nopen;
    return rc ? rc : j->log ? 0 : err;
}

struct gw_journal *gw_journal_open(const struct gw_config *cfg)
{
    struct gw_journal *j = calloc(1, sizeof(*j));
    char name[GW_ID_MAX + 16];
    int rc;

    if (j == NULL || pthread_mutex_init(&j->lock, NULL) != 0) {
        free(j);
        return NULL;
    }
    snprintf(name, sizeof(name), "gateway-%s", cfg->id);
    j->dir = state_open(cfg->state_dir, name, cfg->fsync);
    if (j->dir == NULL)
        goto out_free;
    rc = wal_replay(j->dir, LOG_NAME, replay_one, j, NULL);
    if (rc == 0)
        rc = compact(j);
    if (rc != 0) {
        log_error("cannot recover the session journal: %s", strerror(-rc));
        goto out_free;
    }
    return j;

out_free:
    gw_journal_close(j);
    return NULL;
}

size_t gw_journal_orphans(const struct gw_journal *j, const char **ids,
                          size_t max)
{
    size_t i;

    for (i = 0; i < j->nopen && i < max; i++)
        ids[i] = j->open[i];
    return j->nopen;
}

static int write_rec(struct gw_journal *j, char kind, const char *id)
{
    char rec[PROTO_SESSION_LEN + 2];
    size_t n = strlen(id);
    int rc;

    if (n > PROTO_SESSION_LEN)
        return -EINVAL;
    rec[0] = kind;
    /* a record, not a string: its NUL-less id ends at the frame's length */
    memcpy(rec + 1, id, n); // NOLINT(bugprone-not-null-terminated-result)
    pthread_mutex_lock(&j->lock);
    rc = kind == 'S' ? add_open(j, id) : 0;
    if (kind == 'E')
        del_open(j, id);
    if (rc == 0)
        rc = wal_append(j->log, rec, n + 1);
    if (rc == 0)
        rc = wal_sync(j->log);
    if (rc == 0 && ++j->records >= COMPACT_AT)
        rc = compact(j);
    pthread_mutex_unlock(&j->lock);
    return rc;
}

int gw_journal_start(struct gw_journal *j, const char *id)
{
    return write_rec(j, 'S', id);
}

int gw_journal_end(struct gw_journal *j, const char *id)
{
    return write_rec(j, 'E', id);
}

void gw_journal_close(struct gw_journal *j)
{
    if (j == NULL)
        return;
    wal_close(j->log);
    wal_dir_close(j->dir);
    free(j->open);
    pthread_mutex_destroy(&j->lock);
    free(j);
}
