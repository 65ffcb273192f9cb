/*
 * docker.c - the Docker Compose backend (backend.h): the containers of the
 * monitor's own Compose project that carry coffee-stream.keepalive=true,
 * over the Docker Engine API on its unix socket (dkapi.h). What the API
 * says becomes backend events by the rules of dkstate.h.
 *
 * Threads, sharing the table under one mutex (never held during a request):
 *   - the watcher reads GET /events (the project's container events), lists
 *     the project's containers every MONITOR_DOCKER_POLL_MS as a backup (and
 *     soon after the stream (re)connects), looks up new containers'
 *     hostnames, ends the grace of held dies, and reconnects a broken stream
 *     with a capped backoff (a restarted dockerd);
 *   - ACTORS threads execute start and kill, so that a slow daemon never
 *     stalls the monitor's loop (its election messages above all);
 *   - the monitor's loop takes the events (a pipe wakes it) and matches
 *     heartbeats to containers.
 *
 * Settings (environment; the monitor logs them at start):
 *   DOCKER_HOST             unix:///path (default unix:///var/run/docker.sock)
 *   MONITOR_DOCKER_PROJECT  the Compose project (default: the label
 *                           com.docker.compose.project of the container whose
 *                           hostname the monitor has: its own)
 *   MONITOR_DOCKER_POLL_MS  listing interval, 100..60000 (default 2000)
 *   MONITOR_DOCKER_GRACE_MS how long a non-zero die waits for the stop event
 *                           of a deliberate stop, 0..10000 (default 300)
 */
#include "backend.h"

#include "clock.h"
#include "dkapi.h"
#include "dkstate.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ACTORS 2
#define MAX_ACTIONS 128
#define DEFAULT_SOCK "/var/run/docker.sock"
#define START_TIMEOUT_MS 60000L
#define KILL_TIMEOUT_MS 15000L
#define LIST_TIMEOUT_MS 10000L
#define LIST_AFTER_CONNECT_MS 250
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define STREAM_STABLE_MS 10000
#define MAX_WAIT_MS 1000
#define PROJECT_TRIES 20 /* at start: 10 s for the daemon to answer */
#define INSPECT_BATCH 32

struct action {
    bool start; /* else kill */
    char id[DK_ID_MAX];
    char slot[BACKEND_NAME_MAX];
    unsigned gen;
};

struct actor {
    struct backend *b;
    struct dka *req;
    pthread_t th;
    bool started;
};

struct backend {
    char sock[256];
    char project[BACKEND_NAME_MAX];
    long poll_ms, grace_ms;
    char *list_path, *events_path;
    atomic_bool stop;
    pthread_mutex_t lock;
    pthread_cond_t more;          /* actions queued, or stop */
    struct dk_table *t;           /* under lock */
    struct action q[MAX_ACTIONS]; /* under lock */
    size_t nq;
    int pipe[2]; /* any thread -> the monitor's loop: events queued */
    struct dka_stream *stream; /* watcher only */
    struct dka *wreq;          /* watcher only */
    struct actor actors[ACTORS];
    pthread_t watcher;
    bool watching;
    bool api_down;    /* watcher only: warned once per outage */
    bool stream_down; /* watcher only: the same for the event stream */
    bool curl_ready;
};

static void notify(struct backend *b)
{
    (void)!write(b->pipe[1], "e",
                 1); /* full pipe: a wakeup is pending anyway */
}

/* ------------------------------------------------------------- watcher */

static void on_line(void *arg, const char *line, size_t len)
{
    struct backend *b = arg;
    struct dk_event ev;
    int rc = dk_parse_event(line, len, b->project, &ev);

    if (rc == DK_PARSE_BAD)
        log_debug("ignored a line of the event stream: %.*s",
                  (int)(len > 200 ? 200 : len), line);
    if (rc != DK_PARSE_OK)
        return;
    pthread_mutex_lock(&b->lock);
    if (dkt_on_event(b->t, &ev, clock_mono_ms()) != 0)
        log_warn("out of memory: an event of container %.12s lost", ev.id);
    pthread_mutex_unlock(&b->lock);
    notify(b);
}

