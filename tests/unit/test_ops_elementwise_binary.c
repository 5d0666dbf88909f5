/* cleave tests: binary, variadic and comparison operators with broadcasting (ops_binary.c,
 * ops_binary_kernels.c, ops_compare.c). Small cases: numpy's values; large cases: a naive
 * broadcasting reference written here (t_bcast_offset). PLAIN and CHANNELS_LAST, 1 and 2 threads;
 * mixed layouts through a hand-driven run. */
#include "exec/layout_convert.h"
#include "ew_test_util.h"

static const float A12[12] = {-2, -1.5f, -1, -0.5f, 0, 0.5f, 1, 1.5f, 2, 2.5f, 3, 3.5f};
static const float B3[3] = {1.5f, -2, 0.25f};

typedef struct {
  const char *op;
  float want[12];     /* A [1,3,2,2] op B [3,1,1] */
  float want_rev[12]; /* B op A */
} pc_case;

/* numpy: np.add(A, B) ... with A = arange(12)*0.5-2 as [1,3,2,2], B = [1.5,-2,.25] as [3,1,1] */
static const pc_case PER_CHANNEL[] = {
    {"Add", {-0.5f, 0, 0.5f, 1, -2, -1.5f, -1, -0.5f, 2.25f, 2.75f, 3.25f, 3.75f},
     {-0.5f, 0, 0.5f, 1, -2, -1.5f, -1, -0.5f, 2.25f, 2.75f, 3.25f, 3.75f}},
    {"Sub", {-3.5f, -3, -2.5f, -2, 2, 2.5f, 3, 3.5f, 1.75f, 2.25f, 2.75f, 3.25f},
     {3.5f, 3, 2.5f, 2, -2, -2.5f, -3, -3.5f, -1.75f, -2.25f, -2.75f, -3.25f}},
    {"Mul", {-3, -2.25f, -1.5f, -0.75f, -0.f, -1, -2, -3, 0.5f, 0.625f, 0.75f, 0.875f},
     {-3, -2.25f, -1.5f, -0.75f, -0.f, -1, -2, -3, 0.5f, 0.625f, 0.75f, 0.875f}},
    {"Div", {-1.33333337f, -1, -0.666666687f, -0.333333343f, -0.f, -0.25f, -0.5f, -0.75f, 8, 10, 12, 14},
     {-0.75f, -1, -1.5f, -3, -INFINITY, -4, -2, -1.33333337f, 0.125f, 0.100000001f, 0.0833333358f,
      0.0714285746f}},
    {"Max", {1.5f, 1.5f, 1.5f, 1.5f, 0, 0.5f, 1, 1.5f, 2, 2.5f, 3, 3.5f},
     {1.5f, 1.5f, 1.5f, 1.5f, 0, 0.5f, 1, 1.5f, 2, 2.5f, 3, 3.5f}},
    {"Min", {-2, -1.5f, -1, -0.5f, -2, -2, -2, -2, 0.25f, 0.25f, 0.25f, 0.25f},
     {-2, -1.5f, -1, -0.5f, -2, -2, -2, -2, 0.25f, 0.25f, 0.25f, 0.25f}},
};

Test(binary, per_channel_constant_lands_on_channel) {
  for (size_t i = 0; i < sizeof PER_CHANNEL / sizeof PER_CHANNEL[0]; i++) {
    const pc_case *p = &PER_CHANNEL[i];
    t_case c = {.opset = 13, .op = p->op, .n_in = 2,
                .in = {{CL_DTYPE_F32, 4, {1, 3, 2, 2}, A12, 0, 0},
                       {CL_DTYPE_F32, 3, {3, 1, 1}, B3, 1, 0}}};
    t_check_f32(&c, p->want, 1e-6f, 0);
    t_case r = {.opset = 13, .op = p->op, .n_in = 2,
                .in = {{CL_DTYPE_F32, 3, {3, 1, 1}, B3, 1, 0},
                       {CL_DTYPE_F32, 4, {1, 3, 2, 2}, A12, 0, 0}}};
    t_check(&r, CL_DTYPE_F32, 4, (int64_t[]){1, 3, 2, 2}, p->want_rev, 1e-6f, 0);
    /* the same as a [1,3,1,1] non-constant tensor (channels-last too: an SE block) */
    t_case s = {.opset = 13, .op = p->op, .n_in = 2,
                .in = {{CL_DTYPE_F32, 4, {1, 3, 2, 2}, A12, 0, 0},
                       {CL_DTYPE_F32, 4, {1, 3, 1, 1}, B3, 0, 0}}};
    t_check_f32(&s, p->want, 1e-6f, 0);
  }
}

/* A naive reference: out[i] = a[bcast(i)] op b[bcast(i)] in double. */
static double ref_bin(const char *op, double x, double y) {
  if (!strcmp(op, "Add")) return x + y;
  if (!strcmp(op, "Sub")) return x - y;
  if (!strcmp(op, "Mul")) return x * y;
  if (!strcmp(op, "Div")) return x / y;
  if (!strcmp(op, "Max")) return x > y ? x : y;
  if (!strcmp(op, "Min")) return x < y ? x : y;
  if (!strcmp(op, "Pow")) return pow(x, y);
  if (!strcmp(op, "PRelu")) return x < 0 ? x * y : x;
  return NAN;
}

