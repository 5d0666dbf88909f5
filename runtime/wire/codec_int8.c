/* cleave: int8 affine quantisation for the codec, portable and AVX2.
 *
 * The two versions compute the same thing in the same float operations (one multiply, a clamp, a
 * round-to-nearest-even; no fused multiply-add), so their codes and values are bit-identical. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "wire/codec_internal.h"

#ifdef CL_CODEC_X86
#include <immintrin.h>
#endif

#define ROUND_MAGIC 12582912.0f /* 1.5 * 2^23: x + M - M rounds |x| < 2^22 to nearest even */

/* === Parameters === */

void cl_codec_q8_params(float lo, float hi, float *scale, float *zp) {
  double range = (double)hi - (double)lo;
  if (!(range > 0.0)) { /* all zero (or nothing finite) */
    *scale = 1.0f;
    *zp = 0.0f;
    return;
  }
  float s = (float)(range / 255.0);
  if ((double)s * 255.0 < range) s = nextafterf(s, INFINITY); /* 255 steps must cover the range */
  if (s < FLT_MIN) s = FLT_MIN;
  double z = nearbyint(-128.0 - (double)lo / (double)s);
  *scale = s;
  *zp = (float)(z < -128.0 ? -128.0 : z > 127.0 ? 127.0 : z);
}

/* === Portable kernels === */

static inline float load_f32(const uint8_t *p) {
  float f;
  memcpy(&f, p, sizeof f);
  return f;
}

static inline int is_finite_f32(float f) {
  uint32_t b;
  memcpy(&b, &f, sizeof b);
  return (b & 0x7f800000u) != 0x7f800000u;
}

static inline int8_t quant1(float x, float inv, float zp) {
  float t = x == x ? x * inv : 0.0f; /* NaN -> zero point */
  float lo = -128.0f - zp, hi = 127.0f - zp;
  t = t < lo ? lo : t;
  t = t > hi ? hi : t;
  float r = (t + ROUND_MAGIC) - ROUND_MAGIC;
  return (int8_t)(int)(r + zp);
}

static inline float dequant1(int8_t q, float scale, float zp) {
  float x = ((float)q - zp) * scale;
  return x > FLT_MAX ? FLT_MAX : x < -FLT_MAX ? -FLT_MAX : x;
}

static void range_portable(const uint8_t *x, size_t n, float *lo, float *hi) {
  float l = *lo, h = *hi;
  for (size_t i = 0; i < n; i++) {
    float v = load_f32(x + 4 * i);
    if (!is_finite_f32(v)) continue;
    l = v < l ? v : l;
    h = v > h ? v : h;
  }
  *lo = l;
  *hi = h;
}

static void range_row_portable(const uint8_t *x, size_t n, float *lo, float *hi) {
  for (size_t c = 0; c < n; c++) {
    float v = load_f32(x + 4 * c);
    if (!is_finite_f32(v)) continue;
    lo[c] = v < lo[c] ? v : lo[c];
    hi[c] = v > hi[c] ? v : hi[c];
  }
}

static void quant_portable(const uint8_t *x, int8_t *q, size_t n, float inv, float zp) {
  for (size_t i = 0; i < n; i++) q[i] = quant1(load_f32(x + 4 * i), inv, zp);
}

static void quant_row_portable(const uint8_t *x, int8_t *q, size_t n, const float *inv,
                               const float *zp) {
  for (size_t c = 0; c < n; c++) q[c] = quant1(load_f32(x + 4 * c), inv[c], zp[c]);
}

static void dequant_portable(const int8_t *q, uint8_t *x, size_t n, float scale, float zp) {
  for (size_t i = 0; i < n; i++) {
    float v = dequant1(q[i], scale, zp);
    memcpy(x + 4 * i, &v, sizeof v);
  }
}

static void dequant_row_portable(const int8_t *q, uint8_t *x, size_t n, const float *scale,
                                 const float *zp) {
  for (size_t c = 0; c < n; c++) {
    float v = dequant1(q[c], scale[c], zp[c]);
    memcpy(x + 4 * c, &v, sizeof v);
  }
}

