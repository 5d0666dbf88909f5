/* cleave: the graph IR: construction, attribute access, node helpers. */
#include "model/graph.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "exec/op.h"
#include "util/strmap.h"

/* === Construction === */

cl_graph *cl_graph_new(void) {
  cl_graph *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  g->names = cl_strmap_new();
  if (!g->names) {
    free(g);
    return NULL;
  }
  g->opset = 13;
  return g;
}

void cl_attr_release(cl_attr *a) {
  if (!a) return;
  free(a->name);
  free(a->s);
  free(a->floats);
  free(a->ints);
  cl_tensor_release(&a->t);
  memset(a, 0, sizeof *a);
}

void cl_node_release(cl_node *n) {
  if (n->op && n->op->free_params) n->op->free_params(n->params);
  else free(n->params);
  for (int i = 0; i < n->n_attrs; i++) cl_attr_release(&n->attrs[i]);
  free(n->attrs);
  free(n->name);
  free(n->op_type);
  free(n->domain);
  free(n->in);
  free(n->out);
  memset(n, 0, sizeof *n);
}

void cl_graph_free(cl_graph **pg) {
  if (!pg || !*pg) return;
  cl_graph *g = *pg;
  for (int i = 0; i < g->n_nodes; i++) cl_node_release(&g->nodes[i]);
  for (int i = 0; i < g->n_values; i++) {
    free(g->values[i].name);
    if (g->values[i].data_owned) free(g->values[i].data);
  }
  free(g->nodes);
  free(g->values);
  free(g->inputs);
  free(g->outputs);
  cl_strmap_free(&g->names);
  if (g->map) munmap(g->map, g->map_len);
  free(g->buf_owned);
  free(g);
  *pg = NULL;
}

int cl_graph_add_value(cl_graph *g, const char *name, cl_error *err) {
  if (cl_strmap_get(g->names, name) >= 0) {
    cl_error_set(err, CL_ERR_FORMAT, "tensor name '%s' is defined twice", name);
    return -1;
  }
  if (g->n_values >= CL_MAX_VALUES) {
    cl_error_set(err, CL_ERR_LIMIT, "more than %d tensors", CL_MAX_VALUES);
    return -1;
  }
  if (g->n_values == g->cap_values) {
    int cap = g->cap_values ? g->cap_values * 2 : 256;
    cl_value *v = realloc(g->values, (size_t)cap * sizeof *v);
    if (!v) goto nomem;
    g->values = v;
    g->cap_values = cap;
  }
  cl_value *v = &g->values[g->n_values];
  memset(v, 0, sizeof *v);
  v->name = strdup(name);
  if (!v->name) goto nomem;
  v->rank = -1;
  v->producer = -1;
  if (cl_strmap_put(g->names, name, g->n_values) != 0) {
    free(v->name);
    goto nomem;
  }
  return g->n_values++;
nomem:
  cl_error_set(err, CL_ERR_NOMEM, "out of memory adding tensor '%s'", name);
  return -1;
}

int cl_graph_find_value(const cl_graph *g, const char *name) { return cl_strmap_get(g->names, name); }

void cl_graph_unique_name(const cl_graph *g, const char *base, char *buf, size_t cap) {
  for (int k = g->n_values + g->n_nodes;; k++) {
    snprintf(buf, cap, "%s:%d", base, k);
    if (cl_strmap_get(g->names, buf) < 0) return;
  }
}

cl_status cl_value_set_shape(cl_value *v, cl_dtype dtype, int rank, const int64_t *dims,
                             cl_error *err) {
  size_t numel, es = cl_dtype_size(dtype);
  if (es == 0)
    return cl_error_set(err, CL_ERR_UNSUPPORTED, "tensor '%s': type %s is not supported", v->name,
                        cl_dtype_name(dtype));
  cl_error tmp = {0};
  if (cl_shape_numel(rank, dims, es, &numel, &tmp) != CL_OK)
    return cl_error_set(err, tmp.status, "tensor '%s': %s", v->name, tmp.msg);
  int64_t copy[CL_MAX_RANK] = {0};
  if (rank > 0) memcpy(copy, dims, (size_t)rank * sizeof *dims); /* dims may be v->dims */
  v->dtype = dtype;
  v->rank = rank;
  memcpy(v->dims, copy, sizeof v->dims);
  v->nbytes = numel * es;
  return CL_OK;
}

