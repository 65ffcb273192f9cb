/*
 * fake_mw_internal.h - the state of the fake middleware, shared by
 * fake_mw.c (the functions of mw.h) and fake_mw_script.c (the test-facing
 * API of fake_mw.h: the script, injected failures, queries).
 */
#ifndef CS_FAKE_MW_INTERNAL_H
#define CS_FAKE_MW_INTERNAL_H

#include "fake_mw.h"

#define MAX_NEXT_CALLS 100000 /* a loop that never stops is a failed test */

enum step_kind {
    STEP_DELIVERY,
    STEP_RC,
    STEP_RECONNECT
};

struct step {
    enum step_kind kind;
    int rc;
    char queue[FAKE_NAME_MAX];
    struct mw_meta meta;
    uint8_t *body;
    size_t len;
    bool redelivered;
};

/* A delivery handed out by mw_next; owns the bytes mw_delivery points to. */
struct dlv {
    uint64_t tag;
    unsigned epoch;
    int acks;
    bool settled; /* acked, nacked or requeued */
    struct step s;
};

struct fexchange {
    char name[FAKE_NAME_MAX];
    enum mw_exchange_type type;
};

struct fqueue {
    char name[FAKE_NAME_MAX];
    int owner; /* exclusive: owning connection id, -1 another one; 0: shared */
};

struct fbind {
    char queue[FAKE_NAME_MAX], exchange[FAKE_NAME_MAX], key[FAKE_NAME_MAX];
};

struct inject {
    enum fake_op op;
    int nth, rc;
};

struct mw_conn {
    int id;
    bool dead; /* MW_ERR_CLOSED was returned: gone for good */
    char (*consumed)[FAKE_NAME_MAX];
    size_t nconsumed, ccap;
    bool unroutable; /* a publish reached no queue: the next flush says so */
};

/* Growable arrays: p (typed), n used, cap allocated. */
#define VEC(T)                                                                 \
    struct {                                                                   \
        T *p;                                                                  \
        size_t n, cap;                                                         \
    }

struct fake_broker {
    VEC(struct fake_ev) ev;
    VEC(struct step) script;
    VEC(struct dlv *) dlv;
    VEC(struct fexchange) ex;
    VEC(struct fqueue) q;
    VEC(struct fbind) bind;
    VEC(struct inject) inj;
    int calls[FAKE_NOPS];
    uint64_t next_tag;
    unsigned epoch, reconnects;
    int conn_ids;
    char stop_queue[FAKE_NAME_MAX];
    int stop_timeouts, idle_seen;
    bool stop_sent;
    long next_calls;
    unsigned misuse;
    char misuse_text[512];
    void (*hook)(const struct fake_ev *ev, void *arg);
    void *hook_arg;
};

/* The one process-wide broker (fake_mw_script.c). */
extern struct fake_broker fake_st;

/* Appends a zeroed element to vector v and returns it. */
#define VEC_PUSH(v)                                                            \
    ((v).p = fake_grow((v).p, &(v).cap, (v).n + 1, sizeof(*(v).p)),            \
     memset(&(v).p[(v).n], 0, sizeof(*(v).p)), &(v).p[(v).n++])

/* fake_mw_script.c */
void *fake_grow(void *p, size_t *cap, size_t need, size_t size);
uint8_t *fake_copy(const void *p, size_t len); /* NULL when len is 0 */
void fake_set_name(char *dst, const char *src);
void fake_misuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fake_encode_ctl(struct step *s, const char *queue,
                     const struct ctl_msg *m);
struct step *fake_script_insert(size_t at);
struct dlv *fake_dlv_find(uint64_t tag);

#endif
