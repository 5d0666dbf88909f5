/* cleave: ONNX TensorProto decoding: initializers, Constant values, tensor attributes and .pb tensor
 * files. raw_data is used where it lies when aligned, typed fields are converted. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/onnx_internal.h"
#include "model/onnx_reader.h"

/* === Decoding ===
 * Two passes over the message, so that typed values are bounded by the declared shape: the first
 * reads the shape, the type, raw_data and names and only counts typed fields; when there are some,
 * the second collects them, each field limited to the shape's element count. */

/* The typed field that holds a dtype's values, as ONNX says. */
static const onnx_nums *typed_field(const onnx_tensor_msg *m, cl_dtype t) {
  switch (t) {
  case CL_DTYPE_F32: return &m->f32;
  case CL_DTYPE_I32: case CL_DTYPE_I16: case CL_DTYPE_I8: case CL_DTYPE_U16: case CL_DTYPE_U8:
  case CL_DTYPE_BOOL: case CL_DTYPE_F16: case CL_DTYPE_BF16: return &m->i32;
  case CL_DTYPE_I64: return &m->i64;
  case CL_DTYPE_F64: return &m->f64;
  case CL_DTYPE_U32: case CL_DTYPE_U64: return &m->u64;
  default: return NULL;
  }
}

/* Pass 1: everything but the typed values, which are only counted. */
static cl_status parse_layout(const onnx_src *src, const uint8_t *p, size_t n, onnx_tensor_msg *m,
                              int *n_typed) {
  onnx_TensorProto *pb = &m->pb;
  onnx_bind(&pb->dims, onnx_cb_nums, &m->dims);
  onnx_bind(&pb->name, onnx_cb_str, &m->name);
  onnx_bind(&pb->raw_data, onnx_cb_str, &m->raw);
  onnx_bind(&pb->string_data, onnx_cb_count, &m->n_strings);
  onnx_bind(&pb->external_data, onnx_cb_count, &m->n_external);
  onnx_bind(&pb->float_data, onnx_cb_count, n_typed);
  onnx_bind(&pb->int32_data, onnx_cb_count, n_typed);
  onnx_bind(&pb->int64_data, onnx_cb_count, n_typed);
  onnx_bind(&pb->double_data, onnx_cb_count, n_typed);
  onnx_bind(&pb->uint64_data, onnx_cb_count, n_typed);
  return onnx_decode_msg(src, p, n, onnx_TensorProto_fields, pb);
}

/* Entries the dtype's typed field may hold: the shape's element count when the shape and type are
 * valid, else 0 (onnx_tensor_check then reports the shape or the type). */
static size_t typed_limit(const onnx_tensor_msg *m) {
  cl_dtype dt = m->pb.has_data_type ? (cl_dtype)m->pb.data_type : CL_DTYPE_UNDEFINED;
  size_t es = cl_dtype_size(dt), numel;
  int64_t dims[CL_MAX_RANK];
  cl_error tmp = {0};
  if (es == 0 || m->dims.overflow) return 0;
  if (m->dims.n > 0) memcpy(dims, m->dims.v, m->dims.n * sizeof *dims);
  return cl_shape_numel((int)m->dims.n, dims, es, &numel, &tmp) == CL_OK ? numel : 0;
}

/* Pass 2: the typed values; a field other than the dtype's may hold none. */
static cl_status parse_values(const onnx_src *src, const uint8_t *p, size_t n, onnx_tensor_msg *m) {
  size_t limit = typed_limit(m);
  cl_dtype dt = m->pb.has_data_type ? (cl_dtype)m->pb.data_type : CL_DTYPE_UNDEFINED;
  const onnx_nums *want = typed_field(m, dt);
  onnx_nums_init(&m->f32, src, ONNX_NUM_F32, want == &m->f32 ? limit : 0);
  onnx_nums_init(&m->i32, src, ONNX_NUM_I32, want == &m->i32 ? limit : 0);
  onnx_nums_init(&m->i64, src, ONNX_NUM_I64, want == &m->i64 ? limit : 0);
  onnx_nums_init(&m->f64, src, ONNX_NUM_F64, want == &m->f64 ? limit : 0);
  onnx_nums_init(&m->u64, src, ONNX_NUM_U64, want == &m->u64 ? limit : 0);
  onnx_TensorProto pb;
  memset(&pb, 0, sizeof pb);
  onnx_bind(&pb.float_data, onnx_cb_nums, &m->f32);
  onnx_bind(&pb.int32_data, onnx_cb_nums, &m->i32);
  onnx_bind(&pb.int64_data, onnx_cb_nums, &m->i64);
  onnx_bind(&pb.double_data, onnx_cb_nums, &m->f64);
  onnx_bind(&pb.uint64_data, onnx_cb_nums, &m->u64);
  return onnx_decode_msg(src, p, n, onnx_TensorProto_fields, &pb);
}

