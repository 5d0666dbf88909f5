/* cleave: split inference over ZeroMQ, a client (the device) and a server (the edge).
 *
 * The device runs nodes [0, k) of a model, and the client encodes the frontier of cut k (codec.h),
 * seals it (seal.h) and sends it to the server, which decodes it, runs [k, n) and replies with the
 * graph outputs, sealed the same way. docs/PROTOCOL.md is the wire format; docs/SECURITY.md the
 * handshake and the threat model.
 *
 * Transport: the client is a ZeroMQ DEALER, the server a ROUTER. Each message is two frames,
 * [header, payload]. A client may keep several requests in flight (replies come back in any order,
 * matched by request id); a server serves many clients, each request on one of its worker threads
 * (each worker owns one executor per model; the models are shared). Queues are bounded (high-water
 * marks), messages too (ZMQ_MAXMSGSIZE), and every wait has a deadline.
 *
 * Memory: both sides size their buffers once, when created, from cl_codec_bound; nothing is
 * allocated per request by cleave (ZeroMQ allocates the frames it receives).
 *
 * Errors: anything a peer sends is untrusted. A refused message is reported, never fatal: the
 * server logs one line, answers MSG_ERROR and goes on serving; the client fails that request with a
 * one-line message and stays usable. Programmer misuse (NULL where forbidden) asserts. */
#ifndef CLEAVE_SPLIT_H
#define CLEAVE_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "cleave/codec.h"
#include "cleave/exec.h"
#include "cleave/model.h"
#include "cleave/seal.h"
#include "cleave/status.h"
#include "cleave/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* === Limits and defaults === */
#define CL_SPLIT_MAX_INFLIGHT 64        /* requests in flight per client */
#define CL_SPLIT_MAX_MODELS 8           /* models (input shapes) per server */
#define CL_SPLIT_MAX_WORKERS 64         /* worker threads per server */
#define CL_SPLIT_DEFAULT_TIMEOUT_MS 10000

/* === Client (device side) === */

typedef struct cl_split_client cl_split_client_t;

typedef struct cl_split_client_options {
  const char *endpoint;        /* the server, e.g. "tcp://127.0.0.1:5555"; the caller keeps it */
  int cut;                     /* 0..n: nodes [0, cut) run here */
  cl_codec codec;              /* request codec (zeroed: raw, no shuffle, no LZ4); the reply is
                                * lossless: raw with this codec's shuffle and LZ4 choices */
  const cl_keypair *key;       /* this device's key pair (copied); NULL only when insecure */
  const uint8_t *edge_pk;      /* the pinned server key, CL_KEY_BYTES (copied); NULL when insecure */
  int insecure;                /* 1: no seal at all (the server must be insecure too) */
  int max_inflight;            /* 1..CL_SPLIT_MAX_INFLIGHT requests at once (0: 1) */
  int timeout_ms;              /* handshake and per-request deadline (0: CL_SPLIT_DEFAULT_TIMEOUT_MS) */
  int queue;                   /* ZeroMQ high-water marks, messages (0: 2 * max_inflight + 2) */
  void *zmq_context;           /* a ZeroMQ context to share, or NULL (the client makes its own).
                                * A shared one must outlive the client. */
  /* Reliability (docs/PROTOCOL.md section 12). With reconnect 0 the client behaves as a plain
   * connection: a lost edge fails each request at its deadline and the caller makes a new client. */
  int reconnect;               /* 1: watch the link (ZeroMQ heartbeats and disconnect events),
                                * reconnect and handshake again by itself when the edge is gone,
                                * restarted or drops the session; a connect whose handshake gets
                                * no answer still returns a client (it keeps trying) */
  int deadline_ms;             /* per-request deadline when submit names none (0: timeout_ms) */
  int retries;                 /* reconnect 1: times a request whose link was lost is sent again on
                                * the next session, within its deadline (0: never, it fails with
                                * CL_ERR_CLOSED at once) */
  int heartbeat_ms;            /* reconnect 1: ZeroMQ heartbeat interval; a silent edge is dropped
                                * after 3 intervals (0: 1000; -1: none) */
} cl_split_client_options;

/* Why a request did not get its reply (cl_split_result.failure). */
typedef enum cl_split_failure {
  CL_SPLIT_OK = 0,             /* replied */
  CL_SPLIT_SLOW,               /* its deadline passed (a slow, paused or silent edge) */
  CL_SPLIT_GONE,               /* not connected: the edge is gone or being reconnected */
  CL_SPLIT_REFUSED,            /* the edge (or a broker) answered ERROR */
  CL_SPLIT_BAD_REPLY,          /* a reply that did not authenticate, check or decode */
  CL_SPLIT_LOCAL,              /* an error on this side (arguments, memory, ZeroMQ) */
} cl_split_failure;

/* Counters of one client (reconnect 1). */
typedef struct cl_split_client_stats {
  uint64_t handshakes;         /* sessions opened, the first included */
  uint64_t links_lost;         /* times the link or session was found gone */
  uint64_t resent;             /* requests sent again on a new session */
  uint64_t stale;              /* authenticated late replies and answers for old sessions, dropped */
} cl_split_client_stats;

