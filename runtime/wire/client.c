/* cleave: the split client (device side): requests in flight, replies in any order, deadlines,
 * re-sends after a lost link. The connection itself (socket, handshake, reconnection) is
 * client_link.c; the state is wire/client_internal.h.
 *
 * Buffers: two per in-flight slot, sized at connect from cl_codec_bound: the encoded frontier
 * (kept until the request settles, for a re-send) and its sealed copy, sent zero-copy
 * (zmq_msg_init_data); ZeroMQ's release callback marks the sealed buffer free again, and a slot is
 * reused only once its request settled and ZeroMQ released the buffer. Replies are received as
 * ZeroMQ frames (ZeroMQ allocates them), opened in place and decoded into the caller's tensors. */
#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire/client_internal.h"
#include "wire/keys_internal.h"
#include "wire/transport.h"

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
  if (o->deadline_ms == 0) o->deadline_ms = o->timeout_ms;
  if (o->heartbeat_ms == 0) o->heartbeat_ms = 1000;
  if (o->queue == 0) o->queue = 2 * o->max_inflight + 2;
  if (o->max_inflight < 1 || o->max_inflight > CL_SPLIT_MAX_INFLIGHT || o->timeout_ms < 1 ||
      o->queue < 1 || o->deadline_ms < 1 || o->retries < 0 || o->retries > 100 ||
      (o->heartbeat_ms < 1 && o->heartbeat_ms != -1))
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
    c->slots[i].plain = malloc(cap);
    c->slots[i].cap = cap;
    ok &= c->slots[i].payload != NULL && c->slots[i].plain != NULL;
  }
  return ok ? CL_OK : cl_error_set(err, CL_ERR_NOMEM, "out of memory");
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
  if (st == CL_OK && cl_seal_init() != 0)
    st = cl_error_set(err, CL_ERR_BACKEND, "libsodium failed to start");
  if (st == CL_OK) st = make_buffers(c, err);
  if (st == CL_OK) {
    c->own_ctx = c->o.zmq_context == NULL;
    c->ctx = c->own_ctx ? zmq_ctx_new() : c->o.zmq_context;
    if (!c->ctx) st = cl_error_set(err, CL_ERR_IO, "ZeroMQ: %s", zmq_strerror(zmq_errno()));
  }
  if (st == CL_OK) st = cl_client_socket(c, err);
  if (st == CL_OK) st = cl_client_first_handshake(c, err);
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
  __atomic_store_n(&((cl_client_slot *)hint)->zmq_holds, 0, __ATOMIC_RELEASE);
}

/* Waits (bounded) until ZeroMQ released s's sealed buffer. Returns 1 when it did. */
static int wait_released(const cl_split_client_t *c, cl_client_slot *s) {
  uint64_t deadline = cl_transport_now_ns() + (uint64_t)c->o.timeout_ms * 1000000u;
  while (__atomic_load_n(&s->zmq_holds, __ATOMIC_ACQUIRE)) {
    if (cl_transport_now_ns() >= deadline) return 0;
    nanosleep(&(struct timespec){0, 50000}, NULL);   /* ZeroMQ is writing the last one out */
  }
  return 1;
}

/* A slot whose request settled and whose buffer ZeroMQ released. */
static cl_client_slot *free_slot(cl_split_client_t *c, cl_error *err) {
  if (c->inflight >= c->o.max_inflight) {
    cl_error_set(err, CL_ERR_LIMIT, "%d requests already in flight", c->inflight);
    return NULL;
  }
  for (int i = 0; i < c->o.max_inflight; i++)
    if (!c->slots[i].busy && !__atomic_load_n(&c->slots[i].zmq_holds, __ATOMIC_ACQUIRE))
      return &c->slots[i];
  for (int i = 0; i < c->o.max_inflight; i++)
    if (!c->slots[i].busy && wait_released(c, &c->slots[i])) return &c->slots[i];
  cl_error_set(err, CL_ERR_TIMEOUT, "the connection has not sent the previous requests out");
  return NULL;
}

