/*
 * mwt_lz4.h - helpers of the compression cases (mwt_lz4.c): compressible
 * test bodies and a bare rabbitmq-c client (mwt_raw.c) that sees the wire.
 */
#ifndef CS_MWT_LZ4_H
#define CS_MWT_LZ4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One message as the broker holds it. */
struct mwt_wire {
    char encoding[32]; /* content_encoding, "" when absent */
    int64_t raw_len;   /* x-raw-len header, -1 when absent */
    int64_t seq;       /* x-seq header, -1 when absent */
    uint8_t *body;     /* malloc'ed copy of the wire bytes: free it */
    size_t len;
};

struct mwt_raw;

/* Connects to $AMQP_URL with channel 1 open. NULL (message printed). */
struct mwt_raw *mwt_raw_open(void);
void mwt_raw_close(struct mwt_raw *r);
/* Publishes `body` as is to `queue` (default exchange) with x-kind data,
 * content_encoding `encoding` (NULL: none) and x-raw-len `raw_len` (< 0:
 * none). 0 or -1. */
int mwt_raw_publish(struct mwt_raw *r, const char *queue, const void *body,
                    size_t len, const char *encoding, int64_t raw_len);
/* basic.get with auto-ack: 1 and *w filled, 0 when the queue is empty, -1
 * on error. */
int mwt_raw_get(struct mwt_raw *r, const char *queue, struct mwt_wire *w);

/* Deterministic CSV-like text (compresses about like the real data).
 * Returns b. */
uint8_t *mwt_csv_fill(uint8_t *b, size_t len, uint64_t seed);

#endif
