/*
 * local.c - the local backend (backend.h): the processes of a spec file
 * (spec.h) on this machine.
 *
 * start forks and execs a slot's command in its own session, stdin from
 * /dev/null, stdout and stderr appended to its log, in its cwd, with the
 * monitor's environment plus the slot's. Exits are seen through pidfds
 * (Linux >= 5.3), for our own children and for any process of a slot that
 * heartbeats from this host (another monitor may have started it), all in
 * one epoll set whose descriptor the monitor polls. Our own children are
 * reaped (their exit status is known); others exit with status -1 (unknown).
 * kill sends SIGKILL through the pidfd, so a recycled pid is never hit.
 */
#include "backend.h"

#include "clock.h"
#include "log.h"
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#define EPOLL_BATCH 16

extern char **environ;

struct watch {
    char slot[BACKEND_NAME_MAX];
    long pid;
    int pidfd;
    bool child; /* ours: reaped with its status */
};

struct backend {
    struct spec *spec;
    char ***envp; /* per slot: the monitor's environment + the slot's */
    char host[HB_NAME_MAX];
    int epfd;
    struct watch *w;
    size_t nw, capw;
    struct backend_event *q; /* pending events, oldest first */
    size_t nq, capq;
};

static int pidfd_open(long pid)
{
    return (int)syscall(SYS_pidfd_open, (pid_t)pid, 0U);
}

/* ------------------------------------------------------------- events */

static void push(struct backend *b, enum backend_event_kind kind,
                 const char *slot, long pid, int status)
{
    struct backend_event *e;

    if (b->nq == b->capq) {
        size_t cap = b->capq ? b->capq * 2 : 32;
        struct backend_event *q = realloc(b->q, cap * sizeof(*q));

        if (q == NULL) {
            log_error("out of memory: event of slot=%s lost", slot);
            return;
        }
        b->q = q;
        b->capq = cap;
    }
    e = &b->q[b->nq++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    snprintf(e->slot, sizeof(e->slot), "%s", slot);
    if (pid > 0)
        snprintf(e->ref, sizeof(e->ref), "%ld", pid);
    e->pid = pid;
    e->exit_status = status;
    e->at_ms = clock_mono_ms();
}

/* ------------------------------------------------------------- watches */

static struct watch *watch_find(struct backend *b, long pid)
{
    size_t i;

    for (i = 0; i < b->nw; i++)
        if (b->w[i].pid == pid)
            return &b->w[i];
    return NULL;
}

/* The process ended: report it and forget it. */
static void watch_exited(struct backend *b, struct watch *w, int status)
{
    push(b, BEV_EXITED, w->slot, w->pid, status);
    if (w->pidfd >= 0) {
        (void)epoll_ctl(b->epfd, EPOLL_CTL_DEL, w->pidfd, NULL);
        close(w->pidfd);
    }
    *w = b->w[--b->nw];
}

/* Watches pid of slot (idempotent; a heartbeat is authoritative about
 * which slot a pid is). A process already gone is reported as exited (a late
 * heartbeat: the exit is ignored as stale). A child whose pidfd cannot be
 * opened is still reported when reaped. 0, or -1 (logged). */
static int watch_add(struct backend *b, const char *slot, long pid, bool child)
{
    struct epoll_event ev;
    struct watch *w = watch_find(b, pid);
    int fd;

    if (w) {
        snprintf(w->slot, sizeof(w->slot), "%s", slot);
        return 0;
    }
    if (b->nw == b->capw) {
        size_t cap = b->capw ? b->capw * 2 : 32;
        struct watch *grown = realloc(b->w, cap * sizeof(*grown));

        if (grown == NULL) {
            log_error("out of memory: slot=%s pid=%ld not watched", slot, pid);
            return -1;
        }
        b->w = grown;
        b->capw = cap;
    }
    fd = pidfd_open(pid);
    if (fd < 0 && errno == ESRCH && !child) {
        push(b, BEV_EXITED, slot, pid, -1);
        return 0;
    }
    if (fd < 0 && !child) {
        log_warn("slot=%s pid=%ld: pidfd_open: %s", slot, pid, strerror(errno));
        return -1;
    }
    w = &b->w[b->nw++];
    memset(w, 0, sizeof(*w));
    snprintf(w->slot, sizeof(w->slot), "%s", slot);
    w->pid = pid;
    w->child = child;
    w->pidfd = fd;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u64 = (uint64_t)pid;
    if (fd >= 0 && epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        log_warn("slot=%s pid=%ld: epoll_ctl: %s", slot, pid, strerror(errno));
        close(fd);
        w->pidfd = -1;
        if (!child) {
            *w = b->w[--b->nw];
            return -1;
        }
    }
    return 0;
}

static int decode_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

/* Reaps every child that ended (no zombies), reporting the watched ones. */
static void reap(struct backend *b)
{
    struct watch *w;
    pid_t pid;
    int st;

    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        w = watch_find(b, pid);
        if (w)
            watch_exited(b, w, decode_status(st));
        else
            log_debug("reaped pid=%ld status=%d", (long)pid, decode_status(st));
    }
}

