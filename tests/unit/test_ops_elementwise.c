/* cleave tests: unary elementwise operators, Relu, Clip, BatchNormalization (ops_unary.c,
 * ops_clip.c, ops_batchnorm.c). Expected values of the small cases come from numpy (float32); the
 * large cases (XNNPACK and the thread pool) are checked against a double-precision formula. Every
 * case runs PLAIN and CHANNELS_LAST, on 1 and 2 threads. */
#include <float.h>

#include "exec/ops_elementwise.h"
#include "ew_test_util.h"

static const float X8[8] = {-2.5f, -1, -0.25f, 0, 0.3f, 1, 2, 4.5f};
static const float R8[8] = {-2.5f, -1.5f, -0.25f, 0, 0.3f, 1, 2.7f, 4.5f}; /* for Floor, Ceil */
static const float P8[8] = {0.01f, 0.25f, 0.5f, 1, 2, 3, 9, 100};         /* for Sqrt, Log, 1/x */

#define SHAPE8 4, {1, 2, 2, 2}

typedef struct {
  const char *op;
  int opset;
  const float *x;
  float want[8];
  const char *attr;
  float attr_value;
  const char *attr2;
  float attr2_value;
} unary_case;

/* numpy: 1/(1+exp(-x)), np.tanh, ..., np.log(np.exp(x)+1), math.erf */
static const unary_case UNARY[] = {
    {"Sigmoid", 13, X8,
     {0.0758581832f, 0.268941432f, 0.437823504f, 0.5f, 0.574442506f, 0.731058598f, 0.880797088f, 0.989013076f},
     0, 0, 0, 0},
    {"Tanh", 13, X8,
     {-0.986614287f, -0.761594176f, -0.244918659f, 0.f, 0.291312635f, 0.761594176f, 0.964027584f, 0.999753237f},
     0, 0, 0, 0},
    {"Exp", 13, X8,
     {0.0820850059f, 0.367879421f, 0.778800726f, 1.f, 1.34985876f, 2.71828198f, 7.38905573f, 90.017128f},
     0, 0, 0, 0},
    {"Neg", 13, X8, {2.5f, 1.f, 0.25f, -0.f, -0.300000012f, -1.f, -2.f, -4.5f}, 0, 0, 0, 0},
    {"Abs", 13, X8, {2.5f, 1.f, 0.25f, 0.f, 0.300000012f, 1.f, 2.f, 4.5f}, 0, 0, 0, 0},
    {"Floor", 13, R8, {-3.f, -2.f, -1.f, 0.f, 0.f, 1.f, 2.f, 4.f}, 0, 0, 0, 0},
    {"Ceil", 13, R8, {-2.f, -1.f, -0.f, 0.f, 1.f, 1.f, 3.f, 5.f}, 0, 0, 0, 0},
    {"Erf", 13, X8,
     {-0.999593019f, -0.842700779f, -0.276326388f, 0.f, 0.328626782f, 0.842700779f, 0.995322287f, 1.f},
     0, 0, 0, 0},
    {"Softplus", 7, X8,
     {0.078889735f, 0.313261688f, 0.575939417f, 0.693147182f, 0.854355276f, 1.31326163f, 2.12692809f, 4.51104784f},
     0, 0, 0, 0},
    {"Elu", 7, X8,
     {-0.917914987f, -0.63212055f, -0.221199214f, 0.f, 0.300000012f, 1.f, 2.f, 4.5f},
     0, 0, 0, 0},
    {"Elu", 7, X8,
     {-1.83582997f, -1.2642411f, -0.442398429f, 0.f, 0.300000012f, 1.f, 2.f, 4.5f},
     "alpha", 2.0f, 0, 0},
    {"Selu", 7, X8,
     {-1.61378574f, -1.11133075f, -0.388890207f, 0.f, 0.315210313f, 1.05070102f, 2.10140204f, 4.72815466f},
     0, 0, 0, 0},
    {"LeakyRelu", 16, X8,
     {-0.0249999985f, -0.00999999978f, -0.00249999994f, 0.f, 0.300000012f, 1.f, 2.f, 4.5f},
     0, 0, 0, 0},
    {"LeakyRelu", 7, X8,
     {-0.25f, -0.100000001f, -0.0250000004f, 0.f, 0.300000012f, 1.f, 2.f, 4.5f},
     "alpha", 0.1f, 0, 0},
    {"HardSigmoid", 7, X8,
     {0.f, 0.300000012f, 0.449999988f, 0.5f, 0.560000002f, 0.699999988f, 0.899999976f, 1.f},
     0, 0, 0, 0},
    {"HardSigmoid", 11, X8,
     {0.0833333135f, 0.333333313f, 0.458333343f, 0.5f, 0.550000012f, 0.666666687f, 0.833333373f, 1.f},
     "alpha", 0.1666666716f, "beta", 0.5f},
    {"HardSwish", 14, X8,
     {-0.208333358f, -0.333333313f, -0.114583336f, 0.f, 0.165000007f, 0.666666687f, 1.66666675f, 4.5f},
     0, 0, 0, 0},
    {"Sqrt", 13, P8,
     {0.100000001f, 0.5f, 0.707106769f, 1.f, 1.41421354f, 1.73205078f, 3.f, 10.f},
     0, 0, 0, 0},
    {"Log", 13, P8,
     {-4.60517025f, -1.38629436f, -0.693147182f, 0.f, 0.693147182f, 1.09861231f, 2.19722462f, 4.60517025f},
     0, 0, 0, 0},
    {"Reciprocal", 13, P8,
     {100.f, 4.f, 2.f, 1.f, 0.5f, 0.333333343f, 0.111111112f, 0.00999999978f},
     0, 0, 0, 0},
};

