/*
 * archive.c - result files kept by the control plane (see archive.h).
 */
#include "archive.h"

#include "err.h"
#include "log.h"
#include "names.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PARTS ".parts"
#define PATH_MAX_CP 4096
#define COPY_BUF 65536

static const char *const files[] = {CS_RESULT_FILES(CS_NAME_STR)};
#define NFILES (int)(sizeof(files) / sizeof(files[0]))
_Static_assert(NFILES <= CP_ARCHIVE_MAX_FILES, "result files fit");

struct cp_archive {
    char dir[PATH_MAX_CP / 2];
};

int cp_archive_file_valid(const char *name)
{
    int i;

    for (i = 0; i < NFILES; i++)
        if (strcmp(files[i], name) == 0)
            return 1;
    return 0;
}

static int mkdir_p(const char *dir)
{
    char tmp[PATH_MAX_CP];
    char *p;

    if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    for (p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

struct cp_archive *cp_archive_open(const char *dir, char *err, size_t errsz)
{
    struct cp_archive *a = calloc(1, sizeof(*a));
    char parts[PATH_MAX_CP];
    int rc;

    if (a == NULL) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    if (snprintf(a->dir, sizeof(a->dir), "%s", dir) >= (int)sizeof(a->dir)) {
        snprintf(err, errsz, "archive folder name too long");
        free(a);
        return NULL;
    }
    snprintf(parts, sizeof(parts), "%s/" PARTS, a->dir);
    if ((rc = mkdir_p(parts)) != 0) {
        snprintf(err, errsz, "cannot create %s: %s", parts, strerror(-rc));
        free(a);
        return NULL;
    }
    return a;
}

void cp_archive_close(struct cp_archive *a)
{
    free(a);
}

const char *cp_archive_dir(const struct cp_archive *a)
{
    return a->dir;
}

/* Writes len bytes at path through a temporary file and a rename. */
static int write_file(const char *path, const void *data, size_t len)
{
    char tmp[PATH_MAX_CP + 8];
    const char *p = data;
    int fd, rc = 0;

    snprintf(tmp, sizeof(tmp), "%.3000s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    while (len > 0 && rc == 0) {
        ssize_t w = write(fd, p, len);

        if (w < 0 && errno != EINTR)
            rc = -errno;
        else if (w > 0) {
            p += w;
            len -= (size_t)w;
        }
    }
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0)
        (void)unlink(tmp);
    return rc;
}

int cp_archive_chunk(struct cp_archive *a, const char *session,
                     const char *file, int64_t seq, const void *data,
                     size_t len)
{
    char dir[PATH_MAX_CP], path[PATH_MAX_CP + 64];
    int rc;

    if (!cp_session_id_valid(session) || !cp_archive_file_valid(file) ||
        seq < 0 || seq > 100000000)
        return CS_ERR_ARG;
    snprintf(dir, sizeof(dir), "%s/" PARTS "/%s", a->dir, session);
    rc = mkdir_p(dir);
    if (rc == 0) {
        snprintf(path, sizeof(path), "%.2900s/%.48s.%" PRId64, dir, file, seq);
        rc = write_file(path, data, len);
    }
    if (rc != 0) {
        log_error("archive cannot keep a result chunk session=%s file=%s: %s",
                  session, file, strerror(-rc));
        return CS_ERR_STATE_DIR;
    }
    return 0;
}

/* Highest chunk number of `file` among the parts in dir, and how many
 * there are; -1 when none. */
static int64_t last_part(const char *dir, const char *file, int64_t *count)
{
    size_t n = strlen(file);
    int64_t max = -1;
    struct dirent *e;
    DIR *d = opendir(dir);

    *count = 0;
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long long v;

        if (strncmp(e->d_name, file, n) != 0 || e->d_name[n] != '.')
            continue;
        errno = 0;
        v = strtoll(e->d_name + n + 1, &end, 10);
        if (errno != 0 || *end != '\0' || v < 0)
            continue; /* a temporary file */
        (*count)++;
        if (v > max)
            max = v;
    }
    (void)closedir(d);
    return max;
}

/* Appends part path to out, counting its bytes and newlines. */
static int append(FILE *out, const char *path, struct cp_result_file *rf)
{
    char buf[COPY_BUF];
    FILE *in = fopen(path, "rb");
    size_t got, i;
    int rc = 0;

    if (in == NULL)
        return -errno;
    while ((got = fread(buf, 1, sizeof(buf), in)) > 0) {
        for (i = 0; i < got; i++)
            rf->rows += buf[i] == '\n';
        rf->bytes += got;
        if (fwrite(buf, 1, got, out) != got) {
            rc = -EIO;
            break;
        }
    }
    if (ferror(in))
        rc = -EIO;
    (void)fclose(in);
    return rc;
}

