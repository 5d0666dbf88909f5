/* cleave end-to-end tests: a split server on loopback TCP in a thread of the test process, keys
 * made in memory, models from $CLEAVE_TESTDATA, and a log the tests can search. Everything goes
 * through the real wire path: codec, seal, ZeroMQ over tcp://127.0.0.1, the server's own workers
 * and executors. Include from test files only (static functions, Criterion asserts). */
#ifndef CLEAVE_TESTS_SPLIT_HARNESS_H
#define CLEAVE_TESTS_SPLIT_HARNESS_H

#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleave/exec.h"
#include "cleave/model.h"
#include "cleave/split.h"
#include "cleave/tensorfile.h"
#include "wire/keys_internal.h"
#include "wire/split_internal.h"

#define HARNESS_LOG_MAX (256 * 1024)

typedef struct harness {
  cl_split_server_t *srv;
  pthread_t thread;
  cl_keypair edge_key, dev_key;   /* dev_key is in the allow-list */
  cl_allowlist *allow;
  pthread_mutex_t log_lock;
  char log[HARNESS_LOG_MAX];
  size_t log_len;
} harness;

static inline const char *testdata(void) {
  const char *d = getenv("CLEAVE_TESTDATA");
  return d ? d : "build/testdata";
}

/* Loads model NAME bound to the shape of ref/NAME/CASE/input_0.npy; *in gets that input. Fails
 * when the test data is missing (make testdata). */
static inline cl_model_t *load_case(const char *name, const char *cs, cl_tensor *in) {
  char mp[1024], ip[1024];
  struct stat st;
  snprintf(mp, sizeof mp, "%s/models/%s.onnx", testdata(), name);
  snprintf(ip, sizeof ip, "%s/ref/%s/%s/input_0.npy", testdata(), name, cs);
  cr_assert(stat(mp, &st) == 0 && stat(ip, &st) == 0,
            "test data missing (%s): run scripts/fetch-testdata.sh or make testdata", mp);
  cl_error err = {0};
  cr_assert_eq(cl_tensorfile_read(ip, in, &err), CL_OK, "%s", err.msg);
  cl_model_options opt = {.inputs = in, .n_inputs = 1};
  cl_model_t *m = NULL;
  cr_assert_eq(cl_model_load(mp, &opt, &m, &err), CL_OK, "%s", err.msg);
  return m;
}

/* The same model loaded again, as an edge would (shape only, no data). */
static inline cl_model_t *load_again(const char *name, const cl_tensor *in) {
  char mp[1024];
  snprintf(mp, sizeof mp, "%s/models/%s.onnx", testdata(), name);
  cl_tensor shape = *in;
  shape.data = NULL;
  shape.nbytes = 0;
  shape.name = NULL;
  shape.owns_data = 0;
  cl_model_options opt = {.inputs = &shape, .n_inputs = 1};
  cl_model_t *m = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_model_load(mp, &opt, &m, &err), CL_OK, "%s", err.msg);
  return m;
}

static inline void harness_log(void *ctx, const char *line) {
  harness *h = ctx;
  pthread_mutex_lock(&h->log_lock);
  size_t n = strlen(line);
  if (h->log_len + n + 2 < sizeof h->log) {
    memcpy(h->log + h->log_len, line, n);
    h->log_len += n;
    h->log[h->log_len++] = '\n';
    h->log[h->log_len] = '\0';
  }
  pthread_mutex_unlock(&h->log_lock);
}

static inline int harness_log_has(harness *h, const char *needle) {
  pthread_mutex_lock(&h->log_lock);
  int found = strstr(h->log, needle) != NULL;
  pthread_mutex_unlock(&h->log_lock);
  return found;
}

static inline void *harness_serve(void *arg) {
  harness *h = arg;
  cl_error err = {0};
  cl_status st = cl_split_server_run(h->srv, &err);
  cr_expect_eq(st, CL_OK, "server: %s", err.msg);
  return NULL;
}

static inline cl_keypair harness_keypair(void) {
  cl_keypair kp;
  cr_assert_eq(cl_seal_init(), 0);
  crypto_kx_keypair(kp.pk, kp.sk);
  return kp;
}

