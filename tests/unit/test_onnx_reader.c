/* cleave tests: the ONNX reader (cl_onnx_decode, cl_onnx_decode_tensor) on valid input: a hand-built
 * model with every kind of input, initializer, constant and attribute (onnx_builder.h), and the ONNX
 * node suite when it is installed. Malformed input: test_onnx_reader_errors.c. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_builder.h"

#define SUITE "/usr/share/libonnx-testdata/data"

Test(onnx_reader, full_model_structure) {
  pbw m = full_model();
  cl_graph *g;
  cl_error err;
  cr_assert_eq(decode(&m, &g, &err), CL_OK, "%s", err.msg);
  cr_expect_eq(g->opset, 13);
  cr_assert_eq(g->n_nodes, 4, "Constant nodes must not become nodes");
  cr_assert_eq(g->n_inputs, 3);
  cr_expect_str_eq(g->values[g->inputs[0]].name, "x");
  cr_expect_str_eq(g->values[g->inputs[1]].name, "m");
  cr_expect_str_eq(g->values[g->inputs[2]].name, "s");
  cr_assert_eq(g->n_outputs, 2);
  cr_expect_str_eq(g->values[g->outputs[0]].name, "q");
  cr_expect(g->values[g->outputs[1]].is_output);
  uint8_t zero[32] = {0};
  cr_expect(memcmp(g->hash, zero, 32) != 0);
  cl_graph_free(&g);
  free(m.b);
}

Test(onnx_reader, inputs_with_dynamic_dims) {
  pbw m = full_model();
  cl_graph *g;
  cl_error err;
  cr_assert_eq(decode(&m, &g, &err), CL_OK, "%s", err.msg);
  const cl_value *x = value(g, "x"), *mk = value(g, "m"), *s = value(g, "s");
  cr_expect_eq(x->dtype, CL_DTYPE_F32);
  cr_assert_eq(x->rank, 4);
  cr_expect(x->dims[0] == -1 && x->dims[1] == 3 && x->dims[2] == 4 && x->dims[3] == -1);
  cr_expect(x->is_input && !x->is_const && x->producer == -1);
  cr_expect_eq(mk->dtype, CL_DTYPE_BOOL);
  cr_expect_eq(mk->rank, -1, "no shape: rank -1");
  cr_expect_eq(s->rank, 0);
  cr_expect_eq(s->nbytes, 8u);
  const cl_value *wi = value(g, "w_init");
  cr_expect(wi->is_const && !wi->is_input, "an initializer listed as input is a constant");
  cl_graph_free(&g);
  free(m.b);
}

Test(onnx_reader, initializers_raw_and_typed) {
  pbw m = full_model();
  cl_graph *g;
  cl_error err;
  cr_assert_eq(decode(&m, &g, &err), CL_OK, "%s", err.msg);
  const cl_value *v = value(g, "w_raw");
  cr_assert(v->is_const && v->dtype == CL_DTYPE_F32 && v->rank == 2 && v->nbytes == 24);
  cr_expect_eq(((const float *)v->data)[5], 6.0f);
  v = value(g, "w_typed");
  cr_expect(((const float *)v->data)[1] == -1.5f && v->nbytes == 12);
  v = value(g, "w_unpacked");
  cr_expect(((const float *)v->data)[0] == 7.0f && ((const float *)v->data)[1] == 8.0f);
  v = value(g, "i64");
  cr_expect(((const int64_t *)v->data)[0] == -3 && ((const int64_t *)v->data)[1] == (int64_t)1 << 40);
  v = value(g, "u8");
  const uint8_t *u8 = v->data;
  cr_expect(v->nbytes == 4 && u8[2] == 200 && u8[3] == 255);
  v = value(g, "h");
  cr_expect(((const uint16_t *)v->data)[0] == 0x3c00 && ((const uint16_t *)v->data)[1] == 0xc000);
  v = value(g, "d");
  cr_expect(((const double *)v->data)[0] == 1.25 && ((const double *)v->data)[1] == -2.0);
  v = value(g, "u32");
  cr_expect(((const uint32_t *)v->data)[1] == 0xffffffffu);
  v = value(g, "b");
  u8 = v->data;
  cr_expect(v->dtype == CL_DTYPE_BOOL && u8[0] == 1 && u8[1] == 0);
  v = value(g, "empty");
  cr_expect(v->is_const && v->nbytes == 0 && v->rank == 2);
  cl_graph_free(&g);
  free(m.b);
}

Test(onnx_reader, constant_nodes_fold_into_values) {
  pbw m = full_model();
  cl_graph *g;
  cl_error err;
  cr_assert_eq(decode(&m, &g, &err), CL_OK, "%s", err.msg);
  const cl_value *v = value(g, "c_t");
  cr_expect(v->is_const && v->dtype == CL_DTYPE_I32 && v->rank == 1 && v->dims[0] == 2);
  cr_expect_eq(((const int32_t *)v->data)[1], -6);
  v = value(g, "c_f");
  cr_expect(v->is_const && v->dtype == CL_DTYPE_F32 && v->rank == 0 && *(const float *)v->data == 0.25f);
  v = value(g, "c_fs");
  cr_expect(v->rank == 1 && v->dims[0] == 3 && ((const float *)v->data)[2] == 3.0f);
  v = value(g, "c_i");
  cr_expect(v->dtype == CL_DTYPE_I64 && v->rank == 0 && *(const int64_t *)v->data == -7);
  v = value(g, "c_is");
  cr_expect(v->rank == 1 && v->dims[0] == 2 && ((const int64_t *)v->data)[1] == 5);
  cr_expect_eq(v->producer, -1);
  for (int i = 0; i < g->n_nodes; i++) cr_expect_str_neq(g->nodes[i].op_type, "Constant");
  cl_graph_free(&g);
  free(m.b);
}

Test(onnx_reader, nodes_and_io) {
  pbw m = full_model();
  cl_graph *g;
  cl_error err;
  cr_assert_eq(decode(&m, &g, &err), CL_OK, "%s", err.msg);
  const cl_node *n0 = node_named(g, "n0");
  cr_expect_str_eq(n0->domain, "com.example");
  cr_expect_eq(n0->opset, 2);
  cr_assert(n0->n_in == 3 && n0->n_out == 2);
  cr_expect_eq(n0->in[0], cl_graph_find_value(g, "x"));
  cr_expect_eq(n0->in[1], -1, "an empty input name is an omitted input");
  cr_expect_eq(n0->in[2], cl_graph_find_value(g, "w_raw"));
  cr_expect_eq(n0->out[1], -1);
  cr_expect_eq(g->values[n0->out[0]].producer, (int)(n0 - g->nodes));
  const cl_node *add = node_named(g, "Add_2");   /* unnamed: "<op>_<index>" */
  cr_expect_str_eq(add->domain, "", "ai.onnx is the default domain");
  cr_expect_eq(add->opset, 13);
  cr_expect_eq(add->in[1], cl_graph_find_value(g, "c_f"));
  const cl_node *late = node_named(g, "late");
  cr_expect_eq(late->in[0], cl_graph_find_value(g, "later"), "inputs defined by later nodes resolve");
  cl_graph_free(&g);
  free(m.b);
}

