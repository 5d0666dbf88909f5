/* cleave: elementwise rewrites of the fusion pass (steps 2 and 5, fuse_internal.h).
 *
 * Gated residuals: x + x * g (either operand order in the Add and the Mul) where g comes from a
 * Sigmoid or HardSigmoid becomes x * (g + 1): g is the small per-channel gate of a
 * squeeze-and-excitation block, so g + 1 costs nothing and x is read once instead of twice. The gate
 * lies in [0, 1], so 1 + g is in [1, 2]: the forms differ by float rounding only for finite x. For
 * x = +-inf they differ when g = 0: ONNX's form gives inf + inf * 0 = NaN, cleave's inf * 1 = inf
 * (a saner answer, and no trained model we test feeds infinities to a gate).
 *
 * HardSwish: the forms exporters write it out as become one HardSwish node:
 *   x * Clip(x + 3, 0, 6) / 6     (paddle2onnx; the Mul's operands in either order, Add(3, x) too,
 *                                  the division by 6 as a Mul by 1/6, or applied to the Clip first)
 *   x * HardSigmoid(x, alpha = 1/6, beta = 1/2)   (torch before opset 14)
 * when every intermediate is read by the next node alone and is no graph output. The results differ
 * from the written-out form by float rounding only.
 *
 * Chains: a run of single-input float32 operators, each intermediate read by the next alone and no
 * graph output, becomes one cleave.Chain (exec/ops_chain.h) when it has two stages or more. A stage
 * is a clamp (Relu, Clip with constant bounds), Neg, Abs, Reciprocal, LeakyRelu, HardSigmoid,
 * HardSwish, or Add / Sub / Mul / Div / Max / Min / PRelu with a constant that is one value or
 * varies along one axis of the tensor (the tensor first for Sub, Div and PRelu; either side for
 * the others). Operators that call libm per element (Sigmoid, Tanh, Exp, ...) are left alone: the
 * elementwise group runs them vectorised on XNNPACK, which beats a scalar loop even with the extra
 * pass over memory. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "exec/ops_chain.h"
#include "exec/ops_elementwise.h"
#include "model/fuse_internal.h"

#define SIXTH_TOL 2e-7f /* |k - 1/6| accepted as a multiplication by 1/6: about two float ulps */

/* === Matching helpers === */

/* 1 when n is the binary op_type (opset 7+: numpy broadcasting) with two inputs and one output. */
static int is_binary(const cl_node *n, const char *op_type) {
  return fuse_is(n, op_type) && n->opset >= 7 && n->n_in == 2 && n->n_out == 1 && n->in[0] >= 0 &&
         n->in[1] >= 0;
}

/* 1 when node n's output has value x's shape and dtype, float32. */
static int keeps_shape(const cl_graph *g, const cl_node *n, int x) {
  const cl_value *y = &g->values[n->out[0]];
  return y->dtype == CL_DTYPE_F32 && fuse_same_shape(y, &g->values[x]);
}

/* Add(x, 3) or Add(3, x): 1 with the tensor in *x. */
static int is_add3(const cl_graph *g, const cl_node *n, int *x) {
  float k;
  if (!is_binary(n, "Add")) return 0;
  for (int s = 0; s < 2; s++)
    if (fuse_const_scalar(g, n, 1 - s, &k) && k == 3.0f && !g->values[n->in[s]].is_const) {
      *x = n->in[s];
      return keeps_shape(g, n, *x);
    }
  return 0;
}

/* v / 6, v * (1/6) or (1/6) * v. */
static int is_sixth(const cl_graph *g, const cl_node *n, int v) {
  float k;
  if (is_binary(n, "Div"))
    return n->in[0] == v && fuse_const_scalar(g, n, 1, &k) && k == 6.0f && keeps_shape(g, n, v);
  if (!is_binary(n, "Mul")) return 0;
  int s = n->in[0] == v ? 1 : 0;
  return n->in[1 - s] == v && fuse_const_scalar(g, n, s, &k) && fabsf(k - 1.0f / 6.0f) <= SIXTH_TOL &&
         keeps_shape(g, n, v);
}

/* Mul(x, v) or Mul(v, x). */
static int is_mul_of(const cl_graph *g, const cl_node *n, int x, int v) {
  return is_binary(n, "Mul") && x != v &&
         ((n->in[0] == x && n->in[1] == v) || (n->in[0] == v && n->in[1] == x)) && keeps_shape(g, n, x);
}

