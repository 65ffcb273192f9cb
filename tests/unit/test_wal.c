/* test_wal.c - write-ahead logs: round trips, torn and corrupt tails, fsync
 * modes, group commit, listing, rewrite, names and the directory lock.
 * Every test works in its own mkdtemp directory, removed afterwards. */
#define _XOPEN_SOURCE 700 /* nftw, to remove the test directories */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "wal.h"

#define HDR 8
#define FRAME 8

struct fix {
    char tmp[64];   /* the mkdtemp directory */
    char state[96]; /* tmp/state: the wal directory */
    struct wal_dir *d;
};

/* A copy of every replayed record. */
struct recs {
    size_t n, cap;
    struct rec {
        uint8_t *p;
        size_t len;
    } * v;
};

static int rm_one(const char *path, const struct stat *st, int type,
                  struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static int rm_rf(const char *path)
{
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    snprintf(f->tmp, sizeof(f->tmp), "/tmp/test_wal.XXXXXX");
    if (mkdtemp(f->tmp) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->state, sizeof(f->state), "%s/state", f->tmp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    int rc;

    wal_dir_close(f->d);
    rc = rm_rf(f->tmp);
    free(f);
    return rc;
}

static struct wal_dir *open_dir(struct fix *f, enum wal_fsync mode)
{
    int err = 0;

    f->d = wal_dir_open(f->state, mode, &err);
    assert_non_null(f->d);
    return f->d;
}

static void log_path(const struct fix *f, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s.wal", f->state, name);
}

static long long file_size(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return -1;
    return (long long)st.st_size;
}

static long long log_size(const struct fix *f, const char *name)
{
    char p[256];

    log_path(f, name, p, sizeof(p));
    return file_size(p);
}

/* Record i of a test: len bytes of a pattern that depends on i. */
static uint8_t *make_rec(size_t i, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    size_t j;

    assert_non_null(p);
    for (j = 0; j < len; j++)
        p[j] = (uint8_t)(i * 131 + j * 7 + (j >> 9));
    return p;
}

static int collect(void *arg, const uint8_t *rec, size_t len)
{
    struct recs *r = arg;

    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->v = realloc(r->v, r->cap * sizeof(*r->v));
        assert_non_null(r->v);
    }
    r->v[r->n].p = malloc(len ? len : 1);
    assert_non_null(r->v[r->n].p);
    if (len)
        memcpy(r->v[r->n].p, rec, len);
    r->v[r->n].len = len;
    r->n++;
    return 0;
}

static void recs_free(struct recs *r)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        free(r->v[i].p);
    free(r->v);
    memset(r, 0, sizeof(*r));
}

/* Replays `name` and checks it holds exactly records 0..n-1 of lens[]. */
static void expect_log(struct fix *f, const char *name, const size_t *lens,
                       size_t n, struct wal_replay_stats *st)
{
    struct recs r = {0};
    size_t i;

    assert_int_equal(wal_replay(f->d, name, collect, &r, st), 0);
    assert_int_equal(r.n, n);
    for (i = 0; i < n; i++) {
        uint8_t *want = make_rec(i, lens[i]);

        assert_int_equal(r.v[i].len, lens[i]);
        if (lens[i])
            assert_memory_equal(r.v[i].p, want, lens[i]);
        free(want);
    }
    recs_free(&r);
}

static void append_rec(struct wal *w, size_t i, size_t len)
{
    uint8_t *p = make_rec(i, len);

    assert_int_equal(wal_append(w, p, len), 0);
    free(p);
}

/* Writes records 0..n-1 of lens[] to a fresh log and closes it. */
static void write_log(struct fix *f, const char *name, const size_t *lens,
                      size_t n)
{
    int err = 0;
    struct wal *w = wal_open(f->d, name, &err);
    size_t i;

    assert_non_null(w);
    for (i = 0; i < n; i++)
        append_rec(w, i, lens[i]);
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    long long sz = file_size(path);
    uint8_t *p;
    int fd = open(path, O_RDONLY);

    assert_true(sz >= 0 && fd >= 0);
    p = malloc((size_t)sz + 1);
    assert_non_null(p);
    assert_int_equal(read(fd, p, (size_t)sz), sz);
    close(fd);
    *len = (size_t)sz;
    return p;
}

