/*
 * test_cp_stages.c - the control plane's stages view (controlplane/
 * stages.c): replica events applied, alive within 3 s, restarts counted
 * with totals that never go down, late events of an old process ignored,
 * malformed events refused, other events passed on, queue depths, the
 * /api/stages JSON and the metrics text. Pure: no sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "controlplane/stages.h"
#include "err.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1800000000000LL

static struct cp_stages *make(const char *spec)
{
    struct plan p;
    struct cp_stages *s;

    assert_int_equal(plan_init(&p, spec, NULL, 0), 0);
    s = cp_stages_create(&p);
    assert_non_null(s);
    return s;
}

static int ev(struct cp_stages *s, const char *stage, int replica, long pid,
              long long started, long long msgs_in, int64_t now)
{
    char buf[512];

    snprintf(buf, sizeof(buf),
             "{\"type\":\"replica\",\"stage\":\"%s\",\"replica\":%d,"
             "\"pid\":%ld,\"started_ms\":%lld,\"msgs_in\":%lld,"
             "\"bytes_in\":%lld,\"msgs_out\":%lld,\"bytes_out\":7,"
             "\"busy_ms\":1500,\"sessions\":2,\"ts_ms\":%lld}",
             stage, replica, pid, started, msgs_in, msgs_in * 100, msgs_in * 2,
             (long long)now);
    return cp_stages_apply(s, buf, strlen(buf), now);
}

static cJSON *render(struct cp_stages *s, int64_t now)
{
    char *text = cp_stages_json(s, now);
    cJSON *doc;

    assert_non_null(text);
    doc = cJSON_Parse(text);
    free(text);
    assert_non_null(doc);
    return doc;
}

static const cJSON *stage(const cJSON *doc, const char *name)
{
    const cJSON *st;

    cJSON_ArrayForEach(st, cJSON_GetObjectItem(doc, "stages")) {
        if (strcmp(cJSON_GetObjectItem(st, "stage")->valuestring, name) == 0)
            return st;
    }
    fail_msg("stage %s not listed", name);
    return NULL;
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(o, name);

    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static const cJSON *replica(const cJSON *st, int i)
{
    const cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "replicas"), i);

    assert_non_null(r);
    assert_int_equal((int)num(r, "replica"), i);
    return r;
}

static void test_slots_from_plan(void **state)
{
    struct cp_stages *s = make("filter=3,agg-q2=2,sink=2");
    cJSON *doc = render(s, T0);
    const cJSON *f = stage(doc, "filter");

    (void)state;
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "stages")), 6);
    assert_int_equal((int)num(f, "replicas_expected"), 3);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(f, "replicas")), 3);
    assert_int_equal((int)num(f, "alive"), 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(replica(f, 2), "alive")));
    assert_true(
        cJSON_IsNull(cJSON_GetObjectItem(replica(f, 2), "last_seen_ms")));
    /* five filter queues, one per agg-q2 and sink replica, none known yet */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(f, "queues")), 5);
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItem(stage(doc, "agg-q2"), "queues")),
        2);
    assert_int_equal((int)num(stage(doc, "agg-q3"), "replicas_expected"), 1);
    assert_int_equal((int)num(stage(doc, "gateway"), "replicas_expected"), 0);
    assert_int_equal(cp_stages_nqueues(s), 5 + 2 + 1 + 1 + 2);
    assert_string_equal(cp_stages_queue(s, 0), "filter.transactions");
    assert_string_equal(cp_stages_queue(s, 10), "sink.1");
    assert_null(cp_stages_queue(s, 11));
    cJSON_Delete(doc);
    cp_stages_destroy(s);
}

static void test_alive_and_counters(void **state)
{
    struct cp_stages *s = make("filter=2");
    cJSON *doc;
    const cJSON *f, *r;

    (void)state;
    assert_int_equal(ev(s, "filter", 1, 42, T0 - 10, 5, T0), 0);
    doc = render(s, T0 + CP_STAGES_ALIVE_MS);
    f = stage(doc, "filter");
    r = replica(f, 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "alive")));
    assert_int_equal((int)num(r, "pid"), 42);
    assert_int_equal((int)num(r, "msgs_in"), 5);
    assert_int_equal((int)num(r, "bytes_in"), 500);
    assert_int_equal((int)num(r, "msgs_out"), 10);
    assert_int_equal((int)num(r, "sessions"), 2);
    assert_float_equal(num(r, "busy_s"), 1.5, 1e-9);
    assert_true(num(r, "last_seen_ms") == (double)T0);
    assert_int_equal((int)num(f, "alive"), 1);
    assert_int_equal((int)num(f, "msgs_in"), 5);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(replica(f, 0), "alive")));
    cJSON_Delete(doc);
    /* silent for longer than CP_STAGES_ALIVE_MS: not alive any more */
    doc = render(s, T0 + CP_STAGES_ALIVE_MS + 1);
    f = stage(doc, "filter");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(replica(f, 1), "alive")));
    assert_int_equal((int)num(f, "alive"), 0);
    assert_int_equal((int)num(f, "msgs_in"), 5); /* the counts stay */
    cJSON_Delete(doc);
    cp_stages_destroy(s);
}