static t_case unary_t_case(const unary_case *u, cl_dtype dt, const void *x) {
  t_case c = {.opset = u->opset, .op = u->op, .n_in = 1, .in = {{dt, SHAPE8, x, 0, 0}}};
  if (u->attr) c.attr[c.n_attr++] = (t_attr){u->attr, TA_FLOAT, 0, u->attr_value};
  if (u->attr2) c.attr[c.n_attr++] = (t_attr){u->attr2, TA_FLOAT, 0, u->attr2_value};
  return c;
}

Test(unary, float32_small_matches_numpy) {
  for (size_t i = 0; i < sizeof UNARY / sizeof UNARY[0]; i++) {
    t_case c = unary_t_case(&UNARY[i], CL_DTYPE_F32, UNARY[i].x);
    t_check_f32(&c, UNARY[i].want, 2e-6f, 1e-7f);
  }
}

Test(unary, float64_small_matches_numpy) {
  for (size_t i = 0; i < sizeof UNARY / sizeof UNARY[0]; i++) {
    double x[8], want[8];
    for (int j = 0; j < 8; j++) x[j] = UNARY[i].x[j], want[j] = UNARY[i].want[j];
    t_case c = unary_t_case(&UNARY[i], CL_DTYPE_F64, x);
    t_check(&c, CL_DTYPE_F64, 4, c.in[0].dims, want, 1e-6f, 1e-7f); /* numpy's values are float32 */
  }
}

/* A double-precision reference for the large cases. */
static double ref_unary(const char *op, double x) {
  if (!strcmp(op, "Sigmoid")) return 1 / (1 + exp(-x));
  if (!strcmp(op, "Tanh")) return tanh(x);
  if (!strcmp(op, "Sqrt")) return sqrt(x);
  if (!strcmp(op, "Exp")) return exp(x);
  if (!strcmp(op, "Neg")) return -x;
  if (!strcmp(op, "Abs")) return fabs(x);
  if (!strcmp(op, "Floor")) return floor(x);
  if (!strcmp(op, "Ceil")) return ceil(x);
  if (!strcmp(op, "Elu")) return x < 0 ? 0.5 * (exp(x) - 1) : x;
  if (!strcmp(op, "LeakyRelu")) return x < 0 ? 0.125 * x : x;
  if (!strcmp(op, "HardSwish")) return x * fmin(1, fmax(0, x / 6 + 0.5));
  if (!strcmp(op, "HardSigmoid")) return fmin(1, fmax(0, 0.25 * x + 0.5));
  if (!strcmp(op, "Erf")) return erf(x);
  return NAN;
}

