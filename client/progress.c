/*
 * progress.c - one self-updating progress line on stderr when it is a
 * terminal (bytes sent of total, rate, ETA); otherwise a log line every
 * PLAIN_EVERY_S seconds at most, so logs of long runs are not flooded.
 */
#include "client.h"
#include "clock.h"

#include "log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TTY_EVERY_S 0.1
#define PLAIN_EVERY_S 10.0
#define MB (1024.0 * 1024.0)

/* The progress line is a property of the process's stderr. */
static bool line_shown;

void cl_progress_clear(void)
{
    if (line_shown) {
        fputs("\r\033[K", stderr);
        line_shown = false;
    }
}

void cl_progress_init(struct cl_progress *p, uint64_t total, bool enabled)
{
    p->tty = enabled && isatty(STDERR_FILENO);
    p->total = total;
    p->done = 0;
    p->t0 = clock_mono_s();
    p->last = p->t0;
    p->what = "";
    p->status[0] = '\0';
}

void cl_progress_status(struct cl_progress *p, const char *text)
{
    if (strcmp(p->status, text) == 0)
        return;
    snprintf(p->status, sizeof(p->status), "%s", text);
    cl_progress_clear();
    if (text[0])
        log_warn("the pipeline is stuck: %s", text);
    else
        log_info("the pipeline moves again");
}

static void fmt_eta(char *out, size_t n, double s)
{
    if (s < 0 || s > 359999)
        snprintf(out, n, "--");
    else if (s >= 3600)
        snprintf(out, n, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
    else if (s >= 60)
        snprintf(out, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(out, n, "%ds", (int)s);
}

void cl_progress_add(struct cl_progress *p, uint64_t bytes, const char *what)
{
    double now = clock_mono_s(), el = now - p->t0, rate, pct;
    char eta[32];

    p->done += bytes;
    p->what = what;
    if (now - p->last < (p->tty ? TTY_EVERY_S : PLAIN_EVERY_S))
        return;
    p->last = now;
    rate = el > 0 ? (double)p->done / el : 0;
    pct = p->total ? 100.0 * (double)p->done / (double)p->total : 100.0;
    fmt_eta(eta, sizeof(eta),
            rate > 0 ? (double)(p->total - p->done) / rate : -1.0);
    line_shown = p->tty;
    if (p->tty)
        fprintf(stderr,
                "\r%-17s %9.1f / %.1f MB %5.1f%% %7.1f MB/s  ETA %s%s%s\033[K",
                what, (double)p->done / MB, (double)p->total / MB, pct,
                rate / MB, eta, p->status[0] ? "  | " : "", p->status);
    else
        log_info("progress table=%s sent_mb=%.1f total_mb=%.1f pct=%.1f "
                 "rate_mbs=%.1f eta=%s",
                 what, (double)p->done / MB, (double)p->total / MB, pct,
                 rate / MB, eta);
}

void cl_progress_wait(struct cl_progress *p, double since, int files_done)
{
    double now = clock_mono_s();

    if (!p->tty || now - p->last < 0.5)
        return;
    p->last = now;
    line_shown = true;
    fprintf(stderr, "\rwaiting for results: %.0f s, %d/%d files%s%s\033[K",
            now - since, files_done, CL_NRESULTS, p->status[0] ? "  | " : "",
            p->status);
}

void cl_progress_end(struct cl_progress *p)
{
    (void)p;
    cl_progress_clear();
}
