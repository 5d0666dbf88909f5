/* cleave tests: chains of elementwise operators fused into cleave.Chain: where they form and where
 * they must not, that the chain computes what its operators compute (PLAIN and channels-last
 * tensors, scalar and per-axis operands, 1 and 2 threads), that a cleave.Chain written in a file is
 * validated like any operator, and the whole pass on a real model. */
#include <stdio.h>

#include "cleave/tensorfile.h"
#include "exec/ops_chain.h"
#include "test_fuse_util.h"

/* === Chains that form === */

/* Per variant, a run of elementwise operators on x:
 *   0: every stage kind with scalar operands, [1,8,64,64] (split over two threads)
 *   1: per-channel operands on a PLAIN [1,4,80,80] (a long period: runs of equal values)
 *   2: per-channel operands on a PLAIN [1,6,10,10] (a repeating pattern)
 *   3: operands along the last axis ([30] and [1,1,1,30]) on a PLAIN [1,3,20,30]
 *   4: between two convs, channels-last: HardSwish, Mul([1,8,1,1]), Add(k), Min([8,1,1])
 *   5: constants first where the operator commutes: Add(k, x), Mul([1,4,1,1], x), Max(k, x) */
static cl_graph *chain_graph(int variant) {
  cl_graph *g = h_graph(14); /* HardSwish */
  static const int64_t shapes[][4] = {{1, 8, 64, 64}, {1, 4, 80, 80}, {1, 6, 10, 10},
                                      {1, 3, 20, 30}, {1, 3, 32, 32}, {1, 4, 12, 12}};
  int x = add_input(g, "x", 4, shapes[variant]), u = x;
  int64_t c = shapes[variant][1];
  switch (variant) {
  case 0: {
    u = node2(g, "Mul", u, kconst(g, "k0", 2.0f, 0), "s0");
    u = node2(g, "Add", u, kconst(g, "k1", -1.0f, 1), "s1");
    int clip = val(g, "s2");
    h_node(g, "Clip", (int[]){u, kconst(g, "lo", -2.0f, 1), kconst(g, "hi", 2.0f, 1)}, 3, (int[]){clip}, 1);
    u = val(g, "s3");
    h_attr_float(g, h_node(g, "LeakyRelu", (int[]){clip}, 1, (int[]){u}, 1), "alpha", 0.1f);
    u = node1(g, "Abs", node1(g, "Neg", u, "s4"), "s5");
    u = node1(g, "Reciprocal", node2(g, "Add", u, kconst(g, "k2", 1.0f, 0), "s6"), "s7");
    u = node1(g, "HardSwish", node1(g, "HardSigmoid", u, "s8"), "s9");
    u = node2(g, "Div", node2(g, "Sub", u, kconst(g, "k3", 0.25f, 0), "s10"), kconst(g, "k4", 3.0f, 0), "s11");
    u = node2(g, "Min", node2(g, "Max", u, kconst(g, "k5", -0.1f, 0), "s12"), kconst(g, "k6", 0.09f, 0), "s13");
    u = node1(g, "Relu", node2(g, "PRelu", u, kconst(g, "k7", 0.5f, 0), "s14"), "s15");
    break;
  }
  case 1:
  case 2:
    u = node1(g, "HardSwish", u, "h");
    u = node2(g, "Mul", u, rconst(g, "s", 4, (int64_t[]){1, c, 1, 1}, -2, 2), "m");
    u = node2(g, "Add", u, rconst(g, "t", 3, (int64_t[]){c, 1, 1}, -1, 1), "a");
    u = node2(g, "PRelu", u, rconst(g, "p", 3, (int64_t[]){c, 1, 1}, 0, 1), "p1");
    u = node2(g, "Max", u, rconst(g, "mx", 4, (int64_t[]){1, c, 1, 1}, -1, 0), "mx1");
    break;
  case 3:
    u = node2(g, "Mul", u, rconst(g, "s", 1, (int64_t[]){30}, -2, 2), "m");
    u = node2(g, "Add", u, rconst(g, "t", 4, (int64_t[]){1, 1, 1, 30}, -1, 1), "a");
    break;
  case 4: {
    int w1 = rconst(g, "w1", 4, (int64_t[]){8, 3, 3, 3}, -1, 1), w2 = rconst(g, "w2", 4, (int64_t[]){8, 1, 3, 3}, -1, 1);
    int c1 = val(g, "c1"), y = val(g, "y");
    h_attr_ints(g, h_node(g, "Conv", (int[]){x, w1}, 2, (int[]){c1}, 1), "pads", 4, (int64_t[]){1, 1, 1, 1});
    u = node1(g, "HardSwish", c1, "h");
    u = node2(g, "Mul", u, rconst(g, "s", 4, (int64_t[]){1, 8, 1, 1}, -2, 2), "m");
    u = node2(g, "Add", u, kconst(g, "t", 0.5f, 0), "a");
    u = node2(g, "Min", u, rconst(g, "mn", 3, (int64_t[]){8, 1, 1}, 0, 1), "mn1");
    int n = h_node(g, "Conv", (int[]){u, w2}, 2, (int[]){y}, 1);
    h_attr_int(g, n, "group", 8);
    h_attr_ints(g, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    u = y;
    break;
  }
  default:
    u = node2(g, "Add", kconst(g, "k", 0.5f, 0), u, "a");
    u = node2(g, "Mul", rconst(g, "s", 4, (int64_t[]){1, 4, 1, 1}, -2, 2), u, "m");
    u = node2(g, "Max", kconst(g, "k2", -0.5f, 0), u, "mx");
    break;
  }
  add_output(g, u);
  return g;
}

Test(fuse_chain, runs_of_elementwise_ops_become_one_chain) {
  for (int v = 0; v < 6; v++) {
    cl_model_t *m = check_fused(chain_graph, v, 3);
    cr_assert_eq(count_op(m, CL_CHAIN_OP_TYPE), 1, "variant %d", v);
    int expect = v == 4 ? 5 : 1; /* variant 4: ToChannelsLast, Conv, Chain, Conv, ToPlain */
    cr_assert_eq(cl_model_node_count(m), expect, "variant %d: %d nodes", v, cl_model_node_count(m));
    cl_model_free(&m);
  }
}

/* === Chains that must not form === */

/* x[1,4,8,8], per variant (no two chainable nodes in a row may fuse):
 *   0: Add(1) -> a; Mul(a, 2) -> m; y = m + a (a read twice)
 *   1: Add(1) -> a (a graph output too) -> Mul(2)
 *   2: Add(1) -> Mul(., x) -> Sub(0.5) (a non-constant operand)
 *   3: Add(1) -> Mul([1,1,8,8]) -> Sub(0.5) (a per-spatial operand)
 *   4: Add(1) -> Sub(2, .) -> Div(3, .) -> Mul(2) (the constant first where order matters)
 *   5: Add(1) alone
 *   6: Add(1) -> Sigmoid -> Mul(2) (Sigmoid runs on XNNPACK, not in chains) */
static cl_graph *no_chain_graph(int variant) {
  cl_graph *g = h_graph(13);
  int x = add_input(g, "x", 4, (int64_t[]){1, 4, 8, 8});
  int a = node2(g, "Add", x, kconst(g, "one", 1.0f, 0), "a"), y = a, two = kconst(g, "two", 2.0f, 0);
  switch (variant) {
  case 0: y = node2(g, "Add", node2(g, "Mul", a, two, "m"), a, "y"); break;
  case 1: y = node2(g, "Mul", a, two, "y"); break;
  case 2: y = node2(g, "Sub", node2(g, "Mul", a, x, "m"), kconst(g, "h", 0.5f, 0), "y"); break;
  case 3:
    y = node2(g, "Mul", a, rconst(g, "sp", 4, (int64_t[]){1, 1, 8, 8}, -1, 1), "m");
    y = node2(g, "Sub", y, kconst(g, "h", 0.5f, 0), "y");
    break;
  case 4:
    y = node2(g, "Div", kconst(g, "three", 3.0f, 0), node2(g, "Sub", two, a, "s"), "d");
    y = node2(g, "Mul", y, two, "y");
    break;
  case 5: break;
  default: y = node2(g, "Mul", node1(g, "Sigmoid", a, "sg"), two, "y"); break;
  }
  add_output(g, y);
  if (variant == 1) add_output(g, a);
  return g;
}

Test(fuse_chain, no_chain_where_it_would_be_wrong) {
  for (int v = 0; v < 7; v++) {
    cl_model_t *m = check_fused(no_chain_graph, v, 3);
    cr_assert_eq(count_op(m, CL_CHAIN_OP_TYPE), 0, "variant %d made a chain", v);
    cl_model_free(&m);
  }
}

/* === cleave.Chain written in a file === */

/* x[1,2,3,4] -> cleave.Chain(x, operand) -> y with the given attributes. */
static cl_graph *written_chain(int n, const int64_t *stages, int n_par, const float *params,
                               const int64_t *operands, int operand_rank, const int64_t *operand_dims,
                               int operand_const) {
  cl_graph *g = h_graph(13);
  int x = add_input(g, "x", 4, (int64_t[]){1, 2, 3, 4}), y = val(g, "y"), in[2] = {x, -1}, n_in = 1;
  if (operand_rank >= 0) {
    in[1] = operand_const ? rconst(g, "k", operand_rank, operand_dims, -1, 1)
                          : add_input(g, "k", operand_rank, operand_dims);
    n_in = 2;
  }
  int node = h_node(g, CL_CHAIN_OP_TYPE, in, n_in, (int[]){y}, 1);
  if (n > 0) h_attr_ints(g, node, "stages", n, stages);
  if (n_par > 0) h_attr_floats(g, node, "params", n_par, params);
  if (operands) h_attr_ints(g, node, "operands", n, operands);
  add_output(g, y);
  return g;
}

static void expect_refused(cl_graph *g, cl_status want, const char *what) {
  cl_model_options opt = {.no_fusion = 1};
  cl_model_t *m = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_model_from_graph(g, &opt, &m, &err), want, "%s: got '%s'", what, err.msg);
  cr_assert(strstr(err.msg, CL_CHAIN_OP_TYPE) != NULL, "%s: the message names the op: '%s'", what, err.msg);
}

