/* cleave: Gemm and MatMul, float32, with a fused clamp (n->act_min, n->act_max).
 *
 * Constant B: XNNPACK's fully_connected_nc_f32, weights packed once at prepare with alpha folded in,
 * and beta*C as its bias when C is constant and the same for every row (Gemm); any other C is added
 * in a second pass. Run-time B: a register-blocked plain kernel (4x8 tiles, vector extensions),
 * split over the pool by batch and row blocks; MatMul broadcasts batch dims as numpy does. */
#include <math.h>
#include <string.h>
#include <xnnpack.h>

#include "exec/ops_tensor.h"

/* === Parse and infer === */

typedef struct {
  int gemm; /* Gemm; else MatMul */
  int trans_a, trans_b;
  float alpha, beta;
} linear_params;

static cl_status need_f32(const cl_graph *g, const cl_node *n, int i, const cl_value **out,
                          cl_error *err) {
  const cl_value *v = cl_node_input(g, n, i);
  if (!v) return cl_node_error(err, n, CL_ERR_FORMAT, "input %d is missing", i);
  if (v->rank < 0) return cl_node_error(err, n, CL_ERR_SHAPE, "input '%s' has no known shape", v->name);
  if (v->dtype != CL_DTYPE_F32)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "input '%s' is %s (float only)", v->name,
                         cl_dtype_name(v->dtype));
  *out = v;
  return CL_OK;
}

static cl_status set_out(cl_graph *g, const cl_node *n, int rank, const int64_t *dims, cl_error *err) {
  cl_value *o = cl_node_output(g, n, 0);
  if (!o) return cl_node_error(err, n, CL_ERR_FORMAT, "output 0 is missing");
  return cl_value_set_shape(o, CL_DTYPE_F32, rank, dims, err);
}

cl_status cl_gemm_parse(cl_graph *g, cl_node *n, cl_error *err) {
  cl_status s = cl_tensor_params(n, sizeof(linear_params), &n->params, err);
  if (s != CL_OK) return s;
  linear_params *p = n->params;
  p->gemm = 1;
  p->trans_a = cl_node_attr_int(n, "transA", 0) != 0;
  p->trans_b = cl_node_attr_int(n, "transB", 0) != 0;
  p->alpha = cl_node_attr_float(n, "alpha", 1.0f);
  p->beta = cl_node_attr_float(n, "beta", 1.0f);
  return CL_OK;
}

cl_status cl_gemm_infer(cl_graph *g, cl_node *n, cl_error *err) {
  const linear_params *p = n->params;
  const cl_value *a = NULL, *b = NULL, *c = NULL;
  cl_status s = need_f32(g, n, 0, &a, err);
  if (s == CL_OK) s = need_f32(g, n, 1, &b, err);
  if (s == CL_OK && cl_node_input(g, n, 2)) s = need_f32(g, n, 2, &c, err);
  if (s != CL_OK) return s;
  if (a->rank != 2 || b->rank != 2)
    return cl_node_error(err, n, CL_ERR_SHAPE, "A and B must be 2-D (ranks %d and %d)", a->rank,
                         b->rank);
  int64_t m = a->dims[p->trans_a], k = a->dims[!p->trans_a];
  int64_t kb = b->dims[p->trans_b], nn = b->dims[!p->trans_b], out[2] = {m, nn};
  char sa[64], sb[64];
  if (k != kb)
    return cl_node_error(err, n, CL_ERR_SHAPE, "A %s and B %s do not multiply (transA %d, transB %d)",
                         cl_shape_str(2, a->dims, sa, sizeof sa),
                         cl_shape_str(2, b->dims, sb, sizeof sb), p->trans_a, p->trans_b);
  int ok = !c || c->rank <= 2;
  for (int i = 0; c && ok && i < c->rank; i++) {
    int64_t want = out[2 - c->rank + i];
    ok = c->dims[i] == 1 || c->dims[i] == want;
  }
  if (!ok)
    return cl_node_error(err, n, CL_ERR_SHAPE, "C %s does not broadcast to %s",
                         cl_shape_str(c->rank, c->dims, sa, sizeof sa),
                         cl_shape_str(2, out, sb, sizeof sb));
  return set_out(g, n, 2, out, err);
}

cl_status cl_matmul_parse(cl_graph *g, cl_node *n, cl_error *err) {
  cl_status s = cl_tensor_params(n, sizeof(linear_params), &n->params, err);
  if (s != CL_OK) return s;
  ((linear_params *)n->params)->alpha = 1.0f;
  return CL_OK;
}

