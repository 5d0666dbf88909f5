/* cleave: float32 <-> float16 for the codec, portable and F16C. */
#include <string.h>

#include "wire/codec_internal.h"

#ifdef CL_CODEC_X86
#include <immintrin.h>
#endif

/* === Portable conversions === */

uint16_t cl_codec_f16_from_f32(float f) {
  uint32_t x;
  memcpy(&x, &f, sizeof x);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
  uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) /* inf, or NaN: quiet, top payload bits kept (as F16C does) */
    return (uint16_t)(sign | (ax == 0x7f800000u ? 0x7c00u : 0x7e00u | ((ax >> 13) & 0x3ffu)));
  if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520 rounds to inf */
  if (ax >= 0x38800000u) {                                  /* normal float16: >= 2^-14 */
    uint32_t m = ax - (112u << 23);                          /* rebias the exponent 127 -> 15 */
    m += 0xfffu + ((m >> 13) & 1u);                          /* round to nearest even at bit 13 */
    return (uint16_t)(sign | (m >> 13));
  }
  /* Subnormal or zero: adding 0.5 puts the float16 unit 2^-24 in the last mantissa bit, and the
   * float addition rounds to nearest even for us. */
  float g;
  memcpy(&g, &ax, sizeof g);
  g += 0.5f;
  uint32_t gb;
  memcpy(&gb, &g, sizeof gb);
  return (uint16_t)(sign | (gb - 0x3f000000u));
}

float cl_codec_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13) | (mant ? 0x400000u : 0u); /* NaN made quiet */
  } else if (exp == 0) {
    float v = (float)mant * (1.0f / 16777216.0f); /* mant * 2^-24, exact */
    memcpy(&bits, &v, sizeof bits);
    bits |= sign;
  } else {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  }
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

static void f16_encode_portable(const uint8_t *src, uint8_t *dst, size_t n) {
  for (size_t i = 0; i < n; i++) {
    float f;
    memcpy(&f, src + 4 * i, 4);
    uint16_t h = cl_codec_f16_from_f32(f);
    dst[2 * i] = (uint8_t)h;
    dst[2 * i + 1] = (uint8_t)(h >> 8);
  }
}

static void f16_decode_portable(const uint8_t *src, uint8_t *dst, size_t n) {
  for (size_t i = 0; i < n; i++) {
    float f = cl_codec_f16_to_f32((uint16_t)(src[2 * i] | (src[2 * i + 1] << 8)));
    memcpy(dst + 4 * i, &f, 4);
  }
}

/* === F16C === */
#ifdef CL_CODEC_X86
__attribute__((target("avx,f16c"))) static void f16_encode_f16c(const uint8_t *src, uint8_t *dst,
                                                                 size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i a = _mm256_cvtps_ph(_mm256_loadu_ps((const float *)(const void *)(src + 4 * i)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m128i b = _mm256_cvtps_ph(_mm256_loadu_ps((const float *)(const void *)(src + 4 * i + 32)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128((__m128i *)(void *)(dst + 2 * i), a);
    _mm_storeu_si128((__m128i *)(void *)(dst + 2 * i + 16), b);
  }
  f16_encode_portable(src + 4 * i, dst + 2 * i, n - i);
}

__attribute__((target("avx,f16c"))) static void f16_decode_f16c(const uint8_t *src, uint8_t *dst,
                                                                 size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 a = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(src + 2 * i)));
    __m256 b = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(src + 2 * i + 16)));
    _mm256_storeu_ps((float *)(void *)(dst + 4 * i), a);
    _mm256_storeu_ps((float *)(void *)(dst + 4 * i + 32), b);
  }
  f16_decode_portable(src + 2 * i, dst + 4 * i, n - i);
}
#endif

/* === Dispatch === */

void cl_codec_f16_encode(const void *src, void *dst, size_t n) {
#ifdef CL_CODEC_X86
  if (cl_codec_use_f16c()) {
    f16_encode_f16c(src, dst, n);
    return;
  }
#endif
  f16_encode_portable(src, dst, n);
}

void cl_codec_f16_decode(const void *src, void *dst, size_t n) {
#ifdef CL_CODEC_X86
  if (cl_codec_use_f16c()) {
    f16_decode_f16c(src, dst, n);
    return;
  }
#endif
  f16_decode_portable(src, dst, n);
}
