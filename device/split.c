/* cleave-device: split runs (--edge): nodes [0, cut) here, [cut, n) on cleave-edge, with --repeat,
 * --inflight and the time split in --stats. With --cut auto each request's cut and codec come from
 * auto.c; a connection to the edge is made per (cut, codec) when first needed and kept (a few, the
 * least recently used closed first); cut n runs here and sends nothing.
 * Every request has a deadline (--deadline, or the predicted time times --deadline-margin, or
 * --timeout). A request the edge does not answer in time, cannot take (no session: the client is
 * reconnecting by itself) or refuses is finished here: from its frontier when the executor still
 * holds it, else from the input; --no-fallback makes it an error (exit 1). --stats counts them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleave/seal.h"
#include "cleave/split.h"
#include "auto.h"
#include "local.h"

/* Per-run samples, ms (bytes as doubles). */
enum { S_E2E, S_DEVICE, S_ENCODE, S_WIRE, S_EDGE, S_EDGE_DEC, S_EDGE_ENC, S_DECODE, S_RTT, S_UP,
       S_DOWN, S_COUNT };
static const char *const sample_names[S_COUNT] = {
    "median_ms", "device_ms", "encode_ms", "wire_ms", "edge_ms", "edge_decode_ms",
    "edge_encode_ms", "decode_ms", "round_trip_ms", "bytes_up", "bytes_down"};

/* A connection to the edge for one cut and codec. */
#define POOL 3
typedef struct conn {
  cl_split_client_t *client;   /* NULL: a free entry */
  int cut;
  char codec[CL_PROFILE_CODEC_NAME_MAX];
  uint64_t used;               /* last use (request index + 1), for closing the oldest */
} conn;

typedef struct split_run {
  const dev_config *cfg;
  cl_model_t *m;
  cl_exec_t *ex;
  cl_split_client_t *client;   /* the connection of the request being made */
  conn pool[POOL];
  int connects;                /* connections made (handshakes) */
  double connect_ms;           /* their total time */
  dev_auto *au;                /* --cut auto, else NULL */
  dev_choice ch;               /* the request being made: its cut and codec */
  int *cut_of;                 /* --cut auto: the cut of each timed request */
  int *probe_of;               /* ... 1 when it was a link probe */
  double *e2e_of, *wire_of;    /* ... its end-to-end and wire times, ms (s[] gets sorted) */
  double choose_ms;            /* --cut auto: time spent choosing the cuts (timed requests) */
  cl_tensor outs[16];
  int n_outs;
  int total, warm;             /* requests to make, of which the first `warm` are not timed */
  double *s[S_COUNT];          /* s[k][run] */
  double wall_ms;              /* timed requests, first submit to last reply */
  int frontier_of;             /* the request whose frontier the executor holds (-1: none) */
  int fallbacks;               /* timed requests finished here instead */
  int fallback_by[CL_SPLIT_LOCAL + 1]; /* ... by cause (cl_split_failure) */
  int first_noted;             /* the first fallback's reason was printed */
} split_run;

/* One request in flight. */
typedef struct pending {
  uint64_t id;
  uint64_t t0_ns;
  double device_ms;
  int index;
} pending;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fail(const char *what, const cl_error *err) {
  fprintf(stderr, "cleave-device: %s%s%s\n", what, what[0] ? ": " : "", err->msg);
  return 1;
}

/* === Setup === */

