/* cleave: Cast (6, 9, 13) and CastLike (15) between every numeric dtype and bool, and the float16 /
 * bfloat16 conversions the group shares.
 *
 * Conversions: float -> integer truncates toward zero and saturates at the int64 (uint64) range, NaN
 * giving 0, then narrows by wrapping (ONNX leaves out-of-range values undefined; this is defined and
 * never traps); integer -> integer wraps; anything -> bool is x != 0; to float16 and bfloat16 rounds
 * to nearest even with overflow to infinity and NaN kept NaN (double is first rounded to odd float,
 * so the result is correctly rounded). Strings are refused. A cast to the input's own dtype in the
 * same layout is a view (no copy); float32 <-> float16 on large contiguous tensors runs on XNNPACK. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "exec/ew_internal.h"

#define CAST_XNN_MIN 1024 /* below this many elements the loop beats XNNPACK's call overhead */

/* === float16 and bfloat16 === */

static inline uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static inline float bits_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

float ew_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1f) return bits_f32(sign | 0x7f800000u | (m << 13)); /* inf, NaN */
  if (e == 0) { /* zero, subnormal: m * 2^-24, exact */
    float v = (float)m * 0x1p-24f;
    return sign ? -v : v;
  }
  return bits_f32(sign | ((e + 112) << 23) | (m << 13));
}

/* After F. Giesen's float_to_half_fast3_rtne: rounding by the FPU (nearest even) for subnormals,
 * by adding half an ulp minus one plus the odd bit for normals. */
uint16_t ew_f32_to_f16(float f) {
  uint32_t u = f32_bits(f), sign = (u >> 16) & 0x8000u;
  u &= 0x7fffffffu;
  uint32_t o;
  if (u >= 0x47800000u) { /* >= 65536, inf or NaN (quiet, top payload bits kept) */
    o = u > 0x7f800000u ? 0x7e00u | ((u >> 13) & 0x3ffu) : 0x7c00u;
  } else if (u < 0x38800000u) { /* below 2^-14: adding 0.5 aligns the ulp to 2^-24 */
    o = f32_bits(bits_f32(u) + 0.5f) - 0x3f000000u;
  } else {
    u += 0xc8000fffu + ((u >> 13) & 1u); /* exponent rebias (-112 << 23) and rounding */
    o = u >> 13;                         /* mantissa overflow carries into inf: correct */
  }
  return (uint16_t)(o | sign);
}

float ew_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t ew_f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

float ew_f64_to_f32_odd(double d) {
  float f = (float)d;
  if ((double)f == d || d != d) return f;
  uint32_t u = f32_bits(f);
  if (fabs((double)f) > fabs(d)) u -= 1; /* rounded away from zero: back toward it */
  return bits_f32(u | 1u);               /* the sticky bit */
}

/* === Scalar conversions === */

static inline int64_t f_to_i64(double d) {
  if (d != d) return 0;
  if (d >= 9223372036854775808.0) return INT64_MAX;
  if (d <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)d;
}

static inline uint64_t f_to_u64(double d) {
  if (d != d) return 0;
  if (d >= 18446744073709551616.0) return UINT64_MAX;
  if (d >= 0) return (uint64_t)d;
  return (uint64_t)f_to_i64(d); /* negative: wraps like the narrower types */
}

/* Per source type: LD (the value as double, int64 or uint64), TOI (as int64), TOU (as uint64). */
#define LD_f32(v) ((double)(v))
#define LD_f64(v) (v)
#define LD_f16(v) ((double)ew_f16_to_f32(v))
#define LD_bf16(v) ((double)ew_bf16_to_f32(v))
#define LD_i8(v) ((int64_t)(v))
#define LD_i16(v) ((int64_t)(v))
#define LD_i32(v) ((int64_t)(v))
#define LD_i64(v) ((int64_t)(v))
#define LD_u8(v) ((uint64_t)(v))
#define LD_u16(v) ((uint64_t)(v))
#define LD_u32(v) ((uint64_t)(v))
#define LD_u64(v) ((uint64_t)(v))
#define LD_b8(v) ((uint64_t)((v) != 0))
#define FLOAT_TOI(S, v) f_to_i64(LD_##S(v))
#define FLOAT_TOU(S, v) f_to_u64(LD_##S(v))
#define INT_TOI(S, v) ((int64_t)LD_##S(v))
#define INT_TOU(S, v) ((uint64_t)LD_##S(v))