/* Seals a copy of s's encoded frontier for the current session and sends it. */
static cl_status seal_and_send(cl_split_client_t *c, cl_client_slot *s, cl_error *err) {
  cleave_Header *h = &c->h;
  cl_frame_init(h, cleave_MsgType_MSG_REQUEST);
  h->session.size = CL_SESSION_ID_BYTES;
  memcpy(h->session.bytes, c->sess.id, CL_SESSION_ID_BYTES);
  h->request_id = s->request_id;
  h->model_hash.size = CL_FRAME_HASH_BYTES;
  memcpy(h->model_hash.bytes, cl_model_hash(c->m), CL_FRAME_HASH_BYTES);
  h->cut = c->o.cut;
  h->tensors_count = s->n_desc;
  memcpy(h->tensors, s->desc, (size_t)s->n_desc * sizeof *s->desc);
  size_t hdr_len = 0, payload_len = 0;   /* sealed from s->plain into s->payload: no extra copy */
  cl_status st = cl_msg_seal_from(c->o.insecure ? NULL : &c->sess, h, c->hdr, sizeof c->hdr,
                                  &hdr_len, s->plain, s->payload, s->body, &payload_len, err);
  if (st != CL_OK) return st;
  if (c->hook) c->hook(c->hook_ctx, cleave_MsgType_MSG_REQUEST, c->hdr, &hdr_len, sizeof c->hdr,
                       s->payload, &payload_len, s->cap);
  __atomic_store_n(&s->zmq_holds, 1, __ATOMIC_RELEASE);
  st = cl_transport_send_zc(c->sock, c->hdr, hdr_len, s->payload, payload_len, release_payload, s,
                            0, err);
  if (st != CL_OK) return st;
  s->tries++;
  s->resend = 0;
  s->sent_ns = cl_transport_now_ns();
  s->bytes_up = hdr_len + payload_len;
  return CL_OK;
}

void cl_client_fail_slot(cl_split_client_t *c, cl_client_slot *s, cl_status st,
                         cl_split_failure why) {
  (void)c;
  s->failed = st;
  s->why = why;
  s->resend = 0;
}

void cl_client_resend(cl_split_client_t *c, cl_client_slot *s) {
  cl_error e = {0};
  if (!wait_released(c, s) || seal_and_send(c, s, &e) != CL_OK) {
    cl_client_fail_slot(c, s, CL_ERR_CLOSED, CL_SPLIT_GONE);
    return;
  }
  c->stats.resent++;
}

cl_status cl_split_client_submit_within(cl_split_client_t *c, cl_exec_t *ex, int deadline_ms,
                                        uint64_t *request_id, cl_error *err) {
  assert(c != NULL && ex != NULL && request_id != NULL);
  *request_id = 0;
  if (deadline_ms <= 0) deadline_ms = c->o.deadline_ms;
  cl_client_link_pump(c);
  if (c->link != LINK_UP)
    return cl_error_set(err, CL_ERR_CLOSED, "no session with the edge at '%s' (reconnecting)",
                        c->o.endpoint);
  cl_client_slot *s = free_slot(c, err);
  if (!s) return err ? err->status : CL_ERR_LIMIT;
  uint64_t t0 = cl_transport_now_ns();
  const void *src[CL_FRAME_MAX_TENSORS];
  for (int i = 0; i < c->req.count; i++) src[i] = cl_exec_buffer(ex, c->req.t[i].value, NULL);
  cl_status st = cl_msg_encode(&c->req, &c->o.codec, src, &c->h, s->plain, s->cap, &s->body,
                               c->scratch, err);
  if (st != CL_OK) return st;
  s->n_desc = c->h.tensors_count;
  memcpy(s->desc, c->h.tensors, (size_t)s->n_desc * sizeof *s->desc);
  s->request_id = ++c->next_id;
  s->tries = 0;
  s->failed = CL_OK;
  st = seal_and_send(c, s, err);
  if (st != CL_OK) return st;
  s->busy = 1;
  s->encode_ms = ms_between(t0, s->sent_ns);
  s->deadline_ns = s->sent_ns + (uint64_t)deadline_ms * 1000000u;
  c->inflight++;
  *request_id = s->request_id;
  return CL_OK;
}

cl_status cl_split_client_submit(cl_split_client_t *c, cl_exec_t *ex, uint64_t *request_id,
                                 cl_error *err) {
  return cl_split_client_submit_within(c, ex, 0, request_id, err);
}

/* === Replies === */

static cl_client_slot *find_slot(cl_split_client_t *c, uint64_t request_id) {
  for (int i = 0; i < c->o.max_inflight; i++) {
    cl_client_slot *s = &c->slots[i];
    if (s->busy && s->request_id == request_id && s->failed == CL_OK && !s->resend) return s;
  }
  return NULL;
}

