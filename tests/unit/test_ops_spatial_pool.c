/* cleave tests: MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool (ops_pool.c).
 *
 * Expected values come from outside cleave: the ONNX conformance data (libonnx-testdata 1.12), or
 * numpy reference loops following ONNX Runtime's definition of ceil_mode and count_include_pad,
 * cross-checked with ONNX Runtime 1.30. Every case runs with PLAIN and CHANNELS_LAST storage, 1 and
 * 2 threads, and so covers both XNNPACK and the plain loops. */
#include "spatial_cases.h"

/* 1, 2, ..., n (the ONNX tests' inputs). */
static float *iota1(size_t n) {
  static float buf[64];
  for (size_t i = 0; i < n; i++) buf[i] = (float)(i + 1);
  return buf;
}

/* === Expected values (numpy / ONNX Runtime, see the file comment) === */

/* clang-format off */

static const float want_max_dil_pad[45] = {
    2.25, 0.5, 2.25, 1.75, 2.25, 2.25, 2, 2.25, 2, 2.25, 1.75, 2, 1.75, 2, 1.5, 1, 2.75, 1, 2.75,
    2.25, 2.5, 2.75, 2.5, 2.75, 2.5, 2.5, 2.25, 2.5, 2.25, 2.5, 2, 1.5, 2, 1.5, 1, 2, 1.5, 2, 1.5,
    2.5, 2.75, 1, 2.75, 2.25, 2.75,
};
static const float want_max_ceil_pad[160] = {
    2.25, 1.5, 3, -1, 3.25, 3.25, 3.5, 1.75, 2.75, 3, 3.5, 2.25, 0.5, 3, 3, 2.25, 3.25, 2.5, 1.75,
    0, 3.25, 3.5, 3.5, 2.75, 2, 3, 3.25, 3.25, 1.5, 0.75, 3.25, 3.25, 2.5, 3.5, 2.75, 1, 3, 3.5,
    2.75, 1.5, 3, 3, 3.25, 1.5, 2.5, 1.75, 1, -3, 3.5, 3.5, 2.75, 2, 3, 3.25, 3.25, 2.5, 3.5, 3.25,
    3.25, 2.5, 3.5, 2.75, 2, -2, 2.25, 2.25, 3, 3, 2.25, 3.25, 3.5, 3.5, 2.75, 2.75, 3.5, 3.5, 0.5,
    0.5, 3, -1, 3.25, 3.25, 2.5, 1.75, 3.25, 3.25, 3.5, 1.75, 2.75, 3, 3, 2.25, 1.5, 1.5, 0.75, 0,
    3.25, 3.5, 3.5, 2.75, 2, 3.5, 3.5, 2.75, 2.5, 3, 3.25, 3.25, 2.5, 2.5, 1.75, 1, 2, 3.5, 2.75,
    -1.25, 3, 3, 3.25, 1.5, 3.5, 3.5, 3.25, 2, 3.5, 3.5, 2.75, 2, 3, 2.25, 1.5, -0.25, 3, 3.25,
    3.25, 2.5, 3.5, 2.75, 3, 3, 1.25, 0.5, 3, 3, 2.25, 3.25, 2.5, 0.75, 2.75, 3.25, 3.5, 3.5, 2.75,
    2.75, 3, 1.25, 2.25, 1.5, 0.75, -3.25,
};
static const float want_avg_pads[25] = {
    7, 7.5, 8, 8.5, 9, 9.5, 10, 10.5, 11, 11.5, 12, 12.5, 13, 13.5, 14, 14.5, 15, 15.5, 16, 16.5,
    17, 17.5, 18, 18.5, 19,
};
static const float want_avg_pads_incl[25] = {
    2.52, 3.6, 4.8, 4.08, 3.24, 4.56, 6.4, 8.4, 7.04, 5.52, 7.2, 10, 13, 10.8, 8.4, 6.96, 9.6, 12.4,
    10.24, 7.92, 6.12, 8.4, 10.8, 8.88, 6.84,
};
static const float want_avg_1x1[18] = {
    0, -0.25, -0.5, 0.5, 0.25, 0, -0.75, 0.75, 0.5, -0.5, -0.75, 0.75, 0, -0.25, -0.5, 0.5, 0.25, 0,
};
static const float want_avg_ceil_incl[18] = {
    0.194444444, 0.0555555556, 0, 0.194444444, 0.0277777778, 0.125, -0.0833333333, 0.333333333,
    0.25, 0.138888889, -0.0277777778, -0.0833333333, 0.111111111, 0.0833333333, 0, -0.166666667,
    -0.333333333, 0.125,
};
static const float want_avg_ceil[18] = {
    0.4375, 0.0833333333, 0, 0.291666667, 0.0277777778, 0.125, -0.125, 0.333333333, 0.25, 0.3125,
    -0.0416666667, -0.125, 0.166666667, 0.0833333333, 0, -0.25, -0.333333333, 0.125,
};
static const float want_max_1d[10] = {
    0.75, 0.75, 0.5, 0.25, 1.25, 1, 1, 0.75, 0.5, 0.25,
};
static const float want_avg_1d[10] = {
    0.125, 0.166666667, -0.0833333333, -0.333333333, 0.625, 0.375, 0.416666667, 0.166666667,
    -0.0833333333, -0.5,
};
static const float want_avg_same_upper[27] = {
    -0.4375, -0.125, 0.1875, -0.625, 0.75, 0, -0.8125, 0.5625, -0.1875, 0, 0.3125, -0.4375,
    0.166666667, 0.125, -0.625, 0.6875, -0.0625, -0.8125, 0.4375, -0.3125, 0, 0.25, -0.5,
    0.166666667, 0.0625, -0.6875, 0.6875,
};
static const float want_avg_same_lower_incl[25] = {
    -0.125, -0.0625, 0.3125, 0, -0.3125, 0, 0.375, 0.4375, -0.1875, -0.125, -0.1875, 0, 0.0625,
    0.125, 0.1875, -0.375, -0.375, 0.375, 0.4375, -0.1875, 0.125, -0.0625, 0, 0.0625, 0.125,
};
static const float want_gap[6] = {
    -0.075, 0.0125, 0.1, -0.05, 0.0375, -0.1125,
};
static const float want_gmp[6] = {
    2.25, 2.25, 2.25, 2.25, 2.25, 2.25,
};
static const float want_gap3[70] = {
    -0.166666667, -0.229166667, 0.09375, 0.416666667, -0.416666667, -0.09375, 0.229166667,
    0.166666667, -0.28125, 0.0416666667, -0.0208333333, 0.302083333, -0.145833333, -0.208333333,
    0.114583333, 0.0520833333, -0.0104166667, -0.0729166667, -0.135416667, 0.1875, 0.125,
    -0.322916667, 0, 0.322916667, -0.125, -0.1875, 0.135416667, 0.0729166667, 0.0104166667,
    -0.0520833333, -0.114583333, 0.208333333, 0.145833333, -0.302083333, 0.0208333333,
    -0.0416666667, 0.28125, -0.166666667, -0.229166667, 0.09375, 0.416666667, -0.416666667,
    -0.09375, 0.229166667, 0.166666667, -0.28125, 0.0416666667, -0.0208333333, 0.302083333,
    -0.145833333, -0.208333333, 0.114583333, 0.0520833333, -0.0104166667, -0.0729166667,
    -0.135416667, 0.1875, 0.125, -0.322916667, 0, 0.322916667, -0.125, -0.1875, 0.135416667,
    0.0729166667, 0.0104166667, -0.0520833333, -0.114583333, 0.208333333, 0.145833333,
};
static const float want_gmp3[70] = {
    4.5, 4.25, 4.5, 4.5, 4.25, 4.5, 4.5, 4.25, 4.5, 4.5, 4.25, 4.5, 4.5, 4.25, 4.5, 4.25, 4.5, 4.5,
    4.25, 4.5, 4.5, 4.25, 4.5, 4.5, 4.25, 4.5, 4.5, 4.25, 4.5, 4.5, 4.25, 4.5, 4.5, 4.25, 4.5, 4.25,
    4.5, 4.5, 4.25, 4.5, 4.5, 4.25, 4.5, 4.5, 4.25, 4.5, 4.5, 4.25, 4.5, 4.5, 4.25, 4.5, 4.25, 4.5,
    4.5, 4.25, 4.5, 4.5, 4.25, 4.5, 4.5, 4.25, 4.5, 4.5, 4.25, 4.5, 4.5, 4.25, 4.5, 4.5,
};
/* test_averagepool_2d_precomputed_same_upper, x = 1..25 */
static const float want_onnx_avg_same_upper[9] = {
    4, 5.5, 7, 11.5, 13, 14.5, 19, 20.5, 22,
};
/* test_maxpool_2d_precomputed_same_upper, x = 1..25 */
static const float want_onnx_max_same_upper[9] = {
    7, 9, 10, 17, 19, 20, 22, 24, 25,
};
/* test_averagepool_2d_precomputed_strides, x = 1..25 */
static const float want_onnx_avg_strides[4] = {
    4, 6, 14, 16,
};

