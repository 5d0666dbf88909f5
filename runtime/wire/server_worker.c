/* cleave: a split server's worker: HELLO -> WELCOME, REQUEST -> REPLY, anything else -> ERROR.
 * Each worker thread owns its socket, its executors and its buffers; it shares the models and the
 * session table. Every refusal is logged (one line) and answered with MSG_ERROR. */
#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "wire/split_internal.h"
#include "wire/transport.h"

/* The message being served: its three frames and where the answer goes. */
typedef struct job {
  cl_srv_worker *w;
  const uint8_t *identity;
  size_t identity_len;
  const uint8_t *hdr;          /* the header bytes as received (the seal's associated data) */
  size_t hdr_len;
  uint8_t *payload;            /* the payload frame, opened in place */
  size_t payload_len;
  cl_sessions_entry *session;  /* acquired, or NULL */
} job;

/* === Answers === */

/* Says READY (or BYE) to the front: the worker takes the next message. An answer says it too. */
static int say(cl_srv_worker *w, const char *what) {
  return zmq_send(w->sock, what, 1, 0) == 1 ? 0 : -1;
}

static int say_ready(cl_srv_worker *w) { return say(w, CL_SRV_READY); }

/* Sends [identity, w->hdr[0, hdr_len), payload] back through the front (the test hook first). */
static void send_frames(job *j, int type, size_t hdr_len, uint8_t *payload, size_t payload_len,
                        size_t payload_cap) {
  cl_srv_worker *w = j->w;
  cl_error err = {0};
  if (w->srv->hook)
    w->srv->hook(w->srv->hook_ctx, type, w->hdr, &hdr_len, sizeof w->hdr, payload, &payload_len,
                 payload_cap);
  const void *bufs[3] = {j->identity, w->hdr, payload ? (const void *)payload : ""};
  size_t lens[3] = {j->identity_len, hdr_len, payload_len};
  if (cl_transport_send(w->sock, bufs, lens, 3, 0, &err) != CL_OK) {
    cl_srv_log(w->srv, "internal: cannot hand an answer to the front: %s", err.msg);
    (void)say_ready(w);
  }
}

/* Encodes w->out (WELCOME, ERROR: no payload) and sends it. */
static void send_answer(job *j) {
  size_t hdr_len = 0;
  cl_error err = {0};
  if (cl_frame_encode(&j->w->out, j->w->hdr, sizeof j->w->hdr, &hdr_len, &err) != CL_OK) {
    cl_srv_log(j->w->srv, "internal: %s", err.msg);
    (void)say_ready(j->w);
    return;
  }
  send_frames(j, (int)j->w->out.type, hdr_len, NULL, 0, 0);
}

/* Logs and answers a refusal. h may be NULL (header not decoded). */
static void refuse(job *j, const cleave_Header *h, const cl_error *e) {
  char what[64], tbuf[16];
  if (!h) snprintf(what, sizeof what, "a message");
  else if (h->request_id) snprintf(what, sizeof what, "%s %llu",
                                   cl_frame_type_name((int)h->type, tbuf, sizeof tbuf),
                                   (unsigned long long)h->request_id);
  else snprintf(what, sizeof what, "%s", cl_frame_type_name((int)h->type, tbuf, sizeof tbuf));
  cl_srv_refused(j->w->srv, what, j->identity, j->identity_len, e->msg);
  const uint8_t *session = h && h->session.size == CL_SESSION_ID_BYTES ? h->session.bytes : NULL;
  cl_frame_error(&j->w->out, e->status != CL_OK ? e->status : CL_ERR_PROTOCOL, e->msg,
                 h ? h->request_id : 0, session);
  send_answer(j);
}

/* === Shared checks === */

static int find_model(const cl_split_server_t *s, const cleave_Header *h) {
  for (int i = 0; i < s->n_models; i++)
    if (memcmp(cl_model_hash(s->models[i].m), h->model_hash.bytes, CL_FRAME_HASH_BYTES) == 0)
      return i;
  return -1;
}

