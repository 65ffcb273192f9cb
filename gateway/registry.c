/*
 * registry.c - the gateway's session table: the sessions of this gateway,
 * found by id (each listed session holds one reference), and the count of
 * live session threads. Sessions themselves are sessobj.c's.
 */
#include "gw.h"

#include "clock.h"

#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct gw_registry {
    pthread_mutex_t lock;
    pthread_cond_t idle;
    struct gw_session **list; /* listed sessions, unordered */
    size_t n, cap;
    int active; /* live session threads */
    int notify; /* written when a session thread ends (-1: none) */
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
    r->notify = -1;
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
    free(r->list);
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

void gw_registry_set_notify(struct gw_registry *r, int fd)
{
    pthread_mutex_lock(&r->lock);
    r->notify = fd;
    pthread_mutex_unlock(&r->lock);
}

void gw_registry_leave(struct gw_registry *r)
{
    char b = 1;

    pthread_mutex_lock(&r->lock);
    r->active--;
    pthread_cond_broadcast(&r->idle);
    /* A full pipe already says "a slot is free". */
    if (r->notify >= 0 && write(r->notify, &b, 1) < 0 && errno != EAGAIN)
        log_debug("session end not signalled: %s", strerror(errno));
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
    struct timespec ts = clock_deadline(CLOCK_REALTIME, timeout_ms);
    int n;

    pthread_mutex_lock(&r->lock);
    while (r->active > 0 &&
           pthread_cond_timedwait(&r->idle, &r->lock, &ts) == 0)
        ;
    n = r->active;
    pthread_mutex_unlock(&r->lock);
    return n;
}

int gw_registry_add(struct gw_registry *r, struct gw_session *s)
{
    int rc = 0;

    pthread_mutex_lock(&r->lock);
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct gw_session **nl = realloc(
            r->list, cap * sizeof(*nl)); // NOLINT(bugprone-sizeof-expression)

        if (nl == NULL) {
            rc = -1;
            goto out_unlock;
        }
        r->list = nl;
        r->cap = cap;
    }
    gw_session_ref(s);
    r->list[r->n++] = s;
out_unlock:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

void gw_registry_set_id(struct gw_registry *r, struct gw_session *s,
                        const char *id)
{
    pthread_mutex_lock(&r->lock);
    gw_session_set_id(s, id);
    pthread_mutex_unlock(&r->lock);
}

void gw_registry_remove(struct gw_registry *r, struct gw_session *s)
{
    bool drop = false;
    size_t i;

    pthread_mutex_lock(&r->lock);
    for (i = 0; i < r->n; i++)
        if (r->list[i] == s) {
            r->list[i] = r->list[--r->n];
            drop = true;
            break;
        }
    pthread_mutex_unlock(&r->lock);
    if (drop)
        gw_session_unref(s);
}

struct gw_session *gw_registry_get(struct gw_registry *r, const char *id)
{
    struct gw_session *s = NULL;
    size_t i;

    pthread_mutex_lock(&r->lock);
    for (i = 0; i < r->n; i++) {
        const char *sid = gw_session_id(r->list[i]);

        if (sid[0] != '\0' && strcmp(sid, id) == 0) {
            s = r->list[i];
            gw_session_ref(s);
            break;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return s;
}

void gw_registry_kick(struct gw_registry *r, bool only_waiting, uint16_t code,
                      const char *reason)
{
    size_t i;

    pthread_mutex_lock(&r->lock);
    for (i = 0; i < r->n; i++)
        if (!only_waiting || gw_session_waiting(r->list[i]))
            (void)gw_session_set_end(r->list[i], GW_END_KICKED, code, reason,
                                     NULL, 0);
    pthread_mutex_unlock(&r->lock);
}