static const float want_max_dil_other_axis_pad[24] = {
    -2, 1.5, 1.5, 1, 0.75, 2.5, 2, 2, -2.25, 1.25, 1.25, 0.75, 0.5, 2.25, 1.75, 1.75, -2.5, 1, 2.75,
    0.5, 0.25, 2, 1.5, 1.5,
};
/* clang-format on */

/* === MaxPool === */

static int pool_node(cl_graph *g, const char *op, int rank, const int64_t *dims,
                     const float *data) {
  int x = h_value(g, "x", CL_DTYPE_F32, rank, dims, data);
  return h_node(g, op, (int[]){x}, 1, (int[]){out_value(g)}, 1);
}

static int b_max_strides(cl_graph *g) { /* ONNX test_maxpool_2d_precomputed_strides */
  int n = pool_node(g, "MaxPool", 4, D4(1, 1, 5, 5), iota1(25));
  ints(g, n, "kernel_shape", 2, 2, 2, 0, 0);
  return ints(g, n, "strides", 2, 2, 2, 0, 0);
}
static int b_max_ceil(cl_graph *g) { /* ONNX test_maxpool_2d_ceil */
  int n = pool_node(g, "MaxPool", 4, D4(1, 1, 4, 4), iota1(16));
  ints(g, n, "kernel_shape", 2, 3, 3, 0, 0);
  ints(g, n, "strides", 2, 2, 2, 0, 0);
  h_attr_int(g, n, "ceil_mode", 1);
  return n;
}
static int b_max_dilations(cl_graph *g) { /* ONNX test_maxpool_2d_dilations */
  int n = pool_node(g, "MaxPool", 4, D4(1, 1, 4, 4), iota1(16));
  ints(g, n, "kernel_shape", 2, 2, 2, 0, 0);
  return ints(g, n, "dilations", 2, 2, 2, 0, 0);
}
static int b_max_same_upper(cl_graph *g) { /* ONNX test_maxpool_2d_precomputed_same_upper */
  int n = pool_node(g, "MaxPool", 4, D4(1, 1, 5, 5), iota1(25));
  ints(g, n, "kernel_shape", 2, 3, 3, 0, 0);
  ints(g, n, "strides", 2, 2, 2, 0, 0);
  h_attr_string(g, n, "auto_pad", "SAME_UPPER");
  return n;
}
Test(max_pool, onnx_cases) {
  static const float strides[] = {7, 9, 17, 19}, ceil[] = {11, 12, 15, 16};
  expect_all(12, b_max_strides, strides, 4, 0);
  expect_all(12, b_max_ceil, ceil, 4, 0);
  expect_all(12, b_max_dilations, ceil, 4, 0);
  expect_all(12, b_max_same_upper, want_onnx_max_same_upper, 9, 0);
}

