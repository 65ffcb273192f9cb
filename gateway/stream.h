/*
 * stream.h - the checks of what a client sends (pure: no I/O, no locks, no
 * logging). The session thread feeds every frame through these functions
 * and acts on the verdict: publish a batch, confirm the data, or end the
 * session with the ERROR that gw_stream_reason() words. The rules are
 * docs/PROTOCOL.md's: HELLO first; then per table TABLE_BEGIN, BATCHes of
 * whole lines, TABLE_END with the row count the batches carried; each
 * table at most once, one at a time; then DATA_END, after which the client
 * sends nothing.
 */
#ifndef CS_GW_STREAM_H
#define CS_GW_STREAM_H

#include "proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum gw_verdict {
    GW_V_OK,       /* accepted, nothing to do (HELLO, TABLE_BEGIN/END) */
    GW_V_BATCH,    /* publish it, then gw_stream_batch_done() */
    GW_V_DATA_END, /* the data is complete: confirm it */
    /* every verdict below ends the session (gw_stream_reason) */
    GW_V_NOT_CLIENT,    /* first frame header refused: not a client */
    GW_V_TOO_BIG,       /* frame over the cap (from its header) */
    GW_V_BAD_FRAME,     /* frame header refused (unknown type) */
    GW_V_NOT_HELLO,     /* first frame is not a HELLO */
    GW_V_BAD_VERSION,   /* HELLO of an unsupported protocol version */
    GW_V_BAD_MAGIC,     /* HELLO without the magic */
    GW_V_BAD_HELLO,     /* HELLO malformed */
    GW_V_MALFORMED,     /* a later frame malformed */
    GW_V_BATCH_OUTSIDE, /* BATCH of a table that is not open */
    GW_V_BATCH_LINES,   /* BATCH that is not whole lines */
    GW_V_TABLE_OPEN,    /* TABLE_BEGIN while another table is open */
    GW_V_TABLE_SENT,    /* TABLE_BEGIN of a table already sent */
    GW_V_TABLE_CLOSED,  /* TABLE_END of a table that is not open */
    GW_V_ROW_COUNT,     /* TABLE_END's row count differs from the batches' */
    GW_V_END_OPEN,      /* DATA_END while a table is open */
    GW_V_UNEXPECTED, /* a frame the client never sends, or any after DATA_END */
};

/* One client stream's state; what the last verdict was about, for its
 * wording. Caller's storage: gw_stream_init. */
struct gw_stream {
    bool hello;     /* a HELLO was accepted */
    bool data_end;  /* DATA_END was accepted */
    int open_table; /* -1: none */
    bool table_done[PROTO_NTABLES];
    uint64_t rows[PROTO_NTABLES]; /* rows of the batches published */
    uint16_t version;             /* the client's, once hello */
    /* context of the last verdict */
    uint8_t type;
    int err;
    int table;
    uint64_t said_rows;
};

void gw_stream_init(struct gw_stream *st);

/* The decoder refused a frame header (err: a PROTO_ERR_*). */
enum gw_verdict gw_stream_header(struct gw_stream *st, int err);

/* The first frame: decoded into *m (borrowing f's payload). GW_V_OK when it
 * is an acceptable HELLO (m->u.hello is then valid). */
enum gw_verdict gw_stream_hello(struct gw_stream *st,
                                const struct proto_frame *f,
                                struct proto_msg *m);

/* A frame after the handshake, decoded into *m (borrowing f's payload). */
enum gw_verdict gw_stream_frame(struct gw_stream *st,
                                const struct proto_frame *f,
                                struct proto_msg *m);

/* The batch m (a GW_V_BATCH) was published: its rows count. */
void gw_stream_batch_done(struct gw_stream *st, const struct proto_msg *m);

/* True for the verdicts that end the session. */
bool gw_verdict_fails(enum gw_verdict v);

/* Words the last failing verdict v of st for the client's ERROR frame
 * (max_frame: the cap, for GW_V_TOO_BIG); returns its PROTO_E_* code. */
uint16_t gw_stream_reason(const struct gw_stream *st, enum gw_verdict v,
                          long max_frame, char *out, size_t n);

#endif
