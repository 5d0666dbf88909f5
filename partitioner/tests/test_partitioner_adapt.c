/* cleave partitioner tests: the live link estimate and the cut chooser with hysteresis (adapt.h),
 * on synthetic request timings from a link whose truth the test knows. */
#include "cleave/adapt.h"
#include "synth.h"

/* === Link estimate === */

/* Wire time of `bytes` on a link, with a relative noise in [-noise, noise]. */
static double wire_of(const cl_link *l, double bytes, double noise, uint64_t *rng) {
  double t = l->rtt_ms + bytes * 8e3 / l->bandwidth_bps;
  return t * (1 + noise * (2 * rng_unit(rng) - 1));
}

static double rel(double a, double b) { return fabs(a - b) / b; }

Test(link_est, converges_to_the_true_link_from_a_wrong_prior) {
  cl_link prior = {10e6, 20}, truth = {50e6, 2};
  cl_link_est e;
  cl_link_est_init(&e, &prior, 0);
  uint64_t rng = 1;
  for (int i = 0; i < 60; i++) {
    double bytes = i % 2 ? 2e6 : 500;
    cl_link_sample_use u = cl_link_est_add(&e, bytes, wire_of(&truth, bytes, 0.05, &rng));
    cr_assert_neq(u, CL_LINK_SAMPLE_REJECTED);
  }
  cl_link l;
  cl_link_est_get(&e, &l);
  cr_assert_lt(rel(l.rtt_ms, truth.rtt_ms), 0.05, "RTT %g ms, truth %g", l.rtt_ms, truth.rtt_ms);
  cr_assert_lt(rel(l.bandwidth_bps, truth.bandwidth_bps), 0.05, "bandwidth %g, truth %g",
               l.bandwidth_bps, truth.bandwidth_bps);
  cr_assert_gt(e.rtt.samples, 20);
  cr_assert_gt(e.mspb.samples, 20);
}

Test(link_est, converges_on_a_loopback_like_link) {
  /* RTT 0.06 ms, 8 Gbit/s: requests of 5 kB (RTT-bound) and 600 kB (bandwidth-bound). */
  cl_link prior = {1e9, 1}, truth = {8e9, 0.06};
  cl_link_est e;
  cl_link_est_init(&e, &prior, 0);
  uint64_t rng = 7;
  for (int i = 0; i < 80; i++) {
    double bytes = i % 3 ? 6e5 : 5e3;
    (void)cl_link_est_add(&e, bytes, wire_of(&truth, bytes, 0.1, &rng));
  }
  cl_link l;
  cl_link_est_get(&e, &l);
  cr_assert_lt(rel(l.rtt_ms, truth.rtt_ms), 0.15, "RTT %g ms", l.rtt_ms);
  cr_assert_lt(rel(l.bandwidth_bps, truth.bandwidth_bps), 0.1, "bandwidth %g", l.bandwidth_bps);
}

