/*
 * csvrows.c - rows of fields from whole CSV lines (see csvrows.h): the
 * in-place fast path for plain lines, libcsv for the rest.
 */
#include "csvrows.h"

#include <string.h>

bool csvrows_needs_quote(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            return true;
    return false;
}

size_t csvrows_quote(char *out, const char *s, size_t n)
{
    size_t i, o = 0;

    if (!csvrows_needs_quote(s, n)) {
        memcpy(out, s, n);
        return n;
    }
    out[o++] = '"';
    for (i = 0; i < n; i++) {
        if (s[i] == '"')
            out[o++] = '"';
        out[o++] = s[i];
    }
    out[o++] = '"';
    return o;
}

static int no_space(unsigned char c)
{
    (void)c;
    return 0;
}

int csvrows_init(struct csvrows *r)
{
    memset(&r->row, 0, sizeof(r->row));
    r->used = 0;
    r->overflow = 0;
    if (csv_init(&r->p, 0) != 0)
        return -1;
    csv_set_space_func(&r->p, no_space);
    return 0;
}

void csvrows_fini(struct csvrows *r)
{
    csv_free(&r->p);
}

static void on_field(void *s, size_t len, void *data)
{
    struct csvrows *r = data;
    int n = r->row.nfields;

    if (r->overflow || n >= CSVROWS_MAX_FIELDS ||
        r->used + len > sizeof(r->buf)) {
        r->overflow = 1;
        return;
    }
    if (len)
        memcpy(r->buf + r->used, s, len);
    r->row.f[n] = r->buf + r->used;
    r->row.len[n] = len;
    r->used += len;
    r->row.nfields = n + 1;
}

static void on_row(int c, void *data)
{
    struct csvrows *r = data;

    (void)c;
    if (r->overflow)
        r->row.nfields = -1;
    r->cb(&r->row, r->ud);
    r->row.nfields = 0;
    r->used = 0;
    r->overflow = 0;
}

/* libcsv's state between records (ROW_NOT_BEGUN in libcsv.c; the struct is
 * public in csv.h, its states stable across libcsv 3). */
#define LIBCSV_ROW_NOT_BEGUN 0

/* A line the fast path may take: no quote, and no CR but one right before
 * its LF (or at the very end of the buffer). `n` counts the LF if any. */
static bool plain_line(const char *s, size_t n, bool has_lf)
{
    const char *cr;
    size_t body = has_lf ? n - 1 : n;

    if (memchr(s, '"', n) != NULL)
        return false;
    cr = memchr(s, '\r', n);
    return cr == NULL || (size_t)(cr - s) == body - 1;
}

/* Splits a plain line (without its line end) at its commas, in place. */
static void fast_row(struct csvrows *r, const char *s, size_t n)
{
    const char *end = s + n, *comma;
    size_t bytes = 0;
    int nf = 0;

    if (n == 0)
        return; /* a blank line */
    for (;;) {
        comma = memchr(s, ',', (size_t)(end - s));
        if (nf == CSVROWS_MAX_FIELDS) {
            nf = -1;
            break;
        }
        r->row.f[nf] = s;
        r->row.len[nf] = comma ? (size_t)(comma - s) : (size_t)(end - s);
        bytes += r->row.len[nf++];
        if (comma == NULL)
            break;
        s = comma + 1;
    }
    r->row.nfields = nf < 0 || bytes > CSVROWS_ROW_BYTES ? -1 : nf;
    r->cb(&r->row, r->ud);
    r->row.nfields = 0;
}

int csvrows_parse(struct csvrows *r, const void *buf, size_t len, csvrows_cb cb,
                  void *ud)
{
    const char *b = buf, *lf;
    size_t pos = 0, n;

    r->cb = cb;
    r->ud = ud;
    r->row.nfields = 0;
    r->used = 0;
    r->overflow = 0;
    while (pos < len) {
        lf = memchr(b + pos, '\n', len - pos);
        n = lf ? (size_t)(lf - (b + pos)) + 1 : len - pos;
        if (!r->libcsv_only && r->p.pstate == LIBCSV_ROW_NOT_BEGUN &&
            plain_line(b + pos, n, lf != NULL)) {
            size_t body = lf ? n - 1 : n;

            if (body > 0 && b[pos + body - 1] == '\r')
                body--;
            fast_row(r, b + pos, body);
        } else if (csv_parse(&r->p, b + pos, n, on_field, on_row, r) != n) {
            return -1;
        }
        pos += n;
    }
    if (csv_fini(&r->p, on_field, on_row, r) != 0)
        return -1;
    return 0;
}
