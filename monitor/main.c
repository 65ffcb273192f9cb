/*
 * main.c - the monitor program: configuration, then one poll loop over the
 * UDP socket (heartbeats of every process, CSMON1 of the other monitors),
 * the backend's events (process exits) and the timers of the election and
 * the slot table. Every monitor keeps the table; the leader acts on it. The
 * HTTP endpoints run in libmicrohttpd's thread and read the state under one
 * mutex, which the loop holds while it changes the state (never while it
 * waits).
 *
 * SIGTERM/SIGINT end the monitor at once with status 0; the processes it
 * keeps alive are left alone (stopping the pipeline is the operator's
 * business). Exit status 2: bad configuration, or another monitor already
 * has this id.
 */
#include "backend.h"
#include "cfg.h"
#include "clock.h"
#include "elect.h"
#include "hb.h"
#include "http.h"
#include "log.h"
#include "net.h"
#include "procs.h"
#include "sig.h"
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_EVENTS 32
#define MAX_ACTIONS 32
#define MAX_DATAGRAMS 256
#define MAX_WAIT_MS 1000
#define NO_FD_WAIT_MS 100

struct mon_cfg {
    long id, http_port, hb_ms, peer_timeout_ms, hung_ms, start_grace_ms;
    long backoff_min_ms, backoff_max_ms, stable_ms, down_bound_ms, adopt_ms;
    const char *peers, *listen, *http_bind, *mode, *spec;
};

struct mon {
    struct mon_cfg c;
    struct elect_addr peers[ELECT_MAX_ID];
    int npeers;
    char listen[ELECT_HOST_MAX + 8];
    char host[HB_NAME_MAX];
    char self_slot[BACKEND_NAME_MAX];
    char component[16];
    const struct backend_ops *ops;
    struct backend *be;
    struct elect *el;
    struct procs *pr;
    struct net *net;
    struct http *http;
    pthread_mutex_t lock;
    int64_t started_ms, next_send_ms;
    int exit_code; /* -1: running */
};

/* Written by the stop handler (sig.h): wakes the poll in any thread. */
static int stop_pipe[2] = {-1, -1};

/* ------------------------------------------------------------ config */

static int parse_config(struct mon *m, int argc, char **argv)
{
    struct mon_cfg *c = &m->c;
    const struct cfg_opt opts[] = {
        {"MONITOR_ID", "id", CFG_INT, NULL, 1, ELECT_MAX_ID, false,
         "this monitor's id (distinct per replica; the highest live id leads)",
         &c->id},
        {"MONITOR_PEERS", "peers", CFG_STR,
         "1=127.0.0.1:7101,2=127.0.0.1:7102,3=127.0.0.1:7103", 0, 0, false,
         "every monitor's UDP address, id=host:port,... (this one's too)",
         &c->peers},
        {"MONITOR_LISTEN", "listen", CFG_STR, "", 0, 0, false,
         "UDP host:port for heartbeats and peers (empty: this id's address in "
         "MONITOR_PEERS)",
         &c->listen},
        {"MONITOR_HTTP_PORT", "http-port", CFG_INT, "0", 0, 65535, false,
         "HTTP port for /healthz and /cluster/status (0: no HTTP)",
         &c->http_port},
        {"MONITOR_HTTP_BIND", "http-bind", CFG_STR, "0.0.0.0", 0, 0, false,
         "IPv4 address the HTTP server listens on", &c->http_bind},
        {"MONITOR_MODE", "mode", CFG_STR, "local", 0, 0, false,
         "local (processes of MONITOR_SPEC) or docker (containers)", &c->mode},
        {"MONITOR_SPEC", "spec", CFG_STR, "", 0, 0, false,
         "local mode: JSON file of the processes to keep alive", &c->spec},
        {"MONITOR_HB_MS", "hb-ms", CFG_INT, "200", 10, 10000, false,
         "interval of this monitor's messages to its peers", &c->hb_ms},
        {"MONITOR_PEER_TIMEOUT_MS", "peer-timeout-ms", CFG_INT, "1000", 50,
         60000, false,
         "a peer not heard this long is dead (also: listening time at start)",
         &c->peer_timeout_ms},
        {"MONITOR_HUNG_MS", "hung-ms", CFG_INT, "5000", 100, 3600000, false,
         "a process that sends no heartbeat this long is hung: killed, "
         "restarted",
         &c->hung_ms},
        {"MONITOR_START_GRACE_MS", "start-grace-ms", CFG_INT, "30000", 100,
         3600000, false, "time a started process has for its first heartbeat",
         &c->start_grace_ms},
        {"MONITOR_BACKOFF_MIN_MS", "backoff-min-ms", CFG_INT, "200", 0, 600000,
         false, "first restart delay after a crash (doubles per crash)",
         &c->backoff_min_ms},
        {"MONITOR_BACKOFF_MAX_MS", "backoff-max-ms", CFG_INT, "5000", 0,
         3600000, false, "longest restart delay", &c->backoff_max_ms},
        {"MONITOR_STABLE_MS", "stable-ms", CFG_INT, "30000", 0, 86400000, false,
         "up this long: the restart delay starts over", &c->stable_ms},
        {"MONITOR_DOWN_BOUND_MS", "down-bound-ms", CFG_INT, "10000", 0,
         86400000, false,
         "a process down longer than this makes /healthz answer 503",
         &c->down_bound_ms},
        {"MONITOR_ADOPT_MS", "adopt-ms", CFG_INT, "1500", 0, 600000, false,
         "at start, time to hear running processes before starting the silent "
         "ones",
         &c->adopt_ms},
    };
    size_t n = sizeof(opts) / sizeof(opts[0]);
    int rc = cfg_parse(
        opts, n, argc, argv, "usage: monitor --id N [options]",
        "Keeps the pipeline's processes alive: run 3 replicas with "
        "distinct ids. They elect a leader\n(the highest live id; "
        "sticky), which restarts crashed and hung processes (and dead\n"
        "monitors) with a capped backoff and never fights a deliberate "
        "stop. SIGTERM/SIGINT:\nexit 0 at once, leaving the processes "
        "alone. LOG_LEVEL (error|warn|info|debug).");

    if (rc == CFG_OK) { /* the log names the monitor's id from here on */
        snprintf(m->component, sizeof(m->component), "monitor-%ld", c->id);
        (void)log_init(m->component);
        cfg_log(opts, n);
    }
    return rc;
}

