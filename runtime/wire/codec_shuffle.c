/* cleave: byte-shuffle for the codec, portable and AVX2 (element sizes 2 and 4 vectorised). */
#include <string.h>

#include "wire/codec_internal.h"

#ifdef CL_CODEC_X86
#include <immintrin.h>
#endif

/* === Portable === */

static void shuffle_portable(const uint8_t *src, uint8_t *dst, size_t n, size_t es, size_t from) {
  for (size_t k = 0; k < es; k++) {
    uint8_t *plane = dst + k * n;
    for (size_t i = from; i < n; i++) plane[i] = src[i * es + k];
  }
}

static void unshuffle_portable(const uint8_t *src, uint8_t *dst, size_t n, size_t es,
                               size_t from) {
  for (size_t k = 0; k < es; k++) {
    const uint8_t *plane = src + k * n;
    for (size_t i = from; i < n; i++) dst[i * es + k] = plane[i];
  }
}

/* === AVX2: 32 elements per step ===
 * Within each 128-bit lane the bytes are transposed with unpack steps; the lanes are put back in
 * order with one permute per output vector. */
#ifdef CL_CODEC_X86
#define LD(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define ST(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (v))

/* 4-byte elements: 32 of them (128 bytes) -> 4 planes of 32 bytes. */
__attribute__((target("avx2"))) static size_t shuffle4_avx2(const uint8_t *src, uint8_t *dst,
                                                            size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const uint8_t *s = src + 4 * i;
    /* lane l of a holds elements 4l..4l+3 (a: 0-7, b: 8-15, c: 16-23, d: 24-31). */
    __m256i a = LD(s), b = LD(s + 32), c = LD(s + 64), d = LD(s + 96);
    __m256i t0 = _mm256_unpacklo_epi8(a, b), t1 = _mm256_unpackhi_epi8(a, b);
    __m256i t2 = _mm256_unpacklo_epi8(c, d), t3 = _mm256_unpackhi_epi8(c, d);
    __m256i u0 = _mm256_unpacklo_epi8(t0, t1), u1 = _mm256_unpackhi_epi8(t0, t1);
    __m256i u2 = _mm256_unpacklo_epi8(t2, t3), u3 = _mm256_unpackhi_epi8(t2, t3);
    __m256i v0 = _mm256_unpacklo_epi8(u0, u1), v1 = _mm256_unpackhi_epi8(u0, u1);
    __m256i w0 = _mm256_unpacklo_epi8(u2, u3), w1 = _mm256_unpackhi_epi8(u2, u3);
    /* per lane, v0: byte 0 of a's 4 elements, of b's, byte 1 of a's, of b's; v1: bytes 2, 3. */
    __m256i p0 = _mm256_unpacklo_epi64(v0, w0), p1 = _mm256_unpackhi_epi64(v0, w0);
    __m256i p2 = _mm256_unpacklo_epi64(v1, w1), p3 = _mm256_unpackhi_epi64(v1, w1);
    /* p_k lane 0: byte k of elements {0-3, 8-11, 16-19, 24-27}; lane 1: the others. Reorder the
     * 4-byte groups: lane0 = [0-3, 8-11, 16-19, 24-27], lane1 = [4-7, 12-15, 20-23, 28-31]. */
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    ST(dst + i, _mm256_permutevar8x32_epi32(p0, perm));
    ST(dst + n + i, _mm256_permutevar8x32_epi32(p1, perm));
    ST(dst + 2 * n + i, _mm256_permutevar8x32_epi32(p2, perm));
    ST(dst + 3 * n + i, _mm256_permutevar8x32_epi32(p3, perm));
  }
  return i;
}

__attribute__((target("avx2"))) static size_t unshuffle4_avx2(const uint8_t *src, uint8_t *dst,
                                                              size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    /* Planes are in element order: lane 0 holds elements 0-15, lane 1 elements 16-31. */
    __m256i p0 = LD(src + i), p1 = LD(src + n + i), p2 = LD(src + 2 * n + i);
    __m256i p3 = LD(src + 3 * n + i);
    __m256i x0 = _mm256_unpacklo_epi8(p0, p1), x1 = _mm256_unpackhi_epi8(p0, p1);
    __m256i y0 = _mm256_unpacklo_epi8(p2, p3), y1 = _mm256_unpackhi_epi8(p2, p3);
    __m256i e0 = _mm256_unpacklo_epi16(x0, y0), e1 = _mm256_unpackhi_epi16(x0, y0);
    __m256i e2 = _mm256_unpacklo_epi16(x1, y1), e3 = _mm256_unpackhi_epi16(x1, y1);
    /* lane 0 of e0..e3: elements 0-3, 4-7, 8-11, 12-15; lane 1: 16-19, ... 28-31. */
    uint8_t *d = dst + 4 * i;
    ST(d, _mm256_permute2x128_si256(e0, e1, 0x20));
    ST(d + 32, _mm256_permute2x128_si256(e2, e3, 0x20));
    ST(d + 64, _mm256_permute2x128_si256(e0, e1, 0x31));
    ST(d + 96, _mm256_permute2x128_si256(e2, e3, 0x31));
  }
  return i;
}

/* 2-byte elements: 32 of them (64 bytes) -> 2 planes of 32 bytes. */
__attribute__((target("avx2"))) static size_t shuffle2_avx2(const uint8_t *src, uint8_t *dst,
                                                            size_t n) {
  size_t i = 0;
  const __m256i lo = _mm256_set1_epi16(0xff);
  for (; i + 32 <= n; i += 32) {
    __m256i a = LD(src + 2 * i), b = LD(src + 2 * i + 32);
    __m256i l = _mm256_packus_epi16(_mm256_and_si256(a, lo), _mm256_and_si256(b, lo));
    __m256i h = _mm256_packus_epi16(_mm256_srli_epi16(a, 8), _mm256_srli_epi16(b, 8));
    ST(dst + i, _mm256_permute4x64_epi64(l, 0xd8));
    ST(dst + n + i, _mm256_permute4x64_epi64(h, 0xd8));
  }
  return i;
}

__attribute__((target("avx2"))) static size_t unshuffle2_avx2(const uint8_t *src, uint8_t *dst,
                                                              size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i l = _mm256_permute4x64_epi64(LD(src + i), 0xd8);
    __m256i h = _mm256_permute4x64_epi64(LD(src + n + i), 0xd8);
    ST(dst + 2 * i, _mm256_unpacklo_epi8(l, h));
    ST(dst + 2 * i + 32, _mm256_unpackhi_epi8(l, h));
  }
  return i;
}
#undef LD
#undef ST
#endif

/* === Dispatch === */

void cl_codec_shuffle(const void *src, void *dst, size_t n, size_t es) {
  if (es <= 1) {
    if (n) memcpy(dst, src, n);
    return;
  }
  size_t done = 0;
#ifdef CL_CODEC_X86
  if (cl_codec_use_avx2()) {
    if (es == 4) done = shuffle4_avx2(src, dst, n);
    else if (es == 2) done = shuffle2_avx2(src, dst, n);
  }
#endif
  shuffle_portable(src, dst, n, es, done);
}

void cl_codec_unshuffle(const void *src, void *dst, size_t n, size_t es) {
  if (es <= 1) {
    if (n) memcpy(dst, src, n);
    return;
  }
  size_t done = 0;
#ifdef CL_CODEC_X86
  if (cl_codec_use_avx2()) {
    if (es == 4) done = unshuffle4_avx2(src, dst, n);
    else if (es == 2) done = unshuffle2_avx2(src, dst, n);
  }
#endif
  unshuffle_portable(src, dst, n, es, done);
}
