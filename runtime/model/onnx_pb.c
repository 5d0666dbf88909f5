/* cleave: nanopb callbacks and records shared by the ONNX reader (see onnx_internal.h). */
#include <stdlib.h>
#include <string.h>

#include "model/onnx_internal.h"

/* === Helpers === */

size_t onnx_num_size(onnx_num_kind kind) {
  return kind == ONNX_NUM_F32 || kind == ONNX_NUM_I32 ? 4 : 8;
}

void onnx_bind(pb_callback_t *cb, bool (*fn)(pb_istream_t *, const pb_field_t *, void **), void *arg) {
  cb->funcs.decode = fn;
  cb->arg = arg;
}

/* Compared as integers: nanopb's stack copy is another object. */
int onnx_in_buf(const onnx_src *src, const pb_istream_t *st) {
  uintptr_t b = (uintptr_t)src->buf, p = (uintptr_t)st->state;
  if (src->buf == NULL || p < b || p - b > src->len) return 0;
  return st->bytes_left <= src->len - (size_t)(p - b);
}

bool onnx_wire_error(const onnx_src *src, const pb_field_t *field) {
  cl_error_set(src->err, CL_ERR_FORMAT,
               "%s is truncated or corrupt (nanopb: wrong wire type for field %u)", src->what,
               (unsigned)field->tag);
  return false;
}

static bool nomem(const onnx_src *src) {
  cl_error_set(src->err, CL_ERR_NOMEM, "out of memory while decoding the %s", src->what);
  return false;
}

/* Makes room for `need` entries of `size` bytes (need <= max, so no overflow). */
static int grow(void **v, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return 0;
  size_t nc = *cap ? *cap : 16;
  while (nc < need) nc *= 2;
  void *nv = realloc(*v, nc * size);
  if (!nv) return -1;
  *v = nv;
  *cap = nc;
  return 0;
}

static bool skip_rest(pb_istream_t *stream) { return pb_read(stream, NULL, stream->bytes_left); }

/* === Records === */

void onnx_spans_init(onnx_spans *s, const onnx_src *src, int max) {
  memset(s, 0, sizeof *s);
  s->src = src;
  s->max = max;
}

void onnx_spans_free(onnx_spans *s) {
  free(s->v);
  s->v = NULL;
  s->n = s->cap = 0;
}

void onnx_nums_init(onnx_nums *s, const onnx_src *src, onnx_num_kind kind, size_t max) {
  memset(s, 0, sizeof *s);
  s->src = src;
  s->kind = kind;
  s->max = max;
}

void onnx_nums_free(onnx_nums *s) {
  free(s->v);
  s->v = NULL;
  s->n = s->cap = 0;
}

/* === Callbacks === */

bool onnx_cb_str(pb_istream_t *stream, const pb_field_t *field, void **arg) {
  onnx_str *s = *arg;
  if (!onnx_in_buf(s->src, stream)) return onnx_wire_error(s->src, field);
  s->p = stream->state;
  s->n = stream->bytes_left;
  s->set = 1;
  return skip_rest(stream);
}

bool onnx_cb_spans(pb_istream_t *stream, const pb_field_t *field, void **arg) {
  onnx_spans *s = *arg;
  if (!onnx_in_buf(s->src, stream)) return onnx_wire_error(s->src, field);
  if (s->n >= s->max) {
    s->overflow = 1;
    return skip_rest(stream);
  }
  size_t cap = (size_t)s->cap;
  void *v = s->v;
  if (grow(&v, &cap, (size_t)s->n + 1, sizeof *s->v) != 0) return nomem(s->src);
  s->v = v;
  s->cap = (int)cap;
  s->v[s->n].p = stream->state;
  s->v[s->n].n = stream->bytes_left;
  s->n++;
  return skip_rest(stream);
}

bool onnx_cb_count(pb_istream_t *stream, const pb_field_t *field, void **arg) {
  int *count = *arg;
  if (*count < 1000000) (*count)++;
  return skip_rest(stream);
}

