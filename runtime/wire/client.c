/* cleave: the split client (device side): handshake, requests in flight, replies in any order.
 *
 * Buffers: one payload buffer per in-flight slot, sized at connect from cl_codec_bound, sent
 * zero-copy (zmq_msg_init_data); ZeroMQ's release callback marks the slot's buffer free again, and
 * a slot is reused only once its reply came back (or failed) and ZeroMQ released the buffer.
 * Replies are received as ZeroMQ frames (ZeroMQ allocates them), opened in place and decoded into
 * the caller's output tensors. */
#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire/keys_internal.h"
#include "wire/split_internal.h"
#include "wire/transport.h"

/* One request in flight. */
typedef struct slot {
  int busy;                    /* its reply is awaited */
  int zmq_holds;               /* atomic: ZeroMQ still owns payload */
  uint64_t request_id;
  uint8_t *payload;            /* cap bytes, owned */
  size_t cap;
  uint64_t sent_ns, deadline_ns;
  double encode_ms;
  size_t bytes_up;
} slot;

struct cl_split_client {
  const cl_model_t *m;
  cl_split_client_options o;   /* defaults applied; key and edge_pk point below */
  cl_keypair key;
  uint8_t edge_pk[CL_KEY_BYTES];
  void *ctx;                   /* ZeroMQ context (owned when own_ctx) */
  int own_ctx;
  void *sock;                  /* DEALER */
  cl_session sess;             /* keys (zero when insecure) and the session id */
  int open;                    /* the handshake succeeded: BYE at the end */
  cl_msg_set req, rep;         /* frontier of the cut, graph outputs */
  int out_of[CL_FRAME_MAX_TENSORS]; /* rep tensor i is graph output out_of[i] */
  cl_codec reply_codec;
  slot slots[CL_SPLIT_MAX_INFLIGHT];
  int inflight;
  void *scratch;               /* codec scratch, encode and decode */
  uint64_t next_id;
  uint8_t hdr[CL_FRAME_HEADER_CAP]; /* encoded header being sent */
  cleave_Header h;             /* header being built or read */
  cl_split_hook hook;
  void *hook_ctx;
};

static double ms_between(uint64_t a, uint64_t b) { return (double)(b - a) / 1e6; }

void cl_split_client_set_hook(cl_split_client_t *c, cl_split_hook fn, void *ctx) {
  c->hook = fn;
  c->hook_ctx = ctx;
}

int cl_split_client_inflight(const cl_split_client_t *c) { return c->inflight; }

/* === Setup === */

static cl_status check_options(const cl_model_t *m, cl_split_client_options *o, cl_error *err) {
  int n = cl_model_node_count(m);
  if (!o->endpoint) return cl_error_set(err, CL_ERR_ARG, "no edge endpoint");
  if (o->cut < 0 || o->cut > n)
    return cl_error_set(err, CL_ERR_ARG, "cut %d is outside [0, %d]", o->cut, n);
  if (!o->insecure && (!o->key || !o->edge_pk))
    return cl_error_set(err, CL_ERR_ARG, "a key pair and the edge's public key are required");
  if (o->max_inflight == 0) o->max_inflight = 1;
  if (o->timeout_ms == 0) o->timeout_ms = CL_SPLIT_DEFAULT_TIMEOUT_MS;
  if (o->queue == 0) o->queue = 2 * o->max_inflight + 2;
  if (o->max_inflight < 1 || o->max_inflight > CL_SPLIT_MAX_INFLIGHT || o->timeout_ms < 1 ||
      o->queue < 1)
    return cl_error_set(err, CL_ERR_ARG, "client option out of range (in flight 1..%d)",
                        CL_SPLIT_MAX_INFLIGHT);
  return CL_OK;
}

