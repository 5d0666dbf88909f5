/* cleave internal: what the files of the fusion pass share (fuse.c, fuse_conv.c,
 * fuse_elementwise.c); not for use outside them.
 *
 * The pass rewrites a graph that resolve has parsed and inferred, every value still PLAIN, in this
 * order (cl_pass_fuse):
 *   1. folds into Conv / ConvTranspose: BatchNormalization, then Mul/Div/Add/Sub by a scalar or
 *      per-output-channel constant (fuse_conv.c);
 *   2. pattern rewrites (fuse_elementwise.c): the written-out HardSwish forms become one
 *      HardSwish node; a gated residual x + x * g, g in [0, 1] (a Sigmoid or HardSigmoid, as in
 *      squeeze-and-excitation blocks), becomes x * (g + 1), one pass over x instead of two;
 *   3. folds of a constant affine (Mul/Div by a scalar or per-input-channel constant, Add/Sub when
 *      the conv has no padding) into the Conv that reads it (fuse_conv.c);
 *   4. clamps (Relu, Clip with constant bounds) into the op before them when that op honours a
 *      fused clamp and could not take the clamp into a chain instead (fuse.c);
 *   5. chains of single-input float elementwise ops into one cleave.Chain (fuse_elementwise.c);
 *   6. the remaining clamps, as in 4, into any op that honours them.
 * Rewrites keep g->nodes in a topological order without moving nodes: a node that replaces a run
 * of nodes takes the slot of the last of them, which comes after every producer of its inputs.
 * Values keep their ids; an intermediate value that disappears is simply no longer read. */
#ifndef CLEAVE_MODEL_FUSE_INTERNAL_H
#define CLEAVE_MODEL_FUSE_INTERNAL_H

#include "model/graph.h"

/* The pass's state: the graph and the live readers of every value, kept exact by the helpers. */
typedef struct fuse_ctx {
  cl_graph *g;
  int *readers;   /* owned; readers[v] = live nodes reading value v (once per input slot) */
  int cap;        /* entries allocated in readers (>= g->n_values) */
  cl_error *err;  /* first error */
} fuse_ctx;

/* === fuse.c: graph edits that keep readers exact === */

/* Live readers of value v. */
int fuse_readers(const fuse_ctx *c, int v);
/* The live node reading v when it is the only reader and v is no graph output, else -1. */
int fuse_sole_reader(const fuse_ctx *c, int v);
/* Marks node i dead and forgets its reads. */
void fuse_kill(fuse_ctx *c, int i);
/* Sets input slot `slot` of node i to value v (-1: omitted), growing n_in when slot >= n_in. */
cl_status fuse_set_input(fuse_ctx *c, int i, int slot, int v) CL_MUST_CHECK;
/* Node i takes over output 0 of node j (which dies): i now writes j's output value. */
void fuse_take_output(fuse_ctx *c, int i, int j);
/* A new value for a node the pass makes (shape left to its infer); its id or -1. */
int fuse_new_value(fuse_ctx *c, const char *base);
/* A new float32 constant of the given shape, zeroed; its id or -1 (error in c->err). */
int fuse_new_const(fuse_ctx *c, const char *base, int rank, const int64_t *dims);
/* Float data of input `slot` of node i that the pass may rewrite: the constant itself when the
 * graph owns it and node i is its only reader, else a private copy that replaces it in the slot.
 * NULL (error in c->err) when out of memory. The input must be a float32 constant. */
float *fuse_writable_input(fuse_ctx *c, int i, int slot);

/* 1 when a node can still be appended (fuse_install needs one spare node for a moment). */
int fuse_room(const fuse_ctx *c);
/* Replaces node `slot` (which must be dead) by a new node made of op_type (default domain, opset
 * max(opset, the graph's)), inputs and outputs, and attributes added by `attrs` when not NULL;
 * then resolves, parses and infers it like any node of the file. The outputs' producer becomes
 * slot. Returns CL_OK or the error (in c->err). */
typedef cl_status (*fuse_attr_fn)(cl_node *n, const void *arg, cl_error *err);
cl_status fuse_install(fuse_ctx *c, int slot, const char *name, const char *op_type, int opset,
                       const int *in, int n_in, int out, fuse_attr_fn attrs, const void *arg)
    CL_MUST_CHECK;

/* === fuse.c: recognising operands === */

/* 1 when node n is (op_type) in the default domain, resolved, without a fused clamp. */
int fuse_is(const cl_node *n, const char *op_type);
/* 1 when v is a float32 constant that broadcasts to shape x without growing it and varies along
 * at most one axis: *axis = -1 for a single value, else that axis of x. 0 otherwise. */
int fuse_const_axis(const cl_value *v, const cl_value *x, int *axis);
/* 1 with the value in *out when input slot of n is a float32 constant holding one value. */
int fuse_const_scalar(const cl_graph *g, const cl_node *n, int slot, float *out);
/* 1 when the two values have the same dtype and shape. */
int fuse_same_shape(const cl_value *a, const cl_value *b);

/* === fuse.c: clamps (steps 4 and 6) === */
cl_status fuse_clamps(fuse_ctx *c, int into_chainable) CL_MUST_CHECK;

/* === fuse_conv.c (steps 1 and 3) === */
cl_status fuse_conv_fold_after(fuse_ctx *c) CL_MUST_CHECK;
cl_status fuse_conv_fold_before(fuse_ctx *c) CL_MUST_CHECK;

/* === fuse_elementwise.c (steps 2 and 5) === */
cl_status fuse_rewrites(fuse_ctx *c) CL_MUST_CHECK;
cl_status fuse_chains(fuse_ctx *c) CL_MUST_CHECK;
/* 1 when node i can be a stage of a chain (used by step 4 to leave such clamps to step 5). */
int fuse_chainable(const fuse_ctx *c, int i);

#endif
