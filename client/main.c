/*
 * main.c - the coffee-stream client: streams one data folder to the gateway
 * and writes the five result files (see client.h and docs/PROTOCOL.md).
 *
 * Exit status: 0 when every result file arrived, 1 on any failure (the
 * message says why), 2 for a configuration error.
 */
#include "client.h"
#include "sig.h"
#include "clock.h"

#include "cfg.h"
#include "log.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t cl_stop;

struct config {
    const char *data_folder, *data_root, *gateway, *output, *name;
    long batch_bytes, retries, connect_timeout_ms, result_timeout_s;
    bool no_progress;
};

static void on_signal(int sig)
{
    (void)sig;
    cl_stop = 1;
}

static void print_summary(const struct cl_dataset *ds, const struct cl_results *r,
                          const char *session, double elapsed)
{
    uint64_t rows = 0, rej = 0;
    int i;

    printf("session   %s\n", session);
    printf("%-20s %12s %10s\n", "table", "rows_sent", "rejected");
    for (i = 0; i < PROTO_NTABLES; i++) {
        const struct cl_table *tb = &ds->tables[cl_send_order[i]];

        printf("%-20s %12llu %10llu\n", proto_table_name((uint8_t)tb->id),
               (unsigned long long)tb->rows, (unsigned long long)tb->rejected);
        rows += tb->rows;
        rej += tb->rejected;
    }
    printf("%-20s %12llu %10llu\n", "total", (unsigned long long)rows,
           (unsigned long long)rej);
    printf("%-24s %12s\n", "result", "rows");
    for (i = 0; i < CL_NRESULTS; i++)
        printf("%-24s %12llu\n", r->f[i].name,
               (unsigned long long)(r->f[i].records ? r->f[i].records - 1 : 0));
    printf("output    %s\n", r->dir);
    printf("elapsed   %.2f s, sent %.1f MB, throughput %.2f MB/s\n", elapsed,
           (double)ds->total_bytes / (1024.0 * 1024.0),
           elapsed > 0 ? (double)ds->total_bytes / (1024.0 * 1024.0) / elapsed : 0.0);
}

static int run(const struct config *cfg, const char *outdir, const char *name)
{
    struct cl_dataset ds;
    struct cl_results res;
    struct cl_progress prog;
    struct cl_conn conn;
    size_t batch = (size_t)cfg->batch_bytes;
    double t0 = clock_mono_s();
    int rc = 1, t;

    if (cl_dataset_open(&ds, cfg->data_root, cfg->data_folder) != 0)
        goto out_dataset;
    if (cl_results_init(&res, outdir) != 0)
        goto out_dataset;
    if (cl_conn_open(&conn, cfg->gateway, (int)cfg->retries,
                     (int)cfg->connect_timeout_ms, name) != 0)
        goto out_conn;
    log_info("session started session=%s gateway=%s folder=%s bytes=%llu",
             conn.session, cfg->gateway, ds.path,
             (unsigned long long)ds.total_bytes);
    if (batch + PROTO_BATCH_PREFIX_LEN - PROTO_HDR_LEN > conn.max_frame) {
        batch = conn.max_frame - (PROTO_BATCH_PREFIX_LEN - PROTO_HDR_LEN);
        cl_warn("batch size lowered to %zu bytes: the gateway's frame cap is %u",
                 batch, conn.max_frame);
    }
    cl_progress_init(&prog, ds.total_bytes, !cfg->no_progress);
    if (cl_send_dataset(&conn, &ds, batch, &prog) != 0)
        goto out_progress;
    if (cl_results_receive(&res, &conn, (int)cfg->result_timeout_s, &prog) != 0)
        goto out_progress;
    for (t = 0; t < PROTO_NTABLES; t++)
        ds.tables[t].rejected = res.rejected[t];
    print_summary(&ds, &res, conn.session, clock_mono_s() - t0);
    rc = 0;
out_progress:
    cl_progress_end(&prog);
    if (rc != 0)
        cl_error("session %s failed; no result file was written", conn.session);
out_conn:
    cl_conn_close(&conn);
    cl_results_fini(&res);
out_dataset:
    cl_dataset_fini(&ds);
    return rc;
}

