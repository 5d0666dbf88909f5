/* cleave tests: the fusion pass's folds into convolutions and its HardSwish rewrites, on hand-built
 * graphs: each fires where it is exact (counted in the built graph) and stays away where it would
 * be wrong, and the fused graph computes what the unfused one does (1 and 2 threads). */
#include "test_fuse_util.h"

/* === Affine and BatchNormalization after a Conv === */

/* x[1,3,8,8] -> Conv(4 filters 3x3, pad 1, bias) -> c, then per variant:
 *   0: Mul(k, c) (constant first) -> Add(., k)              all fold
 *   1: Mul(c, [1,4,1,1]) -> Sub(., [4,1,1]) -> Div(., k[])  all fold
 *   2: BatchNormalization -> Mul(k) -> Add([1,4,1,1]) -> Relu: all fold, the Relu as a clamp */
static cl_graph *conv_affine(int variant) {
  cl_graph *g = h_graph(13);
  int x = add_input(g, "x", 4, (int64_t[]){1, 3, 8, 8});
  int w = rconst(g, "w", 4, (int64_t[]){4, 3, 3, 3}, -1, 1), b = rconst(g, "b", 1, (int64_t[]){4}, -1, 1);
  int c = val(g, "c"), y;
  int n = h_node(g, "Conv", (int[]){x, w, b}, 3, (int[]){c}, 1);
  h_attr_ints(g, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
  if (variant == 0) {
    int m = node2(g, "Mul", kconst(g, "k1", 1.7f, 0), c, "m");
    y = node2(g, "Add", m, kconst(g, "k2", -0.3f, 0), "y");
  } else if (variant == 1) {
    int m = node2(g, "Mul", c, rconst(g, "s", 4, (int64_t[]){1, 4, 1, 1}, -2, 2), "m");
    int d = node2(g, "Sub", m, rconst(g, "t", 3, (int64_t[]){4, 1, 1}, -1, 1), "d");
    y = node2(g, "Div", d, kconst(g, "k", 3.0f, 1), "y");
  } else {
    int bn = val(g, "bn");
    int args[5] = {c, rconst(g, "sc", 1, (int64_t[]){4}, 0.5f, 1.5f), rconst(g, "be", 1, (int64_t[]){4}, -1, 1),
                   rconst(g, "mu", 1, (int64_t[]){4}, -0.2f, 0.2f), rconst(g, "var", 1, (int64_t[]){4}, 0.5f, 1.5f)};
    h_node(g, "BatchNormalization", args, 5, (int[]){bn}, 1);
    int m = node2(g, "Mul", bn, kconst(g, "k", 0.8f, 0), "m");
    int a = node2(g, "Add", m, rconst(g, "t", 4, (int64_t[]){1, 4, 1, 1}, -1, 1), "a");
    y = node1(g, "Relu", a, "y");
  }
  add_output(g, y);
  return g;
}

Test(fuse_conv, affine_and_bn_fold_into_conv) {
  for (int v = 0; v < 3; v++) {
    cl_model_t *m = check_fused(conv_affine, v, 2);
    cr_assert_eq(count_op(m, "Conv"), 1);
    /* ToChannelsLast, Conv, ToPlain: nothing else is left */
    cr_assert_eq(cl_model_node_count(m), 3, "variant %d: %d nodes", v, cl_model_node_count(m));
    cl_model_free(&m);
  }
}

/* Conv -> a node that must not fold into it, per variant (REFUSED_OP: that node's op type). */
static const char *const REFUSED_OP[] = {"Mul", "Mul", "Mul", "Mul", "Sub", "Div", "Mul", "Div", "Mul"};

static cl_graph *conv_refused(int variant) {
  cl_graph *g = h_graph(13);
  int x = add_input(g, "x", 4, (int64_t[]){1, 3, 8, 8});
  int w = rconst(g, "w", 4, (int64_t[]){4, 3, 3, 3}, -1, 1);
  int c = val(g, "c"), k = kconst(g, "k", 1.5f, 0), y, extra = -1;
  int n = h_node(g, "Conv", (int[]){x, w}, 2, (int[]){c}, 1);
  h_attr_ints(g, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
  switch (variant) {
  case 0: /* the conv's output is a graph output too */
    y = node2(g, "Mul", c, k, "y");
    extra = c;
    break;
  case 1: /* a second reader */
    y = node2(g, "Add", node2(g, "Mul", c, k, "m"), c, "y");
    break;
  case 2: { /* a non-constant operand */
    int c2 = val(g, "c2");
    h_node(g, "Conv", (int[]){x, rconst(g, "w2", 4, (int64_t[]){4, 3, 1, 1}, -1, 1)}, 2, (int[]){c2}, 1);
    y = node2(g, "Mul", c, c2, "y");
    break;
  }
  case 3: /* a per-spatial constant */
    y = node2(g, "Mul", c, rconst(g, "sp", 4, (int64_t[]){1, 1, 8, 8}, -1, 1), "y");
    break;
  case 4: y = node2(g, "Sub", k, c, "y"); break; /* k - conv: the constant first */
  case 5: y = node2(g, "Div", k, c, "y"); break;
  case 6: /* a clamp is fused first: Relu then Mul is no affine of the conv */
    y = node2(g, "Mul", node1(g, "Relu", c, "r"), k, "y");
    break;
  case 7: y = node2(g, "Div", c, kconst(g, "zero", 0.0f, 0), "y"); break; /* division by zero */
  default: /* a [8] constant runs along W, not along the channels */
    y = node2(g, "Mul", c, rconst(g, "v8", 1, (int64_t[]){8}, -1, 1), "y");
    break;
  }
  add_output(g, y); /* first: check_fused compares output 0 */
  if (extra >= 0) add_output(g, extra);
  return g;
}

Test(fuse_conv, refuses_what_is_not_an_affine_of_the_conv_alone) {
  for (int v = 0; v < 9; v++) {
    if (v == 7) continue; /* division by zero: compared below, infinities do not compare */
    cl_model_t *m = check_fused(conv_refused, v, 2);
    cr_assert_eq(count_op(m, REFUSED_OP[v]), 1, "variant %d: the %s was folded", v, REFUSED_OP[v]);
    cl_model_free(&m);
  }
  cl_model_t *m = build(conv_refused(7), 0);
  cr_assert_eq(count_op(m, "Div"), 1, "a division by zero was folded");
  cl_model_free(&m);
}

/* x[1,4,5,5] -> ConvTranspose -> ...:
 *   0: group 2, W [4,3,2,2] (6 outputs), stride 2 -> Add([1,6,1,1]) -> BN -> Relu
 *   1: group 1, W [4,6,3,3], pad 1 -> Mul([1,6,1,1]) -> Sub(k) */
static cl_graph *deconv_affine(int variant) {
  cl_graph *g = h_graph(13);
  int x = add_input(g, "x", 4, (int64_t[]){1, 4, 5, 5});
  int c = val(g, "c"), y;
  int w = variant == 0 ? rconst(g, "w", 4, (int64_t[]){4, 3, 2, 2}, -1, 1)
                       : rconst(g, "w", 4, (int64_t[]){4, 6, 3, 3}, -1, 1);
  int n = h_node(g, "ConvTranspose", (int[]){x, w, rconst(g, "b", 1, (int64_t[]){6}, -1, 1)}, 3,
                 (int[]){c}, 1);
  if (variant == 0) {
    h_attr_int(g, n, "group", 2);
    h_attr_ints(g, n, "strides", 2, (int64_t[]){2, 2});
    int a = node2(g, "Add", c, rconst(g, "t", 4, (int64_t[]){1, 6, 1, 1}, -1, 1), "a");
    int bn = val(g, "bn");
    int args[5] = {a, rconst(g, "sc", 1, (int64_t[]){6}, 0.5f, 1.5f), rconst(g, "be", 1, (int64_t[]){6}, -1, 1),
                   rconst(g, "mu", 1, (int64_t[]){6}, -0.2f, 0.2f), rconst(g, "var", 1, (int64_t[]){6}, 0.5f, 1.5f)};
    h_node(g, "BatchNormalization", args, 5, (int[]){bn}, 1);
    y = node1(g, "Relu", bn, "y");
  } else {
    h_attr_ints(g, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    int m = node2(g, "Mul", c, rconst(g, "s", 4, (int64_t[]){1, 6, 1, 1}, -2, 2), "m");
    y = node2(g, "Sub", m, kconst(g, "k", 0.25f, 0), "y");
  }
  add_output(g, y);
  return g;
}

Test(fuse_conv, affine_and_bn_fold_into_conv_transpose) {
  for (int v = 0; v < 2; v++) {
    cl_model_t *m = check_fused(deconv_affine, v, 2);
    cr_assert_eq(count_op(m, "ConvTranspose"), 1);
    cr_assert_eq(cl_model_node_count(m), 3, "variant %d: %d nodes", v, cl_model_node_count(m));
    cl_model_free(&m);
  }
}

/* === Affine before a Conv === */

/* x[1,4,6,6] -> affine -> Conv -> y:
 *   0: Mul(k) -> Add(k) -> 1x1 conv without padding or bias             folds
 *   1: Mul([1,4,1,1]) -> Sub([4,1,1]) -> 3x3 conv, group 2, stride 2    folds
 *   2: Mul(k) -> Add(k) -> 3x3 conv with padding: the Add cannot fold (padding reads zeros, not t)
 *   3: Mul([1,4,1,1]) -> depthwise 3x3 conv with padding                folds (zeros stay zeros)
 *   4: as 0, the Mul's result also a graph output                        does not fold */
static cl_graph *pre_conv(int variant) {
  cl_graph *g = h_graph(13);
  int x = add_input(g, "x", 4, (int64_t[]){1, 4, 6, 6});
  int u = x, y = val(g, "y");
  if (variant == 1 || variant == 3) u = node2(g, "Mul", x, rconst(g, "s", 4, (int64_t[]){1, 4, 1, 1}, -2, 2), "m");
  else u = node2(g, "Mul", kconst(g, "s", 1.3f, 0), x, "m");
  int m = u;
  if (variant == 1) u = node2(g, "Sub", u, rconst(g, "t", 3, (int64_t[]){4, 1, 1}, -1, 1), "a");
  else if (variant != 3) u = node2(g, "Add", u, kconst(g, "t", 0.7f, 1), "a");
  int w, n;
  switch (variant) {
  case 1:
    w = rconst(g, "w", 4, (int64_t[]){6, 2, 3, 3}, -1, 1);
    n = h_node(g, "Conv", (int[]){u, w, rconst(g, "b", 1, (int64_t[]){6}, -1, 1)}, 3, (int[]){y}, 1);
    h_attr_int(g, n, "group", 2);
    h_attr_ints(g, n, "strides", 2, (int64_t[]){2, 2});
    break;
  case 2:
    n = h_node(g, "Conv", (int[]){u, rconst(g, "w", 4, (int64_t[]){5, 4, 3, 3}, -1, 1)}, 2, (int[]){y}, 1);
    h_attr_ints(g, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    break;
  case 3:
    n = h_node(g, "Conv", (int[]){u, rconst(g, "w", 4, (int64_t[]){4, 1, 3, 3}, -1, 1)}, 2, (int[]){y}, 1);
    h_attr_int(g, n, "group", 4);
    h_attr_ints(g, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    break;
  default:
    h_node(g, "Conv", (int[]){u, rconst(g, "w", 4, (int64_t[]){5, 4, 1, 1}, -1, 1)}, 2, (int[]){y}, 1);
    break;
  }
  add_output(g, y);
  if (variant == 4) add_output(g, m);
  return g;
}

Test(fuse_conv, affine_before_conv_folds_when_exact) {
  static const int left[] = {0, 0, 1, 0, 1}; /* nodes other than Conv and layout conversions */
  for (int v = 0; v < 5; v++) {
    cl_model_t *m = check_fused(pre_conv, v, 2);
    cr_assert_eq(count_op(m, "Conv"), 1);
    int other = 0;
    for (int i = 0; i < cl_model_node_count(m); i++)
      other += strcmp(cl_model_node_op(m, i), "Conv") != 0 && strncmp(cl_model_node_op(m, i), "cleave.To", 9) != 0;
    cr_assert_eq(other, left[v], "variant %d: %d nodes besides the Conv", v, other);
    cl_model_free(&m);
  }
  cl_model_t *m = build(pre_conv(2), 0);
  cr_assert_eq(count_op(m, "cleave.Chain"), 1, "the Mul and the Add that cannot fold make a chain");
  cl_model_free(&m);
  m = build(pre_conv(4), 0);
  cr_assert_eq(count_op(m, "Mul"), 1, "a Mul whose result is a graph output was folded");
  cl_model_free(&m);
}

/* === HardSwish === */

/* x[1,4,16,16] -> a written-out HardSwish -> y, per variant:
 *   0: x * Clip(x + 3, 0, 6) / 6          1: Clip(3 + x) * x * (1/6)     2: x * (Clip(x + 3) / 6)
 *   3: HardSigmoid(x, 1/6, 1/2) * x       4: as 0 at opset 9 (Clip bounds as attributes)
 * and forms that are no HardSwish:
 *   5: HardSigmoid(x, 0.2, 0.5) * x       6: x + 2.5 instead of x + 3    7: the Clip also a graph output
 *   8: Neg(x) * Clip(x + 3, 0, 6) / 6     9: Clip(x + 3, 0, 5) */
static cl_graph *hardswish(int variant) {
  cl_graph *g = h_graph(variant == 4 ? 9 : 13);
  int x = add_input(g, "x", 4, (int64_t[]){1, 4, 16, 16}), y, clip = -1;
  if (variant == 3 || variant == 5) {
    int h = val(g, "h");
    int n = h_node(g, "HardSigmoid", (int[]){x}, 1, (int[]){h}, 1);
    h_attr_float(g, n, "alpha", variant == 3 ? 1.0f / 6.0f : 0.2f);
    y = node2(g, "Mul", h, x, "y");
    add_output(g, y);
    return g;
  }
  int three = kconst(g, "three", variant == 6 ? 2.5f : 3.0f, 1);
  int a = variant == 1 ? node2(g, "Add", three, x, "a") : node2(g, "Add", x, three, "a");
  clip = val(g, "clip");
  if (variant == 4) {
    int n = h_node(g, "Clip", (int[]){a}, 1, (int[]){clip}, 1);
    h_attr_float(g, n, "min", 0.0f);
    h_attr_float(g, n, "max", 6.0f);
  } else {
    h_node(g, "Clip", (int[]){a, kconst(g, "lo", 0.0f, 1), kconst(g, "hi", variant == 9 ? 5.0f : 6.0f, 1)}, 3,
           (int[]){clip}, 1);
  }
  int six = kconst(g, "six", 6.0f, 1), other = variant == 8 ? node1(g, "Neg", x, "nx") : x;
  if (variant == 1) y = node2(g, "Mul", node2(g, "Mul", clip, x, "m"), kconst(g, "sixth", 1.0f / 6.0f, 0), "y");
  else if (variant == 2) y = node2(g, "Mul", x, node2(g, "Div", clip, six, "d"), "y");
  else y = node2(g, "Div", node2(g, "Mul", other, clip, "m"), six, "y");
  add_output(g, y);
  if (variant == 7) add_output(g, clip);
  return g;
}

Test(fuse_hardswish, written_out_forms_become_one_node) {
  for (int v = 0; v < 5; v++) {
    cl_model_t *m = check_fused(hardswish, v, 5);
    cr_assert_eq(count_op(m, "HardSwish"), 1, "variant %d", v);
    cr_assert_eq(cl_model_node_count(m), 1, "variant %d: %d nodes", v, cl_model_node_count(m));
    cl_model_free(&m);
  }
}

Test(fuse_hardswish, other_forms_are_left_alone) {
  for (int v = 5; v < 10; v++) {
    cl_model_t *m = check_fused(hardswish, v, 5);
    cr_assert_eq(count_op(m, "HardSwish"), 0, "variant %d was rewritten", v);
    cl_model_free(&m);
  }
}

/* === Gated residuals === */

/* x[1,6,10,10]; g = gate(Conv1x1(GlobalAveragePool(x))) [1,6,1,1]; y = x + x * g, per variant:
 *   0: HardSigmoid gate, Add(x, Mul(x, g))     1: Sigmoid gate, Add(Mul(g, x), x)
 * and forms left alone:
 *   2: a Relu "gate" (not in [0, 1])           3: the product also a graph output
 *   4: x + y * g with y another tensor */
static cl_graph *gated(int variant) {
  cl_graph *g = h_graph(13);
  int x = add_input(g, "x", 4, (int64_t[]){1, 6, 10, 10});
  int p = node1(g, "GlobalAveragePool", x, "p"), c = val(g, "c");
  h_node(g, "Conv", (int[]){p, rconst(g, "w", 4, (int64_t[]){6, 6, 1, 1}, -1, 1)}, 2, (int[]){c}, 1);
  const char *gate = variant == 1 ? "Sigmoid" : variant == 2 ? "Relu" : "HardSigmoid";
  int gv = node1(g, gate, c, "g"), other = variant == 4 ? node1(g, "Neg", x, "nx") : x, y;
  int m = variant == 1 ? node2(g, "Mul", gv, other, "m") : node2(g, "Mul", other, gv, "m");
  y = variant == 1 ? node2(g, "Add", m, x, "y") : node2(g, "Add", x, m, "y");
  add_output(g, y);
  if (variant == 3) add_output(g, m);
  return g;
}

/* Elements of the output of the model's first Add. */
static size_t first_add_size(const cl_model_t *m) {
  for (int i = 0; i < cl_model_node_count(m); i++) {
    if (strcmp(cl_model_node_op(m, i), "Add") != 0 && strcmp(cl_model_node_op(m, i), "cleave.Chain") != 0)
      continue;
    const int *out;
    cl_model_node_outputs(m, i, &out);
    return value_floats(m, out[0]);
  }
  return 0;
}

Test(fuse_rewrite, gated_residual_reads_x_once) {
  for (int v = 0; v < 5; v++) {
    cl_model_t *m = check_fused(gated, v, 3);
    size_t added = first_add_size(m);
    if (v < 2) cr_assert_eq(added, 6, "variant %d: the Add is not on the gate (%zu elements)", v, added);
    else cr_assert_eq(added, 600, "variant %d was rewritten", v);
    cl_model_free(&m);
  }
}
