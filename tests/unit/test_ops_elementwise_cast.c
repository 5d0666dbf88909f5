/* cleave tests: Cast and CastLike (ops_cast.c). Expected bit patterns come from numpy's astype
 * (float16, integers) and from integer arithmetic (bfloat16 round to nearest even). */
#include "ew_test_util.h"

static t_case cast_case(cl_dtype from, int rank, const int64_t *dims, const void *x, cl_dtype to) {
  t_case c = {.opset = 13, .op = "Cast", .n_in = 1, .in = {{from, rank, {0}, x, 0, 0}},
              .n_attr = 1, .attr = {{"to", TA_INT, to, 0}}};
  memcpy(c.in[0].dims, dims, (size_t)rank * sizeof *dims);
  return c;
}

Test(cast, float_to_float16_rounding) {
  /* numpy: np.array([...], np.float32).astype(np.float16).view(np.uint16) */
  const float x[16] = {1.0f, 65504, 65519.9883f, 65520, 5.96046448e-08f, 2.98023224e-08f,
                       8.94069672e-08f, NAN, -INFINITY, 1.00048828f, 1.00146484f, -0.0f,
                       1.00000001e-10f, 0.100000001f, -3.14159012f, 6.09999988e-05f};
  const uint16_t want[16] = {0x3c00, 0x7bff, 0x7bff, 0x7c00, 0x0001, 0x0000, 0x0002, 0x7e00,
                             0xfc00, 0x3c00, 0x3c02, 0x8000, 0x0000, 0x2e66, 0xc248, 0x03ff};
  t_case c = cast_case(CL_DTYPE_F32, 4, (int64_t[]){1, 4, 2, 2}, x, CL_DTYPE_F16);
  t_check(&c, CL_DTYPE_F16, 4, NULL, want, 0, 0);
}

Test(cast, double_to_float16_rounds_once) {
  /* numpy: 1+2^-11+2^-40 -> 0x3c01 (a naive double->float->half gives 0x3c00) */
  const double x[6] = {1 + 0x1p-11 + 0x1p-40, 1 + 0x1p-11, 65519.999999, 0.1, -0x1p-25 - 0x1p-60, 1e300};
  const uint16_t want[6] = {0x3c01, 0x3c00, 0x7bff, 0x2e66, 0x8001, 0x7c00};
  t_case c = cast_case(CL_DTYPE_F64, 1, (int64_t[]){6}, x, CL_DTYPE_F16);
  t_check(&c, CL_DTYPE_F16, 1, NULL, want, 0, 0);
}