/* Connects to the edge for cut and codec (the handshake happens here). */
static int connect_edge(split_run *r, int cut, const cl_codec *codec, cl_split_client_t **out) {
  const dev_config *cfg = r->cfg;
  cl_error err = {0};
  cl_keypair kp;
  uint8_t edge_pk[CL_KEY_BYTES];
  memset(&kp, 0, sizeof kp);
  cl_split_client_options o = {.endpoint = cfg->edge, .cut = cut, .codec = *codec,
                               .insecure = cfg->insecure, .max_inflight = cfg->inflight,
                               .timeout_ms = cfg->timeout_ms, .reconnect = 1,
                               .retries = cfg->retries};
  if (!cfg->insecure) {
    if (cl_keys_load_secret(cfg->key_path, &kp, &err) != CL_OK ||
        cl_keys_load_public(cfg->edge_pub, edge_pk, &err) != CL_OK)
      return fail("", &err);
    o.key = &kp;
    o.edge_pk = edge_pk;
  }
  uint64_t t0 = now_ns();
  cl_status st = cl_split_client_connect(r->m, &o, out, &err);
  cl_keys_wipe(&kp);
  r->connects++;
  r->connect_ms += (double)(now_ns() - t0) / 1e6;
  if (st != CL_OK) return fail(cfg->edge, &err);
  if (cl_split_client_ready(*out)) return 0;
  if (cfg->no_fallback) {   /* the client keeps trying, but nothing may run here */
    cl_split_client_free(out);
    fprintf(stderr, "cleave-device: no answer from the edge at '%s' within %d ms\n", cfg->edge,
            cfg->timeout_ms);
    return 1;
  }
  if (!cfg->quiet)
    fprintf(stderr, "cleave-device: no answer from the edge at '%s' within %d ms: running here "
            "until it answers\n", cfg->edge, cfg->timeout_ms);
  return 0;
}

/* Makes r->client the connection for r->ch (cut < n), connecting when there is none yet; the
 * least recently used one is closed when all POOL entries are taken. */
static int use_connection(split_run *r, uint64_t request) {
  conn *free_entry = NULL, *oldest = &r->pool[0];
  for (int i = 0; i < POOL; i++) {
    conn *c = &r->pool[i];
    if (c->client && c->cut == r->ch.cut && strcmp(c->codec, r->ch.codec_name) == 0) {
      c->used = request + 1;
      r->client = c->client;
      return 0;
    }
    if (!c->client && !free_entry) free_entry = c;
    if (c->used < oldest->used) oldest = c;
  }
  conn *c = free_entry ? free_entry : oldest;
  cl_split_client_free(&c->client);
  if (connect_edge(r, r->ch.cut, &r->ch.codec, &c->client) != 0) return 1;
  c->cut = r->ch.cut;
  snprintf(c->codec, sizeof c->codec, "%s", r->ch.codec_name);
  c->used = request + 1;
  r->client = c->client;
  return 0;
}

static int prepare(split_run *r, const cl_tensor *inputs) {
  cl_error err = {0};
  cl_exec_options eo = {.threads = r->cfg->threads};
  r->n_outs = cl_model_output_count(r->m);
  if (r->n_outs > 16) {
    fprintf(stderr, "cleave-device: the model has %d outputs (at most 16)\n", r->n_outs);
    return 1;
  }
  if (cl_exec_create(r->m, &eo, &r->ex, &err) != CL_OK) return fail("", &err);
  for (int i = 0; i < cl_model_input_count(r->m); i++)
    if (cl_exec_set_input(r->ex, i, &inputs[i], &err) != CL_OK) return fail("", &err);
  if (cl_split_outputs_alloc(r->m, r->outs, r->n_outs, &err) != CL_OK) return fail("", &err);
  int runs = r->cfg->repeat > 0 ? r->cfg->repeat : 1;
  r->warm = r->cfg->repeat > 0 ? 1 : 0;
  r->total = runs + r->warm;
  for (int k = 0; k < S_COUNT; k++) {
    r->s[k] = calloc((size_t)runs, sizeof(double));
    if (!r->s[k]) return fprintf(stderr, "cleave-device: out of memory\n"), 1;
  }
  r->cut_of = calloc((size_t)runs, sizeof(int));
  r->probe_of = calloc((size_t)runs, sizeof(int));
  r->e2e_of = calloc((size_t)runs, sizeof(double));
  r->wire_of = calloc((size_t)runs, sizeof(double));
  if (!r->cut_of || !r->probe_of || !r->e2e_of || !r->wire_of)
    return fprintf(stderr, "cleave-device: out of memory\n"), 1;
  if (r->cfg->cut_auto) return dev_auto_open(r->cfg, r->m, &r->au);
  r->ch.cut = r->cfg->cut;      /* a fixed cut: one connection, made now */
  snprintf(r->ch.codec_name, sizeof r->ch.codec_name, "%s", r->cfg->codec);
  if (cl_codec_parse(r->cfg->codec, &r->ch.codec, &err) != CL_OK) return fail("--codec", &err);
  return use_connection(r, 0);
}

