/*
 * results.c - receives the result files: RESULT chunks are appended, in
 * sequence order, to hidden temporary files in the output folder; only when
 * RESULT_END arrives and every expected file is there are they all fsync'ed
 * and then renamed into place, so a failed run never leaves a partial
 * result file, and a session run again (session.c) starts from empty
 * temporary files (cl_results_reset), so no file mixes two sessions.
 */
#include "client.h"
#include "clock.h"

#include "batcher.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const result_names[CL_NRESULTS] = {
    CS_RESULT_FILES(CS_NAME_STR)};

/* mkdir -p (client.h) */
int cl_make_dirs(char *path)
{
    char *p;

    for (p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            *p = '/';
            return -1;
        }
        *p = '/';
    }
    return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int cl_results_init(struct cl_results *r, const char *dir)
{
    int i, n;

    memset(r, 0, sizeof(*r));
    n = snprintf(r->dir, sizeof(r->dir), "%s", dir);
    if (n <= 0 || (size_t)n >= sizeof(r->dir)) {
        cl_error("output folder path too long");
        return -1;
    }
    for (i = 0; i < CL_NRESULTS; i++) {
        r->f[i].name = result_names[i];
        r->f[i].fd = -1;
        char tmp[sizeof(r->f[i].tmp)];

        /* via a local buffer: gcc -O1 with sanitizers wrongly sees an
         * overlap between two members of *r (-Wrestrict) */
        snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%ld", dir, result_names[i],
                 (long)getpid());
        memcpy(r->f[i].tmp, tmp, sizeof(tmp));
    }
    r->created = access(r->dir, F_OK) != 0;
    if (cl_make_dirs(r->dir) != 0) {
        cl_error("cannot create output folder %s: %s", r->dir, strerror(errno));
        return -1;
    }
    return 0;
}

void cl_results_reset(struct cl_results *r)
{
    int i;

    for (i = 0; i < CL_NRESULTS; i++) {
        struct cl_result_file *f = &r->f[i];

        if (f->fd >= 0)
            (void)close(f->fd);
        f->fd = -1;
        /* the name holds our pid: nobody else's file; ENOENT is fine */
        (void)unlink(f->tmp);
        f->next_seq = 0;
        f->bytes = 0;
        f->records = 0;
        f->quoted = false;
    }
    memset(r->rejected, 0, sizeof(r->rejected));
}

void cl_results_fini(struct cl_results *r)
{
    cl_results_reset(r);
    if (r->created && !r->committed)
        (void)rmdir(r->dir); /* only if still empty */
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int on_chunk(struct cl_results *r, const struct proto_msg *m)
{
    struct cl_result_file *f = NULL;
    int i;

    for (i = 0; i < CL_NRESULTS; i++)
        if (strcmp(result_names[i], m->u.result.file) == 0)
            f = &r->f[i];
    if (f == NULL) {
        cl_warn("ignoring unexpected result file '%s'", m->u.result.file);
        return 0;
    }
    if (m->u.result.seq != f->next_seq) {
        cl_error("result %s: chunk %u arrived, expected chunk %u", f->name,
                 m->u.result.seq, f->next_seq);
        return CL_FAIL;
    }
    if (f->fd < 0) {
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (f->fd < 0) {
            cl_error("cannot create %s: %s", f->tmp, strerror(errno));
            return CL_FAIL;
        }
    }
    if (write_all(f->fd, m->u.result.data, m->u.result.len) != 0) {
        cl_error("writing %s: %s", f->tmp, strerror(errno));
        return CL_FAIL;
    }
    f->next_seq++;
    f->bytes += m->u.result.len;
    f->records +=
        batcher_count_records(&f->quoted, m->u.result.data, m->u.result.len);
    return 0;
}

/* Every file arrived: make all of them durable first, so that a write
 * error replaces none, then move them into place. */
static int commit_files(struct cl_results *r)
{
    char final[4200];
    int i, err;

    for (i = 0; i < CL_NRESULTS; i++)
        if (r->f[i].fd < 0) {
            cl_error("the gateway ended the session without result file %s",
                     r->f[i].name);
            return CL_FAIL;
        }
    for (i = 0; i < CL_NRESULTS; i++) {
        struct cl_result_file *f = &r->f[i];

        err = fsync(f->fd) == 0 ? 0 : errno;
        if (close(f->fd) != 0 && err == 0)
            err = errno;
        f->fd = -1;
        if (err != 0) {
            cl_error("writing %s: %s", f->tmp, strerror(err));
            return CL_FAIL;
        }
    }
    for (i = 0; i < CL_NRESULTS; i++) {
        struct cl_result_file *f = &r->f[i];

        snprintf(final, sizeof(final), "%s/%s", r->dir, f->name);
        if (rename(f->tmp, final) != 0) {
            cl_error("cannot rename %s to %s: %s", f->tmp, final,
                     strerror(errno));
            return CL_FAIL;
        }
        r->committed = true;
    }
    return 0;
}

static int files_started(const struct cl_results *r)
{
    int i, n = 0;

    for (i = 0; i < CL_NRESULTS; i++)
        n += r->f[i].fd >= 0;
    return n;
}

int cl_results_receive(struct cl_results *r, struct cl_conn *c, int timeout_s,
                       struct cl_progress *p)
{
    double t0 = clock_mono_s();
    struct proto_msg m;

    for (;;) {
        double left = timeout_s > 0 ? timeout_s - (clock_mono_s() - t0) : 1.0;
        int rc;

        if (left <= 0) {
            cl_error("no complete results after %d s (see --result-timeout)",
                     timeout_s);
            return CL_FAIL;
        }
        cl_progress_wait(p, t0, files_started(r));
        /* one-second slices: the deadline and the progress line stay live */
        rc = cl_conn_recv(c, &m, left < 1.0 ? (int)(left * 1000) + 1 : 1000);
        if (rc < 0)
            return rc;
        if (rc == 0)
            continue;
        switch (m.type) {
        case PROTO_RESULT:
            if (on_chunk(r, &m) != 0)
                return CL_FAIL;
            break;
        case PROTO_RESULT_END:
            cl_progress_end(p);
            memcpy(r->rejected, m.u.result_end.rejected, sizeof(r->rejected));
            if (m.u.result_end.status != 0) {
                cl_error("the gateway reported a failed session (status %u)",
                         m.u.result_end.status);
                return CL_FAIL;
            }
            return commit_files(r);
        case PROTO_ERROR:
            cl_progress_end(p);
            return cl_conn_error(c, &m, "gateway error");
        case PROTO_STATUS:
            cl_progress_status(p, m.u.status.text);
            break;
        default:
            cl_error("unexpected %s from the gateway while waiting for results",
                     proto_type_name(m.type));
            return CL_FAIL;
        }
    }
}
