/*
 * sig.c - stop-signal installation shared by every program (see sig.h).
 */
#include "sig.h"

#include <signal.h>
#include <string.h>

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
