/* cleave internal: the passes of the build pipeline, in the order build.c runs them.
 * Each takes a graph being built and reports the first error in err. */
#ifndef CLEAVE_MODEL_PASSES_H
#define CLEAVE_MODEL_PASSES_H

#include "cleave/model.h"
#include "model/graph.h"

/* Binds graph inputs to the caller's shapes (or their static declared shapes). */
cl_status cl_pass_bind_inputs(cl_graph *g, const cl_model_options *opt, cl_error *err) CL_MUST_CHECK;

/* Puts g->nodes in a topological order (stable: file order where the data allows). */
cl_status cl_pass_sort(cl_graph *g, cl_error *err) CL_MUST_CHECK;

/* For each node in order: resolve the op, bind by value the given graph inputs it needs constant,
 * parse, infer, and evaluate it at load time when all its inputs are constant (its outputs become
 * constants and the node dies). */
cl_status cl_pass_resolve(cl_graph *g, const cl_model_options *opt, cl_error *err) CL_MUST_CHECK;

/* Evaluates node `node` (all inputs constant) and turns its outputs into constants. */
cl_status cl_pass_fold_node(cl_graph *g, int node, cl_error *err) CL_MUST_CHECK;

/* Kills nodes whose outputs nobody reads and that are no graph output. */
void cl_pass_dead_code(cl_graph *g);

/* The fusion pass, in this order (fuse_internal.h): BatchNormalization and constant per-channel
 * scales and shifts after a Conv fold into it; gated residuals and written-out HardSwish become
 * fewer nodes; constant scales and shifts before a Conv fold into it when no padding is read;
 * Relu / constant Clip fuse into the node before them when its op has CL_OP_FUSES_CLAMP; runs of
 * single-input elementwise ops become one cleave.Chain; clamps then fuse into chains. */
cl_status cl_pass_fuse(cl_graph *g, cl_error *err) CL_MUST_CHECK;

/* Chooses every value's layout by the ops' policies, inserts cleave.ToChannelsLast / cleave.ToPlain
 * nodes where a reader needs the other layout (graph outputs always PLAIN), and compacts g->nodes
 * to the final order without dead nodes. */
cl_status cl_pass_layout(cl_graph *g, cl_error *err) CL_MUST_CHECK;

/* Number of live readers of each value (caller frees). NULL when out of memory. */
int *cl_graph_reader_counts(const cl_graph *g);

#endif
