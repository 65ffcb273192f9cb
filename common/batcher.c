/*
 * batcher.c - CSV record boundaries and batch packing (see batcher.h).
 *
 * Scanning uses memchr so that quote-free lines, nearly all of the real
 * data, cost two vectorized searches each.
 */
#include "batcher.h"

#include <stdlib.h>
#include <string.h>

void batcher_scan_init(struct batcher_scan *s, uint64_t first_line)
{
    memset(s, 0, sizeof(*s));
    s->line = first_line;
}

static uint64_t count_nl(const char *p, size_t n)
{
    uint64_t c = 0;
    const char *end = p + n;

    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        c++;
        p++;
    }
    return c;
}

/* Fills *r with buf[s->start, stop) minus a trailing '\r' and moves past. */
static void take_record(struct batcher_scan *s, const char *buf, size_t stop,
                        size_t next, struct batcher_rec *r)
{
    r->off = s->start;
    r->len = stop - s->start;
    if (r->len > 0 && buf[stop - 1] == '\r')
        r->len--;
    r->line = s->line;
    s->line += 1 + s->nl;
    s->nl = 0;
    s->start = next;
    s->pos = next;
}

int batcher_scan_next(struct batcher_scan *s, const char *buf, size_t len,
                      struct batcher_rec *r)
{
    while (s->pos < len) {
        const char *p = buf + s->pos;
        size_t left = len - s->pos;

        if (s->quoted) {
            /* Toggling on every quote also handles "" inside a field. */
            const char *q = memchr(p, '"', left);
            size_t span = q ? (size_t)(q - p) : left;

            s->nl += count_nl(p, span);
            s->pos += span;
            if (q == NULL)
                return 0;
            s->quoted = false;
            s->pos++;
        } else {
            const char *nl = memchr(p, '\n', left);
            size_t span = nl ? (size_t)(nl - p) : left;
            const char *q = memchr(p, '"', span);

            if (q != NULL) {
                s->quoted = true;
                s->pos += (size_t)(q - p) + 1;
                continue;
            }
            if (nl == NULL) {
                s->pos = len;
                return 0;
            }
            take_record(s, buf, (size_t)(nl - buf), (size_t)(nl - buf) + 1, r);
            return 1;
        }
    }
    return 0;
}

int batcher_scan_last(struct batcher_scan *s, const char *buf, size_t len,
                      struct batcher_rec *r)
{
    if (s->quoted)
        return -1;
    if (s->start >= len)
        return 0;
    take_record(s, buf, len, len, r);
    return 1;
}

void batcher_scan_shift(struct batcher_scan *s, size_t n)
{
    s->start -= n;
    s->pos -= n;
}

int batcher_init(struct batcher *b, size_t limit, size_t headroom)
{
    memset(b, 0, sizeof(*b));
    b->mem = malloc(headroom + limit);
    if (b->mem == NULL)
        return -1;
    b->headroom = headroom;
    b->limit = limit;
    return 0;
}

void batcher_fini(struct batcher *b)
{
    free(b->mem);
    memset(b, 0, sizeof(*b));
}

enum batcher_add_result batcher_add(struct batcher *b, const char *rec,
                                    size_t len)
{
    uint8_t *dst;

    if (len == 0)
        return BATCHER_ADDED;
    if (len + 1 > b->limit)
        return BATCHER_TOO_LONG;
    if (len + 1 > b->limit - b->len)
        return BATCHER_FULL;
    dst = batcher_data(b) + b->len;
    memcpy(dst, rec, len);
    dst[len] = '\n';
    b->len += len + 1;
    b->rows++;
    return BATCHER_ADDED;
}

void batcher_clear(struct batcher *b)
{
    b->len = 0;
    b->rows = 0;
}

uint64_t batcher_count_records(bool *quoted, const void *buf, size_t len)
{
    const char *p = buf, *end = p + len;
    uint64_t n = 0;

    while (p < end) {
        const char *hit;

        if (*quoted) {
            hit = memchr(p, '"', (size_t)(end - p));
            if (hit == NULL)
                break;
            *quoted = false;
            p = hit + 1;
            continue;
        }
        hit = memchr(p, '\n', (size_t)(end - p));
        {
            const char *q = memchr(p, '"', (size_t)((hit ? hit : end) - p));

            if (q != NULL) {
                *quoted = true;
                p = q + 1;
                continue;
            }
        }
        if (hit == NULL)
            break;
        n++;
        p = hit + 1;
    }
    return n;
}
