/*
 * ops_err.h - the error space of the pure operator modules (workers/ops/).
 *
 * Functions return 0 or one of these. Errors returned by an output callback
 * (e.g. a broker error from worker_emit) are passed through unchanged, so
 * callers must treat any negative value as failure.
 */
#ifndef CS_OPS_ERR_H
#define CS_OPS_ERR_H

enum ops_err {
    OPS_OK = 0,
    OPS_ERR_NOMEM = -1001, /* an allocation failed; the state is still valid */
    OPS_ERR_ARG = -1002,   /* a spec or parameter is invalid */
};

#endif
