/* cleave: shape operators: Reshape, Flatten, Squeeze, Unsqueeze, Identity and Dropout (views of
 * their input), Shape and Size (constants once shapes are static), ConstantOfShape, Expand. */
#include <string.h>

#include "exec/ops_tensor.h"

/* === Shared checks === */

/* Input i present with an inferred shape. */
static cl_status need_input(const cl_graph *g, const cl_node *n, int i, const cl_value **out,
                            cl_error *err) {
  const cl_value *v = cl_node_input(g, n, i);
  if (!v) return cl_node_error(err, n, CL_ERR_FORMAT, "input %d is missing", i);
  if (v->rank < 0 || v->dtype == CL_DTYPE_UNDEFINED)
    return cl_node_error(err, n, CL_ERR_SHAPE, "input '%s' has no known shape", v->name);
  *out = v;
  return CL_OK;
}

static cl_status set_out(cl_graph *g, const cl_node *n, int i, cl_dtype dtype, int rank,
                         const int64_t *dims, cl_error *err) {
  cl_value *o = cl_node_output(g, n, i);
  if (!o) return i == 0 ? cl_node_error(err, n, CL_ERR_FORMAT, "output 0 is missing") : CL_OK;
  return cl_value_set_shape(o, dtype, rank, dims, err);
}

static char *shape_str(const cl_value *v, char *buf, size_t cap) {
  return cl_shape_str(v->rank, v->dims, buf, cap);
}

/* === Views: Reshape, Flatten, Squeeze, Unsqueeze, Identity === */

int cl_view_is_view(const cl_graph *g, const cl_node *n) { return 1; }

cl_status cl_view_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                          cl_error *err) {
  *state = NULL;
  return CL_OK;
}

/* When the executor does not share the buffer (a constant input, folding): the bytes are the same. */
cl_status cl_view_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  const cl_value *in = cl_node_input(g, n, 0);
  void *dst = k->ptr[n->out[0]];
  const void *src = k->ptr[n->in[0]];
  if (dst != src && in->nbytes) memmove(dst, src, in->nbytes);
  return CL_OK;
}

typedef struct {
  int64_t shape[CL_MAX_RANK]; /* Reshape-1..4: the `shape` attribute */
  int n_shape;                /* -1: shape comes from input 1 */
  int allowzero;              /* Reshape-14: 0 in `shape` means a zero dim, not "copy" */
} reshape_params;

cl_status cl_reshape_parse(cl_graph *g, cl_node *n, cl_error *err) {
  cl_status s = cl_tensor_params(n, sizeof(reshape_params), &n->params, err);
  if (s != CL_OK) return s;
  reshape_params *p = n->params;
  p->allowzero = (int)cl_node_attr_int(n, "allowzero", 0);
  p->n_shape = -1;
  if (n->opset < 5) {
    const int64_t *v;
    int cnt = cl_node_attr_ints(n, "shape", &v);
    if (!cl_node_attr(n, "shape"))
      return cl_node_error(err, n, CL_ERR_FORMAT, "attribute 'shape' is missing");
    if (cnt > CL_MAX_RANK)
      return cl_node_error(err, n, CL_ERR_LIMIT, "shape of rank %d (at most %d)", cnt, CL_MAX_RANK);
    memcpy(p->shape, v, (size_t)cnt * sizeof *v);
    p->n_shape = cnt;
  }
  return CL_OK;
}

