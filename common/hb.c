/*
 * hb.c - heartbeat sender (see hb.h): a non-blocking UDP socket, the
 * monitors' addresses resolved at most every 10 s.
 */
#include "hb.h"

#include "clock.h"
#include "log.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_MONITORS 8
#define RESOLVE_MS 10000

struct hb {
    char name[HB_NAME_MAX];
    char host[HB_NAME_MAX];
    char *addrs; /* MONITOR_ADDRS copy, NULL: disabled */
    int fd;
    int64_t interval_ms, last_ms, resolved_ms;
    uint64_t seq;
    struct sockaddr_storage to[MAX_MONITORS];
    socklen_t tolen[MAX_MONITORS];
    int nto;
};

static void set_name(char *dst, const char *src)
{
    size_t i;

    snprintf(dst, HB_NAME_MAX, "%s", src && src[0] ? src : "-");
    for (i = 0; dst[i]; i++) /* one token on the wire */
        if (dst[i] <= ' ' || dst[i] > '~')
            dst[i] = '_';
}

static int64_t env_interval(void)
{
    const char *v = getenv("HB_INTERVAL_MS");
    char *end;
    long n;

    if (v == NULL || v[0] == '\0')
        return 500;
    n = strtol(v, &end, 10);
    if (*end != '\0' || n < 50 || n > 60000) {
        log_warn("HB_INTERVAL_MS '%s' is not 50..60000: using 500", v);
        return 500;
    }
    return n;
}

struct hb *hb_create(const char *name)
{
    struct hb *h = calloc(1, sizeof(*h));
    const char *addrs = getenv("MONITOR_ADDRS");
    char host[HB_NAME_MAX] = "";

    if (h == NULL)
        return NULL;
    h->fd = -1;
    set_name(h->name, name);
    if (gethostname(host, sizeof(host)) != 0)
        host[0] = '\0';
    host[sizeof(host) - 1] = '\0';
    set_name(h->host, host);
    h->interval_ms = env_interval();
    h->resolved_ms = -RESOLVE_MS;
    if (addrs && addrs[0]) {
        h->addrs = strdup(addrs);
        h->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (h->addrs == NULL || h->fd < 0) {
            log_warn("heartbeats disabled: %s", strerror(errno));
            free(h->addrs);
            h->addrs = NULL;
        }
    }
    return h;
}

void hb_rename(struct hb *h, const char *name)
{
    if (h)
        set_name(h->name, name);
}

/* Resolves "host:port" into slot i; 0 or -1. */
static int resolve_one(struct hb *h, const char *item)
{
    char host[256], *colon;
    struct addrinfo hints, *res = NULL;

    snprintf(host, sizeof(host), "%s", item);
    colon = strrchr(host, ':');
    if (colon == NULL || h->nto == MAX_MONITORS)
        return -1;
    *colon = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || res == NULL)
        return -1;
    memcpy(&h->to[h->nto], res->ai_addr, res->ai_addrlen);
    h->tolen[h->nto++] = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void resolve(struct hb *h)
{
    char *copy = strdup(h->addrs), *item, *save = NULL;

    if (copy == NULL)
        return;
    h->nto = 0;
    for (item = strtok_r(copy, ",", &save); item;
         item = strtok_r(NULL, ",", &save))
        if (resolve_one(h, item) != 0)
            log_debug("monitor address '%s' does not resolve (yet)", item);
    free(copy);
}

static void send_all(struct hb *h, const char *state)
{
    char msg[HB_MAX_DATAGRAM];
    int64_t now = clock_mono_ms();
    int n, i;

    if (h->addrs == NULL)
        return;
    if (now - h->resolved_ms >= RESOLVE_MS) {
        resolve(h);
        h->resolved_ms = now;
    }
    n = snprintf(msg, sizeof(msg), "CSHB1 %s %ld %s %llu %s\n", h->name,
                 (long)getpid(), h->host, (unsigned long long)++h->seq, state);
    for (i = 0; n > 0 && i < h->nto; i++)
        (void)sendto(h->fd, msg, (size_t)n, MSG_DONTWAIT,
                     (const struct sockaddr *)&h->to[i], h->tolen[i]);
    h->last_ms = now;
}

void hb_tick(struct hb *h)
{
    if (h && h->addrs && clock_mono_ms() - h->last_ms >= h->interval_ms)
        send_all(h, "up");
}

void hb_bye(struct hb *h)
{
    int i;

    /* UDP may lose one datagram; a lost bye would look like a crash. */
    for (i = 0; h && i < 3; i++)
        send_all(h, "bye");
}

void hb_destroy(struct hb *h)
{
    if (h == NULL)
        return;
    if (h->fd >= 0)
        close(h->fd);
    free(h->addrs);
    free(h);
}

int hb_parse(const char *buf, size_t len, struct hb_msg *m)
{
    char line[HB_MAX_DATAGRAM + 1], state[8];
    unsigned long long seq;

    if (len == 0 || len > HB_MAX_DATAGRAM)
        return -1;
    memcpy(line, buf, len);
    line[len] = '\0';
    memset(m, 0, sizeof(*m));
    if (sscanf(line, "CSHB1 %63s %ld %63s %llu %7s", m->name, &m->pid, m->host,
               &seq, state) != 5 ||
        m->pid <= 0)
        return -1;
    m->seq = seq;
    if (strcmp(state, "bye") == 0)
        m->bye = true;
    else if (strcmp(state, "up") != 0)
        return -1;
    return 0;
}
