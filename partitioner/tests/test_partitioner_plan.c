/* cleave partitioner: the planner on hand-made profiles with known answers, and its choice against its
 * own table on random profiles (plan.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "synth.h"

#define EPS 1e-9

/* === A small chain with round numbers ===
 * 3 nodes of 10 ms on the device; values: input 1000 B, 10000 B, 100 B, output 10 B. */
static cl_profile *chain3(int with_f16) {
  double ms[3] = {10, 10, 10};
  uint64_t bytes[4] = {1000, 10000, 100, 10};
  return synth_chain(3, ms, bytes, with_f16);
}

static cl_plan *plan_ok(const cl_profile *d, const cl_profile *e, const cl_plan_options *o) {
  cl_plan *p = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_plan_make(d, e, o, &p, &err), CL_OK, "%s", err.msg);
  return p;
}

static cl_plan_options link(double bps, double rtt) {
  return (cl_plan_options){.link = {.bandwidth_bps = bps, .rtt_ms = rtt}, .accuracy_budget = -1};
}

#define CHOSEN(p) ((p)->rows[(p)->chosen].cut)

Test(plan, known_latency_table) {
  cl_profile *d = synth_finish(chain3(0)), *e = synth_scaled(d, 0.1);
  cl_plan_options o = link(800e3, 5); /* 100 kB/s: 1000 B = 10 ms */
  cl_plan *p = plan_ok(d, e, &o);
  double want[4] = {18.1, 117.1, 27.1, 30}; /* device + up + rtt + worker + reply (10 B = 0.1 ms) */
  for (int k = 0; k <= 3; k++)
    cr_assert(fabs(p->rows[k].predicted_ms - want[k]) < 1e-9, "cut %d: %.12g, want %g", k,
              p->rows[k].predicted_ms, want[k]);
  cr_assert_eq(CHOSEN(p), 0);
  cr_assert_eq(p->rows[0].bytes_up, 1000);
  cr_assert_eq(p->rows[0].bytes_down, 10);
  cr_assert(fabs(p->rows[2].up_ms - 1.0) < EPS && fabs(p->rows[2].worker_ms - 1.0) < EPS);
  cl_plan_free(&p);
  o.min_cut = 1; /* the raw input stays: cut 2 */
  p = plan_ok(d, e, &o);
  cr_assert_eq(CHOSEN(p), 2);
  cr_assert(!p->rows[0].feasible && strstr(p->rows[0].why, "min-cut"), "%s", p->rows[0].why);
  cl_plan_free(&p);
  o.min_cut = 3;
  p = plan_ok(d, e, &o);
  cr_assert_eq(CHOSEN(p), 3);
  cl_plan_free(&p);
  cl_profile_free(&d);
  cl_profile_free(&e);
}

Test(plan, memory_budget) {
  cl_profile *d = synth_finish(chain3(0)), *e = synth_scaled(d, 0.1);
  /* Peaks: cut 0 holds the input (1000 B); from cut 1 on, node 0 holds input + its output: 11000. */
  cr_assert_eq(d->cuts[0].peak_bytes, 1000);
  for (int k = 1; k <= 3; k++) cr_assert_eq(d->cuts[k].peak_bytes, 11000, "cut %d", k);
  cl_plan_options o = link(8e3, 5); /* slow: device only (30 ms) */
  cl_plan *p = plan_ok(d, e, &o);
  cr_assert_eq(CHOSEN(p), 3);
  cl_plan_free(&p);
  o.device_memory = 5000; /* only cut 0 fits */
  p = plan_ok(d, e, &o);
  cr_assert_eq(CHOSEN(p), 0);
  cr_assert(!p->rows[3].feasible && strstr(p->rows[3].why, "device needs"), "%s", p->rows[3].why);
  cl_plan_free(&p);
  o.min_cut = 1; /* nothing fits */
  cl_error err = {0};
  cr_assert_eq(cl_plan_make(d, e, &o, &p, &err), CL_ERR_ARG);
  cr_assert(strstr(err.msg, "no cut satisfies") != NULL, "%s", err.msg);
  cr_assert_null(p);
  cl_profile_free(&d);
  cl_profile_free(&e);
}