Test(link_est, ignores_single_outliers) {
  cl_link prior = {10e6, 20}, truth = {50e6, 2};
  cl_link_est e;
  cl_link_est_init(&e, &prior, 0);
  uint64_t rng = 2;
  for (int i = 0; i < 60; i++) {
    double bytes = i % 2 ? 2e6 : 500;
    (void)cl_link_est_add(&e, bytes, wire_of(&truth, bytes, 0.02, &rng));
  }
  cl_link before, after;
  cl_link_est_get(&e, &before);
  /* One huge and one tiny sample of each kind, each followed by normal ones. */
  double odd[4][2] = {{500, 200}, {2e6, 5000}, {500, 0.001}, {2e6, 3}};
  for (int j = 0; j < 4; j++) {
    (void)cl_link_est_add(&e, odd[j][0], odd[j][1]);
    cl_link_est_get(&e, &after);
    cr_assert_lt(rel(after.rtt_ms, before.rtt_ms), 0.03, "outlier %d moved the RTT to %g", j, after.rtt_ms);
    cr_assert_lt(rel(after.bandwidth_bps, before.bandwidth_bps), 0.03, "outlier %d moved the bandwidth to %g",
                 j, after.bandwidth_bps);
    for (int i = 0; i < 4; i++) {
      double bytes = i % 2 ? 2e6 : 500;
      (void)cl_link_est_add(&e, bytes, wire_of(&truth, bytes, 0.02, &rng));
    }
  }
  /* Every fifth sample wild (20 % of them): the estimate stays. */
  for (int i = 0; i < 100; i++) {
    double bytes = i % 2 ? 2e6 : 500;
    double w = wire_of(&truth, bytes, 0.02, &rng);
    (void)cl_link_est_add(&e, bytes, i % 5 == 4 ? w * (i % 10 == 4 ? 30 : 0.05) : w);
  }
  cl_link_est_get(&e, &after);
  cr_assert_lt(rel(after.rtt_ms, truth.rtt_ms), 0.05, "RTT %g", after.rtt_ms);
  cr_assert_lt(rel(after.bandwidth_bps, truth.bandwidth_bps), 0.05, "bandwidth %g", after.bandwidth_bps);
  /* A first sample that is an outlier leaves the prior. */
  cl_link_est_init(&e, &prior, 0);
  (void)cl_link_est_add(&e, 500, 900);
  cl_link_est_get(&e, &after);
  cr_assert_eq(after.rtt_ms, prior.rtt_ms);
  cr_assert_eq(after.bandwidth_bps, prior.bandwidth_bps);
}

Test(link_est, follows_a_real_change_within_a_few_samples) {
  cl_link prior = {50e6, 2}, slow = {5e6, 2};
  cl_link_est e;
  cl_link_est_init(&e, &prior, 0);
  uint64_t rng = 3;
  for (int i = 0; i < 30; i++) (void)cl_link_est_add(&e, 2e6, wire_of(&prior, 2e6, 0.02, &rng));
  for (int i = 0; i < 3; i++) (void)cl_link_est_add(&e, 2e6, wire_of(&slow, 2e6, 0.02, &rng));
  cl_link l;
  cl_link_est_get(&e, &l);
  cr_assert_lt(rel(l.bandwidth_bps, slow.bandwidth_bps), 0.05, "bandwidth %g after 3 slow samples", l.bandwidth_bps);
  cr_assert_eq(e.mspb.changes, 1);
}

Test(link_est, one_size_teaches_the_prediction_at_that_size) {
  cl_link prior = {100e6, 10}, truth = {20e6, 1};
  cl_link_est e;
  cl_link_est_init(&e, &prior, 0);
  uint64_t rng = 4;
  double bytes = 1e6, w = 0;
  for (int i = 0; i < 40; i++) (void)cl_link_est_add(&e, bytes, w = wire_of(&truth, bytes, 0.02, &rng));
  cl_link l;
  cl_link_est_get(&e, &l);
  double predicted = l.rtt_ms + bytes * 8e3 / l.bandwidth_bps, real = wire_of(&truth, bytes, 0, &rng);
  cr_assert_lt(rel(predicted, real), 0.03, "predicted %g ms, real %g ms", predicted, real);
  cr_assert_eq(l.rtt_ms, prior.rtt_ms, "no RTT observation: the RTT stays");
  cr_assert_eq(e.rtt.samples, 0);
  (void)w;
}

Test(link_est, refuses_bad_samples) {
  cl_link prior = {10e6, 20};
  cl_link_est e;
  cl_link_est_init(&e, &prior, 0);
  cr_assert_eq(cl_link_est_add(&e, NAN, 1), CL_LINK_SAMPLE_REJECTED);
  cr_assert_eq(cl_link_est_add(&e, 100, INFINITY), CL_LINK_SAMPLE_REJECTED);
  cr_assert_eq(cl_link_est_add(&e, -1, 1), CL_LINK_SAMPLE_REJECTED);
  cr_assert_eq(cl_link_est_add(&e, 100, -1), CL_LINK_SAMPLE_REJECTED);
  cr_assert_eq(cl_link_est_add(&e, 0, 0), CL_LINK_SAMPLE_REJECTED);
  cr_assert_eq(e.rejected, 5);
  cl_link l;
  cl_link_est_get(&e, &l);
  cr_assert_eq(l.rtt_ms, 20);
  cr_assert_eq(l.bandwidth_bps, 10e6);
}

