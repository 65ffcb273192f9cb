/* test_err.c - the one error space (err.h): every value has its own
 * non-empty message, the layers' ranges are disjoint from -errno, and the
 * layers' enums (mw.h, coord.h) are values of the space, not copies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "coordinator/coord.h"
#include "err.h"
#include "mw.h"

struct entry {
    const char *name;
    int value;
};

static const struct entry all[] = {
#define ENTRY(name, value, msg) {#name, CS_ERR_##name},
    CS_ERR_MAP(ENTRY)
#undef ENTRY
};

#define NALL (sizeof(all) / sizeof(all[0]))

static void test_every_value_distinct_message(void **state)
{
    size_t i, j;

    (void)state;
    for (i = 0; i < NALL; i++) {
        const char *m = cs_strerror(all[i].value);

        assert_true(all[i].value < -CS_ERR_ERRNO_MAX); /* not an errno */
        assert_non_null(m);
        assert_true(m[0] != '\0');
        if (strcmp(m, "unknown error") == 0 || strcmp(m, "success") == 0)
            fail_msg("CS_ERR_%s has no message of its own", all[i].name);
        for (j = 0; j < i; j++) {
            if (all[j].value == all[i].value)
                fail_msg("CS_ERR_%s and CS_ERR_%s share %d", all[j].name,
                         all[i].name, all[i].value);
            if (strcmp(cs_strerror(all[j].value), m) == 0)
                fail_msg("CS_ERR_%s and CS_ERR_%s share the message \"%s\"",
                         all[j].name, all[i].name, m);
        }
    }
}

static void test_errno_and_unknown(void **state)
{
    (void)state;
    assert_string_equal(cs_strerror(0), "success");
    assert_string_equal(cs_strerror(-ENOSPC), strerror(ENOSPC));
    assert_string_equal(cs_strerror(-EIO), strerror(EIO));
    assert_string_equal(cs_strerror(1), "unknown error");
    assert_string_equal(cs_strerror(CS_ERR_BASE_COMMON), "unknown error");
    assert_string_equal(cs_strerror(-100000), "unknown error");
}

/* The layers' codes are values of the space: one text, whoever logs it. */
static void test_layers_map_into_the_space(void **state)
{
    static const int mw[] = {
        MW_ERR_ARG,         MW_ERR_CONNECT, MW_ERR_CLOSED,   MW_ERR_UNROUTABLE,
        MW_ERR_NACK,        MW_ERR_TIMEOUT, MW_ERR_PROTOCOL, MW_ERR_NOMEM,
        MW_ERR_INTERRUPTED, MW_ERR_STALE};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(mw) / sizeof(mw[0]); i++) {
        assert_string_equal(mw_strerror(mw[i]), cs_strerror(mw[i]));
        assert_string_not_equal(cs_strerror(mw[i]), "unknown error");
    }
    assert_int_equal(MW_OK, CS_OK);
    assert_int_equal(MW_ERR_NOMEM, CS_ERR_NOMEM);
    assert_int_equal(COORD_ERR_NOMEM, CS_ERR_NOMEM);
    assert_string_not_equal(cs_strerror(COORD_ERR_EMIT), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_value_distinct_message),
        cmocka_unit_test(test_errno_and_unknown),
        cmocka_unit_test(test_layers_map_into_the_space),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
