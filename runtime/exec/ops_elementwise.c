/* cleave: the elementwise operator group: its table, the walk every elementwise kernel runs on
 * (see ew_internal.h), and helpers the group's files share. */
#include "exec/ops_elementwise.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "exec/ew_internal.h"

/* === The table === */

/* One entry; FAM is the function family (ew_<FAM>_parse, ...). Designated initializers, so that
 * fields added to cl_op_def later default to zero. */
#define EW_OP(NAME, LO, FLAGS, CONST_IN, FAM, RELEASE, IS_VIEW)                                    \
  {.name = NAME, .opset_min = LO, .opset_max = 18, .policy = CL_POLICY_FOLLOW, .flags = FLAGS,     \
   .const_inputs = CONST_IN, .parse = ew_##FAM##_parse, .infer = ew_##FAM##_infer,                 \
   .prepare = ew_##FAM##_prepare, .run = ew_##FAM##_run, .release = RELEASE, .is_view = IS_VIEW}
#define EW_UNARY(name, lo) EW_OP(name, lo, 0, 0, unary, ew_release_loops, NULL)
/* Clip's bounds are read at run time when they are not constant, but binding them by value lets the
 * fusion pass and XNNPACK's clamp take them. */
#define EW_CLIP(name, lo) EW_OP(name, lo, 0, 0x6u, clip, ew_release_loops, NULL)
#define EW_BINARY(name, lo) EW_OP(name, lo, CL_OP_FUSES_CLAMP, 0, binary, ew_release_loops, NULL)
#define EW_COMPARE(name, lo) EW_OP(name, lo, 0, 0, compare, ew_release_loops, NULL)
#define EW_CAST(name, lo) EW_OP(name, lo, 0, 0, cast, ew_release_loops, ew_cast_is_view)

/* opset_min: the first version with today's semantics, or whose differences are handled (version 1
 * of most ops had the legacy consumed_inputs attribute; binary ops before 7 had the broadcast/axis
 * attributes, handled by ew_legacy from version 6 on, or 1 for the comparisons). */
static const cl_op_def ops[] = {
    EW_UNARY("Sigmoid", 6),   EW_UNARY("Tanh", 6),        EW_UNARY("Sqrt", 6),
    EW_UNARY("Exp", 6),       EW_UNARY("Log", 6),         EW_UNARY("Neg", 6),
    EW_UNARY("Abs", 6),       EW_UNARY("Reciprocal", 6),  EW_UNARY("Floor", 6),
    EW_UNARY("Ceil", 6),      EW_UNARY("Erf", 9),         EW_UNARY("Softplus", 1),
    EW_UNARY("Elu", 6),       EW_UNARY("Selu", 6),        EW_UNARY("LeakyRelu", 6),
    EW_UNARY("HardSigmoid", 6), EW_UNARY("HardSwish", 14),
    EW_CLIP("Relu", 6),       EW_CLIP("Clip", 6),
    EW_OP("BatchNormalization", 6, CL_OP_FUSES_CLAMP, 0x1eu, bn, ew_bn_release, NULL),
    EW_BINARY("Add", 6),      EW_BINARY("Sub", 6),        EW_BINARY("Mul", 6),
    EW_BINARY("Div", 6),      EW_BINARY("Pow", 6),        EW_BINARY("PRelu", 6),
    EW_BINARY("Max", 6),      EW_BINARY("Min", 6),        EW_BINARY("Sum", 6),
    EW_BINARY("Mean", 6),
    EW_COMPARE("Equal", 1),   EW_COMPARE("Less", 1),      EW_COMPARE("Greater", 1),
    EW_COMPARE("LessOrEqual", 12), EW_COMPARE("GreaterOrEqual", 12),
    EW_COMPARE("And", 1),     EW_COMPARE("Or", 1),        EW_COMPARE("Xor", 1),
    EW_COMPARE("Not", 1),     EW_COMPARE("Where", 9),
    EW_CAST("Cast", 6),       EW_CAST("CastLike", 15),
};

const cl_op_group cl_ops_elementwise = {ops, (int)(sizeof ops / sizeof ops[0])};

int cl_op_clamp_bounds(const cl_graph *g, const cl_node *n, float *lo, float *hi) {
  if (!n->op || n->op->parse != ew_clip_parse) return 0;
  const cl_value *x = cl_node_input(g, n, 0);
  if (x && x->dtype != CL_DTYPE_UNDEFINED && x->dtype != CL_DTYPE_F32) return 0;
  return ew_clip_const_bounds(n, lo, hi);
}

/* === The walk === */

void ew_walk_init(ew_walk *w, const cl_value *out, const cl_value *const *in, int n_in) {
  int64_t dims[CL_MAX_RANK], st[EW_MAX_IN][CL_MAX_RANK];
  int r = out->rank;
  cl_value_phys_dims(out, dims);
  for (int k = 0; k < n_in; k++) {
    cl_view v;
    cl_view_broadcast(in[k], out, &v);
    memcpy(st[k], v.strides, sizeof v.strides);
  }
  memset(w, 0, sizeof *w);
  w->n_in = n_in;
  w->numel = 1;
  for (int p = 0; p < r; p++) w->numel *= (size_t)dims[p];
  /* Drop unit dims, then merge each dim into the previous one when every input is contiguous
   * across the two (the output always is). */
  int m = 0;
  for (int p = 0; p < r; p++) {
    if (dims[p] == 1) continue;
    int merge = m > 0;
    for (int k = 0; k < n_in && merge; k++) merge = w->stride[k][m - 1] == st[k][p] * dims[p];
    if (merge) {
      w->dims[m - 1] *= dims[p];
      for (int k = 0; k < n_in; k++) w->stride[k][m - 1] = st[k][p];
      continue;
    }
    w->dims[m] = dims[p];
    for (int k = 0; k < n_in; k++) w->stride[k][m] = st[k][p];
    m++;
  }
  if (m == 0) { /* a single element */
    w->dims[0] = 1;
    m = 1;
  }
  w->rank = m;
}

int ew_walk_contiguous(const ew_walk *w, int i) {
  return w->rank == 1 && (w->stride[i][0] == 1 || w->dims[0] == 1);
}

void ew_loop_bind_values(ew_loop *l, const cl_value *out, void *out_ptr, const cl_value *const *in,
                         const void *const *in_ptr, int n_in) {
  memset(l, 0, sizeof *l);
  for (int i = 0; i < n_in; i++) {
    l->in[i] = in_ptr[i];
    l->in_size[i] = cl_dtype_size(in[i]->dtype);
  }
  ew_walk_init(&l->walk, out, in, n_in);
  l->out = out_ptr;
  l->out_size = cl_dtype_size(out->dtype);
  l->grain = EW_GRAIN_CHEAP;
  ew_loop_widen(l);
}

void ew_loop_bind(ew_loop *l, const cl_graph *g, int out, const int *in, int n_in,
                  const cl_kernel_ctx *k) {
  const cl_value *iv[EW_MAX_IN];
  const void *ip[EW_MAX_IN];
  for (int i = 0; i < n_in; i++) {
    iv[i] = &g->values[in[i]];
    ip[i] = k->ptr[in[i]];
  }
  ew_loop_bind_values(l, &g->values[out], k->ptr[out], iv, ip, n_in);
}

/* Rows shorter than this are widened to about EW_ROW_TARGET elements. */
#define EW_ROW_MIN 64
#define EW_ROW_TARGET 512

void ew_loop_widen(ew_loop *l) {
  ew_walk *w = &l->walk;
  int r = w->rank, vec = 0;
  if (r < 2 || w->dims[r - 1] >= EW_ROW_MIN) return;
  int64_t c = w->dims[r - 1], d = w->dims[r - 2];
  for (int k = 0; k < w->n_in; k++) {
    int64_t outer = w->stride[k][r - 2], inner = w->stride[k][r - 1];
    int same_rows = 1; /* the same vector for every row: zero strides on every outer dim */
    for (int p = 0; p < r - 1; p++) same_rows &= w->stride[k][p] == 0;
    if (same_rows && inner == 1) vec |= 1 << k;
    else if (outer != c * inner) return; /* neither that nor contiguous across rows */
  }
  int64_t m = EW_ROW_TARGET / c; /* rows per widened row: the largest divisor of d up to m */
  while (m > 1 && d % m != 0) m--;
  if (m < 2 || vec == 0) return;
  size_t bytes = 0;
  for (int k = 0; k < w->n_in; k++)
    if (vec & (1 << k)) bytes += (size_t)(m * c) * l->in_size[k];
  char *rep = malloc(bytes);
  if (!rep) return; /* only an optimisation */
  l->rep = rep;
  l->rep_copies = (size_t)m;
  for (int k = 0; k < w->n_in; k++) {
    if (vec & (1 << k)) {
      l->rep_src[k] = l->in[k];
      l->in[k] = rep;
      rep += (size_t)(m * c) * l->in_size[k];
    } else {
      w->stride[k][r - 2] *= m;
    }
  }
  w->dims[r - 2] = d / m;
  w->dims[r - 1] = c * m;
}

void ew_loop_release(ew_loop *l) {
  free(l->rep);
  l->rep = NULL;
}

/* Refreshes the replicated vectors (their sources may have changed since the last run). */
static void loop_replicate(const ew_loop *l) {
  for (int k = 0; k < l->walk.n_in; k++) {
    if (!l->rep_src[k]) continue;
    size_t row = (size_t)l->walk.dims[l->walk.rank - 1] / l->rep_copies * l->in_size[k];
    char *dst = (char *)(uintptr_t)l->in[k];
    for (size_t j = 0; j < l->rep_copies; j++) memcpy(dst + j * row, l->rep_src[k], row);
  }
}

void ew_loop_fuse_clamp(ew_loop *l, const cl_node *n) {
  if (n->act_min == -INFINITY && n->act_max == INFINITY) return;
  l->clamp = 1;
  l->lo = n->act_min;
  l->hi = n->act_max;
}

/* Output elements [begin, end) of the loop: rows found by an odometer over the outer dims. */
static void loop_range(void *ctx, size_t begin, size_t end) {
  const ew_loop *l = ctx;
  const ew_walk *w = &l->walk;
  int r = w->rank, ni = w->n_in;
  size_t inner = (size_t)w->dims[r - 1];
  int64_t idx[CL_MAX_RANK], base[EW_MAX_IN] = {0}, st[EW_MAX_IN] = {0};
  size_t row = begin / inner, col = begin % inner;
  for (int p = r - 2; p >= 0; p--) {
    idx[p] = (int64_t)(row % (size_t)w->dims[p]);
    row /= (size_t)w->dims[p];
    for (int k = 0; k < ni; k++) base[k] += idx[p] * w->stride[k][p];
  }
  for (int k = 0; k < ni; k++) st[k] = w->stride[k][r - 1];
  const void *ip[EW_MAX_IN];
  char *o = (char *)l->out + begin * l->out_size;
  for (size_t i = begin; i < end;) {
    size_t len = inner - col < end - i ? inner - col : end - i;
    for (int k = 0; k < ni; k++)
      ip[k] = (const char *)l->in[k] + (size_t)(base[k] + (int64_t)col * st[k]) * l->in_size[k];
    l->row(l, o, ip, st, len);
    if (l->clamp) ew_clamp_f32((void *)o, (const void *)o, len, l->lo, l->hi); /* float output */
    o += len * l->out_size;
    i += len;
    col = 0;
    for (int p = r - 2; p >= 0 && i < end; p--) { /* next row */
      idx[p]++;
      for (int k = 0; k < ni; k++) base[k] += w->stride[k][p];
      if (idx[p] < w->dims[p]) break;
      for (int k = 0; k < ni; k++) base[k] -= idx[p] * w->stride[k][p];
      idx[p] = 0;
    }
  }
}

void ew_loop_run(const ew_loop *l, pthreadpool_t pool) {
  if (l->walk.numel == 0) return;
  if (l->rep) loop_replicate(l);
  size_t grain = l->grain, threads = pool ? pthreadpool_get_threads_count(pool) : 1;
  size_t even = (l->walk.numel / (4 * threads) + 63) / 64 * 64; /* about four tasks per thread */
  cl_parallel_for(pool, l->walk.numel, even > grain ? even : grain, loop_range, (void *)l);
}

/* === States === */

ew_state *ew_state_new(const cl_node *n, int n_loops, cl_error *err) {
  ew_state *s = calloc(1, sizeof *s + (size_t)n_loops * sizeof(ew_loop));
  if (!s) {
    cl_node_error(err, n, CL_ERR_NOMEM, "out of memory preparing");
    return NULL;
  }
  s->n_loops = n_loops;
  return s;
}

void ew_release_loops(void *state) {
  ew_state *s = state;
  if (!s) return;
  if (s->xop) xnn_delete_operator(s->xop);
  for (int i = 0; i < s->n_loops; i++) ew_loop_release(&s->loops[i]);
  free(s);
}

/* === Parse and infer helpers === */

cl_status ew_need_input(const cl_graph *g, const cl_node *n, int i, const cl_value **out,
                        cl_error *err) {
  const cl_value *v = cl_node_input(g, n, i);
  *out = v;
  if (!v) return cl_node_error(err, n, CL_ERR_FORMAT, "input %d is missing", i);
  if (v->rank < 0 || v->dtype == CL_DTYPE_UNDEFINED)
    return cl_node_error(err, n, CL_ERR_SHAPE, "input '%s' has no known shape", v->name);
  return CL_OK;
}

cl_status ew_infer_broadcast(cl_graph *g, cl_node *n, int first, cl_dtype dtype, cl_error *err) {
  int rank = -1;
  int64_t dims[CL_MAX_RANK];
  for (int i = first; i < n->n_in; i++) {
    const cl_value *v = cl_node_input(g, n, i);
    if (!v) continue;
    if (v->rank < 0 || v->dtype == CL_DTYPE_UNDEFINED)
      return cl_node_error(err, n, CL_ERR_SHAPE, "input '%s' has no known shape", v->name);
    if (rank < 0) {
      rank = v->rank;
      memcpy(dims, v->dims, sizeof dims);
      continue;
    }
    cl_error e = {0};
    int64_t b[CL_MAX_RANK];
    if (cl_shape_broadcast(rank, dims, v->rank, v->dims, &rank, b, &e) != CL_OK)
      return cl_node_error(err, n, CL_ERR_SHAPE, "%s", e.msg);
    memcpy(dims, b, sizeof dims);
  }
  if (rank < 0) return cl_node_error(err, n, CL_ERR_FORMAT, "has no inputs");
  cl_value *out = cl_node_output(g, n, 0);
  if (!out) return cl_node_error(err, n, CL_ERR_FORMAT, "has no output");
  cl_error e = {0};
  if (cl_value_set_shape(out, dtype, rank, dims, &e) != CL_OK)
    return cl_node_error(err, n, e.status, "%s", e.msg);
  return CL_OK;
}

cl_status ew_infer_like(cl_graph *g, cl_node *n, const cl_value *x, cl_dtype dtype, cl_error *err) {
  cl_value *out = cl_node_output(g, n, 0);
  if (!out) return cl_node_error(err, n, CL_ERR_FORMAT, "has no output");
  cl_error e = {0};
  if (cl_value_set_shape(out, dtype, x->rank, x->dims, &e) != CL_OK)
    return cl_node_error(err, n, e.status, "%s", e.msg);
  return CL_OK;
}

cl_status ew_same_dtypes(const cl_graph *g, const cl_node *n, int first, cl_error *err) {
  const cl_value *a = cl_node_input(g, n, first);
  for (int i = first + 1; a && i < n->n_in; i++) {
    const cl_value *b = cl_node_input(g, n, i);
    if (b && b->dtype != a->dtype)
      return cl_node_error(err, n, CL_ERR_SHAPE, "input '%s' is %s but input '%s' is %s", b->name,
                           cl_dtype_name(b->dtype), a->name, cl_dtype_name(a->dtype));
  }
  return CL_OK;
}

cl_status ew_no_extra_outputs(const cl_node *n, int keep, cl_error *err) {
  for (int i = keep; i < n->n_out; i++)
    if (n->out[i] >= 0)
      return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "output %d is not supported (only %d output%s)",
                           i, keep, keep == 1 ? "" : "s");
  return CL_OK;
}

