/* cleave tests: the ONNX reader on malformed input: every refusal with its one-line message,
 * truncation at every byte, flipped bytes and random buffers (run under ASan/UBSan or valgrind: nothing
 * may crash or leak). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_builder.h"

/* === Refusals with clear messages === */

Test(onnx_reader_errors, missing_opset_or_graph) {
  pbw g = mini_graph(), m = model(&g, 0);
  expect_error(&m, CL_ERR_FORMAT, "no opset_import");
  m = (pbw){0};
  w_int(&m, 1, 8);
  opset(&m, "", 13);
  expect_error(&m, CL_ERR_FORMAT, "no graph");
  g = mini_graph();
  pbw n = node(NULL, "Foo", "com.other", (const char *[]){"x", NULL}, (const char *[]){"f", NULL});
  w_msg(&g, 1, &n);
  m = model(&g, 13);
  expect_error(&m, CL_ERR_FORMAT, "domain 'com.other' is not in the model's opset_import");
}

Test(onnx_reader_errors, undefined_input_names_node_and_tensor) {
  pbw g = mini_graph(), n = node("adder", "Add", NULL, (const char *[]){"y", "ghost", NULL},
                                  (const char *[]){"z", NULL});
  w_msg(&g, 1, &n);
  pbw m = model(&g, 13);
  expect_error(&m, CL_ERR_FORMAT, "node 'adder' (Add): input 'ghost' is not defined");
}

Test(onnx_reader_errors, duplicate_definitions) {
  pbw g = mini_graph();
  pbw n = node("again", "Relu", NULL, (const char *[]){"x", NULL}, (const char *[]){"y", NULL});
  w_msg(&g, 1, &n);
  pbw m = model(&g, 13);
  expect_error(&m, CL_ERR_FORMAT, "output 'y' is already defined");
  g = mini_graph();
  pbw t = tensor_raw("x", 1, 1, (int64_t[]){1}, (float[]){1}, 4);
  pbw t2 = tensor_raw("x", 1, 1, (int64_t[]){1}, (float[]){1}, 4);
  w_msg(&g, 5, &t);
  w_msg(&g, 5, &t2);
  m = model(&g, 13);
  expect_error(&m, CL_ERR_FORMAT, "'x' is defined twice");
  g = mini_graph();
  pbw v = vinfo("x", 1, 1, (int64_t[]){1});
  w_msg(&g, 11, &v);
  m = model(&g, 13);
  expect_error(&m, CL_ERR_FORMAT, "graph input 'x' is listed twice");
  g = mini_graph();
  v = vinfo("nowhere", 1, -1, NULL);
  w_msg(&g, 12, &v);
  m = model(&g, 13);
  expect_error(&m, CL_ERR_FORMAT, "graph output 'nowhere' is not produced");
}

static pbw model_with_init(pbw *t) {
  pbw g = mini_graph();
  w_msg(&g, 5, t);
  return model(&g, 13);
}

Test(onnx_reader_errors, unsupported_tensors) {
  pbw t = tensor("ext", 1, 1, (int64_t[]){4}), e = {0}, m;
  w_str(&e, 1, "location");
  w_str(&e, 2, "weights.bin");
  w_msg(&t, 13, &e);
  w_int(&t, 14, 1);
  m = model_with_init(&t);
  expect_error(&m, CL_ERR_UNSUPPORTED, "initializer 'ext': external data is not supported");
  t = tensor("str", 8, 1, (int64_t[]){1});
  w_str(&t, 6, "hello");
  m = model_with_init(&t);
  expect_error(&m, CL_ERR_UNSUPPORTED, "initializer 'str': string tensors are not supported");
  t = tensor_raw("cplx", 14, 1, (int64_t[]){1}, (float[]){1, 2}, 8);
  m = model_with_init(&t);
  expect_error(&m, CL_ERR_UNSUPPORTED, "initializer 'cplx': data type 14");
  pbw g = mini_graph(), sp = {0};
  t = tensor_raw("vals", 1, 1, (int64_t[]){1}, (float[]){1}, 4);
  w_msg(&sp, 1, &t);
  w_msg(&g, 15, &sp);
  m = model(&g, 13);
  expect_error(&m, CL_ERR_UNSUPPORTED, "sparse initializers");
}

