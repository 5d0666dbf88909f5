/* cleave tests: helpers of the fusion-pass suites (test_fuse.c, test_fuse_chain.c): hand-built
 * graphs built with and without fusion (cl_model_from_graph, cl_model_options.no_fusion), run on
 * the same random input, compared. Static functions: each suite is one executable. */
#ifndef CLEAVE_TESTS_TEST_FUSE_UTIL_H
#define CLEAVE_TESTS_TEST_FUSE_UTIL_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/exec.h"
#include "model/model_internal.h"
#include "op_harness.h"

#define FUSE_RTOL 1e-5f
#define FUSE_ATOL 1e-6f

/* === Graphs === */

static inline float frand(unsigned *s) {
  *s = *s * 1103515245u + 12345u;
  return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* A float graph input of the given shape. */
static inline int add_input(cl_graph *g, const char *name, int rank, const int64_t *dims) {
  int v = h_value(g, name, CL_DTYPE_F32, rank, dims, NULL);
  g->inputs = realloc(g->inputs, (size_t)(g->n_inputs + 1) * sizeof *g->inputs);
  g->inputs[g->n_inputs++] = v;
  return v;
}

static inline void add_output(cl_graph *g, int v) {
  g->outputs = realloc(g->outputs, (size_t)(g->n_outputs + 1) * sizeof *g->outputs);
  g->outputs[g->n_outputs++] = v;
}

/* A value computed by a node (shape inferred). */
static inline int val(cl_graph *g, const char *name) {
  return h_value(g, name, CL_DTYPE_UNDEFINED, -1, NULL, NULL);
}

/* A float constant of the given shape with random values in [lo, hi] (seeded by its name). */
static inline int rconst(cl_graph *g, const char *name, int rank, const int64_t *dims, float lo, float hi) {
  size_t n = 1;
  for (int d = 0; d < rank; d++) n *= (size_t)dims[d];
  float *data = malloc(n * sizeof *data + 4);
  unsigned s = 1;
  for (const char *p = name; *p; p++) s = s * 31u + (unsigned char)*p;
  for (size_t i = 0; i < n; i++) data[i] = lo + (hi - lo) * (frand(&s) + 1.0f) / 2.0f;
  int v = h_const(g, name, CL_DTYPE_F32, rank, dims, data);
  free(data);
  return v;
}

/* A float constant holding one value: shape [1], or [] when rank0. */
static inline int kconst(cl_graph *g, const char *name, float v, int rank0) {
  return h_const(g, name, CL_DTYPE_F32, rank0 ? 0 : 1, (int64_t[]){1}, &v);
}

/* out = op_type(a, b). */
static inline int node2(cl_graph *g, const char *op_type, int a, int b, const char *out) {
  int y = val(g, out);
  h_node(g, op_type, (int[]){a, b}, 2, (int[]){y}, 1);
  return y;
}

static inline int node1(cl_graph *g, const char *op_type, int a, const char *out) {
  int y = val(g, out);
  h_node(g, op_type, (int[]){a}, 1, (int[]){y}, 1);
  return y;
}

/* === Building and running === */

static inline cl_model_t *build(cl_graph *g, int no_fusion) {
  cl_model_options opt = {.no_fusion = no_fusion};
  cl_model_t *m = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_model_from_graph(g, &opt, &m, &err), CL_OK, "%s", err.msg);
  return m;
}

static inline int count_op(const cl_model_t *m, const char *op) {
  int c = 0;
  for (int i = 0; i < cl_model_node_count(m); i++) c += strcmp(cl_model_node_op(m, i), op) == 0;
  return c;
}

static inline size_t value_floats(const cl_model_t *m, int v) {
  cl_value_info vi;
  cl_model_value_info(m, v, &vi);
  return vi.nbytes / sizeof(float);
}

/* Runs m on x (input 0); output 0 into out. */
static inline void run_model(cl_model_t *m, const float *x, float *out, int threads) {
  cl_exec_options eo = {.threads = threads};
  cl_exec_t *ex = NULL;
  cl_error err = {0};
  cr_assert_eq(cl_exec_create(m, &eo, &ex, &err), CL_OK, "%s", err.msg);
  size_t nb;
  void *in = cl_exec_buffer(ex, cl_model_input_value(m, 0), &nb);
  memcpy(in, x, nb);
  cr_assert_eq(cl_exec_run(ex, 0, cl_model_node_count(m), &err), CL_OK, "%s", err.msg);
  cl_tensor t;
  cl_exec_output(ex, 0, &t);
  memcpy(out, t.data, t.nbytes);
  cl_exec_free(&ex);
}

typedef cl_graph *(*graph_fn)(int variant);

/* Builds make(variant) with and without fusion, runs both on one random input in [-scale, scale]
 * (the fused model with 1 and with 2 threads) and checks that output 0 agrees within FUSE_RTOL.
 * Returns the fused model for the caller to inspect and free. */
static inline cl_model_t *check_fused(graph_fn make, int variant, float scale) {
  cl_model_t *fused = build(make(variant), 0), *plain = build(make(variant), 1);
  size_t nx = value_floats(plain, cl_model_input_value(plain, 0));
  size_t ny = value_floats(plain, cl_model_output_value(plain, 0));
  cr_assert_eq(nx, value_floats(fused, cl_model_input_value(fused, 0)));
  cr_assert_eq(ny, value_floats(fused, cl_model_output_value(fused, 0)));
  float *x = malloc(nx * sizeof *x), *a = malloc(ny * sizeof *a), *b = malloc(ny * sizeof *b),
        *c = malloc(ny * sizeof *c);
  unsigned s = 12345u + (unsigned)variant;
  for (size_t i = 0; i < nx; i++) x[i] = scale * frand(&s);
  run_model(plain, x, a, 1);
  run_model(fused, x, b, 1);
  run_model(fused, x, c, 2);
  cr_assert(h_allclose(b, a, ny, FUSE_RTOL, FUSE_ATOL), "variant %d: fused (1 thread) differs", variant);
  cr_assert(h_allclose(c, a, ny, FUSE_RTOL, FUSE_ATOL), "variant %d: fused (2 threads) differs", variant);
  free(x);
  free(a);
  free(b);
  free(c);
  cl_model_free(&plain);
  return fused;
}

#endif