/* === Step 2: HardSwish === */

/* Kills nodes[0..count) and puts HardSwish(x) in the slot of the last, writing its output. */
static cl_status install_hardswish(fuse_ctx *c, const int *nodes, int count, int x) {
  cl_graph *g = c->g;
  int last = nodes[count - 1], out = g->nodes[last].out[0];
  if (g->values[x].dtype != CL_DTYPE_F32 || !keeps_shape(g, &g->nodes[last], x) || !fuse_room(c))
    return CL_OK;
  char name[256];
  snprintf(name, sizeof name, "%s", g->nodes[last].name);
  for (int k = 0; k < count; k++) fuse_kill(c, nodes[k]);
  return fuse_install(c, last, name, "HardSwish", 14, &x, 1, out, NULL, NULL);
}

/* Anchored at the Clip(x + 3, 0, 6). */
static cl_status hardswish_from_clip(fuse_ctx *c, int qi) {
  cl_graph *g = c->g;
  const cl_node *q = &g->nodes[qi];
  float lo, hi;
  if (!fuse_is(q, "Clip") || q->n_in < 1 || q->in[0] < 0 || !cl_op_clamp_bounds(g, q, &lo, &hi) ||
      lo != 0.0f || hi != 6.0f)
    return CL_OK;
  int u = q->in[0], a = g->values[u].producer, x;
  if (a < 0 || fuse_sole_reader(c, u) != qi || !is_add3(g, &g->nodes[a], &x)) return CL_OK;
  int v = q->out[0], r = fuse_sole_reader(c, v);
  if (r < 0) return CL_OK;
  int w = g->nodes[r].out[0], nodes[4] = {a, qi, r, -1};
  if (is_mul_of(g, &g->nodes[r], x, v)) { /* (x * clip) / 6 */
    nodes[3] = fuse_sole_reader(c, w);
    if (nodes[3] < 0 || !is_sixth(g, &g->nodes[nodes[3]], w)) return CL_OK;
  } else if (is_sixth(g, &g->nodes[r], v)) { /* x * (clip / 6) */
    nodes[3] = fuse_sole_reader(c, w);
    if (nodes[3] < 0 || !is_mul_of(g, &g->nodes[nodes[3]], x, w)) return CL_OK;
  } else {
    return CL_OK;
  }
  return install_hardswish(c, nodes, 4, x);
}

/* Anchored at the HardSigmoid(x, 1/6, 1/2). */
static cl_status hardswish_from_hsigmoid(fuse_ctx *c, int hi) {
  cl_graph *g = c->g;
  const cl_node *h = &g->nodes[hi];
  if (!fuse_is(h, "HardSigmoid") || h->n_in != 1 || h->in[0] < 0) return CL_OK;
  float alpha = cl_node_attr_float(h, "alpha", 0.2f), beta = cl_node_attr_float(h, "beta", 0.5f);
  if (fabsf(alpha - 1.0f / 6.0f) > SIXTH_TOL || beta != 0.5f) return CL_OK;
  int x = h->in[0], v = h->out[0], r = fuse_sole_reader(c, v);
  if (r < 0 || !is_mul_of(g, &g->nodes[r], x, v)) return CL_OK;
  return install_hardswish(c, (int[]){hi, r}, 2, x);
}

/* === Step 2: gated residuals === */

/* 1 when value v is computed by a Sigmoid or a HardSigmoid: it lies in [0, 1] (or is NaN). */
static int is_gate(const cl_graph *g, int v) {
  int p = g->values[v].producer;
  if (p < 0) return 0;
  const cl_node *n = &g->nodes[p];
  if (fuse_is(n, "Sigmoid")) return 1;
  if (!fuse_is(n, "HardSigmoid")) return 0;
  float alpha = cl_node_attr_float(n, "alpha", 0.2f), beta = cl_node_attr_float(n, "beta", 0.5f);
  return isfinite(alpha) && isfinite(beta);
}

/* Anchored at the Add(x, Mul(x, gate)), either operand order in both: the Mul's slot computes
 * gate + 1 (gate is small: it broadcasts to x), the Add's slot x * (gate + 1). With gate in [0, 1],
 * 1 + gate is in [1, 2] and the two forms differ by float rounding only. */
