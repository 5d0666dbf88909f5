/* cleave: folds into convolution weights (steps 1 and 3 of the fusion pass, fuse_internal.h).
 *
 * After a Conv or ConvTranspose y = W * x + B, a per-output-channel affine z = s * y + t (a
 * BatchNormalization, or Mul / Div / Add / Sub by a constant that is one value or one per channel)
 * is the same convolution with W scaled by s along its output channels and B = s * B + t. It folds
 * when y is read by that node alone, is no graph output, and no clamp is fused into the conv yet.
 *
 * Before a Conv, an affine x = s * u + t whose result only the conv reads folds into it as well:
 * W scaled by s along its input channels, and B += sum over each filter of W * t. The t part needs
 * every tap of every window to read a real input element (no padding); the scale alone does not,
 * since the padded zeros stay zeros.
 *
 * Weight layouts: Conv W is [M, C/group, k...], ConvTranspose W is [C, M/group, k...]. Folded
 * weights are written into private copies unless the graph owns them and this conv is their only
 * reader. Constants that are not finite (or a division by zero) refuse the fold. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/fuse_internal.h"

/* === Geometry === */

typedef struct conv_geom {
  int transpose;
  int64_t c_in, c_out, group;
  int64_t w1;   /* weight dim 1: C/group (Conv) or M/group (ConvTranspose) */
  size_t ks;    /* kernel elements: product of weight dims 2.. */
  size_t nw;    /* weight elements */
} conv_geom;

/* 1 when node i is a Conv or ConvTranspose, without a fused clamp, with float32 constant weights
 * and bias (or none) whose shapes agree with its input and output. */
static int conv_geom_of(const cl_graph *g, int i, conv_geom *q) {
  const cl_node *n = &g->nodes[i];
  q->transpose = fuse_is(n, "ConvTranspose");
  if (!q->transpose && !fuse_is(n, "Conv")) return 0;
  const cl_value *x = cl_node_input(g, n, 0), *w = cl_node_input(g, n, 1), *b = cl_node_input(g, n, 2);
  const cl_value *y = cl_node_output(g, n, 0);
  if (!x || !w || !y || !w->is_const || w->dtype != CL_DTYPE_F32 || w->rank < 3 || x->rank != w->rank ||
      y->rank != w->rank)
    return 0;
  q->group = cl_node_attr_int(n, "group", 1);
  q->c_in = x->dims[1];
  q->c_out = y->dims[1];
  q->w1 = w->dims[1];
  q->nw = w->nbytes / sizeof(float);
  q->ks = 1;
  for (int d = 2; d < w->rank; d++) q->ks *= (size_t)w->dims[d];
  int64_t w0_want = q->transpose ? q->c_in : q->c_out;
  int64_t w1_want = q->group > 0 ? (q->transpose ? q->c_out : q->c_in) / q->group : -1;
  if (q->group < 1 || w->dims[0] != w0_want || q->w1 != w1_want || q->nw == 0) return 0;
  return !b || (b->is_const && b->dtype == CL_DTYPE_F32 && b->rank == 1 && b->dims[0] == q->c_out);
}

/* Weight rows: row r holds the ks elements of weight dims 0 and 1 at (r / w1, r % w1). */
static size_t rows(const conv_geom *q) { return q->nw / q->ks; }

/* Output channel that row r feeds. */
static int64_t row_out(const conv_geom *q, size_t r) {
  int64_t i0 = (int64_t)r / q->w1, i1 = (int64_t)r % q->w1;
  return q->transpose ? i0 / (q->c_in / q->group) * q->w1 + i1 : i0;
}

/* Input channel that row r reads (Conv only). */
static int64_t row_in(const conv_geom *q, size_t r) {
  int64_t i0 = (int64_t)r / q->w1, i1 = (int64_t)r % q->w1;
  return i0 / (q->c_out / q->group) * q->w1 + i1;
}

/* The conv's bias, writable; a zero bias is added when it has none. */
static float *writable_bias(fuse_ctx *c, int i, const conv_geom *q) {
  cl_graph *g = c->g;
  if (cl_node_input(g, &g->nodes[i], 2)) return fuse_writable_input(c, i, 2);
  char base[200];
  snprintf(base, sizeof base, "%s.bias", g->nodes[i].name);
  int nb = fuse_new_const(c, base, 1, &q->c_out);
  if (nb < 0 || fuse_set_input(c, i, 2, nb) != CL_OK) return NULL;
  return g->values[nb].data;
}

