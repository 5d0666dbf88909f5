/* cleave: row kernels of the binary elementwise operators, one per op and dtype.
 *
 * Each row computes out[i] = in0[i*s0] op in1[i*s1]; the three common stride patterns (both
 * contiguous, second a scalar, first a scalar) get their own loops, which the compiler vectorises
 * for float32 (the output may be the first input: variadic ops accumulate in place, so no restrict).
 * Integers wrap on overflow (computed unsigned, never undefined); integer division truncates toward
 * zero as C does, and a division by zero gives 0 rather than a trap. Max and Min propagate NaN as
 * numpy does. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif
#include <math.h>
#include <string.h>

#include "exec/ew_internal.h"

/* === The row template === */

#define BIN_ROW(NAME, T, OT, EXPR)                                                                 \
  static void NAME(const ew_loop *l, void *out, const void *const *in, const int64_t *st,          \
                   size_t n) {                                                                     \
    const T *A = in[0], *B = in[1];                                                                \
    OT *o = out;                                                                                   \
    int64_t sa = st[0], sb = st[1];                                                                \
    (void)l;                                                                                       \
    if (sa == 1 && sb == 1) {                                                                      \
      for (size_t i = 0; i < n; i++) {                                                             \
        T x = A[i], y = B[i];                                                                      \
        o[i] = (OT)(EXPR);                                                                         \
      }                                                                                            \
    } else if (sa == 1 && sb == 0) {                                                               \
      const T y = B[0];                                                                            \
      for (size_t i = 0; i < n; i++) {                                                             \
        T x = A[i];                                                                                \
        o[i] = (OT)(EXPR);                                                                         \
      }                                                                                            \
    } else if (sa == 0 && sb == 1) {                                                               \
      const T x = A[0];                                                                            \
      for (size_t i = 0; i < n; i++) {                                                             \
        T y = B[i];                                                                                \
        o[i] = (OT)(EXPR);                                                                         \
      }                                                                                            \
    } else {                                                                                       \
      for (size_t i = 0; i < n; i++) {                                                             \
        T x = A[(int64_t)i * sa], y = B[(int64_t)i * sb];                                          \
        o[i] = (OT)(EXPR);                                                                         \
      }                                                                                            \
    }                                                                                              \
  }

/* === Arithmetic === */