Test(fuse_chain, written_chain_is_validated) {
  const float p2[4] = {2, 0, 1, 0};
  expect_refused(written_chain(0, NULL, 0, NULL, NULL, -1, NULL, 1), CL_ERR_FORMAT, "no stages");
  expect_refused(written_chain(1, (int64_t[]){99}, 2, p2, NULL, -1, NULL, 1), CL_ERR_FORMAT, "unknown stage");
  expect_refused(written_chain(2, (int64_t[]){CL_CHAIN_MUL, CL_CHAIN_ADD}, 3, p2, NULL, -1, NULL, 1), CL_ERR_FORMAT,
                 "params of the wrong count");
  expect_refused(written_chain(1, (int64_t[]){CL_CHAIN_MUL}, 2, p2, (int64_t[]){3}, 1, (int64_t[]){2}, 1),
                 CL_ERR_FORMAT, "operand out of range");
  expect_refused(written_chain(1, (int64_t[]){CL_CHAIN_NEG}, 2, p2, (int64_t[]){1}, 1, (int64_t[]){2}, 1),
                 CL_ERR_FORMAT, "operand of a unary stage");
  expect_refused(written_chain(1, (int64_t[]){CL_CHAIN_MUL}, 2, p2, (int64_t[]){1}, 4, (int64_t[]){1, 2, 1, 1}, 0),
                 CL_ERR_UNSUPPORTED, "operand not constant");
  expect_refused(written_chain(1, (int64_t[]){CL_CHAIN_MUL}, 2, p2, (int64_t[]){1}, 4, (int64_t[]){1, 2, 3, 1}, 1),
                 CL_ERR_UNSUPPORTED, "operand along two axes");
  expect_refused(written_chain(1, (int64_t[]){CL_CHAIN_MUL}, 2, p2, (int64_t[]){1}, 2, (int64_t[]){3, 4}, 1),
                 CL_ERR_UNSUPPORTED, "operand along two axes");
  expect_refused(written_chain(1, (int64_t[]){CL_CHAIN_MUL}, 2, p2, (int64_t[]){1}, 1, (int64_t[]){5}, 1),
                 CL_ERR_SHAPE, "operand that does not broadcast");
}

