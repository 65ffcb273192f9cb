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

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t stop_wake_fd = -1;

static void on_stop(int sig)
{
    int saved = errno;

    (void)sig;
    stop_flag = 1;
    if (stop_wake_fd >= 0)
        (void)!write(stop_wake_fd, "x", 1);
    errno = saved;
}

int sig_stop_install(int wake_fd)
{
    stop_wake_fd = wake_fd;
    return sig_on_stop(on_stop);
}

bool sig_stop_requested(void)
{
    return stop_flag != 0;
}

int sig_on_stop(void (*handler)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler; /* no SA_RESTART: waits return EINTR */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}
