/*
 * fuzz_field.c - libFuzzer harness for the field parsers (common/field.c):
 * every parser on the same bytes, with their contracts checked: integers
 * in 0..999999999, a parsed decimal prints back (field_fmt_min1) to a text
 * that parses to the same value, timestamps within their ranges, and the
 * money formats on arbitrary 64-bit values stay inside their buffers.
 */
#include "field.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct field_ts ts;
    char out[64];
    int64_t v, w;
    int n;

    if (field_int(s, size, &v) && (v < 0 || v > 999999999))
        abort();
    if (field_dec(s, size, &v)) {
        if (v < 0 || v > 999999999999LL)
            abort();
        n = field_fmt_min1(v, out);
        if (n <= 0 || n >= 32 || !field_dec(out, (size_t)n, &w) || w != v)
            abort();
    }
    if (field_ts(s, size, &ts) &&
        (ts.month < 1 || ts.month > 12 || ts.day < 1 || ts.day > 31 ||
         ts.sec_of_day < 0 || ts.sec_of_day > 86399 || !field_date(s, 10)))
        abort();
    if (field_user_id(s, size, &v) && (v < -1 || v > 999999999))
        abort();
    (void)field_date(s, size);
    if (size >= 8) {
        uint64_t u = 0;

        memcpy(&u, data, 8);
        /* Sums of money stay far from the int64 edges; the formats must
         * still be safe on any value a sum can take. */
        v = (int64_t)(u >> 2) * ((data[0] & 1) ? -1 : 1);
        if (field_fmt_min1(v, out) >= 32 || field_fmt_2(v, out) >= 32 ||
            field_fmt_int(v, out) >= 24)
            abort();
    }
    return 0;
}