static void finish(cl_split_client_t *c, cl_client_slot *s, cl_split_result *res,
                   cl_split_failure why) {
  if (res) {
    res->request_id = s->request_id;
    res->failure = why;
  }
  s->busy = 0;
  s->resend = 0;
  s->failed = CL_OK;
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
static cl_status take_reply(cl_split_client_t *c, cl_client_slot *s, zmq_msg_t parts[2],
                            cl_tensor *outs, int n_outs, cl_error *err) {
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

/* An ERROR from the edge (decoded in c->h). *done: 1 when it settled a request or is an error to
 * report, 0 when it was dropped or made the link restart. */
static cl_status take_error(cl_split_client_t *c, cl_split_result *res, int *done, cl_error *err) {
  const cleave_Header *h = &c->h;
  cl_client_slot *s = h->request_id ? find_slot(c, h->request_id) : NULL;
  int other_session = h->session.size == CL_SESSION_ID_BYTES &&
                      memcmp(h->session.bytes, c->sess.id, CL_SESSION_ID_BYTES) != 0;
  if (c->o.reconnect && (!s || other_session)) {   /* late, or about an older session */
    *done = 0;
    c->stats.stale++;
    return CL_OK;
  }
  if (c->o.reconnect && s && h->error_code == CL_ERR_CLOSED) {   /* a broker's "worker lost" */
    *done = 0;
    cl_client_link_lost(c, "worker lost");
    return CL_OK;
  }
  char what[48];
  snprintf(what, sizeof what, "request %llu", (unsigned long long)h->request_id);
  cl_status st = cl_client_refusal(h, h->request_id ? what : "a message", err);
  if (s) finish(c, s, res, CL_SPLIT_REFUSED);
  if (c->o.reconnect && (st == CL_ERR_PROTOCOL || st == CL_ERR_AUTH))
    cl_client_link_lost(c, "session refused");   /* say, a restarted edge: handshake again */
  return st;
}

/* One received message while the link is up. *done: 1 when it settled a request (or is an error to
 * report). */
static cl_status handle_message(cl_split_client_t *c, zmq_msg_t parts[2], uint64_t t_recv,
                                cl_tensor *outs, int n_outs, cl_split_result *res, int *done,
                                cl_error *err) {
  char tbuf[16];
  *done = 1;
  cl_error e = {0};
  if (cl_frame_decode(zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), &c->h, &e) != CL_OK)
    return cl_error_set(err, e.status, "malformed message from the edge: %s", e.msg);
  const cleave_Header *h = &c->h;
  if (h->type == cleave_MsgType_MSG_ERROR) return take_error(c, res, done, err);
  if (h->type != cleave_MsgType_MSG_REPLY)
    return cl_error_set(err, CL_ERR_PROTOCOL, "unexpected %s from the edge",
                        cl_frame_type_name((int)h->type, tbuf, sizeof tbuf));
  if (memcmp(h->session.bytes, c->sess.id, CL_SESSION_ID_BYTES) != 0) {
    if (!c->o.reconnect) return cl_error_set(err, CL_ERR_PROTOCOL, "reply for another session");
    *done = 0;
    c->stats.stale++;
    return CL_OK;
  }
  cl_client_slot *s = find_slot(c, h->request_id);
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
  finish(c, s, res, st == CL_OK ? CL_SPLIT_OK : CL_SPLIT_BAD_REPLY);
  return st;
}

/* The busy slot whose deadline comes first; a slot already failed first of all. */
static cl_client_slot *earliest(cl_split_client_t *c) {
  cl_client_slot *e = NULL;
  for (int i = 0; i < c->o.max_inflight; i++) {
    cl_client_slot *s = &c->slots[i];
    if (!s->busy) continue;
    if (s->failed != CL_OK) return s;
    if (!e || s->deadline_ns < e->deadline_ns) e = s;
  }
  return e;
}

/* Reports slot s as failed (its deadline passed, or its link was lost). */
static cl_status report_failed(cl_split_client_t *c, cl_client_slot *s, cl_split_result *res,
                               cl_error *err) {
  unsigned long long id = (unsigned long long)s->request_id;
  cl_status st = s->failed != CL_OK ? s->failed : CL_ERR_TIMEOUT;
  cl_split_failure why = s->failed != CL_OK ? s->why : CL_SPLIT_SLOW;
  finish(c, s, res, why);
  if (why == CL_SPLIT_SLOW)
    return cl_error_set(err, st, "no reply from the edge to request %llu within its deadline", id);
  return cl_error_set(err, st, "request %llu: the link to the edge was lost", id);
}

/* A deadline passed: Lazy Pirate, when nothing at all came from the edge since the request left,
 * the connection is taken for dead (a new one is made; the others in flight are sent again). */
static cl_status deadline_passed(cl_split_client_t *c, cl_client_slot *s, cl_split_result *res,
                                 cl_error *err) {
  int silent = c->last_heard_ns < s->sent_ns;
  cl_status st = report_failed(c, s, res, err);
  if (c->o.reconnect && silent && c->link == LINK_UP) cl_client_link_lost(c, "silent");
  return st;
}

/* While no session is open: waits for the WELCOME (or the next attempt) until `until`. */
static void wait_for_link(cl_split_client_t *c, uint64_t until) {
  uint64_t wake = c->link == LINK_HANDSHAKE ? c->hs_deadline_ns : c->next_try_ns;
  if (wake < until) until = wake;
  zmq_msg_t parts[2];
  cl_error e = {0};
  if (c->sock && cl_client_wait_message(c, until, parts, NULL, &e) == CL_OK) {
    if (cl_frame_decode(zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), &c->h, &e) == CL_OK &&
        (c->h.type == cleave_MsgType_MSG_WELCOME ||
         (c->h.type == cleave_MsgType_MSG_ERROR && c->h.request_id == 0)))
      cl_client_link_answer(c, zmq_msg_size(&parts[1]));
    else
      c->stats.stale++;
    cl_transport_close(parts, 2);
  } else if (!c->sock) {
    uint64_t now = cl_transport_now_ns();
    if (until > now) nanosleep(&(struct timespec){0, (long)(until - now < 10000000u ? until - now
                                                                          : 10000000u)}, NULL);
  }
}