/* Maps every reply tensor to its graph output; refuses outputs the reply cannot carry. */
static cl_status map_outputs(cl_split_client_t *c, cl_error *err) {
  for (int j = 0; j < cl_model_output_count(c->m); j++) {
    int v = cl_model_output_value(c->m, j), found = 0;
    for (int i = 0; i < c->rep.count; i++)
      if (c->rep.t[i].value == v) {
        if (!found) c->out_of[i] = j;
        found = 1;
      }
    cl_value_info vi;
    cl_model_value_info(c->m, v, &vi);
    if (!found || vi.layout != CL_LAYOUT_PLAIN)
      return cl_error_set(err, CL_ERR_UNSUPPORTED, "graph output '%s' cannot travel in a reply%s",
                          vi.name, vi.is_constant ? " (a constant)" : "");
  }
  return CL_OK;
}

static cl_status make_buffers(cl_split_client_t *c, cl_error *err) {
  cl_status st = cl_msg_set_init(c->m, c->o.cut, &c->req, err);
  if (st == CL_OK) st = cl_msg_set_init(c->m, cl_model_node_count(c->m), &c->rep, err);
  if (st == CL_OK) st = map_outputs(c, err);
  if (st != CL_OK) return st;
  size_t cap = cl_msg_payload_bound(&c->req, &c->o.codec);
  size_t sc = cl_msg_scratch_bound(&c->req, &c->o.codec), sr = cl_msg_scratch_bound_any(&c->rep);
  c->scratch = malloc((sc > sr ? sc : sr) + 1);
  int ok = c->scratch != NULL;
  for (int i = 0; i < c->o.max_inflight; i++) {
    c->slots[i].payload = malloc(cap);
    c->slots[i].cap = cap;
    ok &= c->slots[i].payload != NULL;
  }
  return ok ? CL_OK : cl_error_set(err, CL_ERR_NOMEM, "out of memory");
}

static cl_status make_socket(cl_split_client_t *c, cl_error *err) {
  c->own_ctx = c->o.zmq_context == NULL;
  c->ctx = c->own_ctx ? zmq_ctx_new() : c->o.zmq_context;
  c->sock = c->ctx ? zmq_socket(c->ctx, ZMQ_DEALER) : NULL;
  if (!c->sock) return cl_error_set(err, CL_ERR_IO, "ZeroMQ: %s", zmq_strerror(zmq_errno()));
  uint8_t id[16];                 /* stable across reconnects; routing ids must not start with 0 */
  randombytes_buf(id, sizeof id);
  id[0] = 'd';
  zmq_setsockopt(c->sock, ZMQ_ROUTING_ID, id, sizeof id);
  size_t reply_max = cl_msg_payload_bound_any(&c->rep);
  int64_t max_msg = (int64_t)(reply_max > CL_FRAME_MAX_HEADER ? reply_max : CL_FRAME_MAX_HEADER);
  cl_transport_limits l = {c->o.queue, max_msg, 0, c->o.timeout_ms};
  cl_status st = cl_transport_limit(c->sock, &l, err);
  if (st == CL_OK && zmq_connect(c->sock, c->o.endpoint) != 0)
    st = cl_error_set(err, CL_ERR_ARG, "cannot connect to '%s': %s", c->o.endpoint,
                      zmq_strerror(zmq_errno()));
  return st;
}

/* === Receiving one message === */

/* Waits until ns_deadline for a message; CL_ERR_TIMEOUT when none came. parts[0..1] are valid
 * (the caller closes both) on CL_OK. */
