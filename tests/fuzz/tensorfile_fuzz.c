/* cleave fuzzer: both tensor-file parsers (.npy and .pb) on arbitrary bytes. A tensor that parses is
 * written back in its format and parsed again: the round trip must give the same tensor. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/tensorfile.h"
#include "tensor/tensorfile_internal.h"

typedef cl_status (*parse_fn)(const uint8_t *, size_t, cl_tensor *, cl_error *);
typedef cl_status (*write_fn)(FILE *, const cl_tensor *, cl_error *);

static void same(const cl_tensor *a, const cl_tensor *b) {
  if (a->dtype != b->dtype || a->rank != b->rank || a->nbytes != b->nbytes) abort();
  if (memcmp(a->dims, b->dims, (size_t)a->rank * sizeof a->dims[0]) != 0) abort();
  if (a->nbytes && memcmp(a->data, b->data, a->nbytes) != 0) abort();
}

static void round_trip(const cl_tensor *t, parse_fn parse, write_fn write) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return;
  cl_error err = {0};
  cl_status s = write(f, t, &err);
  fclose(f);
  if (s == CL_OK) {
    cl_tensor back;
    if (parse((const uint8_t *)buf, len, &back, &err) != CL_OK) abort();
    same(t, &back);
    cl_tensor_release(&back);
  } else if (s != CL_ERR_UNSUPPORTED) {   /* bfloat16 has no .npy name */
    abort();
  }
  free(buf);
}

static void one(const uint8_t *data, size_t size, parse_fn parse, write_fn write) {
  cl_tensor t;
  cl_error err = {0};
  if (parse(data, size, &t, &err) == CL_OK) {
    cl_error e2 = {0};
    if (cl_tensorfile_check(&t, &e2) != CL_OK) abort();
    round_trip(&t, parse, write);
    cl_tensor_release(&t);
  } else if (err.msg[0] == '\0' || t.data != NULL || t.name != NULL) {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  one(data, size, cl_tensorfile_parse_npy, cl_tensorfile_npy_write);
  one(data, size, cl_tensorfile_parse_pb, cl_tensorfile_pb_write);
  return 0;
}
