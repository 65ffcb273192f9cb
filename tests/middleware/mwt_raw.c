/*
 * mwt_raw.c - a bare rabbitmq-c client for the compression cases: it
 * publishes bodies with whatever properties a test wants (a corrupt LZ4
 * block, a lying x-raw-len) and fetches messages with basic.get to look at
 * what the broker really holds (content_encoding, headers, wire bytes),
 * which the middleware deliberately hides.
 */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mwt_lz4.h"

struct mwt_raw {
    amqp_connection_state_t st;
    char *url;
};

static bool rpc_ok(amqp_connection_state_t st, const char *what)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(st);

    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return true;
    printf("FAIL: raw %s: reply type %d\n", what, (int)r.reply_type);
    return false;
}

struct mwt_raw *mwt_raw_open(void)
{
    struct amqp_connection_info ci;
    struct mwt_raw *r = calloc(1, sizeof(*r));
    const char *url = getenv("AMQP_URL");
    amqp_socket_t *s;
    amqp_rpc_reply_t lr;

    if (r == NULL || url == NULL || (r->url = strdup(url)) == NULL)
        goto out_free;
    amqp_default_connection_info(&ci);
    if (amqp_parse_url(r->url, &ci) != AMQP_STATUS_OK)
        goto out_free;
    r->st = amqp_new_connection();
    s = r->st != NULL ? amqp_tcp_socket_new(r->st) : NULL;
    if (s == NULL || amqp_socket_open(s, ci.host, ci.port) != AMQP_STATUS_OK)
        goto out_destroy;
    lr = amqp_login(r->st, ci.vhost[0] != '\0' ? ci.vhost : "/", 0, 131072, 0,
                    AMQP_SASL_METHOD_PLAIN, ci.user, ci.password);
    if (lr.reply_type != AMQP_RESPONSE_NORMAL)
        goto out_destroy;
    (void)amqp_channel_open(r->st, 1);
    if (!rpc_ok(r->st, "channel.open"))
        goto out_destroy;
    return r;

out_destroy:
    if (r->st != NULL)
        amqp_destroy_connection(r->st);
out_free:
    if (r != NULL)
        free(r->url);
    free(r);
    printf("FAIL: raw connection to AMQP_URL\n");
    return NULL;
}

void mwt_raw_close(struct mwt_raw *r)
{
    if (r == NULL)
        return;
    (void)amqp_channel_close(r->st, 1, AMQP_REPLY_SUCCESS);
    (void)amqp_connection_close(r->st, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(r->st);
    free(r->url);
    free(r);
}

int mwt_raw_publish(struct mwt_raw *r, const char *queue, const void *body,
                    size_t len, const char *encoding, int64_t raw_len)
{
    amqp_basic_properties_t p;
    amqp_table_entry_t e[2];
    amqp_bytes_t b;

    memset(&p, 0, sizeof(p));
    p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG;
    p.delivery_mode = 2;
    e[0].key = amqp_cstring_bytes("x-kind");
    e[0].value.kind = AMQP_FIELD_KIND_UTF8;
    e[0].value.value.bytes = amqp_cstring_bytes("data");
    p.headers.entries = e;
    p.headers.num_entries = 1;
    if (raw_len >= 0) {
        e[1].key = amqp_cstring_bytes("x-raw-len");
        e[1].value.kind = AMQP_FIELD_KIND_I64;
        e[1].value.value.i64 = raw_len;
        p.headers.num_entries = 2;
    }
    if (encoding != NULL) {
        p._flags |= AMQP_BASIC_CONTENT_ENCODING_FLAG;
        p.content_encoding = amqp_cstring_bytes(encoding);
    }
    b.bytes = (void *)(uintptr_t)body;
    b.len = len;
    return amqp_basic_publish(r->st, 1, amqp_empty_bytes,
                              amqp_cstring_bytes(queue), 0, 0, &p,
                              b) == AMQP_STATUS_OK
               ? 0
               : -1;
}

static int64_t header_int(const amqp_table_t *t, const char *key, int64_t def)
{
    int i;

    for (i = 0; i < t->num_entries; i++)
        if (t->entries[i].key.len == strlen(key) &&
            memcmp(t->entries[i].key.bytes, key, strlen(key)) == 0 &&
            t->entries[i].value.kind == AMQP_FIELD_KIND_I64)
            return t->entries[i].value.value.i64;
    return def;
}

int mwt_raw_get(struct mwt_raw *r, const char *queue, struct mwt_wire *w)
{
    amqp_rpc_reply_t rep;
    amqp_message_t msg;
    const amqp_basic_properties_t *p;
    int rc = -1;

    amqp_maybe_release_buffers(r->st);
    rep = amqp_basic_get(r->st, 1, amqp_cstring_bytes(queue), 1);
    if (rep.reply_type != AMQP_RESPONSE_NORMAL)
        return -1;
    if (rep.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
        return 0;
    rep = amqp_read_message(r->st, 1, &msg, 0);
    if (rep.reply_type != AMQP_RESPONSE_NORMAL)
        return -1;
    p = &msg.properties;
    memset(w, 0, sizeof(*w));
    if (p->_flags & AMQP_BASIC_CONTENT_ENCODING_FLAG)
        (void)snprintf(w->encoding, sizeof(w->encoding), "%.*s",
                       (int)p->content_encoding.len,
                       (const char *)p->content_encoding.bytes);
    w->raw_len = -1;
    w->seq = -1;
    if (p->_flags & AMQP_BASIC_HEADERS_FLAG) {
        w->raw_len = header_int(&p->headers, "x-raw-len", -1);
        w->seq = header_int(&p->headers, "x-seq", -1);
    }
    w->body = malloc(msg.body.len > 0 ? msg.body.len : 1);
    if (w->body != NULL) {
        memcpy(w->body, msg.body.bytes, msg.body.len);
        w->len = msg.body.len;
        rc = 1;
    }
    amqp_destroy_message(&msg);
    return rc;
}
