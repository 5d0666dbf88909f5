/* cleave tests: Softmax, LogSoftmax (opset 1-12 vs 13 semantics), Reduce* and ArgMax/ArgMin, in both
 * layouts with 1 and 2 threads, against double-precision references and numpy-computed values. */
#include <criterion/criterion.h>
#include <math.h>

#include "tensor_test_util.h"

static const int64_t XD[4] = {2, 5, 3, 4};

/* === Softmax, LogSoftmax === */

/* Reference: normalise over logical axes [first, last] (a contiguous range), in double. */
static void ref_softmax(const float *x, const int64_t *d, int first, int last, int is_log, float *y) {
  int64_t outer = 1, r = 1, inner = 1;
  for (int a = 0; a < 4; a++) *(a < first ? &outer : a > last ? &inner : &r) *= d[a];
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double m = -INFINITY, s = 0;
      for (int64_t k = 0; k < r; k++) m = fmax(m, x[(o * r + k) * inner + i]);
      for (int64_t k = 0; k < r; k++) s += exp(x[(o * r + k) * inner + i] - m);
      for (int64_t k = 0; k < r; k++) {
        double v = x[(o * r + k) * inner + i] - m;
        y[(o * r + k) * inner + i] = (float)(is_log ? v - log(s) : exp(v) / s);
      }
    }
}

static void check_softmax(const char *op, int opset, int has_axis, int axis, int first, int last) {
  float *x = t_floats(120, 40), want[120];
  for (int i = 0; i < 120; i++) x[i] *= 4.0f;
  ref_softmax(x, XD, first, last, op[0] == 'L', want);
  T_FOR_CONFIGS(c) {
    cl_graph *g = h_graph(opset);
    int xv = h_value(g, "x", CL_DTYPE_F32, 4, XD, x);
    int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
    int n = h_node(g, op, &xv, 1, &y, 1);
    if (has_axis) h_attr_int(g, n, "axis", axis);
    cl_error err = {0};
    cr_assert_eq(h_run(g, n, T_CONFIGS[c].layout, T_CONFIGS[c].threads, &err), CL_OK, "%s", err.msg);
    cr_assert(t_shape_is(g, y, 4, XD));
    cr_assert(h_allclose(h_data(g, y), want, 120, 1e-5f, 1e-6f), "%s-%d axis %d config %d", op, opset,
              axis, c);
    h_free(&g);
  }
  free(x);
}

/* Opsets 1-12 normalise over the flattened trailing dims, 13 over one axis: they differ. */
Test(softmax, legacy_vs_single_axis) {
  const char *ops[2] = {"Softmax", "LogSoftmax"};
  for (int k = 0; k < 2; k++) {
    check_softmax(ops[k], 11, 0, 0, 1, 3); /* default axis 1: [1, 3] */
    check_softmax(ops[k], 11, 1, 2, 2, 3); /* H and W (a middle block when channels-last) */
    check_softmax(ops[k], 11, 1, 0, 0, 3); /* everything */
    check_softmax(ops[k], 11, 1, -1, 3, 3);
    check_softmax(ops[k], 13, 0, 0, 3, 3); /* default axis -1 */
    check_softmax(ops[k], 13, 1, 1, 1, 1); /* channels: innermost when channels-last */
    check_softmax(ops[k], 13, 1, -2, 2, 2);
    check_softmax(ops[k], 13, 1, 0, 0, 0);
  }
}

Test(softmax, numpy_values) {
  cl_graph *g = h_graph(13);
  int x = h_value(g, "x", CL_DTYPE_F32, 1, (int64_t[]){3}, (float[]){1, 2, 3});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Softmax", &x, 1, &y, 1);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  cr_assert(h_allclose(h_data(g, y), (float[]){0.09003057f, 0.24472846f, 0.66524094f}, 3, 1e-6f, 0));
  h_free(&g);
  /* large inputs: (x - max) - log(sum), no precision lost to the 10000s */
  g = h_graph(13);
  x = h_value(g, "x", CL_DTYPE_F32, 1, (int64_t[]){4}, (float[]){10000, 10001, 10002, 10003});
  y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  n = h_node(g, "LogSoftmax", &x, 1, &y, 1);
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  cr_assert(h_allclose(h_data(g, y), (float[]){-3.4401896f, -2.4401896f, -1.4401896f, -0.44018966f}, 4,
                       1e-6f, 0));
  h_free(&g);
}

Test(softmax, refuses_int_and_bad_axis) {
  cl_graph *g = h_graph(13);
  int x = h_value(g, "x", CL_DTYPE_I32, 1, (int64_t[]){3}, NULL);
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Softmax", &x, 1, &y, 1);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_ERR_UNSUPPORTED);
  h_free(&g);
  g = h_graph(13);
  x = h_value(g, "x", CL_DTYPE_F32, 2, (int64_t[]){3, 2}, NULL);
  y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  n = h_node(g, "Softmax", &x, 1, &y, 1);
  h_attr_int(g, n, "axis", 2);
  cl_error err2 = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err2), CL_ERR_SHAPE);
  cr_assert(strstr(err2.msg, "axis 2 out of range for rank 2") != NULL, "%s", err2.msg);
  h_free(&g);
}

