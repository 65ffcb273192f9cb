/*
 * test_client_view.c - the text of the client's control plane commands
 * (client/view.c): durations and times, overall progress, the sessions
 * table (newest first, unknown fields as "-"), one session's details, id
 * prefixes, safe result file names and the split of a command's arguments.
 * Pure: JSON in, text out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client/view.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define ID_A "0b7e6a52-4a31-4d6e-9a7e-3f2b1c0d9e8f"
#define ID_B "0b7e9999-4a31-4d6e-9a7e-3f2b1c0d9e8f"
#define ID_C "c0ffee00-1111-4222-8333-444455556666"
#define T0 1795999039000LL /* 2026-11-30 ... UTC */

/* A session: done with results (A), draining (B), streaming without the
 * fields the lead adds later (C). */
static const char *LIST =
    "{\"sessions\":["
    "{\"type\":\"session\",\"id\":\"" ID_C "\",\"gateway\":\"gw-a\","
    "\"state\":\"streaming\",\"started_ms\":1795999099000,\"ended_ms\":null,"
    "\"error\":\"\",\"stages\":[{\"stage\":\"filter\",\"state\":\"waiting\","
    "\"processed\":0,\"expected\":0,\"percent\":0}],\"rejected\":{}},"
    "{\"type\":\"session\",\"id\":\"" ID_A "\",\"gateway\":\"gw-a\","
    "\"client\":\"alice\",\"data_folder\":\"dev\",\"rows_sent\":1234,"
    "\"bytes_sent\":99999,\"state\":\"done\",\"started_ms\":1795999039000,"
    "\"ended_ms\":1795999041500,\"error\":\"\",\"stages\":["
    "{\"stage\":\"filter\",\"state\":\"complete\",\"processed\":58,"
    "\"expected\":58,\"percent\":100},"
    "{\"stage\":\"sink\",\"state\":\"complete\",\"processed\":4,"
    "\"expected\":4,\"percent\":100}],"
    "\"rejected\":{\"transactions\":26,\"users\":10},"
    "\"results\":[{\"file\":\"q1.csv\",\"rows\":17,\"bytes\":900,"
    "\"url\":\"/api/sessions/" ID_A "/results/q1.csv\"}]},"
    "{\"type\":\"session\",\"id\":\"" ID_B "\",\"gateway\":\"gw-b\","
    "\"client\":\"bob-with-a-very-long-client-name\",\"state\":\"draining\","
    "\"started_ms\":1795999069000,\"ended_ms\":null,\"error\":\"\","
    "\"stages\":[{\"stage\":\"filter\",\"state\":\"complete\","
    "\"processed\":10,\"expected\":10,\"percent\":100},"
    "{\"stage\":\"agg-q3\",\"state\":\"draining\",\"processed\":1,"
    "\"expected\":4,\"percent\":25}],\"rejected\":{}}"
    "]}";

static cJSON *root;

static const cJSON *sessions(void)
{
    return cJSON_GetObjectItemCaseSensitive(root, "sessions");
}

static const cJSON *nth(int i)
{
    return cJSON_GetArrayItem(sessions(), i);
}

static int setup(void **state)
{
    (void)state;
    root = cJSON_Parse(LIST);
    return root ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cJSON_Delete(root);
    return 0;
}

static void test_duration_and_time(void **state)
{
    char s[32];

    (void)state;
    cv_fmt_duration(-1, s, sizeof(s));
    assert_string_equal(s, "-");
    cv_fmt_duration(850, s, sizeof(s));
    assert_string_equal(s, "850ms");
    cv_fmt_duration(12345, s, sizeof(s));
    assert_string_equal(s, "12.3s");
    cv_fmt_duration(245000, s, sizeof(s));
    assert_string_equal(s, "4m05s");
    cv_fmt_duration(7380000, s, sizeof(s));
    assert_string_equal(s, "2h03m");
    cv_fmt_time(0, s, sizeof(s));
    assert_string_equal(s, "-");
    cv_fmt_time(86400000LL + 3723000LL, s, sizeof(s));
    assert_string_equal(s, "1970-01-02 01:02:03");
}

static void test_progress_and_activity(void **state)
{
    cJSON *bare = cJSON_Parse("{\"state\":\"draining\"}");

    (void)state;
    assert_int_equal(cv_overall_percent(nth(0)), 0);   /* streaming */
    assert_int_equal(cv_overall_percent(nth(1)), 100); /* done */
    assert_int_equal(cv_overall_percent(nth(2)), 62);  /* (100 + 25) / 2 */
    assert_int_equal(cv_overall_percent(bare), -1);
    assert_true(cv_session_active(nth(0)));
    assert_false(cv_session_active(nth(1)));
    assert_true(cv_any_active(sessions()));
    assert_int_equal(cv_session_duration_ms(nth(1), 0), 2500);
    assert_int_equal(cv_session_duration_ms(nth(2), T0 + 31000), 1000);
    assert_int_equal(cv_session_duration_ms(bare, T0), -1);
    cJSON_Delete(bare);
}

