/*
 * mwt.c - entry point and helpers of the middleware integration test
 * driver; see mwt.h and tests/middleware/run.sh.
 *
 *   mwt CASE [options]       queue1 routing large confirms unroutable meta
 *                            heartbeat lz4 lz4-poison lz4-republish
 *   mwt produce --queue Q --count N [--size S] [--producer P] [--rate R]
 *               [--progress K] [--eof E]
 *   mwt consume --queue Q [--prefetch P] [--count N] [--distinct N]
 *               [--hold K] [--until-eof]
 *   mwt delete Q...          best-effort removal of durable test queues
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mwt.h"

struct mw_conn *mwt_connect(const char *name, uint16_t prefetch,
                            int heartbeat_s)
{
    struct mw_options o;
    struct mw_conn *c;
    int err;

    memset(&o, 0, sizeof(o));
    o.url = getenv("AMQP_URL");
    if (o.url == NULL) {
        printf("FAIL: AMQP_URL is not set\n");
        return NULL;
    }
    o.name = name;
    o.prefetch = prefetch;
    o.heartbeat_s = heartbeat_s;
    o.reconnect_max_ms = 1000;
    o.reconnect_tries = 60;
    c = mw_connect(&o, &err);
    if (c == NULL)
        printf("FAIL: connect %s: %s\n", name, mw_strerror(err));
    return c;
}

void mwt_name(char *out, size_t size, const char *what)
{
    (void)snprintf(out, size, "mwt.%s.%ld", what, (long)getpid());
}

static uint64_t mix(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

void mwt_body_fill(uint8_t *b, size_t len, uint64_t id)
{
    size_t i, n;
    uint64_t w;

    for (i = 0; i < len; i += 8) {
        w = i == 0 ? id : mix(id * UINT64_C(1315423911) + i);
        n = len - i < 8 ? len - i : 8;
        memcpy(b + i, &w, n);
    }
}

bool mwt_body_check(const uint8_t *b, size_t len, uint64_t *id)
{
    size_t i, n;
    uint64_t w, v;

    if (len < 8)
        return false;
    memcpy(&v, b, 8);
    for (i = 8; i < len; i += 8) {
        w = mix(v * UINT64_C(1315423911) + i);
        n = len - i < 8 ? len - i : 8;
        if (memcmp(b + i, &w, n) != 0)
            return false;
    }
    *id = v;
    return true;
}

uint64_t mwt_fnv1a(const uint8_t *b, size_t len)
{
    uint64_t h = UINT64_C(14695981039346656037);
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= b[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

void mwt_meta(struct mw_meta *m, const char *stream, const char *producer,
              int64_t seq, enum mw_kind kind)
{
    memset(m, 0, sizeof(*m));
    (void)snprintf(m->stream, sizeof(m->stream), "%s", stream);
    (void)snprintf(m->producer, sizeof(m->producer), "%s", producer);
    m->seq = seq;
    m->kind = kind;
}

int64_t mwt_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mwt_sleep_ms(int64_t ms)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int find_opt(int argc, char **argv, const char *name)
{
    int i;

    for (i = 2; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return i;
    return -1;
}

const char *mwt_opt_str(int argc, char **argv, const char *name,
                        const char *def)
{
    int i = find_opt(argc, argv, name);

    return i >= 0 && i + 1 < argc ? argv[i + 1] : def;
}

long mwt_opt_long(int argc, char **argv, const char *name, long def)
{
    const char *s = mwt_opt_str(argc, argv, name, NULL);
    char *end;
    long v;

    if (s == NULL)
        return def;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') {
        fprintf(stderr, "mwt: bad number for %s: %s\n", name, s);
        exit(2);
    }
    return v;
}

bool mwt_opt_flag(int argc, char **argv, const char *name)
{
    return find_opt(argc, argv, name) >= 0;
}

static int mode_delete(int argc, char **argv)
{
    struct mw_conn *c = mwt_connect("mwt-delete", 16, 10);
    int i, bad = 0;

    if (c == NULL)
        return 1;
    for (i = 2; i < argc; i++)
        if (mw_delete_queue(c, argv[i]) != MW_OK)
            bad = 1;
    mw_close(c);
    return bad;
}

struct mode {
    const char *name;
    int (*run)(int argc, char **argv);
};

static const struct mode modes[] = {
    {"queue1", mwt_case_queue1},
    {"routing", mwt_case_routing},
    {"large", mwt_case_large},
    {"confirms", mwt_case_confirms},
    {"unroutable", mwt_case_unroutable},
    {"meta", mwt_case_meta},
    {"heartbeat", mwt_case_heartbeat},
    {"produce", mwt_role_produce},
    {"consume", mwt_role_consume},
    {"delete", mode_delete},
    {"lz4", mwt_case_lz4},
    {"lz4-poison", mwt_case_lz4_poison},
    {"lz4-republish", mwt_case_lz4_republish},
};

int main(int argc, char **argv)
{
    size_t i;

    if (log_init("mwt") != 0)
        fprintf(stderr, "mwt: bad LOG_LEVEL, using info\n");
    if (argc < 2) {
        fprintf(stderr,
                "usage: mwt MODE [options] (see tests/middleware/mwt.c)\n");
        return 2;
    }
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(argv[1], modes[i].name) == 0)
            return modes[i].run(argc, argv);
    fprintf(stderr, "mwt: unknown mode %s\n", argv[1]);
    return 2;
}
