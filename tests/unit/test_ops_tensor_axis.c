/* cleave tests: axis operators that move bytes (Concat, Slice, Split, Transpose, Gather), in both
 * layouts and with 1 and 2 threads, against naive index loops and numpy-derived index lists. */
#include <criterion/criterion.h>

#include "tensor_test_util.h"

static cl_status run_cfg(cl_graph *g, int n, int c, cl_error *err) {
  return h_run(g, n, T_CONFIGS[c].layout, T_CONFIGS[c].threads, err);
}

/* === Concat === */

/* PaddleOCR-det style: NCHW maps of different channel counts joined on channels. */
Test(concat, feature_maps_on_channels) {
  const int64_t ch[4] = {3, 1, 4, 2}, h = 5, w = 6;
  float *data[4];
  for (int i = 0; i < 4; i++) data[i] = t_floats((size_t)(ch[i] * h * w), 10 + i);
  T_FOR_CONFIGS(c) {
    cl_graph *g = h_graph(13);
    int in[4];
    char name[8];
    for (int i = 0; i < 4; i++) {
      snprintf(name, sizeof name, "x%d", i);
      in[i] = h_value(g, name, CL_DTYPE_F32, 4, (int64_t[]){1, ch[i], h, w}, data[i]);
    }
    int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
    int n = h_node(g, "Concat", in, 4, &y, 1);
    h_attr_int(g, n, "axis", 1);
    cl_error err = {0};
    cr_assert_eq(run_cfg(g, n, c, &err), CL_OK, "%s", err.msg);
    cr_assert(t_shape_is(g, y, 4, (int64_t[]){1, 10, h, w}));
    const float *out = h_data(g, y);
    int64_t off = 0;
    for (int i = 0; i < 4; i++) {
      for (int64_t k = 0; k < ch[i] * h * w; k++)
        cr_assert_eq(out[off * h * w + k], data[i][k], "config %d input %d element %lld", c, i,
                     (long long)k);
      off += ch[i];
    }
    h_free(&g);
  }
  for (int i = 0; i < 4; i++) free(data[i]);
}

/* A constant input stays PLAIN while the activations (and the output) are channels-last. */
Test(concat, constant_beside_activation) {
  float *a = t_floats(2 * 3 * 4, 1);
  for (int axis = 1; axis <= 3; axis += 2) T_FOR_CONFIGS(c) {
      cl_graph *g = h_graph(13);
      int64_t da[4] = {1, 2, 3, 4}, db[4] = {1, 2, 3, 4};
      db[axis] = axis == 1 ? 1 : 2;
      float *bd = t_floats(1 * 2 * 3 * 4, 3);
      int x = h_value(g, "x", CL_DTYPE_F32, 4, da, a);
      int k = h_const(g, "k", CL_DTYPE_F32, 4, db, bd);
      int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
      int n = h_node(g, "Concat", (int[]){k, x}, 2, &y, 1);
      h_attr_int(g, n, "axis", axis - 4); /* negative */
      cl_error err = {0};
      cr_assert_eq(run_cfg(g, n, c, &err), CL_OK, "%s", err.msg);
      int64_t od[4] = {1, 2, 3, 4};
      od[axis] += db[axis];
      cr_assert(t_shape_is(g, y, 4, od));
      const float *out = h_data(g, y);
      int64_t idx[4] = {0};
      do {
        float want;
        int64_t src[4] = {idx[0], idx[1], idx[2], idx[3]};
        if (idx[axis] < db[axis]) {
          want = bd[t_offset(4, db, src)];
        } else {
          src[axis] -= db[axis];
          want = a[t_offset(4, da, src)];
        }
        cr_assert_eq(out[t_offset(4, od, idx)], want, "axis %d config %d", axis, c);
      } while (t_next(4, od, idx));
      free(bd);
      h_free(&g);
    }
  free(a);
}