static void api_answered(struct backend *b)
{
    if (b->api_down)
        log_info("docker API at %s answers again", b->sock);
    b->api_down = false;
}

static void api_failed(struct backend *b, const char *what, long status,
                       const char *err, const char *body)
{
    if (!b->api_down)
        log_warn("docker API at %s: %s failed: %s%.200s (retrying)", b->sock,
                 what, status < 0 ? err : "", status < 0 ? "" : body);
    b->api_down = true;
}

static void list(struct backend *b)
{
    struct dk_ctr *c = NULL;
    const char *body = NULL;
    char err[256];
    size_t len = 0, n = 0;
    long st;

    st = dka_request(b->wreq, "GET", b->list_path, LIST_TIMEOUT_MS, &body, &len,
                     err, sizeof(err));
    if (st != 200) {
        api_failed(b, "listing the containers", st, err, body ? body : "");
        return;
    }
    api_answered(b);
    if (dk_parse_list(body, len, b->project, &c, &n) != 0) {
        log_warn("docker API: a container listing that does not parse (or out "
                 "of memory)");
        return;
    }
    pthread_mutex_lock(&b->lock);
    if (dkt_on_list(b->t, c, n, clock_mono_ms()) != 0)
        log_warn("out of memory: part of a container listing lost");
    pthread_mutex_unlock(&b->lock);
    free(c);
    notify(b);
}

/* Hostnames of containers seen for the first time (heartbeats name them). */
static void inspect_new(struct backend *b)
{
    char id[DK_ID_MAX], path[128], err[256];
    const char *body = NULL;
    struct dk_ctr c;
    size_t len = 0;
    bool found;
    long st;
    int i;

    for (i = 0; i < INSPECT_BATCH && !atomic_load(&b->stop); i++) {
        pthread_mutex_lock(&b->lock);
        found = dkt_uninspected(b->t, id, sizeof(id));
        pthread_mutex_unlock(&b->lock);
        if (!found)
            return;
        snprintf(path, sizeof(path), "/containers/%s/json", id);
        st = dka_request(b->wreq, "GET", path, LIST_TIMEOUT_MS, &body, &len,
                         err, sizeof(err));
        if (st < 0)
            return; /* the daemon is away: next time */
        if (st != 200 || dk_parse_inspect(body, len, &c) != 0)
            c.hostname[0] = '\0'; /* gone, or odd: keep the default */
        pthread_mutex_lock(&b->lock);
        dkt_set_hostname(b->t, id, c.hostname);
        pthread_mutex_unlock(&b->lock);
    }
}

/* Until when the watcher may wait. */
static int64_t watch_deadline(struct backend *b, int64_t next_list,
                              int64_t next_connect)
{
    int64_t t = next_list;

    pthread_mutex_lock(&b->lock);
    if (dkt_next_deadline(b->t) < t)
        t = dkt_next_deadline(b->t);
    pthread_mutex_unlock(&b->lock);
    if (!dka_stream_is_open(b->stream) && next_connect < t)
        t = next_connect;
    return t;
}

static void tick(struct backend *b)
{
    size_t before, after;

    pthread_mutex_lock(&b->lock);
    before = dkt_queued(b->t);
    dkt_tick(b->t, clock_mono_ms());
    after = dkt_queued(b->t);
    pthread_mutex_unlock(&b->lock);
    if (after > before)
        notify(b);
}

/* After a failed or broken stream: when to try again. */
static void stream_failed(struct backend *b, const char *err,
                          int64_t *next_connect, int64_t *backoff)
{
    log_at(b->stream_down ? LOG_DEBUG : LOG_WARN,
           "docker event stream: %s; reconnecting in %lld ms (backing off up "
           "to %d ms)",
           err, (long long)*backoff, BACKOFF_MAX_MS);
    b->stream_down = true;
    *next_connect = clock_mono_ms() + *backoff;
    *backoff = *backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *backoff * 2;
}

/* The watcher's loop. A listing follows each (re)connection of the stream
 * shortly (what happened while it was down), and then every poll_ms. */
