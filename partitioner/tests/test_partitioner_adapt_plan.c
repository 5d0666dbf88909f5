/* cleave partitioner tests: the chooser's precomputed decisions (adapt.c) equal cl_plan_make's
 * (plan.c) to the bit: the chosen cut, its codec, its predicted ms, the best offloading cut and every
 * (cut, codec) row, over a grid of links, on real profiles (MobileNetV2 and oww_embedding measured
 * here, two hosts made by scaling) and on random DAG profiles. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/adapt.h"
#include "cleave/model.h"
#include "cleave/plan.h"
#include "cleave/profile.h"
#include "cleave/tensorfile.h"
#include "synth.h"

static cl_profile *measure(const char *name, int with_input) {
  const char *dir = getenv("CLEAVE_TESTDATA");
  char path[512];
  snprintf(path, sizeof path, "%s/models/%s.onnx", dir ? dir : "build/testdata", name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fclose(f);
  cl_error err = {0};
  cl_model_options mo = {0};
  cl_tensor in = {0};
  if (with_input) { /* binds dynamic shapes */
    char ip[512];
    snprintf(ip, sizeof ip, "%s/ref/%s/real/input_0.npy", dir ? dir : "build/testdata", name);
    cr_assert_eq(cl_tensorfile_read(ip, &in, &err), CL_OK, "%s", err.msg);
    mo.inputs = &in, mo.n_inputs = 1;
  }
  cl_model_t *m = NULL;
  cr_assert_eq(cl_model_load(path, &mo, &m, &err), CL_OK, "%s", err.msg);
  /* the default codecs: raw and raw+shuffle (lossless, so auto chooses between them), f16, int8c */
  cl_profile_options o = {.runs = 3, .codec_reps = 1, .no_accuracy = 1, .seed = 5,
                          .inputs = with_input ? &in : NULL, .n_inputs = with_input};
  cl_profile *p = NULL;
  cr_assert_eq(cl_profile_measure(m, &o, &p, &err), CL_OK, "%s", err.msg);
  cl_model_free(&m);
  cl_tensor_release(&in);
  return p;
}

/* The adapter's view against cl_plan_make's on one link; returns 1 when the plan offloads. */
static int compare_one(const cl_profile *dev, const cl_profile *edge, const cl_adapt_t *a,
                       const cl_adapt_options *ao, const cl_link *l) {
  cl_plan_options po = {.link = *l, .objective = CL_PLAN_LATENCY, .min_cut = ao->min_cut, .codec = ao->codec,
                        .accuracy_budget = -1, .no_dag = 1, .insecure = ao->insecure};
  cl_plan *p = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_plan_make(dev, edge, &po, &p, &err), CL_OK, "%s", err.msg);
  cl_adapt_choice best, off;
  cl_adapt_best(a, l, &best, &off);
  const cl_plan_row *r = &p->rows[p->chosen];
  cr_assert_eq(best.cut, r->cut, "link %g bit/s %g ms: cut %d, plan %d", l->bandwidth_bps, l->rtt_ms, best.cut,
               r->cut);
  cr_assert_str_eq(best.codec, r->codec);
  cr_assert(best.predicted_ms == r->predicted_ms, "cut %d: %.17g ms, plan %.17g", r->cut, best.predicted_ms,
            r->predicted_ms);
  int o = -1; /* the old chooser's best_offload: the first feasible row of least time below n */
  for (int k = 0; k < p->n_nodes; k++)
    if (p->rows[k].feasible && (o < 0 || p->rows[k].predicted_ms < p->rows[o].predicted_ms)) o = k;
  cr_assert_eq(off.cut, o);
  if (o >= 0) {
    cr_assert_str_eq(off.codec, p->rows[o].codec);
    cr_assert(off.predicted_ms == p->rows[o].predicted_ms);
  }
  for (int k = 0; k <= p->n_nodes; k++) { /* each row's own best codec */
    double ms = cl_adapt_predict(a, l, k, p->rows[k].codec);
    if (p->rows[k].feasible) cr_assert(ms == p->rows[k].predicted_ms, "row %d: %.17g vs %.17g", k, ms,
                                       p->rows[k].predicted_ms);
    else cr_assert(isnan(ms), "row %d is infeasible in the plan", k);
  }
  int offloads = r->cut < p->n_nodes;
  cl_plan_free(&p);
  return offloads;
}

