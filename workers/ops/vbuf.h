/*
 * vbuf.h - a growable byte buffer: the one arena of the operator modules.
 *
 * Rows, names and records are appended to a vbuf (capacity doubles), so
 * memory grows with the data, never with one malloc per row. Offsets into
 * a vbuf stay valid across growth; pointers (b->p + off) only until the
 * next append. Arrays of fixed-size records are vbufs too: malloc's
 * alignment suits any record type.
 */
#ifndef CS_VBUF_H
#define CS_VBUF_H

#include <stddef.h>
#include <stdint.h>

struct vbuf {
    uint8_t *p;
    size_t len;
    size_t cap;
};

/* Empty buffer in caller's storage (allocates nothing). */
void vbuf_init(struct vbuf *b);

/* Frees the memory; the buffer is empty (and reusable) afterwards. */
void vbuf_fini(struct vbuf *b);

/* Ensures room for `extra` more bytes. Returns 0 or CS_ERR_NOMEM. */
int vbuf_reserve(struct vbuf *b, size_t extra)
    __attribute__((warn_unused_result));

/* Appends n bytes (s may be NULL when n == 0). Returns 0 or CS_ERR_NOMEM. */
int vbuf_append(struct vbuf *b, const void *s, size_t n)
    __attribute__((warn_unused_result));

/* Appends n zeroed bytes and returns a pointer to them (valid until the next
 * append), or NULL when out of memory. */
void *vbuf_push(struct vbuf *b, size_t n);

#endif
