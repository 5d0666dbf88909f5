/* cleave-bench: the sweep (sweep.h). */
#include "sweep_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "calib.h"
#include "cleave/model.h"
#include "planner.h"
#include "plot.h"
#include "report.h"

#define PROFILE_CODECS "raw,raw+shuffle,raw+nolz4"

/* === Options === */

void cl_sweep_defaults(cl_sweep_opts *o) {
  memset(o, 0, sizeof *o);
  static const char *const models[] = {"mobilenetv2", "ppocr_det", "oww_embedding"};
  static const double bws[] = {1, 3, 10, 30, 100, 300, 1000}, rtts[] = {2, 20, 80}, slows[] = {1, 4, 10};
  for (int i = 0; i < 3; i++) o->models[o->n_models++] = models[i];
  for (int i = 0; i < 7; i++) o->bandwidths[o->n_bandwidths++] = bws[i];
  for (int i = 0; i < 3; i++) o->rtts[o->n_rtts++] = rtts[i];
  for (int i = 0; i < 3; i++) o->slowdowns[o->n_slowdowns++] = slows[i];
  o->out_dir = "bench-out";
  o->top_k = 3;
  o->probes = 1;
  o->target_s = 0.3;
  o->min_runs = 3;
  o->max_runs = 8;
  o->max_request_s = 2.0;
  o->jpeg_quality = 90;
  o->dev_cpu = 0;
  o->edge_cpu = 1;
  o->goodput_s = 2.0;
  o->profile_runs = 20;
}

void cl_sweep_quick(cl_sweep_opts *o) {
  o->quick = 1;
  o->n_models = 1;
  o->models[0] = "mobilenetv2";
  o->n_bandwidths = 2;
  o->bandwidths[0] = 10;
  o->bandwidths[1] = 100;
  o->n_rtts = 1;
  o->rtts[0] = 20;
  o->n_slowdowns = 1;
  o->slowdowns[0] = 4;
  o->top_k = 3;
  o->probes = 1;
  o->target_s = 0.4;
  o->min_runs = 3;
  o->max_runs = 15;
  o->max_request_s = 1.5;
  o->goodput_s = 2.0;
  o->profile_runs = 10;
}

void cl_sweep_say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "cleave-bench: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
}

