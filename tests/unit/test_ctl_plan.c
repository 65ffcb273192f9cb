/* test_ctl_plan.c - control messages (common/ctl.h): builders, JSON round
 * trips of every type, the wire shapes of ctl.h, strict decoding of
 * malformed input; replica specs and queue naming (common/plan.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ctl.h"
#include "idset.h"
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SID "0b8e4c0a-1111-4222-8333-444455556666"

static struct ctl_msg *msg_new(enum ctl_type t, const char *session)
{
    struct ctl_msg *m = ctl_new(t, session);

    assert_non_null(m);
    return m;
}

static int decode_str(const char *js, struct ctl_msg *m)
{
    return ctl_decode((const uint8_t *)js, strlen(js), m);
}

static void assert_same_flows(const struct ctl_msg *a, const struct ctl_msg *b)
{
    int i, k;

    assert_int_equal(a->nflows, b->nflows);
    for (i = 0; i < a->nflows; i++) {
        const struct ctl_flow *fa = &a->flows[i], *fb = &b->flows[i];

        assert_string_equal(fa->queue, fb->queue);
        assert_string_equal(fa->stream, fb->stream);
        assert_int_equal(fa->n, fb->n);
        assert_int_equal(fa->nranges, fb->nranges);
        assert_int_equal(fa->nrej, fb->nrej);
        for (k = 0; k < fa->nranges; k++) {
            assert_int_equal(a->ranges[fa->range0 + k].lo,
                             b->ranges[fb->range0 + k].lo);
            assert_int_equal(a->ranges[fa->range0 + k].hi,
                             b->ranges[fb->range0 + k].hi);
        }
        for (k = 0; k < fa->nrej; k++) {
            assert_int_equal(a->rejs[fa->rej0 + k].seq,
                             b->rejs[fb->rej0 + k].seq);
            assert_int_equal(a->rejs[fa->rej0 + k].n, b->rejs[fb->rej0 + k].n);
        }
    }
    assert_int_equal(a->nranges, b->nranges);
    assert_int_equal(a->nrejs, b->nrejs);
}

static void assert_same_msg(const struct ctl_msg *a, const struct ctl_msg *b)
{
    int i;

    assert_int_equal(a->type, b->type);
    assert_string_equal(a->session, b->session);
    assert_string_equal(a->stage, b->stage);
    assert_int_equal(a->replica, b->replica);
    assert_int_equal(a->ts_ms, b->ts_ms);
    assert_string_equal(a->reply_to, b->reply_to);
    assert_string_equal(a->status, b->status);
    assert_string_equal(a->reason, b->reason);
    assert_same_flows(a, b);
    assert_int_equal(a->nrejected, b->nrejected);
    for (i = 0; i < a->nrejected; i++) {
        assert_string_equal(a->rejected[i].name, b->rejected[i].name);
        assert_int_equal(a->rejected[i].n, b->rejected[i].n);
    }
    assert_int_equal(a->nsessions, b->nsessions);
    for (i = 0; i < a->nsessions; i++)
        assert_string_equal(a->sessions[i], b->sessions[i]);
}

/* Encodes m, checks the JSON holds `part` (NULL: no check), decodes it and
 * compares. */
static void roundtrip(const struct ctl_msg *m, const char *part)
{
    struct ctl_msg *out = msg_new(CTL_SHUTDOWN, NULL);
    size_t len = 0;
    char *js = ctl_encode(m, &len);

    assert_non_null(js);
    assert_int_equal(len, strlen(js));
    if (part && strstr(js, part) == NULL)
        fail_msg("%s lacks %s", js, part);
    assert_int_equal(ctl_decode((const uint8_t *)js, len, out), 0);
    assert_same_msg(m, out);
    free(js);
    free(out);
}

static void set_sender(struct ctl_msg *m, const char *stage, int replica)
{
    snprintf(m->stage, sizeof(m->stage), "%s", stage);
    m->replica = replica;
    m->ts_ms = INT64_C(1700000000123);
}