Test(unary, float32_large_xnnpack_and_threads) {
  static const char *const OPS[] = {"Sigmoid", "Tanh", "Sqrt", "Exp", "Neg", "Abs", "Floor",
                                    "Ceil", "Elu", "LeakyRelu", "HardSwish", "HardSigmoid", "Erf"};
  const int64_t dims[4] = {2, 16, 40, 40};
  size_t n = t_numel(4, dims);
  float *x = malloc(n * sizeof *x), *want = malloc(n * sizeof *want);
  for (size_t k = 0; k < sizeof OPS / sizeof OPS[0]; k++) {
    int positive = !strcmp(OPS[k], "Sqrt");
    t_fill(x, n, positive ? 0.0f : -7.0f, 7.0f, (uint32_t)k);
    for (size_t i = 0; i < n; i++) want[i] = (float)ref_unary(OPS[k], x[i]);
    t_case c = {.opset = 14, .op = OPS[k], .n_in = 1,
                .in = {{CL_DTYPE_F32, 4, {2, 16, 40, 40}, x, 0, 0}}};
    if (!strcmp(OPS[k], "Elu")) c.attr[c.n_attr++] = (t_attr){"alpha", TA_FLOAT, 0, 0.5f};
    if (!strcmp(OPS[k], "LeakyRelu")) c.attr[c.n_attr++] = (t_attr){"alpha", TA_FLOAT, 0, 0.125f};
    if (!strcmp(OPS[k], "HardSigmoid")) c.attr[c.n_attr++] = (t_attr){"alpha", TA_FLOAT, 0, 0.25f};
    t_check_f32(&c, want, 1e-5f, 2e-6f);
  }
  free(x);
  free(want);
}

Test(unary, nan_and_infinity) {
  const float x[4] = {NAN, INFINITY, -INFINITY, -1.0f};
  const float sig[4] = {NAN, 1.0f, 0.0f, 0.268941432f}, sq[4] = {NAN, INFINITY, NAN, NAN};
  const float ex[4] = {NAN, INFINITY, 0.0f, 0.367879421f}, lg[4] = {NAN, INFINITY, NAN, NAN};
  t_case c = {.opset = 13, .op = "Sigmoid", .n_in = 1, .in = {{CL_DTYPE_F32, 1, {4}, x, 0, 0}}};
  t_check_f32(&c, sig, 1e-6f, 0);
  c.op = "Sqrt";
  t_check_f32(&c, sq, 0, 0);
  c.op = "Exp";
  t_check_f32(&c, ex, 1e-6f, 0);
  c.op = "Log";
  t_check_f32(&c, lg, 0, 0);
}

Test(unary, integer_abs_neg_wrap) {
  const int32_t x[6] = {INT32_MIN, -7, -1, 0, 5, INT32_MAX};
  const int32_t abs_want[6] = {INT32_MIN, 7, 1, 0, 5, INT32_MAX};
  const int32_t neg_want[6] = {INT32_MIN, 7, 1, 0, -5, -INT32_MAX};
  t_case c = {.opset = 13, .op = "Abs", .n_in = 1, .in = {{CL_DTYPE_I32, 3, {1, 2, 3}, x, 0, 0}}};
  t_check(&c, CL_DTYPE_I32, 3, NULL, abs_want, 0, 0);
  c.op = "Neg";
  t_check(&c, CL_DTYPE_I32, 3, NULL, neg_want, 0, 0);
  const int8_t x8[4] = {-128, -3, 0, 127}, neg8[4] = {-128, 3, 0, -127};
  t_case c8 = {.opset = 13, .op = "Neg", .n_in = 1, .in = {{CL_DTYPE_I8, 1, {4}, x8, 0, 0}}};
  t_check(&c8, CL_DTYPE_I8, 1, NULL, neg8, 0, 0);
  const uint16_t xu[3] = {0, 7, 65535};
  t_case cu = {.opset = 13, .op = "Abs", .n_in = 1, .in = {{CL_DTYPE_U16, 1, {3}, xu, 0, 0}}};
  t_check(&cu, CL_DTYPE_U16, 1, NULL, xu, 0, 0);
}

