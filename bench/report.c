/* cleave-bench: the summary maths and summary.md (report.h). */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* === Maths === */

double cl_report_speedup(double device_only, double compressed, double planner) {
  if (!isfinite(planner) || planner <= 0) return NAN;
  double base = NAN;
  if (isfinite(device_only)) base = device_only;
  if (isfinite(compressed) && (!isfinite(base) || compressed < base)) base = compressed;
  return isfinite(base) ? base / planner : NAN;
}

double cl_report_regret(double planner, double best) {
  if (!isfinite(planner) || !isfinite(best) || best <= 0) return NAN;
  return planner / best - 1.0;
}

double cl_report_pred_error(double predicted, double measured) {
  if (!isfinite(predicted) || !isfinite(measured) || measured <= 0) return NAN;
  return fabs(predicted - measured) / measured;
}

static int cmp_nan_last(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  int fx = isfinite(x), fy = isfinite(y);
  if (fx != fy) return fx ? -1 : 1;
  if (!fx) return 0;
  return (x > y) - (x < y);
}

double cl_report_quantile(double *v, int n, double q) {
  qsort(v, (size_t)n, sizeof *v, cmp_nan_last);
  int m = 0;
  while (m < n && isfinite(v[m])) m++;
  if (m == 0) return NAN;
  double pos = q * (m - 1);
  int lo = (int)floor(pos);
  if (lo >= m - 1) return v[m - 1];
  return v[lo] + (pos - lo) * (v[lo + 1] - v[lo]);
}

double cl_report_geomean(const double *v, int n) {
  double s = 0;
  int m = 0;
  for (int i = 0; i < n; i++)
    if (isfinite(v[i]) && v[i] > 0) { s += log(v[i]); m++; }
  return m ? exp(s / m) : NAN;
}

double cl_report_mean(const double *v, int n) {
  double s = 0;
  int m = 0;
  for (int i = 0; i < n; i++)
    if (isfinite(v[i])) { s += v[i]; m++; }
  return m ? s / m : NAN;
}

/* === Points === */

static int same_point(const cl_point *p, const cl_result *r) {
  return strcmp(p->model, r->model) == 0 && p->bandwidth_mbit == r->bandwidth_mbit &&
         p->rtt_ms == r->rtt_ms && p->slowdown == r->slowdown;
}

static int cmp_point(const void *a, const void *b) {
  const cl_point *x = a, *y = b;
  int c = strcmp(x->model, y->model);
  if (c) return c;
  if (x->slowdown != y->slowdown) return x->slowdown < y->slowdown ? -1 : 1;
  if (x->rtt_ms != y->rtt_ms) return x->rtt_ms < y->rtt_ms ? -1 : 1;
  if (x->bandwidth_mbit != y->bandwidth_mbit) return x->bandwidth_mbit < y->bandwidth_mbit ? -1 : 1;
  return 0;
}

static void point_init(cl_point *p, const cl_result *r) {
  memset(p, 0, sizeof *p);
  snprintf(p->model, sizeof p->model, "%s", r->model);
  p->bandwidth_mbit = r->bandwidth_mbit;
  p->rtt_ms = r->rtt_ms;
  p->slowdown = r->slowdown;
  p->nodes = r->nodes;
  p->device_only = p->edge_raw = p->edge_compressed = NAN;
  p->planner_cut = p->planner_uncal_cut = p->best_cut = -1;
  p->planner_ms = p->planner_pred = p->planner_uncal_ms = p->planner_uncal_pred = p->best_ms = NAN;
  p->goodput_mbit = NAN;
}

static void point_add(cl_point *p, const cl_result *r) {
  if (r->nodes > 0) p->nodes = r->nodes;
  if (isfinite(r->goodput_mbit)) p->goodput_mbit = r->goodput_mbit;
  if (strcmp(r->strategy, "device_only") == 0) p->device_only = r->measured_ms;
  else if (strcmp(r->strategy, "edge_raw") == 0) p->edge_raw = r->measured_ms;
  else if (strcmp(r->strategy, "edge_compressed") == 0) {
    p->edge_compressed = r->measured_ms;
    snprintf(p->compressed_codec, sizeof p->compressed_codec, "%s", r->codec);
  } else if (strcmp(r->strategy, "planner") == 0) {
    p->planner_cut = r->cut;
    p->planner_ms = r->measured_ms;
    p->planner_pred = r->predicted_ms;
  } else if (strcmp(r->strategy, "planner_uncal") == 0) {
    p->planner_uncal_cut = r->cut;
    p->planner_uncal_ms = r->measured_ms;
    p->planner_uncal_pred = r->predicted_ms;
  } else if (strcmp(r->strategy, "cut") == 0 && isfinite(r->measured_ms)) {
    p->measured_cuts++;
    if (!isfinite(p->best_ms) || r->measured_ms < p->best_ms) {
      p->best_ms = r->measured_ms;
      p->best_cut = r->cut;
    }
  }
}

