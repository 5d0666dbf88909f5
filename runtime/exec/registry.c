/* cleave: the operator registry: every group's table, looked up by (op_type, domain). */
#include <string.h>

#include "exec/op.h"

static const cl_op_group *const groups[] = {
    &cl_ops_spatial,
    &cl_ops_elementwise,
    &cl_ops_tensor,
    &cl_ops_layout,
    &cl_ops_fused,
};

const cl_op_def *cl_op_find(const char *op_type, const char *domain) {
  int cleave_op = strncmp(op_type, "cleave.", 7) == 0;
  int default_domain = domain == NULL || domain[0] == '\0' || strcmp(domain, "ai.onnx") == 0;
  if (!default_domain && !cleave_op) return NULL;
  for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
    for (int i = 0; i < groups[g]->count; i++)
      if (strcmp(groups[g]->ops[i].name, op_type) == 0) return &groups[g]->ops[i];
  return NULL;
}