static void fmt_clock(char *buf, size_t cap, double s) {
  if (!isfinite(s) || s < 0) { snprintf(buf, cap, "?"); return; }
  long t = lround(s);
  if (t >= 3600) snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

/* Time left: the points left of each model at that model's average, or the average of all. */
static double eta(const sweep *s) {
  double all = 0;
  int n = 0;
  for (int m = 0; m < s->o->n_models; m++) { all += s->model_time[m]; n += s->model_points[m]; }
  if (n == 0) return NAN;
  int per_model = s->o->n_slowdowns * s->o->n_rtts * s->o->n_bandwidths;
  double left = 0;
  for (int m = 0; m < s->o->n_models; m++) {
    int rest = per_model - s->model_points[m] - s->model_skipped[m];
    double avg = s->model_points[m] ? s->model_time[m] / s->model_points[m] : all / n;
    left += rest * avg;
  }
  return left;
}

void cl_sweep_progress(sweep *s, const char *what) {
  char el[32], left[32];
  fmt_clock(el, sizeof el, cl_proc_now() - s->t0);
  fmt_clock(left, sizeof left, eta(s));
  if (s->tty)
    fprintf(stderr, "\r\033[K[%d/%d, %d left] %s: %s | %s elapsed, ~%s to go", s->finished, s->total,
            s->total - s->finished, s->where, what, el, left);
  else
    fprintf(stderr, "[%d/%d, %d left] %s: %s | %s elapsed, ~%s to go\n", s->finished, s->total,
            s->total - s->finished, s->where, what, el, left);
  fflush(stderr);
}

static void progress_line_end(sweep *s) {
  if (s->tty) fprintf(stderr, "\n");
}

static int point_done(const sweep *s, const char *model, double bw, double rtt, double slow) {
  for (int i = 0; i < s->done.n; i++) {
    const cl_result *r = &s->done.rows[i];
    if (strcmp(r->strategy, "best") == 0 && strcmp(r->model, model) == 0 && r->bandwidth_mbit == bw &&
        r->rtt_ms == rtt && r->slowdown == slow)
      return 1;
  }
  return 0;
}

/* === One model === */

static int prepare_slowdown(sweep *s, const cl_model_case *m, slow_ctx *sc) {
  cl_error err = {0};
  if (cl_lab_slow(&s->lab, sc->slowdown, &err) != CL_OK) { cl_sweep_say("%s", err.msg); return -1; }
  sc->cal_f = 1;
  if (s->planner && sc->edge_profile[0]) {
    cl_bench_fmt(sc->dev_profile_raw, sizeof sc->dev_profile_raw, "%s/%s-device-%gx.profile", s->run.raw, m->name,
                 sc->slowdown);
    cl_bench_fmt(sc->dev_profile, sizeof sc->dev_profile, "%s/%s-device-%gx.cal.profile", s->run.raw, m->name,
                 sc->slowdown);
    char log[PATHLEN];
    cl_bench_fmt(log, sizeof log, "%s/%s-device-%gx.profile.log", s->run.raw, m->name, sc->slowdown);
    cl_proc_opts po = {s->lab.ns_dev, s->lab.cgroup, s->o->dev_cpu, log, log};
    cl_sweep_progress(s, "profiling the device (slowed)");
    if (cl_planner_profile(s->run.partitioner, m->model, m->input, s->o->profile_runs, PROFILE_CODECS,
                           sc->dev_profile_raw, &po, &err) != CL_OK ||
        cl_calib_profile(sc->dev_profile_raw, sc->dev_profile, &sc->cal_f, &err) != CL_OK) {
      cl_sweep_say("%s: device profile failed (%s): no planner for this slowdown", m->name, err.msg);
    } else {
      sc->have_profiles = 1;
      if (s->o->no_calibrate) {   /* plan with the profile as measured; no planner_uncal rows */
        cl_bench_fmt(sc->dev_profile, sizeof sc->dev_profile, "%s", sc->dev_profile_raw);
        sc->dev_profile_raw[0] = '\0';
        sc->cal_f = 1;
      }
    }
  }
  /* Device only: a short probe sets the number of runs. */
  char tag[300];
  cl_measure probe;
  cl_sweep_progress(s, "device only");
  cl_bench_fmt(tag, sizeof tag, "%s-%gx-device_only-probe", m->name, sc->slowdown);
  cl_runner_local(&s->run, m, 3, NULL, 1, tag, &probe);
  cl_bench_fmt(tag, sizeof tag, "%s-%gx-device_only", m->name, sc->slowdown);
  int runs = cl_sweep_runs_for(s, probe.ok ? probe.median / 2 : NAN);   /* twice the usual: it serves every link */
  cl_runner_local(&s->run, m, runs, NULL, 1, tag, &sc->local);
  if (!sc->local.ok) cl_sweep_say("%s %gx: device-only run failed: %s", m->name, sc->slowdown, sc->local.why);
  return 0;
}

static int run_model(sweep *s, int mi) {
  const cl_sweep_opts *o = s->o;
  cl_model_case m;
  cl_error err = {0};
  cl_bench_fmt(s->where, sizeof s->where, "%s", o->models[mi]);
  cl_sweep_progress(s, "loading");
  if (cl_runner_model(&s->run, o->testdata, o->models[mi], o->jpeg_quality, &m, &err) != CL_OK) {
    cl_sweep_say("%s", err.msg);
    cl_runner_model_free(&m);
    return -1;
  }
  int rc = 0;
  cl_measure ref;
  char tag[300];
  cl_bench_fmt(tag, sizeof tag, "%s-reference", m.name);
  if (cl_lab_slow(&s->lab, 1, &err) != CL_OK) cl_sweep_say("%s", err.msg);
  cl_runner_local(&s->run, &m, 1, m.reference, 0, tag, &ref);   /* the output JPEG is compared with */
  if (!ref.ok) { cl_sweep_say("%s: the local reference run failed: %s", m.name, ref.why); rc = -1; }
  if (rc == 0 && cl_runner_start_edges(&s->run, &m, &err) != CL_OK) { cl_sweep_say("%s", err.msg); rc = -1; }
  slow_ctx sc;
  memset(&sc, 0, sizeof sc);
  sc.mi = mi;
  sc.edge_run_ms = NAN;
  if (rc == 0 && s->planner) {
    cl_bench_fmt(sc.edge_profile, sizeof sc.edge_profile, "%s/%s-edge.profile", s->run.raw, m.name);
    char log[PATHLEN];
    cl_bench_fmt(log, sizeof log, "%s.log", sc.edge_profile);
    cl_proc_opts po = {NULL, NULL, o->edge_cpu, log, log};
    double node_ms;
    cl_sweep_progress(s, "profiling the edge");
    if (cl_planner_profile(s->run.partitioner, m.model, m.input, o->profile_runs, PROFILE_CODECS,
                           sc.edge_profile, &po, &err) != CL_OK ||
        cl_planner_profile_times(s->run.partitioner, sc.edge_profile, &sc.edge_run_ms, &node_ms, &err) != CL_OK) {
      cl_sweep_say("%s: edge profile failed (%s): no planner for this model", m.name, err.msg);
      sc.edge_profile[0] = '\0';
    }
  }
  for (int si = 0; si < o->n_slowdowns && rc == 0 && !cl_proc_stop; si++) {
    sc.slowdown = o->slowdowns[si];
    sc.have_profiles = 0;
    int todo = 0;
    for (int ri = 0; ri < o->n_rtts; ri++)
      for (int bi = 0; bi < o->n_bandwidths; bi++)
        todo += !point_done(s, m.name, o->bandwidths[bi], o->rtts[ri], sc.slowdown);
    if (!todo) {
      s->finished += o->n_rtts * o->n_bandwidths;
      s->model_skipped[mi] += o->n_rtts * o->n_bandwidths;
      continue;
    }
    cl_bench_fmt(s->where, sizeof s->where, "%s %gx", m.name, sc.slowdown);
    double t_slow = cl_proc_now();
    if (prepare_slowdown(s, &m, &sc) != 0) { rc = -1; break; }
    double setup = cl_proc_now() - t_slow;   /* spread over this slowdown's points */
    for (int ri = 0; ri < o->n_rtts && rc == 0 && !cl_proc_stop; ri++) {
      double rtt = o->rtts[ri];
      if (cl_runner_start_relays(&s->run, rtt / 2, m.camera != NULL, &err) != CL_OK) { cl_sweep_say("%s", err.msg); rc = -1; break; }
      for (int bi = 0; bi < o->n_bandwidths && rc == 0 && !cl_proc_stop; bi++) {
        double bw = o->bandwidths[bi];
        if (point_done(s, m.name, bw, rtt, sc.slowdown)) {
          s->finished++;
          s->model_skipped[mi]++;
          continue;
        }
        double t_point = cl_proc_now();
        cl_bench_fmt(s->where, sizeof s->where, "%s %gx, RTT %g ms, %g Mbit/s", m.name, sc.slowdown, rtt, bw);
        if (!cl_runner_edges_alive(&s->run)) {
          cl_sweep_say("%s: an edge process died: restarting it", m.name);
          cl_runner_stop_edges(&s->run);
          if (cl_runner_start_edges(&s->run, &m, &err) != CL_OK) { cl_sweep_say("%s", err.msg); rc = -1; break; }
        }
        if (cl_lab_shape(&s->lab, bw * 1e6, &err) != CL_OK) { cl_sweep_say("%s", err.msg); rc = -1; break; }
        rc = cl_sweep_run_point(s, &m, &sc, bi, rtt);
        if (cl_proc_stop) break;
        s->finished++;
        s->model_points[mi]++;
        s->model_time[mi] += cl_proc_now() - t_point + setup / (o->n_rtts * o->n_bandwidths);
        cl_sweep_progress(s, "done");
      }
    }
  }
  progress_line_end(s);
  cl_runner_stop_relays(&s->run);
  cl_runner_stop_edges(&s->run);
  cl_runner_model_free(&m);
  return rc;
}

/* === run.txt === */

static void host_line(char *buf, size_t cap) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];
  buf[0] = '\0';
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "model name", 10) == 0) {
      char *c = strchr(line, ':');
      cl_bench_fmt(buf, cap, "%s", c ? c + 2 : line);
      buf[strcspn(buf, "\n")] = '\0';
      break;
    }
  if (f) fclose(f);
}

