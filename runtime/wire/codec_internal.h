/* cleave internal: the codec's kernels and its byte format constants.
 *
 * cl_codec_encode / cl_codec_decode (codec.c) cut a tensor's "kind stream" (its bytes after the kind
 * transform: raw bytes, float16 halves or int8 codes) into blocks of CL_CODEC_BLOCK bytes and run
 * these kernels on each block. docs/CODEC.md gives the byte format.
 *
 * Every kernel has a portable version and, on x86-64, a vectorised one (F16C, AVX2) picked at run
 * time from CPUID; the two give bit-identical results (the unit tests check it). Kernels
 * take unaligned byte pointers, never allocate and never fail: their callers validate sizes first.
 * The tests and the fuzzer call them directly. */
#ifndef CLEAVE_WIRE_CODEC_INTERNAL_H
#define CLEAVE_WIRE_CODEC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* === Byte format constants (docs/CODEC.md) === */
#define CL_CODEC_BLOCK ((size_t)256 * 1024) /* bytes of kind stream per block (multiple of 8) */
#define CL_CODEC_STORED 0x80000000u        /* block header bit: block stored uncompressed */
#define CL_CODEC_PARAM_BYTES 5              /* int8 kinds: f32 scale + i8 zero point per channel */

/* Forces the portable kernels (1) or lets the dispatcher choose (0). For tests and benchmarks only;
 * not thread-safe against concurrent coding. */
void cl_codec_force_portable(int on);
/* 1 when the vectorised x86 kernels are in use. */
int cl_codec_simd_active(void);

/* === float16 (codec_f16.c) ===
 * Round to nearest even; +-inf stay inf; finite values of magnitude >= 65520 become inf; NaN stays
 * NaN (quiet bit set, the top 10 payload bits kept); results below 2^-14 are float16 subnormals. */
uint16_t cl_codec_f16_from_f32(float f);
float cl_codec_f16_to_f32(uint16_t h);
/* n floats at src (4n bytes) -> n halves at dst (2n bytes, little-endian), and back. */
void cl_codec_f16_encode(const void *src, void *dst, size_t n);
void cl_codec_f16_decode(const void *src, void *dst, size_t n);

/* === Byte-shuffle (codec_shuffle.c) ===
 * n elements of es bytes at src -> dst, byte k of element i going to dst[k * n + i]; unshuffle is
 * the inverse. src and dst must not overlap. es = 1 is a copy. */
void cl_codec_shuffle(const void *src, void *dst, size_t n, size_t es);
void cl_codec_unshuffle(const void *src, void *dst, size_t n, size_t es);

/* === int8 affine quantisation (codec_int8.c) ===
 * q = clamp(round_even(x * inv) , lo - zp, hi - zp) + zp with lo = -128, hi = 127; NaN -> zp (0.0),
 * +inf -> 127, -inf -> -128. x' = (q - zp) * scale, clamped to +-FLT_MAX (always finite).
 * Zero points travel as floats holding an integer in [-128, 127]. */

/* Folds the finite values of x[0, n) into [*lo, *hi] (non-finite values are ignored). */
void cl_codec_q8_range(const void *x, size_t n, float *lo, float *hi);
/* Per-channel form: x holds n consecutive channels of one position; lo[c], hi[c] are updated. */
void cl_codec_q8_range_row(const void *x, size_t n, float *lo, float *hi);
/* Scale and zero point for the range [lo, hi] (finite, lo <= 0 <= hi): scale >= FLT_MIN, every x in
 * [lo, hi] lands within scale / 2 of its dequantised value, and 0 is exact. */
void cl_codec_q8_params(float lo, float hi, float *scale, float *zp);
/* n values x -> n codes q with one inverse scale and zero point; _row: one per element. */
void cl_codec_q8_quant(const void *x, void *q, size_t n, float inv, float zp);
void cl_codec_q8_quant_row(const void *x, void *q, size_t n, const float *inv, const float *zp);
/* n codes q -> n values x; _row: scale and zero point per element (channels). */
void cl_codec_q8_dequant(const void *q, void *x, size_t n, float scale, float zp);
void cl_codec_q8_dequant_row(const void *q, void *x, size_t n, const float *scale,
                             const float *zp);

/* === Internal dispatch (x86-64 only) === */
#if defined(__x86_64__) && defined(__GNUC__)
#define CL_CODEC_X86 1
int cl_codec_use_avx2(void);
int cl_codec_use_f16c(void);
#endif

#endif