/* === AVX2 kernels: 8 or 32 elements per step, the rest portable === */
#ifdef CL_CODEC_X86
#define LDF(p) _mm256_loadu_ps((const float *)(const void *)(p))
#define STF(p, v) _mm256_storeu_ps((float *)(void *)(p), (v))

/* Non-finite lanes become 0, which is in every range already. */
__attribute__((target("avx2"))) static inline __m256 finite_or_zero(__m256 v) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 inf = _mm256_castsi256_ps(_mm256_set1_epi32(0x7f800000));
  return _mm256_and_ps(v, _mm256_cmp_ps(_mm256_and_ps(v, abs_mask), inf, _CMP_LT_OQ));
}

__attribute__((target("avx2"))) static size_t range_avx2(const uint8_t *x, size_t n, float *lo,
                                                         float *hi) {
  __m256 l0 = _mm256_set1_ps(*lo), l1 = l0, h0 = _mm256_set1_ps(*hi), h1 = h0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 a = finite_or_zero(LDF(x + 4 * i)), b = finite_or_zero(LDF(x + 4 * i + 32));
    l0 = _mm256_min_ps(l0, a);
    h0 = _mm256_max_ps(h0, a);
    l1 = _mm256_min_ps(l1, b);
    h1 = _mm256_max_ps(h1, b);
  }
  float lv[8], hv[8];
  _mm256_storeu_ps(lv, _mm256_min_ps(l0, l1));
  _mm256_storeu_ps(hv, _mm256_max_ps(h0, h1));
  for (int k = 0; k < 8; k++) {
    *lo = lv[k] < *lo ? lv[k] : *lo;
    *hi = hv[k] > *hi ? hv[k] : *hi;
  }
  return i;
}

__attribute__((target("avx2"))) static size_t range_row_avx2(const uint8_t *x, size_t n, float *lo,
                                                             float *hi) {
  size_t c = 0;
  for (; c + 8 <= n; c += 8) {
    __m256 v = finite_or_zero(LDF(x + 4 * c));
    _mm256_storeu_ps(lo + c, _mm256_min_ps(_mm256_loadu_ps(lo + c), v));
    _mm256_storeu_ps(hi + c, _mm256_max_ps(_mm256_loadu_ps(hi + c), v));
  }
  return c;
}

/* 8 values -> 8 codes as int32 lanes: the portable quant1, lane by lane. */
__attribute__((target("avx2"))) static inline __m256i quant8(__m256 x, __m256 inv, __m256 zp) {
  __m256 t = _mm256_and_ps(_mm256_mul_ps(x, inv), _mm256_cmp_ps(x, x, _CMP_ORD_Q));
  t = _mm256_max_ps(t, _mm256_sub_ps(_mm256_set1_ps(-128.0f), zp));
  t = _mm256_min_ps(t, _mm256_sub_ps(_mm256_set1_ps(127.0f), zp));
  return _mm256_add_epi32(_mm256_cvtps_epi32(t), _mm256_cvtps_epi32(zp));
}

/* Four vectors of int32 codes (elements 0-7, 8-15, 16-23, 24-31) -> 32 bytes in order. */
__attribute__((target("avx2"))) static inline void store_codes(int8_t *q, __m256i a, __m256i b,
                                                               __m256i c, __m256i d) {
  __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
  __m256i v = _mm256_packs_epi16(ab, cd);
  v = _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256((__m256i *)(void *)q, v);
}

__attribute__((target("avx2"))) static size_t quant_avx2(const uint8_t *x, int8_t *q, size_t n,
                                                         float inv, float zp) {
  const __m256 vi = _mm256_set1_ps(inv), vz = _mm256_set1_ps(zp);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const uint8_t *p = x + 4 * i;
    store_codes(q + i, quant8(LDF(p), vi, vz), quant8(LDF(p + 32), vi, vz),
                quant8(LDF(p + 64), vi, vz), quant8(LDF(p + 96), vi, vz));
  }
  return i;
}