/* ------------------------------------------------------------ round trips */

static void test_roundtrip_done_and_finish(void **state)
{
    struct ctl_msg *m = msg_new(CTL_DONE, SID);

    (void)state;
    set_sender(m, "filter", 2);
    assert_int_equal(ctl_set_flow(m, "agg-q3.1", "transactions", 17), 0);
    assert_int_equal(ctl_set_flow(m, "sink.0", "transactions", 0), 0);
    assert_int_equal(ctl_set_flow(m, "agg-q4.0", "users", CTL_COUNT_MAX), 0);
    roundtrip(
        m, "\"flows\":[{\"q\":\"agg-q3.1\",\"s\":\"transactions\",\"n\":17}");
    roundtrip(m, "\"stage\":\"filter\",\"replica\":2,\"ts\":1700000000123");

    ctl_init(m, CTL_FINISH, SID);
    m->ts_ms = 1;
    snprintf(m->reply_to, sizeof(m->reply_to), "gw-1");
    assert_int_equal(ctl_set_flow(m, "filter.users", "users", 5), 0);
    assert_int_equal(ctl_add_rejected(m, "users", 4), 0);
    assert_int_equal(ctl_add_rejected(m, "transactions", 2), 0);
    roundtrip(m, "\"rejected\":{\"users\":4,\"transactions\":2}");
    roundtrip(m, "\"reply_to\":\"gw-1\"");
    free(m);
}

static void test_roundtrip_report(void **state)
{
    struct ctl_msg *m = msg_new(CTL_REPORT, SID);

    (void)state;
    set_sender(m, "filter", 1);
    assert_int_equal(ctl_begin_flow(m, "filter.users", "users"), 0);
    assert_int_equal(ctl_add_range(m, 0, 31), 0);
    assert_int_equal(ctl_add_range(m, 40, 40), 0);
    assert_int_equal(ctl_add_rej(m, 3, 2), 0);
    assert_int_equal(ctl_begin_flow(m, "filter.stores", "stores"), 1);
    assert_int_equal(ctl_add_range(m, IDSET_MAX_SEQ - 1, IDSET_MAX_SEQ - 1), 0);
    assert_int_equal(ctl_begin_flow(m, "filter.menu_items", "menu_items"), 2);
    assert_int_equal(ctl_add_rej(m, 7, 1), 0); /* rejs without ranges */
    assert_int_equal(m->flows[0].range0, 0);
    assert_int_equal(m->flows[0].nranges, 2);
    assert_int_equal(m->flows[1].range0, 2);
    assert_int_equal(m->flows[1].nranges, 1);
    assert_int_equal(m->flows[2].rej0, 1);
    assert_int_equal(m->flows[2].nrej, 1);
    assert_int_equal(m->flows[0].n, -1);
    /* The wire form of ctl.h. */
    roundtrip(m, "\"flows\":[{\"q\":\"filter.users\",\"s\":\"users\","
                 "\"r\":[[0,31],[40,40]],\"rej\":[[3,2]]}");
    free(m);
}

static void test_roundtrip_hello(void **state)
{
    struct ctl_msg *m = msg_new(CTL_HELLO, NULL);
    char id[CTL_ID_MAX];
    int i;

    (void)state;
    set_sender(m, "agg-q2", 0);
    roundtrip(m, "{\"type\":\"hello\",\"stage\":\"agg-q2\",\"replica\":0");
    for (i = 0; i < CTL_MAX_SESSIONS; i++) {
        snprintf(id, sizeof(id), "%08d-0000-4000-8000-%012d", i, i);
        assert_int_equal(ctl_add_session(m, id), 0);
    }
    assert_int_equal(ctl_add_session(m, "one-too-many"), -1);
    roundtrip(m, "\"sessions\":[\"00000000-0000-4000-8000-000000000000\",");
    free(m);
}

