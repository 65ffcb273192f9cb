/*
 * batcher.h - cuts CSV bytes into whole records and packs records into
 * batches of bounded size. Pure (no I/O): the client reads files into a
 * buffer, scans records out of it and sends full batches.
 *
 * A record ends at a '\n' outside double quotes (RFC 4180: a quoted field may
 * hold commas, "" and newlines). A record's text excludes its terminator
 * ('\n' or "\r\n"); the batch stores every record followed by a single '\n',
 * so CRLF input goes out as LF and a last line without a newline gets one.
 */
#ifndef CS_BATCHER_H
#define CS_BATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- record scanner over a caller-owned buffer ---- */

struct batcher_scan {
    size_t start;  /* offset of the current (incomplete) record */
    size_t pos;    /* next offset to examine */
    bool quoted;   /* `pos` is inside a quoted field */
    uint64_t line; /* physical line number (1-based) of `start` */
    uint64_t nl;   /* newlines seen inside the current record so far */
};

struct batcher_rec {
    size_t off;    /* record text is buf[off, off + len) */
    size_t len;    /* without the terminator */
    uint64_t line; /* physical line number of its first line */
};

/* Starts scanning at offset 0 of a buffer whose first byte is on physical
 * line `first_line` (e.g. 2 after a header line). */
void batcher_scan_init(struct batcher_scan *s, uint64_t first_line);

/* Finds the next complete record in buf[0, len) after the previous one.
 * Returns 1 with *r filled, or 0 when buf[s->start, len) holds no complete
 * record yet (read more, possibly after batcher_scan_shift). */
int batcher_scan_next(struct batcher_scan *s, const char *buf, size_t len,
                      struct batcher_rec *r);

/* At end of input: returns 1 with the last record when buf[s->start, len)
 * holds one without a final newline, 0 when nothing is left, or -1 when the
 * input ends inside a quoted field. Call after _next() returned 0. */
int batcher_scan_last(struct batcher_scan *s, const char *buf, size_t len,
                      struct batcher_rec *r);

/* The caller moved its buffer's bytes left by n (n <= s->start). */
void batcher_scan_shift(struct batcher_scan *s, size_t n);

/* ---- batch builder ---- */

struct batcher {
    uint8_t *mem;    /* headroom bytes, then the batch */
    size_t headroom; /* reserved in front of the data (e.g. a frame head) */
    size_t limit;    /* max data bytes per batch */
    size_t len;      /* data bytes */
    uint32_t rows;   /* records in the batch */
};

enum batcher_add_result {
    BATCHER_ADDED = 0,
    BATCHER_FULL = 1,    /* does not fit: send the batch, clear, add again */
    BATCHER_TOO_LONG = 2 /* longer than a whole batch: can never be sent */
};

/* Allocates limit + headroom bytes. Returns 0 or -1 (no memory). */
int batcher_init(struct batcher *b, size_t limit, size_t headroom)
    __attribute__((warn_unused_result));
void batcher_fini(struct batcher *b);

/* Appends a record (text without terminator) plus '\n'. An empty record
 * (blank line) is skipped and counts as no row. */
enum batcher_add_result batcher_add(struct batcher *b, const char *rec,
                                    size_t len);

/* Start of the headroom; the data follows at mem + headroom. */
static inline uint8_t *batcher_data(const struct batcher *b)
{
    return b->mem + b->headroom;
}

void batcher_clear(struct batcher *b);

/* ---- counting ---- */

/* Counts the records ending in buf[0, len) ('\n' outside quotes), carrying
 * the quote state across calls in *quoted (start with false). */
uint64_t batcher_count_records(bool *quoted, const void *buf, size_t len);

#endif