Test(concat, int64_shape_vectors) {
  cl_graph *g = h_graph(13);
  int a = h_const(g, "a", CL_DTYPE_I64, 1, (int64_t[]){2}, (int64_t[]){1, -1});
  int b = h_value(g, "b", CL_DTYPE_I64, 1, (int64_t[]){0}, NULL);
  int c = h_const(g, "c", CL_DTYPE_I64, 1, (int64_t[]){1}, (int64_t[]){INT64_MAX});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Concat", (int[]){a, b, c}, 3, &y, 1);
  h_attr_int(g, n, "axis", 0);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  const int64_t *out = h_data(g, y);
  cr_assert(t_shape_is(g, y, 1, (int64_t[]){3}));
  cr_assert(out[0] == 1 && out[1] == -1 && out[2] == INT64_MAX);
  h_free(&g);
}

Test(concat, refuses_mismatched_inputs) {
  cl_graph *g = h_graph(13);
  int a = h_value(g, "a", CL_DTYPE_F32, 2, (int64_t[]){2, 3}, NULL);
  int b = h_value(g, "b", CL_DTYPE_F32, 2, (int64_t[]){3, 3}, NULL);
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Concat", (int[]){a, b}, 2, &y, 1);
  h_attr_int(g, n, "axis", 1);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_ERR_SHAPE);
  cr_assert(strstr(err.msg, "input 'b' float [3,3] does not match 'a' float [2,3] on axis 1") != NULL,
            "%s", err.msg);
  h_free(&g);
}

/* === Slice === */

static cl_graph *slice_graph(int opset, const int64_t *dims, const float *data, int n,
                             const int64_t *starts, const int64_t *ends, const int64_t *axes,
                             const int64_t *steps, int *y, int *node) {
  cl_graph *g = h_graph(opset);
  int x = h_value(g, "x", CL_DTYPE_F32, 4, dims, data);
  int64_t cd[1] = {n};
  int s = h_const(g, "starts", CL_DTYPE_I64, 1, cd, starts);
  int e = h_const(g, "ends", CL_DTYPE_I64, 1, cd, ends);
  int a = axes ? h_const(g, "axes", CL_DTYPE_I64, 1, cd, axes) : -1;
  int st = steps ? h_const(g, "steps", CL_DTYPE_I64, 1, cd, steps) : -1;
  *y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  *node = h_node(g, "Slice", (int[]){x, s, e, a, st}, 5, y, 1);
  return g;
}

/* out[i0][i1][i2][i3] = x[i0][l1[i1]][l2[i2]][l3[i3]] */
static void expect_slice(const cl_graph *g, int y, const float *x, const int64_t *xd, int n1,
                         const int *l1, int n2, const int *l2, int n3, const int *l3) {
  cr_assert(t_shape_is(g, y, 4, (int64_t[]){xd[0], n1, n2, n3}));
  const float *out = h_data(g, y);
  size_t k = 0;
  for (int64_t i0 = 0; i0 < xd[0]; i0++)
    for (int i1 = 0; i1 < n1; i1++)
      for (int i2 = 0; i2 < n2; i2++)
        for (int i3 = 0; i3 < n3; i3++, k++) {
          int64_t idx[4] = {i0, l1[i1], l2[i2], l3[i3]};
          cr_assert_eq(out[k], x[t_offset(4, xd, idx)], "element %zu", k);
        }
}

Test(slice, negative_steps_and_clamping) {
  int64_t xd[4] = {2, 5, 6, 3};
  float x[180];
  for (int i = 0; i < 180; i++) x[i] = (float)i;
  T_FOR_CONFIGS(c) {
    int y, n;
    /* numpy x[:, 4:1:-1, 5::-2, :]: starts [-1 (->5), 100 (->4)], ends [-1000 (->-1), 1] */
    cl_graph *g = slice_graph(13, xd, x, 2, (int64_t[]){-1, 100}, (int64_t[]){-1000, 1},
                              (int64_t[]){2, -3}, (int64_t[]){-2, -1}, &y, &n);
    cl_error err = {0};
    cr_assert_eq(run_cfg(g, n, c, &err), CL_OK, "%s", err.msg);
    expect_slice(g, y, x, xd, 3, (int[]){4, 3, 2}, 3, (int[]){5, 3, 1}, 3, (int[]){0, 1, 2});
    cr_assert_eq(((const float *)h_data(g, y))[0], 87.0f); /* numpy's first element */
    h_free(&g);
  }
}

