/* cleave tests: a tiny protobuf writer and ONNX message builders, to spell out models (and their
 * corruptions) byte by byte in the reader's tests. Every function here is static inline: include
 * this header from test files only. Field numbers are onnx.proto's. */
#ifndef CLEAVE_TESTS_ONNX_BUILDER_H
#define CLEAVE_TESTS_ONNX_BUILDER_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/graph.h"
#include "model/onnx_reader.h"

/* === A protobuf writer === */

typedef struct pbw {
  uint8_t *b;
  size_t n, cap;
} pbw;

static inline void w_raw(pbw *w, const void *p, size_t n) {
  if (w->n + n > w->cap) {
    w->cap = (w->n + n) * 2 + 64;
    w->b = realloc(w->b, w->cap);
    cr_assert(w->b != NULL);
  }
  if (n) memcpy(w->b + w->n, p, n);
  w->n += n;
}

static inline void w_varint(pbw *w, uint64_t v) {
  uint8_t b[10];
  int n = 0;
  do {
    b[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  w_raw(w, b, (size_t)n);
}

static inline void w_tag(pbw *w, int field, int wt) {
  w_varint(w, (uint64_t)field << 3 | (uint64_t)wt);
}
static inline void w_int(pbw *w, int field, int64_t v) {
  w_tag(w, field, 0);
  w_varint(w, (uint64_t)v);
}
static inline void w_bytes(pbw *w, int field, const void *p, size_t n) {
  w_tag(w, field, 2);
  w_varint(w, n);
  w_raw(w, p, n);
}
static inline void w_str(pbw *w, int field, const char *s) {
  w_bytes(w, field, s, strlen(s));
}
static inline void w_f32(pbw *w, int field, float f) {
  w_tag(w, field, 5);
  w_raw(w, &f, 4);
}
/* Appends sub as a length-delimited field and frees it. */
static inline void w_msg(pbw *w, int field, pbw *sub) {
  w_bytes(w, field, sub->b, sub->n);
  free(sub->b);
  memset(sub, 0, sizeof *sub);
}
static inline void w_packed_f32(pbw *w, int field, const float *v, int n) {
  w_bytes(w, field, v, (size_t)n * 4);
}
static inline void w_packed_int(pbw *w, int field, const int64_t *v, int n) {
  pbw p = {0};
  for (int i = 0; i < n; i++) w_varint(&p, (uint64_t)v[i]);
  w_msg(w, field, &p);
}

/* === ONNX message builders (field numbers from onnx.proto) === */

/* TensorProto header: name, data_type, dims (unpacked, as ONNX writes them). */
static inline pbw tensor(const char *name, int dtype, int rank, const int64_t *dims) {
  pbw t = {0};
  for (int i = 0; i < rank; i++) w_int(&t, 1, dims[i]);
  w_int(&t, 2, dtype);
  if (name) w_str(&t, 8, name);
  return t;
}

static inline pbw tensor_raw(const char *name, int dtype, int rank, const int64_t *dims, const void *p,
                             size_t n) {
  pbw t = tensor(name, dtype, rank, dims);
  w_bytes(&t, 9, p, n);
  return t;
}

/* ValueInfoProto of a tensor; rank -1: no shape; dims < 0: a dim_param; dims == -2: an empty dim. */
static inline pbw vinfo(const char *name, int elem, int rank, const int64_t *dims) {
  pbw shape = {0}, tt = {0}, type = {0}, vi = {0};
  for (int i = 0; i < rank; i++) {
    pbw d = {0};
    if (dims[i] >= 0) w_int(&d, 1, dims[i]);
    else if (dims[i] == -1) w_str(&d, 2, "N");
    w_msg(&shape, 1, &d);
  }
  w_int(&tt, 1, elem);
  if (rank >= 0) w_msg(&tt, 2, &shape);
  free(shape.b);
  w_msg(&type, 1, &tt);
  w_str(&vi, 1, name);
  w_msg(&vi, 2, &type);
  return vi;
}

/* NodeProto; inputs and outputs NULL-terminated lists. */
static inline pbw node(const char *name, const char *op, const char *domain, const char **in,
                       const char **out) {
  pbw n = {0};
  for (int i = 0; in && in[i]; i++) w_str(&n, 1, in[i]);
  for (int i = 0; out && out[i]; i++) w_str(&n, 2, out[i]);
  if (name) w_str(&n, 3, name);
  w_str(&n, 4, op);
  if (domain) w_str(&n, 7, domain);
  return n;
}

static inline pbw attr(const char *name, int type) {
  pbw a = {0};
  w_str(&a, 1, name);
  if (type) w_int(&a, 20, type);
  return a;
}

static inline void opset(pbw *m, const char *domain, int64_t version) {
  pbw o = {0};
  w_str(&o, 1, domain);
  w_int(&o, 2, version);
  w_msg(m, 8, &o);
}

/* ModelProto: ir_version 8, the graph, then opset_import (as onnx serializes them). */
static inline pbw model(pbw *graph, int64_t default_opset) {
  pbw m = {0};
  w_int(&m, 1, 8);
  w_msg(&m, 7, graph);
  if (default_opset) opset(&m, "", default_opset);
  return m;
}

/* The smallest graph: x float [1,4] -> Relu -> y. Extra graph fields may be appended. */
static inline pbw mini_graph(void) {
  pbw g = {0}, n = node("relu", "Relu", NULL, (const char *[]){"x", NULL}, (const char *[]){"y", NULL});
  pbw in = vinfo("x", 1, 2, (int64_t[]){1, 4}), out = vinfo("y", 1, -1, NULL);
  w_msg(&g, 1, &n);
  w_msg(&g, 11, &in);
  w_msg(&g, 12, &out);
  return g;
}

/* === Decoding helpers === */

static inline cl_status decode(const pbw *m, cl_graph **g, cl_error *err) {
  *g = cl_graph_new();
  cr_assert(*g != NULL);
  memset(err, 0, sizeof *err);
  return cl_onnx_decode(*g, m->b, m->n, err);
}

/* Decodes m, expects status s and a message containing `want`; frees everything. */
static inline void expect_error(pbw *m, cl_status s, const char *want) {
  cl_graph *g;
  cl_error err;
  cl_status got = decode(m, &g, &err);
  cr_expect_eq(got, s, "status %s, expected %s: %s", cl_status_name(got), cl_status_name(s), err.msg);
  cr_expect(strstr(err.msg, want) != NULL, "message '%s' lacks '%s'", err.msg, want);
  cr_expect(strchr(err.msg, '\n') == NULL);
  cl_graph_free(&g);
  free(m->b);
  m->b = NULL;
}

static inline const cl_value *value(const cl_graph *g, const char *name) {
  int id = cl_graph_find_value(g, name);
  cr_assert(id >= 0, "no value '%s'", name);
  return &g->values[id];
}

static inline const cl_node *node_named(const cl_graph *g, const char *name) {
  for (int i = 0; i < g->n_nodes; i++)
    if (strcmp(g->nodes[i].name, name) == 0) return &g->nodes[i];
  cr_assert_fail("no node '%s'", name);
  return NULL;
}

/* === The full model: every kind of input, initializer, constant and attribute === */

static inline void add_inits(pbw *g) {
  const float raw[6] = {1, 2, 3, 4, 5, 6}, typed[3] = {0.5f, -1.5f, 2.5f};
  pbw t = tensor_raw("w_raw", 1, 2, (int64_t[]){2, 3}, raw, sizeof raw);
  w_msg(g, 5, &t);
  t = tensor("w_typed", 1, 1, (int64_t[]){3});
  w_packed_f32(&t, 4, typed, 3);
  w_msg(g, 5, &t);
  t = tensor("w_unpacked", 1, 1, (int64_t[]){2});   /* float_data, one tag per value */
  w_f32(&t, 4, 7.0f);
  w_f32(&t, 4, 8.0f);
  w_msg(g, 5, &t);
  t = tensor("i64", 7, 1, (int64_t[]){2});
  w_packed_int(&t, 7, (int64_t[]){-3, (int64_t)1 << 40}, 2);
  w_msg(g, 5, &t);
  t = tensor("u8", 2, 1, (int64_t[]){4});
  w_packed_int(&t, 5, (int64_t[]){0, 1, 200, 255}, 4);
  w_msg(g, 5, &t);
  t = tensor("h", 10, 1, (int64_t[]){2});
  w_packed_int(&t, 5, (int64_t[]){0x3c00, 0xc000}, 2);
  w_msg(g, 5, &t);
  t = tensor("d", 11, 1, (int64_t[]){2});
  w_bytes(&t, 10, (double[]){1.25, -2.0}, 16);
  w_msg(g, 5, &t);
  t = tensor("u32", 12, 1, (int64_t[]){2});
  w_packed_int(&t, 11, (int64_t[]){7, 0xffffffff}, 2);
  w_msg(g, 5, &t);
  t = tensor_raw("b", 9, 1, (int64_t[]){3}, (uint8_t[]){1, 0, 1}, 3);
  w_msg(g, 5, &t);
  t = tensor_raw("w_init", 1, 1, (int64_t[]){1}, (float[]){42}, 4);
  w_msg(g, 5, &t);
  t = tensor("empty", 1, 2, (int64_t[]){0, 5});
  w_bytes(&t, 4, NULL, 0);   /* an empty packed float_data (a fuzzer finding) */
  w_msg(g, 5, &t);
}

static inline void add_inputs(pbw *g) {
  pbw v = vinfo("x", 1, 4, (int64_t[]){-1, 3, 4, -2});
  w_msg(g, 11, &v);
  v = vinfo("m", 9, -1, NULL);
  w_msg(g, 11, &v);
  v = vinfo("s", 7, 0, NULL);
  w_msg(g, 11, &v);
  v = vinfo("w_init", 1, 1, (int64_t[]){1});   /* an initializer listed as input (IR < 4) */
  w_msg(g, 11, &v);
}

static inline void add_constant(pbw *g, const char *out, pbw *a) {
  pbw n = node(NULL, "Constant", NULL, NULL, (const char *[]){out, NULL});
  w_msg(&n, 5, a);
  w_msg(g, 1, &n);
}

static inline void add_constants(pbw *g) {
  pbw a = attr("value", 4), t = tensor_raw(NULL, 6, 1, (int64_t[]){2}, (int32_t[]){5, -6}, 8);
  w_msg(&a, 5, &t);
  add_constant(g, "c_t", &a);
  a = attr("value_float", 1);
  w_f32(&a, 2, 0.25f);
  add_constant(g, "c_f", &a);
  a = attr("value_floats", 6);
  w_packed_f32(&a, 7, (float[]){1, 2, 3}, 3);
  add_constant(g, "c_fs", &a);
  a = attr("value_int", 2);
  w_int(&a, 3, -7);
  add_constant(g, "c_i", &a);
  a = attr("value_ints", 7);
  w_packed_int(&a, 8, (int64_t[]){4, 5}, 2);
  add_constant(g, "c_is", &a);
}

/* Custom(x, "", w_raw) -> (y, "") with one attribute of every type. */
static inline void add_custom(pbw *g) {
  pbw n = node("n0", "Custom", "com.example", (const char *[]){"x", "", "w_raw", NULL},
               (const char *[]){"y", "", NULL});
  pbw a = attr("f", 1), t, sub;
  w_f32(&a, 2, 1.5f);
  w_msg(&n, 5, &a);
  a = attr("i", 2);
  w_int(&a, 3, -2);
  w_msg(&n, 5, &a);
  a = attr("s", 3);
  w_str(&a, 4, "same_upper");
  w_msg(&n, 5, &a);
  a = attr("t", 4);
  t = tensor_raw(NULL, 1, 1, (int64_t[]){2}, (float[]){3, 4}, 8);
  w_msg(&a, 5, &t);
  w_msg(&n, 5, &a);
  a = attr("g", 5);
  sub = mini_graph();
  w_msg(&a, 6, &sub);
  w_msg(&n, 5, &a);
  a = attr("fs", 6);
  w_packed_f32(&a, 7, (float[]){0.5f, 0.25f}, 2);
  w_msg(&n, 5, &a);
  a = attr("is", 7);
  w_int(&a, 8, 1);    /* unpacked ints */
  w_int(&a, 8, -1);
  w_int(&a, 8, 3);
  w_msg(&n, 5, &a);
  a = attr("ss", 8);
  w_str(&a, 9, "relu");
  w_str(&a, 9, "tanh");
  w_msg(&n, 5, &a);
  a = attr("legacy", 0);   /* IR version 1: no type field */
  w_int(&a, 3, 9);
  w_msg(&n, 5, &a);
  w_msg(g, 1, &n);
}

static inline pbw full_model(void) {
  pbw g = {0}, n, o;
  w_str(&g, 2, "full");
  add_custom(&g);
  n = node("late", "Identity", NULL, (const char *[]){"later", NULL}, (const char *[]){"q", NULL});
  w_msg(&g, 1, &n);
  add_constants(&g);
  n = node(NULL, "Add", "ai.onnx", (const char *[]){"y", "c_f", NULL}, (const char *[]){"z", NULL});
  w_msg(&g, 1, &n);
  n = node("n3", "Relu", "", (const char *[]){"z", NULL}, (const char *[]){"later", NULL});
  w_msg(&g, 1, &n);
  add_inits(&g);
  add_inputs(&g);
  o = vinfo("q", 1, -1, NULL);
  w_msg(&g, 12, &o);
  o = vinfo("z", 1, -1, NULL);
  w_msg(&g, 12, &o);
  pbw m = model(&g, 13);
  opset(&m, "com.example", 2);
  return m;
}

#endif
