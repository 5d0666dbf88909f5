/* cleave-bench: the partitioner through its command line (planner.h). */
#include "planner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define JSON_CAP ((size_t)64 << 20)

cl_status cl_planner_profile(const char *partitioner, const char *model, const char *input, int runs,
                             const char *codecs, const char *out, const cl_proc_opts *po, cl_error *err) {
  char r[16], w[16];
  snprintf(r, sizeof r, "%d", runs > 0 ? runs : 20);
  snprintf(w, sizeof w, "%d", runs >= 10 ? 3 : 1);
  char *argv[] = {(char *)partitioner, "profile", "--model", (char *)model, "--input", (char *)input,
                  "--runs", r, "--warmup", w, "--reps", "2", "--codecs", (char *)codecs, "--no-accuracy", "--quiet",
                  "-o", (char *)out, NULL};
  return cl_proc_run(argv, po, 1800, NULL, 0, err);
}

/* Runs a partitioner command whose stdout is JSON and parses it. */
static cl_status run_json(char *const *argv, cl_json **out, cl_error *err) {
  char *buf = malloc(JSON_CAP);
  if (!buf) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  cl_status st = cl_proc_run(argv, NULL, 300, buf, JSON_CAP, err);
  if (st == CL_OK) {
    size_t len = strlen(buf);
    if (len + 1 >= JSON_CAP) st = cl_error_set(err, CL_ERR_LIMIT, "%s: JSON larger than 64 MiB", argv[1]);
    else st = cl_json_parse(buf, len, out, err);
  }
  free(buf);
  return st;
}

cl_status cl_planner_profile_times(const char *partitioner, const char *profile, double *run_median_ms,
                                   double *node_sum_ms, cl_error *err) {
  char *argv[] = {(char *)partitioner, "show", (char *)profile, "--json", NULL};
  cl_json *j;
  cl_status st = run_json(argv, &j, err);
  if (st != CL_OK) return st;
  *run_median_ms = cl_json_num(j, "run_median_ms", NAN);
  const cl_json *nodes = cl_json_get(j, "nodes");
  double s = 0;
  for (int i = 0; nodes && i < nodes->n; i++) s += cl_json_num(cl_json_at(nodes, i), "median_ms", NAN);
  *node_sum_ms = nodes && nodes->type == CL_JSON_ARRAY ? s : NAN;
  cl_json_free(&j);
  if (!isfinite(*run_median_ms) || !isfinite(*node_sum_ms))
    return cl_error_set(err, CL_ERR_FORMAT, "%s: no run_median_ms or node medians in its JSON", profile);
  return CL_OK;
}

cl_status cl_planner_parse_plan(const char *json, size_t len, cl_planner_table *out, cl_error *err) {
  memset(out, 0, sizeof *out);
  cl_json *j;
  cl_status st = cl_json_parse(json, len, &j, err);
  if (st != CL_OK) return st;
  const cl_json *cuts = cl_json_get(j, "cuts");
  out->nodes = (int)cl_json_num(j, "nodes", -1);
  out->chosen_cut = (int)cl_json_num(j, "chosen_cut", -1);
  out->chosen_ms = cl_json_num(j, "predicted_ms", NAN);
  snprintf(out->chosen_codec, sizeof out->chosen_codec, "%s", cl_json_str(j, "chosen_codec", ""));
  if (!cuts || cuts->type != CL_JSON_ARRAY || out->nodes < 1 || out->chosen_cut < 0 ||
      out->chosen_cut > out->nodes || cuts->n != out->nodes + 1) {
    cl_json_free(&j);
    return cl_error_set(err, CL_ERR_FORMAT, "plan JSON without nodes, chosen_cut and one row per cut");
  }
  out->rows = calloc((size_t)cuts->n, sizeof *out->rows);
  if (!out->rows) { cl_json_free(&j); return cl_error_set(err, CL_ERR_NOMEM, "out of memory"); }
  out->n_rows = cuts->n;
  for (int i = 0; i < cuts->n; i++) {
    const cl_json *c = cl_json_at(cuts, i);
    cl_planner_row *r = &out->rows[i];
    r->cut = (int)cl_json_num(c, "cut", -1);
    snprintf(r->codec, sizeof r->codec, "%s", cl_json_str(c, "codec", ""));
    r->bytes_up = cl_json_num(c, "bytes_up", NAN);
    r->bytes_down = cl_json_num(c, "bytes_down", NAN);
    r->device_ms = cl_json_num(c, "device_ms", 0);
    r->predicted_ms = cl_json_num(c, "predicted_ms", NAN);
    const cl_json *fe = cl_json_get(c, "feasible");
    r->feasible = !fe || fe->number != 0;
    if (r->cut != i) {
      int cut = r->cut;   /* r goes with the table */
      cl_json_free(&j);
      cl_planner_table_free(out);
      return cl_error_set(err, CL_ERR_FORMAT, "plan JSON: row %d is for cut %d", i, cut);
    }
  }
  if (!out->chosen_codec[0])
    snprintf(out->chosen_codec, sizeof out->chosen_codec, "%s", out->rows[out->chosen_cut].codec);
  if (!isfinite(out->chosen_ms)) out->chosen_ms = out->rows[out->chosen_cut].predicted_ms;
  cl_json_free(&j);
  return CL_OK;
}

cl_status cl_planner_plan(const char *partitioner, const char *dev_profile, const char *edge_profile,
                          double bandwidth_bps, double rtt_ms, const char *codec, cl_planner_table *out,
                          cl_error *err) {
  memset(out, 0, sizeof *out);
  char bw[32], rtt[32];
  snprintf(bw, sizeof bw, "%.0fbit", bandwidth_bps);
  snprintf(rtt, sizeof rtt, "%gms", rtt_ms);
  char *argv[16] = {(char *)partitioner, "plan", "--device", (char *)dev_profile, "--edge",
                    (char *)edge_profile, "--bandwidth", bw, "--rtt", rtt, "--json"};
  int n = 11;
  if (codec) {
    argv[n++] = "--codec";
    argv[n++] = (char *)codec;
  }
  argv[n] = NULL;
  char *buf = malloc(JSON_CAP);
  if (!buf) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  cl_status st = cl_proc_run(argv, NULL, 300, buf, JSON_CAP, err);
  if (st == CL_OK) st = cl_planner_parse_plan(buf, strlen(buf), out, err);
  free(buf);
  return st;
}

const cl_planner_row *cl_planner_row_of(const cl_planner_table *t, int k) {
  return t && t->rows && k >= 0 && k < t->n_rows ? &t->rows[k] : NULL;
}

void cl_planner_table_free(cl_planner_table *t) {
  free(t->rows);
  memset(t, 0, sizeof *t);
}