static cl_status check_model_and_mode(const cl_split_server_t *s, const cleave_Header *h, int *model,
                                      cl_error *err) {
  char hex[17];
  *model = find_model(s, h);
  if (*model < 0)
    return cl_error_set(err, CL_ERR_PROTOCOL, "model %s... is not served here (another file or "
                        "other input shapes)", cl_frame_hex(h->model_hash.bytes, 8, hex));
  if (h->insecure && !s->o.insecure)
    return cl_error_set(err, CL_ERR_AUTH, "the device runs --insecure but this edge does not");
  if (!h->insecure && s->o.insecure)
    return cl_error_set(err, CL_ERR_AUTH, "this edge runs --insecure but the device does not");
  return CL_OK;
}

/* === HELLO -> WELCOME === */

static cl_status open_session(job *j, const cleave_Header *h, int model, cl_session *sess,
                              uint8_t eph[CL_KEY_BYTES], uint8_t proof[CL_PROOF_BYTES],
                              cl_error *err) {
  cl_split_server_t *s = j->w->srv;
  if (j->payload_len != 0)
    return cl_error_set(err, CL_ERR_PROTOCOL, "HELLO with a payload of %zu bytes", j->payload_len);
  memset(sess, 0, sizeof *sess);
  if (s->o.insecure) {
    randombytes_buf(sess->id, sizeof sess->id);
  } else {
    cl_status st = cl_handshake_welcome(&s->key, s->o.allow, h->static_key.bytes,
                                        h->ephemeral_key.bytes, h->proof.bytes, eph, proof, sess,
                                        err);
    if (st != CL_OK) return st;
  }
  return cl_sessions_insert(&s->sessions, sess, s->o.insecure, model, j->identity, j->identity_len,
                            cl_transport_now_ms(), err);
}

static void serve_hello(job *j, const cleave_Header *h) {
  cl_srv_worker *w = j->w;
  cl_error err = {0};
  int model = -1;
  cl_session sess;
  uint8_t eph[CL_KEY_BYTES], proof[CL_PROOF_BYTES];
  cl_status st = check_model_and_mode(w->srv, h, &model, &err);
  if (st == CL_OK) st = open_session(j, h, model, &sess, eph, proof, &err);
  if (st != CL_OK) {
    refuse(j, h, &err);
  } else {
    cleave_Header *o = &w->out;
    cl_frame_init(o, cleave_MsgType_MSG_WELCOME);
    o->session.size = CL_SESSION_ID_BYTES;
    memcpy(o->session.bytes, sess.id, CL_SESSION_ID_BYTES);
    o->model_hash = h->model_hash;
    o->insecure = w->srv->o.insecure;
    if (!o->insecure) {
      o->ephemeral_key.size = CL_KEY_BYTES;
      memcpy(o->ephemeral_key.bytes, eph, CL_KEY_BYTES);
      o->proof.size = CL_PROOF_BYTES;
      memcpy(o->proof.bytes, proof, CL_PROOF_BYTES);
    }
    __atomic_add_fetch(&w->srv->n_handshakes, 1, __ATOMIC_RELAXED);
    send_answer(j);
  }
  cl_session_wipe(&sess);
  sodium_memzero(eph, sizeof eph);
}

/* === REQUEST -> REPLY === */

/* Everything but the session: model, mode, cut, tensors, lengths. */
static cl_status check_request(job *j, const cleave_Header *h, int *model, cl_error *err) {
  cl_split_server_t *s = j->w->srv;
  cl_status st = check_model_and_mode(s, h, model, err);
  if (st != CL_OK) return st;
  const cl_srv_model *sm = &s->models[*model];
  if (h->cut > sm->n)
    return cl_error_set(err, CL_ERR_PROTOCOL, "cut %d is outside [0, %d]", (int)h->cut, sm->n);
  return cl_msg_check(&sm->sets[h->cut], h, j->payload_len, !s->o.insecure, err);
}