static cl_status wait_message(cl_split_client_t *c, uint64_t deadline_ns, zmq_msg_t parts[2],
                              cl_error *err) {
  for (;;) {
    uint64_t now = cl_transport_now_ns();
    if (now >= deadline_ns) return cl_error_set(err, CL_ERR_TIMEOUT, "timed out");
    zmq_pollitem_t item = {c->sock, 0, ZMQ_POLLIN, 0};
    long ms = (long)((deadline_ns - now + 999999) / 1000000);
    int rc = zmq_poll(&item, 1, ms);
    if (rc < 0 && zmq_errno() == EINTR) continue;
    if (rc < 0) return cl_error_set(err, CL_ERR_IO, "ZeroMQ poll: %s", zmq_strerror(zmq_errno()));
    if (rc == 0) continue;
    int n = 0;
    cl_status st = cl_transport_recv(c->sock, parts, 2, &n, ZMQ_DONTWAIT, err);
    if (st == CL_ERR_TIMEOUT) continue;
    if (st != CL_OK) return st;
    if (n == 2) return CL_OK;
    cl_transport_close(parts, n < 2 ? n : 2);
    return cl_error_set(err, CL_ERR_PROTOCOL, "message of %d frames from the edge (2 expected)", n);
  }
}

/* An ERROR from the edge, as a status and a message. */
static cl_status edge_refusal(const cleave_Header *h, const char *what, cl_error *err) {
  char reason[sizeof h->error];
  cl_frame_printable(h->error, reason, sizeof reason);
  cl_status code = h->error_code > CL_OK && h->error_code <= CL_ERR_CLOSED
                       ? (cl_status)h->error_code : CL_ERR_PROTOCOL;
  return cl_error_set(err, code, "the edge refused %s: %s", what, reason);
}

/* === Handshake === */

static cl_status send_hello(cl_split_client_t *c, cl_handshake *hs, cl_error *err) {
  cleave_Header *h = &c->h;
  cl_frame_init(h, cleave_MsgType_MSG_HELLO);
  h->model_hash.size = CL_FRAME_HASH_BYTES;
  memcpy(h->model_hash.bytes, cl_model_hash(c->m), CL_FRAME_HASH_BYTES);
  h->insecure = c->o.insecure != 0;
  if (!c->o.insecure) {
    cl_status st = cl_handshake_hello(hs, &c->key, c->edge_pk, h->ephemeral_key.bytes,
                                      h->proof.bytes, err);
    if (st != CL_OK) return st;
    h->static_key.size = CL_KEY_BYTES;
    memcpy(h->static_key.bytes, c->key.pk, CL_KEY_BYTES);
    h->ephemeral_key.size = CL_KEY_BYTES;
    h->proof.size = CL_PROOF_BYTES;
  }
  size_t len = 0, empty = 0;
  cl_status st = cl_frame_encode(h, c->hdr, sizeof c->hdr, &len, err);
  if (st != CL_OK) return st;
  if (c->hook) c->hook(c->hook_ctx, cleave_MsgType_MSG_HELLO, c->hdr, &len, sizeof c->hdr, NULL,
                       &empty, 0);
  const void *bufs[2] = {c->hdr, ""};
  size_t lens[2] = {len, 0};
  return cl_transport_send(c->sock, bufs, lens, 2, 0, err);
}

static cl_status check_welcome(cl_split_client_t *c, const cleave_Header *h, size_t payload_len,
                               cl_handshake *hs, cl_error *err) {
  char tbuf[16];
  if (h->type == cleave_MsgType_MSG_ERROR) return edge_refusal(h, "the handshake", err);
  if (h->type != cleave_MsgType_MSG_WELCOME)
    return cl_error_set(err, CL_ERR_PROTOCOL, "%s from the edge during the handshake",
                        cl_frame_type_name((int)h->type, tbuf, sizeof tbuf));
  if (payload_len != 0)
    return cl_error_set(err, CL_ERR_PROTOCOL, "WELCOME with a payload of %zu bytes", payload_len);
  if (memcmp(h->model_hash.bytes, cl_model_hash(c->m), CL_FRAME_HASH_BYTES) != 0)
    return cl_error_set(err, CL_ERR_PROTOCOL, "WELCOME for another model");
  if (h->insecure != (c->o.insecure != 0))
    return cl_error_set(err, CL_ERR_AUTH, "%s", h->insecure ? "the edge runs --insecure, this device "
                        "does not" : "this device runs --insecure, the edge does not");
  if (c->o.insecure) {
    memcpy(c->sess.id, h->session.bytes, CL_SESSION_ID_BYTES);
    return CL_OK;
  }
  cl_status st = cl_handshake_finish(hs, h->ephemeral_key.bytes, h->proof.bytes, &c->sess, err);
  if (st == CL_OK && sodium_memcmp(c->sess.id, h->session.bytes, CL_SESSION_ID_BYTES) != 0)
    st = cl_error_set(err, CL_ERR_PROTOCOL, "WELCOME names another session id");
  return st;
}

