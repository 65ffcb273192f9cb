/*
 * fuzz_ctl.c - libFuzzer harness for the JSON control messages
 * (common/ctl.c, cJSON): ctl_decode() on arbitrary bodies; a body it
 * accepts must encode and decode again to the same encoding.
 */
#include "ctl.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ctl_msg m, m2;
    char *e1, *e2;
    size_t n1, n2;

    if (ctl_decode(data, size, &m) != 0)
        return 0;
    e1 = ctl_encode(&m, &n1);
    if (e1 == NULL)
        return 0;
    if (ctl_decode((const uint8_t *)e1, n1, &m2) != 0)
        abort();
    e2 = ctl_encode(&m2, &n2);
    if (e2 == NULL || n1 != n2 || memcmp(e1, e2, n1) != 0)
        abort();
    free(e1);
    free(e2);
    return 0;
}
