/*
 * fuzz_batcher.c - libFuzzer harness for the client's record boundaries
 * (common/batcher.c), driven the way client/send.c drives it: the input is
 * revealed in chunks, consumed bytes are shifted out of the buffer, and
 * records are packed into batches of a small limit.
 *
 * Checks: records tile the input (each ends at a '\n' outside quotes or at
 * the end), batcher_count_records agrees with the scanner, and each batch
 * holds exactly `rows` records by the same count.
 *
 * Input: byte 0 picks the chunk size and the batch limit, the rest is data.
 */
#include "batcher.h"

#include <stdlib.h>
#include <string.h>

static void flush(struct batcher *b)
{
    bool q = false;

    if (b->rows == 0)
        return;
    if (batcher_data(b)[b->len - 1] != '\n' ||
        batcher_count_records(&q, batcher_data(b), b->len) != b->rows || q)
        abort();
    batcher_clear(b);
}

static void add(struct batcher *b, const char *rec, size_t len)
{
    enum batcher_add_result a = batcher_add(b, rec, len);

    if (a == BATCHER_FULL) {
        flush(b);
        a = batcher_add(b, rec, len);
        if (a == BATCHER_FULL)
            abort();
    }
    if (a == BATCHER_TOO_LONG && len + 1 <= b->limit)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct batcher_scan sc;
    struct batcher_rec r;
    struct batcher b;
    size_t chunk, limit, len = 0, fed = 0, consumed = 0;
    uint64_t nrec = 0, counted;
    bool quoted = false;
    char *buf;
    int last;

    if (size < 1)
        return 0;
    chunk = (size_t)(data[0] & 0x0f) + 1;
    limit = (size_t)(data[0] >> 4) * 8 + 2;
    data++;
    size--;
    buf = malloc(size + 1);
    if (buf == NULL || batcher_init(&b, limit, 10) != 0) {
        free(buf);
        return 0;
    }
    batcher_scan_init(&sc, 1);
    while (fed < size) {
        size_t n = size - fed < chunk ? size - fed : chunk;

        /* Like the client: drop consumed bytes before reading more. */
        if (sc.start > 0 && (fed & 1)) {
            memmove(buf, buf + sc.start, len - sc.start);
            consumed += sc.start;
            len -= sc.start;
            batcher_scan_shift(&sc, sc.start);
        }
        memcpy(buf + len, data + fed, n);
        len += n;
        fed += n;
        while (batcher_scan_next(&sc, buf, len, &r) == 1) {
            size_t end = r.off + r.len;

            /* The record ends at a '\n', possibly after a '\r'. */
            if (end >= len ||
                (buf[end] != '\n' &&
                 !(buf[end] == '\r' && end + 1 < len && buf[end + 1] == '\n')))
                abort();
            if (memcmp(buf + r.off, data + consumed + r.off, r.len) != 0)
                abort();
            nrec++;
            add(&b, buf + r.off, r.len);
        }
    }
    counted = batcher_count_records(&quoted, data, size);
    if (counted != nrec || quoted != sc.quoted)
        abort();
    last = batcher_scan_last(&sc, buf, len, &r);
    if ((last == -1) != quoted)
        abort();
    if (last == 1)
        add(&b, buf + r.off, r.len);
    flush(&b);
    batcher_fini(&b);
    free(buf);
    return 0;
}
