/* cleave: Conv and ConvTranspose, 1-D and 2-D, float32, on XNNPACK's NHWC operators.
 *
 * Weights and bias are read from the graph's constants in prepare (the build pipeline may have
 * rewritten them, folding BatchNormalization), repacked once from ONNX's layout into XNNPACK's, and
 * the operator is created and set up on its final buffers: run is xnn_run_operator alone.
 * ConvTranspose padding that XNNPACK's deconvolution cannot express (negative leading padding from
 * output_shape, output padding not below the stride) runs on a plain NHWC gather loop instead. */
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "exec/ops_spatial.h"

/* === Parameters === */

typedef struct conv_params {
  cl_sp_attrs a; /* window attributes as written */
  int64_t group;
  int n_out_pad, n_out_shape;
  int64_t out_pad[2];   /* ConvTranspose output_padding, ONNX axis order */
  int64_t out_shape[4]; /* ConvTranspose output_shape: spatial sizes, or the whole shape */
  /* Resolved by infer: */
  cl_sp_window w; /* ConvTranspose: pad0/pad1 may be negative (output_shape) */
  int64_t batch, c_in, c_out;
  int64_t adj[2]; /* ConvTranspose output padding over [H, W] */
} conv_params;

cl_status cl_sp_conv_parse(cl_graph *g, cl_node *n, cl_error *err) {
  int transpose = strcmp(n->op_type, "ConvTranspose") == 0;
  const char *what = transpose ? "transposed convolution" : "convolution";
  int nin = cl_node_input_count(n);
  if (nin < 2 || nin > 3 || n->in[0] < 0 || n->in[1] < 0 || n->n_out < 1 || n->out[0] < 0)
    return cl_node_error(err, n, CL_ERR_FORMAT,
                         "expects inputs X, W and an optional B, and output Y");
  conv_params *p = calloc(1, sizeof *p);
  if (!p) return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory");
  free(n->params);
  n->params = p;
  cl_status s = cl_sp_parse_attrs(n, what, &p->a, err);
  if (s != CL_OK) return s;
  p->group = cl_node_attr_int(n, "group", 1);
  if (p->group < 1 || p->group > CL_SP_MAX_ATTR)
    return cl_node_error(err, n, CL_ERR_SHAPE, "group %lld is out of range", (long long)p->group);
  if (!transpose) return CL_OK;
  s = cl_sp_read_ints(n, "output_padding", 2, 0, p->out_pad, &p->n_out_pad, what, err);
  if (s == CL_OK)
    s = cl_sp_read_ints(n, "output_shape", 4, 1, p->out_shape, &p->n_out_shape, what, err);
  return s;
}

/* === Shape inference === */

/* Checks W's kernel dims against kernel_shape, and B (float [M]). */
static cl_status check_weights(const cl_graph *g, const cl_node *n, int64_t c_out, cl_error *err) {
  const cl_value *x = cl_node_input(g, n, 0), *w = cl_node_input(g, n, 1),
                 *b = cl_node_input(g, n, 2);
  const conv_params *p = n->params;
  char sh[96];
  if (p->a.n_kernel != 0 && p->a.n_kernel != x->rank - 2)
    return cl_node_error(err, n, CL_ERR_SHAPE, "kernel_shape has %d entries for %d spatial axes",
                         p->a.n_kernel, x->rank - 2);
  for (int i = 0; i < p->a.n_kernel; i++)
    if (p->a.kernel[i] != w->dims[2 + i])
      return cl_node_error(err, n, CL_ERR_SHAPE, "kernel_shape %lld differs from weights '%s' %s",
                           (long long)p->a.kernel[i], w->name,
                           cl_shape_str(w->rank, w->dims, sh, sizeof sh));
  for (int i = 2; i < w->rank; i++)
    if (w->dims[i] < 1 || w->dims[i] > CL_SP_MAX_ATTR)
      return cl_node_error(err, n, CL_ERR_SHAPE, "weights '%s' %s have an invalid kernel size",
                           w->name, cl_shape_str(w->rank, w->dims, sh, sizeof sh));
  if (b && (b->dtype != CL_DTYPE_F32 || b->rank != 1 || b->dims[0] != c_out))
    return cl_node_error(
        err, n, CL_ERR_SHAPE, "bias '%s' %s %s does not match %lld output channels", b->name,
        cl_dtype_name(b->dtype), cl_shape_str(b->rank, b->dims, sh, sizeof sh), (long long)c_out);
  return CL_OK;
}

