/* cleave internal: what tensorfile.c, tensorfile_npy.c and tensorfile_pb.c share. */
#ifndef CLEAVE_TENSOR_TENSORFILE_INTERNAL_H
#define CLEAVE_TENSOR_TENSORFILE_INTERNAL_H

#include <stdio.h>

#include "cleave/tensorfile.h"

/* A .npy header longer than this is refused (numpy itself writes a few hundred bytes at most). */
#define CL_NPY_MAX_HEADER 65536

/* Checks that t can be written: a known dtype, rank 0..CL_MAX_RANK, nbytes matching the shape, data
 * present when nbytes > 0. CL_ERR_ARG otherwise. */
cl_status cl_tensorfile_check(const cl_tensor *t, cl_error *err) CL_MUST_CHECK;

/* Writes nbytes of elements of es bytes to f in little-endian order. Returns 0 or -1 (errno set). */
int cl_tensorfile_write_le(FILE *f, const void *data, size_t nbytes, size_t es);

/* Write t (checked) to f in each format. CL_ERR_IO (with errno's text), CL_ERR_UNSUPPORTED (a dtype
 * the format has no name for). */
cl_status cl_tensorfile_npy_write(FILE *f, const cl_tensor *t, cl_error *err) CL_MUST_CHECK;
cl_status cl_tensorfile_pb_write(FILE *f, const cl_tensor *t, cl_error *err) CL_MUST_CHECK;

#endif