static void test_roundtrip_other_types(void **state)
{
    struct ctl_msg *m = msg_new(CTL_SESSION_START, SID);

    (void)state;
    m->ts_ms = 5;
    snprintf(m->reply_to, sizeof(m->reply_to), "gw-7");
    roundtrip(m, "{\"type\":\"session_start\",\"session\":\"" SID "\"");
    ctl_init(m, CTL_DRAIN, SID);
    m->ts_ms = 5;
    roundtrip(m, "\"type\":\"drain\"");
    ctl_init(m, CTL_ABORT, SID);
    m->ts_ms = 5;
    snprintf(m->reason, sizeof(m->reason), "client said \"bye\"\n");
    roundtrip(m, "\"type\":\"abort\"");
    ctl_init(m, CTL_END, SID);
    m->ts_ms = 5;
    snprintf(m->status, sizeof(m->status), "error");
    snprintf(m->reason, sizeof(m->reason), "too many rejected rows");
    assert_int_equal(ctl_add_rejected(m, "menu_items", 1), 0);
    roundtrip(m, "\"status\":\"error\"");
    ctl_init(m, CTL_SHUTDOWN, NULL);
    m->ts_ms = 5;
    roundtrip(m, "{\"type\":\"shutdown\",\"ts\":5}");
    free(m);
}

/* ts 0 means "now" when encoding; a body without ts decodes to 0. */
static void test_ts(void **state)
{
    struct ctl_msg *m = msg_new(CTL_DRAIN, SID);
    char *js;

    (void)state;
    js = ctl_encode(m, NULL);
    assert_non_null(js);
    assert_int_equal(decode_str(js, m), 0);
    assert_true(m->ts_ms > INT64_C(1600000000000));
    free(js);
    assert_int_equal(decode_str("{\"type\":\"drain\",\"session\":\"s\"}", m),
                     0);
    assert_int_equal(m->ts_ms, 0);
    free(m);
}

/* The examples of ctl.h decode to what they say. */
static void test_decode_wire_examples(void **state)
{
    struct ctl_msg *m = msg_new(CTL_SHUTDOWN, NULL);

    (void)state;
    assert_int_equal(decode_str("{\"type\":\"report\",\"session\":\"s1\","
                                "\"stage\":\"filter\",\"replica\":1,"
                                "\"ts\":1700000000000,\"flows\":[{\"q\":"
                                "\"filter.users\",\"s\":\"users\","
                                "\"r\":[[0,31],[40,40]],\"rej\":[[3,2]]}]}",
                                m),
                     0);
    assert_int_equal(m->type, CTL_REPORT);
    assert_string_equal(m->stage, "filter");
    assert_int_equal(m->replica, 1);
    assert_int_equal(m->nflows, 1);
    assert_int_equal(m->flows[0].n, -1);
    assert_int_equal(m->flows[0].nranges, 2);
    assert_int_equal(m->ranges[1].lo, 40);
    assert_int_equal(m->flows[0].nrej, 1);
    assert_int_equal(m->rejs[0].seq, 3);
    assert_int_equal(m->rejs[0].n, 2);

    assert_int_equal(
        decode_str("{\"type\":\"done\",\"session\":\"s1\",\"stage\":\"agg-q2\","
                   "\"replica\":1,"
                   "\"flows\":[{\"q\":\"sink.0\",\"s\":\"agg-q2.1\",\"n\":4}]}",
                   m),
        0);
    assert_int_equal(m->type, CTL_DONE);
    assert_int_equal(ctl_find_flow(m, "sink.0", "agg-q2.1"), 0);
    assert_int_equal(m->flows[0].n, 4);
    assert_int_equal(m->nranges, 0);

    assert_int_equal(decode_str("{\"type\":\"hello\",\"stage\":\"agg-q2\","
                                "\"replica\":0,\"sessions\":[\"s1\",\"s2\"]}",
                                m),
                     0);
    assert_int_equal(m->type, CTL_HELLO);
    assert_int_equal(m->nsessions, 2);
    assert_string_equal(m->sessions[1], "s2");
    assert_string_equal(m->session, "");
    free(m);
}

