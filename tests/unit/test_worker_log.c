/*
 * test_worker_log.c - the write-ahead log of stateful worker stages, run
 * in-process through worker_main() against fake_mw: a redelivered copy is
 * applied and logged once, an input is acked only once its record is on
 * disk, a replica that died restarts from its log (replay before
 * consuming, hello with the session, duplicates acked without being
 * applied, finish -> emits -> done, log deleted and tombstone kept), and a
 * log with a torn tail is cut back to its good records and appended to.
 *
 * Log files are read as bytes (tfix.h), independently of common/wal.c; the
 * expected records are built in the runtime's format (wk_rec).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ctl.h"
#include "fake_mw.h"
#include "tfix.h"
#include "wal.h"
#include "wkinds.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S1 "11111111-1111-4111-8111-111111111111"
#define AQ "agg-q2.0"
#define ACTL "ctl.agg-q2.0"
#define SUB "agg-q2-0"

static int setup(void **state)
{
    fake_mw_reset();
    wk_reset();
    *state = tfix_mkdtemp();
    return 0;
}

static int teardown(void **state)
{
    fake_mw_set_hook(NULL, NULL);
    fake_mw_reset();
    tfix_rmrf(*state);
    free(*state);
    return 0;
}

static void assert_no_misuse(void)
{
    if (fake_mw_misuse() != 0)
        fail_msg("middleware misused: %s", fake_mw_misuse_text());
}

static void s1_log(const char *root, struct tfix_log *l)
{
    char path[512];

    tfix_log_path(path, sizeof(path), root, SUB, S1);
    tfix_log_read(path, l);
}

/* True when log l holds the record of input (seq, body) of S1's "users". */
static bool has_input(const struct tfix_log *l, int64_t seq, const char *body)
{
    uint8_t rec[256];
    size_t n = wk_rec(rec, sizeof(rec), 0, "users", seq, 0, body);

    return tfix_log_has(l, rec, n);
}

/* The log holds exactly the inputs (seqs[i], bodies[i]) of S1's "users",
 * in order, and nothing after them. */
static void assert_log_records(const char *root, const int64_t *seqs,
                               const char *const *bodies, size_t n)
{
    struct tfix_log l;
    uint8_t rec[256];
    size_t i, len;

    s1_log(root, &l);
    assert_true(l.exists);
    assert_int_equal(l.n, n);
    assert_int_equal(l.good, l.size);
    for (i = 0; i < n; i++) {
        len = wk_rec(rec, sizeof(rec), 0, "users", seqs[i], 0, bodies[i]);
        assert_int_equal(l.len[i], len);
        assert_memory_equal(l.rec[i], rec, len);
    }
    tfix_log_free(&l);
}

/* The same for the inputs 0..n-1. */
static void assert_log_exactly(const char *root, const char *const *bodies,
                               size_t n)
{
    static const int64_t seqs[] = {0, 1, 2, 3, 4, 5, 6, 7};

    assert_true(n <= sizeof(seqs) / sizeof(seqs[0]));
    assert_log_records(root, seqs, bodies, n);
}

/* Index of the k-th (0-based) successful delivery, or -1. */
static long nth_next_ok(int k)
{
    size_t i;

    for (i = 0; i < fake_mw_nevents(); i++)
        if (fake_mw_event(i)->op == FAKE_NEXT && fake_mw_event(i)->rc == 0 &&
            k-- == 0)
            return (long)i;
    return -1;
}

/* Index of the successful ack of tag, or -1. */
static long ack_index(uint64_t tag)
{
    size_t i;

    for (i = 0; i < fake_mw_nevents(); i++)
        if (fake_mw_event(i)->op == FAKE_ACK && fake_mw_event(i)->tag == tag &&
            fake_mw_event(i)->rc == 0)
            return (long)i;
    return -1;
}

static int acked_once(void)
{
    size_t i;
    int n = 0;

    for (i = 0; i < fake_mw_nevents(); i++) {
        const struct fake_ev *e = fake_mw_event(i);

        if (e->op == FAKE_NEXT && e->rc == 0) {
            assert_int_equal(fake_mw_acks(e->tag), 1);
            n++;
        }
    }
    return n;
}

/* ------------------------------------------------------------ duplicates */

/* A redelivered copy, in the same batch or a later one, is acked but
 * neither applied nor logged again. */
