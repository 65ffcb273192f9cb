/*
 * proto.h - the client <-> gateway wire protocol (docs/PROTOCOL.md): a pure
 * codec with no sockets inside, so it is unit-testable and fuzzable.
 *
 * Every frame is a 5-byte header, a big-endian u32 payload length and a u8
 * type, followed by the payload. Integers are big-endian; strings are a u16
 * length and that many bytes (no NUL, none allowed inside).
 *
 * Receiving: feed bytes into a struct proto_decoder (it copes with partial
 * reads and checks the length and the type from the header BEFORE buffering
 * the payload), take whole frames out with proto_decoder_next(), and parse a
 * frame's payload with proto_decode(). Sending: the proto_enc_* functions
 * append whole frames to a growable struct proto_buf; the *_prefix functions
 * write only a frame's head so a large body can be sent after it unchanged.
 *
 * Errors are negative enum proto_err codes.
 */
#ifndef CS_PROTO_H
#define CS_PROTO_H

#include "names.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_MAGIC "CSTR"  /* first 4 bytes of a HELLO payload */
#define PROTO_VERSION 2     /* the newest version spoken */
#define PROTO_VERSION_MIN 1 /* the oldest still accepted */
#define PROTO_HDR_LEN 5     /* u32 length + u8 type */
#define PROTO_MAX_FRAME_DEFAULT (8u << 20) /* payload cap, bytes */
#define PROTO_MAX_FRAME_MIN 4096u
#define PROTO_MAX_FRAME_LIMIT (256u << 20)

#define PROTO_NAME_MAX 63        /* client name, result file name */
#define PROTO_FOLDER_MAX 127     /* data folder name in HELLO */
#define PROTO_SESSION_LEN 36     /* UUID text */
#define PROTO_TEXT_MAX 1023      /* error text */
#define PROTO_NTABLES CS_NTABLES /* table ids 0..4, see enum proto_table */

/* BATCH head: header + u8 table + u32 rows; the CSV bytes follow. */
#define PROTO_BATCH_PREFIX_LEN (PROTO_HDR_LEN + 5)

enum proto_type {
    PROTO_HELLO = 0x01,       /* c->g magic, version, client name */
    PROTO_WELCOME = 0x02,     /* g->c version, session id, max frame */
    PROTO_ERROR = 0x03,       /* both ways: code, text; then close */
    PROTO_TABLE_BEGIN = 0x10, /* c->g table */
    PROTO_BATCH = 0x11,       /* c->g table, rows, whole CSV lines */
    PROTO_TABLE_END = 0x12,   /* c->g table, rows sent */
    PROTO_DATA_END = 0x13,    /* c->g all tables sent */
    PROTO_RESULT = 0x20,      /* g->c file name, chunk seq, bytes */
    PROTO_RESULT_END = 0x21,  /* g->c status, rejected rows per table */
    PROTO_STATUS = 0x22,      /* g->c (version 2) what the session waits for */
};

/* Table ids on the wire: 0.. in the order of common/names.h (the order of
 * enum plan_table too). */
#define PROTO_TABLE_ID(id, name) PROTO_T_##id,
enum proto_table {
    CS_TABLES(PROTO_TABLE_ID)
};
#undef PROTO_TABLE_ID

/* Codes carried by ERROR frames. */
enum proto_code {
    PROTO_E_PROTOCOL = 1, /* malformed frame, unexpected message */
    PROTO_E_VERSION = 2,  /* unsupported protocol version or bad magic */
    PROTO_E_TOO_BIG = 3,  /* frame over the size cap */
    PROTO_E_BUSY = 4,     /* too many sessions */
    PROTO_E_IDLE = 5,     /* nothing received for too long */
    PROTO_E_BROKER = 6,   /* the gateway lost the message broker */
    PROTO_E_PIPELINE = 7, /* the pipeline failed this session */
    PROTO_E_SHUTDOWN = 8, /* the gateway is shutting down */
    PROTO_E_INTERNAL = 9,
};

enum proto_err {
    PROTO_OK = 0,
    PROTO_ERR_TRUNCATED = -1, /* payload shorter than its fields */
    PROTO_ERR_TOO_BIG = -2,   /* header announces more than the cap */
    PROTO_ERR_TYPE = -3,      /* unknown frame type */
    PROTO_ERR_MALFORMED = -4, /* bad field value, trailing bytes */
    PROTO_ERR_VERSION = -5,   /* HELLO of another protocol version */
    PROTO_ERR_MAGIC = -6,     /* HELLO without the magic */
    PROTO_ERR_NOMEM = -7,
    PROTO_ERR_ARG = -8, /* encoder argument out of range */
};

/* A whole frame; payload points into the decoder's buffer. */
struct proto_frame {
    uint8_t type;
    const uint8_t *payload;
    uint32_t len;
};

/* A parsed frame. Strings are copied and NUL-terminated; `data` pointers
 * borrow the frame's payload (valid as long as the frame is). */
struct proto_msg {
    enum proto_type type;
    union {
        struct {
            uint16_t version;
            char name[PROTO_NAME_MAX + 1];
            char folder[PROTO_FOLDER_MAX + 1]; /* "" when not sent */
        } hello;
        struct {
            uint16_t version;
            char session[PROTO_SESSION_LEN + 1];
            uint32_t max_frame;
        } welcome;
        struct {
            uint16_t code;
            char text[PROTO_TEXT_MAX + 1];
        } error;
        struct {
            uint8_t table;
        } table_begin;
        struct {
            uint8_t table;
            uint32_t rows;
            const uint8_t *data;
            size_t len;
        } batch;
        struct {
            uint8_t table;
            uint64_t rows;
        } table_end;
        struct {
            char file[PROTO_NAME_MAX + 1];
            uint32_t seq;
            const uint8_t *data;
            size_t len;
        } result;
        struct {
            uint8_t status; /* 0: ok */
            uint64_t rejected[PROTO_NTABLES];
        } result_end;
        struct {
            char text[PROTO_TEXT_MAX + 1]; /* "" when nothing is wrong */
        } status;
    } u;
};

