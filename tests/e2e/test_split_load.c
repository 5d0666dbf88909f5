/* cleave end-to-end under load (issue 3, "Under load"): one cleave-edge process, 32 devices (threads
 * of this process, each its own key, ZeroMQ context, connection, executor and session), 4 requests
 * in flight each, for CLEAVE_LOAD_SECONDS (default 30) after a warm-up. The model is a real trained
 * one, openWakeWord's embedding CNN, cut in the middle, raw codec (LZ4), sealed.
 *
 * Every reply is checked against the whole model's output for its own request's input: the devices
 * cycle through four distinct inputs (three reference cases and a scaled one, whose outputs differ
 * from each other by far more than the tolerance), so a reply given to the wrong request would show.
 * Latency: from the start of a request's device compute to its reply decoded and checked; with 128
 * requests in flight it is mostly the wait at the edge (about in flight / throughput).
 * Memory: the edge's resident set (VmRSS of the process) and this process's (the 32 devices) are read
 * after the warm-up, every second, and at the end; growth from after the warm-up to the end beyond
 * CLEAVE_LOAD_RSS_KIB (default 4096 KiB) fails. At about 1200 requests/s for 30 s that catches a leak
 * of about 110 bytes per request or more (an edge leaking 256 bytes per request failed it, 28.6 ->
 * 39.1 MB; a healthy edge settles within 5 s, +0.5 to 1 MB, then stays flat). Sanitizer builds
 * report RSS without judging it (ASan keeps freed memory in quarantine) and run 10 s by default;
 * there LeakSanitizer checks the edge at its exit, which then is not 0.
 *
 * Environment: CLEAVE_LOAD_SECONDS, CLEAVE_LOAD_WARMUP (s, default 3), CLEAVE_LOAD_DEVICES (default
 * 32), CLEAVE_LOAD_RSS_KIB, CLEAVE_LOAD_REPORT (a file to append the figures to as one JSON line),
 * CLEAVE_BIN (where cleave-edge is). */
#include <limits.h>
#include <math.h>
#include <pthread.h>

#include "proc_util.h"
#include "split_harness.h"
#include "wire/transport.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LOAD_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(undefined_behavior_sanitizer)
#define LOAD_SANITIZED 1
#endif
#endif
#ifndef LOAD_SANITIZED
#define LOAD_SANITIZED 0
#endif

#define MODEL "oww_embedding"
#define N_INPUTS 4
#define MAX_DEVICES 64
#define INFLIGHT 4
#define REL_TOL 1e-6
#define HIST_BUCKETS 2400      /* latency histogram: 1% steps from 1 us (up to ~23 h) */
#define MAX_ERRORS 16          /* a device gives up after this many failed requests */

/* === Configuration === */

typedef struct load_cfg {
  int devices;
  double seconds, warmup_s;
  long rss_bound_kib;
} load_cfg;

static double env_num(const char *name, double dflt, double lo, double hi) {
  const char *s = getenv(name);
  if (!s || !*s) return dflt;
  char *end;
  double v = strtod(s, &end);
  cr_assert(*end == '\0' && v >= lo && v <= hi, "%s=%s: a number in [%g, %g]", name, s, lo, hi);
  return v;
}

static load_cfg read_cfg(void) {
  load_cfg c;
  c.seconds = env_num("CLEAVE_LOAD_SECONDS", LOAD_SANITIZED ? 10 : 30, 1, 86400);
  c.warmup_s = env_num("CLEAVE_LOAD_WARMUP", 3, 0.5, 600);
  c.devices = (int)env_num("CLEAVE_LOAD_DEVICES", 32, 1, MAX_DEVICES);
  c.rss_bound_kib = (long)env_num("CLEAVE_LOAD_RSS_KIB", 4096, 0, 1e9);
  return c;
}

/* === What the devices share, and each one's tally === */

typedef struct load_shared {
  const cl_model_t *m;         /* the device side's model (read-only, shared) */
  int cut;
  const char *endpoint;
  uint8_t edge_pk[CL_KEY_BYTES];
  cl_tensor ins[N_INPUTS];     /* distinct inputs */
  cl_tensor refs[N_INPUTS];    /* the whole model's output for each */
  int phase;                   /* atomic: 0 warm-up, 1 measuring, 2 stop submitting */
  int connected;               /* atomic: devices connected */
} load_shared;

