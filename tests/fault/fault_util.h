/* cleave fault tests: devices (threads of the test, each its own key, ZeroMQ context, client and
 * executor) that never lose a request: each request is split through the client (reconnect 1) or,
 * when the client has no session or the request fails, run locally from the input. Every output is
 * checked against the whole model's, and every request must settle exactly once. Processes
 * (cleave-edge, cleave-cloud) come from ../e2e/proc_util.h. Include from test files only. */
#ifndef CLEAVE_TESTS_FAULT_UTIL_H
#define CLEAVE_TESTS_FAULT_UTIL_H

#include <math.h>
#include <pthread.h>

#include "proc_util.h"
#include "split_harness.h"
#include "wire/transport.h"

#define FAULT_MAX_DEVICES 64
#define FAULT_TOL 1e-5
#define FAULT_MAX_REQUESTS 100000 /* per device, when running until stop */
#define FAULT_HIST 2400           /* latency histogram: 1% steps from 1 us */

/* What the devices share. */
typedef struct fault_shared {
  const cl_model_t *m;         /* the device side's model (read-only) */
  const cl_tensor *in;         /* the input of every request */
  cl_tensor expect;            /* the whole model's output 0 for it */
  int cut;
  char endpoint[128];
  uint8_t edge_pk[CL_KEY_BYTES];
  int deadline_ms, retries, heartbeat_ms, inflight;
  int requests;                /* per device; 0: until stop */
  double interval_s;           /* between a device's requests (0: back to back) */
  int stop;                    /* atomic: finish the request at hand and leave */
} fault_shared;

typedef struct fault_device {
  fault_shared *sh;
  int index;
  char key_path[PROC_PATH_MAX];
  pthread_t thread;
  /* results (read after join, or atomically while running) */
  int sent;                    /* requests made */
  int done;                    /* requests settled */
  int split, fallback, wrong;  /* split replies, local runs, wrong outputs */
  int settle_errors;           /* a request settled twice, or a reply for no request of ours */
  int by_failure[CL_SPLIT_LOCAL + 1];
  double *split_at;            /* sh->requests of them (NULL when running until stop): when
                                * each split reply came (proc_now_s), or 0 */
  cl_split_client_stats cst;
  uint32_t hist[FAULT_HIST];   /* latency of each request, submit to settled (atomic adds) */
  char first_error[CL_ERROR_MSG_MAX];
} fault_device;