/* Joins parts 0..last of `file` from pdir into dst. */
static int join(const char *pdir, const char *file, int64_t last,
                const char *dst, struct cp_result_file *rf)
{
    char tmp[PATH_MAX_CP + 8], part[PATH_MAX_CP + 64];
    FILE *out;
    int64_t i;
    int rc = 0;

    snprintf(tmp, sizeof(tmp), "%.3000s.tmp", dst);
    out = fopen(tmp, "wb");
    if (out == NULL)
        return -errno;
    memset(rf, 0, sizeof(*rf));
    snprintf(rf->name, sizeof(rf->name), "%s", file);
    for (i = 0; i <= last && rc == 0; i++) {
        snprintf(part, sizeof(part), "%.2900s/%.48s.%" PRId64, pdir, file, i);
        rc = append(out, part, rf);
    }
    if (fclose(out) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, dst) != 0)
        rc = -errno;
    if (rc != 0)
        (void)unlink(tmp);
    rf->rows = rf->rows > 0 ? rf->rows - 1 : 0; /* the header line */
    return rc;
}

/* Removes every file of a folder, then the folder. */
static void remove_dir(const char *dir)
{
    char path[PATH_MAX_CP + 300];
    struct dirent *e;
    DIR *d = opendir(dir);

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%.2900s/%.255s", dir, e->d_name);
        if (unlink(path) != 0)
            log_warn("archive cannot remove %s: %s", path, strerror(errno));
    }
    (void)closedir(d);
    (void)rmdir(dir);
}

int cp_archive_finish(struct cp_archive *a, const char *session, int64_t day_ms,
                      char *rel, size_t relsz, struct cp_result_file *out,
                      int *n)
{
    char pdir[PATH_MAX_CP], dst_dir[PATH_MAX_CP], dst[PATH_MAX_CP + 64];
    int64_t last[NFILES], count;
    time_t t = (time_t)(day_ms / 1000);
    struct tm tm;
    int i, rc;

    *n = 0;
    if (!cp_session_id_valid(session) || gmtime_r(&t, &tm) == NULL)
        return CS_ERR_ARG;
    snprintf(pdir, sizeof(pdir), "%s/" PARTS "/%s", a->dir, session);
    for (i = 0; i < NFILES; i++) {
        last[i] = last_part(pdir, files[i], &count);
        if (count != last[i] + 1) {
            log_warn("archive session=%s file=%s: %" PRId64
                     " chunks for numbers up to %" PRId64 ": not joined",
                     session, files[i], count, last[i]);
            return -ENODATA;
        }
    }
    snprintf(rel, relsz, "%04d-%02d-%02d/%s", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, session);
    snprintf(dst_dir, sizeof(dst_dir), "%.2048s/%.200s", a->dir, rel);
    if ((rc = mkdir_p(dst_dir)) != 0) {
        log_error("archive cannot create %s: %s", dst_dir, strerror(-rc));
        return CS_ERR_STATE_DIR;
    }
    for (i = 0; i < NFILES; i++) {
        if (last[i] < 0)
            continue; /* the sink sent nothing for it */
        snprintf(dst, sizeof(dst), "%.2900s/%.48s", dst_dir, files[i]);
        rc = join(pdir, files[i], last[i], dst, &out[*n]);
        if (rc != 0) {
            log_error("archive cannot write %s: %s", dst, strerror(-rc));
            return CS_ERR_STATE_DIR;
        }
        (*n)++;
    }
    remove_dir(pdir);
    return 0;
}

void cp_archive_discard(struct cp_archive *a, const char *session)
{
    char pdir[PATH_MAX_CP];

    if (!cp_session_id_valid(session))
        return;
    snprintf(pdir, sizeof(pdir), "%s/" PARTS "/%s", a->dir, session);
    remove_dir(pdir);
}

void cp_archive_remove(struct cp_archive *a, const char *rel)
{
    char dir[PATH_MAX_CP];
    char *slash;

    if (strstr(rel, "..") != NULL || rel[0] == '/')
        return;
    snprintf(dir, sizeof(dir), "%.2048s/%.200s", a->dir, rel);
    remove_dir(dir);
    slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
        (void)rmdir(dir); /* the date folder, when it is now empty */
    }
}
