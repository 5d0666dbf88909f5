/* cleave tests: helpers shared by the tensor operator suites (test_ops_tensor_*.c). */
#ifndef CLEAVE_TESTS_TENSOR_TEST_UTIL_H
#define CLEAVE_TESTS_TENSOR_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"

/* Every test runs in both layouts with 1 and 2 threads. */
typedef struct {
  cl_layout layout;
  int threads;
} t_config;

static const t_config T_CONFIGS[4] = {
    {CL_LAYOUT_PLAIN, 1},
    {CL_LAYOUT_PLAIN, 2},
    {CL_LAYOUT_CHANNELS_LAST, 1},
    {CL_LAYOUT_CHANNELS_LAST, 2},
};

#define T_FOR_CONFIGS(c) for (int c = 0; c < 4; c++)

/* Deterministic values in [-1, 1). */
static inline void t_fill(float *x, size_t n, uint32_t seed) {
  uint32_t s = seed * 2654435761u + 12345u;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    x[i] = (float)((s >> 8) & 0xFFFF) / 32768.0f - 1.0f;
  }
}

static inline float *t_floats(size_t n, uint32_t seed) {
  float *x = malloc((n ? n : 1) * sizeof *x);
  t_fill(x, n, seed);
  return x;
}

/* Linear index of a multi-index in a row-major shape. */
static inline size_t t_offset(int rank, const int64_t *dims, const int64_t *idx) {
  size_t off = 0;
  for (int i = 0; i < rank; i++) off = off * (size_t)dims[i] + (size_t)idx[i];
  return off;
}

/* Advances a multi-index; returns 0 after the last one. */
static inline int t_next(int rank, const int64_t *dims, int64_t *idx) {
  for (int i = rank - 1; i >= 0; i--) {
    if (++idx[i] < dims[i]) return 1;
    idx[i] = 0;
  }
  return 0;
}

/* Checks a value's shape against an expected one. */
static inline int t_shape_is(const cl_graph *g, int v, int rank, const int64_t *dims) {
  const cl_value *val = &g->values[v];
  if (val->rank != rank) return 0;
  for (int i = 0; i < rank; i++)
    if (val->dims[i] != dims[i]) return 0;
  return 1;
}

#endif
