/* cleave: ZeroMQ plumbing: socket limits, whole-message receive, copy and zero-copy sends. */
#include "wire/transport.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <time.h>

/* === Options === */

static cl_status set_int(void *sock, int opt, int v, const char *name, cl_error *err) {
  if (zmq_setsockopt(sock, opt, &v, sizeof v) == 0) return CL_OK;
  return cl_error_set(err, CL_ERR_IO, "ZeroMQ refused %s=%d: %s", name, v, zmq_strerror(zmq_errno()));
}

cl_status cl_transport_limit(void *sock, const cl_transport_limits *l, cl_error *err) {
  assert(sock != NULL && l != NULL);
  cl_status s = set_int(sock, ZMQ_SNDHWM, l->hwm, "ZMQ_SNDHWM", err);
  if (s == CL_OK) s = set_int(sock, ZMQ_RCVHWM, l->hwm, "ZMQ_RCVHWM", err);
  if (s == CL_OK) s = set_int(sock, ZMQ_LINGER, l->linger_ms, "ZMQ_LINGER", err);
  if (s == CL_OK) s = set_int(sock, ZMQ_SNDTIMEO, l->sndtimeo_ms, "ZMQ_SNDTIMEO", err);
  if (s == CL_OK && zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &l->max_msg, sizeof l->max_msg) != 0)
    s = cl_error_set(err, CL_ERR_IO, "ZeroMQ refused ZMQ_MAXMSGSIZE: %s", zmq_strerror(zmq_errno()));
  return s;
}

/* === Errors === */

static cl_status zmq_failure(const char *what, cl_error *err) {
  int e = zmq_errno();
  if (e == EAGAIN) return cl_error_set(err, CL_ERR_TIMEOUT, "%s: timed out (queue full)", what);
  if (e == ETERM || e == EHOSTUNREACH || e == ENOTSOCK)
    return cl_error_set(err, CL_ERR_CLOSED, "%s: %s", what, zmq_strerror(e));
  return cl_error_set(err, CL_ERR_IO, "%s: %s", what, zmq_strerror(e));
}

/* === Receiving === */

void cl_transport_close(zmq_msg_t *parts, int n) {
  for (int i = 0; i < n; i++) zmq_msg_close(&parts[i]);
}

/* Receives into m, retrying on EINTR only when blocking parts of a started message. */
static int recv_part(void *sock, zmq_msg_t *m, int flags) {
  for (;;) {
    int rc = zmq_msg_recv(m, sock, flags);
    if (rc >= 0 || zmq_errno() != EINTR || flags & ZMQ_DONTWAIT) return rc;
  }
}

static int more(const zmq_msg_t *m) { return zmq_msg_more((zmq_msg_t *)m); }

cl_status cl_transport_recv(void *sock, zmq_msg_t *parts, int max, int *n, int flags,
                            cl_error *err) {
  assert(sock != NULL && parts != NULL && max >= 1 && n != NULL);
  *n = 0;
  zmq_msg_init(&parts[0]);
  if (recv_part(sock, &parts[0], flags) < 0) {
    zmq_msg_close(&parts[0]);
    return zmq_failure("receive", err);
  }
  int count = 1, kept = 1;
  int go_on = more(&parts[0]);
  zmq_msg_t extra;
  while (go_on) {              /* the rest of a message is already here: never blocks long */
    zmq_msg_t *m = kept < max ? &parts[kept] : &extra;
    zmq_msg_init(m);
    if (recv_part(sock, m, 0) < 0) {
      zmq_msg_close(m);
      cl_transport_close(parts, kept);
      return zmq_failure("receive", err);
    }
    go_on = more(m);
    count++;
    if (kept < max) kept++;
    else zmq_msg_close(m);
  }
  *n = count;
  return CL_OK;
}

/* === Sending === */

cl_status cl_transport_send(void *sock, const void *const *bufs, const size_t *lens, int n, int flags,
                            cl_error *err) {
  assert(sock != NULL && bufs != NULL && lens != NULL && n >= 1);
  for (int i = 0; i < n; i++) {
    int f = flags | (i + 1 < n ? ZMQ_SNDMORE : 0);
    if (zmq_send(sock, bufs[i], lens[i], f) < 0) return zmq_failure("send", err);
  }
  return CL_OK;
}

cl_status cl_transport_send_zc(void *sock, const void *hdr, size_t hdr_len, void *payload,
                               size_t payload_len, zmq_free_fn *release, void *hint, int flags,
                               cl_error *err) {
  assert(sock != NULL && hdr != NULL && release != NULL);
  zmq_msg_t m;
  if (zmq_msg_init_data(&m, payload, payload_len, release, hint) != 0) {
    release(payload, hint);
    return zmq_failure("send", err);
  }
  if (zmq_send(sock, hdr, hdr_len, flags | ZMQ_SNDMORE) < 0) {
    zmq_msg_close(&m);          /* calls release */
    return zmq_failure("send", err);
  }
  if (zmq_msg_send(&m, sock, flags) < 0) {
    zmq_msg_close(&m);
    return zmq_failure("send", err);
  }
  return CL_OK;
}

cl_status cl_transport_forward(void *sock, zmq_msg_t *parts, int n, int flags, cl_error *err) {
  assert(sock != NULL && parts != NULL && n >= 1);
  for (int i = 0; i < n; i++) {
    int f = flags | (i + 1 < n ? ZMQ_SNDMORE : 0);
    if (zmq_msg_send(&parts[i], sock, f) < 0) {
      cl_status s = zmq_failure("forward", err);
      for (int j = i; j < n; j++) {   /* leave them closed but closable again */
        zmq_msg_close(&parts[j]);
        zmq_msg_init(&parts[j]);
      }
      return s;
    }
  }
  return CL_OK;
}

/* === Clock === */

uint64_t cl_transport_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t cl_transport_now_ms(void) { return (int64_t)(cl_transport_now_ns() / 1000000u); }