Test(plan, energy_objective) {
  cl_profile *d = synth_finish(chain3(0)), *e = synth_scaled(d, 0.1);
  cl_plan_options o = link(800e3, 5);
  o.objective = CL_PLAN_ENERGY;
  o.device_w = 1, o.radio_w = 5, o.idle_w = 0.1;
  cl_plan *p = plan_ok(d, e, &o);
  /* mJ: cut 0: wire 10.1 x 5 + wait 8 x 0.1; cut 2: 20 x 1 + 1.1 x 5 + 6 x 0.1; cut 3: 30 x 1. */
  double want[4] = {51.3, 511.2, 26.1, 30};
  for (int k = 0; k <= 3; k++)
    cr_assert(fabs(p->rows[k].energy_mj - want[k]) < 1e-9, "cut %d: %.12g mJ, want %g", k, p->rows[k].energy_mj,
              want[k]);
  cr_assert_eq(CHOSEN(p), 2, "energy picks cut 2 where latency picks cut 0");
  cl_plan_free(&p);
  o.radio_w = 0.01; /* a cheap radio: ship the input */
  p = plan_ok(d, e, &o);
  cr_assert_eq(CHOSEN(p), 0);
  cl_plan_free(&p);
  cl_profile_free(&d);
  cl_profile_free(&e);
}

Test(plan, throughput_objective) {
  cl_profile *d = synth_finish(chain3(0)), *e = synth_scaled(d, 0.1);
  cl_plan_options o = link(800e3, 50); /* a long RTT: latency keeps everything local */
  cl_plan *p = plan_ok(d, e, &o);
  cr_assert_eq(CHOSEN(p), 3);
  cl_plan_free(&p);
  o.objective = CL_PLAN_THROUGHPUT; /* pipelined, the RTT is hidden: the link (10.1 ms) is the slowest */
  p = plan_ok(d, e, &o);
  cr_assert_eq(CHOSEN(p), 0);
  double want[4] = {10.1, 100.1, 20, 30};
  for (int k = 0; k <= 3; k++)
    cr_assert(fabs(p->rows[k].stage_ms - want[k]) < 1e-9, "cut %d: stage %.12g", k, p->rows[k].stage_ms);
  cl_plan_free(&p);
  cl_profile_free(&d);
  cl_profile_free(&e);
}

Test(plan, two_cuts) {
  cl_profile *d = synth_finish(chain3(0)), *e = synth_scaled(d, 0.5), *c = synth_scaled(d, 0.01);
  cl_plan_options o = link(800e3, 5);
  o.cloud = c;
  o.cloud_link = (cl_link){.bandwidth_bps = 8e6, .rtt_ms = 2};
  cl_plan *p = plan_ok(d, e, &o);
  /* (0, 0): the edge relays the input: 10 + 5 + (1 + 2) + cloud 0.3 + reply 0.01 + 0.1 = 18.41. */
  const cl_plan_row *r = &p->rows[p->chosen];
  cr_assert(r->cut == 0 && r->cut2 == 0, "chosen %d, %d", r->cut, r->cut2);
  cr_assert(fabs(r->predicted_ms - 18.41) < 1e-9, "%.12g", r->predicted_ms);
  cr_assert(p->two_cuts);
  cl_plan_free(&p);
  o.min_cut = 1; /* (2, 2): 20 + 1 + 5 + (0.1 + 2) + 0.1 + 0.11 = 28.31 beats local 30 */
  p = plan_ok(d, e, &o);
  r = &p->rows[p->chosen];
  cr_assert(r->cut == 2 && r->cut2 == 2, "chosen %d, %d", r->cut, r->cut2);
  cr_assert(fabs(r->predicted_ms - 28.31) < 1e-9, "%.12g", r->predicted_ms);
  cr_assert(!p->rows[0].feasible && p->rows[0].cut2 == 0, "row 0 keeps its best pair, (0, 0), infeasible");
  cl_plan_free(&p);
  cl_profile_free(&d);
  cl_profile_free(&e);
  cl_profile_free(&c);
}

/* === Codecs and the accuracy budget === */

Test(plan, lossy_codec_only_within_a_measured_budget) {
  cl_profile *d = synth_finish(chain3(1));
  d->cuts[0].rel_l2[1] = 1e-3; /* f16 measured at cut 0 only */
  cl_profile *e = synth_scaled(d, 0.1);
  cl_plan_options o = link(800e3, 5);
  cl_plan *p = plan_ok(d, e, &o);
  cr_assert_str_eq(p->rows[0].codec, "raw", "no budget: lossless only");
  cl_plan_free(&p);
  o.accuracy_budget = 1e-2;
  p = plan_ok(d, e, &o);
  cr_assert_str_eq(p->rows[0].codec, "f16");
  cr_assert_eq(p->rows[0].bytes_up, 500);
  cr_assert_str_eq(p->rows[2].codec, "raw", "f16 not measured at cut 2");
  cl_plan_free(&p);
  o.accuracy_budget = 1e-4;
  p = plan_ok(d, e, &o);
  cr_assert_str_eq(p->rows[0].codec, "raw", "error above the budget");
  cl_plan_free(&p);
  o.accuracy_budget = 1e-2;
  d->cuts[0].max_abs = 40000; /* beyond half the float16 range */
  p = plan_ok(d, e, &o);
  cr_assert_str_eq(p->rows[0].codec, "raw");
  cl_plan_free(&p);
  d->cuts[0].max_abs = 1;
  e->cuts[0].rel_l2[1] = 3e-2; /* the worker's measurement is worse: it counts */
  p = plan_ok(d, e, &o);
  cr_assert_str_eq(p->rows[0].codec, "raw");
  cl_plan_free(&p);
  o.codec = "f16"; /* chosen explicitly: used everywhere */
  p = plan_ok(d, e, &o);
  for (int k = 0; k < 3; k++) cr_assert_str_eq(p->rows[k].codec, "f16");
  cl_plan_free(&p);
  o.codec = "int8";
  cl_error err = {0};
  cr_assert_eq(cl_plan_make(d, e, &o, &p, &err), CL_ERR_ARG);
  cr_assert(strstr(err.msg, "not profiled") != NULL, "%s", err.msg);
  cl_profile_free(&d);
  cl_profile_free(&e);
}

