/* cleave-cloud: the broker's sockets and its loop: device messages to workers, answers back,
 * READY and heartbeats, lost workers. The design is broker.h; the tables broker_tables.c. */
#include "broker.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_tables.h"
#include "wire/control.h"
#include "wire/frame.h"
#include "wire/transport.h"

#define POLL_MS 100
#define LIVENESS 3
#define PENDING_MAX_MS 600000   /* an answer a live worker never gave is forgotten after this */

struct cl_broker {
  cl_broker_options o;         /* defaults applied */
  void *ctx, *front, *back;    /* ZeroMQ context; ROUTER to devices; ROUTER to workers */
  char front_ep[256], back_ep[256];
  bk_tables t;
  int stop;                    /* atomic */
  cl_broker_stats st;          /* updated by run; read with atomics */
  cleave_Header h;             /* header being read or answered */
  int64_t next_beat_ms;
};

/* === Logging, counters, answers === */

static void blog(cl_broker_t *b, const char *fmt, ...) CL_PRINTF(2, 3);
static void blog(cl_broker_t *b, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (b->o.log) b->o.log(b->o.log_ctx, line);
  else fprintf(stderr, "cleave-cloud: %s\n", line);
}

static void count(uint64_t *c) { __atomic_add_fetch(c, 1, __ATOMIC_RELAXED); }

/* Answers a device with ERROR (never blocks: a full queue drops it). */
static void answer_error(cl_broker_t *b, const uint8_t *dev, size_t dev_len, cl_status code,
                         const char *reason, uint64_t request_id, const uint8_t *session) {
  cleave_Header h;
  uint8_t buf[512];
  size_t len = 0;
  cl_frame_error(&h, code, reason, request_id, session);
  if (cl_frame_encode(&h, buf, sizeof buf, &len, NULL) != CL_OK) return;
  const void *bufs[3] = {dev, buf, ""};
  size_t lens[3] = {dev_len, len, 0};
  if (cl_transport_send(b->front, bufs, lens, 3, ZMQ_DONTWAIT, NULL) != CL_OK) count(&b->st.dropped);
}

static void send_control(cl_broker_t *b, const uint8_t *wid, size_t wid_len,
                         cleave_ControlType type) {
  cleave_Control c;
  uint8_t buf[64];
  size_t len = 0;
  cl_control_init(&c, type);
  if (cl_control_encode(&c, buf, sizeof buf, &len, NULL) != CL_OK) return;
  const void *bufs[2] = {wid, buf};
  size_t lens[2] = {wid_len, len};
  if (cl_transport_send(b->back, bufs, lens, 2, ZMQ_DONTWAIT, NULL) != CL_OK) count(&b->st.dropped);
}

/* Sends [worker id, device id, header, payload] to worker w (copies of the given bytes). */
static int to_worker(cl_broker_t *b, int w, const uint8_t *dev, size_t dev_len, const void *hdr,
                     size_t hdr_len, const void *payload, size_t payload_len) {
  const bk_worker *wk = &b->t.workers[w];
  const void *bufs[4] = {wk->id, dev, hdr, payload};
  size_t lens[4] = {wk->id_len, dev_len, hdr_len, payload_len};
  if (cl_transport_send(b->back, bufs, lens, 4, ZMQ_DONTWAIT, NULL) != CL_OK) {
    count(&b->st.dropped);
    return -1;
  }
  return 0;
}

/* === Lost workers === */

/* Worker w is gone: HELLOs go to another worker, requests are answered "worker lost". */
static void worker_lost(cl_broker_t *b, int w, const char *why) {
  bk_worker *wk = &b->t.workers[w];
  char hex[17];
  blog(b, "worker %s lost (%s): %d message%s in flight", cl_frame_hex(wk->id, wk->id_len < 8 ?
       wk->id_len : 8, hex), why, wk->inflight, wk->inflight == 1 ? "" : "s");
  wk->used = 0;
  count(&b->st.workers_lost);
  bk_routes_drop_worker(&b->t, w);
  for (int i = 0; i < b->t.pending_hi; i++) {
    bk_pending *p = &b->t.pending[i];
    if (!p->used || p->worker != w) continue;
    int to = p->hello_len ? bk_worker_pick(&b->t, p->model, -1) : -1;
    if (p->hello_len && to >= 0 &&
        to_worker(b, to, p->dev, p->dev_len, p->hello, p->hello_len, "", 0) == 0) {
      p->worker = to;
      b->t.workers[to].inflight++;
      count(&b->st.hellos_moved);
      continue;
    }
    if (!p->hello_len) count(&b->st.requests_lost);
    answer_error(b, p->dev, p->dev_len, CL_ERR_CLOSED, "worker lost (handshake again)",
                 p->request_id, p->hello_len ? NULL : p->session);
    bk_pending_drop(&b->t, p);
  }
}