static int b_max_dil_pad(cl_graph *g) { /* dilation across padding: the plain loop */
  int n = pool_node(g, "MaxPool", 4, D4(1, 3, 6, 7), filled(126, 7, 23));
  ints(g, n, "kernel_shape", 2, 2, 3, 0, 0);
  ints(g, n, "strides", 2, 2, 1, 0, 0);
  ints(g, n, "pads", 4, 1, 2, 1, 0);
  return ints(g, n, "dilations", 2, 2, 2, 0, 0);
}
/* Dilation along H, padding along W only (XNNPACK's dilated pooling gets this wrong). */
static int b_max_dil_other_axis(cl_graph *g) {
  int n = pool_node(g, "MaxPool", 4, D4(1, 2, 9, 6), filled(108, 7, 23));
  ints(g, n, "kernel_shape", 2, 1, 3, 0, 0);
  ints(g, n, "strides", 2, 3, 2, 0, 0);
  ints(g, n, "dilations", 2, 2, 1, 0, 0);
  ints(g, n, "pads", 4, 0, 2, 0, 1);
  h_attr_int(g, n, "ceil_mode", 1);
  return n;
}
Test(max_pool, dilations_with_padding) {
  expect_all(12, b_max_dil_pad, want_max_dil_pad, 45, 0);
  expect_all(12, b_max_dil_other_axis, want_max_dil_other_axis_pad, 24, 0);
}