Test(cast, float16_round_trip_every_pattern) {
  /* every non-NaN half survives half -> float -> half and half -> double -> half */
  uint16_t *h = malloc(65536 * sizeof *h), *want = malloc(65536 * sizeof *want);
  size_t n = 0;
  for (uint32_t b = 0; b < 65536; b++)
    if ((b & 0x7c00) != 0x7c00 || (b & 0x3ff) == 0) h[n++] = (uint16_t)b;
  memcpy(want, h, n * sizeof *h);
  int64_t dims[1] = {(int64_t)n};
  for (int via = 0; via < 2; via++) {
    cl_dtype mid = via ? CL_DTYPE_F64 : CL_DTYPE_F32;
    cl_graph *g = h_graph(13);
    int x = h_value(g, "x", CL_DTYPE_F16, 1, dims, h);
    int m = h_value(g, "m", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
    int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
    int n1 = h_node(g, "Cast", &x, 1, &m, 1);
    h_attr_int(g, n1, "to", mid);
    cl_error err = {0};
    cr_assert_eq(h_run(g, n1, CL_LAYOUT_PLAIN, 2, &err), CL_OK, "%s", err.msg);
    /* feed the intermediate back as the input of a second node */
    int x2 = h_value(g, "x2", mid, 1, dims, h_data(g, m));
    int n2 = h_node(g, "Cast", &x2, 1, &y, 1);
    h_attr_int(g, n2, "to", CL_DTYPE_F16);
    cr_assert_eq(h_run(g, n2, CL_LAYOUT_PLAIN, 2, &err), CL_OK, "%s", err.msg);
    const uint16_t *got = h_data(g, y);
    for (size_t i = 0; i < n; i++) cr_assert_eq(got[i], want[i], "0x%04x -> 0x%04x", want[i], got[i]);
    if (!via) { /* and the float values are exact: 1.0, the smallest subnormal, the largest half */
      const float *f = h_data(g, m);
      cr_assert(f[0x3c00] == 1.0f && f[1] == 0x1p-24f && f[0x7bff] == 65504.0f && f[0x7c00] == INFINITY);
    }
    h_free(&g);
  }
  free(h);
  free(want);
}

Test(cast, float_to_bfloat16_round_to_nearest_even) {
  /* bits computed with integer arithmetic: round the low 16 bits to nearest, ties to even */
  const float x[9] = {1.0f, 1.00390625f, 1.00585938f, 1.01171875f, 3.39999995e+38f, -0.100000001f,
                      9.9999461e-41f, INFINITY, NAN};
  const uint16_t want[9] = {0x3f80, 0x3f80, 0x3f81, 0x3f82, 0x7f80, 0xbdcd, 0x0001, 0x7f80, 0x7fc0};
  t_case c = cast_case(CL_DTYPE_F32, 1, (int64_t[]){9}, x, CL_DTYPE_BF16);
  t_check(&c, CL_DTYPE_BF16, 1, NULL, want, 0, 0);
  const float back[9] = {1.0f, 1.0f, 1.0078125f, 1.015625f, INFINITY, -0.10009765625f, 9.18355e-41f,
                         INFINITY, NAN};
  t_case d = cast_case(CL_DTYPE_BF16, 1, (int64_t[]){9}, want, CL_DTYPE_F32);
  t_check(&d, CL_DTYPE_F32, 1, NULL, back, 1e-6f, 0);
}

Test(cast, float_to_integers_truncate) {
  /* numpy: x.astype(np.int32); uint8 and int8 via int64 (wrapping) */
  const float x[6] = {-2.9f, -0.5f, 0.5f, 2.9f, 300.7f, -129.5f};
  const int32_t w32[6] = {-2, 0, 0, 2, 300, -129};
  const uint8_t wu8[6] = {254, 0, 0, 2, 44, 127};
  const int8_t wi8[6] = {-2, 0, 0, 2, 44, 127};
  const int64_t w64[6] = {-2, 0, 0, 2, 300, -129};
  const uint8_t wb[6] = {1, 1, 1, 1, 1, 1};
  int64_t d[4] = {1, 3, 1, 2};
  t_case c = cast_case(CL_DTYPE_F32, 4, d, x, CL_DTYPE_I32);
  t_check(&c, CL_DTYPE_I32, 4, NULL, w32, 0, 0);
  c = cast_case(CL_DTYPE_F32, 4, d, x, CL_DTYPE_U8);
  t_check(&c, CL_DTYPE_U8, 4, NULL, wu8, 0, 0);
  c = cast_case(CL_DTYPE_F32, 4, d, x, CL_DTYPE_I8);
  t_check(&c, CL_DTYPE_I8, 4, NULL, wi8, 0, 0);
  c = cast_case(CL_DTYPE_F32, 4, d, x, CL_DTYPE_I64);
  t_check(&c, CL_DTYPE_I64, 4, NULL, w64, 0, 0);
  c = cast_case(CL_DTYPE_F32, 4, d, x, CL_DTYPE_BOOL);
  t_check(&c, CL_DTYPE_BOOL, 4, NULL, wb, 0, 0);
  /* out of range and NaN: saturate, NaN gives 0, never a trap */
  const double big[5] = {1e30, -1e30, NAN, 9.3e18, -0.0};
  const int64_t wbig[5] = {INT64_MAX, INT64_MIN, 0, INT64_MAX, 0};
  const uint64_t wubig[5] = {UINT64_MAX, (uint64_t)INT64_MIN, 0, 9300000000000000000u, 0};
  const uint8_t wbool[5] = {1, 1, 1, 1, 0};
  c = cast_case(CL_DTYPE_F64, 1, (int64_t[]){5}, big, CL_DTYPE_I64);
  t_check(&c, CL_DTYPE_I64, 1, NULL, wbig, 0, 0);
  c = cast_case(CL_DTYPE_F64, 1, (int64_t[]){5}, big, CL_DTYPE_U64);
  t_check(&c, CL_DTYPE_U64, 1, NULL, wubig, 0, 0);
  c = cast_case(CL_DTYPE_F64, 1, (int64_t[]){5}, big, CL_DTYPE_BOOL);
  t_check(&c, CL_DTYPE_BOOL, 1, NULL, wbool, 0, 0);
}

Test(cast, integers_and_bool) {
  /* numpy: i.astype(np.float32), .astype(np.int32), .astype(np.uint16) */
  const int64_t i[4] = {-1, 0, ((int64_t)1 << 40) + 1, (int64_t)1 << 62};
  const float wf[4] = {-1, 0, 1.09951163e+12f, 4.61168602e+18f};
  const int32_t w32[4] = {-1, 0, 1, 0};
  const uint16_t w16[4] = {65535, 0, 1, 0};
  const double wd[4] = {-1, 0, 1099511627777.0, 4611686018427387904.0};
  t_case c = cast_case(CL_DTYPE_I64, 1, (int64_t[]){4}, i, CL_DTYPE_F32);
  t_check(&c, CL_DTYPE_F32, 1, NULL, wf, 0, 0);
  c = cast_case(CL_DTYPE_I64, 1, (int64_t[]){4}, i, CL_DTYPE_I32);
  t_check(&c, CL_DTYPE_I32, 1, NULL, w32, 0, 0);
  c = cast_case(CL_DTYPE_I64, 1, (int64_t[]){4}, i, CL_DTYPE_U16);
  t_check(&c, CL_DTYPE_U16, 1, NULL, w16, 0, 0);
  c = cast_case(CL_DTYPE_I64, 1, (int64_t[]){4}, i, CL_DTYPE_F64);
  t_check(&c, CL_DTYPE_F64, 1, NULL, wd, 0, 0);
  const uint8_t b[4] = {1, 0, 1, 1};
  const float bf[4] = {1, 0, 1, 1};
  const int64_t bi[4] = {1, 0, 1, 1};
  const uint16_t bh[4] = {0x3c00, 0, 0x3c00, 0x3c00};
  c = cast_case(CL_DTYPE_BOOL, 1, (int64_t[]){4}, b, CL_DTYPE_F32);
  t_check(&c, CL_DTYPE_F32, 1, NULL, bf, 0, 0);
  c = cast_case(CL_DTYPE_BOOL, 1, (int64_t[]){4}, b, CL_DTYPE_I64);
  t_check(&c, CL_DTYPE_I64, 1, NULL, bi, 0, 0);
  c = cast_case(CL_DTYPE_BOOL, 1, (int64_t[]){4}, b, CL_DTYPE_F16);
  t_check(&c, CL_DTYPE_F16, 1, NULL, bh, 0, 0);
  const uint32_t u[3] = {0, 7, UINT32_MAX};
  const uint8_t ub[3] = {0, 1, 1};
  const int8_t ui8[3] = {0, 7, -1};
  c = cast_case(CL_DTYPE_U32, 1, (int64_t[]){3}, u, CL_DTYPE_BOOL);
  t_check(&c, CL_DTYPE_BOOL, 1, NULL, ub, 0, 0);
  c = cast_case(CL_DTYPE_U32, 1, (int64_t[]){3}, u, CL_DTYPE_I8);
  t_check(&c, CL_DTYPE_I8, 1, NULL, ui8, 0, 0);
}

Test(cast, same_type_is_a_view_and_castlike) {
  const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  t_case c = cast_case(CL_DTYPE_F32, 4, (int64_t[]){1, 2, 2, 2}, x, CL_DTYPE_F32);
  t_check_f32(&c, x, 0, 0);
  const double like = 0;
  const double xd[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  t_case cl = {.opset = 15, .op = "CastLike", .n_in = 2,
               .in = {{CL_DTYPE_F32, 4, {1, 2, 2, 2}, x, 0, 0}, {CL_DTYPE_F64, 0, {0}, &like, 0, 0}}};
  t_check(&cl, CL_DTYPE_F64, 4, NULL, xd, 0, 0);
}

Test(cast, large_channels_last_xnnpack) {
  const int64_t dims[4] = {1, 16, 40, 40};
  size_t n = t_numel(4, dims);
  float *x = malloc(n * sizeof *x), *back = malloc(n * sizeof *back);
  uint16_t *h = malloc(n * sizeof *h);
  t_fill(x, n, -70000, 70000, 9);
  for (size_t i = 0; i < n; i++) { /* reference: the test's own round to nearest even */
    float a = fabsf(x[i]);
    int e;
    frexpf(a, &e); /* a in [2^(e-1), 2^e) */
    float ulp = ldexpf(1, (e - 1 < -14 ? -14 : e - 1) - 10);
    float r = rintf(a / ulp) * ulp;
    back[i] = copysignf(r >= 65520 ? INFINITY : r, x[i]);
  }
  t_case c = cast_case(CL_DTYPE_F32, 4, dims, x, CL_DTYPE_F16);
  for (int li = 0; li < 2; li++)
    for (int th = 1; th <= 2; th++) {
      int node, out;
      cl_graph *g = t_build(&c, &node, &out);
      cl_error err = {0};
      cr_assert_eq(h_run(g, node, T_LAYOUTS[li], th, &err), CL_OK, "%s", err.msg);
      memcpy(h, h_data(g, out), n * sizeof *h);
      h_free(&g);
      t_case d = cast_case(CL_DTYPE_F16, 4, dims, h, CL_DTYPE_F32);
      t_check_f32(&d, back, 0, 0);
    }
  free(x);
  free(back);
  free(h);
}

Test(cast, refuses_strings_and_missing_to) {
  const float x[2] = {1, 2};
  t_case c = cast_case(CL_DTYPE_F32, 1, (int64_t[]){2}, x, CL_DTYPE_STRING);
  cl_error err = {0};
  cr_assert_eq(t_status(&c, &err), CL_ERR_UNSUPPORTED);
  cr_assert(strstr(err.msg, "string"), "%s", err.msg);
  t_case d = c;
  d.n_attr = 0;
  cl_error err2 = {0};
  cr_assert_eq(t_status(&d, &err2), CL_ERR_FORMAT);
  cr_assert(strstr(err2.msg, "'to'"), "%s", err2.msg);
  t_case e = cast_case(CL_DTYPE_F32, 1, (int64_t[]){2}, x, (cl_dtype)14); /* complex64 */
  cl_error err3 = {0};
  cr_assert_eq(t_status(&e, &err3), CL_ERR_UNSUPPORTED, "%s", err3.msg);
}