static void *watcher_main(void *arg)
{
    struct backend *b = arg;
    int64_t now, wait, next_list = INT64_MAX, next_connect = 0, opened = 0;
    int64_t backoff = BACKOFF_MIN_MS;
    char err[256];

    while (!atomic_load(&b->stop)) {
        now = clock_mono_ms();
        if (!dka_stream_is_open(b->stream) && now >= next_connect) {
            opened = now;
            if (next_list > now + LIST_AFTER_CONNECT_MS)
                next_list = now + LIST_AFTER_CONNECT_MS;
            if (dka_stream_open(b->stream, b->events_path, err, sizeof(err)) !=
                0)
                stream_failed(b, err, &next_connect, &backoff);
        }
        if (dka_stream_is_open(b->stream) && now - opened >= STREAM_STABLE_MS) {
            backoff = BACKOFF_MIN_MS;
            b->stream_down = false;
        }
        wait = watch_deadline(b, next_list, next_connect) - now;
        wait = wait < 0 ? 0 : wait > MAX_WAIT_MS ? MAX_WAIT_MS : wait;
        if (dka_stream_pump(b->stream, (int)wait, err, sizeof(err)) == 1 &&
            !atomic_load(&b->stop))
            stream_failed(b, err, &next_connect, &backoff);
        tick(b);
        if (clock_mono_ms() >= next_list && !atomic_load(&b->stop)) {
            list(b);
            next_list = clock_mono_ms() + b->poll_ms;
        }
        inspect_new(b);
    }
    return NULL;
}

/* ------------------------------------------------------------- actors */

static void do_start(struct backend *b, struct dka *a, const struct action *ac)
{
    char path[128], err[256];
    const char *body = "";
    int64_t t0 = clock_mono_ms();
    long st;
    bool ok;

    snprintf(path, sizeof(path), "/containers/%s/start", ac->id);
    st = dka_request(a, "POST", path, START_TIMEOUT_MS, &body, NULL, err,
                     sizeof(err));
    ok = st == 204 || st == 304;
    if (ok)
        log_info("slot=%s %s container=%.12s ms=%lld", ac->slot,
                 st == 204 ? "started" : "already running", ac->id,
                 (long long)(clock_mono_ms() - t0));
    else if (!atomic_load(&b->stop))
        log_error("slot=%s start of container=%.12s failed: %s%.200s", ac->slot,
                  ac->id, st < 0 ? err : "", st < 0 ? "" : body);
    pthread_mutex_lock(&b->lock);
    dkt_start_done(b->t, ac->id, ac->gen, ok, clock_mono_ms());
    pthread_mutex_unlock(&b->lock);
    notify(b);
}

static void do_kill(struct backend *b, struct dka *a, const struct action *ac)
{
    char path[128], err[256];
    const char *body = "";
    long st;

    snprintf(path, sizeof(path), "/containers/%s/kill?signal=KILL", ac->id);
    st = dka_request(a, "POST", path, KILL_TIMEOUT_MS, &body, NULL, err,
                     sizeof(err));
    if (st == 204)
        log_info("slot=%s killed container=%.12s", ac->slot, ac->id);
    else if (st == 404 || st == 409) /* gone, or not running: fine */
        log_debug("slot=%s container=%.12s not running: nothing to kill",
                  ac->slot, ac->id);
    else if (!atomic_load(&b->stop))
        log_error("slot=%s kill of container=%.12s failed: %s%.200s", ac->slot,
                  ac->id, st < 0 ? err : "", st < 0 ? "" : body);
}

static void *actor_main(void *arg)
{
    struct actor *me = arg;
    struct backend *b = me->b;
    struct action ac;

    for (;;) {
        pthread_mutex_lock(&b->lock);
        while (b->nq == 0 && !atomic_load(&b->stop))
            pthread_cond_wait(&b->more, &b->lock);
        if (atomic_load(&b->stop)) {
            pthread_mutex_unlock(&b->lock);
            return NULL;
        }
        ac = b->q[0];
        memmove(b->q, b->q + 1, --b->nq * sizeof(b->q[0]));
        pthread_mutex_unlock(&b->lock);
        if (ac.start)
            do_start(b, me->req, &ac);
        else
            do_kill(b, me->req, &ac);
    }
}

