/*
 * test_batcher.c - CSV record boundaries (quotes, CRLF, embedded newlines,
 * records split across reads, last line without newline) and batch packing
 * (size limit, too-long lines, blank lines).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "batcher.h"

#include <stdio.h>
#include <string.h>

/* Scans all of `in` at once; writes records joined by '|' into out. */
static int scan_all(const char *in, char *out, size_t outsz, uint64_t *lines,
                    int nlines)
{
    struct batcher_scan s;
    struct batcher_rec r;
    size_t len = strlen(in), used = 0;
    int n = 0, rc;

    batcher_scan_init(&s, 2);
    out[0] = '\0';
    for (;;) {
        rc = batcher_scan_next(&s, in, len, &r);
        if (rc == 0)
            rc = batcher_scan_last(&s, in, len, &r);
        if (rc <= 0)
            break;
        if (n < nlines)
            lines[n] = r.line;
        used += (size_t)snprintf(out + used, outsz - used, "%s%.*s",
                                 n ? "|" : "", (int)r.len, in + r.off);
        n++;
    }
    return rc < 0 ? -1 : n;
}

static void test_plain_lines(void **state)
{
    char out[256];
    uint64_t lines[4];

    (void)state;
    assert_int_equal(scan_all("a,b\nc,d\n", out, sizeof(out), lines, 4), 2);
    assert_string_equal(out, "a,b|c,d");
    assert_int_equal(lines[0], 2);
    assert_int_equal(lines[1], 3);
}

static void test_crlf_and_no_final_newline(void **state)
{
    char out[256];
    uint64_t lines[4];

    (void)state;
    assert_int_equal(scan_all("a,b\r\nc,d\r\ne,f", out, sizeof(out), lines, 4),
                     3);
    assert_string_equal(out, "a,b|c,d|e,f");
    assert_int_equal(scan_all("x\r\n\r\ny\r\n", out, sizeof(out), lines, 4), 3);
    assert_string_equal(out, "x||y"); /* the blank line is a (empty) record */
}

static void test_quotes(void **state)
{
    const char *in = "1,\"Cafe, \"\"Best\"\"\",x\n"
                     "2,\"two\nlines\r\nthree\",y\r\n"
                     "3,\"\",z\n";
    char out[256];
    uint64_t lines[4];

    (void)state;
    assert_int_equal(scan_all(in, out, sizeof(out), lines, 4), 3);
    assert_string_equal(out, "1,\"Cafe, \"\"Best\"\"\",x|"
                             "2,\"two\nlines\r\nthree\",y|3,\"\",z");
    assert_int_equal(lines[0], 2);
    assert_int_equal(lines[1], 3);
    assert_int_equal(lines[2], 6); /* record 2 spans physical lines 3-5 */
}

static void test_unterminated_quote(void **state)
{
    char out[256];
    uint64_t lines[4];

    (void)state;
    assert_int_equal(
        scan_all("1,ok\n2,\"open\n3,x\n", out, sizeof(out), lines, 4), -1);
    assert_string_equal(out, "1,ok");
}

/* Feeding the input in pieces, with the caller compacting its buffer the
 * way the client does, gives the same records as one piece. */
static void test_split_reads(void **state)
{
    const char *in = "a,\"b\nc\",d\r\ne,f\n\"g\"\"h\",i\nlast";
    size_t total = strlen(in), step;

    (void)state;
    for (step = 1; step <= total; step++) {
        struct batcher_scan s;
        struct batcher_rec r;
        char buf[64], out[128];
        size_t len = 0, fed = 0, used = 0;
        int n = 0;

        batcher_scan_init(&s, 1);
        out[0] = '\0';
        while (fed < total || len > 0) {
            size_t k = total - fed < step ? total - fed : step;

            memcpy(buf + len, in + fed, k);
            len += k;
            fed += k;
            while (batcher_scan_next(&s, buf, len, &r) == 1) {
                used +=
                    (size_t)snprintf(out + used, sizeof(out) - used, "%s%.*s",
                                     n ? "|" : "", (int)r.len, buf + r.off);
                n++;
            }
            if (fed == total) {
                if (batcher_scan_last(&s, buf, len, &r) == 1) {
                    used += (size_t)snprintf(out + used, sizeof(out) - used,
                                             "|%.*s", (int)r.len, buf + r.off);
                    n++;
                }
                break;
            }
            memmove(buf, buf + s.start, len - s.start);
            len -= s.start;
            batcher_scan_shift(&s, s.start);
        }
        assert_int_equal(n, 4);
        assert_string_equal(out, "a,\"b\nc\",d|e,f|\"g\"\"h\",i|last");
        assert_int_equal(s.line, 6);
    }
}

static void test_batch_limits(void **state)
{
    struct batcher b;

    (void)state;
    assert_int_equal(batcher_init(&b, 10, 4), 0);
    assert_int_equal(batcher_add(&b, "abcd", 4), BATCHER_ADDED); /* 5 bytes */
    assert_int_equal(batcher_add(&b, "", 0), BATCHER_ADDED);     /* skipped */
    assert_int_equal(batcher_add(&b, "efgh", 4), BATCHER_ADDED); /* 10 bytes */
    assert_int_equal(b.rows, 2);
    assert_int_equal(b.len, 10);
    assert_memory_equal(batcher_data(&b), "abcd\nefgh\n", 10);
    assert_int_equal(batcher_add(&b, "i", 1), BATCHER_FULL);
    assert_int_equal(batcher_add(&b, "0123456789", 10), BATCHER_TOO_LONG);
    batcher_clear(&b);
    assert_int_equal(b.rows, 0);
    assert_int_equal(batcher_add(&b, "012345678", 9),
                     BATCHER_ADDED); /* exactly */
    assert_int_equal(b.len, 10);
    batcher_fini(&b);
}

static void test_count_records(void **state)
{
    bool q = false;

    (void)state;
    assert_int_equal(batcher_count_records(&q, "h\na\nb\n", 6), 3);
    assert_false(q);
    assert_int_equal(batcher_count_records(&q, "x,\"a\n", 5), 0);
    assert_true(q);
    assert_int_equal(batcher_count_records(&q, "b\",c\nd\n", 7), 2);
    assert_false(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_lines),
        cmocka_unit_test(test_crlf_and_no_final_newline),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_unterminated_quote),
        cmocka_unit_test(test_split_reads),
        cmocka_unit_test(test_batch_limits),
        cmocka_unit_test(test_count_records),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
