/* cleave-bench: plots with gnuplot (plot.h). */
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "report.h"

#define MAXV 64

static const char *find_gnuplot(void) {
  static char path[512];
  const char *p = getenv("PATH");
  char buf[4096];
  snprintf(buf, sizeof buf, "%s:/usr/bin:/bin", p ? p : "");
  for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    snprintf(path, sizeof path, "%s/gnuplot", d);
    if (access(path, X_OK) == 0) return path;
  }
  return NULL;
}

static void put(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, " %.6g", v);
  else fprintf(f, " -");
}

/* The common head of every script: the loop over both terminals. */
static void script_head(FILE *f, const char *base, int w, int h) {
  fprintf(f,
          "# cleave-bench: redraw with `gnuplot %s.gp`\n"
          "set datafile missing '-'\n"
          "do for [fmt in 'png svg'] {\n"
          "  if (fmt eq 'png') { set terminal pngcairo size %d,%d font 'DejaVu Sans,10' noenhanced }\n"
          "  else { set terminal svg size %d,%d dynamic font 'DejaVu Sans,10' noenhanced }\n"
          "  set output '%s.'.fmt\n",
          base, w, h, w, h, base);
}

static cl_status run_gnuplot(const char *gp, const char *script, int *made, cl_error *err) {
  char *argv[] = {(char *)gp, (char *)script, NULL};
  cl_status st = cl_proc_run(argv, NULL, 120, NULL, 0, err);
  if (st == CL_OK && made) *made += 2;
  return st == CL_OK ? CL_OK : CL_ERR_BACKEND;
}

/* === Latency against bandwidth === */

static cl_status latency_plot(const char *pdir, const cl_point *pts, int n, const char *model,
                              double slowdown, const char *gp, int *made, cl_error *err) {
  char base[1400], path[1500];
  snprintf(base, sizeof base, "%s/latency_%s_%gx", pdir, model, slowdown);
  double rtts[MAXV];
  int nr = 0;
  for (int i = 0; i < n; i++) {
    if (strcmp(pts[i].model, model) != 0 || pts[i].slowdown != slowdown) continue;
    int seen = 0;
    for (int j = 0; j < nr; j++) seen |= rtts[j] == pts[i].rtt_ms;
    if (!seen && nr < MAXV) rtts[nr++] = pts[i].rtt_ms;
  }
  for (int a = 0; a < nr; a++)
    for (int b = a + 1; b < nr; b++)
      if (rtts[b] < rtts[a]) { double t = rtts[a]; rtts[a] = rtts[b]; rtts[b] = t; }
  snprintf(path, sizeof path, "%s.dat", base);
  FILE *f = fopen(path, "w");
  if (!f) return cl_error_set(err, CL_ERR_IO, "%s: %s", path, strerror(errno));
  int has_cal = 0;
  for (int r = 0; r < nr; r++) {
    fprintf(f, "# RTT %g ms: bandwidth_mbit device_only edge_raw edge_compressed planner best planner_uncal\n",
            rtts[r]);
    for (int i = 0; i < n; i++) {   /* points come sorted by bandwidth within a model/slowdown/rtt */
      const cl_point *p = &pts[i];
      if (strcmp(p->model, model) != 0 || p->slowdown != slowdown || p->rtt_ms != rtts[r]) continue;
      fprintf(f, "%g", p->bandwidth_mbit);
      put(f, p->device_only);
      put(f, p->edge_raw);
      put(f, p->edge_compressed);
      put(f, p->planner_ms);
      put(f, p->best_ms);
      put(f, p->planner_uncal_ms);
      fprintf(f, "\n");
      has_cal |= isfinite(p->planner_uncal_ms);
    }
    fprintf(f, "\n\n");
  }
  fclose(f);
  snprintf(path, sizeof path, "%s.gp", base);
  f = fopen(path, "w");
  if (!f) return cl_error_set(err, CL_ERR_IO, "%s: %s", path, strerror(errno));
  script_head(f, base, 520 * (nr > 0 ? nr : 1), 440);
  fprintf(f,
          "  set multiplot layout 1,%d title '%s, device slowed %gx: median latency of one request'\n"
          "  set logscale xy\n  set grid\n  set xlabel 'bandwidth (Mbit/s)'\n  set ylabel 'ms'\n"
          "  set key top right font ',8'\n",
          nr > 0 ? nr : 1, model, slowdown);
  for (int r = 0; r < nr; r++) {
    fprintf(f,
            "  set title 'RTT %g ms'\n"
            "  plot '%s.dat' index %d using 1:2 with linespoints lw 2 pt 5 title 'device only', \\\n"
            "       '' index %d using 1:3 with linespoints pt 9 title 'cloud-only, raw input', \\\n"
            "       '' index %d using 1:4 with linespoints pt 11 title 'compressed input', \\\n"
            "       '' index %d using 1:6 with lines dt 2 lw 3 title 'best measured cut', \\\n"
            "       '' index %d using 1:5 with linespoints lw 2 pt 7 title 'planner''s cut'%s",
            rtts[r], base, r, r, r, r, r, has_cal ? ", \\\n" : "\n");
    if (has_cal)
      fprintf(f, "       '' index %d using 1:7 with points pt 6 ps 1.5 title 'planner, uncalibrated profile'\n", r);
  }
  fprintf(f, "  unset multiplot\n}\n");
  fclose(f);
  return gp ? run_gnuplot(gp, path, made, err) : CL_OK;
}

