/*
 * lobby.c - the front door: accept, admission, and the waiting line of the
 * clients over MAX_SESSIONS (see lobby.h). One poll(2) over the listening
 * socket, a wake-up pipe (a session ended: gw_registry_leave writes it) and
 * the waiting sockets; everything here runs on the main thread.
 */
#include "lobby.h"

#include "gw.h"

#include "clock.h"
#include "hb.h"
#include "log.h"
#include "sig.h"
#include "sockio.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 250
#define ACCEPT_BATCH 64     /* connections taken per wake-up */
#define REFUSE_SEND_MS 1000 /* an ERROR to a client we turn away */
#define STATUS_MIN_S 1.0    /* between two places told to one client */
#define HELLO_BUF (PROTO_HDR_LEN + 96) /* > the longest valid HELLO */
#define GW_LINE_STATUS_S 10.0 /* a place is told again at least this often */

/* A client in line: its socket, and its HELLO as far as it came. */
struct waiter {
    int fd;        /* -1: gone, to be swept */
    bool eager;    /* sent more than its HELLO: left unread, not watched */
    uint16_t have; /* bytes of buf filled */
    size_t told;   /* place last told (0: none) */
    double since, told_at;
    struct gw_stream st;
    char name[PROTO_NAME_MAX + 1];
    char folder[PROTO_FOLDER_MAX + 1];
    char peer[80];
    uint8_t buf[HELLO_BUF];
};

struct gw_lobby {
    struct gw_server *srv;
    int wake[2];
    struct waiter **line; /* first come first */
    size_t n, cap;
    struct pollfd *pfd; /* 2 + cap */
};

void gw_block_stop_signals(bool block)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

/* Enough descriptors for the line and the sessions (each has a socket, a
 * wake-up pipe and a broker connection). */
