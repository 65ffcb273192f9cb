/*
 * log.h - one line per event on stderr:
 *   2026-11-22T10:00:00.123Z INFO gateway[1234] message key=value
 *
 * The level is checked before the arguments are evaluated, so debug logging
 * costs nothing when it is off. The level comes from LOG_LEVEL
 * (error|warn|info|debug, default info); the component name is set once by
 * main() with log_init().
 */
#ifndef CS_LOG_H
#define CS_LOG_H

enum log_level {
    LOG_ERROR = 0,
    LOG_WARN = 1,
    LOG_INFO = 2,
    LOG_DEBUG = 3
};

/* Sets the component name (borrowed: must outlive the process, e.g. a
 * literal) and reads LOG_LEVEL. Returns 0, or -1 if LOG_LEVEL is invalid
 * (the level then stays info). */
int log_init(const char *component);

/* Current level; log_set_level() overrides LOG_LEVEL. */
enum log_level log_get_level(void);
void log_set_level(enum log_level level);

void log_write(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_at(lvl, ...)                                                       \
    do {                                                                       \
        if ((lvl) <= log_get_level())                                          \
            log_write((lvl), __VA_ARGS__);                                     \
    } while (0)

#define log_error(...) log_at(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_at(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)

#endif
