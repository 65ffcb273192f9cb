/*
 * reorder.c - in-order delivery of result chunks: a sorted list of the
 * chunks that came ahead of their turn, bounded (see reorder.h).
 */
#include "reorder.h"

#include <stdlib.h>
#include <string.h>

struct gw_chunk {
    int64_t seq;
    size_t len;
    struct gw_chunk *next;
    uint8_t data[];
};

void gw_reorder_init(struct gw_reorder *o, size_t max_pending)
{
    memset(o, 0, sizeof(*o));
    o->max_pending = max_pending;
}

static void drop_popped(struct gw_reorder *o)
{
    free(o->popped);
    o->popped = NULL;
}

void gw_reorder_fini(struct gw_reorder *o)
{
    struct gw_chunk *c, *next;

    for (c = o->pending; c; c = next) {
        next = c->next;
        free(c);
    }
    o->pending = NULL;
    o->npending = 0;
    drop_popped(o);
}

enum gw_ro_verdict gw_reorder_offer(struct gw_reorder *o, int64_t seq,
                                    const uint8_t *data, size_t len)
{
    struct gw_chunk **pp = &o->pending, *c;

    drop_popped(o);
    if (seq < o->next)
        return GW_RO_DUPLICATE;
    if (seq == o->next) {
        o->next++;
        return GW_RO_DELIVER;
    }
    while (*pp && (*pp)->seq < seq)
        pp = &(*pp)->next;
    if (*pp && (*pp)->seq == seq)
        return GW_RO_DUPLICATE;
    if (o->npending >= o->max_pending)
        return GW_RO_FULL;
    c = malloc(sizeof(*c) + len);
    if (c == NULL)
        return GW_RO_NOMEM;
    c->seq = seq;
    c->len = len;
    if (len > 0)
        memcpy(c->data, data, len);
    c->next = *pp;
    *pp = c;
    o->npending++;
    return GW_RO_KEPT;
}

bool gw_reorder_pop(struct gw_reorder *o, const uint8_t **data, size_t *len)
{
    struct gw_chunk *c = o->pending;

    drop_popped(o);
    if (c == NULL || c->seq != o->next)
        return false;
    o->pending = c->next;
    o->npending--;
    o->next++;
    o->popped = c;
    *data = c->data;
    *len = c->len;
    return true;
}

bool gw_reorder_has_gaps(const struct gw_reorder *o)
{
    return o->npending > 0;
}