Test(slice, positive_steps_out_of_range) {
  int64_t xd[4] = {2, 5, 6, 3};
  float x[180];
  t_fill(x, 180, 5);
  T_FOR_CONFIGS(c) {
    int y, n;
    /* x[:, :, 2:100:3, 1:] */
    cl_graph *g = slice_graph(13, xd, x, 2, (int64_t[]){2, 1}, (int64_t[]){100, INT64_MAX},
                              (int64_t[]){2, 3}, (int64_t[]){3, 1}, &y, &n);
    cl_error err = {0};
    cr_assert_eq(run_cfg(g, n, c, &err), CL_OK, "%s", err.msg);
    expect_slice(g, y, x, xd, 5, (int[]){0, 1, 2, 3, 4}, 2, (int[]){2, 5}, 2, (int[]){1, 2});
    h_free(&g);
  }
}

Test(slice, empty_and_defaults) {
  int64_t xd[4] = {1, 4, 3, 2};
  float x[24];
  t_fill(x, 24, 6);
  /* start past end with a positive step: an empty axis */
  int y, n;
  cl_graph *g = slice_graph(13, xd, x, 1, (int64_t[]){3}, (int64_t[]){1}, (int64_t[]){1}, NULL, &y, &n);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_CHANNELS_LAST, 2, &err), CL_OK, "%s", err.msg);
  cr_assert(t_shape_is(g, y, 4, (int64_t[]){1, 0, 3, 2}));
  h_free(&g);
  /* no axes, no steps: the first len(starts) axes */
  g = slice_graph(10, xd, x, 2, (int64_t[]){0, 1}, (int64_t[]){1, -1}, NULL, NULL, &y, &n);
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  expect_slice(g, y, x, xd, 2, (int[]){1, 2}, 3, (int[]){0, 1, 2}, 2, (int[]){0, 1});
  h_free(&g);
}

Test(slice, opset9_attributes_any_type) {
  cl_graph *g = h_graph(9);
  int16_t data[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  int x = h_value(g, "x", CL_DTYPE_I16, 2, (int64_t[]){3, 4}, data);
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Slice", &x, 1, &y, 1);
  h_attr_ints(g, n, "starts", 2, (int64_t[]){1, 1});
  h_attr_ints(g, n, "ends", 2, (int64_t[]){-1, 1000});
  h_attr_ints(g, n, "axes", 2, (int64_t[]){1, 0});
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  cr_assert(t_shape_is(g, y, 2, (int64_t[]){2, 2}));
  const int16_t *out = h_data(g, y);
  cr_assert(out[0] == 5 && out[1] == 6 && out[2] == 9 && out[3] == 10);
  h_free(&g);
}

Test(slice, refuses_bad_arguments) {
  int64_t xd[4] = {1, 4, 3, 2};
  struct {
    int64_t axes[2], steps[2];
    cl_status want;
    const char *msg;
  } cases[] = {
      {{1, 2}, {1, 0}, CL_ERR_SHAPE, "step 0 on axis 2"},
      {{1, -3}, {1, 1}, CL_ERR_SHAPE, "axis 1 is sliced twice"},
      {{1, 4}, {1, 1}, CL_ERR_SHAPE, "axis 4 out of range"},
  };
  for (size_t i = 0; i < 3; i++) {
    int y, n;
    cl_graph *g = slice_graph(13, xd, NULL, 2, (int64_t[]){0, 0}, (int64_t[]){1, 1}, cases[i].axes,
                              cases[i].steps, &y, &n);
    cl_error err = {0};
    cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), cases[i].want, "%s", err.msg);
    cr_assert(strstr(err.msg, cases[i].msg) != NULL, "%s", err.msg);
    h_free(&g);
  }
  cl_graph *g = h_graph(13);
  int x = h_value(g, "x", CL_DTYPE_F32, 1, (int64_t[]){4}, NULL);
  int s = h_value(g, "s", CL_DTYPE_I64, 1, (int64_t[]){1}, (int64_t[]){0});
  int e = h_const(g, "e", CL_DTYPE_I64, 1, (int64_t[]){1}, (int64_t[]){2});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Slice", (int[]){x, s, e}, 3, &y, 1);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_ERR_UNSUPPORTED);
  cr_assert(strstr(err.msg, "must be constant") != NULL, "%s", err.msg);
  h_free(&g);
}

