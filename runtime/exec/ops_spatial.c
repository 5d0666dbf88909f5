/* cleave: the spatial operator group (Conv, ConvTranspose, pools, Resize, Upsample) and the helpers
 * its files share: sliding-window geometry and NHWC staging. */
#include "exec/ops_spatial.h"

#include <stdlib.h>
#include <string.h>

#include "exec/layout_convert.h"

/* === The group table === */

/* SP_OP(onnx name, opset min, opset max, flags, parse family, infer/prepare family, run/release
 * family, const_inputs: bit i set when input i must be constant, see op.h). */
#define SP_OP(nm, lo, hi, fl, pfam, ifam, rfam, cin)                                                  \
  {.name = nm,                                                                                       \
   .opset_min = lo,                                                                                  \
   .opset_max = hi,                                                                                  \
   .policy = CL_POLICY_SPATIAL,                                                                      \
   .flags = fl,                                                                                      \
   .parse = cl_sp_##pfam##_parse,                                                                    \
   .infer = cl_sp_##ifam##_infer,                                                                    \
   .prepare = cl_sp_##ifam##_prepare,                                                                \
   .run = cl_sp_##rfam##_run,                                                                        \
   .release = cl_sp_##rfam##_release,                                                                \
   .const_inputs = cin}

static const cl_op_def ops[] = {
    SP_OP("Conv", 1, 18, CL_OP_FUSES_CLAMP, conv, conv, conv, 0x6),   /* W, B */
    SP_OP("ConvTranspose", 1, 18, CL_OP_FUSES_CLAMP, conv, deconv, conv, 0x6),
    SP_OP("MaxPool", 1, 18, 0, pool, pool, pool, 0),
    SP_OP("AveragePool", 1, 18, 0, pool, pool, pool, 0),
    SP_OP("GlobalAveragePool", 1, 18, 0, global, global, global, 0),
    SP_OP("GlobalMaxPool", 1, 18, 0, global, global, global, 0),
    SP_OP("Resize", 10, 18, 0, resize, resize, resize, 0x1e), /* roi, scales, sizes */
    SP_OP("Upsample", 7, 10, 0, resize, resize, resize, 0x2), /* scales */
};
const cl_op_group cl_ops_spatial = {ops, (int)(sizeof ops / sizeof ops[0])};

/* === Sliding-window attributes === */

cl_status cl_sp_read_ints(const cl_node *n, const char *name, int max, int64_t lo, int64_t *dst,
                          int *count, const char *what, cl_error *err) {
  const int64_t *v;
  int c = cl_node_attr_ints(n, name, &v);
  if (c > max) return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "3-D %s is not supported", what);
  for (int i = 0; i < c; i++) {
    if (v[i] < lo)
      return cl_node_error(err, n, CL_ERR_SHAPE, "%s[%d] is %lld (must be >= %lld)", name, i,
                           (long long)v[i], (long long)lo);
    if (v[i] > CL_SP_MAX_ATTR)
      return cl_node_error(err, n, CL_ERR_LIMIT, "%s[%d] is %lld, beyond cleave's limit", name, i,
                           (long long)v[i]);
    dst[i] = v[i];
  }
  *count = c;
  return CL_OK;
}

cl_status cl_sp_parse_attrs(const cl_node *n, const char *what, cl_sp_attrs *a, cl_error *err) {
  memset(a, 0, sizeof *a);
  const char *ap = cl_node_attr_string(n, "auto_pad");
  if (ap == NULL || ap[0] == '\0' || strcmp(ap, "NOTSET") == 0)
    a->auto_pad = CL_SP_NOTSET;
  else if (strcmp(ap, "SAME_UPPER") == 0)
    a->auto_pad = CL_SP_SAME_UPPER;
  else if (strcmp(ap, "SAME_LOWER") == 0)
    a->auto_pad = CL_SP_SAME_LOWER;
  else if (strcmp(ap, "VALID") == 0)
    a->auto_pad = CL_SP_VALID;
  else
    return cl_node_error(err, n, CL_ERR_FORMAT, "auto_pad '%.40s' is not valid", ap);
  cl_status s = cl_sp_read_ints(n, "kernel_shape", 2, 1, a->kernel, &a->n_kernel, what, err);
  if (s == CL_OK) s = cl_sp_read_ints(n, "strides", 2, 1, a->strides, &a->n_strides, what, err);
  if (s == CL_OK)
    s = cl_sp_read_ints(n, "dilations", 2, 1, a->dilations, &a->n_dilations, what, err);
  if (s == CL_OK) s = cl_sp_read_ints(n, "pads", 4, 0, a->pads, &a->n_pads, what, err);
  if (s == CL_OK && a->n_pads % 2 != 0)
    s = cl_node_error(err, n, CL_ERR_SHAPE, "pads has %d entries (must be even)", a->n_pads);
  return s;
}

