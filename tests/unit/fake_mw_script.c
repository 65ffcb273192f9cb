/*
 * fake_mw_script.c - the test-facing side of the fake middleware (see
 * fake_mw.h): the script of deliveries, injected failures, the queries on
 * the event log, and helpers shared with fake_mw.c.
 */
#include "fake_mw_internal.h"

#include "ctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fake_broker fake_st;

void *fake_grow(void *p, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap ? *cap : 16;
    void *np;

    if (need <= *cap)
        return p;
    while (n < need)
        n *= 2;
    np = realloc(p, n * size);
    if (np == NULL) {
        fprintf(stderr, "fake_mw: out of memory\n");
        abort();
    }
    *cap = n;
    return np;
}

uint8_t *fake_copy(const void *p, size_t len)
{
    uint8_t *c;

    if (len == 0)
        return NULL;
    c = malloc(len);
    if (c == NULL) {
        fprintf(stderr, "fake_mw: out of memory\n");
        abort();
    }
    memcpy(c, p, len);
    return c;
}

void fake_set_name(char *dst, const char *src)
{
    snprintf(dst, FAKE_NAME_MAX, "%s", src ? src : "");
}

void fake_misuse(const char *fmt, ...)
{
    va_list ap;

    if (fake_st.misuse++ == 0) {
        va_start(ap, fmt);
        vsnprintf(fake_st.misuse_text, sizeof(fake_st.misuse_text), fmt, ap);
        va_end(ap);
        fprintf(stderr, "fake_mw: misuse: %s\n", fake_st.misuse_text);
    }
}

static void step_free(struct step *s)
{
    free(s->body);
    s->body = NULL;
}

void fake_mw_clear_events(void)
{
    size_t i;

    for (i = 0; i < fake_st.ev.n; i++)
        free(fake_st.ev.p[i].body);
    fake_st.ev.n = 0;
    fake_st.inj.n = 0;
    memset(fake_st.calls, 0, sizeof(fake_st.calls));
    fake_st.next_calls = 0;
    fake_st.stop_queue[0] = '\0';
    fake_st.stop_timeouts = fake_st.idle_seen = 0;
    fake_st.stop_sent = false;
}

void fake_mw_reset(void)
{
    size_t i;

    fake_mw_clear_events();
    for (i = 0; i < fake_st.script.n; i++)
        step_free(&fake_st.script.p[i]);
    for (i = 0; i < fake_st.dlv.n; i++) {
        step_free(&fake_st.dlv.p[i]->s);
        free(fake_st.dlv.p[i]);
    }
    free(fake_st.ev.p);
    free(fake_st.script.p);
    free(fake_st.dlv.p);
    free(fake_st.ex.p);
    free(fake_st.q.p);
    free(fake_st.bind.p);
    free(fake_st.inj.p);
    memset(&fake_st, 0, sizeof(fake_st));
}

/* ------------------------------------------------------------ script */

struct step *fake_script_insert(size_t at)
{
    struct step *s;

    (void)VEC_PUSH(fake_st.script);
    memmove(&fake_st.script.p[at + 1], &fake_st.script.p[at],
            (fake_st.script.n - 1 - at) * sizeof(*fake_st.script.p));
    s = &fake_st.script.p[at];
    memset(s, 0, sizeof(*s));
    return s;
}

void fake_mw_deliver(const char *queue, const struct mw_meta *meta,
                     const void *body, size_t len, bool redelivered)
{
    struct step *s = VEC_PUSH(fake_st.script);

    s->kind = STEP_DELIVERY;
    fake_set_name(s->queue, queue);
    if (meta)
        s->meta = *meta;
    s->body = fake_copy(body, len);
    s->len = len;
    s->redelivered = redelivered;
}

void fake_encode_ctl(struct step *s, const char *queue, const struct ctl_msg *m)
{
    size_t len = 0;
    char *json = ctl_encode(m, &len);

    if (json == NULL) {
        fprintf(stderr, "fake_mw: ctl_encode failed\n");
        abort();
    }
    s->kind = STEP_DELIVERY;
    fake_set_name(s->queue, queue);
    snprintf(s->meta.session, sizeof(s->meta.session), "%s", m->session);
    snprintf(s->meta.stream, sizeof(s->meta.stream), "%s",
             ctl_type_name(m->type));
    snprintf(s->meta.producer, sizeof(s->meta.producer), "fake");
    s->meta.kind = MW_KIND_CONTROL;
    s->body = fake_copy(json, len);
    s->len = len;
    free(json);
}

void fake_mw_deliver_ctl(const char *queue, const struct ctl_msg *m,
                         bool redelivered)
{
    struct step *s = VEC_PUSH(fake_st.script);

    fake_encode_ctl(s, queue, m);
    s->redelivered = redelivered;
}