static cl_status gated_residual(fuse_ctx *c, int ai) {
  cl_graph *g = c->g;
  const cl_node *a = &g->nodes[ai];
  if (!is_binary(a, "Add") || !fuse_room(c)) return CL_OK;
  for (int s = 0; s < 2; s++) {
    int x = a->in[s], m = a->in[1 - s], mi = g->values[m].producer;
    if (mi < 0 || fuse_sole_reader(c, m) != ai || !is_binary(&g->nodes[mi], "Mul")) continue;
    const cl_node *mul = &g->nodes[mi];
    int gate = mul->in[0] == x ? mul->in[1] : mul->in[1] == x ? mul->in[0] : -1;
    if (gate < 0 || gate == x || !is_gate(g, gate) || g->values[gate].dtype != CL_DTYPE_F32 ||
        g->values[x].is_const || !keeps_shape(g, mul, x) || !keeps_shape(g, a, x))
      continue;
    char name[256];
    snprintf(name, sizeof name, "%s", a->name);
    int one = fuse_new_const(c, "one", 0, NULL), g1 = one < 0 ? -1 : fuse_new_value(c, "gate_plus_one");
    if (g1 < 0) return c->err ? c->err->status : CL_ERR_NOMEM;
    *(float *)g->values[one].data = 1.0f;
    int out = g->nodes[ai].out[0];
    fuse_kill(c, mi);
    fuse_kill(c, ai);
    cl_status st = fuse_install(c, mi, name, "Add", 7, (int[]){gate, one}, 2, g1, NULL, NULL);
    return st == CL_OK ? fuse_install(c, ai, name, "Mul", 7, (int[]){x, g1}, 2, out, NULL, NULL) : st;
  }
  return CL_OK;
}

cl_status fuse_rewrites(fuse_ctx *c) {
  cl_status s = CL_OK;
  for (int i = 0; i < c->g->n_nodes && s == CL_OK; i++) {
    s = hardswish_from_clip(c, i);
    if (s == CL_OK) s = hardswish_from_hsigmoid(c, i);
    if (s == CL_OK) s = gated_residual(c, i);
  }
  return s;
}

/* === Step 5: chains === */

/* A unary stage: 1 with *st filled. */
static int unary_stage(const cl_graph *g, const cl_node *n, cl_chain_stage *st) {
  static const struct {
    const char *op;
    cl_chain_op kind;
  } plain[] = {{"Neg", CL_CHAIN_NEG}, {"Abs", CL_CHAIN_ABS}, {"Reciprocal", CL_CHAIN_RECIPROCAL},
               {"HardSwish", CL_CHAIN_HARD_SWISH}};
  if (n->n_in < 1 || n->in[0] < 0) return 0;
  if ((fuse_is(n, "Relu") || fuse_is(n, "Clip")) && cl_op_clamp_bounds(g, n, &st->a, &st->b)) {
    st->op = CL_CHAIN_CLAMP;
    return 1;
  }
  if (n->n_in != 1) return 0;
  for (size_t k = 0; k < sizeof plain / sizeof plain[0]; k++)
    if (fuse_is(n, plain[k].op)) {
      st->op = plain[k].kind;
      return 1;
    }
  if (fuse_is(n, "LeakyRelu")) {
    st->op = CL_CHAIN_LEAKY_RELU;
    st->a = cl_node_attr_float(n, "alpha", 0.01f);
    return 1;
  }
  if (fuse_is(n, "HardSigmoid")) {
    st->op = CL_CHAIN_HARD_SIGMOID;
    st->a = cl_node_attr_float(n, "alpha", 0.2f);
    st->b = cl_node_attr_float(n, "beta", 0.5f);
    return 1;
  }
  return 0;
}

/* A binary stage with a constant operand: 1 with *st filled, the tensor in *x and, for a vector
 * operand, its value id in *opnd. */
