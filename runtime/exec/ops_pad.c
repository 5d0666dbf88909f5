/* cleave: Pad (constant, reflect, edge; opsets 1 to 18) and Tile, through index remapping tables;
 * 4-byte constant padding uses XNNPACK's constant_pad_nd_x32. */
#include <math.h>
#include <string.h>
#include <xnnpack.h>

#include "exec/ops_tensor.h"

static cl_status need_input(const cl_graph *g, const cl_node *n, int i, const cl_value **out,
                            cl_error *err) {
  const cl_value *v = cl_node_input(g, n, i);
  if (!v) return cl_node_error(err, n, CL_ERR_FORMAT, "input %d is missing", i);
  if (v->rank < 0 || v->dtype == CL_DTYPE_UNDEFINED)
    return cl_node_error(err, n, CL_ERR_SHAPE, "input '%s' has no known shape", v->name);
  *out = v;
  return CL_OK;
}

static cl_status set_out(cl_graph *g, const cl_node *n, cl_dtype dtype, int rank, const int64_t *dims,
                         cl_error *err) {
  cl_value *o = cl_node_output(g, n, 0);
  if (!o) return cl_node_error(err, n, CL_ERR_FORMAT, "output 0 is missing");
  return cl_value_set_shape(o, dtype, rank, dims, err);
}

/* === Shared kernel: remapping or a plain copy (rank 0) === */

typedef struct {
  cl_remap *remap;    /* NULL: XNNPACK or plain copy */
  xnn_operator_t xnn; /* constant_pad_nd_x32, bound to its buffers */
  size_t copy_bytes;  /* rank 0: bytes to copy */
} remap_state;

static cl_status remap_prepare(const cl_node *n, const cl_value *in, const cl_value *out,
                               const int64_t *const *tables, const void *fill, void **state,
                               cl_error *err) {
  cl_status s = cl_tensor_state(n, sizeof(remap_state), state, err);
  if (s != CL_OK) return s;
  remap_state *st = *state;
  if (out->rank == 0) {
    st->copy_bytes = out->nbytes;
    return CL_OK;
  }
  int64_t in_phys[CL_MAX_RANK], out_phys[CL_MAX_RANK], in_stride[CL_MAX_RANK], acc = 1;
  cl_value_phys_dims(in, in_phys);
  cl_value_phys_dims(out, out_phys);
  for (int q = in->rank - 1; q >= 0; q--) {
    in_stride[q] = acc;
    acc *= in_phys[q];
  }
  st->remap = cl_remap_new(out->rank, out_phys, in_stride, tables, cl_dtype_size(out->dtype), fill);
  return st->remap ? CL_OK : cl_node_error(err, n, CL_ERR_NOMEM, "out of memory");
}

static void remap_run(const remap_state *st, const void *src, void *dst, pthreadpool_t pool) {
  if (st->xnn) xnn_run_operator(st->xnn, pool);
  else if (st->remap) cl_remap_run_all(st->remap, src, dst, pool);
  else if (st->copy_bytes) memcpy(dst, src, st->copy_bytes);
}

void cl_pad_release(void *state) {
  remap_state *st = state;
  if (!st) return;
  if (st->xnn) xnn_delete_operator(st->xnn);
  free(st->remap);
  free(st);
}

/* === Pad === */

typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE } pad_mode;

typedef struct {
  pad_mode mode;
  int64_t before[CL_MAX_RANK], after[CL_MAX_RANK]; /* per logical axis (infer) */
  uint64_t fill;                                   /* constant mode: the value's bytes (infer) */
} pad_params;

cl_status cl_pad_parse(cl_graph *g, cl_node *n, cl_error *err) {
  cl_status s = cl_tensor_params(n, sizeof(pad_params), &n->params, err);
  if (s != CL_OK) return s;
  pad_params *p = n->params;
  const char *mode = cl_node_attr_string(n, "mode");
  if (!mode || strcmp(mode, "constant") == 0) p->mode = PAD_CONSTANT;
  else if (strcmp(mode, "reflect") == 0) p->mode = PAD_REFLECT;
  else if (strcmp(mode, "edge") == 0) p->mode = PAD_EDGE;
  else return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "mode '%.40s' is not supported", mode);
  return CL_OK;
}

