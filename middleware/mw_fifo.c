/*
 * mw_fifo.c - the bounded-by-prefetch FIFO of deliveries that arrived but
 * were not handed out by mw_next yet, and the reusable byte buffers that
 * keep the hot path free of per-message malloc.
 *
 * Slots own their body buffers; handing a message out swaps buffers with
 * the caller-visible `cur` message instead of copying the body.
 */
#include <stdlib.h>
#include <string.h>

#include "mw_internal.h"

int mw_buf_reserve(uint8_t **buf, size_t *cap, size_t need)
{
    uint8_t *p;
    size_t want;

    if (*cap > MW_BIG_BUF && need <= MW_BIG_BUF) {
        free(*buf);
        *buf = NULL;
        *cap = 0;
    }
    if (need <= *cap && *buf != NULL)
        return MW_OK;
    want = need < 4096 ? 4096 : need;
    if (*cap * 2 > want && want < MW_BIG_BUF)
        want = *cap * 2 < MW_BIG_BUF ? *cap * 2 : MW_BIG_BUF;
    /* realloc would copy the old contents, which nobody needs. */
    p = malloc(want);
    if (p == NULL)
        return MW_ERR_NOMEM;
    free(*buf);
    *buf = p;
    *cap = want;
    return MW_OK;
}

int mw_fifo_init(struct mw_fifo *q, unsigned cap)
{
    memset(q, 0, sizeof(*q));
    if (cap == 0)
        cap = 1;
    q->v = calloc(cap, sizeof(*q->v));
    if (q->v == NULL)
        return MW_ERR_NOMEM;
    q->cap = cap;
    return MW_OK;
}

void mw_fifo_fini(struct mw_fifo *q)
{
    unsigned i;

    if (q->v == NULL)
        return;
    for (i = 0; i < q->cap; i++)
        free(q->v[i].body);
    free(q->v);
    memset(q, 0, sizeof(*q));
}

/* Doubles the slot array, unrolling the ring so head becomes 0. */
static int fifo_grow(struct mw_fifo *q)
{
    struct mw_msg *nv;
    unsigned ncap = q->cap * 2, i;

    nv = calloc(ncap, sizeof(*nv));
    if (nv == NULL)
        return MW_ERR_NOMEM;
    for (i = 0; i < q->cap; i++)
        nv[i] = q->v[(q->head + i) % q->cap];
    free(q->v);
    q->v = nv;
    q->head = 0;
    q->cap = ncap;
    return MW_OK;
}

struct mw_msg *mw_fifo_reserve(struct mw_fifo *q)
{
    struct mw_msg *m;

    if (q->count == q->cap && fifo_grow(q) != MW_OK)
        return NULL;
    m = &q->v[(q->head + q->count) % q->cap];
    m->len = 0;
    m->tag = 0;
    m->redelivered = false;
    m->lz4 = false;
    m->raw_len = -1;
    m->queue[0] = '\0';
    memset(&m->meta, 0, sizeof(m->meta));
    q->reserved = true;
    return m;
}

void mw_fifo_commit(struct mw_fifo *q)
{
    q->count++;
    q->reserved = false;
}

void mw_fifo_pop_swap(struct mw_fifo *q, struct mw_msg *out)
{
    struct mw_msg tmp = q->v[q->head];

    q->v[q->head] = *out;
    *out = tmp;
    q->head = (q->head + 1) % q->cap;
    q->count--;
    /* Empty and no slot half filled by the frame reader (it sits at
     * head + count): restart at slot 0, so the same few buffers are reused
     * instead of one more slot's buffer growing per burst. */
    if (q->count == 0 && !q->reserved)
        q->head = 0;
}

void mw_fifo_clear(struct mw_fifo *q)
{
    q->head = 0;
    q->count = 0;
    q->reserved = false;
}
