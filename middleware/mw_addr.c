/*
 * mw_addr.c - the broker addresses of a connection: AMQP_URL is one URL or a
 * comma-separated list of them (the nodes of one RabbitMQ cluster).
 *
 * A connection starts at a random address, so the processes of a
 * deployment spread over the nodes; every failed attempt and every lost
 * connection moves to the next one (mw_conn.c), so a connection whose node
 * died goes to a live node at its first reconnect attempt.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "mw_internal.h"

static char default_vhost[] = "/";

static int parse_one(struct mw_addr *a, const char *url, size_t len)
{
    a->buf = strndup(url, len); /* amqp_parse_url writes into it */
    if (a->buf == NULL)
        return MW_ERR_NOMEM;
    cfg_mask_url(a->buf, a->masked, sizeof(a->masked));
    amqp_default_connection_info(&a->info);
    if (amqp_parse_url(a->buf, &a->info) != AMQP_STATUS_OK || a->info.ssl)
        return MW_ERR_ARG;
    /* "amqp://host/" names the empty vhost, which RabbitMQ does not have:
     * take it as the default one, like most clients do. */
    if (a->info.vhost == NULL || a->info.vhost[0] == '\0')
        a->info.vhost = default_vhost;
    return MW_OK;
}

/* A start index that differs between processes and connections (the pids
 * of containers are all alike, so the clock is mixed in). */
static int random_start(int n)
{
    struct timespec ts;
    uint64_t x;

    if (n <= 1)
        return 0;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
        ((uint64_t)getpid() << 16);
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return (int)(x % (uint64_t)n);
}

int mw_addr_parse(struct mw_conn *c, const char *urls)
{
    const char *p = urls, *end;
    size_t len;
    int rc;

    c->naddr = 0;
    for (;;) {
        end = strchr(p, ',');
        len = end != NULL ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0 || c->naddr == MW_MAX_ADDRS)
            return MW_ERR_ARG;
        rc = parse_one(&c->addr[c->naddr++], p, len);
        if (rc != MW_OK)
            return rc;
        if (end == NULL)
            break;
        p = end + 1;
    }
    c->at = random_start(c->naddr);
    c->up_addr = -1;
    return MW_OK;
}

void mw_addr_free(struct mw_conn *c)
{
    int i;

    for (i = 0; i < c->naddr; i++) {
        free(c->addr[i].buf);
        c->addr[i].buf = NULL;
    }
    c->naddr = 0;
}

const struct mw_addr *mw_addr_cur(const struct mw_conn *c)
{
    return &c->addr[c->at];
}

void mw_addr_next(struct mw_conn *c)
{
    if (c->naddr > 0)
        c->at = (c->at + 1) % c->naddr;
}
