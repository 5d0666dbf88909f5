/* cleave: ONNX NodeProto and AttributeProto decoding; Constant nodes become constant values. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/onnx_internal.h"

/* === Decoded messages === */

typedef struct node_msg {
  onnx_NodeProto pb;
  onnx_str name, op_type, domain;
  onnx_spans inputs, outputs, attrs;
} node_msg;

/* A node's strings, checked and NUL-terminated. */
typedef struct node_names {
  char name[CL_ONNX_MAX_NAME + 32];   /* room for "<op_type>_<index>" */
  char op[CL_ONNX_MAX_NAME + 1];
  char domain[CL_ONNX_MAX_NAME + 1];
  int is_default;                     /* domain "" or "ai.onnx" */
} node_names;

typedef struct attr_msg {
  onnx_AttributeProto pb;   /* static fields: type, f, i */
  onnx_str name, s, t;
  onnx_nums floats, ints;
  onnx_spans strings;
  int n_graph, n_graphs, n_tensors, n_sparse, n_types;
  char cname[CL_ONNX_MAX_NAME + 1];
} attr_msg;

static cl_status node_parse(const onnx_src *src, const uint8_t *p, size_t n, node_msg *m) {
  memset(m, 0, sizeof *m);
  m->name.src = m->op_type.src = m->domain.src = src;
  onnx_spans_init(&m->inputs, src, CL_MAX_NODE_IO);
  onnx_spans_init(&m->outputs, src, CL_MAX_NODE_IO);
  onnx_spans_init(&m->attrs, src, CL_ONNX_MAX_ATTRS);
  onnx_bind(&m->pb.name, onnx_cb_str, &m->name);
  onnx_bind(&m->pb.op_type, onnx_cb_str, &m->op_type);
  onnx_bind(&m->pb.domain, onnx_cb_str, &m->domain);
  onnx_bind(&m->pb.input, onnx_cb_spans, &m->inputs);
  onnx_bind(&m->pb.output, onnx_cb_spans, &m->outputs);
  onnx_bind(&m->pb.attribute, onnx_cb_spans, &m->attrs);
  return onnx_decode_msg(src, p, n, onnx_NodeProto_fields, &m->pb);
}

static void node_msg_free(node_msg *m) {
  onnx_spans_free(&m->inputs);
  onnx_spans_free(&m->outputs);
  onnx_spans_free(&m->attrs);
}

static cl_status attr_parse(const onnx_src *src, const uint8_t *p, size_t n, attr_msg *a) {
  memset(a, 0, sizeof *a);
  a->name.src = a->s.src = a->t.src = src;
  onnx_nums_init(&a->floats, src, ONNX_NUM_F32, CL_ONNX_MAX_ATTR_ELEMS);
  onnx_nums_init(&a->ints, src, ONNX_NUM_I64, CL_ONNX_MAX_ATTR_ELEMS);
  onnx_spans_init(&a->strings, src, CL_ONNX_MAX_ATTR_ELEMS);
  onnx_AttributeProto *pb = &a->pb;
  onnx_bind(&pb->name, onnx_cb_str, &a->name);
  onnx_bind(&pb->s, onnx_cb_str, &a->s);
  onnx_bind(&pb->t, onnx_cb_str, &a->t);
  onnx_bind(&pb->floats, onnx_cb_nums, &a->floats);
  onnx_bind(&pb->ints, onnx_cb_nums, &a->ints);
  onnx_bind(&pb->strings, onnx_cb_spans, &a->strings);
  onnx_bind(&pb->g, onnx_cb_count, &a->n_graph);
  onnx_bind(&pb->graphs, onnx_cb_count, &a->n_graphs);
  onnx_bind(&pb->tensors, onnx_cb_count, &a->n_tensors);
  onnx_bind(&pb->sparse_tensor, onnx_cb_count, &a->n_sparse);
  onnx_bind(&pb->sparse_tensors, onnx_cb_count, &a->n_sparse);
  onnx_bind(&pb->tp, onnx_cb_count, &a->n_types);
  onnx_bind(&pb->type_protos, onnx_cb_count, &a->n_types);
  return onnx_decode_msg(src, p, n, onnx_AttributeProto_fields, pb);
}

static void attr_msg_free(attr_msg *a) {
  onnx_nums_free(&a->floats);
  onnx_nums_free(&a->ints);
  onnx_spans_free(&a->strings);
}