Test(onnx_reader_errors, tensor_data_must_match_shape) {
  pbw t = tensor_raw("short", 1, 2, (int64_t[]){2, 2}, (float[]){1, 2, 3}, 12), m;
  m = model_with_init(&t);
  expect_error(&m, CL_ERR_FORMAT,
               "initializer 'short': raw_data has 12 bytes, shape [2,2] of float needs 16");
  t = tensor("few", 1, 1, (int64_t[]){3});
  w_packed_f32(&t, 4, (float[]){1, 2}, 2);
  m = model_with_init(&t);
  expect_error(&m, CL_ERR_FORMAT, "initializer 'few': 2 values in float_data, shape [3] needs 3");
  t = tensor("many", 1, 1, (int64_t[]){1});
  w_packed_f32(&t, 4, (float[]){1, 2}, 2);
  m = model_with_init(&t);
  expect_error(&m, CL_ERR_FORMAT,
               "initializer 'many': more values in float_data than shape [1] holds (1)");
  t = tensor("none", 1, 1, (int64_t[]){3});
  m = model_with_init(&t);
  expect_error(&m, CL_ERR_FORMAT, "initializer 'none': no data");
  t = tensor("wrong", 7, 1, (int64_t[]){1});
  w_packed_f32(&t, 4, (float[]){1}, 1);
  m = model_with_init(&t);
  expect_error(&m, CL_ERR_FORMAT, "float_data given for a int64 tensor");
  t = tensor_raw("bool", 9, 1, (int64_t[]){2}, (uint8_t[]){1, 7}, 2);
  m = model_with_init(&t);
  expect_error(&m, CL_ERR_FORMAT, "bool value 7");
  t = tensor_raw(NULL, 1, 1, (int64_t[]){1}, (float[]){1}, 4);
  m = model_with_init(&t);
  expect_error(&m, CL_ERR_FORMAT, "initializer #0 has no name");
}

Test(onnx_reader_errors, absurd_dims_and_ranks) {
  pbw t = tensor("big", 1, 2, (int64_t[]){(int64_t)1 << 40, 1 << 20}), m;
  m = model_with_init(&t);
  expect_error(&m, CL_ERR_LIMIT, "initializer 'big'");
  t = tensor("neg", 1, 1, (int64_t[]){-1});
  m = model_with_init(&t);
  expect_error(&m, CL_ERR_LIMIT, "initializer 'neg'");
  t = tensor("deep", 1, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1});
  m = model_with_init(&t);
  expect_error(&m, CL_ERR_LIMIT, "initializer 'deep': rank above 8");
  pbw g = mini_graph(), v = vinfo("deep_in", 1, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1});
  w_msg(&g, 11, &v);
  m = model(&g, 13);
  expect_error(&m, CL_ERR_LIMIT, "graph input 'deep_in' has rank above 8");
  g = mini_graph();
  v = vinfo("huge_in", 1, 1, (int64_t[]){(int64_t)1 << 50});
  w_msg(&g, 11, &v);
  m = model(&g, 13);
  expect_error(&m, CL_ERR_LIMIT, "graph input 'huge_in'");
  g = mini_graph();
  v = (pbw){0};
  pbw type = {0}, seq = {0};   /* a sequence type */
  w_str(&v, 1, "seq");
  w_msg(&type, 4, &seq);
  w_msg(&v, 2, &type);
  w_msg(&g, 11, &v);
  m = model(&g, 13);
  expect_error(&m, CL_ERR_UNSUPPORTED, "graph input 'seq' is not a tensor");
}