/* === The chooser === */

/* A 3-node chain: 2 ms per node on the device, 0.2 ms on the edge; the input 1 MB, then 100 kB,
 * 10 kB, the output 1 kB. Cut 1 wins on fast links, cut 3 (all on the device) on slow ones, and
 * cuts 1 and 2 cost the same at 400 Mbit/s (RTT 1 ms). */
static cl_profile *dev3, *edge3;

static void chain_setup(void) {
  double ms[3] = {2, 2, 2};
  uint64_t bytes[4] = {1000000, 100000, 10000, 1000};
  dev3 = synth_finish(synth_chain(3, ms, bytes, 0));
  edge3 = synth_scaled(dev3, 0.1);
}

static void chain_teardown(void) {
  cl_profile_free(&dev3);
  cl_profile_free(&edge3);
}

typedef struct sim {
  cl_adapt_t *a;
  uint64_t rng;
  double noise;
  int cuts[4];         /* requests per cut */
  int last_cut;
} sim;

static void sim_start(sim *s, const cl_adapt_options *o) {
  cl_error err = {0};
  memset(s, 0, sizeof *s);
  s->rng = 11;
  s->noise = 0.03;
  cr_assert_eq(cl_adapt_create(dev3, edge3, o, &s->a, &err), CL_OK, "%s", err.msg);
}

/* Runs `count` requests on link l; returns the request index (from 0) after which the current
 * cut was `want` for good (-1: it was not at the end). */
static int sim_run(sim *s, const cl_link *l, int count, int want) {
  int since = -1;
  for (int i = 0; i < count; i++) {
    cl_adapt_choice c;
    cl_error err = {0};
    cr_assert_eq(cl_adapt_next(s->a, &c, &err), CL_OK, "%s", err.msg);
    s->cuts[c.cut]++;
    if (c.cut < 3) {
      cl_adapt_sample smp = {.cut = c.cut, .bytes_up = dev3->cuts[c.cut].codec[0].bytes,
                             .bytes_down = edge3->cuts[3].codec[0].bytes};
      smp.wire_ms = wire_of(l, (double)(smp.bytes_up + smp.bytes_down), s->noise, &s->rng);
      cl_adapt_observe(s->a, &smp);
    }
    cl_adapt_choice cur;
    cl_adapt_current(s->a, &cur);
    if (cur.cut == want && since < 0) since = i;
    if (cur.cut != want) since = -1;
    s->last_cut = cur.cut;
  }
  return since;
}

static cl_adapt_stats sim_stats(const sim *s) {
  cl_adapt_stats st;
  cl_adapt_stats_get(s->a, &st);
  return st;
}

TestSuite(adapt, .init = chain_setup, .fini = chain_teardown);

Test(adapt, first_choice_is_the_priors_best) {
  cl_adapt_options o = {.prior = {1e9, 1}};
  sim s;
  sim_start(&s, &o);
  cl_adapt_choice c;
  cl_adapt_current(s.a, &c);
  cr_assert_eq(c.cut, 1);
  cr_assert_str_eq(c.codec, "raw");
  cl_adapt_free(&s.a);
  o.prior = (cl_link){10e6, 1};
  sim_start(&s, &o);
  cl_adapt_current(s.a, &c);
  cr_assert_eq(c.cut, 3);
  cr_assert_str_eq(c.codec, "");
  o.min_cut = 2, o.prior = (cl_link){1e9, 1};
  cl_adapt_free(&s.a);
  sim_start(&s, &o);
  cl_adapt_current(s.a, &c);
  cr_assert_eq(c.cut, 2, "the minimum cut holds");
  cl_adapt_free(&s.a);
}