cl_status cl_sp_check_input(const cl_node *n, const cl_value *v, const char *what, cl_error *err) {
  if (v == NULL || v->rank < 0)
    return cl_node_error(err, n, CL_ERR_SHAPE, "input 'X' has no known shape");
  if (v->dtype != CL_DTYPE_F32)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED,
                         "input '%s' of type %s is not supported (float only)", v->name,
                         cl_dtype_name(v->dtype));
  if (v->rank == 5)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "3-D %s is not supported", what);
  if (v->rank != 3 && v->rank != 4)
    return cl_node_error(err, n, CL_ERR_SHAPE, "input '%s' has rank %d (expected 3 or 4)", v->name,
                         v->rank);
  for (int i = 0; i < v->rank; i++)
    if (v->dims[i] < 1)
      return cl_node_error(err, n, CL_ERR_SHAPE, "input '%s' has an empty dimension %d", v->name,
                           i);
  return CL_OK;
}

static cl_status check_count(const cl_node *n, const char *name, int count, int want,
                             cl_error *err) {
  if (count == 0 || count == want) return CL_OK;
  return cl_node_error(err, n, CL_ERR_SHAPE, "%s has %d entries for %d spatial axes", name, count,
                       want / (strcmp(name, "pads") == 0 ? 2 : 1));
}

cl_status cl_sp_window_init(const cl_node *n, const cl_sp_attrs *a, int nsp, const int64_t *in_sp,
                            const int64_t *kernel, cl_sp_window *w, cl_error *err) {
  cl_status s = check_count(n, "strides", a->n_strides, nsp, err);
  if (s == CL_OK) s = check_count(n, "dilations", a->n_dilations, nsp, err);
  if (s == CL_OK) s = check_count(n, "pads", a->n_pads, 2 * nsp, err);
  if (s != CL_OK) return s;
  memset(w, 0, sizeof *w);
  w->nsp = nsp;
  for (int i = 0; i < 2; i++) {
    int j = i - (2 - nsp); /* ONNX spatial axis, < 0 for the unit H of a 1-D op */
    w->in[i] = j < 0 ? 1 : in_sp[j];
    w->kernel[i] = j < 0 ? 1 : kernel[j];
    w->stride[i] = j < 0 || a->n_strides == 0 ? 1 : a->strides[j];
    w->dilation[i] = j < 0 || a->n_dilations == 0 ? 1 : a->dilations[j];
    w->out[i] = 1;
  }
  return CL_OK;
}

/* Output size of one axis with explicit padding (ceil_mode as MaxPool/AveragePool define it). */
static int64_t forward_size(const cl_sp_window *w, int i, int ceil_mode) {
  int64_t avail = w->in[i] + w->pad0[i] + w->pad1[i] - cl_sp_dilated(w, i), s = w->stride[i];
  if (avail < 0) return 0;
  if (!ceil_mode) return avail / s + 1;
  int64_t out = (avail + s - 1) / s + 1;
  if ((out - 1) * s >= w->in[i] + w->pad0[i]) out--; /* the last window must start in the input */
  return out;
}

