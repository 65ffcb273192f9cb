/*
 * fmt.h - text formatting for generated rows (no printf on the hot path)
 * and a buffered output file that counts rows and bytes.
 *
 * The fmt_* functions append to a caller's buffer at p and return the new
 * end; the caller guarantees room (rows here are < 512 bytes).
 */
#ifndef GEN_FMT_H
#define GEN_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

char *fmt_str(char *p, const char *s);
char *fmt_u64(char *p, uint64_t v);
/* Zero-padded to `width` digits. */
char *fmt_uint_w(char *p, uint32_t v, int width);
/* Money in thousandths, fewest decimals but at least one: 63.5 10.0 8.075. */
char *fmt_money(char *p, int64_t th);
/* Money in thousandths, exactly two decimals, half away from zero. */
char *fmt_money2(char *p, int64_t th);
char *fmt_date(char *p, int y, int mo, int d);
/* "YYYY-MM-DD HH:MM:SS"; sod = seconds of the day. */
char *fmt_ts(char *p, int y, int mo, int d, uint32_t sod);
/* A CSV field: enclosed in quotes (inner quotes doubled) only when it
 * holds ',', '"', CR or LF. */
char *fmt_csv_text(char *p, const char *s);

/* One output file. Lines get the file's line end (LF or CRLF). */
struct gen_file {
    FILE *f;
    char *buf;
    size_t len;
    const char *eol;
    uint64_t bytes;
    uint64_t lines; /* lines written (header included) */
    bool failed;
    char path[4096];
};

/* Opens dir/name for writing (creating dir); 0 or -1 (errno set). */
int gf_open(struct gen_file *gf, const char *dir, const char *name, bool crlf)
    __attribute__((warn_unused_result));
/* Appends line[0..len) and the line end. */
void gf_line(struct gen_file *gf, const char *line, size_t len);
/* Appends line[0..len) with no line end (a last line without one). */
void gf_raw(struct gen_file *gf, const char *line, size_t len);
/* Flushes and closes; 0, or -1 if any write failed. */
int gf_close(struct gen_file *gf) __attribute__((warn_unused_result));

/* mkdir -p; 0 or -1. */
int gen_mkdirs(const char *path) __attribute__((warn_unused_result));

#endif