Test(fuse_chain, written_chain_computes_its_stages) {
  /* y = clamp(x * 2 + 1, 0, 4) * k[c] with k along the channels: k[0] and k[1] are checked */
  const int64_t stages[4] = {CL_CHAIN_MUL, CL_CHAIN_ADD, CL_CHAIN_CLAMP, CL_CHAIN_MUL};
  const float params[8] = {2, 0, 1, 0, 0, 4, 0, 0};
  cl_graph *g = written_chain(4, stages, 8, params, (int64_t[]){0, 0, 0, 1}, 3, (int64_t[]){2, 1, 1}, 1);
  const float *k = g->values[g->nodes[0].in[1]].data;
  float kk[2] = {k[0], k[1]};
  cl_model_t *m = build(g, 1);
  float x[24], y[24];
  for (int i = 0; i < 24; i++) x[i] = (float)i / 4 - 3;
  for (int threads = 1; threads <= 2; threads++) {
    run_model(m, x, y, threads);
    for (int i = 0; i < 24; i++) {
      float v = x[i] * 2 + 1;
      v = v < 0 ? 0 : v > 4 ? 4 : v;
      cr_assert_float_eq(y[i], v * kk[i / 12], 1e-6f, "element %d", i);
    }
  }
  cl_model_free(&m);
}