/* W has X's rank, and channels of X, W and group agree: conv W is [M, C/group, k...],
 * ConvTranspose W is [C, M/group, k...]. */
static cl_status check_channels(const cl_graph *g, const cl_node *n, int transpose, cl_error *err) {
  conv_params *p = n->params;
  const cl_value *x = cl_node_input(g, n, 0), *w = cl_node_input(g, n, 1);
  int64_t c = x->dims[1], grp = p->group;
  char sh[96];
  cl_shape_str(w->rank, w->dims, sh, sizeof sh);
  if (w->rank != x->rank || w->dtype != CL_DTYPE_F32)
    return cl_node_error(err, n, CL_ERR_SHAPE, "weights '%s' %s %s do not match input rank %d",
                         w->name, cl_dtype_name(w->dtype), sh, x->rank);
  if (c % grp != 0)
    return cl_node_error(err, n, CL_ERR_SHAPE,
                         "%lld input channels are not divisible by group %lld", (long long)c,
                         (long long)grp);
  if (!transpose && (w->dims[1] * grp != c || w->dims[0] % grp != 0 || w->dims[0] < 1))
    return cl_node_error(err, n, CL_ERR_SHAPE,
                         "weights '%s' %s do not fit %lld input channels in %lld groups", w->name,
                         sh, (long long)c, (long long)grp);
  if (transpose && (w->dims[0] != c || w->dims[1] < 1))
    return cl_node_error(err, n, CL_ERR_SHAPE, "weights '%s' %s do not fit %lld input channels",
                         w->name, sh, (long long)c);
  p->batch = x->dims[0];
  p->c_in = c;
  p->c_out = transpose ? w->dims[1] * grp : w->dims[0];
  return CL_OK;
}

static cl_status set_output(cl_graph *g, const cl_node *n, cl_error *err) {
  const conv_params *p = n->params;
  int64_t dims[4];
  cl_sp_out_dims(&p->w, p->batch, p->c_out, dims);
  return cl_value_set_shape(cl_node_output(g, n, 0), CL_DTYPE_F32, p->w.nsp + 2, dims, err);
}

cl_status cl_sp_conv_infer(cl_graph *g, cl_node *n, cl_error *err) {
  conv_params *p = n->params;
  const cl_value *x = cl_node_input(g, n, 0), *w = cl_node_input(g, n, 1);
  cl_status s = cl_sp_check_input(n, x, "convolution", err);
  if (s == CL_OK) s = check_channels(g, n, 0, err);
  if (s == CL_OK) s = check_weights(g, n, p->c_out, err);
  if (s == CL_OK)
    s = cl_sp_window_init(n, &p->a, x->rank - 2, x->dims + 2, w->dims + 2, &p->w, err);
  if (s == CL_OK) s = cl_sp_window_forward(n, &p->a, 0, &p->w, err);
  if (s == CL_OK) s = set_output(g, n, err);
  return s;
}

/* Python's floor division by 2 (output_shape may ask for negative total padding). */
static int64_t floor_half(int64_t t) { return t >= 0 ? t / 2 : -((-t + 1) / 2); }

/* ConvTranspose padding and output size, per the ONNX definition:
 *   full = stride * (in - 1) + output_padding + dilated kernel,  out = full - pad0 - pad1;
 * with output_shape (or SAME_*, out = in * stride) the total padding full - out is split, the odd
 * element going to the end for SAME_UPPER and to the start otherwise. */
