/*
 * dash.h - the live dashboard: one static page (no build step, nothing
 * from elsewhere) that polls /api/sessions and /api/stages every second:
 * the stages (replicas alive, throughput, queued messages, restarts) and
 * the sessions, running ones first (the 10 newest finished ones unless
 * asked for all), each with its overall progress, a bar per stage, its
 * error and links to its result files.
 */
#ifndef CS_CP_DASH_H
#define CS_CP_DASH_H

/* The page: NUL-terminated HTML with its script inline, malloc'd (the
 * caller frees it); NULL when out of memory. */
char *cp_dash_page(void);

#endif
