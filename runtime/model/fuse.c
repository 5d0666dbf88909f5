/* cleave: the fusion pass: its entry point, the graph edits its steps share, and clamp fusion.
 * The steps and their order are described in fuse_internal.h. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/op.h"
#include "exec/ops_elementwise.h"
#include "model/fuse_internal.h"
#include "model/passes.h"

/* === Readers === */

static cl_status grow_readers(fuse_ctx *c) {
  if (c->g->n_values < c->cap) return CL_OK;
  int cap = c->g->n_values * 2 + 64;
  int *r = realloc(c->readers, (size_t)cap * sizeof *r);
  if (!r) return cl_error_set(c->err, CL_ERR_NOMEM, "out of memory fusing");
  memset(r + c->cap, 0, (size_t)(cap - c->cap) * sizeof *r);
  c->readers = r;
  c->cap = cap;
  return CL_OK;
}

int fuse_readers(const fuse_ctx *c, int v) { return v >= 0 && v < c->cap ? c->readers[v] : 0; }

int fuse_sole_reader(const fuse_ctx *c, int v) {
  const cl_graph *g = c->g;
  if (fuse_readers(c, v) != 1 || g->values[v].is_output) return -1;
  /* Readers come after the producer in the topological order: usually right after it. */
  for (int i = g->values[v].producer + 1; i < g->n_nodes; i++) {
    const cl_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] == v) return i;
  }
  return -1;
}

/* === Edits === */

void fuse_kill(fuse_ctx *c, int i) {
  cl_node *n = &c->g->nodes[i];
  assert(!n->dead);
  for (int j = 0; j < n->n_in; j++)
    if (n->in[j] >= 0) c->readers[n->in[j]]--;
  n->dead = 1;
}

cl_status fuse_set_input(fuse_ctx *c, int i, int slot, int v) {
  cl_node *n = &c->g->nodes[i];
  if (slot >= n->n_in) {
    int *in = realloc(n->in, (size_t)(slot + 1) * sizeof *in);
    if (!in) return cl_error_set(c->err, CL_ERR_NOMEM, "out of memory fusing");
    for (int j = n->n_in; j <= slot; j++) in[j] = -1;
    n->in = in;
    n->n_in = slot + 1;
  }
  if (n->in[slot] >= 0) c->readers[n->in[slot]]--;
  n->in[slot] = v;
  if (v >= 0) c->readers[v]++;
  return CL_OK;
}

void fuse_take_output(fuse_ctx *c, int i, int j) {
  cl_graph *g = c->g;
  int out = g->nodes[j].out[0];
  fuse_kill(c, j);
  g->nodes[i].out[0] = out;
  g->values[out].producer = i;
}

int fuse_new_value(fuse_ctx *c, const char *base) {
  char name[256];
  cl_graph_unique_name(c->g, base, name, sizeof name);
  int id = cl_graph_add_value(c->g, name, c->err);
  return id < 0 || grow_readers(c) != CL_OK ? -1 : id;
}

int fuse_new_const(fuse_ctx *c, const char *base, int rank, const int64_t *dims) {
  char name[256];
  cl_graph_unique_name(c->g, base, name, sizeof name);
  int id = cl_graph_add_value(c->g, name, c->err);
  if (id < 0 || grow_readers(c) != CL_OK) return -1;
  if (cl_value_set_shape(&c->g->values[id], CL_DTYPE_F32, rank, dims, c->err) != CL_OK) return -1;
  if (!cl_value_alloc_const(&c->g->values[id], c->err)) return -1;
  return id;
}

float *fuse_writable_input(fuse_ctx *c, int i, int slot) {
  cl_graph *g = c->g;
  int v = g->nodes[i].in[slot];
  const cl_value *val = &g->values[v];
  assert(val->is_const && val->dtype == CL_DTYPE_F32);
  if (val->data_owned && fuse_readers(c, v) == 1 && !val->is_input && !val->is_output)
    return val->data;
  char base[200];
  snprintf(base, sizeof base, "%s.folded", g->nodes[i].name);
  int64_t dims[CL_MAX_RANK];
  memcpy(dims, val->dims, sizeof dims);
  int nv = fuse_new_const(c, base, val->rank, dims);
  if (nv < 0) return NULL;
  memcpy(g->values[nv].data, g->values[v].data, g->values[v].nbytes); /* g->values may have moved */
  if (fuse_set_input(c, i, slot, nv) != CL_OK) return NULL;
  return g->values[nv].data;
}

/* === New nodes === */

/* Resolve, parse and infer for a node the pass made (build.c does the same for the file's). */
static cl_status resolve_new(cl_graph *g, cl_node *n, cl_error *err) {
  n->op = cl_op_find(n->op_type, n->domain);
  if (!n->op)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "operator '%s' is not supported", n->op_type);
  if (strncmp(n->op_type, "cleave.", 7) != 0 &&
      (n->opset < n->op->opset_min || n->opset > n->op->opset_max))
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "opset %d is not supported (supported: %d to %d)",
                         n->opset, n->op->opset_min, n->op->opset_max);
  cl_status s = n->op->parse ? n->op->parse(g, n, err) : CL_OK;
  if (s == CL_OK) s = n->op->infer(g, n, err);
  if (s != CL_OK) return s;
  const cl_value *v = cl_node_output(g, n, 0);
  if (v->rank < 0 || v->dtype == CL_DTYPE_UNDEFINED)
    return cl_node_error(err, n, CL_ERR_SHAPE, "output '%s' has no inferred shape", v->name);
  return CL_OK;
}

