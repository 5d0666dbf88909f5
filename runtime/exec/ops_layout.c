/* cleave: layout conversion operators (placeholder). */
#include "exec/op.h"

static const cl_op_def ops[] = {{0}};
const cl_op_group cl_ops_layout = {ops, 0};
