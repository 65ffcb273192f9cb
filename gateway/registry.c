/*
 * registry.c - the gateway's session table: lookup by id, reference counts,
 * the per-session socket lock and the self-pipe that wakes a session thread.
 */
#include "gw.h"

#include "sockio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct gw_registry {
    pthread_mutex_t lock;
    pthread_cond_t idle;
    struct gw_session *head;
    int active; /* live session threads */
};

struct gw_registry *gw_registry_create(void)
{
    struct gw_registry *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    if (pthread_mutex_init(&r->lock, NULL) != 0)
        goto out_free;
    if (pthread_cond_init(&r->idle, NULL) != 0)
        goto out_mutex;
    return r;

out_mutex:
    pthread_mutex_destroy(&r->lock);
out_free:
    free(r);
    return NULL;
}

void gw_registry_destroy(struct gw_registry *r)
{
    if (r == NULL)
        return;
    pthread_cond_destroy(&r->idle);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

void gw_registry_enter(struct gw_registry *r)
{
    pthread_mutex_lock(&r->lock);
    r->active++;
    pthread_mutex_unlock(&r->lock);
}

void gw_registry_leave(struct gw_registry *r)
{
    pthread_mutex_lock(&r->lock);
    r->active--;
    pthread_cond_broadcast(&r->idle);
    pthread_mutex_unlock(&r->lock);
}

int gw_registry_active(struct gw_registry *r)
{
    int n;

    pthread_mutex_lock(&r->lock);
    n = r->active;
    pthread_mutex_unlock(&r->lock);
    return n;
}

int gw_registry_wait_idle(struct gw_registry *r, int timeout_ms)
{
    struct timespec ts;
    int n;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->lock);
    while (r->active > 0 && pthread_cond_timedwait(&r->idle, &r->lock, &ts) == 0)
        ;
    n = r->active;
    pthread_mutex_unlock(&r->lock);
    return n;
}

struct gw_session *gw_session_create(int fd, const char *peer)
{
    struct gw_session *s = calloc(1, sizeof(*s));
    int i;

    if (s == NULL)
        return NULL;
    if (pipe(s->wake) != 0)
        goto out_free;
    for (i = 0; i < 2; i++)
        if (fcntl(s->wake[i], F_SETFL, O_NONBLOCK) != 0 ||
            fcntl(s->wake[i], F_SETFD, FD_CLOEXEC) != 0)
            goto out_pipe;
    if (pthread_mutex_init(&s->lock, NULL) != 0)
        goto out_pipe;
    s->fd = fd;
    s->refs = 1;
    atomic_init(&s->waiting, false);
    atomic_init(&s->result_bytes, 0);
    snprintf(s->peer, sizeof(s->peer), "%s", peer);
    return s;

out_pipe:
    close(s->wake[0]);
    close(s->wake[1]);
out_free:
    free(s);
    return NULL;
}

static void session_free(struct gw_session *s)
{
    gw_results_forget(s);
    if (s->fd >= 0)
        close(s->fd);
    close(s->wake[0]);
    close(s->wake[1]);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void gw_registry_add(struct gw_registry *r, struct gw_session *s)
{
    pthread_mutex_lock(&r->lock);
    s->refs++;
    s->listed = true;
    s->next = r->head;
    r->head = s;
    pthread_mutex_unlock(&r->lock);
}

void gw_registry_set_id(struct gw_registry *r, struct gw_session *s,
                        const char *id)
{
    pthread_mutex_lock(&r->lock);
    snprintf(s->id, sizeof(s->id), "%s", id);
    pthread_mutex_unlock(&r->lock);
}

void gw_registry_remove(struct gw_registry *r, struct gw_session *s)
{
    struct gw_session **pp;
    bool drop = false;

    pthread_mutex_lock(&r->lock);
    for (pp = &r->head; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            s->listed = false;
            drop = true;
            break;
        }
    pthread_mutex_unlock(&r->lock);
    if (drop)
        gw_registry_put(r, s);
}

struct gw_session *gw_registry_get(struct gw_registry *r, const char *id)
{
    struct gw_session *s;

    pthread_mutex_lock(&r->lock);
    for (s = r->head; s; s = s->next)
        if (s->id[0] != '\0' && strcmp(s->id, id) == 0) {
            s->refs++;
            break;
        }
    pthread_mutex_unlock(&r->lock);
    return s;
}

void gw_registry_put(struct gw_registry *r, struct gw_session *s)
{
    bool last;

    if (s == NULL)
        return;
    pthread_mutex_lock(&r->lock);
    last = --s->refs == 0;
    pthread_mutex_unlock(&r->lock);
    if (last)
        session_free(s);
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
        if (frame != NULL && s->fd >= 0 && sockio_send_all(s->fd, frame, len) != 0)
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

void gw_registry_kick(struct gw_registry *r, bool only_waiting, uint16_t code,
                      const char *reason)
{
    struct gw_session *s;

    pthread_mutex_lock(&r->lock);
    for (s = r->head; s; s = s->next)
        if (!only_waiting || atomic_load(&s->waiting))
            (void)gw_session_set_end(s, GW_END_KICKED, code, reason, NULL, 0);
    pthread_mutex_unlock(&r->lock);
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