static cl_status deconv_window(const cl_node *n, conv_params *p, cl_error *err) {
  cl_sp_window *w = &p->w;
  int nsp = w->nsp, off = p->n_out_shape == nsp + 2 ? 2 : 0;
  if (p->n_out_pad != 0 && p->n_out_pad != nsp)
    return cl_node_error(err, n, CL_ERR_SHAPE, "output_padding has %d entries for %d spatial axes",
                         p->n_out_pad, nsp);
  if (p->n_out_shape != 0 && p->n_out_shape != nsp && p->n_out_shape != nsp + 2)
    return cl_node_error(err, n, CL_ERR_SHAPE, "output_shape has %d entries for %d spatial axes",
                         p->n_out_shape, nsp);
  for (int i = 2 - nsp; i < 2; i++) {
    int j = i - (2 - nsp);
    p->adj[i] = p->n_out_pad ? p->out_pad[j] : 0;
    int64_t full = w->stride[i] * (w->in[i] - 1) + p->adj[i] + cl_sp_dilated(w, i);
    int64_t want = -1;
    if (p->n_out_shape)
      want = p->out_shape[off + j];
    else if (p->a.auto_pad == CL_SP_SAME_UPPER || p->a.auto_pad == CL_SP_SAME_LOWER)
      want = w->in[i] * w->stride[i];
    if (want >= 0) {
      int64_t total = full - want;
      w->pad0[i] =
          p->a.auto_pad == CL_SP_SAME_UPPER ? floor_half(total) : total - floor_half(total);
      w->pad1[i] = total - w->pad0[i];
    } else if (p->a.auto_pad == CL_SP_NOTSET && p->a.n_pads) {
      w->pad0[i] = p->a.pads[j];
      w->pad1[i] = p->a.pads[j + nsp];
    }
    w->out[i] = full - w->pad0[i] - w->pad1[i];
    if (w->out[i] < 1 || w->out[i] > CL_MAX_DIM)
      return cl_node_error(err, n, CL_ERR_SHAPE, "spatial axis %d: output size would be %lld", j,
                           (long long)w->out[i]);
  }
  return CL_OK;
}

cl_status cl_sp_deconv_infer(cl_graph *g, cl_node *n, cl_error *err) {
  conv_params *p = n->params;
  const cl_value *x = cl_node_input(g, n, 0), *w = cl_node_input(g, n, 1);
  cl_status s = cl_sp_check_input(n, x, "transposed convolution", err);
  if (s == CL_OK) s = check_channels(g, n, 1, err);
  if (s == CL_OK) s = check_weights(g, n, p->c_out, err);
  if (s == CL_OK)
    s = cl_sp_window_init(n, &p->a, x->rank - 2, x->dims + 2, w->dims + 2, &p->w, err);
  if (s == CL_OK) s = deconv_window(n, p, err);
  if (s == CL_OK) s = set_output(g, n, err);
  return s;
}

/* === Prepare === */

typedef struct conv_state {
  cl_sp_stage io;    /* NHWC input and output */
  xnn_operator_t op; /* XNNPACK operator; NULL: the plain ConvTranspose loop runs */
  const conv_params *p;
  float *wt;         /* plain path: weights as [group][kh][kw][C/group][M/group] */
  float *shuffle;    /* stride == kernel path: 1x1 conv output [N][H][W][kh][kw][M], or NULL */
  const float *bias; /* plain path: M biases, or NULL */
  float lo, hi;      /* fused clamp */
} conv_state;

void cl_sp_conv_release(void *state) {
  conv_state *s = state;
  if (!s) return;
  if (s->op) xnn_delete_operator(s->op);
  cl_sp_stage_release(&s->io);
  free(s->wt);
  free(s->shuffle);
  free(s);
}

/* Common start of prepare: state, staging, constant weights and the fused clamp. */
static cl_status begin_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,
                               conv_state **out, const float **w, const float **b, cl_error *err) {
  const cl_value *wv = cl_node_input(g, n, 1), *bv = cl_node_input(g, n, 2);
  *out = NULL;
  if (!wv->is_const)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "weights '%s' must be constant", wv->name);
  if (bv && !bv->is_const)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "bias '%s' must be constant", bv->name);
  if (!(n->act_min < n->act_max))
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "fused clamp [%g, %g] is empty",
                         (double)n->act_min, (double)n->act_max);
  conv_state *s = calloc(1, sizeof *s);
  if (!s) return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory");
  cl_status st = cl_sp_stage_prepare(g, n, k, &s->io, err);
  if (st != CL_OK) {
    free(s);
    return st;
  }
  s->p = n->params;
  s->lo = n->act_min;
  s->hi = n->act_max;
  *w = wv->data;
  *b = bv ? bv->data : NULL;
  *out = s;
  return CL_OK;
}

static cl_status fail(conv_state *s, cl_status st) {
  cl_sp_conv_release(s);
  return st;
}

