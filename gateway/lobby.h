/*
 * lobby.h - the gateway's front door (main thread): accepts clients, starts
 * a session thread for each while fewer than MAX_SESSIONS run, and keeps
 * the others in a first-come first-served waiting line.
 *
 * A waiting client costs a socket and a small record: no thread, no broker
 * connection, no decoder buffer. The lobby reads its HELLO (with the same
 * checks and words as a session would), tells a client of protocol
 * version 2 its place in line with STATUS frames (when it changes, at most
 * once a second, and at least every GW_LINE_STATUS_S seconds), and hands
 * the socket to a session thread when a slot frees, HELLO read. A client
 * that sends no whole HELLO within IDLE_TIMEOUT_S gets ERROR 5; one that
 * leaves the line is forgotten; past GATEWAY_MAX_WAITING waiting, new
 * clients get ERROR 4 (busy). At shutdown the waiting get ERROR 8.
 */
#ifndef CS_GW_LOBBY_H
#define CS_GW_LOBBY_H

#include <stdbool.h>

struct gw_server;
struct gw_lobby;

/* A lobby for srv (borrowed until gw_lobby_destroy); NULL on failure
 * (logged). Session threads end through gw_registry_leave, which wakes it. */
struct gw_lobby *gw_lobby_create(struct gw_server *srv);

/* Accepts on listening socket lfd (borrowed) until *stop is non-zero, then
 * sends the waiting clients ERROR 8 (shutdown) and closes them. */
void gw_lobby_run(struct gw_lobby *l, int lfd);

void gw_lobby_destroy(struct gw_lobby *l);

/* Blocks (or unblocks) SIGINT and SIGTERM in the calling thread: threads
 * started meanwhile never take them, only the lobby's poll sees them. */
void gw_block_stop_signals(bool block);

#endif
