/* cleave tests: Conv and ConvTranspose (ops_conv.c).
 *
 * Expected values come from outside cleave: the ONNX conformance data (libonnx-testdata 1.12), or
 * numpy reference loops (independent of this code) cross-checked with ONNX Runtime 1.30 where it
 * accepts the case; inputs are small multiples of 1/4 so that float sums are exact. Every case runs
 * with PLAIN and CHANNELS_LAST storage, 1 and 2 threads. */
#include "spatial_cases.h"

/* === Expected values (numpy / ONNX Runtime, see the file comment) === */

/* clang-format off */

/* test_convtranspose: x [1, 1, 3, 3] = arange, w [1, 2, 3, 3] = ones */
static const float want_onnx_ct[50] = {
    0, 1, 3, 3, 2, 3, 8, 15, 12, 7, 9, 21, 36, 27, 15, 9, 20, 33, 24, 13, 6, 13, 21, 15, 8, 0, 1, 3,
    3, 2, 3, 8, 15, 12, 7, 9, 21, 36, 27, 15, 9, 20, 33, 24, 13, 6, 13, 21, 15, 8,
};
/* test_convtranspose_output_shape: x [1, 1, 3, 3] = arange, w [1, 2, 3, 3] = ones */
static const float want_onnx_ct_outshape[160] = {
    0, 0, 1, 1, 3, 2, 2, 0, 0, 0, 1, 1, 3, 2, 2, 0, 0, 0, 1, 1, 3, 2, 2, 0, 3, 3, 7, 4, 9, 5, 5, 0,
    3, 3, 7, 4, 9, 5, 5, 0, 3, 3, 7, 4, 9, 5, 5, 0, 6, 6, 13, 7, 15, 8, 8, 0, 6, 6, 13, 7, 15, 8, 8,
    0, 6, 6, 13, 7, 15, 8, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3, 2, 2, 0, 0, 0, 1, 1, 3, 2,
    2, 0, 0, 0, 1, 1, 3, 2, 2, 0, 3, 3, 7, 4, 9, 5, 5, 0, 3, 3, 7, 4, 9, 5, 5, 0, 3, 3, 7, 4, 9, 5,
    5, 0, 6, 6, 13, 7, 15, 8, 8, 0, 6, 6, 13, 7, 15, 8, 8, 0, 6, 6, 13, 7, 15, 8, 8, 0, 0, 0, 0, 0,
    0, 0, 0, 0,
};
/* test_convtranspose_autopad_same: x [1, 1, 3, 3] = arange, w [1, 2, 3, 3] = ones */
static const float want_onnx_ct_same[72] = {
    0, 0, 1, 1, 3, 2, 0, 0, 1, 1, 3, 2, 3, 3, 8, 5, 12, 7, 3, 3, 7, 4, 9, 5, 9, 9, 20, 11, 24, 13,
    6, 6, 13, 7, 15, 8, 0, 0, 1, 1, 3, 2, 0, 0, 1, 1, 3, 2, 3, 3, 8, 5, 12, 7, 3, 3, 7, 4, 9, 5, 9,
    9, 20, 11, 24, 13, 6, 6, 13, 7, 15, 8,
};
/* test_conv_with_autopad_same: x [1, 1, 5, 5] = arange, w [1, 1, 3, 3] = ones */
static const float want_onnx_conv_same_lower[9] = {
    12, 27, 24, 63, 108, 81, 72, 117, 84,
};
static const float want_conv_group[144] = {
    0.6875, 2.5, 0.875, 0.625, 0.4375, 0.1875, 2.25, 2, 0.375, -1.25, 0.5625, -0.875, -0.9375, -1.5,
    0, -1.25, 0.375, -0.375, -0.6875, -0.6875, -1.375, 1.375, -0.9375, 1.375, 0.4375, 1, -0.5, 0.75,
    -0.1875, 0.3125, 0.25, 0.5, 0.75, -1.75, 1, 0.5, 0.4375, -1.375, 0.25, 0.5, -2.125, 0.625,
    -1.1875, -0.6875, 0.5, -1.75, 0.125, 0.625, -0.6875, -0.75, -0.8125, -0.875, 1.3125, -0.5625,
    -0.5625, 0.5, -0.5, 1.25, -1, -1.25, 0.75, -0.625, -0.625, 0.75, -0.125, -0.0625, -0.875,
    -0.5625, -0.25, -0.625, 0, 0.75, -1.125, 0.6875, 2.5, 0.875, 0, 0.4375, 0.4375, 2.25, 2, 0.375,
    -0.0625, 0.5625, 0.3125, -0.9375, -1.5, 0, -0.9375, 0.375, -1.375, -0.6875, -0.6875, -1.375,
    1.5625, -0.9375, 1.25, 0.4375, 1, -0.5, 0.6875, -0.1875, 0.6875, 0.25, 0.5, 0.75, -1.25, 1,
    2.25, 0.4375, -1.375, 0.25, 0.625, -2.125, 1.75, -1.1875, -0.6875, 0.5, -1.75, 0.125, -1.3125,
    -0.6875, -0.75, -0.8125, -0.9375, 1.3125, -1.625, -0.5625, 0.5, -0.5, 1.3125, -1, 0.75, 0.75,
    -0.625, -0.625, 0.5, -0.125, 0.1875, -0.875, -0.5625, -0.25, -0.0625, 0,
};
static const float want_dw_mult[54] = {
    -0.9375, 1.125, 0.9375, -0.1875, -0.5625, 0.375, 1.875, -0.5625, 0.75, -0.9375, 1.125, 0.9375,
    -0.1875, -0.5625, 0.375, 1.875, -0.5625, 0.75, 0.75, 0.3125, -1.0625, -0.5, -1.375, -0.9375,
    0.75, -0.5625, 1.875, 0.75, 0.3125, -1.0625, -0.5, -1.375, -0.9375, 0.75, -0.5625, 1.875,
    -0.8125, -1.3125, 1, 0, 1.875, 0.1875, 2.0625, -0.5625, 0.5625, -0.8125, -1.3125, 1, 0, 1.875,
    0.1875, 2.0625, -0.5625, 0.5625,
};
static const float want_dw5_clamp[160] = {
    0, 1.125, 2.75, 6, 5.3125, 0, 0, 0, 0, 0, 0.25, 6, 6, 0, 0, 0, 0, 0, 0, 0.25, 6, 6, 0, 0, 2.75,
    0, 0, 0, 0.25, 6, 5, 0, 1.875, 2.5, 0, 2.125, 0, 0, 2.8125, 1.875, 0.25, 0, 1.6875, 0, 0, 0,
    2.9375, 0, 0, 0, 0, 6, 6, 0.5, 0, 0, 2.6875, 0, 0, 0, 6, 6, 2.9375, 0, 6, 5.25, 0, 0, 0, 6,
    4.875, 0, 1.25, 3.0625, 0, 0, 0, 5.5625, 4.1875, 0, 0, 3.1875, 0, 2.0625, 0, 2.75, 0, 0.9375,
    3.6875, 0, 0, 0, 5.125, 2.4375, 2.4375, 0, 6, 3.1875, 0, 0, 0, 5.125, 0.25, 5.375, 2.9375,
    5.125, 6, 0, 0, 0, 2.3125, 0, 1.6875, 4.4375, 0, 4.75, 0, 0, 2.0625, 0.8125, 0.125, 0, 0,
    1.6875, 0, 6, 6, 0, 2.5, 1.9375, 0.0625, 0.1875, 0.3125, 0, 2.5, 4.375, 2.75, 0, 0, 0.0625,
    0.1875, 0.3125, 0, 0, 0, 1.8125, 0, 0, 0.0625, 0.1875, 0, 0, 1.125, 1.5625, 0, 0, 0, 6, 4.25, 0,
};
static const float want_conv1d[12] = {
    -0.3125, -0.4375, 0.1875, -0.8125, 0.25, 0.1875, 0, 0.625, -0.5625, 0.375, 0.3125, -0.5625,
};
static const float want_same_upper[18] = {
    0.5, 1.1875, 0.75, -1.5625, -0.3125, -0.1875, 0.3125, 0.375, -0.125, -0.4375, -1, -0.125, 1.25,
    1.25, 0.8125, -0.6875, -0.8125, -0.75,
};
static const float want_same_lower[18] = {
    0.625, 0.25, 0.25, 0.0625, -0.1875, 0.5, -0.3125, -1.125, -1.5625, -0.875, 0.5625, -0.4375,
    0.6875, 0.125, -0.4375, 0.3125, 0.125, 1.25,
};
static const float want_ct_shuffle_m1[96] = {
    -0.3125, 0.1875, -0.125, 0, -0.625, 0.5, -0.4375, 0.3125, -0.4375, 0.0625, 1.8125, 1.375,
    -0.0625, -0.0625, 2, 1.25, 1.125, 1.5, 0.625, 0.625, 1.5, 1.125, 0.3125, -0.4375, -0.375, -2,
    1.1875, -1.625, -2, 0.375, -1.1875, 0.3125, 0.5, -0.625, 0, -0.125, 0.1875, -0.3125, -0.3125,
    0.1875, 1.0625, 1.625, -0.8125, 0.1875, 1.4375, 1.5, -0.4375, 0.0625, 0.625, 0.625, 1.5, 1.125,
    0.3125, -0.4375, 0.5, -0.625, 1.1875, -1.625, -2, 0.375, -1.1875, 0.3125, 1.0625, 1.625, 0,
    -0.125, 0.1875, -0.3125, -0.3125, 0.1875, -0.125, 0, -0.8125, 0.1875, 1.4375, 1.5, -0.4375,
    0.0625, 1.8125, 1.375, -0.625, 0.5, -0.4375, 0.3125, 1.125, 1.5, 0.625, 0.625, -0.0625, -0.0625,
    2, 1.25, -0.375, -2, 1.1875, -1.625,
};
static const float want_ct_shuffle_1d[42] = {
    0.25, 0.25, 0.625, -0.125, 0.125, 0.375, 0.5, 0, 0, 0.5, 0.375, 0.125, -0.125, 0.625, -0.5,
    -0.5, -0.3125, 0.25, -0.5625, -0.75, -0.375, 0, -0.625, -1, -0.4375, -0.25, -0.6875, -1.25, 0,
    0, 0, -0.75, 0, 0.25, 0, -0.5, 0, 0.5, 0, -0.25, 0, 0.75,
};
/* conv_big [1,24,7,7]: (channel, y, x) and value */
static const sample want_big[] = {{0, 0, 0, 28.1875}, {5, 3, 3, -12.1875},  {23, 6, 6, 5.25},
                {11, 0, 6, 2.25},   {17, 4, 1, -37.0625}, {8, 6, 0, -2.1875}};
