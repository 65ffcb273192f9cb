/*
 * mwt.h - shared helpers of the middleware integration test driver (mwt).
 *
 * mwt is one program with one mode per test case (run in-process against
 * the broker in AMQP_URL) plus `produce` / `consume` roles that
 * tests/middleware/run.sh combines into multi-process cases. Every mode
 * prints one summary line on stdout and exits 0 on success, 1 on failure.
 */
#ifndef CS_MWT_H
#define CS_MWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mw.h"

/* Prints "FAIL: ..." and returns 1 from the calling function. */
#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("FAIL: " __VA_ARGS__);                                      \
            printf(" [%s:%d]\n", __FILE__, __LINE__);                          \
            fflush(stdout);                                                    \
            return 1;                                                          \
        }                                                                      \
    } while (0)

/* Connects to $AMQP_URL with test-friendly reconnect settings (1 s backoff
 * cap, 60 tries). NULL (message printed) on failure. */
struct mw_conn *mwt_connect(const char *name, uint16_t prefetch,
                            int heartbeat_s);

/* Unique resource name "mwt.<what>.<pid>". */
void mwt_name(char *out, size_t size, const char *what);

/* Deterministic body for message `id`: 8 bytes of id, then a keyed pattern.
 * len must be >= 8. */
void mwt_body_fill(uint8_t *b, size_t len, uint64_t id);
/* Checks a body made by mwt_body_fill; stores its id. */
bool mwt_body_check(const uint8_t *b, size_t len, uint64_t *id);
uint64_t mwt_fnv1a(const uint8_t *b, size_t len);

void mwt_meta(struct mw_meta *m, const char *stream, const char *producer,
              int64_t seq, enum mw_kind kind);

int64_t mwt_now_ms(void);
void mwt_sleep_ms(int64_t ms);

/* --name VALUE options; a missing option takes the default, a malformed
 * number exits with status 2. */
const char *mwt_opt_str(int argc, char **argv, const char *name,
                        const char *def);
long mwt_opt_long(int argc, char **argv, const char *name, long def);
bool mwt_opt_flag(int argc, char **argv, const char *name);

/* In-process cases (mwt_cases.c). */
int mwt_case_queue1(int argc, char **argv);
int mwt_case_routing(int argc, char **argv);
int mwt_case_large(int argc, char **argv);
int mwt_case_confirms(int argc, char **argv);
int mwt_case_unroutable(int argc, char **argv);
int mwt_case_meta(int argc, char **argv);
int mwt_case_heartbeat(int argc, char **argv);

/* Compression cases (mwt_lz4.c). */
int mwt_case_lz4(int argc, char **argv);
int mwt_case_lz4_poison(int argc, char **argv);
int mwt_case_lz4_republish(int argc, char **argv);

/* Roles for multi-process cases (mwt_roles.c). */
int mwt_role_produce(int argc, char **argv);
int mwt_role_consume(int argc, char **argv);

#endif
