/*
 * service.h - the coordinator process as a function: configuration
 * (environment and flags, see --help), recovery from its write-ahead logs in
 * CS_STATE_DIR/coordinator, the control plane's topology and the consume ->
 * handle -> log -> commit loop around the EOF state machine (coord.h).
 * main.c only calls it; the unit tests run it against a fake middleware.
 */
#ifndef CS_COORD_SERVICE_H
#define CS_COORD_SERVICE_H

/* Runs the coordinator until SIGTERM/SIGINT or a shutdown message. Returns
 * the process exit status: 0 on a stop request or shutdown, 1 when the
 * broker or the state directory fails, 2 on a configuration error. May be
 * called again after it returned (nothing outlives a call but the signal
 * flag, which only a signal sets). */
int coord_service_main(int argc, char **argv);

#endif