/* Waits up to timeout_ms for pidfds to turn readable (= their process
 * exited) and reports those. */
static void wait_exits(struct backend *b, int timeout_ms)
{
    struct epoll_event evs[EPOLL_BATCH];
    int n, i, st;

    n = epoll_wait(b->epfd, evs, EPOLL_BATCH, timeout_ms);
    for (i = 0; i < n; i++) {
        struct watch *w = watch_find(b, (long)evs[i].data.u64);
        int status = -1;

        if (w == NULL)
            continue;
        if (w->child && waitpid((pid_t)w->pid, &st, WNOHANG) == (pid_t)w->pid)
            status = decode_status(st);
        watch_exited(b, w, status);
    }
}

/* ------------------------------------------------------------- spawning */

static const struct spec_slot *spec_find(const struct backend *b,
                                         const char *name, size_t *idx)
{
    size_t i;

    for (i = 0; i < b->spec->n; i++)
        if (strcmp(b->spec->slots[i].name, name) == 0) {
            if (idx)
                *idx = i;
            return &b->spec->slots[i];
        }
    return NULL;
}

static size_t key_len(const char *kv)
{
    const char *eq = strchr(kv, '=');

    return eq ? (size_t)(eq - kv) : strlen(kv);
}

static bool overridden(const struct spec_slot *s, const char *kv)
{
    size_t i, n = key_len(kv);

    for (i = 0; s->env[i]; i++)
        if (key_len(s->env[i]) == n && strncmp(s->env[i], kv, n) == 0)
            return true;
    return false;
}

/* The monitor's environment with the slot's added or replacing (pointers
 * borrowed from environ and the spec, which outlive it). */
static char **merge_env(const struct spec_slot *s)
{
    size_t n = 0, m = 0, i;
    char **envp;

    while (environ && environ[n])
        n++;
    while (s->env[m])
        m++;
    envp = calloc(n + m + 1, sizeof(char *));
    if (envp == NULL)
        return NULL;
    m = 0;
    for (i = 0; i < n; i++)
        if (!overridden(s, environ[i]))
            envp[m++] = environ[i];
    for (i = 0; s->env[i]; i++)
        envp[m++] = s->env[i];
    return envp;
}

static void child_fail(const char *what, const char *arg)
{
    static const char pre[] = "monitor: cannot ";

    /* only async-signal-safe calls between fork and exec */
    (void)!write(2, pre, sizeof(pre) - 1);
    (void)!write(2, what, strlen(what));
    (void)!write(2, arg, strlen(arg));
    (void)!write(2, "\n", 1);
    _exit(127);
}

/* In the child: a session of its own, clean signals, stdio, cwd, exec. */
static void child_exec(const struct spec_slot *s, char **envp, int logfd)
{
    struct sigaction sa;
    sigset_t none;
    int fd;

    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    (void)sigaction(SIGPIPE, &sa, NULL); /* ignored in the monitor */
    (void)setsid();
    fd = open("/dev/null", O_RDONLY);
    if (fd < 0 || dup2(fd, 0) < 0)
        child_fail("open ", "/dev/null");
    if (logfd >= 0 && (dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0))
        child_fail("redirect to ", s->log);
    (void)syscall(SYS_close_range, 3U, ~0U, 0U);
    if (s->cwd && chdir(s->cwd) != 0)
        child_fail("chdir to ", s->cwd);
    execve(s->argv[0], s->argv, envp);
    child_fail("exec ", s->argv[0]);
}