/* Pad-1..10's float `value` attribute in the data's type. */
static cl_status attr_fill(const cl_node *n, cl_dtype t, uint64_t *fill, cl_error *err) {
  float v = cl_node_attr_float(n, "value", 0.0f);
  *fill = 0;
  if (v == 0.0f) return CL_OK;
  switch (t) {
  case CL_DTYPE_F32: memcpy(fill, &v, 4); return CL_OK;
  case CL_DTYPE_F64: {
    double d = v;
    memcpy(fill, &d, 8);
    return CL_OK;
  }
  case CL_DTYPE_I8:
  case CL_DTYPE_U8:
  case CL_DTYPE_I16:
  case CL_DTYPE_U16:
  case CL_DTYPE_I32:
  case CL_DTYPE_U32:
  case CL_DTYPE_I64:
  case CL_DTYPE_U64:
  case CL_DTYPE_BOOL: {
    int64_t i = (int64_t)v;
    memcpy(fill, &i, cl_dtype_size(t)); /* little-endian: the low bytes */
    return CL_OK;
  }
  default:
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "a non-zero pad value for %s data",
                         cl_dtype_name(t));
  }
}

/* Pad-11+'s constant_value input: a constant of the data's type, one element. */
static cl_status input_fill(const cl_graph *g, const cl_node *n, const cl_value *in, uint64_t *fill,
                            cl_error *err) {
  const cl_value *c = cl_node_input(g, n, 2);
  *fill = 0;
  if (!c) return CL_OK;
  if (!c->is_const)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "input 'constant_value' must be constant");
  if (c->dtype != in->dtype)
    return cl_node_error(err, n, CL_ERR_SHAPE, "constant_value is %s but the data is %s",
                         cl_dtype_name(c->dtype), cl_dtype_name(in->dtype));
  if (c->nbytes > 0) memcpy(fill, c->data, cl_dtype_size(c->dtype));
  return CL_OK;
}

/* pads (2 * count entries: all befores, then all afters) onto the axes they name. */
static cl_status pad_amounts(const cl_graph *g, const cl_node *n, const cl_value *in, pad_params *p,
                             cl_error *err) {
  const int64_t *pv = NULL;
  int64_t *iv = NULL;
  int cnt = -1, axes[CL_MAX_RANK], n_axes = in->rank;
  cl_status s = CL_OK;
  if (n->opset >= 11) {
    if (!cl_node_input(g, n, 1)) return cl_node_error(err, n, CL_ERR_FORMAT, "input 'pads' is missing");
    s = cl_node_const_ints(g, n, 1, &iv, &cnt, err);
    pv = iv;
  } else {
    const char *name = n->opset < 2 && cl_node_attr(n, "paddings") ? "paddings" : "pads";
    if (!cl_node_attr(n, name))
      return cl_node_error(err, n, CL_ERR_FORMAT, "attribute 'pads' is missing");
    cnt = cl_node_attr_ints(n, name, &pv);
  }
  if (s == CL_OK && n->opset >= 18 && cl_node_input(g, n, 3)) {
    s = cl_tensor_axes(g, n, NULL, 3, in->rank, axes, &n_axes, err);
  } else {
    for (int a = 0; a < in->rank; a++) axes[a] = a;
  }
  if (s == CL_OK && cnt != 2 * n_axes)
    s = cl_node_error(err, n, CL_ERR_SHAPE, "pads has %d entries; %d expected", cnt, 2 * n_axes);
  for (int a = 0; a < in->rank; a++) p->before[a] = p->after[a] = 0;
  for (int i = 0; s == CL_OK && i < n_axes; i++) {
    int64_t b = pv[i], e = pv[i + n_axes];
    if (b < -CL_MAX_DIM || b > CL_MAX_DIM || e < -CL_MAX_DIM || e > CL_MAX_DIM)
      s = cl_node_error(err, n, CL_ERR_LIMIT, "pads of axis %d are too large", axes[i]);
    p->before[axes[i]] = b;
    p->after[axes[i]] = e;
  }
  free(iv);
  return s;
}

