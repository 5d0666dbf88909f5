/* cleave: tensor files: choosing the format by extension, reading a file in one piece, writing. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tensor/tensorfile_internal.h"

/* Room for the format's framing around the largest tensor (.pb typed fields may take more). */
#define TF_MAX_FILE_BYTES (CL_MAX_TENSOR_BYTES + ((size_t)1 << 20))

typedef enum tf_format { TF_UNKNOWN, TF_PB, TF_NPY } tf_format;

static tf_format format_of(const char *path) {
  const char *dot = strrchr(path, '.');
  if (dot && strchr(dot, '/') == NULL) {
    if (strcasecmp(dot, ".pb") == 0) return TF_PB;
    if (strcasecmp(dot, ".npy") == 0) return TF_NPY;
  }
  return TF_UNKNOWN;
}

static cl_status unknown_extension(const char *path, cl_error *err) {
  return cl_error_set(err, CL_ERR_ARG, "'%s': unknown tensor file extension (expected .pb or .npy)",
                      path);
}

/* === Reading === */

/* The whole file in one malloc'd buffer. */
static cl_status slurp(const char *path, uint8_t **buf, size_t *len, cl_error *err) {
  *buf = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cl_error_set(err, CL_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
  struct stat st;
  cl_status s = CL_OK;
  if (fstat(fd, &st) != 0)
    s = cl_error_set(err, CL_ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
  else if (!S_ISREG(st.st_mode)) s = cl_error_set(err, CL_ERR_IO, "'%s' is not a regular file", path);
  else if ((uint64_t)st.st_size > TF_MAX_FILE_BYTES)
    s = cl_error_set(err, CL_ERR_LIMIT, "'%s' is larger than %zu bytes", path, TF_MAX_FILE_BYTES);
  size_t size = s == CL_OK ? (size_t)st.st_size : 0, got = 0;
  if (s == CL_OK && !(*buf = malloc(size ? size : 1)))
    s = cl_error_set(err, CL_ERR_NOMEM, "out of memory reading '%s' (%zu bytes)", path, size);
  while (s == CL_OK && got < size) {
    ssize_t r = read(fd, *buf + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) s = cl_error_set(err, CL_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    else if (r == 0) s = cl_error_set(err, CL_ERR_IO, "'%s' shrank while being read", path);
    else got += (size_t)r;
  }
  close(fd);
  if (s != CL_OK) {
    free(*buf);
    *buf = NULL;
  }
  *len = size;
  return s;
}

cl_status cl_tensorfile_read(const char *path, cl_tensor *out, cl_error *err) {
  assert(path != NULL && out != NULL);
  memset(out, 0, sizeof *out);
  tf_format fmt = format_of(path);
  if (fmt == TF_UNKNOWN) return unknown_extension(path, err);
  uint8_t *buf;
  size_t len;
  cl_status s = slurp(path, &buf, &len, err);
  if (s != CL_OK) return s;
  cl_error e = {0};
  s = fmt == TF_PB ? cl_tensorfile_parse_pb(buf, len, out, &e)
                   : cl_tensorfile_parse_npy(buf, len, out, &e);
  free(buf);
  if (s != CL_OK) return cl_error_set(err, s, "'%s': %s", path, e.msg);
  return CL_OK;
}

/* === Writing === */

cl_status cl_tensorfile_check(const cl_tensor *t, cl_error *err) {
  size_t es = cl_dtype_size(t->dtype), numel;
  if (es == 0)
    return cl_error_set(err, CL_ERR_ARG, "cannot write a tensor of type %s", cl_dtype_name(t->dtype));
  cl_error tmp = {0};
  if (cl_shape_numel(t->rank, t->dims, es, &numel, &tmp) != CL_OK)
    return cl_error_set(err, CL_ERR_ARG, "cannot write the tensor: %s", tmp.msg);
  if (t->nbytes != numel * es || (t->nbytes > 0 && t->data == NULL))
    return cl_error_set(err, CL_ERR_ARG, "tensor holds %zu bytes, its shape needs %zu", t->nbytes,
                        numel * es);
  return CL_OK;
}

int cl_tensorfile_write_le(FILE *f, const void *data, size_t nbytes, size_t es) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  (void)es;
  return nbytes == 0 || fwrite(data, 1, nbytes, f) == nbytes ? 0 : -1;
#else
  const uint8_t *p = data;
  uint8_t tmp[8];
  for (size_t i = 0; i < nbytes; i += es) {
    for (size_t k = 0; k < es; k++) tmp[k] = p[i + es - 1 - k];
    if (fwrite(tmp, 1, es, f) != es) return -1;
  }
  return 0;
#endif
}

cl_status cl_tensorfile_write(const char *path, const cl_tensor *t, cl_error *err) {
  assert(path != NULL && t != NULL);
  tf_format fmt = format_of(path);
  if (fmt == TF_UNKNOWN) return unknown_extension(path, err);
  cl_error e = {0};
  cl_status s = cl_tensorfile_check(t, &e);
  if (s != CL_OK) return cl_error_set(err, s, "'%s': %s", path, e.msg);
  FILE *f = fopen(path, "wb");
  if (!f) return cl_error_set(err, CL_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
  s = fmt == TF_PB ? cl_tensorfile_pb_write(f, t, &e) : cl_tensorfile_npy_write(f, t, &e);
  if (fclose(f) != 0 && s == CL_OK) s = cl_error_set(&e, CL_ERR_IO, "%s", strerror(errno));
  if (s == CL_OK) return CL_OK;
  remove(path);
  return cl_error_set(err, s, "cannot write '%s': %s", path, e.msg);
}
