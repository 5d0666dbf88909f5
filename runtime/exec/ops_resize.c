/* cleave: Resize (opsets 10 to 18) and Upsample (7 to 10), modes nearest and linear.
 *
 * Coordinates follow the ONNX reference: x_original from the output index by the
 * coordinate_transformation_mode, with the given scale (or sizes / input size), then nearest_mode
 * rounding or linear interpolation between the two neighbours, clamped to the input (edge padding).
 * Before opset 11 (Upsample, Resize-10) the transform is asymmetric and nearest rounds down when
 * upsampling and up when downsampling, as those opsets' test data and ONNX Runtime have it.
 *
 * Both modes work on the tensors' storage order directly, whatever the layout: per-axis index
 * tables are built in prepare, and run copies contiguous blocks (a whole channel vector per pixel
 * in channels-last storage, and whole output rows when consecutive rows share a source row).
 * Linear resizes at most two adjacent spatial axes (bilinear); XNNPACK's bilinear operator runs
 * when its coordinates are exactly ONNX's (rank 4, channels-last, scale equal to out / in). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "exec/ops_spatial.h"

/* === Parameters === */

typedef enum rs_coord {
  RC_HALF_PIXEL,
  RC_PYTORCH_HALF_PIXEL,
  RC_ALIGN_CORNERS,
  RC_ASYMMETRIC,
  RC_TF_HALF_PIXEL_FOR_NN,
} rs_coord;

typedef enum rs_round {
  RR_PREFER_FLOOR,
  RR_PREFER_CEIL,
  RR_FLOOR,
  RR_CEIL,
  RR_LEGACY, /* before opset 11: floor when upsampling, ceil when downsampling */
} rs_round;

typedef struct resize_params {
  int linear; /* mode: linear (1) or nearest (0) */
  rs_coord coord;
  rs_round round;
  int keep_ratio; /* keep_aspect_ratio_policy: 0 stretch, 1 not_larger, 2 not_smaller */
  int n_axes;     /* axes attribute (opset 18), 0 when absent */
  int64_t axes[CL_MAX_RANK];
  int scales_in, sizes_in; /* input index of scales and sizes, -1 when the opset has none */
  int n_attr_scales;       /* Upsample-7 scales attribute, 0 when absent */
  float attr_scales[CL_MAX_RANK];
  /* Resolved by infer, per logical axis: */
  int rank;
  int64_t in[CL_MAX_RANK], out[CL_MAX_RANK];
  double scale[CL_MAX_RANK];  /* what the coordinate transform divides by */
  double length[CL_MAX_RANK]; /* output length the transform uses: scale * in, or sizes */
} resize_params;

static int lookup(const char *s, const char *const *names, int count) {
  for (int i = 0; i < count; i++)
    if (strcmp(s, names[i]) == 0) return i;
  return -1;
}

/* Opset 11+ attributes: coordinate_transformation_mode, nearest_mode, antialias, opset 18's. */
static cl_status parse_modern(const cl_node *n, resize_params *p, cl_error *err) {
  static const char *const coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                       "asymmetric", "tf_half_pixel_for_nn"};
  static const char *const rounds[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  static const char *const ratios[] = {"stretch", "not_larger", "not_smaller"};
  const char *c = cl_node_attr_string(n, "coordinate_transformation_mode");
  int v = c ? lookup(c, coords, 5) : RC_HALF_PIXEL;
  if (v < 0)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED,
                         "coordinate_transformation_mode '%.40s' is not supported", c);
  p->coord = (rs_coord)v;
  const char *r = cl_node_attr_string(n, "nearest_mode");
  v = r ? lookup(r, rounds, 4) : RR_PREFER_FLOOR;
  if (v < 0)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "nearest_mode '%.40s' is not supported", r);
  p->round = (rs_round)v;
  if (p->linear && cl_node_attr_int(n, "antialias", 0) != 0)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "antialias=1 is not supported");
  const char *k = cl_node_attr_string(n, "keep_aspect_ratio_policy");
  p->keep_ratio = k ? lookup(k, ratios, 3) : 0;
  if (p->keep_ratio < 0)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED,
                         "keep_aspect_ratio_policy '%.40s' is not supported", k);
  const int64_t *axes;
  p->n_axes = cl_node_attr_ints(n, "axes", &axes);
  if (p->n_axes > CL_MAX_RANK)
    return cl_node_error(err, n, CL_ERR_SHAPE, "axes has %d entries", p->n_axes);
  if (p->n_axes > 0) memcpy(p->axes, axes, (size_t)p->n_axes * sizeof *axes);
  p->scales_in = 2;
  p->sizes_in = 3;
  return CL_OK;
}

