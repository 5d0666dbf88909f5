/* cleave-bench: one point of the sweep (sweep_int.h): the planner's tables, the cuts to measure, the
 * baselines, the planner's choice and the best measured cut, each a row of results.csv. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "planner.h"
#include "sweep_int.h"

/* === Rows === */

static void row_base(cl_result *r, const cl_model_case *m, double bw, double rtt, double slow, double goodput,
                     const char *strategy) {
  cl_result_init(r);
  cl_bench_fmt(r->model, sizeof r->model, "%s", m->name);
  r->bandwidth_mbit = bw;
  r->rtt_ms = rtt;
  r->slowdown = slow;
  r->nodes = m->nodes;
  r->goodput_mbit = goodput;
  cl_bench_fmt(r->strategy, sizeof r->strategy, "%s", strategy);
  FILE *f = fopen("/proc/loadavg", "r");
  if (f && fscanf(f, "%lf", &r->load_avg) != 1) r->load_avg = NAN;
  if (f) fclose(f);
}

static void row_measure(cl_result *r, const cl_measure *me) {
  if (me->ok) {
    r->measured_ms = me->median;
    r->p90_ms = me->p90;
    r->mean_ms = me->mean;
    r->runs = me->runs;
    r->bytes_up = me->bytes_up;
    r->bytes_down = me->bytes_down;
    r->device_ms = me->device;
    r->encode_ms = me->encode;
    r->wire_ms = me->wire;
    r->edge_ms = me->edge;
    r->out_rel_l2 = me->rel_l2;
  }
  if (me->why[0]) cl_bench_fmt(r->note, sizeof r->note, "%s", me->why);
}

static int emit(sweep *s, const cl_result *r) {
  if (cl_results_write_row(s->csv, r) != 0) {
    cl_sweep_say("%s/results.csv: write error", s->dir);
    return -1;
  }
  return 0;
}

int cl_sweep_runs_for(const sweep *s, double est_ms) {
  const cl_sweep_opts *o = s->o;
  if (!isfinite(est_ms) || est_ms <= 0) return o->min_runs;
  double n = ceil(o->target_s * 1000 / est_ms);
  if (n < o->min_runs) n = o->min_runs;
  if (n > o->max_runs) n = o->max_runs;
  return (int)n;
}

/* === One point === */

typedef struct cut_pick {
  int on;                       /* measure it */
  char codec[32];
  double est_ms;                /* expected time of one request */
  double pred, pred_uncal;      /* the planner's prediction: calibrated profile, as measured */
  cl_measure me;
} cut_pick;

/* Marks the cuts to measure (picks[k].on) and their codecs and estimates. plan comes from the
 * calibrated device profile, uplan (may be NULL) from the profile as measured. */