/* Output dims of a reshape of `in` to `shape` (0: copy, -1: infer), as ONNX specifies. */
static cl_status reshape_dims(const cl_node *n, const cl_value *in, const int64_t *shape, int cnt,
                              int allowzero, int64_t *out, cl_error *err) {
  size_t total = cl_tensor_numel(in);
  int64_t known = 1;
  int infer_at = -1;
  char a[160], b[160];
  for (int i = 0; i < cnt; i++) {
    int64_t d = shape[i];
    if (d == -1) {
      if (infer_at >= 0) return cl_node_error(err, n, CL_ERR_SHAPE, "shape has more than one -1");
      infer_at = i;
      continue;
    }
    if (d < -1) return cl_node_error(err, n, CL_ERR_SHAPE, "shape[%d] is %lld", i, (long long)d);
    if (d == 0 && !allowzero) {
      if (i >= in->rank)
        return cl_node_error(err, n, CL_ERR_SHAPE, "shape[%d] is 0 (copy) but input '%s' has rank %d",
                             i, in->name, in->rank);
      d = in->dims[i];
    }
    if (d > CL_MAX_DIM || (d > 0 && known > INT64_MAX / d))
      return cl_node_error(err, n, CL_ERR_LIMIT, "shape %s is too large",
                           cl_shape_str(cnt, shape, a, sizeof a));
    out[i] = d;
    known *= d;
  }
  if (infer_at >= 0) {
    if (known == 0 || total % (size_t)known != 0)
      return cl_node_error(err, n, CL_ERR_SHAPE, "cannot infer the -1 of shape %s from input %s",
                           cl_shape_str(cnt, shape, a, sizeof a), shape_str(in, b, sizeof b));
    out[infer_at] = (int64_t)(total / (size_t)known);
    known *= out[infer_at];
  }
  if ((size_t)known != total)
    return cl_node_error(err, n, CL_ERR_SHAPE, "cannot reshape %s (%zu elements) into %s",
                         shape_str(in, a, sizeof a), total, cl_shape_str(cnt, shape, b, sizeof b));
  return CL_OK;
}

cl_status cl_reshape_infer(cl_graph *g, cl_node *n, cl_error *err) {
  reshape_params *p = n->params;
  const cl_value *in = NULL;
  cl_status s = need_input(g, n, 0, &in, err);
  if (s != CL_OK) return s;
  int64_t *shape = p->shape, *iv = NULL, out[CL_MAX_RANK];
  int cnt = p->n_shape;
  if (cnt < 0) {
    if (!cl_node_input(g, n, 1))
      return cl_node_error(err, n, CL_ERR_FORMAT, "input 'shape' is missing");
    s = cl_node_const_ints(g, n, 1, &iv, &cnt, err);
    if (s == CL_OK && cnt > CL_MAX_RANK)
      s = cl_node_error(err, n, CL_ERR_LIMIT, "shape of rank %d (at most %d)", cnt, CL_MAX_RANK);
    shape = iv;
  }
  if (s == CL_OK) s = reshape_dims(n, in, shape, cnt, p->allowzero, out, err);
  if (s == CL_OK) s = set_out(g, n, 0, in->dtype, cnt, out, err);
  free(iv);
  return s;
}

cl_status cl_flatten_parse(cl_graph *g, cl_node *n, cl_error *err) { return CL_OK; }

cl_status cl_flatten_infer(cl_graph *g, cl_node *n, cl_error *err) {
  const cl_value *in = NULL;
  cl_status s = need_input(g, n, 0, &in, err);
  if (s != CL_OK) return s;
  int64_t axis = cl_node_attr_int(n, "axis", 1);
  if (axis < -in->rank || axis > in->rank)
    return cl_node_error(err, n, CL_ERR_SHAPE, "axis %lld out of range for rank %d", (long long)axis,
                         in->rank);
  if (axis < 0) axis += in->rank;
  int64_t out[2] = {1, 1};
  for (int i = 0; i < in->rank; i++) out[i < axis ? 0 : 1] *= in->dims[i];
  return set_out(g, n, 0, in->dtype, 2, out, err);
}

cl_status cl_squeeze_parse(cl_graph *g, cl_node *n, cl_error *err) { return CL_OK; }

cl_status cl_squeeze_infer(cl_graph *g, cl_node *n, cl_error *err) {
  const cl_value *in = NULL;
  cl_status s = need_input(g, n, 0, &in, err);
  int axes[CL_MAX_RANK], cnt;
  if (s == CL_OK) s = cl_tensor_axes(g, n, "axes", n->opset >= 13 ? 1 : -1, in->rank, axes, &cnt, err);
  if (s != CL_OK) return s;
  int drop[CL_MAX_RANK] = {0};
  for (int i = 0; i < cnt; i++) {
    if (in->dims[axes[i]] != 1)
      return cl_node_error(err, n, CL_ERR_SHAPE, "cannot squeeze axis %d of '%s': its size is %lld",
                           axes[i], in->name, (long long)in->dims[axes[i]]);
    drop[axes[i]] = 1;
  }
  int64_t out[CL_MAX_RANK];
  int r = 0;
  for (int i = 0; i < in->rank; i++)
    if (!(cnt < 0 ? in->dims[i] == 1 : drop[i])) out[r++] = in->dims[i];
  return set_out(g, n, 0, in->dtype, r, out, err);
}

