/* cleave-bench: goodput and round-trip probes over TCP (the shaping checks).
 *
 * A server (cl_goodput_serve) answers one connection at a time, one command a line:
 *   "UP N"    the client sends N bytes; the server answers "OK <bytes> <ns>\n": the payload bytes
 *             after its first read and the time from the first read to the last byte;
 *   "DOWN N"  the server sends N bytes; the client times them the same way;
 *   "PING"    answered "PONG" at once (round trips: through a relay they show its delay).
 * Timing from the first read leaves out connection set-up and the bucket's initial burst (one read).
 * Goodput = payload bits per second as the receiver sees them. */
#ifndef CLEAVE_BENCH_GOODPUT_H
#define CLEAVE_BENCH_GOODPUT_H

#include <signal.h>
#include <stddef.h>

#include "cleave/status.h"

/* Listens on host:port (port 0: any) and serves until *stop is set (checked at least every 100 ms).
 * *bound gets the port (may be NULL); ready (may be NULL) is called once listening. Errors: CL_ERR_ARG,
 * CL_ERR_IO (bind, listen). */
cl_status cl_goodput_serve(const char *host, int port, volatile sig_atomic_t *stop, int *bound,
                           void (*ready)(int port, void *ctx), void *ctx, cl_error *err) CL_MUST_CHECK;

typedef struct cl_goodput_result {
  double mbit;                /* payload Mbit/s (1e6 bit/s) */
  double bytes;               /* payload bytes timed */
  double seconds;
} cl_goodput_result;

/* Sends (up = 1) or receives (up = 0) `bytes` bytes to or from the server at host:port, within
 * timeout_s. Errors: CL_ERR_IO, CL_ERR_TIMEOUT, CL_ERR_PROTOCOL (a bad answer). */
cl_status cl_goodput_measure(const char *host, int port, int up, size_t bytes, double timeout_s,
                             cl_goodput_result *out, cl_error *err) CL_MUST_CHECK;

/* count PING round trips on one connection; *median_ms and *max_ms of them. */
cl_status cl_goodput_ping(const char *host, int port, int count, double timeout_s, double *median_ms,
                          double *max_ms, cl_error *err) CL_MUST_CHECK;

#endif