static const double want_big_sum = -22.9375, want_big_sumsq = 369336.168;
static const float want_ct_group[200] = {
    -0.625, 0.25, 1.125, 0.625, 0.25, -0.125, 0.5, 0.25, 0, 0.25, 1.9375, -1.25, 0.0625, -0.5,
    0.8125, 0.4375, -0.1875, 0.8125, 0.125, 0.25, 0.375, 0.25, 0.125, 0.25, 0.25, 0.25, 0.125, 0.25,
    0.375, 0.25, 0, 0.4375, 0.3125, 0.25, 0.25, 0.25, 0.5, 0.0625, 0.1875, 0.25, 0.25, 0.25, 0.25,
    0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, -0.375, 0.5, 1.375, 0.875, 0.5, 0.125, 0.75, 0.5,
    0.25, 0.5, 2.1875, -1, 0.3125, -0.25, 1.0625, 0.6875, 0.0625, 1.0625, 0.375, 0.5, 0.625, 0.5,
    0.375, 0.5, 0.5, 0.5, 0.375, 0.5, 0.625, 0.5, 0.25, 0.6875, 0.5625, 0.5, 0.5, 0.5, 0.75, 0.3125,
    0.4375, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, -0.125, -0.5, -0.875, -0.25,
    -0.5, -0.75, -0.375, -0.5, -0.625, -0.5, -1.25, 0.0625, -0.3125, -0.9375, 0.0625, -0.625,
    -0.625, 0.0625, -0.9375, -0.5, -0.5, -0.5, -0.5, -0.625, -0.5, -0.375, -0.75, -0.5, -0.25, -0.5,
    -0.5, -0.5, -0.5, -0.25, -0.6875, -0.5625, 0, -0.875, -0.625, -0.5, -0.5, -0.5, -0.5, -0.5,
    -0.5, -0.5, -0.5, -0.5, -0.5, -0.5, 0.125, -0.25, -0.625, 0, -0.25, -0.5, -0.125, -0.25, -0.375,
    -0.25, -1, 0.3125, -0.0625, -0.6875, 0.3125, -0.375, -0.375, 0.3125, -0.6875, -0.25, -0.25,
    -0.25, -0.25, -0.375, -0.25, -0.125, -0.5, -0.25, 0, -0.25, -0.25, -0.25, -0.25, 0, -0.4375,
    -0.3125, 0.25, -0.625, -0.375, -0.25, -0.25, -0.25, -0.25, -0.25, -0.25, -0.25, -0.25, -0.25,
    -0.25, -0.25,
};
static const float want_ct_negpad[72] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, -0.375, 0.1875, -0.25, 0.1875, 0.3125, -0.25, 0, 0, -0.1875, 0.375,
    -0.3125, 0.125, 0.4375, -0.125, 0, 0, 0.4375, -0.25, -0.3125, 0.1875, -0.1875, 0.1875, 0, 0,
    0.3125, -0.375, -0.25, 0.25, -0.375, 0, 0, 0, 0.375, -0.25, -0.375, 0.1875, -0.25, 0.1875, 0, 0,
    0.375, -0.25, -0.1875, 0.375, -0.3125, 0.125, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
