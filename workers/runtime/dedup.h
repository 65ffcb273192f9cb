/*
 * dedup.h - per-session memory of which (stream, seq) messages were applied
 * and which were counted as processed.
 *
 * A message is "applied" once its handler ran and "counted" once its ack
 * succeeded. They differ after a reconnect: a message applied but whose ack
 * was stale is redelivered; the copy must not be applied again, but its
 * successful ack must be counted, exactly once. Two bits per sequence
 * number, in growable bitmaps per stream (seqs are dense from 0).
 */
#ifndef CS_DEDUP_H
#define CS_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEDUP_MAX_SEQ (1 << 26) /* larger seqs are refused as malformed */

struct dedup_stream;

struct dedup {
    struct dedup_stream *streams;
    size_t n, cap;
};

void dedup_init(struct dedup *d);
void dedup_fini(struct dedup *d);

enum dedup_bit { DEDUP_APPLIED = 0, DEDUP_COUNTED = 1 };

/* Tests the bit of (stream, seq). */
bool dedup_test(const struct dedup *d, const char *stream, int64_t seq,
                enum dedup_bit bit);

/* Sets the bit; returns 0, -1 on a seq outside [0, DEDUP_MAX_SEQ) or no
 * memory. */
int dedup_set(struct dedup *d, const char *stream, int64_t seq,
              enum dedup_bit bit) __attribute__((warn_unused_result));

#endif
