/* cleave: ONNX ModelProto -> cl_graph.
 *
 * Two passes. First nanopb walks the ModelProto and its GraphProto(s) and records where each node,
 * initializer, input and output lies in the buffer, plus the opset imports. Then each record is decoded
 * in the order that lets names resolve: initializers, graph inputs, nodes (Constant nodes become
 * values), node inputs, graph outputs. Node and attribute decoding is in onnx_node.c, tensors in
 * onnx_tensor.c, the nanopb callbacks in onnx_pb.c. */
#include "model/onnx_reader.h"

#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/onnx_internal.h"

/* === Pass 1: where everything lies === */

static bool graph_cb(pb_istream_t *stream, const pb_field_t *field, void **arg) {
  onnx_reader *rd = *arg;
  if (!onnx_in_buf(&rd->src, stream)) return onnx_wire_error(&rd->src, field);
  onnx_GraphProto gp;
  memset(&gp, 0, sizeof gp);
  onnx_bind(&gp.node, onnx_cb_spans, &rd->nodes);
  onnx_bind(&gp.initializer, onnx_cb_spans, &rd->inits);
  onnx_bind(&gp.input, onnx_cb_spans, &rd->inputs);
  onnx_bind(&gp.output, onnx_cb_spans, &rd->outputs);
  onnx_bind(&gp.sparse_initializer, onnx_cb_count, &rd->n_sparse);
  rd->n_graphs++;   /* a repeated message field merges, as protobuf says */
  return pb_decode(stream, onnx_GraphProto_fields, &gp);
}

static bool opset_cb(pb_istream_t *stream, const pb_field_t *field, void **arg) {
  onnx_reader *rd = *arg;
  if (!onnx_in_buf(&rd->src, stream)) return onnx_wire_error(&rd->src, field);
  onnx_OperatorSetIdProto op;
  onnx_str dom = {.src = &rd->src};
  memset(&op, 0, sizeof op);
  onnx_bind(&op.domain, onnx_cb_str, &dom);
  if (!pb_decode(stream, onnx_OperatorSetIdProto_fields, &op)) return false;
  if (rd->n_opsets >= CL_ONNX_MAX_OPSETS) {
    cl_error_set(&rd->e, CL_ERR_LIMIT, "more than %d opset_import entries", CL_ONNX_MAX_OPSETS);
    return false;
  }
  if (!op.has_version || op.version < 1 || op.version > 10000) {
    cl_error_set(&rd->e, CL_ERR_FORMAT, "opset_import #%d has no valid version (%lld)", rd->n_opsets,
                 (long long)op.version);
    return false;
  }
  rd->opset_dom[rd->n_opsets] = (onnx_span){.p = dom.p, .n = dom.n};
  rd->opset_ver[rd->n_opsets++] = op.version;
  return true;
}

static cl_status read_model(onnx_reader *rd) {
  onnx_ModelProto mp;
  memset(&mp, 0, sizeof mp);
  onnx_bind(&mp.graph, graph_cb, rd);
  onnx_bind(&mp.opset_import, opset_cb, rd);
  cl_status s = onnx_decode_msg(&rd->src, rd->src.buf, rd->src.len, onnx_ModelProto_fields, &mp);
  if (s != CL_OK) return s;
  if (rd->n_graphs == 0) return cl_error_set(&rd->e, CL_ERR_FORMAT, "model has no graph");
  if (rd->n_opsets == 0) return cl_error_set(&rd->e, CL_ERR_FORMAT, "model has no opset_import");
  if (rd->n_sparse > 0)
    return cl_error_set(&rd->e, CL_ERR_UNSUPPORTED,
                        "sparse initializers are not supported (%d in the graph)", rd->n_sparse);
  if (rd->nodes.overflow) return cl_error_set(&rd->e, CL_ERR_LIMIT, "more than %d nodes", rd->nodes.max);
  if (rd->inits.overflow || rd->inputs.overflow || rd->outputs.overflow)
    return cl_error_set(&rd->e, CL_ERR_LIMIT, "more than %d initializers, inputs or outputs",
                        CL_MAX_VALUES);
  return CL_OK;
}

int onnx_opset_for(const onnx_reader *rd, const uint8_t *dom, size_t n) {
  int best = -1, dflt = onnx_domain_is_default(dom, n);
  for (int i = 0; i < rd->n_opsets; i++) {
    const onnx_span *d = &rd->opset_dom[i];
    int match = dflt ? onnx_domain_is_default(d->p, d->n) : (d->n == n && memcmp(d->p, dom, n) == 0);
    if (match && rd->opset_ver[i] > best) best = (int)rd->opset_ver[i];
  }
  return best;
}

