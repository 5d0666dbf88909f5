/* cleave: BatchNormalization, inference form (opsets 6, 7, 9, 14, 15).
 *
 * y = (x - mean) / sqrt(var + epsilon) * scale + B per channel (logical axis 1), computed as
 * y = a[c] * x + b[c] with a and b worked out in prepare when the four parameters are constant (the
 * usual case; a BatchNormalization after a Conv is folded into it by the build pipeline anyway) and
 * at every run otherwise, into buffers prepare allocated. float32 only, X of rank >= 2 in either
 * layout: channels-last rows are per-channel vectors, plain rows share one channel.
 *
 * Refused (CL_ERR_UNSUPPORTED): training_mode = 1, the running-statistics outputs, spatial = 0
 * (opsets 6-8), and parameters of another dtype than float (opset 15 allows them). is_test (opset 6)
 * is ignored: inference is the only mode, as in ONNX Runtime. Honours a fused clamp (BN + Relu). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exec/ew_internal.h"

static const char *const PARAM_NAMES[4] = {"scale", "B", "mean", "var"};

typedef struct bn_params {
  float epsilon;
} bn_params;

typedef struct bn_state {
  ew_loop loop;           /* y = a * x + b, inputs x, a, b */
  int at_run;             /* 1: some parameter is not constant: a and b are computed at every run */
  const float *param[4];  /* scale, B, mean, var */
  double epsilon;
  int64_t channels;
  float *a, *b;           /* owned (one allocation): per-channel factor and offset */
} bn_state;

/* === Kernel === */

static void bn_row(const ew_loop *l, void *out, const void *const *in, const int64_t *st, size_t n) {
  const float *x = in[0], *a = in[1], *b = in[2];
  float *o = out;
  (void)l;
  if (st[0] == 1 && st[1] == 0 && st[2] == 0) { /* plain layout: a row of one channel */
    const float av = a[0], bv = b[0];
    for (size_t i = 0; i < n; i++) o[i] = x[i] * av + bv;
  } else if (st[0] == 1 && st[1] == 1 && st[2] == 1) { /* channels-last: a row of all channels */
    for (size_t i = 0; i < n; i++) o[i] = x[i] * a[i] + b[i];
  } else {
    for (size_t i = 0; i < n; i++) {
      int64_t j = (int64_t)i;
      o[i] = x[j * st[0]] * a[j * st[1]] + b[j * st[2]];
    }
  }
}

static void compute_ab(bn_state *s) {
  const float *scale = s->param[0], *bias = s->param[1], *mean = s->param[2], *var = s->param[3];
  for (int64_t c = 0; c < s->channels; c++) {
    double a = scale[c] / sqrt((double)var[c] + s->epsilon);
    s->a[c] = (float)a;
    s->b[c] = (float)(bias[c] - mean[c] * a);
  }
}

/* === Parse and infer === */

cl_status ew_bn_parse(cl_graph *g, cl_node *n, cl_error *err) {
  bn_params *p = ew_params_alloc(n, sizeof *p, err);
  if (!p) return CL_ERR_NOMEM;
  p->epsilon = cl_node_attr_float(n, "epsilon", 1e-5f);
  if (n->opset >= 14 && cl_node_attr_int(n, "training_mode", 0) != 0)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED,
                         "training_mode=1 is not supported (inference only)");
  if (n->opset < 9 && cl_node_attr_int(n, "spatial", 1) == 0)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED,
                         "spatial=0 (per-activation statistics) is not supported");
  return ew_no_extra_outputs(n, 1, err);
}

cl_status ew_bn_infer(cl_graph *g, cl_node *n, cl_error *err) {
  const cl_value *x;
  if (n->n_in != 5) return cl_node_error(err, n, CL_ERR_FORMAT, "needs 5 inputs, not %d", n->n_in);
  cl_status s = ew_need_input(g, n, 0, &x, err);
  if (s != CL_OK) return s;
  if (x->dtype != CL_DTYPE_F32)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "input type %s is not supported (float only)",
                         cl_dtype_name(x->dtype));
  if (x->rank < 2) {
    char d[128];
    return cl_node_error(err, n, CL_ERR_SHAPE, "input X %s must have rank >= 2 (N, C, ...)",
                         cl_shape_str(x->rank, x->dims, d, sizeof d));
  }
  for (int i = 1; i < 5; i++) {
    const cl_value *v;
    s = ew_need_input(g, n, i, &v, err);
    if (s != CL_OK) return s;
    if (v->dtype != CL_DTYPE_F32)
      return cl_node_error(err, n, CL_ERR_UNSUPPORTED,
                           "%s '%s' of type %s is not supported (float only)", PARAM_NAMES[i - 1],
                           v->name, cl_dtype_name(v->dtype));
    if (v->rank != 1 || v->dims[0] != x->dims[1]) {
      char d[128];
      return cl_node_error(err, n, CL_ERR_SHAPE, "%s '%s' is %s, expected [%lld] (the channels of X)",
                           PARAM_NAMES[i - 1], v->name, cl_shape_str(v->rank, v->dims, d, sizeof d),
                           (long long)x->dims[1]);
    }
  }
  return ew_infer_like(g, n, x, CL_DTYPE_F32, err);
}

/* === Prepare, run, release === */

void ew_bn_release(void *state) {
  bn_state *s = state;
  if (!s) return;
  free(s->a);
  ew_loop_release(&s->loop);
  free(s);
}

cl_status ew_bn_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                        cl_error *err) {
  const bn_params *p = n->params;
  const cl_value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  int64_t c = x->dims[1];
  bn_state *s = calloc(1, sizeof *s);
  float *ab = malloc((size_t)(2 * c + 1) * sizeof *ab);
  if (!s || !ab) {
    free(s);
    free(ab);
    return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory preparing");
  }
  *state = s;
  s->a = ab;
  s->b = ab + c;
  s->channels = c;
  s->epsilon = p->epsilon;
  for (int i = 0; i < 4; i++) {
    s->param[i] = k->ptr[n->in[i + 1]];
    s->at_run |= !g->values[n->in[i + 1]].is_const;
  }
  if (!s->at_run) compute_ab(s);
  /* a and b as [1, C, 1, ..., 1] PLAIN values broadcast against y. */
  cl_value pc = {.dtype = CL_DTYPE_F32, .rank = x->rank, .layout = CL_LAYOUT_PLAIN};
  for (int d = 0; d < x->rank; d++) pc.dims[d] = d == 1 ? c : 1;
  const cl_value *in[3] = {x, &pc, &pc};
  ew_loop *l = &s->loop;
  ew_walk_init(&l->walk, y, in, 3);
  l->row = bn_row;
  l->out = k->ptr[n->out[0]];
  l->in[0] = k->ptr[n->in[0]];
  l->in[1] = s->a;
  l->in[2] = s->b;
  l->out_size = l->in_size[0] = l->in_size[1] = l->in_size[2] = sizeof(float);
  l->grain = EW_GRAIN_CHEAP;
  ew_loop_widen(l);
  ew_loop_fuse_clamp(l, n);
  return CL_OK;
}

cl_status ew_bn_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  bn_state *s = state;
  if (s->at_run) compute_ab(s);
  ew_loop_run(&s->loop, k->pool);
  return CL_OK;
}
