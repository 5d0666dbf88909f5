/* cleave tests: the single-operator harness (see op_harness.h). One graph at a time per process. */
#include "op_harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/layout_convert.h"

#define H_MAX_VALUES 256
static void *plain[H_MAX_VALUES]; /* PLAIN data per value (inputs given, outputs after h_run) */

static void reset(void) {
  for (int i = 0; i < H_MAX_VALUES; i++) {
    free(plain[i]);
    plain[i] = NULL;
  }
}

cl_graph *h_graph(int opset) {
  reset();
  cl_graph *g = cl_graph_new();
  g->opset = opset;
  return g;
}

void h_free(cl_graph **g) {
  reset();
  cl_graph_free(g);
}

static void *copy_bytes(const void *src, size_t n) {
  void *p = aligned_alloc(64, (n + 63) / 64 * 64 + 64);
  memset(p, 0, (n + 63) / 64 * 64 + 64);
  if (src && n) memcpy(p, src, n);
  return p;
}

static int add_value(cl_graph *g, const char *name, cl_dtype dtype, int rank, const int64_t *dims) {
  cl_error err = {0};
  int id = cl_graph_add_value(g, name, &err);
  if (id < 0 || id >= H_MAX_VALUES) {
    fprintf(stderr, "h_value: %s\n", err.msg);
    abort();
  }
  if (rank >= 0 && cl_value_set_shape(&g->values[id], dtype, rank, dims, &err) != CL_OK) {
    fprintf(stderr, "h_value: %s\n", err.msg);
    abort();
  }
  return id;
}

int h_value(cl_graph *g, const char *name, cl_dtype dtype, int rank, const int64_t *dims,
            const void *data) {
  int id = add_value(g, name, dtype, rank, dims);
  if (data) {
    plain[id] = copy_bytes(data, g->values[id].nbytes);
    g->values[id].is_input = 1;
  }
  return id;
}

int h_const(cl_graph *g, const char *name, cl_dtype dtype, int rank, const int64_t *dims,
            const void *data) {
  int id = add_value(g, name, dtype, rank, dims);
  cl_value_set_const(&g->values[id], copy_bytes(data, g->values[id].nbytes), 1);
  return id;
}

int h_node(cl_graph *g, const char *op_type, const int *in, int n_in, const int *out, int n_out) {
  cl_error err = {0};
  char name[64];
  snprintf(name, sizeof name, "%s_%d", op_type, g->n_nodes);
  int id = cl_graph_add_node(g, name, op_type, "", in, n_in, out, n_out, &err);
  if (id < 0) {
    fprintf(stderr, "h_node: %s\n", err.msg);
    abort();
  }
  for (int i = 0; i < n_out; i++)
    if (out[i] >= 0) g->values[out[i]].producer = id;
  return id;
}

static void add_attr(cl_graph *g, int node, cl_attr *a) {
  cl_error err = {0};
  if (cl_node_add_attr(&g->nodes[node], a, &err) != CL_OK) {
    fprintf(stderr, "h_attr: %s\n", err.msg);
    abort();
  }
}

void h_attr_int(cl_graph *g, int node, const char *name, int64_t v) {
  cl_attr a = {.name = (char *)name, .type = CL_ATTR_INT, .i = v};
  add_attr(g, node, &a);
}

void h_attr_float(cl_graph *g, int node, const char *name, float v) {
  cl_attr a = {.name = (char *)name, .type = CL_ATTR_FLOAT, .f = v};
  add_attr(g, node, &a);
}

void h_attr_string(cl_graph *g, int node, const char *name, const char *s) {
  cl_attr a = {.name = (char *)name, .type = CL_ATTR_STRING, .s = (char *)s, .s_len = strlen(s)};
  add_attr(g, node, &a);
}

void h_attr_ints(cl_graph *g, int node, const char *name, int n, const int64_t *v) {
  cl_attr a = {.name = (char *)name, .type = CL_ATTR_INTS, .ints = (int64_t *)v, .n = n};
  add_attr(g, node, &a);
}

void h_attr_floats(cl_graph *g, int node, const char *name, int n, const float *v) {
  cl_attr a = {.name = (char *)name, .type = CL_ATTR_FLOATS, .floats = (float *)v, .n = n};
  add_attr(g, node, &a);
}

/* Whether value v (an input or output of node n) may be channels-last under the op's policy. */
static int may_be_cl(const cl_graph *g, const cl_node *n, int v, int is_output) {
  const cl_value *val = &g->values[v];
  if (val->is_const || val->rank < 3) return 0;
  switch (n->op->policy) {
  case CL_POLICY_SPATIAL: return is_output || v == n->in[0];
  case CL_POLICY_FOLLOW: return 1;
  case CL_POLICY_PRESERVE: {
    const cl_value *in0 = cl_node_input(g, n, 0);
    const cl_value *out0 = cl_node_output(g, n, 0);
    return in0 && out0 && in0->rank == out0->rank;
  }
  case CL_POLICY_ANY_IN: return !is_output;
  case CL_POLICY_PLAIN: return 0;
  }
  return 0;
}

