/*
 * qpoll.c - queue depths for the stages view (see qpoll.h).
 */
#include "qpoll.h"

#include "stages.h"

int cp_qpoll(struct cp_stages *s, struct mw_conn *c)
{
    uint32_t msgs = 0, consumers = 0;
    size_t i;
    int rc;

    for (i = 0; i < cp_stages_nqueues(s); i++) {
        rc = mw_queue_stat(c, cp_stages_queue(s, i), &msgs, &consumers);
        if (rc == MW_ERR_INTERRUPTED)
            return 0;
        if (rc != 0 && rc != MW_ERR_PROTOCOL)
            return rc;
        cp_stages_set_queue(s, i, rc == 0, msgs, consumers);
    }
    return 0;
}
