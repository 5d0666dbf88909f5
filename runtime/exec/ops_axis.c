/* cleave: axis operators that move bytes: Concat, Slice, Split, Transpose, Gather. They work on the
 * storage order of their values (channels-last or not) and on elements of any size. */
#include <string.h>

#include "exec/ops_tensor.h"

enum { TASK_BYTES = 32768 };

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

/* Plans copying the part of `in` that starts at logical index `start` (per-axis `step`, NULL: 1)
 * into the whole of `out`, whatever the two layouts: Slice and Split. */
static void plan_window(cl_strided *p, int64_t *src_off, const cl_value *in, const int64_t *start,
                        const int64_t *step, const cl_value *out) {
  int64_t is[CL_MAX_RANK], os[CL_MAX_RANK], ss[CL_MAX_RANK];
  cl_tensor_strides(in, is);
  cl_tensor_strides(out, os);
  *src_off = 0;
  for (int a = 0; a < in->rank; a++) {
    ss[a] = is[a] * (step ? step[a] : 1);
    *src_off += (start ? start[a] : 0) * is[a];
  }
  cl_strided_init(p, out->rank, out->dims, ss, os, cl_dtype_size(in->dtype));
}

/* === Concat === */

typedef struct {
  int axis; /* normalised at infer */
} concat_params;

cl_status cl_concat_parse(cl_graph *g, cl_node *n, cl_error *err) {
  if (n->opset >= 4 && !cl_node_attr(n, "axis"))
    return cl_node_error(err, n, CL_ERR_FORMAT, "attribute 'axis' is missing");
  return cl_tensor_params(n, sizeof(concat_params), &n->params, err);
}

cl_status cl_concat_infer(cl_graph *g, cl_node *n, cl_error *err) {
  concat_params *p = n->params;
  const cl_value *in0 = NULL;
  cl_status s = need_input(g, n, 0, &in0, err);
  if (s == CL_OK) s = cl_node_axis(n, cl_node_attr_int(n, "axis", 1), in0->rank, &p->axis, err);
  if (s != CL_OK) return s;
  int64_t out[CL_MAX_RANK];
  memcpy(out, in0->dims, sizeof out);
  for (int i = 1; i < n->n_in; i++) {
    const cl_value *v = NULL;
    if ((s = need_input(g, n, i, &v, err)) != CL_OK) return s;
    int same = v->rank == in0->rank && v->dtype == in0->dtype;
    for (int a = 0; same && a < v->rank; a++) same = a == p->axis || v->dims[a] == in0->dims[a];
    if (!same) {
      char sa[160], sb[160];
      return cl_node_error(
          err, n, CL_ERR_SHAPE, "input '%s' %s %s does not match '%s' %s %s on axis %d", v->name,
          cl_dtype_name(v->dtype), cl_shape_str(v->rank, v->dims, sa, sizeof sa), in0->name,
          cl_dtype_name(in0->dtype), cl_shape_str(in0->rank, in0->dims, sb, sizeof sb), p->axis);
    }
    out[p->axis] += v->dims[p->axis];
  }
  return set_out(g, n, 0, in0->dtype, in0->rank, out, err);
}

typedef struct {
  int fast;        /* stored like the output: row chunks */
  size_t chunk;    /* fast: bytes per outer row */
  size_t offset;   /* fast: byte offset in the output row */
  int64_t dst_off; /* slow: element offset of its window in the output */
  cl_strided copy; /* slow: strided copy */
} concat_in;

typedef struct {
  size_t outer;     /* product of the output's storage dims before the concat axis */
  size_t out_chunk; /* bytes of one output row */
  int n_in;
  concat_in in[];
} concat_state;

