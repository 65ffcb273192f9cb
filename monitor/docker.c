/*
 * docker.c - the Docker Compose backend (backend.h): not built yet. The
 * monitor's logic is the same in both modes; this file will talk to the
 * Docker Engine API over its unix socket (the project's containers, their
 * event stream, start and kill). Until then, MONITOR_MODE=docker fails at
 * start with a clear message.
 */
#include "backend.h"

#include "log.h"

#include <stddef.h>

static struct backend *docker_create(const char *config)
{
    (void)config;
    log_error("docker mode is not built yet (MONITOR_MODE=local works)");
    return NULL;
}

static void docker_destroy(struct backend *b)
{
    (void)b;
}

static size_t docker_poll(struct backend *b, struct backend_event *out, size_t max,
                          int timeout_ms)
{
    (void)b, (void)out, (void)max, (void)timeout_ms;
    return 0;
}

static int docker_start(struct backend *b, const char *slot)
{
    (void)b, (void)slot;
    return -1;
}

static int docker_kill(struct backend *b, const char *slot, const char *ref)
{
    (void)b, (void)slot, (void)ref;
    return -1;
}

static bool docker_match(struct backend *b, const struct hb_msg *m, char *slot,
                         size_t slotsz, char *ref, size_t refsz)
{
    (void)b, (void)m, (void)slot, (void)slotsz, (void)ref, (void)refsz;
    return false;
}

const struct backend_ops backend_docker = {
    .name = "docker",
    .create = docker_create,
    .destroy = docker_destroy,
    .poll = docker_poll,
    .start = docker_start,
    .kill = docker_kill,
    .match = docker_match,
    .event_fd = NULL,
};