/* Queues an action (one of a kind per container at a time); 0 or -1. */
static int enqueue(struct backend *b, const struct action *ac)
{
    size_t i;
    int rc = 0;

    pthread_mutex_lock(&b->lock);
    for (i = 0; i < b->nq; i++)
        if (b->q[i].start == ac->start && strcmp(b->q[i].id, ac->id) == 0)
            break;
    if (i < b->nq)
        b->q[i] = *ac; /* queued already: the newer generation counts */
    else if (b->nq < MAX_ACTIONS)
        b->q[b->nq++] = *ac;
    else
        rc = -1;
    pthread_cond_signal(&b->more);
    pthread_mutex_unlock(&b->lock);
    if (rc != 0)
        log_error("slot=%s: %d docker actions queued already: not done",
                  ac->slot, MAX_ACTIONS);
    return rc;
}

/* ------------------------------------------------------------- setup */

/* A setting of the environment within [lo, hi]; false (printed) if bad. */
static bool env_long(const char *name, long def, long lo, long hi, long *out)
{
    const char *v = getenv(name);
    char *end;

    *out = def;
    if (v == NULL || v[0] == '\0')
        return true;
    errno = 0;
    *out = strtol(v, &end, 10);
    if (errno == 0 && end != v && *end == '\0' && *out >= lo && *out <= hi)
        return true;
    fprintf(stderr, "error: %s: '%s' is not an integer in %ld..%ld\n", name, v,
            lo, hi);
    return false;
}

static int read_settings(struct backend *b)
{
    const char *host = getenv("DOCKER_HOST"),
               *proj = getenv("MONITOR_DOCKER_PROJECT");
    int errors = 0;

    if (!env_long("MONITOR_DOCKER_POLL_MS", 2000, 100, 60000, &b->poll_ms))
        errors++;
    if (!env_long("MONITOR_DOCKER_GRACE_MS", 300, 0, 10000, &b->grace_ms))
        errors++;
    if (host == NULL || host[0] == '\0')
        snprintf(b->sock, sizeof(b->sock), "%s", DEFAULT_SOCK);
    else if (strncmp(host, "unix://", 7) == 0 && host[7] == '/' &&
             strlen(host + 7) < sizeof(b->sock))
        snprintf(b->sock, sizeof(b->sock), "%s", host + 7);
    else if (++errors)
        fprintf(stderr,
                "error: DOCKER_HOST: '%s' is not unix:///path (the monitor "
                "talks to the daemon's unix socket only)\n",
                host);
    if (proj && strlen(proj) >= sizeof(b->project) && ++errors)
        fprintf(stderr, "error: MONITOR_DOCKER_PROJECT is too long\n");
    else if (proj)
        snprintf(b->project, sizeof(b->project), "%s", proj);
    return errors ? -1 : 0;
}

/* The project of the container this monitor runs in; 0 or -1 (logged). */
static int find_project(struct backend *b)
{
    char host[HB_NAME_MAX] = "", path[160], err[256] = "";
    const char *body = "";
    struct dk_ctr self;
    long st = -1;
    int i;

    if (gethostname(host, sizeof(host)) != 0)
        host[0] = '\0';
    host[sizeof(host) - 1] = '\0';
    snprintf(path, sizeof(path), "/containers/%s/json", host);
    for (i = 0; i < PROJECT_TRIES && st < 0; i++) {
        if (i > 0)
            (void)poll(NULL, 0, 500); /* the daemon may be starting */
        st = dka_request(b->wreq, "GET", path, LIST_TIMEOUT_MS, &body, NULL,
                         err, sizeof(err));
    }
    if (st != 200 || dk_parse_inspect(body, strlen(body), &self) != 0 ||
        self.project[0] == '\0') {
        log_error("docker mode: cannot tell this monitor's Compose project: "
                  "container "
                  "'%s' %s (through %s); set MONITOR_DOCKER_PROJECT",
                  host,
                  st < 0      ? err
                  : st != 200 ? "not found"
                              : "has no compose project label",
                  b->sock);
        return -1;
    }
    snprintf(b->project, sizeof(b->project), "%s", self.project);
    return 0;
}

