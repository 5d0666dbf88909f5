/* cleave internal: the operator interface.
 *
 * Every operator is a cl_op_def: a table of functions the build pipeline and the executor call in
 * this order, following TFLite Micro's Prepare/Eval split:
 *
 *   parse    (build)   attributes and constant inputs -> n->params; validates everything it reads,
 *                      across the opsets it supports (attribute in one opset, input in another).
 *   infer    (build)   output dtypes and logical shapes from input shapes and params (outputs may
 *                      also be made constant here, as Shape does).
 *   prepare  (executor creation, also constant folding) creates backend operators, packs weights,
 *                      computes strides, binds buffers (k->ptr is final); may allocate.
 *   run      (every inference) computes; allocates nothing, never fails on data.
 *   release  frees what prepare made.
 *
 * Folding: a node whose inputs are all constant is prepared and run once at load time with every
 * value PLAIN and k->pool NULL, and its outputs become constants; ops must therefore work with
 * PLAIN layouts and on every dtype they accept in parse/infer.
 *
 * Layouts: infer sees logical shapes only. The layout pass then decides each value's storage by the
 * op's policy (below) and inserts cleave.ToNHWC / cleave.ToPlain nodes where needed; prepare sees
 * the final layouts (cl_value.layout) and must honour them (see the view helpers in graph.h). */
#ifndef CLEAVE_EXEC_OP_H
#define CLEAVE_EXEC_OP_H

#include <pthreadpool.h>

#include "model/graph.h"

typedef enum cl_layout_policy {
  /* Spatial ops (Conv, pools, Resize): input 0 CHANNELS_LAST when its rank is >= 3; output 0
   * CHANNELS_LAST. Other inputs are constants (weights) that the op reads PLAIN. */
  CL_POLICY_SPATIAL,
  /* Elementwise ops: inputs in any layout (read through cl_view_broadcast); output CHANNELS_LAST iff
   * some non-constant input of the output's rank is. */
  CL_POLICY_FOLLOW,
  /* Axis ops (Concat, Slice, Pad, Softmax, Reduce*): non-constant inputs all get input 0's layout and
   * the output has it too, when output rank == input rank; otherwise everything is PLAIN. The op
   * maps its axes with cl_value_phys_axis. */
  CL_POLICY_PRESERVE,
  /* Input 0 in any layout, outputs PLAIN (Transpose, Shape). */
  CL_POLICY_ANY_IN,
  /* Everything PLAIN (Reshape, Flatten, Gemm, MatMul, Gather, ...). */
  CL_POLICY_PLAIN,
} cl_layout_policy;

enum {
  CL_OP_FUSES_CLAMP = 1u << 0, /* honours n->act_min/act_max: Relu and Clip after it may fuse in */
  CL_OP_NO_FOLD = 1u << 1,     /* never evaluate at load time */
};

/* What prepare and run see. */
typedef struct cl_kernel_ctx {
  pthreadpool_t pool;   /* compute threads; NULL runs on the calling thread */
  void *const *ptr;     /* ptr[v]: storage of value v (a constant's data, an arena slot) */
} cl_kernel_ctx;

typedef struct cl_op_def {
  const char *name;          /* ONNX op_type ("Conv") or cleave's own ("cleave.ToNHWC") */
  int opset_min, opset_max;  /* default-domain opsets supported; outside: CL_ERR_UNSUPPORTED */
  cl_layout_policy policy;
  unsigned flags;            /* CL_OP_* */

  cl_status (*parse)(cl_graph *g, cl_node *n, cl_error *err);
  cl_status (*infer)(cl_graph *g, cl_node *n, cl_error *err);
  cl_status (*prepare)(const cl_graph *g, const cl_node *n, const cl_kernel_ctx *k, void **state,
                       cl_error *err);
  cl_status (*run)(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k);
  void (*release)(void *state);      /* may be NULL; called with NULL state too */
  void (*free_params)(void *params); /* may be NULL (then free() is used); called with NULL too */

  /* May be NULL. Returns 1 when output 0 can share input 0's storage as is (Reshape of a PLAIN
   * tensor, a layout change where the bytes are the same): then run is never called and the
   * executor gives both values one buffer. Called after layouts are final. */
  int (*is_view)(const cl_graph *g, const cl_node *n);

  /* Bit i set: input i must be constant (weights, axes, pads, scales, a target shape...). A graph
   * input in such a slot that the caller gives with data at load time is bound by value. */
  unsigned const_inputs;
} cl_op_def;

/* The operator for (op_type, domain) or NULL. domain "" and "ai.onnx" are the default domain. */
const cl_op_def *cl_op_find(const char *op_type, const char *domain);

/* Each group of operators exports its table; registry.c lists the groups. */
typedef struct cl_op_group {
  const cl_op_def *ops;
  int count;
} cl_op_group;

extern const cl_op_group cl_ops_spatial;     /* Conv, ConvTranspose, pools, Resize, BatchNorm */
extern const cl_op_group cl_ops_elementwise; /* unary, binary, Clip, activations, Max/Min, Cast */
extern const cl_op_group cl_ops_tensor;      /* shape ops, axis ops, Gemm, MatMul, Gather, ... */
extern const cl_op_group cl_ops_layout;      /* cleave.ToNHWC, cleave.ToPlain */
extern const cl_op_group cl_ops_fused;       /* cleave.Chain (made by the fusion pass) */

/* Shared helpers for kernels. */

/* Splits [0, n) over the pool (or runs it inline when pool is NULL or n is small). */
typedef void (*cl_range_fn)(void *ctx, size_t begin, size_t end);
void cl_parallel_for(pthreadpool_t pool, size_t n, size_t grain, cl_range_fn fn, void *ctx);

/* Maps an xnn_status to CL_ERR_BACKEND with "node 'X' (Op): XNNPACK <what> failed (status N)". */
cl_status cl_xnn_error(cl_error *err, const cl_node *n, const char *what, int xnn_status);

/* Initialises XNNPACK once per process (thread-safe). */
cl_status cl_xnn_init(cl_error *err) CL_MUST_CHECK;

#endif
