/*
 * csvrows.h - splits a buffer of whole CSV lines (RFC 4180: quoted fields,
 * "" escapes, \n or \r\n line ends) into rows of fields.
 *
 * Two paths, one meaning. A line without a quote or a stray CR, met while
 * no record is open, is split at its commas in place (the fast path: most
 * of the data set, a few instructions per byte). Anything else goes through
 * libcsv, line by line, until libcsv is between records again; libcsv
 * decides every quoted record, so both paths give exactly what libcsv alone
 * would (tests/fuzz/fuzz_csvrows.c checks it against libcsv_only).
 *
 * The callback sees (ptr, len) pairs valid during the call only (into the
 * input, or into one reusable row buffer); nothing is allocated per row.
 * Whitespace is data (no trimming). Blank lines are skipped. A row with more
 * than CSVROWS_MAX_FIELDS fields or more than CSVROWS_ROW_BYTES bytes of
 * fields is passed with nfields = -1 so the caller can count it as rejected.
 */
#ifndef CS_CSVROWS_H
#define CS_CSVROWS_H

#include <csv.h>
#include <stdbool.h>
#include <stddef.h>

#define CSVROWS_MAX_FIELDS 16
#define CSVROWS_ROW_BYTES 8192

struct csvrow {
    int nfields; /* -1: too many fields or too long */
    const char *f[CSVROWS_MAX_FIELDS];
    size_t len[CSVROWS_MAX_FIELDS];
};

typedef void (*csvrows_cb)(const struct csvrow *row, void *ud);

struct csvrows {
    struct csv_parser p;
    struct csvrow row;
    size_t used;
    int overflow;
    bool libcsv_only; /* tests: never take the fast path */
    char buf[CSVROWS_ROW_BYTES];
    csvrows_cb cb;
    void *ud;
};

/* True when a field must be quoted to stay one RFC 4180 field (it holds a
 * comma, a quote, CR or LF). */
bool csvrows_needs_quote(const char *s, size_t n);

/* Writes s as one RFC 4180 field into out, quoted (quotes doubled) only
 * when needed; out must have room for 2 * n + 2 bytes. Returns the length. */
size_t csvrows_quote(char *out, const char *s, size_t n);

/* Returns 0 or -1 (no memory). */
int csvrows_init(struct csvrows *r) __attribute__((warn_unused_result));
void csvrows_fini(struct csvrows *r);

/* Parses a whole buffer; calls cb once per row (the last row may lack its
 * line end). Returns 0, or -1 on a libcsv failure (no memory). */
int csvrows_parse(struct csvrows *r, const void *buf, size_t len, csvrows_cb cb,
                  void *ud) __attribute__((warn_unused_result));

#endif