cl_status cl_report_points(const cl_results *rs, cl_point **out, int *n, cl_error *err) {
  *out = NULL;
  *n = 0;
  cl_point *pts = NULL;
  int np = 0, cap = 0;
  for (int i = 0; i < rs->n; i++) {
    const cl_result *r = &rs->rows[i];
    int k = 0;
    while (k < np && !same_point(&pts[k], r)) k++;
    if (k == np) {
      if (np == cap) {
        cap = cap ? cap * 2 : 32;
        cl_point *np2 = realloc(pts, (size_t)cap * sizeof *np2);
        if (!np2) { free(pts); return cl_error_set(err, CL_ERR_NOMEM, "out of memory"); }
        pts = np2;
      }
      point_init(&pts[np++], r);
    }
    point_add(&pts[k], r);
  }
  for (int k = 0; k < np; k++) {
    cl_point *p = &pts[k];
    /* "best" rows are copies of a cut row; recomputed here so a partial file still adds up. */
    p->speedup = cl_report_speedup(p->device_only, p->edge_compressed, p->planner_ms);
    p->speedup_cloud = isfinite(p->edge_raw) && isfinite(p->planner_ms) && p->planner_ms > 0
                           ? p->edge_raw / p->planner_ms : NAN;
    p->regret = cl_report_regret(p->planner_ms, p->best_ms);
    p->regret_uncal = cl_report_regret(p->planner_uncal_ms, p->best_ms);
  }
  if (np > 1) qsort(pts, (size_t)np, sizeof *pts, cmp_point);
  *out = pts;
  *n = np;
  return CL_OK;
}

/* === summary.md === */

/* v with `decimals` decimals and a suffix ("x", "%"), or "-". */
static void fmt_num(char *buf, size_t cap, double v, int decimals, const char *suffix) {
  if (isfinite(v)) snprintf(buf, cap, "%.*f%s", decimals, v, suffix);
  else snprintf(buf, cap, "-");
}

static void fmt_cut(char *buf, size_t cap, int cut, int nodes) {
  if (cut < 0) snprintf(buf, cap, "-");
  else if (nodes > 0 && cut == nodes) snprintf(buf, cap, "dev");
  else snprintf(buf, cap, "%d", cut);
}

/* Distinct sorted values of one field over the points of a model (or all models when model NULL). */
static int distinct(const cl_point *pts, int n, const char *model, size_t off, double *vals, int cap) {
  int m = 0;
  for (int i = 0; i < n; i++) {
    if (model && strcmp(pts[i].model, model) != 0) continue;
    double v = 0;
    memcpy(&v, (const char *)&pts[i] + off, sizeof v);
    int seen = 0;
    for (int j = 0; j < m; j++) seen |= vals[j] == v;
    if (!seen && m < cap) vals[m++] = v;
  }
  qsort(vals, (size_t)m, sizeof *vals, cmp_nan_last);
  return m;
}

static const cl_point *find_point(const cl_point *pts, int n, const char *model, double s, double rtt,
                                  double bw) {
  for (int i = 0; i < n; i++)
    if (strcmp(pts[i].model, model) == 0 && pts[i].slowdown == s && pts[i].rtt_ms == rtt &&
        pts[i].bandwidth_mbit == bw)
      return &pts[i];
  return NULL;
}

#define MAXV 64