void cl_value_set_const(cl_value *v, void *data, int own) {
  if (v->data_owned && v->data != data) free(v->data);
  v->data = data;
  v->data_owned = own;
  v->is_const = 1;
  v->layout = CL_LAYOUT_PLAIN;
}

void *cl_value_alloc_const(cl_value *v, cl_error *err) {
  size_t alloc = (v->nbytes + 63) / 64 * 64 + 64;
  void *p = aligned_alloc(64, alloc);
  if (!p) {
    cl_error_set(err, CL_ERR_NOMEM, "out of memory for constant '%s' (%zu bytes)", v->name, v->nbytes);
    return NULL;
  }
  memset(p, 0, alloc);
  cl_value_set_const(v, p, 1);
  return p;
}

static int *dup_ints(const int *a, int n) {
  int *r = malloc((size_t)(n > 0 ? n : 1) * sizeof *r);
  if (r && n > 0) memcpy(r, a, (size_t)n * sizeof *r);
  return r;
}

int cl_graph_add_node(cl_graph *g, const char *name, const char *op_type, const char *domain,
                      const int *in, int n_in, const int *out, int n_out, cl_error *err) {
  if (g->n_nodes >= CL_MAX_NODES) {
    cl_error_set(err, CL_ERR_LIMIT, "more than %d nodes", CL_MAX_NODES);
    return -1;
  }
  if (n_in < 0 || n_in > CL_MAX_NODE_IO || n_out < 0 || n_out > CL_MAX_NODE_IO) {
    cl_error_set(err, CL_ERR_LIMIT, "node '%s' has %d inputs and %d outputs", name, n_in, n_out);
    return -1;
  }
  if (g->n_nodes == g->cap_nodes) {
    int cap = g->cap_nodes ? g->cap_nodes * 2 : 128;
    cl_node *nn = realloc(g->nodes, (size_t)cap * sizeof *nn);
    if (!nn) goto nomem;
    g->nodes = nn;
    g->cap_nodes = cap;
  }
  cl_node *n = &g->nodes[g->n_nodes];
  memset(n, 0, sizeof *n);
  n->name = strdup(name);
  n->op_type = strdup(op_type);
  n->domain = strdup(domain ? domain : "");
  n->in = dup_ints(in, n_in);
  n->out = dup_ints(out, n_out);
  n->n_in = n_in;
  n->n_out = n_out;
  n->opset = g->opset;
  n->act_min = -INFINITY;
  n->act_max = INFINITY;
  if (!n->name || !n->op_type || !n->domain || !n->in || !n->out) {
    cl_node_release(n);
    goto nomem;
  }
  return g->n_nodes++;
nomem:
  cl_error_set(err, CL_ERR_NOMEM, "out of memory adding node '%s'", name);
  return -1;
}

cl_status cl_node_add_attr(cl_node *n, const cl_attr *src, cl_error *err) {
  cl_attr *na = realloc(n->attrs, (size_t)(n->n_attrs + 1) * sizeof *na);
  if (!na) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  n->attrs = na;
  cl_attr *a = &na[n->n_attrs];
  *a = *src;
  a->name = NULL;
  a->s = NULL;
  a->floats = NULL;
  a->ints = NULL;
  memset(&a->t, 0, sizeof a->t);
  a->name = strdup(src->name ? src->name : "");
  int ok = a->name != NULL;
  if (ok && src->s) {
    a->s = malloc(src->s_len + 1);
    ok = a->s != NULL;
    if (ok) {
      memcpy(a->s, src->s, src->s_len);
      a->s[src->s_len] = '\0';
    }
  }
  if (ok && src->floats && src->n > 0) {
    a->floats = malloc((size_t)src->n * sizeof(float));
    ok = a->floats != NULL;
    if (ok) memcpy(a->floats, src->floats, (size_t)src->n * sizeof(float));
  }
  if (ok && src->ints && src->n > 0) {
    a->ints = malloc((size_t)src->n * sizeof(int64_t));
    ok = a->ints != NULL;
    if (ok) memcpy(a->ints, src->ints, (size_t)src->n * sizeof(int64_t));
  }
  if (ok && src->type == CL_ATTR_TENSOR) {
    a->t = src->t;
    a->t.name = src->t.name ? strdup(src->t.name) : NULL;
    if (src->t.owns_data && src->t.data) {
      a->t.data = malloc(src->t.nbytes ? src->t.nbytes : 1);
      ok = a->t.data != NULL;
      if (ok) memcpy(a->t.data, src->t.data, src->t.nbytes);
      else a->t.owns_data = 0;
    }
  }
  if (!ok) {
    cl_attr_release(a);
    return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  }
  n->n_attrs++;
  return CL_OK;
}