__attribute__((target("avx2"))) static size_t quant_row_avx2(const uint8_t *x, int8_t *q, size_t n,
                                                             const float *inv, const float *zp) {
  size_t c = 0;
  for (; c + 32 <= n; c += 32) {
    const uint8_t *p = x + 4 * c;
    __m256i r[4];
    for (int k = 0; k < 4; k++)
      r[k] = quant8(LDF(p + 32 * k), _mm256_loadu_ps(inv + c + 8 * k),
                    _mm256_loadu_ps(zp + c + 8 * k));
    store_codes(q + c, r[0], r[1], r[2], r[3]);
  }
  return c;
}

/* 8 codes -> 8 values: the portable dequant1, lane by lane. */
__attribute__((target("avx2"))) static inline __m256 dequant8(const int8_t *q, __m256 scale,
                                                              __m256 zp) {
  __m256i c = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)q));
  __m256 x = _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(c), zp), scale);
  const __m256 big = _mm256_set1_ps(FLT_MAX);
  return _mm256_max_ps(_mm256_min_ps(x, big), _mm256_sub_ps(_mm256_setzero_ps(), big));
}

__attribute__((target("avx2"))) static size_t dequant_avx2(const int8_t *q, uint8_t *x, size_t n,
                                                           float scale, float zp) {
  const __m256 vs = _mm256_set1_ps(scale), vz = _mm256_set1_ps(zp);
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; k++) STF(x + 4 * i + 32 * k, dequant8(q + i + 8 * k, vs, vz));
  return i;
}

__attribute__((target("avx2"))) static size_t dequant_row_avx2(const int8_t *q, uint8_t *x,
                                                               size_t n, const float *scale,
                                                               const float *zp) {
  size_t c = 0;
  for (; c + 8 <= n; c += 8)
    STF(x + 4 * c, dequant8(q + c, _mm256_loadu_ps(scale + c), _mm256_loadu_ps(zp + c)));
  return c;
}
#undef LDF
#undef STF
#endif

/* === Dispatch === */
#ifdef CL_CODEC_X86
#define AVX2_PART(call) (cl_codec_use_avx2() ? (call) : 0)
#else
#define AVX2_PART(call) 0
#endif

void cl_codec_q8_range(const void *x, size_t n, float *lo, float *hi) {
  size_t d = AVX2_PART(range_avx2(x, n, lo, hi));
  range_portable((const uint8_t *)x + 4 * d, n - d, lo, hi);
}

void cl_codec_q8_range_row(const void *x, size_t n, float *lo, float *hi) {
  size_t d = AVX2_PART(range_row_avx2(x, n, lo, hi));
  range_row_portable((const uint8_t *)x + 4 * d, n - d, lo + d, hi + d);
}

void cl_codec_q8_quant(const void *x, void *q, size_t n, float inv, float zp) {
  size_t d = AVX2_PART(quant_avx2(x, q, n, inv, zp));
  quant_portable((const uint8_t *)x + 4 * d, (int8_t *)q + d, n - d, inv, zp);
}

void cl_codec_q8_quant_row(const void *x, void *q, size_t n, const float *inv, const float *zp) {
  size_t d = AVX2_PART(quant_row_avx2(x, q, n, inv, zp));
  quant_row_portable((const uint8_t *)x + 4 * d, (int8_t *)q + d, n - d, inv + d, zp + d);
}

void cl_codec_q8_dequant(const void *q, void *x, size_t n, float scale, float zp) {
  size_t d = AVX2_PART(dequant_avx2(q, x, n, scale, zp));
  dequant_portable((const int8_t *)q + d, (uint8_t *)x + 4 * d, n - d, scale, zp);
}

void cl_codec_q8_dequant_row(const void *q, void *x, size_t n, const float *scale,
                             const float *zp) {
  size_t d = AVX2_PART(dequant_row_avx2(q, x, n, scale, zp));
  dequant_row_portable((const int8_t *)q + d, (uint8_t *)x + 4 * d, n - d, scale + d, zp + d);
}