/* Session, seal: afterwards the payload is plaintext from this session's device. */
static cl_status open_request(job *j, const cleave_Header *h, int model, cl_error *err) {
  cl_split_server_t *s = j->w->srv;
  cl_status st = cl_sessions_acquire(&s->sessions, h->session.bytes, j->identity, j->identity_len,
                                     &j->session, err);
  if (st != CL_OK) return st;
  if (j->session->model != model)
    return cl_error_set(err, CL_ERR_PROTOCOL, "the session was opened for another model");
  int64_t now = cl_transport_now_ms();
  if (s->o.insecure) {
    cl_sessions_touch(&s->sessions, j->session, now);
    return CL_OK;
  }
  size_t body = j->payload_len - CL_TAG_BYTES;   /* checked: payload_len includes the tag */
  return cl_sessions_open_msg(&s->sessions, j->session, h->seq, j->hdr, j->hdr_len, j->payload,
                              body, j->payload + body, now, err);
}

/* The reply's codec: lossless, with the request's shuffle and LZ4 choices. */
static cl_codec reply_codec(const cleave_Header *h) {
  cl_codec c = {.kind = CL_CODEC_RAW, .shuffle = 0, .lz4 = 1};
  if (h->tensors_count > 0) {
    c.shuffle = h->tensors[0].shuffle;
    c.lz4 = h->tensors[0].lz4;
  }
  return c;
}

/* Decode, run [cut, n), encode and seal the reply into w->out / w->reply. t0: when the request's
 * open began (worker_decode_us is open + decode, as docs/PROTOCOL.md says). */
static cl_status compute(job *j, const cleave_Header *h, int model, uint64_t t0, size_t *hdr_len,
                         size_t *reply_len, cl_error *err) {
  cl_srv_worker *w = j->w;
  const cl_srv_model *sm = &w->srv->models[model];
  cl_exec_t *ex = w->ex[model];
  const cl_msg_set *in = &sm->sets[h->cut], *out = &sm->sets[sm->n];
  void *dst[CL_FRAME_MAX_TENSORS];
  const void *src[CL_FRAME_MAX_TENSORS];
  for (int i = 0; i < in->count; i++) dst[i] = cl_exec_buffer(ex, in->t[i].value, NULL);
  for (int i = 0; i < out->count; i++) src[i] = cl_exec_buffer(ex, out->t[i].value, NULL);
  cl_status st = cl_msg_decode(in, h, j->payload, dst, w->scratch, err);
  uint64_t t1 = cl_transport_now_ns();
  if (st == CL_OK) st = cl_exec_run(ex, (int)h->cut, sm->n, err);
  uint64_t t2 = cl_transport_now_ns();
  cleave_Header *o = &w->out;
  cl_frame_init(o, cleave_MsgType_MSG_REPLY);
  cl_codec rc = reply_codec(h);
  size_t body = 0;
  if (st == CL_OK)
    st = cl_msg_encode(out, &rc, src, o, w->reply, w->reply_cap, &body, w->scratch, err);
  uint64_t t3 = cl_transport_now_ns();
  if (st != CL_OK) return st;
  o->session = h->session;
  o->request_id = h->request_id;
  o->model_hash = h->model_hash;
  o->cut = h->cut;
  o->worker_decode_us = (t1 - t0) / 1000;
  o->worker_compute_us = (t2 - t1) / 1000;
  o->worker_encode_us = (t3 - t2) / 1000;
  return cl_msg_seal(w->srv->o.insecure ? NULL : &j->session->s, o, w->hdr, sizeof w->hdr,
                     hdr_len, w->reply, body, reply_len, err);
}

static void serve_request(job *j, const cleave_Header *h) {
  cl_error err = {0};
  int model = -1;
  size_t hdr_len = 0, reply_len = 0;
  cl_status st = check_request(j, h, &model, &err);
  uint64_t t_open = cl_transport_now_ns();
  if (st == CL_OK) st = open_request(j, h, model, &err);
  if (st == CL_OK) st = compute(j, h, model, t_open, &hdr_len, &reply_len, &err);
  if (st != CL_OK) {
    refuse(j, h, &err);
  } else {
    __atomic_add_fetch(&j->w->srv->n_requests, 1, __ATOMIC_RELAXED);
    send_frames(j, cleave_MsgType_MSG_REPLY, hdr_len, j->w->reply, reply_len, j->w->reply_cap);
  }
  cl_sessions_release(&j->w->srv->sessions, j->session);
  j->session = NULL;
}