/* === Initializers === */

static cl_status read_initializer(onnx_reader *rd, int k, const onnx_span *sp) {
  onnx_tensor_msg m;
  onnx_tensor_info ti;
  char name[CL_ONNX_MAX_NAME + 1], what[CL_ONNX_MAX_NAME + 32];
  cl_status s = onnx_tensor_parse(&rd->src, sp->p, sp->n, &m);
  if (s == CL_OK) s = onnx_name(&rd->src, m.name.p, m.name.n, name, sizeof name, "initializer name");
  if (s == CL_OK && name[0] == '\0')
    s = cl_error_set(&rd->e, CL_ERR_FORMAT, "initializer #%d has no name", k);
  if (s == CL_OK) {
    snprintf(what, sizeof what, "initializer '%s'", name);
    s = onnx_tensor_check(&rd->src, &m, what, &ti);
  }
  int id = s == CL_OK ? cl_graph_add_value(rd->g, name, &rd->e) : -1;
  if (s == CL_OK && id < 0) s = rd->e.status;
  if (s == CL_OK) s = cl_value_set_shape(&rd->g->values[id], ti.dtype, ti.rank, ti.dims, &rd->e);
  if (s == CL_OK) {
    cl_value *v = &rd->g->values[id];
    const void *view = onnx_tensor_view(&m, &ti);
    void *p = view ? NULL : cl_value_alloc_const(v, &rd->e);
    if (view) cl_value_set_const(v, (void *)view, 0);
    else if (p) onnx_tensor_fill(&m, &ti, p);
    else s = rd->e.status;
  }
  onnx_tensor_msg_free(&m);
  return s;
}

/* === Graph inputs and outputs (ValueInfoProto) === */

typedef struct vinfo {
  const onnx_src *src;
  onnx_str name;
  int n_tensor;          /* tensor_type occurrences */
  int n_other;           /* sequence, map, optional or sparse types */
  int32_t elem_type;
  int has_shape;
  int rank;              /* dims seen; above CL_MAX_RANK only counted */
  int64_t dims[CL_MAX_RANK];
} vinfo;

static bool dim_cb(pb_istream_t *stream, const pb_field_t *field, void **arg) {
  vinfo *vi = *arg;
  if (!onnx_in_buf(vi->src, stream)) return onnx_wire_error(vi->src, field);
  onnx_TensorShapeProto_Dimension d;
  memset(&d, 0, sizeof d);
  if (!pb_decode(stream, onnx_TensorShapeProto_Dimension_fields, &d)) return false;
  if (vi->rank < CL_MAX_RANK)   /* a dim_param, a missing or a negative value: dynamic */
    vi->dims[vi->rank] = d.has_dim_value && d.dim_value >= 0 ? d.dim_value : -1;
  if (vi->rank <= CL_MAX_RANK) vi->rank++;
  return true;
}

static bool tensor_type_cb(pb_istream_t *stream, const pb_field_t *field, void **arg) {
  vinfo *vi = *arg;
  if (!onnx_in_buf(vi->src, stream)) return onnx_wire_error(vi->src, field);
  onnx_TypeProto_Tensor t;
  memset(&t, 0, sizeof t);
  onnx_bind(&t.shape.dim, dim_cb, vi);
  if (!pb_decode(stream, onnx_TypeProto_Tensor_fields, &t)) return false;
  vi->n_tensor++;
  vi->elem_type = t.has_elem_type ? t.elem_type : 0;
  vi->has_shape |= t.has_shape;
  return true;
}

static bool type_cb(pb_istream_t *stream, const pb_field_t *field, void **arg) {
  vinfo *vi = *arg;
  if (!onnx_in_buf(vi->src, stream)) return onnx_wire_error(vi->src, field);
  onnx_TypeProto tp;
  memset(&tp, 0, sizeof tp);
  onnx_bind(&tp.tensor_type, tensor_type_cb, vi);
  onnx_bind(&tp.sequence_type, onnx_cb_count, &vi->n_other);
  onnx_bind(&tp.map_type, onnx_cb_count, &vi->n_other);
  onnx_bind(&tp.optional_type, onnx_cb_count, &vi->n_other);
  onnx_bind(&tp.sparse_tensor_type, onnx_cb_count, &vi->n_other);
  return pb_decode(stream, onnx_TypeProto_fields, &tp);
}