/* === Slow and fast links === */

/* A MobileNet-like chain: 60 nodes of 0.08 ms, frontiers from 600 kB down to 4 kB. */
static cl_profile *mobile_like(void) {
  double ms[60];
  uint64_t bytes[61];
  for (int i = 0; i < 60; i++) ms[i] = 0.08;
  for (int v = 0; v <= 60; v++) bytes[v] = (uint64_t)(602112.0 * pow(0.92, v)) + 4000;
  return synth_finish(synth_chain(60, ms, bytes, 0));
}

Test(plan, slow_link_keeps_everything_on_the_device) {
  cl_profile *d = mobile_like(), *e = synth_scaled(d, 0.1);
  cl_plan_options o = link(10e3, 20);
  for (int obj = CL_PLAN_LATENCY; obj <= CL_PLAN_THROUGHPUT; obj++) {
    o.objective = (cl_plan_objective)obj;
    o.device_w = 3, o.radio_w = 1, o.idle_w = 0.5;
    cl_plan *p = plan_ok(d, e, &o);
    cr_assert_eq(CHOSEN(p), 60, "objective %s", cl_plan_objective_name(p->objective));
    cl_plan_free(&p);
  }
  cl_profile_free(&d);
  cl_profile_free(&e);
}

Test(plan, fast_link_and_fast_worker_ship_early) {
  cl_profile *d = mobile_like(), *e = synth_scaled(d, 0.05);
  cl_plan_options o = link(10e9, 0.01);
  cl_plan *p = plan_ok(d, e, &o);
  cr_assert_eq(CHOSEN(p), 0);
  cl_plan_free(&p);
  o.min_cut = 7;
  p = plan_ok(d, e, &o);
  cr_assert_eq(CHOSEN(p), 7);
  cl_plan_free(&p);
  cl_profile_free(&d);
  cl_profile_free(&e);
}

/* === The choice is the minimum of the table === */

static void check_table(const cl_plan *p) {
  double best = cl_plan_row_cost(p, &p->rows[p->chosen]);
  cr_assert(p->rows[p->chosen].feasible);
  for (int k = 0; k <= p->n_nodes; k++) {
    const cl_plan_row *r = &p->rows[k];
    cr_assert_eq(r->cut, k);
    double sum = r->device_ms + r->encode_ms + r->up_ms + r->rtt_ms + r->decode_ms + r->worker_ms +
                 r->hop2_ms + r->cloud_ms + r->reply_ms;
    cr_assert(fabs(sum - r->predicted_ms) <= 1e-9 * (1 + sum), "row %d: parts %.12g, total %.12g", k, sum,
              r->predicted_ms);
    if (r->feasible) cr_assert_geq(cl_plan_row_cost(p, r), best, "row %d beats the chosen row", k);
    else cr_assert(r->why[0], "row %d: infeasible without a reason", k);
  }
}

