/* cleave-bench: a delaying TCP relay, the round-trip time of the emulated link.
 *
 * netem does not exist on the target kernel, so the link's delay comes from here: the relay accepts
 * connections on one address, opens one to the target for each, and forwards both directions, each
 * byte leaving exactly delay_ms after it arrived. Each direction of each connection has its own
 * queue of timestamped chunks, so a busy direction never holds back the other one or another
 * connection, and a chunk waits for nothing but its own due time and the receiver's TCP window
 * (the byte stream keeps its order, as TCP would). Half-closes are forwarded once the queue drains;
 * a reset or error on either side closes both. The relay reads as fast as the sender sends, up to
 * max_queue bytes waiting per direction (then TCP's own flow control holds the sender).
 *
 * What it does not emulate: TCP's congestion control seeing the long RTT. Each side's connection ends
 * at the relay, so slow start and the congestion window ramp over the short local RTT (as behind a
 * split-TCP proxy). One relay serves up to 256 connections at once, single-threaded (poll). */
#ifndef CLEAVE_BENCH_RELAY_H
#define CLEAVE_BENCH_RELAY_H

#include <stddef.h>
#include <stdio.h>

#include "cleave/status.h"

typedef struct cl_relay_opts {
  const char *listen_host;    /* IPv4 address to listen on, e.g. "10.77.0.2" or "127.0.0.1" */
  int listen_port;            /* 0: any (cl_relay_port tells which) */
  const char *target_host;    /* where each accepted connection is relayed to */
  int target_port;
  double delay_ms;            /* added to each direction: the round trip gains twice this */
  size_t max_queue;           /* bytes waiting per direction before reading pauses; 0: 64 MiB */
  FILE *log;                  /* connection events and errors, or NULL */
} cl_relay_opts;

typedef struct cl_relay cl_relay_t;

/* Binds the listening socket (SO_REUSEADDR). The caller keeps o and its strings for the relay's life.
 * Errors: CL_ERR_ARG (bad address, negative delay), CL_ERR_IO (socket, bind, listen). */
cl_status cl_relay_create(const cl_relay_opts *o, cl_relay_t **out, cl_error *err) CL_MUST_CHECK;

/* The port it listens on. */
int cl_relay_port(const cl_relay_t *r);

/* Serves until cl_relay_stop. Returns CL_OK when stopped; CL_ERR_IO when polling fails. Errors on
 * single connections (the target refusing, resets) close that connection only. */
cl_status cl_relay_run(cl_relay_t *r, cl_error *err) CL_MUST_CHECK;

/* Makes cl_relay_run return soon. Async-signal-safe and thread-safe (it writes one byte to a pipe). */
void cl_relay_stop(cl_relay_t *r);

/* Connections forwarded so far, and bytes forwarded in each direction (client to target, back). */
void cl_relay_counts(const cl_relay_t *r, long *connections, unsigned long long *up,
                     unsigned long long *down);

/* Closes everything and frees r; sets *r to NULL. Safe on NULL. Not while cl_relay_run runs. */
void cl_relay_free(cl_relay_t **r);

#endif
