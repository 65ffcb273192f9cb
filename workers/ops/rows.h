/*
 * rows.h - reading the internal text rows the stages exchange.
 *
 * A message body is `\n`-terminated lines (the last `\n` may be missing) of
 * comma-separated fields. Only the last field of a row may be a quoted
 * RFC 4180 field (a store or item name), which may contain commas, quotes
 * and newlines; every other field is plain text without commas.
 * Nothing here allocates; spans point into the caller's body.
 */
#ifndef CS_ROWS_H
#define CS_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A borrowed slice of bytes (not NUL-terminated). */
struct rows_span {
    const char *p;
    size_t n;
};

struct rows_iter {
    const char *p;
    const char *end;
};

/* Iterates the lines of body (borrowed for the iterator's life). */
void rows_iter_init(struct rows_iter *it, const void *body, size_t len);

/* Next non-empty line, without its `\n`; a newline inside a quoted field
 * does not end the line. Returns false at the end of the body. */
bool rows_next(struct rows_iter *it, struct rows_span *line);

/* Splits line at every comma into f[0..max). Returns the field count, or
 * -1 if the line has more than max fields. */
int rows_split(struct rows_span line, struct rows_span *f, int max);

/* Splits line at its first comma: head before it, tail after it (the tail
 * may contain commas). Returns false if the line has no comma. */
bool rows_split1(struct rows_span line, struct rows_span *head,
                 struct rows_span *tail);

/* Strict integer: optional '-', then 1 to 18 digits. */
bool rows_i64(struct rows_span s, int64_t *out);

/* Decodes one CSV field: raw (no quote inside), or quoted with `""` for a
 * quote. Writes the value to out (room for f.n bytes, may alias nothing in
 * f) and its length to *outn. Returns false if the field is malformed. */
bool rows_csv_decode(struct rows_span f, char *out, size_t *outn);

/* True when stream is `name` or `name.<anything>` (e.g. "agg-q2.1" is
 * "agg-q2"): producers may suffix their stream names with a replica. */
bool rows_stream_is(const char *stream, const char *name);

#endif
