/* cleave: the build pipeline: from a graph as the ONNX reader leaves it to cleave's own graph. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/op.h"
#include "model/passes.h"

/* === Binding inputs === */

static cl_status bind_one(cl_value *v, const cl_tensor *given, cl_error *err) {
  char want[160], got[160];
  if (!given) {
    for (int d = 0; d < v->rank; d++)
      if (v->dims[d] < 0)
        return cl_error_set(err, CL_ERR_SHAPE,
                            "input '%s' has dynamic dimensions %s: give an input tensor to bind them",
                            v->name, cl_shape_str(v->rank, v->dims, want, sizeof want));
    if (v->rank < 0)
      return cl_error_set(err, CL_ERR_SHAPE, "input '%s' has no declared shape: give an input tensor",
                          v->name);
    return cl_value_set_shape(v, v->dtype, v->rank, v->dims, err);
  }
  if (v->dtype != CL_DTYPE_UNDEFINED && given->dtype != v->dtype)
    return cl_error_set(err, CL_ERR_SHAPE, "input '%s' must be %s, not %s", v->name,
                        cl_dtype_name(v->dtype), cl_dtype_name(given->dtype));
  int mismatch = v->rank >= 0 && v->rank != given->rank;
  for (int d = 0; !mismatch && v->rank >= 0 && d < v->rank; d++)
    mismatch = v->dims[d] >= 0 && v->dims[d] != given->dims[d];
  if (mismatch)
    return cl_error_set(err, CL_ERR_SHAPE, "input '%s' must have shape %s, not %s ('-1' is any)",
                        v->name, cl_shape_str(v->rank, v->dims, want, sizeof want),
                        cl_shape_str(given->rank, given->dims, got, sizeof got));
  return cl_value_set_shape(v, given->dtype, given->rank, given->dims, err);
}

cl_status cl_pass_bind_inputs(cl_graph *g, const cl_model_options *opt, cl_error *err) {
  int given = opt ? opt->n_inputs : 0;
  if (given > g->n_inputs)
    return cl_error_set(err, CL_ERR_SHAPE, "%d inputs given but the model has %d", given,
                        g->n_inputs);
  for (int i = 0; i < g->n_inputs; i++) {
    cl_value *v = &g->values[g->inputs[i]];
    v->is_input = 1;
    cl_status s = bind_one(v, i < given ? &opt->inputs[i] : NULL, err);
    if (s != CL_OK) return s;
  }
  for (int i = 0; i < g->n_outputs; i++) g->values[g->outputs[i]].is_output = 1;
  return CL_OK;
}

/* === Topological order === */

cl_status cl_pass_sort(cl_graph *g, cl_error *err) {
  int n = g->n_nodes;
  char *ready = calloc((size_t)g->n_values + 1, 1);   /* value available */
  char *placed = calloc((size_t)n + 1, 1);
  cl_node *sorted = malloc((size_t)(n ? n : 1) * sizeof *sorted);
  cl_status s = CL_OK;
  if (!ready || !placed || !sorted) {
    s = cl_error_set(err, CL_ERR_NOMEM, "out of memory sorting the graph");
    goto done;
  }
  for (int v = 0; v < g->n_values; v++)
    ready[v] = (char)(g->values[v].is_const || g->values[v].is_input);
  /* Repeated sweeps in file order: linear for files already in order (the ONNX rule), and stable. */
  int count = 0, progress = 1, first = 0;
  while (count < n && progress) {
    progress = 0;
    for (int i = first; i < n; i++) {
      if (placed[i]) continue;
      const cl_node *nd = &g->nodes[i];
      int ok = 1;
      for (int j = 0; j < nd->n_in && ok; j++) ok = nd->in[j] < 0 || ready[nd->in[j]];
      if (!ok) continue;
      for (int j = 0; j < nd->n_out; j++)
        if (nd->out[j] >= 0) ready[nd->out[j]] = 1;
      placed[i] = 1;
      sorted[count++] = *nd;
      progress = 1;
      while (first < n && placed[first]) first++;
    }
  }
  if (count < n) {
    for (int i = 0; i < n; i++)
      if (!placed[i]) {
        s = cl_node_error(err, &g->nodes[i], CL_ERR_FORMAT,
                          "its inputs are never all computed (a cycle or a missing producer)");
        break;
      }
    goto done;
  }
  if (n > 0) memcpy(g->nodes, sorted, (size_t)n * sizeof *sorted);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < g->nodes[i].n_out; j++)
      if (g->nodes[i].out[j] >= 0) g->values[g->nodes[i].out[j]].producer = i;
done:
  free(ready);
  free(placed);
  free(sorted);
  return s;
}

/* === Resolve, parse, infer, fold === */

static int all_inputs_const(const cl_graph *g, const cl_node *n) {
  int any = 0;
  for (int i = 0; i < n->n_in; i++) {
    if (n->in[i] < 0) continue;
    if (!g->values[n->in[i]].is_const) return 0;
    any = 1;
  }
  return any;
}

