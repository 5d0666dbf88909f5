/* cleave: the split server: creation, the front thread (ROUTER <-> workers), shutdown, logging.
 * The workers' request handling is server_worker.c; the design is in wire/split_internal.h. */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/split_internal.h"
#include "wire/transport.h"

#define FRONT_LINGER_MS 500     /* replies still queued at close get this long */
#define POLL_MS 100             /* the stop flag is seen within this */
#define SWEEP_MS 1000           /* session expiry runs this often */
#define STOP_WAIT_MS 10000      /* workers finish their request within this at shutdown */

/* === Logging and counters === */

void cl_srv_log(struct cl_split_server *s, const char *fmt, ...) {
  char line[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&s->log_lock);
  if (s->o.log) s->o.log(s->o.log_ctx, line);
  else fprintf(stderr, "cleave: %s\n", line);
  pthread_mutex_unlock(&s->log_lock);
}

void cl_srv_refused(struct cl_split_server *s, const char *what, const uint8_t *identity,
                    size_t identity_len, const char *reason) {
  char hex[2 * 8 + 1], text[CL_ERROR_MSG_MAX];
  size_t n = identity_len < 8 ? identity_len : 8;
  cl_frame_printable(reason, text, sizeof text);
  __atomic_add_fetch(&s->n_refused, 1, __ATOMIC_RELAXED);
  cl_srv_log(s, "refused %s from connection %s: %s", what, cl_frame_hex(identity, n, hex), text);
}

void cl_split_server_stats_get(const cl_split_server_t *s, cl_split_server_stats *st) {
  assert(s != NULL && st != NULL);
  st->requests = __atomic_load_n(&s->n_requests, __ATOMIC_RELAXED);
  st->refused = __atomic_load_n(&s->n_refused, __ATOMIC_RELAXED);
  st->handshakes = __atomic_load_n(&s->n_handshakes, __ATOMIC_RELAXED);
  st->dropped = __atomic_load_n(&s->n_dropped, __ATOMIC_RELAXED);
  st->sessions = (uint64_t)cl_sessions_live((cl_sessions *)&s->sessions);
}

void cl_split_server_set_hook(cl_split_server_t *s, cl_split_hook fn, void *ctx) {
  s->hook = fn;
  s->hook_ctx = ctx;
}

const char *cl_split_server_endpoint(const cl_split_server_t *s) { return s->endpoint; }

void cl_split_server_stop(cl_split_server_t *s) { __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE); }

/* === Creation: models, workers, sockets === */

static cl_status model_prepare(cl_srv_model *sm, const cl_model_t *m, cl_error *err) {
  sm->m = m;
  sm->n = cl_model_node_count(m);
  sm->sets = calloc((size_t)sm->n + 1, sizeof *sm->sets);
  if (!sm->sets) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  for (int k = 0; k <= sm->n; k++) {
    cl_status st = cl_msg_set_init(m, k, &sm->sets[k], err);
    if (st != CL_OK) return st;
    size_t p = cl_msg_payload_bound_any(&sm->sets[k]), sc = cl_msg_scratch_bound_any(&sm->sets[k]);
    if (p > sm->max_request) sm->max_request = p;
    if (sc > sm->max_scratch) sm->max_scratch = sc;
  }
  sm->reply_cap = cl_msg_payload_bound_any(&sm->sets[sm->n]);
  return CL_OK;
}

static void model_release(cl_srv_model *sm) {
  for (int k = 0; sm->sets && k <= sm->n; k++) cl_msg_set_free(&sm->sets[k]);
  free(sm->sets);
  memset(sm, 0, sizeof *sm);
}

