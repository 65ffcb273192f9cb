/*
 * archive.h - the control plane's archive of result files: a copy of every
 * result chunk the sinks send to a gateway (cs.results, through the control
 * plane's own durable queue) is kept as a part file until the sink's `end`,
 * then the parts are joined into
 *
 *     <dir>/<YYYY-MM-DD>/<session>/<file>      (the session's start date, UTC)
 *
 * Chunks may come twice or out of order (a sink that restarts sends again):
 * a part is named by its chunk number, so a copy overwrites itself, and
 * joining checks that the numbers run 0..n-1. Everything is written to a
 * temporary name and renamed, so a crash leaves either nothing or a whole
 * file.
 *
 * Not thread-safe: the broker thread calls it; readers only open the
 * files it finished.
 */
#ifndef CS_CP_ARCHIVE_H
#define CS_CP_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#define CP_ARCHIVE_MAX_FILES 8

struct cp_archive;

/* One joined result file. */
struct cp_result_file {
    char name[48];
    uint64_t rows; /* lines after the header */
    uint64_t bytes;
};

/* Opens (creates) the archive at dir. NULL with a reason in err. */
struct cp_archive *cp_archive_open(const char *dir, char *err, size_t errsz);
void cp_archive_close(struct cp_archive *a);

/* The archive's folder (borrowed). */
const char *cp_archive_dir(const struct cp_archive *a);

/* True for a result file name the sinks send (names.h). */
int cp_archive_file_valid(const char *name);

/* Keeps chunk `seq` of result file `file` of a session. 0, CS_ERR_ARG (a
 * name or number that is not one) or CS_ERR_STATE_DIR (logged). */
int cp_archive_chunk(struct cp_archive *a, const char *session,
                     const char *file, int64_t seq, const void *data,
                     size_t len);

/* Joins the session's parts into its dated folder: *rel gets
 * "<YYYY-MM-DD>/<session>" (size relsz), files[0..*n) what was joined.
 * day_ms: the session's start, wall-clock ms. 0; -ENODATA (chunks
 * missing: nothing joined, the parts kept); CS_ERR_STATE_DIR (logged). */
int cp_archive_finish(struct cp_archive *a, const char *session, int64_t day_ms,
                      char *rel, size_t relsz, struct cp_result_file *files,
                      int *n);

/* Drops the parts of a session that failed (no results to keep). */
void cp_archive_discard(struct cp_archive *a, const char *session);

/* Removes a joined session folder ("<YYYY-MM-DD>/<session>", as returned
 * by cp_archive_finish) and its date folder when that is then empty. */
void cp_archive_remove(struct cp_archive *a, const char *rel);

#endif