/* Per model: the speed-up (and the planner's cut) for every slowdown x rtt row and bandwidth column. */
static void write_speedup_tables(FILE *f, const cl_point *pts, int n, const char *model) {
  double bws[MAXV], rtts[MAXV], sls[MAXV];
  int nb = distinct(pts, n, model, offsetof(cl_point, bandwidth_mbit), bws, MAXV);
  int nr = distinct(pts, n, model, offsetof(cl_point, rtt_ms), rtts, MAXV);
  int ns = distinct(pts, n, model, offsetof(cl_point, slowdown), sls, MAXV);
  fprintf(f, "| slowdown | RTT ms |");
  for (int b = 0; b < nb; b++) fprintf(f, " %g Mbit/s |", bws[b]);
  fprintf(f, "\n|---|---|");
  for (int b = 0; b < nb; b++) fprintf(f, "---|");
  fprintf(f, "\n");
  for (int s = 0; s < ns; s++)
    for (int r = 0; r < nr; r++) {
      fprintf(f, "| %gx | %g |", sls[s], rtts[r]);
      for (int b = 0; b < nb; b++) {
        const cl_point *p = find_point(pts, n, model, sls[s], rtts[r], bws[b]);
        char sp[32], cut[16], best[16];
        if (!p) { fprintf(f, " |"); continue; }
        fmt_num(sp, sizeof sp, p->speedup, 2, "x");
        fmt_cut(cut, sizeof cut, p->planner_cut, p->nodes);
        fmt_cut(best, sizeof best, p->best_cut, p->nodes);
        if (p->best_cut == p->planner_cut) fprintf(f, " %s (%s) |", sp, cut);
        else fprintf(f, " %s (%s; best %s) |", sp, cut, best);
      }
      fprintf(f, "\n");
    }
}

typedef struct stats {
  int n;
  double median, p90, p95, max, mean, geomean;
} stats;

static stats summarise(double *v, int n) {
  stats s = {0, NAN, NAN, NAN, NAN, NAN, NAN};
  for (int i = 0; i < n; i++) s.n += isfinite(v[i]) != 0;
  s.mean = cl_report_mean(v, n);
  s.geomean = cl_report_geomean(v, n);
  s.median = cl_report_quantile(v, n, 0.5);
  s.p90 = cl_report_quantile(v, n, 0.9);
  s.p95 = cl_report_quantile(v, n, 0.95);
  s.max = cl_report_quantile(v, n, 1.0);
  return s;
}

/* Fraction of the finite values that are <= lim. */
static double share_below(const double *v, int n, double lim) {
  int m = 0, k = 0;
  for (int i = 0; i < n; i++)
    if (isfinite(v[i])) { m++; k += v[i] <= lim; }
  return m ? (double)k / m : NAN;
}

static void write_goodput(FILE *f, const cl_goodput_row *g, int ng) {
  fprintf(f, "## Shaped links: goodput against the set rate\n\n"
             "TCP payload at the receiver, first to last byte, through tbf (one veth pair between the\n"
             "device's and the edge's network namespaces). A TCP/IPv4 packet of 1514 bytes on the wire\n"
             "carries at most 1448 bytes of payload (with timestamps): 95.6%% is the ceiling.\n\n"
             "| set rate Mbit/s | direction | goodput Mbit/s | goodput / set |\n|---|---|---|---|\n");
  for (int i = 0; i < ng; i++)
    fprintf(f, "| %g | %s | %.3g | %.1f%% |\n", g[i].set_mbit, g[i].direction, g[i].goodput_mbit,
            100.0 * g[i].goodput_mbit / g[i].set_mbit);
  double worst = 0;
  for (int i = 0; i < ng; i++) {
    double d = fabs(g[i].goodput_mbit / g[i].set_mbit - 1);
    if (d > worst) worst = d;
  }
  fprintf(f, "\nLargest deviation from the set rate: %.1f%% (the goal: within 10%%).\n\n", 100 * worst);
}

static void write_regret(FILE *f, const cl_point *pts, int n, const char *const *models, int nm,
                         int cal) {
  double *v = malloc(sizeof *v * (size_t)(n ? n : 1));
  if (!v) return;
  fprintf(f, "| model | points | median | p95 | max | points with regret <= 5%% |\n"
             "|---|---|---|---|---|---|\n");
  for (int m = 0; m <= nm; m++) {
    int k = 0;
    for (int i = 0; i < n; i++)
      if (m == nm || strcmp(pts[i].model, models[m]) == 0) v[k++] = cal ? pts[i].regret_uncal : pts[i].regret;
    double below = share_below(v, k, 0.05);
    stats s = summarise(v, k);
    if (s.n == 0) continue;
    fprintf(f, "| %s | %d | %.1f%% | %.1f%% | %.1f%% | %.0f%% |\n", m == nm ? "**all**" : models[m], s.n,
            100 * s.median, 100 * s.p95, 100 * s.max, 100 * below);
  }
  free(v);
}