cl_status cl_unsqueeze_parse(cl_graph *g, cl_node *n, cl_error *err) { return CL_OK; }

cl_status cl_unsqueeze_infer(cl_graph *g, cl_node *n, cl_error *err) {
  const cl_value *in = NULL;
  cl_status s = need_input(g, n, 0, &in, err);
  if (s != CL_OK) return s;
  /* Axes index the output, whose rank is the input's plus their count: count them first. */
  const int64_t *av;
  int64_t *iv = NULL;
  int cnt = -1;
  if (n->opset >= 13 && cl_node_input(g, n, 1)) s = cl_node_const_ints(g, n, 1, &iv, &cnt, err);
  else if (cl_node_attr(n, "axes")) cnt = cl_node_attr_ints(n, "axes", &av);
  free(iv);
  if (s != CL_OK) return s;
  if (cnt < 0) return cl_node_error(err, n, CL_ERR_FORMAT, "axes are missing");
  int r = in->rank + cnt, axes[CL_MAX_RANK];
  if (r > CL_MAX_RANK)
    return cl_node_error(err, n, CL_ERR_LIMIT, "output rank %d (at most %d)", r, CL_MAX_RANK);
  s = cl_tensor_axes(g, n, "axes", n->opset >= 13 ? 1 : -1, r, axes, &cnt, err);
  if (s != CL_OK) return s;
  int added[CL_MAX_RANK] = {0};
  for (int i = 0; i < cnt; i++) added[axes[i]] = 1;
  int64_t out[CL_MAX_RANK];
  for (int i = 0, j = 0; i < r; i++) out[i] = added[i] ? 1 : in->dims[j++];
  return set_out(g, n, 0, in->dtype, r, out, err);
}

cl_status cl_identity_parse(cl_graph *g, cl_node *n, cl_error *err) { return CL_OK; }

cl_status cl_identity_infer(cl_graph *g, cl_node *n, cl_error *err) {
  const cl_value *in = NULL;
  cl_status s = need_input(g, n, 0, &in, err);
  return s != CL_OK ? s : set_out(g, n, 0, in->dtype, in->rank, in->dims, err);
}

/* === Dropout (inference: output = input, mask all true) === */

cl_status cl_dropout_parse(cl_graph *g, cl_node *n, cl_error *err) { return CL_OK; }

static int has_mask(const cl_node *n) { return n->n_out >= 2 && n->out[1] >= 0; }

/* Training with ratio 0 drops nothing: the output is the input, the mask all true. */
static int zero_ratio(const cl_graph *g, const cl_node *n) {
  const cl_value *r = cl_node_input(g, n, 1);
  if (!r || !r->is_const || r->nbytes == 0) return 0;
  if (r->dtype == CL_DTYPE_F32) return ((const float *)r->data)[0] == 0.0f;
  if (r->dtype == CL_DTYPE_F64) return ((const double *)r->data)[0] == 0.0;
  return 0;
}

cl_status cl_dropout_infer(cl_graph *g, cl_node *n, cl_error *err) {
  const cl_value *in = NULL;
  cl_status s = need_input(g, n, 0, &in, err);
  if (s != CL_OK) return s;
  if (n->opset >= 12 && cl_node_input(g, n, 2)) {
    const cl_value *tm = cl_node_input(g, n, 2);
    if (!tm->is_const || tm->nbytes < 1)
      return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "input 'training_mode' must be a constant");
    if (((const uint8_t *)tm->data)[0] != 0 && !zero_ratio(g, n))
      return cl_node_error(err, n, CL_ERR_UNSUPPORTED,
                           "training_mode=true with a ratio other than a constant 0 is not supported "
                           "(random dropout)");
  }
  /* Dropout-10 and later give a bool mask; earlier ones a mask of the input's type. */
  cl_dtype mt = n->opset >= 10 ? CL_DTYPE_BOOL : in->dtype;
  if (has_mask(n) && mt != CL_DTYPE_BOOL && mt != CL_DTYPE_F32)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "a mask of type %s is not supported",
                         cl_dtype_name(mt));
  s = set_out(g, n, 0, in->dtype, in->rank, in->dims, err);
  if (s == CL_OK && has_mask(n)) s = set_out(g, n, 1, mt, in->rank, in->dims, err);
  return s;
}

