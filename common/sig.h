/*
 * sig.h - how every program asks to be stopped: SIGINT and SIGTERM set the
 * one stop flag of the process (and may wake a poll through a pipe)
 * without SA_RESTART, so a blocking wait returns EINTR and the main loop
 * sees the flag; SIGPIPE is ignored, so a peer that vanished is an error
 * return, not a death.
 */
#ifndef CS_SIG_H
#define CS_SIG_H

#include <stdbool.h>

/* Installs the stop handler for SIGINT and SIGTERM and ignores SIGPIPE.
 * The handler sets the flag sig_stop_requested() reads and, when wake_fd
 * >= 0, writes one byte to it (the write end of a non-blocking pipe that a
 * poll in any thread watches). Returns 0, or -1 if sigaction failed. */
int sig_stop_install(int wake_fd) __attribute__((warn_unused_result));

/* True once SIGINT or SIGTERM arrived (the flag is never cleared: a
 * process stops once). Async-signal-safe. */
bool sig_stop_requested(void);

/* How many stop signals arrived (capped at 100): a program that stops
 * gracefully on the first may stop at once on the second. */
int sig_stop_count(void);

#endif