#define FLOAT_SET(S, T)                                                                            \
  BIN_ROW(add_##S, T, T, x + y)                                                                    \
  BIN_ROW(sub_##S, T, T, x - y)                                                                    \
  BIN_ROW(mul_##S, T, T, x * y)                                                                    \
  BIN_ROW(div_##S, T, T, x / y)                                                                    \
  BIN_ROW(max_##S, T, T, (x != x || x > y) ? x : y)                                                \
  BIN_ROW(min_##S, T, T, (x != x || x < y) ? x : y)                                                \
  BIN_ROW(prelu_##S, T, T, x < 0 ? y * x : x)
FLOAT_SET(f32, float)
FLOAT_SET(f64, double)

/* UW: an unsigned type at least as wide as int, so that no operand is promoted to signed int. */
#define INT_SET(S, T, UW)                                                                          \
  BIN_ROW(add_##S, T, T, (UW)x + (UW)y)                                                            \
  BIN_ROW(sub_##S, T, T, (UW)x - (UW)y)                                                            \
  BIN_ROW(mul_##S, T, T, (UW)x * (UW)y)                                                            \
  BIN_ROW(max_##S, T, T, x > y ? x : y)                                                            \
  BIN_ROW(min_##S, T, T, x < y ? x : y)
#define SIGNED_SET(S, T, UW)                                                                       \
  INT_SET(S, T, UW)                                                                                \
  BIN_ROW(div_##S, T, T, y == 0 ? (T)0 : y == -1 ? (T)(0 - (UW)x) : (T)(x / y))                     \
  BIN_ROW(prelu_##S, T, T, x < 0 ? (T)((UW)y * (UW)x) : x)
#define UNSIGNED_SET(S, T, UW)                                                                     \
  INT_SET(S, T, UW)                                                                                \
  BIN_ROW(div_##S, T, T, y == 0 ? (T)0 : (T)(x / y))
SIGNED_SET(i8, int8_t, uint32_t)
SIGNED_SET(i16, int16_t, uint32_t)
SIGNED_SET(i32, int32_t, uint32_t)
SIGNED_SET(i64, int64_t, uint64_t)
UNSIGNED_SET(u8, uint8_t, uint32_t)
UNSIGNED_SET(u16, uint16_t, uint32_t)
UNSIGNED_SET(u32, uint32_t, uint32_t)
UNSIGNED_SET(u64, uint64_t, uint64_t)

/* Max and Min of float16 / bfloat16: compared as floats, the chosen input's bits copied. */
#define HALF_SET(S, DEC)                                                                           \
  BIN_ROW(max_##S, uint16_t, uint16_t, (DEC(x) != DEC(x) || DEC(x) > DEC(y)) ? x : y)              \
  BIN_ROW(min_##S, uint16_t, uint16_t, (DEC(x) != DEC(x) || DEC(x) < DEC(y)) ? x : y)
HALF_SET(f16, ew_f16_to_f32)
HALF_SET(bf16, ew_bf16_to_f32)

/* === Comparisons (bool out) and logic === */

#define CMP_SET(S, T)                                                                              \
  BIN_ROW(eq_##S, T, uint8_t, x == y)                                                              \
  BIN_ROW(lt_##S, T, uint8_t, x < y)                                                               \
  BIN_ROW(gt_##S, T, uint8_t, x > y)                                                               \
  BIN_ROW(le_##S, T, uint8_t, x <= y)                                                              \
  BIN_ROW(ge_##S, T, uint8_t, x >= y)
CMP_SET(f32, float)
CMP_SET(f64, double)
CMP_SET(i8, int8_t)
CMP_SET(i16, int16_t)
CMP_SET(i32, int32_t)
CMP_SET(i64, int64_t)
CMP_SET(u8, uint8_t)
CMP_SET(u16, uint16_t)
CMP_SET(u32, uint32_t)
CMP_SET(u64, uint64_t)
BIN_ROW(eq_bool, uint8_t, uint8_t, (x != 0) == (y != 0))
BIN_ROW(and_bool, uint8_t, uint8_t, (x != 0) & (y != 0))
BIN_ROW(or_bool, uint8_t, uint8_t, (x != 0) | (y != 0))
BIN_ROW(xor_bool, uint8_t, uint8_t, (x != 0) ^ (y != 0))

/* === Lookup === */

#define ARITH_CASE(S)                                                                              \
  switch (op) {                                                                                    \
  case EW_ADD: return add_##S;                                                                     \
  case EW_SUB: return sub_##S;                                                                     \
  case EW_MUL: return mul_##S;                                                                     \
  case EW_DIV: return div_##S;                                                                     \
  case EW_MAX: return max_##S;                                                                     \
  case EW_MIN: return min_##S;                                                                     \
  case EW_EQ: return eq_##S;                                                                       \
  case EW_LT: return lt_##S;                                                                       \
  case EW_GT: return gt_##S;                                                                       \
  case EW_LE: return le_##S;                                                                       \
  case EW_GE: return ge_##S;                                                                       \
  default: break;                                                                                  \
  }                                                                                                \
  break;
#define SIGNED_CASE(S)                                                                             \
  if (op == EW_PRELU) return prelu_##S;                                                            \
  ARITH_CASE(S)

ew_row_fn ew_binary_row(ew_bin_op op, cl_dtype t) {
  switch (t) {
  case CL_DTYPE_F32: SIGNED_CASE(f32)
  case CL_DTYPE_F64: SIGNED_CASE(f64)
  case CL_DTYPE_I8: SIGNED_CASE(i8)
  case CL_DTYPE_I16: SIGNED_CASE(i16)
  case CL_DTYPE_I32: SIGNED_CASE(i32)
  case CL_DTYPE_I64: SIGNED_CASE(i64)
  case CL_DTYPE_U8: ARITH_CASE(u8)
  case CL_DTYPE_U16: ARITH_CASE(u16)
  case CL_DTYPE_U32: ARITH_CASE(u32)
  case CL_DTYPE_U64: ARITH_CASE(u64)
  case CL_DTYPE_F16: return op == EW_MAX ? max_f16 : op == EW_MIN ? min_f16 : NULL;
  case CL_DTYPE_BF16: return op == EW_MAX ? max_bf16 : op == EW_MIN ? min_bf16 : NULL;
  case CL_DTYPE_BOOL:
    switch (op) {
    case EW_EQ: return eq_bool;
    case EW_AND: return and_bool;
    case EW_OR: return or_bool;
    case EW_XOR: return xor_bool;
    default: return NULL;
    }
  default: break;
  }
  /* PRelu of unsigned values is the identity */
  if (op == EW_PRELU && ew_dtype_is_int(t)) return ew_copy_row(cl_dtype_size(t));
  return NULL;
}

/* === Pow === */

/* Integer power by squaring, wrapping like the other integer ops; a negative exponent truncates
 * 1 / x^-e toward zero (so only 1 and -1 give a non-zero result). */
static int64_t ipow(int64_t x, int64_t e) {
  if (e < 0) return x == 1 ? 1 : x == -1 ? ((e & 1) ? -1 : 1) : 0;
  uint64_t r = 1, b = (uint64_t)x;
  for (uint64_t k = (uint64_t)e; k; k >>= 1) {
    if (k & 1) r *= b;
    b *= b;
  }
  return (int64_t)r;
}

/* double -> int64 truncating toward zero, saturating (NaN gives 0): never undefined. */
static int64_t f64_to_i64(double d) {
  if (d != d) return 0;
  if (d >= 9223372036854775808.0) return INT64_MAX;
  if (d <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)d;
}

/* mixed-type rows: the template's x and y are both TB, so these are written out */
#define POW_MIXED(NAME, TB, TE, EXPR)                                                              \
  static void NAME(const ew_loop *l, void *out, const void *const *in, const int64_t *st,          \
                   size_t n) {                                                                     \
    const TB *A = in[0];                                                                           \
    const TE *B = in[1];                                                                           \
    TB *o = out;                                                                                   \
    (void)l;                                                                                       \
    for (size_t i = 0; i < n; i++) {                                                               \
      TB x = A[(int64_t)i * st[0]];                                                                \
      TE y = B[(int64_t)i * st[1]];                                                                \
      o[i] = (TB)(EXPR);                                                                           \
    }                                                                                              \
  }
/* F: float exponent, D: double exponent, I: signed exponent, U: unsigned exponent */
#define POW_BASE_SET(S, TB, F, D, I, U)                                                            \
  POW_MIXED(pow_##S##_f32, TB, float, F)                                                           \
  POW_MIXED(pow_##S##_f64, TB, double, D)                                                          \
  POW_MIXED(pow_##S##_i8, TB, int8_t, I)                                                           \
  POW_MIXED(pow_##S##_i16, TB, int16_t, I)                                                         \
  POW_MIXED(pow_##S##_i32, TB, int32_t, I)                                                         \
  POW_MIXED(pow_##S##_i64, TB, int64_t, I)                                                         \
  POW_MIXED(pow_##S##_u8, TB, uint8_t, U)                                                          \
  POW_MIXED(pow_##S##_u16, TB, uint16_t, U)                                                        \
  POW_MIXED(pow_##S##_u32, TB, uint32_t, U)                                                        \
  POW_MIXED(pow_##S##_u64, TB, uint64_t, U)

/* an unsigned exponent as int64 (beyond INT64_MAX it saturates: the same result for |x| <= 1) */
static inline int64_t exp_u(uint64_t y) { return y > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)y; }

#define POW_DBL pow((double)x, (double)y)
POW_BASE_SET(f32, float, powf(x, y), POW_DBL, POW_DBL, POW_DBL)
POW_BASE_SET(f64, double, POW_DBL, POW_DBL, POW_DBL, POW_DBL)
#define POW_F2I f64_to_i64(POW_DBL)
POW_BASE_SET(i32, int32_t, POW_F2I, POW_F2I, ipow(x, (int64_t)y), ipow(x, exp_u(y)))
POW_BASE_SET(i64, int64_t, POW_F2I, POW_F2I, ipow(x, (int64_t)y), ipow(x, exp_u(y)))

#define POW_EXP_CASE(S)                                                                            \
  switch (te) {                                                                                    \
  case CL_DTYPE_F32: return pow_##S##_f32;                                                         \
  case CL_DTYPE_F64: return pow_##S##_f64;                                                         \
  case CL_DTYPE_I8: return pow_##S##_i8;                                                           \
  case CL_DTYPE_I16: return pow_##S##_i16;                                                         \
  case CL_DTYPE_I32: return pow_##S##_i32;                                                         \
  case CL_DTYPE_I64: return pow_##S##_i64;                                                         \
  case CL_DTYPE_U8: return pow_##S##_u8;                                                           \
  case CL_DTYPE_U16: return pow_##S##_u16;                                                         \
  case CL_DTYPE_U32: return pow_##S##_u32;                                                         \
  case CL_DTYPE_U64: return pow_##S##_u64;                                                         \
  default: return NULL;                                                                            \
  }

ew_row_fn ew_pow_row(cl_dtype tb, cl_dtype te) {
  switch (tb) {
  case CL_DTYPE_F32: POW_EXP_CASE(f32)
  case CL_DTYPE_F64: POW_EXP_CASE(f64)
  case CL_DTYPE_I32: POW_EXP_CASE(i32)
  case CL_DTYPE_I64: POW_EXP_CASE(i64)
  default: return NULL;
  }
}

/* float32 x ** constant 2 and 0.5, the common cases (exact: powf rounds x*x and sqrt the same). */
static void pow_f32_square(const ew_loop *l, void *out, const void *const *in, const int64_t *st,
                           size_t n) {
  const float *x = in[0];
  float *o = out;
  (void)l;
  if (st[0] == 1)
    for (size_t i = 0; i < n; i++) o[i] = x[i] * x[i];
  else
    for (size_t i = 0; i < n; i++) o[i] = x[(int64_t)i * st[0]] * x[(int64_t)i * st[0]];
}

static void pow_f32_sqrt(const ew_loop *l, void *out, const void *const *in, const int64_t *st,
                         size_t n) {
  const float *x = in[0];
  float *o = out;
  (void)l;
  for (size_t i = 0; i < n; i++) { /* pow(-0, .5) = +0 and pow(-inf, .5) = +inf, unlike sqrt */
    float v = x[(int64_t)i * st[0]];
    o[i] = v == -INFINITY ? INFINITY : sqrtf(v) + 0.0f;
  }
}

ew_row_fn ew_pow_f32_const_row(double e) {
  if (e == 2.0) return pow_f32_square;
  if (e == 0.5) return pow_f32_sqrt;
  return NULL;
}

/* === Copy and scale === */

#define COPY_ROW(NAME, T)                                                                          \
  static void NAME(const ew_loop *l, void *out, const void *const *in, const int64_t *st,          \
                   size_t n) {                                                                     \
    const T *x = in[0];                                                                            \
    T *o = out;                                                                                    \
    (void)l;                                                                                       \
    if (st[0] == 1) {                                                                              \
      if ((const void *)o != (const void *)x) memcpy(o, x, n * sizeof(T));                         \
    } else {                                                                                       \
      for (size_t i = 0; i < n; i++) o[i] = x[(int64_t)i * st[0]];                                 \
    }                                                                                              \
  }
COPY_ROW(copy_1, uint8_t)
COPY_ROW(copy_2, uint16_t)
COPY_ROW(copy_4, uint32_t)
COPY_ROW(copy_8, uint64_t)

ew_row_fn ew_copy_row(size_t esize) {
  switch (esize) {
  case 1: return copy_1;
  case 2: return copy_2;
  case 4: return copy_4;
  case 8: return copy_8;
  default: return NULL;
  }
}

#define SCALE_ROW(NAME, T)                                                                         \
  static void NAME(const ew_loop *l, void *out, const void *const *in, const int64_t *st,          \
                   size_t n) {                                                                     \
    const T *x = in[0];                                                                            \
    T *o = out;                                                                                    \
    const T d = (T)l->p[0].f64;                                                                    \
    for (size_t i = 0; i < n; i++) o[i] = x[(int64_t)i * st[0]] / d;                               \
  }
SCALE_ROW(scale_f32, float)
SCALE_ROW(scale_f64, double)

ew_row_fn ew_scale_row(cl_dtype t) {
  return t == CL_DTYPE_F32 ? scale_f32 : t == CL_DTYPE_F64 ? scale_f64 : NULL;
}
