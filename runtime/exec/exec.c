/* cleave: the executor: one arena, every operator prepared and bound once, node ranges run. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleave/exec.h"
#include "exec/arena.h"
#include "exec/op.h"
#include "model/model_internal.h"

struct cl_exec {
  const cl_graph *g;     /* the model's graph (not owned) */
  pthreadpool_t pool;    /* owned; NULL for one thread */
  void **ptr;            /* owned array; ptr[v] = storage of value v */
  void **state;          /* owned array; per node, the op's prepared state */
  char *is_view;         /* owned array; per node, 1 when its output shares its input's storage */
  unsigned char *arena;  /* owned */
  size_t arena_bytes;
  uint64_t *node_ns;     /* owned array; per node, last run's wall time */
  int profile;
};

/* === Planning === */

/* root[v]: the value whose storage v uses (itself unless v is the output of a view node). */
static void find_roots(cl_exec_t *ex, int *root) {
  const cl_graph *g = ex->g;
  for (int v = 0; v < g->n_values; v++) root[v] = v;
  for (int i = 0; i < g->n_nodes; i++) {
    const cl_node *n = &g->nodes[i];
    ex->is_view[i] = n->op->is_view && n->op->is_view(g, n) && n->n_in >= 1 && n->in[0] >= 0 &&
                     !g->values[n->in[0]].is_const && n->out[0] >= 0;
    if (ex->is_view[i]) root[n->out[0]] = root[n->in[0]];
  }
}

static void extend(cl_arena_buf *b, int t) {
  if (t < b->first) b->first = t;
  if (t > b->last) b->last = t;
}

/* Lifetime of every root's storage, over all values sharing it. */
static cl_status plan_arena(cl_exec_t *ex, const int *root, cl_error *err) {
  const cl_graph *g = ex->g;
  int nv = g->n_values;
  cl_arena_buf *bufs = calloc((size_t)nv + 1, sizeof *bufs);
  char *used = calloc((size_t)nv + 1, 1);
  if (!bufs || !used) {
    free(bufs);
    free(used);
    return cl_error_set(err, CL_ERR_NOMEM, "out of memory planning the arena");
  }
  for (int v = 0; v < nv; v++) {
    bufs[v].first = g->n_nodes + 1;
    bufs[v].last = -2;
  }
  for (int v = 0; v < nv; v++) {
    const cl_value *val = &g->values[v];
    if (val->is_const) continue;
    cl_arena_buf *b = &bufs[root[v]];
    /* Graph inputs live through the whole run: a repeated run (or a local fallback) reads them again. */
    if (val->is_input) extend(b, -1), extend(b, g->n_nodes), used[root[v]] = 1;
    if (val->is_output) extend(b, g->n_nodes), used[root[v]] = 1;
    if (val->producer >= 0) extend(b, val->producer), used[root[v]] = 1;
  }
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; j < g->nodes[i].n_in; j++) {
      int v = g->nodes[i].in[j];
      if (v >= 0 && !g->values[v].is_const) extend(&bufs[root[v]], i), used[root[v]] = 1;
    }
  /* Compact to the used roots, plan, and scatter offsets back. */
  int m = 0;
  int *ids = malloc((size_t)nv * sizeof *ids + 1);
  cl_arena_buf *packed = malloc((size_t)nv * sizeof *packed + 1);
  cl_status s = CL_OK;
  if (!ids || !packed) s = cl_error_set(err, CL_ERR_NOMEM, "out of memory planning the arena");
  for (int v = 0; s == CL_OK && v < nv; v++)
    if (used[v] && root[v] == v) {
      bufs[v].size = g->values[v].nbytes;
      packed[m] = bufs[v];
      ids[m++] = v;
    }
  if (s == CL_OK) s = cl_arena_plan(packed, m, &ex->arena_bytes, err);
  if (s == CL_OK) {
    ex->arena = aligned_alloc(64, ex->arena_bytes + 64);
    if (!ex->arena) s = cl_error_set(err, CL_ERR_NOMEM, "out of memory for a %zu-byte arena", ex->arena_bytes);
    else memset(ex->arena, 0, ex->arena_bytes + 64);
  }
  for (int k = 0; s == CL_OK && k < m; k++) ex->ptr[ids[k]] = ex->arena + packed[k].offset;
  for (int v = 0; s == CL_OK && v < nv; v++) {
    if (g->values[v].is_const) ex->ptr[v] = g->values[v].data;
    else if (root[v] != v) ex->ptr[v] = ex->ptr[root[v]];
  }
  free(ids);
  free(packed);
  free(bufs);
  free(used);
  return s;
}

/* === Life cycle === */

