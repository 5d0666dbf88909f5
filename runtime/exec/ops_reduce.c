/* cleave: reductions: ReduceMean (float32), ReduceSum, ReduceMax, ReduceMin, ReduceProd (float32,
 * int32, int64), ArgMax and ArgMin (the same types, int64 output).
 *
 * The input is walked once in storage order; the output is read through strides that are 0 along
 * reduced axes, so any set of axes and either layout work. Adjacent axes of the same kind merge:
 * reducing H and W of an NHWC tensor is [HW reduced, C kept], a vector accumulate per row. */
#include <math.h>
#include <string.h>

#include "exec/ops_tensor.h"

typedef enum { RED_SUM, RED_MEAN, RED_MAX, RED_MIN, RED_PROD } red_kind;

typedef struct {
  red_kind kind;
  int keepdims;
  int noop;              /* empty axes with noop_with_empty_axes: a copy (infer) */
  int mask[CL_MAX_RANK]; /* reduced logical axes (infer) */
} reduce_params;

static cl_status need_input(const cl_graph *g, const cl_node *n, const cl_value **in, cl_error *err) {
  *in = cl_node_input(g, n, 0);
  if (!*in || !cl_node_output(g, n, 0))
    return cl_node_error(err, n, CL_ERR_FORMAT, "input or output 0 is missing");
  if ((*in)->rank < 0) return cl_node_error(err, n, CL_ERR_SHAPE, "input has no known shape");
  return CL_OK;
}

/* === Parse and infer === */

cl_status cl_reduce_parse(cl_graph *g, cl_node *n, cl_error *err) {
  cl_status s = cl_tensor_params(n, sizeof(reduce_params), &n->params, err);
  if (s != CL_OK) return s;
  reduce_params *p = n->params;
  const char *k = n->op_type + strlen("Reduce");
  p->kind = strcmp(k, "Sum") == 0    ? RED_SUM
            : strcmp(k, "Mean") == 0 ? RED_MEAN
            : strcmp(k, "Max") == 0  ? RED_MAX
            : strcmp(k, "Min") == 0  ? RED_MIN
                                     : RED_PROD;
  p->keepdims = cl_node_attr_int(n, "keepdims", 1) != 0;
  return CL_OK;
}

cl_status cl_reduce_infer(cl_graph *g, cl_node *n, cl_error *err) {
  reduce_params *p = n->params;
  const cl_value *in;
  cl_status s = need_input(g, n, &in, err);
  if (s != CL_OK) return s;
  int typed = in->dtype == CL_DTYPE_F32 || in->dtype == CL_DTYPE_I32 || in->dtype == CL_DTYPE_I64;
  if (!typed || (p->kind == RED_MEAN && in->dtype != CL_DTYPE_F32))
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "%s input is not supported",
                         cl_dtype_name(in->dtype));
  /* Axes: an attribute up to opset 17 (ReduceSum: 12), an input from 18 (ReduceSum: 13); an
   * attribute where the opset wants the input is honoured rather than ignored. */
  int from_input = n->opset >= (p->kind == RED_SUM ? 13 : 18);
  int axes[CL_MAX_RANK], cnt;
  s = cl_tensor_axes(g, n, "axes", from_input ? 1 : -1, in->rank, axes, &cnt, err);
  if (s != CL_OK) return s;
  p->noop = cnt <= 0 && cl_node_attr_int(n, "noop_with_empty_axes", 0) != 0;
  for (int a = 0; a < in->rank; a++) p->mask[a] = cnt <= 0 && !p->noop;
  for (int i = 0; i < cnt; i++) p->mask[axes[i]] = 1;
  int64_t out[CL_MAX_RANK];
  int r = 0;
  for (int a = 0; a < in->rank; a++) {
    if (!p->mask[a]) out[r++] = in->dims[a];
    else if (p->keepdims) out[r++] = 1;
  }
  return cl_value_set_shape(cl_node_output(g, n, 0), in->dtype, r, out, err);
}

/* === Row kernels === */

typedef void (*red_fn)(const void *x, size_t n, void *acc);           /* *acc = op(*acc, x...) */
typedef void (*cmb_fn)(const void *x, void *y, size_t n, int64_t ys); /* y[i*ys] = op(y, x[i]) */

#define OP_SUM(a, b) ((a) + (b))
#define OP_PROD(a, b) ((a) * (b))
#define OP_MAX(a, b) ((b) > (a) ? (b) : (a))
#define OP_MIN(a, b) ((b) < (a) ? (b) : (a))

