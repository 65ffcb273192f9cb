/*
 * log.c - the logging sink: a single formatted write(2) per line so lines of
 * concurrent processes sharing a terminal or file do not interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_component = "coffee-stream";
static enum log_level log_level_cur = LOG_INFO;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

int log_init(const char *component)
{
    const char *env = getenv("LOG_LEVEL");

    log_component = component;
    if (env == NULL || env[0] == '\0')
        return 0;
    if (strcmp(env, "error") == 0)
        log_level_cur = LOG_ERROR;
    else if (strcmp(env, "warn") == 0)
        log_level_cur = LOG_WARN;
    else if (strcmp(env, "info") == 0)
        log_level_cur = LOG_INFO;
    else if (strcmp(env, "debug") == 0)
        log_level_cur = LOG_DEBUG;
    else
        return -1;
    return 0;
}

enum log_level log_get_level(void)
{
    return log_level_cur;
}

void log_set_level(enum log_level level)
{
    log_level_cur = level;
}

void log_write(enum log_level level, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    size_t n;
    int r;
    va_list ap;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s[%ld] ",
                 (long)(tv.tv_usec / 1000), level_names[level], log_component,
                 (long)getpid());
    if (r > 0)
        n += (size_t)r;
    if (n < sizeof(line)) {
        va_start(ap, fmt);
        r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        va_end(ap);
        if (r > 0)
            n += (size_t)r;
    }
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    /* Logging must not fail the caller; a short write to stderr is dropped. */
    if (write(STDERR_FILENO, line, n) < 0)
        return;
}