/* Upsample (7: scales attribute; 9, 10: scales input) and Resize-10 (scales input). */
static cl_status parse_legacy(const cl_node *n, resize_params *p, cl_error *err) {
  p->coord = RC_ASYMMETRIC;
  p->round = RR_LEGACY;
  p->sizes_in = -1;
  p->scales_in = 1;
  if (strcmp(n->op_type, "Upsample") != 0 || n->opset >= 9) return CL_OK;
  const float *sc;
  p->scales_in = -1;
  p->n_attr_scales = cl_node_attr_floats(n, "scales", &sc);
  if (p->n_attr_scales < 1 || p->n_attr_scales > CL_MAX_RANK)
    return cl_node_error(err, n, CL_ERR_FORMAT, "attribute scales is required (one per axis)");
  memcpy(p->attr_scales, sc, (size_t)p->n_attr_scales * sizeof *sc);
  return CL_OK;
}

cl_status cl_sp_resize_parse(cl_graph *g, cl_node *n, cl_error *err) {
  int legacy = strcmp(n->op_type, "Upsample") == 0 || n->opset < 11;
  if (n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0)
    return cl_node_error(err, n, CL_ERR_FORMAT, "expects an input X and an output Y");
  resize_params *p = calloc(1, sizeof *p);
  if (!p) return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory");
  free(n->params);
  n->params = p;
  const char *mode = cl_node_attr_string(n, "mode");
  if (mode == NULL || strcmp(mode, "nearest") == 0)
    p->linear = 0;
  else if (strcmp(mode, "linear") == 0)
    p->linear = 1;
  else
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "mode '%.40s' is not supported", mode);
  return legacy ? parse_legacy(n, p, err) : parse_modern(n, p, err);
}

/* === Coordinates === */

/* x_original of output index x along logical axis d. */
static double x_original(const resize_params *p, int d, int64_t x) {
  double sc = p->scale[d], len = p->length[d];
  switch (p->coord) {
  case RC_HALF_PIXEL: return ((double)x + 0.5) / sc - 0.5;
  case RC_PYTORCH_HALF_PIXEL: return len == 1.0 ? -0.5 : ((double)x + 0.5) / sc - 0.5;
  case RC_ALIGN_CORNERS: return len == 1.0 ? 0.0 : (double)x * (double)(p->in[d] - 1) / (len - 1.0);
  case RC_ASYMMETRIC: return (double)x / sc;
  case RC_TF_HALF_PIXEL_FOR_NN: return ((double)x + 0.5) / sc;
  }
  return 0.0;
}

static int64_t clamp_index(double v, int64_t in) {
  if (!(v > 0.0)) return 0; /* also NaN */
  if (v >= (double)(in - 1)) return in - 1;
  return (int64_t)v;
}

/* Nearest input index of output index x along axis d. */
static int64_t nearest_index(const resize_params *p, int d, int64_t x) {
  double v = x_original(p, d, x);
  switch (p->round) {
  case RR_PREFER_FLOOR: v = ceil(v - 0.5); break;
  case RR_PREFER_CEIL: v = floor(v + 0.5); break;
  case RR_FLOOR: v = floor(v); break;
  case RR_CEIL: v = ceil(v); break;
  case RR_LEGACY: v = p->scale[d] < 1.0 ? ceil(v) : floor(v); break;
  }
  return clamp_index(v, p->in[d]);
}

