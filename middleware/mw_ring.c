/*
 * mw_ring.c - copies of published but not yet confirmed messages, in
 * publish order, so a reconnect can republish them.
 *
 * With publisher confirms the broker numbers a channel's publishes 1, 2, 3...
 * and acks them (possibly with `multiple`, possibly out of order). Slot i
 * from the head always has seq head_seq + i, so an ack finds its slot in
 * O(1); confirmed slots are released once everything before them is.
 * The slots and their body buffers are reused: no malloc per message.
 */
#include <stdlib.h>
#include <string.h>

#include "mw_internal.h"

int mw_ring_init(struct mw_ring *r, unsigned cap)
{
    memset(r, 0, sizeof(*r));
    if (cap == 0)
        return MW_ERR_ARG;
    r->slot = calloc(cap, sizeof(*r->slot));
    if (r->slot == NULL)
        return MW_ERR_NOMEM;
    r->cap = cap;
    r->next_seq = 1;
    return MW_OK;
}

void mw_ring_fini(struct mw_ring *r)
{
    unsigned i;

    if (r->slot == NULL)
        return;
    for (i = 0; i < r->cap; i++)
        free(r->slot[i].body);
    free(r->slot);
    memset(r, 0, sizeof(*r));
}

void mw_ring_reset(struct mw_ring *r)
{
    r->head = 0;
    r->count = 0;
    r->next_seq = 1;
}

void mw_ring_trim(struct mw_ring *r)
{
    unsigned i;

    for (i = r->count; i < r->cap; i++) {
        struct mw_pending *p = mw_ring_at(r, i);

        free(p->body);
        p->body = NULL;
        p->cap = 0;
    }
}

bool mw_ring_full(const struct mw_ring *r)
{
    return r->count == r->cap;
}

unsigned mw_ring_count(const struct mw_ring *r)
{
    return r->count;
}

struct mw_pending *mw_ring_at(struct mw_ring *r, unsigned i)
{
    return &r->slot[(r->head + i) % r->cap];
}

static void copy_str(char *dst, const char *src)
{
    size_t n = strnlen(src, MW_SHORTSTR - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

int mw_ring_push(struct mw_ring *r, const char *exchange, const char *key,
                 const struct mw_meta *meta, const void *body, size_t len,
                 struct mw_pending **out)
{
    struct mw_pending *p;
    int rc;

    if (mw_ring_full(r))
        return MW_ERR_ARG;
    p = mw_ring_at(r, r->count);
    rc = mw_buf_reserve(&p->body, &p->cap, len);
    if (rc != MW_OK)
        return rc;
    if (len > 0)
        memcpy(p->body, body, len);
    p->len = len;
    p->raw_len = 0;
    copy_str(p->exchange, exchange);
    copy_str(p->key, key);
    if (meta != NULL)
        p->meta = *meta;
    else
        memset(&p->meta, 0, sizeof(p->meta));
    p->seq = r->next_seq++;
    p->done = false;
    r->count++;
    *out = p;
    return MW_OK;
}

/* Releases confirmed slots at the head. */
static void release_confirmed(struct mw_ring *r)
{
    struct mw_pending *p;

    while (r->count > 0) {
        p = mw_ring_at(r, 0);
        if (!p->done)
            break;
        if (p->cap > MW_BIG_BUF) {
            free(p->body);
            p->body = NULL;
            p->cap = 0;
        }
        r->head = (r->head + 1) % r->cap;
        r->count--;
    }
    /* Empty: start again at slot 0, so a process that publishes little
     * keeps reusing the same few buffers instead of growing one more per
     * flush until the whole window is allocated. */
    if (r->count == 0)
        r->head = 0;
}

unsigned mw_ring_confirm(struct mw_ring *r, uint64_t tag, bool multiple)
{
    uint64_t head_seq, upto;
    unsigned i, n = 0;
    struct mw_pending *p;

    if (r->count == 0)
        return 0;
    head_seq = mw_ring_at(r, 0)->seq;
    if (multiple && tag == 0)
        tag = head_seq + r->count - 1;
    if (tag < head_seq)
        return 0; /* already confirmed (or from an older channel) */
    upto = tag - head_seq;
    if (upto >= r->count)
        upto = multiple ? r->count - 1 : r->count; /* unknown tag */
    for (i = multiple ? 0 : (unsigned)upto; i <= upto && i < r->count; i++) {
        p = mw_ring_at(r, i);
        if (!p->done) {
            p->done = true;
            n++;
        }
    }
    release_confirmed(r);
    return n;
}

unsigned mw_ring_renumber(struct mw_ring *r)
{
    unsigned i, kept = 0;
    struct mw_pending tmp, *src, *dst;

    for (i = 0; i < r->count; i++) {
        src = mw_ring_at(r, i);
        if (src->done)
            continue;
        dst = mw_ring_at(r, kept);
        if (dst != src) { /* swap so both keep owning one buffer */
            tmp = *dst;
            *dst = *src;
            *src = tmp;
        }
        kept++;
    }
    r->count = kept;
    for (i = 0; i < kept; i++)
        mw_ring_at(r, i)->seq = i + 1;
    r->next_seq = (uint64_t)kept + 1;
    return kept;
}
