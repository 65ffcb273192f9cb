/*
 * stream.c - the client-stream checks: a small state machine over the
 * decoded frames, and the wording of each refusal (see stream.h).
 */
#include "stream.h"

#include "plan.h"

#include <stdio.h>
#include <string.h>

_Static_assert(PROTO_NTABLES == PLAN_NTABLES, "wire table ids are plan tables");

void gw_stream_init(struct gw_stream *st)
{
    memset(st, 0, sizeof(*st));
    st->open_table = -1;
}

enum gw_verdict gw_stream_header(struct gw_stream *st, int err)
{
    st->err = err;
    if (!st->hello)
        return GW_V_NOT_CLIENT;
    return err == PROTO_ERR_TOO_BIG ? GW_V_TOO_BIG : GW_V_BAD_FRAME;
}

enum gw_verdict gw_stream_hello(struct gw_stream *st,
                                const struct proto_frame *f,
                                struct proto_msg *m)
{
    int rc;

    st->type = f->type;
    if (f->type != PROTO_HELLO)
        return GW_V_NOT_HELLO;
    rc = proto_decode(f, m);
    st->err = rc;
    if (rc == PROTO_ERR_VERSION) {
        st->version = m->u.hello.version;
        return GW_V_BAD_VERSION;
    }
    if (rc == PROTO_ERR_MAGIC)
        return GW_V_BAD_MAGIC;
    if (rc != 0)
        return GW_V_BAD_HELLO;
    st->hello = true;
    st->version = m->u.hello.version;
    return GW_V_OK;
}

static enum gw_verdict on_batch(struct gw_stream *st, const struct proto_msg *m)
{
    st->table = m->u.batch.table;
    if (st->open_table != m->u.batch.table)
        return GW_V_BATCH_OUTSIDE;
    if (m->u.batch.len == 0 || m->u.batch.rows == 0 ||
        m->u.batch.data[m->u.batch.len - 1] != '\n')
        return GW_V_BATCH_LINES;
    return GW_V_BATCH;
}

static enum gw_verdict on_table_begin(struct gw_stream *st, int table)
{
    st->table = table;
    if (st->open_table >= 0)
        return GW_V_TABLE_OPEN;
    if (st->table_done[table])
        return GW_V_TABLE_SENT;
    st->open_table = table;
    return GW_V_OK;
}

static enum gw_verdict on_table_end(struct gw_stream *st, int table,
                                    uint64_t rows)
{
    st->table = table;
    st->said_rows = rows;
    if (st->open_table != table)
        return GW_V_TABLE_CLOSED;
    if (rows != st->rows[table])
        return GW_V_ROW_COUNT;
    st->table_done[table] = true;
    st->open_table = -1;
    return GW_V_OK;
}

enum gw_verdict gw_stream_frame(struct gw_stream *st,
                                const struct proto_frame *f,
                                struct proto_msg *m)
{
    st->type = f->type;
    st->err = proto_decode(f, m);
    if (st->err != 0)
        return GW_V_MALFORMED;
    if (st->data_end)
        return GW_V_UNEXPECTED;
    switch (m->type) {
    case PROTO_TABLE_BEGIN:
        return on_table_begin(st, m->u.table_begin.table);
    case PROTO_BATCH:
        return on_batch(st, m);
    case PROTO_TABLE_END:
        return on_table_end(st, m->u.table_end.table, m->u.table_end.rows);
    case PROTO_DATA_END:
        if (st->open_table >= 0)
            return GW_V_END_OPEN;
        st->data_end = true;
        return GW_V_DATA_END;
    default:
        return GW_V_UNEXPECTED;
    }
}

void gw_stream_batch_done(struct gw_stream *st, const struct proto_msg *m)
{
    st->rows[m->u.batch.table] += m->u.batch.rows;
}

bool gw_verdict_fails(enum gw_verdict v)
{
    return v >= GW_V_NOT_CLIENT;
}

static const char *table_name(int t)
{
    return plan_table_name((enum plan_table)t);
}

/* The refusals of the data stream (all PROTO_E_PROTOCOL). */
static void stream_reason(const struct gw_stream *st, enum gw_verdict v,
                          char *out, size_t n)
{
    const char *name = table_name(st->table);

    switch (v) {
    case GW_V_BATCH_OUTSIDE:
        snprintf(out, n, "BATCH of %s outside its TABLE_BEGIN/TABLE_END", name);
        break;
    case GW_V_BATCH_LINES:
        snprintf(out, n,
                 "BATCH of %s is not whole lines (empty, no rows, or no "
                 "final newline)",
                 name);
        break;
    case GW_V_TABLE_OPEN:
    case GW_V_TABLE_SENT:
        snprintf(out, n, "TABLE_BEGIN of %s: %s", name,
                 v == GW_V_TABLE_OPEN ? "another table is open"
                                      : "table already sent");
        break;
    case GW_V_TABLE_CLOSED:
        snprintf(out, n, "TABLE_END of %s, which is not open", name);
        break;
    case GW_V_ROW_COUNT:
        snprintf(out, n,
                 "TABLE_END of %s says %llu rows, its batches carried "
                 "%llu",
                 name, (unsigned long long)st->said_rows,
                 (unsigned long long)st->rows[st->table]);
        break;
    case GW_V_END_OPEN:
        snprintf(out, n, "DATA_END while table %s is open",
                 table_name(st->open_table));
        break;
    default:
        snprintf(out, n, "unexpected %s %s", proto_type_name(st->type),
                 st->data_end ? "after DATA_END" : "while streaming");
        break;
    }
}

uint16_t gw_stream_reason(const struct gw_stream *st, enum gw_verdict v,
                          long max_frame, char *out, size_t n)
{
    switch (v) {
    case GW_V_NOT_CLIENT:
        snprintf(out, n,
                 "the first frame is not a HELLO (%s): not a "
                 "coffee-stream client?",
                 proto_strerror(st->err));
        return PROTO_E_VERSION;
    case GW_V_TOO_BIG:
        snprintf(out, n, "%s (cap %ld bytes, MAX_FRAME_BYTES)",
                 proto_strerror(st->err), max_frame);
        return PROTO_E_TOO_BIG;
    case GW_V_BAD_FRAME:
        snprintf(out, n, "%s", proto_strerror(st->err));
        return PROTO_E_PROTOCOL;
    case GW_V_NOT_HELLO:
        snprintf(out, n, "expected HELLO, got %s", proto_type_name(st->type));
        return PROTO_E_PROTOCOL;
    case GW_V_BAD_VERSION:
        snprintf(out, n,
                 "protocol version %u is not supported (this gateway "
                 "speaks versions %d to %d)",
                 st->version, PROTO_VERSION_MIN, PROTO_VERSION);
        return PROTO_E_VERSION;
    case GW_V_BAD_MAGIC:
        snprintf(out, n, "bad magic: not a coffee-stream client");
        return PROTO_E_VERSION;
    case GW_V_BAD_HELLO:
        snprintf(out, n, "malformed HELLO: %s", proto_strerror(st->err));
        return PROTO_E_PROTOCOL;
    case GW_V_MALFORMED:
        snprintf(out, n, "malformed %s: %s", proto_type_name(st->type),
                 proto_strerror(st->err));
        return PROTO_E_PROTOCOL;
    default:
        stream_reason(st, v, out, n);
        return PROTO_E_PROTOCOL;
    }
}
