/* cleave tests: helpers for the elementwise operator suites (test_ops_elementwise*.c).
 *
 * A case describes one node: its opset, op, inputs (dtype, shape, data, constant or not, omitted) and
 * attributes. t_check_* builds a fresh graph for every configuration (PLAIN and CHANNELS_LAST, 1 and 2
 * threads), runs it through the op harness and compares output 0 with the expected values. */
#ifndef CLEAVE_TESTS_EW_TEST_UTIL_H
#define CLEAVE_TESTS_EW_TEST_UTIL_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"

#define T_MAX_IN 6
#define T_MAX_ATTR 4

typedef struct t_in {
  cl_dtype dtype;
  int rank;
  int64_t dims[CL_MAX_RANK];
  const void *data;
  int is_const; /* 1: an initializer */
  int omitted;  /* 1: an omitted optional input ("") */
} t_in;

typedef enum { TA_INT = 1, TA_FLOAT } t_attr_kind;

typedef struct t_attr {
  const char *name;
  t_attr_kind kind;
  int64_t i;
  float f;
} t_attr;

typedef struct t_case {
  int opset;
  const char *op;
  int n_in;
  t_in in[T_MAX_IN];
  int n_attr;
  t_attr attr[T_MAX_ATTR];
  int n_out;      /* 0 means 1 */
  float act_min;  /* fused clamp to set on the node (both 0: none) */
  float act_max;
} t_case;

static const cl_layout T_LAYOUTS[2] = {CL_LAYOUT_PLAIN, CL_LAYOUT_CHANNELS_LAST};

/* Builds the case's graph; *node and *out receive the node index and output 0's value id. */
static inline cl_graph *t_build(const t_case *c, int *node, int *out) {
  cl_graph *g = h_graph(c->opset);
  int in[T_MAX_IN], outs[4];
  for (int i = 0; i < c->n_in; i++) {
    const t_in *x = &c->in[i];
    char name[16];
    snprintf(name, sizeof name, "in%d", i);
    if (x->omitted) in[i] = -1;
    else if (x->is_const) in[i] = h_const(g, name, x->dtype, x->rank, x->dims, x->data);
    else in[i] = h_value(g, name, x->dtype, x->rank, x->dims, x->data);
  }
  int n_out = c->n_out ? c->n_out : 1;
  for (int i = 0; i < n_out; i++) {
    char name[16];
    snprintf(name, sizeof name, "out%d", i);
    outs[i] = h_value(g, name, CL_DTYPE_UNDEFINED, -1, NULL, NULL);
  }
  *node = h_node(g, c->op, in, c->n_in, outs, n_out);
  for (int i = 0; i < c->n_attr; i++) {
    if (c->attr[i].kind == TA_INT) h_attr_int(g, *node, c->attr[i].name, c->attr[i].i);
    else h_attr_float(g, *node, c->attr[i].name, c->attr[i].f);
  }
  if (c->act_min != 0 || c->act_max != 0) {
    g->nodes[*node].act_min = c->act_min;
    g->nodes[*node].act_max = c->act_max;
  }
  *out = outs[0];
  return g;
}

/* Runs the case once; returns the status and leaves the message in err. */
static inline cl_status t_status(const t_case *c, cl_error *err) {
  int node, out;
  cl_graph *g = t_build(c, &node, &out);
  cl_status s = h_run(g, node, CL_LAYOUT_PLAIN, 1, err);
  h_free(&g);
  return s;
}

/* Checks output 0 (dtype, shape, bytes or floats) in every configuration. want_dims may be NULL. */
static inline void t_check(const t_case *c, cl_dtype dtype, int rank, const int64_t *want_dims,
                           const void *want, float rtol, float atol) {
  for (int li = 0; li < 2; li++)
    for (int threads = 1; threads <= 2; threads++) {
      int node, out;
      cl_graph *g = t_build(c, &node, &out);
      cl_error err = {0};
      cl_status s = h_run(g, node, T_LAYOUTS[li], threads, &err);
      cr_assert_eq(s, CL_OK, "%s (layout %d, %d threads): %s", c->op, li, threads, err.msg);
      const cl_value *y = &g->values[out];
      cr_assert_eq(y->dtype, dtype, "%s: dtype %s", c->op, cl_dtype_name(y->dtype));
      cr_assert_eq(y->rank, rank, "%s: rank %d", c->op, y->rank);
      if (want_dims)
        for (int d = 0; d < rank; d++) cr_assert_eq(y->dims[d], want_dims[d], "%s: dim %d", c->op, d);
      size_t n = y->nbytes / cl_dtype_size(dtype);
      if (dtype == CL_DTYPE_F32) {
        cr_assert(h_allclose(h_data(g, out), want, n, rtol, atol), "%s (layout %d, %d threads)",
                  c->op, li, threads);
      } else if (dtype == CL_DTYPE_F64) {
        const double *a = h_data(g, out), *b = want;
        for (size_t i = 0; i < n; i++)
          cr_assert(fabs(a[i] - b[i]) <= atol + rtol * fabs(b[i]) || (isnan(a[i]) && isnan(b[i])),
                    "%s: element %zu is %.17g, expected %.17g", c->op, i, a[i], b[i]);
      } else {
        const unsigned char *a = h_data(g, out), *b = want;
        size_t es = cl_dtype_size(dtype);
        for (size_t i = 0; i < n; i++)
          cr_assert(memcmp(a + i * es, b + i * es, es) == 0,
                    "%s (layout %d, %d threads): element %zu differs", c->op, li, threads, i);
      }
      h_free(&g);
    }
}

static inline void t_check_f32(const t_case *c, const float *want, float rtol, float atol) {
  const t_in *x = &c->in[0];
  t_check(c, CL_DTYPE_F32, x->rank, x->dims, want, rtol, atol);
}

/* Deterministic pseudo-random floats in [lo, hi). */
static inline void t_fill(float *x, size_t n, float lo, float hi, uint32_t seed) {
  uint32_t s = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    x[i] = lo + (hi - lo) * (float)(s >> 8) / 16777216.0f;
  }
}

/* Number of elements of a shape. */
static inline size_t t_numel(int rank, const int64_t *dims) {
  size_t n = 1;
  for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
  return n;
}

/* Offset in a PLAIN tensor of shape (r, d) of the element at out index idx (rank ro, PLAIN) under
 * ONNX broadcasting: the naive reference the walk is checked against. */
static inline size_t t_bcast_offset(size_t idx, int ro, const int64_t *dout, int r, const int64_t *d) {
  size_t off = 0, stride = 1;
  for (int a = ro - 1; a >= 0; a--) {
    size_t coord = idx % (size_t)dout[a];
    idx /= (size_t)dout[a];
    int ai = a - (ro - r);
    if (ai < 0) continue;
    if (d[ai] != 1) off += coord * stride;
    stride *= (size_t)d[ai];
  }
  return off;
}

#endif