/* ------------------------------------------------------------ strict decoding */

/* Bodies ctl_decode must refuse. */
static const char *const bad_bodies[] = {
    "",
    "{",
    "[]",
    "null",
    "\"done\"",
    "{}",
    "{\"type\":\"nope\",\"session\":\"s\"}",
    "{\"type\":5,\"session\":\"s\"}",
    "{\"session\":\"s\"}",
    "{\"type\":\"done\",\"session\":5}",
    "{\"type\":\"done\",\"session\":"
    "\"0123456789012345678901234567890123456789\"}",
    /* header numbers */
    "{\"type\":\"report\",\"session\":\"s\",\"replica\":-1}",
    "{\"type\":\"report\",\"session\":\"s\",\"replica\":1.5}",
    "{\"type\":\"report\",\"session\":\"s\",\"replica\":\"1\"}",
    "{\"type\":\"report\",\"session\":\"s\",\"ts\":-5}",
    "{\"type\":\"report\",\"session\":\"s\",\"ts\":1.25}",
    "{\"type\":\"report\",\"session\":\"s\",\"stage\":7}",
    /* flows */
    "{\"type\":\"done\",\"session\":\"s\",\"flows\":{}}",
    "{\"type\":\"done\",\"session\":\"s\",\"flows\":[1]}",
    "{\"type\":\"done\",\"session\":\"s\",\"flows\":[{\"s\":\"x\",\"n\":1}]}",
    "{\"type\":\"done\",\"session\":\"s\",\"flows\":[{\"q\":\"x\",\"n\":1}]}",
    "{\"type\":\"done\",\"session\":\"s\",\"flows\":[{\"q\":1,\"s\":\"x\"}]}",
    "{\"type\":\"done\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":\"x\","
    "\"n\":-1}]}",
    "{\"type\":\"done\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":\"x\","
    "\"n\":1.5}]}",
    "{\"type\":\"done\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":\"x\","
    "\"n\":1e300}]}",
    "{\"type\":\"done\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":\"x\","
    "\"n\":1e16}]}",
    "{\"type\":\"done\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":\"x\","
    "\"n\":null}]}",
    "{\"type\":\"done\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":\"x\","
    "\"n\":1},"
    "{\"q\":\"q\",\"s\":\"x\",\"n\":1}]}",
    "{\"type\":\"done\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":\"x\"},"
    "{\"q\":\"q\",\"s\":\"x\",\"r\":[[1,1]]}]}",
    "{\"type\":\"done\",\"session\":\"s\",\"flows\":[{\"q\":\""
    "0123456789012345678901234567890123456789012345678901234567890123\",\"s\":"
    "\"x\"}]}",
    "{\"type\":\"done\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":\""
    "012345678901234567890123456789012345678901234567\"}]}",
    /* ranges */
    "{\"type\":\"report\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":"
    "\"x\",\"r\":{}}]}",
    "{\"type\":\"report\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":"
    "\"x\",\"r\":[1]}]}",
    "{\"type\":\"report\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":"
    "\"x\",\"r\":[[1]]}]}",
    "{\"type\":\"report\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":"
    "\"x\",\"r\":[[1,2,3]]}]}",
    "{\"type\":\"report\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":"
    "\"x\",\"r\":[[5,4]]}]}",
    "{\"type\":\"report\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":"
    "\"x\",\"r\":[[-1,4]]}]}",
    "{\"type\":\"report\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":"
    "\"x\",\"r\":[[0,0.5]]}]}",
    "{\"type\":\"report\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":"
    "\"x\",\"r\":[[\"0\",1]]}]}",
    "{\"type\":\"report\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":"
    "\"x\","
    "\"r\":[[0,67108864]]}]}",
    "{\"type\":\"report\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":"
    "\"x\","
    "\"r\":[[67108864,67108864]]}]}",
    /* rejects */
    "{\"type\":\"report\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":"
    "\"x\","
    "\"rej\":[[67108864,1]]}]}",
    "{\"type\":\"report\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":"
    "\"x\",\"rej\":[[1,-1]]}]}",
    "{\"type\":\"report\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":"
    "\"x\",\"rej\":[[1,0.5]]}]}",
    "{\"type\":\"report\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":"
    "\"x\",\"rej\":[[1]]}]}",
    "{\"type\":\"report\",\"session\":\"s\",\"flows\":[{\"q\":\"q\",\"s\":"
    "\"x\",\"rej\":7}]}",
    /* rejected totals */
    "{\"type\":\"end\",\"session\":\"s\",\"rejected\":[1]}",
    "{\"type\":\"end\",\"session\":\"s\",\"rejected\":{\"users\":-1}}",
    "{\"type\":\"end\",\"session\":\"s\",\"rejected\":{\"users\":\"1\"}}",
    "{\"type\":\"end\",\"session\":\"s\",\"rejected\":{\"users\":2.5}}",
    /* hello */
    "{\"type\":\"hello\",\"replica\":0}",
    "{\"type\":\"hello\",\"stage\":\"\",\"replica\":0}",
    "{\"type\":\"hello\",\"stage\":\"filter\",\"sessions\":\"s\"}",
    "{\"type\":\"hello\",\"stage\":\"filter\",\"sessions\":[1]}",
    "{\"type\":\"hello\",\"stage\":\"filter\",\"sessions\":"
    "[\"0123456789012345678901234567890123456789\"]}",
    /* a session is required by every other type but shutdown */
    "{\"type\":\"session_start\",\"reply_to\":\"gw\"}",
    "{\"type\":\"done\",\"stage\":\"gateway\"}",
    "{\"type\":\"report\",\"stage\":\"filter\"}",
    "{\"type\":\"drain\"}",
    "{\"type\":\"finish\",\"session\":\"\"}",
    "{\"type\":\"abort\",\"reason\":\"x\"}",
    "{\"type\":\"end\",\"status\":\"ok\"}",
};