/* MatMul's operands as numpy sees them: 1-D A is [1, K] and 1-D B is [K, 1], both dropped after. */
typedef struct {
  int64_t m, k, n;
  int nbd;                    /* output batch dims */
  int64_t batch[CL_MAX_RANK]; /* output batch dims */
  int64_t a_bs[CL_MAX_RANK];  /* A's element stride per output batch dim (0: broadcast) */
  int64_t b_bs[CL_MAX_RANK];
} mm_geom;

static cl_status mm_geometry(const cl_node *n, const cl_value *a, const cl_value *b, mm_geom *gm,
                             cl_error *err) {
  if (a->rank < 1 || b->rank < 1) return cl_node_error(err, n, CL_ERR_SHAPE, "MatMul of a scalar");
  gm->m = a->rank >= 2 ? a->dims[a->rank - 2] : 1;
  gm->k = a->dims[a->rank - 1];
  int64_t kb = b->rank >= 2 ? b->dims[b->rank - 2] : b->dims[0];
  gm->n = b->rank >= 2 ? b->dims[b->rank - 1] : 1;
  int na = a->rank > 2 ? a->rank - 2 : 0, nb = b->rank > 2 ? b->rank - 2 : 0;
  gm->nbd = na > nb ? na : nb;
  char sa[160], sb[160];
  int ok = gm->k == kb;
  int64_t sa_acc = gm->m * gm->k, sb_acc = gm->k * gm->n;
  for (int i = gm->nbd - 1; ok && i >= 0; i--) {
    int ia = i - (gm->nbd - na), ib = i - (gm->nbd - nb);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    ok = da == db || da == 1 || db == 1;
    gm->batch[i] = da == 1 ? db : da;
    gm->a_bs[i] = da == 1 ? 0 : sa_acc;
    gm->b_bs[i] = db == 1 ? 0 : sb_acc;
    sa_acc *= da;
    sb_acc *= db;
  }
  if (!ok)
    return cl_node_error(err, n, CL_ERR_SHAPE, "A %s and B %s do not multiply",
                         cl_shape_str(a->rank, a->dims, sa, sizeof sa),
                         cl_shape_str(b->rank, b->dims, sb, sizeof sb));
  return CL_OK;
}

cl_status cl_matmul_infer(cl_graph *g, cl_node *n, cl_error *err) {
  const cl_value *a = NULL, *b = NULL;
  mm_geom gm;
  cl_status s = need_f32(g, n, 0, &a, err);
  if (s == CL_OK) s = need_f32(g, n, 1, &b, err);
  if (s == CL_OK) s = mm_geometry(n, a, b, &gm, err);
  if (s != CL_OK) return s;
  int64_t out[CL_MAX_RANK];
  int r = 0;
  for (int i = 0; i < gm.nbd; i++) out[r++] = gm.batch[i];
  if (a->rank >= 2) out[r++] = gm.m;
  if (b->rank >= 2) out[r++] = gm.n;
  return set_out(g, n, r, out, err);
}

/* === State === */

typedef struct {
  xnn_operator_t fc;  /* constant B: fully connected, bound to its buffers */
  float *scratch;     /* owned, 64-byte aligned: packed A^T (FC) or B^T (plain) */
  cl_strided pack;    /* input -> scratch */
  int pack_input;     /* -1: nothing packed at run; else the input packed */
  size_t nb, m, n, k; /* batches, rows, columns, depth */
  int64_t sam, sak;   /* element (m, k) of A at m*sam + k*sak */
  size_t ldb;         /* B row stride in elements; B rows are contiguous */
  int post;           /* FC path: a second pass adds C and clamps */
  int c_input;        /* input index of C (Gemm), -1 without */
  int64_t csm, csn;   /* C strides over [M, N] (0: broadcast) */
  float alpha, beta, lo, hi;
  int64_t *a_off, *b_off; /* per batch element offsets (plain path), in this block */
} linear_state;

void cl_linear_release(void *state) {
  linear_state *st = state;
  if (!st) return;
  if (st->fc) xnn_delete_operator(st->fc);
  free(st->scratch);
  free(st);
}

static float *alloc_floats(size_t count) {
  size_t bytes = (count * sizeof(float) + 63) / 64 * 64 + 64; /* + XNNPACK's over-read slack */
  float *p = aligned_alloc(64, bytes);
  if (p) memset(p, 0, bytes);
  return p;
}

/* === Prepare === */