/* Cross-field checks and derived values; 0 or -1 (printed). */
static int finish_config(struct mon *m)
{
    struct mon_cfg *c = &m->c;
    char err[160];
    int i, errors = 0;

    m->npeers =
        elect_parse_peers(c->peers, m->peers, ELECT_MAX_ID, err, sizeof(err));
    if (m->npeers < 0 && ++errors)
        fprintf(stderr, "error: MONITOR_PEERS: %s\n", err);
    for (i = 0; i < m->npeers && !m->listen[0]; i++)
        if (m->peers[i].id == c->id)
            snprintf(m->listen, sizeof(m->listen), "%s:%s", m->peers[i].host,
                     m->peers[i].port);
    if (c->listen[0])
        snprintf(m->listen, sizeof(m->listen), "%s", c->listen);
    if (m->npeers >= 0 && !m->listen[0] && ++errors)
        fprintf(stderr,
                "error: id %ld is not in MONITOR_PEERS and MONITOR_LISTEN is "
                "not set\n",
                c->id);
    if (strcmp(c->mode, "local") == 0)
        m->ops = &backend_local;
    else if (strcmp(c->mode, "docker") == 0)
        m->ops = &backend_docker;
    else if (++errors)
        fprintf(stderr, "error: MONITOR_MODE: '%s' is not local or docker\n",
                c->mode);
    if (c->peer_timeout_ms < 2 * c->hb_ms && ++errors)
        fprintf(stderr,
                "error: MONITOR_PEER_TIMEOUT_MS (%ld) must be at least twice "
                "MONITOR_HB_MS (%ld)\n",
                c->peer_timeout_ms, c->hb_ms);
    if (c->backoff_max_ms < c->backoff_min_ms && ++errors)
        fprintf(
            stderr,
            "error: MONITOR_BACKOFF_MAX_MS is below MONITOR_BACKOFF_MIN_MS\n");
    return errors ? -1 : 0;
}

/* ------------------------------------------------------------ events */

/* "monitor-<id>" -> id, else 0. */
static int monitor_id_of(const char *slot)
{
    if (strncmp(slot, "monitor-", 8) == 0 && slot[8] >= '1' && slot[8] <= '9' &&
        slot[9] == '\0')
        return slot[8] - '0';
    return 0;
}

static void leader_changed(struct mon *m);

/* Hands the backend's pending events to the election (a monitor's exit
 * counts at once) and then to the table, so that a monitor taking over from
 * a dead leader logs the decisions about it as the leader; false when out
 * of memory. */