typedef struct {
  int ra;
  int64_t a[4];
  int rb;
  int64_t b[4];
  int b_const;
} shape_pair;

static void check_large(const char *op, const shape_pair *sp, float lo_a, float lo_b) {
  int ro;
  int64_t dout[CL_MAX_RANK];
  cl_error e = {0};
  cr_assert_eq(cl_shape_broadcast(sp->ra, sp->a, sp->rb, sp->b, &ro, dout, &e), CL_OK);
  size_t na = t_numel(sp->ra, sp->a), nb = t_numel(sp->rb, sp->b), no = t_numel(ro, dout);
  float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *want = malloc(no * sizeof *want);
  t_fill(a, na, lo_a, 3, 21);
  t_fill(b, nb, lo_b, 3, 22);
  for (size_t i = 0; i < no; i++) {
    double x = a[t_bcast_offset(i, ro, dout, sp->ra, sp->a)];
    double y = b[t_bcast_offset(i, ro, dout, sp->rb, sp->b)];
    want[i] = (float)ref_bin(op, x, y);
  }
  t_case c = {.opset = 16, .op = op, .n_in = 2,
              .in = {{CL_DTYPE_F32, sp->ra, {0}, a, 0, 0},
                     {CL_DTYPE_F32, sp->rb, {0}, b, sp->b_const, 0}}};
  memcpy(c.in[0].dims, sp->a, sizeof sp->a);
  memcpy(c.in[1].dims, sp->b, sizeof sp->b);
  t_check(&c, CL_DTYPE_F32, ro, dout, want, 2e-6f, 1e-6f);
  free(a);
  free(b);
  free(want);
}

Test(binary, large_broadcasts_against_naive_reference) {
  static const shape_pair PAIRS[] = {
      {4, {1, 16, 48, 48}, 4, {1, 16, 48, 48}, 0}, /* same shape */
      {4, {1, 16, 48, 48}, 0, {0}, 1},             /* scalar constant */
      {4, {1, 16, 48, 48}, 1, {1}, 1},             /* [1] constant */
      {4, {1, 24, 40, 40}, 4, {1, 24, 1, 1}, 0},   /* SE block */
      {4, {1, 24, 40, 40}, 3, {24, 1, 1}, 1},      /* per-channel constant */
      {4, {2, 1, 30, 40}, 4, {1, 24, 1, 40}, 0},   /* both broadcast */
      {3, {24, 1, 40}, 4, {2, 24, 30, 1}, 0},      /* lower rank first */
      {4, {2, 24, 30, 40}, 1, {40}, 1},            /* last axis vector */
  };
  static const char *const OPS[] = {"Add", "Sub", "Mul", "Div", "Max", "Min"};
  for (size_t o = 0; o < sizeof OPS / sizeof OPS[0]; o++)
    for (size_t p = 0; p < sizeof PAIRS / sizeof PAIRS[0]; p++)
      check_large(OPS[o], &PAIRS[p], -3, !strcmp(OPS[o], "Div") ? 0.5f : -3);
}

Test(binary, pow_and_prelu_large) {
  static const shape_pair POW[] = {{4, {1, 8, 30, 30}, 4, {1, 8, 30, 30}, 0},
                                   {4, {1, 8, 30, 30}, 0, {0}, 1}};
  for (size_t p = 0; p < 2; p++) check_large("Pow", &POW[p], 0.1f, -2);
  static const shape_pair PRELU[] = {
      {4, {1, 16, 40, 40}, 3, {16, 1, 1}, 1}, /* XNNPACK prelu when channels-last */
      {4, {1, 16, 40, 40}, 1, {1}, 1},        /* XNNPACK leaky_relu */
      {4, {1, 16, 40, 40}, 3, {16, 1, 1}, 0}, /* non-constant slope */
      {4, {2, 16, 10, 40}, 1, {40}, 1},
  };
  for (size_t p = 0; p < sizeof PRELU / sizeof PRELU[0]; p++) check_large("PRelu", &PRELU[p], -3, -1);
}