static void test_redelivered_copy_applied_once(void **state)
{
    static const char *const bodies[] = {"a", "b"};

    wk_env("agg-q2", *state, 2, NULL, NULL);
    wk_deliver(AQ, S1, "users", 0, "a", false);
    wk_deliver(AQ, S1, "users", 0, "a", true);
    wk_deliver(AQ, S1, "users", 1, "b", false);
    wk_deliver(AQ, S1, "users", 0, "a", true);
    fake_mw_stop_when_idle(ACTL, 1);
    assert_int_equal(wk_run(), 0);
    assert_no_misuse();
    assert_int_equal(wk_batches(S1, 0), 1);
    assert_int_equal(wk_batches(S1, 1), 1);
    assert_int_equal(acked_once(), 5);
    assert_log_exactly(*state, bodies, 2);
}

/* ------------------------------------------------------------ ack order */

struct sync_probe {
    const char *root;
    int acks_ok, acks_bad;
    int early_checked, early_on_disk;
};

/* At every ack of an input its record must be on disk. At the second
 * delivery the first input is applied but not committed: its record is
 * still in the log's buffer (which shows the check above can fail). */
static void sync_hook(const struct fake_ev *ev, void *arg)
{
    struct sync_probe *p = arg;
    const struct fake_ev *d;
    struct tfix_log l;
    char body[64];

    if (ev->op == FAKE_NEXT && ev->rc == 0 && ev->tag == 2) {
        s1_log(p->root, &l);
        p->early_checked++;
        p->early_on_disk += has_input(&l, 0, "a");
        tfix_log_free(&l);
    }
    if (ev->op != FAKE_ACK || (d = fake_mw_delivery(ev->tag)) == NULL ||
        strcmp(d->queue, AQ) != 0)
        return;
    snprintf(body, sizeof(body), "%.*s", (int)d->len, (const char *)d->body);
    s1_log(p->root, &l);
    if (has_input(&l, d->meta.seq, body))
        p->acks_ok++;
    else
        p->acks_bad++;
    tfix_log_free(&l);
}

static void test_ack_after_log_sync(void **state)
{
    static const char *const bodies[] = {"a", "b", "c", "d", "e"};
    struct sync_probe probe = {*state, 0, 0, 0, 0};
    int i;

    wk_env("agg-q2", *state, 3, NULL, NULL);
    fake_mw_set_hook(sync_hook, &probe);
    for (i = 0; i < 5; i++)
        wk_deliver(AQ, S1, "users", i, bodies[i], false);
    fake_mw_stop_when_idle(ACTL, 1);
    assert_int_equal(wk_run(), 0);
    assert_no_misuse();
    assert_int_equal(probe.acks_ok, 5);
    assert_int_equal(probe.acks_bad, 0);
    assert_int_equal(probe.early_checked, 1);
    assert_int_equal(probe.early_on_disk, 0);
    assert_log_exactly(*state, bodies, 5);
}

/* ------------------------------------------------------------ recovery */

/* Run 1 applies three inputs, commits two (WORKER_ACK_BATCH=2) and loses
 * its connection for good. */
static void crash_run(const char *root)
{
    wk_env("agg-q2", root, 2, NULL, NULL);
    wk_deliver(AQ, S1, "users", 0, "a", false); /* tag 1 */
    wk_deliver(AQ, S1, "users", 1, "b", false); /* tag 2 */
    wk_deliver(AQ, S1, "users", 2, "c", false); /* tag 3 */
    fake_mw_script_rc(MW_ERR_CLOSED);
    assert_int_equal(wk_run(), 1);
    assert_no_misuse();
    assert_int_equal(fake_mw_acks(1), 1);
    assert_int_equal(fake_mw_acks(2), 1);
    assert_int_equal(fake_mw_acks(3), 0);
    assert_int_equal(wk_find(0, WK_FINISH, NULL), -1);
}

/* Run 2's replay: the three logged inputs reach on_batch, in order, before
 * the runtime consumes anything; then hello lists the session. */
static void check_replay(struct ctl_msg *m)
{
    static const char *const bodies[] = {"a", "b", "c"};
    long consume = fake_mw_find(0, FAKE_CONSUME, NULL), hello;
    size_t i;

    assert_true(consume >= 0);
    assert_int_equal(wk_calls[0].type, WK_OPEN);
    for (i = 0; i < 3; i++) {
        assert_int_equal(wk_calls[1 + i].type, WK_BATCH);
        assert_int_equal(wk_calls[1 + i].seq, (int64_t)i);
        assert_string_equal(wk_calls[1 + i].body, bodies[i]);
        assert_string_equal(wk_calls[1 + i].queue, AQ);
        assert_true((long)wk_calls[1 + i].ev <= consume);
    }
    hello = tfix_find_ctl(0, CTL_HELLO, true, NULL, m);
    assert_true(hello > consume);
    assert_string_equal(m->stage, "agg-q2");
    assert_int_equal(m->nsessions, 1);
    assert_string_equal(m->sessions[0], S1);
    assert_true(nth_next_ok(0) > hello);
}

