/* cleave-bench: results.csv and goodput.csv, written and read back (no root needed). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results.h"

static cl_result sample(void) {
  cl_result r;
  cl_result_init(&r);
  snprintf(r.model, sizeof r.model, "mobilenetv2");
  r.bandwidth_mbit = 10;
  r.rtt_ms = 20;
  r.slowdown = 4;
  snprintf(r.strategy, sizeof r.strategy, "cut");
  r.cut = 25;
  r.nodes = 67;
  snprintf(r.codec, sizeof r.codec, "raw+shuffle");
  r.measured_ms = 40.4793;
  r.p90_ms = 49.0612;
  r.runs = 11;
  r.predicted_ms = 38.1594;
  r.bytes_up = 47493;
  snprintf(r.note, sizeof r.note, "a note, with a comma and a \"quote\"");
  return r;
}

/* Writes rows to a memory buffer and returns it (malloc'd). */
static char *write_rows(const cl_result *rows, int n) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cl_results_write_header(f);
  for (int i = 0; i < n; i++) cr_assert_eq(cl_results_write_row(f, &rows[i]), 0);
  fclose(f);
  return buf;
}

Test(results, round_trip_keeps_numbers_strings_and_missing_values) {
  cl_result rows[2] = {sample(), sample()};
  rows[1].measured_ms = NAN;   /* not measured */
  rows[1].cut = -1;
  snprintf(rows[1].strategy, sizeof rows[1].strategy, "edge_raw");
  char *text = write_rows(rows, 2);
  cl_results rs = {0};
  cl_error err = {0};
  cr_assert_eq(cl_results_parse(text, "mem.csv", &rs, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(rs.n, 2);
  cr_assert_str_eq(rs.rows[0].model, "mobilenetv2");
  cr_assert_str_eq(rs.rows[0].codec, "raw+shuffle");
  cr_assert_str_eq(rs.rows[0].note, "a note, with a comma and a \"quote\"");
  cr_assert_float_eq(rs.rows[0].measured_ms, 40.4793, 1e-9);
  cr_assert_float_eq(rs.rows[0].bytes_up, 47493, 0);
  cr_assert_eq(rs.rows[0].cut, 25);
  cr_assert_eq(rs.rows[0].runs, 11);
  cr_assert(isnan(rs.rows[0].edge_ms));
  cr_assert(isnan(rs.rows[1].measured_ms));
  cr_assert_eq(rs.rows[1].cut, -1);
  cr_assert_str_eq(rs.rows[1].strategy, "edge_raw");
  cl_results_free(&rs);
  free(text);
}

Test(results, the_header_holds_the_issue_columns) {
  const char *need[] = {"model", "bandwidth_mbit", "rtt_ms", "slowdown", "strategy", "cut", "codec",
                        "measured_ms", "p90_ms", "predicted_ms", "bytes_up"};
  char h[1024];
  snprintf(h, sizeof h, ",%s,", cl_results_header());
  for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
    char col[64];
    snprintf(col, sizeof col, ",%s,", need[i]);
    cr_assert_not_null(strstr(h, col), "no column %s", need[i]);
  }
}

Test(results, columns_in_any_order_and_unknown_ones_ignored) {
  const char *text = "extra,strategy,measured_ms,model,slowdown,rtt_ms,bandwidth_mbit\n"
                     "x,planner,12.5,oww,10,2,1000\n\n";
  cl_results rs = {0};
  cl_error err = {0};
  cr_assert_eq(cl_results_parse(text, "t.csv", &rs, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(rs.n, 1);
  cr_assert_str_eq(rs.rows[0].model, "oww");
  cr_assert_float_eq(rs.rows[0].measured_ms, 12.5, 0);
  cr_assert_float_eq(rs.rows[0].bandwidth_mbit, 1000, 0);
  cr_assert(isnan(rs.rows[0].predicted_ms));
  cl_results_free(&rs);
}

static void refused(const char *text, const char *needle) {
  cl_results rs = {0};
  cl_error err = {0};
  cr_assert_eq(cl_results_parse(text, "bad.csv", &rs, &err), CL_ERR_FORMAT, "accepted: %s", text);
  cr_assert_not_null(strstr(err.msg, needle), "message '%s' lacks '%s'", err.msg, needle);
  cr_assert_null(strchr(err.msg, '\n'));
  cl_results_free(&rs);
}

Test(results, bad_files_are_refused_with_one_line) {
  refused("", "empty");
  refused("model,rtt_ms,slowdown,strategy,measured_ms\n", "no column 'bandwidth_mbit'");
  refused("model,bandwidth_mbit,rtt_ms,slowdown,strategy,measured_ms\nm,1,2,3,cut,abc\n",
          "line 2: bad number 'abc' in measured_ms");
  refused("model,bandwidth_mbit,rtt_ms,slowdown,strategy,measured_ms\nm,1,2,3,cut\n", "line 2: 5 fields");
  refused("model,bandwidth_mbit,rtt_ms,slowdown,strategy,measured_ms,cut\nm,1,2,3,cut,4,2.5\n",
          "bad number '2.5' in cut");
  refused("model,bandwidth_mbit,rtt_ms,slowdown,strategy,measured_ms\n\"m,1,2,3,cut,4\n", "line 2");
}

Test(results, a_missing_file_is_an_io_error) {
  cl_results rs = {0};
  cl_error err = {0};
  cr_assert_eq(cl_results_read("/nonexistent/results.csv", &rs, &err), CL_ERR_IO);
  cr_assert_not_null(strstr(err.msg, "/nonexistent/results.csv"));
}

Test(results, goodput_rows_round_trip) {
  char path[] = "/tmp/cleave-bench-goodput-XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fprintf(f, "%s\n", cl_goodput_header());
  cl_goodput_row g = {100, "up", 95.64, 12494208, 1.04509};
  cr_assert_eq(cl_goodput_write_row(f, &g), 0);
  g = (cl_goodput_row){100, "down", 95.2, 12494208, 1.05};
  cr_assert_eq(cl_goodput_write_row(f, &g), 0);
  fclose(f);
  cl_goodput_row *rows = NULL;
  int n = 0;
  cl_error err = {0};
  cr_assert_eq(cl_goodput_read(path, &rows, &n, &err), CL_OK, "%s", err.msg);
  unlink(path);
  cr_assert_eq(n, 2);
  cr_assert_str_eq(rows[0].direction, "up");
  cr_assert_float_eq(rows[0].goodput_mbit, 95.64, 1e-9);
  cr_assert_str_eq(rows[1].direction, "down");
  free(rows);
}
