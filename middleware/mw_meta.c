/*
 * mw_meta.c - the envelope (struct mw_meta) <-> AMQP headers table.
 *
 * Headers: x-session, x-stream, x-producer (long strings, omitted when
 * empty), x-seq (signed 64-bit) and x-kind ("data" | "control" | "result").
 * x-raw-len (the original length of an LZ4 body) is read here too, but
 * written by mw_publish.c together with the compression it describes.
 * Decoding is lenient: headers come from the outside (other clients, the
 * management UI's "publish message"), so missing keys, other integer widths
 * and unknown values fall back to defaults instead of failing.
 */
#include <string.h>

#include "mw_internal.h"

static const char *const kind_names[] = {"data", "control", "result"};

const char *mw_kind_name(enum mw_kind k)
{
    if ((unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]))
        return kind_names[k];
    return kind_names[MW_KIND_DATA];
}

static amqp_bytes_t field_bytes(const char *s, size_t size)
{
    amqp_bytes_t b;

    b.len = strnlen(s, size);
    b.bytes = (void *)(uintptr_t)s; /* rabbitmq-c only reads it */
    return b;
}

static void put_str(amqp_table_entry_t *e, size_t *n, const char *key,
                    const char *val, size_t size)
{
    if (val[0] == '\0')
        return;
    e[*n].key = amqp_cstring_bytes(key);
    e[*n].value.kind = AMQP_FIELD_KIND_UTF8;
    e[*n].value.value.bytes = field_bytes(val, size);
    (*n)++;
}

void mw_meta_encode(const struct mw_meta *m,
                    amqp_table_entry_t ent[MW_META_ENTRIES], amqp_table_t *out)
{
    size_t n = 0;
    const char *kind = mw_kind_name(m->kind);

    put_str(ent, &n, "x-session", m->session, sizeof(m->session));
    put_str(ent, &n, "x-stream", m->stream, sizeof(m->stream));
    put_str(ent, &n, "x-producer", m->producer, sizeof(m->producer));
    ent[n].key = amqp_cstring_bytes("x-seq");
    ent[n].value.kind = AMQP_FIELD_KIND_I64;
    ent[n].value.value.i64 = m->seq;
    n++;
    ent[n].key = amqp_cstring_bytes("x-kind");
    ent[n].value.kind = AMQP_FIELD_KIND_UTF8;
    ent[n].value.value.bytes = field_bytes(kind, strlen(kind));
    n++;
    out->num_entries = (int)n;
    out->entries = ent;
}

static bool key_is(const amqp_bytes_t *k, const char *name)
{
    size_t n = strlen(name);

    return k->len == n && memcmp(k->bytes, name, n) == 0;
}

static bool is_text(const amqp_field_value_t *v)
{
    return v->kind == AMQP_FIELD_KIND_UTF8 || v->kind == AMQP_FIELD_KIND_BYTES;
}

/* Copies a text value, truncated to fit and NUL-terminated. */
static void get_str(const amqp_field_value_t *v, char *dst, size_t size)
{
    size_t n;

    if (!is_text(v) || (v->value.bytes.len > 0 && v->value.bytes.bytes == NULL))
        return;
    n = v->value.bytes.len < size - 1 ? v->value.bytes.len : size - 1;
    if (n > 0)
        memcpy(dst, v->value.bytes.bytes, n);
    dst[n] = '\0';
}

/* Any integer kind -> int64; false if the value is not an integer. */
static bool get_int(const amqp_field_value_t *v, int64_t *out)
{
    switch (v->kind) {
    case AMQP_FIELD_KIND_I8:
        *out = (int64_t)v->value.i8;
        return true;
    case AMQP_FIELD_KIND_U8:
        *out = v->value.u8;
        return true;
    case AMQP_FIELD_KIND_I16:
        *out = v->value.i16;
        return true;
    case AMQP_FIELD_KIND_U16:
        *out = v->value.u16;
        return true;
    case AMQP_FIELD_KIND_I32:
        *out = v->value.i32;
        return true;
    case AMQP_FIELD_KIND_U32:
        *out = v->value.u32;
        return true;
    case AMQP_FIELD_KIND_I64:
        *out = v->value.i64;
        return true;
    case AMQP_FIELD_KIND_U64:
    case AMQP_FIELD_KIND_TIMESTAMP:
        if (v->value.u64 > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v->value.u64;
        return true;
    default:
        return false;
    }
}

static enum mw_kind get_kind(const amqp_field_value_t *v)
{
    int64_t i;
    unsigned k;

    if (get_int(v, &i))
        return i >= 0 && i <= MW_KIND_RESULT ? (enum mw_kind)i : MW_KIND_DATA;
    if (!is_text(v) || v->value.bytes.bytes == NULL)
        return MW_KIND_DATA;
    for (k = 0; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
        if (key_is(&v->value.bytes, kind_names[k]))
            return (enum mw_kind)k;
    return MW_KIND_DATA;
}

void mw_meta_decode(const amqp_table_t *t, struct mw_meta *m)
{
    int i;
    const amqp_table_entry_t *e;
    int64_t seq;

    memset(m, 0, sizeof(*m));
    m->kind = MW_KIND_DATA;
    if (t == NULL || t->entries == NULL)
        return;
    for (i = 0; i < t->num_entries; i++) {
        e = &t->entries[i];
        if (e->key.bytes == NULL)
            continue;
        if (key_is(&e->key, "x-session"))
            get_str(&e->value, m->session, sizeof(m->session));
        else if (key_is(&e->key, "x-stream"))
            get_str(&e->value, m->stream, sizeof(m->stream));
        else if (key_is(&e->key, "x-producer"))
            get_str(&e->value, m->producer, sizeof(m->producer));
        else if (key_is(&e->key, "x-seq") && get_int(&e->value, &seq))
            m->seq = seq;
        else if (key_is(&e->key, "x-kind"))
            m->kind = get_kind(&e->value);
    }
}

int64_t mw_meta_raw_len(const amqp_table_t *t)
{
    int i;
    int64_t v;

    if (t == NULL || t->entries == NULL)
        return -1;
    for (i = 0; i < t->num_entries; i++) {
        if (t->entries[i].key.bytes != NULL &&
            key_is(&t->entries[i].key, "x-raw-len"))
            return get_int(&t->entries[i].value, &v) && v >= 0 ? v : -1;
    }
    return -1;
}
