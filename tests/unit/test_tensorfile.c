/* cleave tests: tensor files (.npy and .pb), reading, writing, round trips and refusals.
 *
 * The .npy byte strings below were written by NumPy 1.24 (np.save / np.lib.format.write_array with
 * versions 2.0 and 3.0); the values read from the ONNX suite's .pb files were checked with
 * onnx.numpy_helper. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleave/tensorfile.h"

#define SUITE "/usr/share/libonnx-testdata/data"

/* === Files written by NumPy === */

/* [[1.5, -2, 3.25], [0, 1e-3, 65504]] float32, format 1.0 */
static const char NPY_F32_V1[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    "                                                          \x0a"
    "\x00\x00\xc0\x3f\x00\x00\x00\xc0\x00\x00P@\x00\x00\x00\x00o\x12\x83:\x00\xe0\x7fG";
/* [1, -2, 3] int64, format 2.0 */
static const char NPY_I64_V2[] =
    "\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }"
    "                                                          \x0a"
    "\x01\x00\x00\x00\x00\x00\x00\x00\xfe\xff\xff\xff\xff\xff\xff\xff\x03\x00\x00\x00\x00\x00\x00\x00";
/* [[True, False]], format 3.0 */
static const char NPY_BOOL_V3[] =
    "\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '|b1', 'fortran_order': False, 'shape': (1, 2), }"
    "                                                        \x0a\x01\x00";
/* uint16 scalar 7 */
static const char NPY_U16_SCALAR[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<u2', 'fortran_order': False, 'shape': (), }"
    "                                                              \x0a\x07\x00";

#define BYTES(s) (const uint8_t *)(s), sizeof(s) - 1

static char tmpdir[64];

static void make_tmpdir(void) {
  strcpy(tmpdir, "/tmp/cleave-tf-XXXXXX");
  cr_assert(mkdtemp(tmpdir) != NULL);
}

static void remove_tmpdir(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  cr_expect_eq(system(cmd), 0);
}

static char *tmp_path(const char *name) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  return path;
}

static uint8_t *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  cr_assert(f != NULL, "%s", path);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)len + 1);
  *n = fread(b, 1, (size_t)len, f);
  fclose(f);
  return b;
}

Test(tensorfile, numpy_files) {
  cl_tensor t;
  cl_error err = {0};
  cr_assert_eq(cl_tensorfile_parse_npy(BYTES(NPY_F32_V1), &t, &err), CL_OK, "%s", err.msg);
  cr_expect(t.dtype == CL_DTYPE_F32 && t.rank == 2 && t.dims[0] == 2 && t.dims[1] == 3);
  cr_expect_eq(t.nbytes, 24u);
  const float *f = t.data;
  cr_expect(f[0] == 1.5f && f[1] == -2.0f && f[2] == 3.25f && f[4] == 1e-3f && f[5] == 65504.0f);
  cl_tensor_release(&t);
  cr_assert_eq(cl_tensorfile_parse_npy(BYTES(NPY_I64_V2), &t, &err), CL_OK, "%s", err.msg);
  cr_expect(t.dtype == CL_DTYPE_I64 && t.rank == 1 && t.dims[0] == 3 && ((int64_t *)t.data)[1] == -2);
  cl_tensor_release(&t);
  cr_assert_eq(cl_tensorfile_parse_npy(BYTES(NPY_BOOL_V3), &t, &err), CL_OK, "%s", err.msg);
  const uint8_t *u8 = t.data;
  cr_expect(t.dtype == CL_DTYPE_BOOL && t.rank == 2 && u8[0] == 1 && u8[1] == 0);
  cl_tensor_release(&t);
  cr_assert_eq(cl_tensorfile_parse_npy(BYTES(NPY_U16_SCALAR), &t, &err), CL_OK, "%s", err.msg);
  cr_expect(t.dtype == CL_DTYPE_U16 && t.rank == 0 && t.nbytes == 2 && *(uint16_t *)t.data == 7);
  cl_tensor_release(&t);
}

