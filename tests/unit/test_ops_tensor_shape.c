/* cleave tests: shape operators (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout, Shape,
 * Size, ConstantOfShape, Expand). Expected values are worked out by hand from the ONNX spec. */
#include <criterion/criterion.h>

#include "tensor_test_util.h"

static const int64_t I64_SHAPE1[] = {1};

/* Runs op on x (a float tensor 0..n-1 of shape dims) with an optional constant int64 input 1;
 * returns the graph (caller frees) with *y the output and *status the run's status. */
static cl_graph *run_unary(const char *op, int opset, int rank, const int64_t *dims, int n_c,
                           const int64_t *c, int c_is_const, int *y, cl_status *status, cl_error *err,
                           int config) {
  cl_graph *g = h_graph(opset);
  size_t n = 1;
  for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
  float *data = malloc((n ? n : 1) * sizeof *data);
  for (size_t i = 0; i < n; i++) data[i] = (float)i;
  int x = h_value(g, "x", CL_DTYPE_F32, rank, dims, data);
  free(data);
  int in[2] = {x, -1};
  if (n_c >= 0) {
    int64_t cd[1] = {n_c};
    in[1] =
        c_is_const ? h_const(g, "c", CL_DTYPE_I64, 1, cd, c) : h_value(g, "c", CL_DTYPE_I64, 1, cd, c);
  }
  *y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int node = h_node(g, op, in, n_c >= 0 ? 2 : 1, y, 1);
  *status = h_run(g, node, T_CONFIGS[config].layout, T_CONFIGS[config].threads, err);
  return g;
}

static void expect_iota(const cl_graph *g, int y, size_t n) {
  const float *out = h_data(g, y);
  for (size_t i = 0; i < n; i++) cr_assert_eq(out[i], (float)i, "element %zu", i);
}

/* === Reshape === */

Test(reshape, zero_copies_and_minus_one_infers) {
  T_FOR_CONFIGS(c) {
    int y;
    cl_status s;
    cl_error err = {0};
    cl_graph *g =
        run_unary("Reshape", 13, 3, (int64_t[]){2, 3, 4}, 2, (int64_t[]){0, -1}, 1, &y, &s, &err, c);
    cr_assert_eq(s, CL_OK, "%s", err.msg);
    cr_assert(t_shape_is(g, y, 2, (int64_t[]){2, 12}));
    expect_iota(g, y, 24);
    h_free(&g);
  }
}

Test(reshape, allowzero_keeps_zero_dims) {
  int y;
  cl_status s;
  cl_error err = {0};
  /* [0, 3] -> [3, 0]: with allowzero the 0 is a dimension... */
  cl_graph *g = h_graph(14);
  int x = h_value(g, "x", CL_DTYPE_F32, 2, (int64_t[]){0, 3}, NULL);
  g->values[x].is_input = 1;
  int sh = h_const(g, "s", CL_DTYPE_I64, 1, (int64_t[]){2}, (int64_t[]){3, 0});
  y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Reshape", (int[]){x, sh}, 2, &y, 1);
  h_attr_int(g, n, "allowzero", 1);
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  cr_assert(t_shape_is(g, y, 2, (int64_t[]){3, 0}));
  h_free(&g);
  /* ...without it, 0 copies the input's dim 1 (3): [3, 3] has 9 elements, not 0. */
  g = run_unary("Reshape", 13, 2, (int64_t[]){0, 3}, 2, (int64_t[]){3, 0}, 1, &y, &s, &err, 0);
  cr_assert_eq(s, CL_ERR_SHAPE);
  cr_assert(strstr(err.msg, "cannot reshape [0,3]") != NULL, "%s", err.msg);
  h_free(&g);
}