/* === Legacy broadcasting === */

void ew_legacy_parse(const cl_node *n, ew_legacy *lg) {
  memset(lg, 0, sizeof *lg);
  if (n->opset >= 7) return;
  lg->on = 1;
  lg->bcast = cl_node_attr_int(n, "broadcast", 0) != 0;
  const cl_attr *a = cl_node_attr(n, "axis");
  lg->has_axis = a && a->type == CL_ATTR_INT;
  lg->axis = lg->has_axis ? a->i : 0;
}

/* B's dims lined up with A's (rank of A). */
static void legacy_dims(const cl_value *a, const cl_value *b, const ew_legacy *lg, int64_t *dims) {
  int64_t first = lg->has_axis ? lg->axis : a->rank - b->rank;
  for (int i = 0; i < a->rank; i++) {
    int64_t j = i - first;
    dims[i] = j >= 0 && j < b->rank ? b->dims[j] : 1;
  }
}

cl_status ew_legacy_infer(cl_graph *g, cl_node *n, ew_legacy *lg, cl_dtype dtype, cl_error *err) {
  const cl_value *a = cl_node_input(g, n, 0), *b = cl_node_input(g, n, 1);
  char sa[128], sb[128];
  cl_shape_str(a->rank, a->dims, sa, sizeof sa);
  cl_shape_str(b->rank, b->dims, sb, sizeof sb);
  if (!lg->bcast) {
    if (a->rank != b->rank || memcmp(a->dims, b->dims, (size_t)a->rank * sizeof a->dims[0]) != 0)
      return cl_node_error(err, n, CL_ERR_SHAPE, "shapes %s and %s differ and broadcast is 0", sa, sb);
    return ew_infer_like(g, n, a, dtype, err);
  }
  if (lg->has_axis && lg->axis < 0) lg->axis += a->rank;
  if (b->rank > a->rank || (lg->has_axis && (lg->axis < 0 || lg->axis + b->rank > a->rank)))
    return cl_node_error(err, n, CL_ERR_SHAPE, "%s cannot be broadcast to %s at axis %lld", sb, sa,
                         (long long)lg->axis);
  int64_t dims[CL_MAX_RANK];
  legacy_dims(a, b, lg, dims);
  for (int i = 0; i < a->rank; i++)
    if (dims[i] != 1 && dims[i] != a->dims[i])
      return cl_node_error(err, n, CL_ERR_SHAPE, "%s does not broadcast to %s", sb, sa);
  return ew_infer_like(g, n, a, dtype, err);
}

