/*
 * main.c - the coffee-stream client: streams one data folder to the gateway
 * and writes the five result files (see client.h and docs/PROTOCOL.md); a
 * session whose gateway is lost runs again (session.c). `client status`,
 * `watch` and `results` ask the control plane instead (cli.c).
 *
 * Exit status: 0 when every result file arrived, 1 on any failure (the
 * message says why), 2 for a configuration error.
 */
#include "client.h"
#include "sig.h"
#include "clock.h"

#include "cfg.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct config {
    const char *data_folder, *data_root, *gateway, *output, *name;
    long batch_bytes, retries, connect_timeout_ms, result_timeout_s;
    long session_retries;
    bool no_progress;
};

/* One line naming the sessions that were lost and run again. */
static void print_reruns(const struct cl_session_log *sl)
{
    int i;

    if (sl->attempts <= 1)
        return;
    printf("re-runs   %d after losing the gateway; earlier sessions:",
           sl->attempts - 1);
    for (i = 0; i + 1 < sl->nids; i++)
        printf("%s %s", i ? "," : "", sl->ids[i]);
    printf("%s\n", sl->nids > 1 ? "" : " none started");
}

static void print_summary(const struct cl_dataset *ds,
                          const struct cl_results *r,
                          const struct cl_session_log *sl, double elapsed)
{
    uint64_t rows = 0, rej = 0;
    int i;

    printf("session   %s\n", sl->ids[sl->nids - 1]);
    print_reruns(sl);
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
           elapsed > 0 ? (double)ds->total_bytes / (1024.0 * 1024.0) / elapsed
                       : 0.0);
}

static int run(const struct config *cfg, const char *outdir, const char *name)
{
    struct cl_session_cfg scfg = {
        .gateway = cfg->gateway,
        .name = name,
        .connect_retries = (int)cfg->retries,
        .connect_timeout_ms = (int)cfg->connect_timeout_ms,
        .result_timeout_s = (int)cfg->result_timeout_s,
        .retries = (int)cfg->session_retries,
        .batch_bytes = (size_t)cfg->batch_bytes,
        .progress = !cfg->no_progress,
    };
    struct cl_session_log sl;
    struct cl_dataset ds;
    struct cl_results res;
    double t0 = clock_mono_s();
    int rc = 1, t;

    if (cl_dataset_open(&ds, cfg->data_root, cfg->data_folder) != 0)
        goto out_dataset;
    if (cl_results_init(&res, outdir) != 0)
        goto out_dataset;
    if (cl_session_run(&scfg, &ds, &res, &sl) != 0) {
        if (sl.nids > 0)
            cl_error("session %s failed; no result file was written",
                     sl.ids[sl.nids - 1]);
        else
            cl_error("no session; no result file was written");
        goto out_results;
    }
    for (t = 0; t < PROTO_NTABLES; t++)
        ds.tables[t].rejected = res.rejected[t];
    print_summary(&ds, &res, &sl, clock_mono_s() - t0);
    rc = 0;
out_results:
    cl_results_fini(&res);
out_dataset:
    cl_dataset_fini(&ds);
    return rc;
}

/* `client run` and the bare form: streams a data set (argv[0] is the
 * command's name). Returns the exit status. */
static int cmd_run(int argc, char **argv)
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
         "where the result files go (empty: results/<data folder>)",
         &cfg.output},
        {"BATCH_BYTES", "batch-bytes", CFG_INT, "524288", 1024, 64L << 20,
         false, "max CSV bytes per batch (whole lines)", &cfg.batch_bytes},
        {"CONNECT_RETRIES", "connect-retries", CFG_INT, "5", 0, 1000, false,
         "retries when the gateway is unreachable or busy (backoff 0.25 s "
         "doubling to 4 s)",
         &cfg.retries},
        {"CONNECT_TIMEOUT_MS", "connect-timeout-ms", CFG_INT, "3000", 100,
         600000, false, "timeout of one connection attempt",
         &cfg.connect_timeout_ms},
        {"RESULT_TIMEOUT_S", "result-timeout", CFG_INT, "3600", 0, 604800,
         false,
         "max seconds to wait for the results after sending, per attempt "
         "(0: no limit)",
         &cfg.result_timeout_s},
        {"SESSION_RETRIES", "session-retries", CFG_INT, "5", 0,
         CL_SESSION_RETRIES_MAX, false,
         "re-runs of the whole session (new session, data sent again) when "
         "the gateway connection is lost or the gateway reports losing the "
         "broker or shutting down (backoff 0.5 s doubling to 8 s)",
         &cfg.session_retries},
        {"CLIENT_NAME", "name", CFG_STR, "", 0, 0, false,
         "name shown in the gateway's logs (empty: client-<host>-<pid>)",
         &cfg.name},
        {"NO_PROGRESS", "no-progress", CFG_BOOL, "0", 0, 0, false,
         "no progress line, even on a terminal", &cfg.no_progress},
    };
    size_t nopts = sizeof(opts) / sizeof(opts[0]);
    int rc;

    rc =
        cfg_parse(opts, nopts, argc, argv,
                  "usage: client [run] --data-folder NAME [options]",
                  "Streams the tables of <data root>/NAME (stores, menu_items, "
                  "users, transactions,\ntransaction_items: */*.csv) to a "
                  "coffee-stream gateway and writes the result files into the "
                  "output folder:\n" CS_RESULT_FILES_TEXT ".\n"
                  "LOG_LEVEL (error|warn|info|debug) sets "
                  "the log level. Exit status: 0 when every\nresult arrived, 1 "
                  "on failure, 2 on a configuration error.");
    if (rc == CFG_HELP)
        return 0;
    if (rc != CFG_OK)
        return 2;
    cfg_log(opts, nopts);
    if (sig_stop_install(-1) != 0) {
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

/* True when argv has --help or -h (the bare form's help lists the
 * commands first). */
static bool wants_help(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
    } cmds[] = {
        {"run", cmd_run},
        {"status", cl_cmd_status},
        {"watch", cl_cmd_watch},
        {"results", cl_cmd_results},
    };
    size_t i;

    if (log_init("client") != 0) {
        fprintf(stderr, "error: LOG_LEVEL must be error|warn|info|debug\n");
        return 2;
    }
    if (argc < 2 || argv[1][0] == '-') { /* the bare form: run */
        if (wants_help(argc, argv)) {
            cl_cmd_usage();
            printf("\n");
        }
        return cmd_run(argc, argv);
    }
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    if (strcmp(argv[1], "help") == 0) {
        for (i = 0; argc > 2 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
            if (strcmp(argv[2], cmds[i].name) == 0) {
                static char flag[] = "--help";
                char *help[] = {argv[2], flag, NULL};

                return cmds[i].fn(2, help);
            }
        cl_cmd_usage();
        return 0;
    }
    fprintf(stderr,
            "error: unknown command '%s'\n"
            "usage: client [run|status|watch|results|help] [options] "
            "(see client help)\n",
            argv[1]);
    return 2;
}
