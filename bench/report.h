/* cleave-bench: the summary maths and summary.md.
 *
 * A point is one (model, bandwidth, rtt, slowdown). From its rows (results.h):
 *   speed-up        = min(device_only, edge_compressed) / planner           (measured medians)
 *   speed-up, cloud = edge_raw / planner           (Neurosurgeon's baseline: ship the raw input)
 *   regret          = planner / best - 1          (0: the planner's cut is the best measured cut)
 *   prediction error= |predicted - measured| / measured, per measured cut
 * A baseline that was not measured because even its wire time was far above the device-only time
 * (results.h: measured_ms NAN, note "skipped...") counts as slower than device-only: it cannot be
 * the minimum. These functions never fail on missing data: they give NAN, and the summary says "-". */
#ifndef CLEAVE_BENCH_REPORT_H
#define CLEAVE_BENCH_REPORT_H

#include "results.h"

typedef struct cl_point {
  char model[CL_RESULTS_NAME_MAX];
  double bandwidth_mbit, rtt_ms, slowdown;
  int nodes;
  double device_only, edge_raw, edge_compressed;   /* measured medians (NAN: missing or skipped) */
  char compressed_codec[CL_RESULTS_NAME_MAX];
  int planner_cut;                                  /* -1: no planner row */
  double planner_ms, planner_pred;
  int planner_uncal_cut;                              /* -1: no planner_uncal row */
  double planner_uncal_ms, planner_uncal_pred;
  int best_cut;
  double best_ms;
  int measured_cuts;                                /* "cut" rows with a measurement */
  double goodput_mbit;
  double speedup, speedup_cloud, regret, regret_uncal; /* as above (NAN when an input is missing) */
} cl_point;

/* min(device_only, compressed) / planner; a NAN baseline is left out of the min; NAN when both are
 * NAN or planner is NAN or <= 0. */
double cl_report_speedup(double device_only, double compressed, double planner);

/* planner / best - 1, or NAN. */
double cl_report_regret(double planner, double best);

/* |predicted - measured| / measured, or NAN. */
double cl_report_pred_error(double predicted, double measured);

/* The q-quantile (0..1, linear interpolation between order statistics) of the finite values among
 * v[0, n); sorts v in place (NANs last). NAN when there is none. */
double cl_report_quantile(double *v, int n, double q);

/* Geometric mean of the finite positive values, arithmetic mean of the finite ones; NAN if none. */
double cl_report_geomean(const double *v, int n);
double cl_report_mean(const double *v, int n);

/* Groups rows into points (sorted by model, slowdown, rtt, bandwidth) and computes each point's
 * figures. *out is malloc'd (the caller frees it). Errors: CL_ERR_NOMEM. */
cl_status cl_report_points(const cl_results *rs, cl_point **out, int *n, cl_error *err) CL_MUST_CHECK;

/* Writes summary.md to path: the run's description (the lines of run_txt, may be NULL), goodput
 * against set rates (g may be NULL), per model and link the speed-up and the planner's cut, the
 * speed-up against cloud-only, the regret distribution and the worst points, the prediction error,
 * and the compressed baseline's bytes and output difference. Errors: CL_ERR_IO, CL_ERR_NOMEM. */
cl_status cl_report_write_summary(const char *path, const cl_results *rs, const cl_goodput_row *g,
                                  int ng, const char *run_txt, cl_error *err) CL_MUST_CHECK;

#endif
