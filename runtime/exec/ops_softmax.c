/* cleave: Softmax and LogSoftmax, float32.
 *
 * Opsets 1 to 12 coerce the input to 2-D at `axis` (default 1) and normalise over all the trailing
 * dims together; opset 13 normalises over the one axis (default -1). Either way the normalised axes
 * are one contiguous block of storage, [outer, R, inner]: XNNPACK's softmax_nc_f32 when inner is 1
 * (softmax only), plain loops otherwise. */
#include <math.h>
#include <string.h>
#include <xnnpack.h>

#include "exec/ops_tensor.h"

typedef struct {
  int log;   /* LogSoftmax */
  int first; /* normalised logical axes: [first, last] */
  int last;
} softmax_params;

cl_status cl_softmax_parse(cl_graph *g, cl_node *n, cl_error *err) {
  cl_status s = cl_tensor_params(n, sizeof(softmax_params), &n->params, err);
  if (s != CL_OK) return s;
  ((softmax_params *)n->params)->log = strcmp(n->op_type, "LogSoftmax") == 0;
  return CL_OK;
}

cl_status cl_softmax_infer(cl_graph *g, cl_node *n, cl_error *err) {
  softmax_params *p = n->params;
  const cl_value *in = cl_node_input(g, n, 0);
  cl_value *out = cl_node_output(g, n, 0);
  if (!in || !out) return cl_node_error(err, n, CL_ERR_FORMAT, "input or output 0 is missing");
  if (in->dtype != CL_DTYPE_F32)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "%s input (float only)", cl_dtype_name(in->dtype));
  int legacy = n->opset < 13, axis;
  int64_t a = cl_node_attr_int(n, "axis", legacy ? 1 : -1);
  /* Opsets 1-12 accept axis == rank (an empty trailing block) only in theory: refuse it. */
  cl_status s = cl_node_axis(n, a, in->rank, &axis, err);
  if (s != CL_OK) return s;
  p->first = axis;
  p->last = legacy ? in->rank - 1 : axis;
  return cl_value_set_shape(out, in->dtype, in->rank, in->dims, err);
}

typedef struct {
  size_t outer, r, inner; /* storage viewed as [outer, R, inner] */
  int log;
  xnn_operator_t xnn; /* softmax_nc_f32 bound to its buffers, or NULL */
} softmax_state;

void cl_softmax_release(void *state) {
  softmax_state *st = state;
  if (!st) return;
  if (st->xnn) xnn_delete_operator(st->xnn);
  free(st);
}

cl_status cl_softmax_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                             cl_error *err) {
  const softmax_params *p = n->params;
  const cl_value *in = cl_node_input(g, n, 0), *out = cl_node_output(g, n, 0);
  if (in->rank >= 3 && in->layout != out->layout)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "input and output in different layouts");
  int lo = CL_MAX_RANK, hi = -1;
  for (int a = p->first; a <= p->last; a++) {
    int q = cl_value_phys_axis(in, a);
    lo = q < lo ? q : lo;
    hi = q > hi ? q : hi;
  }
  if (hi - lo != p->last - p->first)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "normalised axes are not contiguous in storage");
  cl_status s = cl_tensor_state(n, sizeof(softmax_state), state, err);
  if (s != CL_OK) return s;
  softmax_state *st = *state;
  int64_t phys[CL_MAX_RANK];
  cl_value_phys_dims(in, phys);
  st->outer = st->r = st->inner = 1;
  st->log = p->log;
  for (int q = 0; q < in->rank; q++)
    *(q < lo ? &st->outer : q > hi ? &st->inner : &st->r) *= (size_t)phys[q];
  /* XNNPACK may read past its input's end: arena buffers have the slack, constants (folding) not. */
  if (p->log || st->inner != 1 || in->nbytes == 0 || in->is_const) return CL_OK;
  enum xnn_status xs = xnn_create_softmax_nc_f32(st->r, st->r, st->r, 0, &st->xnn);
  if (xs != xnn_status_success) return cl_xnn_error(err, n, "create softmax", xs);
  xs = xnn_setup_softmax_nc_f32(st->xnn, st->outer, k->ptr[n->in[0]], k->ptr[n->out[0]], k->pool);
  return xs == xnn_status_success ? CL_OK : cl_xnn_error(err, n, "setup softmax", xs);
}

/* === Plain kernels === */

enum { COLS = 64 };

typedef struct {
  const softmax_state *st;
  const float *x;
  float *y;
  size_t col_blocks; /* blocks of COLS along inner */
} softmax_job;

/* Max of a row. */
static float row_max(const float *x, size_t r) {
  cl_v4f mv = cl_v4f_splat(-INFINITY);
  size_t i = 0;
  for (; i + 4 <= r; i += 4) mv = cl_v4f_max(mv, cl_v4f_load(x + i));
  float m = fmaxf(fmaxf(mv[0], mv[1]), fmaxf(mv[2], mv[3]));
  for (; i < r; i++) m = x[i] > m ? x[i] : m;
  return m;
}