int fuse_room(const fuse_ctx *c) { return c->g->n_nodes < CL_MAX_NODES; }

cl_status fuse_install(fuse_ctx *c, int slot, const char *name, const char *op_type, int opset,
                       const int *in, int n_in, int out, fuse_attr_fn attrs, const void *arg) {
  cl_graph *g = c->g;
  assert(g->nodes[slot].dead);
  int ni = cl_graph_add_node(g, name, op_type, "", in, n_in, &out, 1, c->err);
  if (ni < 0) return c->err ? c->err->status : CL_ERR_NOMEM;
  cl_node *n = &g->nodes[ni];
  if (opset > n->opset) n->opset = opset;
  cl_status s = attrs ? attrs(n, arg, c->err) : CL_OK;
  if (s != CL_OK) {
    cl_node_release(n);
    g->n_nodes--;
    return s;
  }
  cl_node_release(&g->nodes[slot]);
  g->nodes[slot] = *n; /* move: the appended slot is forgotten */
  g->n_nodes--;
  n = &g->nodes[slot];
  for (int j = 0; j < n->n_in; j++)
    if (n->in[j] >= 0) c->readers[n->in[j]]++;
  g->values[out].producer = slot;
  return resolve_new(g, n, c->err);
}

/* === Operands === */

int fuse_is(const cl_node *n, const char *op_type) {
  return !n->dead && n->op && (n->domain[0] == '\0' || strcmp(n->domain, "ai.onnx") == 0) &&
         strcmp(n->op_type, op_type) == 0 && n->act_min == -INFINITY && n->act_max == INFINITY;
}

int fuse_const_axis(const cl_value *v, const cl_value *x, int *axis) {
  *axis = -1;
  if (!v->is_const || v->dtype != CL_DTYPE_F32 || v->rank < 0 || x->rank < 0 || v->rank > x->rank)
    return 0;
  for (int j = 0; j < v->rank; j++) {
    int a = x->rank - v->rank + j;
    if (v->dims[j] == 1) continue;
    if (v->dims[j] != x->dims[a] || *axis >= 0) return 0;
    *axis = a;
  }
  return 1;
}

int fuse_const_scalar(const cl_graph *g, const cl_node *n, int slot, float *out) {
  const cl_value *v = cl_node_input(g, n, slot);
  if (!v || !v->is_const || v->dtype != CL_DTYPE_F32 || v->nbytes != sizeof(float)) return 0;
  *out = *(const float *)v->data;
  return 1;
}

int fuse_same_shape(const cl_value *a, const cl_value *b) {
  return a->dtype == b->dtype && a->rank == b->rank &&
         memcmp(a->dims, b->dims, (size_t)(a->rank > 0 ? a->rank : 0) * sizeof a->dims[0]) == 0;
}

/* === Clamp fusion === */

/* Fuses the clamps that follow node i into it, while there are. */
static void fuse_clamps_after(fuse_ctx *c, int i) {
  cl_graph *g = c->g;
  for (;;) {
    cl_node *p = &g->nodes[i];
    int out = p->out[0], q = fuse_sole_reader(c, out);
    float lo, hi;
    if (q < 0 || g->nodes[q].in[0] != out || g->values[out].dtype != CL_DTYPE_F32 ||
        !cl_op_clamp_bounds(g, &g->nodes[q], &lo, &hi))
      return;
    lo = lo > p->act_min ? lo : p->act_min;
    hi = hi < p->act_max ? hi : p->act_max;
    if (!(lo < hi)) return; /* an empty range: the clamps keep computing it themselves */
    p->act_min = lo;
    p->act_max = hi;
    fuse_take_output(c, i, q);
  }
}

cl_status fuse_clamps(fuse_ctx *c, int into_chainable) {
  cl_graph *g = c->g;
  for (int i = 0; i < g->n_nodes; i++) {
    const cl_node *n = &g->nodes[i];
    if (n->dead || !n->op || !(n->op->flags & CL_OP_FUSES_CLAMP) || n->n_out < 1 || n->out[0] < 0)
      continue;
    if (!into_chainable && fuse_chainable(c, i)) continue; /* the clamp may join its chain */
    fuse_clamps_after(c, i);
  }
  return CL_OK;
}

/* === The pass === */

cl_status cl_pass_fuse(cl_graph *g, cl_error *err) {
  fuse_ctx c = {.g = g, .err = err};
  if (grow_readers(&c) != CL_OK) return CL_ERR_NOMEM;
  for (int i = 0; i < g->n_nodes; i++) {
    const cl_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] >= 0) c.readers[n->in[j]]++;
  }
  cl_status s = fuse_conv_fold_after(&c);
  if (s == CL_OK) s = fuse_rewrites(&c);
  if (s == CL_OK) s = fuse_conv_fold_before(&c);
  if (s == CL_OK) s = fuse_clamps(&c, 0);
  if (s == CL_OK) s = fuse_chains(&c);
  if (s == CL_OK) s = fuse_clamps(&c, 1);
  free(c.readers);
  return s;
}