Test(unary, refuses_unsupported_types) {
  const int32_t x[2] = {1, 2};
  t_case c = {.opset = 13, .op = "Sigmoid", .n_in = 1, .in = {{CL_DTYPE_I32, 1, {2}, x, 0, 0}}};
  cl_error err = {0};
  cr_assert_eq(t_status(&c, &err), CL_ERR_UNSUPPORTED);
  cr_assert(strstr(err.msg, "Sigmoid") && strstr(err.msg, "int32"), "%s", err.msg);
  const uint16_t h[2] = {0x3c00, 0x4000};
  t_case c2 = {.opset = 13, .op = "Exp", .n_in = 1, .in = {{CL_DTYPE_F16, 1, {2}, h, 0, 0}}};
  cl_error err2 = {0};
  cr_assert_eq(t_status(&c2, &err2), CL_ERR_UNSUPPORTED);
  cr_assert(strstr(err2.msg, "float16"), "%s", err2.msg);
  const uint32_t u[2] = {1, 2};
  t_case c3 = {.opset = 13, .op = "Neg", .n_in = 1, .in = {{CL_DTYPE_U32, 1, {2}, u, 0, 0}}};
  cl_error err3 = {0};
  cr_assert_eq(t_status(&c3, &err3), CL_ERR_UNSUPPORTED, "%s", err3.msg);
}

/* === Relu and Clip === */

Test(relu, float_int_and_nan) {
  const float x[8] = {-2.5f, -1, -0.0f, 0, 0.3f, 1, NAN, 4.5f};
  const float want[8] = {0, 0, 0, 0, 0.3f, 1, NAN, 4.5f};
  t_case c = {.opset = 13, .op = "Relu", .n_in = 1, .in = {{CL_DTYPE_F32, SHAPE8, x, 0, 0}}};
  t_check_f32(&c, want, 0, 0);
  const int64_t xi[4] = {INT64_MIN, -1, 0, 9}, wi[4] = {0, 0, 0, 9};
  t_case ci = {.opset = 14, .op = "Relu", .n_in = 1, .in = {{CL_DTYPE_I64, 1, {4}, xi, 0, 0}}};
  t_check(&ci, CL_DTYPE_I64, 1, NULL, wi, 0, 0);
}

Test(relu, large_xnnpack) {
  const int64_t dims[4] = {1, 24, 40, 40};
  size_t n = t_numel(4, dims);
  float *x = malloc(n * sizeof *x), *want = malloc(n * sizeof *want);
  t_fill(x, n, -3, 3, 7);
  for (size_t i = 0; i < n; i++) want[i] = x[i] > 0 ? x[i] : 0;
  t_case c = {.opset = 13, .op = "Relu", .n_in = 1, .in = {{CL_DTYPE_F32, 4, {1, 24, 40, 40}, x, 0, 0}}};
  t_check_f32(&c, want, 0, 0);
  free(x);
  free(want);
}

Test(clip, opset6_attributes_and_defaults) {
  const float x[8] = {-INFINITY, -7, -1, 0, 0.5f, 3, 7, INFINITY};
  const float want[8] = {-1, -1, -1, 0, 0.5f, 3, 6, 6};
  t_case c = {.opset = 6, .op = "Clip", .n_in = 1, .in = {{CL_DTYPE_F32, SHAPE8, x, 0, 0}},
              .n_attr = 2, .attr = {{"min", TA_FLOAT, 0, -1}, {"max", TA_FLOAT, 0, 6}}};
  t_check_f32(&c, want, 0, 0);
  /* the defaults are the lowest and largest floats: infinities are clipped to them */
  const float want_def[8] = {-FLT_MAX, -7, -1, 0, 0.5f, 3, 7, FLT_MAX};
  t_case d = {.opset = 6, .op = "Clip", .n_in = 1, .in = {{CL_DTYPE_F32, SHAPE8, x, 0, 0}}};
  t_check_f32(&d, want_def, 0, 0);
}