/* Where the time of one request went, in ms, and its bytes (both frames). */
typedef struct cl_split_result {
  uint64_t request_id;         /* the request this result (or error) is about; 0 when unknown */
  double encode_ms;            /* frontier codec + header + seal, on the device */
  double round_trip_ms;        /* sent -> reply received */
  double wire_ms;              /* round trip minus the server's decode, compute and encode */
  double edge_decode_ms;       /* server: open + decode of the request */
  double edge_compute_ms;      /* server: nodes [cut, n) */
  double edge_encode_ms;       /* server: codec of the reply */
  double decode_ms;            /* reply open + decode, on the device */
  size_t bytes_up, bytes_down; /* header + payload, each way */
  cl_split_failure failure;    /* CL_SPLIT_OK, or why receive failed for request_id */
} cl_split_result;

/* Connects to o->endpoint and runs the handshake (HELLO/WELCOME; it names the model by its hash, so
 * a server that does not serve the same graph refuses). Buffers for max_inflight requests are
 * allocated here. The model must outlive the client.
 * Errors: CL_ERR_ARG (cut outside [0, n], bad options), CL_ERR_LIMIT (a frontier of more than 64
 * tensors), CL_ERR_TIMEOUT (no answer), CL_ERR_AUTH (refused, or the server is not the pinned one),
 * CL_ERR_PROTOCOL (refused or malformed answer), CL_ERR_NOMEM, CL_ERR_IO (ZeroMQ).
 * On success *out is owned by the caller: cl_split_client_free. */
cl_status cl_split_client_connect(const cl_model_t *m, const cl_split_client_options *o,
                                  cl_split_client_t **out, cl_error *err) CL_MUST_CHECK;

/* Closes the connection, wipes the session and frees everything; sets *c to NULL. Requests still in
 * flight are abandoned. Safe on NULL and *c == NULL. */
void cl_split_client_free(cl_split_client_t **c);

/* Sends one request: encodes the frontier of the cut from ex's buffers (ex ran [0, cut) of the
 * client's model; the frontier is copied out, so ex may run again at once), seals and sends it.
 * *request_id (1, 2, ...) identifies its reply. Its deadline is o->deadline_ms from now. The
 * encoded frontier is kept until the request settles, so that it can be sent again (retries).
 * Errors: CL_ERR_LIMIT (max_inflight requests already in flight), CL_ERR_TIMEOUT (the send queue
 * stayed full), CL_ERR_CLOSED (reconnect 1: no session now; nothing was sent), CL_ERR_IO. */
cl_status cl_split_client_submit(cl_split_client_t *c, cl_exec_t *ex, uint64_t *request_id,
                                 cl_error *err) CL_MUST_CHECK;

/* The same with this request's own deadline, ms from now (0: the client's deadline_ms). */
cl_status cl_split_client_submit_within(cl_split_client_t *c, cl_exec_t *ex, int deadline_ms,
                                        uint64_t *request_id, cl_error *err) CL_MUST_CHECK;

/* reconnect 1: advances the reconnection without blocking (reads a WELCOME, starts a handshake
 * whose time came) and returns 1 when a session is open, so that submit would send. Submitting
 * while it is 0 fails at once with CL_ERR_CLOSED (failure CL_SPLIT_GONE): run locally instead. */
int cl_split_client_ready(cl_split_client_t *c);

/* Waits up to timeout_ms for cl_split_client_ready. Returns 1 when ready. */
int cl_split_client_wait_ready(cl_split_client_t *c, int timeout_ms);

/* Counters so far. */
void cl_split_client_stats_get(const cl_split_client_t *c, cl_split_client_stats *st);

/* Waits for the reply of any request in flight (at most until the earliest deadline), opens it and
 * decodes the graph outputs into outs[0, n_outs) (graph-output order; the caller allocates each with
 * the dtype and shape of the model's output, cl_split_outputs_alloc does it). res (may be NULL) gets
 * the request id and the time split. A request that fails is no longer in flight: res->request_id
 * names it and res->failure says why (request_id 0 when the failure names no request, e.g. an
 * undecodable frame: the requests stay in flight). Every request settles exactly once: a reply, or
 * a failure by its deadline. Never is an unauthenticated message taken as a reply: an ERROR can
 * only fail a request (the caller then runs it locally).
 * reconnect 1: a lost link (disconnect, heartbeat silence, a deadline passed with nothing heard
 * since the request left) starts a new connection and handshake; requests in flight on it are sent
 * again (retries) or fail with CL_ERR_CLOSED; an ERROR with code CL_ERR_CLOSED (a broker's "worker
 * lost") counts as a lost link; one with CL_ERR_PROTOCOL or CL_ERR_AUTH (say, "unknown or expired
 * session" from a restarted edge) fails its request and starts a new handshake.
 * Errors: CL_ERR_ARG (nothing in flight, outs of the wrong shape), CL_ERR_TIMEOUT (the earliest
 * request's deadline passed), CL_ERR_AUTH (a reply that does not authenticate, or replayed),
 * CL_ERR_PROTOCOL (a malformed reply, or the server's refusal: its status and its reason), other
 * statuses as the server reported them. */
