/* cleave: unary float operators and activations: Sigmoid, Tanh, Sqrt, Exp, Log, Neg, Abs,
 * Reciprocal, Floor, Ceil, Erf, Softplus, Elu, Selu, LeakyRelu, HardSigmoid, HardSwish.
 *
 * float32 and double; Abs and Neg also on integers (wrapping, as two's complement does). float32
 * tensors that are contiguous and large run on XNNPACK where it has the op (Sigmoid, Sqrt, Neg, Abs,
 * Floor, Ceil, Elu, LeakyRelu, HardSwish); everything else on the loops below, split over the pool.
 * No attribute changed meaning between opsets 6 and 18 (versions 13/14/16 only added types). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "exec/ew_internal.h"

#define UNARY_XNN_MIN 1024 /* below this many elements the loop beats XNNPACK's call overhead */
#define GATHER 256         /* strided inputs are gathered this many elements at a time */

typedef enum un_kind {
  U_SIGMOID, U_TANH, U_SQRT, U_EXP, U_LOG, U_NEG, U_ABS, U_RECIP, U_FLOOR, U_CEIL, U_ERF,
  U_SOFTPLUS, U_ELU, U_SELU, U_LEAKY, U_HSIGMOID, U_HSWISH,
} un_kind;

static const struct {
  const char *name;
  un_kind kind;
  int heavy;  /* calls libm per element: smaller parallel tasks */
} KINDS[] = {
    {"Sigmoid", U_SIGMOID, 1}, {"Tanh", U_TANH, 1},      {"Sqrt", U_SQRT, 0},
    {"Exp", U_EXP, 1},         {"Log", U_LOG, 1},        {"Neg", U_NEG, 0},
    {"Abs", U_ABS, 0},         {"Reciprocal", U_RECIP, 0}, {"Floor", U_FLOOR, 0},
    {"Ceil", U_CEIL, 0},       {"Erf", U_ERF, 1},        {"Softplus", U_SOFTPLUS, 1},
    {"Elu", U_ELU, 1},         {"Selu", U_SELU, 1},      {"LeakyRelu", U_LEAKY, 0},
    {"HardSigmoid", U_HSIGMOID, 0}, {"HardSwish", U_HSWISH, 0},
};

typedef struct un_params {
  un_kind kind;
  int heavy;
  float alpha, beta, gamma; /* Elu, Selu, LeakyRelu, HardSigmoid */
} un_params;

/* === Float kernels on contiguous runs: p[0..2] = alpha, beta, gamma === */

