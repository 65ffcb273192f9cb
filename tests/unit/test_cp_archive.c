/*
 * test_cp_archive.c - the control plane's result archive (controlplane/
 * archive.c) and its records in the store (controlplane/store.c, SQLite in
 * a temporary folder): chunks out of order and twice joined into one file
 * with its rows and bytes, a gap refused with the parts kept, bad names
 * refused, failed sessions' parts dropped, results recorded in the
 * session's JSON and found again after the store is reopened, and the
 * retention removing old sessions with their folders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "controlplane/archive.h"
#include "controlplane/store.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SID "0f8fad5b-d9cb-469f-a165-70867728950e"
#define SID2 "7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define DAY_MS 1796000000000.0 /* 2026-11-30 UTC */

struct fx {
    char dir[64];
    struct cp_archive *a;
};

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    char err[256];

    assert_non_null(x);
    snprintf(x->dir, sizeof(x->dir), "/tmp/cs-archive-XXXXXX");
    assert_non_null(mkdtemp(x->dir));
    x->a = cp_archive_open(x->dir, err, sizeof(err));
    assert_non_null(x->a);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;
    char cmd[128];

    cp_archive_close(x->a);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
    assert_int_equal(system(cmd), 0);
    free(x);
    return 0;
}

static char *slurp(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "rb");
    size_t n;

    if (f == NULL)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void chunk(struct fx *x, const char *sid, const char *file, int seq,
                  const char *text)
{
    assert_int_equal(cp_archive_chunk(x->a, sid, file, seq, text, strlen(text)),
                     0);
}

static void test_join(void **state)
{
    struct fx *x = *state;
    struct cp_result_file f[CP_ARCHIVE_MAX_FILES];
    char rel[128], path[512];
    int n;

    chunk(x, SID, "q3.csv", 1, "b,2\nc,3\n");
    chunk(x, SID, "q3.csv", 0, "h,x\na,1\n");
    chunk(x, SID, "q3.csv", 1, "b,2\nc,3\n"); /* again: overwrites */
    chunk(x, SID, "q1.csv", 0, "id\n");
    assert_int_equal(
        cp_archive_finish(x->a, SID, (int64_t)DAY_MS, rel, sizeof(rel), f, &n),
        0);
    assert_string_equal(rel, "2026-11-30/" SID);
    assert_int_equal(n, 2); /* q1, q3: in the result files' order */
    assert_string_equal(f[0].name, "q1.csv");
    assert_int_equal(f[0].rows, 0);
    assert_int_equal(f[0].bytes, 3);
    assert_string_equal(f[1].name, "q3.csv");
    assert_int_equal(f[1].rows, 3);
    assert_int_equal(f[1].bytes, 16);
    snprintf(path, sizeof(path), "%s/%s/q3.csv", x->dir, rel);
    assert_string_equal(slurp(path), "h,x\na,1\nb,2\nc,3\n");
    snprintf(path, sizeof(path), "%s/.parts/" SID, x->dir);
    assert_int_equal(access(path, F_OK), -1); /* parts removed */
    cp_archive_remove(x->a, rel);
    snprintf(path, sizeof(path), "%s/2026-11-30", x->dir);
    assert_int_equal(access(path, F_OK), -1); /* the empty date folder too */
}

static void test_gap_and_names(void **state)
{
    struct fx *x = *state;
    struct cp_result_file f[CP_ARCHIVE_MAX_FILES];
    char rel[128], path[512];
    int n;

    chunk(x, SID, "q4.csv", 0, "a\n");
    chunk(x, SID, "q4.csv", 2, "c\n");
    assert_int_equal(
        cp_archive_finish(x->a, SID, (int64_t)DAY_MS, rel, sizeof(rel), f, &n),
        -ENODATA);
    snprintf(path, sizeof(path), "%s/.parts/" SID "/q4.csv.2", x->dir);
    assert_int_equal(access(path, F_OK), 0); /* kept */
    cp_archive_discard(x->a, SID);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(cp_archive_chunk(x->a, SID, "../x.csv", 0, "a", 1),
                     CS_ERR_ARG);
    assert_int_equal(cp_archive_chunk(x->a, "not-a-uuid", "q1.csv", 0, "a", 1),
                     CS_ERR_ARG);
    assert_int_equal(cp_archive_chunk(x->a, SID, "q1.csv", -1, "a", 1),
                     CS_ERR_ARG);
    assert_true(cp_archive_file_valid("q2_best_selling.csv"));
    assert_false(cp_archive_file_valid("q2.csv"));
}