typedef struct device_thread {
  load_shared *sh;
  int index;
  char key_path[PROC_PATH_MAX];
  pthread_t thread;
  uint64_t answered;           /* atomic: replies that matched their input */
  uint64_t exact;              /* of which bit-exact */
  uint64_t wrong;              /* replies that did not match their input */
  uint64_t errors;             /* requests that failed (status != CL_OK) */
  char first_error[CL_ERROR_MSG_MAX];
  uint32_t hist[HIST_BUCKETS]; /* latency of replies received while measuring */
} device_thread;

/* A request in flight. */
typedef struct pending {
  uint64_t id;
  int input;
  uint64_t t0_ns;
} pending;

static int hist_bucket(uint64_t ns) {
  double us = (double)ns / 1e3;
  if (us <= 1) return 0;
  int b = (int)(log(us) / log(1.01));
  return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

/* The latency (ms) below which a fraction q of the histogram lies (the bucket's upper edge). */
static double hist_quantile(const uint64_t *h, double q) {
  uint64_t total = 0, seen = 0;
  for (int b = 0; b < HIST_BUCKETS; b++) total += h[b];
  if (total == 0) return 0;
  uint64_t want = (uint64_t)ceil(q * (double)total);
  for (int b = 0; b < HIST_BUCKETS; b++) {
    seen += h[b];
    if (seen >= want && seen > 0) return pow(1.01, b + 1) / 1e3;
  }
  return pow(1.01, HIST_BUCKETS) / 1e3;
}

static void note_error(device_thread *d, const cl_error *err) {
  if (d->errors++ == 0) snprintf(d->first_error, sizeof d->first_error, "%s", err->msg);
}

/* === One device === */

static cl_split_client_t *device_connect(device_thread *d) {
  cl_keypair kp;
  cl_error err = {0};
  cl_split_client_t *c = NULL;
  if (cl_keys_load_secret(d->key_path, &kp, &err) != CL_OK) {
    note_error(d, &err);
    return NULL;
  }
  cl_split_client_options o = {.endpoint = d->sh->endpoint, .cut = d->sh->cut, .key = &kp,
                               .edge_pk = d->sh->edge_pk, .max_inflight = INFLIGHT,
                               .timeout_ms = 60000};
  if (cl_codec_parse("raw", &o.codec, &err) != CL_OK ||
      cl_split_client_connect(d->sh->m, &o, &c, &err) != CL_OK)
    note_error(d, &err);
  cl_keys_wipe(&kp);
  return c;
}

static int submit(device_thread *d, cl_split_client_t *c, cl_exec_t *ex, pending *p, int input) {
  cl_error err = {0};
  p->input = input;
  p->t0_ns = cl_transport_now_ns();
  if (cl_exec_set_input(ex, 0, &d->sh->ins[input], &err) != CL_OK ||
      cl_exec_run(ex, 0, d->sh->cut, &err) != CL_OK ||
      cl_split_client_submit(c, ex, &p->id, &err) != CL_OK) {
    note_error(d, &err);
    return -1;
  }
  return 0;
}

/* Receives one reply, checks it against its own request's input, counts it. */
static void receive(device_thread *d, cl_split_client_t *c, cl_tensor *out, pending *inflight,
                    int *n) {
  cl_error err = {0};
  cl_split_result res;
  cl_status st = cl_split_client_receive(c, out, 1, &res, &err);
  uint64_t t1 = cl_transport_now_ns();
  int i = 0;
  while (i < *n && inflight[i].id != res.request_id) i++;
  if (st != CL_OK) {
    note_error(d, &err);
    if (i < *n) inflight[i] = inflight[--*n];
    else *n = cl_split_client_inflight(c) < *n ? cl_split_client_inflight(c) : *n;
    return;
  }
  if (i == *n) {
    cl_error e = {0};
    cl_error_set(&e, CL_ERR_PROTOCOL, "reply to unknown request %llu",
                 (unsigned long long)res.request_id);
    note_error(d, &e);
    return;
  }
  const cl_tensor *ref = &d->sh->refs[inflight[i].input];
  if (rel_diff(out, ref) <= REL_TOL) {
    d->exact += memcmp(out->data, ref->data, ref->nbytes) == 0;
    __atomic_add_fetch(&d->answered, 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&d->sh->phase, __ATOMIC_ACQUIRE) == 1)
      d->hist[hist_bucket(t1 - inflight[i].t0_ns)]++;
  } else {
    d->wrong++;
  }
  inflight[i] = inflight[--*n];
}

