/*
 * dash.h - the live dashboard: one static page (no build step, nothing
 * from elsewhere) that polls /api/sessions every second and draws every
 * session with a progress bar per stage, its state and its error.
 */
#ifndef CS_CP_DASH_H
#define CS_CP_DASH_H

/* The page (static, NUL-terminated HTML with its script inline). */
extern const char cp_dash_html[];

#endif