/* The link swings between 350 and 460 Mbit/s (RTT 0.1 ms), every 20 requests: cuts 1 and 2 take
 * turns as the best, within 6 % of each other, and both teach the estimate the bandwidth. */
static int swinging(const cl_adapt_options *o) {
  sim s;
  sim_start(&s, o);
  for (int block = 0; block < 30; block++) {
    cl_link l = {block % 2 ? 460e6 : 350e6, 0.1};
    (void)sim_run(&s, &l, 20, -1);
  }
  cl_adapt_stats st = sim_stats(&s);
  cr_assert_eq(st.requests, 600);
  cl_adapt_free(&s.a);
  return (int)st.switches;
}

Test(adapt, no_flapping_between_cuts_within_the_margin) {
  cl_adapt_options o = {.prior = {400e6, 0.1}};
  cr_assert_eq(swinging(&o), 0, "switched between cuts 1 and 2 whose times differ by < 10 %%");
  /* The same without hysteresis flaps: the test can see flapping. */
  cl_adapt_options none = {.prior = {400e6, 0.1}, .margin = -1, .margin_ms = -1, .persist = 1,
                           .every = 1, .dwell = -1};
  int flaps = swinging(&none);
  cr_assert_geq(flaps, 10, "without hysteresis only %d switches: the swing does not move the best cut", flaps);
}

/* Requests on a steady 400 Mbit/s link where cuts 1 and 2 tie, each sample's wire time off by up
 * to +-noise (uniform): returns the switches. */
static int steady_noisy(const cl_adapt_options *o, double noise) {
  sim s;
  sim_start(&s, o);
  s.noise = noise;
  cl_link steady = {400e6, 0.1};
  (void)sim_run(&s, &steady, 1000, -1);
  cl_adapt_stats st = sim_stats(&s);
  cr_assert_eq(st.samples, 1000, "every request at a split cut was observed");
  cl_adapt_free(&s.a);
  return (int)st.switches;
}

Test(adapt, no_flapping_on_a_noisy_estimate) {
  /* +-25 % on the wire time (+-36 % on the bandwidth samples of cut 2, whose RTT is a third of
   * it): the estimate wanders, and the best cut with it, the current cut does not. */
  cl_adapt_options o = {.prior = {400e6, 0.1}};
  int sw = steady_noisy(&o, 0.25);
  cr_assert_eq(sw, 0, "%d switches on a steady link", sw);
  /* +-40 % (+-58 % per bandwidth sample): at most one switch, never back and forth. */
  sw = steady_noisy(&o, 0.4);
  cr_assert_leq(sw, 1, "%d switches on a steady link", sw);
  /* Without hysteresis the same noise makes it flap: the noise does move the best cut. */
  cl_adapt_options none = {.prior = {400e6, 0.1}, .margin = -1, .margin_ms = -1, .persist = 1,
                           .every = 1, .dwell = -1};
  sw = steady_noisy(&none, 0.25);
  cr_assert_geq(sw, 20, "only %d switches without hysteresis", sw);
}

Test(adapt, a_real_change_under_noise_switches_once) {
  /* The same noise, then the link drops to 10 Mbit/s for good: one switch, to cut 3. */
  cl_adapt_options o = {.prior = {1e9, 1}};
  sim s;
  sim_start(&s, &o);
  s.noise = 0.4;
  cl_link fast = {1e9, 1}, slow = {10e6, 1};
  (void)sim_run(&s, &fast, 200, 1);
  cr_assert_eq(sim_stats(&s).switches, 0);
  int at = sim_run(&s, &slow, 300, 3);
  cr_assert(at >= 0 && at <= 15, "local (cut 3) %d requests after the link slowed down", at);
  cr_assert_eq(sim_stats(&s).switches, 1);
  cl_adapt_free(&s.a);
}

