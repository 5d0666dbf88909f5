/* cleave: binary operators with ONNX multidirectional broadcasting (opset 7+): Add, Sub, Mul, Div,
 * Pow, PRelu, and the variadic Max, Min, Sum, Mean (1..N inputs, broadcast since opset 8; the
 * same-shape inputs of opsets 6-7 are a special case). Opset 6 is supported too: the broadcast and
 * axis attributes of Add, Sub, Mul, Div, Pow (ew_legacy) and PRelu 6's per-channel slope [C].
 *
 * dtypes: Add, Sub, Mul, Div, Max, Min on float, double and every integer type (Max and Min also on
 * float16 and bfloat16); Sum on the same but float16/bfloat16; Mean on float and double; Pow on
 * float, double, int32 and int64 bases with any int or float exponent (opset 12+ lets the two
 * differ); PRelu on float, double and integers, its slope broadcast to X (unidirectional).
 * Inputs of different dtypes (Pow aside) are refused with CL_ERR_SHAPE.
 *
 * Every case runs on the walk (ew_internal.h) with the row kernels of ops_binary_kernels.c: they
 * beat XNNPACK's binary nd operators here, which run a whole contiguous tensor (same shape, or a
 * scalar operand) on one thread. PRelu with a constant per-channel or scalar slope runs on XNNPACK's
 * prelu / leaky_relu. float32 results honour a fused clamp (n->act_min/max, e.g. Add + Relu). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "exec/ew_internal.h"

#define PRELU_XNN_MIN 1024 /* below this many elements the loop beats XNNPACK's call overhead */

typedef enum bin_kind { B_ARITH, B_POW, B_PRELU, B_VARIADIC } bin_kind;

static const struct {
  const char *name;
  bin_kind kind;
  ew_bin_op op;
} KINDS[] = {
    {"Add", B_ARITH, EW_ADD},    {"Sub", B_ARITH, EW_SUB},      {"Mul", B_ARITH, EW_MUL},
    {"Div", B_ARITH, EW_DIV},    {"Pow", B_POW, EW_MUL},        {"PRelu", B_PRELU, EW_PRELU},
    {"Max", B_VARIADIC, EW_MAX}, {"Min", B_VARIADIC, EW_MIN},   {"Sum", B_VARIADIC, EW_ADD},
    {"Mean", B_VARIADIC, EW_ADD},
};

typedef struct bin_params {
  bin_kind kind;
  ew_bin_op op;  /* the pairwise step */
  int mean;      /* Mean: divide the sum by the input count */
  ew_legacy lg;  /* opset < 7: how input 1 broadcasts to input 0 */
} bin_params;

/* === Parse and infer === */

cl_status ew_binary_parse(cl_graph *g, cl_node *n, cl_error *err) {
  bin_params *p = ew_params_alloc(n, sizeof *p, err);
  if (!p) return CL_ERR_NOMEM;
  size_t i = 0;
  while (i < sizeof KINDS / sizeof KINDS[0] && strcmp(KINDS[i].name, n->op_type) != 0) i++;
  if (i == sizeof KINDS / sizeof KINDS[0])
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "not a binary operator");
  p->kind = KINDS[i].kind;
  p->op = KINDS[i].op;
  p->mean = strcmp(n->op_type, "Mean") == 0;
  if (p->kind == B_ARITH || p->kind == B_POW) ew_legacy_parse(n, &p->lg);
  if (!p->lg.on && (cl_node_attr(n, "broadcast") || cl_node_attr(n, "axis")))
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED,
                         "the broadcast/axis attributes only exist before opset 7 (this is %d)",
                         n->opset);
  return CL_OK;
}

/* Every input present with a known shape; exactly two unless variadic. */
static cl_status check_inputs(const cl_graph *g, const cl_node *n, const bin_params *p,
                              cl_error *err) {
  if (p->kind != B_VARIADIC && n->n_in != 2)
    return cl_node_error(err, n, CL_ERR_FORMAT, "needs 2 inputs, not %d", n->n_in);
  if (n->n_in < 1) return cl_node_error(err, n, CL_ERR_FORMAT, "needs at least one input");
  for (int i = 0; i < n->n_in; i++) {
    const cl_value *v;
    cl_status s = ew_need_input(g, n, i, &v, err);
    if (s != CL_OK) return s;
  }
  return ew_no_extra_outputs(n, 1, err);
}

