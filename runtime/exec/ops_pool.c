/* cleave: MaxPool, AveragePool (1-D, 2-D), GlobalAveragePool and GlobalMaxPool, float32.
 *
 * XNNPACK's pooling operators run wherever their semantics are ONNX's: every window overlaps the
 * input (XNNPACK replaces padding by the nearest edge pixel for max and leaves it out of the count
 * for average), no dilation across padding for max, padding excluded from the average's count (or
 * no padding at all), windows of two elements or more. Everything else runs on a plain NHWC loop
 * that follows the ONNX definition (and ONNX Runtime where the specification is silent). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "exec/ops_spatial.h"

/* === MaxPool, AveragePool: parameters and shapes === */

typedef struct pool_params {
  cl_sp_attrs a; /* window attributes as written */
  int is_max;    /* MaxPool (1) or AveragePool (0) */
  int ceil_mode;
  int count_include_pad; /* AveragePool: padding counts in the divisor */
  /* Resolved by infer: */
  cl_sp_window w;
  int64_t batch, channels;
} pool_params;

cl_status cl_sp_pool_parse(cl_graph *g, cl_node *n, cl_error *err) {
  int is_max = strcmp(n->op_type, "MaxPool") == 0;
  if (cl_node_input_count(n) != 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0)
    return cl_node_error(err, n, CL_ERR_FORMAT, "expects one input X and an output Y");
  if (n->n_out > 1 && n->out[1] >= 0)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "the Indices output is not supported");
  pool_params *p = calloc(1, sizeof *p);
  if (!p) return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory");
  free(n->params);
  n->params = p;
  p->is_max = is_max;
  cl_status s = cl_sp_parse_attrs(n, "pooling", &p->a, err);
  if (s != CL_OK) return s;
  if (p->a.n_kernel == 0)
    return cl_node_error(err, n, CL_ERR_FORMAT, "attribute kernel_shape is required");
  p->ceil_mode = cl_node_attr_int(n, "ceil_mode", 0) != 0;
  p->count_include_pad = !is_max && cl_node_attr_int(n, "count_include_pad", 0) != 0;
  for (int i = 0; i < p->a.n_dilations; i++) {
    if (p->a.dilations[i] == 1) continue;
    if (!is_max)
      return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "AveragePool dilations are not supported");
    /* The specification pads by the dilated kernel; ONNX Runtime and the ONNX reference do not. */
    if (p->a.auto_pad == CL_SP_SAME_UPPER || p->a.auto_pad == CL_SP_SAME_LOWER)
      return cl_node_error(err, n, CL_ERR_UNSUPPORTED,
                           "auto_pad SAME_UPPER/SAME_LOWER with dilations is not supported "
                           "(implementations disagree on its padding)");
  }
  return CL_OK;
}

cl_status cl_sp_pool_infer(cl_graph *g, cl_node *n, cl_error *err) {
  pool_params *p = n->params;
  const cl_value *x = cl_node_input(g, n, 0);
  cl_status s = cl_sp_check_input(n, x, "pooling", err);
  if (s != CL_OK) return s;
  if (p->a.n_kernel != x->rank - 2)
    return cl_node_error(err, n, CL_ERR_SHAPE, "kernel_shape has %d entries for %d spatial axes",
                         p->a.n_kernel, x->rank - 2);
  s = cl_sp_window_init(n, &p->a, x->rank - 2, x->dims + 2, p->a.kernel, &p->w, err);
  if (s == CL_OK) s = cl_sp_window_forward(n, &p->a, p->ceil_mode, &p->w, err);
  if (s != CL_OK) return s;
  p->batch = x->dims[0];
  p->channels = x->dims[1];
  int64_t dims[4];
  cl_sp_out_dims(&p->w, p->batch, p->channels, dims);
  return cl_value_set_shape(cl_node_output(g, n, 0), CL_DTYPE_F32, x->rank, dims, err);
}

/* === MaxPool, AveragePool: prepare and run === */

typedef struct pool_state {
  cl_sp_stage io;    /* NHWC input and output */
  xnn_operator_t op; /* NULL: the plain loop runs */
  const pool_params *p;
} pool_state;

void cl_sp_pool_release(void *state) {
  pool_state *s = state;
  if (!s) return;
  if (s->op) xnn_delete_operator(s->op);
  cl_sp_stage_release(&s->io);
  free(s);
}

/* Whether XNNPACK computes exactly this pooling; pad_end gets the trailing padding that makes its
 * (floor) output size ours, ceil_mode included. XNNPACK's dilated max pooling substitutes taps in
 * the padding by other pixels, on both axes and not always within the window: dilation runs on
 * XNNPACK only without any padding. */