Test(clip, opset11_constant_and_runtime_bounds) {
  const float x[8] = {-7, -2, -1, 0, 0.5f, 3, 7, NAN};
  const float lo = -1.5f, hi = 4;
  const float want[8] = {-1.5f, -1.5f, -1, 0, 0.5f, 3, 4, NAN};
  for (int runtime = 0; runtime <= 1; runtime++) {
    t_case c = {.opset = 13, .op = "Clip", .n_in = 3,
                .in = {{CL_DTYPE_F32, SHAPE8, x, 0, 0},
                       {CL_DTYPE_F32, 0, {0}, &lo, !runtime, 0},
                       {CL_DTYPE_F32, 0, {0}, &hi, !runtime, 0}}};
    t_check_f32(&c, want, 0, 0);
  }
  /* only max (min omitted), then only min */
  const float want_max[8] = {-7, -2, -1, 0, 0.5f, 3, 4, NAN};
  t_case m = {.opset = 12, .op = "Clip", .n_in = 3,
              .in = {{CL_DTYPE_F32, SHAPE8, x, 0, 0}, {0, 0, {0}, NULL, 0, 1},
                     {CL_DTYPE_F32, 1, {1}, &hi, 1, 0}}};
  t_check_f32(&m, want_max, 0, 0);
  const float want_min[8] = {-1.5f, -1.5f, -1, 0, 0.5f, 3, 7, NAN};
  t_case mn = {.opset = 11, .op = "Clip", .n_in = 2,
               .in = {{CL_DTYPE_F32, SHAPE8, x, 0, 0}, {CL_DTYPE_F32, 0, {0}, &lo, 1, 0}}};
  t_check_f32(&mn, want_min, 0, 0);
  t_case none = {.opset = 13, .op = "Clip", .n_in = 1, .in = {{CL_DTYPE_F32, SHAPE8, x, 0, 0}}};
  t_check_f32(&none, x, 0, 0);
}

Test(clip, min_above_max_gives_max) {
  const float x[4] = {-5, 0, 2, 9}, lo = 3, hi = 1, want[4] = {1, 1, 1, 1};
  t_case c = {.opset = 13, .op = "Clip", .n_in = 3,
              .in = {{CL_DTYPE_F32, 1, {4}, x, 0, 0}, {CL_DTYPE_F32, 0, {0}, &lo, 1, 0},
                     {CL_DTYPE_F32, 0, {0}, &hi, 1, 0}}};
  t_check_f32(&c, want, 0, 0);
}

Test(clip, integers) {
  /* onnx test_clip_default_int8_min: min 0 only */
  const int8_t x[6] = {-128, -5, 0, 3, 100, 127}, lo = 0, hi = 50;
  const int8_t want_min[6] = {0, 0, 0, 3, 100, 127}, want_both[6] = {0, 0, 0, 3, 50, 50};
  t_case c = {.opset = 13, .op = "Clip", .n_in = 2,
              .in = {{CL_DTYPE_I8, 3, {1, 2, 3}, x, 0, 0}, {CL_DTYPE_I8, 0, {0}, &lo, 0, 0}}};
  t_check(&c, CL_DTYPE_I8, 3, NULL, want_min, 0, 0);
  t_case c2 = {.opset = 13, .op = "Clip", .n_in = 3,
               .in = {{CL_DTYPE_I8, 3, {1, 2, 3}, x, 0, 0}, {CL_DTYPE_I8, 0, {0}, &lo, 1, 0},
                      {CL_DTYPE_I8, 0, {0}, &hi, 0, 0}}};
  t_check(&c2, CL_DTYPE_I8, 3, NULL, want_both, 0, 0);
  const uint64_t xu[3] = {0, 10, UINT64_MAX}, hu = 1000, wu[3] = {0, 10, 1000};
  t_case c3 = {.opset = 13, .op = "Clip", .n_in = 3,
               .in = {{CL_DTYPE_U64, 1, {3}, xu, 0, 0}, {0, 0, {0}, NULL, 0, 1},
                      {CL_DTYPE_U64, 0, {0}, &hu, 1, 0}}};
  t_check(&c3, CL_DTYPE_U64, 1, NULL, wu, 0, 0);
}