static cl_status worker_prepare(cl_split_server_t *s, cl_srv_worker *w, int index, cl_error *err) {
  w->srv = s;
  w->index = index;
  size_t scratch = 1, reply = 1;
  cl_exec_options eo = {.threads = s->o.compute_threads};
  for (int i = 0; i < s->n_models; i++) {
    cl_status st = cl_exec_create(s->models[i].m, &eo, &w->ex[i], err);
    if (st != CL_OK) return st;
    if (s->models[i].max_scratch > scratch) scratch = s->models[i].max_scratch;
    if (s->models[i].reply_cap > reply) reply = s->models[i].reply_cap;
  }
  w->scratch = malloc(scratch);
  w->reply = malloc(reply);
  w->reply_cap = reply;
  if (!w->scratch || !w->reply) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  return CL_OK;
}

static void worker_release(cl_srv_worker *w) {
  for (int i = 0; i < CL_SPLIT_MAX_MODELS; i++) cl_exec_free(&w->ex[i]);
  free(w->scratch);
  free(w->reply);
}

static cl_status apply_defaults(cl_split_server_options *o, int n_models, cl_error *err) {
  if (!o->endpoint && !o->broker) return cl_error_set(err, CL_ERR_ARG, "no endpoint to listen on");
  if (n_models < 1 || n_models > CL_SPLIT_MAX_MODELS)
    return cl_error_set(err, CL_ERR_ARG, "%d models (1 to %d)", n_models, CL_SPLIT_MAX_MODELS);
  if (!o->insecure && (!o->key || !o->allow))
    return cl_error_set(err, CL_ERR_ARG, "a key pair and an allow-list are required (or insecure)");
  if (o->workers == 0) o->workers = 2;
  if (o->compute_threads == 0) o->compute_threads = 1;
  if (o->max_sessions == 0) o->max_sessions = 1024;
  if (o->max_sessions_per_key == 0) o->max_sessions_per_key = 8;
  if (o->session_idle_ms == 0) o->session_idle_ms = 300000;
  if (o->queue == 0) o->queue = 64;
  if (o->workers < 1 || o->workers > CL_SPLIT_MAX_WORKERS || o->compute_threads < 1 ||
      o->max_sessions < 1 || o->max_sessions_per_key < 1 || o->session_idle_ms < 1 || o->queue < 1)
    return cl_error_set(err, CL_ERR_ARG, "server option out of range (workers 1..%d)",
                        CL_SPLIT_MAX_WORKERS);
  return CL_OK;
}

static cl_status bind_inproc(cl_split_server_t *s, cl_error *err) {
  snprintf(s->inproc, sizeof s->inproc, "inproc://cleave-split-%p", (void *)s);
  if (zmq_bind(s->back, s->inproc) != 0)
    return cl_error_set(err, CL_ERR_IO, "ZeroMQ inproc: %s", zmq_strerror(zmq_errno()));
  return CL_OK;
}