static bool drain_backend(struct mon *m, int64_t now)
{
    struct backend_event ev[MAX_EVENTS];
    size_t n, i, rounds = 0;

    do {
        n = m->ops->poll(m->be, ev, MAX_EVENTS, 0);
        for (i = 0; i < n; i++)
            if (ev[i].kind == BEV_EXITED && monitor_id_of(ev[i].slot) &&
                ev[i].pid > 0)
                elect_peer_exited(m->el, monitor_id_of(ev[i].slot), ev[i].pid);
        if (n && elect_tick(m->el, now))
            leader_changed(m);
        for (i = 0; i < n; i++)
            if (procs_on_event(m->pr, &ev[i]) != 0)
                return false;
    } while (n == MAX_EVENTS && ++rounds < 16);
    return true;
}

static void heartbeat(struct mon *m, const struct hb_msg *hb, int64_t now)
{
    char slot[BACKEND_NAME_MAX], ref[BACKEND_REF_MAX];

    if (m->ops->match(m->be, hb, slot, sizeof(slot), ref, sizeof(ref)))
        procs_on_heartbeat(m->pr, slot, ref, hb->pid, hb->bye, now);
}

/* A monitor is a slot too: its CSMON1 is its heartbeat. */
static void monitor_heartbeat(struct mon *m, const struct elect_msg *em,
                              int64_t now)
{
    struct hb_msg hb;

    memset(&hb, 0, sizeof(hb));
    snprintf(hb.name, sizeof(hb.name), "monitor-%d", em->id);
    snprintf(hb.host, sizeof(hb.host), "%s", em->host);
    hb.pid = em->pid;
    heartbeat(m, &hb, now);
}

static void send_self(struct mon *m, const struct net_src *to, int64_t now)
{
    struct elect_msg em;
    char buf[ELECT_MAX_DATAGRAM + 1];
    int len;

    elect_self_msg(m->el, &em);
    snprintf(em.host, sizeof(em.host), "%s", m->host);
    len = elect_format(&em, buf, sizeof(buf));
    if (len < 0)
        return;
    if (to)
        net_send_to(m->net, buf, (size_t)len, to);
    else
        net_send_peers(m->net, buf, (size_t)len, now);
}

static void peer_msg(struct mon *m, const struct elect_msg *em,
                     const struct net_src *src, int64_t now)
{
    switch (elect_on_msg(m->el, em, now)) {
    case ELECT_CONFLICT_EXIT:
        log_error("monitor id %ld is already running at %s (pid %ld, started "
                  "before this one): exiting",
                  m->c.id, src->text, em->pid);
        m->exit_code = 2;
        return;
    case ELECT_CONFLICT_ANSWER:
        log_warn(
            "another monitor with id %ld (pid %ld at %s) started: telling it "
            "to stop",
            m->c.id, em->pid, src->text);
        send_self(m, src, now);
        break;
    case ELECT_OK:
    case ELECT_IGNORED:
        break;
    }
    if (!(em->id == m->c.id && em->pid == (long)getpid()))
        monitor_heartbeat(m, em, now);
}

/* A monitor's bye: peers stop counting it at once and do not revive it. */
static void bye_msg(struct mon *m, const struct hb_msg *hb)
{
    int id = monitor_id_of(hb->name);

    if (hb->bye && id && id != m->c.id)
        elect_peer_exited(m->el, id, hb->pid);
}

static void drain_socket(struct mon *m, int64_t now)
{
    char buf[HB_MAX_DATAGRAM + 1];
    struct elect_msg em;
    struct hb_msg hb;
    struct net_src src;
    ssize_t len;
    int i;

    for (i = 0; i < MAX_DATAGRAMS && m->exit_code < 0; i++) {
        len = net_recv(m->net, buf, sizeof(buf), &src);
        if (len <= 0) {
            if (len < 0)
                log_warn("udp receive failed: %s", strerror(errno));
            return;
        }
        if (hb_parse(buf, (size_t)len, &hb) == 0) {
            bye_msg(m, &hb);
            heartbeat(m, &hb, now);
        } else if (elect_parse(buf, (size_t)len, &em) == 0) {
            peer_msg(m, &em, &src, now);
        } else {
            log_debug("ignored a datagram from %s", src.text);
        }
    }
}

/* ------------------------------------------------------------ the loop */

static void leader_changed(struct mon *m)
{
    int leader = elect_leader(m->el);
    bool me = elect_is_leader(m->el);

    if (leader)
        log_info("leader=%d term=%llu role=%s", leader,
                 (unsigned long long)elect_term(m->el),
                 me ? "leader" : "follower");
    else
        log_info("leader=none term=%llu role=electing",
                 (unsigned long long)elect_term(m->el));
    procs_set_leader(m->pr, me);
    m->next_send_ms = 0; /* tell the peers now */
}

