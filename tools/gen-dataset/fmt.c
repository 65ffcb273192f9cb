/*
 * fmt.c - formatting helpers and the buffered output file (see fmt.h).
 */
#include "fmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GF_BUFSZ (1u << 20)

char *fmt_str(char *p, const char *s)
{
    size_t n = strlen(s);

    memcpy(p, s, n); // NOLINT(bugprone-not-null-terminated-result): CSV text
    return p + n;
}

char *fmt_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

char *fmt_uint_w(char *p, uint32_t v, int width)
{
    int i;

    for (i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

char *fmt_money(char *p, int64_t th)
{
    uint64_t a;
    uint32_t frac;

    if (th < 0) {
        *p++ = '-';
        a = (uint64_t)(-(th + 1)) + 1;
    } else {
        a = (uint64_t)th;
    }
    p = fmt_u64(p, a / 1000);
    *p++ = '.';
    frac = (uint32_t)(a % 1000);
    *p++ = (char)('0' + frac / 100);
    if (frac % 100) {
        *p++ = (char)('0' + frac / 10 % 10);
        if (frac % 10)
            *p++ = (char)('0' + frac % 10);
    }
    return p;
}

char *fmt_money2(char *p, int64_t th)
{
    uint64_t a, h;

    if (th < 0) {
        a = (uint64_t)(-(th + 1)) + 1;
        h = (a + 5) / 10;
        if (h)
            *p++ = '-';
    } else {
        a = (uint64_t)th;
        h = (a + 5) / 10;
    }
    p = fmt_u64(p, h / 100);
    *p++ = '.';
    return fmt_uint_w(p, (uint32_t)(h % 100), 2);
}

char *fmt_date(char *p, int y, int mo, int d)
{
    p = fmt_uint_w(p, (uint32_t)y, 4);
    *p++ = '-';
    p = fmt_uint_w(p, (uint32_t)mo, 2);
    *p++ = '-';
    return fmt_uint_w(p, (uint32_t)d, 2);
}

char *fmt_ts(char *p, int y, int mo, int d, uint32_t sod)
{
    p = fmt_date(p, y, mo, d);
    *p++ = ' ';
    p = fmt_uint_w(p, sod / 3600, 2);
    *p++ = ':';
    p = fmt_uint_w(p, sod / 60 % 60, 2);
    *p++ = ':';
    return fmt_uint_w(p, sod % 60, 2);
}

char *fmt_csv_text(char *p, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL)
        return fmt_str(p, s);
    *p++ = '"';
    for (; *s; s++) {
        if (*s == '"')
            *p++ = '"';
        *p++ = *s;
    }
    *p++ = '"';
    return p;
}

int gen_mkdirs(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path), i;

    if (n == 0 || n >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        tmp[i] = '\0';
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
            return -1;
        tmp[i] = path[i];
    }
    return 0;
}

int gf_open(struct gen_file *gf, const char *dir, const char *name, bool crlf)
{
    int n;

    memset(gf, 0, sizeof(*gf));
    n = snprintf(gf->path, sizeof(gf->path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(gf->path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (gen_mkdirs(dir) != 0)
        return -1;
    gf->buf = malloc(GF_BUFSZ);
    if (gf->buf == NULL)
        return -1;
    gf->f = fopen(gf->path, "wb");
    if (gf->f == NULL) {
        free(gf->buf);
        gf->buf = NULL;
        return -1;
    }
    gf->eol = crlf ? "\r\n" : "\n";
    return 0;
}

static void gf_flush(struct gen_file *gf)
{
    if (gf->len && fwrite(gf->buf, 1, gf->len, gf->f) != gf->len)
        gf->failed = true;
    gf->len = 0;
}

void gf_raw(struct gen_file *gf, const char *line, size_t len)
{
    if (gf->len + len > GF_BUFSZ)
        gf_flush(gf);
    if (len > GF_BUFSZ) {
        if (fwrite(line, 1, len, gf->f) != len)
            gf->failed = true;
    } else {
        memcpy(gf->buf + gf->len, line, len);
        gf->len += len;
    }
    gf->bytes += len;
}

void gf_line(struct gen_file *gf, const char *line, size_t len)
{
    gf_raw(gf, line, len);
    gf_raw(gf, gf->eol, gf->eol[1] ? 2 : 1);
    gf->lines++;
}

int gf_close(struct gen_file *gf)
{
    int rc = 0;

    if (gf->f == NULL)
        return 0;
    gf_flush(gf);
    if (fclose(gf->f) != 0 || gf->failed)
        rc = -1;
    free(gf->buf);
    gf->buf = NULL;
    gf->f = NULL;
    return rc;
}
