/*
 * client.h - internal interfaces of the client program: the data set on
 * disk (dataset.c), the connection to the gateway (conn.c), streaming the
 * tables (send.c), receiving the result files (results.c), the progress
 * line (progress.c) and running a session, again when its gateway is lost
 * (session.c), and the control plane commands (cli.c with api.c and
 * view.c). main.c wires them together.
 *
 * Functions that fail return a negative enum cl_status. A CL_FAIL has been
 * logged (log.h) with a clear message; a CL_LOST or CL_UNREACHABLE is
 * described in the connection's `why` instead, because whether it is an
 * error depends on the caller: session.c runs the session again.
 */
#ifndef CS_CLIENT_H
#define CS_CLIENT_H

#include "log.h"
#include "proto.h"
#include "sig.h" /* long waits check sig_stop_requested() */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Failures (0 is success). */
enum cl_status {
    CL_FAIL = -1,        /* for good: bad input, protocol, pipeline, timeout,
                          * interrupted (logged) */
    CL_LOST = -2,        /* the gateway connection broke (EOF, reset, any
                          * socket error) or the gateway sent ERROR
                          * PROTO_E_BROKER / PROTO_E_SHUTDOWN (see c->why) */
    CL_UNREACHABLE = -3, /* no session after the connect retries: refused,
                          * unreachable or busy (see c->why, c->attempts) */
};

/* ---- dataset.c ---- */

struct cl_table {
    enum proto_table id;
    char **files; /* sorted paths (owned) */
    size_t nfiles;
    uint64_t bytes;    /* sum of file sizes */
    uint64_t rows;     /* data rows sent (filled by send.c) */
    uint64_t rejected; /* from the gateway's RESULT_END */
};

struct cl_dataset {
    char path[4096];
    struct cl_table tables[PROTO_NTABLES]; /* indexed by proto table id */
    uint64_t total_bytes;
};

/* The order the tables are sent in: small ones first. */
extern const enum proto_table cl_send_order[PROTO_NTABLES];

/* Finds root/folder (or folder itself when it contains a '/'), lists each
 * table's *.csv files sorted by name and checks every header. */
int cl_dataset_open(struct cl_dataset *ds, const char *root,
                    const char *folder);
void cl_dataset_fini(struct cl_dataset *ds);

/* The exact header line of a table (without line end). */
const char *cl_table_header(enum proto_table t);

/* ---- conn.c ---- */

struct cl_conn {
    int fd;
    const char *addr;
    struct proto_decoder dec;
    struct proto_buf out;
    char session[PROTO_SESSION_LEN + 1]; /* "" until WELCOME */
    uint32_t max_frame;
    uint64_t sent; /* bytes sent on this connection */
    int attempts;  /* connection attempts made by cl_conn_open */
    char why[512]; /* what a CL_LOST / CL_UNREACHABLE was */
};

/* Connects to addr ("host:port") with `retries` retries (capped exponential
 * backoff, each attempt bounded by timeout_ms), sends HELLO and waits for
 * WELCOME. Returns 0 or an enum cl_status; cl_conn_close() is due either
 * way. addr is borrowed until then. folder: the data folder's name, sent in
 * HELLO for the operators' view (cut to PROTO_FOLDER_MAX bytes). */
int cl_conn_open(struct cl_conn *c, const char *addr, int retries,
                 int timeout_ms, const char *client_name, const char *folder);
/* Closes the socket and frees the buffers; why, session and sent stay
 * readable. Idempotent. */
void cl_conn_close(struct cl_conn *c);

/* Sends c->out and empties it. Returns 0 or an enum cl_status. */
int cl_conn_flush(struct cl_conn *c);

/* Sends a buffer as is (a frame built elsewhere). Returns 0 or an enum
 * cl_status (after a failed send, an ERROR the gateway sent before closing
 * decides which). */
int cl_conn_send_raw(struct cl_conn *c, const void *p, size_t n);

/* Waits up to timeout_ms (-1: forever) for the next message. Returns 1 with
 * *m filled (its data valid until the next call), 0 on timeout, or an enum
 * cl_status (CL_LOST at end of stream). An ERROR message is returned like
 * any other. */
int cl_conn_recv(struct cl_conn *c, struct proto_msg *m, int timeout_ms);

/* Handles an ERROR message m from the gateway: codes PROTO_E_BROKER and
 * PROTO_E_SHUTDOWN give CL_LOST (c->why says "<what>: <text> (code N)"),
 * any other is logged the same way and gives CL_FAIL. */
int cl_conn_error(struct cl_conn *c, const struct proto_msg *m,
                  const char *what);

/* Sleeps ms milliseconds, less if a stop signal arrives. */
void cl_sleep_ms(int ms);