static const float want_ct_dil_outpad[36] = {
    0, -0.125, 0.1875, 0.125, -0.1875, 0, 0.0625, -0.0625, -0.25, 0.0625, 0.1875, 0, 0.125, -0.25,
    0.125, 0, 0.125, 0, 0.125, -0.125, -0.375, 0, 0, 0, 0.25, 0, -0.25, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
static const float want_ct_1d_clamp[30] = {
    -0.1875, -0.875, -0.8125, 0.5, -0.125, 0.125, -0.3125, -0.25, -0.0625, -0.5625, 0.125, 0.75,
    -0.5625, -0.625, 0.0625, -0.25, 0.25, -0.3125, 0, 0.375, 0.4375, 1, -0.3125, -0.4375, 0.25,
    0.25, 0.8125, 0.0625, 0.0625, 0.4375,
};
/* ct_big [1,8,10,10] */
static const sample want_ct_big[] = {{0, 0, 0, 11.1875},
                   {3, 5, 7, 9.3125},
                   {7, 9, 9, -30.0625},
                   {4, 0, 9, 1.1875},
                   {1, 8, 1, -22.25}};
static const double want_ct_big_sum = -16.8125, want_ct_big_sumsq = 118135.871;
/* clang-format on */

/* === Conv === */

static int b_conv_asym(cl_graph *g) { /* ONNX test_conv_with_strides_and_asymmetric_padding */
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 7, 5), iota(35));
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(1, 1, 3, 3), ones(9));
  int n = h_node(g, "Conv", (int[]){x, w}, 2, (int[]){out_value(g)}, 1);
  ints(g, n, "kernel_shape", 2, 3, 3, 0, 0);
  ints(g, n, "strides", 2, 2, 2, 0, 0);
  return ints(g, n, "pads", 4, 1, 0, 1, 0);
}
Test(conv, onnx_strides_asymmetric_padding) {
  static const float want[] = {21, 33, 99, 117, 189, 207, 171, 183};
  expect_all(11, b_conv_asym, want, 8, 0);
}

