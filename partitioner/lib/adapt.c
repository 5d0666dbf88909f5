/* cleave partitioner: the live link estimate and the cut chooser with hysteresis (adapt.h). */
#include "cleave/adapt.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan_internal.h"

#define MIN_MS_PER_BYTE 8e-10   /* 10 Tbit/s, the most cl_units_bandwidth accepts */
#define MAX_MS_PER_BYTE 8e3     /* 1 bit/s */

/* === Live link estimate === */

static double median_of(double *x, int n) {
  for (int i = 1; i < n; i++) /* insertion sort: n is at most a window plus CL_LINK_EST_MIN */
    for (int j = i; j > 0 && x[j - 1] > x[j]; j--) {
      double t = x[j]; x[j] = x[j - 1]; x[j - 1] = t;
    }
  return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

/* The median of a parameter's observations, with its fill value up to CL_LINK_EST_MIN. */
static double robust(const cl_link_param *p) {
  double x[CL_LINK_EST_WINDOW_MAX + CL_LINK_EST_MIN];
  int m = 0;
  for (int i = 0; i < p->n; i++) x[m++] = p->obs[i];
  while (m < CL_LINK_EST_MIN) x[m++] = p->fill;
  return median_of(x, m);
}

static void update(cl_link_est *e) {
  e->cur.rtt_ms = robust(&e->rtt);
  e->cur.bandwidth_bps = 8e3 / robust(&e->mspb);
}

void cl_link_est_init(cl_link_est *e, const cl_link *prior, int window) {
  assert(e && prior && isfinite(prior->bandwidth_bps) && prior->bandwidth_bps > 0 &&
         isfinite(prior->rtt_ms) && prior->rtt_ms >= 0);
  memset(e, 0, sizeof *e);
  e->prior = *prior;
  e->window = window <= 0 ? CL_LINK_EST_DEFAULT_WINDOW
              : window > CL_LINK_EST_WINDOW_MAX ? CL_LINK_EST_WINDOW_MAX
              : window < CL_LINK_EST_MIN ? CL_LINK_EST_MIN : window;
  e->rtt.fill = prior->rtt_ms;
  e->mspb.fill = 8e3 / prior->bandwidth_bps;
  update(e);
}

/* Adds observation v of a parameter whose estimate is now cur; restarts the window on a change. */
static void observe(cl_link_param *p, int window, double v, double cur, double floor) {
  int dir = v > cur * CL_LINK_EST_CHANGE + floor ? 1 : v < cur / CL_LINK_EST_CHANGE - floor ? -1 : 0;
  p->streak = dir == 0 ? 0 : (dir > 0) == (p->streak > 0) ? p->streak + dir : dir;
  p->obs[p->next] = v;
  p->next = (p->next + 1) % window;
  if (p->n < window) p->n++;
  p->samples++;
  if (p->streak >= CL_LINK_EST_CHANGE_STREAK || p->streak <= -CL_LINK_EST_CHANGE_STREAK) {
    int k = CL_LINK_EST_CHANGE_STREAK;   /* keep the last k observations only */
    double last[CL_LINK_EST_CHANGE_STREAK];
    for (int i = 0; i < k; i++) last[i] = p->obs[(p->next - k + i + 2 * window) % window];
    memcpy(p->obs, last, sizeof last);
    p->n = k;
    p->next = k % window;
    p->fill = cur;
    p->streak = 0;
    p->changes++;
  }
}

cl_link_sample_use cl_link_est_add(cl_link_est *e, double bytes, double wire_ms) {
  assert(e);
  if (!isfinite(bytes) || !isfinite(wire_ms) || bytes < 0 || wire_ms < 0 ||
      (bytes == 0 && wire_ms == 0)) {
    e->rejected++;
    return CL_LINK_SAMPLE_REJECTED;
  }
  double rtt = e->cur.rtt_ms, mspb_now = 8e3 / e->cur.bandwidth_bps, xfer = bytes * mspb_now;
  /* The larger share of the predicted time is what the sample can tell; a wire time below the RTT
   * alone says the RTT is too high, whatever the shares. */
  if (xfer <= rtt || wire_ms <= rtt) {
    double obs = wire_ms - xfer;
    observe(&e->rtt, e->window, obs > 0 ? obs : 0, rtt, CL_LINK_EST_RTT_FLOOR_MS);
    update(e);
    return CL_LINK_SAMPLE_RTT;
  }
  double mspb = (wire_ms - rtt) / bytes;
  mspb = mspb < MIN_MS_PER_BYTE ? MIN_MS_PER_BYTE : mspb > MAX_MS_PER_BYTE ? MAX_MS_PER_BYTE : mspb;
  observe(&e->mspb, e->window, mspb, mspb_now, 0);
  update(e);
  return CL_LINK_SAMPLE_BANDWIDTH;
}

void cl_link_est_get(const cl_link_est *e, cl_link *out) {
  assert(e && out);
  *out = e->cur;
}

/* === The chooser === */

/* One choice the chooser may make below cut n: cut k >= min_cut with a codec the planner allows
 * there, and the link-independent parts of its predicted time (plan_internal.h). */
typedef struct adapt_row {
  int cut;
  int codec;                     /* index into names */
  plan_fixed f;
} adapt_row;

struct cl_adapt_t {
  const cl_profile *dev, *edge;  /* the caller's */
  cl_adapt_options o;            /* defaults applied; o.codec points to codec below (or NULL) */
  char codec[CL_PROFILE_CODEC_NAME_MAX];
  int n;                         /* nodes */
  adapt_row *rows;               /* n_rows, by cut then codec in the planner's order (owned) */
  int n_rows;
  char names[CL_PROFILE_MAX_CODECS][CL_PROFILE_CODEC_NAME_MAX]; /* the planner's codec list */
  double local_ms;               /* cut n: the device's whole run */
  cl_link_est est;
  cl_adapt_choice cur;           /* the current cut and codec */
  int cur_row;                   /* its row, -1 at cut n */
  cl_adapt_choice offload;       /* the best cut < n at the last decision (probes go there) */
  int have_offload;
  int want;                      /* consecutive decisions that wanted a switch */
  uint64_t since_switch, since_decision, since_probe;
  int probe_interval;            /* requests between probes now */
  int confirm;                   /* 1: the last probe disagreed with the estimate: probe again next */
  int last_probe;                /* 1: the last choice was a probe */
  cl_adapt_stats st;
};

/* The planner's options for the chooser (cl_plan_make with these gives the same table). */
static void plan_options(const cl_adapt_t *a, cl_plan_options *po) {
  memset(po, 0, sizeof *po);
  po->link = a->o.prior;
  po->objective = CL_PLAN_LATENCY;
  po->min_cut = a->o.min_cut;
  po->codec = a->o.codec;
  po->accuracy_budget = -1;   /* a lossy codec only when named: its error is the user's choice */
  po->no_dag = 1;             /* the DAG set is not executable: no cut to add */
  po->insecure = a->o.insecure;
}

/* Precomputes every (cut, codec) row the planner may choose below n (checks the profiles and the
 * codec as cl_plan_make does). */
static cl_status build_rows(cl_adapt_t *a, cl_error *err) {
  cl_plan_options po;
  planner pl;
  plan_options(a, &po);
  cl_status st = cl_plan_setup(&pl, a->dev, a->edge, &po, err);
  if (st != CL_OK) return st;
  a->rows = malloc(sizeof *a->rows * ((size_t)pl.n * (size_t)pl.n_codecs + 1));
  if (!a->rows) st = cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  for (int k = 0; st == CL_OK && k < pl.n; k++) {
    cl_plan_row scratch;
    char why[CL_PLAN_WHY_MAX];
    memset(&scratch, 0, sizeof scratch);
    if (!cl_plan_cut_feasible(&pl, k, &scratch)) continue;
    for (int j = 0; j < pl.n_codecs; j++) {
      if (!cl_plan_codec_allowed(&pl, j, k, why, sizeof why)) continue;
      adapt_row *r = &a->rows[a->n_rows++];
      r->cut = k, r->codec = j;
      cl_plan_fixed_one(&pl, k, j, &r->f);
    }
  }
  for (int j = 0; j < pl.n_codecs; j++) memcpy(a->names[j], pl.codecs[j].name, sizeof a->names[j]);
  a->local_ms = pl.dev_pre[pl.n];
  cl_plan_teardown(&pl);
  return st;
}

static double row_ms(const cl_adapt_t *a, int i, const cl_link *l) {
  double up, down;
  return i < 0 ? a->local_ms : plan_fixed_ms(&a->rows[i].f, l, &up, &down);
}

/* cl_plan_make's choice under link l (*best: a row, or -1 for cut n) and its best row below n
 * (*off, -1 when none), with the same rules: per cut the first codec of least time; over the cuts
 * the least, ties to the later cut; the offload, ties to the earlier. Bounded, no allocation. */
static void evaluate(const cl_adapt_t *a, const cl_link *l, int *best, int *off) {
  int b = -1, o = -1;
  double bms = 0, oms = 0;
  for (int i = 0; i < a->n_rows;) {
    int k = a->rows[i].cut, r = i;
    double rms = row_ms(a, i, l);
    for (i++; i < a->n_rows && a->rows[i].cut == k; i++) {
      double ms = row_ms(a, i, l);
      if (ms < rms) r = i, rms = ms;
    }
    if (b < 0 || rms <= bms) b = r, bms = rms;
    if (o < 0 || rms < oms) o = r, oms = rms;
  }
  *best = b >= 0 && bms < a->local_ms ? b : -1; /* cut n is the last: it wins ties */
  *off = o;
}

static void choice_of(const cl_adapt_t *a, int i, const cl_link *l, cl_adapt_choice *c) {
  memset(c, 0, sizeof *c);
  c->cut = i < 0 ? a->n : a->rows[i].cut;
  if (i >= 0) memcpy(c->codec, a->names[a->rows[i].codec], sizeof c->codec);
  c->predicted_ms = row_ms(a, i, l);
}

static cl_status check_options(cl_adapt_options *o, int n, cl_error *err) {
  const cl_link *l = &o->prior;
  if (!(isfinite(l->bandwidth_bps) && l->bandwidth_bps > 0 && isfinite(l->rtt_ms) && l->rtt_ms >= 0))
    return cl_error_set(err, CL_ERR_ARG, "the starting link needs a bandwidth > 0 and an RTT >= 0");
  if (o->min_cut < 0 || o->min_cut > n)
    return cl_error_set(err, CL_ERR_ARG, "minimum cut %d is outside the model's cuts 0..%d", o->min_cut, n);
  if (!isfinite(o->margin) || !isfinite(o->margin_ms))
    return cl_error_set(err, CL_ERR_ARG, "switch margins must be finite");
  if (o->window == 0) o->window = CL_LINK_EST_DEFAULT_WINDOW;
  if (o->margin == 0) o->margin = CL_ADAPT_DEFAULT_MARGIN;
  if (o->margin_ms == 0) o->margin_ms = CL_ADAPT_DEFAULT_MARGIN_MS;
  if (o->persist <= 0) o->persist = CL_ADAPT_DEFAULT_PERSIST;
  if (o->every <= 0) o->every = CL_ADAPT_DEFAULT_EVERY;
  if (o->dwell == 0) o->dwell = CL_ADAPT_DEFAULT_DWELL;
  if (o->probe_every == 0) o->probe_every = CL_ADAPT_DEFAULT_PROBE;
  if (o->margin < 0) o->margin = 0;
  if (o->margin_ms < 0) o->margin_ms = 0;
  if (o->dwell < 0) o->dwell = 0;
  return CL_OK;
}

/* The offload row i (or none) becomes the probe target. */
static void set_offload(cl_adapt_t *a, int i, const cl_link *l) {
  a->have_offload = i >= 0;
  if (i >= 0) choice_of(a, i, l, &a->offload);
}

cl_status cl_adapt_create(const cl_profile *dev, const cl_profile *edge, const cl_adapt_options *o,
                          cl_adapt_t **out, cl_error *err) {
  assert(dev && edge && o && out);
  *out = NULL;
  cl_adapt_t *a = calloc(1, sizeof *a);
  if (!a) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  a->dev = dev, a->edge = edge, a->o = *o, a->n = dev->n_nodes;
  cl_status st = check_options(&a->o, a->n, err);
  if (st == CL_OK && o->codec && strcmp(o->codec, "auto") != 0) {
    snprintf(a->codec, sizeof a->codec, "%s", o->codec);
    a->o.codec = a->codec;
  } else {
    a->o.codec = NULL;
  }
  if (st == CL_OK) st = build_rows(a, err);   /* checks the profiles and the codec too */
  if (st != CL_OK) {
    cl_adapt_free(&a);
    return st;
  }
  cl_link_est_init(&a->est, &a->o.prior, a->o.window);
  a->probe_interval = a->o.probe_every;
  int b = -1, off = -1;
  evaluate(a, &a->o.prior, &b, &off);
  choice_of(a, b, &a->o.prior, &a->cur);
  a->cur_row = b;
  set_offload(a, off, &a->o.prior);
  *out = a;
  return CL_OK;
}

void cl_adapt_free(cl_adapt_t **a) {
  if (!a || !*a) return;
  free((*a)->rows);
  free(*a);
  *a = NULL;
}

void cl_adapt_best(const cl_adapt_t *a, const cl_link *l, cl_adapt_choice *best, cl_adapt_choice *offload) {
  assert(a && l && best && offload);
  int b = -1, off = -1;
  evaluate(a, l, &b, &off);
  choice_of(a, b, l, best);
  if (off >= 0) choice_of(a, off, l, offload);
  else memset(offload, 0, sizeof *offload), offload->cut = -1;
}

double cl_adapt_predict(const cl_adapt_t *a, const cl_link *l, int cut, const char *codec) {
  assert(a && l && codec);
  if (cut == a->n) return a->local_ms;
  for (int i = 0; i < a->n_rows; i++)
    if (a->rows[i].cut == cut && strcmp(a->names[a->rows[i].codec], codec) == 0) return row_ms(a, i, l);
  return NAN;
}

/* One decision: the best choice under the estimate now; switch when the gain held long enough. */
static void decide(cl_adapt_t *a) {
  cl_link l;
  int b = -1, off = -1;
  cl_link_est_get(&a->est, &l);
  evaluate(a, &l, &b, &off);
  a->st.decisions++;
  double cur_ms = row_ms(a, a->cur_row, &l), best_ms = row_ms(a, b, &l);
  a->cur.predicted_ms = cur_ms;
  set_offload(a, off, &l);
  double gain = cur_ms - best_ms, need = fmax(a->o.margin * cur_ms, a->o.margin_ms);
  a->want = b != a->cur_row && gain > need ? a->want + 1 : 0;
  if (a->want >= a->o.persist && a->since_switch >= (uint64_t)a->o.dwell) {
    choice_of(a, b, &l, &a->cur);
    a->cur_row = b;
    a->st.switches++;
    a->want = 0;
    a->since_switch = 0;
    a->since_probe = 0;
    a->probe_interval = a->o.probe_every;
  }
}

cl_status cl_adapt_next(cl_adapt_t *a, cl_adapt_choice *c, cl_error *err) {
  assert(a && c);
  (void)err;   /* nothing fails since the rows are precomputed */
  if (a->st.requests > 0 && ++a->since_decision >= (uint64_t)a->o.every) {
    a->since_decision = 0;
    decide(a);
  }
  a->st.requests++;
  a->since_switch++;
  *c = a->cur;
  a->last_probe = 0;
  if (a->cur.cut == a->n && a->o.probe_every > 0 && a->have_offload &&
      (++a->since_probe >= (uint64_t)a->probe_interval || a->confirm)) {
    if (!a->confirm)   /* a confirmation does not count as a step of the back-off */
      a->probe_interval = a->probe_interval * 2 > CL_ADAPT_PROBE_MAX ? CL_ADAPT_PROBE_MAX
                                                                     : a->probe_interval * 2;
    a->since_probe = 0;
    a->confirm = 0;
    *c = a->offload;
    c->probe = 1;
    a->last_probe = 1;
    a->st.probes++;
  }
  return CL_OK;
}

void cl_adapt_observe(cl_adapt_t *a, const cl_adapt_sample *s) {
  assert(a && s);
  if (s->cut < 0 || s->cut >= a->n) return;
  double wire = s->wire_ms;
  if (!a->o.insecure)   /* the edge seals the reply after its encode timer stops */
    wire -= (double)s->bytes_down / 1e6 * a->edge->seal_ms_per_mb;
  a->st.samples++;
  double bytes = (double)(s->bytes_up + s->bytes_down);
  cl_link_sample_use u = cl_link_est_add(&a->est, bytes, wire > 0 ? wire : 0);
  /* A probe that disagrees with the estimate is confirmed by the next request, rather than one
   * probe interval (up to CL_ADAPT_PROBE_MAX requests) later. */
  const cl_link_param *p = u == CL_LINK_SAMPLE_RTT ? &a->est.rtt : &a->est.mspb;
  if (a->last_probe && u != CL_LINK_SAMPLE_REJECTED && p->streak != 0) a->confirm = 1;
}

void cl_adapt_current(const cl_adapt_t *a, cl_adapt_choice *c) { *c = a->cur; }

void cl_adapt_link(const cl_adapt_t *a, cl_link *out) { cl_link_est_get(&a->est, out); }

void cl_adapt_stats_get(const cl_adapt_t *a, cl_adapt_stats *st) { *st = a->st; }

const cl_link_est *cl_adapt_estimator(const cl_adapt_t *a) { return &a->est; }
