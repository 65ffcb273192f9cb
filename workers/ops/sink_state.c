/*
 * sink_state.c - the sink's per-session collections (see sink_state.h).
 */
#include "sink_state.h"

#include "i64map.h"
#include "err.h"
#include "vbuf.h"

#include <stdlib.h>
#include <string.h>

/* How the lines of each input stream are read: 'I' an integer into the
 * next v[], 'T' the text (at most one per row). */
static const struct sink_input {
    const char *stream;
    bool names; /* id,NAME row of a names table */
    int target; /* enum sink_src, or enum sink_names when names */
    const char *cols;
} inputs[] = {
    {"transactions", false, SINK_SRC_Q1, "TI"},
    {"agg-q2", false, SINK_SRC_Q2, "IIIII"},
    {"agg-q3", false, SINK_SRC_Q3, "III"},
    {"agg-q4", false, SINK_SRC_Q4, "IIIIT"},
    {"stores", true, SINK_NAMES_STORES, NULL},
    {"menu_items", true, SINK_NAMES_ITEMS, NULL},
};

#define NINPUTS (sizeof(inputs) / sizeof(inputs[0]))

struct sink {
    struct vbuf recs[SINK_NSRC];      /* struct sink_rec arrays */
    struct i64map names[SINK_NNAMES]; /* id -> text offset << 16 | length */
    struct vbuf text;                 /* texts and names */
};

struct sink *sink_create(void)
{
    struct sink *s = calloc(1, sizeof(*s));
    int i;

    if (s == NULL)
        return NULL;
    for (i = 0; i < SINK_NSRC; i++)
        vbuf_init(&s->recs[i]);
    for (i = 0; i < SINK_NNAMES; i++)
        i64map_init(&s->names[i]);
    vbuf_init(&s->text);
    return s;
}

void sink_destroy(struct sink *s)
{
    int i;

    if (s == NULL)
        return;
    for (i = 0; i < SINK_NSRC; i++)
        vbuf_fini(&s->recs[i]);
    for (i = 0; i < SINK_NNAMES; i++)
        i64map_fini(&s->names[i]);
    vbuf_fini(&s->text);
    free(s);
}

const struct sink_rec *sink_records(const struct sink *s, enum sink_src src,
                                    size_t *n)
{
    *n = s->recs[src].len / sizeof(struct sink_rec);
    return (const struct sink_rec *)(const void *)s->recs[src].p;
}

struct rows_span sink_text(const struct sink *s, const struct sink_rec *r)
{
    struct rows_span t = {"", 0};

    if (r->tlen > 0) {
        t.p = (const char *)s->text.p + r->toff;
        t.n = r->tlen;
    }
    return t;
}

static struct rows_span name_at(const struct sink *s, int64_t v)
{
    struct rows_span t = {"", 0};

    if ((v & 0xffff) != 0) {
        t.p = (const char *)s->text.p + (v >> 16);
        t.n = (size_t)(v & 0xffff);
    }
    return t;
}

struct rows_span sink_name(const struct sink *s, enum sink_names t, int64_t id)
{
    const int64_t *v = i64map_get(&s->names[t], id);
    struct rows_span none = {"", 0};

    return v ? name_at(s, *v) : none;
}

/* A record row; returns 1 if malformed, 0, or CS_ERR_NOMEM. */
static int feed_record(struct sink *s, const struct sink_input *in,
                       struct rows_span line)
{
    struct rows_span f[SINK_NV + 1];
    struct sink_rec r;
    int n = (int)strlen(in->cols), i, nv = 0;

    memset(&r, 0, sizeof(r));
    if (rows_split(line, f, SINK_NV + 1) != n)
        return 1;
    for (i = 0; i < n; i++) {
        if (in->cols[i] == 'I' && !rows_i64(f[i], &r.v[nv++]))
            return 1;
        if (in->cols[i] == 'T') {
            if (f[i].n > UINT32_MAX)
                return 1;
            r.toff = s->text.len;
            r.tlen = (uint32_t)f[i].n;
            if (vbuf_append(&s->text, f[i].p, f[i].n) != 0)
                return CS_ERR_NOMEM;
        }
    }
    return vbuf_append(&s->recs[in->target], &r, sizeof(r));
}

static int span_cmp(struct rows_span x, struct rows_span y)
{
    int c = memcmp(x.p, y.p, x.n < y.n ? x.n : y.n);

    return c ? c : (x.n > y.n) - (x.n < y.n);
}

/* An id,NAME row; returns 1 if malformed, 0, or CS_ERR_NOMEM. A repeated
 * id keeps the byte-smallest name: arrival order is not deterministic. */
static int feed_name(struct sink *s, const struct sink_input *in,
                     struct rows_span line)
{
    struct i64map *m = &s->names[in->target];
    struct rows_span idf, namef, name;
    const int64_t *old;
    int64_t id;
    size_t n;

    if (!rows_split1(line, &idf, &namef) || !rows_i64(idf, &id))
        return 1;
    if (vbuf_reserve(&s->text, namef.n + 1) != 0)
        return CS_ERR_NOMEM;
    /* decode in place at the end of the arena; committed only if kept */
    if (!rows_csv_decode(namef, (char *)s->text.p + s->text.len, &n) ||
        n > SINK_NAME_MAX)
        return 1;
    name.p = (const char *)s->text.p + s->text.len;
    name.n = n;
    old = i64map_get(m, id);
    if (old != NULL && span_cmp(name_at(s, *old), name) <= 0)
        return 0;
    if (i64map_put(m, id, (int64_t)(s->text.len << 16 | n)) != 0)
        return CS_ERR_NOMEM;
    s->text.len += n;
    return 0;
}

int sink_feed(struct sink *s, const char *stream, const void *body, size_t len,
              size_t *bad)
{
    const struct sink_input *in = NULL;
    struct rows_iter it;
    struct rows_span line;
    size_t i;
    int rc;

    for (i = 0; i < NINPUTS && in == NULL; i++)
        if (rows_stream_is(stream, inputs[i].stream))
            in = &inputs[i];
    rows_iter_init(&it, body, len);
    while (rows_next(&it, &line)) {
        rc = in == NULL  ? 1
             : in->names ? feed_name(s, in, line)
                         : feed_record(s, in, line);
        if (rc < 0)
            return rc;
        *bad += (size_t)rc;
    }
    return 0;
}