static int b_conv_same_lower_onnx(cl_graph *g) { /* ONNX test_conv_with_autopad_same */
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 5, 5), iota(25));
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(1, 1, 3, 3), ones(9));
  int n = h_node(g, "Conv", (int[]){x, w}, 2, (int[]){out_value(g)}, 1);
  h_attr_string(g, n, "auto_pad", "SAME_LOWER");
  return ints(g, n, "strides", 2, 2, 2, 0, 0);
}
Test(conv, onnx_autopad_same_lower) {
  expect_all(11, b_conv_same_lower_onnx, want_onnx_conv_same_lower, 9, 0);
}

static int b_conv_group(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(2, 4, 5, 6), filled(240, 7, 11));
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(6, 2, 3, 2), filled(72, 5, 7));
  int b = h_const(g, "b", CL_DTYPE_F32, 1, D1(6), filled(6, 3, 5));
  int n = h_node(g, "Conv", (int[]){x, w, b}, 3, (int[]){out_value(g)}, 1);
  h_attr_int(g, n, "group", 2);
  ints(g, n, "strides", 2, 2, 1, 0, 0);
  ints(g, n, "dilations", 2, 1, 2, 0, 0);
  return ints(g, n, "pads", 4, 1, 0, 0, 2);
}
Test(conv, group_strides_dilations_asymmetric_pads) {
  expect_all(13, b_conv_group, want_conv_group, 144, 1e-5f);
}

