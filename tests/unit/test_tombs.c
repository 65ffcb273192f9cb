/* test_tombs.c - tombstones: bounded memory set, eviction of the oldest,
 * persistence through the "tombstones" log and its compaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tombs.h"
#include "wal.h"

static void id_of(int i, char *out, size_t n)
{
    snprintf(out, n, "%08x-0000-4000-8000-%012d", (unsigned)i * 2654435761u, i);
}

static void test_has_add_count(void **state)
{
    struct tombs *t = tombs_create(8);
    char id[TOMBS_ID_MAX];

    (void)state;
    assert_non_null(t);
    assert_int_equal(tombs_count(t), 0);
    assert_false(tombs_has(t, "a"));
    assert_int_equal(tombs_add(t, "a"), 0);
    assert_int_equal(tombs_add(t, "b"), 0);
    assert_true(tombs_has(t, "a"));
    assert_true(tombs_has(t, "b"));
    assert_false(tombs_has(t, "c"));
    assert_false(tombs_has(t, "ab"));
    assert_false(tombs_has(t, ""));
    assert_int_equal(tombs_count(t), 2);
    assert_int_equal(tombs_add(t, "a"), 0); /* duplicate: no-op */
    assert_int_equal(tombs_count(t), 2);
    id_of(1, id, sizeof(id));
    assert_int_equal(strlen(id), 36); /* a UUID-sized id fits */
    assert_int_equal(tombs_add(t, id), 0);
    assert_true(tombs_has(t, id));
    assert_int_equal(tombs_count(t), 3);
    tombs_destroy(t);
    tombs_destroy(NULL);
    assert_null(tombs_create(0));
}

static void test_too_long(void **state)
{
    struct tombs *t = tombs_create(4);
    char id[TOMBS_ID_MAX + 8];

    (void)state;
    memset(id, 'x', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    assert_int_equal(tombs_add(t, id), -EINVAL);
    id[TOMBS_ID_MAX] = '\0'; /* one too long */
    assert_int_equal(tombs_add(t, id), -EINVAL);
    assert_false(tombs_has(t, id));
    assert_int_equal(tombs_add(t, ""), -EINVAL);
    assert_int_equal(tombs_count(t), 0);
    id[TOMBS_ID_MAX - 1] = '\0'; /* the longest allowed */
    assert_int_equal(tombs_add(t, id), 0);
    assert_true(tombs_has(t, id));
    tombs_destroy(t);
}

/* Adding past the capacity forgets the oldest ids first; many rounds of
 * eviction keep the hash index consistent with the ring. */
static void test_eviction(void **state)
{
    enum {
        CAP = 37,
        N = 5000
    };
    struct tombs *t = tombs_create(CAP);
    char id[TOMBS_ID_MAX];
    int i, j;

    (void)state;
    assert_non_null(t);
    for (i = 0; i < N; i++) {
        id_of(i, id, sizeof(id));
        assert_int_equal(tombs_add(t, id), 0);
        assert_int_equal(tombs_count(t), i + 1 < CAP ? i + 1 : CAP);
        if (i % 97 != 0)
            continue;
        for (j = 0; j <= i; j++) {
            id_of(j, id, sizeof(id));
            assert_int_equal(tombs_has(t, id), j > i - CAP);
        }
    }
    /* re-adding a present id does not refresh or evict anything */
    id_of(N - CAP, id, sizeof(id));
    assert_int_equal(tombs_add(t, id), 0);
    id_of(N - CAP, id, sizeof(id));
    assert_true(tombs_has(t, id));
    id_of(N - CAP - 1, id, sizeof(id));
    assert_false(tombs_has(t, id));
    tombs_destroy(t);

    t = tombs_create(1);
    assert_int_equal(tombs_add(t, "x"), 0);
    assert_int_equal(tombs_add(t, "y"), 0);
    assert_false(tombs_has(t, "x"));
    assert_true(tombs_has(t, "y"));
    assert_int_equal(tombs_count(t), 1);
    tombs_destroy(t);
}

struct fix {
    char dir[64];
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_tombs.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

/* The state directory is flat: its files, then itself. */
static int teardown(void **state)
{
    struct fix *f = *state;
    char path[512];
    struct dirent *e;
    DIR *dir = opendir(f->dir);
    int rc = 0;

    if (dir == NULL)
        return -1;
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name);
        rc |= unlink(path);
    }
    closedir(dir);
    rc |= rmdir(f->dir);
    free(f);
    return rc;
}

