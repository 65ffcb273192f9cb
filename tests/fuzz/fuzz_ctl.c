/*
 * fuzz_ctl.c - libFuzzer harness for the JSON control messages
 * (common/ctl.c, cJSON): ctl_decode() on arbitrary bodies. A body it
 * accepts must satisfy the limits ctl.h promises (counts, ids below
 * IDSET_MAX_SEQ, each flow's ranges and rejects inside the message's
 * arrays, no flow twice, a session where one is required), and must encode
 * and decode again to the same message and the same encoding: numbers
 * exactly, up to CTL_COUNT_MAX.
 */
#include "ctl.h"
#include "idset.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            abort();                                                           \
    } while (0)

#define TERMINATED(arr) (memchr((arr), '\0', sizeof(arr)) != NULL)

static void check_flows(const struct ctl_msg *m)
{
    int i, k;

    CHECK(m->nflows >= 0 && m->nflows <= CTL_MAX_FLOWS);
    CHECK(m->nranges >= 0 && m->nranges <= CTL_MAX_RANGES);
    CHECK(m->nrejs >= 0 && m->nrejs <= CTL_MAX_REJS);
    for (i = 0; i < m->nflows; i++) {
        const struct ctl_flow *f = &m->flows[i];

        CHECK(TERMINATED(f->queue) && TERMINATED(f->stream));
        CHECK(ctl_find_flow(m, f->queue, f->stream) == i);
        CHECK(f->n >= -1 && f->n <= CTL_COUNT_MAX);
        CHECK(f->range0 >= 0 && f->nranges >= 0 &&
              f->range0 + f->nranges <= m->nranges);
        CHECK(f->rej0 >= 0 && f->nrej >= 0 && f->rej0 + f->nrej <= m->nrejs);
        for (k = f->range0; k < f->range0 + f->nranges; k++)
            CHECK(m->ranges[k].lo >= 0 && m->ranges[k].lo <= m->ranges[k].hi &&
                  m->ranges[k].hi < IDSET_MAX_SEQ);
        for (k = f->rej0; k < f->rej0 + f->nrej; k++)
            CHECK(m->rejs[k].seq >= 0 && m->rejs[k].seq < IDSET_MAX_SEQ &&
                  m->rejs[k].n >= 0 && m->rejs[k].n <= CTL_COUNT_MAX);
    }
}

static void check_msg(const struct ctl_msg *m)
{
    int i;

    CHECK((unsigned)m->type < CTL_NTYPES);
    CHECK(TERMINATED(m->session) && TERMINATED(m->stage) &&
          TERMINATED(m->reply_to) && TERMINATED(m->status) &&
          TERMINATED(m->reason));
    CHECK(m->type == CTL_SHUTDOWN || m->type == CTL_HELLO ||
          m->session[0] != '\0');
    CHECK(m->type != CTL_HELLO || m->stage[0] != '\0');
    CHECK(m->replica >= 0 && m->ts_ms >= 0);
    check_flows(m);
    CHECK(m->nrejected >= 0 && m->nrejected <= CTL_MAX_REJECTED);
    for (i = 0; i < m->nrejected; i++)
        CHECK(TERMINATED(m->rejected[i].name) && m->rejected[i].n >= 0 &&
              m->rejected[i].n <= CTL_COUNT_MAX);
    CHECK(m->nsessions >= 0 && m->nsessions <= CTL_MAX_SESSIONS);
    for (i = 0; i < m->nsessions; i++)
        CHECK(TERMINATED(m->sessions[i]));
}

/* b is a decoded encoding of a: the same message (the replica is encoded
 * only with a stage, and a ts of 0 is encoded as the current time). */
static void check_same(const struct ctl_msg *a, const struct ctl_msg *b)
{
    int i;

    CHECK(a->type == b->type && strcmp(a->session, b->session) == 0 &&
          strcmp(a->stage, b->stage) == 0 &&
          strcmp(a->reply_to, b->reply_to) == 0 &&
          strcmp(a->status, b->status) == 0 &&
          strcmp(a->reason, b->reason) == 0);
    CHECK(a->stage[0] == '\0' || a->replica == b->replica);
    CHECK(a->ts_ms == 0 || a->ts_ms == b->ts_ms);
    CHECK(a->nflows == b->nflows && a->nranges == b->nranges &&
          a->nrejs == b->nrejs);
    for (i = 0; i < a->nflows; i++)
        CHECK(strcmp(a->flows[i].queue, b->flows[i].queue) == 0 &&
              strcmp(a->flows[i].stream, b->flows[i].stream) == 0 &&
              a->flows[i].n == b->flows[i].n &&
              a->flows[i].range0 == b->flows[i].range0 &&
              a->flows[i].nranges == b->flows[i].nranges &&
              a->flows[i].rej0 == b->flows[i].rej0 &&
              a->flows[i].nrej == b->flows[i].nrej);
    for (i = 0; i < a->nranges; i++)
        CHECK(a->ranges[i].lo == b->ranges[i].lo &&
              a->ranges[i].hi == b->ranges[i].hi);
    for (i = 0; i < a->nrejs; i++)
        CHECK(a->rejs[i].seq == b->rejs[i].seq && a->rejs[i].n == b->rejs[i].n);
    CHECK(a->nrejected == b->nrejected && a->nsessions == b->nsessions);
    for (i = 0; i < a->nrejected; i++)
        CHECK(strcmp(a->rejected[i].name, b->rejected[i].name) == 0 &&
              a->rejected[i].n == b->rejected[i].n);
    for (i = 0; i < a->nsessions; i++)
        CHECK(strcmp(a->sessions[i], b->sessions[i]) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ctl_msg m, m2;
    char *e1, *e2;
    size_t n1, n2;

    if (ctl_decode(data, size, &m) != 0)
        return 0;
    check_msg(&m);
    e1 = ctl_encode(&m, &n1);
    if (e1 == NULL)
        return 0;
    CHECK(ctl_decode((const uint8_t *)e1, n1, &m2) == 0);
    check_same(&m, &m2);
    e2 = ctl_encode(&m2, &n2);
    CHECK(e2 != NULL && n1 == n2 && memcmp(e1, e2, n1) == 0);
    free(e1);
    free(e2);
    return 0;
}
