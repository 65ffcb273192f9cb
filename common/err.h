/*
 * err.h - coffee-stream's one error space (models: rabbitmq-c's status
 * ranges per layer, libuv's UV_ERRNO_MAP and uv_strerror).
 *
 * Every action function returns 0 or a negative value of this space, and
 * callers pass it on unchanged up to the line that logs it with
 * cs_strerror(). Each layer owns a range, so a value says where it came
 * from and what it means whoever logs it:
 *
 *   -1 .. -4095        a system error: -errno, as the code over system
 *                      calls returns it (wal, state, tombs, sockio)
 *   -5001 ..           shared by every layer (out of memory, bad argument)
 *   -5101 ..           the middleware: mw.h's MW_ERR_* are these values
 *   -5201 ..           the worker runtime and the operators
 *   -5301 ..           the coordinator's state machine (coord.h's codes)
 *
 * The client-gateway protocol codec (proto.h) keeps its own codes: they
 * never leave the gateway and the client.
 */
#ifndef CS_ERR_H
#define CS_ERR_H

#define CS_ERR_ERRNO_MAX 4095
#define CS_ERR_BASE_COMMON (-5000)
#define CS_ERR_BASE_MW (-5100)
#define CS_ERR_BASE_WORKER (-5200)
#define CS_ERR_BASE_COORD (-5300)

/* XX(name, value, message): every error of the space, once. */
#define CS_ERR_MAP(XX)                                                         \
    XX(NOMEM, CS_ERR_BASE_COMMON - 1, "out of memory")                         \
    XX(ARG, CS_ERR_BASE_COMMON - 2, "bad argument")                            \
    XX(STATE_DIR, CS_ERR_BASE_COMMON - 3, "cannot open the state directory")   \
    XX(MW_CONNECT, CS_ERR_BASE_MW - 1, "cannot connect to the broker")         \
    XX(MW_CLOSED, CS_ERR_BASE_MW - 2, "connection lost and not restored")      \
    XX(MW_UNROUTABLE, CS_ERR_BASE_MW - 3, "message returned unroutable")       \
    XX(MW_NACK, CS_ERR_BASE_MW - 4, "message nacked by the broker")            \
    XX(MW_TIMEOUT, CS_ERR_BASE_MW - 5, "timed out")                            \
    XX(MW_PROTOCOL, CS_ERR_BASE_MW - 6, "operation refused by the broker")     \
    XX(MW_INTERRUPTED, CS_ERR_BASE_MW - 7, "interrupted by a signal")          \
    XX(MW_STALE, CS_ERR_BASE_MW - 8, "delivery tag predates a reconnect")      \
    XX(MW_LOST, CS_ERR_BASE_MW - 50, "connection lost (being restored)")       \
    XX(MW_REFUSED, CS_ERR_BASE_MW - 51, "login refused by the broker")         \
    XX(WK_REPLICA_TAKEN, CS_ERR_BASE_WORKER - 1,                               \
       "replica index held by "                                                \
       "another process")                                                      \
    XX(WK_INIT, CS_ERR_BASE_WORKER - 2, "the worker kind failed to start")     \
    XX(WK_REPLAY_EMIT, CS_ERR_BASE_WORKER - 3,                                 \
       "a stateful kind emitted "                                              \
       "while its log was replayed")                                           \
    XX(WK_NO_COUNT, CS_ERR_BASE_WORKER - 4, "finish lacks an input count")     \
    XX(WK_BAD_DEST, CS_ERR_BASE_WORKER - 5, "no such output stage or shard")   \
    XX(WK_BAD_CONTROL, CS_ERR_BASE_WORKER - 6, "control message too large")    \
    XX(COORD_EMIT, CS_ERR_BASE_COORD - 1,                                      \
       "the coordinator could not emit a "                                     \
       "control message")

enum cs_err {
    CS_OK = 0,
#define CS_ERR_ENUM(name, value, msg) CS_ERR_##name = (value),
    CS_ERR_MAP(CS_ERR_ENUM)
#undef CS_ERR_ENUM
};

/* Static text for any value of the space: "success" for 0, the system's
 * text for -errno, "unknown error" for a value outside the space. */
const char *cs_strerror(int err);

#endif
