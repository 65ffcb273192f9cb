/*
 * proto.c - encoding and incremental decoding of the client <-> gateway wire
 * protocol (see proto.h and docs/PROTOCOL.md). No I/O here.
 */
#include "proto.h"

#include <stdlib.h>
#include <string.h>

#define READ_CHUNK ((size_t)64 * 1024) /* free space offered to a read(2) */

static const char *const table_names[PROTO_NTABLES] = {CS_TABLES(CS_NAME_STR)};

/* ---------------------------------------------------------------- names */

const char *proto_strerror(int err)
{
    switch (err) {
    case PROTO_OK:
        return "ok";
    case PROTO_ERR_TRUNCATED:
        return "truncated payload";
    case PROTO_ERR_TOO_BIG:
        return "frame larger than the size cap";
    case PROTO_ERR_TYPE:
        return "unknown frame type";
    case PROTO_ERR_MALFORMED:
        return "malformed frame";
    case PROTO_ERR_VERSION:
        return "unsupported protocol version";
    case PROTO_ERR_MAGIC:
        return "bad magic (not a coffee-stream client)";
    case PROTO_ERR_NOMEM:
        return "out of memory";
    case PROTO_ERR_ARG:
        return "argument out of range";
    default:
        return "unknown error";
    }
}

const char *proto_type_name(uint8_t type)
{
    switch (type) {
    case PROTO_HELLO:
        return "HELLO";
    case PROTO_WELCOME:
        return "WELCOME";
    case PROTO_ERROR:
        return "ERROR";
    case PROTO_TABLE_BEGIN:
        return "TABLE_BEGIN";
    case PROTO_BATCH:
        return "BATCH";
    case PROTO_TABLE_END:
        return "TABLE_END";
    case PROTO_DATA_END:
        return "DATA_END";
    case PROTO_RESULT:
        return "RESULT";
    case PROTO_RESULT_END:
        return "RESULT_END";
    case PROTO_STATUS:
        return "STATUS";
    default:
        return "?";
    }
}

bool proto_type_known(uint8_t type)
{
    return proto_type_name(type)[0] != '?';
}

const char *proto_table_name(uint8_t table)
{
    return table < PROTO_NTABLES ? table_names[table] : NULL;
}

int proto_table_by_name(const char *name)
{
    int i;

    for (i = 0; i < PROTO_NTABLES; i++)
        if (strcmp(table_names[i], name) == 0)
            return i;
    return -1;
}

/* ---------------------------------------------------------------- bytes */

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A bounds-checked reader over one payload. */
struct rd {
    const uint8_t *p;
    size_t len, off;
    int err;
};

static const uint8_t *rd_take(struct rd *r, size_t n)
{
    const uint8_t *p;

    if (r->err || r->len - r->off < n) {
        if (!r->err)
            r->err = PROTO_ERR_TRUNCATED;
        return NULL;
    }
    p = r->p + r->off;
    r->off += n;
    return p;
}

static uint8_t rd_u8(struct rd *r)
{
    const uint8_t *p = rd_take(r, 1);

    return p ? p[0] : 0;
}