static void release(split_run *r) {
  for (int i = 0; i < POOL; i++) cl_split_client_free(&r->pool[i].client);
  r->client = NULL;
  dev_auto_free(&r->au);
  free(r->cut_of);
  free(r->probe_of);
  free(r->e2e_of);
  free(r->wire_of);
  cl_exec_free(&r->ex);
  for (int i = 0; i < r->n_outs; i++) cl_tensor_release(&r->outs[i]);
  for (int k = 0; k < S_COUNT; k++) free(r->s[k]);
}

/* === The request loop === */

static void record(split_run *r, const pending *p, const cl_split_result *res, uint64_t t_end) {
  int i = p->index - r->warm;
  if (i < 0) return;
  double v[S_COUNT] = {(double)(t_end - p->t0_ns) / 1e6, p->device_ms, res->encode_ms,
                       res->wire_ms, res->edge_compute_ms, res->edge_decode_ms, res->edge_encode_ms,
                       res->decode_ms, res->round_trip_ms, (double)res->bytes_up,
                       (double)res->bytes_down};
  for (int k = 0; k < S_COUNT; k++) r->s[k][i] = v[k];
  r->cut_of[i] = r->ch.cut;
  r->probe_of[i] = r->ch.probe;
  r->e2e_of[i] = v[S_E2E];
  r->wire_of[i] = v[S_WIRE];
}

/* This request's deadline, ms: --deadline, else the predicted time times the margin (at least
 * MIN_DEADLINE_MS: the prediction includes the device's part, the deadline starts after it), else
 * --timeout. */
#define MIN_DEADLINE_MS 20
static int deadline_of(const split_run *r) {
  const dev_config *cfg = r->cfg;
  if (cfg->deadline_ms > 0) return cfg->deadline_ms;
  if (r->ch.predicted_ms <= 0) return cfg->timeout_ms;
  double d = ceil(r->ch.predicted_ms * cfg->deadline_margin);
  return d < MIN_DEADLINE_MS ? MIN_DEADLINE_MS : d > cfg->timeout_ms ? cfg->timeout_ms : (int)d;
}

/* Finishes request p here, the edge having failed it (why, cause): [cut, n) when the executor
 * still holds its frontier, else [0, n) from the input. --no-fallback: the error instead. */
static int fall_back(split_run *r, pending *p, cl_split_failure why, const cl_error *cause) {
  if (r->cfg->no_fallback) return fail("", cause);
  cl_error err = {0};
  int n = cl_model_node_count(r->m), from = r->frontier_of == p->index ? r->ch.cut : 0;
  uint64_t t0 = now_ns();
  if (cl_exec_run(r->ex, from, n, &err) != CL_OK) return fail("", &err);
  r->frontier_of = -1;
  for (int i = 0; i < r->n_outs; i++) {
    cl_tensor view;
    cl_exec_output(r->ex, i, &view);
    memcpy(r->outs[i].data, view.data, r->outs[i].nbytes);
  }
  uint64_t t_end = now_ns();
  p->device_ms += (double)(t_end - t0) / 1e6;
  if (p->index >= r->warm) r->fallbacks++, r->fallback_by[why]++;
  if (!r->first_noted++ && !r->cfg->quiet)
    fprintf(stderr, "cleave-device: request %d finished here (%s): %s\n", p->index,
            from ? "from its frontier" : "from the input", cause->msg);
  cl_split_result none;
  memset(&none, 0, sizeof none);
  record(r, p, &none, t_end);
  return 0;
}

/* Runs [0, cut) and submits. Returns 0 (in flight), 2 (no session now: finished here) or 1. */
static int submit_one(split_run *r, pending *p, int index) {
  cl_error err = {0};
  p->index = index;
  p->t0_ns = now_ns();
  if (cl_exec_run(r->ex, 0, r->ch.cut, &err) != CL_OK) return fail("", &err);
  r->frontier_of = index;
  uint64_t t1 = now_ns();
  p->device_ms = (double)(t1 - p->t0_ns) / 1e6;
  cl_status st = cl_split_client_submit_within(r->client, r->ex, deadline_of(r), &p->id, &err);
  if (st == CL_OK) return 0;
  if (st != CL_ERR_CLOSED && st != CL_ERR_TIMEOUT) return fail("", &err);
  return fall_back(r, p, CL_SPLIT_GONE, &err) == 0 ? 2 : 1;
}