/* Packed fixed-size numbers lying in the buffer: one copy (little-endian hosts). */
static bool nums_bulk(onnx_nums *s, pb_istream_t *stream, size_t es) {
  if (stream->bytes_left % es != 0) {
    cl_error_set(s->src->err, CL_ERR_FORMAT, "%s is truncated or corrupt (packed array of %zu bytes)",
                 s->src->what, stream->bytes_left);
    return false;
  }
  size_t count = stream->bytes_left / es;
  if (count == 0) return true;   /* an empty packed array: nothing allocated, nothing to copy */
  if (count > s->max - s->n) {
    s->overflow = 1;
    return skip_rest(stream);
  }
  if (grow(&s->v, &s->cap, s->n + count, es) != 0) return nomem(s->src);
  memcpy((char *)s->v + s->n * es, stream->state, count * es);
  s->n += count;
  return skip_rest(stream);
}

/* One number from the stream into entry s->n. */
static bool nums_one(onnx_nums *s, pb_istream_t *stream) {
  char *dst = (char *)s->v + s->n * onnx_num_size(s->kind);
  uint64_t u;
  switch (s->kind) {
  case ONNX_NUM_F32: return pb_decode_fixed32(stream, dst);
  case ONNX_NUM_F64: return pb_decode_fixed64(stream, dst);
  case ONNX_NUM_I32: {
    if (!pb_decode_varint(stream, &u)) return false;
    int32_t v = (int32_t)(uint32_t)u;  /* negative int32 are sign-extended varints */
    memcpy(dst, &v, sizeof v);
    return true;
  }
  case ONNX_NUM_I64:
  case ONNX_NUM_U64:
    if (!pb_decode_varint(stream, &u)) return false;
    memcpy(dst, &u, sizeof u);
    return true;
  }
  return false;
}

bool onnx_cb_nums(pb_istream_t *stream, const pb_field_t *field, void **arg) {
  onnx_nums *s = *arg;
  size_t es = onnx_num_size(s->kind);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if ((s->kind == ONNX_NUM_F32 || s->kind == ONNX_NUM_F64) && onnx_in_buf(s->src, stream))
    return nums_bulk(s, stream, es);
#endif
  while (stream->bytes_left > 0) {
    if (s->n >= s->max) {
      s->overflow = 1;
      return skip_rest(stream);
    }
    if (grow(&s->v, &s->cap, s->n + 1, es) != 0) return nomem(s->src);
    if (!nums_one(s, stream)) return false;
    s->n++;
  }
  (void)field;
  return true;
}

/* === Messages and names === */

cl_status onnx_decode_msg(const onnx_src *src, const uint8_t *p, size_t n, const pb_msgdesc_t *fields,
                          void *msg) {
  pb_istream_t st = pb_istream_from_buffer(p, n);
  if (pb_decode(&st, fields, msg)) return CL_OK;
  if (src->err->status != CL_OK) return src->err->status;
  return cl_error_set(src->err, CL_ERR_FORMAT, "%s is truncated or corrupt (nanopb: %s)", src->what,
                      PB_GET_ERROR(&st));
}

cl_status onnx_name(const onnx_src *src, const uint8_t *p, size_t n, char *buf, size_t cap,
                    const char *what) {
  if (n > CL_ONNX_MAX_NAME || n + 1 > cap)
    return cl_error_set(src->err, CL_ERR_LIMIT, "%s is longer than %d bytes", what, CL_ONNX_MAX_NAME);
  if (n > 0 && memchr(p, '\0', n) != NULL)
    return cl_error_set(src->err, CL_ERR_FORMAT, "%s contains a NUL byte", what);
  if (n > 0) memcpy(buf, p, n);
  buf[n] = '\0';
  return CL_OK;
}

int onnx_domain_is_default(const uint8_t *p, size_t n) {
  return n == 0 || (n == 7 && memcmp(p, "ai.onnx", 7) == 0);
}
