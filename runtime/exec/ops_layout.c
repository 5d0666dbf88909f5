/* cleave: the layout conversion operators the layout pass inserts: cleave.ToChannelsLast and
 * cleave.ToPlain. A conversion whose two layouts have the same bytes is a view (no run). */
#include <string.h>

#include "exec/layout_convert.h"
#include "exec/op.h"

static cl_status layout_infer(cl_graph *g, cl_node *n, cl_error *err) {
  const cl_value *in = cl_node_input(g, n, 0);
  cl_value *out = cl_node_output(g, n, 0);
  if (!in || !out || n->n_in != 1 || n->n_out != 1)
    return cl_node_error(err, n, CL_ERR_FORMAT, "takes one input and one output");
  return cl_value_set_shape(out, in->dtype, in->rank, in->dims, err);
}

static int layout_is_view(const cl_graph *g, const cl_node *n) {
  const cl_value *in = cl_node_input(g, n, 0);
  return in->layout == cl_node_output(g, n, 0)->layout || cl_layout_is_trivial(in->rank, in->dims);
}

static cl_status layout_run(const cl_graph *g, const cl_node *n, void *state, const cl_kernel_ctx *k) {
  const cl_value *in = cl_node_input(g, n, 0), *out = cl_node_output(g, n, 0);
  const void *src = k->ptr[n->in[0]];
  void *dst = k->ptr[n->out[0]];
  size_t es = cl_dtype_size(in->dtype);
  if (in->layout == out->layout || in->rank < 3) memcpy(dst, src, in->nbytes);
  else if (out->layout == CL_LAYOUT_CHANNELS_LAST)
    cl_layout_to_channels_last(src, dst, in->rank, in->dims, es, k->pool);
  else cl_layout_to_plain(src, dst, in->rank, in->dims, es, k->pool);
  return CL_OK;
}

static const cl_op_def ops[] = {
    {.name = "cleave.ToChannelsLast", .opset_min = 1, .opset_max = 1000, .policy = CL_POLICY_ANY_IN,
     .flags = CL_OP_NO_FOLD, .infer = layout_infer, .run = layout_run, .is_view = layout_is_view},
    {.name = "cleave.ToPlain", .opset_min = 1, .opset_max = 1000, .policy = CL_POLICY_ANY_IN,
     .flags = CL_OP_NO_FOLD, .infer = layout_infer, .run = layout_run, .is_view = layout_is_view},
};
const cl_op_group cl_ops_layout = {ops, (int)(sizeof ops / sizeof ops[0])};
