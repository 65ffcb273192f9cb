/*
 * tfix.c - helpers of the program-level unit tests (see tfix.h).
 */
#include "tfix.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define WAL_HDR 8
#define WAL_MAX (256u << 20)

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL) {
        fprintf(stderr, "tfix: out of memory\n");
        abort();
    }
    return p;
}

char *tfix_mkdtemp(void)
{
    char *p = xmalloc(32);

    snprintf(p, 32, "/tmp/cs-unit-XXXXXX");
    if (mkdtemp(p) == NULL) {
        perror("mkdtemp");
        abort();
    }
    return p;
}

static void rm_under(const char *path, int depth)
{
    char sub[4096];
    struct dirent *de;
    struct stat st;
    DIR *d = opendir(path);

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode) && depth < 4) {
            rm_under(sub, depth + 1);
            (void)rmdir(sub);
        } else {
            (void)unlink(sub);
        }
    }
    closedir(d);
}

void tfix_rmrf(const char *path)
{
    if (path == NULL)
        return;
    rm_under(path, 0);
    (void)rmdir(path);
}

bool tfix_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* ------------------------------------------------------------ logs */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* wal.h: crc32 of len:u32le then the payload. */
static bool crc_ok(const uint8_t *rec, uint32_t len)
{
    uLong c = crc32(0L, Z_NULL, 0);

    c = crc32(c, rec, 4);
    c = crc32(c, rec + 8, len);
    return (uint32_t)c == le32(rec + 4);
}

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0)
        abort();
    buf = xmalloc((size_t)n);
    if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
        abort();
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static void add_rec(struct tfix_log *l, const uint8_t *p, size_t len)
{
    l->rec = realloc(l->rec, (l->n + 1) * sizeof(*l->rec));
    l->len = realloc(l->len, (l->n + 1) * sizeof(*l->len));
    if (l->rec == NULL || l->len == NULL)
        abort();
    l->rec[l->n] = xmalloc(len);
    memcpy(l->rec[l->n], p, len);
    l->len[l->n++] = len;
}

void tfix_log_read(const char *path, struct tfix_log *l)
{
    size_t off = WAL_HDR;
    uint8_t *buf;

    memset(l, 0, sizeof(*l));
    buf = slurp(path, &l->size);
    if (buf == NULL)
        return;
    l->exists = true;
    if (l->size < WAL_HDR || memcmp(buf, "CSWAL1\n", 8) != 0) {
        free(buf);
        return;
    }
    while (off + 8 <= l->size) {
        uint32_t len = le32(buf + off);

        if (len > WAL_MAX || off + 8 + len > l->size || !crc_ok(buf + off, len))
            break;
        add_rec(l, buf + off + 8, len);
        off += 8 + len;
    }
    l->good = off;
    free(buf);
}

void tfix_log_free(struct tfix_log *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->rec[i]);
    free(l->rec);
    free(l->len);
    memset(l, 0, sizeof(*l));
}

bool tfix_log_has(const struct tfix_log *l, const void *p, size_t len)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (l->len[i] == len && memcmp(l->rec[i], p, len) == 0)
            return true;
    return false;
}

void tfix_log_path(char *out, size_t n, const char *root, const char *sub,
                   const char *name)
{
    snprintf(out, n, "%s/%s/%s.wal", root, sub, name);
}

/* ------------------------------------------------------------ control */

struct ctl_msg *tfix_ctl(enum ctl_type t, const char *session)
{
    struct ctl_msg *m = ctl_new(t, session);

    if (m == NULL)
        abort();
    return m;
}

bool tfix_pub_ctl(const struct fake_ev *ev, enum ctl_type t, bool to_coord,
                  struct ctl_msg *out)
{
    if (ev->op != FAKE_PUBLISH || ev->meta.kind != MW_KIND_CONTROL ||
        (to_coord && !fake_mw_to_coordinator(ev)))
        return false;
    return fake_mw_ctl(ev, out) == 0 && out->type == t;
}

long tfix_find_ctl(size_t from, enum ctl_type t, bool to_coord,
                   const char *session, struct ctl_msg *out)
{
    size_t i;

    for (i = from; i < fake_mw_nevents(); i++)
        if (tfix_pub_ctl(fake_mw_event(i), t, to_coord, out) &&
            (session == NULL || strcmp(out->session, session) == 0))
            return (long)i;
    return -1;
}

int tfix_count_ctl(size_t from, enum ctl_type t, bool to_coord,
                   const char *session)
{
    struct ctl_msg *m = tfix_ctl(t, NULL);
    long i = (long)from - 1;
    int n = 0;

    while ((i = tfix_find_ctl((size_t)(i + 1), t, to_coord, session, m)) >= 0)
        n++;
    free(m);
    return n;
}

static void pairs(const struct ctl_msg *m, int f, bool rej, char *out, size_t n)
{
    const struct ctl_flow *fl = &m->flows[f];
    int first = rej ? fl->rej0 : fl->range0, cnt = rej ? fl->nrej : fl->nranges;
    size_t used = 0;
    int i;

    out[0] = '\0';
    for (i = first; i < first + cnt && used < n; i++) {
        int64_t a = rej ? m->rejs[i].seq : m->ranges[i].lo;
        int64_t b = rej ? m->rejs[i].n : m->ranges[i].hi;
        const char *sep = i > first ? "," : "";
        int w;

        if (rej)
            w = snprintf(out + used, n - used, "%s%lld=%lld", sep, (long long)a,
                         (long long)b);
        else if (a == b)
            w = snprintf(out + used, n - used, "%s%lld", sep, (long long)a);
        else
            w = snprintf(out + used, n - used, "%s%lld-%lld", sep, (long long)a,
                         (long long)b);
        used += w > 0 ? (size_t)w : 0;
    }
}

void tfix_ranges(const struct ctl_msg *m, int f, char *out, size_t n)
{
    pairs(m, f, false, out, n);
}

void tfix_rejs(const struct ctl_msg *m, int f, char *out, size_t n)
{
    pairs(m, f, true, out, n);
}