/* ---- incremental decoder ---- */

struct proto_decoder {
    uint8_t *buf;
    size_t cap, start, end; /* unconsumed bytes are buf[start, end) */
    uint32_t max_payload;
    int err; /* sticky error */
};

/* Initializes an empty decoder accepting payloads up to max_payload bytes
 * (no allocation yet). */
void proto_decoder_init(struct proto_decoder *d, uint32_t max_payload);
void proto_decoder_fini(struct proto_decoder *d);

/* Gives a writable area at the end of the buffer for a read(2): *p and *n
 * (n >= 1). Frames previously returned by proto_decoder_next() become
 * invalid. Returns 0, PROTO_ERR_NOMEM, or the decoder's sticky error
 * (a buffered header that is too big or of an unknown type). */
int proto_decoder_space(struct proto_decoder *d, uint8_t **p, size_t *n)
    __attribute__((warn_unused_result));

/* Records that n bytes were written into the area from _space(). */
void proto_decoder_commit(struct proto_decoder *d, size_t n);

/* Copies len bytes in (space + commit). Same returns as _space(). */
int proto_decoder_feed(struct proto_decoder *d, const void *data, size_t len)
    __attribute__((warn_unused_result));

/* Takes the next whole frame out: returns 1 with *f filled (valid until the
 * next _space/_feed/_fini), 0 when more bytes are needed, or a negative
 * error (PROTO_ERR_TOO_BIG, PROTO_ERR_TYPE) decided from the header alone;
 * errors are sticky. */
int proto_decoder_next(struct proto_decoder *d, struct proto_frame *f)
    __attribute__((warn_unused_result));

/* Bytes buffered but not yet returned as frames. */
size_t proto_decoder_pending(const struct proto_decoder *d);

/* Parses a frame's payload. Returns 0 or a negative error. For a HELLO of a
 * version outside [PROTO_VERSION_MIN, PROTO_VERSION] m->u.hello.version is
 * set and PROTO_ERR_VERSION returned. */
int proto_decode(const struct proto_frame *f, struct proto_msg *m)
    __attribute__((warn_unused_result));

/* True for a type this protocol version defines. */
bool proto_type_known(uint8_t type);

/* ---- encoders ---- */

struct proto_buf {
    uint8_t *ptr;
    size_t len, cap;
};

void proto_buf_init(struct proto_buf *b);
void proto_buf_fini(struct proto_buf *b);
void proto_buf_reset(struct proto_buf *b); /* len = 0, keeps the memory */

/* Each appends one whole frame to b. Returns 0, PROTO_ERR_ARG (a string or
 * payload too long, a table id out of range) or PROTO_ERR_NOMEM. */
/* HELLO; folder (the data folder streamed, for the operators' view) may be
 * NULL or "": then it is left out, as older clients do. */
int proto_enc_hello(struct proto_buf *b, uint16_t version,
                    const char *client_name, const char *folder)
    __attribute__((warn_unused_result));
/* WELCOME answers with the version the session will speak (the client's). */
int proto_enc_welcome(struct proto_buf *b, uint16_t version,
                      const char *session, uint32_t max_frame)
    __attribute__((warn_unused_result));
int proto_enc_error(struct proto_buf *b, uint16_t code, const char *text)
    __attribute__((warn_unused_result)); /* text is cut at PROTO_TEXT_MAX */
int proto_enc_table_begin(struct proto_buf *b, uint8_t table)
    __attribute__((warn_unused_result));
int proto_enc_batch(struct proto_buf *b, uint8_t table, uint32_t rows,
                    const void *data, size_t len)
    __attribute__((warn_unused_result));
int proto_enc_table_end(struct proto_buf *b, uint8_t table, uint64_t rows)
    __attribute__((warn_unused_result));
int proto_enc_data_end(struct proto_buf *b) __attribute__((warn_unused_result));
int proto_enc_result(struct proto_buf *b, const char *file, uint32_t seq,
                     const void *data, size_t len)
    __attribute__((warn_unused_result));
int proto_enc_result_end(struct proto_buf *b, uint8_t status,
                         const uint64_t rejected[PROTO_NTABLES])
    __attribute__((warn_unused_result));
int proto_enc_status(struct proto_buf *b, const char *text)
    __attribute__((warn_unused_result)); /* text is cut at PROTO_TEXT_MAX */

/* Writes the head of a BATCH frame whose `len` CSV bytes are sent right
 * after it (zero-copy sending). Returns 0 or PROTO_ERR_ARG. */
int proto_batch_prefix(uint8_t out[PROTO_BATCH_PREFIX_LEN], uint8_t table,
                       uint32_t rows, size_t len)
    __attribute__((warn_unused_result));

/* Appends the head of a RESULT frame whose `len` bytes are sent after it. */
int proto_enc_result_prefix(struct proto_buf *b, const char *file, uint32_t seq,
                            size_t len) __attribute__((warn_unused_result));

/* Payload overhead of a RESULT frame for a file name of name_len bytes. */
size_t proto_result_overhead(size_t name_len);

/* ---- names ---- */

const char *proto_strerror(int err);         /* static text */
const char *proto_type_name(uint8_t type);   /* "BATCH", ... or "?" */
const char *proto_table_name(uint8_t table); /* "transactions", ... or NULL */
int proto_table_by_name(const char *name);   /* id or -1 */

#endif