static void write_file(const char *path, const uint8_t *p, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static void test_roundtrip(void **state)
{
    enum {
        N = 1200
    };
    struct fix *f = *state;
    static size_t lens[N];
    struct wal_replay_stats st;
    size_t i, total = HDR;

    open_dir(f, WAL_FSYNC_BATCH);
    assert_string_equal(wal_dir_path(f->d), f->state);
    assert_int_equal(wal_dir_mode(f->d), WAL_FSYNC_BATCH);
    assert_false(wal_exists(f->d, "r"));
    for (i = 0; i < N; i++)
        lens[i] = (i * 37) % 300;
    lens[0] = 0;
    lens[1] = 1;
    lens[2] = 100 << 10;
    lens[3] = (3u << 20) / 2; /* more than the 1 MiB buffer */
    lens[4] = 0;
    lens[500] = 3u << 20;
    for (i = 0; i < N; i++)
        total += FRAME + lens[i];
    write_log(f, "r", lens, N);
    assert_true(wal_exists(f->d, "r"));
    assert_int_equal(log_size(f, "r"), (long long)total);
    expect_log(f, "r", lens, N, &st);
    assert_int_equal(st.records, N);
    assert_int_equal(st.bytes, total);
    assert_int_equal(st.truncated, 0);
    /* reopening appends after the existing records */
    write_log(f, "r", lens, 0);
    expect_log(f, "r", lens, N, NULL);
}

static void test_appendv(void **state)
{
    struct fix *f = *state;
    uint8_t *rec = make_rec(0, 300);
    struct recs r = {0};
    struct iovec iov[4] = {{.iov_base = rec, .iov_len = 100},
                           {.iov_base = NULL, .iov_len = 0}, /* allowed */
                           {.iov_base = rec + 100, .iov_len = 150},
                           {.iov_base = rec + 250, .iov_len = 50}};
    int err = 0;
    struct wal *w;

    open_dir(f, WAL_FSYNC_BATCH);
    w = wal_open(f->d, "v", &err);
    assert_non_null(w);
    assert_int_equal(wal_appendv(w, iov, 4), 0);
    assert_int_equal(wal_appendv(w, iov, 0), 0);
    assert_int_equal(wal_append(w, NULL, 0), 0);
    assert_int_equal(wal_appendv(w, iov, -1), -EINVAL);
    assert_int_equal(wal_append(w, rec, (size_t)WAL_MAX_RECORD + 1), -EINVAL);
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);
    /* records: the gathered 300 bytes, then two empty ones */
    assert_int_equal(wal_replay(f->d, "v", collect, &r, NULL), 0);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.v[0].len, 300);
    assert_memory_equal(r.v[0].p, rec, 300);
    assert_int_equal(r.v[1].len, 0);
    assert_int_equal(r.v[2].len, 0);
    recs_free(&r);
    free(rec);
}

static int never(void *arg, const uint8_t *rec, size_t len)
{
    (void)arg;
    (void)rec;
    (void)len;
    fail_msg("no record expected");
    return -1;
}

static void test_replay_missing(void **state)
{
    struct fix *f = *state;
    struct wal_replay_stats st;

    open_dir(f, WAL_FSYNC_BATCH);
    memset(&st, 0xff, sizeof(st));
    assert_int_equal(wal_replay(f->d, "nothing", never, NULL, &st), 0);
    assert_int_equal(st.records, 0);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.truncated, 0);
    assert_false(wal_exists(f->d, "nothing")); /* replay creates nothing */
}

static int stop_at_two(void *arg, const uint8_t *rec, size_t len)
{
    int *calls = arg;

    (void)rec;
    (void)len;
    return ++*calls == 2 ? 42 : 0;
}

