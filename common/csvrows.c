/*
 * csvrows.c - libcsv callbacks gathering fields into a row (see csvrows.h).
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

    if (r->overflow || n >= CSVROWS_MAX_FIELDS || r->used + len > sizeof(r->buf)) {
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

int csvrows_parse(struct csvrows *r, const void *buf, size_t len, csvrows_cb cb,
                  void *ud)
{
    r->cb = cb;
    r->ud = ud;
    r->row.nfields = 0;
    r->used = 0;
    r->overflow = 0;
    if (csv_parse(&r->p, buf, len, on_field, on_row, r) != len)
        return -1;
    if (csv_fini(&r->p, on_field, on_row, r) != 0)
        return -1;
    return 0;
}
