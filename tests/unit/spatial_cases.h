/* cleave tests: helpers shared by the spatial operator suites (test_ops_spatial_*.c).
 *
 * A case is a builder that adds values and one node to a fresh graph; expect_all runs it with PLAIN
 * and CHANNELS_LAST storage and 1 and 2 threads and compares output 0 with expected values;
 * expect_error checks the status and message of a refused case. */
#ifndef CLEAVE_TESTS_SPATIAL_CASES_H
#define CLEAVE_TESTS_SPATIAL_CASES_H

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "op_harness.h"

/* === Helpers === */

/* The generator's inputs: ((i * a + 3) % m - m / 2) / 4. */
static inline void fill(float *x, size_t n, int a, int m) {
  for (size_t i = 0; i < n; i++)
    x[i] = (float)((int)((i * (size_t)a + 3) % (size_t)m) - m / 2) * 0.25f;
}

static inline float *filled(size_t n, int a, int m) {
  static float buf[4][8192];
  static int next;
  float *p = buf[next++ % 4];
  cr_assert(n <= 8192);
  fill(p, n, a, m);
  return p;
}

static inline float *iota(size_t n) {
  static float buf[64];
  for (size_t i = 0; i < n; i++) buf[i] = (float)i;
  return buf;
}

static inline float *ones(size_t n) {
  static float buf[64];
  for (size_t i = 0; i < n; i++) buf[i] = 1.0f;
  return buf;
}

/* Adds the case's values and node to g; returns the node index. */
typedef int (*builder)(cl_graph *g);

static inline const char *layout_name(cl_layout l) {
  return l == CL_LAYOUT_PLAIN ? "plain" : "channels-last";
}

/* Runs the case in both layouts with 1 and 2 threads and compares output 0 with want. */
static inline void expect_all(int opset, builder build, const float *want, size_t n, float tol) {
  for (int lay = 0; lay < 2; lay++)
    for (int threads = 1; threads <= 2; threads++) {
      cl_graph *g = h_graph(opset);
      int node = build(g);
      int y = g->nodes[node].out[0];
      cl_error err = {0};
      cl_layout layout = lay ? CL_LAYOUT_CHANNELS_LAST : CL_LAYOUT_PLAIN;
      cr_assert_eq(h_run(g, node, layout, threads, &err), CL_OK, "%s", err.msg);
      size_t numel = g->values[y].nbytes / sizeof(float);
      cr_assert_eq(numel, n, "output has %zu elements, expected %zu", numel, n);
      cr_assert(h_allclose(h_data(g, y), want, n, tol, tol), "%s, %d thread(s)",
                layout_name(layout), threads);
      h_free(&g);
    }
}

/* Runs the case (PLAIN, 1 thread) and expects status s with `text` in the message. */
static inline void expect_error(int opset, builder build, cl_status s, const char *text) {
  cl_graph *g = h_graph(opset);
  int node = build(g);
  cl_error err = {0};
  cr_assert_eq(h_run(g, node, CL_LAYOUT_PLAIN, 1, &err), s, "status %d: %s", err.status, err.msg);
  cr_assert(strstr(err.msg, text) != NULL, "message: %s", err.msg);
  cr_assert(strstr(err.msg, g->nodes[node].name) != NULL, "message does not name the node: %s",
            err.msg);
  h_free(&g);
}

static inline int out_value(cl_graph *g) {
  return h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
}

static inline int ints(cl_graph *g, int node, const char *name, int n, int64_t a, int64_t b,
                       int64_t c, int64_t d) {
  int64_t v[4] = {a, b, c, d};
  h_attr_ints(g, node, name, n, v);
  return node;
}

/* One expected output value of a [1, C, H, W] tensor. */
typedef struct sample {
  int c, y, x;
  float v;
} sample;

/* Checks sampled values and the sum and sum of squares of a [1, C, H, W] output. */
static inline void expect_sampled(builder build, int c, int h, int w, const sample *s,
                                  int n_samples, double sum, double sumsq) {
  for (int lay = 0; lay < 2; lay++)
    for (int threads = 1; threads <= 2; threads++) {
      cl_graph *g = h_graph(13);
      int node = build(g), y = g->nodes[node].out[0];
      cl_error err = {0};
      cr_assert_eq(h_run(g, node, lay ? CL_LAYOUT_CHANNELS_LAST : CL_LAYOUT_PLAIN, threads, &err),
                   CL_OK, "%s", err.msg);
      const float *out = h_data(g, y);
      for (int i = 0; i < n_samples; i++) {
        float got = out[(s[i].c * h + s[i].y) * w + s[i].x];
        cr_assert(fabsf(got - s[i].v) <= 1e-4f * (1 + fabsf(s[i].v)), "(%d,%d,%d): %g vs %g",
                  s[i].c, s[i].y, s[i].x, got, s[i].v);
      }
      double su = 0, sq = 0;
      for (int i = 0; i < c * h * w; i++) su += out[i], sq += (double)out[i] * out[i];
      cr_assert(fabs(su - sum) <= 1e-3 * (1 + fabs(sum)) && fabs(sq - sumsq) <= 1e-5 * (1 + sumsq),
                "sum %g vs %g, sum of squares %g vs %g", su, sum, sq, sumsq);
      h_free(&g);
    }
}

#define D4(a, b, c, d) ((int64_t[]){a, b, c, d})
#define D3(a, b, c) ((int64_t[]){a, b, c})
#define D1(a) ((int64_t[]){a})

#endif
