/* cleave: cleave.Chain, elementwise float32 stages applied block by block in one pass (see
 * ops_chain.h), and the cl_ops_fused group that holds it.
 *
 * Run walks x and y in storage order, CHAIN_BLOCK elements at a time: stage 0 reads the block of x
 * and writes the block of y, every later stage rewrites that block of y in place while it is in L1.
 * Operands that vary along one axis are prepared once as a repeating pattern (the values laid out
 * for every storage position over one period, plus a block's worth so that any block start reads
 * a contiguous run) or, when the period is long, as runs of equal values split at their ends. The
 * elements are split over the pool; nothing is allocated at run time. */
/* Vectorised selects need no-trapping-math (results are the same: no trap is ever enabled); a
 * merged Mul and Add must stay two roundings, never one fused multiply-add. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic", "no-trapping-math", "fp-contract=off")
#endif
#include "exec/ops_chain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define CHAIN_BLOCK 512          /* elements per block: 2 KiB of floats, in L1 through every stage */
#define CHAIN_MAX_PERIOD 16384   /* longest repeating pattern an operand is laid out as */
#define CHAIN_GRAIN 16384        /* fewest elements per parallel task */

/* === Parameters === */

typedef struct chain_params {
  int n; /* stages */
  struct {
    cl_chain_op op;
    float a, b;
    int operand; /* input index, 0: the scalar a */
    int axis;    /* logical axis of x the operand varies along, -1: one value */
  } st[CL_CHAIN_MAX_STAGES];
} chain_params;

int cl_chain_op_is_binary(cl_chain_op op) { return op >= CL_CHAIN_ADD && op <= CL_CHAIN_PRELU; }

static cl_status parse_operands(const cl_graph *g, cl_node *n, chain_params *p, cl_error *err) {
  const int64_t *ops = NULL;
  int count = cl_node_attr_ints(n, "operands", &ops);
  if (count == 0) return CL_OK;
  if (count != p->n)
    return cl_node_error(err, n, CL_ERR_FORMAT, "has %d operands for %d stages", count, p->n);
  for (int i = 0; i < p->n; i++) {
    if (ops[i] == 0) continue;
    if (!cl_chain_op_is_binary(p->st[i].op) || ops[i] < 1 || ops[i] >= n->n_in)
      return cl_node_error(err, n, CL_ERR_FORMAT, "stage %d: operand %lld is invalid", i,
                           (long long)ops[i]);
    const cl_value *c = cl_node_input(g, n, (int)ops[i]);
    if (!c || !c->is_const || c->dtype != CL_DTYPE_F32)
      return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "stage %d: operand %lld must be a float constant",
                           i, (long long)ops[i]);
    p->st[i].operand = (int)ops[i];
  }
  return CL_OK;
}

static cl_status chain_parse(cl_graph *g, cl_node *n, cl_error *err) {
  if (n->n_in < 1 || n->in[0] < 0 || n->n_out != 1 || n->out[0] < 0)
    return cl_node_error(err, n, CL_ERR_FORMAT, "expects an input x, constant operands, and one output");
  chain_params *p = calloc(1, sizeof *p);
  if (!p) return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory");
  free(n->params);
  n->params = p;
  const int64_t *ops = NULL;
  const float *par = NULL;
  p->n = cl_node_attr_ints(n, "stages", &ops);
  int n_par = cl_node_attr_floats(n, "params", &par);
  if (p->n < 1 || p->n > CL_CHAIN_MAX_STAGES)
    return cl_node_error(err, n, CL_ERR_FORMAT, "has %d stages (1 to %d)", p->n, CL_CHAIN_MAX_STAGES);
  if (n_par != 2 * p->n)
    return cl_node_error(err, n, CL_ERR_FORMAT, "has %d params for %d stages (2 each)", n_par, p->n);
  for (int i = 0; i < p->n; i++) {
    if (ops[i] < 0 || ops[i] >= CL_CHAIN_OP_COUNT)
      return cl_node_error(err, n, CL_ERR_FORMAT, "stage %d: unknown operation %lld", i, (long long)ops[i]);
    p->st[i].op = (cl_chain_op)ops[i];
    p->st[i].a = par[2 * i];
    p->st[i].b = par[2 * i + 1];
    p->st[i].axis = -1;
  }
  return parse_operands(g, n, p, err);
}