Test(reshape, refuses_bad_shapes) {
  int y;
  cl_status s;
  struct {
    int n;
    int64_t shape[3];
    cl_status want;
    const char *msg;
  } cases[] = {
      {2, {-1, -1}, CL_ERR_SHAPE, "more than one -1"},
      {2, {5, -1}, CL_ERR_SHAPE, "cannot infer the -1"},
      {2, {4, 7}, CL_ERR_SHAPE, "cannot reshape [2,3,4] (24 elements) into [4,7]"},
      {3, {2, -2, 12}, CL_ERR_SHAPE, "shape[1] is -2"},
      {3, {0, 0, 0}, CL_OK, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cl_error err = {0};
    cl_graph *g = run_unary("Reshape", 13, 3, (int64_t[]){2, 3, 4}, cases[i].n, cases[i].shape, 1, &y,
                            &s, &err, 0);
    cr_assert_eq(s, cases[i].want, "case %zu: %s", i, err.msg);
    if (cases[i].msg) cr_assert(strstr(err.msg, cases[i].msg) != NULL, "case %zu: %s", i, err.msg);
    cr_assert(cases[i].msg == NULL || strstr(err.msg, "node 'Reshape_") != NULL, "%s", err.msg);
    h_free(&g);
  }
  /* 0 past the input's rank. */
  cl_error err = {0};
  cl_graph *g = run_unary("Reshape", 13, 1, (int64_t[]){6}, 2, (int64_t[]){6, 0}, 1, &y, &s, &err, 0);
  cr_assert_eq(s, CL_ERR_SHAPE, "%s", err.msg);
  cr_assert(strstr(err.msg, "shape[1] is 0 (copy)") != NULL, "%s", err.msg);
  h_free(&g);
}

Test(reshape, shape_must_be_constant) {
  int y;
  cl_status s;
  cl_error err = {0};
  cl_graph *g = run_unary("Reshape", 13, 2, (int64_t[]){2, 3}, 1, (int64_t[]){6}, 0, &y, &s, &err, 0);
  cr_assert_eq(s, CL_ERR_UNSUPPORTED);
  cr_assert(strstr(err.msg, "must be constant") != NULL, "%s", err.msg);
  h_free(&g);
}

Test(reshape, opset4_shape_attribute) {
  cl_graph *g = h_graph(4);
  int x = h_value(g, "x", CL_DTYPE_F32, 3, (int64_t[]){2, 2, 3}, (float[12]){0});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Reshape", &x, 1, &y, 1);
  h_attr_ints(g, n, "shape", 2, (int64_t[]){4, -1});
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  cr_assert(t_shape_is(g, y, 2, (int64_t[]){4, 3}));
  h_free(&g);
}

/* Folding runs the kernel with separate buffers: the bytes must be copied, whatever their type. */
Test(reshape, run_copies_when_not_shared) {
  cl_graph *g = h_graph(13);
  int64_t data[6] = {1, -2, 3, INT64_MAX, INT64_MIN, 6};
  int x = h_const(g, "x", CL_DTYPE_I64, 2, (int64_t[]){2, 3}, data);
  int sh = h_const(g, "s", CL_DTYPE_I64, 1, I64_SHAPE1, (int64_t[]){-1});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int ni = h_node(g, "Reshape", (int[]){x, sh}, 2, &y, 1);
  cl_node *n = &g->nodes[ni];
  n->op = cl_op_find("Reshape", "");
  cl_error err = {0};
  cr_assert_eq(n->op->parse(g, n, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(n->op->infer(g, n, &err), CL_OK, "%s", err.msg);
  int64_t out[6] = {0};
  void *ptr[3] = {g->values[x].data, g->values[sh].data, out};
  cl_kernel_ctx k = {NULL, ptr};
  void *state = NULL;
  cr_assert_eq(n->op->prepare(g, n, &k, &state, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(n->op->run(g, n, state, &k), CL_OK);
  if (n->op->release) n->op->release(state);
  cr_assert_eq(memcmp(out, data, sizeof data), 0);
  cr_assert_eq(n->op->is_view(g, n), 1);
  h_free(&g);
}

/* === Flatten === */

Test(flatten, axes) {
  struct {
    int64_t axis;
    int64_t out[2];
  } cases[] = {{0, {1, 120}}, {1, {2, 60}}, {-1, {24, 5}}, {4, {120, 1}}, {-4, {1, 120}}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cl_graph *g = h_graph(13);
    float data[120];
    for (int j = 0; j < 120; j++) data[j] = (float)j;
    int x = h_value(g, "x", CL_DTYPE_F32, 4, (int64_t[]){2, 3, 4, 5}, data);
    int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
    int n = h_node(g, "Flatten", &x, 1, &y, 1);
    h_attr_int(g, n, "axis", cases[i].axis);
    cl_error err = {0};
    cr_assert_eq(h_run(g, n, T_CONFIGS[i % 4].layout, T_CONFIGS[i % 4].threads, &err), CL_OK, "%s",
                 err.msg);
    cr_assert(t_shape_is(g, y, 2, cases[i].out), "axis %lld", (long long)cases[i].axis);
    expect_iota(g, y, 120);
    h_free(&g);
  }
  cl_graph *g = h_graph(13);
  int x = h_value(g, "x", CL_DTYPE_F32, 2, (int64_t[]){2, 3}, (float[6]){0});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Flatten", &x, 1, &y, 1);
  h_attr_int(g, n, "axis", 3);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_ERR_SHAPE);
  cr_assert(strstr(err.msg, "axis 3 out of range for rank 2") != NULL, "%s", err.msg);
  h_free(&g);
}

/* === Squeeze, Unsqueeze === */

Test(squeeze, attribute_input_and_all) {
  int64_t dims[4] = {1, 3, 1, 2};
  /* Squeeze-11: axes attribute, negative. */
  cl_graph *g = h_graph(11);
  int x = h_value(g, "x", CL_DTYPE_F32, 4, dims, (float[6]){0, 1, 2, 3, 4, 5});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Squeeze", &x, 1, &y, 1);
  h_attr_ints(g, n, "axes", 1, (int64_t[]){-2});
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  cr_assert(t_shape_is(g, y, 3, (int64_t[]){1, 3, 2}));
  expect_iota(g, y, 6);
  h_free(&g);
  /* Squeeze-13: axes input; none given: every 1 goes. */
  T_FOR_CONFIGS(c) {
    int yy;
    cl_status s;
    g = run_unary("Squeeze", 13, 4, dims, 2, (int64_t[]){2, 0}, 1, &yy, &s, &err, c);
    cr_assert_eq(s, CL_OK, "%s", err.msg);
    cr_assert(t_shape_is(g, yy, 2, (int64_t[]){3, 2}));
    expect_iota(g, yy, 6);
    h_free(&g);
    g = run_unary("Squeeze", 13, 4, dims, -1, NULL, 1, &yy, &s, &err, c);
    cr_assert_eq(s, CL_OK, "%s", err.msg);
    cr_assert(t_shape_is(g, yy, 2, (int64_t[]){3, 2}));
    h_free(&g);
  }
}

Test(squeeze, refuses_axis_not_one) {
  int y;
  cl_status s;
  cl_error err = {0};
  cl_graph *g =
      run_unary("Squeeze", 13, 3, (int64_t[]){1, 3, 2}, 1, (int64_t[]){1}, 1, &y, &s, &err, 0);
  cr_assert_eq(s, CL_ERR_SHAPE);
  cr_assert(strstr(err.msg, "cannot squeeze axis 1") != NULL, "%s", err.msg);
  h_free(&g);
}

Test(unsqueeze, unsorted_negative_axes) {
  T_FOR_CONFIGS(c) {
    int y;
    cl_status s;
    cl_error err = {0};
    /* Output rank 4: -1 is axis 3, 0 is axis 0. */
    cl_graph *g =
        run_unary("Unsqueeze", 13, 2, (int64_t[]){3, 2}, 2, (int64_t[]){-1, 0}, 1, &y, &s, &err, c);
    cr_assert_eq(s, CL_OK, "%s", err.msg);
    cr_assert(t_shape_is(g, y, 4, (int64_t[]){1, 3, 2, 1}));
    expect_iota(g, y, 6);
    h_free(&g);
  }
  cl_graph *g = h_graph(11);
  int x = h_value(g, "x", CL_DTYPE_F32, 2, (int64_t[]){3, 2}, (float[6]){0});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Unsqueeze", &x, 1, &y, 1);
  h_attr_ints(g, n, "axes", 2, (int64_t[]){1, 1});
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_ERR_SHAPE);
  cr_assert(strstr(err.msg, "repeated") != NULL, "%s", err.msg);
  h_free(&g);
  g = h_graph(11);
  x = h_value(g, "x", CL_DTYPE_F32, 2, (int64_t[]){3, 2}, (float[6]){0});
  y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  n = h_node(g, "Unsqueeze", &x, 1, &y, 1);
  h_attr_ints(g, n, "axes", 1, (int64_t[]){1});
  cl_error err2 = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err2), CL_OK, "%s", err2.msg);
  cr_assert(t_shape_is(g, y, 3, (int64_t[]){3, 1, 2}));
  h_free(&g);
}

/* === Identity, Dropout === */

Test(identity, any_type) {
  cl_graph *g = h_graph(13);
  int16_t data[5] = {-3, 7, 32767, -32768, 0};
  int x = h_value(g, "x", CL_DTYPE_I16, 1, (int64_t[]){5}, data);
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Identity", &x, 1, &y, 1);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 2, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(g->values[y].dtype, CL_DTYPE_I16);
  cr_assert_eq(memcmp(h_data(g, y), data, sizeof data), 0);
  h_free(&g);
}

Test(dropout, inference_mask_all_true) {
  T_FOR_CONFIGS(c) {
    cl_graph *g = h_graph(13);
    float data[24];
    t_fill(data, 24, 3);
    int x = h_value(g, "x", CL_DTYPE_F32, 3, (int64_t[]){2, 3, 4}, data);
    int ratio = h_const(g, "r", CL_DTYPE_F32, 0, NULL, (float[]){0.5f});
    int tm = h_const(g, "t", CL_DTYPE_BOOL, 0, NULL, (uint8_t[]){0});
    int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
    int m = h_value(g, "m", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
    int n = h_node(g, "Dropout", (int[]){x, ratio, tm}, 3, (int[]){y, m}, 2);
    cl_error err = {0};
    cr_assert_eq(h_run(g, n, T_CONFIGS[c].layout, T_CONFIGS[c].threads, &err), CL_OK, "%s", err.msg);
    cr_assert_eq(memcmp(h_data(g, y), data, sizeof data), 0);
    cr_assert_eq(g->values[m].dtype, CL_DTYPE_BOOL);
    const uint8_t *mask = h_data(g, m);
    for (int i = 0; i < 24; i++) cr_assert_eq(mask[i], 1);
    cr_assert_eq(g->nodes[n].op->is_view(g, &g->nodes[n]), 0);
    h_free(&g);
  }
}

Test(dropout, old_mask_is_float_and_training_refused) {
  cl_graph *g = h_graph(7);
  int x = h_value(g, "x", CL_DTYPE_F32, 1, (int64_t[]){3}, (float[]){1, 2, 3});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int m = h_value(g, "m", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Dropout", &x, 1, (int[]){y, m}, 2);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(g->values[m].dtype, CL_DTYPE_F32);
  const float *mask = h_data(g, m);
  cr_assert(mask[0] == 1.0f && mask[1] == 1.0f && mask[2] == 1.0f);
  h_free(&g);

  g = h_graph(12);
  x = h_value(g, "x", CL_DTYPE_F32, 1, (int64_t[]){3}, (float[]){1, 2, 3});
  int tm = h_const(g, "t", CL_DTYPE_BOOL, 0, NULL, (uint8_t[]){1});
  y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  n = h_node(g, "Dropout", (int[]){x, -1, tm}, 3, &y, 1);
  cl_error err2 = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err2), CL_ERR_UNSUPPORTED);
  cr_assert(strstr(err2.msg, "training_mode=true with a ratio other than a constant 0") != NULL, "%s",
            err2.msg);
  h_free(&g);
}

Test(dropout, training_with_zero_ratio_is_identity) {
  cl_graph *g = h_graph(13);
  int x = h_value(g, "x", CL_DTYPE_F32, 1, (int64_t[]){3}, (float[]){1, 2, 3});
  int r = h_const(g, "r", CL_DTYPE_F32, 0, NULL, (float[]){0.0f});
  int tm = h_const(g, "t", CL_DTYPE_BOOL, 0, NULL, (uint8_t[]){1});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int m = h_value(g, "m", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Dropout", (int[]){x, r, tm}, 3, (int[]){y, m}, 2);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  const float *out = h_data(g, y);
  const uint8_t *mask = h_data(g, m);
  cr_assert(out[0] == 1 && out[1] == 2 && out[2] == 3);
  cr_assert(mask[0] == 1 && mask[1] == 1 && mask[2] == 1);
  h_free(&g);
}

/* === Shape, Size: constants === */

Test(shape, start_end_and_clamping) {
  struct {
    int opset;
    int has_start, has_end;
    int64_t start, end;
    int n;
    int64_t want[4];
  } cases[] = {
      {15, 1, 1, 1, -1, 2, {3, 4}},        {15, 0, 0, 0, 0, 4, {2, 3, 4, 5}},
      {15, 1, 0, -10, 0, 4, {2, 3, 4, 5}}, {15, 1, 1, 3, 1, 0, {0}},
      {15, 0, 1, 0, 10, 4, {2, 3, 4, 5}},  {13, 1, 1, 1, 2, 4, {2, 3, 4, 5}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cl_graph *g = h_graph(cases[i].opset);
    int x = h_value(g, "x", CL_DTYPE_F32, 4, (int64_t[]){2, 3, 4, 5}, NULL);
    int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
    int n = h_node(g, "Shape", &x, 1, &y, 1);
    if (cases[i].has_start) h_attr_int(g, n, "start", cases[i].start);
    if (cases[i].has_end) h_attr_int(g, n, "end", cases[i].end);
    cl_error err = {0};
    cr_assert_eq(h_run(g, n, T_CONFIGS[i % 4].layout, 1, &err), CL_OK, "%s", err.msg);
    cr_assert(g->values[y].is_const, "Shape's output is a constant");
    cr_assert(t_shape_is(g, y, 1, (int64_t[]){cases[i].n}), "case %zu", i);
    cr_assert_eq(g->values[y].dtype, CL_DTYPE_I64);
    cr_assert_eq(memcmp(h_data(g, y), cases[i].want, (size_t)cases[i].n * 8), 0, "case %zu", i);
    h_free(&g);
  }
}

Test(size, scalar_constant) {
  cl_graph *g = h_graph(13);
  int x = h_value(g, "x", CL_DTYPE_U8, 3, (int64_t[]){2, 3, 4}, NULL);
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Size", &x, 1, &y, 1);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_CHANNELS_LAST, 1, &err), CL_OK, "%s", err.msg);
  cr_assert(g->values[y].is_const && g->values[y].rank == 0);
  cr_assert_eq(*(const int64_t *)h_data(g, y), 24);
  h_free(&g);
}

/* === ConstantOfShape === */

Test(constant_of_shape, value_types) {
  /* int64 7 over [2, 3] */
  cl_graph *g = h_graph(13);
  int s = h_const(g, "s", CL_DTYPE_I64, 1, (int64_t[]){2}, (int64_t[]){2, 3});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "ConstantOfShape", &s, 1, &y, 1);
  int64_t seven = 7;
  cl_attr a = {.name = "value",
               .type = CL_ATTR_TENSOR,
               .t = {.dtype = CL_DTYPE_I64, .rank = 1, .dims = {1}, .data = &seven, .nbytes = 8}};
  cl_error err = {0};
  cr_assert_eq(cl_node_add_attr(&g->nodes[n], &a, &err), CL_OK);
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  cr_assert(t_shape_is(g, y, 2, (int64_t[]){2, 3}));
  cr_assert_eq(g->values[y].dtype, CL_DTYPE_I64);
  for (int i = 0; i < 6; i++) cr_assert_eq(((const int64_t *)h_data(g, y))[i], 7);
  h_free(&g);
  /* no value: float 0; an empty shape: a scalar */
  g = h_graph(13);
  s = h_const(g, "s", CL_DTYPE_I64, 1, (int64_t[]){0}, NULL);
  y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  n = h_node(g, "ConstantOfShape", &s, 1, &y, 1);
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  cr_assert(g->values[y].rank == 0 && g->values[y].dtype == CL_DTYPE_F32);
  cr_assert_eq(*(const float *)h_data(g, y), 0.0f);
  h_free(&g);
}

Test(constant_of_shape, refuses_negative_dims) {
  cl_graph *g = h_graph(13);
  int s = h_const(g, "s", CL_DTYPE_I64, 1, (int64_t[]){2}, (int64_t[]){2, -3});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "ConstantOfShape", &s, 1, &y, 1);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_ERR_SHAPE);
  cr_assert(strstr(err.msg, "shape[1] is -3") != NULL, "%s", err.msg);
  h_free(&g);
}

