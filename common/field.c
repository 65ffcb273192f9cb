/*
 * field.c - field parsers and money formatting (see field.h).
 */
#include "field.h"

static bool digits(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return false;
    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int64_t num(const char *s, size_t n)
{
    int64_t v = 0;
    size_t i;

    for (i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

bool field_int(const char *s, size_t n, int64_t *out)
{
    if (n > FIELD_MAX_DIGITS || !digits(s, n))
        return false;
    *out = num(s, n);
    return true;
}

bool field_dec(const char *s, size_t n, int64_t *milli)
{
    size_t ip = 0, fd;
    int64_t frac;

    while (ip < n && s[ip] != '.')
        ip++;
    if (ip > FIELD_MAX_DIGITS || !digits(s, ip))
        return false;
    if (ip == n) {
        *milli = num(s, ip) * 1000;
        return true;
    }
    fd = n - ip - 1;
    if (fd < 1 || fd > 3 || !digits(s + ip + 1, fd))
        return false;
    frac = num(s + ip + 1, fd);
    while (fd++ < 3)
        frac *= 10;
    *milli = num(s, ip) * 1000 + frac;
    return true;
}

static bool two(const char *s, int *out)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return false;
    *out = (s[0] - '0') * 10 + (s[1] - '0');
    return true;
}

static bool parse_date(const char *s, int *y, int *m, int *d)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    int hi, lo;

    if (s[4] != '-' || s[7] != '-' || !two(s, &hi) || !two(s + 2, &lo) ||
        !two(s + 5, m) || !two(s + 8, d))
        return false;
    *y = hi * 100 + lo;
    if (*m < 1 || *m > 12 || *d < 1 || *d > mdays[*m - 1])
        return false;
    if (*m == 2 && *d == 29 &&
        !((*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0))
        return false;
    return true;
}

bool field_ts(const char *s, size_t n, struct field_ts *out)
{
    int h, mi, se;

    if (n != 19 || s[10] != ' ' || s[13] != ':' || s[16] != ':')
        return false;
    if (!parse_date(s, &out->year, &out->month, &out->day))
        return false;
    if (!two(s + 11, &h) || !two(s + 14, &mi) || !two(s + 17, &se) || h > 23 ||
        mi > 59 || se > 59)
        return false;
    out->sec_of_day = h * 3600 + mi * 60 + se;
    return true;
}

bool field_user_id(const char *s, size_t n, int64_t *out)
{
    if (n == 0) {
        *out = -1;
        return true;
    }
    if (n > 2 && s[n - 2] == '.' && s[n - 1] == '0')
        n -= 2;
    return field_int(s, n, out);
}

bool field_date(const char *s, size_t n)
{
    int y, m, d;

    return n == 10 && parse_date(s, &y, &m, &d);
}

int field_fmt_int(int64_t v, char *out)
{
    char tmp[24];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int n = 0, len = 0;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        out[len++] = '-';
    while (n)
        out[len++] = tmp[--n];
    out[len] = '\0';
    return len;
}

int field_fmt_min1(int64_t milli, char *out)
{
    int64_t a = milli < 0 ? -milli : milli;
    int64_t frac = a % 1000;
    int len = 0, nd = 3;
    char d[3];

    if (milli < 0)
        out[len++] = '-';
    len += field_fmt_int(a / 1000, out + len);
    out[len++] = '.';
    d[0] = (char)('0' + frac / 100);
    d[1] = (char)('0' + frac / 10 % 10);
    d[2] = (char)('0' + frac % 10);
    while (nd > 1 && d[nd - 1] == '0')
        nd--;
    for (int i = 0; i < nd; i++)
        out[len++] = d[i];
    out[len] = '\0';
    return len;
}

int field_fmt_2(int64_t milli, char *out)
{
    int64_t a = milli < 0 ? -milli : milli;
    int64_t cents = (a + 5) / 10; /* half away from zero on the magnitude */
    int len = 0;

    if (milli < 0 && cents != 0)
        out[len++] = '-';
    len += field_fmt_int(cents / 100, out + len);
    out[len++] = '.';
    out[len++] = (char)('0' + cents / 10 % 10);
    out[len++] = (char)('0' + cents % 10);
    out[len] = '\0';
    return len;
}
