/* cleave: tensor operators (placeholder table until the group lands). */
#include "exec/op.h"

static const cl_op_def ops[] = {{0}};
const cl_op_group cl_ops_tensor = {ops, 0};
