/*
 * client.h - internal interfaces of the client program: the data set on
 * disk (dataset.c), the connection to the gateway (conn.c), streaming the
 * tables (send.c), receiving the result files (results.c) and the progress
 * line (progress.c). main.c wires them together.
 *
 * Functions that fail log a clear message (log.h) and return -1; callers
 * only decide the exit status.
 */
#ifndef CS_CLIENT_H
#define CS_CLIENT_H

#include "log.h"
#include "proto.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Set by the SIGINT/SIGTERM handler; long waits check it. */
extern volatile sig_atomic_t cl_stop;

/* ---- dataset.c ---- */

struct cl_table {
    enum proto_table id;
    char **files;   /* sorted paths (owned) */
    size_t nfiles;
    uint64_t bytes; /* sum of file sizes */
    uint64_t rows;  /* data rows sent (filled by send.c) */
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
int cl_dataset_open(struct cl_dataset *ds, const char *root, const char *folder);
void cl_dataset_fini(struct cl_dataset *ds);

/* The exact header line of a table (without line end). */
const char *cl_table_header(enum proto_table t);

/* ---- conn.c ---- */

struct cl_conn {
    int fd;
    const char *addr;
    struct proto_decoder dec;
    struct proto_buf out;
    char session[PROTO_SESSION_LEN + 1];
    uint32_t max_frame;
};

/* Connects to addr ("host:port") with `retries` retries (capped exponential
 * backoff, each attempt bounded by timeout_ms), sends HELLO and waits for
 * WELCOME. */
int cl_conn_open(struct cl_conn *c, const char *addr, int retries,
                 int timeout_ms, const char *client_name);
void cl_conn_close(struct cl_conn *c);

/* Sends c->out and empties it. */
int cl_conn_flush(struct cl_conn *c);

/* Sends a buffer as is (a frame built elsewhere). */
int cl_conn_send_raw(struct cl_conn *c, const void *p, size_t n);

/* Waits up to timeout_ms (-1: forever) for the next message. Returns 1 with
 * *m filled (its data valid until the next call), 0 on timeout, -1 on error
 * or end of stream (logged). An ERROR message is returned like any other. */
int cl_conn_recv(struct cl_conn *c, struct proto_msg *m, int timeout_ms);

/* After a failed send: reads an ERROR the gateway may have sent before
 * closing and logs it. */
void cl_conn_explain(struct cl_conn *c);

/* ---- progress.c ---- */

struct cl_progress {
    bool tty;
    uint64_t total, done;
    double t0, last;
    const char *what;
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

/* ---- send.c ---- */

/* Streams every table (cl_send_order) as TABLE_BEGIN, BATCHes of whole
 * lines of at most batch_bytes, TABLE_END; then DATA_END. Fills rows. */
int cl_send_dataset(struct cl_conn *c, struct cl_dataset *ds, size_t batch_bytes,
                    struct cl_progress *p);

/* ---- results.c ---- */

#define CL_NRESULTS 5

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

/* Creates the output directory (and parents). */
int cl_results_init(struct cl_results *r, const char *dir);

/* Receives RESULT frames until RESULT_END, then renames every file into
 * place. timeout_s 0: no limit. On failure no result file is replaced. */
int cl_results_receive(struct cl_results *r, struct cl_conn *c, int timeout_s,
                       struct cl_progress *p);

/* Removes temporary files left by a failed receive (and the output folder
 * when this run created it and it stayed empty). */
void cl_results_fini(struct cl_results *r);

#endif