#define RED_KERNEL(NAME, OP, T)                                                                        \
  static void red_##NAME##_##T(const void *xv, size_t n, void *acc) {                                  \
    const T *x = xv;                                                                                   \
    T a = *(T *)acc;                                                                                   \
    for (size_t i = 0; i < n; i++) a = OP(a, x[i]);                                                    \
    *(T *)acc = a;                                                                                     \
  }
#define CMB_KERNEL(NAME, OP, T)                                                                        \
  static void cmb_##NAME##_##T(const void *xv, void *yv, size_t n, int64_t ys) {                       \
    const T *x = xv;                                                                                   \
    T *y = yv;                                                                                         \
    if (ys == 1)                                                                                       \
      for (size_t i = 0; i < n; i++) y[i] = OP(y[i], x[i]);                                            \
    else                                                                                               \
      for (size_t i = 0; i < n; i++) y[i * ys] = OP(y[i * ys], x[i]);                                  \
  }
#define ALL_OPS(T)                                                                                     \
  RED_KERNEL(sum, OP_SUM, T)                                                                           \
  RED_KERNEL(prod, OP_PROD, T)                                                                         \
  RED_KERNEL(max, OP_MAX, T)                                                                           \
  RED_KERNEL(min, OP_MIN, T)                                                                           \
  CMB_KERNEL(sum, OP_SUM, T)                                                                           \
  CMB_KERNEL(prod, OP_PROD, T)                                                                         \
  CMB_KERNEL(max, OP_MAX, T)                                                                           \
  CMB_KERNEL(min, OP_MIN, T)
ALL_OPS(int32_t)
ALL_OPS(int64_t)
/* Float: strided combines and the product; the rest are vector kernels below. */
RED_KERNEL(prod, OP_PROD, float)
CMB_KERNEL(sum, OP_SUM, float)
CMB_KERNEL(prod, OP_PROD, float)
CMB_KERNEL(max, OP_MAX, float)
CMB_KERNEL(min, OP_MIN, float)

/* Float sums along a row: 8 partial sums, vectorisable and more accurate than one running sum. */
static void red_fsum(const void *xv, size_t n, void *acc) {
  const float *x = xv;
  float part[8] = {0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++) part[l] += x[i + l];
  float a = 0.0f;
  for (; i < n; i++) a += x[i];
  for (int l = 0; l < 8; l++) a += part[l];
  *(float *)acc += a;
}

/* Float rows combined 4 lanes at a time (ys == 1, the usual case: merged kept inner axes). */
#define CMB_V4(NAME, VOP, OP)                                                                          \
  static void cmb_v_##NAME(const void *xv, void *yv, size_t n, int64_t ys) {                           \
    const float *x = xv;                                                                               \
    float *y = yv;                                                                                     \
    if (ys != 1) {                                                                                     \
      cmb_##NAME##_float(xv, yv, n, ys);                                                               \
      return;                                                                                          \
    }                                                                                                  \
    size_t i = 0;                                                                                      \
    for (; i + 4 <= n; i += 4) {                                                                       \
      cl_v4f a = cl_v4f_load(y + i), b = cl_v4f_load(x + i);                                           \
      cl_v4f_store(y + i, VOP(a, b));                                                                  \
    }                                                                                                  \
    for (; i < n; i++) y[i] = OP(y[i], x[i]);                                                          \
  }
#define V_ADD(a, b) ((a) + (b))
#define V_MUL(a, b) ((a) * (b))
CMB_V4(sum, V_ADD, OP_SUM)
CMB_V4(prod, V_MUL, OP_PROD)
CMB_V4(max, cl_v4f_max, OP_MAX)
CMB_V4(min, cl_v4f_min, OP_MIN)

/* Float max and min along a row, 4 lanes at a time. */
#define RED_V4(NAME, VOP, OP)                                                                          \
  static void red_v_##NAME(const void *xv, size_t n, void *acc) {                                      \
    const float *x = xv;                                                                               \
    float a = *(float *)acc;                                                                           \
    size_t i = 0;                                                                                      \
    if (n >= 4) {                                                                                      \
      cl_v4f v = cl_v4f_load(x);                                                                       \
      for (i = 4; i + 4 <= n; i += 4) v = VOP(v, cl_v4f_load(x + i));                                  \
      for (int l = 0; l < 4; l++) a = OP(a, v[l]);                                                     \
    }                                                                                                  \
    for (; i < n; i++) a = OP(a, x[i]);                                                                \
    *(float *)acc = a;                                                                                 \
  }