/* Decodes a ValueInfoProto (with its type when want_type) and its name into name. */
static cl_status read_vinfo(onnx_reader *rd, const onnx_span *sp, int want_type, vinfo *vi,
                            char *name, size_t cap, const char *what, int k) {
  onnx_ValueInfoProto pb;
  memset(&pb, 0, sizeof pb);
  memset(vi, 0, sizeof *vi);
  vi->src = &rd->src;
  vi->name.src = &rd->src;
  onnx_bind(&pb.name, onnx_cb_str, &vi->name);
  if (want_type) onnx_bind(&pb.type, type_cb, vi);
  cl_status s = onnx_decode_msg(&rd->src, sp->p, sp->n, onnx_ValueInfoProto_fields, &pb);
  if (s == CL_OK) s = onnx_name(&rd->src, vi->name.p, vi->name.n, name, cap, what);
  if (s == CL_OK && name[0] == '\0')
    s = cl_error_set(&rd->e, CL_ERR_FORMAT, "%s #%d has no name", what, k);
  return s;
}

static cl_status input_type(onnx_reader *rd, const vinfo *vi, const char *name, cl_value *v) {
  cl_dtype dt = (cl_dtype)vi->elem_type;
  if (vi->n_other > 0 && vi->n_tensor == 0)
    return cl_error_set(&rd->e, CL_ERR_UNSUPPORTED, "graph input '%s' is not a tensor (sequence, map, "
                        "optional and sparse types are not supported)", name);
  if (vi->rank > CL_MAX_RANK)
    return cl_error_set(&rd->e, CL_ERR_LIMIT, "graph input '%s' has rank above %d", name, CL_MAX_RANK);
  if (dt != CL_DTYPE_UNDEFINED && cl_dtype_size(dt) == 0)
    return cl_error_set(&rd->e, CL_ERR_UNSUPPORTED, "graph input '%s' has type %d (%s), not supported",
                        name, (int)dt, cl_dtype_name(dt));
  int dynamic = dt == CL_DTYPE_UNDEFINED;
  for (int i = 0; i < vi->rank; i++) {
    if (vi->dims[i] > CL_MAX_DIM)
      return cl_error_set(&rd->e, CL_ERR_LIMIT, "graph input '%s': dimension %lld is out of range", name,
                          (long long)vi->dims[i]);
    dynamic |= vi->dims[i] < 0;
  }
  int rank = vi->has_shape ? vi->rank : -1;
  if (!dynamic && rank >= 0) return cl_value_set_shape(v, dt, rank, vi->dims, &rd->e);
  v->dtype = dt;
  v->rank = rank;
  if (rank > 0) memcpy(v->dims, vi->dims, (size_t)rank * sizeof *v->dims);
  return CL_OK;
}

static cl_status read_input(onnx_reader *rd, int k, const onnx_span *sp) {
  vinfo vi;
  char name[CL_ONNX_MAX_NAME + 1];
  cl_status s = read_vinfo(rd, sp, 1, &vi, name, sizeof name, "graph input", k);
  if (s != CL_OK) return s;
  int id = cl_graph_find_value(rd->g, name);
  if (id >= 0 && rd->g->values[id].is_const) return CL_OK;   /* an initializer listed as input */
  if (id >= 0) return cl_error_set(&rd->e, CL_ERR_FORMAT, "graph input '%s' is listed twice", name);
  id = cl_graph_add_value(rd->g, name, &rd->e);
  if (id < 0) return rd->e.status;
  cl_value *v = &rd->g->values[id];
  v->is_input = 1;
  rd->g->inputs[rd->g->n_inputs++] = id;
  return input_type(rd, &vi, name, v);
}

static cl_status read_output(onnx_reader *rd, int k, const onnx_span *sp) {
  vinfo vi;
  char name[CL_ONNX_MAX_NAME + 1];
  cl_status s = read_vinfo(rd, sp, 0, &vi, name, sizeof name, "graph output", k);
  if (s != CL_OK) return s;
  int id = cl_graph_find_value(rd->g, name);
  if (id < 0)
    return cl_error_set(&rd->e, CL_ERR_FORMAT,
                        "graph output '%s' is not produced by any node, initializer or input", name);
  rd->g->values[id].is_output = 1;
  rd->g->outputs[rd->g->n_outputs++] = id;
  return CL_OK;
}