/* Linear neighbours i0, i1 of output index x along axis d and the weight of i1. */
static void linear_taps(const resize_params *p, int d, int64_t x, int64_t *i0, int64_t *i1,
                        float *w) {
  double v = x_original(p, d, x), f = floor(v);
  *w = (float)(v - f);
  *i0 = clamp_index(f, p->in[d]);
  *i1 = clamp_index(f + 1.0, p->in[d]);
}

/* Whether axis d maps every output index to the same input index (after clamping). An axis that
 * is not resized (scale 1) is left alone whatever the coordinate mode, as the ONNX reference does
 * (tf_half_pixel_for_nn with ceil would otherwise shift it by one). */
static int axis_identity(const resize_params *p, int d) {
  if (p->out[d] != p->in[d]) return 0;
  if (p->scale[d] == 1.0) return 1;
  for (int64_t x = 0; x < p->out[d]; x++) {
    if (!p->linear && nearest_index(p, d, x) != x) return 0;
    int64_t i0, i1;
    float w;
    if (p->linear) linear_taps(p, d, x, &i0, &i1, &w);
    if (p->linear && !((i0 == x && (w == 0.0f || i1 == x)) || (i1 == x && w == 1.0f))) return 0;
  }
  return 1;
}

/* === Shape inference === */

/* Reads scales (attribute or constant input) and sizes; exactly one must be non-empty. */
static cl_status read_targets(const cl_graph *g, const cl_node *n, const resize_params *p,
                              float **sc, int *nsc, int64_t **sz, int *nsz, cl_error *err) {
  cl_status s = CL_OK;
  *sc = NULL;
  *sz = NULL;
  *nsc = *nsz = -1;
  if (p->n_attr_scales > 0) {
    *sc = malloc(sizeof p->attr_scales);
    if (!*sc) return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory");
    memcpy(*sc, p->attr_scales, sizeof p->attr_scales);
    *nsc = p->n_attr_scales;
  } else if (p->scales_in >= 0) {
    s = cl_node_const_floats(g, n, p->scales_in, sc, nsc, err);
  }
  if (s == CL_OK && p->sizes_in >= 0) s = cl_node_const_ints(g, n, p->sizes_in, sz, nsz, err);
  if (s != CL_OK) return s;
  if (*nsc > 0 && *nsz > 0)
    return cl_node_error(err, n, CL_ERR_FORMAT, "only one of scales and sizes may be given");
  if (*nsc <= 0 && *nsz <= 0)
    return cl_node_error(err, n, CL_ERR_FORMAT, "scales or sizes is required");
  return CL_OK;
}

/* The logical axes that scales/sizes entries refer to (axes attribute, or all). */
static cl_status target_axes(const cl_node *n, const resize_params *p, int rank, int *axes,
                             int *count, cl_error *err) {
  int seen[CL_MAX_RANK] = {0};
  *count = p->n_axes ? p->n_axes : rank;
  for (int i = 0; i < *count; i++) {
    axes[i] = i;
    if (p->n_axes) {
      cl_status s = cl_node_axis(n, p->axes[i], rank, &axes[i], err);
      if (s != CL_OK) return s;
      if (seen[axes[i]]++)
        return cl_node_error(err, n, CL_ERR_FORMAT, "axis %d is repeated in axes", axes[i]);
    }
  }
  return CL_OK;
}