static void choose_cuts(sweep *s, const cl_model_case *m, const slow_ctx *sc, const cl_planner_table *plan,
                        const cl_planner_table *uplan, double rtt, double goodput, cut_pick *picks) {
  const cl_sweep_opts *o = s->o;
  int n = m->nodes;
  double cap = o->max_request_s * 1000;
  for (int k = 0; k <= n; k++) {
    cut_pick *p = &picks[k];
    memset(p, 0, sizeof *p);
    p->pred = p->pred_uncal = NAN;
    const cl_planner_row *row = cl_planner_row_of(plan, k), *urow = cl_planner_row_of(uplan, k);
    if (urow && urow->feasible) p->pred_uncal = urow->predicted_ms;
    if (row && row->feasible) {
      cl_bench_fmt(p->codec, sizeof p->codec, "%s", row->codec[0] ? row->codec : "raw");
      p->pred = row->predicted_ms;
      p->est_ms = p->pred;
    } else {
      /* No plan: the raw frontier over the goodput (LZ4 may shrink it), the RTT, the device's share. */
      cl_bench_fmt(p->codec, sizeof p->codec, "raw");
      p->est_ms = m->cut_bytes[k] * 8 / (goodput * 1e3) * 0.5 + rtt + sc->local.median * k / n;
    }
  }
  picks[n].on = 1;   /* device only: measured once per slowdown, free here */
  if (plan && plan->rows) {
    picks[plan->chosen_cut].on = 1;
    if (uplan && uplan->rows) picks[uplan->chosen_cut].on = 1;
    /* The best predicted cuts, by the planner's prediction and by the uncalibrated one. */
    for (int pass = 0; pass < 2; pass++) {
      int want = pass == 0 ? o->top_k : (uplan ? o->top_k / 2 : 0);
      for (int t = 0; t < want; t++) {
        int best = -1;
        for (int k = 0; k <= n; k++) {
          double v = pass == 0 ? picks[k].pred : picks[k].pred_uncal;
          if (picks[k].on || !isfinite(v) || picks[k].est_ms > cap) continue;
          if (best < 0 || v < (pass == 0 ? picks[best].pred : picks[best].pred_uncal)) best = k;
        }
        if (best >= 0) picks[best].on = 1;
      }
    }
  }
  if (picks[0].est_ms <= cap) picks[0].on = 1;
  for (int p = 1; p <= o->probes; p++) {   /* probes spread over the model */
    int target = (int)lround((double)p * n / (o->probes + 1)), best = -1;
    for (int k = 1; k < n; k++)
      if (picks[k].est_ms <= cap && (best < 0 || abs(k - target) < abs(best - target))) best = k;
    if (best >= 0) picks[best].on = 1;
  }
  if (o->all_cuts || !(plan && plan->rows))
    for (int k = 0; k <= n; k++)
      if (picks[k].est_ms <= cap && (o->all_cuts || k % ((n + 7) / 8) == 0)) picks[k].on = 1;
}

