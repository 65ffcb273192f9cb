/*
 * net.c - the monitor's UDP socket (see net.h). IPv4, like hb.c.
 */
#include "net.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RESOLVE_MS 10000

struct net {
    int fd;
    struct elect_addr *peers;
    struct sockaddr_in *to; /* sin_port 0: not resolved */
    size_t npeers;
    int64_t resolved_ms;
    bool resolved_once;
};

static int resolve(const char *host, const char *port, struct sockaddr_in *out)
{
    struct addrinfo hints, *res = NULL;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
        return -1;
    memcpy(out, res->ai_addr, sizeof(*out));
    freeaddrinfo(res);
    return 0;
}

static int bind_to(int fd, const char *listen, char *err, size_t errsz)
{
    char host[ELECT_HOST_MAX + 8], *colon;
    struct sockaddr_in sa;

    snprintf(host, sizeof(host), "%s", listen);
    colon = strrchr(host, ':');
    if (colon == NULL) {
        snprintf(err, errsz, "'%s' is not host:port", listen);
        errno = EINVAL;
        return -1;
    }
    *colon = '\0';
    if (resolve(host[0] ? host : "0.0.0.0", colon + 1, &sa) != 0) {
        snprintf(err, errsz, "'%s' does not resolve", listen);
        errno = EINVAL;
        return -1;
    }
    if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;

        snprintf(err, errsz, "%s", strerror(e));
        errno = e;
        return -1;
    }
    return 0;
}

struct net *net_open(const char *listen, const struct elect_addr *peers,
                     size_t npeers, int self, bool send_self, char *err,
                     size_t errsz)
{
    struct net *n = calloc(1, sizeof(*n));
    size_t i;
    int e;

    if (n == NULL ||
        (n->peers = calloc(npeers + 1, sizeof(*n->peers))) == NULL ||
        (n->to = calloc(npeers + 1, sizeof(*n->to))) == NULL) {
        snprintf(err, errsz, "out of memory");
        goto out_free;
    }
    for (i = 0; i < npeers; i++)
        if (peers[i].id != self || send_self)
            n->peers[n->npeers++] = peers[i];
    n->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (n->fd < 0) {
        snprintf(err, errsz, "socket: %s", strerror(errno));
        goto out_free;
    }
    if (bind_to(n->fd, listen, err, errsz) != 0)
        goto out_close;
    return n;
out_close:
    e = errno;
    close(n->fd);
    errno = e;
out_free:
    e = errno;
    if (n) {
        free(n->peers);
        free(n->to);
    }
    free(n);
    errno = e;
    return NULL;
}

int net_fd(const struct net *n)
{
    return n->fd;
}

static void resolve_all(struct net *n)
{
    size_t i;

    for (i = 0; i < n->npeers; i++)
        if (resolve(n->peers[i].host, n->peers[i].port, &n->to[i]) != 0) {
            n->to[i].sin_port = 0;
            log_debug("peer %d (%s:%s) does not resolve (yet)", n->peers[i].id,
                      n->peers[i].host, n->peers[i].port);
        }
}

void net_send_peers(struct net *n, const char *buf, size_t len, int64_t now)
{
    size_t i;

    if (!n->resolved_once || now - n->resolved_ms >= RESOLVE_MS) {
        resolve_all(n);
        n->resolved_ms = now;
        n->resolved_once = true;
    }
    for (i = 0; i < n->npeers; i++)
        if (n->to[i].sin_port != 0)
            (void)sendto(n->fd, buf, len, MSG_DONTWAIT,
                         (const struct sockaddr *)&n->to[i], sizeof(n->to[i]));
}

void net_send_to(struct net *n, const char *buf, size_t len,
                 const struct net_src *to)
{
    (void)sendto(n->fd, buf, len, MSG_DONTWAIT,
                 (const struct sockaddr *)&to->addr, to->len);
}

ssize_t net_recv(struct net *n, char *buf, size_t size, struct net_src *src)
{
    const struct sockaddr_in *in = (const struct sockaddr_in *)&src->addr;
    char ip[INET_ADDRSTRLEN] = "?";
    ssize_t r;

    src->len = sizeof(src->addr);
    r = recvfrom(n->fd, buf, size - 1, 0, (struct sockaddr *)&src->addr,
                 &src->len);
    if (r < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0
                                                                         : -1;
    buf[r] = '\0';
    if (in->sin_family == AF_INET)
        (void)inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
    snprintf(src->text, sizeof(src->text), "%s:%u", ip,
             (unsigned)ntohs(in->sin_port));
    return r; /* an empty datagram reads as none: the next poll comes back */
}

void net_close(struct net *n)
{
    if (n == NULL)
        return;
    close(n->fd);
    free(n->peers);
    free(n->to);
    free(n);
}