static cl_status handshake(cl_split_client_t *c, cl_error *err) {
  cl_handshake hs;
  memset(&hs, 0, sizeof hs);
  cl_status st = send_hello(c, &hs, err);
  uint64_t deadline = cl_transport_now_ns() + (uint64_t)c->o.timeout_ms * 1000000u;
  zmq_msg_t parts[2];
  if (st == CL_OK) {
    cl_error e = {0};
    st = wait_message(c, deadline, parts, &e);
    if (st == CL_ERR_TIMEOUT)
      cl_error_set(err, st, "no answer from the edge at '%s' within %d ms", c->o.endpoint,
                   c->o.timeout_ms);
    else if (st != CL_OK)
      cl_error_set(err, st, "handshake: %s", e.msg);
  }
  if (st == CL_OK) {
    st = cl_frame_decode(zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), &c->h, err);
    if (st == CL_OK) st = check_welcome(c, &c->h, zmq_msg_size(&parts[1]), &hs, err);
    cl_transport_close(parts, 2);
  }
  sodium_memzero(&hs, sizeof hs);
  return st;
}

cl_status cl_split_client_connect(const cl_model_t *m, const cl_split_client_options *o,
                                  cl_split_client_t **out, cl_error *err) {
  assert(m != NULL && o != NULL && out != NULL);
  *out = NULL;
  cl_split_client_t *c = calloc(1, sizeof *c);
  if (!c) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  c->m = m;
  c->o = *o;
  cl_status st = check_options(m, &c->o, err);
  if (st == CL_OK && !c->o.insecure) {
    c->key = *o->key;
    memcpy(c->edge_pk, o->edge_pk, CL_KEY_BYTES);
    c->o.key = &c->key;
    c->o.edge_pk = c->edge_pk;
  }
  c->reply_codec = (cl_codec){.kind = CL_CODEC_RAW, .shuffle = c->o.codec.shuffle,
                              .lz4 = c->o.codec.lz4};
  if (st == CL_OK && cl_seal_init() != 0)
    st = cl_error_set(err, CL_ERR_BACKEND, "libsodium failed to start");
  if (st == CL_OK) st = make_buffers(c, err);
  if (st == CL_OK) st = make_socket(c, err);
  if (st == CL_OK) st = handshake(c, err);
  c->open = st == CL_OK;
  if (st != CL_OK) {
    cl_split_client_free(&c);
    return st;
  }
  *out = c;
  return CL_OK;
}

/* === Requests === */

static void release_payload(void *data, void *hint) {
  (void)data;
  __atomic_store_n(&((slot *)hint)->zmq_holds, 0, __ATOMIC_RELEASE);
}

/* A slot whose reply is done and whose buffer ZeroMQ released; waits (bounded) for the release. */
static slot *free_slot(cl_split_client_t *c, cl_error *err) {
  if (c->inflight >= c->o.max_inflight) {
    cl_error_set(err, CL_ERR_LIMIT, "%d requests already in flight", c->inflight);
    return NULL;
  }
  uint64_t deadline = cl_transport_now_ns() + (uint64_t)c->o.timeout_ms * 1000000u;
  for (;;) {
    for (int i = 0; i < c->o.max_inflight; i++)
      if (!c->slots[i].busy && !__atomic_load_n(&c->slots[i].zmq_holds, __ATOMIC_ACQUIRE))
        return &c->slots[i];
    if (cl_transport_now_ns() >= deadline) break;
    nanosleep(&(struct timespec){0, 50000}, NULL);   /* ZeroMQ is writing the last one out */
  }
  cl_error_set(err, CL_ERR_TIMEOUT, "the connection has not sent the previous requests out");
  return NULL;
}