/* === Predicted against measured === */

static cl_status pvm_plot(const char *pdir, const cl_results *rs, const char *gp, int *made, cl_error *err) {
  char base[1400], path[1500];
  snprintf(base, sizeof base, "%s/predicted_vs_measured", pdir);
  const char *models[MAXV];
  int nm = 0;
  double lo = INFINITY, hi = 0;
  for (int i = 0; i < rs->n; i++) {
    const cl_result *r = &rs->rows[i];
    if (strcmp(r->strategy, "cut") != 0 || !isfinite(r->predicted_ms) || !isfinite(r->measured_ms)) continue;
    int seen = 0;
    for (int m = 0; m < nm; m++) seen |= strcmp(models[m], r->model) == 0;
    if (!seen && nm < MAXV) models[nm++] = r->model;
    double a = fmin(r->predicted_ms, r->measured_ms), b = fmax(r->predicted_ms, r->measured_ms);
    if (a > 0 && a < lo) lo = a;
    if (b > hi) hi = b;
  }
  if (nm == 0) return CL_OK;   /* no planner: nothing to compare */
  snprintf(path, sizeof path, "%s.dat", base);
  FILE *f = fopen(path, "w");
  if (!f) return cl_error_set(err, CL_ERR_IO, "%s: %s", path, strerror(errno));
  for (int m = 0; m < nm; m++) {
    fprintf(f, "# %s: predicted_ms measured_ms slowdown rtt_ms bandwidth_mbit cut\n", models[m]);
    for (int i = 0; i < rs->n; i++) {
      const cl_result *r = &rs->rows[i];
      if (strcmp(r->strategy, "cut") != 0 || strcmp(r->model, models[m]) != 0 || !isfinite(r->predicted_ms) ||
          !isfinite(r->measured_ms))
        continue;
      fprintf(f, "%.6g %.6g %g %g %g %d\n", r->predicted_ms, r->measured_ms, r->slowdown, r->rtt_ms,
              r->bandwidth_mbit, r->cut);
    }
    fprintf(f, "\n\n");
  }
  fclose(f);
  snprintf(path, sizeof path, "%s.gp", base);
  f = fopen(path, "w");
  if (!f) return cl_error_set(err, CL_ERR_IO, "%s: %s", path, strerror(errno));
  script_head(f, base, 760, 640);
  fprintf(f,
          "  set title 'Every measured cut: the planner''s prediction against the measured median'\n"
          "  set logscale xy\n  set grid\n  set size ratio -1\n"
          "  set xrange [%g:%g]\n  set yrange [%g:%g]\n"
          "  set xlabel 'predicted (ms)'\n  set ylabel 'measured (ms)'\n  set key top left\n"
          "  plot x with lines lc 'black' title 'measured = predicted', \\\n"
          "       1.1*x with lines dt 2 lc 'gray' title '+-10%%', 0.9*x with lines dt 2 lc 'gray' notitle",
          lo / 1.5, hi * 1.5, lo / 1.5, hi * 1.5);
  for (int m = 0; m < nm; m++)
    fprintf(f, ", \\\n       '%s.dat' index %d using 1:2 with points pt %d ps 0.8 title '%s'", base, m,
            (m % 6) + 5, models[m]);
  fprintf(f, "\n}\n");
  fclose(f);
  return gp ? run_gnuplot(gp, path, made, err) : CL_OK;
}

cl_status cl_plot_render(const char *dir, const cl_results *rs, int *made, cl_error *err) {
  if (made) *made = 0;
  char pdir[1024];
  snprintf(pdir, sizeof pdir, "%s/plots", dir);
  if (mkdir(pdir, 0755) != 0 && errno != EEXIST)
    return cl_error_set(err, CL_ERR_IO, "%s: %s", pdir, strerror(errno));
  const char *gp = find_gnuplot();
  cl_point *pts;
  int n;
  cl_status st = cl_report_points(rs, &pts, &n, err);
  if (st != CL_OK) return st;
  for (int i = 0; i < n && st == CL_OK; i++) {
    int first = 1;   /* one plot per (model, slowdown): at its first point */
    for (int j = 0; j < i && first; j++)
      first = !(strcmp(pts[j].model, pts[i].model) == 0 && pts[j].slowdown == pts[i].slowdown);
    if (first) st = latency_plot(pdir, pts, n, pts[i].model, pts[i].slowdown, gp, made, err);
  }
  if (st == CL_OK) st = pvm_plot(pdir, rs, gp, made, err);
  free(pts);
  if (st == CL_OK && !gp)
    return cl_error_set(err, CL_ERR_UNSUPPORTED, "gnuplot is not installed (apt-get install gnuplot-nox): "
                                                 "the plot data and scripts are in %s", pdir);
  return st;
}