/* === A real model === */

static const char *testdata(void) {
  const char *d = getenv("CLEAVE_TESTDATA");
  return d ? d : "build/testdata";
}

static cl_model_t *load(const char *path, const cl_tensor *in, int no_fusion) {
  cl_model_options opt = {.inputs = in, .n_inputs = 1, .no_fusion = no_fusion};
  cl_model_t *m = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_model_load(path, &opt, &m, &err), CL_OK, "%s", err.msg);
  return m;
}

/* PaddleOCR's detector: the HardSwish blocks of its backbone become Conv -> HardSwish -> Conv and
 * Conv -> Chain -> Conv, its squeeze-and-excitation residuals x * (g + 1), and the result is the
 * unfused graph's. */
Test(fuse_chain, ppocr_detector_fuses_and_agrees, .timeout = 120) {
  char model[1024], input[1024];
  snprintf(model, sizeof model, "%s/models/ppocr_det.onnx", testdata());
  snprintf(input, sizeof input, "%s/ref/ppocr_det/real/input_0.npy", testdata());
  cl_tensor in;
  cl_error err = {0};
  cr_assert_eq(cl_tensorfile_read(input, &in, &err), CL_OK,
               "%s (run scripts/fetch-testdata.sh, or set CLEAVE_TESTDATA)", err.msg);
  cl_model_t *fused = load(model, &in, 0), *plain = load(model, &in, 1);
  cr_assert_eq(count_op(plain, "Div"), 24);
  cr_assert_eq(count_op(fused, "Div") + count_op(fused, "Clip") + count_op(fused, "BatchNormalization"), 0);
  cr_assert_geq(count_op(fused, "HardSwish") + count_op(fused, CL_CHAIN_OP_TYPE), 24);
  cr_assert_eq(count_op(fused, "Add"), 3, "only the feature pyramid's additions are left");
  cr_assert_leq(cl_model_node_count(fused), cl_model_node_count(plain) / 2);
  size_t ny = value_floats(plain, cl_model_output_value(plain, 0));
  float *a = malloc(ny * sizeof *a), *b = malloc(ny * sizeof *b);
  run_model(plain, in.data, a, 1);
  for (int threads = 1; threads <= 2; threads++) {
    run_model(fused, in.data, b, threads);
    double d2 = 0, n2 = 0;
    for (size_t i = 0; i < ny; i++) d2 += (double)(a[i] - b[i]) * (a[i] - b[i]), n2 += (double)a[i] * a[i];
    float worst = h_max_abs_diff(a, b, ny);
    cr_log_info("ppocr_det, %d threads: relative L2 error %.3g, largest difference %.3g", threads,
                sqrt(d2 / n2), (double)worst);
    cr_assert_leq(sqrt(d2 / n2), 1e-5, "%d threads: relative L2 error %g", threads, sqrt(d2 / n2));
    cr_assert_leq(worst, 1e-4f, "%d threads: largest difference %g", threads, (double)worst);
  }
  free(a);
  free(b);
  cl_tensor_release(&in);
  cl_model_free(&fused);
  cl_model_free(&plain);
}