cl_status cl_pad_infer(cl_graph *g, cl_node *n, cl_error *err) {
  pad_params *p = n->params;
  const cl_value *in = NULL;
  cl_status s = need_input(g, n, 0, &in, err);
  if (s == CL_OK) s = pad_amounts(g, n, in, p, err);
  if (s == CL_OK && p->mode == PAD_CONSTANT)
    s = n->opset >= 11 ? input_fill(g, n, in, &p->fill, err) : attr_fill(n, in->dtype, &p->fill, err);
  if (s != CL_OK) return s;
  int64_t out[CL_MAX_RANK];
  for (int a = 0; a < in->rank; a++) {
    out[a] = in->dims[a] + p->before[a] + p->after[a];
    if (out[a] < 0)
      return cl_node_error(err, n, CL_ERR_SHAPE, "pads make axis %d of size %lld negative", a,
                           (long long)in->dims[a]);
    if (p->mode != PAD_CONSTANT && in->dims[a] == 0 && out[a] > 0)
      return cl_node_error(err, n, CL_ERR_SHAPE, "cannot %s-pad the empty axis %d",
                           p->mode == PAD_EDGE ? "edge" : "reflect", a);
  }
  return set_out(g, n, in->dtype, in->rank, out, err);
}

/* Input index for output index o along an axis of size dim padded by `before`; -1: the fill value. */
static int64_t pad_index(pad_mode mode, int64_t o, int64_t before, int64_t dim) {
  int64_t i = o - before;
  if (i >= 0 && i < dim) return i;
  if (mode == PAD_CONSTANT) return -1;
  if (mode == PAD_EDGE || dim == 1) return i < 0 ? 0 : dim - 1;
  int64_t period = 2 * (dim - 1); /* reflect without repeating the edge, as numpy does */
  i %= period;
  if (i < 0) i += period;
  return i < dim ? i : period - i;
}

/* XNNPACK's constant padding when it applies: 4-byte data, no cropping, rank <= 6, non-empty, and an
 * input in the arena (XNNPACK may read past a buffer's end: constants lack that slack). */
static cl_status pad_xnn(const cl_node *n, const cl_value *in, const cl_value *out, const pad_params *p,
                         const cl_kernel_ctx *k, remap_state *st, cl_error *err) {
  size_t shape[XNN_MAX_TENSOR_DIMS], pre[XNN_MAX_TENSOR_DIMS], post[XNN_MAX_TENSOR_DIMS];
  int64_t phys[CL_MAX_RANK];
  cl_value_phys_dims(in, phys);
  for (int q = 0; q < in->rank; q++) {
    int a = cl_value_logical_axis(in, q);
    shape[q] = (size_t)phys[q];
    pre[q] = (size_t)p->before[a];
    post[q] = (size_t)p->after[a];
  }
  uint32_t fill32 = (uint32_t)p->fill;
  enum xnn_status xs = xnn_create_constant_pad_nd_x32(&fill32, 0, &st->xnn);
  if (xs != xnn_status_success) return cl_xnn_error(err, n, "create constant_pad", xs);
  xs = xnn_setup_constant_pad_nd_x32(st->xnn, (size_t)in->rank, shape, pre, post, k->ptr[n->in[0]],
                                     k->ptr[n->out[0]], k->pool);
  return xs == xnn_status_success ? CL_OK : cl_xnn_error(err, n, "setup constant_pad", xs);
}

static int pad_xnn_applies(const cl_value *in, const cl_value *out, const pad_params *p) {
  if (p->mode != PAD_CONSTANT || cl_dtype_size(in->dtype) != 4 || in->rank < 1 ||
      in->rank > XNN_MAX_TENSOR_DIMS || in->nbytes == 0 || out->nbytes == 0 || in->is_const)
    return 0;
  for (int a = 0; a < in->rank; a++)
    if (p->before[a] < 0 || p->after[a] < 0) return 0;
  return 1;
}

