/*
 * send.c - streams the tables: each file is read into a buffer, cut into
 * whole CSV records (common/batcher.h; quoted newlines stay inside their
 * record), and the records are packed into BATCH frames of at most
 * batch_bytes of data, sent straight from the batch buffer (the frame head
 * lives in its headroom). The header line of each file is never sent.
 * Every function returns 0 or an enum cl_status, passed up unchanged so
 * that a lost gateway stays distinguishable from bad input.
 */
#include "client.h"

#include "batcher.h"
#include "log.h"
#include "sockio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK ((size_t)256 * 1024)

struct sender {
    struct cl_conn *c;
    struct batcher b;
    struct cl_progress *p;
    uint8_t table;
    uint64_t rows; /* rows of the current table */
    char *rbuf;    /* file read buffer */
    size_t rcap;
};

/* Between batches, a gateway that gave up has sent ERROR (or closed):
 * report it now rather than at the next failing write. A STATUS says what
 * the pipeline waits for. */
static int check_incoming(struct sender *s)
{
    struct proto_msg m;
    int rc;

    while (sockio_wait(s->c->fd, -1, 0) > 0) {
        rc = cl_conn_recv(s->c, &m, 0);
        if (rc <= 0)
            return rc;
        if (m.type == PROTO_ERROR)
            return cl_conn_error(s->c, &m, "gateway error");
        if (m.type != PROTO_STATUS) {
            cl_error("unexpected %s from the gateway while sending data",
                     proto_type_name(m.type));
            return CL_FAIL;
        }
        cl_progress_status(s->p, m.u.status.text);
    }
    return 0;
}

static int send_batch(struct sender *s)
{
    int rc;

    if (s->b.rows == 0)
        return 0;
    if (proto_batch_prefix(s->b.mem, s->table, s->b.rows, s->b.len) != 0) {
        cl_error("a batch of %zu bytes does not fit in a frame", s->b.len);
        return CL_FAIL;
    }
    rc = cl_conn_send_raw(s->c, s->b.mem, s->b.headroom + s->b.len);
    if (rc != 0)
        return rc;
    s->rows += s->b.rows;
    batcher_clear(&s->b);
    return check_incoming(s);
}

static int add_record(struct sender *s, const char *file,
                      const struct batcher_rec *r)
{
    enum batcher_add_result a = batcher_add(&s->b, s->rbuf + r->off, r->len);
    int rc;

    if (a == BATCHER_FULL) {
        rc = send_batch(s);
        if (rc != 0)
            return rc;
        a = batcher_add(&s->b, s->rbuf + r->off, r->len);
    }
    if (a == BATCHER_TOO_LONG) {
        cl_error("%s:%llu: line of %zu bytes is longer than the batch limit "
                 "(%zu bytes, see --batch-bytes)",
                 file, (unsigned long long)r->line, r->len + 1, s->b.limit);
        return CL_FAIL;
    }
    return 0;
}

/* Drains the complete records in rbuf[0, len); the first record of a file
 * (line 1) is its header, already checked, and is skipped. */
static int drain(struct sender *s, const char *file, struct batcher_scan *sc,
                 size_t len)
{
    struct batcher_rec r;
    int rc;

    while (batcher_scan_next(sc, s->rbuf, len, &r) == 1) {
        rc = r.line != 1 ? add_record(s, file, &r) : 0;
        if (rc != 0)
            return rc;
    }
    if (len - sc->start > s->b.limit) {
        cl_error("%s:%llu: line longer than the batch limit (%zu bytes, see "
                 "--batch-bytes)%s",
                 file, (unsigned long long)sc->line, s->b.limit,
                 sc->quoted ? " or an unterminated quoted field" : "");
        return CL_FAIL;
    }
    return 0;
}

static int send_file(struct sender *s, const char *file)
{
    struct batcher_scan sc;
    struct batcher_rec r;
    size_t len = 0;
    int rc = CL_FAIL, fd = open(file, O_RDONLY);

    if (fd < 0) {
        cl_error("cannot open %s: %s", file, strerror(errno));
        return CL_FAIL;
    }
    batcher_scan_init(&sc, 1);
    for (;;) {
        ssize_t n;

        if (sc.start > 0 && s->rcap - len < READ_CHUNK) {
            memmove(s->rbuf, s->rbuf + sc.start, len - sc.start);
            len -= sc.start;
            batcher_scan_shift(&sc, sc.start);
        }
        n = read(fd, s->rbuf + len, s->rcap - len);
        if (n < 0 && errno == EINTR && !sig_stop_requested())
            continue;
        if (n < 0 || sig_stop_requested()) {
            cl_error("reading %s: %s", file,
                     sig_stop_requested() ? "interrupted" : strerror(errno));
            rc = CL_FAIL;
            goto out_close;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        cl_progress_add(s->p, (uint64_t)n, proto_table_name(s->table));
        rc = drain(s, file, &sc, len);
        if (rc != 0)
            goto out_close;
    }
    switch (batcher_scan_last(&sc, s->rbuf, len, &r)) {
    case -1:
        cl_error("%s:%llu: quoted field not closed at end of file", file,
                 (unsigned long long)sc.line);
        rc = CL_FAIL;
        break;
    case 1:
        rc = r.line != 1 ? add_record(s, file, &r) : 0;
        break;
    default:
        rc = 0;
        break;
    }
out_close:
    close(fd);
    return rc;
}

/* Encodes one control frame (which cannot fail but for memory) and sends
 * it. */
static int send_ctl(struct cl_conn *c, int enc_rc)
{
    if (enc_rc != 0) {
        cl_error("cannot encode a frame: %s", proto_strerror(enc_rc));
        return CL_FAIL;
    }
    return cl_conn_flush(c);
}

static int send_table(struct sender *s, struct cl_table *tb)
{
    size_t i;
    int rc;

    s->table = (uint8_t)tb->id;
    s->rows = 0;
    rc = send_ctl(s->c, proto_enc_table_begin(&s->c->out, s->table));
    for (i = 0; rc == 0 && i < tb->nfiles; i++)
        rc = send_file(s, tb->files[i]);
    if (rc == 0)
        rc = send_batch(s);
    if (rc != 0)
        return rc;
    tb->rows = s->rows;
    log_debug("table sent table=%s files=%zu rows=%llu",
              proto_table_name(s->table), tb->nfiles,
              (unsigned long long)s->rows);
    return send_ctl(s->c, proto_enc_table_end(&s->c->out, s->table, s->rows));
}

int cl_send_dataset(struct cl_conn *c, struct cl_dataset *ds,
                    size_t batch_bytes, struct cl_progress *p)
{
    struct sender s;
    int i, rc = CL_FAIL;

    memset(&s, 0, sizeof(s));
    s.c = c;
    s.p = p;
    s.rcap = batch_bytes + 2 * READ_CHUNK;
    s.rbuf = malloc(s.rcap);
    if (s.rbuf == NULL ||
        batcher_init(&s.b, batch_bytes, PROTO_BATCH_PREFIX_LEN) != 0) {
        cl_error("out of memory for the send buffers");
        goto out_free;
    }
    rc = 0;
    for (i = 0; rc == 0 && i < PROTO_NTABLES; i++)
        rc = send_table(&s, &ds->tables[cl_send_order[i]]);
    if (rc == 0)
        rc = send_ctl(c, proto_enc_data_end(&c->out));
out_free:
    batcher_fini(&s.b);
    free(s.rbuf);
    return rc;
}