/* A grid of 17 bandwidths (100 kbit/s .. 100 Gbit/s) x 7 RTTs (0 .. 50 ms), under several options. */
static int compare_grid(const cl_profile *dev, const cl_profile *edge) {
  const double rtts[] = {0, 0.01, 0.1, 0.5, 2, 10, 50};
  const char *codecs[] = {NULL, "raw", "raw+shuffle"};
  int offloads = 0, n = dev->n_nodes;
  for (int c = 0; c < 3; c++)
    for (int variant = 0; variant < 4; variant++) {
      cl_adapt_options ao = {.prior = {10e6, 20}, .codec = codecs[c], .insecure = variant & 1,
                             .min_cut = variant & 2 ? n / 3 : 0};
      cl_adapt_t *a = NULL;
      cl_error err = {0};
      cr_assert_eq(cl_adapt_create(dev, edge, &ao, &a, &err), CL_OK, "%s", err.msg);
      for (int b = 0; b <= 16; b++)
        for (int t = 0; t < 7; t++) {
          cl_link l = {1e5 * pow(10, b / 2.0), rtts[t]};
          offloads += compare_one(dev, edge, a, &ao, &l);
        }
      cl_adapt_free(&a);
    }
  return offloads;
}

static void real_model(const char *name, int with_input) {
  cl_profile *dev = measure(name, with_input);
  if (!dev) cr_skip_test("no testdata (CLEAVE_TESTDATA)");
  cl_profile *edge = measure(name, with_input); /* a second measurement of this host */
  cl_profile *fast = synth_scaled(edge, 0.2), *slow = synth_scaled(edge, 3);
  int offloads = compare_grid(dev, edge) + compare_grid(dev, fast) + compare_grid(slow, fast);
  cr_assert_gt(offloads, 100, "the grid should also choose split cuts (%d)", offloads);
  cl_profile_free(&dev), cl_profile_free(&edge), cl_profile_free(&fast), cl_profile_free(&slow);
}

Test(adapt_plan, same_choice_as_cl_plan_make_on_mobilenetv2, .timeout = 300) { real_model("mobilenetv2", 0); }

Test(adapt_plan, same_choice_as_cl_plan_make_on_oww_embedding, .timeout = 300) { real_model("oww_embedding", 1); }

Test(adapt_plan, same_choice_as_cl_plan_make_on_random_profiles, .timeout = 300) {
  uint64_t rng = 42;
  for (int i = 0; i < 40; i++) {
    int n = rng_int(&rng, 1, 30);
    cl_profile *dev = synth_random(&rng, n);
    cl_profile *edge = synth_scaled(dev, rng_unit(&rng) * 2);
    (void)compare_grid(dev, edge);
    cl_profile_free(&dev), cl_profile_free(&edge);
  }
}

/* Decisions through cl_adapt_next agree with the old chooser's rule on a plan per decision: with no
 * hysteresis (switch at once) the current cut after each decision is cl_plan_make's choice under the
 * estimate then. */
Test(adapt_plan, decisions_follow_cl_plan_make_under_the_estimate, .timeout = 300) {
  uint64_t rng = 9;
  cl_profile *dev = synth_random(&rng, 20), *edge = synth_scaled(dev, 0.1);
  cl_adapt_options ao = {.prior = {1e6, 20}, .margin = -1, .margin_ms = -1, .persist = 1, .every = 1,
                         .dwell = -1, .probe_every = -1};
  cl_adapt_t *a = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_adapt_create(dev, edge, &ao, &a, &err), CL_OK, "%s", err.msg);
  for (int i = 0; i < 300; i++) {
    cl_adapt_choice c;
    cr_assert_eq(cl_adapt_next(a, &c, &err), CL_OK);
    cl_link l;
    cl_adapt_link(a, &l);
    cl_plan_options po = {.link = l, .accuracy_budget = -1, .no_dag = 1};
    cl_plan *p = NULL;
    cr_assert_eq(cl_plan_make(dev, edge, &po, &p, &err), CL_OK, "%s", err.msg);
    if (i > 0) { /* request 0 is the prior's choice, made at creation */
      cr_assert_eq(c.cut, p->rows[p->chosen].cut, "request %d", i);
      cr_assert_str_eq(c.codec, p->rows[p->chosen].codec);
      cr_assert(c.predicted_ms == p->rows[p->chosen].predicted_ms);
    }
    cl_plan_free(&p);
    /* a sample from a link that drifts from 1 Mbit/s to 10 Gbit/s and back */
    double bw = 1e6 * pow(10, 4 * (1 - abs(i - 150) / 150.0)), rtt = 0.05 + (i % 7) * 0.3;
    cl_adapt_sample s = {.cut = 0, .bytes_up = (uint64_t)rng_int(&rng, 100, 2000000), .bytes_down = 4000};
    s.wire_ms = rtt + (double)(s.bytes_up + s.bytes_down) * 8e3 / bw;
    cl_adapt_observe(a, &s);
  }
  cl_adapt_free(&a);
  cl_profile_free(&dev), cl_profile_free(&edge);
}
