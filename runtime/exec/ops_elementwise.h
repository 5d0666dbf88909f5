/* cleave internal: what the elementwise group offers to the build pipeline. */
#ifndef CLEAVE_EXEC_OPS_ELEMENTWISE_H
#define CLEAVE_EXEC_OPS_ELEMENTWISE_H

#include "model/graph.h"

/* 1 with the bounds in *lo, *hi when node n (already parsed) is a clamp: Relu ([0, +inf)) or a Clip
 * whose bounds are constant; 0 otherwise. The fusion pass calls it to fold n into the op before. */
int cl_op_clamp_bounds(const cl_graph *g, const cl_node *n, float *lo, float *hi);

#endif
