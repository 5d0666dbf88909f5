/* cleave tests: Pad (constant, reflect, edge; attributes and inputs across opsets) and Tile. The index
 * maps of reflect and edge are numpy's: np.pad(np.arange(dim), (before, after), mode). */
#include <criterion/criterion.h>

#include "tensor_test_util.h"

/* out[o] = x[map0[o0], ..., map3[o3]] (-1 in a map: the fill value). */
static void expect_mapped(const cl_graph *g, int y, const float *x, const int64_t *xd,
                          const int *const *map, const int64_t *od, float fill) {
  cr_assert(t_shape_is(g, y, 4, od));
  const float *out = h_data(g, y);
  int64_t o[4] = {0};
  do {
    int64_t src[4];
    int pad = 0;
    for (int a = 0; a < 4; a++) {
      src[a] = map[a][o[a]];
      pad |= src[a] < 0;
    }
    float want = pad ? fill : x[t_offset(4, xd, src)];
    cr_assert_eq(out[t_offset(4, od, o)], want, "at [%lld,%lld,%lld,%lld]", (long long)o[0],
                 (long long)o[1], (long long)o[2], (long long)o[3]);
  } while (t_next(4, od, o));
}

static cl_graph *pad11(const int64_t *xd, const float *x, const char *mode, const int64_t *pads,
                       int has_value, float value, int *y, int *node) {
  cl_graph *g = h_graph(13);
  int xv = h_value(g, "x", CL_DTYPE_F32, 4, xd, x);
  int p = h_const(g, "pads", CL_DTYPE_I64, 1, (int64_t[]){8}, pads);
  int v = has_value ? h_const(g, "value", CL_DTYPE_F32, 0, NULL, &value) : -1;
  *y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  *node = h_node(g, "Pad", (int[]){xv, p, v}, 3, y, 1);
  if (mode) h_attr_string(g, *node, "mode", mode);
  return g;
}

Test(pad, reflect_and_edge_like_numpy) {
  const int64_t xd[4] = {2, 3, 4, 5}, od[4] = {2, 6, 9, 10};
  const int64_t pads[8] = {0, 2, 3, 1, 0, 1, 2, 4};
  float *x = t_floats(120, 21);
  const int id0[2] = {0, 1};
  const int r1[6] = {2, 1, 0, 1, 2, 1}, r2[9] = {3, 2, 1, 0, 1, 2, 3, 2, 1},
            r3[10] = {1, 0, 1, 2, 3, 4, 3, 2, 1, 0};
  const int e1[6] = {0, 0, 0, 1, 2, 2}, e2[9] = {0, 0, 0, 0, 1, 2, 3, 3, 3},
            e3[10] = {0, 0, 1, 2, 3, 4, 4, 4, 4, 4};
  const int *reflect[4] = {id0, r1, r2, r3}, *edge[4] = {id0, e1, e2, e3};
  T_FOR_CONFIGS(c)
  for (int m = 0; m < 2; m++) {
    int y, n;
    cl_graph *g = pad11(xd, x, m ? "edge" : "reflect", pads, 0, 0, &y, &n);
    cl_error err = {0};
    cr_assert_eq(h_run(g, n, T_CONFIGS[c].layout, T_CONFIGS[c].threads, &err), CL_OK, "%s", err.msg);
    expect_mapped(g, y, x, xd, m ? edge : reflect, od, 0);
    h_free(&g);
  }
  free(x);
}

Test(pad, reflect_wider_than_the_axis) {
  /* numpy reflects again and again: dim 3 padded (5, 4) */
  const int64_t xd[4] = {1, 3, 1, 2}, od[4] = {1, 12, 1, 2};
  const int64_t pads[8] = {0, 5, 0, 0, 0, 4, 0, 0};
  float x[6] = {1, 2, 3, 4, 5, 6};
  const int id0[1] = {0}, r1[12] = {1, 0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2}, id3[2] = {0, 1};
  const int *map[4] = {id0, r1, id0, id3};
  T_FOR_CONFIGS(c) {
    int y, n;
    cl_graph *g = pad11(xd, x, "reflect", pads, 0, 0, &y, &n);
    cl_error err = {0};
    cr_assert_eq(h_run(g, n, T_CONFIGS[c].layout, T_CONFIGS[c].threads, &err), CL_OK, "%s", err.msg);
    expect_mapped(g, y, x, xd, map, od, 0);
    h_free(&g);
  }
}

Test(pad, constant_value_and_negative_pads) {
  const int64_t xd[4] = {1, 2, 3, 4};
  float *x = t_floats(24, 22);
  /* positive pads (XNNPACK) and cropping ones (remap) */
  const int64_t pads_pos[8] = {0, 1, 2, 0, 1, 0, 1, 3}, od_pos[4] = {2, 3, 6, 7};
  const int m0[2] = {0, -1}, m1[3] = {-1, 0, 1}, m2[6] = {-1, -1, 0, 1, 2, -1},
            m3[7] = {0, 1, 2, 3, -1, -1, -1};
  const int64_t pads_neg[8] = {0, 0, -1, 2, 0, 1, 0, -2}, od_neg[4] = {1, 3, 2, 4};
  const int n0[1] = {0}, n1[3] = {0, 1, -1}, n2[2] = {1, 2}, n3[4] = {-1, -1, 0, 1};
  const int *pos[4] = {m0, m1, m2, m3}, *neg[4] = {n0, n1, n2, n3};
  T_FOR_CONFIGS(c)
  for (int k = 0; k < 2; k++) {
    int y, n;
    cl_graph *g = pad11(xd, x, k ? NULL : "constant", k ? pads_neg : pads_pos, 1, 1.5f, &y, &n);
    cl_error err = {0};
    cr_assert_eq(h_run(g, n, T_CONFIGS[c].layout, T_CONFIGS[c].threads, &err), CL_OK, "%s", err.msg);
    expect_mapped(g, y, x, xd, k ? neg : pos, k ? od_neg : od_pos, 1.5f);
    h_free(&g);
  }
  free(x);
}