cl_status cl_sp_conv_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,
                             void **state, cl_error *err) {
  conv_state *s;
  const float *w, *b;
  cl_status st = begin_prepare(g, n, k, &s, &w, &b, err);
  if (st != CL_OK) return st;
  const conv_params *p = s->p;
  const cl_sp_window *win = &p->w;
  size_t grp = (size_t)p->group, gic = (size_t)(p->c_in / p->group),
         goc = (size_t)(p->c_out / p->group);
  size_t ks = (size_t)(win->kernel[0] * win->kernel[1]);
  /* XNNPACK wants [group][M/group][kh][kw][C/group]; ONNX has [M][C/group][kh][kw]. They agree when
   * C/group is 1 (depthwise, with or without multiplier) or the kernel is 1x1. */
  float *packed = NULL;
  if (gic > 1 && ks > 1) {
    packed = malloc((size_t)p->c_out * gic * ks * sizeof *packed);
    if (!packed)
      return fail(s, cl_node_error(err, n, CL_ERR_NOMEM, "out of memory packing weights"));
    for (size_t o = 0; o < (size_t)p->c_out; o++)
      for (size_t i = 0; i < gic; i++)
        for (size_t t = 0; t < ks; t++) packed[(o * ks + t) * gic + i] = w[(o * gic + i) * ks + t];
  }
  enum xnn_status xs = xnn_create_convolution2d_nhwc_f32(
      (uint32_t)win->pad0[0], (uint32_t)win->pad1[1], (uint32_t)win->pad1[0],
      (uint32_t)win->pad0[1], (uint32_t)win->kernel[0], (uint32_t)win->kernel[1],
      (uint32_t)win->stride[0], (uint32_t)win->stride[1], (uint32_t)win->dilation[0],
      (uint32_t)win->dilation[1], (uint32_t)grp, gic, goc, (size_t)p->c_in, (size_t)p->c_out,
      packed ? packed : w, b, s->lo, s->hi, 0, &s->op);
  free(packed);
  if (xs != xnn_status_success) return fail(s, cl_xnn_error(err, n, "convolution create", xs));
  xs = xnn_setup_convolution2d_nhwc_f32(s->op, (size_t)p->batch, (size_t)win->in[0],
                                        (size_t)win->in[1], s->io.x, s->io.y, k->pool);
  if (xs != xnn_status_success) return fail(s, cl_xnn_error(err, n, "convolution setup", xs));
  *state = s;
  return CL_OK;
}

/* Whether XNNPACK's deconvolution expresses this padding: non-negative leading padding, and the
 * output padding (plus any negative trailing padding, which extends the output) below the stride;
 * sizes within its 32-bit parameters. */
static int deconv_fits_xnn(const conv_params *p, int64_t *adj, int64_t *pad1) {
  for (int i = 0; i < 2; i++) {
    adj[i] = p->adj[i] + (p->w.pad1[i] < 0 ? -p->w.pad1[i] : 0);
    pad1[i] = p->w.pad1[i] < 0 ? 0 : p->w.pad1[i];
    if (p->w.pad0[i] < 0 || adj[i] >= p->w.stride[i]) return 0;
    if (p->w.pad0[i] > CL_SP_MAX_ATTR || pad1[i] > CL_SP_MAX_ATTR ||
        cl_sp_dilated(&p->w, i) > CL_SP_MAX_ATTR)
      return 0;
  }
  return 1;
}

/* Packs ONNX [C][M/group][kh][kw] as [group][M/group][kh][kw][C/group] (XNNPACK, xnn != 0) or as
 * [group][kh][kw][C/group][M/group] (plain loop). */
static void deconv_pack(const conv_params *p, const float *w, float *dst, int xnn) {
  size_t grp = (size_t)p->group, gic = (size_t)(p->c_in / p->group),
         goc = (size_t)(p->c_out / p->group);
  size_t ks = (size_t)(p->w.kernel[0] * p->w.kernel[1]);
  for (size_t gg = 0; gg < grp; gg++)
    for (size_t i = 0; i < gic; i++)
      for (size_t o = 0; o < goc; o++)
        for (size_t t = 0; t < ks; t++) {
          float v = w[((gg * gic + i) * goc + o) * ks + t];
          if (xnn)
            dst[((gg * goc + o) * ks + t) * gic + i] = v;
          else
            dst[((gg * ks + t) * gic + i) * goc + o] = v;
        }
}

/* A ConvTranspose whose kernel equals its stride (no dilation, padding or group) writes each output
 * pixel from exactly one input pixel: a 1x1 convolution to kh*kw*M channels, then a pixel shuffle.
 * Worth it when M is small, where XNNPACK's per-sub-kernel GEMMs have narrow outputs. */