/* The axis of x along which c varies (-1: c is one value); CL_ERR_SHAPE when c does not broadcast
 * to x without growing it, CL_ERR_UNSUPPORTED when it varies along two axes or more. */
static cl_status operand_axis(const cl_node *n, const cl_value *x, const cl_value *c, int *axis,
                              cl_error *err) {
  char sc[96], sx[96];
  *axis = -1;
  int ok = c->rank <= x->rank;
  for (int j = 0; ok && j < c->rank; j++) {
    int a = x->rank - c->rank + j;
    if (c->dims[j] == 1) continue;
    ok = c->dims[j] == x->dims[a];
    if (ok && *axis >= 0)
      return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "operand '%s' %s varies along more than one axis",
                           c->name, cl_shape_str(c->rank, c->dims, sc, sizeof sc));
    *axis = a;
  }
  if (ok) return CL_OK;
  return cl_node_error(err, n, CL_ERR_SHAPE, "operand '%s' %s does not broadcast to %s", c->name,
                       cl_shape_str(c->rank, c->dims, sc, sizeof sc),
                       cl_shape_str(x->rank, x->dims, sx, sizeof sx));
}

static cl_status chain_infer(cl_graph *g, cl_node *n, cl_error *err) {
  chain_params *p = n->params;
  const cl_value *x = cl_node_input(g, n, 0);
  if (x->rank < 0 || x->dtype != CL_DTYPE_F32)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "input '%s' must be float32 with a known shape",
                         x->name);
  for (int i = 0; i < p->n; i++) {
    if (!p->st[i].operand) continue;
    cl_status s = operand_axis(n, x, cl_node_input(g, n, p->st[i].operand), &p->st[i].axis, err);
    if (s != CL_OK) return s;
  }
  return cl_value_set_shape(cl_node_output(g, n, 0), CL_DTYPE_F32, x->rank, x->dims, err);
}

/* === Prepared state === */

typedef enum opnd_kind { OPND_NONE, OPND_SCALAR, OPND_PATTERN, OPND_RUNS } opnd_kind;

/* A stage as run: its operation, then y = y * pm + pa (two roundings, as the Mul and Add nodes it
 * stands for; pm = 1 and pa = -0 leave every value, signed zeros and NaN included, as it is). */
typedef struct chain_stage_rt {
  cl_chain_op op;
  float a, b;       /* scalar operand or parameters */
  float pm, pa;     /* the scalar Mul and Add merged into the stage */
  int merged;       /* bit 0: a Mul is merged, bit 1: an Add */
  opnd_kind kind;
  const float *vec; /* OPND_RUNS: the operand's dim values */
  float *rep;       /* OPND_PATTERN: owned, period + CHAIN_BLOCK values */
  size_t period;    /* OPND_PATTERN: elements before the pattern repeats */
  size_t inner;     /* OPND_RUNS: storage elements per operand value */
  size_t dim;       /* OPND_RUNS: operand values */
} chain_stage_rt;

typedef struct chain_state {
  const float *x; /* bound input buffer, storage order */
  float *y;       /* bound output buffer */
  size_t numel;
  int n;          /* run stages (scalar Mul / Add merged into the stage before) */
  chain_stage_rt st[CL_CHAIN_MAX_STAGES];
} chain_state;

/* === Kernels on one block: y[i] = f(x[i]) * pm + pa; y may be x === */