/* === Split === */

static void expect_split_part(const cl_graph *g, int y, const float *x, const int64_t *xd, int axis,
                              int64_t start, int64_t len) {
  int64_t od[4] = {xd[0], xd[1], xd[2], xd[3]};
  od[axis] = len;
  cr_assert(t_shape_is(g, y, 4, od));
  if (len == 0) return;
  const float *out = h_data(g, y);
  int64_t idx[4] = {0};
  do {
    int64_t src[4] = {idx[0], idx[1], idx[2], idx[3]};
    src[axis] += start;
    cr_assert_eq(out[t_offset(4, od, idx)], x[t_offset(4, xd, src)]);
  } while (t_next(4, od, idx));
}

Test(split, sizes_from_attribute_input_and_num_outputs) {
  int64_t xd[4] = {2, 7, 3, 4};
  float *x = t_floats(2 * 7 * 3 * 4, 9);
  struct {
    int opset;
    int mode; /* 0 attribute, 1 input, 2 num_outputs */
    int64_t sizes[3];
  } cases[] = {{11, 0, {2, 4, 1}}, {13, 1, {0, 6, 1}}, {18, 2, {3, 3, 1}}};
  for (int i = 0; i < 3; i++) T_FOR_CONFIGS(c) {
      cl_graph *g = h_graph(cases[i].opset);
      int xv = h_value(g, "x", CL_DTYPE_F32, 4, xd, x);
      int sp = cases[i].mode == 1 ? h_const(g, "split", CL_DTYPE_I64, 1, (int64_t[]){3}, cases[i].sizes)
                                  : -1;
      int ys[3] = {h_value(g, "y0", CL_DTYPE_UNDEFINED, -1, NULL, NULL),
                   h_value(g, "y1", CL_DTYPE_UNDEFINED, -1, NULL, NULL),
                   h_value(g, "y2", CL_DTYPE_UNDEFINED, -1, NULL, NULL)};
      int n = h_node(g, "Split", (int[]){xv, sp}, sp >= 0 ? 2 : 1, ys, 3);
      h_attr_int(g, n, "axis", -3);
      if (cases[i].mode == 0) h_attr_ints(g, n, "split", 3, cases[i].sizes);
      if (cases[i].mode == 2) h_attr_int(g, n, "num_outputs", 3);
      cl_error err = {0};
      cr_assert_eq(run_cfg(g, n, c, &err), CL_OK, "%s", err.msg);
      int64_t start = 0;
      for (int k = 0; k < 3; k++) {
        expect_split_part(g, ys[k], x, xd, 1, start, cases[i].sizes[k]);
        start += cases[i].sizes[k];
      }
      h_free(&g);
    }
  free(x);
}