static int deconv_is_shuffle(const conv_params *p) {
  const cl_sp_window *w = &p->w;
  if (p->group != 1 || p->c_out >= 16) return 0;
  for (int i = 0; i < 2; i++)
    if (w->kernel[i] != w->stride[i] || w->dilation[i] != 1 || w->pad0[i] != 0 || w->pad1[i] != 0 ||
        p->adj[i] != 0)
      return 0;
  return 1;
}

static cl_status prepare_shuffle(const cl_node *n, conv_state *s, const float *w, const float *b,
                                 pthreadpool_t pool, cl_error *err) {
  const conv_params *p = s->p;
  size_t c = (size_t)p->c_in, kk = (size_t)(p->w.kernel[0] * p->w.kernel[1]);
  size_t m = (size_t)p->c_out, j = kk * m; /* 1x1 conv outputs, ordered (ky, kx, m) */
  size_t pixels = (size_t)(p->batch * p->w.in[0] * p->w.in[1]);
  float *wt = malloc((j * c + j) * sizeof *wt);
  s->shuffle = cl_sp_alloc(pixels * j * sizeof(float));
  if (!wt || !s->shuffle) {
    free(wt);
    return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory for the transposed convolution");
  }
  float *bias = wt + j * c;
  for (size_t t = 0; t < kk; t++)
    for (size_t o = 0; o < m; o++) {
      bias[t * m + o] = b ? b[o] : 0.0f;
      for (size_t i = 0; i < c; i++) wt[(t * m + o) * c + i] = w[(i * m + o) * kk + t];
    }
  enum xnn_status xs = xnn_create_convolution2d_nhwc_f32(0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, c, j, c,
                                                         j, wt, bias, s->lo, s->hi, 0, &s->op);
  free(wt);
  if (xs == xnn_status_success)
    xs = xnn_setup_convolution2d_nhwc_f32(s->op, (size_t)p->batch, (size_t)p->w.in[0],
                                          (size_t)p->w.in[1], s->io.x, s->shuffle, pool);
  return xs == xnn_status_success ? CL_OK : cl_xnn_error(err, n, "deconvolution create", xs);
}

cl_status cl_sp_deconv_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,
                               void **state, cl_error *err) {
  conv_state *s;
  const float *w, *b;
  cl_status st = begin_prepare(g, n, k, &s, &w, &b, err);
  if (st != CL_OK) return st;
  const conv_params *p = s->p;
  const cl_sp_window *win = &p->w;
  if (deconv_is_shuffle(p)) {
    st = prepare_shuffle(n, s, w, b, k->pool, err);
    if (st != CL_OK) return fail(s, st);
    *state = s;
    return CL_OK;
  }
  size_t nw = (size_t)(p->c_in * (p->c_out / p->group) * win->kernel[0] * win->kernel[1]);
  int64_t adj[2], pad1[2];
  int xnn = deconv_fits_xnn(p, adj, pad1);
  float *packed = malloc(nw * sizeof *packed);
  if (!packed) return fail(s, cl_node_error(err, n, CL_ERR_NOMEM, "out of memory packing weights"));
  deconv_pack(p, w, packed, xnn);
  if (!xnn) { /* the plain loop keeps its packed weights */
    s->wt = packed;
    s->bias = b;
    *state = s;
    return CL_OK;
  }
  size_t grp = (size_t)p->group, gic = (size_t)(p->c_in / p->group),
         goc = (size_t)(p->c_out / p->group);
  enum xnn_status xs = xnn_create_deconvolution2d_nhwc_f32(
      (uint32_t)win->pad0[0], (uint32_t)pad1[1], (uint32_t)pad1[0], (uint32_t)win->pad0[1],
      (uint32_t)win->kernel[0], (uint32_t)win->kernel[1], (uint32_t)win->stride[0],
      (uint32_t)win->stride[1], (uint32_t)win->dilation[0], (uint32_t)win->dilation[1],
      (uint32_t)grp, gic, goc, (size_t)p->c_in, (size_t)p->c_out, packed, b, s->lo, s->hi, 0,
      &s->op);
  free(packed);
  if (xs != xnn_status_success) return fail(s, cl_xnn_error(err, n, "deconvolution create", xs));
  xs = xnn_setup_deconvolution2d_nhwc_f32(s->op, (size_t)p->batch, (size_t)win->in[0],
                                          (size_t)win->in[1], (uint32_t)adj[0], (uint32_t)adj[1],
                                          s->io.x, s->io.y, k->pool);
  if (xs != xnn_status_success) return fail(s, cl_xnn_error(err, n, "deconvolution setup", xs));
  *state = s;
  return CL_OK;
}

