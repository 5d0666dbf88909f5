/* cleave end-to-end security tests: tampering hooks, raw ZeroMQ peers and the checks every
 * scenario ends with (the refusal is clear on both sides, the server logged it and goes on
 * serving a good device). Include from test files only. */
#ifndef CLEAVE_TESTS_SECURITY_UTIL_H
#define CLEAVE_TESTS_SECURITY_UTIL_H

#include <zmq.h>

#include "split_harness.h"
#include "wire/frame.h"

/* What a hook does to the next message of its type. */
typedef enum tamper_mode {
  T_NONE,
  T_FLIP_HDR,        /* flip header bit `bit` */
  T_FLIP_PAYLOAD,    /* flip payload bit `bit` */
  T_TRUNC_HDR,       /* drop the header's last `bit` bytes */
  T_TRUNC_PAYLOAD,   /* drop the payload's last `bit` bytes */
  T_EDIT,            /* decode the header, edit(), encode it again */
  T_RECORD,          /* keep a copy of the frames */
  T_SWAP,            /* send the recorded frames instead */
} tamper_mode;

typedef struct tamper {
  int type;                    /* cleave.MsgType acted on */
  tamper_mode mode;
  size_t bit;
  void (*edit)(cleave_Header *h);
  int once;                    /* back to T_NONE after acting */
  uint8_t hdr[CL_FRAME_HEADER_CAP];
  size_t hdr_len;
  uint8_t *payload;            /* recorded payload (malloc) */
  size_t payload_len;
  int acted;
} tamper;

static inline void tamper_hook(void *ctx, int type, uint8_t *hdr, size_t *hdr_len, size_t hdr_cap,
                               uint8_t *payload, size_t *payload_len, size_t payload_cap) {
  tamper *t = ctx;
  if (type != t->type || t->mode == T_NONE) return;
  static cleave_Header h;   /* one hook acts at a time in these tests */
  switch (t->mode) {
  case T_FLIP_HDR: hdr[t->bit / 8 % *hdr_len] ^= (uint8_t)(1u << (t->bit % 8)); break;
  case T_FLIP_PAYLOAD: payload[t->bit / 8 % *payload_len] ^= (uint8_t)(1u << (t->bit % 8)); break;
  case T_TRUNC_HDR: *hdr_len -= t->bit < *hdr_len ? t->bit : *hdr_len; break;
  case T_TRUNC_PAYLOAD: *payload_len -= t->bit < *payload_len ? t->bit : *payload_len; break;
  case T_EDIT:
    cr_assert_eq(cl_frame_decode(hdr, *hdr_len, &h, NULL), CL_OK);
    t->edit(&h);
    cr_assert_eq(cl_frame_encode(&h, hdr, hdr_cap, hdr_len, NULL), CL_OK);
    break;
  case T_RECORD:
    memcpy(t->hdr, hdr, *hdr_len);
    t->hdr_len = *hdr_len;
    free(t->payload);
    t->payload = malloc(*payload_len + 1);
    memcpy(t->payload, payload, *payload_len);
    t->payload_len = *payload_len;
    break;
  case T_SWAP:
    cr_assert_leq(t->payload_len, payload_cap);
    memcpy(hdr, t->hdr, t->hdr_len);
    *hdr_len = t->hdr_len;
    memcpy(payload, t->payload, t->payload_len);
    *payload_len = t->payload_len;
    break;
  case T_NONE: break;
  }
  t->acted++;
  if (t->once) t->mode = T_NONE;
}

/* === A device of the harness, with a model, an executor and outputs === */

typedef struct device {
  harness *h;
  cl_model_t *m;               /* not owned */
  const cl_tensor *in;
  const char *codec;
  int timeout_ms;
  cl_split_hook hook;
  void *hook_ctx;
  cl_exec_t *ex;
  cl_split_client_t *c;
  cl_tensor out[4];
  int n_outs, cut;
} device;

static inline void device_open(device *d, harness *h, cl_model_t *m, const cl_tensor *in, int cut,
                               const char *codec, int timeout_ms) {
  memset(d, 0, sizeof *d);
  d->h = h;
  d->m = m;
  d->in = in;
  d->cut = cut;
  d->codec = codec;
  d->timeout_ms = timeout_ms;
  d->n_outs = cl_model_output_count(m);
  cl_error err = {0};
  cl_exec_options eo = {.threads = 1};
  cr_assert_eq(cl_exec_create(m, &eo, &d->ex, &err), CL_OK);
  cr_assert_eq(cl_split_outputs_alloc(m, d->out, d->n_outs, &err), CL_OK);
  cl_split_client_options o = harness_client_options(h, cut, codec);
  o.timeout_ms = timeout_ms;
  cr_assert_eq(cl_split_client_connect(m, &o, &d->c, &err), CL_OK, "%s", err.msg);
}