/* === Device messages === */

/* Where a device message goes: a worker index, or -1 after answering the device. */
static int route(cl_broker_t *b, const uint8_t *dev, size_t dev_len, const cleave_Header *h) {
  char tbuf[16];
  const uint8_t *sess = h->session.size == CL_SESSION_ID_BYTES ? h->session.bytes : NULL;
  if (h->type == cleave_MsgType_MSG_HELLO) {
    int w = bk_worker_pick(&b->t, h->model_hash.bytes, -1);
    if (w < 0) answer_error(b, dev, dev_len, CL_ERR_CLOSED, "no worker serves this model now", 0,
                            NULL);
    return w;
  }
  if (h->type == cleave_MsgType_MSG_REQUEST || h->type == cleave_MsgType_MSG_BYE) {
    int w = bk_route_find(&b->t, h->session.bytes);
    if (w < 0 && h->type == cleave_MsgType_MSG_REQUEST)
      answer_error(b, dev, dev_len, CL_ERR_CLOSED, "no worker holds this session (handshake again)",
                   h->request_id, sess);
    if (w >= 0 && h->type == cleave_MsgType_MSG_BYE) bk_route_drop(&b->t, h->session.bytes);
    return w;
  }
  char reason[64];
  snprintf(reason, sizeof reason, "unexpected %s (a device sends HELLO, REQUEST or BYE)",
           cl_frame_type_name((int)h->type, tbuf, sizeof tbuf));
  answer_error(b, dev, dev_len, CL_ERR_PROTOCOL, reason, h->request_id, sess);
  return -1;
}

/* Remembers a message handed to worker w in *out (BYE gets no answer: not kept, *out NULL).
 * 0, or -1 when the table is full. */
static int remember(cl_broker_t *b, int w, const uint8_t *dev, size_t dev_len,
                    const cleave_Header *h, const zmq_msg_t *hdr, bk_pending **out) {
  *out = NULL;
  if (h->type == cleave_MsgType_MSG_BYE) return 0;
  bk_pending *p = bk_pending_add(&b->t);
  if (!p) return -1;
  *out = p;
  p->since_ms = cl_transport_now_ms();
  p->worker = w;
  memcpy(p->dev, dev, dev_len);
  p->dev_len = dev_len;
  p->request_id = h->type == cleave_MsgType_MSG_HELLO ? 0 : h->request_id;
  memcpy(p->session, h->session.bytes, h->session.size == CL_SESSION_ID_BYTES ? 16 : 0);
  size_t len = zmq_msg_size((zmq_msg_t *)hdr);
  if (h->type == cleave_MsgType_MSG_HELLO && len <= BROKER_HELLO_MAX) {
    memcpy(p->hello, zmq_msg_data((zmq_msg_t *)hdr), len);
    p->hello_len = len;
    memcpy(p->model, h->model_hash.bytes, 32);
  }
  b->t.workers[w].inflight++;
  return 0;
}

static void forget(cl_broker_t *b, bk_pending *p) {
  b->t.workers[p->worker].inflight--;
  bk_pending_drop(&b->t, p);
}

/* A message worker w could not take (p: its entry, NULL for a BYE): a worker gone (its peer
 * connection closed: it is lost, and its messages answered) or whose queue is full (this one is
 * refused, the device runs it locally). */
static void unreachable(cl_broker_t *b, int w, bk_pending *p, cl_status st) {
  count(&b->st.dropped);
  if (st == CL_ERR_CLOSED) {
    worker_lost(b, w, "unreachable");
    return;
  }
  if (!p) return;
  answer_error(b, p->dev, p->dev_len, CL_ERR_LIMIT, "the worker's queue is full", p->request_id,
               p->hello_len ? NULL : p->session);
  forget(b, p);
}