void fake_mw_script_rc(int rc)
{
    struct step *s = VEC_PUSH(fake_st.script);

    s->kind = STEP_RC;
    s->rc = rc;
}

void fake_mw_script_reconnect(void)
{
    struct step *s = VEC_PUSH(fake_st.script);

    s->kind = STEP_RECONNECT;
}

void fake_mw_requeue_unacked(void)
{
    size_t i, at = 0;

    for (i = 0; i < fake_st.dlv.n; i++) {
        struct dlv *d = fake_st.dlv.p[i];
        struct step *s;

        if (d->settled)
            continue;
        d->settled = true;
        s = fake_script_insert(at++);
        *s = d->s;
        s->body = fake_copy(d->s.body, d->s.len);
        s->redelivered = true;
    }
}

void fake_mw_stop_when_idle(const char *queue, int n)
{
    fake_set_name(fake_st.stop_queue, queue);
    fake_st.stop_timeouts = n;
}

void fake_mw_hold_exclusive(const char *name)
{
    struct fqueue *q = VEC_PUSH(fake_st.q);

    fake_set_name(q->name, name);
    q->owner = -1;
}

void fake_mw_fail_nth(enum fake_op op, int nth, int rc)
{
    struct inject *in = VEC_PUSH(fake_st.inj);

    in->op = op;
    in->nth = nth;
    in->rc = rc;
}

void fake_mw_set_hook(void (*fn)(const struct fake_ev *ev, void *arg),
                      void *arg)
{
    fake_st.hook = fn;
    fake_st.hook_arg = arg;
}

/* ------------------------------------------------------------ queries */

size_t fake_mw_nevents(void)
{
    return fake_st.ev.n;
}

const struct fake_ev *fake_mw_event(size_t i)
{
    return i < fake_st.ev.n ? &fake_st.ev.p[i] : NULL;
}

long fake_mw_find(size_t from, enum fake_op op, const char *name)
{
    size_t i;

    for (i = from; i < fake_st.ev.n; i++) {
        const struct fake_ev *e = &fake_st.ev.p[i];
        const char *n = op == FAKE_PUBLISH ? e->exchange : e->queue;

        if (e->op == op && (name == NULL || strcmp(n, name) == 0))
            return (long)i;
    }
    return -1;
}

const struct fake_ev *fake_mw_delivery(uint64_t tag)
{
    size_t i;

    for (i = 0; i < fake_st.ev.n; i++)
        if (fake_st.ev.p[i].op == FAKE_NEXT && fake_st.ev.p[i].rc == 0 &&
            fake_st.ev.p[i].tag == tag)
            return &fake_st.ev.p[i];
    return NULL;
}

struct dlv *fake_dlv_find(uint64_t tag)
{
    size_t i;

    for (i = 0; i < fake_st.dlv.n; i++)
        if (fake_st.dlv.p[i]->tag == tag)
            return fake_st.dlv.p[i];
    return NULL;
}

int fake_mw_acks(uint64_t tag)
{
    struct dlv *d = fake_dlv_find(tag);

    return d ? d->acks : 0;
}

size_t fake_mw_unacked(void)
{
    size_t i, n = 0;

    for (i = 0; i < fake_st.dlv.n; i++)
        n += !fake_st.dlv.p[i]->settled;
    return n;
}

long fake_mw_unconfirmed_before(size_t i)
{
    size_t j;

    for (j = i < fake_st.ev.n ? i : fake_st.ev.n; j-- > 0;) {
        const struct fake_ev *e = &fake_st.ev.p[j];

        if (e->op == FAKE_FLUSH && e->rc == 0)
            return -1;
        if (e->op == FAKE_PUBLISH && e->rc == 0)
            return (long)j;
    }
    return -1;
}

bool fake_mw_to_coordinator(const struct fake_ev *ev)
{
    return ev->op == FAKE_PUBLISH && ev->exchange[0] == '\0' &&
           strcmp(ev->key, "coordinator") == 0;
}

int fake_mw_ctl(const struct fake_ev *ev, struct ctl_msg *out)
{
    if (ev->body == NULL)
        return -1;
    return ctl_decode(ev->body, ev->len, out);
}

unsigned fake_mw_misuse(void)
{
    return fake_st.misuse;
}

const char *fake_mw_misuse_text(void)
{
    return fake_st.misuse_text;
}

const char *fake_mw_op_name(enum fake_op op)
{
    static const char *const names[FAKE_NOPS] = {
        "connect",       "close", "declare_exchange",
        "declare_queue", "bind",  "delete_queue",
        "publish",       "flush", "consume",
        "cancel",        "next",  "ack",
        "nack",
    };

    return (unsigned)op < FAKE_NOPS ? names[op] : "?";
}