static int b_dw_mult(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 3, 6, 5), filled(90, 5, 13));
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(6, 1, 3, 3), filled(54, 7, 9));
  int n = h_node(g, "Conv", (int[]){x, w}, 2, (int[]){out_value(g)}, 1);
  h_attr_int(g, n, "group", 3);
  ints(g, n, "strides", 2, 2, 2, 0, 0);
  return ints(g, n, "pads", 4, 1, 1, 1, 1);
}
Test(conv, depthwise_with_multiplier) { expect_all(13, b_dw_mult, want_dw_mult, 54, 1e-5f); }

static int
b_dw5_clamp(cl_graph *g) { /* PaddleOCR's 5x5 depthwise with (2,1) strides, Relu6 fused */
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 4, 9, 8), filled(288, 3, 17));
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(4, 1, 5, 5), filled(100, 11, 13));
  int b = h_const(g, "b", CL_DTYPE_F32, 1, D1(4), filled(4, 1, 3));
  int n = h_node(g, "Conv", (int[]){x, w, b}, 3, (int[]){out_value(g)}, 1);
  h_attr_int(g, n, "group", 4);
  ints(g, n, "kernel_shape", 2, 5, 5, 0, 0);
  ints(g, n, "strides", 2, 2, 1, 0, 0);
  ints(g, n, "pads", 4, 2, 2, 2, 2);
  g->nodes[n].act_min = 0.0f;
  g->nodes[n].act_max = 6.0f;
  return n;
}
Test(conv, depthwise_5x5_fused_clamp) { expect_all(13, b_dw5_clamp, want_dw5_clamp, 160, 1e-5f); }

static int b_conv1d(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 3, D3(1, 2, 9), filled(18, 5, 7));
  int w = h_const(g, "w", CL_DTYPE_F32, 3, D3(3, 2, 3), filled(18, 3, 5));
  int b = h_const(g, "b", CL_DTYPE_F32, 1, D1(3), filled(3, 2, 3));
  int n = h_node(g, "Conv", (int[]){x, w, b}, 3, (int[]){out_value(g)}, 1);
  ints(g, n, "strides", 1, 2, 0, 0, 0);
  ints(g, n, "dilations", 1, 2, 0, 0, 0);
  return ints(g, n, "pads", 2, 1, 2, 0, 0);
}
Test(conv, one_dimensional) { expect_all(13, b_conv1d, want_conv1d, 12, 1e-5f); }

static int b_same(cl_graph *g, const char *mode) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 6, 6), filled(36, 5, 9));
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(2, 1, 3, 3), filled(18, 3, 5));
  int n = h_node(g, "Conv", (int[]){x, w}, 2, (int[]){out_value(g)}, 1);
  h_attr_string(g, n, "auto_pad", mode);
  return ints(g, n, "strides", 2, 2, 2, 0, 0);
}
static int b_same_upper(cl_graph *g) { return b_same(g, "SAME_UPPER"); }
static int b_same_lower(cl_graph *g) { return b_same(g, "SAME_LOWER"); }
Test(conv, auto_pad_same_upper_and_lower) {
  expect_all(13, b_same_upper, want_same_upper, 18, 1e-5f);
  expect_all(13, b_same_lower, want_same_lower, 18, 1e-5f);
}

static int b_conv_big(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 16, 7, 7), filled(16 * 49, 7, 23));
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(24, 16, 3, 3), filled(24 * 16 * 9, 5, 19));
  int b = h_const(g, "b", CL_DTYPE_F32, 1, D1(24), filled(24, 3, 7));
  int n = h_node(g, "Conv", (int[]){x, w, b}, 3, (int[]){out_value(g)}, 1);
  return ints(g, n, "pads", 4, 1, 1, 1, 1);
}

Test(conv, larger_gemm_path) {
  expect_sampled(b_conv_big, 24, 7, 7, want_big, (int)(sizeof want_big / sizeof want_big[0]),
                 want_big_sum, want_big_sumsq);
}

/* --- Conv: what is refused --- */