/* === Run === */

/* Plain ConvTranspose over output rows [begin, end) of N*OH: each output pixel gathers the input
 * pixels whose stride-spaced kernel footprint covers it. */
static void deconv_rows(void *ctx, size_t begin, size_t end) {
  const conv_state *s = ctx;
  const conv_params *p = s->p;
  const cl_sp_window *w = &p->w;
  const int64_t grp = p->group, gic = p->c_in / grp, goc = p->c_out / grp, cin = p->c_in;
  const int64_t m = p->c_out, kh = w->kernel[0], kw = w->kernel[1];
  const int64_t oh = w->out[0], ow = w->out[1], ih = w->in[0], iw = w->in[1];
  for (size_t r = begin; r < end; r++) {
    int64_t bt = (int64_t)r / oh, oy = (int64_t)r % oh;
    for (int64_t ox = 0; ox < ow; ox++) {
      float *restrict o = s->io.y + ((bt * oh + oy) * ow + ox) * m;
      for (int64_t c = 0; c < m; c++) o[c] = s->bias ? s->bias[c] : 0.0f;
      for (int64_t ky = 0; ky < kh; ky++) {
        int64_t ty = oy + w->pad0[0] - ky * w->dilation[0];
        if (ty < 0 || ty % w->stride[0] != 0 || ty / w->stride[0] >= ih) continue;
        for (int64_t kx = 0; kx < kw; kx++) {
          int64_t tx = ox + w->pad0[1] - kx * w->dilation[1];
          if (tx < 0 || tx % w->stride[1] != 0 || tx / w->stride[1] >= iw) continue;
          const float *xin =
              s->io.x + ((bt * ih + ty / w->stride[0]) * iw + tx / w->stride[1]) * cin;
          for (int64_t gg = 0; gg < grp; gg++)
            for (int64_t i = 0; i < gic; i++) {
              const float xv = xin[gg * gic + i];
              const float *restrict wr = s->wt + (((gg * kh + ky) * kw + kx) * gic + i) * goc;
              float *restrict og = o + gg * goc;
              for (int64_t c = 0; c < goc; c++) og[c] += xv * wr[c];
            }
        }
      }
      for (int64_t c = 0; c < m; c++) o[c] = o[c] < s->lo ? s->lo : (o[c] > s->hi ? s->hi : o[c]);
    }
  }
}

/* Pixel shuffle over rows [begin, end) of N*H*kh: input row iy and kernel row ky give output row
 * iy * kh + ky, made of W runs of kw*M values. */
static void shuffle_rows(void *ctx, size_t begin, size_t end) {
  const conv_state *s = ctx;
  const conv_params *p = s->p;
  const int64_t kh = p->w.kernel[0], kw = p->w.kernel[1], iw = p->w.in[1], m = p->c_out;
  const int64_t run = kw * m, ow = p->w.out[1];
  for (size_t r = begin; r < end; r++) {
    int64_t row = (int64_t)r / kh, ky = (int64_t)r % kh; /* row: n * H + iy */
    const float *src = s->shuffle + (row * iw * kh + ky) * run;
    float *restrict dst = s->io.y + (row * kh + ky) * ow * m;
    for (int64_t ix = 0; ix < iw; ix++)
      for (int64_t t = 0; t < run; t++) dst[ix * run + t] = src[ix * kh * run + t];
  }
}

cl_status cl_sp_conv_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  const conv_state *s = state;
  cl_sp_stage_in(&s->io, k->pool);
  if (s->op) {
    if (xnn_run_operator(s->op, k->pool) != xnn_status_success) return CL_ERR_BACKEND;
    if (s->shuffle)
      cl_parallel_for(k->pool, (size_t)(s->p->batch * s->p->w.in[0] * s->p->w.kernel[0]), 1,
                      shuffle_rows, (void *)s);
  } else {
    cl_parallel_for(k->pool, (size_t)(s->p->batch * s->p->w.out[0]), 1, deconv_rows, (void *)s);
  }
  cl_sp_stage_out(&s->io, k->pool);
  return CL_OK;
}
