/* cleave-device: --cut auto (auto.h). */
#include "auto.h"

#include <stdlib.h>
#include <string.h>

#include "cleave/adapt.h"
#include "cleave/plan.h"
#include "cleave/units.h"

#define DEFAULT_BANDWIDTH_BPS 10e6   /* --bandwidth 10mbit */
#define DEFAULT_RTT_MS 20.0          /* --rtt 20ms */

struct dev_auto {
  const cl_model_t *m;
  int n;
  int insecure;
  /* --plan: a fixed choice; the link is still estimated, for --stats. */
  cl_plan *plan;
  dev_choice fixed;
  cl_link_est est;
  /* --profile-device, --profile-edge: the chooser. */
  cl_profile *dev, *edge;
  cl_adapt_t *ad;
  cl_link prior;
};

static int fail(const char *path, const cl_error *err) {
  fprintf(stderr, "cleave-device: %s%s%s\n", path ? path : "", path ? ": " : "", err->msg);
  return 1;
}

/* The choice for a cut and a codec name ("" at cut n). */
static int make_choice(dev_auto *a, int cut, const char *codec, int probe, dev_choice *c) {
  memset(c, 0, sizeof *c);
  c->cut = cut;
  c->probe = probe;
  if (cut == a->n) return 0;
  cl_error err = {0};
  snprintf(c->codec_name, sizeof c->codec_name, "%s", codec);
  return cl_codec_parse(codec, &c->codec, &err) == CL_OK ? 0 : fail("codec", &err);
}

static int open_plan(dev_auto *a, const char *path) {
  cl_error err = {0};
  if (cl_plan_load(path, &a->plan, &err) != CL_OK) return fail(NULL, &err);   /* names the file */
  if (cl_plan_match_model(a->plan, a->m, &err) != CL_OK) return fail(path, &err);
  const cl_plan_row *r = &a->plan->rows[a->plan->chosen];
  if (r->cut < a->n && r->cut2 < a->n) {
    fprintf(stderr, "cleave-device: %s: the plan has two cuts (%d, %d: device, edge, cloud); "
            "cleave-device runs one\n", path, r->cut, r->cut2);
    return 1;
  }
  a->prior = a->plan->link;
  cl_link_est_init(&a->est, &a->prior, 0);
  int rc = make_choice(a, r->cut, r->codec, 0, &a->fixed);
  a->fixed.predicted_ms = r->predicted_ms;   /* the request's deadline: this times a margin */
  return rc;
}

static int open_profiles(dev_auto *a, const dev_config *cfg) {
  cl_error err = {0};
  const char *paths[2] = {cfg->profile_dev, cfg->profile_edge};
  cl_profile **ps[2] = {&a->dev, &a->edge};
  for (int i = 0; i < 2; i++) {
    if (cl_profile_load(paths[i], ps[i], &err) != CL_OK) return fail(NULL, &err);
    if (cl_profile_match_model(*ps[i], a->m, &err) != CL_OK) return fail(paths[i], &err);
  }
  a->prior.bandwidth_bps = cfg->bandwidth_bps > 0 ? cfg->bandwidth_bps : DEFAULT_BANDWIDTH_BPS;
  a->prior.rtt_ms = cfg->rtt_ms >= 0 ? cfg->rtt_ms : DEFAULT_RTT_MS;
  cl_adapt_options o = {.prior = a->prior, .insecure = cfg->insecure,
                        .codec = cfg->codec_given ? cfg->codec : NULL,
                        .min_cut = cfg->min_cut > 0 ? cfg->min_cut : 0};
  if (cl_adapt_create(a->dev, a->edge, &o, &a->ad, &err) != CL_OK) return fail("--cut auto", &err);
  return 0;
}