static int b_max_ceil_pad(cl_graph *g) {
  int n = pool_node(g, "MaxPool", 4, D4(2, 5, 6, 6), filled(360, 13, 29));
  ints(g, n, "kernel_shape", 2, 3, 3, 0, 0);
  ints(g, n, "strides", 2, 2, 2, 0, 0);
  ints(g, n, "pads", 4, 1, 1, 1, 1);
  h_attr_int(g, n, "ceil_mode", 1);
  return n;
}
Test(max_pool, channels_pads_ceil_mode) {
  expect_all(12, b_max_ceil_pad, want_max_ceil_pad, 160, 0);
}

static int b_max_1d(cl_graph *g) {
  int n = pool_node(g, "MaxPool", 3, D3(1, 2, 9), filled(18, 5, 11));
  ints(g, n, "kernel_shape", 1, 3, 0, 0, 0);
  ints(g, n, "strides", 1, 2, 0, 0, 0);
  return ints(g, n, "pads", 2, 1, 1, 0, 0);
}
Test(max_pool, one_dimensional) { expect_all(12, b_max_1d, want_max_1d, 10, 0); }

/* Opset 8's MaxPool: no ceil_mode; storage_order without Indices changes nothing. */
static int b_max_opset8(cl_graph *g) {
  int n = b_max_strides(g);
  h_attr_int(g, n, "storage_order", 1);
  return n;
}
Test(max_pool, opset_8_storage_order) {
  static const float want[] = {7, 9, 17, 19};
  expect_all(8, b_max_opset8, want, 4, 0);
}

/* ceil_mode never starts a window in the trailing padding (ONNX >= 1.16 and ONNX Runtime: a 2x2
 * output here, not 3x3). */
static int b_ceil_rule(cl_graph *g, const char *op) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 4, 4), iota(16));
  int n = h_node(g, op, (int[]){x}, 1, (int[]){out_value(g)}, 1);
  ints(g, n, "kernel_shape", 2, 2, 2, 0, 0);
  ints(g, n, "strides", 2, 2, 2, 0, 0);
  ints(g, n, "pads", 4, 0, 0, 1, 1);
  h_attr_int(g, n, "ceil_mode", 1);
  return n;
}
static int b_ceil_rule_max(cl_graph *g) { return b_ceil_rule(g, "MaxPool"); }
static int b_ceil_rule_avg(cl_graph *g) { return b_ceil_rule(g, "AveragePool"); }
Test(pool, ceil_mode_last_window_starts_inside) {
  static const float max[] = {5, 7, 13, 15}, avg[] = {2.5f, 4.5f, 10.5f, 12.5f}; /* ONNX Runtime */
  expect_all(12, b_ceil_rule_max, max, 4, 0);
  expect_all(11, b_ceil_rule_avg, avg, 4, 1e-6f);
}