RED_V4(max, cl_v4f_max, OP_MAX)
RED_V4(min, cl_v4f_min, OP_MIN)

typedef struct {
  red_fn red;
  cmb_fn cmb;
} row_ops;

static row_ops ops_for(red_kind kind, cl_dtype t) {
#define PICK(T)                                                                                        \
  switch (kind) {                                                                                      \
  case RED_SUM:                                                                                        \
  case RED_MEAN: return (row_ops){red_sum_##T, cmb_sum_##T};                                           \
  case RED_PROD: return (row_ops){red_prod_##T, cmb_prod_##T};                                         \
  case RED_MAX: return (row_ops){red_max_##T, cmb_max_##T};                                            \
  default: return (row_ops){red_min_##T, cmb_min_##T};                                                 \
  }
  if (t == CL_DTYPE_F32) {
    switch (kind) {
    case RED_SUM:
    case RED_MEAN: return (row_ops){red_fsum, cmb_v_sum};
    case RED_PROD: return (row_ops){red_prod_float, cmb_v_prod};
    case RED_MAX: return (row_ops){red_v_max, cmb_v_max};
    default: return (row_ops){red_v_min, cmb_v_min};
    }
  }
  if (t == CL_DTYPE_I32) PICK(int32_t)
  PICK(int64_t)
#undef PICK
}

/* The value reductions start from, as esize bytes. */
static uint64_t identity_of(red_kind kind, cl_dtype t) {
  uint64_t bits = 0;
  if (t == CL_DTYPE_F32) {
    float v = kind == RED_PROD ? 1.0f : kind == RED_MAX ? -INFINITY : kind == RED_MIN ? INFINITY : 0.0f;
    memcpy(&bits, &v, 4);
  } else if (t == CL_DTYPE_I32) {
    int32_t v = kind == RED_PROD ? 1 : kind == RED_MAX ? INT32_MIN : kind == RED_MIN ? INT32_MAX : 0;
    memcpy(&bits, &v, 4);
  } else {
    int64_t v = kind == RED_PROD ? 1 : kind == RED_MAX ? INT64_MIN : kind == RED_MIN ? INT64_MAX : 0;
    memcpy(&bits, &v, 8);
  }
  return bits;
}

/* === Prepare: merged walk over the input's storage === */

typedef struct {
  int rank; /* merged, >= 1 */
  int64_t dims[CL_MAX_RANK];
  int64_t in_stride[CL_MAX_RANK];
  int64_t out_stride[CL_MAX_RANK]; /* 0 along reduced axes */
  int split; /* axis split over threads: 0 when kept, rank-1 when kept; -1: none */
  size_t esize;
  size_t out_numel;
  float count;   /* ReduceMean: elements reduced into each output (NaN: none) */
  uint64_t init; /* identity element's bytes */
  int noop;      /* plain copy of nbytes */
  size_t nbytes;
  row_ops ops;
  red_kind kind;
} reduce_state;

/* Output storage stride of each input logical axis (0 when reduced). */
static void out_strides(const cl_value *in, const cl_value *out, const reduce_params *p, int64_t *os) {
  int64_t ostr[CL_MAX_RANK];
  cl_tensor_strides(out, ostr);
  for (int a = 0, b = 0; a < in->rank; a++) {
    if (p->mask[a]) {
      os[a] = 0;
      if (p->keepdims) b++;
    } else {
      os[a] = ostr[b++];
    }
  }
}

static void reduce_plan(reduce_state *st, const cl_value *in, const int64_t *os_logical) {
  int64_t phys[CL_MAX_RANK], acc = 1, is[CL_MAX_RANK], os[CL_MAX_RANK];
  cl_value_phys_dims(in, phys);
  for (int q = in->rank - 1; q >= 0; q--) {
    is[q] = acc;
    acc *= phys[q];
    os[q] = os_logical[cl_value_logical_axis(in, q)];
  }
  int r = 0;
  for (int q = 0; q < in->rank; q++) {
    if (phys[q] == 1) continue;
    if (r > 0 && ((os[q] == 0 && st->out_stride[r - 1] == 0) ||
                  (os[q] != 0 && st->out_stride[r - 1] == os[q] * phys[q]))) {
      st->dims[r - 1] *= phys[q];
      st->in_stride[r - 1] = is[q];
      st->out_stride[r - 1] = os[q];
      continue;
    }
    st->dims[r] = phys[q];
    st->in_stride[r] = is[q];
    st->out_stride[r] = os[q];
    r++;
  }
  if (r == 0) {
    st->dims[0] = 1;
    st->in_stride[0] = 1;
    st->out_stride[0] = 1;
    r = 1;
  }
  st->rank = r;
  st->split = st->out_stride[0] != 0 && st->dims[0] > 1              ? 0
              : st->out_stride[r - 1] != 0 && st->dims[r - 1] >= 256 ? r - 1
                                                                     : -1;
}

cl_status cl_reduce_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                            cl_error *err) {
  const reduce_params *p = n->params;
  const cl_value *in = cl_node_input(g, n, 0), *out = cl_node_output(g, n, 0);
  cl_status s = cl_tensor_state(n, sizeof(reduce_state), state, err);
  if (s != CL_OK) return s;
  reduce_state *st = *state;
  st->esize = cl_dtype_size(in->dtype);
  st->out_numel = cl_tensor_numel(out);
  st->kind = p->kind;
  st->nbytes = out->nbytes;
  if (p->noop) {
    if (in->rank >= 3 && in->layout != out->layout)
      return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "input and output in different layouts");
    st->noop = 1;
    return CL_OK;
  }
  int64_t os[CL_MAX_RANK];
  out_strides(in, out, p, os);
  reduce_plan(st, in, os);
  size_t in_numel = cl_tensor_numel(in);
  st->count = in_numel ? (float)(in_numel / (st->out_numel ? st->out_numel : 1)) : NAN;
  st->init = identity_of(p->kind, in->dtype);
  st->ops = ops_for(p->kind, in->dtype);
  return CL_OK;
}

/* === Run === */

typedef struct {
  const reduce_state *st;
  const unsigned char *x;
  unsigned char *y;
} reduce_job;

/* Walks indices [lo, hi) of the split axis (or everything when split < 0). */
static void reduce_range(void *ctx, size_t lo, size_t hi) {
  const reduce_job *j = ctx;
  const reduce_state *st = j->st;
  int last = st->rank - 1, sp = st->split;
  int64_t idx[CL_MAX_RANK] = {0}, begin[CL_MAX_RANK] = {0}, end[CL_MAX_RANK] = {0}, xo = 0, yo = 0;
  size_t es = st->esize, iters = 1;
  for (int a = 0; a < st->rank; a++) {
    begin[a] = a == sp ? (int64_t)lo : 0;
    end[a] = a == sp ? (int64_t)hi : st->dims[a];
    idx[a] = begin[a];
    xo += begin[a] * st->in_stride[a];
    yo += begin[a] * st->out_stride[a];
    if (a < last) iters *= (size_t)(end[a] - begin[a]);
  }
  size_t cols = (size_t)(end[last] - begin[last]);
  for (size_t it = 0; it < iters; it++) {
    const void *x = j->x + xo * (int64_t)es;
    void *y = j->y + yo * (int64_t)es;
    if (st->out_stride[last] == 0) st->ops.red(x, cols, y);
    else st->ops.cmb(x, y, cols, st->out_stride[last]);
    for (int a = last - 1; a >= 0; a--) {
      xo += st->in_stride[a];
      yo += st->out_stride[a];
      if (++idx[a] < end[a]) break;
      xo -= st->in_stride[a] * (end[a] - begin[a]);
      yo -= st->out_stride[a] * (end[a] - begin[a]);
      idx[a] = begin[a];
    }
  }
}

cl_status cl_reduce_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  const reduce_state *st = state;
  void *y = k->ptr[n->out[0]];
  if (st->noop) {
    if (y != k->ptr[n->in[0]]) memcpy(y, k->ptr[n->in[0]], st->nbytes);
    return CL_OK;
  }
  if (st->out_numel == 0) return CL_OK;
  cl_tensor_fill(y, &st->init, st->out_numel, st->esize);
  reduce_job j = {st, k->ptr[n->in[0]], y};
  size_t total = 1;
  for (int a = 0; a < st->rank; a++) total *= (size_t)st->dims[a];
  if (total > 0 && st->split >= 0) {
    size_t per = total / (size_t)st->dims[st->split];
    cl_parallel_for(k->pool, (size_t)st->dims[st->split], 16384 / (per ? per : 1) + 1, reduce_range,
                    &j);
  } else if (total > 0) {
    reduce_range(&j, 0, 0);
  }
  if (st->kind == RED_MEAN) {
    float *f = y;
    for (size_t i = 0; i < st->out_numel; i++) f[i] /= st->count;
  }
  return CL_OK;
}

/* === ArgMax, ArgMin === */

typedef struct {
  int axis;
  int keepdims;
  int last;   /* select_last_index */
  int is_min; /* ArgMin */
} argmax_params;

cl_status cl_argmax_parse(cl_graph *g, cl_node *n, cl_error *err) {
  cl_status s = cl_tensor_params(n, sizeof(argmax_params), &n->params, err);
  if (s != CL_OK) return s;
  argmax_params *p = n->params;
  p->keepdims = cl_node_attr_int(n, "keepdims", 1) != 0;
  p->last = cl_node_attr_int(n, "select_last_index", 0) != 0;
  p->is_min = strcmp(n->op_type, "ArgMin") == 0;
  return CL_OK;
}

cl_status cl_argmax_infer(cl_graph *g, cl_node *n, cl_error *err) {
  argmax_params *p = n->params;
  const cl_value *in;
  cl_status s = need_input(g, n, &in, err);
  if (s == CL_OK) s = cl_node_axis(n, cl_node_attr_int(n, "axis", 0), in->rank, &p->axis, err);
  if (s != CL_OK) return s;
  if (in->dtype != CL_DTYPE_F32 && in->dtype != CL_DTYPE_I32 && in->dtype != CL_DTYPE_I64)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "%s input is not supported",
                         cl_dtype_name(in->dtype));
  if (in->dims[p->axis] == 0)
    return cl_node_error(err, n, CL_ERR_SHAPE, "axis %d of '%s' is empty", p->axis, in->name);
  int64_t out[CL_MAX_RANK];
  int r = 0;
  for (int a = 0; a < in->rank; a++) {
    if (a != p->axis) out[r++] = in->dims[a];
    else if (p->keepdims) out[r++] = 1;
  }
  return cl_value_set_shape(cl_node_output(g, n, 0), CL_DTYPE_I64, r, out, err);
}