static void from_device(cl_broker_t *b) {
  zmq_msg_t parts[4];
  int n = 0;
  if (cl_transport_recv(b->front, parts + 1, 3, &n, ZMQ_DONTWAIT, NULL) != CL_OK) return;
  int kept = n < 3 ? n : 3;
  const uint8_t *dev = zmq_msg_data(&parts[1]);
  size_t dev_len = zmq_msg_size(&parts[1]);
  cl_error e = {0};
  int w = -1;
  bk_pending *p = NULL;
  if (n != 3) {
    cl_error_set(&e, CL_ERR_PROTOCOL, "message of %d frames (2 expected: header, payload)", n - 1);
  } else if (cl_frame_decode(zmq_msg_data(&parts[2]), zmq_msg_size(&parts[2]), &b->h, &e) == CL_OK) {
    w = route(b, dev, dev_len, &b->h);
    if (w < 0) count(&b->st.refused);
    else if (remember(b, w, dev, dev_len, &b->h, &parts[2], &p) != 0) {
      answer_error(b, dev, dev_len, CL_ERR_LIMIT, "the broker has too many messages in flight",
                   b->h.request_id, NULL);
      count(&b->st.refused);
      w = -1;
    }
  }
  if (e.status != CL_OK) {
    count(&b->st.refused);
    answer_error(b, dev, dev_len, e.status, e.msg,
                 e.status == CL_ERR_PROTOCOL ? b->h.request_id : 0, NULL);
  }
  if (w >= 0) {
    const bk_worker *wk = &b->t.workers[w];
    zmq_msg_init_size(&parts[0], wk->id_len);
    memcpy(zmq_msg_data(&parts[0]), wk->id, wk->id_len);
    cl_status st = cl_transport_forward(b->back, parts, 4, ZMQ_DONTWAIT, &e);
    zmq_msg_close(&parts[0]);
    if (st == CL_OK) count(&b->st.forwarded);
    else unreachable(b, w, p, st);
  }
  cl_transport_close(parts + 1, kept);
}

/* === Worker messages === */

static void worker_ready(cl_broker_t *b, const uint8_t *wid, size_t wid_len, const cleave_Control *c) {
  int w = bk_worker_find(&b->t, wid, wid_len);
  if (w >= 0) worker_lost(b, w, "READY again");
  w = bk_worker_add(&b->t, wid, wid_len);
  if (w < 0) {
    blog(b, "refused a worker: %d workers already", CL_BROKER_MAX_WORKERS);
    send_control(b, wid, wid_len, cleave_ControlType_CTL_DISCONNECT);
    return;
  }
  bk_worker *wk = &b->t.workers[w];
  wk->capacity = (int)c->capacity;
  wk->n_models = (int)c->models_count;
  for (int i = 0; i < wk->n_models; i++) memcpy(wk->models[i], c->models[i].bytes, 32);
  wk->expires_ms = cl_transport_now_ms() + (int64_t)LIVENESS * b->o.heartbeat_ms;
  char hex[17];
  blog(b, "worker %s ready: capacity %d, %d model%s", cl_frame_hex(wid, wid_len < 8 ? wid_len : 8,
       hex), wk->capacity, wk->n_models, wk->n_models == 1 ? "" : "s");
}

static void worker_control(cl_broker_t *b, int w, const uint8_t *wid, size_t wid_len,
                           zmq_msg_t *frame) {
  cleave_Control c;
  cl_error e = {0};
  if (cl_control_decode(zmq_msg_data(frame), zmq_msg_size(frame), &c, &e) != CL_OK) {
    blog(b, "refused a control message: %s", e.msg);
    count(&b->st.refused);
    return;
  }
  if (c.type == cleave_ControlType_CTL_READY) worker_ready(b, wid, wid_len, &c);
  else if (w < 0) send_control(b, wid, wid_len, cleave_ControlType_CTL_DISCONNECT);
  else if (c.type == cleave_ControlType_CTL_DISCONNECT) worker_lost(b, w, "DISCONNECT");
}