static int pool_fits_xnn(const pool_params *p, int64_t *pad_end) {
  const cl_sp_window *w = &p->w;
  int dilated = w->dilation[0] > 1 || w->dilation[1] > 1, padded = 0;
  if (w->kernel[0] * w->kernel[1] < 2) return 0; /* XNNPACK refuses 1x1 pooling */
  for (int i = 0; i < 2; i++) {
    int64_t dk = cl_sp_dilated(w, i), last = (w->out[i] - 1) * w->stride[i] - w->pad0[i];
    if (w->pad0[i] >= dk || last >= w->in[i]) return 0; /* a window made of padding only */
    pad_end[i] = last + dk - w->in[i];
    if (pad_end[i] < 0) pad_end[i] = 0;
    if (dk > CL_SP_MAX_ATTR || pad_end[i] > CL_SP_MAX_ATTR) return 0; /* XNNPACK's uint32 sizes */
    if (!p->is_max && p->count_include_pad && (w->pad0[i] > 0 || w->pad1[i] > 0)) return 0;
    padded |= w->pad0[i] > 0 || pad_end[i] > 0;
  }
  return !(dilated && padded);
}

static enum xnn_status pool_create(const pool_params *p, const int64_t *pad_end,
                                   xnn_operator_t *op) {
  const cl_sp_window *w = &p->w;
  size_t c = (size_t)p->channels;
  if (p->is_max)
    return xnn_create_max_pooling2d_nhwc_f32(
        (uint32_t)w->pad0[0], (uint32_t)pad_end[1], (uint32_t)pad_end[0], (uint32_t)w->pad0[1],
        (uint32_t)w->kernel[0], (uint32_t)w->kernel[1], (uint32_t)w->stride[0],
        (uint32_t)w->stride[1], (uint32_t)w->dilation[0], (uint32_t)w->dilation[1], c, c, c,
        -INFINITY, INFINITY, 0, op);
  return xnn_create_average_pooling2d_nhwc_f32(
      (uint32_t)w->pad0[0], (uint32_t)pad_end[1], (uint32_t)pad_end[0], (uint32_t)w->pad0[1],
      (uint32_t)w->kernel[0], (uint32_t)w->kernel[1], (uint32_t)w->stride[0],
      (uint32_t)w->stride[1], c, c, c, -INFINITY, INFINITY, 0, op);
}

static enum xnn_status pool_setup(const pool_state *s, pthreadpool_t pool) {
  const pool_params *p = s->p;
  size_t bt = (size_t)p->batch, h = (size_t)p->w.in[0], w = (size_t)p->w.in[1];
  if (p->is_max) return xnn_setup_max_pooling2d_nhwc_f32(s->op, bt, h, w, s->io.x, s->io.y, pool);
  return xnn_setup_average_pooling2d_nhwc_f32(s->op, bt, h, w, s->io.x, s->io.y, pool);
}

cl_status cl_sp_pool_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,
                             void **state, cl_error *err) {
  pool_state *s = calloc(1, sizeof *s);
  if (!s) return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory");
  cl_status st = cl_sp_stage_prepare(g, n, k, &s->io, err);
  if (st != CL_OK) {
    free(s);
    return st;
  }
  s->p = n->params;
  const pool_params *p = s->p;
  int64_t pad_end[2];
  if (pool_fits_xnn(p, pad_end)) {
    const char *what = p->is_max ? "max pooling" : "average pooling";
    enum xnn_status xs = pool_create(p, pad_end, &s->op);
    if (xs == xnn_status_success) xs = pool_setup(s, k->pool);
    if (xs != xnn_status_success) {
      cl_sp_pool_release(s);
      return cl_xnn_error(err, n, what, xs);
    }
  }
  *state = s;
  return CL_OK;
}

/* Window along one axis for output o: first tap t0 and tap count of those inside the input, and the
 * number of taps inside the declared padding (AveragePool's count_include_pad divisor). */
typedef struct taps {
  int64_t start;  /* input coordinate of tap 0 */
  int64_t t0, nt; /* taps [t0, t0 + nt) are inside the input */
  int64_t padded; /* taps inside [-pad0, in + pad1) */
} taps;

