/* cleave: the tensor operator group's table (the operators live in ops_shape.c, ops_axis.c,
 * ops_pad.c, ops_softmax.c, ops_reduce.c and ops_linear.c; see ops_tensor.h). */
#include "exec/ops_tensor.h"

#define CL_TENSOR_DEF(nm, fam, kfam, lo, hi, pol, fl, rel, view, cin)                                  \
  {.name = nm,                                                                                         \
   .opset_min = lo,                                                                                    \
   .opset_max = hi,                                                                                    \
   .policy = pol,                                                                                      \
   .flags = fl,                                                                                        \
   .parse = cl_##fam##_parse,                                                                          \
   .infer = cl_##fam##_infer,                                                                          \
   .prepare = cl_##kfam##_prepare,                                                                     \
   .run = cl_##kfam##_run,                                                                             \
   .release = rel,                                                                                     \
   .free_params = free,                                                                                \
   .is_view = view,                                                                                    \
   .const_inputs = cin},

static const cl_op_def ops[] = {CL_TENSOR_OPS(CL_TENSOR_DEF)};

const cl_op_group cl_ops_tensor = {ops, (int)(sizeof ops / sizeof ops[0])};