static uint16_t rd_u16(struct rd *r)
{
    const uint8_t *p = rd_take(r, 2);

    return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static uint32_t rd_u32(struct rd *r)
{
    const uint8_t *p = rd_take(r, 4);

    return p ? get_u32(p) : 0;
}

static uint64_t rd_u64(struct rd *r)
{
    const uint8_t *p = rd_take(r, 8);

    return p ? (uint64_t)get_u32(p) << 32 | get_u32(p + 4) : 0;
}

/* Reads a str16 into out (size max+1); longer, or with a NUL: malformed. */
static void rd_str(struct rd *r, char *out, size_t max)
{
    uint16_t n = rd_u16(r);
    const uint8_t *p = rd_take(r, n);

    out[0] = '\0';
    if (p == NULL)
        return;
    if (n > max || memchr(p, '\0', n) != NULL) {
        r->err = PROTO_ERR_MALFORMED;
        return;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

/* The rest of the payload. */
static const uint8_t *rd_rest(struct rd *r, size_t *n)
{
    *n = r->err ? 0 : r->len - r->off;
    return rd_take(r, *n);
}

static int rd_end(const struct rd *r)
{
    if (r->err)
        return r->err;
    return r->off == r->len ? 0 : PROTO_ERR_MALFORMED;
}

/* ---------------------------------------------------------------- decoder */

void proto_decoder_init(struct proto_decoder *d, uint32_t max_payload)
{
    memset(d, 0, sizeof(*d));
    d->max_payload = max_payload;
}

void proto_decoder_fini(struct proto_decoder *d)
{
    free(d->buf);
    memset(d, 0, sizeof(*d));
}

size_t proto_decoder_pending(const struct proto_decoder *d)
{
    return d->end - d->start;
}

/* Checks a buffered header; returns the whole frame's size or an error. */
static int check_header(struct proto_decoder *d, size_t *frame)
{
    const uint8_t *h = d->buf + d->start;
    uint32_t len = get_u32(h);

    if (len > d->max_payload)
        d->err = PROTO_ERR_TOO_BIG;
    else if (!proto_type_known(h[4]))
        d->err = PROTO_ERR_TYPE;
    *frame = (size_t)len + PROTO_HDR_LEN;
    return d->err;
}

int proto_decoder_space(struct proto_decoder *d, uint8_t **p, size_t *n)
{
    size_t have, need = READ_CHUNK, frame;

    if (d->err)
        return d->err;
    have = d->end - d->start;
    if (have >= PROTO_HDR_LEN) {
        if (check_header(d, &frame) != 0)
            return d->err;
        if (frame > have && frame - have > need)
            need = frame - have;
    }
    if (d->start > 0) {
        memmove(d->buf, d->buf + d->start, have);
        d->start = 0;
        d->end = have;
    }
    if (d->cap - d->end < need) {
        size_t cap = d->end + need;
        uint8_t *nb = realloc(d->buf, cap);

        if (nb == NULL)
            return PROTO_ERR_NOMEM;
        d->buf = nb;
        d->cap = cap;
    }
    *p = d->buf + d->end;
    *n = d->cap - d->end;
    return 0;
}

void proto_decoder_commit(struct proto_decoder *d, size_t n)
{
    d->end += n;
}

int proto_decoder_feed(struct proto_decoder *d, const void *data, size_t len)
{
    const uint8_t *src = data;

    while (len > 0) {
        uint8_t *p;
        size_t n;
        int rc = proto_decoder_space(d, &p, &n);

        if (rc != 0)
            return rc;
        if (n > len)
            n = len;
        memcpy(p, src, n);
        proto_decoder_commit(d, n);
        src += n;
        len -= n;
    }
    return 0;
}

int proto_decoder_next(struct proto_decoder *d, struct proto_frame *f)
{
    size_t frame;

    if (d->err)
        return d->err;
    if (d->end - d->start < PROTO_HDR_LEN)
        return 0;
    if (check_header(d, &frame) != 0)
        return d->err;
    if (d->end - d->start < frame)
        return 0;
    f->type = d->buf[d->start + 4];
    f->len = (uint32_t)(frame - PROTO_HDR_LEN);
    f->payload = d->buf + d->start + PROTO_HDR_LEN;
    d->start += frame;
    return 1;
}

/* ---------------------------------------------------------------- parsing */

static int decode_result_end(struct rd *r, struct proto_msg *m)
{
    bool seen[PROTO_NTABLES] = {false};
    uint8_t n, i;

    m->u.result_end.status = rd_u8(r);
    n = rd_u8(r);
    for (i = 0; i < n && !r->err; i++) {
        uint8_t t = rd_u8(r);
        uint64_t v = rd_u64(r);

        if (r->err)
            break;
        if (t >= PROTO_NTABLES || seen[t])
            return PROTO_ERR_MALFORMED;
        seen[t] = true;
        m->u.result_end.rejected[t] = v;
    }
    return rd_end(r);
}

static int decode_hello(struct rd *r, struct proto_msg *m)
{
    const uint8_t *magic = rd_take(r, 4);

    if (magic == NULL)
        return r->err;
    if (memcmp(magic, PROTO_MAGIC, 4) != 0)
        return PROTO_ERR_MAGIC;
    m->u.hello.version = rd_u16(r);
    if (!r->err && (m->u.hello.version < PROTO_VERSION_MIN ||
                    m->u.hello.version > PROTO_VERSION))
        return PROTO_ERR_VERSION;
    rd_str(r, m->u.hello.name, PROTO_NAME_MAX);
    m->u.hello.folder[0] = '\0';
    if (!r->err && r->off < r->len) { /* optional: the data folder */
        rd_str(r, m->u.hello.folder, PROTO_FOLDER_MAX);
        if (!r->err && m->u.hello.folder[0] == '\0')
            return PROTO_ERR_MALFORMED; /* sent, then not empty: one form */
    }
    return rd_end(r);
}

static int decode_table_msg(struct rd *r, struct proto_msg *m, uint8_t type)
{
    uint8_t t = rd_u8(r);

    if (r->err)
        return r->err;
    if (t >= PROTO_NTABLES)
        return PROTO_ERR_MALFORMED;
    switch (type) {
    case PROTO_TABLE_BEGIN:
        m->u.table_begin.table = t;
        break;
    case PROTO_BATCH:
        m->u.batch.table = t;
        m->u.batch.rows = rd_u32(r);
        m->u.batch.data = rd_rest(r, &m->u.batch.len);
        break;
    default:
        m->u.table_end.table = t;
        m->u.table_end.rows = rd_u64(r);
        break;
    }
    return rd_end(r);
}

int proto_decode(const struct proto_frame *f, struct proto_msg *m)
{
    struct rd r = {f->payload, f->len, 0, 0};

    memset(m, 0, sizeof(*m));
    m->type = (enum proto_type)f->type;
    switch (f->type) {
    case PROTO_HELLO:
        return decode_hello(&r, m);
    case PROTO_WELCOME:
        m->u.welcome.version = rd_u16(&r);
        rd_str(&r, m->u.welcome.session, PROTO_SESSION_LEN);
        m->u.welcome.max_frame = rd_u32(&r);
        if (!r.err && strlen(m->u.welcome.session) != PROTO_SESSION_LEN)
            return PROTO_ERR_MALFORMED;
        return rd_end(&r);
    case PROTO_ERROR:
        m->u.error.code = rd_u16(&r);
        rd_str(&r, m->u.error.text, PROTO_TEXT_MAX);
        return rd_end(&r);
    case PROTO_TABLE_BEGIN:
    case PROTO_BATCH:
    case PROTO_TABLE_END:
        return decode_table_msg(&r, m, f->type);
    case PROTO_DATA_END:
        return rd_end(&r);
    case PROTO_RESULT:
        rd_str(&r, m->u.result.file, PROTO_NAME_MAX);
        m->u.result.seq = rd_u32(&r);
        m->u.result.data = rd_rest(&r, &m->u.result.len);
        if (!r.err && m->u.result.file[0] == '\0')
            return PROTO_ERR_MALFORMED;
        return rd_end(&r);
    case PROTO_RESULT_END:
        return decode_result_end(&r, m);
    case PROTO_STATUS:
        rd_str(&r, m->u.status.text, PROTO_TEXT_MAX);
        return rd_end(&r);
    default:
        return PROTO_ERR_TYPE;
    }
}

/* ---------------------------------------------------------------- encoders */

void proto_buf_init(struct proto_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void proto_buf_fini(struct proto_buf *b)
{
    free(b->ptr);
    memset(b, 0, sizeof(*b));
}

void proto_buf_reset(struct proto_buf *b)
{
    b->len = 0;
}

static int buf_reserve(struct proto_buf *b, size_t more)
{
    size_t cap;
    uint8_t *p;

    if (b->cap - b->len >= more)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap - b->len < more)
        cap *= 2;
    p = realloc(b->ptr, cap);
    if (p == NULL)
        return PROTO_ERR_NOMEM;
    b->ptr = p;
    b->cap = cap;
    return 0;
}

/* Frame builder: begin() reserves the header, end() patches the length. */
struct wr {
    struct proto_buf *b;
    size_t head;
    int err;
};

static void wr_bytes(struct wr *w, const void *p, size_t n)
{
    if (w->err || n == 0)
        return;
    w->err = buf_reserve(w->b, n);
    if (w->err)
        return;
    memcpy(w->b->ptr + w->b->len, p, n);
    w->b->len += n;
}

static void wr_u8(struct wr *w, uint8_t v)
{
    wr_bytes(w, &v, 1);
}

static void wr_u16(struct wr *w, uint16_t v)
{
    uint8_t p[2] = {(uint8_t)(v >> 8), (uint8_t)v};

    wr_bytes(w, p, 2);
}

static void wr_u32(struct wr *w, uint32_t v)
{
    uint8_t p[4];

    put_u32(p, v);
    wr_bytes(w, p, 4);
}

static void wr_u64(struct wr *w, uint64_t v)
{
    wr_u32(w, (uint32_t)(v >> 32));
    wr_u32(w, (uint32_t)v);
}

static void wr_str(struct wr *w, const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n > max) {
        w->err = w->err ? w->err : PROTO_ERR_ARG;
        return;
    }
    wr_u16(w, (uint16_t)n);
    wr_bytes(w, s, n);
}

static void wr_begin(struct wr *w, struct proto_buf *b, uint8_t type)
{
    uint8_t h[PROTO_HDR_LEN] = {0, 0, 0, 0, type};

    w->b = b;
    w->head = b->len;
    w->err = 0;
    wr_bytes(w, h, sizeof(h));
}

/* Patches the length; on error the partial frame is removed. */
static int wr_end(struct wr *w)
{
    size_t payload = w->b->len - w->head - PROTO_HDR_LEN;

    if (!w->err && payload > UINT32_MAX)
        w->err = PROTO_ERR_ARG;
    if (w->err) {
        w->b->len = w->head;
        return w->err;
    }
    put_u32(w->b->ptr + w->head, (uint32_t)payload);
    return 0;
}

int proto_enc_hello(struct proto_buf *b, uint16_t version,
                    const char *client_name, const char *folder)
{
    struct wr w;

    wr_begin(&w, b, PROTO_HELLO);
    wr_bytes(&w, PROTO_MAGIC, 4);
    wr_u16(&w, version);
    wr_str(&w, client_name, PROTO_NAME_MAX);
    if (folder != NULL && folder[0] != '\0')
        wr_str(&w, folder, PROTO_FOLDER_MAX);
    return wr_end(&w);
}

int proto_enc_welcome(struct proto_buf *b, uint16_t version,
                      const char *session, uint32_t max_frame)
{
    struct wr w;

    if (strlen(session) != PROTO_SESSION_LEN)
        return PROTO_ERR_ARG;
    wr_begin(&w, b, PROTO_WELCOME);
    wr_u16(&w, version);
    wr_str(&w, session, PROTO_SESSION_LEN);
    wr_u32(&w, max_frame);
    return wr_end(&w);
}

/* A text field cut at PROTO_TEXT_MAX. */
static void wr_text(struct wr *w, const char *text)
{
    size_t n = strlen(text);

    if (n > PROTO_TEXT_MAX)
        n = PROTO_TEXT_MAX;
    wr_u16(w, (uint16_t)n);
    wr_bytes(w, text, n);
}

int proto_enc_error(struct proto_buf *b, uint16_t code, const char *text)
{
    struct wr w;

    wr_begin(&w, b, PROTO_ERROR);
    wr_u16(&w, code);
    wr_text(&w, text);
    return wr_end(&w);
}

int proto_enc_status(struct proto_buf *b, const char *text)
{
    struct wr w;

    wr_begin(&w, b, PROTO_STATUS);
    wr_text(&w, text);
    return wr_end(&w);
}

int proto_enc_table_begin(struct proto_buf *b, uint8_t table)
{
    struct wr w;

    if (table >= PROTO_NTABLES)
        return PROTO_ERR_ARG;
    wr_begin(&w, b, PROTO_TABLE_BEGIN);
    wr_u8(&w, table);
    return wr_end(&w);
}

int proto_batch_prefix(uint8_t out[PROTO_BATCH_PREFIX_LEN], uint8_t table,
                       uint32_t rows, size_t len)
{
    if (table >= PROTO_NTABLES || len > UINT32_MAX - 5)
        return PROTO_ERR_ARG;
    put_u32(out, (uint32_t)(len + 5));
    out[4] = PROTO_BATCH;
    out[5] = table;
    put_u32(out + 6, rows);
    return 0;
}

int proto_enc_batch(struct proto_buf *b, uint8_t table, uint32_t rows,
                    const void *data, size_t len)
{
    uint8_t head[PROTO_BATCH_PREFIX_LEN];
    struct wr w;
    int rc = proto_batch_prefix(head, table, rows, len);

    if (rc != 0)
        return rc;
    w.b = b;
    w.head = b->len;
    w.err = 0;
    wr_bytes(&w, head, sizeof(head));
    wr_bytes(&w, data, len);
    return wr_end(&w);
}

int proto_enc_table_end(struct proto_buf *b, uint8_t table, uint64_t rows)
{
    struct wr w;

    if (table >= PROTO_NTABLES)
        return PROTO_ERR_ARG;
    wr_begin(&w, b, PROTO_TABLE_END);
    wr_u8(&w, table);
    wr_u64(&w, rows);
    return wr_end(&w);
}

int proto_enc_data_end(struct proto_buf *b)
{
    struct wr w;

    wr_begin(&w, b, PROTO_DATA_END);
    return wr_end(&w);
}

size_t proto_result_overhead(size_t name_len)
{
    return 2 + name_len + 4;
}

int proto_enc_result_prefix(struct proto_buf *b, const char *file, uint32_t seq,
                            size_t len)
{
    size_t n = strlen(file);
    size_t payload = proto_result_overhead(n) + len;
    struct wr w;

    if (n == 0 || n > PROTO_NAME_MAX || len > UINT32_MAX ||
        payload > UINT32_MAX)
        return PROTO_ERR_ARG;
    wr_begin(&w, b, PROTO_RESULT);
    wr_str(&w, file, PROTO_NAME_MAX);
    wr_u32(&w, seq);
    if (w.err) {
        b->len = w.head;
        return w.err;
    }
    put_u32(b->ptr + w.head, (uint32_t)payload);
    return 0;
}

int proto_enc_result(struct proto_buf *b, const char *file, uint32_t seq,
                     const void *data, size_t len)
{
    size_t head = b->len;
    int rc = proto_enc_result_prefix(b, file, seq, len);

    if (rc != 0)
        return rc;
    rc = buf_reserve(b, len);
    if (rc != 0) {
        b->len = head;
        return rc;
    }
    if (len > 0)
        memcpy(b->ptr + b->len, data, len);
    b->len += len;
    return 0;
}

int proto_enc_result_end(struct proto_buf *b, uint8_t status,
                         const uint64_t rejected[PROTO_NTABLES])
{
    struct wr w;
    int t;

    wr_begin(&w, b, PROTO_RESULT_END);
    wr_u8(&w, status);
    wr_u8(&w, PROTO_NTABLES);
    for (t = 0; t < PROTO_NTABLES; t++) {
        wr_u8(&w, (uint8_t)t);
        wr_u64(&w, rejected ? rejected[t] : 0);
    }
    return wr_end(&w);
}