/* === AveragePool === */

static int
b_avg_pads(cl_graph *g,
           int include) { /* ONNX test_averagepool_2d_precomputed_pads[_count_include_pad] */
  int n = pool_node(g, "AveragePool", 4, D4(1, 1, 5, 5), iota1(25));
  ints(g, n, "kernel_shape", 2, 5, 5, 0, 0);
  ints(g, n, "pads", 4, 2, 2, 2, 2);
  h_attr_int(g, n, "count_include_pad", include);
  return n;
}
static int b_avg_pads0(cl_graph *g) { return b_avg_pads(g, 0); }
static int b_avg_pads1(cl_graph *g) { return b_avg_pads(g, 1); }
static int b_avg_ceil_onnx(cl_graph *g) { /* ONNX test_averagepool_2d_ceil */
  int n = pool_node(g, "AveragePool", 4, D4(1, 1, 4, 4), iota1(16));
  ints(g, n, "kernel_shape", 2, 3, 3, 0, 0);
  ints(g, n, "strides", 2, 2, 2, 0, 0);
  h_attr_int(g, n, "ceil_mode", 1);
  return n;
}
static int b_avg_same_upper_onnx(cl_graph *g) {
  int n = pool_node(g, "AveragePool", 4, D4(1, 1, 5, 5), iota1(25));
  ints(g, n, "kernel_shape", 2, 3, 3, 0, 0);
  ints(g, n, "strides", 2, 2, 2, 0, 0);
  h_attr_string(g, n, "auto_pad", "SAME_UPPER");
  return n;
}
static int b_avg_strides_onnx(cl_graph *g) {
  int n = pool_node(g, "AveragePool", 4, D4(1, 1, 5, 5), iota1(25));
  ints(g, n, "kernel_shape", 2, 2, 2, 0, 0);
  return ints(g, n, "strides", 2, 2, 2, 0, 0);
}
Test(average_pool, onnx_cases) {
  static const float ceil[] = {6, 7.5f, 12, 13.5f};
  expect_all(11, b_avg_pads0, want_avg_pads, 25, 1e-6f);
  expect_all(11, b_avg_pads1, want_avg_pads_incl, 25, 1e-6f);
  expect_all(11, b_avg_ceil_onnx, ceil, 4, 1e-6f);
  expect_all(11, b_avg_same_upper_onnx, want_onnx_avg_same_upper, 9, 1e-6f);
  expect_all(11, b_avg_strides_onnx, want_onnx_avg_strides, 4, 1e-6f);
}

static int b_avg_1x1(cl_graph *g) { /* a 1x1 window (XNNPACK refuses those): the plain loop */
  int n = pool_node(g, "AveragePool", 4, D4(1, 2, 5, 5), filled(50, 3, 7));
  ints(g, n, "kernel_shape", 2, 1, 1, 0, 0);
  return ints(g, n, "strides", 2, 2, 2, 0, 0);
}
Test(average_pool, one_by_one_window) { expect_all(11, b_avg_1x1, want_avg_1x1, 18, 0); }

static int b_avg_ceil(cl_graph *g, int include) {
  int n = pool_node(g, "AveragePool", 4, D4(1, 2, 5, 5), filled(50, 7, 13));
  ints(g, n, "kernel_shape", 2, 3, 3, 0, 0);
  ints(g, n, "strides", 2, 2, 2, 0, 0);
  ints(g, n, "pads", 4, 1, 1, 0, 0);
  h_attr_int(g, n, "ceil_mode", 1);
  h_attr_int(g, n, "count_include_pad", include);
  return n;
}
static int b_avg_ceil0(cl_graph *g) { return b_avg_ceil(g, 0); }
static int b_avg_ceil1(cl_graph *g) { return b_avg_ceil(g, 1); }
/* With count_include_pad the declared padding counts, the ceil_mode overhang does not. */
Test(average_pool, ceil_mode_and_count_include_pad) {
  expect_all(11, b_avg_ceil0, want_avg_ceil, 18, 1e-6f);
  expect_all(11, b_avg_ceil1, want_avg_ceil_incl, 18, 1e-6f);
}