static void test_replay_stops(void **state)
{
    struct fix *f = *state;
    size_t lens[4] = {5, 6, 7, 8};
    struct wal_replay_stats st;
    int calls = 0;

    open_dir(f, WAL_FSYNC_BATCH);
    write_log(f, "s", lens, 4);
    assert_int_equal(wal_replay(f->d, "s", stop_at_two, &calls, &st), 42);
    assert_int_equal(calls, 2);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.truncated, 0);
    assert_int_equal(log_size(f, "s"), HDR + 4 * FRAME + 26); /* untouched */
}

/* Cuts the log at every offset inside its last record and inside the
 * header: replay keeps exactly the earlier records, the file is cut to
 * them, and appending afterwards replays correctly. */
static void test_torn_tail(void **state)
{
    struct fix *f = *state;
    size_t lens[4] = {10, 0, 20, 30};
    const size_t good = HDR + 3 * FRAME + 30; /* records 0..2 */
    size_t cut, full_len;
    struct wal_replay_stats st;
    char path[256];
    uint8_t *full;

    open_dir(f, WAL_FSYNC_BATCH);
    write_log(f, "t", lens, 4);
    log_path(f, "t", path, sizeof(path));
    full = read_file(path, &full_len);
    assert_int_equal(full_len, good + FRAME + 30);
    for (cut = 0; cut < full_len; cut++) {
        size_t keep = cut < HDR ? 0 : cut < good ? cut : good;
        size_t nrec = cut < HDR ? 0 : 3;
        int err = 0;
        struct wal *w;

        if (cut >= HDR && cut < good)
            continue; /* inside earlier records: covered by the rest */
        write_file(path, full, cut);
        expect_log(f, "t", lens, nrec, &st);
        assert_int_equal(st.bytes, keep);
        assert_int_equal(st.truncated, cut - keep);
        assert_int_equal(file_size(path), (long long)keep);
        /* append one more record: it replays right after the good ones */
        w = wal_open(f->d, "t", &err);
        assert_non_null(w);
        append_rec(w, nrec, lens[nrec]); /* as if the cut one came again */
        assert_int_equal(wal_sync(w), 0);
        wal_close(w);
        expect_log(f, "t", lens, nrec + 1, &st);
        assert_int_equal(st.truncated, 0);
    }
    free(full);
}

/* A damaged record in the middle ends the log there: later records are
 * dropped and the file is cut before the damage. */
static void test_corrupt_middle(void **state)
{
    struct fix *f = *state;
    size_t lens[5] = {11, 12, 13, 14, 15};
    const size_t rec2 = HDR + 2 * FRAME + 23; /* offset of record 2 */
    size_t full_len, which;
    struct wal_replay_stats st;
    char path[256];
    uint8_t *full;

    open_dir(f, WAL_FSYNC_BATCH);
    write_log(f, "c", lens, 5);
    log_path(f, "c", path, sizeof(path));
    full = read_file(path, &full_len);
    /* damage the payload, the crc, then the length */
    for (which = 0; which < 3; which++) {
        uint8_t *bad = malloc(full_len);
        size_t at = which == 0   ? rec2 + FRAME + 5
                    : which == 1 ? rec2 + 4
                                 : rec2;

        memcpy(bad, full, full_len);
        bad[at] ^= which == 2 ? 0x01 : 0x40;
        write_file(path, bad, full_len);
        free(bad);
        expect_log(f, "c", lens, 2, &st);
        assert_int_equal(st.bytes, rec2);
        assert_int_equal(st.truncated, full_len - rec2);
        assert_int_equal(file_size(path), (long long)rec2);
    }
    free(full);
}

/* A length field above WAL_MAX_RECORD is corruption, even with enough
 * bytes behind it to look plausible. */
