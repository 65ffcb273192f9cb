/*
 * wal.c - write-ahead logs in a locked state directory (see wal.h).
 *
 * Files are reached through the locked directory's fd (*at calls), so a
 * chdir cannot point the process at a directory it did not lock. An open
 * log buffers framed records and writes them with pwrite at `disk`, the
 * size written so far: a failed write is cut back and retried, never left
 * as a torn record mid-file. A failed fdatasync is sticky (the kernel may
 * have dropped the dirty pages, so a retry that "succeeds" would lie): the
 * process must restart and replay. New logs are written whole under
 * "<name>.wal.tmp" and renamed, so a crash never leaves a headerless log.
 */
#include "wal.h"

#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* renameat only: logs use open/pwrite/read */
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define WAL_HDR 8               /* file header size */
#define WAL_FRAME 8             /* len:u32le crc:u32le */
#define WAL_BUF_MAX (1u << 20)  /* write to the kernel above this */
#define WAL_BUF_MIN (64u << 10) /* first buffer (and replay read size) */
#define WAL_SUFFIX ".wal"
#define WAL_TMP_SUFFIX ".wal.tmp"
#define WAL_FNAME_MAX (WAL_NAME_MAX + sizeof(WAL_TMP_SUFFIX))

static const uint8_t wal_magic[WAL_HDR] = "CSWAL1\n"; /* and its NUL */

struct wal_dir {
    char *path;
    int dirfd;
    int lockfd; /* holds the flock; closing it releases the lock */
    enum wal_fsync mode;
    struct wal *logs; /* open logs, for wal_dir_sync and wal_dir_close */
};

struct wal {
    struct wal_dir *d;
    struct wal *next;
    int fd;
    int err;       /* sticky -errno after a failed fdatasync, else 0 */
    uint64_t disk; /* bytes of the file written: where the buffer goes */
    bool unsynced; /* written to the kernel, not yet fdatasynced */
    uint8_t *buf;  /* framed records not yet written */
    size_t len, cap;
    char name[WAL_NAME_MAX + 1];
};

static const char *const fsync_names[] = {"batch", "always", "off", "none"};

int wal_fsync_parse(const char *s, enum wal_fsync *out)
{
    int i;

    for (i = 0; s != NULL && i <= WAL_FSYNC_NONE; i++) {
        if (strcmp(s, fsync_names[i]) == 0) {
            *out = (enum wal_fsync)i;
            return 0;
        }
    }
    return -1;
}

const char *wal_fsync_name(enum wal_fsync m)
{
    return (unsigned)m <= WAL_FSYNC_NONE ? fsync_names[m] : "unknown";
}

