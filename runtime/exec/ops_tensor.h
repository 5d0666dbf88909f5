/* cleave internal: the tensor operator group (shape, axis, reduction and linear-algebra ops) and the
 * data-movement engines its kernels share.
 *
 * Files: ops_shape.c (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout, Shape, Size,
 * ConstantOfShape, Expand), ops_axis.c (Concat, Slice, Split, Transpose, Gather), ops_pad.c (Pad,
 * Tile), ops_softmax.c (Softmax, LogSoftmax), ops_reduce.c (Reduce*, ArgMax, ArgMin), ops_linear.c
 * (Gemm, MatMul), ops_tensor_util.c (the engines below), ops_tensor.c (the table).
 *
 * Conventions shared by every op here:
 *   - parse reads attributes only; infer reads constant inputs (the build pipeline folds a node's
 *     producers before it infers the node, so shape subgraphs are constant by then) and computes
 *     shapes; both store what they learn in n->params, a single malloc'd block (freed with free()).
 *   - prepare reads the final layouts and k->ptr and puts everything run needs into one state
 *     block; run allocates nothing and cannot fail.
 *   - Ops that only move bytes accept any element size (1, 2, 4 or 8 bytes). */
#ifndef CLEAVE_EXEC_OPS_TENSOR_H
#define CLEAVE_EXEC_OPS_TENSOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec/op.h"

/* === The op table ===
 * X(onnx name, parse/infer family, prepare/run family, opset min, opset max, policy, flags,
 *   release, is_view, const_inputs). A family F provides cl_F_parse and cl_F_infer; a kernel family K
 * provides cl_K_prepare and cl_K_run. const_inputs: bit i, input i must be constant (op.h). */
#define CL_TENSOR_OPS(X)                                                                               \
  X("Reshape", reshape, view, 1, 18, CL_POLICY_PLAIN, 0, free, cl_view_is_view, 0x2)                   \
  X("Flatten", flatten, view, 1, 18, CL_POLICY_PLAIN, 0, free, cl_view_is_view, 0)                     \
  X("Squeeze", squeeze, view, 1, 18, CL_POLICY_PLAIN, 0, free, cl_view_is_view, 0x2)                   \
  X("Unsqueeze", unsqueeze, view, 1, 18, CL_POLICY_PLAIN, 0, free, cl_view_is_view, 0x2)               \
  X("Identity", identity, view, 1, 18, CL_POLICY_PLAIN, 0, free, cl_view_is_view, 0)                   \
  X("Dropout", dropout, dropout, 1, 18, CL_POLICY_PLAIN, 0, free, cl_dropout_is_view, 0x6)             \
  X("Shape", shape, noop, 1, 18, CL_POLICY_ANY_IN, 0, free, NULL, 0)                                   \
  X("Size", size, noop, 1, 18, CL_POLICY_ANY_IN, 0, free, NULL, 0)                                     \
  X("ConstantOfShape", cos, cos, 9, 18, CL_POLICY_PLAIN, 0, free, NULL, 0x1)                           \
  X("Expand", expand, expand, 8, 18, CL_POLICY_PLAIN, 0, free, NULL, 0x2)                              \
  X("Concat", concat, concat, 1, 18, CL_POLICY_PRESERVE, 0, free, NULL, 0)                             \
  X("Slice", slice, slice, 1, 18, CL_POLICY_PRESERVE, 0, free, NULL, 0x1e)                             \
  X("Split", split, split, 1, 18, CL_POLICY_PRESERVE, 0, free, NULL, 0x2)                              \
  X("Transpose", transpose, transpose, 1, 18, CL_POLICY_ANY_IN, 0, free, NULL, 0)                      \
  X("Gather", gather, gather, 1, 18, CL_POLICY_PLAIN, 0, free, NULL, 0)                                \
  X("Pad", pad, pad, 1, 18, CL_POLICY_PRESERVE, 0, cl_pad_release, NULL, 0xe)                          \
  X("Tile", tile, tile, 6, 18, CL_POLICY_PLAIN, 0, cl_pad_release, NULL, 0x2)                          \
  X("Softmax", softmax, softmax, 1, 18, CL_POLICY_PRESERVE, 0, cl_softmax_release, NULL, 0)            \
  X("LogSoftmax", softmax, softmax, 1, 18, CL_POLICY_PRESERVE, 0, cl_softmax_release, NULL, 0)         \
  X("ReduceMean", reduce, reduce, 1, 18, CL_POLICY_PRESERVE, 0, free, NULL, 0x2)                       \
  X("ReduceSum", reduce, reduce, 1, 18, CL_POLICY_PRESERVE, 0, free, NULL, 0x2)                        \
  X("ReduceMax", reduce, reduce, 1, 18, CL_POLICY_PRESERVE, 0, free, NULL, 0x2)                        \
  X("ReduceMin", reduce, reduce, 1, 18, CL_POLICY_PRESERVE, 0, free, NULL, 0x2)                        \
  X("ReduceProd", reduce, reduce, 1, 18, CL_POLICY_PRESERVE, 0, free, NULL, 0x2)                       \
  X("ArgMax", argmax, argmax, 1, 18, CL_POLICY_PRESERVE, 0, free, NULL, 0)                             \
  X("ArgMin", argmax, argmax, 1, 18, CL_POLICY_PRESERVE, 0, free, NULL, 0)                             \
  X("Gemm", gemm, linear, 1, 18, CL_POLICY_PLAIN, CL_OP_FUSES_CLAMP, cl_linear_release, NULL, 0)       \
  X("MatMul", matmul, linear, 1, 18, CL_POLICY_PLAIN, CL_OP_FUSES_CLAMP, cl_linear_release, NULL, 0)

