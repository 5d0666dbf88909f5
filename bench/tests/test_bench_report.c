/* cleave-bench: the summary maths, summary.md and the plots from a recorded run (no root needed).
 * The recorded run is bench/tests/data/recorded (a real `cleave-bench --quick`); CLEAVE_BENCH_DATA
 * names that directory (set by ctest). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plot.h"
#include "report.h"
#include "results.h"
#include "sweep.h"

static const char *recorded(void) {
  const char *d = getenv("CLEAVE_BENCH_DATA");
  return d && *d ? d : "bench/tests/data/recorded";
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  char *buf = calloc(1, 1 << 20);
  size_t n = fread(buf, 1, (1 << 20) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* === Maths === */

Test(report, speedup_takes_the_better_baseline_and_skips_missing_ones) {
  cr_assert_float_eq(cl_report_speedup(30, 60, 10), 3.0, 1e-12);
  cr_assert_float_eq(cl_report_speedup(60, 30, 10), 3.0, 1e-12);
  cr_assert_float_eq(cl_report_speedup(NAN, 30, 10), 3.0, 1e-12);
  cr_assert_float_eq(cl_report_speedup(30, NAN, 15), 2.0, 1e-12);
  cr_assert(isnan(cl_report_speedup(NAN, NAN, 10)));
  cr_assert(isnan(cl_report_speedup(30, 30, NAN)));
  cr_assert(isnan(cl_report_speedup(30, 30, 0)));
}

Test(report, regret_and_prediction_error) {
  cr_assert_float_eq(cl_report_regret(10.5, 10), 0.05, 1e-12);
  cr_assert_float_eq(cl_report_regret(10, 10), 0.0, 0);
  cr_assert(isnan(cl_report_regret(NAN, 10)));
  cr_assert(isnan(cl_report_regret(10, 0)));
  cr_assert_float_eq(cl_report_pred_error(9, 10), 0.1, 1e-12);
  cr_assert_float_eq(cl_report_pred_error(11, 10), 0.1, 1e-12);
  cr_assert(isnan(cl_report_pred_error(11, NAN)));
}

Test(report, quantiles_ignore_missing_values) {
  double v[] = {NAN, 4, 1, NAN, 3, 2};
  cr_assert_float_eq(cl_report_quantile(v, 6, 0.5), 2.5, 1e-12);
  cr_assert_float_eq(cl_report_quantile(v, 6, 0.0), 1, 0);
  cr_assert_float_eq(cl_report_quantile(v, 6, 1.0), 4, 0);
  cr_assert_float_eq(cl_report_quantile(v, 6, 0.95), 3.85, 1e-12);
  double none[] = {NAN, NAN};
  cr_assert(isnan(cl_report_quantile(none, 2, 0.5)));
  double g[] = {1, 4, NAN, -1};
  cr_assert_float_eq(cl_report_geomean(g, 4), 2.0, 1e-12);
  cr_assert_float_eq(cl_report_mean(g, 4), 4.0 / 3, 1e-12);
}

/* === Points === */

static void add(cl_results *rs, const char *strategy, int cut, double measured, double predicted) {
  cl_result r;
  cl_result_init(&r);
  snprintf(r.model, sizeof r.model, "m");
  r.bandwidth_mbit = 10;
  r.rtt_ms = 20;
  r.slowdown = 4;
  r.nodes = 10;
  snprintf(r.strategy, sizeof r.strategy, "%s", strategy);
  r.cut = cut;
  r.measured_ms = measured;
  r.predicted_ms = predicted;
  cr_assert_eq(cl_results_push(rs, &r), CL_OK);
}

Test(report, a_point_gathers_its_strategies) {
  cl_results rs = {0};
  add(&rs, "cut", 3, 12, 11);
  add(&rs, "cut", 5, 10, 10.5);
  add(&rs, "cut", 10, 30, 29);
  add(&rs, "device_only", 10, 30, 29);
  add(&rs, "edge_raw", 0, 90, 88);
  add(&rs, "edge_compressed", 0, NAN, NAN);   /* skipped: counts as slower than device-only */
  add(&rs, "planner", 3, 12, 11);
  add(&rs, "planner_uncal", 10, 30, 8);
  cl_point *pts = NULL;
  int n = 0;
  cl_error err = {0};
  cr_assert_eq(cl_report_points(&rs, &pts, &n, &err), CL_OK);
  cr_assert_eq(n, 1);
  cr_assert_eq(pts[0].best_cut, 5);
  cr_assert_float_eq(pts[0].best_ms, 10, 0);
  cr_assert_eq(pts[0].planner_cut, 3);
  cr_assert_float_eq(pts[0].speedup, 30.0 / 12, 1e-12);
  cr_assert_float_eq(pts[0].speedup_cloud, 90.0 / 12, 1e-12);
  cr_assert_float_eq(pts[0].regret, 0.2, 1e-12);
  cr_assert_float_eq(pts[0].regret_uncal, 2.0, 1e-12);
  cr_assert_eq(pts[0].measured_cuts, 3);
  free(pts);
  cl_results_free(&rs);
}

