/* cleave-bench: what the sweep's modules share (internal to sweep.c and point.c).
 *
 * sweep.c runs the lab, the models, the slowdowns and the progress display; point.c measures one
 * point (model, bandwidth, RTT, slowdown): the planner's tables, the cuts to measure, the baselines,
 * and their rows in results.csv. */
#ifndef CLEAVE_BENCH_SWEEP_INT_H
#define CLEAVE_BENCH_SWEEP_INT_H

#include <stdio.h>

#include "lab.h"
#include "results.h"
#include "runner.h"
#include "sweep.h"

#define PATHLEN 1200

typedef struct sweep {
  const cl_sweep_opts *o;
  cl_lab lab;
  int lab_up;
  cl_runner run;
  int planner;                  /* 1: cleave-partitioner is used */
  FILE *csv;
  cl_results done;              /* --resume: the points already there */
  char dir[PATHLEN];
  double goodput[CL_SWEEP_MAX_VALUES];   /* measured up-link goodput per bandwidth, Mbit/s */
  /* progress */
  int total, finished, tty;
  double t0, model_time[CL_SWEEP_MAX_MODELS];
  int model_points[CL_SWEEP_MAX_MODELS];   /* points measured, per model */
  int model_skipped[CL_SWEEP_MAX_MODELS];  /* points already in results.csv (--resume) */
  char where[160];
} sweep;

/* What holds for every point of one model and slowdown. */
typedef struct slow_ctx {
  int mi;                       /* the model's index */
  double slowdown;
  char dev_profile[PATHLEN];    /* the device profile the planner uses: calibrated (calib.h) */
  char dev_profile_raw[PATHLEN];/* as measured under the quota ("" with --no-calibrate) */
  char edge_profile[PATHLEN];
  int have_profiles;
  double cal_f;                 /* the calibration factor (1: none) */
  double edge_run_ms;           /* the edge profile's whole-run median */
  cl_measure local;             /* device only */
} slow_ctx;

/* One line on stderr, "cleave-bench: ...". */
void cl_sweep_say(const char *fmt, ...) CL_PRINTF(1, 2);

/* The progress line: "[done/total] where: what | elapsed, ~left". */
void cl_sweep_progress(sweep *s, const char *what);

/* Timed requests for a measurement whose requests take about est_ms: the sweep's target time over it,
 * within its minimum and maximum runs. */
int cl_sweep_runs_for(const sweep *s, double est_ms);

/* Measures one point (the lab shaped, the relays and edges running) and writes its rows. Returns 0, or
 * -1 when results.csv cannot be written or memory runs out (said on stderr). */
int cl_sweep_run_point(sweep *s, const cl_model_case *m, const slow_ctx *sc, int bi, double rtt);

#endif