static void test_table_newest_first(void **state)
{
    struct cv_buf b = {0};
    const char *t, *c, *bb, *a;

    (void)state;
    cv_sessions_table(&b, sessions(), T0 + 62000, false);
    assert_false(b.oom);
    t = cv_text(&b);
    assert_non_null(strstr(t, "ID            CLIENT"));
    c = strstr(t, "c0ffee00-111 ");
    bb = strstr(t, "0b7e9999-4a3 ");
    a = strstr(t, "0b7e6a52-4a3 ");
    assert_non_null(c);
    assert_non_null(bb);
    assert_non_null(a);
    assert_true(c < bb && bb < a); /* by started_ms, not the input order */
    assert_non_null(strstr(a, "alice"));
    assert_non_null(strstr(a, "done"));
    assert_non_null(strstr(a, "2.5s"));
    assert_non_null(strstr(a, "100%"));
    assert_non_null(strstr(a, "1234\n"));
    /* the long name is cut to its column; unknown client and rows are - */
    assert_non_null(strstr(bb, "bob-with-a-very-long  draining"));
    assert_null(strstr(t, "client-name"));
    assert_non_null(strstr(c, "-                     streaming"));
    assert_non_null(strstr(c, "0%             -\n"));
    cv_buf_fini(&b);
    cv_sessions_table(&b, sessions(), T0, true);
    assert_non_null(strstr(cv_text(&b), ID_A "  alice"));
    cv_buf_fini(&b);
}

static void test_table_empty(void **state)
{
    struct cv_buf b = {0};
    cJSON *empty = cJSON_CreateArray();

    (void)state;
    cv_sessions_table(&b, empty, T0, false);
    assert_non_null(strstr(cv_text(&b), "\nno sessions\n"));
    assert_false(cv_any_active(empty));
    cv_buf_fini(&b);
    cJSON_Delete(empty);
}

static void test_detail(void **state)
{
    struct cv_buf b = {0};
    const char *t;

    (void)state;
    cv_session_detail(&b, nth(1), T0);
    t = cv_text(&b);
    assert_non_null(strstr(t, "session     " ID_A "\n"));
    assert_non_null(strstr(t, "client      alice\n"));
    assert_non_null(strstr(t, "data        dev\n"));
    assert_non_null(strstr(t, "state       done\n"));
    assert_non_null(strstr(t, "duration    2.5s\n"));
    assert_non_null(strstr(t, "progress    100 %\n"));
    assert_non_null(strstr(t, "sent        1234 rows, 99999 bytes\n"));
    assert_null(strstr(t, "error"));
    assert_non_null(strstr(t, "filter      complete             58    "
                              "        58      100%\n"));
    assert_non_null(strstr(t, "transactions                  26\n"));
    assert_non_null(strstr(t, "total                         36\n"));
    assert_non_null(strstr(t, "q1.csv                              17  "
                              "         900\n"));
    cv_buf_fini(&b);
    cv_session_detail(&b, nth(0), T0 + 61000);
    t = cv_text(&b);
    assert_non_null(strstr(t, "client      -\n"));
    assert_non_null(strstr(t, "ended       -\n"));
    assert_non_null(strstr(t, "sent        - rows, - bytes\n"));
    assert_non_null(strstr(t, "results     archived once the session is "
                              "done\n"));
    cv_buf_fini(&b);
}

static void test_detail_error(void **state)
{
    cJSON *s = cJSON_Parse("{\"id\":\"x\",\"state\":\"failed\",\"error\":"
                           "\"agg-q3 had no live replica\",\"stages\":[]}");
    struct cv_buf b = {0};

    (void)state;
    cv_session_detail(&b, s, T0);
    assert_non_null(
        strstr(cv_text(&b), "error       agg-q3 had no live replica\n"));
    assert_non_null(strstr(cv_text(&b), "results     archived once"));
    cv_buf_fini(&b);
    cJSON_Delete(s);
}

