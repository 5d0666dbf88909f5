/* cleave internal: building a model from a graph, and reaching the graph of a model.
 * For the pipeline's own tests and for the op tests. */
#ifndef CLEAVE_MODEL_MODEL_INTERNAL_H
#define CLEAVE_MODEL_MODEL_INTERNAL_H

#include "cleave/model.h"
#include "model/graph.h"

/* Runs the build pipeline (sort, bind inputs, resolve, parse, infer, fold, fuse, layout, compact)
 * over g, a graph as the ONNX reader leaves it, and wraps it in a model. Takes ownership of g in all
 * cases (freed on error). */
cl_status cl_model_from_graph(cl_graph *g, const cl_model_options *opt, cl_model_t **out,
                              cl_error *err) CL_MUST_CHECK;

/* The model's graph (read-only). */
const cl_graph *cl_model_graph(const cl_model_t *m);

#endif