/* PRelu: slope must broadcast to X's shape (unidirectional). */
static cl_status check_slope(const cl_node *n, const cl_value *x, const cl_value *slope,
                             cl_error *err) {
  int r;
  int64_t d[CL_MAX_RANK];
  cl_error e = {0};
  int ok = slope->rank <= x->rank &&
           cl_shape_broadcast(x->rank, x->dims, slope->rank, slope->dims, &r, d, &e) == CL_OK &&
           memcmp(d, x->dims, (size_t)x->rank * sizeof d[0]) == 0;
  if (ok) return CL_OK;
  char a[128], b[128];
  return cl_node_error(err, n, CL_ERR_SHAPE, "slope %s does not broadcast to X %s",
                       cl_shape_str(slope->rank, slope->dims, a, sizeof a),
                       cl_shape_str(x->rank, x->dims, b, sizeof b));
}

/* PRelu 6: a slope of one value, or [C] along axis 1 (PyTorch's export), or X's own shape. */
static void prelu6_legacy(const cl_value *x, const cl_value *slope, ew_legacy *lg) {
  memset(lg, 0, sizeof *lg);
  lg->on = lg->bcast = 1;
  if (slope->rank == 1 && x->rank >= 2 && slope->dims[0] == x->dims[1] && slope->dims[0] != 1) {
    lg->has_axis = 1;
    lg->axis = 1;
  }
}

cl_status ew_binary_infer(cl_graph *g, cl_node *n, cl_error *err) {
  bin_params *p = n->params;
  cl_status s = check_inputs(g, n, p, err);
  if (s != CL_OK) return s;
  const cl_value *a = cl_node_input(g, n, 0);
  if (p->kind == B_POW) {
    const cl_value *b = cl_node_input(g, n, 1);
    if (!ew_pow_row(a->dtype, b->dtype))
      return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "Pow of %s by %s is not supported",
                           cl_dtype_name(a->dtype), cl_dtype_name(b->dtype));
    if (p->lg.on) return ew_legacy_infer(g, n, &p->lg, a->dtype, err);
    return ew_infer_broadcast(g, n, 0, a->dtype, err);
  }
  s = ew_same_dtypes(g, n, 0, err);
  if (s != CL_OK) return s;
  int ok = ew_binary_row(p->op, a->dtype) != NULL;
  if (p->mean) ok = ew_dtype_is_float(a->dtype);
  if (p->op == EW_ADD && (a->dtype == CL_DTYPE_F16 || a->dtype == CL_DTYPE_BF16)) ok = 0;
  if (!ok)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "input type %s is not supported",
                         cl_dtype_name(a->dtype));
  if (p->kind == B_PRELU && n->opset < 7) prelu6_legacy(a, cl_node_input(g, n, 1), &p->lg);
  if (p->lg.on) return ew_legacy_infer(g, n, &p->lg, a->dtype, err);
  if (p->kind == B_PRELU) {
    s = check_slope(n, a, cl_node_input(g, n, 1), err);
    if (s != CL_OK) return s;
  }
  return ew_infer_broadcast(g, n, 0, a->dtype, err);
}

/* === Prepare === */

/* PRelu of float32 by a constant slope on XNNPACK: per channel when the walk is [rows, C] with the
 * slope along C (NHWC activations with a [C,1,1] slope), or leaky_relu for a single slope. Leaves
 * s->xop NULL when the shapes do not fit. */
static cl_status prelu_xnn(const cl_graph *g, const cl_node *n, const cl_value *const *in,
                           const cl_kernel_ctx *k, ew_state *s, cl_error *err) {
  const ew_loop *l = &s->loops[0];
  const cl_value *slope = in[1];
  ew_walk walk; /* the loop's may have widened rows: plan again */
  const ew_walk *w = &walk;
  ew_walk_init(&walk, cl_node_output(g, n, 0), in, 2);
  if (g->values[n->in[0]].dtype != CL_DTYPE_F32 || !slope->is_const || w->numel < PRELU_XNN_MIN ||
      n->act_min != -INFINITY || n->act_max != INFINITY)
    return CL_OK;
  xnn_operator_t op = NULL;
  enum xnn_status xs = xnn_status_success;
  size_t batch = 0;
  if (slope->nbytes == sizeof(float) && ew_walk_contiguous(w, 0)) {
    float a = *(const float *)slope->data;
    if (!isfinite(a)) return CL_OK;
    batch = w->numel;
    xs = xnn_create_leaky_relu_nc_f32(1, 1, 1, a, 0, &op);
    if (xs == xnn_status_success) xs = xnn_setup_leaky_relu_nc_f32(op, batch, l->in[0], l->out, k->pool);
  } else if (w->rank == 2 && w->stride[0][0] == w->dims[1] && w->stride[0][1] == 1 &&
             w->stride[1][0] == 0 && w->stride[1][1] == 1) {
    size_t c = (size_t)w->dims[1];
    batch = (size_t)w->dims[0];
    xs = xnn_create_prelu_nc_f32(c, c, c, slope->data, 0, &op);
    if (xs == xnn_status_success) xs = xnn_setup_prelu_nc_f32(op, batch, l->in[0], l->out, k->pool);
  } else {
    return CL_OK;
  }
  s->xop = op;
  return xs == xnn_status_success ? CL_OK : cl_xnn_error(err, n, "prelu", xs);
}

