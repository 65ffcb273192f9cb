/*
 * spec.h - the local backend's configuration: a JSON file (MONITOR_SPEC)
 * naming every process to keep alive.
 *
 *   {"slots": [
 *     {"name": "coordinator",                       required, unique,
 *                                                   [A-Za-z0-9._-]{1,63}
 *      "argv": ["build/bin/coordinator"],           required, non-empty;
 *                                                   argv[0] is a path
 *                                                   (relative: to cwd)
 *      "env": {"CS_REPLICAS": "filter=2", ...},     optional, string values;
 *                                                   added to (and replacing
 *                                                   in) the monitor's own
 *      "cwd": "/path",                              optional (default: the
 *                                                   monitor's)
 *      "log": "/path/coordinator.log"},             optional: stdout+stderr,
 *                                                   appended (default: the
 *                                                   monitor's stderr)
 *     ...]}
 *
 * Unknown keys are errors (a typo must not go unnoticed). A started process
 * inherits the environment of the monitor that starts it, so a monitor's
 * slot names in "env" every setting that differs between monitors
 * (MONITOR_ID, MONITOR_HTTP_PORT, MONITOR_LISTEN if used).
 */
#ifndef CS_MONITOR_SPEC_H
#define CS_MONITOR_SPEC_H

#include <stddef.h>

struct spec_slot {
    char *name;
    char **argv; /* NULL-terminated */
    char **env;  /* "KEY=VALUE" strings, NULL-terminated */
    char *cwd;   /* NULL: the monitor's */
    char *log;   /* NULL: the monitor's stderr */
};

struct spec {
    struct spec_slot *slots;
    size_t n;
};

/* Parses the JSON text; NULL with a reason in err. The result is owned by
 * the caller (spec_free). */
struct spec *spec_parse(const char *json, char *err, size_t errsz);

/* Reads and parses the file at path; NULL with a reason in err. */
struct spec *spec_load(const char *path, char *err, size_t errsz);

void spec_free(struct spec *s);

#endif