static taps axis_taps(const cl_sp_window *w, int i, int64_t o) {
  taps t = {o * w->stride[i] - w->pad0[i], 0, 0, 0};
  for (int64_t k = 0; k < w->kernel[i]; k++) {
    int64_t c = t.start + k * w->dilation[i];
    if (c >= 0 && c < w->in[i]) {
      if (t.nt == 0) t.t0 = k;
      t.nt = k - t.t0 + 1;
    }
    if (c >= -w->pad0[i] && c < w->in[i] + w->pad1[i]) t.padded++;
  }
  return t;
}

/* Plain pooling over output rows [begin, end) of N*OH. Taps inside the input are contiguous in
 * kernel index, so each window is [t0, t0 + nt) along each axis. */
static void pool_rows(void *ctx, size_t begin, size_t end) {
  const pool_state *s = ctx;
  const pool_params *p = s->p;
  const cl_sp_window *w = &p->w;
  const int64_t c = p->channels, oh = w->out[0], ow = w->out[1], ih = w->in[0], iw = w->in[1];
  for (size_t r = begin; r < end; r++) {
    int64_t bt = (int64_t)r / oh, oy = (int64_t)r % oh;
    taps ty = axis_taps(w, 0, oy);
    for (int64_t ox = 0; ox < ow; ox++) {
      taps tx = axis_taps(w, 1, ox);
      float *restrict o = s->io.y + ((bt * oh + oy) * ow + ox) * c;
      for (int64_t ch = 0; ch < c; ch++) o[ch] = p->is_max ? -INFINITY : 0.0f;
      for (int64_t ky = ty.t0; ky < ty.t0 + ty.nt; ky++) {
        int64_t iy = ty.start + ky * w->dilation[0];
        for (int64_t kx = tx.t0; kx < tx.t0 + tx.nt; kx++) {
          int64_t ix = tx.start + kx * w->dilation[1];
          const float *restrict in = s->io.x + ((bt * ih + iy) * iw + ix) * c;
          if (p->is_max)
            for (int64_t ch = 0; ch < c; ch++) o[ch] = in[ch] > o[ch] ? in[ch] : o[ch];
          else
            for (int64_t ch = 0; ch < c; ch++) o[ch] += in[ch];
        }
      }
      if (p->is_max) continue;
      int64_t count = p->count_include_pad ? ty.padded * tx.padded : ty.nt * tx.nt;
      float scale = 1.0f / (float)count;
      for (int64_t ch = 0; ch < c; ch++) o[ch] *= scale;
    }
  }
}

cl_status cl_sp_pool_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  const pool_state *s = state;
  cl_sp_stage_in(&s->io, k->pool);
  if (s->op) {
    if (xnn_run_operator(s->op, k->pool) != xnn_status_success) return CL_ERR_BACKEND;
  } else {
    cl_parallel_for(k->pool, (size_t)(s->p->batch * s->p->w.out[0]), 1, pool_rows, (void *)s);
  }
  cl_sp_stage_out(&s->io, k->pool);
  return CL_OK;
}

/* === GlobalAveragePool, GlobalMaxPool === */

typedef struct global_state {
  xnn_operator_t op; /* GlobalAveragePool over NWC data; NULL: plain loops */
  const float *x;
  float *y; /* [N, C]: the same bytes in both layouts */
  int64_t batch, channels, spatial;
  int nwc; /* input stored [N, spatial, C] (channels-last, or both layouts agree) */
  int is_max;
} global_state;

cl_status cl_sp_global_parse(cl_graph *g, cl_node *n, cl_error *err) {
  if (cl_node_input_count(n) != 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0)
    return cl_node_error(err, n, CL_ERR_FORMAT, "expects one input X and an output Y");
  return CL_OK;
}

cl_status cl_sp_global_infer(cl_graph *g, cl_node *n, cl_error *err) {
  const cl_value *x = cl_node_input(g, n, 0);
  if (!x || x->rank < 0) return cl_node_error(err, n, CL_ERR_SHAPE, "input 'X' has no known shape");
  if (x->dtype != CL_DTYPE_F32)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED,
                         "input '%s' of type %s is not supported (float only)", x->name,
                         cl_dtype_name(x->dtype));
  if (x->rank < 3)
    return cl_node_error(err, n, CL_ERR_SHAPE, "input '%s' has rank %d (expected 3 or more)",
                         x->name, x->rank);
  int64_t dims[CL_MAX_RANK];
  for (int i = 0; i < x->rank; i++) {
    if (x->dims[i] < 1)
      return cl_node_error(err, n, CL_ERR_SHAPE, "input '%s' has an empty dimension %d", x->name,
                           i);
    dims[i] = i < 2 ? x->dims[i] : 1;
  }
  return cl_value_set_shape(cl_node_output(g, n, 0), CL_DTYPE_F32, x->rank, dims, err);
}

