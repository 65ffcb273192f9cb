/*
 * fuzz_proto.c - libFuzzer harness for the wire protocol decoder
 * (common/proto.c): the incremental frame decoder fed in arbitrary chunks
 * with a small frame cap, and proto_decode() on every frame it yields.
 * A decoded message must re-encode to the very bytes it came from.
 *
 * Input: byte 0 picks the cap and the chunk size, the rest is the stream.
 */
#include "proto.h"

#include <stdlib.h>
#include <string.h>

static void check_roundtrip(const struct proto_frame *f,
                            const struct proto_msg *m)
{
    struct proto_buf b;
    int rc = -1;

    proto_buf_init(&b);
    switch (m->type) {
    case PROTO_HELLO:
        rc = proto_enc_hello(&b, m->u.hello.version, m->u.hello.name,
                             m->u.hello.folder);
        break;
    case PROTO_ERROR:
        rc = proto_enc_error(&b, m->u.error.code, m->u.error.text);
        break;
    case PROTO_TABLE_BEGIN:
        rc = proto_enc_table_begin(&b, m->u.table_begin.table);
        break;
    case PROTO_BATCH:
        rc = proto_enc_batch(&b, m->u.batch.table, m->u.batch.rows,
                             m->u.batch.data, m->u.batch.len);
        break;
    case PROTO_TABLE_END:
        rc = proto_enc_table_end(&b, m->u.table_end.table, m->u.table_end.rows);
        break;
    case PROTO_DATA_END:
        rc = proto_enc_data_end(&b);
        break;
    case PROTO_RESULT:
        rc = proto_enc_result(&b, m->u.result.file, m->u.result.seq,
                              m->u.result.data, m->u.result.len);
        break;
    case PROTO_RESULT_END:
        rc = proto_enc_result_end(&b, m->u.result_end.status,
                                  m->u.result_end.rejected);
        break;
    case PROTO_STATUS:
        rc = proto_enc_status(&b, m->u.status.text);
        break;
    default: /* WELCOME: the session text is not re-validated here */
        proto_buf_fini(&b);
        return;
    }
    /* A message the decoder accepted is one the encoder can produce; a
     * RESULT_END may list fewer tables than the encoder writes (all five),
     * so it is compared by value. */
    if (m->type == PROTO_RESULT_END) {
        struct proto_frame g = {b.ptr[4], b.ptr + PROTO_HDR_LEN,
                                (uint32_t)(b.len - PROTO_HDR_LEN)};
        struct proto_msg m2;

        if (rc != 0 || proto_decode(&g, &m2) != 0 ||
            m2.u.result_end.status != m->u.result_end.status ||
            memcmp(m2.u.result_end.rejected, m->u.result_end.rejected,
                   sizeof(m2.u.result_end.rejected)) != 0)
            abort();
    } else if (rc != 0 || b.len != (size_t)f->len + PROTO_HDR_LEN ||
               b.ptr[4] != f->type ||
               memcmp(b.ptr + PROTO_HDR_LEN, f->payload, f->len) != 0)
        abort();
    proto_buf_fini(&b);
}

static void decode_one(const struct proto_frame *f)
{
    struct proto_msg m;

    if (proto_decode(f, &m) == 0)
        check_roundtrip(f, &m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_decoder d;
    struct proto_frame f;
    size_t chunk, off = 0;
    uint32_t cap;
    int rc = 0;

    if (size < 1)
        return 0;
    /* A cap from 0 to 1020 bytes keeps the too-big path reachable. */
    cap = (uint32_t)(data[0] & 0x3f) * 16 + 12;
    chunk = (size_t)(data[0] >> 6) * 7 + 1;
    data++;
    size--;

    /* 1. The incremental decoder over the whole stream. */
    proto_decoder_init(&d, cap);
    while (off < size && rc >= 0) {
        size_t n = size - off < chunk ? size - off : chunk;
        uint8_t *p;
        size_t room;

        rc = proto_decoder_space(&d, &p, &room);
        if (rc != 0)
            break;
        if (n > room)
            n = room;
        memcpy(p, data + off, n);
        proto_decoder_commit(&d, n);
        off += n;
        while ((rc = proto_decoder_next(&d, &f)) == 1) {
            if (f.len > cap || !proto_type_known(f.type))
                abort();
            decode_one(&f);
        }
    }
    if (proto_decoder_pending(&d) > size)
        abort();
    proto_decoder_fini(&d);

    /* 2. proto_decode directly: type byte, then the payload. */
    if (size >= 1) {
        f.type = data[0];
        f.payload = data + 1;
        f.len = (uint32_t)(size - 1);
        decode_one(&f);
    }
    return 0;
}