/* === Reductions === */

typedef enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD } rk;

/* Reference over a 4-D float tensor: mask of reduced axes; output keeps dims (size 1). */
static void ref_reduce(const float *x, const int64_t *d, const int *mask, rk k, double *y,
                       int64_t *od) {
  for (int a = 0; a < 4; a++) od[a] = mask[a] ? 1 : d[a];
  size_t on = (size_t)(od[0] * od[1] * od[2] * od[3]);
  for (size_t i = 0; i < on; i++)
    y[i] = k == R_PROD ? 1 : k == R_MAX ? -INFINITY : k == R_MIN ? INFINITY : 0;
  int64_t idx[4] = {0}, cnt = 1;
  for (int a = 0; a < 4; a++) cnt *= mask[a] ? d[a] : 1;
  do {
    int64_t oi[4];
    for (int a = 0; a < 4; a++) oi[a] = mask[a] ? 0 : idx[a];
    double v = x[t_offset(4, d, idx)], *o = &y[t_offset(4, od, oi)];
    *o = k == R_PROD ? *o * v : k == R_MAX ? fmax(*o, v) : k == R_MIN ? fmin(*o, v) : *o + v;
  } while (t_next(4, d, idx));
  if (k == R_MEAN)
    for (size_t i = 0; i < on; i++) y[i] /= (double)cnt;
}

static const char *const RNAMES[5] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin",
                                      "ReduceProd"};

/* axes_mode: 0 attribute, 1 input. */
static void check_reduce(rk k, int opset, int axes_mode, int n_axes, const int64_t *axes, int keepdims,
                         const int64_t *d, uint32_t seed) {
  size_t n = (size_t)(d[0] * d[1] * d[2] * d[3]);
  float *x = t_floats(n, seed);
  if (k == R_PROD)
    for (size_t i = 0; i < n; i++) x[i] = 1.0f + 0.05f * x[i];
  int mask[4] = {0};
  for (int i = 0; i < n_axes; i++) mask[axes[i] < 0 ? axes[i] + 4 : axes[i]] = 1;
  if (n_axes == 0) mask[0] = mask[1] = mask[2] = mask[3] = 1;
  int64_t od[4], kd[4];
  double *want = malloc(n * sizeof *want);
  ref_reduce(x, d, mask, k, want, od);
  int r = 0;
  for (int a = 0; a < 4; a++)
    if (!mask[a] || keepdims) kd[r++] = od[a];
  size_t on = (size_t)(od[0] * od[1] * od[2] * od[3]);
  float *wf = malloc(on * sizeof *wf);
  for (size_t i = 0; i < on; i++) wf[i] = (float)want[i];
  T_FOR_CONFIGS(c) {
    cl_graph *g = h_graph(opset);
    int xv = h_value(g, "x", CL_DTYPE_F32, 4, d, x);
    int av = axes_mode == 1 ? h_const(g, "axes", CL_DTYPE_I64, 1, (int64_t[]){n_axes}, axes) : -1;
    int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
    int node = h_node(g, RNAMES[k], (int[]){xv, av}, av >= 0 ? 2 : 1, &y, 1);
    if (axes_mode == 0 && n_axes > 0) h_attr_ints(g, node, "axes", n_axes, axes);
    h_attr_int(g, node, "keepdims", keepdims);
    cl_error err = {0};
    cr_assert_eq(h_run(g, node, T_CONFIGS[c].layout, T_CONFIGS[c].threads, &err), CL_OK, "%s", err.msg);
    cr_assert(t_shape_is(g, y, r, kd), "%s shape", RNAMES[k]);
    cr_assert(h_allclose(h_data(g, y), wf, on, 2e-5f, 1e-5f), "%s-%d config %d", RNAMES[k], opset, c);
    h_free(&g);
  }
  free(wf);
  free(want);
  free(x);
}

Test(reduce, axes_keepdims_and_opsets) {
  const int64_t hw[2] = {2, 3}, c1[1] = {1}, ends[2] = {0, -1}, all[1] = {0};
  for (int k = 0; k < 5; k++) {
    int sum = k == R_SUM;
    check_reduce(k, 13, sum, 2, hw, 1, XD, 50 + k);  /* spatial mean, NHWC: [HW, C] */
    check_reduce(k, 11, 0, 1, c1, 0, XD, 60 + k);    /* channels, rank changes */
    check_reduce(k, 18, 1, 2, ends, 1, XD, 70 + k);  /* non-adjacent, axes input */
    check_reduce(k, 13, sum, 0, all, 0, XD, 80 + k); /* everything: a scalar */
  }
  /* bigger: threads split the kept outer axis, or the kept inner columns */
  const int64_t big[4] = {4, 64, 33, 17}, big2[4] = {1, 300, 7, 5}, a1[1] = {1}, a23[2] = {2, 3};
  check_reduce(R_SUM, 13, 1, 1, a1, 1, big, 90);
  check_reduce(R_MEAN, 13, 0, 2, a23, 1, big, 91);
  check_reduce(R_MAX, 13, 0, 2, a23, 0, big2, 92);
  const int64_t cols[4] = {1, 500, 3, 100}, tall[4] = {4096, 1, 2, 8}, a0[1] = {0};
  check_reduce(R_SUM, 13, 1, 1, a1, 0, cols, 93); /* [500 reduced, 300 kept columns] */
  check_reduce(R_MIN, 13, 0, 1, a1, 1, cols, 94);
  check_reduce(R_SUM, 13, 1, 1, a0, 1, tall, 95); /* a long reduced outer axis: no split */
  check_reduce(R_MEAN, 13, 0, 0, a0, 0, big, 96); /* everything into one */
}