cl_status cl_concat_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                            cl_error *err) {
  const concat_params *p = n->params;
  const cl_value *out = cl_node_output(g, n, 0);
  cl_status s =
      cl_tensor_state(n, sizeof(concat_state) + (size_t)n->n_in * sizeof(concat_in), state, err);
  if (s != CL_OK) return s;
  concat_state *st = *state;
  st->n_in = n->n_in;
  int pa = cl_value_phys_axis(out, p->axis);
  int64_t phys[CL_MAX_RANK], os[CL_MAX_RANK];
  cl_value_phys_dims(out, phys);
  cl_tensor_strides(out, os);
  size_t inner = cl_dtype_size(out->dtype), offset = 0;
  st->outer = 1;
  for (int q = 0; q < out->rank; q++) {
    if (q < pa) st->outer *= (size_t)phys[q];
    if (q > pa) inner *= (size_t)phys[q];
  }
  int64_t along = 0;
  for (int i = 0; i < n->n_in; i++) {
    const cl_value *v = cl_node_input(g, n, i);
    concat_in *c = &st->in[i];
    c->fast = v->layout == out->layout || v->rank < 3;
    c->chunk = (size_t)v->dims[p->axis] * inner;
    c->offset = offset;
    c->dst_off = along * os[p->axis];
    if (!c->fast) { /* another layout (a constant): element by element into its window */
      int64_t vs[CL_MAX_RANK];
      cl_tensor_strides(v, vs);
      cl_strided_init(&c->copy, v->rank, v->dims, vs, os, cl_dtype_size(v->dtype));
    }
    offset += c->chunk;
    along += v->dims[p->axis];
  }
  st->out_chunk = offset;
  return CL_OK;
}

typedef struct {
  const concat_state *st;
  const cl_node *n;
  void *const *ptr;
} concat_job;

static void concat_rows(void *ctx, size_t begin, size_t end) {
  const concat_job *j = ctx;
  const concat_state *st = j->st;
  unsigned char *dst = j->ptr[j->n->out[0]];
  for (int i = 0; i < st->n_in; i++) {
    const concat_in *c = &st->in[i];
    if (!c->fast || c->chunk == 0) continue;
    const unsigned char *src = j->ptr[j->n->in[i]];
    for (size_t o = begin; o < end; o++)
      memcpy(dst + o * st->out_chunk + c->offset, src + o * c->chunk, c->chunk);
  }
}

cl_status cl_concat_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  concat_state *st = state;
  if (st->out_chunk == 0) return CL_OK;
  concat_job j = {st, n, k->ptr};
  cl_parallel_for(k->pool, st->outer, TASK_BYTES / st->out_chunk + 1, concat_rows, &j);
  size_t es = cl_dtype_size(cl_node_output(g, n, 0)->dtype);
  for (int i = 0; i < st->n_in; i++)
    if (!st->in[i].fast)
      cl_strided_run(&st->in[i].copy, k->ptr[n->in[i]],
                     (unsigned char *)k->ptr[n->out[0]] + st->in[i].dst_off * (int64_t)es, k->pool);
  return CL_OK;
}

/* === Slice === */

typedef struct {
  int64_t starts[CL_MAX_RANK], ends[CL_MAX_RANK], axes[CL_MAX_RANK]; /* Slice-1..9 attributes */
  int n_attr;                 /* entries in the attributes; -1: opset 10+ inputs */
  int64_t start[CL_MAX_RANK]; /* per logical axis, after clamping (infer) */
  int64_t step[CL_MAX_RANK];
} slice_params;

static cl_status copy_ints_attr(const cl_node *n, const char *name, int64_t *dst, int *count,
                                cl_error *err) {
  const int64_t *v;
  *count = cl_node_attr_ints(n, name, &v);
  if (!cl_node_attr(n, name)) {
    *count = -1;
    return CL_OK;
  }
  if (*count > CL_MAX_RANK)
    return cl_node_error(err, n, CL_ERR_LIMIT, "'%s' has %d entries (at most %d)", name, *count,
                         CL_MAX_RANK);
  memcpy(dst, v, (size_t)*count * sizeof *v);
  return CL_OK;
}

