/*
 * conn.c - the client's side of a gateway connection: connect with bounded
 * retries, the HELLO/WELCOME handshake, and framed send/receive over a
 * blocking socket (common/sockio.h, common/proto.h). A broken connection is
 * not logged but returned as CL_LOST with c->why, so that session.c can run
 * the session again.
 */
#include "client.h"

#include "log.h"
#include "sockio.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HANDSHAKE_TIMEOUT_MS 90000 /* > the gateway's broker connect window */
#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 4000

void cl_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !sig_stop_requested())
        ;
}

/* Records why the connection was lost; returns CL_LOST. */
__attribute__((format(printf, 2, 3))) static int lost(struct cl_conn *c,
                                                      const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->why, sizeof(c->why), fmt, ap);
    va_end(ap);
    return CL_LOST;
}

/* ERROR codes after which the same session may succeed on a new
 * connection: the gateway lost the broker, or is going away. */
static bool lost_code(uint16_t code)
{
    return code == PROTO_E_BROKER || code == PROTO_E_SHUTDOWN;
}

int cl_conn_error(struct cl_conn *c, const struct proto_msg *m,
                  const char *what)
{
    if (lost_code(m->u.error.code))
        return lost(c, "%s: %s (code %u)", what, m->u.error.text,
                    m->u.error.code);
    cl_error("%s: %s (code %u)", what, m->u.error.text, m->u.error.code);
    return CL_FAIL;
}

/* HELLO then WELCOME: 0 ok, 1 the gateway is busy (c->why says so: retry),
 * or an enum cl_status. */
static int handshake(struct cl_conn *c, const char *client_name,
                     const char *folder)
{
    char shown[PROTO_FOLDER_MAX + 1];
    struct proto_msg m;
    int rc;

    snprintf(shown, sizeof(shown), "%s", folder);
    if (proto_enc_hello(&c->out, PROTO_VERSION, client_name, shown) != 0) {
        cl_error("client name '%s' is too long (max %d bytes)", client_name,
                 PROTO_NAME_MAX);
        return CL_FAIL;
    }
    rc = cl_conn_flush(c);
    /* A gateway running all the sessions it may keeps us in line, telling
     * our place with STATUS frames until it answers. */
    while (rc == 0 && (rc = cl_conn_recv(c, &m, HANDSHAKE_TIMEOUT_MS)) > 0 &&
           m.type == PROTO_STATUS) {
        log_info("waiting for the gateway: %s", m.u.status.text);
        rc = 0;
    }
    if (rc == 0) {
        cl_error("the gateway at %s did not answer the handshake within %d s",
                 c->addr, HANDSHAKE_TIMEOUT_MS / 1000);
        return CL_FAIL;
    }
    if (rc < 0)
        return rc;
    if (m.type == PROTO_ERROR && m.u.error.code == PROTO_E_BUSY) {
        snprintf(c->why, sizeof(c->why), "is busy (%.100s)", m.u.error.text);
        return 1;
    }
    if (m.type == PROTO_ERROR)
        return cl_conn_error(c, &m, "the gateway refused the session");
    if (m.type != PROTO_WELCOME || m.u.welcome.version < PROTO_VERSION_MIN ||
        m.u.welcome.version > PROTO_VERSION) {
        cl_error("unexpected handshake answer %s from %s (not a coffee-stream "
                 "gateway of protocol version %d?)",
                 proto_type_name(m.type), c->addr, PROTO_VERSION);
        return CL_FAIL;
    }
    memcpy(c->session, m.u.welcome.session, sizeof(c->session));
    c->max_frame = m.u.welcome.max_frame;
    /* Results may come in frames up to the gateway's cap. */
    proto_decoder_fini(&c->dec);
    proto_decoder_init(&c->dec, c->max_frame);
    return 0;
}