cl_status cl_split_client_receive(cl_split_client_t *c, cl_tensor *outs, int n_outs,
                                  cl_split_result *res, cl_error *err) {
  assert(c != NULL);
  if (res) memset(res, 0, sizeof *res);
  if (c->inflight == 0) return cl_error_set(err, CL_ERR_ARG, "no request in flight");
  cl_status st = check_outs(c, outs, n_outs, err);
  for (int done = 0; st == CL_OK && !done;) {
    cl_client_link_pump(c);
    cl_client_slot *s = earliest(c);
    if (s->failed != CL_OK) return report_failed(c, s, res, err);
    if (cl_transport_now_ns() >= s->deadline_ns) return deadline_passed(c, s, res, err);
    if (c->link != LINK_UP) {
      wait_for_link(c, s->deadline_ns);
      continue;
    }
    zmq_msg_t parts[2];
    cl_error e = {0};
    int dropped = 0;
    st = cl_client_wait_message(c, s->deadline_ns, parts, c->o.reconnect ? &dropped : NULL, &e);
    if (dropped) {
      cl_client_link_lost(c, "disconnected");
      st = CL_OK;
      continue;
    }
    if (st == CL_ERR_TIMEOUT) {
      st = CL_OK;
      continue;
    }
    if (st != CL_OK) return cl_error_set(err, st, "%s", e.msg);
    st = handle_message(c, parts, cl_transport_now_ns(), outs, n_outs, res, &done, err);
    cl_transport_close(parts, 2);
  }
  if (res && st != CL_OK && res->request_id && res->failure == CL_SPLIT_OK)
    res->failure = CL_SPLIT_LOCAL;
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

void cl_split_client_free(cl_split_client_t **cp) {
  if (!cp || !*cp) return;
  cl_split_client_t *c = *cp;
  *cp = NULL;
  cl_client_close_socket(c);              /* a BYE first when a session is open */
  if (c->own_ctx && c->ctx) zmq_ctx_term(c->ctx);   /* returns once ZeroMQ let go of everything */
  cl_session_wipe(&c->sess);
  cl_keys_wipe(&c->key);
  if (!payloads_released(c)) return;   /* a shared context still holds a buffer: leak, never free
                                          what its I/O thread may still read or release */
  for (int i = 0; i < CL_SPLIT_MAX_INFLIGHT; i++) {
    free(c->slots[i].payload);
    free(c->slots[i].plain);
  }
  free(c->scratch);
  cl_msg_set_free(&c->req);
  cl_msg_set_free(&c->rep);
  free(c);
}