static char *filtered(const char *prefix, const char *filters)
{
    char *esc = dka_escape(filters), *path;
    size_t n;

    if (esc == NULL)
        return NULL;
    n = strlen(prefix) + strlen(esc) + 1;
    if ((path = malloc(n)) != NULL)
        snprintf(path, n, "%s%s", prefix, esc);
    free(esc);
    return path;
}

/* The two request paths; 0 or -1 (out of memory). */
static int make_paths(struct backend *b)
{
    char f[512];

    snprintf(f, sizeof(f), "{\"label\":[\"%s=%s\",\"%s=true\"]}",
             DK_PROJECT_LABEL, b->project, DK_KEEP_LABEL);
    b->list_path = filtered("/containers/json?all=1&filters=", f);
    snprintf(
        f, sizeof(f),
        "{\"type\":[\"container\"],\"label\":[\"%s=%s\"],\"event\":[\"create\","
        "\"start\",\"kill\",\"die\",\"stop\",\"destroy\",\"rename\",\"pause\","
        "\"unpause\"]}",
        DK_PROJECT_LABEL, b->project);
    b->events_path = filtered("/events?filters=", f);
    return b->list_path && b->events_path ? 0 : -1;
}

static void docker_destroy(struct backend *b)
{
    int i;

    if (b == NULL)
        return;
    atomic_store(&b->stop, true);
    pthread_mutex_lock(&b->lock);
    pthread_cond_broadcast(&b->more);
    pthread_mutex_unlock(&b->lock);
    if (b->stream)
        dka_stream_wakeup(b->stream);
    if (b->watching)
        pthread_join(b->watcher, NULL);
    for (i = 0; i < ACTORS; i++) {
        if (b->actors[i].started)
            pthread_join(b->actors[i].th, NULL);
        dka_destroy(b->actors[i].req);
    }
    dka_stream_destroy(b->stream);
    dka_destroy(b->wreq);
    dkt_destroy(b->t);
    free(b->list_path);
    free(b->events_path);
    for (i = 0; i < 2; i++)
        if (b->pipe[i] >= 0)
            close(b->pipe[i]);
    pthread_cond_destroy(&b->more);
    pthread_mutex_destroy(&b->lock);
    if (b->curl_ready)
        dka_global_fini();
    free(b);
}

/* Allocations and the pipe; 0 or -1. */
static int make_parts(struct backend *b)
{
    int i;

    if (pipe(b->pipe) != 0)
        return -1;
    for (i = 0; i < 2; i++)
        if (fcntl(b->pipe[i], F_SETFL, O_NONBLOCK) != 0 ||
            fcntl(b->pipe[i], F_SETFD, FD_CLOEXEC) != 0)
            return -1;
    b->t = dkt_create(b->grace_ms);
    b->wreq = dka_create(b->sock, &b->stop);
    b->stream = dka_stream_create(b->sock, &b->stop, on_line, b);
    for (i = 0; i < ACTORS; i++) {
        b->actors[i].b = b;
        if ((b->actors[i].req = dka_create(b->sock, &b->stop)) == NULL)
            return -1;
    }
    return b->t && b->wreq && b->stream ? 0 : -1;
}

static int start_threads(struct backend *b)
{
    int i;

    if (pthread_create(&b->watcher, NULL, watcher_main, b) != 0)
        return -1;
    b->watching = true;
    for (i = 0; i < ACTORS; i++) {
        if (pthread_create(&b->actors[i].th, NULL, actor_main, &b->actors[i]) !=
            0)
            return -1;
        b->actors[i].started = true;
    }
    return 0;
}

static struct backend *docker_create(const char *config)
{
    struct backend *b = calloc(1, sizeof(*b));
    struct stat st;