/* Starts a server for models[0, n) on tcp://127.0.0.1:<free port> with the options in base
 * (workers, limits; endpoint, keys and log are the harness's). */
static inline void harness_start_with(harness *h, const cl_model_t *const *models, int n,
                                      const cl_split_server_options *base) {
  memset(h, 0, sizeof *h);
  pthread_mutex_init(&h->log_lock, NULL);
  h->edge_key = harness_keypair();
  h->dev_key = harness_keypair();
  char line[CL_KEYS_LINE_MAX + 2];
  size_t len = cl_keys_format_public(h->dev_key.pk, "test device", line);
  cl_error err = {0};
  cr_assert_eq(cl_allowlist_parse((const uint8_t *)line, len, &h->allow, &err), CL_OK, "%s",
               err.msg);
  cl_split_server_options o = *base;
  o.endpoint = "tcp://127.0.0.1:*";
  o.key = o.insecure ? NULL : &h->edge_key;
  o.allow = o.insecure ? NULL : h->allow;
  o.log = harness_log;
  o.log_ctx = h;
  cr_assert_eq(cl_split_server_create(models, n, &o, &h->srv, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(pthread_create(&h->thread, NULL, harness_serve, h), 0);
}

/* The same with default limits, insecure or not, with workers threads (0: 2). */
static inline void harness_start(harness *h, const cl_model_t *const *models, int n, int insecure,
                                 int workers) {
  cl_split_server_options o = {.insecure = insecure, .workers = workers};
  harness_start_with(h, models, n, &o);
}

static inline void harness_stop(harness *h) {
  cl_split_server_stop(h->srv);
  pthread_join(h->thread, NULL);
  cl_split_server_free(&h->srv);
  cl_allowlist_free(&h->allow);
  pthread_mutex_destroy(&h->log_lock);
}

static inline cl_split_server_stats harness_stats(harness *h) {
  cl_split_server_stats st;
  cl_split_server_stats_get(h->srv, &st);
  return st;
}

/* Options for a device of this harness (its allowed key, the edge's key). */
static inline cl_split_client_options harness_client_options(harness *h, int cut,
                                                             const char *codec) {
  cl_split_client_options o = {.endpoint = cl_split_server_endpoint(h->srv), .cut = cut,
                               .key = &h->dev_key, .edge_pk = h->edge_key.pk};
  cl_error err = {0};
  cr_assert_eq(cl_codec_parse(codec, &o.codec, &err), CL_OK, "%s", err.msg);
  return o;
}

static inline cl_split_client_t *harness_connect(harness *h, const cl_model_t *m, int cut,
                                          const char *codec) {
  cl_split_client_options o = harness_client_options(h, cut, codec);
  cl_split_client_t *c = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_split_client_connect(m, &o, &c, &err), CL_OK, "cut %d: %s", cut, err.msg);
  return c;
}

/* Runs [0, cut) on ex (its input set from in) and the rest through c; outputs into outs. */
static inline cl_status harness_split_run(cl_split_client_t *c, cl_exec_t *ex,
                                          const cl_tensor *in, int cut, cl_tensor *outs,
                                          int n_outs, cl_split_result *res, cl_error *err) {
  cl_status st = cl_exec_set_input(ex, 0, in, err);
  if (st == CL_OK) st = cl_exec_run(ex, 0, cut, err);
  if (st == CL_OK) st = cl_split_client_run(c, ex, outs, n_outs, res, err);
  return st;
}

/* Largest |a - b| / max|b| over the floats of two same-shaped tensors (bytes compared for
 * non-float types: 0 or 1). */
static inline double rel_diff(const cl_tensor *a, const cl_tensor *b) {
  if (a->dtype != CL_DTYPE_F32) return memcmp(a->data, b->data, a->nbytes) ? 1.0 : 0.0;
  const float *x = a->data, *y = b->data;
  size_t n = a->nbytes / 4;
  double dmax = 0, ymax = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)x[i] - (double)y[i]);
    if (d > dmax || d != d) dmax = d != d ? INFINITY : d;
    if (fabs((double)y[i]) > ymax) ymax = fabs((double)y[i]);
  }
  return ymax > 0 ? dmax / ymax : dmax;
}

#endif