void cl_sp_global_release(void *state) {
  global_state *s = state;
  if (!s) return;
  if (s->op) xnn_delete_operator(s->op);
  free(s);
}

cl_status cl_sp_global_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,
                               void **state, cl_error *err) {
  const cl_value *x = cl_node_input(g, n, 0);
  global_state *s = calloc(1, sizeof *s);
  if (!s) return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory");
  s->x = k->ptr[n->in[0]];
  s->y = k->ptr[n->out[0]];
  s->batch = x->dims[0];
  s->channels = x->dims[1];
  s->spatial = 1;
  for (int i = 2; i < x->rank; i++) s->spatial *= x->dims[i];
  s->nwc = x->layout == CL_LAYOUT_CHANNELS_LAST || s->channels == 1 || s->spatial == 1;
  s->is_max = strcmp(n->op_type, "GlobalMaxPool") == 0;
  if (s->nwc && !s->is_max) {
    size_t c = (size_t)s->channels;
    enum xnn_status xs =
        xnn_create_global_average_pooling_nwc_f32(c, c, c, -INFINITY, INFINITY, 0, &s->op);
    if (xs == xnn_status_success)
      xs = xnn_setup_global_average_pooling_nwc_f32(s->op, (size_t)s->batch, (size_t)s->spatial,
                                                    s->x, s->y, k->pool);
    if (xs != xnn_status_success) {
      cl_sp_global_release(s);
      return cl_xnn_error(err, n, "global average pooling", xs);
    }
  }
  *state = s;
  return CL_OK;
}

enum { GLOBAL_CBLOCK = 64 };

/* NWC: task t covers batch t / blocks, channels of block t % blocks; reduces over the spatial axis
 * with the channel loop innermost. */
static void global_nwc(void *ctx, size_t begin, size_t end) {
  const global_state *s = ctx;
  const int64_t c = s->channels, blocks = (c + GLOBAL_CBLOCK - 1) / GLOBAL_CBLOCK;
  for (size_t t = begin; t < end; t++) {
    int64_t bt = (int64_t)t / blocks, c0 = ((int64_t)t % blocks) * GLOBAL_CBLOCK;
    int64_t c1 = c0 + GLOBAL_CBLOCK < c ? c0 + GLOBAL_CBLOCK : c;
    float *restrict o = s->y + bt * c;
    const float *x = s->x + bt * s->spatial * c;
    for (int64_t ch = c0; ch < c1; ch++) o[ch] = s->is_max ? -INFINITY : 0.0f;
    for (int64_t i = 0; i < s->spatial; i++) {
      const float *restrict in = x + i * c;
      if (s->is_max)
        for (int64_t ch = c0; ch < c1; ch++) o[ch] = in[ch] > o[ch] ? in[ch] : o[ch];
      else
        for (int64_t ch = c0; ch < c1; ch++) o[ch] += in[ch];
    }
    if (!s->is_max)
      for (int64_t ch = c0; ch < c1; ch++) o[ch] /= (float)s->spatial;
  }
}

/* PLAIN [N, C, spatial]: one contiguous reduction per (batch, channel) row. */
static void global_nchw(void *ctx, size_t begin, size_t end) {
  const global_state *s = ctx;
  for (size_t r = begin; r < end; r++) {
    const float *in = s->x + r * (size_t)s->spatial;
    float acc = s->is_max ? -INFINITY : 0.0f;
    for (int64_t i = 0; i < s->spatial; i++)
      acc = s->is_max ? (in[i] > acc ? in[i] : acc) : acc + in[i];
    s->y[r] = s->is_max ? acc : acc / (float)s->spatial;
  }
}

cl_status cl_sp_global_run(const cl_graph *g, const cl_node *n, void *state,
                           const cl_kernel_ctx *k) {
  const global_state *s = state;
  if (s->op) return xnn_run_operator(s->op, k->pool) == xnn_status_success ? CL_OK : CL_ERR_BACKEND;
  if (s->nwc) {
    size_t blocks = (size_t)((s->channels + GLOBAL_CBLOCK - 1) / GLOBAL_CBLOCK);
    cl_parallel_for(k->pool, (size_t)s->batch * blocks, 1, global_nwc, (void *)s);
  } else {
    size_t grain = (size_t)(s->spatial >= 4096 ? 1 : 4096 / s->spatial);
    cl_parallel_for(k->pool, (size_t)(s->batch * s->channels), grain, global_nchw, (void *)s);
  }
  return CL_OK;
}