static void act(struct mon *m, int64_t now)
{
    struct procs_action a[MAX_ACTIONS];
    size_t n, i;

    n = procs_due(m->pr, now, a, MAX_ACTIONS);
    for (i = 0; i < n; i++) {
        if (a[i].kind == PROCS_START && m->ops->start(m->be, a[i].slot) != 0)
            procs_start_failed(m->pr, a[i].slot, now);
        else if (a[i].kind == PROCS_KILL)
            (void)m->ops->kill(m->be, a[i].slot, a[i].ref);
    }
}

/* One turn of the loop, under the lock; false on a fatal error. */
static bool step(struct mon *m)
{
    int64_t now = clock_mono_ms();
    struct hb_msg self;

    if (!drain_backend(m, now))
        return false;
    drain_socket(m, now);
    if (m->exit_code >= 0)
        return true; /* another monitor has our id: act no more */
    memset(&self, 0, sizeof(self));
    snprintf(self.name, sizeof(self.name), "%s", m->self_slot);
    snprintf(self.host, sizeof(self.host), "%s", m->host);
    self.pid = (long)getpid();
    heartbeat(m, &self, now);
    if (elect_tick(m->el, now))
        leader_changed(m);
    procs_tick(m->pr, now);
    if (elect_is_leader(m->el)) {
        act(m, now);
        if (!drain_backend(m, now)) /* what the actions started, at once */
            return false;
    }
    if (now >= m->next_send_ms) {
        send_self(m, NULL, now);
        m->next_send_ms = now + m->c.hb_ms;
    }
    return true;
}

static int wait_ms(struct mon *m, bool have_fd)
{
    int64_t now = clock_mono_ms(), next = m->next_send_ms, t;

    t = elect_next_deadline(m->el, now);
    next = t < next ? t : next;
    t = procs_next_deadline(m->pr, now, elect_is_leader(m->el));
    next = t < next ? t : next;
    t = next - now;
    if (t > MAX_WAIT_MS)
        t = MAX_WAIT_MS;
    if (!have_fd && t > NO_FD_WAIT_MS)
        t = NO_FD_WAIT_MS;
    return t < 0 ? 0 : (int)t;
}

/* A deliberate stop, told to the peers as any process tells it (hb.h). */
static void send_bye(struct mon *m)
{
    char buf[HB_MAX_DATAGRAM];
    int n = snprintf(buf, sizeof(buf), "CSHB1 %s %ld %s 0 bye\n", m->self_slot,
                     (long)getpid(), m->host);

    if (n > 0 && (size_t)n < sizeof(buf))
        net_send_peers(m->net, buf, (size_t)n, clock_mono_ms());
}

static int run(struct mon *m)
{
    struct pollfd pfd[3];
    char drain[16];
    int bfd = m->ops->event_fd ? m->ops->event_fd(m->be) : -1;

    pfd[0].fd = net_fd(m->net);
    pfd[1].fd = bfd;
    pfd[2].fd = stop_pipe[0];
    pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;
    while (!sig_stop_requested() && m->exit_code < 0) {
        if (poll(pfd, 3, wait_ms(m, bfd >= 0)) < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            return 1;
        }
        if (sig_stop_requested())
            break;
        if (pfd[2].revents)
            (void)!read(stop_pipe[0], drain, sizeof(drain));
        pthread_mutex_lock(&m->lock);
        if (!step(m))
            m->exit_code = 1;
        pthread_mutex_unlock(&m->lock);
    }
    if (m->exit_code >= 0)
        return m->exit_code;
    send_bye(m);
    log_info("stopping on a signal: the processes are left running");
    return 0;
}

/* ------------------------------------------------------------ setup */

static char *render(void *arg, enum http_doc doc, int *code)
{
    struct mon *m = arg;
    struct status_src s;
    char *body;

    pthread_mutex_lock(&m->lock);
    s.self = (int)m->c.id;
    s.started_ms = m->started_ms;
    s.elect = m->el;
    s.procs = m->pr;
    body = doc == HTTP_HEALTH ? status_health(&s, clock_mono_ms(), code)
                              : status_cluster(&s, clock_mono_ms(), code);
    pthread_mutex_unlock(&m->lock);
    return body;
}