/* Fills p->scale, p->length and p->out for the target axes. */
static cl_status resolve_sizes(const cl_node *n, resize_params *p, const int *axes, int na,
                               const float *sc, const int64_t *sz, cl_error *err) {
  double keep = p->keep_ratio == 1 ? INFINITY : 0.0;
  for (int i = 0; i < na; i++) {
    int d = axes[i];
    if (sc) {
      if (!(sc[i] > 0.0f) || !isfinite(sc[i]))
        return cl_node_error(err, n, CL_ERR_SHAPE, "scale %g for axis %d must be positive",
                             (double)sc[i], d);
      p->scale[d] = sc[i];
      p->length[d] = (double)sc[i] * (double)p->in[d];
      p->out[d] = p->length[d] < (double)CL_MAX_DIM ? (int64_t)floor(p->length[d]) : CL_MAX_DIM + 1;
      continue;
    }
    if (sz[i] < 1 || sz[i] > CL_MAX_DIM)
      return cl_node_error(err, n, CL_ERR_SHAPE, "size %lld for axis %d is out of range",
                           (long long)sz[i], d);
    p->out[d] = sz[i];
    p->length[d] = (double)sz[i];
    p->scale[d] = (double)sz[i] / (double)p->in[d];
    if (p->keep_ratio == 1 && p->scale[d] < keep) keep = p->scale[d];
    if (p->keep_ratio == 2 && p->scale[d] > keep) keep = p->scale[d];
  }
  for (int i = 0; sz && p->keep_ratio && i < na; i++) {
    int d = axes[i];
    p->scale[d] = keep;
    p->length[d] = keep * (double)p->in[d];
    p->out[d] = (int64_t)(p->length[d] + 0.5);
  }
  for (int d = 0; d < p->rank; d++)
    if (p->out[d] < 1 || p->out[d] > CL_MAX_DIM)
      return cl_node_error(err, n, CL_ERR_SHAPE, "output size along axis %d would be %lld", d,
                           (long long)p->out[d]);
  return CL_OK;
}

/* Linear: the axes that change must be at most two adjacent ones, spatial when rank >= 3. */
static cl_status check_linear_axes(const cl_node *n, const resize_params *p, cl_error *err) {
  int first = -1, last = -1;
  for (int d = 0; d < p->rank; d++)
    if (!axis_identity(p, d)) {
      if (first < 0) first = d;
      last = d;
    }
  if (first < 0) return CL_OK;
  if (last - first > 1 || (p->rank >= 3 && first < 2))
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED,
                         "linear resize of axes %d to %d is not supported (at most two adjacent "
                         "spatial axes)",
                         first, last);
  return CL_OK;
}

cl_status cl_sp_resize_infer(cl_graph *g, cl_node *n, cl_error *err) {
  resize_params *p = n->params;
  const cl_value *x = cl_node_input(g, n, 0);
  if (!x || x->rank < 1)
    return cl_node_error(err, n, CL_ERR_SHAPE, "input 'X' must have rank >= 1");
  size_t es = cl_dtype_size(x->dtype);
  if (p->linear ? x->dtype != CL_DTYPE_F32 : (es != 1 && es != 2 && es != 4 && es != 8))
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "%s resize of type %s is not supported",
                         p->linear ? "linear" : "nearest", cl_dtype_name(x->dtype));
  p->rank = x->rank;
  for (int d = 0; d < x->rank; d++) {
    if (x->dims[d] < 1)
      return cl_node_error(err, n, CL_ERR_SHAPE, "input '%s' has an empty dimension %d", x->name,
                           d);
    p->in[d] = p->out[d] = x->dims[d];
    p->scale[d] = 1.0;
    p->length[d] = (double)x->dims[d];
  }
  float *sc;
  int64_t *sz;
  int nsc, nsz, axes[CL_MAX_RANK], na = 0;
  cl_status s = read_targets(g, n, p, &sc, &nsc, &sz, &nsz, err);
  if (s == CL_OK) s = target_axes(n, p, x->rank, axes, &na, err);
  if (s == CL_OK && (nsc > 0 ? nsc : nsz) != na)
    s = cl_node_error(err, n, CL_ERR_SHAPE, "%s has %d entries for %d axes",
                      nsc > 0 ? "scales" : "sizes", nsc > 0 ? nsc : nsz, na);
  if (s == CL_OK) s = resolve_sizes(n, p, axes, na, nsc > 0 ? sc : NULL, nsc > 0 ? NULL : sz, err);
  free(sc);
  free(sz);
  if (s == CL_OK && p->linear) s = check_linear_axes(n, p, err);
  if (s != CL_OK) return s;
  return cl_value_set_shape(cl_node_output(g, n, 0), x->dtype, x->rank, p->out, err);
}

/* === Prepare === */