int cl_conn_open(struct cl_conn *c, const char *addr, int retries,
                 int timeout_ms, const char *client_name, const char *folder)
{
    char host[256], port[32];
    int attempt, delay = BACKOFF_FIRST_MS, rc;

    memset(c, 0, sizeof(*c));
    c->addr = addr;
    c->fd = -1;
    proto_decoder_init(&c->dec, PROTO_MAX_FRAME_DEFAULT);
    proto_buf_init(&c->out);
    if (sockio_split_hostport(addr, host, sizeof(host), port, sizeof(port)) !=
        0) {
        cl_error("bad gateway address '%s' (expected host:port)", addr);
        return CL_FAIL;
    }
    for (attempt = 0;; attempt++) {
        c->attempts = attempt + 1;
        c->fd = sockio_connect(host, port, timeout_ms);
        if (c->fd >= 0) {
            rc = handshake(c, client_name, folder);
            if (rc <= 0)
                return rc;
            close(c->fd);
            c->fd = -1;
            proto_decoder_fini(&c->dec);
            proto_decoder_init(&c->dec, PROTO_MAX_FRAME_DEFAULT);
        } else {
            snprintf(c->why, sizeof(c->why), "is unreachable (%s)",
                     c->fd == -ENOENT ? "unknown host" : strerror(-c->fd));
            c->fd = -1;
        }
        if (attempt >= retries || sig_stop_requested())
            break;
        cl_warn("gateway %s %s; retry %d/%d in %.2f s", addr, c->why,
                attempt + 1, retries, delay / 1000.0);
        cl_sleep_ms(delay);
        delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
    }
    if (sig_stop_requested()) {
        cl_error("interrupted while connecting to the gateway at %s", addr);
        return CL_FAIL;
    }
    return CL_UNREACHABLE;
}

void cl_conn_close(struct cl_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    proto_decoder_fini(&c->dec);
    proto_buf_fini(&c->out);
}

/* Reads once into the decoder: 1 read, 0 timeout, CL_LOST (error or end
 * of stream), CL_FAIL (logged unless `quiet`). */
static int fill(struct cl_conn *c, int timeout_ms, bool quiet)
{
    uint8_t *p;
    size_t room;
    long n;
    int rc;

    do
        rc = sockio_wait(c->fd, -1, timeout_ms);
    while (rc == -EINTR && !sig_stop_requested());
    if (sig_stop_requested()) {
        if (!quiet)
            cl_error("interrupted");
        return CL_FAIL;
    }
    if (rc < 0)
        return lost(c, "waiting for the gateway %s: %s", c->addr,
                    strerror(-rc));
    if (rc == 0)
        return 0;
    rc = proto_decoder_space(&c->dec, &p, &room);
    if (rc != 0) {
        if (!quiet)
            cl_error("bad frame from the gateway: %s", proto_strerror(rc));
        return CL_FAIL;
    }
    n = sockio_read(c->fd, p, room);
    if (n == -EINTR)
        return 0;
    if (n <= 0)
        return lost(c, "the gateway %s closed the connection%s%s", c->addr,
                    n < 0 ? ": " : "", n < 0 ? strerror((int)-n) : "");
    proto_decoder_commit(&c->dec, (size_t)n);
    return 1;
}

static int recv_msg(struct cl_conn *c, struct proto_msg *m, int timeout_ms,
                    bool quiet)
{
    struct proto_frame f;
    int rc;

    for (;;) {
        rc = proto_decoder_next(&c->dec, &f);
        if (rc == 1) {
            rc = proto_decode(&f, m);
            if (rc == 0)
                return 1;
        }
        if (rc < 0) {
            if (!quiet)
                cl_error("bad frame from the gateway: %s", proto_strerror(rc));
            return CL_FAIL;
        }
        if (sig_stop_requested()) {
            if (!quiet)
                cl_error("interrupted");
            return CL_FAIL;
        }
        rc = fill(c, timeout_ms, quiet);
        if (rc <= 0)
            return rc;
    }
}

int cl_conn_recv(struct cl_conn *c, struct proto_msg *m, int timeout_ms)
{
    return recv_msg(c, m, timeout_ms, false);
}

int cl_conn_send_raw(struct cl_conn *c, const void *p, size_t n)
{
    struct proto_msg m;
    int rc = sockio_send_all(c->fd, p, n);

    if (rc == 0) {
        c->sent += n;
        return 0;
    }
    /* The gateway may have said why before closing: that decides. */
    if (recv_msg(c, &m, 1000, true) == 1 && m.type == PROTO_ERROR) {
        if (!lost_code(m.u.error.code))
            cl_error("sending to the gateway %s failed: %s", c->addr,
                     strerror(-rc));
        return cl_conn_error(c, &m, "gateway error");
    }
    if (sig_stop_requested()) {
        cl_error("interrupted");
        return CL_FAIL;
    }
    return lost(c, "sending to %s failed: %s", c->addr, strerror(-rc));
}

int cl_conn_flush(struct cl_conn *c)
{
    int rc = cl_conn_send_raw(c, c->out.ptr, c->out.len);

    proto_buf_reset(&c->out);
    return rc;
}
