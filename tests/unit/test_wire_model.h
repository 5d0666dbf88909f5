/* cleave tests: a small model for the wire tests and the frame fuzzer, built in memory (no test
 * data needed): x [1,4,6,6] -> Conv 3x3 (+bias) -> Relu -> Add x (a skip connection) = c ->
 * Conv 1x1 -> y [1,2,6,6]; outputs y and c (c is also read by the last Conv). After cleave's passes
 * its cuts have frontiers of one or two tensors, plain or channels-last. No Criterion here: the
 * fuzzer includes it too. */
#ifndef CLEAVE_TESTS_TEST_WIRE_MODEL_H
#define CLEAVE_TESTS_TEST_WIRE_MODEL_H

#include <stdlib.h>
#include <string.h>

#include "model/graph.h"
#include "model/model_internal.h"

static inline int wm_value(cl_graph *g, const char *name, int rank, const int64_t *dims) {
  int v = cl_graph_add_value(g, name, NULL);
  if (v >= 0 && rank >= 0 && cl_value_set_shape(&g->values[v], CL_DTYPE_F32, rank, dims, NULL))
    return -1;
  return v;
}

/* A constant with values from a fixed sequence. */
static inline int wm_const(cl_graph *g, const char *name, int rank, const int64_t *dims,
                           unsigned seed) {
  int v = wm_value(g, name, rank, dims);
  if (v < 0) return v;
  size_t n = g->values[v].nbytes / 4;
  float *d = malloc(n * 4 + 4);
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    d[i] = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
  }
  cl_value_set_const(&g->values[v], d, 1);
  return v;
}

static inline int wm_node(cl_graph *g, const char *name, const char *op, const int *in, int n_in,
                          int out) {
  int id = cl_graph_add_node(g, name, op, "", in, n_in, &out, 1, NULL);
  if (id >= 0) g->values[out].producer = id;
  return id;
}

/* The model, or NULL (with err) when it does not build. */
static inline cl_model_t *wire_test_model(cl_error *err) {
  cl_graph *g = cl_graph_new();
  if (!g) return NULL;
  g->opset = 13;
  int x = wm_value(g, "x", 4, (int64_t[]){1, 4, 6, 6});
  int w1 = wm_const(g, "w1", 4, (int64_t[]){4, 4, 3, 3}, 1);
  int b1 = wm_const(g, "b1", 1, (int64_t[]){4}, 2);
  int w2 = wm_const(g, "w2", 4, (int64_t[]){2, 4, 1, 1}, 3);
  int a = wm_value(g, "a", -1, NULL), b = wm_value(g, "b", -1, NULL);
  int c = wm_value(g, "c", -1, NULL), y = wm_value(g, "y", -1, NULL);
  int conv = wm_node(g, "conv1", "Conv", (int[]){x, w1, b1}, 3, a);
  int64_t pads[4] = {1, 1, 1, 1};
  cl_attr pa = {.name = "pads", .type = CL_ATTR_INTS, .ints = pads, .n = 4};
  if (conv < 0 || cl_node_add_attr(&g->nodes[conv], &pa, NULL) != CL_OK) goto fail;
  if (wm_node(g, "relu", "Relu", (int[]){a}, 1, b) < 0) goto fail;
  if (wm_node(g, "skip", "Add", (int[]){b, x}, 2, c) < 0) goto fail;
  if (wm_node(g, "conv2", "Conv", (int[]){c, w2}, 2, y) < 0) goto fail;
  g->inputs = malloc(sizeof(int));
  g->outputs = malloc(2 * sizeof(int));
  if (!g->inputs || !g->outputs) goto fail;
  g->inputs[0] = x, g->n_inputs = 1;
  g->outputs[0] = y, g->outputs[1] = c, g->n_outputs = 2;
  cl_model_t *m = NULL;
  return cl_model_from_graph(g, NULL, &m, err) == CL_OK ? m : NULL;
fail:
  cl_graph_free(&g);
  return NULL;
}

#endif