Test(clip, large_xnnpack_relu6) {
  const int64_t dims[4] = {1, 16, 48, 48};
  size_t n = t_numel(4, dims);
  float *x = malloc(n * sizeof *x), *want = malloc(n * sizeof *want);
  t_fill(x, n, -4, 10, 3);
  for (size_t i = 0; i < n; i++) want[i] = x[i] < 0 ? 0 : x[i] > 6 ? 6 : x[i];
  const float lo = 0, hi = 6;
  for (int runtime = 0; runtime <= 1; runtime++) {
    t_case c = {.opset = 11, .op = "Clip", .n_in = 3,
                .in = {{CL_DTYPE_F32, 4, {1, 16, 48, 48}, x, 0, 0},
                       {CL_DTYPE_F32, 0, {0}, &lo, !runtime, 0},
                       {CL_DTYPE_F32, 0, {0}, &hi, !runtime, 0}}};
    t_check_f32(&c, want, 0, 0);
  }
  free(x);
  free(want);
}

Test(clip, refuses_bad_bounds) {
  const float x[2] = {1, 2};
  const double lo = 0;
  const float two[2] = {0, 1};
  t_case c = {.opset = 13, .op = "Clip", .n_in = 2,
              .in = {{CL_DTYPE_F32, 1, {2}, x, 0, 0}, {CL_DTYPE_F64, 0, {0}, &lo, 1, 0}}};
  cl_error err = {0};
  cr_assert_eq(t_status(&c, &err), CL_ERR_SHAPE, "%s", err.msg);
  cr_assert(strstr(err.msg, "double") && strstr(err.msg, "float"), "%s", err.msg);
  t_case d = {.opset = 13, .op = "Clip", .n_in = 2,
              .in = {{CL_DTYPE_F32, 1, {2}, x, 0, 0}, {CL_DTYPE_F32, 1, {2}, two, 1, 0}}};
  cl_error err2 = {0};
  cr_assert_eq(t_status(&d, &err2), CL_ERR_SHAPE, "%s", err2.msg);
  cr_assert(strstr(err2.msg, "scalar"), "%s", err2.msg);
  const int32_t xi[2] = {1, 2};
  t_case e = {.opset = 6, .op = "Clip", .n_in = 1, .in = {{CL_DTYPE_I32, 1, {2}, xi, 0, 0}}};
  cl_error err3 = {0};
  cr_assert_eq(t_status(&e, &err3), CL_ERR_UNSUPPORTED, "%s", err3.msg);
}

/* Parses (and infers) the case's node and asks cl_op_clamp_bounds about it. */
static int clamp_bounds_of(const t_case *c, float *lo, float *hi) {
  int node, out;
  cl_graph *g = t_build(c, &node, &out);
  cl_node *n = &g->nodes[node];
  n->op = cl_op_find(n->op_type, "");
  cl_error err = {0};
  cr_assert_eq(n->op->parse(g, n, &err), CL_OK, "%s", err.msg);
  int r = cl_op_clamp_bounds(g, n, lo, hi);
  h_free(&g);
  return r;
}

