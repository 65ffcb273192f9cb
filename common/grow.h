/*
 * grow.h - the one way to grow an array: doubling its capacity, checked
 * against overflow.
 *
 *     if (grow_array((void **)&v->items, &v->cap, v->n + 1, sizeof(*v->items), 8))
 *         return -ENOMEM;
 *     v->items[v->n++] = x;
 */
#ifndef CS_GROW_H
#define CS_GROW_H

#include <stddef.h>

/* Makes *arr (capacity *cap elements of elem bytes) hold at least `need`
 * elements: no-op when it does, else reallocates to the first of first,
 * 2*first, 4*first... that fits. Returns 0, or -1 when out of memory (the
 * array is then unchanged). */
int grow_array(void **arr, size_t *cap, size_t need, size_t elem, size_t first)
    __attribute__((warn_unused_result));

#endif