static void test_restart(void **state)
{
    struct cp_stages *s = make("agg-q4=1");
    cJSON *doc;
    const cJSON *a, *r;

    (void)state;
    assert_int_equal(ev(s, "agg-q4", 0, 10, T0, 7, T0), 0);
    assert_int_equal(ev(s, "agg-q4", 0, 10, T0, 9, T0 + 1000), 0);
    /* a new process in the slot: a restart, its counters from 0 */
    assert_int_equal(ev(s, "agg-q4", 0, 11, T0 + 5000, 1, T0 + 6000), 0);
    /* a late event of the old process changes nothing */
    assert_int_equal(ev(s, "agg-q4", 0, 10, T0, 9, T0 + 6100), 0);
    doc = render(s, T0 + 6200);
    a = stage(doc, "agg-q4");
    r = replica(a, 0);
    assert_int_equal((int)num(r, "restarts"), 1);
    assert_int_equal((int)num(r, "pid"), 11);
    assert_int_equal((int)num(r, "msgs_in"), 1);
    assert_int_equal((int)num(a, "restarts"), 1);
    assert_int_equal((int)num(a, "msgs_in"), 10); /* 9 + 1: never down */
    assert_float_equal(num(a, "busy_s"), 3.0, 1e-9);
    cJSON_Delete(doc);
    /* the same pid with another start (pid reused) is a restart too */
    assert_int_equal(ev(s, "agg-q4", 0, 11, T0 + 9000, 0, T0 + 9000), 0);
    doc = render(s, T0 + 9000);
    assert_int_equal((int)num(stage(doc, "agg-q4"), "restarts"), 2);
    cJSON_Delete(doc);
    cp_stages_destroy(s);
}

static void test_extra_slots_and_gateway(void **state)
{
    struct cp_stages *s = make("");
    cJSON *doc;

    (void)state;
    assert_int_equal(ev(s, "gateway", 0, 5, T0, 3, T0), 0);
    assert_int_equal(ev(s, "sink", 3, 6, T0, 3, T0), 0); /* beyond the plan */
    doc = render(s, T0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
                         stage(doc, "gateway"), "replicas")),
                     1);
    assert_int_equal((int)num(stage(doc, "gateway"), "alive"), 1);
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItem(stage(doc, "sink"), "replicas")),
        4);
    assert_int_equal((int)num(stage(doc, "sink"), "replicas_expected"), 1);
    cJSON_Delete(doc);
    cp_stages_destroy(s);
}

static int gw_ev(struct cp_stages *s, const char *id, long pid, int64_t now)
{
    char buf[512];

    snprintf(buf, sizeof(buf),
             "{\"type\":\"replica\",\"stage\":\"gateway\",\"replica\":0,"
             "\"id\":\"%s\",\"pid\":%ld,\"started_ms\":%lld,"
             "\"msgs_in\":3,\"bytes_in\":30,\"msgs_out\":3,\"bytes_out\":30,"
             "\"busy_ms\":1,\"sessions\":1}",
             id, pid, (long long)now);
    return cp_stages_apply(s, buf, strlen(buf), now);
}

/* Gateways have no index: one slot per id, in the order first seen. */
static void test_gateway_ids(void **state)
{
    struct cp_stages *s = make("");
    const cJSON *g;
    cJSON *doc;

    (void)state;
    assert_int_equal(gw_ev(s, "gw-a", 1, T0), 0);
    assert_int_equal(gw_ev(s, "gw-b", 2, T0), 0);
    assert_int_equal(gw_ev(s, "gw-a", 3, T0 + 10), 0); /* gw-a restarted */
    assert_int_equal(gw_ev(s, "bad id\\\"", 4, T0), CS_ERR_ARG);
    assert_int_equal(gw_ev(s, "", 4, T0), CS_ERR_ARG);
    doc = render(s, T0 + 10);
    g = stage(doc, "gateway");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(g, "replicas")), 2);
    assert_string_equal(cJSON_GetObjectItem(replica(g, 0), "id")->valuestring,
                        "gw-a");
    assert_int_equal((int)num(replica(g, 0), "restarts"), 1);
    assert_int_equal((int)num(replica(g, 0), "pid"), 3);
    assert_string_equal(cJSON_GetObjectItem(replica(g, 1), "id")->valuestring,
                        "gw-b");
    assert_int_equal((int)num(g, "alive"), 2);
    assert_int_equal((int)num(g, "msgs_in"), 9); /* 3 + 3 (earlier) + 3 */
    assert_string_equal(
        cJSON_GetObjectItem(replica(stage(doc, "filter"), 0), "id")
            ->valuestring,
        "");
    cJSON_Delete(doc);
    cp_stages_destroy(s);
}