/* Encodes and seals the frontier of the cut from ex into s; the header into c->hdr. */
static cl_status build_request(cl_split_client_t *c, cl_exec_t *ex, slot *s, size_t *hdr_len,
                               size_t *payload_len, cl_error *err) {
  const void *src[CL_FRAME_MAX_TENSORS];
  for (int i = 0; i < c->req.count; i++) src[i] = cl_exec_buffer(ex, c->req.t[i].value, NULL);
  cleave_Header *h = &c->h;
  cl_frame_init(h, cleave_MsgType_MSG_REQUEST);
  h->session.size = CL_SESSION_ID_BYTES;
  memcpy(h->session.bytes, c->sess.id, CL_SESSION_ID_BYTES);
  h->request_id = s->request_id;
  h->model_hash.size = CL_FRAME_HASH_BYTES;
  memcpy(h->model_hash.bytes, cl_model_hash(c->m), CL_FRAME_HASH_BYTES);
  h->cut = c->o.cut;
  size_t body = 0;
  cl_status st = cl_msg_encode(&c->req, &c->o.codec, src, h, s->payload, s->cap, &body, c->scratch,
                               err);
  if (st != CL_OK) return st;
  return cl_msg_seal(c->o.insecure ? NULL : &c->sess, h, c->hdr, sizeof c->hdr, hdr_len, s->payload,
                     body, payload_len, err);
}

cl_status cl_split_client_submit(cl_split_client_t *c, cl_exec_t *ex, uint64_t *request_id,
                                 cl_error *err) {
  assert(c != NULL && ex != NULL && request_id != NULL);
  *request_id = 0;
  slot *s = free_slot(c, err);
  if (!s) return err ? err->status : CL_ERR_LIMIT;
  uint64_t t0 = cl_transport_now_ns();
  s->request_id = ++c->next_id;
  size_t hdr_len = 0, payload_len = 0;
  cl_status st = build_request(c, ex, s, &hdr_len, &payload_len, err);
  if (st != CL_OK) return st;
  if (c->hook) c->hook(c->hook_ctx, cleave_MsgType_MSG_REQUEST, c->hdr, &hdr_len, sizeof c->hdr,
                       s->payload, &payload_len, s->cap);
  uint64_t t1 = cl_transport_now_ns();
  __atomic_store_n(&s->zmq_holds, 1, __ATOMIC_RELEASE);
  st = cl_transport_send_zc(c->sock, c->hdr, hdr_len, s->payload, payload_len, release_payload, s,
                            0, err);
  if (st != CL_OK) return st;
  s->busy = 1;
  s->encode_ms = ms_between(t0, t1);
  s->sent_ns = t1;
  s->deadline_ns = t1 + (uint64_t)c->o.timeout_ms * 1000000u;
  s->bytes_up = hdr_len + payload_len;
  c->inflight++;
  *request_id = s->request_id;
  return CL_OK;
}

/* === Replies === */

static slot *find_slot(cl_split_client_t *c, uint64_t request_id) {
  for (int i = 0; i < c->o.max_inflight; i++)
    if (c->slots[i].busy && c->slots[i].request_id == request_id) return &c->slots[i];
  return NULL;
}

static void finish(cl_split_client_t *c, slot *s, cl_split_result *res) {
  if (res) res->request_id = s->request_id;
  s->busy = 0;
  c->inflight--;
}

