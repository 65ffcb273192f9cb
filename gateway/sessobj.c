/*
 * sessobj.c - the session object (see sessobj.h): its lock guards the
 * socket's writes and the end; the rest is written once before others see
 * it, atomic, or one thread's.
 */
#include "sessobj.h"

#include "names.h"
#include "proto.h"
#include "sockio.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct gw_session {
    atomic_int refs;
    /* written once: id under the registry's lock; the rest before the
     * session is listed or by the session thread before the id */
    char id[PROTO_SESSION_LEN + 1];
    char client[PROTO_NAME_MAX + 1];
    char folder[PROTO_FOLDER_MAX + 1]; /* the data folder, "" unknown */
    uint16_t version;
    char peer[80];
    int wake[2]; /* self-pipe: others -> session thread */

    pthread_mutex_t lock; /* guards the next four */
    int fd;               /* -1 once taken */
    enum gw_end end;
    uint16_t kick_code;
    char reason[256];

    atomic_bool waiting;
    atomic_uint_least64_t result_bytes;
    struct gw_rfile rfiles[CS_NRESULTS]; /* results thread only */
};

static int open_wake_pipe(int p[2])
{
    int i;

    if (pipe(p) != 0)
        return -1;
    for (i = 0; i < 2; i++)
        if (fcntl(p[i], F_SETFL, O_NONBLOCK) != 0 ||
            fcntl(p[i], F_SETFD, FD_CLOEXEC) != 0) {
            close(p[0]);
            close(p[1]);
            return -1;
        }
    return 0;
}

struct gw_session *gw_session_create(int fd, const char *peer,
                                     size_t max_pending)
{
    struct gw_session *s = calloc(1, sizeof(*s));
    int i;

    if (s == NULL)
        return NULL;
    if (open_wake_pipe(s->wake) != 0)
        goto out_free;
    if (pthread_mutex_init(&s->lock, NULL) != 0)
        goto out_pipe;
    s->fd = fd;
    atomic_init(&s->refs, 1);
    atomic_init(&s->waiting, false);
    atomic_init(&s->result_bytes, 0);
    snprintf(s->peer, sizeof(s->peer), "%s", peer);
    for (i = 0; i < CS_NRESULTS; i++)
        gw_reorder_init(&s->rfiles[i].order, max_pending);
    return s;

out_pipe:
    close(s->wake[0]);
    close(s->wake[1]);
out_free:
    free(s);
    return NULL;
}

void gw_session_ref(struct gw_session *s)
{
    atomic_fetch_add(&s->refs, 1);
}

void gw_session_unref(struct gw_session *s)
{
    int i;

    if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (i = 0; i < CS_NRESULTS; i++)
        gw_reorder_fini(&s->rfiles[i].order);
    if (s->fd >= 0)
        close(s->fd);
    close(s->wake[0]);
    close(s->wake[1]);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const char *gw_session_id(const struct gw_session *s)
{
    return s->id;
}

void gw_session_set_id(struct gw_session *s, const char *id)
{
    snprintf(s->id, sizeof(s->id), "%s", id);
}

/* Printable ASCII without quotes, '=' or spaces: safe in a log line. */
static void tame(char *c)
{
    for (; *c; c++)
        if (*c <= ' ' || *c > '~' || *c == '"' || *c == '=')
            *c = '_';
}

void gw_session_set_client(struct gw_session *s, const char *name,
                           const char *folder, uint16_t version)
{
    s->version = version;
    snprintf(s->client, sizeof(s->client), "%s", name[0] ? name : "-");
    snprintf(s->folder, sizeof(s->folder), "%s", folder);
    tame(s->client);
    tame(s->folder);
}

const char *gw_session_folder(const struct gw_session *s)
{
    return s->folder;
}

const char *gw_session_client(const struct gw_session *s)
{
    return s->client;
}

uint16_t gw_session_version(const struct gw_session *s)
{
    return s->version;
}

const char *gw_session_peer(const struct gw_session *s)
{
    return s->peer;
}

int gw_session_fd(const struct gw_session *s)
{
    return s->fd;
}

int gw_session_wake_fd(const struct gw_session *s)
{
    return s->wake[0];
}

int gw_session_take_fd(struct gw_session *s)
{
    int fd;

    pthread_mutex_lock(&s->lock);
    fd = s->fd;
    s->fd = -1;
    pthread_mutex_unlock(&s->lock);
    return fd;
}

void gw_session_wake(struct gw_session *s)
{
    char b = 1;

    /* A full pipe already means "wake up". */
    if (write(s->wake[1], &b, 1) < 0 && errno != EAGAIN)
        return;
}

bool gw_session_set_end(struct gw_session *s, enum gw_end end, uint16_t code,
                        const char *reason, const void *frame, size_t len)
{
    bool decided = false;

    pthread_mutex_lock(&s->lock);
    if (s->end == GW_END_NONE) {
        /* On failure, shutdown wakes the session thread's reader too. */
        if (frame != NULL && s->fd >= 0 &&
            sockio_send_all(s->fd, frame, len) != 0)
            (void)shutdown(s->fd, SHUT_RDWR);
        s->end = end;
        s->kick_code = code;
        snprintf(s->reason, sizeof(s->reason), "%s", reason ? reason : "");
        decided = true;
    }
    pthread_mutex_unlock(&s->lock);
    if (decided)
        gw_session_wake(s);
    return decided;
}

enum gw_end gw_session_end(struct gw_session *s, uint16_t *code, char *reason,
                           size_t n)
{
    enum gw_end e;
    char b[64];

    while (read(s->wake[0], b, sizeof(b)) > 0)
        ;
    pthread_mutex_lock(&s->lock);
    e = s->end;
    *code = s->kick_code;
    if (reason != NULL)
        snprintf(reason, n, "%s", s->reason);
    pthread_mutex_unlock(&s->lock);
    return e;
}

int gw_session_sendv(struct gw_session *s, struct iovec *iov, int iovcnt)
{
    int rc = -EPIPE;

    pthread_mutex_lock(&s->lock);
    if (s->fd >= 0) {
        rc = sockio_sendv_all(s->fd, iov, iovcnt);
        /* Wake the reader out of a blocked poll; it closes the socket. */
        if (rc != 0)
            (void)shutdown(s->fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int gw_session_send(struct gw_session *s, const void *p, size_t n)
{
    struct iovec iov = {(void *)(uintptr_t)p, n};

    return gw_session_sendv(s, &iov, 1);
}

void gw_session_set_waiting(struct gw_session *s)
{
    atomic_store(&s->waiting, true);
}

bool gw_session_waiting(const struct gw_session *s)
{
    return atomic_load(&s->waiting);
}

void gw_session_add_result_bytes(struct gw_session *s, uint64_t n)
{
    atomic_fetch_add(&s->result_bytes, n);
}

uint64_t gw_session_result_bytes(const struct gw_session *s)
{
    return atomic_load(&s->result_bytes);
}

struct gw_rfile *gw_session_rfile(struct gw_session *s, int i)
{
    return &s->rfiles[i];
}