/* Settles one request in flight (*settled 1): its reply, or a local run. A failure that names no
 * request leaves them in flight (*settled 0): each still settles by its deadline. */
static int receive_one(split_run *r, pending *inflight, int *n_inflight, int *settled) {
  cl_error err = {0};
  cl_split_result res;
  *settled = 0;
  cl_status st = cl_split_client_receive(r->client, r->outs, r->n_outs, &res, &err);
  uint64_t t_end = now_ns();
  if (st != CL_OK && res.request_id == 0) return 0;
  for (int i = 0; i < *n_inflight; i++) {
    if (inflight[i].id != res.request_id) continue;
    if (st != CL_OK) {
      if (fall_back(r, &inflight[i], res.failure, &err) != 0) return 1;
    } else {
      record(r, &inflight[i], &res, t_end);
      if (r->au) dev_auto_observe(r->au, r->ch.cut, &res);
    }
    inflight[i] = inflight[--*n_inflight];
    *settled = 1;
    return 0;
  }
  fprintf(stderr, "cleave-device: reply to an unknown request %llu\n",
          (unsigned long long)res.request_id);
  return 1;
}

/* --interval: 1 when request `index` may start (it starts every interval from t_first). */
static int due(const split_run *r, int index, uint64_t t_first) {
  return now_ns() >= t_first + (uint64_t)index * (uint64_t)r->cfg->interval_ms * 1000000u;
}

static void pause_until_due(const split_run *r, int index, uint64_t t_first) {
  while (!due(r, index, t_first)) nanosleep(&(struct timespec){0, 200000}, NULL);
}

static int request_loop(split_run *r) {
  pending inflight[CL_SPLIT_MAX_INFLIGHT];
  int n_inflight = 0, submitted = 0, received = 0;
  uint64_t t_timed = 0, t_first = now_ns();
  while (received < r->total) {
    if (submitted < r->total && n_inflight < r->cfg->inflight &&
        (n_inflight == 0 || due(r, submitted, t_first))) {
      pause_until_due(r, submitted, t_first);
      if (submitted == r->warm) t_timed = now_ns();
      int rc = submit_one(r, &inflight[n_inflight], submitted);
      if (rc == 1) return 1;
      submitted++;
      if (rc == 2) received++;
      else n_inflight++;
      continue;
    }
    int settled = 0;
    if (receive_one(r, inflight, &n_inflight, &settled) != 0) return 1;
    received += settled;
  }
  r->wall_ms = (double)(now_ns() - t_timed) / 1e6;
  return 0;
}

/* --cut auto at cut n: the whole model here, the outputs copied as a reply would bring them. */
static int local_one(split_run *r, int index) {
  cl_error err = {0};
  pending p = {.index = index, .t0_ns = now_ns()};
  if (cl_exec_run(r->ex, 0, r->ch.cut, &err) != CL_OK) return fail("", &err);
  for (int i = 0; i < r->n_outs; i++) {
    cl_tensor view;
    cl_exec_output(r->ex, i, &view);
    memcpy(r->outs[i].data, view.data, r->outs[i].nbytes);
  }
  uint64_t t_end = now_ns();
  p.device_ms = (double)(t_end - p.t0_ns) / 1e6;
  cl_split_result none;
  memset(&none, 0, sizeof none);
  record(r, &p, &none, t_end);
  return 0;
}

/* --cut auto: one request at a time, each at the cut and codec auto.c chooses. */
static int auto_loop(split_run *r) {
  int n = cl_model_node_count(r->m);
  uint64_t t_timed = 0, t_first = now_ns();
  for (int i = 0; i < r->total; i++) {
    pause_until_due(r, i, t_first);
    if (i == r->warm) t_timed = now_ns();
    uint64_t t0 = now_ns();
    if (dev_auto_next(r->au, &r->ch) != 0) return 1;
    if (i >= r->warm) r->choose_ms += (double)(now_ns() - t0) / 1e6;
    if (r->ch.cut == n) {
      if (local_one(r, i) != 0) return 1;
      continue;
    }
    if (use_connection(r, (uint64_t)i) != 0) return 1;
    pending p;
    int n_inflight = 1, settled = 0, rc = submit_one(r, &p, i);
    if (rc == 1) return 1;
    while (rc == 0 && !settled)
      if (receive_one(r, &p, &n_inflight, &settled) != 0) return 1;
  }
  r->wall_ms = (double)(now_ns() - t_timed) / 1e6;
  return 0;
}