/* Pow by a constant scalar 2 or 0.5 on float32: a unary row. */
static ew_row_fn pow_const(const cl_graph *g, const cl_node *n) {
  const cl_value *x = cl_node_input(g, n, 0), *e = cl_node_input(g, n, 1);
  if (x->dtype != CL_DTYPE_F32 || !e->is_const || e->nbytes != cl_dtype_size(e->dtype)) return NULL;
  return ew_pow_f32_const_row(ew_load_f64(e->data, e->dtype, 0));
}

static cl_status prepare_pair(const cl_graph *g, const cl_node *n, const bin_params *p,
                              const cl_kernel_ctx *k, ew_state *s, cl_error *err) {
  ew_loop *l = &s->loops[0];
  const cl_value *a = cl_node_input(g, n, 0), *b = cl_node_input(g, n, 1);
  cl_value b_legacy; /* B seen with A's rank under the opset-6 rules */
  if (p->lg.on) {
    cl_status st = ew_legacy_view(g, n, &p->lg, &b_legacy, err);
    if (st != CL_OK) return st;
  }
  const cl_value *in[2] = {a, p->lg.on ? &b_legacy : b};
  const void *ptr[2] = {k->ptr[n->in[0]], k->ptr[n->in[1]]};
  ew_row_fn unary = p->kind == B_POW ? pow_const(g, n) : NULL;
  ew_loop_bind_values(l, &g->values[n->out[0]], k->ptr[n->out[0]], in, ptr, unary ? 1 : 2);
  if (unary) l->row = unary;
  else if (p->kind == B_POW) l->row = ew_pow_row(a->dtype, b->dtype);
  else l->row = ew_binary_row(p->op, a->dtype);
  if (p->kind == B_POW && !unary) l->grain = EW_GRAIN_HEAVY;
  if (a->dtype == CL_DTYPE_F32) ew_loop_fuse_clamp(l, n);
  return p->kind == B_PRELU ? prelu_xnn(g, n, in, k, s, err) : CL_OK;
}

/* Variadic: out = in0 op in1, then out = out op in_j for each further input (in place), then the
 * division of Mean. One input is a copy. */
static void prepare_variadic(const cl_graph *g, const cl_node *n, const bin_params *p,
                             const cl_kernel_ctx *k, ew_state *s) {
  int out = n->out[0], m = n->n_in;
  cl_dtype t = g->values[out].dtype;
  if (m == 1) {
    ew_loop_bind(&s->loops[0], g, out, n->in, 1, k);
    s->loops[0].row = ew_copy_row(cl_dtype_size(t));
  } else {
    ew_loop_bind(&s->loops[0], g, out, n->in, 2, k);
    s->loops[0].row = ew_binary_row(p->op, t);
    for (int j = 2; j < m; j++) {
      ew_loop_bind(&s->loops[j - 1], g, out, (int[]){out, n->in[j]}, 2, k);
      s->loops[j - 1].row = ew_binary_row(p->op, t);
    }
  }
  int last = m > 1 ? m - 2 : 0;
  if (p->mean && m > 1) {
    last = m - 1;
    ew_loop_bind(&s->loops[last], g, out, &out, 1, k);
    s->loops[last].row = ew_scale_row(t);
    s->loops[last].p[0].f64 = (double)m;
  }
  if (t == CL_DTYPE_F32) ew_loop_fuse_clamp(&s->loops[last], n);
}

cl_status ew_binary_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                            cl_error *err) {
  const bin_params *p = n->params;
  int loops = 1;
  if (p->kind == B_VARIADIC && n->n_in > 1) loops = n->n_in - 1 + p->mean;
  ew_state *s = ew_state_new(n, loops, err);
  if (!s) return CL_ERR_NOMEM;
  *state = s;
  if (p->kind != B_VARIADIC) return prepare_pair(g, n, p, k, s, err);
  prepare_variadic(g, n, p, k, s);
  return CL_OK;
}

/* === Run === */

cl_status ew_binary_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  const ew_state *s = state;
  if (s->xop) return xnn_run_operator(s->xop, k->pool) == xnn_status_success ? CL_OK : CL_ERR_BACKEND;
  for (int i = 0; i < s->n_loops; i++) ew_loop_run(&s->loops[i], k->pool);
  return CL_OK;
}