#define UNARY_KERNEL(NAME, T, F)                                                                   \
  static void NAME(un_kind kind, const ew_scalar *p, T *y, const T *x, size_t n) {                 \
    const T a = (T)p[0].f64, b = (T)p[1].f64, c = (T)p[2].f64;                                     \
    switch (kind) {                                                                                \
    case U_SIGMOID: for (size_t i = 0; i < n; i++) y[i] = 1 / (1 + exp##F(-x[i])); break;          \
    case U_TANH: for (size_t i = 0; i < n; i++) y[i] = tanh##F(x[i]); break;                       \
    case U_SQRT: for (size_t i = 0; i < n; i++) y[i] = sqrt##F(x[i]); break;                       \
    case U_EXP: for (size_t i = 0; i < n; i++) y[i] = exp##F(x[i]); break;                         \
    case U_LOG: for (size_t i = 0; i < n; i++) y[i] = log##F(x[i]); break;                         \
    case U_NEG: for (size_t i = 0; i < n; i++) y[i] = -x[i]; break;                                \
    case U_ABS: for (size_t i = 0; i < n; i++) y[i] = fabs##F(x[i]); break;                        \
    case U_RECIP: for (size_t i = 0; i < n; i++) y[i] = 1 / x[i]; break;                           \
    case U_FLOOR: for (size_t i = 0; i < n; i++) y[i] = floor##F(x[i]); break;                     \
    case U_CEIL: for (size_t i = 0; i < n; i++) y[i] = ceil##F(x[i]); break;                       \
    case U_ERF: for (size_t i = 0; i < n; i++) y[i] = erf##F(x[i]); break;                         \
    case U_SOFTPLUS: /* log(exp(x) + 1) without overflow */                                        \
      for (size_t i = 0; i < n; i++) {                                                             \
        T v = x[i];                                                                                \
        y[i] = v > 0 ? v + log1p##F(exp##F(-v)) : log1p##F(exp##F(v));                             \
      }                                                                                            \
      break;                                                                                       \
    case U_ELU: for (size_t i = 0; i < n; i++) y[i] = x[i] < 0 ? a * expm1##F(x[i]) : x[i]; break; \
    case U_SELU:                                                                                   \
      for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? c * x[i] : c * (a * exp##F(x[i]) - a);      \
      break;                                                                                       \
    case U_LEAKY: for (size_t i = 0; i < n; i++) y[i] = x[i] < 0 ? a * x[i] : x[i]; break;         \
    case U_HSIGMOID:                                                                               \
      for (size_t i = 0; i < n; i++) {                                                             \
        T v = a * x[i] + b; /* NaN stays NaN, as in ew_affine_clamp_f32 */                        \
        v = 0 > v ? 0 : v;                                                                         \
        y[i] = 1 < v ? 1 : v;                                                                      \
      }                                                                                            \
      break;                                                                                       \
    case U_HSWISH:                                                                                 \
      for (size_t i = 0; i < n; i++) {                                                             \
        T v = x[i] * (T)(1.0 / 6.0) + (T)0.5;                                                      \
        v = 0 > v ? 0 : v;                                                                         \
        y[i] = x[i] * (1 < v ? 1 : v);                                                             \
      }                                                                                            \
      break;                                                                                       \
    }                                                                                              \
  }
UNARY_KERNEL(kernel_f32, float, f)
UNARY_KERNEL(kernel_f64, double, )

/* float32 HardSigmoid is a hot path of MobileNetV3-like models: the SSE clamp. */
static void kernel_f32_fast(un_kind kind, const ew_scalar *p, float *y, const float *x, size_t n) {
  if (kind == U_HSIGMOID) ew_affine_clamp_f32(y, x, n, (float)p[0].f64, (float)p[1].f64, 0.0f, 1.0f);
  else kernel_f32(kind, p, y, x, n);
}

/* Row functions: contiguous inputs go straight to the kernel; strided ones are gathered first. */
#define UNARY_ROW(NAME, T, KERNEL)                                                                 \
  static void NAME(const ew_loop *l, void *out, const void *const *in, const int64_t *st,          \
                   size_t n) {                                                                     \
    const T *x = in[0];                                                                            \
    T *y = out;                                                                                    \
    if (st[0] == 1) {                                                                              \
      KERNEL((un_kind)l->kind, l->p, y, x, n);                                                     \
      return;                                                                                      \
    }                                                                                              \
    T tmp[GATHER];                                                                                 \
    for (size_t i = 0; i < n; i += GATHER) {                                                       \
      size_t m = n - i < GATHER ? n - i : GATHER;                                                  \
      for (size_t j = 0; j < m; j++) tmp[j] = x[(int64_t)(i + j) * st[0]];                         \
      KERNEL((un_kind)l->kind, l->p, y + i, tmp, m);                                               \
    }                                                                                              \
  }
UNARY_ROW(row_f32, float, kernel_f32_fast)
UNARY_ROW(row_f64, double, kernel_f64)

/* === Integer Abs and Neg (two's complement wrap: Neg(INT_MIN) is INT_MIN) === */

#define INT_ROW(NAME, T, U)                                                                        \
  static void NAME(const ew_loop *l, void *out, const void *const *in, const int64_t *st,          \
                   size_t n) {                                                                     \
    const T *x = in[0];                                                                            \
    T *y = out;                                                                                    \
    int neg = l->kind == U_NEG;                                                                    \
    for (size_t i = 0; i < n; i++) {                                                               \
      T v = x[(int64_t)i * st[0]];                                                                 \
      y[i] = (neg || v < 0) ? (T)(0 - (U)v) : v;                                                   \
    }                                                                                              \
  }
INT_ROW(row_i8, int8_t, uint8_t)
INT_ROW(row_i16, int16_t, uint16_t)
INT_ROW(row_i32, int32_t, uint32_t)
INT_ROW(row_i64, int64_t, uint64_t)

static ew_row_fn unary_row(un_kind kind, cl_dtype t) {
  if (t == CL_DTYPE_F32) return row_f32;
  if (t == CL_DTYPE_F64) return row_f64;
  if (kind == U_ABS && ew_dtype_is_int(t) && !ew_dtype_is_signed(t))
    return ew_copy_row(cl_dtype_size(t)); /* unsigned: the identity */
  if (kind != U_ABS && kind != U_NEG) return NULL;
  switch (t) {
  case CL_DTYPE_I8: return row_i8;
  case CL_DTYPE_I16: return row_i16;
  case CL_DTYPE_I32: return row_i32;
  case CL_DTYPE_I64: return row_i64;
  default: return NULL;
  }
}

/* === Parse and infer === */

cl_status ew_unary_parse(cl_graph *g, cl_node *n, cl_error *err) {
  un_params *p = ew_params_alloc(n, sizeof *p, err);
  if (!p) return CL_ERR_NOMEM;
  size_t i = 0;
  while (i < sizeof KINDS / sizeof KINDS[0] && strcmp(KINDS[i].name, n->op_type) != 0) i++;
  if (i == sizeof KINDS / sizeof KINDS[0])
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "not a unary operator");
  p->kind = KINDS[i].kind;
  p->heavy = KINDS[i].heavy;
  switch (p->kind) {
  case U_ELU: p->alpha = cl_node_attr_float(n, "alpha", 1.0f); break;
  case U_SELU:
    p->alpha = cl_node_attr_float(n, "alpha", 1.67326319217681884765625f);
    p->gamma = cl_node_attr_float(n, "gamma", 1.05070102214813232421875f);
    break;
  case U_LEAKY: p->alpha = cl_node_attr_float(n, "alpha", 0.01f); break;
  case U_HSIGMOID:
    p->alpha = cl_node_attr_float(n, "alpha", 0.2f);
    p->beta = cl_node_attr_float(n, "beta", 0.5f);
    break;
  default: break;
  }
  return CL_OK;
}

cl_status ew_unary_infer(cl_graph *g, cl_node *n, cl_error *err) {
  const un_params *p = n->params;
  const cl_value *x;
  cl_status s = ew_need_input(g, n, 0, &x, err);
  if (s != CL_OK) return s;
  if (!unary_row(p->kind, x->dtype))
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "input type %s is not supported",
                         cl_dtype_name(x->dtype));
  s = ew_no_extra_outputs(n, 1, err);
  return s == CL_OK ? ew_infer_broadcast(g, n, 0, x->dtype, err) : s;
}