Test(clip, clamp_bounds_for_fusion) {
  const float x[2] = {1, 2}, lo = -1, hi = 6, big = 9;
  float a, b;
  t_case relu = {.opset = 13, .op = "Relu", .n_in = 1, .in = {{CL_DTYPE_F32, 1, {2}, x, 0, 0}}};
  cr_assert(clamp_bounds_of(&relu, &a, &b) && a == 0 && b == INFINITY);
  t_case c6 = {.opset = 6, .op = "Clip", .n_in = 1, .in = {{CL_DTYPE_F32, 1, {2}, x, 0, 0}},
               .n_attr = 2, .attr = {{"min", TA_FLOAT, 0, 0}, {"max", TA_FLOAT, 0, 6}}};
  cr_assert(clamp_bounds_of(&c6, &a, &b) && a == 0 && b == 6);
  t_case c13 = {.opset = 13, .op = "Clip", .n_in = 3,
                .in = {{CL_DTYPE_F32, 1, {2}, x, 0, 0}, {CL_DTYPE_F32, 0, {0}, &lo, 1, 0},
                       {CL_DTYPE_F32, 0, {0}, &hi, 1, 0}}};
  cr_assert(clamp_bounds_of(&c13, &a, &b) && a == -1 && b == 6);
  t_case only_max = {.opset = 13, .op = "Clip", .n_in = 3,
                     .in = {{CL_DTYPE_F32, 1, {2}, x, 0, 0}, {0, 0, {0}, NULL, 0, 1},
                            {CL_DTYPE_F32, 0, {0}, &hi, 1, 0}}};
  cr_assert(clamp_bounds_of(&only_max, &a, &b) && a == -INFINITY && b == 6);
  t_case runtime = c13;
  runtime.in[2].is_const = 0;
  cr_assert_not(clamp_bounds_of(&runtime, &a, &b));
  t_case empty = c13;
  empty.in[1].data = &big;
  cr_assert_not(clamp_bounds_of(&empty, &a, &b));
  const int32_t xi[2] = {1, 2};
  t_case ints = {.opset = 14, .op = "Relu", .n_in = 1, .in = {{CL_DTYPE_I32, 1, {2}, xi, 0, 0}}};
  cr_assert_not(clamp_bounds_of(&ints, &a, &b));
  t_case sig = {.opset = 13, .op = "Sigmoid", .n_in = 1, .in = {{CL_DTYPE_F32, 1, {2}, x, 0, 0}}};
  cr_assert_not(clamp_bounds_of(&sig, &a, &b));
}

/* === BatchNormalization === */

static const float BN_X[24] = {-5.75f, -5.25f, -4.75f, -4.25f, -3.75f, -3.25f, -2.75f, -2.25f,
                               -1.75f, -1.25f, -0.75f, -0.25f, 0.25f,  0.75f,  1.25f,  1.75f,
                               2.25f,  2.75f,  3.25f,  3.75f,  4.25f,  4.75f,  5.25f,  5.75f};
static const float BN_S[3] = {0.5f, -1.5f, 2.0f}, BN_B[3] = {0.1f, 0.2f, -0.3f};
static const float BN_M[3] = {1.0f, -2.0f, 0.5f}, BN_V[3] = {0.25f, 4.0f, 1.0f};
/* numpy: (x - m) / sqrt(v + 0.01) * s + b, per channel of [2, 3, 2, 2] */
static const float BN_Y[24] = {-6.51891994f, -6.0286293f,   -5.53833914f, -5.04804897f,
                               1.51086259f,  1.13633037f,   0.761798203f, 0.38726607f,
                               -4.77766752f, -3.78262997f,  -2.78759289f, -1.79255581f,
                               -0.635435522f, -0.145145178f, 0.345145166f, 0.835435569f,
                               -2.98352313f, -3.35805535f,  -3.7325871f,  -4.10711956f,
                               7.16277838f,  8.15781593f,   9.15285301f,  10.1478901f};

static t_case bn_case(int opset, int params_const) {
  t_case c = {.opset = opset, .op = "BatchNormalization", .n_in = 5,
              .in = {{CL_DTYPE_F32, 4, {2, 3, 2, 2}, BN_X, 0, 0},
                     {CL_DTYPE_F32, 1, {3}, BN_S, params_const, 0},
                     {CL_DTYPE_F32, 1, {3}, BN_B, params_const, 0},
                     {CL_DTYPE_F32, 1, {3}, BN_M, params_const, 0},
                     {CL_DTYPE_F32, 1, {3}, BN_V, params_const, 0}},
              .n_attr = 1, .attr = {{"epsilon", TA_FLOAT, 0, 0.01f}}};
  return c;
}