/* Our .npy writer produces NumPy's own bytes. */
Test(tensorfile, npy_write_matches_numpy, .init = make_tmpdir, .fini = remove_tmpdir) {
  cl_tensor t;
  cl_error err = {0};
  cr_assert_eq(cl_tensorfile_parse_npy(BYTES(NPY_F32_V1), &t, &err), CL_OK);
  cr_assert_eq(cl_tensorfile_write(tmp_path("a.npy"), &t, &err), CL_OK, "%s", err.msg);
  cl_tensor_release(&t);
  size_t n;
  uint8_t *b = read_all(tmp_path("a.npy"), &n);
  cr_assert_eq(n, sizeof NPY_F32_V1 - 1);
  cr_expect(memcmp(b, NPY_F32_V1, n) == 0);
  free(b);
  cr_assert_eq(cl_tensorfile_parse_npy(BYTES(NPY_U16_SCALAR), &t, &err), CL_OK);
  cr_assert_eq(cl_tensorfile_write(tmp_path("s.npy"), &t, &err), CL_OK, "%s", err.msg);
  cl_tensor_release(&t);
  b = read_all(tmp_path("s.npy"), &n);
  cr_assert_eq(n, sizeof NPY_U16_SCALAR - 1);
  cr_expect(memcmp(b, NPY_U16_SCALAR, n) == 0);
  free(b);
}

/* === Round trips === */

static void round_trip(const char *file, cl_dtype dt, int rank, const int64_t *dims) {
  cl_tensor t, back;
  cl_error err = {0};
  cr_assert_eq(cl_tensor_alloc(&t, "tensor_name", dt, rank, dims, &err), CL_OK, "%s", err.msg);
  uint8_t *p = t.data;
  for (size_t i = 0; i < t.nbytes; i++) p[i] = (uint8_t)(i * 37 + 11);
  if (dt == CL_DTYPE_BOOL)
    for (size_t i = 0; i < t.nbytes; i++) p[i] &= 1;
  const char *path = tmp_path(file);
  cr_assert_eq(cl_tensorfile_write(path, &t, &err), CL_OK, "%s: %s", file, err.msg);
  cr_assert_eq(cl_tensorfile_read(path, &back, &err), CL_OK, "%s: %s", file, err.msg);
  cr_expect_eq(back.dtype, dt, "%s", file);
  cr_assert_eq(back.rank, rank, "%s", file);
  for (int i = 0; i < rank; i++) cr_expect_eq(back.dims[i], dims[i]);
  cr_assert_eq(back.nbytes, t.nbytes);
  cr_expect(t.nbytes == 0 || memcmp(back.data, t.data, t.nbytes) == 0, "%s", file);
  if (strstr(file, ".pb")) cr_expect_str_eq(back.name, "tensor_name");
  cl_tensor_release(&t);
  cl_tensor_release(&back);
}

Test(tensorfile, round_trip_every_dtype, .init = make_tmpdir, .fini = remove_tmpdir) {
  static const cl_dtype types[] = {CL_DTYPE_F32, CL_DTYPE_F64, CL_DTYPE_F16, CL_DTYPE_I8, CL_DTYPE_I16,
                                   CL_DTYPE_I32, CL_DTYPE_I64, CL_DTYPE_U8, CL_DTYPE_U16, CL_DTYPE_U32,
                                   CL_DTYPE_U64, CL_DTYPE_BOOL};
  static const int64_t shapes[][4] = {{0}, {5}, {2, 3}, {1, 3, 4, 5}, {0, 3}};
  static const int ranks[] = {0, 1, 2, 4, 2};
  char name[64];
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    for (int s = 0; s < 5; s++) {
      snprintf(name, sizeof name, "t%zu_%d.npy", i, s);
      round_trip(name, types[i], ranks[s], shapes[s]);
      snprintf(name, sizeof name, "t%zu_%d.pb", i, s);
      round_trip(name, types[i], ranks[s], shapes[s]);
    }
  round_trip("bf16.pb", CL_DTYPE_BF16, 1, (int64_t[]){3});
  round_trip("upper.NPY", CL_DTYPE_F32, 8, (int64_t[]){1, 2, 1, 2, 1, 2, 1, 2});
}

/* === Files from the ONNX suite === */

static int suite_tensor(const char *rel, cl_tensor *t) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", SUITE, rel);
  if (access(path, R_OK) != 0) return 0;
  cl_error err = {0};
  cr_assert_eq(cl_tensorfile_read(path, t, &err), CL_OK, "%s", err.msg);
  return 1;
}