/* === Per-channel affine operands === */

/* s and t (count values each) from node n = y op k, where k is the constant in slot 1 - ys and
 * varies along axis 1 of y at most. 0 when n is not such a node or the fold would be inexact. */
static int affine_of(const cl_graph *g, const cl_node *n, int y, int64_t count, float *s, float *t) {
  int add = fuse_is(n, "Add"), sub = fuse_is(n, "Sub"), mul = fuse_is(n, "Mul"), div = fuse_is(n, "Div");
  if (!(add || sub || mul || div) || n->opset < 7 || n->n_in != 2 || n->n_out != 1) return 0;
  int ys = n->in[0] == y ? 0 : 1;
  if (n->in[ys] != y || n->in[1 - ys] == y || ((sub || div) && ys != 0)) return 0;
  const cl_value *k = cl_node_input(g, n, 1 - ys), *yv = &g->values[y];
  int axis;
  if (!fuse_const_axis(k, yv, &axis) || (axis >= 0 && axis != 1) || yv->dims[1] != count) return 0;
  const float *kv = k->data;
  for (int64_t o = 0; o < count; o++) {
    float v = kv[axis < 0 ? 0 : o];
    if (!isfinite(v) || (div && v == 0.0f)) return 0;
    s[o] = mul ? v : div ? 1.0f / v : 1.0f;
    t[o] = add ? v : sub ? -v : 0.0f;
  }
  return 1;
}

/* s and t of a BatchNormalization reading y (inference mode, float [count] parameters). */
static int bn_of(const cl_graph *g, const cl_node *n, int y, int64_t count, float *s, float *t) {
  if (!fuse_is(n, "BatchNormalization") || n->n_in != 5 || n->in[0] != y ||
      cl_node_attr_int(n, "training_mode", 0))
    return 0;
  for (int j = 1; j < n->n_out; j++)
    if (n->out[j] >= 0) return 0;
  const float *p[5];
  for (int i = 1; i <= 4; i++) {
    const cl_value *v = cl_node_input(g, n, i);
    if (!v || !v->is_const || v->dtype != CL_DTYPE_F32 || v->rank != 1 || v->dims[0] != count) return 0;
    p[i] = v->data;
  }
  float eps = cl_node_attr_float(n, "epsilon", 1e-5f);
  for (int64_t o = 0; o < count; o++) {
    s[o] = p[1][o] / sqrtf(p[4][o] + eps);
    t[o] = p[2][o] - p[3][o] * s[o];
    if (!isfinite(s[o]) || !isfinite(t[o])) return 0;
  }
  return 1;
}

/* === Step 1: folds after the conv === */

/* W scaled by s per output channel, B = s * B + t. */
static cl_status apply_after(fuse_ctx *c, int i, const conv_geom *q, const float *s, const float *t) {
  float *w = fuse_writable_input(c, i, 1);
  float *b = w ? writable_bias(c, i, q) : NULL;
  if (!b) return c->err ? c->err->status : CL_ERR_NOMEM;
  for (size_t r = 0; r < rows(q); r++) {
    float k = s[row_out(q, r)];
    for (size_t e = r * q->ks; e < (r + 1) * q->ks; e++) w[e] *= k;
  }
  for (int64_t o = 0; o < q->c_out; o++) b[o] = b[o] * s[o] + t[o];
  return CL_OK;
}

/* Folds the affine nodes that follow conv i, while there are. */
static cl_status fold_after(fuse_ctx *c, int i, float *s, float *t) {
  cl_graph *g = c->g;
  conv_geom q;
  while (conv_geom_of(g, i, &q)) {
    int y = g->nodes[i].out[0], r = fuse_sole_reader(c, y);
    if (r < 0) break;
    const cl_node *n = &g->nodes[r];
    if (!bn_of(g, n, y, q.c_out, s, t) && !affine_of(g, n, y, q.c_out, s, t)) break;
    cl_status st = apply_after(c, i, &q, s, t);
    if (st != CL_OK) return st;
    fuse_take_output(c, i, r);
  }
  return CL_OK;
}