/* XNNPACK fully connected over B (constant): kernel [N, K], or [K, N] with TRANSPOSE_WEIGHTS. */
static cl_status prepare_fc(const cl_node *n, linear_state *st, const float *bdata, int b_is_kn,
                            const float *bias, const void *in, void *out, pthreadpool_t pool,
                            cl_error *err) {
  float *scaled = NULL;
  const float *kernel = bdata;
  if (st->alpha != 1.0f) { /* alpha folds into the packed weights */
    scaled = alloc_floats(st->k * st->n);
    if (!scaled) return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < st->k * st->n; i++) scaled[i] = bdata[i] * st->alpha;
    kernel = scaled;
  }
  float lo = st->post ? -INFINITY : st->lo, hi = st->post ? INFINITY : st->hi;
  enum xnn_status xs =
      xnn_create_fully_connected_nc_f32(st->k, st->n, st->k, st->n, kernel, bias, lo, hi,
                                        b_is_kn ? XNN_FLAG_TRANSPOSE_WEIGHTS : 0, &st->fc);
  free(scaled);
  if (xs != xnn_status_success) return cl_xnn_error(err, n, "create fully_connected", xs);
  xs = xnn_setup_fully_connected_nc_f32(st->fc, st->nb * st->m, in, out, pool);
  return xs == xnn_status_success ? CL_OK : cl_xnn_error(err, n, "setup fully_connected", xs);
}

/* C's strides over [M, N] (Gemm): C is [], [1], [N], [1, 1], [1, N], [M, 1] or [M, N]. */
static void c_strides(const cl_value *c, linear_state *st) {
  int64_t cm = c->rank >= 2 ? c->dims[c->rank - 2] : 1, cn = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
  st->csn = cn != 1 ? 1 : 0;
  st->csm = cm != 1 ? cn : 0;
}

/* Plans the packing of a rows x cols matrix stored transposed (cols x rows) into scratch. */
static cl_status plan_pack(const cl_node *n, linear_state *st, int input, size_t rows, size_t cols,
                           cl_error *err) {
  st->scratch = alloc_floats(rows * cols);
  if (!st->scratch) return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory");
  int64_t dims[2] = {(int64_t)rows, (int64_t)cols}, ss[2] = {1, (int64_t)rows},
          ds[2] = {(int64_t)cols, 1};
  cl_strided_init(&st->pack, 2, dims, ss, ds, sizeof(float));
  st->pack_input = input;
  return CL_OK;
}

static cl_status gemm_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,
                              linear_state *st, cl_error *err) {
  const linear_params *p = n->params;
  const cl_value *a = cl_node_input(g, n, 0), *b = cl_node_input(g, n, 1), *c = cl_node_input(g, n, 2);
  st->m = (size_t)a->dims[p->trans_a];
  st->k = (size_t)a->dims[!p->trans_a];
  st->n = (size_t)b->dims[!p->trans_b];
  st->alpha = p->alpha;
  st->beta = p->beta;
  if (c) c_strides(c, st);
  st->c_input = c ? 2 : -1;
  /* XNNPACK may read a few bytes past A: only arena buffers (not constants, folded) have the slack. */
  if (!b->is_const || a->is_const || st->m * st->n * st->k == 0) { /* plain kernel */
    st->sam = p->trans_a ? 1 : (int64_t)st->k;
    st->sak = p->trans_a ? (int64_t)st->m : 1;
    st->ldb = st->n;
    return p->trans_b ? plan_pack(n, st, 1, st->k, st->n, err) : CL_OK;
  }
  /* FC: beta * C is the bias when it is constant and the same for every row. */
  int bias_ok = c && c->is_const && st->csm == 0;
  float *bias = NULL;
  if (bias_ok) {
    if (!(bias = alloc_floats(st->n))) return cl_node_error(err, n, CL_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < st->n; j++)
      bias[j] = st->beta * ((const float *)c->data)[j * (size_t)st->csn];
    st->c_input = -1;
  }
  st->post = st->c_input >= 0 || !(st->lo < st->hi);
  const void *in = k->ptr[n->in[0]];
  cl_status s = CL_OK;
  if (p->trans_a) { /* A^T into scratch at run; the FC reads the scratch */
    s = plan_pack(n, st, 0, st->m, st->k, err);
    in = st->scratch;
  }
  if (s == CL_OK)
    s = prepare_fc(n, st, b->data, !p->trans_b, bias, in, k->ptr[n->out[0]], k->pool, err);
  free(bias);
  return s;
}