static void write_pred_error(FILE *f, const cl_results *rs, const cl_point *pts, int n,
                             const char *const *models, int nm) {
  double *v = malloc(sizeof *v * (size_t)(rs->n + n + 1));
  if (!v) return;
  fprintf(f, "| model | slowdown | measured cuts | median error | p90 error | planner's cut: median error |\n"
             "|---|---|---|---|---|---|\n");
  double sls[MAXV];
  int ns = distinct(pts, n, NULL, offsetof(cl_point, slowdown), sls, MAXV);
  for (int m = 0; m <= nm; m++)
    for (int s = 0; s <= ns; s++) {
      if ((m == nm) != (s == ns)) continue;   /* per model and slowdown, then one line for all */
      int k = 0;
      for (int i = 0; i < rs->n; i++) {
        const cl_result *r = &rs->rows[i];
        if (strcmp(r->strategy, "cut") != 0) continue;
        if (m < nm && (strcmp(r->model, models[m]) != 0 || r->slowdown != sls[s])) continue;
        v[k++] = cl_report_pred_error(r->predicted_ms, r->measured_ms);
      }
      stats all = summarise(v, k);
      k = 0;
      for (int i = 0; i < n; i++) {
        if (m < nm && (strcmp(pts[i].model, models[m]) != 0 || pts[i].slowdown != sls[s])) continue;
        v[k++] = cl_report_pred_error(pts[i].planner_pred, pts[i].planner_ms);
      }
      stats pl = summarise(v, k);
      if (all.n == 0) continue;
      char slow[16], plm[16];
      snprintf(slow, sizeof slow, "%gx", m == nm ? 0.0 : sls[s]);
      fmt_num(plm, sizeof plm, pl.n ? 100 * pl.median : NAN, 1, "%");
      fprintf(f, "| %s | %s | %d | %.1f%% | %.1f%% | %s |\n", m == nm ? "**all**" : models[m],
              m == nm ? "all" : slow, all.n, 100 * all.median, 100 * all.p90, plm);
    }
  free(v);
}

static void write_worst(FILE *f, const cl_point *pts, int n) {
  const cl_point *w[5] = {0};
  for (int i = 0; i < n; i++) {
    if (!isfinite(pts[i].regret)) continue;
    for (int j = 0; j < 5; j++)
      if (!w[j] || pts[i].regret > w[j]->regret) {
        memmove(&w[j + 1], &w[j], sizeof w[0] * (size_t)(4 - j));
        w[j] = &pts[i];
        break;
      }
  }
  if (!w[0]) return;
  fprintf(f, "\nThe largest regrets:\n\n| model | slowdown | RTT ms | Mbit/s | planner's cut | its ms "
             "(predicted) | best cut | its ms | regret |\n|---|---|---|---|---|---|---|---|---|\n");
  for (int j = 0; j < 5 && w[j]; j++) {
    char c1[16], c2[16];
    fmt_cut(c1, sizeof c1, w[j]->planner_cut, w[j]->nodes);
    fmt_cut(c2, sizeof c2, w[j]->best_cut, w[j]->nodes);
    fprintf(f, "| %s | %gx | %g | %g | %s | %.2f (%.2f) | %s | %.2f | %.1f%% |\n", w[j]->model,
            w[j]->slowdown, w[j]->rtt_ms, w[j]->bandwidth_mbit, c1, w[j]->planner_ms, w[j]->planner_pred,
            c2, w[j]->best_ms, 100 * w[j]->regret);
  }
}

static void write_speedup_stats(FILE *f, const cl_point *pts, int n, const char *const *models, int nm) {
  double *a = malloc(sizeof *a * (size_t)(n ? n : 1)), *b = malloc(sizeof *b * (size_t)(n ? n : 1));
  if (!a || !b) { free(a); free(b); return; }
  fprintf(f, "| model | points | speed-up over best(device-only, compressed offload): geomean | mean | max "
             "| points > 1.05x | speed-up over cloud-only (raw input): geomean | mean | max |\n"
             "|---|---|---|---|---|---|---|---|---|\n");
  for (int m = 0; m <= nm; m++) {
    int k = 0;
    for (int i = 0; i < n; i++)
      if (m == nm || strcmp(pts[i].model, models[m]) == 0) {
        a[k] = pts[i].speedup;
        b[k++] = pts[i].speedup_cloud;
      }
    int above = 0;
    for (int i = 0; i < k; i++) above += isfinite(a[i]) && a[i] > 1.05;
    stats sa = summarise(a, k), sb = summarise(b, k);
    if (sa.n == 0) continue;
    char b1[16], b2[16], b3[16];
    fmt_num(b1, sizeof b1, sb.geomean, 2, "x");
    fmt_num(b2, sizeof b2, sb.mean, 2, "x");
    fmt_num(b3, sizeof b3, sb.max, 2, "x");
    fprintf(f, "| %s | %d | %.2fx | %.2fx | %.2fx | %d | %s | %s | %s |\n", m == nm ? "**all**" : models[m],
            sa.n, sa.geomean, sa.mean, sa.max, above, b1, b2, b3);
  }
  free(a);
  free(b);
}