static void loadavg(char *buf, size_t cap) {
  FILE *f = fopen("/proc/loadavg", "r");
  buf[0] = '\0';
  if (f && fgets(buf, (int)cap, f)) buf[strcspn(buf, "\n")] = '\0';
  if (f) fclose(f);
}

static void write_run_txt(sweep *s, const char *phase, double seconds) {
  char path[PATHLEN], host[256], load[128], date[64];
  cl_bench_fmt(path, sizeof path, "%s/run.txt", s->dir);
  FILE *f = fopen(path, phase[0] == 's' ? "w" : "a");
  if (!f) return;
  time_t now = time(NULL);
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  loadavg(load, sizeof load);
  if (phase[0] == 's') {
    const cl_sweep_opts *o = s->o;
    host_line(host, sizeof host);
    fprintf(f, "cleave-bench %s, started %s on %s (%ld CPUs)\n", cl_version(), date, host, sysconf(_SC_NPROCESSORS_ONLN));
    fprintf(f, "command: %s\n", o->command_line ? o->command_line : "");
    fprintf(f, "mode: %s; planner: %s%s; plan bandwidth: %s\n", o->quick ? "quick" : "full",
            s->planner ? "cleave-partitioner" : "none", s->planner && !o->no_calibrate ? " (+ throttle calibration)" : "",
            o->plan_with_set_rate ? "the set rate" : "the measured goodput");
    fprintf(f, "device: CPU %d, cgroup v1 CFS quota (quota/period = 1/slowdown, period = slowdown x 1 ms), "
               "1 thread; edge: CPU %d, 1 worker, 1 compute thread\n", o->dev_cpu, o->edge_cpu);
    fprintf(f, "link: veth between two netns, tbf both ways (burst max(3028 B, 1 ms), limit max(4 MiB, 100 ms)), "
               "delaying relay RTT/2 each way\n");
    fprintf(f, "runs per measurement: ~%.1f s of requests, %d..%d; requests expected over %.1f s not measured\n",
            o->target_s, o->min_runs, o->max_runs, o->max_request_s);
    fprintf(f, "load average at start: %s\n", load);
  } else {
    fprintf(f, "%s %s after %.0f s; load average: %s\n", phase, date, seconds, load);
  }
  fclose(f);
}