cl_status cl_sp_window_forward(const cl_node *n, const cl_sp_attrs *a, int ceil_mode,
                               cl_sp_window *w, cl_error *err) {
  for (int i = 2 - w->nsp; i < 2; i++) {
    int j = i - (2 - w->nsp);
    int64_t s = w->stride[i], dk = cl_sp_dilated(w, i);
    if (a->auto_pad == CL_SP_SAME_UPPER || a->auto_pad == CL_SP_SAME_LOWER) {
      w->out[i] = (w->in[i] + s - 1) / s;
      int64_t total = (w->out[i] - 1) * s + dk - w->in[i];
      if (total < 0) total = 0;
      w->pad0[i] = a->auto_pad == CL_SP_SAME_UPPER ? total / 2 : total - total / 2;
      w->pad1[i] = total - w->pad0[i];
      continue;
    }
    w->pad0[i] = a->auto_pad == CL_SP_VALID || a->n_pads == 0 ? 0 : a->pads[j];
    w->pad1[i] = a->auto_pad == CL_SP_VALID || a->n_pads == 0 ? 0 : a->pads[j + w->nsp];
    w->out[i] = forward_size(w, i, ceil_mode && a->auto_pad == CL_SP_NOTSET);
    if (w->out[i] < 1)
      return cl_node_error(err, n, CL_ERR_SHAPE,
                           "spatial axis %d: kernel %lld (dilated %lld) does not fit input %lld "
                           "with pads %lld+%lld",
                           j, (long long)w->kernel[i], (long long)dk, (long long)w->in[i],
                           (long long)w->pad0[i], (long long)w->pad1[i]);
  }
  return CL_OK;
}

void cl_sp_out_dims(const cl_sp_window *w, int64_t batch, int64_t c_out, int64_t *dims) {
  dims[0] = batch;
  dims[1] = c_out;
  for (int j = 0; j < w->nsp; j++) dims[2 + j] = w->out[j + (2 - w->nsp)];
}

/* === NHWC staging === */

void *cl_sp_alloc(size_t n) {
  size_t sz = (n + 63) / 64 * 64 + 64;
  void *p = aligned_alloc(64, sz);
  if (p) memset(p, 0, sz);
  return p;
}

static int needs_stage(const cl_value *v) {
  return v->layout == CL_LAYOUT_PLAIN && v->rank >= 3 && !cl_layout_is_trivial(v->rank, v->dims);
}

cl_status cl_sp_stage_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,
                              cl_sp_stage *s, cl_error *err) {
  const cl_value *xv = cl_node_input(g, n, 0), *yv = cl_node_output(g, n, 0);
  memset(s, 0, sizeof *s);
  s->x = k->ptr[n->in[0]];
  s->y = k->ptr[n->out[0]];
  s->x_rank = xv->rank;
  s->y_rank = yv->rank;
  memcpy(s->x_dims, xv->dims, sizeof s->x_dims);
  memcpy(s->y_dims, yv->dims, sizeof s->y_dims);
  if (needs_stage(xv)) {
    s->x_tmp = cl_sp_alloc(xv->nbytes);
    s->x_plain = s->x;
    s->x = s->x_tmp;
  }
  if (needs_stage(yv)) {
    s->y_tmp = cl_sp_alloc(yv->nbytes);
    s->y_plain = s->y;
    s->y = s->y_tmp;
  }
  if ((s->x_plain && !s->x_tmp) || (s->y_plain && !s->y_tmp)) {
    cl_sp_stage_release(s);
    return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory for NHWC scratch buffers");
  }
  return CL_OK;
}

void cl_sp_stage_in(const cl_sp_stage *s, pthreadpool_t pool) {
  if (s->x_plain)
    cl_layout_to_channels_last(s->x_plain, s->x_tmp, s->x_rank, s->x_dims, sizeof(float), pool);
}

void cl_sp_stage_out(const cl_sp_stage *s, pthreadpool_t pool) {
  if (s->y_plain)
    cl_layout_to_plain(s->y_tmp, s->y_plain, s->y_rank, s->y_dims, sizeof(float), pool);
}

void cl_sp_stage_release(cl_sp_stage *s) {
  free(s->x_tmp);
  free(s->y_tmp);
  s->x_tmp = s->y_tmp = NULL;
  s->x_plain = NULL;
  s->y_plain = NULL;
}