typedef struct resize_state {
  xnn_operator_t op; /* XNNPACK bilinear; NULL: the plain kernels run */
  const unsigned char *x;
  unsigned char *y;
  size_t esize, nbytes; /* element size, output bytes */
  int linear;
  /* nearest, over physical axes: */
  int q;                          /* last physical axis that changes, -1: a plain copy */
  int64_t out_dims[CL_MAX_RANK];  /* physical output dims */
  int64_t in_stride[CL_MAX_RANK]; /* physical input strides, elements */
  int64_t *idx[CL_MAX_RANK];      /* per physical axis: output -> input index (NULL: identity) */
  size_t chunk;                   /* bytes after axis q (a contiguous identity block) */
  /* linear: [outer][H][W][inner] in storage order (H of size 1 when one axis changes) */
  int64_t outer, ih, iw, oh, ow, inner;
  int64_t *y0, *y1, *x0, *x1;
  float *wy, *wx;
  void *mem; /* the tables above, one allocation */
} resize_state;

void cl_sp_resize_release(void *state) {
  resize_state *s = state;
  if (!s) return;
  if (s->op) xnn_delete_operator(s->op);
  free(s->mem);
  free(s);
}

/* Nearest tables per physical axis; identity axes keep a NULL table. */
static cl_status prepare_nearest(const resize_params *p, const cl_value *xv, resize_state *s) {
  int64_t in_phys[CL_MAX_RANK], total = 0;
  cl_value_phys_dims(xv, in_phys);
  for (int d = 0; d < p->rank; d++) total += p->out[d];
  int64_t *t = s->mem = malloc((size_t)total * sizeof *t + 1);
  if (!t) return CL_ERR_NOMEM;
  s->q = -1;
  for (int ph = 0; ph < p->rank; ph++) {
    int d = cl_value_logical_axis(xv, ph);
    s->out_dims[ph] = p->out[d];
    if (axis_identity(p, d)) continue;
    s->idx[ph] = t;
    for (int64_t o = 0; o < p->out[d]; o++) t[o] = nearest_index(p, d, o);
    t += p->out[d];
    s->q = ph;
  }
  int64_t st = 1;
  for (int ph = p->rank - 1; ph >= 0; ph--) {
    s->in_stride[ph] = st;
    st *= in_phys[ph];
  }
  s->chunk = s->esize * (size_t)(s->q >= 0 ? s->in_stride[s->q] : 1);
  return CL_OK;
}

/* Linear tables: the changed axes are one or two adjacent physical axes [ph, pw]. */
static cl_status prepare_linear(const resize_params *p, const cl_value *xv, resize_state *s) {
  int first = -1, last = -1;
  for (int ph = 0; ph < p->rank; ph++)
    if (!axis_identity(p, cl_value_logical_axis(xv, ph))) {
      if (first < 0) first = ph;
      last = ph;
    }
  if (first < 0) return CL_OK; /* nothing changes: a copy */
  int64_t in_phys[CL_MAX_RANK];
  cl_value_phys_dims(xv, in_phys);
  int dh = cl_value_logical_axis(xv, first),
      dw = last > first ? cl_value_logical_axis(xv, last) : -1;
  s->outer = s->inner = 1;
  for (int ph = 0; ph < first; ph++) s->outer *= in_phys[ph];
  for (int ph = last + 1; ph < p->rank; ph++) s->inner *= in_phys[ph];
  s->ih = p->in[dh];
  s->oh = p->out[dh];
  s->iw = dw >= 0 ? p->in[dw] : 1;
  s->ow = dw >= 0 ? p->out[dw] : 1;
  size_t n = (size_t)(s->oh + s->ow);
  unsigned char *m = s->mem = malloc(n * (2 * sizeof(int64_t) + sizeof(float)) + 1);
  if (!m) return CL_ERR_NOMEM;
  s->y0 = (int64_t *)(void *)m;
  s->y1 = s->y0 + s->oh;
  s->x0 = s->y1 + s->oh;
  s->x1 = s->x0 + s->ow;
  s->wy = (float *)(void *)(s->x1 + s->ow);
  s->wx = s->wy + s->oh;
  for (int64_t o = 0; o < s->oh; o++) linear_taps(p, dh, o, &s->y0[o], &s->y1[o], &s->wy[o]);
  for (int64_t o = 0; o < s->ow; o++) {
    s->x0[o] = s->x1[o] = 0; /* one changed axis: W is a unit axis */
    s->wx[o] = 0.0f;
    if (dw >= 0) linear_taps(p, dw, o, &s->x0[o], &s->x1[o], &s->wx[o]);
  }
  s->q = first;
  return CL_OK;
}