/* The attribute's type; files of IR version 1 have none, so it is inferred from the field set. */
static int attr_type(const attr_msg *a) {
  if (a->pb.has_type && a->pb.type != onnx_AttributeProto_AttributeType_UNDEFINED) return a->pb.type;
  if (a->pb.has_f) return onnx_AttributeProto_AttributeType_FLOAT;
  if (a->pb.has_i) return onnx_AttributeProto_AttributeType_INT;
  if (a->s.set) return onnx_AttributeProto_AttributeType_STRING;
  if (a->t.set) return onnx_AttributeProto_AttributeType_TENSOR;
  if (a->n_graph) return onnx_AttributeProto_AttributeType_GRAPH;
  if (a->floats.n) return onnx_AttributeProto_AttributeType_FLOATS;
  if (a->ints.n) return onnx_AttributeProto_AttributeType_INTS;
  if (a->strings.n) return onnx_AttributeProto_AttributeType_STRINGS;
  if (a->n_graphs) return onnx_AttributeProto_AttributeType_GRAPHS;
  return onnx_AttributeProto_AttributeType_UNDEFINED;
}

static const char *attr_type_name(int t) {
  static const char *names[] = {"UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS",
                                "INTS", "STRINGS", "TENSORS", "GRAPHS", "SPARSE_TENSOR",
                                "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"};
  return t >= 0 && t < (int)(sizeof names / sizeof names[0]) ? names[t] : "unknown";
}

/* === Node errors === */

static cl_status node_err(onnx_reader *rd, const node_names *nn, cl_status s, const char *fmt, ...)
    CL_PRINTF(4, 5);