int cl_dropout_is_view(const cl_graph *g, const cl_node *n) { return !has_mask(n); }

cl_status cl_dropout_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                             cl_error *err) {
  *state = NULL;
  return CL_OK;
}

cl_status cl_dropout_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  cl_view_run(g, n, state, k);
  if (!has_mask(n)) return CL_OK;
  const cl_value *m = cl_node_output(g, n, 1);
  if (m->dtype == CL_DTYPE_BOOL) {
    memset(k->ptr[n->out[1]], 1, m->nbytes);
  } else {
    float one = 1.0f;
    cl_tensor_fill(k->ptr[n->out[1]], &one, cl_tensor_numel(m), sizeof one);
  }
  return CL_OK;
}

/* === Shape and Size: constants === */

cl_status cl_noop_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                          cl_error *err) {
  *state = NULL;
  return CL_OK;
}

cl_status cl_noop_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  return CL_OK;
}

/* Makes output 0 a constant int64 tensor of the given shape holding vals. */
static cl_status const_i64(cl_graph *g, const cl_node *n, int rank, const int64_t *dims,
                           const int64_t *vals, size_t count, cl_error *err) {
  cl_status s = set_out(g, n, 0, CL_DTYPE_I64, rank, dims, err);
  if (s != CL_OK) return s;
  cl_value *o = cl_node_output(g, n, 0);
  int64_t *data = cl_value_alloc_const(o, err);
  if (!data) return CL_ERR_NOMEM;
  if (count) memcpy(data, vals, count * sizeof *vals);
  return CL_OK;
}

cl_status cl_shape_parse(cl_graph *g, cl_node *n, cl_error *err) { return CL_OK; }

cl_status cl_shape_infer(cl_graph *g, cl_node *n, cl_error *err) {
  const cl_value *in = NULL;
  cl_status s = need_input(g, n, 0, &in, err);
  if (s != CL_OK) return s;
  int64_t r = in->rank, start = 0, end = r;
  if (n->opset >= 15) {
    start = cl_node_attr_int(n, "start", 0);
    end = cl_node_attr_int(n, "end", r);
  }
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = start < 0 ? 0 : start > r ? r : start;
  end = end < 0 ? 0 : end > r ? r : end;
  int64_t len = end > start ? end - start : 0;
  return const_i64(g, n, 1, &len, in->dims + start, (size_t)len, err);
}

cl_status cl_size_parse(cl_graph *g, cl_node *n, cl_error *err) { return CL_OK; }

cl_status cl_size_infer(cl_graph *g, cl_node *n, cl_error *err) {
  const cl_value *in = NULL;
  cl_status s = need_input(g, n, 0, &in, err);
  if (s != CL_OK) return s;
  int64_t numel = (int64_t)cl_tensor_numel(in);
  return const_i64(g, n, 0, NULL, &numel, 1, err);
}

/* === ConstantOfShape === */

typedef struct {
  uint64_t value; /* the fill value's bytes */
  size_t esize;
} cos_params;

cl_status cl_cos_parse(cl_graph *g, cl_node *n, cl_error *err) {
  cl_status s = cl_tensor_params(n, sizeof(cos_params), &n->params, err);
  if (s != CL_OK) return s;
  cos_params *p = n->params;
  p->esize = sizeof(float);
  const cl_attr *a = cl_node_attr(n, "value");
  if (!a) return CL_OK; /* float 0 */
  size_t es = cl_dtype_size(a->t.dtype);
  if (a->type != CL_ATTR_TENSOR || es == 0)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "attribute 'value' must be a numeric tensor");
  if (a->t.nbytes != es || !a->t.data)
    return cl_node_error(err, n, CL_ERR_FORMAT, "attribute 'value' must hold exactly one element");
  memcpy(&p->value, a->t.data, es);
  p->esize = es;
  return CL_OK;
}