/* === Goodput === */

static int measure_goodput(sweep *s) {
  const cl_sweep_opts *o = s->o;
  char path[PATHLEN];
  cl_bench_fmt(path, sizeof path, "%s/goodput.csv", s->dir);
  FILE *f = fopen(path, "w");
  if (!f) { cl_sweep_say("%s: %s", path, strerror(errno)); return -1; }
  fprintf(f, "%s\n", cl_goodput_header());
  int rc = 0;
  cl_bench_fmt(s->where, sizeof s->where, "shaped links");
  for (int bi = 0; bi < o->n_bandwidths && rc == 0 && !cl_proc_stop; bi++) {
    cl_error err = {0};
    cl_goodput_result up, down;
    char what[64];
    cl_bench_fmt(what, sizeof what, "goodput at %g Mbit/s", o->bandwidths[bi]);
    cl_sweep_progress(s, what);
    if (cl_lab_shape(&s->lab, o->bandwidths[bi] * 1e6, &err) != CL_OK ||
        cl_runner_goodput(&s->run, o->bandwidths[bi] * 1e6, o->goodput_s, &up, &down, &err) != CL_OK) {
      cl_sweep_say("goodput at %g Mbit/s: %s", o->bandwidths[bi], err.msg);
      rc = -1;
      break;
    }
    s->goodput[bi] = up.mbit;
    cl_goodput_row g = {o->bandwidths[bi], "up", up.mbit, up.bytes, up.seconds};
    cl_goodput_write_row(f, &g);
    g = (cl_goodput_row){o->bandwidths[bi], "down", down.mbit, down.bytes, down.seconds};
    cl_goodput_write_row(f, &g);
  }
  fclose(f);
  cl_runner_stop_goodput(&s->run);
  progress_line_end(s);
  return rc;
}

/* === Report === */

int cl_sweep_report(const char *dir, const char *from_csv) {
  char path[PATHLEN], gpath[PATHLEN], rpath[PATHLEN];
  cl_bench_fmt(path, sizeof path, "%s/results.csv", dir);
  cl_bench_fmt(gpath, sizeof gpath, "%s/goodput.csv", from_csv ? from_csv : dir);
  cl_bench_fmt(rpath, sizeof rpath, "%s/run.txt", from_csv ? from_csv : dir);
  const char *csv = path;
  char src[PATHLEN];
  if (from_csv) {   /* a recorded run elsewhere: read it there, write here */
    cl_bench_fmt(src, sizeof src, "%s/results.csv", from_csv);
    csv = src;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) { cl_sweep_say("%s: %s", dir, strerror(errno)); return 1; }
  }
  cl_results rs = {0};
  cl_error err = {0};
  if (cl_results_read(csv, &rs, &err) != CL_OK) { cl_sweep_say("%s", err.msg); cl_results_free(&rs); return 1; }
  cl_goodput_row *g = NULL;
  int ng = 0;
  if (access(gpath, F_OK) == 0 && cl_goodput_read(gpath, &g, &ng, &err) != CL_OK) {
    cl_sweep_say("%s", err.msg);
    cl_results_free(&rs);
    return 1;
  }
  char *run = NULL;
  FILE *f = fopen(rpath, "r");
  if (f) {
    run = calloc(1, 16384);
    if (run) run[fread(run, 1, 16383, f)] = '\0';
    fclose(f);
  }
  char out[PATHLEN];
  cl_bench_fmt(out, sizeof out, "%s/summary.md", dir);
  int rc = 0;
  if (cl_report_write_summary(out, &rs, g, ng, run, &err) != CL_OK) { cl_sweep_say("%s", err.msg); rc = 1; }
  int made = 0;
  cl_error perr = {0};
  cl_status ps = cl_plot_render(dir, &rs, &made, &perr);
  if (ps == CL_ERR_UNSUPPORTED) cl_sweep_say("%s", perr.msg);          /* no gnuplot: the rest still stands */
  else if (ps != CL_OK) { cl_sweep_say("plots: %s", perr.msg); rc = 1; }
  free(run);
  free(g);
  cl_results_free(&rs);
  return rc;
}