/* An answer for a device: forwarded when it answers a message in flight, else dropped. */
static void worker_answer(cl_broker_t *b, int w, zmq_msg_t *parts) {
  cl_error e = {0};
  const uint8_t *dev = zmq_msg_data(&parts[1]);
  size_t dev_len = zmq_msg_size(&parts[1]);
  if (cl_frame_decode(zmq_msg_data(&parts[2]), zmq_msg_size(&parts[2]), &b->h, &e) != CL_OK) {
    count(&b->st.dropped);
    return;
  }
  uint64_t id = b->h.type == cleave_MsgType_MSG_REPLY || b->h.type == cleave_MsgType_MSG_ERROR
                    ? b->h.request_id : 0;
  bk_pending *p = bk_pending_find(&b->t, w, dev, dev_len, id);
  if (!p) {   /* a BYE's refusal, or an answer to a message re-routed already */
    count(&b->st.dropped);
    blog(b, "an answer (request %llu) matches nothing in flight: dropped", (unsigned long long)id);
    return;
  }
  if (b->h.type == cleave_MsgType_MSG_WELCOME) bk_route_set(&b->t, b->h.session.bytes, w);
  forget(b, p);
  if (cl_transport_forward(b->front, parts + 1, 3, ZMQ_DONTWAIT, &e) == CL_OK) {
    count(&b->st.answered);
  } else {
    count(&b->st.dropped);
    blog(b, "an answer (request %llu) could not go to its device: %s", (unsigned long long)id,
         e.msg);
  }
}

static void from_worker(cl_broker_t *b) {
  zmq_msg_t parts[4];
  int n = 0;
  if (cl_transport_recv(b->back, parts, 4, &n, ZMQ_DONTWAIT, NULL) != CL_OK) return;
  int kept = n < 4 ? n : 4;
  const uint8_t *wid = zmq_msg_data(&parts[0]);
  size_t wid_len = zmq_msg_size(&parts[0]);
  int w = bk_worker_find(&b->t, wid, wid_len);
  if (w >= 0) b->t.workers[w].expires_ms = cl_transport_now_ms() + (int64_t)LIVENESS *
                                                                    b->o.heartbeat_ms;
  if (n == 2) {
    worker_control(b, w, wid, wid_len, &parts[1]);
  } else if (n == 4 && w >= 0) {
    worker_answer(b, w, parts);
  } else {   /* an unknown worker (dropped as silent, then woke up) must say READY again */
    count(&b->st.dropped);
    if (w < 0) send_control(b, wid, wid_len, cleave_ControlType_CTL_DISCONNECT);
  }
  cl_transport_close(parts, kept);
}

/* Heartbeats to every worker; silent ones are dropped. */
static void tick(cl_broker_t *b, int64_t now) {
  for (int i = 0; i < CL_BROKER_MAX_WORKERS; i++)
    if (b->t.workers[i].used && now > b->t.workers[i].expires_ms) worker_lost(b, i, "silent");
  if (now < b->next_beat_ms) return;
  for (int i = 0; i < b->t.pending_hi; i++)
    if (b->t.pending[i].used && now - b->t.pending[i].since_ms > PENDING_MAX_MS)
      forget(b, &b->t.pending[i]);
  for (int i = 0; i < CL_BROKER_MAX_WORKERS; i++)
    if (b->t.workers[i].used)
      send_control(b, b->t.workers[i].id, b->t.workers[i].id_len,
                   cleave_ControlType_CTL_HEARTBEAT);
  b->next_beat_ms = now + b->o.heartbeat_ms;
  __atomic_store_n(&b->st.workers, (uint64_t)bk_workers_ready(&b->t), __ATOMIC_RELAXED);
}

/* === Life cycle === */

cl_status cl_broker_run(cl_broker_t *b, cl_error *err) {
  assert(b != NULL);
  zmq_pollitem_t items[2] = {{b->back, 0, ZMQ_POLLIN, 0}, {b->front, 0, ZMQ_POLLIN, 0}};
  b->next_beat_ms = cl_transport_now_ms();
  while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
    int rc = zmq_poll(items, 2, POLL_MS);
    if (rc < 0 && zmq_errno() == EINTR) continue;
    if (rc < 0) return cl_error_set(err, CL_ERR_IO, "ZeroMQ poll: %s", zmq_strerror(zmq_errno()));
    for (int k = 0; k < 64 && items[0].revents & ZMQ_POLLIN; k++) {   /* answers first */
      from_worker(b);
      zmq_poll(items, 1, 0);
    }
    if (items[1].revents & ZMQ_POLLIN) from_device(b);
    tick(b, cl_transport_now_ms());
  }
  return CL_OK;
}