static cl_status matmul_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,
                                linear_state *st, const mm_geom *gm, cl_error *err) {
  const cl_value *b = cl_node_input(g, n, 1);
  st->m = (size_t)gm->m;
  st->k = (size_t)gm->k;
  st->n = (size_t)gm->n;
  st->alpha = 1.0f;
  st->c_input = -1;
  size_t b_batches = 1;
  for (int i = 0; i < gm->nbd; i++) b_batches *= gm->b_bs[i] ? (size_t)gm->batch[i] : 1;
  if (b->is_const && !cl_node_input(g, n, 0)->is_const && b_batches == 1 && st->m * st->n * st->k > 0) {
    st->post = !(st->lo < st->hi);
    /* Every batch of A runs through the same weights: one FC over nb * M rows. */
    return prepare_fc(n, st, b->data, 1, NULL, k->ptr[n->in[0]], k->ptr[n->out[0]], k->pool, err);
  }
  st->sam = (int64_t)st->k;
  st->sak = 1;
  st->ldb = st->n;
  for (size_t t = 0; t < st->nb; t++) {
    size_t q = t;
    st->a_off[t] = st->b_off[t] = 0;
    for (int i = gm->nbd - 1; i >= 0; i--) {
      int64_t idx = (int64_t)(q % (size_t)gm->batch[i]);
      q /= (size_t)gm->batch[i];
      st->a_off[t] += idx * gm->a_bs[i];
      st->b_off[t] += idx * gm->b_bs[i];
    }
  }
  return CL_OK;
}

cl_status cl_linear_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                            cl_error *err) {
  const linear_params *p = n->params;
  mm_geom gm = {0};
  size_t nb = 1;
  if (!p->gemm) {
    cl_status s = mm_geometry(n, cl_node_input(g, n, 0), cl_node_input(g, n, 1), &gm, err);
    if (s != CL_OK) return s;
    for (int i = 0; i < gm.nbd; i++) nb *= (size_t)gm.batch[i];
  }
  cl_status s =
      cl_tensor_state(n, sizeof(linear_state) + 2 * (nb ? nb : 1) * sizeof(int64_t), state, err);
  if (s != CL_OK) return s;
  linear_state *st = *state;
  st->a_off = (int64_t *)(st + 1);
  st->b_off = st->a_off + (nb ? nb : 1);
  st->nb = nb;
  st->pack_input = -1;
  st->lo = n->act_min;
  st->hi = n->act_max;
  return p->gemm ? gemm_prepare(g, n, k, st, err) : matmul_prepare(g, n, k, st, &gm, err);
}

/* === Plain kernel === */

/* c[0..4)[0..8) = a[4 x K] * b[K x 8]; the accumulators stay in registers across K. */
static void tile_4x8(size_t kk, const float *a, int64_t sam, int64_t sak, const float *b, size_t ldb,
                     float *c, size_t ldc) {
  cl_v4f c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
  for (size_t k = 0; k < kk; k++) {
    cl_v4f b0 = cl_v4f_load(b + k * ldb), b1 = cl_v4f_load(b + k * ldb + 4);
    const float *ak = a + (int64_t)k * sak;
    cl_v4f a0 = cl_v4f_splat(ak[0]), a1 = cl_v4f_splat(ak[sam]), a2 = cl_v4f_splat(ak[2 * sam]),
           a3 = cl_v4f_splat(ak[3 * sam]);
    c00 += a0 * b0;
    c01 += a0 * b1;
    c10 += a1 * b0;
    c11 += a1 * b1;
    c20 += a2 * b0;
    c21 += a2 * b1;
    c30 += a3 * b0;
    c31 += a3 * b1;
  }
  cl_v4f_store(c, c00);
  cl_v4f_store(c + 4, c01);
  cl_v4f_store(c + ldc, c10);
  cl_v4f_store(c + ldc + 4, c11);
  cl_v4f_store(c + 2 * ldc, c20);
  cl_v4f_store(c + 2 * ldc + 4, c21);
  cl_v4f_store(c + 3 * ldc, c30);
  cl_v4f_store(c + 3 * ldc + 4, c31);
}

/* One row: c[0..8) = a[1 x K] * b[K x 8]. */
static void tile_1x8(size_t kk, const float *a, int64_t sak, const float *b, size_t ldb, float *c) {
  cl_v4f c0 = {0}, c1 = {0};
  for (size_t k = 0; k < kk; k++) {
    cl_v4f av = cl_v4f_splat(a[(int64_t)k * sak]);
    c0 += av * cl_v4f_load(b + k * ldb);
    c1 += av * cl_v4f_load(b + k * ldb + 4);
  }
  cl_v4f_store(c, c0);
  cl_v4f_store(c + 4, c1);
}