static void test_malformed_and_other(void **state)
{
    struct cp_stages *s = make("");
    static const char *const bad[] = {
        "{\"type\":\"replica\",\"stage\":\"nope\",\"replica\":0,\"pid\":1,"
        "\"started_ms\":1,\"msgs_in\":0,\"bytes_in\":0,\"msgs_out\":0,"
        "\"bytes_out\":0,\"busy_ms\":0,\"sessions\":0}",
        "{\"type\":\"replica\",\"stage\":\"filter\",\"replica\":32,\"pid\":1,"
        "\"started_ms\":1,\"msgs_in\":0,\"bytes_in\":0,\"msgs_out\":0,"
        "\"bytes_out\":0,\"busy_ms\":0,\"sessions\":0}",
        "{\"type\":\"replica\",\"stage\":\"filter\",\"replica\":0,\"pid\":1,"
        "\"started_ms\":1,\"msgs_in\":-1,\"bytes_in\":0,\"msgs_out\":0,"
        "\"bytes_out\":0,\"busy_ms\":0,\"sessions\":0}",
        "{\"type\":\"replica\",\"stage\":\"filter\",\"replica\":0,\"pid\":1,"
        "\"started_ms\":1,\"msgs_in\":0,\"bytes_in\":0,\"msgs_out\":0,"
        "\"bytes_out\":0,\"sessions\":0}",
    };
    static const char *const other[] = {"{\"type\":\"session\",\"id\":\"x\"}",
                                        "not json", "[1,2]", "{}"};
    cJSON *doc;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cp_stages_apply(s, bad[i], strlen(bad[i]), T0),
                         CS_ERR_ARG);
    for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        assert_int_equal(cp_stages_apply(s, other[i], strlen(other[i]), T0),
                         CP_STAGES_OTHER);
    doc = render(s, T0);
    assert_int_equal((int)num(stage(doc, "filter"), "alive"), 0);
    cJSON_Delete(doc);
    cp_stages_destroy(s);
}

static void test_queues_and_metrics(void **state)
{
    struct cp_stages *s = make("filter=2,agg-q2=2");
    const cJSON *q;
    char *text = NULL;
    size_t len = 0;
    cJSON *doc;
    FILE *f;

    (void)state;
    cp_stages_set_queue(s, 0, true, 17, 2);
    cp_stages_set_queue(s, 99, true, 1, 1); /* out of range: ignored */
    assert_int_equal(ev(s, "filter", 0, 1, T0, 4, T0), 0);
    assert_int_equal(ev(s, "filter", 1, 2, T0, 6, T0), 0);
    doc = render(s, T0);
    q = cJSON_GetArrayItem(cJSON_GetObjectItem(stage(doc, "filter"), "queues"),
                           0);
    assert_string_equal(cJSON_GetObjectItem(q, "name")->valuestring,
                        "filter.transactions");
    assert_int_equal((int)num(q, "messages"), 17);
    assert_int_equal((int)num(q, "consumers"), 2);
    q = cJSON_GetArrayItem(cJSON_GetObjectItem(stage(doc, "filter"), "queues"),
                           1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(q, "messages")));
    cJSON_Delete(doc);

    f = open_memstream(&text, &len);
    assert_non_null(f);
    cp_stages_metrics(s, f, T0);
    assert_int_equal(fclose(f), 0);
    assert_non_null(strstr(text, "# TYPE cs_stage_messages_in_total counter\n"
                                 "cs_stage_messages_in_total{stage=\"gateway\"}"
                                 " 0\ncs_stage_messages_in_total{stage="
                                 "\"filter\"} 10\n"));
    assert_non_null(strstr(text, "cs_stage_bytes_in_total{stage=\"filter\"} "
                                 "1000\n"));
    assert_non_null(strstr(text, "cs_stage_busy_seconds_total{stage="
                                 "\"filter\"} 3.000\n"));
    assert_non_null(strstr(text, "cs_stage_replicas{stage=\"agg-q2\"} 2\n"));
    assert_non_null(
        strstr(text, "cs_stage_replicas_alive{stage=\"filter\"} 2\n"));
    assert_non_null(
        strstr(text, "cs_stage_replicas_alive{stage=\"agg-q2\"} 0\n"));
    assert_non_null(
        strstr(text, "cs_stage_restarts_total{stage=\"filter\"} 0\n"));
    assert_non_null(strstr(text, "cs_queue_messages{queue=\"filter."
                                 "transactions\",stage=\"filter\"} 17\n"));
    /* unknown depths are left out, not shown as 0 */
    assert_null(strstr(text, "queue=\"filter.users\""));
    free(text);
    cp_stages_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots_from_plan),
        cmocka_unit_test(test_alive_and_counters),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_extra_slots_and_gateway),
        cmocka_unit_test(test_gateway_ids),
        cmocka_unit_test(test_malformed_and_other),
        cmocka_unit_test(test_queues_and_metrics),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