static int binary_stage(const cl_graph *g, const cl_node *n, cl_chain_stage *st, int *x, int *opnd) {
  static const struct {
    const char *op;
    cl_chain_op kind;
    int commutes; /* the constant may come first */
  } ops[] = {{"Add", CL_CHAIN_ADD, 1}, {"Sub", CL_CHAIN_SUB, 0}, {"Mul", CL_CHAIN_MUL, 1},
             {"Div", CL_CHAIN_DIV, 0}, {"Max", CL_CHAIN_MAX, 1}, {"Min", CL_CHAIN_MIN, 1},
             {"PRelu", CL_CHAIN_PRELU, 0}};
  size_t k = 0;
  while (k < sizeof ops / sizeof ops[0] && !is_binary(n, ops[k].op)) k++;
  if (k == sizeof ops / sizeof ops[0]) return 0;
  int xs = g->values[n->in[0]].is_const ? 1 : 0;
  if (g->values[n->in[xs]].is_const || !g->values[n->in[1 - xs]].is_const || (xs && !ops[k].commutes))
    return 0;
  const cl_value *kv = &g->values[n->in[1 - xs]];
  int axis;
  if (!fuse_const_axis(kv, &g->values[n->in[xs]], &axis)) return 0;
  const float *d = kv->data;
  size_t count = kv->nbytes / sizeof(float);
  for (size_t j = 0; xs && j < count; j++) /* Max(k, x) == Max(x, k) unless k is NaN */
    if (isnan(d[j])) return 0;
  st->op = ops[k].kind;
  *x = n->in[xs];
  if (axis < 0) st->a = d[0];
  else *opnd = n->in[1 - xs];
  return 1;
}

/* 1 when node i can be a chain stage: *st, the tensor it reads (*x) and a vector operand (*opnd,
 * -1 for none). */
static int stage_of(const fuse_ctx *c, int i, cl_chain_stage *st, int *x, int *opnd) {
  const cl_graph *g = c->g;
  const cl_node *n = &g->nodes[i];
  if (n->dead || !n->op || n->n_out < 1 || n->out[0] < 0) return 0;
  for (int j = 1; j < n->n_out; j++)
    if (n->out[j] >= 0) return 0;
  memset(st, 0, sizeof *st);
  *opnd = -1;
  if (unary_stage(g, n, st)) *x = n->in[0];
  else if (!binary_stage(g, n, st, x, opnd)) return 0;
  return !g->values[*x].is_const && g->values[*x].dtype == CL_DTYPE_F32 && keeps_shape(g, n, *x);
}

int fuse_chainable(const fuse_ctx *c, int i) {
  cl_chain_stage st;
  int x, opnd;
  return stage_of(c, i, &st, &x, &opnd);
}

typedef struct chain_arg {
  const cl_chain_stage *st;
  int count;
} chain_arg;

static cl_status set_stages(cl_node *n, const void *arg, cl_error *err) {
  const chain_arg *a = arg;
  return cl_chain_set_stages(n, a->st, a->count, err);
}

/* The chain starting at node first, when it has two stages or more. */
static cl_status build_chain(fuse_ctx *c, int first) {
  cl_graph *g = c->g;
  cl_chain_stage st[CL_CHAIN_MAX_STAGES];
  int members[CL_CHAIN_MAX_STAGES], opnd[CL_CHAIN_MAX_STAGES], x, xr, count = 1;
  if (!stage_of(c, first, &st[0], &x, &opnd[0])) return CL_OK;
  members[0] = first;
  while (count < CL_CHAIN_MAX_STAGES) {
    int out = g->nodes[members[count - 1]].out[0], r = fuse_sole_reader(c, out);
    if (r < 0 || !stage_of(c, r, &st[count], &xr, &opnd[count]) || xr != out) break;
    members[count++] = r;
  }
  if (count < 2 || !fuse_room(c)) return CL_OK;
  int in[1 + CL_CHAIN_MAX_STAGES], n_in = 1;
  in[0] = x;
  for (int k = 0; k < count; k++) {
    if (opnd[k] < 0) continue;
    int j = 1;
    while (j < n_in && in[j] != opnd[k]) j++;
    if (j == n_in) in[n_in++] = opnd[k];
    st[k].operand = j;
  }
  int last = members[count - 1], out = g->nodes[last].out[0];
  char name[256];
  snprintf(name, sizeof name, "%s:chain", g->nodes[first].name);
  for (int k = 0; k < count; k++) fuse_kill(c, members[k]);
  chain_arg arg = {st, count};
  return fuse_install(c, last, name, CL_CHAIN_OP_TYPE, 0, in, n_in, out, set_stages, &arg);
}

cl_status fuse_chains(fuse_ctx *c) {
  cl_status s = CL_OK;
  for (int i = 0; i < c->g->n_nodes && s == CL_OK; i++) s = build_chain(c, i);
  return s;
}
