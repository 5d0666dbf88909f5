/* cleave internal: ZeroMQ plumbing shared by the split client (DEALER) and server (ROUTER).
 *
 * Socket limits (every socket cleave makes sets all of them): ZMQ_SNDHWM / ZMQ_RCVHWM (messages
 * queued per peer), ZMQ_MAXMSGSIZE (a larger frame drops the peer's connection before it is
 * buffered), ZMQ_LINGER (how long close waits for unsent messages), ZMQ_SNDTIMEO.
 * Receiving: ZeroMQ allocates each frame (zmq_msg_t); cleave reads and decrypts it in place.
 * Sending: headers are copied (zmq_send); a large payload may go zero-copy from the caller's
 * buffer, with a release callback telling when ZeroMQ is done with it. */
#ifndef CLEAVE_WIRE_TRANSPORT_H
#define CLEAVE_WIRE_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "cleave/status.h"

typedef struct cl_transport_limits {
  int hwm;            /* high-water mark, messages, both directions */
  int64_t max_msg;    /* largest frame accepted, bytes (-1: none, for inproc) */
  int linger_ms;      /* ZMQ_LINGER */
  int sndtimeo_ms;    /* ZMQ_SNDTIMEO (-1: block) */
} cl_transport_limits;

/* Sets the limits on sock. Errors: CL_ERR_IO naming the option. */
cl_status cl_transport_limit(void *sock, const cl_transport_limits *l, cl_error *err) CL_MUST_CHECK;

/* Receives one whole message: its first max parts into parts[0, max) (initialised here; the caller
 * closes parts[0, min(*n, max)) after a success), the rest received and dropped; *n is the number
 * of parts the message had. flags: 0 or ZMQ_DONTWAIT (for the first part).
 * Errors: CL_ERR_TIMEOUT (EAGAIN), CL_ERR_CLOSED (context terminated), CL_ERR_IO; nothing to close. */
cl_status cl_transport_recv(void *sock, zmq_msg_t *parts, int max, int *n, int flags,
                            cl_error *err) CL_MUST_CHECK;

/* Closes parts[0, n). */
void cl_transport_close(zmq_msg_t *parts, int n);

/* Sends n frames as one message, each copied. flags (ZMQ_DONTWAIT) apply to every frame.
 * Errors: CL_ERR_TIMEOUT (EAGAIN: queue full or send timeout), CL_ERR_CLOSED (EHOSTUNREACH: the
 * peer is gone, ROUTER_MANDATORY; ETERM), CL_ERR_IO. */
cl_status cl_transport_send(void *sock, const void *const *bufs, const size_t *lens, int n, int flags,
                            cl_error *err) CL_MUST_CHECK;

/* Sends [hdr (copied), payload (not copied)] as one message. ZeroMQ calls release(payload, hint)
 * once it no longer needs the payload (from its I/O thread, possibly before this returns; also on
 * failure). Errors as cl_transport_send. */
cl_status cl_transport_send_zc(void *sock, const void *hdr, size_t hdr_len, void *payload,
                               size_t payload_len, zmq_free_fn *release, void *hint, int flags,
                               cl_error *err) CL_MUST_CHECK;

/* Sends parts[0, n) as one message, moving them: afterwards (sent or not) they are empty and the
 * caller may close them. */
cl_status cl_transport_forward(void *sock, zmq_msg_t *parts, int n, int flags,
                               cl_error *err) CL_MUST_CHECK;

/* Monotonic clock, ns and ms. */
uint64_t cl_transport_now_ns(void);
int64_t cl_transport_now_ms(void);

#endif
