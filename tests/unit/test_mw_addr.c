/*
 * test_mw_addr.c - the broker address list (AMQP_URL with one URL or a
 * comma-separated list): parsing, blanks, bad items, the start index and
 * the rotation; and cfg_mask_url masking every password of a list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cfg.h"
#include "mw_internal.h"

#include <stdlib.h>
#include <string.h>

static void test_one_url(void **state)
{
    struct mw_conn c;

    (void)state;
    memset(&c, 0, sizeof(c));
    assert_int_equal(mw_addr_parse(&c, "amqp://u:secret@h1:5673/"), MW_OK);
    assert_int_equal(c.naddr, 1);
    assert_int_equal(c.at, 0);
    assert_string_equal(mw_addr_cur(&c)->info.host, "h1");
    assert_int_equal(mw_addr_cur(&c)->info.port, 5673);
    assert_string_equal(mw_addr_cur(&c)->info.vhost, "/");
    assert_string_equal(mw_addr_cur(&c)->masked, "amqp://u:***@h1:5673/");
    mw_addr_next(&c);
    assert_int_equal(c.at, 0);
    mw_addr_free(&c);
}

static void test_list_rotates(void **state)
{
    struct mw_conn c;
    int i, start;
    bool seen[3] = {false, false, false};

    (void)state;
    memset(&c, 0, sizeof(c));
    assert_int_equal(mw_addr_parse(&c, "amqp://u:p@a:1/, amqp://u:p@b:2/v ,"
                                       "\tamqp://u:p@c:3/"),
                     MW_OK);
    assert_int_equal(c.naddr, 3);
    assert_string_equal(c.addr[0].info.host, "a");
    assert_string_equal(c.addr[1].info.host, "b");
    assert_string_equal(c.addr[1].info.vhost, "v");
    assert_int_equal(c.addr[2].info.port, 3);
    assert_int_equal(c.up_addr, -1);
    start = c.at;
    assert_true(start >= 0 && start < 3);
    for (i = 0; i < 3; i++) {
        seen[c.at] = true;
        mw_addr_next(&c);
    }
    assert_int_equal(c.at, start);
    assert_true(seen[0] && seen[1] && seen[2]);
    mw_addr_free(&c);
}

static void test_bad_lists(void **state)
{
    static const char *bad[] = {
        "",
        "amqp://u:p@a:1/,",
        ",amqp://u:p@a:1/",
        "amqp://u:p@a:1/,,amqp://u:p@b:1/",
        "amqp://u:p@a:1/, ,amqp://u:p@b:1/",
        "amqp://u:p@a:1/,amqps://u:p@b:1/",
        "amqp://u:p@a:1/,http://b/",
    };
    struct mw_conn c;
    char many[2048] = "";
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&c, 0, sizeof(c));
        assert_int_equal(mw_addr_parse(&c, bad[i]), MW_ERR_ARG);
        mw_addr_free(&c);
    }
    for (i = 0; i <= MW_MAX_ADDRS; i++)
        strcat(many, i == 0 ? "amqp://h/" : ",amqp://h/");
    memset(&c, 0, sizeof(c));
    assert_int_equal(mw_addr_parse(&c, many), MW_ERR_ARG);
    mw_addr_free(&c);
}

static void test_mask_list(void **state)
{
    char out[256];

    (void)state;
    cfg_mask_url("amqp://u:pw@a:1/", out, sizeof(out));
    assert_string_equal(out, "amqp://u:***@a:1/");
    cfg_mask_url("amqp://u:pw@a:1/,amqp://v:pw2@b:2/,amqp://c/", out,
                 sizeof(out));
    assert_string_equal(out, "amqp://u:***@a:1/,amqp://v:***@b:2/,amqp://c/");
    cfg_mask_url("amqp://u:pw@a:1/,amqp://v:pw2@b:2/", out, 20);
    assert_null(strstr(out, "pw"));
    cfg_mask_url("plain", out, sizeof(out));
    assert_string_equal(out, "plain");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_url),
        cmocka_unit_test(test_list_rotates),
        cmocka_unit_test(test_bad_lists),
        cmocka_unit_test(test_mask_list),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
