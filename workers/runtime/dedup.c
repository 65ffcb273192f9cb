/*
 * dedup.c - growable two-bit-per-seq bitmaps per stream (see dedup.h).
 */
#include "dedup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dedup_stream {
    char name[48];
    uint8_t *bits[2]; /* [bit][seq / 8] */
    size_t bytes;
};

void dedup_init(struct dedup *d)
{
    memset(d, 0, sizeof(*d));
}

void dedup_fini(struct dedup *d)
{
    size_t i;

    for (i = 0; i < d->n; i++) {
        free(d->streams[i].bits[0]);
        free(d->streams[i].bits[1]);
    }
    free(d->streams);
    memset(d, 0, sizeof(*d));
}

static struct dedup_stream *find(const struct dedup *d, const char *stream)
{
    size_t i;

    for (i = 0; i < d->n; i++)
        if (strcmp(d->streams[i].name, stream) == 0)
            return &d->streams[i];
    return NULL;
}

bool dedup_test(const struct dedup *d, const char *stream, int64_t seq,
                enum dedup_bit bit)
{
    const struct dedup_stream *s = find(d, stream);

    if (s == NULL || seq < 0 || (size_t)(seq / 8) >= s->bytes)
        return false;
    return (s->bits[bit][seq / 8] >> (seq % 8)) & 1;
}

static struct dedup_stream *add_stream(struct dedup *d, const char *stream)
{
    struct dedup_stream *s;

    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        struct dedup_stream *ns = realloc(d->streams, cap * sizeof(*ns));

        if (ns == NULL)
            return NULL;
        d->streams = ns;
        d->cap = cap;
    }
    s = &d->streams[d->n++];
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", stream);
    return s;
}

static int grow(struct dedup_stream *s, size_t need)
{
    size_t bytes = s->bytes ? s->bytes : 64;
    int b;

    while (bytes < need)
        bytes *= 2;
    for (b = 0; b < 2; b++) {
        uint8_t *nb = realloc(s->bits[b], bytes);

        if (nb == NULL)
            return -1;
        memset(nb + s->bytes, 0, bytes - s->bytes);
        s->bits[b] = nb;
    }
    s->bytes = bytes;
    return 0;
}

int dedup_set(struct dedup *d, const char *stream, int64_t seq,
              enum dedup_bit bit)
{
    struct dedup_stream *s;

    if (seq < 0 || seq >= DEDUP_MAX_SEQ)
        return -1;
    s = find(d, stream);
    if (s == NULL && (s = add_stream(d, stream)) == NULL)
        return -1;
    if ((size_t)(seq / 8) >= s->bytes && grow(s, (size_t)(seq / 8) + 1) != 0)
        return -1;
    s->bits[bit][seq / 8] |= (uint8_t)(1u << (seq % 8));
    return 0;
}
