/* cleave tests: Gemm and MatMul (XNNPACK fully connected for constant B, the plain kernel otherwise),
 * against a naive double-precision reference, with 1 and 2 threads. */
#include <criterion/criterion.h>
#include <math.h>

#include "tensor_test_util.h"

/* y[m][n] = alpha * sum_k A(m,k) B(k,n) + beta * C(m,n), with the transposes and C's broadcast. */
static void ref_gemm(const float *a, const float *b, const float *c, const int64_t *cd, int cr,
                     int64_t m, int64_t k, int64_t n, int ta, int tb, float alpha, float beta, float lo,
                     float hi, float *y) {
  int64_t cm = cr >= 2 ? cd[cr - 2] : 1, cn = cr >= 1 ? cd[cr - 1] : 1;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double s = 0;
      for (int64_t q = 0; q < k; q++)
        s += (double)(ta ? a[q * m + i] : a[i * k + q]) * (tb ? b[j * k + q] : b[q * n + j]);
      s *= alpha;
      if (c) s += (double)beta * c[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
      y[i * n + j] = fminf(fmaxf((float)s, lo), hi);
    }
}

typedef struct {
  int ta, tb, b_const, c_const;
  int cr;
  int64_t cd[2];
  float lo, hi;
} gemm_case;

static void check_gemm(const gemm_case *gc, int64_t m, int64_t k, int64_t n, float alpha, float beta,
                       int threads) {
  float *a = t_floats((size_t)(m * k), 1), *b = t_floats((size_t)(k * n), 2),
        *c = t_floats((size_t)(m * n), 3);
  float *want = malloc((size_t)(m * n) * sizeof *want);
  ref_gemm(a, b, gc->cr >= 0 ? c : NULL, gc->cd, gc->cr, m, k, n, gc->ta, gc->tb, alpha, beta, gc->lo,
           gc->hi, want);
  cl_graph *g = h_graph(13);
  int64_t ad[2] = {gc->ta ? k : m, gc->ta ? m : k}, bd[2] = {gc->tb ? n : k, gc->tb ? k : n};
  int av = h_value(g, "a", CL_DTYPE_F32, 2, ad, a);
  int bv =
      gc->b_const ? h_const(g, "b", CL_DTYPE_F32, 2, bd, b) : h_value(g, "b", CL_DTYPE_F32, 2, bd, b);
  int cv = -1;
  if (gc->cr >= 0)
    cv = gc->c_const ? h_const(g, "c", CL_DTYPE_F32, gc->cr, gc->cd, c)
                     : h_value(g, "c", CL_DTYPE_F32, gc->cr, gc->cd, c);
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int node = h_node(g, "Gemm", (int[]){av, bv, cv}, cv >= 0 ? 3 : 2, &y, 1);
  h_attr_int(g, node, "transA", gc->ta);
  h_attr_int(g, node, "transB", gc->tb);
  h_attr_float(g, node, "alpha", alpha);
  h_attr_float(g, node, "beta", beta);
  g->nodes[node].act_min = gc->lo;
  g->nodes[node].act_max = gc->hi;
  cl_error err = {0};
  cr_assert_eq(h_run(g, node, CL_LAYOUT_PLAIN, threads, &err), CL_OK, "%s", err.msg);
  cr_assert(t_shape_is(g, y, 2, (int64_t[]){m, n}));
  cr_assert(h_allclose(h_data(g, y), want, (size_t)(m * n), 1e-4f, 1e-4f),
            "transA %d transB %d B const %d C rank %d const %d clamp [%g, %g] %lldx%lldx%lld", gc->ta,
            gc->tb, gc->b_const, gc->cr, gc->c_const, gc->lo, gc->hi, (long long)m, (long long)k,
            (long long)n);
  h_free(&g);
  free(a);
  free(b);
  free(c);
  free(want);
}