Test(plan, choice_is_the_minimum_of_its_table_on_random_profiles) {
  uint64_t rng = 2024;
  int made = 0, refused = 0;
  for (int g = 0; g < 300; g++) {
    cl_profile *d = synth_random(&rng, rng_int(&rng, 1, 30));
    cl_profile *e = synth_scaled(d, 0.02 + 2 * rng_unit(&rng));
    cl_profile *c = rng_int(&rng, 0, 4) == 0 ? synth_scaled(d, 0.01 + rng_unit(&rng)) : NULL;
    cl_plan_options o = link(1e3 * pow(10, rng_unit(&rng) * 7), rng_unit(&rng) * 50);
    o.objective = (cl_plan_objective)rng_int(&rng, 0, 2);
    o.device_w = rng_unit(&rng) * 5, o.radio_w = rng_unit(&rng) * 5, o.idle_w = rng_unit(&rng) + 0.01;
    o.min_cut = rng_int(&rng, 0, 2) ? 0 : rng_int(&rng, 0, d->n_nodes);
    o.device_memory = rng_int(&rng, 0, 2) ? 0 : (uint64_t)rng_int(&rng, 1, 3 << 20);
    o.accuracy_budget = rng_int(&rng, 0, 1) ? -1 : rng_unit(&rng) * 1e-2;
    o.codec = rng_int(&rng, 0, 3) ? "auto" : (rng_int(&rng, 0, 1) ? "raw+shuffle" : "f16");
    o.cloud = c;
    o.cloud_link = (cl_link){1e6 * pow(10, rng_unit(&rng) * 3), rng_unit(&rng) * 10};
    cl_plan *p = NULL;
    cl_error err = {0};
    if (cl_plan_make(d, e, &o, &p, &err) != CL_OK) {
      cr_assert(strstr(err.msg, "no cut satisfies") != NULL, "%s", err.msg);
      for (int k = o.min_cut; k <= d->n_nodes; k++) /* really nothing fits */
        cr_assert_gt(d->cuts[k].peak_bytes + d->cuts[k].weight_bytes, o.device_memory);
      refused++;
    } else {
      check_table(p);
      made++;
      uint8_t *buf;
      size_t len;
      cl_plan *q = NULL;
      cr_assert_eq(cl_plan_encode(p, &buf, &len, &err), CL_OK, "%s", err.msg);
      cr_assert_eq(cl_plan_decode(buf, len, &q, &err), CL_OK, "%s", err.msg);
      cr_assert_eq(q->chosen, p->chosen);
      free(buf);
      cl_plan_free(&q);
    }
    cl_plan_free(&p);
    cl_profile_free(&d);
    cl_profile_free(&e);
    cl_profile_free(&c);
  }
  cr_log_info("random plans: %d made, %d refused (nothing fits)", made, refused);
  cr_assert_gt(made, 200);
}

Test(plan, auto_codec_is_the_best_allowed_per_cut) {
  uint64_t rng = 99;
  for (int g = 0; g < 100; g++) {
    cl_profile *d = synth_random(&rng, rng_int(&rng, 1, 20)), *e = synth_scaled(d, 0.1 + rng_unit(&rng));
    cl_plan_options o = link(1e4 * pow(10, rng_unit(&rng) * 5), rng_unit(&rng) * 20);
    cl_plan *a = plan_ok(d, e, &o);
    const char *lossless[2] = {"raw", "raw+shuffle"};
    for (int c = 0; c < 2; c++) {
      o.codec = lossless[c];
      cl_plan *f = plan_ok(d, e, &o);
      for (int k = 0; k < d->n_nodes; k++)
        cr_assert_leq(a->rows[k].predicted_ms, f->rows[k].predicted_ms + 1e-12, "cut %d, %s", k, lossless[c]);
      cl_plan_free(&f);
    }
    o.codec = NULL;
    cl_plan_free(&a);
    cl_profile_free(&d);
    cl_profile_free(&e);
  }
}

/* === Refusals === */

Test(plan, profiles_of_different_models_are_refused) {
  cl_profile *d = synth_finish(chain3(0)), *e = synth_scaled(d, 0.1);
  e->model_hash[3] ^= 1;
  cl_plan_options o = link(1e6, 5);
  cl_plan *p = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_plan_make(d, e, &o, &p, &err), CL_ERR_ARG);
  cr_assert(strstr(err.msg, "different models") != NULL, "%s", err.msg);
  e->model_hash[3] ^= 1;
  snprintf(e->nodes[1].name, sizeof e->nodes[1].name, "other");
  cl_error_clear(&err);
  cr_assert_eq(cl_plan_make(d, e, &o, &p, &err), CL_ERR_ARG);
  cr_assert(strstr(err.msg, "node 1") != NULL, "%s", err.msg);
  double ms[4] = {1, 1, 1, 1};
  uint64_t bytes[5] = {1, 1, 1, 1, 1};
  cl_profile *f = synth_finish(synth_chain(4, ms, bytes, 0));
  cl_error_clear(&err);
  cr_assert_eq(cl_plan_make(d, f, &o, &p, &err), CL_ERR_ARG);
  cr_assert(strstr(err.msg, "nodes") != NULL, "%s", err.msg);
  o.link.bandwidth_bps = 0;
  cl_error_clear(&err);
  cr_assert_eq(cl_plan_make(d, d, &o, &p, &err), CL_ERR_ARG);
  cl_profile_free(&d);
  cl_profile_free(&e);
  cl_profile_free(&f);
}