cl_status cl_pad_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                         cl_error *err) {
  const pad_params *p = n->params;
  const cl_value *in = cl_node_input(g, n, 0), *out = cl_node_output(g, n, 0);
  if (pad_xnn_applies(in, out, p)) {
    cl_status s = cl_tensor_state(n, sizeof(remap_state), state, err);
    return s != CL_OK ? s : pad_xnn(n, in, out, p, k, *state, err);
  }
  int64_t phys[CL_MAX_RANK], total = 0;
  cl_value_phys_dims(out, phys);
  for (int q = 0; q < out->rank; q++) total += phys[q];
  int64_t *buf = malloc((size_t)(total ? total : 1) * sizeof *buf), *tables[CL_MAX_RANK], *t = buf;
  if (!buf) return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory");
  for (int q = 0; q < out->rank; q++) {
    int a = cl_value_logical_axis(out, q);
    tables[q] = t;
    for (int64_t o = 0; o < phys[q]; o++) t[o] = pad_index(p->mode, o, p->before[a], in->dims[a]);
    t += phys[q];
  }
  cl_status s = remap_prepare(n, in, out, (const int64_t *const *)tables, &p->fill, state, err);
  free(buf);
  return s;
}

cl_status cl_pad_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  remap_run(state, k->ptr[n->in[0]], k->ptr[n->out[0]], k->pool);
  return CL_OK;
}

/* === Tile === */

cl_status cl_tile_parse(cl_graph *g, cl_node *n, cl_error *err) { return CL_OK; }

cl_status cl_tile_infer(cl_graph *g, cl_node *n, cl_error *err) {
  const cl_value *in = NULL;
  cl_status s = need_input(g, n, 0, &in, err);
  if (s != CL_OK) return s;
  if (!cl_node_input(g, n, 1))
    return cl_node_error(err, n, CL_ERR_FORMAT, "input 'repeats' is missing");
  int64_t *rep = NULL, out[CL_MAX_RANK];
  int cnt;
  s = cl_node_const_ints(g, n, 1, &rep, &cnt, err);
  if (s == CL_OK && cnt != in->rank)
    s = cl_node_error(err, n, CL_ERR_SHAPE, "repeats has %d entries for an input of rank %d", cnt,
                      in->rank);
  for (int a = 0; s == CL_OK && a < in->rank; a++) {
    if (rep[a] < 0 || rep[a] > CL_MAX_DIM)
      s = cl_node_error(err, n, CL_ERR_SHAPE, "repeats[%d] is %lld", a, (long long)rep[a]);
    else out[a] = in->dims[a] * rep[a];
  }
  if (s == CL_OK) s = set_out(g, n, in->dtype, in->rank, out, err);
  free(rep);
  return s;
}

cl_status cl_tile_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                          cl_error *err) {
  const cl_value *in = cl_node_input(g, n, 0), *out = cl_node_output(g, n, 0);
  int64_t total = 0;
  for (int a = 0; a < out->rank; a++) total += out->dims[a];
  int64_t *buf = malloc((size_t)(total ? total : 1) * sizeof *buf), *tables[CL_MAX_RANK], *t = buf;
  if (!buf) return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory");
  for (int a = 0; a < out->rank; a++) { /* PLAIN: storage axes are logical axes */
    tables[a] = t;
    for (int64_t o = 0; o < out->dims[a]; o++) t[o] = o % in->dims[a];
    t += out->dims[a];
  }
  uint64_t zero = 0;
  cl_status s = remap_prepare(n, in, out, (const int64_t *const *)tables, &zero, state, err);
  free(buf);
  return s;
}

cl_status cl_tile_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  remap_run(state, k->ptr[n->in[0]], k->ptr[n->out[0]], k->pool);
  return CL_OK;
}