static void test_decode_rejects(void **state)
{
    struct ctl_msg *m = msg_new(CTL_SHUTDOWN, NULL);
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad_bodies) / sizeof(bad_bodies[0]); i++)
        if (decode_str(bad_bodies[i], m) == 0)
            fail_msg("accepted: %s", bad_bodies[i]);
    assert_int_equal(decode_str("{\"type\":\"shutdown\"}", m), 0);
    assert_int_equal(m->type, CTL_SHUTDOWN);
    assert_int_equal(decode_str("{\"type\":\"hello\",\"stage\":\"sink\"}", m),
                     0);
    /* The largest valid numbers. */
    assert_int_equal(decode_str("{\"type\":\"report\",\"session\":\"s\","
                                "\"flows\":[{\"q\":\"q\",\"s\":\"x\","
                                "\"n\":9007199254740992,\"r\":[[0,67108863]],"
                                "\"rej\":[[67108863,9007199254740992]]}]}",
                                m),
                     0);
    assert_int_equal(m->flows[0].n, CTL_COUNT_MAX);
    assert_int_equal(m->ranges[0].hi, IDSET_MAX_SEQ - 1);
    assert_int_equal(m->rejs[0].n, CTL_COUNT_MAX);
    free(m);
}

/* A growing JSON text. */
struct text {
    char *s;
    size_t len, cap;
};

static void put(struct text *t, const char *s)
{
    size_t n = strlen(s);

    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
    memcpy(t->s + t->len, s, n + 1);
    t->len += n;
}

/* A report (or hello) body with `n` entries of one kind:
 * 'f' flows, 'r' ranges, 'j' rejects, 's' hello sessions, 't' rejected totals. */