Test(onnx_reader, attributes_of_every_type) {
  pbw m = full_model();
  cl_graph *g;
  cl_error err;
  cr_assert_eq(decode(&m, &g, &err), CL_OK, "%s", err.msg);
  const cl_node *n = node_named(g, "n0");
  cr_expect_eq(cl_node_attr_float(n, "f", 0), 1.5f);
  cr_expect_eq(cl_node_attr_int(n, "i", 0), -2);
  cr_expect_str_eq(cl_node_attr_string(n, "s"), "same_upper");
  const cl_attr *t = cl_node_attr(n, "t");
  cr_assert(t && t->type == CL_ATTR_TENSOR);
  cr_expect(t->t.dtype == CL_DTYPE_F32 && t->t.rank == 1 && t->t.dims[0] == 2 && t->t.nbytes == 8);
  cr_expect_eq(((const float *)t->t.data)[1], 4.0f);
  const cl_attr *sg = cl_node_attr(n, "g");
  cr_expect(sg && sg->type == CL_ATTR_GRAPH);
  const float *fs;
  cr_assert_eq(cl_node_attr_floats(n, "fs", &fs), 2);
  cr_expect_eq(fs[1], 0.25f);
  const int64_t *is;
  cr_assert_eq(cl_node_attr_ints(n, "is", &is), 3);
  cr_expect(is[0] == 1 && is[1] == -1 && is[2] == 3);
  const cl_attr *ss = cl_node_attr(n, "ss");
  cr_assert(ss && ss->type == CL_ATTR_STRINGS && ss->n == 2);
  cr_expect_str_eq(ss->s, "relu");
  cr_expect_str_eq(ss->s + strlen(ss->s) + 1, "tanh");
  cr_expect_eq(cl_node_attr_int(n, "legacy", 0), 9, "an untyped attribute's type is inferred");
  cl_graph_free(&g);
  free(m.b);
}

