/*
 * field.h - strict parsers of the input fields the queries use, and the
 * money formats of the results. Money is exact fixed point: int64
 * thousandths ("milli"), never binary floats.
 *
 * What "parses" means (docs/ARCHITECTURE.md, "Input rules"):
 *   integer    [0-9]{1,9} (leading zeros allowed)
 *   decimal    [0-9]{1,9} ( '.' [0-9]{1,3} )?
 *   timestamp  YYYY-MM-DD HH:MM:SS, month 1-12, day valid for the month,
 *              hour 0-23, minute and second 0-59
 *   user_id    empty, or integer, or integer followed by ".0"
 *   date       YYYY-MM-DD, as the date part of a timestamp
 */
#ifndef CS_FIELD_H
#define CS_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FIELD_MAX_DIGITS 9

struct field_ts {
    int year, month, day;
    int sec_of_day; /* 0 .. 86399 */
};

bool field_int(const char *s, size_t n, int64_t *out);
bool field_dec(const char *s, size_t n, int64_t *milli);
bool field_ts(const char *s, size_t n, struct field_ts *out);
/* *out = -1 for an empty user_id. */
bool field_user_id(const char *s, size_t n, int64_t *out);
bool field_date(const char *s, size_t n);

/* Formats milli as the exact value with the fewest decimals, at least one
 * ("75.0", "79.5", "79.515"). Returns the length written (out >= 32). */
int field_fmt_min1(int64_t milli, char *out);

/* Formats milli with exactly two decimals, rounded half away from zero
 * ("12201348.935" -> "12201348.94"). Returns the length (out >= 32). */
int field_fmt_2(int64_t milli, char *out);

/* Formats a signed integer; returns the length (out >= 24). */
int field_fmt_int(int64_t v, char *out);

#endif