static char *body_with(char kind, int n)
{
    struct text t = {NULL, 0, 0};
    char item[96];
    int i;

    if (kind == 's')
        put(&t, "{\"type\":\"hello\",\"stage\":\"filter\",\"sessions\":[");
    else if (kind == 't')
        put(&t, "{\"type\":\"end\",\"session\":\"s\",\"rejected\":{");
    else if (kind == 'f')
        put(&t, "{\"type\":\"report\",\"session\":\"s\",\"flows\":[");
    else
        put(&t, kind == 'r' ? "{\"type\":\"report\",\"session\":\"s\","
                              "\"flows\":[{\"q\":\"q\","
                              "\"s\":\"x\",\"r\":["
                            : "{\"type\":\"report\",\"session\":\"s\","
                              "\"flows\":[{\"q\":\"q\","
                              "\"s\":\"x\",\"rej\":[");
    for (i = 0; i < n; i++) {
        if (kind == 'f')
            snprintf(item, sizeof(item),
                     "%s{\"q\":\"q%d\",\"s\":\"x\",\"r\":[[0,0]]}",
                     i ? "," : "", i);
        else if (kind == 's')
            snprintf(item, sizeof(item), "%s\"s-%d\"", i ? "," : "", i);
        else if (kind == 't')
            snprintf(item, sizeof(item), "%s\"t%d\":%d", i ? "," : "", i, i);
        else
            snprintf(item, sizeof(item), "%s[%d,%d]", i ? "," : "", 2 * i,
                     2 * i);
        put(&t, item);
    }
    put(&t, kind == 'f' || kind == 's' ? "]}" : kind == 't' ? "}}" : "]}]}");
    return t.s;
}

static void test_decode_limits(void **state)
{
    static const struct {
        char kind;
        int max;
    } lim[] = {
        {'f', CTL_MAX_FLOWS},    {'r', CTL_MAX_RANGES},   {'j', CTL_MAX_REJS},
        {'s', CTL_MAX_SESSIONS}, {'t', CTL_MAX_REJECTED},
    };
    struct ctl_msg *m = msg_new(CTL_SHUTDOWN, NULL);
    char *js;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
        js = body_with(lim[i].kind, lim[i].max);
        if (decode_str(js, m) != 0)
            fail_msg("%d of kind %c refused", lim[i].max, lim[i].kind);
        free(js);
        js = body_with(lim[i].kind, lim[i].max + 1);
        if (decode_str(js, m) == 0)
            fail_msg("%d of kind %c accepted", lim[i].max + 1, lim[i].kind);
        free(js);
    }
    /* A full message survives a round trip. */
    js = body_with('r', CTL_MAX_RANGES);
    assert_int_equal(decode_str(js, m), 0);
    assert_int_equal(m->nranges, CTL_MAX_RANGES);
    m->ts_ms = 1;
    roundtrip(m, NULL);
    free(js);
    free(m);
}

/* ------------------------------------------------------------ builders */