static int b_bad_channels(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 3, 5, 5), NULL);
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(2, 2, 3, 3), ones(36));
  return h_node(g, "Conv", (int[]){x, w}, 2, (int[]){out_value(g)}, 1);
}
static int b_bad_group(cl_graph *g) {
  int n = b_bad_channels(g);
  h_attr_int(g, n, "group", 2);
  return n;
}
static int b_conv3d(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 5, (int64_t[]){1, 1, 3, 3, 3}, NULL);
  int w = h_const(g, "w", CL_DTYPE_F32, 5, (int64_t[]){1, 1, 2, 2, 2}, ones(8));
  return h_node(g, "Conv", (int[]){x, w}, 2, (int[]){out_value(g)}, 1);
}
static int b_kernel3d(cl_graph *g) {
  int n = b_bad_channels(g);
  return ints(g, n, "kernel_shape", 3, 3, 3, 3, 0);
}
static int b_too_small(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 2, 2), NULL);
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(1, 1, 3, 3), ones(9));
  return h_node(g, "Conv", (int[]){x, w}, 2, (int[]){out_value(g)}, 1);
}
static int b_kernel_mismatch(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 5, 5), NULL);
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(1, 1, 3, 3), ones(9));
  int n = h_node(g, "Conv", (int[]){x, w}, 2, (int[]){out_value(g)}, 1);
  return ints(g, n, "kernel_shape", 2, 3, 2, 0, 0);
}
static int b_bad_bias(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 5, 5), NULL);
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(2, 1, 3, 3), ones(18));
  int b = h_const(g, "b", CL_DTYPE_F32, 1, D1(3), ones(3));
  return h_node(g, "Conv", (int[]){x, w, b}, 3, (int[]){out_value(g)}, 1);
}
static int b_weights_not_const(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 5, 5), ones(25));
  int w = h_value(g, "w", CL_DTYPE_F32, 4, D4(1, 1, 3, 3), ones(9));
  return h_node(g, "Conv", (int[]){x, w}, 2, (int[]){out_value(g)}, 1);
}
static int b_int_input(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_I32, 4, D4(1, 1, 5, 5), NULL);
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(1, 1, 3, 3), ones(9));
  return h_node(g, "Conv", (int[]){x, w}, 2, (int[]){out_value(g)}, 1);
}
static int b_zero_stride(cl_graph *g) {
  int n = b_too_small(g);
  return ints(g, n, "strides", 2, 1, 0, 0, 0);
}
static int b_bad_autopad(cl_graph *g) {
  int n = b_too_small(g);
  h_attr_string(g, n, "auto_pad", "SAME");
  return n;
}
Test(conv, refusals) {
  expect_error(13, b_bad_channels, CL_ERR_SHAPE, "do not fit 3 input channels");
  expect_error(13, b_bad_group, CL_ERR_SHAPE, "not divisible by group 2");
  expect_error(13, b_conv3d, CL_ERR_UNSUPPORTED, "3-D convolution is not supported");
  expect_error(13, b_kernel3d, CL_ERR_UNSUPPORTED, "3-D convolution is not supported");
  expect_error(13, b_too_small, CL_ERR_SHAPE, "does not fit input 2");
  expect_error(13, b_kernel_mismatch, CL_ERR_SHAPE, "kernel_shape 2 differs");
  expect_error(13, b_bad_bias, CL_ERR_SHAPE, "bias 'b'");
  expect_error(13, b_weights_not_const, CL_ERR_UNSUPPORTED, "weights 'w' must be constant");
  expect_error(13, b_int_input, CL_ERR_UNSUPPORTED, "int32 is not supported");
  expect_error(13, b_zero_stride, CL_ERR_SHAPE, "strides[1] is 0");
  expect_error(13, b_bad_autopad, CL_ERR_FORMAT, "auto_pad 'SAME'");
}

/* Weights are read at prepare time: a pipeline that rewrites them after parse (BN folding) is seen.
 */
Test(conv, weights_read_at_prepare) {
  cl_graph *g = h_graph(13);
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 3, 3), ones(9));
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(1, 1, 1, 1), ones(1));
  int n = h_node(g, "Conv", (int[]){x, w}, 2, (int[]){out_value(g)}, 1);
  cl_node *node = &g->nodes[n];
  node->op = cl_op_find("Conv", "");
  cl_error err = {0};
  cr_assert_eq(node->op->parse(g, node, &err), CL_OK, "%s", err.msg);
  ((float *)g->values[w].data)[0] = 3.0f; /* as a fold would */
  cr_assert_eq(h_run(g, n, CL_LAYOUT_CHANNELS_LAST, 1, &err), CL_OK, "%s", err.msg);
  const float *out = h_data(g, node->out[0]);
  for (int i = 0; i < 9; i++) cr_assert_eq(out[i], 3.0f);
  h_free(&g);
}