/* === Pass 2 === */

static cl_status resolve_inputs(onnx_reader *rd) {
  char name[CL_ONNX_MAX_NAME + 1];
  for (int i = 0; i < rd->n_pending; i++) {
    const onnx_pending *p = &rd->pending[i];
    cl_node *n = &rd->g->nodes[p->node];
    for (int j = 0; j < p->count; j++) {
      const onnx_span *sp = &rd->in_pool.v[p->first + j];
      if (sp->n == 0) continue;   /* an omitted optional input stays -1 */
      cl_status s = onnx_name(&rd->src, sp->p, sp->n, name, sizeof name, "input name");
      if (s != CL_OK) return s;
      n->in[j] = cl_graph_find_value(rd->g, name);
      if (n->in[j] < 0)
        return cl_node_error(&rd->e, n, CL_ERR_FORMAT,
                             "input '%.100s' is not defined by any node, initializer or graph input",
                             name);
    }
  }
  return CL_OK;
}

static cl_status alloc_io(onnx_reader *rd) {
  cl_graph *g = rd->g;
  g->inputs = malloc((size_t)(rd->inputs.n + 1) * sizeof *g->inputs);
  g->outputs = malloc((size_t)(rd->outputs.n + 1) * sizeof *g->outputs);
  if (!g->inputs || !g->outputs) return cl_error_set(&rd->e, CL_ERR_NOMEM, "out of memory");
  return CL_OK;
}

static cl_status read_graph(onnx_reader *rd) {
  cl_status s = read_model(rd);
  if (s == CL_OK) {
    int dflt = onnx_opset_for(rd, (const uint8_t *)"", 0);
    rd->g->opset = dflt > 0 ? dflt : 0;
    s = alloc_io(rd);
  }
  for (int k = 0; s == CL_OK && k < rd->inits.n; k++) s = read_initializer(rd, k, &rd->inits.v[k]);
  for (int k = 0; s == CL_OK && k < rd->inputs.n; k++) s = read_input(rd, k, &rd->inputs.v[k]);
  for (int k = 0; s == CL_OK && k < rd->nodes.n; k++)
    s = onnx_node_read(rd, k, rd->nodes.v[k].p, rd->nodes.v[k].n);
  if (s == CL_OK) s = resolve_inputs(rd);
  for (int k = 0; s == CL_OK && k < rd->outputs.n; k++) s = read_output(rd, k, &rd->outputs.v[k]);
  return s;
}

/* === Entry === */

static void reader_free(onnx_reader *rd) {
  onnx_spans_free(&rd->nodes);
  onnx_spans_free(&rd->inits);
  onnx_spans_free(&rd->inputs);
  onnx_spans_free(&rd->outputs);
  onnx_spans_free(&rd->in_pool);
  free(rd->pending);
  free(rd);
}

cl_status cl_onnx_decode(cl_graph *g, const uint8_t *buf, size_t len, cl_error *err) {
  assert(g != NULL && (buf != NULL || len == 0));
  assert(g->n_nodes == 0 && g->n_values == 0 && g->inputs == NULL && g->outputs == NULL);
  if (sodium_init() < 0) return cl_error_set(err, CL_ERR_BACKEND, "libsodium failed to initialise");
  static const uint8_t empty[1];
  crypto_generichash(g->hash, sizeof g->hash, len ? buf : empty, len, NULL, 0);
  onnx_reader *rd = calloc(1, sizeof *rd);
  if (!rd) return cl_error_set(err, CL_ERR_NOMEM, "out of memory");
  rd->src = (onnx_src){.buf = buf, .len = len, .what = "model file", .err = &rd->e};
  rd->g = g;
  onnx_spans_init(&rd->nodes, &rd->src, CL_MAX_NODES + CL_MAX_VALUES);
  onnx_spans_init(&rd->inits, &rd->src, CL_MAX_VALUES);
  onnx_spans_init(&rd->inputs, &rd->src, CL_MAX_VALUES);
  onnx_spans_init(&rd->outputs, &rd->src, CL_MAX_VALUES);
  onnx_spans_init(&rd->in_pool, &rd->src, 0);
  cl_status s = read_graph(rd);
  if (s != CL_OK) cl_error_set(err, s, "%s", rd->e.msg);
  reader_free(rd);
  return s;
}