Test(gemm, transposes_c_broadcasts_and_constness) {
  const int64_t m = 5, k = 13, n = 11;
  const struct {
    int cr;
    int64_t cd[2];
  } cs[] = {{-1, {0}}, {0, {0}}, {1, {n}}, {2, {1, n}}, {2, {m, 1}}, {2, {m, n}}, {1, {1}}};
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++)
      for (int bc = 0; bc < 2; bc++)
        for (size_t ci = 0; ci < sizeof cs / sizeof cs[0]; ci++)
          for (int cc = 0; cc < 2; cc++) {
            gemm_case gc = {ta,        tb,      bc, cc, cs[ci].cr, {cs[ci].cd[0], cs[ci].cd[1]},
                            -INFINITY, INFINITY};
            check_gemm(&gc, m, k, n, 0.5f, 2.0f, 1 + (int)(ci % 2));
          }
}

Test(gemm, sizes_threads_and_fused_clamp) {
  const int64_t sizes[][3] = {{1, 1280, 1000}, {9, 64, 70}, {33, 7, 3}, {4, 8, 8}, {1, 1, 1}};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
    for (int bc = 0; bc < 2; bc++)
      for (int threads = 1; threads <= 2; threads++) {
        /* MobileNetV2's head: [1, 1280] x [1000, 1280]^T + bias, B constant */
        gemm_case gc = {0, 1, bc, 1, 1, {sizes[s][2]}, -INFINITY, INFINITY};
        check_gemm(&gc, sizes[s][0], sizes[s][1], sizes[s][2], 1.0f, 1.0f, threads);
        gemm_case clamp = {0,    0,    bc, 1, 2, {sizes[s][0], sizes[s][2]},
                           0.0f, 0.25f}; /* C added in a 2nd pass */
        check_gemm(&clamp, sizes[s][0], sizes[s][1], sizes[s][2], 1.0f, 1.0f, threads);
        gemm_case relu = {1, 0, bc, 1, 1, {sizes[s][2]}, 0.0f, INFINITY};
        check_gemm(&relu, sizes[s][0], sizes[s][1], sizes[s][2], 1.5f, -1.0f, threads);
      }
}

Test(gemm, refuses_bad_shapes_and_types) {
  struct {
    int64_t ad[2], bd[2];
    int cr;
    int64_t cd[2];
    const char *msg;
  } cases[] = {
      {{2, 3}, {4, 5}, -1, {0}, "A [2,3] and B [4,5] do not multiply"},
      {{2, 3}, {3, 5}, 1, {3}, "C [3] does not broadcast to [2,5]"},
      {{2, 3}, {3, 5}, 2, {5, 2}, "C [5,2] does not broadcast to [2,5]"},
  };
  for (int i = 0; i < 3; i++) {
    cl_graph *g = h_graph(13);
    int a = h_value(g, "a", CL_DTYPE_F32, 2, cases[i].ad, NULL);
    int b = h_const(g, "b", CL_DTYPE_F32, 2, cases[i].bd, (float[20]){0});
    int c =
        cases[i].cr >= 0 ? h_const(g, "c", CL_DTYPE_F32, cases[i].cr, cases[i].cd, (float[10]){0}) : -1;
    int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
    int n = h_node(g, "Gemm", (int[]){a, b, c}, c >= 0 ? 3 : 2, &y, 1);
    cl_error err = {0};
    cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_ERR_SHAPE);
    cr_assert(strstr(err.msg, cases[i].msg) != NULL, "%s", err.msg);
    h_free(&g);
  }
  cl_graph *g = h_graph(13);
  int a = h_value(g, "a", CL_DTYPE_I32, 2, (int64_t[]){2, 2}, NULL);
  int b = h_value(g, "b", CL_DTYPE_I32, 2, (int64_t[]){2, 2}, NULL);
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "MatMul", (int[]){a, b}, 2, &y, 1);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_ERR_UNSUPPORTED);
  cr_assert(strstr(err.msg, "int32 (float only)") != NULL, "%s", err.msg);
  h_free(&g);
}

/* === MatMul === */