/* === Results === */

static double median_of(double *x, int n) {
  dev_timing t;
  dev_timing_from(x, n, &t);
  return t.median_ms;
}

/* --cut auto: the cut of every timed request, how often each was used, the connections. */
static void write_cuts(const split_run *r, FILE *f, int runs) {
  int n = cl_model_node_count(r->m), probes = 0;
  fprintf(f, ", \"cut_per_request\": [");
  for (int i = 0; i < runs; i++) fprintf(f, "%s%d", i ? ", " : "", r->cut_of[i]);
  fprintf(f, "], \"ms_per_request\": [");
  for (int i = 0; i < runs; i++) fprintf(f, "%s%.3f", i ? ", " : "", r->e2e_of[i]);
  fprintf(f, "], \"wire_ms_per_request\": [");
  for (int i = 0; i < runs; i++) fprintf(f, "%s%.3f", i ? ", " : "", r->wire_of[i]);
  fprintf(f, "], \"cuts_used\": {");
  for (int k = 0, first = 1; k <= n; k++) {
    int count = 0;
    for (int i = 0; i < runs; i++) count += r->cut_of[i] == k;
    if (count) fprintf(f, "%s\"%d\": %d", first ? "" : ", ", k, count), first = 0;
  }
  for (int i = 0; i < runs; i++) probes += r->probe_of[i];
  fprintf(f, "}, \"probe_requests\": %d, \"connects\": %d, \"connect_ms\": %.3f,"
          " \"choose_ms_per_request\": %.4f", probes, r->connects, r->connect_ms,
          runs > 0 ? r->choose_ms / runs : 0.0);
  dev_auto_json(r->au, f);
}

/* Requests finished here and why, the deadline, the connections' reconnects and re-sends. */
static void write_fallbacks(const split_run *r, FILE *f, int runs) {
  cl_split_client_stats sum = {0};
  for (int i = 0; i < POOL; i++) {
    cl_split_client_stats st;
    if (!r->pool[i].client) continue;
    cl_split_client_stats_get(r->pool[i].client, &st);
    sum.links_lost += st.links_lost, sum.resent += st.resent, sum.stale += st.stale;
  }
  fprintf(f, ", \"split_runs\": %d, \"fallbacks\": %d, \"fallback_slow\": %d, \"fallback_gone\": %d,"
          " \"fallback_refused\": %d, \"fallback_bad_reply\": %d, \"fallback_other\": %d,"
          " \"deadline_ms\": %d, \"no_fallback\": %s, \"reconnects\": %llu, \"resent\": %llu,"
          " \"stale\": %llu", runs - r->fallbacks, r->fallbacks, r->fallback_by[CL_SPLIT_SLOW],
          r->fallback_by[CL_SPLIT_GONE], r->fallback_by[CL_SPLIT_REFUSED],
          r->fallback_by[CL_SPLIT_BAD_REPLY], r->fallback_by[CL_SPLIT_LOCAL] +
          r->fallback_by[CL_SPLIT_OK], r->cfg->deadline_ms > 0 || r->ch.predicted_ms <= 0
          ? deadline_of(r) : -1, r->cfg->no_fallback ? "true" : "false",
          (unsigned long long)sum.links_lost, (unsigned long long)sum.resent,
          (unsigned long long)sum.stale);
}

