/* cleave fuzzer: the ONNX reader (cl_onnx_decode) on arbitrary bytes, into a fresh graph.
 * Whatever the input: no crash, no leak, no undefined behaviour; an error carries a one-line message;
 * a decoded graph is consistent (every id in range, producers right, constants sized). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/graph.h"
#include "model/onnx_reader.h"

static void check_graph(const cl_graph *g) {
  for (int i = 0; i < g->n_nodes; i++) {
    const cl_node *n = &g->nodes[i];
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] < -1 || n->in[j] >= g->n_values) abort();
    for (int j = 0; j < n->n_out; j++) {
      if (n->out[j] < -1 || n->out[j] >= g->n_values) abort();
      if (n->out[j] >= 0 && g->values[n->out[j]].producer != i) abort();
    }
    for (int k = 0; k < n->n_attrs; k++) {
      const cl_attr *a = &n->attrs[k];
      if (a->type == CL_ATTR_TENSOR && a->t.nbytes > 0) {
        volatile uint8_t sink = ((const uint8_t *)a->t.data)[a->t.nbytes - 1];
        (void)sink;
      }
    }
  }
  for (int i = 0; i < g->n_values; i++) {
    const cl_value *v = &g->values[i];
    if (v->is_const && v->nbytes > 0) {   /* every byte of a constant must be readable */
      volatile uint8_t sink = ((const uint8_t *)v->data)[0] ^ ((const uint8_t *)v->data)[v->nbytes - 1];
      (void)sink;
    }
  }
  for (int i = 0; i < g->n_inputs; i++)
    if (g->inputs[i] < 0 || g->inputs[i] >= g->n_values || !g->values[g->inputs[i]].is_input) abort();
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] < 0 || g->outputs[i] >= g->n_values) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cl_graph *g = cl_graph_new();
  if (!g) return 0;
  cl_error err = {0};
  if (cl_onnx_decode(g, data, size, &err) == CL_OK) check_graph(g);
  else if (err.status == CL_OK || err.msg[0] == '\0' || strchr(err.msg, '\n')) abort();
  cl_graph_free(&g);
  return 0;
}
