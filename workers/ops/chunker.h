/*
 * chunker.h - builds text output line by line and hands it to a callback in
 * chunks of whole lines of at most `limit` bytes (a single longer line is a
 * chunk of its own). Chunks are numbered 0, 1, 2... so the receiver gets
 * deterministic ids when the lines are produced in a deterministic order.
 *
 * Usage: chunker_init; per line chunker_put*(...) then chunker_end_line;
 * chunker_finish to send the rest; chunker_fini. The line being built lives
 * directly in the chunk buffer: there is no copy per line.
 */
#ifndef CS_CHUNKER_H
#define CS_CHUNKER_H

#include "vbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Receives chunk number `index` (body borrowed for the call). Returns 0 or
 * a negative error, which the chunker returns to its caller. */
typedef int (*chunker_fn)(void *arg, int64_t index, const void *body,
                          size_t len);

struct chunker {
    struct vbuf buf;
    size_t line_start; /* offset of the line being built */
    size_t limit;
    int64_t index; /* next chunk number == chunks sent so far */
    chunker_fn fn;
    void *arg; /* borrowed, passed to fn */
};

void chunker_init(struct chunker *c, size_t limit, chunker_fn fn, void *arg);
void chunker_fini(struct chunker *c);

/* Appends bytes, text or formatted values to the current line.
 * Return 0 or CS_ERR_NOMEM. */
int chunker_put(struct chunker *c, const void *s, size_t n)
    __attribute__((warn_unused_result));
int chunker_put_str(struct chunker *c, const char *s)
    __attribute__((warn_unused_result));
int chunker_put_i64(struct chunker *c, int64_t v)
    __attribute__((warn_unused_result));
/* A value as one CSV field: quoted (quotes doubled) only when needed. */
int chunker_put_csv(struct chunker *c, const char *s, size_t n)
    __attribute__((warn_unused_result));

/* Ends the current line with `\n`; sends the lines before it as a chunk if
 * the buffer went past the limit. Returns 0, CS_ERR_NOMEM or fn's error. */
int chunker_end_line(struct chunker *c) __attribute__((warn_unused_result));

/* Sends the remaining complete lines as a last chunk (nothing if none; an
 * unfinished line is dropped). Returns 0 or fn's error. */
int chunker_finish(struct chunker *c) __attribute__((warn_unused_result));

/* Chunks sent so far. */
int64_t chunker_count(const struct chunker *c);

#endif