static cl_status bind_sockets(cl_split_server_t *s, cl_error *err) {
  int one = 1;
  s->ctx = zmq_ctx_new();
  s->front = s->ctx && !s->o.broker ? zmq_socket(s->ctx, ZMQ_ROUTER) : NULL;
  s->back = s->ctx ? zmq_socket(s->ctx, ZMQ_ROUTER) : NULL;
  if ((!s->front && !s->o.broker) || !s->back)
    return cl_error_set(err, CL_ERR_IO, "ZeroMQ: %s", zmq_strerror(zmq_errno()));
  cl_transport_limits fl = {s->o.queue, s->max_msg, FRONT_LINGER_MS, 0};
  cl_transport_limits bl = {4 * CL_SPLIT_MAX_WORKERS, -1, 0, -1};
  cl_status st = cl_transport_limit(s->back, &bl, err);
  zmq_setsockopt(s->back, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
  if (st == CL_OK) st = bind_inproc(s, err);
  if (st != CL_OK) return st;
  if (s->o.broker) return cl_srv_broker_connect(s, err);   /* a DEALER, connected */
  st = cl_transport_limit(s->front, &fl, err);
  if (st != CL_OK) return st;
  zmq_setsockopt(s->front, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
  if (zmq_bind(s->front, s->o.endpoint) != 0)
    return cl_error_set(err, CL_ERR_IO, "cannot listen on '%s': %s", s->o.endpoint,
                        zmq_strerror(zmq_errno()));
  size_t len = sizeof s->endpoint;
  if (zmq_getsockopt(s->front, ZMQ_LAST_ENDPOINT, s->endpoint, &len) != 0)
    snprintf(s->endpoint, sizeof s->endpoint, "%s", s->o.endpoint);
  return CL_OK;
}

static cl_status create_models(cl_split_server_t *s, const cl_model_t *const *models, cl_error *err) {
  size_t largest = CL_FRAME_MAX_HEADER;
  for (int i = 0; i < s->n_models; i++) {
    assert(models[i] != NULL);
    for (int j = 0; j < i; j++)
      if (memcmp(cl_model_hash(models[i]), cl_model_hash(models[j]), CL_FRAME_HASH_BYTES) == 0)
        return cl_error_set(err, CL_ERR_ARG, "models %d and %d are the same graph", j, i);
    cl_status st = model_prepare(&s->models[i], models[i], err);
    if (st != CL_OK) return st;
    if (s->models[i].max_request > largest) largest = s->models[i].max_request;
  }
  s->max_msg = (int64_t)largest;
  return CL_OK;
}

static cl_status start_workers(cl_split_server_t *s, cl_error *err) {
  s->w = calloc((size_t)s->o.workers, sizeof *s->w);
  if (!s->w) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  for (int i = 0; i < s->o.workers; i++) {
    cl_status st = worker_prepare(s, &s->w[i], i, err);
    if (st != CL_OK) return st;
  }
  for (int i = 0; i < s->o.workers; i++) {
    if (pthread_create(&s->w[i].thread, NULL, cl_srv_worker_main, &s->w[i]) != 0)
      return cl_error_set(err, CL_ERR_NOMEM, "cannot start worker thread %d", i);
    s->w[i].started = 1;
  }
  return CL_OK;
}

cl_status cl_split_server_create(const cl_model_t *const *models, int n_models,
                                 const cl_split_server_options *o, cl_split_server_t **out,
                                 cl_error *err) {
  assert(models != NULL && o != NULL && out != NULL);
  *out = NULL;
  cl_split_server_t *s = calloc(1, sizeof *s);
  if (!s) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  pthread_mutex_init(&s->log_lock, NULL);
  s->o = *o;
  s->n_models = n_models;
  cl_status st = apply_defaults(&s->o, n_models, err);
  if (st == CL_OK && !s->o.insecure) {
    s->key = *o->key;
    s->o.key = &s->key;
  }
  if (st == CL_OK) st = create_models(s, models, err);
  if (st == CL_OK)
    st = cl_sessions_init(&s->sessions, s->o.max_sessions, s->o.max_sessions_per_key,
                          s->o.session_idle_ms, err);
  if (st == CL_OK) st = bind_sockets(s, err);
  if (st == CL_OK) st = start_workers(s, err);
  if (st != CL_OK) {
    cl_split_server_free(&s);
    return st;
  }
  *out = s;
  return CL_OK;
}

/* === The front thread === */

/* Ready workers, a FIFO of indexes. */
typedef struct ready_queue {
  int idx[CL_SPLIT_MAX_WORKERS];
  int head, count;
} ready_queue;

static void ready_push(ready_queue *q, int i) {
  assert(q->count < CL_SPLIT_MAX_WORKERS);
  q->idx[(q->head + q->count++) % CL_SPLIT_MAX_WORKERS] = i;
}

static int ready_pop(ready_queue *q) {
  assert(q->count > 0);
  int i = q->idx[q->head];
  q->head = (q->head + 1) % CL_SPLIT_MAX_WORKERS;
  q->count--;
  return i;
}

/* Worker i's routing id. */
static void worker_id(int i, uint8_t id[2]) {
  id[0] = 'w';
  id[1] = (uint8_t)i;
}

/* A message from a worker: a control frame, or [identity, header, payload] for a device. */
static void from_worker(cl_split_server_t *s, ready_queue *q, int *byes) {
  zmq_msg_t parts[4];
  int n = 0;
  cl_error err = {0};
  if (cl_transport_recv(s->back, parts, 4, &n, ZMQ_DONTWAIT, &err) != CL_OK) return;
  int kept = n < 4 ? n : 4;
  const uint8_t *id = zmq_msg_data(&parts[0]);
  int w = zmq_msg_size(&parts[0]) == 2 && id[0] == 'w' && id[1] < s->o.workers ? id[1] : -1;
  assert(w >= 0);   /* only our workers connect to the inproc endpoint */
  if (n == 2) {
    const char *ctl = zmq_msg_data(&parts[1]);
    if (zmq_msg_size(&parts[1]) == 1 && ctl[0] == CL_SRV_READY[0]) ready_push(q, w);
    if (zmq_msg_size(&parts[1]) == 1 && ctl[0] == CL_SRV_BYE[0]) (*byes)++;
  } else if (n == 4) {
    if (cl_transport_forward(s->front, parts + 1, 3, ZMQ_DONTWAIT, &err) != CL_OK) {
      __atomic_add_fetch(&s->n_dropped, 1, __ATOMIC_RELAXED);
      cl_srv_log(s, "reply dropped: %s (device gone or its queue full)", err.msg);
    }
    ready_push(q, w);
  }
  cl_transport_close(parts, kept);
}

/* Answers a message that is not [header, payload] (the front's only own refusal). */
static void refuse_frames(cl_split_server_t *s, zmq_msg_t *identity, int frames) {
  char reason[96];
  snprintf(reason, sizeof reason, "message of %d frame%s (2 expected: header, payload)", frames,
           frames == 1 ? "" : "s");
  cl_srv_refused(s, "a message", zmq_msg_data(identity), zmq_msg_size(identity), reason);
  cleave_Header h;
  uint8_t buf[512];
  size_t len = 0;
  cl_frame_error(&h, CL_ERR_PROTOCOL, reason, 0, NULL);
  if (cl_frame_encode(&h, buf, sizeof buf, &len, NULL) != CL_OK) return;
  const void *bufs[3] = {zmq_msg_data(identity), buf, ""};
  size_t lens[3] = {zmq_msg_size(identity), len, 0};
  if (cl_transport_send(s->front, bufs, lens, 3, ZMQ_DONTWAIT, NULL) != CL_OK)
    __atomic_add_fetch(&s->n_dropped, 1, __ATOMIC_RELAXED);
}

/* A message from a device: to the next ready worker, as it came. */
static void from_device(cl_split_server_t *s, ready_queue *q) {
  zmq_msg_t parts[4];
  int n = 0;
  if (cl_transport_recv(s->front, parts + 1, 3, &n, ZMQ_DONTWAIT, NULL) != CL_OK) return;
  if (s->o.broker) s->broker_heard_ms = cl_transport_now_ms();
  if (n == 1 && s->o.broker) {   /* a control message from the broker */
    cl_srv_broker_control(s, &parts[1]);
    zmq_msg_close(&parts[1]);
    return;
  }
  if (n != 3) {
    refuse_frames(s, &parts[1], n - 1);
    cl_transport_close(parts + 1, n < 3 ? n : 3);
    return;
  }
  uint8_t id[2];
  worker_id(ready_pop(q), id);
  zmq_msg_init_size(&parts[0], 2);
  memcpy(zmq_msg_data(&parts[0]), id, 2);
  cl_error err = {0};
  if (cl_transport_forward(s->back, parts, 4, 0, &err) != CL_OK)
    cl_srv_log(s, "internal: a worker is unreachable: %s", err.msg);
}

/* Tells every worker to stop after its current request; forwards their last replies until all
 * said goodbye or the deadline passed. Returns 1 when all did. */
static int stop_workers(cl_split_server_t *s, ready_queue *q) {
  int byes = 0, started = 0;
  for (int i = 0; i < s->o.workers; i++) {
    if (!s->w[i].started) continue;
    started++;
    uint8_t id[2];
    worker_id(i, id);
    const void *bufs[2] = {id, CL_SRV_STOP};
    size_t lens[2] = {2, 1};
    if (cl_transport_send(s->back, bufs, lens, 2, 0, NULL) != CL_OK) byes++;   /* gone already */
  }
  int64_t deadline = cl_transport_now_ms() + STOP_WAIT_MS;
  zmq_pollitem_t item = {s->back, 0, ZMQ_POLLIN, 0};
  while (byes < started && cl_transport_now_ms() < deadline) {
    if (zmq_poll(&item, 1, POLL_MS) > 0) from_worker(s, q, &byes);
  }
  return byes >= started;
}

cl_status cl_split_server_run(cl_split_server_t *s, cl_error *err) {
  assert(s != NULL);
  ready_queue q = {0};
  int byes = 0;
  int64_t next_sweep = cl_transport_now_ms() + SWEEP_MS;
  zmq_pollitem_t items[2] = {{s->back, 0, ZMQ_POLLIN, 0}, {s->front, 0, ZMQ_POLLIN, 0}};
  cl_status st = CL_OK;
  while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
    items[1].socket = s->front;   /* broker mode connects again with a new socket */
    int rc = zmq_poll(items, q.count > 0 ? 2 : 1, POLL_MS);
    if (rc < 0 && zmq_errno() == EINTR) continue;
    if (rc < 0) {
      st = cl_error_set(err, CL_ERR_IO, "ZeroMQ poll: %s", zmq_strerror(zmq_errno()));
      break;
    }
    if (items[0].revents & ZMQ_POLLIN) from_worker(s, &q, &byes);
    if (q.count > 0 && items[1].revents & ZMQ_POLLIN) from_device(s, &q);
    int64_t now = cl_transport_now_ms();
    if (s->o.broker) cl_srv_broker_tick(s, q.count > 0, now);
    if (now >= next_sweep) {
      int gone = cl_sessions_expire(&s->sessions, now);
      if (gone) cl_srv_log(s, "%d idle session%s closed", gone, gone > 1 ? "s" : "");
      next_sweep = now + SWEEP_MS;
    }
  }
  if (s->o.broker) cl_srv_broker_bye(s);
  if (stop_workers(s, &q))
    for (int i = 0; i < s->o.workers; i++) s->w[i].started = 2;   /* exited: join only */
  return st;
}

/* === Freeing === */

void cl_split_server_free(cl_split_server_t **sp) {
  if (!sp || !*sp) return;
  cl_split_server_t *s = *sp;
  int all_gone = 1;
  for (int i = 0; s->w && i < s->o.workers; i++) all_gone &= s->w[i].started != 1;
  if (!all_gone && s->back) {
    ready_queue q = {0};
    all_gone = stop_workers(s, &q);
  }
  if (!all_gone && s->ctx) zmq_ctx_shutdown(s->ctx);   /* a stuck worker's recv returns ETERM */
  for (int i = 0; s->w && i < s->o.workers; i++)
    if (s->w[i].started) pthread_join(s->w[i].thread, NULL);
  if (s->front) zmq_close(s->front);
  if (s->back) zmq_close(s->back);
  if (s->ctx) zmq_ctx_term(s->ctx);
  for (int i = 0; s->w && i < s->o.workers; i++) worker_release(&s->w[i]);
  free(s->w);
  for (int i = 0; i < s->n_models; i++) model_release(&s->models[i]);
  cl_sessions_destroy(&s->sessions);
  cl_keys_wipe(&s->key);
  pthread_mutex_destroy(&s->log_lock);
  free(s);
  *sp = NULL;
}
