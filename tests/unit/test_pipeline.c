/* cleave tests: the build pipeline (sort, fold, fuse, layout) and the executor (arena, ranges),
 * on small hand-built graphs. Numbers are checked against independent arithmetic or against the
 * same graph built without fusion. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "cleave/exec.h"
#include "model/model_internal.h"
#include "op_harness.h"

/* === Helpers === */

static int add_input(cl_graph *g, const char *name, int rank, const int64_t *dims) {
  int v = h_value(g, name, CL_DTYPE_F32, rank, dims, NULL);
  g->inputs = realloc(g->inputs, (size_t)(g->n_inputs + 1) * sizeof *g->inputs);
  g->inputs[g->n_inputs++] = v;
  return v;
}

static void add_output(cl_graph *g, int v) {
  g->outputs = realloc(g->outputs, (size_t)(g->n_outputs + 1) * sizeof *g->outputs);
  g->outputs[g->n_outputs++] = v;
}

static int out_value(cl_graph *g, const char *name) { return h_value(g, name, CL_DTYPE_UNDEFINED, -1, NULL, NULL); }

static cl_model_t *build(cl_graph *g, int no_fusion) {
  cl_model_options opt = {.no_fusion = no_fusion};
  cl_model_t *m = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_model_from_graph(g, &opt, &m, &err), CL_OK, "%s", err.msg);
  return m;
}

/* Runs m on one input; copies output 0 into out (n floats). */
static void run1(cl_model_t *m, const float *x, size_t nx, float *out, size_t n, int threads) {
  cl_exec_options eo = {.threads = threads};
  cl_exec_t *ex = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_exec_create(m, &eo, &ex, &err), CL_OK, "%s", err.msg);
  size_t nb;
  void *in = cl_exec_buffer(ex, cl_model_input_value(m, 0), &nb);
  cr_assert_eq(nb, nx * sizeof(float));
  memcpy(in, x, nb);
  cr_assert_eq(cl_exec_run(ex, 0, cl_model_node_count(m), &err), CL_OK, "%s", err.msg);
  cl_tensor t;
  cl_exec_output(ex, 0, &t);
  cr_assert_eq(t.nbytes, n * sizeof(float));
  memcpy(out, t.data, t.nbytes);
  cl_exec_free(&ex);
}

static int count_op(const cl_model_t *m, const char *op) {
  int c = 0;
  for (int i = 0; i < cl_model_node_count(m); i++) c += strcmp(cl_model_node_op(m, i), op) == 0;
  return c;
}