static void raise_fd_limit(const struct gw_config *cfg)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)(cfg->max_waiting + 4 * cfg->max_sessions + 64);

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur =
        rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
        log_warn(
            "open file limit %llu is below the %llu that GATEWAY_MAX_WAITING "
            "and MAX_SESSIONS may need",
            (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

struct gw_lobby *gw_lobby_create(struct gw_server *srv)
{
    struct gw_lobby *l = calloc(1, sizeof(*l));
    int i;

    if (l == NULL)
        goto out_log;
    l->srv = srv;
    l->cap = (size_t)srv->cfg->max_waiting;
    l->line = calloc(l->cap + 1,
                     sizeof(*l->line)); // NOLINT(bugprone-sizeof-expression)
    l->pfd = calloc(l->cap + 2, sizeof(*l->pfd));
    if (l->line == NULL || l->pfd == NULL || pipe(l->wake) != 0)
        goto out_free;
    for (i = 0; i < 2; i++)
        if (fcntl(l->wake[i], F_SETFL, O_NONBLOCK) != 0 ||
            fcntl(l->wake[i], F_SETFD, FD_CLOEXEC) != 0)
            goto out_pipe;
    raise_fd_limit(srv->cfg);
    gw_registry_set_notify(srv->reg, l->wake[1]);
    return l;

out_pipe:
    close(l->wake[0]);
    close(l->wake[1]);
out_free:
    free(l->pfd);
    free(l->line);
    free(l);
out_log:
    log_error("cannot set up the waiting line: out of memory or descriptors");
    return NULL;
}

void gw_lobby_destroy(struct gw_lobby *l)
{
    if (l == NULL)
        return;
    gw_registry_set_notify(l->srv->reg, -1);
    close(l->wake[0]);
    close(l->wake[1]);
    free(l->pfd);
    free(l->line);
    free(l);
}

static void peer_name(const struct sockaddr_storage *ss, socklen_t len,
                      char *out, size_t n)
{
    char host[NI_MAXHOST], port[NI_MAXSERV];

    if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host), port,
                    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        snprintf(out, n, "?");
    else if (strchr(host, ':'))
        snprintf(out, n, "[%.60s]:%.8s", host, port);
    else
        snprintf(out, n, "%.60s:%.8s", host, port);
}

/* Turns a client away: ERROR(code, text) (best effort), then close. */
static void refuse(int fd, const char *peer, uint16_t code, const char *text)
{
    struct proto_buf b;

    proto_buf_init(&b);
    if (sockio_set_send_timeout(fd, REFUSE_SEND_MS) == 0 &&
        proto_enc_error(&b, code, text) == 0 &&
        sockio_send_all(fd, b.ptr, b.len) == 0)
        (void)shutdown(fd, SHUT_WR);
    proto_buf_fini(&b);
    close(fd);
    log_warn("connection rejected peer=%s reason=\"%s\"", peer, text);
}

/* Starts a session thread for fd (owned from now on); w: the client's line
 * record when it waited (its HELLO read), else NULL. */
static void start_session(struct gw_server *srv, int fd, const char *peer,
                          const struct waiter *w)
{
    struct gw_session_arg *arg = malloc(sizeof(*arg));
    struct gw_session *s = NULL;
    pthread_attr_t attr;
    pthread_t th;
    int rc = -1;

    if (arg == NULL ||
        sockio_set_send_timeout(fd, (int)srv->cfg->idle_timeout_s * 1000) !=
            0 ||
        (s = gw_session_create(fd, peer, GW_MAX_PENDING)) == NULL ||
        gw_registry_add(srv->reg, s) != 0) {
        log_error("cannot start a session peer=%s: %s", peer, strerror(errno));
        free(arg);
        if (s != NULL)
            gw_session_unref(s); /* closes fd */
        else
            close(fd);
        return;
    }
    arg->srv = srv;
    arg->s = s;
    gw_stream_init(&arg->st);
    if (w != NULL) {
        arg->st = w->st;
        gw_session_set_client(s, w->name, w->folder, w->st.version);
    }
    gw_registry_enter(srv->reg);
    if (pthread_attr_init(&attr) == 0) {
        if (pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0) {
            gw_block_stop_signals(true);
            rc = pthread_create(&th, &attr, gw_session_main, arg);
            gw_block_stop_signals(false);
        }
        pthread_attr_destroy(&attr);
    }
    if (rc != 0) {
        log_error("cannot start a session thread peer=%s", peer);
        gw_registry_remove(srv->reg, s);
        gw_session_unref(s); /* closes fd */
        gw_registry_leave(srv->reg);
        free(arg);
    }
}

/* Drops w from the line (its socket closed; swept later). */
static void leave_line(struct waiter *w, const char *why)
{
    log_info("client left the line peer=%s waited_s=%.2f reason=\"%s\"",
             w->peer, clock_mono_s() - w->since, why);
    close(w->fd);
    w->fd = -1;
}

/* Refuses w for the failing verdict v of its first frame. */
static void refuse_verdict(struct gw_lobby *l, struct waiter *w,
                           enum gw_verdict v)
{
    char why[300];
    uint16_t code =
        gw_stream_reason(&w->st, v, l->srv->cfg->max_frame, why, sizeof(why));

    refuse(w->fd, w->peer, code, why);
    w->fd = -1;
}

/* The first frame's header is in: the verdict on it, GW_V_OK to read on. */
static enum gw_verdict check_header(struct gw_lobby *l, struct waiter *w,
                                    uint32_t len)
{
    struct proto_decoder d;
    struct proto_frame f;
    struct proto_msg m;
    int rc;

    /* The decoder's own header checks (size cap, known type). */
    proto_decoder_init(&d, (uint32_t)l->srv->cfg->max_frame);
    rc = proto_decoder_feed(&d, w->buf, PROTO_HDR_LEN);
    if (rc == 0)
        rc = proto_decoder_next(&d, &f);
    proto_decoder_fini(&d);
    if (rc < 0)
        return gw_stream_header(&w->st, rc);
    f.type = w->buf[PROTO_HDR_LEN - 1];
    f.payload = w->buf + PROTO_HDR_LEN;
    f.len = 0;
    if (f.type != PROTO_HELLO || len > HELLO_BUF - PROTO_HDR_LEN)
        return gw_stream_hello(&w->st, &f, &m); /* refused whatever follows */
    return GW_V_OK;
}

/* Reads what w sent: its HELLO, up to the last byte of it and no further. */
static void waiter_read(struct gw_lobby *l, struct waiter *w)
{
    const uint8_t *h = w->buf;
    uint32_t len = 0;
    size_t need = PROTO_HDR_LEN - (w->have < PROTO_HDR_LEN ? w->have : 0);
    struct proto_frame f;
    struct proto_msg m;
    enum gw_verdict v;
    ssize_t n;

    if (w->have >= PROTO_HDR_LEN) {
        len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
              (uint32_t)h[2] << 8 | h[3];
        need = PROTO_HDR_LEN + len - w->have;
    }
    n = read(w->fd, w->buf + w->have, need);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        leave_line(w, n == 0 ? "client disconnected" : strerror(errno));
        return;
    }
    if (w->have < PROTO_HDR_LEN && w->have + n == PROTO_HDR_LEN) {
        w->have = PROTO_HDR_LEN;
        len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
              (uint32_t)h[2] << 8 | h[3];
        if ((v = check_header(l, w, len)) != GW_V_OK) {
            refuse_verdict(l, w, v);
            return;
        }
    } else {
        w->have += (uint16_t)n;
    }
    if (w->have < PROTO_HDR_LEN || w->have < PROTO_HDR_LEN + len)
        return;
    f.type = PROTO_HELLO;
    f.payload = w->buf + PROTO_HDR_LEN;
    f.len = len;
    if ((v = gw_stream_hello(&w->st, &f, &m)) != GW_V_OK) {
        refuse_verdict(l, w, v);
        return;
    }
    snprintf(w->name, sizeof(w->name), "%s", m.u.hello.name);
    snprintf(w->folder, sizeof(w->folder), "%s", m.u.hello.folder);
}