Test(binary, pow_types) {
  /* numpy: np.power(x, y) */
  const float x[6] = {1, 2, 3, 0.5f, -2, 4}, y[6] = {2, 0.5f, -1, 3, 2, 1.5f};
  const float want[6] = {1, 1.41421354f, 0.333333343f, 0.125f, 4, 8};
  t_case c = {.opset = 15, .op = "Pow", .n_in = 2,
              .in = {{CL_DTYPE_F32, 1, {6}, x, 0, 0}, {CL_DTYPE_F32, 1, {6}, y, 0, 0}}};
  t_check_f32(&c, want, 1e-6f, 0);
  /* onnx test_pow_types_*: [1,2,3] ** [4,5,6] */
  const float xf[3] = {1, 2, 3}, wf[3] = {1, 32, 729};
  const int64_t y64[3] = {4, 5, 6}, x64[3] = {1, 2, 3}, w64[3] = {1, 32, 729};
  const uint64_t yu64[3] = {4, 5, 6};
  const int32_t x32[3] = {1, 2, 3}, w32[3] = {1, 32, 729};
  const float yf[3] = {4, 5, 6};
  t_case c1 = {.opset = 15, .op = "Pow", .n_in = 2,
               .in = {{CL_DTYPE_F32, 1, {3}, xf, 0, 0}, {CL_DTYPE_I64, 1, {3}, y64, 0, 0}}};
  t_check_f32(&c1, wf, 0, 0);
  t_case c2 = {.opset = 15, .op = "Pow", .n_in = 2,
               .in = {{CL_DTYPE_F32, 1, {3}, xf, 0, 0}, {CL_DTYPE_U64, 1, {3}, yu64, 0, 0}}};
  t_check_f32(&c2, wf, 0, 0);
  t_case c3 = {.opset = 15, .op = "Pow", .n_in = 2,
               .in = {{CL_DTYPE_I32, 1, {3}, x32, 0, 0}, {CL_DTYPE_F32, 1, {3}, yf, 0, 0}}};
  t_check(&c3, CL_DTYPE_I32, 1, NULL, w32, 0, 0);
  t_case c4 = {.opset = 15, .op = "Pow", .n_in = 2,
               .in = {{CL_DTYPE_I64, 1, {3}, x64, 0, 0}, {CL_DTYPE_I64, 1, {3}, y64, 0, 0}}};
  t_check(&c4, CL_DTYPE_I64, 1, NULL, w64, 0, 0);
  /* constant exponents 2 and 0.5 take the fast paths; the edge cases follow powf */
  const float xe[6] = {-3, -0.0f, 0, 2.25f, INFINITY, -INFINITY}, two = 2, half = 0.5f;
  const float sq[6] = {9, 0, 0, 5.0625f, INFINITY, INFINITY};
  const float rt[6] = {NAN, 0, 0, 1.5f, INFINITY, INFINITY};
  t_case c5 = {.opset = 13, .op = "Pow", .n_in = 2,
               .in = {{CL_DTYPE_F32, 1, {6}, xe, 0, 0}, {CL_DTYPE_F32, 0, {0}, &two, 1, 0}}};
  t_check_f32(&c5, sq, 0, 0);
  c5.in[1].data = &half;
  t_check_f32(&c5, rt, 0, 0);
  c5.in[1].is_const = 0;
  t_check_f32(&c5, rt, 0, 0);
}

Test(binary, integer_semantics) {
  /* C truncation, division by zero gives 0, INT64_MIN / -1 wraps */
  const int64_t a[6] = {-7, 7, -7, 7, 5, INT64_MIN}, b[6] = {2, -2, -2, 2, 0, -1};
  const int64_t div[6] = {-3, -3, 3, 3, 0, INT64_MIN};
  t_case c = {.opset = 13, .op = "Div", .n_in = 2,
              .in = {{CL_DTYPE_I64, 1, {6}, a, 0, 0}, {CL_DTYPE_I64, 1, {6}, b, 0, 0}}};
  t_check(&c, CL_DTYPE_I64, 1, NULL, div, 0, 0);
  /* shape arithmetic: [1, 3, 224, 224] * [1] / [2] + [0, 0, 1, 1] */
  const int64_t shape[4] = {1, 3, 224, 224}, two = 2, add[4] = {0, 0, 1, 1};
  const int64_t mul_want[4] = {2, 6, 448, 448}, sub_want[4] = {1, 3, 223, 223};
  t_case m = {.opset = 13, .op = "Mul", .n_in = 2,
              .in = {{CL_DTYPE_I64, 1, {4}, shape, 1, 0}, {CL_DTYPE_I64, 1, {1}, &two, 1, 0}}};
  t_check(&m, CL_DTYPE_I64, 1, NULL, mul_want, 0, 0);
  t_case s = {.opset = 13, .op = "Sub", .n_in = 2,
              .in = {{CL_DTYPE_I64, 1, {4}, shape, 1, 0}, {CL_DTYPE_I64, 1, {4}, add, 1, 0}}};
  t_check(&s, CL_DTYPE_I64, 1, NULL, sub_want, 0, 0);
  /* wrap-around: int32 and uint8 (onnx test_sub_uint8 style) */
  const int32_t i32a[2] = {INT32_MAX, INT32_MIN}, i32b[2] = {1, 1}, i32w[2] = {INT32_MIN, INT32_MIN + 1};
  t_case w = {.opset = 14, .op = "Add", .n_in = 2,
              .in = {{CL_DTYPE_I32, 1, {2}, i32a, 0, 0}, {CL_DTYPE_I32, 1, {2}, i32b, 0, 0}}};
  t_check(&w, CL_DTYPE_I32, 1, NULL, i32w, 0, 0);
  const uint8_t ua[3] = {1, 200, 255}, ub[3] = {2, 100, 255};
  const uint8_t usub[3] = {255, 100, 0}, umul[3] = {2, 32, 1};
  t_case u = {.opset = 14, .op = "Sub", .n_in = 2,
              .in = {{CL_DTYPE_U8, 1, {3}, ua, 0, 0}, {CL_DTYPE_U8, 1, {3}, ub, 0, 0}}};
  t_check(&u, CL_DTYPE_U8, 1, NULL, usub, 0, 0);
  u.op = "Mul";
  t_check(&u, CL_DTYPE_U8, 1, NULL, umul, 0, 0);
  const uint16_t h1[2] = {65535, 300}, h2[2] = {65535, 300}, hw[2] = {1, 24464};
  t_case h = {.opset = 14, .op = "Mul", .n_in = 2,
              .in = {{CL_DTYPE_U16, 1, {2}, h1, 0, 0}, {CL_DTYPE_U16, 1, {2}, h2, 0, 0}}};
  t_check(&h, CL_DTYPE_U16, 1, NULL, hw, 0, 0);
  const double d1[2] = {1, -3}, d2[2] = {4, 2}, dw[2] = {0.25, -1.5};
  t_case d = {.opset = 13, .op = "Div", .n_in = 2,
              .in = {{CL_DTYPE_F64, 1, {2}, d1, 0, 0}, {CL_DTYPE_F64, 1, {2}, d2, 0, 0}}};
  t_check(&d, CL_DTYPE_F64, 1, NULL, dw, 0, 0);
}