static cl_status node_err(onnx_reader *rd, const node_names *nn, cl_status s, const char *fmt, ...) {
  char msg[CL_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return cl_error_set(&rd->e, s, "node '%.100s' (%.40s): %s", nn->name, nn->op, msg);
}

/* === Tensors of attributes and constants === */

/* Decodes the TensorProto of attribute a into a checked message. */
static cl_status attr_tensor(onnx_reader *rd, const node_names *nn, const attr_msg *a,
                             onnx_tensor_msg *m, onnx_tensor_info *ti) {
  char what[256];
  snprintf(what, sizeof what, "node '%.100s' (%.40s): attribute '%.60s'", nn->name, nn->op, a->cname);
  cl_status s = onnx_tensor_parse(&rd->src, a->t.p, a->t.n, m);
  if (s == CL_OK) s = onnx_tensor_check(&rd->src, m, what, ti);
  return s;
}

/* A new constant value named `name` holding a shape; *vid its id. */
static cl_status new_const(onnx_reader *rd, const node_names *nn, const char *name, cl_dtype dt,
                           int rank, const int64_t *dims, int *vid) {
  if (cl_graph_find_value(rd->g, name) >= 0)
    return node_err(rd, nn, CL_ERR_FORMAT, "output '%.100s' is already defined", name);
  int id = cl_graph_add_value(rd->g, name, &rd->e);
  if (id < 0) return rd->e.status;
  cl_status s = cl_value_set_shape(&rd->g->values[id], dt, rank, dims, &rd->e);
  *vid = id;
  return s;
}

/* Constant value from a `value` TENSOR attribute: where it lies when aligned, else copied. */
static cl_status const_tensor(onnx_reader *rd, const node_names *nn, const attr_msg *a,
                              const char *out) {
  onnx_tensor_msg m;
  onnx_tensor_info ti;
  int vid = -1;
  cl_status s = attr_tensor(rd, nn, a, &m, &ti);
  if (s == CL_OK) s = new_const(rd, nn, out, ti.dtype, ti.rank, ti.dims, &vid);
  if (s == CL_OK) {
    cl_value *v = &rd->g->values[vid];
    const void *view = onnx_tensor_view(&m, &ti);
    if (view) {
      cl_value_set_const(v, (void *)view, 0);
    } else {
      void *p = cl_value_alloc_const(v, &rd->e);
      if (p) onnx_tensor_fill(&m, &ti, p);
      else s = rd->e.status;
    }
  }
  onnx_tensor_msg_free(&m);
  return s;
}

/* Constant value from value_float(s) / value_int(s): rank 0 for one, rank 1 for a list. */
static cl_status const_small(onnx_reader *rd, const node_names *nn, const char *out, cl_dtype dt,
                             int rank, const void *data, size_t n) {
  int64_t dims[1] = {(int64_t)n};
  int vid = -1;
  cl_status s = new_const(rd, nn, out, dt, rank, dims, &vid);
  if (s != CL_OK) return s;
  void *p = cl_value_alloc_const(&rd->g->values[vid], &rd->e);
  if (!p) return rd->e.status;
  if (n > 0) memcpy(p, data, n * cl_dtype_size(dt));
  return CL_OK;
}

/* === Constant nodes === */

static cl_status const_expect(onnx_reader *rd, const node_names *nn, const attr_msg *a, int want) {
  if (attr_type(a) == want) return CL_OK;
  return node_err(rd, nn, CL_ERR_FORMAT, "attribute '%.60s' has type %s, not %s", a->cname,
                  attr_type_name(attr_type(a)), attr_type_name(want));
}

/* Turns one attribute of a Constant into its value; *done is set when it was a value attribute. */
static cl_status const_attr(onnx_reader *rd, const node_names *nn, const attr_msg *a,
                            const char *out, int *done) {
  const char *nm = a->cname;
  if (!strcmp(nm, "value_string") || !strcmp(nm, "value_strings") || !strcmp(nm, "sparse_value"))
    return node_err(rd, nn, CL_ERR_UNSUPPORTED, "attribute '%s' is not supported", nm);
  int kind = !strcmp(nm, "value") ? 1 : !strcmp(nm, "value_float") ? 2 : !strcmp(nm, "value_floats") ? 3
           : !strcmp(nm, "value_int") ? 4 : !strcmp(nm, "value_ints") ? 5 : 0;
  if (kind == 0) return CL_OK;   /* not a value attribute: ignored */
  if (*done) return node_err(rd, nn, CL_ERR_FORMAT, "more than one value attribute");
  *done = 1;
  static const int types[] = {0, onnx_AttributeProto_AttributeType_TENSOR,
                              onnx_AttributeProto_AttributeType_FLOAT,
                              onnx_AttributeProto_AttributeType_FLOATS,
                              onnx_AttributeProto_AttributeType_INT,
                              onnx_AttributeProto_AttributeType_INTS};
  cl_status s = const_expect(rd, nn, a, types[kind]);
  if (s != CL_OK) return s;
  if (a->floats.overflow || a->ints.overflow)
    return node_err(rd, nn, CL_ERR_LIMIT, "attribute '%s' has more than %d entries", nm,
                    CL_ONNX_MAX_ATTR_ELEMS);
  switch (kind) {
  case 1:
    if (!a->t.set) return node_err(rd, nn, CL_ERR_FORMAT, "attribute 'value' holds no tensor");
    return const_tensor(rd, nn, a, out);
  case 2: return const_small(rd, nn, out, CL_DTYPE_F32, 0, &a->pb.f, 1);
  case 3: return const_small(rd, nn, out, CL_DTYPE_F32, 1, a->floats.v, a->floats.n);
  case 4: return const_small(rd, nn, out, CL_DTYPE_I64, 0, &a->pb.i, 1);
  default: return const_small(rd, nn, out, CL_DTYPE_I64, 1, a->ints.v, a->ints.n);
  }
}

static cl_status attr_read(onnx_reader *rd, const node_names *nn, const onnx_span *sp, attr_msg *a) {
  cl_status s = attr_parse(&rd->src, sp->p, sp->n, a);
  if (s == CL_OK)
    s = onnx_name(&rd->src, a->name.p, a->name.n, a->cname, sizeof a->cname, "attribute name");
  if (s == CL_OK && a->cname[0] == '\0')
    s = node_err(rd, nn, CL_ERR_FORMAT, "an attribute has no name");
  return s;
}

static cl_status constant_node(onnx_reader *rd, const node_names *nn, const node_msg *m) {
  char out[CL_ONNX_MAX_NAME + 1];
  if (m->inputs.n != 0 || m->outputs.n != 1 || m->outputs.v[0].n == 0)
    return node_err(rd, nn, CL_ERR_FORMAT, "a Constant needs no input and one named output");
  const onnx_span *o = &m->outputs.v[0];
  cl_status s = onnx_name(&rd->src, o->p, o->n, out, sizeof out, "output name");
  int done = 0;
  for (int i = 0; s == CL_OK && i < m->attrs.n; i++) {
    attr_msg a;
    s = attr_read(rd, nn, &m->attrs.v[i], &a);
    if (s == CL_OK) s = const_attr(rd, nn, &a, out, &done);
    attr_msg_free(&a);
  }
  if (s == CL_OK && !done) return node_err(rd, nn, CL_ERR_FORMAT, "a Constant without a value");
  return s;
}

/* === Attributes of other nodes === */

/* STRINGS: every string followed by a NUL, s_len covering all but the last NUL. */
static cl_status attr_strings(onnx_reader *rd, const node_names *nn, const attr_msg *a, cl_attr *ca) {
  size_t total = 0;
  for (int i = 0; i < a->strings.n; i++) {
    const onnx_span *sp = &a->strings.v[i];
    if (sp->n > CL_ONNX_MAX_STRING || total + sp->n + 1 > CL_ONNX_MAX_STRING)
      return node_err(rd, nn, CL_ERR_LIMIT, "attribute '%s' is longer than %d bytes", a->cname,
                      CL_ONNX_MAX_STRING);
    if (sp->n > 0 && memchr(sp->p, '\0', sp->n))
      return node_err(rd, nn, CL_ERR_FORMAT, "attribute '%s' contains a NUL byte", a->cname);
    total += sp->n + 1;
  }
  ca->n = a->strings.n;
  if (total == 0) return CL_OK;
  ca->s = malloc(total);
  if (!ca->s) return cl_error_set(&rd->e, CL_ERR_NOMEM, "out of memory");
  size_t at = 0;
  for (int i = 0; i < a->strings.n; i++) {
    if (a->strings.v[i].n > 0) memcpy(ca->s + at, a->strings.v[i].p, a->strings.v[i].n);
    at += a->strings.v[i].n;
    ca->s[at++] = '\0';
  }
  ca->s_len = total - 1;
  return CL_OK;
}

static cl_status attr_string(onnx_reader *rd, const node_names *nn, const attr_msg *a, cl_attr *ca) {
  if (a->s.n > CL_ONNX_MAX_STRING)
    return node_err(rd, nn, CL_ERR_LIMIT, "attribute '%s' is longer than %d bytes", a->cname,
                    CL_ONNX_MAX_STRING);
  if (a->s.n > 0 && memchr(a->s.p, '\0', a->s.n))
    return node_err(rd, nn, CL_ERR_FORMAT, "attribute '%s' contains a NUL byte", a->cname);
  ca->s = malloc(a->s.n + 1);
  if (!ca->s) return cl_error_set(&rd->e, CL_ERR_NOMEM, "out of memory");
  if (a->s.n > 0) memcpy(ca->s, a->s.p, a->s.n);
  ca->s[a->s.n] = '\0';
  ca->s_len = a->s.n;
  return CL_OK;
}

static cl_status attr_tensor_value(onnx_reader *rd, const node_names *nn, const attr_msg *a,
                                   cl_attr *ca) {
  onnx_tensor_msg m;
  onnx_tensor_info ti;
  if (!a->t.set) return node_err(rd, nn, CL_ERR_FORMAT, "attribute '%s' holds no tensor", a->cname);
  cl_status s = attr_tensor(rd, nn, a, &m, &ti);
  const void *view = s == CL_OK ? onnx_tensor_view(&m, &ti) : NULL;
  if (view) {
    ca->t.dtype = ti.dtype;
    ca->t.rank = ti.rank;
    memcpy(ca->t.dims, ti.dims, sizeof ti.dims);
    ca->t.data = (void *)view;
    ca->t.nbytes = ti.nbytes;
  } else if (s == CL_OK) {
    s = cl_tensor_alloc(&ca->t, NULL, ti.dtype, ti.rank, ti.dims, &rd->e);
    if (s == CL_OK) onnx_tensor_fill(&m, &ti, ca->t.data);
  }
  onnx_tensor_msg_free(&m);
  return s;
}

/* Fills ca (whose name, s and t the caller releases) from a. */
static cl_status attr_value(onnx_reader *rd, const node_names *nn, const attr_msg *a, cl_attr *ca) {
  int t = attr_type(a);
  if (a->floats.overflow || a->ints.overflow || a->strings.overflow)
    return node_err(rd, nn, CL_ERR_LIMIT, "attribute '%s' has more than %d entries", a->cname,
                    CL_ONNX_MAX_ATTR_ELEMS);
  ca->type = (cl_attr_type)t;
  switch (t) {
  case onnx_AttributeProto_AttributeType_FLOAT: ca->f = a->pb.f; return CL_OK;
  case onnx_AttributeProto_AttributeType_INT: ca->i = a->pb.i; return CL_OK;
  case onnx_AttributeProto_AttributeType_STRING: return attr_string(rd, nn, a, ca);
  case onnx_AttributeProto_AttributeType_TENSOR: return attr_tensor_value(rd, nn, a, ca);
  case onnx_AttributeProto_AttributeType_GRAPH:
  case onnx_AttributeProto_AttributeType_GRAPHS:
    ca->type = CL_ATTR_GRAPH;   /* subgraphs are not decoded: the op is refused later */
    return CL_OK;
  case onnx_AttributeProto_AttributeType_FLOATS:
    ca->floats = a->floats.v;
    ca->n = (int)a->floats.n;
    return CL_OK;
  case onnx_AttributeProto_AttributeType_INTS:
    ca->ints = a->ints.v;
    ca->n = (int)a->ints.n;
    return CL_OK;
  case onnx_AttributeProto_AttributeType_STRINGS: return attr_strings(rd, nn, a, ca);
  case onnx_AttributeProto_AttributeType_UNDEFINED:
    return node_err(rd, nn, CL_ERR_FORMAT, "attribute '%s' has no type", a->cname);
  default:
    return node_err(rd, nn, CL_ERR_UNSUPPORTED, "attribute '%s' of type %s is not supported",
                    a->cname, attr_type_name(t));
  }
}

static cl_status node_attrs(onnx_reader *rd, const node_names *nn, const node_msg *m, int idx) {
  cl_status s = CL_OK;
  for (int i = 0; s == CL_OK && i < m->attrs.n; i++) {
    attr_msg a;
    cl_attr ca;
    memset(&ca, 0, sizeof ca);
    s = attr_read(rd, nn, &m->attrs.v[i], &a);
    if (s == CL_OK) s = attr_value(rd, nn, &a, &ca);
    if (s == CL_OK) {
      ca.name = a.cname;
      s = cl_node_add_attr(&rd->g->nodes[idx], &ca, &rd->e);
    }
    /* ca borrows a's name, floats and ints; it owns s and t. */
    free(ca.s);
    cl_tensor_release(&ca.t);
    attr_msg_free(&a);
  }
  return s;
}

/* === Other nodes === */

static cl_status node_outputs(onnx_reader *rd, const node_names *nn, const node_msg *m, int *out) {
  char name[CL_ONNX_MAX_NAME + 1];
  for (int j = 0; j < m->outputs.n; j++) {
    const onnx_span *sp = &m->outputs.v[j];
    out[j] = -1;
    if (sp->n == 0) continue;   /* an omitted optional output */
    cl_status s = onnx_name(&rd->src, sp->p, sp->n, name, sizeof name, "output name");
    if (s != CL_OK) return s;
    if (cl_graph_find_value(rd->g, name) >= 0)
      return node_err(rd, nn, CL_ERR_FORMAT, "output '%.100s' is already defined", name);
    out[j] = cl_graph_add_value(rd->g, name, &rd->e);
    if (out[j] < 0) return rd->e.status;
  }
  return CL_OK;
}

static cl_status queue_inputs(onnx_reader *rd, const node_msg *m, int idx) {
  if (rd->n_pending == rd->cap_pending) {
    int cap = rd->cap_pending ? rd->cap_pending * 2 : 64;
    onnx_pending *p = realloc(rd->pending, (size_t)cap * sizeof *p);
    if (!p) return cl_error_set(&rd->e, CL_ERR_NOMEM, "out of memory");
    rd->pending = p;
    rd->cap_pending = cap;
  }
  onnx_spans *pool = &rd->in_pool;
  if (pool->cap - pool->n < m->inputs.n) {
    int cap = pool->cap ? pool->cap : 256;
    while (cap - pool->n < m->inputs.n) cap *= 2;
    onnx_span *v = realloc(pool->v, (size_t)cap * sizeof *v);
    if (!v) return cl_error_set(&rd->e, CL_ERR_NOMEM, "out of memory");
    pool->v = v;
    pool->cap = cap;
  }
  rd->pending[rd->n_pending++] = (onnx_pending){.node = idx, .first = pool->n, .count = m->inputs.n};
  if (m->inputs.n > 0) memcpy(pool->v + pool->n, m->inputs.v, (size_t)m->inputs.n * sizeof *pool->v);
  pool->n += m->inputs.n;
  return CL_OK;
}

static cl_status regular_node(onnx_reader *rd, const node_names *nn, const node_msg *m, int opset) {
  int n_in = m->inputs.n, n_out = m->outputs.n;
  int *io = malloc((size_t)(n_in + n_out + 1) * sizeof *io);
  if (!io) return cl_error_set(&rd->e, CL_ERR_NOMEM, "out of memory");
  for (int j = 0; j < n_in; j++) io[j] = -1;   /* resolved once every value exists */
  cl_status s = node_outputs(rd, nn, m, io + n_in);
  int idx = -1;
  if (s == CL_OK) {
    idx = cl_graph_add_node(rd->g, nn->name, nn->op, nn->is_default ? "" : nn->domain, io, n_in,
                            io + n_in, n_out, &rd->e);
    if (idx < 0) s = rd->e.status;
  }
  if (s == CL_OK) {
    rd->g->nodes[idx].opset = opset;
    for (int j = 0; j < n_out; j++)
      if (io[n_in + j] >= 0) rd->g->values[io[n_in + j]].producer = idx;
    s = queue_inputs(rd, m, idx);
  }
  free(io);
  if (s == CL_OK) s = node_attrs(rd, nn, m, idx);
  return s;
}

/* === Entry === */

static cl_status node_strings(onnx_reader *rd, const node_msg *m, int index, node_names *nn) {
  cl_status s = onnx_name(&rd->src, m->op_type.p, m->op_type.n, nn->op, sizeof nn->op, "op_type");
  if (s == CL_OK)
    s = onnx_name(&rd->src, m->domain.p, m->domain.n, nn->domain, sizeof nn->domain, "node domain");
  if (s == CL_OK) s = onnx_name(&rd->src, m->name.p, m->name.n, nn->name, sizeof nn->name, "node name");
  if (s != CL_OK) return s;
  if (nn->op[0] == '\0')
    return cl_error_set(&rd->e, CL_ERR_FORMAT, "node #%d ('%.100s') has no op_type", index, nn->name);
  if (nn->name[0] == '\0') snprintf(nn->name, sizeof nn->name, "%s_%d", nn->op, index);
  nn->is_default = onnx_domain_is_default(m->domain.p, m->domain.n);
  return CL_OK;
}

static cl_status node_limits(onnx_reader *rd, const node_names *nn, const node_msg *m) {
  if (m->inputs.overflow || m->outputs.overflow)
    return node_err(rd, nn, CL_ERR_LIMIT, "more than %d inputs or outputs", CL_MAX_NODE_IO);
  if (m->attrs.overflow)
    return node_err(rd, nn, CL_ERR_LIMIT, "more than %d attributes", CL_ONNX_MAX_ATTRS);
  return CL_OK;
}

cl_status onnx_node_read(onnx_reader *rd, int k, const uint8_t *p, size_t n) {
  node_msg m;
  node_names *nn = malloc(sizeof *nn);
  if (!nn) return cl_error_set(&rd->e, CL_ERR_NOMEM, "out of memory");
  cl_status s = node_parse(&rd->src, p, n, &m);
  int is_const = 0, opset = -1;
  if (s == CL_OK) s = node_strings(rd, &m, rd->g->n_nodes, nn);
  if (s == CL_OK) s = node_limits(rd, nn, &m);
  if (s == CL_OK) {
    is_const = nn->is_default && strcmp(nn->op, "Constant") == 0;
    if (is_const && !m.name.n) snprintf(nn->name, sizeof nn->name, "Constant_#%d", k);
    opset = onnx_opset_for(rd, m.domain.p, m.domain.n);
    if (opset < 0)
      s = node_err(rd, nn, CL_ERR_FORMAT, "domain '%.100s' is not in the model's opset_import",
                   nn->domain);
  }
  if (s == CL_OK) s = is_const ? constant_node(rd, nn, &m) : regular_node(rd, nn, &m, opset);
  node_msg_free(&m);
  free(nn);
  return s;
}
