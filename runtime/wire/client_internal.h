/* cleave internal: the split client's state, shared by client.c (requests and replies) and
 * client_link.c (the connection: socket, link watch, handshake, reconnection).
 *
 * Link states (reconnect 1): UP (a session is open: requests are sent), HANDSHAKE (a HELLO is on its
 * way on a fresh socket; the WELCOME is read by whoever polls next), DOWN (waiting before the next
 * attempt, after a refused handshake). With reconnect 0 the client is UP from connect to free.
 *
 * Slots: one per request in flight. Each keeps its encoded frontier (`plain`) until it settles, so
 * that a request whose link was lost can be sealed again for the next session and re-sent. */
#ifndef CLEAVE_WIRE_CLIENT_INTERNAL_H
#define CLEAVE_WIRE_CLIENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cleave/split.h"
#include "wire/split_internal.h"
#include "wire/transport.h"

typedef enum link_state { LINK_UP, LINK_HANDSHAKE, LINK_DOWN } link_state;

/* One request in flight. */
typedef struct cl_client_slot {
  int busy;                    /* not settled yet */
  int resend;                  /* its session was lost: send again once a new one is open */
  cl_status failed;            /* settled as failed, not yet reported by receive (CL_OK: no) */
  cl_split_failure why;        /* ... and why */
  int tries;                   /* times sent */
  int zmq_holds;               /* atomic: ZeroMQ still owns payload */
  uint64_t request_id;
  uint8_t *payload;            /* cap bytes, owned: the sealed copy being sent */
  uint8_t *plain;              /* cap bytes, owned: the encoded frontier, kept for a re-send */
  size_t cap, body;            /* capacity; encoded length in plain */
  pb_size_t n_desc;            /* the descriptors cl_msg_encode wrote */
  cleave_TensorDesc desc[CL_FRAME_MAX_TENSORS];
  uint64_t sent_ns, deadline_ns;
  double encode_ms;
  size_t bytes_up;
} cl_client_slot;

struct cl_split_client {
  const cl_model_t *m;
  cl_split_client_options o;   /* defaults applied; key and edge_pk point below */
  cl_keypair key;
  uint8_t edge_pk[CL_KEY_BYTES];
  void *ctx;                   /* ZeroMQ context (owned when own_ctx) */
  int own_ctx;
  void *sock;                  /* DEALER; a new one per connection attempt (reconnect 1) */
  void *mon;                   /* PAIR reading sock's disconnect events (reconnect 1), or NULL */
  unsigned generation;         /* sockets made so far (names the monitor endpoint) */
  cl_session sess;             /* keys (zero when insecure) and the session id */
  int open;                    /* a session is open: BYE at the end */
  link_state link;
  cl_handshake hs;             /* the handshake in progress (LINK_HANDSHAKE), wiped after */
  uint64_t hs_deadline_ns;     /* LINK_HANDSHAKE: give up and start again at this time */
  uint64_t next_try_ns;        /* LINK_DOWN: next attempt */
  uint64_t last_heard_ns;      /* last message from the edge on this socket */
  cl_msg_set req, rep;         /* frontier of the cut, graph outputs */
  int out_of[CL_FRAME_MAX_TENSORS]; /* rep tensor i is graph output out_of[i] */
  cl_client_slot slots[CL_SPLIT_MAX_INFLIGHT];
  int inflight;
  void *scratch;               /* codec scratch, encode and decode */
  uint64_t next_id;
  uint8_t hdr[CL_FRAME_HEADER_CAP]; /* encoded header being sent */
  cleave_Header h;             /* header being built or read */
  cl_split_client_stats stats;
  cl_split_hook hook;
  void *hook_ctx;
};

/* === client_link.c === */

/* Makes a fresh DEALER (and its monitor), connected to the endpoint. */
cl_status cl_client_socket(cl_split_client_t *c, cl_error *err) CL_MUST_CHECK;

/* Closes the socket and its monitor (a BYE first when a session was open, best effort). */
void cl_client_close_socket(cl_split_client_t *c);

/* The first handshake, blocking up to timeout_ms (connect). reconnect 1: no answer is not an error
 * (the client stays in LINK_HANDSHAKE). */
cl_status cl_client_first_handshake(cl_split_client_t *c, cl_error *err) CL_MUST_CHECK;

/* The link or the session is gone: requests in flight are marked for a re-send (retries left) or
 * failed with CL_ERR_CLOSED, and a new connection and handshake start. reconnect 1 only. */
void cl_client_link_lost(cl_split_client_t *c, const char *why);

/* Non-blocking: reads the monitor, starts a due attempt, gives up a handshake past its deadline. */
void cl_client_link_pump(cl_split_client_t *c);

/* A WELCOME or ERROR during LINK_HANDSHAKE (the decoded header in c->h): the session opens (and
 * requests marked for a re-send go out) or the attempt ends. */
void cl_client_link_answer(cl_split_client_t *c, size_t payload_len);

/* 1 when the monitor reports the connection dropped (and consumes the events). */
int cl_client_link_dropped(cl_split_client_t *c);

/* Waits until deadline_ns for a message; CL_ERR_TIMEOUT when none came. parts[0..1] are valid (the
 * caller closes both) on CL_OK. *dropped (may be NULL) is set when the monitor fired instead. */
cl_status cl_client_wait_message(cl_split_client_t *c, uint64_t deadline_ns, zmq_msg_t parts[2],
                                 int *dropped, cl_error *err) CL_MUST_CHECK;

/* An ERROR from the edge, as a status and a message. */
cl_status cl_client_refusal(const cleave_Header *h, const char *what, cl_error *err);

/* === client.c === */

/* Seals slot s again for the current session and sends it (a re-send). On failure the slot fails. */
void cl_client_resend(cl_split_client_t *c, cl_client_slot *s);

/* Settles slot s as failed (reported by the next receive). */
void cl_client_fail_slot(cl_split_client_t *c, cl_client_slot *s, cl_status st,
                         cl_split_failure why);

#endif