static int b_avg_1d(cl_graph *g) {
  int n = pool_node(g, "AveragePool", 3, D3(1, 2, 9), filled(18, 5, 11));
  ints(g, n, "kernel_shape", 1, 3, 0, 0, 0);
  ints(g, n, "strides", 1, 2, 0, 0, 0);
  return ints(g, n, "pads", 2, 1, 1, 0, 0);
}
Test(average_pool, one_dimensional) { expect_all(11, b_avg_1d, want_avg_1d, 10, 1e-6f); }

static int b_avg_same_upper(cl_graph *g) {
  int n = pool_node(g, "AveragePool", 4, D4(1, 3, 5, 6), filled(90, 7, 17));
  ints(g, n, "kernel_shape", 2, 3, 2, 0, 0);
  ints(g, n, "strides", 2, 2, 2, 0, 0);
  h_attr_string(g, n, "auto_pad", "SAME_UPPER");
  return n;
}
static int b_avg_same_lower_incl(cl_graph *g) {
  int n = pool_node(g, "AveragePool", 4, D4(1, 1, 5, 5), filled(25, 3, 11));
  ints(g, n, "kernel_shape", 2, 2, 2, 0, 0);
  h_attr_string(g, n, "auto_pad", "SAME_LOWER");
  h_attr_int(g, n, "count_include_pad", 1);
  return n;
}
Test(average_pool, auto_pad) {
  expect_all(11, b_avg_same_upper, want_avg_same_upper, 27, 1e-6f);
  expect_all(11, b_avg_same_lower_incl, want_avg_same_lower_incl, 25, 1e-6f);
}

/* --- Pools: what is refused --- */

static int b_max_indices(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 5, 5), NULL);
  int z = h_value(g, "z", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "MaxPool", (int[]){x}, 1, (int[]){out_value(g), z}, 2);
  return ints(g, n, "kernel_shape", 2, 2, 2, 0, 0);
}
static int b_no_kernel(cl_graph *g) { return pool_node(g, "MaxPool", 4, D4(1, 1, 5, 5), NULL); }
static int b_pool3d(cl_graph *g) {
  int n = pool_node(g, "AveragePool", 5, (int64_t[]){1, 1, 4, 4, 4}, NULL);
  return ints(g, n, "kernel_shape", 3, 2, 2, 2, 0);
}
static int b_pool3d_input(cl_graph *g) {
  int n = pool_node(g, "MaxPool", 5, (int64_t[]){1, 1, 4, 4, 4}, NULL);
  return ints(g, n, "kernel_shape", 2, 2, 2, 0, 0);
}
static int b_kernel_rank(cl_graph *g) {
  int n = pool_node(g, "MaxPool", 4, D4(1, 1, 5, 5), NULL);
  return ints(g, n, "kernel_shape", 1, 2, 0, 0, 0);
}
static int b_avg_dilations(cl_graph *g) {
  int n = pool_node(g, "AveragePool", 4, D4(1, 1, 5, 5), NULL);
  ints(g, n, "kernel_shape", 2, 2, 2, 0, 0);
  return ints(g, n, "dilations", 2, 2, 2, 0, 0);
}
static int b_max_same_dilated(cl_graph *g) {
  int n = pool_node(g, "MaxPool", 4, D4(1, 1, 5, 5), NULL);
  ints(g, n, "kernel_shape", 2, 3, 3, 0, 0);
  ints(g, n, "dilations", 2, 2, 2, 0, 0);
  h_attr_string(g, n, "auto_pad", "SAME_UPPER");
  return n;
}
static int b_pool_too_big(cl_graph *g) {
  int n = pool_node(g, "MaxPool", 4, D4(1, 1, 5, 5), NULL);
  return ints(g, n, "kernel_shape", 2, 6, 2, 0, 0);
}
static int b_pool_uint8(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_U8, 4, D4(1, 1, 5, 5), NULL);
  int n = h_node(g, "MaxPool", (int[]){x}, 1, (int[]){out_value(g)}, 1);
  return ints(g, n, "kernel_shape", 2, 2, 2, 0, 0);
}
Test(pool, refusals) {
  expect_error(12, b_max_indices, CL_ERR_UNSUPPORTED, "the Indices output is not supported");
  expect_error(12, b_no_kernel, CL_ERR_FORMAT, "kernel_shape is required");
  expect_error(11, b_pool3d, CL_ERR_UNSUPPORTED, "3-D pooling is not supported");
  expect_error(12, b_pool3d_input, CL_ERR_UNSUPPORTED, "3-D pooling is not supported");
  expect_error(12, b_kernel_rank, CL_ERR_SHAPE, "kernel_shape has 1 entries for 2 spatial axes");
  expect_error(18, b_avg_dilations, CL_ERR_UNSUPPORTED, "dilations are not supported");
  expect_error(12, b_max_same_dilated, CL_ERR_UNSUPPORTED, "with dilations is not supported");
  expect_error(12, b_pool_too_big, CL_ERR_SHAPE, "kernel 6 (dilated 6) does not fit input 5");
  expect_error(12, b_pool_uint8, CL_ERR_UNSUPPORTED, "uint8 is not supported");
}

