/*
 * mw_codec.c - transparent LZ4 compression of message bodies.
 *
 * A body of MW_ZIP_MIN bytes or more is compressed into one LZ4 block when
 * compression is on and the block is smaller than the body; the publisher
 * marks it with content_encoding "lz4" and the x-raw-len header (the
 * original length, which LZ4's block format does not carry). What stays in
 * the unconfirmed ring is the compressed block, so a republished copy is
 * the same bytes with the same properties. Consumers decode whatever their
 * own setting. Both directions use one reusable buffer per connection.
 *
 * Acceleration 2: on 64 KiB batches of the benchmark's CSV it keeps the
 * ratio of acceleration 1 within 2 % (transactions 1.46 vs 1.49,
 * transaction_items 2.49 vs 2.53) and compresses 20-30 % faster
 * (380-560 MB/s vs 300-460 MB/s); 4 and more lose 5-20 % of the ratio.
 *
 * Off by default: on the 2-core benchmark machine (scripts/bench.sh,
 * scale 1, persistence on, November 2026) it made the pipeline slower,
 * 38.0 s -> 55.9 s, the broker's CPU rising from 47.9 s to 64.3 s although
 * it carried 2.2x fewer bytes (3741 -> 1705 MB); compressing only the
 * gateway's 64 KiB batches did the same (52.2 s, broker 61.8 s). At scale
 * 0.1: 3.80-4.10 s off, 4.99-5.25 s with lz4.
 */
#include <limits.h>
#include <lz4.h>
#include <string.h>

#include "mw_internal.h"

#define MW_LZ4_ACCEL 2

int mw_codec_parse(const char *s, bool *on)
{
    if (s != NULL && strcmp(s, "lz4") == 0) {
        *on = true;
        return MW_OK;
    }
    if (s == NULL || s[0] == '\0' || strcmp(s, "off") == 0) {
        *on = false;
        return MW_OK;
    }
    return MW_ERR_ARG;
}

int mw_codec_pack(struct mw_conn *c, const void *body, size_t len,
                  const uint8_t **out, size_t *outlen, size_t *raw_len)
{
    int bound, n;

    *out = body;
    *outlen = len;
    *raw_len = 0;
    if (!c->compress || len < MW_ZIP_MIN || len > MW_RAW_MAX)
        return MW_OK;
    bound = LZ4_compressBound((int)len);
    if (bound <= 0 ||
        mw_buf_reserve(&c->zbuf, &c->zcap, (size_t)bound) != MW_OK)
        return MW_ERR_NOMEM;
    n = LZ4_compress_fast(body, (char *)c->zbuf, (int)len, bound, MW_LZ4_ACCEL);
    if (n <= 0 || (size_t)n >= len)
        return MW_OK; /* incompressible: plain is smaller */
    *out = c->zbuf;
    *outlen = (size_t)n;
    *raw_len = len;
    return MW_OK;
}

int mw_codec_unpack(struct mw_conn *c, const uint8_t **body, size_t *len,
                    const char **why)
{
    const struct mw_msg *m = &c->cur;
    int n;

    *body = m->body;
    *len = m->len;
    if (!m->lz4)
        return 0;
    if (m->raw_len < 0) {
        *why = "x-raw-len header missing";
        return 1;
    }
    if ((uint64_t)m->raw_len > MW_RAW_MAX || m->len > INT_MAX) {
        *why = "size over the 256 MiB limit";
        return 1;
    }
    if (mw_buf_reserve(&c->rawbuf, &c->rawcap, (size_t)m->raw_len) != MW_OK)
        return MW_ERR_NOMEM;
    n = LZ4_decompress_safe((const char *)m->body, (char *)c->rawbuf,
                            (int)m->len, (int)m->raw_len);
    if (n < 0 || n != m->raw_len) {
        *why = n < 0 ? "corrupt LZ4 block"
                     : "decoded length differs from x-raw-len";
        return 1;
    }
    *body = c->rawbuf;
    *len = (size_t)n;
    return 0;
}

void mw_get_stats(const struct mw_conn *c, struct mw_stats *s)
{
    if (c == NULL)
        memset(s, 0, sizeof(*s));
    else
        *s = c->stats;
}