Test(split, refuses_uneven_and_wrong_sums) {
  for (int mode = 0; mode < 2; mode++) {
    cl_graph *g = h_graph(13);
    int x = h_value(g, "x", CL_DTYPE_F32, 1, (int64_t[]){7}, NULL);
    int sp = mode ? h_const(g, "split", CL_DTYPE_I64, 1, (int64_t[]){2}, (int64_t[]){3, 3}) : -1;
    int ys[2] = {h_value(g, "y0", CL_DTYPE_UNDEFINED, -1, NULL, NULL),
                 h_value(g, "y1", CL_DTYPE_UNDEFINED, -1, NULL, NULL)};
    int n = h_node(g, "Split", (int[]){x, sp}, mode ? 2 : 1, ys, 2);
    cl_error err = {0};
    cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_ERR_SHAPE);
    cr_assert(strstr(err.msg, mode ? "add up to 6, not 7" : "does not split into 2 equal parts") !=
                  NULL,
              "%s", err.msg);
    h_free(&g);
  }
}

/* === Transpose === */

static void check_transpose(cl_dtype t, const int64_t *dims, const int *perm, int c) {
  size_t es = cl_dtype_size(t), n = (size_t)(dims[0] * dims[1] * dims[2] * dims[3]);
  unsigned char *x = malloc(n * es);
  for (size_t i = 0; i < n * es; i++) x[i] = (unsigned char)(i * 7 + i / 3);
  cl_graph *g = h_graph(13);
  int xv = h_value(g, "x", t, 4, dims, x);
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int node = h_node(g, "Transpose", &xv, 1, &y, 1);
  h_attr_ints(g, node, "perm", 4, (int64_t[]){perm[0], perm[1], perm[2], perm[3]});
  cl_error err = {0};
  cr_assert_eq(run_cfg(g, node, c, &err), CL_OK, "%s", err.msg);
  int64_t od[4];
  for (int i = 0; i < 4; i++) od[i] = dims[perm[i]];
  cr_assert(t_shape_is(g, y, 4, od));
  const unsigned char *out = h_data(g, y);
  int64_t idx[4] = {0};
  do {
    int64_t src[4];
    for (int i = 0; i < 4; i++) src[perm[i]] = idx[i];
    cr_assert_eq(memcmp(out + t_offset(4, od, idx) * es, x + t_offset(4, dims, src) * es, es), 0,
                 "perm %d%d%d%d config %d", perm[0], perm[1], perm[2], perm[3], c);
  } while (t_next(4, od, idx));
  h_free(&g);
  free(x);
}

Test(transpose, perms_types_and_layouts) {
  const int perms[][4] = {{0, 2, 3, 1}, {0, 3, 1, 2}, {3, 2, 1, 0},
                          {1, 0, 2, 3}, {2, 0, 3, 1}, {0, 1, 3, 2}};
  const int64_t dims[4] = {2, 37, 9, 11};
  T_FOR_CONFIGS(c)
  for (size_t p = 0; p < sizeof perms / sizeof perms[0]; p++)
    check_transpose(CL_DTYPE_F32, dims, perms[p], c);
  const cl_dtype types[3] = {CL_DTYPE_U8, CL_DTYPE_I16, CL_DTYPE_I64};
  for (int t = 0; t < 3; t++) {
    check_transpose(types[t], (int64_t[]){1, 40, 5, 33}, perms[0], 3);
    check_transpose(types[t], (int64_t[]){1, 40, 5, 33}, perms[1], 0);
  }
}

Test(transpose, default_reverses_and_bad_perm) {
  cl_graph *g = h_graph(13);
  int x = h_value(g, "x", CL_DTYPE_I64, 2, (int64_t[]){2, 3}, (int64_t[]){0, 1, 2, 3, 4, 5});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Transpose", &x, 1, &y, 1);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  const int64_t *out = h_data(g, y);
  const int64_t want[6] = {0, 3, 1, 4, 2, 5};
  cr_assert_eq(memcmp(out, want, sizeof want), 0);
  h_free(&g);
  g = h_graph(13);
  x = h_value(g, "x", CL_DTYPE_F32, 3, (int64_t[]){2, 3, 4}, NULL);
  y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  n = h_node(g, "Transpose", &x, 1, &y, 1);
  h_attr_ints(g, n, "perm", 3, (int64_t[]){0, 2, 2});
  cl_error err2 = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err2), CL_ERR_SHAPE);
  cr_assert(strstr(err2.msg, "not a permutation") != NULL, "%s", err2.msg);
  h_free(&g);
}

