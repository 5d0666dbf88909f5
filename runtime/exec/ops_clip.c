/* cleave: Relu and Clip on every numeric dtype, and the float clamp kernels other files share.
 *
 * Relu (6, 13, 14) is Clip with bounds [0, +inf). Clip 6-10 takes its bounds from the attributes min
 * and max (defaults: the lowest and the largest float); Clip 11+ from the optional inputs 1 and 2
 * (absent: unbounded), which are read at load time when constant and at run time otherwise. float32
 * with constant bounds runs on XNNPACK's clamp when the tensor is contiguous and large enough;
 * everything else on the typed loops below. NaN inputs stay NaN on the loops (as numpy's clip); on
 * XNNPACK they give the lower bound. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "exec/ew_internal.h"

/* Below this many elements the plain loop beats XNNPACK's call overhead. */
#define CLIP_XNN_MIN 1024

typedef struct clip_params {
  int relu;          /* 1: Relu */
  int run_bound[2];  /* input index of a bound known only at run time, or -1 */
  int has[2];        /* 1: a constant bound (attribute or constant input) */
  double f[2];       /* constant bounds, float dtypes */
  int64_t i[2];      /* constant bounds, signed dtypes */
  uint64_t u[2];     /* constant bounds, unsigned dtypes */
} clip_params;

/* === Float clamp kernels (shared) === */

void ew_clamp_f32(float *y, const float *x, size_t n, float lo, float hi) {
  size_t i = 0;
#if defined(__SSE__)
  const __m128 vlo = _mm_set1_ps(lo), vhi = _mm_set1_ps(hi);
  for (; i + 8 <= n; i += 8) { /* maxps(lo, x) keeps x when x is NaN, as ew_maxf */
    __m128 a = _mm_loadu_ps(x + i), b = _mm_loadu_ps(x + i + 4);
    _mm_storeu_ps(y + i, _mm_min_ps(vhi, _mm_max_ps(vlo, a)));
    _mm_storeu_ps(y + i + 4, _mm_min_ps(vhi, _mm_max_ps(vlo, b)));
  }
#endif
  for (; i < n; i++) y[i] = ew_minf(hi, ew_maxf(lo, x[i]));
}

void ew_affine_clamp_f32(float *y, const float *x, size_t n, float a, float b, float lo, float hi) {
  size_t i = 0;
#if defined(__SSE__)
  const __m128 va = _mm_set1_ps(a), vb = _mm_set1_ps(b), vlo = _mm_set1_ps(lo), vhi = _mm_set1_ps(hi);
  for (; i + 8 <= n; i += 8) {
    __m128 u = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(x + i), va), vb);
    __m128 v = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(x + i + 4), va), vb);
    _mm_storeu_ps(y + i, _mm_min_ps(vhi, _mm_max_ps(vlo, u)));
    _mm_storeu_ps(y + i + 4, _mm_min_ps(vhi, _mm_max_ps(vlo, v)));
  }
#endif
  for (; i < n; i++) y[i] = ew_minf(hi, ew_maxf(lo, x[i] * a + b));
}

/* === Typed row kernels: p[0], p[1] hold the bounds (f64, i64 or u64 by dtype) === */

static void clamp_row_f32(const ew_loop *l, void *out, const void *const *in, const int64_t *st,
                          size_t n) {
  float lo = (float)l->p[0].f64, hi = (float)l->p[1].f64;
  const float *x = in[0];
  if (st[0] == 1) {
    ew_clamp_f32(out, x, n, lo, hi);
    return;
  }
  float *o = out;
  for (size_t i = 0; i < n; i++) o[i] = ew_minf(hi, ew_maxf(lo, x[(int64_t)i * st[0]]));
}

#define CLAMP_ROW(NAME, T, FIELD)                                                                \
  static void NAME(const ew_loop *l, void *out, const void *const *in, const int64_t *st,        \
                   size_t n) {                                                                   \
    const T lo = (T)l->p[0].FIELD, hi = (T)l->p[1].FIELD;                                        \
    const T *x = in[0];                                                                          \
    T *o = out;                                                                                  \
    int64_t s = st[0];                                                                           \
    if (s == 1)                                                                                  \
      for (size_t i = 0; i < n; i++) {                                                           \
        T v = lo > x[i] ? lo : x[i];                                                             \
        o[i] = hi < v ? hi : v;                                                                  \
      }                                                                                          \
    else                                                                                         \
      for (size_t i = 0; i < n; i++) {                                                           \
        T v = lo > x[(int64_t)i * s] ? lo : x[(int64_t)i * s];                                   \
        o[i] = hi < v ? hi : v;                                                                  \
      }                                                                                          \
  }
