/* cleave: ONNX reader (placeholder until it lands). */
#include "model/onnx_reader.h"

cl_status cl_onnx_decode(cl_graph *g, const uint8_t *buf, size_t len, cl_error *err) {
  (void)g; (void)buf; (void)len;
  return cl_error_set(err, CL_ERR_UNSUPPORTED, "ONNX reader not built yet");
}

cl_status cl_onnx_decode_tensor(const uint8_t *buf, size_t len, cl_tensor *out, cl_error *err) {
  (void)buf; (void)len; (void)out;
  return cl_error_set(err, CL_ERR_UNSUPPORTED, "ONNX reader not built yet");
}