static cl_status bind_one(cl_broker_t *b, void **sock, const char *ep, char *bound, size_t cap,
                          cl_error *err) {
  int one = 1;
  *sock = zmq_socket(b->ctx, ZMQ_ROUTER);
  if (!*sock) return cl_error_set(err, CL_ERR_IO, "ZeroMQ: %s", zmq_strerror(zmq_errno()));
  cl_transport_limits l = {b->o.queue, b->o.max_message, 0, 0};
  cl_status st = cl_transport_limit(*sock, &l, err);
  if (st != CL_OK) return st;
  zmq_setsockopt(*sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
  int ivl = b->o.heartbeat_ms, timeout = LIVENESS * b->o.heartbeat_ms;
  zmq_setsockopt(*sock, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
  zmq_setsockopt(*sock, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
  if (zmq_bind(*sock, ep) != 0)
    return cl_error_set(err, CL_ERR_IO, "cannot listen on '%s': %s", ep, zmq_strerror(zmq_errno()));
  size_t len = cap;
  if (zmq_getsockopt(*sock, ZMQ_LAST_ENDPOINT, bound, &len) != 0) snprintf(bound, cap, "%s", ep);
  return CL_OK;
}

cl_status cl_broker_create(const cl_broker_options *o, cl_broker_t **out, cl_error *err) {
  assert(o != NULL && out != NULL);
  *out = NULL;
  if (!o->front || !o->back) return cl_error_set(err, CL_ERR_ARG, "two endpoints are required");
  cl_broker_t *b = calloc(1, sizeof *b);
  if (!b) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  b->o = *o;
  if (b->o.heartbeat_ms == 0) b->o.heartbeat_ms = 1000;
  if (b->o.max_message == 0) b->o.max_message = (int64_t)256 << 20;
  if (b->o.queue == 0) b->o.queue = 1000;
  if (b->o.max_pending == 0) b->o.max_pending = 8192;
  cl_status st = CL_OK;
  if (b->o.heartbeat_ms < 10 || b->o.max_message < 65536 || b->o.queue < 1 || b->o.max_pending < 1)
    st = cl_error_set(err, CL_ERR_ARG, "broker option out of range");
  if (st == CL_OK && bk_tables_init(&b->t, b->o.max_pending) != 0)
    st = cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  b->ctx = st == CL_OK ? zmq_ctx_new() : NULL;
  if (st == CL_OK && !b->ctx) st = cl_error_set(err, CL_ERR_IO, "ZeroMQ: %s", zmq_strerror(zmq_errno()));
  if (st == CL_OK) st = bind_one(b, &b->front, o->front, b->front_ep, sizeof b->front_ep, err);
  if (st == CL_OK) st = bind_one(b, &b->back, o->back, b->back_ep, sizeof b->back_ep, err);
  if (st != CL_OK) {
    cl_broker_free(&b);
    return st;
  }
  *out = b;
  return CL_OK;
}

const char *cl_broker_front_endpoint(const cl_broker_t *b) { return b->front_ep; }
const char *cl_broker_back_endpoint(const cl_broker_t *b) { return b->back_ep; }

void cl_broker_stop(cl_broker_t *b) { __atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE); }

void cl_broker_stats_get(const cl_broker_t *b, cl_broker_stats *st) {
  const uint64_t *src = (const uint64_t *)&b->st;
  uint64_t *dst = (uint64_t *)st;
  for (size_t i = 0; i < sizeof *st / sizeof(uint64_t); i++)
    dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void cl_broker_free(cl_broker_t **bp) {
  if (!bp || !*bp) return;
  cl_broker_t *b = *bp;
  if (b->front) zmq_close(b->front);
  if (b->back) zmq_close(b->back);
  if (b->ctx) zmq_ctx_term(b->ctx);
  bk_tables_free(&b->t);
  free(b);
  *bp = NULL;
}
