/*
 * fault.c - crash points (see fault.h). The spec is parsed once at start;
 * each point keeps its own hit counter.
 */
#include "fault.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_POINTS 8

struct point {
    char name[64];
    long at; /* die at this hit (1-based) */
    long hits;
};

bool fault_armed;
static struct point points[MAX_POINTS];
static int npoints;

static int parse_one(const char *s, size_t len)
{
    const char *colon = memchr(s, ':', len);
    size_t nlen = colon ? (size_t)(colon - s) : len;
    struct point *p;
    char num[24], *end;

    if (npoints == MAX_POINTS || nlen == 0 || nlen >= sizeof(p->name))
        return -1;
    p = &points[npoints];
    memcpy(p->name, s, nlen);
    p->name[nlen] = '\0';
    p->at = 1;
    if (colon) {
        size_t dl = len - nlen - 1;

        if (dl == 0 || dl >= sizeof(num))
            return -1;
        memcpy(num, colon + 1, dl);
        num[dl] = '\0';
        p->at = strtol(num, &end, 10);
        if (*end != '\0' || p->at < 1)
            return -1;
    }
    p->hits = 0;
    npoints++;
    return 0;
}

int fault_init(void)
{
    const char *spec = getenv("CS_FAULT"), *s, *comma;

    npoints = 0;
    fault_armed = false;
    if (spec == NULL || spec[0] == '\0')
        return 0;
    for (s = spec; *s; s = comma ? comma + 1 : s + strlen(s)) {
        comma = strchr(s, ',');
        if (parse_one(s, comma ? (size_t)(comma - s) : strlen(s)) != 0) {
            fprintf(stderr,
                    "error: CS_FAULT '%s': expected point[:n][,point[:n]...] "
                    "with n >= 1\n",
                    spec);
            npoints = 0;
            return -1;
        }
        if (comma == NULL)
            break;
    }
    fault_armed = npoints > 0;
    return 0;
}

void fault_hit(const char *point)
{
    int i;

    for (i = 0; i < npoints; i++) {
        if (strcmp(points[i].name, point) != 0 ||
            ++points[i].hits != points[i].at)
            continue;
        /* One write(2): stdio may hold buffered log lines, and a real crash
         * would lose them too. */
        char line[160];
        int n = snprintf(line, sizeof(line),
                         "FAULT: crash point %s hit %ld: "
                         "killing myself (pid %ld)\n",
                         point, points[i].hits, (long)getpid());

        if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0)
            n = 0;
        (void)raise(SIGKILL);
    }
}
