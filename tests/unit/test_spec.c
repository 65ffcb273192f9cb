/*
 * test_spec.c - the local monitor's spec file (monitor/spec.h): a full
 * slot, defaults, and every way a spec is refused (with the reason).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "monitor/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_full_and_defaults(void **state)
{
    const char *json =
        "{\"slots\": ["
        " {\"name\": \"agg-q2-1\", \"argv\": [\"build/bin/aggregator\", "
        "\"--x\", \"\"],"
        "  \"env\": {\"CS_STAGE\": \"agg-q2\", \"CS_REPLICA_ID\": \"1\", "
        "\"EMPTY\": \"\"},"
        "  \"cwd\": \"/srv\", \"log\": \"/tmp/a.log\"},"
        " {\"name\": \"monitor-2\", \"argv\": [\"/bin/monitor\"]}]}";
    char err[160];
    struct spec *s = spec_parse(json, err, sizeof(err));

    (void)state;
    assert_non_null(s);
    assert_int_equal(s->n, 2);
    assert_string_equal(s->slots[0].name, "agg-q2-1");
    assert_string_equal(s->slots[0].argv[0], "build/bin/aggregator");
    assert_string_equal(s->slots[0].argv[2], "");
    assert_null(s->slots[0].argv[3]);
    assert_string_equal(s->slots[0].env[0], "CS_STAGE=agg-q2");
    assert_string_equal(s->slots[0].env[1], "CS_REPLICA_ID=1");
    assert_string_equal(s->slots[0].env[2], "EMPTY=");
    assert_null(s->slots[0].env[3]);
    assert_string_equal(s->slots[0].cwd, "/srv");
    assert_string_equal(s->slots[0].log, "/tmp/a.log");
    assert_null(s->slots[1].env[0]);
    assert_null(s->slots[1].cwd);
    assert_null(s->slots[1].log);
    spec_free(s);
    spec_free(NULL);
}

static void test_refused(void **state)
{
    static const struct {
        const char *json, *why;
    } bad[] = {
        {"{", "not valid JSON"},
        {"{\"slots\": []}", "at least one slot"},
        {"{\"slot\": [{\"name\": \"a\", \"argv\": [\"x\"]}]}",
         "at least one slot"},
        {"{\"slots\": [{\"argv\": [\"x\"]}]}", "needs a \"name\""},
        {"{\"slots\": [{\"name\": \"a b\", \"argv\": [\"x\"]}]}",
         "needs a \"name\""},
        {"{\"slots\": [{\"name\": \"a\"}]}", "non-empty array"},
        {"{\"slots\": [{\"name\": \"a\", \"argv\": []}]}", "non-empty array"},
        {"{\"slots\": [{\"name\": \"a\", \"argv\": [\"\"]}]}", "argv[0]"},
        {"{\"slots\": [{\"name\": \"a\", \"argv\": [\"x\", 3]}]}", "argv[1]"},
        {"{\"slots\": [{\"name\": \"a\", \"argv\": [\"x\"], \"env\": {\"A\": "
         "1}}]}",
         "env 'A'"},
        {"{\"slots\": [{\"name\": \"a\", \"argv\": [\"x\"], \"env\": "
         "[\"A=1\"]}]}",
         "object"},
        {"{\"slots\": [{\"name\": \"a\", \"argv\": [\"x\"], \"evn\": {}}]}",
         "unknown key \"evn\""},
        {"{\"slots\": [{\"name\": \"a\", \"argv\": [\"x\"], \"cwd\": 5}]}",
         "\"cwd\""},
        {"{\"slots\": [{\"name\": \"a\", \"argv\": [\"x\"]}, {\"name\": \"a\", "
         "\"argv\": [\"y\"]}]}",
         "listed twice"},
    };
    char err[160];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_null(spec_parse(bad[i].json, err, sizeof(err)));
        if (strstr(err, bad[i].why) == NULL)
            fail_msg("case %zu: '%s' does not say '%s'", i, err, bad[i].why);
    }
}

static void test_load(void **state)
{
    char path[] = "/tmp/cs-test-spec.XXXXXX", err[256];
    const char *json =
        "{\"slots\": [{\"name\": \"x\", \"argv\": [\"/bin/true\"]}]}";
    struct spec *s;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    assert_int_equal(close(fd), 0);
    s = spec_load(path, err, sizeof(err));
    assert_non_null(s);
    assert_string_equal(s->slots[0].name, "x");
    spec_free(s);
    assert_int_equal(unlink(path), 0);
    assert_null(spec_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_and_defaults),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_load),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
