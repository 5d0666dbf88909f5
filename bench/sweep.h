/* cleave-bench: the sweep (docs/BENCH.md).
 *
 * For each model, device slowdown, RTT and bandwidth: the planner's plan for that link (from a device
 * profile made inside the slowed cgroup and an edge profile), the cuts to measure (the planner's,
 * the calibrated planner's, the best predicted ones, a few probes across the model, cut 0 with the
 * planner's codec; every cut with --all-cuts), then each measured for real: cleave-device in the
 * device namespace, cgroup and CPU, through the shaped veth and the delaying relay to cleave-edge on
 * the other CPU; plus the baselines (device-only, cloud-only with the raw input, compressed input).
 * Rows go to DIR/results.csv as they come; at the end DIR/summary.md and DIR/plots/. */
#ifndef CLEAVE_BENCH_SWEEP_H
#define CLEAVE_BENCH_SWEEP_H

#define CL_SWEEP_MAX_MODELS 8
#define CL_SWEEP_MAX_VALUES 16

typedef struct cl_sweep_opts {
  const char *out_dir;          /* results, summary, plots, raw measurements */
  const char *bin_dir;          /* cleave-device, cleave-edge, cleave-keygen, cleave-partitioner */
  const char *testdata;         /* models/ and ref/ (scripts/fetch-testdata.sh) */
  const char *models[CL_SWEEP_MAX_MODELS];
  int n_models;
  double bandwidths[CL_SWEEP_MAX_VALUES];   /* Mbit/s */
  int n_bandwidths;
  double rtts[CL_SWEEP_MAX_VALUES];         /* ms */
  int n_rtts;
  double slowdowns[CL_SWEEP_MAX_VALUES];
  int n_slowdowns;
  int quick;                    /* recorded in run.txt only: the caller filled the lists */
  int no_planner;               /* 1: do not use cleave-partitioner even if it is there */
  int no_calibrate;             /* 1: no planner_cal rows */
  int all_cuts;                 /* 1: measure every cut whose prediction is under max_request_s */
  int top_k;                    /* best-predicted cuts measured per point */
  int probes;                   /* cuts spread over the model measured per point */
  double target_s;              /* timed requests per measurement: about this long in all */
  int min_runs, max_runs;
  double max_request_s;         /* a request predicted slower than this is not measured */
  int jpeg_quality;
  int dev_cpu, edge_cpu;
  double goodput_s;             /* seconds of transfer per goodput measurement */
  int profile_runs;             /* timed runs of each profile */
  int plan_with_set_rate;       /* 1: tell the planner the set rate; 0: the measured goodput */
  int resume;                   /* 1: keep DIR/results.csv and skip the points it has */
  const char *command_line;     /* recorded in run.txt */
} cl_sweep_opts;

/* Fills o with the full sweep's defaults (docs/BENCH.md); --quick narrows the lists afterwards. */
void cl_sweep_defaults(cl_sweep_opts *o);

/* Narrows o to the quick sweep: one model (MobileNetV2), two bandwidths, one RTT, one slowdown. */
void cl_sweep_quick(cl_sweep_opts *o);

/* Runs the sweep. Returns the exit status: 0 done, 1 failed or interrupted (one line on stderr; the
 * lab is removed either way, and what was measured stays in DIR). */
int cl_sweep_run(const cl_sweep_opts *o);

/* Writes DIR/summary.md and DIR/plots from DIR/results.csv (and goodput.csv, run.txt when there):
 * the part that needs no root. Returns 0, or 1 with one line on stderr. */
int cl_sweep_report(const char *dir, const char *from_csv);

#endif