#define CL_TENSOR_DECLARE(name, fam, kfam, lo, hi, pol, fl, rel, view, cin)                            \
  cl_status cl_##fam##_parse(cl_graph *g, cl_node *n, cl_error *err);                                  \
  cl_status cl_##fam##_infer(cl_graph *g, cl_node *n, cl_error *err);                                  \
  cl_status cl_##kfam##_prepare(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k,           \
                                void **state, cl_error *err);                                          \
  cl_status cl_##kfam##_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k);
CL_TENSOR_OPS(CL_TENSOR_DECLARE)
#undef CL_TENSOR_DECLARE

int cl_view_is_view(const cl_graph *g, const cl_node *n);
int cl_dropout_is_view(const cl_graph *g, const cl_node *n);
void cl_pad_release(void *state);
void cl_softmax_release(void *state);
void cl_linear_release(void *state);

/* === Small helpers === */

/* A zeroed params (or state) block of `size` bytes into *out; CL_ERR_NOMEM naming the node. The block
 * replaces (and frees) what *out held, so parse and infer may run again. */
cl_status cl_tensor_params(const cl_node *n, size_t size, void **out, cl_error *err) CL_MUST_CHECK;
/* A zeroed state block for prepare into *state (whatever *state held is ignored). */
cl_status cl_tensor_state(const cl_node *n, size_t size, void **state, cl_error *err) CL_MUST_CHECK;

/* Element strides of v's storage, one per LOGICAL axis (the distance between consecutive indices
 * along that axis, whatever the layout). */
void cl_tensor_strides(const cl_value *v, int64_t *strides);

/* Number of elements of v (its shape is valid). */
size_t cl_tensor_numel(const cl_value *v);

/* Reads an axes list into axes[], normalised to [0, rank) and checked for repeats: constant input
 * `input` when the node has it (input -1: never), else attribute `attr` (NULL: none). *count is -1
 * when neither is given. Errors: CL_ERR_ARG (out of range, repeated), CL_ERR_UNSUPPORTED (input not
 * constant), CL_ERR_LIMIT (more than CL_MAX_RANK entries). */
cl_status cl_tensor_axes(const cl_graph *g, const cl_node *n, const char *attr, int input, int rank,
                         int *axes, int *count, cl_error *err) CL_MUST_CHECK;

/* === Strided copy ===
 * dst[sum i_k dst_stride_k] = src[sum i_k src_stride_k] over the index space dims, for elements of
 * esize bytes (1, 2, 4 or 8). Strides are in elements; src strides may be 0 (broadcast) or negative.
 * Init walks the destination in its storage order (axes by decreasing destination stride), merges
 * axes and picks a kernel: row memcpy when both sides are contiguous innermost, 32x32 tiles when the
 * source is contiguous along another axis (transposition), plain loops otherwise. */
typedef struct cl_strided {
  int rank;                        /* >= 1 after merging */
  int64_t dims[CL_MAX_RANK];       /* index space, outer to inner */
  int64_t src_stride[CL_MAX_RANK]; /* elements */
  int64_t dst_stride[CL_MAX_RANK]; /* elements */
  size_t esize;                    /* bytes per element */
  size_t numel;                    /* elements moved (0: nothing to do) */
  int tile_axis;                   /* >= 0: tiled transposition of (tile_axis, rank-1) */
} cl_strided;

