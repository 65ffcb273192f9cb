/*
 * isort.h - stable sort of an index array with a context-aware comparison
 * (C11's qsort has no context argument). The operators sort indices of
 * records, never the records themselves.
 */
#ifndef CS_ISORT_H
#define CS_ISORT_H

#include <stddef.h>
#include <stdint.h>

/* Negative, zero or positive as record a sorts before, with or after b. */
typedef int (*isort_cmp)(const void *ctx, uint32_t a, uint32_t b);

/* Sorts idx[0..n) stably (merge sort). Returns 0 or CS_ERR_NOMEM (idx is
 * then unchanged). */
int isort(uint32_t *idx, size_t n, isort_cmp cmp, const void *ctx)
    __attribute__((warn_unused_result));

#endif