static int open_socket(struct mon *m)
{
    bool send_self = m->c.listen[0] != '\0'; /* it may not be our entry */
    char err[160];

    m->net = net_open(m->listen, m->peers, (size_t)m->npeers, (int)m->c.id,
                      send_self, err, sizeof(err));
    if (m->net)
        return 0;
    if (errno == EADDRINUSE)
        log_error("monitor id %ld is already running at %s (cannot bind: %s)",
                  m->c.id, m->listen, err);
    else
        log_error("monitor id %ld cannot listen on %s: %s", m->c.id, m->listen,
                  err);
    return -1;
}

static int make_state(struct mon *m)
{
    struct procs_cfg pc = PROCS_CFG_DEFAULTS;
    struct elect_cfg ec;
    int i;

    memset(&ec, 0, sizeof(ec));
    ec.self = (int)m->c.id;
    ec.pid = (long)getpid();
    ec.incarnation =
        clock_wall_ms() * 1000 + (int64_t)(clock_mono_ns() / 1000 % 1000);
    ec.peer_timeout_ms = m->c.peer_timeout_ms;
    pc.backoff_min_ms = m->c.backoff_min_ms;
    pc.backoff_max_ms = m->c.backoff_max_ms;
    pc.stable_ms = m->c.stable_ms;
    pc.hung_ms = m->c.hung_ms;
    pc.start_grace_ms = m->c.start_grace_ms;
    pc.down_bound_ms = m->c.down_bound_ms;
    pc.adopt_ms = m->c.adopt_ms;
    m->el = elect_create(&ec, m->started_ms);
    m->pr = procs_create(&pc, m->started_ms);
    if (m->el == NULL || m->pr == NULL) {
        log_error("out of memory");
        return -1;
    }
    for (i = 0; i < m->npeers; i++)
        elect_add_peer(m->el, m->peers[i].id);
    return 0;
}

static int setup_signals(void)
{
    int i;

    if (pipe(stop_pipe) != 0)
        return -1;
    for (i = 0; i < 2; i++)
        if (fcntl(stop_pipe[i], F_SETFL, O_NONBLOCK) != 0 ||
            fcntl(stop_pipe[i], F_SETFD, FD_CLOEXEC) != 0)
            return -1;
    return sig_stop_install(stop_pipe[1]);
}

/* Everything but the loop; 0, or the exit status. */
static int start(struct mon *m)
{
    char err[160];

    if (setup_signals() != 0) {
        log_error("cannot set up signal handling: %s", strerror(errno));
        return 1;
    }
    if (open_socket(m) != 0)
        return 2;
    m->be = m->ops->create(m->c.spec);
    if (m->be == NULL)
        return 2;
    if (make_state(m) != 0)
        return 1;
    if (m->c.http_port > 0) {
        m->http = http_start(m->c.http_bind, (unsigned)m->c.http_port, render,
                             m, err, sizeof(err));
        if (m->http == NULL) {
            log_error("monitor id %ld cannot serve HTTP on %s", m->c.id, err);
            return 2;
        }
    }
    log_info(
        "monitor id=%ld pid=%ld udp=%s http=%ld mode=%s: listening for peers",
        m->c.id, (long)getpid(), m->listen, m->c.http_port, m->ops->name);
    return 0;
}

static void cleanup(struct mon *m)
{
    http_stop(m->http); /* first: its thread reads the state */
    if (m->be)
        m->ops->destroy(m->be);
    net_close(m->net);
    procs_destroy(m->pr);
    elect_destroy(m->el);
    pthread_mutex_destroy(&m->lock);
}

int main(int argc, char **argv)
{
    static struct mon m;
    int rc;

    m.exit_code = -1;
    if (log_init("monitor") != 0) {
        fprintf(stderr, "error: LOG_LEVEL must be error|warn|info|debug\n");
        return 2;
    }
    rc = parse_config(&m, argc, argv);
    if (rc == CFG_HELP)
        return 0;
    if (rc != CFG_OK || finish_config(&m) != 0)
        return 2;
    snprintf(m.self_slot, sizeof(m.self_slot), "monitor-%ld", m.c.id);
    if (gethostname(m.host, sizeof(m.host)) != 0)
        snprintf(m.host, sizeof(m.host), "-");
    m.host[sizeof(m.host) - 1] = '\0';
    for (rc = 0; m.host[rc]; rc++) /* one token on the wire, as hb.c does */
        if (m.host[rc] <= ' ' || m.host[rc] > '~')
            m.host[rc] = '_';
    m.started_ms = clock_mono_ms();
    if (pthread_mutex_init(&m.lock, NULL) != 0)
        return 1;
    rc = start(&m);
    if (rc == 0)
        rc = run(&m);
    cleanup(&m);
    return rc;
}
