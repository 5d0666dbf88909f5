/* cleave: tensor files.
 *
 * Two formats, chosen by the file name's extension:
 *   .pb   one serialized ONNX TensorProto (the format of the ONNX test suites), raw_data or typed
 *         fields (float_data, int32_data, int64_data, double_data, uint64_data);
 *   .npy  NumPy's format, version 1.0, 2.0 or 3.0, little-endian, C order (fortran_order False).
 * Files are untrusted: every length is checked before use, shapes go through cl_shape_numel, and a
 * file whose payload does not match its header is refused with CL_ERR_FORMAT. */
#ifndef CLEAVE_TENSORFILE_H
#define CLEAVE_TENSORFILE_H

#include <stddef.h>
#include <stdint.h>

#include "cleave/status.h"
#include "cleave/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads a tensor file into *out (which then owns its data and name; release with cl_tensor_release).
 * Errors: CL_ERR_ARG (unknown extension), CL_ERR_IO, CL_ERR_FORMAT, CL_ERR_UNSUPPORTED (string or
 * big-endian data), CL_ERR_LIMIT. On error *out is left released. */
cl_status cl_tensorfile_read(const char *path, cl_tensor *out, cl_error *err) CL_MUST_CHECK;

/* Writes t to path in the format its extension names. The caller keeps t. */
cl_status cl_tensorfile_write(const char *path, const cl_tensor *t, cl_error *err) CL_MUST_CHECK;

/* The same parsers over bytes in memory (used by the fuzzers). buf is only read during the call. */
cl_status cl_tensorfile_parse_pb(const uint8_t *buf, size_t len, cl_tensor *out,
                                 cl_error *err) CL_MUST_CHECK;
cl_status cl_tensorfile_parse_npy(const uint8_t *buf, size_t len, cl_tensor *out,
                                  cl_error *err) CL_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