/* === The whole sweep === */

static void tear_down(sweep *s) {
  cl_runner_stop_all(&s->run);
  if (s->lab_up) cl_lab_down(&s->lab, stderr);
  s->lab_up = 0;
  if (s->csv) fclose(s->csv);
  s->csv = NULL;
  cl_results_free(&s->done);
}

int cl_sweep_run(const cl_sweep_opts *o) {
  sweep s;
  memset(&s, 0, sizeof s);
  s.o = o;
  s.t0 = cl_proc_now();
  s.tty = isatty(2);
  cl_bench_fmt(s.dir, sizeof s.dir, "%s", o->out_dir);
  cl_error err = {0};
  if (cl_lab_check(&err) != CL_OK) {
    cl_sweep_say("%s; `cleave-bench report DIR` works without it", err.msg);
    return 1;
  }
  if (mkdir(s.dir, 0755) != 0 && errno != EEXIST) { cl_sweep_say("%s: %s", s.dir, strerror(errno)); return 1; }
  if (cl_runner_init(&s.run, o->bin_dir, s.dir, &s.lab, o->dev_cpu, o->edge_cpu, &err) != CL_OK) {
    cl_sweep_say("%s", err.msg);
    return 1;
  }
  s.planner = s.run.partitioner[0] && !o->no_planner;
  if (!s.planner)
    cl_sweep_say("%s: the sweep runs without the planner's cut and prediction",
        o->no_planner ? "--no-planner" : "cleave-partitioner is not built");
  char path[PATHLEN];
  cl_bench_fmt(path, sizeof path, "%s/results.csv", s.dir);
  if (o->resume && access(path, F_OK) == 0) {
    if (cl_results_read(path, &s.done, &err) != CL_OK) { cl_sweep_say("--resume: %s", err.msg); return 1; }
    s.csv = fopen(path, "a");
  } else {
    s.csv = fopen(path, "w");
    if (s.csv) cl_results_write_header(s.csv);
  }
  if (!s.csv) { cl_sweep_say("%s: %s", path, strerror(errno)); cl_results_free(&s.done); return 1; }
  int removed = cl_lab_clean_leftovers(stderr);
  if (removed) cl_sweep_say("removed %d object%s left by a killed run", removed, removed > 1 ? "s" : "");
  if (cl_lab_up(&s.lab, &err) != CL_OK) {
    cl_sweep_say("%s", err.msg);
    s.lab_up = 1;   /* what was made before the failure goes */
    tear_down(&s);
    return 1;
  }
  s.lab_up = 1;
  s.total = o->n_models * o->n_slowdowns * o->n_rtts * o->n_bandwidths;
  write_run_txt(&s, "start", 0);
  int rc = measure_goodput(&s);
  for (int mi = 0; mi < o->n_models && rc == 0 && !cl_proc_stop; mi++) rc = run_model(&s, mi);
  tear_down(&s);
  double took = cl_proc_now() - s.t0;
  write_run_txt(&s, cl_proc_stop ? "interrupted" : rc ? "failed" : "finished", took);
  if (cl_proc_stop) {
    cl_sweep_say("interrupted: the lab is removed; what was measured is in %s (--resume goes on from there)", s.dir);
    return 1;
  }
  if (cl_sweep_report(s.dir, NULL) != 0) rc = -1;
  char t[32];
  fmt_clock(t, sizeof t, took);
  if (rc == 0) cl_sweep_say("done in %s: %s/summary.md, %s/results.csv, %s/plots/", t, s.dir, s.dir, s.dir);
  return rc == 0 ? 0 : 1;
}
