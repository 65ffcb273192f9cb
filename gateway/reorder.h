/*
 * reorder.h - in-order delivery of one result file's chunks (pure: no I/O,
 * no locks, no logging). The sink numbers a file's chunks from 0; the broker
 * may redeliver (duplicates) or, after a reconnect, deliver out of order
 * (gaps). A chunk that is next in line is delivered at once; one ahead of
 * its turn is kept (sorted, at most max_pending of them) until the gap
 * closes; one already delivered is a duplicate.
 *
 * Use: switch on gw_reorder_offer(); on GW_RO_DELIVER send the chunk you
 * offered, then send every chunk gw_reorder_pop() hands out.
 */
#ifndef CS_GW_REORDER_H
#define CS_GW_REORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gw_chunk;

struct gw_reorder {
    int64_t next;             /* next chunk index to deliver */
    struct gw_chunk *pending; /* chunks ahead of their turn, sorted by seq */
    size_t npending, max_pending;
    struct gw_chunk *popped; /* handed out by the last gw_reorder_pop */
};

enum gw_ro_verdict {
    GW_RO_DELIVER,   /* next in line: deliver it now (next has advanced) */
    GW_RO_DUPLICATE, /* delivered before, or already kept: drop it */
    GW_RO_KEPT,      /* ahead of its turn: copied, delivered by a later pop */
    GW_RO_FULL,      /* ahead of its turn but max_pending are kept: dropped */
    GW_RO_NOMEM,     /* ahead of its turn, no memory to keep it: dropped */
};

/* Caller's storage; nothing to deliver yet, expects chunk 0. */
void gw_reorder_init(struct gw_reorder *o, size_t max_pending);

/* Frees the kept chunks (and the last popped one). */
void gw_reorder_fini(struct gw_reorder *o);

/* Offers chunk seq (data borrowed for the call; copied when kept). */
enum gw_ro_verdict gw_reorder_offer(struct gw_reorder *o, int64_t seq,
                                    const uint8_t *data, size_t len);

/* Takes the kept chunk that is now next in line: true with *data, *len
 * (valid until the next call on o), false when the next one is missing. */
bool gw_reorder_pop(struct gw_reorder *o, const uint8_t **data, size_t *len);

/* True while chunks are kept behind a gap. */
bool gw_reorder_has_gaps(const struct gw_reorder *o);

#endif