static inline void device_set_hook(device *d, cl_split_hook fn, void *ctx) {
  d->hook = fn;
  d->hook_ctx = ctx;
  cl_split_client_set_hook(d->c, fn, ctx);
}

/* A new connection and session (the old one is left with what it had in flight). */
static inline void device_reconnect(device *d) {
  cl_split_client_free(&d->c);
  cl_split_client_options o = harness_client_options(d->h, d->cut, d->codec);
  o.timeout_ms = d->timeout_ms;
  cl_error err = {0};
  cr_assert_eq(cl_split_client_connect(d->m, &o, &d->c, &err), CL_OK, "%s", err.msg);
  cl_split_client_set_hook(d->c, d->hook, d->hook_ctx);
}

static inline cl_status device_run(device *d, cl_error *err) {
  cl_split_result res;
  return harness_split_run(d->c, d->ex, d->in, d->cut, d->out, d->n_outs, &res, err);
}

static inline cl_status device_submit(device *d, uint64_t *id, cl_error *err) {
  cl_status st = cl_exec_set_input(d->ex, 0, d->in, err);
  if (st == CL_OK) st = cl_exec_run(d->ex, 0, d->cut, err);
  return st == CL_OK ? cl_split_client_submit(d->c, d->ex, id, err) : st;
}

static inline cl_status device_receive(device *d, cl_split_result *res, cl_error *err) {
  return cl_split_client_receive(d->c, d->out, d->n_outs, res, err);
}

static inline void device_close(device *d) {
  cl_split_client_free(&d->c);
  cl_exec_free(&d->ex);
  for (int i = 0; i < d->n_outs; i++) cl_tensor_release(&d->out[i]);
}

/* A request that must be refused: the device reports want (status) with `text` in its message, and
 * the server's log has a refusal naming `text` too. When the refusal cannot name the request (its
 * header did not decode, or its id was changed), the request would wait for its deadline: the
 * device reconnects instead. */
static inline void expect_refused(harness *h, device *d, cl_status want, const char *text) {
  uint64_t id;
  cl_error err = {0};
  cl_split_result res;
  cr_assert_eq(device_submit(d, &id, &err), CL_OK, "%s", err.msg);
  cl_status st = device_receive(d, &res, &err);
  cr_assert_neq(st, CL_OK, "a tampered request was served");
  if (want != CL_OK) cr_expect_eq(st, want, "status %s: %s", cl_status_name(st), err.msg);
  if (text) cr_expect(strstr(err.msg, text) != NULL, "device said: %s", err.msg);
  if (text) cr_expect(harness_log_has(h, text), "the edge did not log '%s':\n%s", text, h->log);
  if (cl_split_client_inflight(d->c) > 0) device_reconnect(d);
}

/* The server still serves: a fresh good device gets the right answer. */
static inline void expect_still_serving(harness *h, cl_model_t *m, const cl_tensor *in, int cut) {
  device good;
  device_open(&good, h, m, in, cut, "raw", 5000);
  cl_error err = {0};
  cr_assert_eq(device_run(&good, &err), CL_OK, "the edge stopped serving: %s", err.msg);
  device_close(&good);
}

/* === A raw ZeroMQ peer (no cleave client) === */

typedef struct raw_peer {
  void *ctx, *sock;
} raw_peer;

static inline void raw_open(raw_peer *p, const char *endpoint) {
  p->ctx = zmq_ctx_new();
  p->sock = zmq_socket(p->ctx, ZMQ_DEALER);
  int linger = 0, timeout = 5000;
  zmq_setsockopt(p->sock, ZMQ_LINGER, &linger, sizeof linger);
  zmq_setsockopt(p->sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
  cr_assert_eq(zmq_connect(p->sock, endpoint), 0);
}

static inline void raw_send(raw_peer *p, const void *const *frames, const size_t *lens, int n) {
  for (int i = 0; i < n; i++)
    cr_assert_geq(zmq_send(p->sock, frames[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0), 0);
}

/* Receives [header, payload] and decodes the header into *h. */
static inline void raw_receive(raw_peer *p, cleave_Header *h) {
  uint8_t buf[CL_FRAME_HEADER_CAP];
  int n = zmq_recv(p->sock, buf, sizeof buf, 0);
  cr_assert_gt(n, 0, "no answer from the edge");
  int more = 0;
  size_t ml = sizeof more;
  zmq_getsockopt(p->sock, ZMQ_RCVMORE, &more, &ml);
  cr_assert(more, "one frame only");
  static uint8_t payload[1 << 16];
  zmq_recv(p->sock, payload, sizeof payload, 0);
  cl_error err = {0};
  cr_assert_eq(cl_frame_decode(buf, (size_t)n, h, &err), CL_OK, "%s", err.msg);
}

static inline void raw_close(raw_peer *p) {
  zmq_close(p->sock);
  zmq_ctx_term(p->ctx);
}

#endif