Test(adapt, switches_after_a_real_change_persists_and_back) {
  cl_adapt_options o = {.prior = {1e9, 1}};
  sim s;
  sim_start(&s, &o);
  cl_link fast = {1e9, 1}, slow = {10e6, 1};
  cr_assert_eq(sim_run(&s, &fast, 100, 1), 0, "stays at cut 1 on the fast link");
  cr_assert_eq(sim_stats(&s).switches, 0);
  int at = sim_run(&s, &slow, 300, 3);
  cr_assert(at >= 0 && at <= 15, "local (cut 3) %d requests after the link slowed down", at);
  cl_adapt_stats st = sim_stats(&s);
  cr_assert_eq(st.switches, 1, "%llu switches", (unsigned long long)st.switches);
  cr_assert_gt(st.probes, 2, "the link is probed while local");
  cr_assert_lt(st.probes, 12, "%llu probes: they back off", (unsigned long long)st.probes);
  /* The probes have backed off to one in CL_ADAPT_PROBE_MAX requests by now: the recovery is seen
   * at the next probe, confirmed at once. */
  at = sim_run(&s, &fast, 400, 1);
  cr_assert(at >= 0 && at <= CL_ADAPT_PROBE_MAX + 10, "back at cut 1 %d requests after the link recovered", at);
  cr_assert_eq(sim_stats(&s).switches, 2);
  /* A recovery soon after the switch to local is seen within the first probe intervals. */
  (void)sim_run(&s, &slow, 40, 3);
  cr_assert_eq(s.last_cut, 3);
  at = sim_run(&s, &fast, 100, 1);
  cr_assert(at >= 0 && at <= 2 * CL_ADAPT_DEFAULT_PROBE + 10, "back at cut 1 %d requests after", at);
  cl_adapt_free(&s.a);
}

Test(adapt, a_short_blip_is_not_followed) {
  cl_adapt_options o = {.prior = {1e9, 1}};
  sim s;
  sim_start(&s, &o);
  cl_link fast = {1e9, 1}, slow = {10e6, 1};
  (void)sim_run(&s, &fast, 50, 1);
  (void)sim_run(&s, &slow, 2, 1);
  (void)sim_run(&s, &fast, 100, 1);
  cr_assert_eq(sim_stats(&s).switches, 0);
  cr_assert_eq(s.last_cut, 1);
  cl_adapt_free(&s.a);
}

Test(adapt, reconsiders_at_most_every_n_requests) {
  cl_adapt_options o = {.prior = {1e9, 1}, .every = 5};
  sim s;
  sim_start(&s, &o);
  cl_link fast = {1e9, 1};
  (void)sim_run(&s, &fast, 101, 1);
  cr_assert_eq(sim_stats(&s).decisions, 20);
  cl_adapt_free(&s.a);
}

Test(adapt, refuses_bad_options_and_other_models) {
  cl_error err = {0};
  cl_adapt_t *a = NULL;
  cl_adapt_options bad = {.prior = {0, 1}};
  cr_assert_eq(cl_adapt_create(dev3, edge3, &bad, &a, &err), CL_ERR_ARG);
  cr_assert_null(a);
  bad = (cl_adapt_options){.prior = {1e6, 1}, .min_cut = 9};
  cr_assert_eq(cl_adapt_create(dev3, edge3, &bad, &a, &err), CL_ERR_ARG);
  cl_error_clear(&err);
  bad = (cl_adapt_options){.prior = {1e6, 1}, .codec = "f16"};
  cr_assert_eq(cl_adapt_create(dev3, edge3, &bad, &a, &err), CL_ERR_ARG, "a codec not profiled");
  cl_error_clear(&err);
  double ms[4] = {1, 1, 1, 1};
  uint64_t bytes[5] = {10, 10, 10, 10, 10};
  cl_profile *other = synth_finish(synth_chain(4, ms, bytes, 0));
  cl_adapt_options o = {.prior = {1e6, 1}};
  cr_assert_eq(cl_adapt_create(dev3, other, &o, &a, &err), CL_ERR_ARG);
  cr_assert_null(a);
  cl_profile_free(&other);
}