static void test_set_flow(void **state)
{
    struct ctl_msg *m = msg_new(CTL_DONE, SID);
    char q[80];
    int i;

    (void)state;
    assert_int_equal(m->nflows, 0);
    assert_int_equal(ctl_find_flow(m, "sink.0", "transactions"), -1);
    assert_int_equal(ctl_set_flow(m, "sink.0", "transactions", 3), 0);
    assert_int_equal(ctl_set_flow(m, "sink.0", "transactions", 5), 0);
    assert_int_equal(m->nflows, 1);
    assert_int_equal(m->flows[0].n, 5);
    assert_int_equal(ctl_set_flow(m, "sink.0", "users", 1), 0);
    assert_int_equal(ctl_find_flow(m, "sink.0", "users"), 1);
    assert_int_equal(ctl_set_flow(m, "sink.1", "x", -1), -1);
    assert_int_equal(ctl_set_flow(m, "sink.1", "x", CTL_COUNT_MAX + 1), -1);
    memset(q, 'q', sizeof(q) - 1);
    q[sizeof(q) - 1] = '\0';
    assert_int_equal(ctl_set_flow(m, q, "x", 1), -1);
    assert_int_equal(ctl_set_flow(m, "sink.1", q, 1), -1);
    assert_int_equal(m->nflows, 2);
    for (i = 2; i < CTL_MAX_FLOWS; i++) {
        snprintf(q, sizeof(q), "q.%d", i);
        assert_int_equal(ctl_set_flow(m, q, "x", i), 0);
    }
    assert_int_equal(ctl_set_flow(m, "one", "more", 1), -1);
    assert_int_equal(ctl_begin_flow(m, "one", "more"), -1);
    /* Full, but an existing flow can still be set again. */
    assert_int_equal(ctl_set_flow(m, "sink.0", "transactions", 7), 0);
    assert_int_equal(m->flows[0].n, 7);
    assert_int_equal(m->nflows, CTL_MAX_FLOWS);
    free(m);
}

static void test_ranges_and_rejs(void **state)
{
    struct ctl_msg *m = msg_new(CTL_REPORT, SID);
    int i;

    (void)state;
    assert_int_equal(ctl_add_range(m, 0, 1), -1); /* no flow begun */
    assert_int_equal(ctl_add_rej(m, 0, 1), -1);
    assert_int_equal(ctl_begin_flow(m, "filter.users", "users"), 0);
    assert_int_equal(ctl_add_range(m, 5, 4), -1);
    assert_int_equal(ctl_add_range(m, -1, 4), -1);
    assert_int_equal(ctl_add_range(m, 0, IDSET_MAX_SEQ), -1);
    assert_int_equal(ctl_add_rej(m, -1, 1), -1);
    assert_int_equal(ctl_add_rej(m, IDSET_MAX_SEQ, 1), -1);
    assert_int_equal(ctl_add_rej(m, 1, -1), -1);
    assert_int_equal(ctl_add_rej(m, 1, CTL_COUNT_MAX + 1), -1);
    assert_int_equal(
        m->nranges + m->nrejs + m->flows[0].nranges + m->flows[0].nrej, 0);
    for (i = 0; i < CTL_MAX_RANGES; i++)
        assert_int_equal(ctl_add_range(m, 2 * i, 2 * i), 0);
    assert_int_equal(ctl_add_range(m, 0, 0), -1);
    for (i = 0; i < CTL_MAX_REJS; i++)
        assert_int_equal(ctl_add_rej(m, i, 1), 0);
    assert_int_equal(ctl_add_rej(m, 0, 1), -1);
    assert_int_equal(m->flows[0].nranges, CTL_MAX_RANGES);
    assert_int_equal(m->flows[0].nrej, CTL_MAX_REJS);
    /* A new message starts empty. */
    ctl_init(m, CTL_REPORT, SID);
    assert_int_equal(
        m->nflows + m->nranges + m->nrejs + m->nrejected + m->nsessions, 0);
    free(m);
}

static void test_rejected_and_sessions(void **state)
{
    struct ctl_msg *m = msg_new(CTL_FINISH, SID);
    char name[80];
    int i;

    (void)state;
    assert_int_equal(ctl_get_rejected(m, "users"), 0);
    assert_int_equal(ctl_add_rejected(m, "users", 2), 0);
    assert_int_equal(ctl_add_rejected(m, "users", 3), 0);
    assert_int_equal(ctl_get_rejected(m, "users"), 5);
    assert_int_equal(m->nrejected, 1);
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    assert_int_equal(ctl_add_rejected(m, name, 1), -1);
    for (i = 1; i < CTL_MAX_REJECTED; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        assert_int_equal(ctl_add_rejected(m, name, i), 0);
    }
    assert_int_equal(ctl_add_rejected(m, "full", 1), -1);
    assert_int_equal(ctl_add_rejected(m, "users", 1), 0);
    assert_int_equal(ctl_get_rejected(m, "users"), 6);

    ctl_init(m, CTL_HELLO, NULL);
    assert_int_equal(
        ctl_add_session(m, "0123456789012345678901234567890123456789"), -1);
    assert_int_equal(
        ctl_add_session(m, "012345678901234567890123456789012345678"), 0);
    assert_int_equal(m->nsessions, 1);
    free(m);
}