    (void)config; /* MONITOR_SPEC: local mode only */
    if (b == NULL)
        return NULL;
    b->pipe[0] = b->pipe[1] = -1;
    atomic_init(&b->stop, false);
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->more, NULL);
    if (read_settings(b) != 0)
        goto out_destroy;
    if (stat(b->sock, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        log_error("docker mode: no Docker socket at %s (mount the host's: "
                  "-v /var/run/docker.sock:/var/run/docker.sock)",
                  b->sock);
        goto out_destroy;
    }
    if (dka_global_init() != 0)
        goto out_oom;
    b->curl_ready = true;
    if (make_parts(b) != 0)
        goto out_oom;
    if (b->project[0] == '\0' && find_project(b) != 0)
        goto out_destroy;
    if (make_paths(b) != 0 || start_threads(b) != 0)
        goto out_oom;
    log_info("docker backend: project=%s socket=%s poll_ms=%ld grace_ms=%ld "
             "label=%s=true",
             b->project, b->sock, b->poll_ms, b->grace_ms, DK_KEEP_LABEL);
    return b;
out_oom:
    log_error("docker mode: cannot set up (out of memory or resources)");
out_destroy:
    docker_destroy(b);
    return NULL;
}

/* ------------------------------------------------------------- the ops */

static size_t take(struct backend *b, struct backend_event *out, size_t max)
{
    char drain[64];
    size_t n;
    bool more;

    while (read(b->pipe[0], drain, sizeof(drain)) > 0)
        ;
    pthread_mutex_lock(&b->lock);
    n = dkt_take(b->t, out, max);
    more = dkt_queued(b->t) > 0;
    pthread_mutex_unlock(&b->lock);
    if (more)
        notify(b); /* the rest next time: keep the descriptor readable */
    return n;
}

static size_t docker_poll(struct backend *b, struct backend_event *out,
                          size_t max, int timeout_ms)
{
    struct pollfd p = {.fd = b->pipe[0], .events = POLLIN};
    size_t n = take(b, out, max);

    if (n == 0 && timeout_ms > 0 && poll(&p, 1, timeout_ms) > 0)
        n = take(b, out, max);
    return n;
}

static int docker_start(struct backend *b, const char *slot)
{
    struct action ac;
    int rc;

    memset(&ac, 0, sizeof(ac));
    ac.start = true;
    snprintf(ac.slot, sizeof(ac.slot), "%s", slot);
    pthread_mutex_lock(&b->lock);
    rc = dkt_lookup(b->t, slot, ac.id, sizeof(ac.id), &ac.gen);
    pthread_mutex_unlock(&b->lock);
    if (rc != 0) {
        log_error("slot=%s: no such container in project %s: cannot start it",
                  slot, b->project);
        return -1;
    }
    log_info("slot=%s start container=%.12s", slot, ac.id);
    return enqueue(b, &ac);
}

static int docker_kill(struct backend *b, const char *slot, const char *ref)
{
    struct action ac;

    memset(&ac, 0, sizeof(ac));
    snprintf(ac.slot, sizeof(ac.slot), "%s", slot);
    if (strlen(ref) >= sizeof(ac.id) || ref[0] == '\0') {
        log_error("slot=%s: '%s' is not a container id", slot, ref);
        return -1;
    }
    snprintf(ac.id, sizeof(ac.id), "%s", ref);
    log_info("slot=%s kill container=%.12s", slot, ref);
    return enqueue(b, &ac);
}

static bool docker_match(struct backend *b, const struct hb_msg *m, char *slot,
                         size_t slotsz, char *ref, size_t refsz)
{
    bool found;

    pthread_mutex_lock(&b->lock);
    found = dkt_match(b->t, m->host, slot, slotsz, ref, refsz);
    pthread_mutex_unlock(&b->lock);
    return found;
}

static int docker_event_fd(struct backend *b)
{
    return b->pipe[0];
}

const struct backend_ops backend_docker = {
    .name = "docker",
    .create = docker_create,
    .destroy = docker_destroy,
    .poll = docker_poll,
    .start = docker_start,
    .kill = docker_kill,
    .match = docker_match,
    .event_fd = docker_event_fd,
};
