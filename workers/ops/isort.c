/*
 * isort.c - stable index merge sort (see isort.h).
 */
#include "isort.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

/* Below this size insertion sort beats merging. */
#define ISORT_SMALL 16

static void insertion(uint32_t *a, size_t n, isort_cmp cmp, const void *ctx)
{
    size_t i, j;

    for (i = 1; i < n; i++) {
        uint32_t v = a[i];

        for (j = i; j > 0 && cmp(ctx, a[j - 1], v) > 0; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

/* Sorts a[0..n) using tmp[0..n) as scratch. */
static void msort(uint32_t *a, uint32_t *tmp, size_t n, isort_cmp cmp,
                  const void *ctx)
{
    size_t h = n / 2, i = 0, j = h, k = 0;

    if (n <= ISORT_SMALL) {
        insertion(a, n, cmp, ctx);
        return;
    }
    msort(a, tmp, h, cmp, ctx);
    msort(a + h, tmp, n - h, cmp, ctx);
    if (cmp(ctx, a[h - 1], a[h]) <= 0)
        return; /* already in order */
    while (i < h && j < n)
        tmp[k++] = cmp(ctx, a[j], a[i]) < 0 ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    /* the rest of the right half is already in place */
    memcpy(a, tmp, k * sizeof(*a));
}

int isort(uint32_t *idx, size_t n, isort_cmp cmp, const void *ctx)
{
    uint32_t *tmp;

    if (n <= ISORT_SMALL) {
        insertion(idx, n, cmp, ctx);
        return 0;
    }
    tmp = malloc(n * sizeof(*tmp));
    if (tmp == NULL)
        return CS_ERR_NOMEM;
    msort(idx, tmp, n, cmp, ctx);
    free(tmp);
    return 0;
}