static void put_le32(uint8_t *p, uint32_t v)
{
    int i;

    for (i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* The CRC covers the length field too: a tail of zero bytes (a filesystem
 * can leave one after a machine crash) would otherwise read as a run of
 * valid empty records, the CRC of nothing being 0. */
static uint32_t crc_of(const uint8_t *p, size_t len)
{
    uint8_t lenb[4];
    uLong c = crc32(0L, Z_NULL, 0);

    put_le32(lenb, (uint32_t)len);
    c = crc32(c, lenb, 4);
    /* len <= WAL_MAX_RECORD fits zlib's uInt */
    return (uint32_t)crc32(c, p, (uInt)len);
}

/* Files here are read-only, synced, or never promised durable: a failed
 * close has nothing left to tell. */
static void close_quiet(int fd)
{
    if (fd >= 0)
        (void)close(fd);
}

static bool valid_name(const char *name)
{
    size_t n =
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789._-");

    return n > 0 && n <= WAL_NAME_MAX && name[n] == '\0';
}

/* "<name><suffix>" into out[WAL_FNAME_MAX]; name must be valid. */
static void make_fname(char *out, const char *name, const char *suffix)
{
    snprintf(out, WAL_FNAME_MAX, "%s%s", name, suffix);
}

static struct wal *find_log(const struct wal_dir *d, const char *name)
{
    struct wal *w;

    for (w = d->logs; w != NULL; w = w->next)
        if (strcmp(w->name, name) == 0)
            return w;
    return NULL;
}

/* fdatasync (data) or fsync (directory entries) unless the mode is OFF. */
static int sync_fd(const struct wal_dir *d, int fd, bool data_only)
{
    if (d->mode == WAL_FSYNC_OFF)
        return 0;
    while ((data_only ? fdatasync(fd) : fsync(fd)) != 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

static int pwrite_full(int fd, const uint8_t *p, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* mkdir -p of d->path (cut at each '/' in place, then restored). */
static int mkdir_p(char *path)
{
    char *s, c;

    for (s = path + 1;; s++) {
        c = *s;
        if (c != '/' && c != '\0')
            continue;
        *s = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -errno; /* path stays cut: the caller frees it */
        *s = c;
        if (c == '\0')
            return 0;
    }
}

static int lock_dir(struct wal_dir *d)
{
    int rc;

    d->lockfd = openat(d->dirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (d->lockfd < 0)
        return -errno;
    while ((rc = flock(d->lockfd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR)
        ;
    if (rc == 0)
        return 0;
    rc = (errno == EWOULDBLOCK || errno == EAGAIN) ? -EWOULDBLOCK : -errno;
    close_quiet(d->lockfd);
    d->lockfd = -1;
    return rc;
}

struct wal_dir *wal_dir_open(const char *path, enum wal_fsync mode, int *err)
{
    struct wal_dir *d = calloc(1, sizeof(*d));
    int rc = -ENOMEM;

    if (d == NULL)
        goto out;
    d->mode = mode;
    d->path = strdup(path);
    if (d->path == NULL)
        goto out_free;
    rc = path[0] == '\0' ? -EINVAL : mkdir_p(d->path);
    if (rc != 0)
        goto out_free;
    d->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->dirfd < 0) {
        rc = -errno;
        goto out_free;
    }
    rc = lock_dir(d);
    if (rc == 0)
        return d;
    close_quiet(d->dirfd);
out_free:
    free(d->path);
    free(d);
out:
    *err = rc;
    return NULL;
}

static void close_log(struct wal *w, bool write_pending);

void wal_dir_close(struct wal_dir *d)
{
    if (d == NULL)
        return;
    while (d->logs != NULL)
        close_log(d->logs, true);
    close_quiet(d->lockfd);
    close_quiet(d->dirfd);
    free(d->path);
    free(d);
}

const char *wal_dir_path(const struct wal_dir *d)
{
    return d->path;
}

enum wal_fsync wal_dir_mode(const struct wal_dir *d)
{
    return d->mode;
}

/* Log name of "<name>.wal" into out; false for LOCK, *.wal.tmp, others. */
static bool log_name_of(const char *fname, char *out)
{
    size_t n = strlen(fname), sl = strlen(WAL_SUFFIX);

    if (n <= sl || n - sl > WAL_NAME_MAX ||
        strcmp(fname + n - sl, WAL_SUFFIX) != 0)
        return false;
    memcpy(out, fname, n - sl);
    out[n - sl] = '\0';
    return valid_name(out);
}

int wal_dir_list(struct wal_dir *d, int (*fn)(void *arg, const char *name),
                 void *arg)
{
    char name[WAL_NAME_MAX + 1];
    struct dirent *e;
    DIR *dir;
    int rc = 0;
    /* a fresh description: the stream must not share dirfd's offset */
    int fd = openat(d->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    dir = fdopendir(fd);
    if (dir == NULL) {
        rc = -errno;
        close_quiet(fd);
        return rc;
    }
    /* errno is reset before each readdir: fn may have changed it */
    while (errno = 0, (e = readdir(dir)) != NULL)
        if (log_name_of(e->d_name, name) && (rc = fn(arg, name)) != 0)
            break;
    if (e == NULL && errno != 0)
        rc = -errno;
    (void)closedir(dir); /* read-only: its error tells nothing */
    return rc;
}

bool wal_exists(struct wal_dir *d, const char *name)
{
    char fname[WAL_FNAME_MAX];
    struct stat st;

    if (!valid_name(name))
        return false;
    make_fname(fname, name, WAL_SUFFIX);
    return fstatat(d->dirfd, fname, &st, 0) == 0;
}

/* Makes *buf hold at least need bytes (at least WAL_BUF_MIN, doubling). */
static int reserve(uint8_t **buf, size_t *cap, size_t need)
{
    size_t n = *cap * 2 > WAL_BUF_MIN ? *cap * 2 : WAL_BUF_MIN;
    uint8_t *b;

    if (need <= *cap)
        return 0;
    b = realloc(*buf, n > need ? n : need);
    if (b == NULL)
        return -ENOMEM;
    *buf = b;
    *cap = n > need ? n : need;
    return 0;
}

/* Buffered sequential reads: one read(2) per 64 KiB, not two per record. */
struct reader {
    int fd;
    uint8_t *buf;
    size_t cap, lo, hi; /* unread bytes are buf[lo..hi) */
};

/* Makes `need` unread bytes available at buf + lo; the caller knows from
 * the file size that they exist. Returns 0 or -errno. */
static int rd_need(struct reader *r, size_t need)
{
    if (r->hi - r->lo >= need)
        return 0;
    if (r->lo != 0) {
        memmove(r->buf, r->buf + r->lo, r->hi - r->lo);
        r->hi -= r->lo;
        r->lo = 0;
    }
    if (reserve(&r->buf, &r->cap, need) != 0)
        return -ENOMEM;
    while (r->hi < need) {
        ssize_t n = read(r->fd, r->buf + r->hi, r->cap - r->hi);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO; /* shorter than fstat said: not ours to guess */
        r->hi += (size_t)n;
    }
    return 0;
}

/* Checks the file header. Returns 0 when good, 1 when the file is a torn
 * creation (shorter than the header and a prefix of it), -EINVAL when it is
 * not a log, or -errno. */
static int read_header(struct reader *r, uint64_t size)
{
    size_t n = size < WAL_HDR ? (size_t)size : WAL_HDR;
    int rc;

    if (n == 0)
        return 1;
    rc = rd_need(r, n);
    if (rc != 0)
        return rc;
    if (memcmp(r->buf, wal_magic, n) != 0)
        return -EINVAL;
    if (n < WAL_HDR)
        return 1;
    r->lo = WAL_HDR;
    return 0;
}

/* Passes the good records to fn; st->bytes ends at the first bad one and
 * *bad says why (NULL: the file is clean). Returns 0, fn's value or -errno. */
static int replay_records(struct reader *r, uint64_t size,
                          int (*fn)(void *, const uint8_t *, size_t), void *arg,
                          struct wal_replay_stats *st, const char **bad)
{
    uint64_t pos = WAL_HDR;

    for (;;) {
        const uint8_t *p;
        uint32_t len;
        int rc;

        st->bytes = pos;
        if (pos == size)
            return 0;
        *bad = "torn record";
        if (size - pos < WAL_FRAME)
            return 0;
        rc = rd_need(r, WAL_FRAME);
        if (rc != 0)
            return rc;
        len = get_le32(r->buf + r->lo);
        if (len > WAL_MAX_RECORD)
            *bad = "oversized record";
        if (len > WAL_MAX_RECORD || size - pos - WAL_FRAME < len)
            return 0;
        rc = rd_need(r, WAL_FRAME + (size_t)len);
        if (rc != 0)
            return rc;
        p = r->buf + r->lo + WAL_FRAME;
        if (crc_of(p, len) != get_le32(r->buf + r->lo + 4)) {
            *bad = "bad crc";
            return 0;
        }
        *bad = NULL;
        r->lo += WAL_FRAME + (size_t)len;
        pos += WAL_FRAME + (uint64_t)len;
        st->records++;
        rc = fn(arg, p, len);
        if (rc != 0) {
            st->bytes = pos;
            return rc;
        }
    }
}

/* Cuts the file after st->bytes, so appends continue after the last good
 * record instead of behind garbage that would hide them. */
static int cut_tail(struct wal_dir *d, int fd, const char *fname, uint64_t size,
                    struct wal_replay_stats *st, const char *why)
{
    int rc;

    st->truncated = size - st->bytes;
    if (ftruncate(fd, (off_t)st->bytes) != 0)
        return -errno;
    rc = sync_fd(d, fd, false);
    if (rc != 0)
        return rc;
    log_warn("wal: cut the bad tail of a log path=%s/%s reason=\"%s\" "
             "records=%llu kept=%llu cut=%llu",
             d->path, fname, why, (unsigned long long)st->records,
             (unsigned long long)st->bytes, (unsigned long long)st->truncated);
    return 0;
}

int wal_replay(struct wal_dir *d, const char *name,
               int (*fn)(void *arg, const uint8_t *rec, size_t len), void *arg,
               struct wal_replay_stats *st)
{
    char fname[WAL_FNAME_MAX];
    struct wal_replay_stats dummy;
    struct reader r = {.fd = -1};
    const char *bad = NULL;
    struct stat sb;
    uint64_t size;
    int rc;

    if (st == NULL)
        st = &dummy;
    memset(st, 0, sizeof(*st));
    if (!valid_name(name))
        return -EINVAL;
    if (find_log(d, name) != NULL)
        return -EBUSY;
    make_fname(fname, name, WAL_SUFFIX);
    r.fd = openat(d->dirfd, fname, O_RDWR | O_CLOEXEC);
    if (r.fd < 0)
        return errno == ENOENT ? 0 : -errno;
    if (fstat(r.fd, &sb) != 0) {
        rc = -errno;
        goto out_close;
    }
    size = (uint64_t)sb.st_size;
    rc = read_header(&r, size);
    if (rc == 0)
        rc = replay_records(&r, size, fn, arg, st, &bad);
    else if (rc == 1) {
        rc = 0;
        bad = size > 0 ? "torn header" : NULL;
    }
    if (rc == 0 && bad != NULL)
        rc = cut_tail(d, r.fd, fname, size, st, bad);
out_close:
    free(r.buf);
    close_quiet(r.fd);
    return rc;
}

/* Frames the payload iov[0..n-1] (total bytes) into the buffer. */
static int buffer_record(struct wal *w, const struct iovec *iov, int n,
                         size_t total)
{
    size_t need = w->len + WAL_FRAME + total;
    uint8_t *frame, *p;
    int i;

    if (reserve(&w->buf, &w->cap, need) != 0)
        return -ENOMEM;
    frame = w->buf + w->len;
    p = frame + WAL_FRAME;
    for (i = 0; i < n; i++) {
        if (iov[i].iov_len == 0)
            continue;
        memcpy(p, iov[i].iov_base, iov[i].iov_len);
        p += iov[i].iov_len;
    }
    put_le32(frame, (uint32_t)total);
    put_le32(frame + 4, crc_of(frame + WAL_FRAME, total));
    w->len = need;
    return 0;
}

/* Writes the buffer to the kernel. On failure the buffer is kept and the
 * file cut back to `disk`, so a retry writes the same records again. */
static int flush(struct wal *w)
{
    int rc;

    if (w->len == 0)
        return 0;
    rc = pwrite_full(w->fd, w->buf, w->len, w->disk);
    if (rc != 0) {
        /* a partial record left in place could not be overwritten safely */
        if (ftruncate(w->fd, (off_t)w->disk) != 0)
            w->err = rc;
        return rc;
    }
    w->disk += w->len;
    w->len = 0;
    w->unsynced = true;
    /* a huge record does not pin a huge buffer for the process lifetime */
    if (w->cap > (size_t)4 * WAL_BUF_MAX) {
        free(w->buf);
        w->buf = NULL;
        w->cap = 0;
    }
    return 0;
}

int wal_sync(struct wal *w)
{
    int rc;

    if (w->err != 0)
        return w->err;
    rc = flush(w);
    if (rc != 0)
        return rc;
    if (w->unsynced) {
        rc = sync_fd(w->d, w->fd, true);
        if (rc != 0) {
            w->err = rc;
            return rc;
        }
        w->unsynced = false;
    }
    return 0;
}

int wal_appendv(struct wal *w, const struct iovec *iov, int n)
{
    size_t total = 0, prev = w->len;
    int i, rc;

    if (w->err != 0)
        return w->err;
    if (n < 0 || (n > 0 && iov == NULL))
        return -EINVAL;
    if (w->d->mode == WAL_FSYNC_NONE)
        return 0;
    for (i = 0; i < n; i++) {
        if (iov[i].iov_len > WAL_MAX_RECORD - total)
            return -EINVAL;
        total += iov[i].iov_len;
    }
    rc = buffer_record(w, iov, n, total);
    if (rc != 0)
        return rc;
    if (w->d->mode == WAL_FSYNC_ALWAYS)
        rc = wal_sync(w);
    else if (w->len > WAL_BUF_MAX)
        rc = flush(w);
    /* Still buffered after a failure: drop it, so an error means "not
     * appended" and the record cannot reach the file later. */
    if (rc != 0 && w->len != 0)
        w->len = prev;
    return rc;
}

int wal_append(struct wal *w, const void *rec, size_t len)
{
    struct iovec v = {.iov_base = (void *)rec, .iov_len = len};

    return wal_appendv(w, &v, 1);
}

int wal_dir_sync(struct wal_dir *d)
{
    struct wal *w;
    int rc, first = 0;

    /* Every write before the first fdatasync: the device gets the whole
     * group at once instead of write, flush, write, flush. */
    for (w = d->logs; w != NULL; w = w->next) {
        rc = w->err != 0 ? w->err : flush(w);
        if (rc != 0 && first == 0)
            first = rc;
    }
    for (w = d->logs; w != NULL; w = w->next) {
        if (w->err != 0 || w->len != 0 || !w->unsynced)
            continue;
        rc = wal_sync(w);
        if (rc != 0 && first == 0)
            first = rc;
    }
    return first;
}

static int no_records(void *arg, const void **rec, size_t *len)
{
    (void)arg;
    (void)rec;
    (void)len;
    return 0;
}

/* Validates the header of an opened log and returns its size in *size. A
 * file emptied by replay (torn header) gets its header back. */
static int check_log_file(struct wal_dir *d, int fd, uint64_t *size)
{
    struct reader r = {.fd = fd};
    struct stat sb;
    int rc;

    if (fstat(fd, &sb) != 0)
        return -errno;
    *size = (uint64_t)sb.st_size;
    rc = read_header(&r, *size);
    free(r.buf);
    if (rc != 1)
        return rc;
    if (*size != 0)
        return -EINVAL; /* torn header: wal_replay repairs it, not us */
    *size = WAL_HDR;
    rc = pwrite_full(fd, wal_magic, WAL_HDR, 0);
    return rc != 0 ? rc : sync_fd(d, fd, true);
}

/* Opens "<name>.wal" into w->fd, creating it whole if missing. */
static int open_log_file(struct wal *w)
{
    char fname[WAL_FNAME_MAX];
    int rc;

    make_fname(fname, w->name, WAL_SUFFIX);
    w->fd = openat(w->d->dirfd, fname, O_RDWR | O_CLOEXEC);
    if (w->fd < 0 && errno == ENOENT) {
        rc = wal_rewrite(w->d, w->name, no_records, NULL);
        if (rc != 0)
            return rc;
        w->fd = openat(w->d->dirfd, fname, O_RDWR | O_CLOEXEC);
    }
    if (w->fd < 0)
        return -errno;
    rc = check_log_file(w->d, w->fd, &w->disk);
    if (rc != 0)
        close_quiet(w->fd);
    return rc;
}

struct wal *wal_open(struct wal_dir *d, const char *name, int *err)
{
    struct wal *w;
    int rc;

    if (!valid_name(name)) {
        *err = -EINVAL;
        return NULL;
    }
    w = find_log(d, name);
    if (w != NULL)
        return w;
    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        *err = -ENOMEM;
        return NULL;
    }
    w->d = d;
    w->fd = -1;
    memcpy(w->name, name, strlen(name) + 1);
    /* NONE: a log that keeps nothing (no file; appends are dropped). */
    rc = d->mode == WAL_FSYNC_NONE ? 0 : open_log_file(w);
    if (rc != 0) {
        free(w);
        *err = rc;
        return NULL;
    }
    w->next = d->logs;
    d->logs = w;
    return w;
}

static void close_log(struct wal *w, bool write_pending)
{
    struct wal **pp;

    /* Unsynced records were never promised durable, and a void close has
     * no one to report a failed write to. */
    if (write_pending && w->err == 0)
        (void)flush(w);
    pp = &w->d->logs;
    while (*pp != w)
        pp = &(*pp)->next;
    *pp = w->next;
    if (w->fd >= 0)
        close_quiet(w->fd);
    free(w->buf);
    free(w);
}

void wal_close(struct wal *w)
{
    if (w != NULL)
        close_log(w, true);
}

int wal_remove(struct wal_dir *d, const char *name)
{
    char fname[WAL_FNAME_MAX];
    struct wal *w;

    if (!valid_name(name))
        return -EINVAL;
    w = find_log(d, name);
    if (w != NULL)
        close_log(w, false); /* the file goes anyway */
    make_fname(fname, name, WAL_SUFFIX);
    if (unlinkat(d->dirfd, fname, 0) != 0)
        return errno == ENOENT ? 0 : -errno;
    return sync_fd(d, d->dirfd, false);
}

/* Writes the header and next()'s records into t (a writer not in d->logs). */
static int write_records(struct wal *t,
                         int (*next)(void *, const void **, size_t *),
                         void *arg)
{
    if (reserve(&t->buf, &t->cap, WAL_HDR) != 0)
        return -ENOMEM;
    memcpy(t->buf, wal_magic, WAL_HDR);
    t->len = WAL_HDR;
    for (;;) {
        const void *rec = NULL;
        size_t len = 0;
        int rc = next(arg, &rec, &len);
        struct iovec v = {.iov_base = (void *)rec, .iov_len = len};

        if (rc == 0)
            return 0;
        if (rc < 0)
            return -ECANCELED;
        if (len > WAL_MAX_RECORD)
            return -EINVAL;
        rc = buffer_record(t, &v, 1, len);
        if (rc == 0 && t->len > WAL_BUF_MAX)
            rc = flush(t);
        if (rc != 0)
            return rc;
    }
}

int wal_rewrite(struct wal_dir *d, const char *name,
                int (*next)(void *arg, const void **rec, size_t *len),
                void *arg)
{
    char tmp[WAL_FNAME_MAX], fname[WAL_FNAME_MAX];
    struct wal t;
    int rc;

    if (!valid_name(name))
        return -EINVAL;
    if (find_log(d, name) != NULL)
        return -EBUSY;
    make_fname(tmp, name, WAL_TMP_SUFFIX);
    make_fname(fname, name, WAL_SUFFIX);
    memset(&t, 0, sizeof(t));
    t.d = d;
    t.fd =
        openat(d->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (t.fd < 0)
        return -errno;
    rc = write_records(&t, next, arg);
    if (rc == 0)
        rc = wal_sync(&t);
    close_quiet(t.fd);
    free(t.buf);
    if (rc == 0 && renameat(d->dirfd, tmp, d->dirfd, fname) != 0)
        rc = -errno;
    if (rc != 0) {
        /* the old log stays as it was; the partial copy is garbage */
        (void)unlinkat(d->dirfd, tmp, 0);
        return rc;
    }
    return sync_fd(d, d->dirfd, false);
}