Test(pad, opset2_attributes_on_int32) {
  cl_graph *g = h_graph(2);
  int x = h_value(g, "x", CL_DTYPE_I32, 2, (int64_t[]){2, 2}, (int32_t[]){1, 2, 3, 4});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Pad", &x, 1, &y, 1);
  h_attr_ints(g, n, "pads", 4, (int64_t[]){1, 0, 0, 1});
  h_attr_float(g, n, "value", -7.0f);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  cr_assert(t_shape_is(g, y, 2, (int64_t[]){3, 3}));
  const int32_t want[9] = {-7, -7, -7, 1, 2, -7, 3, 4, -7};
  cr_assert_eq(memcmp(h_data(g, y), want, sizeof want), 0);
  h_free(&g);
}

Test(pad, opset18_axes_and_int64) {
  cl_graph *g = h_graph(18);
  int x = h_value(g, "x", CL_DTYPE_I64, 2, (int64_t[]){2, 3}, (int64_t[]){1, 2, 3, 4, 5, 6});
  int p = h_const(g, "pads", CL_DTYPE_I64, 1, (int64_t[]){2}, (int64_t[]){1, 1});
  int v = h_const(g, "v", CL_DTYPE_I64, 0, NULL, (int64_t[]){INT64_MIN});
  int a = h_const(g, "axes", CL_DTYPE_I64, 1, (int64_t[]){1}, (int64_t[]){-1});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Pad", (int[]){x, p, v, a}, 4, &y, 1);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 2, &err), CL_OK, "%s", err.msg);
  cr_assert(t_shape_is(g, y, 2, (int64_t[]){2, 5}));
  const int64_t m = INT64_MIN, want[10] = {m, 1, 2, 3, m, m, 4, 5, 6, m};
  cr_assert_eq(memcmp(h_data(g, y), want, sizeof want), 0);
  h_free(&g);
}

Test(pad, refuses_what_it_cannot_do) {
  struct {
    const char *mode;
    int64_t pads[8];
    cl_status want;
    const char *msg;
  } cases[] = {
      {"wrap", {0}, CL_ERR_UNSUPPORTED, "mode 'wrap' is not supported"},
      {"constant", {0, 0, 0, -5, 0, 0, 0, 0}, CL_ERR_SHAPE, "negative"},
  };
  for (int i = 0; i < 2; i++) {
    int y, n;
    cl_graph *g = pad11((int64_t[]){1, 2, 3, 4}, NULL, cases[i].mode, cases[i].pads, 0, 0, &y, &n);
    cl_error err = {0};
    cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), cases[i].want, "%s", err.msg);
    cr_assert(strstr(err.msg, cases[i].msg) != NULL, "%s", err.msg);
    h_free(&g);
  }
  /* edge-padding an empty axis has nothing to copy */
  cl_graph *g = h_graph(13);
  int x = h_value(g, "x", CL_DTYPE_F32, 1, (int64_t[]){0}, NULL);
  int p = h_const(g, "pads", CL_DTYPE_I64, 1, (int64_t[]){2}, (int64_t[]){1, 0});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Pad", (int[]){x, p}, 2, &y, 1);
  h_attr_string(g, n, "mode", "edge");
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_ERR_SHAPE);
  cr_assert(strstr(err.msg, "empty axis") != NULL, "%s", err.msg);
  h_free(&g);
}

/* === Tile === */

Test(tile, repeats_every_axis) {
  const int64_t xd[4] = {1, 2, 3, 2}, rep[4] = {2, 1, 3, 2}, od[4] = {2, 2, 9, 4};
  float *x = t_floats(12, 30);
  const int m0[2] = {0, 0}, m1[2] = {0, 1}, m2[9] = {0, 1, 2, 0, 1, 2, 0, 1, 2}, m3[4] = {0, 1, 0, 1};
  const int *map[4] = {m0, m1, m2, m3};
  T_FOR_CONFIGS(c) {
    cl_graph *g = h_graph(13);
    int xv = h_value(g, "x", CL_DTYPE_F32, 4, xd, x);
    int r = h_const(g, "r", CL_DTYPE_I64, 1, (int64_t[]){4}, rep);
    int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
    int n = h_node(g, "Tile", (int[]){xv, r}, 2, &y, 1);
    cl_error err = {0};
    cr_assert_eq(h_run(g, n, T_CONFIGS[c].layout, T_CONFIGS[c].threads, &err), CL_OK, "%s", err.msg);
    expect_mapped(g, y, x, xd, map, od, 0);
    h_free(&g);
  }
  free(x);
  cl_graph *g = h_graph(13);
  int xv = h_value(g, "x", CL_DTYPE_U8, 2, (int64_t[]){2, 2}, (uint8_t[]){1, 2, 3, 4});
  int r = h_const(g, "r", CL_DTYPE_I64, 1, (int64_t[]){1}, (int64_t[]){2});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Tile", (int[]){xv, r}, 2, &y, 1);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_ERR_SHAPE);
  cr_assert(strstr(err.msg, "repeats has 1 entries for an input of rank 2") != NULL, "%s", err.msg);
  h_free(&g);
}
