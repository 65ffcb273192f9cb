/*
 * fuzz_csvrows.c - libFuzzer harness for common/csvrows.c: the fast path
 * (plain lines split in place) must give exactly the rows that libcsv alone
 * gives (CSVROWS_LIBCSV_ONLY), for any bytes: quotes anywhere, stray CRs,
 * CRLF, blank lines, rows too long or too wide, a last line without LF.
 */
#include "csvrows.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Rows flattened into bytes: nfields, then each field's length and bytes. */
struct trace {
    uint8_t *p;
    size_t len, cap;
};

static void put(struct trace *t, const void *s, size_t n)
{
    if (t->len + n > t->cap) {
        t->cap = (t->len + n) * 2 + 64;
        t->p = realloc(t->p, t->cap);
        if (t->p == NULL)
            abort();
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

static void on_row(const struct csvrow *row, void *ud)
{
    struct trace *t = ud;
    int i;

    put(t, &row->nfields, sizeof(row->nfields));
    for (i = 0; i < row->nfields; i++) {
        put(t, &row->len[i], sizeof(row->len[i]));
        put(t, row->f[i], row->len[i]);
    }
}

static void run(const uint8_t *data, size_t size, bool libcsv_only,
                struct trace *t)
{
    struct csvrows *r = malloc(sizeof(*r));

    if (r == NULL || csvrows_init(r) != 0)
        abort();
    r->libcsv_only = libcsv_only;
    /* twice: the parser must come back clean after a buffer */
    if (csvrows_parse(r, data, size, on_row, t) != 0 ||
        csvrows_parse(r, data, size, on_row, t) != 0)
        abort();
    csvrows_fini(r);
    free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trace fast = {0}, slow = {0};

    run(data, size, false, &fast);
    run(data, size, true, &slow);
    if (fast.len != slow.len ||
        (fast.len && memcmp(fast.p, slow.p, fast.len) != 0))
        abort();
    free(fast.p);
    free(slow.p);
    return 0;
}
