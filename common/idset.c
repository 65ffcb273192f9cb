/*
 * idset.c - bitmap set of int64 seqs (see idset.h).
 *
 * Bit i of words[i / 64] stands for seq i. Bulk operations (ranges, union,
 * run counting) work a 64-bit word at a time, so merging a report of a
 * million consecutive seqs costs about 16 000 word operations, not a million
 * bit operations. `count` is kept up to date with popcounts of the bits each
 * operation newly sets, so idset_count is O(1).
 */
#include "idset.h"

#include <stdlib.h>
#include <string.h>

#define WORD_BITS 64
#define MAX_WORDS ((size_t)(IDSET_MAX_SEQ / WORD_BITS))
#define MIN_WORDS 16 /* 1024 seqs: small sets do not realloc per batch */

/* Bits [lo, hi] of one word (0 <= lo <= hi <= 63). */
static uint64_t bit_span(unsigned lo, unsigned hi)
{
    uint64_t upto_hi = hi == 63 ? ~UINT64_C(0) : (UINT64_C(1) << (hi + 1)) - 1;

    return upto_hi & (~UINT64_C(0) << lo);
}

static bool in_range(int64_t seq)
{
    return seq >= 0 && seq < IDSET_MAX_SEQ;
}

/* Makes words[0..need-1] exist (new words zeroed). Doubling keeps a run of
 * growing adds amortised O(1). Returns 0 or -1 (s unchanged). */
static int reserve(struct idset *s, size_t need)
{
    size_t n = s->nwords ? s->nwords : MIN_WORDS;
    uint64_t *w;

    if (need <= s->nwords)
        return 0;
    while (n < need)
        n *= 2;
    if (n > MAX_WORDS)
        n = MAX_WORDS;
    w = realloc(s->words, n * sizeof(*w));
    if (w == NULL)
        return -1;
    memset(w + s->nwords, 0, (n - s->nwords) * sizeof(*w));
    s->words = w;
    s->nwords = n;
    return 0;
}

void idset_init(struct idset *s)
{
    s->words = NULL;
    s->nwords = 0;
    s->count = 0;
}

void idset_fini(struct idset *s)
{
    free(s->words);
    idset_init(s);
}

void idset_clear(struct idset *s)
{
    if (s->nwords != 0)
        memset(s->words, 0, s->nwords * sizeof(*s->words));
    s->count = 0;
}

int idset_add(struct idset *s, int64_t seq)
{
    size_t wi;
    uint64_t bit;

    if (!in_range(seq))
        return -1;
    wi = (size_t)seq / WORD_BITS;
    if (reserve(s, wi + 1) != 0)
        return -1;
    bit = UINT64_C(1) << (seq % WORD_BITS);
    if (s->words[wi] & bit)
        return 0;
    s->words[wi] |= bit;
    s->count++;
    return 1;
}

int64_t idset_add_range(struct idset *s, int64_t lo, int64_t hi)
{
    size_t wlo, whi, i;
    int64_t added = 0;

    if (lo > hi || !in_range(lo) || !in_range(hi))
        return -1;
    wlo = (size_t)lo / WORD_BITS;
    whi = (size_t)hi / WORD_BITS;
    if (reserve(s, whi + 1) != 0)
        return -1;
    for (i = wlo; i <= whi; i++) {
        unsigned b0 = i == wlo ? (unsigned)(lo % WORD_BITS) : 0;
        unsigned b1 = i == whi ? (unsigned)(hi % WORD_BITS) : WORD_BITS - 1;
        uint64_t fresh = bit_span(b0, b1) & ~s->words[i];

        added += __builtin_popcountll(fresh);
        s->words[i] |= fresh;
    }
    s->count += added;
    return added;
}

/* Number of words up to the last non-zero one (allocation may be larger). */
static size_t used_words(const struct idset *s)
{
    size_t n = s->nwords;

    while (n > 0 && s->words[n - 1] == 0)
        n--;
    return n;
}

int64_t idset_union(struct idset *s, const struct idset *from)
{
    size_t n = used_words(from), i;
    int64_t added = 0;

    if (reserve(s, n) != 0)
        return -1;
    for (i = 0; i < n; i++) {
        uint64_t fresh = from->words[i] & ~s->words[i];

        added += __builtin_popcountll(fresh);
        s->words[i] |= fresh;
    }
    s->count += added;
    return added;
}

bool idset_has(const struct idset *s, int64_t seq)
{
    size_t wi;

    if (!in_range(seq))
        return false;
    wi = (size_t)seq / WORD_BITS;
    return wi < s->nwords && (s->words[wi] >> (seq % WORD_BITS) & 1) != 0;
}

int64_t idset_max(const struct idset *s)
{
    size_t n = used_words(s);

    if (n == 0)
        return -1;
    return (int64_t)(n - 1) * WORD_BITS + 63 - __builtin_clzll(s->words[n - 1]);
}

bool idset_is_prefix(const struct idset *s, int64_t n)
{
    size_t full, i;
    unsigned rest;

    /* n members all below n means exactly {0..n-1}; checking the low bits
     * stops at the first hole instead of scanning the whole allocation. */
    if (n < 0 || s->count != n || (size_t)n > s->nwords * WORD_BITS)
        return false;
    full = (size_t)n / WORD_BITS;
    rest = (unsigned)(n % WORD_BITS);
    for (i = 0; i < full; i++)
        if (s->words[i] != ~UINT64_C(0))
            return false;
    return rest == 0 ||
           (s->words[full] & bit_span(0, rest - 1)) == bit_span(0, rest - 1);
}

/* First seq >= from whose bit equals `set`, or nwords * 64 if none. */
static int64_t find_bit(const struct idset *s, int64_t from, bool set)
{
    size_t i = (size_t)from / WORD_BITS;
    uint64_t w;

    if (i >= s->nwords)
        return (int64_t)s->nwords * WORD_BITS;
    w = (set ? s->words[i] : ~s->words[i]) &
        (~UINT64_C(0) << (from % WORD_BITS));
    while (w == 0) {
        if (++i == s->nwords)
            return (int64_t)s->nwords * WORD_BITS;
        w = set ? s->words[i] : ~s->words[i];
    }
    return (int64_t)i * WORD_BITS + __builtin_ctzll(w);
}

bool idset_next_range(const struct idset *s, int64_t from, int64_t *lo,
                      int64_t *hi)
{
    int64_t end = (int64_t)s->nwords * WORD_BITS, a;

    if (from < 0)
        from = 0;
    if (from >= end)
        return false;
    a = find_bit(s, from, true);
    /* from inside a run: that run starts before from, so it is skipped */
    if (a == from && a > 0 && idset_has(s, a - 1))
        a = find_bit(s, find_bit(s, a, false), true);
    if (a >= end)
        return false;
    *lo = a;
    *hi = find_bit(s, a, false) - 1;
    return true;
}

size_t idset_nranges(const struct idset *s)
{
    size_t i, runs = 0;
    uint64_t carry = 0; /* top bit of the previous word */

    /* A run starts at every set bit whose lower neighbour is clear. */
    for (i = 0; i < s->nwords; i++) {
        uint64_t w = s->words[i];

        runs += (size_t)__builtin_popcountll(w & ~((w << 1) | carry));
        carry = w >> 63;
    }
    return runs;
}
