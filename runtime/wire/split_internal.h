/* cleave internal: the split client's and server's insides, and the test seams.
 *
 * Server threads: one front thread (cl_split_server_run) owns the ROUTER socket facing the devices
 * and a ROUTER on inproc facing the workers; it forwards each device message, as it came, to a
 * worker that is ready (the ZeroMQ guide's load-balancing broker: devices are read only while a
 * worker is free, so back-pressure reaches the devices through the high-water marks), and each
 * worker's answer back to its device. Workers (server_worker.c) decode, check, open, run and reply;
 * each owns one executor per model and its own buffers. The session table is shared (sessions.h).
 *
 * Test seams: a hook sees every message a client or server is about to send, after sealing, and
 * may change its bytes (to tamper, truncate or record it); cl_split_client_send_raw sends any
 * frames on the client's connection (to replay). */
#ifndef CLEAVE_WIRE_SPLIT_INTERNAL_H
#define CLEAVE_WIRE_SPLIT_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "cleave/split.h"
#include "wire/frame.h"
#include "wire/message.h"
#include "wire/sessions.h"
#include "wire/transport.h"

/* Called with the frames about to be sent: type (cleave.MsgType), the header (len may change, at
 * most hdr_cap) and the payload (len may change, at most payload_cap). */
typedef void (*cl_split_hook)(void *ctx, int type, uint8_t *hdr, size_t *hdr_len, size_t hdr_cap,
                              uint8_t *payload, size_t *payload_len, size_t payload_cap);

void cl_split_client_set_hook(cl_split_client_t *c, cl_split_hook fn, void *ctx);
void cl_split_server_set_hook(cl_split_server_t *s, cl_split_hook fn, void *ctx);

/* Sends n_frames (1..4) frames, copied, on the client's connection. */
cl_status cl_split_client_send_raw(cl_split_client_t *c, const void *const *frames,
                                   const size_t *lens, int n_frames, cl_error *err) CL_MUST_CHECK;

/* === Server insides === */

/* One model the server serves, with the sets of every cut. */
typedef struct cl_srv_model {
  const cl_model_t *m;
  int n;                       /* nodes */
  cl_msg_set *sets;            /* n + 1: the frontier of each cut; sets[n] is the reply's */
  size_t max_request;          /* largest request payload, any cut, any codec */
  size_t max_scratch;          /* codec scratch, any cut, any codec */
  size_t reply_cap;            /* largest reply payload (raw, any shuffle/LZ4) */
} cl_srv_model;

typedef struct cl_srv_worker {
  struct cl_split_server *srv;
  int index;
  pthread_t thread;
  int started;
  void *sock;                  /* DEALER to the front's inproc ROUTER; the worker thread's own */
  cl_exec_t *ex[CL_SPLIT_MAX_MODELS];
  void *scratch;               /* codec scratch, the largest any model needs */
  uint8_t *reply;              /* reply payload buffer */
  size_t reply_cap;
  uint8_t hdr[CL_FRAME_HEADER_CAP]; /* encoded reply header */
  cleave_Header in, out;       /* the message being served, the answer */
} cl_srv_worker;

struct cl_split_server {
  cl_split_server_options o;   /* as given, defaults applied; o.key points at key below */
  cl_keypair key;
  int n_models;
  cl_srv_model models[CL_SPLIT_MAX_MODELS];
  void *ctx;                   /* ZeroMQ context, owned */
  void *front;                 /* ROUTER facing the devices (the front thread's) */
  void *back;                  /* ROUTER facing the workers (the front thread's) */
  char endpoint[256];          /* bound endpoint */
  char inproc[64];             /* the workers' endpoint */
  int64_t max_msg;             /* ZMQ_MAXMSGSIZE of the front socket */
  cl_srv_worker *w;            /* o.workers */
  cl_sessions sessions;
  int stop;                    /* atomic: run returns */
  uint64_t n_requests, n_refused, n_handshakes, n_dropped; /* atomic counters */
  pthread_mutex_t log_lock;
  int64_t broker_heard_ms;     /* broker mode: last message from the broker */
  int64_t broker_beat_ms;      /* broker mode: next heartbeat to send */
  unsigned broker_connects;    /* broker mode: connections made (server_broker.c) */
  cl_split_hook hook;
  void *hook_ctx;
};

/* The worker thread (server_worker.c). */
void *cl_srv_worker_main(void *arg);

/* One log line (server.c): serialised, through o.log or stderr. */
void cl_srv_log(struct cl_split_server *s, const char *fmt, ...) CL_PRINTF(2, 3);

/* Logs a refusal and counts it. */
void cl_srv_refused(struct cl_split_server *s, const char *what, const uint8_t *identity,
                    size_t identity_len, const char *reason);

/* Broker mode (server_broker.c): the front socket is a DEALER connected to cleave-cloud. */
cl_status cl_srv_broker_connect(struct cl_split_server *s, cl_error *err) CL_MUST_CHECK;
/* Heartbeat due? Broker silent for 3 intervals (while the front reads)? Then connects again. */
void cl_srv_broker_tick(struct cl_split_server *s, int reading, int64_t now_ms);
/* A one-frame message from the broker (a Control). */
void cl_srv_broker_control(struct cl_split_server *s, zmq_msg_t *frame);
/* Says DISCONNECT to the broker (stopping). */
void cl_srv_broker_bye(struct cl_split_server *s);

/* Worker <-> front control frames (one frame after the worker's id). */
#define CL_SRV_READY "R"
#define CL_SRV_STOP "S"
#define CL_SRV_BYE "B"

#endif