static void test_new_and_names(void **state)
{
    struct ctl_msg *m = msg_new(CTL_ABORT, SID);

    (void)state;
    assert_int_equal(m->type, CTL_ABORT);
    assert_string_equal(m->session, SID);
    assert_string_equal(m->reason, "");
    assert_int_equal(m->ts_ms, 0);
    assert_int_equal(
        m->nflows + m->nranges + m->nrejs + m->nrejected + m->nsessions, 0);
    ctl_init(m, CTL_SHUTDOWN, NULL);
    assert_string_equal(m->session, "");
    free(m);
    assert_string_equal(ctl_type_name(CTL_SESSION_START), "session_start");
    assert_string_equal(ctl_type_name(CTL_REPORT), "report");
    assert_string_equal(ctl_type_name(CTL_HELLO), "hello");
    assert_string_equal(ctl_type_name(CTL_NTYPES), "?");
}

/* ------------------------------------------------------------ plan */

static void test_plan(void **state)
{
    struct plan p;
    char err[128], q[64], key[64];

    (void)state;
    assert_int_equal(
        plan_init(&p, "filter=3,agg-q2=2,sink=4", err, sizeof(err)), 0);
    assert_int_equal(p.replicas[PLAN_FILTER], 3);
    assert_int_equal(p.replicas[PLAN_AGG_Q3], 1);
    assert_int_equal(plan_nqueues(&p, PLAN_FILTER), PLAN_NTABLES);
    assert_int_equal(plan_nqueues(&p, PLAN_SINK), 4);
    assert_int_equal(plan_nqueues(&p, PLAN_GATEWAY), 0);
    plan_queue_key(&p, PLAN_FILTER, PLAN_T_USERS, key, sizeof(key));
    plan_queue(PLAN_FILTER, key, q, sizeof(q));
    assert_string_equal(q, "filter.users");
    plan_queue_key(&p, PLAN_AGG_Q2, 1, key, sizeof(key));
    plan_queue(PLAN_AGG_Q2, key, q, sizeof(q));
    assert_string_equal(q, "agg-q2.1");
    assert_int_not_equal(plan_init(&p, "bogus=2", err, sizeof(err)), 0);
    assert_int_not_equal(plan_init(&p, "gateway=2", err, sizeof(err)), 0);
    assert_int_not_equal(plan_init(&p, "filter=0", err, sizeof(err)), 0);
    assert_int_not_equal(plan_init(&p, "filter=33", err, sizeof(err)), 0);
    assert_int_not_equal(plan_init(&p, "filter", err, sizeof(err)), 0);
    assert_true(plan_upstream(PLAN_SINK) & (1u << PLAN_AGG_Q4));
    assert_false(plan_stage_sharded(PLAN_FILTER));
    assert_true(plan_stage_sharded(PLAN_SINK));
    assert_true(plan_shard_u64(12345, 3) < 3);
    assert_int_equal(plan_shard_session("abc", 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_done_and_finish),
        cmocka_unit_test(test_roundtrip_report),
        cmocka_unit_test(test_roundtrip_hello),
        cmocka_unit_test(test_roundtrip_other_types),
        cmocka_unit_test(test_ts),
        cmocka_unit_test(test_decode_wire_examples),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_decode_limits),
        cmocka_unit_test(test_set_flow),
        cmocka_unit_test(test_ranges_and_rejs),
        cmocka_unit_test(test_rejected_and_sessions),
        cmocka_unit_test(test_new_and_names),
        cmocka_unit_test(test_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
