/* cleave-bench: the partitioner, through its command line (cleave-partitioner profile/plan/show).
 *
 * The bench plans through the command line only (calib.h reads and writes profile files): it
 * profiles the device (inside its cgroup, on its CPU) and the edge with `cleave-partitioner profile`, asks `cleave-partitioner plan --json` for every link, and
 * reads the chosen cut and the per-cut table from the JSON (ARCHITECTURE.md: nodes, chosen_cut,
 * cuts[{cut, bytes_up, predicted_ms, ...}]). Any planner with that contract plugs in per point.
 *
 * The device profile is taken inside the slowed cgroup and calibrated (calib.h) before planning.
 */
#ifndef CLEAVE_BENCH_PLANNER_H
#define CLEAVE_BENCH_PLANNER_H

#include "cleave/status.h"
#include "proc.h"

typedef struct cl_planner_row {
  int cut;
  char codec[32];             /* the codec the plan uses at this cut ("" at k = n) */
  double bytes_up, bytes_down;
  double device_ms;           /* the device compute part of predicted_ms */
  double predicted_ms;
  int feasible;
} cl_planner_row;

typedef struct cl_planner_table {
  int nodes;                  /* n */
  int chosen_cut;
  char chosen_codec[32];
  double chosen_ms;           /* the plan's predicted_ms for its choice */
  int n_rows;
  cl_planner_row *rows;       /* indexed by cut when the plan has one row per cut (checked) */
} cl_planner_table;

/* Runs `partitioner profile --model M --input IN --runs R --warmup W --reps 2 --codecs C --no-accuracy
 * --quiet -o OUT` (2 codec repetitions: the codec times matter little next to the wire) placed as po says (cgroup, CPU). Errors: the partitioner's message (CL_ERR_IO). */
cl_status cl_planner_profile(const char *partitioner, const char *model, const char *input, int runs,
                             const char *codecs, const char *out, const cl_proc_opts *po,
                             cl_error *err) CL_MUST_CHECK;

/* Reads a profile's whole-run median and the sum of its node medians (`show --json`). */
cl_status cl_planner_profile_times(const char *partitioner, const char *profile, double *run_median_ms,
                                   double *node_sum_ms, cl_error *err) CL_MUST_CHECK;

/* Runs `partitioner plan --device D --edge E --bandwidth Bbit --rtt Tms [--codec C] --json` and
 * reads the table into *out (free with cl_planner_table_free). codec NULL: the planner's own choice
 * per cut ("auto"). Errors: the partitioner's message, CL_ERR_FORMAT for JSON without the contract's
 * fields. */
cl_status cl_planner_plan(const char *partitioner, const char *dev_profile, const char *edge_profile,
                          double bandwidth_bps, double rtt_ms, const char *codec, cl_planner_table *out,
                          cl_error *err) CL_MUST_CHECK;

/* Parses plan JSON text (the caller keeps it); used by cl_planner_plan and the tests. */
cl_status cl_planner_parse_plan(const char *json, size_t len, cl_planner_table *out,
                                cl_error *err) CL_MUST_CHECK;

/* The row of cut k, or NULL. */
const cl_planner_row *cl_planner_row_of(const cl_planner_table *t, int k);

void cl_planner_table_free(cl_planner_table *t);

#endif
