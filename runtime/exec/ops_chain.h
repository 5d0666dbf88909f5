/* cleave internal: cleave.Chain, a chain of elementwise float32 operations fused into one node.
 *
 * A chain reads one tensor x (input 0) and applies its stages in order to every element:
 *   y = stage_k( ... stage_1(stage_0(x)) ... )
 * in blocks of a few hundred elements that stay in L1 through all the stages: one pass over memory
 * instead of one per operator. The fusion pass (runtime/model/fuse_elementwise.c) makes chains from
 * runs of single-input operators; a model file may also hold cleave.Chain nodes, so parse and infer
 * validate everything as for any other operator.
 *
 * The node:
 *   inputs     x (float32, any rank, any layout), then constant float32 operands of the stages
 *   output     y, x's shape and layout (policy CL_POLICY_FOLLOW)
 *   stages     INTS, one cl_chain_op per stage (1 to CL_CHAIN_MAX_STAGES)
 *   params     FLOATS, two per stage (a, b): the scalar operand of a binary stage in a, the bounds
 *              of CLAMP in (a, b), alpha/beta of LEAKY_RELU and HARD_SIGMOID
 *   operands   INTS, one per stage (optional: all 0): 0 for a scalar operand (params a), or the input
 *              index (>= 1) of a constant that broadcasts to x along at most one axis (per-channel
 *              [C,1,1], [1,C,1,1], or a vector along any single axis); binary stages only
 * Each stage computes exactly what the ONNX operator it stands for computes on float32 (same
 * expression, same NaN behaviour), so a chain equals its operators run one by one. */
#ifndef CLEAVE_EXEC_OPS_CHAIN_H
#define CLEAVE_EXEC_OPS_CHAIN_H

#include "exec/op.h"

#define CL_CHAIN_OP_TYPE "cleave.Chain"
#define CL_CHAIN_MAX_STAGES 32

typedef enum cl_chain_op {
  /* x op c, c the stage's operand (scalar or vector) */
  CL_CHAIN_ADD = 0,
  CL_CHAIN_SUB,         /* x - c */
  CL_CHAIN_MUL,
  CL_CHAIN_DIV,         /* x / c */
  CL_CHAIN_MAX,         /* ONNX Max: NaN propagates */
  CL_CHAIN_MIN,
  CL_CHAIN_PRELU,       /* x < 0 ? c * x : x */
  /* unary, parameters in (a, b) */
  CL_CHAIN_CLAMP,       /* Clip / Relu: min(max(x, a), b), NaN stays NaN */
  CL_CHAIN_NEG,
  CL_CHAIN_ABS,
  CL_CHAIN_RECIPROCAL,
  CL_CHAIN_LEAKY_RELU,  /* x < 0 ? a * x : x */
  CL_CHAIN_HARD_SIGMOID, /* clamp(a * x + b, 0, 1) */
  CL_CHAIN_HARD_SWISH,  /* x * clamp(x / 6 + 1/2, 0, 1) */
  CL_CHAIN_OP_COUNT
} cl_chain_op;

/* One stage as the fusion pass describes it. */
typedef struct cl_chain_stage {
  cl_chain_op op;
  float a, b;  /* scalar operand or parameters (see above) */
  int operand; /* input index of a constant operand, or 0 for the scalar a */
} cl_chain_stage;

/* 1 when op takes an operand (ADD to PRELU). */
int cl_chain_op_is_binary(cl_chain_op op);

/* Writes count stages as node n's stages/params/operands attributes (replacing none: n must have
 * none of them yet). Errors: CL_ERR_NOMEM. */
cl_status cl_chain_set_stages(cl_node *n, const cl_chain_stage *st, int count,
                              cl_error *err) CL_MUST_CHECK;

#endif