#define CAST_ROW(NAME, TS, TD, EXPR)                                                               \
  static void NAME(const ew_loop *l, void *out, const void *const *in, const int64_t *st,          \
                   size_t n) {                                                                     \
    const TS *x = in[0];                                                                           \
    TD *o = out;                                                                                   \
    (void)l;                                                                                       \
    if (st[0] == 1)                                                                                \
      for (size_t i = 0; i < n; i++) {                                                             \
        TS v = x[i];                                                                               \
        o[i] = (TD)(EXPR);                                                                         \
      }                                                                                            \
    else                                                                                           \
      for (size_t i = 0; i < n; i++) {                                                             \
        TS v = x[(int64_t)i * st[0]];                                                              \
        o[i] = (TD)(EXPR);                                                                         \
      }                                                                                            \
  }

/* All 13 destinations of source S (type TS, class C: FLOAT or INT). */
#define CAST_FROM(S, TS, C)                                                                        \
  CAST_ROW(cast_##S##_f32, TS, float, (float)LD_##S(v))                                            \
  CAST_ROW(cast_##S##_f64, TS, double, (double)LD_##S(v))                                          \
  CAST_ROW(cast_##S##_f16, TS, uint16_t, ew_f32_to_f16(ew_f64_to_f32_odd((double)LD_##S(v))))      \
  CAST_ROW(cast_##S##_bf16, TS, uint16_t, ew_f32_to_bf16(ew_f64_to_f32_odd((double)LD_##S(v))))    \
  CAST_ROW(cast_##S##_i8, TS, int8_t, C##_TOI(S, v))                                               \
  CAST_ROW(cast_##S##_i16, TS, int16_t, C##_TOI(S, v))                                             \
  CAST_ROW(cast_##S##_i32, TS, int32_t, C##_TOI(S, v))                                             \
  CAST_ROW(cast_##S##_i64, TS, int64_t, C##_TOI(S, v))                                             \
  CAST_ROW(cast_##S##_u8, TS, uint8_t, C##_TOI(S, v))                                              \
  CAST_ROW(cast_##S##_u16, TS, uint16_t, C##_TOI(S, v))                                            \
  CAST_ROW(cast_##S##_u32, TS, uint32_t, C##_TOI(S, v))                                            \
  CAST_ROW(cast_##S##_u64, TS, uint64_t, C##_TOU(S, v))                                            \
  CAST_ROW(cast_##S##_b8, TS, uint8_t, LD_##S(v) != 0)                                           \
  static const ew_row_fn from_##S[] = {                                                            \
      cast_##S##_f32, cast_##S##_f64, cast_##S##_f16, cast_##S##_bf16, cast_##S##_i8,              \
      cast_##S##_i16, cast_##S##_i32, cast_##S##_i64, cast_##S##_u8,   cast_##S##_u16,             \
      cast_##S##_u32, cast_##S##_u64, cast_##S##_b8};
CAST_FROM(f32, float, FLOAT)
CAST_FROM(f64, double, FLOAT)
CAST_FROM(f16, uint16_t, FLOAT)
CAST_FROM(bf16, uint16_t, FLOAT)
CAST_FROM(i8, int8_t, INT)
CAST_FROM(i16, int16_t, INT)
CAST_FROM(i32, int32_t, INT)
CAST_FROM(i64, int64_t, INT)
CAST_FROM(u8, uint8_t, INT)
CAST_FROM(u16, uint16_t, INT)
CAST_FROM(u32, uint32_t, INT)
CAST_FROM(u64, uint64_t, INT)
CAST_FROM(b8, uint8_t, INT)

/* Index of t in the tables above (the order of CAST_FROM's destinations), or -1. */
static int type_index(cl_dtype t) {
  static const cl_dtype order[] = {CL_DTYPE_F32, CL_DTYPE_F64, CL_DTYPE_F16, CL_DTYPE_BF16,
                                   CL_DTYPE_I8,  CL_DTYPE_I16, CL_DTYPE_I32, CL_DTYPE_I64,
                                   CL_DTYPE_U8,  CL_DTYPE_U16, CL_DTYPE_U32, CL_DTYPE_U64,
                                   CL_DTYPE_BOOL};
  for (int i = 0; i < (int)(sizeof order / sizeof order[0]); i++)
    if (order[i] == t) return i;
  return -1;
}

static ew_row_fn cast_row(cl_dtype from, cl_dtype to) {
  static const ew_row_fn *const table[] = {from_f32, from_f64, from_f16, from_bf16, from_i8,
                                           from_i16, from_i32, from_i64, from_u8,   from_u16,
                                           from_u32, from_u64, from_b8};
  int a = type_index(from), b = type_index(to);
  if (a < 0 || b < 0) return NULL;
  if (a == b) return ew_copy_row(cl_dtype_size(from));
  return table[a][b];
}

/* === Parse and infer === */

typedef struct cast_params {
  cl_dtype to; /* Cast: from the attribute; CastLike: UNDEFINED until infer reads input 1 */
} cast_params;

cl_status ew_cast_parse(cl_graph *g, cl_node *n, cl_error *err) {
  cast_params *p = ew_params_alloc(n, sizeof *p, err);
  if (!p) return CL_ERR_NOMEM;
  if (strcmp(n->op_type, "CastLike") == 0) return CL_OK;
  const cl_attr *a = cl_node_attr(n, "to");
  if (!a || a->type != CL_ATTR_INT)
    return cl_node_error(err, n, CL_ERR_FORMAT, "attribute 'to' is missing or not an integer");
  if (a->i == CL_DTYPE_STRING)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "cast to string is not supported");
  if (a->i < 0 || a->i > 64 || type_index((cl_dtype)a->i) < 0)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "cast to type %lld is not supported",
                         (long long)a->i);
  p->to = (cl_dtype)a->i;
  return CL_OK;
}

cl_status ew_cast_infer(cl_graph *g, cl_node *n, cl_error *err) {
  cast_params *p = n->params;
  const cl_value *x;
  cl_status s = ew_need_input(g, n, 0, &x, err);
  if (s != CL_OK) return s;
  if (strcmp(n->op_type, "CastLike") == 0) {
    const cl_value *like;
    s = ew_need_input(g, n, 1, &like, err);
    if (s != CL_OK) return s;
    if (type_index(like->dtype) < 0)
      return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "cast to %s is not supported",
                           cl_dtype_name(like->dtype));
    p->to = like->dtype;
  }
  if (type_index(x->dtype) < 0)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "cast from %s is not supported",
                         cl_dtype_name(x->dtype));
  s = ew_no_extra_outputs(n, 1, err);
  return s == CL_OK ? ew_infer_like(g, n, x, p->to, err) : s;
}

int ew_cast_is_view(const cl_graph *g, const cl_node *n) {
  const cast_params *p = n->params;
  const cl_value *x = cl_node_input(g, n, 0), *y = cl_node_output(g, n, 0);
  return p && x && y && x->dtype == p->to && x->layout == y->layout;
}

/* === Prepare and run === */

cl_status ew_cast_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                          cl_error *err) {
  const cast_params *p = n->params;
  ew_state *s = ew_state_new(n, 1, err);
  if (!s) return CL_ERR_NOMEM;
  *state = s;
  ew_loop *l = &s->loops[0];
  cl_dtype from = g->values[n->in[0]].dtype;
  ew_loop_bind(l, g, n->out[0], n->in, 1, k);
  l->row = cast_row(from, p->to);
  int f32_f16 = from == CL_DTYPE_F32 && p->to == CL_DTYPE_F16;
  int f16_f32 = from == CL_DTYPE_F16 && p->to == CL_DTYPE_F32;
  if (!(f32_f16 || f16_f32) || !ew_walk_contiguous(&l->walk, 0) || l->walk.numel < CAST_XNN_MIN)
    return CL_OK;
  xnn_operator_t op = NULL;
  enum xnn_status xs;
  size_t m = l->walk.numel;
  if (f32_f16) {
    xs = xnn_create_convert_nc_f32_f16(1, 1, 1, 0, &op);
    if (xs == xnn_status_success) xs = xnn_setup_convert_nc_f32_f16(op, m, l->in[0], l->out, k->pool);
  } else {
    xs = xnn_create_convert_nc_f16_f32(1, 1, 1, 0, &op);
    if (xs == xnn_status_success) xs = xnn_setup_convert_nc_f16_f32(op, m, l->in[0], l->out, k->pool);
  }
  s->xop = op;
  return xs == xnn_status_success ? CL_OK : cl_xnn_error(err, n, "convert", xs);
}

cl_status ew_cast_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  const ew_state *s = state;
  if (s->xop) return xnn_run_operator(s->xop, k->pool) == xnn_status_success ? CL_OK : CL_ERR_BACKEND;
  ew_loop_run(&s->loops[0], k->pool);
  return CL_OK;
}