static int write_stats(const split_run *r, const dev_timing *e2e, const double *med, int runs) {
  const dev_config *cfg = r->cfg;
  FILE *f = fopen(cfg->stats_path, "w");
  if (!f) {
    fprintf(stderr, "cleave-device: cannot write stats '%s'\n", cfg->stats_path);
    return 1;
  }
  int n = cl_model_node_count(r->m);
  fprintf(f, "{\"runs\": %d, \"p90_ms\": %.4f, \"min_ms\": %.4f, \"mean_ms\": %.4f, \"threads\": %d,"
          " \"mode\": \"split\", \"cut\": %d, \"cut_mode\": \"%s\", \"nodes\": %d, \"codec\": \"%s\","
          " \"inflight\": %d, \"insecure\": %s, \"throughput_rps\": %.3f", runs,
          e2e->p90_ms, e2e->min_ms, e2e->mean_ms, cfg->threads, r->ch.cut, r->au ? "auto" : "fixed",
          n, r->ch.cut == n ? "" : r->ch.codec_name, cfg->inflight, cfg->insecure ? "true" : "false",
          r->wall_ms > 0 ? runs / (r->wall_ms / 1e3) : 0.0);
  write_fallbacks(r, f, runs);
  if (r->au) write_cuts(r, f, runs);
  for (int k = 0; k < S_COUNT; k++)
    fprintf(f, k >= S_UP ? ", \"%s\": %.0f" : ", \"%s\": %.4f", sample_names[k], med[k]);
  fprintf(f, ", \"peak_rss_mb\": %.1f}\n", dev_peak_rss_mb());
  return fclose(f) == 0 ? 0 : 1;
}

static int report(split_run *r) {
  const dev_config *cfg = r->cfg;
  int runs = r->total - r->warm;
  double med[S_COUNT];
  dev_timing e2e;
  dev_timing_from(r->s[S_E2E], runs, &e2e);   /* sorts s[S_E2E]: done with it */
  for (int k = 0; k < S_COUNT; k++) med[k] = k == S_E2E ? e2e.median_ms : median_of(r->s[k], runs);
  int rc = dev_write_outputs(cfg, r->outs);
  if (rc == 0 && !cfg->quiet) {
    for (int i = 0; i < r->n_outs; i++) dev_print_output(&r->outs[i]);
    int n = cl_model_node_count(r->m);
    if (r->au)
      printf("split: cut auto (last: cut %d of %d%s%s), %d run%s: median %.3f ms, p90 %.3f ms\n",
             r->ch.cut, n, r->ch.cut < n ? ", codec " : ", all here", r->ch.cut < n ? r->ch.codec_name
             : "", runs, runs > 1 ? "s" : "", e2e.median_ms, e2e.p90_ms);
    else
      printf("split: cut %d of %d, codec %s, %d run%s, %d in flight: median %.3f ms, p90 %.3f ms\n",
             cfg->cut, n, cfg->codec, runs, runs > 1 ? "s" : "", cfg->inflight, e2e.median_ms,
             e2e.p90_ms);
    printf("  device %.3f ms, encode %.3f ms, wire %.3f ms, edge %.3f ms (decode %.3f, encode %.3f),"
           " decode %.3f ms\n", med[S_DEVICE], med[S_ENCODE], med[S_WIRE], med[S_EDGE],
           med[S_EDGE_DEC], med[S_EDGE_ENC], med[S_DECODE]);
    printf("  bytes up %.0f, down %.0f per request%s\n", med[S_UP], med[S_DOWN],
           cfg->insecure ? " (INSECURE: not encrypted)" : " (sealed)");
    if (r->au) dev_auto_print(r->au);
    if (r->fallbacks)
      printf("  fallbacks: %d of %d requests finished here (deadline passed %d, no session %d, "
             "refused %d, bad reply %d)\n", r->fallbacks, runs, r->fallback_by[CL_SPLIT_SLOW],
             r->fallback_by[CL_SPLIT_GONE], r->fallback_by[CL_SPLIT_REFUSED],
             r->fallback_by[CL_SPLIT_BAD_REPLY]);
  }
  if (rc == 0 && cfg->stats_path) rc = write_stats(r, &e2e, med, runs);
  return rc;
}

int dev_run_split(const dev_config *cfg, cl_model_t *m, const cl_tensor *inputs) {
  split_run r;
  memset(&r, 0, sizeof r);
  r.cfg = cfg;
  r.m = m;
  r.frontier_of = -1;
  int rc = prepare(&r, inputs);
  if (rc == 0) rc = r.au ? auto_loop(&r) : request_loop(&r);
  if (rc == 0) rc = report(&r);
  release(&r);
  return rc;
}