static float frand(unsigned *s) {
  *s = *s * 1103515245u + 12345u;
  return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* x[1,3,6,6] -> Conv(4,3,3,3, pad 1) -> BN -> Relu -> y */
static cl_graph *conv_bn_relu(void) {
  cl_graph *g = h_graph(13);
  unsigned s = 7;
  float w[4 * 3 * 3 * 3], b[4], sc[4], be[4], mu[4], var[4];
  for (size_t i = 0; i < sizeof w / sizeof *w; i++) w[i] = frand(&s);
  for (int i = 0; i < 4; i++) b[i] = frand(&s), sc[i] = 1 + frand(&s) / 2, be[i] = frand(&s),
                              mu[i] = frand(&s) / 4, var[i] = 1 + frand(&s) / 2;
  int x = add_input(g, "x", 4, (int64_t[]){1, 3, 6, 6});
  int wv = h_const(g, "w", CL_DTYPE_F32, 4, (int64_t[]){4, 3, 3, 3}, w);
  int bv = h_const(g, "b", CL_DTYPE_F32, 1, (int64_t[]){4}, b);
  int c = out_value(g, "c"), bn = out_value(g, "bn"), y = out_value(g, "y");
  int n = h_node(g, "Conv", (int[]){x, wv, bv}, 3, (int[]){c}, 1);
  h_attr_ints(g, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
  int args[5] = {c, h_const(g, "sc", CL_DTYPE_F32, 1, (int64_t[]){4}, sc),
                 h_const(g, "be", CL_DTYPE_F32, 1, (int64_t[]){4}, be),
                 h_const(g, "mu", CL_DTYPE_F32, 1, (int64_t[]){4}, mu),
                 h_const(g, "var", CL_DTYPE_F32, 1, (int64_t[]){4}, var)};
  h_node(g, "BatchNormalization", args, 5, (int[]){bn}, 1);
  h_node(g, "Relu", (int[]){bn}, 1, (int[]){y}, 1);
  add_output(g, y);
  return g;
}

/* === Fusion === */

Test(pipeline, bn_and_relu_fold_into_conv) {
  cl_model_t *fused = build(conv_bn_relu(), 0), *plain = build(conv_bn_relu(), 1);
  cr_assert_eq(count_op(fused, "Conv"), 1);
  cr_assert_eq(count_op(fused, "BatchNormalization"), 0);
  cr_assert_eq(count_op(fused, "Relu"), 0);
  cr_assert_eq(count_op(plain, "BatchNormalization"), 1);
  float x[108], a[144], b[144];
  unsigned s = 3;
  for (int i = 0; i < 108; i++) x[i] = frand(&s);
  run1(fused, x, 108, a, 144, 1);
  run1(plain, x, 108, b, 144, 2);
  cr_assert(h_allclose(a, b, 144, 1e-5f, 1e-6f));
  int negatives = 0;
  for (int i = 0; i < 144; i++) negatives += a[i] < 0;
  cr_assert_eq(negatives, 0, "Relu was not applied");
  cl_model_free(&fused);
  cl_model_free(&plain);
}

/* === Layout === */

Test(pipeline, layout_conversions_only_at_the_edges) {
  cl_model_t *m = build(conv_bn_relu(), 0);
  /* input PLAIN -> ToChannelsLast -> Conv -> ToPlain -> output */
  cr_assert_eq(cl_model_node_count(m), 3);
  cr_assert_str_eq(cl_model_node_op(m, 0), "cleave.ToChannelsLast");
  cr_assert_str_eq(cl_model_node_op(m, 2), "cleave.ToPlain");
  cl_value_info vi;
  cl_model_value_info(m, cl_model_output_value(m, 0), &vi);
  cr_assert_str_eq(vi.name, "y", "the graph output keeps its ONNX name");
  cr_assert_eq(vi.layout, CL_LAYOUT_PLAIN);
  cl_model_free(&m);
}

/* === Folding of shape subgraphs === */

Test(pipeline, shape_subgraph_folds_to_constants) {
  /* y = Reshape(x, Concat(Gather(Shape(x), 0), [-1])) : [2,3,4] -> [2,12] */
  cl_graph *g = h_graph(13);
  int x = add_input(g, "x", 3, (int64_t[]){2, 3, 4});
  int shp = out_value(g, "shp"), g0 = out_value(g, "g0"), u = out_value(g, "u"), cat = out_value(g, "cat"),
      y = out_value(g, "y");
  int64_t zero = 0, minus1 = -1, ax0 = 0;
  int idx = h_const(g, "idx", CL_DTYPE_I64, 0, NULL, &zero);
  int m1 = h_const(g, "m1", CL_DTYPE_I64, 1, (int64_t[]){1}, &minus1);
  int axes = h_const(g, "axes", CL_DTYPE_I64, 1, (int64_t[]){1}, &ax0);
  h_node(g, "Shape", (int[]){x}, 1, (int[]){shp}, 1);
  h_node(g, "Gather", (int[]){shp, idx}, 2, (int[]){g0}, 1);
  h_node(g, "Unsqueeze", (int[]){g0, axes}, 2, (int[]){u}, 1);
  int c = h_node(g, "Concat", (int[]){u, m1}, 2, (int[]){cat}, 1);
  h_attr_int(g, c, "axis", 0);
  h_node(g, "Reshape", (int[]){x, cat}, 2, (int[]){y}, 1);
  add_output(g, y);
  cl_model_t *mod = build(g, 0);
  cr_assert_eq(cl_model_node_count(mod), 1, "only the Reshape is left");
  cl_value_info vi;
  cl_model_value_info(mod, cl_model_output_value(mod, 0), &vi);
  cr_assert(vi.rank == 2 && vi.dims[0] == 2 && vi.dims[1] == 12);
  float in[24], out[24];
  for (int i = 0; i < 24; i++) in[i] = (float)i;
  run1(mod, in, 24, out, 24, 1);
  cr_assert_eq(memcmp(in, out, sizeof in), 0);
  cl_model_free(&mod);
}

/* === Split execution: every cut, frontier copied between two executors === */

/* x -> Conv a -> Relu -> Conv b ; a + b (skip connection) -> Sigmoid -> y */
static cl_graph *skip_graph(void) {
  cl_graph *g = h_graph(13);
  unsigned s = 11;
  float w1[2 * 2 * 9], w2[2 * 2 * 9];
  for (int i = 0; i < 36; i++) w1[i] = frand(&s), w2[i] = frand(&s);
  int x = add_input(g, "x", 4, (int64_t[]){1, 2, 5, 5});
  int a = out_value(g, "a"), r = out_value(g, "r"), b = out_value(g, "b"), sum = out_value(g, "sum"),
      y = out_value(g, "y");
  int n1 = h_node(g, "Conv", (int[]){x, h_const(g, "w1", CL_DTYPE_F32, 4, (int64_t[]){2, 2, 3, 3}, w1)}, 2,
                  (int[]){a}, 1);
  h_attr_ints(g, n1, "pads", 4, (int64_t[]){1, 1, 1, 1});
  h_node(g, "Relu", (int[]){a}, 1, (int[]){r}, 1);
  int n2 = h_node(g, "Conv", (int[]){r, h_const(g, "w2", CL_DTYPE_F32, 4, (int64_t[]){2, 2, 3, 3}, w2)}, 2,
                  (int[]){b}, 1);
  h_attr_ints(g, n2, "pads", 4, (int64_t[]){1, 1, 1, 1});
  h_node(g, "Add", (int[]){a, b}, 2, (int[]){sum}, 1);
  h_node(g, "Sigmoid", (int[]){sum}, 1, (int[]){y}, 1);
  add_output(g, y);
  return g;
}

Test(pipeline, every_cut_equals_whole) {
  cl_model_t *m = build(skip_graph(), 0);
  int n = cl_model_node_count(m);
  float x[50], whole[50];
  unsigned s = 5;
  for (int i = 0; i < 50; i++) x[i] = frand(&s);
  run1(m, x, 50, whole, 50, 1);
  cl_error err = {0};
  for (int k = 0; k <= n; k++) {
    cl_exec_t *dev = NULL, *edge = NULL;
    cr_assert_eq(cl_exec_create(m, NULL, &dev, &err), CL_OK, "%s", err.msg);
    cr_assert_eq(cl_exec_create(m, NULL, &edge, &err), CL_OK, "%s", err.msg);
    memcpy(cl_exec_buffer(dev, cl_model_input_value(m, 0), NULL), x, sizeof x);
    cr_assert_eq(cl_exec_run(dev, 0, k, &err), CL_OK, "%s", err.msg);
    int ids[64];
    int c = cl_model_frontier(m, k, ids, 64);
    cr_assert(c >= 1 && c <= 64);
    for (int j = 0; j < c; j++) {
      size_t nb;
      void *src = cl_exec_buffer(dev, ids[j], &nb);
      memcpy(cl_exec_buffer(edge, ids[j], NULL), src, nb);
    }
    cr_assert_eq(cl_exec_run(edge, k, n, &err), CL_OK, "%s", err.msg);
    cl_tensor t;
    cl_exec_output(edge, 0, &t);
    cr_assert_eq(memcmp(t.data, whole, sizeof whole), 0, "cut %d differs from the whole run", k);
    cl_exec_free(&dev);
    cl_exec_free(&edge);
  }
  cl_model_free(&m);
}

Test(pipeline, frontier_holds_the_skip_connection) {
  cl_model_t *m = build(skip_graph(), 0);
  /* Find the cut right after the second Conv: a (skip) and b both cross it. */
  int n = cl_model_node_count(m), conv2 = -1, seen = 0;
  for (int i = 0; i < n; i++)
    if (strcmp(cl_model_node_op(m, i), "Conv") == 0 && ++seen == 2) conv2 = i;
  cr_assert(conv2 > 0);
  int ids[16];
  int c = cl_model_frontier(m, conv2 + 1, ids, 16);
  cr_assert_eq(c, 2, "frontier after the second conv: the skip tensor and the conv output");
  cr_assert_eq(cl_model_frontier(m, 0, ids, 16), 1, "cut 0 ships the input");
  cr_assert_eq(ids[0], cl_model_input_value(m, 0));
  cl_model_free(&m);
}

/* === The arena reuses memory === */

Test(pipeline, arena_smaller_than_all_activations) {
  cl_model_t *m = build(skip_graph(), 0);
  size_t all = 0;
  for (int v = 0; v < cl_model_value_count(m); v++) {
    cl_value_info vi;
    cl_model_value_info(m, v, &vi);
    if (!vi.is_constant) all += vi.nbytes;
  }
  cl_exec_t *ex = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_exec_create(m, NULL, &ex, &err), CL_OK);
  cr_assert_gt(cl_exec_arena_bytes(ex), 0);
  cr_log_info("arena %zu bytes for %zu bytes of activations", cl_exec_arena_bytes(ex), all);
  cl_exec_free(&ex);
  cl_model_free(&m);
}

/* === Errors === */

Test(pipeline, unknown_operator_names_node_and_op) {
  cl_graph *g = h_graph(13);
  int x = add_input(g, "x", 1, (int64_t[]){4});
  int y = out_value(g, "y");
  h_node(g, "FrobnicateAll", (int[]){x}, 1, (int[]){y}, 1);
  add_output(g, y);
  cl_model_t *m = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_model_from_graph(g, NULL, &m, &err), CL_ERR_UNSUPPORTED);
  cr_assert(strstr(err.msg, "FrobnicateAll_0") && strstr(err.msg, "'FrobnicateAll' is not supported"), "%s",
            err.msg);
  cr_assert_null(m);
}