cl_status cl_slice_parse(cl_graph *g, cl_node *n, cl_error *err) {
  cl_status s = cl_tensor_params(n, sizeof(slice_params), &n->params, err);
  if (s != CL_OK || n->opset >= 10) {
    if (s == CL_OK) ((slice_params *)n->params)->n_attr = -1;
    return s;
  }
  slice_params *p = n->params;
  int ns, ne, na;
  s = copy_ints_attr(n, "starts", p->starts, &ns, err);
  if (s == CL_OK) s = copy_ints_attr(n, "ends", p->ends, &ne, err);
  if (s == CL_OK) s = copy_ints_attr(n, "axes", p->axes, &na, err);
  if (s != CL_OK) return s;
  if (ns < 0 || ne < 0)
    return cl_node_error(err, n, CL_ERR_FORMAT, "attributes 'starts' and 'ends' are required");
  if (ns != ne || (na >= 0 && na != ns))
    return cl_node_error(err, n, CL_ERR_FORMAT, "'starts', 'ends' and 'axes' differ in length");
  for (int i = 0; na < 0 && i < ns; i++) p->axes[i] = i;
  p->n_attr = ns;
  return CL_OK;
}

/* Reads Slice-10+ input i (constant ints) into dst; *count -1 when omitted. */
static cl_status slice_input(const cl_graph *g, const cl_node *n, int i, int64_t *dst, int *count,
                             cl_error *err) {
  int64_t *v = NULL;
  cl_status s = cl_node_const_ints(g, n, i, &v, count, err);
  if (s == CL_OK && *count > CL_MAX_RANK)
    s = cl_node_error(err, n, CL_ERR_LIMIT, "input %d has %d entries (at most %d)", i, *count,
                      CL_MAX_RANK);
  if (s == CL_OK && *count > 0) memcpy(dst, v, (size_t)*count * sizeof *v);
  free(v);
  return s;
}

/* Clamps as ONNX specifies and returns the output length along an axis of size dim. */
static int64_t slice_axis(int64_t start, int64_t end, int64_t step, int64_t dim, int64_t *first) {
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  int64_t len = 0;
  if (step > 0) {
    start = start < 0 ? 0 : start > dim ? dim : start;
    end = end < 0 ? 0 : end > dim ? dim : end;
    if (end > start) len = 1 + (end - start - 1) / step;
  } else {
    start = start < 0 ? 0 : start > dim - 1 ? dim - 1 : start;
    end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
    if (start > end) len = 1 + (start - end - 1) / -step;
  }
  *first = len > 0 ? start : 0;
  return len;
}

/* starts, ends, axes (filled in when omitted) and steps (*nst -1 when omitted), from the Slice-1..9
 * attributes or the Slice-10+ inputs; *ns entries each. */
static cl_status slice_args(const cl_graph *g, const cl_node *n, const slice_params *p, int64_t *starts,
                            int64_t *ends, int64_t *axes, int64_t *steps, int *ns, int *nst,
                            cl_error *err) {
  int ne, na;
  *nst = -1;
  if (p->n_attr >= 0) {
    *ns = p->n_attr;
    memcpy(starts, p->starts, sizeof p->starts);
    memcpy(ends, p->ends, sizeof p->ends);
    memcpy(axes, p->axes, sizeof p->axes);
    return CL_OK;
  }
  if (!cl_node_input(g, n, 1) || !cl_node_input(g, n, 2))
    return cl_node_error(err, n, CL_ERR_FORMAT, "inputs 'starts' and 'ends' are required");
  cl_status s = slice_input(g, n, 1, starts, ns, err);
  if (s == CL_OK) s = slice_input(g, n, 2, ends, &ne, err);
  if (s == CL_OK) s = slice_input(g, n, 3, axes, &na, err);
  if (s == CL_OK) s = slice_input(g, n, 4, steps, nst, err);
  if (s != CL_OK) return s;
  if (*ns != ne || (na >= 0 && na != *ns) || (*nst >= 0 && *nst != *ns))
    return cl_node_error(err, n, CL_ERR_SHAPE, "'starts', 'ends', 'axes' and 'steps' differ in length");
  for (int i = 0; na < 0 && i < *ns; i++) axes[i] = i;
  return CL_OK;
}