int main(int argc, char **argv)
{
    struct config cfg;
    char outdir[4096], name[PROTO_NAME_MAX + 1], host[64] = "host";
    const char *base;
    const struct cfg_opt opts[] = {
        {"DATA_FOLDER", "data-folder", CFG_STR, NULL, 0, 0, false,
         "data set to send: a folder under the data root (or a path with '/')",
         &cfg.data_folder},
        {"DATA_ROOT", "data-root", CFG_STR, ".data", 0, 0, false,
         "folder holding the data sets", &cfg.data_root},
        {"GATEWAY_ADDR", "gateway", CFG_STR, "127.0.0.1:9000", 0, 0, false,
         "gateway address host:port", &cfg.gateway},
        {"OUTPUT_DIR", "output", CFG_STR, "", 0, 0, false,
         "where the result files go (empty: results/<data folder>)", &cfg.output},
        {"BATCH_BYTES", "batch-bytes", CFG_INT, "65536", 1024, 64L << 20, false,
         "max CSV bytes per batch (whole lines)", &cfg.batch_bytes},
        {"CONNECT_RETRIES", "connect-retries", CFG_INT, "5", 0, 1000, false,
         "retries when the gateway is unreachable or busy (backoff 0.25 s "
         "doubling to 4 s)",
         &cfg.retries},
        {"CONNECT_TIMEOUT_MS", "connect-timeout-ms", CFG_INT, "3000", 100, 600000,
         false, "timeout of one connection attempt", &cfg.connect_timeout_ms},
        {"RESULT_TIMEOUT_S", "result-timeout", CFG_INT, "3600", 0, 604800, false,
         "max seconds to wait for the results after sending (0: no limit)",
         &cfg.result_timeout_s},
        {"CLIENT_NAME", "name", CFG_STR, "", 0, 0, false,
         "name shown in the gateway's logs (empty: client-<host>-<pid>)",
         &cfg.name},
        {"NO_PROGRESS", "no-progress", CFG_BOOL, "0", 0, 0, false,
         "no progress line, even on a terminal", &cfg.no_progress},
    };
    size_t nopts = sizeof(opts) / sizeof(opts[0]);
    int rc;

    if (log_init("client") != 0)
        fprintf(stderr, "warning: LOG_LEVEL must be error|warn|info|debug\n");
    rc = cfg_parse(opts, nopts, argc, argv,
                   "usage: client --data-folder NAME [options]",
                   "Streams the tables of <data root>/NAME (stores, menu_items, "
                   "users, transactions,\ntransaction_items: */*.csv) to a "
                   "coffee-stream gateway and writes the result files\nq1.csv "
                   "q2_best_selling.csv q2_most_profitable.csv q3.csv q4.csv into "
                   "the output folder.\nLOG_LEVEL (error|warn|info|debug) sets "
                   "the log level. Exit status: 0 when every\nresult arrived, 1 "
                   "on failure, 2 on a configuration error.");
    if (rc == CFG_HELP)
        return 0;
    if (rc != CFG_OK)
        return 2;
    cfg_log(opts, nopts);
    if (sig_on_stop(on_signal) != 0) {
        cl_error("cannot install signal handlers");
        return 1;
    }
    base = strrchr(cfg.data_folder, '/');
    base = base && base[1] ? base + 1 : cfg.data_folder;
    if (cfg.output[0])
        snprintf(outdir, sizeof(outdir), "%s", cfg.output);
    else
        snprintf(outdir, sizeof(outdir), "results/%s", base);
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "host");
    host[sizeof(host) - 1] = '\0';
    if (cfg.name[0])
        snprintf(name, sizeof(name), "%s", cfg.name);
    else
        snprintf(name, sizeof(name), "client-%.32s-%ld", host, (long)getpid());
    return run(&cfg, outdir, name);
}