static void *device_main(void *arg) {
  device_thread *d = arg;
  cl_error err = {0};
  cl_exec_t *ex = NULL;
  cl_tensor out = {0};
  cl_exec_options eo = {.threads = 1};
  cl_split_client_t *c = device_connect(d);
  __atomic_add_fetch(&d->sh->connected, 1, __ATOMIC_RELEASE);
  if (!c) return NULL;
  if (cl_exec_create(d->sh->m, &eo, &ex, &err) != CL_OK ||
      cl_split_outputs_alloc(d->sh->m, &out, 1, &err) != CL_OK) {
    note_error(d, &err);
    cl_split_client_free(&c);
    cl_exec_free(&ex);
    return NULL;
  }
  pending inflight[INFLIGHT];
  int n = 0;
  unsigned next_input = (unsigned)d->index;
  while (d->errors < MAX_ERRORS) {
    int stopping = __atomic_load_n(&d->sh->phase, __ATOMIC_ACQUIRE) == 2;
    if (!stopping && n < INFLIGHT) {
      if (submit(d, c, ex, &inflight[n], (int)(next_input++ % N_INPUTS)) == 0) n++;
      continue;
    }
    if (n == 0) break;
    receive(d, c, &out, inflight, &n);
  }
  cl_split_client_free(&c);
  cl_exec_free(&ex);
  cl_tensor_release(&out);
  return NULL;
}

/* === Setup: inputs, references, keys, the edge === */