/* === Expand === */

Test(expand, broadcasts_both_ways) {
  T_FOR_CONFIGS(c) {
    /* [3, 1] by [2, 1, 4] -> [2, 3, 4]: out[b][i][j] = x[i] */
    cl_graph *g = h_graph(13);
    int8_t data[3] = {-5, 6, 7};
    int x = h_value(g, "x", CL_DTYPE_I8, 2, (int64_t[]){3, 1}, data);
    int s = h_const(g, "s", CL_DTYPE_I64, 1, (int64_t[]){3}, (int64_t[]){2, 1, 4});
    int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
    int n = h_node(g, "Expand", (int[]){x, s}, 2, &y, 1);
    cl_error err = {0};
    cr_assert_eq(h_run(g, n, T_CONFIGS[c].layout, T_CONFIGS[c].threads, &err), CL_OK, "%s", err.msg);
    cr_assert(t_shape_is(g, y, 3, (int64_t[]){2, 3, 4}));
    const int8_t *out = h_data(g, y);
    for (int b = 0; b < 2; b++)
      for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) cr_assert_eq(out[(b * 3 + i) * 4 + j], data[i]);
    h_free(&g);
  }
  /* A shape of ones keeps the input's dims (bidirectional broadcast). */
  cl_graph *g = h_graph(13);
  int x = h_value(g, "x", CL_DTYPE_F32, 2, (int64_t[]){2, 3}, (float[6]){1, 2, 3, 4, 5, 6});
  int s = h_const(g, "s", CL_DTYPE_I64, 1, (int64_t[]){1}, (int64_t[]){1});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Expand", (int[]){x, s}, 2, &y, 1);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  cr_assert(t_shape_is(g, y, 2, (int64_t[]){2, 3}));
  cr_assert_eq(((const float *)h_data(g, y))[5], 6.0f);
  h_free(&g);
  g = h_graph(13);
  x = h_value(g, "x", CL_DTYPE_F32, 2, (int64_t[]){2, 3}, (float[6]){0});
  s = h_const(g, "s", CL_DTYPE_I64, 1, (int64_t[]){1}, (int64_t[]){4});
  y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  n = h_node(g, "Expand", (int[]){x, s}, 2, &y, 1);
  cl_error err2 = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err2), CL_ERR_SHAPE);
  cr_assert(strstr(err2.msg, "do not broadcast") != NULL, "%s", err2.msg);
  h_free(&g);
}
