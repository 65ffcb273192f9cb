/*
 * chunker.c - line-chunked output (see chunker.h).
 */
#include "chunker.h"

#include "csvrows.h"
#include "field.h"
#include "err.h"

#include <string.h>

void chunker_init(struct chunker *c, size_t limit, chunker_fn fn, void *arg)
{
    vbuf_init(&c->buf);
    c->line_start = 0;
    c->limit = limit;
    c->index = 0;
    c->fn = fn;
    c->arg = arg;
}

void chunker_fini(struct chunker *c)
{
    vbuf_fini(&c->buf);
}

int chunker_put(struct chunker *c, const void *s, size_t n)
{
    return vbuf_append(&c->buf, s, n);
}

int chunker_put_str(struct chunker *c, const char *s)
{
    return vbuf_append(&c->buf, s, strlen(s));
}

int chunker_put_i64(struct chunker *c, int64_t v)
{
    char tmp[24];
    int n = field_fmt_int(v, tmp);

    return vbuf_append(&c->buf, tmp, (size_t)n);
}

int chunker_put_csv(struct chunker *c, const char *s, size_t n)
{
    if (vbuf_reserve(&c->buf, 2 * n + 2) != 0)
        return CS_ERR_NOMEM;
    c->buf.len += csvrows_quote((char *)c->buf.p + c->buf.len, s, n);
    return 0;
}

/* Sends bytes [0, upto) as one chunk and moves the rest to the front. */
static int send(struct chunker *c, size_t upto)
{
    int rc;

    if (upto == 0)
        return 0;
    rc = c->fn(c->arg, c->index, c->buf.p, upto);
    if (rc != 0)
        return rc;
    c->index++;
    memmove(c->buf.p, c->buf.p + upto, c->buf.len - upto);
    c->buf.len -= upto;
    c->line_start -= upto;
    return 0;
}

int chunker_end_line(struct chunker *c)
{
    int rc;

    if (vbuf_append(&c->buf, "\n", 1) != 0)
        return CS_ERR_NOMEM;
    if (c->buf.len > c->limit) {
        /* the new line does not fit: send what was there before it */
        rc = send(c, c->line_start);
        if (rc != 0)
            return rc;
        /* a line longer than the limit on its own is its own chunk */
        if (c->buf.len > c->limit) {
            c->line_start = c->buf.len;
            return send(c, c->buf.len);
        }
    }
    c->line_start = c->buf.len;
    return 0;
}

int chunker_finish(struct chunker *c)
{
    int rc = send(c, c->line_start);

    c->buf.len = 0;
    c->line_start = 0;
    return rc;
}

int64_t chunker_count(const struct chunker *c)
{
    return c->index;
}