cl_status cl_slice_infer(cl_graph *g, cl_node *n, cl_error *err) {
  slice_params *p = n->params;
  const cl_value *in = NULL;
  int64_t starts[CL_MAX_RANK], ends[CL_MAX_RANK], axes[CL_MAX_RANK], steps[CL_MAX_RANK];
  int ns, nst;
  cl_status s = need_input(g, n, 0, &in, err);
  if (s == CL_OK) s = slice_args(g, n, p, starts, ends, axes, steps, &ns, &nst, err);
  if (s != CL_OK) return s;
  int64_t out[CL_MAX_RANK];
  int seen[CL_MAX_RANK] = {0};
  for (int a = 0; a < in->rank; a++) {
    p->start[a] = 0;
    p->step[a] = 1;
    out[a] = in->dims[a];
  }
  for (int i = 0; i < ns; i++) {
    int a;
    if ((s = cl_node_axis(n, axes[i], in->rank, &a, err)) != CL_OK) return s;
    if (seen[a]++) return cl_node_error(err, n, CL_ERR_SHAPE, "axis %d is sliced twice", a);
    int64_t step = nst >= 0 ? steps[i] : 1;
    if (step == 0) return cl_node_error(err, n, CL_ERR_SHAPE, "step 0 on axis %d", a);
    /* Any |step| beyond the dimension takes one element: bound it so products cannot overflow. */
    int64_t lim = 2 * CL_MAX_DIM;
    step = step > lim ? lim : step < -lim ? -lim : step;
    out[a] = slice_axis(starts[i], ends[i], step, in->dims[a], &p->start[a]);
    p->step[a] = step;
  }
  return set_out(g, n, 0, in->dtype, in->rank, out, err);
}

typedef struct {
  cl_strided copy;
  int64_t src_off; /* element offset of the first element read */
} slice_state;

cl_status cl_slice_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                           cl_error *err) {
  const slice_params *p = n->params;
  cl_status s = cl_tensor_state(n, sizeof(slice_state), state, err);
  if (s != CL_OK) return s;
  slice_state *st = *state;
  plan_window(&st->copy, &st->src_off, cl_node_input(g, n, 0), p->start, p->step,
              cl_node_output(g, n, 0));
  return CL_OK;
}

cl_status cl_slice_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  const slice_state *st = state;
  if (st->copy.numel == 0) return CL_OK;
  const unsigned char *src = k->ptr[n->in[0]];
  cl_strided_run(&st->copy, src + st->src_off * (int64_t)st->copy.esize, k->ptr[n->out[0]], k->pool);
  return CL_OK;
}

/* === Split === */

typedef struct {
  int axis;
  int n_out;
  int64_t sizes[]; /* n_out entries (infer) */
} split_params;

cl_status cl_split_parse(cl_graph *g, cl_node *n, cl_error *err) {
  if (n->n_out < 1) return cl_node_error(err, n, CL_ERR_FORMAT, "no outputs");
  cl_status s =
      cl_tensor_params(n, sizeof(split_params) + (size_t)n->n_out * sizeof(int64_t), &n->params, err);
  if (s != CL_OK) return s;
  ((split_params *)n->params)->n_out = n->n_out;
  int64_t no = cl_node_attr_int(n, "num_outputs", 0);
  if (n->opset >= 18 && cl_node_attr(n, "num_outputs") && no != n->n_out)
    return cl_node_error(err, n, CL_ERR_FORMAT, "num_outputs is %lld but the node has %d outputs",
                         (long long)no, n->n_out);
  return CL_OK;
}

