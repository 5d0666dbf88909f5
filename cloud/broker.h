/* cleave-cloud: the broker between many devices and many workers (cleave-edge --connect).
 *
 * Two ROUTER sockets: devices connect to the front exactly as they would to one edge; workers
 * connect to the back, say READY (capacity, models served) and heartbeat both ways after the
 * Majordomo pattern (ZeroMQ RFC 7). docs/PROTOCOL.md section 12 gives the messages.
 *
 * Routing: sessions are end to end between a device and one worker (the worker holds the session
 * keys), so the broker places each HELLO on the readiest worker that serves its model (the most free
 * capacity, then the one used least recently) and sends the session's requests to that worker. It
 * reads the plaintext header (type, session, request id, model hash) and forwards both frames as
 * they came: it holds no key and never sees a tensor in clear.
 *
 * Failure: a worker silent for 3 heartbeat intervals (or that says DISCONNECT) is dropped. Its
 * HELLOs in flight go to another worker; its requests in flight are answered ERROR with code
 * CL_ERR_CLOSED ("worker lost"), on which a device (reconnect 1) handshakes again, lands on a live
 * worker and sends them again. A request for a session no live worker holds gets the same answer.
 *
 * Limits: requests in flight through the broker (max_pending), sessions routed (the same number;
 * the least recently used route goes first), workers (CL_BROKER_MAX_WORKERS), frames
 * (ZMQ_MAXMSGSIZE), queues (high-water marks; a full one drops the message, the device's deadline
 * covers it). Nothing is allocated after create.
 *
 * Threads: run on one thread; stop and stats_get from any. */
#ifndef CLEAVE_CLOUD_BROKER_H
#define CLEAVE_CLOUD_BROKER_H

#include <stdint.h>

#include "cleave/status.h"

#define CL_BROKER_MAX_WORKERS 64

typedef struct cl_broker cl_broker_t;

typedef struct cl_broker_options {
  const char *front;           /* devices' endpoint to bind, e.g. "tcp://0.0.0.0:5555" */
  const char *back;            /* workers' endpoint to bind, e.g. "tcp://0.0.0.0:5556" */
  int heartbeat_ms;            /* heartbeat interval; a worker is dropped after 3 (0: 1000) */
  int64_t max_message;         /* largest frame accepted, bytes (0: 256 MiB) */
  int queue;                   /* high-water marks, messages (0: 1000) */
  int max_pending;             /* messages in flight to workers, and sessions routed (0: 8192) */
  void (*log)(void *ctx, const char *line);   /* one line per event, no newline; NULL: stderr */
  void *log_ctx;
} cl_broker_options;

typedef struct cl_broker_stats {
  uint64_t forwarded;          /* device messages handed to a worker */
  uint64_t answered;           /* worker answers handed to a device */
  uint64_t hellos_moved;       /* HELLOs sent again to another worker after theirs was lost */
  uint64_t requests_lost;      /* requests answered "worker lost" (the device sends them again) */
  uint64_t workers_lost;       /* workers dropped (silent or DISCONNECT) */
  uint64_t workers;            /* workers ready now */
  uint64_t refused;            /* messages refused (malformed, unroutable, limits) */
  uint64_t dropped;            /* messages a full or gone peer could not take */
} cl_broker_stats;

/* Binds both endpoints. Errors: CL_ERR_ARG (options), CL_ERR_IO (bind), CL_ERR_NOMEM. On success
 * *out is the caller's: cl_broker_free. */
cl_status cl_broker_create(const cl_broker_options *o, cl_broker_t **out,
                           cl_error *err) CL_MUST_CHECK;

/* The endpoints actually bound (a "*" port resolved). Belong to b. */
const char *cl_broker_front_endpoint(const cl_broker_t *b);
const char *cl_broker_back_endpoint(const cl_broker_t *b);

/* Routes until cl_broker_stop. Errors: CL_ERR_IO when ZeroMQ fails. */
cl_status cl_broker_run(cl_broker_t *b, cl_error *err) CL_MUST_CHECK;

/* Asks run to return within about 100 ms. Async-signal-safe. */
void cl_broker_stop(cl_broker_t *b);

void cl_broker_stats_get(const cl_broker_t *b, cl_broker_stats *st);

/* Closes everything; sets *b to NULL. run must have returned. Safe on NULL. */
void cl_broker_free(cl_broker_t **b);

#endif
