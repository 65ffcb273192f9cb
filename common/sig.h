/*
 * sig.h - how every program asks to be stopped: SIGINT and SIGTERM run the
 * program's handler (which only sets a flag) without SA_RESTART, so a
 * blocking wait returns EINTR and the main loop sees the flag; SIGPIPE is
 * ignored, so a peer that vanished is an error return, not a death.
 */
#ifndef CS_SIG_H
#define CS_SIG_H

/* Installs handler for SIGINT and SIGTERM and ignores SIGPIPE.
 * Returns 0, or -1 if sigaction failed. */
int sig_on_stop(void (*handler)(int)) __attribute__((warn_unused_result));

#endif