/* Binary stages: c is one value (vec 0) or one per element (vec 1). */
#define BIN_LOOP(EXPR)                                                                             \
  do {                                                                                             \
    if (vec) {                                                                                     \
      for (size_t i = 0; i < n; i++) {                                                             \
        const float v = x[i], k = c[i];                                                            \
        y[i] = (EXPR) * pm + pa;                                                                   \
      }                                                                                            \
    } else {                                                                                       \
      const float k = c[0];                                                                        \
      for (size_t i = 0; i < n; i++) {                                                             \
        const float v = x[i];                                                                      \
        y[i] = (EXPR) * pm + pa;                                                                   \
      }                                                                                            \
    }                                                                                              \
  } while (0)

static void binary_block(const chain_stage_rt *r, float *y, const float *x, const float *c, int vec,
                         size_t n) {
  const float pm = r->pm, pa = r->pa;
  switch (r->op) {
  case CL_CHAIN_ADD: BIN_LOOP(v + k); break;
  case CL_CHAIN_SUB: BIN_LOOP(v - k); break;
  case CL_CHAIN_MUL: BIN_LOOP(v * k); break;
  case CL_CHAIN_DIV: BIN_LOOP(v / k); break;
  case CL_CHAIN_MAX: BIN_LOOP((v != v || v > k) ? v : k); break;
  case CL_CHAIN_MIN: BIN_LOOP((v != v || v < k) ? v : k); break;
  case CL_CHAIN_PRELU: BIN_LOOP(v < 0 ? k * v : v); break;
  default: break;
  }
}

#if defined(__SSE2__)
/* The clamping stages on SSE (maxps(a, v) is a > v ? a : v, as the scalar code): the elements
 * before the returned count are done. */
static size_t clamp_block_sse(const chain_stage_rt *r, float *y, const float *x, size_t n) {
  const __m128 pm = _mm_set1_ps(r->pm), pa = _mm_set1_ps(r->pa), zero = _mm_setzero_ps();
  const __m128 one = _mm_set1_ps(1.0f), a = _mm_set1_ps(r->a), b = _mm_set1_ps(r->b);
  const __m128 sixth = _mm_set1_ps(1.0f / 6.0f), half = _mm_set1_ps(0.5f);
  size_t i = 0;
  switch (r->op) {
  case CL_CHAIN_CLAMP:
    for (; i + 4 <= n; i += 4) {
      __m128 v = _mm_min_ps(b, _mm_max_ps(a, _mm_loadu_ps(x + i)));
      _mm_storeu_ps(y + i, _mm_add_ps(_mm_mul_ps(v, pm), pa));
    }
    break;
  case CL_CHAIN_HARD_SIGMOID:
    for (; i + 4 <= n; i += 4) {
      __m128 v = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(x + i), a), b);
      v = _mm_min_ps(one, _mm_max_ps(zero, v));
      _mm_storeu_ps(y + i, _mm_add_ps(_mm_mul_ps(v, pm), pa));
    }
    break;
  case CL_CHAIN_HARD_SWISH:
    for (; i + 4 <= n; i += 4) {
      __m128 u = _mm_loadu_ps(x + i), v = _mm_add_ps(_mm_mul_ps(u, sixth), half);
      v = _mm_mul_ps(u, _mm_min_ps(one, _mm_max_ps(zero, v)));
      _mm_storeu_ps(y + i, _mm_add_ps(_mm_mul_ps(v, pm), pa));
    }
    break;
  default: break;
  }
  return i;
}
#endif

