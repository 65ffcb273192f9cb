/*
 * net.h - the monitor's UDP socket: it receives the heartbeats of every
 * process (CSHB1, hb.h) and of the other monitors (CSMON1, elect.h), and
 * sends this monitor's CSMON1 to its peers. Peer names are resolved again
 * every 10 s (under Docker a monitor comes back with a new address).
 */
#ifndef CS_MONITOR_NET_H
#define CS_MONITOR_NET_H

#include "elect.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct net;

/* A datagram's sender. */
struct net_src {
    struct sockaddr_storage addr;
    socklen_t len;
    char text[64]; /* "ip:port" */
};

/* Binds a non-blocking UDP socket to `listen` ("host:port") and remembers
 * the peers (copied) to send to: every one but `self`, unless send_self
 * (when this monitor listens elsewhere than its own entry says). NULL on
 * failure, with errno set (EADDRINUSE: someone has the address) and a
 * reason in err. */
struct net *net_open(const char *listen, const struct elect_addr *peers,
                     size_t npeers, int self, bool send_self, char *err,
                     size_t errsz);

int net_fd(const struct net *n);

/* Sends buf to every peer; errors (a peer that is down) are ignored. */
void net_send_peers(struct net *n, const char *buf, size_t len, int64_t now);

/* Sends buf to one address (an answer). */
void net_send_to(struct net *n, const char *buf, size_t len,
                 const struct net_src *to);

/* Receives one datagram into buf (NUL-terminated, at most size-1 bytes);
 * returns its length, 0 when none is waiting, -1 on an error. */
ssize_t net_recv(struct net *n, char *buf, size_t size, struct net_src *src);

void net_close(struct net *n);

#endif