Test(reduce, noop_with_empty_axes) {
  T_FOR_CONFIGS(c) {
    cl_graph *g = h_graph(13);
    float *x = t_floats(120, 7);
    int xv = h_value(g, "x", CL_DTYPE_F32, 4, XD, x);
    int av = h_const(g, "axes", CL_DTYPE_I64, 1, (int64_t[]){0}, NULL);
    int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
    int n = h_node(g, "ReduceSum", (int[]){xv, av}, 2, &y, 1);
    h_attr_int(g, n, "noop_with_empty_axes", 1);
    cl_error err = {0};
    cr_assert_eq(h_run(g, n, T_CONFIGS[c].layout, T_CONFIGS[c].threads, &err), CL_OK, "%s", err.msg);
    cr_assert(t_shape_is(g, y, 4, XD));
    cr_assert_eq(memcmp(h_data(g, y), x, 120 * sizeof(float)), 0);
    h_free(&g);
    free(x);
  }
}

Test(reduce, integers) {
  cl_graph *g = h_graph(13);
  int x = h_value(g, "x", CL_DTYPE_I64, 2, (int64_t[]){2, 3},
                  (int64_t[]){1, -5, 3, 4, (int64_t)1 << 40, 6});
  int a = h_const(g, "axes", CL_DTYPE_I64, 1, (int64_t[]){1}, (int64_t[]){1});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "ReduceSum", (int[]){x, a}, 2, &y, 1);
  h_attr_int(g, n, "keepdims", 0);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  const int64_t *out = h_data(g, y);
  cr_assert(out[0] == -1 && out[1] == ((int64_t)1 << 40) + 10);
  h_free(&g);
  g = h_graph(13);
  x = h_value(g, "x", CL_DTYPE_I32, 2, (int64_t[]){2, 3}, (int32_t[]){1, -5, 3, 4, 9, 6});
  y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  n = h_node(g, "ReduceMin", &x, 1, &y, 1);
  h_attr_ints(g, n, "axes", 1, (int64_t[]){0});
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  const int32_t *o32 = h_data(g, y);
  cr_assert(o32[0] == 1 && o32[1] == -5 && o32[2] == 3);
  h_free(&g);
  g = h_graph(13);
  x = h_value(g, "x", CL_DTYPE_I32, 1, (int64_t[]){3}, NULL);
  y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  n = h_node(g, "ReduceMean", &x, 1, &y, 1);
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_ERR_UNSUPPORTED);
  h_free(&g);
}

/* === ArgMax, ArgMin === */

Test(argmax, ties_and_layouts) {
  /* along C of [1, 3, 2, 2]: each (h, w) column has a tie between two channels */
  const float x[12] = {5, 1, 2, 9, /* c0 */ 5, 7, 2, 3, /* c1 */ 0, 7, 8, 9};
  struct {
    const char *op;
    int last;
    int64_t want[4];
  } cases[] = {
      {"ArgMax", 0, {0, 1, 2, 0}},
      {"ArgMax", 1, {1, 2, 2, 2}},
      {"ArgMin", 0, {2, 0, 0, 1}},
      {"ArgMin", 1, {2, 0, 1, 1}},
  };
  for (int i = 0; i < 4; i++) T_FOR_CONFIGS(c) {
      cl_graph *g = h_graph(13);
      int xv = h_value(g, "x", CL_DTYPE_F32, 4, (int64_t[]){1, 3, 2, 2}, x);
      int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
      int n = h_node(g, cases[i].op, &xv, 1, &y, 1);
      h_attr_int(g, n, "axis", 1);
      h_attr_int(g, n, "select_last_index", cases[i].last);
      cl_error err = {0};
      cr_assert_eq(h_run(g, n, T_CONFIGS[c].layout, T_CONFIGS[c].threads, &err), CL_OK, "%s", err.msg);
      cr_assert(t_shape_is(g, y, 4, (int64_t[]){1, 1, 2, 2}));
      cr_assert_eq(g->values[y].dtype, CL_DTYPE_I64);
      cr_assert_eq(memcmp(h_data(g, y), cases[i].want, sizeof cases[i].want), 0, "%s last %d config %d",
                   cases[i].op, cases[i].last, c);
      h_free(&g);
    }
}
