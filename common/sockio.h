/*
 * sockio.h - small blocking TCP helpers shared by the client and the gateway
 * (plain POSIX sockets; nothing protocol-specific).
 *
 * Functions return 0 (or a descriptor) on success and a negative errno value
 * on failure (the system range of err.h), so callers can print
 * cs_strerror(rc).
 */
#ifndef CS_SOCKIO_H
#define CS_SOCKIO_H

#include <stddef.h>
#include <sys/uio.h>

/* Splits "host:port" or "[v6addr]:port" into host and port (copied).
 * Returns 0 or -EINVAL. */
int sockio_split_hostport(const char *s, char *host, size_t hostsz, char *port,
                          size_t portsz) __attribute__((warn_unused_result));

/* Connects to host:port (any address family), giving up on each address
 * after timeout_ms. Returns a blocking socket with TCP_NODELAY, or a
 * negative errno (-EHOSTUNREACH style; -ENOENT when the name does not
 * resolve). */
int sockio_connect(const char *host, const char *port, int timeout_ms)
    __attribute__((warn_unused_result));

/* Listening socket on addr:port (addr "" or NULL: any), SO_REUSEADDR.
 * Returns the descriptor or a negative errno. */
int sockio_listen(const char *addr, const char *port, int backlog)
    __attribute__((warn_unused_result));

/* Sends everything (MSG_NOSIGNAL; EINTR retried). A send timeout set with
 * sockio_set_timeouts() gives -ETIMEDOUT. */
int sockio_send_all(int fd, const void *p, size_t n)
    __attribute__((warn_unused_result));

/* Same for a gather list; iov is modified. */
int sockio_sendv_all(int fd, struct iovec *iov, int iovcnt)
    __attribute__((warn_unused_result));

/* Sets SO_SNDTIMEO (send_ms > 0) and TCP_NODELAY. Returns 0 or -errno. */
int sockio_set_send_timeout(int fd, int send_ms)
    __attribute__((warn_unused_result));

/* Waits until fd (or extra_fd, when >= 0) is readable, up to timeout_ms
 * (-1: forever). Returns a bit mask: 1 = fd readable (or closed / in
 * error), 2 = extra_fd readable; 0 on timeout; -EINTR when a signal
 * arrived; another negative errno on failure. */
int sockio_wait(int fd, int extra_fd, int timeout_ms);

/* One read(2) that retries nothing: returns bytes read, 0 at end of stream,
 * or a negative errno (-EINTR included). */
long sockio_read(int fd, void *p, size_t n);

#endif