static const char snap[] =
    "{\"type\":\"session\",\"id\":\"%s\",\"gateway\":\"gw\",\"state\":\"%s\","
    "\"started_ms\":%.0f,\"ended_ms\":%.0f,\"error\":\"\",\"stages\":[],"
    "\"rejected\":{}}";

static void apply(struct cp_store *s, const char *id, const char *st, double t0)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), snap, id, st, t0, t0 + 1000);

    assert_int_equal(cp_store_apply(s, buf, (size_t)n), 0);
}

static void drop(void *arg, const char *rel)
{
    cp_archive_remove(arg, rel);
}

static void test_store_results(void **state)
{
    struct fx *x = *state;
    struct cp_result_file f[CP_ARCHIVE_MAX_FILES];
    char db[128], err[256], rel[128], got[128], path[512];
    struct cp_store *s;
    bool found;
    char *json;
    int n;

    snprintf(db, sizeof(db), "%s/history.db", x->dir);
    s = cp_store_open(db, 10, err, sizeof(err));
    assert_non_null(s);
    apply(s, SID, "done", DAY_MS);
    apply(s, SID2, "done", DAY_MS - 40 * 86400000.0); /* 40 days older */
    chunk(x, SID, "q3.csv", 0, "h\nr\n");
    assert_int_equal(
        cp_archive_finish(x->a, SID, (int64_t)DAY_MS, rel, sizeof(rel), f, &n),
        0);
    assert_int_equal(cp_store_set_results(s, SID, rel, f, n, DAY_MS), 0);
    /* a later snapshot keeps the results */
    apply(s, SID, "done", DAY_MS);
    json = cp_store_get_json(s, SID, &found);
    assert_true(found);
    assert_non_null(strstr(json, "\"results\":[{\"file\":\"q3.csv\",\"rows\":1,"
                                 "\"bytes\":4,\"url\":\"/api/sessions/" SID
                                 "/results/q3.csv\"}]"));
    free(json);
    assert_int_equal(cp_store_state(s, SID), CP_STATE_FINISHED);
    assert_int_equal(cp_store_state(s, "00000000-0000-0000-0000-000000000000"),
                     CP_STATE_UNKNOWN);
    cp_store_close(s);

    /* reopened: read back from SQLite */
    s = cp_store_open(db, 10, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(cp_store_archive_of(s, SID, got, sizeof(got)), 0);
    assert_string_equal(got, rel);
    assert_int_equal(cp_store_archive_of(s, SID2, got, sizeof(got)), -1);

    /* retention: 30 days keeps SID, drops SID2; then count 0 (none kept
     * by age alone) with a count limit of 1 keeps SID */
    assert_int_equal(
        cp_store_expire(s, DAY_MS + 1000, 30 * 86400000.0, 0, drop, x->a), 1);
    json = cp_store_get_json(s, SID2, &found);
    assert_false(found);
    free(json);
    assert_int_equal(cp_store_expire(s, DAY_MS + 1000, 0, 1, drop, x->a), 0);
    /* a day later with a one-day limit: SID and its folder go */
    assert_int_equal(
        cp_store_expire(s, DAY_MS + 2 * 86400000.0, 86400000.0, 0, drop, x->a),
        1);
    snprintf(path, sizeof(path), "%s/%s", x->dir, rel);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(cp_store_state(s, SID), CP_STATE_UNKNOWN);
    cp_store_close(s);
}

/* Results of a running session: it stays running while its snapshots come
 * (the final one is on its way); one whose snapshots stopped (its end was
 * missed, here: read back from the history) becomes done. */
static void test_missed_end(void **state)
{
    struct fx *x = *state;
    struct cp_result_file f = {"q3.csv", 1, 4};
    char db[128], err[256];
    struct cp_store *s;

    snprintf(db, sizeof(db), "%s/history.db", x->dir);
    s = cp_store_open(db, 10, err, sizeof(err));
    assert_non_null(s);
    apply(s, SID, "finishing", DAY_MS);
    assert_int_equal(cp_store_set_results(s, SID, "d/" SID, &f, 1, DAY_MS), 0);
    assert_int_equal(cp_store_state(s, SID), CP_STATE_RUNNING);
    cp_store_close(s);
    s = cp_store_open(db, 10, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(cp_store_state(s, SID), CP_STATE_RUNNING);
    assert_int_equal(cp_store_set_results(s, SID, "d/" SID, &f, 1, 2e12), 0);
    assert_int_equal(cp_store_state(s, SID), CP_STATE_FINISHED);
    cp_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_join, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gap_and_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_results, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missed_end, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