/* === Gather === */

Test(gather, axis_negative_and_2d_indices) {
  int64_t dd[3] = {3, 4, 5};
  float *data = t_floats(60, 4);
  const int64_t idx[4] = {0, -1, 2, 1}; /* [[0, -1], [2, 1]] on axis 1 (size 4): 0, 3, 2, 1 */
  const int64_t norm[4] = {0, 3, 2, 1};
  T_FOR_CONFIGS(c)
  for (int konst = 0; konst < 2; konst++) {
    cl_graph *g = h_graph(13);
    int x = h_value(g, "x", CL_DTYPE_F32, 3, dd, data);
    int64_t id[2] = {2, 2};
    int i =
        konst ? h_const(g, "i", CL_DTYPE_I64, 2, id, idx) : h_value(g, "i", CL_DTYPE_I64, 2, id, idx);
    int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
    int n = h_node(g, "Gather", (int[]){x, i}, 2, &y, 1);
    h_attr_int(g, n, "axis", -2);
    cl_error err = {0};
    cr_assert_eq(run_cfg(g, n, c, &err), CL_OK, "%s", err.msg);
    int64_t od[4] = {3, 2, 2, 5};
    cr_assert(t_shape_is(g, y, 4, od));
    const float *out = h_data(g, y);
    int64_t o[4] = {0};
    do {
      int64_t src[3] = {o[0], norm[o[1] * 2 + o[2]], o[3]};
      cr_assert_eq(out[t_offset(4, od, o)], data[t_offset(3, dd, src)]);
    } while (t_next(4, od, o));
    h_free(&g);
  }
  free(data);
}

Test(gather, scalar_int32_index_on_int64_shape) {
  cl_graph *g = h_graph(13);
  int x = h_const(g, "shape", CL_DTYPE_I64, 1, (int64_t[]){4}, (int64_t[]){1, 3, 224, 224});
  int i = h_const(g, "i", CL_DTYPE_I32, 0, NULL, (int32_t[]){-2});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Gather", (int[]){x, i}, 2, &y, 1);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(g->values[y].rank, 0);
  cr_assert_eq(*(const int64_t *)h_data(g, y), 224);
  h_free(&g);
}

Test(gather, out_of_range_refused_or_clamped) {
  /* constant indices: refused at load */
  cl_graph *g = h_graph(13);
  int x = h_value(g, "x", CL_DTYPE_F32, 1, (int64_t[]){4}, (float[]){10, 11, 12, 13});
  int i = h_const(g, "i", CL_DTYPE_I64, 1, (int64_t[]){2}, (int64_t[]){1, 4});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Gather", (int[]){x, i}, 2, &y, 1);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_ERR_SHAPE);
  cr_assert(strstr(err.msg, "index 4 is out of range for axis 0 of size 4") != NULL, "%s", err.msg);
  h_free(&g);
  /* run-time indices: clamped into the axis, never read out of bounds */
  g = h_graph(13);
  x = h_value(g, "x", CL_DTYPE_F32, 1, (int64_t[]){4}, (float[]){10, 11, 12, 13});
  i = h_value(g, "i", CL_DTYPE_I32, 1, (int64_t[]){4}, (int32_t[]){5, -7, -1, INT32_MIN});
  y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  n = h_node(g, "Gather", (int[]){x, i}, 2, &y, 1);
  cl_error err2 = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 2, &err2), CL_OK, "%s", err2.msg);
  const float *out = h_data(g, y);
  cr_assert(out[0] == 13 && out[1] == 10 && out[2] == 13 && out[3] == 10);
  h_free(&g);
}