/* Unary stages; the expressions are those of the elementwise group's kernels. */
static void unary_block(const chain_stage_rt *r, float *y, const float *x, size_t n) {
  const float a = r->a, b = r->b, pm = r->pm, pa = r->pa;
  size_t i = 0;
#if defined(__SSE2__)
  i = clamp_block_sse(r, y, x, n);
#endif
  switch (r->op) {
  case CL_CHAIN_CLAMP:
    for (; i < n; i++) {
      float v = a > x[i] ? a : x[i];
      y[i] = (b < v ? b : v) * pm + pa;
    }
    break;
  case CL_CHAIN_NEG: for (; i < n; i++) y[i] = -x[i] * pm + pa; break;
  case CL_CHAIN_ABS: for (; i < n; i++) y[i] = fabsf(x[i]) * pm + pa; break;
  case CL_CHAIN_RECIPROCAL: for (; i < n; i++) y[i] = 1 / x[i] * pm + pa; break;
  case CL_CHAIN_LEAKY_RELU:
    for (; i < n; i++) y[i] = (x[i] < 0 ? a * x[i] : x[i]) * pm + pa;
    break;
  case CL_CHAIN_HARD_SIGMOID:
    for (; i < n; i++) {
      float v = x[i] * a + b;
      v = 0 > v ? 0 : v;
      y[i] = (1 < v ? 1 : v) * pm + pa;
    }
    break;
  case CL_CHAIN_HARD_SWISH:
    for (; i < n; i++) {
      float v = x[i] * (1.0f / 6.0f) + 0.5f;
      v = 0 > v ? 0 : v;
      y[i] = x[i] * (1 < v ? 1 : v) * pm + pa;
    }
    break;
  default: break;
  }
}

/* === Prepare === */

static void chain_release(void *state) {
  chain_state *s = state;
  if (!s) return;
  for (int i = 0; i < s->n; i++) free(s->st[i].rep);
  free(s);
}

/* Lays out a vector operand along logical axis `axis` of x for storage-order reading. */
static cl_status prepare_vector(const cl_node *n, const cl_value *x, const float *v, int axis,
                                chain_stage_rt *r, cl_error *err) {
  int64_t pd[CL_MAX_RANK];
  cl_value_phys_dims(x, pd);
  int p = cl_value_phys_axis(x, axis);
  size_t inner = 1, dim = (size_t)pd[p];
  for (int q = p + 1; q < x->rank; q++) inner *= (size_t)pd[q];
  if (inner > 1 && dim * inner > CHAIN_MAX_PERIOD) {
    r->kind = OPND_RUNS;
    r->vec = v;
    r->inner = inner;
    r->dim = dim;
    return CL_OK;
  }
  r->kind = OPND_PATTERN;
  r->period = dim * inner;
  r->rep = malloc((r->period + CHAIN_BLOCK) * sizeof *r->rep);
  if (!r->rep) return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory preparing");
  for (size_t j = 0; j < r->period + CHAIN_BLOCK; j++) r->rep[j] = v[(j / inner) % dim];
  return CL_OK;
}

/* Merges a Mul (bit 0) or Add (bit 1) by the scalar k into stage r when it can take it: a Mul
 * only before any Add. Sub by k is the Add of -k (exact). */
static int merge_scalar(chain_stage_rt *r, cl_chain_op op, float k) {
  if (op == CL_CHAIN_MUL && r->merged == 0) {
    r->pm = k;
    r->merged = 1;
    return 1;
  }
  if ((op == CL_CHAIN_ADD || op == CL_CHAIN_SUB) && !(r->merged & 2)) {
    r->pa = op == CL_CHAIN_SUB ? -k : k;
    r->merged |= 2;
    return 1;
  }
  return 0;
}

static cl_status chain_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,
                               void **state, cl_error *err) {
  const chain_params *p = n->params;
  const cl_value *x = cl_node_input(g, n, 0), *y = cl_node_output(g, n, 0);
  if (x->rank >= 3 && x->layout != y->layout)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "input and output layouts differ");
  chain_state *s = calloc(1, sizeof *s);
  if (!s) return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory preparing");
  *state = s;
  s->x = k->ptr[n->in[0]];
  s->y = k->ptr[n->out[0]];
  s->numel = y->nbytes / sizeof(float);
  if (s->numel == 0) return CL_OK; /* nothing to compute (and operands may be empty) */
  for (int i = 0; i < p->n; i++) {
    float a = p->st[i].a;
    const float *v = p->st[i].operand ? k->ptr[n->in[p->st[i].operand]] : NULL;
    if (v && p->st[i].axis < 0) a = v[0], v = NULL;
    if (!v && s->n > 0 && merge_scalar(&s->st[s->n - 1], p->st[i].op, a)) continue;
    chain_stage_rt *r = &s->st[s->n++];
    *r = (chain_stage_rt){.op = p->st[i].op, .a = a, .b = p->st[i].b, .pm = 1.0f, .pa = -0.0f};
    r->kind = cl_chain_op_is_binary(r->op) ? OPND_SCALAR : OPND_NONE;
    if (!v) continue;
    cl_status st = prepare_vector(n, x, v, p->st[i].axis, r, err);
    if (st != CL_OK) return st; /* the executor releases the state */
  }
  return CL_OK;
}

