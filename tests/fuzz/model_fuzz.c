/* cleave fuzzer: the whole model loader (cl_model_load_buffer: reader, sort, shape inference,
 * folding, fusion, layouts) on arbitrary bytes. The model's own input shapes are tried first; when
 * they do not bind, one float input of a small fixed shape [1,3,8,8]. */
#include <stdint.h>
#include <stdlib.h>

#include "cleave/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cl_model_t *m = NULL;
  cl_error err = {0};
  cl_model_options opt = {.max_file_bytes = 1 << 20};
  cl_status s = cl_model_load_buffer(data, size, &opt, &m, &err);
  if (s == CL_ERR_SHAPE || s == CL_ERR_ARG) {
    cl_tensor in = {.dtype = CL_DTYPE_F32, .rank = 4, .dims = {1, 3, 8, 8}};
    opt.inputs = &in;
    opt.n_inputs = 1;
    cl_error_clear(&err);
    s = cl_model_load_buffer(data, size, &opt, &m, &err);
  }
  if (s == CL_OK) {
    int n = cl_model_node_count(m);
    for (int k = 0; k <= n; k++) (void)cl_model_frontier(m, k, NULL, 0);
    cl_model_free(&m);
  } else if (err.msg[0] == '\0' || m != NULL) {
    abort();
  }
  return 0;
}