static void test_oversized_len(void **state)
{
    struct fix *f = *state;
    size_t lens[3] = {4, 5, 6};
    const size_t rec1 = HDR + FRAME + 4;
    const uint32_t bads[2] = {WAL_MAX_RECORD + 1u, 0xffffffffu};
    size_t full_len, k, i;
    struct wal_replay_stats st;
    char path[256];
    uint8_t *full;

    open_dir(f, WAL_FSYNC_OFF);
    write_log(f, "o", lens, 3);
    log_path(f, "o", path, sizeof(path));
    full = read_file(path, &full_len);
    for (k = 0; k < 2; k++) {
        for (i = 0; i < 4; i++) /* the len field, little-endian */
            full[rec1 + i] = (uint8_t)(bads[k] >> (8 * i));
        write_file(path, full, full_len);
        expect_log(f, "o", lens, 1, &st);
        assert_int_equal(st.truncated, full_len - rec1);
        assert_int_equal(file_size(path), (long long)rec1);
    }
    free(full);
}

/* A tail of zero bytes (what a filesystem may leave after a machine
 * crash) is not a run of empty records: it is cut off. */
static void test_zero_tail(void **state)
{
    struct fix *f = *state;
    size_t lens[2] = {7, 0};
    size_t full_len;
    struct wal_replay_stats st;
    char path[256];
    uint8_t *full, *grown;

    open_dir(f, WAL_FSYNC_OFF);
    write_log(f, "z", lens, 2);
    log_path(f, "z", path, sizeof(path));
    full = read_file(path, &full_len);
    grown = calloc(1, full_len + 64);
    assert_non_null(grown);
    memcpy(grown, full, full_len);
    write_file(path, grown, full_len + 64);
    expect_log(f, "z", lens, 2, &st);
    assert_int_equal(st.truncated, 64);
    assert_int_equal(file_size(path), (long long)full_len);
    free(grown);
    free(full);
}

/* NONE keeps nothing: no file, appends and syncs succeed, replay is empty. */
static void test_mode_none(void **state)
{
    struct fix *f = *state;
    struct wal_replay_stats st;
    char path[256];
    struct wal *w;
    int err = 0;

    open_dir(f, WAL_FSYNC_NONE);
    w = wal_open(f->d, "n", &err);
    assert_non_null(w);
    append_rec(w, 0, 10);
    assert_int_equal(wal_sync(w), 0);
    assert_int_equal(wal_dir_sync(f->d), 0);
    log_path(f, "n", path, sizeof(path));
    assert_int_equal(file_size(path), -1);
    wal_close(w);
    expect_log(f, "n", NULL, 0, &st);
    assert_int_equal(wal_remove(f->d, "n"), 0);
}

/* A file that is not a log is refused and left alone. */
static void test_foreign_file(void **state)
{
    struct fix *f = *state;
    static const uint8_t junk[] = "this is not a write-ahead log\n";
    char path[256];
    int err = 0;

    open_dir(f, WAL_FSYNC_BATCH);
    log_path(f, "x", path, sizeof(path));
    write_file(path, junk, sizeof(junk));
    assert_int_equal(wal_replay(f->d, "x", never, NULL, NULL), -EINVAL);
    assert_null(wal_open(f->d, "x", &err));
    assert_int_equal(err, -EINVAL);
    assert_int_equal(file_size(path), (long long)sizeof(junk));
}

/* Each mode round-trips; where the bytes are after append and after sync
 * shows the buffering (fsync itself cannot be observed). */
static void test_fsync_modes(void **state)
{
    static const enum wal_fsync modes[3] = {WAL_FSYNC_BATCH, WAL_FSYNC_ALWAYS,
                                            WAL_FSYNC_OFF};
    struct fix *f = *state;
    size_t lens[3] = {100, 0, 5000};
    const long long full = HDR + 3 * FRAME + 5100;
    int m;

    for (m = 0; m < 3; m++) {
        int err = 0;
        struct wal *w;
        size_t i;

        open_dir(f, modes[m]);
        assert_int_equal(wal_dir_mode(f->d), modes[m]);
        w = wal_open(f->d, "m", &err);
        assert_non_null(w);
        assert_int_equal(log_size(f, "m"), HDR);
        for (i = 0; i < 3; i++)
            append_rec(w, i, lens[i]);
        /* ALWAYS is on disk at once; the others wait for wal_sync */
        assert_int_equal(log_size(f, "m"),
                         modes[m] == WAL_FSYNC_ALWAYS ? full : HDR);
        assert_int_equal(wal_sync(w), 0);
        assert_int_equal(log_size(f, "m"), full);
        assert_int_equal(wal_sync(w), 0); /* nothing new: a no-op */
        wal_close(w);
        expect_log(f, "m", lens, 3, NULL);
        assert_int_equal(wal_remove(f->d, "m"), 0);
        wal_dir_close(f->d);
        f->d = NULL;
    }
}