cl_status onnx_tensor_parse(const onnx_src *src, const uint8_t *p, size_t n, onnx_tensor_msg *m) {
  memset(m, 0, sizeof *m);
  m->name.src = src;
  m->raw.src = src;
  onnx_nums_init(&m->dims, src, ONNX_NUM_I64, CL_MAX_RANK);
  int n_typed = 0;
  cl_status s = parse_layout(src, p, n, m, &n_typed);
  if (s == CL_OK && n_typed > 0) s = parse_values(src, p, n, m);
  return s;
}

void onnx_tensor_msg_free(onnx_tensor_msg *m) {
  onnx_nums_free(&m->dims);
  onnx_nums_free(&m->f32);
  onnx_nums_free(&m->i32);
  onnx_nums_free(&m->i64);
  onnx_nums_free(&m->f64);
  onnx_nums_free(&m->u64);
}

/* === Checking === */

static const char *field_name(const onnx_tensor_msg *m, const onnx_nums *f) {
  if (f == &m->f32) return "float_data";
  if (f == &m->i32) return "int32_data";
  if (f == &m->i64) return "int64_data";
  if (f == &m->f64) return "double_data";
  return "uint64_data";
}

static cl_status check_kind(const onnx_src *src, const onnx_tensor_msg *m, const char *what,
                            const onnx_tensor_info *ti) {
  if (m->n_external > 0 || (m->pb.has_data_location &&
                            m->pb.data_location == onnx_TensorProto_DataLocation_EXTERNAL))
    return cl_error_set(src->err, CL_ERR_UNSUPPORTED, "%s: external data is not supported", what);
  if (m->pb.has_segment)
    return cl_error_set(src->err, CL_ERR_UNSUPPORTED, "%s: segmented tensors are not supported", what);
  if (ti->dtype == CL_DTYPE_STRING || m->n_strings > 0)
    return cl_error_set(src->err, CL_ERR_UNSUPPORTED, "%s: string tensors are not supported", what);
  if (cl_dtype_size(ti->dtype) == 0)
    return cl_error_set(src->err, CL_ERR_UNSUPPORTED, "%s: data type %d (%s) is not supported", what,
                        (int)ti->dtype, ti->dtype == 0 ? "undefined" : cl_dtype_name(ti->dtype));
  if (m->dims.overflow)
    return cl_error_set(src->err, CL_ERR_LIMIT, "%s: rank above %d", what, CL_MAX_RANK);
  return CL_OK;
}

static cl_status check_bools(const onnx_src *src, const char *what, const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (b[i] > 1)
      return cl_error_set(src->err, CL_ERR_FORMAT, "%s: bool value %u is neither 0 nor 1", what, b[i]);
  return CL_OK;
}

static cl_status check_raw(const onnx_src *src, const onnx_tensor_msg *m, const char *what,
                           const onnx_tensor_info *ti) {
  if (m->raw.n != ti->nbytes) {
    char sh[160];
    return cl_error_set(src->err, CL_ERR_FORMAT, "%s: raw_data has %zu bytes, shape %s of %s needs %zu",
                        what, m->raw.n, cl_shape_str(ti->rank, ti->dims, sh, sizeof sh),
                        cl_dtype_name(ti->dtype), ti->nbytes);
  }
  if (ti->dtype == CL_DTYPE_BOOL) return check_bools(src, what, m->raw.p, m->raw.n);
  return CL_OK;
}

static cl_status check_typed(const onnx_src *src, const onnx_tensor_msg *m, const char *what,
                             const onnx_tensor_info *ti) {
  const onnx_nums *want = typed_field(m, ti->dtype);
  const onnx_nums *all[] = {&m->f32, &m->i32, &m->i64, &m->f64, &m->u64};
  char sh[160];
  cl_shape_str(ti->rank, ti->dims, sh, sizeof sh);
  for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
    if (all[k] != want && (all[k]->n > 0 || all[k]->overflow))
      return cl_error_set(src->err, CL_ERR_FORMAT, "%s: %s given for a %s tensor", what,
                          field_name(m, all[k]), cl_dtype_name(ti->dtype));
  if (want->overflow)
    return cl_error_set(src->err, CL_ERR_FORMAT, "%s: more values in %s than shape %s holds (%zu)", what,
                        field_name(m, want), sh, ti->numel);
  if (want->n != ti->numel) {
    if (want->n == 0)
      return cl_error_set(src->err, CL_ERR_FORMAT, "%s: no data for shape %s", what, sh);
    return cl_error_set(src->err, CL_ERR_FORMAT, "%s: %zu values in %s, shape %s needs %zu", what,
                        want->n, field_name(m, want), sh, ti->numel);
  }
  if (ti->dtype == CL_DTYPE_BOOL) {
    const int32_t *v = want->v;
    for (size_t i = 0; i < want->n; i++)
      if (v[i] != 0 && v[i] != 1)
        return cl_error_set(src->err, CL_ERR_FORMAT, "%s: bool value %d is neither 0 nor 1", what,
                            (int)v[i]);
  }
  return CL_OK;
}