Test(onnx_reader_errors, constant_refusals) {
  const char *cases[][3] = {{"value_string", "3", "attribute 'value_string' is not supported"},
                            {"sparse_value", "11", "attribute 'sparse_value' is not supported"}};
  for (int i = 0; i < 2; i++) {
    pbw g = mini_graph(), a = attr(cases[i][0], atoi(cases[i][1]));
    w_str(&a, 4, "text");
    add_constant(&g, "k", &a);
    pbw m = model(&g, 13);
    expect_error(&m, CL_ERR_UNSUPPORTED, cases[i][2]);
  }
  pbw g = mini_graph(), a = attr("value_int", 2), b = attr("value_float", 1);
  w_int(&a, 3, 1);
  w_f32(&b, 2, 1);
  pbw n = node("two", "Constant", NULL, NULL, (const char *[]){"k", NULL});
  w_msg(&n, 5, &a);
  w_msg(&n, 5, &b);
  w_msg(&g, 1, &n);
  pbw m = model(&g, 13);
  expect_error(&m, CL_ERR_FORMAT, "node 'two' (Constant): more than one value attribute");
  g = mini_graph();
  n = node("empty", "Constant", NULL, NULL, (const char *[]){"k", NULL});
  w_msg(&g, 1, &n);
  m = model(&g, 13);
  expect_error(&m, CL_ERR_FORMAT, "a Constant without a value");
  g = mini_graph();
  a = attr("value_ints", 1);   /* declared FLOAT */
  w_f32(&a, 2, 1);
  add_constant(&g, "k", &a);
  m = model(&g, 13);
  expect_error(&m, CL_ERR_FORMAT, "attribute 'value_ints' has type FLOAT, not INTS");
}

Test(onnx_reader_errors, strings_are_bounded_and_nul_safe) {
  pbw g = mini_graph(), n = {0};
  w_str(&n, 1, "x");
  w_bytes(&n, 2, "a\0b", 3);
  w_str(&n, 4, "Relu");
  w_msg(&g, 1, &n);
  pbw m = model(&g, 13);
  expect_error(&m, CL_ERR_FORMAT, "output name contains a NUL byte");
  char *longname = malloc(5000);
  memset(longname, 'a', 4999);
  longname[4999] = '\0';
  g = mini_graph();
  n = node(longname, "Relu", NULL, (const char *[]){"x", NULL}, (const char *[]){"o", NULL});
  w_msg(&g, 1, &n);
  m = model(&g, 13);
  expect_error(&m, CL_ERR_LIMIT, "node name is longer than 4096 bytes");
  free(longname);
  g = mini_graph();
  n = node("t", "Relu", NULL, (const char *[]){"x", NULL}, (const char *[]){"o", NULL});
  pbw a = attr("s", 3);
  w_bytes(&a, 4, "x\0y", 3);
  w_msg(&n, 5, &a);
  w_msg(&g, 1, &n);
  m = model(&g, 13);
  expect_error(&m, CL_ERR_FORMAT, "attribute 's' contains a NUL byte");
  g = mini_graph();
  n = node("t", "", NULL, (const char *[]){"x", NULL}, (const char *[]){"o", NULL});
  w_msg(&g, 1, &n);
  m = model(&g, 13);
  expect_error(&m, CL_ERR_FORMAT, "has no op_type");
}

Test(onnx_reader_errors, unsupported_attribute_types) {
  pbw g = mini_graph();
  pbw n = node("t", "Foo", NULL, (const char *[]){"x", NULL}, (const char *[]){"o", NULL});
  pbw a = attr("ts", 9), t = tensor_raw(NULL, 1, 1, (int64_t[]){1}, (float[]){1}, 4);
  w_msg(&a, 10, &t);
  w_msg(&n, 5, &a);
  w_msg(&g, 1, &n);
  pbw m = model(&g, 13);
  expect_error(&m, CL_ERR_UNSUPPORTED,
               "node 't' (Foo): attribute 'ts' of type TENSORS is not supported");
}