/* numpy matmul of A (ra dims) and B (rb dims), batch dims broadcast; output dims in od. */
static int ref_matmul(const float *a, int ra, const int64_t *ad, const float *b, int rb,
                      const int64_t *bd, float *y, int64_t *od) {
  int64_t m = ra >= 2 ? ad[ra - 2] : 1, k = ad[ra - 1], n = rb >= 2 ? bd[rb - 1] : 1;
  int na = ra > 2 ? ra - 2 : 0, nb = rb > 2 ? rb - 2 : 0, nbd = na > nb ? na : nb, r = 0;
  int64_t bat[8], abat[8], bbat[8];
  for (int i = 0; i < nbd; i++) {
    abat[i] = i - (nbd - na) >= 0 ? ad[i - (nbd - na)] : 1;
    bbat[i] = i - (nbd - nb) >= 0 ? bd[i - (nbd - nb)] : 1;
    bat[i] = abat[i] > bbat[i] ? abat[i] : bbat[i];
    od[r++] = bat[i];
  }
  if (ra >= 2) od[r++] = m;
  if (rb >= 2) od[r++] = n;
  int64_t idx[8] = {0}, t = 0;
  do {
    int64_t ai[8], bi[8];
    for (int i = 0; i < nbd; i++) {
      ai[i] = abat[i] == 1 ? 0 : idx[i];
      bi[i] = bbat[i] == 1 ? 0 : idx[i];
    }
    size_t ao = nbd ? t_offset(nbd, abat, ai) * (size_t)(m * k) : 0;
    size_t bo = nbd ? t_offset(nbd, bbat, bi) * (size_t)(k * n) : 0;
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        double s = 0;
        for (int64_t q = 0; q < k; q++) s += (double)a[ao + i * k + q] * b[bo + q * n + j];
        y[t * m * n + i * n + j] = (float)s;
      }
    t++;
  } while (nbd && t_next(nbd, bat, idx));
  return r;
}

static void check_matmul(int ra, const int64_t *ad, int rb, const int64_t *bd, int b_const,
                         int threads) {
  size_t na = 1, nb = 1;
  for (int i = 0; i < ra; i++) na *= (size_t)ad[i];
  for (int i = 0; i < rb; i++) nb *= (size_t)bd[i];
  float *a = t_floats(na, 11), *b = t_floats(nb, 12), *want = malloc(4096 * sizeof *want);
  int64_t od[8];
  int r = ref_matmul(a, ra, ad, b, rb, bd, want, od);
  size_t no = 1;
  for (int i = 0; i < r; i++) no *= (size_t)od[i];
  cl_graph *g = h_graph(13);
  int av = h_value(g, "a", CL_DTYPE_F32, ra, ad, a);
  int bv =
      b_const ? h_const(g, "b", CL_DTYPE_F32, rb, bd, b) : h_value(g, "b", CL_DTYPE_F32, rb, bd, b);
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int node = h_node(g, "MatMul", (int[]){av, bv}, 2, &y, 1);
  cl_error err = {0};
  cr_assert_eq(h_run(g, node, CL_LAYOUT_CHANNELS_LAST, threads, &err), CL_OK, "%s", err.msg);
  cr_assert(t_shape_is(g, y, r, od), "rank %d vs %d", g->values[y].rank, r);
  cr_assert(h_allclose(h_data(g, y), want, no, 1e-4f, 1e-5f), "ranks %d x %d B const %d", ra, rb,
            b_const);
  h_free(&g);
  free(a);
  free(b);
  free(want);
}