CLAMP_ROW(clamp_row_f64, double, f64)
CLAMP_ROW(clamp_row_i8, int8_t, i64)
CLAMP_ROW(clamp_row_i16, int16_t, i64)
CLAMP_ROW(clamp_row_i32, int32_t, i64)
CLAMP_ROW(clamp_row_i64, int64_t, i64)
CLAMP_ROW(clamp_row_u8, uint8_t, u64)
CLAMP_ROW(clamp_row_u16, uint16_t, u64)
CLAMP_ROW(clamp_row_u32, uint32_t, u64)
CLAMP_ROW(clamp_row_u64, uint64_t, u64)

static ew_row_fn clamp_row(cl_dtype t) {
  switch (t) {
  case CL_DTYPE_F32: return clamp_row_f32;
  case CL_DTYPE_F64: return clamp_row_f64;
  case CL_DTYPE_I8: return clamp_row_i8;
  case CL_DTYPE_I16: return clamp_row_i16;
  case CL_DTYPE_I32: return clamp_row_i32;
  case CL_DTYPE_I64: return clamp_row_i64;
  case CL_DTYPE_U8: return clamp_row_u8;
  case CL_DTYPE_U16: return clamp_row_u16;
  case CL_DTYPE_U32: return clamp_row_u32;
  case CL_DTYPE_U64: return clamp_row_u64;
  default: return NULL;
  }
}

/* The widest bounds of dtype t ("no bound"): the lower one (which 0) or the upper one (1). */
static ew_scalar no_bound(cl_dtype t, int which) {
  ew_scalar s = {0};
  switch (t) {
  case CL_DTYPE_I8: s.i64 = which ? INT8_MAX : INT8_MIN; break;
  case CL_DTYPE_I16: s.i64 = which ? INT16_MAX : INT16_MIN; break;
  case CL_DTYPE_I32: s.i64 = which ? INT32_MAX : INT32_MIN; break;
  case CL_DTYPE_I64: s.i64 = which ? INT64_MAX : INT64_MIN; break;
  case CL_DTYPE_U8: s.u64 = which ? UINT8_MAX : 0; break;
  case CL_DTYPE_U16: s.u64 = which ? UINT16_MAX : 0; break;
  case CL_DTYPE_U32: s.u64 = which ? UINT32_MAX : 0; break;
  case CL_DTYPE_U64: s.u64 = which ? UINT64_MAX : 0; break;
  default: s.f64 = which ? INFINITY : -INFINITY; break;
  }
  return s;
}

/* Element 0 of a bound buffer of dtype t, as the kernel's scalar. */
static ew_scalar load_bound(const void *p, cl_dtype t) {
  ew_scalar s = {0};
  switch (t) {
  case CL_DTYPE_I8: s.i64 = *(const int8_t *)p; break;
  case CL_DTYPE_I16: s.i64 = *(const int16_t *)p; break;
  case CL_DTYPE_I32: s.i64 = *(const int32_t *)p; break;
  case CL_DTYPE_I64: s.i64 = *(const int64_t *)p; break;
  case CL_DTYPE_U8: s.u64 = *(const uint8_t *)p; break;
  case CL_DTYPE_U16: s.u64 = *(const uint16_t *)p; break;
  case CL_DTYPE_U32: s.u64 = *(const uint32_t *)p; break;
  case CL_DTYPE_U64: s.u64 = *(const uint64_t *)p; break;
  default: s.f64 = ew_load_f64(p, t, 0); break;
  }
  return s;
}

/* === Parse and infer === */

static cl_status parse_bound_input(const cl_graph *g, const cl_node *n, clip_params *p, int which,
                                   cl_error *err) {
  const cl_value *v = cl_node_input(g, n, which + 1);
  p->run_bound[which] = -1;
  if (!v) return CL_OK;
  if (!v->is_const) {
    p->run_bound[which] = which + 1;
    return CL_OK;
  }
  if (v->nbytes != cl_dtype_size(v->dtype))
    return cl_node_error(err, n, CL_ERR_SHAPE, "%s '%s' must be a scalar", which ? "max" : "min",
                         v->name);
  ew_scalar s = load_bound(v->data, v->dtype);
  p->has[which] = 1;
  if (ew_dtype_is_signed(v->dtype)) p->i[which] = s.i64;
  else if (ew_dtype_is_int(v->dtype)) p->u[which] = s.u64;
  else p->f[which] = s.f64;
  return CL_OK;
}

cl_status ew_clip_parse(cl_graph *g, cl_node *n, cl_error *err) {
  clip_params *p = ew_params_alloc(n, sizeof *p, err);
  if (!p) return CL_ERR_NOMEM;
  p->run_bound[0] = p->run_bound[1] = -1;
  if (strcmp(n->op_type, "Relu") == 0) {
    p->relu = 1;
    return CL_OK;
  }
  if (n->opset < 11) {
    p->has[0] = p->has[1] = 1;
    p->f[0] = cl_node_attr_float(n, "min", -FLT_MAX);
    p->f[1] = cl_node_attr_float(n, "max", FLT_MAX);
    return CL_OK;
  }
  cl_status s = parse_bound_input(g, n, p, 0, err);
  if (s == CL_OK) s = parse_bound_input(g, n, p, 1, err);
  return s;
}

