/*
 * hb.h - heartbeats from a process to the monitors.
 *
 * Every pipeline process calls hb_tick() from its main loop; at most every
 * interval (HB_INTERVAL_MS, default 500) it sends one UDP datagram to each
 * monitor named in MONITOR_ADDRS ("host:port,host:port,..."), so a process
 * whose loop is stuck goes silent while one that merely waits (for
 * deliveries, or to reconnect to the broker) keeps talking. hb_bye() tells
 * the monitors the process stops on purpose (a clean exit is not a crash;
 * sent three times, datagrams being unreliable).
 * Without MONITOR_ADDRS every call is a no-op.
 *
 * Datagram (one line of ASCII, at most HB_MAX_DATAGRAM bytes):
 *   CSHB1 <name> <pid> <host> <seq> <state>
 * name: the process's slot ("coordinator", "gateway", "filter-0", ...);
 * host: its hostname (a container id under Docker); state: "up" or "bye".
 * Sending never blocks; errors (a monitor that is down) are ignored, and
 * names are resolved again every 10 s (monitors restart with new addresses
 * under Docker).
 */
#ifndef CS_HB_H
#define CS_HB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HB_MAX_DATAGRAM 256
#define HB_NAME_MAX 64

struct hb;

/* A heartbeat sender for process slot `name` (copied), reading
 * MONITOR_ADDRS and HB_INTERVAL_MS. NULL only when out of memory; a
 * malformed MONITOR_ADDRS is logged once and disables it. */
struct hb *hb_create(const char *name);

/* Renames the slot (e.g. once a replica claimed its index). */
void hb_rename(struct hb *h, const char *name);

/* Sends a heartbeat if the interval elapsed since the last one. Cheap: call
 * it from every iteration of the main loop. NULL is a no-op. */
void hb_tick(struct hb *h);

/* Sends the "bye" heartbeat at once (before a deliberate exit). */
void hb_bye(struct hb *h);

void hb_destroy(struct hb *h);

/* Parses one datagram; returns 0 and fills the fields (name and host of
 * HB_NAME_MAX bytes), or -1 when it is not a heartbeat. For monitors. */
struct hb_msg {
    char name[HB_NAME_MAX];
    char host[HB_NAME_MAX];
    long pid;
    uint64_t seq;
    bool bye;
};
int hb_parse(const char *buf, size_t len, struct hb_msg *m);

#endif