cl_status h_run(cl_graph *g, int node, cl_layout layout, int threads, cl_error *err) {
  cl_node *n = &g->nodes[node];
  n->opset = g->opset;
  n->op = cl_op_find(n->op_type, n->domain);
  if (!n->op) return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "unknown operator");
  cl_status s = cl_xnn_init(err);
  if (s == CL_OK) s = n->op->parse ? n->op->parse(g, n, err) : CL_OK;
  if (s == CL_OK) s = n->op->infer(g, n, err);
  if (s != CL_OK) return s;
  for (int i = 0; i < n->n_out; i++)
    if (n->out[i] >= 0 && g->values[n->out[i]].is_const) { /* infer made it constant */
      cl_value *v = &g->values[n->out[i]];
      plain[n->out[i]] = copy_bytes(v->data, v->nbytes);
    }
  /* Layouts. FOLLOW ops: outputs channels-last when some input is (as the layout pass does). */
  if (layout == CL_LAYOUT_CHANNELS_LAST) {
    int any_in = 0;
    for (int i = 0; i < n->n_in; i++)
      if (n->in[i] >= 0 && may_be_cl(g, n, n->in[i], 0)) {
        g->values[n->in[i]].layout = CL_LAYOUT_CHANNELS_LAST;
        any_in = 1;
      }
    for (int i = 0; i < n->n_out; i++) {
      int v = n->out[i];
      if (v < 0 || !may_be_cl(g, n, v, 1)) continue;
      if (n->op->policy == CL_POLICY_FOLLOW && !any_in) continue;
      g->values[v].layout = CL_LAYOUT_CHANNELS_LAST;
    }
  }
  /* Storage in physical layout. */
  void **ptr = calloc((size_t)g->n_values, sizeof *ptr);
  for (int v = 0; v < g->n_values; v++) {
    cl_value *val = &g->values[v];
    if (val->is_const) {
      ptr[v] = val->data;
      continue;
    }
    if (val->rank < 0) continue;
    ptr[v] = copy_bytes(NULL, val->nbytes);
    if (plain[v]) {
      if (val->layout == CL_LAYOUT_CHANNELS_LAST)
        cl_layout_to_channels_last(plain[v], ptr[v], val->rank, val->dims, cl_dtype_size(val->dtype),
                                   NULL);
      else memcpy(ptr[v], plain[v], val->nbytes);
    }
  }
  pthreadpool_t pool = threads > 1 ? pthreadpool_create((size_t)threads) : NULL;
  cl_kernel_ctx k = {pool, ptr};
  void *state = NULL;
  int viewed = n->op->is_view && n->op->is_view(g, n);
  if (viewed) {
    free(ptr[n->out[0]]);
    ptr[n->out[0]] = ptr[n->in[0]];
  }
  s = n->op->prepare ? n->op->prepare(g, n, &k, &state, err) : CL_OK;
  if (s == CL_OK && !viewed) s = n->op->run(g, n, state, &k);
  if (n->op->release) n->op->release(state);
  if (s == CL_OK)
    for (int i = 0; i < n->n_out; i++) {
      int v = n->out[i];
      if (v < 0 || g->values[v].is_const) continue;
      cl_value *val = &g->values[v];
      free(plain[v]);
      plain[v] = copy_bytes(NULL, val->nbytes);
      if (val->layout == CL_LAYOUT_CHANNELS_LAST)
        cl_layout_to_plain(ptr[v], plain[v], val->rank, val->dims, cl_dtype_size(val->dtype), NULL);
      else memcpy(plain[v], ptr[v], val->nbytes);
    }
  if (pool) pthreadpool_destroy(pool);
  for (int v = 0; v < g->n_values; v++) {
    if (g->values[v].is_const) continue;
    if (viewed && v == n->out[0]) continue;
    free(ptr[v]);
  }
  free(ptr);
  return s;
}

const void *h_data(const cl_graph *g, int value) {
  if (g->values[value].is_const && !plain[value]) return g->values[value].data;
  return plain[value];
}

float h_max_abs_diff(const float *a, const float *b, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; i++) {
    float d = fabsf(a[i] - b[i]);
    if (d > m || isnan(d)) m = isnan(d) ? INFINITY : d;
  }
  return m;
}

int h_allclose(const float *a, const float *b, size_t n, float rtol, float atol) {
  for (size_t i = 0; i < n; i++) {
    float d = fabsf(a[i] - b[i]);
    if (!(d <= atol + rtol * fabsf(b[i])) && !(isnan(a[i]) && isnan(b[i])) &&
        !(isinf(a[i]) && a[i] == b[i])) {
      fprintf(stderr, "mismatch at %zu: %.9g vs expected %.9g\n", i, a[i], b[i]);
      return 0;
    }
  }
  return 1;
}