Test(binary, refuses_mismatches) {
  const float x[2] = {1, 2};
  const int64_t y[2] = {1, 2};
  t_case c = {.opset = 13, .op = "Add", .n_in = 2,
              .in = {{CL_DTYPE_F32, 1, {2}, x, 0, 0}, {CL_DTYPE_I64, 1, {2}, y, 0, 0}}};
  cl_error err = {0};
  cr_assert_eq(t_status(&c, &err), CL_ERR_SHAPE);
  cr_assert(strstr(err.msg, "Add") && strstr(err.msg, "int64") && strstr(err.msg, "float"), "%s",
            err.msg);
  const float z[3] = {1, 2, 3};
  t_case d = {.opset = 13, .op = "Mul", .n_in = 2,
              .in = {{CL_DTYPE_F32, 2, {1, 2}, x, 0, 0}, {CL_DTYPE_F32, 1, {3}, z, 0, 0}}};
  cl_error err2 = {0};
  cr_assert_eq(t_status(&d, &err2), CL_ERR_SHAPE);
  cr_assert(strstr(err2.msg, "[1,2]") && strstr(err2.msg, "[3]"), "%s", err2.msg);
  t_case p = {.opset = 16, .op = "PRelu", .n_in = 2,
              .in = {{CL_DTYPE_F32, 1, {2}, x, 0, 0}, {CL_DTYPE_F32, 2, {1, 2}, x, 1, 0}}};
  cl_error err3 = {0};
  cr_assert_eq(t_status(&p, &err3), CL_ERR_SHAPE);
  cr_assert(strstr(err3.msg, "slope"), "%s", err3.msg);
  const uint16_t h[2] = {0x3c00, 0x4000};
  t_case f = {.opset = 13, .op = "Add", .n_in = 2,
              .in = {{CL_DTYPE_F16, 1, {2}, h, 0, 0}, {CL_DTYPE_F16, 1, {2}, h, 0, 0}}};
  cl_error err4 = {0};
  cr_assert_eq(t_status(&f, &err4), CL_ERR_UNSUPPORTED, "%s", err4.msg);
  t_case one = {.opset = 13, .op = "Add", .n_in = 1, .in = {{CL_DTYPE_F32, 1, {2}, x, 0, 0}}};
  cl_error err5 = {0};
  cr_assert_eq(t_status(&one, &err5), CL_ERR_FORMAT, "%s", err5.msg);
}

Test(binary, prelu_broadcast_conformance) {
  /* onnx test_prelu_broadcast style: slope [5] against X [2,5] */
  const float x[10] = {-1, 2, -3, 4, -5, 5, -4, 3, -2, 1}, s[5] = {0.5f, -0.5f, 2, 0, 1};
  const float want[10] = {-0.5f, 2, -6, 4, -5, 5, 2, 3, -0.f, 1};
  t_case c = {.opset = 16, .op = "PRelu", .n_in = 2,
              .in = {{CL_DTYPE_F32, 2, {2, 5}, x, 0, 0}, {CL_DTYPE_F32, 1, {5}, s, 0, 0}}};
  t_check_f32(&c, want, 0, 0);
}

/* === Variadic === */

Test(variadic, sum_mean_max_min_broadcast) {
  /* numpy, a [2,3], b [3], c [2,1] */
  const float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {10, 20, 30}, c[2] = {100, 200};
  const float sum[6] = {111, 122, 133, 214, 225, 236};
  const float mean[6] = {37, 40.6666679f, 44.3333321f, 71.3333359f, 75, 78.6666641f};
  const float max[6] = {100, 100, 100, 200, 200, 200}, min[6] = {1, 2, 3, 4, 5, 6};
  t_case t = {.opset = 13, .op = "Sum", .n_in = 3,
              .in = {{CL_DTYPE_F32, 2, {2, 3}, a, 0, 0}, {CL_DTYPE_F32, 1, {3}, b, 1, 0},
                     {CL_DTYPE_F32, 2, {2, 1}, c, 0, 0}}};
  int64_t d[2] = {2, 3};
  t_check(&t, CL_DTYPE_F32, 2, d, sum, 0, 0);
  t.op = "Mean";
  t_check(&t, CL_DTYPE_F32, 2, d, mean, 1e-6f, 0);
  t.op = "Max";
  t_check(&t, CL_DTYPE_F32, 2, d, max, 0, 0);
  t.op = "Min";
  t_check(&t, CL_DTYPE_F32, 2, d, min, 0, 0);
  /* one input: a copy; two inputs: the pair */
  t.n_in = 1;
  for (int k = 0; k < 4; k++) {
    t.op = (const char *[]){"Sum", "Mean", "Max", "Min"}[k];
    t_check(&t, CL_DTYPE_F32, 2, d, a, 0, 0);
  }
}