/* Whole-model output 0 for in. */
static inline void fault_expect(const cl_model_t *m, const cl_tensor *in, cl_tensor *out) {
  cl_exec_t *ex = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_exec_create(m, NULL, &ex, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_exec_set_input(ex, 0, in, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_exec_run(ex, 0, cl_model_node_count(m), &err), CL_OK, "%s", err.msg);
  cl_tensor view;
  cl_exec_output(ex, 0, &view);
  cr_assert_eq(cl_tensor_alloc(out, "expect", view.dtype, view.rank, view.dims, &err), CL_OK);
  memcpy(out->data, view.data, view.nbytes);
  cl_exec_free(&ex);
}

/* The local run of one request: [0, n) from the input; output 0 compared. */
static inline int fault_local(fault_device *d, cl_exec_t *ex) {
  cl_error err = {0};
  int n = cl_model_node_count(d->sh->m);
  if (cl_exec_set_input(ex, 0, d->sh->in, &err) != CL_OK || cl_exec_run(ex, 0, n, &err) != CL_OK)
    return 0;
  cl_tensor view;
  cl_exec_output(ex, 0, &view);
  return rel_diff(&view, &d->sh->expect) <= FAULT_TOL;
}

static inline int fault_bucket(double seconds) {
  double us = seconds * 1e6;
  if (us <= 1) return 0;
  int b = (int)(log(us) / log(1.01));
  return b < FAULT_HIST ? b : FAULT_HIST - 1;
}

static inline void fault_latency(fault_device *d, double t0) {
  __atomic_add_fetch(&d->hist[fault_bucket(proc_now_s() - t0)], 1, __ATOMIC_RELAXED);
}

/* The latency (ms) below which a fraction q of the summed histograms lies (bucket upper edge). */
static inline double fault_quantile(const uint64_t *h, double q) {
  uint64_t total = 0, seen = 0;
  for (int b = 0; b < FAULT_HIST; b++) total += h[b];
  if (total == 0) return 0;
  uint64_t want = (uint64_t)ceil(q * (double)total);
  for (int b = 0; b < FAULT_HIST; b++) {
    seen += h[b];
    if (seen >= want && seen > 0) return pow(1.01, b + 1) / 1e3;
  }
  return pow(1.01, FAULT_HIST) / 1e3;
}

static inline void fault_note(fault_device *d, const cl_error *e) {
  if (!d->first_error[0]) snprintf(d->first_error, sizeof d->first_error, "%s", e->msg);
}

/* Waits for replies until request `id` settled (replies for others of ours are counted too). */
typedef struct fault_flight {
  uint64_t id[CL_SPLIT_MAX_INFLIGHT];
  double t[CL_SPLIT_MAX_INFLIGHT];   /* when each started (device compute included) */
  int index[CL_SPLIT_MAX_INFLIGHT];
  int n;
} fault_flight;

/* One receive: settles one request of flight f (split or, failed, local). 0, or -1 on a broken
 * promise (a reply for no request in flight). */
static inline int fault_receive_one(fault_device *d, cl_split_client_t *c, cl_exec_t *ex,
                                    cl_tensor *out, fault_flight *f) {
  cl_split_result res;
  cl_error e = {0};
  cl_status st = cl_split_client_receive(c, out, 1, &res, &e);
  if (res.request_id == 0) {   /* names no request: ours stay in flight */
    fault_note(d, &e);
    return 0;
  }
  int k = -1;
  for (int i = 0; i < f->n; i++)
    if (f->id[i] == res.request_id) k = i;
  if (k < 0) {
    d->settle_errors++;
    return -1;
  }
  int req = f->index[k];
  double t0 = f->t[k];
  if (st == CL_OK) {
    d->split++;
    if (d->split_at) d->split_at[req] = proc_now_s();
    if (rel_diff(out, &d->sh->expect) > FAULT_TOL) d->wrong++;
  } else {
    fault_note(d, &e);
    d->by_failure[res.failure]++;
    d->fallback++;
    if (!fault_local(d, ex)) d->wrong++;
  }
  fault_latency(d, t0);
  f->id[k] = f->id[--f->n];
  f->index[k] = f->index[f->n];
  f->t[k] = f->t[f->n];
  __atomic_add_fetch(&d->done, 1, __ATOMIC_RELAXED);
  return 0;
}

static inline cl_split_client_t *fault_connect(fault_device *d, void **zctx) {
  fault_shared *sh = d->sh;
  cl_keypair kp;
  cl_error err = {0};
  cr_assert_eq(cl_keys_load_secret(d->key_path, &kp, &err), CL_OK, "%s", err.msg);
  *zctx = zmq_ctx_new();
  cl_split_client_options o = {.endpoint = sh->endpoint, .cut = sh->cut, .key = &kp,
                               .edge_pk = sh->edge_pk, .max_inflight = sh->inflight,
                               .timeout_ms = 3000, .reconnect = 1,
                               .deadline_ms = sh->deadline_ms, .retries = sh->retries,
                               .heartbeat_ms = sh->heartbeat_ms, .zmq_context = *zctx};
  cl_split_client_t *c = NULL;
  cl_status st = cl_split_client_connect(sh->m, &o, &c, &err);
  cl_keys_wipe(&kp);
  cr_assert_eq(st, CL_OK, "device %d: %s", d->index, err.msg);
  return c;
}

static inline void *fault_device_main(void *arg) {
  fault_device *d = arg;
  fault_shared *sh = d->sh;
  void *zctx = NULL;
  cl_split_client_t *c = fault_connect(d, &zctx);
  cl_exec_t *ex = NULL;
  cl_tensor out;
  cl_error err = {0};
  cr_assert_eq(cl_exec_create(sh->m, NULL, &ex, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_split_outputs_alloc(sh->m, &out, 1, &err), CL_OK, "%s", err.msg);
  fault_flight f = {.n = 0};
  double t0 = proc_now_s();
  int total = sh->requests ? sh->requests : FAULT_MAX_REQUESTS, sent = 0;
  while ((sent < total && !__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) || f.n > 0) {
    int can_send = sent < total && !__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE) &&
                   f.n < sh->inflight && proc_now_s() >= t0 + sent * sh->interval_s;
    if (can_send) {
      int req = sent++;
      __atomic_add_fetch(&d->sent, 1, __ATOMIC_RELAXED);
      uint64_t id = 0;
      double t_req = proc_now_s();
      cl_error e = {0};
      if (cl_exec_set_input(ex, 0, sh->in, &e) == CL_OK && cl_exec_run(ex, 0, sh->cut, &e) == CL_OK &&
          cl_split_client_ready(c) && cl_split_client_submit(c, ex, &id, &e) == CL_OK) {
        f.id[f.n] = id;
        f.t[f.n] = t_req;
        f.index[f.n++] = req;
      } else {   /* no session now: this one runs here */
        d->fallback++;
        d->by_failure[CL_SPLIT_GONE]++;
        if (!fault_local(d, ex)) d->wrong++;
        fault_latency(d, t_req);
        __atomic_add_fetch(&d->done, 1, __ATOMIC_RELAXED);
      }
      continue;
    }
    if (f.n > 0 && fault_receive_one(d, c, ex, &out, &f) != 0) break;
    if (f.n == 0 && sent < total) proc_sleep_ms(2);
  }
  cl_split_client_stats_get(c, &d->cst);
  cl_split_client_free(&c);
  zmq_ctx_term(zctx);
  cl_exec_free(&ex);
  cl_tensor_release(&out);
  return NULL;
}

/* Keys for n devices in dir (dev0..), their allow-list dir/devices.pub, the edge's dir/edge.*. */
static inline void fault_keys(const char *dir, fault_shared *sh, fault_device *d, int n) {
  char path[PROC_PATH_MAX], allow[PROC_PATH_MAX];
  proc_keygen(dir, "edge");
  snprintf(allow, sizeof allow, "%s/devices.pub", dir);
  for (int i = 0; i < n; i++) {
    char name[16];
    snprintf(name, sizeof name, "dev%d", i);
    proc_keygen(dir, name);
    snprintf(path, sizeof path, "%s/%s.pub", dir, name);
    proc_append_file(allow, path);
    snprintf(d[i].key_path, sizeof d[i].key_path, "%s/%s.key", dir, name);
  }
  snprintf(path, sizeof path, "%s/edge.pub", dir);
  cl_error err = {0};
  cr_assert_eq(cl_keys_load_public(path, sh->edge_pk, &err), CL_OK, "%s", err.msg);
}

/* What the fault suites set up alike: the model and its real input, the whole model's output in
 * sh->expect, sh cut in the middle, a scratch directory with keys for n devices (fault_keys), the
 * model's path and the input shape for cleave-edge --input-shape. */
typedef struct fault_fixture {
  cl_model_t *model;
  cl_tensor input;
  char dir[PROC_DIR_MAX], model_path[PROC_PATH_MAX], shape_arg[64];
} fault_fixture;

static inline void fault_fixture_up(fault_fixture *fx, const char *name, fault_shared *sh,
                                    fault_device *d, int n) {
  fx->model = load_case(name, "real", &fx->input);
  memset(sh, 0, sizeof *sh);
  memset(d, 0, (size_t)n * sizeof *d);
  sh->m = fx->model;
  sh->in = &fx->input;
  sh->cut = cl_model_node_count(fx->model) / 2;
  fault_expect(fx->model, &fx->input, &sh->expect);
  proc_mkdtemp(fx->dir);
  fault_keys(fx->dir, sh, d, n);
  snprintf(fx->model_path, sizeof fx->model_path, "%s/models/%s.onnx", testdata(), name);
  const int64_t *dm = fx->input.dims;
  snprintf(fx->shape_arg, sizeof fx->shape_arg, "%lldx%lldx%lldx%lld", (long long)dm[0],
           (long long)dm[1], (long long)dm[2], (long long)dm[3]);
}

/* Undoes fault_fixture_up; keeps the directory (its logs) when keep is set or CLEAVE_FAULT_KEEP is. */
static inline void fault_fixture_down(fault_fixture *fx, fault_shared *sh, fault_device *d, int n,
                                      int keep) {
  for (int i = 0; i < n; i++) free(d[i].split_at);
  cl_tensor_release(&sh->expect);
  cl_tensor_release(&fx->input);
  cl_model_free(&fx->model);
  if (keep || getenv("CLEAVE_FAULT_KEEP")) cr_log_info("logs kept in %s", fx->dir);
  else proc_rmdir(fx->dir);
}

/* Starts cleave-cloud with its log dir/log_name; front and back (at least 64 bytes each): the
 * endpoints to bind, or "" for a free port on 127.0.0.1, read back from its banner. heartbeat:
 * --heartbeat MS, or NULL for the default. Fails the test when it does not start in 30 s. */
static inline pid_t fault_start_broker(const char *dir, const char *log_name, const char *heartbeat,
                                       char *front, char *back) {
  char bin[PROC_PATH_MAX], log[PROC_PATH_MAX], f_arg[160], b_arg[160];
  snprintf(bin, sizeof bin, "%s/cleave-cloud", proc_bin_dir());
  snprintf(log, sizeof log, "%s/%s", dir, log_name);
  snprintf(f_arg, sizeof f_arg, "%s", front[0] ? front : "tcp://127.0.0.1:*");
  snprintf(b_arg, sizeof b_arg, "%s", back[0] ? back : "tcp://127.0.0.1:*");
  char *argv[] = {bin, "--devices", f_arg, "--workers", b_arg, NULL, NULL, NULL};
  if (heartbeat) argv[5] = "--heartbeat", argv[6] = (char *)heartbeat;
  pid_t pid = proc_spawn(argv, log, -1);
  for (double end = proc_now_s() + 30; proc_now_s() < end; proc_sleep_ms(10)) {
    char *text = proc_read_text(log);
    int fp = 0, bp = 0;
    const char *p = text ? strstr(text, "devices on tcp://127.0.0.1:") : NULL;
    int ok = p && sscanf(p, "devices on tcp://127.0.0.1:%d, workers on tcp://127.0.0.1:%d", &fp,
                         &bp) == 2;
    free(text);
    if (ok) {
      snprintf(front, 64, "tcp://127.0.0.1:%d", fp);
      snprintf(back, 64, "tcp://127.0.0.1:%d", bp);
      return pid;
    }
  }
  cr_assert_fail("cleave-cloud did not start (%s)", log);
  return -1;
}

static inline void fault_start_devices(fault_shared *sh, fault_device *d, int n) {
  for (int i = 0; i < n; i++) {
    d[i].sh = sh;
    d[i].index = i;
    d[i].split_at = sh->requests ? calloc((size_t)sh->requests, sizeof(double)) : NULL;
    cr_assert(d[i].split_at || !sh->requests);
    cr_assert_eq(pthread_create(&d[i].thread, NULL, fault_device_main, &d[i]), 0);
  }
}

static inline void fault_join_devices(fault_device *d, int n) {
  for (int i = 0; i < n; i++) pthread_join(d[i].thread, NULL);
}

static inline int fault_done(fault_device *d, int n) {
  int s = 0;
  for (int i = 0; i < n; i++) s += __atomic_load_n(&d[i].done, __ATOMIC_RELAXED);
  return s;
}

/* Starts cleave-edge with the given listen/connect arguments; waits for its banner (`ready`, e.g.
 * "listening on") and returns the pid. */
static inline pid_t fault_spawn_edge(const char *dir, const char *log_name, const char *model,
                                     const char *const *args, int n, const char *ready) {
  char bin[PROC_PATH_MAX], key[PROC_PATH_MAX], allow[PROC_PATH_MAX], log[PROC_PATH_MAX];
  char *argv[PROC_MAX_ARGS];
  int k = 0;
  snprintf(bin, sizeof bin, "%s/cleave-edge", proc_bin_dir());
  snprintf(key, sizeof key, "%s/edge.key", dir);
  snprintf(allow, sizeof allow, "%s/devices.pub", dir);
  snprintf(log, sizeof log, "%s/%s", dir, log_name);
  argv[k++] = bin, argv[k++] = "--model", argv[k++] = (char *)model;
  argv[k++] = "--key", argv[k++] = key, argv[k++] = "--allow", argv[k++] = allow;
  for (int i = 0; i < n; i++) argv[k++] = (char *)args[i];
  argv[k] = NULL;
  pid_t pid = proc_spawn(argv, log, -1);
  for (double end = proc_now_s() + 60; proc_now_s() < end; proc_sleep_ms(10)) {
    char *text = proc_read_text(log);
    int up = text && strstr(text, ready);
    free(text);
    if (up) return pid;
    int status;
    cr_assert_neq(waitpid(pid, &status, WNOHANG), pid, "cleave-edge exited at start (%s)", log);
  }
  cr_assert_fail("cleave-edge did not start within 60 s (%s)", log);
  return -1;
}

static inline void fault_kill(pid_t pid, int sig) {
  kill(pid, sig);
  if (sig == SIGKILL) waitpid(pid, NULL, 0);
}

/* Random frames (1 to 4 per message, random lengths) at an endpoint, from one connection. */
static inline void fault_send_garbage(const char *endpoint, int messages) {
  void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
  int linger = 200;
  zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
  cr_assert_eq(zmq_connect(s, endpoint), 0);
  uint8_t buf[2048];
  for (int i = 0; i < messages; i++) {
    randombytes_buf(buf, sizeof buf);
    int frames = 1 + i % 4;
    for (int f = 0; f < frames; f++)
      zmq_send(s, buf, (size_t)(buf[f] * 7 % sizeof buf), f + 1 < frames ? ZMQ_SNDMORE : 0);
  }
  zmq_close(s);
  zmq_ctx_term(ctx);
}

/* Sums the devices' tallies into a log line and checks the promises: every request settled once,
 * every output right. */
static inline void fault_check_all(fault_device *d, int n, int want_total) {
  int split = 0, fallback = 0, wrong = 0, twice = 0, done = 0, by[CL_SPLIT_LOCAL + 1] = {0};
  uint64_t resent = 0, lost = 0;
  for (int i = 0; i < n; i++) {
    split += d[i].split, fallback += d[i].fallback, wrong += d[i].wrong;
    twice += d[i].settle_errors, done += d[i].done;
    resent += d[i].cst.resent, lost += d[i].cst.links_lost;
    for (int k = 0; k <= CL_SPLIT_LOCAL; k++) by[k] += d[i].by_failure[k];
  }
  cr_log_info("%d requests: %d split, %d fallback (slow %d, gone %d, refused %d, bad reply %d, "
              "local %d), %llu re-sent, %llu links lost; wrong %d, settled twice %d", done, split,
              fallback, by[CL_SPLIT_SLOW], by[CL_SPLIT_GONE], by[CL_SPLIT_REFUSED],
              by[CL_SPLIT_BAD_REPLY], by[CL_SPLIT_LOCAL], (unsigned long long)resent,
              (unsigned long long)lost, wrong, twice);
  for (int i = 0; i < n; i++)
    if (d[i].first_error[0]) cr_log_info("device %d, first failure: %s", i, d[i].first_error);
  if (want_total > 0) cr_expect_eq(done, want_total, "requests settled");
  cr_expect_eq(split + fallback, done, "every request settled exactly once");
  cr_expect_eq(wrong, 0, "every output right");
  cr_expect_eq(twice, 0, "no request answered twice, no reply for a request not in flight");
}

#endif