typedef struct {
  size_t outer, r, inner; /* storage as [outer, R, inner]; the output is [outer, inner] */
  cl_dtype dtype;
  int last, is_min;
} argmax_state;

cl_status cl_argmax_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                            cl_error *err) {
  const argmax_params *p = n->params;
  const cl_value *in = cl_node_input(g, n, 0), *out = cl_node_output(g, n, 0);
  if (in->rank >= 3 && out->rank == in->rank && in->layout != out->layout)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "input and output in different layouts");
  cl_status s = cl_tensor_state(n, sizeof(argmax_state), state, err);
  if (s != CL_OK) return s;
  argmax_state *st = *state;
  int64_t phys[CL_MAX_RANK];
  cl_value_phys_dims(in, phys);
  int q = cl_value_phys_axis(in, p->axis);
  st->outer = st->r = st->inner = 1;
  for (int i = 0; i < in->rank; i++)
    *(i < q ? &st->outer : i > q ? &st->inner : &st->r) *= (size_t)phys[i];
  st->dtype = in->dtype;
  st->last = p->last;
  st->is_min = p->is_min;
  return CL_OK;
}

#define ARGMAX_T(T)                                                                                    \
  static void argmax_##T(const argmax_state *st, const T *x, int64_t *y) {                             \
    for (size_t o = 0; o < st->outer; o++)                                                             \
      for (size_t c = 0; c < st->inner; c++) {                                                         \
        const T *col = x + o * st->r * st->inner + c;                                                  \
        T best = col[0];                                                                               \
        int64_t at = 0;                                                                                \
        for (size_t i = 1; i < st->r; i++) {                                                           \
          T v = col[i * st->inner];                                                                    \
          int better =                                                                                 \
              st->is_min ? (st->last ? v <= best : v < best) : (st->last ? v >= best : v > best);      \
          if (better) {                                                                                \
            best = v;                                                                                  \
            at = (int64_t)i;                                                                           \
          }                                                                                            \
        }                                                                                              \
        y[o * st->inner + c] = at;                                                                     \
      }                                                                                                \
  }
ARGMAX_T(float)
ARGMAX_T(int32_t)
ARGMAX_T(int64_t)

cl_status cl_argmax_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  const argmax_state *st = state;
  if (st->r == 0 || st->outer * st->inner == 0) return CL_OK;
  const void *x = k->ptr[n->in[0]];
  int64_t *y = k->ptr[n->out[0]];
  if (st->dtype == CL_DTYPE_F32) argmax_float(st, x, y);
  else if (st->dtype == CL_DTYPE_I32) argmax_int32_t(st, x, y);
  else argmax_int64_t(st, x, y);
  return CL_OK;
}