Test(pipeline, cycle_is_refused) {
  cl_graph *g = h_graph(13);
  int x = add_input(g, "x", 1, (int64_t[]){4});
  int a = out_value(g, "a"), b = out_value(g, "b");
  h_node(g, "Add", (int[]){x, b}, 2, (int[]){a}, 1);
  h_node(g, "Relu", (int[]){a}, 1, (int[]){b}, 1);
  add_output(g, b);
  cl_model_t *m = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_model_from_graph(g, NULL, &m, &err), CL_ERR_FORMAT);
  cr_assert(strstr(err.msg, "cycle"), "%s", err.msg);
}

Test(pipeline, wrong_input_shape_is_refused) {
  cl_graph *g = conv_bn_relu();
  cl_tensor t = {.dtype = CL_DTYPE_F32, .rank = 4, .dims = {1, 4, 6, 6}};
  cl_model_options opt = {.inputs = &t, .n_inputs = 1};
  cl_model_t *m = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_model_from_graph(g, &opt, &m, &err), CL_ERR_SHAPE);
  cr_assert(strstr(err.msg, "input 'x' must have shape [1,3,6,6], not [1,4,6,6]"), "%s", err.msg);
}

Test(pipeline, dynamic_input_needs_a_shape) {
  cl_graph *g = h_graph(13);
  int x = add_input(g, "x", 2, (int64_t[]){1, 4});
  g->values[x].dims[1] = -1;
  int y = out_value(g, "y");
  h_node(g, "Relu", (int[]){x}, 1, (int[]){y}, 1);
  add_output(g, y);
  cl_model_t *m = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_model_from_graph(g, NULL, &m, &err), CL_ERR_SHAPE);
  cr_assert(strstr(err.msg, "dynamic"), "%s", err.msg);
}

/* === Repeated runs read the same input === */

Test(pipeline, repeated_runs_without_new_input_agree) {
  cl_model_t *m = build(skip_graph(), 0);
  cl_exec_t *ex = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_exec_create(m, NULL, &ex, &err), CL_OK, "%s", err.msg);
  float x[50], first[50];
  unsigned s = 9;
  for (int i = 0; i < 50; i++) x[i] = frand(&s);
  memcpy(cl_exec_buffer(ex, cl_model_input_value(m, 0), NULL), x, sizeof x);
  for (int r = 0; r < 3; r++) {
    cr_assert_eq(cl_exec_run(ex, 0, cl_model_node_count(m), &err), CL_OK, "%s", err.msg);
    cl_tensor t;
    cl_exec_output(ex, 0, &t);
    if (r == 0) memcpy(first, t.data, sizeof first);
    else cr_assert_eq(memcmp(first, t.data, sizeof first), 0, "run %d differs: the input was overwritten", r);
  }
  cl_exec_free(&ex);
  cl_model_free(&m);
}