/* === ConvTranspose === */

static int b_ct(cl_graph *g) { /* x = arange(9) [1,1,3,3], w = ones [1,2,3,3] as in ONNX's tests */
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 3, 3), iota(9));
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(1, 2, 3, 3), ones(18));
  return h_node(g, "ConvTranspose", (int[]){x, w}, 2, (int[]){out_value(g)}, 1);
}
static int b_ct_outshape(cl_graph *g) {
  int n = b_ct(g);
  ints(g, n, "strides", 2, 3, 2, 0, 0);
  return ints(g, n, "output_shape", 2, 10, 8, 0, 0);
}
static int b_ct_outshape_full(cl_graph *g) {
  int n = b_ct(g);
  ints(g, n, "strides", 2, 3, 2, 0, 0);
  return ints(g, n, "output_shape", 4, 1, 2, 10, 8);
}
static int b_ct_outshape_outpad(cl_graph *g) { /* ONNX test_convtranspose_kernel_shape */
  int n = b_ct_outshape(g);
  ints(g, n, "kernel_shape", 2, 3, 3, 0, 0);
  return ints(g, n, "output_padding", 2, 1, 1, 0, 0);
}
static int b_ct_same(cl_graph *g) {
  int n = b_ct(g);
  h_attr_string(g, n, "auto_pad", "SAME_UPPER");
  return ints(g, n, "strides", 2, 2, 2, 0, 0);
}
Test(conv_transpose, onnx_cases) {
  expect_all(11, b_ct, want_onnx_ct, 50, 0);
  expect_all(11, b_ct_outshape, want_onnx_ct_outshape, 160, 0);
  expect_all(11, b_ct_outshape_full, want_onnx_ct_outshape, 160, 0);
  expect_all(8, b_ct_outshape_outpad, want_onnx_ct_outshape, 160, 0);
  expect_all(11, b_ct_same, want_onnx_ct_same, 72, 0);
}

static int b_ct_group(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 4, 2, 3), filled(24, 5, 11));
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(4, 2, 3, 3), filled(72, 7, 9));
  int b = h_const(g, "b", CL_DTYPE_F32, 1, D1(4), filled(4, 1, 5));
  int n = h_node(g, "ConvTranspose", (int[]){x, w, b}, 3, (int[]){out_value(g)}, 1);
  h_attr_int(g, n, "group", 2);
  ints(g, n, "strides", 2, 2, 3, 0, 0);
  ints(g, n, "output_padding", 2, 1, 2, 0, 0);
  return ints(g, n, "pads", 4, 1, 0, 0, 1);
}
Test(conv_transpose, group_bias_output_padding_pads) {
  expect_all(13, b_ct_group, want_ct_group, 200, 1e-5f);
}

/* output_shape larger than the full result at both ends (negative padding): the plain loop. */
static int b_ct_negpad(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 2, 3, 3), filled(18, 5, 7));
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(2, 1, 2, 2), filled(8, 3, 5));
  int n = h_node(g, "ConvTranspose", (int[]){x, w}, 2, (int[]){out_value(g)}, 1);
  ints(g, n, "strides", 2, 2, 2, 0, 0);
  return ints(g, n, "output_shape", 2, 9, 8, 0, 0);
}
Test(conv_transpose, output_shape_beyond_full_result) {
  expect_all(13, b_ct_negpad, want_ct_negpad, 72, 1e-5f);
}

/* output_padding below the dilation but not the stride: the plain loop. */
static int b_ct_dil_outpad(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 1, 3, 3), filled(9, 5, 7));
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(1, 1, 2, 2), filled(4, 3, 5));
  int n = h_node(g, "ConvTranspose", (int[]){x, w}, 2, (int[]){out_value(g)}, 1);
  ints(g, n, "dilations", 2, 2, 2, 0, 0);
  return ints(g, n, "output_padding", 2, 1, 1, 0, 0);
}
Test(conv_transpose, output_padding_beyond_stride) {
  expect_all(13, b_ct_dil_outpad, want_ct_dil_outpad, 36, 1e-5f);
}

