/*
 * view.h - the pure half of the client's control plane commands (cli.c):
 * the tables and details printed from the control plane's JSON (see
 * docs/ARCHITECTURE.md "Control plane"), id prefix matching, and the split
 * of a subcommand's arguments into positionals and options. No I/O, no
 * clock: the caller passes "now", so every function is unit-tested
 * (tests/unit/test_client_view.c).
 *
 * Every session object is borrowed from the caller's cJSON tree; fields the
 * control plane does not send yet (client, rows_sent, results) are shown
 * as unknown ("-"), never an error.
 */
#ifndef CS_CLIENT_VIEW_H
#define CS_CLIENT_VIEW_H

#include "cfg.h"

#include <cjson/cJSON.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing text buffer. Zero-initialise it; cv_buf_fini() frees it. After
 * an allocation failure `oom` is set and further output is dropped. */
struct cv_buf {
    char *p; /* NUL-terminated once anything was written */
    size_t len, cap;
    bool oom;
};

void cv_buf_fini(struct cv_buf *b);
void cv_printf(struct cv_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The text so far ("" when empty); valid until the next write. */
const char *cv_text(const struct cv_buf *b);

/* v as an integer (truncated), or def when v is not a number or out of
 * +-9e18. */
int64_t cv_json_int(const cJSON *v, int64_t def);

/* A duration: "850ms", "12.3s", "4m05s", "2h03m"; "-" when ms < 0. */
void cv_fmt_duration(int64_t ms, char *out, size_t n);

/* An epoch time in ms as UTC "YYYY-MM-DD HH:MM:SS"; "-" when ms <= 0. */
void cv_fmt_time(int64_t ms, char *out, size_t n);

/* A session's progress in % (0..100): 100 once done, else the mean of its
 * stages' percents; -1 when it has no stages. */
int cv_overall_percent(const cJSON *s);

/* True for the states a session leaves by itself (streaming, draining,
 * finishing). */
bool cv_session_active(const cJSON *s);
/* True when any session of the array is active. */
bool cv_any_active(const cJSON *sessions);

/* How long a session ran: ended - started, or now - started while it
 * runs; -1 when unknown. */
int64_t cv_session_duration_ms(const cJSON *s, int64_t now_ms);

/* The table of `sessions` (a cJSON array of session objects), newest
 * first: ID (12 characters, every one with full_ids), CLIENT, STATE,
 * STARTED (UTC), DURATION, PROGRESS, ROWS (rows sent, "-" if unknown).
 * An empty array prints "no sessions". */
void cv_sessions_table(struct cv_buf *b, const cJSON *sessions, int64_t now_ms,
                       bool full_ids);

/* One session's details: identity, state, times, progress, rows sent, the
 * error, then a table per stage, the rejected rows per table and the
 * archived result files. */
void cv_session_detail(struct cv_buf *b, const cJSON *s, int64_t now_ms);

enum cv_match {
    CV_FOUND = 0,
    CV_NONE = -1,      /* no session id starts with the prefix */
    CV_AMBIGUOUS = -2, /* several do (*out: the first) */
};

/* Finds the session whose id is `prefix` or starts with it (at least one
 * character). Returns an enum cv_match; *out is the session (borrowed). */
int cv_find_session(const cJSON *sessions, const char *prefix,
                    const cJSON **out);

/* True for a result file name that is safe to create in a folder: 1..128
 * characters of [A-Za-z0-9._-], not starting with a dot. */
bool cv_safe_file_name(const char *name);

/* Splits argv[1..argc-1] (argv[0] is the command name) into positionals
 * (arguments that are neither an option nor an option's value, per the
 * table opts) and the rest: rest[0] = argv[0], then the options in order,
 * NULL-terminated (rest has room for argc + 1 pointers). A "--" ends the
 * options. Returns the number of positionals stored in pos (at most
 * maxpos), or -1 when there are more than maxpos. */
int cv_split_args(const struct cfg_opt *opts, size_t n, int argc, char **argv,
                  char **rest, const char **pos, int maxpos);

#endif