/* === GlobalAveragePool, GlobalMaxPool === */

static int b_gap(cl_graph *g) {
  return pool_node(g, "GlobalAveragePool", 4, D4(2, 3, 4, 5), filled(120, 7, 19));
}
static int b_gmp(cl_graph *g) {
  return pool_node(g, "GlobalMaxPool", 4, D4(2, 3, 4, 5), filled(120, 7, 19));
}
static int b_gap3(cl_graph *g) {
  return pool_node(g, "GlobalAveragePool", 3, D3(1, 70, 24), filled(24 * 70, 5, 37));
}
static int b_gmp3(cl_graph *g) {
  return pool_node(g, "GlobalMaxPool", 3, D3(1, 70, 24), filled(24 * 70, 5, 37));
}
Test(global_pool, average_and_max) {
  expect_all(13, b_gap, want_gap, 6, 1e-6f);
  expect_all(13, b_gmp, want_gmp, 6, 0);
  expect_all(13, b_gap3, want_gap3, 70, 1e-6f);
  expect_all(13, b_gmp3, want_gmp3, 70, 0);
}

Test(global_pool, output_shape_and_refusals) {
  cl_graph *g = h_graph(13);
  int n = pool_node(g, "GlobalAveragePool", 5, (int64_t[]){1, 2, 3, 4, 5}, filled(120, 7, 19));
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_CHANNELS_LAST, 2, &err), CL_OK, "%s", err.msg);
  const cl_value *y = &g->values[g->nodes[n].out[0]];
  cr_assert(y->rank == 5 && y->dims[0] == 1 && y->dims[1] == 2 && y->dims[2] == 1 &&
            y->dims[4] == 1);
  static const float want[] = {0.0125f, -0.0416666667f}; /* numpy: mean over 60 values */
  cr_assert(h_allclose(h_data(g, g->nodes[n].out[0]), want, 2, 1e-6f, 1e-6f));
  h_free(&g);
  g = h_graph(13);
  n = pool_node(g, "GlobalAveragePool", 2, (int64_t[]){2, 3}, NULL);
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_ERR_SHAPE);
  cr_assert(strstr(err.msg, "rank 2") != NULL, "%s", err.msg);
  h_free(&g);
}