/* The finish: the kind emits its two chunks, a flush confirms them, then
 * the done declares them, confirmed before the finish is acked. */
static void check_finish(struct ctl_msg *m)
{
    long e0 = fake_mw_find(0, FAKE_PUBLISH, "cs.sink"), e1, fl, dn;
    const struct fake_ev *fin;
    long ack;

    assert_true(e0 >= 0);
    e1 = fake_mw_find((size_t)e0 + 1, FAKE_PUBLISH, "cs.sink");
    assert_true(e1 > e0);
    assert_int_equal(fake_mw_find((size_t)e1 + 1, FAKE_PUBLISH, "cs.sink"), -1);
    assert_string_equal(fake_mw_event((size_t)e0)->key, "0");
    assert_string_equal(fake_mw_event((size_t)e0)->meta.stream, "q2");
    assert_int_equal(fake_mw_event((size_t)e0)->meta.seq, 0);
    assert_memory_equal(fake_mw_event((size_t)e0)->body, "n=4", 3);
    assert_int_equal(fake_mw_event((size_t)e1)->meta.seq, 1);
    assert_memory_equal(fake_mw_event((size_t)e1)->body, "abcd", 4);
    fl = fake_mw_find((size_t)e1, FAKE_FLUSH, NULL);
    dn = tfix_find_ctl(0, CTL_DONE, true, S1, m);
    assert_true(fl > e1 && dn > fl);
    assert_string_equal(m->stage, "agg-q2");
    assert_int_equal(m->nflows, 1);
    assert_string_equal(m->flows[0].queue, "sink.0");
    assert_string_equal(m->flows[0].stream, "q2");
    assert_int_equal(m->flows[0].n, 2);
    fin = fake_mw_event((size_t)fake_mw_find(0, FAKE_NEXT, ACTL));
    assert_string_equal(fin->meta.stream, "finish");
    ack = ack_index(fin->tag);
    assert_true(ack > dn);
    assert_int_equal(fake_mw_unconfirmed_before((size_t)ack), -1);
    assert_int_equal(wk_calls[wk_find(0, WK_FINISH, S1)].finish_n, 4);
}

/* Run 2 on the same state directory: replay, hello, redelivered copies
 * acked without being applied, a new input, the finish, then a late input
 * of the ended session, acked and dropped. */
static void test_recovery_after_crash(void **state)
{
    struct ctl_msg *m = tfix_ctl(CTL_FINISH, S1);
    struct tfix_log l;
    char path[512];

    crash_run(*state);
    fake_mw_clear_events();
    wk_reset();
    fake_mw_requeue_unacked();                  /* input 2 again: tag 4 */
    wk_deliver(AQ, S1, "users", 0, "a", true);  /* a duplicate: tag 5 */
    wk_deliver(AQ, S1, "users", 3, "d", false); /* tag 6 */
    snprintf(m->reply_to, sizeof(m->reply_to), "gw-1");
    assert_int_equal(ctl_set_flow(m, AQ, "users", 4), 0);
    fake_mw_deliver_ctl(ACTL, m, false);
    wk_deliver(AQ, S1, "users", 4, "e", false); /* after the end: tag 8 */
    fake_mw_stop_when_idle(ACTL, 1);
    assert_int_equal(wk_run(), 0);
    assert_no_misuse();

    check_replay(m);
    assert_int_equal(wk_batches(S1, 0), 1);
    assert_int_equal(wk_batches(S1, 1), 1);
    assert_int_equal(wk_batches(S1, 2), 1);
    assert_int_equal(wk_batches(S1, 3), 1);
    assert_int_equal(wk_batches(S1, 4), 0);
    check_finish(m);
    assert_int_equal(acked_once(), 6);
    assert_true(fake_mw_delivery(4)->redelivered);

    s1_log(*state, &l);
    assert_false(l.exists);
    tfix_log_free(&l);
    tfix_log_path(path, sizeof(path), *state, SUB, "tombstones");
    tfix_log_read(path, &l);
    assert_true(tfix_log_has(&l, S1, strlen(S1)));
    tfix_log_free(&l);
    free(m);
}