cl_status cl_split_client_receive(cl_split_client_t *c, cl_tensor *outs, int n_outs,
                                  cl_split_result *res, cl_error *err) CL_MUST_CHECK;

/* submit + receive of that one request; nothing else may be in flight (CL_ERR_ARG). */
cl_status cl_split_client_run(cl_split_client_t *c, cl_exec_t *ex, cl_tensor *outs, int n_outs,
                              cl_split_result *res, cl_error *err) CL_MUST_CHECK;

/* Requests in flight. */
int cl_split_client_inflight(const cl_split_client_t *c);

/* Allocates outs[0, n) with the dtype and shape of the model's graph outputs 0..n-1 (n at most the
 * output count). The caller releases each (cl_tensor_release). Errors: CL_ERR_ARG, CL_ERR_NOMEM. */
cl_status cl_split_outputs_alloc(const cl_model_t *m, cl_tensor *outs, int n,
                                 cl_error *err) CL_MUST_CHECK;

/* === Server (edge side) === */

typedef struct cl_split_server cl_split_server_t;

typedef struct cl_split_server_options {
  const char *endpoint;        /* where to bind, e.g. "tcp://127.0.0.1:5555" or "tcp://127.0.0.1:*" */
  const char *broker;          /* instead of binding: serve as a worker of cleave-cloud at this
                                * endpoint (its workers' side); endpoint is then ignored. READY,
                                * heartbeats both ways, reconnection: docs/PROTOCOL.md section 12 */
  int heartbeat_ms;            /* broker mode: heartbeat interval; the broker is taken for gone
                                * after 3 silent intervals and connected again (0: 1000) */
  const cl_keypair *key;       /* the server's key pair (copied); NULL only when insecure */
  const cl_allowlist *allow;   /* device keys allowed; must outlive the server; NULL when insecure */
  int insecure;                /* 1: no seal (devices must be insecure too), anyone may connect */
  int workers;                 /* requests served at once, one thread each (0: 2) */
  int compute_threads;         /* threads of each worker's executor (0: 1) */
  int max_sessions;            /* sessions in all (0: 1024) */
  int max_sessions_per_key;    /* sessions per device key (0: 8) */
  int session_idle_ms;         /* a session that received nothing this long is closed (0: 300000);
                                * one that never received a request, after min(10 s, this) */
  int queue;                   /* ZeroMQ high-water marks, messages per peer (0: 64) */
  void (*log)(void *ctx, const char *line); /* one line per refused message and per event, no
                                * newline; called from the server's threads (serialised). NULL:
                                * stderr. */
  void *log_ctx;
} cl_split_server_options;

typedef struct cl_split_server_stats {
  uint64_t requests;           /* replies sent */
  uint64_t refused;            /* messages refused (each logged) */
  uint64_t handshakes;         /* sessions opened */
  uint64_t sessions;           /* sessions open now */
  uint64_t dropped;            /* replies the transport could not deliver (device gone, queue full) */
} cl_split_server_stats;

/* Creates the server for models[0, n_models) (1..CL_SPLIT_MAX_MODELS: one model file loaded for
 * several input shapes, say; a device's model is found by its hash), creates every worker's
 * executors and buffers, and binds. The models and o->allow must outlive the server.
 * Errors: CL_ERR_ARG (options), CL_ERR_IO (bind), CL_ERR_LIMIT (a frontier of more than 64
 * tensors), CL_ERR_NOMEM, CL_ERR_BACKEND (executors). */
cl_status cl_split_server_create(const cl_model_t *const *models, int n_models,
                                 const cl_split_server_options *o, cl_split_server_t **out,
                                 cl_error *err) CL_MUST_CHECK;

/* The endpoint actually bound ("tcp://127.0.0.1:41234" when the port was "*"). Belongs to s. */
const char *cl_split_server_endpoint(const cl_split_server_t *s);

/* Serves on the calling thread (and the workers) until cl_split_server_stop; returns CL_OK then.
 * Errors: CL_ERR_IO when ZeroMQ fails. Call once. */
cl_status cl_split_server_run(cl_split_server_t *s, cl_error *err) CL_MUST_CHECK;

/* Asks run to return within about 100 ms. Any thread; async-signal-safe (one atomic store). */
void cl_split_server_stop(cl_split_server_t *s);

/* Counters so far; any thread. */
void cl_split_server_stats_get(const cl_split_server_t *s, cl_split_server_stats *st);

/* Stops the workers, closes the socket (replies not yet sent get 500 ms), wipes every session and
 * frees everything; sets *s to NULL. run must have returned. Safe on NULL and *s == NULL. */
void cl_split_server_free(cl_split_server_t **s);

#ifdef __cplusplus
}
#endif
#endif