/* raw_data is used where it lies when aligned for its type, copied otherwise. */
Test(onnx_reader, aligned_raw_data_is_not_copied) {
  pbw m = full_model();
  int in_place = 0;
  uint8_t *area = aligned_alloc(64, (m.n + 127) / 64 * 64);
  for (int off = 0; off < 8; off++) {
    memcpy(area + off, m.b, m.n);
    cl_graph *g = cl_graph_new();
    cl_error err = {0};
    cr_assert_eq(cl_onnx_decode(g, area + off, m.n, &err), CL_OK, "%s", err.msg);
    const cl_value *v = value(g, "w_raw");
    const uint8_t *p = v->data;
    int inside = p >= area + off && p < area + off + m.n;
    cr_expect_eq(inside, !v->data_owned);
    if (inside) cr_expect_eq((uintptr_t)p % 4, 0u);
    else cr_expect_eq((uintptr_t)p % 64, 0u);
    cr_expect_eq(((const float *)v->data)[0], 1.0f);
    in_place += inside;
    cl_graph_free(&g);
  }
  cr_expect_eq(in_place, 2, "one offset in four is 4-byte aligned");
  free(area);
  free(m.b);
}

Test(onnx_reader, hash_is_blake2b_of_the_bytes) {
  pbw m = full_model();
  cl_graph *g1, *g2;
  cl_error err;
  cr_assert_eq(decode(&m, &g1, &err), CL_OK);
  m.b[m.n - 1] ^= 1;   /* the last opset version byte: 13 -> 12, still a valid model */
  cr_assert_eq(decode(&m, &g2, &err), CL_OK, "%s", err.msg);
  cr_expect(memcmp(g1->hash, g2->hash, 32) != 0);
  cl_graph_free(&g1);
  cl_graph_free(&g2);
  free(m.b);
}

/* === cl_onnx_decode_tensor === */

Test(onnx_reader, decode_tensor) {
  pbw t = tensor_raw("pb", 7, 2, (int64_t[]){1, 2}, (int64_t[]){-1, 9}, 16);
  cl_tensor out;
  cl_error err = {0};
  cr_assert_eq(cl_onnx_decode_tensor(t.b, t.n, &out, &err), CL_OK, "%s", err.msg);
  cr_expect_str_eq(out.name, "pb");
  cr_expect(out.dtype == CL_DTYPE_I64 && out.rank == 2 && out.dims[1] == 2 && out.owns_data);
  cr_expect_eq(((int64_t *)out.data)[1], 9);
  cl_tensor_release(&out);
  for (size_t len = 0; len < t.n; len++) {
    cl_error e2 = {0};
    cr_assert_neq(cl_onnx_decode_tensor(t.b, len, &out, &e2), CL_OK, "prefix %zu", len);
    cr_assert(out.data == NULL && out.name == NULL, "released on error");
  }
  free(t.b);
}

/* === The ONNX node suite (skipped when libonnx-testdata is not installed) === */

static int decode_file(const char *path, int *ok, int *unsupported) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)n + 1);
  size_t got = fread(b, 1, (size_t)n, f);
  fclose(f);
  cl_graph *g = cl_graph_new();
  cl_error err = {0};
  cl_status s = cl_onnx_decode(g, b, got, &err);
  if (s == CL_OK) (*ok)++;
  else cr_expect_eq(s, CL_ERR_UNSUPPORTED, "%s: %s", path, err.msg);
  if (s == CL_ERR_UNSUPPORTED) (*unsupported)++;
  cl_graph_free(&g);
  free(b);
  return 1;
}

static int walk_suite(const char *dir, int *ok, int *unsupported) {
  DIR *d = opendir(dir);
  int total = 0;
  if (!d) return 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (e->d_name[0] == '.') continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/model.onnx", dir, e->d_name);
    total += decode_file(path, ok, unsupported);
  }
  closedir(d);
  return total;
}

Test(onnx_reader, node_suite) {
  static const char *dirs[] = {SUITE "/node", SUITE "/pytorch-converted", SUITE "/pytorch-operator",
                               SUITE "/simple"};
  int total = 0, ok = 0, unsupported = 0;
  for (int i = 0; i < 4; i++) total += walk_suite(dirs[i], &ok, &unsupported);
  if (total == 0) cr_skip_test("libonnx-testdata is not installed");
  cr_log_info("ONNX suite: %d of %d models decode, %d refused as unsupported", ok, total, unsupported);
  fprintf(stderr, "ONNX suite: %d of %d models decode, %d refused as unsupported\n", ok, total,
          unsupported);
  cr_expect_eq(ok + unsupported, total);
  cr_expect_geq(ok, total * 95 / 100);
}
