/* cleave: element types, shapes and host tensors.
 *
 * A cl_tensor is a dense row-major tensor in host memory, in ONNX's (logical) dimension order. It is
 * what tensor files hold and what callers hand to and get from the runtime. Inside the runtime,
 * activations may be stored channels-last; that never shows through this type. */
#ifndef CLEAVE_TENSOR_H
#define CLEAVE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "cleave/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element types, numbered as ONNX's TensorProto.DataType. */
typedef enum cl_dtype {
  CL_DTYPE_UNDEFINED = 0,
  CL_DTYPE_F32 = 1,
  CL_DTYPE_U8 = 2,
  CL_DTYPE_I8 = 3,
  CL_DTYPE_U16 = 4,
  CL_DTYPE_I16 = 5,
  CL_DTYPE_I32 = 6,
  CL_DTYPE_I64 = 7,
  CL_DTYPE_STRING = 8, /* never held by a cl_tensor; named in errors only */
  CL_DTYPE_BOOL = 9,   /* one byte per element, 0 or 1 */
  CL_DTYPE_F16 = 10,
  CL_DTYPE_F64 = 11,
  CL_DTYPE_U32 = 12,
  CL_DTYPE_U64 = 13,
  CL_DTYPE_BF16 = 16,
} cl_dtype;

/* Bytes per element, 0 for UNDEFINED, STRING and unknown values. */
size_t cl_dtype_size(cl_dtype t);
/* ONNX-style name ("float", "int64", ...), or "unknown". Never NULL. */
const char *cl_dtype_name(cl_dtype t);

#define CL_MAX_RANK 8
/* Limits on anything read from outside: more is refused with CL_ERR_LIMIT. */
#define CL_MAX_DIM ((int64_t)1 << 31)            /* one dimension */
#define CL_MAX_TENSOR_BYTES ((size_t)1 << 32)     /* one tensor: 4 GiB */

/* Number of elements of a shape; rank 0 is a scalar (1 element). Checks every dimension is in
 * [0, CL_MAX_DIM] and that numel * elem_size stays under CL_MAX_TENSOR_BYTES; CL_ERR_LIMIT otherwise. */
cl_status cl_shape_numel(int rank, const int64_t *dims, size_t elem_size, size_t *numel_out,
                         cl_error *err) CL_MUST_CHECK;

/* Writes "[1,3,224,224]" into buf (always NUL-terminated, truncated to cap). Returns buf. */
char *cl_shape_str(int rank, const int64_t *dims, char *buf, size_t cap);

typedef struct cl_tensor {
  char *name;                  /* owned (malloc) or NULL */
  cl_dtype dtype;
  int rank;                    /* 0..CL_MAX_RANK */
  int64_t dims[CL_MAX_RANK];   /* logical (ONNX) order */
  void *data;                  /* nbytes of elements, row-major; owned iff owns_data */
  size_t nbytes;
  int owns_data;               /* 1: cl_tensor_release frees data */
} cl_tensor;

/* Allocates a zeroed tensor of the given type and shape into *t (whose previous contents are
 * ignored); name may be NULL and is copied. 64-byte aligned data. Errors: CL_ERR_LIMIT, CL_ERR_NOMEM. */
cl_status cl_tensor_alloc(cl_tensor *t, const char *name, cl_dtype dtype, int rank,
                          const int64_t *dims, cl_error *err) CL_MUST_CHECK;

/* Frees what t owns and zeroes it. Safe on a zeroed or already released tensor. */
void cl_tensor_release(cl_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
