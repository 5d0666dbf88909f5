/* cleave: ONNX TensorProto (.pb) tensor files. Reading shares the ONNX reader's TensorProto decoder;
 * writing emits dims, data_type, name and raw_data, in field order, as ONNX's own serializer does. */
#include <errno.h>
#include <pb_encode.h>
#include <string.h>

#include "model/onnx_reader.h"
#include "tensor/tensorfile_internal.h"

/* TensorProto field numbers (onnx.proto). */
enum { PB_DIMS = 1, PB_DATA_TYPE = 2, PB_NAME = 8, PB_RAW_DATA = 9 };

cl_status cl_tensorfile_parse_pb(const uint8_t *buf, size_t len, cl_tensor *out, cl_error *err) {
  return cl_onnx_decode_tensor(buf, len, out, err);
}

static bool file_write(pb_ostream_t *stream, const pb_byte_t *buf, size_t count) {
  return fwrite(buf, 1, count, (FILE *)stream->state) == count;
}

/* raw_data as tag, length, then the elements little-endian (not through nanopb: no copy). */
static bool write_raw(pb_ostream_t *os, FILE *f, const cl_tensor *t) {
  if (!pb_encode_tag(os, PB_WT_STRING, PB_RAW_DATA) || !pb_encode_varint(os, t->nbytes)) return false;
  return cl_tensorfile_write_le(f, t->data, t->nbytes, cl_dtype_size(t->dtype)) == 0;
}

cl_status cl_tensorfile_pb_write(FILE *f, const cl_tensor *t, cl_error *err) {
  pb_ostream_t os = {.callback = file_write, .state = f, .max_size = SIZE_MAX};
  bool ok = true;
  for (int i = 0; ok && i < t->rank; i++)
    ok = pb_encode_tag(&os, PB_WT_VARINT, PB_DIMS) && pb_encode_varint(&os, (uint64_t)t->dims[i]);
  ok = ok && pb_encode_tag(&os, PB_WT_VARINT, PB_DATA_TYPE) && pb_encode_varint(&os, (uint64_t)t->dtype);
  if (ok && t->name && t->name[0])
    ok = pb_encode_tag(&os, PB_WT_STRING, PB_NAME) &&
         pb_encode_string(&os, (const pb_byte_t *)t->name, strlen(t->name));
  ok = ok && write_raw(&os, f, t);
  if (!ok) return cl_error_set(err, CL_ERR_IO, "write failed: %s", errno ? strerror(errno) : "?");
  return CL_OK;
}