/* === Attribute access === */

const cl_attr *cl_node_attr(const cl_node *n, const char *name) {
  for (int i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
  return NULL;
}

int64_t cl_node_attr_int(const cl_node *n, const char *name, int64_t def) {
  const cl_attr *a = cl_node_attr(n, name);
  return a && a->type == CL_ATTR_INT ? a->i : def;
}

float cl_node_attr_float(const cl_node *n, const char *name, float def) {
  const cl_attr *a = cl_node_attr(n, name);
  return a && a->type == CL_ATTR_FLOAT ? a->f : def;
}

const char *cl_node_attr_string(const cl_node *n, const char *name) {
  const cl_attr *a = cl_node_attr(n, name);
  return a && a->type == CL_ATTR_STRING ? (a->s ? a->s : "") : NULL;
}

int cl_node_attr_ints(const cl_node *n, const char *name, const int64_t **v) {
  const cl_attr *a = cl_node_attr(n, name);
  if (!a || a->type != CL_ATTR_INTS) {
    *v = NULL;
    return 0;
  }
  *v = a->ints;
  return a->n;
}

int cl_node_attr_floats(const cl_node *n, const char *name, const float **v) {
  const cl_attr *a = cl_node_attr(n, name);
  if (!a || a->type != CL_ATTR_FLOATS) {
    *v = NULL;
    return 0;
  }
  *v = a->floats;
  return a->n;
}

/* === Node helpers === */

cl_value *cl_node_input(const cl_graph *g, const cl_node *n, int i) {
  if (i < 0 || i >= n->n_in || n->in[i] < 0) return NULL;
  return &g->values[n->in[i]];
}

cl_value *cl_node_output(const cl_graph *g, const cl_node *n, int i) {
  if (i < 0 || i >= n->n_out || n->out[i] < 0) return NULL;
  return &g->values[n->out[i]];
}

int cl_node_input_count(const cl_node *n) {
  int k = n->n_in;
  while (k > 0 && n->in[k - 1] < 0) k--;
  return k;
}

cl_status cl_node_error(cl_error *err, const cl_node *n, cl_status s, const char *fmt, ...) {
  if (err == NULL || err->status != CL_OK) return s;
  char msg[CL_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return cl_error_set(err, s, "node '%.100s' (%.40s): %s", n->name, n->op_type, msg);
}

cl_status cl_node_axis(const cl_node *n, int64_t axis, int rank, int *out, cl_error *err) {
  if (axis < -rank || axis >= rank || rank == 0)
    return cl_node_error(err, n, CL_ERR_SHAPE, "axis %lld out of range for rank %d", (long long)axis,
                         rank);
  *out = (int)(axis < 0 ? axis + rank : axis);
  return CL_OK;
}

static cl_status const_input(const cl_graph *g, const cl_node *n, int i, const cl_value **out,
                             int *count, cl_error *err) {
  const cl_value *v = cl_node_input(g, n, i);
  *out = NULL;
  *count = -1;
  if (!v) return CL_OK;
  if (!v->is_const)
    return cl_node_error(err, n, CL_ERR_UNSUPPORTED, "input %d ('%s') must be constant", i, v->name);
  if (v->rank > 1)
    return cl_node_error(err, n, CL_ERR_SHAPE, "input %d ('%s') must be a scalar or 1-D", i, v->name);
  *count = v->rank == 0 ? 1 : (int)v->dims[0];
  *out = v;
  return CL_OK;
}

cl_status cl_node_const_ints(const cl_graph *g, const cl_node *n, int i, int64_t **vals, int *count,
                             cl_error *err) {
  const cl_value *v;
  *vals = NULL;
  cl_status s = const_input(g, n, i, &v, count, err);
  if (s != CL_OK || !v) return s;
  if (v->dtype != CL_DTYPE_I64 && v->dtype != CL_DTYPE_I32)
    return cl_node_error(err, n, CL_ERR_SHAPE, "input %d ('%s') must be int64 or int32, not %s", i,
                         v->name, cl_dtype_name(v->dtype));
  int64_t *r = malloc((size_t)(*count > 0 ? *count : 1) * sizeof *r);
  if (!r) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  for (int k = 0; k < *count; k++)
    r[k] = v->dtype == CL_DTYPE_I64 ? ((const int64_t *)v->data)[k] : ((const int32_t *)v->data)[k];
  *vals = r;
  return CL_OK;
}

cl_status cl_node_const_floats(const cl_graph *g, const cl_node *n, int i, float **vals, int *count,
                               cl_error *err) {
  const cl_value *v;
  *vals = NULL;
  cl_status s = const_input(g, n, i, &v, count, err);
  if (s != CL_OK || !v) return s;
  if (v->dtype != CL_DTYPE_F32 && v->dtype != CL_DTYPE_F64)
    return cl_node_error(err, n, CL_ERR_SHAPE, "input %d ('%s') must be float or double, not %s", i,
                         v->name, cl_dtype_name(v->dtype));
  float *r = malloc((size_t)(*count > 0 ? *count : 1) * sizeof *r);
  if (!r) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  for (int k = 0; k < *count; k++)
    r[k] = v->dtype == CL_DTYPE_F32 ? ((const float *)v->data)[k] : (float)((const double *)v->data)[k];
  *vals = r;
  return CL_OK;
}

/* === Layout helpers === */

int cl_value_logical_axis(const cl_value *v, int p) {
  if (v->layout != CL_LAYOUT_CHANNELS_LAST || v->rank < 3) return p;
  if (p == 0) return 0;
  if (p == v->rank - 1) return 1;
  return p + 1;
}

int cl_value_phys_axis(const cl_value *v, int axis) {
  if (v->layout != CL_LAYOUT_CHANNELS_LAST || v->rank < 3) return axis;
  if (axis == 0) return 0;
  if (axis == 1) return v->rank - 1;
  return axis - 1;
}

void cl_value_phys_dims(const cl_value *v, int64_t *dims) {
  for (int p = 0; p < v->rank; p++) dims[p] = v->dims[cl_value_logical_axis(v, p)];
}

void cl_view_broadcast(const cl_value *in, const cl_value *out, cl_view *view) {
  /* Logical strides of `in`, right-aligned to out's rank (0 where broadcast). */
  int64_t lstride[CL_MAX_RANK] = {0};
  int64_t phys[CL_MAX_RANK];
  cl_value_phys_dims(in, phys);
  int64_t pstride[CL_MAX_RANK];
  int64_t s = 1;
  for (int p = in->rank - 1; p >= 0; p--) {
    pstride[p] = s;
    s *= phys[p];
  }
  int off = out->rank - in->rank;
  for (int a = 0; a < in->rank; a++) {
    int p = cl_value_phys_axis(in, a);
    lstride[a + off] = in->dims[a] == 1 ? 0 : pstride[p];
  }
  view->rank = out->rank;
  for (int p = 0; p < out->rank; p++) {
    int a = cl_value_logical_axis(out, p);
    view->dims[p] = out->dims[a];
    view->strides[p] = lstride[a];
  }
}

cl_status cl_shape_broadcast(int ra, const int64_t *a, int rb, const int64_t *b, int *rank_out,
                             int64_t *out, cl_error *err) {
  int r = ra > rb ? ra : rb;
  for (int i = 0; i < r; i++) {
    int64_t da = i < r - ra ? 1 : a[i - (r - ra)];
    int64_t db = i < r - rb ? 1 : b[i - (r - rb)];
    if (da != db && da != 1 && db != 1) {
      char sa[128], sb[128];
      return cl_error_set(err, CL_ERR_SHAPE, "shapes %s and %s do not broadcast",
                          cl_shape_str(ra, a, sa, sizeof sa), cl_shape_str(rb, b, sb, sizeof sb));
    }
    out[i] = da == 1 ? db : da;
  }
  *rank_out = r;
  return CL_OK;
}
