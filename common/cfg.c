/*
 * cfg.c - strict parsing of the configuration table (see cfg.h).
 */
#include "cfg.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_long(const char *s, long *out)
{
    char *end;
    long v;

    if (s == NULL || s[0] == '\0')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0 ||
        strcmp(s, "yes") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0 ||
        strcmp(s, "no") == 0) {
        *out = false;
        return 0;
    }
    return -1;
}

/* Stores `val` into the option; returns 0 or -1 after printing why. */
static int cfg_set(const struct cfg_opt *o, const char *val, const char *src)
{
    long v;

    switch (o->type) {
    case CFG_STR:
        *(const char **)o->dst = val;
        return 0;
    case CFG_INT:
        if (parse_long(val, &v) != 0 || v < o->min || v > o->max) {
            fprintf(stderr, "error: %s: '%s' is not an integer in [%ld, %ld]\n",
                    src, val, o->min, o->max);
            return -1;
        }
        *(long *)o->dst = v;
        return 0;
    case CFG_BOOL:
        if (parse_bool(val, (bool *)o->dst) != 0) {
            fprintf(stderr,
                    "error: %s: '%s' is not a boolean (0/1/true/false)\n", src,
                    val);
            return -1;
        }
        return 0;
    }
    return -1;
}

static void cfg_help(const struct cfg_opt *opts, size_t n, const char *usage,
                     const char *about)
{
    size_t i;

    printf("%s\n\n%s\n\noptions (flag / environment variable, default):\n",
           usage, about);
    for (i = 0; i < n; i++) {
        const struct cfg_opt *o = &opts[i];
        char flag[64] = "";

        if (o->flag)
            snprintf(flag, sizeof(flag), "--%s%s", o->flag,
                     o->type == CFG_BOOL ? "" : " V");
        printf("  %-24s %-22s %s", flag, o->env ? o->env : "", o->help);
        if (o->type == CFG_INT)
            printf(" [%ld..%ld]", o->min, o->max);
        if (o->def)
            printf(" (default: %s)", o->def[0] ? o->def : "empty");
        else
            printf(" (required)");
        printf("\n");
    }
    printf("  %-24s %-22s %s\n", "--help", "", "print this help and exit");
}

static const struct cfg_opt *find_flag(const struct cfg_opt *opts, size_t n,
                                       const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (opts[i].flag && strlen(opts[i].flag) == len &&
            strncmp(opts[i].flag, name, len) == 0)
            return &opts[i];
    return NULL;
}

static int parse_flags(const struct cfg_opt *opts, size_t n, int argc,
                       char **argv, bool *seen)
{
    int errors = 0;
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq, *val = NULL;
        const struct cfg_opt *o;
        size_t len;

        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "error: unexpected argument '%s'\n", a);
            errors++;
            continue;
        }
        eq = strchr(a + 2, '=');
        len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        o = find_flag(opts, n, a + 2, len);
        if (o == NULL) {
            fprintf(stderr, "error: unknown option '%s' (see --help)\n", a);
            errors++;
            continue;
        }
        if (eq)
            val = eq + 1;
        else if (o->type == CFG_BOOL)
            val = "1";
        else if (i + 1 < argc)
            val = argv[++i];
        if (val == NULL) {
            fprintf(stderr, "error: option '%s' needs a value\n", a);
            errors++;
            continue;
        }
        if (cfg_set(o, val, a) != 0)
            errors++;
        seen[o - opts] = true;
    }
    return errors;
}

int cfg_parse(const struct cfg_opt *opts, size_t n, int argc, char **argv,
              const char *usage, const char *about)
{
    bool seen[64] = {false};
    int errors = 0;
    size_t i;
    int a;

    if (n > sizeof(seen) / sizeof(seen[0]))
        return CFG_ERROR;
    for (a = 1; a < argc; a++)
        if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
            cfg_help(opts, n, usage, about);
            return CFG_HELP;
        }
    for (i = 0; i < n; i++) {
        const char *env = opts[i].env ? getenv(opts[i].env) : NULL;

        if (opts[i].def && cfg_set(&opts[i], opts[i].def, "default") != 0)
            errors++;
        if (env) {
            if (cfg_set(&opts[i], env, opts[i].env) != 0)
                errors++;
            seen[i] = true;
        }
    }
    errors += parse_flags(opts, n, argc, argv, seen);
    for (i = 0; i < n; i++)
        if (opts[i].def == NULL && !seen[i]) {
            if (opts[i].flag && opts[i].env)
                fprintf(stderr, "error: --%s is required (or set %s)\n",
                        opts[i].flag, opts[i].env);
            else
                fprintf(stderr, "error: %s%s is required\n",
                        opts[i].flag ? "--" : "",
                        opts[i].flag ? opts[i].flag : opts[i].env);
            errors++;
        }
    if (errors) {
        fprintf(stderr, "%s\n(see --help)\n", usage);
        return CFG_ERROR;
    }
    return CFG_OK;
}

/* One URL of `len` bytes (no NUL needed) with its password masked. */
static void mask_one(const char *url, size_t len, char *out, size_t outsz)
{
    const char *end = url + len;
    const char *scheme = NULL, *at = NULL, *p, *colon;

    for (p = url; p < end; p++) {
        if (scheme == NULL && end - p >= 3 && strncmp(p, "://", 3) == 0)
            scheme = p;
        if (*p == '@')
            at = p;
    }
    colon = scheme != NULL && at != NULL && at > scheme + 3
                ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3))
                : NULL;
    if (colon == NULL)
        snprintf(out, outsz, "%.*s", (int)len, url);
    else
        snprintf(out, outsz, "%.*s:***%.*s", (int)(colon - url), url,
                 (int)(end - at), at);
}

void cfg_mask_url(const char *url, char *out, size_t outsz)
{
    const char *comma;
    size_t used = 0, len;

    if (outsz == 0)
        return;
    out[0] = '\0';
    /* a comma-separated list (the nodes of a cluster): each one masked */
    for (;;) {
        comma = strchr(url, ',');
        len = comma != NULL ? (size_t)(comma - url) : strlen(url);
        mask_one(url, len, out + used, outsz - used);
        used += strlen(out + used);
        if (comma == NULL || used + 1 >= outsz)
            return;
        out[used++] = ',';
        out[used] = '\0';
        url = comma + 1;
    }
}

void cfg_log(const struct cfg_opt *opts, size_t n)
{
    char line[1536];
    size_t used = 0;
    size_t i;

    line[0] = '\0';
    for (i = 0; i < n && used < sizeof(line); i++) {
        const struct cfg_opt *o = &opts[i];
        const char *name = o->env ? o->env : o->flag;
        char val[256];
        int r;

        if (o->type == CFG_INT)
            snprintf(val, sizeof(val), "%ld", *(long *)o->dst);
        else if (o->type == CFG_BOOL)
            snprintf(val, sizeof(val), "%s",
                     *(bool *)o->dst ? "true" : "false");
        else if (*(const char **)o->dst == NULL)
            snprintf(val, sizeof(val), "(unset)");
        else if (o->secret && strstr(*(const char **)o->dst, "://") == NULL)
            snprintf(val, sizeof(val), "%s",
                     **(const char **)o->dst ? "(set)" : "(unset)");
        else if (o->secret)
            cfg_mask_url(*(const char **)o->dst, val, sizeof(val));
        else
            snprintf(val, sizeof(val), "%s", *(const char **)o->dst);
        r = snprintf(line + used, sizeof(line) - used, " %s=%s", name, val);
        if (r < 0)
            break;
        used += (size_t)r;
    }
    log_info("config%s", line);
}