static int b_ct_1d(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 3, D3(1, 2, 5), filled(10, 3, 7));
  int w = h_const(g, "w", CL_DTYPE_F32, 3, D3(2, 3, 3), filled(18, 5, 7));
  int b = h_const(g, "b", CL_DTYPE_F32, 1, D1(3), filled(3, 1, 3));
  int n = h_node(g, "ConvTranspose", (int[]){x, w, b}, 3, (int[]){out_value(g)}, 1);
  ints(g, n, "strides", 1, 2, 0, 0, 0);
  ints(g, n, "pads", 2, 1, 0, 0, 0);
  g->nodes[n].act_min = -1.0f;
  g->nodes[n].act_max = 1.0f;
  return n;
}
Test(conv_transpose, one_dimensional_fused_clamp) {
  expect_all(13, b_ct_1d, want_ct_1d_clamp, 30, 1e-5f);
}

static int b_ct_big(cl_graph *g) { /* PaddleOCR's head: kernel 2, stride 2 */
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 16, 5, 5), filled(16 * 25, 7, 23));
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(16, 8, 2, 2), filled(16 * 8 * 4, 5, 19));
  int b = h_const(g, "b", CL_DTYPE_F32, 1, D1(8), filled(8, 3, 7));
  int n = h_node(g, "ConvTranspose", (int[]){x, w, b}, 3, (int[]){out_value(g)}, 1);
  return ints(g, n, "strides", 2, 2, 2, 0, 0);
}
Test(conv_transpose, larger_stride_2) {
  expect_sampled(b_ct_big, 8, 10, 10, want_ct_big,
                 (int)(sizeof want_ct_big / sizeof want_ct_big[0]), want_ct_big_sum,
                 want_ct_big_sumsq);
}

/* Kernel equal to the stride and few output channels (PaddleOCR's last layer): 1x1 conv + shuffle.
 */
static int b_ct_shuffle_m1(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(2, 5, 3, 4), filled(120, 5, 11));
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(5, 1, 2, 2), filled(20, 7, 9));
  int b = h_const(g, "b", CL_DTYPE_F32, 1, D1(1), filled(1, 1, 5));
  int n = h_node(g, "ConvTranspose", (int[]){x, w, b}, 3, (int[]){out_value(g)}, 1);
  ints(g, n, "strides", 2, 2, 2, 0, 0);
  g->nodes[n].act_min = -2.0f;
  g->nodes[n].act_max = 2.0f;
  return n;
}
static int b_ct_shuffle_1d(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 3, D3(1, 2, 7), filled(14, 3, 7));
  int w = h_const(g, "w", CL_DTYPE_F32, 3, D3(2, 3, 2), filled(12, 5, 7));
  int b = h_const(g, "b", CL_DTYPE_F32, 1, D1(3), filled(3, 2, 5));
  int n = h_node(g, "ConvTranspose", (int[]){x, w, b}, 3, (int[]){out_value(g)}, 1);
  return ints(g, n, "strides", 1, 2, 0, 0, 0);
}
Test(conv_transpose, kernel_equal_to_stride) {
  expect_all(13, b_ct_shuffle_m1, want_ct_shuffle_m1, 96, 1e-5f);
  expect_all(13, b_ct_shuffle_1d, want_ct_shuffle_1d, 42, 1e-5f);
}

static int b_ct_bad_weights(cl_graph *g) {
  int x = h_value(g, "x", CL_DTYPE_F32, 4, D4(1, 2, 3, 3), NULL);
  int w = h_const(g, "w", CL_DTYPE_F32, 4, D4(1, 2, 3, 3), ones(18));
  return h_node(g, "ConvTranspose", (int[]){x, w}, 2, (int[]){out_value(g)}, 1);
}
static int b_ct_bad_outpad(cl_graph *g) {
  int n = b_ct(g);
  return ints(g, n, "output_padding", 1, 1, 0, 0, 0);
}
static int b_ct_too_small(cl_graph *g) {
  int n = b_ct(g);
  return ints(g, n, "pads", 4, 3, 3, 3, 3);
}
Test(conv_transpose, refusals) {
  expect_error(13, b_ct_bad_weights, CL_ERR_SHAPE, "do not fit 2 input channels");
  expect_error(13, b_ct_bad_outpad, CL_ERR_SHAPE,
               "output_padding has 1 entries for 2 spatial axes");
  expect_error(13, b_ct_too_small, CL_ERR_SHAPE, "output size would be -1");
}
