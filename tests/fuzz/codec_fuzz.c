/* cleave fuzzer: the tensor codec (cl_codec_decode on arbitrary bytes, and encode -> decode round
 * trips of fuzzer-given floats with their error bound).
 *
 * Input: 5 bytes of header, then the payload.
 *   byte 0  bits 0-3: codec (kind = i / 4, shuffle = i / 2 % 2, lz4 = i % 2);
 *           bit 4: 0 decode the payload as an encoded block, 1 round-trip the payload as a tensor;
 *           bits 5-7: dtype (F32 x4, U8, I16, I64, F16)
 *   byte 1  outer; byte 2 channels; byte 3 inner (0 means 1: channels-last)
 *   byte 4  round trip only: bit 0 set, the payload is int8 values times 2^(byte4 / 2 - 64);
 *           clear, the payload's bytes are the floats themselves (NaN, inf, subnormals included).
 * Decoding: the tensor is outer * channels * inner elements (up to 4 MiB); the result must be CL_OK
 * or CL_ERR_FORMAT with a message; int8 kinds always decode to finite values.
 * Round trip: outer is recomputed from the payload's length; raw must be bit-exact, f16 exactly the
 * float16 rounding of each value, int8 within scale / 2 of each finite value (NaN -> 0). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleave/codec.h"
#include "wire/codec_internal.h"

static const cl_dtype DTYPES[8] = {CL_DTYPE_F32, CL_DTYPE_F32, CL_DTYPE_F32, CL_DTYPE_F32,
                                   CL_DTYPE_U8,  CL_DTYPE_I16, CL_DTYPE_I64, CL_DTYPE_F16};

#define MAX_DECODE_BYTES ((size_t)4 << 20)

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) abort();
  return p;
}

static uint32_t bits_of(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return b;
}

/* === Decoding arbitrary bytes === */

static void fuzz_decode(const cl_codec *c, cl_codec_tensor *t, const uint8_t *p, size_t len) {
  size_t es = cl_dtype_size(t->dtype);
  size_t n = t->outer * t->channels * t->inner;
  if (n > MAX_DECODE_BYTES / es) return;
  t->nbytes = n * es;
  void *dst = xmalloc(t->nbytes), *scratch = xmalloc(cl_codec_scratch(c, t));
  cl_error err = {0};
  cl_status s = cl_codec_decode(c, t, p, len, dst, scratch, &err);
  if (s != CL_OK && (s != CL_ERR_FORMAT || err.msg[0] == '\0' || strchr(err.msg, '\n'))) abort();
  if (s == CL_OK && cl_codec_is_lossy(c, t->dtype) && c->kind != CL_CODEC_F16) {
    const float *y = dst;
    for (size_t i = 0; i < n; i++)
      if (!isfinite(y[i])) abort();
  }
  free(dst);
  free(scratch);
}

/* === Round trips === */

static void check_values(cl_codec_kind kind, const cl_codec_tensor *t, const float *x,
                         const float *y, const uint8_t *block) {
  size_t n = t->nbytes / 4, C = kind == CL_CODEC_INT8 ? 1 : t->channels;
  for (size_t i = 0; i < n; i++) {
    if (kind == CL_CODEC_F16) {
      float want = cl_codec_f16_to_f32(cl_codec_f16_from_f32(x[i]));
      if (bits_of(want) != bits_of(y[i])) abort();
      if (fabsf(x[i]) < 65504.0f && fabsf(x[i] - y[i]) > fmaxf(fabsf(x[i]) * 0x1p-11f, 0x1p-25f))
        abort();
      continue;
    }
    size_t c = kind == CL_CODEC_INT8 ? 0 : (i / t->inner) % C;
    float scale;
    memcpy(&scale, block + 4 * c, 4);
    if (isnan(x[i])) {
      if (y[i] != 0.0f) abort();
    } else if (!isfinite(y[i])) {
      abort();
    } else if (isfinite(x[i])) {
      float tol = scale * 0.5f * (1.0f + 1e-4f) + fabsf(x[i]) * 1e-6f;
      if (!(fabsf(x[i] - y[i]) <= tol)) abort();
      if (x[i] == 0.0f && y[i] != 0.0f) abort();
    }
  }
}

static void fuzz_round_trip(const cl_codec *c, cl_codec_tensor *t, const uint8_t *p, size_t len,
                            uint8_t mode) {
  size_t es = cl_dtype_size(t->dtype), n;
  uint8_t *src;
  if (t->dtype == CL_DTYPE_F32 && (mode & 1)) { /* int8 values at a power-of-two scale */
    n = len;
    float *x = xmalloc(n * 4), m = ldexpf(1.0f, mode / 2 - 64);
    for (size_t i = 0; i < n; i++) x[i] = (float)(int8_t)p[i] * m;
    src = (uint8_t *)x;
  } else {
    n = len / es;
    src = xmalloc(n * es);
    memcpy(src, p, n * es);
  }
  size_t per = t->channels * t->inner;
  t->outer = per ? n / per : 0;
  t->nbytes = t->outer * per * es;
  size_t bound = cl_codec_bound(c, t);
  uint8_t *enc = xmalloc(bound), *scratch = xmalloc(cl_codec_scratch(c, t));
  uint8_t *back = xmalloc(t->nbytes);
  size_t written;
  cl_codec used;
  cl_error err = {0};
  if (cl_codec_encode(c, t, src, enc, bound, &written, scratch, &used, &err) != CL_OK) abort();
  if (written > bound || used.kind != (cl_codec_is_lossy(c, t->dtype) ? c->kind : CL_CODEC_RAW))
    abort();
  if (cl_codec_decode(&used, t, enc, written, back, scratch, &err) != CL_OK) abort();
  if (used.kind == CL_CODEC_RAW) {
    if (t->nbytes && memcmp(src, back, t->nbytes) != 0) abort();
  } else {
    check_values(used.kind, t, (const float *)(void *)src, (const float *)(void *)back, enc);
  }
  if (written && cl_codec_decode(&used, t, enc, written - 1, back, scratch, &err) != CL_ERR_FORMAT)
    abort();
  free(src);
  free(enc);
  free(scratch);
  free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 5) return 0;
  int i = data[0] & 15;
  cl_codec c = {(cl_codec_kind)(i / 4), (i / 2) % 2, i % 2};
  cl_codec_tensor t = {DTYPES[data[0] >> 5], 0, data[1], data[2], data[3] ? data[3] : 1};
  if (data[0] & 16) fuzz_round_trip(&c, &t, data + 5, size - 5, data[4]);
  else fuzz_decode(&c, &t, data + 5, size - 5);
  return 0;
}