/* A client waiting after its HELLO either sends more (it is not ours to
 * read: the session will) or leaves. */
static void waiter_peek(struct waiter *w)
{
    char b;
    ssize_t n = recv(w->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

    if (n > 0)
        w->eager = true;
    else if (n == 0 || (errno != EINTR && errno != EAGAIN))
        leave_line(w, n == 0 ? "client disconnected" : strerror(errno));
}

/* A new client: straight to a session while slots are free and nobody
 * waits, else in line, else (the line is full) turned away. */
static void arrive(struct gw_lobby *l, int fd, const char *peer)
{
    const struct gw_config *cfg = l->srv->cfg;
    struct waiter *w;
    char text[200];

    if (l->n == 0 && gw_registry_active(l->srv->reg) < cfg->max_sessions) {
        start_session(l->srv, fd, peer, NULL);
        return;
    }
    if (l->n >= l->cap || (w = calloc(1, sizeof(*w))) == NULL) {
        snprintf(
            text, sizeof(text),
            "the gateway is full: %ld sessions run and "
            "%zu clients wait (MAX_SESSIONS, GATEWAY_MAX_WAITING); try again "
            "later",
            cfg->max_sessions, l->n);
        refuse(fd, peer, PROTO_E_BUSY, text);
        return;
    }
    w->fd = fd;
    w->since = clock_mono_s();
    gw_stream_init(&w->st);
    snprintf(w->peer, sizeof(w->peer), "%s", peer);
    l->line[l->n++] = w;
    log_debug("client waits in line peer=%s waiting=%zu", peer, l->n);
}

static void accept_some(struct gw_lobby *l, int lfd)
{
    int i;

    for (i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t slen = sizeof(ss);
        char peer[80];
        int fd = accept(lfd, (struct sockaddr *)&ss, &slen);

        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                struct timespec ts = {0, 100 * 1000000L};

                log_warn("accept: %s", strerror(errno));
                nanosleep(&ts, NULL);
            }
            return;
        }
        peer_name(&ss, slen, peer, sizeof(peer));
        arrive(l, fd, peer);
    }
}