/* XNNPACK's bilinear resize computes ONNX's coordinates when the data is NHWC, only H and W change,
 * every scale is out / in, and the mode is one it has (pytorch_half_pixel differs for 1-pixel
 * outputs). Returns its flags, or -1. */
static int xnn_bilinear_flags(const resize_params *p, const cl_value *xv) {
  if (p->rank != 4 || xv->layout != CL_LAYOUT_CHANNELS_LAST || !p->linear) return -1;
  if (p->out[0] != p->in[0] || p->out[1] != p->in[1] || p->scale[0] != 1.0 || p->scale[1] != 1.0)
    return -1;
  for (int d = 2; d < 4; d++) {
    if (p->scale[d] != (double)p->out[d] / (double)p->in[d]) return -1;
    if (p->coord == RC_PYTORCH_HALF_PIXEL && p->out[d] == 1 && p->in[d] != 1) return -1;
  }
  switch (p->coord) {
  case RC_HALF_PIXEL:
  case RC_PYTORCH_HALF_PIXEL: return 0;
  case RC_ALIGN_CORNERS: return XNN_FLAG_ALIGN_CORNERS;
  case RC_ASYMMETRIC: return XNN_FLAG_TENSORFLOW_LEGACY_MODE;
  default: return -1;
  }
}

static int try_xnn(const resize_params *p, const cl_value *xv, resize_state *s, const float *x,
                   float *y, pthreadpool_t pool) {
  int flags = xnn_bilinear_flags(p, xv);
  if (flags < 0) return 0;
  size_t c = (size_t)p->in[1];
  enum xnn_status xs = xnn_create_resize_bilinear2d_nhwc_f32(c, c, c, (uint32_t)flags, &s->op);
  if (xs == xnn_status_success)
    xs = xnn_setup_resize_bilinear2d_nhwc_f32(s->op, (size_t)p->in[0], (size_t)p->in[2],
                                              (size_t)p->in[3], (size_t)p->out[2],
                                              (size_t)p->out[3], x, y, pool);
  if (xs == xnn_status_success) return 1;
  if (s->op) xnn_delete_operator(s->op); /* out of XNNPACK's range: the plain kernel does it */
  s->op = NULL;
  return 0;
}

cl_status cl_sp_resize_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,
                               void **state, cl_error *err) {
  const resize_params *p = n->params;
  const cl_value *xv = cl_node_input(g, n, 0), *yv = cl_node_output(g, n, 0);
  if (xv->rank >= 3 && xv->layout != yv->layout)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "input and output layouts differ");
  resize_state *s = calloc(1, sizeof *s);
  if (!s) return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory");
  s->x = k->ptr[n->in[0]];
  s->y = k->ptr[n->out[0]];
  s->esize = cl_dtype_size(xv->dtype);
  s->nbytes = yv->nbytes;
  s->linear = p->linear;
  s->q = -1;
  cl_status st = CL_OK;
  if (!p->linear)
    st = prepare_nearest(p, xv, s);
  else if (!try_xnn(p, xv, s, k->ptr[n->in[0]], k->ptr[n->out[0]], k->pool))
    st = prepare_linear(p, xv, s);
  if (st != CL_OK) {
    cl_sp_resize_release(s);
    return cl_node_error(err, n, st, "out of memory for resize tables");
  }
  *state = s;
  return CL_OK;
}

/* === Run === */

/* Copies `count` chunks of `chunk` bytes from src at the indexed chunk positions. */
static void gather_chunks(unsigned char *restrict dst, const unsigned char *restrict src,
                          const int64_t *idx, int64_t count, size_t chunk) {
  switch (chunk) {
  case 1:
    for (int64_t j = 0; j < count; j++) dst[j] = src[idx[j]];
    return;
  case 4: {
    uint32_t *d = (uint32_t *)(void *)dst;
    const uint32_t *sr = (const uint32_t *)(const void *)src;
    for (int64_t j = 0; j < count; j++) d[j] = sr[idx[j]];
    return;
  }
  default:
    for (int64_t j = 0; j < count; j++)
      memcpy(dst + (size_t)j * chunk, src + (size_t)idx[j] * chunk, chunk);
  }
}