/* ------------------------------------------------------------ torn tail */

/* Writes S1's log through wal.h as the runtime would: inputs 0, 1, 1 (a
 * record logged twice), 2. Returns its size. */
static size_t write_log(const char *root)
{
    static const int64_t seqs[] = {0, 1, 1, 2};
    static const char *const bodies[] = {"a", "b", "b", "c"};
    char path[512];
    uint8_t rec[256];
    struct wal_dir *d;
    struct wal *w;
    struct stat st;
    int err = 0, i;

    snprintf(path, sizeof(path), "%s/%s", root, SUB);
    d = wal_dir_open(path, WAL_FSYNC_BATCH, &err);
    assert_non_null(d);
    w = wal_open(d, S1, &err);
    assert_non_null(w);
    for (i = 0; i < 4; i++)
        assert_int_equal(wal_append(w, rec,
                                    wk_rec(rec, sizeof(rec), 0, "users",
                                           seqs[i], 0, bodies[i])),
                         0);
    assert_int_equal(wal_sync(w), 0);
    wal_dir_close(d);
    tfix_log_path(path, sizeof(path), root, SUB, S1);
    assert_int_equal(stat(path, &st), 0);
    return (size_t)st.st_size;
}

static void append_bytes(const char *root, const void *p, size_t n)
{
    char path[512];
    int fd;

    tfix_log_path(path, sizeof(path), root, SUB, S1);
    fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

struct torn_probe {
    const char *root;
    int checked;
    size_t size, n;
};

/* When the runtime starts consuming, replay has cut the log. */
static void torn_hook(const struct fake_ev *ev, void *arg)
{
    struct torn_probe *p = arg;
    struct tfix_log l;

    if (ev->op != FAKE_CONSUME || p->checked++ > 0)
        return;
    s1_log(p->root, &l);
    p->size = l.size;
    p->n = l.n;
    tfix_log_free(&l);
}

/* A tail torn mid-record (a header promising 100 bytes, 10 written) or a
 * full record that fails its CRC: replay applies the good records (the
 * one logged twice once), truncates the file to them, and later appends
 * follow them. */
static void test_torn_tail(void **state)
{
    static const int64_t seqs[] = {0, 1, 1, 2, 3};
    static const char *const bodies[] = {"a", "b", "b", "c", "d"};
    static const uint8_t torn[] = {100, 0,   0,   0,   1,   2,   3,   4,   '0',
                                   '1', '2', '3', '4', '5', '6', '7', '8', '9'};
    static const uint8_t badcrc[] = {2, 0, 0, 0, 9, 9, 9, 9, 'x', 'y'};
    struct torn_probe probe;
    size_t good;
    int c;

    for (c = 0; c < 2; c++) {
        tfix_rmrf(*state);
        assert_int_equal(mkdir(*state, 0700), 0);
        fake_mw_reset();
        wk_reset();
        good = write_log(*state);
        append_bytes(*state, c ? badcrc : torn,
                     c ? sizeof(badcrc) : sizeof(torn));
        memset(&probe, 0, sizeof(probe));
        probe.root = *state;
        fake_mw_set_hook(torn_hook, &probe);
        wk_env("agg-q2", *state, 4, NULL, NULL);
        wk_deliver(AQ, S1, "users", 1, "b", true);
        wk_deliver(AQ, S1, "users", 3, "d", false);
        fake_mw_stop_when_idle(ACTL, 1);
        assert_int_equal(wk_run(), 0);
        assert_no_misuse();
        assert_int_equal(probe.size, good);
        assert_int_equal(probe.n, 4);
        assert_int_equal(wk_batches(S1, 0), 1);
        assert_int_equal(wk_batches(S1, 1), 1);
        assert_int_equal(wk_batches(S1, 2), 1);
        assert_int_equal(wk_batches(S1, 3), 1);
        assert_true((long)wk_calls[wk_find(0, WK_BATCH, S1) + 2].ev <=
                    fake_mw_find(0, FAKE_CONSUME, NULL));
        assert_int_equal(acked_once(), 3);
        assert_log_records(*state, seqs, bodies, 5);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_redelivered_copy_applied_once,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_after_log_sync, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recovery_after_crash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
    };

    /* Quiet by default; LOG_LEVEL=info shows the runtime's lines. */
    if (setenv("LOG_LEVEL", "error", 0) != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