/* The split sizes: from the attribute (up to 12, and Split-1's input), the input (13+), or even. */
static cl_status split_sizes(const cl_graph *g, const cl_node *n, int64_t dim, int64_t *sizes,
                             cl_error *err) {
  const int64_t *av = NULL;
  int64_t *iv = NULL;
  int cnt = -1;
  cl_status s = CL_OK;
  if (cl_node_input(g, n, 1) && (n->opset >= 13 || n->opset < 2))
    s = cl_node_const_ints(g, n, 1, &iv, &cnt, err);
  else if (cl_node_attr(n, "split")) cnt = cl_node_attr_ints(n, "split", &av);
  if (iv) av = iv;
  if (s == CL_OK && cnt >= 0) {
    int64_t sum = 0;
    if (cnt != n->n_out)
      s = cl_node_error(err, n, CL_ERR_SHAPE, "'split' has %d entries for %d outputs", cnt, n->n_out);
    for (int i = 0; s == CL_OK && i < cnt; i++) {
      if (av[i] < 0 || av[i] > dim)
        s = cl_node_error(err, n, CL_ERR_SHAPE, "split size %lld is out of range", (long long)av[i]);
      sizes[i] = av[i];
      sum += av[i];
    }
    if (s == CL_OK && sum != dim)
      s = cl_node_error(err, n, CL_ERR_SHAPE, "split sizes add up to %lld, not %lld", (long long)sum,
                        (long long)dim);
  } else if (s == CL_OK && n->opset >= 18 && cl_node_attr(n, "num_outputs")) {
    int64_t chunk = (dim + n->n_out - 1) / n->n_out, left = dim;
    for (int i = 0; i < n->n_out; i++) {
      sizes[i] = chunk < left ? chunk : left;
      left -= sizes[i];
    }
  } else if (s == CL_OK) {
    if (dim % n->n_out != 0)
      s = cl_node_error(err, n, CL_ERR_SHAPE, "axis of size %lld does not split into %d equal parts",
                        (long long)dim, n->n_out);
    for (int i = 0; i < n->n_out; i++) sizes[i] = dim / n->n_out;
  }
  free(iv);
  return s;
}

cl_status cl_split_infer(cl_graph *g, cl_node *n, cl_error *err) {
  split_params *p = n->params;
  const cl_value *in = NULL;
  cl_status s = need_input(g, n, 0, &in, err);
  if (s == CL_OK) s = cl_node_axis(n, cl_node_attr_int(n, "axis", 0), in->rank, &p->axis, err);
  if (s == CL_OK) s = split_sizes(g, n, in->dims[p->axis], p->sizes, err);
  for (int i = 0; s == CL_OK && i < n->n_out; i++) {
    int64_t dims[CL_MAX_RANK];
    memcpy(dims, in->dims, sizeof dims);
    dims[p->axis] = p->sizes[i];
    s = set_out(g, n, i, in->dtype, in->rank, dims, err);
  }
  return s;
}

typedef struct {
  int n_out;
  struct {
    cl_strided copy;
    int64_t src_off;
  } out[];
} split_state;

cl_status cl_split_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                           cl_error *err) {
  const split_params *p = n->params;
  const cl_value *in = cl_node_input(g, n, 0);
  cl_status s = cl_tensor_state(
      n, sizeof(split_state) + (size_t)n->n_out * sizeof(((split_state *)0)->out[0]), state, err);
  if (s != CL_OK) return s;
  split_state *st = *state;
  st->n_out = n->n_out;
  int64_t start[CL_MAX_RANK] = {0};
  for (int i = 0; i < n->n_out; i++) {
    const cl_value *o = cl_node_output(g, n, i);
    if (o) plan_window(&st->out[i].copy, &st->out[i].src_off, in, start, NULL, o);
    start[p->axis] += p->sizes[i];
  }
  return CL_OK;
}

cl_status cl_split_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  const split_state *st = state;
  const unsigned char *src = k->ptr[n->in[0]];
  for (int i = 0; i < st->n_out; i++) {
    if (n->out[i] < 0 || st->out[i].copy.numel == 0) continue;
    cl_strided_run(&st->out[i].copy, src + st->out[i].src_off * (int64_t)st->out[i].copy.esize,
                   k->ptr[n->out[i]], k->pool);
  }
  return CL_OK;
}