/* ---- progress.c ---- */

struct cl_progress {
    bool tty;
    uint64_t total, done;
    double t0, last;
    const char *what;
    char status[128]; /* what the session waits for (gateway STATUS), or "" */
};

void cl_progress_init(struct cl_progress *p, uint64_t total, bool enabled);

/* Erases the progress line if one is shown (before any other output). */
void cl_progress_clear(void);

/* Logging that first erases the progress line. */
#define cl_error(...)                                                          \
    do {                                                                       \
        cl_progress_clear();                                                   \
        log_error(__VA_ARGS__);                                                \
    } while (0)
#define cl_warn(...)                                                           \
    do {                                                                       \
        cl_progress_clear();                                                   \
        log_warn(__VA_ARGS__);                                                 \
    } while (0)
void cl_progress_add(struct cl_progress *p, uint64_t bytes, const char *what);
void cl_progress_wait(struct cl_progress *p, double since, int files_done);
void cl_progress_end(struct cl_progress *p);

/* A STATUS from the gateway: shown in the progress line (and logged once)
 * until an empty one clears it. */
void cl_progress_status(struct cl_progress *p, const char *text);

/* ---- send.c ---- */

/* Streams every table (cl_send_order) as TABLE_BEGIN, BATCHes of whole
 * lines of at most batch_bytes, TABLE_END; then DATA_END. Fills rows.
 * Returns 0 or an enum cl_status. */
int cl_send_dataset(struct cl_conn *c, struct cl_dataset *ds,
                    size_t batch_bytes, struct cl_progress *p);

/* ---- results.c ---- */

#define CL_NRESULTS CS_NRESULTS

struct cl_result_file {
    const char *name;
    char tmp[4200];
    int fd;
    uint32_t next_seq;
    uint64_t bytes, records;
    bool quoted;
};

struct cl_results {
    char dir[4096];
    struct cl_result_file f[CL_NRESULTS];
    uint64_t rejected[PROTO_NTABLES];
    bool created;   /* the output folder was made by this run */
    bool committed; /* the files were renamed into place */
};

/* mkdir -p: creates path and its parents (path is modified while it runs,
 * then restored). 0, or -1 (errno). */
int cl_make_dirs(char *path);

/* Creates the output directory (and parents). */
int cl_results_init(struct cl_results *r, const char *dir);

/* Receives RESULT frames into the hidden temporary files until
 * RESULT_END, then makes all five durable and only then renames them into
 * place. timeout_s 0: no limit. Returns 0 or an enum cl_status; on failure
 * no result file is replaced. */
int cl_results_receive(struct cl_results *r, struct cl_conn *c, int timeout_s,
                       struct cl_progress *p);

/* Discards what a failed receive left (closes and removes the temporary
 * files, zeroes the counts) so that the session can be received again. */
void cl_results_reset(struct cl_results *r);

/* cl_results_reset(), then removes the output folder when this run created
 * it and it stayed empty. */
void cl_results_fini(struct cl_results *r);

/* ---- session.c ---- */

#define CL_SESSION_RETRIES_MAX 100

struct cl_session_cfg {
    const char *gateway, *name; /* borrowed */
    int connect_retries, connect_timeout_ms, result_timeout_s;
    int retries; /* re-runs, 0..CL_SESSION_RETRIES_MAX */
    size_t batch_bytes;
    bool progress;
};

/* What happened: the session ids the gateway gave, in order (the last one
 * is the final session), and how many attempts ran. */
struct cl_session_log {
    char ids[CL_SESSION_RETRIES_MAX + 1][PROTO_SESSION_LEN + 1];
    int nids, attempts;
};

/* Runs the session: connect, stream ds, receive the results into r. An
 * attempt that ends CL_LOST (or CL_UNREACHABLE once a session had started)
 * is run again from scratch, up to cfg->retries times, with backoff 0.5 s
 * doubling to 8 s (cut short by sig_stop_requested()); its partial results are
 * discarded. Returns 0 or -1 (logged). */
int cl_session_run(const struct cl_session_cfg *cfg, struct cl_dataset *ds,
                   struct cl_results *r, struct cl_session_log *sl);

/* ---- cli.c: the control plane commands (status, watch, results) ---- */

/* Each takes the arguments after "client" (argv[0] is the command's name)
 * and returns the exit status: 0, 1 on failure (the control plane
 * unreachable, an unknown session, ...; printed on stderr), 2 for bad
 * arguments. */
int cl_cmd_status(int argc, char **argv);
int cl_cmd_watch(int argc, char **argv);
int cl_cmd_results(int argc, char **argv);

/* Prints the list of commands (client help). */
void cl_cmd_usage(void);

#endif