cl_status ew_legacy_view(const cl_graph *g, const cl_node *n, const ew_legacy *lg, cl_value *view,
                         cl_error *err) {
  const cl_value *a = cl_node_input(g, n, 0), *b = cl_node_input(g, n, 1);
  *view = *b;
  if (!lg->bcast) return CL_OK;
  view->rank = a->rank;
  legacy_dims(a, b, lg, view->dims);
  int same = view->rank == b->rank && memcmp(view->dims, b->dims, sizeof b->dims) == 0;
  if (b->layout == CL_LAYOUT_CHANNELS_LAST && !same)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED,
                         "legacy broadcasting of the channels-last input '%s' is not supported",
                         b->name);
  return CL_OK;
}

void *ew_params_alloc(cl_node *n, size_t size, cl_error *err) {
  if (n->op && n->op->free_params) n->op->free_params(n->params);
  else free(n->params);
  n->params = calloc(1, size);
  if (!n->params) cl_node_error(err, n, CL_ERR_NOMEM, "out of memory parsing");
  return n->params;
}

/* === dtypes === */

int ew_dtype_is_float(cl_dtype t) { return t == CL_DTYPE_F32 || t == CL_DTYPE_F64; }

int ew_dtype_is_signed(cl_dtype t) {
  return t == CL_DTYPE_I8 || t == CL_DTYPE_I16 || t == CL_DTYPE_I32 || t == CL_DTYPE_I64;
}