static void write_compressed(FILE *f, const cl_results *rs, const char *const *models, int nm) {
  fprintf(f, "| model | codec | bytes up | raw input bytes up | output rel. L2 vs the local run | the result |\n"
             "|---|---|---|---|---|---|\n");
  for (int m = 0; m < nm; m++) {
    const cl_result *c = NULL, *raw = NULL;
    for (int i = 0; i < rs->n; i++) {
      const cl_result *r = &rs->rows[i];
      if (strcmp(r->model, models[m]) != 0 || !isfinite(r->measured_ms)) continue;
      if (!c && strcmp(r->strategy, "edge_compressed") == 0) c = r;
      if (!raw && strcmp(r->strategy, "edge_raw") == 0) raw = r;
    }
    if (!c) continue;
    char l2[32], rb[32];
    if (isfinite(c->out_rel_l2)) snprintf(l2, sizeof l2, "%.3g", c->out_rel_l2);
    else snprintf(l2, sizeof l2, "-");
    fmt_num(rb, sizeof rb, raw ? raw->bytes_up : NAN, 0, "");
    fprintf(f, "| %s | %s | %.0f | %s | %s | %s |\n", models[m], c->codec, c->bytes_up, rb,
            strncmp(c->codec, "jpeg", 4) == 0 ? l2 : "0 (lossless)",
            strncmp(c->codec, "jpeg", 4) == 0 && c->note[0] ? c->note : "-");
  }
}

cl_status cl_report_write_summary(const char *path, const cl_results *rs, const cl_goodput_row *g,
                                  int ng, const char *run_txt, cl_error *err) {
  cl_point *pts;
  int n;
  cl_status st = cl_report_points(rs, &pts, &n, err);
  if (st != CL_OK) return st;
  FILE *f = fopen(path, "w");
  if (!f) { free(pts); return cl_error_set(err, CL_ERR_IO, "%s: %s", path, strerror(errno)); }
  const char *models[MAXV];
  int nm = 0, has_cal = 0;
  for (int i = 0; i < n; i++) {
    int seen = 0;
    for (int m = 0; m < nm; m++) seen |= strcmp(models[m], pts[i].model) == 0;
    if (!seen && nm < MAXV) models[nm++] = pts[i].model;
    has_cal |= pts[i].planner_uncal_cut >= 0;
  }
  fprintf(f, "# cleave-bench summary\n\n");
  if (run_txt && *run_txt) fprintf(f, "```\n%s%s```\n\n", run_txt, run_txt[strlen(run_txt) - 1] == '\n' ? "" : "\n");
  if (g && ng) write_goodput(f, g, ng);

  fprintf(f, "## Speed-up of the planner's cut\n\n"
             "Over the best of device-only and compressed-input offload (JPEG for images, LZ4 otherwise),\n"
             "both measured at the same point; and over cloud-only with the raw input (Neurosurgeon's\n"
             "baseline, where it reports 3.1x on average).\n\n");
  write_speedup_stats(f, pts, n, models, nm);
  for (int m = 0; m < nm; m++) {
    fprintf(f, "\n### %s\n\nSpeed-up over best(device-only, compressed offload); in brackets the planner's "
               "cut (dev: device-only) and the best measured cut when it differs.\n\n", models[m]);
    write_speedup_tables(f, pts, n, models[m]);
  }
  fprintf(f, "\n## The planner's regret\n\nIts cut's measured median over the best measured cut's, minus 1 "
             "(the goal: under 5%% in 95%% of points).\n\n");
  write_regret(f, pts, n, models, nm, 0);
  write_worst(f, pts, n);
  if (has_cal) {
    fprintf(f, "\nHad the planner used the device profile as measured under the quota, without the throttle\ncalibration (`planner_uncal`, docs/BENCH.md):\n\n");
    write_regret(f, pts, n, models, nm, 1);
  }
  fprintf(f, "\n## Prediction error\n\n|predicted - measured| / measured over every measured cut (the goal: "
             "median under 10%%).\n\n");
  write_pred_error(f, rs, pts, n, models, nm);
  fprintf(f, "\n## The compressed-input baseline\n\n");
  write_compressed(f, rs, models, nm);
  int bad = fclose(f) != 0;
  free(pts);
  if (bad) return cl_error_set(err, CL_ERR_IO, "%s: write error", path);
  return CL_OK;
}