/* Graph inputs given with data in slots the op needs constant become constants (model.h). */
static cl_status bind_by_value(cl_graph *g, const cl_node *n, const cl_model_options *opt,
                               cl_error *err) {
  for (int i = 0; i < n->n_in && i < 32; i++) {
    unsigned mask = n->op->const_inputs;
    if (!(mask & (1u << i)) || n->in[i] < 0) continue;
    cl_value *v = &g->values[n->in[i]];
    if (!v->is_input || v->is_const || !opt) continue;
    for (int k = 0; k < opt->n_inputs && k < g->n_inputs; k++) {
      const cl_tensor *t = &opt->inputs[k];
      if (g->inputs[k] != n->in[i] || !t->data || t->nbytes != v->nbytes) continue;
      void *data = cl_value_alloc_const(v, err);
      if (!data) return CL_ERR_NOMEM;
      memcpy(data, t->data, v->nbytes);
    }
  }
  return CL_OK;
}

static cl_status resolve_node(cl_graph *g, int idx, const cl_model_options *opt, cl_error *err) {
  cl_node *n = &g->nodes[idx];
  n->op = cl_op_find(n->op_type, n->domain);
  if (!n->op)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "operator '%s%s%s' is not supported", n->domain,
                         n->domain[0] ? "." : "", n->op_type);
  if (bind_by_value(g, n, opt, err) != CL_OK) return err ? err->status : CL_ERR_NOMEM;
  if (strncmp(n->op_type, "cleave.", 7) != 0 &&
      (n->opset < n->op->opset_min || n->opset > n->op->opset_max))
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "opset %d is not supported (supported: %d to %d)",
                         n->opset, n->op->opset_min, n->op->opset_max);
  cl_status s = n->op->parse ? n->op->parse(g, n, err) : CL_OK;
  if (s == CL_OK) s = n->op->infer(g, n, err);
  if (s != CL_OK) return s;
  int all_const = 1;
  for (int j = 0; j < n->n_out; j++) {
    const cl_value *v = cl_node_output(g, n, j);
    if (!v) continue;
    if (v->rank < 0 || v->dtype == CL_DTYPE_UNDEFINED)
      return cl_node_error(err, n, CL_ERR_SHAPE, "output '%s' has no inferred shape", v->name);
    all_const &= v->is_const;
  }
  if (all_const) {
    n->dead = 1;
    return CL_OK;
  }
  if (!(n->op->flags & CL_OP_NO_FOLD) && all_inputs_const(g, n)) return cl_pass_fold_node(g, idx, err);
  return CL_OK;
}

cl_status cl_pass_fold_node(cl_graph *g, int idx, cl_error *err) {
  cl_node *n = &g->nodes[idx];
  void **ptr = calloc((size_t)g->n_values, sizeof *ptr);
  if (!ptr) return cl_error_set(err, CL_ERR_NOMEM, "out of memory folding constants");
  for (int i = 0; i < n->n_in; i++)
    if (n->in[i] >= 0) ptr[n->in[i]] = g->values[n->in[i]].data;
  cl_status s = CL_OK;
  for (int j = 0; j < n->n_out && s == CL_OK; j++) {
    cl_value *v = cl_node_output(g, n, j);
    if (!v) continue;
    ptr[n->out[j]] = cl_value_alloc_const(v, err);
    if (!ptr[n->out[j]]) s = CL_ERR_NOMEM;
  }
  cl_kernel_ctx k = {NULL, ptr};
  void *state = NULL;
  if (s == CL_OK && n->op->is_view && n->op->is_view(g, n) && n->n_out >= 1 && n->out[0] >= 0) {
    const cl_value *in = cl_node_input(g, n, 0);
    memcpy(ptr[n->out[0]], in->data, in->nbytes);   /* a view's bytes are its input's */
  } else if (s == CL_OK) {
    s = n->op->prepare ? n->op->prepare(g, n, &k, &state, err) : CL_OK;
    if (s == CL_OK) s = n->op->run(g, n, state, &k);
    if (n->op->release) n->op->release(state);
    if (s != CL_OK) cl_node_error(err, n, s, "could not be evaluated at load time");
  }
  free(ptr);
  if (s == CL_OK) n->dead = 1;
  return s;
}

cl_status cl_pass_resolve(cl_graph *g, const cl_model_options *opt, cl_error *err) {
  for (int i = 0; i < g->n_nodes; i++) {
    cl_status s = resolve_node(g, i, opt, err);
    if (s != CL_OK) return s;
  }
  return CL_OK;
}

/* === Dead code === */

int *cl_graph_reader_counts(const cl_graph *g) {
  int *readers = calloc((size_t)g->n_values + 1, sizeof *readers);
  if (!readers) return NULL;
  for (int i = 0; i < g->n_nodes; i++) {
    const cl_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] >= 0) readers[n->in[j]]++;
  }
  return readers;
}

void cl_pass_dead_code(cl_graph *g) {
  char *needed = calloc((size_t)g->n_values + 1, 1);
  if (!needed) return; /* keeping dead nodes is harmless */
  for (int i = 0; i < g->n_outputs; i++) needed[g->outputs[i]] = 1;
  for (int i = g->n_nodes - 1; i >= 0; i--) {
    cl_node *n = &g->nodes[i];
    if (n->dead) continue;
    int live = 0;
    for (int j = 0; j < n->n_out && !live; j++) live = n->out[j] >= 0 && needed[n->out[j]];
    if (!live) {
      n->dead = 1;
      continue;
    }
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] >= 0) needed[n->in[j]] = 1;
  }
  free(needed);
}