Test(matmul, numpy_shapes) {
  const struct {
    int ra;
    int64_t ad[5];
    int rb;
    int64_t bd[4];
  } cases[] = {
      {2, {7, 20}, 2, {20, 9}},           /* plain 2-D */
      {1, {20}, 2, {20, 9}},              /* 1-D A: [N] */
      {2, {7, 20}, 1, {20}},              /* 1-D B: [M] */
      {1, {20}, 1, {20}},                 /* dot: a scalar */
      {5, {2, 1, 3, 4, 5}, 3, {3, 5, 6}}, /* batch broadcast both ways */
      {3, {3, 4, 5}, 3, {1, 5, 6}},       /* B's batch of 1: one FC over all rows */
      {2, {4, 5}, 4, {2, 3, 5, 6}},       /* A broadcast over B's batches */
      {4, {2, 3, 9, 16}, 4, {2, 3, 16, 10}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    for (int bc = 0; bc < 2; bc++)
      for (int t = 1; t <= 2; t++)
        check_matmul(cases[i].ra, cases[i].ad, cases[i].rb, cases[i].bd, bc, t);
}

Test(matmul, fused_clamp_and_errors) {
  for (int bc = 0; bc < 2; bc++) {
    cl_graph *g = h_graph(13);
    int a = h_value(g, "a", CL_DTYPE_F32, 2, (int64_t[]){1, 2}, (float[]){1, -1});
    int64_t bd[2] = {2, 3};
    float bdata[6] = {1, 2, 3, 4, 5, 6};
    int b =
        bc ? h_const(g, "b", CL_DTYPE_F32, 2, bd, bdata) : h_value(g, "b", CL_DTYPE_F32, 2, bd, bdata);
    int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
    int n = h_node(g, "MatMul", (int[]){a, b}, 2, &y, 1);
    g->nodes[n].act_min = -2.5f;
    g->nodes[n].act_max = 6.0f;
    cl_error err = {0};
    cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
    /* [1, -1] x B = [-3, -3, -3], clamped to -2.5 */
    cr_assert(h_allclose(h_data(g, y), (float[]){-2.5f, -2.5f, -2.5f}, 3, 0, 0));
    h_free(&g);
  }
  struct {
    int ra;
    int64_t ad[3];
    int rb;
    int64_t bd[3];
    const char *msg;
  } bad[] = {
      {2, {2, 3}, 2, {4, 5}, "A [2,3] and B [4,5] do not multiply"},
      {3, {2, 2, 3}, 3, {3, 3, 5}, "A [2,2,3] and B [3,3,5] do not multiply"},
  };
  for (int i = 0; i < 2; i++) {
    cl_graph *g = h_graph(13);
    int a = h_value(g, "a", CL_DTYPE_F32, bad[i].ra, bad[i].ad, NULL);
    int b = h_value(g, "b", CL_DTYPE_F32, bad[i].rb, bad[i].bd, NULL);
    int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
    int n = h_node(g, "MatMul", (int[]){a, b}, 2, &y, 1);
    cl_error err = {0};
    cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_ERR_SHAPE);
    cr_assert(strstr(err.msg, bad[i].msg) != NULL, "%s", err.msg);
    h_free(&g);
  }
}

/* Folding at load runs the op on constants: no XNNPACK there (it may read past a buffer's end). */
Test(matmul, constant_operands_as_when_folding) {
  cl_graph *g = h_graph(13);
  int a = h_const(g, "a", CL_DTYPE_F32, 2, (int64_t[]){2, 3}, (float[]){1, 2, 3, 4, 5, 6});
  int b = h_const(g, "b", CL_DTYPE_F32, 2, (int64_t[]){3, 2}, (float[]){1, 0, 0, 1, 1, 1});
  int c = h_const(g, "c", CL_DTYPE_F32, 1, (int64_t[]){2}, (float[]){10, 20});
  int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  int n = h_node(g, "Gemm", (int[]){a, b, c}, 3, &y, 1);
  cl_error err = {0};
  cr_assert_eq(h_run(g, n, CL_LAYOUT_PLAIN, 1, &err), CL_OK, "%s", err.msg);
  /* [1 2 3; 4 5 6] x [1 0; 0 1; 1 1] = [4 5; 10 11], + [10 20] */
  cr_assert(h_allclose(h_data(g, y), (float[]){14, 25, 20, 31}, 4, 0, 0));
  h_free(&g);
}
