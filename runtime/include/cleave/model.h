/* cleave: a loaded model.
 *
 * cl_model_load reads an ONNX file, binds every dynamic dimension from the input shapes the caller
 * gives, folds what is constant (shape subgraphs, BatchNormalization and constant scales into
 * Conv), fuses clamping activations into Conv and Gemm and runs of elementwise operators into one
 * pass (cleave.Chain), chooses each tensor's memory layout (channels-last inside, ONNX
 * order at the graph's inputs and outputs) and checks every node. What is left is cleave's own graph:
 * n nodes in one topological order. A cut k in [0, n] splits it: nodes [0, k) run on the device,
 * [k, n) on the worker.
 *
 * A model is immutable once loaded and may be shared by several executors (cl_exec) and threads.
 * Tensors are named by value ids in [0, cl_model_value_count). */
#ifndef CLEAVE_MODEL_H
#define CLEAVE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "cleave/status.h"
#include "cleave/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cl_model cl_model_t;

typedef struct cl_model_options {
  /* Shapes (and dtypes) of the graph inputs, in graph-input order. They bind dynamic dimensions and
   * must agree with every static one. n_inputs may be 0 when the model has no dynamic dimension.
   * An input given with data that an operator needs constant (weights, axes, pads, scales, a target
   * shape: cleave's shapes are static and its weights packed once) is bound by value too: it becomes
   * a constant and cl_exec_set_input accepts only that same value. The caller keeps the array. */
  const cl_tensor *inputs;
  int n_inputs;
  /* Refuse files larger than this (0: 2 GiB, ONNX's own limit). */
  size_t max_file_bytes;
  /* 0: keep every node as imported (no folding beyond constants, no fusion); for debugging. */
  int no_fusion;
} cl_model_options;

/* Loads and prepares a model. The file is mapped; large weights are used where they lie.
 * Errors (with a one-line message naming the node, op, tensor or field): CL_ERR_IO, CL_ERR_FORMAT
 * (truncated or corrupt file), CL_ERR_UNSUPPORTED (unknown op, naming node and op; unsupported
 * attribute or dtype), CL_ERR_SHAPE (inputs of the wrong shape or type), CL_ERR_LIMIT (absurd sizes),
 * CL_ERR_NOMEM. On success *out owns everything; free it with cl_model_free. */
cl_status cl_model_load(const char *path, const cl_model_options *opt, cl_model_t **out,
                        cl_error *err) CL_MUST_CHECK;

/* The same from bytes in memory (the fuzzers use it). The bytes are copied: the caller keeps buf. */
cl_status cl_model_load_buffer(const uint8_t *buf, size_t len, const cl_model_options *opt,
                               cl_model_t **out, cl_error *err) CL_MUST_CHECK;

/* Frees the model and sets *m to NULL. Safe on NULL and on *m == NULL. Every executor made from
 * the model must be freed first. */
void cl_model_free(cl_model_t **m);

/* === Graph ===
 * Strings returned below belong to the model and live as long as it. */
int cl_model_node_count(const cl_model_t *m);
const char *cl_model_node_name(const cl_model_t *m, int node);
const char *cl_model_node_op(const cl_model_t *m, int node);   /* "Conv", "cleave.ToNHWC", ... */
/* Value ids of a node's inputs and outputs (an omitted optional input is -1). */
int cl_model_node_inputs(const cl_model_t *m, int node, const int **ids);
int cl_model_node_outputs(const cl_model_t *m, int node, const int **ids);

int cl_model_input_count(const cl_model_t *m);
int cl_model_output_count(const cl_model_t *m);
int cl_model_input_value(const cl_model_t *m, int i);
int cl_model_output_value(const cl_model_t *m, int i);

typedef enum cl_layout {
  CL_LAYOUT_PLAIN = 0,    /* ONNX order, row-major */
  CL_LAYOUT_CHANNELS_LAST = 1, /* rank >= 3: dims stored as [N, d2, ..., d(r-1), C] (NHWC for rank 4) */
} cl_layout;

typedef struct cl_value_info {
  const char *name;
  cl_dtype dtype;
  int rank;
  int64_t dims[CL_MAX_RANK];  /* logical (ONNX) order */
  cl_layout layout;           /* how the bytes lie in an executor's buffer */
  size_t nbytes;
  int is_constant;            /* weights: known to both sides, never in a frontier */
  int producer;               /* node that writes it, -1 for graph inputs and constants */
} cl_value_info;

int cl_model_value_count(const cl_model_t *m);
void cl_model_value_info(const cl_model_t *m, int value, cl_value_info *out);

/* The frontier of cut k (0 <= k <= n): every non-constant value produced before k (graph inputs
 * included) that a node at or after k reads or that is a graph output, in increasing value id order.
 * Writes at most cap ids and returns how many there are in all (call with cap 0 to size the array). */
int cl_model_frontier(const cl_model_t *m, int cut, int *ids, int cap);

/* 32-byte BLAKE2b digest of the model file and the bound input shapes: two sides that computed the
 * same graph have the same hash. */
const uint8_t *cl_model_hash(const cl_model_t *m);

/* Library version, "MAJOR.MINOR.PATCH". */
const char *cl_version(void);

#ifdef __cplusplus
}
#endif
#endif