Test(variadic, channels_last_three_inputs) {
  /* a [1,4,6,5] (non-const), b [4,1,1] (const), c [1,1,6,5] (non-const) */
  const int64_t da[4] = {1, 4, 6, 5}, db[3] = {4, 1, 1}, dc[4] = {1, 1, 6, 5};
  float a[120], b[4], c[30], want[120];
  t_fill(a, 120, -2, 2, 1);
  t_fill(b, 4, -2, 2, 2);
  t_fill(c, 30, -2, 2, 3);
  for (size_t i = 0; i < 120; i++) {
    float x = a[i], y = b[t_bcast_offset(i, 4, da, 3, db)], z = c[t_bcast_offset(i, 4, da, 4, dc)];
    float m = x > y ? x : y;
    want[i] = m > z ? m : z;
  }
  t_case t = {.opset = 13, .op = "Max", .n_in = 3,
              .in = {{CL_DTYPE_F32, 4, {1, 4, 6, 5}, a, 0, 0}, {CL_DTYPE_F32, 3, {4, 1, 1}, b, 1, 0},
                     {CL_DTYPE_F32, 4, {1, 1, 6, 5}, c, 0, 0}}};
  t_check_f32(&t, want, 0, 0);
}

Test(variadic, nan_integers_and_float16) {
  const float a[3] = {NAN, 1, 2}, b[3] = {0, NAN, 1}, want[3] = {NAN, NAN, 2};
  t_case t = {.opset = 13, .op = "Max", .n_in = 2,
              .in = {{CL_DTYPE_F32, 1, {3}, a, 0, 0}, {CL_DTYPE_F32, 1, {3}, b, 0, 0}}};
  t_check_f32(&t, want, 0, 0);
  const int16_t i1[3] = {-5, 7, 0}, i2[3] = {3, -9, 0}, imax[3] = {3, 7, 0}, imin[3] = {-5, -9, 0};
  t_case ti = {.opset = 13, .op = "Max", .n_in = 2,
               .in = {{CL_DTYPE_I16, 1, {3}, i1, 0, 0}, {CL_DTYPE_I16, 1, {3}, i2, 0, 0}}};
  t_check(&ti, CL_DTYPE_I16, 1, NULL, imax, 0, 0);
  ti.op = "Min";
  t_check(&ti, CL_DTYPE_I16, 1, NULL, imin, 0, 0);
  /* onnx test_max_float16: [3,2,1] and [1,4,4] -> [3,4,4] */
  const uint16_t h1[3] = {0x4200, 0x4000, 0x3c00}, h2[3] = {0x3c00, 0x4400, 0x4400};
  const uint16_t hmax[3] = {0x4200, 0x4400, 0x4400}, hmin[3] = {0x3c00, 0x4000, 0x3c00};
  t_case th = {.opset = 13, .op = "Max", .n_in = 2,
               .in = {{CL_DTYPE_F16, 1, {3}, h1, 0, 0}, {CL_DTYPE_F16, 1, {3}, h2, 0, 0}}};
  t_check(&th, CL_DTYPE_F16, 1, NULL, hmax, 0, 0);
  th.op = "Min";
  t_check(&th, CL_DTYPE_F16, 1, NULL, hmin, 0, 0);
  const int32_t ia[2] = {1, 2};
  t_case mean_int = {.opset = 13, .op = "Mean", .n_in = 2,
                     .in = {{CL_DTYPE_I32, 1, {2}, ia, 0, 0}, {CL_DTYPE_I32, 1, {2}, ia, 0, 0}}};
  cl_error err = {0};
  cr_assert_eq(t_status(&mean_int, &err), CL_ERR_UNSUPPORTED, "%s", err.msg);
}

Test(binary, fused_clamp) {
  const int64_t dims[4] = {1, 8, 40, 40};
  size_t n = t_numel(4, dims);
  float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *want = malloc(n * sizeof *want);
  t_fill(a, n, -3, 3, 5);
  t_fill(b, n, -3, 3, 6);
  for (size_t i = 0; i < n; i++) {
    float v = a[i] + b[i];
    want[i] = v < 0 ? 0 : v > 2 ? 2 : v;
  }
  t_case c = {.opset = 13, .op = "Add", .n_in = 2,
              .in = {{CL_DTYPE_F32, 4, {1, 8, 40, 40}, a, 0, 0},
                     {CL_DTYPE_F32, 4, {1, 8, 40, 40}, b, 0, 0}},
              .act_min = 0, .act_max = 2};
  t_check_f32(&c, want, 1e-6f, 0);
  c.op = "Sum";
  t_check_f32(&c, want, 1e-6f, 0);
  free(a);
  free(b);
  free(want);
}

/* === Comparisons, logic, Where === */