static cl_status check_outs(const cl_split_client_t *c, const cl_tensor *outs, int n_outs,
                            cl_error *err) {
  if (n_outs != cl_model_output_count(c->m))
    return cl_error_set(err, CL_ERR_ARG, "%d output tensors given, the model has %d", n_outs,
                        cl_model_output_count(c->m));
  for (int j = 0; j < n_outs; j++) {
    cl_value_info vi;
    cl_model_value_info(c->m, cl_model_output_value(c->m, j), &vi);
    if (outs[j].dtype != vi.dtype || outs[j].nbytes != vi.nbytes || !outs[j].data)
      return cl_error_set(err, CL_ERR_SHAPE, "output tensor %d does not match output '%s'", j,
                          vi.name);
  }
  return CL_OK;
}

/* Checks, opens and decodes a REPLY for slot s. */
static cl_status take_reply(cl_split_client_t *c, slot *s, zmq_msg_t parts[2], cl_tensor *outs,
                            int n_outs, cl_error *err) {
  const cleave_Header *h = &c->h;
  uint8_t *payload = zmq_msg_data(&parts[1]);
  size_t len = zmq_msg_size(&parts[1]);
  if (memcmp(h->model_hash.bytes, cl_model_hash(c->m), CL_FRAME_HASH_BYTES) != 0 ||
      h->cut != c->o.cut)
    return cl_error_set(err, CL_ERR_PROTOCOL, "reply to request %llu for another model or cut",
                        (unsigned long long)s->request_id);
  if (h->insecure != (c->o.insecure != 0))
    return cl_error_set(err, CL_ERR_AUTH, "reply to request %llu %s", (unsigned long long)s->request_id,
                        h->insecure ? "is not sealed" : "is sealed (insecure mode)");
  cl_error e = {0};
  cl_status st = cl_msg_check(&c->rep, h, len, !c->o.insecure, &e);
  if (st == CL_OK && !c->o.insecure)
    st = cl_msg_open(&c->sess, h, zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), payload, len,
                     &e);
  void *dst[CL_FRAME_MAX_TENSORS];
  for (int i = 0; i < c->rep.count; i++) dst[i] = outs[c->out_of[i]].data;
  if (st == CL_OK) st = cl_msg_decode(&c->rep, h, payload, dst, c->scratch, &e);
  if (st != CL_OK)
    return cl_error_set(err, st, "reply to request %llu refused: %s",
                        (unsigned long long)s->request_id, e.msg);
  for (int j = 0; j < n_outs; j++) {     /* an output listed twice: copy the first */
    int v = cl_model_output_value(c->m, j);
    for (int i = 0; i < c->rep.count; i++)
      if (c->rep.t[i].value == v && c->out_of[i] != j)
        memcpy(outs[j].data, outs[c->out_of[i]].data, outs[j].nbytes);
  }
  return CL_OK;
}

/* A reply to no request in flight: late (its request timed out) or replayed. Authenticated, it is
 * dropped quietly; otherwise it is an error to report (*done stays 1). */
static cl_status stale_reply(cl_split_client_t *c, const cleave_Header *h, zmq_msg_t parts[2],
                             int *done, cl_error *err) {
  cl_error e = {0};
  uint8_t *payload = zmq_msg_data(&parts[1]);
  size_t len = zmq_msg_size(&parts[1]);
  cl_status st = h->insecure != (c->o.insecure != 0)
                     ? cl_error_set(&e, CL_ERR_AUTH, "sealed or not, not as this session")
                     : cl_msg_check(&c->rep, h, len, !c->o.insecure, &e);
  if (st == CL_OK && !c->o.insecure)
    st = cl_msg_open(&c->sess, h, zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), payload, len,
                     &e);
  if (st == CL_OK) {
    *done = 0;
    return CL_OK;
  }
  return cl_error_set(err, st, "reply to request %llu (not in flight) refused: %s",
                      (unsigned long long)h->request_id, e.msg);
}