static double sum_f32(const cl_tensor *t) {
  double s = 0;
  for (size_t i = 0; i < t->nbytes / 4; i++) s += ((const float *)t->data)[i];
  return s;
}

Test(tensorfile, onnx_suite_files) {
  cl_tensor t;
  if (!suite_tensor("node/test_conv_with_strides_padding/test_data_set_0/input_0.pb", &t))
    cr_skip_test("libonnx-testdata is not installed");
  cr_expect_str_eq(t.name, "x");
  cr_assert(t.dtype == CL_DTYPE_F32 && t.rank == 4 && t.dims[2] == 7 && t.dims[3] == 5);
  const float *f = t.data;
  cr_expect(f[0] == 0 && f[1] == 1 && f[3] == 3 && f[34] == 34 && sum_f32(&t) == 595.0);
  cl_tensor_release(&t);
  cr_assert(suite_tensor("node/test_conv_with_strides_padding/test_data_set_0/input_1.pb", &t));
  cr_expect(t.rank == 4 && t.dims[2] == 3 && sum_f32(&t) == 9.0 && !strcmp(t.name, "W"));
  cl_tensor_release(&t);
  cr_assert(suite_tensor("node/test_conv_with_strides_padding/test_data_set_0/output_0.pb", &t));
  f = t.data;
  cr_expect(t.dims[2] == 4 && t.dims[3] == 3 && f[0] == 12 && f[1] == 27 && f[2] == 24 && f[3] == 63);
  cr_expect(f[11] == 124 && sum_f32(&t) == 1190.0);
  cl_tensor_release(&t);
  cr_assert(suite_tensor("node/test_add_uint8/test_data_set_0/input_0.pb", &t));
  const uint8_t *u = t.data;
  cr_expect(t.dtype == CL_DTYPE_U8 && t.rank == 3 && t.nbytes == 60);
  cr_expect(u[0] == 12 && u[1] == 10 && u[2] == 12 && u[3] == 15);
  cl_tensor_release(&t);
  cr_assert(suite_tensor("node/test_adagrad/test_data_set_0/input_1.pb", &t));
  cr_expect(t.dtype == CL_DTYPE_I64 && t.rank == 0 && *(int64_t *)t.data == 0);
  cl_tensor_release(&t);
  cr_assert(suite_tensor("node/test_cast_DOUBLE_to_FLOAT16/test_data_set_0/output_0.pb", &t));
  const uint16_t *h = t.data;
  cr_expect(t.dtype == CL_DTYPE_F16 && h[0] == 12566 && h[1] == 12048 && h[2] == 14656 && h[3] == 12396);
  cl_tensor_release(&t);
}

/* Typed fields, as older files have them: int32_data for int8, float_data, unpacked dims. */
Test(tensorfile, pb_typed_fields) {
  /* dims 3 (unpacked), data_type INT8, int32_data packed [-1, 5, 127] */
  static const char pb_i8[] = "\x08\x03\x10\x03\x2a\x0c\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x05\x7f";
  cl_tensor t;
  cl_error err = {0};
  cr_assert_eq(cl_tensorfile_parse_pb(BYTES(pb_i8), &t, &err), CL_OK, "%s", err.msg);
  cr_expect(t.dtype == CL_DTYPE_I8 && t.nbytes == 3);
  cr_expect(((int8_t *)t.data)[0] == -1 && ((int8_t *)t.data)[1] == 5 && ((int8_t *)t.data)[2] == 127);
  cl_tensor_release(&t);
  /* dims packed [2], data_type FLOAT, float_data unpacked 1.0, 2.0 */
  static const char pb_f[] = "\x0a\x01\x02\x10\x01\x25\x00\x00\x80\x3f\x25\x00\x00\x00\x40";
  cr_assert_eq(cl_tensorfile_parse_pb(BYTES(pb_f), &t, &err), CL_OK, "%s", err.msg);
  cr_expect(t.rank == 1 && t.dims[0] == 2 && ((float *)t.data)[1] == 2.0f);
  cl_tensor_release(&t);
}

/* === Refusals === */

