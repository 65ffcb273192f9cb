/*
 * tfix.h - helpers of the unit tests that run whole programs (the worker
 * runtime, the coordinator service) against fake_mw: a fresh state
 * directory per test, write-ahead log files read as bytes on disk (without
 * common/wal.c, so the tests check the format rather than reuse it), and
 * control messages in the fake's event log.
 *
 * Helpers abort() on allocation failure: they are test code.
 */
#ifndef CS_TFIX_H
#define CS_TFIX_H

#include "ctl.h"
#include "fake_mw.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A new empty directory "/tmp/cs-unit-XXXXXX" (malloc'ed path). */
char *tfix_mkdtemp(void);

/* Deletes path and everything under it (two levels are enough here). */
void tfix_rmrf(const char *path);

bool tfix_exists(const char *path);

/* The good records of one log file as on disk. */
struct tfix_log {
    bool exists;
    size_t size; /* file size */
    size_t good; /* bytes of the header and the good records */
    size_t n;    /* good records */
    uint8_t **rec;
    size_t *len;
};

/* Reads path (a missing file: exists = false, no records). Stops at the
 * first short, oversized or CRC-failing record, as a replay would. */
void tfix_log_read(const char *path, struct tfix_log *l);
void tfix_log_free(struct tfix_log *l);

/* True when the log has a record equal to (p, len). */
bool tfix_log_has(const struct tfix_log *l, const void *p, size_t len);

/* "<root>/<sub>/<name>.wal" into out (size n). */
void tfix_log_path(char *out, size_t n, const char *root, const char *sub,
                   const char *name);

/* A zeroed control message (free with free()). */
struct ctl_msg *tfix_ctl(enum ctl_type t, const char *session);

/* Decodes ev into out when it is a publish of a control message of type t
 * (to the coordinator queue when to_coord); else false. */
bool tfix_pub_ctl(const struct fake_ev *ev, enum ctl_type t, bool to_coord,
                  struct ctl_msg *out);

/* Index of the first publish at or after `from` that tfix_pub_ctl accepts
 * for session (NULL: any), decoded into out; -1 when none. */
long tfix_find_ctl(size_t from, enum ctl_type t, bool to_coord,
                   const char *session, struct ctl_msg *out);

/* Number of such publishes from `from` on. */
int tfix_count_ctl(size_t from, enum ctl_type t, bool to_coord,
                   const char *session);

/* The ids of report flow f as text, e.g. "0-2,5" (out of size n). */
void tfix_ranges(const struct ctl_msg *m, int f, char *out, size_t n);

/* The (id=rows) pairs of report flow f as text, e.g. "2=3,4=1". */
void tfix_rejs(const struct ctl_msg *m, int f, char *out, size_t n);

#endif