/* === BYE === */

/* Closes the session once its BYE authenticates. No answer: the device is leaving. */
static void serve_bye(job *j, const cleave_Header *h) {
  cl_split_server_t *s = j->w->srv;
  cl_error err = {0};
  cl_status st = h->insecure != (s->o.insecure != 0)
                     ? cl_error_set(&err, CL_ERR_AUTH, "BYE of the wrong mode (insecure or not)")
                     : h->payload_bytes != j->payload_len
                     ? cl_error_set(&err, CL_ERR_PROTOCOL, "BYE payload of %zu bytes", j->payload_len)
                     : cl_sessions_acquire(&s->sessions, h->session.bytes, j->identity,
                                           j->identity_len, &j->session, &err);
  if (st == CL_OK && !s->o.insecure)
    st = cl_sessions_open_msg(&s->sessions, j->session, h->seq, j->hdr, j->hdr_len, j->payload, 0,
                              j->payload, cl_transport_now_ms(), &err);
  if (st == CL_OK) cl_sessions_close(&s->sessions, j->session);
  cl_sessions_release(&s->sessions, j->session);
  j->session = NULL;
  if (st != CL_OK) refuse(j, h, &err);
  else (void)say_ready(j->w);
}

/* === The worker thread === */

static void serve(cl_srv_worker *w, zmq_msg_t *parts) {
  job j = {.w = w};
  j.identity = zmq_msg_data(&parts[0]);
  j.identity_len = zmq_msg_size(&parts[0]);
  j.hdr = zmq_msg_data(&parts[1]);
  j.hdr_len = zmq_msg_size(&parts[1]);
  j.payload = zmq_msg_data(&parts[2]);
  j.payload_len = zmq_msg_size(&parts[2]);
  cl_error err = {0};
  cleave_Header *h = &w->in;
  char tbuf[16];
  cl_status st = cl_frame_decode(j.hdr, j.hdr_len, h, &err);
  if (st != CL_OK) {   /* decoded but malformed: its request id (if any) can still be named */
    refuse(&j, st == CL_ERR_PROTOCOL ? h : NULL, &err);
  } else if (h->type == cleave_MsgType_MSG_HELLO) {
    serve_hello(&j, h);
  } else if (h->type == cleave_MsgType_MSG_REQUEST) {
    serve_request(&j, h);
  } else if (h->type == cleave_MsgType_MSG_BYE) {
    serve_bye(&j, h);
  } else {
    cl_error_set(&err, CL_ERR_PROTOCOL, "unexpected %s (a device sends HELLO, REQUEST or BYE)",
                 cl_frame_type_name((int)h->type, tbuf, sizeof tbuf));
    refuse(&j, h, &err);
  }
}

void *cl_srv_worker_main(void *arg) {
  cl_srv_worker *w = arg;
  w->sock = zmq_socket(w->srv->ctx, ZMQ_DEALER);
  uint8_t id[2] = {'w', (uint8_t)w->index};
  int linger = 0;
  if (!w->sock) return NULL;
  zmq_setsockopt(w->sock, ZMQ_ROUTING_ID, id, sizeof id);
  zmq_setsockopt(w->sock, ZMQ_LINGER, &linger, sizeof linger);
  if (zmq_connect(w->sock, w->srv->inproc) != 0 || say(w, CL_SRV_READY) != 0) {
    zmq_close(w->sock);
    return NULL;
  }
  for (;;) {
    zmq_msg_t parts[3];
    int n = 0;
    if (cl_transport_recv(w->sock, parts, 3, &n, 0, NULL) != CL_OK) break;   /* ETERM */
    int stop = n == 1 && zmq_msg_size(&parts[0]) == 1 &&
               ((const char *)zmq_msg_data(&parts[0]))[0] == CL_SRV_STOP[0];
    if (n == 3) serve(w, parts);
    cl_transport_close(parts, n < 3 ? n : 3);
    if (stop) break;
  }
  (void)say(w, CL_SRV_BYE);
  zmq_close(w->sock);
  return NULL;
}