/* === Prepare and run === */

/* Creates the XNNPACK operator for kind, or leaves *op NULL when XNNPACK has none (or refuses the
 * parameters, e.g. Elu's alpha <= 0): the loop then runs. Other failures are errors. */
static enum xnn_status create_xnn(const un_params *p, xnn_operator_t *op) {
  enum xnn_status s = xnn_status_success;
  *op = NULL;
  switch (p->kind) {
  case U_SIGMOID: s = xnn_create_sigmoid_nc_f32(1, 1, 1, 0, op); break;
  case U_SQRT: s = xnn_create_square_root_nc_f32(1, 1, 1, 0, op); break;
  case U_NEG: s = xnn_create_negate_nc_f32(1, 1, 1, 0, op); break;
  case U_ABS: s = xnn_create_abs_nc_f32(1, 1, 1, 0, op); break;
  case U_FLOOR: s = xnn_create_floor_nc_f32(1, 1, 1, 0, op); break;
  case U_CEIL: s = xnn_create_ceiling_nc_f32(1, 1, 1, 0, op); break;
  case U_ELU: s = xnn_create_elu_nc_f32(1, 1, 1, p->alpha, 0, op); break;
  case U_LEAKY: s = xnn_create_leaky_relu_nc_f32(1, 1, 1, p->alpha, 0, op); break;
  case U_HSWISH: s = xnn_create_hardswish_nc_f32(1, 1, 1, 0, op); break;
  default: break;
  }
  if (s == xnn_status_invalid_parameter) {
    *op = NULL;
    s = xnn_status_success;
  }
  return s;
}

static enum xnn_status setup_xnn(const un_params *p, xnn_operator_t op, size_t batch, const float *x,
                                 float *y, pthreadpool_t pool) {
  switch (p->kind) {
  case U_SIGMOID: return xnn_setup_sigmoid_nc_f32(op, batch, x, y, pool);
  case U_SQRT: return xnn_setup_square_root_nc_f32(op, batch, x, y, pool);
  case U_NEG: return xnn_setup_negate_nc_f32(op, batch, x, y, pool);
  case U_ABS: return xnn_setup_abs_nc_f32(op, batch, x, y, pool);
  case U_FLOOR: return xnn_setup_floor_nc_f32(op, batch, x, y, pool);
  case U_CEIL: return xnn_setup_ceiling_nc_f32(op, batch, x, y, pool);
  case U_ELU: return xnn_setup_elu_nc_f32(op, batch, x, y, pool);
  case U_LEAKY: return xnn_setup_leaky_relu_nc_f32(op, batch, x, y, pool);
  case U_HSWISH: return xnn_setup_hardswish_nc_f32(op, batch, x, y, pool);
  default: return xnn_status_unsupported_parameter;
  }
}

cl_status ew_unary_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                           cl_error *err) {
  const un_params *p = n->params;
  ew_state *s = ew_state_new(n, 1, err);
  if (!s) return CL_ERR_NOMEM;
  *state = s;
  ew_loop *l = &s->loops[0];
  ew_loop_bind(l, g, n->out[0], n->in, 1, k);
  cl_dtype t = g->values[n->in[0]].dtype;
  l->row = unary_row(p->kind, t);
  l->kind = (int)p->kind;
  l->p[0].f64 = p->alpha;
  l->p[1].f64 = p->beta;
  l->p[2].f64 = p->gamma;
  if (p->heavy) l->grain = EW_GRAIN_HEAVY;
  if (t != CL_DTYPE_F32 || !ew_walk_contiguous(&l->walk, 0) || l->walk.numel < UNARY_XNN_MIN)
    return CL_OK;
  xnn_operator_t op;
  enum xnn_status xs = create_xnn(p, &op);
  if (xs != xnn_status_success) return cl_xnn_error(err, n, "operator creation", xs);
  if (!op) return CL_OK;
  s->xop = op;
  xs = setup_xnn(p, op, l->walk.numel, l->in[0], l->out, k->pool);
  return xs == xnn_status_success ? CL_OK : cl_xnn_error(err, n, "setup", xs);
}

cl_status ew_unary_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  const ew_state *s = state;
  if (s->xop) return xnn_run_operator(s->xop, k->pool) == xnn_status_success ? CL_OK : CL_ERR_BACKEND;
  ew_loop_run(&s->loops[0], k->pool);
  return CL_OK;
}