static void local_output(const cl_model_t *m, const cl_tensor *in, cl_tensor *out) {
  cl_exec_t *ex = NULL;
  cl_error err = {0};
  cl_exec_options eo = {.threads = 1};
  cl_tensor view;
  cr_assert_eq(cl_exec_create(m, &eo, &ex, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_exec_set_input(ex, 0, in, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(cl_exec_run(ex, 0, cl_model_node_count(m), &err), CL_OK, "%s", err.msg);
  cl_exec_output(ex, 0, &view);
  cr_assert_eq(view.nbytes, out->nbytes);
  memcpy(out->data, view.data, view.nbytes);
  cl_exec_free(&ex);
}

/* Three reference cases and the real one scaled by 0.5; their outputs, pairwise distinct. */
static cl_model_t *make_inputs(load_shared *sh) {
  static const char *const cases[3] = {"real", "real_other", "random"};
  cl_model_t *m = load_case(MODEL, cases[0], &sh->ins[0]);
  cl_error err = {0};
  for (int i = 1; i < 3; i++) {
    char path[PROC_PATH_MAX];
    snprintf(path, sizeof path, "%s/ref/%s/%s/input_0.npy", testdata(), MODEL, cases[i]);
    cr_assert_eq(cl_tensorfile_read(path, &sh->ins[i], &err), CL_OK, "%s", err.msg);
  }
  const cl_tensor *r = &sh->ins[0];
  cr_assert_eq(cl_tensor_alloc(&sh->ins[3], NULL, r->dtype, r->rank, r->dims, &err), CL_OK);
  for (size_t e = 0; e < r->nbytes / 4; e++)
    ((float *)sh->ins[3].data)[e] = 0.5f * ((const float *)r->data)[e];
  for (int i = 0; i < N_INPUTS; i++) {
    cr_assert_eq(cl_split_outputs_alloc(m, &sh->refs[i], 1, &err), CL_OK);
    local_output(m, &sh->ins[i], &sh->refs[i]);
  }
  for (int i = 0; i < N_INPUTS; i++)
    for (int j = 0; j < i; j++)
      cr_assert_gt(rel_diff(&sh->refs[i], &sh->refs[j]), 1e3 * REL_TOL,
                   "inputs %d and %d give outputs too close to tell apart", i, j);
  return m;
}

/* The edge's key, one key per device and the allow-list of all of them. */
static void make_keys(const char *dir, device_thread *devs, int n, uint8_t edge_pk[CL_KEY_BYTES]) {
  char allow[PROC_PATH_MAX], pub[PROC_PATH_MAX], name[32];
  cl_error err = {0};
  proc_keygen(dir, "edge");
  snprintf(pub, sizeof pub, "%s/edge.pub", dir);
  cr_assert_eq(cl_keys_load_public(pub, edge_pk, &err), CL_OK, "%s", err.msg);
  snprintf(allow, sizeof allow, "%s/devices.pub", dir);
  for (int i = 0; i < n; i++) {
    snprintf(name, sizeof name, "device%02d", i);
    proc_keygen(dir, name);
    snprintf(pub, sizeof pub, "%s/%s.pub", dir, name);
    proc_append_file(allow, pub);
    snprintf(devs[i].key_path, sizeof devs[i].key_path, "%s/%s.key", dir, name);
  }
}

/* === The run === */

#define RSS_SERIES 64             /* samples kept for the report (every RSS_EVERY-th second) */
#define RSS_EVERY 5

typedef struct rss_track {
  long start, end, max, min;   /* KiB */
  long series[RSS_SERIES];     /* every RSS_EVERY-th sample, from the first */
  int n_samples, n_series;
} rss_track;

static void rss_sample(rss_track *t, long kib) {
  if (kib > t->max) t->max = kib;
  if (kib < t->min) t->min = kib;
  t->end = kib;
  if (t->n_samples++ % RSS_EVERY == 0 && t->n_series < RSS_SERIES) t->series[t->n_series++] = kib;
}

/* "[a, b, c]" into buf. */
static const char *rss_series_json(const rss_track *t, char *buf, size_t cap) {
  size_t len = 0;
  buf[len++] = '[';
  for (int i = 0; i < t->n_series && len + 24 < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%ld", i ? ", " : "", t->series[i]);
  snprintf(buf + len, cap - len, "]");
  return buf;
}

static uint64_t total_answered(device_thread *devs, int n) {
  uint64_t s = 0;
  for (int i = 0; i < n; i++) s += __atomic_load_n(&devs[i].answered, __ATOMIC_RELAXED);
  return s;
}

static void report(const load_cfg *cfg, const load_shared *sh, double rps, double p50, double p99,
                   uint64_t measured, const rss_track *edge, const rss_track *dev, uint64_t all,
                   uint64_t exact, uint64_t wrong, uint64_t errors) {
  char line[2048], series[1024];
  snprintf(line, sizeof line,
           "{\"model\": \"%s\", \"cut\": %d, \"nodes\": %d, \"codec\": \"raw\", \"sealed\": true, "
           "\"devices\": %d, \"inflight\": %d, \"seconds\": %.1f, \"warmup_s\": %.1f, "
           "\"requests_measured\": %llu, \"requests_total\": %llu, \"bit_exact\": %llu, "
           "\"wrong\": %llu, \"errors\": %llu, \"rps\": %.1f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
           "\"edge_rss_kib\": [%ld, %ld, %ld], \"devices_rss_kib\": [%ld, %ld, %ld], "
           "\"edge_rss_every_%ds\": %s, \"rss_bound_kib\": %ld, \"sanitized\": %s}",
           MODEL, sh->cut, cl_model_node_count(sh->m), cfg->devices, INFLIGHT, cfg->seconds,
           cfg->warmup_s, (unsigned long long)measured, (unsigned long long)all,
           (unsigned long long)exact, (unsigned long long)wrong, (unsigned long long)errors, rps,
           p50, p99, edge->start, edge->max, edge->end, dev->start, dev->max, dev->end, RSS_EVERY,
           rss_series_json(edge, series, sizeof series), cfg->rss_bound_kib,
           LOAD_SANITIZED ? "true" : "false");
  cr_log_info("load (RSS in KiB: after warm-up, max, end): %s", line);
  const char *path = getenv("CLEAVE_LOAD_REPORT");
  FILE *f = path && *path ? fopen(path, "a") : NULL;
  if (f) {
    fprintf(f, "%s\n", line);
    fclose(f);
  }
}

Test(split_load, devices_32_inflight_4_sealed, .timeout = 0) {
  load_cfg cfg = read_cfg();
  static load_shared sh;
  static device_thread devs[MAX_DEVICES];
  memset(&sh, 0, sizeof sh);
  memset(devs, 0, sizeof devs);
  char dir[PROC_DIR_MAX], model[PROC_PATH_MAX], allow[PROC_PATH_MAX], key[PROC_PATH_MAX];
  proc_mkdtemp(dir);
  cl_model_t *m = make_inputs(&sh);
  sh.m = m;
  sh.cut = cl_model_node_count(m) / 2;
  make_keys(dir, devs, cfg.devices, sh.edge_pk);

  /* The edge: its own process, default workers (one per core). */
  snprintf(model, sizeof model, "%s/models/%s.onnx", testdata(), MODEL);
  snprintf(key, sizeof key, "%s/edge.key", dir);
  snprintf(allow, sizeof allow, "%s/devices.pub", dir);
  const char *args[] = {"--key", key, "--allow", allow, "--input-shape", "1x76x32x1"};
  edge_proc edge;
  edge_start(&edge, dir, model, args, 6, -1);
  sh.endpoint = edge.endpoint;

  for (int i = 0; i < cfg.devices; i++) {
    devs[i].sh = &sh;
    devs[i].index = i;
    cr_assert_eq(pthread_create(&devs[i].thread, NULL, device_main, &devs[i]), 0);
  }
  /* Warm-up: every device connected and served, then the clock starts. */
  double t_start = proc_now_s();
  while (__atomic_load_n(&sh.connected, __ATOMIC_ACQUIRE) < cfg.devices &&
         proc_now_s() - t_start < 120)
    proc_sleep_ms(10);
  proc_sleep_ms((long)(cfg.warmup_s * 1000));
  rss_track er = {.min = LONG_MAX}, dr = {.min = LONG_MAX};
  er.start = proc_rss_kib(edge.pid);
  dr.start = proc_rss_kib(getpid());
  cr_assert(er.start > 0 && dr.start > 0, "cannot read VmRSS from /proc");
  rss_sample(&er, er.start);
  rss_sample(&dr, dr.start);
  uint64_t a0 = total_answered(devs, cfg.devices);
  double t0 = proc_now_s();
  __atomic_store_n(&sh.phase, 1, __ATOMIC_RELEASE);
  while (proc_now_s() - t0 < cfg.seconds) {
    double left = cfg.seconds - (proc_now_s() - t0);
    proc_sleep_ms(left > 1 ? 1000 : (long)(left * 1000) + 1);
    rss_sample(&er, proc_rss_kib(edge.pid));
    rss_sample(&dr, proc_rss_kib(getpid()));
  }
  uint64_t a1 = total_answered(devs, cfg.devices);
  double t1 = proc_now_s();
  __atomic_store_n(&sh.phase, 2, __ATOMIC_RELEASE);
  for (int i = 0; i < cfg.devices; i++) pthread_join(devs[i].thread, NULL);

  /* Tally. */
  static uint64_t hist[HIST_BUCKETS];
  uint64_t wrong = 0, errors = 0, exact = 0, all = 0;
  int idle = 0;
  memset(hist, 0, sizeof hist);
  for (int i = 0; i < cfg.devices; i++) {
    device_thread *d = &devs[i];
    uint64_t measured = 0;
    for (int b = 0; b < HIST_BUCKETS; b++) hist[b] += d->hist[b], measured += d->hist[b];
    wrong += d->wrong;
    errors += d->errors;
    exact += d->exact;
    all += d->answered;
    idle += measured == 0;
    cr_expect_eq(d->errors, 0, "device %d: %llu failed requests, the first: %s", i,
                 (unsigned long long)d->errors, d->first_error);
    cr_expect_eq(d->wrong, 0, "device %d: %llu replies did not match their input", i,
                 (unsigned long long)d->wrong);
  }
  double rps = (double)(a1 - a0) / (t1 - t0);
  report(&cfg, &sh, rps, hist_quantile(hist, 0.50), hist_quantile(hist, 0.99), a1 - a0, &er, &dr,
         all, exact, wrong, errors);

  int rc = edge_stop(&edge);
  char *log = proc_read_text(edge.log);
  cr_expect_eq(rc, 0, "cleave-edge exited %d: %s", rc, log ? log : "");
  unsigned long long served = 0, refused = 1;
  const char *stop = log ? strstr(log, "stopped: ") : NULL;
  cr_expect(stop && sscanf(stop, "stopped: %llu requests served, %llu refused", &served,
                           &refused) == 2, "no stop line in the edge's log: %s", log ? log : "");
  cr_expect_eq(refused, 0, "the edge refused messages: %s", log ? log : "");
  cr_expect_geq(served, all, "the edge served %llu requests, the devices got %llu answers", served,
                (unsigned long long)all);
  cr_expect(log && strstr(log, "dropped") == NULL, "the edge dropped replies: %s", log);
  free(log);

  cr_expect_eq(idle, 0, "%d devices got no answer while measuring", idle);
  cr_expect_gt(a1 - a0, 0);
  if (!LOAD_SANITIZED) {
    cr_expect_leq(er.end - er.start, cfg.rss_bound_kib,
                  "the edge's memory grew from %ld to %ld KiB (max %ld)", er.start, er.end, er.max);
    cr_expect_leq(dr.end - dr.start, cfg.rss_bound_kib,
                  "the devices' memory grew from %ld to %ld KiB (max %ld)", dr.start, dr.end, dr.max);
  }
  for (int i = 0; i < N_INPUTS; i++) cl_tensor_release(&sh.ins[i]), cl_tensor_release(&sh.refs[i]);
  cl_model_free(&m);
  proc_rmdir(dir);
}