/* Nearest over output lines [begin, end): a line is every index of the physical axes before q;
 * along q it gathers chunks. A line whose source line is the previous line's copies that. */
static void nearest_lines(void *ctx, size_t begin, size_t end) {
  const resize_state *s = ctx;
  const int q = s->q;
  const size_t line = (size_t)s->out_dims[q] * s->chunk;
  for (size_t l = begin; l < end; l++) {
    size_t rem = l;
    int64_t off = 0;
    int repeat = 0;
    for (int ph = q - 1; ph >= 0; ph--) {
      int64_t o = (int64_t)(rem % (size_t)s->out_dims[ph]), i = s->idx[ph] ? s->idx[ph][o] : o;
      rem /= (size_t)s->out_dims[ph];
      off += i * s->in_stride[ph];
      if (ph == q - 1) repeat = l > begin && o > 0 && s->idx[ph] && s->idx[ph][o - 1] == i;
    }
    unsigned char *dst = s->y + l * line;
    if (repeat)
      memcpy(dst, dst - line, line);
    else
      gather_chunks(dst, s->x + (size_t)off * s->esize, s->idx[q], s->out_dims[q], s->chunk);
  }
}

/* Bilinear over rows [begin, end) of outer * OH: four source rows blended per output pixel, the
 * `inner` block (channels in channels-last storage) innermost. */
static void linear_rows(void *ctx, size_t begin, size_t end) {
  const resize_state *s = ctx;
  const int64_t inner = s->inner, ow = s->ow;
  const float *x = (const float *)(const void *)s->x;
  for (size_t r = begin; r < end; r++) {
    int64_t o = (int64_t)r / s->oh, oy = (int64_t)r % s->oh;
    const float *top = x + ((o * s->ih + s->y0[oy]) * s->iw) * inner;
    const float *bot = x + ((o * s->ih + s->y1[oy]) * s->iw) * inner;
    const float fy = s->wy[oy];
    float *dst = (float *)(void *)s->y + (size_t)r * (size_t)(ow * inner);
    for (int64_t ox = 0; ox < ow; ox++) {
      const float *restrict a0 = top + s->x0[ox] * inner, *restrict a1 = top + s->x1[ox] * inner;
      const float *restrict b0 = bot + s->x0[ox] * inner, *restrict b1 = bot + s->x1[ox] * inner;
      float *restrict d = dst + ox * inner;
      const float fx = s->wx[ox];
      for (int64_t c = 0; c < inner; c++) {
        float t = a0[c] + fx * (a1[c] - a0[c]), b = b0[c] + fx * (b1[c] - b0[c]);
        d[c] = t + fy * (b - t);
      }
    }
  }
}

cl_status cl_sp_resize_run(const cl_graph *g, const cl_node *n, void *state,
                           const cl_kernel_ctx *k) {
  const resize_state *s = state;
  if (s->op) return xnn_run_operator(s->op, k->pool) == xnn_status_success ? CL_OK : CL_ERR_BACKEND;
  if (s->q < 0) {
    memcpy(s->y, s->x, s->nbytes);
    return CL_OK;
  }
  if (s->linear) {
    size_t rows = (size_t)(s->outer * s->oh), work = (size_t)(s->ow * s->inner);
    cl_parallel_for(k->pool, rows, work >= 4096 ? 1 : 4096 / (work + 1) + 1, linear_rows,
                    (void *)s);
    return CL_OK;
  }
  size_t lines = 1, line = (size_t)s->out_dims[s->q] * s->chunk;
  for (int ph = 0; ph < s->q; ph++) lines *= (size_t)s->out_dims[ph];
  cl_parallel_for(k->pool, lines, line >= 16384 ? 1 : 16384 / (line + 1) + 1, nearest_lines,
                  (void *)s);
  return CL_OK;
}