cl_status onnx_tensor_check(const onnx_src *src, const onnx_tensor_msg *m, const char *what,
                            onnx_tensor_info *ti) {
  memset(ti, 0, sizeof *ti);
  ti->dtype = m->pb.has_data_type ? (cl_dtype)m->pb.data_type : CL_DTYPE_UNDEFINED;
  cl_status s = check_kind(src, m, what, ti);
  if (s != CL_OK) return s;
  ti->rank = (int)m->dims.n;
  if (ti->rank > 0) memcpy(ti->dims, m->dims.v, (size_t)ti->rank * sizeof(int64_t));
  size_t es = cl_dtype_size(ti->dtype);
  cl_error tmp = {0};
  if (cl_shape_numel(ti->rank, ti->dims, es, &ti->numel, &tmp) != CL_OK)
    return cl_error_set(src->err, tmp.status, "%s: %s", what, tmp.msg);
  ti->nbytes = ti->numel * es;
  return m->raw.set ? check_raw(src, m, what, ti) : check_typed(src, m, what, ti);
}

/* === Data === */

const void *onnx_tensor_view(const onnx_tensor_msg *m, const onnx_tensor_info *ti) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  size_t es = cl_dtype_size(ti->dtype), align = es > 4 ? es : 4;
  if (!m->raw.set || ti->nbytes == 0 || (uintptr_t)m->raw.p % align != 0) return NULL;
  return m->raw.p;
#else
  (void)m;
  (void)ti;
  return NULL;
#endif
}

static void fill_raw(const onnx_tensor_msg *m, const onnx_tensor_info *ti, uint8_t *dst) {
  memcpy(dst, m->raw.p, ti->nbytes);
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
  size_t es = cl_dtype_size(ti->dtype);   /* raw_data is little-endian: swap on big-endian hosts */
  for (size_t i = 0; es > 1 && i < ti->numel; i++)
    for (size_t a = 0, b = es - 1; a < b; a++, b--) {
      uint8_t t = dst[i * es + a];
      dst[i * es + a] = dst[i * es + b];
      dst[i * es + b] = t;
    }
#endif
}

/* int32_data holds every narrow type, one value per entry (float16 as its bit pattern). */
static void fill_narrow(const int32_t *v, size_t n, size_t es, uint8_t *dst) {
  for (size_t i = 0; i < n; i++) {
    uint32_t u = (uint32_t)v[i];
    if (es == 1) {
      dst[i] = (uint8_t)u;
    } else {
      uint16_t h = (uint16_t)u;
      memcpy(dst + 2 * i, &h, 2);
    }
  }
}

void onnx_tensor_fill(const onnx_tensor_msg *m, const onnx_tensor_info *ti, void *dst) {
  if (ti->nbytes == 0) return;
  if (m->raw.set) {
    fill_raw(m, ti, dst);
    return;
  }
  const onnx_nums *f = typed_field(m, ti->dtype);
  size_t es = cl_dtype_size(ti->dtype);
  if (ti->dtype == CL_DTYPE_U32) {
    const uint64_t *v = f->v;
    for (size_t i = 0; i < ti->numel; i++) {
      uint32_t u = (uint32_t)v[i];
      memcpy((uint8_t *)dst + 4 * i, &u, 4);
    }
  } else if (es == onnx_num_size(f->kind)) {
    memcpy(dst, f->v, ti->nbytes);
  } else {
    fill_narrow(f->v, ti->numel, es, dst);
  }
}

/* === One TensorProto (tensor files, fuzzers) === */

static cl_status decode_tensor(const onnx_src *src, cl_tensor *out) {
  onnx_tensor_msg m;
  onnx_tensor_info ti;
  char name[CL_ONNX_MAX_NAME + 1], what[CL_ONNX_MAX_NAME + 16];
  cl_status s = onnx_tensor_parse(src, src->buf, src->len, &m);
  if (s == CL_OK && m.name.n > 0)
    s = onnx_name(src, m.name.p, m.name.n, name, sizeof name, "tensor name");
  if (s == CL_OK) {
    if (m.name.n > 0) snprintf(what, sizeof what, "tensor '%s'", name);
    else snprintf(what, sizeof what, "tensor");
    s = onnx_tensor_check(src, &m, what, &ti);
  }
  if (s == CL_OK)
    s = cl_tensor_alloc(out, m.name.n > 0 ? name : NULL, ti.dtype, ti.rank, ti.dims, src->err);
  if (s == CL_OK) onnx_tensor_fill(&m, &ti, out->data);
  onnx_tensor_msg_free(&m);
  return s;
}

cl_status cl_onnx_decode_tensor(const uint8_t *buf, size_t len, cl_tensor *out, cl_error *err) {
  assert(out != NULL && (buf != NULL || len == 0));
  memset(out, 0, sizeof *out);
  cl_error e = {0};
  onnx_src src = {.buf = buf, .len = len, .what = "tensor file", .err = &e};
  if (decode_tensor(&src, out) == CL_OK) return CL_OK;
  cl_tensor_release(out);
  return cl_error_set(err, e.status, "%s", e.msg);
}
