/* cleave tests: run one operator on hand-made tensors, in the layouts a test chooses, without the
 * build pipeline: parse, infer, layout as given, prepare, run, then outputs back in ONNX order.
 *
 *   cl_graph *g = h_graph(13);
 *   int x = h_value(g, "x", CL_DTYPE_F32, 4, (int64_t[]){1, 3, 8, 8}, data);   // input, data PLAIN
 *   int w = h_const(g, "w", CL_DTYPE_F32, 4, (int64_t[]){4, 3, 3, 3}, wdata);
 *   int y = h_value(g, "y", CL_DTYPE_UNDEFINED, -1, NULL, NULL);               // output
 *   int n = h_node(g, "Conv", (int[]){x, w}, 2, (int[]){y}, 1);
 *   h_attr_ints(g, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
 *   cl_error err = {0};
 *   cr_assert_eq(h_run(g, n, CL_LAYOUT_CHANNELS_LAST, 1, &err), CL_OK, "%s", err.msg);
 *   const float *out = h_data(g, y);   // PLAIN, shape in g->values[y]
 *   h_free(&g);
 */
#ifndef CLEAVE_TESTS_OP_HARNESS_H
#define CLEAVE_TESTS_OP_HARNESS_H

#include <stdint.h>

#include "exec/op.h"
#include "model/graph.h"

cl_graph *h_graph(int opset);
void h_free(cl_graph **g);

/* A non-constant value; data (PLAIN, copied) may be NULL for outputs. rank -1: shape unknown. */
int h_value(cl_graph *g, const char *name, cl_dtype dtype, int rank, const int64_t *dims,
            const void *data);
/* A constant value (data copied). */
int h_const(cl_graph *g, const char *name, cl_dtype dtype, int rank, const int64_t *dims,
            const void *data);
/* A node; -1 in `in` is an omitted input. Returns the node index. */
int h_node(cl_graph *g, const char *op_type, const int *in, int n_in, const int *out, int n_out);
void h_attr_int(cl_graph *g, int node, const char *name, int64_t v);
void h_attr_float(cl_graph *g, int node, const char *name, float v);
void h_attr_string(cl_graph *g, int node, const char *name, const char *s);
void h_attr_ints(cl_graph *g, int node, const char *name, int n, const int64_t *v);
void h_attr_floats(cl_graph *g, int node, const char *name, int n, const float *v);

/* Runs node `node`: resolves its op (CL_ERR_UNSUPPORTED when unknown), parse, infer; then, when
 * layout is CHANNELS_LAST, stores every non-constant value of rank >= 3 that the op's policy allows
 * channels-last (inputs and outputs) that way (PLAIN otherwise); prepare and run with a pool of
 * `threads` threads (1: no pool); outputs are converted back to PLAIN and kept with the graph.
 * Returns the first failing step's status. */
cl_status h_run(cl_graph *g, int node, cl_layout layout, int threads, cl_error *err);

/* PLAIN data of a value after h_run (outputs), or its given data (inputs, constants). */
const void *h_data(const cl_graph *g, int value);

/* Max abs difference between n floats; and a check helper printing the first mismatch. */
float h_max_abs_diff(const float *a, const float *b, size_t n);
/* 1 when |a-b| <= atol + rtol*|b| for all n elements (prints the first mismatch to stderr). */
int h_allclose(const float *a, const float *b, size_t n, float rtol, float atol);

#endif