/* === Run === */

/* Stage r on n elements starting at storage position pos. */
static void stage_block(const chain_stage_rt *r, float *y, const float *x, size_t n, size_t pos) {
  switch (r->kind) {
  case OPND_NONE: unary_block(r, y, x, n); return;
  case OPND_SCALAR: binary_block(r, y, x, &r->a, 0, n); return;
  case OPND_PATTERN: binary_block(r, y, x, r->rep + pos % r->period, 1, n); return;
  case OPND_RUNS:
    for (size_t i = 0; i < n;) {
      size_t at = pos + i, m = r->inner - at % r->inner;
      if (m > n - i) m = n - i;
      binary_block(r, y + i, x + i, &r->vec[at / r->inner % r->dim], 0, m);
      i += m;
    }
    return;
  }
}

static void chain_range(void *ctx, size_t begin, size_t end) {
  const chain_state *s = ctx;
  for (size_t b = begin; b < end; b += CHAIN_BLOCK) {
    size_t n = end - b < CHAIN_BLOCK ? end - b : CHAIN_BLOCK;
    const float *src = s->x + b;
    float *dst = s->y + b;
    for (int i = 0; i < s->n; i++) {
      stage_block(&s->st[i], dst, src, n, b);
      src = dst;
    }
  }
}

static cl_status chain_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  const chain_state *s = state;
  size_t threads = k->pool ? pthreadpool_get_threads_count(k->pool) : 1;
  size_t even = (s->numel / (4 * threads) + CHAIN_BLOCK - 1) / CHAIN_BLOCK * CHAIN_BLOCK;
  cl_parallel_for(k->pool, s->numel, even > CHAIN_GRAIN ? even : CHAIN_GRAIN, chain_range, (void *)s);
  return CL_OK;
}

/* === Building (for the fusion pass) === */

cl_status cl_chain_set_stages(cl_node *n, const cl_chain_stage *st, int count, cl_error *err) {
  int64_t ops[CL_CHAIN_MAX_STAGES], opnd[CL_CHAIN_MAX_STAGES];
  float par[2 * CL_CHAIN_MAX_STAGES];
  if (count < 1 || count > CL_CHAIN_MAX_STAGES)
    return cl_node_error(err, n, CL_ERR_LIMIT, "a chain of %d stages", count);
  for (int i = 0; i < count; i++) {
    ops[i] = st[i].op;
    opnd[i] = st[i].operand;
    par[2 * i] = st[i].a;
    par[2 * i + 1] = st[i].b;
  }
  cl_attr a[3] = {{.name = "stages", .type = CL_ATTR_INTS, .ints = ops, .n = count},
                  {.name = "params", .type = CL_ATTR_FLOATS, .floats = par, .n = 2 * count},
                  {.name = "operands", .type = CL_ATTR_INTS, .ints = opnd, .n = count}};
  for (int i = 0; i < 3; i++) {
    cl_status s = cl_node_add_attr(n, &a[i], err);
    if (s != CL_OK) return s;
  }
  return CL_OK;
}

/* === The group === */

static const cl_op_def fused_ops[] = {
    {.name = CL_CHAIN_OP_TYPE,
     .opset_min = 1,
     .opset_max = 18,
     .policy = CL_POLICY_FOLLOW,
     .parse = chain_parse,
     .infer = chain_infer,
     .prepare = chain_prepare,
     .run = chain_run,
     .release = chain_release,
     .const_inputs = ~1u},
};

const cl_op_group cl_ops_fused = {fused_ops, (int)(sizeof fused_ops / sizeof fused_ops[0])};
