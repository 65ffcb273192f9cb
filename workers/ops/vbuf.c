/*
 * vbuf.c - growable byte buffer (see vbuf.h).
 */
#include "vbuf.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

#define VBUF_MIN_CAP 256

void vbuf_init(struct vbuf *b)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void vbuf_fini(struct vbuf *b)
{
    free(b->p);
    vbuf_init(b);
}

int vbuf_reserve(struct vbuf *b, size_t extra)
{
    size_t need = b->len + extra, cap = b->cap ? b->cap : VBUF_MIN_CAP;
    uint8_t *p;

    if (need < b->len)
        return CS_ERR_NOMEM;
    if (need <= b->cap)
        return 0;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return CS_ERR_NOMEM;
        cap *= 2;
    }
    p = realloc(b->p, cap);
    if (p == NULL)
        return CS_ERR_NOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

int vbuf_append(struct vbuf *b, const void *s, size_t n)
{
    if (n == 0)
        return 0;
    if (vbuf_reserve(b, n) != 0)
        return CS_ERR_NOMEM;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

void *vbuf_push(struct vbuf *b, size_t n)
{
    void *r;

    if (vbuf_reserve(b, n) != 0)
        return NULL;
    r = b->p + b->len;
    memset(r, 0, n);
    b->len += n;
    return r;
}