/* === Transpose === */

typedef struct {
  int perm[CL_MAX_RANK];
} transpose_params;

cl_status cl_transpose_parse(cl_graph *g, cl_node *n, cl_error *err) {
  return cl_tensor_params(n, sizeof(transpose_params), &n->params, err);
}

cl_status cl_transpose_infer(cl_graph *g, cl_node *n, cl_error *err) {
  transpose_params *p = n->params;
  const cl_value *in = NULL;
  cl_status s = need_input(g, n, 0, &in, err);
  if (s != CL_OK) return s;
  const int64_t *perm;
  int cnt = cl_node_attr_ints(n, "perm", &perm), seen[CL_MAX_RANK] = {0};
  if (!cl_node_attr(n, "perm")) cnt = -1;
  if (cnt >= 0 && cnt != in->rank)
    return cl_node_error(err, n, CL_ERR_SHAPE, "perm has %d entries for an input of rank %d", cnt,
                         in->rank);
  int64_t out[CL_MAX_RANK];
  for (int i = 0; i < in->rank; i++) {
    int64_t a = cnt >= 0 ? perm[i] : in->rank - 1 - i;
    if (a < 0 || a >= in->rank || seen[a]++)
      return cl_node_error(err, n, CL_ERR_SHAPE, "perm is not a permutation of 0..%d", in->rank - 1);
    p->perm[i] = (int)a;
    out[i] = in->dims[a];
  }
  return set_out(g, n, 0, in->dtype, in->rank, out, err);
}

cl_status cl_transpose_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,
                               void **state, cl_error *err) {
  const transpose_params *p = n->params;
  const cl_value *in = cl_node_input(g, n, 0), *out = cl_node_output(g, n, 0);
  cl_status s = cl_tensor_state(n, sizeof(cl_strided), state, err);
  if (s != CL_OK) return s;
  /* The input's storage order composes with perm through its logical strides. */
  int64_t is[CL_MAX_RANK], ss[CL_MAX_RANK], os[CL_MAX_RANK];
  cl_tensor_strides(in, is);
  cl_tensor_strides(out, os);
  for (int i = 0; i < out->rank; i++) ss[i] = is[p->perm[i]];
  cl_strided_init(*state, out->rank, out->dims, ss, os, cl_dtype_size(in->dtype));
  return CL_OK;
}

cl_status cl_transpose_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  cl_strided_run(state, k->ptr[n->in[0]], k->ptr[n->out[0]], k->pool);
  return CL_OK;
}

/* === Gather ===
 * Constant indices are checked at load (out of range: CL_ERR_SHAPE). Indices computed at run time
 * are clamped into the axis (after adding its size to negative ones): never read out of bounds. */

typedef struct {
  int axis;
} gather_params;

cl_status cl_gather_parse(cl_graph *g, cl_node *n, cl_error *err) {
  return cl_tensor_params(n, sizeof(gather_params), &n->params, err);
}

static int64_t index_at(cl_dtype t, const void *data, size_t i) {
  return t == CL_DTYPE_I64 ? ((const int64_t *)data)[i] : ((const int32_t *)data)[i];
}