/* wal_dir_sync writes every log with pending records, and only those. */
static void test_dir_sync(void **state)
{
    struct fix *f = *state;
    size_t lens[2] = {40, 50};
    const long long two = HDR + 2 * FRAME + 90;
    struct wal *a, *b, *c;
    int err = 0;

    open_dir(f, WAL_FSYNC_BATCH);
    assert_int_equal(wal_dir_sync(f->d), 0); /* no logs */
    a = wal_open(f->d, "a", &err);
    b = wal_open(f->d, "b", &err);
    c = wal_open(f->d, "c", &err);
    assert_true(a != NULL && b != NULL && c != NULL);
    assert_true(wal_open(f->d, "a", &err) == a); /* same handle */
    append_rec(a, 0, 40);
    append_rec(a, 1, 50);
    append_rec(c, 0, 40);
    append_rec(c, 1, 50);
    assert_int_equal(log_size(f, "a"), HDR);
    assert_int_equal(log_size(f, "c"), HDR);
    assert_int_equal(wal_dir_sync(f->d), 0);
    assert_int_equal(log_size(f, "a"), two);
    assert_int_equal(log_size(f, "b"), HDR);
    assert_int_equal(log_size(f, "c"), two);
    assert_int_equal(wal_dir_sync(f->d), 0); /* nothing pending */
    append_rec(b, 0, 40);
    wal_dir_close(f->d); /* writes b's pending record, syncs nothing */
    f->d = NULL;
    open_dir(f, WAL_FSYNC_BATCH);
    expect_log(f, "a", lens, 2, NULL);
    expect_log(f, "b", lens, 1, NULL);
    expect_log(f, "c", lens, 2, NULL);
}

static void test_remove(void **state)
{
    struct fix *f = *state;
    size_t lens[1] = {9};
    struct wal *w;
    int err = 0;

    open_dir(f, WAL_FSYNC_BATCH);
    assert_int_equal(wal_remove(f->d, "gone"), 0); /* missing: fine */
    w = wal_open(f->d, "gone", &err);
    assert_non_null(w);
    append_rec(w, 0, 9);
    assert_int_equal(wal_sync(w), 0);
    append_rec(w, 1, 9); /* pending, discarded with the file */
    assert_int_equal(wal_remove(f->d, "gone"), 0); /* closes the open log */
    assert_false(wal_exists(f->d, "gone"));
    assert_int_equal(log_size(f, "gone"), -1);
    assert_int_equal(wal_dir_sync(f->d), 0);
    write_log(f, "gone", lens, 1); /* the name is free again */
    expect_log(f, "gone", lens, 1, NULL);
    assert_int_equal(wal_remove(f->d, "gone"), 0);
    assert_int_equal(wal_remove(f->d, "gone"), 0);
}

struct names {
    int n;
    int calls;
    int stop_with;
    char v[8][WAL_NAME_MAX + 1];
};

static int list_cb(void *arg, const char *name)
{
    struct names *nm = arg;

    nm->calls++;
    if (nm->stop_with != 0)
        return nm->stop_with;
    assert_true(nm->n < 8);
    snprintf(nm->v[nm->n++], sizeof(nm->v[0]), "%s", name);
    return 0;
}

static bool has_name(const struct names *nm, const char *name)
{
    int i;

    for (i = 0; i < nm->n; i++)
        if (strcmp(nm->v[i], name) == 0)
            return true;
    return false;
}