int ew_dtype_is_int(cl_dtype t) {
  return ew_dtype_is_signed(t) || t == CL_DTYPE_U8 || t == CL_DTYPE_U16 || t == CL_DTYPE_U32 ||
         t == CL_DTYPE_U64;
}

double ew_load_f64(const void *p, cl_dtype t, size_t i) {
  switch (t) {
  case CL_DTYPE_F32: return ((const float *)p)[i];
  case CL_DTYPE_F64: return ((const double *)p)[i];
  case CL_DTYPE_F16: return ew_f16_to_f32(((const uint16_t *)p)[i]);
  case CL_DTYPE_BF16: return ew_bf16_to_f32(((const uint16_t *)p)[i]);
  case CL_DTYPE_I8: return ((const int8_t *)p)[i];
  case CL_DTYPE_I16: return ((const int16_t *)p)[i];
  case CL_DTYPE_I32: return ((const int32_t *)p)[i];
  case CL_DTYPE_I64: return (double)((const int64_t *)p)[i];
  case CL_DTYPE_U8: case CL_DTYPE_BOOL: return ((const uint8_t *)p)[i];
  case CL_DTYPE_U16: return ((const uint16_t *)p)[i];
  case CL_DTYPE_U32: return ((const uint32_t *)p)[i];
  case CL_DTYPE_U64: return (double)((const uint64_t *)p)[i];
  default: return NAN;
  }
}