/* === A recorded run === */

static void out_dir(char *buf, size_t cap) {
  snprintf(buf, cap, "/tmp/cleave-bench-report-XXXXXX");
  cr_assert_not_null(mkdtemp(buf));
}

Test(report, summary_from_a_recorded_run) {
  char dir[64], path[256], csv[512];
  out_dir(dir, sizeof dir);
  snprintf(csv, sizeof csv, "%s/results.csv", recorded());
  cl_results rs = {0};
  cl_error err = {0};
  cr_assert_eq(cl_results_read(csv, &rs, &err), CL_OK, "%s", err.msg);
  cr_assert_gt(rs.n, 10);
  snprintf(path, sizeof path, "%s/summary.md", dir);
  cl_goodput_row g[2] = {{10, "up", 9.54, 1e6, 0.8}, {10, "down", 9.0, 1e6, 0.8}};
  cr_assert_eq(cl_report_write_summary(path, &rs, g, 2, "run line\n", &err), CL_OK, "%s", err.msg);
  char *md = slurp(path);
  cr_assert_not_null(md);
  const char *need[] = {"# cleave-bench summary", "run line", "## Shaped links: goodput against the set rate",
                        "| 10 | down | 9 | 90.0% |", "Largest deviation from the set rate: 10.0%",
                        "## Speed-up of the planner's cut", "### mobilenetv2", "| 4x | 20 |",
                        "## The planner's regret", "## Prediction error", "| mobilenetv2 | 4x |",
                        "## The compressed-input baseline", "jpeg-q90"};
  for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
    cr_assert_not_null(strstr(md, need[i]), "summary.md lacks '%s'", need[i]);
  free(md);
  cl_results_free(&rs);
}

Test(report, the_report_command_writes_summary_and_plots) {
  char dir[64], path[256];
  out_dir(dir, sizeof dir);
  cr_assert_eq(cl_sweep_report(dir, recorded()), 0);
  snprintf(path, sizeof path, "%s/summary.md", dir);
  char *md = slurp(path);
  cr_assert_not_null(md);
  cr_assert_not_null(strstr(md, "| 10 | up | 9.5 | 95.0% |"), "the recorded goodput is in the summary");
  cr_assert_not_null(strstr(md, "mode: quick"), "run.txt is quoted");
  free(md);
  const char *plots[] = {"latency_mobilenetv2_4x", "predicted_vs_measured"};
  for (int i = 0; i < 2; i++) {
    struct stat st;
    snprintf(path, sizeof path, "%s/plots/%s.dat", dir, plots[i]);
    cr_assert_eq(stat(path, &st), 0, "%s is missing", path);
    snprintf(path, sizeof path, "%s/plots/%s.gp", dir, plots[i]);
    cr_assert_eq(stat(path, &st), 0, "%s is missing", path);
    if (access("/usr/bin/gnuplot", X_OK) != 0) continue;   /* the images need gnuplot */
    const char *ext[] = {"png", "svg"};
    for (int e = 0; e < 2; e++) {
      snprintf(path, sizeof path, "%s/plots/%s.%s", dir, plots[i], ext[e]);
      cr_assert_eq(stat(path, &st), 0, "%s is missing", path);
      cr_assert_gt(st.st_size, 1000, "%s is nearly empty", path);
    }
  }
  snprintf(path, sizeof path, "%s/plots/predicted_vs_measured.svg", dir);
  char *svg = slurp(path);
  if (svg) cr_assert_not_null(strstr(svg, "<svg"));
  free(svg);
}

Test(report, a_missing_recorded_run_fails_with_one_line) {
  char dir[64];
  out_dir(dir, sizeof dir);
  cr_assert_eq(cl_sweep_report(dir, "/nonexistent-run"), 1);
}