static void test_dir_list(void **state)
{
    static const char *const others[] = {
        "junk.txt", "a.wal.tmp", "z.wal.tmp", "wal", ".wal", "bad name.wal"};
    struct fix *f = *state;
    struct names nm;
    char path[256];
    size_t i;

    open_dir(f, WAL_FSYNC_OFF);
    memset(&nm, 0, sizeof(nm));
    assert_int_equal(wal_dir_list(f->d, list_cb, &nm), 0);
    assert_int_equal(nm.n, 0); /* LOCK is not a log */
    write_log(f, "a", NULL, 0);
    write_log(f, "b.c", NULL, 0);
    write_log(f, "x-1_Y", NULL, 0);
    for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", f->state, others[i]);
        write_file(path, (const uint8_t *)"x", 1);
    }
    snprintf(path, sizeof(path), "%s/sub.d", f->state);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(wal_dir_list(f->d, list_cb, &nm), 0);
    assert_int_equal(nm.n, 3);
    assert_true(has_name(&nm, "a"));
    assert_true(has_name(&nm, "b.c"));
    assert_true(has_name(&nm, "x-1_Y"));
    /* a non-zero return stops the walk and is passed through */
    memset(&nm, 0, sizeof(nm));
    nm.stop_with = 7;
    assert_int_equal(wal_dir_list(f->d, list_cb, &nm), 7);
    assert_int_equal(nm.calls, 1);
}

struct src {
    size_t i, n, fail_at; /* next() fails at record fail_at (if < n) */
    size_t lens[4];
    uint8_t *cur;
};

static int src_next(void *arg, const void **rec, size_t *len)
{
    struct src *s = arg;

    free(s->cur);
    s->cur = NULL;
    if (s->i == s->fail_at)
        return -1;
    if (s->i == s->n)
        return 0;
    s->cur = make_rec(s->i, s->lens[s->i]);
    *rec = s->cur;
    *len = s->lens[s->i];
    s->i++;
    return 1;
}

