/* cleave: element types, shape arithmetic and host tensors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/tensor.h"

size_t cl_dtype_size(cl_dtype t) {
  switch (t) {
  case CL_DTYPE_F32: case CL_DTYPE_I32: case CL_DTYPE_U32: return 4;
  case CL_DTYPE_U8: case CL_DTYPE_I8: case CL_DTYPE_BOOL: return 1;
  case CL_DTYPE_U16: case CL_DTYPE_I16: case CL_DTYPE_F16: case CL_DTYPE_BF16: return 2;
  case CL_DTYPE_I64: case CL_DTYPE_F64: case CL_DTYPE_U64: return 8;
  default: return 0;
  }
}

const char *cl_dtype_name(cl_dtype t) {
  switch (t) {
  case CL_DTYPE_F32: return "float";
  case CL_DTYPE_U8: return "uint8";
  case CL_DTYPE_I8: return "int8";
  case CL_DTYPE_U16: return "uint16";
  case CL_DTYPE_I16: return "int16";
  case CL_DTYPE_I32: return "int32";
  case CL_DTYPE_I64: return "int64";
  case CL_DTYPE_STRING: return "string";
  case CL_DTYPE_BOOL: return "bool";
  case CL_DTYPE_F16: return "float16";
  case CL_DTYPE_F64: return "double";
  case CL_DTYPE_U32: return "uint32";
  case CL_DTYPE_U64: return "uint64";
  case CL_DTYPE_BF16: return "bfloat16";
  default: return "unknown";
  }
}

cl_status cl_shape_numel(int rank, const int64_t *dims, size_t elem_size, size_t *numel_out,
                         cl_error *err) {
  if (rank < 0 || rank > CL_MAX_RANK)
    return cl_error_set(err, CL_ERR_LIMIT, "rank %d outside 0..%d", rank, CL_MAX_RANK);
  size_t n = 1;
  int empty = 0;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0 || dims[i] > CL_MAX_DIM) {
      char buf[160];
      return cl_error_set(err, CL_ERR_LIMIT, "dimension %lld of shape %s is out of range",
                          (long long)dims[i], cl_shape_str(rank, dims, buf, sizeof buf));
    }
    if (dims[i] == 0) empty = 1;
  }
  for (int i = 0; i < rank && !empty; i++) {
    size_t d = (size_t)dims[i];
    if (n > CL_MAX_TENSOR_BYTES / d) n = CL_MAX_TENSOR_BYTES + 1; /* saturate */
    else n *= d;
  }
  if (empty) n = 0;
  size_t es = elem_size ? elem_size : 1;
  if (n > CL_MAX_TENSOR_BYTES / es) {
    char buf[160];
    return cl_error_set(err, CL_ERR_LIMIT, "tensor of shape %s is larger than %zu bytes",
                        cl_shape_str(rank, dims, buf, sizeof buf), (size_t)CL_MAX_TENSOR_BYTES);
  }
  *numel_out = n;
  return CL_OK;
}

char *cl_shape_str(int rank, const int64_t *dims, char *buf, size_t cap) {
  size_t used = 0;
  if (cap == 0) return buf;
  buf[0] = '\0';
  used += (size_t)snprintf(buf + used, cap - used, "[");
  for (int i = 0; i < rank && i < CL_MAX_RANK && used < cap; i++)
    used += (size_t)snprintf(buf + used, cap - used, i ? ",%lld" : "%lld", (long long)dims[i]);
  if (used < cap) snprintf(buf + used, cap - used, "]");
  return buf;
}

cl_status cl_tensor_alloc(cl_tensor *t, const char *name, cl_dtype dtype, int rank,
                          const int64_t *dims, cl_error *err) {
  memset(t, 0, sizeof *t);
  size_t es = cl_dtype_size(dtype), numel;
  if (es == 0)
    return cl_error_set(err, CL_ERR_UNSUPPORTED, "tensor type %s is not supported",
                        cl_dtype_name(dtype));
  cl_status s = cl_shape_numel(rank, dims, es, &numel, err);
  if (s != CL_OK) return s;
  size_t nbytes = numel * es;
  size_t alloc = (nbytes + 63) / 64 * 64 + 64;   /* room for SIMD over-reads */
  void *data = aligned_alloc(64, alloc);
  char *nm = name ? strdup(name) : NULL;
  if (!data || (name && !nm)) {
    free(data);
    free(nm);
    return cl_error_set(err, CL_ERR_NOMEM, "out of memory allocating %zu bytes", nbytes);
  }
  memset(data, 0, alloc);
  t->name = nm;
  t->dtype = dtype;
  t->rank = rank;
  memcpy(t->dims, dims, (size_t)rank * sizeof *dims);
  t->data = data;
  t->nbytes = nbytes;
  t->owns_data = 1;
  return CL_OK;
}

void cl_tensor_release(cl_tensor *t) {
  if (!t) return;
  if (t->owns_data) free(t->data);
  free(t->name);
  memset(t, 0, sizeof *t);
}