cl_status cl_exec_create(const cl_model_t *m, const cl_exec_options *opt, cl_exec_t **out,
                         cl_error *err) {
  *out = NULL;
  const cl_graph *g = cl_model_graph(m);
  int threads = opt && opt->threads > 0 ? opt->threads : 1;
  cl_exec_t *ex = calloc(1, sizeof *ex);
  int *root = malloc(((size_t)g->n_values + 1) * sizeof *root);
  cl_status s = CL_OK;
  if (ex) {
    ex->g = g;
    ex->profile = opt ? opt->profile : 0;
    ex->ptr = calloc((size_t)g->n_values + 1, sizeof *ex->ptr);
    ex->state = calloc((size_t)g->n_nodes + 1, sizeof *ex->state);
    ex->is_view = calloc((size_t)g->n_nodes + 1, 1);
    ex->node_ns = calloc((size_t)g->n_nodes + 1, sizeof *ex->node_ns);
  }
  if (!ex || !root || !ex->ptr || !ex->state || !ex->is_view || !ex->node_ns)
    s = cl_error_set(err, CL_ERR_NOMEM, "out of memory creating an executor");
  if (s == CL_OK && threads > 1) {
    ex->pool = pthreadpool_create((size_t)threads);
    if (!ex->pool) s = cl_error_set(err, CL_ERR_NOMEM, "cannot create %d threads", threads);
  }
  if (s == CL_OK) s = cl_xnn_init(err);
  if (s == CL_OK) {
    find_roots(ex, root);
    s = plan_arena(ex, root, err);
  }
  cl_kernel_ctx k = {ex ? ex->pool : NULL, ex ? ex->ptr : NULL};
  for (int i = 0; s == CL_OK && i < g->n_nodes; i++) {
    const cl_node *n = &g->nodes[i];
    if (!ex->is_view[i] && n->op->prepare) s = n->op->prepare(g, n, &k, &ex->state[i], err);
  }
  free(root);
  if (s != CL_OK) {
    cl_exec_free(&ex);
    return s;
  }
  *out = ex;
  return CL_OK;
}

void cl_exec_free(cl_exec_t **pex) {
  if (!pex || !*pex) return;
  cl_exec_t *ex = *pex;
  if (ex->state)
    for (int i = 0; i < ex->g->n_nodes; i++)
      if (ex->g->nodes[i].op->release) ex->g->nodes[i].op->release(ex->state[i]);
  if (ex->pool) pthreadpool_destroy(ex->pool);
  free(ex->state);
  free(ex->ptr);
  free(ex->is_view);
  free(ex->node_ns);
  free(ex->arena);
  free(ex);
  *pex = NULL;
}

/* === Running === */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

cl_status cl_exec_run(cl_exec_t *ex, int begin, int end, cl_error *err) {
  const cl_graph *g = ex->g;
  if (begin < 0 || end > g->n_nodes || begin > end)
    return cl_error_set(err, CL_ERR_ARG, "node range [%d, %d) is outside [0, %d]", begin, end, g->n_nodes);
  cl_kernel_ctx k = {ex->pool, ex->ptr};
  for (int i = begin; i < end; i++) {
    if (ex->is_view[i]) continue;
    const cl_node *n = &g->nodes[i];
    uint64_t t0 = ex->profile ? now_ns() : 0;
    cl_status s = n->op->run(g, n, ex->state[i], &k);
    if (s != CL_OK) return cl_node_error(err, n, s, "failed at run time");
    if (ex->profile) ex->node_ns[i] = now_ns() - t0;
  }
  return CL_OK;
}

/* === Data in and out === */

void *cl_exec_buffer(cl_exec_t *ex, int value, size_t *nbytes) {
  if (nbytes) *nbytes = ex->g->values[value].nbytes;
  return ex->ptr[value];
}

cl_status cl_exec_set_input(cl_exec_t *ex, int i, const cl_tensor *t, cl_error *err) {
  const cl_graph *g = ex->g;
  if (i < 0 || i >= g->n_inputs)
    return cl_error_set(err, CL_ERR_ARG, "input %d does not exist (the model has %d)", i, g->n_inputs);
  const cl_value *v = &g->values[g->inputs[i]];
  int same = t->dtype == v->dtype && t->rank == v->rank && t->nbytes == v->nbytes;
  for (int d = 0; same && d < v->rank; d++) same = t->dims[d] == v->dims[d];
  if (!same) {
    char want[160], got[160];
    return cl_error_set(err, CL_ERR_SHAPE, "input '%s' must be %s %s, not %s %s", v->name,
                        cl_dtype_name(v->dtype), cl_shape_str(v->rank, v->dims, want, sizeof want),
                        cl_dtype_name(t->dtype), cl_shape_str(t->rank, t->dims, got, sizeof got));
  }
  if (v->is_const) /* an integer input bound by value at load time */
    return v->nbytes && memcmp(v->data, t->data, v->nbytes) != 0
               ? cl_error_set(err, CL_ERR_SHAPE,
                              "input '%s' was bound to other values when the model was loaded", v->name)
               : CL_OK;
  if (v->nbytes) memcpy(ex->ptr[g->inputs[i]], t->data, v->nbytes);
  return CL_OK;
}

void cl_exec_output(cl_exec_t *ex, int i, cl_tensor *view) {
  const cl_value *v = &ex->g->values[ex->g->outputs[i]];
  memset(view, 0, sizeof *view);
  view->name = v->name;
  view->dtype = v->dtype;
  view->rank = v->rank;
  memcpy(view->dims, v->dims, sizeof view->dims);
  view->data = ex->ptr[ex->g->outputs[i]];
  view->nbytes = v->nbytes;
}

const uint64_t *cl_exec_node_ns(const cl_exec_t *ex) { return ex->node_ns; }
size_t cl_exec_arena_bytes(const cl_exec_t *ex) { return ex->arena_bytes; }
