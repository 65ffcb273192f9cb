/*
 * cfg.h - table-driven configuration: every setting is an environment
 * variable with an equivalent command-line flag, a default and bounds.
 *
 * cfg_parse() reads the defaults, then the environment, then the flags
 * (`--name VALUE` or `--name=VALUE`; boolean flags take no value), checks
 * everything strictly and reports every error at once on stderr.
 * `--help` prints the table. main() maps the result to an exit status
 * (CFG_ERROR -> 2).
 */
#ifndef CS_CFG_H
#define CS_CFG_H

#include <stdbool.h>
#include <stddef.h>

enum cfg_type {
    CFG_STR,  /* dst: const char ** (points into argv/environ/def: static) */
    CFG_INT,  /* dst: long *, checked against [min, max] */
    CFG_BOOL, /* dst: bool *; env accepts 0/1/true/false, flag sets true */
};

struct cfg_opt {
    const char *env;  /* e.g. "AMQP_URL"; NULL: flag only */
    const char *flag; /* e.g. "amqp-url" (without dashes); NULL: env only */
    enum cfg_type type;
    const char *def; /* default as text; NULL: required (CFG_STR) */
    long min, max;   /* bounds for CFG_INT */
    bool secret;     /* masked when logged (URL passwords) */
    const char *help;
    void *dst;
};

enum cfg_result {
    CFG_OK = 0,
    CFG_HELP = 1,   /* --help was printed: exit 0 */
    CFG_ERROR = -1, /* errors printed: exit 2 */
};

/* Parses as above. Positional arguments are not accepted. `usage` is the
 * first line of --help (e.g. "usage: client --data-folder NAME [options]")
 * and `about` a paragraph printed under it; both borrowed. */
int cfg_parse(const struct cfg_opt *opts, size_t n, int argc, char **argv,
              const char *usage, const char *about)
    __attribute__((warn_unused_result));

/* Logs the effective configuration on one info line; secrets masked
 * (the password of a URL is replaced by ***). */
void cfg_log(const struct cfg_opt *opts, size_t n);

/* Copies `url` into out (size outsz) with the password masked. */
void cfg_mask_url(const char *url, char *out, size_t outsz);

#endif
