/*
 * sockio.c - blocking TCP helpers (see sockio.h).
 */
#include "sockio.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int sockio_split_hostport(const char *s, char *host, size_t hostsz, char *port,
                          size_t portsz)
{
    const char *colon, *h = s;
    size_t hlen;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL || close[1] != ':')
            return -EINVAL;
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return -EINVAL;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= hostsz || colon[1] == '\0' ||
        strlen(colon + 1) >= portsz)
        return -EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    snprintf(port, portsz, "%s", colon + 1);
    return 0;
}

static int set_nodelay(int fd)
{
    int one = 1;

    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
        return -errno;
    return 0;
}

/* Non-blocking connect bounded by timeout_ms, then back to blocking. */
static int connect_one(const struct addrinfo *ai, int timeout_ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    int flags, rc, soerr = 0;
    socklen_t slen = sizeof(soerr);
    struct pollfd pfd;

    if (fd < 0)
        return -errno;
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        goto out_errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS)
            goto out_errno;
        pfd.fd = fd;
        pfd.events = POLLOUT;
        do
            rc = poll(&pfd, 1, timeout_ms);
        while (rc < 0 && errno == EINTR);
        if (rc == 0) {
            errno = ETIMEDOUT;
            goto out_errno;
        }
        if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0)
            goto out_errno;
        if (soerr != 0) {
            errno = soerr;
            goto out_errno;
        }
    }
    if (fcntl(fd, F_SETFL, flags) != 0 || set_nodelay(fd) != 0)
        goto out_errno;
    return fd;

out_errno:
    rc = -errno;
    close(fd);
    return rc;
}

int sockio_connect(const char *host, const char *port, int timeout_ms)
{
    struct addrinfo hints, *res, *ai;
    int rc = -ECONNREFUSED;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -ENOENT;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        rc = connect_one(ai, timeout_ms);
        if (rc >= 0)
            break;
    }
    freeaddrinfo(res);
    return rc;
}

int sockio_listen(const char *addr, const char *port, int backlog)
{
    struct addrinfo hints, *res, *ai;
    int rc = -ENOENT, one = 1;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(addr && addr[0] ? addr : NULL, port, &hints, &res) != 0)
        return -ENOENT;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);

        if (fd < 0) {
            rc = -errno;
            continue;
        }
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
            bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, backlog) == 0) {
            rc = fd;
            break;
        }
        rc = -errno;
        close(fd);
    }
    freeaddrinfo(res);
    return rc;
}

int sockio_send_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? -ETIMEDOUT
                                                             : -errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int sockio_sendv_all(int fd, struct iovec *iov, int iovcnt)
{
    while (iovcnt > 0) {
        struct msghdr mh;
        ssize_t w;

        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)iovcnt;
        w = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? -ETIMEDOUT
                                                             : -errno;
        }
        while (iovcnt > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

int sockio_set_send_timeout(int fd, int send_ms)
{
    struct timeval tv;

    if (send_ms > 0) {
        tv.tv_sec = send_ms / 1000;
        tv.tv_usec = (suseconds_t)(send_ms % 1000) * 1000;
        if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
            return -errno;
    }
    return set_nodelay(fd);
}

int sockio_wait(int fd, int extra_fd, int timeout_ms)
{
    struct pollfd pfd[2];
    int n = 1, rc, mask = 0;

    pfd[0].fd = fd;
    pfd[0].events = POLLIN;
    pfd[0].revents = 0;
    if (extra_fd >= 0) {
        pfd[1].fd = extra_fd;
        pfd[1].events = POLLIN;
        pfd[1].revents = 0;
        n = 2;
    }
    rc = poll(pfd, (nfds_t)n, timeout_ms);
    if (rc < 0)
        return -errno;
    if (pfd[0].revents)
        mask |= 1;
    if (n == 2 && pfd[1].revents)
        mask |= 2;
    return mask;
}

long sockio_read(int fd, void *p, size_t n)
{
    ssize_t r = read(fd, p, n);

    return r < 0 ? -(long)errno : (long)r;
}