cl_status cl_gather_infer(cl_graph *g, cl_node *n, cl_error *err) {
  gather_params *p = n->params;
  const cl_value *data = NULL, *idx = NULL;
  cl_status s = need_input(g, n, 0, &data, err);
  if (s == CL_OK) s = need_input(g, n, 1, &idx, err);
  if (s == CL_OK) s = cl_node_axis(n, cl_node_attr_int(n, "axis", 0), data->rank, &p->axis, err);
  if (s != CL_OK) return s;
  if (idx->dtype != CL_DTYPE_I64 && idx->dtype != CL_DTYPE_I32)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "indices of type %s (int32 or int64 expected)",
                         cl_dtype_name(idx->dtype));
  int r = data->rank - 1 + idx->rank;
  if (r > CL_MAX_RANK)
    return cl_node_error(err, n, CL_ERR_LIMIT, "output rank %d (at most %d)", r, CL_MAX_RANK);
  int64_t dim = data->dims[p->axis], out[CL_MAX_RANK];
  for (size_t i = 0; idx->is_const && i < cl_tensor_numel(idx); i++) {
    int64_t v = index_at(idx->dtype, idx->data, i);
    if (v < -dim || v >= dim)
      return cl_node_error(err, n, CL_ERR_SHAPE, "index %lld is out of range for axis %d of size %lld",
                           (long long)v, p->axis, (long long)dim);
  }
  int q = 0;
  for (int a = 0; a < p->axis; a++) out[q++] = data->dims[a];
  for (int a = 0; a < idx->rank; a++) out[q++] = idx->dims[a];
  for (int a = p->axis + 1; a < data->rank; a++) out[q++] = data->dims[a];
  return set_out(g, n, 0, data->dtype, r, out, err);
}

typedef struct {
  cl_dtype idx_type;
  size_t n_idx;    /* indices */
  size_t inner;    /* bytes per gathered slice */
  int64_t dim;     /* size of the gathered axis */
  int constant;    /* indices constant: table holds them normalised */
  int64_t table[]; /* n_idx entries when constant */
} gather_state;

cl_status cl_gather_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                            cl_error *err) {
  const gather_params *p = n->params;
  const cl_value *data = cl_node_input(g, n, 0), *idx = cl_node_input(g, n, 1);
  size_t n_idx = cl_tensor_numel(idx);
  int constant = idx->is_const;
  cl_status s =
      cl_tensor_state(n, sizeof(gather_state) + (constant ? n_idx : 0) * sizeof(int64_t), state, err);
  if (s != CL_OK) return s;
  gather_state *st = *state;
  st->idx_type = idx->dtype;
  st->n_idx = n_idx;
  st->dim = data->dims[p->axis];
  st->constant = constant;
  st->inner = cl_dtype_size(data->dtype);
  for (int a = p->axis + 1; a < data->rank; a++) st->inner *= (size_t)data->dims[a];
  for (size_t i = 0; constant && i < n_idx; i++) {
    int64_t v = index_at(idx->dtype, idx->data, i);
    st->table[i] = v < 0 ? v + st->dim : v;
  }
  return CL_OK;
}

/* Units are (outer, index) pairs. */
typedef struct {
  const gather_state *st;
  const unsigned char *src;
  const void *idx;
  unsigned char *dst;
} gather_job;

static void gather_units(void *ctx, size_t begin, size_t end) {
  const gather_job *j = ctx;
  const gather_state *st = j->st;
  const unsigned char *src = j->src;
  unsigned char *dst = j->dst;
  for (size_t u = begin; u < end; u++) {
    size_t o = u / st->n_idx, i = u % st->n_idx;
    int64_t v;
    if (st->constant) {
      v = st->table[i];
    } else {
      v = index_at(st->idx_type, j->idx, i);
      if (v < 0) v += st->dim;
      v = v < 0 ? 0 : v >= st->dim ? st->dim - 1 : v;
    }
    memcpy(dst + u * st->inner, src + ((size_t)o * (size_t)st->dim + (size_t)v) * st->inner, st->inner);
  }
}

cl_status cl_gather_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  gather_state *st = state;
  const cl_value *out = cl_node_output(g, n, 0);
  if (out->nbytes == 0 || st->inner == 0 || st->n_idx == 0) return CL_OK;
  if (st->dim == 0) { /* nothing to read: only reachable with run-time indices */
    memset(k->ptr[n->out[0]], 0, out->nbytes);
    return CL_OK;
  }
  size_t units = out->nbytes / st->inner;
  gather_job j = {st, k->ptr[n->in[0]], k->ptr[n->in[1]], k->ptr[n->out[0]]};
  cl_parallel_for(k->pool, units, TASK_BYTES / st->inner + 1, gather_units, &j);
  return CL_OK;
}