void cl_strided_init(cl_strided *p, int rank, const int64_t *dims, const int64_t *src_stride,
                     const int64_t *dst_stride, size_t esize);
/* src and dst point at index (0, ..., 0); they must not overlap. pool may be NULL. */
void cl_strided_run(const cl_strided *p, const void *src, void *dst, pthreadpool_t pool);

/* === Index remapping (Pad, Tile) ===
 * out[o_0, ..., o_r-1] = in[t_0[o_0], ..., t_r-1[o_r-1]], or the fill value where some t_k[o_k] is -1.
 * Tables are per storage axis of the output. Build computes runs over the innermost axis so rows
 * become memcpy and fill segments. */
typedef struct cl_remap_run {
  int64_t out_start, in_start, len; /* in_start -1: fill */
} cl_remap_run;

typedef struct cl_remap {
  int rank;                          /* >= 1 */
  int64_t out_dims[CL_MAX_RANK];     /* storage order */
  int64_t in_stride[CL_MAX_RANK];    /* input storage strides, elements */
  const int64_t *table[CL_MAX_RANK]; /* out index -> in index or -1; points into this block */
  const cl_remap_run *runs;          /* innermost axis runs; points into this block */
  int n_runs;
  size_t esize;
  uint64_t fill; /* fill value, esize low-order bytes used */
  size_t rows;   /* product of out_dims except the last */
} cl_remap;

/* One malloc'd block holding the plan and copies of the tables (rank >= 1; tables[k] has out_dims[k]
 * entries; every non-negative entry must be < the input's storage dim k). NULL when out of memory. */
cl_remap *cl_remap_new(int rank, const int64_t *out_dims, const int64_t *in_stride,
                       const int64_t *const *tables, size_t esize, const void *fill);
void cl_remap_run_all(const cl_remap *r, const void *src, void *dst, pthreadpool_t pool);

/* Writes count copies of the esize-byte value at `value` to dst. */
void cl_tensor_fill(void *dst, const void *value, size_t count, size_t esize);

/* === 4-float vectors ===
 * GCC/clang vector extensions (SSE2 on x86-64, NEON on arm64): the library is built at -O2, whose
 * cost model leaves loops of unknown length scalar, so the hot loops here are written with these. */
typedef float cl_v4f __attribute__((vector_size(16)));
typedef int32_t cl_v4i __attribute__((vector_size(16)));

static inline cl_v4f cl_v4f_load(const float *p) {
  cl_v4f v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void cl_v4f_store(float *p, cl_v4f v) { memcpy(p, &v, sizeof v); }

static inline cl_v4f cl_v4f_splat(float x) { return (cl_v4f){x, x, x, x}; }

static inline cl_v4f cl_v4f_max(cl_v4f a, cl_v4f b) {
  cl_v4i m = a > b;
  return (cl_v4f)(((cl_v4i)a & m) | ((cl_v4i)b & ~m));
}

static inline cl_v4f cl_v4f_min(cl_v4f a, cl_v4f b) {
  cl_v4i m = a < b;
  return (cl_v4f)(((cl_v4i)a & m) | ((cl_v4i)b & ~m));
}

/* exp(x) within 2 ulp for x in [-87, 88] (clamped outside): 2^n * p(r), r = x - n ln2, |r| <= ln2/2,
 * p the degree-6 Taylor polynomial; n rounded with the 1.5 * 2^23 trick. */
static inline cl_v4f cl_v4f_exp(cl_v4f x) {
  const cl_v4f magic = cl_v4f_splat(12582912.0f);
  x = cl_v4f_min(cl_v4f_max(x, cl_v4f_splat(-87.0f)), cl_v4f_splat(88.0f));
  cl_v4f t = x * cl_v4f_splat(1.44269504f) + magic;
  cl_v4i n = (cl_v4i)t - (cl_v4i)magic;
  cl_v4f nf = t - magic;
  cl_v4f r = x - nf * cl_v4f_splat(0.693145751953125f) - nf * cl_v4f_splat(1.428606765330187e-06f);
  cl_v4f p = cl_v4f_splat(1.0f / 720);
  p = p * r + cl_v4f_splat(1.0f / 120);
  p = p * r + cl_v4f_splat(1.0f / 24);
  p = p * r + cl_v4f_splat(1.0f / 6);
  p = p * r + cl_v4f_splat(0.5f);
  p = p * r + cl_v4f_splat(1.0f);
  p = p * r + cl_v4f_splat(1.0f);
  return p * (cl_v4f)((n + 127) << 23);
}

#endif