int cl_sweep_run_point(sweep *s, const cl_model_case *m, const slow_ctx *sc, int bi, double rtt) {
  const cl_sweep_opts *o = s->o;
  double bw = o->bandwidths[bi], goodput = s->goodput[bi], slow = sc->slowdown;
  int n = m->nodes;
  double cap = o->max_request_s * 1000;
  char tagbase[256];
  cl_bench_fmt(tagbase, sizeof tagbase, "%s-%gx-%gms-%gmbit", m->name, slow, rtt, bw);
  cl_planner_table plan = {0}, plan_nolz4 = {0}, plan_raw = {0}, uplan = {0};
  double plan_bps = (o->plan_with_set_rate || !isfinite(goodput) ? bw : goodput) * 1e6;
  int have_plan = 0, have_uplan = 0;
  if (s->planner && sc->have_profiles) {
    cl_error err = {0};
    const char *pp = s->run.partitioner;
    cl_sweep_progress(s, "planning");
    if (cl_planner_plan(pp, sc->dev_profile, sc->edge_profile, plan_bps, rtt, NULL, &plan, &err) != CL_OK ||
        cl_planner_plan(pp, sc->dev_profile, sc->edge_profile, plan_bps, rtt, "raw+nolz4", &plan_nolz4, &err) != CL_OK ||
        cl_planner_plan(pp, sc->dev_profile, sc->edge_profile, plan_bps, rtt, "raw", &plan_raw, &err) != CL_OK ||
        (sc->dev_profile_raw[0] &&
         cl_planner_plan(pp, sc->dev_profile_raw, sc->edge_profile, plan_bps, rtt, NULL, &uplan, &err) != CL_OK)) {
      cl_sweep_say("%s: the planner failed (%s): this point is measured without it", tagbase, err.msg);
    } else if (plan.nodes != n || (uplan.rows && uplan.nodes != n)) {
      cl_sweep_say("%s: the plan has %d nodes, the model %d: ignored", tagbase, plan.nodes, n);
    } else {
      have_plan = 1;
      have_uplan = uplan.rows != NULL;
    }
  }
  cut_pick *picks = calloc((size_t)n + 1, sizeof *picks);
  if (!picks) { cl_sweep_say("out of memory"); return -1; }
  choose_cuts(s, m, sc, have_plan ? &plan : NULL, have_uplan ? &uplan : NULL, rtt, goodput, picks);
  int total = 0, at = 0;
  for (int k = 0; k < n; k++) total += picks[k].on;
  /* === The cuts === */
  for (int k = 0; k < n && !cl_proc_stop; k++) {
    if (!picks[k].on) continue;
    char what[96], tag[400];
    cl_bench_fmt(what, sizeof what, "cut %d %s (%d/%d)", k, picks[k].codec, ++at, total);
    cl_sweep_progress(s, what);
    cl_bench_fmt(tag, sizeof tag, "%s-cut%d-%s", tagbase, k, picks[k].codec);
    cl_runner_split(&s->run, m, k, picks[k].codec, cl_sweep_runs_for(s, picks[k].est_ms), picks[k].est_ms, tag, &picks[k].me);
  }
  picks[n].me = sc->local;
  int best = -1, rc = 0;
  for (int k = 0; k <= n && rc == 0; k++) {
    if (!picks[k].on) continue;
    cl_result r;
    row_base(&r, m, bw, rtt, slow, goodput, "cut");
    r.cut = k;
    cl_bench_fmt(r.codec, sizeof r.codec, "%s", k == n ? "-" : picks[k].codec);
    r.predicted_ms = picks[k].pred;
    r.predicted_uncal_ms = picks[k].pred_uncal;
    row_measure(&r, &picks[k].me);
    if (k == n && !r.note[0]) cl_bench_fmt(r.note, sizeof r.note, "device only: measured once per slowdown");
    rc = emit(s, &r);
    if (picks[k].me.ok && (best < 0 || picks[k].me.median < picks[best].me.median)) best = k;
  }
  /* === The baselines === */
  cl_result r;
  row_base(&r, m, bw, rtt, slow, goodput, "device_only");
  r.cut = n;
  cl_bench_fmt(r.codec, sizeof r.codec, "-");
  r.predicted_ms = picks[n].pred;
  r.predicted_uncal_ms = picks[n].pred_uncal;
  row_measure(&r, &sc->local);
  if (!r.note[0]) cl_bench_fmt(r.note, sizeof r.note, "no network: measured once per slowdown");
  if (rc == 0) rc = emit(s, &r);

  /* Cloud-only with the raw input: cut 0 without compression. */
  const cl_planner_row *r0 = cl_planner_row_of(have_plan ? &plan_nolz4 : NULL, 0);
  double lb = (m->cut_bytes[0] * 8 / (goodput * 1e3)) + rtt;   /* the wire alone: a lower bound */
  double est = r0 ? r0->predicted_ms : lb + sc->edge_run_ms;
  row_base(&r, m, bw, rtt, slow, goodput, "edge_raw");
  r.cut = 0;
  cl_bench_fmt(r.codec, sizeof r.codec, "raw+nolz4");
  r.predicted_ms = r0 ? r0->predicted_ms : NAN;
  if (est > cap) {
    cl_bench_fmt(r.note, sizeof r.note, "skipped: expected %.0f ms a request > --max-request %.0f ms", est, cap);
  } else if (!cl_proc_stop) {
    cl_measure me;
    char tag[400];
    cl_sweep_progress(s, "cloud-only, raw input");
    cl_bench_fmt(tag, sizeof tag, "%s-edge_raw", tagbase);
    cl_runner_split(&s->run, m, 0, "raw+nolz4", cl_sweep_runs_for(s, est), est, tag, &me);
    row_measure(&r, &me);
  }
  if (rc == 0) rc = emit(s, &r);

  /* Compressed input: JPEG for images, LZ4 of the raw input otherwise. */
  row_base(&r, m, bw, rtt, slow, goodput, "edge_compressed");
  r.cut = 0;
  const cl_planner_row *rl = cl_planner_row_of(have_plan ? &plan_raw : NULL, 0);
  if (m->camera) {
    cl_bench_fmt(r.codec, sizeof r.codec, "jpeg-q%d", o->jpeg_quality);
    double down = rl && isfinite(rl->bytes_down) ? rl->bytes_down : 0;   /* the reply: LZ4, as ours */
    lb = (m->jpeg_bytes + down) * 8 / (goodput * 1e3) + rtt;
    est = lb + (isfinite(sc->edge_run_ms) ? sc->edge_run_ms : 0);
  } else {
    cl_bench_fmt(r.codec, sizeof r.codec, "raw");
    r.predicted_ms = rl ? rl->predicted_ms : NAN;
    est = rl ? rl->predicted_ms : lb + sc->edge_run_ms;
  }
  /* Skipped only when it cannot be the better baseline: slower than the cap and than device-only. */
  if (est > cap && (!sc->local.ok || est > 2 * sc->local.median)) {
    cl_bench_fmt(r.note, sizeof r.note, "skipped: expected %.0f ms a request > --max-request %.0f ms and > "
             "2x device-only", est, cap);
  } else if (!cl_proc_stop) {
    cl_measure me;
    char tag[400];
    cl_sweep_progress(s, m->camera ? "compressed input (JPEG)" : "compressed input (LZ4)");
    cl_bench_fmt(tag, sizeof tag, "%s-edge_compressed", tagbase);
    if (m->camera) cl_runner_camera(&s->run, m, o->jpeg_quality, cl_sweep_runs_for(s, est), est, tag, &me);
    else cl_runner_split(&s->run, m, 0, "raw", cl_sweep_runs_for(s, est), est, tag, &me);
    row_measure(&r, &me);
    if (me.ok && isfinite(me.top1_agree))
      cl_bench_fmt(r.note, sizeof r.note, "top-1 class %s the local run's", me.top1_agree > 0.5 ? "equals" : "differs from");
    else if (me.ok && isfinite(me.mask_agree))
      cl_bench_fmt(r.note, sizeof r.note, "%.2f%% of the map on the local run's side of 0.3", 100 * me.mask_agree);
  }
  if (rc == 0) rc = emit(s, &r);

  /* === The planner's choices and the best measured cut === */
  if (have_plan && rc == 0) {
    int c = plan.chosen_cut;
    row_base(&r, m, bw, rtt, slow, goodput, "planner");
    r.cut = c;
    cl_bench_fmt(r.codec, sizeof r.codec, "%s", c == n ? "-" : picks[c].codec);
    r.predicted_ms = plan.chosen_ms;
    r.predicted_uncal_ms = picks[c].pred_uncal;
    row_measure(&r, &picks[c].me);
    cl_bench_fmt(r.note, sizeof r.note, "device profile's node times x %.2f (throttle calibration)", sc->cal_f);
    rc = emit(s, &r);
    if (have_uplan && rc == 0) {
      int u = uplan.chosen_cut;
      row_base(&r, m, bw, rtt, slow, goodput, "planner_uncal");
      r.cut = u;
      cl_bench_fmt(r.codec, sizeof r.codec, "%s", u == n ? "-" : picks[u].codec);
      r.predicted_ms = uplan.chosen_ms;
      r.predicted_uncal_ms = uplan.chosen_ms;
      row_measure(&r, &picks[u].me);
      cl_bench_fmt(r.note, sizeof r.note, "the device profile as measured under the quota (its codec %s)",
                   uplan.chosen_codec[0] ? uplan.chosen_codec : "-");
      rc = emit(s, &r);
    }
  }
  if (best >= 0 && rc == 0 && !cl_proc_stop) {
    row_base(&r, m, bw, rtt, slow, goodput, "best");
    r.cut = best;
    cl_bench_fmt(r.codec, sizeof r.codec, "%s", best == n ? "-" : picks[best].codec);
    r.predicted_ms = picks[best].pred;
    r.predicted_uncal_ms = picks[best].pred_uncal;
    row_measure(&r, &picks[best].me);
    int measured = 0;
    for (int k = 0; k <= n; k++) measured += picks[k].on && picks[k].me.ok;
    cl_bench_fmt(r.note, sizeof r.note, "best of %d measured cuts", measured);
    rc = emit(s, &r);
  }
  free(picks);
  cl_planner_table_free(&plan);
  cl_planner_table_free(&plan_nolz4);
  cl_planner_table_free(&plan_raw);
  cl_planner_table_free(&uplan);
  return rc;
}