static void test_rewrite(void **state)
{
    struct fix *f = *state;
    size_t old_lens[5] = {1, 2, 3, 4, 5};
    struct src ok = {0, 3, 99, {70, 0, 2000000, 0}, NULL};
    struct src bad = {0, 4, 2, {8, 9, 10, 11}, NULL};
    char path[256], tmp[256];
    size_t before_len, after_len;
    uint8_t *before, *after;
    int err = 0;
    struct wal *w;

    open_dir(f, WAL_FSYNC_BATCH);
    write_log(f, "rw", old_lens, 5);
    assert_int_equal(wal_rewrite(f->d, "rw", src_next, &ok), 0);
    expect_log(f, "rw", ok.lens, 3, NULL);
    log_path(f, "rw", path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s/rw.wal.tmp", f->state);
    assert_int_equal(file_size(tmp), -1); /* no leftover */
    /* a failing source leaves the old log byte for byte */
    before = read_file(path, &before_len);
    assert_int_equal(wal_rewrite(f->d, "rw", src_next, &bad), -ECANCELED);
    after = read_file(path, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    assert_int_equal(file_size(tmp), -1);
    free(before);
    free(after);
    expect_log(f, "rw", ok.lens, 3, NULL);
    /* the log must not be open; a missing log is simply created */
    w = wal_open(f->d, "rw", &err);
    assert_non_null(w);
    ok.i = 0;
    assert_int_equal(wal_rewrite(f->d, "rw", src_next, &ok), -EBUSY);
    assert_int_equal(wal_replay(f->d, "rw", never, NULL, NULL), -EBUSY);
    wal_close(w);
    ok.i = 0;
    assert_int_equal(wal_rewrite(f->d, "new", src_next, &ok), 0);
    expect_log(f, "new", ok.lens, 3, NULL);
}

static void test_bad_names(void **state)
{
    static const char *const bad[] = {"",    "a/b", "../x",
                                      "a b", "x\n", "\xc3\xa9"};
    struct fix *f = *state;
    char longest[WAL_NAME_MAX + 2];
    size_t i;
    int err;

    open_dir(f, WAL_FSYNC_BATCH);
    memset(longest, 'n', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0'; /* one too long */
    for (i = 0; i <= sizeof(bad) / sizeof(bad[0]); i++) {
        const char *name = i < sizeof(bad) / sizeof(bad[0]) ? bad[i] : longest;

        err = 0;
        assert_null(wal_open(f->d, name, &err));
        assert_int_equal(err, -EINVAL);
        assert_int_equal(wal_replay(f->d, name, never, NULL, NULL), -EINVAL);
        assert_int_equal(wal_remove(f->d, name), -EINVAL);
        assert_int_equal(wal_rewrite(f->d, name, src_next, NULL), -EINVAL);
        assert_false(wal_exists(f->d, name));
    }
    longest[WAL_NAME_MAX] = '\0'; /* exactly the limit: fine */
    write_log(f, longest, NULL, 0);
    assert_true(wal_exists(f->d, longest));
}

/* Runs wal_dir_open(path) in a child; returns its exit code: 0 opened,
 * 1 -EWOULDBLOCK, 2 anything else. */
static int open_in_child(const char *path)
{
    int status = 0;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        int err = 0;
        struct wal_dir *d = wal_dir_open(path, WAL_FSYNC_OFF, &err);

        wal_dir_close(d);
        _exit(d != NULL ? 0 : err == -EWOULDBLOCK ? 1 : 2);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_lock(void **state)
{
    struct fix *f = *state;
    struct wal_dir *again;
    char deep[256];
    int err = 0;

    snprintf(deep, sizeof(deep), "%s/x/y/z", f->tmp); /* mkdir -p */
    assert_int_equal(open_in_child(deep), 0);
    f->d = wal_dir_open(deep, WAL_FSYNC_BATCH, &err);
    assert_non_null(f->d);
    assert_int_equal(open_in_child(deep), 1);
    /* the lock is per open, so even this process cannot take it twice */
    assert_null(wal_dir_open(deep, WAL_FSYNC_BATCH, &err));
    assert_int_equal(err, -EWOULDBLOCK);
    wal_dir_close(f->d);
    f->d = NULL;
    assert_int_equal(open_in_child(deep), 0);
    again = wal_dir_open(deep, WAL_FSYNC_BATCH, &err);
    assert_non_null(again);
    wal_dir_close(again);
    wal_dir_close(NULL);
    /* a file where the directory should be */
    snprintf(deep, sizeof(deep), "%s/file", f->tmp);
    write_file(deep, (const uint8_t *)"x", 1);
    assert_null(wal_dir_open(deep, WAL_FSYNC_BATCH, &err));
    assert_int_equal(err, -ENOTDIR);
}

static void test_fsync_parse(void **state)
{
    static const char *const bad[] = {"", "BATCH", "sync", "offf", "on"};
    enum wal_fsync m = WAL_FSYNC_BATCH;
    size_t i;

    (void)state;
    assert_int_equal(wal_fsync_parse("off", &m), 0);
    assert_int_equal(m, WAL_FSYNC_OFF);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(wal_fsync_parse(bad[i], &m), -1);
        assert_int_equal(m, WAL_FSYNC_OFF); /* untouched */
    }
    assert_string_equal(wal_fsync_name(WAL_FSYNC_BATCH), "batch");
    assert_string_equal(wal_fsync_name(WAL_FSYNC_ALWAYS), "always");
    assert_string_equal(wal_fsync_name(WAL_FSYNC_OFF), "off");
    for (i = 0; i <= WAL_FSYNC_OFF; i++) {
        assert_int_equal(wal_fsync_parse(wal_fsync_name((enum wal_fsync)i), &m),
                         0);
        assert_int_equal(m, (enum wal_fsync)i);
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_roundtrip),      T(test_appendv),
        T(test_replay_missing), T(test_replay_stops),
        T(test_torn_tail),      T(test_corrupt_middle),
        T(test_oversized_len),  T(test_zero_tail),
        T(test_mode_none),      T(test_foreign_file),
        T(test_fsync_modes),    T(test_dir_sync),
        T(test_remove),         T(test_dir_list),
        T(test_rewrite),        T(test_bad_names),
        T(test_lock),           cmocka_unit_test(test_fsync_parse),
    };

    /* the truncation warnings are expected here */
    log_set_level(LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