/* One received message. *done: 1 when it settled a request (or is an error to report). */
static cl_status handle_message(cl_split_client_t *c, zmq_msg_t parts[2], uint64_t t_recv,
                                cl_tensor *outs, int n_outs, cl_split_result *res, int *done,
                                cl_error *err) {
  char tbuf[16];
  *done = 1;
  cl_error e = {0};
  if (cl_frame_decode(zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), &c->h, &e) != CL_OK)
    return cl_error_set(err, e.status, "malformed message from the edge: %s", e.msg);
  const cleave_Header *h = &c->h;
  slot *s = h->request_id ? find_slot(c, h->request_id) : NULL;
  if (h->type == cleave_MsgType_MSG_ERROR) {
    char what[48];
    snprintf(what, sizeof what, "request %llu", (unsigned long long)h->request_id);
    if (s) finish(c, s, res);
    return edge_refusal(h, h->request_id ? what : "a message", err);
  }
  if (h->type != cleave_MsgType_MSG_REPLY)
    return cl_error_set(err, CL_ERR_PROTOCOL, "unexpected %s from the edge",
                        cl_frame_type_name((int)h->type, tbuf, sizeof tbuf));
  if (memcmp(h->session.bytes, c->sess.id, CL_SESSION_ID_BYTES) != 0)
    return cl_error_set(err, CL_ERR_PROTOCOL, "reply for another session");
  if (!s) return stale_reply(c, h, parts, done, err);
  uint64_t t0 = cl_transport_now_ns();
  cl_status st = take_reply(c, s, parts, outs, n_outs, err);
  if (res && st == CL_OK) {
    res->encode_ms = s->encode_ms;
    res->round_trip_ms = ms_between(s->sent_ns, t_recv);
    res->edge_decode_ms = (double)h->worker_decode_us / 1e3;
    res->edge_compute_ms = (double)h->worker_compute_us / 1e3;
    res->edge_encode_ms = (double)h->worker_encode_us / 1e3;
    res->wire_ms = res->round_trip_ms - res->edge_decode_ms - res->edge_compute_ms -
                   res->edge_encode_ms;
    res->decode_ms = ms_between(t0, cl_transport_now_ns());
    res->bytes_up = s->bytes_up;
    res->bytes_down = zmq_msg_size(&parts[0]) + zmq_msg_size(&parts[1]);
  }
  finish(c, s, res);
  return st;
}

/* The slot whose deadline comes first. */
static slot *earliest(cl_split_client_t *c) {
  slot *e = NULL;
  for (int i = 0; i < c->o.max_inflight; i++)
    if (c->slots[i].busy && (!e || c->slots[i].deadline_ns < e->deadline_ns)) e = &c->slots[i];
  return e;
}

cl_status cl_split_client_receive(cl_split_client_t *c, cl_tensor *outs, int n_outs,
                                  cl_split_result *res, cl_error *err) {
  assert(c != NULL);
  if (res) memset(res, 0, sizeof *res);
  if (c->inflight == 0) return cl_error_set(err, CL_ERR_ARG, "no request in flight");
  cl_status st = check_outs(c, outs, n_outs, err);
  for (int done = 0; st == CL_OK && !done;) {
    slot *s = earliest(c);
    zmq_msg_t parts[2];
    cl_error e = {0};
    st = wait_message(c, s->deadline_ns, parts, &e);
    if (st == CL_ERR_TIMEOUT) {
      finish(c, s, res);
      return cl_error_set(err, st, "no reply from the edge to request %llu within %d ms",
                          (unsigned long long)s->request_id, c->o.timeout_ms);
    }
    if (st != CL_OK) return cl_error_set(err, st, "%s", e.msg);
    st = handle_message(c, parts, cl_transport_now_ns(), outs, n_outs, res, &done, err);
    cl_transport_close(parts, 2);
  }
  return st;
}

cl_status cl_split_client_run(cl_split_client_t *c, cl_exec_t *ex, cl_tensor *outs, int n_outs,
                              cl_split_result *res, cl_error *err) {
  assert(c != NULL);
  if (c->inflight != 0)
    return cl_error_set(err, CL_ERR_ARG, "cl_split_client_run with requests in flight");
  uint64_t id = 0;
  cl_status st = cl_split_client_submit(c, ex, &id, err);
  return st == CL_OK ? cl_split_client_receive(c, outs, n_outs, res, err) : st;
}