static void test_find_session(void **state)
{
    const cJSON *s;

    (void)state;
    assert_int_equal(cv_find_session(sessions(), ID_A, &s), CV_FOUND);
    assert_ptr_equal(s, nth(1));
    assert_int_equal(cv_find_session(sessions(), "c0f", &s), CV_FOUND);
    assert_ptr_equal(s, nth(0));
    assert_int_equal(cv_find_session(sessions(), "0b7e", &s), CV_AMBIGUOUS);
    assert_int_equal(cv_find_session(sessions(), "0b7e6", &s), CV_FOUND);
    assert_ptr_equal(s, nth(1));
    assert_int_equal(cv_find_session(sessions(), "ffff", &s), CV_NONE);
    assert_null(s);
    assert_int_equal(cv_find_session(sessions(), "", &s), CV_NONE);
}

static void test_safe_file_name(void **state)
{
    (void)state;
    assert_true(cv_safe_file_name("q1.csv"));
    assert_true(cv_safe_file_name("q2_best_selling.csv"));
    assert_true(cv_safe_file_name("rejected-rows.json"));
    assert_false(cv_safe_file_name(""));
    assert_false(cv_safe_file_name(".hidden"));
    assert_false(cv_safe_file_name(".."));
    assert_false(cv_safe_file_name("../q1.csv"));
    assert_false(cv_safe_file_name("a/b.csv"));
    assert_false(cv_safe_file_name("q1 .csv"));
}

static void test_split_args(void **state)
{
    const char *url, *out;
    bool json;
    const struct cfg_opt opts[] = {
        {"CONTROLPLANE_URL", "controlplane", CFG_STR, "x", 0, 0, false, "",
         &url},
        {NULL, "json", CFG_BOOL, "0", 0, 0, false, "", &json},
        {NULL, "out", CFG_STR, NULL, 0, 0, false, "", &out},
    };
    char *argv[] = {"results", "--json",         "--out",
                    "abc123",  "--controlplane", "http://h:1",
                    "abc",     "--out=d",        NULL};
    char *argv2[] = {"status", "a", "b", NULL};
    char *argv3[] = {"status", "--", "--odd", NULL};
    char *rest[16];
    const char *pos[2];

    (void)state;
    assert_int_equal(cv_split_args(opts, 3, 8, argv, rest, pos, 1), 1);
    assert_string_equal(pos[0], "abc"); /* not --out's value abc123 */
    assert_string_equal(rest[0], "results");
    assert_string_equal(rest[1], "--json");
    assert_string_equal(rest[2], "--out");
    assert_string_equal(rest[3], "abc123");
    assert_string_equal(rest[4], "--controlplane");
    assert_string_equal(rest[5], "http://h:1");
    assert_string_equal(rest[6], "--out=d");
    assert_null(rest[7]);
    assert_int_equal(cv_split_args(opts, 3, 3, argv2, rest, pos, 1), -1);
    assert_int_equal(cv_split_args(opts, 3, 3, argv2, rest, pos, 2), 2);
    assert_int_equal(cv_split_args(opts, 3, 3, argv3, rest, pos, 1), 1);
    assert_string_equal(pos[0], "--odd");
    assert_null(rest[1]);
}

static void test_json_int(void **state)
{
    cJSON *j = cJSON_Parse("[12.9, -3, 1e300, -1e300, \"7\", null]");

    (void)state;
    assert_int_equal(cv_json_int(cJSON_GetArrayItem(j, 0), -1), 12);
    assert_int_equal(cv_json_int(cJSON_GetArrayItem(j, 1), -1), -3);
    assert_int_equal(cv_json_int(cJSON_GetArrayItem(j, 2), -1), -1);
    assert_int_equal(cv_json_int(cJSON_GetArrayItem(j, 3), -1), -1);
    assert_int_equal(cv_json_int(cJSON_GetArrayItem(j, 4), -1), -1);
    assert_int_equal(cv_json_int(cJSON_GetArrayItem(j, 5), -1), -1);
    assert_int_equal(cv_json_int(NULL, 5), 5);
    cJSON_Delete(j);
}

static void test_buf_grows(void **state)
{
    struct cv_buf b = {0};
    int i;

    (void)state;
    assert_string_equal(cv_text(&b), "");
    for (i = 0; i < 1000; i++)
        cv_printf(&b, "%04d\n", i);
    assert_int_equal(b.len, 5000);
    assert_memory_equal(b.p + 4995, "0999\n", 5);
    cv_buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_and_time),
        cmocka_unit_test(test_progress_and_activity),
        cmocka_unit_test(test_table_newest_first),
        cmocka_unit_test(test_table_empty),
        cmocka_unit_test(test_detail),
        cmocka_unit_test(test_detail_error),
        cmocka_unit_test(test_find_session),
        cmocka_unit_test(test_safe_file_name),
        cmocka_unit_test(test_split_args),
        cmocka_unit_test(test_json_int),
        cmocka_unit_test(test_buf_grows),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