static int spawn(struct backend *b, const struct spec_slot *s, char **envp)
{
    int logfd = -1;
    pid_t pid;

    if (s->log) {
        logfd = open(s->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (logfd < 0) {
            log_error("slot=%s cannot open its log %s: %s", s->name, s->log,
                      strerror(errno));
            return -1;
        }
    }
    pid = fork();
    if (pid == 0)
        child_exec(s, envp, logfd);
    if (logfd >= 0)
        close(logfd);
    if (pid < 0) {
        log_error("slot=%s cannot fork: %s", s->name, strerror(errno));
        return -1;
    }
    push(b, BEV_RUNNING, s->name, pid, 0);
    log_info("slot=%s started pid=%ld", s->name, (long)pid);
    (void)watch_add(b, s->name, pid, true); /* fails only without memory */
    return 0;
}

/* ------------------------------------------------------------- the ops */

static void local_destroy(struct backend *b)
{
    size_t i;

    if (b == NULL)
        return;
    for (i = 0; i < b->nw; i++) /* the processes themselves live on */
        if (b->w[i].pidfd >= 0)
            close(b->w[i].pidfd);
    if (b->epfd >= 0)
        close(b->epfd);
    for (i = 0; b->envp && i < b->spec->n; i++)
        free(b->envp[i]);
    free(b->envp);
    spec_free(b->spec);
    free(b->w);
    free(b->q);
    free(b);
}

static void sanitize(char *s)
{
    for (; *s; s++)
        if (*s <= ' ' || *s > '~')
            *s = '_';
}

static int probe_pidfd(void)
{
    int fd = pidfd_open((long)getpid());

    if (fd < 0) {
        log_error("pidfd_open is not available (%s): the local monitor needs "
                  "Linux >= 5.3",
                  strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

static struct backend *local_create(const char *config)
{
    struct backend *b;
    char err[256];
    size_t i;

    if (config == NULL || config[0] == '\0') {
        log_error(
            "local mode needs MONITOR_SPEC (the processes to keep alive)");
        return NULL;
    }
    if (probe_pidfd() != 0 || (b = calloc(1, sizeof(*b))) == NULL)
        return NULL;
    b->epfd = epoll_create1(EPOLL_CLOEXEC);
    b->spec = spec_load(config, err, sizeof(err));
    if (b->spec == NULL || b->epfd < 0) {
        log_error("%s", b->spec == NULL ? err : "epoll_create1 failed");
        goto out_destroy;
    }
    if ((b->envp = calloc(b->spec->n, sizeof(char **))) == NULL)
        goto out_oom;
    for (i = 0; i < b->spec->n; i++) {
        if ((b->envp[i] = merge_env(&b->spec->slots[i])) == NULL)
            goto out_oom;
        push(b, BEV_SLOT, b->spec->slots[i].name, 0, 0);
    }
    if (gethostname(b->host, sizeof(b->host)) != 0)
        b->host[0] = '\0';
    b->host[sizeof(b->host) - 1] = '\0';
    sanitize(b->host); /* as hb.c writes it on the wire */
    log_info("local backend: %zu slots from %s", b->spec->n, config);
    return b;
out_oom:
    log_error("out of memory");
out_destroy:
    local_destroy(b);
    return NULL;
}

static size_t local_poll(struct backend *b, struct backend_event *out,
                         size_t max, int timeout_ms)
{
    size_t n;

    reap(b);
    wait_exits(b, b->nq ? 0 : timeout_ms);
    reap(b);
    n = b->nq < max ? b->nq : max;
    memcpy(out, b->q, n * sizeof(*out));
    memmove(b->q, b->q + n, (b->nq - n) * sizeof(*b->q));
    b->nq -= n;
    return n;
}

static int local_start(struct backend *b, const char *slot)
{
    const struct spec_slot *s;
    size_t i, idx = 0;

    s = spec_find(b, slot, &idx);
    if (s == NULL) {
        log_error("slot=%s is not in the spec: cannot start it", slot);
        return -1;
    }
    for (i = 0; i < b->nw; i++) /* idempotent: a child of ours still runs */
        if (b->w[i].child && strcmp(b->w[i].slot, slot) == 0) {
            log_info("slot=%s already runs as pid=%ld (ours)", slot,
                     b->w[i].pid);
            push(b, BEV_RUNNING, slot, b->w[i].pid, 0);
            return 0;
        }
    return spawn(b, s, b->envp[idx]);
}

static int parse_pid(const char *ref, long *pid)
{
    char *end;

    errno = 0;
    *pid = strtol(ref, &end, 10);
    return errno == 0 && end != ref && *end == '\0' && *pid > 0 ? 0 : -1;
}

static int local_kill(struct backend *b, const char *slot, const char *ref)
{
    struct watch *w;
    long pid;

    if (parse_pid(ref, &pid) != 0) {
        log_error("slot=%s: '%s' is not a pid", slot, ref);
        return -1;
    }
    w = watch_find(b, pid);
    if (w == NULL) { /* gone already (its exit was reported), or never ours */
        log_debug("slot=%s pid=%ld: not running, nothing to kill", slot, pid);
        return 0;
    }
    if (strcmp(w->slot, slot) != 0) {
        log_error("pid=%ld is slot=%s, not slot=%s: not killed", pid, w->slot,
                  slot);
        return -1;
    }
    if (syscall(SYS_pidfd_send_signal, w->pidfd, SIGKILL, NULL, 0U) != 0 &&
        errno != ESRCH) {
        log_error("slot=%s pid=%ld: kill failed: %s", slot, pid,
                  strerror(errno));
        return -1;
    }
    log_info("slot=%s killed pid=%ld", slot, pid);
    return 0;
}

static bool local_match(struct backend *b, const struct hb_msg *m, char *slot,
                        size_t slotsz, char *ref, size_t refsz)
{
    if (strcmp(m->host, b->host) != 0 || spec_find(b, m->name, NULL) == NULL)
        return false; /* another machine's, or not ours to keep */
    snprintf(slot, slotsz, "%s", m->name);
    snprintf(ref, refsz, "%ld", m->pid);
    if (m->pid != (long)getpid() && watch_add(b, m->name, m->pid, false) != 0)
        log_debug("slot=%s pid=%ld heartbeats but is not watched", m->name,
                  m->pid);
    return true;
}

static int local_event_fd(struct backend *b)
{
    return b->epfd;
}

const struct backend_ops backend_local = {
    .name = "local",
    .create = local_create,
    .destroy = local_destroy,
    .poll = local_poll,
    .start = local_start,
    .kill = local_kill,
    .match = local_match,
    .event_fd = local_event_fd,
};