static struct wal_dir *open_dir(const struct fix *f)
{
    int err = 0;
    struct wal_dir *d = wal_dir_open(f->dir, WAL_FSYNC_BATCH, &err);

    assert_non_null(d);
    return d;
}

static int count_rec(void *arg, const uint8_t *rec, size_t len)
{
    (void)rec;
    (void)len;
    ++*(size_t *)arg;
    return 0;
}

static size_t log_records(const struct fix *f)
{
    struct wal_dir *d = open_dir(f);
    size_t n = 0;

    assert_int_equal(wal_replay(d, TOMBS_LOG, count_rec, &n, NULL), 0);
    wal_dir_close(d);
    return n;
}

static void test_persist(void **state)
{
    struct fix *f = *state;
    struct wal_dir *d = open_dir(f);
    struct tombs *t = tombs_create(16);
    char id[TOMBS_ID_MAX];
    int i;

    assert_int_equal(tombs_load(t, d), 0); /* no log yet: empty */
    assert_int_equal(tombs_count(t), 0);
    assert_int_equal(tombs_load(t, d), -EBUSY);
    for (i = 0; i < 10; i++) {
        id_of(i, id, sizeof(id));
        assert_int_equal(tombs_add(t, id), 0);
    }
    assert_int_equal(tombs_add(t, "short"), 0);
    assert_int_equal(tombs_add(t, "short"), 0); /* not logged twice */
    tombs_destroy(t);
    wal_dir_close(d);
    assert_int_equal(log_records(f), 11);

    d = open_dir(f);
    t = tombs_create(16);
    assert_int_equal(tombs_load(t, d), 0);
    assert_int_equal(tombs_count(t), 11);
    for (i = 0; i < 10; i++) {
        id_of(i, id, sizeof(id));
        assert_true(tombs_has(t, id));
    }
    assert_true(tombs_has(t, "short"));
    assert_false(tombs_has(t, "other"));
    /* still attached: new ids go to the log too */
    assert_int_equal(tombs_add(t, "later"), 0);
    tombs_destroy(t);
    wal_dir_close(d);
    assert_int_equal(log_records(f), 12);
}

/* With cap 4, 20 ids make a log of 20 records; loading it keeps the last
 * 4 and rewrites the log to exactly those. */
static void test_compaction(void **state)
{
    struct fix *f = *state;
    struct wal_dir *d = open_dir(f);
    struct tombs *t = tombs_create(4);
    char id[TOMBS_ID_MAX];
    int i;

    assert_int_equal(tombs_load(t, d), 0);
    for (i = 0; i < 20; i++) {
        id_of(i, id, sizeof(id));
        assert_int_equal(tombs_add(t, id), 0);
    }
    tombs_destroy(t);
    wal_dir_close(d);
    assert_int_equal(log_records(f), 20);

    d = open_dir(f);
    t = tombs_create(4);
    assert_int_equal(tombs_load(t, d), 0);
    assert_int_equal(tombs_count(t), 4);
    for (i = 0; i < 20; i++) {
        id_of(i, id, sizeof(id));
        assert_int_equal(tombs_has(t, id), i >= 16);
    }
    tombs_destroy(t);
    wal_dir_close(d);
    assert_int_equal(log_records(f), 4);

    /* the compacted log loads the same, and a small log is left alone */
    d = open_dir(f);
    t = tombs_create(4);
    assert_int_equal(tombs_load(t, d), 0);
    for (i = 16; i < 20; i++) {
        id_of(i, id, sizeof(id));
        assert_true(tombs_has(t, id));
    }
    assert_int_equal(tombs_add(t, "one-more"), 0);
    tombs_destroy(t);
    wal_dir_close(d);
    assert_int_equal(log_records(f), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_has_add_count),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test_setup_teardown(test_persist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
