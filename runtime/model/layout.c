/* cleave: the layout pass: channels-last storage inside, ONNX order at the edges, conversion nodes
 * where a reader needs the other layout; then the final compact node order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/op.h"
#include "model/passes.h"
#include "util/strmap.h"

typedef struct {
  cl_graph *g;
  int *order;        /* final node order being built (indices into g->nodes) */
  int n_order, cap_order;
  int *converted[2]; /* converted[layout][v]: value holding v in that layout, or -1 */
  int cap_values;
} layout_ctx;

static cl_status push_order(layout_ctx *c, int node, cl_error *err) {
  if (c->n_order == c->cap_order) {
    int cap = c->cap_order ? c->cap_order * 2 : 256;
    int *o = realloc(c->order, (size_t)cap * sizeof *o);
    if (!o) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
    c->order = o;
    c->cap_order = cap;
  }
  c->order[c->n_order++] = node;
  return CL_OK;
}

/* Value holding v in `layout`, creating a conversion node (placed now in the order) if needed. */
static int convert(layout_ctx *c, int v, cl_layout layout, cl_error *err) {
  cl_graph *g = c->g;
  if (g->values[v].layout == layout) return v;
  if (c->converted[layout][v] >= 0) return c->converted[layout][v];
  char name[300];
  const char *op = layout == CL_LAYOUT_CHANNELS_LAST ? "cleave.ToChannelsLast" : "cleave.ToPlain";
  snprintf(name, sizeof name, "%s%s", g->values[v].name,
           layout == CL_LAYOUT_CHANNELS_LAST ? ":nhwc" : ":plain");
  char unique[320];
  if (cl_graph_find_value(g, name) >= 0) cl_graph_unique_name(g, name, unique, sizeof unique);
  else snprintf(unique, sizeof unique, "%s", name);
  int nv = cl_graph_add_value(g, unique, err);
  if (nv < 0) return -1;
  cl_value *src = &g->values[v], *dst = &g->values[nv];
  if (cl_value_set_shape(dst, src->dtype, src->rank, src->dims, err) != CL_OK) return -1;
  dst->layout = layout;
  int ni = cl_graph_add_node(g, unique, op, "", &v, 1, &nv, 1, err);
  if (ni < 0) return -1;
  cl_node *n = &g->nodes[ni];
  n->op = cl_op_find(op, "");
  if (!n->op || push_order(c, ni, err) != CL_OK) return -1;
  g->values[nv].producer = ni;
  c->converted[layout][v] = nv;
  return nv;
}

static int wants_cl(const cl_value *v) { return !v->is_const && v->rank >= 3; }

/* Output layout by policy, and the layout each non-constant input must have (-1: any). */
static cl_layout plan_node(const cl_graph *g, const cl_node *n, int *need) {
  const cl_value *in0 = cl_node_input(g, n, 0), *out0 = cl_node_output(g, n, 0);
  int out_rank = out0 ? out0->rank : -1;
  for (int i = 0; i < n->n_in; i++) need[i] = -1;
  switch (n->op->policy) {
  case CL_POLICY_SPATIAL:
    if (in0 && wants_cl(in0)) need[0] = CL_LAYOUT_CHANNELS_LAST;
    return out_rank >= 3 ? CL_LAYOUT_CHANNELS_LAST : CL_LAYOUT_PLAIN;
  case CL_POLICY_FOLLOW:
    for (int i = 0; i < n->n_in; i++) {
      const cl_value *v = cl_node_input(g, n, i);
      if (v && !v->is_const && v->rank == out_rank && v->layout == CL_LAYOUT_CHANNELS_LAST)
        return CL_LAYOUT_CHANNELS_LAST;
    }
    return CL_LAYOUT_PLAIN;
  case CL_POLICY_PRESERVE: {
    cl_layout l = in0 && !in0->is_const && in0->rank == out_rank ? in0->layout : CL_LAYOUT_PLAIN;
    for (int i = 0; i < n->n_in; i++) {
      const cl_value *v = cl_node_input(g, n, i);
      if (v && !v->is_const && v->rank >= 3) need[i] = v->rank == out_rank ? (int)l : CL_LAYOUT_PLAIN;
    }
    return l;
  }
  case CL_POLICY_ANY_IN:
    return CL_LAYOUT_PLAIN;
  case CL_POLICY_PLAIN:
    for (int i = 0; i < n->n_in; i++) need[i] = CL_LAYOUT_PLAIN;
    return CL_LAYOUT_PLAIN;
  }
  return CL_LAYOUT_PLAIN;
}