/* Scratch for s and t: two arrays of the largest channel count any conv has. */
static float *channel_scratch(const cl_graph *g, cl_error *err) {
  int64_t most = 1;
  for (int v = 0; v < g->n_values; v++)
    if (g->values[v].rank >= 2 && g->values[v].dims[1] > most) most = g->values[v].dims[1];
  float *p = malloc((size_t)most * 2 * sizeof *p);
  if (!p) cl_error_set(err, CL_ERR_NOMEM, "out of memory fusing");
  return p;
}

cl_status fuse_conv_fold_after(fuse_ctx *c) {
  float *st = NULL;
  cl_status s = CL_OK;
  for (int i = 0; i < c->g->n_nodes && s == CL_OK; i++) {
    conv_geom q;
    if (!conv_geom_of(c->g, i, &q)) continue;
    if (!st && !(st = channel_scratch(c->g, c->err))) return CL_ERR_NOMEM;
    s = fold_after(c, i, st, st + q.c_out);
  }
  free(st);
  return s;
}

/* === Step 3: folds before the conv === */

/* 1 when the conv's windows never read padding. */
static int conv_unpadded(const cl_node *n) {
  const char *ap = cl_node_attr_string(n, "auto_pad");
  if (ap && strcmp(ap, "NOTSET") != 0 && strcmp(ap, "VALID") != 0) return 0;
  const int64_t *pads;
  int np = cl_node_attr_ints(n, "pads", &pads);
  for (int j = 0; j < np; j++)
    if (pads[j] != 0) return 0;
  return 1;
}

/* W scaled by s per input channel after B += sum of W * t per filter (W as it is before the scale). */
static cl_status apply_before(fuse_ctx *c, int i, const conv_geom *q, const float *s, const float *t,
                              int shift) {
  float *w = fuse_writable_input(c, i, 1);
  float *b = w && shift ? writable_bias(c, i, q) : NULL;
  if (!w || (shift && !b)) return c->err ? c->err->status : CL_ERR_NOMEM;
  for (int64_t o = 0; o < q->c_out; o++) { /* Conv: filter o is rows o * w1 .. o * w1 + w1 - 1 */
    double acc = 0;
    for (size_t r = (size_t)(o * q->w1); r < (size_t)((o + 1) * q->w1); r++) {
      int64_t ci = row_in(q, r);
      for (size_t e = r * q->ks; e < (r + 1) * q->ks; e++) {
        acc += (double)w[e] * t[ci];
        w[e] *= s[ci];
      }
    }
    if (shift) b[o] = (float)(b[o] + acc);
  }
  return CL_OK;
}

/* Folds the affine nodes that only conv i reads into it, while there are. */
static cl_status fold_before(fuse_ctx *c, int i, float *s, float *t) {
  cl_graph *g = c->g;
  conv_geom q;
  while (conv_geom_of(g, i, &q) && !q.transpose) {
    int x = g->nodes[i].in[0], p = g->values[x].producer;
    if (p < 0 || fuse_sole_reader(c, x) != i || g->nodes[p].dead || g->nodes[p].out[0] != x) break;
    const cl_node *n = &g->nodes[p];
    if (n->n_in != 2 || n->in[0] < 0 || n->in[1] < 0) break;
    int u = g->values[n->in[0]].is_const ? n->in[1] : n->in[0];
    if (!fuse_same_shape(&g->values[u], &g->values[x]) ||
        !affine_of(g, n, u, q.c_in, s, t))
      break;
    int shift = 0;
    for (int64_t k = 0; k < q.c_in; k++) shift |= t[k] != 0.0f;
    if (shift && !conv_unpadded(&g->nodes[i])) break;
    cl_status st = apply_before(c, i, &q, s, t, shift);
    if (st == CL_OK) st = fuse_set_input(c, i, 0, u);
    if (st != CL_OK) return st;
    fuse_kill(c, p);
  }
  return CL_OK;
}

cl_status fuse_conv_fold_before(fuse_ctx *c) {
  float *st = NULL;
  cl_status s = CL_OK;
  for (int i = 0; i < c->g->n_nodes && s == CL_OK; i++) {
    conv_geom q;
    if (!conv_geom_of(c->g, i, &q) || q.transpose) continue;
    if (!st && !(st = channel_scratch(c->g, c->err))) return CL_ERR_NOMEM;
    s = fold_before(c, i, st, st + q.c_in);
  }
  free(st);
  return s;
}
