/* cleave: the split client's connection: the DEALER socket, the link watch (ZeroMQ heartbeats and
 * a socket monitor for disconnects), the HELLO/WELCOME handshake, and reconnection after the ZeroMQ
 * guide's Lazy Pirate (a fresh socket after a silence) and Paranoid Pirate (heartbeats) patterns.
 * State and design: wire/client_internal.h. */
#include <assert.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "wire/client_internal.h"
#include "wire/transport.h"

#define RETRY_AFTER_REFUSAL_MS 1000   /* a refused handshake is tried again after this */

/* === Sockets === */

static cl_status make_monitor(cl_split_client_t *c, cl_error *err) {
  char ep[96];
  snprintf(ep, sizeof ep, "inproc://cleave-client-mon-%p-%u", (void *)c, c->generation);
  if (zmq_socket_monitor(c->sock, ep, ZMQ_EVENT_DISCONNECTED) != 0)
    return cl_error_set(err, CL_ERR_IO, "ZeroMQ monitor: %s", zmq_strerror(zmq_errno()));
  c->mon = zmq_socket(c->ctx, ZMQ_PAIR);
  int linger = 0;
  if (!c->mon || zmq_setsockopt(c->mon, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
      zmq_connect(c->mon, ep) != 0)
    return cl_error_set(err, CL_ERR_IO, "ZeroMQ monitor: %s", zmq_strerror(zmq_errno()));
  return CL_OK;
}

static cl_status set_heartbeat(cl_split_client_t *c, cl_error *err) {
  if (c->o.heartbeat_ms < 0) return CL_OK;
  int ivl = c->o.heartbeat_ms, timeout = 3 * c->o.heartbeat_ms;
  if (zmq_setsockopt(c->sock, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl) != 0 ||
      zmq_setsockopt(c->sock, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout) != 0 ||
      zmq_setsockopt(c->sock, ZMQ_HEARTBEAT_TTL, &timeout, sizeof timeout) != 0)
    return cl_error_set(err, CL_ERR_IO, "ZeroMQ heartbeats: %s", zmq_strerror(zmq_errno()));
  return CL_OK;
}

cl_status cl_client_socket(cl_split_client_t *c, cl_error *err) {
  c->generation++;
  c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
  if (!c->sock) return cl_error_set(err, CL_ERR_IO, "ZeroMQ: %s", zmq_strerror(zmq_errno()));
  uint8_t id[16];   /* stable across ZeroMQ's own reconnects; a new one per socket */
  randombytes_buf(id, sizeof id);
  id[0] = 'd';      /* routing ids must not start with 0 */
  zmq_setsockopt(c->sock, ZMQ_ROUTING_ID, id, sizeof id);
  size_t reply_max = cl_msg_payload_bound_any(&c->rep);
  int64_t max_msg = (int64_t)(reply_max > CL_FRAME_MAX_HEADER ? reply_max : CL_FRAME_MAX_HEADER);
  cl_transport_limits l = {c->o.queue, max_msg, 0, c->o.timeout_ms};
  cl_status st = cl_transport_limit(c->sock, &l, err);
  if (st == CL_OK && c->o.reconnect) st = set_heartbeat(c, err);
  if (st == CL_OK && c->o.reconnect) st = make_monitor(c, err);
  if (st == CL_OK && zmq_connect(c->sock, c->o.endpoint) != 0)
    st = cl_error_set(err, CL_ERR_ARG, "cannot connect to '%s': %s", c->o.endpoint,
                      zmq_strerror(zmq_errno()));
  c->last_heard_ns = cl_transport_now_ns();
  return st;
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

void cl_client_close_socket(cl_split_client_t *c) {
  if (c->open && c->sock && c->link == LINK_UP) send_bye(c);
  c->open = 0;
  if (c->mon) {
    zmq_socket_monitor(c->sock, NULL, 0);
    zmq_close(c->mon);
    c->mon = NULL;
  }
  if (c->sock) zmq_close(c->sock);        /* unsent requests are dropped (a BYE gets 200 ms) */
  c->sock = NULL;
  cl_session_wipe(&c->sess);
  sodium_memzero(&c->hs, sizeof c->hs);
}

/* === Receiving one message === */

int cl_client_link_dropped(cl_split_client_t *c) {
  int dropped = 0;
  while (c->mon) {
    zmq_msg_t parts[2];
    int n = 0;
    if (cl_transport_recv(c->mon, parts, 2, &n, ZMQ_DONTWAIT, NULL) != CL_OK) break;
    if (zmq_msg_size(&parts[0]) >= 2) {
      uint16_t ev;
      memcpy(&ev, zmq_msg_data(&parts[0]), sizeof ev);
      dropped |= ev == ZMQ_EVENT_DISCONNECTED;
    }
    cl_transport_close(parts, n < 2 ? n : 2);
  }
  return dropped;
}

cl_status cl_client_wait_message(cl_split_client_t *c, uint64_t deadline_ns, zmq_msg_t parts[2],
                                 int *dropped, cl_error *err) {
  if (dropped) *dropped = 0;
  for (;;) {
    uint64_t now = cl_transport_now_ns();
    if (now >= deadline_ns) return cl_error_set(err, CL_ERR_TIMEOUT, "timed out");
    zmq_pollitem_t items[2] = {{c->sock, 0, ZMQ_POLLIN, 0}, {c->mon, 0, ZMQ_POLLIN, 0}};
    long ms = (long)((deadline_ns - now + 999999) / 1000000);
    int rc = zmq_poll(items, c->mon && dropped ? 2 : 1, ms);
    if (rc < 0 && zmq_errno() == EINTR) continue;
    if (rc < 0) return cl_error_set(err, CL_ERR_IO, "ZeroMQ poll: %s", zmq_strerror(zmq_errno()));
    if (rc == 0) continue;
    if (dropped && items[1].revents & ZMQ_POLLIN && cl_client_link_dropped(c)) {
      *dropped = 1;
      return cl_error_set(err, CL_ERR_CLOSED, "the connection to the edge dropped");
    }
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
    int n = 0;
    cl_status st = cl_transport_recv(c->sock, parts, 2, &n, ZMQ_DONTWAIT, err);
    if (st == CL_ERR_TIMEOUT) continue;
    if (st != CL_OK) return st;
    c->last_heard_ns = cl_transport_now_ns();
    if (n == 2) return CL_OK;
    cl_transport_close(parts, n < 2 ? n : 2);
    return cl_error_set(err, CL_ERR_PROTOCOL, "message of %d frames from the edge (2 expected)", n);
  }
}

cl_status cl_client_refusal(const cleave_Header *h, const char *what, cl_error *err) {
  char reason[sizeof h->error];
  cl_frame_printable(h->error, reason, sizeof reason);
  cl_status code = h->error_code > CL_OK && h->error_code <= CL_ERR_CLOSED
                       ? (cl_status)h->error_code : CL_ERR_PROTOCOL;
  return cl_error_set(err, code, "the edge refused %s: %s", what, reason);
}

/* === Handshake === */

static cl_status send_hello(cl_split_client_t *c, cl_error *err) {
  cleave_Header *h = &c->h;
  sodium_memzero(&c->hs, sizeof c->hs);
  cl_frame_init(h, cleave_MsgType_MSG_HELLO);
  h->model_hash.size = CL_FRAME_HASH_BYTES;
  memcpy(h->model_hash.bytes, cl_model_hash(c->m), CL_FRAME_HASH_BYTES);
  h->insecure = c->o.insecure != 0;
  if (!c->o.insecure) {
    cl_status st = cl_handshake_hello(&c->hs, &c->key, c->edge_pk, h->ephemeral_key.bytes,
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
  return cl_transport_send(c->sock, bufs, lens, 2, ZMQ_DONTWAIT, err);
}

static cl_status check_welcome(cl_split_client_t *c, const cleave_Header *h, size_t payload_len,
                               cl_error *err) {
  char tbuf[16];
  if (h->type == cleave_MsgType_MSG_ERROR) return cl_client_refusal(h, "the handshake", err);
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
  cl_status st = cl_handshake_finish(&c->hs, h->ephemeral_key.bytes, h->proof.bytes, &c->sess, err);
  if (st == CL_OK && sodium_memcmp(c->sess.id, h->session.bytes, CL_SESSION_ID_BYTES) != 0)
    st = cl_error_set(err, CL_ERR_PROTOCOL, "WELCOME names another session id");
  return st;
}

/* The session is open: requests waiting for one go out. */
static void link_up(cl_split_client_t *c) {
  sodium_memzero(&c->hs, sizeof c->hs);
  c->link = LINK_UP;
  c->open = 1;
  c->stats.handshakes++;
  for (int i = 0; i < c->o.max_inflight; i++)
    if (c->slots[i].busy && c->slots[i].resend && c->slots[i].failed == CL_OK)
      cl_client_resend(c, &c->slots[i]);
}

/* Starts an attempt: a fresh socket, a HELLO on it (queued by ZeroMQ until the edge answers). */
static void start_attempt(cl_split_client_t *c) {
  cl_client_close_socket(c);
  cl_error e = {0};
  cl_status st = cl_client_socket(c, &e);
  if (st == CL_OK) st = send_hello(c, &e);
  uint64_t now = cl_transport_now_ns();
  if (st != CL_OK) {
    c->link = LINK_DOWN;
    c->next_try_ns = now + (uint64_t)RETRY_AFTER_REFUSAL_MS * 1000000u;
    return;
  }
  c->link = LINK_HANDSHAKE;
  c->hs_deadline_ns = now + (uint64_t)c->o.timeout_ms * 1000000u;
}

void cl_client_link_answer(cl_split_client_t *c, size_t payload_len) {
  cl_error e = {0};
  if (check_welcome(c, &c->h, payload_len, &e) == CL_OK) {
    link_up(c);
    return;
  }
  cl_session_wipe(&c->sess);
  c->link = LINK_DOWN;   /* refused (say, a session limit): try again a little later */
  c->next_try_ns = cl_transport_now_ns() + (uint64_t)RETRY_AFTER_REFUSAL_MS * 1000000u;
}

void cl_client_link_lost(cl_split_client_t *c, const char *why) {
  (void)why;
  c->stats.links_lost++;
  for (int i = 0; i < c->o.max_inflight; i++) {
    cl_client_slot *s = &c->slots[i];
    if (!s->busy || s->failed != CL_OK) continue;
    if (s->tries <= c->o.retries) s->resend = 1;
    else cl_client_fail_slot(c, s, CL_ERR_CLOSED, CL_SPLIT_GONE);
  }
  start_attempt(c);   /* a BYE on the old session first (best effort: an edge that was only slow
                       * frees it at once) */
}

/* Reads whatever waits on the socket during a handshake (the WELCOME; anything else is from an
 * older session: dropped). */
static void read_answers(cl_split_client_t *c) {
  while (c->link == LINK_HANDSHAKE) {
    zmq_msg_t parts[2];
    int n = 0;
    if (cl_transport_recv(c->sock, parts, 2, &n, ZMQ_DONTWAIT, NULL) != CL_OK) return;
    c->last_heard_ns = cl_transport_now_ns();
    cl_error e = {0};
    if (n == 2 && cl_frame_decode(zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), &c->h, &e) ==
                      CL_OK &&
        (c->h.type == cleave_MsgType_MSG_WELCOME ||
         (c->h.type == cleave_MsgType_MSG_ERROR && c->h.request_id == 0)))
      cl_client_link_answer(c, zmq_msg_size(&parts[1]));
    else
      c->stats.stale++;
    cl_transport_close(parts, n < 2 ? n : 2);
  }
}

void cl_client_link_pump(cl_split_client_t *c) {
  if (!c->o.reconnect) return;
  uint64_t now = cl_transport_now_ns();
  if (c->link == LINK_UP && cl_client_link_dropped(c)) cl_client_link_lost(c, "disconnected");
  if (c->link == LINK_HANDSHAKE) read_answers(c);
  if (c->link == LINK_HANDSHAKE && now >= c->hs_deadline_ns) start_attempt(c);
  if (c->link == LINK_DOWN && now >= c->next_try_ns) start_attempt(c);
}

cl_status cl_client_first_handshake(cl_split_client_t *c, cl_error *err) {
  cl_status st = send_hello(c, err);
  if (st != CL_OK) return st;
  c->link = LINK_HANDSHAKE;
  c->hs_deadline_ns = cl_transport_now_ns() + (uint64_t)c->o.timeout_ms * 1000000u;
  zmq_msg_t parts[2];
  cl_error e = {0};
  st = cl_client_wait_message(c, c->hs_deadline_ns, parts, NULL, &e);
  if (st == CL_ERR_TIMEOUT) {
    if (c->o.reconnect) return CL_OK;   /* the edge is not there (yet): keep trying */
    return cl_error_set(err, st, "no answer from the edge at '%s' within %d ms", c->o.endpoint,
                        c->o.timeout_ms);
  }
  if (st != CL_OK) return cl_error_set(err, st, "handshake: %s", e.msg);
  st = cl_frame_decode(zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), &c->h, err);
  if (st == CL_OK) st = check_welcome(c, &c->h, zmq_msg_size(&parts[1]), &e);
  cl_transport_close(parts, 2);
  if (st == CL_OK) link_up(c);
  sodium_memzero(&c->hs, sizeof c->hs);
  if (st == CL_ERR_CLOSED && c->o.reconnect) {   /* a broker with no worker yet: keep trying */
    c->link = LINK_DOWN;
    c->next_try_ns = cl_transport_now_ns() + (uint64_t)RETRY_AFTER_REFUSAL_MS * 1000000u;
    return CL_OK;
  }
  return st == CL_OK ? CL_OK : cl_error_set(err, st, "%s", e.msg);
}

/* === Public: readiness and counters === */

int cl_split_client_ready(cl_split_client_t *c) {
  assert(c != NULL);
  cl_client_link_pump(c);
  return c->link == LINK_UP;
}

int cl_split_client_wait_ready(cl_split_client_t *c, int timeout_ms) {
  assert(c != NULL);
  uint64_t end = cl_transport_now_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000u;
  for (;;) {
    if (cl_split_client_ready(c)) return 1;
    uint64_t now = cl_transport_now_ns();
    if (now >= end) return 0;
    zmq_pollitem_t item = {c->sock, 0, ZMQ_POLLIN, 0};
    long ms = (long)((end - now) / 1000000u);
    (void)zmq_poll(&item, c->sock ? 1 : 0, ms < 10 ? ms : 10);
  }
}

void cl_split_client_stats_get(const cl_split_client_t *c, cl_split_client_stats *st) {
  assert(c != NULL && st != NULL);
  *st = c->stats;
}
