/*
 * sig.c - the stop flag and stop-signal installation shared by every
 * program (see sig.h). The flag is the one piece of global mutable state
 * the style allows.
 */
#include "sig.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_count;
static volatile sig_atomic_t stop_wake_fd = -1;

static void on_stop(int sig)
{
    int saved = errno;

    (void)sig;
    if (stop_count < 100)
        stop_count++;
    if (stop_wake_fd >= 0)
        (void)!write(stop_wake_fd, "x", 1);
    errno = saved;
}

bool sig_stop_requested(void)
{
    return stop_count != 0;
}

int sig_stop_count(void)
{
    return stop_count;
}

int sig_stop_install(int wake_fd)
{
    struct sigaction sa;

    stop_wake_fd = wake_fd;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop; /* no SA_RESTART: waits return EINTR */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}
