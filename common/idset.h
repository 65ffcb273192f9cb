/*
 * idset.h - a set of message sequence numbers (int64 in [0, IDSET_MAX_SEQ)),
 * as a growable bitmap of 64-bit words.
 *
 * The EOF protocol counts progress as sets of message ids, merged by union:
 * a duplicated, replayed or late report adds nothing, and a restarted
 * replica can neither lower nor double what was counted. Seqs are dense
 * from 0 (batch indexes), so a bitmap is compact (50 000 batches: 6 KiB),
 * and ranges of consecutive seqs make the wire form short.
 *
 * Pure: no I/O. Memory grows with the largest seq added, never with the
 * number of calls.
 */
#ifndef CS_IDSET_H
#define CS_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Seqs at or above this are refused (a malformed or hostile id). */
#define IDSET_MAX_SEQ (INT64_C(1) << 26)

struct idset {
    uint64_t *words; /* bit i of words[i / 64] = seq i is in the set */
    size_t nwords;   /* allocated words */
    int64_t count;   /* number of seqs in the set */
};

/* An empty set (no allocation). */
void idset_init(struct idset *s);

/* Frees the bitmap; the set is empty again (idset_init state). */
void idset_fini(struct idset *s);

/* Removes every seq, keeping the allocation for reuse. */
void idset_clear(struct idset *s);

/* Adds seq. Returns 1 if it was new, 0 if already present, -1 if seq is
 * outside [0, IDSET_MAX_SEQ) or memory ran out (the set is unchanged). */
int idset_add(struct idset *s, int64_t seq) __attribute__((warn_unused_result));

/* Adds every seq of [lo, hi] (inclusive). Returns how many were new, or -1
 * when lo > hi, a bound is out of range or memory ran out (unchanged). */
int64_t idset_add_range(struct idset *s, int64_t lo, int64_t hi)
    __attribute__((warn_unused_result));

/* Adds every seq of `from` to `s` (union). Returns how many were new, or -1
 * when memory ran out (s unchanged). */
int64_t idset_union(struct idset *s, const struct idset *from)
    __attribute__((warn_unused_result));

bool idset_has(const struct idset *s, int64_t seq);

static inline int64_t idset_count(const struct idset *s)
{
    return s->count;
}

/* Largest seq in the set, or -1 when it is empty. */
int64_t idset_max(const struct idset *s);

/* True when the set is exactly {0, 1, ..., n-1} (n == 0: the empty set). */
bool idset_is_prefix(const struct idset *s, int64_t n);

/* The first maximal run of consecutive seqs that starts at or after `from`:
 * returns true and sets [*lo, *hi] (inclusive), or false when there is none.
 * Iterate with from = *hi + 2 (the seq after hi is not in the set). */
bool idset_next_range(const struct idset *s, int64_t from, int64_t *lo,
                      int64_t *hi);

/* Number of maximal runs (the wire size of the set). */
size_t idset_nranges(const struct idset *s);

#endif