int dev_auto_open(const dev_config *cfg, const cl_model_t *m, dev_auto **out) {
  *out = NULL;
  dev_auto *a = calloc(1, sizeof *a);
  if (!a) return fprintf(stderr, "cleave-device: out of memory\n"), 1;
  a->m = m;
  a->n = cl_model_node_count(m);
  a->insecure = cfg->insecure;
  int rc = cfg->plan_path ? open_plan(a, cfg->plan_path) : open_profiles(a, cfg);
  if (rc != 0) {
    dev_auto_free(&a);
    return rc;
  }
  *out = a;
  return 0;
}

void dev_auto_free(dev_auto **ap) {
  if (!ap || !*ap) return;
  dev_auto *a = *ap;
  cl_plan_free(&a->plan);
  cl_adapt_free(&a->ad);
  cl_profile_free(&a->dev);
  cl_profile_free(&a->edge);
  free(a);
  *ap = NULL;
}

int dev_auto_next(dev_auto *a, dev_choice *c) {
  if (a->plan) {
    *c = a->fixed;
    return 0;
  }
  cl_adapt_choice ch;
  cl_error err = {0};
  if (cl_adapt_next(a->ad, &ch, &err) != CL_OK) return fail("--cut auto", &err);
  int rc = make_choice(a, ch.cut, ch.codec, ch.probe, c);
  c->predicted_ms = ch.predicted_ms;
  return rc;
}

void dev_auto_observe(dev_auto *a, int cut, const cl_split_result *res) {
  if (a->ad) {
    cl_adapt_sample s = {.cut = cut, .bytes_up = res->bytes_up, .bytes_down = res->bytes_down,
                         .wire_ms = res->wire_ms};
    cl_adapt_observe(a->ad, &s);
    return;
  }
  /* With a plan: the same estimate, for the record (the edge's reply seal taken out as the plan's
   * cost model counts it: not known here without the profiles, so the wire time as measured). */
  (void)cl_link_est_add(&a->est, (double)(res->bytes_up + res->bytes_down), res->wire_ms);
}

static const cl_link_est *estimator(const dev_auto *a) {
  return a->ad ? cl_adapt_estimator(a->ad) : &a->est;
}

void dev_auto_json(const dev_auto *a, FILE *f) {
  const cl_link_est *e = estimator(a);
  cl_link l;
  cl_link_est_get(e, &l);
  cl_adapt_stats st = {0};
  if (a->ad) cl_adapt_stats_get(a->ad, &st);
  fprintf(f, ", \"policy\": \"%s\", \"link_prior\": {\"bandwidth_bps\": %.6g, \"rtt_ms\": %.4f}",
          a->plan ? "plan" : "profiles", a->prior.bandwidth_bps, a->prior.rtt_ms);
  fprintf(f, ", \"link\": {\"bandwidth_bps\": %.6g, \"rtt_ms\": %.4f, \"rtt_samples\": %llu,"
          " \"bandwidth_samples\": %llu, \"changes\": %llu, \"rejected\": %llu}", l.bandwidth_bps,
          l.rtt_ms,
          (unsigned long long)e->rtt.samples, (unsigned long long)e->mspb.samples,
          (unsigned long long)(e->rtt.changes + e->mspb.changes), (unsigned long long)e->rejected);
  fprintf(f, ", \"cut_switches\": %llu, \"probes\": %llu, \"decisions\": %llu",
          (unsigned long long)st.switches, (unsigned long long)st.probes,
          (unsigned long long)st.decisions);
}

void dev_auto_print(const dev_auto *a) {
  cl_link l;
  cl_link_est_get(estimator(a), &l);
  cl_adapt_stats st = {0};
  if (a->ad) cl_adapt_stats_get(a->ad, &st);
  char bw[48];
  printf("  auto (%s): %llu cut switch%s, %llu probe%s; link estimate %s, RTT %.3f ms\n",
         a->plan ? "plan" : "profiles", (unsigned long long)st.switches,
         st.switches == 1 ? "" : "es", (unsigned long long)st.probes, st.probes == 1 ? "" : "s",
         cl_units_fmt_bandwidth(l.bandwidth_bps, bw, sizeof bw), l.rtt_ms);
}