cl_status cl_cos_infer(cl_graph *g, cl_node *n, cl_error *err) {
  const cl_attr *a = cl_node_attr(n, "value");
  int64_t *dims = NULL;
  int cnt;
  if (!cl_node_input(g, n, 0)) return cl_node_error(err, n, CL_ERR_FORMAT, "input 0 is missing");
  cl_status s = cl_node_const_ints(g, n, 0, &dims, &cnt, err);
  if (s == CL_OK && cl_node_input(g, n, 0)->rank == 0)
    s = cl_node_error(err, n, CL_ERR_SHAPE, "input 0 must be 1-D");
  if (s == CL_OK && cnt > CL_MAX_RANK)
    s = cl_node_error(err, n, CL_ERR_LIMIT, "output rank %d (at most %d)", cnt, CL_MAX_RANK);
  for (int i = 0; s == CL_OK && i < cnt; i++)
    if (dims[i] < 0)
      s = cl_node_error(err, n, CL_ERR_SHAPE, "shape[%d] is %lld", i, (long long)dims[i]);
  if (s == CL_OK) s = set_out(g, n, 0, a ? a->t.dtype : CL_DTYPE_F32, cnt, dims, err);
  free(dims);
  return s;
}

cl_status cl_cos_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                         cl_error *err) {
  *state = NULL;
  return CL_OK;
}

cl_status cl_cos_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  const cos_params *p = n->params;
  const cl_value *o = cl_node_output(g, n, 0);
  cl_tensor_fill(k->ptr[n->out[0]], &p->value, cl_tensor_numel(o), p->esize);
  return CL_OK;
}

/* === Expand === */

cl_status cl_expand_parse(cl_graph *g, cl_node *n, cl_error *err) { return CL_OK; }

cl_status cl_expand_infer(cl_graph *g, cl_node *n, cl_error *err) {
  const cl_value *in = NULL;
  cl_status s = need_input(g, n, 0, &in, err);
  if (s != CL_OK) return s;
  if (!cl_node_input(g, n, 1)) return cl_node_error(err, n, CL_ERR_FORMAT, "input 'shape' is missing");
  int64_t *shape = NULL, out[CL_MAX_RANK];
  int cnt, r;
  s = cl_node_const_ints(g, n, 1, &shape, &cnt, err);
  if (s == CL_OK && cnt > CL_MAX_RANK)
    s = cl_node_error(err, n, CL_ERR_LIMIT, "shape of rank %d (at most %d)", cnt, CL_MAX_RANK);
  if (s == CL_OK) {
    cl_error tmp = {0};
    if (cl_shape_broadcast(in->rank, in->dims, cnt, shape, &r, out, &tmp) != CL_OK)
      s = cl_node_error(err, n, CL_ERR_SHAPE, "%s", tmp.msg);
  }
  if (s == CL_OK) s = set_out(g, n, 0, in->dtype, r, out, err);
  free(shape);
  return s;
}

cl_status cl_expand_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                            cl_error *err) {
  const cl_value *in = cl_node_input(g, n, 0), *out = cl_node_output(g, n, 0);
  cl_status s = cl_tensor_state(n, sizeof(cl_strided), state, err);
  if (s != CL_OK) return s;
  int64_t ss[CL_MAX_RANK] = {0}, ds[CL_MAX_RANK], istr[CL_MAX_RANK];
  cl_tensor_strides(in, istr);
  cl_tensor_strides(out, ds);
  int off = out->rank - in->rank;
  for (int a = 0; a < in->rank; a++) ss[a + off] = in->dims[a] == 1 ? 0 : istr[a];
  cl_strided_init(*state, out->rank, out->dims, ss, ds, cl_dtype_size(in->dtype));
  return CL_OK;
}

cl_status cl_expand_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  cl_strided_run(state, k->ptr[n->in[0]], k->ptr[n->out[0]], k->pool);
  return CL_OK;
}