cl_status cl_split_client_send_raw(cl_split_client_t *c, const void *const *frames,
                                   const size_t *lens, int n_frames, cl_error *err) {
  assert(c != NULL && n_frames >= 1 && n_frames <= 4);
  return cl_transport_send(c->sock, frames, lens, n_frames, 0, err);
}

/* === Outputs and freeing === */

cl_status cl_split_outputs_alloc(const cl_model_t *m, cl_tensor *outs, int n, cl_error *err) {
  assert(m != NULL && outs != NULL);
  if (n < 0 || n > cl_model_output_count(m))
    return cl_error_set(err, CL_ERR_ARG, "%d outputs asked, the model has %d", n,
                        cl_model_output_count(m));
  memset(outs, 0, (size_t)n * sizeof *outs);
  for (int j = 0; j < n; j++) {
    cl_value_info vi;
    cl_model_value_info(m, cl_model_output_value(m, j), &vi);
    cl_status st = cl_tensor_alloc(&outs[j], vi.name, vi.dtype, vi.rank, vi.dims, err);
    if (st != CL_OK) {
      for (int k = 0; k < j; k++) cl_tensor_release(&outs[k]);
      return st;
    }
  }
  return CL_OK;
}

/* 1 when ZeroMQ released every payload buffer (waits up to 1 s for a shared context's I/O). */
static int payloads_released(cl_split_client_t *c) {
  for (int tries = 0; tries < 1000; tries++) {
    int held = 0;
    for (int i = 0; i < CL_SPLIT_MAX_INFLIGHT; i++)
      held |= __atomic_load_n(&c->slots[i].zmq_holds, __ATOMIC_ACQUIRE);
    if (!held) return 1;
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  return 0;
}

/* Tells the edge the session is over (sealed, best effort: given BYE_LINGER_MS to leave). */
#define BYE_LINGER_MS 200
static void send_bye(cl_split_client_t *c) {
  cleave_Header *h = &c->h;
  uint8_t tag[CL_TAG_BYTES];
  size_t hdr_len = 0, len = 0;
  cl_frame_init(h, cleave_MsgType_MSG_BYE);
  h->session.size = CL_SESSION_ID_BYTES;
  memcpy(h->session.bytes, c->sess.id, CL_SESSION_ID_BYTES);
  if (cl_msg_seal(c->o.insecure ? NULL : &c->sess, h, c->hdr, sizeof c->hdr, &hdr_len, tag, 0, &len,
                  NULL) != CL_OK)
    return;
  int linger = BYE_LINGER_MS;
  zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger);
  const void *bufs[2] = {c->hdr, tag};
  size_t lens[2] = {hdr_len, len};
  if (cl_transport_send(c->sock, bufs, lens, 2, ZMQ_DONTWAIT, NULL) != CL_OK)
    return;   /* the queue is full or the edge gone: its session expires instead */
}

void cl_split_client_free(cl_split_client_t **cp) {
  if (!cp || !*cp) return;
  cl_split_client_t *c = *cp;
  *cp = NULL;
  if (c->open) send_bye(c);
  if (c->sock) zmq_close(c->sock);        /* unsent requests are dropped (a BYE gets 200 ms) */
  if (c->own_ctx && c->ctx) zmq_ctx_term(c->ctx);   /* returns once ZeroMQ let go of everything */
  cl_session_wipe(&c->sess);
  cl_keys_wipe(&c->key);
  if (!payloads_released(c)) return;   /* a shared context still holds a buffer: leak, never free
                                          what its I/O thread may still read or release */
  for (int i = 0; i < CL_SPLIT_MAX_INFLIGHT; i++) free(c->slots[i].payload);
  free(c->scratch);
  cl_msg_set_free(&c->req);
  cl_msg_set_free(&c->rep);
  free(c);
}