/* Sum of exp(x - m) along a row; y (may be NULL) receives the exponentials. */
static float row_exp_sum(const float *x, float *y, size_t r, float m) {
  cl_v4f sv = cl_v4f_splat(0.0f), mv = cl_v4f_splat(m);
  size_t i = 0;
  for (; i + 4 <= r; i += 4) {
    cl_v4f e = cl_v4f_exp(cl_v4f_load(x + i) - mv);
    if (y) cl_v4f_store(y + i, e);
    sv += e;
  }
  float sum = (sv[0] + sv[1]) + (sv[2] + sv[3]);
  for (; i < r; i++) {
    float e = expf(x[i] - m);
    if (y) y[i] = e;
    sum += e;
  }
  return sum;
}

/* One row (inner == 1). */
static void softmax_row(const float *x, float *y, size_t r, int log) {
  float m = row_max(x, r);
  if (log) {
    float ls = logf(row_exp_sum(x, NULL, r, m)); /* (x - m) - ls: m + ls would round away digits */
    for (size_t i = 0; i < r; i++) y[i] = (x[i] - m) - ls;
    return;
  }
  float inv = 1.0f / row_exp_sum(x, y, r, m);
  for (size_t i = 0; i < r; i++) y[i] *= inv;
}

/* Columns [0, nc) of one [R, inner] slab, normalised down R; nc <= COLS, a multiple of 4 but for
 * the slab's last block (whose tail is scalar). */
static void softmax_cols(const float *x, float *y, size_t r, size_t inner, size_t nc, int log) {
  cl_v4f m[COLS / 4], sum[COLS / 4];
  size_t nv = nc / 4, c0 = nv * 4;
  for (size_t v = 0; v < nv; v++) {
    m[v] = cl_v4f_splat(-INFINITY);
    sum[v] = cl_v4f_splat(0.0f);
  }
  for (size_t i = 0; i < r; i++)
    for (size_t v = 0; v < nv; v++) m[v] = cl_v4f_max(m[v], cl_v4f_load(x + i * inner + 4 * v));
  for (size_t i = 0; i < r; i++)
    for (size_t v = 0; v < nv; v++) {
      cl_v4f e = cl_v4f_exp(cl_v4f_load(x + i * inner + 4 * v) - m[v]);
      sum[v] += e;
      if (!log) cl_v4f_store(y + i * inner + 4 * v, e);
    }
  for (size_t v = 0; v < nv; v++) {
    if (log) {
      for (int l = 0; l < 4; l++) sum[v][l] = logf(sum[v][l]);
    } else {
      sum[v] = cl_v4f_splat(1.0f) / sum[v];
    }
  }
  for (size_t i = 0; i < r; i++)
    for (size_t v = 0; v < nv; v++) {
      float *yi = y + i * inner + 4 * v;
      cl_v4f out =
          log ? (cl_v4f_load(x + i * inner + 4 * v) - m[v]) - sum[v] : cl_v4f_load(yi) * sum[v];
      cl_v4f_store(yi, out);
    }
  for (size_t c = c0; c < nc; c++) { /* the last few columns: one strided row each */
    float mc = -INFINITY, s = 0.0f;
    for (size_t i = 0; i < r; i++) mc = fmaxf(mc, x[i * inner + c]);
    for (size_t i = 0; i < r; i++) s += expf(x[i * inner + c] - mc);
    float ls = logf(s), inv = 1.0f / s;
    for (size_t i = 0; i < r; i++) {
      float v = x[i * inner + c] - mc;
      y[i * inner + c] = log ? v - ls : expf(v) * inv;
    }
  }
}

static void softmax_units(void *ctx, size_t begin, size_t end) {
  const softmax_job *j = ctx;
  const softmax_state *st = j->st;
  for (size_t u = begin; u < end; u++) {
    if (st->inner == 1) {
      softmax_row(j->x + u * st->r, j->y + u * st->r, st->r, st->log);
      continue;
    }
    size_t o = u / j->col_blocks, c0 = (u % j->col_blocks) * COLS;
    size_t nc = st->inner - c0 < COLS ? st->inner - c0 : COLS;
    size_t base = o * st->r * st->inner + c0;
    softmax_cols(j->x + base, j->y + base, st->r, st->inner, nc, st->log);
  }
}

cl_status cl_softmax_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  const softmax_state *st = state;
  if (st->xnn) {
    xnn_run_operator(st->xnn, k->pool);
    return CL_OK;
  }
  if (st->outer * st->r * st->inner == 0) return CL_OK;
  softmax_job j = {st, k->ptr[n->in[0]], k->ptr[n->out[0]], (st->inner + COLS - 1) / COLS};
  size_t units = st->inner == 1 ? st->outer : st->outer * j.col_blocks;
  size_t unit_elems = st->r * (st->inner == 1 ? 1 : COLS);
  cl_parallel_for(k->pool, units, 16384 / unit_elems + 1, softmax_units, &j);
  return CL_OK;
}
