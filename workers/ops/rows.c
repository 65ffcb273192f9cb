/*
 * rows.c - internal row reading (see rows.h).
 */
#include "rows.h"

#include <string.h>

void rows_iter_init(struct rows_iter *it, const void *body, size_t len)
{
    it->p = body;
    it->end = body != NULL ? it->p + len : NULL;
}

/* End of the line starting at p, honouring quoted fields. */
static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    bool quoted = false;

    if (nl == NULL)
        nl = end;
    /* fast path: no quote before the first newline */
    if (memchr(p, '"', (size_t)(nl - p)) == NULL)
        return nl;
    for (; p < end; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (*p == '\n' && !quoted)
            return p;
    }
    return end;
}

bool rows_next(struct rows_iter *it, struct rows_span *line)
{
    while (it->p != NULL && it->p < it->end) {
        const char *e = line_end(it->p, it->end);

        line->p = it->p;
        line->n = (size_t)(e - it->p);
        it->p = e < it->end ? e + 1 : e;
        if (line->n > 0)
            return true;
    }
    return false;
}

int rows_split(struct rows_span line, struct rows_span *f, int max)
{
    const char *p = line.p, *end = line.p + line.n;
    int n = 0;

    for (;;) {
        const char *c = memchr(p, ',', (size_t)(end - p));

        if (n == max)
            return -1;
        f[n].p = p;
        f[n].n = (size_t)((c ? c : end) - p);
        n++;
        if (c == NULL)
            return n;
        p = c + 1;
    }
}

bool rows_split1(struct rows_span line, struct rows_span *head,
                 struct rows_span *tail)
{
    const char *c = memchr(line.p, ',', line.n);

    if (c == NULL)
        return false;
    head->p = line.p;
    head->n = (size_t)(c - line.p);
    tail->p = c + 1;
    tail->n = line.n - head->n - 1;
    return true;
}

bool rows_i64(struct rows_span s, int64_t *out)
{
    size_t i = 0;
    int64_t v = 0;
    bool neg = s.n > 0 && s.p[0] == '-';

    if (neg)
        i++;
    if (s.n == i || s.n - i > 18)
        return false;
    for (; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        v = v * 10 + (s.p[i] - '0');
    }
    *out = neg ? -v : v;
    return true;
}

bool rows_csv_decode(struct rows_span f, char *out, size_t *outn)
{
    size_t i, n = 0;

    if (f.n == 0 || f.p[0] != '"') {
        if (memchr(f.p, '"', f.n) != NULL)
            return false;
        if (f.n)
            memcpy(out, f.p, f.n);
        *outn = f.n;
        return true;
    }
    if (f.n < 2 || f.p[f.n - 1] != '"')
        return false;
    for (i = 1; i < f.n - 1; i++) {
        if (f.p[i] == '"') {
            /* inside quotes a quote must be doubled */
            if (i + 1 >= f.n - 1 || f.p[i + 1] != '"')
                return false;
            i++;
        }
        out[n++] = f.p[i];
    }
    *outn = n;
    return true;
}

bool rows_stream_is(const char *stream, const char *name)
{
    size_t n = strlen(name);

    return strncmp(stream, name, n) == 0 &&
           (stream[n] == '\0' || stream[n] == '.');
}
