/*
 * gen-dataset - writes a synthetic coffee-shop data set with the real
 * schema and quirks (docs DATASET.md), deterministic from the seed: the same
 * flags give the same bytes. Planted edge cases (on by default) test every
 * bound and reject rule of QUERIES.md; OUT/edge_cases.json lists them, and
 * --truth DIR writes the expected query results.
 */
#include "gen.h"
#include "clock.h"

#include "cfg.h"
#include "log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int parse_scale(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v > 0.0) || v > 100.0)
        return -1;
    *out = v;
    return 0;
}

static void summary(const struct gen_ctx *ctx, double secs)
{
    static const char *const names[GT_COUNT] = {
        "transactions", "transaction_items", "users",   "stores",
        "menu_items",   "payment_methods",   "vouchers"};
    uint64_t total = 0;
    int t;

    for (t = 0; t < GT_COUNT; t++) {
        total += ctx->bytes[t];
        fprintf(stderr, "  %-18s %12llu rows %6llu malformed %14llu bytes\n",
                names[t], (unsigned long long)ctx->rows[t],
                (unsigned long long)ctx->rejects[t],
                (unsigned long long)ctx->bytes[t]);
    }
    fprintf(stderr, "gen-dataset: %s: %llu bytes in %.2f s (%.1f MB/s)\n",
            ctx->o.out, (unsigned long long)total, secs,
            secs > 0 ? (double)total / 1e6 / secs : 0.0);
}

int main(int argc, char **argv)
{
    struct gen_ctx ctx;
    const char *out = NULL, *scale = NULL, *truth = NULL;
    long seed = 1;
    bool quirks = true, no_quirks = false, edges = true, no_edges = false;
    bool quiet = false;
    struct cfg_opt opts[] = {
        {"GEN_OUT", "out", CFG_STR, NULL, 0, 0, false,
         "output data folder (created; files are overwritten)", &out},
        {"GEN_SCALE", "scale", CFG_STR, "0.01", 0, 0, false,
         "size: 1 = the real data set (~15 M transactions, ~3.5 GB), "
         "0 < S <= 100",
         &scale},
        {"GEN_SEED", "seed", CFG_INT, "1", 0, 2147483647L, false,
         "PRNG seed: same flags and seed give identical bytes", &seed},
        {"GEN_QUIRKS", "quirks", CFG_BOOL, "1", 0, 0, false,
         "real-world quirks: CRLF files, quoted names (one with a comma), "
         "a missing last line end, a blank line, odd but valid fields",
         &quirks},
        {NULL, "no-quirks", CFG_BOOL, "0", 0, 0, false,
         "same as --quirks=false", &no_quirks},
        {"GEN_EDGE_CASES", "edge-cases", CFG_BOOL, "1", 0, 0, false,
         "plant edge cases and malformed rows (listed in edge_cases.json)",
         &edges},
        {NULL, "no-edge-cases", CFG_BOOL, "0", 0, 0, false,
         "same as --edge-cases=false", &no_edges},
        {"GEN_TRUTH", "truth", CFG_STR, "", 0, 0, false,
         "also write the expected query results (q1..q4.csv, "
         "rejected.json) into this folder",
         &truth},
        {NULL, "quiet", CFG_BOOL, "0", 0, 0, false,
         "no progress lines (the summary is still printed)", &quiet},
    };
    size_t n = sizeof(opts) / sizeof(opts[0]);
    double t0 = clock_mono_s();
    int rc;

    if (log_init("gen-dataset") != 0) {
        fprintf(stderr, "error: LOG_LEVEL must be error|warn|info|debug\n");
        return 2;
    }
    rc = cfg_parse(opts, n, argc, argv,
                   "usage: gen-dataset --out DIR [--scale S] [--seed N] "
                   "[options]",
                   "Writes a synthetic coffee-shop data set (24 monthly "
                   "files, 2023-07..2025-06) with the real schema, "
                   "deterministic from the seed.");
    if (rc == CFG_HELP)
        return 0;
    if (rc != CFG_OK)
        return 2;
    memset(&ctx, 0, sizeof(ctx));
    if (parse_scale(scale, &ctx.o.scale) != 0) {
        fprintf(stderr, "error: --scale: '%s' is not a number in (0, 100]\n",
                scale);
        return 2;
    }
    ctx.o.out = out;
    ctx.o.scale_text = scale;
    ctx.o.seed = (uint64_t)seed;
    ctx.o.quirks = quirks && !no_quirks;
    ctx.o.edges = edges && !no_edges;
    ctx.o.quiet = quiet;
    ctx.o.truth_dir = truth;
    if (!quiet)
        cfg_log(opts, n);
    if (gen_run(&ctx) != 0)
        return 1;
    summary(&ctx, clock_mono_s() - t0);
    return 0;
}