/* The last (fewer than 8) columns: one dot product each. */
static void tile_cols(size_t rows, size_t cols, size_t kk, const float *a, int64_t sam, int64_t sak,
                      const float *b, size_t ldb, float *c, size_t ldc) {
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < cols; j++) {
      float acc = 0.0f;
      for (size_t k = 0; k < kk; k++) acc += a[(int64_t)r * sam + (int64_t)k * sak] * b[k * ldb + j];
      c[r * ldc + j] = acc;
    }
}

/* alpha, beta * C and the clamp over rows [m0, m0 + rows) of one [M, N] output. */
static void epilogue(const linear_state *st, float *y, size_t m0, size_t rows, const float *c,
                     float alpha) {
  int clamp = st->lo > -INFINITY || st->hi < INFINITY;
  for (size_t r = m0; r < m0 + rows; r++) {
    float *row = y + r * st->n;
    if (alpha != 1.0f)
      for (size_t j = 0; j < st->n; j++) row[j] *= alpha;
    if (c) {
      const float *cr = c + (int64_t)r * st->csm;
      for (size_t j = 0; j < st->n; j++) row[j] += st->beta * cr[(int64_t)j * st->csn];
    }
    if (clamp)
      for (size_t j = 0; j < st->n; j++) row[j] = fminf(fmaxf(row[j], st->lo), st->hi);
  }
}

typedef struct {
  const linear_state *st;
  const float *a, *b, *c;
  float *y;
  size_t row_blocks;
} linear_job;

enum { MR = 4, NR = 8 };

/* Units: (batch, block of MR rows). */
static void linear_units(void *ctx, size_t begin, size_t end) {
  const linear_job *j = ctx;
  const linear_state *st = j->st;
  for (size_t u = begin; u < end; u++) {
    size_t t = u / j->row_blocks, m0 = (u % j->row_blocks) * MR;
    size_t rows = st->m - m0 < MR ? st->m - m0 : MR;
    const float *a = j->a + st->a_off[t] + (int64_t)m0 * st->sam;
    const float *b = j->b + st->b_off[t];
    float *y = j->y + t * st->m * st->n, *yr = y + m0 * st->n;
    size_t n0 = 0;
    for (; n0 + NR <= st->n; n0 += NR) {
      if (rows == MR) {
        tile_4x8(st->k, a, st->sam, st->sak, b + n0, st->ldb, yr + n0, st->n);
        continue;
      }
      for (size_t r = 0; r < rows; r++)
        tile_1x8(st->k, a + (int64_t)r * st->sam, st->sak, b + n0, st->ldb, yr + r * st->n + n0);
    }
    if (n0 < st->n)
      tile_cols(rows, st->n - n0, st->k, a, st->sam, st->sak, b + n0, st->ldb, yr + n0, st->n);
    epilogue(st, y, m0, rows, j->c, st->alpha);
  }
}

typedef struct {
  const linear_state *st;
  const float *c;
  float *y;
} post_job;

static void post_rows(void *ctx, size_t begin, size_t end) {
  const post_job *j = ctx;
  epilogue(j->st, j->y, begin, end - begin, j->c, 1.0f);
}

cl_status cl_linear_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  const linear_state *st = state;
  const float *c = st->c_input >= 0 ? k->ptr[n->in[st->c_input]] : NULL;
  float *y = k->ptr[n->out[0]];
  if (st->pack_input >= 0)
    cl_strided_run(&st->pack, k->ptr[n->in[st->pack_input]], st->scratch, k->pool);
  if (st->fc) {
    xnn_run_operator(st->fc, k->pool);
    if (st->post) {
      post_job pj = {st, c, y};
      cl_parallel_for(k->pool, st->nb * st->m, 16384 / (st->n + 1) + 1, post_rows, &pj);
    }
    return CL_OK;
  }
  if (st->nb * st->m * st->n == 0) return CL_OK;
  linear_job j = {st, k->ptr[n->in[0]],     st->pack_input == 1 ? st->scratch : k->ptr[n->in[1]], c,
                  y,  (st->m + MR - 1) / MR};
  size_t unit_flops = MR * st->n * (st->k + 1);
  cl_parallel_for(k->pool, st->nb * j.row_blocks, 262144 / unit_flops + 1, linear_units, &j);
  return CL_OK;
}