/* Raw files, and v1.0 headers given as (dict, payload) that get a correct length field. */
typedef struct bad_case {
  const char *bytes;    /* a whole file, or the header dict when payload is set */
  size_t n;
  const char *payload;
  size_t payload_n;
  cl_status status;
  const char *msg;
} bad_case;

#define RAW(s, st, m) {s, sizeof(s) - 1, NULL, 0, st, m}
#define HDR(d, p, st, m) {d, sizeof(d) - 1, p, sizeof(p) - 1, st, m}

static const bad_case npy_bad[] = {
  RAW("\x93NUMPX\x01\x00\x00\x00", CL_ERR_FORMAT, "bad magic"),
  RAW("\x93NUMPY\x04\x00\x00\x00", CL_ERR_UNSUPPORTED, "version 4.0"),
  RAW("\x93NUMPY\x01\x00\xff\x00{}", CL_ERR_FORMAT, "truncated in its header"),
  RAW("\x93NUMPY\x02\x00\x00\x00\x10\x00", CL_ERR_LIMIT, "header of 1048576 bytes"),
  HDR("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }\n", "", CL_ERR_UNSUPPORTED,
      "big-endian"),
  HDR("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }\n", "", CL_ERR_UNSUPPORTED,
      "fortran_order True"),
  HDR("{'descr': '<U5', 'fortran_order': False, 'shape': (1,), }\n", "", CL_ERR_UNSUPPORTED,
      "element type '<U5'"),
  HDR("{'descr': '<f4', 'fortran_order': False, 'shape': (1), }\n", "", CL_ERR_FORMAT, "not a tuple"),
  HDR("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}\n", "", CL_ERR_FORMAT,
      "unknown key 'x'"),
  HDR("{'descr': '<f4', 'descr': '<f4', 'shape': (1,), }\n", "", CL_ERR_FORMAT, "given twice"),
  HDR("{'descr': '<f4', 'shape': (1,), }\n", "", CL_ERR_FORMAT, "missing"),
  HDR("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }\n", "", CL_ERR_LIMIT,
      "rank above 8"),
  HDR("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999,), }\n", "", CL_ERR_LIMIT,
      "out of range"),
  HDR("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }\n", "", CL_ERR_FORMAT, "bad 'shape'"),
  HDR("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", "\0\0\0\0", CL_ERR_FORMAT,
      "data has 4 bytes, its header says 8"),
  HDR("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }  x\n", "\0\0\0\0", CL_ERR_FORMAT,
      "bytes after the dict"),
  HDR("{'descr': '|b1', 'fortran_order': False, 'shape': (1,), }\n", "\x02", CL_ERR_FORMAT,
      "bool value 2"),
  HDR("{'descr': '<f4' 'fortran_order': False, 'shape': (1,), }\n", "", CL_ERR_FORMAT,
      "expected ',' or '}'"),
  HDR("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", "\0\0\0\0\0", CL_ERR_FORMAT,
      "data has 5 bytes"),
};

/* The file a case describes (malloc'd). */
static uint8_t *case_bytes(const bad_case *c, size_t *n) {
  if (!c->payload) {
    uint8_t *b = malloc(c->n);
    memcpy(b, c->bytes, c->n);
    *n = c->n;
    return b;
  }
  *n = 10 + c->n + c->payload_n;
  uint8_t *b = malloc(*n);
  memcpy(b, "\x93NUMPY\x01\x00", 8);
  b[8] = (uint8_t)(c->n & 0xff);
  b[9] = (uint8_t)(c->n >> 8);
  memcpy(b + 10, c->bytes, c->n);
  memcpy(b + 10 + c->n, c->payload, c->payload_n);
  return b;
}

Test(tensorfile, npy_refusals) {
  for (size_t i = 0; i < sizeof npy_bad / sizeof npy_bad[0]; i++) {
    cl_tensor t;
    cl_error err = {0};
    size_t n;
    uint8_t *b = case_bytes(&npy_bad[i], &n);
    cl_status s = cl_tensorfile_parse_npy(b, n, &t, &err);
    free(b);
    cr_expect_eq(s, npy_bad[i].status, "case %zu: %s (%s)", i, cl_status_name(s), err.msg);
    cr_expect(strstr(err.msg, npy_bad[i].msg) != NULL, "case %zu: '%s' lacks '%s'", i, err.msg,
              npy_bad[i].msg);
    cr_expect(t.data == NULL && t.name == NULL);
  }
}