/* Tells w its place (protocol version 2), without ever blocking the lobby:
 * a client that does not read misses updates. */
static void tell_place(struct gw_lobby *l, struct waiter *w, size_t place,
                       double now, struct proto_buf *b)
{
    char text[200];

    if (w->st.version < 2 ||
        (place == w->told && now - w->told_at < GW_LINE_STATUS_S) ||
        now - w->told_at < STATUS_MIN_S)
        return;
    snprintf(text, sizeof(text),
             "queued at the gateway: place %zu in line "
             "(%ld sessions run at once)",
             place, l->srv->cfg->max_sessions);
    proto_buf_reset(b);
    if (proto_enc_status(b, text) == 0 &&
        send(w->fd, b->ptr, b->len, MSG_DONTWAIT | MSG_NOSIGNAL) ==
            (ssize_t)b->len) {
        w->told = place;
        w->told_at = now;
    }
}

/* Idle clients out, places told, freed slots given in order of arrival
 * to the clients whose HELLO is in. */
static void serve_line(struct gw_lobby *l)
{
    const struct gw_config *cfg = l->srv->cfg;
    double now = clock_mono_s();
    size_t i, k, place = 0;
    struct proto_buf b;
    char text[120];

    proto_buf_init(&b);
    for (i = 0; i < l->n; i++) {
        struct waiter *w = l->line[i];

        if (w->fd < 0)
            continue;
        if (!w->st.hello && now - w->since >= (double)cfg->idle_timeout_s) {
            snprintf(text, sizeof(text),
                     "no complete frame from the client for "
                     "%ld s",
                     cfg->idle_timeout_s);
            refuse(w->fd, w->peer, PROTO_E_IDLE, text);
            w->fd = -1;
        } else if (w->st.hello &&
                   gw_registry_active(l->srv->reg) < cfg->max_sessions) {
            log_info("client leaves the line peer=%s client=%s waited_s=%.2f",
                     w->peer, w->name, now - w->since);
            start_session(l->srv, w->fd, w->peer, w);
            w->fd = -1;
        } else if (w->st.hello) {
            tell_place(l, w, ++place, now, &b);
        }
    }
    proto_buf_fini(&b);
    for (i = k = 0; i < l->n; i++) {
        if (l->line[i]->fd >= 0)
            l->line[k++] = l->line[i];
        else
            free(l->line[i]);
    }
    l->n = k;
}

/* One poll over the listening socket, the wake-up pipe and the line. */
static void lobby_poll(struct gw_lobby *l, int lfd)
{
    size_t i, n = l->n;
    char drain[64];

    l->pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
    l->pfd[1] = (struct pollfd){.fd = l->wake[0], .events = POLLIN};
    for (i = 0; i < n; i++)
        l->pfd[2 + i] = (struct pollfd){
            .fd = l->line[i]->fd, .events = l->line[i]->eager ? 0 : POLLIN};
    if (poll(l->pfd, 2 + n, POLL_MS) <= 0)
        return;
    if (l->pfd[1].revents)
        while (read(l->wake[0], drain, sizeof(drain)) > 0)
            ;
    for (i = 0; i < n; i++) {
        struct waiter *w = l->line[i];

        if (!(l->pfd[2 + i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if (w->st.hello)
            waiter_peek(w);
        else
            waiter_read(l, w);
    }
    if (l->pfd[0].revents & POLLIN)
        accept_some(l, lfd);
}

void gw_lobby_run(struct gw_lobby *l, int lfd)
{
    size_t i;

    if (fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK) != 0)
        log_warn("listening socket stays blocking: %s", strerror(errno));
    while (!sig_stop_requested()) {
        hb_tick(l->srv->hb);
        lobby_poll(l, lfd);
        serve_line(l);
    }
    for (i = 0; i < l->n; i++) {
        refuse(l->line[i]->fd, l->line[i]->peer, PROTO_E_SHUTDOWN,
               "the gateway is shutting down");
        free(l->line[i]);
    }
    l->n = 0;
}