/* A length-delimited field sent with a scalar wire type must not be read from nanopb's stack copy. */
Test(onnx_reader_errors, wrong_wire_types) {
  pbw t = tensor("w", 1, 1, (int64_t[]){1}), m;
  w_int(&t, 9, 12345);   /* raw_data as a varint */
  m = model_with_init(&t);
  expect_error(&m, CL_ERR_FORMAT, "wrong wire type");
  pbw g = mini_graph();
  w_int(&g, 1, 7);       /* a node as a varint */
  m = model(&g, 13);
  expect_error(&m, CL_ERR_FORMAT, "wrong wire type");
  g = mini_graph();
  m = (pbw){0};
  w_int(&m, 7, 1);       /* the graph as a varint */
  opset(&m, "", 13);
  free(g.b);
  expect_error(&m, CL_ERR_FORMAT, "wrong wire type");
}

Test(onnx_reader_errors, absurd_lengths) {
  pbw m = {0};
  w_tag(&m, 7, 2);
  w_varint(&m, 0xffffffffu);   /* a graph claiming 4 GiB */
  w_raw(&m, "abc", 3);
  expect_error(&m, CL_ERR_FORMAT, "model file is truncated or corrupt (nanopb: ");
  m = (pbw){0};
  w_tag(&m, 7, 2);
  w_varint(&m, UINT64_MAX);
  expect_error(&m, CL_ERR_FORMAT, "model file is truncated or corrupt (nanopb: ");
  m = (pbw){0};
  w_raw(&m, "\x3b\x00", 2);    /* a group start: wire type 3 */
  expect_error(&m, CL_ERR_FORMAT, "model file is truncated or corrupt");
  m = (pbw){0};
  expect_error(&m, CL_ERR_FORMAT, "no graph");   /* empty input */
}

/* Every strict prefix of a valid model is refused cleanly (opset_import comes last). */
Test(onnx_reader_errors, truncated_at_every_byte) {
  pbw m = full_model();
  for (size_t len = 0; len < m.n; len++) {
    uint8_t *cut = malloc(len ? len : 1);
    memcpy(cut, m.b, len);
    cl_graph *g = cl_graph_new();
    cl_error err = {0};
    cl_status s = cl_onnx_decode(g, cut, len, &err);
    cr_assert_neq(s, CL_OK, "prefix of %zu bytes decoded", len);
    cr_assert(err.msg[0] != '\0' && strchr(err.msg, '\n') == NULL);
    cl_graph_free(&g);
    free(cut);
  }
  free(m.b);
}

/* Corrupt bytes: every byte of the model flipped, then random buffers. Nothing may crash or leak
 * (run under ASan/valgrind); a success must still give a consistent graph. */
static void decode_any(const uint8_t *b, size_t n) {
  cl_graph *g = cl_graph_new();
  cl_error err = {0};
  if (cl_onnx_decode(g, b, n, &err) == CL_OK) {
    for (int i = 0; i < g->n_nodes; i++)
      for (int j = 0; j < g->nodes[i].n_in; j++) cr_assert(g->nodes[i].in[j] < g->n_values);
  } else {
    cr_assert(err.status != CL_OK && err.msg[0] != '\0');
  }
  cl_graph_free(&g);
}

Test(onnx_reader_errors, corrupt_bytes) {
  pbw m = full_model();
  uint8_t *c = malloc(m.n);
  for (size_t i = 0; i < m.n; i++) {
    static const uint8_t flips[] = {0xff, 0x80, 0x01};
    for (int f = 0; f < 3; f++) {
      memcpy(c, m.b, m.n);
      c[i] ^= flips[f];
      decode_any(c, m.n);
    }
  }
  free(c);
  free(m.b);
  uint64_t state = 0x9e3779b97f4a7c15u;
  uint8_t buf[512];
  for (int r = 0; r < 3000; r++) {
    size_t n = (size_t)(r % 512);
    for (size_t i = 0; i < n; i++) {
      state = state * 6364136223846793005u + 1442695040888963407u;
      buf[i] = (uint8_t)(state >> 56);
    }
    if (n > 0) buf[0] = (uint8_t)(r % 2 ? 0x3a : buf[0]);   /* often start like a graph field */
    decode_any(buf, n);
  }
}