Test(batchnorm, matches_numpy_both_layouts) {
  static const int OPSETS[] = {7, 9, 14, 15};
  for (size_t i = 0; i < sizeof OPSETS / sizeof OPSETS[0]; i++)
    for (int pc = 0; pc <= 1; pc++) {
      t_case c = bn_case(OPSETS[i], pc);
      t_check_f32(&c, BN_Y, 2e-6f, 2e-6f);
    }
}

Test(batchnorm, rank2_and_fused_relu) {
  const float x[6] = {1, 2, 3, -1, -2, -3};
  const float want[6] = {0.100000001f, -2.79999638f,  4.69997501f,
                         -1.89995992f, 0.200000003f, -7.29996538f};
  t_case c = {.opset = 15, .op = "BatchNormalization", .n_in = 5,
              .in = {{CL_DTYPE_F32, 2, {2, 3}, x, 0, 0}, {CL_DTYPE_F32, 1, {3}, BN_S, 1, 0},
                     {CL_DTYPE_F32, 1, {3}, BN_B, 1, 0}, {CL_DTYPE_F32, 1, {3}, BN_M, 1, 0},
                     {CL_DTYPE_F32, 1, {3}, BN_V, 1, 0}}};
  t_check_f32(&c, want, 2e-6f, 2e-6f);
  float relu[6];
  for (int i = 0; i < 6; i++) relu[i] = want[i] > 0 ? want[i] : 0;
  c.act_min = 0;
  c.act_max = INFINITY;
  t_check_f32(&c, relu, 2e-6f, 2e-6f);
}

Test(batchnorm, large_channels_last) {
  const int64_t dims[4] = {1, 20, 40, 40};
  size_t n = t_numel(4, dims);
  float *x = malloc(n * sizeof *x), *want = malloc(n * sizeof *want);
  float s[20], b[20], m[20], v[20];
  t_fill(x, n, -3, 3, 11);
  t_fill(s, 20, -2, 2, 12);
  t_fill(b, 20, -1, 1, 13);
  t_fill(m, 20, -1, 1, 14);
  t_fill(v, 20, 0.1f, 3, 15);
  for (size_t i = 0; i < n; i++) {
    size_t ch = i / 1600;
    want[i] = (float)((x[i] - m[ch]) / sqrt((double)v[ch] + 1e-5) * s[ch] + b[ch]);
  }
  t_case c = {.opset = 9, .op = "BatchNormalization", .n_in = 5,
              .in = {{CL_DTYPE_F32, 4, {1, 20, 40, 40}, x, 0, 0}, {CL_DTYPE_F32, 1, {20}, s, 1, 0},
                     {CL_DTYPE_F32, 1, {20}, b, 1, 0}, {CL_DTYPE_F32, 1, {20}, m, 1, 0},
                     {CL_DTYPE_F32, 1, {20}, v, 0, 0}}};
  t_check_f32(&c, want, 1e-5f, 1e-5f);
  free(x);
  free(want);
}

Test(batchnorm, refuses_training_and_bad_shapes) {
  t_case c = bn_case(15, 1);
  c.attr[c.n_attr++] = (t_attr){"training_mode", TA_INT, 1, 0};
  cl_error err = {0};
  cr_assert_eq(t_status(&c, &err), CL_ERR_UNSUPPORTED);
  cr_assert(strstr(err.msg, "training_mode"), "%s", err.msg);
  t_case d = bn_case(9, 1);
  d.n_out = 3;
  cl_error err2 = {0};
  cr_assert_eq(t_status(&d, &err2), CL_ERR_UNSUPPORTED, "%s", err2.msg);
  t_case e = bn_case(7, 1);
  e.attr[e.n_attr++] = (t_attr){"spatial", TA_INT, 0, 0};
  cl_error err3 = {0};
  cr_assert_eq(t_status(&e, &err3), CL_ERR_UNSUPPORTED, "%s", err3.msg);
  t_case f = bn_case(15, 1);
  f.in[3].dims[0] = 2;
  cl_error err4 = {0};
  cr_assert_eq(t_status(&f, &err4), CL_ERR_SHAPE, "%s", err4.msg);
  cr_assert(strstr(err4.msg, "mean") && strstr(err4.msg, "[2]"), "%s", err4.msg);
}