Test(tensorfile, truncated_at_every_byte) {
  for (size_t len = 0; len + 1 < sizeof NPY_I64_V2; len++) {
    cl_tensor t;
    cl_error err = {0};
    cl_status s = cl_tensorfile_parse_npy((const uint8_t *)NPY_I64_V2, len, &t, &err);
    cr_assert_neq(s, CL_OK, "prefix %zu", len);
    cr_assert(t.data == NULL);
  }
}

Test(tensorfile, file_errors, .init = make_tmpdir, .fini = remove_tmpdir) {
  cl_tensor t;
  cl_error err = {0};
  cr_expect_eq(cl_tensorfile_read("input.txt", &t, &err), CL_ERR_ARG);
  cr_expect(strstr(err.msg, "unknown tensor file extension") != NULL, "%s", err.msg);
  cl_error_clear(&err);
  cr_expect_eq(cl_tensorfile_read(tmp_path("missing.npy"), &t, &err), CL_ERR_IO);
  cr_expect(strstr(err.msg, "missing.npy") != NULL, "%s", err.msg);
  cl_error_clear(&err);
  cr_assert_eq(mkdir(tmp_path("dir.pb"), 0700), 0);
  cr_expect_eq(cl_tensorfile_read(tmp_path("dir.pb"), &t, &err), CL_ERR_IO);
  cr_expect(strstr(err.msg, "not a regular file") != NULL, "%s", err.msg);
  cl_error_clear(&err);
  FILE *f = fopen(tmp_path("bad.pb"), "wb");
  fwrite("\x08", 1, 1, f);   /* a truncated varint */
  fclose(f);
  cr_expect_eq(cl_tensorfile_read(tmp_path("bad.pb"), &t, &err), CL_ERR_FORMAT);
  cr_expect(strstr(err.msg, "bad.pb': tensor file is truncated or corrupt") != NULL, "%s", err.msg);
}

Test(tensorfile, write_refusals, .init = make_tmpdir, .fini = remove_tmpdir) {
  cl_tensor t;
  cl_error err = {0};
  cr_assert_eq(cl_tensor_alloc(&t, NULL, CL_DTYPE_BF16, 1, (int64_t[]){2}, &err), CL_OK);
  cr_expect_eq(cl_tensorfile_write(tmp_path("x.npy"), &t, &err), CL_ERR_UNSUPPORTED);
  cr_expect(strstr(err.msg, "bfloat16 has no .npy equivalent") != NULL, "%s", err.msg);
  cr_expect(access(tmp_path("x.npy"), F_OK) != 0, "a failed write leaves no file");
  cl_error_clear(&err);
  t.nbytes = 3;
  cr_expect_eq(cl_tensorfile_write(tmp_path("x.pb"), &t, &err), CL_ERR_ARG);
  cl_error_clear(&err);
  t.nbytes = 4;
  cr_expect_eq(cl_tensorfile_write(tmp_path("x.bin"), &t, &err), CL_ERR_ARG);
  cl_error_clear(&err);
  cr_expect_eq(cl_tensorfile_write("/nonexistent-dir/x.pb", &t, &err), CL_ERR_IO);
  cl_tensor_release(&t);
}

Test(tensorfile, random_bytes) {
  uint64_t state = 12345;
  uint8_t buf[300];
  memcpy(buf, NPY_F32_V1, 10);
  for (int r = 0; r < 5000; r++) {
    size_t n = (size_t)(r % 300);
    for (size_t i = r % 2 ? 10 : 0; i < n; i++) {
      state = state * 6364136223846793005u + 1442695040888963407u;
      buf[i] = (uint8_t)(state >> 56);
    }
    cl_tensor t;
    cl_error err = {0};
    if (cl_tensorfile_parse_npy(buf, n, &t, &err) == CL_OK) cl_tensor_release(&t);
    else cr_assert(err.msg[0] != '\0');
    cl_error_clear(&err);
    if (cl_tensorfile_parse_pb(buf, n, &t, &err) == CL_OK) cl_tensor_release(&t);
    else cr_assert(err.msg[0] != '\0');
  }
}