Test(compare, comparisons_broadcast) {
  const float a[6] = {1, 2, 3, 4, 5, NAN}, b[3] = {2, 2, 6};
  const uint8_t eq[6] = {0, 1, 0, 0, 0, 0}, lt[6] = {1, 0, 1, 0, 0, 0}, gt[6] = {0, 0, 0, 1, 1, 0};
  const uint8_t le[6] = {1, 1, 1, 0, 0, 0}, ge[6] = {0, 1, 0, 1, 1, 0};
  static const char *const OPS[] = {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"};
  const uint8_t *want[] = {eq, lt, gt, le, ge};
  for (int k = 0; k < 5; k++) {
    t_case c = {.opset = 16, .op = OPS[k], .n_in = 2,
                .in = {{CL_DTYPE_F32, 2, {2, 3}, a, 0, 0}, {CL_DTYPE_F32, 1, {3}, b, 1, 0}}};
    t_check(&c, CL_DTYPE_BOOL, 2, (int64_t[]){2, 3}, want[k], 0, 0);
  }
  const int64_t x[4] = {-1, 5, INT64_MAX, 0}, y = 5;
  const uint8_t eqi[4] = {0, 1, 0, 0}, lti[4] = {1, 0, 0, 1};
  t_case ci = {.opset = 13, .op = "Equal", .n_in = 2,
               .in = {{CL_DTYPE_I64, 1, {4}, x, 0, 0}, {CL_DTYPE_I64, 0, {0}, &y, 1, 0}}};
  t_check(&ci, CL_DTYPE_BOOL, 1, NULL, eqi, 0, 0);
  ci.op = "Less";
  t_check(&ci, CL_DTYPE_BOOL, 1, NULL, lti, 0, 0);
}

Test(compare, logic_and_not) {
  const uint8_t a[8] = {0, 0, 1, 1, 0, 1, 0, 1}, b[2] = {0, 1};
  const uint8_t and_w[8] = {0, 0, 0, 1, 0, 1, 0, 1}, or_w[8] = {0, 1, 1, 1, 0, 1, 0, 1};
  const uint8_t xor_w[8] = {0, 1, 1, 0, 0, 0, 0, 0}, not_w[8] = {1, 1, 0, 0, 1, 0, 1, 0};
  t_case c = {.opset = 7, .op = "And", .n_in = 2,
              .in = {{CL_DTYPE_BOOL, 3, {2, 2, 2}, a, 0, 0}, {CL_DTYPE_BOOL, 1, {2}, b, 0, 0}}};
  t_check(&c, CL_DTYPE_BOOL, 3, NULL, and_w, 0, 0);
  c.op = "Or";
  t_check(&c, CL_DTYPE_BOOL, 3, NULL, or_w, 0, 0);
  c.op = "Xor";
  t_check(&c, CL_DTYPE_BOOL, 3, NULL, xor_w, 0, 0);
  t_case n = {.opset = 1, .op = "Not", .n_in = 1, .in = {{CL_DTYPE_BOOL, 3, {2, 2, 2}, a, 0, 0}}};
  t_check(&n, CL_DTYPE_BOOL, 3, NULL, not_w, 0, 0);
  const float f[2] = {1, 2};
  t_case bad = {.opset = 7, .op = "And", .n_in = 2,
                .in = {{CL_DTYPE_F32, 1, {2}, f, 0, 0}, {CL_DTYPE_F32, 1, {2}, f, 0, 0}}};
  cl_error err = {0};
  cr_assert_eq(t_status(&bad, &err), CL_ERR_UNSUPPORTED, "%s", err.msg);
}

Test(compare, where_broadcast) {
  /* onnx test_where_long_example */
  const uint8_t cond[4] = {1, 0, 1, 1};
  const int64_t x[4] = {1, 2, 3, 4}, y[4] = {9, 8, 7, 6}, want[4] = {1, 8, 3, 4};
  t_case c = {.opset = 16, .op = "Where", .n_in = 3,
              .in = {{CL_DTYPE_BOOL, 2, {2, 2}, cond, 0, 0}, {CL_DTYPE_I64, 2, {2, 2}, x, 0, 0},
                     {CL_DTYPE_I64, 2, {2, 2}, y, 0, 0}}};
  t_check(&c, CL_DTYPE_I64, 2, NULL, want, 0, 0);
  /* three-way broadcast, channels-last: cond [1,2,1,3], x [1,2,2,1], y scalar */
  const uint8_t c2[6] = {1, 0, 1, 0, 1, 0};
  const float x2[4] = {1, 2, 3, 4}, y2 = -1;
  const float want2[12] = {1, -1, 1, 2, -1, 2, -1, 3, -1, -1, 4, -1};
  t_case w = {.opset = 9, .op = "Where", .n_in = 3,
              .in = {{CL_DTYPE_BOOL, 4, {1, 2, 1, 3}, c2, 0, 0},
                     {CL_DTYPE_F32, 4, {1, 2, 2, 1}, x2, 0, 0},
                     {CL_DTYPE_F32, 0, {0}, &y2, 1, 0}}};
  t_check(&w, CL_DTYPE_F32, 4, (int64_t[]){1, 2, 2, 3}, want2, 0, 0);
  t_case bad = w;
  bad.in[0].dtype = CL_DTYPE_U8;
  cl_error err = {0};
  cr_assert_eq(t_status(&bad, &err), CL_ERR_SHAPE, "%s", err.msg);
  cr_assert(strstr(err.msg, "bool"), "%s", err.msg);
}

/* === Mixed layouts (the layout pass leaves FOLLOW inputs as they come) === */

/* Runs op on x (layout lx) and y (layout ly) into an output of layout lo, by hand. */
static void run_mixed(const char *op, const int64_t *dx, int rx, cl_layout lx, const int64_t *dy,
                      int ry, cl_layout ly, cl_layout lo, int threads) {
  cl_graph *g = h_graph(13);
  size_t nx = t_numel(rx, dx), ny = t_numel(ry, dy);
  float *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y);
  t_fill(x, nx, -2, 2, 31);
  t_fill(y, ny, -2, 2, 32);
  int vx = h_value(g, "x", CL_DTYPE_F32, rx, dx, x), vy = h_value(g, "y", CL_DTYPE_F32, ry, dy, y);
  int vo = h_value(g, "o", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int ni = h_node(g, op, (int[]){vx, vy}, 2, &vo, 1);
  cl_node *n = &g->nodes[ni];
  n->op = cl_op_find(op, "");
  cl_error err = {0};
  cr_assert_eq(cl_xnn_init(&err), CL_OK);
  cr_assert_eq(n->op->parse(g, n, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(n->op->infer(g, n, &err), CL_OK, "%s", err.msg);
  cl_value *o = &g->values[vo];
  g->values[vx].layout = lx;
  g->values[vy].layout = ly;
  o->layout = lo;
  void *ptr[3];
  float *src[2] = {x, y};
  for (int v = 0; v < 3; v++) {
    cl_value *val = &g->values[v];
    ptr[v] = aligned_alloc(64, (val->nbytes + 127) / 64 * 64);
    if (v == 2) continue;
    if (val->layout == CL_LAYOUT_CHANNELS_LAST)
      cl_layout_to_channels_last(src[v], ptr[v], val->rank, val->dims, 4, NULL);
    else memcpy(ptr[v], src[v], val->nbytes);
  }
  pthreadpool_t pool = threads > 1 ? pthreadpool_create((size_t)threads) : NULL;
  cl_kernel_ctx k = {pool, ptr};
  void *state = NULL;
  cr_assert_eq(n->op->prepare(g, n, &k, &state, &err), CL_OK, "%s", err.msg);
  cr_assert_eq(n->op->run(g, n, state, &k), CL_OK);
  n->op->release(state);
  size_t no = o->nbytes / 4;
  float *got = malloc(o->nbytes);
  if (lo == CL_LAYOUT_CHANNELS_LAST) cl_layout_to_plain(ptr[2], got, o->rank, o->dims, 4, NULL);
  else memcpy(got, ptr[2], o->nbytes);
  for (size_t i = 0; i < no; i++) {
    float want = (float)ref_bin(op, x[t_bcast_offset(i, o->rank, o->dims, rx, dx)],
                                y[t_bcast_offset(i, o->rank, o->dims, ry, dy)]);
    cr_assert(fabsf(got[i] - want) <= 1e-6f * fabsf(want), "%s: element %zu is %g, expected %g", op, i,
              got[i], want);
  }
  if (pool) pthreadpool_destroy(pool);
  for (int v = 0; v < 3; v++) free(ptr[v]);
  free(got);
  free(x);
  free(y);
  h_free(&g);
}

Test(binary, mixed_layouts) {
  const int64_t d4[4] = {2, 6, 30, 40}, d3[3] = {6, 30, 40}, dc[4] = {1, 6, 1, 40};
  const cl_layout P = CL_LAYOUT_PLAIN, C = CL_LAYOUT_CHANNELS_LAST;
  for (int th = 1; th <= 2; th++) {
    run_mixed("Add", d4, 4, C, d4, 4, P, C, th);  /* a graph input in NCHW next to an NHWC tensor */
    run_mixed("Sub", d4, 4, P, d4, 4, C, C, th);
    run_mixed("Mul", d4, 4, C, d3, 3, C, C, th);  /* a rank-3 channels-last tensor */
    run_mixed("Div", d4, 4, C, d3, 3, P, P, th);
    run_mixed("Max", dc, 4, C, d4, 4, P, C, th);
  }
}

/* === Opset 6 (and 1): the broadcast and axis attributes === */

static const float L24[24] = {-6, -5.5f, -5, -4.5f, -4, -3.5f, -3, -2.5f, -2, -1.5f, -1, -0.5f,
                              0,  0.5f,  1,  1.5f,  2,  2.5f,  3,  3.5f,  4, 4.5f,  5, 5.5f};

Test(legacy, opset6_axis_and_suffix_broadcast) {
  /* numpy: A [1,2,3,4] + B [2,3] placed at axis 1 (B.reshape(1,2,3,1)); A * C [4] (trailing) */
  const float b[6] = {1, 2, 3, 4, 5, 6}, c[4] = {10, 20, 30, 40};
  const float add[24] = {-5, -4.5f, -4, -3.5f, -2, -1.5f, -1, -0.5f, 1, 1.5f, 2, 2.5f,
                         4,  4.5f,  5,  5.5f,  7,  7.5f,  8,  8.5f, 10, 10.5f, 11, 11.5f};
  const float mul[24] = {-60, -110, -150, -180, -40, -70, -90, -100, -20, -30, -30, -20,
                         0,   10,   30,   60,   20,  50,  90,  140,  40,  90,  150, 220};
  for (int constant = 0; constant <= 1; constant++) {
    t_case c1 = {.opset = 6, .op = "Add", .n_in = 2,
                 .in = {{CL_DTYPE_F32, 4, {1, 2, 3, 4}, L24, 0, 0},
                        {CL_DTYPE_F32, 2, {2, 3}, b, constant, 0}},
                 .n_attr = 2, .attr = {{"broadcast", TA_INT, 1, 0}, {"axis", TA_INT, 1, 0}}};
    t_check_f32(&c1, add, 0, 0);
    t_case c2 = {.opset = 6, .op = "Mul", .n_in = 2,
                 .in = {{CL_DTYPE_F32, 4, {1, 2, 3, 4}, L24, 0, 0},
                        {CL_DTYPE_F32, 1, {4}, c, constant, 0}},
                 .n_attr = 1, .attr = {{"broadcast", TA_INT, 1, 0}}};
    t_check_f32(&c2, mul, 0, 0);
  }
  /* broadcast=0 (the default) needs equal shapes; an axis that does not fit is refused */
  t_case c3 = {.opset = 6, .op = "Sub", .n_in = 2,
               .in = {{CL_DTYPE_F32, 4, {1, 2, 3, 4}, L24, 0, 0}, {CL_DTYPE_F32, 1, {4}, c, 1, 0}}};
  cl_error err = {0};
  cr_assert_eq(t_status(&c3, &err), CL_ERR_SHAPE);
  cr_assert(strstr(err.msg, "broadcast is 0"), "%s", err.msg);
  t_case c4 = {.opset = 6, .op = "Add", .n_in = 2,
               .in = {{CL_DTYPE_F32, 4, {1, 2, 3, 4}, L24, 0, 0}, {CL_DTYPE_F32, 2, {2, 3}, b, 1, 0}},
               .n_attr = 2, .attr = {{"broadcast", TA_INT, 1, 0}, {"axis", TA_INT, 3, 0}}};
  cl_error err2 = {0};
  cr_assert_eq(t_status(&c4, &err2), CL_ERR_SHAPE, "%s", err2.msg);
  /* and the attributes are refused where they no longer exist */
  c4.opset = 7;
  cl_error err3 = {0};
  cr_assert_eq(t_status(&c4, &err3), CL_ERR_UNSUPPORTED, "%s", err3.msg);
}

Test(legacy, prelu6_per_channel_and_equal1) {
  /* numpy: np.where(A < 0, A * s.reshape(1,2,1,1), A), PyTorch's PRelu export at opset 6 */
  const float s[2] = {0.1f, -2};
  const float want[24] = {-0.600000024f, -0.550000012f, -0.5f,         -0.450000018f,
                          -0.400000006f, -0.349999994f, -0.300000012f, -0.25f,
                          -0.200000003f, -0.150000006f, -0.100000001f, -0.0500000007f,
                          0, 0.5f, 1, 1.5f, 2, 2.5f, 3, 3.5f, 4, 4.5f, 5, 5.5f};
  t_case c = {.opset = 6, .op = "PRelu", .n_in = 2,
              .in = {{CL_DTYPE_F32, 4, {1, 2, 3, 4}, L24, 0, 0}, {CL_DTYPE_F32, 1, {2}, s, 1, 0}}};
  t_check_f32(&c, want, 0, 0);
  const int32_t a[6] = {1, 2, 3, 4, 5, 6}, b[2] = {1, 4}; /* a [3,2] == b [2], row by row */
  const uint8_t eq[6] = {1, 0, 0, 1, 0, 0};
  t_case e = {.opset = 1, .op = "Equal", .n_in = 2,
              .in = {{CL_DTYPE_I32, 2, {3, 2}, a, 0, 0}, {CL_DTYPE_I32, 1, {2}, b, 1, 0}},
              .n_attr = 1, .attr = {{"broadcast", TA_INT, 1, 0}}};
  t_check(&e, CL_DTYPE_BOOL, 2, NULL, eq, 0, 0);
}

/* === Scalars and empty tensors === */

Test(binary, scalars_and_empty_tensors) {
  const int64_t a = 7, b = -3, q = -2, r0[1] = {1};
  t_case c = {.opset = 13, .op = "Div", .n_in = 2,
              .in = {{CL_DTYPE_I64, 0, {0}, &a, 1, 0}, {CL_DTYPE_I64, 0, {0}, &b, 1, 0}}};
  t_check(&c, CL_DTYPE_I64, 0, NULL, &q, 0, 0);
  const int64_t one[1] = {-3}, sum[1] = {10};
  t_case s = {.opset = 13, .op = "Sub", .n_in = 2,
              .in = {{CL_DTYPE_I64, 0, {0}, &a, 0, 0}, {CL_DTYPE_I64, 1, {1}, one, 1, 0}}};
  t_check(&s, CL_DTYPE_I64, 1, r0, sum, 0, 0);
  const float x[3] = {1, 2, 3};
  t_case e = {.opset = 13, .op = "Add", .n_in = 2,
              .in = {{CL_DTYPE_F32, 4, {1, 3, 0, 2}, x, 0, 0}, {CL_DTYPE_F32, 3, {3, 1, 1}, x, 1, 0}}};
  t_check(&e, CL_DTYPE_F32, 4, (int64_t[]){1, 3, 0, 2}, NULL, 0, 0);
  t_case u = {.opset = 13, .op = "Sigmoid", .n_in = 1, .in = {{CL_DTYPE_F32, 2, {0, 5}, x, 0, 0}}};
  t_check(&u, CL_DTYPE_F32, 2, (int64_t[]){0, 5}, NULL, 0, 0);
}