cl_status ew_clip_infer(cl_graph *g, cl_node *n, cl_error *err) {
  const clip_params *p = n->params;
  const cl_value *x;
  cl_status s = ew_need_input(g, n, 0, &x, err);
  if (s != CL_OK) return s;
  if (!clamp_row(x->dtype))
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "input type %s is not supported",
                         cl_dtype_name(x->dtype));
  if (n->opset < 11 && !p->relu && x->dtype != CL_DTYPE_F32 && x->dtype != CL_DTYPE_F64)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "input type %s is not supported before opset 11",
                         cl_dtype_name(x->dtype));
  for (int i = 1; i < 3 && !p->relu && n->opset >= 11; i++) {
    const cl_value *b = cl_node_input(g, n, i);
    if (!b) continue;
    if (b->dtype != x->dtype)
      return cl_node_error(err, n, CL_ERR_SHAPE, "bound '%s' is %s but the input is %s", b->name,
                           cl_dtype_name(b->dtype), cl_dtype_name(x->dtype));
    if (b->rank < 0 || b->nbytes != cl_dtype_size(b->dtype))
      return cl_node_error(err, n, CL_ERR_SHAPE, "bound '%s' must be a scalar", b->name);
  }
  s = ew_no_extra_outputs(n, 1, err);
  return s == CL_OK ? ew_infer_like(g, n, x, x->dtype, err) : s;
}

int ew_clip_const_bounds(const cl_node *n, float *lo, float *hi) {
  const clip_params *p = n->params;
  if (!p) return 0;
  if (p->relu) {
    *lo = 0.0f;
    *hi = INFINITY;
    return 1;
  }
  if (p->run_bound[0] >= 0 || p->run_bound[1] >= 0) return 0;
  float a = p->has[0] ? (float)p->f[0] : -INFINITY, b = p->has[1] ? (float)p->f[1] : INFINITY;
  if (!(a < b)) return 0; /* empty or NaN range: the op keeps it (every output is max) */
  *lo = a;
  *hi = b;
  return 1;
}

/* === Prepare and run === */

/* Constant bound `which` as the kernel scalar for dtype t. */
static ew_scalar const_bound(const clip_params *p, cl_dtype t, int which) {
  ew_scalar s = {0}; /* 0 in every field */
  if (p->relu) return which ? no_bound(t, 1) : s;
  if (!p->has[which]) return no_bound(t, which);
  if (ew_dtype_is_signed(t)) s.i64 = p->i[which];
  else if (ew_dtype_is_int(t)) s.u64 = p->u[which];
  else s.f64 = p->f[which];
  return s;
}

cl_status ew_clip_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                          cl_error *err) {
  const clip_params *p = n->params;
  ew_state *s = ew_state_new(n, 1, err);
  if (!s) return CL_ERR_NOMEM;
  *state = s;
  ew_loop *l = &s->loops[0];
  ew_loop_bind(l, g, n->out[0], n->in, 1, k);
  cl_dtype t = g->values[n->in[0]].dtype;
  l->row = clamp_row(t);
  for (int w = 0; w < 2; w++) {
    l->p[w] = const_bound(p, t, w);
    l->aux[w] = p->run_bound[w] >= 0 ? k->ptr[n->in[p->run_bound[w]]] : NULL;
  }
  float lo, hi;
  if (t == CL_DTYPE_F32 && ew_clip_const_bounds(n, &lo, &hi) && ew_walk_contiguous(&l->walk, 0) &&
      l->walk.numel >= CLIP_XNN_MIN) {
    xnn_operator_t op = NULL;
    enum xnn_status xs = xnn_create_clamp_nc_f32(1, 1, 1, lo, hi, 0, &op);
    if (xs == xnn_status_success) {
      s->xop = op;
      xs = xnn_setup_clamp_nc_f32(op, l->walk.numel, l->in[0], l->out, k->pool);
    }
    if (xs != xnn_status_success) return cl_xnn_error(err, n, "clamp", xs);
  }
  return CL_OK;
}

cl_status ew_clip_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  ew_state *s = state;
  if (s->xop) return xnn_run_operator(s->xop, k->pool) == xnn_status_success ? CL_OK : CL_ERR_BACKEND;
  ew_loop *l = &s->loops[0];
  cl_dtype t = g->values[n->in[0]].dtype;
  for (int w = 0; w < 2; w++)
    if (l->aux[w]) l->p[w] = load_bound(l->aux[w], t);
  ew_loop_run(l, k->pool);
  return CL_OK;
}