static cl_status place_node(layout_ctx *c, int idx, cl_error *err) {
  cl_graph *g = c->g;
  int need[CL_MAX_NODE_IO];
  cl_layout out_layout = plan_node(g, &g->nodes[idx], need);
  for (int i = 0; i < g->nodes[idx].n_in; i++) {
    int v = g->nodes[idx].in[i];
    if (v < 0 || need[i] < 0 || g->values[v].is_const || g->values[v].rank < 3) continue;
    int nv = convert(c, v, (cl_layout)need[i], err);
    if (nv < 0) return err ? err->status : CL_ERR_NOMEM;
    g->nodes[idx].in[i] = nv; /* g->nodes may have moved: index again */
  }
  cl_node *n = &g->nodes[idx];
  for (int j = 0; j < n->n_out; j++) {
    cl_value *v = cl_node_output(g, n, j);
    if (v && !v->is_const) v->layout = v->rank >= 3 ? out_layout : CL_LAYOUT_PLAIN;
  }
  return push_order(c, idx, err);
}

/* Graph outputs stored channels-last get a ToPlain node; the PLAIN value takes the output's name. */
static cl_status plain_outputs(layout_ctx *c, cl_error *err) {
  cl_graph *g = c->g;
  for (int i = 0; i < g->n_outputs; i++) {
    int v = g->outputs[i];
    if (g->values[v].layout == CL_LAYOUT_PLAIN) continue;
    int nv = convert(c, v, CL_LAYOUT_PLAIN, err);
    if (nv < 0) return err ? err->status : CL_ERR_NOMEM;
    /* Swap names so callers find the output under its ONNX name. */
    char *tmp = g->values[v].name;
    g->values[v].name = g->values[nv].name;
    g->values[nv].name = tmp;
    if (cl_strmap_put(g->names, g->values[v].name, v) != 0 ||
        cl_strmap_put(g->names, g->values[nv].name, nv) != 0)
      return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
    g->values[v].is_output = 0;
    g->values[nv].is_output = 1;
    g->outputs[i] = nv;
  }
  return CL_OK;
}

/* Rebuilds g->nodes in c->order; dead nodes are released. */
static cl_status compact(layout_ctx *c, cl_error *err) {
  cl_graph *g = c->g;
  cl_node *nodes = malloc((size_t)(c->n_order ? c->n_order : 1) * sizeof *nodes);
  char *kept = calloc((size_t)g->n_nodes + 1, 1);
  if (!nodes || !kept) {
    free(nodes);
    free(kept);
    return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  }
  for (int i = 0; i < c->n_order; i++) {
    nodes[i] = g->nodes[c->order[i]];
    kept[c->order[i]] = 1;
  }
  for (int i = 0; i < g->n_nodes; i++)
    if (!kept[i]) cl_node_release(&g->nodes[i]);
  free(kept);
  free(g->nodes);
  g->nodes = nodes;
  g->n_nodes = g->cap_nodes = c->n_order;
  for (int v = 0; v < g->n_values; v++) g->values[v].producer = -1;
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; j < g->nodes[i].n_out; j++)
      if (g->nodes[i].out[j] >= 0) g->values[g->nodes[i].out[j]].producer = i;
  return CL_OK;
}

cl_status cl_pass_layout(cl_graph *g, cl_error *err) {
  layout_ctx c = {.g = g};
  int cap = g->n_values * 3 + 64; /* original ids, plus room: conversions add <= 2 per value */
  c.converted[0] = malloc((size_t)cap * sizeof(int));
  c.converted[1] = malloc((size_t)cap * sizeof(int));
  cl_status s = CL_OK;
  if (!c.converted[0] || !c.converted[1]) {
    s = cl_error_set(err, CL_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (int i = 0; i < cap; i++) c.converted[0][i] = c.converted[1][i] = -1;
  int n_orig = g->n_nodes;
  for (int i = 0; i < n_orig && s == CL_OK; i++)
    if (!g->nodes[i].dead) s = place_node(&c, i, err);
  if (s == CL_OK) s = plain_outputs(&c, err);
  if (s == CL_OK) s = compact(&c, err);
done:
  free(c.converted[0]);
  free(c.converted[1]);
  free(c.order);
  return s;
}
